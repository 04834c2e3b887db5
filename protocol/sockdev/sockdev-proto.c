/*
 * mmio-sockdev wire protocols: encoder and decoder (see
 * include/qme/sockdev-proto.h and devices/mmio-sockdev/PROTOCOL.md).
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qme/sockdev-proto.h"
#include "sockdev-internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static uint16_t ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
           ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t ld64(const uint8_t *p)
{
    return (uint64_t)ld32(p) | ((uint64_t)ld32(p + 4) << 32);
}

static void st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void st32(uint8_t *p, uint32_t v)
{
    st16(p, (uint16_t)v);
    st16(p + 2, (uint16_t)(v >> 16));
}

static void st64(uint8_t *p, uint64_t v)
{
    st32(p, (uint32_t)v);
    st32(p + 4, (uint32_t)(v >> 32));
}

static bool size_ok(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

bool qme_sd_event_ok(unsigned event, unsigned action, unsigned line)
{
    unsigned all = QME_SD_EV_NOTIFY | QME_SD_EV_LINE | QME_SD_EV_LEVEL;

    return event < QME_SD_MAX_EVENTS && !(action & ~all) &&
           (action & QME_SD_EV_LINE || !(action & QME_SD_EV_LEVEL)) &&
           (action & QME_SD_EV_LINE || line == 0);
}

static bool zero(const uint8_t *p, size_t n)
{
    while (n--) {
        if (*p++) {
            return false;
        }
    }
    return true;
}

uint64_t qme_sd_basic_decode_value(const uint8_t *buf, unsigned size)
{
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < size && i < 8; i++) {
        v |= (uint64_t)buf[i] << (8 * i);
    }
    return v;
}

void qme_sd_basic_encode_value(uint8_t *buf, unsigned size, uint64_t value)
{
    unsigned i;

    for (i = 0; i < size && i < 8; i++) {
        buf[i] = (uint8_t)(value >> (8 * i));
    }
}

/*
 * Fixed payload length of each type, or the minimum for types that end
 * with data (then the data length is bounded by QME_SD_MAX_DATA).
 */
typedef struct TypeInfo {
    uint8_t type;
    uint8_t dir;
    uint8_t fixed;
    bool has_data;
    const char *name;
} TypeInfo;

static const TypeInfo types[] = {
    { QME_SD_HELLO,         QME_SD_FROM_CLIENT, 16, false, "HELLO" },
    { QME_SD_READ,          QME_SD_FROM_CLIENT,  8, false, "READ" },
    { QME_SD_WRITE,         QME_SD_FROM_CLIENT, 16, false, "WRITE" },
    { QME_SD_RESET,         QME_SD_FROM_CLIENT,  0, false, "RESET" },
    { QME_SD_SAVE,          QME_SD_FROM_CLIENT,  0, false, "SAVE" },
    { QME_SD_RESTORE,       QME_SD_FROM_CLIENT,  0, true,  "RESTORE" },
    { QME_SD_PING,          QME_SD_FROM_CLIENT,  0, false, "PING" },
    { QME_SD_SHM_SETUP,     QME_SD_FROM_CLIENT,  8, false, "SHM_SETUP" },
    { QME_SD_TIME,          QME_SD_FROM_CLIENT,  8, false, "TIME" },
    { QME_SD_SYNC,          QME_SD_FROM_CLIENT,  8, false, "SYNC" },
    { QME_SD_EVENT,         QME_SD_FROM_CLIENT, 16, false, "EVENT" },
    { QME_SD_DMA_REPLY,     QME_SD_FROM_CLIENT,  4, true,  "DMA_REPLY" },
    { QME_SD_HELLO_REPLY,   QME_SD_FROM_SERVER, 16, false, "HELLO_REPLY" },
    { QME_SD_READ_REPLY,    QME_SD_FROM_SERVER, 12, false, "READ_REPLY" },
    { QME_SD_SAVE_REPLY,    QME_SD_FROM_SERVER,  4, true,  "SAVE_REPLY" },
    { QME_SD_RESTORE_REPLY, QME_SD_FROM_SERVER,  4, false, "RESTORE_REPLY" },
    { QME_SD_PONG,          QME_SD_FROM_SERVER,  0, false, "PONG" },
    { QME_SD_SHM_SETUP_REPLY, QME_SD_FROM_SERVER, 4, false,
      "SHM_SETUP_REPLY" },
    { QME_SD_SYNC_REPLY,    QME_SD_FROM_SERVER,  0, false, "SYNC_REPLY" },
    { QME_SD_EVENT_REPLY,   QME_SD_FROM_SERVER,  0, false, "EVENT_REPLY" },
    { QME_SD_IRQ,           QME_SD_FROM_SERVER,  4, false, "IRQ" },
    { QME_SD_DMA_READ,      QME_SD_FROM_SERVER, 16, false, "DMA_READ" },
    { QME_SD_DMA_WRITE,     QME_SD_FROM_SERVER, 16, true,  "DMA_WRITE" },
    { QME_SD_EVENT_AT,      QME_SD_FROM_SERVER, 16, false, "EVENT_AT" },
};

