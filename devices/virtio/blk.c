// SPDX-License-Identifier: MIT
/*
 * virtio-blk: the device model. Config space and features at create time;
 * each request chain parsed and checked here (every value in it comes from
 * the guest) before the disk backend sees it; one worker thread per queue.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/error.h"
#include "core/trace.h"
#include "core/log.h"
#include "core/options.h"
#include "core/util.h"
#include "devices/virtio/blk_internal.h"
#include "devices/virtio/iov.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define BLK_HDR_SIZE sizeof(struct virtio_blk_outhdr)
#define BLK_SEG_SIZE sizeof(struct virtio_blk_discard_write_zeroes)

/* blk_req_start() when the request goes to the disk rather than a status byte. */
#define BLK_NEEDS_IO 0xff

/* The data buffers of a request: header and status byte taken off. */
struct blk_bufs {
	struct iovec *out; /* device-readable */
	unsigned int nr_out;
	uint64_t out_len;
	struct iovec *in; /* device-writable */
	unsigned int nr_in;
	uint64_t in_len;
};

/*
 * The status byte is the last byte of the last writable buffer: take it off
 * the writable data. False when the chain has no writable byte at all.
 */
static bool take_status(struct blk_req *req, struct blk_bufs *b)
{
	struct vq_chain *c = &req->chain;

	b->out = c->iov;
	b->nr_out = c->nr_out;
	b->in = c->iov + c->nr_out;
	b->nr_in = c->nr_in;
	while (b->nr_in && !b->in[b->nr_in - 1].iov_len)
		b->nr_in--;
	if (!b->nr_in)
		return false;
	b->in[b->nr_in - 1].iov_len--;
	req->status = (uint8_t *)b->in[b->nr_in - 1].iov_base + b->in[b->nr_in - 1].iov_len;
	/* The chain carries its totals; only the status byte is taken off. */
	b->out_len = c->out_len;
	b->in_len = c->in_len - 1;
	return true;
}

/* [sector, sector + nr_sectors) inside the disk, computed without overflow. */
static bool sectors_in_disk(const struct virtio_blk *blk, uint64_t sector, uint64_t nr_sectors)
{
	return sector <= blk->disk.sectors && nr_sectors <= blk->disk.sectors - sector;
}

static uint8_t parse_read_write(struct virtio_blk *blk, struct blk_req *req, bool write,
				uint64_t sector, struct blk_bufs *b)
{
	uint64_t len = write ? b->out_len : b->in_len;

	/* Data the other way round: a read that brings data, a write that wants some. */
	if (write ? b->in_len : b->out_len)
		return VIRTIO_BLK_S_IOERR;
	if ((write && blk->disk.ro) || len % DISK_SECTOR_SIZE ||
	    !sectors_in_disk(blk, sector, len >> DISK_SECTOR_SHIFT))
		return VIRTIO_BLK_S_IOERR;
	req->io = (struct disk_req){
	    .op = write ? DISK_OP_WRITE : DISK_OP_READ,
	    /* A driver that cannot flush must find its writes on the disk. */
	    .sync_after = write && !virtio_has_feature(&blk->vdev, VIRTIO_BLK_F_FLUSH),
	    .offset = sector << DISK_SECTOR_SHIFT,
	    .iov = write ? b->out : b->in,
	    .iovcnt = write ? b->nr_out : b->nr_in,
	};
	req->data_in = write ? 0 : (uint32_t)MIN(len, (uint64_t)UINT32_MAX - 1);
	return BLK_NEEDS_IO;
}

static uint8_t get_id(struct virtio_blk *blk, struct blk_req *req, struct blk_bufs *b)
{
	if (b->in_len < VIRTIO_BLK_ID_BYTES)
		return VIRTIO_BLK_S_IOERR;
	iov_from_buf(b->in, b->nr_in, 0, blk->id, VIRTIO_BLK_ID_BYTES);
	req->data_in = VIRTIO_BLK_ID_BYTES;
	return VIRTIO_BLK_S_OK;
}

