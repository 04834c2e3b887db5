#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fetch and unpack the Debian arm64 packages the guest pipeline needs:
# kernel Image, kbuild headers (for cross-building guest drivers), busybox,
# pciutils with its runtime libraries and pci.ids.
#
# Usage: images/fetch-guest-packages.sh [CACHE_DIR]
#        (default: ${QME_CACHE:-/var/cache/qemu-modules-extra})
#
# Idempotent: when the stamp file ($CACHE/guest.env) is present and every
# path it names exists, it returns at once without touching the network.
# Pass --refresh (or QME_REFRESH=1) to re-resolve the kernel ABI and rebuild
# the cache from the apt lists. --check only reports (offline): prints the
# stamp and exits 0 when the cache is complete, exits 1 otherwise.
# --with-checkpatch also extracts scripts/checkpatch.pl (+ its data files)
# from linux-source-6.1 (139 MB download) into $CACHE/checkpatch/.
#
# Layout of the cache:
#   debs/                  downloaded .deb files
#   kernel/Image           uncompressed arm64 kernel
#   kernel/config          its .config
#   headers/usr/src/...    kbuild tree (absolute /usr/src paths rewritten)
#   rootfs/                unpacked busybox, pciutils, libraries, pci.ids
#   guest.env              stamp: ABI, versions, paths (shell syntax)

set -eu

refresh=${QME_REFRESH:-0}
check=0
with_checkpatch=${QME_WITH_CHECKPATCH:-0}
cache=
for arg in "$@"; do
	case $arg in
	--refresh) refresh=1 ;;
	--check) check=1 ;;
	--with-checkpatch) with_checkpatch=1 ;;
	-h|--help)
		sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
		exit 0 ;;
	-*) echo "fetch-guest-packages: unknown option $arg" >&2; exit 2 ;;
	*) cache=$arg ;;
	esac
done
cache=${cache:-${QME_CACHE:-/var/cache/qemu-modules-extra}}
stamp=$cache/guest.env
self="images/fetch-guest-packages.sh"

say() { echo "fetch-guest-packages: $*" >&2; }
die() { say "error: $*"; exit 1; }

# Fast path: everything already present.
cache_complete() {
	[ -f "$stamp" ] || return 1
	# shellcheck disable=SC1090
	(
		set +u
		. "$stamp" || exit 1
		for f in "$QME_GUEST_KERNEL" "$QME_GUEST_KDIR/Makefile" \
			"$QME_GUEST_KMODULES/modules.builtin" \
			"$QME_GUEST_KDIR/scripts/mod/modpost" \
			"$QME_GUEST_ROOTFS/bin/busybox" \
			"$QME_GUEST_ROOTFS/usr/bin/lspci" \
			"$QME_GUEST_ROOTFS/usr/share/misc/pci.ids"; do
			[ -e "$f" ] || exit 1
		done
	)
}

if [ "$check" = 1 ]; then
	# Offline completeness check for the build: print the stamp or fail.
	if cache_complete; then
		cat "$stamp"
		exit 0
	fi
	echo "guest package cache $cache is missing or incomplete; fix: ci/setup-host.sh (or $self $cache)" >&2
	exit 1
fi

checkpatch_ok() {
	[ "$with_checkpatch" != 1 ] || [ -f "$cache/checkpatch/checkpatch.pl" ]
}

if [ "$refresh" != 1 ] && cache_complete && checkpatch_ok; then
	say "cache complete: $stamp"
	exit 0
fi

mkdir -p "$cache/debs" || die "cannot create $cache (run as root or pass a writable CACHE_DIR)"
cache=$(cd "$cache" && pwd)
stamp=$cache/guest.env
debs=$cache/debs

for tool in apt-get apt-cache dpkg-deb; do
	command -v $tool >/dev/null 2>&1 || die "$tool not found (this script needs Debian's apt)"
done

