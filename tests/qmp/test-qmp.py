#!/usr/bin/env python3
#
# The QMP commands every module gets from libqme-qemu, on the stock binary
# (protocol/qemu/qmp*.c): itc-sim-time for each clock, and the register
# commands on each of our table-driven devices (the generated register map,
# what the guest reads, writes in both modes) and on qmp-testdev, which has
# every access kind.
#
# Usage: test-qmp.py SOCKDEV_TESTS_DIR SOURCE_ROOT THIS_BUILD_DIR QME_REGS
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import importlib.util
import os
import subprocess
import sys
import time

LIB, SRC, HERE, QME_REGS = sys.argv[1:5]
# qmp-testdev.so is found like any user module: by QME_MODULE_PATH.
os.environ['QME_MODULE_PATH'] = ':'.join(
    [os.environ.get('QME_MODULE_PATH', ''), HERE])
sys.path.insert(0, LIB)
from sockdev_testlib import (QTest, guard, ok, start_listening,  # noqa: E402
                             tap_done, wait_for)

_spec = importlib.util.spec_from_file_location(
    'regtable_gen', os.path.join(SRC, 'protocol', 'regtable-gen.py'))
regtable_gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regtable_gen)

BUILD = os.environ['QME_BUILD_ROOT']
TMP = guard('qmp-commands-', 170)
ECAM = 0x4010000000
BAR_BASE = 0x10000000
SLOT = 4
PATTERN = 0x5a5a5a5a5a5a5a5a


def toml(*parts):
    return regtable_gen.parse(os.path.join(SRC, *parts))


def size_mask(size):
    return (1 << (size * 8)) - 1


def pci_bar0(q):
    """Give BAR0 of the device in slot SLOT an address; return it."""
    cfg = ECAM + (SLOT << 15)
    q.writel(cfg + 0x10, BAR_BASE)
    if (q.readl(cfg + 0x10) & 0x6) == 0x4:          # 64-bit BAR
        q.writel(cfg + 0x14, 0)
    q.write(cfg + 0x04, 2, q.read(cfg + 0x04, 2) | 0x2)   # memory space
    return BAR_BASE


def qmp(q, name, **args):
    return q.qmp.cmd(name, **args)


def error(r):
    return r.get('error', {}).get('desc', '')


# itc-sim-time

def test_sim_time():
    q = QTest(TMP)
    names = [c['name'] for c in qmp(q, 'query-commands')['return']]
    for cmd in ('itc-sim-time', 'qme-reg-list', 'qme-reg-read',
                'qme-reg-write'):
        ok(cmd in names, f'query-commands lists {cmd}')
    schema = qmp(q, 'query-qmp-schema')['return']
    ok(not [e for e in schema if e.get('name') == 'itc-sim-time'],
       'query-qmp-schema does not describe a module\'s command')

    def now(clock):
        return qmp(q, 'itc-sim-time', clock=clock)['return']['time_ns']

    t0 = now('virtual')
    stepped = int(q.cmd('clock_step 1000000')[1])
    t1 = now('virtual')
    ok(t1 - t0 == 1000000 and t1 == stepped,
       'virtual: clock_step 1000000 advances it by exactly 1000000 ns',
       f'{t0} -> {t1}, qtest says {stepped}')
    ok(now('virtual') == t1, 'virtual: stands still without clock_step')
    r = [now('realtime')]
    time.sleep(0.05)
    r += [now('realtime'), now('realtime')]
    ok(r[0] + 40_000_000 <= r[1] <= r[2],
       'realtime: monotonic, follows the host\'s time', r)
    h = now('host')
    ok(abs(h - time.time_ns()) < 5_000_000_000,
       'host: the host\'s wall-clock time', f'{h} vs {time.time_ns()}')
    v = [now('virtual-rt'), now('virtual-rt')]
    ok(0 <= v[0] <= v[1], 'virtual-rt: monotonic', v)

    allowed = 'expected one of realtime, virtual, host, virtual-rt'
    for args, what in (({}, 'is missing'),
                       ({'clock': 'cpu'}, 'has an unknown value'),
                       ({'clock': 1}, 'must be a string')):
        e = error(qmp(q, 'itc-sim-time', **args))
        ok(f"Parameter 'clock' {what}: {allowed}" == e,
           f'itc-sim-time {args}: names the argument and the values', e)
    e = error(qmp(q, 'itc-sim-time', clock='host', unit='s'))
    ok(e == "Parameter 'unit' is unexpected", 'an unknown argument', e)
    ok(q.quit()[0] == 0, 'QEMU exits cleanly')


