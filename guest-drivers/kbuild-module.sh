#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build one out-of-tree Linux module for a guest (meson helper): cross-built
# for arm64 (default), or native for x86_64 (the host's gcc is the compiler
# of the release's amd64 kernel: gcc 12 on Debian 12, gcc 14 on 13; the
# headers' Makefile names the versioned compiler).
#
# Usage: kbuild-module.sh [--arch arm64|x86_64] KDIR WORKDIR OUTPUT.ko [HEADER...] -- SOURCE...
#
# HEADERs are generated headers the driver includes (register maps); their
# directories go to kbuild as QME_REGS_INCLUDE, which the driver's Kbuild
# file adds with 'ccflags-y += -I$(QME_REGS_INCLUDE)'.
#
# kbuild writes its objects next to the sources (M=), so the sources are
# copied into WORKDIR (a build-directory folder), keeping their timestamps so
# kbuild's own dependency tracking decides what to recompile.

set -eu
arch=arm64
if [ "${1:-}" = --arch ]; then
	arch=$2
	shift 2
fi
case $arch in
arm64) cross=${CROSS_COMPILE:-aarch64-linux-gnu-} ;;
x86_64) cross= ;;
*) echo "kbuild-module: unknown arch $arch" >&2; exit 2 ;;
esac
kdir=$1 work=$2 out=$3
shift 3
inc=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	d=$(cd "$(dirname "$1")" && pwd)
	if [ -z "$inc" ]; then
		inc=$d
	else
		inc="$inc -I$d"
	fi
	shift
done
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "kbuild-module: no sources" >&2; exit 2; }

mkdir -p "$work"
for src in "$@"; do
	dst=$work/$(basename "$src")
	cmp -s "$src" "$dst" 2>/dev/null || cp -p "$src" "$dst"
done

log=$work/kbuild.log
rc=0
make -s -C "$kdir" M="$(cd "$work" && pwd)" ARCH="$arch" \
	CROSS_COMPILE="$cross" \
	QME_REGS_INCLUDE="${inc:-$work}" modules >"$log" 2>&1 || rc=$?
grep -v -e '^Skipping BTF generation' "$log" >&2 || true
if [ $rc -ne 0 ]; then
	# Kernel headers with a vmlinux (Debian 13) make kbuild add BTF to modules.
	if grep -q 'pahole: not found' "$log"; then
		echo "kbuild-module: pahole missing; fix: apt-get install dwarves (ci/setup-host.sh)" >&2
	fi
	echo "kbuild-module: make failed ($rc) for $out" >&2
	exit $rc
fi
# OUTPUT may name the arch (NAME.x86_64.ko); kbuild names it NAME.ko.
ko=$(basename "$out")
ko=$work/${ko%%.*}.ko
[ -f "$ko" ] || { echo "kbuild-module: $ko was not built" >&2; exit 1; }
cp "$ko" "$out"
