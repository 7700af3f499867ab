#!/bin/bash
# The freestanding test guest (build/guest/testguest.elf) under ./vmm: the
# blk scenarios with the devices found in the device tree, again with
# --mptable (found on the command line), with --no-eventfd (notifies and
# interrupts through VM exits) and with the worker-thread disk backend; the
# hostile scenarios (whatever that group holds); the p9 group on a share; a
# short bench. Every run
# must end with status 0, name every expected scenario as PASS and sum up
# with nothing failed.
#
# TG_ELF=path picks another guest, VMM=path another VMM (make guest-asan-test:
# the ASan/UBSan build); TIMEOUT (seconds) bounds each run.
set -u
cd "$(dirname "$0")/../.." || exit 1
VMM=${VMM:-./vmm}
ELF=${TG_ELF:-build/guest/testguest.elf}
TIMEOUT=${TIMEOUT:-60}

# The blk group, in the guest's order (guest/testguest/blk_scenarios.c).
BLK_SCENARIOS="probe rw indirect flush get_id discard write_zeroes ro past_end
	poll_event_idx poll_no_event_idx irq_event_idx irq_no_event_idx wrap"
SERIAL=tg-scratch
RO_SERIAL=tg-ro-disk
SECTORS=16384 # the scratch image: 8 MiB
BLK_ARGS="tg.run=blk tg.blk.serial=$SERIAL tg.blk.ro_serial=$RO_SERIAL tg.blk.ro_pattern=1"
BLK_ARGS="$BLK_ARGS tg.blk.sectors=$SECTORS"

for f in "$VMM" "$ELF"; do
	[ -e "$f" ] || { echo "FAIL: $f is missing (make vmm testguest)"; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vmm-guest-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "PASS: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1: $2"; }

# A sparse scratch image, and a read-only one whose sector N starts with
# "tg-ro N" (8 digits) so that the guest can tell its data from anything else.
truncate -s $((SECTORS * 512)) "$work/rw.img"
awk 'BEGIN { for (i = 0; i < 2048; i++) {
	s = sprintf("tg-ro %08d\n", i); printf "%s", s
	for (j = length(s); j < 512; j++) printf "." } }' >"$work/ro.img"

# run NAME ARGS...: boot the guest; its console, without CRs, in $work/NAME.log.
run() {
	local name=$1 start end
	shift
	start=$(date +%s%N)
	rc=0
	timeout -k 5 "$TIMEOUT" $VMM --kernel "$ELF" --mem 64M "$@" </dev/null \
		>"$work/$name.raw" 2>&1 || rc=$?
	end=$(date +%s%N)
	tr -d '\r' <"$work/$name.raw" >"$work/$name.log"
	ms=$(((end - start) / 1000000))
}

show_log() {
	sed 's/^/    /' "$1"
}

# check NAME GROUP NAMES: status 0, "tg: PASS GROUP.X" for each X of NAMES, and
# a summary of exactly that many passed and none failed or skipped.
check_group() {
	local name=$1 group=$2 names=$3 n=0 missing=""
	for s in $names; do
		n=$((n + 1))
		grep -q "^tg: PASS $group\.${s}[: ]" "$work/$name.log" || missing="$missing $s"
	done
	if [ "$rc" -ne 0 ]; then
		bad "$name" "exit status $rc after $ms ms"
	elif [ -n "$missing" ]; then
		bad "$name" "no PASS line for:$missing"
	elif ! grep -q "^tg: summary: $n passed, 0 failed, 0 skipped$" "$work/$name.log"; then
		bad "$name" "summary: $(grep '^tg: summary' "$work/$name.log")"
	else
		ok "$name: $n scenarios in $ms ms"
		return 0
	fi
	show_log "$work/$name.log"
	return 1
}

# expect LOG PATTERN WHAT: the log has a line matching PATTERN.
expect() {
	grep -q "$2" "$work/$1.log" || { bad "$1" "$3"; show_log "$work/$1.log"; }
}

disks=(--disk "$work/rw.img,serial=$SERIAL" --disk "$work/ro.img,ro,serial=$RO_SERIAL")

run blk-dt "${disks[@]}" --cmdline "$BLK_ARGS"
check_group blk-dt blk "$BLK_SCENARIOS"
expect blk-dt "^tg: booted via boot_params, device tree;.*blk@0xd0000000/irq16/dt/$SECTORS sectors/rw" \
	"the boot line does not show the disks found in the device tree"

