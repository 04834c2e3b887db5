/*
 * QEMU 7.2 and 10.0 have exec/memory.h, which 10.2 calls system/memory.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "exec/memory.h"
