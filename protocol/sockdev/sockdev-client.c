/*
 * mmio-sockdev client library (include/qme/sockdev-client.h).
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include "qme/sockdev-client.h"
#include "sockdev-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define TX_FLUSH    4096    /* queued posted writes sent at once */

struct QmeSdClient {
    const QmeSdClientOps *ops;
    void *opaque;
    QmeSdProto proto;
    uint32_t window;
    uint32_t offer;         /* capabilities offered in the handshake */
    unsigned timeout_ms;

    int fd;                 /* -1 while no server */
    int error;              /* errno of the last loss */
    uint32_t caps;          /* agreed in the handshake */
    uint32_t next_id;

    uint8_t rx[QME_SD_MAX_MSG * 2];
    size_t rx_len;
    uint8_t tx[TX_FLUSH + QME_SD_MAX_MSG];
    size_t tx_len;
    /* A reply's data, or the guest bytes of a DMA read. */
    uint8_t data[QME_SD_MAX_DATA];
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline_ms(QmeSdClient *cl)
{
    return now_ms() + cl->timeout_ms;
}

static void log_violation(QmeSdClient *cl, const char *fmt, ...)
{
    char msg[160];
    va_list ap;

    if (!cl->ops->log) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cl->ops->log(cl->opaque, msg);
}

QmeSdClient *qme_sd_client_new(const QmeSdClientOps *ops, void *opaque,
                               QmeSdProto proto, uint32_t window,
                               uint32_t caps, unsigned timeout_ms)
{
    QmeSdClient *cl;

    if ((proto != QME_SD_PROTO_V1 && proto != QME_SD_PROTO_BASIC) ||
        !timeout_ms) {
        errno = EINVAL;
        return NULL;
    }
    cl = calloc(1, sizeof(*cl));
    if (!cl) {
        errno = ENOMEM;
        return NULL;
    }
    cl->ops = ops;
    cl->opaque = opaque;
    cl->proto = proto;
    cl->window = window;
    cl->offer = caps & QME_SD_CAP_ALL;
    cl->timeout_ms = timeout_ms;
    cl->fd = -1;
    cl->error = ENOTCONN;
    return cl;
}

/* The only place that closes the socket; nothing else holds it open. */
static void client_close(QmeSdClient *cl)
{
    if (cl->fd < 0) {
        return;
    }
    if (cl->ops->watch) {
        cl->ops->watch(cl->opaque, -1);
    }
    close(cl->fd);
    cl->fd = -1;
    cl->rx_len = 0;
    cl->tx_len = 0;
    cl->caps = 0;
}

static void lose(QmeSdClient *cl, const char *why, int error)
{
    if (cl->fd < 0) {
        return;
    }
    client_close(cl);
    cl->error = error;
    if (cl->ops->disconnected) {
        cl->ops->disconnected(cl->opaque, why);
    }
}

void qme_sd_client_disconnect(QmeSdClient *cl, const char *why)
{
    lose(cl, why, ENOTCONN);
}

void qme_sd_client_free(QmeSdClient *cl)
{
    if (cl) {
        client_close(cl);
        free(cl);
    }
}

bool qme_sd_client_connected(const QmeSdClient *cl)
{
    return cl->fd >= 0;
}

uint32_t qme_sd_client_caps(const QmeSdClient *cl)
{
    return cl->caps;
}

/* Failure of a public call: errno says why the connection is not there. */
static int failed(QmeSdClient *cl)
{
    errno = cl->fd < 0 ? cl->error : EIO;
    return -1;
}

/* Send everything or give up at @deadline (then disconnect). */
static bool send_all(QmeSdClient *cl, const uint8_t *buf, size_t len,
                     int64_t deadline)
{
    while (len && cl->fd >= 0) {
        ssize_t n = send(cl->fd, buf, len, MSG_NOSIGNAL);

        if (n > 0) {
            buf += n;
            len -= n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd pfd = { .fd = cl->fd, .events = POLLOUT };
            int64_t left = deadline - now_ms();

            if (left <= 0 || poll(&pfd, 1, (int)left) < 0) {
                lose(cl, "send timeout", ETIMEDOUT);
                return false;
            }
        } else {
            lose(cl, "send failed", ECONNRESET);
            return false;
        }
    }
    return cl->fd >= 0;
}

static bool flush_tx(QmeSdClient *cl, int64_t deadline)
{
    size_t len = cl->tx_len;

    cl->tx_len = 0;
    return !len || send_all(cl, cl->tx, len, deadline);
}

/*
 * Queue a message (posted writes batch up); flush before any request.
 * A full queue is sent at once, by @deadline.
 */
static bool queue(QmeSdClient *cl, const QmeSdMsg *m, int64_t deadline)
{
    uint8_t *end = cl->tx + cl->tx_len;
    size_t room = sizeof(cl->tx) - cl->tx_len;
    size_t n;

    n = cl->proto == QME_SD_PROTO_BASIC ? qme_sd_basic_encode(end, room, m)
                                        : qme_sd_encode(end, room, m);
    if (!n) {
        lose(cl, "message does not encode", EINVAL);
        return false;
    }
    cl->tx_len += n;
    return cl->tx_len < TX_FLUSH || flush_tx(cl, deadline);
}

/*
 * Queue a posted message; the event loop sends the batch.  Only a batch's
 * first message kicks it: in QEMU each kick wakes the main loop, which
 * then contends for the BQL with the vCPU.
 */
static int post(QmeSdClient *cl, QmeSdMsg *m)
{
    bool was_empty = !cl->tx_len;

    if (cl->fd < 0) {
        return failed(cl);
    }
    m->id = ++cl->next_id;
    if (!queue(cl, m, deadline_ms(cl))) {
        return failed(cl);
    }
    if (was_empty && cl->tx_len && cl->ops->kick) {
        cl->ops->kick(cl->opaque);
    }
    return 0;
}

/* Read what the socket has; false (disconnected) on EOF or error. */
static bool recv_some(QmeSdClient *cl)
{
    ssize_t n = recv(cl->fd, cl->rx + cl->rx_len, sizeof(cl->rx) - cl->rx_len,
                     MSG_DONTWAIT);

    if (n == 0) {
        lose(cl, "server closed the connection", ECONNRESET);
        return false;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
            return true;
        }
        lose(cl, "receive failed", ECONNRESET);
        return false;
    }
    cl->rx_len += n;
    return true;
}

