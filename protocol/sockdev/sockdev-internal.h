/*
 * Shared by the sockdev libraries (codec, client, server); not installed.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_SOCKDEV_INTERNAL_H
#define QME_SOCKDEV_INTERNAL_H

#include <stddef.h>

/*
 * A failure: the message in @err (@errlen bytes; NULL: none) and errno
 * @errnum (0: errno as it is).  Returns -1.
 */
int qme_sd_fail(char *err, size_t errlen, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* QME_SOCKDEV_INTERNAL_H */
