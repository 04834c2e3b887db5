/*
 * QEMU 7.2 and 10.0 declare AccelOpsClass in system/accel-ops.h; 10.2 in
 * accel/accel-cpu-ops.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "system/accel-ops.h"
