/*
 * qtest of mypci_minimal in the distro qemu-system-aarch64 (-M virt), and
 * in qemu-system-x86_64 -M q35 (QME_QTEST_MACHINE=q35).
 *
 * The device (seed 002): a conventional PCI function 1af4:1234 rev 01,
 * class 00ff, subsystem 1af4:1100, one 4 KiB 32-bit non-prefetchable
 * memory BAR holding one 32-bit read/write register (reset value 0).
 * Offsets and IDs come from the generated mypci_minimal-regs.h.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "qme-qtest.h"
#include "mypci_minimal-regs.h"

#define DEVICE_ARGS "-device mypci_minimal"

/* PCI config space offsets (PCI Local Bus spec) */
#define PCI_VENDOR_ID           0x00
#define PCI_DEVICE_ID           0x02
#define PCI_COMMAND             0x04
#define PCI_STATUS              0x06
#define PCI_REVISION_ID         0x08
#define PCI_CLASS_PROG          0x09
#define PCI_CLASS_DEVICE        0x0a
#define PCI_HEADER_TYPE         0x0e
#define PCI_BASE_ADDRESS_0      0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_INTERRUPT_PIN       0x3d

/* @data: more QEMU arguments, or NULL */
static void setup(QmePciFixture *f, gconstpointer data)
{
    qme_pci_fixture_start(f, MYPCI_VENDOR_ID, MYPCI_DEVICE_ID, DEVICE_ARGS "%s",
                          data ? (const char *)data : "");
}

/* The generated interface header says what seed 002 specifies. */
static void test_header_matches_spec(void)
{
    g_assert_cmphex(MYPCI_VENDOR_ID, ==, 0x1af4);
    g_assert_cmphex(MYPCI_DEVICE_ID, ==, 0x1234);
    g_assert_cmphex(MYPCI_REVISION, ==, 0x01);
    g_assert_cmphex(MYPCI_CLASS, ==, 0x00ff);
    g_assert_cmphex(MYPCI_SUBSYSTEM_VENDOR_ID, ==, 0x1af4);
    g_assert_cmphex(MYPCI_SUBSYSTEM_ID, ==, 0x1100);
    g_assert_cmphex(MYPCI_BAR0_SIZE, ==, 4096);
    g_assert_cmpuint(MYPCI_REG_VALUE_SIZE, ==, 4);
    g_assert_cmphex(MYPCI_REG_VALUE + MYPCI_REG_VALUE_SIZE, <=,
                    MYPCI_REGS_SPAN);
    g_assert_cmphex(MYPCI_REGS_SPAN, <, MYPCI_BAR0_SIZE);
}

static void test_ids(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;

    if (!qme_pci_fixture_ready(f, false)) {
        return;
    }
    g_assert_cmphex(qme_pci_config_readw(d, PCI_VENDOR_ID), ==,
                    MYPCI_VENDOR_ID);
    g_assert_cmphex(qme_pci_config_readw(d, PCI_DEVICE_ID), ==,
                    MYPCI_DEVICE_ID);
    g_assert_cmphex(qme_pci_config_readb(d, PCI_REVISION_ID), ==,
                    MYPCI_REVISION);
    g_assert_cmphex(qme_pci_config_readw(d, PCI_CLASS_DEVICE), ==,
                    MYPCI_CLASS);
    g_assert_cmphex(qme_pci_config_readb(d, PCI_CLASS_PROG), ==, 0);
    /* class code 0x00ff0000 as one dword with the revision */
    g_assert_cmphex(qme_pci_config_readl(d, PCI_REVISION_ID), ==,
                    (MYPCI_CLASS << 16) | MYPCI_REVISION);
    g_assert_cmphex(qme_pci_config_readw(d, PCI_SUBSYSTEM_VENDOR_ID), ==,
                    MYPCI_SUBSYSTEM_VENDOR_ID);
    g_assert_cmphex(qme_pci_config_readw(d, PCI_SUBSYSTEM_ID), ==,
                    MYPCI_SUBSYSTEM_ID);
    /* type 0 header, single function, no capabilities, no interrupt */
    g_assert_cmphex(qme_pci_config_readb(d, PCI_HEADER_TYPE), ==, 0);
    g_assert_cmphex(qme_pci_config_readw(d, PCI_STATUS) & 0x10, ==, 0);
    g_assert_cmphex(qme_pci_config_readb(d, PCI_INTERRUPT_PIN), ==, 0);
    /* exactly one such function */
    g_assert_null(qme_pci_find(f->qt, MYPCI_VENDOR_ID, MYPCI_DEVICE_ID, 1));
}

