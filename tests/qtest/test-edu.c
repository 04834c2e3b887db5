/*
 * qtest of QEMU's in-tree "edu" device (hw/misc/edu.c) in the distro
 * binary: proves the qme-qtest harness end to end (process handling, qtest
 * and QMP, PCI through ECAM, BAR sizing, MSI to guest RAM, INTx through an
 * intercepted GIC, DMA driven by the virtual clock, reset, migration).
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "qme-qtest.h"

#define EDU_VENDOR_ID       0x1234
#define EDU_DEVICE_ID       0x11e8
#define EDU_REVISION        0x10
#define EDU_BAR0_SIZE       (1024 * 1024)
#define EDU_SLOT            4

/* edu register map (see QEMU's docs/specs/edu.txt) */
#define EDU_REG_IDENT       0x00
#define EDU_REG_LIVENESS    0x04
#define EDU_REG_FACTORIAL   0x08
#define EDU_REG_STATUS      0x20
#define EDU_REG_IRQ_STATUS  0x24
#define EDU_REG_IRQ_RAISE   0x60
#define EDU_REG_IRQ_ACK     0x64
#define EDU_REG_DMA_SRC     0x80
#define EDU_REG_DMA_DST     0x88
#define EDU_REG_DMA_COUNT   0x90
#define EDU_REG_DMA_CMD     0x98

#define EDU_IDENT           0x010000ed
#define EDU_STATUS_COMPUTING 0x01
#define EDU_DMA_RUN         0x1
#define EDU_DMA_TO_RAM      0x2
#define EDU_DMA_BUF         0x40000

#define MSI_ADDR            (QME_VIRT_RAM_BASE + 0x1000)
#define MSI_DATA            0x4321
#define DMA_RAM_SRC         (QME_VIRT_RAM_BASE + 0x10000)
#define DMA_RAM_DST         (QME_VIRT_RAM_BASE + 0x20000)
#define EDU_DMA_DELAY_NS    (100 * 1000 * 1000)  /* edu's DMA timer: 100 ms */

#define EDU_ARGS "-device edu,addr=04.0,dma_mask=0xffffffffffffffff"

static void setup(QmePciFixture *f, gconstpointer data)
{
    qme_pci_fixture_start(f, EDU_VENDOR_ID, EDU_DEVICE_ID, EDU_ARGS);
}

static void test_ids(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;

    if (!qme_pci_fixture_ready(f, false)) {
        return;
    }
    g_assert_cmphex(d->devfn, ==, QME_PCI_DEVFN(EDU_SLOT, 0));
    g_assert_cmphex(qme_pci_config_readw(d, 0x00), ==, EDU_VENDOR_ID);
    g_assert_cmphex(qme_pci_config_readw(d, 0x02), ==, EDU_DEVICE_ID);
    g_assert_cmphex(qme_pci_config_readl(d, 0x00), ==,
                    EDU_DEVICE_ID << 16 | EDU_VENDOR_ID);
    g_assert_cmphex(qme_pci_config_readb(d, 0x08), ==, EDU_REVISION);
    /* class 0x00ff ("unclassified"), prog-if 0 */
    g_assert_cmphex(qme_pci_config_readl(d, 0x08) >> 8, ==, 0x00ff00);
    g_assert_cmphex(qme_pci_config_readb(d, 0x0e), ==, 0x00);
    /* QEMU's default subsystem IDs */
    g_assert_cmphex(qme_pci_config_readw(d, 0x2c), ==, 0x1af4);
    g_assert_cmphex(qme_pci_config_readw(d, 0x2e), ==, 0x1100);
    /* The host bridge is 00.0 and nothing else is on the bus. */
    g_assert_cmphex(qme_pci_cfg_read(f->qt, 0, 0, 0, 4), ==, 0x00081b36);
    g_assert_cmphex(qme_pci_cfg_read(f->qt, 0, QME_PCI_DEVFN(1, 0), 0, 4),
                    ==, 0xffffffff);
    g_assert_null(qme_pci_find(f->qt, EDU_VENDOR_ID, EDU_DEVICE_ID, 1));
}

