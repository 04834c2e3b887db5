/*
 * Unit tests of the sockdev client library against the server library,
 * on real sockets, without QEMU; and of the address parser both use.
 * The server runs its event loop in a thread, as it would in its own
 * process.  TAP output.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "qme/sockdev-client.h"
#include "qme/sockdev-server.h"
#include "qme/sockdev-shm.h"

#define WINDOW      0x100
#define REG_BAD     0x80    /* reads answer an error status */
#define REG_IRQ     0x88    /* write: raise or lower the interrupt */
#define REG_DMA     0x90    /* write: copy 4 guest bytes at 0x1000 to 0 */
#define REG_DROP    0x98    /* write: drop the client */
#define REG_DIE     0xa0    /* write: die in the next read (close all) */
#define TIMEOUT_MS  500

static int failures, tests;

static int64_t now_ms_test(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ok(bool cond, const char *fmt, ...)
{
    va_list ap;

    printf("%sok %d - ", cond ? "" : "not ", ++tests);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    failures += !cond;
}

/* The device behind the server: bytes, and commands to misbehave. */
typedef struct Device {
    QmeSdServer *srv;
    pthread_t thread;
    atomic_bool stop;
    uint8_t mem[WINDOW];
    int dma_rc;
    bool die;
} Device;

static uint32_t dev_read(void *opaque, uint32_t addr, unsigned size,
                         uint64_t *value)
{
    Device *d = opaque;
    unsigned i;

    if (addr == REG_BAD) {
        return QME_SD_ST_ERROR;
    }
    if (d->die) {
        /* As a crash would: the client sees the socket close, no reply. */
        usleep(50 * 1000);
        qme_sd_server_disconnect(d->srv);
        d->die = false;
        return QME_SD_ST_OK;
    }
    *value = 0;
    for (i = 0; i < size; i++) {
        *value |= (uint64_t)d->mem[addr + i] << (8 * i);
    }
    return QME_SD_ST_OK;
}

static void dev_write(void *opaque, uint32_t addr, unsigned size,
                      uint64_t value)
{
    Device *d = opaque;
    unsigned i;

    switch (addr) {
    case REG_IRQ:
        qme_sd_server_set_irq(d->srv, 0, value & 1);
        return;
    case REG_DMA:
        d->dma_rc = qme_sd_server_dma_read(d->srv, 0x1000, d->mem, 4, 2000);
        return;
    case REG_DROP:
        qme_sd_server_disconnect(d->srv);
        return;
    case REG_DIE:
        d->die = true;
        return;
    }
    for (i = 0; i < size; i++) {
        d->mem[addr + i] = (uint8_t)(value >> (8 * i));
    }
}

static void dev_reset(void *opaque)
{
    Device *d = opaque;

    memset(d->mem, 0, sizeof(d->mem));
}

static long dev_save(void *opaque, uint8_t *buf, size_t cap)
{
    Device *d = opaque;

    if (cap < 16) {
        return -1;
    }
    memcpy(buf, d->mem, 16);
    return 16;
}

static int dev_restore(void *opaque, const uint8_t *buf, size_t len)
{
    Device *d = opaque;

    if (len != 16) {
        return -1;
    }
    memcpy(d->mem, buf, len);
    return 0;
}

static const QmeSdServerOps dev_ops = {
    .read = dev_read, .write = dev_write, .reset = dev_reset,
    .save = dev_save, .restore = dev_restore,
};

static void *dev_loop(void *opaque)
{
    Device *d = opaque;

    while (!atomic_load(&d->stop)) {
        qme_sd_server_run_once(d->srv, 20);
    }
    return NULL;
}

static void dev_start(Device *d, const char *address, uint32_t window)
{
    char err[256];

    memset(d, 0, sizeof(*d));
    d->srv = qme_sd_server_new(&dev_ops, d, window, QME_SD_CAP_ALL);
    qme_sd_server_set_log(d->srv, NULL);
    if (qme_sd_server_listen(d->srv, address, err, sizeof(err)) < 0) {
        printf("Bail out! listen %s: %s\n", address, err);
        exit(1);
    }
    pthread_create(&d->thread, NULL, dev_loop, d);
}

static void dev_stop(Device *d)
{
    atomic_store(&d->stop, true);
    pthread_join(d->thread, NULL);
    qme_sd_server_free(d->srv);
}

/* The client's side: what the server made it do. */
typedef struct Host {
    int watched;
    int irq_level;
    int kicks;
    int losses;
    char why[128];
    uint8_t ram[8];
} Host;

static int host_irq(void *opaque, unsigned line, bool level)
{
    Host *h = opaque;

    if (line) {
        return -1;
    }
    h->irq_level = level;
    return 0;
}

static uint32_t host_dma(void *opaque, bool is_write, uint64_t addr,
                         uint8_t *buf, uint32_t len)
{
    Host *h = opaque;

    if (addr != 0x1000 || len > sizeof(h->ram)) {
        return QME_SD_ST_DENIED;
    }
    if (is_write) {
        memcpy(h->ram, buf, len);
    } else {
        memcpy(buf, h->ram, len);
    }
    return QME_SD_ST_OK;
}

static void host_watch(void *opaque, int fd)
{
    ((Host *)opaque)->watched = fd;
}

static void host_kick(void *opaque)
{
    ((Host *)opaque)->kicks++;
}

static void host_disconnected(void *opaque, const char *why)
{
    Host *h = opaque;

    h->losses++;
    snprintf(h->why, sizeof(h->why), "%s", why);
}

static const QmeSdClientOps host_ops = {
    .irq = host_irq, .dma = host_dma, .watch = host_watch,
    .kick = host_kick, .disconnected = host_disconnected,
};

/* What an event loop does: wait for the watched fd, hand it over. */
static void run_loop(QmeSdClient *cl, Host *h, int ms)
{
    struct pollfd pfd = { .fd = h->watched, .events = POLLIN };

    qme_sd_client_flush(cl);
    if (h->watched >= 0 && poll(&pfd, 1, ms) > 0) {
        qme_sd_client_readable(cl);
    }
}

static void test_address(void)
{
    static const struct {
        const char *address, *host, *port, *path;
    } good[] = {
        { "unix:/tmp/x.sock", NULL, NULL, "/tmp/x.sock" },
        { "tcp:127.0.0.1:7890", "127.0.0.1", "7890", NULL },
        { "tcp:localhost:0", "localhost", "0", NULL },
        { "tcp:[::1]:65535", "::1", "65535", NULL },
    };
    static const struct {
        const char *address, *message;
    } bad[] = {
        { "pipe:x", "pipe:x: expected unix:PATH or tcp:HOST:PORT" },
        { "unix:", "unix:: empty UNIX socket path" },
        { "tcp:127.0.0.1", "tcp:127.0.0.1: expected tcp:HOST:PORT" },
        { "tcp::80", "tcp::80: expected tcp:HOST:PORT" },
        { "tcp:host:", "tcp:host:: expected tcp:HOST:PORT" },
        { "tcp:host:http", "tcp:host:http: port must be a number from 0 "
                           "to 65535" },
        { "tcp:host:65536", "tcp:host:65536: port must be a number from 0 "
                            "to 65535" },
        { "tcp:host:000080", "tcp:host:000080: port must be a number "
                             "from 0 to 65535" },
        { "tcp:[::1:80", "tcp:[::1:80: expected tcp:[IPV6]:PORT" },
        { "tcp:[]:80", "tcp:[]:80: expected tcp:[IPV6]:PORT" },
    };
    char longpath[160] = "unix:", err[256];
    QmeSdAddress a;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int rc = qme_sd_parse_address(good[i].address, &a, err, sizeof(err));

        ok(rc == 0 && a.is_unix == !!good[i].path &&
           (good[i].path ? !strcmp(a.path, good[i].path)
                         : !strcmp(a.host, good[i].host) &&
                           !strcmp(a.port, good[i].port)),
           "address %s parses", good[i].address);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;

        errno = 0;
        rc = qme_sd_parse_address(bad[i].address, &a, err, sizeof(err));
        ok(rc == -1 && errno == EINVAL && !strcmp(err, bad[i].message),
           "address %s is refused: %s", bad[i].address, err);
    }
    memset(longpath + 5, 'p', 107);
    ok(qme_sd_parse_address(longpath, &a, err, sizeof(err)) == 0 &&
       strlen(a.path) == 107, "a UNIX path of 107 bytes fits sun_path");
    memset(longpath + 5, 'p', 120);
    ok(qme_sd_parse_address(longpath, &a, err, sizeof(err)) == -1 &&
       strstr(err, ": UNIX socket path longer than 107 bytes"),
       "a UNIX path longer than sun_path is refused: %.40s...", err);
    ok(qme_sd_parse_address("pipe:x", &a, NULL, 0) == -1,
       "the parser takes no error buffer too");
}

