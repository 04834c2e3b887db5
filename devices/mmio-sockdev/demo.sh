#!/bin/sh
# Demo: start the reference UART device server, boot the bare-metal
# firmware on the stock QEMU with mmio-sockdev, show the line arriving.
# Usage: devices/mmio-sockdev/demo.sh [BUILDDIR]   (default: build)
set -e
B=$(cd "${1:-build}" && pwd)
D="$B/devices/mmio-sockdev"
PORT=${PORT:-7890}
"$B/devices/sockdev-uart/sockdev-uart-server" --port "$PORT" --once &
SRV=$!
trap 'kill $SRV 2>/dev/null || true' EXIT INT TERM
sleep 0.3
meson devenv -C "$B" qemu-system-aarch64 -M virt -cpu max -m 128 \
	-nographic -no-reboot -nic none -kernel "$D/firmware/sockdev-hello.elf" \
	-device "mmio-sockdev,socket=tcp:127.0.0.1:$PORT"
wait $SRV
