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
#include "qme/regtable.h"
#include "sockdev_uart-regs.h"

/*
 * Entries of the table.  The generated count lives in a header that only
 * uart-model.c may include (its table is static); a static assertion
 * there keeps the two equal.  Embedders size their value arrays with it.
 */
#define SD_UART_NUM_REGS 3

/* The table, sorted by offset, its hooks bound to the model below. */
extern const QmeReg *const sd_uart_regs;

typedef struct SdUartModel SdUartModel;

struct SdUartModel {
    /* Called with each character written to TXDATA while CTRL.ENABLE is 1. */
    void (*tx)(SdUartModel *m, uint8_t ch);
    void *opaque;               /* the embedder's, untouched by the model */
};

/*
 * Make @blk (already bound to sd_uart_regs) run the model's hooks on @m:
 * the hooks find the model through blk->opaque, so call it after
 * qme_regblock_init() or qme_mmio_regs_init(), which set that field.
 */
void sd_uart_model_attach(QmeRegBlock *blk, SdUartModel *m);

#endif /* SOCKDEV_UART_MODEL_H */
