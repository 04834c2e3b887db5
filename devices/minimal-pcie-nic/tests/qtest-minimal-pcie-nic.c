/*
 * qtest of minimal-pcie-nic in the distro QEMU: every seed stage's config
 * space, the doorbell through MSI-X, MSI (4 vectors) and INTx, masking
 * and the PBA, the DMA engine in all directions and every out-of-range
 * case, reset, migration and bad property values.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "qme-qtest.h"
#include "minimal_pcie_nic-regs.h"

#define SLOT        5
#define DEV_ARGS    "-device minimal-pcie-nic,addr=05.0"
#define MSG_BASE    (qme_qtest_ram_base() + 0x1000)   /* message landing zone */
#define RAM_A       (qme_qtest_ram_base() + 0x100000)
#define RAM_B       (qme_qtest_ram_base() + 0x200000)
#define RAM_C       (qme_qtest_ram_base() + 0x300000)
#define UNASSIGNED  0x70000000ULL      /* above 128 MiB of RAM: nothing */
#define POISON      0xdeadbeefU

#define CAP_ID_MSI  0x05
#define CAP_ID_EXP  0x10
#define CAP_ID_MSIX 0x11
#define PCI_COMMAND_HI          0x05    /* high byte of the command register */
#define PCI_COMMAND_INTX_OFF    0x400

static void setup_args(QmePciFixture *f, const char *extra)
{
    qme_pci_fixture_start(f, MPN_VENDOR_ID, MPN_DEVICE_ID, DEV_ARGS "%s",
                          extra ? extra : "");
    g_assert_nonnull(f->dev);
    if (f->dev) {
        g_assert_true(qme_pci_assign_bars(f->dev));
    }
}

static void setup(QmePciFixture *f, gconstpointer data)
{
    setup_args(f, data);
}

static uint32_t reg_read(QmePciFixture *f, unsigned off)
{
    return qme_pci_bar_readl(f->dev, 0, off);
}

static void reg_write(QmePciFixture *f, unsigned off, uint32_t val)
{
    qme_pci_bar_writel(f->dev, 0, off, val);
}

/* Program MSI-X entry @v to write @data at MSG_BASE + 16 * v, unmasked. */
static void msix_entry(QmePciFixture *f, unsigned v, uint32_t data, bool masked)
{
    qme_pci_bar_writel(f->dev, 1, v * 16 + 0, (uint32_t)(MSG_BASE + 16 * v));
    qme_pci_bar_writel(f->dev, 1, v * 16 + 4, (MSG_BASE + 16 * v) >> 32);
    qme_pci_bar_writel(f->dev, 1, v * 16 + 8, data);
    qme_pci_bar_writel(f->dev, 1, v * 16 + 12, masked);
}

static void msix_setup(QmePciFixture *f, unsigned nvec)
{
    unsigned v;

    g_assert_true(qme_pci_msix_enable(f->dev, 0, MSG_BASE, 0x100));
    for (v = 0; v < nvec; v++) {
        msix_entry(f, v, 0x100 + v, false);
        qme_qtest_writel(f->qt, MSG_BASE + 16 * v, POISON);
    }
}

static uint32_t msg(QmePciFixture *f, unsigned v)
{
    return qme_qtest_readl(f->qt, MSG_BASE + 16 * v);
}

static void check_common_ids(QmePciDev *d, uint16_t vid, uint16_t did,
                             uint8_t rev)
{
    g_assert_cmphex(qme_pci_config_readw(d, 0x00), ==, vid);
    g_assert_cmphex(qme_pci_config_readw(d, 0x02), ==, did);
    g_assert_cmphex(qme_pci_config_readb(d, 0x08), ==, rev);
    g_assert_cmphex(qme_pci_config_readl(d, 0x08) >> 8, ==, 0x020000);
    g_assert_cmphex(qme_pci_config_readw(d, 0x2c), ==, 0x1af4);
    g_assert_cmphex(qme_pci_config_readw(d, 0x2e), ==, 0x1100);
}

static void test_stage_basic(void)
{
    QmeQTest *qt = qme_qtest_start(DEV_ARGS ",stage=basic");
    QmePciDev *d = qt ? qme_pci_find(qt, 0x1234, 0x11e8, 0) : NULL;
    int i;

    g_assert_nonnull(d);
    if (d) {
        check_common_ids(d, 0x1234, 0x11e8, 0);
        for (i = 0; i < 6; i++) {
            g_assert_false(qme_pci_bar_probe(d, i));
        }
        g_assert_cmphex(qme_pci_config_readw(d, 0x06) & 0x10, ==, 0);
        g_assert_cmphex(qme_pci_config_readb(d, 0x3d), ==, 0);
    }
    g_free(d);
    qme_qtest_quit(qt);
}

static void test_stage_mmio(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;

    if (!d) {
        return;
    }
    check_common_ids(d, 0x1af4, 0x10f1, 0);
    g_assert_true(d->bar[0].present);
    g_assert_cmpuint(d->bar[0].size, ==, 4096);
    g_assert_false(d->bar[0].is64 || d->bar[0].prefetch || d->bar[0].io);
    g_assert_false(qme_pci_bar_probe(d, 1));
    g_assert_cmphex(qme_pci_config_readw(d, 0x06) & 0x10, ==, 0);
    /* The seed's devmem session: the doorbell reads back what was written */
    g_assert_cmphex(reg_read(f, MPN_REG_DOORBELL), ==, 0);
    reg_write(f, MPN_REG_DOORBELL, 0xdeafbeaf);
    g_assert_cmphex(reg_read(f, MPN_REG_DOORBELL), ==, 0xdeafbeaf);
    g_assert_cmphex(reg_read(f, MPN_REG_IRQ_COUNT), ==, 0);
    g_assert_cmphex(reg_read(f, MPN_REG_VECTORS), ==, 0);
}

