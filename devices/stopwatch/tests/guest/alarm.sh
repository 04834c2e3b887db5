#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The alarm interrupt reaches the guest: counted by the driver and in
# /proc/interrupts, once per alarm, and not while the stopwatch is stopped.
. /qme/lib/tap.sh
sw=/qme/bin/stopwatch_ctrl.sh

# Sum of the per-CPU counts on the /proc/interrupts line of our handler.
irq_count() {
	awk '/ stopwatch$/ { n = 0; for (i = 2; i <= NF; i++)
		if ($i ~ /^[0-9]+$/) n += $i; else break; print n; f = 1 }
		END { if (!f) print "none" }' /proc/interrupts
}

check "driver bound" $sw status || done_testing
c0=$(irq_count)
like "handler listed in /proc/interrupts" '^[0-9][0-9]*$' "$c0"
diag "$(grep stopwatch /proc/interrupts)"

$sw reset
$sw alarm 300000000
$sw start
sleep 0.1
is "no interrupt before the alarm" "$c0" "$(irq_count)"
sleep 0.5
is "one interrupt in /proc/interrupts after the alarm" $((c0 + 1)) \
	"$(irq_count)"
is "driver counted it" 1 "$($sw alarm_count)"
sleep 0.3
is "only once per alarm" $((c0 + 1)) "$(irq_count)"

$sw stop
$sw reset
$sw alarm 200000000
sleep 0.5
is "no alarm while stopped" $((c0 + 1)) "$(irq_count)"
$sw start
sleep 0.5
is "alarm after restart" $((c0 + 2)) "$(irq_count)"
$sw alarm 0
$sw stop
done_testing
