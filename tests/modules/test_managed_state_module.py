"""mailstack.sasl_postfix.managed_state run for real in temporary directories: files, check mode, diff, templates.

The postfix_config, aliases and tls_selfsigned parts have their own tests
(their module_utils); services are not started on the test machine.
"""

import grp
import json
import os
import pwd
import stat
import subprocess
import sys

from helpers.modules import run_adhoc, run_module

ROLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'files', 'roles')
NO_SUCH_PACKAGE = 'mailstack-no-such-package'


def attributes(path):
    info = os.lstat(path)
    return (pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name, '%04o' % stat.S_IMODE(info.st_mode))


def converge(files, **options):
    args = dict(files=files)
    args.update(options.pop('args', {}))
    return run_module('managed_state', args, **options)


def test_create_update_and_no_change(tmp_path):
    path = str(tmp_path / 'main.cf')
    files = [dict(path=path, content='a = 1\n', owner='daemon', group='nogroup', mode='0640')]
    first = converge(files)
    assert first['changed'] is True, first
    assert first['files'][path]['changed'] is True
    assert open(path).read() == 'a = 1\n'
    assert attributes(path) == ('daemon', 'nogroup', '0640')

    again = converge(files)
    assert again['changed'] is False and again['files'][path] == {'changed': False, 'state': 'file', 'changes': []}

    files[0]['content'] = 'a = 2\n'
    update = converge(files, diff=True)
    assert update['changed'] is True and update['files'][path]['changes'] == ['content']
    assert update['diff'] == [dict(before_header=path, after_header=path, before='a = 1\n', after='a = 2\n')]
    assert open(path).read() == 'a = 2\n' and attributes(path) == ('daemon', 'nogroup', '0640')
    assert converge(files)['changed'] is False
    assert os.listdir(str(tmp_path)) == ['main.cf']  # no temporary file left


def test_check_mode_predicts_without_writing(tmp_path):
    directory = str(tmp_path / 'etc')
    files = [
        dict(path=directory, state='directory', mode='0750'),
        dict(path=directory + '/a.conf', content='x\n', mode='0600'),
        dict(path=directory + '/db', initial='sasldb', mode='0640', group='nogroup', secret=True),
        dict(path=directory + '/link', state='link', src=directory + '/a.conf'),
    ]
    predicted, dummy = run_adhoc('managed_state', dict(files=files), check_mode=True, diff=True)
    assert predicted['changed'] is True, predicted
    assert all(predicted['files'][item['path']]['changed'] for item in files)
    assert not os.path.exists(directory)

    real = converge(files)
    assert real['changed'] is True
    assert real['files'] == predicted['files']

    after, dummy = run_adhoc('managed_state', dict(files=files), check_mode=True, diff=True)
    assert after['changed'] is False, after
    assert 'diff' not in after or after['diff'] in ([], None)


def test_check_mode_on_a_changed_file_keeps_it(tmp_path):
    path = tmp_path / 'f'
    path.write_text('old\n')
    path.chmod(0o644)
    result = converge([dict(path=str(path), content='new\n', mode='0600')], check_mode=True, diff=True)
    assert result['changed'] is True
    assert result['files'][str(path)]['changes'] == ['content', 'mode 0644 -> 0600']
    assert [(d['before'], d['after']) for d in result['diff']] == [('old\n', 'new\n'), ('mode 0644\n', 'mode 0600\n')]
    assert path.read_text() == 'old\n' and attributes(str(path))[2] == '0644'


def test_attributes_only(tmp_path):
    path = tmp_path / 'sasldb2'
    path.write_bytes(b'\x00\x01binary')
    path.chmod(0o644)
    files = [dict(path=str(path), group='nogroup', mode='0640')]
    result = converge(files, diff=True)
    assert result['changed'] is True
    assert result['files'][str(path)]['changes'] == ['group root -> nogroup', 'mode 0644 -> 0640']
    assert result['diff'] == [dict(before_header=str(path), after_header=str(path),
                                   before='group root\nmode 0644\n', after='group nogroup\nmode 0640\n')]
    assert path.read_bytes() == b'\x00\x01binary'
    assert attributes(str(path)) == ('root', 'nogroup', '0640')
    assert converge(files)['changed'] is False


