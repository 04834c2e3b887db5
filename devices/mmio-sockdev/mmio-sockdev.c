/*
 * mmio-sockdev: an MMIO window on the "virt" machine whose registers live
 * in an external device server, reached over a TCP or UNIX socket.
 *
 * A bus-less device: at realize it maps its window (and a small bridge
 * block right after it) into system memory, wires one GIC SPI and adds a
 * node to the machine's device tree.  Two wire protocols (PROTOCOL.md):
 * the seed's five-field format, and the versioned one with interrupts,
 * DMA and state save/restore.
 *
 * The socket is owned here rather than through a chardev: an MMIO read
 * must return its value synchronously, so the vCPU thread sends the
 * request and poll()s for the reply with a deadline (timeout-ms), under
 * the BQL; a chardev frontend only delivers data asynchronously through
 * the main loop, which cannot run while the vCPU waits.  Between accesses
 * the main loop watches the socket for server-initiated messages
 * (interrupts, DMA).  A lost or mute server turns reads into all-ones and
 * drops writes until a reconnect timer finds it again; nothing waits
 * longer than timeout-ms.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "qemu/sockets.h"
#include "qemu/host-utils.h"
#include "exec/address-spaces.h"
#include "hw/irq.h"
#include "hw/qdev-core.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/un.h>
#include "qme/platform.h"
#include "qme/regtable-qemu.h"
#include "qme/sockdev-proto.h"
#include "mmio_sockdev-regtable.h"
#include "trace-mmio_sockdev.h"

#define TYPE_MMIO_SOCKDEV "mmio-sockdev"
OBJECT_DECLARE_SIMPLE_TYPE(MmioSockdevState, MMIO_SOCKDEV)

#define SOCKDEV_TX_FLUSH    4096    /* queued posted writes sent at once */

enum { PROTO_V1, PROTO_SEED };
enum { ABSENT_FAIL, ABSENT_WAIT, ABSENT_RUN };

struct MmioSockdevState {
    DeviceState parent_obj;

    MemoryRegion window;
    QmeMmioRegs bridge;
    uint64_t bridge_values[SOCKDEV_NUM_REGS];
    qemu_irq irq;

    int fd;                 /* -1 while no server */
    int proto;
    int absent;
    uint32_t caps;          /* agreed in the handshake */
    uint32_t next_id;
    uint32_t outages;
    bool outage_logged;     /* one LOG_GUEST_ERROR per outage */
    QEMUTimer *reconnect;
    QEMUBH *flush_bh;

    uint8_t rx[QME_SD_MAX_MSG * 2];
    size_t rx_len;
    uint8_t tx[SOCKDEV_TX_FLUSH + QME_SD_MAX_MSG];
    size_t tx_len;
    uint8_t dma_buf[QME_SD_MAX_DATA];

    /* Server state carried by migration (v1 with CAP_STATE). */
    uint8_t *state_buf;
    uint32_t state_len;
    bool restore_pending;
    uint32_t irq_level;

    /* Properties */
    char *socket;
    char *protocol;
    char *on_absent;
    uint64_t addr;
    uint32_t size;
    uint32_t spi;
    uint32_t timeout_ms;
    uint32_t reconnect_ms;
    uint32_t wait_ms;
    bool dma;
};

static const char *proto_name(MmioSockdevState *s)
{
    return s->proto == PROTO_SEED ? "seed" : "v1";
}

/* Bridge block */

static uint64_t bridge_status_read(QmeRegBlock *blk, const QmeReg *reg,
                                   uint64_t value)
{
    MmioSockdevState *s = blk->opaque;

    return (s->fd >= 0 ? SOCKDEV_STATUS_CONNECTED_MASK : 0) |
           (s->proto == PROTO_V1 ? SOCKDEV_STATUS_V1_MASK : 0) |
           (s->fd >= 0 && (s->caps & QME_SD_CAP_DMA) ?
            SOCKDEV_STATUS_DMA_MASK : 0);
}

static uint64_t bridge_outages_read(QmeRegBlock *blk, const QmeReg *reg,
                                    uint64_t value)
{
    MmioSockdevState *s = blk->opaque;

    return s->outages;
}

/* Connection */

static void sockdev_read_async(MmioSockdevState *s, int64_t deadline);

static void sockdev_schedule_reconnect(MmioSockdevState *s)
{
    timer_mod(s->reconnect,
              qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + s->reconnect_ms);
}

/* The only place that closes the socket; nothing else holds it open. */
static void sockdev_close(MmioSockdevState *s)
{
    if (s->fd < 0) {
        return;
    }
    qemu_set_fd_handler(s->fd, NULL, NULL, NULL);
    close(s->fd);
    s->fd = -1;
    s->rx_len = 0;
    s->tx_len = 0;
    s->caps = 0;
}