static const TypeInfo *type_info(uint8_t type)
{
    size_t i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (types[i].type == type) {
            return &types[i];
        }
    }
    return NULL;
}

const char *qme_sd_type_str(uint8_t type)
{
    const TypeInfo *ti = type_info(type);

    if (ti) {
        return ti->name;
    }
    if (type == QME_SD_BASIC_READ) {
        return "basic-R";
    }
    if (type == QME_SD_BASIC_WRITE) {
        return "basic-W";
    }
    return "unknown";
}

int qme_sd_type_from_str(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (!strcmp(types[i].name, name)) {
            return types[i].type;
        }
    }
    if (!strcmp(name, "basic-R")) {
        return QME_SD_BASIC_READ;
    }
    if (!strcmp(name, "basic-W")) {
        return QME_SD_BASIC_WRITE;
    }
    return -1;
}

const char *qme_sd_result_str(QmeSdResult r)
{
    switch (r) {
    case QME_SD_OK:
        return "ok";
    case QME_SD_NEED_MORE:
        return "need-more";
    case QME_SD_E_TYPE:
        return "bad-type";
    case QME_SD_E_LEN:
        return "bad-length";
    case QME_SD_E_SIZE:
        return "bad-size";
    case QME_SD_E_PAD:
        return "bad-padding";
    case QME_SD_E_FIELD:
        return "bad-field";
    }
    return "unknown";
}

bool qme_sd_access_ok(uint32_t window, uint32_t addr, unsigned size)
{
    return size_ok(size) && addr % size == 0 &&
           (uint64_t)addr + size <= window;
}

bool qme_sd_range_ok(uint64_t base, uint64_t span, uint64_t addr,
                     uint64_t len)
{
    return addr >= base && addr - base <= span && len <= span - (addr - base);
}

