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
# A field may also be a command bit: stored for the write's hooks, then
# cleared.
FIELD_ACCESS = dict(ACCESS, pulse='QME_REG_PULSE')
READABLE = {'ro', 'rw', 'w1c', 'w1s', 'rc'}
WRITABLE = {'rw', 'wo', 'w1c', 'w1s', 'pulse'}
# The per-bit masks of a QmeReg and the field kinds that make them.
MASKS = (('w1c_mask', {'w1c'}), ('w1s_mask', {'w1s'}), ('rc_mask', {'rc'}),
         ('wo_mask', {'wo'}), ('pulse_mask', {'pulse'}))

# Hook signatures exactly as the typedefs in include/qme/regtable.h.
HOOK_PROTO = {
    'read': 'uint64_t {}(QmeRegBlock *blk, const QmeReg *reg,\n'
            '    uint64_t value);',
    'pre_write': 'uint64_t {}(QmeRegBlock *blk, const QmeReg *reg,\n'
                 '    uint64_t value);',
    'post_write': 'void {}(QmeRegBlock *blk, const QmeReg *reg,\n'
                  '    uint64_t old_value, uint64_t new_value);',
}
HOOKS = ('read', 'pre_write', 'post_write')

TOP_KEYS = {'name', 'prefix', 'doc', 'bus', 'constants', 'register'}
# Where the device sits: on a PCI bus, or bus-less on a platform (virt).
BUSES = ('pci', 'platform')
REG_KEYS = {'name', 'offset', 'size', 'access', 'reset', 'writable',
            'reserved', 'partial', 'doc', 'field'} | set(HOOKS)
FIELD_KEYS = {'name', 'bit', 'width', 'access', 'reset', 'doc'}

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


def get_reset(table, where, constants, bits):
    """A reset value: an integer or the name of a [constants] entry."""
    v = table.get('reset', 0)
    if isinstance(v, str):
        if v not in constants:
            raise GenError(f'{where}reset names unknown constant {v!r}')
        v = constants[v]
    else:
        v = get(table, 'reset', 'int', where, default=0)
    if v >= 1 << bits:
        raise GenError(f'{where}reset {v:#x} does not fit in '
                       f'{bits} bit{"s" if bits > 1 else ""}')
    return v


def hook_name(block, reg, kind):
    """The one rule for hook function names: the table's name (the device's
    C name, the prefix of all its functions), the register, the kind:
    minimal_pcie_nic, DOORBELL, post_write gives
    minimal_pcie_nic_doorbell_post_write."""
    return f'{block}_{reg.lower()}_{kind}'


def one_line(s, where, key='doc'):
    if '\n' in s or '\r' in s:
        raise GenError(f'{where}{key!r} must be a single line')
    return s.strip()


def parse_field(reg, raw, idx, constants):
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
    f.access = get(raw, 'access', 'str', where, default=reg.access)
    if f.access is None:
        raise GenError(f'{where}missing \'access\' (none on the register '
                       f'either)')
    if f.access not in FIELD_ACCESS:
        raise GenError(f'{where}access {f.access!r} is not one of '
                       f'{", ".join(FIELD_ACCESS)}')
    f.reset = get_reset(raw, where, constants, f.width)
    if f.reset and f.access == 'pulse':
        raise GenError(f'{where}a pulse field always reads 0: reset must '
                       f'be 0')
    return f


def parse_register(raw, idx, constants):
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
    raw_fields = raw.get('field', [])
    if not isinstance(raw_fields, list):
        raise GenError(f'{where}field must be an array of tables '
                       f'([[register.field]])')
    # With fields, the register's access is only the default of its
    # fields' and may be left out.
    access = get(raw, 'access', 'str', where, required=not raw_fields)
    if access is not None and access not in ACCESS:
        raise GenError(f'{where}access {access!r} is not one of '
                       f'{", ".join(ACCESS)}')
    r.access = access
    allbits = (1 << (r.size * 8)) - 1
    r.partial = get(raw, 'partial', 'bool', where, default=True)
    r.doc = one_line(get(raw, 'doc', 'str', where, default=''), where)
    r.hooks = {}
    for h in HOOKS:
        on = raw.get(h)
        if isinstance(on, str):
            raise GenError(f'{where}{h} = {on!r}: hook names are derived '
                           f'(write {h} = true for '
                           f'{hook_name("<name>", name, h)})')
        if get(raw, h, 'bool', where, default=False):
            r.hooks[h] = None       # named once the table's name is known
    for m, _ in MASKS:
        setattr(r, m, 0)
    if raw_fields:
        parse_fields(r, raw, raw_fields, where, constants, allbits)
        return r

    r.reserved = get(raw, 'reserved', 'int', where, default=0)
    r.reset = get_reset(raw, where, constants, r.size * 8)
    r.writable = get(raw, 'writable', 'int', where,
                     default=allbits & ~r.reserved)
    for key in ('reserved', 'writable'):
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
    r.fields = []
    return r


