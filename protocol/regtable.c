/*
 * qemu-modules-extra register tables: access rules, reset and hooks.
 *
 * Pure C99 with no QEMU dependency, so that an external device server and
 * the unit tests link exactly the code the QEMU model runs.  No global
 * state and no allocation: all state lives in the QmeRegBlock the caller
 * owns.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qme/regtable.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

/*
 * The per-register access code is shared by plain and composed accesses.
 * Plain accesses are the MMIO hot path: the shared code is inlined into
 * it, and the composed-access loops are kept out of it (their register
 * pressure would otherwise cost every plain access a longer prologue).
 */
#if defined(__GNUC__)
#define QME_ALWAYS_INLINE inline __attribute__((always_inline))
#define QME_COLD __attribute__((noinline, cold))
#else
#define QME_ALWAYS_INLINE inline
#define QME_COLD
#endif

/* All bits of a @size-byte quantity, for size 1, 2, 4 or 8. */
static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (size * 8)) - 1;
}

static bool size_valid(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

static int init_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    errno = EINVAL;
    return -1;
}

static const char *reg_name(const QmeReg *reg)
{
    return reg->name ? reg->name : "(unnamed)";
}

int qme_regblock_init(QmeRegBlock *blk, const QmeReg *regs, unsigned nregs,
                      uint64_t *values, void *opaque,
                      char *err, size_t errlen)
{
    unsigned i, f;

    if (nregs && (!regs || !values)) {
        return init_error(err, errlen, "register table or value array "
                          "is NULL");
    }

    for (i = 0; i < nregs; i++) {
        const QmeReg *r = &regs[i];
        const char *n = reg_name(r);
        uint64_t all;

        if (!size_valid(r->size)) {
            return init_error(err, errlen, "register %s (#%u): size %u is "
                              "not 1, 2, 4 or 8", n, i, r->size);
        }
        all = size_mask(r->size);
        if (r->offset % r->size) {
            return init_error(err, errlen, "register %s (#%u): offset 0x%"
                              PRIx32 " is not aligned to its size %u",
                              n, i, r->offset, r->size);
        }
        if (i > 0) {
            const QmeReg *p = &regs[i - 1];

            if (r->offset < p->offset) {
                return init_error(err, errlen, "register %s (#%u): offset "
                                  "0x%" PRIx32 " is below that of "
                                  "previous register %s: table not sorted",
                                  n, i, r->offset, reg_name(p));
            }
            /* 64-bit sum: offsets near 4 GiB must not wrap. */
            if ((uint64_t)p->offset + p->size > r->offset) {
                return init_error(err, errlen, "register %s (#%u) at 0x%"
                                  PRIx32 " overlaps register %s",
                                  n, i, r->offset, reg_name(p));
            }
        }
        if ((unsigned)r->access > QME_REG_RC) {
            return init_error(err, errlen, "register %s (#%u): unknown "
                              "access type %d", n, i, (int)r->access);
        }
        if (r->flags & ~QME_REGF_NO_PARTIAL) {
            return init_error(err, errlen, "register %s (#%u): unknown "
                              "flags 0x%x", n, i, r->flags);
        }
        if (r->reset & ~all) {
            return init_error(err, errlen, "register %s (#%u): reset value "
                              "does not fit in %u bytes", n, i, r->size);
        }
        if ((r->writable | r->reserved) & ~all) {
            return init_error(err, errlen, "register %s (#%u): writable or "
                              "reserved mask wider than %u bytes",
                              n, i, r->size);
        }
        if (r->reset & r->reserved) {
            return init_error(err, errlen, "register %s (#%u): reset value "
                              "sets reserved bits", n, i);
        }
        if (r->writable & r->reserved) {
            return init_error(err, errlen, "register %s (#%u): bits both "
                              "writable and reserved", n, i);
        }
        if ((r->w1c_mask | r->w1s_mask | r->wo_mask | r->pulse_mask) &
            ~r->writable) {
            return init_error(err, errlen, "register %s (#%u): a w1c, w1s, "
                              "wo or pulse bit is not writable", n, i);
        }
        if ((r->w1c_mask & r->w1s_mask) ||
            ((r->w1c_mask | r->w1s_mask) & r->pulse_mask)) {
            return init_error(err, errlen, "register %s (#%u): a bit is in "
                              "more than one of the w1c, w1s and pulse "
                              "masks", n, i);
        }
        if (r->rc_mask & (r->writable | r->reserved)) {
            return init_error(err, errlen, "register %s (#%u): an rc bit is "
                              "writable or reserved", n, i);
        }
        if (r->nfields && !r->fields) {
            return init_error(err, errlen, "register %s (#%u): nfields set "
                              "but fields is NULL", n, i);
        }
        for (f = 0; f < r->nfields; f++) {
            const QmeRegField *fld = &r->fields[f];

            if (fld->width == 0 ||
                (unsigned)fld->shift + fld->width > r->size * 8u) {
                return init_error(err, errlen, "register %s (#%u): field %s "
                                  "does not fit in the register", n, i,
                                  fld->name ? fld->name : "(unnamed)");
            }
            if ((unsigned)fld->access > QME_REG_PULSE) {
                return init_error(err, errlen, "register %s (#%u): field %s "
                                  "has unknown access type %d", n, i,
                                  fld->name ? fld->name : "(unnamed)",
                                  (int)fld->access);
            }
        }
    }

    blk->regs = regs;
    blk->nregs = nregs;
    blk->values = values;
    blk->opaque = opaque;
    return 0;
}

