#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# mypci_configurable (same IDs, same register) started with
# -device mypci_configurable,reg=X and booted with qme.reg=X: the guest
# driver reads X from the register.
. /qme/lib/tap.sh

expect=$(cmdline_arg qme.reg 0x42)
slot=$(pci_slot_of 1af4 1234)
check "mypci_configurable enumerated (1af4:1234)" test -n "$slot" || done_testing
check "driver loads (modprobe mypci)" modprobe mypci
attr=/sys/bus/pci/devices/$slot/value
check "sysfs attribute exists" test -e "$attr" || done_testing
is_num "register reads the reg=$expect property" "$expect" "$(cat "$attr")"
echo 0x7 >"$attr"
is_num "register is writable" 0x7 "$(cat "$attr")"
done_testing