/* One discard or write-zeroes segment, checked as VIRTIO 1.2 section 5.2.6.2 asks. */
static uint8_t parse_range(struct virtio_blk *blk, bool discard,
			   const struct virtio_blk_discard_write_zeroes *seg, struct disk_range *r)
{
	uint64_t sector = le64toh(seg->sector);
	uint32_t nr = le32toh(seg->num_sectors), flags = le32toh(seg->flags);
	uint32_t max = le32toh(discard ? blk->config.max_discard_sectors
				       : blk->config.max_write_zeroes_sectors);

	if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ||
	    (discard && (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)))
		return VIRTIO_BLK_S_UNSUPP;
	if (nr > max || !sectors_in_disk(blk, sector, nr))
		return VIRTIO_BLK_S_IOERR;
	*r = (struct disk_range){
	    .offset = sector << DISK_SECTOR_SHIFT,
	    .len = (uint64_t)nr << DISK_SECTOR_SHIFT,
	    .unmap = flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP,
	};
	return VIRTIO_BLK_S_OK;
}

static uint8_t parse_ranges(struct virtio_blk *blk, struct blk_req *req, bool discard,
			    struct blk_bufs *b)
{
	uint32_t max_seg =
	    le32toh(discard ? blk->config.max_discard_seg : blk->config.max_write_zeroes_seg);
	uint64_t n = b->out_len / BLK_SEG_SIZE;

	if (blk->disk.ro || b->in_len || !n || b->out_len % BLK_SEG_SIZE || n > max_seg)
		return VIRTIO_BLK_S_IOERR;
	for (unsigned int i = 0; i < n; i++) {
		struct virtio_blk_discard_write_zeroes seg;
		uint8_t status;

		iov_to_buf(b->out, b->nr_out, 0, &seg, sizeof(seg));
		iov_advance(&b->out, &b->nr_out, sizeof(seg));
		status = parse_range(blk, discard, &seg, &req->ranges[i]);
		if (status != VIRTIO_BLK_S_OK)
			return status;
	}
	req->io = (struct disk_req){
	    .op = discard ? DISK_OP_DISCARD : DISK_OP_WRITE_ZEROES,
	    .ranges = req->ranges,
	    .nr_ranges = (unsigned int)n,
	};
	return BLK_NEEDS_IO;
}

static uint8_t parse_request(struct virtio_blk *blk, struct blk_req *req, struct blk_bufs *b)
{
	struct virtio_blk_outhdr hdr;
	uint64_t sector;

	/* The header may be split anywhere across the readable buffers. */
	if (iov_to_buf(b->out, b->nr_out, 0, &hdr, BLK_HDR_SIZE) < BLK_HDR_SIZE)
		return VIRTIO_BLK_S_IOERR;
	iov_advance(&b->out, &b->nr_out, BLK_HDR_SIZE);
	b->out_len -= BLK_HDR_SIZE;
	sector = le64toh(hdr.sector);
	switch (le32toh(hdr.type)) {
	case VIRTIO_BLK_T_IN: return parse_read_write(blk, req, false, sector, b);
	case VIRTIO_BLK_T_OUT: return parse_read_write(blk, req, true, sector, b);
	case VIRTIO_BLK_T_FLUSH:
		req->io = (struct disk_req){.op = DISK_OP_FLUSH};
		return BLK_NEEDS_IO;
	case VIRTIO_BLK_T_GET_ID: return get_id(blk, req, b);
	case VIRTIO_BLK_T_DISCARD: return parse_ranges(blk, req, true, b);
	case VIRTIO_BLK_T_WRITE_ZEROES: return parse_ranges(blk, req, false, b);
	default: return VIRTIO_BLK_S_UNSUPP;
	}
}

/* Only the status byte is promised after an error, whatever the disk did. */
static void set_status(struct blk_req *req, uint8_t status)
{
	*req->status = status;
	req->used_len = (status == VIRTIO_BLK_S_OK ? req->data_in : 0) + 1;
	req->failed = status != VIRTIO_BLK_S_OK;
}

