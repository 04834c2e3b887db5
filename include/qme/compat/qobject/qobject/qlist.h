/*
 * QEMU 7.2 has qapi/qmp/qlist.h, which 10.0 calls qobject/qlist.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qapi/qmp/qlist.h"
