#!/usr/bin/env python3
# Loader and launcher tests (TAP): the stock binary sees our devices, the
# preload is inert elsewhere, a module for another QEMU build is refused,
# qemu-system-x86_64 of the same build gets the PCI devices only, and an
# installed tree works with nothing from the build tree.
#
#   test-loader.py BUILDDIR
# Env: QME_QEMU, QME_LOADER, QME_MODULE_PATH (set by meson test);
# QME_QEMU_X86_64 when qemu-system-x86_64 of the same build is installed.
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', 'tests'))
import sanitizer_note  # noqa: E402

build = os.path.abspath(sys.argv[1])
qemu = os.environ.get('QME_QEMU', '/usr/bin/qemu-system-aarch64')
loader = os.environ['QME_LOADER']
modpath = os.environ['QME_MODULE_PATH']
devices = [d for d in ('mypci_minimal', 'mypci_configurable', 'minimal-pcie-nic',
                        'stopwatch', 'mmio-sockdev', 'sockdev-uart')
           if any(os.path.exists(os.path.join(p, d + '.so'))
                  for p in modpath.split(':'))]
QEMU_ARGS = ['-M', 'virt', '-display', 'none', '-nodefaults', '-nic', 'none']
# The size of the .qme_build section (loader/qme-stamp.h): a rewritten
# stamp keeps it.
STAMP_SIZE = 512
qemu_x86 = os.environ.get('QME_QEMU_X86_64', '')
X86_ARGS = ['-M', 'q35', '-display', 'none', '-nodefaults', '-nic', 'none']
PCI_DEVICES = [d for d in devices if d in ('mypci_minimal', 'mypci_configurable',
                                           'minimal-pcie-nic')]
PLATFORM_DEVICES = [d for d in devices if d not in PCI_DEVICES]

results = []


def check(ok, name, detail=''):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}")
    if not ok and detail:
        for line in str(detail).splitlines()[-20:]:
            print(f'# {line}')


def without_sanitizer_note(result):
    result.stderr = sanitizer_note.without_sanitizer_note(result.stderr)
    return result


def run(cmd, env_extra=None, preload=True, timeout=30, input=None):
    env = dict(os.environ)
    env.pop('LD_PRELOAD', None)
    env.pop('QME_MODULE_PATH', None)
    if preload:
        env['LD_PRELOAD'] = loader
        env['QME_MODULE_PATH'] = modpath
    env.update(env_extra or {})
    return without_sanitizer_note(
        subprocess.run(cmd, env=env, capture_output=True, text=True,
                       timeout=timeout, input=input))


# 1. The stock binary lists and describes our devices.
out = run([qemu, '-M', 'virt', '-device', 'help'])
for d in devices:
    line = [l for l in out.stdout.splitlines() if f'name "{d}"' in l]
    check(len(line) == 1 and 'desc "' in line[0], f'-device help lists {d}',
          out.stdout + out.stderr)
out = run([qemu, '-M', 'virt', '-device', 'mypci_minimal,help'])
check(out.returncode == 0 and 'mypci_minimal options:' in out.stdout,
      '-device mypci_minimal,help lists its properties', out.stdout + out.stderr)
# Every property, our own and the ones inherited from QEMU's core classes,
# has a description: "name=<type> - text", never a bare name or "-  (".
for d in devices:
    out = run([qemu, '-M', 'virt', '-device', f'{d},help'])
    props = [l for l in out.stdout.splitlines() if '=<' in l]
    bare = [l for l in props if not re.match(r'\s+\S+=<[^>]*>\s+- [^ (]', l)]
    check(out.returncode == 0 and not bare,
          f'-device {d},help describes all {len(props)} properties',
          '\n'.join(bare) or out.stderr)

# 2. -device works, and a bad property gets QEMU's own error.
out = run([qemu] + QEMU_ARGS + ['-device', 'mypci_minimal', '-S',
                                '-monitor', 'stdio'],
          input='info pci\nquit\n')
check(out.returncode == 0 and 'PCI device 1af4:1234' in out.stdout,
      '-device mypci_minimal appears in info pci', out.stdout + out.stderr)
