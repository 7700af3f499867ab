// SPDX-License-Identifier: MIT
/*
 * The sync backend: every call of a request made in turn on the worker
 * thread (preadv, pwritev, fdatasync, fallocate). Always available; the
 * fallback when io_uring is not.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "devices/virtio/disk.h"
#include "devices/virtio/disk_io.h"

static long long sync_call(int fd, const struct disk_call *c)
{
	long long r = -1;

	switch (c->kind) {
	case DISK_CALL_PREADV: r = preadv(fd, c->iov, (int)c->iovcnt, (off_t)c->offset); break;
	case DISK_CALL_PWRITEV: r = pwritev(fd, c->iov, (int)c->iovcnt, (off_t)c->offset); break;
	case DISK_CALL_FDATASYNC: r = fdatasync(fd); break;
	case DISK_CALL_FALLOCATE:
		r = fallocate(fd, c->mode, (off_t)c->offset, (off_t)c->len);
		break;
	}
	return r < 0 ? -errno : r;
}

static int sync_init(struct disk_queue *dq, unsigned int depth)
{
	(void)depth;
	dq->event_fd = -1;
	return 0;
}

/* The whole request, one blocking call after another, on the caller's thread. */
static void sync_submit(struct disk_queue *dq, struct disk_req *req)
{
	while (disk_req_prepare(dq->disk, req))
		disk_req_account(dq->disk, req, sync_call(dq->disk->fd, &req->call));
	disk_req_finished(dq, req);
}

static void sync_nothing(struct disk_queue *dq)
{
	(void)dq;
}

const struct disk_backend disk_sync_backend = {
    .name = "sync",
    .init = sync_init,
    .submit = sync_submit,
    .flush = sync_nothing,
    .reap = sync_nothing,
    .exit = sync_nothing,
};
