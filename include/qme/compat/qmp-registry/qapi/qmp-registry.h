/*
 * QEMU 7.2 has qapi/qmp/dispatch.h, which 10.0 calls qapi/qmp-registry.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qapi/qmp/dispatch.h"