QmeSdResult qme_sd_decode(const uint8_t *buf, size_t avail, QmeSdDir dir,
                          QmeSdMsg *msg, size_t *consumed)
{
    const TypeInfo *ti;
    const uint8_t *p;
    uint16_t len;

    if (avail < 1) {
        return QME_SD_NEED_MORE;
    }
    /* Check what we can as early as possible: a bad type is fatal now. */
    ti = type_info(buf[0]);
    if (!ti || ti->dir != dir) {
        return QME_SD_E_TYPE;
    }
    if (avail < 2) {
        return QME_SD_NEED_MORE;
    }
    if (buf[1] != 0) {
        return QME_SD_E_PAD;
    }
    if (avail < 4) {
        return QME_SD_NEED_MORE;
    }
    len = ld16(buf + 2);
    if (ti->has_data ? (len < ti->fixed ||
                        (unsigned)(len - ti->fixed) > QME_SD_MAX_DATA)
                     : len != ti->fixed) {
        return QME_SD_E_LEN;
    }
    if (avail < (size_t)QME_SD_HDR_SIZE + len) {
        return QME_SD_NEED_MORE;
    }

    memset(msg, 0, sizeof(*msg));
    msg->type = buf[0];
    msg->id = ld32(buf + 4);
    p = buf + QME_SD_HDR_SIZE;
    if (ti->has_data) {
        msg->data = p + ti->fixed;
        msg->data_len = len - ti->fixed;
    }

    switch (msg->type) {
    case QME_SD_HELLO:
    case QME_SD_HELLO_REPLY:
        msg->magic = ld32(p);
        msg->version = ld16(p + 4);
        msg->min_version = ld16(p + 6);
        msg->window = ld32(p + 8);
        msg->caps = ld32(p + 12);
        if (msg->type == QME_SD_HELLO_REPLY && msg->min_version) {
            return QME_SD_E_PAD;
        }
        if (msg->caps & ~QME_SD_CAP_ALL) {
            return QME_SD_E_FIELD;
        }
        /* The magic and versions are the handshake's to judge. */
        break;
    case QME_SD_READ:
    case QME_SD_WRITE:
        msg->addr = ld32(p);
        msg->size = p[4];
        if (!zero(p + 5, 3)) {
            return QME_SD_E_PAD;
        }
        if (!size_ok(msg->size)) {
            return QME_SD_E_SIZE;
        }
        if (msg->type == QME_SD_WRITE) {
            msg->value = ld64(p + 8);
            if (msg->size < 8 && (msg->value >> (8 * msg->size))) {
                return QME_SD_E_FIELD;
            }
        }
        break;
    case QME_SD_READ_REPLY:
        msg->status = ld32(p);
        msg->value = ld64(p + 4);
        break;
    case QME_SD_SAVE_REPLY:
    case QME_SD_RESTORE_REPLY:
    case QME_SD_DMA_REPLY:
    case QME_SD_SHM_SETUP_REPLY:
        msg->status = ld32(p);
        break;
    case QME_SD_SHM_SETUP:
        msg->shm_slots = ld32(p);
        msg->shm_size = ld32(p + 4);
        break;
    case QME_SD_TIME:
    case QME_SD_SYNC:
        msg->vtime = ld64(p);
        break;
    case QME_SD_EVENT:
        msg->vtime = ld64(p);
        msg->event = ld16(p + 8);
        if (!zero(p + 10, 6)) {
            return QME_SD_E_PAD;
        }
        if (msg->event >= QME_SD_MAX_EVENTS) {
            return QME_SD_E_FIELD;
        }
        break;
    case QME_SD_EVENT_AT:
        msg->vtime = ld64(p);
        msg->event = ld16(p + 8);
        msg->line = ld16(p + 10);
        msg->action = p[12];
        if (!zero(p + 13, 3)) {
            return QME_SD_E_PAD;
        }
        if (!qme_sd_event_ok(msg->event, msg->action, msg->line)) {
            return QME_SD_E_FIELD;
        }
        break;
    case QME_SD_IRQ:
        msg->line = ld16(p);
        msg->level = p[2];
        if (p[3]) {
            return QME_SD_E_PAD;
        }
        if (msg->level > 1) {
            return QME_SD_E_FIELD;
        }
        break;
    case QME_SD_DMA_READ:
    case QME_SD_DMA_WRITE:
        msg->dma_addr = ld64(p);
        msg->dma_len = ld32(p + 8);
        if (!zero(p + 12, 4)) {
            return QME_SD_E_PAD;
        }
        if (msg->dma_len == 0 || msg->dma_len > QME_SD_MAX_DATA) {
            return QME_SD_E_FIELD;
        }
        if (msg->type == QME_SD_DMA_WRITE && msg->data_len != msg->dma_len) {
            return QME_SD_E_LEN;
        }
        if (msg->dma_addr + msg->dma_len < msg->dma_addr) {
            return QME_SD_E_FIELD;
        }
        break;
    default:    /* RESET, SAVE, PING, PONG, RESTORE: nothing fixed */
        break;
    }
    *consumed = QME_SD_HDR_SIZE + len;
    return QME_SD_OK;
}

