#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Build the guest initramfs (cpio newc, gzip) without root.

The archive is written directly (owner 0:0, mtime 0, sorted), so it is
reproducible and needs neither cpio nor fakeroot. Contents:

  /init                      images/init
  /bin/busybox + applets     busybox-static (symlinks from its applet table)
  /usr/bin/lspci, setpci     pciutils, with the shared libraries they need
                             (NEEDED resolved recursively with readelf)
  /usr/share/misc/pci.ids    pci.ids
  /lib/modules/UNAME/extra/  the guest drivers built for --arch (--module;
                             NAME.ARCH.ko goes in as NAME.ko), with depmod
                             indexes (modprobe, lspci -k);
                             /lib/modules/qme links there
  /qme/include/*.h           register headers (--include), for scripts
  /qme/lib/tap.sh            TAP helpers for guest scripts
  /qme/tests/DEV/NAME.sh     DEVICES_DIR/DEV/tests/guest/NAME.sh
  /qme/tests/PREFIX/NAME.sh  --test-dir PREFIX:DIR, DIR/NAME.sh
  /qme/bin/*.sh              DRIVERS_DIR/DRV/*.sh (guest userland helpers)
  /qme/demo/DRV.sh           DRIVERS_DIR/DRV/demo.sh

A Makefile-style depfile (--depfile) lists every input file and the
directories that were scanned, so adding a script triggers a rebuild.
"""

import argparse
import gzip
import io
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile

# Per guest arch (QEMU's target name): Debian's multiarch triplet, the
# program interpreter, and the prefix of its variables in guest.env.
ARCHES = {
    "aarch64": ("aarch64-linux-gnu", "lib/ld-linux-aarch64.so.1", "QME_GUEST_"),
    "x86_64": ("x86_64-linux-gnu", "lib64/ld-linux-x86-64.so.2", "QME_GUEST_AMD64_"),
}


class Cpio:
    """Minimal writer for the 'newc' (070701) cpio format."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.ino = 1
        self.seen = set()

    def _entry(self, name, mode, data=b"", rdev=(0, 0), nlink=1):
        name = name.lstrip("/")
        if name in self.seen:
            return
        self.seen.add(name)
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join(
            "%08X" % v
            for v in (
                self.ino, mode, 0, 0, nlink, 0, len(data),
                0, 0, rdev[0], rdev[1], len(nb), 0,
            )
        )
        self.ino += 1
        self.buf.write(hdr.encode() + nb)
        self._pad()
        self.buf.write(data)
        self._pad()

    def _pad(self):
        self.buf.write(b"\0" * (-self.buf.tell() % 4))

    def mkdirs(self, path):
        parts = [p for p in path.strip("/").split("/") if p not in ("", ".")]
        for i in range(1, len(parts) + 1):
            self._entry("/".join(parts[:i]), stat.S_IFDIR | 0o755, nlink=2)

    def dir(self, path):
        self.mkdirs(path)

    def file(self, path, data, mode=0o644):
        self.mkdirs(os.path.dirname(path.strip("/")) or ".")
        self._entry(path, stat.S_IFREG | mode, data)

    def symlink(self, path, target):
        self.mkdirs(os.path.dirname(path.strip("/")) or ".")
        self._entry(path, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, path, major, minor, mode=0o600):
        self._entry(path, stat.S_IFCHR | mode, rdev=(major, minor))

    def finish(self):
        self._entry("TRAILER!!!", 0, nlink=1)
        self.buf.write(b"\0" * (-self.buf.tell() % 512))
        return self.buf.getvalue()


def needed(path):
    out = subprocess.run(
        ["readelf", "-d", "-W", path], check=True, capture_output=True, text=True
    ).stdout
    libs = []
    for line in out.splitlines():
        if "(NEEDED)" in line and "[" in line:
            libs.append(line.split("[", 1)[1].split("]", 1)[0])
    return libs


def find_lib(rootfs, triplet, name):
    for d in ("lib/" + triplet, "usr/lib/" + triplet, "lib", "usr/lib"):
        p = os.path.join(rootfs, d, name)
        if os.path.lexists(p):
            return os.path.join(d, name)
    return None


def busybox_applets(binary):
    """The applet names, from busybox's NUL-separated, sorted name table."""
    with open(binary, "rb") as f:
        data = f.read()
    start = data.find(b"[\0[[\0")
    if start < 0:
        return []
    names = []
    pos = start
    while True:
        end = data.index(b"\0", pos)
        if end == pos:
            break
        names.append(data[pos:end].decode("ascii", "replace"))
        pos = end + 1
    return names


def module_file(ko):
    """NAME.ko for NAME.ko or NAME.ARCH.ko: modprobe finds a module by its
    file name, and module names have no dots."""
    return os.path.basename(ko).split(".", 1)[0] + ".ko"


def add_module_indexes(c, env, prefix, modules):
    """/lib/modules/UNAME with the kernel's builtin lists and depmod indexes
    covering our modules (in extra/), so libkmod (lspci -k) and modprobe work."""
    uname = env.get(prefix + "UNAME")
    kmods = env.get(prefix + "KMODULES")
    depmod = shutil.which("depmod") or next(
        (p for p in ("/usr/sbin/depmod", "/sbin/depmod") if os.path.exists(p)), None)
    if not uname or not kmods or not depmod:
        print("mkinitramfs: warning: no depmod (install kmod) or old cache;"
              " guest lspci will warn about libkmod", file=sys.stderr)
        return False
    with tempfile.TemporaryDirectory() as stage:
        mdir = os.path.join(stage, "lib/modules", uname)
        os.makedirs(os.path.join(mdir, "extra"))
        for name in os.listdir(kmods):
            shutil.copy(os.path.join(kmods, name), mdir)
        for ko in modules:
            shutil.copy(ko, os.path.join(mdir, "extra", module_file(ko)))
        subprocess.run([depmod, "-b", stage, uname], check=True)
        for dirpath, dirnames, filenames in os.walk(mdir):
            dirnames.sort()
            rel = os.path.relpath(dirpath, stage)
            c.dir(rel)
            for name in sorted(filenames):
                with open(os.path.join(dirpath, name), "rb") as f:
                    c.file(os.path.join(rel, name), f.read())
    c.symlink("lib/modules/qme", uname + "/extra")
    return True


def read_env(stamp):
    env = {}
    with open(stamp) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = shlex.split(v)[0] if v else ""
    return env


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--guest-env", required=True, help="guest.env stamp of the package cache")
    ap.add_argument("--arch", choices=sorted(ARCHES), default="aarch64",
                    help="guest arch (QEMU target name): which rootfs and kernel modules")
    ap.add_argument("--init", required=True)
    ap.add_argument("--tap", required=True, help="TAP helper library")
    ap.add_argument("--module", action="append", default=[], help=".ko to include")
    ap.add_argument("--devices-dir", help="scan DIR/*/tests/guest/*.sh")
    ap.add_argument("--drivers-dir", help="scan DIR/*/*.sh")
    ap.add_argument("--test-dir", action="append", default=[],
                    help="PREFIX:DIR, DIR/*.sh become /qme/tests/PREFIX/*.sh")
    ap.add_argument("--include", action="append", default=[],
                    help="header to copy to /qme/include (register maps)")
    ap.add_argument("--depfile")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()

    env = read_env(args.guest_env)
    triplet, interp, prefix = ARCHES[args.arch]
    rootfs = env[prefix + "ROOTFS"]
    deps = [args.guest_env, args.init, args.tap] + list(args.module)

    c = Cpio()
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp",
              "run", "root", "etc", "mnt", "lib/modules", "qme/tests",
              "qme/bin", "qme/demo", "qme/lib"):
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3, 0o666)

    with open(args.init, "rb") as f:
        c.file("init", f.read(), 0o755)
    with open(args.tap, "rb") as f:
        c.file("qme/lib/tap.sh", f.read(), 0o644)

    busybox = os.path.join(rootfs, "bin/busybox")
    with open(busybox, "rb") as f:
        c.file("bin/busybox", f.read(), 0o755)
    applets = busybox_applets(busybox)
    if not applets:
        sys.exit("mkinitramfs: no applet table found in " + busybox)
    for a in applets:
        c.symlink("bin/" + a, "busybox")
    c.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    c.file("etc/group", b"root:x:0:\n")

    # Dynamic binaries and the closure of their libraries.
    todo = ["usr/bin/lspci", "usr/bin/setpci"]
    done = set()
    while todo:
        rel = todo.pop()
        if rel in done:
            continue
        done.add(rel)
        src = os.path.join(rootfs, rel)
        while os.path.islink(src):
            tgt = os.readlink(src)
            c.symlink(rel, tgt)
            # An absolute target is inside the rootfs too (lib64/ld.so).
            rel = os.path.normpath(os.path.join(os.path.dirname(rel), tgt)).lstrip("/")
            src = os.path.join(rootfs, rel)
        with open(src, "rb") as f:
            c.file(rel, f.read(), 0o755)
        for lib in needed(src):
            if lib == os.path.basename(interp):
                todo.append(interp)
                continue
            found = find_lib(rootfs, triplet, lib)
            if not found:
                sys.exit("mkinitramfs: %s needs %s, not in %s" % (rel, lib, rootfs))
            todo.append(found)
    # ld.so's default search path includes both /lib/<triplet> and /usr/lib/<triplet>.

    pciids = os.path.join(rootfs, "usr/share/misc/pci.ids")
    with open(pciids, "rb") as f:
        c.file("usr/share/misc/pci.ids", f.read())

    if not add_module_indexes(c, env, prefix, args.module):
        for ko in args.module:
            with open(ko, "rb") as f:
                c.file("lib/modules/qme/" + module_file(ko), f.read())

    for inc in args.include:
        deps.append(inc)
        with open(inc, "rb") as f:
            c.file("qme/include/" + os.path.basename(inc), f.read())

    if args.devices_dir and os.path.isdir(args.devices_dir):
        deps.append(args.devices_dir)
        for dev in sorted(os.listdir(args.devices_dir)):
            gdir = os.path.join(args.devices_dir, dev, "tests", "guest")
            if not os.path.isdir(gdir):
                continue
            deps.append(gdir)
            for name in sorted(os.listdir(gdir)):
                if name.endswith(".sh"):
                    p = os.path.join(gdir, name)
                    deps.append(p)
                    with open(p, "rb") as f:
                        c.file("qme/tests/%s/%s" % (dev, name), f.read(), 0o755)

    for spec in args.test_dir:
        prefix, gdir = spec.split(":", 1)
        if not os.path.isdir(gdir):
            continue
        deps.append(gdir)
        for name in sorted(os.listdir(gdir)):
            if name.endswith(".sh"):
                p = os.path.join(gdir, name)
                deps.append(p)
                with open(p, "rb") as f:
                    c.file("qme/tests/%s/%s" % (prefix, name), f.read(), 0o755)

    if args.drivers_dir and os.path.isdir(args.drivers_dir):
        deps.append(args.drivers_dir)
        for drv in sorted(os.listdir(args.drivers_dir)):
            ddir = os.path.join(args.drivers_dir, drv)
            if not os.path.isdir(ddir):
                continue
            deps.append(ddir)
            for name in sorted(os.listdir(ddir)):
                if not name.endswith(".sh"):
                    continue
                p = os.path.join(ddir, name)
                deps.append(p)
                with open(p, "rb") as f:
                    data = f.read()
                if name == "demo.sh":
                    c.file("qme/demo/%s.sh" % drv, data, 0o755)
                else:
                    c.file("qme/bin/" + name, data, 0o755)

    raw = c.finish()
    tmp = args.output + ".tmp"
    with open(tmp, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=6, mtime=0, filename="") as gz:
            gz.write(raw)
    os.replace(tmp, args.output)

    if args.depfile:
        def esc(p):
            return p.replace(" ", "\\ ")
        with open(args.depfile, "w") as f:
            f.write("%s: %s\n" % (esc(args.output), " ".join(esc(d) for d in deps)))


if __name__ == "__main__":
    main()
