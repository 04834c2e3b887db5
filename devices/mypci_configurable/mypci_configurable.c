/*
 * mypci_configurable: seed 002's configurable PCI device, grown by the
 * seed's "More Advanced" list.
 *
 * Same IDs as mypci_minimal (1af4:1234 rev 01, class 00ff) with subsystem
 * 1af4:1101 so one driver can tell the two apart.  BAR0 is the register
 * block of mypci_configurable.regs.toml (scratch register, interrupt
 * status/enable, doorbell, DMA engine); BAR2 is plain RAM the guest maps
 * directly and the DMA engine copies to and from.
 *
 * Behind a PCIe port it is an Express v2 endpoint, elsewhere a
 * conventional function.  Config space carries a vendor-specific
 * capability whose VALUE dword is a window onto BAR0's VALUE register and
 * whose CTRL byte can reset the register block; writes to config space no
 * capability claims are logged and dropped.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/range.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_device.h"
#include "hw/pci/msi.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "qme/qemu-compat.h"
#include "qme/pci-config.h"
#include "qme/qdev-props.h"
#include "qme/regtable-qemu.h"
#include "mypci_configurable-regtable.h"
#include "trace-mypci_configurable.h"

#define TYPE_MYPCI_CONFIGURABLE "mypci_configurable"
OBJECT_DECLARE_SIMPLE_TYPE(MyPciConfigurableState, MYPCI_CONFIGURABLE)

#define MYCFG_IRQ_ALL   (MYCFG_IRQ_STATUS_DOORBELL_MASK | \
                         MYCFG_IRQ_STATUS_DMA_DONE_MASK | \
                         MYCFG_IRQ_STATUS_DMA_ERROR_MASK)

struct MyPciConfigurableState {
    PCIDevice parent_obj;

    QmeMmioRegs regs;
    uint64_t reg_values[MYCFG_NUM_REGS];
    MemoryRegion bar2;

    /* Properties */
    uint32_t reg;               /* VALUE after reset */
    uint64_t bar2_size;
    OnOffAuto msi;
};

static uint32_t mypci_configurable_get(MyPciConfigurableState *s, unsigned idx)
{
    return qme_reg_get(&s->regs.blk, idx);
}

/*
 * INTx follows STATUS & ENABLE as a level.  MSI is an edge: @events are
 * the causes that just became pending (or were just unmasked) and each
 * enabled one sends the message once; INTx stays low meanwhile, as the
 * PCI spec requires of a function with MSI enabled.
 */
static void mypci_configurable_update_irq(MyPciConfigurableState *s,
                                          uint32_t events)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint32_t enable = mypci_configurable_get(s, MYCFG_R_IRQ_ENABLE);
    uint32_t pending = mypci_configurable_get(s, MYCFG_R_IRQ_STATUS) & enable;

    if (msi_enabled(pdev)) {
        pci_set_irq(pdev, 0);
        if (events & enable) {
            trace_mypci_configurable_msi(events & enable);
            msi_notify(pdev, 0);
        }
    } else {
        pci_set_irq(pdev, pending != 0);
    }
    trace_mypci_configurable_irq(mypci_configurable_get(s, MYCFG_R_IRQ_STATUS),
                                 enable, msi_enabled(pdev));
}

static void mypci_configurable_raise(MyPciConfigurableState *s, uint32_t cause)
{
    qme_reg_set(&s->regs.blk, MYCFG_R_IRQ_STATUS,
                mypci_configurable_get(s, MYCFG_R_IRQ_STATUS) | cause);
    mypci_configurable_update_irq(s, cause);
}

/* Register hooks: blk->opaque is the device. */

void mypci_configurable_irq_status_post_write(QmeRegBlock *blk,
                                              const QmeReg *reg,
                                              uint64_t old_value,
                                              uint64_t new_value)
{
    mypci_configurable_update_irq(blk->opaque, 0);
}

void mypci_configurable_irq_enable_post_write(QmeRegBlock *blk,
                                              const QmeReg *reg,
                                              uint64_t old_value,
                                              uint64_t new_value)
{
    MyPciConfigurableState *s = blk->opaque;
    uint32_t pending = mypci_configurable_get(s, MYCFG_R_IRQ_STATUS);

    /* Unmasking a pending cause must not lose its message. */
    mypci_configurable_update_irq(s, new_value & ~old_value & pending);
}

