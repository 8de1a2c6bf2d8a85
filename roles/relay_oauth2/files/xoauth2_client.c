/*
 * XOAUTH2 client mechanism for Cyrus SASL, as Postfix's SMTP client uses it.
 *
 * Postfix looks up "username:password" in smtp_sasl_password_maps and hands
 * both to Cyrus through its callbacks: the user name through SASL_CB_AUTHNAME
 * (a getsimple callback) and the password through SASL_CB_PASS (a getsecret
 * callback). Here the "password" is an OAuth2 access token, which the
 * mailstack-oauth2-refresh timer keeps current in that table.
 *
 * The mechanism sends one client-first message,
 *     user=<name> ^A auth=Bearer <token> ^A ^A
 * (Google's and Microsoft's XOAUTH2). A server that refuses the token answers
 * with a 334 challenge carrying a JSON error; the client must answer it with
 * an empty response, and the server then sends its 5xx/4xx. The JSON is
 * logged (it holds no secret), so the journal says what the server disliked.
 *
 * Part of the mailstack.sasl_postfix collection (roles/relay_oauth2).
 */
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#define XOAUTH2_MAX_ERROR_LOG 512

enum xoauth2_step { SEND_TOKEN, ANSWER_ERROR, DONE };

struct xoauth2_context {
    enum xoauth2_step step;
    char *response;
    unsigned response_len;
};

static const unsigned long xoauth2_required_prompts[] = {
    SASL_CB_AUTHNAME, SASL_CB_PASS, SASL_CB_LIST_END
};

static void forget_response(const sasl_utils_t *utils, struct xoauth2_context *ctx)
{
    if (ctx->response != NULL) {
        memset(ctx->response, 0, ctx->response_len);
        utils->free(ctx->response);
        ctx->response = NULL;
        ctx->response_len = 0;
    }
}

static int get_user_name(const sasl_utils_t *utils, const char **name, unsigned *len)
{
    sasl_getsimple_t *getsimple = NULL;
    void *context = NULL;
    int result;

    result = utils->getcallback(utils->conn, SASL_CB_AUTHNAME,
                                (sasl_callback_ft *) &getsimple, &context);
    if (result != SASL_OK || getsimple == NULL) {
        utils->seterror(utils->conn, 0, "XOAUTH2: the application gives no user name");
        return result == SASL_OK ? SASL_BADPARAM : result;
    }
    result = getsimple(context, SASL_CB_AUTHNAME, name, len);
    if (result != SASL_OK || *name == NULL || **name == '\0') {
        utils->seterror(utils->conn, 0, "XOAUTH2: no user name for this server");
        return result == SASL_OK ? SASL_BADPARAM : result;
    }
    if (*len == 0)
        *len = (unsigned) strlen(*name);
    return SASL_OK;
}

/* The token: the secret of SASL_CB_PASS, a getsecret callback (not getsimple). */
static int get_token(const sasl_utils_t *utils, sasl_secret_t **token)
{
    sasl_getsecret_t *getsecret = NULL;
    void *context = NULL;
    int result;

    result = utils->getcallback(utils->conn, SASL_CB_PASS,
                                (sasl_callback_ft *) &getsecret, &context);
    if (result != SASL_OK || getsecret == NULL) {
        utils->seterror(utils->conn, 0, "XOAUTH2: the application gives no token");
        return result == SASL_OK ? SASL_BADPARAM : result;
    }
    result = getsecret(utils->conn, context, SASL_CB_PASS, token);
    if (result != SASL_OK || *token == NULL || (*token)->len == 0) {
        utils->seterror(utils->conn, 0,
                        "XOAUTH2: no token for this server (is mailstack-oauth2-refresh running?)");
        return result == SASL_OK ? SASL_BADPARAM : result;
    }
    return SASL_OK;
}

static int build_response(const sasl_utils_t *utils, struct xoauth2_context *ctx,
                          const char *name, unsigned name_len, const sasl_secret_t *token)
{
    static const char user_prefix[] = "user=";
    static const char auth_prefix[] = "\001auth=Bearer ";
    static const char ending[] = "\001\001";
    unsigned len = (unsigned) (sizeof(user_prefix) - 1 + name_len + sizeof(auth_prefix) - 1
                               + token->len + sizeof(ending) - 1);
    char *p;

    ctx->response = utils->malloc(len + 1);
    if (ctx->response == NULL)
        return SASL_NOMEM;
    p = ctx->response;
    memcpy(p, user_prefix, sizeof(user_prefix) - 1);
    p += sizeof(user_prefix) - 1;
    memcpy(p, name, name_len);
    p += name_len;
    memcpy(p, auth_prefix, sizeof(auth_prefix) - 1);
    p += sizeof(auth_prefix) - 1;
    memcpy(p, token->data, token->len);
    p += token->len;
    memcpy(p, ending, sizeof(ending) - 1);
    p += sizeof(ending) - 1;
    *p = '\0';
    ctx->response_len = len;
    return SASL_OK;
}

