/*
 * qme-storm: seeded random operation storms against one device model
 * (see README.md in this folder).
 *
 * One test per device: /storm/NAME runs QME_STORM_OPS (default 100000)
 * operations drawn from a seeded generator against the device described by
 * storm_devices[] and passes if QEMU neither dies, asserts nor hangs.  The
 * device's own knowledge is data (storm-devices.c); this file is the one
 * loop that turns it into operations:
 *
 *  - MMIO reads and writes of 1, 2, 4 and 8 bytes at registers, at
 *    random and unaligned offsets, at the window's edge and past it;
 *  - register programs (DMA source, destination, length, go; doorbells)
 *    with values that look valid most of the time, so deep paths run:
 *    addresses in guest RAM, at unmapped space, at the device's own
 *    windows and config space, at the MSI doorbell, and wrapping ones;
 *  - guest RAM filled with patterns and register-like values, so DMA from
 *    it into the device's own registers carries commands;
 *  - PCI config writes: command register, BARs (moved, sized, cleared),
 *    MSI, MSI-X and Express capability fields, device-specific fields,
 *    random offsets; and a "repair" that puts BARs and the command
 *    register back, so most of the storm reaches the device;
 *  - clock_step (to the next deadline or by up to a second), system_reset,
 *    and one migration to a file half way, the storm going on in the
 *    incoming QEMU.
 *
 * Every wait is bounded (the harness's QME_QTEST_TIMEOUT, here 10 s unless
 * set, and QME_STORM_BUDGET seconds for the whole storm).  On failure the
 * last operations, QEMU's output and a command line that replays the seed
 * are printed.  Environment: QME_STORM_SEED (default: from the clock),
 * QME_STORM_OPS, QME_STORM_BUDGET, QME_STORM_GUEST_ERRORS,
 * QME_STORM_QEMU_ARGS (README.md), and the harness's QME_* variables.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "qme-qtest.h"
#include "storm.h"

#define STORM_DEFAULT_OPS       100000
#define STORM_DEFAULT_BUDGET_S  100
#define STORM_QTEST_TIMEOUT_S   "10"
#define STORM_MIGRATE_MS        30000
#define STORM_SERVER_WAIT_MS    5000
#define STORM_HISTORY           48
#define STORM_LOG_TAIL          20

/* virt with the default 128 MiB of RAM */
#define RAM_SIZE                (128ULL << 20)
#define RAM_END                 (QME_VIRT_RAM_BASE + RAM_SIZE)
/* DMA and MSI addresses in RAM are drawn from here. */
#define SCRATCH                 (QME_VIRT_RAM_BASE + 0x100000)
#define SCRATCH_SIZE            0x200000ULL
#define V2M_SETSPI              0x08020040ULL   /* GICv2m MSI doorbell */
#define ROOT_PORT_DEVFN         QME_PCI_DEVFN(1, 0)

#define PCI_COMMAND             0x04
#define PCI_COMMAND_IO          0x1
#define PCI_COMMAND_MEMORY      0x2
#define PCI_COMMAND_MASTER      0x4
#define PCI_COMMAND_INTX_DIS    0x400
#define PCI_BASE_ADDRESS_0      0x10
#define PCI_ROM_ADDRESS         0x30
#define PCI_CAP_ID_MSI          0x05
#define PCI_CAP_ID_EXP          0x10
#define PCI_CAP_ID_MSIX         0x11

/* Addresses nothing decodes on virt (128 MiB of RAM, no firmware). */
static const uint64_t unmapped_addrs[] = {
    RAM_END, 0x0a800000, 0x3e000000, 0x10000000000ULL, 0x7000000000ULL,
};
/* Other devices' registers: a DMA or MSI may land there too. */
static const uint64_t system_addrs[] = {
    0, V2M_SETSPI, 0x08000000, 0x09000000,
};

typedef enum StormOpType {
    OP_READ,
    OP_WRITE,
    OP_CLOCK,
    OP_MEMSET,
    OP_RESET,
    OP_MIGRATE,
} StormOpType;

typedef struct StormOp {
    uint64_t n;
    uint64_t addr;
    uint64_t val;
    uint8_t type;
    uint8_t size;
} StormOp;

typedef struct StormBar {
    bool present;
    bool is64;
    bool io;
    uint64_t addr;
    uint64_t size;
} StormBar;

typedef struct Storm {
    const StormDevice *dev;
    uint64_t seed;
    uint64_t rng;
    QmeQTest *qt;
    int qemu_gen;           /* 1: first QEMU, 2: incoming */
    char *dir;
    char *sock;
    GPid server;

    /* PCI */
    QmePciDev *pci;
    StormBar bar[6];
    uint8_t msi_cap, msix_cap, exp_cap;
    bool msi64, msi_maskable;

    uint64_t ops;
    uint64_t target;
    uint64_t migrate_at;
    uint64_t count[OP_MIGRATE + 1];
    uint64_t resets, programs, repairs;
    StormOp history[STORM_HISTORY];
    StormOp slowest;            /* last operation of the slowest step */
    gint64 slowest_us;
    uint64_t slow_steps;        /* steps over 10 ms, and their time */
    gint64 slow_us;
    gint64 start_us;
    gint64 deadline_us;
} Storm;

static volatile sig_atomic_t storm_stop;

/*
 * Messages: TAP diagnostics; g_test_trap_subprocess() children run with
 * -q, which drops g_test_message(), so they go to stderr there.
 */
static void G_GNUC_PRINTF(1, 2) storm_msg(const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    g_auto(GStrv) lines = NULL;
    va_list ap;
    int i;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    /* One diagnostic per line keeps the TAP stream well-formed. */
    lines = g_strsplit(msg, "\n", -1);
    for (i = 0; lines[i]; i++) {
        if (!*lines[i] && !lines[i + 1]) {
            break;
        }
        if (g_test_quiet()) {
            g_printerr("# %s\n", lines[i]);
        } else {
            g_test_message("%s", lines[i]);
        }
    }
}

/*
 * Random numbers: xorshift64*, seeded through splitmix64, so one seed
 * gives the same operations on every host.
 */