static void test_bar_sizing(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    int i;

    if (!qme_pci_fixture_ready(f, false)) {
        return;
    }
    g_assert_true(qme_pci_bar_probe(d, 0));
    g_assert_false(d->bar[0].io);
    g_assert_false(d->bar[0].is64);
    g_assert_false(d->bar[0].prefetch);
    g_assert_cmphex(d->bar[0].size, ==, EDU_BAR0_SIZE);
    /* Probing restores the (unassigned) BAR. */
    g_assert_cmphex(qme_pci_config_readl(d, 0x10), ==, 0);
    for (i = 1; i < 6; i++) {
        g_assert_false(qme_pci_bar_probe(d, i));
    }

    g_assert_true(qme_pci_assign_bars(d));
    g_assert_cmphex(d->bar[0].addr, >=, QME_VIRT_PCIE_MMIO_BASE);
    g_assert_cmphex(d->bar[0].addr + d->bar[0].size - 1, <=,
                    QME_VIRT_PCIE_MMIO_END);
    g_assert_cmphex(d->bar[0].addr & (EDU_BAR0_SIZE - 1), ==, 0);
    g_assert_cmphex(qme_pci_config_readl(d, 0x10), ==, d->bar[0].addr);
    /* memory decoding and bus mastering on */
    g_assert_cmphex(qme_pci_config_readw(d, 0x04) & 0x7, ==, 0x6);
}

static void test_ident_liveness(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    g_assert_cmphex(qme_pci_bar_readl(d, 0, EDU_REG_IDENT), ==, EDU_IDENT);
    qme_pci_bar_writel(d, 0, EDU_REG_LIVENESS, 0x12345678);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, EDU_REG_LIVENESS), ==,
                    0xedcba987);
    qme_pci_bar_writel(d, 0, EDU_REG_LIVENESS, 0);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, EDU_REG_LIVENESS), ==,
                    0xffffffff);
    /* edu's MemoryRegionOps refuse 1- and 2-byte accesses: they read 0. */
    g_assert_cmphex(qme_pci_bar_readw(d, 0, EDU_REG_IDENT), ==, 0);
    g_assert_cmphex(qme_pci_bar_readb(d, 0, EDU_REG_IDENT), ==, 0);

    /* Memory decoding off: the BAR is gone, the window reads all-ones. */
    qme_pci_config_writew(d, 0x04, 0);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, EDU_REG_IDENT), ==, 0xffffffff);
    qme_pci_config_writew(d, 0x04, 0x6);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, EDU_REG_IDENT), ==, EDU_IDENT);
}

static void test_factorial(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    /* Computed by a device thread: poll the status register. */
    qme_pci_bar_writel(d, 0, EDU_REG_FACTORIAL, 12);
    while ((qme_pci_bar_readl(d, 0, EDU_REG_STATUS) & EDU_STATUS_COMPUTING) &&
           qme_qtest_ok(f->qt) && g_get_monotonic_time() < deadline) {
        g_usleep(1000);
    }
    g_assert_cmphex(qme_pci_bar_readl(d, 0, EDU_REG_STATUS) &
                    EDU_STATUS_COMPUTING, ==, 0);
    g_assert_cmpuint(qme_pci_bar_readl(d, 0, EDU_REG_FACTORIAL), ==,
                     479001600);
}

