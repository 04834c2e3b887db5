/*
 * QEMU 7.2 and 10.0 declare dummy_start_vcpu_thread() in system/cpus.h; 10.2
 * in accel/dummy-cpus.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "system/cpus.h"
