#!/bin/sh
# Build the qemu-modules-extra Debian packages and prove them in a clean
# Debian root that has nothing of this source tree: only Debian's
# qemu-system-arm and qemu-system-x86 (and libvirt, for the system-wide
# mode) and the .debs.  The release is the running system's
# (VERSION_CODENAME in /etc/os-release: bookworm, trixie): the packages are
# built against its QEMU and the root is debootstrapped from the same
# release, with the same apt suites.
#
#   ci/test-deb.sh [--no-build] [--root-only]
#     --no-build   reuse the .deb of the previous run in the work folder
#     --root-only  only prepare (and cache) the Debian root, then exit
#
#   QME_CACHE       download cache; the prepared root is cached as
#                   deb/CODENAME-minbase-qemu-system-arm_VERSION+x86+libvirt.tar.gz
#                   (default /var/cache/qemu-modules-extra); making it needs
#                   network (apt in the root), once
#   QME_DEB_WORK    scratch folder (default /tmp/qme-deb)
#   QME_DEB_DEVICE  the device the test instantiates, with its properties
#                   (default "mypci_configurable,reg=0x42")
#   QME_DEB_EXPECT  a line `info qtree` must show for it
#                   (default "reg = 66 (0x42)")
#   QME_DEB_QOM     PROPERTY=VALUE: a live QOM property of the device and the
#                   value `qom-get` must return (default "value=66", the
#                   register itself; empty: no such check)
#   QME_DEB_FOREIGN_MODULE
#                   a module .so built for another QEMU build (for example
#                   the device module of a Debian 12 build tree, tried on
#                   Debian 13): the stock emulator with the package's loader
#                   must refuse it with one line naming both builds, and
#                   not crash (unset: no such check)
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
foreign=${QME_DEB_FOREIGN_MODULE:-}
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
for t in debootstrap dpkg-buildpackage dpkg-deb git ip lintian objcopy readelf unshare; do
    command -v $t >/dev/null || die "missing $t: run ci/setup-host.sh"
done

# The release of the running system: the package is built on it and the
# root is made of it.
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release"
[ -z "$foreign" ] || [ -f "$foreign" ] ||
    die "QME_DEB_FOREIGN_MODULE=$foreign: no such file"

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
# The PCI devices run in qemu-system-x86_64 of the same build too: the
# package pins it and the system-wide mode wraps it.
x86_pkg=qemu-system-x86
[ "$(dpkg-query -W -f='${Version}' $x86_pkg 2>/dev/null)" = "$qemu_ver" ] ||
    die "$x86_pkg $qemu_ver is not installed: run ci/setup-host.sh"
