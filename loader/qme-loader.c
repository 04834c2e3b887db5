/*
 * qemu-modules-extra loader.
 *
 * Stock QEMU discovers modules only through a table compiled into the
 * binary, so it never finds an out-of-tree device.  This object is put in
 * LD_PRELOAD; before QEMU's main() runs, its constructor opens every
 * module found in $QME_MODULE_PATH, whose own constructors then register
 * their QOM types exactly as built-in devices do.
 *
 * LD_PRELOAD reaches every process of the environment, so the loader
 * references no QEMU symbol and does nothing unless the process is a QEMU
 * system emulator.  Nothing in QEMU checks that a module matches the
 * binary, so the loader does: each module carries the GNU build-ids of the
 * QEMU emulators it was compiled for (section .qme_build, see qme-stamp.c),
 * and a module that names none of the running binary's is refused with one
 * line and never opened, as is a file without the stamp.  A platform
 * device in another emulator of the same QEMU build (qemu-system-x86_64)
 * is skipped too, and said so when the command line asks for it.
 *
 * In the system-wide mode a wrapper takes the stock emulator's name and
 * sets the preload for the real binary only (qemu-system-wrapper.c); the
 * loader then hands QEMU's children the caller's environment back.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qme-stamp.h"
#include "qme-wrapped.h"

#define LOG_PREFIX "qemu-modules-extra: "

/*
 * Copy the contents of section @name of ELF file @path into @buf (at most
 * @len bytes, NUL-terminated).  Returns the section size, or -1 if the
 * file is not a readable ELF64 object or has no such section.
 */
static long elf_read_section(const char *path, const char *name,
                             char *buf, size_t len)
{
    Elf64_Ehdr eh;
    Elf64_Shdr sh, strsh;
    long ret = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return -1;
    }
    if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum ||
        pread(fd, &strsh, sizeof(strsh),
              eh.e_shoff + (off_t)eh.e_shstrndx * sizeof(Elf64_Shdr)) !=
            sizeof(strsh)) {
        goto out;
    }
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        char sname[64];
        ssize_t n;

        if (pread(fd, &sh, sizeof(sh),
                  eh.e_shoff + (off_t)i * sizeof(Elf64_Shdr)) != sizeof(sh)) {
            goto out;
        }
        n = pread(fd, sname, sizeof(sname) - 1, strsh.sh_offset + sh.sh_name);
        if (n <= 0) {
            continue;
        }
        sname[n] = '\0';
        if (strcmp(sname, name) != 0) {
            continue;
        }
        n = pread(fd, buf, len - 1 < sh.sh_size ? len - 1 : sh.sh_size,
                  sh.sh_offset);
        if (n < 0) {
            goto out;
        }
        buf[n] = '\0';
        ret = (long)sh.sh_size;
        goto out;
    }
out:
    close(fd);
    return ret;
}

/* Hex GNU build-id of ELF file @path into @hex, or -1. */
static int elf_build_id(const char *path, char *hex, size_t len)
{
    char note[256];
    long size = elf_read_section(path, ".note.gnu.build-id", note,
                                 sizeof(note));
    const Elf64_Nhdr *nh = (const Elf64_Nhdr *)note;
    const unsigned char *desc;

    if (size < (long)sizeof(*nh) || nh->n_type != NT_GNU_BUILD_ID ||
        sizeof(*nh) + ((nh->n_namesz + 3) & ~3u) + nh->n_descsz >
            (size_t)size || nh->n_descsz * 2 + 1 > len) {
        return -1;
    }
    desc = (const unsigned char *)note + sizeof(*nh) +
           ((nh->n_namesz + 3) & ~3u);
    for (unsigned i = 0; i < nh->n_descsz; i++) {
        sprintf(hex + 2 * i, "%02x", desc[i]);
    }
    return 0;
}

/* The value of "key=" in a stamp string, copied into @out. */
static void stamp_field(const char *stamp, const char *key,
                        char *out, size_t len)
{
    size_t klen = strlen(key);
    const char *p = stamp;

    out[0] = '\0';
    while ((p = strstr(p, key)) != NULL) {
        if ((p == stamp || p[-1] == ';') && p[klen] == '=') {
            size_t n = strcspn(p + klen + 1, ";");

            if (n >= len) {
                n = len - 1;
            }
            memcpy(out, p + klen + 1, n);
            out[n] = '\0';
            return;
        }
        p += klen;
    }
}

