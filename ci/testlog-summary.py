#!/usr/bin/env python3
# The closing line of a test run that any CI reads: "N passed, N failed"
# (", N skipped" when some were), from meson's testlog.json files, plus
# checks run outside meson given as NAME=EXIT-STATUS.
#   testlog-summary.py [--prefix P] [--check NAME=RC]... TESTLOG.json...
# SPDX-License-Identifier: GPL-2.0-or-later
import argparse
import json

ap = argparse.ArgumentParser()
ap.add_argument('--prefix', default='')
ap.add_argument('--check', action='append', default=[])
ap.add_argument('logs', nargs='+')
args = ap.parse_args()

ok = bad = skip = 0
for log in args.logs:
    with open(log) as f:
        for line in f:
            r = json.loads(line)['result']
            if r in ('OK', 'EXPECTEDFAIL'):
                ok += 1
            elif r == 'SKIP':
                skip += 1
            else:
                bad += 1
for check in args.check:
    if check.rsplit('=', 1)[1] == '0':
        ok += 1
    else:
        bad += 1
prefix = args.prefix + ': ' if args.prefix else ''
print(f'{prefix}{ok} passed, {bad} failed' +
      (f', {skip} skipped' if skip else ''))
