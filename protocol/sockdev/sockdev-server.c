/*
 * mmio-sockdev device-server library (include/qme/sockdev-server.h).
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include "qme/sockdev-server.h"
#include "sockdev-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qme/sockdev-shm.h"

/* Generous: a client that stalls this long mid-message is dropped. */
#define SEND_TIMEOUT_MS 5000

struct QmeSdServer {
    const QmeSdServerOps *ops;
    void *opaque;
    uint32_t window;
    uint32_t caps;          /* offered by the device */
    uint32_t agreed;        /* agreed with the current client */
    FILE *log;

    int lfd;                /* listening socket */
    int port;
    char unix_path[108];
    dev_t unix_dev;         /* identity of the socket file we bound */
    ino_t unix_ino;
    int cfd;                /* client, or -1 */
    int sigfd;              /* SIGINT/SIGTERM as input, or -1 */
    bool stopped;           /* one of them arrived */
    QmeSdProto proto;
    unsigned version;       /* v1: agreed in the handshake */
    uint32_t next_id;

    /* Receive buffer: a whole message always fits. */
    uint8_t rx[QME_SD_MAX_MSG * 2];
    size_t rx_len;
    uint8_t tx[QME_SD_MAX_MSG];
    uint8_t state[QME_SD_MAX_DATA];

    /* Reply a DMA call waits for (id), filled by dispatching. */
    bool dma_waiting;
    uint32_t dma_id;
    bool dma_done;
    int dma_status;
    uint8_t *dma_buf;
    uint32_t dma_len;

    /* Shared-memory transport (version 2), while a client uses it. */
    unsigned spin_us;       /* busy-wait for requests before sleeping */
    QmeSdShmMap map;        /* map.shm NULL: socket transport */
    uint32_t shm_head;      /* shm->head when we last looked */
    uint32_t shm_wait_n;    /* shm->wait_n read with it */
    bool had_client;        /* a client was accepted (for --once) */
    int rx_fds[3];          /* descriptors received, for SHM_SETUP */
    uint64_t vtime;         /* guest clock of the latest request, or 0 */
    int rx_nfds;
};

