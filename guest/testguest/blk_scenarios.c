// SPDX-License-Identifier: MIT
/*
 * The blk group: what a virtio-blk device must do for a correct driver.
 * Every write is read back and compared, every refusal is checked for its
 * exact status and for leaving the disk as it was.
 *
 * Disks: the first writable virtio-blk disk is scratch (at least 4 MiB;
 * anything on it is overwritten), the first read-only one is only read.
 * Command-line words:
 *   tg.blk.serial=ID	    the scratch disk's serial (GET_ID); without it get_id skips
 *   tg.blk.ro_serial=ID    the read-only disk's serial, checked when given
 *   tg.blk.ro_pattern=1    the read-only disk holds the text tests/guest/ writes:
 *			    sector N starts with "tg-ro %08u" (N)
 *   tg.blk.sectors=N	    the scratch disk's capacity, checked when given
 *   tg.blk.id_unpadded=1   GET_ID need not NUL-pad the ID, only terminate it (QEMU)
 *   tg.blk.ro_discard_ok=1 a discard on the read-only disk may answer OK (QEMU)
 *
 * Data is a pattern that depends on a seed and on the byte's offset on the
 * disk, so a sector read from the wrong place, a stale sector or a short
 * transfer all show. Kernel mode is emulated on the development machines
 * (about 0.7 us per 8 bytes copied, ~0.4 ms per request), so patterns are
 * made and checked in ring 3 (tg_run_user), and the one scenario with many
 * requests (wrap) runs its whole loop there.
 */
#include <stdarg.h>

#include "rt.h"
#include "scenario.h"
#include "virtio.h"
#include "virtio_blk.h"
#include "virtio_mmio.h"

#define SECTOR	       VIRTIO_BLK_SECTOR_SIZE
#define MIN_SECTORS    8192 /* 4 MiB: the regions below fit */
#define MAX_IO_SECTORS 2048 /* 1 MiB, the largest request */

/* Where each scenario works on the scratch disk (each writes what it checks first). */
#define RW_BASE	      1
#define INDIRECT_BASE 4200
#define FLUSH_BASE    4400
#define DISCARD_BASE  4608
#define WZ_BASE	      6000
#define MODE_BASE     6200
#define WRAP_BASE     7000
#define WRAP_SECTORS  64

/* The wrap scenario: more requests than the 16-bit ring indices count. */
#define WRAP_QUEUE_SIZE 8
#define WRAP_REQUESTS	(65536 + 8192)
/* Ring 3 gives up on a device that stops answering after this long. */
#define STALL_MS 5000

static char *msg_buf;
static size_t msg_len;

static void report_to(char *msg, size_t len)
{
	msg_buf = msg;
	msg_len = len;
}

/* Write the reason of a FAIL or SKIP (or a PASS's note); returns @r. */
__attribute__((format(printf, 2, 3))) static enum tg_result say(enum tg_result r, const char *fmt,
								...)
{
	va_list ap;

	va_start(ap, fmt);
	tg_vsnprintf(msg_buf, msg_len, fmt, ap);
	va_end(ap);
	return r;
}

/* For helpers: record why and return false. */
__attribute__((format(printf, 1, 2))) static bool bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tg_vsnprintf(msg_buf, msg_len, fmt, ap);
	va_end(ap);
	return false;
}

/* A FAIL whose reason (already written) gets @what in front. */
static enum tg_result prefix(const char *what)
{
	char why[160];

	tg_snprintf(why, sizeof(why), "%s", msg_buf);
	return say(TG_FAIL, "%s: %s", what, why);
}

static const char *status_name(int r)
{
	switch (r) {
	case VIRTIO_BLK_S_OK: return "OK";
	case VIRTIO_BLK_S_IOERR: return "IOERR";
	case VIRTIO_BLK_S_UNSUPP: return "UNSUPP";
	}
	return r < 0 ? virtio_strerror(r) : "?";
}

static bool expect_status(int got, int want, const char *what)
{
	if (got == want)
		return true;
	return bad("%s: %s, expected %s", what, status_name(got), status_name(want));
}

/* Seeds differ between runs, so data left on the image by an earlier run cannot pass. */
static uint64_t new_seed(void)
{
	static uint64_t n;

	return (tg_rdtsc() ^ (++n << 48)) | 1;
}

static struct virtio_blk *find_disk(bool ro)
{
	struct virtio_blk *blk;

	for (unsigned int n = 0; (blk = virtio_blk_get(n)); n++)
		if (blk->ro == ro)
			return blk;
	return NULL;
}

/* The scratch disk, big enough for the regions above; NULL (and why) if there is none. */
static struct virtio_blk *scratch(void)
{
	struct virtio_blk *blk = find_disk(false);

	if (!blk) {
		bad("no writable virtio-blk disk");
		return NULL;
	}
	if (blk->capacity < MIN_SECTORS) {
		bad("scratch disk of %llu sectors, fewer than %u",
		    (unsigned long long)blk->capacity, MIN_SECTORS);
		return NULL;
	}
	return blk;
}

/* Patterns, made and checked in ring 3. */

