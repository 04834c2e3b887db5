// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The timer model against the guest's own generic timer, bare metal on
 * -M virt,gic-version=2: whichever home the model has (-device
 * sockdev-timer, or mmio-sockdev + sockdev-timer-server), what it says
 * the time is must match cntvct_el0, and its alarm must reach the GIC
 * at its time.  The firmware only measures and prints; the test script
 * (test-sockdev-timer-guest.py) judges:
 *   hz=F                        cntfrq_el0
 *   count C1 N C2               cntvct before, COUNT (ns), cntvct after
 *   alarm A LOW AT              ALARM (ns); cntvct before the last poll
 *                               that saw the GIC input low, and right
 *                               after the poll that saw it pending
 *   done                        then power off, or, built with
 *                               -DKEEP_RUNNING, read COUNT in a loop
 *                               forever (for lockstep in real time)
 * Expects the model at 0x0b000000, its interrupt on SPI 177.
 */
#include "qme-fw.h"
#include "sockdev_timer-regs.h"

#define TIMER_BASE	0x0b000000UL
#define GICD_BASE	0x08000000UL
#define GICD_ISPENDR	0x200
#define TIMER_INTID	(32 + 177)
#define COUNTS		20
#define ALARMS		5
#define ALARM_NS	2000000ULL	/* 2 ms ahead */
#define POLL_GAP_US	20	/* between GIC polls: the BQL for the others */

static int pending(void)
{
	uintptr_t reg = GICD_BASE + GICD_ISPENDR + 4 * (TIMER_INTID / 32);

	return (qme_fw_readl(reg) >> (TIMER_INTID % 32)) & 1;
}

static void put3(const char *tag, uint64_t a, uint64_t b, uint64_t c)
{
	qme_fw_puts(tag);
	qme_fw_putdec(a);
	qme_fw_puts(" ");
	qme_fw_putdec(b);
	qme_fw_puts(" ");
	qme_fw_putdec(c);
	qme_fw_puts("\n");
}

static uint64_t count(void)
{
	return qme_fw_readq(TIMER_BASE + SDTIMER_REG_COUNT);
}

int main(void)
{
	uint64_t gap;

	qme_fw_puts("hz=");
	qme_fw_putdec(qme_fw_cntfrq());
	qme_fw_puts("\n");
	if (qme_fw_readl(TIMER_BASE + SDTIMER_REG_ID) != SDTIMER_ID_VALUE) {
		qme_fw_puts("timer-fw: error: no timer model at 0x0b000000\n");
		return 1;
	}
	for (int i = 0; i < COUNTS; i++) {
		uint64_t c1 = qme_fw_cntvct(), n = count(), c2 = qme_fw_cntvct();

		put3("count ", c1, n, c2);
	}
	gap = qme_fw_cntfrq() / 1000000 * POLL_GAP_US;
	for (int i = 0; i < ALARMS; i++) {
		uint64_t alarm = count() + ALARM_NS, low, at, t;
		unsigned int spins = 0;

		qme_fw_writeq(TIMER_BASE + SDTIMER_REG_ALARM, alarm);
		qme_fw_writel(TIMER_BASE + SDTIMER_REG_CTRL,
			      SDTIMER_CTRL_ENABLE_MASK |
			      SDTIMER_CTRL_IRQ_EN_MASK);
		/*
		 * Writes are posted: reading back is how a driver knows they
		 * landed, and with them the server's request for the alarm.
		 */
		qme_fw_readl(TIMER_BASE + SDTIMER_REG_CTRL);
		/*
		 * Each GIC read takes QEMU's BQL: a gap between them lets the
		 * main loop, which runs the timers, have it too.
		 */
		low = qme_fw_cntvct();
		for (;;) {
			t = qme_fw_cntvct();
			if (pending())
				break;
			low = t;
			while (qme_fw_cntvct() - t < gap)
				;
		}
		at = qme_fw_cntvct();
		put3("alarm ", alarm, low, at);
		qme_fw_writel(TIMER_BASE + SDTIMER_REG_STATUS,
			      SDTIMER_STATUS_FIRED_MASK);
		/* The server lowers the line: give its message time to land. */
		while (pending() && ++spins < 100000000)
			;
	}
	qme_fw_puts("done\n");
#ifdef KEEP_RUNNING
	for (;;) {
		count();
		for (volatile int i = 0; i < 10000; i++)
			;
	}
#endif
	return 0;
}
