/*
 * mmio-sockdev device-server library.
 *
 * A device server listens on a TCP or UNIX socket, accepts one QEMU at a
 * time and answers its register accesses through a QmeSdServerOps table.
 * The protocol (basic or v1, see PROTOCOL.md) is detected from the first
 * byte the client sends, so one server serves both QEMU settings.
 *
 * The event loop is embeddable and poll()-based: either call
 * qme_sd_server_run_once() in a loop, or merge the descriptors from
 * qme_sd_server_pollfds() into your own poll() and hand the results to
 * qme_sd_server_dispatch().  No global state; no threads; every byte from
 * the wire is checked before use (a bad message closes the connection and
 * the server waits for the next client).
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_SOCKDEV_SERVER_H
#define QME_SOCKDEV_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qme/regtable.h"
#include "qme/sockdev-proto.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct QmeSdServer QmeSdServer;

/* Which protocol a connection speaks (sockdev-client.h uses it too). */
typedef enum QmeSdProto {
    QME_SD_PROTO_NONE = 0,      /* no client, or protocol not yet known */
    QME_SD_PROTO_BASIC,         /* reads and writes, no handshake */
    QME_SD_PROTO_V1,
} QmeSdProto;

/* Device behaviour; every hook is optional (NULL: read 0, write ignored). */
typedef struct QmeSdServerOps {
    /*
     * Guest read of @size bytes at @addr (already checked to lie in the
     * window, aligned).  Returns QME_SD_ST_OK or QME_SD_ST_ERROR.
     */
    uint32_t (*read)(void *opaque, uint32_t addr, unsigned size,
                     uint64_t *value);
    void (*write)(void *opaque, uint32_t addr, unsigned size, uint64_t value);
    void (*reset)(void *opaque);
    /* Device state for migration: bytes written (<= @cap), or -1. */
    long (*save)(void *opaque, uint8_t *buf, size_t cap);
    /* Returns 0, or -1 if @buf is not a state this device accepts. */
    int (*restore)(void *opaque, const uint8_t *buf, size_t len);
    void (*connected)(void *opaque, const char *peer);
    void (*disconnected)(void *opaque, const char *why);
    /*
     * Version 2.  A timed event armed with QME_SD_EV_NOTIFY
     * (qme_sd_server_event_at()) fired at guest time @vtime (ns); the
     * guest's clock stands still until this returns, so an event armed
     * from here (the next period) is exact too.
     */
    void (*event)(void *opaque, unsigned event, uint64_t vtime);
    /*
     * Version 2, lockstep (QEMU's quantum-ns): the guest's clock reached
     * @vtime and waits there until this returns; a model slower than
     * real time catches up here.  QEMU gives up on a server that takes
     * longer than its timeout-ms.
     */
    void (*sync)(void *opaque, uint64_t vtime);
} QmeSdServerOps;

/*
 * Return convention: functions returning int return 0 on success and -1
 * on failure with errno set (and a message in @err where they take one);
 * the others cannot fail and say what they return.
 */

/*
 * A server for a device of @window bytes of register space that uses the
 * QME_SD_CAP_* in @caps (the handshake keeps those the client offers
 * too); @opaque is passed to every hook.  Returns the server, not yet
 * listening, or NULL with errno ENOMEM.
 */
QmeSdServer *qme_sd_server_new(const QmeSdServerOps *ops, void *opaque,
                               uint32_t window, uint32_t caps);
/* Close the connection and the listening socket, free @srv (NULL: no-op). */
void qme_sd_server_free(QmeSdServer *srv);
/* Returns the @opaque given to qme_sd_server_new(). */
void *qme_sd_server_opaque(const QmeSdServer *srv);

/*
 * Listen on "tcp:HOST:PORT" (PORT 0: any free port) or "unix:PATH"
 * (qme_sd_parse_address()).  A stale socket at PATH (nothing accepts on
 * it) is replaced; any other file, or a socket another server listens on,
 * is refused and left untouched.  qme_sd_server_free() removes the socket
 * file it created.  Returns 0, or -1 with errno and @err set.
 */
int qme_sd_server_listen(QmeSdServer *srv, const char *address,
                         char *err, size_t errlen);
/* Returns the TCP port actually bound (for PORT 0), or -1 if not TCP. */
int qme_sd_server_port(const QmeSdServer *srv);

/* Where diagnostics go (default stderr; NULL: nowhere).  Cannot fail. */
void qme_sd_server_set_log(QmeSdServer *srv, FILE *log);

/*
 * Stop on SIGINT or SIGTERM: blocks both in the calling thread (call it
 * before starting others) and receives them through a descriptor that
 * the event loop polls, so a server needs no signal handler and no global
 * flag.  Returns 0, or -1 with errno set.
 */
int qme_sd_server_stop_on_signals(QmeSdServer *srv);
/* Returns whether one of those signals has arrived. */
bool qme_sd_server_stopped(const QmeSdServer *srv);

/*
 * Shared-memory transport (PROTOCOL.md): the library accepts it when a
 * version-2 client asks (SHM_SETUP) and then serves reads, writes and
 * resets from the ring.  After serving, run_once() busy-waits up to
 * @spin_us for the next request (default QME_SD_SHM_SPIN_US; 0: never;
 * never while the client runs on the same CPU) before it sleeps on the
 * client's doorbell.  Cannot fail.
 */