static void test_msi(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    uint8_t cap;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    cap = qme_pci_find_cap(d, 0x05);
    g_assert_cmphex(cap, !=, 0);
    g_assert_cmphex(qme_pci_find_cap(d, 0x11), ==, 0);   /* no MSI-X */
    /* 64-bit capable MSI */
    g_assert_cmphex(qme_pci_config_readw(d, cap + 2) & 0x80, ==, 0x80);

    qme_qtest_memset(f->qt, MSI_ADDR, 0, 16);
    g_assert_true(qme_pci_msi_enable(d, MSI_ADDR, MSI_DATA));
    g_assert_cmphex(qme_pci_config_readw(d, cap + 2) & 1, ==, 1);

    qme_pci_bar_writel(d, 0, EDU_REG_IRQ_RAISE, 0x5);
    g_assert_cmphex(qme_qtest_readl(f->qt, MSI_ADDR), ==, MSI_DATA);
    g_assert_cmphex(qme_qtest_readl(f->qt, MSI_ADDR + 4), ==, 0);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, EDU_REG_IRQ_STATUS), ==, 0x5);
    qme_pci_bar_writel(d, 0, EDU_REG_IRQ_ACK, 0x5);
    g_assert_cmphex(qme_pci_bar_readl(d, 0, EDU_REG_IRQ_STATUS), ==, 0);

    /* Without bus mastering the message must not reach memory. */
    qme_qtest_writel(f->qt, MSI_ADDR, 0);
    qme_pci_config_writew(d, 0x04, 0x2);
    qme_pci_bar_writel(d, 0, EDU_REG_IRQ_RAISE, 0x1);
    g_assert_cmphex(qme_qtest_readl(f->qt, MSI_ADDR), ==, 0);
}

static void test_intx(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    /* virt swizzles INTA of slot s to SPI 3 + s % 4 (GIC input s % 4 + 3) */
    int line = QME_VIRT_PCIE_SPI_BASE + EDU_SLOT % 4;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    if (!qme_qtest_intercept_gic(f->qt)) {
        return;
    }
    g_assert_false(qme_qtest_irq_level(f->qt, line));

    qme_pci_bar_writel(d, 0, EDU_REG_IRQ_RAISE, 0x1);
    g_assert_cmpuint(qme_qtest_irq_raise_count(f->qt, line), ==, 1);
    g_assert_true(qme_qtest_irq_level(f->qt, line));
    /* interrupt status bit in the PCI status register */
    g_assert_cmphex(qme_pci_config_readw(d, 0x06) & 0x8, ==, 0x8);

    qme_pci_bar_writel(d, 0, EDU_REG_IRQ_ACK, 0x1);
    g_assert_false(qme_qtest_irq_level(f->qt, line));
    g_assert_cmpuint(qme_qtest_irq_lower_count(f->qt, line), ==, 1);

    /* The factorial thread raises the IRQ asynchronously (status bit 7). */
    qme_pci_bar_writel(d, 0, EDU_REG_STATUS, 0x80);
    qme_pci_bar_writel(d, 0, EDU_REG_FACTORIAL, 5);
    g_assert_true(qme_qtest_irq_wait_raised(f->qt, line, 2, 10000));
    g_assert_cmphex(qme_pci_bar_readl(d, 0, EDU_REG_IRQ_STATUS), ==, 0x1);
    g_assert_cmpuint(qme_pci_bar_readl(d, 0, EDU_REG_FACTORIAL), ==, 120);

    /* INTx disable in the command register masks the line. */
    qme_pci_bar_writel(d, 0, EDU_REG_IRQ_ACK, 0x1);
    qme_qtest_irq_clear_counts(f->qt);
    qme_pci_config_writew(d, 0x04, qme_pci_config_readw(d, 0x04) | 0x400);
    qme_pci_bar_writel(d, 0, EDU_REG_IRQ_RAISE, 0x1);
    g_assert_cmpuint(qme_qtest_irq_raise_count(f->qt, line), ==, 0);
}