run blk-mptable --mptable "${disks[@]}" --cmdline "$BLK_ARGS"
check_group blk-mptable blk "$BLK_SCENARIOS"
expect blk-mptable "^tg: booted via boot_params, no device tree;.*blk@0xd0001000/irq17/cmdline/2048 sectors/ro" \
	"the boot line does not show the disks found on the command line"

run blk-no-eventfd --no-eventfd "${disks[@]}" --cmdline "$BLK_ARGS"
check_group blk-no-eventfd blk "$BLK_SCENARIOS"

run blk-io-sync --disk "$work/rw.img,serial=$SERIAL,io=sync" \
	--disk "$work/ro.img,ro,serial=$RO_SERIAL,io=sync" --cmdline "$BLK_ARGS"
check_group blk-io-sync blk "$BLK_SCENARIOS"

# The hostile group, whatever it holds: all pass, at least one. Two vCPUs give
# the disk two queues: a broken one must stop the other too.
run hostile --cpus 2 --disk "$work/rw.img,serial=$SERIAL" --net user --cmdline "tg.run=hostile"
if [ "$rc" -eq 0 ] && grep -q '^tg: summary: [1-9][0-9]* passed, 0 failed' "$work/hostile.log"; then
	ok "hostile: $(grep -c '^tg: PASS' "$work/hostile.log") scenarios in $ms ms"
else
	bad hostile "exit status $rc, $(grep '^tg: summary' "$work/hostile.log" || echo 'no summary')"
	show_log "$work/hostile.log"
fi

# The p9 group on a share beside an "outside" directory its symlinks point
# at (absolute and relative), with a tag of our own, in device-tree and
# MP-table mode: the guest reads the host's file and writes its own, which
# must arrive byte for byte; outside must keep exactly its one file.
mkdir -p "$work/p9/share" "$work/p9/outside"
printf 'vmm 9p host file\n' >"$work/p9/share/tg-host-file"
printf 'host secret\n' >"$work/p9/outside/secret"
ln -s ../outside "$work/p9/share/out"
ln -s "$work/p9/outside" "$work/p9/share/abs"
for mode in dt mptable; do
	rm -f "$work/p9/share/tg-guest-file"
	flags=()
	[ "$mode" = mptable ] && flags=(--mptable)
	run "p9-$mode" "${flags[@]}" --share "$work/p9/share,tag=tg-share" \
		--cmdline "tg.run=p9 tg.p9.tag=tg-share"
	if check_group "p9-$mode" p9 "probe session escape hostile"; then
		[ "$(cat "$work/p9/share/tg-guest-file" 2>/dev/null)" = "written by the test guest" ] ||
			bad "p9-$mode" "tg-guest-file on the host: '$(cat "$work/p9/share/tg-guest-file")'"
		[ "$(ls -A "$work/p9/outside")" = secret ] &&
			[ "$(cat "$work/p9/outside/secret")" = "host secret" ] ||
			bad "p9-$mode" "the outside directory changed: $(ls -A "$work/p9/outside")"
	fi
done

# A short bench: both kinds pass (every status OK) and print their figures.
run bench "${disks[@]}" --cmdline \
	"tg.run=bench.randread,bench.randwrite tg.bench=randread:4096:16:5000,randwrite:4096:16:5000"
if check_group bench bench "randread randwrite"; then
	grep '^tg: bench ' "$work/bench.log" | sed 's/^/    /'
fi
expect bench '^tg: bench randwrite bs=4096 qd=16 n=5000: IOPS=[1-9][0-9]* MB/s=[0-9.]* (' \
	"no figures for the randwrite case"

# The verdict must be able to fail: an unknown scenario is a failure.
run unknown "${disks[@]}" --cmdline "tg.run=blk.probe,blk.no_such_thing"
if [ "$rc" -eq 1 ] && grep -q '^tg: FAIL blk.no_such_thing: no such scenario' "$work/unknown.log" &&
	grep -q '^tg: summary: 1 passed, 1 failed' "$work/unknown.log"; then
	ok "unknown scenario: exit status 1"
else
	bad unknown "exit status $rc"
	show_log "$work/unknown.log"
fi

echo "guest tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