/* Word @word (byte offset / 8) of pattern @seed; seed 0 is zeros. */
static uint64_t pat_word(uint64_t seed, uint64_t word)
{
	uint64_t x;

	if (!seed)
		return 0;
	x = seed ^ (word * 0x9e3779b97f4a7c15ULL);
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint8_t pat_byte(uint64_t seed, uint64_t off)
{
	return (uint8_t)(pat_word(seed, off >> 3) >> (8 * (off & 7)));
}

struct pat_job {
	const struct virtio_sg *sg; /* the buffers, laid end to end on the disk */
	unsigned int nr;
	uint64_t disk_off; /* of the first byte */
	uint64_t seed;
	bool check; /* compare instead of fill */
	/* Out, for a check: the first byte that differs. */
	uint64_t bad_off;
	uint8_t got;
};

static long pat_user(void *arg)
{
	struct pat_job *j = arg;
	uint64_t off = j->disk_off, w = pat_word(j->seed, off >> 3);

	for (unsigned int i = 0; i < j->nr; i++) {
		uint8_t *p = (uint8_t *)(uintptr_t)j->sg[i].addr;

		for (uint32_t k = 0; k < j->sg[i].len; k++, off++) {
			uint8_t want;

			if (!(off & 7))
				w = pat_word(j->seed, off >> 3);
			want = (uint8_t)(w >> (8 * (off & 7)));
			if (!j->check) {
				p[k] = want;
			} else if (p[k] != want) {
				j->bad_off = off;
				j->got = p[k];
				return 1;
			}
		}
	}
	return 0;
}

static void fill_sg(const struct virtio_sg *sg, unsigned int nr, uint64_t sector, uint64_t seed)
{
	struct pat_job j = {.sg = sg, .nr = nr, .disk_off = sector * SECTOR, .seed = seed};

	tg_run_user(pat_user, &j);
}

static void fill(void *buf, uint32_t sectors, uint64_t sector, uint64_t seed)
{
	struct virtio_sg sg = virtio_sg_buf(buf, sectors * SECTOR);

	fill_sg(&sg, 1, sector, seed);
}

static bool check_sg(const struct virtio_sg *sg, unsigned int nr, uint64_t sector, uint64_t seed,
		     const char *what)
{
	struct pat_job j = {
	    .sg = sg, .nr = nr, .disk_off = sector * SECTOR, .seed = seed, .check = true};

	if (!tg_run_user(pat_user, &j))
		return true;
	return bad("%s: sector %llu byte %u reads 0x%02x, expected 0x%02x (%s)", what,
		   (unsigned long long)(j.bad_off / SECTOR), (unsigned int)(j.bad_off % SECTOR),
		   j.got, pat_byte(seed, j.bad_off), seed ? "the pattern written" : "zeros");
}

static bool check(void *buf, uint32_t sectors, uint64_t sector, uint64_t seed, const char *what)
{
	struct virtio_sg sg = virtio_sg_buf(buf, sectors * SECTOR);

	return check_sg(&sg, 1, sector, seed, what);
}

/* Stretches of a region: @sectors of pattern @seed (0: zeros), one after the other. */
struct zone {
	uint32_t sectors;
	uint64_t seed;
};

/* Read [@sector, ...) in one request and compare it with @zones. */
static bool read_expect(struct virtio_blk *blk, uint64_t sector, const struct zone *z,
			unsigned int nz, void *buf, const char *what)
{
	uint32_t total = 0;
	uint8_t *p = buf;
	int r;

	for (unsigned int i = 0; i < nz; i++)
		total += z[i].sectors;
	r = virtio_blk_read(blk, sector, buf, total * SECTOR);
	if (!expect_status(r, VIRTIO_BLK_S_OK, "reading back"))
		return false;
	for (unsigned int i = 0; i < nz; i++) {
		if (!check(p, z[i].sectors, sector, z[i].seed, what))
			return false;
		p += z[i].sectors * SECTOR;
		sector += z[i].sectors;
	}
	return true;
}

/* Write pattern @seed over [@sector, +@sectors) in one request. */
static bool put(struct virtio_blk *blk, uint64_t sector, uint32_t sectors, uint64_t seed, void *buf,
		const char *what)
{
	fill(buf, sectors, sector, seed);
	return expect_status(virtio_blk_write(blk, sector, buf, sectors * SECTOR), VIRTIO_BLK_S_OK,
			     what);
}

/* A discard or write-zeroes request with @n segments, built by hand (no feature check). */
static int ranges(struct virtio_blk *blk, uint32_t type,
		  const struct virtio_blk_discard_write_zeroes *segs, unsigned int n)
{
	struct virtio_blk_req req;

	virtio_blk_req_init(&req, type, 0, (void *)segs, n * (uint32_t)sizeof(*segs));
	return virtio_blk_do(blk, 0, &req);
}

static int one_range(struct virtio_blk *blk, uint32_t type, uint64_t sector, uint32_t n,
		     uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes seg = {
	    .sector = sector, .num_sectors = n, .flags = flags};

	return ranges(blk, type, &seg, 1);
}

/*
 * Reprobe @blk's device with @opts; the new struct virtio_blk, or NULL (and
 * why). Probes made here are undone by the framework after the scenario.
 */
static struct virtio_blk *reprobe(struct virtio_blk *blk, const struct virtio_probe_opts *opts)
{
	struct virtio_device *vdev = blk->vdev;
	int err = virtio_reprobe(vdev, opts);

	if (err) {
		bad("reprobe: %s (%s)", virtio_strerror(err), vdev->probe_error);
		return NULL;
	}
	return virtio_blk_of(vdev);
}

/* blk.probe: both disks there, with the features the other scenarios rely on. */
static enum tg_result sc_probe(char *msg, size_t len)
{
	struct virtio_blk *rw, *ro;
	char val[24];

	report_to(msg, len);
	rw = scratch();
	if (!rw)
		return TG_FAIL;
	if (!virtio_has_feature(rw->vdev, VIRTIO_F_VERSION_1))
		return say(TG_FAIL, "scratch disk: VERSION_1 not negotiated");
	if (!virtio_has_feature(rw->vdev, VIRTIO_BLK_F_FLUSH))
		return say(TG_FAIL, "scratch disk: FLUSH not offered");
	if (tg_param("tg.blk.sectors", val, sizeof(val)) && rw->capacity != strtoull(val, NULL, 0))
		return say(TG_FAIL, "scratch disk: capacity %llu sectors, expected %s",
			   (unsigned long long)rw->capacity, val);
	if (rw->blk_size && (rw->blk_size % SECTOR))
		return say(TG_FAIL, "scratch disk: block size %u", rw->blk_size);
	ro = find_disk(true);
	return say(TG_PASS, "scratch %s %llu sectors, queue %u, seg_max %u; read-only %s",
		   rw->vdev->name, (unsigned long long)rw->capacity, rw->vqs[0]->vring.num,
		   rw->seg_max, ro ? ro->vdev->name : "none");
}

/* blk.rw: 1 sector to 1 MiB, each written, read back whole and with its neighbours. */
static enum tg_result sc_rw(char *msg, size_t len)
{
	static const uint32_t sizes[] = {1, 2, 3, 8, 15, 64, 127, 128, 255, 256, 1024, 2048};
	struct virtio_blk *blk = scratch();
	uint64_t sector = RW_BASE;
	uint8_t *region, *data;

	report_to(msg, len);
	if (!blk)
		return TG_FAIL;
	region = tg_alloc((MAX_IO_SECTORS + 2) * SECTOR, TG_PAGE_SIZE);
	data = tg_alloc(MAX_IO_SECTORS * SECTOR, TG_PAGE_SIZE);
	for (unsigned int i = 0; i < TG_ARRAY_SIZE(sizes); i++) {
		uint32_t n = sizes[i];
		uint64_t around = new_seed(), seed = new_seed();
		const struct zone z[] = {{1, around}, {n, seed}, {1, around}};
		char what[40];

		tg_snprintf(what, sizeof(what), "%u-sector write", n);
		/* The neighbours first, so that a write spilling over them shows. */
		if (!put(blk, sector - 1, n + 2, around, region, "writing the neighbours") ||
		    !put(blk, sector, n, seed, data, what))
			return TG_FAIL;
		/* A read of exactly the request, then one with the sectors around it. */
		memset(data, 0, SECTOR); /* what a read that moves nothing would leave */
		if (!expect_status(virtio_blk_read(blk, sector, data, n * SECTOR), VIRTIO_BLK_S_OK,
				   "reading back") ||
		    !check(data, n, sector, seed, what) ||
		    !read_expect(blk, sector - 1, z, 3, region, what))
			return TG_FAIL;
		sector += n + 3;
	}
	return say(TG_PASS, "%u sizes, 1 to %u sectors", (unsigned int)TG_ARRAY_SIZE(sizes),
		   MAX_IO_SECTORS);
}

#define SG_GAP 64

/*
 * @nr buffers holding @bytes in all, SG_GAP apart (a transfer that runs
 * over a buffer's end lands in a gap, not in the next buffer): lengths
 * alternate around the mean so that no boundary falls on a sector's.
 */
static struct virtio_sg *make_sg(unsigned int nr, uint32_t bytes)
{
	struct virtio_sg *sg = tg_alloc(nr * sizeof(*sg), 16);
	uint8_t *p = tg_alloc(bytes + (size_t)nr * SG_GAP, TG_PAGE_SIZE);
	uint32_t mean = bytes / nr, left = bytes;

	for (unsigned int i = 0; i < nr; i++) {
		uint32_t l = i + 1 == nr ? left : (i & 1 ? mean + mean / 3 : mean - mean / 3);

		sg[i] = virtio_sg_buf(p, l);
		p += l + SG_GAP;
		left -= l;
	}
	return sg;
}

/* Queue @req, check how the chain was laid out, then kick and wait. */
static bool do_chain(struct virtio_blk *blk, struct virtio_blk_req *req, bool indirect,
		     const char *what)
{
	struct virtqueue *vq = blk->vqs[0];
	unsigned int before = virtqueue_num_free(vq), want = indirect ? 1 : req->nr_data + 2;
	uint16_t flags;
	int r = virtio_blk_queue(blk, 0, req);

	if (r)
		return bad("%s: cannot queue: %s", what, virtio_strerror(r));
	flags = vq->vring.desc[req->head].flags;
	if (before - virtqueue_num_free(vq) != want ||
	    !!(flags & VRING_DESC_F_INDIRECT) != indirect)
		return bad("%s: chain took %u descriptors, head flags 0x%x", what,
			   before - virtqueue_num_free(vq), flags);
	if (!virtio_blk_kick(blk, 0))
		return bad("%s: kick failed", what);
	return expect_status(virtio_blk_wait(blk, req, blk->timeout_ns), VIRTIO_BLK_S_OK, what);
}

/* One write and one read-back, each cut in pieces differently, of @sectors. */
static bool sg_round(struct virtio_blk *blk, uint64_t sector, uint32_t sectors, unsigned int nr_out,
		     unsigned int nr_in, enum vq_add_mode mode, const char *what)
{
	struct virtio_sg *out = make_sg(nr_out, sectors * SECTOR);
	struct virtio_sg *in = make_sg(nr_in, sectors * SECTOR);
	bool indirect = mode == VQ_INDIRECT;
	uint64_t seed = new_seed();
	struct virtio_blk_req req;

	fill_sg(out, nr_out, sector, seed);
	virtio_blk_req_init_sg(&req, VIRTIO_BLK_T_OUT, sector, out, nr_out);
	req.mode = mode;
	if (!do_chain(blk, &req, indirect, what))
		return false;
	virtio_blk_req_init_sg(&req, VIRTIO_BLK_T_IN, sector, in, nr_in);
	req.mode = mode;
	return do_chain(blk, &req, indirect, what) && check_sg(in, nr_in, sector, seed, what);
}

/*
 * blk.indirect: chains through an indirect table (up to seg_max buffers,
 * the longest a queue allows), the same as direct chains, and direct ones
 * again with the feature not negotiated.
 */
static enum tg_result sc_indirect(char *msg, size_t len)
{
	struct virtio_blk *blk = scratch();
	unsigned int max;

	report_to(msg, len);
	if (!blk)
		return TG_FAIL;
	if (!(blk->vdev->device_features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)))
		return say(TG_SKIP, "the device does not offer INDIRECT_DESC");
	if (!blk->vqs[0]->indirect)
		return say(TG_FAIL, "INDIRECT_DESC offered but not negotiated");
	/* A chain is at most the queue size, header and status included (2.7.5.3.1). */
	max = blk->vqs[0]->vring.num - 2;
	if (blk->seg_max && blk->seg_max < max)
		max = blk->seg_max;
	if (!sg_round(blk, INDIRECT_BASE, 64, 64, max, VQ_INDIRECT, "indirect") ||
	    !sg_round(blk, INDIRECT_BASE + 64, 8, 3, 1, VQ_INDIRECT, "indirect, few") ||
	    !sg_round(blk, INDIRECT_BASE + 72, 64, 16, 33, VQ_DIRECT, "direct"))
		return TG_FAIL;
	blk = reprobe(
	    blk, &(struct virtio_probe_opts){.clear = VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)});
	if (!blk)
		return TG_FAIL;
	if (blk->vqs[0]->indirect || virtio_has_feature(blk->vdev, VIRTIO_RING_F_INDIRECT_DESC))
		return say(TG_FAIL, "INDIRECT_DESC still negotiated after clearing it");
	if (!sg_round(blk, INDIRECT_BASE + 136, 64, 16, 33, VQ_AUTO, "without indirect"))
		return TG_FAIL;
	return say(TG_PASS, "indirect chains of up to %u buffers", max);
}

