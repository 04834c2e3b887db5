/*
 * QEMU 7.2 has sysemu/reset.h, which 10.0 calls system/reset.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sysemu/reset.h"
