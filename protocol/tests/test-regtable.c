/*
 * Unit tests of the register-table engine (protocol/regtable.c), driven
 * through a table generated from test.regs.toml.  Output is TAP.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "test-regtable.h"

/* ---- minimal TAP: one test point per test function ---- */

typedef struct Tap {
    unsigned count;
    unsigned failed;
    unsigned test_failures;     /* in the test running now */
} Tap;

static void tap_fail(Tap *t, int line, const char *what)
{
    printf("# line %d: %s\n", line, what);
    t->test_failures++;
}

#define CHECK(t, cond) \
    do { \
        if (!(cond)) { \
            tap_fail(t, __LINE__, "check failed: " #cond); \
        } \
    } while (0)

#define CHECK_EQ(t, got, want) \
    do { \
        uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want); \
        if (g_ != w_) { \
            char m_[160]; \
            snprintf(m_, sizeof(m_), "%s == 0x%" PRIx64 ", want 0x%" \
                     PRIx64, #got, g_, w_); \
            tap_fail(t, __LINE__, m_); \
        } \
    } while (0)

static void tap_run(Tap *t, const char *name, void (*fn)(Tap *t))
{
    t->test_failures = 0;
    fn(t);
    t->count++;
    if (t->test_failures) {
        t->failed++;
    }
    printf("%sok %u - %s\n", t->test_failures ? "not " : "", t->count, name);
}

/* ---- the device under test: state and hooks ---- */

typedef struct HookEvent {
    char kind;                  /* 'r' read, 'p' pre_write, 'P' post_write */
    unsigned idx;
    uint64_t a, b;
} HookEvent;

typedef struct TestDev {
    QmeRegBlock blk;
    uint64_t values[TST_NUM_REGS];
    HookEvent ev[16];
    unsigned nev;
    uint32_t counter;
    uint64_t doorbell_pre_result;
} TestDev;

static void log_event(QmeRegBlock *blk, const QmeReg *reg, char kind,
                      uint64_t a, uint64_t b)
{
    TestDev *d = blk->opaque;

    if (d->nev < sizeof(d->ev) / sizeof(d->ev[0])) {
        d->ev[d->nev++] = (HookEvent){ kind, qme_reg_index(blk, reg), a, b };
    }
}

uint64_t test_block_id_pre_write(QmeRegBlock *blk, const QmeReg *reg,
                         uint64_t value)
{
    log_event(blk, reg, 'p', value, 0);
    return value;
}

/* The device refuses LOCK (bit 15) whatever the guest writes. */
uint64_t test_block_ctrl_pre_write(QmeRegBlock *blk, const QmeReg *reg,
                           uint64_t value)
{
    log_event(blk, reg, 'p', value, 0);
    return value & ~(uint64_t)TST_CTRL_LOCK_MASK;
}

void test_block_ctrl_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                uint64_t old_value, uint64_t new_value)
{
    log_event(blk, reg, 'P', old_value, new_value);
}

void test_block_status_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                  uint64_t old_value, uint64_t new_value)
{
    log_event(blk, reg, 'P', old_value, new_value);
}

uint64_t test_block_doorbell_pre_write(QmeRegBlock *blk, const QmeReg *reg,
                               uint64_t value)
{
    TestDev *d = blk->opaque;

    log_event(blk, reg, 'p', value, 0);
    return d->doorbell_pre_result ? d->doorbell_pre_result : value;
}

void test_block_doorbell_post_write(QmeRegBlock *blk, const QmeReg *reg,
                                    uint64_t old_value, uint64_t new_value)
{
    log_event(blk, reg, 'P', old_value, new_value);
}

uint64_t test_block_events_read(QmeRegBlock *blk, const QmeReg *reg,
                                uint64_t value)
{
    log_event(blk, reg, 'r', value, 0);
    return value;
}

/* Generic hooks of the composed-access registers: log and pass through. */
static uint64_t log_read(QmeRegBlock *blk, const QmeReg *reg, uint64_t value)
{
    log_event(blk, reg, 'r', value, 0);
    return value;
}

static uint64_t log_pre_write(QmeRegBlock *blk, const QmeReg *reg,
                              uint64_t value)
{
    log_event(blk, reg, 'p', value, 0);
    return value;
}

static void log_post_write(QmeRegBlock *blk, const QmeReg *reg,
                           uint64_t old_value, uint64_t new_value)
{
    log_event(blk, reg, 'P', old_value, new_value);
}

/* One hook per register and kind (the generator's naming rule). */
#define LOG_READ(fn) \
    uint64_t fn(QmeRegBlock *blk, const QmeReg *reg, uint64_t value) \
    { \
        return log_read(blk, reg, value); \
    }
#define LOG_PRE_WRITE(fn) \
    uint64_t fn(QmeRegBlock *blk, const QmeReg *reg, uint64_t value) \
    { \
        return log_pre_write(blk, reg, value); \
    }
#define LOG_POST_WRITE(fn) \
    void fn(QmeRegBlock *blk, const QmeReg *reg, uint64_t old_value, \
            uint64_t new_value) \
    { \
        log_post_write(blk, reg, old_value, new_value); \
    }

LOG_READ(test_block_mb1_read)
LOG_READ(test_block_mw_read)
LOG_READ(test_block_npa_read)
LOG_PRE_WRITE(test_block_mw_pre_write)
LOG_PRE_WRITE(test_block_mixed_pre_write)
LOG_POST_WRITE(test_block_mh_post_write)
LOG_POST_WRITE(test_block_mw_post_write)
LOG_POST_WRITE(test_block_npa_post_write)
LOG_POST_WRITE(test_block_mixed_post_write)
LOG_POST_WRITE(test_block_cmd_post_write)

/* Computed on the fly: the stored value is ignored. */
uint64_t test_block_counter_read(QmeRegBlock *blk, const QmeReg *reg,
                                 uint64_t value)
{
    TestDev *d = blk->opaque;

    log_event(blk, reg, 'r', value, 0);
    return ++d->counter;
}

static void dev_init(Tap *t, TestDev *d)
{
    char err[128] = "";

    memset(d, 0, sizeof(*d));
    CHECK_EQ(t, qme_regblock_init(&d->blk, test_block_regs, TST_NUM_REGS,
                                  d->values, d, err, sizeof(err)), 0);
    CHECK(t, err[0] == '\0');
    qme_regblock_reset(&d->blk);
}

static uint64_t rd(TestDev *d, uint64_t addr, unsigned size,
                   QmeRegStatus *st)
{
    uint64_t v = 0xdeadbeefdeadbeefULL;

    *st = qme_regblock_read(&d->blk, addr, size, &v);
    return v;
}

#define VAL(d, r) qme_reg_get(&(d)->blk, TST_R_##r)

/* ---- tests ---- */

/* The generated headers: names, values and table contents. */
_Static_assert(TST_REG_CTRL == 0x4, "offset macro");
_Static_assert(TST_REG_WIDE_SIZE == 8, "size macro");
_Static_assert(TST_CTRL_MODE_MASK == 0xf0, "field mask");
_Static_assert(TST_CTRL_MODE_SHIFT == 4, "field shift");
_Static_assert(TST_WIDE_HIGH_MASK == 0xffffffff00000000ULL, "64-bit mask");
_Static_assert(TST_REGS_SPAN == 0x50, "span");
_Static_assert(TST_VENDOR_ID == 0x1af4 && TST_BIG == 0x100000000ULL,
               "constants");
_Static_assert(TST_NUM_REGS == 21, "register count");
_Static_assert(TST_MIXED_VER_WIDTH == 8 && TST_MIXED_VER_SHIFT == 12,
               "field width and shift");
_Static_assert(QME_FIELD_EX(0xabcdef12, TST_MIXED, VER) == 0xde,
               "QME_FIELD_EX");
_Static_assert(QME_FIELD_DP(0xffffffff, TST_MIXED, VER, 0x12) == 0xfff12fff,
               "QME_FIELD_DP");
_Static_assert(QME_FIELD_PREP(TST_MIXED, VER, 0x1ff) == 0xff000,
               "QME_FIELD_PREP keeps X inside the field");
_Static_assert(QME_FIELD_EX(0x8000000100000000ULL, TST_WIDE, HIGH) ==
               0x80000001ULL, "QME_FIELD_EX on a 64-bit register");
_Static_assert(QME_FIELD_DP(0x1122334455667788ULL, TST_WIDE, LOW, 0) ==
               0x1122334400000000ULL, "QME_FIELD_DP keeps the high word");