/* blk.flush: a flush answers OK with nothing but its status, and data stays readable. */
static enum tg_result sc_flush(char *msg, size_t len)
{
	struct virtio_blk *blk = scratch();
	uint64_t seed = new_seed();
	struct virtio_blk_req req;
	uint8_t *buf;

	report_to(msg, len);
	if (!blk)
		return TG_FAIL;
	if (!virtio_has_feature(blk->vdev, VIRTIO_BLK_F_FLUSH))
		return say(TG_SKIP, "the device does not offer FLUSH");
	buf = tg_alloc(16 * SECTOR, TG_PAGE_SIZE);
	if (!put(blk, FLUSH_BASE, 16, seed, buf, "write before flush"))
		return TG_FAIL;
	virtio_blk_req_init(&req, VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
	if (!expect_status(virtio_blk_do(blk, 0, &req), VIRTIO_BLK_S_OK, "flush"))
		return TG_FAIL;
	if (req.used_len != 1)
		return say(TG_FAIL, "flush: used length %u, expected 1 (the status)", req.used_len);
	if (!read_expect(blk, FLUSH_BASE, &(struct zone){16, seed}, 1, buf, "after flush"))
		return TG_FAIL;
	return TG_PASS;
}

/*
 * GET_ID of @blk equals @want, NUL-padded to 20 bytes as VIRTIO 1.2 5.2.6
 * says; with @padded false only NUL-terminated (QEMU 7.2 writes the serial
 * and one NUL, and leaves the rest of the buffer alone).
 */
static bool check_id(struct virtio_blk *blk, const char *want, bool padded, const char *which)
{
	char id[VIRTIO_BLK_ID_BYTES + 1];
	struct virtio_blk_req req;

	memset(id, 0x55, sizeof(id)); /* not NUL: a device that writes nothing shows */
	virtio_blk_req_init(&req, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES);
	if (!expect_status(virtio_blk_do(blk, 0, &req), VIRTIO_BLK_S_OK, "GET_ID"))
		return false;
	id[VIRTIO_BLK_ID_BYTES] = '\0';
	if (req.used_len != VIRTIO_BLK_ID_BYTES + 1)
		return bad("%s: GET_ID used length %u, expected %u", which, req.used_len,
			   VIRTIO_BLK_ID_BYTES + 1);
	if (strcmp(id, want))
		return bad("%s: ID \"%s\", expected \"%s\"", which, id, want);
	for (size_t i = strlen(want); padded && i < VIRTIO_BLK_ID_BYTES; i++)
		if (id[i])
			return bad("%s: ID byte %u is 0x%02x, not NUL padding", which,
				   (unsigned int)i, (uint8_t)id[i]);
	return true;
}

/* blk.get_id: the serials the command line says the disks were given. */
static enum tg_result sc_get_id(char *msg, size_t len)
{
	char want[VIRTIO_BLK_ID_BYTES + 2], want_ro[VIRTIO_BLK_ID_BYTES + 2];
	struct virtio_blk *blk = scratch(), *ro = find_disk(true);
	bool has_ro = tg_param("tg.blk.ro_serial", want_ro, sizeof(want_ro));
	char val[4];
	bool padded = !tg_param("tg.blk.id_unpadded", val, sizeof(val)) || strcmp(val, "1");

