/*
 * Timer model behind mmio-sockdev, in guest time: COUNT reads as the
 * guest's virtual clock of the read, and the alarm raises the interrupt
 * at exactly ALARM in guest time, with or without -icount, whether or
 * not the guest touches the device meanwhile.  The registers are
 * sockdev-timer.regs.toml served by the sockdev server library over the
 * socket or shared memory (protocol version 2); the model is
 * timer-model.c, which the in-QEMU twin (sockdev-timer.c) runs too.
 *
 * Usage: sockdev-timer-server [--port N] [--host ADDR] [--unix PATH]
 *                             [--once] [--quiet] [--time-log FILE]
 *                             [--slowdown N]
 *   --time-log FILE  one line per request, event and sync: "KIND VTIME"
 *   --slowdown N     lockstep (QEMU's quantum-ns): take N ns of real time
 *                    per ns of guest time, as a slow RTL model would
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qme/sockdev-server.h"
#include "timer-model.h"

#define TIMER_WINDOW 0x1000
#define ALARM_EVENT 0

/* Everything the server keeps: no globals, the hooks reach it from blk. */
typedef struct TimerServer {
    SockdevTimerModel model;
    uint64_t values[SDTIMER_NUM_REGS];
    QmeRegBlock blk;
    QmeSdServer *srv;
    bool raise_at_alarm;    /* QEMU raises the line at the alarm itself */
    FILE *time_log;
    unsigned slowdown;
    uint64_t synced;        /* guest time of the last lockstep sync */
} TimerServer;

static TimerServer *server_of(void *opaque)
{
    QmeRegBlock *blk = opaque;
    SockdevTimerModel *m = blk->opaque;

    return m->opaque;
}

static void log_time(TimerServer *t, const char *kind)
{
    if (t->time_log) {
        fprintf(t->time_log, "%s %llu\n", kind,
                (unsigned long long)qme_sd_server_vtime(t->srv));
    }
}

/* The model's view of the world: the request's time, QEMU's events. */

static uint64_t timer_now(SockdevTimerModel *m)
{
    TimerServer *t = m->opaque;

    return qme_sd_server_vtime(t->srv);
}

static void timer_arm(SockdevTimerModel *m, uint64_t when, bool raise)
{
    TimerServer *t = m->opaque;
    unsigned action = QME_SD_EV_CANCEL;

    if (when) {
        /* The line goes up in QEMU at the alarm, not a round trip later. */
        action = QME_SD_EV_NOTIFY |
                 (raise ? QME_SD_EV_LINE | QME_SD_EV_LEVEL : 0);
    }
    t->raise_at_alarm = when && raise;
    /* Without a client there is nothing to schedule: QEMU resets us. */
    qme_sd_server_event_at(t->srv, ALARM_EVENT, when, action, 0);
}

static void timer_set_irq(SockdevTimerModel *m, bool level)
{
    TimerServer *t = m->opaque;

    qme_sd_server_set_irq(t->srv, 0, level);
}

/* Server hooks: the register table's, plus time. */

static uint32_t on_read(void *opaque, uint32_t addr, unsigned size,
                        uint64_t *value)
{
    log_time(server_of(opaque), "read");
    return qme_sd_regblock_ops.read(opaque, addr, size, value);
}

static void on_write(void *opaque, uint32_t addr, unsigned size,
                     uint64_t value)
{
    log_time(server_of(opaque), "write");
    qme_sd_regblock_ops.write(opaque, addr, size, value);
}

static void on_reset(void *opaque)
{
    TimerServer *t = server_of(opaque);

    qme_sd_regblock_ops.reset(opaque);
    /* QEMU dropped our event and lowered the line on its reset. */
    t->model.level = false;
    t->raise_at_alarm = false;
}

static int on_restore(void *opaque, const uint8_t *buf, size_t len)
{
    if (qme_sd_regblock_ops.restore(opaque, buf, len) < 0) {
        return -1;
    }
    sockdev_timer_model_sync(opaque);
    return 0;
}

