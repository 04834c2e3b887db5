/*
 * Between the system-wide wrapper (qemu-system-wrapper.c) and the loader.
 *
 * The wrapper puts its own entries in front of LD_PRELOAD and
 * QME_MODULE_PATH and records in QME_WRAPPED, for each in that order, how
 * many characters it put in front, or "-" if the caller had not set the
 * variable: "46 -".  The loader, in QEMU, removes them and the marker
 * again, so that QEMU's own children (network scripts, helpers) see the
 * caller's environment.
 *
 * The wrapper carries the section QME_WRAPPER_SECTION: a loader preloaded
 * by the caller does nothing in the wrapper process itself (its name is
 * the emulator's, its build-id is not).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_WRAPPED_H
#define QME_WRAPPED_H

#define QME_WRAPPED_ENV "QME_WRAPPED"
#define QME_WRAPPER_SECTION ".qme_wrapper"

#endif