	report_to(msg, len);
	if (!blk)
		return TG_FAIL;
	if (!tg_param("tg.blk.serial", want, sizeof(want)))
		return say(TG_SKIP, "no tg.blk.serial= to compare with");
	if (!check_id(blk, want, padded, "scratch disk"))
		return TG_FAIL;
	if (has_ro && !ro)
		return say(TG_FAIL, "tg.blk.ro_serial= given but no read-only disk");
	if (has_ro && !check_id(ro, want_ro, padded, "read-only disk"))
		return TG_FAIL;
	return say(TG_PASS, "\"%s\"%s%s%s%s", want, has_ro ? ", \"" : "", has_ro ? want_ro : "",
		   has_ro ? "\"" : "", padded ? ", NUL-padded" : "");
}

static enum tg_result after_discard(struct virtio_blk *blk, uint64_t base, uint32_t a,
				    uint64_t seed, void *buf);

/*
 * blk.discard: ranges on the device's discard alignment read back as zeros
 * (the VMM punches holes; the spec only promises that for write-zeroes,
 * QEMU needs discard=unmap), the sectors around them keep their data, a
 * request of several segments does all of them, and the UNMAP flag, which
 * discard must not carry, is refused with UNSUPP and changes nothing.
 */
static enum tg_result sc_discard(char *msg, size_t len)
{
	struct virtio_blk *blk = scratch();
	uint64_t seed = new_seed(), base;
	uint32_t a;
	uint8_t *buf;

	report_to(msg, len);
	if (!blk)
		return TG_FAIL;
	if (!virtio_has_feature(blk->vdev, VIRTIO_BLK_F_DISCARD))
		return say(TG_SKIP, "the device does not offer DISCARD");
	a = TG_MAX(blk->discard_sector_alignment, 8);
	base = TG_ALIGN_UP(DISCARD_BASE, a);
	if (base + 8 * a > blk->capacity || 8 * a > MAX_IO_SECTORS ||
	    blk->max_discard_sectors < 2 * a)
		return say(TG_SKIP, "discard alignment %u sectors, max %u: does not fit", a,
			   blk->max_discard_sectors);
	buf = tg_alloc(8 * a * SECTOR, TG_PAGE_SIZE);
	if (!put(blk, base, 8 * a, seed, buf, "write before discard"))
		return TG_FAIL;
	if (!expect_status(one_range(blk, VIRTIO_BLK_T_DISCARD, base + a, 2 * a, 0),
			   VIRTIO_BLK_S_OK, "discard"))
		return TG_FAIL;
	if (blk->max_discard_seg >= 2) {
		const struct virtio_blk_discard_write_zeroes segs[] = {
		    {.sector = base + 4 * a, .num_sectors = a},
		    {.sector = base + 6 * a, .num_sectors = a},
		};

		if (!expect_status(ranges(blk, VIRTIO_BLK_T_DISCARD, segs, 2), VIRTIO_BLK_S_OK,
				   "discard of 2 segments"))
			return TG_FAIL;
	} else if (!expect_status(one_range(blk, VIRTIO_BLK_T_DISCARD, base + 4 * a, a, 0),
				  VIRTIO_BLK_S_OK, "discard") ||
		   !expect_status(one_range(blk, VIRTIO_BLK_T_DISCARD, base + 6 * a, a, 0),
				  VIRTIO_BLK_S_OK, "discard")) {
		return TG_FAIL;
	}
	/* VIRTIO 1.2 5.2.6.2: UNSUPP for a discard with the unmap flag. */
	if (!expect_status(
		one_range(blk, VIRTIO_BLK_T_DISCARD, base, a, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
		VIRTIO_BLK_S_UNSUPP, "discard with the unmap flag"))
		return TG_FAIL;
	return after_discard(blk, base, a, seed, buf);
}

/* What sc_discard() left: its pattern around the discarded ranges, which read zeros. */
static enum tg_result after_discard(struct virtio_blk *blk, uint64_t base, uint32_t a,
				    uint64_t seed, void *buf)
{
	const struct zone z[] = {{a, seed}, {2 * a, 0}, {a, seed}, {a, 0},
				 {a, seed}, {a, 0},	{a, seed}};

	if (!read_expect(blk, base, z, TG_ARRAY_SIZE(z), buf, "after discard"))
		return TG_FAIL;
	return say(TG_PASS, "alignment %u sectors, up to %u segments", a, blk->max_discard_seg);
}

/*
 * blk.write_zeroes: zeros read back, on any sector (no alignment), with and
 * without the unmap flag, over several segments; the neighbours keep theirs.
 */
static enum tg_result sc_write_zeroes(char *msg, size_t len)
{
	struct virtio_blk *blk = scratch();
	uint64_t seed = new_seed(), base = WZ_BASE;
	/* The 64 sectors after: what was written, and the zeroed ranges below. */
	const struct zone z[] = {{3, seed}, {5, 0},    {8, seed}, {16, 0},   {8, seed},
				 {2, 0},    {3, seed}, {1, 0},	  {18, seed}};
	uint8_t *buf;

	report_to(msg, len);
	if (!blk)
		return TG_FAIL;
	if (!virtio_has_feature(blk->vdev, VIRTIO_BLK_F_WRITE_ZEROES))
		return say(TG_SKIP, "the device does not offer WRITE_ZEROES");
	buf = tg_alloc(64 * SECTOR, TG_PAGE_SIZE);
	if (!put(blk, base, 64, seed, buf, "write before write-zeroes"))
		return TG_FAIL;
	if (!expect_status(one_range(blk, VIRTIO_BLK_T_WRITE_ZEROES, base + 3, 5, 0),
			   VIRTIO_BLK_S_OK, "write-zeroes") ||
	    !expect_status(one_range(blk, VIRTIO_BLK_T_WRITE_ZEROES, base + 16, 16,
				     VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
			   VIRTIO_BLK_S_OK, "write-zeroes with unmap"))
		return TG_FAIL;
	if (blk->max_write_zeroes_seg >= 2) {
		const struct virtio_blk_discard_write_zeroes segs[] = {
		    {.sector = base + 40, .num_sectors = 2},
		    {.sector = base + 45, .num_sectors = 1},
		};

		if (!expect_status(ranges(blk, VIRTIO_BLK_T_WRITE_ZEROES, segs, 2), VIRTIO_BLK_S_OK,
				   "write-zeroes of 2 segments"))
			return TG_FAIL;
	} else if (!expect_status(one_range(blk, VIRTIO_BLK_T_WRITE_ZEROES, base + 40, 2, 0),
				  VIRTIO_BLK_S_OK, "write-zeroes") ||
		   !expect_status(one_range(blk, VIRTIO_BLK_T_WRITE_ZEROES, base + 45, 1, 0),
				  VIRTIO_BLK_S_OK, "write-zeroes")) {
		return TG_FAIL;
	}
	if (!read_expect(blk, base, z, TG_ARRAY_SIZE(z), buf, "after write-zeroes"))
		return TG_FAIL;
	return say(TG_PASS, "up to %u segments%s", blk->max_write_zeroes_seg,
		   blk->write_zeroes_may_unmap ? ", may unmap" : "");
}

/* The text tests/guest/ writes on the read-only image, sector by sector. */
static bool check_ro_label(const uint8_t *buf, uint32_t sectors, uint64_t sector)
{
	for (uint32_t i = 0; i < sectors; i++) {
		char want[20];
		int n = tg_snprintf(want, sizeof(want), "tg-ro %08u", (unsigned int)(sector + i));

		if (memcmp(buf + (size_t)i * SECTOR, want, (size_t)n))
			return bad("read-only disk: sector %llu does not start with \"%s\"",
				   (unsigned long long)(sector + i), want);
	}
	return true;
}

struct cmp_job {
	const void *a, *b;
	size_t len;
};

static long cmp_user(void *arg)
{
	const struct cmp_job *j = arg;

	return memcmp(j->a, j->b, j->len);
}

/*
 * blk.ro: on a read-only disk, writes, discards and write-zeroes are
 * refused with IOERR (this VMM checks RO before the request's ranges,
 * devices/virtio/blk.c, and QEMU fails the write in its block layer) and
 * change nothing; reads and flushes still work.
 */
static enum tg_result sc_ro(char *msg, size_t len)
{
	struct virtio_blk *ro = find_disk(true);
	const uint32_t n = 16;
	int discard_status = VIRTIO_BLK_S_IOERR;
	struct cmp_job j;
	uint8_t *before, *after, *data;
	char val[8];

