#!/usr/bin/env python3
# Unit tests of the Python sockdev module (TAP): every vector of the
# shared vectors file through the Python codec with the same verdicts as
# the C test (test-sockdev-proto.c), round trips of every message type,
# the register-table device against the C engine's rules, and the server
# on a real socket: handshake, both protocols, DMA while serving QEMU's
# requests, and hostile input closing the connection.  Given the C unit
# test and its table, the same random accesses run on the C engine and on
# the Python RegisterDevice, which must agree on every value.
#
# Usage: test-sockdev-python.py VECTORS-FILE [PYTHON-DIR
#                                [TEST-REGTABLE TEST-REGS-TOML]]
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import random
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, sys.argv[2] if len(sys.argv) > 2 else
                os.path.join(HERE, '..', 'python'))
sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import qme_sockdev as sd  # noqa: E402

n = 0
failed = 0


def ok(cond, name, diag=''):
    global n, failed
    n += 1
    print(f'{"" if cond else "not "}ok {n} - {name}')
    if not cond:
        failed += 1
        if diag:
            print('# ' + str(diag).replace('\n', '\n# '))


def decode(proto, direction, buf):
    """(verdict, msg, used): verdict 'ok', 'more' or the error name."""
    try:
        r = sd.basic_decode(buf) if proto == 'basic' else \
            sd.decode(buf, direction)
    except sd.ProtocolError as e:
        return e.result, None, 0
    return ('more', None, 0) if r is None else ('ok', *r)


def expected_msg(fields):
    m = sd.Msg(0)
    for kv in fields:
        key, val = kv.split('=', 1)
        if key == 'type':
            m.type = sd.type_from_name(val)
        elif key == 'data':
            m.data = bytes.fromhex(val.replace('.', ''))
        elif hasattr(m, key):
            setattr(m, key, int(val, 0))
        else:
            raise ValueError(f'unknown field {key}')
    return m


def run_vector(line, lineno):
    verdict, proto, dirs, hexs, *fields = line.split()
    direction = sd.FROM_SERVER if dirs == 's2c' else sd.FROM_CLIENT
    buf = bytes.fromhex(hexs.replace('.', ''))
    got, m, used = decode(proto, direction, buf)
    if verdict == 'ok':
        want = expected_msg(fields)
        enc = sd.basic_encode(want) if proto == 'basic' else sd.encode(want)
        good = got == 'ok' and used == len(buf) and m == want and enc == buf
        # Every strict prefix is incomplete, never an error.
        prefixes = [decode(proto, direction, buf[:i])[0]
                    for i in range(len(buf))]
        good = good and all(p == 'more' for p in prefixes)
        # Trailing bytes belong to the next message.
        t = decode(proto, direction, buf + b'\xee')
        good = good and t[0] == 'ok' and t[2] == len(buf)
        ok(good, f'{verdict} vector at line {lineno} decodes, re-encodes, '
           'prefixes wait', f'got {got} {m} used {used}; want {want}; '
           f'encoded {enc.hex()}')
    elif verdict == 'more':
        ok(got == 'more', f'more vector at line {lineno}', f'got {got}')
    elif verdict.startswith('err='):
        ok(got == verdict[4:], f'{verdict} vector at line {lineno}',
           f'got {got}')
    else:
        ok(False, f'unknown verdict {verdict} at line {lineno}')


with open(sys.argv[1]) as f:
    for lineno, line in enumerate(f, 1):
        if line.strip() and not line.lstrip().startswith('#'):
            run_vector(line, lineno)

