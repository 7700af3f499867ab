#!/bin/bash
# Boot tests: real Linux guests (build/guest/vmlinux and bzImage) with the
# test init, each boot checking several things since one costs ~50 s on the
# emulated KVM of the CI machines. The guest init prints one
# "vmmtest: PASS/FAIL" line per check and ends the VM; this script checks the
# VMM's exit status, what the guest printed and, for the virtio-blk boots,
# the disk images the guest wrote. Boots run two at a time.
#
# The two disk boots carry a network card each, in a network namespace of
# their own that this script creates and removes (so no traffic leaves it):
# one on a tap device (192.0.2.0/24, TEST-NET-1), the other on user-mode
# networking (slirp, restricted, one port forwarded from the namespace's
# 127.0.0.1). build/guest/netpattern is the host end of the TCP exchanges.
# They need root (CI runs as root): without network namespaces or
# /dev/net/tun the test fails, it does not skip.
set -eu
cd "$(dirname "$0")/../.."
VMM=./vmm
K=build/guest
INITRD=$K/initramfs.cpio
ROOTFS=$K/rootfs.img
DISKPATTERN=$K/diskpattern
NETPATTERN=$K/netpattern
# Bytes each way in the TCP exchanges: a few MiB, ~15-35 s each way here.
NET_BYTES=${NET_BYTES:-4194304}
TIMEOUT=${BOOT_TIMEOUT:-600}
PARALLEL=2
logs=build/tests/boot
mkdir -p "$logs"
rm -f "$logs"/*.log "$logs"/*.rc "$logs"/*.txt

die() {
	echo "boot-test: $*" >&2
	exit 1
}

for f in $VMM $K/vmlinux $K/bzImage $INITRD $ROOTFS $DISKPATTERN $NETPATTERN; do
	[ -e "$f" ] || die "$f missing: run make vmm guest guest-kernel"
done
command -v ip >/dev/null || die "ip missing: apt-get install iproute2 (the net boots need it)"
[ -c /dev/net/tun ] || die "/dev/net/tun missing: the net boots need tap devices"
# Disk images for the virtio-blk boots, one folder per boot.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-boot-test.XXXXXX")
namespaces=() # the network namespaces this run made
# Whatever still runs in our namespaces (a server, an interrupted VMM) ends
# with them.
cleanup() {
	local ns p
	for ns in ${namespaces[@]+"${namespaces[@]}"}; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$p" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

running=() # the boots (background subshells) still running
jobs_to_wait=() # every boot and the helpers that end with one

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
# a slot is free, log in $logs/NAME.log, exit status in $logs/NAME.rc. In
# network namespace $boot_netns if a caller (boot_in) set it.
boot_from() {
	local input=$1 name=$2
	shift 2
	wait_for_slot
	: >"$logs/$name.log"
	(
		rc=0
		${boot_netns:+ip netns exec "$boot_netns"} \
			timeout -k 10 "$TIMEOUT" $VMM "$@" <"$input" >"$logs/$name.log" 2>&1 || rc=$?
		echo $rc >"$logs/$name.rc"
	) &
	running+=($!)
	jobs_to_wait+=($!)
}

# boot_exec NAME DIR INPUT ARGS...: a run-mode boot (--exec in ARGS) started
# in DIR with stdin from the file INPUT, its stdout in $logs/NAME.out, stderr
# in .err, exit status in .rc. INPUT "tty": on a terminal of its own (a pty
# from script(1), which takes stdout and stderr both).
boot_exec() {
	local name=$1 dir=$2 input=$3 vmm out
	shift 3
	vmm=$(realpath $VMM)
	out=$(realpath "$logs")/$name # the logs' path is relative to where we are now
	wait_for_slot
	(
		rc=0
		cd "$dir" || exit 1
		if [ "$input" = tty ]; then
			timeout -k 10 "$TIMEOUT" script -qec "$(printf '%q ' "$vmm" "$@")" /dev/null \
				</dev/null >"$out.out" 2>"$out.err" || rc=$?
		else
			timeout -k 10 "$TIMEOUT" "$vmm" "$@" <"$input" >"$out.out" 2>"$out.err" || rc=$?
		fi
		echo $rc >"$out.rc"
	) &
	running+=($!)
	jobs_to_wait+=($!)
}

# boot NAME ARGS...: a boot with no console input.
boot() {
	boot_from /dev/null "$@"
}

# boot_in NETNS NAME ARGS...: a boot in a network namespace.
boot_in() {
	local boot_netns=$1
	shift
	boot "$@"
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
	jobs_to_wait+=($!)
}

# seccomp_watch NAME: once boot NAME's guest reports its first check (its
# devices are probed and running), the Seccomp line of every thread of its
# VMM, "THREAD-NAME MODE" each, into $logs/NAME.seccomp.
seccomp_watch() {
	local name=$1 job=${running[-1]} # the boot, whatever ran since

	(
		tail -n +1 -f --pid="$job" "$logs/$name.log" | grep -q -m1 'vmmtest: PASS'
		pid=$(pgrep -f "^[^ ]*vmm .*$tmp/$name/root.img" | head -n 1)
		for task in /proc/$pid/task/*; do
			echo "$(cat "$task/comm") $(awk '/^Seccomp:/ { print $2 }' "$task/status")"
		done
	) >"$logs/$name.seccomp" 2>&1 &
	jobs_to_wait+=($!)
}

# check_seccomp NAME MIN: at least MIN threads were seen, every one in mode 2 (filter).
check_seccomp() {
	local name=$1 min=$2 n bad
	n=$(wc -l <"$logs/$name.seccomp")
	bad=$(awk '$NF != 2' "$logs/$name.seccomp" | tr '\n' ' ')
	if [ "$n" -ge "$min" ] && [ -z "$bad" ]; then
		ok "$name: all $n threads under seccomp ($(awk '{ print $1 }' "$logs/$name.seccomp" |
			sort | uniq -c | awk '{ printf "%s%s x%s", s, $2, $1; s = ", " }'))"
	else
		not_ok "$name: $n threads (at least $min expected), not filtered: ${bad:-none}"
	fi
}

# new_netns NAME: a network namespace with its loopback up, removed on exit.
new_netns() {
	ip netns add "$1" || die "cannot create network namespace $1 (the net boots need root)"
	namespaces+=("$1")
	ip -n "$1" link set lo up
}

declare -A server_job # server name: the subshell that records its status

# start_server NAME NETNS ARGS...: `netpattern serve ARGS` in NETNS in the
# background, output in $logs/NAME.txt, exit status in $logs/NAME.rc;
# returns once it listens.
start_server() {
	local name=$1 ns=$2 out=$logs/$1.txt
	shift 2
	: >"$out"
	(
		rc=0
		ip netns exec "$ns" $NETPATTERN serve "$@" >"$out" 2>&1 || rc=$?
		echo $rc >"$logs/$name.rc"
	) &
	server_job[$name]=$!
	# Not a pipeline: bash would wait for tail, which outlives grep.
	grep -q -m1 '^netpattern: listening on ' < <(tail -n +1 -f --pid=$! "$out") ||
		die "$name: netpattern serve did not start: $(cat "$out")"
}

# stop_server NAME: end server NAME if it still runs (netpattern then says
# whether a client came) and wait until it has.
stop_server() {
	local pid
	pid=$(sed -n 's/^netpattern: listening on .*, pid \([0-9]*\)$/\1/p' "$logs/$1.txt")
	[ -s "$logs/$1.rc" ] || kill "$pid" 2>/dev/null || true
	# Already reaped (by wait -n in wait_for_slot) if it ended early.
	wait "${server_job[$1]}" 2>/dev/null || true
}

# client_when_listening NAME NETNS GUESTPORT ADDR PORT: right after boot NAME
# started, in the background: once its guest says it listens on GUESTPORT,
# run `netpattern client ADDR PORT $NET_BYTES` in NETNS; output in
# $logs/NAME-client.txt, exit status in $logs/NAME-client.rc.
client_when_listening() {
	local name=$1 ns=$2 gport=$3 addr=$4 port=$5 vmm_job=$!
	(
		grep -q -m1 "vmmtest: listening on $gport" \
			< <(tail -n +1 -f --pid="$vmm_job" "$logs/$name.log") || exit 0
		rc=0
		ip netns exec "$ns" $NETPATTERN client "$addr" "$port" "$NET_BYTES" \
			>"$logs/$name-client.txt" 2>&1 || rc=$?
		echo $rc >"$logs/$name-client.rc"
	) &
	jobs_to_wait+=($!)
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
		grep -q "^vmmtest: PASS $c\(: .*\)\?\$" "$log" || why="${why:+$why; }no PASS $c"
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
	# A host directory for --share: the guest reads host-file, writes guest-file
	# and makes guest-dir (vmmtest.share=TAG:$SHARE_TEXT).
	mkdir -p "$d/share"
	printf '%s\n' "$SHARE_TEXT" >"$d/share/host-file"
}
SHARE_TEXT=written-on-the-host
# shared_back NAME: what boot NAME's guest wrote into its share arrived, byte for byte.
shared_back() {
	[ "$(cat "$tmp/$1/share/guest-file")" = "written in the guest" ] && [ -d "$tmp/$1/share/guest-dir" ]
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

# The "N bytes fnv1a=X" that FILE1 has after PREFIX1 and FILE2 after PREFIX2:
# the same, and there.
same_sum() {
	local a b
	a=$(sed -n "s/^$2 \([0-9]* bytes fnv1a=[0-9a-f]*\) .*/\1/p" "$1")
	b=$(sed -n "s/^$4 \([0-9]* bytes fnv1a=[0-9a-f]*\) .*/\1/p" "$3")
	echo "$1: ${a:-nothing}; $3: ${b:-nothing}"
	[ -n "$a" ] && [ "$a" = "$b" ]
}
# Host tool NAME ended with status 0 (its output shown if not).
tool_ok() {
	cat "$logs/$1.txt"
	[ "$(cat "$logs/$1.rc" 2>/dev/null)" = 0 ]
}
# tool_said NAME REGEX: host tool NAME printed a line matching REGEX.
tool_said() {
	cat "$logs/$1.txt"
	grep -q "$2" "$logs/$1.txt"
}
# check_exchange NAME WHAT TOOL: the guest of boot NAME (its vmmtest.WHAT=)
# and host tool TOOL both completed the TCP exchange, and each received
# exactly what the other sent: both print the checksum of each direction.
check_exchange() {
	local name=$1 what=$2 tool=$3 g=$logs/$1.txt h=$logs/$3.txt
	host_check "$name" "host end of the $what exchange completed" tool_ok "$tool"
	host_check "$name" "the host received what the guest sent" \
		same_sum "$g" "vmmtest: $what: sent" "$h" "netpattern: received"
	host_check "$name" "the guest received what the host sent" \
		same_sum "$g" "vmmtest: $what: received" "$h" "netpattern: sent"
}

