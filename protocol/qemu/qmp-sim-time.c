/*
 * itc-sim-time: the QMP command of the QEMU modeling manual's "Custom QMP
 * Commands", which patches QEMU's schema for it, here from a module.
 *
 *   -> { "execute": "itc-sim-time", "arguments": { "clock": "virtual" } }
 *   <- { "return": { "time_ns": 1000000 } }
 *
 * clock: one of realtime, virtual, host, virtual-rt (QEMUClockType).
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/timer.h"
#include "qobject/qstring.h"
#include "qme/qemu-compat.h"
#include "qme/qmp.h"

/* The manual's ClockType enum, in QEMUClockType order. */
static const char *const itc_clock_names[QEMU_CLOCK_MAX] = {
    [QEMU_CLOCK_REALTIME] = "realtime",
    [QEMU_CLOCK_VIRTUAL] = "virtual",
    [QEMU_CLOCK_HOST] = "host",
    [QEMU_CLOCK_VIRTUAL_RT] = "virtual-rt",
};

static void qmp_itc_sim_time(QDict *args, QObject **ret, Error **errp)
{
    static const char *const known[] = { "clock", NULL };
    const char *name = qdict_get_try_str(args, "clock");
    QDict *time;
    int clock;

    if (qme_qmp_check_args(args, known, errp) < 0) {
        return;
    }
    for (clock = 0; clock < QEMU_CLOCK_MAX; clock++) {
        if (name && !strcmp(name, itc_clock_names[clock])) {
            break;
        }
    }
    if (clock == QEMU_CLOCK_MAX) {
        error_setg(errp, "Parameter 'clock' %s: expected one of realtime, "
                   "virtual, host, virtual-rt",
                   !qdict_haskey(args, "clock") ? "is missing" :
                   !name ? "must be a string" : "has an unknown value");
        return;
    }
    time = qdict_new();
    qdict_put_int(time, "time_ns", qemu_clock_get_ns(clock));
    *ret = QOBJECT(time);
}

static void __attribute__((constructor)) itc_sim_time_register(void)
{
    qme_qmp_register_command("itc-sim-time", qmp_itc_sim_time);
}
