#!/usr/bin/env python3
#
# Generate register headers, a QmeReg table and a Markdown register map
# from a <device>.regs.toml file.  See protocol/README.md for the format.
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import argparse
import difflib
import os
import re
import sys
import tomllib

BEGIN_MARK = '<!-- regmap:begin -->'
END_MARK = '<!-- regmap:end -->'

ACCESS = {
    'rw': 'QME_REG_RW',
    'ro': 'QME_REG_RO',
    'wo': 'QME_REG_WO',
    'w1c': 'QME_REG_W1C',
    'w1s': 'QME_REG_W1S',
    'rc': 'QME_REG_RC',
}

# Hook signatures exactly as the typedefs in include/qme/regtable.h.
HOOK_PROTO = {
    'read': 'static uint64_t {}(QmeRegBlock *blk, const QmeReg *reg,\n'
            '    uint64_t value);',
    'pre_write': 'static uint64_t {}(QmeRegBlock *blk, const QmeReg *reg,\n'
                 '    uint64_t value);',
    'post_write': 'static void {}(QmeRegBlock *blk, const QmeReg *reg,\n'
                  '    uint64_t old_value, uint64_t new_value);',
}
HOOKS = ('read', 'pre_write', 'post_write')

TOP_KEYS = {'name', 'prefix', 'doc', 'bus', 'constants', 'register'}
# Where the device sits: on a PCI bus, or bus-less on a platform (virt).
BUSES = ('pci', 'platform')
REG_KEYS = {'name', 'offset', 'size', 'access', 'reset', 'writable',
            'reserved', 'partial', 'doc', 'field'} | set(HOOKS)
FIELD_KEYS = {'name', 'bit', 'width', 'doc'}

C_IDENT = re.compile(r'[A-Za-z_][A-Za-z0-9_]*\Z')
UPPER_IDENT = re.compile(r'[A-Z][A-Z0-9_]*\Z')

# Keywords a hook or table name must not collide with.
C_KEYWORDS = set('''auto break case char const continue default do double
else enum extern float for goto if inline int long register restrict return
short signed sizeof static struct switch typedef union unsigned void
volatile while _Bool _Complex _Imaginary'''.split())


class GenError(Exception):
    pass


def is_int(v):
    # TOML booleans are Python ints; never accept them as numbers.
    return isinstance(v, int) and not isinstance(v, bool)


class Field:
    pass


class Register:
    pass


class Block:
    pass


def check_keys(table, allowed, where):
    for k in table:
        if k not in allowed:
            raise GenError(f'{where}unknown key {k!r} (allowed: '
                           f'{", ".join(sorted(allowed))})')


def get(table, key, kind, where, default=None, required=False):
    if key not in table:
        if required:
            raise GenError(f'{where}missing {key!r}')
        return default
    v = table[key]
    if kind == 'int':
        ok = is_int(v)
        if ok and v < 0:
            raise GenError(f'{where}{key!r} must not be negative')
    elif kind == 'bool':
        ok = isinstance(v, bool)
    else:
        ok = isinstance(v, str)
    if not ok:
        raise GenError(f'{where}{key!r} must be '
                       f'{"an integer" if kind == "int" else "a " + kind}, '
                       f'not {type(v).__name__}')
    return v


def one_line(s, where, key='doc'):
    if '\n' in s or '\r' in s:
        raise GenError(f'{where}{key!r} must be a single line')
    return s.strip()


def parse_field(reg, raw, idx):
    where = f'register {reg.name}: field #{idx}: '
    if not isinstance(raw, dict):
        raise GenError(f'{where}must be a table ([[register.field]])')
    name = get(raw, 'name', 'str', where, required=True)
    where = f'register {reg.name}: field {name}: '
    if not UPPER_IDENT.match(name):
        raise GenError(f'{where}name must be an upper-case identifier')
    check_keys(raw, FIELD_KEYS, where)
    f = Field()
    f.name = name
    f.bit = get(raw, 'bit', 'int', where, required=True)
    f.width = get(raw, 'width', 'int', where, default=1)
    f.doc = one_line(get(raw, 'doc', 'str', where, default=''), where)
    if f.width < 1:
        raise GenError(f'{where}width must be at least 1')
    if f.bit + f.width > reg.size * 8:
        raise GenError(f'{where}bits {f.bit + f.width - 1}:{f.bit} do not '
                       f'fit in a {reg.size}-byte register')
    f.mask = ((1 << f.width) - 1) << f.bit
    if f.mask & reg.reserved:
        raise GenError(f'{where}overlaps reserved bits')
    return f


