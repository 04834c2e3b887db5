/*
 * Test-only "qtest" accelerator for the distro QEMU.
 *
 * Debian removes the accel-qtest-*.so modules from its QEMU packages, so
 * "-accel qtest" fails with "invalid accelerator qtest" although the qtest
 * server itself is part of the binary.  This module registers the two
 * classes that QEMU's accel/qtest/qtest.c provides: the "qtest" accelerator
 * (which only flips qtest_allowed) and its accel-ops class (vCPUs are dummy
 * threads, the virtual clock is the one qtest drives with clock_step).
 * It is built only for a QEMU that lacks the real one (tests/meson.build).
 *
 * It is loaded only into the QEMU processes started by the test harness
 * (tests/qtest) and is never installed.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/module.h"
#include "accel/accel-ops.h"
#include "qemu/atomic.h"
#include "qom/object.h"
#include "accel/accel-cpu-ops.h"
#include "accel/dummy-cpus.h"
#include "system/qtest.h"
#include "qme/qemu-compat.h"

#define TYPE_QME_QTEST_ACCEL ACCEL_CLASS_NAME("qtest")

static int64_t qme_qtest_clock;

static int64_t qme_qtest_get_virtual_clock(void)
{
    return qatomic_read_i64(&qme_qtest_clock);
}

static void qme_qtest_set_virtual_clock(int64_t count)
{
    qatomic_set_i64(&qme_qtest_clock, count);
}

static int qme_qtest_init_accel(QME_ACCEL_INIT_MACHINE_ARGS)
{
    return 0;
}

static void qme_qtest_accel_class_init(ObjectClass *oc, QmeClassData data)
{
    AccelClass *ac = ACCEL_CLASS(oc);

    ac->name = "QTest";
    ac->init_machine = qme_qtest_init_accel;
    ac->allowed = &qtest_allowed;
}

static const TypeInfo qme_qtest_accel_type = {
    .name = TYPE_QME_QTEST_ACCEL,
    .parent = TYPE_ACCEL,
    .class_init = qme_qtest_accel_class_init,
};

static void qme_qtest_accel_ops_class_init(ObjectClass *oc, QmeClassData data)
{
    AccelOpsClass *ops = ACCEL_OPS_CLASS(oc);

    ops->create_vcpu_thread = dummy_start_vcpu_thread;
    ops->handle_interrupt = generic_handle_interrupt;
    qme_accel_ops_set_clock(ops, qme_qtest_get_virtual_clock,
                            qme_qtest_set_virtual_clock);
}

static const TypeInfo qme_qtest_accel_ops_type = {
    .name = ACCEL_OPS_NAME("qtest"),
    .parent = TYPE_ACCEL_OPS,
    .class_init = qme_qtest_accel_ops_class_init,
    .abstract = true,
};

/*
 * A QEMU that still ships accel-qtest-<target>.so would abort on the
 * duplicate type when "-accel qtest" loads that module: this shim is for
 * the Debian binary, which does not ship it.
 */
static void qme_qtest_accel_register_types(void)
{
    type_register_static(&qme_qtest_accel_type);
    type_register_static(&qme_qtest_accel_ops_type);
}

type_init(qme_qtest_accel_register_types)
