// SPDX-License-Identifier: MIT
/*
 * The io_uring backend: one ring per virtqueue, as deep as the queue. Every
 * request has at most one call in flight (the next one is submitted when its
 * completion is reaped), so the ring never holds more entries than the
 * queue has requests, and its completion queue (twice as deep) never
 * overflows. Completions are signalled on an eventfd the worker polls.
 */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "devices/virtio/disk.h"
#include "devices/virtio/disk_io.h"

int disk_uring_probe(void)
{
	static const int needed[] = {IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
				     IORING_OP_FALLOCATE};
	struct io_uring_probe *probe;
	struct io_uring ring;
	bool ok;
	int err;

	err = io_uring_queue_init(2, &ring, 0);
	if (err < 0)
		return set_error("io_uring is not available: %s", strerror(-err));
	probe = io_uring_get_probe_ring(&ring);
	ok = probe != NULL;
	for (unsigned int i = 0; ok && i < ARRAY_SIZE(needed); i++)
		ok = io_uring_opcode_supported(probe, needed[i]);
	if (probe)
		io_uring_free_probe(probe);
	io_uring_queue_exit(&ring);
	return ok ? 0 : set_error("io_uring lacks readv, writev, fsync or fallocate");
}

static int uring_init(struct disk_queue *dq, unsigned int depth)
{
	struct io_uring *ring = calloc(1, sizeof(*ring));
	int err;

	if (!ring)
		return set_error("out of memory");
	err = io_uring_queue_init(depth, ring, 0);
	if (err < 0) {
		free(ring);
		return set_error("io_uring_queue_init: %s", strerror(-err));
	}
	dq->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	err = dq->event_fd < 0 ? -errno : io_uring_register_eventfd(ring, dq->event_fd);
	if (err < 0) {
		if (dq->event_fd >= 0)
			close(dq->event_fd);
		io_uring_queue_exit(ring);
		free(ring);
		return set_error("io_uring eventfd: %s", strerror(-err));
	}
	dq->priv = ring;
	return 0;
}

static void prep_call(struct io_uring_sqe *sqe, int fd, const struct disk_call *c)
{
	switch (c->kind) {
	case DISK_CALL_PREADV: io_uring_prep_readv(sqe, fd, c->iov, c->iovcnt, c->offset); break;
	case DISK_CALL_PWRITEV: io_uring_prep_writev(sqe, fd, c->iov, c->iovcnt, c->offset); break;
	case DISK_CALL_FDATASYNC: io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC); break;
	case DISK_CALL_FALLOCATE:
		io_uring_prep_fallocate(sqe, fd, c->mode, (off_t)c->offset, (off_t)c->len);
		break;
	}
}

static bool uring_submit_queued(struct disk_queue *dq)
{
	int r;

	do
		r = io_uring_submit(dq->priv);
	while (r == -EINTR);
	if (r < 0)
		vmm_log("%s: io_uring_submit: %s", dq->disk->name, strerror(-r));
	return r >= 0;
}

static void uring_submit(struct disk_queue *dq, struct disk_req *req);

/* Finish every call that has completed; a request's next call is queued. */
static void uring_complete_ready(struct disk_queue *dq)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(dq->priv, &cqe) == 0) {
		struct disk_req *req = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(dq->priv, cqe);
		dq->inflight--;
		disk_req_account(dq->disk, req, res);
		uring_submit(dq, req); /* the rest of a short transfer, the next range, or done */
	}
}

/*
 * Submit, then finish what completed meanwhile: a read the page cache holds
 * completes inside io_uring_enter(), and finishing it here spares the worker
 * a trip through poll() and the eventfd for every such request. Again while
 * completions queued further calls.
 */
static void uring_flush(struct disk_queue *dq)
{
	bool submitted;

	do {
		submitted = uring_submit_queued(dq);
		uring_complete_ready(dq);
	} while (submitted && io_uring_sq_ready(dq->priv));
}

/* Queue req->call; the ring has room for every request's one call in flight. */
static void uring_queue_call(struct disk_queue *dq, struct disk_req *req)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(dq->priv);

	if (!sqe) {
		uring_submit_queued(dq);
		sqe = io_uring_get_sqe(dq->priv);
	}
	if (!sqe) {
		req->error = EBUSY;
		disk_req_finished(dq, req);
		return;
	}
	prep_call(sqe, dq->disk->fd, &req->call);
	io_uring_sqe_set_data(sqe, req);
	dq->inflight++;
}

static void uring_submit(struct disk_queue *dq, struct disk_req *req)
{
	if (disk_req_prepare(dq->disk, req))
		uring_queue_call(dq, req);
	else
		disk_req_finished(dq, req);
}

static void uring_reap(struct disk_queue *dq)
{
	eventfd_t count;

	eventfd_read(dq->event_fd, &count); /* nonblocking: only resets the count */
	uring_flush(dq);
}

static bool uring_ready(struct disk_queue *dq)
{
	return io_uring_cq_ready(dq->priv) != 0;
}

/* The requests' memory stays ours until the kernel is done with it: wait, then drop. */
static void uring_exit(struct disk_queue *dq)
{
	struct io_uring_cqe *cqe;
	int err;

	uring_submit_queued(dq);
	while (dq->inflight) {
		err = io_uring_wait_cqe(dq->priv, &cqe);
		if (err == -EINTR)
			continue;
		if (err < 0)
			break;
		io_uring_cqe_seen(dq->priv, cqe);
		dq->inflight--;
	}
	io_uring_queue_exit(dq->priv);
	close(dq->event_fd);
	free(dq->priv);
	dq->priv = NULL;
	dq->event_fd = -1;
}

const struct disk_backend disk_uring_backend = {
    .name = "io_uring",
    .init = uring_init,
    .submit = uring_submit,
    .flush = uring_flush,
    .reap = uring_reap,
    .ready = uring_ready,
    .exit = uring_exit,
};
