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

/*
 * From class_init of @oc: describe the inherited properties that have no
 * description.  Cannot fail.
 */
void qme_describe_inherited_props(ObjectClass *oc);

#endif /* QME_QDEV_PROPS_H */