static void test_generated_table(Tap *t)
{
    const QmeReg *r = test_block_regs;

    CHECK_EQ(t, TST_R_ID, 0);
    CHECK_EQ(t, TST_R_LAST, 11);
    CHECK(t, strcmp(r[TST_R_STATUS].name, "STATUS") == 0);
    CHECK_EQ(t, r[TST_R_STATUS].offset, 0x8);
    CHECK_EQ(t, r[TST_R_STATUS].access, QME_REG_W1C);
    CHECK_EQ(t, r[TST_R_STATUS].writable, 0x0f0f);
    CHECK_EQ(t, r[TST_R_SET].writable, 0x0fffffff);     /* default */
    CHECK_EQ(t, r[TST_R_SET].reserved, 0xf0000000);
    CHECK_EQ(t, r[TST_R_STRICT].flags, QME_REGF_NO_PARTIAL);
    CHECK_EQ(t, r[TST_R_LAST].flags, 0);
    CHECK_EQ(t, r[TST_R_WIDE].reset, 0x1122334455667788ULL);
    CHECK_EQ(t, r[TST_R_BYTE].size, 1);
    CHECK_EQ(t, r[TST_R_EVENTS].access, QME_REG_RC);
    CHECK(t, r[TST_R_EVENTS].read == test_block_events_read);
    CHECK(t, r[TST_R_DOORBELL].pre_write == test_block_doorbell_pre_write);
    CHECK(t, r[TST_R_DOORBELL].post_write == test_block_doorbell_post_write);
    CHECK(t, r[TST_R_LAST].read == NULL && r[TST_R_LAST].pre_write == NULL);
    CHECK(t, strcmp(r[TST_R_DOORBELL].doc, "Doorbell \"kick\"; write-only.")
          == 0);
    CHECK_EQ(t, r[TST_R_CTRL].nfields, 6);
    /* Bits in no field are reserved; rw fields are writable. */
    CHECK_EQ(t, r[TST_R_CTRL].reserved, 0xff000000);
    CHECK_EQ(t, r[TST_R_CTRL].writable, 0x00ffffff);
    CHECK_EQ(t, r[TST_R_CTRL].fields[1].access, QME_REG_RW);
    CHECK(t, strcmp(r[TST_R_CTRL].fields[1].name, "MODE") == 0);
    CHECK_EQ(t, r[TST_R_CTRL].fields[1].shift, 4);
    CHECK_EQ(t, r[TST_R_CTRL].fields[1].width, 4);
    CHECK_EQ(t, r[TST_R_WIDE].fields[0].width, 32);
    CHECK(t, strcmp(r[TST_R_CTRL].fields[2].doc,
                    "Lock?" "?! Non-ASCII \303\251 and \\ survive.") == 0);
    CHECK(t, r[TST_R_ID].fields == NULL && r[TST_R_ID].nfields == 0);
}

static void test_init_and_reset(Tap *t)
{
    TestDev d;
    char err[128] = "x";
    unsigned i;

    memset(&d, 0, sizeof(d));
    for (i = 0; i < TST_NUM_REGS; i++) {
        d.values[i] = 0x77;
    }
    CHECK_EQ(t, qme_regblock_init(&d.blk, test_block_regs, TST_NUM_REGS,
                                  d.values, &d, err, sizeof(err)), 0);
    CHECK(t, d.blk.regs == test_block_regs);
    CHECK_EQ(t, d.blk.nregs, TST_NUM_REGS);
    CHECK(t, d.blk.values == d.values && d.blk.opaque == &d);
    /* init binds, it does not reset */
    CHECK_EQ(t, d.values[TST_R_ID], 0x77);

    qme_regblock_reset(&d.blk);
    for (i = 0; i < TST_NUM_REGS; i++) {
        CHECK_EQ(t, d.values[i], test_block_regs[i].reset);
    }
    CHECK_EQ(t, VAL(&d, EVENTS), 0xa1b2c3d4);

    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_LAST, 4, 0x99), QME_REG_OK);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_SET, 4, 0xff), QME_REG_OK);
    d.nev = 0;
    qme_regblock_reset(&d.blk);
    CHECK_EQ(t, VAL(&d, LAST), 1);
    CHECK_EQ(t, VAL(&d, SET), 0);
    CHECK_EQ(t, d.nev, 0);          /* reset runs no hooks */
}

static void test_find(Tap *t)
{
    TestDev d;
    uint64_t a;
    unsigned i;

    dev_init(t, &d);
    for (i = 0; i < TST_NUM_REGS; i++) {
        const QmeReg *r = &test_block_regs[i];

        for (a = r->offset; a < r->offset + r->size; a++) {
            CHECK(t, qme_regblock_find(&d.blk, a) == r);
        }
    }
    for (a = 0x2c; a < 0x30; a++) {
        CHECK(t, qme_regblock_find(&d.blk, a) == NULL);
        CHECK(t, qme_regblock_find(&d.blk, a + 8) == NULL);
    }
    CHECK(t, qme_regblock_find(&d.blk, TST_REGS_SPAN) == NULL);
    CHECK(t, qme_regblock_find(&d.blk, 0x100000000ULL) == NULL);
    CHECK(t, qme_regblock_find(&d.blk, UINT64_MAX) == NULL);
}

/* Binary search against a linear scan on a large table with holes. */
static void test_find_large(Tap *t)
{
    QmeReg regs[300];
    uint64_t values[300];
    QmeRegBlock blk;
    uint32_t off = 0;
    uint64_t a;
    unsigned i, mismatches = 0;

    memset(regs, 0, sizeof(regs));
    for (i = 0; i < 300; i++) {
        unsigned size = 1u << (i % 4);

        off = (off + (i % 3 == 0 ? 8 : 0) + size - 1) & ~(size - 1);
        regs[i].offset = off;
        regs[i].size = size;
        regs[i].writable = size == 8 ? UINT64_MAX
                                     : (UINT64_C(1) << (size * 8)) - 1;
        off += size;
    }
    CHECK_EQ(t, qme_regblock_init(&blk, regs, 300, values, NULL, NULL, 0), 0);
    for (a = 0; a < off + 16; a++) {
        const QmeReg *want = NULL;

        for (i = 0; i < 300; i++) {
            if (a >= regs[i].offset && a < regs[i].offset + regs[i].size) {
                want = &regs[i];
            }
        }
        if (qme_regblock_find(&blk, a) != want) {
            mismatches++;
        }
    }
    CHECK_EQ(t, mismatches, 0);
}

static void test_rw(Tap *t)
{
    TestDev d;
    QmeRegStatus st;

    dev_init(t, &d);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_LAST, 4, 0xa5a5a5a5),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, LAST), 0xa5a5a5a5);
    CHECK_EQ(t, rd(&d, TST_REG_LAST, 4, &st), 0xa5a5a5a5);
    CHECK_EQ(t, st, QME_REG_OK);

    /* bits beyond the access size are ignored */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_LAST, 4,
                                   0xffffffff00000001ULL), QME_REG_OK);
    CHECK_EQ(t, VAL(&d, LAST), 1);

    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_WIDE, 8,
                                   0xfedcba9876543210ULL), QME_REG_OK);
    CHECK_EQ(t, rd(&d, TST_REG_WIDE, 8, &st), 0xfedcba9876543210ULL);
    CHECK_EQ(t, st, QME_REG_OK);

    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_BYTE, 1, 0x1c3),
             QME_REG_OK);
    CHECK_EQ(t, rd(&d, TST_REG_BYTE, 1, &st), 0xc3);
}

static void test_writable_mask(Tap *t)
{
    TestDev d;

    dev_init(t, &d);
    /* STATUS is W1C with writable 0x0f0f: set all, only those clear */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_STATUS, 4, 0xffffffff),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, STATUS), 0xf0f0);

    /* RW with a partial writable mask keeps the read-only bits */
    {
        static const QmeReg r[] = {
            { .name = "M", .offset = 0, .size = 4, .access = QME_REG_RW,
              .reset = 0x12345678, .writable = 0x0000ff00 },
        };
        uint64_t v[1];
        QmeRegBlock blk;

        CHECK_EQ(t, qme_regblock_init(&blk, r, 1, v, NULL, NULL, 0), 0);
        qme_regblock_reset(&blk);
        CHECK_EQ(t, qme_regblock_write(&blk, 0, 4, 0), QME_REG_OK);
        CHECK_EQ(t, v[0], 0x12340078);
        CHECK_EQ(t, qme_regblock_write(&blk, 0, 4, 0xffffffff), QME_REG_OK);
        CHECK_EQ(t, v[0], 0x1234ff78);
    }
}

