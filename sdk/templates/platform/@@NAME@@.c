/*
 * @@NAME@@: a bus-less (platform) device of -M virt, from qme-new-device.
 *
 * At realize it maps its 4 KiB register window at property `addr` and adds
 * a node to the guest's device tree (include/qme/platform.h); the
 * registers are those of @@NAME@@.regs.toml: an ID register and a
 * read/write scratch register.  The register-table glue does access
 * checking, guest-error logging and MMIO tracing; add hooks in the table
 * (read, pre_write, post_write) for behaviour.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/module.h"
#include "hw/qdev-core.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "qme/qemu-compat.h"
#include "qme/platform.h"
#include "qme/regtable-qemu.h"
#include "@@C@@-regtable.h"
#include "trace-@@C@@.h"

#define TYPE_@@UPPER@@ "@@NAME@@"
OBJECT_DECLARE_SIMPLE_TYPE(@@STATE@@, @@UPPER@@)

#define @@UPPER@@_COMPATIBLE "qemu-modules-extra,@@NAME@@"

struct @@STATE@@ {
    DeviceState parent_obj;

    QmeMmioRegs regs;
    uint64_t reg_values[@@UPPER@@_NUM_REGS];
    uint64_t addr;
};

static void @@C@@_realize(DeviceState *dev, Error **errp)
{
    @@STATE@@ *s = @@UPPER@@(dev);
    const QmePlatformDevice platform = {
        .compatible = @@UPPER@@_COMPATIBLE,
        .regions = { { &s->regs.mr, @@UPPER@@_WINDOW_SIZE, "addr", s->addr } },
    };

    if (qme_platform_check(dev, &platform, errp) < 0 ||
        qme_mmio_regs_init(&s->regs, OBJECT(s), TYPE_@@UPPER@@,
                           @@C@@_regs, @@UPPER@@_NUM_REGS, s->reg_values,
                           @@UPPER@@_WINDOW_SIZE, errp) < 0 ||
        qme_platform_attach(dev, &platform, NULL, errp) < 0) {
        return;
    }
}

static void @@C@@_reset(DeviceState *dev)
{
    @@STATE@@ *s = @@UPPER@@(dev);

    qme_mmio_regs_reset(&s->regs);
    trace_@@C@@_reset();
}

static const Property @@C@@_properties[] = {
    DEFINE_PROP_UINT64("addr", @@STATE@@, addr, @@UPPER@@_DEFAULT_ADDR),
};

static const VMStateDescription vmstate_@@C@@ = {
    .name = TYPE_@@UPPER@@,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_QME_REGS(reg_values, @@STATE@@),
        VMSTATE_END_OF_LIST()
    },
};

static void @@C@@_class_init(ObjectClass *klass, QmeClassData data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->desc = "@@NAME@@: platform device of -M virt with an ID and a "
               "scratch register";
    dc->realize = @@C@@_realize;
    device_class_set_legacy_reset(dc, @@C@@_reset);
    dc->vmsd = &vmstate_@@C@@;
    qme_platform_class_init(dc);
    device_class_set_props(dc, @@C@@_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);

    object_class_property_set_description(klass, "addr",
        "guest physical address of the 4 KiB register window, 4 KiB "
        "aligned (default @@ADDR@@; virt has room at "
        "0x0a004000-0x0c000000)");
}

static const TypeInfo @@C@@_info = {
    .name = TYPE_@@UPPER@@,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(@@STATE@@),
    .class_init = @@C@@_class_init,
};

static void @@C@@_register_types(void)
{
    type_register_static(&@@C@@_info);
}

type_init(@@C@@_register_types)
