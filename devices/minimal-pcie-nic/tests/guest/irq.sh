#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# minimal-pcie-nic in the guest, one interrupt mode per boot, chosen by
# qme.mpn=msix|msi|intx on the kernel command line (msix: the default
# stage; msi: -device minimal-pcie-nic,stage=msi; intx: the driver is
# loaded with irq_mode=intx). Checks lspci -vvv against the seed, the
# driver's vectors in /proc/interrupts, that triggering vector N counts on
# vector N only, and a DMA round trip of a guest buffer.
. /qme/lib/tap.sh

mode=msix
for arg in $(cat /proc/cmdline); do
	case $arg in qme.mpn=*) mode=${arg#qme.mpn=} ;; esac
done
case $mode in
msix | msi) nvec=4 ;;
intx) nvec=1 ;;
*) skip_all "unknown qme.mpn=$mode" ;;
esac

slot=$(pci_slot_of 1af4 10f1)
check "device 1af4:10f1 enumerated" test -n "$slot" || done_testing
short=${slot#0000:}
sys=/sys/bus/pci/devices/$slot

check "modprobe minimal_pcie_nic_drv irq_mode=$mode" \
	modprobe minimal_pcie_nic_drv irq_mode="$mode" || done_testing
is "driver reports its interrupt mode" "$mode $nvec" "$(cat "$sys/irq_mode")"
like "probe logged BARs and vector count" \
	"minimal_pcie_nic_drv: BAR0=.* BAR1=.* IRQ Vector Number=$nvec" "$(dmesg)"

out=$(lspci -vvv -s "$short" 2>&1)
like "lspci: Ethernet controller 10f1 rev 01" \
	'Ethernet controller: .*10f1 (rev 01)' "$out"
like "lspci: BAR0 32-bit non-prefetchable 4K" \
	'Region 0: Memory at .* (32-bit, non-prefetchable) \[size=4K\]' "$out"
like "lspci: BAR1 32-bit non-prefetchable 4K" \
	'Region 1: Memory at .* (32-bit, non-prefetchable) \[size=4K\]' "$out"
like "lspci: BusMaster+" 'Control: .*BusMaster+' "$out"
like "lspci: kernel driver in use" \
	'Kernel driver in use: minimal_pcie_nic_drv' "$out"
case $mode in
msix)
	like "lspci: MSI-X: Enable+ Count=4" \
		'Capabilities: \[b0\] MSI-X: Enable+ Count=4 Masked-' "$out"
	like "lspci: Vector table: BAR=1 offset=00000000" \
		'Vector table: BAR=1 offset=00000000' "$out"
	like "lspci: PBA: BAR=1 offset=00000800" \
		'PBA: BAR=1 offset=00000800' "$out"
	like "lspci: DisINTx+" 'Control: .*DisINTx+' "$out"
	;;
msi)
	like "lspci: MSI: Enable+ Count=4/4 Maskable+ 64bit-" \
		'Capabilities: \[40\] MSI: Enable+ Count=4/4 Maskable+ 64bit-' "$out"
	like "lspci: DisINTx+" 'Control: .*DisINTx+' "$out"
	;;
intx)
	like "lspci: MSI-X disabled" 'MSI-X: Enable- Count=4' "$out"
	like "lspci: INTx pin A" 'Interrupt: pin A routed to IRQ' "$out"
	;;
esac

# counts: one line per driver IRQ, "IRQ TOTAL" summed over CPUs, in vector
# order (the driver requests vectors 0..n-1 in order: ascending IRQs).
counts() {
	awk '/minimal_pcie_nic_drv/ {
		t = 0
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) t += $i
		sub(":", "", $1); print $1, t
	}' /proc/interrupts
}
is "/proc/interrupts has $nvec vectors of the driver" "$nvec" "$(counts | wc -l)"
diag "$(grep minimal_pcie_nic_drv /proc/interrupts)"

v=0
while [ $v -lt $nvec ]; do
	before=$(counts)
	echo $v >"$sys/trigger"
	sleep 0.1
	after=$(counts)
	# expected: vector v's line +1, every other line unchanged
	want=$(echo "$before" | awk -v v=$v '{ print $1, $2 + (NR - 1 == v) }')
	is "trigger vector $v increments exactly vector $v" "$want" "$after"
	irq=$(echo "$after" | sed -n "$((v + 1))p" | cut -d' ' -f1)
	like "handler logged IRQ $irq fired" "IRQ $irq fired" "$(dmesg | tail -n 4)"
	v=$((v + 1))
done
case $mode in
msix) like "handler logged MSI-X interrupt received" \
	'minimal_pcie_nic_drv: MSI-X interrupt received' "$(dmesg)" ;;
msi) like "handler logged MSI interrupt received" \
	'minimal_pcie_nic_drv: MSI interrupt received' "$(dmesg)" ;;
esac

before=$(counts)
echo $nvec >"$sys/trigger"
sleep 0.1
is "vector $nvec (not allocated) fires nothing" "$before" "$(counts)"

for len in 4096 65536 262144; do
	echo $len >"$sys/dma_test"
	is "DMA round trip of a $len-byte guest buffer compares equal" \
		"ok $len" "$(cat "$sys/dma_test")"
done
done_testing
