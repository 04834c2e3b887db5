/*
 * mmio-sockdev client library: the QEMU side of the wire, without QEMU.
 *
 * A client owns one connection to a device server (sockdev-server.h) and
 * turns register accesses into requests: reads wait for their reply,
 * writes are queued and sent in batches (posted), and whatever the server
 * sends on its own (interrupts, DMA requests; v1 only) goes to a
 * QmeSdClientOps table.  Lifecycle: qme_sd_client_new(), then
 * qme_sd_client_connect() (again after every loss), accesses, and
 * qme_sd_client_free().
 *
 * Every wait is bounded by the timeout given at creation: a server that
 * is mute, slow or gone costs at most that long per call, then the client
 * disconnects (ops->disconnected) and reports failure until the next
 * qme_sd_client_connect().  Nothing here runs on its own: an event loop
 * watches the descriptor ops->watch names and calls
 * qme_sd_client_readable(), and calls qme_sd_client_flush() soon after
 * ops->kick (QEMU: protocol/qemu/sockdev-client-qemu.c).  No global
 * state, no threads; every byte from the wire is checked before use.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_SOCKDEV_CLIENT_H
#define QME_SOCKDEV_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qme/sockdev-proto.h"
#include "qme/sockdev-server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct QmeSdClient QmeSdClient;

/*
 * What the server may ask for, and what the event loop must do.  Every
 * hook is optional: without irq or dma, such a message is a protocol
 * error (the client disconnects).
 */
typedef struct QmeSdClientOps {
    /*
     * The server set interrupt @line to @level (v1, CAP_IRQ agreed).
     * Returns 0, or -1 if the device has no such line (the client then
     * disconnects, as for any protocol error).
     */
    int (*irq)(void *opaque, unsigned line, bool level);
    /*
     * The server reads (@is_write false: fill @buf) or writes (@buf holds
     * the bytes) @len bytes at guest address @addr (v1, CAP_DMA agreed).
     * Returns the reply status, QME_SD_ST_OK or QME_SD_ST_DENIED.
     */
    uint32_t (*dma)(void *opaque, bool is_write, uint64_t addr,
                    uint8_t *buf, uint32_t len);
    /*
     * Watch @fd for input and call qme_sd_client_readable() when there
     * is some; @fd -1: stop watching.  @fd is an epoll set holding the
     * socket (the socket itself if epoll failed): a request takes the
     * socket out of it while it waits for its reply, so that the reply
     * does not wake the event loop too.
     */
    void (*watch)(void *opaque, int fd);
    /* Call qme_sd_client_flush() soon, from the event loop. */
    void (*kick)(void *opaque);
    /* The connection is gone (@why says how); not called on _free(). */
    void (*disconnected)(void *opaque, const char *why);
    /* A server broke the protocol: @msg says how (one line, no "\n"). */
    void (*log)(void *opaque, const char *msg);
    /*
     * The guest's virtual clock in ns (> 0), stamped on every request
     * (qme_sd_server_vtime()); NULL: none (and then no version 2 unless
     * shared memory is wanted).
     */
    int64_t (*vtime)(void *opaque);
    /*
     * Version 2: call qme_sd_client_tick() when the guest's clock
     * reaches @deadline (ns; 0: no tick needed), for the server's timed
     * events and lockstep.  Without this hook a server's EVENT_AT is a
     * protocol error.
     */
    void (*timer)(void *opaque, uint64_t deadline);
    /*
     * Lockstep: @hold true, stop the guest's clock while the server
     * catches up; false, let it run again.  Optional.
     */
    void (*hold_time)(void *opaque, bool hold);
} QmeSdClientOps;

/*
 * A timed event the server asked for (EVENT_AT), as it waits in the
 * client: for migration (qme_sd_client_get_events()).
 */
typedef struct QmeSdEvent {
    uint64_t vtime;         /* guest ns at which it fires */
    uint16_t line;          /* with QME_SD_EV_LINE */
    uint8_t action;         /* QME_SD_EV_*; 0: not armed */
} QmeSdEvent;

/*
 * Return convention: functions returning int return 0 on success and -1
 * on failure with errno set: ENOTCONN (no connection), ETIMEDOUT (the
 * server did not answer in time; the client disconnected), ECONNRESET
 * (the connection broke or the server broke the protocol; disconnected),
 * EIO (v1: the server answered with an error status; still connected),
 * EINVAL (a bad argument), or a connect's own errno; those that take an
 * error buffer also leave a message there.  Functions returning a pointer
 * return NULL on failure with errno set.  The others cannot fail and say
 * what they return.
 */

/*
 * A client for a window of @window bytes speaking @proto
 * (QME_SD_PROTO_V1 or QME_SD_PROTO_BASIC).  @caps: the QME_SD_CAP_* the
 * client offers in the v1 handshake.  @timeout_ms (> 0) bounds every
 * wait.  Returns the client, not connected, or NULL with errno EINVAL or
 * ENOMEM.
 */