static void test_stage_msi_layout(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    uint16_t ctrl;

    if (!d) {
        return;
    }
    check_common_ids(d, 0x1af4, 0x10f1, 1);
    g_assert_cmpuint(d->bar[0].size, ==, 4096);
    g_assert_cmpuint(d->bar[1].size, ==, 4096);
    g_assert_false(d->bar[1].is64 || d->bar[1].prefetch);
    g_assert_cmphex(qme_pci_config_readb(d, 0x34), ==, MPN_MSI_CAP);
    g_assert_cmphex(qme_pci_find_cap(d, CAP_ID_MSI), ==, 0x40);
    g_assert_cmphex(qme_pci_find_cap(d, CAP_ID_MSIX), ==, 0);
    ctrl = qme_pci_config_readw(d, 0x42);
    g_assert_cmphex((ctrl >> 1) & 7, ==, 2);    /* 4 vectors capable */
    g_assert_cmphex(ctrl & 0x100, ==, 0x100);   /* per-vector masking */
    g_assert_cmphex(ctrl & 0x80, ==, 0);        /* 32-bit */
    g_assert_cmphex(qme_pci_config_readb(d, 0x3d), ==, 1);
    /* BAR1 holds nothing in this stage: reads 0, writes are dropped */
    qme_pci_bar_writel(d, 1, 0x10, 0x1234);
    g_assert_cmphex(qme_pci_bar_readl(d, 1, 0x10), ==, 0);
}

static void test_msix_layout(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    unsigned n = data ? 2048 : 4;
    uint32_t pba = data ? 0x8000 : 0x800;

    if (!d) {
        return;
    }
    check_common_ids(d, 0x1af4, 0x10f1, 1);
    g_assert_cmpuint(d->bar[0].size, ==, 4096);
    g_assert_cmpuint(d->bar[1].size, ==, pba * 2);
    g_assert_cmphex(qme_pci_config_readw(d, 0x06) & 0x10, ==, 0x10);
    g_assert_cmphex(qme_pci_config_readb(d, 0x34), ==, MPN_MSIX_CAP);
    g_assert_cmphex(qme_pci_find_cap(d, CAP_ID_MSIX), ==, 0xb0);
    g_assert_cmphex(qme_pci_find_cap(d, CAP_ID_MSI), ==, 0);
    g_assert_cmphex(qme_pci_find_cap(d, CAP_ID_EXP), ==, 0);
    g_assert_cmphex(qme_pci_config_readw(d, 0xb2) & 0x7ff, ==, n - 1);
    g_assert_cmphex(qme_pci_config_readl(d, 0xb4), ==, 0x00000001);
    g_assert_cmphex(qme_pci_config_readl(d, 0xb8), ==, pba | 1);
    g_assert_cmphex(qme_pci_config_readb(d, 0x3d), ==, 1);
    /* all vectors start masked */
    g_assert_cmphex(qme_pci_bar_readl(d, 1, (n - 1) * 16 + 12), ==, 1);
    g_assert_cmphex(reg_read(f, MPN_REG_ID), ==, MPN_ID_VALUE);
    g_assert_cmphex(reg_read(f, MPN_REG_DMA_BUF_SIZE), ==, MPN_DMA_SIZE);
}

/* Where the Express capability is in a device's list, 0 if not there. */
static uint8_t find_exp_cap(QmeQTest *qt, int bus, uint8_t devfn)
{
    uint8_t pos = qme_pci_cfg_read(qt, bus, devfn, 0x34, 1);

    while (pos && qme_pci_cfg_read(qt, bus, devfn, pos, 1) != CAP_ID_EXP) {
        pos = qme_pci_cfg_read(qt, bus, devfn, pos + 1, 1);
    }
    return pos;
}

/* Below a pcie-root-port the device is a PCIe endpoint. */
static void test_express(void)
{
    QmeQTest *qt = qme_qtest_start("-device pcie-root-port,id=rp,chassis=1,"
                                   "addr=03.0 -device minimal-pcie-nic,"
                                   "bus=rp");
    uint8_t rp = QME_PCI_DEVFN(3, 0);
    uint8_t pos;

    g_assert_nonnull(qt);
    if (!qt) {
        return;
    }
    /* primary 0, secondary 1, subordinate 1: config cycles reach bus 1 */
    qme_pci_cfg_write(qt, 0, rp, 0x18, 4, 0x010100);
    g_assert_cmphex(qme_pci_cfg_read(qt, 1, 0, 0, 4), ==, 0x10f11af4);
    pos = find_exp_cap(qt, 1, 0);
    g_assert_cmphex(pos, ==, MPN_EXP_CAP);
    /* Device/Port Type 0: PCI Express Endpoint */
    g_assert_cmphex((qme_pci_cfg_read(qt, 1, 0, pos + 2, 2) >> 4) & 0xf, ==,
                    0);
    /* extended config space exists (4 KiB) */
    g_assert_cmphex(qme_pci_cfg_read(qt, 1, 0, 0x100, 4), !=, 0xffffffff);
    qme_qtest_quit(qt);
}

/*
 * On the root bus and below a conventional PCI bridge: conventional, no
 * Express capability and 256 bytes of config space.
 */
