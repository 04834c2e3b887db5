/*
 * qemu-modules-extra system-wide mode: the program installed in place of a
 * stock QEMU system emulator (package qemu-modules-extra-system).
 *
 * The package diverts Debian's /usr/bin/qemu-system-NAME to
 * qemu-system-NAME.distrib in the same folder (dpkg-divert) and installs
 * this wrapper under the original name, so the plain command, and every
 * tool that starts QEMU itself (libvirt, scripts, IDEs), gets our devices.
 * The wrapper only puts the loader in LD_PRELOAD and the module folder in
 * QME_MODULE_PATH, in front of what the caller set, and execs the real
 * binary with the caller's argv untouched:
 *
 * - not a shell script: POSIX sh cannot set argv[0], and QEMU names itself
 *   after argv[0] in every message ("qemu-system-aarch64: -foo: invalid
 *   option"); a script would also need /bin/sh (and, under libvirt's
 *   AppArmor profile, a rule to run it) in every QEMU start.
 * - the preload is set here, after the caller's exec, not by the caller:
 *   libvirt starts QEMU with a cleared environment, and an exec into
 *   another AppArmor profile scrubs LD_PRELOAD (secure execution), while
 *   this exec stays in the same profile (rule "ix").
 * - the real binary stays in QEMU's folder: QEMU finds its firmware, data
 *   and own modules relative to /proc/self/exe.
 *
 * The loader refuses modules built for another QEMU build-id as always,
 * and gives QEMU's children the caller's environment back (qme-wrapped.h).
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qme-wrapped.h"

/*
 * Set at build time: QME_REAL_QEMU, QME_LOADER_PATH, QME_MODULE_DIR, and
 * QME_SANITIZER_PRELOAD ("" or the runtimes an instrumented loader needs
 * ahead of it, each followed by ':').
 */

static const char wrapper_mark[] __attribute__((section(QME_WRAPPER_SECTION),
                                                used)) =
    "qemu-modules-extra system-wide wrapper";

/*
 * @name = @first, followed by the caller's value if there was one; what
 * the loader needs to undo it goes into @undo.
 */
static int prepend(const char *name, const char *first, char *undo,
                   size_t len)
{
    const char *old = getenv(name);
    char *val;

    if (!old) {
        snprintf(undo, len, "-");
        return setenv(name, first, 1);
    }
    val = malloc(strlen(first) + 1 + strlen(old) + 1);
    if (!val) {
        return -1;
    }
    sprintf(val, "%s:%s", first, old);
    snprintf(undo, len, "%zu", strlen(first) + 1);
    return setenv(name, val, 1);
}

int main(int argc, char **argv)
{
    char undo_preload[24], undo_path[24], mark[50];

    /*
     * Without the loader (a half-removed installation) QEMU runs plain,
     * rather than with ld.so's warning about a missing preload.
     */
    if (access(QME_LOADER_PATH, R_OK) == 0) {
        if (prepend("LD_PRELOAD", QME_SANITIZER_PRELOAD QME_LOADER_PATH,
                    undo_preload, sizeof(undo_preload)) < 0 ||
            prepend("QME_MODULE_PATH", QME_MODULE_DIR, undo_path,
                    sizeof(undo_path)) < 0) {
            fprintf(stderr, "qemu-modules-extra: %s: out of memory\n",
                    QME_REAL_QEMU);
            return 1;
        }
        snprintf(mark, sizeof(mark), "%s %s", undo_preload, undo_path);
        setenv(QME_WRAPPED_ENV, mark, 1);
    }
    execv(QME_REAL_QEMU, argv);
    fprintf(stderr, "qemu-modules-extra: cannot run %s (the stock QEMU "
            "diverted by qemu-modules-extra-system): %s\n",
            QME_REAL_QEMU, strerror(errno));
    return errno == ENOENT ? 127 : 126;
}
