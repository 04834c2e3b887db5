#!/bin/sh
# Benchmark: setup-to-first-device.  Our route (cold SDK generation plus a
# build of every device module) against the in-tree route (configure and
# build a minimal QEMU with the device inside), measured in the same run
# from the same cached Debian source package.  Downloads are not counted.
#   ci/bench-setup-route.sh SOURCE_DIR
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
src=$(cd "$1" && pwd)
cache=${QME_CACHE:-/var/cache/qemu-modules-extra}
tmp=$(mktemp -d /tmp/qme-bench-setup.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }

# Warm the source cache so neither route pays for the download.
QME_SDK_ROOT=$tmp/warm QME_SDK_PCDIR=$tmp/warm-pc "$src/ci/make-sdk.sh" >/dev/null

t0=$(now)
QME_SDK_ROOT=$tmp/sdk QME_SDK_PCDIR=$tmp/pc "$src/ci/make-sdk.sh" --force >/dev/null
PKG_CONFIG_PATH=$tmp/pc meson setup -Dguest=false "$tmp/build" "$src" >/dev/null
modules=$(cd "$tmp/build" && ninja -t targets all | sed -n 's|^\(devices/[^:]*\.so\):.*|\1|p')
ninja -C "$tmp/build" $modules loader/qme-loader.so >/dev/null
t1=$(now)

dsc=$(ls "$cache"/qemu-source/*/qemu_*.dsc | head -1)
dpkg-source -q -x "$dsc" "$tmp/qemu" >/dev/null 2>&1
mkdir "$tmp/qemu-build"
(cd "$tmp/qemu-build" && "$tmp/qemu/configure" --target-list=aarch64-softmmu \
    --without-default-features --disable-docs --disable-werror \
    --enable-fdt=system >/dev/null 2>&1 &&
    ninja qemu-system-aarch64 >/dev/null 2>&1)
t2=$(now)

python3 - "$t0" "$t1" "$t2" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:])
ours, intree = t1 - t0, t2 - t1
print(f'setup-to-first-device: ours {ours:.1f} s (SDK + all modules), '
      f'in-tree {intree:.1f} s (configure + build QEMU), '
      f'{intree / ours:.1f}x faster (goal: under 60 s and at least 3x)')
PY