static void slog(QmeSdServer *srv, const char *fmt, ...)
{
    va_list ap;

    if (!srv->log) {
        return;
    }
    va_start(ap, fmt);
    vfprintf(srv->log, fmt, ap);
    va_end(ap);
    fflush(srv->log);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

QmeSdServer *qme_sd_server_new(const QmeSdServerOps *ops, void *opaque,
                               uint32_t window, uint32_t caps)
{
    QmeSdServer *srv = calloc(1, sizeof(*srv));

    if (!srv) {
        errno = ENOMEM;
        return NULL;
    }
    srv->ops = ops;
    srv->opaque = opaque;
    srv->window = window;
    srv->caps = caps & QME_SD_CAP_ALL;
    srv->log = stderr;
    srv->lfd = -1;
    srv->cfd = -1;
    srv->port = -1;
    srv->sigfd = -1;
    srv->spin_us = QME_SD_SHM_SPIN_US;
    qme_sd_shm_map_init(&srv->map);
    return srv;
}

void qme_sd_server_set_log(QmeSdServer *srv, FILE *log)
{
    srv->log = log;
}

void qme_sd_server_set_spin(QmeSdServer *srv, unsigned spin_us)
{
    srv->spin_us = spin_us;
}

bool qme_sd_server_shm(const QmeSdServer *srv)
{
    return srv->map.shm != NULL;
}

uint64_t qme_sd_server_vtime(const QmeSdServer *srv)
{
    return srv->vtime;
}

static void drop_rx_fds(QmeSdServer *srv)
{
    while (srv->rx_nfds) {
        close(srv->rx_fds[--srv->rx_nfds]);
    }
}

static void shm_teardown(QmeSdServer *srv)
{
    qme_sd_shm_unmap(&srv->map);
    drop_rx_fds(srv);
}

static void close_client(QmeSdServer *srv, const char *why)
{
    if (srv->cfd < 0) {
        return;
    }
    shm_teardown(srv);
    close(srv->cfd);
    srv->cfd = -1;
    srv->proto = QME_SD_PROTO_NONE;
    srv->agreed = 0;
    srv->version = 0;
    srv->vtime = 0;
    srv->rx_len = 0;
    if (srv->dma_waiting) {
        srv->dma_done = true;
        srv->dma_status = -1;
    }
    if (srv->ops->disconnected) {
        srv->ops->disconnected(srv->opaque, why);
    }
}

void qme_sd_server_disconnect(QmeSdServer *srv)
{
    close_client(srv, "closed by server");
}

void qme_sd_server_free(QmeSdServer *srv)
{
    if (!srv) {
        return;
    }
    close_client(srv, "server shut down");
    if (srv->sigfd >= 0) {
        close(srv->sigfd);
    }
    if (srv->lfd >= 0) {
        struct stat st;

        close(srv->lfd);
        /* Only the socket file this server made, not a later one there. */
        if (srv->unix_path[0] && !lstat(srv->unix_path, &st) &&
            S_ISSOCK(st.st_mode) && st.st_dev == srv->unix_dev &&
            st.st_ino == srv->unix_ino) {
            unlink(srv->unix_path);
        }
    }
    free(srv);
}

/*
 * Make room for binding a UNIX socket at @path.  Only a stale socket (one
 * nothing accepts on any more, left by a server that died) is removed:
 * anything else at that path is someone's file, and a live socket is
 * another server.  Returns 0, or -1 with @err set and nothing removed.
 */
static int remove_stale_socket(const char *path, const struct sockaddr_un *sa,
                               char *err, size_t errlen)
{
    struct stat st;
    int fd, rc;

    if (lstat(path, &st) < 0) {
        return errno == ENOENT ? 0 :
            qme_sd_fail(err, errlen, 0, "%s: %s", path, strerror(errno));
    }
    if (!S_ISSOCK(st.st_mode)) {
        return qme_sd_fail(err, errlen, EEXIST, "%s exists and is not a "
                           "socket: refusing to replace it", path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return qme_sd_fail(err, errlen, 0, "socket: %s", strerror(errno));
    }
    rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    close(fd);
    if (rc == 0) {
        return qme_sd_fail(err, errlen, EADDRINUSE, "%s: another server is "
                           "listening on it", path);
    }
    if (errno != ECONNREFUSED) {
        return qme_sd_fail(err, errlen, 0, "%s: %s", path, strerror(errno));
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        return qme_sd_fail(err, errlen, 0, "%s: cannot remove stale socket: "
                           "%s", path, strerror(errno));
    }
    return 0;
}

int qme_sd_server_listen(QmeSdServer *srv, const char *address,
                         char *err, size_t errlen)
{
    QmeSdAddress a;
    int fd, one = 1;

    if (qme_sd_parse_address(address, &a, err, errlen) < 0) {
        return -1;
    }
    if (a.is_unix) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;

        strcpy(sa.sun_path, a.path);
        if (remove_stale_socket(a.path, &sa, err, errlen) < 0) {
            return -1;
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return qme_sd_fail(err, errlen, 0, "socket: %s", strerror(errno));
        }
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            lstat(a.path, &st) < 0) {
            int e = errno;

            close(fd);
            return qme_sd_fail(err, errlen, e, "bind %s: %s", a.path,
                               strerror(e));
        }
        strcpy(srv->unix_path, a.path);
        srv->unix_dev = st.st_dev;
        srv->unix_ino = st.st_ino;
    } else {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                                  .ai_flags = AI_NUMERICSERV };
        struct addrinfo *ai;
        int rc;

        rc = getaddrinfo(a.host, a.port, &hints, &ai);
        if (rc) {
            return qme_sd_fail(err, errlen, EADDRNOTAVAIL, "%s: %s", address,
                               gai_strerror(rc));
        }
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            freeaddrinfo(ai);
            return qme_sd_fail(err, errlen, 0, "socket: %s", strerror(errno));
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            int e = errno;

            freeaddrinfo(ai);
            close(fd);
            return qme_sd_fail(err, errlen, e, "bind %s: %s", address,
                               strerror(e));
        }
        freeaddrinfo(ai);
    }
    if (listen(fd, 4) < 0) {
        close(fd);
        return qme_sd_fail(err, errlen, 0, "listen: %s", strerror(errno));
    }
    if (srv->unix_path[0] == 0) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);

        if (!getsockname(fd, (struct sockaddr *)&ss, &len)) {
            srv->port = ntohs(ss.ss_family == AF_INET6
                ? ((struct sockaddr_in6 *)&ss)->sin6_port
                : ((struct sockaddr_in *)&ss)->sin_port);
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    srv->lfd = fd;
    return 0;
}

void *qme_sd_server_opaque(const QmeSdServer *srv)
{
    return srv->opaque;
}

int qme_sd_server_port(const QmeSdServer *srv)
{
    return srv->port;
}

bool qme_sd_server_connected(const QmeSdServer *srv)
{
    return srv->cfd >= 0;
}

QmeSdProto qme_sd_server_proto(const QmeSdServer *srv)
{
    return srv->proto;
}

uint32_t qme_sd_server_caps(const QmeSdServer *srv)
{
    return srv->agreed;
}

static void accept_client(QmeSdServer *srv)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char peer[160] = "";
    int fd, one = 1;

    fd = accept4(srv->lfd, (struct sockaddr *)&ss, &len,
                 SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        return;
    }
    if (srv->cfd >= 0) {
        /* One guest device, one client: a second QEMU is a mistake. */
        slog(srv, "sockdev-server: refusing a second client\n");
        close(fd);
        return;
    }
    if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
        char host[INET6_ADDRSTRLEN] = "?";
        int port;

        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

            inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
            port = ntohs(sin->sin_port);
        } else {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

            inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
            port = ntohs(sin6->sin6_port);
        }
        snprintf(peer, sizeof(peer), "('%s', %d)", host, port);
    } else {
        snprintf(peer, sizeof(peer), "'%s'", srv->unix_path);
    }
    srv->cfd = fd;
    srv->had_client = true;
    srv->rx_len = 0;
    srv->proto = QME_SD_PROTO_NONE;
    if (srv->ops->connected) {
        srv->ops->connected(srv->opaque, peer);
    }
}

