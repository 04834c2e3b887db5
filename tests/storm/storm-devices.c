/*
 * qme-storm: what the storm knows about each device, as data.
 *
 * Offsets come from the generated register headers (the .regs.toml files),
 * so a changed register map changes the storm too.  To add a device: its
 * windows, the kinds of value its registers want, the programs that start
 * its engines, one entry in storm_devices[], and one name in
 * tests/storm/meson.build.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stddef.h>

#include "storm.h"

#include "mypci_minimal-regs.h"
#include "mypci_configurable-regs.h"
#include "minimal_pcie_nic-regs.h"
#include "stopwatch-regs.h"
#include "sockdev_uart-regs.h"
#include "mmio_sockdev-regs.h"
#include "sockdev_test-regs.h"

#define ONES64 0xffffffffffffffffULL
#define MPN_CMD_DIR(d) QME_FIELD_PREP(MPN_DMA_CMD, DIR, d)
#define MPN_CMD_VECTOR(v) QME_FIELD_PREP(MPN_DMA_CMD, VECTOR, v)

/* mypci_minimal: one scratch register in BAR0. */

static const StormReg mypci_regs[] = {
    { MYPCI_REG_VALUE, 4, STORM_ANY },
};

static const StormWindow mypci_win[] = {
    { "BAR0", 0, 0, 0, mypci_regs, STORM_N(mypci_regs) },
};

/* mypci_configurable: BAR0 registers and DMA engine, BAR2 RAM. */

static const StormReg mycfg_regs[] = {
    { MYCFG_REG_VALUE, 4, STORM_ANY },
    { MYCFG_REG_VERSION, 4, STORM_ANY },
    { MYCFG_REG_IRQ_STATUS, 4, STORM_LIST, .mask = 0xffffffff,
      STORM_VALS(1, 2, 4, 7) },
    { MYCFG_REG_IRQ_ENABLE, 4, STORM_LIST, .mask = 0xffffffff,
      STORM_VALS(0, 1, 2, 4, 7) },
    { MYCFG_REG_DOORBELL, 4, STORM_ANY },
    { MYCFG_REG_DMA_SRC, 8, STORM_ADDR_OR_OFF },
    { MYCFG_REG_DMA_DST, 8, STORM_ADDR_OR_OFF },
    { MYCFG_REG_DMA_LEN, 4, STORM_LEN },
    { MYCFG_REG_DMA_CMD, 4, STORM_LIST, .mask = 0xffffffff,
      STORM_VALS(MYCFG_DMA_CMD_START_MASK,
                 MYCFG_DMA_CMD_START_MASK | MYCFG_DMA_CMD_DIR_MASK,
                 MYCFG_DMA_CMD_DIR_MASK) },
    { MYCFG_REG_DMA_STATUS, 4, STORM_ANY },
};

static const StormWindow mycfg_win[] = {
    { "BAR0", 0, 0, 0, mycfg_regs, STORM_N(mycfg_regs) },
    { "BAR2", 2, 0, 0, NULL, 0 },
};

static const StormReg mycfg_cfg[] = {
    { MYCFG_VCAP_OFFSET + MYCFG_VCAP_OFF_VALUE, 4, STORM_ANY },
    { MYCFG_VCAP_OFFSET + MYCFG_VCAP_OFF_CTRL, 1, STORM_LIST, .mask = 0xff,
      STORM_VALS(MYCFG_VCAP_CTRL_RESET_REGS, 0) },
    { MYCFG_VCAP_OFFSET + MYCFG_VCAP_OFF_FEATURES, 4, STORM_ANY },
};

/* DMA both ways (DIR 0: bus address to BAR2 offset), doorbell. */
static const StormProgram mycfg_prog[] = {
    { 0, {
        { MYCFG_REG_DMA_SRC, 8, STORM_ADDR },
        { MYCFG_REG_DMA_DST, 8, STORM_BUFOFF },
        { MYCFG_REG_DMA_LEN, 4, STORM_LEN },
        { MYCFG_REG_DMA_CMD, 4, STORM_LIST, .mask = 0xffffffff,
          STORM_VALS(MYCFG_DMA_CMD_START_MASK) },
    }, 4 },
    { 0, {
        { MYCFG_REG_DMA_SRC, 8, STORM_BUFOFF },
        { MYCFG_REG_DMA_DST, 8, STORM_ADDR },
        { MYCFG_REG_DMA_LEN, 4, STORM_LEN },
        { MYCFG_REG_DMA_CMD, 4, STORM_LIST, .mask = 0xffffffff,
          STORM_VALS(MYCFG_DMA_CMD_START_MASK | MYCFG_DMA_CMD_DIR_MASK) },
    }, 4 },
    { 0, {
        { MYCFG_REG_IRQ_ENABLE, 4, STORM_LIST, .mask = 0x7,
          STORM_VALS(1, 7) },
        { MYCFG_REG_DOORBELL, 4, STORM_ANY },
    }, 2 },
};

