# Test guest: a static init, the initramfs that carries it, the root disk
# image that carries it too, and host tools for the disk and network checks.
# Included by the top Makefile; paths are relative to the repo root.
#
# Needs musl-tools (musl-gcc), busybox-static, cpio and e2fsprogs.

GUEST_OUT	:= build/guest
GUEST_INIT	:= $(GUEST_OUT)/init
GUEST_INITRAMFS	:= $(GUEST_OUT)/initramfs.cpio
GUEST_INITRAMFS_GZ := $(GUEST_OUT)/initramfs.cpio.gz
GUEST_ROOTFS	:= $(GUEST_OUT)/rootfs.img
GUEST_DISKPATTERN := $(GUEST_OUT)/diskpattern
GUEST_NETPATTERN := $(GUEST_OUT)/netpattern
GUEST_INIT_SRCS	:= guest/init.c guest/netcheck.c

GUEST_CC	?= musl-gcc
GUEST_CFLAGS	?= -std=gnu11 -Wall -Wextra -Werror -Os
GUEST_LDFLAGS	?= -static -s
GUEST_BUSYBOX	?= /bin/busybox
GUEST_ROOTFS_SIZE ?= 16M

# Run mode's PID 1 (--exec), linked into ./vmm itself (machine/run_init.S).
build/guest/run-init: guest/run-init.c guest/vmm-guest-abi.h
	@command -v $(GUEST_CC) >/dev/null || \
		{ echo "guest: $(GUEST_CC) not found: apt-get install musl-tools" >&2; exit 1; }
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ guest/run-init.c

.PHONY: guest guest-clean

guest: $(GUEST_INITRAMFS) $(GUEST_INITRAMFS_GZ) $(GUEST_ROOTFS) $(GUEST_DISKPATTERN) \
	$(GUEST_NETPATTERN)

$(GUEST_INIT): $(GUEST_INIT_SRCS) guest/vmm-guest-abi.h guest/diskpattern.h guest/netcheck.h \
		guest/netpattern.h
	@command -v $(GUEST_CC) >/dev/null || \
		{ echo "guest: $(GUEST_CC) not found: apt-get install musl-tools" >&2; exit 1; }
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(GUEST_INIT_SRCS)

# One run makes both files (grouped target). busybox is a prerequisite only
# if present, so that a missing one reaches the script's clear message.
$(GUEST_INITRAMFS) $(GUEST_INITRAMFS_GZ) &: guest/mkinitramfs.sh $(GUEST_INIT) \
		$(wildcard $(GUEST_BUSYBOX))
	BUSYBOX=$(GUEST_BUSYBOX) sh guest/mkinitramfs.sh $(GUEST_OUT) $(GUEST_INIT)

# The root disk (ext4, for --disk; the VMM adds root=/dev/vda). Booting it
# read-write changes it; tests boot copies.
$(GUEST_ROOTFS): guest/mkrootfs.sh $(GUEST_INIT) $(wildcard $(GUEST_BUSYBOX))
	BUSYBOX=$(GUEST_BUSYBOX) ROOTFS_SIZE=$(GUEST_ROOTFS_SIZE) \
		sh guest/mkrootfs.sh $@ $(GUEST_INIT)

# Runs on the host: writes the pattern the guest's vmmtest.pattern= leaves
# on a disk, for the boot test to compare.
$(GUEST_DISKPATTERN): guest/diskpattern.c guest/diskpattern.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 -o $@ $<

# Runs on the host: the other end of the guest's vmmtest.tcp= and
# vmmtest.serve= (the same pattern and exchange, netpattern.h).
$(GUEST_NETPATTERN): guest/netpattern.c guest/netpattern.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 -o $@ $<

guest-clean:
	rm -f $(GUEST_INIT) $(GUEST_INITRAMFS) $(GUEST_INITRAMFS_GZ) $(GUEST_ROOTFS) \
		$(GUEST_DISKPATTERN) $(GUEST_NETPATTERN)