static int send_all(QmeSdServer *srv, const uint8_t *buf, size_t len)
{
    int64_t deadline = now_ms() + SEND_TIMEOUT_MS;

    while (len && srv->cfd >= 0) {
        ssize_t n = send(srv->cfd, buf, len, MSG_NOSIGNAL);

        if (n > 0) {
            buf += n;
            len -= n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd pfd = { .fd = srv->cfd, .events = POLLOUT };
            int64_t left = deadline - now_ms();

            if (left <= 0 || poll(&pfd, 1, (int)left) < 0) {
                close_client(srv, "send timeout");
                errno = ETIMEDOUT;
                return -1;
            }
        } else {
            close_client(srv, "send failed");
            errno = ECONNRESET;
            return -1;
        }
    }
    if (srv->cfd < 0) {
        errno = ENOTCONN;
        return -1;
    }
    return 0;
}

/* Wake QEMU if it sleeps waiting for us (the store before is ordered). */
static void shm_kick_client(QmeSdServer *srv)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&srv->map.shm->cli_sleeping, __ATOMIC_RELAXED)) {
        qme_sd_shm_kick(&srv->map);
    }
}

static int send_msg(QmeSdServer *srv, const QmeSdMsg *m)
{
    size_t n = qme_sd_encode(srv->tx, sizeof(srv->tx), m);

    if (!n) {
        errno = EINVAL;
        return -1;
    }
    if (send_all(srv, srv->tx, n) < 0) {
        return -1;
    }
    /*
     * QEMU waiting for a reply in shared memory does not poll the socket
     * while it spins: the counter tells it there is something to read
     * there first (an interrupt before the reply, a DMA request).
     */
    if (srv->map.shm) {
        __atomic_fetch_add(&srv->map.shm->sock_seq, 1, __ATOMIC_RELEASE);
        shm_kick_client(srv);
    }
    return 0;
}

static uint32_t do_read(QmeSdServer *srv, uint32_t addr, unsigned size,
                        uint64_t *value)
{
    *value = 0;
    if (!qme_sd_access_ok(srv->window, addr, size)) {
        slog(srv, "sockdev-server: read of %u bytes at 0x%x outside the "
             "window\n", size, addr);
        return QME_SD_ST_ERROR;
    }
    return srv->ops->read ? srv->ops->read(srv->opaque, addr, size, value)
                          : QME_SD_ST_OK;
}

static void do_write(QmeSdServer *srv, uint32_t addr, unsigned size,
                     uint64_t value)
{
    if (!qme_sd_access_ok(srv->window, addr, size)) {
        slog(srv, "sockdev-server: write of %u bytes at 0x%x outside the "
             "window dropped\n", size, addr);
        return;
    }
    if (srv->ops->write) {
        srv->ops->write(srv->opaque, addr, size, value);
    }
}

static void do_reset(QmeSdServer *srv)
{
    if (srv->ops->reset) {
        srv->ops->reset(srv->opaque);
    }
}

/* A timed event the server asked to be told of has fired at @vtime. */
static void do_event(QmeSdServer *srv, unsigned event, uint64_t vtime)
{
    srv->vtime = vtime;
    if (srv->ops->event) {
        srv->ops->event(srv->opaque, event, vtime);
    }
}

/* Lockstep: the guest's clock waits at @vtime until we return. */
static void do_sync(QmeSdServer *srv, uint64_t vtime)
{
    srv->vtime = vtime;
    if (srv->ops->sync) {
        srv->ops->sync(srv->opaque, vtime);
    }
}

static int shm_setup(QmeSdServer *srv, const QmeSdMsg *m);

