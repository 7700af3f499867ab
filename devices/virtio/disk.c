// SPDX-License-Identifier: MIT
/* Raw disk images: opening and locking, the request engine, the sync backend. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/util.h"
#include "devices/virtio/disk.h"
#include "devices/virtio/iov.h"

/* What zero filling writes from: never written, only read by the kernel. */
static const uint8_t zeros[DISK_ZERO_CHUNK];

static int open_error(const char *path, bool ro)
{
	int err = errno;

	if (!ro && (err == EACCES || err == EROFS || err == EPERM))
		return set_error("disk '%s': %s (add ,ro to use it read-only)", path,
				 strerror(err));
	return set_error("disk '%s': %s", path, strerror(err));
}

/*
 * An open file description lock: two VMMs (or this one twice) cannot both
 * write an image, nor write one another reads. File systems without locks
 * (ENOLCK, EINVAL) are used unlocked rather than refused.
 */
static int lock_image(int fd, const char *path, bool ro)
{
	struct flock fl = {.l_type = ro ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET};

	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES)
		return set_error("disk '%s' is locked: another process is using it", path);
	return 0;
}

/* A power of two from 512 to 1 MiB, @v when it is one. */
static uint32_t sane_block_size(uint64_t v)
{
	if (v < DISK_SECTOR_SIZE || v > MiB || (v & (v - 1)))
		return DISK_SECTOR_SIZE;
	return (uint32_t)v;
}

/* @st: what open_file_checked() found, a regular file or a block device. */
static int check_image(struct disk *disk, const char *path, const struct stat *st)
{
	off_t size;
	int bsz;

	size = lseek(disk->fd, 0, SEEK_END);
	if (size < 0)
		return set_error("disk '%s': %s", path, strerror(errno));
	if (size == 0)
		return set_error("disk '%s' is empty (0 bytes)", path);
	if (size < DISK_SECTOR_SIZE)
		return set_error("disk '%s' is smaller than one %u-byte sector", path,
				 DISK_SECTOR_SIZE);
	disk->sectors = (uint64_t)size >> DISK_SECTOR_SHIFT;
	disk->block_size = DISK_SECTOR_SIZE;
	disk->fs_block_size = sane_block_size((uint64_t)st->st_blksize);
	if (S_ISBLK(st->st_mode) && ioctl(disk->fd, BLKSSZGET, &bsz) == 0) {
		disk->block_size = sane_block_size((uint64_t)bsz);
		disk->fs_block_size = disk->block_size;
	}
	return 0;
}

int disk_open(struct disk *disk, const char *path, bool ro, const char *name)
{
	struct stat st;

	memset(disk, 0, sizeof(*disk));
	snprintf(disk->name, sizeof(disk->name), "%s", name);
	disk->ro = ro;
	disk->fd = open_file_checked(path, ro ? O_RDONLY : O_RDWR, true, &st);
	if (disk->fd == -1)
		return open_error(path, ro);
	if (disk->fd < 0) {
		disk->fd = -1;
		return set_error(S_ISDIR(st.st_mode)
				     ? "disk '%s' is a directory"
				     : "disk '%s' is not a regular file or a block device",
				 path);
	}
	if (check_image(disk, path, &st) < 0 || lock_image(disk->fd, path, ro) < 0) {
		disk_close(disk);
		return -1;
	}
	return 0;
}

void disk_close(struct disk *disk)
{
	if (disk->fd >= 0)
		close(disk->fd);
	disk->fd = -1;
}

void disk_req_reset(struct disk_req *req)
{
	req->cur = 0;
	req->cur_done = 0;
	req->synced = false;
	req->error = 0;
}

static bool prepare_transfer(struct disk_req *req)
{
	while (req->iovcnt && !req->iov->iov_len) {
		req->iov++;
		req->iovcnt--;
	}
	if (!req->iovcnt)
		return false;
	req->call = (struct disk_call){
	    .kind = req->op == DISK_OP_READ ? DISK_CALL_PREADV : DISK_CALL_PWRITEV,
	    .offset = req->offset,
	    .iov = req->iov,
	    .iovcnt = req->iovcnt,
	};
	return true;
}

/*
 * Deallocating is what discard and an unmapping write-zeroes want; zeroing
 * in place comes next; 0 means neither is left and we write zeros.
 */
