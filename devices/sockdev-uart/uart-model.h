/*
 * The seed's UART (sockdev-uart.regs.toml) as one register table and one
 * set of hooks, shared by the in-QEMU model (sockdev-uart.c) and the
 * external device server (uart-server.c).  Plain C: no QEMU, no sockets.
 * Where a character goes is the embedder's business: a sink it supplies.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef SOCKDEV_UART_MODEL_H
#define SOCKDEV_UART_MODEL_H

#include <stdint.h>
/*
 * The table, sockdev_uart_regs[SDUART_NUM_REGS], sorted by offset; its
 * hooks are bound to the model below.
 */
#include "sockdev_uart-regtable.h"

typedef struct SockdevUartModel SockdevUartModel;

struct SockdevUartModel {
    /* Called with each character written to TXDATA while CTRL.ENABLE is 1. */
    void (*tx)(SockdevUartModel *m, uint8_t ch);
    void *opaque;               /* the embedder's, untouched by the model */
};

/*
 * Make @blk (already bound to sockdev_uart_regs) run the model's hooks on @m:
 * the hooks find the model through blk->opaque, so call it after
 * qme_regblock_init() or qme_mmio_regs_init(), which set that field.
 */
void sockdev_uart_model_attach(QmeRegBlock *blk, SockdevUartModel *m);

#endif /* SOCKDEV_UART_MODEL_H */
