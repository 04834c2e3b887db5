/*
 * stopwatch: a para-virtual stopwatch for the aarch64 "virt" machine.
 *
 * Three resources, found by the guest in the device tree:
 *  - a trapping register block (stopwatch.regs.toml): start/stop/reset,
 *    state, the exact elapsed time, an alarm and its interrupt;
 *  - a pass-through page of RAM that QEMU keeps up to date with the
 *    elapsed time, so reading the time costs the guest no exit;
 *  - a level interrupt on a GIC SPI, raised when the alarm is reached.
 *
 * It is a bus-less device: `-device stopwatch` on virt maps its regions
 * into system memory, wires itself to the GIC and adds its node to the
 * machine's device tree at realize, which runs before virt loads the DTB
 * into the guest (at machine-init-done).  A SysBusDevice would be refused
 * by virt's platform bus.
 *
 * Time is QEMU_CLOCK_VIRTUAL, so a stopped VM stops the stopwatch.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/timer.h"
#include "qemu/module.h"
#include "qemu/atomic.h"
#include "qemu/bswap.h"
#include "hw/irq.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "qme/qemu-compat.h"
#include "qme/platform.h"
#include "qme/regtable-qemu.h"
#include "stopwatch-regtable.h"
#include "trace-stopwatch.h"

#define TYPE_STOPWATCH "stopwatch"
OBJECT_DECLARE_SIMPLE_TYPE(StopwatchState, STOPWATCH)

#define STOPWATCH_COMPATIBLE "qme,stopwatch"
/* Below this the update timer would eat a host core for nothing. */
#define STOPWATCH_MIN_PERIOD_NS 10000
#define SHM_ADDR_AUTO UINT64_MAX

struct StopwatchState {
    DeviceState parent_obj;

    QmeMmioRegs regs;
    uint64_t reg_values[STOPWATCH_NUM_REGS];
    MemoryRegion shm;
    uint8_t *shm_ptr;
    qemu_irq irq;
    QEMUTimer *update_timer;    /* refreshes the page while running */
    QEMUTimer *alarm_timer;     /* fires when elapsed reaches ALARM */

    bool running;
    int64_t base_ns;            /* virtual time of elapsed 0, if running */
    uint64_t elapsed_ns;        /* elapsed time, if stopped; migrated */
    uint32_t seq;               /* generation of the pass-through page */

    uint64_t addr;
    uint64_t shm_addr;
    uint32_t spi;
    uint64_t period_ns;
};