#define MYCFG_PROGRAMS \
    .prog = mycfg_prog, .nprog = STORM_N(mycfg_prog)

/* minimal-pcie-nic: BAR0 registers and DMA engine, BAR1 MSI-X. */

static const StormReg mpn_regs[] = {
    { MPN_REG_DOORBELL, 4, STORM_LIST, .mask = 0xffffffff,
      STORM_VALS(0, 1, 2, 3, 4, 31, 2047, 2048) },
    { MPN_REG_INT_STATUS, 4, STORM_LIST, .mask = 0xffffffff,
      STORM_VALS(1, 2, 3) },
    { MPN_REG_ID, 4, STORM_ANY },
    { MPN_REG_VECTORS, 4, STORM_ANY },
    { MPN_REG_DMA_SRC, 8, STORM_ADDR_OR_OFF },
    { MPN_REG_DMA_DST, 8, STORM_ADDR_OR_OFF },
    { MPN_REG_DMA_LEN, 4, STORM_LEN },
    { MPN_REG_DMA_CMD, 4, STORM_LIST, .mask = 0xffffffff,
      STORM_VALS(MPN_DMA_CMD_START_MASK,
                 MPN_DMA_CMD_START_MASK | MPN_CMD_DIR(1),
                 MPN_DMA_CMD_START_MASK | MPN_CMD_DIR(2),
                 MPN_DMA_CMD_START_MASK | MPN_CMD_DIR(3),
                 MPN_DMA_CMD_START_MASK | MPN_DMA_CMD_IRQ_MASK,
                 MPN_DMA_CMD_START_MASK | MPN_DMA_CMD_IRQ_MASK |
                 MPN_CMD_DIR(1) | MPN_CMD_VECTOR(1),
                 MPN_DMA_CMD_START_MASK | MPN_DMA_CMD_IRQ_MASK |
                 MPN_CMD_DIR(2) | MPN_CMD_VECTOR(3),
                 MPN_DMA_CMD_START_MASK | MPN_DMA_CMD_IRQ_MASK |
                 MPN_DMA_CMD_VECTOR_MASK) },
    { MPN_REG_DMA_STATUS, 4, STORM_LIST, .mask = 0xffffffff,
      STORM_VALS(0x1f) },
    { MPN_REG_DMA_BUF_SIZE, 4, STORM_ANY },
    { MPN_REG_IRQ_COUNT, 4, STORM_ANY },
};

/* The MSI-X table (4 vectors by default) and the PBA in BAR1. */
static const StormReg mpn_msix_regs[] = {
    { 0x0, 4, STORM_MSI_ADDR, .count = 4, .stride = 16 },
    { 0x4, 4, STORM_LIST, .count = 4, .stride = 16, .mask = 0xffffffff,
      STORM_VALS(0) },
    { 0x8, 4, STORM_ANY, .count = 4, .stride = 16 },
    { 0xc, 4, STORM_LIST, .count = 4, .stride = 16, .mask = 0xffffffff,
      STORM_VALS(0, 1) },
    { 0x800, 8, STORM_ANY },
};

static const StormWindow mpn_mmio_win[] = {
    { "BAR0", 0, 0, 0, mpn_regs, STORM_N(mpn_regs) },
};

static const StormWindow mpn_msi_win[] = {
    { "BAR0", 0, 0, 0, mpn_regs, STORM_N(mpn_regs) },
    { "BAR1", 1, 0, 0, NULL, 0 },
};

static const StormWindow mpn_msix_win[] = {
    { "BAR0", 0, 0, 0, mpn_regs, STORM_N(mpn_regs) },
    { "BAR1", 1, 0, 0, mpn_msix_regs, STORM_N(mpn_msix_regs) },
};

