// SPDX-License-Identifier: GPL-2.0-or-later
/* Smallest bare-metal program: print a line, return (start.S powers off). */

#include "qme-fw.h"

int main(void)
{
	qme_fw_puts("qme-firmware: hello from bare metal at EL");
	qme_fw_putdec(qme_fw_current_el());
	qme_fw_puts("\n");
	return 0;
}
