/*
 * mmio-sockdev client on QEMU's main loop: see
 * include/qme/sockdev-client-qemu.h.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "migration/vmstate.h"
#include "system/cpu-timers.h"
#include "system/runstate.h"
#include "qme/sockdev-client-qemu.h"
#include "trace-qme_regs.h"

/*
 * While the guest keeps posting writes, the main loop flushes them at
 * most once per this long: each flush is a main-loop wake-up (an eventfd
 * write from the vCPU) that then takes the BQL from the vCPU, and with
 * the server on QEMU's CPU a context switch to the server too.  Writes
 * after a quiet spell are flushed at once; the last of a burst wait at
 * most this long (a read flushes at once; so does a full batch of 4 KiB
 * on the socket, a full ring in shared memory).  Shared memory, 20000
 * writes, server on QEMU's CPU: 184-290 ns a write with gaps of 0-50 us,
 * 145 ns with 200 us, 105 ns with 1 ms; on another CPU no clear effect.
 */
#define QC_FLUSH_GAP_NS (200 * 1000)

const QEnumLookup qme_sd_absent_lookup = {
    .array = (const char *const[]) {
        [QME_SD_ABSENT_FAIL] = "fail",
        [QME_SD_ABSENT_WAIT] = "wait",
        [QME_SD_ABSENT_RUN] = "run",
    },
    .size = 3,
};

struct QmeSdQemuClient {
    QmeSdClient *core;
    const QmeSdQemuClientOps *ops;
    void *opaque;
    char *name;
    char *address;
    unsigned reconnect_ms;
    int watched;            /* fd with a main-loop handler, or -1 */
    uint32_t outages;
    bool outage_logged;     /* one LOG_GUEST_ERROR per outage */
    QEMUTimer *reconnect;
    QEMUTimer *tick;        /* the server's timed events and lockstep */
    bool holding;           /* we stopped the virtual clock */
    QEMUBH *flush_bh;
    QEMUTimer *flush_timer;     /* a flush held back by QC_FLUSH_GAP_NS */
    int64_t last_flush;         /* QEMU_CLOCK_REALTIME, ns */
    /* Migrated server state waiting for a server (caller's buffer). */
    const uint8_t *pending;
    uint32_t pending_len;
};

static int qc_irq(void *opaque, unsigned line, bool level)
{
    QmeSdQemuClient *qc = opaque;

    return qc->ops->irq ? qc->ops->irq(qc->opaque, line, level) : -1;
}

static uint32_t qc_dma(void *opaque, bool is_write, uint64_t addr,
                       uint8_t *buf, uint32_t len)
{
    QmeSdQemuClient *qc = opaque;

    return qc->ops->dma ? qc->ops->dma(qc->opaque, is_write, addr, buf, len)
                        : QME_SD_ST_DENIED;
}

static void qc_fd_read(void *opaque)
{
    QmeSdQemuClient *qc = opaque;

    qme_sd_client_readable(qc->core);
}

static void qc_watch(void *opaque, int fd)
{
    QmeSdQemuClient *qc = opaque;

    if (qc->watched >= 0) {
        qemu_set_fd_handler(qc->watched, NULL, NULL, NULL);
    }
    qc->watched = fd;
    if (fd >= 0) {
        qemu_set_fd_handler(fd, qc_fd_read, NULL, qc);
    }
}

/* Once per flush, from the vCPU: the first write since the last one. */
static void qc_kick(void *opaque)
{
    QmeSdQemuClient *qc = opaque;
    int64_t next = qc->last_flush + QC_FLUSH_GAP_NS;

    if (qemu_clock_get_ns(QEMU_CLOCK_REALTIME) >= next) {
        qemu_bh_schedule(qc->flush_bh);
    } else {
        timer_mod(qc->flush_timer, next);
    }
}

static void qc_flush(void *opaque)
{
    QmeSdQemuClient *qc = opaque;

    qc->last_flush = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    qme_sd_client_flush(qc->core);
}

static void qc_schedule_reconnect(QmeSdQemuClient *qc)
{
    timer_mod(qc->reconnect,
              qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + qc->reconnect_ms);
}

static void qc_disconnected(void *opaque, const char *why)
{
    QmeSdQemuClient *qc = opaque;

    /* A reconnection that fails its handshake is the same outage. */
    if (!qc->outage_logged) {
        qc->outages++;
        qemu_log_mask(LOG_GUEST_ERROR, "%s: device server at %s lost (%s): "
                      "reads return all-ones and writes are dropped until "
                      "it is back\n", qc->name, qc->address, why);
        warn_report("%s: device server at %s lost (%s)", qc->name,
                    qc->address, why);
        qc->outage_logged = true;
    }
    if (qc->ops->disconnected) {
        qc->ops->disconnected(qc->opaque, why);
    }
    qc_schedule_reconnect(qc);
}