void mypci_configurable_doorbell_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                            uint64_t old_value,
                                            uint64_t new_value)
{
    trace_mypci_configurable_doorbell(new_value);
    mypci_configurable_raise(blk->opaque, MYCFG_IRQ_STATUS_DOORBELL_MASK);
}

static bool mypci_configurable_dma_refuse(MyPciConfigurableState *s,
                                          const char *why, uint64_t bar_off,
                                          uint64_t bus, uint32_t len)
{
    qemu_log_mask(LOG_GUEST_ERROR,
                  "%s: DMA refused: %s (BAR2 offset 0x%" PRIx64
                  ", bus address 0x%" PRIx64 ", length 0x%" PRIx32
                  ", BAR2 size 0x%" PRIx64 ")\n", TYPE_MYPCI_CONFIGURABLE,
                  why, bar_off, bus, len, s->bar2_size);
    return false;
}

/*
 * Everything the guest controls is checked before a byte moves, so no
 * value of DMA_SRC/DST/LEN reaches past BAR2's host buffer.  Returns the
 * DMA_STATUS value.
 */
static uint32_t mypci_configurable_dma_run(MyPciConfigurableState *s,
                                           bool to_guest)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint64_t src = qme_reg_get(&s->regs.blk, MYCFG_R_DMA_SRC);
    uint64_t dst = qme_reg_get(&s->regs.blk, MYCFG_R_DMA_DST);
    uint32_t len = mypci_configurable_get(s, MYCFG_R_DMA_LEN);
    uint64_t bar_off = to_guest ? src : dst;
    uint64_t bus = to_guest ? dst : src;
    uint8_t *ram = memory_region_get_ram_ptr(&s->bar2);
    uint8_t buf[MYCFG_DMA_CHUNK];
    uint32_t done;

    trace_mypci_configurable_dma_start(to_guest, bar_off, bus, len);
    if (len == 0 || len > s->bar2_size) {
        mypci_configurable_dma_refuse(s, "bad length", bar_off, bus, len);
        return MYCFG_DMA_STATUS_ERR_RANGE_MASK;
    }
    if (bar_off > s->bar2_size - len) {
        mypci_configurable_dma_refuse(s, "beyond the end of BAR2", bar_off, bus,
                                      len);
        return MYCFG_DMA_STATUS_ERR_RANGE_MASK;
    }
    if (bus + len - 1 < bus) {
        mypci_configurable_dma_refuse(s, "bus range wraps", bar_off, bus, len);
        return MYCFG_DMA_STATUS_ERR_RANGE_MASK;
    }
    if (!(pci_get_word(pdev->config + PCI_COMMAND) & PCI_COMMAND_MASTER)) {
        mypci_configurable_dma_refuse(s, "Bus Master Enable is off", bar_off,
                                      bus, len);
        return MYCFG_DMA_STATUS_ERR_BME_MASK;
    }

    /*
     * Through a bounce buffer: the bus address may decode to BAR2 itself,
     * and address_space_rw would then memcpy between overlapping ranges.
     */
    for (done = 0; done < len; done += sizeof(buf)) {
        uint32_t n = MIN(len - done, sizeof(buf));
        MemTxResult res;

        if (to_guest) {
            memcpy(buf, ram + bar_off + done, n);
            res = pci_dma_write(pdev, bus + done, buf, n);
        } else {
            res = pci_dma_read(pdev, bus + done, buf, n);
            if (res == MEMTX_OK) {
                memcpy(ram + bar_off + done, buf, n);
                /* Written behind the memory API: tell migration. */
                memory_region_set_dirty(&s->bar2, bar_off + done, n);
            }
        }
        if (res != MEMTX_OK) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "%s: DMA %s bus address 0x%" PRIx64
                          " failed (MemTxResult 0x%x) after 0x%" PRIx32
                          " bytes\n", TYPE_MYPCI_CONFIGURABLE,
                          to_guest ? "write to" : "read from", bus + done,
                          res, done);
            trace_mypci_configurable_dma_end(done,
                                             MYCFG_DMA_STATUS_ERR_BUS_MASK);
            return MYCFG_DMA_STATUS_ERR_BUS_MASK;
        }
    }
    trace_mypci_configurable_dma_end(len, MYCFG_DMA_STATUS_DONE_MASK);
    return MYCFG_DMA_STATUS_DONE_MASK;
}

