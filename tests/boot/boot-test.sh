#!/bin/bash
# Boot tests: real Linux guests (build/guest/vmlinux and bzImage) with the
# test init, each boot checking several things since one costs ~50 s on the
# emulated KVM of the CI machines. The guest init prints one
# "vmmtest: PASS/FAIL" line per check and ends the VM; this script checks the
# VMM's exit status and what the guest printed. Boots run two at a time.
set -u
cd "$(dirname "$0")/../.." || exit 1
VMM=./vmm
K=build/guest
INITRD=$K/initramfs.cpio
TIMEOUT=${BOOT_TIMEOUT:-600}
logs=build/tests/boot
mkdir -p "$logs"
rm -f "$logs"/*.log "$logs"/*.rc

# boot_from STDIN NAME ARGS...: run the VMM in the background with STDIN,
# log in $logs/NAME.log, exit status in $logs/NAME.rc.
boot_from() {
	local input=$1 name=$2
	shift 2
	: >"$logs/$name.log"
	(
		timeout -k 10 "$TIMEOUT" $VMM "$@" <"$input" >"$logs/$name.log" 2>&1
		echo $? >"$logs/$name.rc"
	) &
}

# boot NAME ARGS...: a boot with no console input.
boot() {
	boot_from /dev/null "$@"
}

# boot_typing NAME INPUT ARGS...: like boot, and once the guest has printed
# its check summary (its shell comes next), type INPUT on the VMM's stdin.
boot_typing() {
	local name=$1 input=$2 fifo="$logs/$1.stdin"
	shift 2
	rm -f "$fifo"
	mkfifo "$fifo"
	boot_from "$fifo" "$name" "$@"
	local vmm_job=$!
	(
		exec 4>"$fifo"
		tail -n +1 -f --pid="$vmm_job" "$logs/$name.log" | grep -q -m1 'vmmtest: summary'
		printf '%s' "$input" >&4
	) &
}

pass=0
fail=0
# expect NAME STATUS CHECKS...: the exit status and the guest's PASS lines.
expect() {
	local name=$1 status=$2 rc
	shift 2
	rc=$(cat "$logs/$name.rc")
	local why="" log="$logs/$name.txt"
	tr -d '\r' <"$logs/$name.log" >"$log" # the guest's console ends lines with CRLF
	[ "$rc" = "$status" ] || why="exit status $rc, expected $status"
	for c in "$@"; do
		grep -q "^vmmtest: PASS $c\$" "$log" || why="${why:+$why; }no PASS $c"
	done
	grep -q "^vmm: guest reached init in [0-9]* ms\$" "$log" || why="${why:+$why; }no boot time"
	grep -q "^vmmtest: summary: [0-9]* checks passed, 0 failed\$" "$log" ||
		why="${why:+$why; }a guest check failed"
	if [ -z "$why" ]; then
		pass=$((pass + 1))
		echo "PASS: $name ($(grep -o 'guest reached init in [0-9]* ms' "$log"))"
	else
		fail=$((fail + 1))
		echo "FAIL: $name: $why; last lines of $logs/$name.log:"
		tail -n 15 "$log" | sed 's/^/    /'
	fi
}

common="--initrd $INITRD --mem 128M"
quiet="quiet"

# Device tree, 1 vCPU, ELF vmlinux, ends through the test-exit device after
# a shell has run what the host typed on the console (UART receive path).
boot_typing vmlinux-dt 'echo typed-$((6 * 7))
exit
' --kernel $K/vmlinux $common \
	--cmdline "$quiet vmmtest.dt=1 vmmtest.cpus=1 vmmtest.mem_mb=128 vmmtest.shell=1"
# MP table instead of a device tree; the guest chooses exit status 3.
boot mptable-exit3 --kernel $K/vmlinux $common --mptable \
	--cmdline "$quiet vmmtest.dt=0 vmmtest.cpus=1 vmmtest.exit=3"
wait
# Two vCPUs from the device tree; the guest powers off (syscon-poweroff).
boot smp2-poweroff --kernel $K/vmlinux $common --cpus 2 \
	--cmdline "$quiet vmmtest.dt=1 vmmtest.cpus=2 vmmtest.poweroff=1"
# The compressed bzImage (its decompressor alone takes minutes here); the
# guest reboots, which the VMM reports as a reset.
boot bzimage-reboot --kernel $K/bzImage $common \
	--cmdline "$quiet vmmtest.dt=1 vmmtest.cpus=1 vmmtest.reboot=1"
wait

expect vmlinux-dt 0 setup cmdline devicetree cpus mem uname
# The guest shell computed 42: the typed line arrived through the UART.
if grep -q 'typed-42' "$logs/vmlinux-dt.txt"; then
	pass=$((pass + 1)); echo "PASS: console input reaches the guest shell"
else
	fail=$((fail + 1)); echo "FAIL: console input: no typed-42 in $logs/vmlinux-dt.log"
fi
expect mptable-exit3 3 setup devicetree cpus
expect smp2-poweroff 0 setup devicetree cpus
expect bzimage-reboot 2 setup devicetree
if grep -q "vmm: guest reset" "$logs/bzimage-reboot.log"; then
	pass=$((pass + 1)); echo "PASS: reboot reported as a reset"
else
	fail=$((fail + 1)); echo "FAIL: reboot not reported as a reset"
fi

echo "boot: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