static int64_t stopwatch_now(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

static uint64_t stopwatch_elapsed(StopwatchState *s)
{
    return s->running ? stopwatch_now() - s->base_ns : s->elapsed_ns;
}

/*
 * vCPUs read the page concurrently and without a lock.  The elapsed time
 * alone is one aligned 64-bit store, whole for any aligned 64-bit load;
 * readers of several fields use the generation: odd while an update is in
 * progress, changed if they raced one.
 */
static void stopwatch_publish(StopwatchState *s)
{
    uint64_t elapsed = stopwatch_elapsed(s);

    qatomic_set((uint32_t *)(s->shm_ptr + STOPWATCH_SHM_SEQ),
                cpu_to_le32(++s->seq));
    smp_wmb();      /* odd generation visible before any field changes */
    stl_le_p(s->shm_ptr + STOPWATCH_SHM_FLAGS, s->running);
    qatomic_set((uint64_t *)(s->shm_ptr + STOPWATCH_SHM_ELAPSED),
                cpu_to_le64(elapsed));
    stq_le_p(s->shm_ptr + STOPWATCH_SHM_PERIOD, s->period_ns);
    smp_wmb();      /* fields visible before the even generation */
    qatomic_set((uint32_t *)(s->shm_ptr + STOPWATCH_SHM_SEQ),
                cpu_to_le32(++s->seq));
    trace_stopwatch_publish(elapsed, s->seq);
}

static void stopwatch_update_irq(StopwatchState *s)
{
    bool level = qme_reg_get(&s->regs.blk, STOPWATCH_R_INT_STATUS) &
                 qme_reg_get(&s->regs.blk, STOPWATCH_R_INT_ENABLE);

    trace_stopwatch_irq(level);
    qemu_set_irq(s->irq, level);
}

/* Arm both timers for the current state; called after every change. */
static void stopwatch_rearm(StopwatchState *s)
{
    uint64_t alarm = qme_reg_get(&s->regs.blk, STOPWATCH_R_ALARM);

    if (!s->running) {
        timer_del(s->update_timer);
        timer_del(s->alarm_timer);
        return;
    }
    timer_mod(s->update_timer, stopwatch_now() + s->period_ns);
    if (alarm && alarm > stopwatch_elapsed(s)) {
        /* An alarm past the end of QEMU's clock never fires. */
        timer_mod(s->alarm_timer, alarm > INT64_MAX - s->base_ns ?
                  INT64_MAX : s->base_ns + alarm);
    } else {
        timer_del(s->alarm_timer);
    }
}

static void stopwatch_update_tick(void *opaque)
{
    StopwatchState *s = opaque;

    stopwatch_publish(s);
    timer_mod(s->update_timer, stopwatch_now() + s->period_ns);
}

static void stopwatch_alarm_tick(void *opaque)
{
    StopwatchState *s = opaque;

    trace_stopwatch_alarm(stopwatch_elapsed(s));
    qme_reg_set(&s->regs.blk, STOPWATCH_R_INT_STATUS,
                qme_reg_get(&s->regs.blk, STOPWATCH_R_INT_STATUS) |
                STOPWATCH_INT_STATUS_ALARM_MASK);
    stopwatch_publish(s);
    stopwatch_update_irq(s);
}

static void stopwatch_set_state(StopwatchState *s, bool running,
                                uint64_t elapsed)
{
    s->running = running;
    s->elapsed_ns = elapsed;
    s->base_ns = stopwatch_now() - elapsed;
    qme_reg_set(&s->regs.blk, STOPWATCH_R_STATUS,
                running ? STOPWATCH_STATUS_RUNNING_MASK : 0);
    stopwatch_publish(s);
    stopwatch_rearm(s);
}

/* Register hooks (declared by stopwatch-regtable.h) */

void stopwatch_ctrl_post_write(QmeRegBlock *blk, const QmeReg *reg,
                               uint64_t old_value, uint64_t cmd)
{
    StopwatchState *s = blk->opaque;
    bool running = s->running;
    uint64_t elapsed = stopwatch_elapsed(s);

    if (cmd & STOPWATCH_CTRL_RESET_MASK) {
        elapsed = 0;
    }
    if (cmd & STOPWATCH_CTRL_START_MASK) {
        running = true;
    }
    if (cmd & STOPWATCH_CTRL_STOP_MASK) {
        running = false;
    }
    trace_stopwatch_ctrl(cmd, running, elapsed);
    stopwatch_set_state(s, running, elapsed);
}

uint64_t stopwatch_elapsed_read(QmeRegBlock *blk, const QmeReg *reg,
                                uint64_t value)
{
    return stopwatch_elapsed(blk->opaque);
}

void stopwatch_alarm_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                uint64_t old_value, uint64_t new_value)
{
    stopwatch_rearm(blk->opaque);
}

void stopwatch_int_enable_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                     uint64_t old_value, uint64_t new_value)
{
    stopwatch_update_irq(blk->opaque);
}

void stopwatch_int_status_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                     uint64_t old_value, uint64_t new_value)
{
    stopwatch_update_irq(blk->opaque);
}

/* Realize: memory map, GIC input, device-tree node */

static QmePlatformDevice stopwatch_platform(StopwatchState *s)
{
    return (QmePlatformDevice) {
        .compatible = STOPWATCH_COMPATIBLE,
        .regions = {
            { &s->regs.mr, STOPWATCH_REGS_SIZE, "addr", s->addr, "regs" },
            { &s->shm, STOPWATCH_SHM_SIZE, "shm-addr", s->shm_addr, "shm" },
        },
        .spi_prop = "spi",
        .spi = s->spi,
    };
}