size_t qme_sd_encode(uint8_t *buf, size_t cap, const QmeSdMsg *msg)
{
    const TypeInfo *ti = type_info(msg->type);
    size_t len;
    uint8_t *p;

    if (!ti) {
        return 0;
    }
    len = ti->fixed;
    if (ti->has_data) {
        if (msg->data_len > QME_SD_MAX_DATA || (msg->data_len && !msg->data)) {
            return 0;
        }
        len += msg->data_len;
    }
    if (cap < QME_SD_HDR_SIZE + len) {
        return 0;
    }
    memset(buf, 0, QME_SD_HDR_SIZE + ti->fixed);
    buf[0] = msg->type;
    st16(buf + 2, (uint16_t)len);
    st32(buf + 4, msg->id);
    p = buf + QME_SD_HDR_SIZE;

    switch (msg->type) {
    case QME_SD_HELLO:
    case QME_SD_HELLO_REPLY:
        st32(p, msg->magic);
        st16(p + 4, msg->version);
        st16(p + 6, msg->type == QME_SD_HELLO ? msg->min_version : 0);
        st32(p + 8, msg->window);
        st32(p + 12, msg->caps);
        break;
    case QME_SD_READ:
    case QME_SD_WRITE:
        if (!size_ok(msg->size)) {
            return 0;
        }
        st32(p, msg->addr);
        p[4] = msg->size;
        if (msg->type == QME_SD_WRITE) {
            st64(p + 8, msg->size < 8 ?
                 msg->value & ((UINT64_C(1) << (8 * msg->size)) - 1) :
                 msg->value);
        }
        break;
    case QME_SD_READ_REPLY:
        st32(p, msg->status);
        st64(p + 4, msg->value);
        break;
    case QME_SD_SAVE_REPLY:
    case QME_SD_RESTORE_REPLY:
    case QME_SD_DMA_REPLY:
    case QME_SD_SHM_SETUP_REPLY:
        st32(p, msg->status);
        break;
    case QME_SD_SHM_SETUP:
        st32(p, msg->shm_slots);
        st32(p + 4, msg->shm_size);
        break;
    case QME_SD_TIME:
    case QME_SD_SYNC:
        st64(p, msg->vtime);
        break;
    case QME_SD_EVENT:
        if (msg->event >= QME_SD_MAX_EVENTS) {
            return 0;
        }
        st64(p, msg->vtime);
        st16(p + 8, msg->event);
        break;
    case QME_SD_EVENT_AT:
        if (!qme_sd_event_ok(msg->event, msg->action, msg->line)) {
            return 0;
        }
        st64(p, msg->vtime);
        st16(p + 8, msg->event);
        st16(p + 10, msg->line);
        p[12] = msg->action;
        break;
    case QME_SD_IRQ:
        st16(p, msg->line);
        p[2] = msg->level ? 1 : 0;
        break;
    case QME_SD_DMA_READ:
    case QME_SD_DMA_WRITE:
        if (msg->dma_len == 0 || msg->dma_len > QME_SD_MAX_DATA ||
            (msg->type == QME_SD_DMA_WRITE && msg->data_len != msg->dma_len)) {
            return 0;
        }
        st64(p, msg->dma_addr);
        st32(p + 8, msg->dma_len);
        break;
    default:
        break;
    }
    if (ti->has_data && msg->data_len) {
        memcpy(p + ti->fixed, msg->data, msg->data_len);
    }
    return QME_SD_HDR_SIZE + len;
}

