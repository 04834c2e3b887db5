#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fetch and unpack the Debian packages the guest pipeline needs, for the
# arm64 guest (qemu-system-aarch64 -M virt) and the amd64 guest
# (qemu-system-x86_64 -M q35): kernel, kbuild headers (for building guest
# drivers), busybox, pciutils with its runtime libraries and pci.ids.
#
# Usage: images/fetch-guest-packages.sh [CACHE_DIR]
#        (default: ${QME_CACHE:-/var/cache/qemu-modules-extra})
#
# Idempotent: when the stamp file ($CACHE/guest.env) is present and every
# path it names exists, it returns at once without touching the network;
# an arch whose part is complete is left as it is.
# Pass --refresh (or QME_REFRESH=1) to re-resolve the kernel ABI and rebuild
# the cache from the apt lists. --check only reports (offline): prints the
# stamp and exits 0 when the cache is complete (both arches), exits 1 otherwise.
# --with-checkpatch also extracts scripts/checkpatch.pl (+ its data files)
# from linux-source-MAJOR (6.1: 139 MB, 6.12: 153 MB download) into
# $CACHE/checkpatch/.
#
# Layout of the cache:
#   debs/                  downloaded .deb files (both arches)
#   kernel/Image           uncompressed arm64 kernel
#   kernel/config          its .config
#   headers/usr/src/...    arm64 kbuild tree (absolute /usr/src paths rewritten)
#   rootfs/                arm64 busybox, pciutils, libraries, pci.ids
#                          (bin, sbin, lib, lib64 link to usr/ where the
#                          packages install below /usr only: Debian 13)
#   amd64/kernel/vmlinuz   amd64 kernel (bzImage), amd64/kernel/config
#   amd64/headers, amd64/rootfs   the same for amd64 (same kernel ABI)
#   guest.env              stamp: ABI, versions, paths (shell syntax);
#                          QME_GUEST_* arm64, QME_GUEST_AMD64_* amd64

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
		sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'
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

