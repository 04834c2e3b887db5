#!/usr/bin/env python3
# Install the QEMU headers device code needs, from the QEMU SDK of this
# build (ci/make-sdk.sh), into the installed SDK: the public include/ and
# the generated build headers, the kernel headers QEMU carries, and the
# headers beside QEMU's sources that device and accelerator code reaches
# (trace/, hw/, the host targets' CPU headers).  Sources, docs, tests and
# other targets stay out.
#
# With --tracetool, QEMU's trace generator (SDK-PREFIX/scripts) instead.
#
#   install-qemu-files.py SDK-INCLUDEDIR DEST
#   install-qemu-files.py --tracetool SDK-SCRIPTS DEST
# DEST is relative to the prefix; meson's install environment gives
# DESTDIR and the prefix.
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import shutil
import sys

# Top-level folders of SDK-INCLUDEDIR/src whose headers are kept.
SRC_DIRS = ('include', 'linux-headers', 'trace', 'hw', 'monitor',
            'migration', 'qapi', 'qobject', 'qom', 'chardev', 'net',
            'block', 'accel', 'system', 'softmmu', 'target/arm',
            'target/i386', 'fpu')
HEADER_ENDINGS = ('.h', '.h.inc')


def wanted(rel):
    top = rel.split(os.sep)
    if top[0] == 'build':
        # QEMU's own trace groups are its code's, but for the root one.
        if top[1:2] == ['trace']:
            return top[-1] == 'trace-root.h'
        return top[1:2] != ['tests'] and rel.endswith(HEADER_ENDINGS)
    sub = os.sep.join(top[1:])
    if not any(sub == d or sub.startswith(d + os.sep) for d in SRC_DIRS):
        return False
    # include/ has a few .inc headers included by other headers.
    return rel.endswith(HEADER_ENDINGS) or (top[1] == 'include' and
                                            rel.endswith('.inc'))


def tracetool(rel):
    return (rel == 'tracetool.py' or rel.startswith('tracetool' + os.sep)) \
        and rel.endswith('.py')


def main():
    args = sys.argv[1:]
    keep = wanted
    if args[0] == '--tracetool':
        keep = tracetool
        args = args[1:]
    src, dest = args
    root = os.environ.get('MESON_INSTALL_DESTDIR_PREFIX')
    if root is None:
        sys.exit('install-qemu-files.py: run by meson install only')
    dest = os.path.join(root, dest)
    count = 0
    for dirpath, _, files in os.walk(src):
        for name in files:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src)
            if not keep(rel):
                continue
            out = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            shutil.copyfile(path, out)
            # A script (tracetool.py) keeps being one.
            with open(out, 'rb') as f:
                script = f.read(2) == b'#!'
            os.chmod(out, 0o755 if script else 0o644)
            count += 1
    if not os.environ.get('MESON_INSTALL_QUIET'):
        print(f'Installing {count} QEMU files from {src} to {dest}')


if __name__ == '__main__':
    main()