# The root also has Debian's qemu-system-x86 and libvirt (and AppArmor's
# parser), for the system-wide mode, and what a device of one's own is
# built with against qemu-modules-extra-dev (a compiler, meson, the -dev
# package's dependencies).  A root cached without them is extended and
# cached anew.
root_extra="$x86_pkg=$qemu_ver libvirt-daemon-system libvirt-clients apparmor"
root_extra="$root_extra gcc libc6-dev meson ninja-build pkg-config libglib2.0-dev libpixman-1-dev python3"
base_tarball=$cache/deb/$codename-minbase-$qemu_pkg\_$(echo "$qemu_ver" | tr ':' '_').tar.gz
tarball=${base_tarball%.tar.gz}+x86+libvirt+sdk.tar.gz
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
    unshare --net sh -c "ip link set lo up && cd '$src' &&
        dpkg-buildpackage -us -uc -b" >"$work/build.log" 2>&1 || {
        tail -30 "$work/build.log"
        die "dpkg-buildpackage failed (log: $work/build.log)"
    }
    echo "# package build (no network): $(since "$t") s"
    for f in "$work"/src/*.deb "$work"/src/*.changes; do
        [ -f "$f" ] && echo "# built $(basename "$f")"
    done
    t=$(now)
    # lintian leaves its MLDBM caches (mldbm-elf-*) in $TMPDIR: ours, not /tmp.
    rm -rf "$work/lintian-tmp" && mkdir -p "$work/lintian-tmp"
    stray_before=$(ls -d /tmp/mldbm-* 2>/dev/null | sort)
    TMPDIR=$work/lintian-tmp lintian --fail-on error "$work"/src/*.changes \
        >"$work/lintian.log" 2>&1 &&
        ok "lintian reports no errors" ||
        not_ok "lintian reports no errors"
    rm -rf "$work/lintian-tmp"
    [ "$(ls -d /tmp/mldbm-* 2>/dev/null | sort)" = "$stray_before" ] &&
        ok "lintian leaves no files in /tmp" ||
        not_ok "lintian leaves no files in /tmp"
    sed 's/^/# lintian: /' "$work/lintian.log"
    echo "# lintian: $(since "$t") s"
fi
deb=$(ls "$work"/src/qemu-modules-extra_*.deb 2>/dev/null | head -1)
sysdeb=$(ls "$work"/src/qemu-modules-extra-system_*.deb 2>/dev/null | head -1)
devdeb=$(ls "$work"/src/qemu-modules-extra-dev_*.deb 2>/dev/null | head -1)
[ -n "$root_only" ] || { [ -n "$deb" ] && [ -n "$sysdeb" ] && [ -n "$devdeb" ]; } ||
    die "no .deb in $work/src: run without --no-build"

# ---- 2. a clean root of the same release with Debian's QEMU -----------------
t=$(now)
rm -rf "$root"
mkdir -p "$root"
if [ -f "$tarball" ]; then
    tar -xzf "$tarball" -C "$root"
    echo "# root from cache $tarball: $(since "$t") s"
else
    mkdir -p "$(dirname "$tarball")"
    if [ -f "${base_tarball%.tar.gz}+x86+libvirt.tar.gz" ]; then
        tar -xzf "${base_tarball%.tar.gz}+x86+libvirt.tar.gz" -C "$root"
    elif [ -f "${base_tarball%.tar.gz}+libvirt.tar.gz" ]; then
        tar -xzf "${base_tarball%.tar.gz}+libvirt.tar.gz" -C "$root"
    elif [ -f "$base_tarball" ]; then
        tar -xzf "$base_tarball" -C "$root"
    else
        debootstrap --variant=minbase "$codename" "$root" "$mirror" \
            >"$work/debootstrap.log" 2>&1 ||
            { tail -20 "$work/debootstrap.log"; die "debootstrap failed"; }
        # The same suites as the host, so the exact QEMU version is there:
        # its deb822 sources of binary packages, and the binary lines of
        # one-line-style lists (as a debootstrapped system has).
        rm -f "$root/etc/apt/sources.list"
        grep -ls '^Types: deb$' /etc/apt/sources.list.d/*.sources |
            xargs -r cp -t "$root/etc/apt/sources.list.d/"
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            grep '^deb ' >"$root/etc/apt/sources.list" ||
            rm -f "$root/etc/apt/sources.list"
    fi
    mount -t proc proc "$root/proc"
    # No service of the root may start during the installation.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    chroot "$root" sh -c "apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends $qemu_pkg=$qemu_ver $root_extra &&
        apt-get clean && rm -rf /var/lib/apt/lists/*" \
        >"$work/root-apt.log" 2>&1 ||
        { umount "$root/proc"; tail -20 "$work/root-apt.log"
          die "installing $qemu_pkg=$qemu_ver $root_extra in the root failed (needs network once)"; }
    umount "$root/proc"
    rm -f "$root/usr/sbin/policy-rc.d"
    tar -czf "$tarball.tmp" -C "$root" . && mv "$tarball.tmp" "$tarball"
    echo "# root prepared ($qemu_pkg $qemu_ver, $root_extra): $(since "$t") s, cached as $tarball"
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
for p in $qemu_pkg $x86_pkg; do
    check "the package pins $p (= $qemu_ver)" \
        sh -c "dpkg-deb -f '$deb' Depends | grep -qF '$p (= $qemu_ver)'"
done
check "nothing of the build tree is referenced by the installed files" \
    sh -c "! grep -rlF '$work/src' '$root/usr/lib/x86_64-linux-gnu/qemu-modules-extra' '$root/usr/bin/qemu-extra'"
# The SDK: qemu-modules-extra-dev, pinned as the runtime package.
devdebname=$(basename "$devdeb")
cp "$devdeb" "$root/tmp/"
check "dpkg installs $devdebname (the SDK)" \
    sh -c "chroot '$root' dpkg -i '/tmp/$devdebname' >'$work/install-dev.log' 2>&1" ||
    sed 's/^/# dpkg: /' "$work/install-dev.log"
for p in $qemu_pkg $x86_pkg; do
    check "the -dev package pins $p (= $qemu_ver), as the runtime package" \
        sh -c "dpkg-deb -f '$devdeb' Depends | grep -qF '$p (= $qemu_ver)'"
done
check "the -dev package needs the runtime package of its own version" \
    sh -c "dpkg-deb -f '$devdeb' Depends | grep -qF 'qemu-modules-extra (= $(dpkg-deb -f "$deb" Version))'"
echo "# qemu-modules-extra-dev: $(dpkg-deb -c "$devdeb" | grep -c '^-') files," \
    "Installed-Size $(dpkg-deb -f "$devdeb" Installed-Size) KiB," \
    ".deb $(stat -c %s "$devdeb") bytes"
check "nothing of the build tree is referenced by the SDK's files" \
    sh -c "! grep -rlF '$work/src' '$root/usr/include/qemu-modules-extra' '$root/usr/share/qemu-modules-extra/sdk' '$root/usr/lib/x86_64-linux-gnu/pkgconfig/qemu-modules-extra.pc' '$root'/usr/bin/qme-*"
# The system-wide package's command keeps Debian's name and manual page.
for cmd in $(for d in "$deb" "$sysdeb" "$devdeb"; do dpkg-deb -c "$d"; done |
             awk '$1 ~ /^-/ && $6 ~ /^\.\/usr\/bin\// {print $6}'); do
    c=$(basename "$cmd")
    check "command $c has a man page" \
        sh -c "ls '$root'/usr/share/man/man*/'$c'.[1-8].gz >/dev/null 2>&1"
done

dev_name=${device%%,*}
# target aarch64|x86_64: which emulator the next runs use, its machine and
# how the monitor reads 00:02.0's IDs from config space (virt: ECAM MMIO;
# q35, which has no ECAM before firmware maps it: ports 0xcf8/0xcfc).
target() {
    case $1 in
    aarch64)
        qemu_name=qemu-system-aarch64 machine="-M virt -cpu max"
        cfg_read="xp /1wx 0x4010010000"
        cfg_re='.*0000004010010000: \(0x[0-9a-f]*\).*' ;;
    x86_64)
        qemu_name=qemu-system-x86_64 machine="-M q35"
        cfg_read="o /w 0xcf8 0x80001000
