# Helpers shared by mmio-sockdev's end-to-end test scripts: TAP output,
# free TCP ports, device servers, the stock QEMU (env from meson's
# qme_test_env) and a small QMP client.
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import json
import os
import re
import socket
import subprocess
import time

QEMU = os.environ.get('QME_QEMU', '/usr/bin/qemu-system-aarch64')
ENV = dict(os.environ, LD_PRELOAD=os.environ.get('QME_LOADER', ''))

_n = 0
_failed = 0


def ok(cond, name, diag=''):
    global _n, _failed
    _n += 1
    print(f'{"" if cond else "not "}ok {_n} - {name}', flush=True)
    if not cond:
        _failed += 1
        for line in str(diag).splitlines()[-15:]:
            print('# ' + line)
    return cond


def tap_done():
    """Print the plan; return the exit status (1 if any point failed)."""
    print(f'1..{_n}')
    return 1 if _failed else 0


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def seed_banner(port):
    """The start-up lines of seed 000's server, which ours repeat."""
    return (f'MMIO Device Server listening on port {port}\n'
            'Register map:\n'
            '  0x00 TXDATA (W): Print character\n'
            '  0x04 STATUS (R): TXREADY=1\n'
            '  0x08 CTRL (R/W): ENABLE bit\n'
            'Waiting for QEMU connection...\n')


def start_server(cmd, *args):
    """Start a device server; ready once it prints the waiting line."""
    p = subprocess.Popen([*cmd, *args], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    lines = []
    while True:
        line = p.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith('Waiting for QEMU'):
            break
    p.banner = ''.join(lines)
    return p


def finish(p):
    """Everything a server printed, once it exits (killed after 10 s)."""
    try:
        out = p.communicate(timeout=10)[0]
    except subprocess.TimeoutExpired:
        p.kill()
        out = p.communicate()[0]
    return p.banner + out


def run_qemu(args, timeout=30):
    r = subprocess.run([QEMU, '-M', 'virt', '-cpu', 'max', '-m', '128',
                        '-nographic', '-no-reboot', '-nic', 'none', *args],
                       env=ENV, capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def firmware_run(firmware, server_cmd, sock_prop, server_args, proto):
    """Run @firmware against a --once server: (server output, QEMU's)."""
    srv = start_server(server_cmd, '--once', *server_args)
    _, out = run_qemu(['-kernel', firmware, '-device',
                       f'mmio-sockdev,socket={sock_prop},protocol={proto}'])
    return finish(srv), out


class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        for _ in range(100):
            try:
                self.s.connect(path)
                break
            except OSError:
                time.sleep(0.05)
        self.s.settimeout(30)
        # Read-only: a text file that also writes drops what it has read
        # ahead on every write.
        self.f = self.s.makefile('r')
        self.f.readline()
        self.cmd('qmp_capabilities')

    def cmd(self, name, **args):
        self.s.sendall(json.dumps({'execute': name,
                                   'arguments': args}).encode() + b'\n')
        while True:
            r = json.loads(self.f.readline())
            if 'return' in r or 'error' in r:
                return r

    def hmp(self, line):
        return self.cmd('human-monitor-command',
                        **{'command-line': line}).get('return', '')

    def xp_words(self, addr, count):
        """The words "xp /COUNTwx ADDR" prints: the monitor reads up to 16
        bytes per access, so /2wx is one 8-byte access.  Other lines (a
        warning printed meanwhile) are skipped."""
        words = []
        for line in self.hmp(f'xp /{count}wx {addr:#x}').splitlines():
            m = re.match(r'[0-9a-f]+:((?:\s+0x[0-9a-f]+)+)\s*$', line)
            if m:
                words += [int(w, 16) for w in m.group(1).split()]
        return words

    def xp(self, addr):
        # A warning QEMU prints meanwhile lands in the same HMP output.
        m = re.findall(r'\s(0x[0-9a-f]{8})\b', self.hmp(f'xp /1wx {addr:#x}'))
        return int(m[-1], 16) if m else None
