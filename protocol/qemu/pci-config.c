/*
 * Config-space writes around a QEMU core bug: see include/qme/pci-config.h.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "qme/pci-config.h"

void qme_pci_default_write_config(PCIDevice *pdev, uint32_t addr,
                                  uint32_t val, int len)
{
    if (addr == PCI_COMMAND + 1) {
        /*
         * As a word write of the command register whose low byte is
         * rewritten with its own value (no change there), so QEMU's core
         * sees the command register and updates the line; then the rest.
         */
        uint32_t cmd = pci_get_byte(pdev->config + PCI_COMMAND) |
                       (val & 0xff) << 8;

        pci_default_write_config(pdev, PCI_COMMAND, cmd, 2);
        if (len > 1) {
            pci_default_write_config(pdev, addr + 1, val >> 8, len - 1);
        }
        return;
    }
    pci_default_write_config(pdev, addr, val, len);
}
