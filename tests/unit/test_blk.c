// SPDX-License-Identifier: MIT
/*
 * virtio-blk on temporary image files: each request chain built by hand
 * (iovecs on test buffers) and run through the parser and a backend, every
 * status path on both backends; config space and features; opening errors;
 * and whole queues served by the worker threads on synthetic guest memory.
 *
 * A failing check ends the test's process at once, without its teardown:
 * an exit handler removes the image then.
 */
#include <endian.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/memory.h"
#include "core/util.h"
#include "devices/virtio/blk_internal.h"
#include "tests/unit/suites.h"
#include "tests/unit/vring_helper.h"

#define SECTOR	    512
#define IMG_SECTORS 64
#define IMG_SIZE    (IMG_SECTORS * SECTOR)
#define POISON	    0xee

static char path[PATH_MAX];
static int img_fd = -1; /* the test's own view of the image */
static struct virtio_blk *blk;
static struct guest_mem mem; /* allocated by the queue tests only */

/* Loop tests run once per backend: _i 0 is sync, 1 io_uring. */
#define IO (_i ? DISK_IO_URING : DISK_IO_SYNC)

static const char *tmp_dir(void)
{
	const char *d = getenv("TMPDIR");

	return d && *d ? d : "/tmp";
}

/* What every byte of a fresh image holds: differs from sector to sector. */
static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 9) * 13 + 1);
}

static void write_pattern(uint64_t size)
{
	static uint8_t buf[64 * 1024];

	for (uint64_t off = 0; off < size; off += sizeof(buf)) {
		size_t n = MIN(sizeof(buf), size - off);

		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + i);
		ck_assert_int_eq(pwrite(img_fd, buf, n, (off_t)off), (ssize_t)n);
	}
}

/*
 * A new image of @size bytes (the pattern in the first @filled). Its name
 * goes at once, so that nothing is left behind by a failing check (which
 * ends the test's process without its teardown); the device opens it as
 * /proc/self/fd/N, a new open file description each time, as another
 * process would.
 */
static void make_image(uint64_t size, uint64_t filled)
{
	char name[PATH_MAX];

	snprintf(name, sizeof(name), "%s/vmm-blk-test-XXXXXX", tmp_dir());
	img_fd = mkstemp(name);
	ck_assert_msg(img_fd >= 0, "mkstemp in %s", tmp_dir());
	unlink(name);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", img_fd);
	ck_assert_int_eq(ftruncate(img_fd, (off_t)size), 0);
	write_pattern(filled);
}

static struct virtio_blk *create(const char *p, bool ro, const char *serial, enum disk_io io,
				 unsigned int index, unsigned int nr_queues)
{
	struct blk_opt opt = {.path = p, .ro = ro, .serial = serial, .io = io};

	clear_error();
	return virtio_blk_create(&opt, index, nr_queues, &mem);
}

/* The device on the image, with every feature taken as a driver would. */
static void open_disk(bool ro, const char *serial)
{
	blk = create(path, ro, serial, DISK_IO_AUTO, 0, 1);
	ck_assert_msg(blk, "virtio_blk_create: %s", last_error());
	blk->vdev.features = blk->vdev.host_features;
}

static void close_image(void)
{
	virtio_blk_destroy(blk);
	blk = NULL;
	close(img_fd);
	img_fd = -1;
}

/* For the tests that need an image of their own. */
static void replace_image(uint64_t size, uint64_t filled)
{
	close_image();
	make_image(size, filled);
	open_disk(false, NULL);
}

static void setup(void)
{
	make_image(IMG_SIZE, IMG_SIZE);
	open_disk(false, "SERIAL-1");
}

static void setup_ro(void)
{
	make_image(IMG_SIZE, IMG_SIZE);
	open_disk(true, NULL);
}

static void setup_image_only(void)
{
	make_image(IMG_SIZE, IMG_SIZE);
}

static void teardown(void)
{
	close_image();
}

/* Chains by hand: readable buffers first, then writable ones. */
static void add_out(struct vq_chain *c, const void *buf, size_t len)
{
	ck_assert_uint_eq(c->nr_in, 0);
	c->iov[c->nr_out++] = (struct iovec){(void *)buf, len};
	c->out_len += len;
}

static void add_in(struct vq_chain *c, void *buf, size_t len)
{
	c->iov[c->nr_out + c->nr_in++] = (struct iovec){buf, len};
	c->in_len += len;
}

static struct virtio_blk_outhdr hdr(uint32_t type, uint64_t sector)
{
	return (struct virtio_blk_outhdr){.type = htole32(type), .sector = htole64(sector)};
}

/* Run @c; the status returned must be the one in the buffer. */
static int run(enum disk_io io, struct vq_chain *c, uint32_t *used)
{
	*used = 0xdeadbeef;
	return blk_run_chain(blk, io, c, used);
}

/* Header, data, status in three buffers; the data goes the way @type says. */
static int rw(enum disk_io io, uint32_t type, uint64_t sector, void *data, size_t len,
	      uint32_t *used)
{
	struct virtio_blk_outhdr h = hdr(type, sector);
	struct vq_chain c = {0};
	uint8_t status = POISON;
	int r;

	add_out(&c, &h, sizeof(h));
	if (type == VIRTIO_BLK_T_OUT)
		add_out(&c, data, len);
	else if (len)
		add_in(&c, data, len);
	add_in(&c, &status, 1);
	r = run(io, &c, used);
	ck_assert_int_eq(r, status);
	return r;
}

/* One check per buffer, not per byte: each check is a message to the runner. */
static void assert_image_is(uint64_t off, uint64_t len, const char *what)
{
	static uint8_t buf[IMG_SIZE];
	uint64_t i = 0;

	ck_assert_uint_le(len, sizeof(buf));
	ck_assert_int_eq(pread(img_fd, buf, len, (off_t)off), (ssize_t)len);
	while (i < len && buf[i] == pattern(off + i))
		i++;
	ck_assert_msg(i == len, "%s: byte %llu changed", what, (unsigned long long)(off + i));
}

static void assert_image_untouched(void)
{
	struct stat st;

	ck_assert_int_eq(fstat(img_fd, &st), 0);
	ck_assert_int_eq(st.st_size, IMG_SIZE);
	assert_image_is(0, IMG_SIZE, "rejected request");
}

static void assert_all(const uint8_t *buf, size_t len, uint8_t v)
{
	size_t i = 0;

	while (i < len && buf[i] == v)
		i++;
	ck_assert_msg(i == len, "byte %zu is %#x, expected %#x", i, buf[i], v);
}

static void assert_image_zero(uint64_t off, uint64_t len)
{
	uint8_t *buf = malloc(len);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pread(img_fd, buf, len, (off_t)off), (ssize_t)len);
	assert_all(buf, len, 0);
	free(buf);
}