# Round trips of every v1 type, with the largest data each one takes.
big = bytes(range(256)) * 16
samples = [
    sd.Msg(sd.HELLO, 1, magic=sd.MAGIC, version=1, min_version=1,
           window=0x1000, caps=sd.CAP_ALL),
    sd.Msg(sd.READ, 0xffffffff, addr=0xfffffff8, size=8),
    sd.Msg(sd.WRITE, 3, addr=2, size=2, value=0xbeef),
    sd.Msg(sd.RESET, 4), sd.Msg(sd.SAVE, 5), sd.Msg(sd.PING, 6),
    sd.Msg(sd.RESTORE, 7, data=big),
    sd.Msg(sd.DMA_REPLY, 8, status=sd.ST_OK, data=big),
    sd.Msg(sd.HELLO_REPLY, 1, magic=sd.MAGIC, version=1, window=0x1000,
           caps=sd.CAP_IRQ),
    sd.Msg(sd.READ_REPLY, 2, status=sd.ST_ERROR, value=(1 << 64) - 1),
    sd.Msg(sd.SAVE_REPLY, 5, data=big), sd.Msg(sd.RESTORE_REPLY, 7),
    sd.Msg(sd.PONG, 6), sd.Msg(sd.IRQ, line=0, level=1),
    sd.Msg(sd.DMA_READ, 9, dma_addr=0x40000000, dma_len=sd.MAX_DATA),
    sd.Msg(sd.DMA_WRITE, 10, dma_addr=(1 << 64) - sd.MAX_DATA - 1,
           dma_len=sd.MAX_DATA, data=big),
]
for m in samples:
    b = sd.encode(m)
    d = sd.decode(b, sd.TYPES[m.type][1])
    ok(d == (m, len(b)), f'{sd.type_name(m.type)} round-trips '
       f'({len(b)} bytes)', d)
ok(len(sd.encode(samples[-1])) == sd.MAX_MSG,
   'largest message is MAX_MSG bytes')
for name, bad in [
        ('oversized data', sd.Msg(sd.RESTORE, data=big + b'x')),
        ('size 3', sd.Msg(sd.READ, size=3)),
        ('DMA length 0', sd.Msg(sd.DMA_READ, dma_len=0)),
        ('DMA_WRITE data not its length',
         sd.Msg(sd.DMA_WRITE, dma_len=4, data=b'abc')),
        ('id wider than 32 bits', sd.Msg(sd.PING, 1 << 32)),
        ('unknown type', sd.Msg(0x42))]:
    try:
        sd.encode(bad)
        ok(False, f'encoder refuses {name}')
    except ValueError:
        ok(True, f'encoder refuses {name}')
ok(sd.encode(sd.Msg(sd.WRITE, size=1, value=0x1ff))[16] == 0xff and
   sd.basic_encode(sd.Msg(sd.BASIC_WRITE, size=1, value=0x1ff)) ==
   b'W\0\0\0\0\1\xff', 'encoders drop value bits above the size, as in C')
# The wrap check on its edge: a range ending exactly at 2^64 wraps in C.
edge = sd.Msg(sd.DMA_READ, 1, dma_addr=(1 << 64) - 16, dma_len=16)
ok(decode('v1', sd.FROM_SERVER, sd.encode(edge))[0] == 'bad-field',
   'DMA range ending at 2^64 is refused (64-bit wrap)')
ok(sd.access_ok(0x1000, 0xffc, 4) and not sd.access_ok(0x1000, 0xffe, 4)
   and not sd.access_ok(0x1000, 0x1000, 1)
   and not sd.access_ok(0xffffffff, 0xfffffff8, 8)
   and not sd.access_ok(0x1000, 0, 3), 'access_ok as qme_sd_access_ok')
ok(sd.range_ok(0x40000000, 0x1000, 0x40000ff0, 0x10)
   and not sd.range_ok(0x40000000, 0x1000, 0x40000ff0, 0x11)
   and not sd.range_ok(0x40000000, 0x1000, 0x3fffffff, 1)
   and not sd.range_ok(0x40000000, 0x1000, (1 << 64) - 1, 2),
   'range_ok as qme_sd_range_ok')