static void sockdev_disconnect(MmioSockdevState *s, const char *why)
{
    if (s->fd < 0) {
        return;
    }
    trace_mmio_sockdev_disconnected(s->socket, why);
    sockdev_close(s);
    /* A reconnection that fails its handshake is the same outage. */
    if (!s->outage_logged) {
        s->outages++;
        qemu_log_mask(LOG_GUEST_ERROR, "%s: device server at %s lost (%s): "
                      "reads return all-ones and writes are dropped until "
                      "it is back\n", TYPE_MMIO_SOCKDEV, s->socket, why);
        warn_report("%s: device server at %s lost (%s)", TYPE_MMIO_SOCKDEV,
                    s->socket, why);
        s->outage_logged = true;
    }
    /* A level the server raised must not stay up without the server. */
    if (s->irq_level) {
        s->irq_level = 0;
        qemu_set_irq(s->irq, 0);
    }
    sockdev_schedule_reconnect(s);
}

static int64_t deadline_ms(MmioSockdevState *s)
{
    return qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + s->timeout_ms;
}

/* Send everything or give up at @deadline (then disconnect). */
static bool sockdev_send(MmioSockdevState *s, const uint8_t *buf, size_t len,
                         int64_t deadline)
{
    while (len && s->fd >= 0) {
        ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);

        if (n > 0) {
            buf += n;
            len -= n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
            int64_t left = deadline - qemu_clock_get_ms(QEMU_CLOCK_REALTIME);

            if (left <= 0 || poll(&pfd, 1, left) < 0) {
                sockdev_disconnect(s, "send timeout");
                return false;
            }
        } else {
            sockdev_disconnect(s, "send failed");
            return false;
        }
    }
    return s->fd >= 0;
}

static bool sockdev_flush(MmioSockdevState *s, int64_t deadline)
{
    size_t len = s->tx_len;

    s->tx_len = 0;
    return !len || sockdev_send(s, s->tx, len, deadline);
}

static void sockdev_flush_bh(void *opaque)
{
    MmioSockdevState *s = opaque;
    int64_t deadline = deadline_ms(s);

    /* Also the main loop's turn for messages that came behind a reply. */
    if (sockdev_flush(s, deadline) && s->rx_len) {
        sockdev_read_async(s, deadline);
    }
}

/*
 * Queue a message (posted writes batch up); flush before any request.
 * A full queue is sent at once, by @deadline.
 */
static bool sockdev_queue(MmioSockdevState *s, const QmeSdMsg *m,
                          int64_t deadline)
{
    size_t n;

    n = s->proto == PROTO_SEED
        ? qme_sd_seed_encode(s->tx + s->tx_len, sizeof(s->tx) - s->tx_len, m)
        : qme_sd_encode(s->tx + s->tx_len, sizeof(s->tx) - s->tx_len, m);
    if (!n) {
        sockdev_disconnect(s, "message does not encode");
        return false;
    }
    s->tx_len += n;
    if (s->tx_len >= SOCKDEV_TX_FLUSH) {
        return sockdev_flush(s, deadline);
    }
    return true;
}

/*
 * Queue a posted message; the main loop sends the batch.  Only a batch's
 * first message schedules that: each schedule wakes the main loop (an
 * eventfd write), which then contends for the BQL with the vCPU.
 */
static void sockdev_post(MmioSockdevState *s, const QmeSdMsg *m)
{
    bool was_empty = !s->tx_len;

    if (sockdev_queue(s, m, deadline_ms(s)) && was_empty && s->tx_len) {
        qemu_bh_schedule(s->flush_bh);
    }
}

/* Read what the socket has; false (disconnected) on EOF or error. */
static bool sockdev_recv(MmioSockdevState *s)
{
    ssize_t n = recv(s->fd, s->rx + s->rx_len, sizeof(s->rx) - s->rx_len,
                     MSG_DONTWAIT);

    if (n == 0) {
        sockdev_disconnect(s, "server closed the connection");
        return false;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
            return true;
        }
        sockdev_disconnect(s, "receive failed");
        return false;
    }
    s->rx_len += n;
    return true;
}

static void sockdev_consume(MmioSockdevState *s, size_t n)
{
    memmove(s->rx, s->rx + n, s->rx_len - n);
    s->rx_len -= n;
}

/*
 * Server-initiated DMA: only inside guest RAM, only if enabled.  The
 * reply is sent by the @deadline of whatever is handling the message: a
 * server that asks for much and reads slowly must not hold the caller
 * for a fresh timeout-ms per request.
 */
