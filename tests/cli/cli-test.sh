#!/bin/bash
# Command-line behaviour of ./vmm without a Linux boot: every kind of bad
# input gets exactly one line on stderr naming the problem and a non-zero,
# non-signal exit; tiny hand-made ELF guests check the ways a VM ends.
set -u
cd "$(dirname "$0")/../.." || exit 1
VMM=./vmm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "PASS: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1: $2"; }

# expect_error NAME SUBSTRING CMD...: non-zero exit below 128, empty stdout,
# exactly one stderr line "vmm: ..." containing SUBSTRING.
expect_error() {
	local name=$1 want=$2
	shift 2
	"$@" >"$work/out" 2>"$work/err" </dev/null
	local rc=$? lines
	lines=$(wc -l <"$work/err")
	if [ "$rc" -eq 0 ] || [ "$rc" -ge 128 ]; then
		bad "$name" "exit status $rc"
	elif [ -s "$work/out" ]; then
		bad "$name" "wrote to stdout: $(head -c 200 "$work/out")"
	elif [ "$lines" -ne 1 ]; then
		bad "$name" "$lines stderr lines: $(head -c 400 "$work/err")"
	elif ! grep -q "^vmm: .*$want" "$work/err"; then
		bad "$name" "stderr lacks '$want': $(cat "$work/err")"
	else
		ok "$name ($(cat "$work/err"))"
	fi
}

# A guest of a few instructions: prints "ok" on COM1, hits the boot marker,
# then writes 7 to the test-exit port. TAIL replaces that last step.
make_tiny_guest() {
	local out=$1 addr=$2 tail=${3:-}
	{
	cat <<'ASM'
	.code64
	.globl _start
_start:	mov $0x3f8, %dx
	mov $'o', %al
	out %al, %dx
	mov $'k', %al
	out %al, %dx
	mov $'\n', %al
	out %al, %dx
	mov $0x502, %dx
	out %al, %dx
ASM
	echo "${tail:-mov \$0x501, %dx; mov \$7, %al; out %al, %dx}"
	echo "1: hlt; jmp 1b"
	} >"$work/tiny.S"
	gcc -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-Ttext="$addr" \
		-o "$out" "$work/tiny.S"
}

# A file with a Linux boot header of the given protocol version and xloadflags.
make_bzimage() {
	local out=$1 version=$2 xlf=$3
	head -c 8192 /dev/zero >"$out"
	put() { printf "$2" | dd of="$out" bs=1 seek=$(($1)) conv=notrunc status=none; }
	put 0x1f1 '\x01'         # setup_sects
	put 0x1fe '\x55\xaa'     # boot_flag
	put 0x201 '\x66'         # jump offset: header runs to 0x268
	put 0x202 'HdrS'
	put 0x206 "$version"
	put 0x211 '\x01'         # loadflags: LOADED_HIGH
	put 0x236 "$xlf"
}

make_tiny_guest "$work/tiny.elf" 0x200000
make_tiny_guest "$work/high.elf" 0x4000000
make_tiny_guest "$work/spin.elf" 0x200000 "2: jmp 2b"
make_tiny_guest "$work/fault.elf" 0x200000 "ud2"           # no IDT: triple fault
make_tiny_guest "$work/mmio.elf" 0x200000 "mov \$0xd0000000, %eax; jmp *%rax"
# The boot-time marker 1000 times more, then exit 7.
make_tiny_guest "$work/marker.elf" 0x200000 \
	"mov \$1000, %ecx; 2: out %al, %dx; loop 2b; mov \$0x501, %dx; mov \$7, %al; out %al, %dx"
