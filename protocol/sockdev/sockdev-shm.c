/*
 * The shared-memory transport's mapping, as both sides hold it
 * (sockdev-internal.h).
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sockdev-internal.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* The layout PROTOCOL.md gives, which other implementations follow. */
_Static_assert(sizeof(QmeSdShmSlot) == 32, "ring slot size");
_Static_assert(offsetof(QmeSdShm, head) == 64 &&
               offsetof(QmeSdShm, wait_req) == 72 &&
               offsetof(QmeSdShm, tail) == 128 &&
               offsetof(QmeSdShm, cli_sleeping) == 192 &&
               offsetof(QmeSdShm, srv_sleeping) == 256 &&
               offsetof(QmeSdShm, reply_id) == 320 &&
               offsetof(QmeSdShm, ring) == 384, "shared memory layout");

void qme_sd_shm_map_init(QmeSdShmMap *map)
{
    *map = (QmeSdShmMap){ .wait_fd = -1, .kick_fd = -1 };
}

void qme_sd_shm_unmap(QmeSdShmMap *map)
{
    if (map->shm) {
        munmap(map->shm, map->size);
    }
    if (map->wait_fd >= 0) {
        close(map->wait_fd);
    }
    if (map->kick_fd >= 0) {
        close(map->kick_fd);
    }
    qme_sd_shm_map_init(map);
}

void qme_sd_shm_kick(const QmeSdShmMap *map)
{
    uint64_t one = 1;

    if (write(map->kick_fd, &one, sizeof(one)) < 0) {
        /* Counter full: the other side has wake-ups pending anyway. */
    }
}

void qme_sd_shm_ack(const QmeSdShmMap *map)
{
    uint64_t count;

    if (read(map->wait_fd, &count, sizeof(count)) < 0) {
        /* Nothing to reset: a spurious wake-up. */
    }
}
