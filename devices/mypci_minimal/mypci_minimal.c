/*
 * mypci_minimal: the smallest useful conventional PCI device.
 *
 * One 4 KiB memory BAR holding one 32-bit read/write register, with the
 * IDs of seed 002 (1af4:1234 rev 01, class 00ff, subsystem 1af4:1100).
 * The register map is mypci_minimal.regs.toml; the register-table glue
 * does access checking, guest-error logging and MMIO tracing
 * ("[mypci_minimal] MMIO READ: addr=... size=... -> value=...").
 *
 * Copyright (c) 2026 qemu-modules-extra developers
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
#include "mypci_minimal-regtable.h"
#include "trace-mypci_minimal.h"

#define TYPE_MYPCI_MINIMAL "mypci_minimal"
OBJECT_DECLARE_SIMPLE_TYPE(MyPciMinimalState, MYPCI_MINIMAL)

struct MyPciMinimalState {
    PCIDevice parent_obj;

    QmeMmioRegs regs;
    uint64_t reg_values[MYPCI_NUM_REGS];
};

static void mypci_minimal_realize(PCIDevice *pdev, Error **errp)
{
    MyPciMinimalState *s = MYPCI_MINIMAL(pdev);

    if (qme_mmio_regs_init(&s->regs, OBJECT(s), TYPE_MYPCI_MINIMAL,
                           mypci_minimal_regs, MYPCI_NUM_REGS,
                           s->reg_values, MYPCI_BAR0_SIZE, errp) < 0) {
        return;
    }
    pci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->regs.mr);
}

static void mypci_minimal_reset(DeviceState *dev)
{
    MyPciMinimalState *s = MYPCI_MINIMAL(dev);

    qme_mmio_regs_reset(&s->regs);
    trace_mypci_minimal_reset();
}

static const VMStateDescription vmstate_mypci_minimal = {
    .name = TYPE_MYPCI_MINIMAL,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, MyPciMinimalState),
        VMSTATE_QME_REGS(reg_values, MyPciMinimalState),
        VMSTATE_END_OF_LIST()
    },
};

static void mypci_minimal_class_init(ObjectClass *klass, QmeClassData data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = mypci_minimal_realize;
    k->vendor_id = MYPCI_VENDOR_ID;
    k->device_id = MYPCI_DEVICE_ID;
    k->revision = MYPCI_REVISION;
    k->class_id = MYPCI_CLASS;
    k->subsystem_vendor_id = MYPCI_SUBSYSTEM_VENDOR_ID;
    k->subsystem_id = MYPCI_SUBSYSTEM_ID;
    dc->desc = "Minimal PCI device: one 32-bit register in a 4 KiB BAR "
               "(qemu-modules-extra)";
    device_class_set_legacy_reset(dc, mypci_minimal_reset);
    dc->vmsd = &vmstate_mypci_minimal;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    qme_describe_inherited_props(klass);
}

static const TypeInfo mypci_minimal_info = {
    .name = TYPE_MYPCI_MINIMAL,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(MyPciMinimalState),
    .class_init = mypci_minimal_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    },
};

static void mypci_minimal_register_types(void)
{
    type_register_static(&mypci_minimal_info);
}

type_init(mypci_minimal_register_types)
