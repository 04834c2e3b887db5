#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot a guest under the stock qemu-system-aarch64 (or -x86_64) and report TAP.

Linux mode (default): boots the Debian arm64 kernel with our initramfs and
'qme.test=NAME' in -M virt (--arch x86_64: the amd64 kernel and initramfs in
-M q35); the guest's /init runs /qme/tests/NAME.sh, which prints TAP.
The guest's results are re-emitted (renumbered) on stdout, followed by one
result of our own: the guest ran to completion (QEMU powered off by itself
before the timeout, the script exited 0 with a matching plan, and the kernel
logged no oops, panic, BUG or WARNING).

Firmware mode (--firmware ELF): boots a bare-metal program with -kernel and
checks that it printed --expect and that QEMU exited by itself.

Extra QEMU arguments (typically -device ...) follow '--'.

Environment: QME_LOADER (path of the module loader .so) is put into
LD_PRELOAD of the QEMU child only; QME_MODULE_PATH and the rest of the
environment are passed through. --qemu, else QEMU (or QME_QEMU) for aarch64,
overrides the emulator binary.
"""

import argparse
import os
import re
import selectors
import shlex
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..'))
from sanitizer_note import SANITIZER_NOTE  # noqa: E402

TAP_RE = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$")
PLAN_RE = re.compile(r"^1\.\.(\d+)(?:\s*#\s*(.*))?$")
END_RE = re.compile(r"QME-TEST-END rc=(\d+)")
# Kernel messages that mean the guest is broken whatever the script says.
KERNEL_BAD = re.compile(
    r"(Internal error:|Unable to handle kernel|Kernel panic|\bBUG:|"
    r"\bWARNING:|Call trace:|kernel BUG at|Oops|"
    r"insmod: can't insert|modprobe: can't load|Unknown symbol|"
    r"disagrees about version of symbol|Required key not available|"
    # A sanitizer build's QEMU (modules instrumented) shares the console.
    r"ERROR: AddressSanitizer|: runtime error: )"
)
# Strip a printk timestamp so "[    1.23] BUG: ..." matches too.
PRINTK_RE = re.compile(r"^\[\s*\d+\.\d+\]\s*")


# Per QEMU target: machine, guest console, default -cpu.
# pauth-impdef=on: QEMU's own pointer-authentication hash instead of the
# architected QARMA5, which TCG emulates slowly; the guest sees the same
# features. Boot+test drops from ~19 s to ~5 s. --cpu max for the plain one.
ARCHES = {
    "aarch64": ("virt", "ttyAMA0", "max,pauth-impdef=on"),
    "x86_64": ("q35", "ttyS0", "max"),
}


def out(line=""):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def child_env():
    env = dict(os.environ)
    loader = env.get("QME_LOADER", "")
    if loader:
        # A preload list: sanitizer builds put their runtimes first.
        missing = [p for p in loader.split(":") if not os.path.isfile(p)]
        if missing:
            out("Bail out! QME_LOADER: %s does not exist (run meson compile)"
                % missing[0])
            sys.exit(1)
        pre = env.get("LD_PRELOAD", "")
        env["LD_PRELOAD"] = loader + (" " + pre if pre else "")
    return env


def qemu_binary(args):
    if args.qemu:
        return args.qemu
    if args.arch != "aarch64":
        return "qemu-system-" + args.arch
    return os.environ.get("QEMU") or os.environ.get("QME_QEMU") or "qemu-system-aarch64"


def device_available(args, name, env):
    """Is -device NAME known to this QEMU (with the loader preloaded)?"""
    try:
        r = subprocess.run(
            [qemu_binary(args), "-M", ARCHES[args.arch][0], "-device", "help"],
            env=env, capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return re.search(r'^name "%s"' % re.escape(name), r.stdout + r.stderr, re.M) is not None


def run_qemu(argv, env, timeout, on_line):
    """Run QEMU, calling on_line(str) per console line. Returns
    (exit code or None on timeout, wall seconds, full console text)."""
    start = time.monotonic()
    proc = subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    log = []
    timed_out = False
    deadline = start + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        if not sel.select(timeout=min(left, 1.0)):
            if proc.poll() is not None:
                break
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            raw, buf = buf.split(b"\n", 1)
            line = raw.decode("utf-8", "replace").rstrip("\r")
            log.append(line)
            on_line(line)
    if buf:
        line = buf.decode("utf-8", "replace").rstrip("\r")
        log.append(line)
        on_line(line)
    if timed_out:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    rc = proc.wait()
    wall = time.monotonic() - start
    return (None if timed_out else rc), wall, "\n".join(log)


def dump_console(text, why):
    out("# ---- %s; whole console log follows ----" % why)
    for line in text.splitlines():
        out("#   " + line)
    out("# ---- end of console log ----")
    sys.stderr.write(text + "\n")


def linux_mode(args, extra):
    env = child_env()
    for dev in args.require_device:
        if not device_available(args, dev, env):
            out("1..0 # SKIP -device %s is not available in this build" % dev)
            return 0
    machine, console, _ = ARCHES[args.arch]
    append = "console=%s quiet panic=-1 qme.test=%s" % (console, args.test)
    if args.append:
        append += " " + args.append
    argv = [
        qemu_binary(args), "-M", machine, "-cpu", args.cpu, "-m", "512", "-nographic",
        "-no-reboot", "-nic", "none", "-kernel", args.kernel, "-initrd", args.initrd,
        "-append", append,
    ] + extra
    out("# " + " ".join(shlex.quote(a) for a in argv))

    st = {"n": 0, "failed": 0, "plan": None, "skip": None, "rc": None,
          "begun": False, "bad": []}

    def on_line(line):
        text = PRINTK_RE.sub("", line.strip())
        if KERNEL_BAD.search(text) and not TAP_RE.match(text) and \
                not text.startswith("#") and not SANITIZER_NOTE.match(text):
            st["bad"].append(line)
        # Markers may follow stray bytes (terminal resets) on the same line.
        if "QME-TEST-BEGIN" in text:
            st["begun"] = True
            return
        m = END_RE.search(text)
        if m:
            st["rc"] = int(m.group(1))
            return
        if not st["begun"]:
            return
        m = PLAN_RE.match(text)
        if m:
            st["plan"] = int(m.group(1))
            if st["plan"] == 0:
                st["skip"] = m.group(2) or "skipped by the guest"
            return
        m = TAP_RE.match(text)
        if m:
            st["n"] += 1
            if m.group(1) == "not ok":
                st["failed"] += 1
            out("%s %d - %s" % (m.group(1), st["n"], m.group(3)))
            return
        if text.startswith("#"):
            out(text)

    rc, wall, log = run_qemu(argv, env, args.timeout, on_line)
    if args.log:
        with open(args.log, "w") as f:
            f.write(log + "\n")

    problems = []
    if rc is None:
        problems.append("timed out after %d s (QEMU killed)" % args.timeout)
    elif rc != 0:
        problems.append("QEMU exited with status %d" % rc)
    if not st["begun"]:
        problems.append("the guest never started the test (no QME-TEST-BEGIN)")
    elif st["rc"] is None:
        problems.append("the guest script did not finish (no QME-TEST-END)")
    elif st["rc"] != 0:
        problems.append("the guest script exited with status %d" % st["rc"])
    if st["bad"]:
        problems.append("kernel/driver trouble: " + " | ".join(st["bad"][:8]))
    if st["skip"] is None and st["begun"]:
        if st["plan"] is None:
            problems.append("the guest printed no TAP plan")
        elif st["plan"] != st["n"]:
            problems.append("plan 1..%d but %d results" % (st["plan"], st["n"]))

    if st["skip"] is not None and st["n"] == 0 and not problems:
        out("1..0 # SKIP %s" % st["skip"])
        return 0

    st["n"] += 1
    desc = "guest test %s ran to completion (%.1f s wall)" % (args.test, wall)
    if problems:
        out("not ok %d - %s" % (st["n"], desc))
        for p in problems:
            out("# " + p)
        dump_console(log, "; ".join(problems))
    else:
        out("ok %d - %s" % (st["n"], desc))
    out("1..%d" % st["n"])
    out("# wall time %.2f s" % wall)
    return 1 if (problems or st["failed"]) else 0


def firmware_mode(args, extra):
    env = child_env()
    argv = [
        qemu_binary(args), "-M", "virt", "-cpu", args.cpu, "-m", "128", "-nographic",
        "-no-reboot", "-nic", "none", "-kernel", args.firmware,
    ] + extra
    out("# " + " ".join(shlex.quote(a) for a in argv))
    rc, wall, log = run_qemu(argv, env, args.timeout, lambda line: None)
    ok = True
    for i, exp in enumerate(args.expect, 1):
        if exp in log:
            out("ok %d - printed '%s'" % (i, exp))
        else:
            out("not ok %d - printed '%s'" % (i, exp))
            ok = False
    n = len(args.expect) + 1
    if rc == 0:
        out("ok %d - QEMU exited by itself (PSCI SYSTEM_OFF) in %.2f s" % (n, wall))
    else:
        why = "timed out after %d s" % args.timeout if rc is None else "exit status %d" % rc
        out("not ok %d - QEMU exited by itself (%s)" % (n, why))
        ok = False
    if not ok:
        dump_console(log, "firmware test failed")
    out("1..%d" % n)
    return 0 if ok else 1


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernel")
    ap.add_argument("--initrd")
    ap.add_argument("--test", help="guest test NAME (DEVICE/SCRIPT)")
    ap.add_argument("--append", default="", help="extra kernel command line")
    ap.add_argument("--firmware", help="bare-metal ELF to boot instead of Linux")
    ap.add_argument("--expect", action="append", default=[],
                    help="firmware mode: text the console must show")
    ap.add_argument("--require-device", action="append", default=[],
                    help="skip unless -device NAME exists")
    ap.add_argument("--arch", choices=sorted(ARCHES), default="aarch64",
                    help="QEMU target: aarch64 (-M virt) or x86_64 (-M q35)")
    ap.add_argument("--qemu", help="the emulator binary")
    ap.add_argument("--cpu", help="-cpu (default: per --arch)")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--log", help="also write the console log here")
    args = ap.parse_args(argv)
    if not args.cpu:
        args.cpu = ARCHES[args.arch][2]
    if args.firmware:
        if args.arch != "aarch64":
            ap.error("--firmware boots on aarch64 (-M virt) only")
        return firmware_mode(args, extra)
    if not (args.kernel and args.initrd and args.test):
        ap.error("--kernel, --initrd and --test are required (or --firmware)")
    return linux_mode(args, extra)


if __name__ == "__main__":
    sys.exit(main())
