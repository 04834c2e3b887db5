#!/usr/bin/env python3
# Tests of mmio-sockdev's v1 features and v1 faults (TAP), on the stock
# QEMU under the qtest accelerator: register accesses go through the
# device's MMIO handlers, the GIC input of the device is intercepted so
# every raise and lower is seen, and guest RAM is written and compared
# byte for byte.
#
#  - sockdev-test-server (test-server.c): interrupts, server DMA through
#    guest RAM (inverting the bytes, so only a copy through the server
#    matches), DMA refused outside RAM and with dma=off, an IRQ on line 1,
#    state carried by migration (also to a destination whose server comes
#    later), a killed server: reads all-ones, writes dropped and not
#    replayed, one LOG_GUEST_ERROR per outage, service back.
#  - a raw fake v1 server in this script: garbage, short, oversized,
#    unsolicited, wrong-type and out-of-capability messages reset the
#    connection (QEMU alive, next connection served); a reply split into
#    single bytes and an ERROR status do not.
#  - a server that floods DMA requests and reads the replies slowly holds
#    no access (and not the main loop) longer than timeout-ms.
#  - protocol=basic and its old name protocol=seed against the same server;
#    -device help lists the values of the enum properties.
#
# With "shm", every v1 device offers the shared-memory transport
# (shm=on): the C test server takes it (its TRANSPORT register says so),
# the raw fake servers speak version 1 only and are served over the
# socket, and every check above must hold the same.
#
# Usage: test-sockdev-v1.py BUILDDIR [shm]   (env from meson's qme_test_env)
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import queue
import struct
import sys
import threading
import time

from sockdev_testlib import (QTest as _QTest, RawServer, guard, hdr,
                             hello_reply, hello_window, kill, ok, read_reply,
                             recv_msg, run_qemu, start_listening, tap_done,
                             wait_for)

B = sys.argv[1]
SHM = sys.argv[2:] == ['shm']
SERVER = os.path.join(B, 'devices', 'mmio-sockdev', 'tests',
                      'sockdev-test-server')
# Nothing may hang: the whole script is bounded, and whatever it started
# goes with it, also when a step fails with an exception.
TMP = guard('sockdev-v1-', 100)

W = 0x0b000000                  # window (sockdev-test.regs.toml offsets)
BR = W + 0x1000                 # bridge block (mmio-sockdev.regs.toml)
SPI = 177                       # default irq property: GIC input 177
RAM, RAM_END = 0x40000000, 0x48000000   # -m 128
R_ID, R_SCRATCH, R_IRQ, R_RESULT = 0x00, 0x04, 0x08, 0x0c
R_DMA_SRC, R_DMA_DST, R_DMA_LEN, R_DMA_GO, R_MISBEHAVE, R_TRANSPORT = \
    0x10, 0x18, 0x20, 0x24, 0x28, 0x2c
R_VTIME = 0x30
ID, SCRATCH_RESET = 0x31544453, 0x5a5a0000
ST_OK, ST_DENIED, REFUSED, BUSY = 0, 2, 0xffffffff, 0xb0b0b0b0
ONES = 0xffffffff


def start_server(path):
    return start_listening([SERVER], '--unix', path)


class QTest(_QTest):
    """With the bridge block's registers."""

    def __init__(self, dev, extra=()):
        super().__init__(TMP, dev, extra)

    def status(self):
        return self.readl(BR + 4)

    def outages(self):
        return self.readl(BR + 8)

    def connected(self):
        # Bridge reads are answered by QEMU: they never wait on the server.
        return self.status() & 1


def dev(sock, extra=''):
    if SHM and 'protocol=' not in extra:
        extra += ',shm=on'
    return (f'mmio-sockdev,socket=unix:{sock},timeout-ms=400,'
            f'reconnect-ms=50{extra}')


