/*
 * A SASL client that registers its callbacks the way Postfix's SMTP client
 * does (src/xsasl/xsasl_cyrus_client.c): SASL_CB_USER and SASL_CB_AUTHNAME
 * as getsimple callbacks, SASL_CB_PASS as a getsecret callback. It loads the
 * plugins of one directory only, starts the mechanism the server offers and,
 * for each further argument, answers that server challenge.
 *
 * usage: postfix_like_client PLUGIN_DIR MECHLIST USER PASSWORD [CHALLENGE...]
 * prints: "mech <name>", then "step <n> <sasl code> <hex of client output>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sasl/sasl.h>

/* The callback table holds every kind of callback as int (*)(void). */
#define CALLBACK(f) ((int (*)(void)) (void (*)(void)) &(f))

static const char *user_name;
static sasl_secret_t *secret;

static int get_user(void *context, int id, const char **result, unsigned *len)
{
    (void) context;
    (void) id;
    *result = user_name;
    if (len)
        *len = (unsigned) strlen(user_name);
    return SASL_OK;
}

static int get_password(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret)
{
    (void) conn;
    (void) context;
    (void) id;
    if (psecret == NULL)
        return SASL_BADPARAM;       /* what Postfix answers a getsimple-style call */
    *psecret = secret;
    return SASL_OK;
}

static int log_line(void *context, int level, const char *message)
{
    (void) context;
    fprintf(stderr, "log %d %s\n", level, message);
    return SASL_OK;
}

static void print_step(int n, int code, const char *out, unsigned len)
{
    printf("step %d %d ", n, code);
    for (unsigned i = 0; out != NULL && i < len; i++)
        printf("%02x", (unsigned char) out[i]);
    printf("\n");
}

int main(int argc, char **argv)
{
    sasl_callback_t callbacks[] = {
        {SASL_CB_LOG, CALLBACK(log_line), NULL},
        {SASL_CB_USER, CALLBACK(get_user), NULL},
        {SASL_CB_AUTHNAME, CALLBACK(get_user), NULL},
        {SASL_CB_PASS, CALLBACK(get_password), NULL},
        {SASL_CB_LIST_END, NULL, NULL}
    };
    sasl_security_properties_t props = {0, 1, 0, SASL_SEC_NOANONYMOUS, NULL, NULL};
    sasl_conn_t *conn = NULL;
    const char *out = NULL, *mech = NULL;
    unsigned out_len = 0;
    int code;

    if (argc < 5) {
        fprintf(stderr, "usage: %s PLUGIN_DIR MECHLIST USER PASSWORD [CHALLENGE...]\n", argv[0]);
        return 2;
    }
    user_name = argv[3];
    secret = malloc(sizeof(sasl_secret_t) + strlen(argv[4]));
    secret->len = strlen(argv[4]);
    memcpy(secret->data, argv[4], secret->len + 1);

    if (sasl_set_path(SASL_PATH_TYPE_PLUGIN, argv[1]) != SASL_OK
        || sasl_client_init(callbacks) != SASL_OK
        || sasl_client_new("smtp", "relay.example", NULL, NULL, NULL, 0, &conn) != SASL_OK
        || sasl_setprop(conn, SASL_SEC_PROPS, &props) != SASL_OK) {
        fprintf(stderr, "setup failed\n");
        return 2;
    }
    code = sasl_client_start(conn, argv[2], NULL, &out, &out_len, &mech);
    printf("mech %s\n", mech ? mech : "-");
    print_step(0, code, out, out_len);
    if (code != SASL_OK && code != SASL_CONTINUE)
        fprintf(stderr, "error %s\n", sasl_errdetail(conn));
    for (int i = 5; i < argc && (code == SASL_CONTINUE || code == SASL_OK); i++) {
        code = sasl_client_step(conn, argv[i], (unsigned) strlen(argv[i]), NULL, &out, &out_len);
        print_step(i - 4, code, out, out_len);
        if (code != SASL_OK && code != SASL_CONTINUE)
            fprintf(stderr, "error %s\n", sasl_errdetail(conn));
    }
    sasl_dispose(&conn);
    sasl_client_done();
    return 0;
}
