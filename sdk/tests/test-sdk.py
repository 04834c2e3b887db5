#!/usr/bin/env python3
# The SDK route as a user takes it (TAP): `meson install --destdir` of this
# build, then in a temporary folder outside the tree, for a PCI and a
# platform device: qme-new-device, meson setup/compile/test of the
# generated project (the SDK found by pkg-config through PKG_CONFIG_PATH
# alone), `qemu-extra --module-path build ... -device help` (and the same
# through QME_MODULE_PATH), then a QEMU "upgrade": the module stamped for
# another build is refused with one line that names the command that
# rebuilds it, and that command, run once the new SDK's stamp is there,
# makes a module that loads.
#
#   test-sdk.py BUILDDIR
# Env: QME_QEMU (the SDK's emulator), QME_CHECKPATCH (QEMU's
# checkpatch.pl, or empty).
# SPDX-License-Identifier: GPL-2.0-or-later

import glob
import os
import shlex
import subprocess
import sys
import tempfile

build = os.path.abspath(sys.argv[1])
qemu = os.environ.get('QME_QEMU', '/usr/bin/qemu-system-aarch64')
checkpatch = os.environ.get('QME_CHECKPATCH', '')
STAMP_SIZE = 512                # loader/qme-stamp.h
results = []


def check(ok, name, detail=''):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}", flush=True)
    if not ok and detail:
        for line in str(detail).splitlines()[-25:]:
            print(f'# {line}')


def run(cmd, cwd, env, timeout=300, shell=False):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, shell=shell)


def device_listed(out, name):
    return any(f'name "{name}"' in l and 'desc "' in l
               for l in out.stdout.splitlines())