# The register-table device: the C engine's rules (protocol/README.md).
class Regs(sd.RegisterDevice):
    def __init__(self):
        self.posted = []
        super().__init__([
            dict(name='CTRL', offset=0, access='rw', reset=0x12,
                 writable=0xff, reserved=0xff00),
            dict(name='ISR', offset=4, access='w1c', reset=0x5),
            dict(name='EVT', offset=8, access='rc', reset=0x0102),
            dict(name='ID', offset=0xc, access='ro', reset=0xcafe,
                 partial=False),
            dict(name='DOOR', offset=0x10, size=2, access='wo',
                 post_write='door_post'),
        ])

    def door_post(self, reg, old, new):
        self.posted.append(new)


r = Regs()
r.write(0, 4, 0xffff)
ok(r.read(0, 4) == 0xff and r.read(1, 1) == 0, 'rw: writable mask, '
   'reserved bits read 0')
r.write(4, 4, 0x4)
ok(r.read(4, 4) == 0x1, 'w1c clears the bits written as 1')
ok(r.read(8, 1) == 0x02 and r.read(8, 4) == 0x0100 and r.read(8, 4) == 0,
   'rc clears only the bytes read')
r.write(0xc, 4, 0)
ok(r.read(0xc, 4) == 0xcafe and r.read(0xc, 2) is None,
   'ro ignores writes; partial=false refuses a sub-word read')
r.write(0x10, 2, 0x1234)
ok(r.read(0x10, 2) is None and r.posted == [0x1234],
   'wo: read is an error, post_write hook runs')
ok(r.read(0x20, 4) is None and r.read(0x2, 4) is None,
   'unmapped and misaligned reads are errors')
state = r.save()
r.reset()
ok(len(state) == 40 and r.get('CTRL') == 0x12 and r.restore(state) and
   r.get('CTRL') == 0xff and not r.restore(state[:-1]),
   'save/reset/restore; a state of the wrong length is refused')
r.reset()
r.set('CTRL', 0x34)
ok(r.read(0, 8) == 0x0000000500000034 and r.read(0, 2) == 0x34,
   'composed read: CTRL and ISR by one 8-byte read, little-endian')
r.write(0, 8, 0x00000004000000a5)
ok(r.get('CTRL') == 0xa5 and r.get('ISR') == 0x1,
   'composed write: each register by its own rule (rw, w1c)')
ok(r.read(8, 8) is None and r.get('EVT') == 0x0102 and
   r.read(0x10, 4) is None,
   'composed access over a partial=false register or a hole: refused, '
   'nothing read-cleared')
r.write(0x10, 2, 7)
ok(r.read(0x10, 2) is None and r.posted[-1] == 7, 'wo still a plain access')


# Fields: one register with a field of every kind.
class Fields(sd.RegisterDevice):
    def __init__(self):
        self.seen = []
        super().__init__([
            dict(name='MIX', offset=0, post_write=True, fields=[
                dict(name='EN', bit=0, access='rw', reset=1),
                dict(name='PEND', bit=1, width=2, access='w1c', reset=3),
                dict(name='SETB', bit=4, access='w1s'),
                dict(name='GO', bit=5, access='pulse'),
                dict(name='KEY', bit=6, width=2, access='wo'),
                dict(name='EVT', bit=8, access='rc', reset='ONE'),
                dict(name='VER', bit=12, width=4, access='ro', reset=5)]),
            dict(name='CMD', offset=4, post_write=True, fields=[
                dict(name='RUN', bit=0, access='pulse')]),
        ], name='t', constants={'ONE': 1})

    def t_mix_post_write(self, reg, old, new):
        self.seen.append(new)

    def t_cmd_post_write(self, reg, old, new):
        self.seen.append(new)


f = Fields()
ok(f.get('MIX') == 0x5107 and f.by_name['MIX']['reserved'] == 0xffff0e08,
   'fields: reset from fields and a constant; bits in no field reserved')
f.write(0, 4, 0x1 | 0x2 | 0x10 | 0x20 | 0xc0 | 0x5000)
ok(f.get('MIX') == 0x51d5 and f.seen == [0x51f5],
   'fields: rw kept, w1c cleared, w1s set, pulse seen by the hook only, '
   'wo stored, ro unchanged', (hex(f.get('MIX')), f.seen))
