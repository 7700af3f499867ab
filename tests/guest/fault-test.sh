#!/bin/bash
# Host faults under a running test guest (build/guest/testguest.elf), each
# one checked for what the guest saw, what the VMM logged and how it ended:
# - the disk image on a full file system (a 2 MiB tmpfs holding a 16 MiB
#   sparse image) while the guest writes all of it: IOERR for what did not
#   fit, one log line, the device still serving (fault.writes);
# - the image made unwritable (its ext4 file system, on a loop device, forced
#   read-only) and the image truncated to half, each after the guest wrote
#   it all and while it waits (fault.hold): then its reads and writes are
#   answered OK or IOERR as the fault implies, the device goes on serving;
# - the tap deleted under the guest (fault.tap_gone): its frames still come
#   back, the device goes on, one log line;
# - stdin closed, and stdout a pipe whose reader is gone: the VMM runs on
#   and ends with the guest's own status;
# - SIGTERM while the guest writes and flushes (fault.flushed): exit 143
#   within a second, and every chunk the guest reported flushed is in the
#   image afterwards.
# The guest says "tg: fault: ready" when the host may make its fault, and
# waits for a byte of console input saying it is made. Needs root (mounts,
# a loop device, a network namespace and a tap), as CI has.
set -u
cd "$(dirname "$0")/../.." || exit 1
VMM=${VMM:-./vmm}
ELF=build/guest/testguest.elf
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1: $2"; }

for f in "$VMM" "$ELF"; do
	[ -e "$f" ] || { echo "FAIL: $f is missing (make vmm testguest)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "FAIL: fault tests need root (a tmpfs mount)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/vmm-fault-test.XXXXXX")
NS=vmm-fault-$$
cleanup() {
	umountp "$work/full"
	umountp "$work/ro"
	ip netns del "$NS" 2>/dev/null
	rm -rf "$work"
}
umountp() { mountpoint -q "$1" && umount "$1"; }
trap cleanup EXIT

# 1. A full file system.
mkdir "$work/full"
mount -t tmpfs -o size=2m vmm-fault "$work/full" || { echo "FAIL: cannot mount a tmpfs"; exit 1; }
truncate -s 16M "$work/full/disk.img"
timeout 60 $VMM --kernel "$ELF" --mem 64M --disk "$work/full/disk.img,serial=tg-scratch" \
	--cmdline "tg.run=fault.writes tg.blk.serial=tg-scratch" </dev/null >"$work/full.out" 2>"$work/full.err"
rc=$?
line=$(tr -d '\r' <"$work/full.out" | grep '^tg: PASS fault.writes')
refused=$(sed -n 's/.* \([0-9]*\) refused with IOERR.*/\1/p' <<<"$line")
if [ "$rc" -eq 0 ] && [ "${refused:-0}" -gt 0 ] &&
	[ "$(grep -c 'host I/O error, the guest gets an I/O error: No space left on device' \
		"$work/full.err")" -eq 1 ]; then
	ok "full file system: ${line#tg: PASS }"
else
	bad "full file system" "exit status $rc, console: $(tr -d '\r' <"$work/full.out" |
		grep 'fault\|summary'), stderr: $(head -c 300 "$work/full.err")"
fi
umountp "$work/full"

# hold NAME FAULT VMM-ARGS...: the VMM with the test guest's fault.hold or
# fault.tap_gone (in VMM-ARGS); once the guest is ready, run the function
# FAULT, then tell the guest. Sets rc, and $work/NAME.out and .err.
hold() {
	local name=$1 fault=$2 line
	shift 2
	rm -f "$work/$name.in" "$work/$name.con"
	mkfifo "$work/$name.in" "$work/$name.con"
	timeout 120 "$@" <"$work/$name.in" >"$work/$name.con" 2>"$work/$name.err" &
	local pid=$!
	exec 4<>"$work/$name.in" 5<"$work/$name.con"
	: >"$work/$name.out"
	while read -r -t 60 line <&5; do
		echo "$line" >>"$work/$name.out"
		[[ $line == *"tg: fault: ready"* ]] && break
	done
	if [[ $line == *"tg: fault: ready"* ]]; then
		$fault
		echo >&4
	fi
	tr -d '\r' <&5 >>"$work/$name.out"
	wait "$pid"
	rc=$?
	exec 4>&- 5<&-
}

# pass_line NAME SCENARIO: the guest's PASS note, empty if it did not pass.
pass_line() { tr -d '\r' <"$work/$1.out" | sed -n "s/^tg: PASS $2: //p"; }

# expect NAME SCENARIO WANT-NOTE-PREFIX WANT-LOG: exit 0, that note, one log line.
expect() {
	local note
	note=$(pass_line "$1" "$2")
	if [ "$rc" -eq 0 ] && [[ $note == "$3"* ]] && [ "$(grep -c "$4" "$work/$1.err")" -eq 1 ]; then
		ok "$1: $note"
	else
		bad "$1" "exit status $rc, note '$note' (wanted '$3...'), console: $(tr -d '\r' \
			<"$work/$1.out" | grep 'FAIL\|summary'), stderr: $(head -c 300 "$work/$1.err")"
	fi
}

# hold_disk NAME FAULT IMAGE: hold with fault.hold on IMAGE as the scratch disk.
hold_disk() {
	hold "$1" "$2" $VMM --kernel "$ELF" --mem 64M --disk "$3,serial=tg-scratch" \
		--cmdline "tg.run=fault.hold tg.blk.serial=tg-scratch"
}