def parse_register(raw, idx):
    where = f'register #{idx}: '
    if not isinstance(raw, dict):
        raise GenError(f'{where}must be a table ([[register]])')
    name = get(raw, 'name', 'str', where, required=True)
    where = f'register {name}: '
    if not UPPER_IDENT.match(name):
        raise GenError(f'{where}name must be an upper-case identifier '
                       f'([A-Z][A-Z0-9_]*)')
    check_keys(raw, REG_KEYS, where)
    r = Register()
    r.name = name
    r.offset = get(raw, 'offset', 'int', where, required=True)
    r.size = get(raw, 'size', 'int', where, default=4)
    if r.size not in (1, 2, 4, 8):
        raise GenError(f'{where}size {r.size} is not 1, 2, 4 or 8')
    if r.offset % r.size:
        raise GenError(f'{where}offset {r.offset:#x} is not aligned to its '
                       f'size {r.size}')
    if r.offset + r.size > 1 << 32:
        raise GenError(f'{where}offset {r.offset:#x} beyond 4 GiB')
    access = get(raw, 'access', 'str', where, required=True)
    if access not in ACCESS:
        raise GenError(f'{where}access {access!r} is not one of '
                       f'{", ".join(ACCESS)}')
    r.access = access
    allbits = (1 << (r.size * 8)) - 1
    r.reserved = get(raw, 'reserved', 'int', where, default=0)
    r.reset = get(raw, 'reset', 'int', where, default=0)
    r.writable = get(raw, 'writable', 'int', where,
                     default=allbits & ~r.reserved)
    for key in ('reserved', 'reset', 'writable'):
        v = getattr(r, key)
        if v & ~allbits:
            raise GenError(f'{where}{key} {v:#x} does not fit in '
                           f'{r.size} bytes')
    if r.reset & r.reserved:
        raise GenError(f'{where}reset {r.reset:#x} sets reserved bits '
                       f'{r.reset & r.reserved:#x}')
    if r.writable & r.reserved:
        raise GenError(f'{where}bits {r.writable & r.reserved:#x} are both '
                       f'writable and reserved')
    r.partial = get(raw, 'partial', 'bool', where, default=True)
    r.doc = one_line(get(raw, 'doc', 'str', where, default=''), where)
    r.hooks = {}
    for h in HOOKS:
        fn = get(raw, h, 'str', where)
        if fn is None:
            continue
        if not C_IDENT.match(fn) or fn in C_KEYWORDS:
            raise GenError(f'{where}{h} hook {fn!r} is not a C identifier')
        r.hooks[h] = fn
    raw_fields = raw.get('field', [])
    if not isinstance(raw_fields, list):
        raise GenError(f'{where}field must be an array of tables '
                       f'([[register.field]])')
    r.fields = [parse_field(r, f, i) for i, f in enumerate(raw_fields)]
    seen = {}
    for f in r.fields:
        if f.name in seen:
            raise GenError(f'{where}field {f.name} defined twice')
        for o in seen.values():
            if o.mask & f.mask:
                raise GenError(f'{where}field {f.name} overlaps field '
                               f'{o.name}')
        seen[f.name] = f
    return r


