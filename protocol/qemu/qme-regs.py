#!/usr/bin/env python3
#
# qme-regs: a device's registers, decoded by fields, from a running QEMU's
# QMP socket (the qme-reg-* commands of qemu-modules-extra), as lspci -vvv
# prints config space; and one register set.  Standard library only.
#
#   qme-regs SOCKET                       devices that have register tables
#   qme-regs SOCKET DEVICE [REGISTER]     their registers (-v: with docs)
#   qme-regs SOCKET DEVICE REGISTER=VALUE [--raw]
#
# SOCKET is the path of a `-qmp unix:PATH,server=on,wait=off` socket or
# HOST:PORT of a `-qmp tcp:...` one.  Exit status: 0, or 1 with one line
# on stderr (QEMU's error for a refused command).
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later

import argparse
import json
import socket
import sys

TIMEOUT = 10    # seconds per QMP reply


class QmpError(Exception):
    pass


class Qmp:
    def __init__(self, address):
        try:
            if ':' in address and not address.startswith('/'):
                host, port = address.rsplit(':', 1)
                self.sock = socket.create_connection((host, int(port)),
                                                     TIMEOUT)
            else:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.settimeout(TIMEOUT)
                self.sock.connect(address)
        except (OSError, ValueError) as e:
            raise QmpError(f'cannot connect to QMP at {address}: {e}')
        self.sock.settimeout(TIMEOUT)
        self.file = self.sock.makefile('r')
        greeting = self._reply()
        if 'QMP' not in greeting:
            raise QmpError(f'{address} is not a QMP socket')
        self.cmd('qmp_capabilities')

    def _reply(self):
        try:
            line = self.file.readline()
        except OSError as e:
            raise QmpError(f'QMP: {e}')
        if not line:
            raise QmpError('QEMU closed the QMP connection')
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {'execute': name, 'arguments': args}
        self.sock.sendall(json.dumps(msg).encode() + b'\n')
        while True:
            r = self._reply()
            if 'error' in r:
                raise QmpError(r['error']['desc'])
            if 'return' in r:
                return r['return']


def hexv(value, size):
    return f'0x{value:0{size * 2}x}'


def field_text(f):
    name = f['name']
    if f['width'] == 1:
        return name + ('+' if f['value'] else '-')
    bits = f'{f["bit"] + f["width"] - 1}:{f["bit"]}'
    return f'{name}[{bits}]={f["value"]:#x}'


def print_register(r, verbose, indent='  '):
    line = (f'{indent}{r["offset"]:#06x} {r["name"]:<14} {r["access"]:<4}'
            f'{hexv(r["value"], r["size"])}')
    if r['stored'] != r['value']:
        line += f' (holds {hexv(r["stored"], r["size"])})'
    if r['value'] != r['reset']:
        line += f' reset {hexv(r["reset"], r["size"])}'
    print(line)
    if verbose and r.get('doc'):
        print(f'{indent}       {r["doc"]}')
    if r['fields']:
        print(f'{indent}       ' + ' '.join(field_text(f)
                                             for f in r['fields']))
        if verbose:
            for f in r['fields']:
                if f.get('doc'):
                    print(f'{indent}         {f["name"]} ({f["access"]}): '
                          f'{f["doc"]}')


def list_devices(qmp):
    found = 0
    for parent in ('/machine/peripheral', '/machine/peripheral-anon'):
        for child in qmp.cmd('qom-list', path=parent):
            if not child['type'].startswith('child<'):
                continue
            path = f'{parent}/{child["name"]}'
            try:
                dev = qmp.cmd('qme-reg-list', path=path)
            except QmpError:
                continue        # no register table
            nregs = sum(len(b['registers']) for b in dev['blocks'])
            print(f'{path}  {dev["type"]}  {len(dev["blocks"])} block(s), '
                  f'{nregs} registers')
            found += 1
    if not found:
        print('no device with a register table', file=sys.stderr)


def show_device(qmp, device, register, verbose):
    if register is not None:
        r = qmp.cmd('qme-reg-read', path=device, register=register)
        print_register(r, verbose, indent='')
        return
    dev = qmp.cmd('qme-reg-list', path=device)
    print(f'{dev["path"]}: {dev["type"]}')
    for b in dev['blocks']:
        print(f' block {b["name"]} ({b["size"]:#x} bytes)')
        for r in b['registers']:
            print_register(r, verbose)


def register_arg(text):
    """A register name, or its offset as a number."""
    try:
        return int(text, 0)
    except ValueError:
        return text


def main():
    ap = argparse.ArgumentParser(
        prog='qme-regs',
        description='Show a device\'s registers decoded by fields, or set '
        'one, through QEMU\'s QMP socket (qemu-modules-extra).')
    ap.add_argument('socket', help='QMP socket: a UNIX path or HOST:PORT')
    ap.add_argument('device', nargs='?', help='device id or QOM path')
    ap.add_argument('register', nargs='?',
                    help='register name or offset; NAME=VALUE sets it')
    ap.add_argument('--raw', action='store_true',
                    help='store the value as the device would itself (no '
                    'access rules, no side effects); default: as a guest '
                    'write does')
    ap.add_argument('-v', '--verbose', action='store_true',
                    help='print the registers\' and fields\' descriptions')
    args = ap.parse_args()
    try:
        qmp = Qmp(args.socket)
        if args.device is None:
            list_devices(qmp)
        elif args.register and '=' in args.register:
            name, value = args.register.split('=', 1)
            try:
                value = int(value, 0)
            except ValueError:
                raise QmpError(f'value {value!r} is not a number')
            r = qmp.cmd('qme-reg-write', path=args.device,
                        register=register_arg(name), value=value,
                        mode='raw' if args.raw else 'guest')
            print_register(r, args.verbose, indent='')
        else:
            show_device(qmp, args.device,
                        None if args.register is None
                        else register_arg(args.register), args.verbose)
    except QmpError as e:
        print(f'qme-regs: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
