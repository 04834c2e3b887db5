#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (guest): interrupt round trip, doorbell write -> handler entry,
# timed by the driver with ktime over many rounds, for minimal-pcie-nic
# (MSI-X vector 0) and for QEMU's edu (its one MSI vector) in the same
# boot. Passes alternate between the devices so host load hits both; the
# best (lowest) pass average of each is compared, as host preemption only
# ever adds time. Prints every pass and the ratio; the goal is <= 1.2.
. /qme/lib/tap.sh

rounds=${1:-1000}
modprobe minimal_pcie_nic_drv edu_baseline=1
nic=/sys/bus/pci/devices/$(pci_slot_of 1af4 10f1)
edu=/sys/bus/pci/devices/$(pci_slot_of 1234 11e8)
check "both devices bound" test -e "$nic/bench_irq" -a -e "$edu/bench_irq" ||
	done_testing
# warm up, then alternate to share any drift in host load fairly
for dev in "$nic" "$edu"; do echo 200 >"$dev/bench_irq"; done
nic_best=0 edu_best=0
for pass in 1 2 3 4 5; do
	echo "$rounds" >"$nic/bench_irq"
	n=$(cut -d' ' -f4 "$nic/bench_irq")
	echo "$rounds" >"$edu/bench_irq"
	e=$(cut -d' ' -f4 "$edu/bench_irq")
	diag "pass $pass: minimal-pcie-nic $n ns, edu $e ns"
	if [ "$nic_best" -eq 0 ] || [ "$n" -lt "$nic_best" ]; then nic_best=$n; fi
	if [ "$edu_best" -eq 0 ] || [ "$e" -lt "$edu_best" ]; then edu_best=$e; fi
done
check "minimal-pcie-nic measured" test "$nic_best" -gt 0
check "edu measured" test "$edu_best" -gt 0
ratio=$(awk -v a=$nic_best -v b=$edu_best 'BEGIN { printf "%.2f", a / b }')
goal=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.2) ? "met" : "NOT met" }')
diag "irq round trip (best pass): minimal-pcie-nic $nic_best ns, edu $edu_best ns, ratio $ratio (goal <= 1.2: $goal)"
echo "# BENCH irq-round-trip nic_ns=$nic_best edu_ns=$edu_best ratio=$ratio goal=$goal"
done_testing