ok(f.read(0, 4) == 0x5115 and f.get('MIX') == 0x50d5,
   'fields: wo reads 0, rc returned then cleared', hex(f.get('MIX')))
ok(f.read(4, 4) is None and f.by_name['CMD']['access'] == 'wo',
   'fields: a register of pulse fields only is write-only')
f.write(4, 4, 1)
ok(f.seen[-1] == 1 and f.get('CMD') == 0,
   'fields: pulse bit reaches the hook, is never stored')


# The C engine and the Python device on the same accesses.
if len(sys.argv) > 4:
    class TestBlock(sd.RegisterDevice):
        """The hooks of test-regtable.c that change what is stored or
        read; the others log there and pass values through here."""
        counter = 0

        def __getattr__(self, name):
            if name.startswith('test_block_'):
                return lambda reg, *v: v[-1]
            raise AttributeError(name)

        def test_block_ctrl_pre_write(self, reg, new):
            return new & ~self.field_mask('CTRL', 'LOCK')

        def test_block_counter_read(self, reg, value):
            self.counter += 1
            return self.counter

    py = TestBlock.from_toml(sys.argv[4])
    rnd = random.Random(1234)
    span = max(r['offset'] + r['size'] for r in py.regs)
    ops = []
    for _ in range(4000):
        size = rnd.choice((1, 2, 4, 8))
        addr = rnd.randrange(0, span + 8) & ~(size - 1)
        if rnd.random() < 0.5:
            ops.append(f'r {addr:x} {size:x}')
        else:
            ops.append(f'w {addr:x} {size:x} '
                       f'{rnd.getrandbits(8 * size):x}')
    c_out = subprocess.run([sys.argv[3], '--trace'], input='\n'.join(ops),
                           capture_output=True, text=True,
                           check=True).stdout.splitlines()
    mismatch = None
    for i, op in enumerate(ops):
        kind, addr, size = op.split()[:3]
        if kind == 'w':
            py.write(int(addr, 16), int(size, 16), int(op.split()[3], 16))
            got = 'w'
        else:
            v = py.read(int(addr, 16), int(size, 16))
            got = '-' if v is None else f'{v:x}'
        line = ' '.join([got] + [f'{py.values[r["name"]]:x}'
                                 for r in py.regs])
        if i >= len(c_out) or line != c_out[i]:
            mismatch = (op, line, c_out[i] if i < len(c_out) else None)
            break
    ok(len(c_out) == len(ops) and mismatch is None,
       f'{len(ops)} random accesses: C engine and Python agree on every '
       f'value (fields of every kind, composed accesses)', mismatch)


# The server on real sockets, a raw client on the other end.
class Dma(sd.RegisterDevice):
    """Register DMA: a read makes the server DMA-read 4 bytes at
    0x40000000 and answers them (QEMU keeps talking meanwhile)."""
    caps = sd.CAP_ALL

    def __init__(self):
        super().__init__([dict(name='DMA', offset=0, access='ro',
                               read='dma_read'),
                          dict(name='X', offset=4, access='rw')])
        self.server = None
        self.log = []

    def dma_read(self, reg, value):
        st, data = self.server.dma_read(0x40000000, 4)
        self.log.append(st)
        return int.from_bytes(data, 'little') if st == sd.ST_OK else 0xdead

    def connected(self, server, peer):
        self.log.append(peer)

    def disconnected(self, server, why):
        self.log.append(why)
        disc.set()


disc = threading.Event()
dev = Dma()
srv = sd.Server(dev, 'tcp:127.0.0.1:0', log=None)
dev.server = srv
srv.serve_in_thread()


