/*
 * Benchmark: minimal-pcie-nic DMA throughput as a ratio of host memcpy.
 *
 * For 64 KiB to 1 MiB, a qtest-driven QEMU copies guest RAM to the device
 * buffer and back (DIR=TO_DEVICE then FROM_DEVICE: 2 x SIZE bytes moved).
 * Transfers are synchronous inside the DMA_CMD write, so the engine's
 * time is the wall time of "write DMA_CMD with START, read DMA_STATUS"
 * minus that of the same two qtest round trips without START (which do
 * not copy): the qtest socket cost cancels out.  It is compared with
 * memcpy of the same bytes between host buffers in this process.  Best of
 * ROUNDS each, to cut scheduling noise on a shared machine; the raw
 * figure including the qtest round trips is printed too.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <glib.h>

#include "qme-qtest.h"
#include "minimal_pcie_nic-regs.h"

#define RAM_A   (QME_VIRT_RAM_BASE + 0x1000000)
#define RAM_B   (QME_VIRT_RAM_BASE + 0x2000000)
#define ROUNDS  100

/* Seconds, to the nanosecond: a 64 KiB copy takes only microseconds. */
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double best_memcpy(size_t len)
{
    g_autofree uint8_t *a = g_malloc(len);
    g_autofree uint8_t *b = g_malloc(len);
    g_autofree uint8_t *c = g_malloc(len);
    double best = 1e9;
    int i;

    memset(a, 0x5a, len);
    memset(b, 0, len);
    memset(c, 0, len);
    for (i = 0; i < ROUNDS; i++) {
        double t0 = now();

        memcpy(b, a, len);
        memcpy(c, b, len);
        best = MIN(best, now() - t0);
        a[i % len] ^= c[(i * 7) % len];     /* keep the copies live */
    }
    return best;
}

/* Seconds for DMA_CMD (with @start or not) + DMA_STATUS; status in @st. */
static double timed_cmd(QmePciDev *d, unsigned dir, uint64_t src,
                        uint64_t dst, uint32_t len, bool start, uint32_t *st)
{
    double t0;

    qme_pci_bar_writeq(d, 0, MPN_REG_DMA_SRC, src);
    qme_pci_bar_writeq(d, 0, MPN_REG_DMA_DST, dst);
    qme_pci_bar_writel(d, 0, MPN_REG_DMA_LEN, len);
    qme_pci_bar_writel(d, 0, MPN_REG_DMA_STATUS, 0xffffffff);
    t0 = now();
    qme_pci_bar_writel(d, 0, MPN_REG_DMA_CMD,
                       QME_FIELD_PREP(MPN_DMA_CMD, START, start) |
                       QME_FIELD_PREP(MPN_DMA_CMD, DIR, dir));
    *st = qme_pci_bar_readl(d, 0, MPN_REG_DMA_STATUS);
    return now() - t0;
}

int main(void)
{
    static const size_t sizes[] = { 64 << 10, 256 << 10, 1 << 20 };
    QmeQTest *qt = qme_qtest_start("-m 256 -device minimal-pcie-nic");
    QmePciDev *d = qt ? qme_pci_find(qt, MPN_VENDOR_ID, MPN_DEVICE_ID, 0)
                      : NULL;
    double worst = 1e9;
    unsigned i;
    int r;

    if (!d || !qme_pci_assign_bars(d)) {
        fprintf(stderr, "bench: device not found or BARs not assigned\n");
        return 1;
    }
    qme_qtest_memset(qt, RAM_A, 0xa5, 1 << 20);
    printf("# DMA engine (guest RAM to device buffer to guest RAM, driven "
           "by qtest, qtest round trips subtracted) vs host memcpy of the "
           "same bytes, best of %d\n", ROUNDS);
    for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
        size_t len = sizes[i];
        double host = best_memcpy(len), ratio, best;
        double run_in = 1e9, run_out = 1e9, idle_in = 1e9, idle_out = 1e9;
        uint32_t s1, s2, s3, s4;

        for (r = 0; r < ROUNDS; r++) {
            run_in = MIN(run_in, timed_cmd(d, MPN_DIR_TO_DEVICE, RAM_A, 0,
                                           len, true, &s1));
            run_out = MIN(run_out, timed_cmd(d, MPN_DIR_FROM_DEVICE, 0,
                                             RAM_B, len, true, &s2));
            idle_in = MIN(idle_in, timed_cmd(d, MPN_DIR_TO_DEVICE, RAM_A, 0,
                                             len, false, &s3));
            idle_out = MIN(idle_out, timed_cmd(d, MPN_DIR_FROM_DEVICE, 0,
                                               RAM_B, len, false, &s4));
            if (s1 != MPN_DMA_STATUS_DONE_MASK ||
                s2 != MPN_DMA_STATUS_DONE_MASK || s3 || s4) {
                fprintf(stderr, "bench: DMA status 0x%x/0x%x/0x%x/0x%x\n",
                        s1, s2, s3, s4);
                return 1;
            }
        }
        best = MAX(run_in - idle_in, 0.0000001) +
               MAX(run_out - idle_out, 0.0000001);
        ratio = host / best;
        worst = MIN(worst, ratio);
        printf("dma %7zu B: engine %8.1f MB/s (with qtest round trips "
               "%8.1f MB/s), memcpy %8.1f MB/s, ratio %.2f\n", len,
               2 * len / best / 1e6, 2 * len / (run_in + run_out) / 1e6,
               2 * len / host / 1e6, ratio);
    }
    printf("dma worst ratio %.2f (goal >= 0.5): %s\n", worst,
           worst >= 0.5 ? "met" : "NOT met");
    g_free(d);
    qme_qtest_quit(qt);
    return 0;
}
