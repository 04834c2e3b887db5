/*
 * qtest of mypci_configurable in the distro qemu-system-aarch64 (-M virt).
 *
 * Covers every register and capability of the device: identity, the reg
 * property and the live "value" QOM property, PCI Express behind a root
 * port (conventional on the root bus), INTx through the intercepted GIC,
 * MSI into guest RAM, the vendor-specific capability and reserved config
 * space, the RAM BAR2, DMA in both directions and its refusals, reset,
 * migration to a file, and bad property values.  Offsets and IDs come from
 * the generated mypci_configurable-regs.h.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "qme-qtest.h"
#include "mypci_configurable-regs.h"

/* PCI config space (PCI Local Bus and PCI Express specs) */
#define PCI_COMMAND             0x04
#define PCI_COMMAND_MEMORY      0x2
#define PCI_COMMAND_MASTER      0x4
#define PCI_COMMAND_INTX_OFF    0x400
#define PCI_COMMAND_HI          0x05    /* high byte of the command register */
#define PCI_STATUS              0x06
#define PCI_STATUS_INTERRUPT    0x08
#define PCI_STATUS_CAP_LIST     0x10
#define PCI_BASE_ADDRESS_0      0x10
#define PCI_BASE_ADDRESS_2      0x18
#define PCI_CAPABILITY_LIST     0x34
#define PCI_INTERRUPT_PIN       0x3d
#define PCI_PRIMARY_BUS         0x18
#define PCI_SECONDARY_BUS       0x19
#define PCI_SUBORDINATE_BUS     0x1a
#define PCI_CAP_ID_MSI          0x05
#define PCI_CAP_ID_VNDR         0x09
#define PCI_CAP_ID_EXP          0x10
#define PCI_EXP_FLAGS           2
#define PCI_EXP_DEVCAP          4

#define SLOT                    3
#define DEV_ARGS                "-device mypci_configurable,addr=03.0,id=c0"
#define REG_ARGS                DEV_ARGS ",reg=0x42"
/* virt swizzles INTA of slot s to SPI 3 + s % 4 */
#define INTX_LINE               (QME_VIRT_PCIE_SPI_BASE + SLOT % 4)
#define MSI_ADDR                (qme_qtest_ram_base() + 0x1000)
#define MSI_DATA                0x4d59
#define RAM_A                   (qme_qtest_ram_base() + 0x100000)
#define RAM_B                   (qme_qtest_ram_base() + 0x200000)
/* A hole in virt's memory map (and above q35's 128M RAM): no decoder. */
#define UNMAPPED_ADDR           0x0b000000ULL
/*
 * virt's GICv2 distributor: a level-triggered SPI whose line is high reads
 * as pending in GICD_ISPENDRn, which migration must carry over.
 */
#define GICD_ISPENDR(id)        (0x08000000 + 0x200 + 4 * ((id) / 32))
#define INTX_GIC_ID             (32 + INTX_LINE)
#define INTX_GIC_BIT            (1u << (INTX_GIC_ID % 32))
#define VCAP(off)               (MYCFG_VCAP_OFFSET + (off))

static void setup(QmePciFixture *f, gconstpointer data)
{
    qme_pci_fixture_start(f, MYCFG_VENDOR_ID, MYCFG_DEVICE_ID, "%s",
                          data ? (const char *)data : REG_ARGS);
}

static uint32_t rd(QmePciFixture *f, uint64_t off)
{
    return qme_pci_bar_readl(f->dev, 0, off);
}

static void wr(QmePciFixture *f, uint64_t off, uint32_t val)
{
    qme_pci_bar_writel(f->dev, 0, off, val);
}

static char *qom_get(QmeQTest *qt, const char *prop)
{
    g_autofree char *r = qme_qtest_qmp_ok(qt,
        "{\"execute\": \"qom-get\", \"arguments\": "
        "{\"path\": \"/machine/peripheral/c0\", \"property\": \"%s\"}}",
        prop);

    return r ? qme_json_get(r, "return") : NULL;
}

/*
 * INTx is checked at virt's GIC; on q35 it goes through the ICH9 PIRQ
 * routing to the IOAPIC, which these tests do not model: there they check
 * the device side (IRQ_STATUS, the interrupt status bit) only.
 */
static bool has_gic(void)
{
    return qme_qtest_machine_is("virt");
}

/* Run a DMA transfer and return DMA_STATUS. */
static uint32_t dma(QmePciFixture *f, bool to_guest, uint64_t src, uint64_t dst,
                    uint32_t len)
{
    qme_pci_bar_writeq(f->dev, 0, MYCFG_REG_DMA_SRC, src);
    qme_pci_bar_writeq(f->dev, 0, MYCFG_REG_DMA_DST, dst);
    wr(f, MYCFG_REG_DMA_LEN, len);
    wr(f, MYCFG_REG_DMA_CMD, MYCFG_DMA_CMD_START_MASK |
       (to_guest ? MYCFG_DMA_CMD_DIR_MASK : 0));
    return rd(f, MYCFG_REG_DMA_STATUS);
}

static void test_ids(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;

    if (!qme_pci_fixture_ready(f, false)) {
        return;
    }
    g_assert_cmphex(d->devfn, ==, QME_PCI_DEVFN(SLOT, 0));
    g_assert_cmphex(qme_pci_config_readl(d, 0x00), ==,
                    MYCFG_DEVICE_ID << 16 | MYCFG_VENDOR_ID);
    g_assert_cmphex(qme_pci_config_readb(d, 0x08), ==, MYCFG_REVISION);
    g_assert_cmphex(qme_pci_config_readl(d, 0x08) >> 8, ==,
                    MYCFG_CLASS << 8);
    g_assert_cmphex(qme_pci_config_readb(d, 0x0e), ==, 0);
    g_assert_cmphex(qme_pci_config_readw(d, 0x2c), ==,
                    MYCFG_SUBSYSTEM_VENDOR_ID);
    g_assert_cmphex(qme_pci_config_readw(d, 0x2e), ==, MYCFG_SUBSYSTEM_ID);
    g_assert_cmphex(qme_pci_config_readb(d, PCI_INTERRUPT_PIN), ==, 1);
    g_assert_cmphex(qme_pci_config_readw(d, PCI_STATUS) &
                    PCI_STATUS_CAP_LIST, ==, PCI_STATUS_CAP_LIST);

    g_assert_true(qme_pci_bar_probe(d, 0));
    g_assert_false(d->bar[0].io || d->bar[0].is64 || d->bar[0].prefetch);
    g_assert_cmphex(d->bar[0].size, ==, MYCFG_BAR0_SIZE);
    g_assert_false(qme_pci_bar_probe(d, 1));
    g_assert_true(qme_pci_bar_probe(d, 2));
    g_assert_false(d->bar[2].io);
    g_assert_true(d->bar[2].is64 && d->bar[2].prefetch);
    g_assert_cmphex(d->bar[2].size, ==, MYCFG_BAR2_SIZE_DEFAULT);
    g_assert_false(qme_pci_bar_probe(d, 4));
    g_assert_false(qme_pci_bar_probe(d, 5));
}

