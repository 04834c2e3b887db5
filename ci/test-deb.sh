#!/bin/sh
# Build the qemu-modules-extra Debian package and prove it in a clean
# Debian 12 root that has nothing of this source tree: only Debian's
# qemu-system-arm and the .deb.
#
#   ci/test-deb.sh [--no-build] [--root-only]
#     --no-build   reuse the .deb of the previous run in the work folder
#     --root-only  only prepare (and cache) the Debian root, then exit
#
#   QME_CACHE       download cache; the prepared root is cached as
#                   deb/bookworm-minbase-qemu-system-arm_VERSION.tar.gz
#                   (default /var/cache/qemu-modules-extra)
#   QME_DEB_WORK    scratch folder (default /tmp/qme-deb)
#   QME_DEB_DEVICE  the device the test instantiates, with its properties
#                   (default "mypci_configurable,reg=0x42")
#   QME_DEB_EXPECT  a line `info qtree` must show for it
#                   (default "reg = 66 (0x42)")
#   QME_DEB_QOM     PROPERTY=VALUE: a live QOM property of the device and the
#                   value `qom-get` must return (default "value=66", the
#                   register itself; empty: no such check)
#
# Output is TAP.  Needs root (debootstrap, chroot, mount) and the packages
# that ci/setup-host.sh installs.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
cache=${QME_CACHE:-/var/cache/qemu-modules-extra}
work=${QME_DEB_WORK:-/tmp/qme-deb}
device=${QME_DEB_DEVICE:-mypci_configurable,reg=0x42}
expect=${QME_DEB_EXPECT:-reg = 66 (0x42)}
qom=${QME_DEB_QOM-value=66}
mirror=http://deb.debian.org/debian
# A clean PATH: the package build and the chroot see Debian's tools only.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C.UTF-8

build=1 root_only=
for a in "$@"; do
    case $a in
    --no-build) build= ;;
    --root-only) root_only=1 ;;
    *) echo "usage: ci/test-deb.sh [--no-build] [--root-only]" >&2; exit 2 ;;
    esac
done