static void consume(QmeSdClient *cl, size_t n)
{
    memmove(cl->rx, cl->rx + n, cl->rx_len - n);
    cl->rx_len -= n;
}

/*
 * Server-initiated DMA.  The reply is sent by the @deadline of whatever
 * is handling the message: a server that asks for much and reads slowly
 * must not hold the caller for a fresh timeout per request.
 */
static void serve_dma(QmeSdClient *cl, const QmeSdMsg *m, int64_t deadline)
{
    QmeSdMsg r = { .type = QME_SD_DMA_REPLY, .id = m->id };
    bool is_write = m->type == QME_SD_DMA_WRITE;

    if (is_write) {
        memcpy(cl->data, m->data, m->dma_len);
    }
    r.status = cl->ops->dma(cl->opaque, is_write, m->dma_addr, cl->data,
                            m->dma_len);
    if (!is_write && r.status == QME_SD_ST_OK) {
        r.data = cl->data;
        r.data_len = m->dma_len;
    }
    if (queue(cl, &r, deadline)) {
        flush_tx(cl, deadline);
    }
}

/*
 * Handle one server-initiated message.  Returns false if it was not one
 * (a reply nobody waits for) or is not allowed: the caller disconnects.
 */
static bool serve(QmeSdClient *cl, const QmeSdMsg *m, int64_t deadline)
{
    switch (m->type) {
    case QME_SD_IRQ:
        return (cl->caps & QME_SD_CAP_IRQ) && cl->ops->irq &&
               cl->ops->irq(cl->opaque, m->line, m->level) == 0;
    case QME_SD_DMA_READ:
    case QME_SD_DMA_WRITE:
        if (!(cl->caps & QME_SD_CAP_DMA) || !cl->ops->dma) {
            return false;
        }
        serve_dma(cl, m, deadline);
        return true;
    default:
        return false;
    }
}