class Client:
    def __init__(self, address):
        fam = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.s = socket.socket(fam)
        self.s.settimeout(3)
        self.s.connect(address)
        self.rx = b''

    def send(self, *msgs):
        self.s.sendall(b''.join(sd.encode(m) if isinstance(m, sd.Msg)
                                else m for m in msgs))

    def recv(self):
        while True:
            r = sd.decode(self.rx, sd.FROM_SERVER)
            if r:
                self.rx = self.rx[r[1]:]
                return r[0]
            data = self.s.recv(65536)
            if not data:
                return None
            self.rx += data

    def closed(self):
        try:
            gone = self.s.recv(1) == b''
        except OSError:
            gone = True
        # The server closes the socket, then tells the device: let the
        # device's disconnected() run before the test looks at its log.
        gone = gone and disc.wait(3)
        disc.clear()
        return gone


def hello(caps=sd.CAP_ALL, **kw):
    return sd.Msg(sd.HELLO, 1, **dict(dict(magic=sd.MAGIC, version=1,
                                           min_version=1, window=0x1000,
                                           caps=caps), **kw))


c = Client(('127.0.0.1', srv.port))
c.send(hello(caps=sd.CAP_IRQ | sd.CAP_STATE))
r = c.recv()
ok(r == sd.Msg(sd.HELLO_REPLY, 1, magic=sd.MAGIC, version=1, window=0x1000,
               caps=sd.CAP_IRQ | sd.CAP_STATE),
   'handshake: agreed caps are the subset both offer', r)
ok(dev.log and dev.log[0].startswith("('127.0.0.1', "),
   'connected() gets the peer as the seed printed it', dev.log)
c.send(sd.Msg(sd.WRITE, 2, addr=4, size=4, value=0x77),
       sd.Msg(sd.READ, 3, addr=4, size=4), sd.Msg(sd.READ, 4, addr=0x1000,
                                                   size=4))
r1, r2 = c.recv(), c.recv()
ok(r1 == sd.Msg(sd.READ_REPLY, 3, value=0x77) and
   r2 == sd.Msg(sd.READ_REPLY, 4, status=sd.ST_ERROR),
   'posted write then read; a read outside the window is an error',
   (r1, r2))
c.send(sd.Msg(sd.READ, 5, addr=0, size=4))
r = c.recv()
ok(r == sd.Msg(sd.READ_REPLY, 5, value=0xdead) and dev.log[-1] == -1,
   'DMA not agreed: dma_read fails without a message', (r, dev.log))
ok(srv.set_irq(1) and c.recv() == sd.Msg(sd.IRQ, level=1),
   'set_irq sends IRQ (cap agreed)')
c.send(b'\x02\x00\x08\x00')     # half a header, then a READ of size 3
time.sleep(0.05)
c.send(bytes.fromhex('09000000.00000000.03000000'.replace('.', '')))
ok(c.closed() and dev.log[-1] == 'protocol error',
   'a bad size closes the connection', dev.log)

c = Client(('127.0.0.1', srv.port))
c.send(hello())
ok(c.recv().caps == sd.CAP_ALL and dev.get('X') == 0x77,
   'the server takes the next client (device state is its own)')
c.send(sd.Msg(sd.READ, 10, addr=0, size=4))
d = c.recv()
ok(d.type == sd.DMA_READ and d.dma_addr == 0x40000000 and d.dma_len == 4,
   'a read the device answers with DMA: DMA_READ arrives first', d)
# While the server waits for our reply it must still serve us.
c.send(sd.Msg(sd.PING, 11), sd.Msg(sd.WRITE, 12, addr=4, size=4, value=5),
       sd.Msg(sd.READ, 13, addr=4, size=4))
p, rr = c.recv(), c.recv()
ok(p == sd.Msg(sd.PONG, 11) and rr == sd.Msg(sd.READ_REPLY, 13, value=5),
   'while waiting for DMA_REPLY the server answers PING and READ', (p, rr))
c.send(sd.Msg(sd.DMA_REPLY, d.id, data=b'\x01\x02\x03\x04'))
r = c.recv()
ok(r == sd.Msg(sd.READ_REPLY, 10, value=0x04030201) and
   dev.log[-1] == sd.ST_OK, 'DMA data reaches the device, read answered',
   r)