i /w 0xcfc"
        cfg_re='.*portl\[0x0cfc\] = \(0x[0-9a-f]*\).*' ;;
    esac
    mon_in="info pci
$cfg_read
info qtree
${qom:+qom-get /machine/peripheral/dut ${qom%%=*}
}quit
"
}
target aarch64
# The command that starts QEMU: the launcher, later the plain binary.
qemu_cmd="qemu-extra $qemu_name"
run_qemu() { # run_qemu LOG [extra qemu args]: HMP session on stdin
    log=$1; shift
    printf '%s' "$mon_in" | in_root timeout 30 $qemu_cmd \
        $machine -m 128 -nic none -S -display none -monitor stdio \
        "$@" >"$log" 2>&1
}
device_checks() { # device_checks LOG: the device "dut" at 00:02.0, its value
    log=$1 f0=$failed
    # The properties `info qtree` lists for the device "dut".
    awk '/dev: .*id "dut"/ {on = 1; next} on && /dev: / {exit} on' \
        "$log" >"$log.qtree"
    check "$qemu_cmd -device $device: 'info pci' lists the device at 00:02.0" \
        sh -c "grep -A3 'Bus  0, device   2, function 0' '$log' | grep -q 'PCI device'"
    ids=$(sed -n "s/$cfg_re/\\1/p" "$log" | tr -d '\r')
    # The same IDs through the other path: a config-space read.
    pci_ids=$(grep -A1 'Bus  0, device   2, function 0' "$log" |
        sed -n 's/.*PCI device \([0-9a-f]*\):\([0-9a-f]*\).*/0x\2\1/p')
    check "$qemu_cmd: config-space read of 00:02.0 returns the IDs info pci shows ($ids = $pci_ids)" \
        sh -c "[ -n '$ids' ] && [ '$ids' = '$pci_ids' ]"
    check "$qemu_cmd: info qtree shows '$expect' for $dev_name" \
        sh -c "grep -q 'dev: $dev_name, id \"dut\"' '$log' && grep -qF '$expect' '$log.qtree'"
    if [ -n "$qom" ]; then
        got=$(tr -d '\r' <"$log" | awk '/qom-get/ {getline; print; exit}')
        check "$qemu_cmd: qom-get reads the live register back: ${qom%%=*} = $got (want ${qom#*=})" \
            [ "$got" = "${qom#*=}" ]
    fi
    if [ "$failed" -gt "$f0" ]; then
        tr -d '\r' <"$log" | grep -v 'info \|^(qemu) x' | sed 's/^/# qemu: /' | head -40
    fi
}
t=$(now)
run_qemu "$work/qemu.log" -device "$device,addr=02.0,id=dut" || true
echo "# qemu-extra run: $(since "$t") s"
device_checks "$work/qemu.log"
target x86_64
qemu_cmd="qemu-extra $qemu_name"
run_qemu "$work/qemu-x86.log" -device "$device,addr=02.0,id=dut" || true
device_checks "$work/qemu-x86.log"
target aarch64
qemu_cmd="qemu-extra $qemu_name"

# ---- 3b. a device of one's own, through the SDK ----------------------------
# As a user would, in a folder of the root outside anything of ours: the
# SDK found by pkg-config alone (no PKG_CONFIG_PATH).
user_dir=/tmp/user-devices
rm -rf "$root$user_dir" && mkdir -p "$root$user_dir"
user_sh() { # user_sh LOG COMMAND: in $user_dir of the root, timed (user_time)
    t=$(now)
    in_root env -u PKG_CONFIG_PATH -u QME_MODULE_PATH -u LD_PRELOAD \
        -u MESON_TESTTHREADS HOME=/root sh -c "cd $user_dir && $2" >"$1" 2>&1 ||
        true
    user_time=$(since "$t")
}
show_if_failed() { # show_if_failed LOG: its end, if the last check failed
    [ "$failed" -eq "$f_seen" ] || tail -20 "$1" | sed 's/^/# log: /'
    f_seen=$failed
}
f_seen=$failed
for kind in pci platform; do
    name=mydev-$kind
    user_sh "$work/user-$kind-new.log" "qme-new-device $name --$kind"
    check "qme-new-device $name --$kind (${user_time} s)" \
        test -f "$root$user_dir/$name/tests/qtest-$name.c"
    user_sh "$work/user-$kind-setup.log" "cd $name && meson setup build"
    check "$name: meson setup build finds the SDK by pkg-config alone (${user_time} s)" \
        grep -q 'Run-time dependency qemu-modules-extra found: YES' "$work/user-$kind-setup.log"
    show_if_failed "$work/user-$kind-setup.log"
    user_sh "$work/user-$kind-compile.log" "cd $name && meson compile -C build"
    check "$name: meson compile -C build (${user_time} s)" \
        test -f "$root$user_dir/$name/build/$name.so"
    show_if_failed "$work/user-$kind-compile.log"
    user_sh "$work/user-$kind-test.log" "cd $name && meson test -C build"
    check "$name: meson test -C build runs the generated qtest and regmap check (${user_time} s)" \
        sh -c "grep -q 'qtest-$name *OK' '$work/user-$kind-test.log' &&
            grep -q '^Ok: *2' '$work/user-$kind-test.log'"
    show_if_failed "$work/user-$kind-test.log"
    user_sh "$work/user-$kind-help.log" \
        "cd $name && qemu-extra --module-path build qemu-system-aarch64 -M virt -nic none -device help"
    check "$name: qemu-extra --module-path build ... -device help lists it (${user_time} s)" \
        sh -c "grep -q 'name \"$name\"' '$work/user-$kind-help.log' &&
            ! grep -q refusing '$work/user-$kind-help.log'"