static void test_conventional(gconstpointer data)
{
    bool bridge = GPOINTER_TO_INT(data);
    QmeQTest *qt = qme_qtest_start("%s", bridge ?
        "-device pci-bridge,id=br,chassis_nr=1,addr=03.0 "
        "-device minimal-pcie-nic,bus=br,addr=01.0" : DEV_ARGS);
    int bus = bridge ? 1 : 0;
    uint8_t devfn = bridge ? QME_PCI_DEVFN(1, 0) : QME_PCI_DEVFN(5, 0);

    g_assert_nonnull(qt);
    if (!qt) {
        return;
    }
    if (bridge) {
        g_assert_cmphex(qme_pci_cfg_read(qt, 0, QME_PCI_DEVFN(3, 0), 0, 4),
                        ==, 0x00011b36);
        qme_pci_cfg_write(qt, 0, QME_PCI_DEVFN(3, 0), 0x18, 4, 0x010100);
    }
    g_assert_cmphex(qme_pci_cfg_read(qt, bus, devfn, 0, 4), ==, 0x10f11af4);
    g_assert_cmphex(find_exp_cap(qt, bus, devfn), ==, 0);
    g_assert_cmphex(qme_pci_cfg_read(qt, bus, devfn, 0x100, 4), ==,
                    0xffffffff);
    qme_qtest_quit(qt);
}

static void test_msix_vectors(QmePciFixture *f, gconstpointer data)
{
    unsigned v, count;

    if (!f->dev) {
        return;
    }
    msix_setup(f, 4);
    g_assert_cmpuint(reg_read(f, MPN_REG_VECTORS), ==, 4);
    for (v = 0; v < 4; v++) {
        reg_write(f, MPN_REG_DOORBELL, v);
        g_assert_cmphex(msg(f, v), ==, 0x100 + v);
        /* exactly one message: the others are untouched */
        qme_qtest_writel(f->qt, MSG_BASE + 16 * v, POISON);
    }
    for (v = 0; v < 4; v++) {
        g_assert_cmphex(msg(f, v), ==, POISON);
    }
    count = reg_read(f, MPN_REG_IRQ_COUNT);
    g_assert_cmpuint(count, ==, 4);
    /* vectors beyond the table fire nothing */
    reg_write(f, MPN_REG_DOORBELL, 4);
    reg_write(f, MPN_REG_DOORBELL, 0xffffffff);
    g_assert_cmpuint(reg_read(f, MPN_REG_IRQ_COUNT), ==, count);
    for (v = 0; v < 4; v++) {
        g_assert_cmphex(msg(f, v), ==, POISON);
    }
    g_assert_cmphex(reg_read(f, MPN_REG_DOORBELL), ==, 0xffffffff);
}

static void test_msix_mask_pba(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;

    if (!d) {
        return;
    }
    msix_setup(f, 4);
    qme_pci_bar_writel(d, 1, 2 * 16 + 12, 1);       /* mask vector 2 */
    reg_write(f, MPN_REG_DOORBELL, 2);
    g_assert_cmphex(msg(f, 2), ==, POISON);
    g_assert_cmphex(qme_pci_bar_readl(d, 1, 0x800), ==, 1 << 2);
    qme_pci_bar_writel(d, 1, 2 * 16 + 12, 0);       /* unmask: delivered */
    g_assert_cmphex(msg(f, 2), ==, 0x102);
    g_assert_cmphex(qme_pci_bar_readl(d, 1, 0x800), ==, 0);

    /* Function mask holds every vector pending */
    qme_pci_config_writew(d, 0xb2, qme_pci_config_readw(d, 0xb2) | 0x4000);
    reg_write(f, MPN_REG_DOORBELL, 0);
    reg_write(f, MPN_REG_DOORBELL, 3);
    g_assert_cmphex(msg(f, 0), ==, POISON);
    g_assert_cmphex(msg(f, 3), ==, POISON);
    g_assert_cmphex(qme_pci_bar_readl(d, 1, 0x800), ==, 0x9);
    qme_pci_config_writew(d, 0xb2, qme_pci_config_readw(d, 0xb2) & ~0x4000);
    g_assert_cmphex(msg(f, 0), ==, 0x100);
    g_assert_cmphex(msg(f, 3), ==, 0x103);
    g_assert_cmphex(qme_pci_bar_readl(d, 1, 0x800), ==, 0);
    /* the PBA is read-only */
    qme_pci_bar_writel(d, 1, 0x800, 0xf);
    g_assert_cmphex(qme_pci_bar_readl(d, 1, 0x800), ==, 0);
}

/* MSI with @mme (log2) vectors enabled, data base 0x4320. */
static void msi_setup(QmePciFixture *f, unsigned mme)
{
    QmePciDev *d = f->dev;
    uint16_t ctrl = qme_pci_config_readw(d, 0x42);

    qme_pci_config_writel(d, 0x44, (uint32_t)MSG_BASE);
    qme_pci_config_writew(d, 0x48, 0x4320);
    qme_pci_config_writel(d, 0x4c, 0);              /* mask bits */
    qme_pci_config_writew(d, 0x42, (ctrl & ~0x70) | (mme << 4) | 1);
    qme_qtest_writel(f->qt, MSG_BASE, POISON);
}

