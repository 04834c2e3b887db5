/*
 * Bus-less platform devices on -M virt: see include/qme/platform.h.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/int128.h"
#include "system/address-spaces.h"
#include "hw/arm/fdt.h"
#include "hw/boards.h"
#include "hw/intc/arm_gic_common.h"
#include "hw/intc/arm_gicv3_common.h"
#include "system/device_tree.h"
#include "system/reset.h"
#include "qme/platform.h"

/* The guest maps each region with pages of at least this size. */
#define PLATFORM_ALIGN 0x1000
#define VIRT_ROOM "virt has room at 0x0a004000-0x0bffffff"

/* A property's regions: the one it places and those that follow it. */
typedef struct PlatformSpan {
    const char *prop;
    uint64_t addr;
    uint64_t size;
} PlatformSpan;

static unsigned platform_nregions(const QmePlatformDevice *pd)
{
    unsigned n = 0;

    while (n < QME_PLATFORM_MAX_REGIONS && pd->regions[n].size) {
        n++;
    }
    return n;
}

/* Group @pd's regions by property; returns the number of spans. */
static unsigned platform_spans(const QmePlatformDevice *pd,
                               PlatformSpan *spans)
{
    unsigned i, n = 0;

    for (i = 0; i < platform_nregions(pd); i++) {
        const QmePlatformRegion *r = &pd->regions[i];

        if (r->prop || !n) {
            spans[n++] = (PlatformSpan) { r->prop, r->addr, r->size };
        } else {
            spans[n - 1].size += r->size;
        }
    }
    return n;
}

static DeviceState *platform_find_gic(void)
{
    static const char *const types[] = {
        TYPE_ARM_GIC_COMMON, TYPE_ARM_GICV3_COMMON,
    };
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(types); i++) {
        Object *gic = object_resolve_path_type("", types[i], NULL);

        if (gic) {
            return DEVICE(gic);
        }
    }
    return NULL;
}

static int platform_check_span(const char *type, const PlatformSpan *sp,
                               Error **errp)
{
    MemoryRegion *sub, *first = NULL;
    Int128 end;

    if (sp->addr & (PLATFORM_ALIGN - 1)) {
        error_setg(errp, "%s: property '%s' (0x%" PRIx64 ") must be 4 KiB "
                   "aligned", type, sp->prop, sp->addr);
        return -1;
    }
    if (sp->size > UINT64_MAX - sp->addr) {
        error_setg(errp, "%s: property '%s' (0x%" PRIx64 "+0x%" PRIx64
                   ") runs past the end of the address space",
                   type, sp->prop, sp->addr, sp->size);
        return -1;
    }
    end = int128_make64(sp->addr + sp->size);
    /*
     * Every mapping hangs below one of system memory's own subregions;
     * name the lowest one in the way.
     */
    QTAILQ_FOREACH(sub, &get_system_memory()->subregions, subregions_link) {
        Int128 start = int128_make64(sub->addr);

        if (int128_lt(int128_make64(sp->addr),
                      int128_add(start, sub->size)) &&
            int128_lt(start, end) && (!first || sub->addr < first->addr)) {
            first = sub;
        }
    }
    if (first) {
        Int128 last = int128_sub(int128_add(int128_make64(first->addr),
                                            first->size), int128_one());

        error_setg(errp, "%s: property '%s' (0x%" PRIx64 "+0x%" PRIx64
                   ") overlaps '%s' at 0x%" PRIx64 "-0x%" PRIx64
                   " (" VIRT_ROOM ")", type, sp->prop, sp->addr, sp->size,
                   memory_region_name(first), first->addr,
                   int128_get64(last));
        return -1;
    }
    return 0;
}