static void test_bar2_size_prop(QmePciFixture *f, gconstpointer data)
{
    if (!qme_pci_fixture_ready(f, false)) {
        return;
    }
    g_assert_true(qme_pci_bar_probe(f->dev, 2));
    g_assert_cmphex(f->dev->bar[2].size, ==, 1024 * 1024);
    /* FEATURES advertises log2 of the size. */
    g_assert_cmphex((qme_pci_config_readl(f->dev, VCAP(MYCFG_VCAP_OFF_FEATURES))
                     & MYCFG_VCAP_FEAT_BAR2_LOG2_MASK) >>
                    MYCFG_VCAP_FEAT_BAR2_LOG2_SHIFT, ==, 20);
}

static void test_registers(QmePciFixture *f, gconstpointer data)
{
    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    g_assert_cmphex(rd(f, MYCFG_REG_VALUE), ==, 0x42);
    g_assert_cmphex(rd(f, MYCFG_REG_VERSION), ==, MYCFG_VERSION_1_0);
    g_assert_cmphex(rd(f, MYCFG_REG_IRQ_STATUS), ==, 0);
    g_assert_cmphex(rd(f, MYCFG_REG_IRQ_ENABLE), ==, 0);
    g_assert_cmphex(rd(f, MYCFG_REG_DMA_STATUS), ==, 0);

    wr(f, MYCFG_REG_VALUE, 0xcafe0001);
    g_assert_cmphex(rd(f, MYCFG_REG_VALUE), ==, 0xcafe0001);
    /* Byte lanes, little-endian */
    qme_pci_bar_writeb(f->dev, 0, MYCFG_REG_VALUE + 1, 0x5a);
    g_assert_cmphex(rd(f, MYCFG_REG_VALUE), ==, 0xcafe5a01);
    g_assert_cmphex(qme_pci_bar_readw(f->dev, 0, MYCFG_REG_VALUE + 2), ==,
                    0xcafe);

    /* Read-only, write-only, reserved bits, unmapped: defined results. */
    wr(f, MYCFG_REG_VERSION, 0xffffffff);
    g_assert_cmphex(rd(f, MYCFG_REG_VERSION), ==, MYCFG_VERSION_1_0);
    wr(f, MYCFG_REG_DMA_STATUS, 0xffffffff);
    g_assert_cmphex(rd(f, MYCFG_REG_DMA_STATUS), ==, 0);
    wr(f, MYCFG_REG_IRQ_ENABLE, 0xffffffff);
    g_assert_cmphex(rd(f, MYCFG_REG_IRQ_ENABLE), ==, 0x7);
    wr(f, MYCFG_REG_IRQ_ENABLE, 0);
    g_assert_cmphex(rd(f, MYCFG_REG_DOORBELL), ==, 0);
    g_assert_cmphex(rd(f, 0x14), ==, 0);
    g_assert_cmphex(rd(f, 0xffc), ==, 0);
    wr(f, 0x800, 0x12345678);
    g_assert_cmphex(rd(f, 0x800), ==, 0);

    /* 64-bit DMA address registers take a full or split write. */
    qme_pci_bar_writeq(f->dev, 0, MYCFG_REG_DMA_SRC, 0x0123456789abcdefULL);
    g_assert_cmphex(qme_pci_bar_readq(f->dev, 0, MYCFG_REG_DMA_SRC), ==,
                    0x0123456789abcdefULL);
    wr(f, MYCFG_REG_DMA_DST, 0x89abcdef);
    wr(f, MYCFG_REG_DMA_DST + 4, 0x01234567);
    g_assert_cmphex(qme_pci_bar_readq(f->dev, 0, MYCFG_REG_DMA_DST), ==,
                    0x0123456789abcdefULL);
    wr(f, MYCFG_REG_DMA_LEN, 0x100);
    g_assert_cmphex(rd(f, MYCFG_REG_DMA_LEN), ==, 0x100);
    /* DIR sticks, START does not. */
    wr(f, MYCFG_REG_DMA_CMD, MYCFG_DMA_CMD_DIR_MASK);
    g_assert_cmphex(rd(f, MYCFG_REG_DMA_CMD), ==, MYCFG_DMA_CMD_DIR_MASK);

    /* Reset: VALUE back to the reg property, the rest to the table. */
    wr(f, MYCFG_REG_IRQ_ENABLE, 0x3);
    wr(f, MYCFG_REG_DOORBELL, 1);
    g_assert_true(qme_qtest_system_reset(f->qt));
    g_assert_true(qme_pci_assign_bars(f->dev));
    g_assert_cmphex(rd(f, MYCFG_REG_VALUE), ==, 0x42);
    g_assert_cmphex(rd(f, MYCFG_REG_IRQ_ENABLE), ==, 0);
    g_assert_cmphex(rd(f, MYCFG_REG_IRQ_STATUS), ==, 0);
    g_assert_cmphex(qme_pci_bar_readq(f->dev, 0, MYCFG_REG_DMA_SRC), ==, 0);
    g_assert_cmphex(rd(f, MYCFG_REG_DMA_CMD), ==, 0);
}

/*
 * 8-byte accesses of two adjacent 32-bit registers, as a guest readq() or
 * the monitor's "xp /2wx" (one 8-byte access) make them: composed from
 * the two registers, each with its own rules and hooks.
 */
static void test_wide_access(QmePciFixture *f, gconstpointer data)
{
    uint32_t w[2] = { 0xdead, 0xdead };
    uint64_t bar0;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    bar0 = qme_pci_bar_cpu_addr(f->dev, 0);
    /* VALUE (rw) and VERSION (ro), little-endian */
    g_assert_cmphex(qme_pci_bar_readq(f->dev, 0, MYCFG_REG_VALUE), ==,
                    ((uint64_t)MYCFG_VERSION_1_0 << 32) | 0x42);
    g_assert_cmpuint(qme_qtest_xp_words(f->qt, bar0 + MYCFG_REG_VALUE, 2, w),
                     ==, 2);
    g_assert_cmphex(w[0], ==, 0x42);
    g_assert_cmphex(w[1], ==, MYCFG_VERSION_1_0);

    /* The write is split: VALUE takes its half, VERSION drops its own. */
    qme_pci_bar_writeq(f->dev, 0, MYCFG_REG_VALUE, 0xffffffff12345678ULL);
    g_assert_cmphex(rd(f, MYCFG_REG_VALUE), ==, 0x12345678);
    g_assert_cmphex(rd(f, MYCFG_REG_VERSION), ==, MYCFG_VERSION_1_0);
    g_assert_nonnull(strstr(qme_qtest_stderr(f->qt),
                            "(VALUE..VERSION, value 0xffffffff12345678): "
                            "write to read-only register"));

    /* IRQ_STATUS (w1c) and IRQ_ENABLE (rw), both with hooks */
    qme_pci_bar_writeq(f->dev, 0, MYCFG_REG_IRQ_STATUS,
                       (uint64_t)MYCFG_IRQ_ENABLE_DOORBELL_MASK << 32);
    wr(f, MYCFG_REG_DOORBELL, 1);
    g_assert_cmphex(qme_pci_bar_readq(f->dev, 0, MYCFG_REG_IRQ_STATUS), ==,
                    ((uint64_t)MYCFG_IRQ_ENABLE_DOORBELL_MASK << 32) |
                    MYCFG_IRQ_STATUS_DOORBELL_MASK);
    g_assert_cmpuint(qme_qtest_xp_words(f->qt, bar0 + MYCFG_REG_IRQ_STATUS,
                                        2, w), ==, 2);
    g_assert_cmphex(w[0], ==, MYCFG_IRQ_STATUS_DOORBELL_MASK);
    g_assert_cmphex(w[1], ==, MYCFG_IRQ_ENABLE_DOORBELL_MASK);
    /* one write acknowledges the cause and masks it */
    qme_pci_bar_writeq(f->dev, 0, MYCFG_REG_IRQ_STATUS,
                       MYCFG_IRQ_STATUS_DOORBELL_MASK);
    g_assert_cmphex(qme_pci_bar_readq(f->dev, 0, MYCFG_REG_IRQ_STATUS), ==,
                    0);

    g_assert_null(strstr(qme_qtest_stderr(f->qt), "bad access size"));

    /* DMA_STATUS and the hole after it: refused as a whole, reads 0 */
    g_assert_cmphex(qme_pci_bar_readq(f->dev, 0, MYCFG_REG_DMA_STATUS), ==,
                    0);
    g_assert_nonnull(strstr(qme_qtest_stderr(f->qt),
                            "(DMA_STATUS..unmapped, value 0x0): "
                            "bad access size"));
}

