#!/bin/sh
# Boot the Debian arm64 guest on the stock qemu-system-aarch64 with the
# devices you name, and leave an interactive shell on the console: our
# drivers (modprobe mypci, stopwatch, minimal_pcie_nic_drv), lspci,
# setpci, devmem and the scripts in /qme/bin.  `poweroff -f` leaves.
#
#   ci/guest-shell.sh [QEMU-ARGS...]    e.g.  -device mypci_configurable,reg=0x42
#
# With no arguments, every device module that was built (as ci/demo.sh).
# BUILDDIR (default: build) is set up and compiled first if needed.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILDDIR:-$top/build}
case "${1:-}" in
-h|--help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac
cd "$top"
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
meson compile -C "$build" >/dev/null
[ -f "$build/images/initrd.gz" ] ||
    { echo "guest-shell: no $build/images/initrd.gz (needs -Dguest=true and ci/setup-host.sh)" >&2; exit 1; }
if [ $# -eq 0 ]; then
    for d in mypci_minimal mypci_configurable,reg=0x42 minimal-pcie-nic stopwatch; do
        [ -f "$build/devices/${d%%,*}.so" ] && set -- "$@" -device "$d"
    done
fi
kernel=$(sed -n "s/^QME_GUEST_KERNEL='\{0,1\}\([^']*\)'\{0,1\}$/\1/p" \
    "${QME_CACHE:-/var/cache/qemu-modules-extra}/guest.env")
echo "guest-shell: booting Debian arm64 with: $*  (leave with: poweroff -f)"
exec meson devenv -C "$build" qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on \
    -m 512 -nographic -no-reboot -nic none \
    -kernel "$kernel" -initrd "$build/images/initrd.gz" \
    -append "console=ttyAMA0 quiet panic=-1" "$@"
