/*
 * Config space of PCI device models: writes around a QEMU core bug, and
 * the PCI Express capability only where the device is Express.
 *
 * pci_default_write_config() of QEMU 7.2 applies a change of INTx Disable
 * (command register bit 10, in byte 0x05) to the interrupt line only when
 * the write covers byte 0x04.  A guest write that starts at byte 0x05
 * sets the bit but leaves an asserted INTx asserted and counted on the
 * bus: the line stays up while disabled, and the next system_reset aborts
 * QEMU in pcibus_reset() ("bus->irq_count[i] == 0").  Found by the device
 * storm (tests/storm).  Devices with an interrupt pin and their own
 * config_write call qme_pci_default_write_config() instead.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_PCI_CONFIG_H
#define QME_PCI_CONFIG_H

#include "hw/pci/pci.h"
#include "hw/pci/pci_device.h"

/*
 * pci_default_write_config(), with the command register applied whole.
 * Cannot fail (a config write has no error path).
 */
void qme_pci_default_write_config(PCIDevice *pdev, uint32_t addr,
                                  uint32_t val, int len);

/*
 * PCI Express only below a PCIe port.
 *
 * A device that implements both INTERFACE_PCIE_DEVICE and
 * INTERFACE_CONVENTIONAL_PCI_DEVICE (QEMU calls it hybrid) is an Express
 * endpoint below a root port or a switch's downstream port, and a
 * conventional device (256 bytes of config space, no Express capability)
 * on a conventional bus and on the root complex's own bus (pcie.0 of virt
 * and q35), where an Express device would have to be a root complex
 * integrated endpoint.  The PCI core sizes config space by
 * QEMU_PCI_CAP_EXPRESS before the device's realize runs, and leaves that
 * flag to a hybrid device: such a device uses
 *   qme_pcie_hybrid_instance_init()   as (or from) its instance_init,
 *   qme_pcie_hybrid_cap_init()        in realize,
 *   qme_pcie_hybrid_cap_exit()        in exit.
 */

/*
 * Size config space for Express until realize knows the bus.  Has the
 * signature of TypeInfo.instance_init.  Cannot fail.
 */
void qme_pcie_hybrid_instance_init(Object *obj);

/*
 * Below a PCIe port: add the PCI Express capability (v2, endpoint) at
 * @offset.  Elsewhere: make the device conventional.  pci_is_express()
 * then tells which.  Returns 0 on success, -1 with *errp set if the
 * capability does not fit at @offset.
 */
int qme_pcie_hybrid_cap_init(PCIDevice *pdev, uint8_t offset, Error **errp);

/* Remove what qme_pcie_hybrid_cap_init() added.  Cannot fail. */
void qme_pcie_hybrid_cap_exit(PCIDevice *pdev);

#endif /* QME_PCI_CONFIG_H */