def dma(q, src, dst, length):
    q.writeq(W + R_DMA_SRC, src)
    q.writeq(W + R_DMA_DST, dst)
    q.writel(W + R_DMA_LEN, length)
    q.writel(W + R_DMA_GO, 1)
    res = [BUSY]

    def done():
        res[0] = q.readl(W + R_RESULT)
        return res[0] != BUSY
    wait_for(done)
    return res[0]


def inverted(data):
    return bytes(b ^ 0xff for b in data)


# 1. Interrupts, DMA, refusals, IRQ on line 1 (dma=on)
sock = os.path.join(TMP, 'test.sock')
srv = start_server(sock)
q = QTest(dev(sock, ',dma=on'))
q.intercept_gic()
ok(q.status() == 7 and q.readl(W + R_ID) == ID and
   q.readl(W + R_SCRATCH) == SCRATCH_RESET,
   'dma=on: bridge CONNECTED|V1|DMA, server registers read back')
ok(q.readl(W + R_TRANSPORT) == SHM,
   f'the server is reached through {"shared memory" if SHM else "the socket"}')
# Requests carry the guest's virtual clock (version 2: in the ring, or
# in a TIME before them on the socket): under qtest it moves only by
# clock_step, so the value is exact.
t1 = int(q.cmd('clock_step 1000000')[1])
v1 = q.readq(W + R_VTIME)
t2 = int(q.cmd('clock_step 2500')[1])
v2 = q.readq(W + R_VTIME)
ok((v1, v2) == (t1, t2), 'a read carries the guest virtual clock '
   f'({"shared memory" if SHM else "socket"})', (v1, t1, v2, t2))

# 8-byte accesses of two 32-bit registers (a guest's readq(), the
# monitor's "xp /2wx"): the window forwards them whole, the server's
# register engine composes them; the bridge block composes its own.
ok(q.readq(W + R_ID) == SCRATCH_RESET << 32 | ID and
   q.qmp.xp_words(W + R_ID, 2) == [ID, SCRATCH_RESET],
   'window: readq and xp /2wx of ID and SCRATCH composed by the server')
q.writeq(W + R_ID, 0x12345678 << 32 | 0xffffffff)
ok(q.readl(W + R_SCRATCH) == 0x12345678 and q.readl(W + R_ID) == ID,
   'window: writeq split by the server (ID read-only, SCRATCH written)')
q.writel(W + R_SCRATCH, SCRATCH_RESET)
ok(q.readq(W + R_MISBEHAVE) == ONES << 32 | ONES and
   len(q.guest_errors('server refused the read of 8 bytes at 0x28')) == 1,
   'window: readq of MISBEHAVE and the hole after it: refused by the '
   'server, all-ones, one LOG_GUEST_ERROR', ''.join(q.guest_errors()))
ok(q.readq(BR) == 7 << 32 | 0x4b434f53 and
   q.qmp.xp_words(BR, 2) == [0x4b434f53, 7],
   'bridge: readq and xp /2wx of MAGIC and STATUS composed')
ok(q.readq(BR + 8) == 0 and
   len(q.guest_errors('(OUTAGES..unmapped, value 0x0): bad access size'))
   == 1 and len(q.guest_errors('bad access size')) == 1,
   'bridge: OUTAGES and the hole after it refused (0); no other access '
   'was a bad size', ''.join(q.guest_errors()))

# The server's IRQ arrives between accesses, through the main loop.
q.writel(W + R_IRQ, 1)
wait_for(lambda: q.status() and q.irqs)
ok(q.irqs == [('raise', SPI)], f'IRQ raise reaches GIC input {SPI} '
   'without a window access', q.irqs)
# Lowered while QEMU waits for a read: handled before the reply.
q.writel(W + R_IRQ, 0)
ok(q.readl(W + R_RESULT) == ST_OK and
   q.irqs == [('raise', SPI), ('lower', SPI)],
   'IRQ lower arrives before the reply of the next read', q.irqs)

