#!/usr/bin/env python3
# A failed mmio-sockdev realize leaves nothing behind (TAP).
#
# The stock QEMU refuses device_add for mmio-sockdev (not hotpluggable),
# and a failed -device ends QEMU, so leftovers of a failed realize could
# never be seen from outside.  This QEMU gets the test-only realize-probe
# (realize-probe.c): its QMP command x-qme-device-add creates, realizes
# and, on failure, destroys a device as -device would at start-up, and
# can make the bridge block's init fail.  Realize is made to fail at each
# step (bad properties, address taken, no server, a server that refuses
# the handshake or stays mute, the bridge block), and after each failure:
#   - info mtree lists no new region and /machine/peripheral no device,
#   - QEMU has as many fds open as before, and a server the failed device
#     had connected to sees its connection closed,
#   - no reconnect timer fires later: the servers see no new connection,
#   - QEMU is alive.
# At the end a device at the same address realizes and is served.
#
# Usage: test-sockdev-realize.py BUILDDIR PROBE.so  (env: qme_test_env)
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import sys
import threading
import time

from sockdev_testlib import (QTest, RawServer, fd_count, free_port, guard,
                             hello_reply, hello_window, kill, ok,
                             recv_msg, start_listening, tap_done, wait_for)

B, PROBE = sys.argv[1], sys.argv[2]
SERVER = os.path.join(B, 'devices', 'mmio-sockdev', 'tests',
                      'sockdev-test-server')
TMP = guard('sockdev-realize-', 100)

A = 0x0b000000                  # the address every attempt uses
BASE = 0x0a100000               # a device that is there from the start
ID = 0x31544453                 # sockdev-test-server's ID register
RECONNECT_MS = 50


class Witness(RawServer):
    """A v1 server that counts connections and notices when QEMU closes
    one.  how: 'ok' (handshake), 'refuse' (wrong window), 'mute' (no
    reply)."""

    def __init__(self, path, how):
        self.how = how
        self.connections = 0
        self.closed = 0
        self.lock = threading.Lock()
        super().__init__(path)

    def session(self, c):
        with self.lock:
            self.connections += 1
        m = recv_msg(c)
        if m and m[0] == 0x01 and self.how != 'mute':
            window = hello_window(m[2]) + (self.how == 'refuse')
            c.sendall(hello_reply(m[1], window, 0))
        while recv_msg(c):
            pass
        with self.lock:
            self.closed += 1


def probe_add(q, **props):
    args = {'driver': 'mmio-sockdev', 'id': 'x', 'addr': hex(A),
            'timeout-ms': '300', 'reconnect-ms': str(RECONNECT_MS), **props}
    r = q.qmp.cmd('x-qme-device-add', **args)
    return r.get('error', {}).get('desc')


def sockdev_regions(q):
    # Once per address space that shows system memory.
    return sorted({ln.strip() for ln in q.qmp.hmp('info mtree').splitlines()
                   if 'mmio-sockdev' in ln})


def peripherals(q):
    r = q.qmp.cmd('qom-list', path='/machine/peripheral')
    return sorted(c['name'] for c in r['return']
                  if c['type'].startswith('child<'))


base_sock = os.path.join(TMP, 'base.sock')
base_srv = start_listening([SERVER], '--unix', base_sock)
q = QTest(TMP, f'mmio-sockdev,id=base,addr={BASE:#x},socket=unix:{base_sock}',
          preload=[PROBE])
regions0 = sockdev_regions(q)
periph0 = peripherals(q)
fds0 = fd_count(q.p.pid)
ok(len(regions0) == 2 and periph0 == ['base'] and
   q.readl(BASE) == ID,
   'baseline: one mmio-sockdev (window and bridge) served', regions0)


def nothing_left(name, err, expect, witness=None):
    """The attempt failed with @expect in its error, and left nothing."""
    closed = True
    if witness:
        closed = wait_for(lambda: witness.closed == witness.connections, 2)
    fds = fd_count(q.p.pid)
    regions = sockdev_regions(q)
    periph = peripherals(q)
    ok(err is not None and expect in err and regions == regions0 and
       periph == periph0 and fds == fds0 and closed and q.alive(),
       f'{name}: fails, nothing left (mtree, qom, {fds} fds, '
       f'connection closed)',
       f'error: {err}\nfds {fds} (before {fds0})\n'
       f'regions {regions}\nperipherals {periph}')