QmeSdClient *qme_sd_client_new(const QmeSdClientOps *ops, void *opaque,
                               QmeSdProto proto, uint32_t window,
                               uint32_t caps, unsigned timeout_ms);
/* Close the connection (without ops->disconnected) and free (NULL: no-op). */
void qme_sd_client_free(QmeSdClient *cl);

/*
 * Connect to @address (qme_sd_parse_address(); TCP connects are bounded
 * by the timeout too) and, for v1, shake hands: the server must speak
 * version 1 (or 2, see qme_sd_client_set_shm()) with the same window,
 * and agree only to offered capabilities.  Already connected: returns
 * 0 at once.  Returns 0, or -1 with errno and @err set and no connection
 * left open.
 */
int qme_sd_client_connect(QmeSdClient *cl, const char *address,
                          char *err, size_t errlen);
/*
 * Shared-memory transport (v1 over a UNIX socket; PROTOCOL.md): with
 * @want, the next connect offers protocol version 2 and, if the server
 * speaks it, passes it a memfd with request and reply rings; reads,
 * writes and resets then go through the memory, the rest stays on the
 * socket, which also tells that the server died.  A server that does
 * not speak version 2 or refuses the memory is served over the socket.
 * A read busy-waits up to @spin_us for its reply (not while the server
 * last ran on this CPU), then sleeps on an eventfd.  Cannot fail.
 */
void qme_sd_client_set_shm(QmeSdClient *cl, bool want, unsigned spin_us);
/* Returns whether the connection uses the shared memory now. */
bool qme_sd_client_shm(const QmeSdClient *cl);

/* Close the connection (no-op if none) and call ops->disconnected. */
void qme_sd_client_disconnect(QmeSdClient *cl, const char *why);

/* Return whether connected, and the capabilities agreed (0 if none). */
bool qme_sd_client_connected(const QmeSdClient *cl);
uint32_t qme_sd_client_caps(const QmeSdClient *cl);

/*
 * Read @size bytes at @addr (the caller checks them against the window).
 * Returns 0 with *@value set, or -1 (*@value all-ones for @size).
 */
int qme_sd_client_read(QmeSdClient *cl, uint32_t addr, unsigned size,
                       uint64_t *value);
/* Queue a write; it reaches the server before the next request.  0 / -1. */
int qme_sd_client_write(QmeSdClient *cl, uint32_t addr, unsigned size,
                        uint64_t value);
/* Queue a device reset (v1; with basic there is none: returns 0).  0 / -1. */
int qme_sd_client_reset(QmeSdClient *cl);
/*
 * v1 with CAP_STATE: the server's state, at most @cap bytes, into @buf;
 * *@len its length.  Returns 0, or -1 (ENOTCONN also when CAP_STATE was
 * not agreed; EIO when the server could not save).
 */
int qme_sd_client_save(QmeSdClient *cl, uint8_t *buf, size_t cap,
                       uint32_t *len);
/* v1 with CAP_STATE: give the server @len bytes of saved state.  0 / -1. */
int qme_sd_client_restore(QmeSdClient *cl, const uint8_t *buf, uint32_t len);

/* Returns the protocol version agreed: 0 (none yet, basic), 1 or 2. */
unsigned qme_sd_client_version(const QmeSdClient *cl);

/*
 * Version 2, lockstep: with @quantum_ns > 0 the server's clock follows
 * the guest's in SYNC steps of exactly @quantum_ns: before each request,
 * and at each qme_sd_client_tick(), the guest's clock is held
 * (ops->hold_time) until the server is less than a quantum behind.  A
 * connection starts with a SYNC at the guest's clock.  0: off.  Cannot
 * fail (a connection lost here is reported as any loss).
 */
void qme_sd_client_set_lockstep(QmeSdClient *cl, uint64_t quantum_ns);
/*
 * The guest's clock is at @vtime (ops->timer's deadline came): do the
 * server's timed events that are due (set their line through ops->irq,
 * send EVENT) and, with lockstep, the syncs, in time order.  Requests
 * do the same first, so a server never sees a request before an event
 * that was due earlier.  Returns 0, or -1.
 */
int qme_sd_client_tick(QmeSdClient *cl, uint64_t vtime);
/*
 * Migration: the server's timed events (QME_SD_MAX_EVENTS entries) out
 * of the client (cannot fail) and into it (returns 0, or -1: EINVAL for
 * an action that is not one, ENOTCONN without a connection).
 */
void qme_sd_client_get_events(const QmeSdClient *cl,
                              QmeSdEvent events[QME_SD_MAX_EVENTS]);
int qme_sd_client_set_events(QmeSdClient *cl,
                             const QmeSdEvent events[QME_SD_MAX_EVENTS]);

/*
 * Event loop: send queued writes, then handle messages already received.
 * Returns 0, or -1 if the connection is gone.
 */
int qme_sd_client_flush(QmeSdClient *cl);
/* Event loop: the watched descriptor is readable.  Cannot fail. */
void qme_sd_client_readable(QmeSdClient *cl);

#ifdef __cplusplus
}
#endif

#endif /* QME_SOCKDEV_CLIENT_H */