src, dst = RAM + 0x100000, RAM + 0x200000
pattern = os.urandom(4096)
q.setmem(src, pattern)
q.setmem(dst, bytes(4096 + 16))
res = dma(q, src, dst, 4096)
ok(res == ST_OK and q.mem(dst, 4096) == inverted(pattern) and
   q.mem(dst + 4096, 16) == bytes(16) and q.mem(src, 4096) == pattern,
   'DMA 4096 bytes RAM -> server (inverted) -> RAM, no byte beyond',
   f'result {res}')

# A DMA started by a posted write, with no window access after it.
q.writeq(W + R_DMA_SRC, src + 8)
q.writeq(W + R_DMA_DST, dst + 8192)
q.writel(W + R_DMA_LEN, 3)
q.writel(W + R_DMA_GO, 1)
got = wait_for(lambda: q.mem(dst + 8192, 3) != bytes(3))
ok(q.mem(dst + 8192, 4) == inverted(pattern[8:11]) + b'\0',
   'DMA served through the main loop while the guest is idle', got)

before = q.mem(RAM_END - 8, 8)
out = q.outages()
denied = [dma(q, W, dst, 16),                   # the window itself (MMIO)
          dma(q, RAM_END - 8, dst, 16),         # straddles the end of RAM
          dma(q, 0x100000000000, dst, 16),      # nothing there
          dma(q, src, 0x09000000, 16),          # write to the PL011
          dma(q, src, RAM_END - 8, 16)]         # write across the end
ok(denied == [ST_DENIED] * 5 and q.mem(RAM_END - 8, 8) == before and
   q.mem(dst, 16) == inverted(pattern[:16]),
   'DMA outside guest RAM answers DENIED, RAM unchanged', denied)
ok(q.status() == 7 and q.outages() == out,
   'a denied DMA is not a protocol error: still connected')
ok(len(q.guest_errors('outside guest RAM')) == 5,
   'each denied DMA is a LOG_GUEST_ERROR', ''.join(q.guest_errors()))

# A server that sends an interrupt on a line QEMU does not have.
q.irqs.clear()
q.writel(W + R_MISBEHAVE, 1)
wait_for(lambda: q.outages() == out + 1)
ok(q.outages() == out + 1 and q.irqs == [] and q.alive(),
   'IRQ on line 1: connection reset, no interrupt', q.irqs)
ok(wait_for(lambda: q.status() == 7) and q.readl(W + R_ID) == ID,
   'IRQ on line 1: QEMU reconnects, service resumes')

# 2. Outage: the server dies while its interrupt is up.
q.writel(W + R_IRQ, 1)
q.readl(W + R_RESULT)
q.irqs.clear()
errs = len(q.guest_errors())
kill(srv)
wait_for(lambda: not q.connected() and q.irqs)
ok(q.irqs == [('lower', SPI)] and q.status() == 2,
   'server killed: IRQ lowered, bridge CONNECTED=0', (q.irqs, q.status()))
t0 = time.time()
vals = [q.readl(W + R_ID), q.readl(W + R_SCRATCH)]
dt = time.time() - t0
ok(vals == [ONES, ONES] and dt < 0.4,
   f'server gone: reads answer all-ones at once ({dt * 1000:.0f} ms)', vals)
q.writel(W + R_SCRATCH, 0x12345678)
q.writel(W + R_IRQ, 1)
q.writeq(W + R_DMA_SRC, 0x4242)
vals.append(q.readl(W + R_ID))
new = q.guest_errors()[errs:]
ok(len(new) == 1 and 'lost' in new[0],
   'one LOG_GUEST_ERROR for the whole outage (3 reads, 3 writes)',
   ''.join(new))
srv = start_server(sock)
back = wait_for(lambda: q.status() == 7)
ok(back and q.readl(W + R_SCRATCH) == SCRATCH_RESET and
   q.readq(W + R_DMA_SRC) == 0 and q.readl(W + R_IRQ) == 0 and
   q.irqs == [('lower', SPI)],
   'server back: writes made during the outage were dropped, not replayed')
ok(q.readl(W + R_TRANSPORT) == SHM,
   'server back: through the same transport as before')
