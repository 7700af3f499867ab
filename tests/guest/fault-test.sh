#!/bin/bash
# Host faults under a running test guest (build/guest/testguest.elf):
# - the disk image on a full file system (a 2 MiB tmpfs holding a 16 MiB
#   sparse image) while the guest writes all of it: the guest sees IOERR for
#   what did not fit, the VMM logs the host error once, keeps running, and
#   the device goes on serving (the guest's fault.writes scenario);
# - stdin closed, and stdout a pipe whose reader is gone: the VMM runs on
#   and ends with the guest's own status;
# - SIGTERM while the guest writes as fast as it can: exit 143 within a
#   second.
# Needs root (the tmpfs mount), as CI has.
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
cleanup() {
	umountp "$work/full"
	rm -rf "$work"
}
umountp() { mountpoint -q "$1" && umount "$1"; }
trap cleanup EXIT

# 1. A full file system.
mkdir "$work/full"
mount -t tmpfs -o size=2m vmm-fault "$work/full" || { echo "FAIL: cannot mount a tmpfs"; exit 1; }
truncate -s 16M "$work/full/disk.img"
timeout 60 $VMM --kernel "$ELF" --mem 64M --disk "$work/full/disk.img,serial=tg-scratch" \
	--cmdline "tg.run=fault tg.blk.serial=tg-scratch" </dev/null >"$work/full.out" 2>"$work/full.err"
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

# 2. stdin closed; stdout a pipe nobody reads (SIGPIPE is ignored: EPIPE).
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

# 3. SIGTERM during heavy writes: once the guest's writes reach the (new,
# sparse) image, its bench goes on writing for tens of seconds; the VMM must
# be gone within a second.
rm -f "$work/disk.img"
truncate -s 16M "$work/disk.img"
mkfifo "$work/console"
$VMM --kernel "$ELF" --mem 64M --disk "$work/disk.img,serial=tg-scratch" --cmdline \
	"tg.run=bench.randwrite tg.blk.serial=tg-scratch tg.bench=randwrite:4096:16:50000000" \
	</dev/null >"$work/console" 2>"$work/term.err" &
pid=$!
exec 3<"$work/console"
read -r -t 60 first <&3
cat <&3 >/dev/null &
# Wait (up to 30 s) for the first written blocks: a condition, not a delay.
for _ in $(seq 600); do
	[ "$(stat -c %b "$work/disk.img")" -gt 0 ] && break
	sleep 0.05
done
blocks=$(stat -c %b "$work/disk.img")
kill -TERM "$pid"
if timeout 1 tail -s 0.05 --pid="$pid" -f /dev/null; then
	wait "$pid"
	rc=$?
	if [ "$rc" -eq 143 ] && [ -n "$first" ] && [ "$blocks" -gt 0 ]; then
		ok "SIGTERM during writes: exit 143 within a second"
	else
		bad "SIGTERM during writes" "exit status $rc, $blocks blocks written, console '$first'"
	fi
else
	bad "SIGTERM during writes" "still running a second after SIGTERM"
	kill -KILL "$pid"
fi
exec 3<&-

echo "fault tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