void qme_regblock_reset(QmeRegBlock *blk)
{
    unsigned i;

    for (i = 0; i < blk->nregs; i++) {
        blk->values[i] = blk->regs[i].reset;
    }
}

const QmeReg *qme_regblock_find(const QmeRegBlock *blk, uint64_t addr)
{
    unsigned lo = 0, hi = blk->nregs;

    /* Binary search: this runs on every MMIO access. */
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const QmeReg *r = &blk->regs[mid];

        if (addr < r->offset) {
            hi = mid;
        } else if (addr >= (uint64_t)r->offset + r->size) {
            lo = mid + 1;
        } else {
            return r;
        }
    }
    return NULL;
}

/*
 * check_access() result for an aligned access that starts at a register
 * and goes past its end: a candidate for a composed access.  Never
 * returned to callers.
 */
#define ACCESS_SPANS ((QmeRegStatus)(QME_REG_RESERVED_BITS + 1))

/*
 * Common checks of a guest access.  On success returns QME_REG_OK with
 * *@regp set and *@shift the bit position of the access in the register.
 * If the access covers more than *@regp, returns ACCESS_SPANS with *@regp
 * set and *@shift the access size in bytes: the access starts at
 * (*@regp)->offset, so the caller need not keep @addr and @size live
 * across the call (that would lengthen the hot path's prologue).
 */
static QmeRegStatus check_access(const QmeRegBlock *blk, uint64_t addr,
                                 unsigned size, const QmeReg **regp,
                                 unsigned *shift)
{
    const QmeReg *r;

    /* size is a power of two here: a mask, not a division, on the hot path */
    if (!size_valid(size) || (addr & (size - 1))) {
        return QME_REG_BAD_SIZE;
    }
    r = qme_regblock_find(blk, addr);
    if (!r) {
        return QME_REG_UNMAPPED;
    }
    if (addr + size > (uint64_t)r->offset + r->size) {
        /*
         * Both the access and the register are naturally aligned powers
         * of two, so an access that does not fit is wider than the
         * register and starts at its first byte.
         */
        *regp = r;
        *shift = size;
        return ACCESS_SPANS;
    }
    if (size != r->size && (r->flags & QME_REGF_NO_PARTIAL)) {
        return QME_REG_BAD_SIZE;
    }
    *regp = r;
    *shift = (unsigned)(addr - r->offset) * 8;
    return QME_REG_OK;
}