	report_to(msg, len);
	if (!ro)
		return say(TG_SKIP, "no read-only disk");
	if (ro->capacity < n)
		return say(TG_FAIL, "read-only disk of %llu sectors",
			   (unsigned long long)ro->capacity);
	before = tg_alloc(n * SECTOR, TG_PAGE_SIZE);
	after = tg_alloc(n * SECTOR, TG_PAGE_SIZE);
	data = tg_alloc(n * SECTOR, TG_PAGE_SIZE);
	if (!expect_status(virtio_blk_read(ro, 0, before, n * SECTOR), VIRTIO_BLK_S_OK,
			   "read-only disk: read"))
		return TG_FAIL;
	if (tg_param("tg.blk.ro_pattern", val, sizeof(val)) && !strcmp(val, "1") &&
	    !check_ro_label(before, n, 0))
		return TG_FAIL;
	/* A discard is a hint: QEMU 7.2 answers OK on a read-only disk and changes nothing. */
	if (tg_param("tg.blk.ro_discard_ok", val, sizeof(val)) && !strcmp(val, "1"))
		discard_status = VIRTIO_BLK_S_OK;
	fill(data, n, 0, new_seed());
	if (!expect_status(virtio_blk_write(ro, 0, data, n * SECTOR), VIRTIO_BLK_S_IOERR,
			   "read-only disk: write") ||
	    !expect_status(virtio_blk_write(ro, 5, data, SECTOR), VIRTIO_BLK_S_IOERR,
			   "read-only disk: 1-sector write") ||
	    !expect_status(one_range(ro, VIRTIO_BLK_T_DISCARD, 0, 8, 0), discard_status,
			   "read-only disk: discard") ||
	    !expect_status(one_range(ro, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0), VIRTIO_BLK_S_IOERR,
			   "read-only disk: write-zeroes") ||
	    !expect_status(
		one_range(ro, VIRTIO_BLK_T_WRITE_ZEROES, 8, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
		VIRTIO_BLK_S_IOERR, "read-only disk: write-zeroes with unmap"))
		return TG_FAIL;
	if (virtio_has_feature(ro->vdev, VIRTIO_BLK_F_FLUSH) &&
	    !expect_status(virtio_blk_flush(ro), VIRTIO_BLK_S_OK, "read-only disk: flush"))
		return TG_FAIL;
	if (!expect_status(virtio_blk_read(ro, 0, after, n * SECTOR), VIRTIO_BLK_S_OK,
			   "read-only disk: read again"))
		return TG_FAIL;
	j = (struct cmp_job){before, after, n * SECTOR};
	if (tg_run_user(cmp_user, &j))
		return say(TG_FAIL, "read-only disk: the data changed");
	return say(TG_PASS, "write, %swrite-zeroes refused with IOERR%s, data unchanged",
		   discard_status == VIRTIO_BLK_S_OK ? "" : "discard, ",
		   discard_status == VIRTIO_BLK_S_OK ? " (discard answered OK)" : "");
}

/*
 * blk.past_end: requests that reach past the capacity (by a sector, from
 * the end, far beyond, at offsets that overflow) fail with IOERR and write
 * nothing, not even their part inside the disk; the last sector itself
 * works.
 */
/* Every request touching [@s, +@n), which reaches past the end, fails with IOERR. */
static bool refused(struct virtio_blk *blk, uint64_t s, uint32_t n, void *buf, void *data)
{
	char what[80];

	tg_snprintf(what, sizeof(what), "%u sectors at %llu (capacity %llu)", n,
		    (unsigned long long)s, (unsigned long long)blk->capacity);
	if (!expect_status(virtio_blk_read(blk, s, buf, n * SECTOR), VIRTIO_BLK_S_IOERR,
			   "read past the end") ||
	    !expect_status(virtio_blk_write(blk, s, data, n * SECTOR), VIRTIO_BLK_S_IOERR,
			   "write past the end") ||
	    (virtio_has_feature(blk->vdev, VIRTIO_BLK_F_WRITE_ZEROES) &&
	     !expect_status(one_range(blk, VIRTIO_BLK_T_WRITE_ZEROES, s, n, 0), VIRTIO_BLK_S_IOERR,
			    "write-zeroes past the end")) ||
	    (virtio_has_feature(blk->vdev, VIRTIO_BLK_F_DISCARD) &&
	     !expect_status(one_range(blk, VIRTIO_BLK_T_DISCARD, s, n, 0), VIRTIO_BLK_S_IOERR,
			    "discard past the end"))) {
		prefix(what);
		return false;
	}
	return true;
}

static enum tg_result sc_past_end(char *msg, size_t len)
{
	struct virtio_blk *blk = scratch();
	uint64_t cap, seed = new_seed();
	const struct zone z[] = {{2, seed}};
	uint8_t *buf, *data;

