#!/bin/sh
# The compile-only lane: every module, the library, the loader and the
# test programs built against the headers of a QEMU that Debian has no
# binary of here yet (the next release), so its API breaks are met in
# include/qme/qemu-compat.h before a distribution ships it.  Nothing runs:
# there is no binary to run against.
#   ci/test-compile-only.sh VERSION [SUITE]
#     VERSION  Debian source version of qemu (e.g. 1:10.2.2+ds-1)
#     SUITE    where the source comes from (default sid)
#   BUILDDIR (default: build-qemu-UPSTREAM, e.g. build-qemu-10.2.2)
# Prints "compile-only QEMU UPSTREAM: N modules built"; exit status 0 when
# everything built.  Needs a host prepared by ci/setup-host.sh.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
version=${1:?usage: ci/test-compile-only.sh VERSION [SUITE]}
suite=${2:-sid}
upstream=$(echo "$version" | sed 's/^[0-9]*://; s/[+~-].*//')
build=${BUILDDIR:-$top/build-qemu-$upstream}
# The SDK's .pc in a folder of its own: the installed QEMU's SDK stays
# the one meson finds by default.
pcdir=${QME_SDK_ROOT:-/usr/local/lib/qemu-module-sdk}/compile-only-$(echo "$version" | tr ':' '_')
QME_SDK_PCDIR=$pcdir "$top/ci/make-sdk.sh" --source "$version" --suite "$suite"
export PKG_CONFIG_PATH="$pcdir"
cd "$top"
if [ -f "$build/build.ninja" ]; then
    meson setup --reconfigure -Dguest=false "$build" >"$build/setup.log" ||
        { cat "$build/setup.log"; exit 1; }
else
    meson setup -Dguest=false "$build" >/dev/null || exit 1
fi
rc=0
meson compile -C "$build" >"$build/compile.log" 2>&1 || rc=$?
grep -E 'warning:|error:' "$build/compile.log" || true
n=$(find "$build/devices" -maxdepth 1 -name '*.so' | wc -l)
if [ "$rc" -ne 0 ]; then
    tail -30 "$build/compile.log"
    echo "compile-only QEMU $upstream: FAILED ($n modules built)"
    exit 1
fi
devices=0
for d in "$top"/devices/*/; do
    [ -f "$d/$(basename "$d").c" ] && devices=$((devices + 1))
done
echo "compile-only QEMU $upstream: $n modules built for $devices devices"
[ "$n" -eq "$devices" ]
