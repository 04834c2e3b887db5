#!/usr/bin/env python3
# A hostile device server against a live mmio-sockdev (TAP, suite fuzz).
#
# This script plays the server side of the v1 protocol, seeded, for a
# bounded time, while the guest side (qtest) keeps accessing the window.
# Each connection gets its own mix: a good, bad, late or missing
# handshake; replies that are right, late, split, mutated (bit flips, new
# bytes, wrong length, type, flags, id), cut short or replaced by random
# bytes; IRQ and DMA requests with random lines, levels and ranges (in
# RAM, across its ends, in MMIO, flash, unmapped, wrapping, too long),
# sent glued to replies or at random moments between guest accesses; a
# reader that drains QEMU's messages slowly or not at all; hang-ups.
# Half the connections agree on version 2 (virtual time): timed events
# with random times, lines and actions (also broken ones), event
# callbacks answered late or never, and events re-armed in the past from
# their own callback, without end.
#
# Pass:
#  - QEMU stays up, and no guest access takes longer than the bound that
#    follows from timeout-ms (each access's wall time is measured);
#  - QEMU only ever sends valid messages, and version-2 ones (TIME,
#    EVENT) only on a version-2 connection;
#  - every DMA reply answers the next DMA request QEMU decoded, in order:
#    OK only for a range inside guest RAM (a DMA read then carries the
#    RAM's bytes), DENIED otherwise;
#  - guest RAM (file-backed: filled with a known pattern, compared byte
#    for byte afterwards) changed only where a DMA write that QEMU may
#    accept (decoded, whole range in RAM) was sent: the stream each
#    connection got is decoded again here, as QEMU's decoder would;
#  - the interrupt line is low once the hostile server is gone;
#  - the next honest server (sockdev-test-server) is served: ID and
#    scratch registers, an interrupt, a DMA copy; QEMU holds no more fds
#    than one socket's worth, and quits cleanly.
#
# The seed is printed with a one-line replay command.  The server's and
# the guest's choices replay exactly; how they interleave depends on
# timing.
#
# Usage: test-sockdev-hostile.py BUILDDIR PYDIR [--seed N] [--duration S]
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import argparse
import os
import random
import socket
import struct
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument('builddir')
ap.add_argument('pydir')
ap.add_argument('--seed', type=int,
                default=int(os.environ.get('SOCKDEV_FUZZ_SEED', '0')) or
                random.SystemRandom().randrange(1, 1 << 32))
ap.add_argument('--duration', type=float, default=20.0)
args = ap.parse_args()
sys.path.insert(0, os.path.abspath(args.pydir))
sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import qme_sockdev as sd  # noqa: E402
from sockdev_testlib import (QTest, RawServer, fd_count, guard,  # noqa: E402
                             kill, ok, start_listening, tap_done, wait_for)

SERVER = os.path.join(args.builddir, 'devices', 'mmio-sockdev', 'tests',
                      'sockdev-test-server')
TMP = guard('sockdev-hostile-', int(args.duration) + 90)
print(f'# seed {args.seed}\n# replay: meson test -C {args.builddir} '
      f'mmio-sockdev-hostile-server --test-args=--seed={args.seed} -v',
      flush=True)

W = 0x0b000000                  # window: 0x1000 bytes, then the bridge
BR = W + 0x1000
SPI = 177
RAM = 0x40000000
RAM_SIZE = 32 << 20
RAM_END = RAM + RAM_SIZE
ARENA = RAM + (8 << 20)         # where most in-RAM DMA writes go
ARENA_SIZE = 1 << 20
T_MS = 100                      # timeout-ms
T = T_MS / 1000
# An access may wait behind one main-loop turn of the device (reconnect
# timer, fd handler, flush bottom half: each bounded by one timeout-ms)
# and then for its own reply (one more); the rest is slack for a loaded
# host (2 cores, load average 7: up to 0.6 s seen).
BOUND = 4 * T + 0.6

failures = []                   # (what, detail) seen by server threads
flock = threading.Lock()


def fail(what, detail=''):
    with flock:
        if len(failures) < 20:
            failures.append(f'{what}: {detail}')


def in_ram(addr, length):
    return RAM <= addr and addr + length <= RAM_END


