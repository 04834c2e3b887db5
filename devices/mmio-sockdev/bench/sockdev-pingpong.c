/*
 * Baseline for the mmio-sockdev read benchmark: a bare socket ping-pong
 * with the sizes of a v1 read (READ 16 bytes, READ_REPLY 20 bytes) between
 * two processes, over the transport QEMU and the device server use, each
 * pinned to the CPU its counterpart in the QEMU run is pinned to.  Plain
 * blocking send()/recv(): the floor the transport allows.
 *
 * Usage: sockdev-pingpong tcp|unix CLIENT_CPU SERVER_CPU [BATCHES [RTS]]
 * Prints: pingpong: transport=T rts=N best_batch_ns=X median_batch_ns=Y
 *
 * Also the other floor of the shared-memory transport: every request
 * carries the guest's virtual clock, which QEMU (without icount) derives
 * from the host's monotonic clock, so each costs a clock_gettime().
 * Usage: sockdev-pingpong clock CPU
 * Prints: clock: reads=N best_ns_per_read=X (fastest of 100 batches)
 *
 * And the scale of its read round trip: a cache line bounced between two
 * processes on the two CPUs (a read moves the request, which rides in
 * the line of the ring index, to the server and the reply back: two
 * one-way transfers, about one such round trip).
 * Usage: sockdev-pingpong line CLIENT_CPU SERVER_CPU
 * Prints: line: rts=N best_ns_per_rt=X (fastest of 100 batches)
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qme/sockdev-proto.h"

#define REQ_SIZE    (QME_SD_HDR_SIZE + 8)   /* READ: addr, size, pad */
#define REPLY_SIZE  (QME_SD_HDR_SIZE + 12)  /* READ_REPLY: status, value */
#define MAX_BATCHES 1000

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void pin(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) < 0) {
        die("sched_setaffinity");
    }
}