def parse(path):
    try:
        with open(path, 'rb') as fp:
            data = tomllib.load(fp)
    except tomllib.TOMLDecodeError as e:
        raise GenError(f'TOML syntax error: {e}')
    except OSError as e:
        raise GenError(f'cannot read: {e.strerror}')

    check_keys(data, TOP_KEYS, '')
    b = Block()
    b.source = os.path.basename(path)
    b.name = get(data, 'name', 'str', '', required=True)
    if not C_IDENT.match(b.name) or b.name in C_KEYWORDS:
        raise GenError(f'name {b.name!r} is not a C identifier')
    b.prefix = get(data, 'prefix', 'str', '', required=True)
    if not UPPER_IDENT.match(b.prefix):
        raise GenError(f'prefix {b.prefix!r} is not an upper-case '
                       f'identifier')
    b.doc = one_line(get(data, 'doc', 'str', '', default=''), '')
    b.bus = get(data, 'bus', 'str', '', default='pci')
    if b.bus not in BUSES:
        raise GenError(f'bus {b.bus!r}: must be one of {", ".join(BUSES)}')

    consts = data.get('constants', {})
    if not isinstance(consts, dict):
        raise GenError('constants must be a table ([constants])')
    b.constants = []
    for k, v in consts.items():
        if not UPPER_IDENT.match(k):
            raise GenError(f'constant {k!r} is not an upper-case identifier')
        if not is_int(v) or v < 0 or v >= 1 << 64:
            raise GenError(f'constant {k}: value must be an integer in '
                           f'0..2^64-1')
        b.constants.append((k, v))

    raw_regs = data.get('register', [])
    if not isinstance(raw_regs, list) or not raw_regs:
        raise GenError('no registers: need at least one [[register]]')
    regs = [parse_register(r, i) for i, r in enumerate(raw_regs)]

    names = set()
    for r in regs:
        if r.name in names:
            raise GenError(f'register {r.name}: defined twice')
        names.add(r.name)
    # The engine needs the table sorted by offset; authors may group
    # registers however they like in the TOML.
    regs.sort(key=lambda r: r.offset)
    for p, r in zip(regs, regs[1:]):
        if p.offset + p.size > r.offset:
            raise GenError(f'register {r.name}: offset {r.offset:#x} '
                           f'overlaps register {p.name} '
                           f'({p.offset:#x}..{p.offset + p.size - 1:#x})')
    b.regs = regs
    b.span = max(r.offset + r.size for r in regs)

    hook_kind = {}
    for r in regs:
        for h, fn in r.hooks.items():
            # read and pre_write share one signature, post_write differs.
            kind = 'post_write' if h == 'post_write' else 'value'
            if hook_kind.setdefault(fn, kind) != kind:
                raise GenError(f'register {r.name}: hook {fn} is used both '
                               f'as post_write and as read/pre_write hook')

    check_names(b)
    return b


def macro_names(b):
    """Every preprocessor/enum name generated, with what produced it."""
    p = b.prefix
    out = [(f'{p}_{k}', f'constant {k}') for k, _ in b.constants]
    out.append((f'{p}_REGS_SPAN', 'the register span'))
    out.append((f'{p}_NUM_REGS', 'the register count'))
    for r in b.regs:
        out.append((f'{p}_REG_{r.name}', f'register {r.name}'))
        out.append((f'{p}_REG_{r.name}_SIZE', f'register {r.name}'))
        out.append((f'{p}_R_{r.name}', f'register {r.name}'))
        for f in r.fields:
            for suffix in ('SHIFT', 'MASK'):
                out.append((f'{p}_{r.name}_{f.name}_{suffix}',
                            f'register {r.name}: field {f.name}'))
    return out


def check_names(b):
    seen = {}
    for name, owner in macro_names(b):
        if name in seen:
            where = owner + ': ' if owner.startswith('register') else ''
            raise GenError(f'{where}generated name {name} clashes with '
                           f'{seen[name]}')
        seen[name] = owner


def c_string(s):
    out = []
    raw = s.encode('utf-8')
    for i, byte in enumerate(raw):
        c = chr(byte)
        if c in '"\\':
            out.append('\\' + c)
        elif c == '?' and raw[i - 1:i] == b'?':
            out.append('\\?')     # no trigraphs in strict ISO modes
        elif 0x20 <= byte < 0x7f:
            out.append(c)
        else:
            # Octal escapes always take exactly three digits, so the next
            # character can never extend them.
            out.append(f'\\{byte:03o}')
    return '"' + ''.join(out) + '"'


def c_comment(s):
    return s.replace('*/', '* /')


def u_const(v):
    return f'{v:#x}U' if v < 1 << 32 else f'{v:#x}ULL'