bool blk_req_start(struct virtio_blk *blk, struct blk_req *req)
{
	struct blk_bufs bufs;
	uint8_t status;

	req->status = NULL;
	req->data_in = 0;
	req->used_len = 0;
	req->failed = true; /* until a status is set */
	/* Without a status byte the request cannot be answered: give it back untouched. */
	if (!take_status(req, &bufs))
		return false;
	status = parse_request(blk, req, &bufs);
	if (status != BLK_NEEDS_IO) {
		set_status(req, status);
		return false;
	}
	disk_req_reset(&req->io);
	return true;
}

void blk_req_end_io(struct blk_req *req)
{
	set_status(req, req->io.error ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

static void one_request_done(struct disk_req *io, void *opaque)
{
	(void)io;
	*(bool *)opaque = true;
}

int blk_run_chain(struct virtio_blk *blk, enum disk_io io, const struct vq_chain *chain,
		  uint32_t *used_len)
{
	struct blk_req *req = calloc(1, sizeof(*req));
	struct disk_queue dq;
	bool done = false;
	int status;

	if (!req || disk_queue_init(&dq, &blk->disk, io, false, 1, one_request_done, &done) < 0) {
		free(req);
		return -2;
	}
	req->chain = *chain;
	if (blk_req_start(blk, req)) {
		disk_queue_submit(&dq, &req->io);
		disk_queue_flush(&dq);
		while (!done) {
			poll(&(struct pollfd){.fd = dq.event_fd, .events = POLLIN}, 1, -1);
			disk_queue_reap(&dq);
		}
		blk_req_end_io(req);
	}
	disk_queue_exit(&dq);
	*used_len = req->used_len;
	status = req->status ? *req->status : -1;
	free(req);
	return status;
}

/* Worker side: one thread per queue, touching only its queue. */

static struct virtqueue *worker_vq(struct blk_worker *w)
{
	return &w->blk->vdev.vqs[w->q];
}

static void worker_complete(struct blk_worker *w, struct blk_req *req)
{
	if (!w->broken) {
		vq_push(worker_vq(w), req->chain.head, req->used_len);
		w->pushed = true;
		if (stats_enabled && req->failed)
			STAT_ADD(worker_vq(w)->stats.errors, 1);
	}
	req->next_free = w->free_list;
	w->free_list = req;
}

static void worker_io_done(struct disk_req *io, void *opaque)
{
	struct blk_req *req = container_of(io, struct blk_req, io);

	blk_req_end_io(req);
	worker_complete(opaque, req);
}

static void worker_signal(struct blk_worker *w)
{
	if (!w->pushed)
		return;
	w->pushed = false;
	virtio_queue_interrupt(&w->blk->vdev, w->q);
}

/*
 * A blk_req for the next chain: a used one first, else one never used yet.
 * Carved from reqs[] only when needed: an entry is 4.6 KiB (a chain's
 * iovecs) and there are as many as the queue has, so an idle or shallow
 * queue keeps most of the table out of resident memory.
 */
static struct blk_req *worker_free_req(struct blk_worker *w)
{
	if (!w->free_list && w->fresh < w->depth) {
		w->free_list = &w->reqs[w->fresh++];
		w->free_list->next_free = NULL;
	}
	return w->free_list;
}

/* Start every chain the driver has posted, as long as there is a blk_req for it. */
static void worker_pop_all(struct blk_worker *w)
{
	struct virtqueue *vq = worker_vq(w);

	for (;;) {
		struct blk_req *req = worker_free_req(w);
		int r;

		if (!req) {
			w->starved = true;
			return;
		}
		r = vq_pop(vq, &req->chain);
		if (r == 0)
			return;
		if (r < 0) {
			w->broken = true;
			virtio_needs_reset(&w->blk->vdev, vq->broken_why);
			return;
		}
		w->free_list = req->next_free;
		if (blk_req_start(w->blk, req))
			disk_queue_submit(&w->dq, &req->io);
		else
			worker_complete(w, req);
	}
}

/* No chain is taken from a broken ring, nor from any ring of a broken device. */
static bool worker_may_pop(struct blk_worker *w)
{
	return !w->broken && !w->starved && !virtio_is_broken(&w->blk->vdev);
}

/* Start what the driver posted and finish what completed, notifications off. */
static void worker_serve(struct blk_worker *w)
{
	w->starved = false;
	if (worker_may_pop(w)) {
		vq_set_notify(worker_vq(w), false);
		worker_pop_all(w);
		disk_queue_flush(&w->dq);
	}
	worker_signal(w); /* also what a reap finished */
}

/* New chains we may take, or completions to finish. */
static bool worker_has_work(struct blk_worker *w)
{
	return (worker_may_pop(w) && vq_has_avail(worker_vq(w))) || disk_queue_ready(&w->dq);
}

/*
 * Busy-wait up to blk->poll_ns for more work, notifications still off. At a
 * low queue depth the driver posts its next request a few microseconds
 * after seeing a completion: sooner than a sleeping thread is woken, and
 * without the notify (a VM exit) it would otherwise need. Yielding, not
 * pausing: the host's writeback and io_uring threads that our writes need
 * may be waiting for this CPU.
 */
static bool worker_poll(struct blk_worker *w)
{
	int64_t end;

	if (!w->blk->poll_ns)
		return false;
	end = monotonic_ns() + (int64_t)w->blk->poll_ns;
	do {
		if (worker_has_work(w))
			return true;
		sched_yield();
	} while (monotonic_ns() < end && !atomic_load(&w->blk->stopping));
	return false;
}

/*
 * About to sleep: notifications back on, unless the ring is broken or every
 * blk_req is in flight (the completion that frees one brings us back). False
 * when the driver posted meanwhile (it may not have notified).
 */
static bool worker_may_sleep(struct blk_worker *w)
{
	return !worker_may_pop(w) || !vq_set_notify(worker_vq(w), true);
}

static void *worker_main(void *arg)
{
	struct blk_worker *w = arg;
	struct pollfd fds[] = {
	    {.fd = w->blk->stop_fd, .events = POLLIN},
	    {.fd = w->blk->vdev.notify_fd[w->q], .events = POLLIN},
	    {.fd = w->dq.event_fd, .events = POLLIN}, /* -1 (ignored) for sync */
	};

	trace_thread("%s q%u", w->blk->vdev.name, w->q);
	while (!atomic_load(&w->blk->stopping)) {
		worker_serve(w); /* at first: what the driver posted before DRIVER_OK */
		if (worker_poll(w) || !worker_may_sleep(w))
			continue;
		if (poll(fds, ARRAY_SIZE(fds), -1) < 0) {
			if (errno == EINTR)
				continue;
			vmm_log("%s: poll: %s", w->blk->disk.name, strerror(errno));
			break;
		}
		if (fds[0].revents)
			break;
		if (fds[2].revents)
			disk_queue_reap(&w->dq);
		if (fds[1].revents)
			virtio_queue_take_notify(&w->blk->vdev, w->q);
		if (w->broken)
			fds[1].fd = -1; /* notifies of a broken queue are not ours to read */
	}
	return NULL;
}

static void worker_free(struct blk_worker *w)
{
	disk_queue_exit(&w->dq);
	free(w->reqs);
	w->reqs = NULL;
	w->running = false;
}

static int worker_start(struct virtio_blk *blk, unsigned int q)
{
	unsigned int depth = MAX(blk->vdev.vqs[q].size, 1);
	struct blk_worker *w = &blk->workers[q];

	*w = (struct blk_worker){.blk = blk, .q = q};
	w->reqs = calloc(depth, sizeof(*w->reqs));
	if (!w->reqs)
		return set_error("out of memory");
	w->depth = depth;
	if (disk_queue_init(&w->dq, &blk->disk, blk->io, blk->io_fallback, depth, worker_io_done,
			    w) < 0) {
		free(w->reqs);
		return -1;
	}
	if (vmm_thread_start(&w->thread, worker_main, w, "virtio-blk worker",
			     w->dq.backend == &disk_uring_backend ? THREAD_BLK_URING
								  : THREAD_BLK_SYNC) < 0) {
		worker_free(w);
		return -1;
	}
	w->running = true;
	return 0;
}

static void stop_workers(struct virtio_blk *blk)
{
	eventfd_t count;

	atomic_store(&blk->stopping, true);
	eventfd_write(blk->stop_fd, 1);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (!blk->workers[q].running)
			continue;
		pthread_join(blk->workers[q].thread, NULL);
		worker_free(&blk->workers[q]);
	}
	eventfd_read(blk->stop_fd, &count); /* nonblocking: ready for the next activation */
	atomic_store(&blk->stopping, false);
}

static void blk_deactivate(struct virtio_dev *vdev)
{
	stop_workers(vdev->priv);
}

/* One worker per queue the driver set up (it may use fewer than we offer). */
static int blk_activate(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = vdev->priv;

	for (unsigned int q = 0; q < vdev->nr_queues; q++) {
		if (vdev->vqs[q].ready && worker_start(blk, q) < 0) {
			vmm_log_limited(&vdev->log, "%s: %s", vdev->name, last_error());
			blk_deactivate(vdev);
			return -1;
		}
	}
	return 0;
}

static const struct virtio_dev_ops blk_ops = {
    .activate = blk_activate,
    .deactivate = blk_deactivate,
};

/*
 * No SIZE_MAX: neither backend limits a buffer's size (a transfer the
 * kernel cuts short is resubmitted for the rest). Discard and write zeroes
 * only on a disk we may write.
 */
static uint64_t blk_features(bool ro)
{
	uint64_t f = BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE) |
		     BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_MQ);

	return f | (ro ? BIT(VIRTIO_BLK_F_RO)
		       : BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES));
}

