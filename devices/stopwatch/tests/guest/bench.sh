#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Cost of reading the time: pass-through page (no trap) against the trapped
# ELAPSED register, same value, same run, timed in the guest kernel.
# Goal: the page is at least 20 times cheaper.
. /qme/lib/tap.sh
sw=/qme/bin/stopwatch_ctrl.sh
GOAL=20

check "driver bound" $sw status || done_testing
$sw start
out=$($sw bench)
diag "$out"
set -- $out
[ "$1 $3 $5" = "loops shm_ns mmio_ns" ] || { diag "bad bench output: $out"; tap_result 1 "bench output"; done_testing; }
loops=$2 shm=$4 mmio=$6 snap=$8
[ "$shm" -gt 0 ] || shm=1
x10=$((mmio * 10 / shm))
diag "snapshot (generation-checked, 3 loads + 2 barriers): $((snap / loops)) ns per read"
diag "BENCH loops=$loops shm_ns_per_read=$((shm / loops)).$((shm * 10 / loops % 10)) mmio_ns_per_read=$((mmio / loops)).$((mmio * 10 / loops % 10)) ratio=$((x10 / 10)).$((x10 % 10))"
check "pass-through read is >= ${GOAL}x cheaper (ratio $((x10 / 10)).$((x10 % 10)))" \
	test $x10 -ge $((GOAL * 10))
$sw stop
done_testing