static void test_reserved(Tap *t)
{
    TestDev d;
    QmeRegStatus st;

    dev_init(t, &d);
    /* write with reserved bits: rest applied, reserved dropped, reported */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_HALF, 2, 0xffff),
             QME_REG_RESERVED_BITS);
    CHECK_EQ(t, VAL(&d, HALF), 0x7fff);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_HALF, 2, 0x1234),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, HALF), 0x1234);

    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_SET, 4, 0xf0000001),
             QME_REG_RESERVED_BITS);
    CHECK_EQ(t, VAL(&d, SET), 1);

    /* a byte write only reports reserved bits in its own lane */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_SET, 1, 0xff),
             QME_REG_OK);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_SET + 3, 1, 0x10),
             QME_REG_RESERVED_BITS);
    CHECK_EQ(t, VAL(&d, SET), 0xff);

    /* reserved bits read as 0 even if the device stored them */
    qme_reg_set(&d.blk, TST_R_HALF, 0xffff);
    CHECK_EQ(t, rd(&d, TST_REG_HALF, 2, &st), 0x7fff);
    CHECK_EQ(t, st, QME_REG_OK);
    CHECK_EQ(t, rd(&d, TST_REG_HALF + 1, 1, &st), 0x7f);
    qme_reg_set(&d.blk, TST_R_CTRL, 0xff000011);
    CHECK_EQ(t, rd(&d, TST_REG_CTRL, 4, &st), 0x11);
}

static void test_ro(Tap *t)
{
    TestDev d;
    QmeRegStatus st;

    dev_init(t, &d);
    CHECK_EQ(t, rd(&d, TST_REG_ID, 4, &st), 0x12345678);
    CHECK_EQ(t, st, QME_REG_OK);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_ID, 4, 0),
             QME_REG_READ_ONLY);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_ID + 2, 2, 0),
             QME_REG_READ_ONLY);
    CHECK_EQ(t, VAL(&d, ID), 0x12345678);
    CHECK_EQ(t, d.nev, 0);          /* ID has a pre_write hook: not run */
}

static void test_wo(Tap *t)
{
    TestDev d;
    QmeRegStatus st;

    dev_init(t, &d);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_DOORBELL, 4, 0x1234),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, DOORBELL), 0x1234);
    d.nev = 0;
    CHECK_EQ(t, rd(&d, TST_REG_DOORBELL, 4, &st), 0);
    CHECK_EQ(t, st, QME_REG_WRITE_ONLY);
    CHECK_EQ(t, rd(&d, TST_REG_DOORBELL, 1, &st), 0);
    CHECK_EQ(t, st, QME_REG_WRITE_ONLY);
    CHECK_EQ(t, VAL(&d, DOORBELL), 0x1234);
    CHECK_EQ(t, d.nev, 0);
}

static void test_w1c(Tap *t)
{
    TestDev d;
    QmeRegStatus st;

    dev_init(t, &d);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_STATUS, 4, 0x0003),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, STATUS), 0xfffc);
    CHECK_EQ(t, rd(&d, TST_REG_STATUS, 4, &st), 0xfffc);
    /* 0 bits leave their value alone */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_STATUS, 4, 0),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, STATUS), 0xfffc);
    /* clearing an already clear bit */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_STATUS, 4, 0x0101),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, STATUS), 0xfefc);
}

static void test_w1s(Tap *t)
{
    TestDev d;

    dev_init(t, &d);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_SET, 4, 0x5), QME_REG_OK);
    CHECK_EQ(t, VAL(&d, SET), 0x5);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_SET, 4, 0xa0),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, SET), 0xa5);
    /* writing 0 never clears */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_SET, 4, 0), QME_REG_OK);
    CHECK_EQ(t, VAL(&d, SET), 0xa5);
}

static void test_rc(Tap *t)
{
    TestDev d;
    QmeRegStatus st;

    dev_init(t, &d);
    CHECK_EQ(t, rd(&d, TST_REG_EVENTS, 4, &st), 0xa1b2c3d4);
    CHECK_EQ(t, st, QME_REG_OK);
    CHECK_EQ(t, VAL(&d, EVENTS), 0);
    CHECK_EQ(t, rd(&d, TST_REG_EVENTS, 4, &st), 0);
    /* writes are refused like RO, without hooks */
    qme_reg_set(&d.blk, TST_R_EVENTS, 0x55);
    d.nev = 0;
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_EVENTS, 4, 0xff),
             QME_REG_READ_ONLY);
    CHECK_EQ(t, VAL(&d, EVENTS), 0x55);
    CHECK_EQ(t, d.nev, 0);
}

static void test_rc_partial(Tap *t)
{
    TestDev d;
    QmeRegStatus st;

    dev_init(t, &d);
    /* a byte read consumes only that byte */
    CHECK_EQ(t, rd(&d, TST_REG_EVENTS + 1, 1, &st), 0xc3);
    CHECK_EQ(t, st, QME_REG_OK);
    CHECK_EQ(t, VAL(&d, EVENTS), 0xa1b200d4);
    /* the hook saw the whole register before clearing */
    CHECK_EQ(t, d.nev, 1);
    CHECK_EQ(t, d.ev[0].kind, 'r');
    CHECK_EQ(t, d.ev[0].idx, TST_R_EVENTS);
    CHECK_EQ(t, d.ev[0].a, 0xa1b2c3d4);

    CHECK_EQ(t, rd(&d, TST_REG_EVENTS + 2, 2, &st), 0xa1b2);
    CHECK_EQ(t, VAL(&d, EVENTS), 0x000000d4);
    CHECK_EQ(t, d.ev[1].a, 0xa1b200d4);
    CHECK_EQ(t, rd(&d, TST_REG_EVENTS, 4, &st), 0xd4);
    CHECK_EQ(t, VAL(&d, EVENTS), 0);
}

static void test_subword_read(Tap *t)
{
    TestDev d;
    QmeRegStatus st;
    unsigned k;

    dev_init(t, &d);
    for (k = 0; k < 8; k++) {
        CHECK_EQ(t, rd(&d, TST_REG_WIDE + k, 1, &st),
                 (0x1122334455667788ULL >> (8 * k)) & 0xff);
        CHECK_EQ(t, st, QME_REG_OK);
    }
    CHECK_EQ(t, rd(&d, TST_REG_WIDE + 2, 2, &st), 0x5566);
    CHECK_EQ(t, rd(&d, TST_REG_WIDE + 6, 2, &st), 0x1122);
    CHECK_EQ(t, rd(&d, TST_REG_WIDE, 4, &st), 0x55667788);
    CHECK_EQ(t, rd(&d, TST_REG_WIDE + 4, 4, &st), 0x11223344);
    CHECK_EQ(t, st, QME_REG_OK);
    CHECK_EQ(t, rd(&d, TST_REG_HALF, 1, &st), 0xef);
    CHECK_EQ(t, rd(&d, TST_REG_HALF + 1, 1, &st), 0x3e);
    CHECK_EQ(t, rd(&d, TST_REG_ID + 3, 1, &st), 0x12);
    CHECK_EQ(t, st, QME_REG_OK);
}

static void test_subword_write(Tap *t)
{
    TestDev d;

    dev_init(t, &d);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_WIDE + 4, 4, 0xaabbccdd),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, WIDE), 0xaabbccdd55667788ULL);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_WIDE + 1, 1, 0x1ff),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, WIDE), 0xaabbccdd5566ff88ULL);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_WIDE + 6, 2, 0),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, WIDE), 0x0000ccdd5566ff88ULL);

    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_LAST + 2, 1, 0x7e),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, LAST), 0x007e0001);

    /* W1C in lane 1 leaves lane 0 alone even though its bits are written */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_STATUS + 1, 1, 0xff),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, STATUS), 0xf0ff);
    /* W1S in the top lane */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_SET + 2, 2, 0x0102),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, SET), 0x01020000);
    /* a half-word write to the upper half of a W1S register */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_SET, 2, 0x8001),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, SET), 0x01028001);
}