static void qc_log(void *opaque, const char *msg)
{
    QmeSdQemuClient *qc = opaque;

    qemu_log_mask(LOG_GUEST_ERROR, "%s: %s\n", qc->name, msg);
}

static int64_t qc_vtime(void *opaque)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

static void qc_timer(void *opaque, uint64_t deadline)
{
    QmeSdQemuClient *qc = opaque;

    trace_qme_sockdev_timer(qc->name, deadline);
    if (deadline) {
        timer_mod_ns(qc->tick, MIN(deadline, INT64_MAX));
    } else {
        timer_del(qc->tick);
    }
}

static void qc_tick(void *opaque)
{
    QmeSdQemuClient *qc = opaque;
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);

    trace_qme_sockdev_tick(qc->name, now);
    qme_sd_client_tick(qc->core, now);
}

/*
 * Lockstep: the virtual clock stands still while the server catches up.
 * With -icount it already does (the waiting vCPU thread runs no
 * instructions); stopping the ticks there too keeps icount's adaptive
 * shift from counting the wait as time the guest fell behind.
 */
static void qc_hold_time(void *opaque, bool hold)
{
    QmeSdQemuClient *qc = opaque;

    /* A VM that is not running has its clock stopped already: leave it. */
    if (hold && runstate_is_running()) {
        trace_qme_sockdev_hold(qc->name, "held");
        cpu_disable_ticks();
        qc->holding = true;
    } else if (!hold && qc->holding) {
        trace_qme_sockdev_hold(qc->name, "running");
        cpu_enable_ticks();
        qc->holding = false;
    }
}

static const QmeSdClientOps qc_core_ops = {
    .vtime = qc_vtime,
    .timer = qc_timer,
    .hold_time = qc_hold_time,
    .irq = qc_irq,
    .dma = qc_dma,
    .watch = qc_watch,
    .kick = qc_kick,
    .disconnected = qc_disconnected,
    .log = qc_log,
};

/* Connect, then hand over a migrated state that waited; -1 with @errp. */
static int qc_connect(QmeSdQemuClient *qc, Error **errp)
{
    char err[512];

    if (qme_sd_client_connect(qc->core, qc->address, err, sizeof(err)) < 0) {
        error_setg(errp, "%s", err);
        return -1;
    }
    qc->outage_logged = false;
    if (qc->ops->connected) {
        qc->ops->connected(qc->opaque);
    }
    if (qc->pending &&
        (qme_sd_client_caps(qc->core) & QME_SD_CAP_STATE)) {
        const uint8_t *state = qc->pending;

        qc->pending = NULL;
        if (qme_sd_client_restore(qc->core, state, qc->pending_len) < 0) {
            warn_report("%s: server at %s refused the migrated state",
                        qc->name, qc->address);
        }
        if (!qme_sd_client_connected(qc->core)) {
            error_setg(errp, "%s: lost while restoring the state",
                       qc->address);
            return -1;
        }
    }
    return 0;
}

static void qc_reconnect(void *opaque)
{
    QmeSdQemuClient *qc = opaque;
    Error *err = NULL;

    if (qme_sd_client_connected(qc->core)) {
        return;
    }
    if (qc_connect(qc, &err) == 0) {
        info_report("%s: device server at %s is back", qc->name,
                    qc->address);
    } else {
        error_free(err);
        qc_schedule_reconnect(qc);
    }
}

QmeSdQemuClient *qme_sd_qemu_client_new(const char *name,
                                        const char *address,
                                        QmeSdProto proto, uint32_t window,
                                        uint32_t caps, unsigned timeout_ms,
                                        unsigned reconnect_ms,
                                        const QmeSdQemuClientOps *ops,
                                        void *opaque, Error **errp)
{
    QmeSdQemuClient *qc;
    QmeSdAddress a;
    char err[512];

    if (qme_sd_parse_address(address, &a, err, sizeof(err)) < 0) {
        error_setg(errp, "%s", err);
        return NULL;
    }
    if (!reconnect_ms) {
        error_setg(errp, "%s: the reconnect interval must not be 0", name);
        return NULL;
    }
    qc = g_new0(QmeSdQemuClient, 1);
    qc->core = qme_sd_client_new(&qc_core_ops, qc, proto, window, caps,
                                 timeout_ms);
    if (!qc->core) {
        error_setg_errno(errp, errno, "%s: cannot create the client", name);
        g_free(qc);
        return NULL;
    }
    qc->ops = ops;
    qc->opaque = opaque;
    qc->name = g_strdup(name);
    qc->address = g_strdup(address);
    qc->reconnect_ms = reconnect_ms;
    qc->watched = -1;
    qc->reconnect = timer_new_ms(QEMU_CLOCK_REALTIME, qc_reconnect, qc);
    qc->tick = timer_new_ns(QEMU_CLOCK_VIRTUAL, qc_tick, qc);
    qc->flush_bh = qemu_bh_new(qc_flush, qc);
    qc->flush_timer = timer_new_ns(QEMU_CLOCK_REALTIME, qc_flush, qc);
    return qc;
}

