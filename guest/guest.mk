# Test guest: a static init and the initramfs that carries it.
# Included by the top Makefile; paths are relative to the repo root.
#
# Needs musl-tools (musl-gcc), busybox-static and cpio.

GUEST_OUT	:= build/guest
GUEST_INIT	:= $(GUEST_OUT)/init
GUEST_INITRAMFS	:= $(GUEST_OUT)/initramfs.cpio
GUEST_INITRAMFS_GZ := $(GUEST_OUT)/initramfs.cpio.gz

GUEST_CC	?= musl-gcc
GUEST_CFLAGS	?= -std=gnu11 -Wall -Wextra -Werror -Os
GUEST_LDFLAGS	?= -static -s
GUEST_BUSYBOX	?= /bin/busybox

.PHONY: guest guest-clean

guest: $(GUEST_INITRAMFS) $(GUEST_INITRAMFS_GZ)

$(GUEST_INIT): guest/init.c guest/vmm-guest-abi.h
	@command -v $(GUEST_CC) >/dev/null || \
		{ echo "guest: $(GUEST_CC) not found: apt-get install musl-tools" >&2; exit 1; }
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $<

# One run makes both files (grouped target). busybox is a prerequisite only
# if present, so that a missing one reaches the script's clear message.
$(GUEST_INITRAMFS) $(GUEST_INITRAMFS_GZ) &: guest/mkinitramfs.sh $(GUEST_INIT) \
		$(wildcard $(GUEST_BUSYBOX))
	BUSYBOX=$(GUEST_BUSYBOX) sh guest/mkinitramfs.sh $(GUEST_OUT) $(GUEST_INIT)

guest-clean:
	rm -f $(GUEST_INIT) $(GUEST_INITRAMFS) $(GUEST_INITRAMFS_GZ)