static void test_default_reg(QmePciFixture *f, gconstpointer data)
{
    g_autofree char *v = NULL;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    g_assert_cmphex(rd(f, MYCFG_REG_VALUE), ==, 0);
    v = qom_get(f->qt, "reg");
    g_assert_cmpstr(v, ==, "0");
}

static void test_qom_value(QmePciFixture *f, gconstpointer data)
{
    g_autofree char *v1 = NULL, *v2 = NULL, *v3 = NULL, *v4 = NULL;
    g_autofree char *r = NULL, *desc = NULL;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    v1 = qom_get(f->qt, "value");
    g_assert_cmpstr(v1, ==, "66");
    g_free(qme_qtest_qmp_ok(f->qt, "{\"execute\": \"qom-set\", \"arguments\":"
                            " {\"path\": \"/machine/peripheral/c0\","
                            " \"property\": \"value\", \"value\": %u}}",
                            0xdeadbeefu));
    g_assert_cmphex(rd(f, MYCFG_REG_VALUE), ==, 0xdeadbeef);
    wr(f, MYCFG_REG_VALUE, 0x1234);
    v2 = qom_get(f->qt, "value");
    g_assert_cmpstr(v2, ==, "4660");
    /* The qdev property keeps the reset value and is frozen. */
    v3 = qom_get(f->qt, "reg");
    g_assert_cmpstr(v3, ==, "66");
    r = qme_qtest_qmp(f->qt, "{\"execute\": \"qom-set\", \"arguments\":"
                      " {\"path\": \"/machine/peripheral/c0\","
                      " \"property\": \"reg\", \"value\": 1}}");
    g_assert_true(qme_qmp_is_error(r));
    g_free(r);
    r = qme_qtest_qmp(f->qt, "{\"execute\": \"qom-set\", \"arguments\":"
                      " {\"path\": \"/machine/peripheral/c0\","
                      " \"property\": \"value\", \"value\": \"x\"}}");
    g_assert_true(qme_qmp_is_error(r));
    g_free(r);
    g_assert_cmphex(rd(f, MYCFG_REG_VALUE), ==, 0x1234);
    g_assert_true(qme_qtest_system_reset(f->qt));
    v4 = qom_get(f->qt, "value");
    g_assert_cmpstr(v4, ==, "66");

    /* Documented: every property of the device has a description. */
    r = qme_qtest_qmp_ok(f->qt, "{\"execute\": \"device-list-properties\","
                         " \"arguments\": {\"typename\":"
                         " \"mypci_configurable\"}}");
    g_assert_nonnull(r);
    if (r) {
        int i;

        for (i = 0; ; i++) {
            g_autofree char *pn = g_strdup_printf("return.%d.name", i);
            g_autofree char *pd = g_strdup_printf("return.%d.description", i);
            g_autofree char *name = qme_json_get(r, pn);

            if (!name) {
                break;
            }
            if (!strcmp(name, "reg") || !strcmp(name, "value") ||
                !strcmp(name, "bar2-size") || !strcmp(name, "msi")) {
                g_free(desc);
                desc = qme_json_get(r, pd);
                g_assert_nonnull(desc);
                g_assert_cmpuint(strlen(desc ? desc : ""), >, 10);
            }
        }
        g_assert_cmpint(i, >=, 4);
    }
}

/*
 * No firmware: give the bridge (vendor:device @ids) in slot 2 of the root
 * bus its bus numbers, so that config cycles reach bus 1 behind it.
 */
static void bridge_to_bus1(QmeQTest *qt, uint32_t ids)
{
    uint8_t br = QME_PCI_DEVFN(2, 0);

    g_assert_cmphex(qme_pci_cfg_read(qt, 0, br, 0, 4), ==, ids);
    qme_pci_cfg_write(qt, 0, br, PCI_PRIMARY_BUS, 1, 0);
    qme_pci_cfg_write(qt, 0, br, PCI_SECONDARY_BUS, 1, 1);
    qme_pci_cfg_write(qt, 0, br, PCI_SUBORDINATE_BUS, 1, 1);
}

/* Behind a pcie-root-port: an Express v2 endpoint with 4 KiB config. */
static void test_pcie(QmePciFixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt;
    QmePciDev d = { .qt = qt, .bus = 1, .devfn = 0 };
    uint8_t cap;
    uint16_t flags;

    g_assert_nonnull(qt);
    if (!qt) {
        return;
    }
    bridge_to_bus1(qt, 0x000c1b36);
    g_assert_cmphex(qme_pci_config_readl(&d, 0), ==,
                    MYCFG_DEVICE_ID << 16 | MYCFG_VENDOR_ID);
    g_assert_cmphex(qme_pci_config_readw(&d, 0x2e), ==, MYCFG_SUBSYSTEM_ID);

    cap = qme_pci_find_cap(&d, PCI_CAP_ID_EXP);
    g_assert_cmphex(cap, ==, MYCFG_PCIE_CAP_OFFSET);
    flags = qme_pci_config_readw(&d, cap + PCI_EXP_FLAGS);
    g_assert_cmphex(flags & 0xf, ==, 2);            /* version 2 */
    g_assert_cmphex((flags >> 4) & 0xf, ==, 0);     /* Endpoint */
    g_assert_cmphex(qme_pci_find_cap(&d, PCI_CAP_ID_MSI), ==,
                    MYCFG_MSI_CAP_OFFSET);
    g_assert_cmphex(qme_pci_find_cap(&d, PCI_CAP_ID_VNDR), ==,
                    MYCFG_VCAP_OFFSET);
    g_assert_cmphex(qme_pci_config_readl(&d, VCAP(MYCFG_VCAP_OFF_FEATURES)) &
                    0xff, ==, MYCFG_VCAP_FEAT_MSI | MYCFG_VCAP_FEAT_PCIE |
                    MYCFG_VCAP_FEAT_DMA);
    /* Extended config space exists (reads 0: no extended capability). */
    g_assert_cmphex(qme_pci_config_readl(&d, 0x100), ==, 0);
    g_assert_cmphex(qme_pci_config_readl(&d, 0xffc), ==, 0);
    g_assert_cmphex(qme_pci_config_readl(&d, VCAP(MYCFG_VCAP_OFF_VALUE)), ==,
                    0x42);
}