c.send(sd.Msg(sd.READ, 14, addr=0, size=4))
d = c.recv()
c.send(sd.Msg(sd.DMA_REPLY, d.id, data=b'\x01\x02'))
ok(c.closed() and dev.log[-2:] == ['DMA reply of the wrong length', -1],
   'a DMA reply of the wrong length closes the connection', dev.log)

c = Client(('127.0.0.1', srv.port))
c.send(hello(), sd.Msg(sd.DMA_REPLY, 99))
c.recv()
ok(c.closed() and dev.log[-1] == 'unsolicited DMA reply',
   'an unsolicited DMA reply closes the connection', dev.log)
c = Client(('127.0.0.1', srv.port))
c.send(hello(version=2, min_version=2))
ok(c.closed() and dev.log[-1] == 'version mismatch',
   'a client that needs another version is refused', dev.log)
c = Client(('127.0.0.1', srv.port))
c.send(b'\x07')
ok(c.closed() and dev.log[-1] == 'unknown protocol',
   'a first byte of neither protocol closes the connection', dev.log)
c = Client(('127.0.0.1', srv.port))
c.send(b'\x06\x00\x01\x20')     # RESTORE announcing 8193 bytes
ok(c.closed(), 'an oversized payload is refused from its header alone')
c = Client(('127.0.0.1', srv.port))
c.send(hello(), sd.Msg(sd.SAVE, 2))
c.recv()
st = c.recv()
c.send(sd.Msg(sd.WRITE, 3, addr=4, size=4, value=9),
       sd.Msg(sd.RESTORE, 4, data=st.data), sd.Msg(sd.READ, 5, addr=4,
                                                    size=4),
       sd.Msg(sd.RESTORE, 6, data=b'xx'))
r1, r2, r3 = c.recv(), c.recv(), c.recv()
ok(st.type == sd.SAVE_REPLY and len(st.data) == 16 and
   r1 == sd.Msg(sd.RESTORE_REPLY, 4) and r2.value == 5 and
   r3 == sd.Msg(sd.RESTORE_REPLY, 6, status=sd.ST_ERROR),
   'SAVE/RESTORE: state comes back; a bad state is refused',
   (st, r1, r2, r3))
c.s.close()

# Basic protocol on a UNIX socket, detected from the first byte.
srv.close()
path = os.path.join('/tmp', f'qme-sockdev-py-{os.getpid()}.sock')
dev = Dma()
srv = sd.Server(dev, f'unix:{path}', log=None)
srv.serve_in_thread()
c = Client(path)
c.s.sendall(sd.basic_encode(sd.Msg(sd.BASIC_WRITE, addr=4, size=2,
                                  value=0xabcd)) +
            sd.basic_encode(sd.Msg(sd.BASIC_READ, addr=4, size=4)) +
            sd.basic_encode(sd.Msg(sd.BASIC_READ, addr=0x2000, size=1)))
time.sleep(0.2)
data = c.s.recv(100)
ok(data == b'\xcd\xab\0\0\0', 'basic: write, read, and a failed read '
   'answers 0 (the basic protocol has no errors)', data)
ok(dev.log[0] == f"'{path}'" and srv.dma_read(0, 4) == (-1, None) and
   not srv.set_irq(1), 'basic: no IRQ or DMA', dev.log)
c.s.sendall(b'R\0\0\0\0\3')
ok(c.closed(), 'basic: size 3 closes the connection')
srv.close()
ok(not os.path.exists(path), 'close() removes the UNIX socket file')
try:
    sd.Server(sd.Device(), 'udp:1.2.3.4:5')
    ok(False, 'a bad address is refused')
except ValueError as e:
    ok('expected tcp:HOST:PORT or unix:PATH' in str(e),
       'a bad address is refused', e)

print(f'1..{n}')
sys.exit(1 if failed else 0)
