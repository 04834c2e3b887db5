/*
 * QEMU 7.2 has qapi/qmp/qnum.h, which 10.0 calls qobject/qnum.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qapi/qmp/qnum.h"