static void test_server_shares_parser(void)
{
    QmeSdServer *srv = qme_sd_server_new(&dev_ops, NULL, WINDOW, 0);
    char err[256];
    int rc;

    ok(qme_sd_server_opaque(srv) == NULL, "server opaque: NULL as given");
    rc = qme_sd_server_listen(srv, "tcp:[::1:80", err, sizeof(err));
    ok(rc == -1 && errno == EINVAL &&
       !strcmp(err, "tcp:[::1:80: expected tcp:[IPV6]:PORT"),
       "server listen: the parser's message (%s)", err);
    qme_sd_server_free(srv);
}

static QmeSdClient *client(Host *h, QmeSdProto proto, uint32_t caps)
{
    memset(h, 0, sizeof(*h));
    h->watched = -1;
    return qme_sd_client_new(&host_ops, h, proto, WINDOW, caps, TIMEOUT_MS);
}

/* @shm: the same over the shared-memory transport (version 2). */
static void test_v1(const char *dir, bool shm)
{
    const char *t = shm ? "shm" : "socket";
    char address[200], err[256];
    QmeSdClient *cl;
    uint8_t state[QME_SD_MAX_DATA];
    uint32_t len;
    uint64_t v;
    Device d;
    Host h;
    int rc;

    snprintf(address, sizeof(address), "unix:%s/v1.sock", dir);
    dev_start(&d, address, WINDOW);
    ok(qme_sd_server_opaque(d.srv) == &d, "server opaque: the device");
    cl = client(&h, QME_SD_PROTO_V1, QME_SD_CAP_IRQ | QME_SD_CAP_STATE |
                QME_SD_CAP_DMA);
    qme_sd_client_set_shm(cl, shm, 20);
    ok(cl && !qme_sd_client_connected(cl), "v1 client: created, offline");
    errno = 0;
    ok(qme_sd_client_read(cl, 0, 4, &v) == -1 && errno == ENOTCONN &&
       v == 0xffffffff, "offline read: -1, ENOTCONN, all-ones");
    rc = qme_sd_client_connect(cl, address, err, sizeof(err));
    ok(rc == 0 && qme_sd_client_connected(cl) && h.watched >= 0 &&
       qme_sd_client_caps(cl) == (QME_SD_CAP_IRQ | QME_SD_CAP_STATE |
                                  QME_SD_CAP_DMA),
       "%s: v1 connect: handshake agrees on the offered caps (%s)", t,
       rc ? err : "ok");
    ok(qme_sd_client_shm(cl) == shm && qme_sd_server_shm(d.srv) == shm,
       "%s: both sides use the transport asked for", t);

    ok(qme_sd_client_write(cl, 8, 4, 0x12345678) == 0 && h.kicks == 1 &&
       qme_sd_client_write(cl, 12, 2, 0xbeef) == 0 && h.kicks == 1,
       "%s: writes are queued; only the batch's first kicks the loop", t);
    ok(qme_sd_client_read(cl, 8, 4, &v) == 0 && v == 0x12345678,
       "a read after writes sees them");
    ok(qme_sd_client_read(cl, 8, 8, &v) == 0 && v == 0xbeef12345678ULL,
       "%s: 8-byte read", t);
    /* More writes than the ring holds: the client waits for room. */
    for (rc = 0; rc < 5000; rc++) {
        qme_sd_client_write(cl, 16, 4, rc);
    }
    ok(qme_sd_client_read(cl, 16, 4, &v) == 0 && v == 4999 &&
       qme_sd_client_connected(cl),
       "%s: 5000 writes in a row, the last one read back", t);
    errno = 0;
    ok(qme_sd_client_read(cl, REG_BAD, 4, &v) == -1 && errno == EIO &&
       v == 0xffffffff && qme_sd_client_connected(cl),
       "error status: -1, EIO, all-ones, still connected");

    qme_sd_client_write(cl, REG_IRQ, 1, 1);
    ok(qme_sd_client_read(cl, 8, 1, &v) == 0 && h.irq_level == 1,
       "the server's IRQ arrives before the next reply");
    qme_sd_client_write(cl, REG_IRQ, 1, 0);
    qme_sd_client_flush(cl);
    for (rc = 0; rc < 50 && h.irq_level; rc++) {
        run_loop(cl, &h, 20);
    }
    ok(h.irq_level == 0, "...and between accesses, through the watch");

    /* The server answers the read while it waits for the DMA reply. */
    memcpy(h.ram, "\x11\x22\x33\x44", 4);
    qme_sd_client_write(cl, REG_DMA, 1, 1);
    ok(qme_sd_client_read(cl, 0, 4, &v) == 0 &&
       qme_sd_client_read(cl, 0, 4, &v) == 0 && v == 0x44332211 &&
       d.dma_rc == QME_SD_ST_OK,
       "server DMA read of guest RAM, served while a read waits");

    ok(qme_sd_client_save(cl, state, sizeof(state), &len) == 0 &&
       len == 16 && state[8] == 0x78, "save: the server's state");
    qme_sd_client_write(cl, 8, 4, 0);
    ok(qme_sd_client_restore(cl, state, len) == 0 &&
       qme_sd_client_read(cl, 8, 4, &v) == 0 && v == 0x12345678,
       "restore: the saved state is back");
    errno = 0;
    ok(qme_sd_client_restore(cl, state, 3) == -1 && errno == EIO &&
       qme_sd_client_connected(cl), "restore refused: -1, EIO");
    ok(qme_sd_client_reset(cl) == 0 &&
       qme_sd_client_read(cl, 8, 4, &v) == 0 && v == 0, "reset");

    qme_sd_client_write(cl, REG_DROP, 1, 1);
    errno = 0;
    rc = qme_sd_client_read(cl, 0, 4, &v);
    ok(rc == -1 && errno == ECONNRESET && !qme_sd_client_connected(cl) &&
       h.losses == 1 && h.watched == -1,
       "%s: server gone: -1, ECONNRESET, one loss (%s), watch removed", t,
       h.why);
    ok(qme_sd_client_connect(cl, address, err, sizeof(err)) == 0 &&
       qme_sd_client_read(cl, 8, 4, &v) == 0 &&
       qme_sd_client_shm(cl) == shm,
       "%s: reconnect: the same client works again", t);

    /* A hung server (alive, silent): all-ones within the timeout. */
    atomic_store(&d.stop, true);
    pthread_join(d.thread, NULL);
    {
        int64_t t0 = now_ms_test(), dt;

        errno = 0;
        rc = qme_sd_client_read(cl, 8, 4, &v);
        dt = now_ms_test() - t0;
        ok(rc == -1 && errno == ETIMEDOUT && v == 0xffffffff &&
           dt >= TIMEOUT_MS - 10 && dt < 2 * TIMEOUT_MS &&
           !qme_sd_client_connected(cl) && h.losses == 2,
           "%s: hung server: all-ones, ETIMEDOUT after %lld ms", t,
           (long long)dt);
    }
    qme_sd_server_free(d.srv);

    /* A server that dies while a read waits (its process exits). */
    dev_start(&d, address, WINDOW);
    ok(qme_sd_client_connect(cl, address, err, sizeof(err)) == 0 &&
       qme_sd_client_shm(cl) == shm, "%s: reconnect to a new server", t);
    qme_sd_client_write(cl, REG_DIE, 1, 1);
    errno = 0;
    rc = qme_sd_client_read(cl, 8, 4, &v);
    ok(rc == -1 && errno == ECONNRESET && v == 0xffffffff && h.losses == 3,
       "%s: server dies mid-read: seen through the socket (%s)", t, h.why);
    qme_sd_client_free(cl);
    ok(h.losses == 3, "%s: free: no disconnected callback", t);
    dev_stop(&d);
}

