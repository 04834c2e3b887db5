/*
 * QMP commands from a module, on the stock QEMU binary.
 *
 * QEMU's own commands come from its QAPI schema; a module has none, so it
 * registers a handler by name and parses its arguments itself.  QEMU
 * fills its command table during start-up, after module constructors have
 * run, and begins by emptying it (qmp_init_marshal): a command registered
 * from a constructor would be lost.  qme_qmp_register_command() may be
 * called from anywhere, a constructor included; the command is added once
 * the machine is created, which is before QEMU reads any monitor command
 * (with -S too).  With --preconfig the commands appear after
 * x-exit-preconfig.
 *
 * What QMP shows of such a command: `query-commands` lists it, and it runs
 * like any other; `query-qmp-schema` does not describe it (the schema is
 * compiled into QEMU), so a client learns its arguments from its docs.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_QMP_H
#define QME_QMP_H

#include "qapi/qmp-registry.h"
#include "qobject/qdict.h"

/*
 * Make @fn the QMP command @name (a static string).  @fn gets the
 * command's "arguments" (an empty dictionary if there were none), sets
 * *ret to its return value (a dictionary, as for QEMU's own commands) or
 * *errp.  Cannot fail: a name QEMU already has is reported with
 * warn_report() when the command would be added, and QEMU's stays.
 */
void qme_qmp_register_command(const char *name, QmpCommandFunc *fn);

/*
 * Refuse any argument not in @known (NULL-terminated), in the words of
 * QEMU's generated commands ("Parameter 'X' is unexpected").  Returns 0 if
 * there is none, -1 with *errp set otherwise.
 */
int qme_qmp_check_args(const QDict *args, const char *const known[],
                       Error **errp);

#endif /* QME_QMP_H */