/* On the root bus: conventional, 256 bytes of config, no Express cap. */
static void test_conventional(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;

    if (!qme_pci_fixture_ready(f, false)) {
        return;
    }
    g_assert_cmphex(qme_pci_find_cap(d, PCI_CAP_ID_EXP), ==, 0);
    g_assert_cmphex(qme_pci_find_cap(d, PCI_CAP_ID_MSI), ==,
                    MYCFG_MSI_CAP_OFFSET);
    g_assert_cmphex(qme_pci_config_readl(d, VCAP(MYCFG_VCAP_OFF_FEATURES)) &
                    0xff, ==, MYCFG_VCAP_FEAT_MSI | MYCFG_VCAP_FEAT_DMA);
    g_assert_cmphex(qme_pci_config_readl(d, 0x100), ==, 0xffffffff);
}

/* Below a conventional PCI bridge: conventional too. */
static void test_conventional_bridge(QmePciFixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt;
    QmePciDev d = { .qt = qt, .bus = 1, .devfn = QME_PCI_DEVFN(1, 0) };

    g_assert_nonnull(qt);
    if (!qt) {
        return;
    }
    bridge_to_bus1(qt, 0x00011b36);
    g_assert_cmphex(qme_pci_config_readl(&d, 0), ==,
                    MYCFG_DEVICE_ID << 16 | MYCFG_VENDOR_ID);
    g_assert_cmphex(qme_pci_find_cap(&d, PCI_CAP_ID_EXP), ==, 0);
    g_assert_cmphex(qme_pci_config_readl(&d, VCAP(MYCFG_VCAP_OFF_FEATURES)) &
                    MYCFG_VCAP_FEAT_PCIE, ==, 0);
    g_assert_cmphex(qme_pci_config_readl(&d, 0x100), ==, 0xffffffff);
}

static void test_intx(QmePciFixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt;
    QmePciDev *d = f->dev;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    if (!qme_qtest_intercept_gic(qt)) {
        g_assert_not_reached();
        return;
    }
    g_assert_false(qme_qtest_irq_level(qt, INTX_LINE));

    /* Masked cause: status set, line stays low. */
    wr(f, MYCFG_REG_DOORBELL, 0x77);
    g_assert_cmphex(rd(f, MYCFG_REG_IRQ_STATUS), ==,
                    MYCFG_IRQ_STATUS_DOORBELL_MASK);
    g_assert_cmpuint(qme_qtest_irq_raise_count(qt, INTX_LINE), ==, 0);
    /* Unmasking a pending cause asserts the line. */
    wr(f, MYCFG_REG_IRQ_ENABLE, 0x7);
    g_assert_true(qme_qtest_irq_level(qt, INTX_LINE));
    g_assert_cmpuint(qme_qtest_irq_raise_count(qt, INTX_LINE), ==, 1);
    g_assert_cmphex(qme_pci_config_readw(d, PCI_STATUS) &
                    PCI_STATUS_INTERRUPT, ==, PCI_STATUS_INTERRUPT);
    /* W1C acknowledge: writing 0 changes nothing, 1 clears. */
    wr(f, MYCFG_REG_IRQ_STATUS, 0);
    g_assert_true(qme_qtest_irq_level(qt, INTX_LINE));
    wr(f, MYCFG_REG_IRQ_STATUS, MYCFG_IRQ_STATUS_DOORBELL_MASK);
    g_assert_cmphex(rd(f, MYCFG_REG_IRQ_STATUS), ==, 0);
    g_assert_false(qme_qtest_irq_level(qt, INTX_LINE));
    g_assert_cmpuint(qme_qtest_irq_lower_count(qt, INTX_LINE), ==, 1);
    g_assert_cmphex(qme_pci_config_readw(d, PCI_STATUS) &
                    PCI_STATUS_INTERRUPT, ==, 0);

    /* Two causes: the line stays up until both are acknowledged. */
    wr(f, MYCFG_REG_DOORBELL, 1);
    g_assert_cmphex(dma(f, false, RAM_A, 0, 16), ==,
                    MYCFG_DMA_STATUS_DONE_MASK);
    g_assert_cmphex(rd(f, MYCFG_REG_IRQ_STATUS), ==,
                    MYCFG_IRQ_STATUS_DOORBELL_MASK |
                    MYCFG_IRQ_STATUS_DMA_DONE_MASK);
    g_assert_cmpuint(qme_qtest_irq_raise_count(qt, INTX_LINE), ==, 2);
    wr(f, MYCFG_REG_IRQ_STATUS, MYCFG_IRQ_STATUS_DOORBELL_MASK);
    g_assert_true(qme_qtest_irq_level(qt, INTX_LINE));
    wr(f, MYCFG_REG_IRQ_STATUS, MYCFG_IRQ_STATUS_DMA_DONE_MASK);
    g_assert_false(qme_qtest_irq_level(qt, INTX_LINE));

    /* INTx Disable in the command register masks the line... */
    qme_qtest_irq_clear_counts(qt);
    qme_pci_config_writew(d, PCI_COMMAND, qme_pci_config_readw(d, PCI_COMMAND)
                          | PCI_COMMAND_INTX_OFF);
    wr(f, MYCFG_REG_DOORBELL, 1);
    g_assert_cmpuint(qme_qtest_irq_raise_count(qt, INTX_LINE), ==, 0);
    g_assert_false(qme_qtest_irq_level(qt, INTX_LINE));
    /* ...while the status bit still shows the pending interrupt... */
    g_assert_cmphex(qme_pci_config_readw(d, PCI_STATUS) &
                    PCI_STATUS_INTERRUPT, ==, PCI_STATUS_INTERRUPT);
    /* ...and clearing it delivers the pending one. */
    qme_pci_config_writew(d, PCI_COMMAND, qme_pci_config_readw(d, PCI_COMMAND)
                          & ~PCI_COMMAND_INTX_OFF);
    g_assert_true(qme_qtest_irq_level(qt, INTX_LINE));
    wr(f, MYCFG_REG_IRQ_STATUS, 0x7);
    g_assert_false(qme_qtest_irq_level(qt, INTX_LINE));

    /* Reset drops a pending interrupt. */
    wr(f, MYCFG_REG_DOORBELL, 1);
    g_assert_true(qme_qtest_irq_level(qt, INTX_LINE));
    g_assert_true(qme_qtest_system_reset(qt));
    g_assert_false(qme_qtest_irq_level(qt, INTX_LINE));
}

/*
 * INTx Disable (command register bit 10) set and cleared by byte writes to
 * config offset 0x05: the line follows, and a system_reset with the line
 * disabled while asserted keeps QEMU alive (it used to abort in
 * pcibus_reset(): found by the device storm, tests/storm).
 */
static void test_intx_disable_byte(QmePciFixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt;
    QmePciDev *d = f->dev;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    g_assert_true(qme_qtest_intercept_gic(qt));
    wr(f, MYCFG_REG_IRQ_ENABLE, MYCFG_IRQ_STATUS_DOORBELL_MASK);
    wr(f, MYCFG_REG_DOORBELL, 1);
    g_assert_true(qme_qtest_irq_level(qt, INTX_LINE));
    qme_pci_config_writeb(d, PCI_COMMAND_HI, PCI_COMMAND_INTX_OFF >> 8);
    g_assert_false(qme_qtest_irq_level(qt, INTX_LINE));
    qme_pci_config_writeb(d, PCI_COMMAND_HI, 0);
    g_assert_true(qme_qtest_irq_level(qt, INTX_LINE));
    qme_pci_config_writeb(d, PCI_COMMAND_HI, PCI_COMMAND_INTX_OFF >> 8);
    g_assert_false(qme_qtest_irq_level(qt, INTX_LINE));

    g_assert_true(qme_qtest_system_reset(qt));
    g_assert_false(qme_qtest_irq_level(qt, INTX_LINE));
    /* The bus counts the line right: it still goes up and down. */
    g_assert_true(qme_pci_assign_bars(d));
    wr(f, MYCFG_REG_IRQ_ENABLE, MYCFG_IRQ_STATUS_DOORBELL_MASK);
    wr(f, MYCFG_REG_DOORBELL, 1);
    g_assert_true(qme_qtest_irq_level(qt, INTX_LINE));
    wr(f, MYCFG_REG_IRQ_STATUS, MYCFG_IRQ_STATUS_DOORBELL_MASK);
    g_assert_false(qme_qtest_irq_level(qt, INTX_LINE));
}