make_bzimage "$work/old.bzImage" '\x05\x02' '\x01\x00'
make_bzimage "$work/no64.bzImage" '\x0f\x02' '\x00\x00'
head -c 100 "$work/tiny.elf" >"$work/truncated.elf"
: >"$work/empty"
mkfifo "$work/fifo"
echo "hello" >"$work/text"
head -c $((40 << 20)) /dev/zero >"$work/big.initrd"
for i in 0 1 2 3 4 5 6 7 8; do truncate -s 1M "$work/disk$i.img"; done
chmod 644 "$work"/*

expect_error "unknown option" "unknown option '--bogus'" $VMM --bogus
expect_error "option without value" "needs a value" $VMM --kernel
expect_error "flag with value" "takes no value" $VMM --mptable=yes --kernel "$work/tiny.elf"
expect_error "no kernel" "no kernel given" $VMM --mem 64M
expect_error "missing kernel" "cannot open kernel '$work/nope'" $VMM --kernel "$work/nope"
expect_error "kernel is a directory" "not a regular file" $VMM --kernel "$work"
expect_error "empty kernel" "is empty" $VMM --kernel "$work/empty"
# A FIFO used to block open() for ever (the timeout turns that into a failure).
expect_error "kernel is a FIFO" "kernel '$work/fifo' is not a regular file" \
	timeout 10 $VMM --kernel "$work/fifo"
expect_error "kernel is a character device" "not a regular file" $VMM --kernel /dev/zero
expect_error "initrd is a FIFO" "initrd '$work/fifo' is not a regular file" \
	timeout 10 $VMM --kernel "$work/tiny.elf" --initrd "$work/fifo"
expect_error "not a kernel" "not a Linux kernel" $VMM --kernel "$work/text"
expect_error "truncated ELF" "truncated" $VMM --kernel "$work/truncated.elf"
expect_error "old bzImage" "too old" $VMM --kernel "$work/old.bzImage"
expect_error "bzImage without 64-bit entry" "no 64-bit entry" $VMM --kernel "$work/no64.bzImage"
expect_error "kernel beyond guest memory" "does not fit" $VMM --kernel "$work/high.elf" --mem 32M
expect_error "missing initrd" "cannot open initrd" $VMM --kernel "$work/tiny.elf" --initrd "$work/nope"
expect_error "initrd too big" "does not fit" $VMM --kernel "$work/tiny.elf" --initrd "$work/big.initrd" --mem 32M
expect_error "bad memory size" "bad size '12Q'" $VMM --kernel "$work/tiny.elf" --mem 12Q
expect_error "memory too small" "out of range" $VMM --kernel "$work/tiny.elf" --mem 8M
expect_error "memory beyond the host" "more than this host's RAM and swap" \
	$VMM --kernel "$work/tiny.elf" --mem 1T
expect_error "memory not page multiple" "multiple of 4 KiB" $VMM --kernel "$work/tiny.elf" --mem 20001K
expect_error "zero cpus" "bad count '0'" $VMM --kernel "$work/tiny.elf" --cpus 0
expect_error "too many cpus" "bad count '33'" $VMM --kernel "$work/tiny.elf" --cpus 33
expect_error "cpus not a number" "bad count 'two'" $VMM --kernel "$work/tiny.elf" --cpus two
expect_error "bad disk option" "unknown option 'rw'" $VMM --kernel "$work/tiny.elf" --disk x.img,rw
expect_error "bad disk io" "bad io 'aio'" $VMM --kernel "$work/tiny.elf" --disk x.img,io=aio
expect_error "bad disk poll" "poll: bad count '2000' (expected 0 to 1000)" \
	$VMM --kernel "$work/tiny.elf" --disk x.img,poll=2000
expect_error "disk serial too long" "longer than 20 bytes" \
	$VMM --kernel "$work/tiny.elf" --disk x.img,serial=123456789012345678901
expect_error "too many disks" "at most 8 disks" $VMM --kernel "$work/tiny.elf" \
	$(for i in 0 1 2 3 4 5 6 7 8; do echo --disk "$work/disk$i.img"; done)
expect_error "missing disk" "disk '$work/nope'" $VMM --kernel "$work/tiny.elf" --disk "$work/nope"
expect_error "disk is a directory" "is a directory" $VMM --kernel "$work/tiny.elf" --disk "$work"
expect_error "empty disk" "is empty" $VMM --kernel "$work/tiny.elf" --disk "$work/empty"
expect_error "root without exec" "--root is for run mode: give --exec CMD too" \
	$VMM --kernel "$work/tiny.elf" --root /
expect_error "exec with initrd" "--exec builds its own initramfs: drop --initrd" \
	$VMM --kernel "$work/tiny.elf" --initrd "$work/tiny.elf" --exec true
expect_error "empty exec" "--exec: empty command" $VMM --kernel "$work/tiny.elf" --exec ""
expect_error "bad timeout" "--timeout: bad count '0'" $VMM --kernel "$work/tiny.elf" --timeout 0
expect_error "missing rwdir" "--rwdir $work/nope: No such file or directory" \
	$VMM --kernel "$work/tiny.elf" --exec true --rwdir "$work/nope"
expect_error "missing share" "--share $work/nope: No such file or directory" \
	$VMM --kernel "$work/tiny.elf" --share "$work/nope"
expect_error "share not a directory" "Not a directory" \
	$VMM --kernel "$work/tiny.elf" --share "$work/tiny.elf"
expect_error "bad share option" "--share: unknown option 'rw'" \
	$VMM --kernel "$work/tiny.elf" --share "$work,rw"
expect_error "share tag too long" "must be 1 to 64 bytes" \
	$VMM --kernel "$work/tiny.elf" --share "$work,tag=$(printf 'x%.0s' $(seq 65))"
expect_error "read-only disk is a FIFO" "not a regular file or a block device" \
	timeout 10 $VMM --kernel "$work/tiny.elf" --disk "$work/fifo,ro"
expect_error "disk is a FIFO" "not a regular file or a block device" \
	timeout 10 $VMM --kernel "$work/tiny.elf" --disk "$work/fifo"
expect_error "disk is a character device" "'/dev/null' is not a regular file or a block device" \
	$VMM --kernel "$work/tiny.elf" --disk /dev/null
expect_error "disk given twice" "is locked" \
	$VMM --kernel "$work/tiny.elf" --disk "$work/disk0.img" --disk "$work/disk0.img"
expect_error "bad net type" "unknown type 'vde'" $VMM --kernel "$work/tiny.elf" --net vde
expect_error "bad net option" "unknown option 'speed=10'" $VMM --kernel "$work/tiny.elf" --net tap,speed=10
expect_error "tap option on user" "'ifname' is for --net tap only" \
	$VMM --kernel "$work/tiny.elf" --net user,ifname=tap0
expect_error "user option on tap" "'hostfwd' is for --net user only" \
	$VMM --kernel "$work/tiny.elf" --net tap,hostfwd=tcp::8080-:80
expect_error "bad mac" "bad mac '52:54:00:12:34'" $VMM --kernel "$work/tiny.elf" --net user,mac=52:54:00:12:34
expect_error "multicast mac" "multicast" $VMM --kernel "$work/tiny.elf" --net user,mac=01:00:5e:00:00:01
expect_error "bad mtu" "bad count '40'" $VMM --kernel "$work/tiny.elf" --net user,mtu=40
expect_error "bad hostfwd" "bad hostfwd 'tcp::80'" $VMM --kernel "$work/tiny.elf" --net user,hostfwd=tcp::80
expect_error "hostfwd port out of range" "bad hostfwd" \
	$VMM --kernel "$work/tiny.elf" --net user,hostfwd=tcp::70000-:80
expect_error "ifname too long" "bad ifname" $VMM --kernel "$work/tiny.elf" --net tap,ifname=0123456789abcdef
expect_error "too many network cards" "at most 4 network cards" $VMM --kernel "$work/tiny.elf" \
	--net user --net user --net user --net user --net user
expect_error "too many virtio devices" "at most 8 virtio devices" $VMM --kernel "$work/tiny.elf" \
	$(for i in 0 1 2 3 4 5 6 7; do echo --disk "$work/disk$i.img"; done) --net user
# Both forwards want the same host port: the second cannot have it.
fwd_port=$((20000 + $$ % 20000))
expect_error "hostfwd port taken" "cannot forward tcp 127.0.0.1:$fwd_port" \
	$VMM --kernel "$work/tiny.elf" --mem 32M \
	--net "user,hostfwd=tcp::$fwd_port-:80,hostfwd=tcp::$fwd_port-:81"
expect_error "unwritable dtb path" "cannot write device tree" $VMM --dump-dtb "$work/no/such/dir/x.dtb"
# Hiding /dev/kvm and dropping to an unprivileged user both need root.
if [ "$(id -u)" = 0 ]; then
	expect_error "no /dev/kvm" "cannot open /dev/kvm" \
		unshare -m sh -c 'mount -t tmpfs none /dev && exec "$@"' sh $VMM --kernel "$work/tiny.elf"
	expect_error "no permission on /dev/kvm" "permission denied" \
		setpriv --reuid=65534 --regid=65534 --clear-groups $VMM --kernel "$work/tiny.elf"
	# Taps in a network namespace of their own, which goes with the process.
	expect_error "tap not a tap" "cannot create tap 'lo'" \
		unshare -n $VMM --kernel "$work/tiny.elf" --mem 32M --net tap,ifname=lo
	expect_error "tap without CAP_NET_ADMIN" "cannot create tap 'tap%d': Operation not permitted" \
		unshare -n setpriv --bounding-set=-net_admin --inh-caps=-net_admin \
		$VMM --kernel "$work/tiny.elf" --mem 32M --net tap
else
	echo "SKIP: no /dev/kvm, no permission on /dev/kvm, tap errors (need root)"
fi

# The tiny guest: console output, boot marker and test-exit status, on both
# platform descriptions, with the most (idle) application processors, and
# with RAM split around the MMIO hole, with more RAM than the host has (the
# guest touches little of it), and with the most virtio disks (with
# and without KVM's eventfd fast paths; the guest does not touch them).
disks=$(printf -- "--disk $work/disk%d.img " 0 1 2 3 4 5 6 7)
nets="--net user --net user,restrict=on,mac=02:00:00:00:00:01"
for opts in "" "--mptable" "--cpus 32" "--mptable --cpus 32" "--mem 6G" "--mem 64G --mem-overcommit" \
	"--cpus 32 $disks" \
	"--mptable --no-eventfd $disks" "$nets" "--mptable --no-eventfd $nets"; do
	name="tiny guest ${opts:-default}"
	name=${name//--disk $work\/disk?.img /+disk }
	timeout 60 $VMM --kernel "$work/tiny.elf" --mem 32M $opts >"$work/out" 2>"$work/err" </dev/null
	rc=$?
	if [ "$rc" -ne 7 ]; then
		bad "$name" "exit status $rc, stderr: $(cat "$work/err")"
	elif [ "$(cat "$work/out")" != "ok" ]; then
		bad "$name" "console: $(cat "$work/out")"
	elif ! grep -Eq '^vmm: guest reached init in [0-9]+ ms$' "$work/err"; then
		bad "$name" "no boot-time line: $(cat "$work/err")"
	else
		ok "$name"
	fi
done

# A guest that hits the boot-time marker 1001 times: LOG_LIMIT_BURST (10)
# lines, one saying the rest are counted, and the count at the end.
timeout 60 $VMM --kernel "$work/marker.elf" --mem 32M >"$work/out" 2>"$work/err" </dev/null
rc=$?
markers=$(grep -c '^vmm: guest reached init in [0-9]* ms$' "$work/err")
if [ "$rc" -ne 7 ] || [ "$markers" -ne 10 ] || [ "$(wc -l <"$work/err")" -ne 12 ] ||
	! grep -q '^vmm: boot-time marker: further messages like these are only counted$' "$work/err" ||
	! grep -q '^vmm: boot-time marker: 991 more messages were suppressed$' "$work/err"; then
	bad "boot marker flood" "exit status $rc, $markers marker lines: $(head -c 600 "$work/err")"
else
	ok "boot marker flood: $markers lines, then $(tail -n 1 "$work/err")"
fi

# Each kind of thread runs under a seccomp filter of its own: made to call
# getppid (in no list) once confined (VMM_SECCOMP_TEST=KIND), it ends the VMM
# with status 1 and one line naming the call and the kind.
tg=build/guest/testguest.elf
truncate -s 8M "$work/tg.img"
expect_denied() {
	local kind=$1
	shift
	VMM_SECCOMP_TEST=$kind timeout 60 "$@" >"$work/out" 2>"$work/err" </dev/null
	local rc=$?
	local want="^vmm: seccomp: a $kind thread made a system call it may not make: getppid ([0-9]*)$"
	if [ "$rc" -eq 1 ] && grep -q "$want" "$work/err"; then
		ok "seccomp stops a $kind thread ($(grep 'seccomp' "$work/err"))"
	else
		bad "seccomp $kind" "exit status $rc, stderr: $(head -c 400 "$work/err")"
	fi
}
blk_probe="tg.run=blk.probe tg.blk.serial=tg-scratch"
expect_denied main $VMM --kernel "$work/tiny.elf" --mem 32M
expect_denied vcpu $VMM --kernel "$work/tiny.elf" --mem 32M
expect_denied spawner $VMM --kernel "$work/tiny.elf" --mem 32M
expect_denied blk-uring $VMM --kernel "$tg" --mem 64M --disk "$work/tg.img,serial=tg-scratch" \
	--cmdline "$blk_probe"
expect_denied blk-sync $VMM --kernel "$tg" --mem 64M --disk "$work/tg.img,serial=tg-scratch,io=sync" \
	--cmdline "$blk_probe"
expect_denied p9 $VMM --kernel "$tg" --mem 64M --share "$work" --cmdline "tg.run=p9.probe"
expect_denied net-user $VMM --kernel "$tg" --mem 64M --net user --cmdline "tg.run=net.arp"
if [ "$(id -u)" = 0 ]; then
	expect_denied net-tap unshare -n $VMM --kernel "$tg" --mem 64M --net tap \
		--cmdline "tg.run=net.arp tg.net=tap:192.0.2.2:192.0.2.1"
else
	echo "SKIP: seccomp net-tap (needs root for a tap)"
fi
# --no-seccomp: the same call is allowed, the guest ends as it chooses.
VMM_SECCOMP_TEST=vcpu timeout 60 $VMM --no-seccomp --kernel "$work/tiny.elf" --mem 32M \
	>"$work/out" 2>"$work/err" </dev/null
rc=$?
if [ "$rc" -eq 7 ] && ! grep -q seccomp "$work/err"; then
	ok "--no-seccomp: no filter"
else
	bad "--no-seccomp" "exit status $rc, stderr: $(head -c 400 "$work/err")"
fi

# expect_end NAME STATUS STDERR-PATTERN ELF: how a guest's end reaches the host.
expect_end() {
	local name=$1 status=$2 want=$3
	timeout 60 $VMM --kernel "$4" --mem 32M >"$work/out" 2>"$work/err" </dev/null
	local rc=$?
	if [ "$rc" -ne "$status" ]; then
		bad "$name" "exit status $rc, expected $status: $(cat "$work/err")"
	elif ! grep -Eq "$want" "$work/err"; then
		bad "$name" "stderr lacks '$want': $(cat "$work/err")"
	else
		ok "$name ($(grep -E "$want" "$work/err"))"
	fi
}
expect_end "triple fault" 2 '^vmm: guest reset \(triple fault\)$' "$work/fault.elf"
expect_end "vCPU error" 1 '^vmm: vcpu0: .* at RIP 0xd0000000, instruction bytes: ' "$work/mmio.elf"

# A signal ends a running guest with 128 + the signal number. The guest's
# console line, read from a FIFO, says that the VM is running.
for sig in TERM INT; do
	rm -f "$work/fifo"
	mkfifo "$work/fifo"
	$VMM --kernel "$work/spin.elf" --mem 32M >"$work/fifo" 2>"$work/err" </dev/null &
	pid=$!
	exec 3<"$work/fifo"
	read -r -t 60 line <&3
	kill -s "$sig" "$pid"
	wait "$pid"
	rc=$?
	exec 3<&-
	want=$((128 + $(kill -l "$sig")))
	if [ "$line" = "ok" ] && [ "$rc" -eq "$want" ]; then
		ok "SIG$sig ends the VM with $want"
	else
		bad "SIG$sig" "console '$line', exit status $rc, expected $want"
	fi
done

# --timeout ends a guest that never stops: status 124, one line.
timeout 30 $VMM --kernel "$work/spin.elf" --mem 32M --timeout 1 >"$work/out" 2>"$work/err" </dev/null
rc=$?
# (The guest's boot-time marker adds its own line first.)
if [ "$rc" -eq 124 ] && [ "$(grep -vc 'guest reached init' "$work/err")" -eq 1 ] &&
	[ "$(tail -n 1 "$work/err")" = "vmm: timed out after 1 s" ]; then
	ok "--timeout 1 ends a spinning guest with 124"
else
	bad "--timeout" "exit status $rc, stderr: $(head -c 300 "$work/err")"
fi

if $VMM --help | grep -q -- '--kernel PATH' && $VMM --version | grep -q '^vmm '; then
	ok "help and version"
else
	bad "help and version" "unexpected output"
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