# 2. The image made unwritable: its file system forced read-only (ext4's
# emergency read-only, as after an error with errors=remount-ro).
truncate -s 64M "$work/ro.fs"
mkdir "$work/ro"
if mkfs.ext4 -q "$work/ro.fs" && mount -o loop,errors=remount-ro "$work/ro.fs" "$work/ro"; then
	ro_dev=$(basename "$(findmnt -n -o SOURCE "$work/ro")")
	truncate -s 16M "$work/ro/disk.img"
	make_ro() { echo 1 >"/sys/fs/ext4/$ro_dev/trigger_fs_error"; }
	hold_disk unwritable make_ro "$work/ro/disk.img"
	expect unwritable fault.hold "reads 16 ok 0 IOERR, writes 0 ok 16 IOERR" \
		'the guest gets an I/O error: Read-only file system'
else
	bad "unwritable" "cannot make an ext4 file system on a loop device"
fi
umountp "$work/ro"

# 3. The image truncated to half: reads past the new end fail; writes there
# grow the file again, as a regular file does.
truncate -s 16M "$work/trunc.img"
halve() { truncate -s 8M "$work/trunc.img"; }
hold_disk truncated halve "$work/trunc.img"
expect truncated fault.hold "reads 8 ok 8 IOERR, writes 16 ok 0 IOERR" \
	'the guest gets an I/O error: Input/output error'

# 4. The tap deleted under the guest (in a namespace of the test's own).
if ip netns add "$NS" && ip -n "$NS" link set lo up &&
	ip -n "$NS" tuntap add dev vmmfault0 mode tap &&
	ip -n "$NS" addr add 10.0.9.1/24 dev vmmfault0 && ip -n "$NS" link set vmmfault0 up; then
	del_tap() { ip -n "$NS" link del vmmfault0; }
	hold tap_gone del_tap ip netns exec "$NS" $VMM --kernel "$ELF" --mem 64M \
		--net tap,ifname=vmmfault0 --cmdline "tg.run=fault.tap_gone tg.net=tap:10.0.9.2:10.0.9.1"
	expect tap_gone fault.tap_gone "64 frames sent after the tap went" \
		'vmmfault0: read, no more frames for the guest'
else
	bad "tap gone" "cannot make a network namespace with a tap"
fi

# 5. stdin closed; stdout a pipe nobody reads (SIGPIPE is ignored: EPIPE).
truncate -s 16M "$work/disk.img"
args=(--kernel "$ELF" --mem 64M --disk "$work/disk.img,serial=tg-scratch"
	--cmdline "tg.run=blk.rw tg.blk.serial=tg-scratch")
timeout 60 $VMM "${args[@]}" <&- >"$work/closed.out" 2>"$work/closed.err"
rc=$?
if [ "$rc" -eq 0 ] && grep -q 'tg: PASS blk.rw' "$work/closed.out"; then
	ok "stdin closed: the guest ran, exit status 0"
else
	bad "stdin closed" "exit status $rc: $(head -c 300 "$work/closed.err")"
fi
rc_file="$work/pipe.rc"
{ timeout 60 $VMM "${args[@]}" </dev/null 2>"$work/pipe.err"; echo $? >"$rc_file"; } | true
rc=$(cat "$rc_file")
if [ "$rc" -eq 0 ]; then
	ok "stdout a closed pipe: the guest ran, exit status 0"
else
	bad "stdout a closed pipe" "exit status $rc: $(head -c 300 "$work/pipe.err")"
fi

# 6. SIGTERM while the guest writes and flushes 64 KiB chunks of a 64 MiB
# image: the eighth "flushed through chunk N" line is the signal to kill.
rm -f "$work/disk.img"
truncate -s 64M "$work/disk.img"
mkfifo "$work/console"
$VMM --kernel "$ELF" --mem 64M --disk "$work/disk.img,serial=tg-scratch" \
	--cmdline "tg.run=fault.flushed tg.blk.serial=tg-scratch" \
	</dev/null >"$work/console" 2>"$work/term.err" &
pid=$!
exec 3<"$work/console"
reports=0
while read -r -t 60 line <&3; do
	echo "$line" >>"$work/term.out"
	[[ $line == *"flushed through chunk"* ]] && reports=$((reports + 1))
	[ "$reports" -ge 8 ] && break
done
kill -TERM "$pid"
if timeout 1 tail -s 0.05 --pid="$pid" -f /dev/null; then
	wait "$pid"
	rc=$?
	tr -d '\r' <&3 >>"$work/term.out"
	last=$(sed -n 's/.*flushed through chunk \([0-9]*\).*/\1/p' "$work/term.out" | tail -n 1)
	# Every chunk 0..last holds the byte 1 + i % 250, all 65536 of it.
	missing=
	for i in $(seq 0 "${last:--1}"); do
		byte=$(printf '\\%03o' $((1 + i % 250)))
		n=$(dd if="$work/disk.img" bs=64K skip="$i" count=1 status=none | tr -d "$byte" | wc -c)
		[ "$n" -eq 0 ] || { missing="chunk $i ($n bytes differ)"; break; }
	done
	if [ "$rc" -eq 143 ] && [ "$reports" -ge 8 ] && [ -z "$missing" ]; then
		ok "SIGTERM during writes: exit 143 within a second, chunks 0 to $last all in the image"
	else
		bad "SIGTERM during writes" "exit status $rc, $reports reports, last $last, ${missing:-none missing}"
	fi
else
	bad "SIGTERM during writes" "still running a second after SIGTERM"
	kill -KILL "$pid"
fi
exec 3<&-

echo "fault tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
