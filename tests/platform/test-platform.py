#!/usr/bin/env python3
# The platform devices attach to -M virt through one helper
# (include/qme/platform.h): every refusal, the same for each device that
# uses it, and the device-tree node it writes (TAP).
#
# For stopwatch, sockdev-uart and mmio-sockdev:
#   - each bad -device (no device tree, a misaligned or wrapping address,
#     an address taken by virt or by the same device, an SPI the GIC does
#     not have) ends QEMU with status 1 and exactly one error, whose text
#     is the helper's message;
#   - device_add and device_del in a running QEMU are refused with one
#     error, and the set of devices and the memory map stay as they were;
#   - the default SPIs are not the ones virt's GICv2m frame gives PCI
#     MSIs;
#   - the node in the guest's device tree has the compatible string, reg
#     (every region), reg-names, interrupts (SPI, level high) and the
#     root's interrupt-parent.
#
# Usage: test-platform.py SOCKDEV_TESTS_DIR  (env: qme_test_env)
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import struct
import subprocess
import sys

# The QEMU, QMP and TAP helpers of mmio-sockdev's tests.
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..'))
from sanitizer_note import without_sanitizer_note  # noqa: E402
from sockdev_testlib import (ENV, PROCS, QEMU, Qmp, guard, ok,  # noqa: E402
                             tap_done)

PROG = os.path.basename(QEMU)
BASE_ARGS = ['-display', 'none', '-nodefaults', '-nic', 'none', '-S']
ROOM = ' (virt has room at 0x0a004000-0x0bffffff)'
TMP = guard('qme-platform-', 100)

# name, -device options besides addr (mmio-sockdev starts without a
# server), default address, bytes 'addr' places, SPI property, compatible
DEVICES = [
    ('stopwatch', '', 0x0a004000, 0x1000, 'spi', 'qme,stopwatch'),
    ('sockdev-uart', '', 0x0b000000, 0x1000, None,
     'qemu-modules-extra,sockdev-uart'),
    ('mmio-sockdev', f'socket=unix:{TMP}/none.sock,on-absent=run',
     0x0b000000, 0x1100, 'irq', 'qemu-modules-extra,mmio-sockdev'),
]

def device(name, extra, props=''):
    return ','.join(x for x in (name, extra, props) if x)


def error_lines(out):
    # Warnings are not errors (mmio-sockdev without its server warns).
    return [ln for ln in without_sanitizer_note(out).splitlines()
            if ln and ': warning: ' not in ln]


