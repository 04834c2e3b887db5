#!/usr/bin/env python3
# The closing line of a test run that any CI reads: "N passed, N failed"
# (", N skipped" when some were), from meson's testlog.json.
#   testlog-summary.py BUILDDIR/meson-logs/testlog.json [PREFIX]
# SPDX-License-Identifier: GPL-2.0-or-later
import json
import sys

ok = bad = skip = 0
for line in open(sys.argv[1]):
    r = json.loads(line)['result']
    if r in ('OK', 'EXPECTEDFAIL'):
        ok += 1
    elif r == 'SKIP':
        skip += 1
    else:
        bad += 1
prefix = sys.argv[2] + ': ' if len(sys.argv) > 2 else ''
print(f'{prefix}{ok} passed, {bad} failed' + (f', {skip} skipped' if skip else ''))
