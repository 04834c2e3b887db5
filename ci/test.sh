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
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = skip = 0
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
exit $rc