static void test_msi_vectors(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    unsigned v;

    if (!d) {
        return;
    }
    msi_setup(f, 2);
    g_assert_cmpuint(reg_read(f, MPN_REG_VECTORS), ==, 4);
    for (v = 0; v < 4; v++) {
        reg_write(f, MPN_REG_DOORBELL, v);
        /* same address, data carries the vector in its low bits */
        g_assert_cmphex(qme_qtest_readl(f->qt, MSG_BASE), ==, 0x4320 | v);
        qme_qtest_writel(f->qt, MSG_BASE, POISON);
    }
    reg_write(f, MPN_REG_DOORBELL, 4);
    g_assert_cmphex(qme_qtest_readl(f->qt, MSG_BASE), ==, POISON);
    g_assert_cmpuint(reg_read(f, MPN_REG_IRQ_COUNT), ==, 4);

    /* per-vector mask: pending bit, delivery on unmask */
    qme_pci_config_writel(d, 0x4c, 1 << 1);
    reg_write(f, MPN_REG_DOORBELL, 1);
    g_assert_cmphex(qme_qtest_readl(f->qt, MSG_BASE), ==, POISON);
    g_assert_cmphex(qme_pci_config_readl(d, 0x50), ==, 1 << 1);
    qme_pci_config_writel(d, 0x4c, 0);
    g_assert_cmphex(qme_qtest_readl(f->qt, MSG_BASE), ==, 0x4321);
    g_assert_cmphex(qme_pci_config_readl(d, 0x50), ==, 0);

    /* only 2 vectors granted: vector 2 is beyond the allocation */
    msi_setup(f, 1);
    g_assert_cmpuint(reg_read(f, MPN_REG_VECTORS), ==, 2);
    reg_write(f, MPN_REG_DOORBELL, 2);
    g_assert_cmphex(qme_qtest_readl(f->qt, MSG_BASE), ==, POISON);
    reg_write(f, MPN_REG_DOORBELL, 1);
    g_assert_cmphex(qme_qtest_readl(f->qt, MSG_BASE), ==, 0x4321);
}

static void test_intx(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    int line = QME_VIRT_PCIE_SPI_BASE + SLOT % 4;

    if (!d) {
        return;
    }
    if (!qme_qtest_intercept_gic(f->qt)) {
        return;
    }
    g_assert_cmpuint(reg_read(f, MPN_REG_VECTORS), ==, 1);
    reg_write(f, MPN_REG_DOORBELL, 1);              /* not allocated */
    g_assert_false(qme_qtest_irq_level(f->qt, line));
    reg_write(f, MPN_REG_DOORBELL, 0);
    g_assert_true(qme_qtest_irq_level(f->qt, line));
    g_assert_cmphex(reg_read(f, MPN_REG_INT_STATUS), ==,
                    MPN_INT_STATUS_DOORBELL_MASK);
    reg_write(f, MPN_REG_INT_STATUS, MPN_INT_STATUS_DOORBELL_MASK);
    g_assert_false(qme_qtest_irq_level(f->qt, line));
    g_assert_cmpuint(qme_qtest_irq_raise_count(f->qt, line), ==, 1);

    /* enabling MSI-X takes the line away even with a cause pending */
    reg_write(f, MPN_REG_DOORBELL, 0);
    g_assert_true(qme_qtest_irq_level(f->qt, line));
    msix_setup(f, 1);
    g_assert_false(qme_qtest_irq_level(f->qt, line));
    reg_write(f, MPN_REG_DOORBELL, 0);
    g_assert_cmphex(msg(f, 0), ==, 0x100);
    g_assert_cmpuint(qme_qtest_irq_raise_count(f->qt, line), ==, 2);
}

/*
 * INTx Disable (command register bit 10) set and cleared by byte writes to
 * config offset 0x05: the line follows, and a system_reset with the line
 * disabled while asserted keeps QEMU alive (it used to abort in
 * pcibus_reset(): found by the device storm, tests/storm).
 */
static void test_intx_disable_byte(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    int line = QME_VIRT_PCIE_SPI_BASE + SLOT % 4;

    if (!d) {
        return;
    }
    if (!qme_qtest_intercept_gic(f->qt)) {
        return;
    }
    reg_write(f, MPN_REG_DOORBELL, 0);
    g_assert_true(qme_qtest_irq_level(f->qt, line));
    qme_pci_config_writeb(d, PCI_COMMAND_HI, PCI_COMMAND_INTX_OFF >> 8);
    g_assert_false(qme_qtest_irq_level(f->qt, line));
    qme_pci_config_writeb(d, PCI_COMMAND_HI, 0);
    g_assert_true(qme_qtest_irq_level(f->qt, line));
    qme_pci_config_writeb(d, PCI_COMMAND_HI, PCI_COMMAND_INTX_OFF >> 8);
    g_assert_false(qme_qtest_irq_level(f->qt, line));

    g_assert_true(qme_qtest_system_reset(f->qt));
    g_assert_false(qme_qtest_irq_level(f->qt, line));
    /* The bus counts the line right: it still goes up and down. */
    g_assert_true(qme_pci_assign_bars(d));
    reg_write(f, MPN_REG_DOORBELL, 0);
    g_assert_true(qme_qtest_irq_level(f->qt, line));
    reg_write(f, MPN_REG_INT_STATUS, MPN_INT_STATUS_DOORBELL_MASK);
    g_assert_false(qme_qtest_irq_level(f->qt, line));
}

static void fill(QmePciFixture *f, uint64_t addr, uint8_t *buf, size_t len,
                 unsigned seed)
{
    size_t i;

    for (i = 0; i < len; i++) {
        buf[i] = (uint8_t)(i * 7 + seed + (i >> 8));
    }
    qme_qtest_memwrite(f->qt, addr, buf, len);
}

static uint32_t dma(QmePciFixture *f, unsigned dir, uint64_t src, uint64_t dst,
                    uint32_t len, uint32_t extra)
{
    qme_pci_bar_writeq(f->dev, 0, MPN_REG_DMA_SRC, src);
    qme_pci_bar_writeq(f->dev, 0, MPN_REG_DMA_DST, dst);
    reg_write(f, MPN_REG_DMA_LEN, len);
    reg_write(f, MPN_REG_DMA_STATUS, 0xffffffff);
    reg_write(f, MPN_REG_DMA_CMD, MPN_DMA_CMD_START_MASK |
              QME_FIELD_PREP(MPN_DMA_CMD, DIR, dir) | extra);
    return reg_read(f, MPN_REG_DMA_STATUS);
}

