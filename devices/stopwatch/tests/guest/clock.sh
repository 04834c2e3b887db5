#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The stopwatch against the guest's own clock: the elapsed time read from
# the pass-through page is monotonic, and agrees with /proc/uptime (10 ms
# resolution) within TOL_MS, which also covers the page's 1 ms update
# period and the shell's latency between the reads (builtins only there:
# no fork between reading the guest clock and the stopwatch).
. /qme/lib/tap.sh
sw=/qme/bin/stopwatch_ctrl.sh
TOL_MS=50
param=/sys/module/stopwatch/parameters/stopwatch_status
page=/sys/kernel/debug/stopwatch/stopwatch

check "driver bound" $sw status || done_testing
$sw reset

# The start lies between up0 and up0b, the last read between up1 and up1b.
up0=$(uptime_ms)
echo start >"$param"
up0b=$(uptime_ms)
prev=0
bad=0
i=0
while [ $i -lt 1000 ]; do
	read -r e <"$page"
	[ "$e" -ge "$prev" ] || { bad=$((bad + 1)); diag "went back: $prev -> $e"; }
	prev=$e
	i=$((i + 1))
done
check "1000 reads of the page never go backwards" test $bad -eq 0
check "the page advanced while running ($prev ns)" test "$prev" -gt 0

sleep 2
up1=$(uptime_ms)
read -r e <"$page"
up1b=$(uptime_ms)
e_ms=$((e / 1000000))
lo=$((up1 - up0b - TOL_MS))
hi=$((up1b - up0 + TOL_MS))
diag "stopwatch ${e_ms} ms, guest uptime delta $((up1 - up0b))-$((up1b - up0)) ms, tolerance ${TOL_MS} ms"
check "agrees with the guest clock within ${TOL_MS} ms ($lo <= $e_ms <= $hi)" \
	test $e_ms -ge $lo -a $e_ms -le $hi

m_ms=$(($($sw elapsed_mmio) / 1000000))
check "trapped read is not behind the page (${m_ms} >= ${e_ms} ms)" \
	test $m_ms -ge $e_ms

$sw stop
s=$($sw elapsed)
sleep 1
is "stopped: the page does not move" "$s" "$($sw elapsed)"
is "stopped: page and register agree" "$s" "$($sw elapsed_mmio)"
done_testing
