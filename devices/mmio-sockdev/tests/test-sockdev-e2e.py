#!/usr/bin/env python3
# End-to-end tests of mmio-sockdev on the stock QEMU (TAP): the reference
# UART server and the bare-metal firmware over both protocols and both
# transports, start-up faults, and a server that dies, comes back, goes
# mute or talks garbage while the guest runs (reads through HMP "xp",
# which goes through the device's MMIO handler).
#
# Usage: test-sockdev-e2e.py BUILDDIR   (env: QME_QEMU, QME_LOADER,
#        QME_MODULE_PATH from meson's qme_test_env)
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import re
import socket
import subprocess
import sys
import threading
import time

import sockdev_testlib as lib
from sockdev_testlib import ENV, QEMU, Qmp, free_port, ok, run_qemu, tap_done

B = sys.argv[1]
D = os.path.join(B, 'devices', 'mmio-sockdev')
SERVER = os.path.join(B, 'devices', 'sockdev-uart', 'sockdev-uart-server')
FW = os.path.join(D, 'firmware', 'sockdev-hello.elf')
# Bounded; the temporary folder goes at exit.
TMP = lib.guard('sockdev-e2e-', 170)
W = 0x0b000000          # the window at its default address
BR = W + 0x1000         # the bridge block


def start_server(*args):
    return lib.start_server([SERVER], *args)


def firmware_run(sock_prop, server_args, proto):
    return lib.firmware_run(FW, [SERVER], sock_prop, server_args, proto)


# 1. Firmware over v1/TCP: the seed's start-up lines and the hello line.
port = free_port()
sout, qout = firmware_run(f'tcp:127.0.0.1:{port}', ['--port', str(port)],
                          'v1')
expect = lib.seed_banner(port)
ok(sout.startswith(expect), 'server prints the seed start-up lines', sout)
ok(re.search(r"Client connected from \('127\.0\.0\.1', \d+\)\n"
             r"Hello from MMIO sockdev\n", sout) is not None,
   'v1/tcp: firmware line arrives at the server', sout + qout)
ok('bridge status 0x00000003' in qout and 'sent 24 bytes' in qout,
   'v1/tcp: guest sees CONNECTED|V1 and TXREADY', qout)

# 2. Basic protocol over a UNIX socket.
path = os.path.join(TMP, 'uart.sock')
sout, qout = firmware_run(f'unix:{path}', ['--unix', path], 'basic')
ok('Hello from MMIO sockdev\n' in sout and
   'bridge status 0x00000001' in qout,
   'basic/unix: firmware line arrives, bridge says basic', sout + qout)

# 2b. The same reference server over the shared-memory transport.
sout, qout = firmware_run(f'unix:{path}', ['--unix', path], 'v1,shm=on')
ok('Hello from MMIO sockdev\n' in sout and
   'bridge status 0x00000003' in qout and 'sent 24 bytes' in qout and
   'shared memory' not in qout,
   'v1/unix with shm=on: the UART server takes the shared memory, the '
   'firmware line arrives', sout + qout)
rc, out = run_qemu(['-device', 'mmio-sockdev,socket=tcp:127.0.0.1:1,shm=on'])
ok(rc != 0 and "property 'shm' needs a unix: socket and protocol=v1" in out,
   'shm=on with a TCP socket: refused, naming the property', out)

# 3. Start-up faults and bad properties.
port = free_port()
rc, out = run_qemu(['-device', f'mmio-sockdev,socket=tcp:127.0.0.1:{port}'])
ok(rc != 0 and 'no device server' in out and 'Connection refused' in out,
   'absent server: clear error and exit (on-absent=fail)', out)
t0 = time.time()
rc, out = run_qemu(['-device', f'mmio-sockdev,socket=tcp:127.0.0.1:{port},'
                    'on-absent=wait,wait-ms=600'])
ok(rc != 0 and 'waiting up to 600 ms' in out and time.time() - t0 >= 0.5,
   'absent server: on-absent=wait waits, then fails', out)
rc, out = run_qemu(['-kernel', FW, '-device',
                    f'mmio-sockdev,socket=tcp:127.0.0.1:{port},'
                    'on-absent=run'])
ok('device server not connected' in out,
   'absent server: on-absent=run starts, guest sees STATUS.CONNECTED=0', out)
# A host that drops SYNs (a listener with a full backlog does): the
# connect is bounded by timeout-ms, at start and at each reconnection.
hole = socket.socket()
hole.bind(('127.0.0.1', 0))
hole.listen(0)
filler = socket.create_connection(hole.getsockname())
hole_dev = f'mmio-sockdev,socket=tcp:127.0.0.1:{hole.getsockname()[1]}'
t0 = time.time()
rc, out = run_qemu(['-device', hole_dev + ',timeout-ms=300'])
dt = time.time() - t0
ok(rc != 0 and 'timed out' in out and dt < 5,
   f'SYNs dropped: connect gives up after timeout-ms ({dt:.1f} s)', out)
