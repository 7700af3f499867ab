/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (VIRTIO 1.2 section 5.2): a raw disk image served to the guest
 * through one request queue per vCPU (VIRTIO_BLK_F_MQ), each with a worker
 * thread of its own that parses requests and hands them to a disk backend
 * (io_uring where the host kernel has it, preadv/pwritev otherwise).
 */
#ifndef DEVICES_VIRTIO_BLK_H
#define DEVICES_VIRTIO_BLK_H

#include <stdbool.h>

#include "core/memory.h"
#include "devices/virtio/disk_io.h"
#include "devices/virtio/virtio.h"

#define BLK_SERIAL_MAX 20 /* VIRTIO_BLK_ID_BYTES */
/* A queue's worker busy-waits this long for more requests before sleeping. */
#define BLK_POLL_US_DEFAULT 32
#define BLK_POLL_US_MAX	    1000

/* --disk PATH[,ro][,serial=STR][,io=auto|uring|sync][,poll=US] */
struct blk_opt {
	const char *path;
	bool ro;
	const char *serial; /* NULL: none; at most BLK_SERIAL_MAX bytes */
	enum disk_io io;
	unsigned int poll_us; /* 0: sleep as soon as the queue is empty */
};

/*
 * Parse @arg (cut up in place; @opt points into it, so it must outlive
 * @opt) into @opt, defaults first. -1 with set_error() naming the problem.
 */
int blk_parse_opt(struct blk_opt *opt, char *arg);

struct virtio_blk;

/* Open the disk @opt names; NULL with set_error() naming the problem. */
struct virtio_blk *virtio_blk_create(const struct blk_opt *opt, unsigned int index,
				     unsigned int nr_queues, const struct guest_mem *mem);
struct virtio_dev *virtio_blk_dev(struct virtio_blk *blk);
void virtio_blk_destroy(struct virtio_blk *blk);

#endif