# Guest RAM: a pattern that shows misplaced bytes, in a file QEMU shares.
ram_path = os.path.join(TMP, 'ram')
block = random.Random(args.seed).randbytes(65521)       # prime length
PATTERN = (block * (RAM_SIZE // len(block) + 1))[:RAM_SIZE]
with open(ram_path, 'wb') as f:
    f.truncate(RAM_SIZE)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = {}

    def add(self, key, k=1):
        with self.lock:
            self.n[key] = self.n.get(key, 0) + k


stats = Stats()
allowed = []                    # (addr, len): DMA writes QEMU may accept
alock = threading.Lock()


def overlaps_allowed(addr, length, upto):
    with alock:
        return any(a < addr + length and addr < a + n
                   for a, n in allowed[:upto])


class Conn:
    """One connection: every byte sent goes through send(), which also
    decodes the stream as QEMU will (until the first error, after which
    QEMU reads nothing more) to know which DMA writes can land and which
    DMA requests QEMU will answer, in order."""

    def __init__(self, c, rng):
        self.c = c
        self.rng = rng
        self.lock = threading.Lock()
        self.alive = True
        self.model = bytearray()
        self.dead = False
        self.dma_reqs = []      # decoded DMA requests, in stream order
        self.replies = 0
        self.rx = bytearray()
        self.version = 1        # agreed in the handshake

    def send(self, data):
        with self.lock:
            if not self.alive:
                return
            self._model(data)
            stats.add('bytes sent', len(data))
            try:
                self.c.sendall(data)
            except OSError:
                self.alive = False

    def _model(self, data):
        if self.dead:
            return
        self.model += data
        while True:
            try:
                r = sd.decode(self.model, sd.FROM_SERVER)
            except sd.ProtocolError:
                self.dead = True
                return
            if r is None:
                return
            m, used = r
            del self.model[:used]
            if m.type == sd.EVENT_AT and self.version < 2:
                self.dead = True        # QEMU resets the connection
                return
            if m.type in (sd.DMA_READ, sd.DMA_WRITE):
                with alock:
                    if m.type == sd.DMA_WRITE and in_ram(m.dma_addr,
                                                         m.dma_len):
                        allowed.append((m.dma_addr, m.dma_len))
                    self.dma_reqs.append((m, len(allowed)))

    def check_dma_reply(self, m):
        stats.add('DMA replies')
        if self.replies >= len(self.dma_reqs):
            fail('DMA_REPLY without a DMA request', m)
            return
        req, upto = self.dma_reqs[self.replies]
        self.replies += 1
        inside = in_ram(req.dma_addr, req.dma_len)
        if m.id != req.id:
            fail('DMA_REPLY id', f'{m.id} for request {req.id}')
        elif m.status == sd.ST_OK and not inside:
            fail('DMA outside RAM answered OK',
                 f'{req.dma_addr:#x}+{req.dma_len}')
        elif m.status == sd.ST_DENIED and inside:
            fail('DMA inside RAM denied', f'{req.dma_addr:#x}+{req.dma_len}')
        elif m.status not in (sd.ST_OK, sd.ST_DENIED):
            fail('DMA_REPLY status', m.status)
        elif req.type == sd.DMA_READ and m.status == sd.ST_OK:
            off = req.dma_addr - RAM
            if len(m.data) != req.dma_len:
                fail('DMA read length', f'{len(m.data)} of {req.dma_len}')
            elif (not overlaps_allowed(req.dma_addr, req.dma_len, upto) and
                  m.data != PATTERN[off:off + req.dma_len]):
                fail('DMA read data differs from RAM', f'{req.dma_addr:#x}')
            stats.add('DMA reads served')
        elif m.data:
            fail('DMA_REPLY carries data', m)
        elif m.status == sd.ST_OK:
            stats.add('DMA writes accepted')
        else:
            stats.add('DMA denied')

    def close(self):
        with self.lock:
            self.alive = False
        try:
            self.c.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


# What a hostile server sends

def hdr(t, length, i, flags=0):
    return struct.pack('<BBHI', t, flags, length, i)


def dma_range(rng, want_write, evil):
    """A DMA range: mostly the arena, else across RAM's ends, in MMIO,
    flash or nowhere (QEMU denies those); with @evil, also ranges that
    wrap or have a bad length (QEMU resets the connection)."""
    k = rng.random()
    n = rng.choice([1, 2, 3, 4, 8, 16, 64, 255, 512, 4096,
                    rng.randint(1, 4096)])
    if k < evil / 2:
        return rng.choice([((1 << 64) - rng.randint(1, n), n),
                           (ARENA, rng.choice([0, 4097, 0xffffffff]))])
    if k < 0.45:
        return ARENA + rng.randrange(ARENA_SIZE - n + 1), n
    if k < 0.55 and not want_write:
        return RAM + rng.randrange(RAM_SIZE - n + 1), n   # anywhere in RAM
    if k < 0.63:
        n = min(n + rng.randint(0, 8), 4096)
        return RAM - rng.randint(1, n), n                  # across the start
    if k < 0.71:
        n = max(n, 2)
        return RAM_END - rng.randint(1, n - 1), n          # across the end
    if k < 0.79:
        return rng.choice([W, BR, 0x09000000, 0x08000000, 0x08010000,
                           0x4010000000]) + rng.randrange(0, 64, 4), n
    if k < 0.86:
        return rng.randrange(0, 0x08000000 - n), n         # flash (ROM)
    if k < 0.93:
        return rng.choice([0x100000000000, 0x7fff_0000_0000,
                           (1 << 64) - 8192]), n
    return rng.randrange((1 << 64) - 4096), n


def raw_dma(rng, t, i, evil):
    addr, n = dma_range(rng, t == sd.DMA_WRITE, evil)
    data = b''
    if t == sd.DMA_WRITE:
        data = rng.randbytes(min(n, 4096))
        if rng.random() < evil / 4:
            data = data[:rng.randrange(len(data) + 1)]
    return hdr(t, 16 + len(data), i) + struct.pack('<QII', addr, n, 0) + data


def raw_irq(rng, evil):
    line, level, pad = 0, rng.randint(0, 1), 0
    if rng.random() < evil:
        k = rng.randrange(3)
        if k == 0:
            line = rng.choice([1, 2, 0xffff])
        elif k == 1:
            level = rng.randint(2, 255)
        else:
            pad = rng.randint(1, 255)
    return hdr(sd.IRQ, 4, 0) + struct.pack('<HBB', line, level, pad)


def raw_event_at(rng, evil):
    """A timed event: now, soon, far or never in guest time; broken with
    probability evil (event number, action bits, a line)."""
    event, line = rng.randrange(16), 0
    action = rng.choice([0, 1, 2, 3, 6, 7])
    vtime = rng.choice([0, 1, rng.randrange(1 << 32), (1 << 64) - 1])
    if rng.random() < evil:
        k = rng.randrange(3)
        if k == 0:
            event = rng.randint(16, 0xffff)
        elif k == 1:
            action = rng.randint(8, 255)
        else:
            line, action = rng.randint(1, 3), rng.choice([2, 3, 6, 7])
    return hdr(sd.EVENT_AT, 16, 0) + struct.pack('<QHHB3x', vtime, event,
                                                 line, action)


def raw_random_msg(rng, i):
    t = rng.choice([sd.HELLO_REPLY, sd.READ_REPLY, sd.SAVE_REPLY,
                    sd.RESTORE_REPLY, sd.PONG, sd.IRQ, sd.DMA_READ,
                    sd.DMA_WRITE, rng.randrange(256)])
    n = rng.choice([0, 4, 12, 16, rng.randrange(64)])
    return hdr(t, n, i) + rng.randbytes(n)


def mutate(rng, b):
    b = bytearray(b)
    k = rng.randrange(8)
    if k == 0 and b:
        for _ in range(rng.randint(1, 3)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif k == 1 and b:
        b[rng.randrange(len(b))] = rng.randrange(256)
    elif k == 2:
        b = b[:rng.randrange(len(b) + 1)]
    elif k == 3:
        b += rng.randbytes(rng.randint(1, 16))
    elif k == 4 and len(b) >= 4:
        struct.pack_into('<H', b, 2, rng.randrange(65536))
    elif k == 5 and b:
        b[0] = rng.randrange(256)
    elif k == 6 and len(b) >= 2:
        b[1] = rng.randint(1, 255)
    else:
        b = b + b
    return bytes(b)


def async_msg(rng, conn):
    """A server-initiated message; with probability conn.evil one that
    breaks a rule (mutated, random, bytes, bad fields)."""
    k = rng.random()
    if conn.version == 2 and k < 0.3:
        m = raw_event_at(rng, conn.evil)
    elif k < 0.4:
        m = raw_irq(rng, conn.evil)
    else:
        m = raw_dma(rng, rng.choice([sd.DMA_READ, sd.DMA_WRITE]),
                    rng.randrange(1 << 32), conn.evil)
    if rng.random() < conn.evil:
        k = rng.randrange(3)
        if k == 0:
            m = mutate(rng, m)
        elif k == 1:
            m = raw_random_msg(rng, rng.randrange(1 << 32))
        else:
            m = rng.randbytes(rng.randint(1, 48))
    return m


class Hostile(RawServer):
    def __init__(self, path, seed):
        self.rng = random.Random(seed)
        self.stop = False
        self.conns = []
        super().__init__(path)

    def session(self, c):
        if self.stop:
            return
        rng = random.Random(self.rng.randrange(1 << 64))
        conn = Conn(c, rng)
        self.conns.append(conn)
        stats.add('connections')
        c.settimeout(2)
        # How often this server breaks a rule (each break resets the
        # connection); with 0 it is only hostile within the protocol.
        conn.evil = rng.choice([0, 0, 0.01, 0.05, 0.3])
        # Reading QEMU's messages: at once, a little at a time, or a
        # trickle that takes a 4 KiB DMA reply in just under timeout-ms.
        conn.drain = rng.choice(['normal'] * 5 + ['slow'] + ['trickle'] * 2)
        conn.async_rate = rng.choice([0, 5, 50, 300]
                                     if conn.drain != 'trickle' else
                                     [50, 300])        # messages per s
        conn.life = rng.choice([None] * 4 + [0.05, 0.5, 2.0])
        if rng.random() < 0.03:
            return                                      # hang up at once
        if not self.handshake(conn, rng):
            return
        if conn.async_rate:
            threading.Thread(target=self.chaos, args=(conn,),
                             daemon=True).start()
        end = time.time() + conn.life if conn.life else None
        try:
            self.serve_requests(conn, rng, end)
        finally:
            conn.close()

    def recv_msg(self, conn):
        """Next message from QEMU, decoded and checked; None to stop."""
        while True:
            try:
                r = sd.decode(conn.rx, sd.FROM_CLIENT)
            except sd.ProtocolError as e:
                fail('QEMU sent an invalid message', e)
                return None
            if r:
                m, used = r
                del conn.rx[:used]
                stats.add(f'QEMU {sd.type_name(m.type)}')
                return m
            if self.stop or not conn.alive:
                return None
            n = {'slow': 256, 'trickle': 1024}.get(conn.drain, 65536)
            try:
                b = conn.c.recv(n)
            except socket.timeout:
                continue
            except OSError:
                return None
            if not b:
                return None
            conn.rx += b
            if conn.drain == 'slow':
                time.sleep(conn.rng.uniform(0, 1.2 * T))
            elif conn.drain == 'trickle':
                # About one 4 KiB DMA reply per 0.6 timeout-ms.
                time.sleep(conn.rng.uniform(0.1 * T, 0.2 * T))

    def handshake(self, conn, rng):
        m = self.recv_msg(conn)
        if not m:
            return False
        if (m.type != sd.HELLO or m.magic != sd.MAGIC or m.version != 2 or
                m.min_version != 1 or m.window != 0x1000 or m.caps != 7):
            fail('QEMU HELLO', m)
            return False
        caps = rng.choice([7, 7, 7, 7, 3, 1, 2, 0, 5])
        magic, version, window = sd.MAGIC, rng.choice([1, 2]), m.window
        conn.version = version
        if rng.random() < conn.evil:
            k = rng.randrange(6)
            if k == 0:
                magic ^= 1 << rng.randrange(32)
            elif k == 1:
                version = rng.choice([0, 3, 0xffff])
            elif k == 2:
                window = rng.choice([0, 0x800, 0x2000])
            elif k == 3:
                caps |= 8 << rng.randrange(4)
            elif k == 4:
                time.sleep(rng.uniform(T, 1.5 * T))     # too late
            else:
                return False                            # never answers
        b = hdr(sd.HELLO_REPLY, 16, m.id) + struct.pack(
            '<IHHII', magic, version, 0, window, caps)
        if rng.random() < conn.evil:
            b = mutate(rng, b)
        if rng.random() < 0.1:
            time.sleep(rng.uniform(0, 0.7 * T))
        if rng.random() < 0.1:
            for x in b:
                conn.send(bytes([x]))
        else:
            conn.send(b)
        if rng.random() < 0.1:
            conn.send(async_msg(rng, conn))             # glued behind
        return True

    def chaos(self, conn):
        """Messages at random moments, also between guest accesses."""
        rng = random.Random(conn.rng.randrange(1 << 64))
        while conn.alive and not self.stop:
            time.sleep(rng.expovariate(conn.async_rate))
            if rng.random() < (0.3 if conn.drain == 'trickle' else 0.1):
                # A burst: many DMA requests at once (the replies pile up).
                big = rng.random() < 0.5
                burst = b''
                for _ in range(rng.randint(2, 300)):
                    if big:
                        burst += hdr(sd.DMA_READ, 16, rng.randrange(1 << 32))
                        burst += struct.pack('<QII', ARENA, 4096, 0)
                    else:
                        t = rng.choice([sd.DMA_READ, sd.DMA_WRITE])
                        burst += raw_dma(rng, t, rng.randrange(1 << 32), 0)
                conn.send(burst)
            else:
                conn.send(async_msg(rng, conn))
            stats.add('async sends')

    def serve_requests(self, conn, rng, end):
        while not self.stop and conn.alive:
            if end and time.time() > end:
                return
            m = self.recv_msg(conn)
            if not m:
                return
            if m.type == sd.DMA_REPLY:
                conn.check_dma_reply(m)
            elif m.type == sd.READ:
                self.answer(conn, rng, m)
            elif m.type in (sd.TIME, sd.EVENT) and conn.version < 2:
                fail(f'QEMU sent {sd.type_name(m.type)} on a version-1 '
                     'connection', m)
            elif m.type == sd.EVENT:
                self.answer_event(conn, rng, m)
            elif m.type not in (sd.WRITE, sd.RESET, sd.TIME):
                fail('QEMU sent an unexpected message', m)

    def answer(self, conn, rng, m):
        status = 0 if rng.random() < 0.9 else rng.choice([1, 2, 7])
        good = hdr(sd.READ_REPLY, 12, m.id) + struct.pack(
            '<IQ', status, rng.randrange(1 << 64))
        if rng.random() < 0.15:
            conn.send(async_msg(rng, conn))             # before the reply
        k = rng.random()
        if k < 0.1:
            time.sleep(rng.uniform(0, 0.7 * T))         # late, in time
            out = [good]
        elif k < 0.2:
            cut = sorted(rng.sample(range(1, len(good)), 3))
            out = [good[a:b] for a, b in zip([0] + cut, cut + [len(good)])]
        else:
            out = [good]
        if rng.random() < conn.evil:
            k = rng.randrange(7)
            if k == 0:
                time.sleep(rng.uniform(T, 1.5 * T))     # too late
            elif k == 1:
                out = [mutate(rng, good)]
            elif k == 2:
                out = [good[:rng.randrange(len(good))]]  # then silence
            elif k == 3:
                out = [raw_random_msg(rng, m.id)]
            elif k == 4:
                out = [rng.randbytes(rng.randint(1, 64))]
            elif k == 5:
                out = [read_reply_for(m.id + rng.randint(1, 9))]
            else:
                conn.close()
                return
        for i, part in enumerate(out):
            if i:
                time.sleep(rng.uniform(0, T / 10))
            conn.send(part)
        if rng.random() < 0.15:
            conn.send(async_msg(rng, conn))             # glued behind


    def answer_event(self, conn, rng, m):
        """An event callback: answered at once, late, never, or after
        arming the same event in the past again (a server that would hold
        QEMU in its catch-up for ever)."""
        stats.add('event callbacks')
        out = hdr(sd.EVENT_REPLY, 0, m.id)
        k = rng.random()
        if k < 0.3:
            out = hdr(sd.EVENT_AT, 16, 0) + struct.pack(
                '<QHHB3x', m.vtime, m.event, 0, 1) + out
        elif k < 0.4:
            time.sleep(rng.uniform(0, 0.7 * T))         # late, in time
        elif k < 0.4 + conn.evil:
            return                                      # never
        conn.send(out)


def read_reply_for(i):
    return hdr(sd.READ_REPLY, 12, i) + struct.pack('<IQ', 0, 0)


# QEMU: file-backed RAM, started before any server exists.
sock = os.path.join(TMP, 'dev.sock')
mem = ('-m', f'{RAM_SIZE >> 20}M', '-object',
       f'memory-backend-file,id=mem,size={RAM_SIZE >> 20}M,'
       f'mem-path={ram_path},share=on', '-machine', 'memory-backend=mem')
q = QTest(TMP, f'mmio-sockdev,socket=unix:{sock},timeout-ms={T_MS},'
          'reconnect-ms=20,on-absent=run,dma=on', mem=mem)
q.intercept_gic()
# Reconnection attempts hold a socket for a moment: the lowest count.
fds0 = min(fd_count(q.p.pid) for _ in range(5))
with open(ram_path, 'r+b') as f:
    f.write(PATTERN)

hostile = Hostile(sock, args.seed)
grng = random.Random(args.seed ^ 0x9e3779b97f4a7c15)
worst, n_access, died = 0.0, 0, None
t_end = time.time() + args.duration
try:
    while time.time() < t_end:
        size = grng.choice([1, 2, 4, 4, 4, 8])
        k = grng.random()
        if k < 0.85:
            off = grng.randrange(0, 0x1000, size)
        elif k < 0.95:
            off = grng.randrange(0, 0x1000 - size + 1)  # unaligned
        else:
            off = 0x1000 + grng.randrange(0, 0x100, size)   # bridge
        t0 = time.time()
        if grng.random() < 0.6:
            q.read(W + off, size)
        else:
            q.write(W + off, size, grng.randrange(1 << (8 * size)))
        dt = time.time() - t0
        n_access += 1
        if dt > worst:
            worst = dt
        if grng.random() < 0.1:
            time.sleep(grng.uniform(0, 0.03))
except (OSError, EOFError, RuntimeError) as e:
    died = f'{type(e).__name__}: {e}'

stats.add('guest accesses', n_access)
hostile.stop = True
for c in hostile.conns:
    c.close()
hostile.close()
alive = died is None and q.p.poll() is None and q.alive()
ok(alive, f'{n_access} guest accesses, {stats.n.get("connections", 0)} '
   'connections: QEMU alive', alive or f'{died}\n{q.quit()[1]}')
if not alive:
    sys.exit(tap_done())
ok(worst <= BOUND,
   f'slowest guest access {worst * 1000:.0f} ms (bound '
   f'{BOUND * 1000:.0f} ms: timeout-ms {T_MS})')
print('# ' + ', '.join(f'{k} {v}' for k, v in sorted(stats.n.items())))
ok(not failures, 'QEMU sent valid messages only; every DMA reply matched '
   'its request and the RAM rules', '\n'.join(failures))

# RAM: only bytes that a permitted DMA write covers may have changed.
with open(ram_path, 'rb') as f:
    ram = f.read()
bad, changed = [], 0
if ram != PATTERN:
    cover = bytearray(RAM_SIZE)
    for a, n in allowed:
        cover[a - RAM:a - RAM + n] = b'\x01' * n
    for base in range(0, RAM_SIZE, 1 << 16):
        if ram[base:base + (1 << 16)] == PATTERN[base:base + (1 << 16)]:
            continue
        for i in range(base, base + (1 << 16)):
            if ram[i] != PATTERN[i]:
                changed += 1
                if not cover[i] and len(bad) < 10:
                    bad.append(hex(RAM + i))
ok(len(ram) == RAM_SIZE and not bad,
   f'guest RAM changed only under permitted DMA writes ({changed} bytes '
   f'changed, {len(allowed)} writes could land)',
   f'changed outside: {bad}')

# Gone: the line is low, no connection.
wait_for(lambda: not q.readl(BR + 4) & 1)
spi = [e for e in q.irqs if e[1] == SPI]
ok(not q.readl(BR + 4) & 1 and (not spi or spi[-1][0] == 'lower'),
   f'hostile server gone: disconnected, IRQ line low '
   f'({len(spi)} IRQ edges seen)', spi[-3:])

# The next honest server is served.
os.unlink(sock)
srv = start_listening([SERVER], '--unix', sock)
back = wait_for(lambda: q.readl(BR + 4) == 7, 5)
q.irqs.clear()
q.writel(W + 4, 0x1234abcd)
q.writel(W + 8, 1)
v = [q.readl(W), q.readl(W + 4)]
wait_for(lambda: q.readl(BR + 4) and q.irqs)
src, dst = ARENA, ARENA + 0x1000
data = grng.randbytes(256)
q.setmem(src, data)
q.writeq(W + 0x10, src)
q.writeq(W + 0x18, dst)
q.writel(W + 0x20, len(data))
q.writel(W + 0x24, 1)
wait_for(lambda: q.readl(W + 0x0c) == 0)
copied = q.mem(dst, len(data))
ok(back and v == [0x31544453, 0x1234abcd] and
   q.irqs == [('raise', SPI)] and
   copied == bytes(b ^ 0xff for b in data),
   'then an honest server: connected, ID, scratch, IRQ and DMA work',
   (back, [hex(x) for x in v], q.irqs))
fds = fd_count(q.p.pid)
ok(fds == fds0 + 1, f'QEMU holds {fds} fds: one socket more than before '
   'any server', fds0)
rc, out = q.quit()
ok(rc == 0, 'QEMU quits cleanly', out)
kill(srv)
sys.exit(tap_done())
