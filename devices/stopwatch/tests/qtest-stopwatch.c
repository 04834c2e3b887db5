/*
 * qtest of the stopwatch device on -M virt (stock QEMU, module preloaded):
 * registers, the pass-through page against the virtual clock, the alarm
 * interrupt at the GIC, reset, migration to a file and bad properties.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define _GNU_SOURCE     /* memmem */
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "qme-qtest.h"
#include "stopwatch-regs.h"

#define BASE        0x0a004000ULL       /* the defaults: free room on virt */
#define SHM         (BASE + STOPWATCH_SHM_OFFSET)
#define SPI         STOPWATCH_DEFAULT_SPI
#define MS          1000000LL

#define REG(r)      (BASE + STOPWATCH_REG_##r)
#define PAGE(f)     (SHM + STOPWATCH_SHM_##f)

typedef struct Fixture {
    QmeQTest *qt;
} Fixture;

static void setup(Fixture *f, gconstpointer data)
{
    f->qt = qme_qtest_start("-device stopwatch%s", data ? (char *)data : "");
    g_assert_nonnull(f->qt);
}

static void teardown(Fixture *f, gconstpointer data)
{
    qme_qtest_quit(f->qt);
}

static void ctrl(QmeQTest *qt, uint32_t cmd)
{
    qme_qtest_writel(qt, REG(CTRL), cmd);
}

static uint64_t page_elapsed(QmeQTest *qt)
{
    uint32_t seq = qme_qtest_readl(qt, PAGE(SEQ));

    /* qtest stops the clock between commands: no update can be running. */
    g_assert_cmpuint(seq & 1, ==, 0);
    return qme_qtest_readq(qt, PAGE(ELAPSED));
}

static void test_registers(Fixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt;

    if (!qt) {
        return;
    }
    g_assert_cmphex(qme_qtest_readl(qt, REG(ID)), ==, STOPWATCH_MAGIC);
    g_assert_cmphex(qme_qtest_readl(qt, REG(VERSION)), ==, STOPWATCH_VERSION);
    g_assert_cmphex(qme_qtest_readl(qt, REG(STATUS)), ==, 0);
    g_assert_cmpuint(qme_qtest_readq(qt, REG(ELAPSED)), ==, 0);
    g_assert_cmpuint(qme_qtest_readq(qt, REG(PERIOD)), ==,
                     STOPWATCH_DEFAULT_PERIOD_NS);
    g_assert_cmpuint(qme_qtest_readq(qt, PAGE(PERIOD)), ==,
                     STOPWATCH_DEFAULT_PERIOD_NS);

    /* Read-only registers keep their value, write-only ones read 0. */
    qme_qtest_writel(qt, REG(ID), 0);
    g_assert_cmphex(qme_qtest_readl(qt, REG(ID)), ==, STOPWATCH_MAGIC);
    qme_qtest_writeq(qt, REG(ELAPSED), 12345);
    g_assert_cmpuint(qme_qtest_readq(qt, REG(ELAPSED)), ==, 0);
    g_assert_cmphex(qme_qtest_readl(qt, REG(CTRL)), ==, 0);
    /* Unmapped offsets: read 0, writes dropped, QEMU still alive. */
    qme_qtest_writel(qt, BASE + 0x800, 0xffffffff);
    g_assert_cmphex(qme_qtest_readl(qt, BASE + 0x800), ==, 0);

    qme_qtest_writeq(qt, REG(ALARM), 0x123456789abULL);
    g_assert_cmphex(qme_qtest_readq(qt, REG(ALARM)), ==, 0x123456789abULL);
    g_assert_cmphex(qme_qtest_readl(qt, REG(ALARM) + 4), ==, 0x123);
    qme_qtest_writel(qt, REG(INT_ENABLE), 0xffffffff);
    g_assert_cmphex(qme_qtest_readl(qt, REG(INT_ENABLE)), ==, 1);

    ctrl(qt, STOPWATCH_CTRL_START_MASK);
    g_assert_cmphex(qme_qtest_readl(qt, REG(STATUS)), ==,
                    STOPWATCH_STATUS_RUNNING_MASK);
    g_assert_cmphex(qme_qtest_readl(qt, PAGE(FLAGS)), ==, 1);
    ctrl(qt, STOPWATCH_CTRL_STOP_MASK);
    g_assert_cmphex(qme_qtest_readl(qt, REG(STATUS)), ==, 0);
    g_assert_cmphex(qme_qtest_readl(qt, PAGE(FLAGS)), ==, 0);
    /* STOP wins when both are written. */
    ctrl(qt, STOPWATCH_CTRL_START_MASK | STOPWATCH_CTRL_STOP_MASK);
    g_assert_cmphex(qme_qtest_readl(qt, REG(STATUS)), ==, 0);

    /* System reset brings everything back. */
    ctrl(qt, STOPWATCH_CTRL_START_MASK);
    qme_qtest_clock_step(qt, 3 * MS);
    g_assert_true(qme_qtest_system_reset(qt));
    g_assert_cmphex(qme_qtest_readl(qt, REG(STATUS)), ==, 0);
    g_assert_cmpuint(qme_qtest_readq(qt, REG(ELAPSED)), ==, 0);
    g_assert_cmpuint(page_elapsed(qt), ==, 0);
    g_assert_cmphex(qme_qtest_readq(qt, REG(ALARM)), ==, 0);
    g_assert_cmphex(qme_qtest_readl(qt, REG(INT_ENABLE)), ==, 0);
}

