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
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qme/sockdev-shm.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#define TX_FLUSH    4096    /* queued posted writes sent at once */
#define SHM_BATCH   32      /* posted requests published at once */
#define SHM_AHEAD   16      /* slots ahead whose line a write takes early */

struct QmeSdClient {
    const QmeSdClientOps *ops;
    void *opaque;
    QmeSdProto proto;
    uint32_t window;
    uint32_t offer;         /* capabilities offered in the handshake */
    unsigned timeout_ms;

    int fd;                 /* -1 while no server */
    int epfd;               /* what ops->watch watches: fd; -1: fd itself */
    int error;              /* errno of the last loss */
    uint32_t caps;          /* agreed in the handshake */
    unsigned version;       /* agreed in the handshake, 0 without */
    uint32_t next_id;

    /* Virtual time (version 2). */
    uint64_t time_sent;     /* the clock in the last TIME on the socket */
    uint64_t req_time;      /* the clock of the request being made */
    uint64_t quantum;       /* lockstep: 0 off */
    uint64_t synced;        /* lockstep: the server's time, last SYNC */
    QmeSdEvent events[QME_SD_MAX_EVENTS];   /* the server's timed events */
    unsigned armed;         /* how many of them are armed */

    uint8_t rx[QME_SD_MAX_MSG * 2];
    size_t rx_len;
    uint8_t tx[TX_FLUSH + QME_SD_MAX_MSG];
    size_t tx_len;
    /* A reply's data, or the guest bytes of a DMA read. */
    uint8_t data[QME_SD_MAX_DATA];

    /* Shared-memory transport: wanted, and in use (shm != NULL). */
    bool shm_want;
    unsigned spin_us;
    bool is_unix;           /* of the current connection */
    QmeSdShmMap map;
    uint32_t shm_head;      /* requests queued */
    uint32_t shm_published; /* requests the server was told about */
    uint32_t shm_tail;      /* shm->tail when we last looked */
    bool shm_kicked;        /* the event loop will publish */
    int shm_cpu;            /* cli_cpu as we last stored it */
    bool prefetchw;         /* the CPU can fetch a line for writing */
    uint32_t sock_seen;     /* shm->sock_seq when the socket was drained */
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
    /* For the client's life: a connection costs no more descriptors. */
    cl->epfd = ops->watch ? epoll_create1(EPOLL_CLOEXEC) : -1;
    cl->error = ENOTCONN;
    cl->spin_us = QME_SD_SHM_SPIN_US;
#if defined(__x86_64__) || defined(__i386__)
    {
        unsigned a, b, c, d;

        /* PREFETCHW (CPUID 0x80000001 ECX bit 8); elsewhere it faults. */
        cl->prefetchw = __get_cpuid(0x80000001, &a, &b, &c, &d) &&
                        (c & (1u << 8));
    }
#else
    cl->prefetchw = true;
#endif
    qme_sd_shm_map_init(&cl->map);
    return cl;
}

void qme_sd_client_set_shm(QmeSdClient *cl, bool want, unsigned spin_us)
{
    cl->shm_want = want;
    cl->spin_us = spin_us;
}

bool qme_sd_client_shm(const QmeSdClient *cl)
{
    return cl->map.shm != NULL;
}

/* The earliest armed event, or NULL. */
static QmeSdEvent *next_event(QmeSdClient *cl)
{
    QmeSdEvent *next = NULL;
    unsigned i;

    for (i = 0; i < QME_SD_MAX_EVENTS; i++) {
        if (cl->events[i].action &&
            (!next || cl->events[i].vtime < next->vtime)) {
            next = &cl->events[i];
        }
    }
    return next;
}

/* Ask the event loop for a tick at the next event or lockstep sync. */
static void arm_timer(QmeSdClient *cl)
{
    QmeSdEvent *ev = next_event(cl);
    uint64_t when = ev ? ev->vtime : 0;
    unsigned i;

    cl->armed = 0;
    for (i = 0; i < QME_SD_MAX_EVENTS; i++) {
        cl->armed += !!cl->events[i].action;
    }
    if (cl->quantum && cl->version >= 2 &&
        (!when || cl->synced + cl->quantum < when)) {
        when = cl->synced + cl->quantum;
    }
    if (cl->ops->timer) {
        /* An event at time 0 is due at once: 1 is as good and not "none". */
        cl->ops->timer(cl->opaque, when ? when : (ev ? 1 : 0));
    }
}