# 1. Properties: refused before anything is set up.
for props, expect in [
        ({'protocol': 'v2'},
         "Parameter 'protocol' does not accept value 'v2'"),
        ({'on-absent': 'maybe'},
         "Parameter 'on-absent' does not accept value 'maybe'"),
        ({'socket': 'pipe:x'}, "mmio-sockdev: property 'socket' (pipe:x): "),
        ({'size': '0x123'},
         "mmio-sockdev: property 'size' (0x123) must be a power of two "
         "from 0x100 to 0x1000000"),
        ({'timeout-ms': '0'},
         "mmio-sockdev: property 'timeout-ms' is 0, must be 1 to 60000"),
        ({'reconnect-ms': '0'},
         "mmio-sockdev: property 'reconnect-ms' must not be 0"),
        ({'irq': '500'},
         "mmio-sockdev: property 'irq' is 500, the GIC has SPIs 0-255"),
        ({'addr': '0x0b000800'},
         "mmio-sockdev: property 'addr' (0xb000800) must be 4 KiB aligned"),
        ({'addr': '0xfffffffffffff000'},
         "mmio-sockdev: property 'addr' (0xfffffffffffff000+0x1100) runs "
         "past the end of the address space"),
        ({'socket': 'tcp:127.0.0.1'}, 'expected tcp:HOST:PORT')]:
    name = ','.join(f'{k}={v}' for k, v in props.items())
    nothing_left(name, probe_add(q, **{'socket': 'unix:/nonexistent',
                                       **props}), expect)

# 2. The address is taken: by the UART, by the device already there, by
# it with the bridge block only.
ROOM = ' (virt has room at 0x0a004000-0x0bffffff)'
for addr, size, taken in [
        (0x09000000, 0x1000, "'pl011' at 0x9000000-0x9000fff"),
        (BASE, 0x1000, f"'mmio-sockdev' at {BASE:#x}-{BASE + 0xfff:#x}"),
        (BASE - 0x1000, 0x1000,
         f"'mmio-sockdev' at {BASE:#x}-{BASE + 0xfff:#x}")]:
    nothing_left(f'addr={addr:#x},size={size:#x} (taken)',
                 probe_add(q, socket='unix:/nonexistent', addr=hex(addr),
                           size=hex(size)),
                 f"mmio-sockdev: property 'addr' ({addr:#x}+"
                 f"{size + 0x100:#x}) overlaps {taken}{ROOM}")

# 3. No server.
nothing_left('unix socket nobody listens on',
             probe_add(q, socket=f'unix:{TMP}/none.sock'), 'no device server')
nothing_left('tcp port nobody listens on',
             probe_add(q, socket=f'tcp:127.0.0.1:{free_port()}'),
             'no device server')
t0 = time.time()
err = probe_add(q, socket=f'unix:{TMP}/none.sock', **{'on-absent': 'wait',
                                                       'wait-ms': '300'})
nothing_left(f'on-absent=wait, nobody comes ({time.time() - t0:.1f} s)',
             err, 'no device server')

# 4. A server that refuses the handshake, one that stays mute (its
# timeout schedules a reconnection), one whose handshake carries a
# message behind it.
witnesses = []
for how, expect in [('refuse', 'handshake refused'),
                    ('mute', 'no handshake reply')]:
    path = os.path.join(TMP, f'{how}.sock')
    w = Witness(path, how)
    witnesses.append(w)
    nothing_left(f'server that answers the handshake "{how}"',
                 probe_add(q, socket=f'unix:{path}'), expect, w)

# 5. The bridge block's init, with the reconnect timer of on-absent=run
# to start and with a server listening (on the old order, realize failed
# there with both already running).
run_sock = os.path.join(TMP, 'run.sock')
nothing_left('bridge block init fails, on-absent=run',
             probe_add(q, socket=f'unix:{run_sock}',
                       **{'on-absent': 'run',
                          'x-fail-regs-init': 'mmio-sockdev-bridge'}),
             'failed by realize-probe')
# Someone listens there now: a leftover reconnect timer would connect.
witnesses.append(Witness(run_sock, 'ok'))
ok_sock = os.path.join(TMP, 'ok.sock')
witnesses.append(Witness(ok_sock, 'ok'))
nothing_left('bridge block init fails, server listening',
             probe_add(q, socket=f'unix:{ok_sock}',
                       **{'x-fail-regs-init': 'mmio-sockdev-bridge'}),
             'failed by realize-probe', witnesses[-1])

# 6. No timer of a failed device fires: no server gets a connection.
counts = [x.connections for x in witnesses]
time.sleep(10 * RECONNECT_MS / 1000)
after = [x.connections for x in witnesses]
ok(after == counts == [1, 1, 0, 0] and q.alive() and
   fd_count(q.p.pid) == fds0,
   f'{10 * RECONNECT_MS} ms later: no reconnection by a failed device, '
   'QEMU alive, no fd opened', (counts, after))

# 7. The address is free: a device realizes there and is served.
srv = start_listening([SERVER], '--unix', os.path.join(TMP, 'a.sock'))
err = probe_add(q, socket=f'unix:{TMP}/a.sock')
regions = sockdev_regions(q)
ok(err is None and len(regions) == 4 and peripherals(q) == ['base', 'x'] and
   q.readl(A) == ID and q.readl(A + 0x1000) == 0x4b434f53 and
   q.readl(BASE) == ID,
   'then a device at the same address realizes, is served, bridge there',
   (err, regions))
rc, out = q.quit()
ok(rc == 0, 'QEMU quits cleanly', out)
for x in witnesses:
    x.close()
kill(srv)
kill(base_srv)
sys.exit(tap_done())
