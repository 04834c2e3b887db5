#!/usr/bin/env python3
"""The seed's UART as a Python device server for mmio-sockdev: the same
device, output and options as the C reference server
(devices/mmio-sockdev/uart-server.c).  Registers come from the register
table sockdev-uart.regs.toml, never retyped here.

Usage: uart_server.py [--port N] [--host ADDR] [--unix PATH] [--once]
                      [--quiet] [--regs FILE]

Copyright (c) 2026 qemu-modules-extra developers
SPDX-License-Identifier: GPL-2.0-or-later
"""

import argparse
import os
import signal
import sys

import qme_sockdev as sd

HERE = os.path.dirname(os.path.abspath(__file__))
REGS = 'sockdev-uart.regs.toml'
# Installed: next to this script; in the source tree: the device's folder.
REGS_PLACES = [os.path.join(HERE, REGS),
               os.path.join(HERE, '..', '..', '..', 'devices', 'sockdev-uart',
                            REGS)]


class Uart(sd.RegisterDevice):
    def sockdev_uart_txdata_post_write(self, reg, old, new):
        # post_write = true on TXDATA (prefix SDUART): prints while enabled.
        if self.get('CTRL') & self.field_mask('CTRL', 'ENABLE'):
            sys.stdout.buffer.write(
                bytes([new & self.field_mask('TXDATA', 'CHAR')]))
            sys.stdout.flush()

    def connected(self, server, peer):
        print(f'Client connected from {peer}', flush=True)

    def disconnected(self, server, why):
        print(f'Client disconnected ({why})', file=sys.stderr, flush=True)
        # A new QEMU starts from a fresh device, as after power-on.
        self.reset()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--port', type=int, default=7890)
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--unix', metavar='PATH')
    ap.add_argument('--once', action='store_true',
                    help='exit when the first client goes away')
    ap.add_argument('--quiet', action='store_true',
                    help='no protocol diagnostics on stderr')
    ap.add_argument('--regs', metavar='FILE',
                    help=f'register table (default: {REGS} found next to '
                    'this script or in the source tree)')
    args = ap.parse_args()

    regs = args.regs or next((p for p in REGS_PLACES if os.path.exists(p)),
                             None)
    if regs is None:
        sys.exit(f'uart_server: {REGS} not found; pass --regs FILE')
    dev = Uart.from_toml(regs)
    address = f'unix:{args.unix}' if args.unix else \
        f'tcp:{args.host}:{args.port}'
    try:
        srv = sd.Server(dev, address, log=None if args.quiet else sys.stderr)
    except (OSError, ValueError) as e:
        sys.exit(f'uart_server: {address}: {e}')
    # SIGTERM ends the loop cleanly, so a UNIX socket file is removed:
    # from the first line on, as a client may act on any of them.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if args.unix:
            print(f'MMIO Device Server listening on {address}')
        else:
            print(f'MMIO Device Server listening on port {srv.port}')
        print('Register map:')
        for r in dev.regs:
            print(f'  0x{r["offset"]:02x} {r["name"]} '
                  f'({sd.ACCESS_LETTERS.get(r["access"], "R/W")}): '
                  f'{r["doc"]}')
        print('Waiting for QEMU connection...', flush=True)
        srv.serve_forever(once=args.once)
    except KeyboardInterrupt:
        pass
    finally:
        srv.close()


if __name__ == '__main__':
    main()
