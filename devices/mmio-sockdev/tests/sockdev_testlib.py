# Helpers shared by mmio-sockdev's end-to-end test scripts: TAP output,
# free TCP ports, device servers, the stock QEMU (env from meson's
# qme_test_env), a small QMP client, QEMU under the qtest accelerator and
# the pieces of a raw v1 device server.
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import atexit
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
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


# Bounded scripts that leave nothing behind

PROCS = []      # every child a script started: killed at its exit


def guard(prefix, seconds):
    """Bound the whole script to @seconds (TimeoutError in the main
    thread) and, at exit, kill every process in PROCS and remove the
    temporary folder this returns."""
    tmp = tempfile.mkdtemp(prefix=prefix)

    def on_alarm(sig, frame):
        raise TimeoutError(f'{prefix} took more than {seconds} s')

    def cleanup():
        for p in PROCS:
            if p.poll() is None:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    atexit.register(cleanup)
    return tmp


def die_with_parent():
    # Even a SIGKILL of the script (meson's timeout) ends its children.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # SET_PDEATHSIG


def wait_for(cond, timeout=3.0):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    return cond()


def start_listening(cmd, *args):
    """Start a device server that prints one line once it listens
    (sockdev-test-server --unix PATH)."""
    p = subprocess.Popen([*cmd, *args], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True,
                         preexec_fn=die_with_parent)
    PROCS.append(p)
    p.stdout.readline()
    return p


def kill(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def fd_count(pid):
    return len(os.listdir(f'/proc/{pid}/fd'))


# QEMU under qtest

class QTest:
    """QEMU with -accel qtest, a qtest client and a QMP client.  Guest
    errors go to a log file; @preload is put after the loader in
    LD_PRELOAD; @mem replaces the default memory options."""

    count = 0

    def __init__(self, tmp, dev=None, extra=(), preload=(),
                 mem=('-m', '128')):
        QTest.count += 1
        base = os.path.join(tmp, f'q{QTest.count}')
        self.log = base + '.log'
        env = dict(ENV, LD_PRELOAD=':'.join([ENV['LD_PRELOAD'], *preload]))
        lsock = socket.socket(socket.AF_UNIX)
        lsock.bind(base + '.qt')
        lsock.listen(1)
        lsock.settimeout(15)
        self.p = subprocess.Popen(
            [QEMU, '-M', 'virt', *mem, '-accel', 'qtest',
             '-display', 'none', '-nodefaults', '-nic', 'none',
             '-qtest', f'unix:{base}.qt', '-qtest-log', 'none',
             '-qmp', f'unix:{base}.qmp,server=on,wait=off',
             '-d', 'guest_errors', '-D', self.log,
             *(['-device', dev] if dev else []), *extra],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, preexec_fn=die_with_parent)
        PROCS.append(self.p)
        try:
            self.s, _ = lsock.accept()
        except OSError:
            self.p.kill()
            raise RuntimeError('QEMU did not start: ' +
                               self.p.communicate()[0])
        lsock.close()
        self.s.settimeout(15)
        # Read-only: a text file that also writes drops what it has read
        # ahead (an IRQ line behind a reply) on every write.
        self.f = self.s.makefile('r')
        self.qmp = Qmp(base + '.qmp')
        self.irqs = []

    def cmd(self, line):
        self.s.sendall(line.encode() + b'\n')
        while True:
            r = self.f.readline()
            if not r:
                raise EOFError(f'QEMU gone during "{line}"')
            r = r.split()
            if r[0] == 'IRQ':
                self.irqs.append((r[1], int(r[2])))
            elif r[0] == 'OK':
                return r
            else:
                raise RuntimeError(f'"{line}": {" ".join(r)}')

    def read(self, a, size):
        return int(self.cmd(f'read{"bwlq"[size.bit_length() - 1]} '
                            f'{a:#x}')[1], 16)

    def write(self, a, size, v):
        self.cmd(f'write{"bwlq"[size.bit_length() - 1]} {a:#x} {v:#x}')

    def readl(self, a):
        return self.read(a, 4)

    def readq(self, a):
        return self.read(a, 8)

    def writel(self, a, v):
        self.write(a, 4, v)

    def writeq(self, a, v):
        self.write(a, 8, v)

    def mem(self, a, n):
        return bytes.fromhex(self.cmd(f'read {a:#x} {n}')[1][2:])

    def setmem(self, a, data):
        self.cmd(f'write {a:#x} {len(data)} 0x{data.hex()}')

    def intercept_gic(self):
        r = self.qmp.cmd('qom-list', path='/machine/unattached')
        gic = [c['name'] for c in r['return'] if c['type'] == 'child<arm_gic>']
        self.cmd(f'irq_intercept_in /machine/unattached/{gic[0]}')

    def guest_errors(self, needle=''):
        try:
            with open(self.log) as f:
                return [ln for ln in f if needle in ln]
        except FileNotFoundError:
            return []

    def alive(self):
        return (self.p.poll() is None and
                self.qmp.cmd('query-status').get('return') is not None)

    def quit(self):
        try:
            self.qmp.cmd('quit')
        except OSError:
            pass
        try:
            out = self.p.communicate(timeout=10)[0]
        except subprocess.TimeoutExpired:
            self.p.kill()
            out = self.p.communicate()[0]
        return self.p.returncode, out


# A raw v1 device server (no library in between: it may break any rule)

HELLO_REPLY_FMT = '<IHHII'      # magic, version, 0, window, caps


def hdr(t, length, i, flags=0):
    return struct.pack('<BBHI', t, flags, length, i)


def read_reply(i, value, status=0):
    return hdr(0x82, 12, i) + struct.pack('<IQ', status, value)


def hello_reply(i, window, caps, magic=0x56445351, version=1):
    return hdr(0x81, 16, i) + struct.pack(HELLO_REPLY_FMT, magic, version,
                                          0, window, caps)


def recv_msg(c):
    """One v1 message from QEMU as (type, id, payload); None at EOF."""
    h = b''
    while len(h) < 8:
        b = c.recv(8 - len(h))
        if not b:
            return None
        h += b
    t, _, length, i = struct.unpack('<BBHI', h)
    p = b''
    while len(p) < length:
        b = c.recv(length - len(p))
        if not b:
            return None
        p += b
    return t, i, p


def hello_window(payload):
    """The window size QEMU announces in its HELLO."""
    return struct.unpack_from(HELLO_REPLY_FMT, payload)[3]


class RawServer:
    """Listens on a UNIX socket; a thread accepts one client at a time
    and runs self.session(conn) (subclasses) until it returns."""

    def __init__(self, path):
        self.l = socket.socket(socket.AF_UNIX)
        self.l.bind(path)
        self.l.listen(4)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                c, _ = self.l.accept()
            except OSError:
                return
            try:
                self.session(c)
            except OSError:
                pass
            c.close()

    def session(self, c):
        pass

    def close(self):
        # shutdown() wakes the accept() that close() alone would not.
        try:
            self.l.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.l.close()
        self.thread.join(5)