static void test_bar_sizing(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    uint32_t v;
    int i;

    if (!qme_pci_fixture_ready(f, false)) {
        return;
    }
    /* By hand: all-ones in, size mask and type bits out. */
    g_assert_cmphex(qme_pci_config_readl(d, PCI_BASE_ADDRESS_0), ==, 0);
    qme_pci_config_writel(d, PCI_BASE_ADDRESS_0, 0xffffffff);
    v = qme_pci_config_readl(d, PCI_BASE_ADDRESS_0);
    qme_pci_config_writel(d, PCI_BASE_ADDRESS_0, 0);
    g_assert_cmphex(v & 0x1, ==, 0);            /* memory */
    g_assert_cmphex(v & 0x6, ==, 0);            /* 32-bit */
    g_assert_cmphex(v & 0x8, ==, 0);            /* non-prefetchable */
    g_assert_cmphex(v & ~0xfu, ==, (uint32_t)~(MYPCI_BAR0_SIZE - 1));
    g_assert_cmphex(v, ==, 0xfffff000);

    /* The harness's probe agrees, and no other BAR exists. */
    g_assert_true(qme_pci_bar_probe(d, 0));
    g_assert_false(d->bar[0].io);
    g_assert_false(d->bar[0].is64);
    g_assert_false(d->bar[0].prefetch);
    g_assert_cmphex(d->bar[0].size, ==, MYPCI_BAR0_SIZE);
    for (i = 1; i < 6; i++) {
        g_assert_false(qme_pci_bar_probe(d, i));
    }

    g_assert_true(qme_pci_assign_bars(d));
    g_assert_cmphex(qme_pci_config_readl(d, PCI_BASE_ADDRESS_0), ==,
                    d->bar[0].addr);
    g_assert_cmphex(d->bar[0].addr & (MYPCI_BAR0_SIZE - 1), ==, 0);
}

static void test_register(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    const uint64_t r = MYPCI_REG_VALUE;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    g_assert_cmphex(qme_pci_bar_readl(d, 0, r), ==, 0);     /* reset */

    qme_pci_bar_writel(d, 0, r, 0x11223344);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, r), ==, 0x11223344);
    qme_pci_bar_writel(d, 0, r, 0xffffffff);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, r), ==, 0xffffffff);
    qme_pci_bar_writel(d, 0, r, 0x11223344);

    /* Sub-word reads see the byte lanes, little-endian. */
    g_assert_cmphex(qme_pci_bar_readb(d, 0, r + 0), ==, 0x44);
    g_assert_cmphex(qme_pci_bar_readb(d, 0, r + 1), ==, 0x33);
    g_assert_cmphex(qme_pci_bar_readb(d, 0, r + 2), ==, 0x22);
    g_assert_cmphex(qme_pci_bar_readb(d, 0, r + 3), ==, 0x11);
    g_assert_cmphex(qme_pci_bar_readw(d, 0, r + 0), ==, 0x3344);
    g_assert_cmphex(qme_pci_bar_readw(d, 0, r + 2), ==, 0x1122);

    /* Sub-word writes change only their lanes. */
    qme_pci_bar_writeb(d, 0, r + 1, 0xaa);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, r), ==, 0x1122aa44);
    qme_pci_bar_writeb(d, 0, r + 3, 0x00);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, r), ==, 0x0022aa44);
    qme_pci_bar_writew(d, 0, r + 2, 0xbeef);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, r), ==, 0xbeefaa44);
    qme_pci_bar_writew(d, 0, r + 0, 0x5566);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, r), ==, 0xbeef5566);
}

