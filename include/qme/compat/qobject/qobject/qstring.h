/*
 * QEMU 7.2 has qapi/qmp/qstring.h, which 10.0 calls qobject/qstring.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qapi/qmp/qstring.h"