static void sockdev_dma(MmioSockdevState *s, const QmeSdMsg *m,
                        int64_t deadline)
{
    QmeSdMsg r = { .type = QME_SD_DMA_REPLY, .id = m->id,
                   .status = QME_SD_ST_OK };
    MemoryRegionSection sec;
    bool is_write = m->type == QME_SD_DMA_WRITE;

    sec = memory_region_find(get_system_memory(), m->dma_addr, m->dma_len);
    if (!sec.mr || !memory_region_is_ram(sec.mr) ||
        int128_get64(sec.size) != m->dma_len) {
        r.status = QME_SD_ST_DENIED;
    }
    if (sec.mr) {
        memory_region_unref(sec.mr);
    }
    if (r.status == QME_SD_ST_OK) {
        if (is_write) {
            address_space_write(&address_space_memory, m->dma_addr,
                                MEMTXATTRS_UNSPECIFIED, m->data, m->dma_len);
        } else {
            address_space_read(&address_space_memory, m->dma_addr,
                               MEMTXATTRS_UNSPECIFIED, s->dma_buf,
                               m->dma_len);
            r.data = s->dma_buf;
            r.data_len = m->dma_len;
        }
    } else {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: server DMA %s of %u bytes at "
                      "0x%" PRIx64 " is outside guest RAM: denied\n",
                      TYPE_MMIO_SOCKDEV, is_write ? "write" : "read",
                      m->dma_len, m->dma_addr);
    }
    trace_mmio_sockdev_dma(is_write ? "write" : "read", m->dma_addr,
                           m->dma_len, r.status);
    if (sockdev_queue(s, &r, deadline)) {
        sockdev_flush(s, deadline);
    }
}

/*
 * Handle one server-initiated message.  Returns false if it was not one
 * (a reply nobody waits for) or is not allowed: the caller disconnects.
 */
static bool sockdev_async(MmioSockdevState *s, const QmeSdMsg *m,
                          int64_t deadline)
{
    switch (m->type) {
    case QME_SD_IRQ:
        if (!(s->caps & QME_SD_CAP_IRQ) || m->line != 0) {
            return false;
        }
        trace_mmio_sockdev_irq(m->level);
        s->irq_level = m->level;
        qemu_set_irq(s->irq, m->level);
        return true;
    case QME_SD_DMA_READ:
    case QME_SD_DMA_WRITE:
        if (!(s->caps & QME_SD_CAP_DMA)) {
            return false;
        }
        sockdev_dma(s, m, deadline);
        return true;
    default:
        return false;
    }
}

/*
 * Process buffered server messages.  With @want set, stop at the reply
 * of that type and @id (copied to *@reply, data in s->dma_buf) and
 * return true; without, handle async messages only.  Returns false on a
 * protocol error (after disconnecting) or if no reply is there yet.
 */
static bool sockdev_process(MmioSockdevState *s, uint8_t want, uint32_t id,
                            QmeSdMsg *reply, bool *found, int64_t deadline)
{
    *found = false;
    while (s->fd >= 0 && s->rx_len) {
        QmeSdMsg m;
        size_t used;
        QmeSdResult r;

        if (s->proto == PROTO_SEED) {
            /* The seed's only server message is a read's raw data. */
            if (!want) {
                sockdev_disconnect(s, "unsolicited data from server");
                return false;
            }
            if (s->rx_len < reply->size) {
                return true;
            }
            if (s->rx_len > reply->size) {
                sockdev_disconnect(s, "oversized read reply");
                return false;
            }
            reply->value = qme_sd_seed_decode_value(s->rx, reply->size);
            sockdev_consume(s, reply->size);
            *found = true;
            return true;
        }
        r = qme_sd_decode(s->rx, s->rx_len, QME_SD_FROM_SERVER, &m, &used);
        if (r == QME_SD_NEED_MORE) {
            return true;
        }
        if (r < 0) {
            qemu_log_mask(LOG_GUEST_ERROR, "%s: bad message from server "
                          "(%s, type 0x%02x)\n", TYPE_MMIO_SOCKDEV,
                          qme_sd_result_str(r), s->rx[0]);
            sockdev_disconnect(s, "protocol error");
            return false;
        }
        if (want && m.type == want && m.id == id) {
            if (m.data_len > sizeof(s->dma_buf)) {
                sockdev_disconnect(s, "reply too long");
                return false;
            }
            *reply = m;
            if (m.data_len) {
                memcpy(s->dma_buf, m.data, m.data_len);
                reply->data = s->dma_buf;
            }
            sockdev_consume(s, used);
            *found = true;
            return true;
        }
        if (!sockdev_async(s, &m, deadline)) {
            qemu_log_mask(LOG_GUEST_ERROR, "%s: unexpected %s (id %u) from "
                          "server\n", TYPE_MMIO_SOCKDEV,
                          qme_sd_type_str(m.type), m.id);
            sockdev_disconnect(s, "unsolicited message");
            return false;
        }
        if (s->fd >= 0) {
            sockdev_consume(s, used);
        }
    }
    return s->fd >= 0;
}