out = run([qemu] + QEMU_ARGS + ['-device', 'mypci_minimal,nosuchprop=1'])
check(out.returncode == 1 and
      "Property 'mypci_minimal.nosuchprop' not found" in out.stderr,
      'unknown property: QEMU\'s own error', out.stderr)

# 3. The preload does nothing in other processes.
for cmd in (['ls', '/'], ['python3', '-c', 'print(1)'],
            ['qemu-img', '--version']):
    if not shutil.which(cmd[0]):
        check(False, f'{cmd[0]} present', f'{cmd[0]} not installed')
        continue
    a = run(cmd, preload=False)
    b = run(cmd, preload=True,
            env_extra={'QME_LOADER_VERBOSE': '1'})
    check((a.returncode, a.stdout, a.stderr) ==
          (b.returncode, b.stdout, b.stderr),
          f'preload is inert in {cmd[0]}', f'{a!r}\n{b!r}')

# 4. A module compiled for another QEMU build is refused, never loaded.
with tempfile.TemporaryDirectory() as tmp:
    stamp = os.path.join(tmp, 'stamp')
    fake_id = '0123456789abcdef0123456789abcdef01234567'
    with open(stamp, 'wb') as f:
        f.write(f'build-id={fake_id};qemu=7.2.99;package=1:7.2+fake'
                .encode().ljust(STAMP_SIZE, b'\0'))
    src = next(os.path.join(d, 'mypci_minimal.so')
               for d in modpath.split(':')
               if os.path.exists(os.path.join(d, 'mypci_minimal.so')))
    fake = os.path.join(tmp, 'mypci_minimal.so')
    subprocess.run(['objcopy', '--update-section', f'.qme_build={stamp}',
                    src, fake], check=True)
    out = run([qemu] + QEMU_ARGS + ['-device', 'mypci_minimal'],
              env_extra={'QME_MODULE_PATH': tmp})
    refusals = [l for l in out.stderr.splitlines() if 'refusing' in l]
    real_id = subprocess.run([os.path.join(os.path.dirname(__file__), '..', '..',
                                           'ci', 'qemu-identity'),
                              '--get', 'build_id', qemu],
                             capture_output=True, text=True).stdout.strip()
    check(len(refusals) == 1 and fake_id in refusals[0] and
          real_id in refusals[0] and '7.2.99' in refusals[0],
          'mismatched module refused with one line naming both builds',
          out.stderr)
    check(out.returncode == 1 and
          "'mypci_minimal' is not a valid device model name" in out.stderr,
          '-device of a refused module fails cleanly', out.stderr)
    # QEMU numbers its module-init phases per release (11.x moved QOM from
    # phase 3 to 4): a module's constructor registers its types in the
    # phases of the QEMU it was built for.  So a refused module must never
    # be opened at all; ld.so's own trace says which files it opened.
    out = run([qemu] + QEMU_ARGS + ['-device', 'help'],
              env_extra={'QME_MODULE_PATH': f'{tmp}:{os.path.dirname(src)}',
                         'LD_DEBUG': 'files'})
    opened = [l for l in out.stderr.splitlines() if 'file=' in l and
              'dynamically loaded by' in l]
    check(not any(fake in l for l in opened) and
          any(src in l for l in opened) and
          out.stdout.count('name "mypci_minimal"') == 1,
          'a refused module is never opened (LD_DEBUG=files): its types '
          'are never registered in module-init phases this binary may '
          'number differently; the matching one is opened',
          '\n'.join(opened) or out.stderr[-2000:])

