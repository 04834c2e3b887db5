/*
 * qme-qtest: a small qtest client for the distro QEMU.
 *
 * Starts the stock qemu-system-aarch64 (-M virt -accel qtest) with the
 * project's loader preloaded, speaks the qtest and QMP protocols over two
 * Unix sockets and offers memory, clock, IRQ, QMP, migration and PCI (ECAM)
 * helpers to device tests.
 *
 * Error model: a protocol failure (timeout, QEMU gone, "FAIL" reply) is
 * reported as a test failure (g_test_fail() with diagnostics that include
 * QEMU's stderr) and marks the handle broken; every later call on a broken
 * handle returns at once (reads return 0).  Nothing ever waits without a
 * timeout.  There is no global state: everything hangs off a QmeQTest.
 *
 * Environment: QME_QEMU (binary, default /usr/bin/qemu-system-aarch64),
 * QME_QTEST_MACHINE (virt or q35, default virt),
 * QME_LOADER (put in LD_PRELOAD of the QEMU child only), QME_MODULE_PATH
 * (passed to the QEMU child only), QME_QTEST_TIMEOUT (seconds per wait,
 * default 30), QME_QTEST_LOG (if set, every qtest/QMP line is logged).
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_QTEST_H
#define QME_QTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <glib.h>

G_BEGIN_DECLS

/* The "virt" machine (QEMU 7.2, highmem on). */
#define QME_VIRT_RAM_BASE           0x40000000ULL
#define QME_VIRT_PCIE_ECAM_BASE     0x4010000000ULL
#define QME_VIRT_PCIE_MMIO_BASE     0x10000000ULL
#define QME_VIRT_PCIE_MMIO_END      0x3effffffULL       /* inclusive */
#define QME_VIRT_PCIE_PIO_BASE      0x3eff0000ULL
#define QME_VIRT_PCIE_PIO_SIZE      0x10000ULL
#define QME_VIRT_PCIE_MMIO_HIGH     0x8000000000ULL
#define QME_VIRT_PCIE_MMIO_HIGH_END 0xffffffffffULL     /* inclusive */
#define QME_VIRT_PCIE_SPI_BASE      3       /* INTA..INTD = SPI 3..6 */

/*
 * The "q35" machine (qemu-system-x86_64, no firmware): MMCONFIG is mapped
 * by the harness at the address SeaBIOS uses; INTx goes to the IOAPIC and
 * MSIs to the LAPIC window at 0xfee00000.
 */
#define QME_Q35_RAM_BASE            0x0ULL
#define QME_Q35_PCIE_ECAM_BASE      0xb0000000ULL
#define QME_Q35_PCIE_MMIO_BASE      0xc0000000ULL
#define QME_Q35_PCIE_MMIO_END       0xfebfffffULL       /* inclusive */
#define QME_Q35_PCIE_MMIO_HIGH      0x8000000000ULL
#define QME_Q35_PCIE_MMIO_HIGH_END  0xffffffffffULL     /* inclusive */
#define QME_Q35_MSI_ADDR            0xfee00000ULL

typedef struct QmeQTest QmeQTest;

/* What the harness knows of a machine (addresses are CPU physical). */
typedef struct QmeMachine {
    const char *name;
    uint64_t ram_base;
    uint64_t ecam_base;
    uint64_t mmio32_base, mmio32_end;   /* inclusive */
    uint64_t mmio64_base, mmio64_end;
    uint64_t io_base, io_end;           /* PCI I/O addresses */
    /* CPU address of PCI I/O space; 0: x86 port I/O (in/out). */
    uint64_t pio_window;
    /* 0xb0000000 | enable, written to the MCH's PCIEXBAR (q35 only). */
    uint32_t pciexbar;
    uint32_t unassigned;                /* qme_qtest_unassigned_readl() */
} QmeMachine;

/*
 * The machine every QEMU of this process runs: QME_QTEST_MACHINE ("virt",
 * the default, or "q35" with QME_QEMU naming qemu-system-x86_64).  The
 * harness's addresses (ECAM, BAR windows, RAM) follow it.
 */
const char *qme_qtest_machine(void);
bool qme_qtest_machine_is(const char *name);
const QmeMachine *qme_qtest_machine_info(void);
/* Guest RAM of the machine starts here (-m sets how much; default 128M). */
uint64_t qme_qtest_ram_base(void);
/*
 * What a 32-bit read where no device decodes returns: all-ones in virt's
 * PCIe window, 0 on q35 (QEMU's unassigned memory).
 */
uint32_t qme_qtest_unassigned_readl(void);

/*
 * Lifecycle
 */

