/*
 * QEMU 7.2 has sysemu/cpus.h, which 10.0 calls system/cpus.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sysemu/cpus.h"
