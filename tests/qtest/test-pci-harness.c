/*
 * qtest of the harness's generic PCI code with stock devices of the distro
 * binary: e1000e (several 32-bit BARs, an I/O BAR, MSI-X, PCIe extended
 * capabilities) and nvme (a 64-bit BAR, low and high window), on virt and
 * (QME_QTEST_MACHINE=q35) on q35, where the I/O BAR is x86 port I/O.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <glib.h>

#include "qme-qtest.h"

#define E1000E_ARGS "-netdev user,id=n0 " \
                    "-device e1000e,addr=03.0,netdev=n0,romfile="
#define E1000E_VENDOR_ID    0x8086
#define E1000E_DEVICE_ID    0x10d3
#define E1000E_REG_STATUS   0x0008
#define E1000E_REG_ICS      0x00c8
#define E1000E_REG_IMS      0x00d0
#define E1000E_REG_IVAR     0x00e4
#define E1000E_ICR_LSC      0x00000004
#define E1000E_ICR_OTHER    0x01000000
#define E1000E_IVAR_OTHER(vec) ((0x8 | (vec)) << 16)

#define NVME_ARGS "-drive if=none,id=d0,driver=null-co,size=1M " \
                  "-device nvme,addr=05.0,drive=d0,serial=qme"
#define NVME_VENDOR_ID      0x1b36
#define NVME_DEVICE_ID      0x0010
#define NVME_REG_VS         0x08
#define NVME_VS_1_4         0x00010400

#define MSIX_ADDR           (qme_qtest_ram_base() + 0x3000)

static void test_e1000e(void)
{
    const QmeMachine *m = qme_qtest_machine_info();
    QmeQTest *qt = qme_qtest_start(E1000E_ARGS);
    QmePciDev *d = qt ? qme_pci_find(qt, E1000E_VENDOR_ID, E1000E_DEVICE_ID,
                                     0) : NULL;
    uint64_t end = 0;
    int i;

    g_assert_nonnull(d);
    if (!d) {
        qme_qtest_quit(qt);
        return;
    }
    g_assert_cmphex(d->devfn, ==, QME_PCI_DEVFN(3, 0));
    g_assert_true(qme_pci_assign_bars(d));
    /* BAR0 MMIO 128K, BAR1 flash 128K, BAR2 I/O 32 bytes, BAR3 MSI-X 16K */
    g_assert_cmphex(d->bar[0].size, ==, 128 * 1024);
    g_assert_cmphex(d->bar[1].size, ==, 128 * 1024);
    g_assert_true(d->bar[2].io);
    g_assert_cmphex(d->bar[2].size, ==, 32);
    g_assert_cmphex(d->bar[3].size, ==, 16 * 1024);
    g_assert_false(d->bar[4].present);
    g_assert_false(d->bar[5].present);
    for (i = 0; i < 4; i++) {
        QmePciBar *b = &d->bar[i];

        g_assert_false(b->is64);
        g_assert_cmphex(b->addr & (b->size - 1), ==, 0);
        if (b->io) {
            g_assert_cmphex(b->addr, >=, m->io_base);
            g_assert_cmphex(b->addr + b->size - 1, <=, m->io_end);
            g_assert_cmphex(qme_pci_config_readl(d, 0x10 + 4 * i) & ~3u, ==,
                            b->addr);
        } else {
            /* placed in order, without overlap, in the low window */
            g_assert_cmphex(b->addr, >=, MAX(end, m->mmio32_base));
            end = b->addr + b->size;
            g_assert_cmphex(end - 1, <=, m->mmio32_end);
        }
    }
    /* I/O, memory and bus master enabled */
    g_assert_cmphex(qme_pci_config_readw(d, 0x04) & 0x7, ==, 0x7);
    g_assert_cmphex(qme_pci_bar_cpu_addr(d, 2), ==,
                    m->pio_window + d->bar[2].addr);
    /* The I/O BAR answers: IOADDR selects a register, IODATA reads it. */
    qme_pci_bar_writel(d, 2, 0, E1000E_REG_STATUS);
    g_assert_cmphex(qme_pci_bar_readl(d, 2, 0), ==, E1000E_REG_STATUS);
    g_assert_cmphex(qme_pci_bar_readl(d, 2, 4), ==,
                    qme_pci_bar_readl(d, 0, E1000E_REG_STATUS));
    g_assert_cmphex(qme_pci_bar_readl(d, 2, 4), !=, 0);

    /* capabilities: PCIe, MSI-X; extended: AER (id 1) at 0x100 */
    g_assert_cmphex(qme_pci_find_cap(d, 0x10), !=, 0);
    g_assert_cmphex(qme_pci_find_cap(d, 0x11), !=, 0);
    g_assert_cmphex(qme_pci_find_cap(d, 0x09), ==, 0);
    g_assert_cmphex(qme_pci_find_ext_cap(d, 0x0001), ==, 0x100);
    g_assert_cmphex(qme_pci_find_ext_cap(d, 0x0018), ==, 0);

    /* MSI-X vector 0 for "other" causes; a link-status-change interrupt */
    qme_qtest_memset(qt, MSIX_ADDR, 0, 16);
    g_assert_true(qme_pci_msix_enable(d, 0, MSIX_ADDR, 0xabcd1234));
    qme_pci_bar_writel(d, 0, E1000E_REG_IVAR, E1000E_IVAR_OTHER(0));
    qme_pci_bar_writel(d, 0, E1000E_REG_IMS, E1000E_ICR_OTHER |
                       E1000E_ICR_LSC);
    g_assert_cmphex(qme_qtest_readl(qt, MSIX_ADDR), ==, 0);
    qme_pci_bar_writel(d, 0, E1000E_REG_ICS, E1000E_ICR_LSC);
    g_assert_cmphex(qme_qtest_readl(qt, MSIX_ADDR), ==, 0xabcd1234);

    /* MSI-X off: the same cause writes nothing. */
    qme_qtest_writel(qt, MSIX_ADDR, 0);
    qme_pci_msix_disable(d);
    qme_pci_bar_writel(d, 0, E1000E_REG_ICS, E1000E_ICR_LSC);
    g_assert_cmphex(qme_qtest_readl(qt, MSIX_ADDR), ==, 0);

    g_free(d);
    qme_qtest_quit(qt);
}

