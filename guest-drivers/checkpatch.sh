#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# checkpatch.sh CACHE_DIR FILE...: Linux coding style check of guest driver
# sources with the kernel's own scripts/checkpatch.pl (--no-tree). Exits 77
# (meson: skipped) when the cache has no checkpatch.pl.
cache=$1
shift
cp=$cache/checkpatch/checkpatch.pl
if [ ! -f "$cp" ]; then
	echo "checkpatch.pl not in $cache/checkpatch; fix: images/fetch-guest-packages.sh --with-checkpatch $cache"
	exit 77
fi
exec perl "$cp" --no-tree --show-types --terse -f "$@"