QmeSdResult qme_sd_basic_decode(const uint8_t *buf, size_t avail,
                                QmeSdMsg *msg, size_t *consumed)
{
    size_t need;

    if (avail < 1) {
        return QME_SD_NEED_MORE;
    }
    if (buf[0] != QME_SD_BASIC_READ && buf[0] != QME_SD_BASIC_WRITE) {
        return QME_SD_E_TYPE;
    }
    if (avail < 6) {
        return QME_SD_NEED_MORE;
    }
    if (!size_ok(buf[5])) {
        return QME_SD_E_SIZE;
    }
    need = 6 + (buf[0] == QME_SD_BASIC_WRITE ? buf[5] : 0);
    if (avail < need) {
        return QME_SD_NEED_MORE;
    }
    memset(msg, 0, sizeof(*msg));
    msg->type = buf[0];
    msg->addr = ld32(buf + 1);
    msg->size = buf[5];
    if (msg->type == QME_SD_BASIC_WRITE) {
        msg->value = qme_sd_basic_decode_value(buf + 6, msg->size);
    }
    *consumed = need;
    return QME_SD_OK;
}

size_t qme_sd_basic_encode(uint8_t *buf, size_t cap, const QmeSdMsg *msg)
{
    size_t need;

    if ((msg->type != QME_SD_BASIC_READ && msg->type != QME_SD_BASIC_WRITE) ||
        !size_ok(msg->size)) {
        return 0;
    }
    need = 6 + (msg->type == QME_SD_BASIC_WRITE ? msg->size : 0);
    if (cap < need) {
        return 0;
    }
    buf[0] = msg->type;
    st32(buf + 1, msg->addr);
    buf[5] = msg->size;
    if (msg->type == QME_SD_BASIC_WRITE) {
        qme_sd_basic_encode_value(buf + 6, msg->size, msg->value);
    }
    return need;
}

int qme_sd_fail(char *err, size_t errlen, int errnum, const char *fmt, ...)
{
    int e = errnum ? errnum : errno;
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    errno = e;
    return -1;
}

int qme_sd_parse_address(const char *address, QmeSdAddress *out,
                         char *err, size_t errlen)
{
    const char *host = address + 4, *colon, *p;
    unsigned long port = 0;
    size_t hlen;

    memset(out, 0, sizeof(*out));
    if (!strncmp(address, "unix:", 5)) {
        if (!address[5]) {
            return qme_sd_fail(err, errlen, EINVAL,
                               "%s: empty UNIX socket path", address);
        }
        if (strlen(address + 5) >= sizeof(out->path)) {
            return qme_sd_fail(err, errlen, EINVAL, "%s: UNIX socket path "
                               "longer than %zu bytes", address,
                               sizeof(out->path) - 1);
        }
        out->is_unix = true;
        strcpy(out->path, address + 5);
        return 0;
    }
    if (strncmp(address, "tcp:", 4)) {
        return qme_sd_fail(err, errlen, EINVAL,
                           "%s: expected unix:PATH or tcp:HOST:PORT", address);
    }
    colon = strrchr(host, ':');
    if (!colon || colon == host || !colon[1]) {
        return qme_sd_fail(err, errlen, EINVAL,
                           "%s: expected tcp:HOST:PORT", address);
    }
    hlen = colon - host;
    if (host[0] == '[') {
        /* [IPv6]:PORT: the brackets keep the literal's colons apart. */
        if (hlen < 3 || host[hlen - 1] != ']') {
            return qme_sd_fail(err, errlen, EINVAL,
                               "%s: expected tcp:[IPV6]:PORT", address);
        }
        host++;
        hlen -= 2;
    }
    if (hlen >= sizeof(out->host)) {
        return qme_sd_fail(err, errlen, EINVAL, "%s: host name too long",
                           address);
    }
    for (p = colon + 1; *p >= '0' && *p <= '9' && port <= 65535; p++) {
        port = port * 10 + (*p - '0');
    }
    if (*p || port > 65535 || (size_t)(p - colon - 1) >= sizeof(out->port)) {
        return qme_sd_fail(err, errlen, EINVAL,
                           "%s: port must be a number from 0 to 65535",
                           address);
    }
    memcpy(out->host, host, hlen);
    strcpy(out->port, colon + 1);
    return 0;
}
