/*
 * qme-storm: seeded random operation storms against one device model.
 *
 * A device is described by data only (storm-devices.c): its QEMU
 * arguments, where its registers are (PCI BARs or fixed addresses), what
 * kind of value each register wants, the register "programs" that start
 * its DMA engine or raise its interrupts, and its buffer.  One generic loop
 * (storm.c) turns that into MMIO reads and writes of every size at mapped
 * and unmapped offsets, PCI config-space writes, DMA pointed at guest RAM,
 * at unmapped space and at the device's own registers, clock steps, system
 * resets and a migration to a file half way.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_STORM_H
#define QME_STORM_H

#include <stdbool.h>
#include <stdint.h>

/* How the generator picks the value written to a register. */
typedef enum StormValKind {
    STORM_ANY,          /* random, biased to 0, all-ones, single bits */
    STORM_LIST,         /* mostly one of vals[], else random under mask */
    STORM_ADDR,         /* a bus address: RAM, own windows, unmapped, ... */
    STORM_BUFOFF,       /* an offset into the device's buffer */
    STORM_ADDR_OR_OFF,  /* either (its meaning depends on a direction bit) */
    STORM_LEN,          /* a transfer length, around the buffer size */
    STORM_MSI_ADDR,     /* an MSI message address */
} StormValKind;

typedef struct StormReg {
    uint32_t off;
    uint8_t size;           /* natural access size in bytes */
    uint8_t kind;           /* StormValKind */
    uint16_t count;         /* instances, @stride bytes apart (0: one) */
    uint32_t stride;
    uint64_t mask;          /* STORM_LIST: bits of its random values */
    const uint64_t *vals;   /* STORM_LIST: the values it likes */
    unsigned nvals;
    bool rare;              /* fault-injection commands: picked seldom */
} StormReg;

#define STORM_VALS(...) \
    .vals = (const uint64_t[]){ __VA_ARGS__ }, \
    .nvals = sizeof((const uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t)

#define STORM_N(array) (sizeof(array) / sizeof((array)[0]))

/* A register window: a PCI BAR (or part of one) or a fixed address. */
typedef struct StormWindow {
    const char *name;
    int bar;                /* PCI BAR index, or -1 */
    uint64_t addr;          /* bar < 0: CPU address; else offset in BAR */
    uint64_t size;          /* 0: the rest of the BAR */
    const StormReg *regs;
    unsigned nregs;
} StormWindow;

/*
 * A program: registers written in this order, the last one usually the
 * "go" bit or a doorbell.  Each step says what its value looks like, so a
 * DMA program pairs a guest address with a buffer offset the way its
 * direction bit wants and the transfer gets deep into the engine.
 */
#define STORM_MAX_STEPS 6

typedef struct StormProgram {
    int win;
    StormReg step[STORM_MAX_STEPS];
    unsigned n;
} StormProgram;

typedef struct StormDevice {
    const char *name;       /* test storm-NAME, test path /storm/NAME */
    /* QEMU arguments; "@SOCKET@" is the device server's socket path */
    const char *args;
    uint16_t vendor_id;     /* PCI function to find; 0: not PCI */
    uint16_t device_id;
    bool root_port;         /* behind the pcie-root-port at 00:01.0 */
    const StormWindow *win;
    unsigned nwin;
    const StormReg *cfg;    /* device-specific config-space registers */
    unsigned ncfg;
    const StormProgram *prog;
    unsigned nprog;
    uint64_t buf_base;      /* device buffer for STORM_BUFOFF/LEN */
    uint64_t buf_size;
    /* A device server to start first: argv, "@SOCKET@" its socket path */
    const char *const *server;
    /* The storm must make QEMU die of SIGABRT, printing one of these... */
    const char *expect_abort[2];
    /* ...or, where QEMU reports that bug instead, log this guest error. */
    const char *expect_guest_error;
} StormDevice;

extern const StormDevice storm_devices[];
extern const unsigned storm_num_devices;

#endif /* QME_STORM_H */
