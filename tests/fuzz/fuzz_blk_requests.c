// SPDX-License-Identifier: MIT
/*
 * virtio-blk requests through the parser and a backend (sync, or io_uring
 * when the input says so and the host has it) on a temporary image. The
 * input builds the chain: a header (type, sector), data buffers readable or
 * writable of any size, and the status byte, all in one fuzz buffer.
 *
 * Invariants: the status written is one of OK, IOERR, UNSUPP; used_len is
 * at most the writable bytes; nothing is written outside the writable
 * buffers; a chain without a writable byte gets no status.
 */
#include <linux/virtio_blk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "devices/virtio/blk_internal.h"
#include "tests/fuzz/fuzz_util.h"

#define IMG_SIZE (64 * 512)
#define BUF_SIZE 0x4000

static uint8_t buf[BUF_SIZE], before[BUF_SIZE], allow[BUF_SIZE];
static struct guest_mem mem;
static struct virtio_blk *blk;
static int img_fd = -1;
static bool have_uring;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[64];
	struct blk_opt opt = {.path = path, .io = DISK_IO_AUTO, .serial = "fuzz"};

	(void)argc, (void)argv;
	img_fd = fz_temp_image(IMG_SIZE, path, sizeof(path));
	fz_mem_init(&mem, buf, BUF_SIZE);
	blk = virtio_blk_create(&opt, 0, 1, &mem);
	if (!blk) {
		fprintf(stderr, "virtio_blk_create: %s\n", last_error());
		abort();
	}
	have_uring = disk_uring_probe() == 0;
	return 0;
}

/* One buffer of the chain: readable ones get their bytes (a header) from the input. */
static void add_buffer(struct fz *f, struct vq_chain *c, uint32_t *at)
{
	uint8_t fl = fz_u8(f);
	size_t len = 1 + fz_u16(f) % 1100;
	struct iovec *v = &c->iov[c->nr_out + c->nr_in];

	if (len > BUF_SIZE - *at)
		len = BUF_SIZE - *at;
	v->iov_base = buf + *at;
	v->iov_len = len;
	if ((fl & 1) || c->nr_in) { /* writable, and so is all that follows */
		c->nr_in++;
		c->in_len += len;
		memset(allow + *at, 1, len);
	} else {
		if (fl & 2)
			fz_bytes(f, buf + *at, len < 16 ? len : 16);
		c->nr_out++;
		c->out_len += len;
	}
	*at += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {data, size};
	static struct vq_chain c;
	uint8_t cfg = fz_u8(&f);
	unsigned int n = 1 + fz_u8(&f) % 8;
	enum disk_io io = (cfg & 1) && have_uring ? DISK_IO_URING : DISK_IO_SYNC;
	uint32_t used = 0, at = 0;
	int r;

	/* The same image for every input: zeroed again, as it was. */
	if (ftruncate(img_fd, 0) < 0 || ftruncate(img_fd, IMG_SIZE) < 0)
		abort();
	blk->vdev.features = (cfg & 2) ? blk->vdev.host_features : 1ULL << VIRTIO_F_VERSION_1;
	memset(&c, 0, sizeof(c));
	memset(buf, 0xee, BUF_SIZE);
	memset(allow, 0, BUF_SIZE);
	for (unsigned int i = 0; i < n && at < BUF_SIZE; i++)
		add_buffer(&f, &c, &at);
	memcpy(before, buf, BUF_SIZE);
	r = blk_run_chain(blk, io, &c, &used);
	FZ_CHECK(r != -2);
	FZ_CHECK(used <= c.in_len);
	if (!c.in_len)
		FZ_CHECK(r == -1 && used == 0);
	else
		FZ_CHECK(r == VIRTIO_BLK_S_OK || r == VIRTIO_BLK_S_IOERR ||
			 r == VIRTIO_BLK_S_UNSUPP);
	fz_check_writes(before, buf, allow, BUF_SIZE);
	return 0;
}
