# make bench: this VMM against QEMU microvm (bench/bench.py says what runs).
# Included by the top Makefile; paths are relative to the repo root. Needs
# root (a network namespace with a tap) and installs its own packages.

BENCH_OUT	:= build/bench
BENCH_PACKAGES	:= qemu-system-x86 iperf3 gnuplot-nox python3
BENCH_ROOTFS_SIZE := 64M

.PHONY: bench bench-deps

bench: deps bench-deps
	$(MAKE) vmm guest guest-kernel testguest $(BENCH_OUT)/root.img $(BENCH_OUT)/netpeer
	python3 bench/bench.py

bench-deps:
	@$(MAKE) -s deps DEBIAN_PACKAGES="$(BENCH_PACKAGES)"

# The host's end of the network cases (bench/netpeer.c says what it does).
$(BENCH_OUT)/netpeer: bench/netpeer.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<

# fio built static from Debian's source: the packaged one loads 60 libraries.
$(BENCH_OUT)/fio: bench/build-fio.sh
	bench/build-fio.sh $@

# The Linux guest's root disk for the benchmarks: the test guest's, plus fio,
# iperf3 and bench/guest-bench.sh as /bench/run.sh.
$(BENCH_OUT)/root.img: bench/mkbenchtree.sh bench/guest-bench.sh guest/mkrootfs.sh \
		$(GUEST_INIT) $(BENCH_OUT)/fio
	bench/mkbenchtree.sh $(BENCH_OUT)/tree $(BENCH_OUT)/fio
	EXTRA_DIR=$(BENCH_OUT)/tree BUSYBOX=$(GUEST_BUSYBOX) ROOTFS_SIZE=$(BENCH_ROOTFS_SIZE) \
		sh guest/mkrootfs.sh $@ $(GUEST_INIT)
