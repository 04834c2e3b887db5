/*
 * qmp-testdev: a register block with one register of every access kind,
 * mapped at `addr` on -M virt, for the tests of the QMP register commands
 * (test-qmp.py).  Test-only: never installed.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
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
#include "qmp_testdev-regtable.h"

#define TYPE_QMP_TESTDEV "qmp-testdev"
OBJECT_DECLARE_SIMPLE_TYPE(QmpTestdevState, QMP_TESTDEV)

#define QMP_TESTDEV_SIZE 0x1000

struct QmpTestdevState {
    DeviceState parent_obj;

    QmeMmioRegs regs;
    uint64_t reg_values[QMP_TESTDEV_NUM_REGS];
    uint64_t addr;
};

void qmp_testdev_cmd_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                uint64_t old_value, uint64_t new_value)
{
    uint64_t count;

    if (!QME_FIELD_EX(new_value, QMP_TESTDEV_CMD, GO)) {
        return;
    }
    count = qme_reg_get(blk, QMP_TESTDEV_R_COUNT) + 1;
    qme_reg_set(blk, QMP_TESTDEV_R_COUNT, count);
    qme_reg_set(blk, QMP_TESTDEV_R_LATCH, count);
    qme_reg_set(blk, QMP_TESTDEV_R_STATUS,
                qme_reg_get(blk, QMP_TESTDEV_R_STATUS) |
                QMP_TESTDEV_STATUS_EVENT_MASK | QMP_TESTDEV_STATUS_ERR_MASK);
}

static void qmp_testdev_realize(DeviceState *dev, Error **errp)
{
    QmpTestdevState *s = QMP_TESTDEV(dev);
    const QmePlatformDevice platform = {
        .compatible = "qemu-modules-extra,qmp-testdev",
        .regions = { { &s->regs.mr, QMP_TESTDEV_SIZE, "addr", s->addr } },
    };

    if (qme_platform_check(dev, &platform, errp) < 0 ||
        qme_mmio_regs_init(&s->regs, OBJECT(s), TYPE_QMP_TESTDEV,
                           qmp_testdev_regs, QMP_TESTDEV_NUM_REGS,
                           s->reg_values, QMP_TESTDEV_SIZE, errp) < 0) {
        return;
    }
    qme_platform_attach(dev, &platform, NULL, errp);
}

static void qmp_testdev_reset(DeviceState *dev)
{
    qme_mmio_regs_reset(&QMP_TESTDEV(dev)->regs);
}

static const Property qmp_testdev_properties[] = {
    DEFINE_PROP_UINT64("addr", QmpTestdevState, addr, 0x0a008000),
};

static const VMStateDescription vmstate_qmp_testdev = {
    .name = TYPE_QMP_TESTDEV,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_QME_REGS(reg_values, QmpTestdevState),
        VMSTATE_END_OF_LIST()
    },
};

static void qmp_testdev_class_init(ObjectClass *klass, QmeClassData data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->desc = "Every access kind of a register table (qemu-modules-extra "
               "test device)";
    dc->realize = qmp_testdev_realize;
    device_class_set_legacy_reset(dc, qmp_testdev_reset);
    dc->vmsd = &vmstate_qmp_testdev;
    qme_platform_class_init(dc);
    device_class_set_props(dc, qmp_testdev_properties);
    object_class_property_set_description(klass, "addr",
        "guest physical address of the 4 KiB register block");
}

static const TypeInfo qmp_testdev_info = {
    .name = TYPE_QMP_TESTDEV,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(QmpTestdevState),
    .class_init = qmp_testdev_class_init,
};

static void qmp_testdev_register_types(void)
{
    type_register_static(&qmp_testdev_info);
}

type_init(qmp_testdev_register_types)
