#!/usr/bin/env python3
# The timer model in guest time (TAP), on the stock QEMU under the qtest
# accelerator, whose virtual clock moves only by clock_step: so every
# time below is exact, not within a tolerance.  Three homes of one model
# (sockdev-timer.regs.toml, timer-model.c):
#   inproc  -device sockdev-timer (QEMU_CLOCK_VIRTUAL and a QEMU timer)
#   socket  -device mmio-sockdev + sockdev-timer-server, protocol v2 over
#           the UNIX socket (TIME before requests, EVENT_AT / EVENT)
#   shm     the same over shared memory (shm=on)
# Each: COUNT is the clock of the read; a one-shot alarm raises the GIC
# input at exactly ALARM and not a nanosecond before, with no guest
# access in between; STATUS/FIRES/CTRL follow, the acknowledgement lowers
# the line; a periodic alarm fires at every period in guest time (the
# server re-arms from its callback while time stands still); a system
# reset drops a pending alarm; migration carries one.  For the server
# homes also: the server's log of the clock it saw, and lockstep
# (quantum-ns): syncs in steps of exactly one quantum from the start, no
# request or event a quantum ahead of the last sync, never backwards.
#
# Usage: test-sockdev-timer.py BUILDDIR   (env from meson's qme_test_env)
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..',
                                'mmio-sockdev', 'tests'))
from sockdev_testlib import (QTest as _QTest, guard, kill, ok,  # noqa: E402
                             start_listening, tap_done, wait_for)
import timer_log  # noqa: E402

B = sys.argv[1]
SERVER = os.path.join(B, 'devices', 'sockdev-timer', 'sockdev-timer-server')
TMP = guard('sockdev-timer-', 150)

T = 0x0b000000
R_ID, R_CTRL, R_STATUS, R_FIRES = 0x00, 0x04, 0x08, 0x0c
R_COUNT, R_ALARM, R_PERIOD = 0x10, 0x18, 0x20
ID = 0x54494d52
ENABLE, IRQ_EN, FIRED = 1, 2, 1
SPI = 177


class QTest(_QTest):
    def __init__(self, dev, extra=()):
        super().__init__(TMP, dev, extra)
        self.intercept_gic()

    def step(self, ns):
        return int(self.cmd(f'clock_step {ns}')[1])

    def now(self):
        # QEMU 10's qtest refuses "clock_step 0"; the module's QMP
        # command reads the same clock without moving it.
        return self.qmp.cmd('itc-sim-time', clock='virtual')['return'][
            'time_ns']

    def raises(self):
        return self.irqs.count(('raise', SPI))


class Home:
    def __init__(self, name):
        self.name = name
        self.sock = os.path.join(TMP, f'{name}.sock')
        self.log = os.path.join(TMP, f'{name}.times')
        self.srv = None

    def start(self, extra='', qemu_args=()):
        """A fresh server (if any) and QEMU with the timer."""
        if self.name != 'inproc':
            self.stop_server()
            self.srv = start_listening([SERVER], '--unix', self.sock,
                                       '--time-log', self.log)
        return QTest(self.dev(extra), qemu_args)

    def dev(self, extra=''):
        if self.name == 'inproc':
            return 'sockdev-timer' + extra
        return (f'mmio-sockdev,socket=unix:{self.sock},timeout-ms=2000'
                + (',shm=on' if self.name == 'shm' else '') + extra)

    def stop_server(self):
        if self.srv:
            kill(self.srv)
            self.srv = None

    def times(self, kind=None):
        """The server's log: [(kind, vtime)]."""
        return [r for r in timer_log.read(self.log)
                if kind is None or r[0] == kind]


