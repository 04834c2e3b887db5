/*
 * QEMU 7.2 has sysemu/cpu-timers.h, which 10.0 calls system/cpu-timers.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sysemu/cpu-timers.h"
