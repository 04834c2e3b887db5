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

# A /proc/uptime value (seconds with 2 decimals) in ms.
uptime_ms() {
	echo $((${1%.*} * 1000 + 1${1#*.} * 10 - 1000))
}

check "driver bound" $sw status || done_testing
$sw reset

read -r up0 _ </proc/uptime
echo start >"$param"
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
read -r e <"$page"
read -r up1 _ </proc/uptime
e_ms=$((e / 1000000))
g_ms=$(($(uptime_ms "$up1") - $(uptime_ms "$up0")))
diag "stopwatch ${e_ms} ms, guest uptime delta ${g_ms} ms, tolerance ${TOL_MS} ms"
d=$((g_ms - e_ms))
[ $d -lt 0 ] && d=$((-d))
check "agrees with the guest clock within ${TOL_MS} ms (off by $d ms)" \
	test $d -le $TOL_MS

m_ms=$(($($sw elapsed_mmio) / 1000000))
check "trapped read is not behind the page (${m_ms} >= ${e_ms} ms)" \
	test $m_ms -ge $e_ms

$sw stop
s=$($sw elapsed)
sleep 1
is "stopped: the page does not move" "$s" "$($sw elapsed)"
is "stopped: page and register agree" "$s" "$($sw elapsed_mmio)"
done_testing