static void test_msi(QmePciFixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt;
    QmePciDev *d = f->dev;
    uint16_t flags;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    flags = qme_pci_config_readw(d, MYCFG_MSI_CAP_OFFSET + 2);
    g_assert_cmphex(flags & 0x80, ==, 0x80);        /* 64-bit */
    g_assert_cmphex(flags & 0x0e, ==, 0);           /* one vector */
    if (has_gic()) {
        g_assert_true(qme_qtest_intercept_gic(qt));
    }

    qme_qtest_writel(qt, MSI_ADDR, 0);
    g_assert_true(qme_pci_msi_enable(d, MSI_ADDR, MSI_DATA));
    wr(f, MYCFG_REG_IRQ_ENABLE, 0x7);
    wr(f, MYCFG_REG_DOORBELL, 1);
    g_assert_cmphex(qme_qtest_readl(qt, MSI_ADDR), ==, MSI_DATA);
    g_assert_cmphex(rd(f, MYCFG_REG_IRQ_STATUS), ==,
                    MYCFG_IRQ_STATUS_DOORBELL_MASK);
    /* With MSI on, INTx stays quiet. */
    g_assert_cmpuint(qme_qtest_irq_raise_count(qt, INTX_LINE), ==, 0);
    wr(f, MYCFG_REG_IRQ_STATUS, 0x7);

    /* Each event is a message: DMA completion sends one. */
    qme_qtest_writel(qt, MSI_ADDR, 0);
    g_assert_cmphex(dma(f, false, RAM_A, 0, 64), ==,
                    MYCFG_DMA_STATUS_DONE_MASK);
    g_assert_cmphex(qme_qtest_readl(qt, MSI_ADDR), ==, MSI_DATA);
    wr(f, MYCFG_REG_IRQ_STATUS, 0x7);

    /* A masked cause sends nothing; unmasking it sends the message. */
    wr(f, MYCFG_REG_IRQ_ENABLE, 0);
    qme_qtest_writel(qt, MSI_ADDR, 0);
    wr(f, MYCFG_REG_DOORBELL, 1);
    g_assert_cmphex(qme_qtest_readl(qt, MSI_ADDR), ==, 0);
    wr(f, MYCFG_REG_IRQ_ENABLE, MYCFG_IRQ_ENABLE_DOORBELL_MASK);
    g_assert_cmphex(qme_qtest_readl(qt, MSI_ADDR), ==, MSI_DATA);

    /* Back to INTx: the still pending cause asserts the line. */
    qme_pci_msi_disable(d);
    g_assert_cmphex(qme_pci_config_readw(d, PCI_STATUS) &
                    PCI_STATUS_INTERRUPT, ==, PCI_STATUS_INTERRUPT);
    if (has_gic()) {
        g_assert_true(qme_qtest_irq_level(qt, INTX_LINE));
    }
    wr(f, MYCFG_REG_IRQ_STATUS, 0x7);
    g_assert_cmphex(qme_pci_config_readw(d, PCI_STATUS) &
                    PCI_STATUS_INTERRUPT, ==, 0);
    g_assert_false(qme_qtest_irq_level(qt, INTX_LINE));
}

static void test_msi_off(QmePciFixture *f, gconstpointer data)
{
    if (!qme_pci_fixture_ready(f, false)) {
        return;
    }
    g_assert_cmphex(qme_pci_find_cap(f->dev, PCI_CAP_ID_MSI), ==, 0);
    g_assert_false(qme_pci_msi_enable(f->dev, MSI_ADDR, MSI_DATA));
    g_assert_cmphex(qme_pci_config_readl(f->dev,
                                         VCAP(MYCFG_VCAP_OFF_FEATURES)) &
                    MYCFG_VCAP_FEAT_MSI, ==, 0);
    g_assert_cmphex(qme_pci_find_cap(f->dev, PCI_CAP_ID_VNDR), ==,
                    MYCFG_VCAP_OFFSET);
}

static void test_vendor_cap(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    QmeQTest *qt = f->qt;
    uint32_t features;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    g_assert_cmphex(qme_pci_find_cap(d, PCI_CAP_ID_VNDR), ==,
                    MYCFG_VCAP_OFFSET);
    g_assert_cmphex(qme_pci_config_readb(d, VCAP(2)), ==, MYCFG_VCAP_LEN);
    g_assert_cmphex(qme_pci_config_readb(d, VCAP(MYCFG_VCAP_OFF_VERSION)), ==,
                    MYCFG_VCAP_LAYOUT_VERSION);
    features = qme_pci_config_readl(d, VCAP(MYCFG_VCAP_OFF_FEATURES));
    g_assert_cmphex(features, ==, MYCFG_VCAP_FEAT_MSI | MYCFG_VCAP_FEAT_DMA |
                    16 << MYCFG_VCAP_FEAT_BAR2_LOG2_SHIFT);

    /* Read-only fields stay put (wmask 0), including the list linkage. */
    qme_pci_config_writel(d, VCAP(0), 0xffffffff);
    qme_pci_config_writel(d, VCAP(MYCFG_VCAP_OFF_FEATURES), 0xffffffff);
    g_assert_cmphex(qme_pci_config_readb(d, VCAP(0)), ==, PCI_CAP_ID_VNDR);
    g_assert_cmphex(qme_pci_config_readb(d, VCAP(2)), ==, MYCFG_VCAP_LEN);
    g_assert_cmphex(qme_pci_config_readl(d, VCAP(MYCFG_VCAP_OFF_FEATURES)),
                    ==, features);
    g_assert_cmphex(qme_pci_find_cap(d, PCI_CAP_ID_VNDR), ==,
                    MYCFG_VCAP_OFFSET);
    g_assert_cmphex(qme_pci_find_cap(d, PCI_CAP_ID_MSI), ==,
                    MYCFG_MSI_CAP_OFFSET);
    /* So do the header's IDs. */
    qme_pci_config_writel(d, 0x00, 0);
    qme_pci_config_writew(d, 0x2e, 0);
    g_assert_cmphex(qme_pci_config_readw(d, 0x00), ==, MYCFG_VENDOR_ID);
    g_assert_cmphex(qme_pci_config_readw(d, 0x2e), ==, MYCFG_SUBSYSTEM_ID);

    /* VALUE: a window onto BAR0's VALUE register, both ways. */
    g_assert_cmphex(qme_pci_config_readl(d, VCAP(MYCFG_VCAP_OFF_VALUE)), ==,
                    0x42);
    wr(f, MYCFG_REG_VALUE, 0x11223344);
    g_assert_cmphex(qme_pci_config_readl(d, VCAP(MYCFG_VCAP_OFF_VALUE)), ==,
                    0x11223344);
    g_assert_cmphex(qme_pci_config_readb(d, VCAP(MYCFG_VCAP_OFF_VALUE) + 2),
                    ==, 0x22);
    qme_pci_config_writel(d, VCAP(MYCFG_VCAP_OFF_VALUE), 0xa5a5f00d);
    g_assert_cmphex(rd(f, MYCFG_REG_VALUE), ==, 0xa5a5f00d);
    qme_pci_config_writeb(d, VCAP(MYCFG_VCAP_OFF_VALUE) + 3, 0x5a);
    g_assert_cmphex(rd(f, MYCFG_REG_VALUE), ==, 0x5aa5f00d);

    /* CTRL.RESET_REGS resets BAR0 (and drops a pending INTx); reads 0. */
    if (has_gic()) {
        g_assert_true(qme_qtest_intercept_gic(qt));
    }
    wr(f, MYCFG_REG_IRQ_ENABLE, 0x1);
    wr(f, MYCFG_REG_DOORBELL, 1);
    g_assert_cmphex(qme_pci_config_readw(d, PCI_STATUS) &
                    PCI_STATUS_INTERRUPT, ==, PCI_STATUS_INTERRUPT);
    g_assert_true(!has_gic() || qme_qtest_irq_level(qt, INTX_LINE));
    qme_pci_config_writeb(d, VCAP(MYCFG_VCAP_OFF_CTRL), 0xff);
    g_assert_cmphex(qme_pci_config_readb(d, VCAP(MYCFG_VCAP_OFF_CTRL)), ==, 0);
    g_assert_cmphex(rd(f, MYCFG_REG_VALUE), ==, 0x42);
    g_assert_cmphex(rd(f, MYCFG_REG_IRQ_STATUS), ==, 0);
    g_assert_cmphex(rd(f, MYCFG_REG_IRQ_ENABLE), ==, 0);
    g_assert_cmphex(qme_pci_config_readw(d, PCI_STATUS) &
                    PCI_STATUS_INTERRUPT, ==, 0);
    g_assert_false(qme_qtest_irq_level(qt, INTX_LINE));
    /* Reserved bytes of the capability are read-only 0. */
    qme_pci_config_writel(d, VCAP(MYCFG_VCAP_OFF_CTRL), 0xfffffffe);
    g_assert_cmphex(qme_pci_config_readl(d, VCAP(MYCFG_VCAP_OFF_CTRL)), ==, 0);
    /* Config space stays usable: BARs still decode. */
    g_assert_cmphex(rd(f, MYCFG_REG_VERSION), ==, MYCFG_VERSION_1_0);
}

