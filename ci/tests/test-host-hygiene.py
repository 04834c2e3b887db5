#!/usr/bin/env python3
# The host-hygiene check (ci/host-hygiene) finds each kind of damage a test
# can do, on a scratch /dev and a scratch root so the real ones are never
# touched (TAP):
#  - a device node replaced by a regular file, the way QEMU's atomic DTB
#    writer replaced /dev/null (temporary file renamed over the target);
#  - a file written outside the allowed folders, and not one inside;
#  - a file removed beside the build tree; not the build tree's creation, nor
#    the log CI holds open while it runs us;
#  - a process left running with the run's token;
#  - a listening socket left open;
#  - a mount left behind (in a private mount namespace);
#  - and an unchanged machine passes.
#
# Usage: test-host-hygiene.py CI-DIR
#
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HYGIENE = os.path.join(sys.argv[1], 'host-hygiene')
TMP = tempfile.mkdtemp(prefix='qme-hygiene-test-')
n = failed = 0


def ok(cond, name, diag=''):
    global n, failed
    n += 1
    print(f'{"" if cond else "not "}ok {n} - {name}', flush=True)
    if not cond:
        failed += 1
        for line in str(diag).splitlines()[-20:]:
            print('# ' + line)


def skip(name, why):
    global n
    n += 1
    print(f'ok {n} - {name} # SKIP {why}', flush=True)


def hygiene(action, state, *args):
    return subprocess.run([HYGIENE, action, state, *args],
                          capture_output=True, text=True, timeout=120)


def state_dir():
    return tempfile.mkdtemp(dir=TMP, prefix='state-')


def check_dev():
    if os.geteuid() != 0:
        skip('a device node replaced by a regular file is caught', 'not root')
        return
    dev = tempfile.mkdtemp(dir=TMP, prefix='dev-')
    os.mknod(os.path.join(dev, 'null'), 0o20666, os.makedev(1, 3))
    os.chmod(os.path.join(dev, 'null'), 0o666)
    os.mkdir(os.path.join(dev, 'pts'))
    args = ('--only', 'dev', '--dev', dev)

    st = state_dir()
    hygiene('begin', st, *args)
    r = hygiene('end', st, *args)
    ok(r.returncode == 0, 'an untouched /dev passes', r.stdout + r.stderr)

    st = state_dir()
    hygiene('begin', st, *args)
    tmp = os.path.join(dev, 'null.XYZ123')
    with open(tmp, 'wb') as f:
        f.write(b'\xd0\x0d\xfe\xed')
    os.rename(tmp, os.path.join(dev, 'null'))
    r = hygiene('end', st, *args)
    ok(r.returncode == 1 and
       'dev: /dev/null: char 0666 0:0 1,3 -> regular file 0644 0:0'
       in r.stdout and 'FAILED' in r.stdout,
       'a device node replaced by a regular file is caught',
       r.stdout + r.stderr)


def check_files():
    root = tempfile.mkdtemp(dir=TMP, prefix='root-')
    for d in ('etc', 'build', 'home/user'):
        os.makedirs(os.path.join(root, d))
    with open(os.path.join(root, 'home/user/notes'), 'w') as f:
        f.write('keep\n')
    args = ('--only', 'files', '--root', root,
            '--allow', os.path.join(root, 'build'))

    st = state_dir()
    hygiene('begin', st, *args)
    with open(os.path.join(root, 'build', 'artifact'), 'w') as f:
        f.write('x')
    r = hygiene('end', st, *args)
    ok(r.returncode == 0, 'writing in an allowed folder passes',
       r.stdout + r.stderr)

    st = state_dir()
    hygiene('begin', st, *args)
    with open(os.path.join(root, 'etc', 'stray'), 'w') as f:
        f.write('x')
    os.chmod(os.path.join(root, 'home/user/notes'), 0o600)
    r = hygiene('end', st, *args)
    out = r.stdout
    ok(r.returncode == 1 and f'{root}/etc/stray' in out and
       f'{root}/home/user/notes' in out and 'build' not in out,
       'a new file and a changed mode outside the allowed folders are '
       'caught, the allowed folder is not', out + r.stderr)