/* One v1 message from the client. */
static void handle_v1(QmeSdServer *srv, const QmeSdMsg *m)
{
    QmeSdMsg r = { .id = m->id };
    long n;

    switch (m->type) {
    case QME_SD_HELLO:
        r.type = QME_SD_HELLO_REPLY;
        r.magic = QME_SD_MAGIC;
        /* The highest version both speak. */
        r.version = m->version < QME_SD_VERSION ? m->version
                                                : QME_SD_VERSION;
        r.window = srv->window;
        if (m->magic != QME_SD_MAGIC || m->min_version > QME_SD_VERSION ||
            m->min_version > m->version || m->version < QME_SD_VERSION_1) {
            slog(srv, "sockdev-server: client speaks versions %u..%u, "
                 "we speak %u\n", m->min_version, m->version, QME_SD_VERSION);
            close_client(srv, "version mismatch");
            return;
        }
        srv->agreed = srv->caps & m->caps;
        srv->version = r.version;
        r.caps = srv->agreed;
        if (m->window != srv->window) {
            /* QEMU decides whether a size mismatch is fatal. */
            slog(srv, "sockdev-server: client window 0x%x, ours 0x%x\n",
                 m->window, srv->window);
        }
        send_msg(srv, &r);
        return;
    case QME_SD_READ:
        r.type = QME_SD_READ_REPLY;
        r.status = do_read(srv, m->addr, m->size, &r.value);
        send_msg(srv, &r);
        return;
    case QME_SD_WRITE:
        do_write(srv, m->addr, m->size, m->value);
        return;
    case QME_SD_RESET:
        do_reset(srv);
        return;
    case QME_SD_PING:
        r.type = QME_SD_PONG;
        send_msg(srv, &r);
        return;
    case QME_SD_TIME:
    case QME_SD_SYNC:
    case QME_SD_EVENT:
        if (srv->version < 2) {
            slog(srv, "sockdev-server: %s from a version-1 client\n",
                 qme_sd_type_str(m->type));
            close_client(srv, "protocol error");
            return;
        }
        if (m->type == QME_SD_TIME) {
            srv->vtime = m->vtime;
            return;
        }
        if (m->type == QME_SD_EVENT) {
            do_event(srv, m->event, m->vtime);
            r.type = QME_SD_EVENT_REPLY;
        } else {
            do_sync(srv, m->vtime);
            r.type = QME_SD_SYNC_REPLY;
        }
        if (srv->cfd >= 0) {
            send_msg(srv, &r);
        }
        return;
    case QME_SD_SHM_SETUP:
        r.type = QME_SD_SHM_SETUP_REPLY;
        r.status = shm_setup(srv, m) < 0 ? QME_SD_ST_ERROR : QME_SD_ST_OK;
        if (srv->cfd >= 0) {
            send_msg(srv, &r);
        }
        return;
    case QME_SD_SAVE:
        r.type = QME_SD_SAVE_REPLY;
        n = srv->ops->save ? srv->ops->save(srv->opaque, srv->state,
                                            sizeof(srv->state)) : 0;
        if (n < 0 || (size_t)n > sizeof(srv->state)) {
            r.status = QME_SD_ST_ERROR;
        } else {
            r.data = srv->state;
            r.data_len = (uint32_t)n;
        }
        send_msg(srv, &r);
        return;
    case QME_SD_RESTORE:
        r.type = QME_SD_RESTORE_REPLY;
        if (srv->ops->restore) {
            r.status = srv->ops->restore(srv->opaque, m->data, m->data_len)
                       ? QME_SD_ST_ERROR : QME_SD_ST_OK;
        } else if (m->data_len) {
            r.status = QME_SD_ST_ERROR;
        }
        send_msg(srv, &r);
        return;
    case QME_SD_DMA_REPLY:
        if (!srv->dma_waiting || srv->dma_done || m->id != srv->dma_id) {
            close_client(srv, "unsolicited DMA reply");
            return;
        }
        srv->dma_status = (int)m->status;
        if (m->status == QME_SD_ST_OK && srv->dma_buf) {
            if (m->data_len != srv->dma_len) {
                close_client(srv, "DMA reply of the wrong length");
                return;
            }
            memcpy(srv->dma_buf, m->data, m->data_len);
        } else if (m->data_len && (m->status || !srv->dma_buf)) {
            close_client(srv, "DMA reply with unexpected data");
            return;
        }
        srv->dma_done = true;
        return;
    }
}

/*
 * SHM_SETUP: map QEMU's memfd and take the two eventfds that came with
 * the message.  Nothing is taken on trust: the mapping must have the
 * size the slot count gives, and be sealed against shrinking (a client
 * that truncated it under us would kill us with SIGBUS).  Returns 0, or
 * -1 (the transport stays the socket).
 */
static int shm_setup(QmeSdServer *srv, const QmeSdMsg *m)
{
    uint32_t slots = m->shm_slots;
    struct stat st;
    QmeSdShm *shm;
    int seals;

    if (srv->version < 2 || srv->map.shm || srv->rx_nfds != 3) {
        slog(srv, "sockdev-server: SHM_SETUP needs version 2 and 3 "
             "descriptors (have %d)\n", srv->rx_nfds);
        goto refuse;
    }
    if (slots < QME_SD_SHM_MIN_SLOTS || slots > QME_SD_SHM_MAX_SLOTS ||
        (slots & (slots - 1)) || m->shm_size != qme_sd_shm_size(slots) ||
        fstat(srv->rx_fds[0], &st) < 0 || st.st_size != m->shm_size) {
        slog(srv, "sockdev-server: SHM_SETUP: bad ring (%u slots, %u "
             "bytes)\n", slots, m->shm_size);
        goto refuse;
    }
    seals = fcntl(srv->rx_fds[0], F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
        slog(srv, "sockdev-server: SHM_SETUP: memory not sealed\n");
        goto refuse;
    }
    shm = mmap(NULL, m->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED,
               srv->rx_fds[0], 0);
    if (shm == MAP_FAILED) {
        slog(srv, "sockdev-server: SHM_SETUP: mmap: %s\n", strerror(errno));
        goto refuse;
    }
    if (__atomic_load_n(&shm->magic, __ATOMIC_RELAXED) != QME_SD_SHM_MAGIC ||
        __atomic_load_n(&shm->slots, __ATOMIC_RELAXED) != slots) {
        munmap(shm, m->shm_size);
        slog(srv, "sockdev-server: SHM_SETUP: bad header\n");
        goto refuse;
    }
    srv->map = (QmeSdShmMap){ .shm = shm, .size = m->shm_size,
                              .slots = slots, .wait_fd = srv->rx_fds[1],
                              .kick_fd = srv->rx_fds[2] };
    srv->shm_head = 0;
    srv->shm_wait_n = 0;
    close(srv->rx_fds[0]);
    srv->rx_nfds = 0;
    /* Whatever they are, they must never block us. */
    fcntl(srv->map.wait_fd, F_SETFL, O_NONBLOCK);
    fcntl(srv->map.kick_fd, F_SETFL, O_NONBLOCK);
    __atomic_store_n(&shm->srv_cpu, sched_getcpu(), __ATOMIC_RELAXED);
    return 0;

refuse:
    drop_rx_fds(srv);
    return -1;
}