/*
 * Process buffered server messages.  With @want set, stop at the reply
 * of that type and @id (copied to *@reply, data in cl->data) and set
 * *@found; without, handle server-initiated messages only.  Returns false
 * on a protocol error (after disconnecting), else true, found or not.
 */
static bool process(QmeSdClient *cl, uint8_t want, uint32_t id,
                    QmeSdMsg *reply, bool *found, int64_t deadline)
{
    *found = false;
    while (cl->fd >= 0 && cl->rx_len) {
        QmeSdMsg m;
        size_t used;
        QmeSdResult r;

        if (cl->proto == QME_SD_PROTO_BASIC) {
            /* The basic protocol's only server message is a read's data. */
            if (!want) {
                lose(cl, "unsolicited data from server", ECONNRESET);
                return false;
            }
            if (cl->rx_len < reply->size) {
                return true;
            }
            if (cl->rx_len > reply->size) {
                lose(cl, "oversized read reply", ECONNRESET);
                return false;
            }
            reply->value = qme_sd_basic_decode_value(cl->rx, reply->size);
            consume(cl, reply->size);
            *found = true;
            return true;
        }
        r = qme_sd_decode(cl->rx, cl->rx_len, QME_SD_FROM_SERVER, &m, &used);
        if (r == QME_SD_NEED_MORE) {
            return true;
        }
        if (r < 0) {
            log_violation(cl, "bad message from server (%s, type 0x%02x)",
                          qme_sd_result_str(r), cl->rx[0]);
            lose(cl, "protocol error", ECONNRESET);
            return false;
        }
        if (want && m.type == want && m.id == id) {
            *reply = m;
            if (m.data_len) {
                memcpy(cl->data, m.data, m.data_len);
                reply->data = cl->data;
            }
            consume(cl, used);
            *found = true;
            return true;
        }
        if (!serve(cl, &m, deadline)) {
            log_violation(cl, "unexpected %s (id %u) from server",
                          qme_sd_type_str(m.type), m.id);
            lose(cl, "unsolicited message", ECONNRESET);
            return false;
        }
        if (cl->fd >= 0) {
            consume(cl, used);
        }
    }
    return cl->fd >= 0;
}

/* Send @req (flushing posted writes first) and wait for its reply. */
static bool call(QmeSdClient *cl, QmeSdMsg *req, uint8_t want,
                 QmeSdMsg *reply)
{
    int64_t deadline = deadline_ms(cl);
    bool found;

    if (cl->fd < 0) {
        return false;
    }
    req->id = ++cl->next_id;
    if (!queue(cl, req, deadline) || !flush_tx(cl, deadline)) {
        return false;
    }
    if (cl->proto == QME_SD_PROTO_BASIC) {
        reply->size = req->size;
    }
    for (;;) {
        struct pollfd pfd = { .fd = cl->fd, .events = POLLIN };
        int64_t left;

        if (!process(cl, want, req->id, reply, &found, deadline)) {
            return false;
        }
        if (found) {
            if (cl->rx_len && cl->ops->kick) {
                /* A watch would not fire for bytes already read. */
                cl->ops->kick(cl->opaque);
            }
            return true;
        }
        left = deadline - now_ms();
        if (left <= 0) {
            lose(cl, "timeout: server did not answer", ETIMEDOUT);
            return false;
        }
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
            lose(cl, "poll failed", ECONNRESET);
            return false;
        }
        if (pfd.revents && !recv_some(cl)) {
            return false;
        }
    }
}

