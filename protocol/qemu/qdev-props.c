/*
 * Descriptions for inherited core properties: see include/qme/qdev-props.h.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qom/object.h"
#include "qme/qdev-props.h"
#include "qme/qemu-compat.h"

static const struct {
    const char *name;
    const char *description;
} core_props[] = {
    /* hw/pci/pci.c, pci_props[] */
    { "acpi-index", "ACPI index of the device (0: none); guests name "
                    "the device after it, e.g. eno1" },
    { "rombar", "Expose the option ROM in a ROM BAR: 1 yes, 0 no" },
    { "romfile", "Option ROM image file (empty: no ROM)" },
    { "romsize", "Size of the option ROM BAR in bytes (-1: the ROM "
                 "file's size rounded up to a power of two)" },
    { "failover_pair_id", "ID of the primary device of a failover pair "
                          "(virtio-net failover)" },
    /* 10.0 and later */
    { "busnr", "Number of the PCI bus the device is on (read-only)" },
};

void qme_describe_inherited_props(ObjectClass *oc)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(core_props); i++) {
        ObjectProperty *prop = object_class_property_find(oc,
                                                          core_props[i].name);

        /*
         * Directly, not through object_class_property_set_description():
         * that one looks in @oc's own table, and these live in a parent's.
         */
        if (prop && !prop->description) {
            prop->description = g_strdup(core_props[i].description);
        }
    }
}

#ifndef QME_HAVE_PROPS_N
void qme_device_class_set_props_n(DeviceClass *dc, const Property *props,
                                  size_t n)
{
    Property *terminated = g_new0(Property, n + 1);

    memcpy(terminated, props, n * sizeof(*props));
    (device_class_set_props)(dc, terminated);
}
#endif
