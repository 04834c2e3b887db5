#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Demo (qme.demo=1): load the mypci driver, show the device as lspci sees
# it, write and read the register through sysfs.

echo "== modprobe mypci"
modprobe mypci || exit 1
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1234 ] || continue
	slot=$(basename "$d")
	echo "== lspci -vvv -s ${slot#0000:}"
	lspci -vvv -s "${slot#0000:}"
	echo "== setpci -s ${slot#0000:} 00.w"
	setpci -s "${slot#0000:}" 00.w
	echo "== value (initial): $(cat "$d/value")"
	echo 0xcafe0001 >"$d/value"
	echo "== value after writing 0xcafe0001: $(cat "$d/value")"
done
