// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Bare-metal demo for mmio-sockdev: print the seed's line through the
 * device server's TXDATA register, polling STATUS.TXREADY and enabling
 * CTRL.ENABLE if the server starts with it off.  Progress goes to the
 * PL011 console so a test sees what the guest saw.  The same registers
 * in QEMU (-device sockdev-uart) come without mmio-sockdev's bridge block,
 * whose read then aborts: the probe below turns that into "no bridge".
 */

#include "qme-fw.h"
#include "sockdev_uart-regs.h"
#include "mmio_sockdev-regs.h"

#define SOCKDEV_BASE	0x0b000000UL
#define SOCKDEV_SIZE	0x1000UL
#define BRIDGE_BASE	(SOCKDEV_BASE + SOCKDEV_SIZE)
#define TXREADY_SPINS	1000000

/*
 * Exception vectors for the probe: a synchronous exception taken at EL1
 * (the external abort of a read where nothing is mapped) skips the load,
 * which leaves its target unchanged, and sets x16.  Without them the CPU
 * would jump to address 0x200 and spin there.
 */
__asm__(".section .text.vectors, \"ax\"\n"
	".balign 2048\n"
	"probe_vectors:\n"
	".skip 0x200\n"		/* current EL with SPx, synchronous */
	"mrs x17, elr_el1\n"
	"add x17, x17, #4\n"
	"msr elr_el1, x17\n"
	"mov x16, #1\n"
	"eret\n"
	".previous\n");

/* Read @addr into *@val (0 if aborted); 0 if nothing answered there. */
static int probe_readl(uintptr_t addr, uint32_t *val)
{
	register uint64_t aborted __asm__("x16") = 0;
	uint32_t v = 0;

	__asm__ volatile("ldr %w1, [%2]"
			 : "+r"(aborted), "+r"(v)
			 : "r"(addr)
			 : "x17", "memory");
	*val = v;
	return !aborted;
}

static int wait_txready(void)
{
	unsigned long spins = 0;

	while (!(qme_fw_readl(SOCKDEV_BASE + SDUART_REG_STATUS) &
		 SDUART_STATUS_TXREADY_MASK)) {
		if (++spins == TXREADY_SPINS)
			return -1;
	}
	return 0;
}

static int sockdev_putc(char c)
{
	if (wait_txready())
		return -1;
	qme_fw_writel(SOCKDEV_BASE + SDUART_REG_TXDATA, (uint8_t)c);
	return 0;
}

/* mmio-sockdev's bridge block: is a device server connected? */
static int bridge_ok(uint32_t magic)
{
	uint32_t status;

	if (magic != SOCKDEV_MAGIC_VALUE) {
		qme_fw_puts("sockdev-fw: no mmio-sockdev at 0x0b000000\n");
		return 0;
	}
	status = qme_fw_readl(BRIDGE_BASE + SOCKDEV_REG_STATUS);
	qme_fw_puts("sockdev-fw: bridge status ");
	qme_fw_puthex(status, 8);
	qme_fw_puts("\n");
	if (!(status & SOCKDEV_STATUS_CONNECTED_MASK)) {
		qme_fw_puts("sockdev-fw: device server not connected\n");
		return 0;
	}
	return 1;
}

int main(void)
{
	const char *msg = "Hello from MMIO sockdev\n";
	uint32_t magic, status;

	__asm__ volatile("adr x17, probe_vectors\n\t"
			 "msr vbar_el1, x17\n\t"
			 "isb" : : : "x17");
	if (!probe_readl(BRIDGE_BASE + SOCKDEV_REG_MAGIC, &magic)) {
		if (!probe_readl(SOCKDEV_BASE + SDUART_REG_STATUS, &status)) {
			qme_fw_puts("sockdev-fw: no device at 0x0b000000\n");
			return 1;
		}
		qme_fw_puts("sockdev-fw: no bridge: UART modelled in QEMU\n");
	} else if (!bridge_ok(magic)) {
		return 1;
	}
	if (!(qme_fw_readl(SOCKDEV_BASE + SDUART_REG_CTRL) &
	      SDUART_CTRL_ENABLE_MASK)) {
		qme_fw_puts("sockdev-fw: CTRL.ENABLE was 0, enabling\n");
		qme_fw_writel(SOCKDEV_BASE + SDUART_REG_CTRL,
			      SDUART_CTRL_ENABLE_MASK);
	}
	while (*msg) {
		if (sockdev_putc(*msg++)) {
			qme_fw_puts("sockdev-fw: TXREADY never came\n");
			return 1;
		}
	}
	/*
	 * Writes are posted: wait until the last character has gone out, so
	 * that the report below follows it on a terminal shared with the server.
	 */
	if (wait_txready()) {
		qme_fw_puts("sockdev-fw: TXREADY never came\n");
		return 1;
	}
	qme_fw_puts("sockdev-fw: sent 24 bytes\n");
	return 0;
}
