/*
 * The QEMU API as our sources use it, on every supported QEMU release.
 *
 * QEMU promises no API to out-of-tree code.  Our sources are written for
 * the newest supported QEMU's API; this header (and the one-line shim
 * headers in compat/, for headers QEMU moved) gives the older releases
 * that API.  What each release has is probed by meson against the SDK
 * (include/qme/compat/meson.build), never guessed from a version number,
 * and recorded in the generated qme-qemu-api.h.
 *
 * Releases: QEMU 7.2 (Debian 12), 10.0 (Debian 13), 10.2 (compile-only).
 * Include it after the QEMU headers a file needs; qemu/osdep.h first, as
 * always.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_QEMU_COMPAT_H
#define QME_QEMU_COMPAT_H

#include "qom/object.h"
#include "hw/qdev-core.h"
#include "hw/qdev-properties.h"
#include "qme-qemu-api.h"

/*
 * The class_init data argument: const from 10.2 on.  Write
 *   static void foo_class_init(ObjectClass *klass, QmeClassData data)
 */
#ifdef QME_HAVE_CONST_CLASS_DATA
typedef const void *QmeClassData;
#else
typedef void *QmeClassData;
#endif

/* 7.2 sets the reset handler directly (dc->reset). */
#ifndef QME_HAVE_LEGACY_RESET
static inline void device_class_set_legacy_reset(DeviceClass *dc,
                                                 DeviceReset fn)
{
    dc->reset = fn;
}
#endif

/*
 * Property arrays are const and counted (ARRAY_SIZE) since 10.0, with no
 * DEFINE_PROP_END_OF_LIST().  7.2 walks a writable array to an empty
 * terminator: give it a terminated copy, which lives as long as the
 * class.  Cannot fail.
 */
#ifndef QME_HAVE_PROPS_N
void qme_device_class_set_props_n(DeviceClass *dc, const Property *props,
                                  size_t n);
#define device_class_set_props(dc, props) \
    qme_device_class_set_props_n((dc), (props), ARRAY_SIZE(props))
#endif

/* PropertyInfo's type name: .type from 10.0 on, .name in 7.2. */
#ifdef QME_HAVE_PROPERTY_INFO_TYPE
#define QME_PROPERTY_INFO_TYPE(type_name) .type = (type_name)
#else
#define QME_PROPERTY_INFO_TYPE(type_name) .name = (type_name)
#endif

/* The character device front end: CharFrontend from 10.2 on. */
#ifndef QME_HAVE_CHAR_FRONTEND
typedef struct CharBackend CharFrontend;
#endif

/*
 * Accelerators (the test-only qtest accelerator), for files that include
 * accel/accel-cpu-ops.h.  From 10.2 on, init_machine gets the AccelState
 * and handle_interrupt is mandatory (before, NULL meant the generic one).
 * From 10.0 on the accelerator keeps the virtual clock that qtest's
 * clock_step advances; 7.2's qtest keeps it itself.
 */
#ifdef ACCEL_OPS_NAME
#ifdef QME_HAVE_ACCEL_STATE_INIT
#define QME_ACCEL_INIT_MACHINE_ARGS AccelState *as, MachineState *ms
#else
#define QME_ACCEL_INIT_MACHINE_ARGS MachineState *ms
#endif
#ifndef QME_HAVE_GENERIC_HANDLE_INTERRUPT
#define generic_handle_interrupt NULL
#endif
#ifdef QME_HAVE_ACCEL_SET_VIRTUAL_CLOCK
#define qme_accel_ops_set_clock(ops, get, set) do {                     \
        (ops)->get_virtual_clock = (get);                               \
        (ops)->set_virtual_clock = (set);                               \
    } while (0)
#else
#define qme_accel_ops_set_clock(ops, get, set) do {                     \
        (void)(get);                                                    \
        (void)(set);                                                    \
        (ops)->get_virtual_clock = qtest_get_virtual_clock;             \
    } while (0)
#endif
#endif

#endif /* QME_QEMU_COMPAT_H */