def test_attributes_only_of_a_missing_file_fails_naming_it(tmp_path):
    path = str(tmp_path / 'missing')
    result = converge([dict(path=path, mode='0600')])
    assert result['failed'] is True
    assert path in result['msg'] and 'does not exist' in result['msg']


def test_link_moves_a_file_to_a_free_target(tmp_path):
    path, target = tmp_path / 'sasldb2', tmp_path / 'chroot' / 'sasldb2'
    target.parent.mkdir()
    path.write_text('users')
    path.chmod(0o640)
    files = [dict(path=str(path), state='link', src=str(target), replace_file='move')]
    result = converge(files)
    assert result['changed'] is True
    assert result['files'][str(path)]['changes'][0] == 'moved %s -> %s' % (path, target)
    assert os.readlink(str(path)) == str(target)
    assert target.read_text() == 'users' and attributes(str(target))[2] == '0640'
    assert converge(files)['changed'] is False


def test_link_keeps_a_second_file_aside(tmp_path):
    path, target = tmp_path / 'sasldb2', tmp_path / 'target'
    path.write_text('second')
    target.write_text('first')
    result = converge([dict(path=str(path), state='link', src=str(target), replace_file='move')])
    assert result['changed'] is True
    assert os.readlink(str(path)) == str(target)
    assert (tmp_path / 'sasldb2.before-link').read_text() == 'second' and target.read_text() == 'first'


def test_link_over_a_file_needs_replace_file(tmp_path):
    path = tmp_path / 'sasldb2'
    path.write_text('x')
    result = converge([dict(path=str(path), state='link', src='/nonexistent')])
    assert result['failed'] is True and 'replace_file: move' in result['msg'] and str(path) in result['msg']
    assert path.read_text() == 'x'


def test_link_then_attributes_in_check_mode(tmp_path):
    """The sasldb moved by the link item is the one the next item finds, in check mode too."""
    path, target = tmp_path / 'sasldb2', tmp_path / 'chroot' / 'sasldb2'
    target.parent.mkdir()
    path.write_text('users')
    files = [dict(path=str(path), state='link', src=str(target), replace_file='move'),
             dict(path=str(target), initial='sasldb', mode='0640', secret=True)]
    predicted = converge(files, check_mode=True)
    assert predicted['changed'] is True
    assert predicted['files'][str(target)]['changes'] == ['mode 0644 -> 0640']
    assert not target.exists()
    real = converge(files)
    assert real['files'] == predicted['files']
    assert target.read_text() == 'users'  # moved, not replaced by an empty database


def test_initial_sasldb(tmp_path):
    path = str(tmp_path / 'sasldb2')
    files = [dict(path=path, initial='sasldb', owner='root', group='nogroup', mode='0640', secret=True)]
    result = converge(files)
    assert result['changed'] is True
    assert attributes(path) == ('root', 'nogroup', '0640')
    dump = subprocess.run(['db_dump', '-p', path], capture_output=True, text=True, check=True).stdout
    assert 'type=hash' in dump
    assert dump.split('HEADER=END\n', 1)[1] == 'DATA=END\n'  # no records
    assert converge(files)['changed'] is False
    assert os.listdir(str(tmp_path)) == ['sasldb2']


def test_absent(tmp_path):
    path = tmp_path / 'old.conf'
    path.write_text('old\n')
    empty = tmp_path / 'empty'
    empty.mkdir()
    files = [dict(path=str(path), state='absent'), dict(path=str(empty), state='absent')]
    result = converge(files, diff=True)
    assert result['changed'] is True
    assert not path.exists() and not empty.exists()
    assert result['diff'][0] == dict(before_header=str(path), after_header=str(path), before='old\n', after='')
    assert converge(files)['changed'] is False