static void test_basic_tcp(void)
{
    char address[64], err[256];
    QmeSdClient *cl;
    uint8_t state[16];
    uint32_t len;
    uint64_t v;
    Device d;
    Host h;

    dev_start(&d, "tcp:127.0.0.1:0", WINDOW);
    snprintf(address, sizeof(address), "tcp:127.0.0.1:%d",
             qme_sd_server_port(d.srv));
    cl = client(&h, QME_SD_PROTO_BASIC, QME_SD_CAP_ALL);
    ok(qme_sd_client_connect(cl, address, err, sizeof(err)) == 0 &&
       qme_sd_client_caps(cl) == 0, "basic over TCP: connects, no caps");
    qme_sd_client_write(cl, 4, 2, 0xabcd);
    ok(qme_sd_client_read(cl, 4, 4, &v) == 0 && v == 0xabcd &&
       qme_sd_server_proto(d.srv) == QME_SD_PROTO_BASIC,
       "basic: write and read back; the server detected basic");
    ok(qme_sd_client_read(cl, REG_BAD, 1, &v) == 0 && v == 0,
       "basic: no error status, a failed read answers 0");
    ok(qme_sd_client_reset(cl) == 0, "basic: reset is a no-op");
    errno = 0;
    ok(qme_sd_client_save(cl, state, sizeof(state), &len) == -1 &&
       errno == ENOTCONN && len == 0, "basic: no state to save");
    qme_sd_client_free(cl);
    dev_stop(&d);
}

