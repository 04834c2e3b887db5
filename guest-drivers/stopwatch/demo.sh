#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Demo (qme.demo=1): the stopwatch at work through its driver: start it,
# read the elapsed time both ways (pass-through page, trapped register),
# stop and reset it, and take one alarm interrupt.

sw=/qme/bin/stopwatch_ctrl.sh
echo "== modprobe stopwatch"
$sw status >/dev/null || exit 1
grep -H . /proc/device-tree/stopwatch@*/compatible 2>/dev/null
echo "== start, sleep 1"
$sw reset
$sw start
sleep 1
echo "== status: $($sw status), elapsed: $($sw seconds) s"
echo "== elapsed (page, no trap): $($sw elapsed) ns"
echo "== elapsed (trapped MMIO):  $($sw elapsed_mmio) ns"
$sw stop
stopped=$($sw elapsed)
sleep 0.3
echo "== stopped: $stopped ns, 0.3 s later still $($sw elapsed) ns"
$sw reset
echo "== reset: $($sw elapsed) ns"
echo "== alarm in 200 ms"
n0=$($sw alarm_count)
$sw alarm 200000000
$sw start
sleep 0.5
echo "== alarm interrupts: $n0 -> $($sw alarm_count); $(grep stopwatch /proc/interrupts)"
$sw alarm 0
$sw stop
$sw reset