static void test_no_partial(Tap *t)
{
    TestDev d;
    QmeRegStatus st;

    dev_init(t, &d);
    CHECK_EQ(t, rd(&d, TST_REG_STRICT, 1, &st), 0);
    CHECK_EQ(t, st, QME_REG_BAD_SIZE);
    CHECK_EQ(t, rd(&d, TST_REG_STRICT + 2, 2, &st), 0);
    CHECK_EQ(t, st, QME_REG_BAD_SIZE);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_STRICT, 2, 0),
             QME_REG_BAD_SIZE);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_STRICT + 3, 1, 0),
             QME_REG_BAD_SIZE);
    CHECK_EQ(t, VAL(&d, STRICT), 0xcafef00d);
    CHECK_EQ(t, rd(&d, TST_REG_STRICT, 4, &st), 0xcafef00d);
    CHECK_EQ(t, st, QME_REG_OK);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_STRICT, 4, 7),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, STRICT), 7);
}

static void test_bad_size(Tap *t)
{
    static const unsigned sizes[] = { 0, 3, 5, 16 };
    TestDev d;
    QmeRegStatus st;
    uint64_t snapshot[TST_NUM_REGS];
    unsigned i;

    dev_init(t, &d);
    memcpy(snapshot, d.values, sizeof(snapshot));
    /* unaligned */
    CHECK_EQ(t, rd(&d, TST_REG_LAST + 1, 2, &st), 0);
    CHECK_EQ(t, st, QME_REG_BAD_SIZE);
    CHECK_EQ(t, rd(&d, TST_REG_LAST + 2, 4, &st), 0);
    CHECK_EQ(t, st, QME_REG_BAD_SIZE);
    CHECK_EQ(t, rd(&d, TST_REG_WIDE + 4, 8, &st), 0);
    CHECK_EQ(t, st, QME_REG_BAD_SIZE);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_LAST + 1, 2, 0),
             QME_REG_BAD_SIZE);
    /* invalid sizes */
    for (i = 0; i < 4; i++) {
        CHECK_EQ(t, rd(&d, TST_REG_LAST, sizes[i], &st), 0);
        CHECK_EQ(t, st, QME_REG_BAD_SIZE);
        CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_LAST, sizes[i], 0),
                 QME_REG_BAD_SIZE);
    }
    /* wider than the register, over a hole: BYTE, its hole and HALF */
    CHECK_EQ(t, rd(&d, TST_REG_BYTE, 4, &st), 0);
    CHECK_EQ(t, st, QME_REG_BAD_SIZE);
    CHECK_EQ(t, rd(&d, TST_REG_BYTE, 2, &st), 0);
    CHECK_EQ(t, st, QME_REG_BAD_SIZE);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_BYTE, 2, 0xffff),
             QME_REG_BAD_SIZE);
    /* crossing into the hole after COUNTER */
    CHECK_EQ(t, rd(&d, TST_REG_COUNTER, 8, &st), 0);
    CHECK_EQ(t, st, QME_REG_BAD_SIZE);
    CHECK(t, memcmp(snapshot, d.values, sizeof(snapshot)) == 0);
    CHECK_EQ(t, d.nev, 0);
}

static void test_unmapped(Tap *t)
{
    TestDev d;
    QmeRegStatus st;
    uint64_t snapshot[TST_NUM_REGS];

    dev_init(t, &d);
    memcpy(snapshot, d.values, sizeof(snapshot));
    CHECK_EQ(t, rd(&d, 0x2c, 4, &st), 0);
    CHECK_EQ(t, st, QME_REG_UNMAPPED);
    CHECK_EQ(t, rd(&d, 0x2d, 1, &st), 0);
    CHECK_EQ(t, st, QME_REG_UNMAPPED);
    CHECK_EQ(t, rd(&d, 0x21, 1, &st), 0);
    CHECK_EQ(t, st, QME_REG_UNMAPPED);
    CHECK_EQ(t, rd(&d, TST_REGS_SPAN, 4, &st), 0);
    CHECK_EQ(t, st, QME_REG_UNMAPPED);
    CHECK_EQ(t, rd(&d, 0xfffffffffffffff8ULL, 8, &st), 0);
    CHECK_EQ(t, st, QME_REG_UNMAPPED);
    CHECK_EQ(t, qme_regblock_write(&d.blk, 0x2c, 4, 0xffffffff),
             QME_REG_UNMAPPED);
    CHECK_EQ(t, qme_regblock_write(&d.blk, 0x1000, 4, 0xffffffff),
             QME_REG_UNMAPPED);
    CHECK(t, memcmp(snapshot, d.values, sizeof(snapshot)) == 0);
    CHECK_EQ(t, d.nev, 0);
}

static void test_pre_write_hook(Tap *t)
{
    TestDev d;
    QmeRegStatus st;

    dev_init(t, &d);
    qme_reg_set(&d.blk, TST_R_CTRL, 0x1);
    /* the hook gets the rule's result and vetoes LOCK */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_CTRL, 4, 0x80f0),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, CTRL), 0xf0);
    CHECK_EQ(t, d.nev, 2);
    CHECK_EQ(t, d.ev[0].kind, 'p');
    CHECK_EQ(t, d.ev[0].idx, TST_R_CTRL);
    CHECK_EQ(t, d.ev[0].a, 0x80f0);
    CHECK_EQ(t, d.ev[1].kind, 'P');
    CHECK_EQ(t, d.ev[1].a, 0x1);
    CHECK_EQ(t, d.ev[1].b, 0xf0);
    CHECK_EQ(t, rd(&d, TST_REG_CTRL, 4, &st), 0xf0);

    /* sub-word: the hook sees the full merged register value */
    d.nev = 0;
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_CTRL + 1, 1, 0x81),
             QME_REG_OK);
    CHECK_EQ(t, d.ev[0].a, 0x81f0);
    CHECK_EQ(t, VAL(&d, CTRL), 0x01f0);

    /* reserved bits in the write: hooks still run with them dropped */
    d.nev = 0;
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_CTRL, 4, 0xff000002),
             QME_REG_RESERVED_BITS);
    CHECK_EQ(t, d.nev, 2);
    CHECK_EQ(t, d.ev[0].a, 0x2);
    CHECK_EQ(t, VAL(&d, CTRL), 0x2);

    /* a hook result wider than the register or reserved is trimmed */
    d.doorbell_pre_result = 0xffffffff00000042ULL;
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_DOORBELL, 4, 1),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, DOORBELL), 0x42);
}

static void test_post_write_hook(Tap *t)
{
    TestDev d;

    dev_init(t, &d);
    /* doorbell: pre_write then post_write, on every write, even same value */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_DOORBELL, 4, 7),
             QME_REG_OK);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_DOORBELL, 4, 7),
             QME_REG_OK);
    CHECK_EQ(t, d.nev, 4);
    CHECK_EQ(t, d.ev[0].kind, 'p');
    CHECK_EQ(t, d.ev[0].idx, TST_R_DOORBELL);
    CHECK_EQ(t, d.ev[0].a, 7);
    CHECK_EQ(t, d.ev[1].kind, 'P');
    CHECK_EQ(t, d.ev[1].a, 0);
    CHECK_EQ(t, d.ev[1].b, 7);
    CHECK_EQ(t, d.ev[2].kind, 'p');
    CHECK_EQ(t, d.ev[3].kind, 'P');
    CHECK_EQ(t, d.ev[3].a, 7);
    CHECK_EQ(t, d.ev[3].b, 7);

    /* W1C: post_write with old and new, also when nothing changed */
    d.nev = 0;
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_STATUS, 4, 0x1),
             QME_REG_OK);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_STATUS, 4, 0x1),
             QME_REG_OK);
    CHECK_EQ(t, d.nev, 2);
    CHECK_EQ(t, d.ev[0].idx, TST_R_STATUS);
    CHECK_EQ(t, d.ev[0].a, 0xffff);
    CHECK_EQ(t, d.ev[0].b, 0xfffe);
    CHECK_EQ(t, d.ev[1].a, 0xfffe);
    CHECK_EQ(t, d.ev[1].b, 0xfffe);

    /* refused writes run no hooks */
    d.nev = 0;
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_DOORBELL + 1, 4, 1),
             QME_REG_BAD_SIZE);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_NPA, 8, 1),
             QME_REG_BAD_SIZE);
    CHECK_EQ(t, d.nev, 0);
}