done

# ---- 4. bad input: a package built for another QEMU build -------------------
rm -rf "$work/other"
dpkg-deb -R "$deb" "$work/other"
# A version of the QEMU package that is not the installed one.
other_ver=$qemu_ver+other99
sed -i "s/$qemu_pkg (= [^)]*)/$qemu_pkg (= $other_ver)/" \
    "$work/other/DEBIAN/control"
dpkg-deb -b "$work/other" "$root/tmp/other.deb" >/dev/null
in_root dpkg -r qemu-modules-extra-dev qemu-modules-extra >/dev/null
rc=0
in_root dpkg -i /tmp/other.deb >"$work/other.log" 2>&1 || rc=$?
sed 's/^/# dpkg: /' "$work/other.log"
check "dpkg refuses a package pinned to another QEMU (exit $rc)" \
    sh -c "[ $rc -ne 0 ] && grep -qF 'depends on $qemu_pkg (= $other_ver)' '$work/other.log' &&
        grep -qF 'Version of $qemu_pkg on system is $qemu_ver' '$work/other.log'"
in_root dpkg --purge qemu-modules-extra >/dev/null 2>&1 || true
in_root dpkg -i "/tmp/$debname" "/tmp/$devdebname" >/dev/null 2>&1
check "the right packages install again (state 'ii')" \
    sh -c "[ \"\$(chroot '$root' dpkg-query -W -f='\${db:Status-Abbrev}' qemu-modules-extra)\" = 'ii ' ] &&
        [ \"\$(chroot '$root' dpkg-query -W -f='\${db:Status-Abbrev}' qemu-modules-extra-dev)\" = 'ii ' ]"

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
mv "$work/qemu.tmp" "$work/qemu-stale"
cp "$work/qemu-stale" "$qbin"
rc=0
run_qemu "$work/stale.log" -device "$device,addr=02.0,id=dut" || rc=$?
cp -p "$work/qemu-system-aarch64.orig" "$qbin"
grep 'refusing' "$work/stale.log" | sed 's/^/# loader: /'
stale_checks() { # stale_checks LOG RC WHAT: a QEMU of another build-id
    check "$3: the loader refuses each module with one line" \
        sh -c "grep -c '^qemu-modules-extra: refusing .*/modules/.*\\.so: built for QEMU .* (build-id [0-9a-f,]*), but .* is build-id [0-9a-f]*' '$1' |
            grep -qx \"\$(ls '$root/usr/lib/x86_64-linux-gnu/qemu-modules-extra/modules' | grep -c '\\.so\$')\""
    check "$3: -device $dev_name fails with QEMU's error (exit $2, no crash)" \
        sh -c "[ $2 -eq 1 ] && grep -q \"'$dev_name' is not a valid device model name\" '$1'"
}
stale_checks "$work/stale.log" "$rc" "a rebuilt QEMU"
# A user's module after the same upgrade: one line, with the command that
# rebuilds it.
cp "$work/qemu-stale" "$qbin"
user_sh "$work/user-stale.log" \
    "qemu-extra --module-path mydev-pci/build qemu-system-aarch64 -M virt -nic none -device help"
cp -p "$work/qemu-system-aarch64.orig" "$qbin"
grep "refusing $user_dir" "$work/user-stale.log" | sed 's/^/# loader: /'
check "a rebuilt QEMU: the user's module is refused with one line naming the command that rebuilds it" \
    sh -c "[ \$(grep -c 'refusing $user_dir/mydev-pci/build/mydev-pci.so:' '$work/user-stale.log') -eq 1 ] &&
        grep -F 'refusing $user_dir/mydev-pci/build/mydev-pci.so:' '$work/user-stale.log' |
        grep -qF 'qemu-modules-extra-dev of this QEMU build): meson setup --reconfigure $user_dir/mydev-pci/build $user_dir/mydev-pci && meson compile -C $user_dir/mydev-pci/build'"
user_sh "$work/user-restored.log" \
    "qemu-extra --module-path mydev-pci/build qemu-system-aarch64 -M virt -nic none -device help"
check "the restored QEMU loads the user's module again" \
    sh -c "grep -q 'name \"mydev-pci\"' '$work/user-restored.log' && ! grep -q refusing '$work/user-restored.log'"
rc=0
run_qemu "$work/restored.log" -device "$device,addr=02.0,id=dut" || rc=$?
check "the restored QEMU loads the modules again (exit $rc)" \
    sh -c "[ $rc -eq 0 ] && ! grep -q refusing '$work/restored.log' && grep -qF '$expect' '$work/restored.log'"

# ---- 5b. bad input: a module built for another release's QEMU --------------
# (QME_DEB_FOREIGN_MODULE, e.g. Debian 12's on Debian 13.)  Only the
# package's loader and the stock emulator: the folder holds just that module.
if [ -n "$foreign" ]; then
    objcopy --dump-section .qme_build="$work/foreign.stamp" "$foreign" \
        "$work/foreign.tmp" 2>/dev/null || die "$foreign has no .qme_build stamp"
    rm -f "$work/foreign.tmp"
    stamp_field() { tr -d '\0' <"$work/foreign.stamp" | tr ';' '\n' | sed -n "s/^$1=//p"; }
    f_ids=$(stamp_field build-id) f_ver=$(stamp_field qemu) f_pkg=$(stamp_field package)
    exe_id=$(readelf -n "$qbin" | sed -n 's/.*Build ID: *//p')
    loader=$(dpkg-deb -c "$deb" | awk '$6 ~ /\/qme-loader\.so$/ {print substr($6, 2)}')
    f_name=$(basename "$foreign")
    f_type=${f_name%.so}
    rm -rf "$root/tmp/foreign" && mkdir "$root/tmp/foreign"
    cp "$foreign" "$root/tmp/foreign/"
    qemu_cmd="env LD_PRELOAD=$loader QME_MODULE_PATH=/tmp/foreign qemu-system-aarch64"
    rc=0
    run_qemu "$work/foreign.log" -device "$f_type,addr=02.0,id=dut" || rc=$?
    grep '^qemu-modules-extra:' "$work/foreign.log" | sed 's/^/# loader: /'
    refusal="qemu-modules-extra: refusing /tmp/foreign/$f_name: built for QEMU $f_ver (build-id $f_ids), but /usr/bin/qemu-system-aarch64 is build-id $exe_id;"
    check "a module built for QEMU $f_pkg is refused by $qemu_pkg $qemu_ver's emulator with one line naming both builds" \
        sh -c "[ -n '$f_ids' ] && [ -n '$exe_id' ] && ! echo ',$f_ids,' | grep -qF ',$exe_id,' &&
            [ \$(grep -c '^qemu-modules-extra:' '$work/foreign.log') -eq 1 ] &&
            [ \$(grep -cF '$refusal' '$work/foreign.log') -eq 1 ]"
    check "... and -device $f_type fails with QEMU's error (exit $rc, no crash)" \
        sh -c "[ $rc -eq 1 ] && grep -q \"'$f_type' is not a valid device model name\" '$work/foreign.log'"
    qemu_cmd="qemu-extra qemu-system-aarch64"
fi

# ---- 6. the system-wide mode (package qemu-modules-extra-system) -----------
t6=$(now)
sysdebname=$(basename "$sysdeb")
cp "$sysdeb" "$root/tmp/"
qpath=/usr/bin/qemu-system-aarch64
distrib=$qpath.distrib
x86path=/usr/bin/qemu-system-x86_64
x86distrib=$x86path.distrib
debian_md5() { # debian_md5 PATH PACKAGE: the checksum dpkg recorded
    awk -v p="${1#/}" '$2 == p {print $1}' "$root/var/lib/dpkg/info/$2.md5sums"
}
debian_md5=$(debian_md5 $qpath $qemu_pkg)
x86_md5=$(debian_md5 $x86path $x86_pkg)
md5_in_root() {
    if [ -f "$root$1" ]; then md5sum <"$root$1" | cut -d' ' -f1; else echo absent; fi
}
# What enabling and disabling may change: diversions, the two binaries and
# the package's state (n: not installed, i: installed, ...).
state() { # state FILE
    {
        in_root dpkg-divert --list | sort
        for f in "$qpath" "$distrib" "$x86path" "$x86distrib"; do
            echo "$f $(md5_in_root "$f")"
        done
        st=$(in_root dpkg-query -W -f='${db:Status-Abbrev}' qemu-modules-extra-system 2>/dev/null) || st=un
        echo "qemu-modules-extra-system state $(echo "$st" | cut -c2)"
    } >"$1"
}
same_state() { # same_state A B: and show the difference
    cmp -s "$1" "$2" || { diff "$1" "$2" | sed 's/^/# state: /'; return 1; }
}
# Options that have nothing to do with our devices, run through a command:
# NAME ARGS per line; each probe's stdout, stderr and exit code are kept.
probes="version --version
machines -machine help
devices -M virt -device help
cpus -M virt -cpu help
datadirs -L help
boot -M virt -cpu max -m 128 -nic none -S -display none -monitor stdio
badopt -no-such-option
badprop -M virt -nic none -display none -device pci-testdev,no-such-prop=1
nodevice -M virt -nic none -display none -S -monitor stdio -device $dev_name"
# The same on q35 for qemu-system-x86_64.
probes_for() { # probes_for COMMAND...: the probes for the emulator it runs
    eval "last=\${$#}"
    case $last in
    *x86_64) echo "$probes" | sed 's/-M virt/-M q35/; s/ -cpu max / /' ;;
    *) echo "$probes" ;;
    esac
}
run_probes() { # run_probes DIR COMMAND...
    dir=$1; shift
    mkdir -p "$dir"
    probes_for "$@" | while read -r name args; do
        rc=0
        printf 'info status\nquit\n' | in_root timeout 30 "$@" $args \
            >"$dir/$name.out" 2>"$dir/$name.err" || rc=$?
        echo $rc >"$dir/$name.rc"
    done
}
same_probe() { # same_probe DIR-A DIR-B NAME
    for x in out err rc; do
        cmp -s "$1/$3.$x" "$2/$3.$x" || {
            diff "$1/$3.$x" "$2/$3.$x" | head -5 | sed "s/^/# $3.$x: /"
            return 1
        }
    done
}
probe_args() { probes_for "$2" | sed -n "s/^$1 //p"; } # probe_args NAME BINARY

