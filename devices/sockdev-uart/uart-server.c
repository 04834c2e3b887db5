/*
 * Reference device server for mmio-sockdev: the seed's UART (TXDATA prints
 * a character, STATUS.TXREADY always 1, CTRL.ENABLE gates printing), its
 * registers a register table (sockdev-uart.regs.toml) served by the sockdev
 * server library.  Speaks both the basic and the v1 protocol.  The table
 * and its hooks are uart-model.c, which the in-QEMU twin (sockdev-uart.c)
 * runs too: only where characters go differs.
 *
 * Usage: sockdev-uart-server [--port N] [--host ADDR] [--unix PATH]
 *                            [--once] [--quiet]
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qme/sockdev-server.h"
#include "uart-model.h"

#define UART_WINDOW 0x1000

/* Everything the server keeps: no globals, the hooks reach it from blk. */
typedef struct UartServer {
    SockdevUartModel model;
    uint64_t values[SDUART_NUM_REGS];
    QmeRegBlock blk;
    bool was_connected;
} UartServer;

/* The model's sink: the seed's server printed to its stdout. */
static void uart_tx_stdout(SockdevUartModel *m, uint8_t ch)
{
    (void)m;
    putchar(ch);
    fflush(stdout);
}

static void on_connected(void *opaque, const char *peer)
{
    QmeRegBlock *blk = opaque;
    SockdevUartModel *model = blk->opaque;
    UartServer *u = model->opaque;

    printf("Client connected from %s\n", peer);
    fflush(stdout);
    u->was_connected = true;
}

static void on_disconnected(void *opaque, const char *why)
{
    QmeRegBlock *blk = opaque;

    fprintf(stderr, "Client disconnected (%s)\n", why);
    /* A new QEMU starts from a fresh device, as after power-on. */
    qme_regblock_reset(blk);
}

static const char *access_letters(QmeRegAccess a)
{
    switch (a) {
    case QME_REG_RO:
    case QME_REG_RC:
        return "R";
    case QME_REG_WO:
        return "W";
    default:
        return "R/W";
    }
}

int main(int argc, char **argv)
{
    UartServer u = { .model = { .tx = uart_tx_stdout } };
    const char *host = "127.0.0.1", *unix_path = NULL;
    int port = 7890, i;
    bool quiet = false, once = false;
    char addr[300], err[256];
    QmeSdServerOps ops = qme_sd_regblock_ops;
    QmeSdServer *srv;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--host") && i + 1 < argc) {
            host = argv[++i];
        } else if (!strcmp(argv[i], "--unix") && i + 1 < argc) {
            unix_path = argv[++i];
        } else if (!strcmp(argv[i], "--once")) {
            once = true;
        } else if (!strcmp(argv[i], "--quiet")) {
            quiet = true;
        } else {
            fprintf(stderr, "usage: %s [--port N] [--host ADDR] "
                    "[--unix PATH] [--once] [--quiet]\n", argv[0]);
            return 2;
        }
    }
    if (qme_regblock_init(&u.blk, sockdev_uart_regs, SDUART_NUM_REGS, u.values,
                          NULL, err, sizeof(err)) < 0) {
        fprintf(stderr, "register table: %s\n", err);
        return 1;
    }
    u.model.opaque = &u;
    sockdev_uart_model_attach(&u.blk, &u.model);
    qme_regblock_reset(&u.blk);
    ops.connected = on_connected;
    ops.disconnected = on_disconnected;
    srv = qme_sd_server_new(&ops, &u.blk, UART_WINDOW, QME_SD_CAP_STATE);
    if (unix_path) {
        snprintf(addr, sizeof(addr), "unix:%s", unix_path);
    } else {
        snprintf(addr, sizeof(addr), "tcp:%s:%d", host, port);
    }
    if (!srv) {
        fprintf(stderr, "sockdev-uart-server: out of memory\n");
        return 1;
    }
    if (qme_sd_server_listen(srv, addr, err, sizeof(err)) < 0) {
        fprintf(stderr, "sockdev-uart-server: %s\n", err);
        qme_sd_server_free(srv);
        return 1;
    }
    if (quiet) {
        qme_sd_server_set_log(srv, NULL);
    }
    if (qme_sd_server_stop_on_signals(srv) < 0) {
        perror("sockdev-uart-server: signals");
        qme_sd_server_free(srv);
        return 1;
    }

    if (unix_path) {
        printf("MMIO Device Server listening on %s\n", addr);
    } else {
        printf("MMIO Device Server listening on port %d\n",
               qme_sd_server_port(srv));
    }
    printf("Register map:\n");
    for (i = 0; i < SDUART_NUM_REGS; i++) {
        const QmeReg *r = &sockdev_uart_regs[i];

        printf("  0x%02x %s (%s): %s\n", r->offset, r->name,
               access_letters(r->access), r->doc);
    }
    printf("Waiting for QEMU connection...\n");
    fflush(stdout);

    while (!qme_sd_server_stopped(srv) &&
           !(once && u.was_connected && !qme_sd_server_connected(srv))) {
        if (qme_sd_server_run_once(srv, 200) < 0) {
            break;
        }
    }
    qme_sd_server_free(srv);
    return 0;
}
