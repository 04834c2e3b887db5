/*
 * Bus-less platform devices on -M virt: memory map, GIC input, device-tree
 * node and reset, from one description.
 *
 * virt refuses `-device` of a SysBusDevice it does not know (its platform
 * bus), so our MMIO devices are plain TYPE_DEVICEs that attach themselves
 * at realize: they map their regions into system memory, take an SPI of
 * the GIC and add a node to the machine's device tree.  Realize runs for
 * `-device` before virt copies the device tree into the guest (at
 * machine-init-done), so the node reaches the guest.
 *
 * A device fills a QmePlatformDevice at realize and calls
 *
 *   qme_platform_check()    before it allocates anything: every refusal
 *                           (the machine, the addresses, the SPI);
 *   qme_platform_attach()   last: the same checks, then map, wire, add the
 *                           node and register the reset;
 *
 * and qme_platform_class_init() from class_init.
 *
 * Messages (TYPE is the device's type name):
 *   TYPE: machine 'M' has no Arm GIC to take an interrupt from (use -M virt)
 *   TYPE: machine 'M' has no device tree to describe the device in
 *     (use -M virt)
 *   TYPE: property 'P' is N, the GIC has SPIs 0-MAX
 *   TYPE: property 'P' (0xADDR) must be 4 KiB aligned
 *   TYPE: property 'P' (0xADDR+0xSIZE) runs past the end of the address
 *     space
 *   TYPE: properties 'P' (0xA+0xS) and 'Q' (0xB+0xT) overlap
 *   TYPE: property 'P' (0xADDR+0xSIZE) overlaps 'REGION' at 0xSTART-0xLAST
 *     (virt has room at 0x0a004000-0x0bffffff)
 * where 0xSIZE covers the property's region and the regions that follow
 * it.  Hot-plug never reaches realize: QEMU refuses device_add of a class
 * that is not hotpluggable ("Parameter 'driver' expects a pluggable device
 * type") and device_del of its devices.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_PLATFORM_H
#define QME_PLATFORM_H

#include "system/memory.h"
#include "hw/irq.h"
#include "hw/qdev-core.h"

#define QME_PLATFORM_MAX_REGIONS 4

typedef struct QmePlatformRegion {
    /* Mapped into system memory by qme_platform_attach(). */
    MemoryRegion *mr;
    uint64_t size;
    /*
     * The property that places the region, named in messages, and its
     * value.  NULL: the region follows the previous one directly (@addr
     * is ignored) and belongs to its property.
     */
    const char *prop;
    uint64_t addr;
    /*
     * Its entry in the node's "reg-names"; that list is written if every
     * region has one.
     */
    const char *reg_name;
} QmePlatformRegion;

typedef struct QmePlatformDevice {
    /* The node's "compatible"; the node is /TYPE@ADDR of the first region. */
    const char *compatible;
    /* In "reg" order, up to the first with size 0; the first has a prop. */
    QmePlatformRegion regions[QME_PLATFORM_MAX_REGIONS];
    /*
     * One level-high interrupt on GIC SPI @spi, set by property @spi_prop;
     * @spi_prop NULL: the device has no interrupt.
     */
    const char *spi_prop;
    uint32_t spi;
} QmePlatformDevice;

/*
 * Check that @dev, described by @pd, can be attached to the machine.
 * Changes nothing.  Returns 0 if it can, -1 with *errp set (one of the
 * messages above) if not.
 */
int qme_platform_check(DeviceState *dev, const QmePlatformDevice *pd,
                       Error **errp);

/*
 * Attach @dev: run qme_platform_check(), then map every region, add the
 * device-tree node (reg, reg-names, compatible, interrupts,
 * interrupt-parent), register @dev's cold reset with the machine's (a
 * bus-less device is reset by nobody otherwise) and, if the device has an
 * interrupt, store its GIC input in *@irq.  The regions must be
 * initialized.  Returns 0 on success, -1 with *errp set if the check
 * fails, in which case nothing is changed.
 */
int qme_platform_attach(DeviceState *dev, const QmePlatformDevice *pd,
                        qemu_irq *irq, Error **errp);

/*
 * From class_init: the class is not hotpluggable, so QEMU refuses
 * device_add once the machine is ready (the guest has its device tree
 * then) and device_del.  Cannot fail.
 */
void qme_platform_class_init(DeviceClass *dc);

#endif /* QME_PLATFORM_H */