# The net boots' namespaces and host ends, before any boot starts: a host
# that cannot make them fails here, without VMs left running. The tap boot's
# namespace has the tap, the host end 192.0.2.1 on it and a server there;
# the user-mode boot's has only lo, with a listener the guest must not reach.
ns_tap=vmmtest-$$-tap
new_netns "$ns_tap"
ip -n "$ns_tap" tuntap add dev vmmtap0 mode tap
ip -n "$ns_tap" addr add 192.0.2.1/24 dev vmmtap0
ip -n "$ns_tap" link set vmmtap0 up
start_server disk-dt-server "$ns_tap" --bind 192.0.2.1 --port 5001 --bytes "$NET_BYTES"
ns_user=vmmtest-$$-user
new_netns "$ns_user"
start_server disk-mptable-listener "$ns_user" --bind 127.0.0.1 --port 5002 --bytes 1

common="--initrd $INITRD --mem 128M"
quiet="quiet"

# The longest boot first (its decompressor alone takes minutes here), so the
# others run beside it. The compressed bzImage; the guest reboots, which the
# VMM reports as a reset.
boot bzimage-reboot --kernel $K/bzImage $common \
	--cmdline "$quiet vmmtest.klog=1 vmmtest.dt=1 vmmtest.cpus=1 vmmtest.reboot=1"
