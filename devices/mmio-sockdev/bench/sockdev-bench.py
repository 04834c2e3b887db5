#!/usr/bin/env python3
# mmio-sockdev benchmarks (meson test --benchmark), per transport (UNIX,
# TCP loopback) and CPU placement:
#  - guest-timed read round trip against a bare socket ping-pong of the
#    same message sizes, measured in the same run with the same pinning:
#    QEMU (so its vCPU thread) and the ping-pong client on one CPU, the
#    device server and the ping-pong server on the other ("cross") or the
#    same ("same") CPU;
#  - posted writes per second (N writes, then one read that flushes them),
#    against the same loop on QEMU's in-process edu register;
#  - the read round trip against edu's register, for scale.
# Each figure is the fastest of several short batches, so that other load
# on a shared host stays out of it.
#   sockdev-bench.py FIRMWARE.elf SERVER PINGPONG
#   (env: QME_QEMU, QME_LOADER, QME_BUILD_ROOT: devices/mmio-sockdev.so)
# SPDX-License-Identifier: GPL-2.0-or-later
import os
import re
import shutil
import subprocess
import sys
import tempfile

FW, SERVER, PINGPONG = sys.argv[1:4]
QEMU = os.environ.get('QME_QEMU', 'qemu-system-aarch64')
if not all(k in os.environ for k in ('QME_BUILD_ROOT', 'QME_LOADER')):
    sys.exit('sockdev-bench: run it through meson (meson test -C BUILD '
             '--benchmark mmio-sockdev-mmio): QME_BUILD_ROOT and QME_LOADER '
             'are not set')
# Only the module under test is loaded into the timed QEMU: a folder of
# its own holds it (the build tree's devices/ has every module; the
# server moved to devices/sockdev-uart/, away from it).
TMP = tempfile.mkdtemp(prefix='sockdev-bench-')
MODULES = os.path.join(TMP, 'modules')
os.mkdir(MODULES)
os.symlink(os.path.join(os.environ['QME_BUILD_ROOT'], 'devices',
                        'mmio-sockdev.so'),
           os.path.join(MODULES, 'mmio-sockdev.so'))
ENV = dict(os.environ, LD_PRELOAD=os.environ['QME_LOADER'],
           QME_MODULE_PATH=MODULES)
BATCHES, RTS = 100, 50      # as the firmware's ROUNDS and READS

TRANSPORTS = sys.argv[4:] or ('unix', 'tcp', 'shm')
cpus = sorted(os.sched_getaffinity(0))
PLACEMENTS = [('cross-CPU', cpus[0], cpus[1])] if len(cpus) > 1 else []
PLACEMENTS.append(('same-CPU', cpus[0], cpus[0]))


def pinned(cpu, cmd):
    return ['taskset', '-c', str(cpu), *cmd]


