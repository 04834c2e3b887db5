/*
 * minimal-pcie-nic: the PCIe "NIC" of seed 004, every stage in one type.
 *
 * stage=basic  1234:11e8, class 0x020000, no BARs
 * stage=mmio   1af4:10f1 rev 0, BAR0 4 KiB of registers
 * stage=msi    rev 1, BAR0 + BAR1 4 KiB, MSI at 0x40 (4 vectors, maskable,
 *              32-bit)
 * stage=msix   rev 1, MSI-X at 0xb0 (vectors=4), table at BAR1 + 0, PBA at
 *              BAR1 + bar1-size / 2 (0x800)  -- the default
 *
 * Writing N to the doorbell (BAR0 + 0) fires vector N; with neither MSI
 * nor MSI-X enabled, vector 0 is INTx.  A DMA engine copies between guest
 * memory and a device buffer (dma-size bytes) or guest memory to guest
 * memory, synchronously, with an optional completion interrupt.  On an
 * express bus below a root port the device is a PCIe endpoint.
 *
 * The BAR0 register map is minimal-pcie-nic.regs.toml.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/units.h"
#include "qemu/module.h"
#include "qapi/error.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_device.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "qme/qemu-compat.h"
#include "qme/pci-config.h"
#include "qme/qdev-props.h"
#include "qme/regtable-qemu.h"
#include "minimal_pcie_nic-regtable.h"
#include "trace-minimal_pcie_nic.h"

#define TYPE_MINIMAL_PCIE_NIC "minimal-pcie-nic"
OBJECT_DECLARE_SIMPLE_TYPE(MinimalPcieNicState, MINIMAL_PCIE_NIC)

typedef enum MinimalPcieNicStage {
    MPN_STAGE_BASIC,
    MPN_STAGE_MMIO,
    MPN_STAGE_MSI,
    MPN_STAGE_MSIX,
    MPN_STAGE__MAX,
} MinimalPcieNicStage;

/* Memory-to-memory copies go through this much host memory at a time. */
#define MPN_BOUNCE_SIZE (64 * KiB)

struct MinimalPcieNicState {
    PCIDevice parent_obj;

    QmeMmioRegs regs;
    uint64_t reg_values[MPN_NUM_REGS];
    MemoryRegion bar1;
    uint8_t *buf;
    uint8_t *bounce;
    int intx_level;         /* last level driven, for tracing only */

    /* properties */
    int stage;
    uint32_t msix_vectors;
    uint32_t msi_vectors;
    uint32_t bar1_size;
    uint32_t dma_size;
};

static bool minimal_pcie_nic_has_irq(MinimalPcieNicState *s)
{
    return s->stage >= MPN_STAGE_MSI;
}

static uint32_t minimal_pcie_nic_vectors_now(MinimalPcieNicState *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);

    if (!minimal_pcie_nic_has_irq(s)) {
        return 0;
    }
    if (msix_enabled(pdev)) {
        return pdev->msix_entries_nr;
    }
    if (msi_enabled(pdev)) {
        return msi_nr_vectors_allocated(pdev);
    }
    return 1;
}

static void minimal_pcie_nic_update_intx(MinimalPcieNicState *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    int level;

    if (!minimal_pcie_nic_has_irq(s)) {
        return;         /* no interrupt pin */
    }
    level = !msix_enabled(pdev) && !msi_enabled(pdev) &&
            qme_reg_get(&s->regs.blk, MPN_R_INT_STATUS) != 0;
    if (pci_irq_disabled(pdev)) {
        level = 0;
    }
    if (level != s->intx_level) {
        trace_minimal_pcie_nic_intx(level);
        s->intx_level = level;
    }
    pci_set_irq(pdev, level);
}

/*
 * Fire @vector for @cause (an INT_STATUS bit, used for INTx).  Returns
 * false, having logged a guest error, if the vector is not allocated.
 */
