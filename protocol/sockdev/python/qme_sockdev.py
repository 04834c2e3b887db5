"""mmio-sockdev device servers in pure Python (stdlib only).

The wire codec of both protocols (basic and v1, devices/mmio-sockdev/
PROTOCOL.md) with the same checks as the C decoder
(protocol/sockdev/sockdev-proto.c; both pass tests/vectors.txt), and a
small server: it listens on tcp:HOST:PORT or unix:PATH, serves one QEMU at
a time, detects the protocol from the first byte and calls a Device.

    class Uart(qme_sockdev.Device):
        def read(self, addr, size):
            return 1 if addr == 4 else 0
        def write(self, addr, size, value):
            print(chr(value & 0xff), end='', flush=True)

    qme_sockdev.Server(Uart(), 'tcp:127.0.0.1:7890').serve_forever()

No global state.  Not thread-safe: call set_irq/dma_* from a Device
callback or between run_once() calls, in the server's thread.

Copyright (c) 2026 qemu-modules-extra developers
SPDX-License-Identifier: GPL-2.0-or-later
"""

import dataclasses
import os
import select
import socket
import stat
import struct
import sys
import threading
import time
import types

MAGIC = 0x56445351          # "QSDV" as little-endian bytes
VERSION = 1
HDR_SIZE = 8
MAX_DATA = 4096             # DMA transfer, state blob, any data part
MAX_PAYLOAD = 16 + MAX_DATA  # a DMA_WRITE
MAX_MSG = HDR_SIZE + MAX_PAYLOAD

CAP_IRQ, CAP_DMA, CAP_STATE = 1, 2, 4
CAP_ALL = 7
ST_OK, ST_ERROR, ST_DENIED = 0, 1, 2
FROM_CLIENT, FROM_SERVER = 0, 1     # who sent the bytes being decoded

HELLO, READ, WRITE, RESET, SAVE, RESTORE, PING = range(1, 8)
DMA_REPLY = 0x21
HELLO_REPLY, READ_REPLY, SAVE_REPLY, RESTORE_REPLY, PONG = (
    0x81, 0x82, 0x85, 0x86, 0x87)
# Version 2 (shared memory, virtual time): decoded, so that the codec is
# the C one's twin; this server speaks version 1 only, over the socket.
SHM_SETUP, SHM_SETUP_REPLY = 0x08, 0x88
TIME, SYNC, EVENT = 0x09, 0x0a, 0x0b
SYNC_REPLY, EVENT_REPLY, EVENT_AT = 0x8a, 0x8b, 0xa4
MAX_EVENTS = 16
EV_NOTIFY, EV_LINE, EV_LEVEL = 1, 2, 4
IRQ, DMA_READ, DMA_WRITE = 0xa1, 0xa2, 0xa3
BASIC_READ, BASIC_WRITE = ord('R'), ord('W')

# Per type: name, direction, fixed payload bytes, ends with 0..MAX_DATA data.
TYPES = {
    HELLO: ('HELLO', FROM_CLIENT, 16, False),
    READ: ('READ', FROM_CLIENT, 8, False),
    WRITE: ('WRITE', FROM_CLIENT, 16, False),
    RESET: ('RESET', FROM_CLIENT, 0, False),
    SAVE: ('SAVE', FROM_CLIENT, 0, False),
    RESTORE: ('RESTORE', FROM_CLIENT, 0, True),
    PING: ('PING', FROM_CLIENT, 0, False),
    SHM_SETUP: ('SHM_SETUP', FROM_CLIENT, 8, False),
    TIME: ('TIME', FROM_CLIENT, 8, False),
    SYNC: ('SYNC', FROM_CLIENT, 8, False),
    EVENT: ('EVENT', FROM_CLIENT, 16, False),
    DMA_REPLY: ('DMA_REPLY', FROM_CLIENT, 4, True),
    HELLO_REPLY: ('HELLO_REPLY', FROM_SERVER, 16, False),
    READ_REPLY: ('READ_REPLY', FROM_SERVER, 12, False),
    SAVE_REPLY: ('SAVE_REPLY', FROM_SERVER, 4, True),
    RESTORE_REPLY: ('RESTORE_REPLY', FROM_SERVER, 4, False),
    PONG: ('PONG', FROM_SERVER, 0, False),
    SHM_SETUP_REPLY: ('SHM_SETUP_REPLY', FROM_SERVER, 4, False),
    SYNC_REPLY: ('SYNC_REPLY', FROM_SERVER, 0, False),
    EVENT_REPLY: ('EVENT_REPLY', FROM_SERVER, 0, False),
    IRQ: ('IRQ', FROM_SERVER, 4, False),
    DMA_READ: ('DMA_READ', FROM_SERVER, 16, False),
    DMA_WRITE: ('DMA_WRITE', FROM_SERVER, 16, True),
    EVENT_AT: ('EVENT_AT', FROM_SERVER, 16, False),
}
_BASIC_NAMES = {BASIC_READ: 'basic-R', BASIC_WRITE: 'basic-W'}