	report_to(msg, len);
	if (!blk)
		return TG_FAIL;
	cap = blk->capacity;
	buf = tg_alloc(2 * SECTOR, TG_PAGE_SIZE);
	data = tg_alloc(2 * SECTOR, TG_PAGE_SIZE);
	if (!put(blk, cap - 2, 2, seed, buf, "writing the last 2 sectors") ||
	    !read_expect(blk, cap - 1, &(struct zone){1, seed}, 1, buf, "the last sector"))
		return TG_FAIL;
	fill(data, 2, cap - 1, new_seed());
	/* Straddling the end, just past it, far past it, and where sector * 512 overflows. */
	if (!refused(blk, cap - 1, 2, buf, data) || !refused(blk, cap, 1, buf, data) ||
	    !refused(blk, cap + 1000, 1, buf, data) || !refused(blk, 1ULL << 54, 1, buf, data) ||
	    !refused(blk, ~0ULL >> 9, 2, buf, data) || !refused(blk, ~0ULL, 1, buf, data))
		return TG_FAIL;
	if (!read_expect(blk, cap - 2, z, 1, buf, "the last sectors after the refusals"))
		return TG_FAIL;
	return say(TG_PASS, "capacity %llu sectors", (unsigned long long)cap);
}

/* Many requests on one queue, kept @depth deep, run in ring 3. */
struct wrap_run {
	struct virtio_blk *blk;
	struct virtio_blk_req *reqs;
	uint8_t *bufs; /* a sector per request */
	unsigned int depth;
	uint32_t count, submitted, completed;
	uint32_t *nums; /* each slot's request number, to name it in a failure */
	uint16_t *done; /* slots completed since the last poll */
	unsigned int nr_done;
	uint64_t seed, stall_tsc;
	/* Out: what went wrong, for ring 0 to report. */
	int err;
	uint32_t bad_index;
	bool bad_data;
};

static void wrap_done(struct virtio_blk_req *req)
{
	struct wrap_run *w = req->priv;

	w->done[w->nr_done++] = (uint16_t)(req - w->reqs);
}

static uint64_t wrap_sector(uint32_t index)
{
	return WRAP_BASE + index % WRAP_SECTORS;
}

static int wrap_submit(struct wrap_run *w, unsigned int slot)
{
	struct virtio_blk_req *req = &w->reqs[slot];
	uint32_t i = w->submitted++;

	virtio_blk_req_init(req, VIRTIO_BLK_T_IN, wrap_sector(i), w->bufs + (size_t)slot * SECTOR,
			    SECTOR);
	req->done = wrap_done;
	req->priv = w;
	w->nums[slot] = i;
	return virtio_blk_queue(w->blk, 0, req);
}

/* Each read is checked in full as it completes: its status and its sector's pattern. */
static bool wrap_complete(struct wrap_run *w, unsigned int slot)
{
	struct virtio_blk_req *req = &w->reqs[slot];
	uint8_t *p = w->bufs + (size_t)slot * SECTOR;
	uint64_t off = req->hdr.sector * SECTOR;

	w->completed++;
	w->bad_index = w->nums[slot];
	if (req->result != VIRTIO_BLK_S_OK) {
		w->err = req->result;
		return false;
	}
	for (unsigned int k = 0; k < SECTOR; k += 8) {
		uint64_t v;

		memcpy(&v, p + k, sizeof(v));
		if (v != pat_word(w->seed, (off + k) >> 3)) {
			w->bad_data = true;
			return false;
		}
	}
	return true;
}

static long wrap_user(void *arg)
{
	struct wrap_run *w = arg;
	uint64_t last = tg_rdtsc();

	for (unsigned int s = 0; s < w->depth; s++)
		if ((w->err = wrap_submit(w, s)))
			return 1;
	virtio_blk_kick(w->blk, 0);
	while (w->completed < w->count) {
		unsigned int n;

		w->nr_done = 0;
		virtio_blk_poll(w->blk, 0);
		n = w->nr_done;
		if (!n) {
			if (tg_rdtsc() - last > w->stall_tsc) {
				w->err = -VIRTIO_ETIMEDOUT;
				return 1;
			}
			__asm__ volatile("pause");
			continue;
		}
		last = tg_rdtsc();
		for (unsigned int k = 0; k < n; k++) {
			if (!wrap_complete(w, w->done[k]))
				return 1;
			if (w->submitted < w->count && (w->err = wrap_submit(w, w->done[k])))
				return 1;
		}
		virtio_blk_kick(w->blk, 0);
	}
	return 0;
}

/* One run of WRAP_REQUESTS reads on a fresh queue of WRAP_QUEUE_SIZE, with @clear withheld. */
static bool wrap_once(struct virtio_blk *blk, uint64_t clear, const char *mode, char *note,
		      size_t note_len)
{
	struct wrap_run w = {0};
	struct virtqueue *vq;
	uint64_t t0, khz = tg_tsc_khz();
	uint16_t end;
	uint8_t *buf;

	blk = reprobe(blk,
		      &(struct virtio_probe_opts){.queue_size = WRAP_QUEUE_SIZE, .clear = clear});
	if (!blk)
		return false;
	vq = blk->vqs[0];
	if (vq->vring.num != WRAP_QUEUE_SIZE)
		return bad("%s: queue of %u, asked for %u", mode, vq->vring.num, WRAP_QUEUE_SIZE);
	w.seed = new_seed();
	buf = tg_alloc(WRAP_SECTORS * SECTOR, TG_PAGE_SIZE);
	if (!put(blk, WRAP_BASE, WRAP_SECTORS, w.seed, buf, "writing the region"))
		return false;
	/* Without indirect chains (3 descriptors each) fewer fit. */
	w.depth = vq->indirect ? WRAP_QUEUE_SIZE : WRAP_QUEUE_SIZE / 3;
	w.blk = blk;
	w.count = WRAP_REQUESTS;
	w.reqs = tg_alloc(w.depth * sizeof(*w.reqs), 64);
	w.bufs = tg_alloc(w.depth * SECTOR, TG_PAGE_SIZE);
	w.done = tg_alloc(w.depth * sizeof(*w.done), 8);
	w.nums = tg_alloc(w.depth * sizeof(*w.nums), 8);
	w.stall_tsc = (khz ? khz : 3000000) * STALL_MS;
	/* The indices left by the region write: the count below starts from there. */
	end = (uint16_t)(WRAP_REQUESTS + vq->avail_idx);
	t0 = tg_ns();
	if (tg_run_user(wrap_user, &w)) {
		if (w.bad_data)
			return bad("%s: request %u (sector %llu): wrong data", mode, w.bad_index,
				   (unsigned long long)wrap_sector(w.bad_index));
		return bad("%s: after %u of %u requests (request %u): %s", mode, w.completed,
			   w.count, w.bad_index, status_name(w.err));
	}
	t0 = tg_ns() - t0;
	if (vq->broken)
		return bad("%s: queue broken: %s", mode, vq->error);
	if (vq->avail_idx != end || vq->vring.avail->idx != end || vq->vring.used->idx != end ||
	    vq->last_used_idx != end)
		return bad("%s: indices avail %u used %u, expected %u", mode, vq->vring.avail->idx,
			   vq->vring.used->idx, end);
	if (blk->stats.errors || blk->stats.bad_status || blk->stats.short_len)
		return bad("%s: %llu errors, %llu bad statuses, %llu short reads", mode,
			   (unsigned long long)blk->stats.errors,
			   (unsigned long long)blk->stats.bad_status,
			   (unsigned long long)blk->stats.short_len);
	tg_snprintf(note, note_len, "%s %llu ms, %llu notifies", mode,
		    (unsigned long long)(t0 / 1000000), (unsigned long long)vq->stats.notifies);
	return true;
}

/*
 * blk.wrap: 73728 reads kept 8 deep on a queue of 8, with the event index
 * and without: the 16-bit available and used indices (and the event words)
 * wrap past 65535; every request's status and data are checked, and the
 * indices must end where the count says.
 */
static enum tg_result sc_wrap(char *msg, size_t len)
{
	struct virtio_blk *blk = scratch();
	char on[48], off[48];

