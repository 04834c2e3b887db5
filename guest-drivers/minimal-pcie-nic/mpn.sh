#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# mpn.sh [SLOT] COMMAND [ARG]: drive minimal-pcie-nic through its driver.
#   mode            interrupt mode and vector count ("msix 4")
#   trigger N       ring the doorbell for vector N, then show the counts
#   counts          per vector: "VECTOR LINUX_IRQ COUNT"
#   dma LEN         DMA round trip of a LEN-byte guest buffer, print result
# SLOT defaults to the first 1af4:10f1 device; the driver is loaded when
# needed.

slot=
case ${1:-} in
*:*) slot=$1; shift ;;
esac
if [ -z "$slot" ]; then
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor")" = 0x1af4 ] &&
			[ "$(cat "$d/device")" = 0x10f1 ]; then
			slot=$(basename "$d")
			break
		fi
	done
fi
[ -n "$slot" ] || { echo "mpn: no 1af4:10f1 device" >&2; exit 1; }
case $slot in *:*:*) ;; *) slot=0000:$slot ;; esac
sys=/sys/bus/pci/devices/$slot
if [ ! -e "$sys/trigger" ]; then
	grep -q '^minimal_pcie_nic_drv ' /proc/modules ||
		modprobe minimal_pcie_nic_drv || exit 1
fi
[ -e "$sys/trigger" ] || { echo "mpn: driver did not bind $slot" >&2; exit 1; }

case ${1:-} in
mode) cat "$sys/irq_mode" ;;
trigger)
	echo "${2:?vector}" >"$sys/trigger" || exit 1
	cat "$sys/irq_counts"
	;;
counts) cat "$sys/irq_counts" ;;
dma)
	echo "${2:?length}" >"$sys/dma_test"
	cat "$sys/dma_test"
	;;
*) echo "usage: mpn.sh [SLOT] mode|trigger N|counts|dma LEN" >&2; exit 2 ;;
esac
