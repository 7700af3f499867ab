// SPDX-License-Identifier: MIT
/*
 * Which backend a disk's queues run on: the chooser above both backends,
 * so that neither they nor the disk layer know of each other.
 */
#include "core/error.h"
#include "devices/virtio/disk_io.h"

int disk_io_resolve(enum disk_io io, enum disk_io *out)
{
	if (io == DISK_IO_SYNC) {
		*out = DISK_IO_SYNC;
		return 0;
	}
	if (disk_uring_probe() == 0) {
		*out = DISK_IO_URING;
		return 0;
	}
	if (io == DISK_IO_URING)
		return set_error("io=uring: %s", last_error());
	*out = DISK_IO_SYNC;
	return 0;
}

int disk_queue_init(struct disk_queue *dq, struct disk *disk, enum disk_io io, bool fallback,
		    unsigned int depth, disk_done_fn *done, void *opaque)
{
	*dq = (struct disk_queue){
	    .disk = disk,
	    .backend = io == DISK_IO_URING ? &disk_uring_backend : &disk_sync_backend,
	    .done = done,
	    .opaque = opaque,
	    .event_fd = -1,
	};
	if (dq->backend->init(dq, depth) == 0)
		return 0;
	if (!fallback || dq->backend == &disk_sync_backend)
		return -1;
	dq->backend = &disk_sync_backend;
	return dq->backend->init(dq, depth);
}