def gen_header(b):
    guard = f'QME_GEN_{b.name.upper()}_REGS_H'
    p = b.prefix
    lines = [
        '/*',
        f' * {b.name}: hardware/software interface.',
    ]
    if b.doc:
        lines.append(f' * {c_comment(b.doc)}')
    lines += [
        ' *',
        f' * Generated by protocol/regtable-gen.py from {b.source}.',
        ' * Do not edit: change the .regs.toml file instead.',
        ' * No includes, so a Linux driver, firmware and userspace can all',
        ' * use it.',
        ' *',
        ' * SPDX-License-Identifier: GPL-2.0-or-later',
        ' */',
        f'#ifndef {guard}',
        f'#define {guard}',
        '',
    ]
    if b.constants:
        for k, v in b.constants:
            lines.append(f'#define {p}_{k} {u_const(v)}')
        lines.append('')
    for r in b.regs:
        lines.append(f'/* {r.name}: {r.access.upper()}'
                     + (f', {c_comment(r.doc)}' if r.doc else '') + ' */')
        lines.append(f'#define {p}_REG_{r.name} {r.offset:#x}')
        lines.append(f'#define {p}_REG_{r.name}_SIZE {r.size}')
        for f in r.fields:
            lines.append(f'#define {p}_{r.name}_{f.name}_SHIFT {f.bit}')
            lines.append(f'#define {p}_{r.name}_{f.name}_MASK '
                         f'{u_const(f.mask)}')
        lines.append('')
    lines.append(f'#define {p}_REGS_SPAN {b.span:#x}')
    lines.append('')
    lines.append(f'#endif /* {guard} */')
    return '\n'.join(lines) + '\n'


def gen_table(b, header_name):
    p = b.prefix
    lines = [
        '/*',
        f' * {b.name}: QmeReg table for models and device servers.',
        ' *',
        f' * Generated by protocol/regtable-gen.py from {b.source}.',
        ' * Do not edit: change the .regs.toml file instead.',
        ' * Include it once, from the file that defines the hooks below.',
        ' *',
        ' * SPDX-License-Identifier: GPL-2.0-or-later',
        ' */',
        f'#ifndef QME_GEN_{b.name.upper()}_REGTABLE_H',
        f'#define QME_GEN_{b.name.upper()}_REGTABLE_H',
        '',
        '#include "qme/regtable.h"',
        f'#include "{header_name}"',
        '',
    ]
    protos = {}
    for r in b.regs:
        for h, fn in r.hooks.items():
            protos.setdefault(fn, HOOK_PROTO[h].format(fn))
    if protos:
        lines.append('/* Hooks: the including file defines them. */')
        lines += protos.values()
        lines.append('')

    lines.append('enum {')
    for r in b.regs:
        lines.append(f'    {p}_R_{r.name},')
    lines.append(f'    {p}_NUM_REGS')
    lines.append('};')
    lines.append('')

    for r in b.regs:
        if not r.fields:
            continue
        lines.append(f'static const QmeRegField '
                     f'{b.name}_{r.name.lower()}_fields[] = {{')
        for f in r.fields:
            lines.append(f'    {{ {c_string(f.name)}, {f.bit}, {f.width}, '
                         f'{c_string(f.doc)} }},')
        lines.append('};')
        lines.append('')

    lines.append(f'static const QmeReg {b.name}_regs[{p}_NUM_REGS] = {{')
    for r in b.regs:
        flags = '0' if r.partial else 'QME_REGF_NO_PARTIAL'
        lines += [
            f'    [{p}_R_{r.name}] = {{',
            f'        .name = {c_string(r.name)},',
            f'        .offset = {p}_REG_{r.name},',
            f'        .size = {p}_REG_{r.name}_SIZE,',
            f'        .flags = {flags},',
            f'        .access = {ACCESS[r.access]},',
            f'        .reset = {r.reset:#x}ULL,',
            f'        .writable = {r.writable:#x}ULL,',
            f'        .reserved = {r.reserved:#x}ULL,',
        ]
        for h in HOOKS:
            if h in r.hooks:
                lines.append(f'        .{h} = {r.hooks[h]},')
        lines.append(f'        .doc = {c_string(r.doc)},')
        if r.fields:
            lines.append(f'        .fields = '
                         f'{b.name}_{r.name.lower()}_fields,')
            lines.append(f'        .nfields = {len(r.fields)},')
        lines.append('    },')
    lines.append('};')
    lines.append('')
    lines.append(f'#endif /* QME_GEN_{b.name.upper()}_REGTABLE_H */')
    return '\n'.join(lines) + '\n'


def md_cell(s):
    return s.replace('|', '\\|')


