/*
 * Test device server for mmio-sockdev's v1 features: a register table
 * (sockdev-test.regs.toml) whose command registers make the server raise
 * and lower the interrupt, DMA through guest RAM and break protocol rules
 * on request, so test-sockdev-v1.py can check how QEMU reacts.  State
 * save/restore is the library's register-table default.
 *
 * DMA_GO inverts the bytes on their way through the server: a copy that
 * did not pass through the server cannot produce them.  While it waits
 * for QEMU's DMA replies the library keeps answering QEMU's requests, so
 * RESULT says BUSY until the copy is done, as a real device's status
 * register would.
 *
 * Usage: sockdev-test-server (--unix PATH | --port N)
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qme/sockdev-server.h"
#include "sockdev_test-regtable.h"

#define TEST_WINDOW 0x1000
#define DMA_TIMEOUT_MS 2000

/* The server's state: the hooks reach it through the block's opaque. */
typedef struct TestServer {
    QmeSdServer *srv;
    uint8_t dma_buf[QME_SD_MAX_DATA];
} TestServer;

static QmeSdServer *server_of(QmeRegBlock *blk)
{
    return ((TestServer *)blk->opaque)->srv;
}

static void set_result(QmeRegBlock *blk, int rc)
{
    qme_reg_set(blk, SDTEST_R_RESULT,
                rc < 0 ? SDTEST_RESULT_REFUSED : (uint32_t)rc);
}

void sockdev_test_irq_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                 uint64_t old_value, uint64_t new_value)
{
    (void)reg;
    (void)old_value;
    set_result(blk, qme_sd_server_set_irq(server_of(blk), 0,
                                          new_value & SDTEST_IRQ_LEVEL_MASK));
}

void sockdev_test_dma_go_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                    uint64_t old_value, uint64_t new_value)
{
    TestServer *t = blk->opaque;
    uint8_t *buf = t->dma_buf;
    uint32_t len = (uint32_t)qme_reg_get(blk, SDTEST_R_DMA_LEN), i;
    int rc;

    (void)reg;
    (void)old_value;
    if (!(new_value & 1)) {
        return;
    }
    if (len == 0 || len > sizeof(t->dma_buf)) {
        set_result(blk, QME_SD_ST_ERROR);
        return;
    }
    qme_reg_set(blk, SDTEST_R_RESULT, SDTEST_RESULT_BUSY);
    rc = qme_sd_server_dma_read(t->srv, qme_reg_get(blk, SDTEST_R_DMA_SRC),
                                buf, len, DMA_TIMEOUT_MS);
    if (rc == QME_SD_ST_OK) {
        for (i = 0; i < len; i++) {
            buf[i] ^= 0xff;
        }
        rc = qme_sd_server_dma_write(t->srv,
                                     qme_reg_get(blk, SDTEST_R_DMA_DST),
                                     buf, len, DMA_TIMEOUT_MS);
    }
    set_result(blk, rc);
}

void sockdev_test_misbehave_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                       uint64_t old_value, uint64_t new_value)
{
    (void)reg;
    (void)old_value;
    if (new_value == SDTEST_MISBEHAVE_IRQ_LINE1) {
        set_result(blk, qme_sd_server_set_irq(server_of(blk), 1, true));
    }
}

uint64_t sockdev_test_transport_read(QmeRegBlock *blk, const QmeReg *reg,
                                     uint64_t value)
{
    (void)reg;
    (void)value;
    return qme_sd_server_shm(server_of(blk));
}

uint64_t sockdev_test_vtime_read(QmeRegBlock *blk, const QmeReg *reg,
                                 uint64_t value)
{
    (void)reg;
    (void)value;
    return qme_sd_server_vtime(server_of(blk));
}

static void on_connected(void *opaque, const char *peer)
{
    (void)opaque;
    printf("connected %s\n", peer);
    fflush(stdout);
}

static void on_disconnected(void *opaque, const char *why)
{
    /* The next QEMU starts from a fresh device, as after power-on. */
    qme_regblock_reset(opaque);
    printf("disconnected (%s)\n", why);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    uint64_t values[SDTEST_NUM_REGS];
    TestServer t = { 0 };
    QmeSdServerOps ops = qme_sd_regblock_ops;
    char addr[300], err[256];
    QmeRegBlock blk;

    if (argc == 3 && !strcmp(argv[1], "--unix")) {
        snprintf(addr, sizeof(addr), "unix:%s", argv[2]);
    } else if (argc == 3 && !strcmp(argv[1], "--port")) {
        snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%s", argv[2]);
    } else {
        fprintf(stderr, "usage: %s (--unix PATH | --port N)\n", argv[0]);
        return 2;
    }
    if (qme_regblock_init(&blk, sockdev_test_regs, SDTEST_NUM_REGS, values,
                          &t, err, sizeof(err)) < 0) {
        fprintf(stderr, "register table: %s\n", err);
        return 1;
    }
    qme_regblock_reset(&blk);
    ops.connected = on_connected;
    ops.disconnected = on_disconnected;
    t.srv = qme_sd_server_new(&ops, &blk, TEST_WINDOW, QME_SD_CAP_ALL);
    if (!t.srv) {
        fprintf(stderr, "sockdev-test-server: out of memory\n");
        return 1;
    }
    if (qme_sd_server_stop_on_signals(t.srv) < 0) {
        perror("sockdev-test-server: signals");
        qme_sd_server_free(t.srv);
        return 1;
    }
    if (qme_sd_server_listen(t.srv, addr, err, sizeof(err)) < 0) {
        fprintf(stderr, "sockdev-test-server: %s\n", err);
        qme_sd_server_free(t.srv);
        return 1;
    }
    printf("listening on %s\n", addr);
    fflush(stdout);
    while (!qme_sd_server_stopped(t.srv)) {
        if (qme_sd_server_run_once(t.srv, 200) < 0) {
            break;
        }
    }
    qme_sd_server_free(t.srv);
    return 0;
}
