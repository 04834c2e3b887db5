#!/usr/bin/env python3
# Interoperability of the Python sockdev module with the C side (TAP):
#  - the Python UART server behind the stock QEMU running the bare-metal
#    firmware, over v1/TCP and basic/UNIX;
#  - one Python client script run against the C reference server and the
#    Python server: same answers, byte for byte;
#  - a Python device doing IRQ and DMA into a real guest's RAM while QEMU
#    waits for its read reply.
#
# Usage: test-sockdev-python-interop.py BUILDDIR PYTHON-DIR
#        (env: QME_QEMU, QME_LOADER, QME_MODULE_PATH from qme_test_env)
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import re
import socket
import subprocess
import sys
import time

B, PYDIR = sys.argv[1], os.path.abspath(sys.argv[2])
sys.path.insert(0, PYDIR)
sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import qme_sockdev as sd  # noqa: E402
import sockdev_testlib as lib  # noqa: E402
from sockdev_testlib import (ENV, QEMU, Qmp, free_port, ok,  # noqa: E402
                             tap_done)

D = os.path.join(B, 'devices', 'mmio-sockdev')
C_SERVER = [os.path.join(B, 'devices', 'sockdev-uart', 'sockdev-uart-server')]
PY_SERVER = [sys.executable, '-B', os.path.join(PYDIR, 'uart_server.py')]
FW = os.path.join(D, 'firmware', 'sockdev-hello.elf')
# Bounded; the temporary folder goes at exit.
TMP = lib.guard('sockdev-py-interop-', 55)
W = 0x0b000000          # the device's default window
BRIDGE = W + 0x1000


def firmware_run(sock_prop, server_args, proto):
    return lib.firmware_run(FW, PY_SERVER, sock_prop, server_args, proto)


# 1. The firmware's line through QEMU to the Python server, both protocols.
port = free_port()
sout, qout = firmware_run(f'tcp:127.0.0.1:{port}', ['--port', str(port)],
                          'v1')
expect = lib.seed_banner(port)
ok(sout.startswith(expect), 'python server prints the seed start-up lines',
   sout)
ok(re.search(r"Client connected from \('127\.0\.0\.1', \d+\)\n"
             r"Hello from MMIO sockdev\n", sout) is not None and
   'bridge status 0x00000003' in qout and 'sent 24 bytes' in qout,
   'v1/tcp: firmware line arrives at the python server', sout + qout)
path = os.path.join(TMP, 'uart.sock')
sout, qout = firmware_run(f'unix:{path}', ['--unix', path], 'basic')
ok(f'listening on unix:{path}\n' in sout and
   'Hello from MMIO sockdev\n' in sout and
   'bridge status 0x00000001' in qout,
   'basic/unix: firmware line arrives at the python server', sout + qout)


# 2. One client script against both servers.
class Client:
    def __init__(self, port):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=3)
        self.rx = b''

    def call(self, *msgs, replies=1):
        self.s.sendall(b''.join(sd.encode(m) for m in msgs))
        out = []
        while len(out) < replies:
            r = sd.decode(self.rx, sd.FROM_SERVER)
            if r:
                self.rx = self.rx[r[1]:]
                out.append(r[0])
                continue
            data = self.s.recv(65536)
            if not data:
                out.append(None)
                break
            self.rx += data
        return out[0] if replies == 1 else out

    def closed(self):
        try:
            return self.s.recv(1) == b''
        except OSError:
            return True


def session(cmd):
    """Talk to a UART server; returns (transcript, chars it printed)."""
    port = free_port()
    srv = lib.start_server(cmd, '--port', str(port), '--quiet')
    t = []
    c = Client(port)
    t.append(c.call(sd.Msg(sd.HELLO, 1, magic=sd.MAGIC, version=1,
                           min_version=1, window=0x1000, caps=sd.CAP_ALL)))
    t.append(c.call(sd.Msg(sd.READ, 2, addr=4, size=4)))        # STATUS
    t.append(c.call(sd.Msg(sd.WRITE, 3, addr=0, size=4, value=ord('Z')),
                    sd.Msg(sd.READ, 4, addr=0, size=4)))        # TXDATA
    t.append(c.call(sd.Msg(sd.PING, 5)))
    t.append(c.call(sd.Msg(sd.WRITE, 6, addr=8, size=4, value=0),
                    sd.Msg(sd.WRITE, 7, addr=0, size=1, value=ord('q')),
                    sd.Msg(sd.SAVE, 8)))
    t.append(c.call(sd.Msg(sd.RESET, 9), sd.Msg(sd.READ, 10, addr=8,
                                                  size=4)))
    t.append(c.call(sd.Msg(sd.RESTORE, 11, data=t[-2].data),
                    sd.Msg(sd.READ, 12, addr=8, size=4), replies=2))
    t.append(c.call(sd.Msg(sd.RESTORE, 13, data=b'\1'),
                    sd.Msg(sd.READ, 14, addr=0x1000, size=4),
                    sd.Msg(sd.READ, 15, addr=2, size=4), replies=3))
    c.s.sendall(bytes.fromhex('0200080010000000000000000300000000'))
    t.append(c.closed())
    c = Client(port)            # the next QEMU finds a fresh device
    t.append(c.call(sd.Msg(sd.HELLO, 1, magic=sd.MAGIC, version=1,
                           min_version=1, window=0x1000, caps=0),
                    sd.Msg(sd.READ, 2, addr=8, size=4), replies=2))
    c.s.close()
    for _ in range(50):
        # Until the server has seen the v1 client go, it refuses others.
        basic = socket.create_connection(('127.0.0.1', port), timeout=3)
        basic.sendall(b'W\0\0\0\0\1!' + b'R\4\0\0\0\4')
        try:
            reply = basic.recv(16)
        except ConnectionResetError:
            reply = b''
        basic.close()
        if reply:
            break
        time.sleep(0.05)
    t.append(reply)
    srv.terminate()
    return t, lib.finish(srv)


