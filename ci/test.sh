#!/bin/sh
# The test command of the README: prepare the host, build, and run every
# test suite (unit, qtest, guest).  Extra arguments go to `meson test`
# (for example `--suite unit` or `--benchmark`).  A full run (no
# arguments) also runs the sanitizer lane and proves the other supported
# Debian release in a root of its own (ci/test-release.sh), with the
# compile-only lane of the next QEMU in the Debian 13 environment.
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
# its own "sanitize: N passed, N failed" line, and the release lanes.
checks="host-hygiene"
if [ $# -eq 0 ]; then
    "$top/ci/test-sanitize.sh" || rc=1
    logs="$logs $SANITIZE_BUILDDIR/meson-logs/testlog.json"
    # The supported Debian releases, and the next QEMU, whose Debian source
    # is compiled against (no binary of it exists yet).
    releases="bookworm trixie"
    next_qemu=1:10.2.2+ds-1
    host_release=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    if [ "$host_release" = trixie ]; then
        compile_rc=0
        "$top/ci/test-compile-only.sh" "$next_qemu" || compile_rc=1
        checks="$checks compile-only-qemu-$next_qemu=$compile_rc"
    fi
    for r in $releases; do
        [ "$r" != "$host_release" ] || continue
        compile=
        [ "$r" != trixie ] || compile="--compile-only $next_qemu"
        release_rc=0
        rm -f "$build/testlog-$r.json"
        # shellcheck disable=SC2086 # $compile is an option and its value
        QME_RELEASE_LOG="$build/testlog-$r.json" \
            "$top/ci/test-release.sh" $compile --foreign-build "$build" "$r" ||
            release_rc=$?
        [ "$release_rc" -eq 0 ] || rc=1
        if [ -f "$build/testlog-$r.json" ] && [ "$release_rc" -ne 4 ]; then
            logs="$logs $build/testlog-$r.json"
            checks="$checks cross-release-$r=$((release_rc & 8))"
            [ -z "$compile" ] ||
                checks="$checks compile-only-qemu-$next_qemu=$((release_rc & 2))"
        else
            checks="$checks $r-lane=$release_rc"
        fi
    done
fi
hygiene_rc=0
hygiene end || hygiene_rc=1
[ "$hygiene_rc" -eq 0 ] || rc=1
# One closing line any CI reads: "N passed, N failed", over every lane,
# the host-hygiene check and the compile-only lane.
set --
for c in $checks; do
    case $c in
    host-hygiene) set -- "$@" --check "host-hygiene=$hygiene_rc" ;;
    *) set -- "$@" --check "$c" ;;
    esac
done
# shellcheck disable=SC2086 # $logs is a list of files
python3 "$top/ci/testlog-summary.py" "$@" $logs
exit $rc