def type_name(t):
    return TYPES[t][0] if t in TYPES else _BASIC_NAMES.get(t, 'unknown')


def type_from_name(name):
    for t in list(TYPES) + list(_BASIC_NAMES):
        if type_name(t) == name:
            return t
    raise ValueError(f'unknown message type {name!r}')


class ProtocolError(Exception):
    """A message the decoder rejects; .result is the C decoder's name
    (bad-type, bad-length, bad-size, bad-padding, bad-field)."""

    def __init__(self, result, what):
        super().__init__(f'{result}: {what}')
        self.result = result


@dataclasses.dataclass
class Msg:
    """One message; only the fields of its type are meaningful."""
    type: int
    id: int = 0
    magic: int = 0
    version: int = 0
    min_version: int = 0
    window: int = 0
    caps: int = 0
    addr: int = 0
    size: int = 0
    value: int = 0
    status: int = 0
    line: int = 0
    level: int = 0
    dma_addr: int = 0
    dma_len: int = 0
    shm_slots: int = 0
    shm_size: int = 0
    vtime: int = 0
    event: int = 0
    action: int = 0
    data: bytes = b''


def size_ok(size):
    return size in (1, 2, 4, 8)


def access_ok(window, addr, size):
    """An access of size bytes at addr lies in the window, aligned."""
    return size_ok(size) and addr % size == 0 and addr + size <= window


def range_ok(base, span, addr, length):
    """[addr, addr + length) lies in [base, base + span)."""
    return base <= addr and addr - base <= span and \
        length <= span - (addr - base)


def event_ok(event, action, line):
    """An EVENT_AT's event number and action: a level only with a line,
    a line number only with a line."""
    return event < MAX_EVENTS and not action & ~(EV_NOTIFY | EV_LINE |
                                                 EV_LEVEL) and \
        (action & EV_LINE or not action & EV_LEVEL) and \
        (action & EV_LINE or line == 0)