/* Send @req (flushing posted writes first) and wait for its reply. */
static bool sockdev_call(MmioSockdevState *s, const QmeSdMsg *req,
                         uint8_t want, QmeSdMsg *reply)
{
    int64_t deadline = deadline_ms(s);
    bool found;

    if (s->fd < 0 || !sockdev_queue(s, req, deadline) ||
        !sockdev_flush(s, deadline)) {
        return false;
    }
    if (s->proto == PROTO_SEED) {
        reply->size = req->size;
    }
    for (;;) {
        struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
        int64_t left;

        if (!sockdev_process(s, want, req->id, reply, &found, deadline)) {
            return false;
        }
        if (found) {
            if (s->rx_len) {
                /* The fd handler would not fire for bytes already read. */
                qemu_bh_schedule(s->flush_bh);
            }
            return true;
        }
        left = deadline - qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
        if (left <= 0) {
            sockdev_disconnect(s, "timeout: server did not answer");
            return false;
        }
        if (poll(&pfd, 1, left) < 0 && errno != EINTR) {
            sockdev_disconnect(s, "poll failed");
            return false;
        }
        if (pfd.revents && !sockdev_recv(s)) {
            return false;
        }
    }
}

/*
 * Main loop: the server speaks between accesses (IRQ, DMA) or hangs up.
 * Everything received is handled by one @deadline: a guest access
 * waiting for the main loop waits at most that long.
 */
static void sockdev_read_async(MmioSockdevState *s, int64_t deadline)
{
    QmeSdMsg unused = { 0 };
    bool found;

    if (s->fd >= 0 && sockdev_recv(s)) {
        sockdev_process(s, 0, 0, &unused, &found, deadline);
    }
}

static void sockdev_fd_read(void *opaque)
{
    MmioSockdevState *s = opaque;

    sockdev_read_async(s, deadline_ms(s));
}

/*
 * TCP connect bounded by timeout-ms: a host that drops SYNs would
 * otherwise hold the main loop (at reconnect) or -device (at start) for
 * the kernel's minutes-long connect timeout.  Host names are resolved
 * synchronously; numeric addresses never wait.
 */
static int sockdev_tcp_connect(MmioSockdevState *s, Error **errp)
{
    g_autofree char *host = g_strdup(s->socket + 4);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
    char *port = strrchr(host, ':');
    int fd = -1, err = 0, rc;

    if (!port || port == host || !port[1]) {
        error_setg(errp, "socket=%s: expected tcp:HOST:PORT", s->socket);
        return -1;
    }
    *port++ = 0;
    if (host[0] == '[' && port[-2] == ']') {     /* [IPv6]:PORT */
        port[-2] = 0;
        memmove(host, host + 1, strlen(host));
    }
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc) {
        error_setg(errp, "socket=%s: %s", s->socket, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        struct pollfd pfd;
        socklen_t len = sizeof(err);

        fd = qemu_socket(ai->ai_family, SOCK_STREAM, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        qemu_socket_set_nonblock(fd);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }
        err = errno;
        if (err == EINPROGRESS) {
            pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
            rc = poll(&pfd, 1, s->timeout_ms);
            err = rc == 0 ? ETIMEDOUT : rc < 0 ? errno : 0;
            if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
                err = errno;
            }
            if (!err) {
                break;
            }
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_setg_errno(errp, err, "cannot connect to %s", s->socket);
    }
    return fd;
}