static bool minimal_pcie_nic_fire(MinimalPcieNicState *s, uint32_t vector,
                                  uint32_t cause)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint32_t n = minimal_pcie_nic_vectors_now(s);
    const char *mode = msix_enabled(pdev) ? "msix" :
                       msi_enabled(pdev) ? "msi" : "intx";

    if (vector >= n) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: vector %u not allocated (%u %s vectors)\n",
                      TYPE_MINIMAL_PCIE_NIC, vector, n, mode);
        return false;
    }
    trace_minimal_pcie_nic_doorbell(vector, mode);
    qme_reg_set(&s->regs.blk, MPN_R_IRQ_COUNT,
                (uint32_t)(qme_reg_get(&s->regs.blk, MPN_R_IRQ_COUNT) + 1));
    if (msix_enabled(pdev)) {
        /* The msix core sets the PBA bit of a masked vector. */
        msix_notify(pdev, vector);
    } else if (msi_enabled(pdev)) {
        msi_notify(pdev, vector);
    } else {
        qme_reg_set(&s->regs.blk, MPN_R_INT_STATUS,
                    qme_reg_get(&s->regs.blk, MPN_R_INT_STATUS) | cause);
        minimal_pcie_nic_update_intx(s);
    }
    return true;
}

void minimal_pcie_nic_doorbell_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                          uint64_t old_value,
                                          uint64_t new_value)
{
    MinimalPcieNicState *s = blk->opaque;

    /* Stages without interrupts keep the seed's scratch-register doorbell. */
    if (minimal_pcie_nic_has_irq(s)) {
        minimal_pcie_nic_fire(s, new_value, MPN_INT_STATUS_DOORBELL_MASK);
    }
}

void minimal_pcie_nic_int_status_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                            uint64_t old_value,
                                            uint64_t new_value)
{
    minimal_pcie_nic_update_intx(blk->opaque);
}

uint64_t minimal_pcie_nic_vectors_read(QmeRegBlock *blk, const QmeReg *reg,
                                       uint64_t value)
{
    return minimal_pcie_nic_vectors_now(blk->opaque);
}

uint64_t minimal_pcie_nic_dma_buf_size_read(QmeRegBlock *blk, const QmeReg *reg,
                                      uint64_t value)
{
    MinimalPcieNicState *s = blk->opaque;

    return s->dma_size;
}

/* Does [addr, addr + len) wrap around the 64-bit bus address space? */
static bool minimal_pcie_nic_wraps(uint64_t addr, uint32_t len)
{
    return addr + len - 1 < addr;
}

static uint32_t minimal_pcie_nic_mem_to_mem(MinimalPcieNicState *s,
                                            uint64_t src, uint64_t dst,
                                            uint32_t len)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint32_t done, chunk;

    for (done = 0; done < len; done += chunk) {
        chunk = MIN(len - done, MPN_BOUNCE_SIZE);
        if (pci_dma_read(pdev, src + done, s->bounce, chunk) != MEMTX_OK ||
            pci_dma_write(pdev, dst + done, s->bounce, chunk) != MEMTX_OK) {
            return MPN_DMA_STATUS_ERR_BUS_MASK;
        }
    }
    return 0;
}

/* Run one transfer; returns the DMA_STATUS bits it sets. */
static uint32_t minimal_pcie_nic_dma_run(MinimalPcieNicState *s, unsigned dir,
                                         uint64_t src, uint64_t dst,
                                         uint32_t len)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    MemTxResult r;

    if (!(pci_get_word(pdev->config + PCI_COMMAND) & PCI_COMMAND_MASTER)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: DMA with Bus Master Enable clear\n",
                      TYPE_MINIMAL_PCIE_NIC);
        return MPN_DMA_STATUS_ERR_MASTER_MASK;
    }
    if (len == 0 || len > s->dma_size || minimal_pcie_nic_wraps(src, len) ||
        minimal_pcie_nic_wraps(dst, len) ||
        (dir == MPN_DIR_TO_DEVICE && dst > s->dma_size - len) ||
        (dir == MPN_DIR_FROM_DEVICE && src > s->dma_size - len) ||
        dir > MPN_DIR_MEM_TO_MEM) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: DMA out of range: dir %u src 0x%" PRIx64
                      " dst 0x%" PRIx64 " len %u (buffer %u bytes)\n",
                      TYPE_MINIMAL_PCIE_NIC, dir, src, dst, len, s->dma_size);
        return MPN_DMA_STATUS_ERR_RANGE_MASK;
    }
    switch (dir) {
    case MPN_DIR_TO_DEVICE:
        r = pci_dma_read(pdev, src, s->buf + dst, len);
        break;
    case MPN_DIR_FROM_DEVICE:
        r = pci_dma_write(pdev, dst, s->buf + src, len);
        break;
    default:
        r = minimal_pcie_nic_mem_to_mem(s, src, dst,
                                        len) ? MEMTX_DECODE_ERROR : MEMTX_OK;
        break;
    }
    if (r != MEMTX_OK) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: DMA bus error: dir %u src 0x%" PRIx64
                      " dst 0x%" PRIx64 " len %u\n",
                      TYPE_MINIMAL_PCIE_NIC, dir, src, dst, len);
        return MPN_DMA_STATUS_ERR_BUS_MASK;
    }
    return MPN_DMA_STATUS_DONE_MASK;
}

