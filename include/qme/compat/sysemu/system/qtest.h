/*
 * QEMU 7.2 has sysemu/qtest.h, which 10.0 calls system/qtest.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sysemu/qtest.h"
