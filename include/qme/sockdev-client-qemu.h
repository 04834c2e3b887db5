/*
 * mmio-sockdev client in QEMU: the client library (sockdev-client.h) on
 * QEMU's main loop.
 *
 * Adds what a device model would otherwise write itself: the main loop
 * watches the socket for server-initiated messages and sends batched
 * writes from a bottom half; a lost server is reported once per outage
 * (guest-error log and a warning) and looked for again every
 * reconnect_ms by a timer; the first connection follows an on-absent
 * policy; the server's state is saved and restored for migration, once
 * it is there; the server's timed events and lockstep (version 2) run on
 * one QEMU_CLOCK_VIRTUAL timer, with the clock held while the server
 * catches up.  Register accesses go straight to the core client
 * (qme_sd_qemu_client_core()) on the vCPU thread, under the BQL.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_SOCKDEV_CLIENT_QEMU_H
#define QME_SOCKDEV_CLIENT_QEMU_H

#include "qapi/error.h"
#include "qapi/util.h"
#include "migration/vmstate.h"
#include "qme/sockdev-client.h"

typedef struct QmeSdQemuClient QmeSdQemuClient;

/* No server at start: */
typedef enum QmeSdAbsent {
    QME_SD_ABSENT_FAIL,     /* fail */
    QME_SD_ABSENT_WAIT,     /* retry for wait_ms, then fail */
    QME_SD_ABSENT_RUN,      /* start disconnected, reconnect later */
} QmeSdAbsent;

/* Their names, "fail", "wait" and "run", for an enum property. */
extern const QEnumLookup qme_sd_absent_lookup;

typedef struct QmeSdQemuClientOps {
    /* As in QmeSdClientOps. */
    int (*irq)(void *opaque, unsigned line, bool level);
    uint32_t (*dma)(void *opaque, bool is_write, uint64_t addr,
                    uint8_t *buf, uint32_t len);
    /* After every connection (the first one too).  Optional. */
    void (*connected)(void *opaque);
    /* The server is gone (@why says how); a reconnect is scheduled. */
    void (*disconnected)(void *opaque, const char *why);
} QmeSdQemuClientOps;

/*
 * Return convention: functions returning int return 0 on success and -1
 * with *@errp set on failure; functions returning a pointer return NULL
 * with *@errp set; the others cannot fail and say what they return.
 */

/*
 * A client of the server at @address for device @name (message prefix);
 * @proto, @window, @caps, @timeout_ms as for qme_sd_client_new();
 * @reconnect_ms (> 0) between attempts after a loss.  Nothing is
 * connected yet.  Returns the client, or NULL with @errp set.
 */
QmeSdQemuClient *qme_sd_qemu_client_new(const char *name,
                                        const char *address,
                                        QmeSdProto proto, uint32_t window,
                                        uint32_t caps, unsigned timeout_ms,
                                        unsigned reconnect_ms,
                                        const QmeSdQemuClientOps *ops,
                                        void *opaque, Error **errp);
/*
 * The first connection, as @absent says (@wait_ms for
 * QME_SD_ABSENT_WAIT).  Returns 0 (connected, or with QME_SD_ABSENT_RUN
 * reconnecting in the background), or -1 with @errp set and no
 * connection open.
 */
int qme_sd_qemu_client_start(QmeSdQemuClient *qc, QmeSdAbsent absent,
                             unsigned wait_ms, Error **errp);
/*
 * Migration, v1 with CAP_STATE (else no state: *@len 0, returns 0).
 * save: sends the queued writes, then puts the server's state in @buf
 * (QME_SD_MAX_DATA bytes) and its length in *@len; a state loaded but
 * not yet restored is passed on as it is.  load: hands @len bytes at
 * @buf to the server, at once or, without a server that takes it now,
 * at the next connection (@buf must stay valid until then).  Return 0,
 * or -1 with @errp set.
 */
int qme_sd_qemu_client_save_state(QmeSdQemuClient *qc, uint8_t *buf,
                                  uint32_t *len, Error **errp);
int qme_sd_qemu_client_load_state(QmeSdQemuClient *qc, const uint8_t *buf,
                                  uint32_t len, Error **errp);
/*
 * A QmeSdEvent in a device's vmstate (qme_sd_client_get_events() before
 * saving, qme_sd_client_set_events() after loading): the timed events a
 * server asked for travel with the guest's clock they refer to.
 */
extern const VMStateDescription qme_sd_vmstate_event;

/* Returns the core client, for accesses; valid until _free(). */
QmeSdClient *qme_sd_qemu_client_core(QmeSdQemuClient *qc);
/* Returns how many times a connected server was lost. */
uint32_t qme_sd_qemu_client_outages(const QmeSdQemuClient *qc);
/* Close, stop the timer and bottom half, free (NULL: no-op). */
void qme_sd_qemu_client_free(QmeSdQemuClient *qc);

#endif /* QME_SOCKDEV_CLIENT_QEMU_H */
