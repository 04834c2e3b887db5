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
# What the tests may not change on this machine is recorded before them
# and compared after them (ci/host-hygiene): a difference fails the run.
# Processes they start carry the token, so one left running is found.
SANITIZE_BUILDDIR=${SANITIZE_BUILDDIR:-$top/build-sanitize}
export SANITIZE_BUILDDIR
hygiene_state="$build/host-hygiene"
rm -rf "$hygiene_state"
QME_HYGIENE_TOKEN="$(basename "$build")-$$-$(date +%s)"
export QME_HYGIENE_TOKEN
# The repository's own .git may change under a developer who commits while
# the tests run.
hygiene() {
    "$top/ci/host-hygiene" "$1" "$hygiene_state" --allow "$build" \
        --allow "$SANITIZE_BUILDDIR" --allow "$top/.git"
}
hygiene begin
rc=0
meson test -C "$build" --print-errorlogs "$@" || rc=$?
logs="$build/meson-logs/testlog.json"
# A full run (no tests named) also runs the sanitizer lane, which prints
# its own "sanitize: N passed, N failed" line.
if [ $# -eq 0 ]; then
    "$top/ci/test-sanitize.sh" || rc=1
    logs="$logs $SANITIZE_BUILDDIR/meson-logs/testlog.json"
fi
hygiene_rc=0
hygiene end || hygiene_rc=1
[ "$hygiene_rc" -eq 0 ] || rc=1
# One closing line any CI reads: "N passed, N failed", over both lanes and
# the host-hygiene check.
# shellcheck disable=SC2086 # $logs is a list of files
python3 "$top/ci/testlog-summary.py" --check "host-hygiene=$hygiene_rc" $logs
exit $rc
