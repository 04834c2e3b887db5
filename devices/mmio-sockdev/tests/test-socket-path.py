#!/usr/bin/env python3
# What a device server does with the file at its UNIX socket path (TAP),
# for the C server (sockdev-uart-server) and the Python one (uart_server.py):
#  - a regular file there is refused with one line naming the path, and
#    the file keeps its bytes;
#  - so are a directory, a symbolic link and a socket another server
#    listens on (that server keeps working);
#  - a stale socket (its server died) is replaced, and the server removes
#    its own socket when it stops;
#  - a file put in the socket's place while the server runs survives the
#    server's exit.
#
# Usage: test-socket-path.py C-SERVER PYTHON-DIR
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile

from sockdev_testlib import finish, ok, start_server, tap_done

SERVERS = {
    'C': [sys.argv[1]],
    'Python': [sys.executable, '-B', os.path.join(sys.argv[2],
                                                  'uart_server.py')],
}
DATA = b'precious user data\n' * 100
TMP = tempfile.mkdtemp(prefix='sockdev-path-')


def refused(cmd, path):
    """Run the server on @path, expecting it to refuse to start."""
    try:
        r = subprocess.run([*cmd, '--unix', path], capture_output=True,
                           text=True, timeout=5)
    except subprocess.TimeoutExpired as e:
        return False, f'still serving after 5 s: {e.stdout}'
    lines = (r.stdout + r.stderr).strip().splitlines()
    return r.returncode != 0 and len(lines) == 1 and path in lines[0], \
        r.stdout + r.stderr


def content(path):
    """The bytes of the regular file at @path, or None."""
    try:
        with open(path, 'rb') as f:
            return f.read()
    except OSError:
        return None


def stale_socket(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()           # nothing listens; the file stays


def check(kind, cmd):
    d = tempfile.mkdtemp(dir=TMP)

    path = os.path.join(d, 'regular')
    with open(path, 'wb') as f:
        f.write(DATA)
    good, out = refused(cmd, path)
    ok(good, f'{kind}: a regular file at the path is refused in one line',
       out)
    ok(content(path) == DATA, f'{kind}: the regular file is intact')

    path = os.path.join(d, 'dir')
    os.mkdir(path)
    good, out = refused(cmd, path)
    ok(good and os.path.isdir(path), f'{kind}: a directory is refused', out)

    path = os.path.join(d, 'link')
    os.symlink(os.path.join(d, 'regular'), path)
    good, out = refused(cmd, path)
    ok(good and os.path.islink(path), f'{kind}: a symbolic link is refused',
       out)

    path = os.path.join(d, 'live')
    live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live.bind(path)
    live.listen(1)
    good, out = refused(cmd, path)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(path)
    ok(good and live.accept()[0] is not None,
       f'{kind}: a socket another server listens on is refused, '
       'and that server still accepts', out)
    c.close()
    live.close()

    path = os.path.join(d, 'stale')
    stale_socket(path)
    srv = start_server(cmd, '--unix', path)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    served = c.connect_ex(path) == 0
    c.close()
    srv.send_signal(signal.SIGTERM)
    out = finish(srv)
    ok(served and srv.returncode == 0,
       f'{kind}: a stale socket is replaced and served', out)
    ok(not os.path.lexists(path),
       f'{kind}: the server removes its own socket when it stops')

    path = os.path.join(d, 'swapped')
    srv = start_server(cmd, '--unix', path)
    is_sock = stat.S_ISSOCK(os.lstat(path).st_mode)
    os.unlink(path)
    with open(path, 'wb') as f:
        f.write(DATA)
    srv.send_signal(signal.SIGTERM)
    out = finish(srv)
    ok(is_sock and content(path) == DATA,
       f'{kind}: a file put in place of its socket survives its exit', out)


try:
    for name, command in SERVERS.items():
        check(name, command)
finally:
    shutil.rmtree(TMP, ignore_errors=True)
sys.exit(tap_done())