/*
 * Start QEMU with the standard arguments
 *   -M MACHINE -accel qtest -display none -nodefaults -nic none -serial none
 *   -monitor none -qtest unix:S,abstract=on -qtest-log none
 *   -qmp unix:Q,abstract=on
 * followed by @args_fmt (split like a shell would, so quoting works).
 * MACHINE is qme_qtest_machine(); it may be overridden by passing
 * another -M later.
 * Returns NULL (after reporting a test failure with QEMU's stderr) if
 * QEMU does not come up.
 */
QmeQTest *qme_qtest_start(const char *args_fmt, ...) G_GNUC_PRINTF(1, 2);
QmeQTest *qme_qtest_startv(const char *args_fmt, va_list ap)
    G_GNUC_PRINTF(1, 0);

/*
 * Start a second QEMU that loads a migration stream from @file
 * (-incoming "exec:cat FILE") and wait until the incoming migration has
 * finished and the VM runs.  @args_fmt must describe the same machine.
 */
QmeQTest *qme_qtest_start_incoming(const char *file, const char *args_fmt,
                                   ...) G_GNUC_PRINTF(2, 3);

/*
 * Terminate QEMU (SIGTERM, then SIGKILL after a grace period), close the
 * sockets and free the handle.  NULL is accepted.  If QEMU had died of a
 * signal other than ours (a crash, an assertion), a failure is reported.
 */
void qme_qtest_quit(QmeQTest *qt);

/* Send @sig to QEMU. */
void qme_qtest_kill(QmeQTest *qt, int sig);

/*
 * Wait up to @timeout_ms for QEMU to exit.  Returns true if it did, with
 * its exit code in @status (128 + signal number if killed by a signal).
 */
bool qme_qtest_wait_exit(QmeQTest *qt, int timeout_ms, int *status);

/*
 * Change the bound of every later wait on @qt (QME_QTEST_TIMEOUT at start),
 * e.g. to time one command out quickly after an unhurried start.
 */
void qme_qtest_set_timeout(QmeQTest *qt, int timeout_ms);

/* QEMU's stderr (and stdout) so far; owned by @qt, valid until next call. */
const char *qme_qtest_stderr(QmeQTest *qt);

/* False once a protocol error was reported on @qt. */
bool qme_qtest_ok(QmeQTest *qt);

pid_t qme_qtest_pid(QmeQTest *qt);

/*
 * Run QEMU to completion without qtest sockets:
 *   $QME_QEMU -M MACHINE -accel qtest -display none -nodefaults -nic none
 *   -serial none -monitor none ARGS
 * with the same preload environment.  Returns the exit status (128 + signal
 * if killed by a signal; -1 if it had to be killed after @timeout_ms or
 * could not be started).  @output, if not NULL, receives stderr+stdout.
 */
int qme_qemu_run(const char *args, int timeout_ms, char **output);

/*
 * The environment the harness starts QEMU with: this process's, with
 * LD_PRELOAD set to $QME_LOADER.  For tests that start QEMU their own way
 * (a firmware under TCG); free it with g_strfreev().
 */
char **qme_qemu_environ(void);

/*
 * Memory and clock (qtest protocol)
 */
uint8_t qme_qtest_readb(QmeQTest *qt, uint64_t addr);
uint16_t qme_qtest_readw(QmeQTest *qt, uint64_t addr);
uint32_t qme_qtest_readl(QmeQTest *qt, uint64_t addr);
uint64_t qme_qtest_readq(QmeQTest *qt, uint64_t addr);
void qme_qtest_writeb(QmeQTest *qt, uint64_t addr, uint8_t val);
void qme_qtest_writew(QmeQTest *qt, uint64_t addr, uint16_t val);
void qme_qtest_writel(QmeQTest *qt, uint64_t addr, uint32_t val);
void qme_qtest_writeq(QmeQTest *qt, uint64_t addr, uint64_t val);

/* Bulk guest memory access (base64 on the wire).  */
void qme_qtest_memread(QmeQTest *qt, uint64_t addr, void *buf, size_t len);
void qme_qtest_memwrite(QmeQTest *qt, uint64_t addr, const void *buf,
                        size_t len);
void qme_qtest_memset(QmeQTest *qt, uint64_t addr, uint8_t val, size_t len);

/*
 * Advance the virtual clock by @ns (0: to the next timer deadline).
 * Returns the new virtual clock in ns, or -1 on error.
 */
int64_t qme_qtest_clock_step(QmeQTest *qt, int64_t ns);
int64_t qme_qtest_clock_set(QmeQTest *qt, int64_t ns);

/*
 * IRQs.  After intercepting the unnamed GPIO inputs (or outputs) of the
 * device at @qom_path, QEMU reports "IRQ raise N" / "IRQ lower N"; the
 * harness counts them per line (N < 1024).  Only one device per QEMU can be
 * intercepted (a QEMU restriction).
 */