static void test_failures(const char *dir)
{
    char address[200], err[256];
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    QmeSdClient *cl;
    Device d;
    Host h;
    int mute, rc;

    cl = client(&h, QME_SD_PROTO_V1, QME_SD_CAP_STATE);
    snprintf(address, sizeof(address), "unix:%s/none.sock", dir);
    errno = 0;
    rc = qme_sd_client_connect(cl, address, err, sizeof(err));
    ok(rc == -1 && errno == ENOENT && strstr(err, "cannot connect to unix:") &&
       h.losses == 0, "no server: -1, ENOENT (%s)", err);
    ok(qme_sd_client_connect(cl, "udp:x", err, sizeof(err)) == -1 &&
       errno == EINVAL && !strcmp(err, "udp:x: expected unix:PATH or "
                                  "tcp:HOST:PORT"),
       "bad address: the parser's message");

    /* A socket that never accepts: connect works, the handshake waits. */
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/mute.sock", dir);
    mute = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(mute, (struct sockaddr *)&sa, sizeof(sa));
    listen(mute, 1);
    snprintf(address, sizeof(address), "unix:%s", sa.sun_path);
    errno = 0;
    rc = qme_sd_client_connect(cl, address, err, sizeof(err));
    ok(rc == -1 && errno == ETIMEDOUT && strstr(err, "no handshake reply") &&
       !qme_sd_client_connected(cl) && h.losses == 1,
       "mute server: -1 after the timeout, ETIMEDOUT (%s)", err);
    close(mute);
    unlink(sa.sun_path);

    snprintf(address, sizeof(address), "unix:%s/big.sock", dir);
    dev_start(&d, address, WINDOW * 2);
    errno = 0;
    rc = qme_sd_client_connect(cl, address, err, sizeof(err));
    ok(rc == -1 && errno == EPROTO && strstr(err, "handshake refused") &&
       strstr(err, "window 0x200") && !qme_sd_client_connected(cl),
       "window mismatch: handshake refused (%s)", err);
    qme_sd_client_free(cl);
    dev_stop(&d);

    ok(qme_sd_client_new(&host_ops, &h, QME_SD_PROTO_NONE, WINDOW, 0,
                         TIMEOUT_MS) == NULL && errno == EINVAL,
       "new: no protocol is EINVAL");
    ok(qme_sd_client_new(&host_ops, &h, QME_SD_PROTO_V1, WINDOW, 0, 0) ==
       NULL && errno == EINVAL, "new: a zero timeout is EINVAL");
}

