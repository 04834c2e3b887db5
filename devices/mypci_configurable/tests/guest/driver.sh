#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# mypci_configurable through the mypci driver: the reg property, the
# interrupt (doorbell, counted by the handler and in /proc/interrupts),
# DMA both ways between RAM and BAR2, BAR2's contents read back
# independently through /dev/mem (needs iomem=relaxed), and one 64-bit
# /dev/mem read of two adjacent 32-bit registers in BAR0.
#   qme.reg=X       the reg= property QEMU was started with (default 0x42)
#   qme.irq=MODE    msi (default) or intx (QEMU started with msi=off)
. /qme/lib/tap.sh

hdr=mypci_configurable-regs.h
expect_reg=$(cmdline_arg qme.reg 0x42)
expect_irq=$(cmdline_arg qme.irq msi)
sub=$(reg_define $hdr MYCFG_SUBSYSTEM_ID)
ram_bar=$(($(reg_define $hdr MYCFG_RAM_BAR)))

slot=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/subsystem_device")" = "$(printf 0x%04x "$sub")" ] || continue
	[ "$(cat "$d/device")" = 0x1234 ] && slot=$(basename "$d") && break
done
check "mypci_configurable enumerated (subsystem $sub)" test -n "$slot" ||
	done_testing
dev=/sys/bus/pci/devices/$slot

check "driver loads (modprobe mypci)" modprobe mypci
drv=$(readlink "$dev/driver" 2>/dev/null)
is "driver mypci bound to $slot" mypci "${drv##*/}"
check "engine attributes present" test -e "$dev/doorbell" || done_testing

is_num "VALUE reads the reg=$expect_reg property" "$expect_reg" "$(cat "$dev/value")"
is "interrupt came up as $expect_irq" "$expect_irq" "$(cat "$dev/irq_mode")"

# One 64-bit load of VALUE and the VERSION register after it: the device
# composes it from both registers, little-endian (VERSION in bits 63:32).
bar0=$(head -n1 "$dev/resource" | cut -d' ' -f1)
value_off=$(reg_define $hdr MYCFG_REG_VALUE)
version_off=$(reg_define $hdr MYCFG_REG_VERSION)
version=$(reg_define $hdr MYCFG_VERSION_1_0)
check "VERSION is the register after VALUE" \
	test $((version_off)) -eq $((value_off + 4))
is_num "devmem 64-bit read of VALUE and VERSION gives both" \
	$(((version << 32) | expect_reg)) \
	"$(devmem $((bar0 + value_off)) 64 2>&1)"

irqs() {
	awk '/ mypci$/ { n = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i; print n }' \
		/proc/interrupts
}
n0=$(cat "$dev/irq_count")
p0=$(irqs)
check "doorbell interrupt arrives" sh -c "echo 0x5a >$dev/doorbell"
check "second doorbell interrupt arrives" sh -c "echo 1 >$dev/doorbell"
is_num "handler counted 2 interrupts" $((n0 + 2)) "$(cat "$dev/irq_count")"
is_num "/proc/interrupts counted 2 more" $((p0 + 2)) "$(irqs)"

len=5000
check "DMA RAM -> BAR$ram_bar -> RAM, $len bytes, compared" \
	sh -c "echo $len >$dev/dma_selftest"
is "DMA_STATUS is DONE" 0x1 "$(cat "$dev/dma_status")"
is_num "each transfer interrupted" $((n0 + 4)) "$(cat "$dev/irq_count")"
check "length beyond BAR$ram_bar refused by the driver" \
	sh -c "! echo 0x100000000 >$dev/dma_selftest"

# BAR2 as the CPU sees it: byte i of the pattern is (7 * i + 1) mod 256.
base=$(sed -n "$((ram_bar + 1))p" "$dev/resource" | cut -d' ' -f1)
byte() {
	devmem $((base + $1)) 8
}
is_num "BAR$ram_bar byte 0 written by DMA" 0x01 "$(byte 0)"
is_num "BAR$ram_bar byte 4999 written by DMA" $(((7 * 4999 + 1) % 256)) "$(byte 4999)"
is_num "BAR$ram_bar byte 5000 untouched" 0 "$(byte 5000)"
devmem $((base + 0x100)) 32 0xfeedf00d
is_num "BAR$ram_bar is writable RAM" 0xfeedf00d "$(devmem $((base + 0x100)) 32)"

check "driver unloads" rmmod mypci
done_testing
