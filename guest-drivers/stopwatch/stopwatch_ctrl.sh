#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# stopwatch_ctrl.sh COMMAND [ARG]: drive the stopwatch through its driver.
#   start | stop | reset    send the command
#   status                  running or stopped
#   elapsed                 elapsed ns, pass-through page (no trap)
#   elapsed_mmio            elapsed ns, trapped register read
#   seconds                 elapsed time as S.mmm
#   alarm [NS]              show, or set (0: off), the alarm
#   alarm_count             alarm interrupts handled so far
#   bench                   cost of both reads ("loops N shm_ns T mmio_ns T")
# The driver is loaded when needed.

param=/sys/module/stopwatch/parameters/stopwatch_status
dbg=/sys/kernel/debug/stopwatch

if [ ! -e "$dbg/stopwatch" ]; then
	grep -q '^stopwatch ' /proc/modules || modprobe stopwatch || exit 1
	[ -d /sys/kernel/debug/stopwatch ] ||
		mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
fi
[ -e "$dbg/stopwatch" ] ||
	{ echo "stopwatch_ctrl: no stopwatch device bound" >&2; exit 1; }

case ${1:-} in
start | stop | reset) echo "$1" >"$param" ;;
status) cat "$param" ;;
elapsed) cat "$dbg/stopwatch" ;;
elapsed_mmio) cat "$dbg/elapsed_mmio" ;;
seconds)
	ns=$(cat "$dbg/stopwatch")
	printf '%d.%03d\n' $((ns / 1000000000)) $((ns / 1000000 % 1000))
	;;
alarm)
	if [ $# -gt 1 ]; then
		echo "$2" >"$dbg/alarm"
	else
		cat "$dbg/alarm"
	fi
	;;
alarm_count) cat "$dbg/alarm_count" ;;
bench) cat "$dbg/bench" ;;
*)
	sed -n '3,12s/^# \{0,1\}//p' "$0" >&2
	exit 2
	;;
esac