/*
 * Little-endian, as virtio 1.x wants. The discard alignment is the host's
 * allocation unit, a hint for the guest: a range off it is still done (the
 * host zeroes the partial blocks), since Linux sends the unaligned head of a
 * discard that starts off the granularity.
 */
static void fill_config(struct virtio_blk *blk, unsigned int nr_queues)
{
	struct virtio_blk_config *c = &blk->config;

	c->capacity = htole64(blk->disk.sectors);
	c->seg_max = htole32(BLK_SEG_MAX);
	c->blk_size = htole32(blk->disk.block_size);
	c->num_queues = htole16((uint16_t)nr_queues);
	c->max_discard_sectors = htole32(BLK_MAX_RANGE_SECTORS);
	c->max_discard_seg = htole32(BLK_MAX_RANGES);
	c->discard_sector_alignment = htole32(blk->disk.fs_block_size / DISK_SECTOR_SIZE);
	c->max_write_zeroes_sectors = htole32(BLK_MAX_RANGE_SECTORS);
	c->max_write_zeroes_seg = htole32(BLK_MAX_RANGES);
	c->write_zeroes_may_unmap = 1;
}

/* The options of --disk. */

static int parse_disk_io(const char *val, enum disk_io *io)
{
	static const char *const names[] = {
	    [DISK_IO_AUTO] = "auto", [DISK_IO_URING] = "uring", [DISK_IO_SYNC] = "sync"};

	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(val, names[i])) {
			*io = (enum disk_io)i;
			return 0;
		}
	}
	return set_error("--disk: bad io '%s' (expected auto, uring or sync)", val);
}

