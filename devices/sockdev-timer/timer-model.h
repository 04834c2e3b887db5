/*
 * The timer model (sockdev-timer.regs.toml) as one register table and
 * one set of hooks, shared by the in-QEMU twin (sockdev-timer.c) and the
 * external device server (timer-server.c).  Plain C: no QEMU, no
 * sockets.  What "now" is, how an alarm is scheduled and where the
 * interrupt goes are the embedder's: QEMU's virtual clock and timers in
 * the twin, the request's virtual time and server-requested events
 * (qme_sd_server_event_at()) behind mmio-sockdev.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef SOCKDEV_TIMER_MODEL_H
#define SOCKDEV_TIMER_MODEL_H

#include <stdbool.h>
#include <stdint.h>
/* The table, sockdev_timer_regs[SDTIMER_NUM_REGS], sorted by offset. */
#include "sockdev_timer-regtable.h"

typedef struct SockdevTimerModel SockdevTimerModel;

struct SockdevTimerModel {
    /* The guest's virtual clock (ns) now. */
    uint64_t (*now)(SockdevTimerModel *m);
    /*
     * Call sockdev_timer_model_fire() at guest time @when, replacing any
     * earlier request; @raise: the line goes high then (the embedder may
     * raise it itself at that time, exactly).  @when 0: cancel.
     */
    void (*arm)(SockdevTimerModel *m, uint64_t when, bool raise);
    /* The interrupt line changes to @level. */
    void (*set_irq)(SockdevTimerModel *m, bool level);
    void *opaque;               /* the embedder's, untouched by the model */
    /*
     * The line as last set.  An embedder that raised the line itself at
     * the alarm (arm()'s @raise) sets it before calling fire(), so that
     * the model does not raise it a second time.
     */
    bool level;
};

/*
 * Make @blk (already bound to sockdev_timer_regs) run the model's hooks
 * on @m; call it after qme_regblock_init() or qme_mmio_regs_init().
 */
void sockdev_timer_model_attach(QmeRegBlock *blk, SockdevTimerModel *m);

/*
 * The alarm armed through m->arm came due: STATUS.FIRED, FIRES, the
 * line, and the next period (one-shot: CTRL.ENABLE clears).  Cannot
 * fail.
 */
void sockdev_timer_model_fire(QmeRegBlock *blk);

/*
 * After a reset or a state load of @blk: schedule the alarm and set the
 * line from the registers.  Cannot fail.
 */
void sockdev_timer_model_sync(QmeRegBlock *blk);

#endif /* SOCKDEV_TIMER_MODEL_H */