/* A raw client's message and the server's answer (0: none in 1 s). */
static uint8_t raw_call(int fd, const QmeSdMsg *m, const int *fds, int nfds,
                        QmeSdMsg *reply)
{
    static uint8_t in[QME_SD_MAX_MSG];
    uint8_t out[64];
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 3)];
    } ctl;
    struct iovec iov = { out, qme_sd_encode(out, sizeof(out), m) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    size_t len = 0, used;

    if (nfds) {
        struct cmsghdr *c;

        mh.msg_control = ctl.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)iov.iov_len) {
        return 0;
    }
    while (poll(&pfd, 1, 1000) > 0) {
        ssize_t n = recv(fd, in + len, sizeof(in) - len, 0);

        if (n <= 0) {
            return 0;
        }
        len += n;
        if (qme_sd_decode(in, len, QME_SD_FROM_SERVER, reply, &used) ==
            QME_SD_OK) {
            return reply->type;
        }
    }
    return 0;
}

/* Whether the server closed @fd within a second. */
static bool closed_by_server(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    char b;

    return poll(&pfd, 1, 1000) > 0 && recv(fd, &b, 1, 0) == 0;
}

/*
 * A hostile client of the server library's shared memory: an unsealed
 * memfd is refused (the connection stays, on the socket); a bad request
 * and an index out of range in the ring drop the client.
 */
static void test_shm_hostile_client(const char *dir)
{
    uint32_t slots = QME_SD_SHM_MIN_SLOTS;
    size_t size = qme_sd_shm_size(slots);
    QmeSdMsg hello = { .type = QME_SD_HELLO, .id = 1, .magic = QME_SD_MAGIC,
                       .version = 2, .min_version = 1, .window = WINDOW };
    QmeSdMsg setup = { .type = QME_SD_SHM_SETUP, .id = 2, .shm_slots = slots,
                       .shm_size = (uint32_t)size };
    QmeSdMsg ping = { .type = QME_SD_PING, .id = 3 }, r;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char address[200];
    Device d;
    int k;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/hostile.sock", dir);
    snprintf(address, sizeof(address), "unix:%s", sa.sun_path);
    dev_start(&d, address, WINDOW);
    for (k = 0; k < 5; k++) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        int fds[3] = {
            memfd_create("t", MFD_ALLOW_SEALING),
            eventfd(0, EFD_NONBLOCK), eventfd(0, EFD_NONBLOCK),
        };
        uint64_t one = 1;
        QmeSdShm *shm;

        connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        ok(raw_call(fd, &hello, NULL, 0, &r) == QME_SD_HELLO_REPLY &&
           r.version == 2, "hostile client %d: the server speaks version 2",
           k);
        if (ftruncate(fds[0], size) < 0) {
            ok(false, "hostile client %d: ftruncate: %s", k, strerror(errno));
        }
        if (k) {
            fcntl(fds[0], F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
        }
        shm = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
        shm->magic = QME_SD_SHM_MAGIC;
        shm->slots = slots;
        r.status = 99;
        raw_call(fd, &setup, fds, 3, &r);
        if (k == 0) {
            ok(r.type == QME_SD_SHM_SETUP_REPLY &&
               r.status == QME_SD_ST_ERROR &&
               raw_call(fd, &ping, NULL, 0, &r) == QME_SD_PONG,
               "unsealed memory: refused, the socket still serves");
        } else if (k >= 3) {
            QmeSdShmSlot read = { .type = QME_SD_READ, .size = 4,
                                  .vtime = 1, .id = 40 + k };
            QmeSdShmSlot junk = { .type = 0x77, .size = 4 };
            int i;

            /*
             * 3: the request QEMU waits for, copied into the index's
             * line (wait_n = its number), is what the server takes;
             * 4: wait_n == head says no copy, the ring is the request.
             */
            shm->ring[0] = k == 3 ? junk : read;
            shm->wait_req = k == 3 ? read : junk;
            __atomic_store_n(&shm->wait_n, k == 3 ? 0 : 1, __ATOMIC_RELAXED);
            __atomic_store_n(&shm->head, 1, __ATOMIC_SEQ_CST);
            if (write(fds[1], &one, sizeof(one)) != sizeof(one)) {
                ok(false, "doorbell: %s", strerror(errno));
            }
            for (i = 0; i < 1000 && __atomic_load_n(&shm->reply_id,
                                                    __ATOMIC_ACQUIRE) !=
                 (uint32_t)(40 + k); i++) {
                usleep(1000);
            }
            ok(shm->reply_id == (uint32_t)(40 + k) &&
               shm->reply_status == QME_SD_ST_OK &&
               raw_call(fd, &ping, NULL, 0, &r) == QME_SD_PONG,
               "a read %s: answered, the client kept",
               k == 3 ? "in the index's line (wait_req)"
                      : "in the ring, wait_n == head");
        } else {
            ok(r.type == QME_SD_SHM_SETUP_REPLY && r.status == QME_SD_ST_OK,
               "hostile client %d: sealed memory accepted", k);
            if (k == 1) {
                shm->ring[0] = (QmeSdShmSlot){ .type = 0x77, .size = 4 };
                __atomic_store_n(&shm->head, 1, __ATOMIC_SEQ_CST);
            } else {
                __atomic_store_n(&shm->head, slots + 5, __ATOMIC_SEQ_CST);
            }
            ok(write(fds[1], &one, sizeof(one)) == sizeof(one) &&
               closed_by_server(fd), "%s in the ring: client dropped",
               k == 1 ? "unknown request type" : "index out of range");
        }
        munmap(shm, size);
        close(fds[0]);
        close(fds[1]);
        close(fds[2]);
        close(fd);
        /* One client at a time: the next one after the server saw EOF. */
        for (int i = 0; i < 100 && qme_sd_server_connected(d.srv); i++) {
            usleep(10 * 1000);
        }
    }
    dev_stop(&d);
}

