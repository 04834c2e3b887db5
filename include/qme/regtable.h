/*
 * qemu-modules-extra register tables.
 *
 * A device describes its registers once, as a table of QmeReg entries
 * (normally generated from a <device>.regs.toml file by
 * protocol/regtable-gen.py), and gets read/write semantics from this
 * engine.  The engine knows nothing about QEMU: the same table backs an
 * in-QEMU model (see qme/regtable-qemu.h), an external device server and
 * the unit tests.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_REGTABLE_H
#define QME_REGTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum QmeRegAccess {
    QME_REG_RW,     /* read/write */
    QME_REG_RO,     /* read-only: a write changes nothing and is reported */
    QME_REG_WO,     /* write-only: a read returns 0 and is reported */
    QME_REG_W1C,    /* write 1 to clear: written 1 bits are cleared */
    QME_REG_W1S,    /* write 1 to set: written 1 bits are set */
    QME_REG_RC,     /* read to clear: a read returns the value, then 0 */
    /*
     * Field kind only: a command bit.  A written 1 reaches the hooks
     * (post_write sees it set in its new value) but is never stored: it
     * always reads 0.
     */
    QME_REG_PULSE,
} QmeRegAccess;

/* Register flags. */
enum {
    /* Only accesses of exactly the register's size are accepted. */
    QME_REGF_NO_PARTIAL = 1u << 0,
};

/*
 * A field of a register.  Its access kind is for documentation and
 * debuggers: the engine runs on the per-bit masks of the QmeReg, which the
 * generator compiles from the fields.
 */
typedef struct QmeRegField {
    const char *name;
    uint8_t shift;
    uint8_t width;
    QmeRegAccess access;
    const char *doc;
} QmeRegField;

typedef struct QmeRegBlock QmeRegBlock;
typedef struct QmeReg QmeReg;

/*
 * Side-effect hooks.  All are optional.
 *
 * read:       called on a guest read after access rules; returns the value
 *             the guest sees (the stored value is passed in).  Use it for
 *             registers computed on the fly.  It must not change state:
 *             monitors call it too (qme_reg_peek()), and a read's only
 *             side effect is clearing read-to-clear bits, which the engine
 *             does.
 * pre_write:  called with the value the access rules are about to store;
 *             returns the value actually stored (may veto or adjust bits).
 * post_write: called after the new value is stored, with the old value,
 *             for side effects (doorbells, starting DMA, raising IRQs).
 */
typedef uint64_t (*QmeRegReadHook)(QmeRegBlock *blk, const QmeReg *reg,
                                   uint64_t value);
typedef uint64_t (*QmeRegPreWriteHook)(QmeRegBlock *blk, const QmeReg *reg,
                                       uint64_t value);
typedef void (*QmeRegPostWriteHook)(QmeRegBlock *blk, const QmeReg *reg,
                                    uint64_t old_value, uint64_t new_value);

/*
 * A register.  @access gates the whole register: a WO register refuses
 * reads, an RO or RC register refuses writes, and a W1C, W1S or RC
 * register applies that rule to all its bits.  A register whose fields
 * differ in access has the gate RW (RO if none of its bits is writable,
 * WO if none is readable) and says per bit, in the masks below, what
 * differs from plain read/write.  Bits in no mask behave as the gate says.
 */
struct QmeReg {
    const char *name;
    uint32_t offset;        /* byte offset in the block, aligned to size */
    uint8_t size;           /* bytes: 1, 2, 4 or 8 */
    uint8_t flags;          /* QME_REGF_* */
    QmeRegAccess access;    /* never QME_REG_PULSE */
    uint64_t reset;         /* value after qme_regblock_reset() */
    uint64_t writable;      /* bits a guest write may change (or clear/set) */
    uint64_t reserved;      /* bits that read as 0; writing 1 is reported */
    uint64_t w1c_mask;      /* writable bits a written 1 clears */
    uint64_t w1s_mask;      /* writable bits a written 1 sets */
    uint64_t rc_mask;       /* read-only bits a read clears (its bytes) */
    uint64_t wo_mask;       /* writable bits that read as 0 */
    uint64_t pulse_mask;    /* writable bits passed to hooks, not stored */
    QmeRegReadHook read;
    QmeRegPreWriteHook pre_write;
    QmeRegPostWriteHook post_write;
    const char *doc;
    const QmeRegField *fields;
    unsigned nfields;
};

/*
 * Result of one guest access.  Anything but QME_REG_OK is something the
 * caller should report (QEMU glue: LOG_GUEST_ERROR).  The result of the
 * access is always defined: a refused read yields 0, a refused write
 * changes nothing.  QME_REG_RESERVED_BITS is the one status where the
 * access still took effect (with the reserved bits dropped).  A composed
 * access (qme_regblock_read) reports the first non-OK status of its
 * registers; the registers that accepted their part still took effect.
 */