outages = q.outages()
ok(len(q.guest_errors(' lost (')) == outages == out + 2,
   f'LOG_GUEST_ERROR "lost" once per outage ({outages} outages)',
   ''.join(q.guest_errors()))

# A machine reset resets the device, and the server's through RESET.
q.writel(W + R_SCRATCH, 0x11223344)
q.writel(W + R_IRQ, 1)
before = q.readl(W + R_SCRATCH)
# (The status reads make QEMU's qtest lines, IRQs among them, arrive.)
wait_for(lambda: q.status() and ('raise', SPI) in q.irqs)
q.irqs.clear()
q.qmp.cmd('system_reset')
wait_for(lambda: q.status() and q.irqs)
ok(before == 0x11223344 and q.irqs == [('lower', SPI)] and
   q.readl(W + R_SCRATCH) == SCRATCH_RESET and q.readl(W + R_IRQ) == 0,
   'system_reset: IRQ lowered, the server\'s registers back to reset values',
   (hex(before), q.irqs))
rc, qout = q.quit()
ok(rc == 0, 'QEMU quits cleanly', qout)

# 3. dma=off: the capability is not agreed; nothing reaches RAM.
q = QTest(dev(sock))
q.setmem(src, pattern[:64])
q.setmem(dst, bytes(64))
res = dma(q, src, dst, 64)
ok(q.status() == 3 and res == REFUSED and q.mem(dst, 64) == bytes(64),
   'dma=off: bridge has no DMA bit, the server cannot DMA, RAM unchanged',
   (q.status(), res))
q.quit()
kill(srv)

# 4. State: migration carries the server's registers and the IRQ level.
mig = os.path.join(TMP, 'mig.bin')
srv = start_server(sock)
q = QTest(dev(sock))
q.writel(W + R_SCRATCH, 0xcafef00d)
q.writeq(W + R_DMA_SRC, 0x1122334455667788)
q.writel(W + R_IRQ, 1)
q.readl(W + R_RESULT)
r = q.qmp.cmd('migrate', uri=f'exec:cat > {mig}')
done = wait_for(lambda: q.qmp.cmd('query-migrate')['return'].get('status')
                in ('completed', 'failed'), 10)
st = q.qmp.cmd('query-migrate')['return'].get('status')
ok(st == 'completed' and os.path.getsize(mig) > 0,
   'migrate to a file: completed', (r, st))
q.quit()
kill(srv)

srv = start_server(sock)                # a fresh server: reset values


def incoming(extra=''):
    d = QTest(dev(sock, extra), ['-incoming', 'defer'])
    d.intercept_gic()
    d.qmp.cmd('migrate-incoming', uri=f'exec:cat {mig}')
    wait_for(lambda: d.qmp.cmd('query-status')['return']['status'] ==
             'running', 10)
    return d


d = incoming()
ok(d.readl(W + R_SCRATCH) == 0xcafef00d and
   d.readq(W + R_DMA_SRC) == 0x1122334455667788 and
   d.readl(W + R_IRQ) == 1 and d.status() == 3,
   'destination: a fresh server got the saved registers (RESTORE)',
   hex(d.readl(W + R_SCRATCH)))
ok(('raise', SPI) in d.irqs, 'destination: the IRQ line is up again',
   d.irqs)
d.quit()
kill(srv)

# The destination's server comes only after the migration.
d = incoming(',on-absent=run')
first = d.readl(W + R_SCRATCH)
srv = start_server(sock)
ok(first == ONES and wait_for(lambda: d.status() == 3) and
   d.readl(W + R_SCRATCH) == 0xcafef00d,
   'destination without server: state restored once it connects',
   hex(first))
d.quit()
kill(srv)