static void shm_violation(QmeSdServer *srv, const char *what)
{
    slog(srv, "sockdev-server: shared memory: %s: closing the "
         "connection\n", what);
    close_client(srv, "protocol error");
}

/*
 * Answer the request QEMU waits for (reply_id last: the reply is
 * complete), unless the handler dropped the client meanwhile (@shm is
 * the memory the request came from).
 */
static void shm_reply(QmeSdServer *srv, QmeSdShm *shm, uint32_t id,
                      uint32_t status, uint64_t value)
{
    if (srv->map.shm != shm) {
        return;
    }
    __atomic_store_n(&shm->reply_value, value, __ATOMIC_RELAXED);
    __atomic_store_n(&shm->reply_status, status, __ATOMIC_RELAXED);
    __atomic_store_n(&shm->reply_id, id, __ATOMIC_RELEASE);
    shm_kick_client(srv);
}

/* One request from the ring (already copied out of shared memory). */
static void shm_handle(QmeSdServer *srv, const QmeSdShmSlot *sl)
{
    QmeSdShm *shm = srv->map.shm;
    uint64_t value;
    uint32_t status;

    if (sl->pad || sl->pad2) {
        shm_violation(srv, "non-zero padding");
        return;
    }
    srv->vtime = sl->vtime;
    switch (sl->type) {
    case QME_SD_READ:
        if (!qme_sd_access_ok(UINT32_MAX, 0, sl->size)) {
            break;
        }
        status = do_read(srv, sl->addr, sl->size, &value);
        shm_reply(srv, shm, sl->id, status, value);
        return;
    case QME_SD_WRITE:
        if (!qme_sd_access_ok(UINT32_MAX, 0, sl->size) ||
            (sl->size < 8 && (sl->value >> (8 * sl->size)))) {
            break;
        }
        do_write(srv, sl->addr, sl->size, sl->value);
        return;
    case QME_SD_RESET:
        do_reset(srv);
        return;
    case QME_SD_EVENT:
    case QME_SD_SYNC:
        if (sl->size || sl->value ||
            sl->addr >= (sl->type == QME_SD_EVENT ? QME_SD_MAX_EVENTS : 1)) {
            break;
        }
        if (sl->type == QME_SD_EVENT) {
            do_event(srv, sl->addr, sl->vtime);
        } else {
            do_sync(srv, sl->vtime);
        }
        shm_reply(srv, shm, sl->id, QME_SD_ST_OK, 0);
        return;
    }
    shm_violation(srv, "bad request in the ring");
}

/*
 * Serve every request in the ring, in order; returns how many.  Each is
 * taken out of the ring (tail advanced) before it is handled, because a
 * handler may wait for a DMA reply and serve the next ones meanwhile,
 * as over the socket.  The server is single-threaded, so QEMU finding
 * the ring empty still knows that every request was done before its
 * next socket request is read.
 */
static unsigned shm_serve(QmeSdServer *srv)
{
    uint32_t head;
    QmeSdShm *shm = srv->map.shm;
    unsigned served = 0;

    while (srv->map.shm == shm && shm) {
        uint32_t tail = __atomic_load_n(&shm->tail, __ATOMIC_RELAXED);
        uint64_t w[sizeof(QmeSdShmSlot) / 8];
        const QmeSdShmSlot *src;
        QmeSdShmSlot sl;
        unsigned i;

        /* QEMU's index only when ours is used up: it is QEMU's line. */
        if (srv->shm_head == tail) {
            srv->shm_head = __atomic_load_n(&shm->head, __ATOMIC_ACQUIRE);
            srv->shm_wait_n = __atomic_load_n(&shm->wait_n, __ATOMIC_RELAXED);
        }
        head = srv->shm_head;
        if (head == tail) {
            /* A QEMU waiting for room or for us to finish can go on. */
            if (served) {
                shm_kick_client(srv);
            }
            break;
        }
        if (head - tail > srv->map.slots) {
            shm_violation(srv, "ring index out of range");
            break;
        }
        if (!served) {
            int cpu = sched_getcpu();

            /* Only when it changed: the line is QEMU's to read. */
            if (__atomic_load_n(&shm->srv_cpu, __ATOMIC_RELAXED) != cpu) {
                __atomic_store_n(&shm->srv_cpu, cpu, __ATOMIC_RELAXED);
            }
        }
        /*
         * Copied once: QEMU could change it while we look at it.  The
         * request QEMU waits for from the index's line, which we have.
         */
        src = tail == srv->shm_wait_n ? &shm->wait_req
                                      : &shm->ring[tail & (srv->map.slots - 1)];
        for (i = 0; i < sizeof(w) / 8; i++) {
            w[i] = __atomic_load_n((const uint64_t *)src + i,
                                   __ATOMIC_RELAXED);
        }
        memcpy(&sl, w, sizeof(sl));
        __atomic_store_n(&shm->tail, tail + 1, __ATOMIC_RELEASE);
        shm_handle(srv, &sl);
        srv->vtime = 0;
        served++;
    }
    return served;
}

/*
 * Before a sleep in poll(): from now on QEMU kicks the doorbell.  Returns
 * the poll timeout to use: 0 if requests came in meanwhile.
 */