/*
 * 8-byte accesses of two 32-bit registers (a guest's readq(), the
 * monitor's "xp /2wx"): composed from both, each by its own rules and
 * hooks, never a "bad access size".
 */
static void test_wide_access(Fixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt;
    uint32_t w[2] = { 0xdead, 0xdead };

    if (!qt) {
        return;
    }
    g_assert_cmphex(qme_qtest_readq(qt, REG(ID)), ==,
                    ((uint64_t)STOPWATCH_VERSION << 32) | STOPWATCH_MAGIC);
    g_assert_cmpuint(qme_qtest_xp_words(qt, REG(ID), 2, w), ==, 2);
    g_assert_cmphex(w[0], ==, STOPWATCH_MAGIC);
    g_assert_cmphex(w[1], ==, STOPWATCH_VERSION);

    /* CTRL (wo, command hook) and STATUS (ro): the write is split */
    qme_qtest_writeq(qt, REG(CTRL), 0xffffffff00000000ULL |
                     STOPWATCH_CTRL_START_MASK);
    g_assert_cmphex(qme_qtest_readl(qt, REG(STATUS)), ==,
                    STOPWATCH_STATUS_RUNNING_MASK);
    g_assert_nonnull(strstr(qme_qtest_stderr(qt),
                            "(CTRL..STATUS, value 0xffffffff00000001): "
                            "write to read-only register"));
    /* and the read: CTRL's half reads 0 (reported), STATUS is read */
    g_assert_cmphex(qme_qtest_readq(qt, REG(CTRL)), ==,
                    (uint64_t)STOPWATCH_STATUS_RUNNING_MASK << 32);
    g_assert_nonnull(strstr(qme_qtest_stderr(qt),
                            "(CTRL..STATUS, value 0x100000000): "
                            "read of write-only register"));

    /* INT_ENABLE (rw) and INT_STATUS (w1c), both with hooks */
    qme_qtest_writeq(qt, REG(INT_ENABLE), 0xffffffff00000001ULL);
    g_assert_cmphex(qme_qtest_readq(qt, REG(INT_ENABLE)), ==, 1);
    g_assert_cmpuint(qme_qtest_xp_words(qt, REG(INT_ENABLE), 2, w), ==, 2);
    g_assert_cmphex(w[0], ==, 1);
    g_assert_cmphex(w[1], ==, 0);
    g_assert_null(strstr(qme_qtest_stderr(qt), "bad access size"));
}