/* DMA in each direction (with a completion vector now and then). */
#define MPN_CMD(dir) \
    { MPN_REG_DMA_CMD, 4, STORM_LIST, .mask = 0xffffffff, \
      STORM_VALS(MPN_DMA_CMD_START_MASK | MPN_CMD_DIR(dir), \
                 MPN_DMA_CMD_START_MASK | MPN_CMD_DIR(dir) | \
                 MPN_DMA_CMD_IRQ_MASK, \
                 MPN_DMA_CMD_START_MASK | MPN_CMD_DIR(dir) | \
                 MPN_DMA_CMD_IRQ_MASK | MPN_CMD_VECTOR(1), \
                 MPN_DMA_CMD_START_MASK | MPN_CMD_DIR(dir) | \
                 MPN_DMA_CMD_IRQ_MASK | MPN_CMD_VECTOR(3)) }

static const StormProgram mpn_prog[] = {
    { 0, {
        { MPN_REG_DMA_SRC, 8, STORM_ADDR },
        { MPN_REG_DMA_DST, 8, STORM_BUFOFF },
        { MPN_REG_DMA_LEN, 4, STORM_LEN },
        MPN_CMD(MPN_DIR_TO_DEVICE),
    }, 4 },
    { 0, {
        { MPN_REG_DMA_SRC, 8, STORM_BUFOFF },
        { MPN_REG_DMA_DST, 8, STORM_ADDR },
        { MPN_REG_DMA_LEN, 4, STORM_LEN },
        MPN_CMD(MPN_DIR_FROM_DEVICE),
    }, 4 },
    { 0, {
        { MPN_REG_DMA_SRC, 8, STORM_ADDR },
        { MPN_REG_DMA_DST, 8, STORM_ADDR },
        { MPN_REG_DMA_LEN, 4, STORM_LEN },
        MPN_CMD(MPN_DIR_MEM_TO_MEM),
    }, 4 },
    { 0, {
        { MPN_REG_DOORBELL, 4, STORM_LIST, .mask = 0xffffffff,
          STORM_VALS(0, 1, 2, 3, 4) },
    }, 1 },
    { 0, {
        { MPN_REG_DMA_STATUS, 4, STORM_LIST, STORM_VALS(0x1f) },
        { MPN_REG_INT_STATUS, 4, STORM_LIST, STORM_VALS(3) },
    }, 2 },
};

#define MPN_PROGRAMS \
    .prog = mpn_prog, .nprog = STORM_N(mpn_prog)

/* stopwatch: trapping registers and the pass-through page. */

static const StormReg stopwatch_regs[] = {
    { STOPWATCH_REG_ID, 4, STORM_ANY },
    { STOPWATCH_REG_VERSION, 4, STORM_ANY },
    { STOPWATCH_REG_CTRL, 4, STORM_LIST, .mask = 0xffffffff,
      STORM_VALS(STOPWATCH_CTRL_START_MASK, STOPWATCH_CTRL_STOP_MASK,
                 STOPWATCH_CTRL_RESET_MASK,
                 STOPWATCH_CTRL_RESET_MASK | STOPWATCH_CTRL_START_MASK,
                 STOPWATCH_CTRL_START_MASK | STOPWATCH_CTRL_STOP_MASK, 7) },
    { STOPWATCH_REG_STATUS, 4, STORM_ANY },
    { STOPWATCH_REG_ELAPSED, 8, STORM_ANY },
    { STOPWATCH_REG_ALARM, 8, STORM_LIST, .mask = ONES64,
      STORM_VALS(0, 1, 1000, 1000000, 5000000, 100000000, 1000000000,
                 0x7fffffffffffffffULL, 0x8000000000000000ULL, ONES64) },
    { STOPWATCH_REG_INT_ENABLE, 4, STORM_LIST, .mask = 0xffffffff,
      STORM_VALS(0, 1) },
    { STOPWATCH_REG_INT_STATUS, 4, STORM_LIST, .mask = 0xffffffff,
      STORM_VALS(1) },
    { STOPWATCH_REG_PERIOD, 8, STORM_ANY },
};

/* Arm the alarm and start; acknowledge and restart. */
static const StormProgram stopwatch_prog[] = {
    { 0, {
        { STOPWATCH_REG_ALARM, 8, STORM_LIST, .mask = 0xffffffffffULL,
          STORM_VALS(1, 1000, 1000000, 5000000, 100000000) },
        { STOPWATCH_REG_INT_ENABLE, 4, STORM_LIST, STORM_VALS(1) },
        { STOPWATCH_REG_CTRL, 4, STORM_LIST,
          STORM_VALS(STOPWATCH_CTRL_START_MASK,
                     STOPWATCH_CTRL_RESET_MASK | STOPWATCH_CTRL_START_MASK) },
    }, 3 },
    { 0, {
        { STOPWATCH_REG_INT_STATUS, 4, STORM_LIST, STORM_VALS(1) },
        { STOPWATCH_REG_CTRL, 4, STORM_LIST,
          STORM_VALS(STOPWATCH_CTRL_START_MASK, STOPWATCH_CTRL_STOP_MASK) },
    }, 2 },
};

