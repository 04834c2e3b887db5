/*
 * QEMU glue for the register tables: see include/qme/regtable-qemu.h.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/log.h"
#include "qme/regtable-qemu.h"
#include "trace-qme_regs.h"

/*
 * What an access covers, for logs and traces: the register at @addr, or
 * "FIRST..LAST" for an access wider than it (a composed access, or one
 * refused because it runs into a hole: "FIRST..unmapped").
 */
static const char *reg_name(QmeMmioRegs *regs, hwaddr addr, unsigned size,
                            char *buf, size_t len)
{
    const QmeReg *first = qme_regblock_find(&regs->blk, addr);
    const QmeReg *last;

    if (!first) {
        return "unmapped";
    }
    if (addr + size <= (uint64_t)first->offset + first->size) {
        return first->name;
    }
    last = qme_regblock_find(&regs->blk, addr + size - 1);
    snprintf(buf, len, "%s..%s", first->name, last ? last->name : "unmapped");
    return buf;
}

static void report(QmeMmioRegs *regs, const char *what, hwaddr addr,
                   unsigned size, uint64_t value, QmeRegStatus status)
{
    char buf[80];

    qemu_log_mask(LOG_GUEST_ERROR,
                  "%s: %s of %u byte(s) at 0x%" HWADDR_PRIx
                  " (%s, value 0x%" PRIx64 "): %s\n",
                  regs->name, what, size, addr,
                  reg_name(regs, addr, size, buf, sizeof(buf)), value,
                  qme_reg_status_str(status));
}

uint64_t qme_mmio_regs_read(QmeMmioRegs *regs, hwaddr addr, unsigned size)
{
    uint64_t value = 0;
    QmeRegStatus status = qme_regblock_read(&regs->blk, addr, size, &value);

    if (status != QME_REG_OK) {
        report(regs, "read", addr, size, value, status);
    }
    if (trace_event_get_state_backends(TRACE_QME_REGS_READ)) {
        char buf[80];

        trace_qme_regs_read(regs->name, addr, size, value,
                            reg_name(regs, addr, size, buf, sizeof(buf)));
    }
    return value;
}

void qme_mmio_regs_write(QmeMmioRegs *regs, hwaddr addr, uint64_t value,
                         unsigned size)
{
    QmeRegStatus status;

    if (trace_event_get_state_backends(TRACE_QME_REGS_WRITE)) {
        char buf[80];

        trace_qme_regs_write(regs->name, addr, size, value,
                             reg_name(regs, addr, size, buf, sizeof(buf)));
    }
    status = qme_regblock_write(&regs->blk, addr, size, value);
    if (status != QME_REG_OK) {
        report(regs, "write", addr, size, value, status);
    }
}

/*
 * A read whose only effect is returning the stored value.  Exact size
 * only: a wider (composed) read at the same address goes to the engine.
 */
static bool plain_read(const QmeReg *reg, hwaddr addr, unsigned size)
{
    return addr == reg->offset && size == reg->size && !reg->read &&
           (reg->access == QME_REG_RW || reg->access == QME_REG_RO) &&
           !(reg->rc_mask | reg->wo_mask);
}

/*
 * regs->polled is the last register read whole and without side effects:
 * guests poll one register in a loop, and a read of it then skips the
 * engine's lookup and checks (derived state: never migrated, cleared on
 * reset).
 */
static uint64_t regs_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    QmeMmioRegs *regs = opaque;
    const QmeReg *reg = regs->polled;

    if (reg && addr == reg->offset && size == reg->size &&
        !trace_event_get_state_backends(TRACE_QME_REGS_READ)) {
        return qme_reg_get(&regs->blk, qme_reg_index(&regs->blk, reg)) &
               ~reg->reserved;
    }
    reg = qme_regblock_find(&regs->blk, addr);
    regs->polled = reg && plain_read(reg, addr, size) ? reg : NULL;
    return qme_mmio_regs_read(regs, addr, size);
}

static void regs_mmio_write(void *opaque, hwaddr addr, uint64_t value,
                            unsigned size)
{
    qme_mmio_regs_write(opaque, addr, value, size);
}

/*
 * Every size and alignment reaches the engine, which decides: the memory
 * core would otherwise turn a refused access into a bus error that takes
 * down the guest, where a register block should log and go on.
 */
static const MemoryRegionOps regs_mmio_ops = {
    .read = regs_mmio_read,
    .write = regs_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = true,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = true,
    },
};

int qme_mmio_regs_init(QmeMmioRegs *regs, Object *owner, const char *name,
                        const QmeReg *table, unsigned nregs, uint64_t *values,
                        uint64_t size, Error **errp)
{
    char err[160];

    if (qme_regblock_init(&regs->blk, table, nregs, values, owner,
                          err, sizeof(err)) < 0) {
        error_setg(errp, "%s: bad register table: %s", name, err);
        return -1;
    }
    regs->name = name;
    regs->polled = NULL;
    qme_regblock_reset(&regs->blk);
    memory_region_init_io(&regs->mr, owner, &regs_mmio_ops, regs, name, size);
    return 0;
}

QmeMmioRegs *qme_mmio_regs_from_mr(MemoryRegion *mr)
{
    return mr->ops == &regs_mmio_ops ? mr->opaque : NULL;
}

void qme_mmio_regs_reset(QmeMmioRegs *regs)
{
    qme_regblock_reset(&regs->blk);
}