static int shm_before_sleep(QmeSdServer *srv, int timeout_ms)
{
    if (!srv->map.shm) {
        return timeout_ms;
    }
    __atomic_store_n(&srv->map.shm->srv_sleeping, 1, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&srv->map.shm->head, __ATOMIC_SEQ_CST) !=
           __atomic_load_n(&srv->map.shm->tail, __ATOMIC_RELAXED) ? 0
                                                              : timeout_ms;
}

/* After the sleep: reset the doorbell, serve the ring. */
static void shm_after_sleep(QmeSdServer *srv, bool kicked)
{
    if (!srv->map.shm) {
        return;
    }
    __atomic_store_n(&srv->map.shm->srv_sleeping, 0, __ATOMIC_RELAXED);
    if (kicked) {
        qme_sd_shm_ack(&srv->map);
    }
    shm_serve(srv);
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Busy-wait up to spin_us (and @timeout_ms) for requests, unless QEMU
 * runs on our CPU: then spinning would only keep it from producing them.
 * Returns whether some were served.
 */
static bool shm_spin(QmeSdServer *srv, int timeout_ms)
{
    int64_t spin = (int64_t)srv->spin_us * 1000, end;
    unsigned n = 0;

    if (timeout_ms >= 0 && spin > (int64_t)timeout_ms * 1000000) {
        spin = (int64_t)timeout_ms * 1000000;
    }
    if (!srv->map.shm || !spin ||
        __atomic_load_n(&srv->map.shm->cli_cpu, __ATOMIC_RELAXED) ==
        sched_getcpu()) {
        return false;
    }
    end = now_ns() + spin;
    for (;;) {
        if (shm_serve(srv)) {
            return true;
        }
        if (!srv->map.shm || (++n % 64 == 0 && now_ns() > end)) {
            return false;
        }
        qme_sd_shm_relax();
    }
}

static void handle_basic(QmeSdServer *srv, const QmeSdMsg *m)
{
    uint8_t data[8];
    uint64_t v;

    if (m->type == QME_SD_BASIC_READ) {
        if (do_read(srv, m->addr, m->size, &v) != QME_SD_ST_OK) {
            v = 0;      /* the basic protocol has no way to say "error" */
        }
        qme_sd_basic_encode_value(data, m->size, v);
        send_all(srv, data, m->size);
    } else {
        do_write(srv, m->addr, m->size, m->value);
    }
}

/*
 * Decode and handle whatever complete messages the buffer holds.  Each
 * message is taken out of the buffer before it is handled, because a
 * handler may wait for a DMA reply and so re-enter this function.
 */
static void process_rx(QmeSdServer *srv)
{
    uint8_t msgbuf[QME_SD_MAX_MSG];

    while (srv->cfd >= 0 && srv->rx_len) {
        QmeSdMsg m;
        size_t used = 0;
        QmeSdResult r;

        if (srv->proto == QME_SD_PROTO_NONE) {
            uint8_t b = srv->rx[0];

            if (b == QME_SD_BASIC_READ || b == QME_SD_BASIC_WRITE) {
                srv->proto = QME_SD_PROTO_BASIC;
            } else if (b == QME_SD_HELLO) {
                srv->proto = QME_SD_PROTO_V1;
            } else {
                close_client(srv, "unknown protocol");
                return;
            }
        }
        if (srv->proto == QME_SD_PROTO_BASIC) {
            r = qme_sd_basic_decode(srv->rx, srv->rx_len, &m, &used);
        } else {
            r = qme_sd_decode(srv->rx, srv->rx_len, QME_SD_FROM_CLIENT,
                              &m, &used);
        }
        if (r == QME_SD_NEED_MORE) {
            return;
        }
        if (r < 0) {
            slog(srv, "sockdev-server: bad message from client (%s, type "
                 "0x%02x): closing the connection\n", qme_sd_result_str(r),
                 srv->rx[0]);
            close_client(srv, "protocol error");
            return;
        }
        memcpy(msgbuf, srv->rx, used);
        if (m.data) {
            m.data = msgbuf + (m.data - srv->rx);
        }
        memmove(srv->rx, srv->rx + used, srv->rx_len - used);
        srv->rx_len -= used;
        if (srv->proto == QME_SD_PROTO_BASIC) {
            handle_basic(srv, &m);
        } else {
            handle_v1(srv, &m);
        }
    }
}

/*
 * recv(), keeping descriptors that come along (SHM_SETUP's; at most 3
 * are kept, the rest and any later ones closed).
 */
static ssize_t recv_with_fds(QmeSdServer *srv)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 4)];
    } ctl;
    struct iovec iov = { srv->rx + srv->rx_len, sizeof(srv->rx) - srv->rx_len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf) };
    struct cmsghdr *c;
    ssize_t n;

    n = recvmsg(srv->cfd, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0) {
        return n;
    }
    for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        int *fds = (int *)CMSG_DATA(c);
        size_t i, nfds;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        drop_rx_fds(srv);
        for (i = 0; i < nfds; i++) {
            if (srv->rx_nfds < 3) {
                srv->rx_fds[srv->rx_nfds++] = fds[i];
            } else {
                close(fds[i]);
            }
        }
    }
    return n;
}