static void test_read_hook(Tap *t)
{
    TestDev d;
    QmeRegStatus st;

    dev_init(t, &d);
    qme_reg_set(&d.blk, TST_R_COUNTER, 0x5555);
    CHECK_EQ(t, rd(&d, TST_REG_COUNTER, 4, &st), 1);
    CHECK_EQ(t, st, QME_REG_OK);
    CHECK_EQ(t, rd(&d, TST_REG_COUNTER, 4, &st), 2);
    CHECK_EQ(t, d.nev, 2);
    CHECK_EQ(t, d.ev[0].kind, 'r');
    CHECK_EQ(t, d.ev[0].idx, TST_R_COUNTER);
    CHECK_EQ(t, d.ev[0].a, 0x5555);     /* stored value passed in */
    /* the engine extracts the accessed lanes from the hook's value */
    d.counter = 0x12344ff;
    CHECK_EQ(t, rd(&d, TST_REG_COUNTER + 1, 1, &st), 0x45);
    CHECK_EQ(t, rd(&d, TST_REG_COUNTER + 2, 2, &st), 0x0123);
    CHECK_EQ(t, VAL(&d, COUNTER), 0x5555);
}

/* Composed reads of two registers: each keeps its own rules. */
static void test_wide_read_two(Tap *t)
{
    TestDev d;
    QmeRegStatus st;

    dev_init(t, &d);
    /* RO + RW, reserved bits of CTRL read as 0 in their lanes */
    qme_reg_set(&d.blk, TST_R_CTRL, 0xff00abcd);
    CHECK_EQ(t, rd(&d, TST_REG_ID, 8, &st), 0x0000abcd12345678ULL);
    CHECK_EQ(t, st, QME_REG_OK);
    /* W1C + W1S */
    qme_reg_set(&d.blk, TST_R_SET, 0x0000a5a5);
    CHECK_EQ(t, rd(&d, TST_REG_STATUS, 8, &st), 0x0000a5a50000ffffULL);
    CHECK_EQ(t, st, QME_REG_OK);
    CHECK_EQ(t, d.nev, 0);

    /*
     * WO + RC: the write-only lanes read 0 and are reported, the RC
     * register is still read, consumed and its hook run, once.
     */
    qme_reg_set(&d.blk, TST_R_DOORBELL, 0x77);
    CHECK_EQ(t, rd(&d, TST_REG_DOORBELL, 8, &st), 0xa1b2c3d400000000ULL);
    CHECK_EQ(t, st, QME_REG_WRITE_ONLY);
    CHECK_EQ(t, VAL(&d, EVENTS), 0);
    CHECK_EQ(t, VAL(&d, DOORBELL), 0x77);
    CHECK_EQ(t, d.nev, 1);
    CHECK_EQ(t, d.ev[0].kind, 'r');
    CHECK_EQ(t, d.ev[0].idx, TST_R_EVENTS);
    CHECK_EQ(t, d.ev[0].a, 0xa1b2c3d4);
    CHECK_EQ(t, rd(&d, TST_REG_DOORBELL, 8, &st), 0);

    /* two registers by a 2-byte read: MB0 and MB1 (RC, hook) */
    d.nev = 0;
    CHECK_EQ(t, rd(&d, TST_REG_MB0, 2, &st), 0x2211);
    CHECK_EQ(t, st, QME_REG_OK);
    CHECK_EQ(t, VAL(&d, MB1), 0);
    CHECK_EQ(t, VAL(&d, MB0), 0x11);
    CHECK_EQ(t, d.nev, 1);
    CHECK_EQ(t, d.ev[0].idx, TST_R_MB1);

    /* an 8-byte register read by 8 bytes is one plain access */
    CHECK_EQ(t, rd(&d, TST_REG_WIDE, 8, &st), 0x1122334455667788ULL);
    CHECK_EQ(t, st, QME_REG_OK);
}

/* Four registers of sizes 1, 1, 2, 4 in one 8-byte read. */
static void test_wide_read_four(Tap *t)
{
    TestDev d;
    QmeRegStatus st;

    dev_init(t, &d);
    CHECK_EQ(t, rd(&d, TST_REG_MB0, 8, &st), 0x44444444ffff2211ULL);
    CHECK_EQ(t, st, QME_REG_OK);
    /* read hooks: once each, ascending offset; RC consumed */
    CHECK_EQ(t, d.nev, 2);
    CHECK_EQ(t, d.ev[0].kind, 'r');
    CHECK_EQ(t, d.ev[0].idx, TST_R_MB1);
    CHECK_EQ(t, d.ev[0].a, 0x22);
    CHECK_EQ(t, d.ev[1].kind, 'r');
    CHECK_EQ(t, d.ev[1].idx, TST_R_MW);
    CHECK_EQ(t, d.ev[1].a, 0x44444444);
    CHECK_EQ(t, VAL(&d, MB1), 0);
    CHECK_EQ(t, VAL(&d, MB0), 0x11);
    CHECK_EQ(t, VAL(&d, MH), 0xffff);
    CHECK_EQ(t, VAL(&d, MW), 0x44444444);

    /* three registers in a 4-byte read */
    qme_reg_set(&d.blk, TST_R_MB1, 0x33);
    qme_reg_set(&d.blk, TST_R_MH, 0x1234);
    d.nev = 0;
    CHECK_EQ(t, rd(&d, TST_REG_MB0, 4, &st), 0x12343311);
    CHECK_EQ(t, st, QME_REG_OK);
    CHECK_EQ(t, d.nev, 1);
    CHECK_EQ(t, VAL(&d, MB1), 0);
}

/* Composed writes of two registers. */
static void test_wide_write_two(Tap *t)
{
    TestDev d;

    dev_init(t, &d);
    /*
     * RO + RW: the RO part is dropped and reported without its hook,
     * CTRL gets its word through its own hooks (LOCK vetoed).
     */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_ID, 8,
                                   0x000080f1deadbeefULL),
             QME_REG_READ_ONLY);
    CHECK_EQ(t, VAL(&d, ID), 0x12345678);
    CHECK_EQ(t, VAL(&d, CTRL), 0xf1);
    CHECK_EQ(t, d.nev, 2);
    CHECK_EQ(t, d.ev[0].kind, 'p');
    CHECK_EQ(t, d.ev[0].idx, TST_R_CTRL);
    CHECK_EQ(t, d.ev[0].a, 0x80f1);
    CHECK_EQ(t, d.ev[1].kind, 'P');
    CHECK_EQ(t, d.ev[1].idx, TST_R_CTRL);
    CHECK_EQ(t, d.ev[1].b, 0xf1);

    /* W1C + W1S in one write, the W1S part with a reserved bit */
    d.nev = 0;
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_STATUS, 8,
                                   0x1000000500000003ULL),
             QME_REG_RESERVED_BITS);
    CHECK_EQ(t, VAL(&d, STATUS), 0xfffc);
    CHECK_EQ(t, VAL(&d, SET), 0x5);
    CHECK_EQ(t, d.nev, 1);
    CHECK_EQ(t, d.ev[0].idx, TST_R_STATUS);
    /* every part accepted: OK */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_STATUS, 8,
                                   0x0000001000000100ULL), QME_REG_OK);
    CHECK_EQ(t, VAL(&d, STATUS), 0xfefc);
    CHECK_EQ(t, VAL(&d, SET), 0x15);

    /* WO + RC: the doorbell rings once, the RC part is refused */
    d.nev = 0;
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_DOORBELL, 8,
                                   0xffffffff00000009ULL),
             QME_REG_READ_ONLY);
    CHECK_EQ(t, VAL(&d, DOORBELL), 9);
    CHECK_EQ(t, VAL(&d, EVENTS), 0xa1b2c3d4);
    CHECK_EQ(t, d.nev, 2);
    CHECK_EQ(t, d.ev[0].idx, TST_R_DOORBELL);
    CHECK_EQ(t, d.ev[1].idx, TST_R_DOORBELL);

    /* 2-byte write of MB0 and MB1: bits beyond the access are ignored */
    d.nev = 0;
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_MB0, 2, 0xabcd12a5),
             QME_REG_READ_ONLY);
    CHECK_EQ(t, VAL(&d, MB0), 0xa5);
    CHECK_EQ(t, VAL(&d, MB1), 0x22);
    CHECK_EQ(t, VAL(&d, MH), 0xffff);
    CHECK_EQ(t, d.nev, 0);

    /* an 8-byte register written by 8 bytes is one plain access */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_WIDE, 8,
                                   0x0102030405060708ULL), QME_REG_OK);
    CHECK_EQ(t, VAL(&d, WIDE), 0x0102030405060708ULL);
}