run_probes "$work/probe-stock" qemu-system-aarch64
run_probes "$work/probe-extra" qemu-extra qemu-system-aarch64
run_probes "$work/probe-stock-x86" qemu-system-x86_64
run_probes "$work/probe-extra-x86" qemu-extra qemu-system-x86_64
check "before enabling: plain -device $dev_name fails with QEMU's error" \
    sh -c "[ \$(cat '$work/probe-stock/nodevice.rc') -eq 1 ] &&
        grep -q \"'$dev_name' is not a valid device model name\" '$work/probe-stock/nodevice.err'"

# Bad input: enabling with a QEMU whose build-id is not the modules'.
cp "$work/qemu-stale" "$qbin"
state "$work/state.0"
rc=0
in_root dpkg -i "/tmp/$sysdebname" >"$work/sys-stale.log" 2>&1 || rc=$?
state "$work/state.1"
cp -p "$work/qemu-system-aarch64.orig" "$qbin"
sed 's/^/# dpkg: /' "$work/sys-stale.log"
check "enabling with a QEMU of another build-id is refused with one line (exit $rc)" \
    sh -c "[ $rc -ne 0 ] && [ \$(grep -c '^qemu-modules-extra-system: not enabling the system-wide mode: $qpath is build-id [0-9a-f]*, but the modules are built for build-id [0-9a-f]*' '$work/sys-stale.log') -eq 1 ]"
