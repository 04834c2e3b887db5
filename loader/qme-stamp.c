/*
 * Linked into every module: records the QEMU build the module was compiled
 * for, as "build-id=HEX;qemu=VERSION;package=DEBIAN-VERSION".
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qme-stamp.h"
#include "qme-build-config.h"

__attribute__((used, section(QME_STAMP_SECTION)))
static const char qme_build_stamp[QME_STAMP_SIZE] =
    "build-id=" QME_QEMU_BUILD_ID ";qemu=" QME_QEMU_VERSION
    ";package=" QME_QEMU_PACKAGE_VERSION;