static const StormWindow stopwatch_win[] = {
    { "regs", -1, STOPWATCH_DEFAULT_BASE, STOPWATCH_REGS_SIZE,
      stopwatch_regs, STORM_N(stopwatch_regs) },
    { "shm", -1, STOPWATCH_DEFAULT_BASE + STOPWATCH_SHM_OFFSET,
      STOPWATCH_SHM_SIZE, NULL, 0 },
};

/* sockdev-uart: the seed's UART inside QEMU. */

#define SOCKDEV_BASE 0x0b000000ULL

static const StormReg sduart_regs[] = {
    { SDUART_REG_TXDATA, 4, STORM_ANY },
    { SDUART_REG_STATUS, 4, STORM_ANY },
    { SDUART_REG_CTRL, 4, STORM_LIST, .mask = 0xffffffff, STORM_VALS(0, 1) },
};

static const StormProgram sduart_prog[] = {
    { 0, {
        { SDUART_REG_CTRL, 4, STORM_LIST, STORM_VALS(1) },
        { SDUART_REG_TXDATA, 4, STORM_ANY },
    }, 2 },
};

static const StormWindow sduart_win[] = {
    { "window", -1, SOCKDEV_BASE, 0x1000, sduart_regs,
      STORM_N(sduart_regs) },
};

/*
 * mmio-sockdev with sockdev-test-server: window, bridge block.  A DMA
 * range that wraps, or the fault command, makes QEMU reset the connection
 * (PROTOCOL.md); it reconnects after reconnect-ms, kept short so most of
 * the storm reaches the server.
 */

static const StormReg sdtest_regs[] = {
    { SDTEST_REG_ID, 4, STORM_ANY },
    { SDTEST_REG_SCRATCH, 4, STORM_ANY },
    { SDTEST_REG_IRQ, 4, STORM_LIST, .mask = 0xffffffff, STORM_VALS(0, 1) },
    { SDTEST_REG_RESULT, 4, STORM_ANY },
    { SDTEST_REG_DMA_SRC, 8, STORM_ADDR },
    { SDTEST_REG_DMA_DST, 8, STORM_ADDR },
    { SDTEST_REG_DMA_LEN, 4, STORM_LEN },
    { SDTEST_REG_DMA_GO, 4, STORM_LIST, .mask = 0xffffffff, STORM_VALS(1) },
    /* An interrupt on line 1: QEMU resets the connection, then reconnects. */
    { SDTEST_REG_MISBEHAVE, 4, STORM_LIST, .mask = 0xffffffff,
      STORM_VALS(SDTEST_MISBEHAVE_IRQ_LINE1), .rare = true },
};

/* The server copies guest memory through itself; it raises its line. */
static const StormProgram sdtest_prog[] = {
    { 0, {
        { SDTEST_REG_DMA_SRC, 8, STORM_ADDR },
        { SDTEST_REG_DMA_DST, 8, STORM_ADDR },
        { SDTEST_REG_DMA_LEN, 4, STORM_LEN },
        { SDTEST_REG_DMA_GO, 4, STORM_LIST, STORM_VALS(1) },
    }, 4 },
    { 0, {
        { SDTEST_REG_IRQ, 4, STORM_LIST, STORM_VALS(0, 1) },
    }, 1 },
};

static const char *const sdtest_server[] = {
    STORM_SOCKDEV_TEST_SERVER, "--unix", "@SOCKET@", NULL,
};

/* The reference UART server, also for the basic protocol. */
static const char *const uart_server[] = {
    STORM_SOCKDEV_UART_SERVER, "--unix", "@SOCKET@", NULL,
};

static const StormReg sockdev_bridge_regs[] = {
    { SOCKDEV_REG_MAGIC, 4, STORM_ANY },
    { SOCKDEV_REG_STATUS, 4, STORM_ANY },
    { SOCKDEV_REG_OUTAGES, 4, STORM_ANY },
};

static const StormWindow sdtest_win[] = {
    { "window", -1, SOCKDEV_BASE, 0x1000, sdtest_regs,
      STORM_N(sdtest_regs) },
    { "bridge", -1, SOCKDEV_BASE + 0x1000, SOCKDEV_BRIDGE_SIZE,
      sockdev_bridge_regs, STORM_N(sockdev_bridge_regs) },
};

