/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reusable helpers for bare-metal programs on QEMU's aarch64 'virt'
 * machine: PL011 console output, MMIO accessors, PSCI power control.
 */
#ifndef QME_FW_H
#define QME_FW_H

#include <stdint.h>

#define QME_FW_UART_BASE	0x09000000UL	/* virt's PL011 (UART0) */

#define PSCI_0_2_FN_SYSTEM_OFF	0x84000008U
#define PSCI_0_2_FN_SYSTEM_RESET 0x84000009U

static inline uint32_t qme_fw_readl(uintptr_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void qme_fw_writel(uintptr_t addr, uint32_t val)
{
	*(volatile uint32_t *)addr = val;
}

static inline uint64_t qme_fw_readq(uintptr_t addr)
{
	return *(volatile uint64_t *)addr;
}

static inline void qme_fw_writeq(uintptr_t addr, uint64_t val)
{
	*(volatile uint64_t *)addr = val;
}

/* The generic timer: the virtual count (ordered after what came before). */
static inline uint64_t qme_fw_cntvct(void)
{
	uint64_t t;

	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(t) :: "memory");
	return t;
}

/* Its frequency in Hz. */
static inline uint64_t qme_fw_cntfrq(void)
{
	uint64_t f;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
	return f;
}

void qme_fw_putc(char c);
void qme_fw_puts(const char *s);
/* "0x" followed by 'digits' hex digits of val */
void qme_fw_puthex(uint64_t val, int digits);
void qme_fw_putdec(uint64_t val);
unsigned int qme_fw_current_el(void);

/* PSCI call through the conduit QEMU uses without EL2/EL3 (HVC). */
uint64_t qme_fw_psci(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
void qme_fw_system_off(void) __attribute__((noreturn));

#endif