static void test_reserved_config(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    const char *log;
    unsigned off;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    /* Every dword outside the header and capabilities: 0, write-proof. */
    for (off = 0x40; off < 0x100; off += 4) {
        bool in_cap = (off >= MYCFG_VCAP_OFFSET &&
                       off < MYCFG_VCAP_OFFSET + MYCFG_VCAP_LEN) ||
                      (off >= MYCFG_MSI_CAP_OFFSET &&
                       off < MYCFG_MSI_CAP_OFFSET + 0x14);

        if (in_cap) {
            continue;
        }
        qme_pci_config_writel(d, off, 0xffffffff);
        g_assert_cmphex(qme_pci_config_readl(d, off), ==, 0);
    }
    /* The writes were reported as guest errors. */
    log = qme_qtest_stderr(f->qt);
    g_assert_nonnull(strstr(log, "mypci_configurable: config write of 4 "
                                 "byte(s) at 0xf0"));
    g_assert_nonnull(strstr(log, "reserved config space"));
    /* Capabilities next to reserved space still take writes. */
    qme_pci_config_writel(d, VCAP(MYCFG_VCAP_OFF_VALUE), 0);
    g_assert_cmphex(rd(f, MYCFG_REG_VALUE), ==, 0);
    g_assert_cmphex(rd(f, MYCFG_REG_VERSION), ==, MYCFG_VERSION_1_0);
}

static void test_bar2(QmePciFixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt;
    uint8_t pattern[4096], back[4096];
    uint64_t base;
    int i;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    base = qme_pci_bar_cpu_addr(f->dev, 2);
    g_assert_cmphex(qme_pci_bar_readq(f->dev, 2, 0), ==, 0);
    qme_pci_bar_writeq(f->dev, 2, 8, 0x0011223344556677ULL);
    qme_pci_bar_writeb(f->dev, 2, MYCFG_BAR2_SIZE_DEFAULT - 1, 0xee);
    g_assert_cmphex(qme_pci_bar_readq(f->dev, 2, 8), ==,
                    0x0011223344556677ULL);
    g_assert_cmphex(qme_pci_bar_readl(f->dev, 2, 12), ==, 0x00112233);
    g_assert_cmphex(qme_pci_bar_readb(f->dev, 2,
                                      MYCFG_BAR2_SIZE_DEFAULT - 1), ==, 0xee);
    for (i = 0; i < sizeof(pattern); i++) {
        pattern[i] = i * 13 + 1;
    }
    qme_qtest_memwrite(qt, base + 0x3000, pattern, sizeof(pattern));
    qme_qtest_memread(qt, base + 0x3000, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), pattern, sizeof(pattern));
    /* Past the end of BAR2 nothing is mapped. */
    g_assert_cmphex(qme_qtest_readl(qt, base + MYCFG_BAR2_SIZE_DEFAULT), !=,
                    0xee);
    /* Contents survive a device reset, like RAM. */
    g_assert_true(qme_qtest_system_reset(qt));
    g_assert_true(qme_pci_assign_bars(f->dev));
    g_assert_cmphex(qme_pci_bar_readq(f->dev, 2, 8), ==,
                    0x0011223344556677ULL);
}

static void test_dma(QmePciFixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt;
    enum { LEN = 3 * MYCFG_DMA_CHUNK + 123, OFF = 0x1235 };
    g_autofree uint8_t *pattern = g_malloc(LEN);
    g_autofree uint8_t *back = g_malloc(LEN + 16);
    uint8_t zero[16] = { 0 };
    int i;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    for (i = 0; i < LEN; i++) {
        pattern[i] = g_random_int();
    }
    qme_qtest_memwrite(qt, RAM_A, pattern, LEN);
    qme_qtest_memset(qt, RAM_B, 0, LEN + 16);
    wr(f, MYCFG_REG_IRQ_ENABLE, 0x7);

    /* Guest memory -> BAR2 (unaligned offset, several chunks) */
    g_assert_cmphex(dma(f, false, RAM_A, OFF, LEN), ==,
                    MYCFG_DMA_STATUS_DONE_MASK);
    g_assert_cmphex(rd(f, MYCFG_REG_IRQ_STATUS), ==,
                    MYCFG_IRQ_STATUS_DMA_DONE_MASK);
    g_assert_cmphex(rd(f, MYCFG_REG_DMA_CMD), ==, 0);
    qme_qtest_memread(qt, qme_pci_bar_cpu_addr(f->dev, 2) + OFF, back, LEN);
    g_assert_cmpmem(back, LEN, pattern, LEN);
    g_assert_cmphex(qme_pci_bar_readb(f->dev, 2, OFF - 1), ==, 0);
    g_assert_cmphex(qme_pci_bar_readb(f->dev, 2, OFF + LEN), ==, 0);
    wr(f, MYCFG_REG_IRQ_STATUS, 0x7);

    /* BAR2 -> guest memory */
    g_assert_cmphex(dma(f, true, OFF, RAM_B, LEN), ==,
                    MYCFG_DMA_STATUS_DONE_MASK);
    g_assert_cmphex(rd(f, MYCFG_REG_IRQ_STATUS), ==,
                    MYCFG_IRQ_STATUS_DMA_DONE_MASK);
    qme_qtest_memread(qt, RAM_B, back, LEN + 16);
    g_assert_cmpmem(back, LEN, pattern, LEN);
    g_assert_cmpmem(back + LEN, 16, zero, 16);
    wr(f, MYCFG_REG_IRQ_STATUS, 0x7);

    /* Whole BAR2, and BAR2 -> BAR2 itself through its bus address. */
    g_assert_cmphex(dma(f, true, 0, RAM_B, MYCFG_BAR2_SIZE_DEFAULT), ==,
                    MYCFG_DMA_STATUS_DONE_MASK);
    g_assert_cmphex(dma(f, false, f->dev->bar[2].addr + OFF, OFF + 1, 256),
                    ==, MYCFG_DMA_STATUS_DONE_MASK);
    qme_qtest_memread(qt, qme_pci_bar_cpu_addr(f->dev, 2) + OFF + 1, back,
                      256);
    g_assert_cmpmem(back, 256, pattern, 256);
}