check "... and changes nothing (diversions, binaries, package state)" \
    same_state "$work/state.0" "$work/state.1"

# Bad input: disabling when not enabled.
state "$work/state.0"
rc=0
in_root dpkg -r qemu-modules-extra-system >"$work/sys-off-twice.log" 2>&1 || rc=$?
state "$work/state.1"
sed 's/^/# dpkg: /' "$work/sys-off-twice.log"
ok=no
[ "$rc" -eq 0 ] && [ "$(wc -l <"$work/sys-off-twice.log")" -eq 1 ] &&
    grep -q "ignoring request to remove qemu-modules-extra-system which isn't installed" "$work/sys-off-twice.log" &&
    same_state "$work/state.0" "$work/state.1" && ok=yes
check "disabling when not enabled: one line, exit $rc, nothing changed" [ "$ok" = yes ]

# Enable.
rc=0
in_root dpkg -i "/tmp/$sysdebname" >"$work/sys-on.log" 2>&1 || rc=$?
sed 's/^/# dpkg: /' "$work/sys-on.log"
check "enabling: dpkg -i $sysdebname (exit $rc)" [ "$rc" -eq 0 ]
for w in "$qpath $distrib $debian_md5 $qemu_pkg" "$x86path $x86distrib $x86_md5 $x86_pkg"; do
    set -- $w
    check "enabling diverts $1 to $2 (dpkg-divert --list)" \
        sh -c "chroot '$root' dpkg-divert --list | grep -qxF 'diversion of $1 to $2 by qemu-modules-extra-system'"
    check "$2 is Debian's binary (md5 $3, $4.md5sums)" \
        [ "$(md5_in_root "$2")" = "$3" ]
done

# The plain commands, with the same checks as qemu-extra's, and everything
# else as before.
for tgt in aarch64 x86_64; do
    target $tgt
    sfx=${tgt#aarch64}
    sfx=${sfx:+-x86}
    qemu_cmd=$qemu_name
    t=$(now)
    run_qemu "$work/plain$sfx.log" -device "$device,addr=02.0,id=dut" || true
    echo "# plain $qemu_name run: $(since "$t") s"
    device_checks "$work/plain$sfx.log"

    run_probes "$work/probe-plain$sfx" $qemu_name
    for p in $(echo "$probes" | cut -d' ' -f1); do
        case $p in devices|nodevice) continue ;; esac
        check "mode on: '$qemu_name $(probe_args $p $qemu_name)' gives Debian's output and exit code ($(cat "$work/probe-plain$sfx/$p.rc"))" \
            same_probe "$work/probe-stock$sfx" "$work/probe-plain$sfx" "$p"
    done
    added=$(diff "$work/probe-stock$sfx/devices.out" "$work/probe-plain$sfx/devices.out" | grep -c '^>') || true
    ok=no
    [ "$added" -gt 0 ] &&
        ! diff "$work/probe-stock$sfx/devices.out" "$work/probe-plain$sfx/devices.out" | grep -q '^<' &&
        same_probe "$work/probe-extra$sfx" "$work/probe-plain$sfx" devices && ok=yes
    check "mode on: $qemu_name -device help is Debian's list plus $added lines, the same as qemu-extra's" \
        [ "$ok" = yes ]
done
target aarch64

