#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# mypci-value.sh [SLOT] [VALUE]: read (or write, then read) the mypci
# register through the driver's sysfs attribute. SLOT defaults to the first
# 1af4:1234 device; the driver is loaded when needed.

slot=
case ${1:-} in
*:*) slot=$1; shift ;;
esac
if [ -z "$slot" ]; then
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor")" = 0x1af4 ] &&
			[ "$(cat "$d/device")" = 0x1234 ]; then
			slot=$(basename "$d")
			break
		fi
	done
fi
[ -n "$slot" ] || { echo "mypci-value: no 1af4:1234 device" >&2; exit 1; }
case $slot in *:*:*) ;; *) slot=0000:$slot ;; esac
attr=/sys/bus/pci/devices/$slot/value
if [ ! -e "$attr" ]; then
	grep -q '^mypci ' /proc/modules || modprobe mypci || exit 1
fi
[ -e "$attr" ] || { echo "mypci-value: driver did not bind $slot" >&2; exit 1; }
if [ $# -gt 0 ]; then
	echo "$1" >"$attr" || exit 1
fi
cat "$attr"
