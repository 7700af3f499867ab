# vmm: a small KVM hypervisor. See README.md for the two commands that matter.

CC       ?= gcc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -MMD -MP
LDLIBS   += -lfdt -luring -lslirp -lseccomp -lpthread
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Debian packages for building, testing and the guest (installed by `make deps`).
DEBIAN_PACKAGES := make gcc clang libclang-rt-14-dev libc6-dev pkg-config libfdt-dev device-tree-compiler check \
	musl-tools busybox-static cpio linux-source-6.1 xz-utils flex bison bc libelf-dev \
	libssl-dev util-linux liburing-dev e2fsprogs patch \
	libslirp-dev libseccomp-dev iproute2

# Everything but the composition root (machine/main.c), which only ./vmm links.
VMM_SRCS := core/cli.c core/options.c core/error.c core/log.c core/files.c core/memory.c \
	core/loader.c core/boot.c core/fdt.c core/mptable.c core/vm.c core/vcpu.c core/console.c \
	core/sandbox.c core/stats.c core/vcpu_stats.c core/trace.c core/api.c core/json.c \
	devices/mmio/bus.c devices/mmio/virtio_mmio.c devices/legacy/uart.c \
	devices/legacy/platform.c devices/virtio/virtqueue.c devices/virtio/virtio.c \
	devices/virtio/blk.c devices/virtio/disk.c devices/virtio/disk_sync.c \
	devices/virtio/disk_uring.c devices/virtio/disk_io.c devices/virtio/iov.c devices/virtio/p9.c \
	devices/virtio/virtio_9p.c \
	devices/virtio/net.c devices/virtio/net_tap.c devices/virtio/net_user.c
# Guest-side virtio code of the test guest, also unit-tested on the host.
TG_HOST_SRCS := guest/testguest/virtio_ring.c guest/testguest/virtio.c
UNIT_SRCS := $(wildcard tests/unit/*.c) $(TG_HOST_SRCS)

VMM_OBJS  := $(VMM_SRCS:%.c=build/obj/%.o)
ASAN_OBJS := $(VMM_SRCS:%.c=build/asan/%.o) $(UNIT_SRCS:%.c=build/asan/%.o)
UNIT_BIN  := build/tests/unit-tests
# The VMM itself under ASan and UBSan, for the test guest's device and hostile scenarios.
VMM_ASAN  := build/vmm-asan

.PHONY: all check unit-test cli-test boot-test layers-test guest-kernel run deps deps-check \
	deps-list clean format

all: vmm

# The composition root: main.c, run mode, and run mode's init carried inside.
ROOT_OBJS = $(1)/machine/main.o $(1)/machine/run.o $(1)/machine/observe.o $(1)/machine/run_init.o

vmm: $(call ROOT_OBJS,build/obj) $(VMM_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/obj/machine/run_init.o build/asan/machine/run_init.o: machine/run_init.S build/guest/run-init
	@mkdir -p $(@D)
	$(CC) -c -o $@ $<

build/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

build/asan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) $(shell pkg-config --cflags check) -c -o $@ $<

$(VMM_ASAN): $(call ROOT_OBJS,build/asan) $(VMM_SRCS:%.c=build/asan/%.o)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT_BIN): $(ASAN_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check)

include guest/guest.mk
include guest/testguest/testguest.mk
include bench/bench.mk
include tests/fuzz/fuzz.mk

# The guest kernel: rebuilt only when kernel-config/ changes (the script caches).
guest-kernel:
	kernel-config/build.sh build/guest

deps-list:
	@echo $(DEBIAN_PACKAGES)

# The Debian packages of DEBIAN_PACKAGES that are not installed.
MISSING_PACKAGES = $$(for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	done)

# Install the Debian packages that are missing (with sudo when not root).
deps:
	@missing=$(MISSING_PACKAGES); \
	if [ -n "$$missing" ]; then \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		echo "installing:" $$missing; \
		$$sudo apt-get update -q && $$sudo apt-get install -y -q $$missing; \
	fi

# What check and run need first; they install nothing themselves.
deps-check:
	@missing=$(MISSING_PACKAGES); \
	if [ -n "$$missing" ]; then \
		echo "missing Debian packages:" $$missing "(make deps installs them)"; exit 1; \
	fi

unit-test: $(UNIT_BIN)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 CK_VERBOSITY=normal ./$(UNIT_BIN)

cli-test: vmm guest
	tests/cli/cli-test.sh
	tests/cli/observe-test.sh

boot-test: vmm guest guest-kernel
	tests/boot/boot-test.sh

# README's layering, over the #include lines, and proof that the check bites.
layers-test:
	tests/layers/check-includes.sh
	tests/layers/check-includes.sh --self-test

# Every test: the layering, unit tests under ASan/UBSan, the command-line
# cases, the test guest's scenarios (again under a VMM built with ASan and
# UBSan, and the same guest under QEMU, when installed), then boots.
check: deps-check
	$(MAKE) layers-test
	$(MAKE) unit-test
	$(MAKE) cli-test
	$(MAKE) guest-test
	$(MAKE) guest-net-test
	$(MAKE) guest-asan-test
	$(MAKE) fault-test
	$(MAKE) guest-qemu-test
	$(MAKE) boot-test

# The main job: build everything, then boot the guest kernel with the test init
# from the root disk (virtio-blk; the VMM adds root=/dev/vda rw). The guest
# writes to the image and leaves it clean (remounted read-only) at the end.
run: deps-check
	$(MAKE) vmm guest guest-kernel
	./vmm --kernel build/guest/vmlinux --disk build/guest/rootfs.img,serial=vmm-root \
		--mem 128M --cmdline "quiet vmmtest.mem_mb=128 vmmtest.dt=1 vmmtest.cpus=1 \
		vmmtest.root=vda vmmtest.serial=vda:vmm-root"

format:
	clang-format -i $(VMM_SRCS) machine/*.c machine/*.h $(UNIT_SRCS) \
		$(wildcard core/*.h devices/*.h devices/*/*.h) \
		$(wildcard guest/testguest/*.c guest/testguest/*.h)

clean:
	rm -rf build/obj build/asan build/tests vmm

-include $(shell find build/obj build/asan -name '*.d' 2>/dev/null)