static void stopwatch_realize(DeviceState *dev, Error **errp)
{
    StopwatchState *s = STOPWATCH(dev);
    QmePlatformDevice platform;
    Error *local_err = NULL;

    if (s->shm_addr == SHM_ADDR_AUTO) {
        s->shm_addr = s->addr + STOPWATCH_SHM_OFFSET;
    }
    if (s->period_ns < STOPWATCH_MIN_PERIOD_NS) {
        error_setg(errp, "stopwatch: property 'period-ns' is %" PRIu64
                   ", the minimum is %d", s->period_ns,
                   STOPWATCH_MIN_PERIOD_NS);
        return;
    }
    platform = stopwatch_platform(s);
    if (qme_platform_check(dev, &platform, errp) < 0 ||
        qme_mmio_regs_init(&s->regs, OBJECT(s), TYPE_STOPWATCH,
                           stopwatch_regs, STOPWATCH_NUM_REGS,
                           s->reg_values, STOPWATCH_REGS_SIZE, errp) < 0) {
        return;
    }
    /* Derived from the device state on load: no RAM migration needed. */
    memory_region_init_ram_nomigrate(&s->shm, OBJECT(s), "stopwatch.shm",
                                     STOPWATCH_SHM_SIZE, &local_err);
    if (local_err) {
        error_propagate(errp, local_err);
        return;
    }
    s->shm_ptr = memory_region_get_ram_ptr(&s->shm);
    memset(s->shm_ptr, 0, STOPWATCH_SHM_SIZE);

    s->update_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, stopwatch_update_tick,
                                   s);
    s->alarm_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, stopwatch_alarm_tick, s);
    if (qme_platform_attach(dev, &platform, &s->irq, errp) < 0) {
        return;
    }
    trace_stopwatch_realize(s->addr, s->shm_addr, s->spi, s->period_ns);
}

static void stopwatch_reset(DeviceState *dev)
{
    StopwatchState *s = STOPWATCH(dev);

    qme_mmio_regs_reset(&s->regs);
    qme_reg_set(&s->regs.blk, STOPWATCH_R_PERIOD, s->period_ns);
    s->seq = 0;
    stopwatch_set_state(s, false, 0);
    stopwatch_update_irq(s);
    trace_stopwatch_reset();
}

static const Property stopwatch_properties[] = {
    DEFINE_PROP_UINT64("addr", StopwatchState, addr, STOPWATCH_DEFAULT_BASE),
    DEFINE_PROP_UINT64("shm-addr", StopwatchState, shm_addr, SHM_ADDR_AUTO),
    DEFINE_PROP_UINT32("spi", StopwatchState, spi, STOPWATCH_DEFAULT_SPI),
    DEFINE_PROP_UINT64("period-ns", StopwatchState, period_ns,
                       STOPWATCH_DEFAULT_PERIOD_NS),
};

static int stopwatch_pre_save(void *opaque)
{
    StopwatchState *s = opaque;

    s->elapsed_ns = stopwatch_elapsed(s);
    return 0;
}

/* The virtual clock restarts elsewhere: rebase on the saved elapsed time. */
static int stopwatch_post_load(void *opaque, int version_id)
{
    StopwatchState *s = opaque;

    stopwatch_set_state(s, s->running, s->elapsed_ns);
    stopwatch_update_irq(s);
    return 0;
}

static const VMStateDescription vmstate_stopwatch = {
    .name = TYPE_STOPWATCH,
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = stopwatch_pre_save,
    .post_load = stopwatch_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_QME_REGS(reg_values, StopwatchState),
        VMSTATE_BOOL(running, StopwatchState),
        VMSTATE_UINT64(elapsed_ns, StopwatchState),
        VMSTATE_UINT32(seq, StopwatchState),
        VMSTATE_TIMER_PTR(update_timer, StopwatchState),
        VMSTATE_TIMER_PTR(alarm_timer, StopwatchState),
        VMSTATE_END_OF_LIST()
    },
};

static void stopwatch_class_init(ObjectClass *klass, QmeClassData data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->realize = stopwatch_realize;
    device_class_set_legacy_reset(dc, stopwatch_reset);
    dc->vmsd = &vmstate_stopwatch;
    dc->desc = "Para-virtual stopwatch for -M virt: registers, a "
               "pass-through time page and an alarm SPI (qemu-modules-extra)";
    qme_platform_class_init(dc);
    device_class_set_props(dc, stopwatch_properties);
    object_class_property_set_description(klass, "addr",
        "Guest physical address of the 4 KiB register block "
        "(0x0a004000 = 167788544 is free room on virt)");
    object_class_property_set_description(klass, "shm-addr",
        "Guest physical address of the 4 KiB pass-through time page "
        "(default, shown as 2^64-1: addr + 0x1000)");
    object_class_property_set_description(klass, "spi",
        "GIC SPI number of the alarm interrupt (176-255 are free on virt)");
    object_class_property_set_description(klass, "period-ns",
        "Update period of the pass-through page in ns, its resolution "
        "(minimum 10000)");
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo stopwatch_info = {
    .name = TYPE_STOPWATCH,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(StopwatchState),
    .class_init = stopwatch_class_init,
};

static void stopwatch_register_types(void)
{
    type_register_static(&stopwatch_info);
}

type_init(stopwatch_register_types)
