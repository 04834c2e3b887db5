/*
 * libFuzzer target for the mmio-sockdev decoders: any byte stream, decoded
 * as QEMU and as a server would, message after message.  Every accepted
 * message must stay inside the input, re-encode to the same bytes and
 * decode again to the same fields; anything else aborts.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qme/sockdev-proto.h"

#include <stdlib.h>
#include <string.h>

static void check_v1(const uint8_t *buf, size_t n, QmeSdDir dir)
{
    static uint8_t enc[QME_SD_MAX_MSG];
    QmeSdMsg m, m2;
    size_t used, elen, used2;

    while (n) {
        QmeSdResult r = qme_sd_decode(buf, n, dir, &m, &used);

        if (r != QME_SD_OK) {
            return;
        }
        if (used < QME_SD_HDR_SIZE || used > n || used > QME_SD_MAX_MSG ||
            (m.data_len && (m.data < buf || m.data + m.data_len > buf + used))) {
            abort();
        }
        elen = qme_sd_encode(enc, sizeof(enc), &m);
        if (elen != used || memcmp(enc, buf, used)) {
            abort();
        }
        if (qme_sd_decode(enc, elen, dir, &m2, &used2) != QME_SD_OK ||
            used2 != used || m2.id != m.id || m2.value != m.value ||
            m2.data_len != m.data_len) {
            abort();
        }
        buf += used;
        n -= used;
    }
}

static void check_basic(const uint8_t *buf, size_t n)
{
    uint8_t enc[QME_SD_BASIC_MAX_MSG];
    QmeSdMsg m;
    size_t used, elen;

    while (n) {
        if (qme_sd_basic_decode(buf, n, &m, &used) != QME_SD_OK) {
            return;
        }
        if (used > n || used > QME_SD_BASIC_MAX_MSG) {
            abort();
        }
        elen = qme_sd_basic_encode(enc, sizeof(enc), &m);
        if (elen != used || memcmp(enc, buf, used)) {
            abort();
        }
        buf += used;
        n -= used;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_v1(data, size, QME_SD_FROM_CLIENT);
    check_v1(data, size, QME_SD_FROM_SERVER);
    check_basic(data, size);
    if (size >= 8) {
        (void)qme_sd_access_ok(data[0] | data[1] << 8, data[2] | data[3] << 8,
                               data[4]);
    }
    return 0;
}