def test_secret_content_is_never_returned(tmp_path):
    path = str(tmp_path / 'sasl_passwd')
    secret = 'relay.example.org user:Secret-Pw-42\n'
    result, output = run_adhoc('managed_state', dict(files=[dict(path=path, content=secret, secret=True)]),
                               diff=True, verbosity=3)
    assert result['changed'] is True, output
    assert attributes(path)[2] == '0600'
    assert 'Secret-Pw-42' not in output
    assert all(d.get('after') != secret for d in result.get('diff', []))
    assert open(path).read() == secret


def test_packages_missing_change_nothing(tmp_path):
    path = tmp_path / 'a.conf'
    result = converge([dict(path=str(path), content='x')], args=dict(packages=['coreutils', NO_SUCH_PACKAGE]))
    assert result['changed'] is False
    assert result['packages_missing'] == [NO_SUCH_PACKAGE]
    assert 'files' not in result
    assert not path.exists()


def test_installed_packages_let_the_rest_run(tmp_path):
    path = tmp_path / 'a.conf'
    result = converge([dict(path=str(path), content='x')], args=dict(packages=['coreutils']))
    assert result['changed'] is True and result['packages_missing'] == []
    assert result['postfix_action'] == 'none'
    assert path.read_text() == 'x'


def test_groups_in_check_mode_report_without_adding():
    before = subprocess.run(['id', '-Gn', 'daemon'], capture_output=True, text=True, check=True).stdout
    assert 'nogroup' not in before.split()
    result = run_module('managed_state', dict(groups=[dict(user='daemon', groups=['nogroup', 'daemon'])]),
                        check_mode=True)
    assert result['changed'] is True
    assert result['groups_changed'] == ['daemon: +nogroup']
    assert result['postfix_action'] == 'none'  # not the postfix user
    assert subprocess.run(['id', '-Gn', 'daemon'], capture_output=True, text=True, check=True).stdout == before


def test_groups_refuse_an_unknown_group():
    result = run_module('managed_state', dict(groups=[dict(user='daemon', groups=['mailstack-no-such-group'])]),
                        check_mode=True)
    assert result['failed'] is True and 'mailstack-no-such-group' in result['msg']


def test_templates_of_a_role_through_the_action_plugin(tmp_path):
    playbook = tmp_path / 'play.yml'
    playbook.write_text('- hosts: localhost\n  connection: local\n  gather_facts: false\n'
                        '  roles:\n    - managed_state_test\n')
    variables = tmp_path / 'vars.json'
    variables.write_text(json.dumps(dict(managed_state_test_dir=str(tmp_path), managed_state_test_greeting='hello',
                                         managed_state_test_names=['a', 'b'],
                                         managed_state_test_password='Template-Pw-7')))
    env = dict(os.environ, ANSIBLE_ROLES_PATH=ROLES, ANSIBLE_NOCOLOR='true', ANSIBLE_FORCE_COLOR='false')
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,',
            '-e', '@' + str(variables), str(playbook), '--diff']

    def play(*extra):
        proc = subprocess.run(argv + list(extra), capture_output=True, text=True, env=env, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    checked = play('--check')
    assert 'changed=1' in checked
    assert not (tmp_path / 'rendered.conf').exists()
    assert '+greeting = hello' in checked  # the diff of the rendered template
    assert 'Template-Pw-7' not in checked

    first = play()
    assert 'changed=1' in first
    rendered = (tmp_path / 'rendered.conf').read_text()
    assert rendered.splitlines() == ['#', '# Ansible managed', '#', 'greeting = hello', 'name = a', 'name = b']
    assert attributes(str(tmp_path / 'rendered.conf'))[2] == '0640'
    assert (tmp_path / 'static.conf').read_text() == 'static = {{ not rendered }}\n'
    assert (tmp_path / 'secret.conf').read_text() == 'password = Template-Pw-7\n'
    assert 'Template-Pw-7' not in first

    assert 'changed=0' in play()
