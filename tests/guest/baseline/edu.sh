#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Baseline: QEMU's in-tree 'edu' device (1234:11e8), no project module
# needed. Proves the guest pipeline: kernel, initramfs, pciutils, devmem.
. /qme/lib/tap.sh

slot=$(pci_slot_of 1234 11e8)
check "edu device enumerated (1234:11e8)" test -n "$slot" || done_testing
short=${slot#0000:}

out=$(lspci -nn -s "$short" 2>&1)
like "lspci -nn shows [1234:11e8]" '\[1234:11e8\]' "$out"
is "setpci reads the vendor ID" "1234" "$(setpci -s "$short" 00.w 2>&1)"
is "setpci reads the device ID" "11e8" "$(setpci -s "$short" 02.w 2>&1)"

# Enable memory decoding by hand (no driver binds edu) and read the
# identification register at BAR0 + 0: 0x010000ed (edu version 1.0).
setpci -s "$short" COMMAND=0x0002
out=$(lspci -vv -s "$short" 2>&1)
like "memory decoding enabled (Mem+)" 'Mem+' "$out"
bar=$(cut -d' ' -f1 "/sys/bus/pci/devices/$slot/resource" | head -n1)
is "edu identification register via devmem" "0x010000ED" "$(devmem $((bar)) 32 2>&1)"
# Liveness register (BAR0 + 4) returns the bitwise inverse of what was written.
devmem $((bar + 4)) 32 0x12345678
is "edu liveness register inverts" "0xEDCBA987" "$(devmem $((bar + 4)) 32 2>&1)"
done_testing
