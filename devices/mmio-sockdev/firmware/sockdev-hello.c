// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Bare-metal demo for mmio-sockdev: print the seed's line through the
 * device server's TXDATA register, polling STATUS.TXREADY and enabling
 * CTRL.ENABLE if the server starts with it off.  Progress goes to the
 * PL011 console so a test sees what the guest saw.
 */

#include "qme-fw.h"
#include "sockdev_uart-regs.h"
#include "mmio_sockdev-regs.h"

#define SOCKDEV_BASE	0x0b000000UL
#define SOCKDEV_SIZE	0x1000UL
#define BRIDGE_BASE	(SOCKDEV_BASE + SOCKDEV_SIZE)
#define TXREADY_SPINS	1000000

static int sockdev_putc(char c)
{
	unsigned long spins = 0;

	while (!(qme_fw_readl(SOCKDEV_BASE + SDUART_REG_STATUS) &
		 SDUART_STATUS_TXREADY_MASK)) {
		if (++spins == TXREADY_SPINS)
			return -1;
	}
	qme_fw_writel(SOCKDEV_BASE + SDUART_REG_TXDATA, (uint8_t)c);
	return 0;
}

int main(void)
{
	const char *msg = "Hello from MMIO sockdev\n";
	uint32_t status;

	if (qme_fw_readl(BRIDGE_BASE + SOCKDEV_REG_MAGIC) != SOCKDEV_MAGIC_VALUE) {
		qme_fw_puts("sockdev-fw: no mmio-sockdev at 0x0b000000\n");
		return 1;
	}
	status = qme_fw_readl(BRIDGE_BASE + SOCKDEV_REG_STATUS);
	qme_fw_puts("sockdev-fw: bridge status ");
	qme_fw_puthex(status, 8);
	qme_fw_puts("\n");
	if (!(status & SOCKDEV_STATUS_CONNECTED_MASK)) {
		qme_fw_puts("sockdev-fw: device server not connected\n");
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
	qme_fw_puts("sockdev-fw: sent 24 bytes\n");
	return 0;
}