def decode(buf, direction):
    """v1: decode one message from the start of buf.  Returns (Msg, bytes
    used), or None if buf holds only part of it; raises ProtocolError.
    Checks run as soon as their bytes are there, so a bad type or an
    oversized length fails at once instead of waiting for more bytes."""
    if len(buf) < 1:
        return None
    info = TYPES.get(buf[0])
    if info is None or info[1] != direction:
        raise ProtocolError('bad-type', f'type 0x{buf[0]:02x}')
    _, _, fixed, has_data = info
    if len(buf) < 2:
        return None
    if buf[1]:
        raise ProtocolError('bad-padding', 'flags are not 0')
    if len(buf) < 4:
        return None
    length = buf[2] | buf[3] << 8
    if length < fixed or length > fixed + (MAX_DATA if has_data else 0):
        raise ProtocolError('bad-length', f'{type_name(buf[0])} of {length}')
    if len(buf) < HDR_SIZE + length:
        return None
    t = buf[0]
    p = bytes(buf[HDR_SIZE:HDR_SIZE + length])     # a copy: no aliasing
    m = Msg(t, id=struct.unpack_from('<I', buf, 4)[0],
            data=p[fixed:] if has_data else b'')
    if t in (HELLO, HELLO_REPLY):
        m.magic, m.version, m.min_version, m.window, m.caps = \
            struct.unpack_from('<IHHII', p)
        if t == HELLO_REPLY and m.min_version:
            raise ProtocolError('bad-padding', 'HELLO_REPLY min_version')
        if m.caps & ~CAP_ALL:
            raise ProtocolError('bad-field', f'caps 0x{m.caps:x}')
        # Magic and versions are for the handshake to judge.
    elif t in (READ, WRITE):
        m.addr, m.size = struct.unpack_from('<IB', p)
        if any(p[5:8]):
            raise ProtocolError('bad-padding', 'access padding')
        if not size_ok(m.size):
            raise ProtocolError('bad-size', f'size {m.size}')
        if t == WRITE:
            m.value = struct.unpack_from('<Q', p, 8)[0]
            if m.value >> (8 * m.size):
                raise ProtocolError('bad-field', 'value wider than size')
    elif t == READ_REPLY:
        m.status, m.value = struct.unpack_from('<IQ', p)
    elif t in (SAVE_REPLY, RESTORE_REPLY, DMA_REPLY, SHM_SETUP_REPLY):
        m.status = struct.unpack_from('<I', p)[0]
    elif t == SHM_SETUP:
        m.shm_slots, m.shm_size = struct.unpack_from('<II', p)
    elif t in (TIME, SYNC):
        m.vtime = struct.unpack_from('<Q', p)[0]
    elif t == EVENT:
        m.vtime, m.event = struct.unpack_from('<QH', p)
        if any(p[10:16]):
            raise ProtocolError('bad-padding', 'EVENT padding')
        if m.event >= MAX_EVENTS:
            raise ProtocolError('bad-field', f'event {m.event}')
    elif t == EVENT_AT:
        m.vtime, m.event, m.line, m.action = struct.unpack_from('<QHHB', p)
        if any(p[13:16]):
            raise ProtocolError('bad-padding', 'EVENT_AT padding')
        if not event_ok(m.event, m.action, m.line):
            raise ProtocolError('bad-field', f'event {m.event} action '
                                f'0x{m.action:x} line {m.line}')
    elif t == IRQ:
        m.line, m.level, pad = struct.unpack_from('<HBB', p)
        if pad:
            raise ProtocolError('bad-padding', 'IRQ padding')
        if m.level > 1:
            raise ProtocolError('bad-field', f'IRQ level {m.level}')
    elif t in (DMA_READ, DMA_WRITE):
        m.dma_addr, m.dma_len, pad = struct.unpack_from('<QII', p)
        if pad:
            raise ProtocolError('bad-padding', 'DMA padding')
        if not 1 <= m.dma_len <= MAX_DATA:
            raise ProtocolError('bad-field', f'DMA length {m.dma_len}')
        if t == DMA_WRITE and len(m.data) != m.dma_len:
            raise ProtocolError('bad-length', 'DMA_WRITE data length')
        if m.dma_addr + m.dma_len >= 1 << 64:   # wraps in 64 bits
            raise ProtocolError('bad-field', 'DMA range wraps')
    return m, HDR_SIZE + length


def encode(m):
    """v1: the bytes of m.  Raises ValueError for a message the decoder
    would refuse (the encoder never produces what the peer must reject)."""
    if m.type not in TYPES:
        raise ValueError(f'cannot encode type 0x{m.type:x}')
    _, _, fixed, has_data = TYPES[m.type]
    t = m.type
    data = bytes(m.data) if has_data else b''
    if len(data) > MAX_DATA:
        raise ValueError(f'{len(data)} data bytes: more than {MAX_DATA}')
    try:
        if t in (HELLO, HELLO_REPLY):
            p = struct.pack('<IHHII', m.magic, m.version,
                            m.min_version if t == HELLO else 0, m.window,
                            m.caps)
        elif t in (READ, WRITE):
            if not size_ok(m.size):
                raise ValueError(f'size {m.size}')
            p = struct.pack('<IB3x', m.addr, m.size)
            if t == WRITE:
                p += struct.pack('<Q', m.value & ((1 << 8 * m.size) - 1))
        elif t == READ_REPLY:
            p = struct.pack('<IQ', m.status, m.value)
        elif t in (SAVE_REPLY, RESTORE_REPLY, DMA_REPLY, SHM_SETUP_REPLY):
            p = struct.pack('<I', m.status)
        elif t == SHM_SETUP:
            p = struct.pack('<II', m.shm_slots, m.shm_size)
        elif t in (TIME, SYNC):
            p = struct.pack('<Q', m.vtime)
        elif t == EVENT:
            if m.event >= MAX_EVENTS:
                raise ValueError(f'event {m.event}')
            p = struct.pack('<QH6x', m.vtime, m.event)
        elif t == EVENT_AT:
            if not event_ok(m.event, m.action, m.line):
                raise ValueError(f'event {m.event} action {m.action}')
            p = struct.pack('<QHHB3x', m.vtime, m.event, m.line, m.action)
        elif t == IRQ:
            p = struct.pack('<HBx', m.line, 1 if m.level else 0)
        elif t in (DMA_READ, DMA_WRITE):
            if not 1 <= m.dma_len <= MAX_DATA or \
                    (t == DMA_WRITE and len(data) != m.dma_len):
                raise ValueError(f'DMA length {m.dma_len}')
            p = struct.pack('<QI4x', m.dma_addr, m.dma_len)
        else:
            p = b''
        return struct.pack('<BxHI', t, fixed + len(data), m.id) + p + data
    except struct.error as e:
        raise ValueError(f'{type_name(t)}: field out of range ({e})')