static void on_event(void *opaque, unsigned event, uint64_t vtime)
{
    TimerServer *t = server_of(opaque);

    log_time(t, "event");
    if (event != ALARM_EVENT) {
        return;
    }
    if (t->raise_at_alarm) {
        t->model.level = true;
    }
    sockdev_timer_model_fire(opaque);
}

static void on_sync(void *opaque, uint64_t vtime)
{
    TimerServer *t = server_of(opaque);

    log_time(t, "sync");
    if (t->slowdown && vtime > t->synced && t->synced) {
        uint64_t ns = (vtime - t->synced) * t->slowdown;
        struct timespec ts = { (time_t)(ns / 1000000000),
                               (long)(ns % 1000000000) };

        nanosleep(&ts, NULL);
    }
    t->synced = vtime;
}

static void on_connected(void *opaque, const char *peer)
{
    (void)opaque;
    printf("Client connected from %s\n", peer);
    fflush(stdout);
}

static void on_disconnected(void *opaque, const char *why)
{
    TimerServer *t = server_of(opaque);

    fprintf(stderr, "Client disconnected (%s)\n", why);
    /* A new QEMU starts from a fresh device, as after power-on. */
    qme_regblock_reset(opaque);
    t->model.level = false;
    t->raise_at_alarm = false;
    t->synced = 0;
}

int main(int argc, char **argv)
{
    TimerServer t = {
        .model = { .now = timer_now, .arm = timer_arm,
                   .set_irq = timer_set_irq },
    };
    QmeSdServerCli cli = { .port = 7890 };
    const char *time_log = NULL;
    char err[256];
    QmeSdServerOps ops = qme_sd_regblock_ops;
    int rc = 1, i;

    for (i = 1; i < argc; i++) {
        if (qme_sd_server_cli_arg(&cli, argc, argv, &i)) {
            continue;
        } else if (!strcmp(argv[i], "--time-log") && i + 1 < argc) {
            time_log = argv[++i];
        } else if (!strcmp(argv[i], "--slowdown") && i + 1 < argc) {
            t.slowdown = (unsigned)atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s " QME_SD_SERVER_CLI_USAGE
                    " [--time-log FILE] [--slowdown N]\n", argv[0]);
            return 2;
        }
    }
    if (qme_regblock_init(&t.blk, sockdev_timer_regs, SDTIMER_NUM_REGS,
                          t.values, NULL, err, sizeof(err)) < 0) {
        fprintf(stderr, "register table: %s\n", err);
        return 1;
    }
    t.model.opaque = &t;
    sockdev_timer_model_attach(&t.blk, &t.model);
    qme_regblock_reset(&t.blk);
    if (time_log) {
        t.time_log = fopen(time_log, "w");
        if (!t.time_log) {
            perror(time_log);
            return 1;
        }
        setvbuf(t.time_log, NULL, _IOLBF, 0);
    }
    ops.read = on_read;
    ops.write = on_write;
    ops.reset = on_reset;
    ops.restore = on_restore;
    ops.event = on_event;
    ops.sync = on_sync;
    ops.connected = on_connected;
    ops.disconnected = on_disconnected;
    t.srv = qme_sd_server_new(&ops, &t.blk, TIMER_WINDOW,
                              QME_SD_CAP_IRQ | QME_SD_CAP_STATE);
    if (!t.srv) {
        fprintf(stderr, "sockdev-timer-server: out of memory\n");
        goto out;
    }
    if (qme_sd_server_cli_start(t.srv, &cli, err, sizeof(err)) < 0) {
        fprintf(stderr, "sockdev-timer-server: %s\n", err);
        goto out;
    }
    if (cli.unix_path) {
        printf("Timer server listening on unix:%s\n", cli.unix_path);
    } else {
        printf("Timer server listening on port %d\n",
               qme_sd_server_port(t.srv));
    }
    printf("Waiting for QEMU connection...\n");
    fflush(stdout);

    if (qme_sd_server_cli_serve(t.srv, &cli) < 0) {
        perror("sockdev-timer-server");
        goto out;
    }
    rc = 0;
out:
    qme_sd_server_free(t.srv);
    if (t.time_log) {
        fclose(t.time_log);
    }
    return rc;
}