/*
 * What the guest reads back as the disk's ID: up to 20 printable ASCII
 * bytes. Printable is checked first, so that the error can quote it.
 */
static int check_serial(const char *val)
{
	for (const char *c = val; *c; c++) {
		if (*c < 0x20 || *c > 0x7e)
			return set_error("--disk: serial byte %u (0x%02x) is not printable ASCII",
					 (unsigned int)(c - val), (unsigned char)*c);
	}
	if (strlen(val) > BLK_SERIAL_MAX)
		return set_error("--disk: serial '%s' is longer than %d bytes", val,
				 BLK_SERIAL_MAX);
	return 0;
}

/* One KEY or KEY=VALUE after the path. */
static int parse_disk_option(void *ctx, const char *key, char *val)
{
	struct blk_opt *opt = ctx;

	if (!strcmp(key, "ro")) {
		if (val)
			return suboption_takes_no_value("--disk", key);
		opt->ro = true;
		return 0;
	}
	if (strcmp(key, "serial") && strcmp(key, "io") && strcmp(key, "poll"))
		return unknown_suboption("--disk", key, val);
	if (!val)
		return suboption_needs_value("--disk", key);
	if (!strcmp(key, "io"))
		return parse_disk_io(val, &opt->io);
	if (!strcmp(key, "poll"))
		return parse_count("--disk: poll", val, 0, BLK_POLL_US_MAX, &opt->poll_us);
	opt->serial = val;
	return check_serial(val);
}

