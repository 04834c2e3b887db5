#!/usr/bin/env python3
"""What another Debian release's build meets here: refused, in one line.

    test-cross-release.py SOURCE-TREE BUILD FOREIGN-PC-DIR FOREIGN-MODULES

Run on one release with the SDK (its .pc in FOREIGN-PC-DIR) and the
modules (FOREIGN-MODULES) of the other, by ci/test-release.sh:
  - `meson setup` against the other release's SDK stops with one error
    line naming both QEMU builds;
  - the other release's modules are refused by this release's loader with
    one line each naming both builds, and QEMU starts without them.
Output is TAP.

SPDX-License-Identifier: GPL-2.0-or-later
"""
import os
import subprocess
import sys
import tempfile

src, build, pc_dir, modules = sys.argv[1:5]
qemu = '/usr/bin/qemu-system-aarch64'
n = failed = 0


def ok(cond, name, diag=''):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print(f'{"ok" if cond else "not ok"} {n} - {name}')
    if not cond and diag:
        print('\n'.join('# ' + line for line in str(diag).splitlines()[-30:]))


def identity(binary):
    out = subprocess.run([os.path.join(src, 'ci', 'qemu-identity'), binary],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split('=', 1) for line in out.splitlines())


def pc_var(name):
    return subprocess.run(['pkg-config', '--variable', name, 'qemu-module-sdk'],
                          env=dict(os.environ, PKG_CONFIG_PATH=pc_dir),
                          capture_output=True, text=True).stdout.strip()


here = identity(qemu)
there = {k: pc_var(k) for k in ('qemu_version', 'package_version', 'build_id')}
print(f'# this QEMU: {here["qemu_version"]} ({here["package_version"]}, '
      f'build-id {here["build_id"]}); the other SDK: {there["qemu_version"]} '
      f'({there["package_version"]}, build-id {there["build_id"]})')

with tempfile.TemporaryDirectory() as tmp:
    r = subprocess.run(['meson', 'setup', os.path.join(tmp, 'build'), src,
                        '-Dguest=false'],
                       env=dict(os.environ, PKG_CONFIG_PATH=pc_dir),
                       capture_output=True, text=True)
    errors = [line for line in (r.stdout + r.stderr).splitlines()
              if 'ERROR:' in line]
    ok(r.returncode != 0 and len(errors) == 1 and
       all(v in errors[0] for v in (there['qemu_version'],
                                    there['package_version'],
                                    there['build_id'], here['qemu_version'],
                                    here['package_version'],
                                    here['build_id'])),
       f'meson setup with the QEMU {there["qemu_version"]} SDK stops with '
       'one line naming both builds', r.stdout + r.stderr)

names = sorted(f for f in os.listdir(modules) if f.endswith('.so'))
env = {k: v for k, v in os.environ.items() if k != 'LD_PRELOAD'}
env.update(LD_PRELOAD=os.path.join(build, 'loader', 'qme-loader.so'),
           QME_MODULE_PATH=modules)
r = subprocess.run([qemu, '-M', 'virt', '-display', 'none', '-nodefaults',
                    '-S', '-monitor', 'stdio'], input='quit\n',
                   capture_output=True, text=True, timeout=60, env=env)
refusals = [line for line in r.stderr.splitlines() if 'refusing' in line]
ok(r.returncode == 0 and len(names) > 0 and len(refusals) == len(names) and
   all(there['build_id'] in line and here['build_id'] in line and
       there['qemu_version'] in line for line in refusals),
   f'{len(names)} modules of QEMU {there["qemu_version"]} are refused, one '
   'line each naming both builds, and QEMU runs on', r.stderr)
print(f'1..{n}')
sys.exit(1 if failed else 0)