die() { echo "Bail out! test-deb: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount)"
for t in debootstrap dpkg-buildpackage dpkg-deb lintian objcopy unshare; do
    command -v $t >/dev/null || die "missing $t: run ci/setup-host.sh"
done

t_all=$(now)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # check DESCRIPTION COMMAND...
    d=$1; shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# The QEMU the package is pinned to is the host's: the package build
# compiles against it and the root gets the same version from Debian.
qemu_pkg=qemu-system-arm
qemu_ver=$(dpkg-query -W -f='${Version}' $qemu_pkg) ||
    die "$qemu_pkg is not installed: run ci/setup-host.sh"
tarball=$cache/deb/bookworm-minbase-$qemu_pkg\_$(echo "$qemu_ver" | tr ':' '_').tar.gz
root=$work/root

mkdir -p "$work"
# Whatever happens, no mount of ours outlives the script.
cleanup() {
    for m in "$root/proc" "$root/dev/pts" "$root/dev"; do
        mountpoint -q "$m" 2>/dev/null && umount -l "$m"
    done
    return 0
}
trap cleanup EXIT INT TERM

# ---- 1. the package --------------------------------------------------------
if [ -z "$root_only" ] && [ -n "$build" ]; then
    t=$(now)
    rm -rf "$work/src"
    version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
    src=$work/src/qemu-modules-extra-$version
    mkdir -p "$src"
    # The files git knows or would add: no build trees, no caches.
    (cd "$top" && git ls-files -z -co --exclude-standard |
        cpio -0 -pdm --quiet "$src") || die "copying the source tree failed"
    # In a network namespace of its own (only loopback): the proof that the
    # build needs nothing but the build dependencies and $QME_CACHE.
    unshare --net sh -c "ip link set lo up 2>/dev/null; cd '$src' &&
        dpkg-buildpackage -us -uc -b" >"$work/build.log" 2>&1 || {
        tail -30 "$work/build.log"
        die "dpkg-buildpackage failed (log: $work/build.log)"
    }
    echo "# package build (no network): $(since "$t") s"
    for f in "$work"/src/*.deb "$work"/src/*.changes; do
        [ -f "$f" ] && echo "# built $(basename "$f")"
    done
    t=$(now)
    lintian --fail-on error "$work"/src/*.changes >"$work/lintian.log" 2>&1 &&
        ok "lintian reports no errors" ||
        not_ok "lintian reports no errors"
    sed 's/^/# lintian: /' "$work/lintian.log"
    echo "# lintian: $(since "$t") s"
fi
deb=$(ls "$work"/src/qemu-modules-extra_*.deb 2>/dev/null | head -1)
[ -n "$root_only" ] || [ -n "$deb" ] || die "no .deb in $work/src: run without --no-build"

# ---- 2. a clean Debian 12 root with Debian's QEMU ---------------------------
t=$(now)
rm -rf "$root"
mkdir -p "$root"
if [ -f "$tarball" ]; then
    tar -xzf "$tarball" -C "$root"
    echo "# root from cache $tarball: $(since "$t") s"
else
    mkdir -p "$(dirname "$tarball")"
    debootstrap --variant=minbase bookworm "$root" "$mirror" \
        >"$work/debootstrap.log" 2>&1 ||
        { tail -20 "$work/debootstrap.log"; die "debootstrap failed"; }
    # The same suites as the host, so the exact QEMU version is there.
    rm -f "$root/etc/apt/sources.list"
    grep -l '^Types: deb$' /etc/apt/sources.list.d/*.sources |
        xargs -r cp -t "$root/etc/apt/sources.list.d/"
    mount -t proc proc "$root/proc"
    chroot "$root" sh -c "apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends $qemu_pkg=$qemu_ver &&
        apt-get clean && rm -rf /var/lib/apt/lists/*" \
        >"$work/root-apt.log" 2>&1 ||
        { tail -20 "$work/root-apt.log"; die "installing $qemu_pkg=$qemu_ver in the root failed"; }
    umount "$root/proc"
    tar -czf "$tarball.tmp" -C "$root" . && mv "$tarball.tmp" "$tarball"
    echo "# root prepared (debootstrap + $qemu_pkg $qemu_ver): $(since "$t") s, cached as $tarball"
fi
[ -z "$root_only" ] || exit 0
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
in_root() { chroot "$root" "$@"; }

# ---- 3. install and use the package -----------------------------------------
cp "$deb" "$root/tmp/"
debname=$(basename "$deb")
check "dpkg installs $debname next to Debian's $qemu_pkg $qemu_ver" \
    sh -c "chroot '$root' dpkg -i '/tmp/$debname' >'$work/install.log' 2>&1" ||
    sed 's/^/# dpkg: /' "$work/install.log"
check "the package pins $qemu_pkg (= $qemu_ver)" \
    sh -c "dpkg-deb -f '$deb' Depends | grep -qF '$qemu_pkg (= $qemu_ver)'"
check "nothing of the build tree is referenced by the installed files" \
    sh -c "! grep -rlF '$work/src' '$root/usr/lib/x86_64-linux-gnu/qemu-modules-extra' '$root/usr/bin/qemu-extra'"
for cmd in $(dpkg-deb -c "$deb" | awk '$1 ~ /^-/ && $6 ~ /^\.\/usr\/bin\// {print $6}'); do
    c=$(basename "$cmd")
    check "command $c has a man page" \
        sh -c "ls '$root'/usr/share/man/man*/'$c'.[1-8].gz >/dev/null 2>&1"
done

dev_name=${device%%,*}
mon_in="info pci
xp /1wx 0x4010010000
info qtree
${qom:+qom-get /machine/peripheral/dut ${qom%%=*}
}quit
"
run_qemu() { # run_qemu LOG [extra qemu args]: HMP session on stdin
    log=$1; shift
    printf '%s' "$mon_in" | in_root timeout 30 qemu-extra qemu-system-aarch64 \
        -M virt -cpu max -m 128 -nic none -S -display none -monitor stdio \
        "$@" >"$log" 2>&1
}
t=$(now)
run_qemu "$work/qemu.log" -device "$device,addr=02.0,id=dut" || true
echo "# qemu-extra run: $(since "$t") s"
# The properties `info qtree` lists for the device "dut".
awk '/dev: .*id "dut"/ {on = 1; next} on && /dev: / {exit} on' \
    "$work/qemu.log" >"$work/dut.qtree"
check "qemu-extra -device $device: 'info pci' lists the device at 00:02.0" \
    sh -c "grep -A3 'Bus  0, device   2, function 0' '$work/qemu.log' | grep -q 'PCI device'"
ids=$(sed -n 's/.*0000004010010000: \(0x[0-9a-f]*\).*/\1/p' "$work/qemu.log" | tr -d '\r')
# The same IDs through the other path: a config-space read (ECAM MMIO).
pci_ids=$(grep -A1 'Bus  0, device   2, function 0' "$work/qemu.log" |
    sed -n 's/.*PCI device \([0-9a-f]*\):\([0-9a-f]*\).*/0x\2\1/p')
