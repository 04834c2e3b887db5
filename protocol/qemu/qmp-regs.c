/*
 * Register introspection over QMP, for every device whose registers come
 * from a table (qme_mmio_regs_init()), ours and anyone's:
 *
 *   qme-reg-list  path                  every block, register and field
 *   qme-reg-read  path register [block] one register, without the side
 *                                       effect of a guest read
 *   qme-reg-write path register value [mode] [block]
 *                 mode "guest" (default): the guest's access rules and
 *                 hooks; "raw": stored as the device itself would
 *
 * path is a QOM path or a device id; register a name or an offset.  A
 * device's blocks are found through QOM (a block's region is a child of
 * the device), so nothing keeps a list of devices.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"
#include "hw/qdev-core.h"
#include "qom/object.h"
#include "qme/qemu-compat.h"
#include "qme/qmp.h"
#include "qme/regtable-qemu.h"
#include "trace-qme_regs.h"

/* A device and its register blocks, by block name. */
typedef struct QmpRegsDevice {
    DeviceState *dev;
    char *path;
    GPtrArray *blocks;      /* QmeMmioRegs * */
} QmpRegsDevice;

static int qmp_regs_add_block(Object *child, void *opaque)
{
    MemoryRegion *mr = (MemoryRegion *)object_dynamic_cast(child,
                                                           TYPE_MEMORY_REGION);
    QmeMmioRegs *regs = mr ? qme_mmio_regs_from_mr(mr) : NULL;

    if (regs) {
        g_ptr_array_add(opaque, regs);
    }
    return 0;
}

static gint qmp_regs_block_cmp(gconstpointer a, gconstpointer b)
{
    const QmeMmioRegs *ra = *(QmeMmioRegs *const *)a;
    const QmeMmioRegs *rb = *(QmeMmioRegs *const *)b;

    return strcmp(memory_region_name(&ra->mr), memory_region_name(&rb->mr));
}

static void qmp_regs_device_free(QmpRegsDevice *d)
{
    g_free(d->path);
    g_ptr_array_free(d->blocks, true);
}

/* @path: a QOM path, or the id of a -device (/machine/peripheral/ID). */
static int qmp_regs_device_find(QmpRegsDevice *d, const char *path,
                                Error **errp)
{
    Object *obj = NULL;
    bool ambiguous = false;

    if (!strchr(path, '/')) {
        g_autofree char *full = g_strdup_printf("/machine/peripheral/%s",
                                                path);

        obj = object_resolve_path(full, NULL);
    }
    if (!obj) {
        obj = object_resolve_path(path, &ambiguous);
    }
    if (!obj) {
        error_setg(errp, ambiguous ? "Path '%s' is ambiguous" :
                   "Device '%s' not found", path);
        return -1;
    }
    d->dev = (DeviceState *)object_dynamic_cast(obj, TYPE_DEVICE);
    if (!d->dev) {
        error_setg(errp, "'%s' is a %s, not a device", path,
                   object_get_typename(obj));
        return -1;
    }
    d->path = object_get_canonical_path(obj);
    d->blocks = g_ptr_array_new();
    object_child_foreach(obj, qmp_regs_add_block, d->blocks);
    if (!d->blocks->len) {
        error_setg(errp, "Device '%s' (%s) has no register table", d->path,
                   object_get_typename(obj));
        qmp_regs_device_free(d);
        return -1;
    }
    g_ptr_array_sort(d->blocks, qmp_regs_block_cmp);
    return 0;
}

static QDict *qmp_regs_describe(QmeMmioRegs *regs, const QmeReg *r)
{
    QmeRegBlock *blk = &regs->blk;
    uint64_t value = qme_reg_peek(blk, r);
    QDict *reg = qdict_new();
    QList *fields = qlist_new();
    unsigned i;

    qdict_put_str(reg, "name", r->name);
    qdict_put_str(reg, "block", memory_region_name(&regs->mr));
    qdict_put_int(reg, "offset", r->offset);
    qdict_put_int(reg, "size", r->size);
    qdict_put_str(reg, "access", qme_reg_access_str(r->access));
    qdict_put(reg, "reset", qnum_from_uint(r->reset));
    /* What a guest read would return now, and what the device holds. */
    qdict_put(reg, "value", qnum_from_uint(value));
    qdict_put(reg, "stored",
              qnum_from_uint(qme_reg_get(blk, qme_reg_index(blk, r))));
    if (r->doc) {
        qdict_put_str(reg, "doc", r->doc);
    }
    for (i = 0; i < r->nfields; i++) {
        const QmeRegField *f = &r->fields[i];
        QDict *field = qdict_new();

        qdict_put_str(field, "name", f->name);
        qdict_put_int(field, "bit", f->shift);
        qdict_put_int(field, "width", f->width);
        qdict_put_str(field, "access", qme_reg_access_str(f->access));
        qdict_put(field, "value", qnum_from_uint((value >> f->shift) &
                                                 (~0ULL >> (64 - f->width))));
        if (f->doc) {
            qdict_put_str(field, "doc", f->doc);
        }
        qlist_append(fields, field);
    }
    qdict_put(reg, "fields", fields);
    return reg;
}

