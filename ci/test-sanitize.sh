#!/bin/sh
# The sanitizer lane: the library, loader, modules, device servers and
# test programs built with ASan and UBSan (meson's
# -Db_sanitize=address,undefined) in their own build folder, and the
# unit, loader, qtest and fuzz suites run against the stock QEMU with the
# sanitizer runtimes preloaded.  Guest images are not built
# (-Dguest=false); the bare-metal firmware still is.  Needs a host
# prepared by ci/setup-host.sh (ci/test.sh runs it first).
#   ci/test-sanitize.sh [MESON-TEST-ARGS...]
#   SANITIZE_BUILDDIR (default: build-sanitize)
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SANITIZE_BUILDDIR:-$top/build-sanitize}
cd "$top"
opts="-Db_sanitize=address,undefined -Dguest=false"
if [ -f "$build/build.ninja" ]; then
    # shellcheck disable=SC2086 # $opts is a list of options
    meson setup --reconfigure $opts "$build" >"$build/setup.log" ||
        { cat "$build/setup.log"; exit 1; }
else
    # shellcheck disable=SC2086
    meson setup $opts "$build"
fi
meson compile -C "$build"
[ $# -gt 0 ] || set -- --suite unit --suite loader --suite qtest --suite fuzz
rc=0
meson test -C "$build" --print-errorlogs "$@" || rc=$?
python3 "$top/ci/testlog-summary.py" --prefix sanitize \
    "$build/meson-logs/testlog.json"
exit $rc
