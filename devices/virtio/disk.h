/* SPDX-License-Identifier: MIT */
/*
 * The host side of virtio-blk: a raw image (a regular file or a block
 * device) and the two ways its requests reach the host kernel.
 *
 * A disk_req is one guest request reduced to what the host must do: read or
 * write an iovec list at an offset, flush, or zero/deallocate byte ranges.
 * It is carried out as a sequence of system calls: disk_req_prepare() puts
 * the next one in req->call, disk_req_account() takes its result. Both
 * backends drive that same sequence, the sync one by making each call on the
 * worker thread, the io_uring one by submitting it and reaping its
 * completion, so short transfers, EINTR and the fallback for file systems
 * without the fallocate modes we want behave alike in both.
 *
 * The backends (disk_sync.c, disk_uring.c) are built on this layer, and the
 * chooser between them (disk_io.h) on both; this layer knows neither.
 *
 * Nothing here checks a guest value: the device model (blk.c) hands over
 * only requests it has validated against the disk's size.
 */
#ifndef DEVICES_VIRTIO_DISK_H
#define DEVICES_VIRTIO_DISK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define DISK_SECTOR_SHIFT 9
#define DISK_SECTOR_SIZE  (1U << DISK_SECTOR_SHIFT)

/* Zero filling (fallocate refused) writes this many bytes per call at most. */
#define DISK_ZERO_IOVS	16
#define DISK_ZERO_CHUNK (64U << 10)

struct disk {
	int fd;
	bool ro;
	uint64_t sectors;	   /* capacity: whole 512-byte sectors of the image */
	uint32_t block_size;	   /* logical block size: 512, or the block device's */
	uint32_t fs_block_size;	   /* the host's allocation unit: the discard granularity */
	atomic_bool no_punch_hole; /* the host refused FALLOC_FL_PUNCH_HOLE once */
	atomic_bool no_zero_range; /* ... and FALLOC_FL_ZERO_RANGE */
	atomic_bool error_logged;  /* one host I/O error per disk goes to stderr */
	char name[32];		   /* for the log: "virtio-blk0" */
};

/*
 * Open @path (O_RDWR, or O_RDONLY with @ro) and lock it against other
 * processes: a shared lock when read-only, an exclusive one otherwise.
 * -1 with set_error() when it is missing, not a file or block device, holds
 * not one whole sector, or is locked.
 */
int disk_open(struct disk *disk, const char *path, bool ro, const char *name);
void disk_close(struct disk *disk);

enum disk_op { DISK_OP_READ, DISK_OP_WRITE, DISK_OP_FLUSH, DISK_OP_DISCARD, DISK_OP_WRITE_ZEROES };

/* A byte range to discard or zero. */
struct disk_range {
	uint64_t offset;
	uint64_t len;
	bool unmap; /* write zeroes: the range may be deallocated */
};

enum disk_call_kind {
	DISK_CALL_PREADV,
	DISK_CALL_PWRITEV,
	DISK_CALL_FDATASYNC,
	DISK_CALL_FALLOCATE
};

/* One system call on disk->fd. */
struct disk_call {
	enum disk_call_kind kind;
	uint64_t offset;
	const struct iovec *iov; /* PREADV, PWRITEV */
	unsigned int iovcnt;
	int mode; /* FALLOCATE */
	uint64_t len;
};

struct disk_req {
	enum disk_op op;
	bool sync_after; /* WRITE: fdatasync once written (the driver has no FLUSH) */
	/* READ, WRITE: what is still to transfer (the iovecs are consumed). */
	uint64_t offset;
	struct iovec *iov;
	unsigned int iovcnt;
	/* DISCARD, WRITE_ZEROES: the ranges, done up to ranges[cur] + cur_done. */
	const struct disk_range *ranges;
	unsigned int nr_ranges;
	unsigned int cur;
	uint64_t cur_done;
	bool synced;
	struct iovec zero_iov[DISK_ZERO_IOVS];
	struct disk_call call; /* the call in progress */
	int error;	       /* 0, or the errno that ended the request */
};

/* Ready @req (op and its fields filled in) to run from the start. */
void disk_req_reset(struct disk_req *req);
/* Put the next call in req->call; false when @req is finished (see req->error). */
bool disk_req_prepare(struct disk *disk, struct disk_req *req);
/* Account @res, the result of req->call: bytes done or -errno. */
void disk_req_account(struct disk *disk, struct disk_req *req, long long res);

/* One virtqueue's way to the host kernel: a backend and what it has in flight. */
struct disk_queue;
typedef void disk_done_fn(struct disk_req *req, void *opaque);

struct disk_backend {
	const char *name;
	int (*init)(struct disk_queue *dq, unsigned int depth);
	/* Start @req; dq->done is called when it finishes, maybe before this returns. */
	void (*submit)(struct disk_queue *dq, struct disk_req *req);
	/* Hand what submit() queued to the kernel; what completed meanwhile may
	 * finish (dq->done) before this returns. */
	void (*flush)(struct disk_queue *dq);
	/* dq->event_fd fired: finish what has completed. */
	void (*reap)(struct disk_queue *dq);
	/* Completions wait to be finished (by flush or reap); no system call. */
	bool (*ready)(struct disk_queue *dq);
	/* Wait for everything in flight, without calling dq->done; free it all. */
	void (*exit)(struct disk_queue *dq);
};

struct disk_queue {
	struct disk *disk;
	const struct disk_backend *backend;
	disk_done_fn *done;
	void *opaque;
	int event_fd; /* readable when reap() has work; -1 when requests finish in submit() */
	unsigned int inflight;
	void *priv;
};

static inline void disk_queue_submit(struct disk_queue *dq, struct disk_req *req)
{
	dq->backend->submit(dq, req);
}

static inline void disk_queue_flush(struct disk_queue *dq)
{
	dq->backend->flush(dq);
}

static inline void disk_queue_reap(struct disk_queue *dq)
{
	dq->backend->reap(dq);
}

static inline bool disk_queue_ready(struct disk_queue *dq)
{
	return dq->backend->ready && dq->backend->ready(dq);
}

static inline void disk_queue_exit(struct disk_queue *dq)
{
	dq->backend->exit(dq);
}

/* The backend's report of a finished request: logs the first host error. */
void disk_req_finished(struct disk_queue *dq, struct disk_req *req);

#endif
