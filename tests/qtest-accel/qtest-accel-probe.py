#!/usr/bin/env python3
"""Does a QEMU binary have its own "qtest" accelerator?

    qtest-accel-probe.py QEMU
        print "shipped" or "missing" (the build's choice, at configure time)
    qtest-accel-probe.py --test QEMU BUILT ACCEL-DIR
        TAP: the choice the build made (BUILT: "true" = ours is built) is
        right for this binary, and -accel qtest then works with the loader
        ($QME_LOADER, the preload the tests give QEMU)

Debian 12 and 13 delete QEMU's accel-qtest-*.so; newer Debian QEMU ships it,
and a second "qtest" accelerator aborts QEMU at start.  "-accel help" never
lists qtest, so the binary is asked to start with it: an HMP "quit" on
stdin ends a binary that accepted it.

SPDX-License-Identifier: GPL-2.0-or-later
"""
import os
import subprocess
import sys

ARGS = ['-accel', 'qtest', '-M', 'none', '-display', 'none', '-nodefaults',
        '-S', '-monitor', 'stdio']


def start(qemu, env_extra=None):
    """Run @qemu with -accel qtest until "quit": (exit code, output)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('LD_PRELOAD', 'QME_MODULE_PATH')}
    env.update(env_extra or {})
    r = subprocess.run([qemu] + ARGS, input='quit\n', capture_output=True,
                       text=True, timeout=30, env=env)
    return r.returncode, r.stdout + r.stderr


def shipped(qemu):
    code, out = start(qemu)
    if code == 0:
        return True
    if 'invalid accelerator qtest' in out:
        return False
    sys.exit(f'qtest-accel-probe: {qemu} -accel qtest failed unexpectedly '
             f'(exit {code}): {out.strip()}')


def test(qemu, built, accel_dir):
    has_own = shipped(qemu)
    print('1..2')
    ok = built != has_own
    print(f'{"ok" if ok else "not ok"} 1 - {qemu} '
          f'{"has" if has_own else "lacks"} its own qtest accelerator and '
          f'ours is {"built" if built else "not built"}')
    env = {'LD_PRELOAD': os.environ['QME_LOADER']}
    if built:
        env['QME_MODULE_PATH'] = accel_dir
    code, out = start(qemu, env)
    print(f'{"ok" if code == 0 else "not ok"} 2 - -accel qtest starts with '
          f'the loader{" and our accelerator" if built else ""} '
          f'(exit {code})')
    if code != 0:
        print('\n'.join('# ' + line for line in out.splitlines()))
    return 0 if ok and code == 0 else 1


def main():
    if len(sys.argv) == 2:
        print('shipped' if shipped(sys.argv[1]) else 'missing')
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == '--test':
        return test(sys.argv[2], sys.argv[3] == 'true', sys.argv[4])
    sys.exit(__doc__)


if __name__ == '__main__':
    sys.exit(main())