# 4a. A module without our stamp is refused with one line naming the file
# and the fix, and never opened; a user's module (built with the SDK)
# refused after a QEMU upgrade names the command that rebuilds it.
with tempfile.TemporaryDirectory() as tmp:
    src = next(os.path.join(d, 'mypci_minimal.so')
               for d in modpath.split(':')
               if os.path.exists(os.path.join(d, 'mypci_minimal.so')))
    bare = os.path.join(tmp, 'mypci_minimal.so')
    subprocess.run(['objcopy', '--remove-section', '.qme_build', src, bare],
                   check=True)
    out = run([qemu] + QEMU_ARGS + ['-device', 'help'],
              env_extra={'QME_MODULE_PATH': tmp, 'LD_DEBUG': 'files'})
    refusals = [l for l in out.stderr.splitlines() if 'refusing' in l]
    opened = [l for l in out.stderr.splitlines() if 'file=' in l and
              'dynamically loaded by' in l and bare in l]
    check(len(refusals) == 1 and bare in refusals[0] and
          'no qemu-modules-extra stamp' in refusals[0] and
          'qme-new-device' in refusals[0] and not opened and
          'name "mypci_minimal"' not in out.stdout,
          'unstamped module refused with one line naming file and fix, '
          'never opened', '\n'.join(refusals + opened) or out.stderr[-2000:])
    os.unlink(bare)
    stamp = os.path.join(tmp, 'stamp')
    rebuild = os.path.join(tmp, 'rebuild')
    with open(stamp, 'wb') as f:
        f.write(b'build-id=00;qemu=7.2.99;package=x'.ljust(STAMP_SIZE, b'\0'))
    command = 'meson setup --reconfigure /home/u/mydev/build /home/u/mydev'
    with open(rebuild, 'wb') as f:
        f.write(command.encode() + b'\0')
    user = os.path.join(tmp, 'mydev.so')
    subprocess.run(['objcopy', '--update-section', f'.qme_build={stamp}',
                    '--add-section', f'.qme_rebuild={rebuild}', src, user],
                   check=True)
    os.unlink(stamp)
    os.unlink(rebuild)
    out = run([qemu] + QEMU_ARGS + ['-device', 'help'],
              env_extra={'QME_MODULE_PATH': tmp})
    refusals = [l for l in out.stderr.splitlines() if 'refusing' in l]
    check(len(refusals) == 1 and user in refusals[0] and
          refusals[0].endswith(command) and
          'qemu-modules-extra-dev' in refusals[0],
          "a user's module of another QEMU build: the refusal names the "
          'command that rebuilds it', out.stderr)

# 4b. qemu-system-x86_64 of the same QEMU build: the PCI modules load, the
# platform ones are skipped, quietly unless asked for.
if qemu_x86:
    out = run([qemu_x86, '-M', 'q35', '-device', 'help'])
    check(out.returncode == 0 and
          all(f'name "{d}"' in out.stdout for d in PCI_DEVICES) and
          not any(f'name "{d}"' in out.stdout for d in PLATFORM_DEVICES) and
          'qemu-modules-extra' not in out.stderr,
          'x86_64: -device help lists the PCI devices only, quietly',
          out.stdout + out.stderr)
    out = run([qemu_x86] + X86_ARGS +
              [a for d in PCI_DEVICES for a in ('-device', d)] +
              ['-S', '-monitor', 'stdio'], input='info pci\nquit\n')
    check(out.returncode == 0 and
          out.stdout.count('PCI device 1af4:') == len(PCI_DEVICES),
          f'x86_64 -M q35: {len(PCI_DEVICES)} PCI devices in info pci',
          out.stdout + out.stderr)
    for d in PLATFORM_DEVICES:
        out = run([qemu_x86] + X86_ARGS + ['-device', f'{d},id=x'])
        lines = [l for l in out.stderr.splitlines() if 'qemu-modules-extra' in l]
        check(out.returncode == 1 and len(lines) == 1 and
              f'{d} is aarch64-only (platform device of -M virt)' in lines[0] and
              'refusing' not in lines[0] and
              f"'{d}' is not a valid device model name" in out.stderr,
              f'x86_64: -device {d} says it is aarch64-only, in one line',
              out.stderr)
    # Another build is still "refusing", with both build-ids.
    with tempfile.TemporaryDirectory() as tmp:
        stamp = os.path.join(tmp, 'stamp')
        with open(stamp, 'wb') as f:
            f.write(b'build-id=00;targets=aarch64,x86_64;qemu=7.2.99;package=x;'
                    b'build=aarch64:00,x86_64:01'.ljust(STAMP_SIZE, b'\0'))
        src = next(os.path.join(d, 'mypci_minimal.so')
                   for d in modpath.split(':')
                   if os.path.exists(os.path.join(d, 'mypci_minimal.so')))
        subprocess.run(['objcopy', '--update-section', f'.qme_build={stamp}',
                        src, os.path.join(tmp, 'mypci_minimal.so')], check=True)
        out = run([qemu_x86] + X86_ARGS + ['-device', 'mypci_minimal'],
                  env_extra={'QME_MODULE_PATH': tmp})
        refusals = [l for l in out.stderr.splitlines() if 'refusing' in l]
        check(out.returncode == 1 and len(refusals) == 1 and
              '(build-id 00)' in refusals[0] and 'qemu-system-x86_64' in refusals[0],
              'x86_64: a module of another QEMU build is refused', out.stderr)
