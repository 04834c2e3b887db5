#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# stopwatch_test.sh: exercise every function of the stopwatch driver and
# device (TAP output; exit status 0 when everything passed). Run at boot
# by stopwatch=test or stopwatch=test_and_quit on the kernel command line.
. /qme/lib/tap.sh
sw=/qme/bin/stopwatch_ctrl.sh

check "driver loads and binds the device" $sw status || done_testing
like "bound through the device tree" 'qme,stopwatch' \
	"$(cat /sys/bus/platform/drivers/stopwatch/*/of_node/compatible 2>&1)"
is "stopped after boot" stopped "$($sw status)"
is "elapsed 0 before the first start" 0 "$($sw elapsed)"

$sw start
is "status after start" running "$($sw status)"
sleep 1
e1=$($sw elapsed)
check "about 1 s counted after sleep 1 (got $e1 ns)" \
	test "$e1" -ge 900000000 -a "$e1" -lt 3000000000
$sw stop
is "status after stop" stopped "$($sw status)"
s1=$($sw elapsed)
sleep 1
is "frozen while stopped" "$s1" "$($sw elapsed)"
is "trapped register agrees when stopped" "$s1" "$($sw elapsed_mmio)"
diag "stopwatch shows $($sw seconds) s"

$sw start
sleep 1
e2=$($sw elapsed)
check "restart continues from the stopped value" \
	test "$e2" -gt $((s1 + 500000000))
t0=$(uptime_ms)
$sw reset
e3=$($sw elapsed)
t1=$(uptime_ms)
check "reset while running restarts from 0 (got $e3 ns in $((t1 - t0)) ms)" \
	test $((e3 / 1000000)) -le $((t1 - t0 + 10))
is "still running after reset" running "$($sw status)"
$sw stop
$sw reset
is "reset while stopped gives 0" 0 "$($sw elapsed)"

check "bad command refused" sh -c \
	"! echo bogus >/sys/module/stopwatch/parameters/stopwatch_status"

# Armed before the start: on a slow guest the start could otherwise
# already be 200 ms behind when the alarm is written.
n0=$($sw alarm_count)
$sw alarm 200000000
$sw start
sleep 1
is "alarm interrupt after 200 ms" $((n0 + 1)) "$($sw alarm_count)"
$sw alarm 0
$sw stop
$sw reset
done_testing
