#!/bin/sh
# Prepare a Debian 12 or 13 host for qemu-modules-extra: Debian packages, the
# QEMU module SDK (ci/make-sdk.sh) and the guest package cache
# (images/fetch-guest-packages.sh).  Idempotent: on a prepared host it
# checks and returns in seconds.  Needs root (or sudo) for apt.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

# Host packages, by purpose. dwarves: pahole, for the BTF of guest
# drivers built against kernel headers that ship a vmlinux (Debian 13).
packages="
    qemu-system-arm qemu-utils
    meson ninja-build pkg-config gcc make python3
    dpkg-dev flex bison libglib2.0-dev libpixman-1-dev libfdt-dev
    gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu dwarves
    device-tree-compiler cpio xz-utils kmod
    clang libclang-rt-dev python3-venv
    debhelper fakeroot lintian debootstrap binutils util-linux git
    build-essential iproute2
"

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo_cmd="sudo"
    else
        echo "setup-host: must run as root (apt-get install)" >&2
        exit 1
    fi
else
    sudo_cmd=""
fi

missing=
for p in $packages; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
        missing="$missing $p"
done

apt_changed=
# Debian's source package of the installed QEMU feeds the SDK: a deb-src
# twin of each Debian apt source.
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ &&
   ! grep -qs '^deb-src' /etc/apt/sources.list; then
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        grep -q 'debian.org' "$f" || continue
        sed 's/^Types:.*/Types: deb-src/' "$f" |
            $sudo_cmd tee "/etc/apt/sources.list.d/qme-src-$(basename "$f")" >/dev/null
        apt_changed=1
    done
    if [ -f /etc/apt/sources.list ] && grep -q '^deb .*debian' /etc/apt/sources.list; then
        sed -n 's/^deb /deb-src /p' /etc/apt/sources.list |
            $sudo_cmd tee /etc/apt/sources.list.d/qme-src.list >/dev/null
        apt_changed=1
    fi
fi
# Guest kernels, busybox and pciutils are Debian's arm64 packages.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $sudo_cmd dpkg --add-architecture arm64
    apt_changed=1
fi

if [ -n "$missing" ] || [ -n "$apt_changed" ] ||
   [ ! -d /var/lib/apt/lists ] || ! ls /var/lib/apt/lists/*arm64_Packages >/dev/null 2>&1; then
    echo "setup-host: apt-get update"
    $sudo_cmd apt-get update -q >/dev/null
fi
if [ -n "$missing" ]; then
    echo "setup-host: installing$missing"
    $sudo_cmd env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

# qemu-system-x86_64 of the very same QEMU build also runs the PCI
# modules: the same version as qemu-system-arm, never another.
arm_version=$(dpkg-query -W -f='${Version}' qemu-system-arm)
x86_version=$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' qemu-system-x86 2>/dev/null |
              sed -n 's/^ii *//p')
if [ -n "$x86_version" ] && [ "$x86_version" != "$arm_version" ]; then
    echo "setup-host: qemu-system-x86 is $x86_version, qemu-system-arm" \
        "$arm_version: the modules are built for qemu-system-aarch64 only" >&2
elif [ -z "$x86_version" ]; then
    if apt-cache madison qemu-system-x86 | grep -q " $arm_version "; then
        echo "setup-host: installing qemu-system-x86=$arm_version"
        $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "qemu-system-x86=$arm_version" >/dev/null
    else
        echo "setup-host: qemu-system-x86 $arm_version is not available:" \
            "the modules are built for qemu-system-aarch64 only" >&2
    fi
fi

$sudo_cmd "$here/make-sdk.sh"
if [ -x "$top/images/fetch-guest-packages.sh" ]; then
    # --with-checkpatch: Linux's checkpatch.pl for the guest-driver style test.
    $sudo_cmd "$top/images/fetch-guest-packages.sh" --with-checkpatch
fi
echo "setup-host: ready"
