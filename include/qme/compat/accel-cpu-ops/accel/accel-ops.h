/*
 * QEMU 7.2 and 10.0 declare AccelClass in qemu/accel.h; 10.2 in
 * accel/accel-ops.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/accel.h"