# 5. A raw v1 server in Python that breaks the protocol on request.
class FakeServer(RawServer):
    """One client at a time: handshake (with bytes queued in push glued
    to its reply, or sent after a delay), then answer READs with
    0x600d0000 | addr unless a test queued an action for the next READ
    (a function of the request id returning the chunks to send)."""

    def __init__(self, path, caps=0, version=1):
        self.caps = caps
        self.version = version
        self.slam_until = 0             # until then: accept and hang up
        self.actions = queue.Queue()    # for the next READ
        self.push = queue.Queue()       # sent unasked on the next connection
        super().__init__(path)

    def session(self, c):
        if time.time() < self.slam_until:
            return
        m = recv_msg(c)
        if not m or m[0] != 0x01:
            return
        reply = hello_reply(m[1], hello_window(m[2]), self.caps,
                            version=self.version)
        try:
            delay, extra = self.push.get_nowait()
        except queue.Empty:
            delay, extra = 0, b''
        if delay:
            c.sendall(reply)
            time.sleep(delay)
            c.sendall(extra)
        else:
            c.sendall(reply + extra)
        while True:
            m = recv_msg(c)
            if not m:
                return
            t, i, p = m
            if t == 0x08:       # SHM_SETUP: refused, stay on the socket
                c.sendall(hdr(0x88, 4, i) + struct.pack('<I', 1))
            if t != 0x02:
                continue
            try:
                act = self.actions.get_nowait()
            except queue.Empty:
                act = None
            if act is None:
                c.sendall(read_reply(i, 0x600d0000 | struct.unpack_from(
                    '<I', p)[0]))
            else:
                for chunk in act(i):
                    c.sendall(chunk)
                    time.sleep(0.005)


def event_at(vtime, line, action, event=0):
    return hdr(0xa4, 16, 0) + struct.pack('<QHHB3x', vtime, event, line,
                                          action)


fsock = os.path.join(TMP, 'fake.sock')
fake = FakeServer(fsock)
q = QTest(dev(fsock, ',timeout-ms=300'))
q.intercept_gic()
ok(q.status() == 3 and q.readl(W + 0x10) == 0x600d0010,
   'fake v1 server: handshake and a read')

cases = [
    ('garbage', lambda i: [b'\xff' * 16]),
    ('short reply (13 of 20 bytes, then silence)',
     lambda i: [read_reply(i, 1)[:13]]),
    ('oversized reply (header announces 65535 bytes)',
     lambda i: [hdr(0x82, 0xffff, i) + bytes(12)]),
    ('oversized reply (READ_REPLY of 20 bytes)',
     lambda i: [hdr(0x82, 20, i) + bytes(20)]),
    ('reply with non-zero flags', lambda i: [hdr(0x82, 12, i, 1) +
                                             bytes(12)]),
    ('unsolicited reply (wrong id)', lambda i: [read_reply(i + 7, 1)]),
    ('reply of the wrong type (SAVE_REPLY)',
     lambda i: [hdr(0x85, 4, i) + bytes(4)]),
    ('HELLO_REPLY in mid-session',
     lambda i: [hdr(0x81, 16, i) + struct.pack('<IHHII', 0x56445351, 1, 0,
                                                0x1000, 0)]),
    ('IRQ without the IRQ capability',
     lambda i: [hdr(0xa1, 4, 0) + struct.pack('<HBB', 0, 1, 0),
                read_reply(i, 1)]),
    ('DMA_WRITE with dma=off',
     lambda i: [hdr(0xa3, 32, 0) + struct.pack('<QII', src, 16, 0) +
                b'\xee' * 16, read_reply(i, 1)]),
    ('EVENT_AT from a version-1 server',
     lambda i: [event_at(0, 0, 1), read_reply(i, 1)]),
]
q.setmem(src, bytes(16))
for name, act in cases:
    wait_for(q.connected)
    out = q.outages()
    fake.actions.put(act)
    t0 = time.time()
    v = q.readl(W + 4)
    dt = time.time() - t0
    st = q.status()
    bound = 0.6 if name.startswith('short') else 0.25
    ok(v == ONES and not st & 1 and q.outages() == out + 1 and dt < bound
       and q.alive(),
       f'{name}: all-ones in {dt * 1000:.0f} ms, connection reset, '
       'QEMU alive', (hex(v), st, q.outages(), out))