def basics(h):
    q = h.start()
    w = h.name
    ok(q.readl(T + R_ID) == ID, f'{w}: ID', hex(q.readl(T + R_ID)))

    t1 = q.step(1000000)
    c1 = q.readq(T + R_COUNT)
    t2 = q.step(2500)
    c2 = q.readq(T + R_COUNT)
    ok((c1, c2) == (t1, t2), f'{w}: COUNT is the guest clock of the read',
       (c1, t1, c2, t2))

    # One-shot alarm, line enabled; no access until it is due.  (The
    # read after the posted writes is what a driver does to know they
    # landed: the server's EVENT_AT reaches QEMU before the reply.)
    alarm = t2 + 10000
    q.writeq(T + R_ALARM, alarm)
    q.writel(T + R_CTRL, ENABLE | IRQ_EN)
    q.readl(T + R_CTRL)
    before = q.step(9999)
    early = q.raises()
    at = q.step(1)
    ok(early == 0 and q.raises() == 1 and at == alarm,
       f'{w}: the alarm raises the line at exactly ALARM, not 1 ns before',
       (early, q.irqs, at, alarm, before))
    ok(q.readl(T + R_STATUS) == FIRED and q.readl(T + R_FIRES) == 1 and
       q.readl(T + R_CTRL) == IRQ_EN,
       f'{w}: STATUS.FIRED, FIRES 1, a one-shot alarm clears CTRL.ENABLE',
       (q.readl(T + R_STATUS), q.readl(T + R_FIRES), q.readl(T + R_CTRL)))
    if h.srv:
        ok(('event', alarm) in h.times(),
           f'{w}: the server was called back at the alarm\'s guest time',
           h.times('event'))
    q.writel(T + R_STATUS, FIRED)
    ok(q.readl(T + R_STATUS) == 0 and q.irqs[-1] == ('lower', SPI),
       f'{w}: writing 1 to STATUS.FIRED clears it and lowers the line',
       q.irqs)

    # Periodic, line disabled: three periods, no access in between.
    base = q.now()
    q.writeq(T + R_PERIOD, 5000)
    q.writeq(T + R_ALARM, base + 5000)
    q.writel(T + R_CTRL, ENABLE)
    q.readl(T + R_CTRL)
    q.step(15000)
    fires, nxt = q.readl(T + R_FIRES), q.readq(T + R_ALARM)
    ok(fires == 4 and nxt == base + 20000 and q.raises() == 1,
       f'{w}: a periodic alarm fires at every period (no line without '
       'IRQ_EN)', (fires, nxt - base, q.irqs))
    if h.srv:
        ev = [v - base for k, v in h.times('event')][-3:]
        ok(ev == [5000, 10000, 15000],
           f'{w}: the server saw each period at its exact guest time', ev)
    q.writel(T + R_CTRL, 0)

    # A system reset drops a pending alarm.
    q.writeq(T + R_PERIOD, 0)
    q.writeq(T + R_ALARM, q.now() + 1000)
    q.writel(T + R_CTRL, ENABLE | IRQ_EN)
    q.readl(T + R_CTRL)
    q.qmp.cmd('system_reset')
    wait_for(lambda: q.readl(T + R_CTRL) == 0)
    n = q.raises()
    q.step(5000)
    ok(q.raises() == n and q.readl(T + R_FIRES) == 0 and
       q.readl(T + R_CTRL) == 0,
       f'{w}: after a reset no alarm is pending, FIRES and CTRL are 0',
       (q.irqs, q.readl(T + R_FIRES)))

    # Migration carries a pending alarm (and the server's registers).
    mig = os.path.join(TMP, f'{w}.mig')
    alarm = q.now() + 50000
    q.writeq(T + R_ALARM, alarm)
    q.writel(T + R_CTRL, ENABLE | IRQ_EN)
    q.readl(T + R_CTRL)
    q.step(20000)
    q.qmp.cmd('migrate', uri=f'exec:cat > {mig}')
    st = wait_for(lambda: q.qmp.cmd('query-migrate')['return'].get('status')
                  in ('completed', 'failed'), 10)
    ok(st and q.qmp.cmd('query-migrate')['return']['status'] == 'completed',
       f'{w}: migrate with an alarm pending')
    q.quit()
    d = h.start(qemu_args=('-incoming', 'defer'))
    d.qmp.cmd('migrate-incoming', uri=f'exec:cat {mig}')
    wait_for(lambda: d.qmp.cmd('query-status')['return']['status'] ==
             'running', 10)
    start = d.now()
    d.step(alarm - start - 1)
    early = d.raises()
    at = d.step(1)
    ok(early == 0 and d.raises() == 1 and at == alarm and
       d.readl(T + R_FIRES) == 1,
       f'{w}: on the destination the alarm fires at exactly its time',
       (start, early, at, alarm, d.irqs))
    d.quit()


def lockstep(h):
    w = h.name
    q_ns = 100000
    q = h.start(f',quantum-ns={q_ns}')
    t0 = q.now()
    q.step(350000)
    c = q.readq(T + R_COUNT)
    q.writeq(T + R_ALARM, c + 120000)
    q.writel(T + R_CTRL, ENABLE | IRQ_EN)
    q.readl(T + R_CTRL)
    q.step(1000000)
    q.readq(T + R_COUNT)
    log = h.times()
    syncs, steps, back, ahead = timer_log.lockstep(log, q_ns)
    ok(syncs[0] == t0 and steps == {q_ns} and syncs[-1] == t0 + 1300000,
       f'{w}: lockstep syncs the server from the start in steps of exactly '
       'one quantum', (syncs[:5], steps, syncs[-1]))
    ok(not back and not ahead and ('read', 350000 + t0) in log and
       ('event', c + 120000) in log,
       f'{w}: the server never saw time go back or a request or event a '
       'quantum past its last sync', (back[:3], ahead[:3]))
    q.quit()


for name in ('inproc', 'socket', 'shm'):
    home = Home(name)
    basics(home)
    if name != 'inproc':
        lockstep(home)
    home.stop_server()
tap_done()
