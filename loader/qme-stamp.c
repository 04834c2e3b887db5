/*
 * Linked into every module: records the QEMU build the module was compiled
 * for, as "build-id=HEX[,HEX...];qemu=VERSION;package=DEBIAN-VERSION;
 * targets=T[,T...];build=T:HEX[,T:HEX...]".
 *
 * build-id names the emulators the module may be loaded into, targets
 * their names (qemu-system-T).  build lists every installed emulator of
 * the same QEMU build, so that the loader can tell "another QEMU build"
 * from "this build, but a machine the device cannot live in".  A platform
 * module (QME_STAMP_PLATFORM) needs virt's GIC and FDT: it names only the
 * SDK's own target, and says why in "why".
 *
 * A module built outside this tree with the installed SDK is compiled with
 * QME_STAMP_REBUILD, the command that rebuilds it; the loader names it
 * when the module is refused after a QEMU upgrade.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qme-stamp.h"
#include "qme-build-config.h"

#ifdef QME_STAMP_PLATFORM
#define QME_STAMP_RUNS_IN \
    "build-id=" QME_QEMU_BUILD_ID ";targets=" QME_STAMP_PLATFORM_TARGET \
    ";why=platform device of -M virt"
#else
#define QME_STAMP_RUNS_IN \
    "build-id=" QME_STAMP_PCI_IDS ";targets=" QME_STAMP_PCI_TARGETS
#endif

__attribute__((used, section(QME_STAMP_SECTION)))
static const char qme_build_stamp[QME_STAMP_SIZE] =
    QME_STAMP_RUNS_IN ";qemu=" QME_QEMU_VERSION
    ";package=" QME_QEMU_PACKAGE_VERSION ";build=" QME_STAMP_BUILD;

#ifdef QME_STAMP_REBUILD
__attribute__((used, section(QME_REBUILD_SECTION)))
static const char qme_rebuild_command[] = QME_STAMP_REBUILD;
#endif
