/*
 * QEMU 7.2 has qapi/qmp/qdict.h, which 10.0 calls qobject/qdict.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qapi/qmp/qdict.h"