def gen_markdown(b):
    width = max(2, (b.span - 1).bit_length() + 3 >> 2)
    lines = [
        f'<!-- Generated by regtable-gen.py from {b.source}; '
        f'do not edit. -->',
        f'Register map of `{b.name}`'
        + (f': {md_cell(b.doc)}' if b.doc else '.'),
        '',
        '| Offset | Name | Size | Access | Reset | Description |',
        '| ------ | ---- | ---- | ------ | ----- | ----------- |',
    ]
    for r in b.regs:
        desc = md_cell(r.doc)
        if not r.partial:
            desc += (' ' if desc else '') + '(full-width access only)'
        lines.append(f'| 0x{r.offset:0{width}x} | `{r.name}` | {r.size} | '
                     f'{r.access.upper()} | 0x{r.reset:0{r.size * 2}x} | '
                     f'{desc} |')
    for r in b.regs:
        if not r.fields:
            continue
        lines += [
            '',
            f'Fields of `{r.name}` (0x{r.offset:0{width}x}):',
            '',
            '| Bits | Name | Description |',
            '| ---- | ---- | ----------- |',
        ]
        for f in sorted(r.fields, key=lambda f: -f.bit):
            bits = (str(f.bit) if f.width == 1
                    else f'{f.bit + f.width - 1}:{f.bit}')
            lines.append(f'| {bits} | `{f.name}` | {md_cell(f.doc)} |')
    return '\n'.join(lines) + '\n'


def split_doc(path):
    """Return (before, section, after) line lists around the markers."""
    try:
        with open(path, encoding='utf-8') as fp:
            lines = fp.read().splitlines()
    except OSError as e:
        raise GenError(f'cannot read: {e.strerror}')
    begins = [i for i, l in enumerate(lines) if l.strip() == BEGIN_MARK]
    ends = [i for i, l in enumerate(lines) if l.strip() == END_MARK]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise GenError(f'need exactly one {BEGIN_MARK} line followed by one '
                       f'{END_MARK} line')
    return (lines[:begins[0] + 1], lines[begins[0] + 1:ends[0]],
            lines[ends[0]:])


def trim_blank(lines):
    lines = list(lines)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def check_doc(path, md):
    _, section, _ = split_doc(path)
    want = trim_blank(md.splitlines())
    have = trim_blank(section)
    if want == have:
        return True
    diff = difflib.unified_diff(have, want, f'{path} (register map)',
                                'generated', lineterm='')
    sys.stderr.write(f'{path}: register map section is stale; run '
                     f'regtable-gen.py --update-doc {path}\n')
    sys.stderr.write('\n'.join(diff) + '\n')
    return False


def update_doc(path, md):
    before, _, after = split_doc(path)
    text = '\n'.join(before + md.rstrip('\n').split('\n') + after) + '\n'
    write(path, text)


def write(path, text):
    # Leave an up-to-date file untouched so build tools see no change.
    try:
        with open(path, encoding='utf-8') as fp:
            if fp.read() == text:
                return
    except OSError:
        pass
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as fp:
        fp.write(text)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description='Generate register headers, QmeReg table and Markdown '
                    'register map from a .regs.toml file.')
    ap.add_argument('input', help='the <device>.regs.toml file')
    ap.add_argument('--header', metavar='OUT-regs.h',
                    help='hardware/software interface header')
    ap.add_argument('--table', metavar='OUT-regtable.h',
                    help='QmeReg table header for models and servers')
    ap.add_argument('--markdown', metavar='OUT-regs.md',
                    help='Markdown register map')
    ap.add_argument('--check-doc', metavar='FILE', action='append',
                    default=[], help='fail if the register map between the '
                    'regmap markers of FILE is stale')
    ap.add_argument('--update-doc', metavar='FILE', action='append',
                    default=[], help='rewrite the register map between the '
                    'regmap markers of FILE')
    ap.add_argument('--print-bus', action='store_true',
                    help='print the device\'s bus (pci or platform): '
                    'the build picks the module kind from it')
    args = ap.parse_args(argv)

    try:
        b = parse(args.input)
    except GenError as e:
        sys.stderr.write(f'{args.input}: {e}\n')
        return 1

    if args.print_bus:
        print(b.bus)
    md = gen_markdown(b)
    if args.header:
        write(args.header, gen_header(b))
    if args.table:
        if args.header:
            header = os.path.basename(args.header)
        else:
            # Same naming as the meson custom_target: X-regtable.h pairs
            # with X-regs.h.
            base = os.path.basename(args.table)
            header = re.sub(r'-regtable\.h$', '', base) + '-regs.h'
        write(args.table, gen_table(b, header))
    if args.markdown:
        write(args.markdown, md)

    ok = True
    for path, fn in ([(p, update_doc) for p in args.update_doc]
                     + [(p, check_doc) for p in args.check_doc]):
        try:
            if fn(path, md) is False:
                ok = False
        except GenError as e:
            sys.stderr.write(f'{path}: {e}\n')
            ok = False
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
