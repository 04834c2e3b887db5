/*
 * QMP commands from a module: see include/qme/qmp.h.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/notify.h"
#include "monitor/monitor-internal.h"   /* qmp_commands */
#include "system/system.h"
#include "qme/qemu-compat.h"
#include "qme/qmp.h"

typedef struct QmeQmpCommand {
    Notifier machine_done;
    const char *name;
    QmpCommandFunc *fn;
} QmeQmpCommand;

static void qme_qmp_add(Notifier *n, void *data)
{
    QmeQmpCommand *cmd = container_of(n, QmeQmpCommand, machine_done);

    if (qmp_find_command(&qmp_commands, cmd->name)) {
        warn_report("qemu-modules-extra: QMP command '%s' exists already; "
                    "the module's is not added", cmd->name);
        return;
    }
    qmp_register_command(&qmp_commands, cmd->name, cmd->fn, 0, 0);
}

void qme_qmp_register_command(const char *name, QmpCommandFunc *fn)
{
    /* Lives as long as QEMU: the notifier list keeps it. */
    QmeQmpCommand *cmd = g_new0(QmeQmpCommand, 1);

    cmd->machine_done.notify = qme_qmp_add;
    cmd->name = name;
    cmd->fn = fn;
    qemu_add_machine_init_done_notifier(&cmd->machine_done);
}

int qme_qmp_check_args(const QDict *args, const char *const known[],
                       Error **errp)
{
    const QDictEntry *e;

    for (e = qdict_first(args); e; e = qdict_next(args, e)) {
        const char *const *k = known;

        while (*k && strcmp(*k, qdict_entry_key(e))) {
            k++;
        }
        if (!*k) {
            error_setg(errp, "Parameter '%s' is unexpected",
                       qdict_entry_key(e));
            return -1;
        }
    }
    return 0;
}