int qme_sd_qemu_client_start(QmeSdQemuClient *qc, QmeSdAbsent absent,
                             unsigned wait_ms, Error **errp)
{
    Error *err = NULL;

    if (qc_connect(qc, &err) == 0) {
        return 0;
    }
    if (absent == QME_SD_ABSENT_WAIT) {
        int64_t end = qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + wait_ms;

        warn_report("%s: waiting up to %u ms for the device server at %s",
                    qc->name, wait_ms, qc->address);
        while (qemu_clock_get_ms(QEMU_CLOCK_REALTIME) < end) {
            error_free(err);
            err = NULL;
            g_usleep(100 * 1000);
            if (qc_connect(qc, &err) == 0) {
                return 0;
            }
        }
    }
    if (absent != QME_SD_ABSENT_RUN) {
        error_propagate_prepend(errp, err, "%s: no device server (start it "
                                "first, or set on-absent=wait or run): ",
                                qc->name);
        return -1;
    }
    warn_report_err(err);
    qc->outage_logged = true;
    qc_schedule_reconnect(qc);
    return 0;
}

static bool qc_has_state(QmeSdQemuClient *qc)
{
    return qme_sd_client_connected(qc->core) &&
           (qme_sd_client_caps(qc->core) & QME_SD_CAP_STATE);
}

int qme_sd_qemu_client_save_state(QmeSdQemuClient *qc, uint8_t *buf,
                                  uint32_t *len, Error **errp)
{
    /* Posted writes reach the source's server before the switch-over. */
    if (qme_sd_client_connected(qc->core)) {
        qme_sd_client_flush(qc->core);
    }
    if (qc->pending) {
        /* Never reached a server: pass it on unchanged. */
        memmove(buf, qc->pending, qc->pending_len);
        *len = qc->pending_len;
        return 0;
    }
    *len = 0;
    if (qc_has_state(qc) &&
        qme_sd_client_save(qc->core, buf, QME_SD_MAX_DATA, len) < 0) {
        error_setg(errp, "%s: server at %s could not save its state",
                   qc->name, qc->address);
        return -1;
    }
    return 0;
}

int qme_sd_qemu_client_load_state(QmeSdQemuClient *qc, const uint8_t *buf,
                                  uint32_t len, Error **errp)
{
    if (!len) {
        return 0;
    }
    if (!qc_has_state(qc)) {
        qc->pending = buf;      /* sent once the server is there */
        qc->pending_len = len;
        return 0;
    }
    if (qme_sd_client_restore(qc->core, buf, len) < 0) {
        error_setg(errp, "%s: server at %s refused the migrated state",
                   qc->name, qc->address);
        return -1;
    }
    return 0;
}

QmeSdClient *qme_sd_qemu_client_core(QmeSdQemuClient *qc)
{
    return qc->core;
}

uint32_t qme_sd_qemu_client_outages(const QmeSdQemuClient *qc)
{
    return qc->outages;
}

void qme_sd_qemu_client_free(QmeSdQemuClient *qc)
{
    if (!qc) {
        return;
    }
    qme_sd_client_free(qc->core);   /* removes the fd handler */
    timer_free(qc->reconnect);
    timer_free(qc->tick);
    qemu_bh_delete(qc->flush_bh);
    timer_free(qc->flush_timer);
    g_free(qc->name);
    g_free(qc->address);
    g_free(qc);
}

const VMStateDescription qme_sd_vmstate_event = {
    .name = "qme-sockdev-event",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_UINT64(vtime, QmeSdEvent),
        VMSTATE_UINT16(line, QmeSdEvent),
        VMSTATE_UINT8(action, QmeSdEvent),
        VMSTATE_END_OF_LIST()
    },
};