def refused(args, option, msg, label):
    """QEMU ends with status 1 and one error: PROGRAM: OPTION: MSG."""
    r = subprocess.run([QEMU, *BASE_ARGS, *args], env=ENV, text=True,
                       capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    lines = error_lines(r.stdout + r.stderr)
    ok(r.returncode == 1 and lines == [f'{PROG}: -device {option}: {msg}'],
       f'{label}: status 1, one error: {msg}',
       f'status {r.returncode}\n{r.stdout}{r.stderr}')


for name, extra, addr, span, spi_prop, _ in DEVICES:
    def dev(props=''):
        return device(name, extra, props)

    refused(['-M', 'none', '-device', dev()], dev(),
            f"{name}: machine 'none-machine' has no device tree to "
            'describe the device in (use -M virt)', f'{name}: -M none')
    bad = addr + 0x800
    refused(['-M', 'virt', '-device', dev(f'addr={bad:#x}')],
            dev(f'addr={bad:#x}'),
            f"{name}: property 'addr' ({bad:#x}) must be 4 KiB aligned",
            f'{name}: misaligned addr')
    top = 0xfffffffffffff000
    refused(['-M', 'virt', '-device', dev(f'addr={top:#x}')],
            dev(f'addr={top:#x}'),
            f"{name}: property 'addr' ({top:#x}+{span:#x}) runs past the "
            'end of the address space', f'{name}: addr wraps')
    refused(['-M', 'virt', '-device', dev('addr=0x09000000')],
            dev('addr=0x09000000'),
            f"{name}: property 'addr' (0x9000000+{span:#x}) overlaps "
            f"'pl011' at 0x9000000-0x9000fff{ROOM}",
            f'{name}: addr on the PL011')
    refused(['-M', 'virt', '-device', dev(), '-device', dev()], dev(),
            f"{name}: property 'addr' ({addr:#x}+{span:#x}) overlaps "
            f"'{name}' at {addr:#x}-{addr + 0xfff:#x}{ROOM}",
            f'{name}: twice at the same address')
    if spi_prop:
        for gic in ('2', '3'):
            refused(['-M', f'virt,gic-version={gic}', '-device',
                     dev(f'{spi_prop}=256')], dev(f'{spi_prop}=256'),
                    f"{name}: property '{spi_prop}' is 256, the GIC has "
                    'SPIs 0-255', f'{name}: {spi_prop}=256, GICv{gic}')


# Hot-plug: one QEMU with each device, then device_add / device_del.
PLACED = {'stopwatch': 0x0a004000, 'sockdev-uart': 0x0a010000,
          'mmio-sockdev': 0x0a020000}
running = []
for name, extra, _, _, _, _ in DEVICES:
    running += ['-device', device(name, extra,
                                  f'id={name},addr={PLACED[name]:#x}')]
qmp_path = os.path.join(TMP, 'qmp.sock')
q = subprocess.Popen([QEMU, '-M', 'virt', *BASE_ARGS, *running,
                      '-qmp', f'unix:{qmp_path},server=on,wait=off'],
                     env=ENV, text=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
PROCS.append(q)
qmp = Qmp(qmp_path)


def state():
    periph = qmp.cmd('qom-list', path='/machine/peripheral')['return']
    return (sorted(p['name'] for p in periph
                   if p['type'].startswith('child<')),
            qmp.hmp('info mtree'))


before = state()
ok(before[0] == sorted(PLACED), 'three devices at start-up', before[0])

# virt's default GICv2 has a GICv2m frame: PCI MSIs arrive on its SPIs,
# which its MSI_TYPER names (first interrupt ID in bits 25:16, count in
# 9:0). A device's default SPI must not be one of them.
typer = qmp.xp_words(0x08020008, 1)[0]
v2m = range((typer >> 16 & 0x3ff) - 32, (typer >> 16 & 0x3ff) - 32 +
            (typer & 0x3ff))
for name, prop in (('stopwatch', 'spi'), ('mmio-sockdev', 'irq')):
    spi = qmp.cmd('qom-get', path=f'/machine/peripheral/{name}',
                  property=prop).get('return')
    ok(len(v2m) == 64 and spi is not None and spi not in v2m,
       f'{name}: default {prop} {spi} is not one of the GICv2m frame\'s '
       f'MSI SPIs ({v2m.start}-{v2m.stop - 1})', f'MSI_TYPER {typer:#x}')
for name, extra, _, _, _, _ in DEVICES:
    r = qmp.cmd('device_add', driver=name, id=f'{name}-2', addr='0x0a030000')
    err = r.get('error', {}).get('desc')
    # QEMU 7.2's words, then 10.0's.
    ok(err in ("Parameter 'driver' expects a pluggable device type",
               f"Device '{name}' does not support hotplugging") and
       state() == before,
       f'{name}: device_add refused, no device or region added', r)
    r = qmp.cmd('device_del', id=name)
    err = r.get('error', {}).get('desc')
    ok(err == f"Device '{name}' does not support hotplugging" and
       state() == before, f'{name}: device_del refused, the device stays', r)
qmp.cmd('quit')
out = q.communicate(timeout=30)[0]
ok(q.returncode == 0, 'QEMU quits cleanly after the refusals', out)


# The device-tree node

def fdt_nodes(blob):
    """{path: {property: bytes}} of a flattened device tree."""
    magic, _, off_struct, off_strings = struct.unpack_from('>IIII', blob)
    assert magic == 0xd00dfeed
    nodes, path, pos = {}, [], off_struct
    while True:
        tok, = struct.unpack_from('>I', blob, pos)
        pos += 4
        if tok == 1:                                # FDT_BEGIN_NODE
            end = blob.index(b'\0', pos)
            path.append(blob[pos:end].decode())
            pos = (end + 4) & ~3
            nodes['/' + '/'.join(path[1:])] = {}
        elif tok == 2:                              # FDT_END_NODE
            path.pop()
        elif tok == 3:                              # FDT_PROP
            length, nameoff = struct.unpack_from('>II', blob, pos)
            name_end = blob.index(b'\0', off_strings + nameoff)
            prop = blob[off_strings + nameoff:name_end].decode()
            nodes['/' + '/'.join(path[1:])][prop] = \
                blob[pos + 8:pos + 8 + length]
            pos = (pos + 8 + length + 3) & ~3
        elif tok == 9:                              # FDT_END
            return nodes


def cells(v):
    return list(struct.unpack(f'>{len(v) // 4}I', v))


def reg(*pairs):
    return [c for a, s in pairs for c in (a >> 32, a & 0xffffffff,
                                          s >> 32, s & 0xffffffff)]


for gic in ('2', '3'):
    dtb = os.path.join(TMP, f'virt-gicv{gic}.dtb')
    r = subprocess.run([QEMU, '-M', f'virt,gic-version={gic},dumpdtb={dtb}',
                        *BASE_ARGS, *running,
                        '-device', device('mmio-sockdev', DEVICES[2][1],
                                          'addr=0x0a040000,size=0x2000,'
                                          'irq=50')],
                       env=ENV, text=True, capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    nodes = fdt_nodes(open(dtb, 'rb').read()) if r.returncode == 0 else {}
    root_gic = cells(nodes.get('/', {}).get('interrupt-parent', b''))
    want = {
        'stopwatch@a004000': {
            'compatible': b'qme,stopwatch\0',
            'reg': reg((0x0a004000, 0x1000), (0x0a005000, 0x1000)),
            'reg-names': b'regs\0shm\0',
            'interrupts': [0, 176, 4]},
        'sockdev-uart@a010000': {
            'compatible': b'qemu-modules-extra,sockdev-uart\0',
            'reg': reg((0x0a010000, 0x1000))},
        'mmio-sockdev@a020000': {
            'compatible': b'qemu-modules-extra,mmio-sockdev\0',
            'reg': reg((0x0a020000, 0x1000), (0x0a021000, 0x100)),
            'interrupts': [0, 177, 4]},
        'mmio-sockdev@a040000': {
            'compatible': b'qemu-modules-extra,mmio-sockdev\0',
            'reg': reg((0x0a040000, 0x2000), (0x0a042000, 0x100)),
            'interrupts': [0, 50, 4]},
    }
    for node, props in want.items():
        got = nodes.get('/' + node, {})
        expect = dict(props)
        if 'interrupts' in props:
            expect['interrupt-parent'] = root_gic
        have = {k: cells(v) if isinstance(expect.get(k), list) else v
                for k, v in got.items() if k != 'phandle'}
        ok(root_gic and have == expect,
           f'GICv{gic}: node /{node}: {", ".join(sorted(expect))}',
           f'status {r.returncode} {r.stderr}\nwant {expect}\nhave {have}')

sys.exit(tap_done())
