/* SPDX-License-Identifier: MIT */
/*
 * Run mode (--exec CMD): the composition of a machine that runs one command
 * on the host's files. Part of the composition root: only machine/ uses it.
 */
#ifndef MACHINE_RUN_H
#define MACHINE_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cli.h"

/* The 9p tag of the guest's root in run mode. */
#define RUN_ROOT_TAG "vmm-root"
/* VMM exit statuses of run mode's own (the rest are the command's). */
#define RUN_STATUS_TIMEOUT 124

struct run_mode {
	uint8_t *initrd; /* the newc initramfs built for the guest */
	size_t initrd_size;
	const char *cmdline; /* what run mode adds to the kernel command line */
	bool piped_input;    /* stdin is no terminal: its end becomes the tty's EOF */
	char cwd[4096];
};

/*
 * Turn --exec into shares (the root read-only, the current directory and
 * each --rwdir read-write) added to @cfg, and an initramfs holding the init
 * and its orders. Nothing to do without --exec. -1 with set_error().
 */
int run_mode_prepare(struct vmm_config *cfg, struct run_mode *run);
void run_mode_release(struct run_mode *run);

#endif