void mypci_configurable_dma_cmd_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                           uint64_t old_value,
                                           uint64_t new_value)
{
    MyPciConfigurableState *s = blk->opaque;
    bool to_guest = QME_FIELD_EX(new_value, MYCFG_DMA_CMD, DIR);
    uint32_t status;

    if (!(new_value & MYCFG_DMA_CMD_START_MASK)) {
        return;
    }
    qme_reg_set(blk, MYCFG_R_DMA_STATUS, 0);
    status = mypci_configurable_dma_run(s, to_guest);
    qme_reg_set(blk, MYCFG_R_DMA_STATUS, status);
    mypci_configurable_raise(s, status == MYCFG_DMA_STATUS_DONE_MASK ?
                             MYCFG_IRQ_STATUS_DMA_DONE_MASK :
                             MYCFG_IRQ_STATUS_DMA_ERROR_MASK);
}

/* Config space */

static void mypci_configurable_regs_reset(MyPciConfigurableState *s)
{
    qme_mmio_regs_reset(&s->regs);
    qme_reg_set(&s->regs.blk, MYCFG_R_VALUE, s->reg);
    mypci_configurable_update_irq(s, 0);
}

static uint32_t mypci_configurable_config_read(PCIDevice *pdev, uint32_t addr,
                                               int len)
{
    MyPciConfigurableState *s = MYPCI_CONFIGURABLE(pdev);

    if (ranges_overlap(addr, len, MYCFG_VCAP_OFFSET + MYCFG_VCAP_OFF_VALUE,
                       4)) {
        pci_set_long(pdev->config + MYCFG_VCAP_OFFSET + MYCFG_VCAP_OFF_VALUE,
                     mypci_configurable_get(s, MYCFG_R_VALUE));
    }
    return pci_default_read_config(pdev, addr, len);
}

/*
 * Config space past the standard header that no capability claims is
 * reserved: reads return 0 and writes are dropped (wmask is 0 there) and
 * reported.  Read-only fields inside capabilities are kept read-only by
 * wmask alone, silently, as on real hardware.
 */
static void mypci_configurable_config_write(PCIDevice *pdev, uint32_t addr,
                                            uint32_t val, int len)
{
    MyPciConfigurableState *s = MYPCI_CONFIGURABLE(pdev);
    uint32_t vcap_value = MYCFG_VCAP_OFFSET + MYCFG_VCAP_OFF_VALUE;
    uint32_t vcap_ctrl = MYCFG_VCAP_OFFSET + MYCFG_VCAP_OFF_CTRL;
    int i;

    for (i = 0; i < len; i++) {
        if (addr + i >= PCI_CONFIG_HEADER_SIZE && !pdev->used[addr + i]) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "%s: config write of %d byte(s) at 0x%x"
                          " (value 0x%x) touches reserved config space:"
                          " reserved bytes ignored\n",
                          TYPE_MYPCI_CONFIGURABLE, len, addr, val);
            trace_mypci_configurable_config_reserved(addr, len, val);
            break;
        }
    }

    qme_pci_default_write_config(pdev, addr, val, len);

    if (ranges_overlap(addr, len, vcap_value, 4)) {
        qme_reg_set(&s->regs.blk, MYCFG_R_VALUE,
                    pci_get_long(pdev->config + vcap_value));
    }
    if (range_covers_byte(addr, len, vcap_ctrl) &&
        (pdev->config[vcap_ctrl] & MYCFG_VCAP_CTRL_RESET_REGS)) {
        pdev->config[vcap_ctrl] = 0;
        trace_mypci_configurable_vcap_reset_regs();
        mypci_configurable_regs_reset(s);
    }
    /* The guest may just have switched between INTx and MSI. */
    if (ranges_overlap(addr, len, MYCFG_MSI_CAP_OFFSET, PCI_MSI_FLAGS + 2)) {
        mypci_configurable_update_irq(s, 0);
    }
}

