#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# checkpatch-qemu.sh CHECKPATCH SRCDIR: QEMU coding style of every host-side
# C file (device models, QEMU glue, loader, library, qtests) with QEMU's own
# scripts/checkpatch.pl from the SDK.  Fails on errors, as QEMU's review
# does; warnings are printed.  Guest-side code (guest-drivers/, bare-metal
# firmware: files that include qme-fw.h) follows Linux style and is checked
# by the guest-drivers-checkpatch test instead.
#
# A device's tests are checked from inside the device's folder, so their
# path starts with tests/ as QEMU's own tests do (checkpatch allows the
# g_assert_cmp*() family only there).
set -u
cp=$1
src=$2
if [ ! -f "$cp" ]; then
	echo "QEMU checkpatch.pl not found at $cp; fix: ci/make-sdk.sh"
	exit 1
fi
cd "$src" || exit 1
status=0
check() { # DIR FILE
	(cd "$1" && perl "$cp" --no-tree -q -f "$2") || {
		echo "checkpatch-qemu: $1/$2 has errors"
		status=1
	}
}
for f in devices/*/*.[ch] devices/*/tests/*.[ch] devices/*/bench/*.[ch] \
	protocol/*.[ch] protocol/*/*.[ch] protocol/*/tests/*.[ch] \
	include/qme/*.h loader/*.[ch] tests/qtest/*.[ch] tests/qtest-accel/*.[ch] \
	tests/storm/*.[ch] tests/qmp/*.[ch]; do
	[ -f "$f" ] || continue
	grep -q '"qme-fw.h"' "$f" && continue
	case $f in
	devices/*/tests/* | devices/*/bench/*)
		dev=${f#devices/}
		dev=devices/${dev%%/*}
		check "$dev" "${f#"$dev"/}" ;;
	*)
		check . "$f" ;;
	esac
done
[ $status = 0 ] && echo "checkpatch-qemu: all files pass"
exit $status