static void assert_pattern(const uint8_t *buf, uint64_t off, size_t len)
{
	size_t i = 0;

	while (i < len && buf[i] == pattern(off + i))
		i++;
	ck_assert_msg(i == len, "byte %zu is not the image's", i);
}

START_TEST(read_ok)
{
	uint8_t data[2 * SECTOR];
	uint32_t used;

	memset(data, POISON, sizeof(data));
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_IN, 3, data, sizeof(data), &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, sizeof(data) + 1);
	assert_pattern(data, 3 * SECTOR, sizeof(data));
}
END_TEST

START_TEST(write_ok)
{
	uint8_t data[2 * SECTOR], back[2 * SECTOR];
	uint32_t used;

	memset(data, 0x5a, sizeof(data));
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_OUT, 5, data, sizeof(data), &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1);
	ck_assert_int_eq(pread(img_fd, back, sizeof(back), 5 * SECTOR), (ssize_t)sizeof(back));
	assert_all(back, sizeof(back), 0x5a);
	assert_image_is(0, 5 * SECTOR, "before the write");
	assert_image_is(7 * SECTOR, IMG_SIZE - 7 * SECTOR, "after the write");
}
END_TEST

/* Odd buffer boundaries everywhere; the status shares the last buffer with data. */
START_TEST(scattered_buffers)
{
	struct virtio_blk_outhdr h = hdr(VIRTIO_BLK_T_IN, 10);
	uint8_t a[100], b[700], last[224 + 1];
	struct vq_chain c = {0};
	uint32_t used;

	memset(a, POISON, sizeof(a));
	memset(b, POISON, sizeof(b));
	memset(last, POISON, sizeof(last));
	add_out(&c, &h, 5);
	add_out(&c, (uint8_t *)&h + 5, sizeof(h) - 5);
	add_in(&c, a, sizeof(a));
	add_in(&c, b, sizeof(b));
	add_in(&c, last, sizeof(last));
	ck_assert_int_eq(run(IO, &c, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(last[224], VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1024 + 1);
	assert_pattern(a, 10 * SECTOR, sizeof(a));
	assert_pattern(b, 10 * SECTOR + 100, sizeof(b));
	assert_pattern(last, 10 * SECTOR + 800, 224);
}
END_TEST

/* Every place a 16-byte header can be cut in two, for a write with its data after it. */
START_TEST(header_split_anywhere)
{
	for (unsigned int cut = 1; cut < 16; cut++) {
		struct virtio_blk_outhdr h = hdr(VIRTIO_BLK_T_OUT, cut);
		uint8_t data[SECTOR], back[SECTOR], status = POISON;
		struct vq_chain c = {0};
		uint32_t used;

		memset(data, (int)cut, sizeof(data));
		add_out(&c, &h, cut);
		add_out(&c, (uint8_t *)&h + cut, sizeof(h) - cut);
		add_out(&c, data, sizeof(data));
		add_in(&c, &status, 1);
		ck_assert_int_eq(run(IO, &c, &used), VIRTIO_BLK_S_OK);
		ck_assert_int_eq(pread(img_fd, back, SECTOR, cut * SECTOR), SECTOR);
		assert_all(back, SECTOR, (uint8_t)cut);
	}
}
END_TEST

/* The header and the data in one readable buffer. */
START_TEST(header_and_data_in_one_buffer)
{
	uint8_t buf[16 + SECTOR], back[SECTOR], status = POISON;
	struct virtio_blk_outhdr h = hdr(VIRTIO_BLK_T_OUT, 20);
	struct vq_chain c = {0};
	uint32_t used;

	memcpy(buf, &h, sizeof(h));
	memset(buf + 16, 0x33, SECTOR);
	add_out(&c, buf, sizeof(buf));
	add_in(&c, &status, 1);
	ck_assert_int_eq(run(IO, &c, &used), VIRTIO_BLK_S_OK);
	ck_assert_int_eq(pread(img_fd, back, SECTOR, 20 * SECTOR), SECTOR);
	assert_all(back, SECTOR, 0x33);
}
END_TEST

START_TEST(zero_length_transfer)
{
	uint32_t used;

	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_IN, 0, NULL, 0, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1);
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_IN, IMG_SECTORS + 1, NULL, 0, &used),
			 VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(flush_ok)
{
	uint32_t used;

	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1);
}
END_TEST

START_TEST(get_id_serial)
{
	uint8_t id[32];
	uint32_t used;

	memset(id, POISON, sizeof(id));
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id), &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, VIRTIO_BLK_ID_BYTES + 1);
	ck_assert_mem_eq(id, "SERIAL-1", 8);
	assert_all(id + 8, VIRTIO_BLK_ID_BYTES - 8, 0);
	assert_all(id + VIRTIO_BLK_ID_BYTES, sizeof(id) - VIRTIO_BLK_ID_BYTES, POISON);
}
END_TEST

START_TEST(get_id_buffer_too_small)
{
	uint8_t id[VIRTIO_BLK_ID_BYTES - 1];
	uint32_t used;

	memset(id, POISON, sizeof(id));
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id), &used), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(used, 1);
	assert_all(id, sizeof(id), POISON);
}
END_TEST

START_TEST(ro_refuses_writes)
{
	uint8_t data[SECTOR];
	uint32_t used;

	memset(data, 0x77, sizeof(data));
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_OUT, 0, data, sizeof(data), &used),
			 VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(used, 1);
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_OUT, 0, NULL, 0, &used), VIRTIO_BLK_S_IOERR);
	assert_image_untouched();
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &used), VIRTIO_BLK_S_OK);
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_IN, 0, data, sizeof(data), &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(data[0], pattern(0));
}
END_TEST

/* Discard and write zeroes with a valid segment, refused for the disk being read-only. */
static int ranges_req(enum disk_io io, uint32_t type, const void *segs, size_t len, uint32_t *used)
{
	struct virtio_blk_outhdr h = hdr(type, 0);
	struct vq_chain c = {0};
	uint8_t status = POISON;
	int r;

	add_out(&c, &h, sizeof(h));
	if (len)
		add_out(&c, segs, len);
	add_in(&c, &status, 1);
	r = run(io, &c, used);
	ck_assert_int_eq(r, status);
	return r;
}

static struct virtio_blk_discard_write_zeroes seg(uint64_t sector, uint32_t n, uint32_t flags)
{
	return (struct virtio_blk_discard_write_zeroes){
	    .sector = htole64(sector), .num_sectors = htole32(n), .flags = htole32(flags)};
}