# Device tree, 1 vCPU, ELF vmlinux, ends through the test-exit device after
# a shell has run what the host typed on the console (UART receive path).
boot_typing vmlinux-dt 'echo typed-$((6 * 7))
exit
' --kernel $K/vmlinux $common \
	--cmdline "$quiet vmmtest.klog=1 vmmtest.dt=1 vmmtest.cpus=1 vmmtest.mem_mb=128 vmmtest.shell=1"
# virtio-blk, devices from the device tree: root on the first disk (no
# --initrd, no root=: the VMM adds root=/dev/vda rw), the pattern on the
# second, the third read-only. Ends through the test-exit device with 0.
# Also a network card on a tap device, in a namespace where the host end is
# 192.0.2.1 and a netpattern server waits: the kernel gives the guest its
# address (ip=), the guest pings the host and runs the TCP exchange with the
# server. A MAC and MTU of our choosing. And a host directory over virtio-9p
# (--share, a tag of our own): read in the guest, written back.
make_disks disk-dt
TAP_MAC=02:76:6d:74:61:70
boot_in "$ns_tap" disk-dt --kernel $K/vmlinux --mem 128M \
	--disk "$tmp/disk-dt/root.img,serial=vmm-root-dt" \
	--disk "$tmp/disk-dt/data.img" --disk "$tmp/disk-dt/ro.img,ro" \
	--net tap,ifname=vmmtap0,mac=$TAP_MAC,mtu=1400 --share "$tmp/disk-dt/share,tag=dtshare" \
	--cmdline "$quiet vmmtest.klog=1 vmmtest.share=dtshare:$SHARE_TEXT vmmtest.dt=1 vmmtest.cpus=1 \
	vmmtest.mem_mb=128 vmmtest.queues=vda:1 \
	$(disk_cmdline vmm-root-dt) ip=192.0.2.2::192.0.2.1:255.255.255.0::eth0:off \
	vmmtest.ip=eth0:192.0.2.2/24 vmmtest.mac=eth0:$TAP_MAC vmmtest.mtu=eth0:1400 \
	vmmtest.ping=192.0.2.1 vmmtest.tcp=192.0.2.1:5001:$NET_BYTES"
