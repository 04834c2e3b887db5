/*
 * Test-only: realize a device in a running QEMU, and make a register
 * table block fail its init, so that a test can look at what a failed
 * realize leaves behind (test-sockdev-realize.py).
 *
 * A failed realize is otherwise never observable from outside: the stock
 * QEMU refuses device_add for a device that is not hotpluggable (as
 * mmio-sockdev, a bus-less device with a fixed address and a device tree
 * node, is not), and a failed -device ends QEMU.  This object adds the QMP
 * command
 *
 *   x-qme-device-add  { "driver": ..., "id": ..., PROPERTY: "VALUE", ...,
 *                       "x-fail-regs-init": "BLOCK NAME" }
 *
 * which does what qdev_device_add_from_qdict() does after its hotplug
 * checks: create, set the id and the properties, realize with the device
 * marked as created at start-up, and on failure unparent and unref (the
 * device is finalized).  With "x-fail-regs-init", qme_mmio_regs_init()
 * for that block fails during this realize as a bad register table
 * would: nothing outside QEMU can make it fail.
 *
 * It is preloaded (LD_PRELOAD after qme-loader) into that test's QEMU
 * only, never installed: being preloaded, its qme_mmio_regs_init() comes
 * before libqme-qemu.so's in every module's symbol lookup, and forwards
 * to it unless told to fail.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include <dlfcn.h>
#include "qapi/error.h"
#include "qobject/qdict.h"
#include "hw/qdev-core.h"
#include "monitor/qdev.h"
#include "qom/object.h"
#include "qme/qemu-compat.h"
#include "qme/qmp.h"
#include "qme/regtable-qemu.h"

typedef int RegsInitFn(QmeMmioRegs *, Object *, const char *,
                        const QmeReg *, unsigned, uint64_t *, uint64_t,
                        Error **);

static char *fail_regs_init;    /* block name, during one realize */

int qme_mmio_regs_init(QmeMmioRegs *regs, Object *owner, const char *name,
                        const QmeReg *table, unsigned nregs, uint64_t *values,
                        uint64_t size, Error **errp)
{
    static RegsInitFn *real;

    if (fail_regs_init && !strcmp(name, fail_regs_init)) {
        error_setg(errp, "%s: bad register table: failed by realize-probe",
                   name);
        return -1;
    }
    if (!real) {
        /* libqme-qemu.so is in no global scope: ask it by its soname. */
        void *lib = dlopen("libqme-qemu.so", RTLD_NOW | RTLD_NOLOAD);

        real = lib ? (RegsInitFn *)dlsym(lib, "qme_mmio_regs_init") : NULL;
        if (!real) {
            error_setg(errp, "realize-probe: libqme-qemu.so's "
                       "qme_mmio_regs_init not found");
            return -1;
        }
    }
    return real(regs, owner, name, table, nregs, values, size, errp);
}

static void qmp_x_qme_device_add(QDict *args, QObject **ret, Error **errp)
{
    ERRP_GUARD();
    const char *driver = qdict_get_try_str(args, "driver");
    ObjectClass *oc = driver ? object_class_by_name(driver) : NULL;
    DeviceState *dev;
    QDict *props;

    if (!oc || !object_class_dynamic_cast(oc, TYPE_DEVICE) ||
        object_class_is_abstract(oc)) {
        error_setg(errp, "x-qme-device-add: no device type '%s'",
                   driver ? driver : "(none)");
        return;
    }
    dev = qdev_new(driver);
    /* As -device at start-up: the hotplug gate is what we go around. */
    dev->hotplugged = false;
    if (!qdev_set_id(dev, g_strdup(qdict_get_try_str(args, "id")), errp)) {
        goto fail;
    }
    props = qdict_clone_shallow(args);
    qdict_del(props, "driver");
    qdict_del(props, "id");
    fail_regs_init = g_strdup(qdict_get_try_str(props, "x-fail-regs-init"));
    qdict_del(props, "x-fail-regs-init");
    object_set_properties_from_keyval(OBJECT(dev), props, false, errp);
    qobject_unref(props);
    if (!*errp) {
        qdev_realize(dev, NULL, errp);
    }
    g_free(fail_regs_init);
    fail_regs_init = NULL;
    if (!*errp) {
        return;
    }
fail:
    object_unparent(OBJECT(dev));
    object_unref(OBJECT(dev));
}

static void __attribute__((constructor)) realize_probe_init(void)
{
    qme_qmp_register_command("x-qme-device-add", qmp_x_qme_device_add);
}
