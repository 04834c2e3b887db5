/*
 * sockdev-uart: the seed's UART (TXDATA, STATUS, CTRL) modelled inside
 * QEMU, from the register table and hooks that the external device server
 * (uart-server.c behind mmio-sockdev) runs: sockdev-uart.regs.toml and
 * uart-model.c.  Only the sink differs: characters go to a chardev.
 *
 * A bus-less device like mmio-sockdev: at realize it maps its 4 KiB
 * window at `addr` and adds a node to the guest's device tree, so
 * firmware written for mmio-sockdev + sockdev-uart-server finds the same
 * registers at the same place.  There is no bridge block after the window
 * (nothing here is remote) and no interrupt (the port has none).
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/module.h"
#include "chardev/char-fe.h"
#include "hw/qdev-core.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "migration/vmstate.h"
#include "qme/qemu-compat.h"
#include "qme/platform.h"
#include "qme/regtable-qemu.h"
#include "uart-model.h"
#include "trace-sockdev_uart.h"

#define TYPE_SOCKDEV_UART "sockdev-uart"
OBJECT_DECLARE_SIMPLE_TYPE(SockdevUartState, SOCKDEV_UART)

#define SOCKDEV_UART_COMPATIBLE "qemu-modules-extra,sockdev-uart"
/* mmio-sockdev's default window: the firmware hard-codes both. */
#define SOCKDEV_UART_DEFAULT_ADDR 0x0b000000
#define SOCKDEV_UART_WINDOW 0x1000

struct SockdevUartState {
    DeviceState parent_obj;

    QmeMmioRegs regs;
    uint64_t reg_values[SDUART_NUM_REGS];
    SockdevUartModel model;

    CharFrontend chr;
    uint64_t addr;
};

static const char *sockdev_uart_sink_name(SockdevUartState *s)
{
    Chardev *chr = qemu_chr_fe_get_driver(&s->chr);

    return chr ? chr->label : "nowhere (no chardev)";
}

/* The model's sink (uart-model.c decides when a character is sent). */
static void sockdev_uart_tx(SockdevUartModel *m, uint8_t ch)
{
    SockdevUartState *s = m->opaque;

    trace_sockdev_uart_tx(ch, sockdev_uart_sink_name(s));
    /* STATUS.TXREADY is always 1: the port never fills, so wait here. */
    qemu_chr_fe_write_all(&s->chr, &ch, 1);
}

/* Realize: memory map, device-tree node */

static void sockdev_uart_realize(DeviceState *dev, Error **errp)
{
    SockdevUartState *s = SOCKDEV_UART(dev);
    const QmePlatformDevice platform = {
        .compatible = SOCKDEV_UART_COMPATIBLE,
        .regions = { { &s->regs.mr, SOCKDEV_UART_WINDOW, "addr", s->addr } },
    };

    if (qme_platform_check(dev, &platform, errp) < 0 ||
        qme_mmio_regs_init(&s->regs, OBJECT(s), TYPE_SOCKDEV_UART,
                           sockdev_uart_regs, SDUART_NUM_REGS, s->reg_values,
                           SOCKDEV_UART_WINDOW, errp) < 0) {
        return;
    }
    s->model.tx = sockdev_uart_tx;
    s->model.opaque = s;
    sockdev_uart_model_attach(&s->regs.blk, &s->model);
    if (qme_platform_attach(dev, &platform, NULL, errp) < 0) {
        return;
    }
    trace_sockdev_uart_realize(s->addr, sockdev_uart_sink_name(s));
}

static void sockdev_uart_reset(DeviceState *dev)
{
    SockdevUartState *s = SOCKDEV_UART(dev);

    qme_mmio_regs_reset(&s->regs);
    trace_sockdev_uart_reset();
}

static const Property sockdev_uart_properties[] = {
    DEFINE_PROP_CHR("chardev", SockdevUartState, chr),
    DEFINE_PROP_UINT64("addr", SockdevUartState, addr,
                       SOCKDEV_UART_DEFAULT_ADDR),
};

/* The chardev's output is gone once sent: only the registers travel. */
static const VMStateDescription vmstate_sockdev_uart = {
    .name = TYPE_SOCKDEV_UART,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_QME_REGS(reg_values, SockdevUartState),
        VMSTATE_END_OF_LIST()
    },
};

static void sockdev_uart_class_init(ObjectClass *klass, QmeClassData data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->desc = "The seed's UART (sockdev-uart.regs.toml) in QEMU, output "
               "to a chardev: mmio-sockdev's reference server, in-process "
               "(qemu-modules-extra)";
    dc->realize = sockdev_uart_realize;
    device_class_set_legacy_reset(dc, sockdev_uart_reset);
    dc->vmsd = &vmstate_sockdev_uart;
    qme_platform_class_init(dc);
    device_class_set_props(dc, sockdev_uart_properties);
    set_bit(DEVICE_CATEGORY_INPUT, dc->categories);

    object_class_property_set_description(klass, "chardev",
        "chardev id that receives the characters written to TXDATA; unset "
        "(default): they are dropped, as by QEMU's serial devices");
    object_class_property_set_description(klass, "addr",
        "guest physical address of the 4 KiB register window, 4 KiB "
        "aligned (default 0x0b000000 = 184549376, as mmio-sockdev; virt has "
        "room at 0x0a004000-0x0c000000)");
}

static const TypeInfo sockdev_uart_info = {
    .name = TYPE_SOCKDEV_UART,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(SockdevUartState),
    .class_init = sockdev_uart_class_init,
};

static void sockdev_uart_register_types(void)
{
    type_register_static(&sockdev_uart_info);
}

type_init(sockdev_uart_register_types)