static void test_dma_errors(QmePciFixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt;
    QmePciDev *d = f->dev;
    const uint32_t size = MYCFG_BAR2_SIZE_DEFAULT;
    const uint32_t range = MYCFG_DMA_STATUS_ERR_RANGE_MASK;
    uint8_t canary[64], back[64];
    const char *log;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    memset(canary, 0x5c, sizeof(canary));
    qme_qtest_memwrite(qt, RAM_B, canary, sizeof(canary));
    qme_pci_bar_writeq(d, 2, 0, 0x1111111111111111ULL);
    wr(f, MYCFG_REG_IRQ_ENABLE, 0x7);

    g_assert_cmphex(dma(f, true, 0, RAM_B, 0), ==, range);
    g_assert_cmphex(dma(f, true, 0, RAM_B, size + 1), ==, range);
    g_assert_cmphex(dma(f, true, 0, RAM_B, 0xffffffff), ==, range);
    g_assert_cmphex(dma(f, true, size - 8, RAM_B, 9), ==, range);
    g_assert_cmphex(dma(f, false, RAM_A, size, 1), ==, range);
    g_assert_cmphex(dma(f, false, RAM_A, 0xfffffffffffffff0ULL, 0x20), ==,
                    range);
    g_assert_cmphex(dma(f, true, 0xffffffffffffffffULL, RAM_B, 1), ==, range);
    g_assert_cmphex(dma(f, true, 0, 0xfffffffffffffff0ULL, 0x20), ==, range);
    g_assert_cmphex(rd(f, MYCFG_REG_IRQ_STATUS), ==,
                    MYCFG_IRQ_STATUS_DMA_ERROR_MASK);
    wr(f, MYCFG_REG_IRQ_STATUS, 0x7);
    /* The last byte exactly is fine. */
    g_assert_cmphex(dma(f, true, size - 8, RAM_B, 8), ==,
                    MYCFG_DMA_STATUS_DONE_MASK);
    qme_qtest_memwrite(qt, RAM_B, canary, sizeof(canary));
    wr(f, MYCFG_REG_IRQ_STATUS, 0x7);

    /* Bus Master Enable off: refused, guest memory untouched. */
    qme_pci_config_writew(d, PCI_COMMAND, PCI_COMMAND_MEMORY);
    g_assert_cmphex(dma(f, true, 0, RAM_B, 8), ==,
                    MYCFG_DMA_STATUS_ERR_BME_MASK);
    g_assert_cmphex(dma(f, false, RAM_A, 0, 8), ==,
                    MYCFG_DMA_STATUS_ERR_BME_MASK);
    g_assert_cmphex(qme_pci_bar_readq(d, 2, 0), ==, 0x1111111111111111ULL);
    qme_pci_config_writew(d, PCI_COMMAND,
                          PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);

    /* Nothing decodes the bus address: a bus error, no crash. */
    g_assert_cmphex(dma(f, true, 0, UNMAPPED_ADDR, 8), ==,
                    MYCFG_DMA_STATUS_ERR_BUS_MASK);
    g_assert_cmphex(dma(f, false, UNMAPPED_ADDR, 0, 8), ==,
                    MYCFG_DMA_STATUS_ERR_BUS_MASK);
    g_assert_cmphex(qme_pci_bar_readq(d, 2, 0), ==, 0x1111111111111111ULL);
    g_assert_cmphex(rd(f, MYCFG_REG_IRQ_STATUS), ==,
                    MYCFG_IRQ_STATUS_DMA_ERROR_MASK);

    qme_qtest_memread(qt, RAM_B, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), canary, sizeof(canary));
    /* A good transfer clears the error bits. */
    g_assert_cmphex(dma(f, true, 0, RAM_B, 8), ==,
                    MYCFG_DMA_STATUS_DONE_MASK);
    log = qme_qtest_stderr(qt);
    g_assert_nonnull(strstr(log, "DMA refused: bad length"));
    g_assert_nonnull(strstr(log, "DMA refused: beyond the end of BAR2"));
    g_assert_nonnull(strstr(log, "DMA refused: bus range wraps"));
    g_assert_nonnull(strstr(log, "DMA refused: Bus Master Enable is off"));
    g_assert_nonnull(strstr(log, "failed (MemTxResult"));
}

