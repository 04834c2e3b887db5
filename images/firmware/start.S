/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Entry point for bare-metal programs on QEMU's aarch64 'virt' machine,
 * loaded with -kernel as an ELF: set up the stack, zero .bss, call main(),
 * then power the machine off with main's return value ignored.
 */

	.section .text.start, "ax"
	.global _start
	.type _start, %function
_start:
	/* Only CPU 0 runs; any other (with -smp) parks. */
	mrs	x0, mpidr_el1
	and	x0, x0, #0xff
	cbnz	x0, park

	ldr	x0, =__stack_top
	mov	sp, x0

	ldr	x0, =__bss_start
	ldr	x1, =__bss_end
1:	cmp	x0, x1
	b.hs	2f
	str	xzr, [x0], #8
	b	1b
2:
	bl	main
	bl	qme_fw_system_off
park:
	wfe
	b	park
	.size _start, . - _start