# qemu-extra through the wrapper: both add the same folder, read once.
qemu_cmd="qemu-extra qemu-system-aarch64"
rc=0
run_qemu "$work/plain-extra.log" -device "$device,addr=02.0,id=dut" || rc=$?
check "mode on: qemu-extra still works (exit $rc, no loader message)" \
    sh -c "[ $rc -eq 0 ] && ! grep -q '^qemu-modules-extra:' '$work/plain-extra.log' &&
        grep -qF '$expect' '$work/plain-extra.log'"
qemu_cmd=qemu-system-aarch64

# Bad input: enabling twice.
state "$work/state.0"
rc=0
in_root dpkg -i "/tmp/$sysdebname" >"$work/sys-on-twice.log" 2>&1 || rc=$?
rc2=0
in_root apt-get install -y "/tmp/$sysdebname" >"$work/sys-on-twice-apt.log" 2>&1 || rc2=$?
state "$work/state.1"
grep 'qemu-modules-extra-system' "$work/sys-on-twice-apt.log" | sed 's/^/# apt: /'
ok=no
[ "$rc" -eq 0 ] && [ "$rc2" -eq 0 ] &&
    grep -q '^qemu-modules-extra-system is already the newest version' "$work/sys-on-twice-apt.log" &&
    same_state "$work/state.0" "$work/state.1" && ok=yes
check "enabling twice: dpkg -i (exit $rc) and apt install (exit $rc2, 'already the newest version') change nothing" \
    [ "$ok" = yes ]

# A QEMU of another build-id arriving while the mode is on (as dpkg would
# unpack one to the diverted name): the loader still refuses the modules.
cp "$work/qemu-stale" "$root$distrib"
rc=0
run_qemu "$work/plain-stale.log" -device "$device,addr=02.0,id=dut" || rc=$?
cp -p "$work/qemu-system-aarch64.orig" "$root$distrib"
stale_checks "$work/plain-stale.log" "$rc" "mode on, QEMU of another build-id"

