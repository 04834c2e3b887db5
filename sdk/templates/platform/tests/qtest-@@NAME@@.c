/*
 * qtest of @@NAME@@ in the installed qemu-system-aarch64 -M virt: the
 * register values read back at its window, as @@NAME@@.regs.toml says.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>
#include <glib.h>

#include "qme-qtest.h"
#include "@@C@@-regs.h"

#define REG(r) (@@UPPER@@_DEFAULT_ADDR + @@UPPER@@_REG_##r)

typedef struct Fixture {
    QmeQTest *qt;
} Fixture;

static void setup(Fixture *f, gconstpointer data)
{
    f->qt = qme_qtest_start("-device @@NAME@@");
    g_assert_nonnull(f->qt);
}

static void teardown(Fixture *f, gconstpointer data)
{
    qme_qtest_quit(f->qt);
}

static void test_value(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(qme_qtest_readl(f->qt, REG(ID)), ==, @@MAGIC@@);
    g_assert_cmphex(qme_qtest_readl(f->qt, REG(VALUE)), ==, 0);
    qme_qtest_writel(f->qt, REG(VALUE), 0xcafe0042);
    g_assert_cmphex(qme_qtest_readl(f->qt, REG(VALUE)), ==, 0xcafe0042);
    /* The ID register is read-only: a write is dropped. */
    qme_qtest_writel(f->qt, REG(ID), 0);
    g_assert_cmphex(qme_qtest_readl(f->qt, REG(ID)), ==, @@MAGIC@@);
    /* An offset no register covers reads 0 (and logs a guest error). */
    g_assert_cmphex(qme_qtest_readl(f->qt, @@UPPER@@_DEFAULT_ADDR + 0x100),
                    ==, 0);
    g_assert_true(qme_qtest_ok(f->qt));
}

static void test_reset(Fixture *f, gconstpointer data)
{
    qme_qtest_writel(f->qt, REG(VALUE), 0x12345678);
    g_assert_true(qme_qtest_system_reset(f->qt));
    g_assert_cmphex(qme_qtest_readl(f->qt, REG(VALUE)), ==, 0);
}

/* A bad property value: the device's error, naming the property. */
static void test_bad_addr(void)
{
    char *out = NULL;
    int status = qme_qemu_run("-device @@NAME@@,addr=0x123", 30000, &out);

    g_assert_cmpint(status, !=, 0);
    g_assert_nonnull(strstr(out, "property 'addr'"));
    g_free(out);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/@@NAME@@/value", Fixture, NULL, setup, test_value, teardown);
    g_test_add("/@@NAME@@/reset", Fixture, NULL, setup, test_reset, teardown);
    g_test_add_func("/@@NAME@@/bad-addr", test_bad_addr);
    return g_test_run();
}
