// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Bare-metal helpers for QEMU's aarch64 'virt' machine.
 *
 * PL011: QEMU's model needs no baud-rate setup; a character is written to
 * UARTDR once UARTFR.TXFF is clear.
 *
 * PSCI: with -cpu max and neither EL3 (secure=off) nor EL2
 * (virtualization=off), 'virt' advertises PSCI 0.2+ with the HVC conduit
 * and QEMU itself implements the calls.
 */

#include "qme-fw.h"

#define PL011_DR	0x00
#define PL011_FR	0x18
#define PL011_FR_TXFF	(1U << 5)

void qme_fw_putc(char c)
{
	while (qme_fw_readl(QME_FW_UART_BASE + PL011_FR) & PL011_FR_TXFF)
		;
	qme_fw_writel(QME_FW_UART_BASE + PL011_DR, (uint8_t)c);
}

void qme_fw_puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			qme_fw_putc('\r');
		qme_fw_putc(*s++);
	}
}

void qme_fw_puthex(uint64_t val, int digits)
{
	static const char hex[] = "0123456789abcdef";

	qme_fw_puts("0x");
	while (digits-- > 0)
		qme_fw_putc(hex[(val >> (digits * 4)) & 0xf]);
}

void qme_fw_putdec(uint64_t val)
{
	char buf[21];
	int i = sizeof(buf) - 1;

	buf[i] = '\0';
	do {
		buf[--i] = '0' + val % 10;
		val /= 10;
	} while (val);
	qme_fw_puts(&buf[i]);
}

unsigned int qme_fw_current_el(void)
{
	uint64_t el;

	__asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
	return (el >> 2) & 3;
}

uint64_t qme_fw_psci(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fn;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;

	__asm__ volatile("hvc #0"
			 : "+r"(x0)
			 : "r"(x1), "r"(x2), "r"(x3)
			 : "memory");
	return x0;
}

void qme_fw_system_off(void)
{
	qme_fw_psci(PSCI_0_2_FN_SYSTEM_OFF, 0, 0, 0);
	/* Only reached if the call was refused. */
	qme_fw_puts("qme-firmware: PSCI SYSTEM_OFF failed\n");
	for (;;)
		__asm__ volatile("wfi");
}