START_TEST(ro_refuses_discard_and_write_zeroes)
{
	struct virtio_blk_discard_write_zeroes s = seg(2, 4, 0);
	uint32_t used;

	ck_assert_int_eq(ranges_req(IO, VIRTIO_BLK_T_DISCARD, &s, sizeof(s), &used),
			 VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(ranges_req(IO, VIRTIO_BLK_T_WRITE_ZEROES, &s, sizeof(s), &used),
			 VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(used, 1);
	assert_image_untouched();
}
END_TEST

START_TEST(past_end)
{
	uint8_t data[2 * SECTOR];
	uint32_t used;

	memset(data, 0x11, sizeof(data));
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, data, SECTOR, &used),
			 VIRTIO_BLK_S_OK);
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_IN, IMG_SECTORS, data, SECTOR, &used),
			 VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, data, 2 * SECTOR, &used),
			 VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_OUT, IMG_SECTORS, data, SECTOR, &used),
			 VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_OUT, IMG_SECTORS - 1, data, 2 * SECTOR, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_image_untouched();
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_OUT, IMG_SECTORS - 1, data, SECTOR, &used),
			 VIRTIO_BLK_S_OK);
	assert_image_is(0, IMG_SIZE - SECTOR, "below the last sector");
}
END_TEST

/* Sectors whose byte offset, or end, does not fit in 64 bits. */
START_TEST(past_end_overflow)
{
	const uint64_t sectors[] = {UINT64_MAX, UINT64_MAX - 1, (UINT64_MAX >> 9) + 1,
				    UINT64_MAX >> 9, 1ULL << 63};
	uint8_t data[2 * SECTOR];
	uint32_t used;

	memset(data, 0x22, sizeof(data));
	for (unsigned int i = 0; i < ARRAY_SIZE(sectors); i++) {
		ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_OUT, sectors[i], data, sizeof(data), &used),
				 VIRTIO_BLK_S_IOERR);
		ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_IN, sectors[i], data, sizeof(data), &used),
				 VIRTIO_BLK_S_IOERR);
	}
	assert_all(data, sizeof(data), 0x22);
	assert_image_untouched();
}
END_TEST

START_TEST(length_not_sector_multiple)
{
	uint8_t data[2 * SECTOR];
	uint32_t used;

	memset(data, POISON, sizeof(data));
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_IN, 0, data, 1000, &used), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(used, 1);
	assert_all(data, sizeof(data), POISON);
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_OUT, 0, data, SECTOR + 1, &used), VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_OUT, 0, data, 1, &used), VIRTIO_BLK_S_IOERR);
	assert_image_untouched();
}
END_TEST