/*
 * For an ACCESS_SPANS access starting at @first: the number of registers
 * it covers if they tile [addr, addr + size) exactly and all accept an
 * access that is not of their own size, else 0.  Checked before any
 * register is touched, so a refused access has no effect at all.
 */
static unsigned span_members(const QmeRegBlock *blk, const QmeReg *first,
                             uint64_t addr, unsigned size)
{
    const QmeReg *r = first;
    const QmeReg *end_of_table = blk->regs + blk->nregs;
    uint64_t pos = addr, end = addr + size;

    while (pos < end) {
        if (r == end_of_table || r->offset != pos ||
            pos + r->size > end || (r->flags & QME_REGF_NO_PARTIAL)) {
            return 0;
        }
        pos += r->size;
        r++;
    }
    return (unsigned)(r - first);
}

/*
 * Read of @size bytes at bit @shift of @r, checks done.  *@value is left
 * alone for a write-only register: callers preset it to 0.  @consume
 * false leaves read-to-clear bits set (a monitor's read).
 */
static QME_ALWAYS_INLINE QmeRegStatus reg_read(QmeRegBlock *blk,
                                               const QmeReg *r,
                                               unsigned shift, unsigned size,
                                               bool consume, uint64_t *value)
{
    uint64_t lanes, v;
    uint64_t *stored;

    if (r->access == QME_REG_WO) {
        return QME_REG_WRITE_ONLY;
    }

    stored = &blk->values[qme_reg_index(blk, r)];
    lanes = size_mask(size) << shift;
    v = *stored & ~(r->reserved | r->wo_mask);
    /*
     * Only the bytes the guest actually saw are consumed.  Clearing
     * before the hook lets a hook that re-raises events with
     * qme_reg_set() keep them.
     */
    if (!consume) {
        /* nothing read is cleared */
    } else if (r->access == QME_REG_RC) {
        *stored &= ~lanes;
    } else {
        *stored &= ~(r->rc_mask & lanes);
    }
    if (r->read) {
        v = r->read(blk, r, v);
    }
    *value = (v & lanes) >> shift;
    return QME_REG_OK;
}

/* Write of @size bytes at bit @shift of @r, checks done. */
static QME_ALWAYS_INLINE QmeRegStatus reg_write(QmeRegBlock *blk,
                                                const QmeReg *r,
                                                unsigned shift, unsigned size,
                                                uint64_t value)
{
    uint64_t lanes, w, wmask, old, new;
    uint64_t *stored;

    if (r->access == QME_REG_RO || r->access == QME_REG_RC) {
        return QME_REG_READ_ONLY;
    }

    stored = &blk->values[qme_reg_index(blk, r)];
    lanes = size_mask(size) << shift;
    w = (value & size_mask(size)) << shift;
    wmask = r->writable & lanes;
    old = *stored;

    switch (r->access) {
    case QME_REG_W1C:
        new = old & ~(w & wmask);
        break;
    case QME_REG_W1S:
        new = old | (w & wmask);
        break;
    default:    /* RW, WO, and registers of mixed fields */
        new = (old & ~wmask) | (w & wmask);
        if (r->w1c_mask | r->w1s_mask) {
            uint64_t plain = wmask & ~(r->w1c_mask | r->w1s_mask);

            new = (old & ~plain) | (w & plain);
            new &= ~(w & wmask & r->w1c_mask);
            new |= w & wmask & r->w1s_mask;
        }
        break;
    }

    if (r->pre_write) {
        new = r->pre_write(blk, r, new);
        /*
         * Keep the invariant that values never hold bits outside the
         * register or reserved bits, whatever the hook returns.
         */
        new &= size_mask(r->size) & ~r->reserved;
    }
    /*
     * Command bits are never stored: the hook sees them in @new, while
     * the register (read by the hook, or re-entered by a DMA it starts)
     * already holds them as 0.
     */
    *stored = new & ~r->pulse_mask;
    if (r->post_write) {
        r->post_write(blk, r, old, new);
    }

    return (w & r->reserved) ? QME_REG_RESERVED_BITS : QME_REG_OK;
}

