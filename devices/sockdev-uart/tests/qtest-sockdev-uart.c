/*
 * Tests of sockdev-uart, the seed's UART modelled inside QEMU from the
 * register table and hooks (uart-model.c) the external sockdev-uart-server
 * runs behind mmio-sockdev.
 *
 *  - the firmware prints the same bytes through -device sockdev-uart into
 *    a chardev as through mmio-sockdev into the server's stdout (TCG);
 *  - registers through the qtest harness: reset values, write-only and
 *    read-only rules (logged as guest errors), CTRL.ENABLE gating the
 *    output, system reset, migration;
 *  - the device-tree node, properties and their errors.
 *
 * Usage: qtest-sockdev-uart [--tap]  (env: QME_QEMU, QME_LOADER,
 * QME_MODULE_PATH, and QME_BUILD_ROOT: the build tree with the server and,
 * when the cross compiler was there, the firmware).
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define _GNU_SOURCE     /* memmem */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "qme-qtest.h"
#include "sockdev_uart-regs.h"

#define BASE        0x0b000000ULL
#define HELLO       "Hello from MMIO sockdev\n"
#define RUN_MS      30000

typedef struct Fixture {
    char *dir;
    char *out;          /* the chardev's file */
    QmeQTest *qt;
} Fixture;

static char *slurp(const char *path)
{
    char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return g_strdup("");
    }
    return text;
}

static void fixture_dir(Fixture *f)
{
    f->dir = g_dir_make_tmp("qme-sdu-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->out = g_build_filename(f->dir, "out.txt", NULL);
}

static void setup(Fixture *f, gconstpointer data)
{
    fixture_dir(f);
    f->qt = qme_qtest_start("-d guest_errors -chardev file,id=u,path=%s "
                            "-device sockdev-uart,chardev=u", f->out);
}

static void teardown(Fixture *f, gconstpointer data)
{
    g_autoptr(GDir) d = NULL;
    const char *name;

    qme_qtest_quit(f->qt);
    d = g_dir_open(f->dir, 0, NULL);
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(f->dir, name, NULL);

        g_unlink(p);
    }
    g_rmdir(f->dir);
    g_free(f->out);
    g_free(f->dir);
}

static uint32_t rd(QmeQTest *qt, uint64_t off)
{
    return qme_qtest_readl(qt, BASE + off);
}

static void wr(QmeQTest *qt, uint64_t off, uint32_t v)
{
    qme_qtest_writel(qt, BASE + off, v);
}

static void assert_output(Fixture *f, const char *want)
{
    g_autofree char *got = slurp(f->out);

    g_assert_cmpstr(got, ==, want);
}

/* Registers */

static void test_reset_values(Fixture *f, gconstpointer data)
{
    if (!qme_qtest_ok(f->qt)) {
        g_test_fail();
        return;
    }
    g_assert_cmphex(rd(f->qt, SDUART_REG_STATUS), ==,
                    SDUART_STATUS_TXREADY_MASK);
    g_assert_cmphex(rd(f->qt, SDUART_REG_CTRL), ==, SDUART_CTRL_ENABLE_MASK);
    /* Write-only TXDATA reads 0; past the registers: 0 (both logged). */
    g_assert_cmphex(rd(f->qt, SDUART_REG_TXDATA), ==, 0);
    g_assert_cmphex(rd(f->qt, SDUART_REGS_SPAN), ==, 0);
    g_assert_cmphex(rd(f->qt, 0xffc), ==, 0);
    /* Read-only STATUS keeps its value. */
    wr(f->qt, SDUART_REG_STATUS, 0);
    g_assert_cmphex(rd(f->qt, SDUART_REG_STATUS), ==, 1);
    /* CTRL holds ENABLE only. */
    wr(f->qt, SDUART_REG_CTRL, 0xffffffff);
    g_assert_cmphex(rd(f->qt, SDUART_REG_CTRL), ==, 1);
    g_assert_nonnull(strstr(qme_qtest_stderr(f->qt),
                            "sockdev-uart: read of 4 byte(s) at 0x0 "
                            "(TXDATA"));
    g_assert_nonnull(strstr(qme_qtest_stderr(f->qt),
                            "sockdev-uart: write of 4 byte(s) at 0x4 "
                            "(STATUS"));
    g_assert_nonnull(strstr(qme_qtest_stderr(f->qt), "(unmapped"));
    assert_output(f, "");
}

