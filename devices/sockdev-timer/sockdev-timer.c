/*
 * sockdev-timer: the timer model of timer-server.c (sockdev-timer.regs.toml,
 * timer-model.c) inside QEMU: COUNT is QEMU's virtual clock and the alarm
 * a QEMU timer on it.  The same guest code drives either, so a test can
 * hold the external model (mmio-sockdev + sockdev-timer-server, virtual
 * time over the wire) against this one.
 *
 * A bus-less device like mmio-sockdev, at the same default address and
 * interrupt: firmware written for one finds the other's registers.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "hw/irq.h"
#include "hw/qdev-core.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "qme/qemu-compat.h"
#include "qme/platform.h"
#include "qme/regtable-qemu.h"
#include "timer-model.h"
#include "trace-sockdev_timer.h"

#define TYPE_SOCKDEV_TIMER "sockdev-timer"
OBJECT_DECLARE_SIMPLE_TYPE(SockdevTimerState, SOCKDEV_TIMER)

#define SOCKDEV_TIMER_WINDOW 0x1000

struct SockdevTimerState {
    DeviceState parent_obj;

    QmeMmioRegs regs;
    uint64_t reg_values[SDTIMER_NUM_REGS];
    SockdevTimerModel model;
    QEMUTimer *alarm;
    qemu_irq gic_input;

    /* Properties */
    uint64_t addr;
    uint32_t irq;           /* GIC SPI */
};

/* The model's world: QEMU's virtual clock, a timer, a GIC input. */

static uint64_t sockdev_timer_now(SockdevTimerModel *m)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

static void sockdev_timer_arm(SockdevTimerModel *m, uint64_t when, bool raise)
{
    SockdevTimerState *s = m->opaque;

    trace_sockdev_timer_arm(when, raise);
    if (when) {
        timer_mod_ns(s->alarm, MIN(when, INT64_MAX));
    } else {
        timer_del(s->alarm);
    }
}

static void sockdev_timer_set_irq(SockdevTimerModel *m, bool level)
{
    SockdevTimerState *s = m->opaque;

    trace_sockdev_timer_irq(level);
    qemu_set_irq(s->gic_input, level);
}

static void sockdev_timer_expired(void *opaque)
{
    SockdevTimerState *s = opaque;

    trace_sockdev_timer_fire(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    sockdev_timer_model_fire(&s->regs.blk);
}

/* Realize: memory map, interrupt, device-tree node */

static QmePlatformDevice sockdev_timer_platform(SockdevTimerState *s)
{
    return (QmePlatformDevice) {
        .compatible = "qemu-modules-extra,sockdev-timer",
        .regions = {
            { &s->regs.mr, SOCKDEV_TIMER_WINDOW, "addr", s->addr },
        },
        .spi_prop = "irq",
        .spi = s->irq,
    };
}

static void sockdev_timer_realize(DeviceState *dev, Error **errp)
{
    SockdevTimerState *s = SOCKDEV_TIMER(dev);
    QmePlatformDevice platform = sockdev_timer_platform(s);

    if (qme_platform_check(dev, &platform, errp) < 0 ||
        qme_mmio_regs_init(&s->regs, OBJECT(s), TYPE_SOCKDEV_TIMER,
                           sockdev_timer_regs, SDTIMER_NUM_REGS,
                           s->reg_values, SOCKDEV_TIMER_WINDOW, errp) < 0) {
        return;
    }
    s->model = (SockdevTimerModel) {
        .now = sockdev_timer_now,
        .arm = sockdev_timer_arm,
        .set_irq = sockdev_timer_set_irq,
        .opaque = s,
    };
    sockdev_timer_model_attach(&s->regs.blk, &s->model);
    s->alarm = timer_new_ns(QEMU_CLOCK_VIRTUAL, sockdev_timer_expired, s);
    if (qme_platform_attach(dev, &platform, &s->gic_input, errp) < 0) {
        timer_free(s->alarm);
        s->alarm = NULL;
        return;
    }
    trace_sockdev_timer_realize(s->addr, s->irq);
}

static void sockdev_timer_reset(DeviceState *dev)
{
    SockdevTimerState *s = SOCKDEV_TIMER(dev);

    trace_sockdev_timer_reset();
    qme_mmio_regs_reset(&s->regs);
    sockdev_timer_model_sync(&s->regs.blk);
}

static const Property sockdev_timer_properties[] = {
    DEFINE_PROP_UINT64("addr", SockdevTimerState, addr, 0x0b000000),
    DEFINE_PROP_UINT32("irq", SockdevTimerState, irq, 177),
};

/* The alarm's schedule is in the registers: rebuilt after a load. */
static int sockdev_timer_post_load(void *opaque, int version_id)
{
    SockdevTimerState *s = opaque;

    sockdev_timer_model_sync(&s->regs.blk);
    return 0;
}

static const VMStateDescription vmstate_sockdev_timer = {
    .name = TYPE_SOCKDEV_TIMER,
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = sockdev_timer_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_QME_REGS(reg_values, SockdevTimerState),
        VMSTATE_END_OF_LIST()
    },
};

static void sockdev_timer_class_init(ObjectClass *klass, QmeClassData data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->desc = "Timer in guest time (sockdev-timer.regs.toml) in QEMU: "
               "mmio-sockdev's timer server, in-process (qemu-modules-extra)";
    dc->realize = sockdev_timer_realize;
    device_class_set_legacy_reset(dc, sockdev_timer_reset);
    dc->vmsd = &vmstate_sockdev_timer;
    qme_platform_class_init(dc);
    device_class_set_props(dc, sockdev_timer_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);

    object_class_property_set_description(klass, "addr",
        "guest physical address of the 4 KiB register window (mmio-sockdev's "
        "default: firmware finds either there)");
    object_class_property_set_description(klass, "irq",
        "GIC SPI number of the alarm interrupt (176-255 are free on virt)");
}

static const TypeInfo sockdev_timer_info = {
    .name = TYPE_SOCKDEV_TIMER,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(SockdevTimerState),
    .class_init = sockdev_timer_class_init,
};

static void sockdev_timer_register_types(void)
{
    type_register_static(&sockdev_timer_info);
}

type_init(sockdev_timer_register_types)
