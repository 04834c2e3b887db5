#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""List the guest drivers for meson (configure time).

A driver is a folder of guest-drivers/ with a Kbuild file ('obj-m := X.o').
For each, print one line: folder, module name, the generated register
headers its C files include ("NAME-regs.h"), and its kbuild sources
(*.c, *.h, Kbuild), tab-separated, lists comma-separated.
"""

import os
import re
import sys

here = os.path.dirname(os.path.abspath(__file__))
for d in sorted(os.listdir(here)):
    folder = os.path.join(here, d)
    kbuild = os.path.join(folder, "Kbuild")
    if not os.path.isfile(kbuild):
        continue
    with open(kbuild) as f:
        m = re.search(r"^obj-m\s*[:+]?=\s*(\S+)\.o", f.read(), re.M)
    if not m:
        sys.exit("list-drivers: %s has no 'obj-m := NAME.o'" % kbuild)
    srcs, headers = [], []
    for name in sorted(os.listdir(folder)):
        if name.endswith((".c", ".h")) or name == "Kbuild":
            srcs.append(d + "/" + name)
        if name.endswith(".c"):
            with open(os.path.join(folder, name)) as f:
                for h in re.findall(r'^#include\s+"([\w.-]+-regs\.h)"', f.read(), re.M):
                    if h not in headers:
                        headers.append(h)
    print("\t".join([d, m.group(1), ",".join(headers), ",".join(srcs)]))
