/*
 * The timer model's behaviour: see timer-model.h.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "timer-model.h"

void sockdev_timer_model_attach(QmeRegBlock *blk, SockdevTimerModel *m)
{
    blk->opaque = m;
}

static bool irq_level(QmeRegBlock *blk)
{
    return (qme_reg_get(blk, SDTIMER_R_STATUS) & SDTIMER_STATUS_FIRED_MASK) &&
           (qme_reg_get(blk, SDTIMER_R_CTRL) & SDTIMER_CTRL_IRQ_EN_MASK);
}

static void update_irq(QmeRegBlock *blk)
{
    SockdevTimerModel *m = blk->opaque;
    bool level = irq_level(blk);

    if (level != m->level) {
        m->level = level;
        m->set_irq(m, level);
    }
}

/* ALARM 0 is a time like any other: "now" may be 0 at power-on. */
static void rearm(QmeRegBlock *blk)
{
    SockdevTimerModel *m = blk->opaque;
    uint64_t ctrl = qme_reg_get(blk, SDTIMER_R_CTRL);

    if (ctrl & SDTIMER_CTRL_ENABLE_MASK) {
        /* when 0 means "cancel" to arm(): 1 ns later is as good. */
        uint64_t when = qme_reg_get(blk, SDTIMER_R_ALARM);

        m->arm(m, when ? when : 1, ctrl & SDTIMER_CTRL_IRQ_EN_MASK);
    } else {
        m->arm(m, 0, false);
    }
}

void sockdev_timer_model_fire(QmeRegBlock *blk)
{
    uint64_t ctrl = qme_reg_get(blk, SDTIMER_R_CTRL);
    uint64_t period = qme_reg_get(blk, SDTIMER_R_PERIOD);

    if (!(ctrl & SDTIMER_CTRL_ENABLE_MASK)) {
        return;     /* disabled meanwhile: the embedder's timer was late */
    }
    qme_reg_set(blk, SDTIMER_R_STATUS, SDTIMER_STATUS_FIRED_MASK);
    qme_reg_set(blk, SDTIMER_R_FIRES,
                (uint32_t)(qme_reg_get(blk, SDTIMER_R_FIRES) + 1));
    if (period) {
        qme_reg_set(blk, SDTIMER_R_ALARM,
                    qme_reg_get(blk, SDTIMER_R_ALARM) + period);
    } else {
        /* One-shot: done until the guest enables it again. */
        qme_reg_set(blk, SDTIMER_R_CTRL, ctrl & ~SDTIMER_CTRL_ENABLE_MASK);
    }
    rearm(blk);
    update_irq(blk);
}

void sockdev_timer_model_sync(QmeRegBlock *blk)
{
    SockdevTimerModel *m = blk->opaque;

    /* Whatever the embedder's line was, it follows the registers now. */
    m->level = irq_level(blk);
    m->set_irq(m, m->level);
    rearm(blk);
}

uint64_t sockdev_timer_count_read(QmeRegBlock *blk, const QmeReg *reg,
                                  uint64_t value)
{
    SockdevTimerModel *m = blk->opaque;

    (void)reg;
    (void)value;
    return m->now(m);
}

void sockdev_timer_ctrl_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                   uint64_t old_value, uint64_t new_value)
{
    (void)reg;
    if ((old_value ^ new_value) & SDTIMER_CTRL_ENABLE_MASK ||
        ((old_value ^ new_value) & SDTIMER_CTRL_IRQ_EN_MASK &&
         new_value & SDTIMER_CTRL_ENABLE_MASK)) {
        rearm(blk);
    }
    update_irq(blk);
}

void sockdev_timer_status_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                     uint64_t old_value, uint64_t new_value)
{
    (void)reg;
    (void)old_value;
    (void)new_value;
    update_irq(blk);
}

void sockdev_timer_alarm_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                    uint64_t old_value, uint64_t new_value)
{
    (void)reg;
    (void)old_value;
    (void)new_value;
    rearm(blk);
}