static void test_dma(QmePciFixture *f, gconstpointer data)
{
    enum { LEN = 256 * 1024 };
    g_autofree uint8_t *a = g_malloc(LEN);
    g_autofree uint8_t *back = g_malloc(LEN);

    if (!f->dev) {
        return;
    }
    msix_setup(f, 4);
    fill(f, RAM_A, a, LEN, 3);
    qme_qtest_memset(f->qt, RAM_B, 0, LEN);
    g_assert_cmphex(dma(f, MPN_DIR_TO_DEVICE, RAM_A, 0x1000, LEN, 0), ==,
                    MPN_DMA_STATUS_DONE_MASK);
    g_assert_cmphex(reg_read(f, MPN_REG_DMA_CMD) & MPN_DMA_CMD_START_MASK,
                    ==, 0);
    g_assert_cmphex(dma(f, MPN_DIR_FROM_DEVICE, 0x1000, RAM_B, LEN,
                        MPN_DMA_CMD_IRQ_MASK |
                        QME_FIELD_PREP(MPN_DMA_CMD, VECTOR, 3)), ==,
                    MPN_DMA_STATUS_DONE_MASK);
    qme_qtest_memread(f->qt, RAM_B, back, LEN);
    g_assert_cmpmem(back, LEN, a, LEN);
    /* completion interrupt on the chosen vector only */
    g_assert_cmphex(msg(f, 3), ==, 0x103);
    g_assert_cmphex(msg(f, 0), ==, POISON);

    /* the buffer's end: last byte in, one past refused */
    g_assert_cmphex(dma(f, MPN_DIR_TO_DEVICE, RAM_A, MPN_DMA_SIZE - 16, 16,
                        0), ==, MPN_DMA_STATUS_DONE_MASK);
    g_assert_cmphex(dma(f, MPN_DIR_FROM_DEVICE, MPN_DMA_SIZE - 16, RAM_C, 16,
                        0), ==, MPN_DMA_STATUS_DONE_MASK);
    qme_qtest_memread(f->qt, RAM_C, back, 16);
    g_assert_cmpmem(back, 16, a, 16);

    /* memory to memory, larger than the bounce buffer */
    qme_qtest_memset(f->qt, RAM_C, 0, LEN);
    g_assert_cmphex(dma(f, MPN_DIR_MEM_TO_MEM, RAM_A, RAM_C, LEN - 5, 0), ==,
                    MPN_DMA_STATUS_DONE_MASK);
    qme_qtest_memread(f->qt, RAM_C, back, LEN);
    g_assert_cmpmem(back, LEN - 5, a, LEN - 5);
    g_assert_cmphex(back[LEN - 5], ==, 0);
}

static void test_dma_errors(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    const uint32_t range = MPN_DMA_STATUS_ERR_RANGE_MASK;
    uint8_t a[64], back[64];
    uint32_t count;

    if (!d) {
        return;
    }
    msix_setup(f, 4);
    fill(f, RAM_A, a, sizeof(a), 9);
    qme_qtest_memset(f->qt, RAM_B, 0x5a, sizeof(back));
    g_assert_cmphex(dma(f, 0, RAM_A, 0, 0, 0), ==, range);
    g_assert_cmphex(dma(f, 0, RAM_A, 0, MPN_DMA_SIZE + 1, 0), ==, range);
    g_assert_cmphex(dma(f, 0, RAM_A, MPN_DMA_SIZE - 15, 16, 0), ==, range);
    g_assert_cmphex(dma(f, 0, RAM_A, MPN_DMA_SIZE, 1, 0), ==, range);
    g_assert_cmphex(dma(f, 0, RAM_A, 0xfffffffffffffff0ULL, 0x20, 0), ==,
                    range);
    g_assert_cmphex(dma(f, 1, MPN_DMA_SIZE - 8, RAM_B, 16, 0), ==, range);
    g_assert_cmphex(dma(f, 1, 0xffffffffffffffffULL, RAM_B, 2, 0), ==, range);
    g_assert_cmphex(dma(f, 0, 0xfffffffffffff000ULL, 0, 0x2000, 0), ==,
                    range);
    g_assert_cmphex(dma(f, 1, 0, 0xfffffffffffff000ULL, 0x2000, 0), ==,
                    range);
    g_assert_cmphex(dma(f, 2, RAM_A, 0xffffffffffffffc0ULL, 0x80, 0), ==,
                    range);
    g_assert_cmphex(dma(f, 2, RAM_A, RAM_B, MPN_DMA_SIZE + 1, 0), ==, range);
    g_assert_cmphex(dma(f, 3, RAM_A, 0, 16, 0), ==, range);
    /* unassigned guest addresses: bus error, defined */
    g_assert_cmphex(dma(f, 0, UNASSIGNED, 0, 64, 0), ==,
                    MPN_DMA_STATUS_ERR_BUS_MASK);
    g_assert_cmphex(dma(f, 1, 0, UNASSIGNED, 64, 0), ==,
                    MPN_DMA_STATUS_ERR_BUS_MASK);
    g_assert_cmphex(dma(f, 2, RAM_A, UNASSIGNED, 64, 0), ==,
                    MPN_DMA_STATUS_ERR_BUS_MASK);
    /* nothing of the above wrote RAM_B */
    qme_qtest_memread(f->qt, RAM_B, back, sizeof(back));
    g_assert_cmphex(back[0], ==, 0x5a);
    g_assert_cmphex(back[63], ==, 0x5a);

    /* completion vector beyond the table: done, no interrupt, flagged */
    count = reg_read(f, MPN_REG_IRQ_COUNT);
    g_assert_cmphex(dma(f, 0, RAM_A, 0, 64, MPN_DMA_CMD_IRQ_MASK |
                        QME_FIELD_PREP(MPN_DMA_CMD, VECTOR, 4)), ==,
                    MPN_DMA_STATUS_DONE_MASK | MPN_DMA_STATUS_ERR_VECTOR_MASK);
    g_assert_cmpuint(reg_read(f, MPN_REG_IRQ_COUNT), ==, count);
    /* an error still raises the completion interrupt */
    g_assert_cmphex(dma(f, 0, RAM_A, 0, 0, MPN_DMA_CMD_IRQ_MASK |
                        QME_FIELD_PREP(MPN_DMA_CMD, VECTOR, 1)), ==, range);
    g_assert_cmphex(msg(f, 1), ==, 0x101);

    /* Bus Master Enable clear: refused, nothing copied */
    qme_pci_config_writew(d, 0x04, qme_pci_config_readw(d, 0x04) & ~0x4);
    g_assert_cmphex(dma(f, 1, 0, RAM_B, 64, 0), ==,
                    MPN_DMA_STATUS_ERR_MASTER_MASK);
    qme_pci_config_writew(d, 0x04, qme_pci_config_readw(d, 0x04) | 0x4);
    qme_qtest_memread(f->qt, RAM_B, back, sizeof(back));
    g_assert_cmphex(back[0], ==, 0x5a);
    g_assert_cmphex(dma(f, 1, 0, RAM_B, 64, 0), ==, MPN_DMA_STATUS_DONE_MASK);
    qme_qtest_memread(f->qt, RAM_B, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), a, sizeof(a));
}