/*
 * Everything received is handled by one deadline: a caller waiting for
 * the event loop waits at most that long.
 */
static void read_pending(QmeSdClient *cl, int64_t deadline)
{
    QmeSdMsg unused = { 0 };
    bool found;

    if (cl->fd >= 0 && recv_some(cl)) {
        process(cl, 0, 0, &unused, &found, deadline);
    }
}

void qme_sd_client_readable(QmeSdClient *cl)
{
    read_pending(cl, deadline_ms(cl));
}

int qme_sd_client_flush(QmeSdClient *cl)
{
    int64_t deadline = deadline_ms(cl);

    if (cl->fd < 0) {
        return failed(cl);
    }
    /* Also the turn of messages that came behind a reply. */
    if (flush_tx(cl, deadline) && cl->rx_len) {
        read_pending(cl, deadline);
    }
    return cl->fd >= 0 ? 0 : failed(cl);
}

static uint64_t all_ones(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (size * 8)) - 1;
}

int qme_sd_client_read(QmeSdClient *cl, uint32_t addr, unsigned size,
                       uint64_t *value)
{
    QmeSdMsg req = { .addr = addr, .size = (uint8_t)size };
    QmeSdMsg reply = { 0 };

    *value = all_ones(size);
    req.type = cl->proto == QME_SD_PROTO_BASIC ? QME_SD_BASIC_READ
                                               : QME_SD_READ;
    if (!call(cl, &req, QME_SD_READ_REPLY, &reply)) {
        return failed(cl);
    }
    if (cl->proto == QME_SD_PROTO_V1 && reply.status != QME_SD_ST_OK) {
        return failed(cl);
    }
    *value = reply.value & all_ones(size);
    return 0;
}

int qme_sd_client_write(QmeSdClient *cl, uint32_t addr, unsigned size,
                        uint64_t value)
{
    QmeSdMsg req = { .addr = addr, .size = (uint8_t)size,
                     .value = value & all_ones(size) };

    req.type = cl->proto == QME_SD_PROTO_BASIC ? QME_SD_BASIC_WRITE
                                               : QME_SD_WRITE;
    return post(cl, &req);
}

int qme_sd_client_reset(QmeSdClient *cl)
{
    QmeSdMsg req = { .type = QME_SD_RESET };

    if (cl->proto == QME_SD_PROTO_BASIC) {
        return 0;
    }
    return post(cl, &req);
}

int qme_sd_client_save(QmeSdClient *cl, uint8_t *buf, size_t cap,
                       uint32_t *len)
{
    QmeSdMsg req = { .type = QME_SD_SAVE }, reply = { 0 };

    *len = 0;
    if (cl->fd < 0 || !(cl->caps & QME_SD_CAP_STATE)) {
        errno = ENOTCONN;
        return -1;
    }
    if (!call(cl, &req, QME_SD_SAVE_REPLY, &reply)) {
        return failed(cl);
    }
    if (reply.status != QME_SD_ST_OK || reply.data_len > cap) {
        errno = EIO;
        return -1;
    }
    memcpy(buf, reply.data, reply.data_len);
    *len = reply.data_len;
    return 0;
}

int qme_sd_client_restore(QmeSdClient *cl, const uint8_t *buf, uint32_t len)
{
    QmeSdMsg req = { .type = QME_SD_RESTORE, .data = buf, .data_len = len };
    QmeSdMsg reply = { 0 };

    if (cl->fd < 0 || !(cl->caps & QME_SD_CAP_STATE)) {
        errno = ENOTCONN;
        return -1;
    }
    if (len > QME_SD_MAX_DATA) {
        errno = EINVAL;
        return -1;
    }
    if (!call(cl, &req, QME_SD_RESTORE_REPLY, &reply)) {
        return failed(cl);
    }
    if (reply.status != QME_SD_ST_OK) {
        errno = EIO;
        return -1;
    }
    return 0;
}