c_t, c_out = session(C_SERVER)
py_t, py_out = session(PY_SERVER)
hello = sd.Msg(sd.HELLO_REPLY, 1, magic=sd.MAGIC, version=1, window=0x1000,
               caps=sd.CAP_STATE)
ok(c_t[0] == hello, 'C server: handshake agrees on STATE only', c_t[0])
ok(c_t[1] == sd.Msg(sd.READ_REPLY, 2, value=1), 'C server: STATUS reads 1',
   c_t[1])
ok(c_t[2] == sd.Msg(sd.READ_REPLY, 4, status=sd.ST_ERROR) and
   'Z' in c_out and 'q' not in c_out,
   'C server: TXDATA prints, is write-only, CTRL.ENABLE=0 mutes it',
   (c_t[2], c_out))
ok(c_t[3] == sd.Msg(sd.PONG, 5), 'C server: PING/PONG', c_t[3])
ok(c_t[4].type == sd.SAVE_REPLY and len(c_t[4].data) == 24 and
   c_t[4].data[16] == 0 and c_t[5].value == 1 and
   c_t[6] == [sd.Msg(sd.RESTORE_REPLY, 11),
              sd.Msg(sd.READ_REPLY, 12, value=0)],
   'C server: SAVE, RESET, RESTORE bring CTRL back', c_t[4:7])
ok(c_t[7] == [sd.Msg(sd.RESTORE_REPLY, 13, status=sd.ST_ERROR),
              sd.Msg(sd.READ_REPLY, 14, status=sd.ST_ERROR),
              sd.Msg(sd.READ_REPLY, 15, status=sd.ST_ERROR)] and c_t[8],
   'C server: bad state, out-of-window and misaligned reads refused, a '
   'bad size closes', c_t[7:9])
ok(c_t[9][0].caps == 0 and c_t[9][1].value == 1 and
   c_t[10] == b'\1\0\0\0' and '!' in c_out,
   'C server: next client gets a fresh device; basic client served',
   c_t[9:])
ok(py_t == c_t, 'python server answers exactly as the C server',
   '\n'.join(f'{a}\n  vs {b}' for a, b in zip(py_t, c_t) if a != b))
chars = ''.join(ch for ch in py_out if ch in 'Zq!')
ok(chars == 'Z!', 'python server prints what the C server prints', py_out)


# 3. IRQ and DMA from a Python device into a real guest.
class DmaDev(sd.Device):
    caps = sd.CAP_ALL

    def __init__(self):
        self.server = None
        self.results = []

    def read(self, addr, size):
        if addr != 0x10:
            return 0
        # QEMU waits for this read's reply and serves our DMA meanwhile.
        srv = self.server
        wst = srv.dma_write(0x40000000, b'PyDMA ok')
        rst, data = srv.dma_read(0x40000000, 8)
        bad = srv.dma_write(0x0, b'rom')        # flash, not RAM
        irq = srv.set_irq(1)
        self.results.append((wst, rst, data, bad, irq))
        return 0x600d


dev = DmaDev()
srv = sd.Server(dev, 'tcp:127.0.0.1:0', log=sys.stdout)
dev.server = srv
srv.serve_in_thread()
qmp = os.path.join(TMP, 'qmp.sock')
q = subprocess.Popen([QEMU, '-M', 'virt', '-nographic', '-nic', 'none', '-S',
                      '-m', '128', '-qmp', f'unix:{qmp},server=on,wait=off',
                      '-serial', 'none', '-monitor', 'none',
                      '-trace', 'mmio_sockdev_irq',
                      '-trace', 'mmio_sockdev_dma', '-device',
                      f'mmio-sockdev,socket=tcp:127.0.0.1:{srv.port},dma=on'],
                     env=ENV, stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT, text=True)
m = Qmp(qmp)
st = m.xp(BRIDGE + 4)
v = m.xp(W + 0x10)
ram = m.hmp('xp /2wx 0x40000000')
ok(st == 7, 'dma=on: bridge says CONNECTED|V1|DMA', st)
ok(v == 0x600d and dev.results == [(sd.ST_OK, sd.ST_OK, b'PyDMA ok',
                                          sd.ST_DENIED, True)],
   'DMA write and read-back of guest RAM inside a read; DMA to flash '
   'denied', (v, dev.results))
ok(re.findall(r'0x[0-9a-f]{8}', ram) == [
    hex(int.from_bytes(b'PyDM', 'little')),
    hex(int.from_bytes(b'A ok', 'little'))],
   'the guest RAM holds the DMA bytes', ram)
srv.close()
q.terminate()
qout = q.communicate(timeout=10)[0]
ok('mmio_sockdev_irq level=1' in qout and
   re.search(r'mmio_sockdev_dma write addr=0x40000000 len=8 status=0', qout)
   and 'len=3 status=2' in qout,
   'QEMU traces the IRQ and the DMAs (the denied one too)', qout)

sys.exit(tap_done())
