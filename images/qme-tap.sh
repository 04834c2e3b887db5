# SPDX-License-Identifier: GPL-2.0-or-later
#
# TAP helpers for guest test scripts (busybox sh). Source it:
#   . /qme/lib/tap.sh
#   check "device is present" test -d /sys/bus/pci/devices/0000:00:01.0
#   is "value reads back" "0x42" "$(cat .../value)"
#   done_testing

qme_tap_n=0
qme_tap_failed=0

# ok COND_STATUS DESCRIPTION: record a result from an exit status.
tap_result() {
	qme_tap_n=$((qme_tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $qme_tap_n - $2"
	else
		echo "not ok $qme_tap_n - $2"
		qme_tap_failed=$((qme_tap_failed + 1))
	fi
}

# check DESCRIPTION COMMAND [ARGS...]: passes when COMMAND succeeds.
check() {
	qme_desc=$1
	shift
	qme_out=$("$@" 2>&1)
	qme_rc=$?
	tap_result $qme_rc "$qme_desc"
	if [ $qme_rc -ne 0 ] && [ -n "$qme_out" ]; then
		echo "$qme_out" | sed 's/^/# /'
	fi
	return $qme_rc
}

# is DESCRIPTION EXPECTED ACTUAL: passes when the strings are equal.
is() {
	if [ "$2" = "$3" ]; then
		tap_result 0 "$1"
		return 0
	fi
	tap_result 1 "$1"
	echo "#   expected: '$2'"
	echo "#        got: '$3'"
	return 1
}

# like DESCRIPTION PATTERN TEXT: passes when TEXT contains a line matching
# the basic regular expression PATTERN.
like() {
	if printf '%s\n' "$3" | grep -q -e "$2"; then
		tap_result 0 "$1"
		return 0
	fi
	tap_result 1 "$1"
	echo "#   no line matches: '$2' in:"
	printf '%s\n' "$3" | sed 's/^/#     /'
	return 1
}

diag() {
	echo "$*" | sed 's/^/# /'
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

done_testing() {
	echo "1..$qme_tap_n"
	[ $qme_tap_failed -eq 0 ]
	exit $?
}

# pci_slot_of VENDOR DEVICE: print the first sysfs slot name (0000:00:01.0)
# of a device with those IDs (hex without 0x), nothing when absent.
pci_slot_of() {
	for d in /sys/bus/pci/devices/*; do
		[ -e "$d/vendor" ] || continue
		if [ "$(cat "$d/vendor")" = "0x$1" ] &&
			[ "$(cat "$d/device")" = "0x$2" ]; then
			basename "$d"
			return 0
		fi
	done
	return 1
}

# is_num DESCRIPTION EXPECTED ACTUAL: numeric comparison (decimal or 0x hex,
# any case); a non-number ACTUAL (an error message) fails.
is_num() {
	case $3 in
	0x[0-9a-fA-F]*|[0-9]*) ;;
	*)
		tap_result 1 "$1"
		echo "#   expected: $2"
		echo "#   got a non-number: '$3'"
		return 1 ;;
	esac
	if [ "$(($2))" -eq "$(($3))" ]; then
		tap_result 0 "$1"
		return 0
	fi
	tap_result 1 "$1"
	echo "#   expected: $2"
	echo "#        got: $3"
	return 1
}

# reg_define HEADER NAME: value of '#define NAME value' in /qme/include/HEADER
# (register headers generated from the device's regs table).
reg_define() {
	sed -n "s/^#define[[:space:]]\{1,\}$2[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p" \
		"/qme/include/$1" | head -n1 | sed 's/[uUlL]*$//; s/^(\(.*\))$/\1/'
}

# cmdline_arg KEY DEFAULT: value of KEY=... on the kernel command line.
cmdline_arg() {
	for qme_a in $(cat /proc/cmdline); do
		case $qme_a in
		"$1"=*) echo "${qme_a#*=}"; return 0 ;;
		esac
	done
	echo "$2"
}

# uptime_ms: the guest's uptime in ms (/proc/uptime: 10 ms resolution).
# Timing checks bracket what they measure with it, so a guest slowed down
# by a busy host widens the bracket instead of failing the check.
uptime_ms() {
	read -r qme_up _ </proc/uptime
	echo $((${qme_up%.*} * 1000 + 1${qme_up#*.} * 10 - 1000))
}