/* Read what is available and process it.  Reentrant through DMA waits. */
static void client_readable(QmeSdServer *srv)
{
    ssize_t n;

    if (srv->cfd < 0) {
        return;
    }
    n = recv_with_fds(srv);
    if (n == 0) {
        close_client(srv, "client closed the connection");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            close_client(srv, strerror(errno));
        }
        return;
    }
    srv->rx_len += n;
    process_rx(srv);
}

int qme_sd_server_stop_on_signals(QmeSdServer *srv)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    /* Blocked, they wait in the descriptor: no handler, no shared flag. */
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
        return -1;
    }
    srv->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return srv->sigfd < 0 ? -1 : 0;
}

bool qme_sd_server_stopped(const QmeSdServer *srv)
{
    return srv->stopped;
}

int qme_sd_server_pollfds(QmeSdServer *srv, struct pollfd *fds, int max)
{
    int n = 0;

    if (n < max && srv->sigfd >= 0) {
        fds[n++] = (struct pollfd){ .fd = srv->sigfd, .events = POLLIN };
    }
    if (max >= 1 && srv->lfd >= 0) {
        fds[n++] = (struct pollfd){ .fd = srv->lfd, .events = POLLIN };
    }
    if (n < max && srv->cfd >= 0) {
        fds[n++] = (struct pollfd){ .fd = srv->cfd, .events = POLLIN };
    }
    if (n < max && srv->map.shm) {
        uint64_t one = 1;

        fds[n++] = (struct pollfd){ .fd = srv->map.wait_fd,
                                    .events = POLLIN };
        /* Requests already there: make the caller's poll() return. */
        if (shm_before_sleep(srv, -1) == 0 &&
            write(srv->map.wait_fd, &one, sizeof(one)) < 0) {
            /* Counter full: poll() returns at once anyway. */
        }
    }
    return n;
}

int qme_sd_server_dispatch(QmeSdServer *srv, const struct pollfd *fds, int n)
{
    bool kicked = false;
    int i;

    for (i = 0; i < n; i++) {
        if (!fds[i].revents) {
            continue;
        }
        if (fds[i].fd == srv->sigfd) {
            srv->stopped = true;
        } else if (fds[i].fd == srv->lfd) {
            if (fds[i].revents & (POLLERR | POLLNVAL)) {
                errno = EIO;
                return -1;
            }
            accept_client(srv);
        } else if (fds[i].fd == srv->cfd) {
            client_readable(srv);
        } else if (srv->map.shm && fds[i].fd == srv->map.wait_fd) {
            kicked = true;
        }
    }
    shm_after_sleep(srv, kicked);
    return 0;
}

int qme_sd_server_run_once(QmeSdServer *srv, int timeout_ms)
{
    struct pollfd fds[4];
    int n, rc;

    if (shm_spin(srv, timeout_ms)) {
        return 0;
    }
    n = qme_sd_server_pollfds(srv, fds, 4);
    rc = poll(fds, n, timeout_ms);
    if (rc < 0) {
        if (errno != EINTR) {
            return -1;
        }
        for (rc = 0; rc < n; rc++) {
            fds[rc].revents = 0;
        }
    }
    /* Also with nothing ready: it ends the sleep QEMU may kick. */
    return qme_sd_server_dispatch(srv, fds, n);
}

bool qme_sd_server_cli_arg(QmeSdServerCli *cli, int argc, char **argv,
                           int *i)
{
    const char *opt = argv[*i];
    bool has_value = *i + 1 < argc;

    if (!strcmp(opt, "--port") && has_value) {
        cli->port = atoi(argv[++*i]);
    } else if (!strcmp(opt, "--host") && has_value) {
        cli->host = argv[++*i];
    } else if (!strcmp(opt, "--unix") && has_value) {
        cli->unix_path = argv[++*i];
    } else if (!strcmp(opt, "--once")) {
        cli->once = true;
    } else if (!strcmp(opt, "--quiet")) {
        cli->quiet = true;
    } else {
        return false;
    }
    return true;
}