/* Refused guest accesses have a defined result. */
static void test_bad_access(QmePciFixture *f, gconstpointer data)
{
    if (!f->dev) {
        return;
    }
    reg_write(f, MPN_REG_ID, 0);
    g_assert_cmphex(reg_read(f, MPN_REG_ID), ==, MPN_ID_VALUE);
    reg_write(f, 0x800, 0x1234);
    g_assert_cmphex(reg_read(f, 0x800), ==, 0);
    g_assert_cmphex(qme_pci_bar_readl(f->dev, 0, 0x2), ==, 0);
    g_assert_cmphex(qme_pci_bar_readl(f->dev, 1, 0x400), ==, 0);
    reg_write(f, MPN_REG_DMA_STATUS, 0);
    g_assert_cmphex(reg_read(f, MPN_REG_IRQ_COUNT), ==, 0);
}

/*
 * 8-byte accesses of two 32-bit registers (a guest's readq(), the
 * monitor's "xp /2wx"): composed from both, each by its own rules and
 * hooks.  A split write runs the lower register first, so one writeq of
 * DMA_LEN and DMA_CMD starts a transfer of the length it wrote.
 */
static void test_wide_access(QmePciFixture *f, gconstpointer data)
{
    uint8_t a[64], back[64];
    uint32_t w[2] = { 0xdead, 0xdead };
    uint32_t vectors;

    if (!f->dev) {
        return;
    }
    /* ID (ro) and VECTORS (ro, computed by a read hook) */
    vectors = reg_read(f, MPN_REG_VECTORS);
    g_assert_cmphex(qme_pci_bar_readq(f->dev, 0, MPN_REG_ID), ==,
                    ((uint64_t)vectors << 32) | MPN_ID_VALUE);
    g_assert_cmpuint(qme_qtest_xp_words(f->qt,
                                        qme_pci_bar_cpu_addr(f->dev, 0) +
                                        MPN_REG_ID, 2, w), ==, 2);
    g_assert_cmphex(w[0], ==, MPN_ID_VALUE);
    g_assert_cmphex(w[1], ==, vectors);
    /* DMA_STATUS (w1c) and DMA_BUF_SIZE (ro, read hook) */
    g_assert_cmphex(qme_pci_bar_readq(f->dev, 0, MPN_REG_DMA_STATUS), ==,
                    (uint64_t)MPN_DMA_SIZE << 32);

    /* DMA_LEN and DMA_CMD (START, post_write hook) in one write */
    fill(f, RAM_A, a, sizeof(a), 5);
    qme_qtest_memset(f->qt, RAM_B, 0, sizeof(a));
    qme_pci_bar_writeq(f->dev, 0, MPN_REG_DMA_SRC, RAM_A);
    qme_pci_bar_writeq(f->dev, 0, MPN_REG_DMA_DST, 0x200);
    qme_pci_bar_writeq(f->dev, 0, MPN_REG_DMA_LEN,
                       (uint64_t)(MPN_DMA_CMD_START_MASK |
                                  QME_FIELD_PREP(MPN_DMA_CMD, DIR,
                                                 MPN_DIR_TO_DEVICE)) << 32 |
                       sizeof(a));
    g_assert_cmphex(reg_read(f, MPN_REG_DMA_STATUS), ==,
                    MPN_DMA_STATUS_DONE_MASK);
    qme_pci_bar_writeq(f->dev, 0, MPN_REG_DMA_SRC, 0x200);
    qme_pci_bar_writeq(f->dev, 0, MPN_REG_DMA_DST, RAM_B);
    qme_pci_bar_writeq(f->dev, 0, MPN_REG_DMA_LEN,
                       (uint64_t)(MPN_DMA_CMD_START_MASK |
                                  QME_FIELD_PREP(MPN_DMA_CMD, DIR,
                                                 MPN_DIR_FROM_DEVICE)) << 32 |
                       sizeof(a));
    g_assert_cmphex(qme_pci_bar_readq(f->dev, 0, MPN_REG_DMA_LEN), ==,
                    QME_FIELD_PREP(MPN_DMA_CMD, DIR,
                                   MPN_DIR_FROM_DEVICE) << 32 | sizeof(a));
    qme_qtest_memread(f->qt, RAM_B, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), a, sizeof(a));

    /* DMA_STATUS clears, DMA_BUF_SIZE (ro) drops its half */
    qme_pci_bar_writeq(f->dev, 0, MPN_REG_DMA_STATUS,
                       0xffffffff00000000ULL | MPN_DMA_STATUS_DONE_MASK);
    g_assert_cmphex(qme_pci_bar_readq(f->dev, 0, MPN_REG_DMA_STATUS), ==,
                    (uint64_t)MPN_DMA_SIZE << 32);
    g_assert_nonnull(strstr(qme_qtest_stderr(f->qt),
                            "(DMA_STATUS..DMA_BUF_SIZE, value "
                            "0xffffffff00000001): write to read-only"));
    g_assert_null(strstr(qme_qtest_stderr(f->qt), "bad access size"));

    /* IRQ_COUNT and the hole after it: refused as a whole, reads 0 */
    g_assert_cmphex(qme_pci_bar_readq(f->dev, 0, MPN_REG_IRQ_COUNT), ==, 0);
    g_assert_nonnull(strstr(qme_qtest_stderr(f->qt),
                            "(IRQ_COUNT..unmapped, value 0x0): "
                            "bad access size"));
}

