#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Demo (qme.demo=1): the seed's MSI-X walk-through with minimal-pcie-nic.

slot=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x10f1 ] &&
		slot=$(basename "$d") && break
done
[ -n "$slot" ] || { echo "== no minimal-pcie-nic"; exit 0; }
echo "== modprobe minimal_pcie_nic_drv"
modprobe minimal_pcie_nic_drv || exit 1
dmesg | grep minimal_pcie_nic_drv
echo "== lspci -vvv -s ${slot#0000:}"
lspci -vvv -s "${slot#0000:}"
echo "== /proc/interrupts"
grep minimal_pcie_nic_drv /proc/interrupts
for v in 0 1; do
	echo "== trigger vector $v"
	sh /qme/bin/mpn.sh "$slot" trigger $v
	dmesg | tail -n 2
done
echo "== DMA round trip, 64 KiB"
sh /qme/bin/mpn.sh "$slot" dma 65536