static void test_page_follows_clock(Fixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt;
    uint64_t e, frozen;
    uint32_t seq;

    if (!qt) {
        return;
    }
    ctrl(qt, STOPWATCH_CTRL_START_MASK);
    g_assert_cmpuint(page_elapsed(qt), ==, 0);

    /* The page moves by whole update periods, the register exactly. */
    qme_qtest_clock_step(qt, 10 * MS + MS / 2);
    g_assert_cmpuint(qme_qtest_readq(qt, REG(ELAPSED)), ==, 10 * MS + MS / 2);
    e = page_elapsed(qt);
    g_assert_cmpuint(e, ==, 10 * MS);

    seq = qme_qtest_readl(qt, PAGE(SEQ));
    qme_qtest_clock_step(qt, 5 * MS);
    g_assert_cmpuint(page_elapsed(qt), >, e);
    g_assert_cmpuint(qme_qtest_readl(qt, PAGE(SEQ)), >, seq);
    g_assert_cmpuint(qme_qtest_readq(qt, REG(ELAPSED)) - page_elapsed(qt),
                     <, STOPWATCH_DEFAULT_PERIOD_NS);

    /* Stopped: the page gets the exact value, then nothing moves. */
    ctrl(qt, STOPWATCH_CTRL_STOP_MASK);
    frozen = qme_qtest_readq(qt, REG(ELAPSED));
    g_assert_cmpuint(frozen, ==, 15 * MS + MS / 2);
    g_assert_cmpuint(page_elapsed(qt), ==, frozen);
    seq = qme_qtest_readl(qt, PAGE(SEQ));
    qme_qtest_clock_step(qt, 50 * MS);
    g_assert_cmpuint(page_elapsed(qt), ==, frozen);
    g_assert_cmpuint(qme_qtest_readq(qt, REG(ELAPSED)), ==, frozen);
    g_assert_cmpuint(qme_qtest_readl(qt, PAGE(SEQ)), ==, seq);

    /* Restart continues from the frozen value. */
    ctrl(qt, STOPWATCH_CTRL_START_MASK);
    qme_qtest_clock_step(qt, 2 * MS);
    g_assert_cmpuint(qme_qtest_readq(qt, REG(ELAPSED)), ==, frozen + 2 * MS);

    /* Reset while running: back to 0 and still counting. */
    ctrl(qt, STOPWATCH_CTRL_RESET_MASK);
    g_assert_cmpuint(page_elapsed(qt), ==, 0);
    qme_qtest_clock_step(qt, 3 * MS);
    g_assert_cmpuint(qme_qtest_readq(qt, REG(ELAPSED)), ==, 3 * MS);
    g_assert_cmphex(qme_qtest_readl(qt, REG(STATUS)), ==, 1);
}

static void test_period_property(Fixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt;

    if (!qt) {
        return;
    }
    g_assert_cmpuint(qme_qtest_readq(qt, REG(PERIOD)), ==, 100000);
    ctrl(qt, STOPWATCH_CTRL_START_MASK);
    qme_qtest_clock_step(qt, 250000);
    g_assert_cmpuint(page_elapsed(qt), ==, 200000);
}

/* ALARM is 64 bits: one beyond QEMU's clock range must not fire at once. */
static void test_alarm_far(Fixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt;

    if (!qt) {
        return;
    }
    qme_qtest_writeq(qt, REG(ALARM), 0x8000000000000000ULL);
    qme_qtest_writel(qt, REG(INT_ENABLE), STOPWATCH_INT_ENABLE_ALARM_MASK);
    ctrl(qt, STOPWATCH_CTRL_START_MASK);
    qme_qtest_clock_step(qt, 1000);
    g_assert_cmphex(qme_qtest_readl(qt, REG(INT_STATUS)), ==, 0);
    qme_qtest_writeq(qt, REG(ALARM), UINT64_MAX);
    qme_qtest_clock_step(qt, 10 * MS);
    g_assert_cmphex(qme_qtest_readl(qt, REG(INT_STATUS)), ==, 0);
}

static void test_alarm_irq(Fixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt;

    if (!qt) {
        return;
    }
    if (!qme_qtest_intercept_gic(qt)) {
        return;
    }
    qme_qtest_writeq(qt, REG(ALARM), 5 * MS);
    qme_qtest_writel(qt, REG(INT_ENABLE), STOPWATCH_INT_ENABLE_ALARM_MASK);
    ctrl(qt, STOPWATCH_CTRL_START_MASK);

    qme_qtest_clock_step(qt, 5 * MS - 1);
    g_assert_false(qme_qtest_irq_level(qt, SPI));
    g_assert_cmphex(qme_qtest_readl(qt, REG(INT_STATUS)), ==, 0);
    qme_qtest_clock_step(qt, 1);
    g_assert_true(qme_qtest_irq_level(qt, SPI));
    g_assert_cmpuint(qme_qtest_irq_raise_count(qt, SPI), ==, 1);
    g_assert_cmphex(qme_qtest_readl(qt, REG(INT_STATUS)), ==, 1);

    /* Acknowledge: the line drops and the alarm does not fire again. */
    qme_qtest_writel(qt, REG(INT_STATUS), STOPWATCH_INT_STATUS_ALARM_MASK);
    g_assert_false(qme_qtest_irq_level(qt, SPI));
    qme_qtest_clock_step(qt, 20 * MS);
    g_assert_cmpuint(qme_qtest_irq_raise_count(qt, SPI), ==, 1);

    /* A pending alarm with the enable off keeps the line low. */
    ctrl(qt, STOPWATCH_CTRL_RESET_MASK);
    qme_qtest_writel(qt, REG(INT_ENABLE), 0);
    qme_qtest_clock_step(qt, 6 * MS);
    g_assert_cmphex(qme_qtest_readl(qt, REG(INT_STATUS)), ==, 1);
    g_assert_false(qme_qtest_irq_level(qt, SPI));
    qme_qtest_writel(qt, REG(INT_ENABLE), 1);
    g_assert_true(qme_qtest_irq_level(qt, SPI));
    qme_qtest_writel(qt, REG(INT_STATUS), 1);

    /* Stopped time does not count towards the alarm. */
    ctrl(qt, STOPWATCH_CTRL_RESET_MASK | STOPWATCH_CTRL_STOP_MASK);
    qme_qtest_irq_clear_counts(qt);
    qme_qtest_clock_step(qt, 100 * MS);
    g_assert_cmpuint(qme_qtest_irq_raise_count(qt, SPI), ==, 0);
    ctrl(qt, STOPWATCH_CTRL_START_MASK);
    qme_qtest_clock_step(qt, 5 * MS);
    g_assert_cmpuint(qme_qtest_irq_raise_count(qt, SPI), ==, 1);
}