else:
    print('# qemu-system-x86_64 of this QEMU build is not installed: '
          'x86_64 checks not run')

# 5. meson install to a staged prefix: the installed launcher alone works.
with tempfile.TemporaryDirectory() as dest:
    inst = subprocess.run(['meson', 'install', '-C', build, '--no-rebuild',
                           '--quiet', '--destdir', dest],
                          capture_output=True, text=True)
    check(inst.returncode == 0, 'meson install --destdir', inst.stderr)
    launchers = [os.path.join(r, f) for r, _, fs in os.walk(dest)
                 for f in fs if f == 'qemu-extra']
    check(len(launchers) == 1, 'launcher installed', launchers)
    if launchers:
        env = {'QME_MODULE_PATH': ''}
        out = run([launchers[0], '-M', 'virt', '-device', 'help'],
                  preload=False, env_extra=env)
        check(all(f'name "{d}"' in out.stdout for d in devices),
              'installed launcher lists every device', out.stdout + out.stderr)
        out = run([launchers[0], qemu] + QEMU_ARGS +
                  ['-device', 'mypci_minimal', '-S', '-monitor', 'stdio'],
                  preload=False, env_extra=env, input='info pci\nquit\n')
        check(out.returncode == 0 and 'PCI device 1af4:1234' in out.stdout,
              'installed launcher runs -device mypci_minimal',
              out.stdout + out.stderr)
        if qemu_x86:
            out = run([launchers[0], 'qemu-system-x86_64', '-M', 'q35', '-nic',
                       'none', '-device', 'help'], preload=False, env_extra=env)
            check(out.returncode == 0 and
                  all(f'name "{d}"' in out.stdout for d in PCI_DEVICES) and
                  not any(f'name "{d}"' in out.stdout
                          for d in PLATFORM_DEVICES),
                  'qemu-extra qemu-system-x86_64 -M q35 lists the PCI devices '
                  'and no platform device', out.stdout + out.stderr)

# 6. The system-wide wrapper (built here to exec the stock binary itself).
wrapper = os.environ.get('QME_WRAPPER_TEST')
check(bool(wrapper) and os.access(wrapper, os.X_OK), 'system-wide wrapper built',
      wrapper)