static bool mypci_configurable_vcap_init(MyPciConfigurableState *s,
                                         bool express, Error **errp)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint8_t *cap = pdev->config + MYCFG_VCAP_OFFSET;
    uint32_t features = MYCFG_VCAP_FEAT_DMA |
                        (ctz64(s->bar2_size) <<
                         MYCFG_VCAP_FEAT_BAR2_LOG2_SHIFT);

    if (pci_add_capability(pdev, PCI_CAP_ID_VNDR, MYCFG_VCAP_OFFSET,
                           MYCFG_VCAP_LEN, errp) < 0) {
        return false;
    }
    if (msi_present(pdev)) {
        features |= MYCFG_VCAP_FEAT_MSI;
    }
    if (express) {
        features |= MYCFG_VCAP_FEAT_PCIE;
    }
    /* pci_add_capability left the whole capability read-only. */
    cap[PCI_CAP_FLAGS] = MYCFG_VCAP_LEN;
    cap[MYCFG_VCAP_OFF_VERSION] = MYCFG_VCAP_LAYOUT_VERSION;
    pci_set_long(cap + MYCFG_VCAP_OFF_FEATURES, features);
    pci_set_long(pdev->wmask + MYCFG_VCAP_OFFSET + MYCFG_VCAP_OFF_VALUE,
                 0xffffffff);
    pdev->wmask[MYCFG_VCAP_OFFSET + MYCFG_VCAP_OFF_CTRL] =
        MYCFG_VCAP_CTRL_RESET_REGS;
    return true;
}

static void mypci_configurable_realize(PCIDevice *pdev, Error **errp)
{
    MyPciConfigurableState *s = MYPCI_CONFIGURABLE(pdev);
    Error *err = NULL;
    uint32_t i;

    if (!is_power_of_2(s->bar2_size) || s->bar2_size < MYCFG_BAR2_SIZE_MIN ||
        s->bar2_size > MYCFG_BAR2_SIZE_MAX) {
        error_setg(errp, "%s: property 'bar2-size' (0x%" PRIx64 ") must be a "
                   "power of two from 4 KiB to 1 GiB", TYPE_MYPCI_CONFIGURABLE,
                   s->bar2_size);
        return;
    }

    pci_config_set_interrupt_pin(pdev->config, 1);

    if (qme_mmio_regs_init(&s->regs, OBJECT(s), TYPE_MYPCI_CONFIGURABLE,
                           mypci_configurable_regs, MYCFG_NUM_REGS,
                           s->reg_values, MYCFG_BAR0_SIZE, errp) < 0) {
        return;
    }
    qme_reg_set(&s->regs.blk, MYCFG_R_VALUE, s->reg);
    pci_register_bar(pdev, MYCFG_REG_BAR, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &s->regs.mr);

    memory_region_init_ram(&s->bar2, OBJECT(s), "mypci_configurable.bar2",
                           s->bar2_size, &err);
    if (err) {
        error_propagate(errp, err);
        return;
    }
    pci_register_bar(pdev, MYCFG_RAM_BAR, PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64 |
                     PCI_BASE_ADDRESS_MEM_PREFETCH, &s->bar2);

    if (s->msi != ON_OFF_AUTO_OFF &&
        msi_init(pdev, MYCFG_MSI_CAP_OFFSET, 1, true, false, &err) < 0) {
        /* msi=auto on a machine without an MSI controller: INTx only. */
        if (s->msi == ON_OFF_AUTO_ON || msi_nonbroken) {
            error_propagate_prepend(errp, err, "%s: property 'msi': ",
                                    TYPE_MYPCI_CONFIGURABLE);
            return;
        }
        error_free(err);
        err = NULL;
    }

    if (qme_pcie_hybrid_cap_init(pdev, MYCFG_PCIE_CAP_OFFSET, errp) < 0 ||
        !mypci_configurable_vcap_init(s, pci_is_express(pdev), errp)) {
        return;
    }
    /*
     * QEMU leaves device-specific config space writable by default: make
     * every byte no capability claims reserved, i.e. read-only 0.
     */
    for (i = PCI_CONFIG_HEADER_SIZE; i < pci_config_size(pdev); i++) {
        if (!pdev->used[i]) {
            pdev->wmask[i] = 0;
        }
    }
}

static void mypci_configurable_exit(PCIDevice *pdev)
{
    qme_pcie_hybrid_cap_exit(pdev);
    msi_uninit(pdev);
}

static void mypci_configurable_reset(DeviceState *dev)
{
    MyPciConfigurableState *s = MYPCI_CONFIGURABLE(dev);
    PCIDevice *pdev = PCI_DEVICE(dev);

    pdev->config[MYCFG_VCAP_OFFSET + MYCFG_VCAP_OFF_CTRL] = 0;
    mypci_configurable_regs_reset(s);
    trace_mypci_configurable_reset(s->reg);
}

/*
 * "value": the live VALUE register.  qdev properties such as "reg" are
 * frozen once the device is realized, so the register gets a plain QOM
 * property that qom-get/qom-set can use while the guest runs.
 */
