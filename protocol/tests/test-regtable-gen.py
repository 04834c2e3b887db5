#!/usr/bin/env python3
#
# Tests of protocol/regtable-gen.py: error reporting, --check-doc and
# --update-doc, determinism, and that a generated -regs.h compiles on its
# own (as a Linux driver or firmware would include it).  Output is TAP.
#
# usage: test-regtable-gen.py GENERATOR FIXTURE_DIR CC [CC_ARGS...]
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import shutil
import signal
import subprocess
import sys
import tempfile

GEN = sys.argv[1]
FIXTURES = sys.argv[2]
CC = sys.argv[3:]
TOML = os.path.join(FIXTURES, 'test.regs.toml')

GOOD_HEAD = 'name = "blk"\nprefix = "B"\n'
GOOD_REG = '[[register]]\nname = "A"\noffset = 0\naccess = "rw"\n'

# (description, TOML text, text the one-line error must contain)
BAD = [
    ('unknown register key',
     GOOD_HEAD + GOOD_REG + 'colour = "red"\n',
     "register A: unknown key 'colour'"),
    ('unknown top-level key',
     GOOD_HEAD + 'bogus = 1\n' + GOOD_REG, "unknown key 'bogus'"),
    ('unknown field key',
     GOOD_HEAD + GOOD_REG + '[[register.field]]\nname = "F"\nbit = 0\n'
     'size = 2\n', "register A: field F: unknown key 'size'"),
    ('missing register name',
     GOOD_HEAD + '[[register]]\noffset = 0\naccess = "rw"\n',
     "register #0: missing 'name'"),
    ('missing offset',
     GOOD_HEAD + '[[register]]\nname = "A"\naccess = "rw"\n',
     "register A: missing 'offset'"),
    ('missing access',
     GOOD_HEAD + '[[register]]\nname = "A"\noffset = 0\n',
     "register A: missing 'access'"),
    ('bad access string',
     GOOD_HEAD + '[[register]]\nname = "A"\noffset = 0\naccess = "rx"\n',
     "register A: access 'rx' is not one of"),
    ('misaligned',
     GOOD_HEAD + '[[register]]\nname = "A"\noffset = 2\naccess = "rw"\n',
     'register A: offset 0x2 is not aligned'),
    ('bad size',
     GOOD_HEAD + GOOD_REG + 'size = 3\n', 'register A: size 3 is not'),
    ('overlap',
     GOOD_HEAD + GOOD_REG + 'size = 8\n[[register]]\nname = "B"\n'
     'offset = 4\naccess = "ro"\n',
     'register B: offset 0x4 overlaps register A'),
    ('duplicate name',
     GOOD_HEAD + GOOD_REG + GOOD_REG.replace('offset = 0', 'offset = 4'),
     'register A: defined twice'),
    ('reset out of range',
     GOOD_HEAD + GOOD_REG + 'size = 1\nreset = 0x100\n',
     'register A: reset 0x100 does not fit in 8 bits'),
    ('reset sets reserved bits',
     GOOD_HEAD + GOOD_REG + 'reset = 3\nreserved = 2\n',
     'register A: reset 0x3 sets reserved bits'),
    ('writable and reserved',
     GOOD_HEAD + GOOD_REG + 'writable = 0xff\nreserved = 0x80\n',
     'register A: bits 0x80 are both writable and reserved'),
    ('field out of register',
     GOOD_HEAD + GOOD_REG + 'size = 2\n[[register.field]]\nname = "F"\n'
     'bit = 12\nwidth = 8\n', 'register A: field F: bits 19:12 do not fit'),
    ('overlapping fields',
     GOOD_HEAD + GOOD_REG + '[[register.field]]\nname = "F"\nbit = 0\n'
     'width = 4\n[[register.field]]\nname = "G"\nbit = 3\n',
     'register A: field G overlaps field F'),
    ('boolean as number',
     GOOD_HEAD + GOOD_REG + 'reset = true\n',
     "register A: 'reset' must be an integer"),
    ('hook named by hand',
     GOOD_HEAD + GOOD_REG + 'read = "my_hook"\n',
     "register A: read = 'my_hook': hook names are derived"),
    ('hook neither true nor false',
     GOOD_HEAD + GOOD_REG + 'post_write = 1\n',
     "register A: 'post_write' must be a bool"),
    ('field reset wider than the field',
     GOOD_HEAD + GOOD_REG + '[[register.field]]\nname = "F"\nbit = 4\n'
     'width = 2\nreset = 4\n',
     'register A: field F: reset 0x4 does not fit in 2 bits'),
    ('unknown field access',
     GOOD_HEAD + GOOD_REG + '[[register.field]]\nname = "F"\nbit = 0\n'
     'access = "toggle"\n',
     "register A: field F: access 'toggle' is not one of"),
    ('pulse on a register',
     GOOD_HEAD + '[[register]]\nname = "A"\noffset = 0\naccess = "pulse"\n',
     "register A: access 'pulse' is not one of"),
    ('field without access',
     GOOD_HEAD + '[[register]]\nname = "A"\noffset = 0\n'
     '[[register.field]]\nname = "F"\nbit = 0\n',
     "register A: field F: missing 'access'"),
    ('unknown constant in a register reset',
     GOOD_HEAD + GOOD_REG + 'reset = "NOPE"\n',
     "register A: reset names unknown constant 'NOPE'"),
    ('unknown constant in a field reset',
     GOOD_HEAD + '[constants]\nONE = 1\n' + GOOD_REG +
     '[[register.field]]\nname = "F"\nbit = 0\nreset = "ONE_"\n',
     "register A: field F: reset names unknown constant 'ONE_'"),
    ('constant too wide for the field',
     GOOD_HEAD + '[constants]\nBIG = 0x10\n' + GOOD_REG +
     '[[register.field]]\nname = "F"\nbit = 0\nwidth = 4\n'
     'reset = "BIG"\n',
     'register A: field F: reset 0x10 does not fit in 4 bits'),
    ('writable beside fields',
     GOOD_HEAD + GOOD_REG + 'writable = 1\n[[register.field]]\nname = "F"'
     '\nbit = 0\n',
     "register A: 'writable' is derived from the fields"),
    ('reserved beside fields',
     GOOD_HEAD + GOOD_REG + 'reserved = 2\n[[register.field]]\nname = "F"'
     '\nbit = 0\n',
     "register A: 'reserved' is derived from the fields"),
    ('register reset in no field',
     GOOD_HEAD + GOOD_REG + 'reset = 2\n[[register.field]]\nname = "F"'
     '\nbit = 0\n',
     'register A: reset 0x2 sets bits 0x2 in no field'),
    ('reset on register and fields',
     GOOD_HEAD + GOOD_REG + 'reset = 1\n[[register.field]]\nname = "F"'
     '\nbit = 0\nreset = 1\n',
     'register A: reset given both on the register and on fields'),
    ('pulse field with a reset',
     GOOD_HEAD + GOOD_REG + '[[register.field]]\nname = "F"\nbit = 0\n'
     'access = "pulse"\nreset = 1\n',
     'register A: field F: a pulse field always reads 0'),
    ('lower-case register name',
     GOOD_HEAD + '[[register]]\nname = "a"\noffset = 0\naccess = "rw"\n',
     'register a: name must be an upper-case identifier'),
    ('generated names clash',
     GOOD_HEAD + GOOD_REG + '[[register]]\nname = "A_SIZE"\noffset = 4\n'
     'access = "rw"\n', 'register A_SIZE: generated name B_REG_A_SIZE'),
    ('missing prefix',
     'name = "blk"\n' + GOOD_REG, "missing 'prefix'"),
    ('no registers',
     GOOD_HEAD, 'no registers'),
    ('TOML syntax',
     GOOD_HEAD + '[[register]\n', 'TOML syntax error'),
]


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def result(self, ok, name, diag=''):
        self.n += 1
        if not ok:
            self.failed += 1
            for line in diag.rstrip().splitlines():
                print('# ' + line)
        print(f'{"" if ok else "not "}ok {self.n} - {name}')


