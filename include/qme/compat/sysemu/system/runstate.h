/*
 * QEMU 7.2 has sysemu/runstate.h, which 10.0 calls system/runstate.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sysemu/runstate.h"
