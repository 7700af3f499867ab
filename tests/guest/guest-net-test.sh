#!/bin/bash
# Guest network tests: the test guest's net scenarios
# (guest/testguest/net_scenarios.c) send and receive real frames through the
# VMM's virtio-net card, twice:
#
#  - on a tap device in a network namespace this script creates (the host end
#    is 192.0.2.1/24, TEST-NET-1, the guest 192.0.2.2), where the host kernel
#    answers ARP, ping and, from a listener this script starts, TCP SYNs; the
#    checksum offloads pass through a tap, so the CSUM and GUEST_CSUM
#    scenarios run here. The hostile group's network scenarios run too.
#  - on user-mode networking (slirp), in the same namespace so that nothing
#    can leave it: its gateway answers ARP and ping, its DHCP server offers
#    10.0.2.15.
#
# Each run must end with status 0, print a PASS (or the expected SKIP) line for
# every scenario and a summary without failures. Needs root (CI runs as root)
# for the namespace and the tap: without them the test fails, it does not
# skip. The namespace goes when the script ends, whatever the way.
set -eu
cd "$(dirname "$0")/../.."
VMM=${VMM:-./vmm}
ELF=${TESTGUEST:-build/guest/testguest.elf}
TIMEOUT=${GUEST_NET_TIMEOUT:-120}
NS=vmmtg-$$
TAP=vmmtg0
HOST_IP=192.0.2.1
GUEST_IP=192.0.2.2
PORT=7777
logs=build/tests/guest-net
mkdir -p "$logs"
rm -f "$logs"/*.log

die() {
	echo "guest-net-test: $*" >&2
	exit 1
}

# The scenarios of each run and what each must print.
NET_ALL="arp dhcp icmp_echo icmp_bad_csum icmp_partial_csum rx_csum_off rx_csum_on
	mrg_rxbuf_small no_mrg_rxbuf tx_split interrupts"
HOSTILE_NET="net_rx_readable net_tx_bad_chains net_tx_loop"
TAP_SKIP="dhcp"                          # no DHCP server behind a tap
USER_SKIP="icmp_partial_csum rx_csum_on" # no offloads on user-mode networking

for f in "$VMM" "$ELF"; do
	[ -e "$f" ] || die "$f missing: run make vmm testguest"
done
[ "$(id -u)" = 0 ] || die "needs root for a network namespace and a tap device"
command -v ip >/dev/null || die "ip missing: apt-get install iproute2"
command -v busybox >/dev/null || die "busybox missing: apt-get install busybox-static (the TCP listener)"
[ -c /dev/net/tun ] || die "/dev/net/tun missing: the tap run needs it"

made_ns=false
# Whatever still runs in the namespace (the listener, an interrupted VMM)
# ends with it.
cleanup() {
	local p
	$made_ns || return 0
	for p in $(ip netns pids "$NS" 2>/dev/null); do
		kill "$p" 2>/dev/null || true
	done
	ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$NS" || die "cannot create network namespace $NS"
made_ns=true
ip -n "$NS" link set lo up || die "cannot bring up lo in $NS"
ip -n "$NS" tuntap add dev "$TAP" mode tap || die "cannot create tap $TAP in $NS"
ip -n "$NS" addr add "$HOST_IP/24" dev "$TAP" || die "cannot address $TAP"
ip -n "$NS" link set "$TAP" up || die "cannot bring up $TAP"
# A listener whose SYN-ACKs leave with a partial checksum when the guest took
# GUEST_CSUM; the guest never completes a handshake, so it listens to the end.
ip netns exec "$NS" busybox nc -l -p "$PORT" </dev/null >/dev/null 2>&1 &

failed=0

# check NAME LOG RC SKIPS SCENARIOS...: status 0, a PASS line for every
# scenario (SKIP for those in SKIPS), no FAIL, the summary adding up.
check() {
	local name=$1 log=$2 rc=$3 skips=$4 s want n_pass=0 n_skip=0
	shift 4
	if [ "$rc" != 0 ]; then
		echo "guest-net-test: FAIL $name: exit status $rc (log: $log)"
		failed=1
	fi
	if grep -q '^tg: FAIL' "$log"; then
		grep '^tg: FAIL' "$log" | sed "s/^/guest-net-test: $name: /"
		failed=1
	fi
	for s in "$@"; do
		want=PASS
		case " $skips " in *" ${s#*.} "*) want=SKIP ;; esac
		if grep -q "^tg: $want $s\\b" "$log"; then
			[ $want = PASS ] && n_pass=$((n_pass + 1)) || n_skip=$((n_skip + 1))
		else
			echo "guest-net-test: FAIL $name: no '$want $s' line (log: $log)"
			failed=1
		fi
	done
	if ! grep -q "^tg: summary: $n_pass passed, 0 failed, $n_skip skipped" "$log"; then
		echo "guest-net-test: FAIL $name: summary is not '$n_pass passed, 0 failed," \
			"$n_skip skipped': $(grep '^tg: summary' "$log" || echo none)"
		failed=1
	fi
	grep -E '^tg: (PASS|SKIP)' "$log" | sed "s/^/  $name: /"
}

# run NAME NETOPT CMDLINE: the VMM in the namespace, its output in the log.
run() {
	local name=$1 netopt=$2 cmdline=$3 log=$logs/$1.log rc=0 t0 t1
	t0=$(date +%s%N)
	ip netns exec "$NS" timeout -k 5 "$TIMEOUT" "$VMM" --kernel "$ELF" --mem 64M \
		--net "$netopt" --cmdline "$cmdline" >"$log" 2>&1 || rc=$?
	t1=$(date +%s%N)
	echo "guest-net-test: $name: exit $rc after $(((t1 - t0) / 1000000)) ms"
	last_rc=$rc
}

net_list() {
	local s
	for s in $NET_ALL; do echo "net.$s"; done
}

hostile_list() {
	local s
	for s in $HOSTILE_NET; do echo "hostile.$s"; done
}

tap_run=net
for s in $HOSTILE_NET; do tap_run=$tap_run,hostile.$s; done
run tap "tap,ifname=$TAP" \
	"tg.run=$tap_run tg.net=tap:$GUEST_IP:$HOST_IP tg.net.port=$PORT"
# shellcheck disable=SC2046 # one word per scenario
check tap "$logs/tap.log" "$last_rc" "$TAP_SKIP" $(net_list) $(hostile_list)

run user user "tg.run=net tg.net=user"
# shellcheck disable=SC2046
check user "$logs/user.log" "$last_rc" "$USER_SKIP" $(net_list)

if [ $failed != 0 ]; then
	echo "guest-net-test: FAILED (logs in $logs)"
	exit 1
fi
echo "guest-net-test: all passed"
