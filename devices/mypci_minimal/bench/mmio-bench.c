// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * MMIO cost benchmark, bare metal on -M virt: time N reads of
 * mypci_minimal's register against N reads of QEMU's in-tree edu device
 * register, in the same run, the same way (a guest load from BAR0, timed
 * with the generic timer).  Short alternating batches, and the fastest
 * batch of each, keep other load on the host out of the figure.
 *
 * Expects -device mypci_minimal,addr=01.0 -device edu,addr=02.0.
 */
#include "qme-fw.h"
#include "mypci_minimal-regs.h"

#define ECAM_BASE	0x4010000000UL	/* virt highmem PCIe ECAM */
#define MMIO_WINDOW	0x10000000UL	/* virt 32-bit PCIe MMIO window */
#define PCI_COMMAND	0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_BAR0	0x10
#define EDU_ID		0x010000edU

#define ROUNDS		200
#define READS		2000

static uintptr_t cfg(unsigned int slot, unsigned int reg)
{
	return ECAM_BASE + (slot << 15) + reg;
}

static void map_bar0(unsigned int slot, uintptr_t addr)
{
	qme_fw_writel(cfg(slot, PCI_BAR0), (uint32_t)addr);
	qme_fw_writel(cfg(slot, PCI_COMMAND),
		      qme_fw_readl(cfg(slot, PCI_COMMAND)) | PCI_COMMAND_MEMORY);
}

static uint64_t time_reads(uintptr_t reg)
{
	uint64_t start = qme_fw_cntvct();

	for (int i = 0; i < READS; i++)
		(void)qme_fw_readl(reg);
	return qme_fw_cntvct() - start;
}

int main(void)
{
	uintptr_t mypci = MMIO_WINDOW;
	uintptr_t edu = MMIO_WINDOW + 0x100000;	/* edu's BAR0 is 1 MiB */
	uint64_t best_mypci = ~0ULL, best_edu = ~0ULL;

	if (qme_fw_readl(cfg(1, 0)) !=
	    ((MYPCI_DEVICE_ID << 16) | MYPCI_VENDOR_ID) ||
	    qme_fw_readl(cfg(2, 0)) != 0x11e81234U) {
		qme_fw_puts("mmio-bench: error: expected mypci_minimal at 01.0, edu at 02.0\n");
		return 1;
	}
	map_bar0(1, mypci);
	map_bar0(2, edu);
	qme_fw_writel(mypci + MYPCI_REG_VALUE, 0x5a5a5a5a);
	if (qme_fw_readl(mypci + MYPCI_REG_VALUE) != 0x5a5a5a5a ||
	    qme_fw_readl(edu) != EDU_ID) {
		qme_fw_puts("mmio-bench: error: registers do not read back\n");
		return 1;
	}
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t = time_reads(mypci + MYPCI_REG_VALUE);

		if (t < best_mypci)
			best_mypci = t;
		t = time_reads(edu);
		if (t < best_edu)
			best_edu = t;
	}
	qme_fw_puts("mmio-bench: reads=");
	qme_fw_putdec(READS);
	qme_fw_puts(" mypci_minimal_ticks=");
	qme_fw_putdec(best_mypci);
	qme_fw_puts(" edu_ticks=");
	qme_fw_putdec(best_edu);
	qme_fw_puts("\n");
	return 0;
}
