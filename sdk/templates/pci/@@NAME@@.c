/*
 * @@NAME@@: a conventional PCI device, from qme-new-device.
 *
 * One 4 KiB memory BAR with the registers of @@NAME@@.regs.toml: an ID
 * register and a read/write scratch register.  The register-table glue
 * does access checking, guest-error logging and MMIO tracing; add hooks
 * in the table (read, pre_write, post_write) for behaviour.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_device.h"
#include "migration/vmstate.h"
#include "qemu/module.h"
#include "qme/qemu-compat.h"
#include "qme/qdev-props.h"
#include "qme/regtable-qemu.h"
#include "@@C@@-regtable.h"
#include "trace-@@C@@.h"

#define TYPE_@@UPPER@@ "@@NAME@@"
OBJECT_DECLARE_SIMPLE_TYPE(@@STATE@@, @@UPPER@@)

struct @@STATE@@ {
    PCIDevice parent_obj;

    QmeMmioRegs regs;
    uint64_t reg_values[@@UPPER@@_NUM_REGS];
};

static void @@C@@_realize(PCIDevice *pdev, Error **errp)
{
    @@STATE@@ *s = @@UPPER@@(pdev);

    if (qme_mmio_regs_init(&s->regs, OBJECT(s), TYPE_@@UPPER@@,
                           @@C@@_regs, @@UPPER@@_NUM_REGS,
                           s->reg_values, @@UPPER@@_BAR0_SIZE, errp) < 0) {
        return;
    }
    pci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->regs.mr);
}

static void @@C@@_reset(DeviceState *dev)
{
    @@STATE@@ *s = @@UPPER@@(dev);

    qme_mmio_regs_reset(&s->regs);
    trace_@@C@@_reset();
}

static const VMStateDescription vmstate_@@C@@ = {
    .name = TYPE_@@UPPER@@,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, @@STATE@@),
        VMSTATE_QME_REGS(reg_values, @@STATE@@),
        VMSTATE_END_OF_LIST()
    },
};

static void @@C@@_class_init(ObjectClass *klass, QmeClassData data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = @@C@@_realize;
    k->vendor_id = @@UPPER@@_VENDOR_ID;
    k->device_id = @@UPPER@@_DEVICE_ID;
    k->revision = @@UPPER@@_REVISION;
    k->class_id = @@UPPER@@_CLASS;
    dc->desc = "@@NAME@@: PCI device with an ID and a scratch register";
    device_class_set_legacy_reset(dc, @@C@@_reset);
    dc->vmsd = &vmstate_@@C@@;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    qme_describe_inherited_props(klass);
}

static const TypeInfo @@C@@_info = {
    .name = TYPE_@@UPPER@@,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(@@STATE@@),
    .class_init = @@C@@_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    },
};

static void @@C@@_register_types(void)
{
    type_register_static(&@@C@@_info);
}

type_init(@@C@@_register_types)