static int send_token(sasl_client_params_t *params, struct xoauth2_context *ctx,
                      const char **clientout, unsigned *clientoutlen, sasl_out_params_t *oparams)
{
    const sasl_utils_t *utils = params->utils;
    const char *name = NULL;
    unsigned name_len = 0;
    sasl_secret_t *token = NULL;
    int result;

    if ((result = get_user_name(utils, &name, &name_len)) != SASL_OK)
        return result;
    if ((result = get_token(utils, &token)) != SASL_OK)
        return result;
    if (memchr(name, '\001', name_len) != NULL || memchr(token->data, '\001', token->len) != NULL) {
        utils->seterror(utils->conn, 0, "XOAUTH2: the user name or token holds a control character");
        return SASL_BADPARAM;
    }
    result = params->canon_user(utils->conn, name, name_len,
                                SASL_CU_AUTHID | SASL_CU_AUTHZID, oparams);
    if (result != SASL_OK)
        return result;
    if ((result = build_response(utils, ctx, name, name_len, token)) != SASL_OK)
        return result;
    *clientout = ctx->response;
    *clientoutlen = ctx->response_len;
    ctx->step = ANSWER_ERROR;
    return SASL_CONTINUE;
}

/*
 * A challenge after the token is the server's JSON error: log it (Cyrus's log
 * format knows no "%.*s", hence the copy), answer with an empty response.
 */
static int answer_error(sasl_client_params_t *params, struct xoauth2_context *ctx,
                        const char *serverin, unsigned serverinlen,
                        const char **clientout, unsigned *clientoutlen, sasl_out_params_t *oparams)
{
    char shown[XOAUTH2_MAX_ERROR_LOG + 1];
    unsigned len = serverinlen < XOAUTH2_MAX_ERROR_LOG ? serverinlen : XOAUTH2_MAX_ERROR_LOG;

    forget_response(params->utils, ctx);
    if (serverin != NULL)
        memcpy(shown, serverin, len);
    else
        len = 0;
    shown[len] = '\0';
    params->utils->log(params->utils->conn, SASL_LOG_WARN,
                       "XOAUTH2: the server refused the token: %s", shown);
    *clientout = "";
    *clientoutlen = 0;
    ctx->step = DONE;
    oparams->doneflag = 1;
    return SASL_OK;
}

static int xoauth2_client_mech_new(void *glob_context __attribute__((unused)),
                                   sasl_client_params_t *params, void **conn_context)
{
    struct xoauth2_context *ctx = params->utils->malloc(sizeof(*ctx));

    if (ctx == NULL)
        return SASL_NOMEM;
    memset(ctx, 0, sizeof(*ctx));
    ctx->step = SEND_TOKEN;
    *conn_context = ctx;
    return SASL_OK;
}

static int xoauth2_client_mech_step(void *conn_context, sasl_client_params_t *params,
                                    const char *serverin, unsigned serverinlen,
                                    sasl_interact_t **prompt_need __attribute__((unused)),
                                    const char **clientout, unsigned *clientoutlen,
                                    sasl_out_params_t *oparams)
{
    struct xoauth2_context *ctx = conn_context;

    *clientout = NULL;
    *clientoutlen = 0;
    switch (ctx->step) {
    case SEND_TOKEN:
        return send_token(params, ctx, clientout, clientoutlen, oparams);
    case ANSWER_ERROR:
        return answer_error(params, ctx, serverin, serverinlen, clientout, clientoutlen, oparams);
    default:
        params->utils->seterror(params->utils->conn, 0, "XOAUTH2: unexpected step");
        return SASL_BADPROT;
    }
}

static void xoauth2_client_mech_dispose(void *conn_context, const sasl_utils_t *utils)
{
    struct xoauth2_context *ctx = conn_context;

    if (ctx == NULL)
        return;
    forget_response(utils, ctx);
    utils->free(ctx);
}

static sasl_client_plug_t xoauth2_client_plugins[] = {
    {
        "XOAUTH2",                      /* mech_name */
        0,                              /* max_ssf: no security layer */
        SASL_SEC_NOANONYMOUS | SASL_SEC_PASS_CREDENTIALS, /* a bearer token: TLS only */
        SASL_FEAT_WANT_CLIENT_FIRST,    /* features */
        xoauth2_required_prompts,       /* required_prompts */
        NULL,                           /* glob_context */
        &xoauth2_client_mech_new,
        &xoauth2_client_mech_step,
        &xoauth2_client_mech_dispose,
        NULL,                           /* mech_free */
        NULL,                           /* idle */
        NULL,                           /* spare_fptr1 */
        NULL                            /* spare_fptr2 */
    }
};

int sasl_client_plug_init(const sasl_utils_t *utils, int maxversion, int *out_version,
                          sasl_client_plug_t **pluglist, int *plugcount)
{
    if (maxversion < SASL_CLIENT_PLUG_VERSION) {
        utils->seterror(utils->conn, 0, "XOAUTH2: SASL client plugin version mismatch");
        return SASL_BADVERS;
    }
    *out_version = SASL_CLIENT_PLUG_VERSION;
    *pluglist = xoauth2_client_plugins;
    *plugcount = 1;
    return SASL_OK;
}