/*
 * TCP connect bounded by the timeout: a host that drops SYNs would
 * otherwise hold the caller for the kernel's minutes-long connect
 * timeout.  Host names are resolved synchronously; numeric addresses
 * never wait.
 */
static int tcp_connect(QmeSdClient *cl, const char *address,
                       const QmeSdAddress *a, char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
    int fd = -1, e = 0, rc, one = 1;

    rc = getaddrinfo(a->host, a->port, &hints, &res);
    if (rc) {
        return qme_sd_fail(err, errlen, EHOSTUNREACH, "%s: %s", address,
                           gai_strerror(rc));
    }
    for (ai = res; ai; ai = ai->ai_next) {
        struct pollfd pfd;
        socklen_t len = sizeof(e);

        fd = socket(ai->ai_family,
                    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }
        e = errno;
        if (e == EINPROGRESS) {
            pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
            rc = poll(&pfd, 1, (int)cl->timeout_ms);
            e = rc == 0 ? ETIMEDOUT : rc < 0 ? errno : 0;
            if (!e && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0) {
                e = errno;
            }
            if (!e) {
                break;
            }
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        return qme_sd_fail(err, errlen, e, "cannot connect to %s: %s",
                           address, strerror(e));
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int unix_connect(const char *address, const QmeSdAddress *a,
                        char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, e;

    strcpy(sa.sun_path, a->path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        return fd;
    }
    e = errno;
    if (fd >= 0) {
        close(fd);
    }
    return qme_sd_fail(err, errlen, e, "cannot connect to %s: %s", address,
                       strerror(e));
}

/* v1 handshake on a fresh connection; false with @err set. */
static bool handshake(QmeSdClient *cl, const char *address,
                      char *err, size_t errlen)
{
    QmeSdMsg hello = { .type = QME_SD_HELLO, .magic = QME_SD_MAGIC,
                       .version = QME_SD_VERSION,
                       .min_version = QME_SD_VERSION, .window = cl->window,
                       .caps = cl->offer };
    QmeSdMsg reply;

    if (!call(cl, &hello, QME_SD_HELLO_REPLY, &reply)) {
        qme_sd_fail(err, errlen, cl->error, "%s: no handshake reply (is it "
                    "a v1 server? a basic-protocol server never answers "
                    "one)", address);
        return false;
    }
    if (reply.magic != QME_SD_MAGIC || reply.version != QME_SD_VERSION ||
        (reply.caps & ~hello.caps) || reply.window != cl->window) {
        client_close(cl);
        qme_sd_fail(err, errlen, EPROTO, "%s: handshake refused: server "
                    "speaks version %u, window 0x%x, caps 0x%x; we need "
                    "version %u, window 0x%x, caps within 0x%x", address,
                    reply.version, reply.window, reply.caps, QME_SD_VERSION,
                    cl->window, hello.caps);
        return false;
    }
    cl->caps = reply.caps;
    return true;
}

int qme_sd_client_connect(QmeSdClient *cl, const char *address,
                          char *err, size_t errlen)
{
    QmeSdAddress a;
    int fd;

    if (cl->fd >= 0) {
        return 0;
    }
    if (qme_sd_parse_address(address, &a, err, errlen) < 0) {
        return -1;
    }
    fd = a.is_unix ? unix_connect(address, &a, err, errlen)
                   : tcp_connect(cl, address, &a, err, errlen);
    if (fd < 0) {
        return -1;
    }
    /* Every wait is a poll() with a deadline, never a blocking call. */
    if (a.is_unix) {
        int fl = fcntl(fd, F_GETFL);

        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    }
    cl->fd = fd;
    cl->rx_len = 0;
    cl->tx_len = 0;
    cl->caps = 0;
    if (cl->proto == QME_SD_PROTO_V1 && !handshake(cl, address, err,
                                                   errlen)) {
        return -1;
    }
    if (cl->ops->watch) {
        cl->ops->watch(cl->opaque, cl->fd);
    }
    return 0;
}
