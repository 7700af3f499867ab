/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk inside: the request parser and the per-queue workers, shared
 * by blk.c and its unit tests.
 */
#ifndef DEVICES_VIRTIO_BLK_INTERNAL_H
#define DEVICES_VIRTIO_BLK_INTERNAL_H

#include <linux/virtio_blk.h>
#include <pthread.h>
#include <stdatomic.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/disk.h"

/* A chain may hold VQ_MAX_SIZE buffers: the header and the status byte take two. */
#define BLK_SEG_MAX (VQ_MAX_SIZE - 2)
/* Segments in one discard or write-zeroes request, and sectors in one segment (1 GiB). */
#define BLK_MAX_RANGES	      32
#define BLK_MAX_RANGE_SECTORS (1U << 21)

struct blk_req {
	struct vq_chain chain; /* as popped; its iovecs are trimmed while parsing */
	struct disk_req io;
	uint8_t *status;   /* the last writable byte; NULL when the chain has none */
	uint32_t data_in;  /* data bytes the guest gets when the request succeeds */
	uint32_t used_len; /* for vq_push(): data written + the status byte */
	bool failed;	   /* answered with an error status, or not at all (--stats) */
	struct disk_range ranges[BLK_MAX_RANGES];
	struct blk_req *next_free;
};

struct blk_worker {
	struct virtio_blk *blk;
	unsigned int q;
	bool running;
	bool broken;  /* the ring is broken: nothing more is popped or pushed */
	bool starved; /* chains left on the ring: every blk_req is in flight */
	bool pushed;  /* used entries the driver has not been told about */
	pthread_t thread;
	struct disk_queue dq;
	struct blk_req *reqs; /* as many as the queue has entries */
	unsigned int depth;   /* entries in reqs[] */
	unsigned int fresh;   /* reqs[fresh ..] never used yet */
	struct blk_req *free_list;
};

struct virtio_blk {
	struct virtio_dev vdev;
	struct virtio_blk_config config;
	struct disk disk;
	enum disk_io io;  /* DISK_IO_URING or DISK_IO_SYNC */
	bool io_fallback; /* io=auto: sync on a queue whose ring cannot be set up */
	uint8_t id[VIRTIO_BLK_ID_BYTES];
	int stop_fd;	      /* eventfd: the workers are to stop (wakes a sleeping one) */
	atomic_bool stopping; /* ... (seen by a busy one, which may never sleep) */
	uint64_t poll_ns;     /* a worker busy-waits this long for more before sleeping */
	struct blk_worker workers[VIRTIO_MAX_QUEUES];
};

/*
 * Parse the chain in req->chain. Returns true when it needs the disk: then
 * req->io is ready for a disk_queue and blk_req_end_io() follows. Otherwise
 * the request is answered already (status byte and used_len set, or no
 * status byte to set: used_len 0).
 */
bool blk_req_start(struct virtio_blk *blk, struct blk_req *req);
void blk_req_end_io(struct blk_req *req);

/*
 * For tests: @chain through the parser and a one-request queue on @io
 * (DISK_IO_SYNC or DISK_IO_URING), waiting for the end. Returns the status
 * byte written, -1 when the chain has none, -2 when the queue failed.
 */
int blk_run_chain(struct virtio_blk *blk, enum disk_io io, const struct vq_chain *chain,
		  uint32_t *used_len);

#endif
