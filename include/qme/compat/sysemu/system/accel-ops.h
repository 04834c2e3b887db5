/*
 * QEMU 7.2 has sysemu/accel-ops.h, which 10.0 calls system/accel-ops.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sysemu/accel-ops.h"