void qme_sd_server_set_spin(QmeSdServer *srv, unsigned spin_us);
/* Returns whether the current client uses the shared-memory transport. */
bool qme_sd_server_shm(const QmeSdServer *srv);
/*
 * Returns the guest's virtual clock (ns) as of the latest request: with
 * version 2 every request carries it (in a hook: the time of the access,
 * event or sync being handled); 0 before the first, and always with a
 * version-1 or basic client.
 */
uint64_t qme_sd_server_vtime(const QmeSdServer *srv);

/*
 * Version 2: ask QEMU to act at guest time @vtime (ns), even if the
 * guest does not touch the device: @action is QME_SD_EV_CANCEL or a set
 * of QME_SD_EV_NOTIFY (ops->event is called) and QME_SD_EV_LINE (QEMU
 * sets interrupt @line to the QME_SD_EV_LEVEL bit; needs CAP_IRQ).  A
 * time already past fires at once.  Arming @event again replaces it; an
 * event fires once.  QEMU drops every event on reset and on a lost
 * connection.  Returns 0, or -1 with errno EINVAL (@event not below
 * QME_SD_MAX_EVENTS, a bad action or line), ENOTCONN (no version-2
 * client, or a line without CAP_IRQ), else the transport's error.
 */
int qme_sd_server_event_at(QmeSdServer *srv, unsigned event, uint64_t vtime,
                           unsigned action, unsigned line);

/*
 * Embedding: fill at most @max (4 serve everything: the signal
 * descriptor, the listening socket, the client, the shared-memory
 * doorbell) pollfds; returns how many (cannot fail).  With the shared
 * memory in use it also tells the client to kick the doorbell, so call
 * it right before poll().  After poll(), pass the same array to
 * dispatch, which serves what is ready and the ring, and returns 0, or
 * -1 on a fatal error of the listening socket (errno EIO).
 */
int qme_sd_server_pollfds(QmeSdServer *srv, struct pollfd *fds, int max);
int qme_sd_server_dispatch(QmeSdServer *srv, const struct pollfd *fds, int n);
/*
 * poll() for up to @timeout_ms (-1: forever) and dispatch.  Returns 0
 * (also when a signal interrupted the wait), or -1 with errno set.
 */
int qme_sd_server_run_once(QmeSdServer *srv, int timeout_ms);

/*
 * Stand-alone servers: the command line the reference servers share and
 * their main loop, so a new server only adds its own options.
 */
typedef struct QmeSdServerCli {
    const char *host;       /* --host ADDR (NULL: 127.0.0.1) */
    const char *unix_path;  /* --unix PATH: a UNIX socket instead of TCP */
    int port;               /* --port N (set the default) */
    bool once;              /* --once: exit once the first client left */
    bool quiet;             /* --quiet: no diagnostics */
} QmeSdServerCli;

#define QME_SD_SERVER_CLI_USAGE \
    "[--port N] [--host ADDR] [--unix PATH] [--once] [--quiet]"

/*
 * If argv[*i] is one of those options (with its value), take it: returns
 * true with *i on its last word; false otherwise.
 */
bool qme_sd_server_cli_arg(QmeSdServerCli *cli, int argc, char **argv,
                           int *i);
/*
 * Listen where @cli says (qme_sd_server_listen()), mute the log if
 * quiet, stop on SIGINT and SIGTERM.  Returns 0, or -1 with errno and
 * @err set.
 */
int qme_sd_server_cli_start(QmeSdServer *srv, const QmeSdServerCli *cli,
                            char *err, size_t errlen);
/*
 * Serve until a signal, or with --once until the first client has gone.
 * Returns 0, or -1 with errno set (qme_sd_server_run_once() failed).
 */
int qme_sd_server_cli_serve(QmeSdServer *srv, const QmeSdServerCli *cli);

/*
 * Return whether a client is connected, its protocol, and (v1) the
 * capabilities agreed with it; they cannot fail.
 */
bool qme_sd_server_connected(const QmeSdServer *srv);
QmeSdProto qme_sd_server_proto(const QmeSdServer *srv);
uint32_t qme_sd_server_caps(const QmeSdServer *srv);

/*
 * Server-initiated messages, v1 with the capability agreed.  set_irq
 * returns 0, or -1 (errno ENOTCONN without a client or capability,
 * EINVAL for a bad line, else the transport's error).  The DMA calls
 * wait up to @timeout_ms for QEMU's reply, serving the client's requests
 * meanwhile; they return the reply's status (QME_SD_ST_*, >= 0), or -1
 * with errno set on a refused call, a transport error or a timeout (the
 * connection is then closed).
 */
int qme_sd_server_set_irq(QmeSdServer *srv, unsigned line, bool level);
int qme_sd_server_dma_read(QmeSdServer *srv, uint64_t addr, void *buf,
                           uint32_t len, int timeout_ms);
int qme_sd_server_dma_write(QmeSdServer *srv, uint64_t addr,
                            const void *buf, uint32_t len, int timeout_ms);

/*
 * Drop the current client, as a crashed server would; the next one may
 * connect.  Cannot fail (no client: no-op).
 */
void qme_sd_server_disconnect(QmeSdServer *srv);

/*
 * Ops serving a register table: opaque is the QmeRegBlock.  Reads and
 * writes go through the table's access rules and hooks, including
 * composed accesses of several registers (qme_regblock_read()); a read
 * whose status is not QME_REG_OK answers QME_SD_ST_ERROR (also a
 * composed read with a write-only part, after every part was read),
 * refused writes are dropped; reset loads reset values; the saved state
 * is the register values (8 bytes each, LE).
 */
extern const QmeSdServerOps qme_sd_regblock_ops;

#ifdef __cplusplus
}
#endif

#endif /* QME_SOCKDEV_SERVER_H */