/*
 * A hostile version-2 server: takes the shared memory, then answers the
 * first read with a status that does not exist.
 */
typedef struct EvilServer {
    int lfd;
    pthread_t thread;
} EvilServer;

static void *evil_serve(void *opaque)
{
    EvilServer *e = opaque;
    uint8_t buf[256];
    union {
        struct cmsghdr align;
        char b[CMSG_SPACE(sizeof(int) * 3)];
    } ctl;
    struct iovec iov = { buf, sizeof(buf) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = ctl.b,
                         .msg_controllen = sizeof(ctl.b) };
    QmeSdMsg m, r = { .type = QME_SD_HELLO_REPLY, .magic = QME_SD_MAGIC,
                      .version = 2, .window = WINDOW };
    int fd = accept(e->lfd, NULL, NULL), fds[3];
    size_t used, n;
    QmeSdShm *shm;

    if (recv(fd, buf, sizeof(buf), 0) <= 0 ||
        qme_sd_decode(buf, 24, QME_SD_FROM_CLIENT, &m, &used) !=
        QME_SD_OK) {
        close(fd);
        return NULL;
    }
    r.id = m.id;
    n = qme_sd_encode(buf, sizeof(buf), &r);
    send(fd, buf, n, 0);
    if (recvmsg(fd, &mh, 0) <= 0 || !CMSG_FIRSTHDR(&mh) ||
        qme_sd_decode(buf, 16, QME_SD_FROM_CLIENT, &m, &used) !=
        QME_SD_OK) {
        close(fd);
        return NULL;
    }
    memcpy(fds, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(fds));
    shm = mmap(NULL, m.shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0],
               0);
    r = (QmeSdMsg){ .type = QME_SD_SHM_SETUP_REPLY, .id = m.id };
    n = qme_sd_encode(buf, sizeof(buf), &r);
    send(fd, buf, n, 0);
    while (__atomic_load_n(&shm->head, __ATOMIC_ACQUIRE) == 0) {
        usleep(1000);
    }
    __atomic_store_n(&shm->reply_status, 7, __ATOMIC_RELAXED);
    __atomic_store_n(&shm->reply_id, shm->ring[0].id, __ATOMIC_RELEASE);
    /* Failed, the client sees no reply in time: its check fails. */
    if (write(fds[2], &(uint64_t){ 1 }, sizeof(uint64_t)) ==
        sizeof(uint64_t)) {
        /* Until the client hangs up. */
        recv(fd, buf, sizeof(buf), 0);
    }
    munmap(shm, m.shm_size);
    close(fds[0]);
    close(fds[1]);
    close(fds[2]);
    close(fd);
    return NULL;
}

