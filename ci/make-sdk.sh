#!/bin/sh
# Create the QEMU module SDK: headers that match the installed
# qemu-system-aarch64 exactly, generated from Debian's source package of
# that very version, installed into a versioned folder with a pkg-config
# file (qemu-module-sdk.pc) that meson finds.
#
# Usage: ci/make-sdk.sh [--force]
#        ci/make-sdk.sh --source VERSION [--suite SUITE] [--force]
#   --source: headers of Debian's source package qemu=VERSION with no
#   installed binary (a compile-only SDK, for the next QEMU: its .pc has no
#   qemu_binary); the source comes from SUITE (default sid) through a
#   private apt list, so the system's apt sources stay as they are.
#
# Supported QEMU releases, each with its API differences handled in
# include/qme/qemu-compat.h: 7.2 (Debian 12) and 10.0 (Debian 13), and 10.2
# for compile-only SDKs.  Any other release is refused.
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
force= source_only= suite=sid
while [ $# -gt 0 ]; do
    case $1 in
    --force) force=1 ;;
    --source) source_only=${2:?--source needs a version}; shift ;;
    --suite) suite=${2:?--suite needs a suite}; shift ;;
    *) echo "usage: ci/make-sdk.sh [--force] [--source VERSION [--suite SUITE]]" >&2
       exit 2 ;;
    esac
    shift
done

die() { echo "make-sdk: $*" >&2; exit 1; }
supported="QEMU 7.2 (Debian 12) and 10.0 (Debian 13), and 10.2 compile-only"
# check_supported UPSTREAM-VERSION: the releases whose API differences
# include/qme/qemu-compat.h knows; 10.2 has no binary to run against.
check_supported() {
    case $1 in
    7.2.*|10.0.*) ;;
    10.2.*) [ -n "$source_only" ] ||
        die "QEMU $1 is supported compile-only (--source): no Debian build of it is proven here" ;;
    *) die "QEMU $1 is not supported: qemu-modules-extra supports $supported, whose API differences include/qme/qemu-compat.h covers" ;;
    esac
}

for tool in dpkg-source meson ninja flex bison pkg-config python3; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "missing build tool '$tool': run ci/setup-host.sh"
done
if [ -n "$source_only" ]; then
    qemu=
    src_version=$source_only pkg_version=$source_only build_id=
    qemu_version=$(echo "$source_only" | sed 's/^[0-9]*://; s/[+~-].*//')
else
    [ -x "$qemu" ] || die "$qemu is not installed: run ci/setup-host.sh"
    ident=$("$here/qemu-identity" "$qemu")
    get() { echo "$ident" | sed -n "s/^$1=//p"; }
    qemu_version=$(get qemu_version)
    pkg_version=$(get package_version)
    src_version=$(get source_version)
    build_id=$(get build_id)
fi
check_supported "$qemu_version"
# Debian versions carry ':' and '+': keep them readable but path-safe.
tag=$(echo "$pkg_version" | tr ':' '_')
sdk=$sdk_root/$tag
pc=$pc_dir/qemu-module-sdk.pc

if [ -z "$force" ] && [ -f "$pc" ] &&
   [ "$(pkg-config --with-path="$pc_dir" --variable=build_id qemu-module-sdk 2>/dev/null)" = "$build_id" ] &&
   [ "$(pkg-config --with-path="$pc_dir" --variable=package_version qemu-module-sdk 2>/dev/null)" = "$pkg_version" ] &&
   [ -f "$sdk/include/build/config-host.h" ]; then
    echo "make-sdk: SDK for QEMU $qemu_version ($pkg_version) is up to date: $sdk"
    exit 0
fi

start=$(date +%s)
srcdir=$cache/qemu-source/$tag
if [ ! -f "$srcdir/qemu_$(echo "$src_version" | sed 's/^[0-9]*://').dsc" ]; then
    mkdir -p "$srcdir"
    echo "make-sdk: downloading Debian source qemu=$src_version"
    if [ -n "$source_only" ]; then
        # A private source list and list folder: the system's apt state is
        # not touched.  sid's Release can look expired against a clock.
        apt_dir=$(mktemp -d)
        echo "deb-src http://deb.debian.org/debian $suite main" >"$apt_dir/sources.list"
        mkdir -p "$apt_dir/lists/partial" "$apt_dir/parts"
        set -- -o Dir::Etc::SourceList="$apt_dir/sources.list" \
            -o Dir::Etc::SourceParts="$apt_dir/parts" \
            -o Dir::State::Lists="$apt_dir/lists" \
            -o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root
        ok=
        apt-get "$@" update -q >"$apt_dir/update.log" 2>&1 &&
            (cd "$srcdir" && apt-get "$@" source --download-only -q "qemu=$src_version") \
            >"$apt_dir/source.log" 2>&1 && ok=1
        [ -n "$ok" ] || tail -q -n 5 "$apt_dir"/*.log >&2
        rm -rf "$apt_dir"
        [ -n "$ok" ] || { rmdir "$srcdir" 2>/dev/null
            die "cannot download the source of qemu=$src_version from $suite"; }
    else
        (cd "$srcdir" && apt-get source --download-only -q "qemu=$src_version") >/dev/null 2>&1 ||
            die "cannot download the source of qemu=$src_version (is a deb-src apt source configured? run ci/setup-host.sh)"
    fi
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
# 7.2 takes the system's meson; 10.x builds its own Python venv (and its
# +ds tarball has no firmware blobs to install).
case $qemu_version in
7.*) set -- --meson=/usr/bin/meson ;;
*) set -- --disable-install-blobs --disable-download ;;
esac
(cd "$work/build" && "$work/src/configure" "$@" \
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
