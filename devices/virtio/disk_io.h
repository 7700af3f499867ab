/* SPDX-License-Identifier: MIT */
/*
 * How a disk's requests reach the host kernel: the two backends of disk.h
 * and the choice between them, made per disk (io=) and per queue.
 */
#ifndef DEVICES_VIRTIO_DISK_IO_H
#define DEVICES_VIRTIO_DISK_IO_H

#include <stdbool.h>

#include "devices/virtio/disk.h"

/* io=auto|uring|sync of --disk. */
enum disk_io { DISK_IO_AUTO, DISK_IO_URING, DISK_IO_SYNC };

extern const struct disk_backend disk_sync_backend;
extern const struct disk_backend disk_uring_backend;

/* io_uring with every operation we submit: 0, or -1 with set_error() saying why not. */
int disk_uring_probe(void);

/* io=auto becomes uring or sync; io=uring fails with set_error() when unavailable. */
int disk_io_resolve(enum disk_io io, enum disk_io *out);

/*
 * A queue of up to @depth requests on @io (DISK_IO_URING or DISK_IO_SYNC);
 * with @fallback, sync when the ring cannot be set up.
 */
int disk_queue_init(struct disk_queue *dq, struct disk *disk, enum disk_io io, bool fallback,
		    unsigned int depth, disk_done_fn *done, void *opaque);

#endif