static void test_dma_clock(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    uint8_t pattern[256], back[256];
    int64_t t0, t1;
    int i;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    for (i = 0; i < sizeof(pattern); i++) {
        pattern[i] = i * 7 + 3;
    }
    qme_qtest_memwrite(f->qt, DMA_RAM_SRC, pattern, sizeof(pattern));
    qme_qtest_memset(f->qt, DMA_RAM_DST, 0xaa, sizeof(back));

    /* RAM -> edu buffer */
    qme_pci_bar_writeq(d, 0, EDU_REG_DMA_SRC, DMA_RAM_SRC);
    qme_pci_bar_writeq(d, 0, EDU_REG_DMA_DST, EDU_DMA_BUF);
    qme_pci_bar_writeq(d, 0, EDU_REG_DMA_COUNT, sizeof(pattern));
    qme_pci_bar_writeq(d, 0, EDU_REG_DMA_CMD, EDU_DMA_RUN);
    /* The transfer waits for 100 ms of virtual time, which only qtest moves */
    g_assert_cmphex(qme_pci_bar_readq(d, 0, EDU_REG_DMA_CMD) & EDU_DMA_RUN,
                    ==, EDU_DMA_RUN);
    t0 = qme_qtest_clock_step(f->qt, EDU_DMA_DELAY_NS / 2);
    g_assert_cmpint(t0, >, 0);
    g_assert_cmphex(qme_pci_bar_readq(d, 0, EDU_REG_DMA_CMD) & EDU_DMA_RUN,
                    ==, EDU_DMA_RUN);
    t1 = qme_qtest_clock_step(f->qt, EDU_DMA_DELAY_NS);
    g_assert_cmpint(t1 - t0, ==, EDU_DMA_DELAY_NS);
    g_assert_cmphex(qme_pci_bar_readq(d, 0, EDU_REG_DMA_CMD) & EDU_DMA_RUN,
                    ==, 0);

    /* edu buffer -> other RAM, then with clock_step to the next deadline */
    qme_pci_bar_writeq(d, 0, EDU_REG_DMA_SRC, EDU_DMA_BUF);
    qme_pci_bar_writeq(d, 0, EDU_REG_DMA_DST, DMA_RAM_DST);
    qme_pci_bar_writeq(d, 0, EDU_REG_DMA_CMD, EDU_DMA_RUN | EDU_DMA_TO_RAM);
    g_assert_cmpint(qme_qtest_clock_step(f->qt, 0), >=,
                    t1 + EDU_DMA_DELAY_NS);
    g_assert_cmphex(qme_pci_bar_readq(d, 0, EDU_REG_DMA_CMD) & EDU_DMA_RUN,
                    ==, 0);
    qme_qtest_memread(f->qt, DMA_RAM_DST, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), pattern, sizeof(pattern));
    g_assert_cmphex(qme_qtest_readb(f->qt, DMA_RAM_DST + sizeof(back)), ==,
                    0);
}

static void test_reset(QmePciFixture *f, gconstpointer data)
{
    QmePciDev *d = f->dev;
    uint8_t cap;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    cap = qme_pci_find_cap(d, 0x05);
    g_assert_true(qme_pci_msi_enable(d, MSI_ADDR, MSI_DATA));
    g_assert_cmphex(qme_pci_config_readl(d, 0x10), !=, 0);

    g_assert_true(qme_qtest_system_reset(f->qt));
    g_assert_cmphex(qme_pci_config_readw(d, 0x04), ==, 0);
    g_assert_cmphex(qme_pci_config_readl(d, 0x10), ==, 0);
    g_assert_cmphex(qme_pci_config_readw(d, cap + 2) & 1, ==, 0);
    g_assert_cmphex(qme_pci_config_readw(d, 0x00), ==, EDU_VENDOR_ID);

    g_assert_true(qme_pci_assign_bars(d));
    g_assert_cmphex(qme_pci_bar_readl(d, 0, EDU_REG_IDENT), ==, EDU_IDENT);
}

