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
    (void)opaque;
    printf("Client connected from %s\n", peer);
    fflush(stdout);
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
    QmeSdServerCli cli = { .port = 7890 };
    char err[256];
    QmeSdServerOps ops = qme_sd_regblock_ops;
    QmeSdServer *srv;
    int i;

    for (i = 1; i < argc; i++) {
        if (!qme_sd_server_cli_arg(&cli, argc, argv, &i)) {
            fprintf(stderr, "usage: %s " QME_SD_SERVER_CLI_USAGE "\n",
                    argv[0]);
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
    if (!srv) {
        fprintf(stderr, "sockdev-uart-server: out of memory\n");
        return 1;
    }
    if (qme_sd_server_cli_start(srv, &cli, err, sizeof(err)) < 0) {
        fprintf(stderr, "sockdev-uart-server: %s\n", err);
        qme_sd_server_free(srv);
        return 1;
    }
    if (cli.unix_path) {
        printf("MMIO Device Server listening on unix:%s\n", cli.unix_path);
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

    i = qme_sd_server_cli_serve(srv, &cli);
    if (i < 0) {
        perror("sockdev-uart-server");
    }
    qme_sd_server_free(srv);
    return i < 0;
}