/* The block named @block, or any if @block is NULL. */
static bool qmp_regs_block_match(QmeMmioRegs *regs, const char *block)
{
    return !block || !strcmp(block, memory_region_name(&regs->mr));
}

/*
 * The register named (a string) or at the offset (a number) @which, in
 * block @block if not NULL.  A name or offset found in several blocks
 * needs @block.
 */
static const QmeReg *qmp_regs_lookup(QmpRegsDevice *d, QObject *which,
                                     const char *block, QmeMmioRegs **regs,
                                     Error **errp)
{
    QString *qname = qobject_to(QString, which);
    QNum *qnum = qobject_to(QNum, which);
    const char *name = qname ? qstring_get_str(qname) : NULL;
    const QmeReg *found = NULL;
    uint64_t offset = 0;
    unsigned i, j, blocks = 0, matches = 0;

    if (!which) {
        error_setg(errp, "Parameter 'register' is missing");
        return NULL;
    }
    if (!name && !(qnum && qnum_get_try_uint(qnum, &offset))) {
        error_setg(errp, "Parameter 'register' expects a register name or "
                   "offset");
        return NULL;
    }
    for (i = 0; i < d->blocks->len; i++) {
        QmeMmioRegs *b = g_ptr_array_index(d->blocks, i);

        if (!qmp_regs_block_match(b, block)) {
            continue;
        }
        blocks++;
        for (j = 0; j < b->blk.nregs; j++) {
            const QmeReg *r = &b->blk.regs[j];

            if (name ? !strcmp(name, r->name) : r->offset == offset) {
                found = r;
                *regs = b;
                matches++;
            }
        }
    }
    if (!blocks) {
        error_setg(errp, "Device '%s' has no register block '%s'", d->path,
                   block);
    } else if (matches > 1) {
        error_setg(errp, "Device '%s' has %u registers %s: name the block "
                   "with 'block'", d->path, matches,
                   name ? name : "at that offset");
    } else if (!matches && name) {
        error_setg(errp, "Device '%s' has no register '%s'", d->path, name);
    } else if (!matches) {
        error_setg(errp, "Device '%s' has no register at offset 0x%" PRIx64,
                   d->path, offset);
    }
    return matches == 1 ? found : NULL;
}

static void qmp_qme_reg_list(QDict *args, QObject **ret, Error **errp)
{
    static const char *const known[] = { "path", NULL };
    const char *path = qdict_get_try_str(args, "path");
    QmpRegsDevice d;
    QList *blocks;
    QDict *reply;
    unsigned i, j;

    if (qme_qmp_check_args(args, known, errp) < 0) {
        return;
    }
    if (!path) {
        error_setg(errp, "Parameter 'path' expects a QOM path or device id");
        return;
    }
    if (qmp_regs_device_find(&d, path, errp) < 0) {
        return;
    }
    blocks = qlist_new();
    for (i = 0; i < d.blocks->len; i++) {
        QmeMmioRegs *regs = g_ptr_array_index(d.blocks, i);
        QDict *block = qdict_new();
        QList *list = qlist_new();

        for (j = 0; j < regs->blk.nregs; j++) {
            QDict *reg = qmp_regs_describe(regs, &regs->blk.regs[j]);

            qdict_del(reg, "block");
            qlist_append(list, reg);
        }
        qdict_put_str(block, "name", memory_region_name(&regs->mr));
        qdict_put_int(block, "size", memory_region_size(&regs->mr));
        qdict_put(block, "registers", list);
        qlist_append(blocks, block);
    }
    reply = qdict_new();
    qdict_put_str(reply, "path", d.path);
    qdict_put_str(reply, "type", object_get_typename(OBJECT(d.dev)));
    qdict_put(reply, "blocks", blocks);
    *ret = QOBJECT(reply);
    qmp_regs_device_free(&d);
}