void minimal_pcie_nic_dma_cmd_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                         uint64_t old_value, uint64_t new_value)
{
    MinimalPcieNicState *s = blk->opaque;
    unsigned dir = QME_FIELD_EX(new_value, MPN_DMA_CMD, DIR);
    uint32_t vector = QME_FIELD_EX(new_value, MPN_DMA_CMD, VECTOR);
    uint64_t src = qme_reg_get(blk, MPN_R_DMA_SRC);
    uint64_t dst = qme_reg_get(blk, MPN_R_DMA_DST);
    uint32_t len = qme_reg_get(blk, MPN_R_DMA_LEN);
    uint32_t status;

    if (!(new_value & MPN_DMA_CMD_START_MASK)) {
        return;
    }
    status = minimal_pcie_nic_dma_run(s, dir, src, dst, len);
    if ((new_value & MPN_DMA_CMD_IRQ_MASK) &&
        !minimal_pcie_nic_fire(s, vector, MPN_INT_STATUS_DMA_MASK)) {
        status |= MPN_DMA_STATUS_ERR_VECTOR_MASK;
    }
    qme_reg_set(blk, MPN_R_DMA_STATUS, status);
    trace_minimal_pcie_nic_dma(dir, src, dst, len, status);
}

static uint64_t minimal_pcie_nic_bar1_read(void *opaque, hwaddr addr,
                                           unsigned size)
{
    qemu_log_mask(LOG_GUEST_ERROR, "%s: read of unmapped BAR1 offset 0x%"
                  HWADDR_PRIx " (size %u): reads 0\n",
                  TYPE_MINIMAL_PCIE_NIC, addr, size);
    return 0;
}

static void minimal_pcie_nic_bar1_write(void *opaque, hwaddr addr, uint64_t val,
                                        unsigned size)
{
    qemu_log_mask(LOG_GUEST_ERROR, "%s: write of unmapped BAR1 offset 0x%"
                  HWADDR_PRIx " (size %u): ignored\n",
                  TYPE_MINIMAL_PCIE_NIC, addr, size);
}

/* BAR1 outside the MSI-X table and PBA. */
static const MemoryRegionOps minimal_pcie_nic_bar1_ops = {
    .read = minimal_pcie_nic_bar1_read,
    .write = minimal_pcie_nic_bar1_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
};

static void minimal_pcie_nic_config_write(PCIDevice *pdev, uint32_t addr,
                                          uint32_t val, int len)
{
    qme_pci_default_write_config(pdev, addr, val, len);
    /* Enabling MSI/MSI-X or setting Interrupt Disable drops INTx. */
    minimal_pcie_nic_update_intx(MINIMAL_PCIE_NIC(pdev));
}

static void minimal_pcie_nic_use_all_vectors(MinimalPcieNicState *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    unsigned i;

    if (msix_present(pdev)) {
        for (i = 0; i < pdev->msix_entries_nr; i++) {
            msix_vector_use(pdev, i);
        }
    }
}

static bool minimal_pcie_nic_check_props(MinimalPcieNicState *s, Error **errp)
{
    uint32_t table = s->msix_vectors * PCI_MSIX_ENTRY_SIZE;

    if (s->msix_vectors < 1 || s->msix_vectors > MPN_MAX_MSIX_VECTORS) {
        error_setg(errp, "%s: property 'vectors' must be 1 to %u, not %u",
                   TYPE_MINIMAL_PCIE_NIC, MPN_MAX_MSIX_VECTORS,
                   s->msix_vectors);
        return false;
    }
    if (s->msi_vectors < 1 || s->msi_vectors > MPN_MAX_MSI_VECTORS ||
        !is_power_of_2(s->msi_vectors)) {
        error_setg(errp, "%s: property 'msi-vectors' must be a power of two "
                   "from 1 to %u, not %u", TYPE_MINIMAL_PCIE_NIC,
                   MPN_MAX_MSI_VECTORS, s->msi_vectors);
        return false;
    }
    if (s->bar1_size < MPN_BAR1_SIZE || !is_power_of_2(s->bar1_size)) {
        error_setg(errp, "%s: property 'bar1-size' must be a power of two "
                   "of at least %u, not %u", TYPE_MINIMAL_PCIE_NIC,
                   MPN_BAR1_SIZE, s->bar1_size);
        return false;
    }
    /* The table fills the lower half of BAR1, the PBA starts half-way. */
    if (s->stage == MPN_STAGE_MSIX && table > s->bar1_size / 2) {
        error_setg(errp, "%s: property 'bar1-size' (%u) is too small for the "
                   "MSI-X table of %u vectors: needs at least %u",
                   TYPE_MINIMAL_PCIE_NIC, s->bar1_size, s->msix_vectors,
                   (unsigned)pow2ceil(table) * 2);
        return false;
    }
    if (s->dma_size <= 4 * KiB || s->dma_size > MPN_DMA_MAX_SIZE) {
        error_setg(errp, "%s: property 'dma-size' must be more than 4096 and "
                   "at most %u, not %u", TYPE_MINIMAL_PCIE_NIC,
                   MPN_DMA_MAX_SIZE, s->dma_size);
        return false;
    }
    return true;
}