static int sockdev_open(MmioSockdevState *s, Error **errp)
{
    int fd;

    if (g_str_has_prefix(s->socket, "unix:")) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (strlen(s->socket + 5) >= sizeof(sa.sun_path)) {
            error_setg(errp, "socket=%s: path too long", s->socket);
            return -1;
        }
        strcpy(sa.sun_path, s->socket + 5);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            error_setg_errno(errp, errno, "cannot connect to %s", s->socket);
            if (fd >= 0) {
                close(fd);
            }
            return -1;
        }
    } else {
        int one = 1;

        fd = sockdev_tcp_connect(s, errp);
        if (fd < 0) {
            return -1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    qemu_socket_set_nonblock(fd);
    return fd;
}

/*
 * Connect and, for v1, shake hands.  Returns false with @errp set and no
 * socket left open: callers have nothing to close.
 */
static bool sockdev_connect(MmioSockdevState *s, Error **errp)
{
    QmeSdMsg hello = { .type = QME_SD_HELLO, .magic = QME_SD_MAGIC,
                       .version = QME_SD_VERSION,
                       .min_version = QME_SD_VERSION, .window = s->size,
                       .caps = QME_SD_CAP_IRQ | QME_SD_CAP_STATE |
                               (s->dma ? QME_SD_CAP_DMA : 0) };
    QmeSdMsg reply;
    int fd = sockdev_open(s, errp);

    if (fd < 0) {
        return false;
    }
    s->fd = fd;
    s->rx_len = 0;
    s->tx_len = 0;
    s->caps = 0;
    if (s->proto == PROTO_V1) {
        if (!sockdev_call(s, &hello, QME_SD_HELLO_REPLY, &reply)) {
            error_setg(errp, "%s: no handshake reply (is it a v1 server? "
                       "protocol=seed selects the seed protocol)", s->socket);
            goto fail;
        }
        if (reply.magic != QME_SD_MAGIC || reply.version != QME_SD_VERSION ||
            (reply.caps & ~hello.caps) || reply.window != s->size) {
            error_setg(errp, "%s: handshake refused: server speaks version "
                       "%u, window 0x%x, caps 0x%x; we need version %u, "
                       "window 0x%x (size), caps within 0x%x", s->socket,
                       reply.version, reply.window, reply.caps,
                       QME_SD_VERSION, s->size, hello.caps);
            goto fail;
        }
        s->caps = reply.caps;
    }
    qemu_set_fd_handler(s->fd, sockdev_fd_read, NULL, s);
    s->outage_logged = false;
    trace_mmio_sockdev_connected(s->socket, proto_name(s), s->caps);

    if (s->restore_pending && (s->caps & QME_SD_CAP_STATE)) {
        QmeSdMsg req = { .type = QME_SD_RESTORE, .id = ++s->next_id,
                         .data = s->state_buf, .data_len = s->state_len };

        s->restore_pending = false;
        if (!sockdev_call(s, &req, QME_SD_RESTORE_REPLY, &reply) ||
            reply.status != QME_SD_ST_OK) {
            warn_report("%s: server at %s refused the migrated state",
                        TYPE_MMIO_SOCKDEV, s->socket);
        }
        trace_mmio_sockdev_state("restore", s->state_len, reply.status);
        if (s->fd < 0) {
            error_setg(errp, "%s: lost while restoring the state", s->socket);
            return false;
        }
    }
    return true;

fail:
    sockdev_close(s);   /* a failed sockdev_call() has closed it already */
    return false;
}

static void sockdev_reconnect(void *opaque)
{
    MmioSockdevState *s = opaque;
    Error *err = NULL;

    if (s->fd >= 0) {
        return;
    }
    if (sockdev_connect(s, &err)) {
        info_report("%s: device server at %s is back", TYPE_MMIO_SOCKDEV,
                    s->socket);
    } else {
        error_free(err);
        sockdev_schedule_reconnect(s);
    }
}

/* The window */

static uint64_t all_ones(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

static uint64_t sockdev_read(void *opaque, hwaddr addr, unsigned size)
{
    MmioSockdevState *s = opaque;
    QmeSdMsg req = { .type = s->proto == PROTO_SEED ? QME_SD_SEED_READ
                                                    : QME_SD_READ,
                     .addr = addr, .size = size };
    QmeSdMsg reply = { 0 };

    if (!qme_sd_access_ok(s->size, addr, size)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: bad read of %u bytes at 0x%"
                      HWADDR_PRIx " (unaligned): reads 0\n",
                      TYPE_MMIO_SOCKDEV, size, addr);
        return 0;
    }
    if (s->fd < 0) {
        trace_mmio_sockdev_offline("read", addr, size);
        return all_ones(size);
    }
    req.id = ++s->next_id;
    if (!sockdev_call(s, &req, QME_SD_READ_REPLY, &reply)) {
        return all_ones(size);
    }
    if (s->proto == PROTO_V1 && reply.status != QME_SD_ST_OK) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: server refused the read of %u "
                      "bytes at 0x%" HWADDR_PRIx ": reads all-ones\n",
                      TYPE_MMIO_SOCKDEV, size, addr);
        return all_ones(size);
    }
    trace_mmio_sockdev_read(addr, size, reply.value & all_ones(size));
    return reply.value & all_ones(size);
}

