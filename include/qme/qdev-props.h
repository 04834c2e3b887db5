/*
 * Descriptions for the properties a device inherits from QEMU's core
 * classes.
 *
 * QEMU's PCI core declares acpi-index, rombar, romfile, romsize and
 * failover_pair_id without descriptions, so `-device NAME,help` of any PCI
 * device shows them bare.  Our devices call qme_describe_inherited_props()
 * from class_init to fill in the missing ones.  The properties belong to
 * the parent class, so the text then shows for every device of that class:
 * only properties with no description at all are touched, never QEMU's own
 * wording.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_QDEV_PROPS_H
#define QME_QDEV_PROPS_H

#include "qom/object.h"
#include "hw/qdev-properties.h"
#include "hw/core/qdev-prop-internal.h"
#include "qme/qemu-compat.h"

/*
 * From class_init of @oc: describe the inherited properties that have no
 * description.  Cannot fail.
 */
void qme_describe_inherited_props(ObjectClass *oc);

/*
 * A PropertyInfo for an enum property whose values are @lookup's (a
 * QEnumLookup), as QEMU's own (qdev_prop_on_off_auto): use it with
 * DEFINE_PROP_SIGNED(..., int).  `-device NAME,help` shows the type name
 * and the default, a value outside @lookup gets QEMU's error naming the
 * property.  @values ("a/b/c") is the description the property shows
 * unless the class sets its own.
 */
#define QME_PROP_ENUM_INFO(type_name, values, lookup) {         \
        QME_PROPERTY_INFO_TYPE(type_name),                      \
        .description = (values),                                \
        .enum_table = (lookup),                                 \
        .get = qdev_propinfo_get_enum,                          \
        .set = qdev_propinfo_set_enum,                          \
        .set_default_value = qdev_propinfo_set_default_value_enum, \
    }

#endif /* QME_QDEV_PROPS_H */