seccomp_watch disk-dt
# The same with the MP table (the devices come as virtio_mmio.device= on the
# command line), notifies and interrupts through plain exits instead of
# ioeventfd/irqfd, and the data disk served by plain preadv/pwritev. The
# guest chooses exit status 3 (its checks must still all pass). Two vCPUs:
# two request queues per disk, each with its worker.
# Its network card is user-mode, restricted, with the default MAC and MTU:
# the guest gets 10.0.2.15 by DHCP, must not reach the host's 127.0.0.1:5002
# as 10.0.2.2:5002 (a listener there must see no connection), and serves
# the TCP exchange on port 7001 to a host client on the forward 127.0.0.1:6001.
# Its share has the default tag, share0, found through the MP-table path.
make_disks disk-mptable
boot_in "$ns_user" disk-mptable --kernel $K/vmlinux --mem 128M --mptable --no-eventfd --cpus 2 \
	--disk "$tmp/disk-mptable/root.img,serial=vmm-root-mp" \
	--disk "$tmp/disk-mptable/data.img,io=sync" --disk "$tmp/disk-mptable/ro.img,ro" \
	--net user,restrict=on,hostfwd=tcp:127.0.0.1:6001-:7001 --share "$tmp/disk-mptable/share" \
	--cmdline "$quiet vmmtest.klog=1 vmmtest.share=share0:$SHARE_TEXT vmmtest.dt=0 vmmtest.cpus=2 vmmtest.queues=vda:2 vmmtest.exit=3 \
	$(disk_cmdline vmm-root-mp) ip=dhcp vmmtest.ip=eth0:10.0.2.15/24 \
	vmmtest.mac=eth0:02:76:6d:00:00:00 vmmtest.mtu=eth0:1500 \
	vmmtest.unreachable=10.0.2.2:5002 vmmtest.serve=7001:$NET_BYTES"
client_when_listening disk-mptable "$ns_user" 7001 127.0.0.1 6001 # takes $!: first
seccomp_watch disk-mptable
# Run mode: the host's / read-only as the guest's root, the current
# directory read-write at its path, one --rwdir more. The command's output
# must be exactly what it printed (no kernel messages, no CRs), its status
# the VMM's, its files on the host; its piped stdin (a ^C byte and no
# newline at the end included) must reach it byte for byte and end. A
# timeout ends the second with 124; the third runs on a terminal, which
# must be an interactive one (canonical, echo, signals; CR-LF line ends).
mkdir -p "$tmp/exec/cwd" "$tmp/exec/extra" "$tmp/exec-timeout" "$tmp/exec-tty"
printf 'piped\n\003in\tput' >"$tmp/exec/stdin"
EXEC_CMD='cksum; echo hi > out; uname -r; touch /etc/vmm-exec-test 2>/dev/null || echo root-read-only
echo t > /tmp/t && cat /tmp/t; echo extra > '"$tmp/exec/extra"'/file; pwd; exit 7'
boot_exec exec "$tmp/exec/cwd" "$tmp/exec/stdin" --kernel "$(realpath $K/vmlinux)" --mem 128M \
	--rwdir "$tmp/exec/extra" --exec "$EXEC_CMD"
boot_exec exec-timeout "$tmp/exec-timeout" /dev/null --kernel "$(realpath $K/vmlinux)" --mem 128M \
	--timeout 240 --exec 'echo started; sleep 1000'