def basic_decode(buf):
    """Basic request (QEMU -> server): (Msg, bytes used), or None if
    incomplete; raises ProtocolError."""
    if len(buf) < 1:
        return None
    if buf[0] not in (BASIC_READ, BASIC_WRITE):
        raise ProtocolError('bad-type', f'basic request 0x{buf[0]:02x}')
    if len(buf) < 6:
        return None
    if not size_ok(buf[5]):
        raise ProtocolError('bad-size', f'size {buf[5]}')
    need = 6 + (buf[5] if buf[0] == BASIC_WRITE else 0)
    if len(buf) < need:
        return None
    m = Msg(buf[0], addr=struct.unpack_from('<I', buf, 1)[0], size=buf[5])
    if m.type == BASIC_WRITE:
        m.value = int.from_bytes(buf[6:need], 'little')
    return m, need


def basic_encode(m):
    if m.type not in (BASIC_READ, BASIC_WRITE) or not size_ok(m.size):
        raise ValueError('not a basic request')
    b = struct.pack('<BIB', m.type, m.addr, m.size)
    if m.type == BASIC_WRITE:
        b += (m.value & ((1 << 8 * m.size) - 1)).to_bytes(m.size, 'little')
    return b


class Device:
    """Device behaviour: subclass and override.  Accesses reach read/write
    already checked to lie in the window and be aligned."""
    window = 0x1000
    caps = CAP_STATE        # offered; the handshake keeps what QEMU offers

    def read(self, addr, size):
        """Value read, or None for an error (guest sees all-ones)."""
        return 0

    def write(self, addr, size, value):
        pass

    def reset(self):
        pass

    def save(self):
        """State bytes for migration (at most MAX_DATA), or None."""
        return b''

    def restore(self, data):
        """True if data is a state this device accepts."""
        return not data

    def connected(self, server, peer):
        pass

    def disconnected(self, server, why):
        pass


ACCESS_LETTERS = {'ro': 'R', 'rc': 'R', 'wo': 'W'}     # others: R/W