/* Four registers in one 8-byte write; hooks in ascending offset order. */
static void test_wide_write_four(Tap *t)
{
    TestDev d;

    dev_init(t, &d);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_MB0, 8,
                                   0x87654321f00f99a5ULL),
             QME_REG_READ_ONLY);
    CHECK_EQ(t, VAL(&d, MB0), 0xa5);
    CHECK_EQ(t, VAL(&d, MB1), 0x22);           /* RC: dropped */
    CHECK_EQ(t, VAL(&d, MH), 0xfff0);          /* W1C on writable 0x00ff */
    CHECK_EQ(t, VAL(&d, MW), 0x87654321);
    CHECK_EQ(t, d.nev, 3);
    CHECK_EQ(t, d.ev[0].kind, 'P');
    CHECK_EQ(t, d.ev[0].idx, TST_R_MH);
    CHECK_EQ(t, d.ev[0].a, 0xffff);
    CHECK_EQ(t, d.ev[0].b, 0xfff0);
    CHECK_EQ(t, d.ev[1].kind, 'p');
    CHECK_EQ(t, d.ev[1].idx, TST_R_MW);
    CHECK_EQ(t, d.ev[1].a, 0x87654321);
    CHECK_EQ(t, d.ev[2].kind, 'P');
    CHECK_EQ(t, d.ev[2].idx, TST_R_MW);
    CHECK_EQ(t, d.ev[2].a, 0x44444444);
    CHECK_EQ(t, d.ev[2].b, 0x87654321);
}

/*
 * Refused composed accesses: a hole or a full-width-only register
 * anywhere in the span refuses the whole access before any register is
 * touched (no RC clearing, no hook, nothing written).
 */
static void test_wide_refused(Tap *t)
{
    static const struct {
        uint64_t addr;
        unsigned size;
    } cases[] = {
        { TST_REG_NPA, 8 },         /* NPB is full-width only */
        { TST_REG_COUNTER, 8 },     /* hole after COUNTER (read hook) */
        { TST_REG_LAST, 8 },        /* hole after LAST */
        { TST_REG_BYTE, 2 },        /* hole after BYTE */
        { TST_REG_BYTE, 4 },
        { TST_REG_BYTE, 8 },        /* hole, and STRICT is full-width only */
    };
    TestDev d;
    QmeRegStatus st;
    uint64_t snapshot[TST_NUM_REGS];
    unsigned i;

    dev_init(t, &d);
    memcpy(snapshot, d.values, sizeof(snapshot));
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_EQ(t, rd(&d, cases[i].addr, cases[i].size, &st), 0);
        CHECK_EQ(t, st, QME_REG_BAD_SIZE);
        CHECK_EQ(t, qme_regblock_write(&d.blk, cases[i].addr, cases[i].size,
                                       UINT64_MAX), QME_REG_BAD_SIZE);
    }
    CHECK(t, memcmp(snapshot, d.values, sizeof(snapshot)) == 0);
    CHECK_EQ(t, d.nev, 0);
    CHECK_EQ(t, d.counter, 0);

    /* starting in a hole, or past the end: unmapped as before */
    CHECK_EQ(t, rd(&d, TST_REGS_SPAN, 8, &st), 0);
    CHECK_EQ(t, st, QME_REG_UNMAPPED);
    CHECK_EQ(t, rd(&d, 0x2c, 4, &st), 0);
    CHECK_EQ(t, st, QME_REG_UNMAPPED);

    /* NPA and NPB each alone are fine */
    CHECK_EQ(t, rd(&d, TST_REG_NPB, 4, &st), 0xbbbb);
    CHECK_EQ(t, st, QME_REG_OK);
    CHECK_EQ(t, rd(&d, TST_REG_NPA, 4, &st), 0xaaaa5555);
    CHECK_EQ(t, st, QME_REG_OK);
}


/* ---- per-field access: the MIXED register has one field of each kind ---- */

#define MIX(f) TST_MIXED_##f##_MASK

static void test_field_reset(Tap *t)
{
    TestDev d;

    dev_init(t, &d);
    /* Field resets, one of them the constant MINOR. */
    CHECK_EQ(t, VAL(&d, MIXED),
             MIX(EN) | MIX(PEND) | MIX(EVT) |
             QME_FIELD_PREP(TST_MIXED, VER, TST_MINOR) |
             QME_FIELD_PREP(TST_MIXED, CNT, 0x80));
    CHECK_EQ(t, test_block_regs[TST_R_MIXED].reset, VAL(&d, MIXED));
    /* A register reset naming a constant. */
    CHECK_EQ(t, VAL(&d, DEVID), TST_DEVICE_ID);
}

static void test_field_rw_ro(Tap *t)
{
    TestDev d;
    QmeRegStatus st;

    dev_init(t, &d);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_MIXED, 4, 0), QME_REG_OK);
    CHECK_EQ(t, VAL(&d, MIXED) & MIX(EN), 0);
    /* ro fields keep their value; writing them is not an error */
    CHECK_EQ(t, QME_FIELD_EX(VAL(&d, MIXED), TST_MIXED, VER), TST_MINOR);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_MIXED, 4,
                                   MIX(EN) | MIX(VER)), QME_REG_OK);
    CHECK_EQ(t, VAL(&d, MIXED) & MIX(EN), MIX(EN));
    CHECK_EQ(t, QME_FIELD_EX(VAL(&d, MIXED), TST_MIXED, VER), TST_MINOR);
    CHECK_EQ(t, QME_FIELD_EX(rd(&d, TST_REG_MIXED + 1, 1, &st) << 8,
                             TST_MIXED, VER) & 0xf, TST_MINOR & 0xf);
    CHECK_EQ(t, st, QME_REG_OK);
}

static void test_field_w1c_w1s(Tap *t)
{
    TestDev d;

    dev_init(t, &d);
    /* EN (rw) written 1 stays 1; PEND bit 1 written 1 is cleared. */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_MIXED, 4,
                                   MIX(EN) | QME_FIELD_PREP(TST_MIXED, PEND,
                                                            1)), QME_REG_OK);
    CHECK_EQ(t, QME_FIELD_EX(VAL(&d, MIXED), TST_MIXED, PEND), 2);
    CHECK_EQ(t, VAL(&d, MIXED) & MIX(EN), MIX(EN));
    /* Writing 0 to w1c and w1s bits changes nothing. */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_MIXED, 4, MIX(EN)),
             QME_REG_OK);
    CHECK_EQ(t, QME_FIELD_EX(VAL(&d, MIXED), TST_MIXED, PEND), 2);
    CHECK_EQ(t, VAL(&d, MIXED) & MIX(SETB), 0);
    /* w1s sets and stays set when later written 0 */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_MIXED, 1, MIX(SETB)),
             QME_REG_OK);
    CHECK_EQ(t, VAL(&d, MIXED) & MIX(SETB), MIX(SETB));
    CHECK_EQ(t, VAL(&d, MIXED) & MIX(EN), 0);    /* byte 0 rewrote EN */
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_MIXED, 1, 0), QME_REG_OK);
    CHECK_EQ(t, VAL(&d, MIXED) & MIX(SETB), MIX(SETB));
    CHECK_EQ(t, QME_FIELD_EX(VAL(&d, MIXED), TST_MIXED, PEND), 2);
}

static void test_field_wo_pulse(Tap *t)
{
    TestDev d;
    QmeRegStatus st;
    uint64_t v;

    dev_init(t, &d);
    d.nev = 0;
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_MIXED, 4,
                                   MIX(EN) | MIX(GO) | MIX(KEY)), QME_REG_OK);
    /* the hooks see GO set; the register never holds it */
    CHECK_EQ(t, d.nev, 2);
    CHECK_EQ(t, d.ev[0].kind, 'p');
    CHECK_EQ(t, d.ev[0].a & MIX(GO), MIX(GO));
    CHECK_EQ(t, d.ev[1].kind, 'P');
    CHECK_EQ(t, d.ev[1].b & MIX(GO), MIX(GO));
    CHECK_EQ(t, d.ev[1].a & MIX(GO), 0);
    CHECK_EQ(t, VAL(&d, MIXED) & MIX(GO), 0);
    /* wo bits are stored but read as 0 */
    CHECK_EQ(t, VAL(&d, MIXED) & MIX(KEY), MIX(KEY));
    v = rd(&d, TST_REG_MIXED, 4, &st);
    CHECK_EQ(t, st, QME_REG_OK);
    CHECK_EQ(t, v & (MIX(GO) | MIX(KEY)), 0);
    CHECK_EQ(t, v & MIX(EN), MIX(EN));

    /* A register of pulse fields only is write-only. */
    d.nev = 0;
    CHECK_EQ(t, test_block_regs[TST_R_CMD].access, QME_REG_WO);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_CMD, 2,
                                   TST_CMD_HALT_MASK), QME_REG_OK);
    CHECK_EQ(t, d.nev, 1);
    CHECK_EQ(t, d.ev[0].b, TST_CMD_HALT_MASK);
    CHECK_EQ(t, VAL(&d, CMD), 0);
    CHECK_EQ(t, rd(&d, TST_REG_CMD, 2, &st), 0);
    CHECK_EQ(t, st, QME_REG_WRITE_ONLY);
}

