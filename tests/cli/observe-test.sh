#!/bin/bash
# The tools for looking inside a running VM, without a Linux boot: --stats
# and --stats-json against a test-guest run whose requests are known,
# --trace parsed as JSON, and the --api-sock commands (pause holding every
# vCPU, resume, stats, info, quit) and its bad inputs.
set -u
cd "$(dirname "$0")/../.." || exit 1
VMM=./vmm
API=tools/vmm-api
tg=build/guest/testguest.elf
work=$(mktemp -d)
trap 'rm -rf "$work"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "PASS: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1: $2"; }
# check FILE NAME PYTHON-EXPRESSION: the expression over `d` (the JSON in
# FILE) must be true.
check() {
	local file=$1 name=$2 expr=$3 why
	if why=$(python3 - "$file" "$expr" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if not eval(sys.argv[2]):
    sys.exit("not true: %s" % sys.argv[2])
PY
	); then
		ok "$name"
	else
		bad "$name" "$why ($(head -c 300 "$file"))"
	fi
}

truncate -s 8M "$work/tg.img"
# The test guest's bench: 300 reads at depth 1, then 200 writes at depth 8,
# each 4 KiB: 500 requests, every one answered OK, on the one queue.
bench="tg.run=bench tg.bench=randread:4k:1:300,randwrite:4k:8:200"
timeout 120 $VMM --kernel "$tg" --mem 64M --disk "$work/tg.img" --stats \
	--stats-json "$work/stats.json" --trace "$work/trace.json" --cmdline "$bench" \
	>"$work/out" 2>"$work/err" </dev/null
rc=$?
if [ "$rc" -eq 0 ] && grep -q '^vCPU exits (time in the VMM)' "$work/err" &&
	grep -Eq '^virtio-blk0 q0 +500 ' "$work/err" && grep -Eq '^vcpu0 +[0-9]+ ' "$work/err"; then
	ok "--stats: the tables on stderr, 500 requests on virtio-blk0 q0"
else
	bad "--stats" "exit status $rc: $(head -c 600 "$work/err")"
fi
S=$work/stats.json T=$work/trace.json
check $S "--stats-json: 500 requests, no error, no reset" \
	"[(q['requests'], q['errors'], q['needs_reset']) for q in d['queues']] == [(500, 0, 0)]"
# Reads give back 4 KiB and a status byte, writes the status byte.
check $S "--stats-json: bytes written back, 300 x 4097 + 200 x 1" \
	"d['queues'][0]['bytes_written'] == 300 * 4097 + 200 * 1"
check $S "--stats-json: bytes read, at least the 200 writes' data" \
	"d['queues'][0]['bytes_read'] >= 200 * 4096"
check $S "--stats-json: the reasons' totals add up to the vCPU's exits" \
	"sum(e['count'] for e in d['exits'] if e['site'] is None) == d['vcpus'][0]['exits']"
check $S "--stats-json: with ioeventfd no notify is an exit" \
	"not any(e['site'] == 'virtio-blk0 QueueNotify write' for e in d['exits'])"
check $S "--stats-json: registers named, median <= p99" \
	"any(e['site'] == 'virtio-blk0 Status write' for e in d['exits']) and \
all(e['median_ns'] <= e['p99_ns'] for e in d['exits'])"
check $T "--trace: the vCPU's track is named" \
	"any(e.get('args', {}).get('name') == 'vcpu0' for e in d['traceEvents'])"
check $T "--trace: the queue worker's track is named" \
	"any(e.get('args', {}).get('name') == 'virtio-blk0 q0' for e in d['traceEvents'])"
check $T "--trace: 500 requests begun and ended" \
	"sum(e['ph'] == 'b' for e in d['traceEvents']) == 500 == sum(e['ph'] == 'e' for e in d['traceEvents'])"
check $T "--trace: exits named by register" \
	"any(e['ph'] == 'X' and e['name'].startswith('MMIO virtio-blk0 ') for e in d['traceEvents'])"

# Without ioeventfd every notify is an exit, and is counted twice alike.
timeout 120 $VMM --kernel "$tg" --mem 64M --disk "$work/tg.img" --no-eventfd \
	--stats-json "$work/noeventfd.json" --cmdline "tg.run=bench tg.bench=randread:4k:4:100" \
	>"$work/out" 2>"$work/err" </dev/null
check "$work/noeventfd.json" "--no-eventfd: notifies by exit = QueueNotify exits" \
	"d['queues'][0]['notifies_exit'] == sum(e['count'] for e in d['exits'] if e['site'] == 'virtio-blk0 QueueNotify write') > 0"
check "$work/noeventfd.json" "--no-eventfd: none by ioeventfd, 100 requests" \
	"d['queues'][0]['notifies_ioeventfd'] == 0 and d['queues'][0]['requests'] == 100"