/*
 * 8-byte accesses (a guest's readq(), the monitor's "xp /2wx"): TXDATA
 * and STATUS are composed, each by its own rule; CTRL and the hole after
 * it are refused as a whole.
 */
static void test_wide_access(Fixture *f, gconstpointer data)
{
    uint32_t w[2] = { 0xdead, 0xdead };

    if (!qme_qtest_ok(f->qt)) {
        g_test_fail();
        return;
    }
    /* TXDATA (wo) reads 0, reported; STATUS is read */
    g_assert_cmphex(qme_qtest_readq(f->qt, BASE + SDUART_REG_TXDATA), ==,
                    (uint64_t)SDUART_STATUS_TXREADY_MASK << 32);
    g_assert_nonnull(strstr(qme_qtest_stderr(f->qt),
                            "sockdev-uart: read of 8 byte(s) at 0x0 "
                            "(TXDATA..STATUS, value 0x100000000): "
                            "read of write-only register"));
    g_assert_cmpuint(qme_qtest_xp_words(f->qt, BASE, 2, w), ==, 2);
    g_assert_cmphex(w[0], ==, 0);
    g_assert_cmphex(w[1], ==, SDUART_STATUS_TXREADY_MASK);
    /* the write is split: TXDATA sends, STATUS (ro) drops its half */
    qme_qtest_writeq(f->qt, BASE + SDUART_REG_TXDATA,
                     0xffffffff00000000ULL | 'W');
    g_assert_cmphex(rd(f->qt, SDUART_REG_STATUS), ==,
                    SDUART_STATUS_TXREADY_MASK);
    g_assert_null(strstr(qme_qtest_stderr(f->qt), "bad access size"));

    /* CTRL and the hole after it: reads 0, the write is dropped */
    g_assert_cmphex(qme_qtest_readq(f->qt, BASE + SDUART_REG_CTRL), ==, 0);
    qme_qtest_writeq(f->qt, BASE + SDUART_REG_CTRL, 0);
    g_assert_cmphex(rd(f->qt, SDUART_REG_CTRL), ==, SDUART_CTRL_ENABLE_MASK);
    g_assert_nonnull(strstr(qme_qtest_stderr(f->qt),
                            "sockdev-uart: write of 8 byte(s) at 0x8 "
                            "(CTRL..unmapped, value 0x0): bad access size"));
    assert_output(f, "W");
}

static void test_enable_gates_output(Fixture *f, gconstpointer data)
{
    if (!qme_qtest_ok(f->qt)) {
        g_test_fail();
        return;
    }
    wr(f->qt, SDUART_REG_TXDATA, 'A');
    wr(f->qt, SDUART_REG_TXDATA, 0x100 | 'B');   /* CHAR is bits 7:0 */
    assert_output(f, "AB");
    wr(f->qt, SDUART_REG_CTRL, 0);
    g_assert_cmphex(rd(f->qt, SDUART_REG_CTRL), ==, 0);
    wr(f->qt, SDUART_REG_TXDATA, 'x');
    assert_output(f, "AB");
    /* TXREADY does not depend on ENABLE. */
    g_assert_cmphex(rd(f->qt, SDUART_REG_STATUS), ==, 1);
    wr(f->qt, SDUART_REG_CTRL, 1);
    wr(f->qt, SDUART_REG_TXDATA, 'C');
    assert_output(f, "ABC");
}

