/*
 * qtest of @@NAME@@ in the installed qemu-system-aarch64 -M virt: the
 * register values read back through BAR0, as @@NAME@@.regs.toml says.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <glib.h>

#include "qme-qtest.h"
#include "@@C@@-regs.h"

#define PCI_CLASS_DEVICE 0x0a

typedef struct Fixture {
    QmeQTest *qt;
    QmePciDev *dev;
} Fixture;

static void setup(Fixture *f, gconstpointer data)
{
    f->qt = qme_qtest_start("-device @@NAME@@");
    g_assert_nonnull(f->qt);
    f->dev = qme_pci_find(f->qt, @@UPPER@@_VENDOR_ID, @@UPPER@@_DEVICE_ID, 0);
    g_assert_nonnull(f->dev);
    /* No firmware runs under qtest: the harness places the BARs. */
    g_assert_true(qme_pci_assign_bars(f->dev));
}

static void teardown(Fixture *f, gconstpointer data)
{
    g_free(f->dev);
    qme_qtest_quit(f->qt);
}

static void test_identity(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(qme_pci_config_readw(f->dev, PCI_CLASS_DEVICE), ==,
                    @@UPPER@@_CLASS);
    g_assert_cmpuint(f->dev->bar[0].size, ==, @@UPPER@@_BAR0_SIZE);
    g_assert_cmphex(qme_pci_bar_readl(f->dev, 0, @@UPPER@@_REG_ID), ==,
                    @@MAGIC@@);
}

static void test_value(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(qme_pci_bar_readl(f->dev, 0, @@UPPER@@_REG_VALUE), ==, 0);
    qme_pci_bar_writel(f->dev, 0, @@UPPER@@_REG_VALUE, 0xcafe0042);
    g_assert_cmphex(qme_pci_bar_readl(f->dev, 0, @@UPPER@@_REG_VALUE), ==,
                    0xcafe0042);
    /* The ID register is read-only: a write is dropped. */
    qme_pci_bar_writel(f->dev, 0, @@UPPER@@_REG_ID, 0);
    g_assert_cmphex(qme_pci_bar_readl(f->dev, 0, @@UPPER@@_REG_ID), ==,
                    @@MAGIC@@);
    /* An offset no register covers reads 0 (and logs a guest error). */
    g_assert_cmphex(qme_pci_bar_readl(f->dev, 0, 0x100), ==, 0);
    g_assert_true(qme_qtest_ok(f->qt));
}

static void test_reset(Fixture *f, gconstpointer data)
{
    qme_pci_bar_writel(f->dev, 0, @@UPPER@@_REG_VALUE, 0x12345678);
    g_assert_true(qme_qtest_system_reset(f->qt));
    /* Reset clears the BARs too: place them again. */
    g_assert_true(qme_pci_assign_bars(f->dev));
    g_assert_cmphex(qme_pci_bar_readl(f->dev, 0, @@UPPER@@_REG_VALUE), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/@@NAME@@/identity", Fixture, NULL, setup, test_identity,
               teardown);
    g_test_add("/@@NAME@@/value", Fixture, NULL, setup, test_value, teardown);
    g_test_add("/@@NAME@@/reset", Fixture, NULL, setup, test_reset, teardown);
    return g_test_run();
}