ok(q.irqs == [] and q.mem(src, 16) == bytes(16),
   'refused IRQ and DMA had no effect', q.irqs)
ok(wait_for(q.connected) and q.readl(W + 0x20) == 0x600d0020,
   'after every reset: reconnected and served again')

q.quit()
fake.close()

# Version 2's timed events, broken: a line without the IRQ capability
# (refused on arrival), a line the device does not have (refused when
# the event fires: here at once, at guest time 0, before the read).
EV_NOTIFY, EV_LINE, EV_LEVEL = 1, 2, 4
for caps, line, name in ((0, 0, 'EVENT_AT setting a line without the IRQ '
                          'capability'),
                         (1, 3, 'EVENT_AT on interrupt line 3 (there is '
                          'only 0)')):
    fsock3 = os.path.join(TMP, f'fake3-{caps}.sock')
    fake = FakeServer(fsock3, caps=caps, version=2)
    q = QTest(dev(fsock3, ',timeout-ms=300'))
    q.intercept_gic()
    out = q.outages()
    fake.actions.put(lambda i: [event_at(0, line, EV_LINE | EV_LEVEL),
                                read_reply(i, 1)])
    q.readl(W + 4)
    v = q.readl(W + 4)
    ok(v == ONES and q.outages() == out + 1 and q.irqs == [] and q.alive(),
       f'{name}: connection reset, no interrupt, QEMU alive',
       (hex(v), q.outages(), q.irqs))
    q.quit()
    fake.close()

# Messages nobody asked for, and messages behind a reply, are handled
# by the main loop without waiting for the next access; split and ERROR
# replies keep the connection.
fsock2 = os.path.join(TMP, 'fake2.sock')
fake = FakeServer(fsock2, caps=1)       # IRQ
fake.push.put((0, read_reply(999, 1)))
fake.push.put((0.1, read_reply(998, 1)))
q = QTest(dev(fsock2, ',timeout-ms=300,on-absent=run'))
q.intercept_gic()
ok(wait_for(lambda: q.outages() == 1) and q.alive(),
   'READ_REPLY glued to HELLO_REPLY: reset without a window access')
ok(wait_for(lambda: q.outages() == 2) and q.alive(),
   'unsolicited READ_REPLY while idle: reset by the main loop')
wait_for(q.connected)
out = q.outages()
fake.actions.put(lambda i: [bytes([b]) for b in read_reply(i, 0xabcd)])
v1 = q.readl(W + 4)
fake.actions.put(lambda i: [read_reply(i, 5, status=1)])
v2 = q.readl(W + 4)
ok(v1 == 0xabcd and v2 == ONES and q.status() == 3 and q.outages() == out,
   'a reply split into 20 single bytes is read, an ERROR status is '
   'all-ones: connection kept', (hex(v1), hex(v2), q.outages(), out))
fake.actions.put(lambda i: [read_reply(i, 0x1234) + hdr(0xa1, 4, 0) +
                            struct.pack('<HBB', 0, 1, 0)])
v3 = q.readl(W + 4)
ok(v3 == 0x1234 and wait_for(lambda: q.status() and q.irqs) and
   q.irqs == [('raise', SPI)] and q.outages() == out,
   'IRQ right behind a reply: raised without another access', q.irqs)

# A server that hangs up on every reconnection for a while (as one busy
# with another client does): still one outage, one warning.
out = q.outages()
fake.slam_until = time.time() + 0.6
fake.actions.put(lambda i: [b'\xff' * 8])
q.readl(W + 4)
time.sleep(0.6)
ok(wait_for(q.connected) and q.outages() == out + 1,
   'server hanging up on reconnections: one outage', (q.outages(), out))
ok(len(q.guest_errors(' lost (')) == q.outages(),
   'LOG_GUEST_ERROR "lost" once per outage', ''.join(q.guest_errors()))