# arm64 must be a foreign architecture with package lists.
if ! dpkg --print-foreign-architectures | grep -qx arm64 ||
	! apt-cache show busybox-static:arm64 >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		say "enabling arm64 as a foreign architecture and updating apt lists"
		dpkg --add-architecture arm64
		apt-get update -qq || die "apt-get update failed; fix: dpkg --add-architecture arm64 && apt-get update"
	else
		die "arm64 package lists missing; fix: sudo dpkg --add-architecture arm64 && sudo apt-get update"
	fi
fi

# Resolve the kernel ABI from the metapackage (local apt lists, no network).
image_pkg=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*-arm64\).*/\1/p' | head -n1)
[ -n "$image_pkg" ] ||
	die "cannot resolve linux-image-arm64:arm64; fix: dpkg --add-architecture arm64 && apt-get update"
abi=${image_pkg#linux-image-}
abi=${abi%-arm64}
kver=$(apt-cache policy "$image_pkg:arm64" | sed -n 's/^ *Candidate: //p')
[ -n "$kver" ] && [ "$kver" != "(none)" ] || die "no candidate for $image_pkg:arm64"
kmajor=$(echo "$abi" | cut -d. -f1,2)
say "kernel ABI $abi (package version $kver)"

# name[:arch][=version] for each package; the kernel pieces are pinned to the
# image version so headers, kbuild and image always match.
pkgs="
$image_pkg:arm64=$kver
linux-headers-$abi-arm64:arm64=$kver
linux-headers-$abi-common=$kver
linux-kbuild-$kmajor=$kver
busybox-static:arm64
pciutils:arm64
libpci3:arm64
libkmod2:arm64
libudev1:arm64
zlib1g:arm64
liblzma5:arm64
libzstd1:arm64
libssl3:arm64
libc6:arm64
pci.ids
"

# Which .deb in debs/ satisfies "name[:arch][=version]"?
deb_for() {
	spec=$1
	name=${spec%%[:=]*}
	ver=
	case $spec in *=*) ver=${spec#*=} ;; esac
	arch=all
	case $spec in *:arm64*) arch=arm64 ;; esac
	if [ -z "$ver" ]; then
		ver=$(apt-cache policy "${spec%%=*}" 2>/dev/null | sed -n 's/^ *Candidate: //p')
	fi
	# apt-get download encodes ':' of the epoch as %3a
	fver=$(echo "$ver" | sed 's/:/%3a/')
	for a in $arch amd64 all arm64; do
		f=$debs/${name}_${fver}_$a.deb
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}

missing=
for spec in $pkgs; do
	deb_for "$spec" >/dev/null || missing="$missing $spec"
done
if [ -n "$missing" ]; then
	say "downloading:$missing"
	# apt's _apt sandbox user may not write into the cache: download as root.
	if ! (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root \
		$missing >"$cache/download.log" 2>&1); then
		still=
		for spec in $missing; do
			deb_for "$spec" >/dev/null || still="$still $spec"
		done
		sed 's/^/  /' "$cache/download.log" >&2
		die "could not download:$still
  fix (needs Debian's mirrors): apt-get update && $self $cache
  or copy those .deb files into $debs"
	fi
fi

# Unpack into fresh trees so a refresh never mixes versions.
rm -rf "$cache/headers.new" "$cache/rootfs.new" "$cache/kernel.new"
mkdir -p "$cache/headers.new" "$cache/rootfs.new" "$cache/kernel.new"

for spec in $pkgs; do
	f=$(deb_for "$spec") || die "internal: $spec vanished from $debs"
	case $spec in
	linux-image-*)
		dpkg-deb --fsys-tarfile "$f" |
			tar -x -C "$cache/kernel.new" --wildcards './boot/*' \
				"./lib/modules/$abi-arm64/modules.builtin*" \
				"./lib/modules/$abi-arm64/modules.order"
		;;
	linux-headers-*|linux-kbuild-*)
		dpkg-deb -x "$f" "$cache/headers.new"
		;;
	*)
		dpkg-deb -x "$f" "$cache/rootfs.new"
		;;
	esac
done

# Kernel: Debian's arm64 vmlinuz is a plain Image; gunzip if it ever is not.
vmlinuz=$cache/kernel.new/boot/vmlinuz-$abi-arm64
[ -f "$vmlinuz" ] || die "$image_pkg has no /boot/vmlinuz-$abi-arm64"
if gzip -t "$vmlinuz" 2>/dev/null; then
	gzip -dc "$vmlinuz" >"$cache/kernel.new/Image"
