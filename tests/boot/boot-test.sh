#!/bin/bash
# Boot tests: real Linux guests (build/guest/vmlinux and bzImage) with the
# test init, each boot checking several things since one costs ~50 s on the
# emulated KVM of the CI machines. The guest init prints one
# "vmmtest: PASS/FAIL" line per check and ends the VM; this script checks the
# VMM's exit status, what the guest printed and, for the virtio-blk boots,
# the disk images the guest wrote. Boots run two at a time.
set -eu
cd "$(dirname "$0")/../.."
VMM=./vmm
K=build/guest
INITRD=$K/initramfs.cpio
ROOTFS=$K/rootfs.img
DISKPATTERN=$K/diskpattern
TIMEOUT=${BOOT_TIMEOUT:-600}
PARALLEL=2
logs=build/tests/boot
mkdir -p "$logs"
rm -f "$logs"/*.log "$logs"/*.rc "$logs"/*.txt

for f in $VMM $K/vmlinux $K/bzImage $INITRD $ROOTFS $DISKPATTERN; do
	[ -e "$f" ] || { echo "boot-test: $f missing: run make vmm guest guest-kernel" >&2; exit 1; }
done
# Disk images for the virtio-blk boots, one folder per boot.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-boot-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

running=() # the boots (background subshells) still running

# Wait until fewer than $PARALLEL boots run.
wait_for_slot() {
	local alive p
	while :; do
		alive=()
		for p in ${running[@]+"${running[@]}"}; do
			! kill -0 "$p" 2>/dev/null || alive+=("$p")
		done
		running=(${alive[@]+"${alive[@]}"})
		[ "${#running[@]}" -ge "$PARALLEL" ] || return 0
		wait -n || true # any background job: a boot or a typist
	done
}

# boot_from STDIN NAME ARGS...: run the VMM in the background with STDIN once
# a slot is free, log in $logs/NAME.log, exit status in $logs/NAME.rc.
boot_from() {
	local input=$1 name=$2
	shift 2
	wait_for_slot
	: >"$logs/$name.log"
	(
		rc=0
		timeout -k 10 "$TIMEOUT" $VMM "$@" <"$input" >"$logs/$name.log" 2>&1 || rc=$?
		echo $rc >"$logs/$name.rc"
	) &
	running+=($!)
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
ok() {
	pass=$((pass + 1))
	echo "PASS: $*"
}
not_ok() {
	fail=$((fail + 1))
	echo "FAIL: $*"
}

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
		ok "$name ($(grep -o 'guest reached init in [0-9]* ms' "$log"))"
	else
		not_ok "$name: $why; last lines of $logs/$name.log:"
		tail -n 15 "$log" | sed 's/^/    /'
	fi
}

# host_check NAME WHAT COMMAND...: a check on the host after a boot; the
# command's output is shown only if it fails.
host_check() {
	local name=$1 what=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		ok "$name: $what"
	else
		not_ok "$name: $what: $*"
		printf '%s\n' "$out" | tail -n 10 | sed 's/^/    /'
	fi
}

# The virtio-blk boots: the root disk (a copy of rootfs.img, with a serial),
# a new sparse data disk for the pattern and a read-only disk with a known
# first and last sector. The guest is told what to expect.
DATA_SECTORS=32768 # 16 MiB
RO_TEXT=vmmtest-ro-disk
disk_cmdline() {
	echo "vmmtest.root=vda vmmtest.serial=vda:$1 vmmtest.pattern=vdb:$DATA_SECTORS" \
		"vmmtest.discard=vdb vmmtest.zeroes=vdb vmmtest.ro=vdc:$RO_TEXT"
}
make_disks() {
	local d=$tmp/$1
	mkdir -p "$d"
	cp --sparse=always "$ROOTFS" "$d/root.img"
	truncate -s $((DATA_SECTORS * 512)) "$d/data.img"
	truncate -s 1M "$d/ro.img"
	printf '%s\n' "$RO_TEXT" | dd of="$d/ro.img" conv=notrunc status=none
	printf 'last sector\n' | dd of="$d/ro.img" bs=512 seek=2047 conv=notrunc status=none
	sha256sum <"$d/ro.img" >"$d/ro.sha256"
	mount_count "$d/root.img" >"$d/root.mounts"
}
# The ext4 mount count of image $1.
mount_count() {
	dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Mount count: *//p'
}
# Root disk $1 was mounted by the guest (its mount count went up from $2)
# and left clean: the guest remounts it read-only before it ends the VM.
root_disk_clean() {
	local count
	e2fsck -fn "$1" || return
	count=$(mount_count "$1")
	echo "mount count $2 before the boot, $count after"
	[ "$count" -gt "$2" ]
}
# After the VM: the pattern (with the discarded and zeroed ranges) and nothing
# else on the data disk, a hole where the guest discarded, the read-only disk
# unchanged, the root file system clean. Only if the guest ran its checks:
# an untouched set of disks would pass some of these.
check_disks() {
	local name=$1 d=$tmp/$1
	if ! grep -q '^vmmtest: summary' "$logs/$name.txt"; then
		not_ok "$name: disks not checked: the guest did not run its checks"
		return
	fi
	host_check "$name" "data disk holds exactly the guest's pattern" \
		sh -c "$DISKPATTERN expect '$d/expect.img' $DATA_SECTORS discarded zeroed &&
			cmp '$d/expect.img' '$d/data.img'"
	host_check "$name" "the guest's discard punched a hole in the data disk" \
		$DISKPATTERN hole "$d/data.img"
	host_check "$name" "read-only disk unchanged" \
		sh -c "sha256sum <'$d/ro.img' | cmp - '$d/ro.sha256'"
	host_check "$name" "root disk mounted by the guest and left clean" \
		root_disk_clean "$d/root.img" "$(cat "$d/root.mounts")"
}