# The register commands on one device

def check_list(q, dev, block, path):
    r = qmp(q, 'qme-reg-list', path='dut')
    got = r.get('return', {})
    ok(got.get('path') == '/machine/peripheral/dut' and
       got.get('type') == dev, f'{dev}: qme-reg-list names the device',
       r)
    blocks = got.get('blocks', [])
    regs = blocks[0]['registers'] if len(blocks) == 1 else []
    want = [(x.name, x.offset, x.size, x.access, x.reset,
             [(f.name, f.bit, f.width, f.access) for f in x.fields])
            for x in block.regs]
    have = [(x['name'], x['offset'], x['size'], x['access'], x['reset'],
             [(f['name'], f['bit'], f['width'], f['access'])
              for f in x['fields']]) for x in regs]
    ok(have == want, f'{dev}: qme-reg-list agrees with {path}',
       f'have {have}\nwant {want}')
    return regs


def check_reads(q, dev, block, base):
    bad = []
    for x in block.regs:
        if x.access == 'wo':
            continue
        seen = qmp(q, 'qme-reg-read', path='dut', register=x.name)
        guest = q.read(base + x.offset, x.size)
        value = seen.get('return', {}).get('value')
        fields = {f['name']: f['value']
                  for f in seen.get('return', {}).get('fields', [])}
        decoded = {f.name: (guest >> f.bit) & ((1 << f.width) - 1)
                   for f in x.fields}
        if value != guest or fields != decoded:
            bad.append(f'{x.name}: QMP {value} {fields}, guest {guest:#x}')
    ok(not bad, f'{dev}: qme-reg-read agrees with the guest\'s reads of '
       'every readable register', '\n'.join(bad))


def field_mask(x):
    if not x.fields:
        return size_mask(x.size) & ~x.reserved
    return sum(f.mask for f in x.fields)


def check_writes(q, dev, block, base):
    rw = [x for x in block.regs if x.access == 'rw' and
          all(f.access == 'rw' for f in x.fields)]
    rw.sort(key=lambda x: bool(x.hooks))
    if rw:
        x = rw[0]
        v = PATTERN & field_mask(x)
        r = qmp(q, 'qme-reg-write', path='dut', register=x.name, value=v)
        guest = q.read(base + x.offset, x.size)
        ok(r.get('return', {}).get('value') == v and guest == v,
           f'{dev}: qme-reg-write {x.name} (guest mode): the guest reads '
           f'{v:#x}', f'{r}, guest {guest:#x}')
    ro = [x for x in block.regs if x.access == 'ro' and 'read' not in x.hooks]
    if ro:
        x = ro[0]
        v = ~x.reset & field_mask(x)
        e = error(qmp(q, 'qme-reg-write', path='dut', register=x.name,
                      value=v))
        ok(e.startswith(f'Register {x.name} is read-only') and
           q.read(base + x.offset, x.size) == x.reset,
           f'{dev}: guest mode refuses to write read-only {x.name}', e)
        r = qmp(q, 'qme-reg-write', path='dut', register=x.name, value=v,
                mode='raw')
        guest = q.read(base + x.offset, x.size)
        ok(guest == v and r.get('return', {}).get('stored') == v,
           f'{dev}: raw mode stores {v:#x} in read-only {x.name}',
           f'{r}, guest {guest:#x}')
        # (A reset also unassigns PCI BARs: ask QMP.)
        qmp(q, 'system_reset')
        ok(wait_for(lambda: qmp(q, 'qme-reg-read', path='dut',
                                register=x.name)['return']['stored'] ==
                    x.reset),
           f'{dev}: a reset loads {x.name}\'s reset value again')


DEVICES = (
    # type, -device options, table, where the guest finds the block
    ('mypci_minimal', f'addr={SLOT}.0',
     ('devices', 'mypci_minimal', 'mypci_minimal.regs.toml'), pci_bar0),
    ('mypci_configurable', f'addr={SLOT}.0,reg=0x42',
     ('devices', 'mypci_configurable', 'mypci_configurable.regs.toml'),
     pci_bar0),
    ('minimal-pcie-nic', f'addr={SLOT}.0',
     ('devices', 'minimal-pcie-nic', 'minimal-pcie-nic.regs.toml'), pci_bar0),
    ('stopwatch', '',
     ('devices', 'stopwatch', 'stopwatch.regs.toml'), lambda q: 0x0a004000),
    ('sockdev-uart', '',
     ('devices', 'sockdev-uart', 'sockdev-uart.regs.toml'),
     lambda q: 0x0b000000),
    # The bridge block after the window (the window is the server's).
    ('mmio-sockdev', 'socket=unix:{sock},timeout-ms=400',
     ('devices', 'mmio-sockdev', 'mmio-sockdev.regs.toml'),
     lambda q: 0x0b001000),
    ('qmp-testdev', '', ('tests', 'qmp', 'qmp-testdev.regs.toml'),
     lambda q: 0x0a008000),
)