# Is the part of arch $1 (arm64, amd64) complete?  Its stamp variables
# are QME_GUEST_* for arm64, QME_GUEST_AMD64_* for amd64.
arch_complete() {
	[ -f "$stamp" ] || return 1
	# shellcheck disable=SC1090
	(
		set +u
		. "$stamp" || exit 1
		if [ "$1" = amd64 ]; then
			QME_GUEST_KERNEL=$QME_GUEST_AMD64_KERNEL
			QME_GUEST_KDIR=$QME_GUEST_AMD64_KDIR
			QME_GUEST_KMODULES=$QME_GUEST_AMD64_KMODULES
			QME_GUEST_ROOTFS=$QME_GUEST_AMD64_ROOTFS
			[ -n "$QME_GUEST_KERNEL" ] || exit 1
		fi
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
cache_complete() {
	arch_complete arm64 && arch_complete amd64
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

# The kernel ABI: kept from the stamp while the arm64 part is complete
# (the amd64 part then joins it), else resolved from the metapackage
# (local apt lists, no network).
abi= kver=
if [ "$refresh" != 1 ] && arch_complete arm64; then
	# shellcheck disable=SC1090
	abi=$(. "$stamp" && echo "$QME_GUEST_ABI")
	# shellcheck disable=SC1090
	kver=$(. "$stamp" && echo "$QME_GUEST_KVERSION")
fi
if [ -z "$abi" ] || [ -z "$kver" ]; then
	image_pkg=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*-arm64\).*/\1/p' | head -n1)
	[ -n "$image_pkg" ] ||
		die "cannot resolve linux-image-arm64:arm64; fix: dpkg --add-architecture arm64 && apt-get update"
	abi=${image_pkg#linux-image-}
	abi=${abi%-arm64}
	kver=$(apt-cache policy "$image_pkg:arm64" | sed -n 's/^ *Candidate: //p')
	[ -n "$kver" ] && [ "$kver" != "(none)" ] || die "no candidate for $image_pkg:arm64"
fi
kmajor=$(echo "$abi" | cut -d. -f1,2)
say "kernel ABI $abi (package version $kver)"

# Package names come from apt's own records, not from a per-release list:
# the kbuild pieces are what the headers package depends on (Debian 12:
# linux-headers-ABI-common, linux-kbuild-6.1; Debian 13:
# linux-kbuild-ABI), the guest userland is the roots below plus the
# libraries (Section: libs) they depend on, recursively (libssl3 on
# Debian 12, libssl3t64 and libcap2 on Debian 13).
userland_roots="busybox-static pciutils pci.ids"

# pkg_field SPEC FIELD: FIELD of the candidate record of SPEC
# (name[:arch][=version]); empty when apt does not know SPEC.
pkg_field() {
	apt-cache show --no-all-versions "$1" 2>/dev/null |
		awk -v f="$2" 'index($0, f ": ") == 1 { print substr($0, length(f) + 3); exit }
			/^$/ { exit }'
}
# dep_names DEPENDS: the package names of a Depends field, the first of
# each set of alternatives, without versions or arch qualifiers.
dep_names() {
	echo "$1" | tr ',' '\n' | sed -e 's/|.*//' -e 's/([^)]*)//g' -e 's/\[[^]]*\]//g' \
		-e 's/:[a-z0-9]*//' -e 's/[[:space:]]//g' -e '/^$/d'
}
# userland_for ARCH: name[:ARCH]=version of the guest userland packages of
# ARCH. Two apt-cache calls in all (each one reads all of apt's lists,
# seconds on a busy machine): the dependency closure of the roots, then the
# candidate records of its packages.
userland_for() {
	# shellcheck disable=SC2046
	u_names=$(apt-cache depends --recurse --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances \
		$(for u in $userland_roots; do echo "$u:$1"; done) 2>/dev/null |
		sed -n 's/^<\{0,1\}\([^ :<>]*\).*/\1/p' | sort -u)
	# shellcheck disable=SC2046
	apt-cache show --no-all-versions $(for u in $u_names; do echo "$u:$1 $u"; done) 2>/dev/null |
		awk -v a="$1" -v roots=" $userland_roots " '
		function flush() {
			if (p != "" && (ar == a || ar == "all") && !(p in done) &&
			    (index(roots, " " p " ") || s ~ /(^|\/)libs$/)) {
				done[p] = 1
				print (ar == "all" ? p : p ":" a) "=" v
			}
			p = ar = s = v = ""
		}
		/^Package: / { p = $2 }
		/^Architecture: / { ar = $2 }
		/^Section: / { s = $2 }
		/^Version: / { v = $2 }
		/^$/ { flush() }
		END { flush() }'
}

# name[:arch][=version] for each package; the kernel pieces are pinned to the
# image version so headers, kbuild and image always match, on both arches.
pkgs_for() { # pkgs_for ARCH
	echo "linux-image-$abi-$1:$1=$kver"
	echo "linux-headers-$abi-$1:$1=$kver"
	p_kbuild=
	for p_dep in $(dep_names "$(pkg_field "linux-headers-$abi-$1:$1=$kver" Depends)"); do
		case $p_dep in
		linux-headers-*|linux-kbuild-*) echo "$p_dep=$kver"; p_kbuild=1 ;;
		esac
	done
	[ -n "$p_kbuild" ] || die "cannot resolve the kbuild packages of linux-headers-$abi-$1:$1=$kver"
	p_user=$(userland_for "$1")
	for p_root in $userland_roots; do
		echo "$p_user" | grep -q "^${p_root}[:=]" ||
			die "apt knows no $p_root for $1; fix: dpkg --add-architecture arm64 && apt-get update"
	done
	echo "$p_user"
}
# Only the parts that are missing: the other arch's trees stay untouched.
arches=
for a in arm64 amd64; do
	if [ "$refresh" = 1 ] || ! arch_complete $a; then
		arches="$arches $a"
	fi
done
# Resolved once per arch (a failure stops the script here).
pkgs=
for a in $arches; do
	a_pkgs=$(pkgs_for "$a")
	eval "pkgs_$a=\$a_pkgs"
	pkgs="$pkgs $a_pkgs"
done
# shellcheck disable=SC2086
pkgs=$(printf '%s\n' $pkgs | sort -u)

# Which .deb in debs/ satisfies "name[:arch][=version]"?  A package without
# an arch is the host's (amd64) or arch-independent.
deb_for() {
	spec=$1
	name=${spec%%[:=]*}
	ver=
	case $spec in *=*) ver=${spec#*=} ;; esac
	arch=amd64
	case $spec in *:arm64*) arch=arm64 ;; esac
	if [ -z "$ver" ]; then
		ver=$(apt-cache policy "${spec%%=*}" 2>/dev/null | sed -n 's/^ *Candidate: //p')
	fi
	# apt-get download encodes ':' of the epoch as %3a
	fver=$(echo "$ver" | sed 's/:/%3a/')
	for a in $arch all; do
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

# unpack ARCH DIR: the trees of one arch into DIR/{kernel,headers,rootfs},
# through fresh trees so that a refresh never mixes versions.
unpack() {
	arch=$1 dir=$2
	kname=$abi-$arch
	mkdir -p "$dir"
	rm -rf "$dir/headers.new" "$dir/rootfs.new" "$dir/kernel.new"
	mkdir -p "$dir/headers.new" "$dir/rootfs.new" "$dir/kernel.new"
	eval "specs=\$pkgs_$arch"
	# shellcheck disable=SC2154
	for spec in $specs; do
		f=$(deb_for "$spec") || die "internal: $spec vanished from $debs"
		case $spec in
		linux-image-*)
			# /lib/modules (Debian 12) or /usr/lib/modules (13)
			dpkg-deb --fsys-tarfile "$f" |
				tar -x -C "$dir/kernel.new" --wildcards './boot/*' \
					"./*lib/modules/$kname/modules.builtin*" \
					"./*lib/modules/$kname/modules.order"
			;;
		linux-headers-*|linux-kbuild-*)
			dpkg-deb -x "$f" "$dir/headers.new"
			;;
		*)
			dpkg-deb -x "$f" "$dir/rootfs.new"
			;;
		esac
	done

	# Kernel: Debian's arm64 vmlinuz is a plain Image (gunzip if it ever is
	# not); QEMU boots the amd64 bzImage as it is.
	vmlinuz=$dir/kernel.new/boot/vmlinuz-$kname
	[ -f "$vmlinuz" ] || die "linux-image-$kname has no /boot/vmlinuz-$kname"
	if [ "$arch" = amd64 ]; then
		cp "$vmlinuz" "$dir/kernel.new/vmlinuz"
	elif gzip -t "$vmlinuz" 2>/dev/null; then
		gzip -dc "$vmlinuz" >"$dir/kernel.new/Image"
	else
		cp "$vmlinuz" "$dir/kernel.new/Image"
	fi
	cp "$dir/kernel.new/boot/config-$kname" "$dir/kernel.new/config"
	rm -rf "$dir/kernel.new/boot"
	for m in lib/modules usr/lib/modules; do
		if [ -d "$dir/kernel.new/$m/$kname" ]; then
			mv "$dir/kernel.new/$m/$kname" "$dir/kernel.new/modules"
		fi
	done
	[ -d "$dir/kernel.new/modules" ] || die "linux-image-$kname has no modules.builtin"
	rm -rf "$dir/kernel.new/lib" "$dir/kernel.new/usr"

	# Headers: make the absolute /usr/src and /usr/lib paths point into the cache.
	hdr=$dir/headers.new
	[ -f "$hdr/usr/src/linux-headers-$kname/Makefile" ] ||
		die "headers tree incomplete: $hdr/usr/src/linux-headers-$kname/Makefile"
	final_hdr=$dir/headers
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
	root=$dir/rootfs.new
	# Debian 13's packages install below /usr only (its /bin, /lib, /lib64
	# links come from base-files); Debian 12's still ship /bin/busybox and
	# the program interpreter in /lib or /lib64. The same links make both
	# trees look alike to the stamp check and to mkinitramfs.py.
	for d in bin sbin lib lib64; do
		if [ ! -e "$root/$d" ] && [ -d "$root/usr/$d" ]; then
			ln -s "usr/$d" "$root/$d"
		fi
	done
	[ -x "$root/bin/busybox" ] || die "busybox-static:$arch did not provide /bin/busybox"
	[ -x "$root/usr/bin/lspci" ] || die "pciutils:$arch did not provide /usr/bin/lspci"
	case $arch in
	arm64) ld=lib/ld-linux-aarch64.so.1 ;;
	*) ld=lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 ;;
	esac
	[ -e "$root/$ld" ] || die "libc6:$arch did not provide /$ld"

	for d in kernel headers rootfs; do
		rm -rf "${dir:?}/$d"
		mv "$dir/$d.new" "$dir/$d"
	done
}
for a in $arches; do
	case $a in
	arm64) unpack arm64 "$cache" ;;
	amd64) unpack amd64 "$cache/amd64" ;;
	esac
done

cat >"$stamp.new" <<EOF
# Written by $self; sourced by the build. Do not edit.
QME_GUEST_ABI='$abi'
QME_GUEST_KVERSION='$kver'
QME_GUEST_KERNEL='$cache/kernel/Image'
QME_GUEST_KCONFIG='$cache/kernel/config'
QME_GUEST_UNAME='$abi-arm64'
QME_GUEST_KMODULES='$cache/kernel/modules'
QME_GUEST_KDIR='$cache/headers/usr/src/linux-headers-$abi-arm64'
QME_GUEST_ROOTFS='$cache/rootfs'
QME_GUEST_AMD64_KERNEL='$cache/amd64/kernel/vmlinuz'
QME_GUEST_AMD64_KCONFIG='$cache/amd64/kernel/config'
QME_GUEST_AMD64_UNAME='$abi-amd64'
QME_GUEST_AMD64_KMODULES='$cache/amd64/kernel/modules'
QME_GUEST_AMD64_KDIR='$cache/amd64/headers/usr/src/linux-headers-$abi-amd64'
QME_GUEST_AMD64_ROOTFS='$cache/amd64/rootfs'
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