int qme_platform_check(DeviceState *dev, const QmePlatformDevice *pd,
                       Error **errp)
{
    const char *type = object_get_typename(OBJECT(dev));
    MachineState *ms = MACHINE(qdev_get_machine());
    PlatformSpan spans[QME_PLATFORM_MAX_REGIONS];
    unsigned i, j, n;

    if (!ms->fdt) {
        error_setg(errp, "%s: machine '%s' has no device tree to describe "
                   "the device in (use -M virt)", type,
                   object_get_typename(OBJECT(ms)));
        return -1;
    }
    if (pd->spi_prop) {
        DeviceState *gic = platform_find_gic();
        uint64_t spis;

        if (!gic) {
            error_setg(errp, "%s: machine '%s' has no Arm GIC to take an "
                       "interrupt from (use -M virt)", type,
                       object_get_typename(OBJECT(ms)));
            return -1;
        }
        spis = object_property_get_uint(OBJECT(gic), "num-irq",
                                        &error_abort) - GIC_INTERNAL;
        if (pd->spi >= spis) {
            error_setg(errp, "%s: property '%s' is %" PRIu32 ", the GIC has "
                       "SPIs 0-%" PRIu64, type, pd->spi_prop, pd->spi,
                       spis - 1);
            return -1;
        }
    }

    n = platform_spans(pd, spans);
    for (i = 0; i < n; i++) {
        if (platform_check_span(type, &spans[i], errp) < 0) {
            return -1;
        }
        for (j = 0; j < i; j++) {
            if (spans[i].addr < spans[j].addr + spans[j].size &&
                spans[j].addr < spans[i].addr + spans[i].size) {
                error_setg(errp, "%s: properties '%s' (0x%" PRIx64 "+0x%"
                           PRIx64 ") and '%s' (0x%" PRIx64 "+0x%" PRIx64
                           ") overlap", type, spans[j].prop, spans[j].addr,
                           spans[j].size, spans[i].prop, spans[i].addr,
                           spans[i].size);
                return -1;
            }
        }
    }
    return 0;
}

static void platform_add_fdt_node(DeviceState *dev,
                                  const QmePlatformDevice *pd,
                                  const uint64_t *addrs, void *fdt)
{
    unsigned i, n = platform_nregions(pd);
    g_autofree char *node = g_strdup_printf("/%s@%" PRIx64,
                                            object_get_typename(OBJECT(dev)),
                                            addrs[0]);
    g_autofree uint64_t *reg = g_new(uint64_t, 2 * n);
    const char *names[QME_PLATFORM_MAX_REGIONS];
    uint32_t gic_phandle;
    bool named = true;

    qemu_fdt_add_subnode(fdt, node);
    qemu_fdt_setprop_string(fdt, node, "compatible", pd->compatible);
    /* virt's root has #address-cells = #size-cells = 2. */
    for (i = 0; i < n; i++) {
        reg[2 * i] = cpu_to_be64(addrs[i]);
        reg[2 * i + 1] = cpu_to_be64(pd->regions[i].size);
        names[i] = pd->regions[i].reg_name;
        named = named && names[i];
    }
    qemu_fdt_setprop(fdt, node, "reg", reg, 2 * n * sizeof(*reg));
    if (named) {
        qemu_fdt_setprop_string_array(fdt, node, "reg-names", (char **)names,
                                      n);
    }
    if (!pd->spi_prop) {
        return;
    }
    qemu_fdt_setprop_cells(fdt, node, "interrupts", GIC_FDT_IRQ_TYPE_SPI,
                           pd->spi, GIC_FDT_IRQ_FLAGS_LEVEL_HI);
    /* virt names the GIC at the root; say it here too for other boards. */
    gic_phandle = qemu_fdt_getprop_cell(fdt, "/", "interrupt-parent", NULL,
                                        NULL);
    if (gic_phandle) {
        qemu_fdt_setprop_cell(fdt, node, "interrupt-parent", gic_phandle);
    }
}

static void platform_reset(void *opaque)
{
    device_cold_reset(DEVICE(opaque));
}

int qme_platform_attach(DeviceState *dev, const QmePlatformDevice *pd,
                        qemu_irq *irq, Error **errp)
{
    MachineState *ms = MACHINE(qdev_get_machine());
    uint64_t addrs[QME_PLATFORM_MAX_REGIONS];
    unsigned i;

    if (qme_platform_check(dev, pd, errp) < 0) {
        return -1;
    }
    for (i = 0; i < platform_nregions(pd); i++) {
        const QmePlatformRegion *r = &pd->regions[i];

        addrs[i] = r->prop || !i ? r->addr : addrs[i - 1] +
                                             pd->regions[i - 1].size;
        memory_region_add_subregion(get_system_memory(), addrs[i], r->mr);
    }
    if (pd->spi_prop) {
        *irq = qdev_get_gpio_in(platform_find_gic(), pd->spi);
    }
    platform_add_fdt_node(dev, pd, addrs, ms->fdt);
    qemu_register_reset(platform_reset, dev);
    return 0;
}

void qme_platform_class_init(DeviceClass *dc)
{
    dc->hotpluggable = false;
}