bool qme_qtest_irq_intercept_in(QmeQTest *qt, const char *qom_path);
/*
 * Intercept the inputs of virt's Arm GIC (GICv2, the default): device
 * lines are then counted by GIC input number.  Returns false, with a test
 * failure recorded, if there is no GIC or QEMU refuses.
 */
bool qme_qtest_intercept_gic(QmeQTest *qt);
bool qme_qtest_irq_intercept_out(QmeQTest *qt, const char *qom_path);
/* Process IRQ lines QEMU already sent, without waiting. */
void qme_qtest_irq_poll(QmeQTest *qt);
bool qme_qtest_irq_level(QmeQTest *qt, int line);
unsigned qme_qtest_irq_raise_count(QmeQTest *qt, int line);
unsigned qme_qtest_irq_lower_count(QmeQTest *qt, int line);
void qme_qtest_irq_clear_counts(QmeQTest *qt);
/*
 * Wait until @line has been raised at least @count times in total (for
 * IRQs raised from device threads or timers).  Returns false on timeout.
 */
bool qme_qtest_irq_wait_raised(QmeQTest *qt, int line, unsigned count,
                               int timeout_ms);

/*
 * QMP
 */

/*
 * Send a QMP command (a JSON object, printf-formatted) and return its
 * reply line (g_free it), or NULL on a protocol error.  Events received
 * meanwhile are queued for qme_qtest_qmp_wait_event().
 */