static void test_shm_hostile_server(const char *dir)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char address[200], err[256];
    EvilServer e;
    QmeSdClient *cl;
    uint64_t v;
    Host h;
    int rc;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/evil.sock", dir);
    snprintf(address, sizeof(address), "unix:%s", sa.sun_path);
    e.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(e.lfd, (struct sockaddr *)&sa, sizeof(sa));
    listen(e.lfd, 1);
    pthread_create(&e.thread, NULL, evil_serve, &e);
    cl = client(&h, QME_SD_PROTO_V1, 0);
    qme_sd_client_set_shm(cl, true, 20);
    rc = qme_sd_client_connect(cl, address, err, sizeof(err));
    ok(rc == 0 && qme_sd_client_shm(cl), "evil server: shared memory set "
       "up (%s)", rc ? err : "ok");
    errno = 0;
    rc = qme_sd_client_read(cl, 0, 4, &v);
    ok(rc == -1 && errno == ECONNRESET && v == 0xffffffff &&
       h.losses == 1 && !qme_sd_client_connected(cl),
       "evil server: a read status of 7 in the memory is a protocol "
       "error: all-ones, disconnected (%s)", h.why);
    qme_sd_client_free(cl);
    pthread_join(e.thread, NULL);
    close(e.lfd);
    unlink(sa.sun_path);
}

/*
 * Virtual time, without QEMU: the client's clock is a variable, its
 * timer a recorded deadline, and the server logs the time of every
 * read, event and sync it sees.
 */
#define REG_ARM     0xa8    /* write: event 0 at this time, raise line 0 */
#define REG_NOW     0xb0    /* read: the time the request carried */

typedef struct TimedDevice {
    QmeSdServer *srv;
    pthread_t thread;
    atomic_bool stop;
    char kind[64];          /* 'r'ead, 'e'vent, 's'ync */
    uint64_t when[64];
    atomic_int n;
} TimedDevice;

static void td_log(TimedDevice *d, char kind, uint64_t vtime)
{
    int n = atomic_load(&d->n);

    if (n < 64) {
        d->kind[n] = kind;
        d->when[n] = vtime;
        atomic_store(&d->n, n + 1);
    }
}

static uint32_t td_read(void *opaque, uint32_t addr, unsigned size,
                        uint64_t *value)
{
    TimedDevice *d = opaque;

    *value = qme_sd_server_vtime(d->srv);
    td_log(d, 'r', *value);
    return QME_SD_ST_OK;
}

static void td_write(void *opaque, uint32_t addr, unsigned size,
                     uint64_t value)
{
    TimedDevice *d = opaque;

    if (addr == REG_ARM) {
        qme_sd_server_event_at(d->srv, 0, value, QME_SD_EV_NOTIFY |
                               QME_SD_EV_LINE | QME_SD_EV_LEVEL, 0);
    }
}

static void td_event(void *opaque, unsigned event, uint64_t vtime)
{
    td_log(opaque, 'e', vtime);
}

static void td_sync(void *opaque, uint64_t vtime)
{
    td_log(opaque, 's', vtime);
}

static const QmeSdServerOps td_ops = {
    .read = td_read, .write = td_write, .event = td_event, .sync = td_sync,
};

static void *td_loop(void *opaque)
{
    TimedDevice *d = opaque;

    while (!atomic_load(&d->stop)) {
        qme_sd_server_run_once(d->srv, 20);
    }
    return NULL;
}

typedef struct TimedHost {
    Host h;
    uint64_t clock;
    uint64_t deadline;
    int holds;              /* hold_time(true) minus hold_time(false) */
    int held;               /* hold_time(true) calls */
} TimedHost;

static int64_t th_vtime(void *opaque)
{
    return ((TimedHost *)opaque)->clock;
}

static void th_timer(void *opaque, uint64_t deadline)
{
    ((TimedHost *)opaque)->deadline = deadline;
}

static void th_hold(void *opaque, bool hold)
{
    TimedHost *t = opaque;

    t->holds += hold ? 1 : -1;
    t->held += hold;
}

static const QmeSdClientOps th_ops = {
    .irq = host_irq, .watch = host_watch, .kick = host_kick,
    .disconnected = host_disconnected, .vtime = th_vtime,
    .timer = th_timer, .hold_time = th_hold,
};

/* The server's log from entry @from as "r5000 e7000 ...". */
static const char *td_trace(TimedDevice *d, int from)
{
    static char buf[512];
    int i, n = atomic_load(&d->n);
    size_t len = 0;

    buf[0] = 0;
    for (i = from; i < n && len < sizeof(buf) - 32; i++) {
        len += snprintf(buf + len, sizeof(buf) - len, "%s%c%llu",
                        i > from ? " " : "", d->kind[i],
                        (unsigned long long)d->when[i]);
    }
    return buf;
}

