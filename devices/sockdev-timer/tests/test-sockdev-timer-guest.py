#!/usr/bin/env python3
# The timer model against the guest's generic timer, in real time (TAP):
# bare-metal firmware (timer-fw.c) on TCG reads cntvct_el0 around the
# model's COUNT and polls the GIC for the model's alarm, in each home of
# the model (in QEMU; behind mmio-sockdev over the socket and over shared
# memory), without and with -icount shift=auto.
#   - COUNT lies between the two cntvct reads around it: exact, the same
#     clock (converted at cntfrq's period);
#   - the alarm never reaches the GIC before its time; with -icount at
#     most LATE_ICOUNT_MS after it (the vCPU thread fires it at the
#     instruction; the firmware polls every 20 us); without, a QEMU timer
#     fires from the main loop, a host scheduling delay away: median at
#     most MEDIAN_MS, each at most LATE_MS (typically 0.1-0.3 ms; the
#     bounds allow for a loaded host, the in-QEMU twin meets the same).
# Lockstep in real time (quantum-ns=1 ms, a server 4 times slower than
# real time, with and without -icount): the guest's clock advances at
# most at the server's pace; a stopped VM stops the server's time (no
# sync, no request while stopped, no jump when it runs again); the server
# never sees time go back or a request a quantum past its last sync.
#
# Usage: test-sockdev-timer-guest.py BUILDDIR FIRMWARE FIRMWARE-RUN
#   (FIRMWARE-RUN: the same, reading COUNT forever after "done")
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import queue
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..',
                                'mmio-sockdev', 'tests'))
from sockdev_testlib import (ENV, PROCS, QEMU, Qmp, die_with_parent,  # noqa
                             guard, kill, ok, start_listening, tap_done)
import timer_log  # noqa: E402

B, FW, FW_RUN = sys.argv[1:4]
SERVER = os.path.join(B, 'devices', 'sockdev-timer', 'sockdev-timer-server')
TMP = guard('sockdev-timer-guest-', 220)
LATE_MS = 50.0
MEDIAN_MS = 5.0
LATE_ICOUNT_MS = 0.05
QUANTUM = 1000000
SLOWDOWN = 4


class Run:
    """QEMU running the firmware against one home of the model."""

    def __init__(self, home, icount, extra=''):
        self.home = home
        self.sock = os.path.join(TMP, f'{home}.sock')
        self.log = os.path.join(TMP, f'{home}.times')
        self.srv = None
        args = ['--unix', self.sock, '--time-log', self.log]
        if extra:
            args += ['--slowdown', str(SLOWDOWN)]
        if home == 'inproc':
            dev = 'sockdev-timer'
        else:
            self.srv = start_listening([SERVER], *args)
            dev = (f'mmio-sockdev,socket=unix:{self.sock},timeout-ms=5000' +
                   (',shm=on' if home == 'shm' else '') + extra)
        qmp = os.path.join(TMP, f'{home}.qmp')
        self.p = subprocess.Popen(
            [QEMU, '-M', 'virt,gic-version=2', '-cpu', 'max', '-m', '64',
             '-display', 'none', '-nodefaults', '-nic', 'none',
             '-serial', 'stdio', '-qmp', f'unix:{qmp},server=on,wait=off',
             *(['-icount', 'shift=auto'] if icount else []),
             '-kernel', FW_RUN if extra else FW, '-device', dev],
            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, preexec_fn=die_with_parent)
        PROCS.append(self.p)
        self.lines = queue.Queue()
        threading.Thread(target=self._reader, daemon=True).start()
        self.qmp = Qmp(qmp)

    def _reader(self):
        for line in self.p.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def until_done(self, timeout=60):
        out = []
        end = time.time() + timeout
        while time.time() < end:
            try:
                line = self.lines.get(timeout=end - time.time())
            except queue.Empty:
                break
            if line is None or line == 'done':
                return out, line == 'done'
            out.append(line)
        return out, False

    def stop(self):
        kill(self.p)
        if self.srv:
            kill(self.srv)