static void rng_seed(Storm *st, uint64_t seed)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    st->rng = (z ^ (z >> 31)) | 1;
}

static uint64_t rnd(Storm *st)
{
    st->rng ^= st->rng >> 12;
    st->rng ^= st->rng << 25;
    st->rng ^= st->rng >> 27;
    return st->rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(Storm *st, uint64_t n)
{
    return n ? rnd(st) % n : 0;
}

static bool chance(Storm *st, unsigned percent)
{
    return rnd_below(st, 100) < percent;
}

static uint64_t pick(Storm *st, const uint64_t *vals, unsigned n)
{
    return vals[rnd_below(st, n)];
}

static unsigned rnd_size(Storm *st)
{
    return 1u << rnd_below(st, 4);
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

/*
 * Operations: every access QEMU sees goes through here, is counted and
 * kept in the history printed on failure.
 */

static void record(Storm *st, StormOpType type, uint64_t addr, unsigned size,
                   uint64_t val)
{
    StormOp *op = &st->history[st->ops % STORM_HISTORY];

    op->n = st->ops;
    op->type = type;
    op->addr = addr;
    op->size = size;
    op->val = val;
    st->count[type]++;
    st->ops++;
}

static uint64_t st_read(Storm *st, uint64_t addr, unsigned size)
{
    uint64_t v = 0;

    record(st, OP_READ, addr, size, 0);
    switch (size) {
    case 1:
        v = qme_qtest_readb(st->qt, addr);
        break;
    case 2:
        v = qme_qtest_readw(st->qt, addr);
        break;
    case 4:
        v = qme_qtest_readl(st->qt, addr);
        break;
    default:
        v = qme_qtest_readq(st->qt, addr);
        break;
    }
    return v;
}

static void st_write(Storm *st, uint64_t addr, unsigned size, uint64_t val)
{
    val &= size_mask(size);
    record(st, OP_WRITE, addr, size, val);
    switch (size) {
    case 1:
        qme_qtest_writeb(st->qt, addr, val);
        break;
    case 2:
        qme_qtest_writew(st->qt, addr, val);
        break;
    case 4:
        qme_qtest_writel(st->qt, addr, val);
        break;
    default:
        qme_qtest_writeq(st->qt, addr, val);
        break;
    }
}

static uint64_t ecam(uint8_t bus, uint8_t devfn, uint16_t off)
{
    return QME_VIRT_PCIE_ECAM_BASE + ((uint64_t)bus << 20) +
           ((uint64_t)devfn << 12) + (off & 0xfff);
}

static void cfg_write(Storm *st, uint8_t bus, uint8_t devfn, uint16_t off,
                      unsigned size, uint64_t val)
{
    st_write(st, ecam(bus, devfn, off), size, val);
}

static void dev_cfg_write(Storm *st, uint16_t off, unsigned size,
                          uint64_t val)
{
    cfg_write(st, st->pci->bus, st->pci->devfn, off, size, val);
}

/*
 * Values
 */

static uint64_t gen_any(Storm *st)
{
    switch (rnd_below(st, 8)) {
    case 0:
        return 0;
    case 1:
        return ~0ULL;
    case 2:
        return 1ULL << rnd_below(st, 64);
    case 3:
        return rnd_below(st, 16);
    case 4:
        return (uint32_t)rnd(st);
    default:
        return rnd(st);
    }
}

/* A random address inside one of the device's windows (or config space). */
static bool gen_own_addr(Storm *st, uint64_t *addr)
{
    const StormDevice *dev = st->dev;
    unsigned i = rnd_below(st, dev->nwin + (st->pci ? 1 : 0));

    if (i == dev->nwin) {
        *addr = ecam(st->pci->bus, st->pci->devfn, rnd_below(st, 0x100));
        return true;
    }
    if (dev->win[i].bar < 0) {
        *addr = dev->win[i].addr + rnd_below(st, dev->win[i].size);
        return true;
    }
    if (st->bar[dev->win[i].bar].present) {
        const StormBar *b = &st->bar[dev->win[i].bar];

        *addr = b->addr + rnd_below(st, b->size);
        return true;
    }
    return false;
}

static uint64_t gen_ram(Storm *st, unsigned align)
{
    return (SCRATCH + rnd_below(st, SCRATCH_SIZE)) & ~(uint64_t)(align - 1);
}

static uint64_t gen_addr(Storm *st)
{
    unsigned r = rnd_below(st, 100);
    uint64_t a;

    if (r < 40) {
        return gen_ram(st, chance(st, 70) ? 8 : 1);
    }
    if (r < 47) {
        return RAM_END - 1 - rnd_below(st, 0x2000);
    }
    if (r < 65 && gen_own_addr(st, &a)) {
        return a & ~(uint64_t)(chance(st, 80) ? 3 : 0);
    }
    if (r < 75) {
        return pick(st, unmapped_addrs, G_N_ELEMENTS(unmapped_addrs)) +
               rnd_below(st, 0x1000);
    }
    if (r < 80) {
        return ~0ULL - rnd_below(st, 0x1000);
    }
    if (r < 87) {
        return pick(st, system_addrs, G_N_ELEMENTS(system_addrs));
    }
    return gen_any(st);
}

static uint64_t buf_size(Storm *st)
{
    return st->dev->buf_size ? st->dev->buf_size : 0x1000;
}

static uint64_t gen_bufoff(Storm *st)
{
    uint64_t base = st->dev->buf_base, size = buf_size(st);
    unsigned r = rnd_below(st, 100);

    if (r < 40) {
        return base + (rnd_below(st, size) & ~(uint64_t)(chance(st, 60) ?
                                                          7 : 0));
    }
    if (r < 55) {
        return base;
    }
    if (r < 65) {
        return base + size - 1 - rnd_below(st, 64);
    }
    if (r < 75) {
        return base + size + rnd_below(st, 16);
    }
    if (r < 85) {
        return (uint32_t)rnd(st);
    }
    if (r < 90) {
        return ~0ULL - rnd_below(st, 16);
    }
    return rnd(st);
}

static uint64_t gen_len(Storm *st)
{
    uint64_t size = buf_size(st);
    unsigned r = rnd_below(st, 100);

    if (r < 5) {
        return 0;
    }
    if (r < 25) {
        return 1 + rnd_below(st, 64);
    }
    if (r < 45) {
        return 1 + rnd_below(st, MIN(size, 0x1000));
    }
    if (r < 65) {
        return 1 + rnd_below(st, size);
    }
    if (r < 75) {
        return size;
    }
    if (r < 82) {
        return size - 1 + rnd_below(st, 3);
    }
    if (r < 86) {
        return size * 2;
    }
    if (r < 90) {
        return 0xffffffff;
    }
    return gen_any(st);
}

static uint64_t gen_msi_addr(Storm *st)
{
    unsigned r = rnd_below(st, 100);

    if (r < 50) {
        return gen_ram(st, 4);
    }
    if (r < 70) {
        return V2M_SETSPI;
    }
    return gen_addr(st);
}

static uint64_t gen_value(Storm *st, const StormReg *reg)
{
    switch (reg->kind) {
    case STORM_LIST:
        if (reg->nvals && chance(st, 80)) {
            return pick(st, reg->vals, reg->nvals);
        }
        return gen_any(st) & (reg->mask ? reg->mask : ~0ULL);
    case STORM_ADDR:
        return gen_addr(st);
    case STORM_BUFOFF:
        return gen_bufoff(st);
    case STORM_ADDR_OR_OFF:
        return chance(st, 50) ? gen_addr(st) : gen_bufoff(st);
    case STORM_LEN:
        return gen_len(st);
    case STORM_MSI_ADDR:
        return gen_msi_addr(st);
    default:
        return gen_any(st);
    }
}

/*
 * A register of @w, rare ones 500 times less often (about one in 20,000
 * operations for mmio-sockdev's fault command); NULL if none.
 */
#define STORM_WEIGHT(reg) ((reg)->rare ? 1 : 500)

static const StormReg *pick_reg(Storm *st, const StormWindow *w)
{
    unsigned total = 0, i, r;

    for (i = 0; i < w->nregs; i++) {
        total += STORM_WEIGHT(&w->regs[i]);
    }
    if (!total) {
        return NULL;
    }
    r = rnd_below(st, total);
    for (i = 0; i < w->nregs; i++) {
        unsigned wt = STORM_WEIGHT(&w->regs[i]);

        if (r < wt) {
            return &w->regs[i];
        }
        r -= wt;
    }
    return NULL;
}

/* Where window @w is now; false if its BAR is not there. */
static bool win_range(Storm *st, const StormWindow *w, uint64_t *base,
                      uint64_t *size)
{
    const StormBar *b;

    if (w->bar < 0) {
        *base = w->addr;
        *size = w->size;
        return true;
    }
    b = &st->bar[w->bar];
    if (!b->present || b->io) {
        return false;
    }
    *base = b->addr + w->addr;
    *size = w->size ? w->size : b->size - w->addr;
    return true;
}

/*
 * MMIO
 */

static void op_mmio(Storm *st)
{
    const StormWindow *w = &st->dev->win[rnd_below(st, st->dev->nwin)];
    const StormReg *reg = NULL;
    uint64_t base, wsize, off, val;
    unsigned size = rnd_size(st), r = rnd_below(st, 100);

    if (!win_range(st, w, &base, &wsize)) {
        return;
    }
    if (r < 60) {
        reg = pick_reg(st, w);
    }
    if (reg) {
        off = reg->off + rnd_below(st, reg->count ? reg->count : 1) *
              reg->stride;
        if (chance(st, 70)) {
            size = reg->size;
        } else if (size < reg->size) {
            off += rnd_below(st, reg->size / size) * size;
        }
        if (chance(st, 5)) {
            off += 1 + rnd_below(st, 3);        /* unaligned */
        }
    } else if (r < 80) {
        off = rnd_below(st, wsize);
        if (chance(st, 80)) {
            off &= ~(uint64_t)(size - 1);
        }
    } else if (r < 90) {
        off = wsize - pick(st, (const uint64_t[]){ 1, 2, 4, 8, 0 }, 5);
    } else {
        off = wsize + rnd_below(st, wsize);     /* past the window */
    }

    if (chance(st, 40)) {
        st_read(st, base + off, size);
        return;
    }
    val = reg ? gen_value(st, reg) : gen_any(st);
    if (reg && size < reg->size && chance(st, 50)) {
        val >>= 8 * ((off - reg->off) % reg->size);
    }
    st_write(st, base + off, size, val);
}

static void op_program(Storm *st)
{
    const StormProgram *p = &st->dev->prog[rnd_below(st, st->dev->nprog)];
    uint64_t base, wsize;
    unsigned i;

    if (!win_range(st, &st->dev->win[p->win], &base, &wsize)) {
        return;
    }
    st->programs++;
    for (i = 0; i < p->n; i++) {
        st_write(st, base + p->step[i].off, p->step[i].size,
                 gen_value(st, &p->step[i]));
    }
    /* Engines that finish on a timer get there now and then. */
    if (chance(st, 30)) {
        record(st, OP_CLOCK, 0, 0, 0);
        qme_qtest_clock_step(st->qt, 0);
    }
}

/* Guest RAM with patterns and register-like values, for DMA to carry. */
static void op_ram(Storm *st)
{
    const StormReg *reg = NULL;

    if (st->dev->nwin) {
        reg = pick_reg(st, &st->dev->win[rnd_below(st, st->dev->nwin)]);
    }

    if (reg && chance(st, 50)) {
        st_write(st, gen_ram(st, reg->size), reg->size, gen_value(st, reg));
        return;
    }
    {
        static const uint64_t bytes[] = { 0x00, 0x01, 0x03, 0x07, 0xff };
        uint64_t addr = gen_ram(st, 8);
        uint64_t len = 1 + rnd_below(st, 0x1000);
        uint8_t b = chance(st, 80) ? pick(st, bytes, G_N_ELEMENTS(bytes))
                                   : rnd(st);

        record(st, OP_MEMSET, addr, 0, ((uint64_t)len << 8) | b);
        qme_qtest_memset(st->qt, addr, b, len);
    }
}

static void op_clock(Storm *st)
{
    static const uint64_t limits[] = {
        1000, 1000000, 100000000, 1000000000,
    };
    uint64_t ns = chance(st, 30) ? 0 :
                  1 + rnd_below(st, pick(st, limits, G_N_ELEMENTS(limits)));

    record(st, OP_CLOCK, 0, 0, ns);
    qme_qtest_clock_step(st->qt, ns);
}

/*
 * PCI
 */

/*
 * The root port at 00:01.0 forwards bus 1 and the whole low PCIe window
 * (and the high one, prefetchable) to the device; it masters for it.
 */
static void root_port_setup(Storm *st)
{
    cfg_write(st, 0, ROOT_PORT_DEVFN, 0x18, 4, 0x00010100);  /* buses 0/1/1 */
    cfg_write(st, 0, ROOT_PORT_DEVFN, 0x20, 2,
              (QME_VIRT_PCIE_MMIO_BASE >> 16) & 0xfff0);
    cfg_write(st, 0, ROOT_PORT_DEVFN, 0x22, 2,
              ((QME_VIRT_PCIE_MMIO_END - 0xfffff) >> 16) & 0xfff0);
    cfg_write(st, 0, ROOT_PORT_DEVFN, 0x24, 2,
              ((QME_VIRT_PCIE_MMIO_HIGH >> 16) & 0xfff0) | 1);
    cfg_write(st, 0, ROOT_PORT_DEVFN, 0x26, 2,
              ((QME_VIRT_PCIE_MMIO_HIGH_END >> 16) & 0xfff0) | 1);
    cfg_write(st, 0, ROOT_PORT_DEVFN, 0x28, 4,
              QME_VIRT_PCIE_MMIO_HIGH >> 32);
    cfg_write(st, 0, ROOT_PORT_DEVFN, 0x2c, 4,
              QME_VIRT_PCIE_MMIO_HIGH_END >> 32);
    cfg_write(st, 0, ROOT_PORT_DEVFN, PCI_COMMAND, 2,
              PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

/* BARs back where they were placed, decoding and bus mastering on. */
static void pci_repair(Storm *st)
{
    uint16_t cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
    int i;

    st->repairs++;
    if (st->dev->root_port) {
        root_port_setup(st);
    }
    for (i = 0; i < 6; i++) {
        const StormBar *b = &st->bar[i];

        if (!b->present) {
            continue;
        }
        dev_cfg_write(st, PCI_BASE_ADDRESS_0 + 4 * i, 4, (uint32_t)b->addr);
        if (b->is64) {
            dev_cfg_write(st, PCI_BASE_ADDRESS_0 + 4 * i + 4, 4,
                          b->addr >> 32);
        }
        if (b->io) {
            cmd |= PCI_COMMAND_IO;
        }
    }
    dev_cfg_write(st, PCI_COMMAND, 2, cmd);
}

static bool pci_setup(Storm *st)
{
    const StormDevice *dev = st->dev;
    int i;

    if (dev->root_port) {
        uint32_t id;

        root_port_setup(st);
        id = qme_pci_cfg_read(st->qt, 1, 0, 0, 4);
        if (id != ((uint32_t)dev->device_id << 16 | dev->vendor_id)) {
            storm_msg("storm: no %04x:%04x behind the root port (01:00.0 "
                      "reads 0x%08x)", dev->vendor_id, dev->device_id, id);
            return false;
        }
        st->pci = g_new0(QmePciDev, 1);
        st->pci->qt = st->qt;
        st->pci->bus = 1;
        st->pci->devfn = 0;
        st->pci->vendor_id = dev->vendor_id;
        st->pci->device_id = dev->device_id;
    } else {
        st->pci = qme_pci_find(st->qt, dev->vendor_id, dev->device_id, 0);
        if (!st->pci) {
            storm_msg("storm: no PCI function %04x:%04x on bus 0",
                      dev->vendor_id, dev->device_id);
            return false;
        }
    }
    if (!qme_pci_assign_bars(st->pci)) {
        return false;
    }
    for (i = 0; i < 6; i++) {
        const QmePciBar *b = &st->pci->bar[i];

        st->bar[i] = (StormBar) {
            .present = b->present, .is64 = b->is64, .io = b->io,
            .addr = b->addr, .size = b->size,
        };
        if (b->present) {
            storm_msg("storm: BAR%d: %s%s, 0x%" PRIx64 " bytes at 0x%"
                      PRIx64, i, b->io ? "I/O" : "memory",
                      b->is64 ? " 64-bit" : "", b->size, b->addr);
        }
    }
    st->msi_cap = qme_pci_find_cap(st->pci, PCI_CAP_ID_MSI);
    st->msix_cap = qme_pci_find_cap(st->pci, PCI_CAP_ID_MSIX);
    st->exp_cap = qme_pci_find_cap(st->pci, PCI_CAP_ID_EXP);
    if (st->msi_cap) {
        uint16_t ctrl = qme_pci_config_readw(st->pci, st->msi_cap + 2);

        st->msi64 = ctrl & 0x80;
        st->msi_maskable = ctrl & 0x100;
    }
    storm_msg("storm: capabilities: MSI at 0x%x, MSI-X at 0x%x, "
              "Express at 0x%x", st->msi_cap, st->msix_cap, st->exp_cap);
    return qme_qtest_ok(st->qt);
}

static void op_config_bar(Storm *st)
{
    unsigned i = rnd_below(st, 7);
    uint16_t off = i == 6 ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * i;
    unsigned r = rnd_below(st, 100);
    uint64_t v;

    if (i < 6 && st->bar[i].present && r < 55) {
        v = st->bar[i].addr;
    } else if (r < 70) {
        v = 0xffffffff;                         /* sizing */
    } else if (r < 80) {
        v = 0;
    } else {
        v = QME_VIRT_PCIE_MMIO_BASE +
            (rnd_below(st, QME_VIRT_PCIE_MMIO_END - QME_VIRT_PCIE_MMIO_BASE) &
             ~0xfffULL);
    }
    dev_cfg_write(st, off, 4, v);
    if (i < 6 && st->bar[i].is64 && chance(st, 50)) {
        dev_cfg_write(st, off + 4, 4, chance(st, 70) ? v >> 32 : gen_any(st));
    }
}

static void op_config_msi(Storm *st)
{
    uint8_t cap = st->msi_cap;
    uint8_t data = cap + (st->msi64 ? 12 : 8);

    switch (rnd_below(st, 6)) {
    case 0:
    case 1:
        dev_cfg_write(st, cap + 2, 2,
                      chance(st, 70) ? 1 | rnd_below(st, 6) << 4 :
                      gen_any(st));
        break;
    case 2:
        dev_cfg_write(st, cap + 4, 4, gen_msi_addr(st));
        if (st->msi64) {
            dev_cfg_write(st, cap + 8, 4, chance(st, 80) ? 0 : gen_any(st));
        }
        break;
    case 3:
        dev_cfg_write(st, data, 2, gen_any(st));
        break;
    default:
        /* Mask bits, then pending bits (read-only), or past the end. */
        dev_cfg_write(st, data + 4 + 4 * rnd_below(st, 2), 4,
                      st->msi_maskable && chance(st, 60) ?
                      rnd_below(st, 16) : gen_any(st));
        break;
    }
}

static void op_config(Storm *st)
{
    static const uint64_t cmds[] = {
        PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
        PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DIS,
        PCI_COMMAND_MEMORY, PCI_COMMAND_MASTER, 0,
        PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
    };
    static const uint64_t msix_ctrl[] = { 0x8000, 0xc000, 0x4000, 0 };
    unsigned r = rnd_below(st, 100);
    unsigned size = 1u << rnd_below(st, 3);
    const StormReg *reg;

    if (r < 12) {
        dev_cfg_write(st, PCI_COMMAND, 2,
                      chance(st, 85) ? pick(st, cmds, G_N_ELEMENTS(cmds))
                                     : gen_any(st));
    } else if (r < 24) {
        op_config_bar(st);
    } else if (r < 40 && st->msi_cap) {
        op_config_msi(st);
    } else if (r < 50 && st->msix_cap) {
        dev_cfg_write(st, st->msix_cap + 2, 2,
                      chance(st, 85) ? pick(st, msix_ctrl, 4) : gen_any(st));
    } else if (r < 58 && st->exp_cap) {
        /* Device, link and device 2 control */
        static const uint64_t offs[] = { 0x08, 0x10, 0x28, 0x30 };

        dev_cfg_write(st, st->exp_cap + pick(st, offs, 4), 2, gen_any(st));
    } else if (r < 70 && st->dev->ncfg) {
        reg = &st->dev->cfg[rnd_below(st, st->dev->ncfg)];
        dev_cfg_write(st, reg->off, reg->size, gen_value(st, reg));
    } else if (r < 88) {
        uint16_t off = rnd_below(st, chance(st, 70) ? 0x100 : 0x1000);

        dev_cfg_write(st, off & ~(size - 1), size, gen_any(st));
    } else {
        uint16_t off = rnd_below(st, chance(st, 70) ? 0x100 : 0x1000);

        st_read(st, ecam(st->pci->bus, st->pci->devfn, off & ~(size - 1)),
                size);
    }
}

/*
 * Device server (mmio-sockdev)
 */

static bool file_has(const char *path, const char *needle)
{
    g_autofree char *text = NULL;

    return g_file_get_contents(path, &text, NULL, NULL) &&
           strstr(text, needle);
}

static bool server_alive(Storm *st)
{
    int status;

    return st->server > 0 && waitpid(st->server, &status, WNOHANG) == 0;
}

static bool server_start(Storm *st)
{
    g_autofree char *log = g_build_filename(st->dir, "server.log", NULL);
    gint64 deadline = g_get_monotonic_time() + STORM_SERVER_WAIT_MS * 1000LL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    pid_t parent = getpid();
    unsigned i;
    int fd;

    st->sock = g_build_filename(st->dir, "server.sock", NULL);
    for (i = 0; st->dev->server[i]; i++) {
        g_ptr_array_add(argv, g_str_equal(st->dev->server[i], "@SOCKET@") ?
                        g_strdup(st->sock) : g_strdup(st->dev->server[i]));
    }
    g_ptr_array_add(argv, NULL);
    fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        storm_msg("storm: cannot create %s: %s", log, strerror(errno));
        return false;
    }
    fflush(stdout);
    fflush(stderr);
    st->server = fork();
    if (st->server == 0) {
        /* Die with the storm, whatever kills it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execv(argv->pdata[0], (char **)argv->pdata);
        _exit(127);
    }
    close(fd);
    if (st->server < 0) {
        storm_msg("storm: fork: %s", strerror(errno));
        return false;
    }
    /* Both servers print this once they accept connections. */
    while (!file_has(log, "listening on")) {
        if (!server_alive(st) || g_get_monotonic_time() > deadline) {
            g_autofree char *text = NULL;

            g_file_get_contents(log, &text, NULL, NULL);
            storm_msg("storm: %s did not start: %s",
                      (char *)argv->pdata[0], text ? text : "");
            return false;
        }
        g_usleep(10000);
    }
    storm_msg("storm: device server %s (pid %d) on %s",
              (char *)argv->pdata[0], (int)st->server, st->sock);
    return true;
}

static void server_stop(Storm *st)
{
    int i, status;

    if (st->server <= 0) {
        return;
    }
    kill(st->server, SIGTERM);
    for (i = 0; i < 200; i++) {
        if (waitpid(st->server, &status, WNOHANG) != 0) {
            st->server = 0;
            return;
        }
        g_usleep(10000);
    }
    kill(st->server, SIGKILL);
    waitpid(st->server, &status, 0);
    st->server = 0;
}

/*
 * QEMU
 */

static char *qemu_args(Storm *st)
{
    g_auto(GStrv) parts = g_strsplit(st->dev->args, "@SOCKET@", -1);
    g_autofree char *args = g_strjoinv(st->sock ? st->sock : "", parts);
    g_autofree char *log = NULL;
    const char *extra = g_getenv("QME_STORM_QEMU_ARGS");

    /*
     * Guest-error logging on request only: a DMA of 1 MiB into unassigned
     * space logs every access (40 MB, 2 s instead of 20 ms).
     */
    if (g_getenv("QME_STORM_GUEST_ERRORS") || st->dev->expect_guest_error) {
        log = g_strdup_printf("-d guest_errors -D %s/qemu-%d.log", st->dir,
                              st->qemu_gen);
    }
    /*
     * Random bytes written to virt's flash are erase and program commands,
     * and each switches the flash's memory region mode, rebuilding every
     * address space (QEMU's core, 0.1-0.4 ms a byte): a DMA of some KiB
     * there looks like a hang.  With "secure" the flash refuses
     * non-secure writes at once (a bus error for the device).
     */
    return g_strdup_printf("-global driver=cfi.pflash01,property=secure,"
                           "value=on %s %s %s", log ? log : "",
                           extra ? extra : "", args);
}

static bool qemu_start(Storm *st)
{
    g_autofree char *args = NULL;

    st->qemu_gen = 1;
    args = qemu_args(st);
    st->qt = qme_qtest_start("%s", args);
    return st->qt && (!st->dev->vendor_id || pci_setup(st));
}

static void st_reset(Storm *st)
{
    st->resets++;
    record(st, OP_RESET, 0, 0, 0);
    if (qme_qtest_system_reset(st->qt) && st->pci && chance(st, 80)) {
        pci_repair(st);
    }
}

static void st_migrate(Storm *st)
{
    g_autofree char *stream = g_build_filename(st->dir, "stream", NULL);
    g_autofree char *args = NULL;
    gint64 t0 = g_get_monotonic_time();

    record(st, OP_MIGRATE, 0, 0, 0);
    /* 7.2 throttles migration to 32 MiB/s by default. */
    g_free(qme_qtest_qmp_ok(st->qt, "{\"execute\": \"migrate-set-parameters\", "
                            "\"arguments\": {\"max-bandwidth\": %" PRIu64
                            "}}", (uint64_t)1 << 34));
    if (!qme_qtest_migrate_to_file(st->qt, stream, STORM_MIGRATE_MS)) {
        return;
    }
    /* The source goes first: mmio-sockdev's server takes one client. */
    qme_qtest_quit(st->qt);
    st->qt = NULL;
    st->qemu_gen = 2;
    args = qemu_args(st);
    st->qt = qme_qtest_start_incoming(stream, "%s", args);
    if (st->pci) {
        st->pci->qt = st->qt;
    }
    g_unlink(stream);
    storm_msg("storm: migrated at operation %" PRIu64 " in %.2f s",
              st->ops, (g_get_monotonic_time() - t0) / 1e6);
}

/*
 * The storm
 */

typedef enum StormKind {
    K_MMIO, K_PROGRAM, K_CONFIG, K_CLOCK, K_RAM, K_REPAIR, K_NUM,
} StormKind;

static StormKind pick_kind(Storm *st)
{
    unsigned weight[K_NUM] = { 60, 8, 16, 6, 3, 1 };
    unsigned total = 0, r, k;

    if (!st->dev->nwin) {
        weight[K_MMIO] = 0;
    }
    if (!st->dev->nprog) {
        weight[K_PROGRAM] = 0;
    }
    if (!st->pci) {
        weight[K_CONFIG] = weight[K_REPAIR] = 0;
    }
    for (k = 0; k < K_NUM; k++) {
        total += weight[k];
    }
    r = rnd_below(st, total);
    for (k = 0; k < K_NUM; k++) {
        if (r < weight[k]) {
            return k;
        }
        r -= weight[k];
    }
    return K_CLOCK;
}

static void storm_step(Storm *st)
{
    if (st->ops >= st->migrate_at && st->qemu_gen == 1) {
        st_migrate(st);
        return;
    }
    if (rnd_below(st, 4000) == 0) {
        st_reset(st);
        return;
    }
    switch (pick_kind(st)) {
    case K_MMIO:
        op_mmio(st);
        break;
    case K_PROGRAM:
        op_program(st);
        break;
    case K_CONFIG:
        op_config(st);
        break;
    case K_CLOCK:
        op_clock(st);
        break;
    case K_RAM:
        op_ram(st);
        break;
    default:
        pci_repair(st);
        break;
    }
}

static void print_op(const StormOp *op)
{
    static const char sz[] = { [1] = 'b', [2] = 'w', [4] = 'l', [8] = 'q' };

    switch (op->type) {
    case OP_READ:
        storm_msg("  %8" PRIu64 ": read%c 0x%" PRIx64, op->n, sz[op->size],
                  op->addr);
        break;
    case OP_WRITE:
        storm_msg("  %8" PRIu64 ": write%c 0x%" PRIx64 " 0x%" PRIx64, op->n,
                  sz[op->size], op->addr, op->val);
        break;
    case OP_CLOCK:
        if (op->val) {
            storm_msg("  %8" PRIu64 ": clock_step %" PRIu64, op->n, op->val);
        } else {
            storm_msg("  %8" PRIu64 ": clock_step", op->n);
        }
        break;
    case OP_MEMSET:
        storm_msg("  %8" PRIu64 ": memset 0x%" PRIx64 " 0x%" PRIx64
                  " 0x%02x", op->n, op->addr, op->val >> 8,
                  (unsigned)(op->val & 0xff));
        break;
    case OP_RESET:
        storm_msg("  %8" PRIu64 ": (QMP) system_reset", op->n);
        break;
    default:
        storm_msg("  %8" PRIu64 ": (QMP) migrate to a file, continue in "
                  "the incoming QEMU", op->n);
        break;
    }
}

static void print_file_tail(const char *what, const char *path)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    guint n, i;

    if (!g_file_get_contents(path, &text, NULL, NULL) || !*text) {
        return;
    }
    lines = g_strsplit(text, "\n", -1);
    n = g_strv_length(lines);
    storm_msg("storm: last lines of %s:", what);
    for (i = n > STORM_LOG_TAIL ? n - STORM_LOG_TAIL : 0; i < n; i++) {
        if (*lines[i]) {
            storm_msg("  %s", lines[i]);
        }
    }
}

static void print_replay(Storm *st)
{
    static const char *const vars[] = {
        "QME_QEMU", "QME_LOADER", "QME_MODULE_PATH", "QME_STORM_OPS",
        "QME_STORM_GUEST_ERRORS", "QME_STORM_QEMU_ARGS",
    };
    GString *env = g_string_new(NULL);
    unsigned i;

    storm_msg("storm: replay: QME_STORM_SEED=%" PRIu64 " meson test -C %s "
              "storm-%s --print-errorlogs", st->seed, STORM_BUILD_DIR,
              st->dev->name);
    /*
     * The same without meson; QME_STORM_GUEST_ERRORS=1 adds QEMU's guest
     * error log to the report, QME_QTEST_LOG=1 every qtest line.
     */
    for (i = 0; i < G_N_ELEMENTS(vars); i++) {
        if (g_getenv(vars[i])) {
            g_autofree char *q = g_shell_quote(g_getenv(vars[i]));

            g_string_append_printf(env, "%s=%s ", vars[i], q);
        }
    }
    storm_msg("storm: or: QME_STORM_SEED=%" PRIu64 " %s%s/tests/storm/"
              "qme-storm --tap -p /storm/%s", st->seed, env->str,
              STORM_BUILD_DIR, st->dev->name);
    g_string_free(env, TRUE);
}

static void print_failure(Storm *st, const char *why)
{
    uint64_t first = st->ops > STORM_HISTORY ? st->ops - STORM_HISTORY : 0;
    uint64_t n;
    int status;

    storm_msg("storm: %s: %s after %" PRIu64 " operations (seed %" PRIu64
              ")", st->dev->name, why, st->ops, st->seed);
    if (st->qt && qme_qtest_wait_exit(st->qt, 2000, &status)) {
        storm_msg("storm: QEMU exited with status %d%s%s", status,
                  status > 128 ? ": " : "",
                  status > 128 ? strsignal(status - 128) : "");
    }
    storm_msg("storm: the last %" PRIu64 " operations (qtest syntax):",
              st->ops - first);
    for (n = first; n < st->ops; n++) {
        print_op(&st->history[n % STORM_HISTORY]);
    }
    if (st->qt) {
        const char *err = qme_qtest_stderr(st->qt);
        size_t len = strlen(err);

        storm_msg("storm: QEMU's output (tail):\n%s",
                  len > 3000 ? err + len - 3000 : err);
    }
    {
        g_autofree char *log = g_strdup_printf("%s/qemu-%d.log", st->dir,
                                               st->qemu_gen);
        g_autofree char *slog = g_build_filename(st->dir, "server.log", NULL);

        print_file_tail("QEMU's guest-error log", log);
        if (st->dev->server) {
            print_file_tail("the device server's output", slog);
        }
    }
    print_replay(st);
}

static void storm_cleanup(Storm *st)
{
    g_autoptr(GDir) d = NULL;
    const char *name;

    qme_qtest_quit(st->qt);
    st->qt = NULL;
    server_stop(st);
    g_free(st->pci);
    d = st->dir ? g_dir_open(st->dir, 0, NULL) : NULL;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(st->dir, name, NULL);

        g_unlink(p);
    }
    if (st->dir) {
        g_rmdir(st->dir);
    }
    g_free(st->dir);
    g_free(st->sock);
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *s = g_getenv(name);

    return s && *s ? g_ascii_strtoull(s, NULL, 0) : dflt;
}

static void storm_init(Storm *st, const StormDevice *dev)
{
    const char *seed = g_getenv("QME_STORM_SEED");

    memset(st, 0, sizeof(*st));
    st->dev = dev;
    st->seed = seed && *seed ? g_ascii_strtoull(seed, NULL, 0) :
               (uint64_t)g_get_real_time() ^ ((uint64_t)getpid() << 32);
    st->target = env_u64("QME_STORM_OPS", STORM_DEFAULT_OPS);
    st->migrate_at = st->target / 2;
    rng_seed(st, st->seed);
    /* A hang is found within seconds, not after the default 30. */
    g_setenv("QME_QTEST_TIMEOUT", STORM_QTEST_TIMEOUT_S, FALSE);
}

/*
 * Run the storm.  Returns true if it ran all its operations; false (with
 * the history printed) if QEMU died, hung, or the budget ran out.  For a
 * device that must die (@expect_abort) the caller checks how.
 */
static bool storm_run(Storm *st, int *qemu_status)
{
    const StormDevice *dev = st->dev;
    gint64 budget_s = env_u64("QME_STORM_BUDGET", STORM_DEFAULT_BUDGET_S);
    const char *why = NULL;
    double secs;

    *qemu_status = -1;
    st->dir = g_dir_make_tmp("qme-storm-XXXXXX", NULL);
    if (!st->dir) {
        storm_msg("storm: cannot create a temporary folder");
        return false;
    }
    storm_msg("storm: %s: seed %" PRIu64 ", %" PRIu64 " operations, "
              "QEMU arguments: %s", dev->name, st->seed, st->target,
              dev->args);
    print_replay(st);
    st->start_us = g_get_monotonic_time();
    st->deadline_us = st->start_us + budget_s * G_USEC_PER_SEC;

    if (dev->server && !server_start(st)) {
        why = "the device server did not start";
    } else if (!qemu_start(st)) {
        why = "QEMU or the device did not come up";
    }
    while (!why && st->ops < st->target) {
        gint64 t0 = g_get_monotonic_time(), dt;
        uint64_t first = st->ops;

        storm_step(st);
        dt = g_get_monotonic_time() - t0;
        if (dt > 10000) {
            st->slow_steps++;
            st->slow_us += dt;
        }
        if (dt > st->slowest_us && st->ops > first &&
            st->history[(st->ops - 1) % STORM_HISTORY].type != OP_MIGRATE) {
            st->slowest_us = dt;
            st->slowest = st->history[(st->ops - 1) % STORM_HISTORY];
        }
        if (!qme_qtest_ok(st->qt)) {
            why = "QEMU failed";
        } else if (storm_stop) {
            why = "interrupted";
        } else if ((st->ops & 0xff) == 0 &&
                   g_get_monotonic_time() > st->deadline_us) {
            why = "time budget (QME_STORM_BUDGET) exceeded";
        }
    }
    if (!why) {
        /* Still alive and answering after the last operation? */
        g_autofree char *r = qme_qtest_qmp(st->qt,
                                           "{\"execute\": \"query-status\"}");

        if (!r || !qme_qmp_is_return(r)) {
            why = "QEMU did not answer query-status after the storm";
        }
    }
    if (!why && dev->server && !server_alive(st)) {
        why = "the device server died";
    }
    secs = (g_get_monotonic_time() - st->start_us) / 1e6;
    storm_msg("storm: %s: %" PRIu64 " operations in %.1f s (%.0f/s): "
              "%" PRIu64 " reads, %" PRIu64 " writes, %" PRIu64
              " clock steps, %" PRIu64 " RAM fills, %" PRIu64 " programs, %"
              PRIu64 " repairs, %" PRIu64 " resets, %" PRIu64 " migrations",
              dev->name, st->ops, secs, st->ops / MAX(secs, 0.001),
              st->count[OP_READ], st->count[OP_WRITE], st->count[OP_CLOCK],
              st->count[OP_MEMSET], st->programs, st->repairs, st->resets,
              st->count[OP_MIGRATE]);
    if (st->slowest_us) {
        storm_msg("storm: %" PRIu64 " steps over 10 ms took %.1f s; the "
                  "slowest besides the migration took %.1f ms, ending in:",
                  st->slow_steps, st->slow_us / 1e6,
                  st->slowest_us / 1000.0);
        print_op(&st->slowest);
    }
    if (why) {
        print_failure(st, why);
        if (st->qt) {
            qme_qtest_wait_exit(st->qt, 0, qemu_status);
        }
    }
    return !why;
}

static void test_storm(gconstpointer data)
{
    Storm st;
    int status;

    storm_init(&st, data);
    if (!storm_run(&st, &status)) {
        g_test_fail();
    }
    storm_cleanup(&st);
}

/*
 * A device that must die: the storm runs in a child test process (the
 * harness reports QEMU's death as a failure there) and passes only if
 * QEMU died of SIGABRT.  If it survives, the storm has lost its teeth.
 */
/* Did a QEMU of this storm log @text as a guest error? */
static bool storm_logged(Storm *st, const char *text)
{
    for (int gen = 1; text && gen <= st->qemu_gen; gen++) {
        g_autofree char *log = g_strdup_printf("%s/qemu-%d.log", st->dir,
                                               gen);
        g_autofree char *buf = NULL;

        if (g_file_get_contents(log, &buf, NULL, NULL) &&
            strstr(buf, text)) {
            return true;
        }
    }
    return false;
}

static void test_storm_abort_child(gconstpointer data)
{
    Storm st;
    int status;
    bool survived;
    const char *known = NULL;

    /* Nothing outlives the parent test, whatever ends it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    storm_init(&st, data);
    survived = storm_run(&st, &status);
    for (unsigned i = 0; !survived && status == 128 + SIGABRT &&
         i < G_N_ELEMENTS(st.dev->expect_abort); i++) {
        if (st.dev->expect_abort[i] &&
            strstr(qme_qtest_stderr(st.qt), st.dev->expect_abort[i])) {
            known = st.dev->expect_abort[i];
        }
    }
    /* On stdout, which the parent captures; diagnostics go to stderr. */
    if (known) {
        storm_msg("storm: QEMU died of SIGABRT after %" PRIu64 " operations"
                  " with '%s', as expected", st.ops, known);
        g_print("storm-verdict: QEMU died of SIGABRT after %" PRIu64
                " operations\n", st.ops);
    } else if (survived && storm_logged(&st, st.dev->expect_guest_error)) {
        storm_msg("storm: QEMU logged '%s' after %" PRIu64 " operations, "
                  "as a QEMU that reports the bug does",
                  st.dev->expect_guest_error, st.ops);
        g_print("storm-verdict: QEMU logged the bug after %" PRIu64
                " operations\n", st.ops);
    } else if (survived) {
        g_print("storm-verdict: QEMU survived %" PRIu64 " operations\n",
                st.ops);
    }
    storm_cleanup(&st);
}

static void test_storm_abort(gconstpointer data)
{
    const StormDevice *dev = data;
    g_autofree char *child = g_strdup_printf("/storm/%s/subprocess",
                                             dev->name);
    g_autofree char *seed = NULL;

    /* The child draws the same operations: give it the seed. */
    if (!g_getenv("QME_STORM_SEED")) {
        seed = g_strdup_printf("%" PRIu64, (uint64_t)g_get_real_time());
        g_setenv("QME_STORM_SEED", seed, TRUE);
    }
    g_test_trap_subprocess(child, (STORM_DEFAULT_BUDGET_S + 30) *
                           G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
    if (g_test_trap_has_passed() && dev->expect_guest_error) {
        g_test_trap_assert_stdout("*storm-verdict: QEMU logged the bug*");
        return;
    }
    if (g_test_trap_has_passed()) {
        g_test_message("storm: %s survived the whole storm: the storm no "
                       "longer finds its known abort", dev->name);
        g_test_fail();
        return;
    }
    g_test_trap_assert_stdout("*storm-verdict: QEMU died of SIGABRT after*");
}

static void on_signal(int sig)
{
    storm_stop = 1;
}

int main(int argc, char **argv)
{
    struct sigaction sa = { .sa_handler = on_signal };
    unsigned i;

    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    for (i = 0; i < storm_num_devices; i++) {
        const StormDevice *dev = &storm_devices[i];
        g_autofree char *path = g_strdup_printf("/storm/%s", dev->name);

        if (dev->expect_abort[0]) {
            g_autofree char *child = g_strdup_printf("%s/subprocess", path);

            g_test_add_data_func(path, dev, test_storm_abort);
            g_test_add_data_func(child, dev, test_storm_abort_child);
        } else {
            g_test_add_data_func(path, dev, test_storm);
        }
    }
    return g_test_run();
}
