#!/bin/sh
# Create the QEMU module SDK: headers that match the installed
# qemu-system-aarch64 exactly, generated from Debian's source package of
# that very version, installed into a versioned folder with a pkg-config
# file (qemu-module-sdk.pc) that meson finds.
#
# Usage: ci/make-sdk.sh [--force]
#   QME_SDK_ROOT   where versioned SDKs live  (default /usr/local/lib/qemu-module-sdk)
#   QME_SDK_PCDIR  where the .pc file goes    (default /usr/local/lib/pkgconfig)
#   QME_CACHE      download cache             (default /var/cache/qemu-modules-extra)
#
# Needs: dpkg-dev, meson, ninja-build, libglib2.0-dev, libpixman-1-dev,
# libfdt-dev, flex, bison, python3, and a deb-src apt source
# (ci/setup-host.sh provides all of them).
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu

here=$(cd "$(dirname "$0")" && pwd)
sdk_root=${QME_SDK_ROOT:-/usr/local/lib/qemu-module-sdk}
pc_dir=${QME_SDK_PCDIR:-/usr/local/lib/pkgconfig}
cache=${QME_CACHE:-/var/cache/qemu-modules-extra}
qemu=/usr/bin/qemu-system-aarch64
force=
[ "${1:-}" = --force ] && force=1

die() { echo "make-sdk: $*" >&2; exit 1; }

for tool in dpkg-source meson ninja flex bison pkg-config python3; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "missing build tool '$tool': run ci/setup-host.sh"
done
[ -x "$qemu" ] || die "$qemu is not installed: run ci/setup-host.sh"

ident=$("$here/qemu-identity" "$qemu")
get() { echo "$ident" | sed -n "s/^$1=//p"; }
qemu_version=$(get qemu_version)
pkg_version=$(get package_version)
src_version=$(get source_version)
build_id=$(get build_id)
# Debian versions carry ':' and '+': keep them readable but path-safe.
tag=$(echo "$pkg_version" | tr ':' '_')
sdk=$sdk_root/$tag
pc=$pc_dir/qemu-module-sdk.pc

if [ -z "$force" ] && [ -f "$pc" ] &&
   [ "$(pkg-config --with-path="$pc_dir" --variable=build_id qemu-module-sdk 2>/dev/null)" = "$build_id" ] &&
   [ -f "$sdk/include/build/config-host.h" ]; then
    echo "make-sdk: SDK for QEMU $qemu_version ($pkg_version) is up to date: $sdk"
    exit 0
fi

start=$(date +%s)
srcdir=$cache/qemu-source/$tag
if [ ! -f "$srcdir/qemu_$(echo "$src_version" | sed 's/^[0-9]*://').dsc" ]; then
    mkdir -p "$srcdir"
    echo "make-sdk: downloading Debian source qemu=$src_version"
    (cd "$srcdir" && apt-get source --download-only -q "qemu=$src_version") >/dev/null 2>&1 ||
        die "cannot download the source of qemu=$src_version (is a deb-src apt source configured? run ci/setup-host.sh)"
fi
dl_done=$(date +%s)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-source -q -x "$srcdir"/qemu_*.dsc "$work/src" >/dev/null 2>&1 ||
    die "dpkg-source failed on $srcdir"
mkdir "$work/build"
# Same paths and package version as Debian's build (debian/rules), one
# target, no optional features: the headers a device module sees do not
# depend on UI or backend features.
(cd "$work/build" && "$work/src/configure" --meson=/usr/bin/meson \
    --target-list=aarch64-softmmu --enable-modules --without-default-features \
    --disable-docs --disable-werror --enable-fdt=system \
    --with-pkgversion="Debian $pkg_version" --prefix=/usr \
    --libdir=/usr/lib/x86_64-linux-gnu --libexecdir=/usr/lib/qemu \
    >"$work/configure.log" 2>&1) ||
    { tail -20 "$work/configure.log" >&2; die "QEMU configure failed"; }
(cd "$work/build" &&
    ninja -t targets all | awk -F: '$1 ~ /\.h$/ {print $1}' | xargs ninja \
    >"$work/headers.log" 2>&1) ||
    { tail -20 "$work/headers.log" >&2; die "generating QEMU headers failed"; }

rm -rf "$sdk.new"
mkdir -p "$sdk.new/include/src" "$sdk.new/include/build" "$sdk.new/scripts"
# Source headers, keeping their paths ("hw/pci/pci.h", "trace/control.h").
(cd "$work/src" && find . \( -name '*.h' -o -name '*.inc' \) -not -path './tests/*' \
    -not -path './roms/*' -not -path './subprojects/*' -not -path './debian/*' \
    | cpio -pdm --quiet "$sdk.new/include/src")
(cd "$work/build" && find . \( -name '*.h' -o -name '*.inc' \) -not -path './meson-*' \
    | cpio -pdm --quiet "$sdk.new/include/build")
cp -r "$work/src/scripts/tracetool" "$work/src/scripts/tracetool.py" \
    "$work/src/scripts/checkpatch.pl" "$sdk.new/scripts/"
rm -rf "$sdk"
mv "$sdk.new" "$sdk"

mkdir -p "$pc_dir"
cat >"$pc.tmp" <<EOF
prefix=$sdk
includedir=\${prefix}/include
qemu_binary=$qemu
qemu_version=$qemu_version
package_version=$pkg_version
build_id=$build_id
qemu_moddir=/usr/lib/x86_64-linux-gnu/qemu
tracetool=\${prefix}/scripts/tracetool.py
checkpatch=\${prefix}/scripts/checkpatch.pl

Name: qemu-module-sdk
Description: Headers of the installed QEMU build, for out-of-tree device modules
Version: $qemu_version
Requires: glib-2.0 pixman-1
Cflags: -std=gnu11 -m64 -mcx16 -pthread -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -D_LARGEFILE_SOURCE -fno-strict-aliasing -fno-common -fwrapv -iquote \${includedir}/build -iquote \${includedir}/src -iquote \${includedir}/src/include -isystem \${includedir}/src/linux-headers -isystem \${includedir}/build/linux-headers
EOF
mv "$pc.tmp" "$pc"
end=$(date +%s)
echo "make-sdk: SDK for QEMU $qemu_version ($pkg_version, build-id $build_id) in $sdk"
echo "make-sdk: $((dl_done - start)) s download, $((end - dl_done)) s generation"