static void test_reset(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;

    if (!d) {
        return;
    }
    msix_setup(f, 4);
    reg_write(f, MPN_REG_DOORBELL, 1);
    qme_pci_bar_writeq(d, 0, MPN_REG_DMA_SRC, RAM_A);
    g_assert_true(qme_qtest_system_reset(f->qt));
    g_assert_true(qme_pci_assign_bars(d));
    g_assert_cmphex(reg_read(f, MPN_REG_DOORBELL), ==, 0);
    g_assert_cmphex(reg_read(f, MPN_REG_IRQ_COUNT), ==, 0);
    g_assert_cmphex(qme_pci_bar_readq(d, 0, MPN_REG_DMA_SRC), ==, 0);
    g_assert_cmphex(qme_pci_config_readw(d, 0xb2) & 0x8000, ==, 0);
    g_assert_cmphex(qme_pci_bar_readl(d, 1, 12), ==, 1);
    /* vectors work again after reset */
    msix_setup(f, 4);
    reg_write(f, MPN_REG_DOORBELL, 2);
    g_assert_cmphex(msg(f, 2), ==, 0x102);
}

static char *mig_file(void)
{
    g_autofree char *dir = g_dir_make_tmp("qme-mpn-mig-XXXXXX", NULL);

    g_assert_nonnull(dir);
    return g_build_filename(dir, "stream", NULL);
}

static void mig_cleanup(const char *file)
{
    g_autofree char *dir = g_path_get_dirname(file);

    g_unlink(file);
    g_rmdir(dir);
}

static void test_migration_msix(QmePciFixture *f, gconstpointer data)
{
    g_autofree char *file = NULL;
    QmePciFixture dst = { 0 };
    uint8_t a[512], back[512];

    if (!f->dev) {
        return;     /* nothing made yet: nothing to remove */
    }
    file = mig_file();
    msix_setup(f, 4);
    qme_pci_bar_writel(f->dev, 1, 1 * 16 + 12, 1);  /* mask vector 1 */
    reg_write(f, MPN_REG_DOORBELL, 1);              /* pending */
    fill(f, RAM_A, a, sizeof(a), 77);
    g_assert_cmphex(dma(f, 0, RAM_A, 0x40, sizeof(a), 0), ==, 1);
    qme_pci_bar_writeq(f->dev, 0, MPN_REG_DMA_DST, 0x1122334455667788ULL);
    qme_qtest_memset(f->qt, RAM_B, 0, sizeof(back));
    g_assert_true(qme_qtest_migrate_to_file(f->qt, file, 30000));

    dst.qt = qme_qtest_start_incoming(file, DEV_ARGS);
    dst.dev = dst.qt ? qme_pci_find(dst.qt, MPN_VENDOR_ID, MPN_DEVICE_ID, 0)
                     : NULL;
    g_assert_nonnull(dst.dev);
    if (dst.dev) {
        /* BARs travel in config space; reuse the source's addresses */
        memcpy(dst.dev->bar, f->dev->bar, sizeof(dst.dev->bar));
        g_assert_cmphex(reg_read(&dst, MPN_REG_DOORBELL), ==, 1);
        g_assert_cmphex(reg_read(&dst, MPN_REG_IRQ_COUNT), ==, 1);
        g_assert_cmphex(qme_pci_bar_readq(dst.dev, 0, MPN_REG_DMA_DST), ==,
                        0x1122334455667788ULL);
        g_assert_cmphex(qme_pci_config_readw(dst.dev, 0xb2) & 0x8000, ==,
                        0x8000);
        g_assert_cmphex(qme_pci_bar_readl(dst.dev, 1, 16 + 8), ==, 0x101);
        g_assert_cmphex(qme_pci_bar_readl(dst.dev, 1, 0x800), ==, 1 << 1);
        g_assert_cmphex(msg(&dst, 1), ==, POISON);
        qme_pci_bar_writel(dst.dev, 1, 1 * 16 + 12, 0);
        g_assert_cmphex(msg(&dst, 1), ==, 0x101);
        /* the device buffer came along */
        g_assert_cmphex(dma(&dst, 1, 0x40, RAM_B, sizeof(a), 0), ==, 1);
        qme_qtest_memread(dst.qt, RAM_B, back, sizeof(back));
        g_assert_cmpmem(back, sizeof(back), a, sizeof(a));
        reg_write(&dst, MPN_REG_DOORBELL, 3);
        g_assert_cmphex(msg(&dst, 3), ==, 0x103);
    }
    qme_pci_fixture_stop(&dst, NULL);
    mig_cleanup(file);
}