static void test_vtime(const char *dir, bool shm)
{
    const char *t = shm ? "shm" : "socket";
    QmeSdEvent ev[QME_SD_MAX_EVENTS], bad[QME_SD_MAX_EVENTS] = { { 0 } };
    char address[200], err[256];
    TimedDevice d = { 0 };
    TimedHost th = { 0 };
    QmeSdClient *cl;
    uint64_t v;
    int from;

    snprintf(address, sizeof(address), "unix:%s/vtime.sock", dir);
    d.srv = qme_sd_server_new(&td_ops, &d, WINDOW, QME_SD_CAP_IRQ);
    qme_sd_server_set_log(d.srv, NULL);
    if (qme_sd_server_listen(d.srv, address, err, sizeof(err)) < 0) {
        printf("Bail out! listen %s: %s\n", address, err);
        exit(1);
    }
    pthread_create(&d.thread, NULL, td_loop, &d);
    th.h.watched = -1;
    cl = qme_sd_client_new(&th_ops, &th, QME_SD_PROTO_V1, WINDOW,
                           QME_SD_CAP_IRQ, TIMEOUT_MS);
    qme_sd_client_set_shm(cl, shm, 20);
    ok(qme_sd_client_connect(cl, address, err, sizeof(err)) == 0 &&
       qme_sd_client_version(cl) == 2 && qme_sd_client_shm(cl) == shm,
       "%s: a client with a clock agrees on version 2", t);

    th.clock = 12345;
    ok(qme_sd_client_read(cl, REG_NOW, 8, &v) == 0 && v == 12345,
       "%s: a read carries the client's clock (%llu)", t,
       (unsigned long long)v);

    /* An event: armed by a posted write, in place after the next read. */
    th.clock = 1000;
    qme_sd_client_write(cl, REG_ARM, 8, 5000);
    qme_sd_client_read(cl, REG_NOW, 8, &v);
    ok(th.deadline == 5000, "%s: EVENT_AT asks for a tick at 5000 (%llu)",
       t, (unsigned long long)th.deadline);
    from = atomic_load(&d.n);
    qme_sd_client_tick(cl, 4999);
    ok(atomic_load(&d.n) == from && !th.h.irq_level,
       "%s: a tick before the event does nothing", t);
    qme_sd_client_tick(cl, 5000);
    ok(!strcmp(td_trace(&d, from), "e5000") && th.h.irq_level == 1 &&
       th.deadline == 0 && th.holds == 0 && th.held > 0,
       "%s: at 5000 the line goes up and the server is called back at "
       "5000, the clock held meanwhile (%s)", t, td_trace(&d, from));

    /* A request never overtakes an event due before it. */
    qme_sd_client_write(cl, REG_ARM, 8, 7000);
    qme_sd_client_read(cl, REG_NOW, 8, &v);
    from = atomic_load(&d.n);
    th.clock = 8000;
    qme_sd_client_read(cl, REG_NOW, 8, &v);
    ok(!strcmp(td_trace(&d, from), "e7000 r8000"),
       "%s: a read at 8000 comes after the event due at 7000 (%s)", t,
       td_trace(&d, from));

    /* Migration of the events, and what is refused. */
    qme_sd_client_write(cl, REG_ARM, 8, 9000);
    qme_sd_client_read(cl, REG_NOW, 8, &v);
    qme_sd_client_get_events(cl, ev);
    bad[3].action = QME_SD_EV_LEVEL;
    errno = 0;
    ok(ev[0].vtime == 9000 && ev[0].action == (QME_SD_EV_NOTIFY |
       QME_SD_EV_LINE | QME_SD_EV_LEVEL) && !ev[1].action &&
       qme_sd_client_set_events(cl, bad) == -1 && errno == EINVAL &&
       qme_sd_client_set_events(cl, ev) == 0 && th.deadline == 9000,
       "%s: events out and back in; a level without a line refused", t);
    qme_sd_client_reset(cl);
    qme_sd_client_get_events(cl, ev);
    ok(!ev[0].action && th.deadline == 0,
       "%s: a reset drops the pending event", t);

    /* Lockstep: syncs in steps of one quantum from the clock at start. */
    th.clock = 10000;
    from = atomic_load(&d.n);
    qme_sd_client_set_lockstep(cl, 1000);
    th.clock = 13500;
    qme_sd_client_read(cl, REG_NOW, 8, &v);
    ok(!strcmp(td_trace(&d, from), "s10000 s11000 s12000 s13000 r13500") &&
       th.deadline == 14000 && th.holds == 0,
       "%s: lockstep syncs 10000..13000 before a read at 13500, next "
       "tick at 14000 (%s)", t, td_trace(&d, from));
    qme_sd_client_write(cl, REG_ARM, 8, 14200);
    qme_sd_client_read(cl, REG_NOW, 8, &v);
    from = atomic_load(&d.n);
    qme_sd_client_tick(cl, 15000);
    ok(!strcmp(td_trace(&d, from), "s14000 e14200 s15000") &&
       th.deadline == 16000,
       "%s: a tick at 15000 does syncs and the event in time order (%s)",
       t, td_trace(&d, from));

    qme_sd_client_free(cl);
    atomic_store(&d.stop, true);
    pthread_join(d.thread, NULL);
    qme_sd_server_free(d.srv);
}

int main(void)
{
    char dir[] = "/tmp/sdclient-XXXXXX";

    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    test_address();
    test_server_shares_parser();
    test_v1(dir, false);
    test_v1(dir, true);
    test_shm_hostile_client(dir);
    test_shm_hostile_server(dir);
    test_vtime(dir, false);
    test_vtime(dir, true);
    test_basic_tcp();
    test_failures(dir);
    rmdir(dir);
    printf("1..%d\n", tests);
    return failures ? 1 : 0;
}