else
	cp "$vmlinuz" "$cache/kernel.new/Image"
fi
cp "$cache/kernel.new/boot/config-$abi-arm64" "$cache/kernel.new/config"
rm -rf "$cache/kernel.new/boot"
mv "$cache/kernel.new/lib/modules/$abi-arm64" "$cache/kernel.new/modules"
rm -rf "$cache/kernel.new/lib"

# Headers: make the absolute /usr/src and /usr/lib paths relative to the cache.
hdr=$cache/headers.new
kdir_rel=usr/src/linux-headers-$abi-arm64
[ -f "$hdr/$kdir_rel/Makefile" ] || die "headers tree incomplete: $hdr/$kdir_rel/Makefile"
final_hdr=$cache/headers
grep -rlI --include=Makefile --include='*.mk' -e '/usr/src/' -e '/usr/lib/linux-kbuild' \
	"$hdr/usr/src" 2>/dev/null | while read -r mf; do
	sed -i -e "s|\([[:space:]=]\)/usr/src/|\1$final_hdr/usr/src/|g" \
		-e "s|\([[:space:]=]\)/usr/lib/linux-kbuild|\1$final_hdr/usr/lib/linux-kbuild|g" "$mf"
done
# Absolute symlinks (scripts, tools) likewise.
find "$hdr" -type l | while read -r l; do
	t=$(readlink "$l")
	case $t in
	/usr/*) ln -sfn "$final_hdr$t" "$l" ;;
	esac
done

# Rootfs sanity: the dynamic loader and the tools must be there.
root=$cache/rootfs.new
[ -x "$root/bin/busybox" ] || die "busybox-static did not provide /bin/busybox"
[ -x "$root/usr/bin/lspci" ] || die "pciutils did not provide /usr/bin/lspci"
[ -e "$root/lib/ld-linux-aarch64.so.1" ] || die "libc6:arm64 did not provide ld-linux-aarch64.so.1"

for d in kernel headers rootfs; do
	rm -rf "${cache:?}/$d"
	mv "$cache/$d.new" "$cache/$d"
done

cat >"$stamp.new" <<EOF
# Written by $self; sourced by the build. Do not edit.
QME_GUEST_ABI='$abi'
QME_GUEST_KVERSION='$kver'
QME_GUEST_KERNEL='$cache/kernel/Image'
QME_GUEST_KCONFIG='$cache/kernel/config'
QME_GUEST_UNAME='$abi-arm64'
QME_GUEST_KMODULES='$cache/kernel/modules'
QME_GUEST_KDIR='$cache/headers/$kdir_rel'
QME_GUEST_ROOTFS='$cache/rootfs'
EOF
mv "$stamp.new" "$stamp"
cache_complete || die "cache still incomplete after unpacking (see $stamp)"

if [ "$with_checkpatch" = 1 ] && [ ! -f "$cache/checkpatch/checkpatch.pl" ]; then
	src=linux-source-$kmajor
	if [ -z "$(ls "$debs"/${src}_*.deb 2>/dev/null)" ]; then
		say "downloading $src (for checkpatch.pl)"
		(cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$src=$kver") ||
			die "could not download $src=$kver; fix: apt-get update && $self --with-checkpatch $cache"
	fi
	tmp=$cache/checkpatch.new
	rm -rf "$tmp"
	mkdir -p "$tmp"
	dpkg-deb --fsys-tarfile "$(ls "$debs"/${src}_*.deb | tail -n1)" |
		tar -x -O "./usr/src/$src.tar.xz" |
		tar -xJ -C "$tmp" --strip-components=2 "$src/scripts/checkpatch.pl" \
			"$src/scripts/spelling.txt" "$src/scripts/const_structs.checkpatch"
	rm -rf "$cache/checkpatch"
	mv "$tmp" "$cache/checkpatch"
	say "checkpatch: $cache/checkpatch/checkpatch.pl"
fi
say "done: $stamp"