static void test_unmapped(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    uint64_t off;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    qme_pci_bar_writel(d, 0, MYPCI_REG_VALUE, 0xcafef00d);
    /* Past the register block, up to the end of the BAR: reads 0 ... */
    for (off = MYPCI_REGS_SPAN; off < MYPCI_BAR0_SIZE; off += 0x3fc) {
        g_assert_cmphex(qme_pci_bar_readl(d, 0, off), ==, 0);
    }
    g_assert_cmphex(qme_pci_bar_readl(d, 0, MYPCI_BAR0_SIZE - 4), ==, 0);
    g_assert_cmphex(qme_pci_bar_readb(d, 0, MYPCI_BAR0_SIZE - 1), ==, 0);
    /* ... and writes there change nothing. */
    qme_pci_bar_writel(d, 0, MYPCI_REGS_SPAN, 0x12345678);
    qme_pci_bar_writel(d, 0, MYPCI_BAR0_SIZE - 4, 0x12345678);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, MYPCI_REGS_SPAN), ==, 0);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, MYPCI_REG_VALUE), ==, 0xcafef00d);
}

/*
 * An 8-byte access at the register covers it and the unmapped bytes after
 * it: refused as a whole, with the defined result (reads 0, the write is
 * dropped, a guest error names the span), whether a guest readq() or the
 * monitor's "xp /2wx" (one 8-byte access) does it.
 */
static void test_wide_access(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    const uint64_t r = MYPCI_REG_VALUE;
    uint32_t w[2] = { 0xdead, 0xdead };

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    qme_pci_bar_writel(d, 0, r, 0x11223344);
    g_assert_cmphex(qme_pci_bar_readq(d, 0, r), ==, 0);
    g_assert_nonnull(strstr(qme_qtest_stderr(f->qt),
                            "mypci_minimal: read of 8 byte(s) at 0x0 "
                            "(VALUE..unmapped, value 0x0): bad access size"));
    qme_pci_bar_writeq(d, 0, r, 0x5555555566666666ULL);
    g_assert_nonnull(strstr(qme_qtest_stderr(f->qt),
                            "mypci_minimal: write of 8 byte(s) at 0x0 "
                            "(VALUE..unmapped, value 0x5555555566666666): "
                            "bad access size"));
    g_assert_cmphex(qme_pci_bar_readl(d, 0, r), ==, 0x11223344);

    g_assert_cmpuint(qme_qtest_xp_words(f->qt, qme_pci_bar_cpu_addr(d, 0),
                                        2, w), ==, 2);
    g_assert_cmphex(w[0], ==, 0);
    g_assert_cmphex(w[1], ==, 0);
    /* One word is a 4-byte access: the register. */
    g_assert_cmpuint(qme_qtest_xp_words(f->qt, qme_pci_bar_cpu_addr(d, 0),
                                        1, w), ==, 1);
    g_assert_cmphex(w[0], ==, 0x11223344);
}

static void test_decode_disable(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    uint16_t cmd;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    qme_pci_bar_writel(d, 0, MYPCI_REG_VALUE, 0x600df00d);
    /* Memory decoding off: the BAR no longer answers; the value stays. */
    cmd = qme_pci_config_readw(d, PCI_COMMAND);
    qme_pci_config_writew(d, PCI_COMMAND, cmd & ~0x2);
    qme_pci_bar_writel(d, 0, MYPCI_REG_VALUE, 0x1);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, MYPCI_REG_VALUE), ==,
                    qme_qtest_unassigned_readl());
    qme_pci_config_writew(d, PCI_COMMAND, cmd);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, MYPCI_REG_VALUE), ==, 0x600df00d);
}