static void test_nvme_bar64(gconstpointer data)
{
    bool high = GPOINTER_TO_INT(data);
    QmeQTest *qt = qme_qtest_start(NVME_ARGS);
    QmePciDev *d = qt ? qme_pci_find(qt, NVME_VENDOR_ID, NVME_DEVICE_ID, 0)
                      : NULL;

    g_assert_nonnull(d);
    if (!d) {
        qme_qtest_quit(qt);
        return;
    }
    d->bar64_high = high;
    g_assert_true(qme_pci_assign_bars(d));
    g_assert_true(d->bar[0].is64);
    g_assert_false(d->bar[0].prefetch);
    g_assert_cmphex(d->bar[0].size, ==, 16 * 1024);
    g_assert_false(d->bar[1].present);       /* upper half of BAR0 */
    if (high) {
        g_assert_cmphex(d->bar[0].addr, ==,
                        qme_qtest_machine_info()->mmio64_base);
        g_assert_cmphex(qme_pci_config_readl(d, 0x14), ==,
                        qme_qtest_machine_info()->mmio64_base >> 32);
    } else {
        g_assert_cmphex(d->bar[0].addr, ==,
                        qme_qtest_machine_info()->mmio32_base);
        g_assert_cmphex(qme_pci_config_readl(d, 0x14), ==, 0);
    }
    g_assert_cmphex(qme_pci_config_readl(d, 0x10) & ~0xfu, ==,
                    (uint32_t)d->bar[0].addr);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, NVME_REG_VS), ==, NVME_VS_1_4);
    g_assert_cmphex(qme_qtest_readl(qt, d->bar[0].addr + NVME_REG_VS), ==,
                    NVME_VS_1_4);

    g_free(d);
    qme_qtest_quit(qt);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();

    g_test_add_func("/pci-harness/e1000e", test_e1000e);
    g_test_add_data_func("/pci-harness/nvme-bar64-low", GINT_TO_POINTER(0),
                         test_nvme_bar64);
    g_test_add_data_func("/pci-harness/nvme-bar64-high", GINT_TO_POINTER(1),
                         test_nvme_bar64);

    return g_test_run();
}