static int fallocate_mode(struct disk *disk, const struct disk_req *req, bool unmap)
{
	if ((req->op == DISK_OP_DISCARD || unmap) && !atomic_load(&disk->no_punch_hole))
		return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	if (!atomic_load(&disk->no_zero_range))
		return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	return 0;
}

static void prepare_zero_fill(struct disk_req *req, uint64_t offset, uint64_t left)
{
	uint64_t chunk = MIN(left, (uint64_t)DISK_ZERO_IOVS * DISK_ZERO_CHUNK);
	unsigned int n = 0;

	for (uint64_t done = 0; done < chunk; done += DISK_ZERO_CHUNK, n++) {
		req->zero_iov[n].iov_base = (void *)zeros;
		req->zero_iov[n].iov_len = MIN(chunk - done, (uint64_t)DISK_ZERO_CHUNK);
	}
	req->call = (struct disk_call){
	    .kind = DISK_CALL_PWRITEV, .offset = offset, .iov = req->zero_iov, .iovcnt = n};
}

/* fallocate() does a range whole or not at all: a range half done is being filled. */
static bool prepare_range(struct disk *disk, struct disk_req *req)
{
	const struct disk_range *r;
	int mode;

	while (req->cur < req->nr_ranges && req->cur_done == req->ranges[req->cur].len) {
		req->cur++;
		req->cur_done = 0;
	}
	if (req->cur == req->nr_ranges)
		return false;
	r = &req->ranges[req->cur];
	mode = fallocate_mode(disk, req, r->unmap);
	if (req->cur_done || !mode) {
		prepare_zero_fill(req, r->offset + req->cur_done, r->len - req->cur_done);
		return true;
	}
	req->call = (struct disk_call){
	    .kind = DISK_CALL_FALLOCATE, .offset = r->offset, .mode = mode, .len = r->len};
	return true;
}

static bool prepare_sync(struct disk_req *req)
{
	if (req->synced)
		return false;
	req->call = (struct disk_call){.kind = DISK_CALL_FDATASYNC};
	return true;
}

bool disk_req_prepare(struct disk *disk, struct disk_req *req)
{
	if (req->error)
		return false;
	switch (req->op) {
	case DISK_OP_READ: return prepare_transfer(req);
	case DISK_OP_WRITE: return prepare_transfer(req) || (req->sync_after && prepare_sync(req));
	case DISK_OP_FLUSH: return prepare_sync(req);
	case DISK_OP_DISCARD:
	case DISK_OP_WRITE_ZEROES: return prepare_range(disk, req);
	}
	return false;
}

static void account_written(struct disk_req *req, uint64_t n)
{
	if (req->call.iov == req->zero_iov) {
		req->cur_done += MIN(n, req->ranges[req->cur].len - req->cur_done);
		return;
	}
	req->offset += n;
	iov_advance(&req->iov, &req->iovcnt, n);
}

static void mark_unsupported(struct disk *disk, int mode)
{
	if (mode & FALLOC_FL_PUNCH_HOLE)
		atomic_store(&disk->no_punch_hole, true);
	else
		atomic_store(&disk->no_zero_range, true);
}

void disk_req_account(struct disk *disk, struct disk_req *req, long long res)
{
	const struct disk_call *c = &req->call;

	if (res == -EINTR || res == -EAGAIN)
		return; /* the same call again */
	if (res == -EOPNOTSUPP && c->kind == DISK_CALL_FALLOCATE) {
		mark_unsupported(disk, c->mode); /* and on to the next way */
		return;
	}
	if (res < 0) {
		req->error = (int)-res;
		return;
	}
	switch (c->kind) {
	case DISK_CALL_PREADV:
	case DISK_CALL_PWRITEV:
		/* Nothing transferred inside the image: it shrank under us. */
		if (res == 0)
			req->error = EIO;
		else
			account_written(req, (uint64_t)res);
		break;
	case DISK_CALL_FDATASYNC: req->synced = true; break;
	case DISK_CALL_FALLOCATE: req->cur_done = req->ranges[req->cur].len; break;
	}
}

void disk_req_finished(struct disk_queue *dq, struct disk_req *req)
{
	if (req->error && !atomic_exchange(&dq->disk->error_logged, true))
		vmm_log("%s: host I/O error, the guest gets an I/O error: %s", dq->disk->name,
			strerror(req->error));
	dq->done(req, dq->opaque);
}