class RegisterDevice(Device):
    """A Device from a register table: a list of dicts with the keys of a
    .regs.toml [[register]] (protocol/README.md; its fields under
    'fields'), or from_toml().  Applies the same access rules as the C
    engine (regtable.c), per field where a register has fields.  Hooks are
    methods of the subclass: read(reg, value) -> value, pre_write(reg, new)
    -> new, post_write(reg, old, new); a hook given as true is named as the
    generator names it (NAME_REG_KIND, NAME the table's name, REG in lower
    case, e.g. sockdev_uart_txdata_post_write), a string names the method.
    A reset may name one of @constants.  State: each register 8 bytes LE, as the C
    library's, so state migrates between C and Python servers."""

    ACCESS = ('rw', 'ro', 'wo', 'w1c', 'w1s', 'rc')
    FIELD_ACCESS = ACCESS + ('pulse',)
    READABLE = {'ro', 'rw', 'w1c', 'w1s', 'rc'}
    WRITABLE = {'rw', 'wo', 'w1c', 'w1s', 'pulse'}
    MASKS = {'w1c_mask': 'w1c', 'w1s_mask': 'w1s', 'rc_mask': 'rc',
             'wo_mask': 'wo', 'pulse_mask': 'pulse'}

    def __init__(self, registers, window=0x1000, name=None,
                 constants=None):
        self.window = window
        self.regs = []
        for raw in sorted(registers, key=lambda r: r['offset']):
            r = {'size': 4, 'reset': 0, 'reserved': 0, 'partial': True,
                 'doc': '', 'fields': [], **raw}
            r['all'] = (1 << 8 * r['size']) - 1
            r['reset'] = self._value(r['reset'], constants, r['name'])
            if r['fields']:
                self._compile_fields(r, constants)
            else:
                r.setdefault('writable', r['all'] & ~r['reserved'])
                for m in self.MASKS:
                    r[m] = 0
            if not size_ok(r['size']) or r['offset'] % r['size'] or \
                    r.get('access') not in self.ACCESS:
                raise ValueError(f'register {r["name"]}: bad size, offset '
                                 'or access')
            if self.regs and r['offset'] < self.regs[-1]['offset'] + \
                    self.regs[-1]['size']:
                raise ValueError(f'register {r["name"]} overlaps')
            for kind in ('read', 'pre_write', 'post_write'):
                if r.get(kind) is True:
                    if not name:
                        raise ValueError(f'register {r["name"]}: {kind} = '
                                         'true needs the table\'s name')
                    r[kind] = f'{name}_{r["name"].lower()}_{kind}'
                # A renamed hook fails here, not on the guest's first write.
                if r.get(kind) and not callable(getattr(self, r[kind], 0)):
                    raise ValueError(f'register {r["name"]}: {kind} hook '
                                     f'{r[kind]} is not a method of '
                                     f'{type(self).__name__}')
            self.regs.append(r)
        self.by_name = {r['name']: r for r in self.regs}
        self.values = {}
        self.reset()

    @staticmethod
    def _value(v, constants, where):
        if isinstance(v, str):
            if v not in (constants or {}):
                raise ValueError(f'{where}: reset names unknown constant '
                                 f'{v!r}')
            return constants[v]
        return v

    def _compile_fields(self, r, constants):
        """As regtable-gen.py: bits in no field are reserved, each kind's
        bits go to its mask, the register's access becomes the gate."""
        masks = {k: 0 for k in self.FIELD_ACCESS}
        reset = 0
        for f in r['fields']:
            kind = f.get('access', r.get('access'))
            if kind not in self.FIELD_ACCESS:
                raise ValueError(f'register {r["name"]}: field {f["name"]}: '
                                 f'bad access {kind!r}')
            mask = ((1 << f.get('width', 1)) - 1) << f['bit']
            masks[kind] |= mask
            reset |= self._value(f.get('reset', 0), constants,
                                 r['name']) << f['bit']
        r['reserved'] = r['all'] & ~sum(masks.values())
        r['writable'] = sum(masks[k] for k in self.WRITABLE)
        for m, kind in self.MASKS.items():
            r[m] = masks[kind]
        r['reset'] = r['reset'] or reset
        kinds = {k for k, m in masks.items() if m}
        if len(kinds) == 1 and 'pulse' not in kinds:
            r['access'] = kinds.pop()
        elif not kinds & self.READABLE:
            r['access'] = 'wo'
        elif not kinds & self.WRITABLE:
            r['access'] = 'ro'
        else:
            r['access'] = 'rw'

    @classmethod
    def from_toml(cls, path, window=0x1000):
        import tomllib          # Python >= 3.11; only this method needs it
        with open(path, 'rb') as f:
            table = tomllib.load(f)
        regs = [dict(r, fields=r.get('field', [])) for r in table['register']]
        for r in regs:
            r.pop('field', None)
        dev = cls(regs, window, name=table.get('name'),
                  constants=table.get('constants', {}))
        dev.table = table
        return dev

    def field_mask(self, reg, field):
        f = next(f for f in self.by_name[reg]['fields'] if f['name'] == field)
        return ((1 << f.get('width', 1)) - 1) << f['bit']

    def get(self, name):
        return self.values[name]

    def set(self, name, value):
        r = self.by_name[name]
        self.values[name] = value & r['all'] & ~r['reserved']

    def _parts(self, addr, size):
        """The (register, bit shift, bytes) parts of an access, or None if
        it is refused.  As regtable.c: inside one register, or wider than
        the register at addr and then composed of the whole registers it
        covers, if they tile it with no hole and all accept accesses of
        another size (partial)."""
        if not size_ok(size) or addr % size:
            return None
        for i, r in enumerate(self.regs):
            if r['offset'] <= addr < r['offset'] + r['size']:
                break
        else:
            return None
        end = addr + size
        if end <= r['offset'] + r['size']:
            if size != r['size'] and not r['partial']:
                return None
            return [(r, 8 * (addr - r['offset']), size)]
        parts, pos = [], addr
        for r in self.regs[i:]:
            if pos == end:
                break
            if r['offset'] != pos or pos + r['size'] > end or \
                    not r['partial']:
                return None
            parts.append((r, 0, r['size']))
            pos += r['size']
        return parts if pos == end else None

    def _hook(self, r, kind):
        return getattr(self, r[kind]) if r.get(kind) else None

    def _read_reg(self, r, shift, size):
        if r['access'] == 'wo':
            return None
        lanes = ((1 << 8 * size) - 1) << shift
        v = self.values[r['name']] & ~(r['reserved'] | r['wo_mask'])
        # Only the bytes the guest saw are consumed, before the hook.
        if r['access'] == 'rc':
            self.values[r['name']] &= ~lanes
        else:
            self.values[r['name']] &= ~(r['rc_mask'] & lanes)
        if self._hook(r, 'read'):
            v = self._hook(r, 'read')(r, v)
        return (v & lanes) >> shift

    def _write_reg(self, r, shift, size, value):
        if r['access'] in ('ro', 'rc'):
            return
        lanes = ((1 << 8 * size) - 1) << shift
        w = (value & ((1 << 8 * size) - 1)) << shift
        wmask = r['writable'] & lanes
        old = self.values[r['name']]
        if r['access'] == 'w1c':
            new = old & ~(w & wmask)
        elif r['access'] == 'w1s':
            new = old | (w & wmask)
        else:
            plain = wmask & ~(r['w1c_mask'] | r['w1s_mask'])
            new = (old & ~plain) | (w & plain)
            new &= ~(w & wmask & r['w1c_mask'])
            new |= w & wmask & r['w1s_mask']
        if self._hook(r, 'pre_write'):
            new = self._hook(r, 'pre_write')(r, new) & r['all'] & \
                ~r['reserved']
        # Command (pulse) bits reach the hooks but are never stored.
        self.values[r['name']] = new & ~r['pulse_mask']
        if self._hook(r, 'post_write'):
            self._hook(r, 'post_write')(r, old, new)

    def read(self, addr, size):
        # A composed read with a write-only part is an error, like the C
        # server's (every register is still read, in offset order).
        parts = self._parts(addr, size)
        if parts is None:
            return None
        value, refused = 0, False
        for r, shift, n in parts:
            v = self._read_reg(r, shift, n)
            if v is None:
                refused = True
            else:
                value |= v << (8 * (r['offset'] - addr) + shift)
        return None if refused else value

    def write(self, addr, size, value):
        for r, shift, n in self._parts(addr, size) or []:
            self._write_reg(r, shift, n,
                            value >> (8 * (r['offset'] - addr) + shift))

    def reset(self):
        for r in self.regs:
            self.values[r['name']] = r['reset']

    def save(self):
        return b''.join(struct.pack('<Q', self.values[r['name']])
                        for r in self.regs)

    def restore(self, data):
        if len(data) != 8 * len(self.regs):
            return False
        for i, r in enumerate(self.regs):
            self.set(r['name'], struct.unpack_from('<Q', data, 8 * i)[0])
        return True