static void test_system_reset(Fixture *f, gconstpointer data)
{
    if (!qme_qtest_ok(f->qt)) {
        g_test_fail();
        return;
    }
    wr(f->qt, SDUART_REG_CTRL, 0);
    g_assert_cmphex(rd(f->qt, SDUART_REG_CTRL), ==, 0);
    g_assert_true(qme_qtest_system_reset(f->qt));
    g_assert_cmphex(rd(f->qt, SDUART_REG_CTRL), ==, 1);
    g_assert_cmphex(rd(f->qt, SDUART_REG_STATUS), ==, 1);
    wr(f->qt, SDUART_REG_TXDATA, 'R');
    assert_output(f, "R");
}

static void test_migration(Fixture *f, gconstpointer data)
{
    g_autofree char *stream = g_build_filename(f->dir, "stream", NULL);
    g_autofree char *out2 = g_build_filename(f->dir, "out2.txt", NULL);
    g_autofree char *got = NULL;
    QmeQTest *dst;

    if (!qme_qtest_ok(f->qt)) {
        g_test_fail();
        return;
    }
    wr(f->qt, SDUART_REG_CTRL, 0);
    g_assert_true(qme_qtest_migrate_to_file(f->qt, stream, RUN_MS));
    dst = qme_qtest_start_incoming(stream, "-chardev file,id=u,path=%s "
                                   "-device sockdev-uart,chardev=u", out2);
    g_assert_true(qme_qtest_ok(dst));
    if (qme_qtest_ok(dst)) {
        g_assert_cmphex(rd(dst, SDUART_REG_CTRL), ==, 0);
        g_assert_cmphex(rd(dst, SDUART_REG_STATUS), ==, 1);
        wr(dst, SDUART_REG_TXDATA, 'x');        /* still disabled */
        wr(dst, SDUART_REG_CTRL, 1);
        wr(dst, SDUART_REG_TXDATA, 'y');
        got = slurp(out2);
        g_assert_cmpstr(got, ==, "y");
    }
    qme_qtest_quit(dst);
}

static void test_trace(Fixture *f, gconstpointer data)
{
    QmeQTest *qt = qme_qtest_start("-trace sockdev_uart_tx "
                                   "-trace sockdev_uart_reset "
                                   "-device sockdev-uart");

    if (!qme_qtest_ok(qt)) {
        g_test_fail();
        qme_qtest_quit(qt);
        return;
    }
    /* No chardev: the character is dropped, the trace still says so. */
    wr(qt, SDUART_REG_TXDATA, 'Z');
    g_assert_cmphex(rd(qt, SDUART_REG_STATUS), ==, 1);
    g_assert_nonnull(strstr(qme_qtest_stderr(qt), "sockdev_uart_reset"));
    g_assert_nonnull(strstr(qme_qtest_stderr(qt),
                            "sockdev_uart_tx character 0x5a to nowhere"));
    qme_qtest_quit(qt);
}

/* Device tree, properties */

static void test_fdt_node(Fixture *f, gconstpointer data)
{
    g_autofree char *dtb = g_build_filename(f->dir, "virt.dtb", NULL);
    g_autofree char *args = g_strdup_printf("-M virt,dumpdtb=%s "
                                            "-device sockdev-uart,"
                                            "addr=0x0a010000", dtb);
    g_autofree char *out = NULL;
    g_autofree char *blob = NULL;
    gsize len = 0;

    g_assert_cmpint(qme_qemu_run(args, RUN_MS, &out), ==, 0);
    g_assert_true(g_file_get_contents(dtb, &blob, &len, NULL));
    g_assert_nonnull(memmem(blob, len, "sockdev-uart@a010000",
                            sizeof("sockdev-uart@a010000")));
    g_assert_nonnull(memmem(blob, len, "qemu-modules-extra,sockdev-uart",
                            sizeof("qemu-modules-extra,sockdev-uart")));
}