static const StormWindow sduart_sockdev_win[] = {
    { "window", -1, SOCKDEV_BASE, 0x1000, sduart_regs,
      STORM_N(sduart_regs) },
    { "bridge", -1, SOCKDEV_BASE + 0x1000, SOCKDEV_BRIDGE_SIZE,
      sockdev_bridge_regs, STORM_N(sockdev_bridge_regs) },
};

/* QEMU's own edu (hw/misc/edu.c): the storm must find its hw_error(). */

#define EDU_DMA_START 0x40000
#define EDU_DMA_SIZE 0x1000

static const StormReg edu_regs[] = {
    { 0x00, 4, STORM_ANY },                     /* identification */
    { 0x04, 4, STORM_ANY },                     /* liveness */
    { 0x08, 4, STORM_LIST, .mask = 0xffffffff, STORM_VALS(0, 1, 5, 12) },
    { 0x20, 4, STORM_LIST, .mask = 0xffffffff, STORM_VALS(0, 0x80) },
    { 0x24, 4, STORM_ANY },                     /* interrupt status */
    { 0x60, 4, STORM_ANY },                     /* raise */
    { 0x64, 4, STORM_ANY },                     /* acknowledge */
    { 0x80, 8, STORM_ADDR_OR_OFF },             /* DMA source */
    { 0x88, 8, STORM_ADDR_OR_OFF },             /* DMA destination */
    { 0x90, 8, STORM_LEN },                     /* DMA count */
    { 0x98, 8, STORM_LIST, .mask = 0x7, STORM_VALS(1, 3, 5, 7) },
};

/* DMA command: 1 start, 2 direction (1: to RAM), 4 interrupt. */
static const StormProgram edu_prog[] = {
    { 0, {
        { 0x80, 8, STORM_ADDR },
        { 0x88, 8, STORM_BUFOFF },
        { 0x90, 8, STORM_LEN },
        { 0x98, 8, STORM_LIST, STORM_VALS(1, 5) },
    }, 4 },
    { 0, {
        { 0x80, 8, STORM_BUFOFF },
        { 0x88, 8, STORM_ADDR },
        { 0x90, 8, STORM_LEN },
        { 0x98, 8, STORM_LIST, STORM_VALS(3, 7) },
    }, 4 },
};

static const StormWindow edu_win[] = {
    { "BAR0", 0, 0, 0, edu_regs, STORM_N(edu_regs) },
};

#define ROOT_PORT "-device pcie-root-port,id=rp,chassis=1,addr=01.0 "