/* Device, block and register of a qme-reg-read or qme-reg-write. */
static const QmeReg *qmp_regs_target(QDict *args, const char *const known[],
                                     QmpRegsDevice *d, QmeMmioRegs **regs,
                                     Error **errp)
{
    const char *path = qdict_get_try_str(args, "path");
    const char *block = qdict_get_try_str(args, "block");
    const QmeReg *r;

    if (qme_qmp_check_args(args, known, errp) < 0) {
        return NULL;
    }
    if (!path) {
        error_setg(errp, "Parameter 'path' expects a QOM path or device id");
        return NULL;
    }
    if (qdict_haskey(args, "block") && !block) {
        error_setg(errp, "Parameter 'block' expects a block name");
        return NULL;
    }
    if (qmp_regs_device_find(d, path, errp) < 0) {
        return NULL;
    }
    r = qmp_regs_lookup(d, qdict_get(args, "register"), block, regs, errp);
    if (!r) {
        qmp_regs_device_free(d);
    }
    return r;
}

static void qmp_qme_reg_read(QDict *args, QObject **ret, Error **errp)
{
    static const char *const known[] = { "path", "register", "block", NULL };
    QmpRegsDevice d;
    QmeMmioRegs *regs;
    const QmeReg *r = qmp_regs_target(args, known, &d, &regs, errp);

    if (r) {
        *ret = QOBJECT(qmp_regs_describe(regs, r));
        qmp_regs_device_free(&d);
    }
}

/*
 * mode "guest": what a guest write of the whole register does, except
 * that a value a guest write would apply only in part (read-only
 * register, reserved bits) is refused and changes nothing.
 */
static void qmp_regs_write(QmeMmioRegs *regs, const QmeReg *r,
                           uint64_t value, bool raw, Error **errp)
{
    QmeRegBlock *blk = &regs->blk;

    trace_qme_regs_monitor_write(regs->name, r->name, value,
                                 raw ? "raw" : "guest");
    if (raw) {
        qme_reg_set(blk, qme_reg_index(blk, r), value);
    } else if (r->access == QME_REG_RO || r->access == QME_REG_RC) {
        error_setg(errp, "Register %s is read-only for the guest (mode 'raw' "
                   "stores a value)", r->name);
    } else if (value & r->reserved) {
        error_setg(errp, "Value 0x%" PRIx64 " sets reserved bits 0x%" PRIx64
                   " of register %s", value, value & r->reserved, r->name);
    } else {
        qme_regblock_write(blk, r->offset, r->size, value);
    }
}

static void qmp_qme_reg_write(QDict *args, QObject **ret, Error **errp)
{
    static const char *const known[] = {
        "path", "register", "value", "mode", "block", NULL
    };
    QNum *qvalue = qobject_to(QNum, qdict_get(args, "value"));
    const char *mode = qdict_get_try_str(args, "mode");
    uint64_t value = 0;
    QmpRegsDevice d;
    QmeMmioRegs *regs;
    const QmeReg *r;

    if (qdict_haskey(args, "mode") &&
        (!mode || (strcmp(mode, "guest") && strcmp(mode, "raw")))) {
        error_setg(errp, "Parameter 'mode' expects guest or raw");
        return;
    }
    if (!qvalue || !qnum_get_try_uint(qvalue, &value)) {
        error_setg(errp, "Parameter 'value' %s", qdict_haskey(args, "value") ?
                   "expects an unsigned integer" : "is missing");
        return;
    }
    r = qmp_regs_target(args, known, &d, &regs, errp);
    if (!r) {
        return;
    }
    if (r->size < 8 && value >> (r->size * 8)) {
        error_setg(errp, "Value 0x%" PRIx64 " does not fit register %s "
                   "(%u bytes)", value, r->name, r->size);
    } else {
        qmp_regs_write(regs, r, value, mode && !strcmp(mode, "raw"), errp);
    }
    if (!*errp) {
        *ret = QOBJECT(qmp_regs_describe(regs, r));
    }
    qmp_regs_device_free(&d);
}

static void __attribute__((constructor)) qmp_regs_register(void)
{
    qme_qmp_register_command("qme-reg-list", qmp_qme_reg_list);
    qme_qmp_register_command("qme-reg-read", qmp_qme_reg_read);
    qme_qmp_register_command("qme-reg-write", qmp_qme_reg_write);
}
