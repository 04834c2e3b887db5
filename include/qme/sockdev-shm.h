/*
 * mmio-sockdev shared-memory transport: the layout both sides map.
 *
 * Negotiated over the UNIX socket (PROTOCOL.md, "Shared-memory
 * transport"): QEMU creates a sealed memfd of this layout and two
 * eventfds, and passes them with SHM_SETUP (SCM_RIGHTS).  From then on
 * reads, writes, resets, lockstep syncs and event callbacks go through
 * the request ring and the reply slot below; everything else
 * (handshake, state, interrupts, DMA, EVENT_AT) and the liveness of the
 * server stay on the socket.
 *
 * Both processes run on one machine: fields are in host byte order and
 * are accessed with atomic loads and stores only.  Each cache line has
 * one writer, named in its comment.  Neither side trusts what the other
 * wrote: indices, types, sizes and statuses are checked on every use.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_SOCKDEV_SHM_H
#define QME_SOCKDEV_SHM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QME_SD_SHM_MAGIC        0x4d485351u     /* "QSHM" */
/* Ring slots: a power of two in this range (QEMU uses the default). */
#define QME_SD_SHM_MIN_SLOTS    16u
#define QME_SD_SHM_MAX_SLOTS    4096u
#define QME_SD_SHM_SLOTS        1024u
#define QME_SD_SHM_CACHELINE    64
/* Default busy-wait before sleeping on the eventfd, either side. */
#define QME_SD_SHM_SPIN_US      50u

/* One request: a READ, WRITE, RESET, SYNC or EVENT (message types). */
typedef struct QmeSdShmSlot {
    uint8_t type;
    uint8_t size;           /* READ, WRITE: 1, 2, 4 or 8; else 0 */
    uint16_t pad;           /* 0 */
    uint32_t addr;          /* READ, WRITE; EVENT: the event number */
    uint64_t value;         /* WRITE: no bits above size; else 0 */
    uint64_t vtime;         /* guest virtual clock (ns) of the request */
    uint32_t id;            /* READ, SYNC, EVENT: echoed in reply_id */
    uint32_t pad2;          /* 0 */
} QmeSdShmSlot;

typedef struct QmeSdShm {
    /* Written once by QEMU before SHM_SETUP. */
    uint32_t magic;
    uint32_t slots;
    uint8_t pad0[QME_SD_SHM_CACHELINE - 8];

    /*
     * The two ring indices, each on a line of its own: they change on
     * every (batch of) request(s), the rest below rarely.
     */
    uint32_t head;          /* QEMU: requests published (free-running) */
    /*
     * Written by QEMU before @head: the request it now waits for (READ,
     * SYNC, EVENT), number @wait_n, which ring[] holds too.  The copy
     * reaches a polling server with the index, in one cache-line
     * transfer instead of two.  @wait_n == @head: the last request
     * published is posted, no copy.
     */
    uint32_t wait_n;
    QmeSdShmSlot wait_req;
    uint8_t pad1[QME_SD_SHM_CACHELINE - 8 - sizeof(QmeSdShmSlot)];
    uint32_t tail;          /* server: requests taken (free-running) */
    uint8_t pad2[QME_SD_SHM_CACHELINE - 4];

    /* Written by QEMU. */
    uint32_t cli_sleeping;  /* 1: QEMU waits on its eventfd */
    int32_t cli_cpu;        /* CPU of QEMU's last read, -1 unknown */
    uint8_t pad3[QME_SD_SHM_CACHELINE - 8];

    /* Written by the server. */
    uint32_t srv_sleeping;  /* 1: the server waits on its eventfd */
    int32_t srv_cpu;        /* CPU the server last ran on, -1 unknown */
    uint32_t sock_seq;      /* bumped after each message on the socket */
    uint8_t pad4[QME_SD_SHM_CACHELINE - 12];

    /* Written by the server: the reply to the one outstanding READ. */
    uint32_t reply_id;      /* written last: the reply is complete */
    uint32_t reply_status;  /* QME_SD_ST_OK or QME_SD_ST_ERROR */
    uint64_t reply_value;
    uint8_t pad5[QME_SD_SHM_CACHELINE - 16];

    QmeSdShmSlot ring[];    /* @slots entries; request n is ring[n % slots] */
} QmeSdShm;

/* Returns the bytes a mapping of @slots ring slots takes (page-rounded). */
static inline size_t qme_sd_shm_size(uint32_t slots)
{
    size_t n = sizeof(QmeSdShm) + (size_t)slots * sizeof(QmeSdShmSlot);

    return (n + 4095) & ~(size_t)4095;
}

/* In a busy-wait: let the other hyperthread (or the host) breathe. */
static inline void qme_sd_shm_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield" : : : "memory");
#endif
}

#ifdef __cplusplus
}
#endif

#endif /* QME_SOCKDEV_SHM_H */