static void test_qmp(QmePciFixture *f, gconstpointer data)
{
    g_autofree char *r = NULL;
    g_autofree char *status = NULL;
    g_autofree char *err = NULL;
    g_autofree char *out = NULL;
    g_autofree char *path = NULL;

    if (!qme_pci_fixture_ready(f, false)) {
        return;
    }
    r = qme_qtest_qmp(f->qt, "{\"execute\": \"query-status\"}");
    g_assert_true(qme_qmp_is_return(r));
    status = qme_json_get(r, "return.status");
    g_assert_cmpstr(status, ==, "running");
    g_free(r);

    r = qme_qtest_qmp(f->qt, "{\"execute\": \"no-such-command\"}");
    g_assert_true(qme_qmp_is_error(r));
    g_assert_false(qme_qmp_is_return(r));
    err = qme_json_get(r, "error.class");
    g_assert_cmpstr(err, ==, "CommandNotFound");
    g_assert_true(qme_qtest_ok(f->qt));

    out = qme_qtest_hmp(f->qt, "info pci");
    g_assert_nonnull(out);
    g_assert_nonnull(strstr(out ? out : "", "PCI device 1234:11e8"));

    path = qme_qtest_qom_find_type(f->qt, "/machine", "edu");
    g_assert_cmpstr(path, ==, "/machine/peripheral-anon/device[0]");
}

static void test_migration(QmePciFixture *f, gconstpointer data)
{
    g_autofree char *dir = NULL;
    g_autofree char *file = NULL;
    QmeQTest *dst;
    QmePciDev *dd;
    uint8_t pattern[4096], back[4096];
    int i;

    if (!qme_pci_fixture_ready(f, true)) {
        return;
    }
    dir = g_dir_make_tmp("qme-edu-mig-XXXXXX", NULL);
    g_assert_nonnull(dir);
    file = g_build_filename(dir, "stream", NULL);
    for (i = 0; i < sizeof(pattern); i++) {
        pattern[i] = g_random_int();
    }
    qme_qtest_memwrite(f->qt, QME_VIRT_RAM_BASE + 0x100000, pattern,
                       sizeof(pattern));
    g_assert_true(qme_qtest_migrate_to_file(f->qt, file, 30000));

    dst = qme_qtest_start_incoming(file, EDU_ARGS);
    g_assert_nonnull(dst);
    g_assert_true(qme_qtest_ok(dst));
    if (qme_qtest_ok(dst)) {
        qme_qtest_memread(dst, QME_VIRT_RAM_BASE + 0x100000, back,
                          sizeof(back));
        g_assert_cmpmem(back, sizeof(back), pattern, sizeof(pattern));
        /*
         * edu has no VMState in QEMU 7.2, so its config space does not
         * travel: the destination's edu is unconfigured until the BARs are
         * assigned again (mypci_minimal's test checks device state).
         */
        dd = qme_pci_find(dst, EDU_VENDOR_ID, EDU_DEVICE_ID, 0);
        g_assert_nonnull(dd);
        if (dd) {
            g_assert_cmphex(qme_pci_config_readl(dd, 0x10), ==, 0);
            g_assert_true(qme_pci_assign_bars(dd));
            g_assert_cmphex(qme_pci_bar_readl(dd, 0, EDU_REG_IDENT), ==,
                            EDU_IDENT);
            g_free(dd);
        }
    }
    qme_qtest_quit(dst);
    g_unlink(file);
    g_rmdir(dir);
}

/* A device property QEMU does not know: QEMU's error, exit status 1. */
static void test_bad_property(void)
{
    g_autofree char *out = NULL;
    int status = qme_qemu_run("-device edu,nosuchprop=1", 30000, &out);

    g_assert_cmpint(status, ==, 1);
    g_assert_nonnull(strstr(out, "nosuchprop"));
}

/* The harness reports a QEMU that dies at start-up, with its stderr. */
static void test_start_failure(void)
{
    if (g_test_subprocess()) {
        QmeQTest *qt = qme_qtest_start("-device edu,nosuchprop=1");

        g_assert_null(qt);
        return;
    }
    g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*QEMU exited with status 1*");
    g_test_trap_assert_stderr("*Property 'edu.nosuchprop' not found*");
}