with tempfile.TemporaryDirectory(prefix='qme-sdk-test.') as tmp:
    dest = os.path.join(tmp, 'dest')
    out = subprocess.run(['meson', 'install', '-C', build, '--no-rebuild',
                          '--quiet', '--destdir', dest],
                         capture_output=True, text=True, timeout=600)
    pcs = glob.glob(os.path.join(dest, '**', 'pkgconfig',
                                 'qemu-modules-extra.pc'), recursive=True)
    bins = glob.glob(os.path.join(dest, '**', 'bin', 'qme-new-device'),
                     recursive=True)
    check(out.returncode == 0 and len(pcs) == 1 and len(bins) == 1,
          'meson install --destdir installs the SDK (pkg-config file, '
          'qme-new-device)', out.stdout + out.stderr)
    if not pcs or not bins:
        print(f'1..{len(results)}')
        sys.exit(1)
    bindir = os.path.dirname(bins[0])
    env = dict(os.environ)
    for k in ('LD_PRELOAD', 'QME_MODULE_PATH', 'MESON_BUILD_ROOT',
              'MESON_SOURCE_ROOT', 'DESTDIR'):
        env.pop(k, None)
    env['PKG_CONFIG_PATH'] = os.path.dirname(pcs[0])
    env['PATH'] = bindir + os.pathsep + env['PATH']

    out = run(['pkg-config', '--variable=build_id', 'qemu-modules-extra'],
              tmp, env)
    ident = subprocess.run([os.path.join(os.path.dirname(__file__), '..',
                                         '..', 'ci', 'qemu-identity'),
                            '--get', 'build_id', qemu],
                           capture_output=True, text=True).stdout.strip()
    check(out.returncode == 0 and out.stdout.strip() == ident != '',
          'pkg-config qemu-modules-extra names the installed QEMU build',
          out.stdout + out.stderr + ident)

    work = os.path.join(tmp, 'work')
    os.mkdir(work)
    for name, kind in (('sdk-test-pci', '--pci'),
                       ('sdk-test-plat', '--platform')):
        out = run(['qme-new-device', name, kind], work, env)
        proj = os.path.join(work, name)
        files = sorted(os.path.relpath(os.path.join(d, f), proj)
                       for d, _, fs in os.walk(proj) for f in fs)
        want = sorted(['meson.build', f'{name}.c', f'{name}.regs.toml',
                       'trace-events', 'README.md', 'tests/meson.build',
                       f'tests/qtest-{name}.c'])
        check(out.returncode == 0 and files == want,
              f'qme-new-device {name} {kind} writes the project',
              f'{files}\n{out.stdout}{out.stderr}')
        # QEMU's coding style, as every device of ours (checkpatch.pl of
        # the QEMU SDK, from inside the project as for in-tree tests).
        if checkpatch:
            out = run(['perl', checkpatch, '--no-tree', '-q', '-f',
                       f'{name}.c', f'tests/qtest-{name}.c'], proj, env)
            check(out.returncode == 0 and 'ERROR' not in out.stdout,
                  f'{name}: the generated C passes QEMU checkpatch',
                  out.stdout + out.stderr)
        out = run(['qme-new-device', name, kind], work, env)
        check(out.returncode != 0 and 'already exists' in out.stderr,
              f'qme-new-device {name} again: refused, the folder kept',
              out.stdout + out.stderr)
        steps = [['meson', 'setup', 'build'], ['meson', 'compile', '-C', 'build'],
                 ['meson', 'test', '-C', 'build']]
        for step in steps:
            out = run(step, proj, env)
            if out.returncode != 0:
                break
        log = os.path.join(proj, 'build', 'meson-logs', 'testlog.txt')
        check(out.returncode == 0 and
              f'qtest-{name}' in out.stdout and 'Ok:                 2' in out.stdout,
              f'{name}: meson setup, compile and test pass (regmap, qtest)',
              out.stdout + out.stderr +
              (open(log).read() if os.path.exists(log) else ''))
        module = os.path.join(proj, 'build', f'{name}.so')
        out = run(['qemu-extra', '--module-path', 'build', qemu, '-M', 'virt',
                   '-nic', 'none', '-device', 'help'], proj, env, timeout=60)
        check(out.returncode == 0 and device_listed(out, name) and
              'refusing' not in out.stderr,
              f'qemu-extra --module-path build ... -device help lists {name}',
              out.stdout[-1500:] + out.stderr)
        out = run(['qemu-extra', qemu, '-M', 'virt', '-nic', 'none',
                   '-device', 'help'], proj,
                  dict(env, QME_MODULE_PATH=os.path.join(proj, 'build')),
                  timeout=60)
        check(out.returncode == 0 and device_listed(out, name),
              f'QME_MODULE_PATH=build: qemu-extra lists {name}',
              out.stdout[-1500:] + out.stderr)

        # The QEMU upgrade: the module names another build-id.
        stamp = os.path.join(tmp, 'stamp')
        with open(stamp, 'wb') as f:
            f.write(b'build-id=00;qemu=7.2.99;package=x'.ljust(STAMP_SIZE, b'\0'))
        subprocess.run(['objcopy', '--update-section', f'.qme_build={stamp}',
                        module], check=True)
        out = run(['qemu-extra', '--module-path', 'build', qemu, '-M', 'virt',
                   '-nic', 'none', '-device', 'help'], proj, env, timeout=60)
        refusals = [l for l in out.stderr.splitlines() if 'refusing' in l]
        rebuild = refusals[0].split('): ', 1)[-1] if refusals else ''
        check(len(refusals) == 1 and module in refusals[0] and
              'qemu-modules-extra-dev' in refusals[0] and
              rebuild.startswith('meson setup --reconfigure ') and
              not device_listed(out, name),
              f'{name} built for another QEMU build: refused with one line '
              'naming the command that rebuilds it', out.stderr)
        # The new build's SDK brings a new stamp header: the command
        # rebuilds the stamp and the module loads again.
        for h in glob.glob(os.path.join(dest, '**', 'stamp',
                                        'qme-build-config.h'), recursive=True):
            os.utime(h)
        out = run(rebuild, proj, env, shell=True)
        again = run(['qemu-extra', '--module-path', 'build', qemu, '-M', 'virt',
                     '-nic', 'none', '-device', 'help'], proj, env, timeout=60)
        check(out.returncode == 0 and device_listed(again, name) and
              'refusing' not in again.stderr,
              f'{name}: the command of the refusal rebuilds a module that '
              'loads', out.stdout[-1500:] + out.stderr + again.stderr)

print(f'1..{len(results)}')
sys.exit(0 if all(results) else 1)