def start_server(transport, cpu):
    if transport in ('unix', 'shm'):
        where = ['--unix', os.path.join(TMP, 'uart.sock')]
    else:
        where = ['--port', '0']
    p = subprocess.Popen(pinned(cpu, [SERVER, '--quiet', '--once', *where]),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    banner = ''
    for line in p.stdout:
        banner += line
        if line.startswith('Waiting for QEMU'):
            break
    m = re.search(r'listening on (?:port (\d+)|(unix:\S+))', banner)
    if not m:
        p.kill()
        sys.exit(f'sockdev-bench: server did not start\n{banner}')
    return p, m.group(2) or f'tcp:127.0.0.1:{m.group(1)}'


def run_guest(transport, qemu_cpu, server_cpu):
    srv, socket = start_server(transport, server_cpu)
    try:
        out = subprocess.run(pinned(qemu_cpu, [
            QEMU, '-M', 'virt', '-cpu', 'max', '-m', '64', '-nographic',
            '-nodefaults', '-nic', 'none', '-serial', 'stdio',
            '-kernel', FW, '-device', f'mmio-sockdev,socket={socket}' +
            (',shm=on' if transport == 'shm' else ''),
            '-device', 'edu,addr=01.0']),
            env=ENV, capture_output=True, text=True, timeout=120)
    finally:
        try:
            srv.wait(timeout=5)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
    m = re.search(r'hz=(\d+) reads=(\d+) sockdev_ticks=(\d+) edu_reads=(\d+) '
                  r'edu_ticks=(\d+) writes=(\d+) write_ticks=(\d+) '
                  r'edu_write_ticks=(\d+) first_read_ticks=(\d+)',
                  out.stdout)
    if not m:
        sys.exit(f'sockdev-bench ({transport}): no result (exit '
                 f'{out.returncode})\n{out.stdout}\n{out.stderr}')
    hz, reads, t_sd, edu_reads, t_edu, writes, t_wr, t_edu_wr, t_first = \
        map(int, m.groups())
    return (t_sd * 1e9 / hz / reads, t_edu * 1e9 / hz / edu_reads,
            writes * hz / t_wr, writes * hz / t_edu_wr, t_first * 1e9 / hz)


def run_pingpong(transport, client_cpu, server_cpu):
    out = subprocess.run([PINGPONG, transport, str(client_cpu),
                          str(server_cpu), str(BATCHES), str(RTS)],
                         capture_output=True, text=True, timeout=120)
    m = re.search(r'rts=(\d+) best_batch_ns=(\d+)', out.stdout)
    if out.returncode or not m:
        sys.exit(f'sockdev-bench ({transport}): ping-pong failed\n'
                 f'{out.stdout}\n{out.stderr}')
    return int(m.group(2)) / int(m.group(1))


def floor(*args):
    """A scale sockdev-pingpong measures (clock CPU, line CPU CPU), in ns."""
    out = subprocess.run([PINGPONG, *map(str, args)], capture_output=True,
                         text=True, timeout=60)
    m = re.search(r'best_ns_per_\w+=([0-9.]+)', out.stdout)
    if out.returncode or not m:
        sys.exit(f'sockdev-bench: {args[0]} floor failed\n{out.stdout}\n'
                 f'{out.stderr}')
    return float(m.group(1))


socket_rt = {}
def report_shm(where, place, rt, base, wps, edu_wps, edu, qemu_cpu,
               server_cpu):
    """The shared-memory transport's goals (issue 17)."""
    if place == 'cross-CPU':
        # The request (in the index's line) to the server, the reply
        # back: two one-way cache-line transfers, one bare round trip.
        line = floor('line', qemu_cpu, server_cpu)
        print(f'mmio-sockdev shm read round trip ({where}): guest {rt:.0f} '
              f'ns, bare UNIX ping-pong {base:.0f} ns, speed-up '
              f'{base / rt:.1f}x (goal >= 40x, and <= 1000 ns; a bare '
              f'cache-line round trip: {line:.0f} ns)')
    elif place in socket_rt:
        print(f'mmio-sockdev shm read round trip ({where}): guest {rt:.0f} '
              f'ns, socket path {socket_rt[place]:.0f} ns, ratio '
              f'{rt / socket_rt[place]:.2f} (goal <= 1.00)')
    else:
        print(f'mmio-sockdev shm read round trip ({where}): guest {rt:.0f} '
              f'ns, bare UNIX ping-pong {base:.0f} ns, ratio '
              f'{rt / base:.2f}')
    # A stamped write costs at least edu's whole write (QEMU's dispatch)
    # plus one host clock read: the most this transport could do here.
    clock = floor('clock', qemu_cpu)
    ceiling = 1e9 / (1e9 / edu_wps + clock)
    print(f'mmio-sockdev shm posted writes ({where}): {wps / 1e6:.2f} M/s, '
          f'edu {edu_wps / 1e6:.2f} M/s, ratio {wps / edu_wps:.3f} '
          f'(goal >= 20 M/s; ceiling with an exact clock stamp: edu\'s '
          f'write + one clock read of {clock:.1f} ns = '
          f'{ceiling / 1e6:.1f} M/s)')
    print(f'mmio-sockdev shm read vs in-process edu ({where}): sockdev '
          f'{rt:.0f} ns, edu {edu:.0f} ns, ratio {rt / edu:.1f} '
          f'(for scale)')


try:
    for transport in TRANSPORTS:
        for place, qemu_cpu, server_cpu in PLACEMENTS:
            # Baseline just before and just after the guest; the faster
            # one counts (host load shifts, never in QEMU's favour).
            wire = 'unix' if transport == 'shm' else transport
            base = run_pingpong(wire, qemu_cpu, server_cpu)
            rt, edu, wps, edu_wps, first = run_guest(transport, qemu_cpu,
                                                     server_cpu)
            base = min(base, run_pingpong(wire, qemu_cpu, server_cpu))
            where = (f'{transport}, {place}: vCPU on {qemu_cpu}, server on '
                     f'{server_cpu}')
            print(f'mmio-sockdev first read of a batch ({where}): median '
                  f'{first:.0f} ns (the guest was away longer than the '
                  f'server\'s busy-wait: for scale)')
            if transport == 'shm':
                report_shm(where, place, rt, base, wps, edu_wps, edu,
                           qemu_cpu, server_cpu)
                continue
            if transport == 'unix':
                socket_rt[place] = rt
            print(f'mmio-sockdev read round trip ({where}): guest {rt:.0f} '
                  f'ns, bare ping-pong {base:.0f} ns, ratio {rt / base:.2f} '
                  f'(goal <= 1.5)')
            print(f'mmio-sockdev posted writes ({where}): {wps / 1e6:.2f} M/s, '
                  f'edu {edu_wps / 1e6:.2f} M/s, ratio {wps / edu_wps:.3f} '
                  f'(goal >= 1.00 M/s)')
            print(f'mmio-sockdev read vs in-process edu ({where}): sockdev '
                  f'{rt:.0f} ns, edu {edu:.0f} ns, ratio {rt / edu:.0f} '
                  f'(for scale)')
finally:
    shutil.rmtree(TMP, ignore_errors=True)