common="--initrd $INITRD --mem 128M"
quiet="quiet"

# The longest boot first (its decompressor alone takes minutes here), so the
# others run beside it. The compressed bzImage; the guest reboots, which the
# VMM reports as a reset.
boot bzimage-reboot --kernel $K/bzImage $common \
	--cmdline "$quiet vmmtest.dt=1 vmmtest.cpus=1 vmmtest.reboot=1"
# Device tree, 1 vCPU, ELF vmlinux, ends through the test-exit device after
# a shell has run what the host typed on the console (UART receive path).
boot_typing vmlinux-dt 'echo typed-$((6 * 7))
exit
' --kernel $K/vmlinux $common \
	--cmdline "$quiet vmmtest.dt=1 vmmtest.cpus=1 vmmtest.mem_mb=128 vmmtest.shell=1"
# virtio-blk, devices from the device tree: root on the first disk (no
# --initrd, no root=: the VMM adds root=/dev/vda rw), the pattern on the
# second, the third read-only. Ends through the test-exit device with 0.
make_disks disk-dt
boot disk-dt --kernel $K/vmlinux --mem 128M \
	--disk "$tmp/disk-dt/root.img,serial=vmm-root-dt" \
	--disk "$tmp/disk-dt/data.img" --disk "$tmp/disk-dt/ro.img,ro" \
	--cmdline "$quiet vmmtest.dt=1 vmmtest.cpus=1 vmmtest.mem_mb=128 vmmtest.queues=vda:1 \
	$(disk_cmdline vmm-root-dt)"
# The same with the MP table (the devices come as virtio_mmio.device= on the
# command line), notifies and interrupts through plain exits instead of
# ioeventfd/irqfd, and the data disk served by plain preadv/pwritev. The
# guest chooses exit status 3 (its checks must still all pass). Two vCPUs:
# two request queues per disk, each with its worker.
make_disks disk-mptable
boot disk-mptable --kernel $K/vmlinux --mem 128M --mptable --no-eventfd --cpus 2 \
	--disk "$tmp/disk-mptable/root.img,serial=vmm-root-mp" \
	--disk "$tmp/disk-mptable/data.img,io=sync" --disk "$tmp/disk-mptable/ro.img,ro" \
	--cmdline "$quiet vmmtest.dt=0 vmmtest.cpus=2 vmmtest.queues=vda:2 vmmtest.exit=3 \
	$(disk_cmdline vmm-root-mp)"
# Two vCPUs from the device tree; the guest powers off (syscon-poweroff).
boot smp2-poweroff --kernel $K/vmlinux $common --cpus 2 \
	--cmdline "$quiet vmmtest.dt=1 vmmtest.cpus=2 vmmtest.poweroff=1"
wait

expect vmlinux-dt 0 setup cmdline devicetree cpus mem uname
# The guest shell computed 42: the typed line arrived through the UART.
if grep -q 'typed-42' "$logs/vmlinux-dt.txt"; then
	ok "console input reaches the guest shell"
else
	not_ok "console input: no typed-42 in $logs/vmlinux-dt.log"
fi
disk_checks="setup cmdline devicetree cpus root serial disk-size write-cache pattern discard"
disk_checks="$disk_checks write-zeroes ro"
expect disk-dt 0 $disk_checks mem queues
check_disks disk-dt
expect disk-mptable 3 $disk_checks queues
check_disks disk-mptable
expect smp2-poweroff 0 setup devicetree cpus
expect bzimage-reboot 2 setup devicetree
if grep -q "vmm: guest reset" "$logs/bzimage-reboot.log"; then
	ok "reboot reported as a reset"
else
	not_ok "reboot not reported as a reset"
fi

echo "boot: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