rc, qout = q.quit()
warns = [ln for ln in qout.splitlines() if ' lost (' in ln]
ok(len(warns) == len(q.guest_errors(' lost (')),
   f'one warning per outage on stderr ({len(warns)})', qout)
ok(rc == 0 and 'Segmentation' not in qout, 'QEMU quits cleanly', qout)
fake.close()


# 6. A server that asks for more DMA than it reads: 150 DMA reads of
# 4 KiB at once, their replies drained about one per 80 ms for a second
# (then at once, so that the next connection comes soon).  Each reply's
# send waits less than timeout-ms (200 ms), but together they must not
# hold a guest access (or the main loop) longer than one timeout-ms.
class DmaFlood(RawServer):
    def __init__(self, path):
        self.go = threading.Event()
        super().__init__(path)

    def session(self, c):
        m = recv_msg(c)
        c.sendall(hello_reply(m[1], hello_window(m[2]), 2))    # DMA
        c.settimeout(5)
        while self.go.wait(10):
            self.go.clear()
            c.sendall(b''.join(hdr(0xa2, 16, i) +
                               struct.pack('<QII', RAM + 0x100000, 4096, 0)
                               for i in range(150)))
            # Until QEMU hangs up or all 150 replies (4108 bytes) are in.
            got, end = 0, time.time() + 1
            while got < 150 * 4108:
                b = c.recv(1024)
                if not b:
                    return
                got += len(b)
                if time.time() < end:
                    time.sleep(0.02)


# The basic protocol, by its name and by its old one: the server detects
# it from the first byte; the bridge says connected, not v1.
sock = os.path.join(TMP, 'basic.sock')
srv = start_server(sock)
for proto in ('basic', 'seed'):
    q = QTest(dev(sock, f',protocol={proto}'))
    ok(wait_for(q.connected), f'protocol={proto}: connects', q.status())
    q.writel(W + R_SCRATCH, 0x1234)
    ok(q.readl(W + R_ID) == ID and q.readl(W + R_SCRATCH) == 0x1234 and
       q.status() & 3 == 1,
       f'protocol={proto}: reads and writes, bridge says basic',
       hex(q.status()))
    q.quit()
kill(srv)
rc, out = run_qemu(['-device', 'mmio-sockdev,help'])
# QEMU 7.2 quotes an enum's default ("v1"), 10.0 does not.
lines = {ln.split('=')[0].strip(): ln.replace('"', '')
         for ln in out.splitlines() if '=<' in ln}
ok(rc == 0 and all(v in lines.get('protocol', '')
                   for v in ('v1', 'basic', 'seed', 'default: v1')) and
   all(v in lines.get('on-absent', '')
       for v in ('fail', 'wait', 'run', 'default: fail')),
   '-device mmio-sockdev,help lists protocol and on-absent values', out)

flood = DmaFlood(os.path.join(TMP, 'flood.sock'))
q = QTest(dev(os.path.join(TMP, 'flood.sock'), ',timeout-ms=200,dma=on'))
q.s.settimeout(60)      # measure the old behaviour instead of giving up
wait_for(q.connected)
out = q.outages()
flood.go.set()          # the flood arrives between accesses ...
time.sleep(0.05)        # ... and the main loop is at it
t0 = time.time()
st = q.status()
dt = time.time() - t0
ok(dt < 0.6 and wait_for(lambda: q.outages() == out + 1) and q.alive(),
   f'DMA flood drained slowly between accesses: the next access waited '
   f'{dt * 1000:.0f} ms (timeout-ms 200), connection reset', hex(st))
wait_for(q.connected, 5)
out = q.outages()
threading.Timer(0.05, flood.go.set).start()     # ... or during a read
t0 = time.time()
v = q.readl(W + 4)
dt = time.time() - t0
ok(dt < 0.6 and v == ONES and q.outages() == out + 1 and q.alive(),
   f'DMA flood drained slowly during a read: all-ones after '
   f'{dt * 1000:.0f} ms (timeout-ms 200), connection reset', hex(v))
q.quit()
flood.close()

sys.exit(tap_done())