static void test_field_rc(Tap *t)
{
    TestDev d;
    QmeRegStatus st;
    uint64_t v;

    dev_init(t, &d);
    /* A read of byte 0 leaves the rc fields of bytes 1 and 3 alone. */
    rd(&d, TST_REG_MIXED, 1, &st);
    CHECK_EQ(t, VAL(&d, MIXED) & (MIX(EVT) | MIX(CNT)),
             MIX(EVT) | QME_FIELD_PREP(TST_MIXED, CNT, 0x80));
    /* A read of byte 1 clears EVT, not VER's bits in the same byte. */
    v = rd(&d, TST_REG_MIXED + 1, 1, &st);
    CHECK_EQ(t, st, QME_REG_OK);
    CHECK_EQ(t, v & 1, 1);
    CHECK_EQ(t, VAL(&d, MIXED) & MIX(EVT), 0);
    CHECK_EQ(t, QME_FIELD_EX(VAL(&d, MIXED), TST_MIXED, VER), TST_MINOR);
    /* A full read returns CNT, then it is 0; rw and w1c bits stay. */
    v = rd(&d, TST_REG_MIXED, 4, &st);
    CHECK_EQ(t, QME_FIELD_EX(v, TST_MIXED, CNT), 0x80);
    CHECK_EQ(t, VAL(&d, MIXED) & MIX(CNT), 0);
    CHECK_EQ(t, VAL(&d, MIXED) & (MIX(EN) | MIX(PEND)), MIX(EN) | MIX(PEND));
    /* rc bits are not writable: a write neither sets nor clears them */
    qme_reg_set(&d.blk, TST_R_MIXED, VAL(&d, MIXED) | MIX(CNT));
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_MIXED, 4, 0), QME_REG_OK);
    CHECK_EQ(t, VAL(&d, MIXED) & MIX(CNT), MIX(CNT));
}

/* A monitor's read: the value a guest would read, nothing consumed. */
static void test_peek(Tap *t)
{
    TestDev d;
    QmeRegStatus st;
    uint64_t mixed;

    dev_init(t, &d);
    CHECK_EQ(t, qme_reg_peek(&d.blk, &test_block_regs[TST_R_EVENTS]),
             0xa1b2c3d4);
    CHECK_EQ(t, VAL(&d, EVENTS), 0xa1b2c3d4);
    mixed = qme_reg_peek(&d.blk, &test_block_regs[TST_R_MIXED]);
    CHECK_EQ(t, mixed, rd(&d, TST_REG_MIXED, 4, &st));
    CHECK_EQ(t, QME_FIELD_EX(mixed, TST_MIXED, CNT), 0x80);
    /* the guest's read consumed CNT; the peek before it did not */
    CHECK_EQ(t, VAL(&d, MIXED) & MIX(CNT), 0);
    /* write-only: 0, as a guest read; the read hook computes the value */
    qme_regblock_write(&d.blk, TST_REG_DOORBELL, 4, 0x1234);
    CHECK_EQ(t, qme_reg_peek(&d.blk, &test_block_regs[TST_R_DOORBELL]), 0);
    d.counter = 41;
    CHECK_EQ(t, qme_reg_peek(&d.blk, &test_block_regs[TST_R_COUNTER]), 42);
}

static void test_field_reserved(Tap *t)
{
    TestDev d;
    QmeRegStatus st;

    dev_init(t, &d);
    /* Bits in no field read 0; writing them is reported, the rest applies */
    qme_reg_set(&d.blk, TST_R_MIXED, VAL(&d, MIXED) & ~MIX(EN));
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_MIXED, 4,
                                   (1u << 3) | MIX(EN)),
             QME_REG_RESERVED_BITS);
    CHECK_EQ(t, VAL(&d, MIXED) & ((1u << 3) | MIX(EN)), MIX(EN));
    CHECK_EQ(t, rd(&d, TST_REG_MIXED, 4, &st) & (1u << 3), 0);
}

/* A composed access applies each register's fields. */
static void test_field_composed(Tap *t)
{
    TestDev d;
    QmeRegStatus st;
    uint64_t v;

    dev_init(t, &d);
    d.nev = 0;
    v = rd(&d, TST_REG_MIXED, 8, &st);
    CHECK_EQ(t, st, QME_REG_WRITE_ONLY);     /* CMD is write-only */
    CHECK_EQ(t, v & 0xffffffff, test_block_regs[TST_R_MIXED].reset);
    CHECK_EQ(t, (v >> 32) & 0xffff, TST_DEVICE_ID);
    CHECK_EQ(t, VAL(&d, MIXED) & (MIX(EVT) | MIX(CNT)), 0);
    CHECK_EQ(t, qme_regblock_write(&d.blk, TST_REG_MIXED, 8,
                                   ((uint64_t)TST_CMD_RUN_MASK << 48) |
                                   MIX(GO)), QME_REG_READ_ONLY);
    CHECK_EQ(t, d.nev, 3);      /* MIXED pre and post, CMD post */
    CHECK_EQ(t, d.ev[2].b, TST_CMD_RUN_MASK);
    CHECK_EQ(t, VAL(&d, CMD), 0);
}

static int init_one(const QmeReg *regs, unsigned n, char *err, size_t len)
{
    QmeRegBlock blk;
    uint64_t values[4];

    memset(err, 0, len);
    return qme_regblock_init(&blk, regs, n, values, NULL, err, len);
}

#define REG(n, o, s) \
    { .name = n, .offset = o, .size = s, .access = QME_REG_RW }

static void expect_init_error(Tap *t, int line, const QmeReg *regs,
                              unsigned n, const char *words)
{
    char err[160];
    char msg[320];

    if (init_one(regs, n, err, sizeof(err)) != -1) {
        snprintf(msg, sizeof(msg), "init accepted a table that should "
                 "fail with '%s'", words);
        tap_fail(t, line, msg);
    } else if (!strstr(err, words)) {
        snprintf(msg, sizeof(msg), "error '%s' lacks '%s'", err, words);
        tap_fail(t, line, msg);
    }
}

