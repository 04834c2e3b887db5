#!/usr/bin/env python3
# Run the MMIO cost benchmark firmware and print mypci_minimal's register
# read cost as a ratio of edu's, both measured in the same run.
#   mmio-bench.py FIRMWARE.elf   (env: QME_QEMU, QME_LOADER, QME_MODULE_PATH)
# SPDX-License-Identifier: GPL-2.0-or-later
import os
import re
import subprocess
import sys

env = dict(os.environ, LD_PRELOAD=os.environ['QME_LOADER'])
cmd = [os.environ.get('QME_QEMU', 'qemu-system-aarch64'), '-M', 'virt',
       '-cpu', 'max', '-m', '64', '-nographic', '-nodefaults', '-nic', 'none',
       '-serial', 'stdio', '-kernel', sys.argv[1],
       '-device', 'mypci_minimal,addr=01.0', '-device', 'edu,addr=02.0']
out = subprocess.run(cmd, env=env, capture_output=True, text=True,
                     timeout=120)
m = re.search(r'reads=(\d+) mypci_minimal_ticks=(\d+) edu_ticks=(\d+)',
              out.stdout)
if not m:
    sys.exit(f'mmio-bench: no result\n{out.stdout}\n{out.stderr}')
reads, t_mypci, t_edu = map(int, m.groups())
ratio = t_mypci / t_edu
print(f'MMIO read cost (fastest batch of {reads} reads): mypci_minimal '
      f'{t_mypci / reads:.2f} ticks/read, edu {t_edu / reads:.2f} ticks/read, '
      f'ratio {ratio:.3f} (goal <= 1.1)')
