/*
 * QEMU 7.2 declares PCIDevice in hw/pci/pci.h; 10.0 in hw/pci/pci_device.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/pci/pci.h"