static void test_listed(void)
{
    g_autofree char *out = NULL;
    g_autofree char *help = NULL;

    g_assert_cmpint(qme_qemu_run("-device help", RUN_MS, &out), ==, 0);
    g_assert_nonnull(strstr(out, "name \"sockdev-uart\""));
    g_assert_cmpint(qme_qemu_run("-device sockdev-uart,help", RUN_MS, &help),
                    ==, 0);
    g_assert_nonnull(strstr(help, "chardev=<str>          - chardev id"));
    g_assert_nonnull(strstr(help, "addr=<uint64>          - guest physical"));
}

static void test_bad_properties(void)
{
    static const struct {
        const char *args;
        const char *want;
    } cases[] = {
        { "-device sockdev-uart,addr=0x9000000",
          "sockdev-uart: property 'addr' (0x9000000+0x1000) overlaps "
          "'pl011' at 0x9000000-0x9000fff (virt has room at "
          "0x0a004000-0x0bffffff)\n" },
        { "-device sockdev-uart,addr=0x0b000800",
          "sockdev-uart: property 'addr' (0xb000800) must be 4 KiB "
          "aligned\n" },
        { "-device sockdev-uart,addr=0xfffffffffffff000",
          "sockdev-uart: property 'addr' (0xfffffffffffff000+0x1000) runs "
          "past the end of the address space\n" },
        { "-device sockdev-uart -device sockdev-uart",
          "sockdev-uart: property 'addr' (0xb000000+0x1000) overlaps "
          "'sockdev-uart' at 0xb000000-0xb000fff (virt has room at "
          "0x0a004000-0x0bffffff)\n" },
        { "-M none -device sockdev-uart",
          "sockdev-uart: machine 'none-machine' has no device tree to "
          "describe the device in (use -M virt)\n" },
        { "-device sockdev-uart,chardev=nosuch",
          "Property 'sockdev-uart.chardev' can't find value 'nosuch'" },
        { "-device sockdev-uart,addr=x", "addr" },
    };
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = NULL;
        int st = qme_qemu_run(cases[i].args, RUN_MS, &out);

        if (st != 1 || !strstr(out, cases[i].want)) {
            g_test_message("%s: status %d, output: %s", cases[i].args, st,
                           out);
        }
        g_assert_cmpint(st, ==, 1);
        g_assert_nonnull(strstr(out, cases[i].want));
        if (g_str_has_suffix(cases[i].want, "\n")) {
            /* The whole message, last ("PROGRAM: OPTION: " before it). */
            g_assert_true(g_str_has_suffix(out, cases[i].want));
        }
    }
}

/* Firmware: the same bytes in-process and through the external server */

/* @rel in the build tree (QME_BUILD_ROOT). */
static char *built(const char *rel)
{
    const char *root = g_getenv("QME_BUILD_ROOT");

    return g_build_filename(root ? root : ".", rel, NULL);
}

/* Boot the firmware under TCG; returns QEMU's output (the PL011 console). */
static char *run_firmware(const char *firmware, const char *device_args)
{
    g_autofree char *cmd = g_strdup_printf(
        "timeout 30 %s -M virt -cpu max -m 128 -nographic -no-reboot "
        "-nic none -kernel %s %s",
        g_getenv("QME_QEMU") ? g_getenv("QME_QEMU")
                             : "/usr/bin/qemu-system-aarch64",
        firmware, device_args);
    g_auto(GStrv) argv = NULL;
    g_auto(GStrv) env = qme_qemu_environ();
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status = -1;

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
    g_assert_true(g_spawn_sync(NULL, argv, env, G_SPAWN_SEARCH_PATH, NULL,
                               NULL, &out, &err, &status, NULL));
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    return g_strconcat(out ? out : "", err ? err : "", NULL);
}