char *qme_qtest_qmp(QmeQTest *qt, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/*
 * Same, but the reply must be a success: on an "error" reply a failure is
 * reported (with the reply) and NULL is returned.
 */
char *qme_qtest_qmp_ok(QmeQTest *qt, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
bool qme_qmp_is_return(const char *reply);
bool qme_qmp_is_error(const char *reply);
/*
 * Wait for an event named @event (queued or future); returns its JSON
 * (g_free it) or NULL on timeout.
 */
char *qme_qtest_qmp_wait_event(QmeQTest *qt, const char *event,
                               int timeout_ms);
/* Run an HMP command through QMP; returns its output (g_free it). */
char *qme_qtest_hmp(QmeQTest *qt, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/*
 * The monitor's "xp /@count wx @addr" (physical memory, 32-bit words; the
 * monitor reads up to 16 bytes per access, so /2wx is one 8-byte access):
 * the words it printed, in @words.  Returns how many it printed (other
 * output, such as a warning printed meanwhile, is skipped).
 */
unsigned qme_qtest_xp_words(QmeQTest *qt, uint64_t addr, unsigned count,
                            uint32_t *words);
/* QMP system_reset, then wait for the RESET event.  */
bool qme_qtest_system_reset(QmeQTest *qt);
/*
 * Depth-first search of the QOM tree under @root for an object of
 * @type_name (exact); returns its path (g_free it) or NULL.
 */
char *qme_qtest_qom_find_type(QmeQTest *qt, const char *root,
                              const char *type_name);

/*
 * Migrate the VM into @file (migrate "exec:cat > FILE") and wait for the
 * migration to complete.
 */
bool qme_qtest_migrate_to_file(QmeQTest *qt, const char *file,
                               int timeout_ms);

/*
 * Minimal JSON access, enough for QMP replies.  @path is a dot-separated
 * list of object keys and array indexes, e.g. "return.status" or
 * "return.0.name".  Returns the value (strings unquoted and unescaped,
 * other values as raw JSON text; g_free it) or NULL if absent/malformed.
 */
char *qme_json_get(const char *json, const char *path);
bool qme_json_has(const char *json, const char *path);
/* Quote @s as a JSON string (with the quotes); g_free it. */
char *qme_json_quote(const char *s);

/*
 * PCI on the machine's ECAM (bus 0 unless said otherwise).
 */
typedef struct QmePciBar {
    bool present;
    bool io;
    bool is64;
    bool prefetch;
    uint64_t size;
    uint64_t addr;          /* bus address once assigned, else 0 */
} QmePciBar;

typedef struct QmePciDev {
    QmeQTest *qt;
    uint8_t bus;
    uint8_t devfn;
    uint16_t vendor_id;
    uint16_t device_id;
    QmePciBar bar[6];
    /* Set before qme_pci_assign_bars(): 64-bit BARs go above 4 GiB. */
    bool bar64_high;
} QmePciDev;

#define QME_PCI_DEVFN(slot, fn) ((((slot) & 0x1f) << 3) | ((fn) & 7))
#define QME_PCI_SLOT(devfn)     (((devfn) >> 3) & 0x1f)
#define QME_PCI_FUNC(devfn)     ((devfn) & 7)

/* Raw config access to any function; reads of absent functions: ~0. */
uint32_t qme_pci_cfg_read(QmeQTest *qt, uint8_t bus, uint8_t devfn,
                          uint16_t offset, unsigned size);
void qme_pci_cfg_write(QmeQTest *qt, uint8_t bus, uint8_t devfn,
                       uint16_t offset, unsigned size, uint32_t val);

uint8_t qme_pci_config_readb(QmePciDev *d, uint16_t offset);
uint16_t qme_pci_config_readw(QmePciDev *d, uint16_t offset);
uint32_t qme_pci_config_readl(QmePciDev *d, uint16_t offset);
void qme_pci_config_writeb(QmePciDev *d, uint16_t offset, uint8_t val);
void qme_pci_config_writew(QmePciDev *d, uint16_t offset, uint16_t val);
void qme_pci_config_writel(QmePciDev *d, uint16_t offset, uint32_t val);

/*
 * Find the @index-th (from 0) function on bus 0 with these IDs; returns a
 * new QmePciDev (g_free it) or NULL.
 */
QmePciDev *qme_pci_find(QmeQTest *qt, uint16_t vendor_id, uint16_t device_id,
                        int index);

/*
 * Size BAR @bar with the all-ones method (restoring the BAR and the
 * command register); fills d->bar[bar] except addr.  For a 64-bit BAR the
 * next index is marked absent.  Returns d->bar[bar].present.
 */
bool qme_pci_bar_probe(QmePciDev *d, int bar);
/*
 * Size and place every BAR (32-bit memory in the low PCIe window, 64-bit
 * in the low window if it fits, else -- or always with d->bar64_high --
 * in the high one at 0x8000000000, I/O in the PIO window),
 * then enable memory, I/O (if any) and bus mastering.  Returns false on
 * error (no room, protocol error).
 */
bool qme_pci_assign_bars(QmePciDev *d);
/* CPU physical address of an assigned BAR (I/O BARs: via the PIO window). */
uint64_t qme_pci_bar_cpu_addr(QmePciDev *d, int bar);

uint8_t qme_pci_bar_readb(QmePciDev *d, int bar, uint64_t off);
uint16_t qme_pci_bar_readw(QmePciDev *d, int bar, uint64_t off);
uint32_t qme_pci_bar_readl(QmePciDev *d, int bar, uint64_t off);
uint64_t qme_pci_bar_readq(QmePciDev *d, int bar, uint64_t off);
void qme_pci_bar_writeb(QmePciDev *d, int bar, uint64_t off, uint8_t val);
void qme_pci_bar_writew(QmePciDev *d, int bar, uint64_t off, uint16_t val);
void qme_pci_bar_writel(QmePciDev *d, int bar, uint64_t off, uint32_t val);
void qme_pci_bar_writeq(QmePciDev *d, int bar, uint64_t off, uint64_t val);

/* Config offset of capability @cap_id (standard list), 0 if none. */
uint8_t qme_pci_find_cap(QmePciDev *d, uint8_t cap_id);
/* Config offset of PCIe extended capability @cap_id, 0 if none. */
uint16_t qme_pci_find_ext_cap(QmePciDev *d, uint16_t cap_id);

/*
 * One PCI function under test, for g_test_add(QmePciFixture): the setup
 * calls qme_pci_fixture_start(), each test begins with
 * qme_pci_fixture_ready(), and qme_pci_fixture_stop is the teardown.
 */
typedef struct QmePciFixture {
    QmeQTest *qt;
    QmePciDev *dev;         /* NULL if QEMU or the function is missing */
} QmePciFixture;

/* Start QEMU as qme_qtest_start() does, find the first such function. */
void qme_pci_fixture_start(QmePciFixture *f, uint16_t vendor_id,
                           uint16_t device_id, const char *args_fmt, ...)
    G_GNUC_PRINTF(4, 5);
/*
 * Asserts that start-up worked and, with @bars, assigns the BARs.
 * Returns whether the test can go on.
 */
bool qme_pci_fixture_ready(QmePciFixture *f, bool bars);
void qme_pci_fixture_stop(QmePciFixture *f, gconstpointer data);

/*
 * Enable MSI (one vector) with message address @addr and data @data, and
 * bus mastering.  With @addr in guest RAM, a test sees the message as the
 * data word written there.  Returns false if the device has no MSI.
 */
bool qme_pci_msi_enable(QmePciDev *d, uint64_t addr, uint16_t data);
void qme_pci_msi_disable(QmePciDev *d);
/*
 * Enable MSI-X (BARs must be assigned), program table entry @vector with
 * @addr/@data and unmask it; other entries are left as they are.
 */
bool qme_pci_msix_enable(QmePciDev *d, unsigned vector, uint64_t addr,
                         uint32_t data);
void qme_pci_msix_disable(QmePciDev *d);

G_END_DECLS

#endif /* QME_QTEST_H */