def _file_id(path):
    """(device, inode) of the socket at @path, or None."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISSOCK(st.st_mode) else None


def _remove_stale_socket(path):
    """Make room for binding a UNIX socket at @path, as the C library does:
    only a stale socket (nothing accepts on it) is removed; any other file,
    or a socket another server listens on, raises OSError and is kept."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise FileExistsError(f'{path} exists and is not a socket: '
                              'refusing to replace it')
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        os.unlink(path)
        return
    finally:
        probe.close()
    raise FileExistsError(f'{path}: another server is listening on it')


class Server:
    """Serves one Device to one QEMU at a time on "tcp:HOST:PORT" (PORT 0:
    any free port, see .port) or "unix:PATH".  log: where diagnostics go
    (None: nowhere)."""
    SEND_TIMEOUT = 5.0      # a client that stalls this long is dropped

    def __init__(self, device, address, log=sys.stderr):
        self.device, self.address, self.log = device, address, log
        self.unix_path = None
        self.port = None
        self.client = None
        self._reset_client_state()
        self._next_id = 0
        self._dma = None        # the DMA call waiting for its reply
        self._thread = None     # serve_in_thread()'s, until close()
        self._stop = threading.Event()
        if address.startswith('unix:') and len(address) > 5:
            path = address[5:]
            _remove_stale_socket(path)
            self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.lsock.bind(path)
            self.unix_path = path
            self._unix_id = _file_id(path)
        elif address.startswith('tcp:') and ':' in address[4:]:
            host, port = address[4:].rsplit(':', 1)
            info = socket.getaddrinfo(host.strip('[]'), int(port),
                                      type=socket.SOCK_STREAM)[0]
            self.lsock = socket.socket(info[0], socket.SOCK_STREAM)
            self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.lsock.bind(info[4])
            self.port = self.lsock.getsockname()[1]
        else:
            raise ValueError(f'{address}: expected tcp:HOST:PORT or '
                             'unix:PATH')
        self.lsock.listen(4)

    def _reset_client_state(self):
        self.proto = None       # 'basic' or 'v1' once the first byte came
        self.agreed = 0         # capabilities agreed with this client
        self.rx = bytearray()

    def _log(self, text):
        if self.log:
            print(f'sockdev-server: {text}', file=self.log, flush=True)

    def close(self):
        if self._thread:
            self._stop.set()
            self._thread.join()
            self._thread = None
        self.disconnect('server shut down')
        self.lsock.close()
        # Only the socket file this server made, not a later one there.
        if self.unix_path and _file_id(self.unix_path) == self._unix_id:
            os.unlink(self.unix_path)

    def disconnect(self, why='closed by server'):
        if self.client is None:
            return
        self.client.close()
        self.client = None
        self._reset_client_state()
        if self._dma:
            self._dma.done, self._dma.status = True, -1
        self.device.disconnected(self, why)

    def _accept(self):
        try:
            conn, peer = self.lsock.accept()
        except OSError:         # the client gave up before we got to it
            return
        if self.client is not None:
            # One guest device, one client: a second QEMU is a mistake.
            self._log('refusing a second client')
            conn.close()
            return
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer = f"('{peer[0]}', {peer[1]})"
        else:
            peer = f"'{self.unix_path}'"
        conn.settimeout(self.SEND_TIMEOUT)
        self.client = conn
        self._reset_client_state()
        self.device.connected(self, peer)

    def _send(self, data):
        if self.client is None:     # lost while a handler waited (DMA)
            return False
        try:
            self.client.sendall(data)
            return True
        except OSError as e:
            self.disconnect(f'send failed: {e}')
            return False

    def _readable(self):
        try:
            data = self.client.recv(65536)
        except OSError as e:
            self.disconnect(str(e))
            return
        if not data:
            self.disconnect('client closed the connection')
            return
        self.rx += data
        self._process()

    def _process(self):
        # Each message leaves the buffer before it is handled: a handler
        # waiting for a DMA reply re-enters here for the next ones.
        while self.client is not None and self.rx:
            if self.proto is None:
                b = self.rx[0]
                if b in (BASIC_READ, BASIC_WRITE):
                    self.proto = 'basic'
                elif b == HELLO:
                    self.proto = 'v1'
                else:
                    self.disconnect('unknown protocol')
                    return
            try:
                r = basic_decode(self.rx) if self.proto == 'basic' else \
                    decode(self.rx, FROM_CLIENT)
            except ProtocolError as e:
                self._log(f'bad message from client ({e}): closing the '
                          'connection')
                self.disconnect('protocol error')
                return
            if r is None:
                return
            m, used = r
            del self.rx[:used]
            if self.proto == 'basic':
                self._handle_basic(m)
            else:
                self._handle_v1(m)

    def _read(self, addr, size):
        if not access_ok(self.device.window, addr, size):
            self._log(f'read of {size} bytes at 0x{addr:x} outside the '
                      'window')
            return None
        v = self.device.read(addr, size)
        # The device is trusted no more than the wire: a value that does
        # not fit the access is an error, not a crash in encode().
        return v if v is None or 0 <= v < 1 << 8 * size else None

    def _write(self, addr, size, value):
        if not access_ok(self.device.window, addr, size):
            self._log(f'write of {size} bytes at 0x{addr:x} outside the '
                      'window dropped')
            return
        self.device.write(addr, size, value)

    def _handle_basic(self, m):
        if m.type == BASIC_READ:
            v = self._read(m.addr, m.size)
            # The basic protocol has no way to say "error".
            self._send((v or 0).to_bytes(m.size, 'little'))
        else:
            self._write(m.addr, m.size, m.value)

    def _reply(self, m):
        return self._send(encode(m))

    def _handle_v1(self, m):
        dev = self.device
        if m.type == HELLO:
            if m.magic != MAGIC or m.min_version > VERSION or \
                    m.version < VERSION:
                self._log(f'client speaks versions {m.min_version}..'
                          f'{m.version}, we speak {VERSION}')
                self.disconnect('version mismatch')
                return
            self.agreed = dev.caps & CAP_ALL & m.caps
            if m.window != dev.window:
                # QEMU decides whether a size mismatch is fatal.
                self._log(f'client window 0x{m.window:x}, ours '
                          f'0x{dev.window:x}')
            self._reply(Msg(HELLO_REPLY, m.id, magic=MAGIC, version=VERSION,
                            window=dev.window, caps=self.agreed))
        elif m.type == READ:
            v = self._read(m.addr, m.size)
            self._reply(Msg(READ_REPLY, m.id, status=ST_ERROR if v is None
                            else ST_OK, value=v or 0))
        elif m.type == WRITE:
            self._write(m.addr, m.size, m.value)
        elif m.type == RESET:
            dev.reset()
        elif m.type == PING:
            self._reply(Msg(PONG, m.id))
        elif m.type == SAVE:
            state = dev.save()
            ok = state is not None and len(state) <= MAX_DATA
            self._reply(Msg(SAVE_REPLY, m.id, status=ST_OK if ok else
                            ST_ERROR, data=state if ok else b''))
        elif m.type == RESTORE:
            self._reply(Msg(RESTORE_REPLY, m.id, status=ST_OK if
                            dev.restore(m.data) else ST_ERROR))
        elif m.type == DMA_REPLY:
            self._dma_reply(m)
        elif m.type == SHM_SETUP:
            # Never asked by a client that got version 1: refuse it.
            self._reply(Msg(SHM_SETUP_REPLY, m.id, status=ST_ERROR))

    def _dma_reply(self, m):
        d = self._dma
        if d is None or d.done or m.id != d.id:
            self.disconnect('unsolicited DMA reply')
            return
        if m.status == ST_OK and d.want is not None:
            if len(m.data) != d.want:
                self.disconnect('DMA reply of the wrong length')
                return
        elif m.data:
            self.disconnect('DMA reply with unexpected data')
            return
        d.done, d.status, d.data = True, m.status, m.data

    def set_irq(self, level, line=0):
        """v1 with CAP_IRQ agreed: raise or lower the line.  True if sent."""
        if self.client is None or not self.agreed & CAP_IRQ or \
                not 0 <= line <= 0xffff:
            return False
        return self._reply(Msg(IRQ, line=line, level=1 if level else 0))

    def _dma_call(self, m, want_len, timeout):
        if self.client is None or not self.agreed & CAP_DMA or self._dma \
                or not 1 <= m.dma_len <= MAX_DATA:
            return -1, None
        self._next_id = (self._next_id + 1) & 0xffffffff
        m.id = self._next_id
        if not self._reply(m):
            return -1, None
        self._dma = d = types.SimpleNamespace(id=m.id, done=False, status=-1,
                                              data=None, want=want_len)
        deadline = time.monotonic() + timeout
        try:
            # Keep serving QEMU meanwhile: it may be sending requests of
            # its own before it sees ours.
            while not d.done:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.disconnect('DMA reply timeout')
                    return -1, None
                if select.select([self.client], [], [], left)[0]:
                    self._readable()
        finally:
            self._dma = None
        return d.status, d.data

    def dma_read(self, addr, length, timeout=1.0):
        """v1 with CAP_DMA agreed: (status, data) of a read of guest
        memory; status is ST_* or -1 (no client, not agreed, timeout)."""
        return self._dma_call(Msg(DMA_READ, dma_addr=addr, dma_len=length),
                              length, timeout)

    def dma_write(self, addr, data, timeout=1.0):
        """v1 with CAP_DMA agreed: write data to guest memory; returns
        ST_* or -1."""
        return self._dma_call(Msg(DMA_WRITE, dma_addr=addr,
                                  dma_len=len(data), data=bytes(data)),
                              None, timeout)[0]

    def run_once(self, timeout=None):
        """Wait up to timeout seconds (None: forever) and handle what
        arrived.  Embed the server in your own loop with this."""
        socks = [self.lsock] + ([self.client] if self.client else [])
        for s in select.select(socks, [], [], timeout)[0]:
            if s is self.lsock:
                self._accept()
            elif s is self.client:
                self._readable()

    def serve_in_thread(self, tick=0.05):
        """Serve from a daemon thread until close(), for programs whose
        main thread has other work (it may call set_irq() and the DMA
        calls meanwhile)."""
        def loop():
            while not self._stop.is_set():
                self.run_once(tick)
        self._stop.clear()
        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def serve_forever(self, once=False):
        """Serve clients one after another; with once, return when the
        first client goes away."""
        seen = False
        while True:
            self.run_once(0.2)
            seen = seen or self.client is not None
            if once and seen and self.client is None:
                return
