/*
 * QEMU 7.2 and 10.0 have exec/address-spaces.h, which 10.2 calls
 * system/address-spaces.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "exec/address-spaces.h"
