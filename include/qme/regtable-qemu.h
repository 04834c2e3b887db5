/*
 * QEMU side of the register tables: a QmeRegBlock served as a
 * MemoryRegion, with guest-error logging, trace events, reset and vmstate.
 *
 * A device embeds a QmeMmioRegs and an array of register values in its
 * state, calls qme_mmio_regs_init() at realize, qme_mmio_regs_reset() from
 * its reset handler, and lists VMSTATE_QME_REGS() in its vmstate.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_REGTABLE_QEMU_H
#define QME_REGTABLE_QEMU_H

#include "system/memory.h"
#include "migration/vmstate.h"
#include "qme/regtable.h"

/*
 * Embedded in the device state, hence a complete type; only blk and mr are
 * for devices (the table glue's private state follows them).
 */
typedef struct QmeMmioRegs {
    QmeRegBlock blk;
    MemoryRegion mr;

    /*< private >*/
    const char *name;       /* device name in logs and trace events */
    const QmeReg *polled;   /* read cache: see regtable-qemu.c */
} QmeMmioRegs;

/*
 * Bind @table (@nregs entries, values stored in @values) to @regs and
 * create @regs->mr, an MMIO region of @size bytes owned by @owner.  Hooks
 * get @owner as blk->opaque.  Values are reset.  Returns 0 on success, -1
 * with *@errp set on failure (only if the table is malformed).
 */
int qme_mmio_regs_init(QmeMmioRegs *regs, Object *owner, const char *name,
                        const QmeReg *table, unsigned nregs, uint64_t *values,
                        uint64_t size, Error **errp);

/* Load every register's reset value (no hooks).  Cannot fail. */
void qme_mmio_regs_reset(QmeMmioRegs *regs);

/*
 * The access paths behind the MemoryRegion, for devices that dispatch part
 * of a region themselves: every refused access is a LOG_GUEST_ERROR and
 * has a defined result (reads 0, writes dropped).  They cannot fail:
 * qme_mmio_regs_read() returns what the guest reads.
 */
uint64_t qme_mmio_regs_read(QmeMmioRegs *regs, hwaddr addr, unsigned size);
void qme_mmio_regs_write(QmeMmioRegs *regs, hwaddr addr, uint64_t value,
                         unsigned size);

/*
 * The register block behind @mr, or NULL if @mr was not made by
 * qme_mmio_regs_init().  Monitors find a device's blocks this way: a
 * block's region is a QOM child of its owner.  Cannot fail.
 */
QmeMmioRegs *qme_mmio_regs_from_mr(MemoryRegion *mr);

/* Register values in a device's vmstate: @_values is a uint64_t array. */
#define VMSTATE_QME_REGS(_values, _state) \
    VMSTATE_UINT64_ARRAY(_values, _state, ARRAY_SIZE(((_state *)0)->_values))

#endif /* QME_REGTABLE_QEMU_H */
