/*
 * Config-space writes for PCI device models, around a QEMU core bug.
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

/* pci_default_write_config(), with the command register applied whole. */
void qme_pci_default_write_config(PCIDevice *pdev, uint32_t addr,
                                  uint32_t val, int len);

#endif /* QME_PCI_CONFIG_H */