def check_procs():
    st = state_dir()
    args = ('--only', 'procs', '--token', 'tok-123')
    hygiene('begin', st, *args)
    p = subprocess.Popen(['sleep', '60'],
                         env=dict(os.environ, QME_HYGIENE_TOKEN='tok-123'))
    try:
        r = hygiene('end', st, *args)
    finally:
        p.kill()
        p.wait()
    ok(r.returncode == 1 and
       f'procs: left running: pid {p.pid}: sleep 60' in r.stdout,
       'a process left running with the run\'s token is caught',
       r.stdout + r.stderr)


def check_listen():
    st = state_dir()
    path = os.path.join(TMP, 'left.sock')
    hygiene('begin', st, '--only', 'listen')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    try:
        r = hygiene('end', st, '--only', 'listen')
    finally:
        s.close()
    ok(r.returncode == 1 and
       f'listen: listening socket left behind: unix {path}' in r.stdout,
       'a listening socket left open is caught', r.stdout + r.stderr)


def check_files_around_the_run():
    root = tempfile.mkdtemp(dir=TMP, prefix='root-')
    src = os.path.join(root, 'work', 'src')
    out = os.path.join(root, 'out')
    for d in (src, out):
        os.makedirs(d)
    for name in ('README', 'LICENSE'):
        with open(os.path.join(src, name), 'w') as f:
            f.write('keep\n')
    log = os.path.join(out, 'ci.log')
    args = ('--only', 'files', '--root', root,
            '--allow', os.path.join(src, 'build'))

    # CI writes our output to a log it opened before the run.
    ci = subprocess.Popen(['sh', '-c', 'exec 3>>"$1"; exec sleep 60',
                           'sh', log])
    try:
        time.sleep(0.3)
        st = state_dir()
        hygiene('begin', st, *args)
        os.makedirs(os.path.join(src, 'build'))
        with open(os.path.join(src, 'build', 'build.ninja'), 'w') as f:
            f.write('x')
        with open(log, 'a') as f:
            f.write('1/64 OK\n')
        r = hygiene('end', st, *args)
        ok(r.returncode == 0, 'creating the build tree inside the source '
           'tree and the log CI holds open pass', r.stdout + r.stderr)
    finally:
        ci.kill()
        ci.wait()

    st = state_dir()
    hygiene('begin', st, *args)
    os.unlink(os.path.join(src, 'LICENSE'))
    with open(log, 'a') as f:
        f.write('written by the tests\n')
    r = hygiene('end', st, *args)
    ok(r.returncode == 1 and f'{src}/LICENSE (removed)' in r.stdout and
       log in r.stdout and 'README' not in r.stdout,
       'a file removed beside the build tree is caught, and a log no older '
       'process holds open is the tests\'', r.stdout + r.stderr)


def check_mounts():
    if os.geteuid() != 0 or not shutil.which('unshare'):
        skip('a mount left behind is caught', 'needs root and unshare')
        return
    # In a chroot "/" is no mount point and unshare cannot make the new
    # namespace private; the host's run proves the check.
    with open('/proc/self/mountinfo') as f:
        root_mounted = any(line.split()[4] == '/' for line in f)
    if not root_mounted:
        skip('a mount left behind is caught',
             '/ is not a mount point (a chroot): no private mount namespace')
        return
    st = state_dir()
    mnt = tempfile.mkdtemp(dir=TMP, prefix='mnt-')
    # A private mount namespace: the mount ends with the shell.
    script = (f'"$1" begin "$2" --only mounts && '
              f'mount -t tmpfs qme-test "$3" && "$1" end "$2" --only mounts')
    r = subprocess.run(['unshare', '--mount', '--propagation', 'private',
                        'sh', '-c', script, 'sh', HYGIENE, st, mnt],
                       capture_output=True, text=True, timeout=120)
    ok(r.returncode == 1 and
       f'mounts: mount left behind: {mnt} tmpfs qme-test' in r.stdout,
       'a mount left behind is caught', r.stdout + r.stderr)


try:
    check_dev()
    check_files()
    check_files_around_the_run()
    check_procs()
    check_listen()
    check_mounts()
finally:
    shutil.rmtree(TMP, ignore_errors=True)
print(f'1..{n}')
sys.exit(1 if failed else 0)
