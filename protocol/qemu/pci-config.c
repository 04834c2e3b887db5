/*
 * Config space of PCI device models: see include/qme/pci-config.h.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_device.h"
#include "hw/pci/pci_bus.h"
#include "hw/pci/pcie.h"
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

void qme_pcie_hybrid_instance_init(Object *obj)
{
    PCI_DEVICE(obj)->cap_present |= QEMU_PCI_CAP_EXPRESS;
}

int qme_pcie_hybrid_cap_init(PCIDevice *pdev, uint8_t offset, Error **errp)
{
    ERRP_GUARD();
    PCIBus *bus = pci_get_bus(pdev);

    if (!pci_bus_is_express(bus) || pci_bus_is_root(bus)) {
        pdev->cap_present &= ~QEMU_PCI_CAP_EXPRESS;
        return 0;
    }
    if (pcie_cap_init(pdev, offset, PCI_EXP_TYPE_ENDPOINT, 0, errp) < 0) {
        error_prepend(errp, "%s: cannot add the PCI Express capability: ",
                      object_get_typename(OBJECT(pdev)));
        return -1;
    }
    return 0;
}

void qme_pcie_hybrid_cap_exit(PCIDevice *pdev)
{
    if (pci_is_express(pdev)) {
        pcie_cap_exit(pdev);
    }
}
