#!/bin/sh
# The demo command of the README: prepare the host, build, and boot a
# Debian arm64 guest on the stock qemu-system-aarch64 with every device of
# this project; each device's demo script shows it at work on the console,
# then the guest powers off.  Needs nothing running beforehand.
#   ci/demo.sh            BUILDDIR (default: build)
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILDDIR:-$top/build}
cd "$top"
"$top/ci/setup-host.sh" >/dev/null
if [ -f "$build/build.ninja" ]; then
    meson setup --reconfigure "$build" >/dev/null
else
    meson setup "$build" >/dev/null
fi
meson compile -C "$build" >/dev/null

# Every device module that was built joins the guest.  mmio-sockdev needs
# its device server running: devices/mmio-sockdev/demo.sh shows it.
devices=
for d in mypci_minimal mypci_configurable,reg=0x42 minimal-pcie-nic stopwatch; do
    [ -f "$build/devices/${d%%,*}.so" ] && devices="$devices -device $d"
done
kernel=$(sed -n "s/^QME_GUEST_KERNEL='\{0,1\}\([^']*\)'\{0,1\}$/\1/p" \
    "${QME_CACHE:-/var/cache/qemu-modules-extra}/guest.env")
echo "demo: booting Debian arm64 with:$devices"
meson devenv -C "$build" qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on \
    -m 512 -nographic -no-reboot -nic none \
    -kernel "$kernel" -initrd "$build/images/initrd.gz" \
    -append "console=ttyAMA0 quiet panic=-1 qme.demo=1" $devices

if [ -f "$build/devices/mmio-sockdev.so" ]; then
    echo "demo: mmio-sockdev: reference UART server + bare-metal firmware"
    "$top/devices/mmio-sockdev/demo.sh" "$build"
fi