	report_to(msg, len);
	if (!blk)
		return TG_FAIL;
	if (!wrap_once(blk, 0, "event_idx", on, sizeof(on)))
		return TG_FAIL;
	blk = virtio_blk_of(blk->vdev);
	if (!wrap_once(blk, VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX), "no event_idx", off, sizeof(off)))
		return TG_FAIL;
	return say(TG_PASS, "%u requests on a queue of %u: %s; %s", WRAP_REQUESTS, WRAP_QUEUE_SIZE,
		   on, off);
}

/*
 * The completion modes: event index on or off, interrupts or polling. The
 * same work in each: batches of 8 writes queued together, then their reads,
 * every sector compared. Then what the mode promises: with interrupts the
 * waits were woken by the device's interrupt; polling, the device raised
 * none, as avail->flags (NO_INTERRUPT) or used_event (kept behind) asked.
 */
#define MODE_BATCHES 4
#define MODE_BATCH   8
#define MODE_SECTORS 8
#define IRQ_WAIT_NS  (1000ULL * 1000 * 1000)

static bool mode_batch(struct virtio_blk *blk, uint64_t sector, bool write, uint64_t seed,
		       uint8_t *bufs, struct virtio_blk_req *reqs)
{
	for (unsigned int i = 0; i < MODE_BATCH; i++) {
		uint64_t s = sector + i * MODE_SECTORS;
		uint8_t *b = bufs + (size_t)i * MODE_SECTORS * SECTOR;
		int r;

		if (write)
			fill(b, MODE_SECTORS, s, seed);
		virtio_blk_req_init(&reqs[i], write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, s, b,
				    MODE_SECTORS * SECTOR);
		r = virtio_blk_queue(blk, 0, &reqs[i]);
		if (r)
			return bad("cannot queue: %s", virtio_strerror(r));
	}
	if (!virtio_blk_kick(blk, 0))
		return bad("kick failed");
	for (unsigned int i = 0; i < MODE_BATCH; i++) {
		uint64_t s = sector + i * MODE_SECTORS;

		if (!expect_status(virtio_blk_wait(blk, &reqs[i], blk->timeout_ns), VIRTIO_BLK_S_OK,
				   write ? "write" : "read"))
			return false;
		if (!write && !check(bufs + (size_t)i * MODE_SECTORS * SECTOR, MODE_SECTORS, s,
				     seed, "read back"))
			return false;
	}
	return true;
}

/* Read and acknowledge the interrupt status, as a handler would. */
static uint32_t take_isr(struct virtio_device *vdev)
{
	struct virtio_mmio_device *m = to_virtio_mmio(vdev);
	uint32_t isr = virtio_mmio_read(m, VIRTIO_MMIO_INTERRUPT_STATUS);

	if (isr)
		virtio_mmio_write(m, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	return isr;
}

static enum tg_result run_mode(char *msg, size_t len, bool event_idx, bool irq)
{
	struct virtio_blk *blk = scratch();
	struct virtio_blk_req reqs[MODE_BATCH];
	struct virtio_device *vdev;
	uint64_t irqs, dev_irqs;
	uint64_t seed = 0, last = 0;
	uint32_t isr = 0, first = 0;
	uint8_t *bufs;

	report_to(msg, len);
	if (!blk)
		return TG_FAIL;
	vdev = blk->vdev;
	if (event_idx && !(vdev->device_features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX)))
		return say(TG_SKIP, "the device does not offer EVENT_IDX");
	if (irq && !vdev->has_irq)
		return say(TG_FAIL, "%s has no interrupt pin", vdev->name);
	blk = reprobe(
	    blk, &(struct virtio_probe_opts){
		     .clear = event_idx ? 0 : VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX), .use_irq = irq});
	if (!blk)
		return TG_FAIL;
	if (virtio_has_feature(vdev, VIRTIO_RING_F_EVENT_IDX) != event_idx ||
	    blk->vqs[0]->event_idx != event_idx)
		return say(TG_FAIL, "EVENT_IDX %snegotiated", event_idx ? "not " : "");
	if (vdev->irq_routed != irq)
		return say(TG_FAIL, "interrupt %srouted", irq ? "not " : "");
	bufs = tg_alloc(MODE_BATCH * MODE_SECTORS * SECTOR, TG_PAGE_SIZE);
	irqs = tg_irq_count();
	dev_irqs = vdev->stats.interrupts;
	for (unsigned int b = 0; b < 2 * MODE_BATCHES; b++) {
		uint64_t sector = MODE_BASE + b / 2 * MODE_BATCH * MODE_SECTORS;
		uint64_t before = vdev->stats.interrupts;

		if (!(b & 1))
			seed = new_seed();
		last = sector;
		if (!mode_batch(blk, sector, !(b & 1), seed, bufs, reqs))
			return TG_FAIL;
		/*
		 * Kernel mode is slow enough here that the batch is usually
		 * done before anything sleeps: then its interrupt waits in
		 * the local APIC for the next sti. Every batch crossed
		 * used_event (or found NO_INTERRUPT clear), so one must come.
		 */
		if (irq && vdev->stats.interrupts == before &&
		    (!tg_wait_irq(IRQ_WAIT_NS) || vdev->stats.interrupts == before))
			return say(TG_FAIL, "batch %u of %u: no interrupt", b + 1,
				   2 * MODE_BATCHES);
		/*
		 * Polling with EVENT_IDX, the first used entry after the
		 * queue is enabled may interrupt regardless (Linux's vhost
		 * and QEMU do so too: they have no earlier index to compare
		 * with). From then on the device must hold back.
		 */
		if (!irq && b == 0 && event_idx)
			first = take_isr(vdev);
		else if (!irq)
			isr |= take_isr(vdev);
	}
	if (!irq && (isr & VIRTIO_ISR_VQ))
		return say(TG_FAIL, "the device raised a queue interrupt while asked for none");
	/*
	 * The control: ask for interrupts (still polling, nothing routed) and
	 * the status must show one, or the check above proved nothing.
	 */
	if (!irq) {
		virtqueue_enable_cb(blk->vqs[0]);
		if (!mode_batch(blk, last, false, seed, bufs, reqs))
			return TG_FAIL;
		if (!(take_isr(vdev) & VIRTIO_ISR_VQ))
			return say(TG_FAIL,
				   "no queue interrupt status once interrupts were asked for");
	}
	irqs = tg_irq_count() - irqs;
	dev_irqs = vdev->stats.interrupts - dev_irqs;
	if (irq && (!irqs || !dev_irqs))
		return say(TG_FAIL, "no interrupt came (%llu handled in all)",
			   (unsigned long long)irqs);
	if (!irq)
		return say(TG_PASS,
			   "%u requests, no interrupt status while suppressed%s, %llu notifies for "
			   "%llu kicks",
			   (2 * MODE_BATCHES + 1) * MODE_BATCH,
			   first & VIRTIO_ISR_VQ ? " (after the first)" : "",
			   (unsigned long long)blk->vqs[0]->stats.notifies,
			   (unsigned long long)blk->vqs[0]->stats.kicks);
	return say(TG_PASS, "%u requests, %llu interrupts, %llu notifies for %llu kicks",
		   2 * MODE_BATCHES * MODE_BATCH, (unsigned long long)dev_irqs,
		   (unsigned long long)blk->vqs[0]->stats.notifies,
		   (unsigned long long)blk->vqs[0]->stats.kicks);
}

static enum tg_result sc_poll_event_idx(char *msg, size_t len)
{
	return run_mode(msg, len, true, false);
}

static enum tg_result sc_poll_no_event_idx(char *msg, size_t len)
{
	return run_mode(msg, len, false, false);
}

static enum tg_result sc_irq_event_idx(char *msg, size_t len)
{
	return run_mode(msg, len, true, true);
}

static enum tg_result sc_irq_no_event_idx(char *msg, size_t len)
{
	return run_mode(msg, len, false, true);
}

static const struct tg_scenario blk_scenarios[] = {
    {"probe", sc_probe},
    {"rw", sc_rw},
    {"indirect", sc_indirect},
    {"flush", sc_flush},
    {"get_id", sc_get_id},
    {"discard", sc_discard},
    {"write_zeroes", sc_write_zeroes},
    {"ro", sc_ro},
    {"past_end", sc_past_end},
    {"poll_event_idx", sc_poll_event_idx},
    {"poll_no_event_idx", sc_poll_no_event_idx},
    {"irq_event_idx", sc_irq_event_idx},
    {"irq_no_event_idx", sc_irq_no_event_idx},
    {"wrap", sc_wrap},
};

/*
 * The fault group, for a host that makes the scratch disk fail under the
 * guest (tests/guest/fault-test.sh). Every request is answered OK or IOERR,
 * never anything else, and afterwards the device is healthy and serving: a
 * read of sector 0 and a flush are answered (either way: the fault may hold)
 * and DEVICE_NEEDS_RESET is not set. Notes give the counts, which the host
 * checks against the fault it made.
 */
struct pass_count {
	unsigned int ok, ioerr;
};

/*
 * 1 MiB requests over the whole disk, written with the pattern or read and
 * checked against it; false on an answer neither OK nor IOERR.
 */
static bool fault_pass(struct virtio_blk *blk, uint8_t *buf, bool write, struct pass_count *n)
{
	for (uint64_t s = 0; s + MAX_IO_SECTORS <= blk->capacity; s += MAX_IO_SECTORS) {
		int r;

		if (write) {
			fill(buf, MAX_IO_SECTORS, s, s + 1);
			r = virtio_blk_write(blk, s, buf, MAX_IO_SECTORS * SECTOR);
		} else {
			r = virtio_blk_read(blk, s, buf, MAX_IO_SECTORS * SECTOR);
		}
		if (r == VIRTIO_BLK_S_OK && !write && !check(buf, MAX_IO_SECTORS, s, s + 1, "read"))
			return false;
		if (r == VIRTIO_BLK_S_OK)
			n->ok++;
		else if (r == VIRTIO_BLK_S_IOERR)
			n->ioerr++;
		else
			return bad("%s at sector %llu: %s", write ? "write" : "read",
				   (unsigned long long)s, status_name(r));
	}
	return true;
}

static bool still_serving(struct virtio_blk *blk, uint8_t *buf)
{
	int r = virtio_blk_read(blk, 0, buf, SECTOR);

	if (r != VIRTIO_BLK_S_OK && r != VIRTIO_BLK_S_IOERR)
		return bad("read after the fault: %s", status_name(r));
	r = virtio_blk_flush(blk);
	if (r != VIRTIO_BLK_S_OK && r != VIRTIO_BLK_S_IOERR)
		return bad("flush after the fault: %s", status_name(r));
	if (virtio_status(blk->vdev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return bad("the device needs a reset after host I/O errors");
	return true;
}

/* fault.writes: the host made the fault beforehand (a full file system). */
static enum tg_result sc_fault_writes(char *msg, size_t len)
{
	struct virtio_blk *blk = scratch();
	struct pass_count w = {0};
	uint8_t *buf;

	report_to(msg, len);
	if (!blk)
		return TG_FAIL;
	buf = tg_alloc(MAX_IO_SECTORS * SECTOR, TG_PAGE_SIZE);
	if (!fault_pass(blk, buf, true, &w) || !still_serving(blk, buf))
		return TG_FAIL;
	return say(TG_PASS, "%u written, %u refused with IOERR, the device still serving", w.ok,
		   w.ioerr);
}

/* How long fault.hold waits for the host to make its fault. */
#define FAULT_WAIT_NS (120ULL * 1000 * 1000 * 1000)

/*
 * fault.hold: the whole disk written (all OK), then "tg: fault: ready" on
 * the console and a wait for one byte of console input, which the host
 * sends once it made the fault (the image made read-only, or truncated);
 * then the disk read (what reads OK must be what was written) and written
 * again, every answer counted.
 */
static enum tg_result sc_fault_hold(char *msg, size_t len)
{
	struct virtio_blk *blk = scratch();
	struct pass_count before = {0}, r = {0}, w = {0};
	uint8_t *buf;

	report_to(msg, len);
	if (!blk)
		return TG_FAIL;
	buf = tg_alloc(MAX_IO_SECTORS * SECTOR, TG_PAGE_SIZE);
	if (!fault_pass(blk, buf, true, &before))
		return TG_FAIL;
	if (before.ioerr)
		return say(TG_FAIL, "%u of %u writes failed before the fault", before.ioerr,
			   before.ok + before.ioerr);
	tg_printf("tg: fault: ready\n");
	if (tg_getc(FAULT_WAIT_NS) < 0)
		return say(TG_FAIL, "no word from the host that the fault is made");
	if (!fault_pass(blk, buf, false, &r) || !fault_pass(blk, buf, true, &w) ||
	    !still_serving(blk, buf))
		return TG_FAIL;
	return say(TG_PASS, "reads %u ok %u IOERR, writes %u ok %u IOERR, the device still serving",
		   r.ok, r.ioerr, w.ok, w.ioerr);
}

/* fault.flushed: what a host that kills the VMM can check in the image. */
#define FLUSHED_CHUNK_SECTORS 128 /* 64 KiB */
#define FLUSHED_EVERY	      4

/*
 * Chunk i of the disk (64 KiB) filled with the byte 1 + i % 250, a flush
 * after every 4, and after each flush "tg: fault: flushed through chunk N"
 * on the console: every chunk up to N is then on stable storage and must be
 * in the image whatever happens to the VMM next (tests/guest/fault-test.sh
 * sends SIGTERM meanwhile). Chunks are written in order, once.
 */
static enum tg_result sc_fault_flushed(char *msg, size_t len)
{
	struct virtio_blk *blk = scratch();
	uint32_t bytes = FLUSHED_CHUNK_SECTORS * SECTOR;
	uint64_t chunks;
	uint8_t *buf;

	report_to(msg, len);
	if (!blk)
		return TG_FAIL;
	buf = tg_alloc(bytes, TG_PAGE_SIZE);
	chunks = blk->capacity / FLUSHED_CHUNK_SECTORS;
	for (uint64_t i = 0; i < chunks; i++) {
		int r;

		memset(buf, 1 + (int)(i % 250), bytes);
		r = virtio_blk_write(blk, i * FLUSHED_CHUNK_SECTORS, buf, bytes);
		if (r != VIRTIO_BLK_S_OK)
			return say(TG_FAIL, "write of chunk %llu: %s", (unsigned long long)i,
				   status_name(r));
		if (i % FLUSHED_EVERY != FLUSHED_EVERY - 1)
			continue;
		r = virtio_blk_flush(blk);
		if (r != VIRTIO_BLK_S_OK)
			return say(TG_FAIL, "flush after chunk %llu: %s", (unsigned long long)i,
				   status_name(r));
		tg_printf("tg: fault: flushed through chunk %llu\n", (unsigned long long)i);
	}
	return say(TG_PASS, "%llu chunks written and flushed", (unsigned long long)chunks);
}

static const struct tg_scenario fault_scenarios[] = {
    {"writes", sc_fault_writes},
    {"hold", sc_fault_hold},
    {"flushed", sc_fault_flushed},
    {"tap_gone", tg_net_tap_gone},
};

const struct tg_group tg_fault_group = {
    .name = "fault",
    .scenarios = fault_scenarios,
    .count = TG_ARRAY_SIZE(fault_scenarios),
};

const struct tg_group tg_blk_group = {
    .name = "blk",
    .scenarios = blk_scenarios,
    .count = TG_ARRAY_SIZE(blk_scenarios),
};