static void test_system_reset(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    qme_pci_bar_writel(d, 0, MYPCI_REG_VALUE, 0xa5a5a5a5);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, MYPCI_REG_VALUE), ==, 0xa5a5a5a5);

    g_assert_true(qme_qtest_system_reset(f->qt));
    /* Reset unmapped the BAR; map it again. */
    g_assert_cmphex(qme_pci_config_readl(d, PCI_BASE_ADDRESS_0), ==, 0);
    g_assert_cmphex(qme_pci_config_readw(d, PCI_COMMAND), ==, 0);
    g_assert_true(qme_pci_assign_bars(d));
    g_assert_cmphex(qme_pci_bar_readl(d, 0, MYPCI_REG_VALUE), ==, 0);
}

static void test_migration(QmePciFixture *f, gconstpointer data)
{
    g_autofree char *dir = NULL;
    g_autofree char *file = NULL;
    QmeQTest *dst;
    QmePciDev *dd = NULL;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    dir = g_dir_make_tmp("qme-mypci-mig-XXXXXX", NULL);
    g_assert_nonnull(dir);
    file = g_build_filename(dir, "stream", NULL);
    qme_pci_bar_writel(f->dev, 0, MYPCI_REG_VALUE, 0x5eed1234);
    g_assert_true(qme_qtest_migrate_to_file(f->qt, file, 30000));

    dst = qme_qtest_start_incoming(file, DEVICE_ARGS);
    g_assert_true(qme_qtest_ok(dst));
    if (qme_qtest_ok(dst)) {
        dd = qme_pci_find(dst, MYPCI_VENDOR_ID, MYPCI_DEVICE_ID, 0);
    }
    g_assert_nonnull(dd);
    if (dd) {
        /* Config space (BAR, command) and the register travelled. */
        g_assert_cmphex(qme_pci_config_readl(dd, PCI_BASE_ADDRESS_0), ==,
                        f->dev->bar[0].addr);
        g_assert_cmphex(qme_pci_config_readw(dd, PCI_COMMAND) & 0x2, ==, 0x2);
        g_assert_cmphex(qme_qtest_readl(dst, f->dev->bar[0].addr +
                                        MYPCI_REG_VALUE), ==, 0x5eed1234);
        /* ... and is still a live register on the destination. */
        qme_qtest_writel(dst, f->dev->bar[0].addr + MYPCI_REG_VALUE, 7);
        g_assert_cmphex(qme_qtest_readl(dst, f->dev->bar[0].addr +
                                        MYPCI_REG_VALUE), ==, 7);
        g_free(dd);
    }
    qme_qtest_quit(dst);
    g_unlink(file);
    g_rmdir(dir);
}

static void test_listed(void)
{
    g_autofree char *out = NULL;

    g_assert_cmpint(qme_qemu_run("-device help", 30000, &out), ==, 0);
    g_assert_nonnull(strstr(out, "name \"mypci_minimal\""));
}

static void test_bad_property(void)
{
    g_autofree char *out = NULL;
    int status = qme_qemu_run(DEVICE_ARGS ",nosuchprop=1", 30000, &out);

    g_assert_cmpint(status, ==, 1);
    g_assert_nonnull(strstr(out,
                            "Property 'mypci_minimal.nosuchprop' not found"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();

    g_test_add_func("/mypci_minimal/header-matches-spec",
                    test_header_matches_spec);
    g_test_add_func("/mypci_minimal/listed", test_listed);
    g_test_add_func("/mypci_minimal/bad-property", test_bad_property);
#define ADD_ARGS(path, fn, args) \
    g_test_add("/mypci_minimal/" path, QmePciFixture, args, setup, fn, \
               qme_pci_fixture_stop)
#define ADD(path, fn) ADD_ARGS(path, fn, NULL)
    ADD("pci/ids", test_ids);
    ADD("pci/bar-sizing", test_bar_sizing);
    ADD("mmio/register", test_register);
    ADD("mmio/unmapped", test_unmapped);
    ADD_ARGS("mmio/wide-access", test_wide_access, " -d guest_errors");
    ADD("mmio/decode-disable", test_decode_disable);
    ADD("system-reset", test_system_reset);
    ADD("migration", test_migration);
#undef ADD
#undef ADD_ARGS

    return g_test_run();
}