def parse_fields(r, raw, raw_fields, where, constants, allbits):
    """Compile the fields of register @r into its masks: bits in no field
    are reserved, each kind's bits go to its mask, and the register's
    access becomes the gate the engine checks first."""
    for key in ('writable', 'reserved'):
        if key in raw:
            raise GenError(f'{where}{key!r} is derived from the fields: '
                           f'give each field its access instead')
    r.fields = [parse_field(r, f, i, constants)
                for i, f in enumerate(raw_fields)]
    seen = {}
    for f in r.fields:
        if f.name in seen:
            raise GenError(f'{where}field {f.name} defined twice')
        for o in seen.values():
            if o.mask & f.mask:
                raise GenError(f'{where}field {f.name} overlaps field '
                               f'{o.name}')
        seen[f.name] = f

    def bits(kinds):
        m = 0
        for f in r.fields:
            if f.access in kinds:
                m |= f.mask
        return m

    covered = bits(FIELD_ACCESS)
    r.reserved = allbits & ~covered
    r.writable = bits(WRITABLE)
    for m, kinds in MASKS:
        setattr(r, m, bits(kinds))
    field_reset = 0
    for f in r.fields:
        field_reset |= f.reset << f.bit
    if 'reset' in raw:
        if any('reset' in f for f in raw_fields):
            raise GenError(f'{where}reset given both on the register and '
                           f'on fields: give it on the fields only')
        r.reset = get_reset(raw, where, constants, r.size * 8)
        if r.reset & r.reserved:
            raise GenError(f'{where}reset {r.reset:#x} sets bits '
                           f'{r.reset & r.reserved:#x} in no field')
        if r.reset & r.pulse_mask:
            raise GenError(f'{where}reset {r.reset:#x} sets pulse bits')
    else:
        r.reset = field_reset

    kinds = {f.access for f in r.fields}
    if len(kinds) == 1 and 'pulse' not in kinds:
        r.access = kinds.pop()          # exactly as a register without fields
    elif not kinds & READABLE:
        r.access = 'wo'
    elif not kinds & WRITABLE:
        r.access = 'ro'
    else:
        r.access = 'rw'
    r.kinds = sorted({f.access for f in r.fields})


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
    regs = [parse_register(r, i, dict(b.constants))
            for i, r in enumerate(raw_regs)]
    for r in regs:
        for h in r.hooks:
            r.hooks[h] = hook_name(b.name, r.name, h)

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
            for suffix in ('SHIFT', 'MASK', 'WIDTH'):
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


# Every -regs.h carries the same definitions: a file may include several.
# REG is the prefix and register name (STOPWATCH_CTRL), FIELD the field's
# name (START).  The arithmetic is done in unsigned long long, so a field
# of a 64-bit register keeps its high bits.
FIELD_MACROS = [
    '#ifndef QME_FIELD_EX',
    '/* Value of field FIELD of register REG in the register value V. */',
    '#define QME_FIELD_EX(v, REG, FIELD) \\',
    '    (((0ULL + (v)) & REG##_##FIELD##_MASK) >> REG##_##FIELD##_SHIFT)',
    '/* The register value V with field FIELD of REG set to X. */',
    '#define QME_FIELD_DP(v, REG, FIELD, x) \\',
    '    (((0ULL + (v)) & ~(0ULL + REG##_##FIELD##_MASK)) | \\',
    '     QME_FIELD_PREP(REG, FIELD, x))',
    '/* X in place for field FIELD of REG, to be ORed into a value. */',
    '#define QME_FIELD_PREP(REG, FIELD, x) \\',
    '    (((0ULL + (x)) << REG##_##FIELD##_SHIFT) & REG##_##FIELD##_MASK)',
    '#endif',
    '',
]


def access_name(r):
    """The register's access for people: its kind, or its fields' kinds."""
    if r.fields and len(r.kinds) > 1:
        return '/'.join(k.upper() for k in r.kinds)
    return r.fields[0].access.upper() if r.fields else r.access.upper()


def banner(b, title, notes):
    """The opening comment of a generated file: @notes are its lines."""
    return ([
        '/*',
        f' * {b.name}: {title}',
    ] + [f' * {n}' if n else ' *' for n in notes] + [
        ' *',
        ' * SPDX-License-Identifier: GPL-2.0-or-later',
        ' */',
    ])


def generated_from(b):
    return [f'Generated by protocol/regtable-gen.py from {b.source}.',
            'Do not edit: change the .regs.toml file instead.']


