# The freestanding test guest: build/guest/testguest.elf. Included by the top
# Makefile. Every .c and .S in guest/testguest/ is part of it.
#
# Kernel-mode code runs in an emulator on the development machines, so the
# flags keep the code plain: no SSE/x87 (also: no FPU state is set up), no
# red zone (interrupts arrive on the same stack), no stack protector, no
# builtin loops turned into calls to our own memset/memcpy.

TG_DIR	:= guest/testguest
TG_OUT	:= build/guest/testguest
TG_ELF	:= build/guest/testguest.elf
TG_SRCS	:= $(wildcard $(TG_DIR)/*.c $(TG_DIR)/*.S)
TG_OBJS	:= $(patsubst $(TG_DIR)/%,$(TG_OUT)/%.o,$(TG_SRCS))
TG_LDS	:= $(TG_DIR)/tg.ld

TG_CC	?= gcc
TG_CFLAGS := -std=gnu11 -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-mno-sse -mno-mmx -mno-80387 -fno-stack-protector -fcf-protection=none \
	-fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns -fno-strict-aliasing \
	-O2 -g -Wall -Wextra -Werror -I$(TG_DIR) -MMD -MP
TG_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(TG_LDS) -Wl,--build-id=none \
	-Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments
# Debian's libfdt-dev; built without SSE, but with the stack protector (entry.S).
TG_LIBFDT ?= /usr/lib/x86_64-linux-gnu/libfdt.a

.PHONY: testguest testguest-clean guest
testguest: $(TG_ELF)
guest: $(TG_ELF)

testguest-clean:
	rm -rf $(TG_OUT) $(TG_ELF)

$(TG_ELF): $(TG_OBJS) $(TG_LDS) $(TG_LIBFDT)
	$(TG_CC) $(TG_CFLAGS) $(TG_LDFLAGS) -o $@ $(TG_OBJS) $(TG_LIBFDT) -lgcc

$(TG_OUT)/%.c.o: $(TG_DIR)/%.c
	@mkdir -p $(@D)
	$(TG_CC) $(TG_CFLAGS) -c -o $@ $<

$(TG_OUT)/%.S.o: $(TG_DIR)/%.S
	@mkdir -p $(@D)
	$(TG_CC) $(TG_CFLAGS) -c -o $@ $<

-include $(TG_OBJS:.o=.d)

# The test guest's scenarios under ./vmm, and the blk ones under QEMU microvm
# (skipped when QEMU is not installed).
.PHONY: guest-test guest-qemu-test
guest-test: vmm $(TG_ELF)
	tests/guest/guest-test.sh

# The test guest's net scenarios on a tap in a namespace of their own and on
# user-mode networking (needs root, as CI has).
.PHONY: guest-net-test
guest-net-test: vmm $(TG_ELF)
	tests/guest/guest-net-test.sh

# The same scenarios, block, hostile and net, under the VMM built with ASan
# and UBSan: a guest-triggered bug that the normal build survives fails here.
# Without seccomp: LeakSanitizer stops the threads at exit with clone and
# ptrace, which no filter allows (the normal build's runs have the filters).
build/vmm-asan-run: $(VMM_ASAN)
	printf '#!/bin/sh\nexec %s --no-seccomp "$$@"\n' "$(abspath $(VMM_ASAN))" >$@
	chmod +x $@

.PHONY: guest-asan-test
guest-asan-test: build/vmm-asan-run $(TG_ELF)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		VMM=build/vmm-asan-run tests/guest/guest-test.sh
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		VMM=build/vmm-asan-run tests/guest/guest-net-test.sh

# Host faults under a running test guest: a full file system, closed stdin
# and stdout, SIGTERM during writes (needs root, as CI has).
.PHONY: fault-test
fault-test: vmm $(TG_ELF)
	tests/guest/fault-test.sh

guest-qemu-test: $(TG_ELF)
	tests/guest/qemu-test.sh
