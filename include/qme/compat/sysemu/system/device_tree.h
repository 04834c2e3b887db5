/*
 * QEMU 7.2 has sysemu/device_tree.h, which 10.0 calls system/device_tree.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sysemu/device_tree.h"