/* Whether comma-separated @list has the entry @item. */
static int list_has(const char *list, const char *item)
{
    size_t n = strlen(item);

    for (const char *p = list; *p; p += strcspn(p, ",")) {
        p += *p == ',';
        if (strncmp(p, item, n) == 0 && (p[n] == ',' || p[n] == '\0')) {
            return 1;
        }
    }
    return 0;
}

/* The target ("x86_64") that @build ("T:HEX,...") gives build-id @id. */
static int build_target(const char *build, const char *id,
                        char *out, size_t len)
{
    for (const char *p = build; *p; p += strcspn(p, ",")) {
        const char *colon;
        size_t n;

        p += *p == ',';
        colon = strchr(p, ':');
        n = strcspn(p, ",");
        if (!colon || colon > p + n || (size_t)(colon - p) >= len) {
            continue;
        }
        if (strlen(id) == n - (colon + 1 - p) &&
            strncmp(colon + 1, id, strlen(id)) == 0) {
            memcpy(out, p, colon - p);
            out[colon - p] = '\0';
            return 0;
        }
    }
    return -1;
}

/*
 * Whether the command line names device type @type ("-device TYPE,..." or
 * "driver=TYPE"): the user asked for a module this emulator skips.
 */
static int cmdline_wants(const char *type)
{
    static char args[16384];
    static ssize_t len = -1;
    size_t tlen = strlen(type);

    if (len < 0) {
        int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

        len = fd < 0 ? 0 : read(fd, args, sizeof(args) - 1);
        len = len < 0 ? 0 : len;
        args[len] = '\0';
        if (fd >= 0) {
            close(fd);
        }
    }
    for (const char *a = args; a < args + len; a += strlen(a) + 1) {
        const char *d = strstr(a, "driver=");

        if ((strncmp(a, type, tlen) == 0 &&
             (a[tlen] == ',' || a[tlen] == '\0')) ||
            (d && (d == a || d[-1] == ',') &&
             strncmp(d + 7, type, tlen) == 0 &&
             (d[7 + tlen] == ',' || d[7 + tlen] == '\0'))) {
            return 1;
        }
    }
    return 0;
}

static int is_module_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);

    return n > 3 && strcmp(d->d_name + n - 3, ".so") == 0;
}

static void load_dir(const char *dir, const char *exe, const char *exe_id,
                     int verbose)
{
    struct dirent **names;
    int n = scandir(dir, &names, is_module_file, alphasort);

    if (n < 0) {
        if (verbose) {
            fprintf(stderr, LOG_PREFIX "cannot read module folder %s\n", dir);
        }
        return;
    }
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX], stamp[QME_STAMP_SIZE];
        char id[QME_STAMP_SIZE], build[QME_STAMP_SIZE], version[80];
        char target[32], targets[80], why[80], type[NAME_MAX + 1];
        char rebuild[QME_REBUILD_SIZE];

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        /* The module's file name is the name of the type it registers. */
        snprintf(type, sizeof(type), "%.*s",
                 (int)strlen(names[i]->d_name) - 3, names[i]->d_name);
        free(names[i]);
        /*
         * A module folder holds modules only: a file without our stamp
         * may be built for any QEMU, so it is never opened, and said so.
         */
        if (elf_read_section(path, QME_STAMP_SECTION, stamp,
                             sizeof(stamp)) < 0) {
            fprintf(stderr, LOG_PREFIX "refusing %s: it has no "
                    "qemu-modules-extra stamp (ELF section %s), so nothing "
                    "says which QEMU build it is for; build it with the "
                    "stamp (the SDK's meson.build lines, see "
                    "qme-new-device) or remove it from this folder\n",
                    path, QME_STAMP_SECTION);
            continue;
        }
        stamp_field(stamp, "build-id", id, sizeof(id));
        stamp_field(stamp, "qemu", version, sizeof(version));
        stamp_field(stamp, "build", build, sizeof(build));
        if (!list_has(id, exe_id) &&
            build_target(build, exe_id, target, sizeof(target)) == 0) {
            /*
             * The right QEMU build, but a device this emulator's machines
             * cannot host: quiet unless it was asked for.
             */
            stamp_field(stamp, "targets", targets, sizeof(targets));
            stamp_field(stamp, "why", why, sizeof(why));
            if (verbose || cmdline_wants(type)) {
                fprintf(stderr, LOG_PREFIX "not loading %s into %s: %s is "
                        "%s-only (%s)\n", path, exe, type, targets,
                        why[0] ? why : "not built for this emulator");
            }
            continue;
        }
        if (!list_has(id, exe_id)) {
            /*
             * A user's module built with the SDK carries the command that
             * rebuilds it; ours say what to rerun for both kinds of user:
             * the build tree and the distribution package.
             */
            if (elf_read_section(path, QME_REBUILD_SECTION, rebuild,
                                 sizeof(rebuild)) > 0 && rebuild[0]) {
                fprintf(stderr, LOG_PREFIX "refusing %s: built for QEMU %s "
                        "(build-id %s), but %s is build-id %s; rebuild it "
                        "against this QEMU's SDK (package "
                        "qemu-modules-extra-dev of this QEMU build): %s\n",
                        path, version, id, exe, exe_id, rebuild);
            } else {
                fprintf(stderr, LOG_PREFIX "refusing %s: built for QEMU %s "
                        "(build-id %s), but %s is build-id %s; rebuild it "
                        "(ci/make-sdk.sh, then meson compile) or install "
                        "the qemu-modules-extra package built for this "
                        "QEMU\n", path, version, id, exe, exe_id);
            }
            continue;
        }
        if (!dlopen(path, RTLD_NOW | RTLD_LOCAL)) {
            fprintf(stderr, LOG_PREFIX "cannot load %s: %s\n", path,
                    dlerror());
        } else if (verbose) {
            fprintf(stderr, LOG_PREFIX "loaded %s\n", path);
        }
    }
    free(names);
}