/*
 * A composed access: each member register in turn, by ascending offset,
 * as a full-size access of its own.  The first non-OK status wins.
 */
static QME_COLD QmeRegStatus spanning_read(QmeRegBlock *blk,
                                           const QmeReg *first,
                                           uint64_t addr, unsigned size,
                                           uint64_t *value)
{
    unsigned i, n = span_members(blk, first, addr, size);
    QmeRegStatus st = n ? QME_REG_OK : QME_REG_BAD_SIZE;

    for (i = 0; i < n; i++) {
        const QmeReg *r = first + i;
        uint64_t v = 0;
        QmeRegStatus rst = reg_read(blk, r, 0, r->size, true, &v);

        *value |= v << ((r->offset - addr) * 8);
        if (st == QME_REG_OK) {
            st = rst;
        }
    }
    return st;
}

static QME_COLD QmeRegStatus spanning_write(QmeRegBlock *blk,
                                            const QmeReg *first,
                                            uint64_t addr, unsigned size,
                                            uint64_t value)
{
    unsigned i, n = span_members(blk, first, addr, size);
    QmeRegStatus st = n ? QME_REG_OK : QME_REG_BAD_SIZE;

    for (i = 0; i < n; i++) {
        const QmeReg *r = first + i;
        QmeRegStatus rst = reg_write(blk, r, 0, r->size,
                                     value >> ((r->offset - addr) * 8));

        if (st == QME_REG_OK) {
            st = rst;
        }
    }
    return st;
}

QmeRegStatus qme_regblock_read(QmeRegBlock *blk, uint64_t addr,
                               unsigned size, uint64_t *value)
{
    const QmeReg *r = NULL;
    unsigned shift = 0;
    QmeRegStatus st;

    *value = 0;
    st = check_access(blk, addr, size, &r, &shift);
    if (st == QME_REG_OK) {
        return reg_read(blk, r, shift, size, true, value);
    }
    if (st == ACCESS_SPANS) {
        return spanning_read(blk, r, r->offset, shift, value);
    }
    return st;
}

QmeRegStatus qme_regblock_write(QmeRegBlock *blk, uint64_t addr,
                                unsigned size, uint64_t value)
{
    const QmeReg *r = NULL;
    unsigned shift = 0;
    QmeRegStatus st;

    st = check_access(blk, addr, size, &r, &shift);
    if (st == QME_REG_OK) {
        return reg_write(blk, r, shift, size, value);
    }
    if (st == ACCESS_SPANS) {
        return spanning_write(blk, r, r->offset, shift, value);
    }
    return st;
}

uint64_t qme_reg_peek(QmeRegBlock *blk, const QmeReg *reg)
{
    uint64_t value = 0;

    reg_read(blk, reg, 0, reg->size, false, &value);
    return value;
}

const char *qme_reg_status_str(QmeRegStatus status)
{
    switch (status) {
    case QME_REG_OK:
        return "ok";
    case QME_REG_UNMAPPED:
        return "unmapped offset";
    case QME_REG_BAD_SIZE:
        return "bad access size or alignment";
    case QME_REG_READ_ONLY:
        return "write to read-only register";
    case QME_REG_WRITE_ONLY:
        return "read of write-only register";
    case QME_REG_RESERVED_BITS:
        return "write sets reserved bits";
    }
    return "unknown status";
}

const char *qme_reg_access_str(QmeRegAccess access)
{
    switch (access) {
    case QME_REG_RW:
        return "rw";
    case QME_REG_RO:
        return "ro";
    case QME_REG_WO:
        return "wo";
    case QME_REG_W1C:
        return "w1c";
    case QME_REG_W1S:
        return "w1s";
    case QME_REG_RC:
        return "rc";
    case QME_REG_PULSE:
        return "pulse";
    }
    return "?";
}
