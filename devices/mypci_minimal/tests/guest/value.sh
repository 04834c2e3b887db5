#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The register through the mypci driver's sysfs attribute, and the same
# register through /dev/mem (busybox devmem) at BAR0 + MYPCI_REG_VALUE.
#
# The Debian kernel has STRICT_DEVMEM=y and IO_STRICT_DEVMEM=y: /dev/mem is
# refused on a BAR that a driver has claimed. Booted with iomem=relaxed the
# test cross-checks the values; without, it checks the refusal.
. /qme/lib/tap.sh

regs=mypci_minimal-regs.h
off=$(reg_define $regs MYPCI_REG_VALUE)
size=$(reg_define $regs MYPCI_REG_VALUE_SIZE)
check "register offset/size from the generated $regs" test -n "$off" -a -n "$size"
bits=$((size * 8))

slot=$(pci_slot_of 1af4 1234)
check "mypci_minimal enumerated (1af4:1234)" test -n "$slot" || done_testing
check "driver loads (modprobe mypci)" modprobe mypci
attr=/sys/bus/pci/devices/$slot/value
check "sysfs attribute $attr exists" test -e "$attr" || done_testing

like "initial value reads as hex" '^0x[0-9a-f]\{1,16\}$' "$(cat "$attr")"
echo 0xdeadbeef >"$attr"
is_num "0xdeadbeef written via sysfs reads back via sysfs" 0xdeadbeef "$(cat "$attr")"
echo 12345678 >"$attr"
is_num "0x12345678 written via sysfs reads back via sysfs" 0x12345678 "$(cat "$attr")"
check "out-of-range write refused" sh -c "! echo 0x1$(printf '%0*d' $((size * 2)) 0) >$attr"
check "non-hex write refused" sh -c "! echo zz >$attr"
is_num "refused writes left the register alone" 0x12345678 "$(cat "$attr")"

bar=$(head -n1 "/sys/bus/pci/devices/$slot/resource" | cut -d' ' -f1)
addr=$(printf '0x%x' $((bar + off)))
if grep -qw 'iomem=relaxed' /proc/cmdline; then
	is_num "devmem $addr reads the value written via sysfs" 0x12345678 \
		"$(devmem "$addr" $bits 2>&1)"
	devmem "$addr" $bits 0xa5a55a5a
	is_num "sysfs reads the value written via devmem" 0xa5a55a5a "$(cat "$attr")"
else
	out=$(devmem "$addr" $bits 2>&1)
	rc=$?
	check "devmem on the claimed BAR refused without iomem=relaxed" test $rc -ne 0
	diag "devmem $addr: $out"
fi

check "driver unloads (rmmod mypci)" rmmod mypci
check "sysfs attribute gone after unbind" test ! -e "$attr"
done_testing
