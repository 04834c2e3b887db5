# sockdev-timer-server's --time-log, as its tests read it.
#
# Copyright (c) 2026 qemu-modules-extra developers
# SPDX-License-Identifier: GPL-2.0-or-later


def read(path):
    """[(kind, vtime)]: one per access, event and sync the server saw
    (a line still being written is left out)."""
    with open(path) as f:
        return [(k, int(v)) for k, v in (ln.split() for ln in f
                                         if ln.endswith('\n'))]


def lockstep(log, quantum):
    """What lockstep promises, checked on a server's log: (the sync times,
    the set of steps between them, the times that went back, the
    accesses and events more than a quantum past the last sync)."""
    syncs = [v for k, v in log if k == 'sync']
    steps = {b - a for a, b in zip(syncs, syncs[1:])}
    last, ahead, back, prev = None, [], [], -1
    for k, v in log:
        if v < prev:
            back.append((k, v, prev))
        prev = v
        if k == 'sync':
            last = v
        elif last is None or v - last > quantum:
            ahead.append((k, v, last))
    return syncs, steps, back, ahead