static void minimal_pcie_nic_realize(PCIDevice *pdev, Error **errp)
{
    MinimalPcieNicState *s = MINIMAL_PCIE_NIC(pdev);
    uint8_t *c = pdev->config;

    if (!minimal_pcie_nic_check_props(s, errp)) {
        return;
    }
    if (s->stage == MPN_STAGE_BASIC) {
        pci_config_set_vendor_id(c, MPN_VENDOR_ID_BASIC);
        pci_config_set_device_id(c, MPN_DEVICE_ID_BASIC);
        pci_config_set_revision(c, MPN_REVISION_MMIO);
    } else if (s->stage == MPN_STAGE_MMIO) {
        pci_config_set_revision(c, MPN_REVISION_MMIO);
    }

    if (qme_pcie_hybrid_cap_init(pdev, MPN_EXP_CAP, errp) < 0) {
        return;
    }
    if (s->stage == MPN_STAGE_BASIC) {
        return;
    }

    if (qme_mmio_regs_init(&s->regs, OBJECT(s), TYPE_MINIMAL_PCIE_NIC,
                           minimal_pcie_nic_regs, MPN_NUM_REGS,
                           s->reg_values, MPN_BAR0_SIZE, errp) < 0) {
        return;
    }
    pci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->regs.mr);
    s->buf = g_malloc0(s->dma_size);
    s->bounce = g_malloc(MPN_BOUNCE_SIZE);
    if (s->stage == MPN_STAGE_MMIO) {
        return;
    }

    pci_config_set_interrupt_pin(c, 1);
    memory_region_init_io(&s->bar1, OBJECT(s), &minimal_pcie_nic_bar1_ops, s,
                          TYPE_MINIMAL_PCIE_NIC "-bar1", s->bar1_size);
    pci_register_bar(pdev, 1, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->bar1);
    if (s->stage == MPN_STAGE_MSI) {
        if (msi_init(pdev, MPN_MSI_CAP, s->msi_vectors, false, true,
                     errp) < 0) {
            return;
        }
        /*
         * The core marks the whole capability as constant for migration,
         * but a masked vector's pending bit is state: let it through.
         */
        pci_set_long(pdev->cmask + MPN_MSI_CAP + PCI_MSI_PENDING_32, 0);
    } else {
        if (msix_init(pdev, s->msix_vectors, &s->bar1, 1,
                      MPN_MSIX_TABLE_OFFSET, &s->bar1, 1, s->bar1_size / 2,
                      MPN_MSIX_CAP, errp) < 0) {
            return;
        }
        minimal_pcie_nic_use_all_vectors(s);
    }
}

static void minimal_pcie_nic_exit(PCIDevice *pdev)
{
    MinimalPcieNicState *s = MINIMAL_PCIE_NIC(pdev);

    if (msix_present(pdev)) {
        msix_uninit(pdev, &s->bar1, &s->bar1);
    }
    msi_uninit(pdev);
    qme_pcie_hybrid_cap_exit(pdev);
    g_free(s->buf);
    g_free(s->bounce);
}

static void minimal_pcie_nic_reset(DeviceState *dev)
{
    MinimalPcieNicState *s = MINIMAL_PCIE_NIC(dev);

    if (s->stage == MPN_STAGE_BASIC) {
        return;
    }
    qme_mmio_regs_reset(&s->regs);
    memset(s->buf, 0, s->dma_size);
    minimal_pcie_nic_use_all_vectors(s);
    minimal_pcie_nic_update_intx(s);
    trace_minimal_pcie_nic_reset();
}

