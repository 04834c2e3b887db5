/*
 * The build stamp every module carries: which QEMU build it was compiled
 * for.  The loader reads it from the file before opening the module.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_STAMP_H
#define QME_STAMP_H

#define QME_STAMP_SECTION ".qme_build"
/*
 * Fixed size, so a stamp can be rewritten in place (objcopy) by tests.
 * Room for the build-ids of every emulator of one QEMU build, twice.
 */
#define QME_STAMP_SIZE 512

/*
 * A module built outside this tree (the SDK) also carries the command that
 * rebuilds it (QME_STAMP_REBUILD at compile time), which the loader prints
 * when it refuses the module after a QEMU upgrade.  At most this size.
 */
#define QME_REBUILD_SECTION ".qme_rebuild"
#define QME_REBUILD_SIZE 1024

#endif