def accuracy(home, icount):
    w = f'{home}{" -icount shift=auto" if icount else ""}'
    r = Run(home, icount)
    out, done = r.until_done()
    r.stop()
    hz = [int(ln[3:]) for ln in out if ln.startswith('hz=')]
    counts = [tuple(map(int, ln.split()[1:])) for ln in out
              if ln.startswith('count ')]
    alarms = [tuple(map(int, ln.split()[1:])) for ln in out
              if ln.startswith('alarm ')]
    if not (done and hz and counts and alarms):
        ok(False, f'{w}: the firmware ran to its end', '\n'.join(out))
        return
    period = max(1, 10**9 // hz[0])
    bad = [(c1, n, c2) for c1, n, c2 in counts
           if not c1 <= n // period <= c2]
    ok(not bad, f'{w}: COUNT lies between the generic timer reads around '
       f'it, {len(counts)} times (period {period} ns)', bad[:3])
    early = [(a, at) for a, low, at in alarms if at < a // period]
    late = [max(0, at * period - a) / 1e6 for a, low, at in alarms]
    bound = LATE_ICOUNT_MS if icount else LATE_MS
    median = sorted(late)[len(late) // 2]
    ok(not early and len(alarms) == 5 and max(late) <= bound and
       median <= min(bound, MEDIAN_MS),
       f'{w}: the alarm reaches the GIC at its time, never before, at most '
       f'{max(late):.3f} ms after (median {median:.3f} ms; tolerance '
       f'{bound} ms, median {min(bound, MEDIAN_MS)} ms)', (early, late))


def lockstep(home, icount):
    w = f'{home} lockstep{" -icount shift=auto" if icount else ""}'
    r = Run(home, icount, f',quantum-ns={QUANTUM}')
    out, done = r.until_done()
    ok(done, f'{w}: the firmware ran (alarms exact with a slow server)',
       '\n'.join(out))

    def last_time():
        t = timer_log.read(r.log)
        return len(t), max(v for k, v in t)

    t0, (_, v0) = time.time(), last_time()
    time.sleep(1.0)
    t1, (_, v1) = time.time(), last_time()
    pace = (v1 - v0) / 1e9 / (t1 - t0)
    ok(0 < pace <= 1.0 / SLOWDOWN * 1.15,
       f'{w}: the guest clock went at {pace:.3f} of real time; the server '
       f'takes {SLOWDOWN} times real time (bound {1 / SLOWDOWN:.3f})',
       (v0, v1, t1 - t0))

    r.qmp.cmd('stop')
    time.sleep(0.2)
    n_stop, v_stop = last_time()
    time.sleep(0.6)
    n_after, v_after = last_time()
    ok((n_after, v_after) == (n_stop, v_stop),
       f'{w}: a stopped VM stops the server\'s time (nothing in 0.6 s)',
       (n_stop, n_after, v_stop, v_after))
    r.qmp.cmd('cont')
    time.sleep(0.3)
    log = timer_log.read(r.log)
    resumed = log[n_stop][1] if len(log) > n_stop else None
    ok(resumed is not None and resumed - v_stop <= QUANTUM,
       f'{w}: after cont the server\'s time goes on from where it stopped',
       (v_stop, resumed))
    r.stop()

    _, steps, back, ahead = timer_log.lockstep(log, QUANTUM)
    ok(not back and not ahead and steps == {QUANTUM},
       f'{w}: {len(log)} times seen by the server: never back, syncs in '
       'steps of exactly one quantum, nothing a quantum past the last sync',
       (back[:3], ahead[:3], sorted(steps)[:5]))


for home in ('inproc', 'socket', 'shm'):
    for icount in (False, True):
        accuracy(home, icount)
lockstep('socket', False)
lockstep('shm', True)
tap_done()
