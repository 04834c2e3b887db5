// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mmio-sockdev benchmark, bare metal on -M virt, timed with the generic
 * timer (cntvct_el0) so the figures are what the guest sees:
 *  - read round trip: reads of the UART server's STATUS register, each a
 *    READ/READ_REPLY exchange with the device server; the first read of
 *    each batch apart (median), as it may wake the server;
 *  - the same reads of QEMU's in-process edu register, for scale;
 *  - posted writes: WRITES writes of CTRL, then one read of CTRL, which
 *    cannot be answered before every write reached the server; the same
 *    on edu's liveness register for scale.
 * Short alternating batches, and the fastest of each, keep other load on
 * the (shared) host out of the figures, as in mypci_minimal's benchmark.
 *
 * Expects -device mmio-sockdev (default addr 0x0b000000, v1, connected to
 * sockdev-uart-server) and -device edu,addr=01.0.
 */
#include "qme-fw.h"
#include "sockdev_uart-regs.h"
#include "mmio_sockdev-regs.h"

#define SOCKDEV_BASE	0x0b000000UL
#define SOCKDEV_SIZE	0x1000UL
#define BRIDGE_BASE	(SOCKDEV_BASE + SOCKDEV_SIZE)

#define ECAM_BASE	0x4010000000UL	/* virt highmem PCIe ECAM */
#define MMIO_WINDOW	0x10000000UL	/* virt 32-bit PCIe MMIO window */
#define PCI_COMMAND	0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_BAR0	0x10
#define EDU_SLOT	1
#define EDU_PCI_ID	0x11e81234U
#define EDU_ID		0x010000edU
#define EDU_REG_LIVENESS 0x04	/* reads back ~written */

#define ROUNDS		100
#define READS		50	/* per batch: well inside a time slice */
#define EDU_READS	2000
#define WRITE_ROUNDS	10
#define WRITES		20000

static uintptr_t cfg(unsigned int slot, unsigned int reg)
{
	return ECAM_BASE + (slot << 15) + reg;
}

static uint64_t ticks(void)
{
	uint64_t t;

	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(t) :: "memory");
	return t;
}

static uint64_t timer_hz(void)
{
	uint64_t f;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
	return f;
}

/*
 * Ticks for @n reads of @reg, after one read timed apart into *@first; 0
 * if one read back a wrong value.  The guest was away between batches
 * (the edu batch takes longer than the server's busy-wait), so the first
 * read may wake a sleeping server: that is a wake-up, not a round trip.
 */
static uint64_t time_reads(uintptr_t reg, int n, uint32_t expect,
			   uint64_t *first)
{
	uint64_t start = ticks(), t;
	uint32_t bad = qme_fw_readl(reg) ^ expect;

	t = ticks();
	*first = t - start;
	start = t;
	for (int i = 0; i < n; i++)
		bad |= qme_fw_readl(reg) ^ expect;
	t = ticks() - start;
	return bad ? 0 : t;
}

static uint64_t median(uint64_t *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t x = v[j];

			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	return v[n / 2];
}

/* @flip: what the register does to a value between write and read. */
static uint64_t time_writes(uintptr_t reg, uint32_t mask, uint32_t flip)
{
	uint64_t start = ticks(), t;
	uint32_t last;

	/* Alternate so the read-back proves the last write arrived last. */
	for (int i = 0; i < WRITES; i++)
		qme_fw_writel(reg, i & mask);
	last = qme_fw_readl(reg);
	t = ticks() - start;
	return last == (((WRITES - 1) & mask) ^ flip) ? t : 0;
}

static void put_field(const char *name, uint64_t val)
{
	qme_fw_puts(name);
	qme_fw_putdec(val);
}

int main(void)
{
	uintptr_t status = SOCKDEV_BASE + SDUART_REG_STATUS;
	uintptr_t edu = MMIO_WINDOW;
	uint64_t best_sd = ~0ULL, best_edu = ~0ULL, best_wr = ~0ULL;
	uint64_t best_edu_wr = ~0ULL, first[ROUNDS], unused;

	if (qme_fw_readl(BRIDGE_BASE + SOCKDEV_REG_MAGIC) !=
	    SOCKDEV_MAGIC_VALUE ||
	    !(qme_fw_readl(BRIDGE_BASE + SOCKDEV_REG_STATUS) &
	      SOCKDEV_STATUS_CONNECTED_MASK)) {
		qme_fw_puts("sockdev-bench: error: no server behind 0x0b000000\n");
		return 1;
	}
	if (qme_fw_readl(cfg(EDU_SLOT, 0)) != EDU_PCI_ID) {
		qme_fw_puts("sockdev-bench: error: expected edu at 01.0\n");
		return 1;
	}
	qme_fw_writel(cfg(EDU_SLOT, PCI_BAR0), (uint32_t)edu);
	qme_fw_writel(cfg(EDU_SLOT, PCI_COMMAND),
		      qme_fw_readl(cfg(EDU_SLOT, PCI_COMMAND)) |
		      PCI_COMMAND_MEMORY);
	if (qme_fw_readl(status) != SDUART_STATUS_TXREADY_MASK ||
	    qme_fw_readl(edu) != EDU_ID) {
		qme_fw_puts("sockdev-bench: error: bad register values\n");
		return 1;
	}

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t = time_reads(status, READS,
					SDUART_STATUS_TXREADY_MASK, &first[r]);

		if (!t)
			goto wrong;
		if (t < best_sd)
			best_sd = t;
		t = time_reads(edu, EDU_READS, EDU_ID, &unused);
		if (!t)
			goto wrong;
		if (t < best_edu)
			best_edu = t;
	}
	for (int r = 0; r < WRITE_ROUNDS; r++) {
		uint64_t t = time_writes(SOCKDEV_BASE + SDUART_REG_CTRL,
					 SDUART_CTRL_ENABLE_MASK, 0);

		if (!t)
			goto wrong;
		if (t < best_wr)
			best_wr = t;
		t = time_writes(edu + EDU_REG_LIVENESS, ~0U, ~0U);
		if (!t)
			goto wrong;
		if (t < best_edu_wr)
			best_edu_wr = t;
	}
	/* Leave the UART as the server started it. */
	qme_fw_writel(SOCKDEV_BASE + SDUART_REG_CTRL, SDUART_CTRL_ENABLE_MASK);

	put_field("sockdev-bench: hz=", timer_hz());
	put_field(" reads=", READS);
	put_field(" sockdev_ticks=", best_sd);
	put_field(" edu_reads=", EDU_READS);
	put_field(" edu_ticks=", best_edu);
	put_field(" writes=", WRITES);
	put_field(" write_ticks=", best_wr);
	put_field(" edu_write_ticks=", best_edu_wr);
	put_field(" first_read_ticks=", median(first, ROUNDS));
	qme_fw_puts("\n");
	return 0;
wrong:
	qme_fw_puts("sockdev-bench: error: a register read back wrong\n");
	return 1;
}
