/*
 * QEMU 7.2 has sysemu/sysemu.h, which 10.0 calls system/system.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sysemu/sysemu.h"