START_TEST(short_header)
{
	struct virtio_blk_outhdr h = hdr(VIRTIO_BLK_T_IN, 0);
	uint8_t data[SECTOR], status = POISON;
	struct vq_chain c = {0};
	uint32_t used;

	memset(data, POISON, sizeof(data));
	add_out(&c, &h, sizeof(h) - 1);
	add_in(&c, data, sizeof(data));
	add_in(&c, &status, 1);
	ck_assert_int_eq(run(IO, &c, &used), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(status, VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(used, 1);
	assert_all(data, sizeof(data), POISON);

	/* No readable buffer at all. */
	memset(&c, 0, sizeof(c));
	status = POISON;
	add_in(&c, &status, 1);
	ck_assert_int_eq(run(IO, &c, &used), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(status, VIRTIO_BLK_S_IOERR);
}
END_TEST

/* Nowhere to put a status: returned with length 0, nothing read, written or touched. */
START_TEST(missing_status_byte)
{
	struct virtio_blk_outhdr h = hdr(VIRTIO_BLK_T_OUT, 0);
	uint8_t data[SECTOR], copy[SECTOR];
	struct vq_chain c = {0};
	uint32_t used;

	memset(data, 0x44, sizeof(data));
	add_out(&c, &h, sizeof(h));
	add_out(&c, data, sizeof(data));
	ck_assert_int_eq(run(IO, &c, &used), -1);
	ck_assert_uint_eq(used, 0);
	assert_image_untouched();

	h = hdr(VIRTIO_BLK_T_IN, 0);
	memcpy(copy, data, sizeof(copy));
	ck_assert_int_eq(run(IO, &c, &used), -1);
	ck_assert_uint_eq(used, 0);
	ck_assert_mem_eq(data, copy, sizeof(data));

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(run(IO, &c, &used), -1);
	ck_assert_uint_eq(used, 0);
}
END_TEST

START_TEST(unknown_type)
{
	const uint32_t types[] = {2,	      3,	 5, 9, 12, VIRTIO_BLK_T_SECURE_ERASE,
				  0x80000001, UINT32_MAX};
	uint8_t data[SECTOR];
	uint32_t used;

	for (unsigned int i = 0; i < ARRAY_SIZE(types); i++) {
		memset(data, POISON, sizeof(data));
		ck_assert_int_eq(rw(IO, types[i], 0, data, sizeof(data), &used),
				 VIRTIO_BLK_S_UNSUPP);
		ck_assert_uint_eq(used, 1);
		assert_all(data, sizeof(data), POISON);
	}
	assert_image_untouched();
}
END_TEST

/* Data both ways: a write that wants data back, a read that brings some. */
static void assert_data_both_ways_refused(enum disk_io io, uint32_t type)
{
	struct virtio_blk_outhdr h = hdr(type, 0);
	uint8_t out[SECTOR], in[SECTOR], status = POISON;
	struct vq_chain c = {0};
	uint32_t used;

	memset(out, 0x66, sizeof(out));
	memset(in, POISON, sizeof(in));
	add_out(&c, &h, sizeof(h));
	add_out(&c, out, sizeof(out));
	add_in(&c, in, sizeof(in));
	add_in(&c, &status, 1);
	ck_assert_int_eq(run(io, &c, &used), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(used, 1);
	assert_all(in, sizeof(in), POISON);
	assert_image_untouched();
}

START_TEST(data_both_ways)
{
	assert_data_both_ways_refused(IO, VIRTIO_BLK_T_OUT);
	assert_data_both_ways_refused(IO, VIRTIO_BLK_T_IN);
}
END_TEST

static blkcnt_t image_blocks(void)
{
	struct stat st;

	ck_assert_int_eq(fstat(img_fd, &st), 0);
	return st.st_blocks;
}

/* Offsets 4 KiB-aligned so that whole file-system blocks can go. */
START_TEST(discard_punches_hole)
{
	struct virtio_blk_discard_write_zeroes s[2] = {seg(8, 16, 0), seg(40, 8, 0)};
	blkcnt_t before;
	uint32_t used;

	ck_assert_int_eq(fsync(img_fd), 0);
	before = image_blocks();
	ck_assert_int_eq(ranges_req(IO, VIRTIO_BLK_T_DISCARD, s, sizeof(s), &used),
			 VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1);
	ck_assert_int_lt(image_blocks(), before);
	ck_assert_int_eq(lseek(img_fd, 8 * SECTOR, SEEK_HOLE), 8 * SECTOR);
	ck_assert_int_eq(lseek(img_fd, 8 * SECTOR, SEEK_DATA), 24 * SECTOR);
	assert_image_zero(8 * SECTOR, 16 * SECTOR);
	assert_image_zero(40 * SECTOR, 8 * SECTOR);
	assert_image_is(0, 8 * SECTOR, "before the first range");
	assert_image_is(24 * SECTOR, 16 * SECTOR, "between the ranges");
	assert_image_is(48 * SECTOR, IMG_SIZE - 48 * SECTOR, "after the ranges");
}
END_TEST

/*
 * One range zeroed by @type with @flags: zeros there, the pattern around it.
 * Returns the image's blocks before, for the caller's allocation check.
 */
static blkcnt_t zero_one_range(enum disk_io io, uint32_t type, uint64_t sector, uint32_t n,
			       uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes s = seg(sector, n, flags);
	blkcnt_t before;
	uint32_t used;

	ck_assert_int_eq(fsync(img_fd), 0);
	before = image_blocks();
	ck_assert_int_eq(ranges_req(io, type, &s, sizeof(s), &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1);
	assert_image_zero(sector * SECTOR, n * SECTOR);
	assert_image_is(0, sector * SECTOR, "before the range");
	assert_image_is((sector + n) * SECTOR, IMG_SIZE - (sector + n) * SECTOR, "after the range");
	return before;
}

START_TEST(write_zeroes_keeps_blocks)
{
	blkcnt_t before = zero_one_range(IO, VIRTIO_BLK_T_WRITE_ZEROES, 9, 7, 0);

	ck_assert_int_ge(image_blocks(), before);
}
END_TEST

START_TEST(write_zeroes_unmap_punches_hole)
{
	blkcnt_t before = zero_one_range(IO, VIRTIO_BLK_T_WRITE_ZEROES, 16, 16,
					 VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);

	ck_assert_int_lt(image_blocks(), before);
	ck_assert_int_eq(lseek(img_fd, 16 * SECTOR, SEEK_HOLE), 16 * SECTOR);
}
END_TEST

/* A file system with neither fallocate mode: zeros are written instead. */
START_TEST(zero_fill_fallback)
{
	const uint64_t big = 3 * MiB, start = 7, len = (2 * MiB + 3 * SECTOR) / SECTOR;
	struct virtio_blk_discard_write_zeroes s = seg(start, (uint32_t)len, 0);
	uint8_t *buf = malloc(big);
	uint32_t used;
	uint64_t i = 0;

	ck_assert_ptr_nonnull(buf);
	replace_image(big, big);
	atomic_store(&blk->disk.no_punch_hole, true);
	atomic_store(&blk->disk.no_zero_range, true);
	ck_assert_int_eq(ranges_req(IO, VIRTIO_BLK_T_DISCARD, &s, sizeof(s), &used),
			 VIRTIO_BLK_S_OK);
	assert_image_zero(start * SECTOR, len * SECTOR);
	write_pattern(big);
	ck_assert_int_eq(ranges_req(IO, VIRTIO_BLK_T_WRITE_ZEROES, &s, sizeof(s), &used),
			 VIRTIO_BLK_S_OK);
	ck_assert_int_eq(pread(img_fd, buf, big, 0), (ssize_t)big);
	while (i < big &&
	       buf[i] == (i >= start * SECTOR && i < (start + len) * SECTOR ? 0 : pattern(i)))
		i++;
	ck_assert_msg(i == big, "byte %llu is wrong", (unsigned long long)i);
	free(buf);
}
END_TEST

/* Each bad list refused whole: the good segment before the bad one is not done either. */
START_TEST(bad_discard_segments)
{
	const struct {
		struct virtio_blk_discard_write_zeroes s[2];
		uint32_t type;
		uint8_t status;
	} cases[] = {
	    {{seg(0, 1, 0), seg(1, 1, 2)}, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_S_UNSUPP},
	    {{seg(0, 1, 0), seg(1, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)},
	     VIRTIO_BLK_T_DISCARD,
	     VIRTIO_BLK_S_UNSUPP},
	    {{seg(0, 1, 0), seg(1, 1, 4 | VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)},
	     VIRTIO_BLK_T_WRITE_ZEROES,
	     VIRTIO_BLK_S_UNSUPP},
	    {{seg(0, 1, 0), seg(IMG_SECTORS - 1, 2, 0)}, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_S_IOERR},
	    {{seg(0, 1, 0), seg(IMG_SECTORS, 1, 0)}, VIRTIO_BLK_T_WRITE_ZEROES, VIRTIO_BLK_S_IOERR},
	    {{seg(0, 1, 0), seg(UINT64_MAX, 2, 0)}, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_S_IOERR},
	    {{seg(0, 1, 0), seg(UINT64_MAX >> 9, UINT32_MAX, 0)},
	     VIRTIO_BLK_T_WRITE_ZEROES,
	     VIRTIO_BLK_S_IOERR},
	};
	uint32_t used;

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		ck_assert_msg(ranges_req(IO, cases[i].type, cases[i].s, sizeof(cases[i].s),
					 &used) == cases[i].status,
			      "case %u", i);
		ck_assert_uint_eq(used, 1);
	}
	assert_image_untouched();
}
END_TEST

START_TEST(bad_discard_list_length)
{
	static struct virtio_blk_discard_write_zeroes s[BLK_MAX_RANGES + 1];
	uint32_t used;

	for (unsigned int i = 0; i < ARRAY_SIZE(s); i++)
		s[i] = seg(i, 1, 0);
	ck_assert_int_eq(ranges_req(IO, VIRTIO_BLK_T_DISCARD, s, 0, &used), VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(ranges_req(IO, VIRTIO_BLK_T_DISCARD, s, 15, &used), VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(ranges_req(IO, VIRTIO_BLK_T_WRITE_ZEROES, s, 17, &used),
			 VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(ranges_req(IO, VIRTIO_BLK_T_DISCARD, s, sizeof(s), &used),
			 VIRTIO_BLK_S_IOERR);
	assert_image_untouched();
	ck_assert_int_eq(
	    ranges_req(IO, VIRTIO_BLK_T_WRITE_ZEROES, s, sizeof(s) - sizeof(s[0]), &used),
	    VIRTIO_BLK_S_OK);
	assert_image_zero(0, BLK_MAX_RANGES * SECTOR);
	assert_image_is(BLK_MAX_RANGES * SECTOR, IMG_SIZE - BLK_MAX_RANGES * SECTOR, "after");
}
END_TEST

/* A segment cut across buffers; a discard wanting data back is refused. */
START_TEST(discard_buffer_layout)
{
	struct virtio_blk_discard_write_zeroes s = seg(2, 3, 0);
	struct virtio_blk_outhdr h = hdr(VIRTIO_BLK_T_WRITE_ZEROES, 0);
	uint8_t extra[SECTOR], status = POISON;
	struct vq_chain c = {0};
	uint32_t used;

	add_out(&c, &h, sizeof(h));
	add_out(&c, &s, 3);
	add_out(&c, (uint8_t *)&s + 3, sizeof(s) - 3);
	add_in(&c, extra, sizeof(extra));
	add_in(&c, &status, 1);
	ck_assert_int_eq(run(IO, &c, &used), VIRTIO_BLK_S_IOERR);
	assert_image_untouched();
	c.nr_in = 0;
	c.in_len = 0;
	add_in(&c, &status, 1);
	ck_assert_int_eq(run(IO, &c, &used), VIRTIO_BLK_S_OK);
	assert_image_zero(2 * SECTOR, 3 * SECTOR);
}
END_TEST

/* The largest segment allowed and one sector more, on a sparse image that holds both. */
START_TEST(discard_segment_size_limit)
{
	const uint64_t sectors = BLK_MAX_RANGE_SECTORS + 8;
	struct virtio_blk_discard_write_zeroes too_big = seg(0, BLK_MAX_RANGE_SECTORS + 1, 0);
	struct virtio_blk_discard_write_zeroes max = seg(0, BLK_MAX_RANGE_SECTORS, 0);
	uint32_t used;

	replace_image(sectors * SECTOR, 0);
	ck_assert_int_eq(ranges_req(IO, VIRTIO_BLK_T_DISCARD, &too_big, sizeof(too_big), &used),
			 VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(
	    ranges_req(IO, VIRTIO_BLK_T_WRITE_ZEROES, &too_big, sizeof(too_big), &used),
	    VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(ranges_req(IO, VIRTIO_BLK_T_DISCARD, &max, sizeof(max), &used),
			 VIRTIO_BLK_S_OK);
}
END_TEST

/* The image shrinks under the disk: reads past its new end fail on the host. */
START_TEST(host_error_is_ioerr)
{
	uint8_t data[2 * SECTOR];
	uint32_t used;

	ck_assert_int_eq(ftruncate(img_fd, 3 * SECTOR), 0);
	memset(data, POISON, sizeof(data));
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_IN, 2, data, sizeof(data), &used), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(used, 1);
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_IN, 1, data, sizeof(data), &used), VIRTIO_BLK_S_OK);
}
END_TEST

/* A driver without FLUSH: the write is still done (and synced). */
START_TEST(write_without_flush_feature)
{
	uint8_t data[SECTOR], back[SECTOR];
	uint32_t used;

	blk->vdev.features &= ~BIT(VIRTIO_BLK_F_FLUSH);
	memset(data, 0x3c, sizeof(data));
	ck_assert_int_eq(rw(IO, VIRTIO_BLK_T_OUT, 4, data, sizeof(data), &used), VIRTIO_BLK_S_OK);
	ck_assert_int_eq(pread(img_fd, back, SECTOR, 4 * SECTOR), SECTOR);
	assert_all(back, SECTOR, 0x3c);
}
END_TEST

/* Config space as the driver reads it, through the virtio core. */
static uint64_t config_field(size_t offset, size_t size)
{
	uint64_t v = 0;

	virtio_config_read(&blk->vdev, (uint32_t)offset, &v, (uint32_t)size);
	return le64toh(v);
}

#define CONFIG(field)                                                                              \
	config_field(offsetof(struct virtio_blk_config, field),                                    \
		     sizeof(((struct virtio_blk_config *)0)->field))

START_TEST(config_space)
{
	struct stat st;

	virtio_blk_destroy(blk);
	blk = create(path, false, NULL, DISK_IO_SYNC, 2, 4);
	ck_assert_msg(blk, "%s", last_error());
	ck_assert_int_eq(fstat(img_fd, &st), 0);
	ck_assert_uint_eq(CONFIG(capacity), IMG_SECTORS);
	ck_assert_uint_eq(CONFIG(seg_max), VQ_MAX_SIZE - 2);
	ck_assert_uint_eq(CONFIG(blk_size), 512);
	ck_assert_uint_eq(CONFIG(num_queues), 4);
	ck_assert_uint_eq(CONFIG(max_discard_sectors), BLK_MAX_RANGE_SECTORS);
	ck_assert_uint_eq(CONFIG(max_discard_seg), BLK_MAX_RANGES);
	ck_assert_uint_eq(CONFIG(discard_sector_alignment), st.st_blksize / 512);
	ck_assert_uint_eq(CONFIG(max_write_zeroes_sectors), BLK_MAX_RANGE_SECTORS);
	ck_assert_uint_eq(CONFIG(max_write_zeroes_seg), BLK_MAX_RANGES);
	ck_assert_uint_eq(CONFIG(write_zeroes_may_unmap), 1);
	ck_assert_uint_eq(CONFIG(size_max), 0);
	ck_assert_uint_eq(blk->vdev.nr_queues, 4);
	ck_assert_uint_eq(blk->vdev.device_id, VIRTIO_ID_BLOCK);
	ck_assert_str_eq(blk->vdev.name, "virtio-blk2");
}
END_TEST

/* A size that is not a whole number of sectors: the tail is not part of the disk. */
START_TEST(config_capacity_rounds_down)
{
	uint8_t data[SECTOR];
	uint32_t used;

	virtio_blk_destroy(blk);
	ck_assert_int_eq(ftruncate(img_fd, IMG_SIZE + 100), 0);
	blk = create(path, false, NULL, DISK_IO_SYNC, 0, 1);
	ck_assert_msg(blk, "%s", last_error());
	ck_assert_uint_eq(CONFIG(capacity), IMG_SECTORS);
	ck_assert_int_eq(rw(DISK_IO_SYNC, VIRTIO_BLK_T_IN, IMG_SECTORS, data, SECTOR, &used),
			 VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(rw(DISK_IO_SYNC, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, data, SECTOR, &used),
			 VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(features_read_write)
{
	uint64_t f = blk->vdev.host_features;

	ck_assert(f & BIT(VIRTIO_BLK_F_SEG_MAX));
	ck_assert(f & BIT(VIRTIO_BLK_F_BLK_SIZE));
	ck_assert(f & BIT(VIRTIO_BLK_F_FLUSH));
	ck_assert(f & BIT(VIRTIO_BLK_F_MQ));
	ck_assert(f & BIT(VIRTIO_BLK_F_DISCARD));
	ck_assert(f & BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	ck_assert(f & BIT(VIRTIO_F_VERSION_1));
	ck_assert(!(f & BIT(VIRTIO_BLK_F_RO)));
	ck_assert(!(f & BIT(VIRTIO_BLK_F_SIZE_MAX)));
	ck_assert(!(f & BIT(VIRTIO_BLK_F_GEOMETRY)));
	ck_assert(!(f & BIT(VIRTIO_BLK_F_CONFIG_WCE)));
}
END_TEST

START_TEST(features_read_only)
{
	uint64_t f = blk->vdev.host_features;

	ck_assert(f & BIT(VIRTIO_BLK_F_RO));
	ck_assert(f & BIT(VIRTIO_BLK_F_FLUSH));
	ck_assert(!(f & BIT(VIRTIO_BLK_F_DISCARD)));
	ck_assert(!(f & BIT(VIRTIO_BLK_F_WRITE_ZEROES)));
}
END_TEST

static void assert_id(struct virtio_blk *b, const char *want)
{
	uint8_t id[VIRTIO_BLK_ID_BYTES] = {0};

	memcpy(id, want, strlen(want));
	ck_assert_mem_eq(b->id, id, sizeof(id));
}

/* No serial given: one from the disk's index. An empty one stays empty. */
START_TEST(serial_defaults)
{
	struct virtio_blk *other;

	assert_id(blk, "SERIAL-1");
	virtio_blk_destroy(blk);
	blk = create(path, true, NULL, DISK_IO_SYNC, 0, 1);
	ck_assert_msg(blk, "%s", last_error());
	assert_id(blk, "vmm-disk0");
	other = create(path, true, NULL, DISK_IO_SYNC, 6, 1);
	ck_assert_msg(other, "%s", last_error());
	assert_id(other, "vmm-disk6");
	virtio_blk_destroy(other);
	virtio_blk_destroy(blk);
	blk = create(path, true, "", DISK_IO_SYNC, 5, 1);
	ck_assert_msg(blk, "%s", last_error());
	assert_id(blk, "");
	other = create(path, true, "12345678901234567890", DISK_IO_SYNC, 7, 1);
	ck_assert_msg(other, "%s", last_error());
	assert_id(other, "12345678901234567890");
	virtio_blk_destroy(other);
	ck_assert_ptr_null(create(path, true, "123456789012345678901", DISK_IO_SYNC, 7, 1));
	ck_assert_error("serial");
}
END_TEST

static void assert_create_fails(const char *p, bool ro, const char *sub)
{
	struct virtio_blk *b = create(p, ro, NULL, DISK_IO_AUTO, 0, 1);

	ck_assert_msg(!b, "created a disk on %s", p);
	ck_assert_error(sub);
	ck_assert_msg(!strchr(last_error(), '\n'), "two lines: %s", last_error());
}

/* The temporary folder stands for a directory; a name just freed in it, for a missing file. */
START_TEST(create_errors_missing_and_directory)
{
	char missing[PATH_MAX];
	const char *dir = tmp_dir();

	snprintf(missing, sizeof(missing), "%s/vmm-blk-missing-XXXXXX", dir);
	close(mkstemp(missing));
	unlink(missing);
	assert_create_fails(missing, false, "No such file");
	ck_assert_error(missing);
	assert_create_fails(missing, true, "No such file");
	assert_create_fails(dir, false, "is a directory");
	assert_create_fails(dir, true, "is a directory");
}
END_TEST

START_TEST(create_errors_empty_and_tiny)
{
	ck_assert_int_eq(ftruncate(img_fd, 0), 0);
	assert_create_fails(path, false, "is empty");
	ck_assert_int_eq(ftruncate(img_fd, SECTOR - 1), 0);
	assert_create_fails(path, true, "smaller than one 512-byte sector");
	ck_assert_int_eq(ftruncate(img_fd, SECTOR), 0);
	blk = create(path, true, NULL, DISK_IO_SYNC, 0, 1);
	ck_assert_msg(blk, "%s", last_error());
	ck_assert_uint_eq(CONFIG(capacity), 1);
}
END_TEST

START_TEST(create_bad_queue_count)
{
	ck_assert_ptr_null(create(path, false, NULL, DISK_IO_SYNC, 0, 0));
	ck_assert_error("queues");
	ck_assert_ptr_null(create(path, false, NULL, DISK_IO_SYNC, 0, VIRTIO_MAX_QUEUES + 1));
	ck_assert_error("queues");
}
END_TEST

/* One writer at a time; readers share; the lock goes with the device. */
START_TEST(image_lock)
{
	struct virtio_blk *second;

	blk = create(path, false, NULL, DISK_IO_SYNC, 0, 1);
	ck_assert_msg(blk, "%s", last_error());
	assert_create_fails(path, false, "locked");
	assert_create_fails(path, true, "locked");
	virtio_blk_destroy(blk);
	blk = create(path, true, NULL, DISK_IO_SYNC, 0, 1);
	ck_assert_msg(blk, "%s", last_error());
	second = create(path, true, NULL, DISK_IO_SYNC, 1, 1);
	ck_assert_msg(second, "two readers: %s", last_error());
	assert_create_fails(path, false, "locked");
	virtio_blk_destroy(second);
	virtio_blk_destroy(blk);
	blk = create(path, false, NULL, DISK_IO_SYNC, 0, 1);
	ck_assert_msg(blk, "after the others closed: %s", last_error());
}
END_TEST

START_TEST(io_selection)
{
	virtio_blk_destroy(blk);
	blk = create(path, false, NULL, DISK_IO_SYNC, 0, 1);
	ck_assert_msg(blk, "%s", last_error());
	ck_assert_int_eq(blk->io, DISK_IO_SYNC);
	virtio_blk_destroy(blk);
	blk = create(path, false, NULL, DISK_IO_AUTO, 0, 1);
	ck_assert_msg(blk, "%s", last_error());
	ck_assert_int_eq(blk->io, disk_uring_probe() == 0 ? DISK_IO_URING : DISK_IO_SYNC);
	ck_assert(blk->io_fallback);
}
END_TEST

/*
 * Whole queues: the device driven through the virtio core as a driver
 * would, rings and buffers in guest memory, the worker threads serving them.
 */
#define QSIZE	      16
#define NR_QUEUES     2
#define MEM_SIZE      (16 * MiB)
#define DESC_GPA(q)   (0x100000ULL + (q)*0x10000ULL)
#define AVAIL_GPA(q)  (DESC_GPA(q) + 0x1000)
#define USED_GPA(q)   (DESC_GPA(q) + 0x2000)
#define BUF_GPA(q, i) (0x400000ULL + (q)*0x100000ULL + (i)*0x2000ULL)

static int irq_fd = -1;
static struct vring_driver drv[NR_QUEUES];

static void count_interrupt(void *opaque)
{
	(void)opaque;
	eventfd_write(irq_fd, 1);
}

static void *gpa(uint64_t addr)
{
	return vring_gpa(&mem, addr, 1);
}

/* Fresh rings for queue @q, handed to the device. */
static void set_queue(struct virtio_dev *vdev, unsigned int q)
{
	vring_driver_init(&drv[q], &mem, DESC_GPA(q), AVAIL_GPA(q), USED_GPA(q), QSIZE);
	virtio_queue_set_num(vdev, q, QSIZE);
	virtio_queue_set_addr(vdev, q, VQ_AREA_DESC, false, (uint32_t)DESC_GPA(q));
	virtio_queue_set_addr(vdev, q, VQ_AREA_DRIVER, false, (uint32_t)AVAIL_GPA(q));
	virtio_queue_set_addr(vdev, q, VQ_AREA_DEVICE, false, (uint32_t)USED_GPA(q));
	virtio_queue_set_ready(vdev, q, true);
}

/* How long the workers of the next start_device() poll (the tests' default: not at all). */
static uint64_t start_poll_ns;

/* Linux's probe, short: features (no EVENT_IDX: every completion interrupts), queues, go. */
static void start_device(enum disk_io io, unsigned int nr_queues)
{
	uint64_t f;
	struct virtio_dev *vdev;

	ck_assert_msg(guest_mem_alloc(&mem, MEM_SIZE) == 0, "%s", last_error());
	irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	blk = create(path, false, "Q", io, 0, NR_QUEUES);
	ck_assert_msg(blk, "%s", last_error());
	blk->poll_ns = start_poll_ns;
	start_poll_ns = 0;
	vdev = virtio_blk_dev(blk);
	vdev->transport = (struct virtio_transport){.interrupt = count_interrupt};
	f = vdev->host_features & ~BIT(VIRTIO_RING_F_EVENT_IDX);
	virtio_set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	virtio_set_driver_features(vdev, 0, (uint32_t)f);
	virtio_set_driver_features(vdev, 1, (uint32_t)(f >> 32));
	virtio_set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				    VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int q = 0; q < nr_queues; q++)
		set_queue(vdev, q);
	virtio_set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				    VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	ck_assert_uint_eq(virtio_get_status(vdev) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	ck_assert(vdev->active);
}

static void stop_device(void)
{
	virtio_blk_destroy(blk);
	blk = NULL;
	guest_mem_free(&mem);
	close(irq_fd);
	irq_fd = -1;
}

/* Request @i on queue @q: header, data and status at BUF_GPA(q, i), posted as one chain. */
static void post(unsigned int q, unsigned int i, uint32_t type, uint64_t sector, uint8_t fill)
{
	uint64_t base = BUF_GPA(q, i);
	bool write = type == VIRTIO_BLK_T_OUT;
	struct virtio_blk_outhdr h = hdr(type, sector);
	const struct vring_seg segs[] = {
	    VRING_OUT(base, sizeof(h)),
	    {base + 0x100, SECTOR, write ? 0 : VRING_DESC_F_WRITE},
	    VRING_IN(base + 0x100 + SECTOR, 1),
	};

	memcpy(gpa(base), &h, sizeof(h));
	memset(gpa(base + 0x100), fill, SECTOR);
	*(uint8_t *)gpa(base + 0x100 + SECTOR) = POISON;
	vring_post(&drv[q], segs, ARRAY_SIZE(segs));
}

static uint16_t used_idx(unsigned int q)
{
	return vring_used_idx(&drv[q]);
}

/* Wait (on the interrupt, 10 s at most) until queue @q has used @n entries. */
static void wait_used(unsigned int q, uint16_t n)
{
	eventfd_t count;

	while (used_idx(q) != n) {
		ck_assert_msg(poll(&(struct pollfd){.fd = irq_fd, .events = POLLIN}, 1, 10000) == 1,
			      "queue %u: %u of %u used, no interrupt", q, used_idx(q), n);
		eventfd_read(irq_fd, &count);
	}
}

static uint8_t req_status(unsigned int q, unsigned int i)
{
	return *(uint8_t *)gpa(BUF_GPA(q, i) + 0x100 + SECTOR);
}

/* Writes on both queues, then reads of what the other queue wrote. */
START_TEST(queues_served_by_workers)
{
	const unsigned int n = QSIZE / 3;
	struct vring_used *used;

	start_device(IO, NR_QUEUES);
	for (unsigned int q = 0; q < NR_QUEUES; q++) {
		for (unsigned int i = 0; i < n; i++)
			post(q, i, VIRTIO_BLK_T_OUT, q * n + i, (uint8_t)(0x10 * q + i + 1));
		virtio_queue_notify(&blk->vdev, q);
	}
	for (unsigned int q = 0; q < NR_QUEUES; q++) {
		wait_used(q, (uint16_t)n);
		used = drv[q].used;
		for (unsigned int i = 0; i < n; i++) {
			ck_assert_uint_eq(req_status(q, i), VIRTIO_BLK_S_OK);
			ck_assert_uint_eq(used->ring[i].len, 1);
		}
	}
	for (unsigned int q = 0; q < NR_QUEUES; q++) {
		for (unsigned int i = 0; i < n; i++)
			post(q, i, VIRTIO_BLK_T_IN, (1 - q) * n + i, 0);
		virtio_queue_notify(&blk->vdev, q);
	}
	for (unsigned int q = 0; q < NR_QUEUES; q++) {
		wait_used(q, (uint16_t)(2 * n));
		used = drv[q].used;
		for (unsigned int i = 0; i < n; i++) {
			uint8_t *data = gpa(BUF_GPA(q, i) + 0x100);

			ck_assert_uint_eq(req_status(q, i), VIRTIO_BLK_S_OK);
			ck_assert_uint_eq(used->ring[(n + i) % QSIZE].len, SECTOR + 1);
			assert_all(data, SECTOR, (uint8_t)(0x10 * (1 - q) + i + 1));
		}
	}
	stop_device();
}
END_TEST

/* A reset stops the workers; the driver sets the device up again and it serves anew. */
START_TEST(reset_and_reactivate)
{
	start_device(IO, 1);
	post(0, 0, VIRTIO_BLK_T_OUT, 1, 0x99);
	virtio_queue_notify(&blk->vdev, 0);
	wait_used(0, 1);
	virtio_set_status(&blk->vdev, 0);
	ck_assert(!blk->vdev.active);
	ck_assert(!blk->workers[0].running);
	virtio_set_status(&blk->vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	virtio_set_driver_features(&blk->vdev, 0, 1U << VIRTIO_BLK_F_FLUSH);
	virtio_set_driver_features(&blk->vdev, 1, 1U << (VIRTIO_F_VERSION_1 - 32));
	virtio_set_status(&blk->vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					  VIRTIO_CONFIG_S_FEATURES_OK);
	set_queue(&blk->vdev, 0);
	virtio_set_status(&blk->vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					  VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	ck_assert(blk->workers[0].running);
	post(0, 1, VIRTIO_BLK_T_IN, 1, 0);
	virtio_queue_notify(&blk->vdev, 0);
	wait_used(0, 1);
	ck_assert_uint_eq(req_status(0, 1), VIRTIO_BLK_S_OK);
	assert_all(gpa(BUF_GPA(0, 1) + 0x100), SECTOR, 0x99);
	stop_device();
}
END_TEST

/*
 * A polling worker keeps notifications off for its window and takes what
 * the driver posts meanwhile without being notified; stopping it does not
 * wait for the window to end (a long one here, 60 s, past Check's timeout).
 */
START_TEST(polling_worker_needs_no_notify)
{
	start_poll_ns = 60ull * 1000000000;
	start_device(IO, 1);
	post(0, 0, VIRTIO_BLK_T_OUT, 2, 0x5a);
	virtio_queue_notify(&blk->vdev, 0);
	wait_used(0, 1);
	ck_assert(drv[0].used->flags & VRING_USED_F_NO_NOTIFY);
	post(0, 1, VIRTIO_BLK_T_IN, 2, 0);
	wait_used(0, 2); /* no notify */
	ck_assert_uint_eq(req_status(0, 1), VIRTIO_BLK_S_OK);
	assert_all(gpa(BUF_GPA(0, 1) + 0x100), SECTOR, 0x5a);
	stop_device();
}
END_TEST

/* A head out of the table: the queue is broken, the device asks for a reset. */
START_TEST(broken_ring_needs_reset)
{
	eventfd_t count;

	start_device(IO, 1);
	vring_publish(&drv[0], QSIZE + 3);
	virtio_queue_notify(&blk->vdev, 0);
	ck_assert_int_eq(poll(&(struct pollfd){.fd = irq_fd, .events = POLLIN}, 1, 10000), 1);
	eventfd_read(irq_fd, &count);
	ck_assert(virtio_get_status(&blk->vdev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert(virtio_get_isr(&blk->vdev) & VIRTIO_ISR_CONFIG);
	ck_assert_uint_eq(used_idx(0), 0);
	virtio_queue_notify(&blk->vdev, 0); /* ignored, and no spinning on it */
	stop_device();
}
END_TEST

static double thread_cpu_seconds(pthread_t thread)
{
	struct timespec ts;
	clockid_t clock;

	ck_assert_int_eq(pthread_getcpuclockid(thread, &clock), 0);
	ck_assert_int_eq(clock_gettime(clock, &ts), 0);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Once the device is broken, a request posted on its other queue is not
 * served, and that queue's worker, polling or not, goes to sleep rather
 * than spin on work it may not take: over 200 ms of wall time it uses a
 * small part of it (a spinning one uses all of it).
 */
START_TEST(broken_device_worker_sleeps)
{
	double before;

	start_poll_ns = 32000;
	start_device(IO, 2);
	vring_publish(&drv[0], QSIZE + 3);
	virtio_queue_notify(&blk->vdev, 0);
	ck_assert_int_eq(poll(&(struct pollfd){.fd = irq_fd, .events = POLLIN}, 1, 10000), 1);
	ck_assert(virtio_get_status(&blk->vdev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	post(1, 0, VIRTIO_BLK_T_IN, 0, 0);
	virtio_queue_notify(&blk->vdev, 1);
	before = thread_cpu_seconds(blk->workers[1].thread);
	usleep(200000);
	ck_assert_msg(thread_cpu_seconds(blk->workers[1].thread) - before < 0.05,
		      "the worker of the healthy queue spins");
	ck_assert_uint_eq(used_idx(1), 0);
	stop_device();
}
END_TEST

static TCase *backend_tcase(Suite *s, const char *name, void (*setup_fn)(void),
			    void (*teardown_fn)(void))
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup_fn, teardown_fn);
	suite_add_tcase(s, tc);
	return tc;
}

/* Both backends where the host has io_uring; say so where it has not. */
static int nr_backends(void)
{
	if (disk_uring_probe() == 0)
		return 2;
	fprintf(stderr, "blk tests: %s; the io_uring cases are not run\n", last_error());
	return 1;
}

Suite *blk_suite(void)
{
	Suite *s = suite_create("blk");
	int nb = nr_backends();
	TCase *req = backend_tcase(s, "requests", setup, teardown);
	TCase *ro = backend_tcase(s, "read_only", setup_ro, teardown);
	TCase *rng = backend_tcase(s, "discard_write_zeroes", setup, teardown);
	TCase *dev = backend_tcase(s, "device", setup, teardown);
	TCase *open = backend_tcase(s, "open", setup_image_only, teardown);
	TCase *q = backend_tcase(s, "queues", setup_image_only, teardown);

	tcase_add_loop_test(req, read_ok, 0, nb);
	tcase_add_loop_test(req, write_ok, 0, nb);
	tcase_add_loop_test(req, scattered_buffers, 0, nb);
	tcase_add_loop_test(req, header_split_anywhere, 0, nb);
	tcase_add_loop_test(req, header_and_data_in_one_buffer, 0, nb);
	tcase_add_loop_test(req, zero_length_transfer, 0, nb);
	tcase_add_loop_test(req, flush_ok, 0, nb);
	tcase_add_loop_test(req, get_id_serial, 0, nb);
	tcase_add_loop_test(req, get_id_buffer_too_small, 0, nb);
	tcase_add_loop_test(req, past_end, 0, nb);
	tcase_add_loop_test(req, past_end_overflow, 0, nb);
	tcase_add_loop_test(req, length_not_sector_multiple, 0, nb);
	tcase_add_loop_test(req, short_header, 0, nb);
	tcase_add_loop_test(req, missing_status_byte, 0, nb);
	tcase_add_loop_test(req, unknown_type, 0, nb);
	tcase_add_loop_test(req, data_both_ways, 0, nb);
	tcase_add_loop_test(req, host_error_is_ioerr, 0, nb);
	tcase_add_loop_test(req, write_without_flush_feature, 0, nb);
	tcase_add_loop_test(ro, ro_refuses_writes, 0, nb);
	tcase_add_loop_test(ro, ro_refuses_discard_and_write_zeroes, 0, nb);
	tcase_add_loop_test(rng, discard_punches_hole, 0, nb);
	tcase_add_loop_test(rng, write_zeroes_keeps_blocks, 0, nb);
	tcase_add_loop_test(rng, write_zeroes_unmap_punches_hole, 0, nb);
	tcase_add_loop_test(rng, zero_fill_fallback, 0, nb);
	tcase_add_loop_test(rng, bad_discard_segments, 0, nb);
	tcase_add_loop_test(rng, bad_discard_list_length, 0, nb);
	tcase_add_loop_test(rng, discard_buffer_layout, 0, nb);
	tcase_add_loop_test(rng, discard_segment_size_limit, 0, nb);
	tcase_add_test(dev, config_space);
	tcase_add_test(dev, config_capacity_rounds_down);
	tcase_add_test(dev, features_read_write);
	tcase_add_test(ro, features_read_only);
	tcase_add_test(dev, serial_defaults);
	tcase_add_test(dev, io_selection);
	tcase_add_test(open, create_errors_missing_and_directory);
	tcase_add_test(open, create_errors_empty_and_tiny);
	tcase_add_test(open, create_bad_queue_count);
	tcase_add_test(open, image_lock);
	tcase_add_loop_test(q, queues_served_by_workers, 0, nb);
	tcase_add_loop_test(q, reset_and_reactivate, 0, nb);
	tcase_add_loop_test(q, broken_ring_needs_reset, 0, nb);
	tcase_add_loop_test(q, polling_worker_needs_no_notify, 0, nb);
	tcase_add_loop_test(q, broken_device_worker_sleeps, 0, nb);
	return s;
}
