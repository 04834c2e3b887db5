#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The driver's own test script (what stopwatch=test runs), as a guest test.
exec sh /qme/bin/stopwatch_test.sh