int blk_parse_opt(struct blk_opt *opt, char *arg)
{
	*opt = (struct blk_opt){.poll_us = BLK_POLL_US_DEFAULT};
	opt->path = strsep(&arg, ",");
	if (!*opt->path)
		return set_error("--disk: missing path");
	return parse_suboptions("--disk", arg, parse_disk_option, opt);
}

/* The serial given, zero-padded; without one, "vmm-disk<index>" so every disk has an ID. */
static void fill_id(struct virtio_blk *blk, const char *serial, unsigned int index)
{
	char derived[VIRTIO_BLK_ID_BYTES + 1];

	if (!serial) {
		snprintf(derived, sizeof(derived), "vmm-disk%u", index);
		serial = derived;
	}
	memcpy(blk->id, serial, strnlen(serial, VIRTIO_BLK_ID_BYTES));
}

static int blk_init(struct virtio_blk *blk, const struct blk_opt *opt, unsigned int index,
		    unsigned int nr_queues, const struct guest_mem *mem)
{
	char name[32];

	snprintf(name, sizeof(name), "virtio-blk%u", index);
	if (nr_queues < 1 || nr_queues > VIRTIO_MAX_QUEUES)
		return set_error("disk '%s': %u queues (1 to %d)", opt->path, nr_queues,
				 VIRTIO_MAX_QUEUES);
	if (opt->serial && strlen(opt->serial) > VIRTIO_BLK_ID_BYTES)
		return set_error("disk '%s': serial longer than %d bytes", opt->path,
				 VIRTIO_BLK_ID_BYTES);
	if (disk_io_resolve(opt->io, &blk->io) < 0)
		return set_error("disk '%s': %s", opt->path, last_error());
	blk->io_fallback = opt->io == DISK_IO_AUTO;
	blk->poll_ns = (uint64_t)opt->poll_us * 1000;
	if (disk_open(&blk->disk, opt->path, opt->ro, name) < 0)
		return -1;
	blk->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (blk->stop_fd < 0)
		return set_error("eventfd: %s", strerror(errno));
	fill_id(blk, opt->serial, index);
	fill_config(blk, nr_queues);
	return virtio_dev_init(&blk->vdev, blk->disk.name, VIRTIO_ID_BLOCK, blk_features(opt->ro),
			       nr_queues, &blk->config, sizeof(blk->config), mem, &blk_ops, blk);
}

static void blk_free(struct virtio_blk *blk)
{
	disk_close(&blk->disk);
	if (blk->stop_fd >= 0)
		close(blk->stop_fd);
	free(blk);
}

struct virtio_blk *virtio_blk_create(const struct blk_opt *opt, unsigned int index,
				     unsigned int nr_queues, const struct guest_mem *mem)
{
	struct virtio_blk *blk = calloc(1, sizeof(*blk));

	if (!blk) {
		set_error("out of memory");
		return NULL;
	}
	blk->disk.fd = -1;
	blk->stop_fd = -1;
	if (blk_init(blk, opt, index, nr_queues, mem) < 0) {
		blk_free(blk);
		return NULL;
	}
	return blk;
}

struct virtio_dev *virtio_blk_dev(struct virtio_blk *blk)
{
	return &blk->vdev;
}

/* Workers first (the core's deactivate then finds none), then the core. */
void virtio_blk_destroy(struct virtio_blk *blk)
{
	if (!blk)
		return;
	stop_workers(blk);
	virtio_dev_exit(&blk->vdev);
	blk_free(blk);
}