static void test_migration_msi(QmePciFixture *f, gconstpointer data)
{
    g_autofree char *file = NULL;
    QmePciFixture dst = { 0 };

    if (!f->dev) {
        return;     /* nothing made yet: nothing to remove */
    }
    file = mig_file();
    msi_setup(f, 2);
    qme_pci_config_writel(f->dev, 0x4c, 1 << 2);
    reg_write(f, MPN_REG_DOORBELL, 2);              /* pending */
    g_assert_true(qme_qtest_migrate_to_file(f->qt, file, 30000));

    dst.qt = qme_qtest_start_incoming(file, DEV_ARGS ",stage=msi");
    dst.dev = dst.qt ? qme_pci_find(dst.qt, MPN_VENDOR_ID, MPN_DEVICE_ID, 0)
                     : NULL;
    g_assert_nonnull(dst.dev);
    if (dst.dev) {
        memcpy(dst.dev->bar, f->dev->bar, sizeof(dst.dev->bar));
        g_assert_cmpuint(reg_read(&dst, MPN_REG_VECTORS), ==, 4);
        g_assert_cmphex(qme_pci_config_readl(dst.dev, 0x50), ==, 1 << 2);
        g_assert_cmphex(qme_qtest_readl(dst.qt, MSG_BASE), ==, POISON);
        qme_pci_config_writel(dst.dev, 0x4c, 0);
        g_assert_cmphex(qme_qtest_readl(dst.qt, MSG_BASE), ==, 0x4322);
        reg_write(&dst, MPN_REG_DOORBELL, 3);
        g_assert_cmphex(qme_qtest_readl(dst.qt, MSG_BASE), ==, 0x4323);
    }
    qme_pci_fixture_stop(&dst, NULL);
    mig_cleanup(file);
}

static void bad_prop(const char *props, const char *name)
{
    g_autofree char *args = g_strdup_printf("-device minimal-pcie-nic,%s",
                                            props);
    g_autofree char *out = NULL;
    g_autofree char *quoted = g_strdup_printf("'%s'", name);
    int status = qme_qemu_run(args, 30000, &out);

    g_assert_cmpint(status, ==, 1);
    g_assert_nonnull(out);
    if (out && !strstr(out, quoted)) {
        g_test_message("no %s in: %s", quoted, out);
        g_test_fail();
    }
}

static void test_bad_props(void)
{
    bad_prop("vectors=2049", "vectors");
    bad_prop("vectors=0", "vectors");
    bad_prop("stage=msi,msi-vectors=3", "msi-vectors");
    bad_prop("stage=msi,msi-vectors=64", "msi-vectors");
    bad_prop("vectors=256", "bar1-size");
    bad_prop("vectors=2048,bar1-size=32768", "bar1-size");
    bad_prop("bar1-size=6000", "bar1-size");
    bad_prop("dma-size=4096", "dma-size");
    bad_prop("stage=fast", "stage");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();

#define ADD(path, fn, extra) \
    g_test_add(path, QmePciFixture, extra, setup, fn, qme_pci_fixture_stop)
    g_test_add_func("/minimal-pcie-nic/stage/basic", test_stage_basic);
    ADD("/minimal-pcie-nic/stage/mmio", test_stage_mmio, ",stage=mmio");
    ADD("/minimal-pcie-nic/stage/msi", test_stage_msi_layout, ",stage=msi");
    ADD("/minimal-pcie-nic/stage/msix", test_msix_layout, NULL);
    ADD("/minimal-pcie-nic/stage/msix-2048", test_msix_layout,
        ",vectors=2048,bar1-size=65536");
    g_test_add_func("/minimal-pcie-nic/express", test_express);
    g_test_add_data_func("/minimal-pcie-nic/conventional/root-bus",
                         GINT_TO_POINTER(0), test_conventional);
    g_test_add_data_func("/minimal-pcie-nic/conventional/pci-bridge",
                         GINT_TO_POINTER(1), test_conventional);
    ADD("/minimal-pcie-nic/msix/vectors", test_msix_vectors, NULL);
    ADD("/minimal-pcie-nic/msix/mask-pba", test_msix_mask_pba, NULL);
    ADD("/minimal-pcie-nic/msi/vectors", test_msi_vectors, ",stage=msi");
    /* INTx is checked at virt's GIC (q35's IOAPIC routing is not modelled). */
    if (qme_qtest_machine_is("virt")) {
        ADD("/minimal-pcie-nic/intx", test_intx, NULL);
        ADD("/minimal-pcie-nic/intx-disable-byte-write",
            test_intx_disable_byte, ",stage=msi");
    }
    ADD("/minimal-pcie-nic/dma/round-trip", test_dma, NULL);
    ADD("/minimal-pcie-nic/dma/errors", test_dma_errors, NULL);
    ADD("/minimal-pcie-nic/bad-access", test_bad_access, NULL);
    ADD("/minimal-pcie-nic/wide-access/mmio", test_wide_access,
        ",stage=mmio -d guest_errors");
    ADD("/minimal-pcie-nic/wide-access/msix", test_wide_access,
        " -d guest_errors");
    ADD("/minimal-pcie-nic/reset", test_reset, NULL);
    ADD("/minimal-pcie-nic/migration/msix", test_migration_msix, NULL);
    ADD("/minimal-pcie-nic/migration/msi", test_migration_msi, ",stage=msi");
#undef ADD
    g_test_add_func("/minimal-pcie-nic/bad-properties", test_bad_props);

    return g_test_run();
}