static void sockdev_write(void *opaque, hwaddr addr, uint64_t value,
                          unsigned size)
{
    MmioSockdevState *s = opaque;
    QmeSdMsg req = { .type = s->proto == PROTO_SEED ? QME_SD_SEED_WRITE
                                                    : QME_SD_WRITE,
                     .addr = addr, .size = size,
                     .value = value & all_ones(size) };

    if (!qme_sd_access_ok(s->size, addr, size)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: bad write of %u bytes at 0x%"
                      HWADDR_PRIx " (unaligned): dropped\n",
                      TYPE_MMIO_SOCKDEV, size, addr);
        return;
    }
    if (s->fd < 0) {
        trace_mmio_sockdev_offline("write", addr, size);
        return;
    }
    trace_mmio_sockdev_write(addr, size, req.value);
    req.id = ++s->next_id;
    sockdev_post(s, &req);
}

static const MemoryRegionOps sockdev_ops = {
    .read = sockdev_read,
    .write = sockdev_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    /* Unaligned accesses reach us so that they get a defined result. */
    .valid = { .min_access_size = 1, .max_access_size = 8,
               .unaligned = true },
    .impl = { .min_access_size = 1, .max_access_size = 8,
              .unaligned = true },
};

/* Realize: map, wire, describe, connect */

static QmePlatformDevice sockdev_platform(MmioSockdevState *s)
{
    return (QmePlatformDevice) {
        .compatible = "qemu-modules-extra,mmio-sockdev",
        .regions = {
            { &s->window, s->size, "addr", s->addr },
            { &s->bridge.mr, SOCKDEV_BRIDGE_SIZE },    /* right after it */
        },
        .spi_prop = "irq",
        .spi = s->spi,
    };
}

static void sockdev_reset(DeviceState *dev)
{
    MmioSockdevState *s = MMIO_SOCKDEV(dev);
    QmeSdMsg req = { .type = QME_SD_RESET };

    trace_mmio_sockdev_reset();
    qme_mmio_regs_reset(&s->bridge);
    s->irq_level = 0;
    qemu_set_irq(s->irq, 0);
    if (s->fd >= 0 && s->proto == PROTO_V1) {
        req.id = ++s->next_id;
        sockdev_post(s, &req);
    }
}

/*
 * The first connection, as on-absent says.  Returns false with @errp set
 * (and no socket open) if realize must fail.
 */
static bool sockdev_start(MmioSockdevState *s, Error **errp)
{
    Error *err = NULL;

    if (sockdev_connect(s, &err)) {
        return true;
    }
    if (s->absent == ABSENT_WAIT) {
        int64_t end = qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + s->wait_ms;

        warn_report("%s: waiting up to %u ms for the device server at %s",
                    TYPE_MMIO_SOCKDEV, s->wait_ms, s->socket);
        while (qemu_clock_get_ms(QEMU_CLOCK_REALTIME) < end) {
            error_free(err);
            err = NULL;
            g_usleep(100 * 1000);
            if (sockdev_connect(s, &err)) {
                return true;
            }
        }
    }
    if (s->absent != ABSENT_RUN) {
        error_propagate_prepend(errp, err, "%s: no device server (start it "
                                "first, or set on-absent=wait or run): ",
                                TYPE_MMIO_SOCKDEV);
        return false;
    }
    warn_report_err(err);
    s->outage_logged = true;
    sockdev_schedule_reconnect(s);
    return true;
}

/*
 * Undo realize, whatever step it reached (each resource says whether it
 * is there): a failed realize must leave no mapping, socket, fd handler,
 * timer or bottom half behind, all of which would outlive the device.
 */
static void sockdev_teardown(MmioSockdevState *s)
{
    sockdev_close(s);
    if (memory_region_is_mapped(&s->bridge.mr)) {
        memory_region_del_subregion(get_system_memory(), &s->bridge.mr);
    }
    if (memory_region_is_mapped(&s->window)) {
        memory_region_del_subregion(get_system_memory(), &s->window);
    }
    /* No-ops on a region never initialized (it has no parent yet). */
    object_unparent(OBJECT(&s->bridge.mr));
    object_unparent(OBJECT(&s->window));
    timer_free(s->reconnect);
    s->reconnect = NULL;
    if (s->flush_bh) {
        qemu_bh_delete(s->flush_bh);
        s->flush_bh = NULL;
    }
    g_free(s->state_buf);
    s->state_buf = NULL;
}

