#!/bin/sh
# The Linux guest's side of `make bench`, run by the test init as
# vmmtest.run=/bench/run.sh from the bench root disk. The host (bench/bench.py)
# reads the "bench: ..." lines on the console and answers on the console's
# input where the guest waits for it, so the same script serves this VMM and
# QEMU.
#
# Kernel command line words it reads:
#   bench.disk=DEV	the raw scratch disk for fio (whole device, O_DIRECT)
#   bench.secs=N	seconds per fio job
#   bench.net=1		serve iperf3 (the host runs the client, both ways)
#
# Lines (one per result, short: every console byte is costly here):
#   bench: fio NAME read_iops=N read_kibs=N write_iops=N write_kibs=N
#   bench: iperf3 ready	  the server listens for the host's next client; after
#			  the last one the host sends a line
#   bench: measure	  idle; the host reads the VMM's memory, then sends a line
#   bench: done
set -u

say() {
	echo "bench: $*"
}

arg() {
	for word in $(cat /proc/cmdline); do
		case $word in
		bench.$1=*) echo "${word#*=}" ;;
		esac
	done
}

disk=$(arg disk)
secs=$(arg secs)
net=$(arg net)
status=0

# The block cases of the test guest's bench scenario, as fio jobs run one
# after the other (stonewall), O_DIRECT on the raw device; io_uring keeps the
# queue depth (psync could not). Threads, not processes, no disk statistics
# and no cache invalidation: kernel work is slow where the guest kernel is
# emulated, and none of it is the device's.
run_fio() {
	fio --minimal --thread --direct=1 --ioengine=io_uring --filename="/dev/$disk" \
		--runtime="$secs" --time_based --norandommap --randrepeat=0 \
		--disk_util=0 --invalidate=0 \
		--name=randread-4k-qd1 --rw=randread --bs=4k --iodepth=1 \
		--name=randread-4k-qd32 --stonewall --rw=randread --bs=4k --iodepth=32 \
		--name=randwrite-4k-qd1 --stonewall --rw=randwrite --bs=4k --iodepth=1 \
		--name=randwrite-4k-qd32 --stonewall --rw=randwrite --bs=4k --iodepth=32 \
		--name=read-1m-qd4 --stonewall --rw=read --bs=1m --iodepth=4 \
		--name=write-1m-qd4 --stonewall --rw=write --bs=1m --iodepth=4
}

if [ -n "$disk" ]; then
	# Terse format v3: field 3 the job, 7/8 read KiB/s and IOPS, 48/49 write.
	if ! run_fio >/tmp/fio.out 2>&1; then
		say "fio failed: $(head -c 300 /tmp/fio.out)"
		status=1
	fi
	awk -F';' 'NF > 49 { printf "bench: fio %s read_iops=%s read_kibs=%s write_iops=%s write_kibs=%s\n", $3, $8, $7, $49, $48 }' /tmp/fio.out
fi

if [ "$net" = 1 ]; then
	# "ready" each time the server listens (it prints that line after
	# listen()), for the host's next client; after the last the host sends
	# a line on the console.
	iperf3 -s --forceflush 2>&1 |
		awk '/listening/ { print "bench: iperf3 ready"; fflush() }' &
	read -r _
	killall iperf3 2>/dev/null
	wait
fi

say measure
read -r _
say done
exit $status
