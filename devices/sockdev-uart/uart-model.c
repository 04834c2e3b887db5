/*
 * The seed's UART behaviour: see uart-model.h.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "uart-model.h"

void sockdev_uart_model_attach(QmeRegBlock *blk, SockdevUartModel *m)
{
    blk->opaque = m;
}

/* Disabled, the port swallows characters: the seed's server did so too. */
void sockdev_uart_txdata_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                    uint64_t old_value, uint64_t new_value)
{
    SockdevUartModel *m = blk->opaque;

    (void)reg;
    (void)old_value;
    if ((qme_reg_get(blk, SDUART_R_CTRL) & SDUART_CTRL_ENABLE_MASK) && m &&
        m->tx) {
        m->tx(m, (uint8_t)QME_FIELD_EX(new_value, SDUART_TXDATA, CHAR));
    }
}
