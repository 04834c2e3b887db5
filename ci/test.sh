#!/bin/sh
# The test command of the README: prepare the host, build, and run every
# test suite (unit, qtest, guest).  Extra arguments go to `meson test`
# (for example `--suite unit` or `--benchmark`).
#   ci/test.sh [MESON-TEST-ARGS...]
#   BUILDDIR (default: build)
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILDDIR:-$top/build}
cd "$top"
"$top/ci/setup-host.sh"
if [ -f "$build/build.ninja" ]; then
    meson setup --reconfigure "$build" >"$build/setup.log" || { cat "$build/setup.log"; exit 1; }
else
    meson setup "$build"
fi
meson compile -C "$build"
rc=0
meson test -C "$build" --print-errorlogs "$@" || rc=$?
# One closing line any CI reads: "N passed, N failed".
python3 "$top/ci/testlog-summary.py" "$build/meson-logs/testlog.json"
# A full run (no tests named) also runs the sanitizer lane, which closes
# with its own "sanitize: N passed, N failed" line.
if [ $# -eq 0 ]; then
    "$top/ci/test-sanitize.sh" || rc=1
fi
exit $rc