check "ECAM config read of 00:02.0 returns the IDs info pci shows ($ids = $pci_ids)" \
    sh -c "[ -n '$ids' ] && [ '$ids' = '$pci_ids' ]"
check "info qtree shows '$expect' for $dev_name" \
    sh -c "grep -q 'dev: $dev_name, id \"dut\"' '$work/qemu.log' && grep -qF '$expect' '$work/dut.qtree'"
if [ -n "$qom" ]; then
    got=$(tr -d '\r' <"$work/qemu.log" | awk '/qom-get/ {getline; print; exit}')
    check "qom-get reads the live register back: ${qom%%=*} = $got (want ${qom#*=})" \
        [ "$got" = "${qom#*=}" ]
fi
if [ "$failed" -gt 0 ]; then
    tr -d '\r' <"$work/qemu.log" | grep -v 'info \|^(qemu) x' | sed 's/^/# qemu: /' | head -40
fi

# ---- 4. bad input: a package built for another QEMU build -------------------
rm -rf "$work/other"
dpkg-deb -R "$deb" "$work/other"
sed -i "s/$qemu_pkg (= [^)]*)/$qemu_pkg (= 1:7.2+dfsg-7+deb12u99)/" \
    "$work/other/DEBIAN/control"
dpkg-deb -b "$work/other" "$root/tmp/other.deb" >/dev/null
in_root dpkg -r qemu-modules-extra >/dev/null
rc=0
in_root dpkg -i /tmp/other.deb >"$work/other.log" 2>&1 || rc=$?
sed 's/^/# dpkg: /' "$work/other.log"
check "dpkg refuses a package pinned to another QEMU (exit $rc)" \
    sh -c "[ $rc -ne 0 ] && grep -q 'depends on $qemu_pkg (= 1:7.2+dfsg-7+deb12u99)' '$work/other.log' &&
        grep -qF 'Version of $qemu_pkg on system is $qemu_ver' '$work/other.log'"
in_root dpkg --purge qemu-modules-extra >/dev/null 2>&1 || true
in_root dpkg -i "/tmp/$debname" >/dev/null 2>&1
check "the right package installs again (state 'ii')" \
    sh -c "[ \"\$(chroot '$root' dpkg-query -W -f='\${db:Status-Abbrev}' qemu-modules-extra)\" = 'ii ' ]"

# ---- 5. bad input: QEMU replaced behind the package's back ------------------
qbin=$root/usr/bin/qemu-system-aarch64
cp -p "$qbin" "$work/qemu-system-aarch64.orig"
objcopy --dump-section .note.gnu.build-id="$work/note" "$qbin" "$work/qemu.tmp"
# The note is a 16-byte header and "GNU\0", then the id: flip its bytes.
python3 - "$work/note" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
for i in range(16, len(b)):
    b[i] ^= 0xff
open(p, 'wb').write(b)
PY
objcopy --update-section .note.gnu.build-id="$work/note" "$qbin" "$work/qemu.tmp"
cp "$work/qemu.tmp" "$qbin"
rm -f "$work/qemu.tmp"
rc=0
run_qemu "$work/stale.log" -device "$device,addr=02.0,id=dut" || rc=$?
cp -p "$work/qemu-system-aarch64.orig" "$qbin"
grep 'refusing' "$work/stale.log" | sed 's/^/# loader: /'
check "a rebuilt QEMU: the loader refuses each module with one line" \
    sh -c "grep -c '^qemu-modules-extra: refusing .*/modules/.*\\.so: built for QEMU .* (build-id [0-9a-f]*), but .* is build-id [0-9a-f]*' '$work/stale.log' |
        grep -qx \"\$(ls '$root/usr/lib/x86_64-linux-gnu/qemu-modules-extra/modules' | grep -c '\\.so\$')\""
check "a rebuilt QEMU: -device $dev_name fails with QEMU's error (exit $rc, no crash)" \
    sh -c "[ $rc -eq 1 ] && grep -q \"'$dev_name' is not a valid device model name\" '$work/stale.log'"
rc=0
run_qemu "$work/restored.log" -device "$device,addr=02.0,id=dut" || rc=$?
check "the restored QEMU loads the modules again (exit $rc)" \
    sh -c "[ $rc -eq 0 ] && ! grep -q refusing '$work/restored.log' && grep -qF '$expect' '$work/restored.log'"

echo "# test-deb wall time: $(since "$t_all") s"
echo "1..$n"
[ "$failed" -eq 0 ]