/*
 * Undo the system-wide wrapper's entry in front of @name (@undo: how many
 * characters, or "-" if the caller had not set it).
 */
static void unwrap_var(const char *name, const char *undo)
{
    const char *val = getenv(name);
    size_t n;
    int used = 0;

    if (strcmp(undo, "-") == 0) {
        unsetenv(name);
        return;
    }
    /* Never cut into the caller's value on a marker that is not ours. */
    if (sscanf(undo, "%zu%n", &n, &used) == 1 && undo[used] == '\0' &&
        val && strlen(val) >= n) {
        setenv(name, val + n, 1);
    }
}

static void unwrap_env(void)
{
    const char *mark = getenv(QME_WRAPPED_ENV);
    char preload[24], path[24];

    if (mark && sscanf(mark, "%23s %23s", preload, path) == 2) {
        unwrap_var("LD_PRELOAD", preload);
        unwrap_var("QME_MODULE_PATH", path);
    }
    unsetenv(QME_WRAPPED_ENV);
}

/* Whether @dir came earlier in the list: each folder is read once. */
static int seen_dir(char **seen, int n, const char *dir)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(seen[i], dir) == 0) {
            return 1;
        }
    }
    return 0;
}

static void __attribute__((constructor)) qme_loader_init(void)
{
    const char *env_path = getenv("QME_MODULE_PATH");
    char *path = env_path ? strdup(env_path) : NULL;
    const char *base;
    char exe[PATH_MAX], exe_id[80];
    ssize_t n;
    int verbose;

    if ((!path || !*path) && !getenv(QME_WRAPPED_ENV)) {
        free(path);
        return;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        free(path);
        return;
    }
    exe[n] = '\0';
    base = strrchr(exe, '/');
    base = base ? base + 1 : exe;
    if (strncmp(base, "qemu-system-", 12) == 0 &&
        elf_read_section(exe, QME_WRAPPER_SECTION, exe_id,
                         sizeof(exe_id)) >= 0) {
        /* The wrapper: the QEMU it execs loads the modules. */
        free(path);
        return;
    }
    unwrap_env();
    if (!path || !*path || strncmp(base, "qemu-system-", 12) != 0) {
        free(path);
        return;
    }
    verbose = getenv("QME_LOADER_VERBOSE") != NULL;
    if (elf_build_id(exe, exe_id, sizeof(exe_id)) < 0) {
        fprintf(stderr, LOG_PREFIX "%s has no GNU build-id; "
                "loading no modules\n", exe);
        free(path);
        return;
    }

    /*
     * A folder can be named twice (qemu-extra run through the system-wide
     * wrapper): open it once, so a refusal is reported once.
     */
    char **seen = calloc(strlen(path) / 2 + 1, sizeof(*seen));
    char *save = NULL;
    int nseen = 0;

    for (char *dir = strtok_r(path, ":", &save); dir && seen;
         dir = strtok_r(NULL, ":", &save)) {
        if (!seen_dir(seen, nseen, dir)) {
            seen[nseen++] = dir;
            load_dir(dir, exe, exe_id, verbose);
        }
    }
    free(seen);
    free(path);
}