/* Read @fd until @until appears (NULL: EOF) or 10 s pass. */
static void read_until(int fd, GString *buf, const char *until)
{
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while (!until || !strstr(buf->str, until)) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int left = (end - g_get_monotonic_time()) / 1000;
        char c[256];
        ssize_t n;

        if (left <= 0 || poll(&pfd, 1, left) <= 0) {
            g_test_message("device server: no '%s' in: %s",
                           until ? until : "EOF", buf->str);
            g_test_fail();
            return;
        }
        n = read(fd, c, until ? 1 : sizeof(c));
        if (n <= 0) {
            return;
        }
        g_string_append_len(buf, c, n);
    }
}

static void test_firmware_same_output(Fixture *f, gconstpointer data)
{
    g_autofree char *sock = g_build_filename(f->dir, "uart.sock", NULL);
    g_autofree char *dev = g_strdup_printf("-device mmio-sockdev,"
                                           "socket=unix:%s", sock);
    g_autofree char *dev2 = g_strdup_printf("-chardev file,id=u,path=%s "
                                            "-device sockdev-uart,chardev=u",
                                            f->out);
    g_autofree char *server = built("devices/sockdev-uart/sockdev-uart-server");
    g_autofree char *firmware =
        built("devices/mmio-sockdev/firmware/sockdev-hello.elf");
    const char *server_argv[] = { server, "--unix", sock, "--once", NULL };
    g_autoptr(GString) sout = g_string_new(NULL);
    g_autofree char *qout = NULL;
    g_autofree char *qout2 = NULL;
    g_autofree char *inproc = NULL;
    const char *hello;
    GPid pid;
    int fd, status;

    if (!g_file_test(firmware, G_FILE_TEST_EXISTS)) {
        g_test_skip("no aarch64 cross compiler: the firmware is not built");
        return;
    }
    /* The external route: firmware -> mmio-sockdev -> server's stdout. */
    g_assert_true(g_spawn_async_with_pipes(NULL, (char **)server_argv, NULL,
                                           G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                           NULL, &pid, NULL, &fd, NULL,
                                           NULL));
    read_until(fd, sout, "Waiting for QEMU connection...\n");
    qout = run_firmware(firmware, dev);
    read_until(fd, sout, NULL);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    close(fd);
    g_spawn_close_pid(pid);
    g_assert_nonnull(strstr(qout, "sockdev-fw: bridge status 0x00000003"));
    g_assert_nonnull(strstr(qout, "sockdev-fw: sent 24 bytes"));
    hello = strstr(sout->str, "Client connected from ");
    g_assert_nonnull(hello);
    if (!hello) {
        return;
    }
    hello = strchr(hello, '\n') + 1;

    /* The in-process route: firmware -> sockdev-uart -> chardev file. */
    qout2 = run_firmware(firmware, dev2);
    inproc = slurp(f->out);
    g_assert_nonnull(strstr(qout2, "sockdev-fw: no bridge: UART modelled "
                                   "in QEMU"));
    g_assert_nonnull(strstr(qout2, "sockdev-fw: sent 24 bytes"));
    g_assert_cmpstr(hello, ==, HELLO);
    g_assert_cmpstr(inproc, ==, hello);
}

static void fixture_only(Fixture *f, gconstpointer data)
{
    fixture_dir(f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();

    g_test_add_func("/sockdev-uart/listed", test_listed);
    g_test_add_func("/sockdev-uart/bad-properties", test_bad_properties);
#define ADD(path, fn) \
    g_test_add("/sockdev-uart/" path, Fixture, NULL, setup, fn, teardown)
#define ADD_BARE(path, fn) \
    g_test_add("/sockdev-uart/" path, Fixture, NULL, fixture_only, fn, \
               teardown)
    ADD_BARE("fdt-node", test_fdt_node);
    ADD("regs/reset-values", test_reset_values);
    ADD("regs/enable-gates-output", test_enable_gates_output);
    ADD("regs/wide-access", test_wide_access);
    ADD("system-reset", test_system_reset);
    ADD("migration", test_migration);
    ADD_BARE("trace", test_trace);
    ADD_BARE("firmware-same-output", test_firmware_same_output);
#undef ADD
#undef ADD_BARE

    return g_test_run();
}