static const QEnumLookup minimal_pcie_nic_stage_lookup = {
    .array = (const char *const[]) {
        [MPN_STAGE_BASIC] = "basic",
        [MPN_STAGE_MMIO] = "mmio",
        [MPN_STAGE_MSI] = "msi",
        [MPN_STAGE_MSIX] = "msix",
    },
    .size = MPN_STAGE__MAX,
};

static const PropertyInfo minimal_pcie_nic_prop_stage =
    QME_PROP_ENUM_INFO("MinimalPcieNicStage", "basic/mmio/msi/msix",
                       &minimal_pcie_nic_stage_lookup);

static const Property minimal_pcie_nic_properties[] = {
    DEFINE_PROP_SIGNED("stage", MinimalPcieNicState, stage, MPN_STAGE_MSIX,
                       minimal_pcie_nic_prop_stage, int),
    DEFINE_PROP_UINT32("vectors", MinimalPcieNicState, msix_vectors, 4),
    DEFINE_PROP_UINT32("msi-vectors", MinimalPcieNicState, msi_vectors, 4),
    DEFINE_PROP_UINT32("bar1-size", MinimalPcieNicState, bar1_size,
                       MPN_BAR1_SIZE),
    DEFINE_PROP_UINT32("dma-size", MinimalPcieNicState, dma_size, MPN_DMA_SIZE),
};

static bool minimal_pcie_nic_has_buf(void *opaque, int version_id)
{
    MinimalPcieNicState *s = opaque;

    return s->stage != MPN_STAGE_BASIC;
}

static const VMStateDescription vmstate_minimal_pcie_nic = {
    .name = TYPE_MINIMAL_PCIE_NIC,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, MinimalPcieNicState),
        VMSTATE_MSIX(parent_obj, MinimalPcieNicState),
        VMSTATE_QME_REGS(reg_values, MinimalPcieNicState),
        VMSTATE_VBUFFER_UINT32(buf, MinimalPcieNicState, 1,
                               minimal_pcie_nic_has_buf, dma_size),
        VMSTATE_END_OF_LIST()
    },
};

static void minimal_pcie_nic_class_init(ObjectClass *klass, QmeClassData data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = minimal_pcie_nic_realize;
    k->exit = minimal_pcie_nic_exit;
    k->config_write = minimal_pcie_nic_config_write;
    k->vendor_id = MPN_VENDOR_ID;
    k->device_id = MPN_DEVICE_ID;
    k->revision = MPN_REVISION;
    k->class_id = MPN_CLASS;
    k->subsystem_vendor_id = MPN_SUBSYSTEM_VENDOR_ID;
    k->subsystem_id = MPN_SUBSYSTEM_ID;
    dc->desc = "PCIe NIC of seed 004: stages basic/mmio/msi/msix, doorbell, "
               "DMA engine (qemu-modules-extra)";
    device_class_set_legacy_reset(dc, minimal_pcie_nic_reset);
    dc->vmsd = &vmstate_minimal_pcie_nic;
    device_class_set_props(dc, minimal_pcie_nic_properties);
    object_class_property_set_description(klass, "stage",
        "seed stage: basic (1234:11e8, no BAR), mmio (BAR0), msi (MSI at "
        "0x40), msix (MSI-X at 0xb0; default)");
    object_class_property_set_description(klass, "vectors",
        "MSI-X vectors, 1 to 2048 (default 4)");
    object_class_property_set_description(klass, "msi-vectors",
        "MSI vectors, a power of two from 1 to 32 (default 4)");
    object_class_property_set_description(klass, "bar1-size",
        "BAR1 size in bytes, a power of two >= 4096: MSI-X table in the "
        "lower half, PBA at the middle (default 4096)");
    object_class_property_set_description(klass, "dma-size",
        "DMA device buffer in bytes, 4097 to 64 MiB (default 1 MiB)");
    set_bit(DEVICE_CATEGORY_NETWORK, dc->categories);
    qme_describe_inherited_props(klass);
}

static const TypeInfo minimal_pcie_nic_info = {
    .name = TYPE_MINIMAL_PCIE_NIC,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(MinimalPcieNicState),
    .instance_init = qme_pcie_hybrid_instance_init,
    .class_init = minimal_pcie_nic_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_PCIE_DEVICE },
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    },
};

static void minimal_pcie_nic_register_types(void)
{
    type_register_static(&minimal_pcie_nic_info);
}

type_init(minimal_pcie_nic_register_types)
