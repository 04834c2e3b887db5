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
hygiene_state="$build/host-hygiene"
rm -rf "$hygiene_state"
QME_HYGIENE_TOKEN="$(basename "$build")-$$-$(date +%s)"
export QME_HYGIENE_TOKEN
# The repository's own .git may change under a developer who commits while
# the tests run.
hygiene() {
    "$top/ci/host-hygiene" "$1" "$hygiene_state" --allow "$build" --allow "$top/.git"
}
hygiene begin
rc=0
meson test -C "$build" --print-errorlogs "$@" || rc=$?
hygiene_failed=0
hygiene end || hygiene_failed=1
# One closing line any CI reads: "N passed, N failed".
# The host-hygiene check counts as one more test.
python3 - "$build/meson-logs/testlog.json" "$hygiene_failed" <<'PY'
import json, sys
ok = bad = skip = 0
if sys.argv[2] == '1':
    bad += 1
else:
    ok += 1
for line in open(sys.argv[1]):
    r = json.loads(line)['result']
    if r in ('OK', 'EXPECTEDFAIL'):
        ok += 1
    elif r == 'SKIP':
        skip += 1
    else:
        bad += 1
print(f'{ok} passed, {bad} failed' + (f', {skip} skipped' if skip else ''))
PY
[ "$hygiene_failed" -eq 0 ] || rc=1
exit $rc