static void test_migration(Fixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt, *dst;
    g_autofree char *dir = NULL;
    g_autofree char *file = NULL;
    uint64_t e;

    if (!qt) {
        return;
    }
    dir = g_dir_make_tmp("qme-stopwatch-mig-XXXXXX", NULL);
    file = g_build_filename(dir, "stream", NULL);

    qme_qtest_writeq(qt, REG(ALARM), 30 * MS);
    qme_qtest_writel(qt, REG(INT_ENABLE), 1);
    ctrl(qt, STOPWATCH_CTRL_START_MASK);
    qme_qtest_clock_step(qt, 17 * MS + 123);
    e = qme_qtest_readq(qt, REG(ELAPSED));
    g_assert_cmpuint(e, ==, 17 * MS + 123);
    g_assert_true(qme_qtest_migrate_to_file(qt, file, 30000));

    dst = qme_qtest_start_incoming(file, "-device stopwatch");
    g_assert_nonnull(dst);
    if (dst && qme_qtest_ok(dst)) {
        /* Same elapsed time and state, whatever the new clock reads. */
        g_assert_cmpuint(qme_qtest_readq(dst, REG(ELAPSED)), ==, e);
        g_assert_cmpuint(page_elapsed(dst), ==, e);
        g_assert_cmphex(qme_qtest_readl(dst, REG(STATUS)), ==, 1);
        g_assert_cmphex(qme_qtest_readq(dst, REG(ALARM)), ==, 30 * MS);
        qme_qtest_clock_step(dst, 2 * MS);
        g_assert_cmpuint(qme_qtest_readq(dst, REG(ELAPSED)), ==, e + 2 * MS);
        /* The alarm is still armed, relative to the elapsed time. */
        g_assert_true(qme_qtest_intercept_gic(dst));
        qme_qtest_clock_step(dst, 30 * MS - (e + 2 * MS) - 1);
        g_assert_false(qme_qtest_irq_level(dst, SPI));
        qme_qtest_clock_step(dst, 1);
        g_assert_true(qme_qtest_irq_level(dst, SPI));
    }
    qme_qtest_quit(dst);
    g_unlink(file);
    g_rmdir(dir);
}

