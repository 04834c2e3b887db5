/*
 * Unit tests of the mmio-sockdev codec: the shared vectors file (one TAP
 * point per vector) plus properties the vectors cannot express (every
 * prefix of a valid message asks for more; range helpers).
 *
 * Usage: test-sockdev-proto VECTORS-FILE
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qme/sockdev-proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_no;
static int failures;

static void ok(int cond, const char *fmt, const char *what, int line)
{
    test_no++;
    printf("%sok %d - ", cond ? "" : "not ", test_no);
    printf(fmt, what, line);
    printf("\n");
    if (!cond) {
        failures++;
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Parse hex with '.' separators; returns length or -1. */
static long parse_hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;

    while (*s) {
        int hi, lo;

        if (*s == '.') {
            s++;
            continue;
        }
        hi = hexval(s[0]);
        lo = hi < 0 ? -1 : hexval(s[1]);
        if (lo < 0 || n >= cap) {
            return -1;
        }
        out[n++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    return (long)n;
}

typedef struct Expect {
    QmeSdMsg m;
    uint8_t data[QME_SD_MAX_DATA];
} Expect;

/* Apply one FIELD=VALUE to @e; returns 0 or -1. */
static int set_field(Expect *e, const char *kv)
{
    const char *eq = strchr(kv, '=');
    char key[32];
    uint64_t v;
    long n;

    if (!eq || (size_t)(eq - kv) >= sizeof(key)) {
        return -1;
    }
    memcpy(key, kv, eq - kv);
    key[eq - kv] = 0;
    if (!strcmp(key, "type")) {
        int t = qme_sd_type_from_str(eq + 1);

        e->m.type = (uint8_t)t;
        return t < 0 ? -1 : 0;
    }
    if (!strcmp(key, "data")) {
        n = parse_hex(eq + 1, e->data, sizeof(e->data));
        e->m.data = e->data;
        e->m.data_len = (uint32_t)n;
        return n < 0 ? -1 : 0;
    }
    /* Numbers in the vectors are 0x-prefixed hex or decimal. */
    if (sscanf(eq + 1, strncmp(eq + 1, "0x", 2) ? "%" SCNu64 : "%" SCNx64,
               &v) != 1) {
        return -1;
    }
#define F(name) if (!strcmp(key, #name)) { e->m.name = v; return 0; }
    F(id) F(magic) F(version) F(min_version) F(window) F(caps) F(addr)
    F(size) F(value) F(status) F(line) F(level) F(dma_addr) F(dma_len)
    F(shm_slots) F(shm_size) F(vtime) F(event) F(action)
#undef F
    return -1;
}

static int msg_equal(const QmeSdMsg *a, const QmeSdMsg *b)
{
    return a->type == b->type && a->id == b->id && a->magic == b->magic &&
           a->version == b->version && a->min_version == b->min_version &&
           a->window == b->window && a->caps == b->caps &&
           a->addr == b->addr && a->size == b->size &&
           a->value == b->value && a->status == b->status &&
           a->line == b->line && a->level == b->level &&
           a->dma_addr == b->dma_addr && a->dma_len == b->dma_len &&
           a->shm_slots == b->shm_slots && a->shm_size == b->shm_size &&
           a->vtime == b->vtime && a->event == b->event &&
           a->action == b->action &&
           a->data_len == b->data_len &&
           (!a->data_len || !memcmp(a->data, b->data, a->data_len));
}

static QmeSdResult decode(int basic, QmeSdDir dir, const uint8_t *buf,
                          size_t n, QmeSdMsg *m, size_t *used)
{
    return basic ? qme_sd_basic_decode(buf, n, m, used)
                : qme_sd_decode(buf, n, dir, m, used);
}

static void run_vector(char *line, int lineno)
{
    static uint8_t buf[QME_SD_MAX_MSG + 16], enc[QME_SD_MAX_MSG + 16];
    char *verdict, *proto, *dirs, *hex, *tok;
    static Expect e;
    QmeSdMsg m;
    QmeSdResult r;
    size_t used = 0, elen, i;
    long n;
    int basic, good = 1;
    QmeSdDir dir;

    verdict = strtok(line, " \t\n");
    proto = strtok(NULL, " \t\n");
    dirs = strtok(NULL, " \t\n");
    hex = strtok(NULL, " \t\n");
    if (!verdict || !proto || !dirs || !hex) {
        ok(0, "%s: malformed vector at line %d", "vectors", lineno);
        return;
    }
    basic = !strcmp(proto, "basic");
    dir = !strcmp(dirs, "s2c") ? QME_SD_FROM_SERVER : QME_SD_FROM_CLIENT;
    n = parse_hex(hex, buf, sizeof(buf));
    memset(&e, 0, sizeof(e));
    while ((tok = strtok(NULL, " \t\n"))) {
        if (set_field(&e, tok) < 0) {
            good = 0;
        }
    }
    if (n < 0 || !good) {
        ok(0, "%s: bad hex or field at line %d", verdict, lineno);
        return;
    }
    r = decode(basic, dir, buf, (size_t)n, &m, &used);

    if (!strcmp(verdict, "ok")) {
        good = r == QME_SD_OK && used == (size_t)n && msg_equal(&m, &e.m);
        elen = basic ? qme_sd_basic_encode(enc, sizeof(enc), &e.m)
                    : qme_sd_encode(enc, sizeof(enc), &e.m);
        good = good && elen == (size_t)n && !memcmp(enc, buf, elen);
        /* Every strict prefix is incomplete, never an error. */
        for (i = 0; good && i < (size_t)n; i++) {
            good = decode(basic, dir, buf, i, &m, &used) == QME_SD_NEED_MORE;
        }
        /* Trailing bytes belong to the next message. */
        if (good) {
            buf[n] = 0xee;
            good = decode(basic, dir, buf, n + 1, &m, &used) == QME_SD_OK &&
                   used == (size_t)n;
        }
        ok(good, "%s vector at line %d decodes, re-encodes, prefixes wait",
           verdict, lineno);
    } else if (!strcmp(verdict, "more")) {
        ok(r == QME_SD_NEED_MORE, "%s vector at line %d", verdict, lineno);
    } else if (!strncmp(verdict, "err=", 4)) {
        ok(r < 0 && !strcmp(qme_sd_result_str(r), verdict + 4),
           "%s vector at line %d", verdict, lineno);
        if (r >= 0 || strcmp(qme_sd_result_str(r), verdict + 4)) {
            printf("# got %s\n", qme_sd_result_str(r));
        }
    } else {
        ok(0, "%s: unknown verdict at line %d", verdict, lineno);
    }
}

static void test_helpers(void)
{
    ok(qme_sd_access_ok(0x1000, 0xffc, 4), "%s%d", "access at end ok", 0);
    ok(!qme_sd_access_ok(0x1000, 0xffe, 4), "%s%d", "misaligned refused", 0);
    ok(!qme_sd_access_ok(0x1000, 0x1000, 1), "%s%d", "past end refused", 0);
    ok(!qme_sd_access_ok(0xffffffff, 0xfffffff8, 8), "%s%d",
       "no 32-bit wrap", 0);
    ok(!qme_sd_access_ok(0x1000, 0, 3), "%s%d", "size 3 refused", 0);
    ok(qme_sd_range_ok(0x40000000, 0x1000, 0x40000ff0, 0x10), "%s%d",
       "range at end ok", 0);
    ok(!qme_sd_range_ok(0x40000000, 0x1000, 0x40000ff0, 0x11), "%s%d",
       "range past end refused", 0);
    ok(!qme_sd_range_ok(0x40000000, 0x1000, 0x3fffffff, 1), "%s%d",
       "range below base refused", 0);
    ok(!qme_sd_range_ok(0x40000000, 0x1000, UINT64_MAX, 2), "%s%d",
       "range wrap refused", 0);
}

static void test_max_message(void)
{
    static uint8_t data[QME_SD_MAX_DATA], buf[QME_SD_MAX_MSG];
    QmeSdMsg m = { .type = QME_SD_DMA_WRITE, .id = 1,
                   .dma_addr = 0x40000000, .dma_len = QME_SD_MAX_DATA,
                   .data = data, .data_len = QME_SD_MAX_DATA };
    QmeSdMsg d;
    size_t n, used;

    n = qme_sd_encode(buf, sizeof(buf), &m);
    ok(n == QME_SD_MAX_MSG &&
       qme_sd_decode(buf, n, QME_SD_FROM_SERVER, &d, &used) == QME_SD_OK &&
       used == n && d.data == buf + 24, "%s%d",
       "largest message round-trips in a QME_SD_MAX_MSG buffer", 0);
    m.dma_len = m.data_len = QME_SD_MAX_DATA + 1;
    ok(qme_sd_encode(buf, sizeof(buf), &m) == 0, "%s%d",
       "encoder refuses oversized data", 0);
    ok(qme_sd_encode(buf, 10, &(QmeSdMsg){ .type = QME_SD_HELLO }) == 0,
       "%s%d", "encoder refuses a short buffer", 0);
}

int main(int argc, char **argv)
{
    char line[16384];
    FILE *f;
    int lineno = 0;

    f = argc == 2 ? fopen(argv[1], "r") : NULL;
    if (!f) {
        fprintf(stderr, "usage: %s VECTORS-FILE\n", argv[0]);
        return 2;
    }
    while (fgets(line, sizeof(line), f)) {
        char *p = line;

        lineno++;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '#' || *p == '\n' || !*p) {
            continue;
        }
        run_vector(p, lineno);
    }
    fclose(f);
    test_helpers();
    test_max_message();
    printf("1..%d\n", test_no);
    return failures ? 1 : 0;
}