const StormDevice storm_devices[] = {
    {
        .name = "mypci_minimal",
        .args = "-device mypci_minimal",
        .vendor_id = MYPCI_VENDOR_ID, .device_id = MYPCI_DEVICE_ID,
        .win = mypci_win, .nwin = STORM_N(mypci_win),
    }, {
        .name = "mypci_configurable",
        .args = "-device mypci_configurable,reg=0x42",
        .vendor_id = MYCFG_VENDOR_ID, .device_id = MYCFG_DEVICE_ID,
        .win = mycfg_win, .nwin = STORM_N(mycfg_win),
        .cfg = mycfg_cfg, .ncfg = STORM_N(mycfg_cfg),
        MYCFG_PROGRAMS,
        .buf_size = MYCFG_BAR2_SIZE_DEFAULT,
    }, {
        /* Express v2 endpoint: PCIe capability, 4 KiB config space. */
        .name = "mypci_configurable-pcie",
        .args = ROOT_PORT "-device mypci_configurable,bus=rp",
        .vendor_id = MYCFG_VENDOR_ID, .device_id = MYCFG_DEVICE_ID,
        .root_port = true,
        .win = mycfg_win, .nwin = STORM_N(mycfg_win),
        .cfg = mycfg_cfg, .ncfg = STORM_N(mycfg_cfg),
        MYCFG_PROGRAMS,
        .buf_size = MYCFG_BAR2_SIZE_DEFAULT,
    }, {
        /* No MSI capability, the smallest BAR2: other limits, INTx only. */
        .name = "mypci_configurable-nomsi",
        .args = "-device mypci_configurable,msi=off,bar2-size=4K",
        .vendor_id = MYCFG_VENDOR_ID, .device_id = MYCFG_DEVICE_ID,
        .win = mycfg_win, .nwin = STORM_N(mycfg_win),
        .cfg = mycfg_cfg, .ncfg = STORM_N(mycfg_cfg),
        MYCFG_PROGRAMS,
        .buf_size = MYCFG_BAR2_SIZE_MIN,
    }, {
        .name = "minimal-pcie-nic-basic",
        .args = "-device minimal-pcie-nic,stage=basic",
        .vendor_id = MPN_VENDOR_ID_BASIC, .device_id = MPN_DEVICE_ID_BASIC,
    }, {
        .name = "minimal-pcie-nic-mmio",
        .args = "-device minimal-pcie-nic,stage=mmio",
        .vendor_id = MPN_VENDOR_ID, .device_id = MPN_DEVICE_ID,
        .win = mpn_mmio_win, .nwin = STORM_N(mpn_mmio_win),
        MPN_PROGRAMS,
        .buf_size = MPN_DMA_SIZE,
    }, {
        .name = "minimal-pcie-nic-msi",
        .args = "-device minimal-pcie-nic,stage=msi",
        .vendor_id = MPN_VENDOR_ID, .device_id = MPN_DEVICE_ID,
        .win = mpn_msi_win, .nwin = STORM_N(mpn_msi_win),
        MPN_PROGRAMS,
        .buf_size = MPN_DMA_SIZE,
    }, {
        .name = "minimal-pcie-nic-msix",
        .args = "-device minimal-pcie-nic,stage=msix",
        .vendor_id = MPN_VENDOR_ID, .device_id = MPN_DEVICE_ID,
        .win = mpn_msix_win, .nwin = STORM_N(mpn_msix_win),
        MPN_PROGRAMS,
        .buf_size = MPN_DMA_SIZE,
    }, {
        /* Express endpoint behind a root port, MSI-X. */
        .name = "minimal-pcie-nic-msix-pcie",
        .args = ROOT_PORT "-device minimal-pcie-nic,stage=msix,bus=rp",
        .vendor_id = MPN_VENDOR_ID, .device_id = MPN_DEVICE_ID,
        .root_port = true,
        .win = mpn_msix_win, .nwin = STORM_N(mpn_msix_win),
        MPN_PROGRAMS,
        .buf_size = MPN_DMA_SIZE,
    }, {
        .name = "stopwatch",
        .args = "-device stopwatch",
        .win = stopwatch_win, .nwin = STORM_N(stopwatch_win),
        .prog = stopwatch_prog, .nprog = STORM_N(stopwatch_prog),
    }, {
        .name = "sockdev-uart",
        .args = "-chardev null,id=u -device sockdev-uart,chardev=u",
        .win = sduart_win, .nwin = STORM_N(sduart_win),
        .prog = sduart_prog, .nprog = STORM_N(sduart_prog),
    }, {
        .name = "mmio-sockdev",
        .args = "-device mmio-sockdev,socket=unix:@SOCKET@,dma=on,"
                "timeout-ms=500,reconnect-ms=5",
        .win = sdtest_win, .nwin = STORM_N(sdtest_win),
        .prog = sdtest_prog, .nprog = STORM_N(sdtest_prog),
        .buf_size = 0x1000,     /* DMA_LEN up to 4096 */
        .server = sdtest_server,
    }, {
        /* The basic protocol against the reference UART server. */
        .name = "mmio-sockdev-basic",
        .args = "-device mmio-sockdev,socket=unix:@SOCKET@,protocol=basic,"
                "timeout-ms=500,reconnect-ms=5",
        .win = sduart_sockdev_win, .nwin = STORM_N(sduart_sockdev_win),
        .prog = sduart_prog, .nprog = STORM_N(sduart_prog),
        .server = uart_server,
    }, {
        .name = "edu-finds-dma-bug",
        .args = "-device edu,addr=04.0,dma_mask=0xffffffffffffffff",
        .vendor_id = 0x1234, .device_id = 0x11e8,
        .win = edu_win, .nwin = STORM_N(edu_win),
        .prog = edu_prog, .nprog = STORM_N(edu_prog),
        .buf_base = EDU_DMA_START,
        .buf_size = EDU_DMA_SIZE,
        /*
         * edu's INTx stays asserted over a reset, which QEMU's PCI core
         * asserts against (7.2 and 10.0): the storm finds that too.
         */
        .expect_abort = { "hardware error: EDU: DMA range",
                          "pcibus_reset_hold: Assertion" },
        /* QEMU 10.0's edu logs the out-of-range DMA and goes on. */
        .expect_guest_error = "EDU: DMA range",
    },
};

const unsigned storm_num_devices = STORM_N(storm_devices);