def test_device(dev, opts, table, where):
    sock = os.path.join(TMP, 'sockdev.sock')
    server = None
    if '{sock}' in opts:
        server = start_listening(
            [os.path.join(BUILD, 'devices', 'mmio-sockdev', 'tests',
                          'sockdev-test-server')], '--unix', sock)
        opts = opts.format(sock=sock)
    q = QTest(TMP, ','.join(filter(None, [dev, 'id=dut', opts])))
    base = where(q)
    block = toml(*table)
    check_list(q, dev, block, '/'.join(table))
    check_reads(q, dev, block, base)
    check_writes(q, dev, block, base)
    if server:
        status = qmp(q, 'qme-reg-read', path='dut', register='STATUS')
        fields = {f['name']: f['value'] for f in status['return']['fields']}
        ok(fields.get('CONNECTED') == 1 and fields.get('V1') == 1,
           'mmio-sockdev: the bridge block\'s STATUS decodes CONNECTED and V1',
           status)
    ok(q.guest_errors() == [], f'{dev}: no guest error logged by the '
       'commands', q.guest_errors())
    ok(q.quit()[0] == 0, f'{dev}: QEMU exits cleanly')
    if server:
        server.kill()
        server.wait()
        os.unlink(sock)


# Every access kind (qmp-testdev) and every refusal

def test_access_kinds():
    base = 0x0a008000
    q = QTest(TMP, 'qmp-testdev,id=dut', extra=['-device', 'edu,id=plain'])

    def read(reg, **kw):
        return qmp(q, 'qme-reg-read', path='dut', register=reg,
                   **kw).get('return', {})

    def write(reg, value, **kw):
        return qmp(q, 'qme-reg-write', path='dut', register=reg,
                   value=value, **kw)

    def fields(reply):
        return {f['name']: f['value'] for f in reply.get('fields', [])}

    write('CMD', 1)                                 # GO: the hook runs
    ok(read('COUNT')['value'] == 1 and read('LATCH')['value'] == 1,
       'guest mode runs the hooks: CMD.GO counted and latched')
    st = fields(read('STATUS'))
    ok(st.get('EVENT') == 1 and st.get('ERR') == 1 and st.get('READY') == 1,
       'STATUS decoded by fields after CMD.GO', st)
    ok(fields(read('STATUS')).get('EVENT') == 1 and
       read('LATCH')['value'] == 1,
       'read-to-clear bits and registers survive qme-reg-read')
    guest = q.readl(base + 0x08)
    ok(guest & 0x100 and not fields(read('STATUS')).get('EVENT'),
       'a guest read of STATUS clears EVENT, as qme-reg-read then shows',
       f'{guest:#x}')
    ok(q.readl(base + 0x14) == 1 and read('LATCH')['value'] == 0,
       'a guest read of LATCH (rc) returns 1 and clears it')
    write('STATUS', 0x10000)
    ok(not fields(read('STATUS')).get('ERR'),
       'guest mode: writing 1 to a w1c field clears it')
    write('CMD', 0x10000)
    write('CMD', 0x0)
    ok(fields(read('CMD')).get('FLAGS') == 1,
       'guest mode: a w1s field keeps a bit once set')
    r = write('CMD', 0xa500)
    ok(fields(r.get('return', {})).get('KEY') == 0 and
       (r['return']['stored'] >> 8) & 0xff == 0xa5,
       'a write-only field reads 0 and is kept in "stored"', r)
    count = read('COUNT')['value']
    write('CMD', 1, mode='raw')
    ok(read('COUNT')['value'] == count, 'raw mode runs no hook')
    write('SCRATCH', 0xdeadbeef, mode='raw')
    ok(q.readl(base + 0x04) == 0xdeadbeef, 'raw mode: the guest reads it')
    ok(read(0x10)['name'] == 'COUNT', 'a register named by its offset')

    before = read('STATUS')['stored']
    refusals = (
        (write('STATUS', 0x2), 'Value 0x2 sets reserved bits 0x2 of '
         'register STATUS'),
        (write('SCRATCH', 0x1_0000_0000), 'Value 0x100000000 does not fit '
         'register SCRATCH (4 bytes)'),
        (write('SCRATCH', -1), "Parameter 'value' expects an unsigned "
         'integer'),
        (write('SCRATCH', 1, mode='fast'), "Parameter 'mode' expects guest "
         'or raw'),
        (qmp(q, 'qme-reg-write', path='dut', register='SCRATCH'),
         "Parameter 'value' is missing"),
        (qmp(q, 'qme-reg-read', path='dut', register='NOPE'),
         "Device '/machine/peripheral/dut' has no register 'NOPE'"),
        (qmp(q, 'qme-reg-read', path='dut', register=0x11),
         "Device '/machine/peripheral/dut' has no register at offset 0x11"),
        (qmp(q, 'qme-reg-read', path='dut', register='ID', block='x'),
         "Device '/machine/peripheral/dut' has no register block 'x'"),
        (qmp(q, 'qme-reg-read', path='dut'), "Parameter 'register' is "
         'missing'),
        (qmp(q, 'qme-reg-read', path='nowhere', register='ID'),
         "Device 'nowhere' not found"),
        (qmp(q, 'qme-reg-list', path='plain'),
         "Device '/machine/peripheral/plain' (edu) has no register table"),
        (qmp(q, 'qme-reg-list', path='/machine'),
         "'/machine' is a " + qmp(q, 'qom-get', path='/machine',
                                  property='type')['return'] +
         ', not a device'),
        (qmp(q, 'qme-reg-list'), "Parameter 'path' expects a QOM path or "
         'device id'),
        (qmp(q, 'qme-reg-list', path='dut', verbose=True),
         "Parameter 'verbose' is unexpected"),
    )
    for r, want in refusals:
        ok(error(r) == want, f'refused: {want}', r)
    ok(read('STATUS')['stored'] == before and
       read('SCRATCH')['value'] == 0xdeadbeef,
       'refused writes change nothing')
    ok(q.quit()[0] == 0, 'QEMU exits cleanly')


