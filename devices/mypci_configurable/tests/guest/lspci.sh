#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# mypci_configurable as lspci -vvv shows it once the driver is bound:
# identity, both BARs, bus mastering, the vendor-specific and MSI
# capabilities, and the Express capability when it sits behind a PCIe
# root port (qme.pcie=1).
. /qme/lib/tap.sh

pcie=$(cmdline_arg qme.pcie 0)
slot=$(pci_slot_of 1af4 1234)
check "mypci_configurable enumerated (1af4:1234)" test -n "$slot" || done_testing
short=${slot#0000:}
check "driver loads (modprobe mypci)" modprobe mypci

vvv=$(lspci -vvv -s "$short" 2>&1)
like "Unclassified device [00ff]: Device 1234 (rev 01)" \
	"^$short Unclassified device \[00ff\]: Red Hat, Inc\. Device 1234 (rev 01)$" "$vvv"
like "subsystem 1af4:1101" 'Subsystem: Red Hat, Inc\. Device 1101$' "$vvv"
# I/O decoding is the firmware's: SeaBIOS (q35) turns it on for every
# device, with or without an I/O BAR; nothing does on virt.
like "Control: Mem+ BusMaster+" 'Control: I/O[-+] Mem+ BusMaster+ ' "$vvv"
like "Region 0: 32-bit non-prefetchable, 4K" \
	'Region 0: Memory at [0-9a-f]* (32-bit, non-prefetchable) \[size=4K\]$' "$vvv"
like "Region 2: 64-bit prefetchable, 64K" \
	'Region 2: Memory at [0-9a-f]* (64-bit, prefetchable) \[size=64K\]$' "$vvv"
like "Capabilities: [40] Vendor Specific Information: Len=10" \
	'Capabilities: \[40\] Vendor Specific Information: Len=10' "$vvv"
like "Capabilities: [50] MSI: Enable+ Count=1/1 64bit+" \
	'Capabilities: \[50\] MSI: Enable+ Count=1/1 Maskable- 64bit+$' "$vvv"
if [ "$pcie" = 1 ]; then
	like "Capabilities: [70] Express (v2) Endpoint" \
		'Capabilities: \[70\] Express (v2) Endpoint' "$vvv"
else
	vvv_noexp=$(printf '%s\n' "$vvv" | grep -c Express)
	is "no Express capability on the root bus" 0 "$vvv_noexp"
fi
like "Kernel driver in use: mypci" 'Kernel driver in use: mypci$' "$vvv"
diag "$vvv"

# The vendor capability's VALUE window (0x48) shows the register.
is "setpci 48.l: VALUE window" 00000042 "$(setpci -s "$short" 48.l 2>&1)"
setpci -s "$short" 48.l=0000abcd
is "setpci write to the window changes VALUE" 0x0000abcd \
	"$(cat "/sys/bus/pci/devices/$slot/value")"
# Read-only FEATURES (0x44) and reserved config (0xf0) ignore writes.
f=$(setpci -s "$short" 44.l)
setpci -s "$short" 44.l=ffffffff
is "FEATURES is read-only" "$f" "$(setpci -s "$short" 44.l)"
setpci -s "$short" f0.l=ffffffff
is "reserved config space stays 0" 00000000 "$(setpci -s "$short" f0.l)"
done_testing
