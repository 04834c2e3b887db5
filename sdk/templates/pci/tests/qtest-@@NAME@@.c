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

static void setup(QmePciFixture *f, gconstpointer data)
{
    qme_pci_fixture_start(f, @@UPPER@@_VENDOR_ID, @@UPPER@@_DEVICE_ID,
                          "-device @@NAME@@");
    /* No firmware runs under qtest: the harness places the BARs. */
    g_assert_true(qme_pci_fixture_ready(f, true));
}

static void test_identity(QmePciFixture *f, gconstpointer data)
{
    g_assert_cmphex(qme_pci_config_readw(f->dev, PCI_CLASS_DEVICE), ==,
                    @@UPPER@@_CLASS);
    g_assert_cmpuint(f->dev->bar[0].size, ==, @@UPPER@@_BAR0_SIZE);
    g_assert_cmphex(qme_pci_bar_readl(f->dev, 0, @@UPPER@@_REG_ID), ==,
                    @@MAGIC@@);
}

static void test_value(QmePciFixture *f, gconstpointer data)
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

static void test_reset(QmePciFixture *f, gconstpointer data)
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
    g_test_add("/@@NAME@@/identity", QmePciFixture, NULL, setup,
               test_identity, qme_pci_fixture_stop);
    g_test_add("/@@NAME@@/value", QmePciFixture, NULL, setup, test_value,
               qme_pci_fixture_stop);
    g_test_add("/@@NAME@@/reset", QmePciFixture, NULL, setup, test_reset,
               qme_pci_fixture_stop);
    return g_test_run();
}