static void mypci_configurable_get_value(Object *obj, Visitor *v,
                                         const char *name, void *opaque,
                                         Error **errp)
{
    MyPciConfigurableState *s = MYPCI_CONFIGURABLE(obj);
    uint32_t value = DEVICE(obj)->realized ?
                     mypci_configurable_get(s, MYCFG_R_VALUE) : s->reg;

    visit_type_uint32(v, name, &value, errp);
}

static void mypci_configurable_set_value(Object *obj, Visitor *v,
                                         const char *name, void *opaque,
                                         Error **errp)
{
    MyPciConfigurableState *s = MYPCI_CONFIGURABLE(obj);
    uint32_t value;

    if (!visit_type_uint32(v, name, &value, errp)) {
        return;
    }
    if (!DEVICE(obj)->realized) {
        error_setg(errp, "%s: property 'value' is settable only on a running "
                   "device; use reg= for the initial value",
                   TYPE_MYPCI_CONFIGURABLE);
        return;
    }
    trace_mypci_configurable_qom_set_value(value);
    qme_reg_set(&s->regs.blk, MYCFG_R_VALUE, value);
}

static const Property mypci_configurable_properties[] = {
    DEFINE_PROP_UINT32("reg", MyPciConfigurableState, reg, 0),
    DEFINE_PROP_SIZE("bar2-size", MyPciConfigurableState, bar2_size,
                     MYCFG_BAR2_SIZE_DEFAULT),
    DEFINE_PROP_ON_OFF_AUTO("msi", MyPciConfigurableState, msi,
                            ON_OFF_AUTO_AUTO),
};

static const VMStateDescription vmstate_mypci_configurable = {
    .name = TYPE_MYPCI_CONFIGURABLE,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        /* Config space (MSI, vendor capability) and the INTx level. */
        VMSTATE_PCI_DEVICE(parent_obj, MyPciConfigurableState),
        VMSTATE_QME_REGS(reg_values, MyPciConfigurableState),
        /* BAR2 travels with guest RAM: memory_region_init_ram registers it. */
        VMSTATE_END_OF_LIST()
    },
};

static void mypci_configurable_class_init(ObjectClass *klass, QmeClassData data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = mypci_configurable_realize;
    k->exit = mypci_configurable_exit;
    k->config_read = mypci_configurable_config_read;
    k->config_write = mypci_configurable_config_write;
    k->vendor_id = MYCFG_VENDOR_ID;
    k->device_id = MYCFG_DEVICE_ID;
    k->revision = MYCFG_REVISION;
    k->class_id = MYCFG_CLASS;
    k->subsystem_vendor_id = MYCFG_SUBSYSTEM_VENDOR_ID;
    k->subsystem_id = MYCFG_SUBSYSTEM_ID;
    dc->desc = "Configurable PCI/PCIe device: register, interrupts, "
               "RAM BAR, DMA (qemu-modules-extra)";
    device_class_set_legacy_reset(dc, mypci_configurable_reset);
    dc->vmsd = &vmstate_mypci_configurable;
    device_class_set_props(dc, mypci_configurable_properties);
    object_class_property_set_description(klass, "reg",
        "Value of the VALUE register (BAR0 0x00) after reset; default 0");
    object_class_property_set_description(klass, "bar2-size",
        "Size of the RAM in BAR2 (64-bit, prefetchable): a power of two "
        "from 4K to 1G; default 64K");
    object_class_property_set_description(klass, "msi",
        "on: MSI capability (error if the machine has no MSI); "
        "off: INTx only; auto (default): MSI if the machine supports it");
    object_class_property_add(klass, "value", "uint32",
                              mypci_configurable_get_value,
                              mypci_configurable_set_value, NULL, NULL);
    object_class_property_set_description(klass, "value",
        "Live VALUE register for qom-get/qom-set while the guest runs "
        "(not a -device option: use reg)");
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    qme_describe_inherited_props(klass);
}

static const TypeInfo mypci_configurable_info = {
    .name = TYPE_MYPCI_CONFIGURABLE,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(MyPciConfigurableState),
    .instance_init = qme_pcie_hybrid_instance_init,
    .class_init = mypci_configurable_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_PCIE_DEVICE },
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    },
};

static void mypci_configurable_register_types(void)
{
    type_register_static(&mypci_configurable_info);
}

type_init(mypci_configurable_register_types)
