#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# mypci_minimal as the guest sees it: PCI identity, class, BAR, command
# register (the driver enables the device), through Debian's lspci/setpci.
. /qme/lib/tap.sh

slot=$(pci_slot_of 1af4 1234)
check "mypci_minimal enumerated (1af4:1234)" test -n "$slot" || done_testing
short=${slot#0000:}

check "driver loads (modprobe mypci)" modprobe mypci
drv=$(readlink "/sys/bus/pci/devices/$slot/driver" 2>/dev/null)
is "driver mypci bound to $slot" "mypci" "${drv##*/}"

vvv=$(lspci -vvv -s "$short" 2>&1)
like "class Unclassified device [00ff]" "^$short Unclassified device \[00ff\]: " "$vvv"
like "Red Hat, Inc. Device 1234 (rev 01)" 'Red Hat, Inc\. Device 1234 (rev 01)$' "$vvv"
like "subsystem 1af4:1100" 'Subsystem: Red Hat, Inc\. Device 1100$' "$vvv"
# I/O decoding and SERR are the firmware's: SeaBIOS (q35) turns them on for
# every device, with or without an I/O BAR; nothing does on virt.
like "Control: Mem+ BusMaster-" 'Control: I/O[-+] Mem+ BusMaster- ' "$vvv"
like "Region 0: 32-bit non-prefetchable memory, 4K" \
	'Region 0: Memory at [0-9a-f]\{8\} (32-bit, non-prefetchable) \[size=4K\]$' "$vvv"
like "Kernel driver in use: mypci" 'Kernel driver in use: mypci$' "$vvv"
diag "$vvv"

nn=$(lspci -n -s "$short" 2>&1)
like "lspci -n: 00ff: 1af4:1234 (rev 01)" "^$short 00ff: 1af4:1234 (rev 01)\$" "$nn"

x=$(lspci -xxxx -s "$short" 2>&1)
like "config 00: IDs, command Mem, class 00ff00 rev 01" \
	'^00: f4 1a 34 12 0[23] 0[01] [0-9a-f][0-9a-f] [0-9a-f][0-9a-f] 01 00 ff 00 ' "$x"
like "config 10: BAR0 32-bit memory" '^10: [0-9a-f][0]\( [0-9a-f][0-9a-f]\)\{3\} 00 00 00 00 ' "$x"
like "config 2c: subsystem 1af4:1100" '^20: \([0-9a-f][0-9a-f] \)\{12\}f4 1a 00 11$' "$x"
like "config space dump reaches f0:" '^f0: ' "$x"
diag "$x"

is "setpci 00.w (vendor)" "1af4" "$(setpci -s "$short" 00.w 2>&1)"
is "setpci 02.w (device)" "1234" "$(setpci -s "$short" 02.w 2>&1)"
is "setpci 08.b (revision)" "01" "$(setpci -s "$short" 08.b 2>&1)"
is "setpci 2e.w (subsystem)" "1100" "$(setpci -s "$short" 2e.w 2>&1)"
done_testing