static void test_migration_stopped(Fixture *f, gconstpointer data)
{
    QmeQTest *qt = f->qt, *dst;
    g_autofree char *dir = g_dir_make_tmp("qme-stopwatch-mig-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "stream", NULL);

    if (!qt) {
        return;
    }
    ctrl(qt, STOPWATCH_CTRL_START_MASK);
    qme_qtest_clock_step(qt, 7 * MS);
    ctrl(qt, STOPWATCH_CTRL_STOP_MASK);
    qme_qtest_clock_step(qt, 7 * MS);
    g_assert_true(qme_qtest_migrate_to_file(qt, file, 30000));

    dst = qme_qtest_start_incoming(file, "-device stopwatch");
    g_assert_nonnull(dst);
    if (dst && qme_qtest_ok(dst)) {
        g_assert_cmphex(qme_qtest_readl(dst, REG(STATUS)), ==, 0);
        qme_qtest_clock_step(dst, 5 * MS);
        g_assert_cmpuint(qme_qtest_readq(dst, REG(ELAPSED)), ==, 7 * MS);
        g_assert_cmpuint(page_elapsed(dst), ==, 7 * MS);
    }
    qme_qtest_quit(dst);
    g_unlink(file);
    g_rmdir(dir);
}

typedef struct BadCase {
    const char *args;
    const char *expect;     /* QEMU's last line, after "PROGRAM: OPTION: " */
} BadCase;

#define VIRT_ROOM " (virt has room at 0x0a004000-0x0bffffff)\n"

static const BadCase bad_cases[] = {
    { "-device stopwatch,addr=0x09000000",
      "stopwatch: property 'addr' (0x9000000+0x1000) overlaps 'pl011' at "
      "0x9000000-0x9000fff" VIRT_ROOM },
    { "-device stopwatch,shm-addr=0x0a003000",
      "stopwatch: property 'shm-addr' (0xa003000+0x1000) overlaps "
      "'virtio-mmio' at 0xa003000-0xa0031ff" VIRT_ROOM },
    { "-device stopwatch -device stopwatch",
      "stopwatch: property 'addr' (0xa004000+0x1000) overlaps 'stopwatch' "
      "at 0xa004000-0xa004fff" VIRT_ROOM },
    { "-device stopwatch,addr=0x0a006000 -device stopwatch,shm-addr=0xa006000",
      "stopwatch: property 'shm-addr' (0xa006000+0x1000) overlaps "
      "'stopwatch' at 0xa006000-0xa006fff" VIRT_ROOM },
    { "-device stopwatch,shm-addr=0x0a004000",
      "stopwatch: properties 'addr' (0xa004000+0x1000) and 'shm-addr' "
      "(0xa004000+0x1000) overlap\n" },
    { "-device stopwatch,spi=256",
      "stopwatch: property 'spi' is 256, the GIC has SPIs 0-255\n" },
    { "-device stopwatch,addr=0x0a004100",
      "stopwatch: property 'addr' (0xa004100) must be 4 KiB aligned\n" },
    { "-device stopwatch,shm-addr=0x0a006800",
      "stopwatch: property 'shm-addr' (0xa006800) must be 4 KiB "
      "aligned\n" },
    { "-device stopwatch,addr=0xfffffffffffff000,shm-addr=0x0a006000",
      "stopwatch: property 'addr' (0xfffffffffffff000+0x1000) runs past "
      "the end of the address space\n" },
    { "-device stopwatch,period-ns=1",
      "stopwatch: property 'period-ns' is 1, the minimum is 10000\n" },
    { "-M none -device stopwatch",
      "stopwatch: machine 'none-machine' has no device tree to describe "
      "the device in (use -M virt)\n" },
};

static void test_bad_properties(void)
{
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *out = NULL;
        int status = qme_qemu_run(bad_cases[i].args, 30000, &out);

        g_test_message("%s -> %s", bad_cases[i].args, out);
        g_assert_cmpint(status, ==, 1);
        g_assert_true(g_str_has_suffix(out, bad_cases[i].expect));
    }
}

/*
 * QEMU writes the DTB atomically (a temporary file renamed over the
 * target), so it must only ever be given a path in the test's own folder:
 * a system path such as /dev/null would be replaced by a regular file.
 */
static void test_good_placement(void)
{
    g_autofree char *dir = g_dir_make_tmp("qme-stopwatch-dtb-XXXXXX", NULL);
    g_autofree char *dtb = g_build_filename(dir, "virt.dtb", NULL);
    g_autofree char *args = NULL;
    g_autofree char *out = NULL;
    g_autofree char *blob = NULL;
    gsize len = 0;

    /* The last free SPI, another free spot, and a GICv3. */
    args = g_strdup_printf("-M virt,gic-version=3,dumpdtb=%s "
                           "-device stopwatch,addr=0x0b000000,spi=73 "
                           "-device stopwatch,spi=72 -S", dtb);
    g_assert_cmpint(qme_qemu_run(args, 30000, &out), ==, 0);
    g_assert_true(g_file_get_contents(dtb, &blob, &len, NULL));
    g_assert_nonnull(memmem(blob, len, "stopwatch@b000000",
                            sizeof("stopwatch@b000000")));
    g_assert_nonnull(memmem(blob, len, "stopwatch@a004000",
                            sizeof("stopwatch@a004000")));
    g_unlink(dtb);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn, args) \
    g_test_add(path, Fixture, args, setup, fn, teardown)
    ADD("/stopwatch/registers", test_registers, NULL);
    ADD("/stopwatch/wide-access", test_wide_access, " -d guest_errors");
    ADD("/stopwatch/page-follows-clock", test_page_follows_clock, NULL);
    ADD("/stopwatch/period-property", test_period_property,
        ",period-ns=100000");
    ADD("/stopwatch/alarm-irq", test_alarm_irq, NULL);
    ADD("/stopwatch/alarm-far", test_alarm_far, NULL);
    ADD("/stopwatch/migration-running", test_migration, NULL);
    ADD("/stopwatch/migration-stopped", test_migration_stopped, NULL);
    g_test_add_func("/stopwatch/bad-properties", test_bad_properties);
    g_test_add_func("/stopwatch/good-placement", test_good_placement);
    return g_test_run();
}