/* Properties to their values (qme_platform_check() does addr and irq). */
static bool sockdev_check_properties(MmioSockdevState *s, Error **errp)
{
    if (!strcmp(s->protocol, "v1")) {
        s->proto = PROTO_V1;
    } else if (!strcmp(s->protocol, "seed")) {
        s->proto = PROTO_SEED;
    } else {
        error_setg(errp, "protocol=%s: expected v1 or seed", s->protocol);
        return false;
    }
    if (!strcmp(s->on_absent, "fail")) {
        s->absent = ABSENT_FAIL;
    } else if (!strcmp(s->on_absent, "wait")) {
        s->absent = ABSENT_WAIT;
    } else if (!strcmp(s->on_absent, "run")) {
        s->absent = ABSENT_RUN;
    } else {
        error_setg(errp, "on-absent=%s: expected fail, wait or run",
                   s->on_absent);
        return false;
    }
    if (!g_str_has_prefix(s->socket, "unix:") &&
        !g_str_has_prefix(s->socket, "tcp:")) {
        error_setg(errp, "socket=%s: expected unix:PATH or tcp:HOST:PORT",
                   s->socket);
        return false;
    }
    if (s->size < 0x100 || s->size > 0x1000000 || !is_power_of_2(s->size)) {
        error_setg(errp, "size=0x%x: must be a power of two from 0x100 to "
                   "0x1000000", s->size);
        return false;
    }
    if (s->timeout_ms == 0 || s->timeout_ms > 60000) {
        error_setg(errp, "timeout-ms=%u: must be 1..60000", s->timeout_ms);
        return false;
    }
    if (s->reconnect_ms == 0) {
        error_setg(errp, "reconnect-ms must not be 0");
        return false;
    }
    return true;
}

static void sockdev_realize(DeviceState *dev, Error **errp)
{
    MmioSockdevState *s = MMIO_SOCKDEV(dev);
    QmePlatformDevice platform = sockdev_platform(s);

    if (!sockdev_check_properties(s, errp) ||
        qme_platform_check(dev, &platform, errp) < 0 ||
        !qme_mmio_regs_init(&s->bridge, OBJECT(s), TYPE_MMIO_SOCKDEV
                            "-bridge", mmio_sockdev_regs, SOCKDEV_NUM_REGS,
                            s->bridge_values, SOCKDEV_BRIDGE_SIZE, errp)) {
        goto fail;
    }
    memory_region_init_io(&s->window, OBJECT(s), &sockdev_ops, s,
                          TYPE_MMIO_SOCKDEV, s->size);
    s->state_buf = g_malloc0(QME_SD_MAX_DATA);
    s->reconnect = timer_new_ms(QEMU_CLOCK_REALTIME, sockdev_reconnect, s);
    s->flush_bh = qemu_bh_new(sockdev_flush_bh, s);
    if (!sockdev_start(s, errp)) {
        goto fail;
    }

    /* Last, as it was checked above: the device appears once it works. */
    if (qme_platform_attach(dev, &platform, &s->irq, errp) == 0) {
        return;
    }

fail:
    sockdev_teardown(s);
}

/* Migration: the server's state travels in ours. */

static int sockdev_pre_save(void *opaque)
{
    MmioSockdevState *s = opaque;
    QmeSdMsg req = { .type = QME_SD_SAVE }, reply = { 0 };

    /* Posted writes reach the source's server before the switch-over. */
    if (s->fd >= 0) {
        sockdev_flush(s, deadline_ms(s));
    }
    if (s->restore_pending) {
        return 0;   /* never reached the server: pass it on unchanged */
    }
    s->state_len = 0;
    if (s->fd < 0 || !(s->caps & QME_SD_CAP_STATE)) {
        return 0;
    }
    req.id = ++s->next_id;
    if (!sockdev_call(s, &req, QME_SD_SAVE_REPLY, &reply) ||
        reply.status != QME_SD_ST_OK) {
        error_report("%s: server at %s could not save its state",
                     TYPE_MMIO_SOCKDEV, s->socket);
        return -EIO;
    }
    memcpy(s->state_buf, reply.data, reply.data_len);
    s->state_len = reply.data_len;
    trace_mmio_sockdev_state("save", s->state_len, reply.status);
    return 0;
}

static bool sockdev_state_len_ok(void *opaque, int version_id)
{
    MmioSockdevState *s = opaque;

    return s->state_len <= QME_SD_MAX_DATA && s->irq_level <= 1;
}

static int sockdev_post_load(void *opaque, int version_id)
{
    MmioSockdevState *s = opaque;
    QmeSdMsg req = { .type = QME_SD_RESTORE }, reply = { 0 };

    qemu_set_irq(s->irq, s->irq_level);
    if (!s->state_len) {
        return 0;
    }
    if (s->fd < 0 || !(s->caps & QME_SD_CAP_STATE)) {
        s->restore_pending = true;      /* sent once the server is there */
        return 0;
    }
    req.id = ++s->next_id;
    req.data = s->state_buf;
    req.data_len = s->state_len;
    if (!sockdev_call(s, &req, QME_SD_RESTORE_REPLY, &reply) ||
        reply.status != QME_SD_ST_OK) {
        error_report("%s: server at %s refused the migrated state",
                     TYPE_MMIO_SOCKDEV, s->socket);
        return -EINVAL;
    }
    trace_mmio_sockdev_state("restore", s->state_len, reply.status);
    return 0;
}