def gen_header(b):
    guard = f'QME_GEN_{b.name.upper()}_REGS_H'
    p = b.prefix
    lines = banner(b, 'hardware/software interface.',
                   ([c_comment(b.doc)] if b.doc else []) + [''] +
                   generated_from(b) +
                   ['No includes, so a Linux driver, firmware and userspace '
                    'can all', 'use it.']) + [
        f'#ifndef {guard}',
        f'#define {guard}',
        '',
    ] + FIELD_MACROS
    if b.constants:
        for k, v in b.constants:
            lines.append(f'#define {p}_{k} {u_const(v)}')
        lines.append('')
    for r in b.regs:
        lines.append(f'/* {r.name}: {access_name(r)}'
                     + (f', {c_comment(r.doc)}' if r.doc else '') + ' */')
        lines.append(f'#define {p}_REG_{r.name} {r.offset:#x}')
        lines.append(f'#define {p}_REG_{r.name}_SIZE {r.size}')
        for f in r.fields:
            lines.append(f'/* {r.name}.{f.name}: {f.access.upper()} */')
            lines.append(f'#define {p}_{r.name}_{f.name}_SHIFT {f.bit}')
            lines.append(f'#define {p}_{r.name}_{f.name}_WIDTH {f.width}')
            lines.append(f'#define {p}_{r.name}_{f.name}_MASK '
                         f'{u_const(f.mask)}')
        lines.append('')
    lines.append(f'#define {p}_REGS_SPAN {b.span:#x}')
    lines.append('')
    lines.append(f'#endif /* {guard} */')
    return '\n'.join(lines) + '\n'


def gen_table(b, header_name):
    p = b.prefix
    guard = f'QME_GEN_{b.name.upper()}_REGTABLE_H'
    lines = banner(b, 'QmeReg table for models and device servers.',
                   [''] + generated_from(b) +
                   ['The table is defined in the generated -regtable.c; '
                    'the device', 'defines the hooks declared below.']) + [
        f'#ifndef {guard}',
        f'#define {guard}',
        '',
        '#include "qme/regtable.h"',
        f'#include "{header_name}"',
        '',
    ]
    protos = [HOOK_PROTO[h].format(fn)
              for r in b.regs for h, fn in r.hooks.items()]
    if protos:
        lines.append('/* Hooks: the device defines them. */')
        lines += protos
        lines.append('')

    lines.append('enum {')
    for r in b.regs:
        lines.append(f'    {p}_R_{r.name},')
    lines.append(f'    {p}_NUM_REGS')
    lines.append('};')
    lines.append('')
    lines.append(f'extern const QmeReg {b.name}_regs[{p}_NUM_REGS];')
    lines.append('')
    lines.append(f'#endif /* {guard} */')
    return '\n'.join(lines) + '\n'


def gen_source(b, table_name):
    p = b.prefix
    lines = banner(b, 'QmeReg table for models and device servers.',
                   [''] + generated_from(b)) + [
        f'#include "{table_name}"',
        '',
    ]
    for r in b.regs:
        if not r.fields:
            continue
        lines.append(f'static const QmeRegField '
                     f'{b.name}_{r.name.lower()}_fields[] = {{')
        for f in r.fields:
            lines.append(f'    {{ {c_string(f.name)}, {f.bit}, {f.width}, '
                         f'{FIELD_ACCESS[f.access]}, {c_string(f.doc)} }},')
        lines.append('};')
        lines.append('')

    lines.append(f'const QmeReg {b.name}_regs[{p}_NUM_REGS] = {{')
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
        for m, _ in MASKS:
            if getattr(r, m):
                lines.append(f'        .{m} = {getattr(r, m):#x}ULL,')
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
                     f'{access_name(r)} | 0x{r.reset:0{r.size * 2}x} | '
                     f'{desc} |')
    for r in b.regs:
        if not r.fields:
            continue
        lines += [
            '',
            f'Fields of `{r.name}` (0x{r.offset:0{width}x}):',
            '',
            '| Bits | Name | Access | Reset | Description |',
            '| ---- | ---- | ------ | ----- | ----------- |',
        ]
        for f in sorted(r.fields, key=lambda f: -f.bit):
            bits = (str(f.bit) if f.width == 1
                    else f'{f.bit + f.width - 1}:{f.bit}')
            lines.append(f'| {bits} | `{f.name}` | {f.access.upper()} | '
                         f'{f.reset:#x} | {md_cell(f.doc)} |')
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
    ap.add_argument('--source', metavar='OUT-regtable.c',
                    help='the QmeReg table itself, for the device to link')
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
    if args.source:
        if args.table:
            table = os.path.basename(args.table)
        else:
            base = os.path.basename(args.source)
            table = re.sub(r'\.c$', '', base) + '.h'
        write(args.source, gen_source(b, table))
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