static void test_init_errors(Tap *t)
{
    static const QmeReg unsorted[] = { REG("A", 4, 4), REG("B", 0, 4) };
    static const QmeReg overlap[] = { REG("A", 0, 8), REG("B", 4, 4) };
    static const QmeReg dup[] = { REG("A", 0, 4), REG("B", 0, 4) };
    static const QmeReg misaligned[] = { REG("A", 0, 1), REG("B", 2, 4) };
    static const QmeReg size3[] = { REG("A", 0, 3) };
    static const QmeReg size0[] = { REG("A", 0, 0) };
    static const QmeReg size16[] = { REG("A", 0, 16) };
    static const QmeReg reset_big[] = {
        { .name = "A", .size = 1, .reset = 0x100 },
    };
    static const QmeReg reset_rsvd[] = {
        { .name = "A", .size = 4, .reset = 0x80000001, .reserved = 0x80000000 },
    };
    static const QmeReg wr_rsvd[] = {
        { .name = "A", .size = 4, .writable = 0xff, .reserved = 0x80 },
    };
    static const QmeReg wr_big[] = {
        { .name = "A", .size = 2, .writable = 0x1ffff },
    };
    static const QmeReg bad_access[] = {
        { .name = "A", .size = 4, .access = (QmeRegAccess)42 },
    };
    static const QmeReg bad_flags[] = {
        { .name = "A", .size = 4, .flags = 0x80 },
    };
    static const QmeRegField wide_field[] = {
        { "F", 30, 4, QME_REG_RW, "" },
    };
    static const QmeReg bad_field[] = {
        { .name = "A", .size = 4, .fields = wide_field, .nfields = 1 },
    };
    static const QmeRegField odd_field[] = {
        { "G", 0, 4, (QmeRegAccess)42, "" },
    };
    static const QmeReg bad_field_access[] = {
        { .name = "A", .size = 4, .fields = odd_field, .nfields = 1 },
    };
    static const QmeReg pulse_ro[] = {
        { .name = "A", .size = 4, .writable = 0x1, .pulse_mask = 0x2 },
    };
    static const QmeReg w1c_w1s[] = {
        { .name = "A", .size = 4, .writable = 0x3, .w1c_mask = 0x1,
          .w1s_mask = 0x1 },
    };
    static const QmeReg rc_writable[] = {
        { .name = "A", .size = 4, .writable = 0x3, .rc_mask = 0x1 },
    };
    static const QmeReg ok[] = { REG("A", 0, 1), REG("B", 1, 1),
                                 REG("C", 2, 2), REG("D", 8, 8) };
    QmeRegBlock blk;
    uint64_t value[1];
    char err[160];

    expect_init_error(t, __LINE__, unsorted, 2, "register B (#1)");
    expect_init_error(t, __LINE__, unsorted, 2, "not sorted");
    expect_init_error(t, __LINE__, overlap, 2, "overlaps register A");
    expect_init_error(t, __LINE__, dup, 2, "overlaps register A");
    expect_init_error(t, __LINE__, misaligned, 2, "register B");
    expect_init_error(t, __LINE__, misaligned, 2, "not aligned");
    expect_init_error(t, __LINE__, size3, 1, "size 3");
    expect_init_error(t, __LINE__, size0, 1, "size 0");
    expect_init_error(t, __LINE__, size16, 1, "size 16");
    expect_init_error(t, __LINE__, reset_big, 1, "reset value does not fit");
    expect_init_error(t, __LINE__, reset_rsvd, 1, "reset value sets reserved");
    expect_init_error(t, __LINE__, wr_rsvd, 1, "writable and reserved");
    expect_init_error(t, __LINE__, wr_big, 1, "wider than 2 bytes");
    expect_init_error(t, __LINE__, bad_access, 1, "access type 42");
    expect_init_error(t, __LINE__, bad_field, 1, "field F");
    expect_init_error(t, __LINE__, bad_flags, 1, "unknown flags 0x80");
    expect_init_error(t, __LINE__, bad_field_access, 1,
                      "field G has unknown access type 42");
    expect_init_error(t, __LINE__, pulse_ro, 1, "pulse bit is not writable");
    expect_init_error(t, __LINE__, w1c_w1s, 1, "more than one");
    expect_init_error(t, __LINE__, rc_writable, 1, "rc bit is writable");
    errno = 0;
    init_one(rc_writable, 1, err, sizeof(err));
    CHECK_EQ(t, errno, EINVAL);

    CHECK_EQ(t, init_one(ok, 4, err, sizeof(err)), 0);
    CHECK(t, err[0] == '\0');
    /* NULL and tiny error buffers are fine */
    CHECK_EQ(t, qme_regblock_init(&blk, size3, 1, value, NULL,
                                  NULL, 0), -1);
    CHECK_EQ(t, qme_regblock_init(&blk, size3, 1, value, NULL,
                                  err, 4), -1);
    CHECK_EQ(t, strlen(err), 3);
    CHECK_EQ(t, qme_regblock_init(&blk, ok, 4, NULL, NULL, err, sizeof(err)),
             -1);
}

static void test_empty_block(Tap *t)
{
    QmeRegBlock blk;
    uint64_t v = 1;

    CHECK_EQ(t, qme_regblock_init(&blk, NULL, 0, NULL, NULL, NULL, 0), 0);
    qme_regblock_reset(&blk);
    CHECK(t, qme_regblock_find(&blk, 0) == NULL);
    CHECK_EQ(t, qme_regblock_read(&blk, 0, 4, &v), QME_REG_UNMAPPED);
    CHECK_EQ(t, v, 0);
    CHECK_EQ(t, qme_regblock_write(&blk, 0, 4, 1), QME_REG_UNMAPPED);
}

static void test_strings(Tap *t)
{
    CHECK(t, strcmp(qme_reg_access_str(QME_REG_W1C), "w1c") == 0);
    CHECK(t, strcmp(qme_reg_access_str(QME_REG_RC), "rc") == 0);
    CHECK(t, strcmp(qme_reg_access_str(QME_REG_PULSE), "pulse") == 0);
    CHECK(t, strcmp(qme_reg_status_str(QME_REG_OK), "ok") == 0);
    CHECK(t, strstr(qme_reg_status_str(QME_REG_UNMAPPED), "unmapped"));
    CHECK(t, strstr(qme_reg_status_str(QME_REG_READ_ONLY), "read-only"));
    CHECK(t, strstr(qme_reg_status_str(QME_REG_WRITE_ONLY), "write-only"));
    CHECK(t, strstr(qme_reg_status_str(QME_REG_RESERVED_BITS), "reserved"));
    CHECK(t, strstr(qme_reg_status_str(QME_REG_BAD_SIZE), "size"));
    CHECK(t, qme_reg_status_str((QmeRegStatus)99) != NULL);
}

/*
 * --trace: run the accesses read from stdin ("r ADDR SIZE", "w ADDR SIZE
 * VALUE", hex) on the fixture and print, per access, what the guest got
 * (the value, "-" for a refused read, "w" for a write) and every register
 * value after it.  test-sockdev-python.py runs the same accesses on the
 * Python RegisterDevice and compares.
 */
static int trace(void)
{
    TestDev d;
    char op;
    uint64_t addr, value = 0;
    unsigned size, i;
    Tap t = { 0 };

    dev_init(&t, &d);
    if (t.test_failures) {
        return 1;
    }
    while (scanf(" %c %" SCNx64 " %x", &op, &addr, &size) == 3) {
        if (op == 'w' && scanf(" %" SCNx64, &value) != 1) {
            return 1;
        }
        d.nev = 0;
        if (op == 'w') {
            qme_regblock_write(&d.blk, addr, size, value);
            printf("w");
        } else if (qme_regblock_read(&d.blk, addr, size, &value) ==
                   QME_REG_OK) {
            printf("%" PRIx64, value);
        } else {
            printf("-");
        }
        for (i = 0; i < TST_NUM_REGS; i++) {
            printf(" %" PRIx64, d.values[i]);
        }
        printf("\n");
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*fn)(Tap *t);
    } tests[] = {
        { "generated table", test_generated_table },
        { "init and reset", test_init_and_reset },
        { "find", test_find },
        { "find on a large table", test_find_large },
        { "rw", test_rw },
        { "writable mask", test_writable_mask },
        { "reserved bits", test_reserved },
        { "ro", test_ro },
        { "wo", test_wo },
        { "w1c", test_w1c },
        { "w1s", test_w1s },
        { "rc", test_rc },
        { "rc partial read", test_rc_partial },
        { "sub-word read", test_subword_read },
        { "sub-word write", test_subword_write },
        { "no partial", test_no_partial },
        { "bad size, unaligned, crossing", test_bad_size },
        { "unmapped", test_unmapped },
        { "pre_write hook", test_pre_write_hook },
        { "post_write hook", test_post_write_hook },
        { "read hook", test_read_hook },
        { "composed read of two registers", test_wide_read_two },
        { "composed read of four registers", test_wide_read_four },
        { "composed write of two registers", test_wide_write_two },
        { "composed write of four registers", test_wide_write_four },
        { "refused composed accesses", test_wide_refused },
        { "field reset, constants", test_field_reset },
        { "rw and ro fields", test_field_rw_ro },
        { "w1c and w1s fields", test_field_w1c_w1s },
        { "wo and pulse fields", test_field_wo_pulse },
        { "rc fields", test_field_rc },
        { "peek", test_peek },
        { "bits in no field are reserved", test_field_reserved },
        { "composed access over fields", test_field_composed },
        { "init validation errors", test_init_errors },
        { "empty block", test_empty_block },
        { "status and access strings", test_strings },
    };
    Tap t = { 0 };
    unsigned i, n = sizeof(tests) / sizeof(tests[0]);

    if (argc > 1 && !strcmp(argv[1], "--trace")) {
        return trace();
    }
    printf("1..%u\n", n);
    for (i = 0; i < n; i++) {
        tap_run(&t, tests[i].name, tests[i].fn);
    }
    return t.failed ? 1 : 0;
}