static const VMStateDescription vmstate_mmio_sockdev = {
    .name = TYPE_MMIO_SOCKDEV,
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = sockdev_pre_save,
    .post_load = sockdev_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_UINT32(irq_level, MmioSockdevState),
        VMSTATE_UINT32(state_len, MmioSockdevState),
        VMSTATE_VALIDATE("state fits", sockdev_state_len_ok),
        VMSTATE_VBUFFER_UINT32(state_buf, MmioSockdevState, 1, NULL,
                               state_len),
        VMSTATE_QME_REGS(bridge_values, MmioSockdevState),
        VMSTATE_END_OF_LIST()
    },
};

static Property sockdev_properties[] = {
    DEFINE_PROP_STRING("socket", MmioSockdevState, socket),
    DEFINE_PROP_STRING("protocol", MmioSockdevState, protocol),
    DEFINE_PROP_STRING("on-absent", MmioSockdevState, on_absent),
    DEFINE_PROP_UINT64("addr", MmioSockdevState, addr, 0x0b000000),
    DEFINE_PROP_UINT32("size", MmioSockdevState, size, 0x1000),
    DEFINE_PROP_UINT32("irq", MmioSockdevState, spi, 60),
    DEFINE_PROP_UINT32("timeout-ms", MmioSockdevState, timeout_ms, 500),
    DEFINE_PROP_UINT32("reconnect-ms", MmioSockdevState, reconnect_ms, 200),
    DEFINE_PROP_UINT32("wait-ms", MmioSockdevState, wait_ms, 10000),
    DEFINE_PROP_BOOL("dma", MmioSockdevState, dma, false),
    DEFINE_PROP_END_OF_LIST(),
};

static void sockdev_instance_init(Object *obj)
{
    MmioSockdevState *s = MMIO_SOCKDEV(obj);

    s->fd = -1;
}

static void sockdev_instance_post_init(Object *obj)
{
    MmioSockdevState *s = MMIO_SOCKDEV(obj);

    /* String properties cannot carry defaults in 7.2's DEFINE_PROP_STRING. */
    if (!s->socket) {
        s->socket = g_strdup("tcp:127.0.0.1:7890");
    }
    if (!s->protocol) {
        s->protocol = g_strdup("v1");
    }
    if (!s->on_absent) {
        s->on_absent = g_strdup("fail");
    }
}

static void sockdev_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->desc = "MMIO window served by an external device server over a "
               "socket (qemu-modules-extra)";
    dc->realize = sockdev_realize;
    dc->reset = sockdev_reset;
    dc->vmsd = &vmstate_mmio_sockdev;
    qme_platform_class_init(dc);
    device_class_set_props(dc, sockdev_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);

    object_class_property_set_description(klass, "socket",
        "device server address: tcp:HOST:PORT or unix:PATH "
        "(default tcp:127.0.0.1:7890)");
    object_class_property_set_description(klass, "protocol",
        "wire protocol: v1 (versioned, default) or seed (the original "
        "five-field format)");
    object_class_property_set_description(klass, "on-absent",
        "no server at start: fail (default), wait (up to wait-ms) or run "
        "(start disconnected, reconnect in the background)");
    object_class_property_set_description(klass, "addr",
        "guest physical address of the window (default 0x0b000000); the "
        "bridge status block follows it");
    object_class_property_set_description(klass, "size",
        "window size in bytes, a power of two (default 0x1000)");
    object_class_property_set_description(klass, "irq",
        "GIC SPI number of the interrupt line (default 60)");
    object_class_property_set_description(klass, "timeout-ms",
        "longest wait for a server reply or a TCP connect; then the "
        "server counts as lost (default 500)");
    object_class_property_set_description(klass, "reconnect-ms",
        "interval between reconnection attempts (default 200)");
    object_class_property_set_description(klass, "wait-ms",
        "with on-absent=wait: how long to wait for the server at start "
        "(default 10000)");
    object_class_property_set_description(klass, "dma",
        "let the server read and write guest RAM (v1; default off)");
}

static const TypeInfo sockdev_info = {
    .name = TYPE_MMIO_SOCKDEV,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(MmioSockdevState),
    .instance_init = sockdev_instance_init,
    .instance_post_init = sockdev_instance_post_init,
    .class_init = sockdev_class_init,
};

static void sockdev_register_types(void)
{
    type_register_static(&sockdev_info);
}

type_init(sockdev_register_types)
