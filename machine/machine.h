/* SPDX-License-Identifier: MIT */
/*
 * The machine the composition root builds (main.c) and what it looks at
 * while it runs (observe.c: --stats and the control socket's commands).
 * Part of the composition root: only machine/ includes it.
 */
#ifndef MACHINE_MACHINE_H
#define MACHINE_MACHINE_H

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "core/api.h"
#include "core/boot.h"
#include "core/cli.h"
#include "core/fdt.h"
#include "core/files.h"
#include "core/layout.h"
#include "core/loader.h"
#include "core/vm.h"
#include "devices/legacy/platform.h"
#include "devices/legacy/uart.h"
#include "devices/mmio/virtio_mmio.h"
#include "machine/run.h"

/* A virtio-mmio window and the device behind it, in command-line order. */
struct virtio_slot {
	struct virtio_mmio transport;
	struct virtio_dev *vdev; /* NULL until created */
	void *device;		 /* the device model's own handle, for @destroy */
	void (*destroy)(void *device);
};

struct machine {
	const struct vmm_config *cfg;
	struct vm vm;
	struct uart com1;
	struct cmos cmos;
	struct vm_events events;
	struct fdt_desc fdt;
	struct file_buf kernel;
	struct file_buf initrd;
	struct kernel_image image;
	uint64_t initrd_addr, initrd_size; /* the loaded one: --initrd's or run mode's */
	int uart_space_efd;
	struct virtio_mmio_host virtio_host;
	struct virtio_slot virtio[VIRTIO_MAX_DEVICES];
	unsigned int nr_virtio;
	struct run_mode run;	/* --exec: its initramfs and command-line words */
	atomic_bool input_held; /* piped stdin waits for run mode's init (its marker) */
	FILE *stats_json;	/* --stats-json, opened before the sandbox closes the door */
	struct api_server api;	/* --api-sock */
};

/* Milliseconds since @t0 (CLOCK_MONOTONIC). */
static inline uint64_t ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)((int64_t)(now.tv_sec - t0->tv_sec) * 1000 +
			  ((int64_t)now.tv_nsec - t0->tv_nsec) / 1000000);
}

/* --stats, --stats-json: open the JSON file, make the vCPUs' tables. Before the sandbox. */
int stats_prepare(struct machine *m);
/* At exit: the table on stderr, the JSON in its file. */
void stats_report(struct machine *m);
/* --api-sock's commands (struct api_ops), on @opaque, the machine. */
int api_command(void *opaque, const struct api_request *req, FILE *out);

#endif
