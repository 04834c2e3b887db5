/*
 * Shared by the sockdev libraries (codec, client, server); not installed.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_SOCKDEV_INTERNAL_H
#define QME_SOCKDEV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "qme/sockdev-shm.h"

/*
 * A failure: the message in @err (@errlen bytes; NULL: none) and errno
 * @errnum (0: errno as it is).  Returns -1.
 */
int qme_sd_fail(char *err, size_t errlen, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * The shared-memory transport as one side holds it (sockdev-shm.h):
 * the mapping and the two eventfds, the same on both sides.
 */
typedef struct QmeSdShmMap {
    QmeSdShm *shm;          /* NULL: not in use (socket transport) */
    size_t size;            /* of the mapping */
    uint32_t slots;         /* ring slots, a power of two */
    int wait_fd;            /* eventfd the other side kicks; we sleep on it */
    int kick_fd;            /* eventfd we kick when the other side sleeps */
} QmeSdShmMap;

/* Not in use, no descriptors. */
void qme_sd_shm_map_init(QmeSdShmMap *map);
/* Unmap, close both eventfds; then as qme_sd_shm_map_init(). */
void qme_sd_shm_unmap(QmeSdShmMap *map);
/* Ring the other side's doorbell (only worth it while it sleeps). */
void qme_sd_shm_kick(const QmeSdShmMap *map);
/* Reset our doorbell after a wake-up. */
void qme_sd_shm_ack(const QmeSdShmMap *map);

#endif /* QME_SOCKDEV_INTERNAL_H */