typedef enum QmeRegStatus {
    QME_REG_OK = 0,
    QME_REG_UNMAPPED,       /* no register at that offset */
    QME_REG_BAD_SIZE,       /* bad size, unaligned, partial access of a
                               NO_PARTIAL register, wide access that
                               covers a hole (see qme_regblock_read) */
    QME_REG_READ_ONLY,      /* write to an RO register */
    QME_REG_WRITE_ONLY,     /* read of a WO register */
    QME_REG_RESERVED_BITS,  /* write set reserved bits (applied without them) */
} QmeRegStatus;

struct QmeRegBlock {
    const QmeReg *regs;     /* sorted by offset, non-overlapping */
    unsigned nregs;
    uint64_t *values;       /* nregs values, owned by the device state */
    void *opaque;           /* the device, for hooks */
};

/*
 * Check the table (sorted, aligned, no overlap, valid sizes, reset value
 * within the register, consistent per-bit masks) and bind it to @values.
 * Returns 0 on success, -1 on failure with errno set to EINVAL and a
 * message in @err.  Does not reset the values.
 */
int qme_regblock_init(QmeRegBlock *blk, const QmeReg *regs, unsigned nregs,
                      uint64_t *values, void *opaque,
                      char *err, size_t errlen);

/* Load every register's reset value.  No hooks run.  Cannot fail. */
void qme_regblock_reset(QmeRegBlock *blk);

/* The register containing byte @addr, or NULL if none (errno untouched). */
const QmeReg *qme_regblock_find(const QmeRegBlock *blk, uint64_t addr);

/*
 * Guest accesses: apply access rules and run hooks.  An access is
 * (@addr, @size) with @size 1, 2, 4 or 8 and @addr aligned to it (else
 * QME_REG_BAD_SIZE); no register at @addr gives QME_REG_UNMAPPED.
 *
 * Inside one register: an access of the register's size, or a smaller
 * ("partial") one on its own bytes (little-endian lanes) unless the
 * register has QME_REGF_NO_PARTIAL (then QME_REG_BAD_SIZE).
 *
 * Wider than the register at @addr (a "composed" access, e.g. a 64-bit
 * read of two 32-bit registers, which is what QEMU's monitor `xp /2wx`
 * and a guest readq() do): accepted only if the registers it covers tile
 * [@addr, @addr + @size) exactly, with no hole, and none of them has
 * QME_REGF_NO_PARTIAL.  Then each covered register is accessed in turn,
 * by ascending offset, as a full-size access of its own, with its own
 * rules and hooks: RC clears, WO reads 0, RO/RC writes are dropped, each
 * hook runs once for its register (a write runs one register's pre_write
 * and post_write before the next register's).  A read returns the
 * registers' values composed little-endian (register at @addr + k in
 * bytes k..); a write gives each register its bytes of @value.  The
 * status is the first non-OK status of the registers, in that order:
 * the others still took effect.  Otherwise (a hole, a NO_PARTIAL
 * register) the whole access is refused with QME_REG_BAD_SIZE before any
 * register is touched: reads give 0, writes change nothing, no hook runs.
 *
 * Natural alignment means an access never covers part of a register
 * other than the one at @addr: it is either inside that register or
 * covers whole registers.
 *
 * Per bit (registers with fields of different kinds): W1C and W1S bits
 * take a written 1 as clear or set, RC bits are cleared by a read of
 * their bytes, WO bits read 0, PULSE bits reach the write's hooks but
 * are not stored (they read 0).
 *
 * These cannot fail as C functions: they return the access's status
 * (QME_REG_OK or what the guest did wrong), never -1.
 */
QmeRegStatus qme_regblock_read(QmeRegBlock *blk, uint64_t addr,
                               unsigned size, uint64_t *value);
QmeRegStatus qme_regblock_write(QmeRegBlock *blk, uint64_t addr,
                                unsigned size, uint64_t value);

/*
 * Device-side access by table index: no access rules, no hooks.  Cannot
 * fail: qme_reg_get() returns the stored value.
 */
static inline uint64_t qme_reg_get(const QmeRegBlock *blk, unsigned idx)
{
    return blk->values[idx];
}

static inline void qme_reg_set(QmeRegBlock *blk, unsigned idx, uint64_t v)
{
    blk->values[idx] = v;
}

/*
 * What a full-size guest read of @reg would return now, without the read's
 * side effect: read-to-clear bits stay set.  Access rules and the read hook
 * apply (a write-only register gives 0).  For monitors and debuggers.
 * Cannot fail: returns the value.
 */
uint64_t qme_reg_peek(QmeRegBlock *blk, const QmeReg *reg);

/* Index of @reg in its block's table.  Cannot fail. */
static inline unsigned qme_reg_index(const QmeRegBlock *blk, const QmeReg *reg)
{
    return (unsigned)(reg - blk->regs);
}

/*
 * Names for logs ("write to read-only register", "w1c").  Cannot fail:
 * an unknown value gives a placeholder string, never NULL.
 */
const char *qme_reg_status_str(QmeRegStatus status);
const char *qme_reg_access_str(QmeRegAccess access);

#ifdef __cplusplus
}
#endif

#endif /* QME_REGTABLE_H */