boot_exec exec-tty "$tmp/exec-tty" tty --kernel "$(realpath $K/vmlinux)" --mem 128M \
	--exec 'stty -a | tr " ;" "\n\n" | grep -x -e isig -e icanon -e echo; tty; exit 3'
# Two vCPUs from the device tree; the guest powers off (syscon-poweroff).
boot smp2-poweroff --kernel $K/vmlinux $common --cpus 2 \
	--cmdline "$quiet vmmtest.klog=1 vmmtest.dt=1 vmmtest.cpus=2 vmmtest.poweroff=1"
# Not a plain wait: the servers may still be waiting for a client.
for job in "${jobs_to_wait[@]}"; do
	wait "$job" 2>/dev/null || true
done
stop_server disk-dt-server
stop_server disk-mptable-listener

expect vmlinux-dt 0 setup cmdline devicetree kernel-log cpus mem uname
# The guest shell computed 42: the typed line arrived through the UART.
if grep -q 'typed-42' "$logs/vmlinux-dt.txt"; then
	ok "console input reaches the guest shell"
else
	not_ok "console input: no typed-42 in $logs/vmlinux-dt.log"
fi
disk_checks="setup cmdline devicetree kernel-log cpus root serial disk-size write-cache pattern discard"
disk_checks="$disk_checks write-zeroes ro"
expect disk-dt 0 $disk_checks mem queues ip mac mtu ping tcp share
check_disks disk-dt
host_check disk-dt "the guest's file and directory reached the host through the share" \
	shared_back disk-dt
# main, vcpu0, a blk-uring worker per disk, the net-tap worker, the p9 worker, the spawner.
check_seccomp disk-dt 8
check_exchange disk-dt tcp disk-dt-server
host_check disk-dt "the host's server talked to the guest's address" \
	tool_said disk-dt-server '^netpattern: client 192\.0\.2\.2:'
expect disk-mptable 3 $disk_checks queues ip mac mtu unreachable serve share
check_disks disk-mptable
host_check disk-mptable "the guest's file and directory reached the host through the share" \
	shared_back disk-mptable
# main, two vCPUs, two workers per disk (blk-uring, and blk-sync for the data disk), net-user,
# p9, the spawner.
check_seccomp disk-mptable 12
check_exchange disk-mptable serve disk-mptable-client
host_check disk-mptable "no connection reached the host's 127.0.0.1:5002 (restrict=on)" \
	tool_said disk-mptable-listener '^netpattern: stopped, no client$'
expect smp2-poweroff 0 setup devicetree kernel-log cpus
expect bzimage-reboot 2 setup devicetree kernel-log
if grep -q "vmm: guest reset" "$logs/bzimage-reboot.log"; then
	ok "reboot reported as a reset"
else
	not_ok "reboot not reported as a reset"
fi

# exec_output: what the run-mode boot printed, byte for byte.
exec_output() {
	printf '%s\n%s\nroot-read-only\nt\n%s\n' "$(cksum <"$tmp/exec/stdin")" "$(kernel_release)" \
		"$tmp/exec/cwd" | cmp - "$logs/exec.out"
}
# exec_tty_output: the terminal's settings and name, each line ended by CR-LF.
exec_tty_output() {
	printf 'isig\r\nicanon\r\necho\r\n/dev/ttyS0\r\n' | cmp - "$logs/exec-tty.out"
}
kernel_release() { strings $K/vmlinux | sed -n 's/^Linux version \([^ ]*\) .*/\1/p' | head -n 1; }
host_check exec "exit status 7, the command's own" test "$(cat "$logs/exec.rc")" = 7
host_check exec "stdout is the command's output only; the piped stdin reached it whole" \
	exec_output
host_check exec "out and the --rwdir file written on the host" \
	test "$(cat "$tmp/exec/cwd/out")/$(cat "$tmp/exec/extra/file")" = hi/extra
host_check exec-tty "on a terminal: exit status 3, the command's own" \
	test "$(cat "$logs/exec-tty.rc")" = 3
host_check exec-tty "on a terminal: an interactive one, CR-LF line ends" exec_tty_output
host_check exec-timeout "--timeout: status 124 after the command started, one line" \
	test "$(cat "$logs/exec-timeout.rc"):$(cat "$logs/exec-timeout.out"):$(cat "$logs/exec-timeout.err")" \
	= "124:started:vmm: timed out after 240 s"

echo "boot: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