static void test_migration(QmePciFixture *f, gconstpointer data)
{
    g_autofree char *dir = NULL;
    g_autofree char *file = NULL;
    g_autofree uint8_t *pattern = g_malloc(MYCFG_BAR2_SIZE_DEFAULT);
    g_autofree uint8_t *back = g_malloc(MYCFG_BAR2_SIZE_DEFAULT);
    QmeQTest *dst;
    QmePciDev *dd;
    int i;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    dir = g_dir_make_tmp("qme-mycfg-mig-XXXXXX", NULL);
    g_assert_nonnull(dir);
    file = g_build_filename(dir, "stream", NULL);
    for (i = 0; i < MYCFG_BAR2_SIZE_DEFAULT; i++) {
        pattern[i] = g_random_int();
    }
    /* Half the pattern by MMIO, half by DMA (the dirty-tracked path). */
    qme_qtest_memwrite(f->qt, qme_pci_bar_cpu_addr(f->dev, 2), pattern,
                       MYCFG_BAR2_SIZE_DEFAULT / 2);
    qme_qtest_memwrite(f->qt, RAM_A, pattern + MYCFG_BAR2_SIZE_DEFAULT / 2,
                       MYCFG_BAR2_SIZE_DEFAULT / 2);
    g_assert_cmphex(dma(f, false, RAM_A, MYCFG_BAR2_SIZE_DEFAULT / 2,
                        MYCFG_BAR2_SIZE_DEFAULT / 2), ==,
                    MYCFG_DMA_STATUS_DONE_MASK);
    wr(f, MYCFG_REG_VALUE, 0x600dcafe);
    wr(f, MYCFG_REG_IRQ_STATUS, 0x7);
    wr(f, MYCFG_REG_IRQ_ENABLE, MYCFG_IRQ_ENABLE_DOORBELL_MASK);
    wr(f, MYCFG_REG_DOORBELL, 1);         /* INTx asserted across migration */
    qme_pci_bar_writeq(f->dev, 0, MYCFG_REG_DMA_SRC, 0x1234567890ULL);
    g_assert_cmphex(qme_pci_config_readw(f->dev, PCI_STATUS) &
                    PCI_STATUS_INTERRUPT, ==, PCI_STATUS_INTERRUPT);
    g_assert_true(!has_gic() ||
                  (qme_qtest_readl(f->qt, GICD_ISPENDR(INTX_GIC_ID)) &
                   INTX_GIC_BIT));
    g_assert_true(qme_qtest_migrate_to_file(f->qt, file, 30000));

    dst = qme_qtest_start_incoming(file, REG_ARGS);
    g_assert_nonnull(dst);
    dd = dst ? qme_pci_find(dst, MYCFG_VENDOR_ID, MYCFG_DEVICE_ID, 0) : NULL;
    g_assert_nonnull(dd);
    if (dd) {
        QmePciFixture g = { .qt = dst, .dev = dd };

        /* Config space came along: BARs programmed, decoding on. */
        g_assert_true(qme_pci_bar_probe(dd, 0) && qme_pci_bar_probe(dd, 2));
        dd->bar[0].addr = f->dev->bar[0].addr;
        dd->bar[2].addr = f->dev->bar[2].addr;
        g_assert_cmphex(qme_pci_config_readl(dd, PCI_BASE_ADDRESS_0), ==,
                        f->dev->bar[0].addr);
        g_assert_cmphex(rd(&g, MYCFG_REG_VALUE), ==, 0x600dcafe);
        g_assert_cmphex(rd(&g, MYCFG_REG_IRQ_ENABLE), ==,
                        MYCFG_IRQ_ENABLE_DOORBELL_MASK);
        g_assert_cmphex(rd(&g, MYCFG_REG_IRQ_STATUS), ==,
                        MYCFG_IRQ_STATUS_DOORBELL_MASK);
        g_assert_cmphex(qme_pci_bar_readq(dd, 0, MYCFG_REG_DMA_SRC), ==,
                        0x1234567890ULL);
        g_assert_cmphex(qme_pci_config_readw(dd, PCI_STATUS) &
                        PCI_STATUS_INTERRUPT, ==, PCI_STATUS_INTERRUPT);
        qme_qtest_memread(dst, qme_pci_bar_cpu_addr(dd, 2), back,
                          MYCFG_BAR2_SIZE_DEFAULT);
        g_assert_cmpmem(back, MYCFG_BAR2_SIZE_DEFAULT, pattern,
                        MYCFG_BAR2_SIZE_DEFAULT);
        /* The line really is up at the GIC; acknowledging lowers it. */
        g_assert_true(!has_gic() ||
                      (qme_qtest_readl(dst, GICD_ISPENDR(INTX_GIC_ID)) &
                       INTX_GIC_BIT));
        wr(&g, MYCFG_REG_IRQ_STATUS, MYCFG_IRQ_STATUS_DOORBELL_MASK);
        g_assert_cmphex(qme_pci_config_readw(dd, PCI_STATUS) &
                        PCI_STATUS_INTERRUPT, ==, 0);
        g_assert_true(!has_gic() ||
                      !(qme_qtest_readl(dst, GICD_ISPENDR(INTX_GIC_ID)) &
                        INTX_GIC_BIT));
        /* The reg property of the destination still drives reset. */
        g_assert_true(qme_qtest_system_reset(dst));
        g_assert_true(qme_pci_assign_bars(dd));
        g_assert_cmphex(rd(&g, MYCFG_REG_VALUE), ==, 0x42);
        g_free(dd);
    }
    qme_qtest_quit(dst);
    g_unlink(file);
    g_rmdir(dir);
}

typedef struct BadProp {
    const char *opts;
    const char *expect;     /* in QEMU's message */
} BadProp;

static const BadProp bad_props[] = {
    { "reg=notanumber", "'reg'" },
    { "reg=0x100000000", "'reg'" },
    { "reg=-1", "'reg'" },
#define BAR2_RULE "must be a power of two from 4 KiB to 1 GiB"
    { "bar2-size=3000", "property 'bar2-size' (0xbb8) " BAR2_RULE },
    { "bar2-size=0", "property 'bar2-size' (0x0) " BAR2_RULE },
    { "bar2-size=2K", "property 'bar2-size' (0x800) " BAR2_RULE },
    { "bar2-size=2G", "property 'bar2-size' (0x80000000) " BAR2_RULE },
    { "bar2-size=lots", "'bar2-size'" },
    { "msi=maybe", "'msi'" },
    { "value=1", "property 'value' is settable only on a running device" },
};

static void test_bad_props(void)
{
    int i;

    for (i = 0; i < G_N_ELEMENTS(bad_props); i++) {
        g_autofree char *args = g_strdup_printf(
            "-device mypci_configurable,%s", bad_props[i].opts);
        g_autofree char *out = NULL;
        int status = qme_qemu_run(args, 30000, &out);

        g_test_message("%s -> %d: %s", args, status, out ? out : "");
        g_assert_cmpint(status, ==, 1);
        g_assert_nonnull(out);
        g_assert_nonnull(strstr(out ? out : "", bad_props[i].expect));
        g_assert_nonnull(strstr(out ? out : "", "-device mypci_configurable"));
    }
    /* Good values at the edges of the same properties start fine. */
    {
        QmeQTest *qt = qme_qtest_start("-device mypci_configurable,"
                                       "reg=4294967295,bar2-size=1G,msi=off");

        g_assert_nonnull(qt);
        g_assert_true(qt && qme_qtest_ok(qt));
        qme_qtest_quit(qt);
    }
}

#define ADD(name, fn, args) \
    g_test_add("/mypci_configurable/" name, QmePciFixture, args, setup, fn, \
               qme_pci_fixture_stop)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("ids", test_ids, REG_ARGS);
    ADD("bar2-size-property", test_bar2_size_prop,
        DEV_ARGS ",bar2-size=1M");
    ADD("registers", test_registers, REG_ARGS);
    ADD("wide-access", test_wide_access, REG_ARGS " -d guest_errors");
    ADD("reg-default", test_default_reg, DEV_ARGS);
    ADD("qom-value", test_qom_value, REG_ARGS);
    ADD("pcie-endpoint", test_pcie,
        "-device pcie-root-port,id=rp,chassis=1,addr=02.0 "
        "-device mypci_configurable,bus=rp,id=c0,reg=0x42");
    ADD("conventional-on-root-bus", test_conventional, REG_ARGS);
    ADD("conventional-below-pci-bridge", test_conventional_bridge,
        "-device pci-bridge,id=br,chassis_nr=1,addr=02.0 "
        "-device mypci_configurable,bus=br,addr=01.0,id=c0,reg=0x42");
    if (has_gic()) {
        ADD("intx", test_intx, REG_ARGS);
        ADD("intx-disable-byte-write", test_intx_disable_byte, REG_ARGS);
    }
    ADD("msi", test_msi, REG_ARGS);
    ADD("msi-off", test_msi_off, REG_ARGS ",msi=off");
    ADD("vendor-capability", test_vendor_cap, REG_ARGS);
    ADD("reserved-config", test_reserved_config,
        REG_ARGS " -d guest_errors");
    ADD("bar2", test_bar2, REG_ARGS);
    ADD("dma", test_dma, REG_ARGS);
    ADD("dma-errors", test_dma_errors, REG_ARGS " -d guest_errors");
    ADD("migration", test_migration, REG_ARGS);
    g_test_add_func("/mypci_configurable/bad-properties", test_bad_props);
    return g_test_run();
}