# libvirt: the plain binary is what it starts.  libvirtd runs in the root,
# in PID, mount and network namespaces of its own: it and every QEMU it
# starts end with the namespace, and nothing it sets up reaches the machine.
# The root is bind-mounted on itself there, so that it is a mount point as
# on a real host (libvirt gives each QEMU a mount namespace of its own).
cat >"$root/tmp/qme-libvirt.sh" <<'EOF'
#!/bin/sh
# qme-libvirt.sh DEVICE QOM-PROPERTY: start a paused domain with DEVICE
# passed through on QEMU's command line, and query it.
set -u
virsh() { command virsh -q -c qemu:///system "$@"; }
mount -t proc proc /proc
mkdir -p /run/libvirt
rm -f /var/log/libvirt/qemu/qme-dom.log
libvirtd --daemon --pid-file=/run/qme-libvirtd.pid || { echo "libvirtd did not start"; exit 1; }
i=0
while [ ! -S /run/libvirt/libvirt-sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
cat >/tmp/qme-dom.xml <<XML
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>qme-dom</name>
  <memory unit='MiB'>128</memory>
  <os><type arch='aarch64' machine='virt'>hvm</type></os>
  <cpu mode='custom' match='exact'><model>cortex-a57</model></cpu>
  <devices><emulator>/usr/bin/qemu-system-aarch64</emulator></devices>
  <qemu:commandline>
    <qemu:arg value='-device'/>
    <qemu:arg value='$1,id=dut'/>
  </qemu:commandline>
</domain>
XML
virsh create /tmp/qme-dom.xml --paused
echo "== create rc=$?"
if [ -f /run/libvirt/qemu/qme-dom.pid ]; then
    echo "== exe $(readlink "/proc/$(cat /run/libvirt/qemu/qme-dom.pid)/exe")"
    echo "== info pci"
    virsh qemu-monitor-command --hmp qme-dom 'info pci'
    echo "== info qtree"
    virsh qemu-monitor-command --hmp qme-dom 'info qtree'
    [ -z "$2" ] || virsh qemu-monitor-command qme-dom \
        "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine/peripheral/dut\",\"property\":\"$2\"}}" |
        sed 's/^/== qom-get /'
    virsh destroy qme-dom >/dev/null
fi
echo "== QEMU's log"
cat /var/log/libvirt/qemu/qme-dom.log
kill "$(cat /run/qme-libvirtd.pid)"
EOF
# The domain's output goes to its log file rather than through virtlogd,
# which systemd would start on a real host.
echo 'stdio_handler = "file"' >>"$root/etc/libvirt/qemu.conf"
libvirt_session() { # libvirt_session LOG
    t=$(now)
    timeout 120 unshare --fork --kill-child --pid --mount --net --propagation private \
        sh -c "mount --bind '$root' '$root' && mount --bind /dev '$root/dev' &&
            mount --bind /sys '$root/sys' &&
            exec chroot '$root' sh /tmp/qme-libvirt.sh '$device' '${qom%%=*}'" \
        >"$1" 2>&1 || true
    echo "# libvirt session: $(since "$t") s"
}
libvirt_session "$work/libvirt-on.log"
check "libvirt, mode on: a domain with <qemu:arg value='-device'/> '$device' starts" \
    grep -q '^== create rc=0' "$work/libvirt-on.log"
# (Read from outside QEMU's own mount namespace, the path is the host's.)
check "libvirt, mode on: the QEMU process runs $distrib" \
    grep -q "^== exe .*$distrib\$" "$work/libvirt-on.log"
check "libvirt, mode on: 'info pci' lists the device (id \"dut\") and 'info qtree' shows '$expect'" \
    sh -c "sed -n '/^== info pci/,/^== info qtree/p' '$work/libvirt-on.log' | grep -q 'id \"dut\"' &&
        sed -n '/^== info qtree/,/^== /p' '$work/libvirt-on.log' | grep -A12 'dev: $dev_name, id \"dut\"' | grep -qF '$expect'"
if [ -n "$qom" ]; then
    got=$(sed -n 's/^== qom-get .*"return": *\([^,}]*\).*/\1/p' "$work/libvirt-on.log")
    check "libvirt, mode on: qom-get over QMP reads ${qom%%=*} = $got (want ${qom#*=})" \
        [ "$got" = "${qom#*=}" ]
fi
[ "$failed" -eq 0 ] || sed 's/^/# libvirt: /' "$work/libvirt-on.log" | tail -40

# AppArmor (not enforced in this container): libvirt's QEMU profile
# template with the include README.md tells the administrator to add (to
# a file Debian 13's libvirt no longer ships: the folder may be missing).
mkdir -p "$root/etc/apparmor.d/local/abstractions"
echo 'include if exists <abstractions/qemu-modules-extra>' \
    >>"$root/etc/apparmor.d/local/abstractions/libvirt-qemu"
in_root apparmor_parser -p /etc/apparmor.d/libvirt/TEMPLATE.qemu \
    >"$work/apparmor.txt" 2>/dev/null || true
check "AppArmor: libvirt's QEMU profile with the include allows '$distrib rmix' and '$x86distrib rmix' and compiles" \
    sh -c "grep -qF '$distrib rmix,' '$work/apparmor.txt' && grep -qF '$x86distrib rmix,' '$work/apparmor.txt' &&
        chroot '$root' apparmor_parser -Q -K -T -S /etc/apparmor.d/libvirt/TEMPLATE.qemu >/dev/null 2>&1"

# Disable: Debian's binary is back, byte for byte.
rc=0
in_root dpkg -r qemu-modules-extra-system >"$work/sys-off.log" 2>&1 || rc=$?
sed 's/^/# dpkg: /' "$work/sys-off.log"
check "disabling: dpkg -r qemu-modules-extra-system (exit $rc) removes the diversions" \
    sh -c "[ $rc -eq 0 ] && ! chroot '$root' dpkg-divert --list | grep -q 'qemu-system-' &&
        [ ! -e '$root$distrib' ] && [ ! -e '$root$x86distrib' ]"
check "disabling restores $qpath: md5 $(md5_in_root "$qpath") = $qemu_pkg.md5sums' $debian_md5" \
    [ "$(md5_in_root "$qpath")" = "$debian_md5" ]
check "disabling restores $x86path: md5 $(md5_in_root "$x86path") = $x86_pkg.md5sums' $x86_md5" \
    [ "$(md5_in_root "$x86path")" = "$x86_md5" ]
run_probes "$work/probe-off" qemu-system-aarch64
run_probes "$work/probe-off-x86" qemu-system-x86_64
all_probes_same() { # all_probes_same DIR-A DIR-B
    for p in $(echo "$probes" | cut -d' ' -f1); do
        same_probe "$1" "$2" "$p" || return 1
    done
}
check "mode off: every probe ($(echo "$probes" | cut -d' ' -f1 | tr '\n' ' '| sed 's/ $//')) gives Debian's output again" \
    all_probes_same "$work/probe-stock" "$work/probe-off"
check "mode off: every probe of qemu-system-x86_64 gives Debian's output again" \
    all_probes_same "$work/probe-stock-x86" "$work/probe-off-x86"

# Bad input: disabling twice.
state "$work/state.0"
rc=0
in_root dpkg -r qemu-modules-extra-system >"$work/sys-off-twice.log" 2>&1 || rc=$?
state "$work/state.1"
sed 's/^/# dpkg: /' "$work/sys-off-twice.log"
ok=no
[ "$rc" -eq 0 ] && grep -q 'ignoring request to remove qemu-modules-extra-system' "$work/sys-off-twice.log" &&
    same_state "$work/state.0" "$work/state.1" && ok=yes
check "disabling twice: dpkg ignores the request (exit $rc), nothing changed" \
    [ "$ok" = yes ]

libvirt_session "$work/libvirt-off.log"
check "libvirt, mode off: the same domain is refused with QEMU's error" \
    sh -c "! grep -q '^== create rc=0' '$work/libvirt-off.log' &&
        grep -q \"'$dev_name' is not a valid device model name\" '$work/libvirt-off.log'"
# libvirt keys its capability cache on the binary's change time: the
# renamed-back binary was probed anew.
cached=$(sed -n 's/.*<qemuctime>\([0-9]*\)<.*/\1/p' \
    "$root"/var/cache/libvirt/qemu/capabilities/*.xml 2>/dev/null | head -1)
check "libvirt, mode off: its capability cache was renewed for Debian's binary (ctime $cached)" \
    [ "$cached" = "$(stat -c %Z "$root$qpath")" ]
echo "# system-wide mode: $(since "$t6") s"

echo "# test-deb wall time: $(since "$t_all") s"
echo "1..$n"
[ "$failed" -eq 0 ]