def gen(*args):
    return subprocess.run([sys.executable, GEN] + list(args),
                          capture_output=True, text=True)


def read(path):
    with open(path, encoding='utf-8') as fp:
        return fp.read()


def main():
    tap = Tap()
    tmp = tempfile.mkdtemp(prefix='regtable-gen-test.')
    # meson's timeout sends SIGTERM: leave through the finally below.
    signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(1))
    try:
        run_tests(tap, tmp)
    finally:
        shutil.rmtree(tmp)
    print(f'1..{tap.n}')
    return 1 if tap.failed else 0


def run_tests(tap, tmp):
    for desc, text, want in BAD:
        path = os.path.join(tmp, 'bad.regs.toml')
        with open(path, 'w') as fp:
            fp.write(text)
        out = os.path.join(tmp, 'bad-regs.h')
        p = gen(path, '--header', out)
        lines = p.stderr.splitlines()
        ok = (p.returncode == 1 and len(lines) == 1
              and lines[0].startswith(path + ': ') and want in lines[0]
              and not os.path.exists(out))
        if os.path.exists(out):
            os.unlink(out)      # keep one failure from failing the next
        tap.result(ok, f'rejects {desc}',
                   f'rc={p.returncode} want {want!r}\nstderr: {p.stderr}')

    # Generate the fixture's outputs twice: identical bytes.
    outs = []
    for n in (1, 2):
        d = os.path.join(tmp, f'out{n}')
        os.mkdir(d)
        p = gen(TOML, '--header', os.path.join(d, 'test-regs.h'),
                '--table', os.path.join(d, 'test-regtable.h'),
                '--source', os.path.join(d, 'test-regtable.c'),
                '--markdown', os.path.join(d, 'test-regs.md'))
        outs.append([read(os.path.join(d, f)) for f in
                     ('test-regs.h', 'test-regtable.h', 'test-regtable.c',
                      'test-regs.md')])
    tap.result(p.returncode == 0 and outs[0] == outs[1],
               'output is deterministic', p.stderr)
    header = os.path.join(tmp, 'out1', 'test-regs.h')
    table = read(os.path.join(tmp, 'out1', 'test-regtable.h'))
    tap.result('#include "test-regs.h"' in table
               and '#include "qme/regtable.h"' in table,
               'table includes the regs header by basename')
    source = read(os.path.join(tmp, 'out1', 'test-regtable.c'))
    tap.result('extern const QmeReg test_block_regs[TST_NUM_REGS];' in table
               and 'static' not in table
               and '#include "test-regtable.h"' in source
               and 'const QmeReg test_block_regs[TST_NUM_REGS] = {' in source,
               'the table is defined in the .c, declared extern in the .h')
    tap.result('void test_block_mixed_post_write(' in table
               and 'uint64_t test_block_counter_read(' in table
               and '.pre_write = test_block_id_pre_write,' in source,
               'hook names follow PREFIX_REG_KIND in lower case')

    # The interface header alone, in the strictest settings a kernel
    # module, freestanding firmware or a pedantic userspace would use.
    for std in ('-std=c99', '-std=gnu11', '-std=c89'):
        flags = [std, '-Wall', '-Wextra', '-Werror', '-Wpedantic',
                 '-Wundef', '-Wstrict-prototypes', '-ffreestanding',
                 '-nostdinc', '-fsyntax-only']
        if std == '-std=c89':
            flags.append('-Wno-long-long')      # ULL needs C99; see README
        src = os.path.join(tmp, 'standalone.c')
        with open(src, 'w') as fp:
            fp.write('#include "test-regs.h"\n#include "test-regs.h"\n'
                     'unsigned long long regs_check[] = {\n'
                     '    TST_REG_CTRL, TST_REG_WIDE_SIZE, TST_BIG,\n'
                     '    TST_CTRL_MODE_MASK, TST_CTRL_MODE_SHIFT,\n'
                     '    TST_WIDE_HIGH_MASK, TST_REGS_SPAN,\n'
                     '};\n'
                     'typedef char check_mask[(TST_CTRL_MODE_MASK == 0xf0) '
                     '? 1 : -1];\n'
                     'typedef char check_span[(TST_REGS_SPAN == 0x50) '
                     '? 1 : -1];\n'
                     'typedef char check_ex[(QME_FIELD_EX(0x1234, TST_CTRL, '
                     'MODE) == 3) ? 1 : -1];\n'
                     'typedef char check_dp[(QME_FIELD_DP(0xffff, TST_CTRL, '
                     'MODE, 0) == 0xff0f) ? 1 : -1];\n'
                     'typedef char check_width[(TST_MIXED_VER_WIDTH == 8) '
                     '? 1 : -1];\n'
                     'typedef char check_high[(TST_WIDE_HIGH_MASK >> 32 == '
                     '0xffffffffU) ? 1 : -1];\n')
        p = subprocess.run(CC + flags + ['-I', os.path.dirname(header), src],
                           capture_output=True, text=True)
        tap.result(p.returncode == 0,
                   f'generated -regs.h compiles standalone ({std})',
                   ' '.join(CC + flags) + '\n' + p.stderr)

    fresh = os.path.join(FIXTURES, 'test-doc-fresh.md')
    stale = os.path.join(FIXTURES, 'test-doc-stale.md')
    p = gen(TOML, '--check-doc', fresh)
    tap.result(p.returncode == 0 and not p.stderr,
               '--check-doc passes a fresh doc', p.stderr)

    p = gen(TOML, '--check-doc', stale)
    tap.result(p.returncode == 1 and 'stale' in p.stderr
               and '+| 0x30 | `LAST`' in p.stderr,
               '--check-doc detects a stale doc', p.stderr)

    copy = os.path.join(tmp, 'doc.md')
    shutil.copy(stale, copy)
    p = gen(TOML, '--update-doc', copy)
    after = read(copy)
    before = read(stale)
    ok = (p.returncode == 0 and after == read(fresh)
          and after.split('<!-- regmap:begin -->')[0]
          == before.split('<!-- regmap:begin -->')[0]
          and after.split('<!-- regmap:end -->')[1]
          == before.split('<!-- regmap:end -->')[1])
    tap.result(ok, '--update-doc rewrites only the section', p.stderr)
    p = gen(TOML, '--check-doc', copy)
    tap.result(p.returncode == 0, '--check-doc passes after --update-doc',
               p.stderr)

    nomark = os.path.join(tmp, 'nomark.md')
    with open(nomark, 'w') as fp:
        fp.write('# Nothing here\n')
    p = gen(TOML, '--check-doc', nomark)
    tap.result(p.returncode == 1 and 'regmap:begin' in p.stderr,
               '--check-doc reports missing markers', p.stderr)


if __name__ == '__main__':
    sys.exit(main())