/* Forget the server's timed events (reset, a lost server). */
static void drop_events(QmeSdClient *cl)
{
    memset(cl->events, 0, sizeof(cl->events));
    arm_timer(cl);
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
    if (cl->epfd >= 0) {
        epoll_ctl(cl->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
    }
    qme_sd_shm_unmap(&cl->map);
    close(cl->fd);
    cl->fd = -1;
    cl->rx_len = 0;
    cl->tx_len = 0;
    cl->caps = 0;
    cl->version = 0;
    /* The server's events and lockstep go with it. */
    drop_events(cl);
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
        if (cl->epfd >= 0) {
            close(cl->epfd);
        }
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
        ssize_t n = send(cl->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

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

/* The guest's clock for a request; 0 when nobody tells it. */
static uint64_t guest_time(QmeSdClient *cl)
{
    return cl->ops->vtime ? (uint64_t)cl->ops->vtime(cl->opaque) : 0;
}

/*
 * Version 2 over the socket: a TIME before a request whose clock differs
 * from the last one sent (it goes out in the same send() as the request).
 */
static bool stamp(QmeSdClient *cl, int64_t deadline)
{
    QmeSdMsg m = { .type = QME_SD_TIME };

    if (cl->version < 2 || cl->map.shm) {
        return true;
    }
    m.vtime = cl->req_time;
    if (m.vtime == cl->time_sent) {
        return true;
    }
    cl->time_sent = m.vtime;
    return queue(cl, &m, deadline);
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
    if ((m->type == QME_SD_WRITE || m->type == QME_SD_RESET) &&
        !stamp(cl, deadline_ms(cl))) {
        return failed(cl);
    }
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
    case QME_SD_EVENT_AT:
        if (cl->version < 2 || !cl->ops->timer ||
            ((m->action & QME_SD_EV_LINE) && !(cl->caps & QME_SD_CAP_IRQ))) {
            return false;
        }
        cl->events[m->event] = (QmeSdEvent){ .vtime = m->vtime,
                                             .action = m->action,
                                             .line = m->line };
        arm_timer(cl);
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

/*
 * Wait on the socket for the reply of type @want and @id, by @deadline.
 * The first wait is a recv() that blocks (for at most the timeout:
 * SO_RCVTIMEO), not a poll() and then a recv(): a system call less per
 * request, which on a VM is a microsecond.  Any further wait (a reply
 * in pieces, messages before it) is a poll() bounded by @deadline.
 */
static bool await_reply(QmeSdClient *cl, uint8_t want, uint32_t id,
                        QmeSdMsg *reply, int64_t deadline)
{
    bool found, blocked = false;

    for (;;) {
        struct pollfd pfd = { .fd = cl->fd, .events = POLLIN };
        int64_t left;

        if (!process(cl, want, id, reply, &found, deadline)) {
            return false;
        }
        if (found) {
            if (cl->rx_len && cl->ops->kick) {
                /* A watch would not fire for bytes already read. */
                cl->ops->kick(cl->opaque);
            }
            return true;
        }
        if (!blocked) {
            ssize_t n = recv(cl->fd, cl->rx + cl->rx_len,
                             sizeof(cl->rx) - cl->rx_len, 0);

            blocked = true;
            if (n > 0) {
                cl->rx_len += n;
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                lose(cl, n == 0 ? "server closed the connection"
                                : "receive failed", ECONNRESET);
                return false;
            }
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

static bool shm_wait_used(QmeSdClient *cl, uint32_t used, int64_t deadline);

/*
 * The event loop watches the socket through an epoll set of its own
 * (ops->watch gets epfd), so that a request can take the socket out of
 * it for as long as it waits for its reply, without telling the event
 * loop: otherwise every reply would also wake the event loop (QEMU: its
 * main loop, which then takes the BQL from the vCPU that already read
 * the reply).  Taken out, only a hang-up or error still wakes it; put
 * back, bytes already there (a message behind the reply) wake it at
 * once.  A failing epoll_ctl() costs only those wake-ups.
 */
static void watch_socket(QmeSdClient *cl, bool on)
{
    struct epoll_event ev = { .events = on ? EPOLLIN : 0 };

    if (cl->epfd >= 0 && cl->fd >= 0) {
        epoll_ctl(cl->epfd, EPOLL_CTL_MOD, cl->fd, &ev);
    }
}

/* Send @req (flushing posted writes first) and wait for its reply. */
static bool call(QmeSdClient *cl, QmeSdMsg *req, uint8_t want,
                 QmeSdMsg *reply)
{
    int64_t deadline = deadline_ms(cl);
    bool ok;

    if (cl->fd < 0) {
        return false;
    }
    /* Requests in the ring come first: the server has done them all. */
    if (cl->map.shm && !shm_wait_used(cl, 0, deadline)) {
        return false;
    }
    req->id = ++cl->next_id;
    watch_socket(cl, false);
    if ((req->type == QME_SD_READ && !stamp(cl, deadline)) ||
        !queue(cl, req, deadline) || !flush_tx(cl, deadline)) {
        return false;
    }
    if (cl->proto == QME_SD_PROTO_BASIC) {
        reply->size = req->size;
    }
    ok = await_reply(cl, want, req->id, reply, deadline);
    watch_socket(cl, true);
    return ok;
}

/* Shared-memory transport (sockdev-shm.h) */

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Handle what the server sent on the socket, up to the moment it last
 * bumped sock_seq (its IRQ and DMA messages come on the socket, and
 * before the reply they preceded).  Returns false if the connection is
 * gone.
 */
static bool shm_drain_socket(QmeSdClient *cl, int64_t deadline)
{
    QmeSdMsg unused = { 0 };
    bool found;

    cl->sock_seen = __atomic_load_n(&cl->map.shm->sock_seq, __ATOMIC_ACQUIRE);
    while (cl->fd >= 0) {
        ssize_t n = recv(cl->fd, cl->rx + cl->rx_len,
                         sizeof(cl->rx) - cl->rx_len, MSG_DONTWAIT);

        if (n == 0) {
            lose(cl, "server closed the connection", ECONNRESET);
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            lose(cl, "receive failed", ECONNRESET);
        } else if (n < 0) {
            break;
        } else {
            cl->rx_len += n;
            process(cl, 0, 0, &unused, &found, deadline);
        }
    }
    return cl->fd >= 0;
}

/*
 * How many requests the server has not taken yet (it may still be
 * doing the last one it took), into *@pending; false, disconnected, if
 * its index makes no sense.
 */
static bool shm_pending(QmeSdClient *cl, uint32_t *pending)
{
    cl->shm_tail = __atomic_load_n(&cl->map.shm->tail, __ATOMIC_ACQUIRE);
    *pending = cl->shm_head - cl->shm_tail;
    if (*pending > cl->map.slots) {
        log_violation(cl, "shared-memory ring index out of range");
        lose(cl, "protocol error", ECONNRESET);
        return false;
    }
    return true;
}

/*
 * Make the queued requests visible to a server that polls.  @waited: the
 * last one is a request QEMU waits for, to be copied into the index's
 * cache line (wait_req), which the server then reads as it learns of the
 * request: one line transfer instead of two.  @seq_cst: ordered against
 * a later load of srv_sleeping (shm_publish()).
 */
static void shm_expose(QmeSdClient *cl, bool waited, bool seq_cst)
{
    QmeSdShm *shm = cl->map.shm;

    if (waited) {
        const uint64_t *w = (const uint64_t *)&shm->ring[(cl->shm_head - 1) &
                                                         (cl->map.slots - 1)];
        uint64_t *copy = (uint64_t *)&shm->wait_req;
        unsigned i;

        for (i = 0; i < sizeof(shm->wait_req) / 8; i++) {
            __atomic_store_n(&copy[i], w[i], __ATOMIC_RELAXED);
        }
    }
    __atomic_store_n(&shm->wait_n, cl->shm_head - waited, __ATOMIC_RELAXED);
    cl->shm_published = cl->shm_head;
    if (seq_cst) {
        __atomic_store_n(&shm->head, cl->shm_head, __ATOMIC_SEQ_CST);
    } else {
        __atomic_store_n(&shm->head, cl->shm_head, __ATOMIC_RELEASE);
    }
}

/* Make the queued requests visible; kick the server if it sleeps. */
static void shm_publish(QmeSdClient *cl, bool waited)
{
    /* Sequentially consistent, as the server's sleep: one sees the other. */
    shm_expose(cl, waited, true);
    if (__atomic_load_n(&cl->map.shm->srv_sleeping, __ATOMIC_SEQ_CST)) {
        qme_sd_shm_kick(&cl->map);
    }
}

/*
 * Wait for the reply to READ @id or, @id 0, until at most @used requests
 * are pending.  Busy-waits up to spin_us (not while the server last ran
 * on @cpu, ours: it could not make progress), then sleeps on the eventfd
 * and the socket together, so that a server that dies is seen at once.
 * Meanwhile it handles what the server sends on the socket (a server in
 * a DMA call waits for our reply).  @deadline 0: the timeout from now.
 * Returns false if the connection is gone.
 *
 * The clock is read only once the reply is late (every 64 looks, from
 * the 64th on): a reply within the first of them, the common case, costs
 * no clock read at all.
 */
static bool shm_wait(QmeSdClient *cl, uint32_t id, uint32_t used, int cpu,
                     int64_t deadline)
{
    QmeSdShm *shm = cl->map.shm;
    bool spin = cl->spin_us &&
        __atomic_load_n(&shm->srv_cpu, __ATOMIC_RELAXED) != cpu;
    int64_t spin_end = 0;
    uint32_t pending;
    unsigned n = 0;

    for (;;) {
        struct pollfd pfd[2] = {
            { .fd = cl->fd, .events = POLLIN },
            { .fd = cl->map.wait_fd, .events = POLLIN },
        };
        int64_t left;
        bool done;

        if (id) {
            done = __atomic_load_n(&shm->reply_id, __ATOMIC_ACQUIRE) == id;
        } else if (!shm_pending(cl, &pending)) {
            return false;
        } else {
            done = pending <= used;
        }
        if (done) {
            break;
        }
        if (__atomic_load_n(&shm->sock_seq, __ATOMIC_RELAXED) !=
            cl->sock_seen) {
            if (!deadline) {
                deadline = deadline_ms(cl);
            }
            if (!shm_drain_socket(cl, deadline)) {
                return false;
            }
            continue;
        }
        if (spin && ++n % 64) {
            qme_sd_shm_relax();
            continue;
        }
        if (spin && !spin_end) {
            spin_end = now_ns() + (int64_t)cl->spin_us * 1000;
        }
        if (spin && now_ns() < spin_end) {
            qme_sd_shm_relax();
            continue;
        }
        if (!deadline) {
            deadline = deadline_ms(cl);
        }
        left = deadline - now_ms();
        if (left <= 0) {
            lose(cl, "timeout: server did not answer", ETIMEDOUT);
            return false;
        }
        /* From here the server kicks us; then look once more. */
        __atomic_store_n(&shm->cli_sleeping, 1, __ATOMIC_SEQ_CST);
        done = id ? __atomic_load_n(&shm->reply_id, __ATOMIC_SEQ_CST) == id
                  : cl->shm_head - __atomic_load_n(&shm->tail,
                                                   __ATOMIC_SEQ_CST) <= used;
        if (!done &&
            __atomic_load_n(&shm->sock_seq, __ATOMIC_SEQ_CST) ==
            cl->sock_seen &&
            poll(pfd, 2, (int)left) > 0 && pfd[1].revents) {
            qme_sd_shm_ack(&cl->map);
        }
        __atomic_store_n(&shm->cli_sleeping, 0, __ATOMIC_RELAXED);
        if (pfd[0].revents && !shm_drain_socket(cl, deadline)) {
            return false;
        }
    }
    /* What the server sent on the socket before, first. */
    if (__atomic_load_n(&shm->sock_seq, __ATOMIC_ACQUIRE) != cl->sock_seen) {
        return shm_drain_socket(cl, deadline ? deadline : deadline_ms(cl));
    }
    return true;
}

/* Wait until the server has taken every request (not for a reply). */
static bool shm_wait_used(QmeSdClient *cl, uint32_t used, int64_t deadline)
{
    shm_publish(cl, false);
    return shm_wait(cl, 0, used, sched_getcpu(), deadline);
}

/*
 * Ask for the cache line of ring slot @n for writing, ahead of the write.
 * The server read it last, so our write needs the line back from its
 * CPU; without this the write waits for that transfer at the vCPU's next
 * locked instruction (QEMU releases the BQL after every access): 20000
 * posted writes cross-CPU took 190-280 ns each, with it 92-96 ns.
 */
static void shm_prefetch(QmeSdClient *cl, uint32_t n)
{
    QmeSdShmSlot *sl = &cl->map.shm->ring[n & (cl->map.slots - 1)];

    if (!cl->prefetchw) {
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("prefetchw %0" : : "m"(*sl));
#else
    __builtin_prefetch(sl, 1);
#endif
}

/* Queue one request (not yet published).  Returns false if lost. */
static bool shm_push(QmeSdClient *cl, uint8_t type, uint32_t addr,
                     unsigned size, uint64_t value, uint32_t id,
                     uint64_t vtime)
{
    QmeSdShmSlot *sl;

    /* The server's index only when our last look says the ring is full. */
    if (cl->shm_head - cl->shm_tail >= cl->map.slots &&
        !shm_wait_used(cl, cl->map.slots - 1, 0)) {
        return false;
    }
    sl = &cl->map.shm->ring[cl->shm_head & (cl->map.slots - 1)];
    shm_prefetch(cl, cl->shm_head + SHM_AHEAD);
    *sl = (QmeSdShmSlot){ .type = type, .size = (uint8_t)size,
                          .addr = addr, .value = value, .id = id,
                          .vtime = vtime };
    cl->shm_head++;
    return true;
}

static uint64_t all_ones(unsigned size);

static int shm_read(QmeSdClient *cl, uint32_t addr, unsigned size,
                    uint64_t *value)
{
    uint32_t id = ++cl->next_id, status;
    int cpu = sched_getcpu();
    uint64_t v;

    /* Only when it changed: the line is the server's to read. */
    if (cpu != cl->shm_cpu) {
        cl->shm_cpu = cpu;
        __atomic_store_n(&cl->map.shm->cli_cpu, cpu, __ATOMIC_RELAXED);
    }
    if (!shm_push(cl, QME_SD_READ, addr, size, 0, id, cl->req_time)) {
        return failed(cl);
    }
    shm_publish(cl, true);
    if (!shm_wait(cl, id, 0, cpu, 0)) {
        return failed(cl);
    }
    status = __atomic_load_n(&cl->map.shm->reply_status, __ATOMIC_RELAXED);
    v = __atomic_load_n(&cl->map.shm->reply_value, __ATOMIC_RELAXED);
    if (status != QME_SD_ST_OK && status != QME_SD_ST_ERROR) {
        log_violation(cl, "bad read status %u in shared memory", status);
        lose(cl, "protocol error", ECONNRESET);
        return failed(cl);
    }
    if (status != QME_SD_ST_OK) {
        return failed(cl);
    }
    *value = v & all_ones(size);
    return 0;
}

/*
 * A posted request through the ring: a write or a reset.  Published in
 * batches, as posted writes are sent over the socket: each publication
 * costs a cache-line transfer to the server's CPU, which would bound
 * the write rate.  The first request after the event loop's last
 * flush kicks it, so that the rest of a batch reaches the server soon
 * (qme_sd_client_flush() publishes); the event loop decides how soon
 * (QEMU: sockdev-client-qemu.c rate-limits its flushes).
 */
static int shm_post(QmeSdClient *cl, uint8_t type, uint32_t addr,
                    unsigned size, uint64_t value)
{
    if (!shm_push(cl, type, addr, size, value, ++cl->next_id,
                  cl->req_time)) {
        return failed(cl);
    }
    if (cl->shm_head - cl->shm_published >= SHM_BATCH) {
        /*
         * Visible to a server that polls, but no wake-up for one that
         * sleeps (on the vCPU's CPU, say): a context switch per batch
         * would cost more than the batch.  The flush wakes it.
         */
        shm_expose(cl, false, false);
    }
    if (!cl->shm_kicked && cl->ops->kick) {
        cl->shm_kicked = true;
        cl->ops->kick(cl->opaque);
    }
    return 0;
}

/*
 * Version 2: offer the server shared memory.  Returns false only if the
 * connection broke; a refusal leaves the socket transport in place.
 */
static bool shm_setup(QmeSdClient *cl, int64_t deadline)
{
    uint32_t slots = QME_SD_SHM_SLOTS;
    size_t size = qme_sd_shm_size(slots);
    QmeSdMsg req = { .type = QME_SD_SHM_SETUP, .shm_slots = slots,
                     .shm_size = (uint32_t)size };
    QmeSdMsg reply = { 0 };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 3)];
    } ctl;
    uint8_t bytes[QME_SD_HDR_SIZE + 8];
    struct iovec iov = { bytes, 0 };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    QmeSdShm *shm = MAP_FAILED;
    int memfd, wait_fd, kick_fd;
    bool sent = false;

    memfd = memfd_create("qme-sockdev-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    wait_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    /* Sealed: a server cannot shrink it under us (SIGBUS). */
    if (memfd >= 0 && wait_fd >= 0 && kick_fd >= 0 &&
        ftruncate(memfd, size) == 0 &&
        fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
              F_SEAL_SEAL) == 0) {
        shm = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    }
    if (shm != MAP_FAILED) {
        shm->magic = QME_SD_SHM_MAGIC;
        shm->slots = slots;
        shm->cli_cpu = -1;
        shm->srv_cpu = -1;
        req.id = ++cl->next_id;
        iov.iov_len = qme_sd_encode(bytes, sizeof(bytes), &req);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * 3);
        memcpy(CMSG_DATA(c), (int[]){ memfd, kick_fd, wait_fd },
               sizeof(int) * 3);
        sent = sendmsg(cl->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) ==
               (ssize_t)iov.iov_len;
        if (!sent) {
            lose(cl, "send failed", ECONNRESET);
        }
    }
    if (memfd >= 0) {
        close(memfd);   /* the mapping and the server keep it */
    }
    if (sent && await_reply(cl, QME_SD_SHM_SETUP_REPLY, req.id, &reply,
                            deadline) && reply.status == QME_SD_ST_OK) {
        cl->map = (QmeSdShmMap){ .shm = shm, .size = size, .slots = slots,
                                 .wait_fd = wait_fd, .kick_fd = kick_fd };
        cl->shm_head = 0;
        cl->shm_published = 0;
        cl->shm_tail = 0;
        cl->shm_kicked = false;
        cl->shm_cpu = -1;
        cl->sock_seen = __atomic_load_n(&shm->sock_seq, __ATOMIC_ACQUIRE);
        return true;
    }
    if (shm != MAP_FAILED) {
        munmap(shm, size);
    }
    if (wait_fd >= 0) {
        close(wait_fd);
    }
    if (kick_fd >= 0) {
        close(kick_fd);
    }
    return cl->fd >= 0;
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
    if (cl->map.shm) {
        cl->shm_kicked = false;
        shm_publish(cl, false);
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

/* Virtual time (version 2) */

unsigned qme_sd_client_version(const QmeSdClient *cl)
{
    return cl->version;
}

/*
 * SYNC (@event unused) or EVENT @event at guest time @vtime, through the
 * ring after the requests before it or on the socket, and wait for the
 * server to be done with it: what it sends meanwhile (EVENT_AT, IRQ) is
 * handled before time goes on.  Returns false if the connection is gone.
 */
static bool timed_call(QmeSdClient *cl, uint8_t type, unsigned event,
                       uint64_t vtime)
{
    QmeSdMsg req = { .type = type, .event = (uint16_t)event,
                     .vtime = vtime }, reply;
    int64_t deadline = deadline_ms(cl);
    uint32_t id;

    if (!cl->map.shm) {
        return call(cl, &req, type == QME_SD_SYNC ? QME_SD_SYNC_REPLY
                                                  : QME_SD_EVENT_REPLY,
                    &reply);
    }
    id = ++cl->next_id;
    if (!shm_push(cl, type, event, 0, 0, id, vtime)) {
        return false;
    }
    shm_publish(cl, true);
    return shm_wait(cl, id, 0, sched_getcpu(), deadline);
}

/*
 * Do timed event @ev, due now: set its line, then call the server back
 * at the event's own time (in order with the requests) and wait for it,
 * so that what it schedules from there is exact too.  Returns false if
 * the connection is gone.
 */
static bool fire(QmeSdClient *cl, QmeSdEvent *ev)
{
    QmeSdEvent e = *ev;
    unsigned event = ev - cl->events;

    *ev = (QmeSdEvent){ 0 };
    if ((e.action & QME_SD_EV_LINE) &&
        (!cl->ops->irq ||
         cl->ops->irq(cl->opaque, e.line, e.action & QME_SD_EV_LEVEL) < 0)) {
        log_violation(cl, "timed event %u on interrupt line %u, which the "
                      "device does not have", event, e.line);
        lose(cl, "protocol error", ECONNRESET);
        return false;
    }
    return !(e.action & QME_SD_EV_NOTIFY) ||
           timed_call(cl, QME_SD_EVENT, event, e.vtime);
}

/*
 * Everything due by guest time @vtime, in time order: timed events and
 * (lockstep) syncs in steps of one quantum, the guest's clock held
 * meanwhile.  Afterwards the server is less than a quantum behind, and
 * (within a timeout's worth of callbacks) no event it asked for is late.
 * Returns false if the connection is gone.
 */
static bool catch_up(QmeSdClient *cl, uint64_t vtime)
{
    int64_t budget = deadline_ms(cl);
    bool held = false, ok = true;

    while (ok && cl->fd >= 0) {
        QmeSdEvent *ev = next_event(cl);
        bool sync = cl->quantum && cl->version >= 2 &&
                    vtime >= cl->synced + cl->quantum;
        bool event = ev && ev->vtime <= vtime &&
                     (!sync || ev->vtime <= cl->synced + cl->quantum);

        /*
         * Events for one timeout's worth, then the next tick goes on: a
         * server that re-arms an event in the past from its callback
         * must not hold the caller for ever.  Syncs are never skipped:
         * lockstep waits for a slow server by design, one timeout each.
         */
        if ((!sync && !event) || (event && now_ms() > budget)) {
            break;
        }
        if (!held && cl->ops->hold_time) {
            cl->ops->hold_time(cl->opaque, true);
            held = true;
        }
        if (event) {
            ok = fire(cl, ev);
        } else {
            cl->synced += cl->quantum;
            ok = timed_call(cl, QME_SD_SYNC, 0, cl->synced);
        }
    }
    if (held) {
        cl->ops->hold_time(cl->opaque, false);
    }
    if (cl->fd >= 0) {
        arm_timer(cl);
    }
    return ok && cl->fd >= 0;
}

/*
 * Before a request: its time, read once (what is due by then is done
 * first, with that same time: a clock read again could be later).
 */
static bool before_request(QmeSdClient *cl)
{
    /* Version 1 and basic carry no clock: no read on their hot path. */
    if (cl->version < 2) {
        return true;
    }
    cl->req_time = guest_time(cl);
    if (!cl->armed && !cl->quantum) {
        return true;
    }
    return catch_up(cl, cl->req_time);
}

/* Lockstep from a connection's start: the server starts at our clock. */
static bool lockstep_start(QmeSdClient *cl)
{
    if (!cl->quantum || cl->version < 2) {
        return true;
    }
    cl->synced = guest_time(cl);
    if (!timed_call(cl, QME_SD_SYNC, 0, cl->synced)) {
        return false;
    }
    arm_timer(cl);
    return true;
}

void qme_sd_client_set_lockstep(QmeSdClient *cl, uint64_t quantum_ns)
{
    cl->quantum = quantum_ns;
    if (cl->fd >= 0) {
        /* A loss here is reported as any other; connect starts it again. */
        lockstep_start(cl);
    }
}

int qme_sd_client_tick(QmeSdClient *cl, uint64_t vtime)
{
    if (cl->fd < 0) {
        return failed(cl);
    }
    return catch_up(cl, vtime) ? 0 : failed(cl);
}

void qme_sd_client_get_events(const QmeSdClient *cl,
                              QmeSdEvent events[QME_SD_MAX_EVENTS])
{
    memcpy(events, cl->events, sizeof(cl->events));
}

int qme_sd_client_set_events(QmeSdClient *cl,
                             const QmeSdEvent events[QME_SD_MAX_EVENTS])
{
    unsigned i;

    for (i = 0; i < QME_SD_MAX_EVENTS; i++) {
        if (!qme_sd_event_ok(i, events[i].action, events[i].line)) {
            errno = EINVAL;
            return -1;
        }
    }
    if (cl->fd < 0) {
        return failed(cl);
    }
    memcpy(cl->events, events, sizeof(cl->events));
    arm_timer(cl);
    return 0;
}

int qme_sd_client_read(QmeSdClient *cl, uint32_t addr, unsigned size,
                       uint64_t *value)
{
    QmeSdMsg req = { .addr = addr, .size = (uint8_t)size };
    QmeSdMsg reply = { 0 };

    *value = all_ones(size);
    if (!before_request(cl)) {
        return failed(cl);
    }
    if (cl->map.shm) {
        return shm_read(cl, addr, size, value);
    }
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

    if (!before_request(cl)) {
        return failed(cl);
    }
    if (cl->map.shm) {
        return shm_post(cl, QME_SD_WRITE, addr, size, req.value);
    }
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
    if (!before_request(cl)) {
        return failed(cl);
    }
    /* The server forgets the events it asked for, and so do we. */
    drop_events(cl);
    if (cl->map.shm) {
        return shm_post(cl, QME_SD_RESET, 0, 0, 0);
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
    /* Version 2 where we can say what time it is, or want the memory. */
    bool v2 = (cl->shm_want && cl->is_unix) || cl->ops->vtime;
    QmeSdMsg hello = { .type = QME_SD_HELLO, .magic = QME_SD_MAGIC,
                       .version = v2 ? QME_SD_VERSION : QME_SD_VERSION_1,
                       .min_version = QME_SD_VERSION_1,
                       .window = cl->window, .caps = cl->offer };
    QmeSdMsg reply;

    if (!call(cl, &hello, QME_SD_HELLO_REPLY, &reply)) {
        qme_sd_fail(err, errlen, cl->error, "%s: no handshake reply (is it "
                    "a v1 server? a basic-protocol server never answers "
                    "one)", address);
        return false;
    }
    if (reply.magic != QME_SD_MAGIC || reply.version < QME_SD_VERSION_1 ||
        reply.version > hello.version ||
        (reply.caps & ~hello.caps) || reply.window != cl->window) {
        client_close(cl);
        qme_sd_fail(err, errlen, EPROTO, "%s: handshake refused: server "
                    "speaks version %u, window 0x%x, caps 0x%x; we need "
                    "version 1..%u, window 0x%x, caps within 0x%x", address,
                    reply.version, reply.window, reply.caps, hello.version,
                    cl->window, hello.caps);
        return false;
    }
    cl->caps = reply.caps;
    cl->version = reply.version;
    cl->time_sent = 0;
    if (reply.version >= 2 && cl->shm_want && cl->is_unix &&
        !shm_setup(cl, deadline_ms(cl))) {
        qme_sd_fail(err, errlen, cl->error, "%s: lost while setting up the "
                    "shared memory", address);
        return false;
    }
    if (!lockstep_start(cl)) {
        qme_sd_fail(err, errlen, cl->error, "%s: lost at the first lockstep "
                    "sync", address);
        return false;
    }
    return true;
}

int qme_sd_client_connect(QmeSdClient *cl, const char *address,
                          char *err, size_t errlen)
{
    struct timeval tv = { .tv_sec = cl->timeout_ms / 1000,
                          .tv_usec = cl->timeout_ms % 1000 * 1000 };
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
    /*
     * Blocking, but every call but one says MSG_DONTWAIT and waits in a
     * poll() with a deadline; the one, await_reply()'s first recv(),
     * blocks for at most the timeout.
     */
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
        int e = errno;

        close(fd);
        return qme_sd_fail(err, errlen, e, "%s: %s", address, strerror(e));
    }
    cl->fd = fd;
    cl->is_unix = a.is_unix;
    cl->rx_len = 0;
    cl->tx_len = 0;
    cl->caps = 0;
    if (cl->proto == QME_SD_PROTO_V1 && !handshake(cl, address, err,
                                                   errlen)) {
        return -1;
    }
    if (cl->ops->watch) {
        struct epoll_event ev = { .events = EPOLLIN };
        bool ep = cl->epfd >= 0 &&
                  epoll_ctl(cl->epfd, EPOLL_CTL_ADD, cl->fd, &ev) == 0;

        /* Without epoll, the socket itself (a wake-up per reply). */
        cl->ops->watch(cl->opaque, ep ? cl->epfd : cl->fd);
    }
    return 0;
}