static int xfer(int fd, uint8_t *buf, size_t len, int out)
{
    while (len) {
        ssize_t n = out ? send(fd, buf, len, MSG_NOSIGNAL)
                        : recv(fd, buf, len, 0);

        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void nodelay(int fd, int tcp)
{
    int one = 1;

    if (tcp) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static int clock_floor(int cpu)
{
    enum { BATCHES = 100, READS = 10000 };
    int64_t best = INT64_MAX, sink = 0;
    int i, j;

    pin(cpu);
    for (i = 0; i < BATCHES; i++) {
        int64_t t0 = now_ns(), t;

        for (j = 0; j < READS; j++) {
            sink += now_ns();
        }
        t = now_ns() - t0;
        best = t < best ? t : best;
    }
    printf("clock: reads=%d best_ns_per_read=%.1f%s\n", READS,
           (double)best / READS, sink == 42 ? " " : "");
    return 0;
}

static int line_floor(int ccpu, int scpu)
{
    enum { BATCHES = 100, RTS = 1000 };
    uint32_t *line;
    int64_t best = INT64_MAX;
    uint32_t n = 0;
    pid_t pid;
    int i, j, status;

    /* Two lines: each side writes one and polls the other's. */
    line = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (line == MAP_FAILED) {
        die("mmap");
    }
    pid = fork();
    if (pid < 0) {
        die("fork");
    }
    if (pid == 0) {
        pin(scpu);
        for (n = 1; n <= (uint32_t)(BATCHES + 1) * RTS; n++) {
            while (__atomic_load_n(&line[0], __ATOMIC_ACQUIRE) != n) {
                /* spin */
            }
            __atomic_store_n(&line[16], n, __ATOMIC_RELEASE);
        }
        _exit(0);
    }
    pin(ccpu);
    for (i = -1; i < BATCHES; i++) {        /* batch -1 warms up */
        int64_t t0 = now_ns(), t;

        for (j = 0; j < RTS; j++) {
            __atomic_store_n(&line[0], ++n, __ATOMIC_RELEASE);
            while (__atomic_load_n(&line[16], __ATOMIC_ACQUIRE) != n) {
                /* spin */
            }
        }
        t = now_ns() - t0;
        if (i >= 0 && t < best) {
            best = t;
        }
    }
    waitpid(pid, &status, 0);
    printf("line: rts=%d best_ns_per_rt=%.1f\n", RTS, (double)best / RTS);
    return 0;
}

int main(int argc, char **argv)
{
    static int64_t batch_ns[MAX_BATCHES];
    uint8_t req[REQ_SIZE] = { QME_SD_READ, 0, 8, 0 }, reply[REPLY_SIZE];
    int tcp, ccpu, scpu, batches = 40, rts = 200, lfd, fd, i, j, status;
    struct sockaddr_storage ss;
    socklen_t slen = sizeof(ss);
    char path[108] = "";
    pid_t pid;

    if (argc == 3 && !strcmp(argv[1], "clock")) {
        return clock_floor(atoi(argv[2]));
    }
    if (argc == 4 && !strcmp(argv[1], "line")) {
        return line_floor(atoi(argv[2]), atoi(argv[3]));
    }
    if (argc < 4 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "unix"))) {
        fprintf(stderr, "usage: %s tcp|unix CLIENT_CPU SERVER_CPU "
                "[BATCHES [RTS]]\n       %s clock CPU\n"
                "       %s line CLIENT_CPU SERVER_CPU\n", argv[0], argv[0],
                argv[0]);
        return 2;
    }
    tcp = !strcmp(argv[1], "tcp");
    ccpu = atoi(argv[2]);
    scpu = atoi(argv[3]);
    if (argc > 4) {
        batches = atoi(argv[4]);
    }
    if (argc > 5) {
        rts = atoi(argv[5]);
    }
    if (batches < 1 || batches > MAX_BATCHES || rts < 1) {
        fprintf(stderr, "BATCHES must be 1..%d, RTS at least 1\n",
                MAX_BATCHES);
        return 2;
    }

    if (tcp) {
        struct sockaddr_in sin = { .sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
            die("bind");
        }
    } else {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };

        snprintf(path, sizeof(path), "/tmp/sockdev-pingpong-%d.sock",
                 (int)getpid());
        strcpy(sun.sun_path, path);
        unlink(path);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
            die("bind");
        }
    }
    if (listen(lfd, 1) < 0 ||
        getsockname(lfd, (struct sockaddr *)&ss, &slen) < 0) {
        die("listen");
    }

    pid = fork();
    if (pid < 0) {
        die("fork");
    }
    if (pid == 0) {
        /* The device server's side: answer every request. */
        pin(scpu);
        fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            die("accept");
        }
        nodelay(fd, tcp);
        memset(reply, 0, sizeof(reply));
        reply[0] = QME_SD_READ_REPLY;
        reply[2] = 12;
        while (xfer(fd, req, sizeof(req), 0) == 0) {
            memcpy(reply + 4, req + 4, 4);  /* echo the id */
            reply[12] = 1;                  /* value: TXREADY */
            if (xfer(fd, reply, sizeof(reply), 1) < 0) {
                break;
            }
        }
        _exit(0);
    }

    /* QEMU's vCPU side: send a request, wait for its reply. */
    pin(ccpu);
    close(lfd);
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, slen) < 0) {
        die("connect");
    }
    nodelay(fd, tcp);
    req[12] = 4;                            /* size */
    for (i = -1; i < batches; i++) {        /* batch -1 warms up */
        int64_t t0 = now_ns();

        for (j = 0; j < rts; j++) {
            uint32_t id = (uint32_t)(i * rts + j);

            memcpy(req + 4, &id, 4);
            if (xfer(fd, req, sizeof(req), 1) < 0 ||
                xfer(fd, reply, sizeof(reply), 0) < 0 ||
                memcmp(reply + 4, &id, 4) || reply[0] != QME_SD_READ_REPLY) {
                fprintf(stderr, "pingpong: lost the server\n");
                return 1;
            }
        }
        if (i >= 0) {
            batch_ns[i] = now_ns() - t0;
        }
    }
    close(fd);
    waitpid(pid, &status, 0);
    if (path[0]) {
        unlink(path);
    }
    qsort(batch_ns, batches, sizeof(batch_ns[0]), cmp_i64);
    printf("pingpong: transport=%s rts=%d best_batch_ns=%lld "
           "median_batch_ns=%lld\n", argv[1], rts, (long long)batch_ns[0],
           (long long)batch_ns[batches / 2]);
    return 0;
}