int qme_sd_server_cli_start(QmeSdServer *srv, const QmeSdServerCli *cli,
                            char *err, size_t errlen)
{
    char addr[300];

    if (cli->unix_path) {
        snprintf(addr, sizeof(addr), "unix:%s", cli->unix_path);
    } else {
        snprintf(addr, sizeof(addr), "tcp:%s:%d",
                 cli->host ? cli->host : "127.0.0.1", cli->port);
    }
    if (qme_sd_server_listen(srv, addr, err, errlen) < 0) {
        return -1;
    }
    if (cli->quiet) {
        qme_sd_server_set_log(srv, NULL);
    }
    if (qme_sd_server_stop_on_signals(srv) < 0) {
        snprintf(err, errlen, "signals: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int qme_sd_server_cli_serve(QmeSdServer *srv, const QmeSdServerCli *cli)
{
    while (!qme_sd_server_stopped(srv) &&
           !(cli->once && srv->had_client && srv->cfd < 0)) {
        if (qme_sd_server_run_once(srv, 200) < 0) {
            return -1;
        }
    }
    return 0;
}

int qme_sd_server_set_irq(QmeSdServer *srv, unsigned line, bool level)
{
    QmeSdMsg m = { .type = QME_SD_IRQ, .line = (uint16_t)line,
                   .level = level };

    if (srv->cfd < 0 || !(srv->agreed & QME_SD_CAP_IRQ) || line > 0xffff) {
        errno = line > 0xffff ? EINVAL : ENOTCONN;
        return -1;
    }
    return send_msg(srv, &m);
}

int qme_sd_server_event_at(QmeSdServer *srv, unsigned event, uint64_t vtime,
                           unsigned action, unsigned line)
{
    QmeSdMsg m = { .type = QME_SD_EVENT_AT, .vtime = vtime,
                   .event = (uint16_t)event, .action = (uint8_t)action,
                   .line = (uint16_t)line };

    if (event >= QME_SD_MAX_EVENTS || action > 0xff || line > 0xffff) {
        errno = EINVAL;
        return -1;
    }
    if (srv->cfd < 0 || srv->version < 2 ||
        ((action & QME_SD_EV_LINE) && !(srv->agreed & QME_SD_CAP_IRQ))) {
        errno = ENOTCONN;
        return -1;
    }
    return send_msg(srv, &m);
}

static int dma(QmeSdServer *srv, uint8_t type, uint64_t addr, void *rbuf,
               const void *wbuf, uint32_t len, int timeout_ms)
{
    QmeSdMsg m = { .type = type, .dma_addr = addr, .dma_len = len };
    int64_t deadline = now_ms() + timeout_ms;

    if (srv->cfd < 0 || !(srv->agreed & QME_SD_CAP_DMA)) {
        errno = ENOTCONN;
        return -1;
    }
    if (srv->dma_waiting || len == 0 || len > QME_SD_MAX_DATA) {
        errno = srv->dma_waiting ? EBUSY : EINVAL;
        return -1;
    }
    m.id = ++srv->next_id;
    m.data = wbuf;
    m.data_len = wbuf ? len : 0;
    if (send_msg(srv, &m) < 0) {
        return -1;
    }
    srv->dma_waiting = true;
    srv->dma_done = false;
    srv->dma_id = m.id;
    srv->dma_buf = rbuf;
    srv->dma_len = len;
    while (!srv->dma_done) {
        /* Requests keep coming meanwhile, through the ring too. */
        struct pollfd pfd[2] = {
            { .fd = srv->cfd, .events = POLLIN },
            { .fd = srv->map.shm ? srv->map.wait_fd : -1, .events = POLLIN },
        };
        int64_t left = deadline - now_ms();

        if (left <= 0 ||
            poll(pfd, 2, shm_before_sleep(srv, (int)left)) < 0) {
            srv->dma_waiting = false;
            close_client(srv, "DMA reply timeout");
            errno = ETIMEDOUT;
            return -1;
        }
        if (pfd[0].revents) {
            client_readable(srv);
        }
        shm_after_sleep(srv, pfd[1].revents);
    }
    srv->dma_waiting = false;
    if (srv->dma_status < 0) {
        errno = ECONNRESET;
    }
    return srv->dma_status;
}

int qme_sd_server_dma_read(QmeSdServer *srv, uint64_t addr, void *buf,
                           uint32_t len, int timeout_ms)
{
    return dma(srv, QME_SD_DMA_READ, addr, buf, NULL, len, timeout_ms);
}

int qme_sd_server_dma_write(QmeSdServer *srv, uint64_t addr,
                            const void *buf, uint32_t len, int timeout_ms)
{
    return dma(srv, QME_SD_DMA_WRITE, addr, NULL, buf, len, timeout_ms);
}

/* Register-table ops. */

static uint32_t rb_read(void *opaque, uint32_t addr, unsigned size,
                        uint64_t *value)
{
    QmeRegStatus st = qme_regblock_read(opaque, addr, size, value);

    return st == QME_REG_OK ? QME_SD_ST_OK : QME_SD_ST_ERROR;
}

static void rb_write(void *opaque, uint32_t addr, unsigned size,
                     uint64_t value)
{
    qme_regblock_write(opaque, addr, size, value);
}

static void rb_reset(void *opaque)
{
    qme_regblock_reset(opaque);
}

static long rb_save(void *opaque, uint8_t *buf, size_t cap)
{
    QmeRegBlock *blk = opaque;
    unsigned i, b;

    if ((size_t)blk->nregs * 8 > cap) {
        return -1;
    }
    for (i = 0; i < blk->nregs; i++) {
        for (b = 0; b < 8; b++) {
            buf[i * 8 + b] = (uint8_t)(blk->values[i] >> (8 * b));
        }
    }
    return (long)blk->nregs * 8;
}

static int rb_restore(void *opaque, const uint8_t *buf, size_t len)
{
    QmeRegBlock *blk = opaque;
    unsigned i, b;

    if (len != (size_t)blk->nregs * 8) {
        return -1;
    }
    for (i = 0; i < blk->nregs; i++) {
        uint64_t v = 0;

        for (b = 0; b < 8; b++) {
            v |= (uint64_t)buf[i * 8 + b] << (8 * b);
        }
        /* Never store bits the register cannot hold. */
        if (blk->regs[i].size < 8) {
            v &= (UINT64_C(1) << (8 * blk->regs[i].size)) - 1;
        }
        blk->values[i] = v & ~blk->regs[i].reserved;
    }
    return 0;
}

const QmeSdServerOps qme_sd_regblock_ops = {
    .read = rb_read,
    .write = rb_write,
    .reset = rb_reset,
    .save = rb_save,
    .restore = rb_restore,
};
