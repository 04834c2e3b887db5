#!/bin/sh
# Prove the source tree on another Debian release, as a fresh machine of
# that release would see it: in a Debian root of RELEASE (debootstrap,
# chroot) with that release's QEMU, kernel and compilers, run the README's
# setup (ci/setup-host.sh) and its test command for the given suites.
#
#   ci/test-release.sh [--compile-only VERSION] [--foreign-build DIR] RELEASE
#                      [MESON-TEST-ARGS...]
#     RELEASE          a Debian codename: bookworm (QEMU 7.2), trixie (10.0)
#     --compile-only   also build everything against the headers of Debian
#                      source qemu=VERSION, from sid (ci/test-compile-only.sh)
#     --foreign-build  a build tree of this machine's release: its modules
#                      and this machine's SDK must be refused in the root
#                      (ci/tests/test-cross-release.py)
#     MESON-TEST-ARGS  default: the unit, loader, qtest, fuzz, guest and deb
#                      suites
#
#   QME_CACHE          the prepared root is cached as roots/RELEASE.tar.gz
#                      (default /var/cache/qemu-modules-extra): made once,
#                      with network, then reused (and made anew when the
#                      setup installs something); the package test's clean
#                      root as roots/RELEASE-deb/
#   QME_RELEASE_LOG    where the root's testlog.json is copied to, for
#                      ci/testlog-summary.py (default: none)
#
# Exit status: 0, or the sum of 1 (a test failed), 2 (the compile-only lane
# failed) and 8 (the cross-release checks failed); 4: the lane could not
# run.
#
# The root lives in a temporary folder that is removed at the end, with
# every mount of ours.  Needs root (debootstrap, chroot, mount).
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
cache=${QME_CACHE:-/var/cache/qemu-modules-extra}
mirror=http://deb.debian.org/debian
compile_only= foreign=
while [ $# -gt 0 ]; do
    case $1 in
    --compile-only) compile_only=${2:?--compile-only needs a version}; shift 2 ;;
    --foreign-build) foreign=${2:?--foreign-build needs a build tree}; shift 2 ;;
    *) break ;;
    esac
done
release=${1:?usage: ci/test-release.sh [--compile-only VERSION] [--foreign-build DIR] RELEASE [MESON-TEST-ARGS...]}
shift
[ $# -gt 0 ] ||
    set -- --suite unit --suite loader --suite qtest --suite fuzz --suite guest --suite sdk \
        --suite deb

say() { echo "test-release($release): $*"; }
die() { say "$*" >&2; exit 4; }
now() { date +%s; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount)"
for t in debootstrap chroot tar git cpio; do
    command -v $t >/dev/null || die "missing $t: run ci/setup-host.sh"
done
case $release in
bookworm|trixie) ;;
*) die "release '$release' is not supported: bookworm (QEMU 7.2) and trixie (QEMU 10.0) are" ;;
esac