for prop, word in (('protocol=x', "'protocol' does not accept value 'x'"),
                   ('size=0x1001', "property 'size' (0x1001)"),
                   ('addr=0x9000000', "property 'addr' (0x9000000+0x1100) "
                    "overlaps"),
                   ('irq=500', "property 'irq' is 500"),
                   ('on-absent=x', "'on-absent' does not accept value 'x'"),
                   ('socket=udp:x', "property 'socket' (udp:x)"),
                   ('timeout-ms=0', "property 'timeout-ms' is 0")):
    rc, out = run_qemu(['-device', f'mmio-sockdev,{prop}'])
    ok(rc != 0 and word in out, f'bad property {prop} is refused by name',
       out)


# 4. Faults while the guest runs: QEMU stopped (-S), reads via HMP xp.
def qemu_bg(dev):
    qmp = os.path.join(TMP, f'qmp{time.time()}.sock')
    p = subprocess.Popen([QEMU, '-M', 'virt', '-nographic', '-nic', 'none',
                          '-S', '-qmp', f'unix:{qmp},server=on,wait=off',
                          '-serial', 'none', '-monitor', 'none',
                          '-d', 'guest_errors', '-device', dev],
                         env=ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    return p, Qmp(qmp)


# Reconnecting to that host never holds the main loop beyond timeout-ms.
q, m = qemu_bg(hole_dev + ',on-absent=run,timeout-ms=200,reconnect-ms=50')
t0 = time.time()
worst = 0
while time.time() - t0 < 1.5:
    t1 = time.time()
    v = m.xp(W + 4)
    worst = max(worst, time.time() - t1)
ok(v == 0xffffffff and worst < 0.6,
   f'SYNs dropped: monitor answers while reconnecting (worst '
   f'{worst * 1000:.0f} ms)', v)
q.kill()
q.wait()
filler.close()
hole.close()


port = free_port()
srv = start_server('--port', str(port), '--quiet')
q, m = qemu_bg(f'mmio-sockdev,socket=tcp:127.0.0.1:{port},timeout-ms=300,'
               'reconnect-ms=100')
ok(m.xp(W + 4) == 1 and m.xp(BR) == 0x4b434f53 and m.xp(BR + 4) == 3,
   'running: STATUS reads 1, bridge MAGIC and CONNECTED|V1')
srv.kill()
srv.wait()
t0 = time.time()
v = m.xp(W + 4)
ok(v == 0xffffffff and time.time() - t0 < 1.0,
   'server killed: read answers all-ones within 1 s', v)
ok(m.xp(BR + 4) == 2 and m.xp(BR + 8) == 1,
   'server killed: bridge CONNECTED=0, OUTAGES=1')
m.xp(W + 8)
srv = start_server('--port', str(port), '--quiet')
for _ in range(40):
    if m.xp(BR + 4) == 3:
        break
    time.sleep(0.05)
ok(m.xp(W + 8) == 1 and m.xp(BR + 4) == 3,
   'server back: reconnected, CTRL reads its reset value 1')
srv.kill()
srv.wait()

# A server that accepts but never answers: the timeout catches it.
lsock = socket.socket()
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(('127.0.0.1', port))
lsock.listen(4)
conns = []


def mute_accept():
    while True:
        try:
            c, _ = lsock.accept()
        except OSError:
            return
        conns.append(c)


threading.Thread(target=mute_accept, daemon=True).start()
# The basic protocol needs no handshake: the mute server "connects".
time.sleep(0.1)
q.kill()
q.wait()
q, m = qemu_bg(f'mmio-sockdev,socket=tcp:127.0.0.1:{port},protocol=basic,'
               'timeout-ms=300')
t0 = time.time()
v = m.xp(W + 4)
dt = time.time() - t0
ok(v == 0xffffffff and 0.25 <= dt < 1.0,
   f'mute server: read times out ({dt:.2f} s) with all-ones', v)


def garbage_case(reply, name):
    global q, m
    for c in conns:
        c.close()
    conns.clear()
    q.kill()
    q.wait()
    # protocol=seed: the basic protocol's old name, still accepted.
    q, m = qemu_bg(f'mmio-sockdev,socket=tcp:127.0.0.1:{port},'
                   'protocol=seed,timeout-ms=300,reconnect-ms=60000')
    for _ in range(50):
        if conns:
            break
        time.sleep(0.02)
    c = conns[0]

    def answer():
        try:
            c.recv(6)
            c.sendall(reply)
        except OSError:
            pass
    threading.Thread(target=answer, daemon=True).start()
    v = m.xp(W + 4)
    st = m.xp(BR + 4)
    ok(v == 0xffffffff and st == 0 and q.poll() is None,
       f'{name}: read is all-ones, connection reset, QEMU alive', (v, st))


garbage_case(b'\x01\x02\x03\x04\x05\x06\x07\x08', 'oversized basic reply')
garbage_case(b'\x01\x02', 'short basic reply')
q.kill()
out = q.communicate()[0]
ok(out.count('device server at') >= 1 and 'Segmentation' not in out,
   'outages were reported, no crash', out)
lsock.close()

sys.exit(tap_done())