# A trace far bigger than its limit keeps the newest events only.
timeout 120 $VMM --kernel "$tg" --mem 64M --disk "$work/tg.img" --trace "$work/small.json" \
	--trace-limit 1000 --cmdline "$bench" >"$work/out" 2>"$work/err" </dev/null
check "$work/small.json" "--trace-limit 1000: more events came, at most 1000 kept" \
	"d['otherData']['limit'] == 1000 and d['otherData']['events'] > 1000 and \
len([e for e in d['traceEvents'] if e['ph'] != 'M']) <= 1000"

# The control socket, on a guest that exits on every instruction it runs.
cat >"$work/spin.S" <<'ASM'
	.code64
	.globl _start
_start:	mov $0x3ff, %dx
2:	out %al, %dx
	jmp 2b
ASM
gcc -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-Ttext=0x200000 -o "$work/spin.elf" \
	"$work/spin.S"
sock=$work/api.sock
exits() { $API "$sock" stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["vcpus"][0]["exits"])'; }
$VMM --kernel "$work/spin.elf" --mem 32M --stats --api-sock "$sock" --trace "$work/live.json" \
	--trace-limit 5000 >"$work/out" 2>"$work/err" </dev/null &
pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
if [ "$(stat -c %a "$sock" 2>/dev/null)" = 600 ]; then
	ok "--api-sock: the socket is mode 0600"
else
	bad "--api-sock" "no socket of mode 0600: $(ls -l "$sock" 2>&1)"
fi
$API "$sock" info >"$work/info.json"
check "$work/info.json" "info: running, 1 vCPU, the kernel" \
	"d['ok'] and d['state'] == 'running' and d['cpus'] == 1 and d['kernel'].endswith('spin.elf')"
if $API "$sock" pause >/dev/null; then
	a=$(exits)
	sleep 0.3 # a window for exits to happen if the vCPU were not held
	b=$(exits)
	$API "$sock" resume >/dev/null
	c=$b
	for _ in $(seq 100); do
		c=$(exits)
		[ "$c" -gt "$b" ] && break
		sleep 0.05
	done
	if [ "$a" -gt 0 ] && [ "$a" = "$b" ] && [ "$c" -gt "$b" ]; then
		ok "pause holds the vCPU ($a exits, then $b 0.3 s later), resume lets it go on ($c)"
	else
		bad "pause/resume" "exits $a, $b while paused, $c after resume"
	fi
else
	bad "pause" "$($API "$sock" pause)"
fi
$API "$sock" pause info | tail -n 1 >"$work/info.json"
check "$work/info.json" "info while paused says so" "d['state'] == 'paused'"
$API "$sock" resume >/dev/null
# Bad lines get an error reply each, on the same connection, and the VMM goes on.
$API "$sock" --raw 'not json' '{"cmd":"nope"}' '{"cmd":"quit","status":300}' '{"cmd":1}' \
	'{"cmd":"info",}' "$(head -c 5000 /dev/zero | tr '\0' x)" '{"cmd":"info"}' |
	python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in sys.stdin]))' \
		>"$work/replies.json"
check "$work/replies.json" "six bad lines: an error each, then a good one answered" \
	"[r['ok'] for r in d] == [False] * 6 + [True]"
# SIGUSR1 writes the trace of the running VM out: a whole file, with the exits so far.
kill -USR1 "$pid"
for _ in $(seq 100); do
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["otherData"]["events"] == 0)' \
		"$work/live.json" 2>/dev/null && break
	sleep 0.1
done
check "$work/live.json" "SIGUSR1: the running VM's trace written, COM1 SCR exits in it" \
	"any(e['name'] == 'IO COM1 SCR write' for e in d['traceEvents'])"
$API "$sock" quit=5 >/dev/null
wait "$pid"
rc=$?
pid=
if [ "$rc" -eq 5 ] && [ ! -e "$sock" ]; then
	ok "quit with status 5: the VMM exits 5 and removes its socket"
else
	bad "quit" "exit status $rc, socket $(ls -l "$sock" 2>&1), stderr $(head -c 300 "$work/err")"
fi
# A path that is not a socket is never taken over.
: >"$work/file"
$VMM --kernel "$work/spin.elf" --mem 32M --api-sock "$work/file" >"$work/out" 2>"$work/err" </dev/null
rc=$?
if [ "$rc" -eq 1 ] && [ "$(cat "$work/err")" = "vmm: --api-sock $work/file: exists and is not a socket" ] &&
	[ -f "$work/file" ]; then
	ok "--api-sock refuses a path that is not a socket"
else
	bad "--api-sock on a file" "exit status $rc: $(cat "$work/err")"
fi

echo "observe: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