/*
 * A stuck QEMU makes a command fail after the timeout instead of hanging.
 * Start-up keeps the default bound: a slow host (or a sanitizer build)
 * can take more than the one second the stuck command gets.
 */
static void test_timeout(void)
{
    if (g_test_subprocess()) {
        QmeQTest *qt = qme_qtest_start(NULL);

        g_assert_nonnull(qt);
        qme_qtest_set_timeout(qt, 1000);
        qme_qtest_kill(qt, SIGSTOP);
        qme_qtest_readl(qt, QME_VIRT_RAM_BASE);
        g_assert_false(qme_qtest_ok(qt));
        /* Later calls return at once. */
        qme_qtest_readl(qt, QME_VIRT_RAM_BASE);
        qme_qtest_kill(qt, SIGKILL);
        qme_qtest_quit(qt);
        return;
    }
    g_test_trap_subprocess(NULL, 30 * G_USEC_PER_SEC, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*timeout (1000 ms)*readl*");
}

/* A QEMU crash is a test failure even if the test itself passed. */
static void test_crash_detected(void)
{
    if (g_test_subprocess()) {
        QmeQTest *qt = qme_qtest_start(NULL);

        g_assert_nonnull(qt);
        kill(qme_qtest_pid(qt), SIGABRT);
        qme_qtest_wait_exit(qt, 10000, NULL);
        qme_qtest_quit(qt);
        return;
    }
    g_test_trap_subprocess(NULL, 30 * G_USEC_PER_SEC, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*died of signal 6*");
}

static void test_json(void)
{
    const char *j = "{\"return\": [{\"name\": \"a\\\"b\", \"x\": [1, {}]},"
                    " {\"name\": \"c\\u00e9\", \"v\": -12, \"t\": true}]}";
    g_autofree char *a = qme_json_get(j, "return.0.name");
    g_autofree char *c = qme_json_get(j, "return.1.name");
    g_autofree char *v = qme_json_get(j, "return.1.v");
    g_autofree char *x = qme_json_get(j, "return.0.x");
    g_autofree char *q = qme_json_quote("a\"\\\n");

    g_assert_cmpstr(a, ==, "a\"b");
    g_assert_cmpstr(c, ==, "c\xc3\xa9");
    g_assert_cmpstr(v, ==, "-12");
    g_assert_cmpstr(x, ==, "[1, {}]");
    g_assert_null(qme_json_get(j, "return.2"));
    g_assert_null(qme_json_get(j, "error"));
    g_assert_true(qme_json_has(j, "return.1.t"));
    g_assert_cmpstr(q, ==, "\"a\\\"\\\\\\u000a\"");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();

#define ADD(path, fn) \
    g_test_add(path, QmePciFixture, NULL, setup, fn, qme_pci_fixture_stop)
    ADD("/edu/pci/ids", test_ids);
    ADD("/edu/pci/bar-sizing", test_bar_sizing);
    ADD("/edu/mmio/ident-liveness", test_ident_liveness);
    ADD("/edu/mmio/factorial", test_factorial);
    ADD("/edu/irq/msi", test_msi);
    ADD("/edu/irq/intx", test_intx);
    ADD("/edu/dma-clock", test_dma_clock);
    ADD("/edu/system-reset", test_reset);
    ADD("/edu/qmp", test_qmp);
    ADD("/edu/migration", test_migration);
#undef ADD
    g_test_add_func("/edu/bad-property", test_bad_property);
    g_test_add_func("/harness/json", test_json);
    g_test_add_func("/harness/start-failure", test_start_failure);
    g_test_add_func("/harness/timeout", test_timeout);
    g_test_add_func("/harness/crash-detected", test_crash_detected);

    return g_test_run();
}