t_start=$(now)
work=$(mktemp -d "${TMPDIR:-/tmp}/qme-release-$release.XXXXXX")
root=$work/root
tarball=$cache/roots/$release.tar.gz
# Every mount under the root, deepest first (nested roots of
# ci/test-deb.sh included), then the folder.
unmount_all() {
    awk -v r="$root" '$5 == r || index($5, r "/") == 1 {print $5}' /proc/self/mountinfo |
        sort -r | while read -r m; do umount -l "$m"; done
}
cleanup() {
    unmount_all
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$root"
cold=
if [ -f "$tarball" ]; then
    tar -xzf "$tarball" -C "$root"
    say "root from the cache ($tarball): $(($(now) - t_start)) s"
else
    cold=1
    say "no cached root: debootstrap $release (needs network)"
    debootstrap --variant=minbase --include=ca-certificates "$release" "$root" \
        "$mirror" >"$work/debootstrap.log" 2>&1 ||
        { tail -20 "$work/debootstrap.log"; die "debootstrap failed"; }
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
# No service of the root may start when packages are installed.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# The root is a mount point of its own, as "/" is on a machine (a private
# mount namespace needs one); /sys read-only, for libvirt in the deb suite.
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /sys "$root/sys"
mount -o remount,bind,ro "$root/sys"

# The files git knows or would add (no build trees, no caches), and the
# repository itself, which the package test copies its source from.
rm -rf "$root/src"
mkdir -p "$root/src/qme"
(cd "$top" && git ls-files -z -co --exclude-standard |
    cpio -0 -pdm --quiet "$root/src/qme") &&
    cp -a "$(cd "$top" && git rev-parse --absolute-git-dir)" "$root/src/qme/.git" ||
    die "copying the source tree failed"
in_root() { chroot "$root" /usr/bin/env -u LD_PRELOAD -u QME_MODULE_PATH \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

t=$(now)
packages() { in_root dpkg-query -W -f='${Package} ${Version}\n' | md5sum; }
before=$(packages)
in_root sh -c 'cd /src/qme && ci/setup-host.sh' || die "ci/setup-host.sh failed in the $release root"
if [ -n "$compile_only" ]; then
    in_root sh -c "cd /src/qme && QME_SDK_PCDIR=/usr/local/lib/qemu-module-sdk/compile-only-$(echo "$compile_only" | tr ':' '_') \
        ci/make-sdk.sh --source '$compile_only'" || die "the compile-only SDK failed"
fi
say "setup: $(($(now) - t)) s"
# A root whose setup installed something (a package list grown since it
# was cached) is cached anew.
if [ -n "$cold" ] || [ "$(packages)" != "$before" ]; then
    t=$(now)
    mkdir -p "$(dirname "$tarball")"
    tar -czf "$tarball.tmp" -C "$root" --one-file-system \
        --exclude=./src --exclude='./tmp/*' --exclude=./usr/sbin/policy-rc.d . &&
        mv "$tarball.tmp" "$tarball"
    say "root cached as $tarball ($(du -h "$tarball" | cut -f1)): $(($(now) - t)) s"
fi

# The package test's own clean root of RELEASE is cached outside this
# root, so that it outlives it.
mkdir -p "$cache/roots/$release-deb" "$root/var/cache/qemu-modules-extra/deb"
mount --bind "$cache/roots/$release-deb" "$root/var/cache/qemu-modules-extra/deb"

if [ -n "$foreign" ]; then
    # This machine's SDK at its own path (no release shares a version),
    # its .pc and its modules in a folder of their own.
    sdk=$(pkg-config --variable=prefix qemu-module-sdk)
    mkdir -p "$root/tmp/qme-foreign/pc" "$root/tmp/qme-foreign/modules" "$root$sdk"
    cp -a "$sdk/." "$root$sdk/"
    cp "$(pkg-config --variable=pcfiledir qemu-module-sdk)/qemu-module-sdk.pc" \
        "$root/tmp/qme-foreign/pc/"
    cp "$foreign"/devices/*.so "$root/tmp/qme-foreign/modules/"
    # The package test loads one of them with the installed package too.
    export QME_DEB_FOREIGN_MODULE=/tmp/qme-foreign/modules/mypci_configurable.so
fi
rc=0
t=$(now)
in_root sh -c 'cd /src/qme && CI=true ci/test.sh "$@"' sh "$@" || rc=1
say "tests: $(($(now) - t)) s"
if [ -n "${QME_RELEASE_LOG:-}" ] && [ -f "$root/src/qme/build/meson-logs/testlog.json" ]; then
    cp "$root/src/qme/build/meson-logs/testlog.json" "$QME_RELEASE_LOG"
fi
if [ -n "$foreign" ]; then
    in_root python3 /src/qme/ci/tests/test-cross-release.py /src/qme \
        /src/qme/build /tmp/qme-foreign/pc /tmp/qme-foreign/modules ||
        rc=$((rc | 8))
fi
if [ -n "$compile_only" ]; then
    t=$(now)
    in_root sh -c "cd /src/qme && ci/test-compile-only.sh '$compile_only'" ||
        rc=$((rc | 2))
    say "compile-only lane: $(($(now) - t)) s"
fi
say "$( [ -n "$cold" ] && echo cold || echo warm) run: $(($(now) - t_start)) s"
exit $rc