def run_as(argv0, exe, args, env_extra=None, **kw):
    """Run @exe with argv[0] = @argv0 and a caller environment without
    our variables plus @env_extra."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('LD_PRELOAD', 'QME_MODULE_PATH', 'QME_WRAPPED')}
    env.update(env_extra or {})
    return without_sanitizer_note(
        subprocess.run([argv0] + args, executable=exe, env=env,
                       capture_output=True, text=True, timeout=30, **kw))


if wrapper:
    out = run_as('qemu-system-aarch64', wrapper, ['-M', 'virt', '-device', 'help'])
    check(out.returncode == 0 and
          all(out.stdout.count(f'name "{d}"') == 1 for d in devices),
          'wrapper: -device help lists every device once, nothing preset',
          out.stdout + out.stderr)
    # QEMU names itself after argv[0]: the wrapper must pass it through.
    for args in (['--version'], ['-bogus-option'],
                 ['-device', 'no-such-device']):
        a = run_as('qemu-custom-name', qemu, args)
        b = run_as('qemu-custom-name', wrapper, args)
        check((a.returncode, a.stdout, a.stderr) ==
              (b.returncode, b.stdout, b.stderr),
              f'wrapper: {" ".join(args)} gives the stock output and exit '
              f'code ({b.returncode}), argv[0] kept', f'{a!r}\n{b!r}')
    # A caller's own QME_MODULE_PATH still counts (the test accelerator).
    accel = os.path.join(build, 'tests', 'qtest-accel')
    out = run_as('qemu-system-aarch64', wrapper,
                 ['-accel', 'qtest', '-M', 'none', '-display', 'none',
                  '-monitor', 'stdio', '-S'], {'QME_MODULE_PATH': accel},
                 input='quit\n')
    check(out.returncode == 0 and not out.stderr,
          "wrapper: the caller's QME_MODULE_PATH is kept (-accel qtest)",
          out.stdout + out.stderr)

    # QEMU's children get the caller's environment back: the bridge helper
    # is a program QEMU forks and execs (it fails, and QEMU exits 1).
    with tempfile.TemporaryDirectory() as tmp:
        helper = os.path.join(tmp, 'helper')
        envfile = os.path.join(tmp, 'env')
        with open(helper, 'w') as f:
            f.write(f'#!/bin/sh\nenv > {envfile}\nexit 1\n')
        os.chmod(helper, 0o755)
        bridge = QEMU_ARGS + ['-netdev', f'bridge,id=n0,br=qme0,helper={helper}']
        for name, extra in (('no LD_PRELOAD', {}),
                            ('LD_PRELOAD and QME_MODULE_PATH set',
                             {'LD_PRELOAD': loader, 'QME_MODULE_PATH': accel}),
                            ('both set empty',
                             {'LD_PRELOAD': '', 'QME_MODULE_PATH': ''})):
            if os.path.exists(envfile):
                os.unlink(envfile)
            out = run_as('qemu-system-aarch64', wrapper, bridge, extra)
            try:
                with open(envfile) as f:
                    child = dict(l.split('=', 1) for l in f.read().splitlines()
                                 if '=' in l)
            except OSError:
                child = {}
            want = {k: extra.get(k) for k in
                    ('LD_PRELOAD', 'QME_MODULE_PATH', 'QME_WRAPPED')}
            got = {k: child.get(k) for k in want}
            check(out.returncode == 1 and 'bridge helper failed' in out.stderr
                  and child and got == want,
                  f"wrapper: QEMU's children see the caller's environment "
                  f"({name})", f'want {want}, got {got}; {out.stderr}')

    # qemu-extra run through the wrapper names each folder twice: a refused
    # module is reported once.
    with tempfile.TemporaryDirectory() as tmp:
        stamp = os.path.join(tmp, 'stamp')
        with open(stamp, 'wb') as f:
            f.write(b'build-id=00;qemu=7.2.99;package=x'.ljust(STAMP_SIZE, b'\0'))
        src = next(os.path.join(d, 'mypci_minimal.so')
                   for d in modpath.split(':')
                   if os.path.exists(os.path.join(d, 'mypci_minimal.so')))
        subprocess.run(['objcopy', '--update-section', f'.qme_build={stamp}',
                        src, os.path.join(tmp, 'fake.so')], check=True)
        out = run_as('qemu-system-aarch64', wrapper, ['-device', 'help'],
                     {'LD_PRELOAD': loader, 'QME_MODULE_PATH': f'{tmp}:{tmp}'})
        check(out.returncode == 0 and
              sum('refusing' in l for l in out.stderr.splitlines()) == 1,
              'a folder named twice is read once', out.stderr)

    # Without the loader (half-removed install) QEMU runs plain and quiet.
    a = run_as('qemu-system-aarch64', qemu, ['-M', 'virt', '-device', 'help'])
    b = run_as('qemu-system-aarch64', os.environ['QME_WRAPPER_NO_LOADER'],
               ['-M', 'virt', '-device', 'help'])
    check((a.returncode, a.stdout, a.stderr) ==
          (b.returncode, b.stdout, b.stderr),
          'wrapper without its loader: the stock QEMU, no ld.so warning',
          f'{a!r}\n{b!r}')

print(f'1..{len(results)}')
sys.exit(0 if all(results) else 1)