# The command-line tool, on a second QMP monitor

def test_cli():
    sock = os.path.join(TMP, 'cli.qmp')
    q = QTest(TMP, 'qmp-testdev,id=dut',
              extra=['-device', 'stopwatch', '-device', 'edu',
                     '-qmp', f'unix:{sock},server=on,wait=off'])

    def run(*args):
        p = subprocess.run([sys.executable, QME_REGS, *args],
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr

    rc, out, _ = run(sock)
    ok(rc == 0 and out.splitlines() == [
        '/machine/peripheral/dut  qmp-testdev  1 block(s), 6 registers',
        '/machine/peripheral-anon/device[0]  stopwatch  1 block(s), '
        '9 registers'], 'qme-regs SOCKET lists the devices with tables', out)
    q.writel(0x0a008000 + 0x0c, 1)                  # the guest: CMD.GO
    rc, out, _ = run(sock, 'dut')
    ok(rc == 0 and '  0x0008 STATUS         rw  0x00010101 reset '
       '0x00000001\n         READY+ EVENT+ ERR+\n' in out and
       'LO[15:0]=0x1234 HI[31:16]=0x0' in out,
       'qme-regs SOCKET DEVICE decodes the fields', out)
    rc, out, _ = run(sock, 'dut', 'SCRATCH=0xcafe0001')
    ok(rc == 0 and q.readl(0x0a008004) == 0xcafe0001 and
       'LO[15:0]=0x1 HI[31:16]=0xcafe' in out,
       'qme-regs SOCKET DEVICE REG=VALUE sets it as the guest would', out)
    rc, _, err = run(sock, 'dut', 'ID=7')
    ok(rc == 1 and err == 'qme-regs: Register ID is read-only for the '
       "guest (mode 'raw' stores a value)\n",
       'qme-regs: a refusal is one line and exit status 1', err)
    rc, out, _ = run(sock, 'dut', '0x0=7', '--raw')
    ok(rc == 0 and q.readl(0x0a008000) == 7, 'qme-regs --raw, by offset',
       out)
    rc, _, err = run(os.path.join(TMP, 'none.qmp'))
    ok(rc == 1 and err.startswith('qme-regs: cannot connect to QMP at'),
       'qme-regs: no QMP socket', err)
    ok(q.quit()[0] == 0, 'QEMU exits cleanly')


def main():
    test_sim_time()
    test_cli()
    for dev in DEVICES:
        test_device(*dev)
    test_access_kinds()
    return tap_done()


sys.exit(main())
