// SPDX-License-Identifier: MIT
/*
 * Hostile scenarios: the test guest does to the VMM's virtio devices what no
 * correct driver does, and checks that the VMM answers the way its code
 * promises (devices/virtio/virtqueue.h, virtio.h, blk.c, net.c,
 * devices/mmio/virtio_mmio.c):
 *
 * - a ring no correct driver can produce (a buffer outside guest RAM, a
 *   chain that loops or outgrows the queue, a nested indirect table, an
 *   available index run ahead, a head or next index out of the table, a
 *   zero-length buffer, a readable buffer after a writable one, an indirect
 *   descriptor without the feature) sets DEVICE_NEEDS_RESET with a config
 *   interrupt, returns nothing and touches nothing;
 * - rings the device cannot map at QueueReady (not in RAM, misaligned, a
 *   size that is no power of two up to 256) set NEEDS_RESET, but raise no
 *   interrupt before DRIVER_OK, and DRIVER_OK is then refused;
 * - a malformed request on a sane ring is answered with IOERR or UNSUPP;
 * - register misuse (read-only registers written, narrow or unaligned
 *   accesses, queue layout written after QueueReady or DRIVER_OK, status
 *   bits cleared, features not offered, a notify of a queue that does not
 *   exist, config accesses out of range) is ignored or refused;
 * - after a reset with requests in flight, once the status reads 0, nothing
 *   more is written into guest memory.
 *
 * The writable buffers of a refused chain hold a canary: the device must
 * leave them as they are. After each case the device is reset and probed
 * again, and a real round trip (a write read back; for the network card an
 * ARP exchange) proves it usable. Every round trip first reads back what the
 * previous one wrote, so a bad write chain that wrote anything would show.
 *
 * The net scenarios need a peer that answers ARP: the user-mode backend's
 * gateway, or the host end of a tap, from tg.net=user or tg.net=tap:GUEST:HOST
 * (user when absent).
 */
#include "frames.h"
#include "outcome.h"
#include "rt.h"
#include "scenario.h"
#include "virtio.h"
#include "virtio_blk.h"
#include "virtio_mmio.h"
#include "virtio_net.h"

#define MS			1000000ULL
#define EVENT_TIMEOUT		(2000 * MS) /* the device's reaction to one bad thing */
#define QUIET_NS		(50 * MS)   /* "nothing happens": far above a request's latency */
#define RT_BYTES		1024u	    /* round trip size: two sectors */
#define SCRATCH_SECTORS		16u	    /* at the end of the disk, ours */
#define SMALL_QUEUE		8u
#define VMM_QUEUE_NUM_MAX	256u /* the VMM's QueueNumMax, also its cap on a chain */
#define VMM_BLK_SEG_MAX		254u
#define VMM_NET_CONFIG_LEN	12u /* up to and including mtu */
#define VMM_BLK_RANGE_SECTORS	(1u << 21)
#define STATUS_LIVE		0x0f
#define STATUS_NEEDS_RESET	VIRTIO_STATUS_DEVICE_NEEDS_RESET
#define FAR_ADDRESS		(1ULL << 46) /* 64 TiB: beyond any RAM the VMM gives a guest */
#define WRAPPING_ADDRESS	0xffffffffffffff00ULL
#define IOAPIC_ADDRESS		0xfec00000ULL
#define LAPIC_ADDRESS		0xfee00000ULL
#define VIRTIO_MMIO_GUEST_PAGE	0x028 /* legacy registers: not there in version 2 */
#define VIRTIO_MMIO_QUEUE_ALIGN 0x03c
#define VIRTIO_MMIO_QUEUE_PFN	0x040
#define VIRTIO_MMIO_SHM_SEL	0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define VIRTIO_MMIO_SHM_BASE_HI 0x0bc

struct hctx {
	struct tg_outcome o; /* o.step: the variant being tried, for the message */
	struct virtio_device *vdev;
	struct virtio_mmio_device *m;
	struct virtio_probe_opts opts; /* what recovery probes with */
	struct virtio_blk *blk;
	struct virtio_net *net;
	/* blk */
	uint64_t capacity, scratch;
	struct virtio_blk_outhdr *hdr;
	uint8_t *status;
	uint8_t *wbuf; /* a pattern no round trip writes */
	uint8_t *rbuf; /* for device-writable buffers */
	uint8_t *last; /* what the last round trip left at scratch */
	bool have_last;
	uint32_t seed;
	/* net */
	uint8_t guest_ip[4], peer_ip[4];
	uint8_t *frame;
};

/* Results. */

#define fail(c, ...) tg_fail(&(c)->o, __VA_ARGS__)
#define skip(c, ...) tg_skip(&(c)->o, __VA_ARGS__)

static void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* Registers. */

static uint32_t reg(struct hctx *c, unsigned int off)
{
	return virtio_mmio_read(c->m, off);
}

static void wreg(struct hctx *c, unsigned int off, uint32_t val)
{
	virtio_mmio_write(c->m, off, val);
}

static uint32_t dev_status(struct hctx *c)
{
	return reg(c, VIRTIO_MMIO_STATUS);
}

/* Status 0, as the spec has drivers do it: write 0, then wait to read 0. */
static bool dev_reset(struct hctx *c)
{
	uint64_t end = tg_ns() + EVENT_TIMEOUT;

	wreg(c, VIRTIO_MMIO_STATUS, 0);
	while (dev_status(c) != 0) {
		if (tg_ns() > end)
			return fail(c, "status 0x%x after writing 0", dev_status(c));
		cpu_relax();
	}
	return true;
}

static bool expect_status(struct hctx *c, uint32_t want, const char *after)
{
	uint32_t s = dev_status(c);

	return s == want || fail(c, "status 0x%x after %s, expected 0x%x", s, after, want);
}

/*
 * NEEDS_RESET, set by a worker (so polled for), with a config interrupt
 * when DRIVER_OK was set (@live) and none before: the VMM raises it only
 * for a driver that can take it.
 */
static bool expect_needs_reset(struct hctx *c, bool live)
{
	uint64_t end = tg_ns() + EVENT_TIMEOUT;
	uint32_t s, isr;

	while (!((s = dev_status(c)) & STATUS_NEEDS_RESET) && tg_ns() < end)
		cpu_relax();
	if (!(s & STATUS_NEEDS_RESET))
		return fail(c, "no DEVICE_NEEDS_RESET after %llu ms (status 0x%x)",
			    (unsigned long long)(EVENT_TIMEOUT / MS), s);
	/* The interrupt status follows the status bit: give it the same time. */
	while (live && !((isr = reg(c, VIRTIO_MMIO_INTERRUPT_STATUS)) & VIRTIO_ISR_CONFIG) &&
	       tg_ns() < end)
		cpu_relax();
	isr = reg(c, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (live && !(isr & VIRTIO_ISR_CONFIG))
		return fail(c,
			    "NEEDS_RESET (status 0x%x) without a config interrupt "
			    "(interrupt status 0x%x)",
			    s, isr);
	if (!live && (isr & VIRTIO_ISR_CONFIG))
		return fail(c, "config interrupt before DRIVER_OK (interrupt status 0x%x)", isr);
	return true;
}

/* Nothing the driver did may have set NEEDS_RESET or raised a config interrupt. */
static bool expect_healthy(struct hctx *c, uint32_t want_status)
{
	uint32_t isr = reg(c, VIRTIO_MMIO_INTERRUPT_STATUS);

	if (!expect_status(c, want_status, "the misuse"))
		return false;
	return !(isr & VIRTIO_ISR_CONFIG) ||
	       fail(c, "config interrupt raised (interrupt status 0x%x)", isr);
}

/* Setting up and recovering. */

static void fill_pattern(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t *w = (uint64_t *)buf, x = 0x9e3779b97f4a7c15ULL * (seed + 1);

	for (size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

static bool same_words(const void *a, const void *b, size_t len)
{
	const uint64_t *p = a, *q = b;

	for (size_t i = 0; i < len / 8; i++)
		if (p[i] != q[i])
			return false;
	return true;
}

static bool blk_up(struct hctx *c)
{
	int err = virtio_reprobe(c->vdev, &c->opts);

	c->blk = virtio_blk_of(c->vdev);
	if (err || !c->blk)
		return fail(c, "probe: %s (%s)", virtio_strerror(err), c->vdev->probe_error);
	return expect_status(c, STATUS_LIVE, "the probe");
}

/*
 * Read back what the previous round trip left (nothing in between may have
 * written there), then write a new pattern and read it back.
 */
static bool blk_round_trip(struct hctx *c)
{
	int err;

	if (c->have_last) {
		memset(c->rbuf, 0, RT_BYTES);
		err = virtio_blk_read(c->blk, c->scratch, c->rbuf, RT_BYTES);
		if (err)
			return fail(c, "round trip: read: %s", virtio_strerror(err));
		if (!same_words(c->rbuf, c->last, RT_BYTES))
			return fail(c,
				    "sectors %llu+2 changed since the last round trip: "
				    "a rejected request wrote them",
				    (unsigned long long)c->scratch);
	}
	fill_pattern(c->last, RT_BYTES, ++c->seed);
	err = virtio_blk_write(c->blk, c->scratch, c->last, RT_BYTES);
	if (err)
		return fail(c, "round trip: write: %s", virtio_strerror(err));
	memset(c->rbuf, 0, RT_BYTES);
	err = virtio_blk_read(c->blk, c->scratch, c->rbuf, RT_BYTES);
	if (err)
		return fail(c, "round trip: read: %s", virtio_strerror(err));
	if (!same_words(c->rbuf, c->last, RT_BYTES))
		return fail(c, "round trip: read back other data than written");
	c->have_last = true;
	return true;
}

/* Reset (which must clear NEEDS_RESET and the interrupt status), probe, round trip. */
static bool blk_recover(struct hctx *c)
{
	uint32_t isr;

	if (!dev_reset(c))
		return false;
	isr = reg(c, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (isr)
		return fail(c, "interrupt status 0x%x after reset", isr);
	return blk_up(c) && blk_round_trip(c);
}

/* The probe log line, printed at discovery already: dozens of reprobes would only slow us. */
static bool saved_verbose;

static void quiet(void)
{
	saved_verbose = virtio_verbose;
	virtio_verbose = false;
}

static bool blk_begin(struct hctx *c, char *msg, size_t len, const struct virtio_probe_opts *opts)
{
	quiet();
	memset(c, 0, sizeof(*c));
	tg_outcome_init(&c->o, msg, len);
	if (opts)
		c->opts = *opts;
	c->vdev = virtio_find_device(VIRTIO_ID_BLOCK, 0);
	if (!c->vdev)
		return skip(c, "no virtio-blk device (run with --disk)");
	c->m = to_virtio_mmio(c->vdev);
	c->hdr = tg_alloc(sizeof(*c->hdr), 16);
	c->status = tg_alloc(16, 16);
	c->wbuf = tg_alloc(RT_BYTES, 512);
	c->rbuf = tg_alloc(RT_BYTES, 512);
	c->last = tg_alloc(RT_BYTES, 512);
	fill_pattern(c->wbuf, RT_BYTES, 0xbad);
	if (!blk_up(c))
		return false;
	c->capacity = c->blk->capacity;
	if (c->blk->ro)
		return skip(c, "the disk is read-only: these scenarios write to it");
	if (c->capacity < 4 * SCRATCH_SECTORS)
		return skip(c, "the disk has %llu sectors, fewer than %u",
			    (unsigned long long)c->capacity, 4 * SCRATCH_SECTORS);
	c->scratch = c->capacity - SCRATCH_SECTORS;
	return blk_round_trip(c);
}

/*
 * Leave no device using this scenario's memory: reset the one it drove (it
 * may be set up by hand, unknown to the bus) and remove every bound one.
 */
static enum tg_result finish(struct hctx *c)
{
	if (c->m)
		virtio_mmio_write(c->m, VIRTIO_MMIO_STATUS, 0);
	virtio_remove_all();
	memset(&virtio_net_params, 0, sizeof(virtio_net_params));
	virtio_verbose = saved_verbose;
	return tg_outcome_result(&c->o);
}

/* Raw chains. */

struct seg {
	uint64_t addr;
	uint32_t len;
	uint16_t flags; /* WRITE, INDIRECT; NEXT is added between segments */
};

static void set_hdr(struct hctx *c, uint32_t type, uint64_t sector)
{
	c->hdr->type = type;
	c->hdr->reserved = 0;
	c->hdr->sector = sector;
	*c->status = 0xff;
}

/* Lay @n segments on @n reserved descriptors (@ids), linked in order. */
static bool lay_chain(struct hctx *c, struct virtqueue *vq, const struct seg *s, unsigned int n,
		      uint16_t *ids)
{
	if (virtqueue_reserve_desc(vq, ids, n))
		return fail(c, "%u descriptors not free", n);
	for (unsigned int k = 0; k < n; k++) {
		bool more = k + 1 < n;

		vring_write_desc(vq, ids[k], s[k].addr, s[k].len,
				 (uint16_t)(s[k].flags | (more ? VRING_DESC_F_NEXT : 0)),
				 more ? ids[k + 1] : 0);
	}
	return true;
}

static bool post_chain(struct hctx *c, struct virtqueue *vq, const struct seg *s, unsigned int n)
{
	uint16_t ids[16];

	if (n > TG_ARRAY_SIZE(ids) || !lay_chain(c, vq, s, n, ids))
		return false;
	vring_post_raw(vq, ids[0]);
	return true;
}

/* Fill an indirect table (16-aligned, zeroed) with @n segments linked in order. */
static struct vring_desc *make_table(const struct seg *s, unsigned int n, unsigned int room)
{
	struct vring_desc *t = tg_alloc(TG_MAX(n, room) * sizeof(*t), 16);

	for (unsigned int k = 0; k < n; k++) {
		bool more = k + 1 < n;

		t[k] = (struct vring_desc){
		    .addr = s[k].addr,
		    .len = s[k].len,
		    .flags = (uint16_t)(s[k].flags | (more ? VRING_DESC_F_NEXT : 0)),
		    .next = (uint16_t)(more ? k + 1 : 0),
		};
	}
	return t;
}

static struct seg seg_of(const void *p, uint32_t len, uint16_t flags)
{
	return (struct seg){(uintptr_t)p, len, flags};
}

/* One ring descriptor naming @t (@len bytes of it). */
static bool post_indirect(struct hctx *c, struct virtqueue *vq, uint64_t t, uint32_t len,
			  uint16_t extra_flags)
{
	struct seg s = {t, len, (uint16_t)(VRING_DESC_F_INDIRECT | extra_flags)};

	return post_chain(c, vq, &s, 1);
}

/*
 * A bad thing done to queue 0, one variant of it: post it, notify, expect
 * NEEDS_RESET with nothing returned, then recover.
 */
struct bad_case {
	const char *name;
	bool (*post)(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc);
	uint64_t addr;
	uint32_t len;
	bool read; /* a read request (the bad buffer device-writable) rather than a write */
};

#define BAD(n, fn, ...)                                                                            \
	{                                                                                          \
		.name = (n), .post = (fn), __VA_ARGS__                                             \
	}

/* Is every byte of @buf @v? Word by word: byte loops are slow in emulated ring 0. */
static bool all_bytes(const void *buf, size_t len, uint8_t v)
{
	const uint64_t *w = buf, x = 0x0101010101010101ULL * v;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != x)
			return false;
	return true;
}

#define CANARY 0xa5

static bool run_bad_case(struct hctx *c, const struct bad_case *bc)
{
	struct virtqueue *vq = c->blk->vqs[0];
	uint16_t used_before = vq->vring.used->idx;

	c->o.step = bc->name;
	/* The device-writable buffers of the bad chains: a refused chain leaves them be. */
	memset(c->rbuf, CANARY, RT_BYTES);
	memset(c->status, CANARY, 16);
	if (!bc->post(c, vq, bc))
		return false;
	*c->status = CANARY;
	virtqueue_notify(vq);
	if (!expect_needs_reset(c, true))
		return false;
	if (vq->vring.used->idx != used_before)
		return fail(c, "the device returned the chain (used index %u -> %u)", used_before,
			    vq->vring.used->idx);
	if (!all_bytes(c->rbuf, RT_BYTES, CANARY) || !all_bytes(c->status, 16, CANARY))
		return fail(c, "the device wrote into the buffers of a chain it refused");
	if (!blk_recover(c))
		return false;
	c->o.step = NULL;
	return true;
}

static enum tg_result run_bad_cases(char *msg, size_t len, const struct bad_case *cases,
				    unsigned int n, const struct virtio_probe_opts *opts)
{
	struct hctx c;

	if (blk_begin(&c, msg, len, opts)) {
		for (unsigned int i = 0; i < n && run_bad_case(&c, &cases[i]); i++)
			;
		if (!c.o.failed)
			tg_snprintf(msg, len, "%u variant%s", n, n == 1 ? "" : "s");
	}
	return finish(&c);
}

/* A write of wbuf to scratch, or a read from it, with one bad data buffer. */
static bool post_bad_data(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	struct seg s[4];
	unsigned int n = 0;

	set_hdr(c, bc->read ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, c->scratch);
	s[n++] = seg_of(c->hdr, sizeof(*c->hdr), 0);
	if (!bc->read)
		s[n++] = seg_of(c->wbuf, 512, 0);
	s[n++] = (struct seg){bc->addr, bc->len, bc->read ? VRING_DESC_F_WRITE : 0};
	s[n++] = seg_of(c->status, 1, VRING_DESC_F_WRITE);
	return post_chain(c, vq, s, n);
}

static bool post_bad_header(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	struct seg s[] = {
	    {bc->addr, bc->len, 0},
	    seg_of(c->status, 1, VRING_DESC_F_WRITE),
	};

	return post_chain(c, vq, s, TG_ARRAY_SIZE(s));
}

/* Addresses relative to the end of RAM are filled in at run time (len 0 in the table). */
static enum tg_result s_buffer_outside_ram(char *msg, size_t len)
{
	uint64_t top = tg_ram_top();
	const struct bad_case cases[] = {
	    BAD("data buffer on the device's own registers", post_bad_data, .addr = 0xd0000000,
		.len = 512, .read = true),
	    BAD("data buffer on the local APIC", post_bad_data, .addr = LAPIC_ADDRESS, .len = 512,
		.read = true),
	    BAD("data buffer on the IO-APIC", post_bad_data, .addr = IOAPIC_ADDRESS, .len = 512),
	    BAD("data buffer just past RAM", post_bad_data, .addr = top, .len = 512),
	    BAD("data buffer across the end of RAM", post_bad_data, .addr = top - 256, .len = 512),
	    BAD("data buffer across the end of RAM, device-writable", post_bad_data,
		.addr = top - 256, .len = 512, .read = true),
	    BAD("data buffer at 64 TiB", post_bad_data, .addr = FAR_ADDRESS, .len = 512),
	    BAD("data buffer wrapping past 2^64", post_bad_data, .addr = WRAPPING_ADDRESS,
		.len = 512, .read = true),
	    BAD("request header past RAM", post_bad_header, .addr = top, .len = 16),
	};

	return run_bad_cases(msg, len, cases, TG_ARRAY_SIZE(cases), NULL);
}

static bool post_self_loop(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	uint16_t id;

	(void)bc;
	set_hdr(c, VIRTIO_BLK_T_OUT, c->scratch);
	if (virtqueue_reserve_desc(vq, &id, 1))
		return fail(c, "no free descriptor");
	vring_write_desc(vq, id, (uintptr_t)c->hdr, sizeof(*c->hdr), VRING_DESC_F_NEXT, id);
	vring_post_raw(vq, id);
	return true;
}

static bool post_two_loop(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	uint16_t ids[2];
	struct seg s[] = {
	    seg_of(c->hdr, sizeof(*c->hdr), 0),
	    seg_of(c->wbuf, 512, 0),
	};

	(void)bc;
	set_hdr(c, VIRTIO_BLK_T_OUT, c->scratch);
	if (!lay_chain(c, vq, s, 2, ids))
		return false;
	/* The second goes back to the first. */
	vring_write_desc(vq, ids[1], s[1].addr, s[1].len, VRING_DESC_F_NEXT, ids[0]);
	vring_post_raw(vq, ids[0]);
	return true;
}

/* Writable buffers looping: a device that followed it would write for ever. */
static bool post_writable_loop(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	uint16_t ids[3];
	struct seg s[] = {
	    seg_of(c->hdr, sizeof(*c->hdr), 0),
	    seg_of(c->rbuf, 512, VRING_DESC_F_WRITE),
	    seg_of(c->status, 1, VRING_DESC_F_WRITE),
	};

	(void)bc;
	set_hdr(c, VIRTIO_BLK_T_IN, c->scratch);
	if (!lay_chain(c, vq, s, 3, ids))
		return false;
	vring_write_desc(vq, ids[2], s[2].addr, s[2].len, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
			 ids[1]);
	vring_post_raw(vq, ids[0]);
	return true;
}

static bool post_indirect_loop(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	struct seg s[] = {
	    seg_of(c->hdr, sizeof(*c->hdr), 0),
	    seg_of(c->wbuf, 512, 0),
	};
	struct vring_desc *t = make_table(s, 2, 2);

	(void)bc;
	set_hdr(c, VIRTIO_BLK_T_OUT, c->scratch);
	t[1].flags = VRING_DESC_F_NEXT;
	t[1].next = 0;
	return post_indirect(c, vq, (uintptr_t)t, 2 * sizeof(*t), 0);
}

static enum tg_result s_chain_loop(char *msg, size_t len)
{
	static const struct bad_case cases[] = {
	    BAD("descriptor chained to itself", post_self_loop),
	    BAD("two descriptors chained in a loop", post_two_loop),
	    BAD("device-writable descriptors in a loop", post_writable_loop),
	    BAD("loop inside an indirect table", post_indirect_loop),
	};

	return run_bad_cases(msg, len, cases, TG_ARRAY_SIZE(cases), NULL);
}

/*
 * Chains longer than the queue (8 here): in one indirect table, or direct
 * descriptors continued by one; and a table longer than the VMM's 256.
 */
static void read_segs(struct hctx *c, struct seg *s, unsigned int ndata)
{
	set_hdr(c, VIRTIO_BLK_T_IN, c->scratch);
	s[0] = seg_of(c->hdr, sizeof(*c->hdr), 0);
	for (unsigned int k = 0; k < ndata; k++)
		s[1 + k] = seg_of(c->rbuf + 64 * k, 64, VRING_DESC_F_WRITE);
	s[1 + ndata] = seg_of(c->status, 1, VRING_DESC_F_WRITE);
}

static bool post_oversized_table(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	struct seg s[SMALL_QUEUE + 1];

	(void)bc;
	/* Header, 7 data buffers (of 64 bytes: 448, not a whole sector), status: 9. */
	read_segs(c, s, SMALL_QUEUE - 1);
	return post_indirect(c, vq, (uintptr_t)make_table(s, SMALL_QUEUE + 1, 0),
			     (SMALL_QUEUE + 1) * sizeof(struct vring_desc), 0);
}

static bool post_oversized_mixed(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	struct seg s[SMALL_QUEUE + 1];
	struct vring_desc *t;
	uint16_t ids[3];

	(void)bc;
	read_segs(c, s, SMALL_QUEUE - 1);
	/* Two direct buffers, then a table with the other seven. */
	t = make_table(s + 2, SMALL_QUEUE - 1, 0);
	if (virtqueue_reserve_desc(vq, ids, 3))
		return fail(c, "no free descriptors");
	vring_write_desc(vq, ids[0], s[0].addr, s[0].len, VRING_DESC_F_NEXT, ids[1]);
	vring_write_desc(vq, ids[1], s[1].addr, s[1].len, s[1].flags | VRING_DESC_F_NEXT, ids[2]);
	vring_write_desc(vq, ids[2], (uintptr_t)t, (SMALL_QUEUE - 1) * sizeof(*t),
			 VRING_DESC_F_INDIRECT, 0);
	vring_post_raw(vq, ids[0]);
	return true;
}

static bool post_huge_table(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	unsigned int n = VMM_QUEUE_NUM_MAX + 1;
	struct seg s[3];
	struct vring_desc *t;

	(void)bc;
	read_segs(c, s, 1);
	t = make_table(s, 3, n);
	return post_indirect(c, vq, (uintptr_t)t, n * sizeof(*t), 0);
}

/*
 * The control first: a chain exactly the queue's size, in an indirect
 * table, is served (so the failures below are about the length alone).
 */
static bool full_size_chain_works(struct hctx *c)
{
	struct virtio_sg sg[SMALL_QUEUE - 2];
	struct virtio_blk_req req;
	int err;

	c->o.step = "control: a chain of exactly the queue size";
	for (unsigned int k = 0; k < TG_ARRAY_SIZE(sg); k++)
		sg[k] = virtio_sg_buf(c->rbuf + 512 * (k % 2), 512);
	virtio_blk_req_init_sg(&req, VIRTIO_BLK_T_IN, c->scratch, sg, TG_ARRAY_SIZE(sg));
	req.mode = VQ_INDIRECT;
	req.no_limits = true;
	err = virtio_blk_do(c->blk, 0, &req);
	if (err != VIRTIO_BLK_S_OK)
		return fail(c, "%s (status %d)", err < 0 ? virtio_strerror(err) : "error", err);
	if (req.used_len != TG_ARRAY_SIZE(sg) * 512 + 1)
		return fail(c, "used length %u, expected %u", req.used_len,
			    (unsigned int)(TG_ARRAY_SIZE(sg) * 512 + 1));
	c->o.step = NULL;
	return true;
}

static enum tg_result s_chain_oversized(char *msg, size_t len)
{
	static const struct bad_case cases[] = {
	    BAD("indirect table one longer than the queue", post_oversized_table),
	    BAD("direct descriptors and a table, together one longer than the queue",
		post_oversized_mixed),
	    BAD("indirect table of 257 descriptors", post_huge_table),
	};
	const struct virtio_probe_opts opts = {.queue_size = SMALL_QUEUE};
	struct hctx c;

	if (blk_begin(&c, msg, len, &opts) && full_size_chain_works(&c)) {
		for (unsigned int i = 0; i < TG_ARRAY_SIZE(cases) && run_bad_case(&c, &cases[i]);
		     i++)
			;
		if (!c.o.failed)
			tg_snprintf(msg, len, "a chain of %u served, %u longer ones refused",
				    SMALL_QUEUE, (unsigned int)TG_ARRAY_SIZE(cases));
	}
	return finish(&c);
}

/* Indirect tables used wrongly. */

static struct vring_desc *valid_read_table(struct hctx *c)
{
	struct seg s[3];

	read_segs(c, s, 1);
	s[1].len = 512;
	return make_table(s, 3, 0);
}

static bool post_nested(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	struct vring_desc *inner = valid_read_table(c);
	struct seg outer = {(uintptr_t)inner, 3 * sizeof(*inner), VRING_DESC_F_INDIRECT};

	(void)bc;
	return post_indirect(c, vq, (uintptr_t)make_table(&outer, 1, 0), sizeof(*inner), 0);
}

static bool post_indirect_next(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	struct vring_desc *t = valid_read_table(c);
	uint16_t ids[2];

	(void)bc;
	if (virtqueue_reserve_desc(vq, ids, 2))
		return fail(c, "no free descriptors");
	vring_write_desc(vq, ids[0], (uintptr_t)t, 3 * sizeof(*t),
			 VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, ids[1]);
	vring_write_desc(vq, ids[1], (uintptr_t)c->status, 1, VRING_DESC_F_WRITE, 0);
	vring_post_raw(vq, ids[0]);
	return true;
}

/* A table as bc says: at bc->addr (0: a valid one) with bc->len bytes. */
static bool post_table_as(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	uint64_t t = bc->addr ? bc->addr : (uintptr_t)valid_read_table(c);

	return post_indirect(c, vq, t, bc->len, 0);
}

static bool post_table_next_out(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	struct vring_desc *t = valid_read_table(c);

	(void)bc;
	t[0].next = 3; /* the table has 3 */
	return post_indirect(c, vq, (uintptr_t)t, 3 * sizeof(*t), 0);
}

static enum tg_result s_indirect_misuse(char *msg, size_t len)
{
	uint64_t top = tg_ram_top();
	const struct bad_case cases[] = {
	    BAD("indirect table inside an indirect table", post_nested),
	    BAD("indirect descriptor with NEXT", post_indirect_next),
	    BAD("indirect table of 0 bytes", post_table_as, .len = 0),
	    BAD("indirect table of 24 bytes (not whole descriptors)", post_table_as, .len = 24),
	    BAD("indirect table past RAM", post_table_as, .addr = top, .len = 48),
	    BAD("indirect table across the end of RAM", post_table_as, .addr = top - 16, .len = 48),
	    BAD("indirect table on the device's own registers", post_table_as, .addr = 0xd0000000,
		.len = 48),
	    BAD("next index out of an indirect table", post_table_next_out),
	};

	return run_bad_cases(msg, len, cases, TG_ARRAY_SIZE(cases), NULL);
}

/* With RING_INDIRECT_DESC withheld, a perfectly good indirect table is a broken ring. */
static enum tg_result s_indirect_unnegotiated(char *msg, size_t len)
{
	static const struct bad_case cases[] = {
	    BAD("indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC", post_table_as,
		.len = 3 * sizeof(struct vring_desc)),
	};
	const struct virtio_probe_opts opts = {.clear = VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)};

	return run_bad_cases(msg, len, cases, TG_ARRAY_SIZE(cases), &opts);
}

/* Indices: the available index, a head, a next, all out of range (queue of 8). */

static bool post_avail_ahead(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	(void)c;
	/* The ring entries are all 0, a valid head: only the index is wrong. */
	vring_set_avail_idx_raw(vq, (uint16_t)(vq->avail_idx + bc->len));
	return true;
}

static bool post_head(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	(void)c;
	vring_post_raw(vq, (uint16_t)bc->len);
	return true;
}

static bool post_next_out(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	uint16_t id;

	set_hdr(c, VIRTIO_BLK_T_OUT, c->scratch);
	if (virtqueue_reserve_desc(vq, &id, 1))
		return fail(c, "no free descriptor");
	vring_write_desc(vq, id, (uintptr_t)c->hdr, sizeof(*c->hdr), VRING_DESC_F_NEXT,
			 (uint16_t)bc->len);
	vring_post_raw(vq, id);
	return true;
}

static enum tg_result s_ring_indices(char *msg, size_t len)
{
	static const struct bad_case cases[] = {
	    BAD("available index 9 ahead on a queue of 8", post_avail_ahead,
		.len = SMALL_QUEUE + 1),
	    BAD("available index 1 behind (65535 ahead)", post_avail_ahead, .len = 0xffff),
	    BAD("chain head 8 on a queue of 8", post_head, .len = SMALL_QUEUE),
	    BAD("chain head 65535", post_head, .len = 0xffff),
	    BAD("next index 8 on a queue of 8", post_next_out, .len = SMALL_QUEUE),
	};
	const struct virtio_probe_opts opts = {.queue_size = SMALL_QUEUE};

	return run_bad_cases(msg, len, cases, TG_ARRAY_SIZE(cases), &opts);
}

/* Zero-length buffers, and a readable buffer after a writable one. */

static bool post_segs_case(struct hctx *c, struct virtqueue *vq, const struct seg *s,
			   unsigned int n, bool indirect)
{
	if (indirect)
		return post_indirect(c, vq, (uintptr_t)make_table(s, n, 0),
				     n * sizeof(struct vring_desc), 0);
	return post_chain(c, vq, s, n);
}

/* bc->len picks which buffer is empty: 0 header, 1 data, 2 status; bc->read: indirect. */
static bool post_zero_len(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	struct seg s[] = {
	    seg_of(c->hdr, sizeof(*c->hdr), 0),
	    seg_of(c->rbuf, 512, VRING_DESC_F_WRITE),
	    seg_of(c->status, 1, VRING_DESC_F_WRITE),
	};

	set_hdr(c, VIRTIO_BLK_T_IN, c->scratch);
	s[bc->len].len = 0;
	return post_segs_case(c, vq, s, TG_ARRAY_SIZE(s), bc->read);
}

static bool post_read_after_write(struct hctx *c, struct virtqueue *vq, const struct bad_case *bc)
{
	struct seg s[] = {
	    seg_of(c->hdr, sizeof(*c->hdr), 0),
	    seg_of(c->rbuf, 512, VRING_DESC_F_WRITE),
	    seg_of(c->wbuf, 512, 0),
	    seg_of(c->status, 1, VRING_DESC_F_WRITE),
	};

	set_hdr(c, VIRTIO_BLK_T_IN, c->scratch);
	return post_segs_case(c, vq, s, TG_ARRAY_SIZE(s), bc->read);
}

static enum tg_result s_bad_buffers(char *msg, size_t len)
{
	static const struct bad_case cases[] = {
	    BAD("zero-length header", post_zero_len, .len = 0),
	    BAD("zero-length data buffer", post_zero_len, .len = 1),
	    BAD("zero-length status buffer", post_zero_len, .len = 2),
	    BAD("zero-length buffer in an indirect table", post_zero_len, .len = 1, .read = true),
	    BAD("readable buffer after a writable one", post_read_after_write),
	    BAD("readable after writable in an indirect table", post_read_after_write,
		.read = true),
	};

	return run_bad_cases(msg, len, cases, TG_ARRAY_SIZE(cases), NULL);
}

/*
 * NEEDS_RESET with interrupts on: the config interrupt reaches the guest
 * through the IO-APIC, and the device serves nothing (on any queue) until
 * the driver resets it.
 */
static enum tg_result s_needs_reset_interrupt(char *msg, size_t len)
{
	const struct virtio_probe_opts opts = {.use_irq = true};
	struct virtio_blk_req reqs[VIRTIO_BLK_MAX_QUEUES];
	char(*ids)[24];
	uint64_t before, end;
	struct hctx c;
	unsigned int q;

	if (!blk_begin(&c, msg, len, &opts))
		return finish(&c);
	before = c.vdev->stats.config_interrupts;
	post_self_loop(&c, c.blk->vqs[0], NULL);
	virtqueue_notify(c.blk->vqs[0]);
	end = tg_ns() + EVENT_TIMEOUT;
	while (c.vdev->stats.config_interrupts == before && tg_ns() < end)
		tg_wait_irq(end - tg_ns());
	if (c.vdev->stats.config_interrupts == before) {
		fail(&c, "no config interrupt within %llu ms (status 0x%x)",
		     (unsigned long long)(EVENT_TIMEOUT / MS), dev_status(&c));
		return finish(&c);
	}
	if (!(dev_status(&c) & STATUS_NEEDS_RESET)) {
		fail(&c, "config interrupt, but status 0x%x", dev_status(&c));
		return finish(&c);
	}
	/* A good request on every queue: none may be served now. */
	ids = tg_alloc(sizeof(*ids) * c.blk->nr_queues, 8);
	for (q = 0; q < c.blk->nr_queues; q++) {
		virtio_blk_req_init(&reqs[q], VIRTIO_BLK_T_GET_ID, 0, ids[q], VIRTIO_BLK_ID_BYTES);
		if (virtio_blk_submit(c.blk, q, &reqs[q])) {
			fail(&c, "cannot submit on queue %u", q);
			return finish(&c);
		}
	}
	end = tg_ns() + QUIET_NS;
	while (tg_ns() < end)
		tg_wait_irq(end - tg_ns());
	for (q = 0; q < c.blk->nr_queues; q++) {
		if (virtqueue_more_used(c.blk->vqs[q])) {
			fail(&c, "queue %u of %u served a request while NEEDS_RESET was set", q,
			     c.blk->nr_queues);
			return finish(&c);
		}
	}
	if (blk_recover(&c))
		tg_snprintf(msg, len, "%u queue(s) quiet for %llu ms", c.blk->nr_queues,
			    (unsigned long long)(QUIET_NS / MS));
	return finish(&c);
}

/*
 * A reset with requests in flight: once the status reads 0 the device
 * writes nothing more into guest memory (its workers stopped, in-flight
 * I/O finished or dropped: virtio.h). Writes of 1 MiB, a FLUSH (an
 * fdatasync of them, the slow one) and reads are posted; when the first
 * completes, the device is reset. Canaries written after the reset into
 * every read buffer and status byte must survive, checked in ring 3 at
 * native speed; and the used index must stay where the reset left it.
 */
#define INFLIGHT_REQS	16u
#define INFLIGHT_WRITES 6u /* then a FLUSH, then reads */
#define INFLIGHT_BYTES	(1024u * 1024)

struct canary_check {
	const uint64_t *p;
	size_t words;
	uint64_t v;
};

static long fill_words(void *arg)
{
	const struct canary_check *k = arg;
	uint64_t *p = (uint64_t *)k->p;

	for (size_t i = 0; i < k->words; i++)
		p[i] = k->v;
	return 0;
}

static long first_changed_word(void *arg)
{
	const struct canary_check *k = arg;

	for (size_t i = 0; i < k->words; i++)
		if (k->p[i] != k->v)
			return (long)i;
	return -1;
}

static bool queue_in_flight(struct hctx *c, struct virtio_blk_req *reqs, uint8_t *bufs)
{
	uint64_t span = INFLIGHT_BYTES / 512, room = c->scratch - span;

	for (unsigned int i = 0; i < INFLIGHT_REQS; i++) {
		uint8_t *buf = bufs + (size_t)i * INFLIGHT_BYTES;
		uint64_t sector = (uint64_t)i * span % room;
		int err;

		if (i < INFLIGHT_WRITES)
			virtio_blk_req_init(&reqs[i], VIRTIO_BLK_T_OUT, sector, buf,
					    INFLIGHT_BYTES);
		else if (i == INFLIGHT_WRITES)
			virtio_blk_req_init(&reqs[i], VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
		else
			virtio_blk_req_init(&reqs[i], VIRTIO_BLK_T_IN, sector, buf, INFLIGHT_BYTES);
		err = virtio_blk_queue(c->blk, 0, &reqs[i]);
		if (err)
			return fail(c, "queueing request %u: %s", i, virtio_strerror(err));
	}
	return true;
}

static enum tg_result s_reset_in_flight(char *msg, size_t len)
{
	size_t reads = (size_t)(INFLIGHT_REQS - INFLIGHT_WRITES) * INFLIGHT_BYTES;
	struct virtio_blk_req *reqs;
	struct canary_check k;
	uint8_t *bufs, *rbase;
	unsigned int done;
	uint64_t end;
	struct hctx c;
	uint16_t used;
	long bad;

	if (!blk_begin(&c, msg, len, NULL))
		return finish(&c);
	if (c.scratch < 2 * INFLIGHT_BYTES / 512) {
		skip(&c, "the disk is smaller than %u MiB", 2 * INFLIGHT_BYTES >> 20);
		return finish(&c);
	}
	bufs = tg_alloc((size_t)INFLIGHT_REQS * INFLIGHT_BYTES, TG_PAGE_SIZE);
	reqs = tg_alloc(INFLIGHT_REQS * sizeof(*reqs), 64);
	rbase = bufs + (size_t)INFLIGHT_WRITES * INFLIGHT_BYTES;
	if (!queue_in_flight(&c, reqs, bufs))
		return finish(&c);
	virtio_blk_kick(c.blk, 0);
	end = tg_ns() + EVENT_TIMEOUT;
	while (!virtqueue_more_used(c.blk->vqs[0]) && tg_ns() < end)
		cpu_relax();
	if (!dev_reset(&c))
		return finish(&c);
	used = c.blk->vqs[0]->vring.used->idx;
	done = (uint16_t)(used - c.blk->vqs[0]->last_used_idx);
	k = (struct canary_check){(const uint64_t *)rbase, reads / 8,
				  0x0101010101010101ULL * CANARY};
	/* In ring 3: a fill in emulated ring 0 of pages the host just wrote takes ~1 s. */
	tg_run_user(fill_words, &k);
	for (unsigned int i = 0; i < INFLIGHT_REQS; i++)
		reqs[i].status = CANARY;
	end = tg_ns() + QUIET_NS;
	while (tg_ns() < end)
		cpu_relax();
	bad = tg_run_user(first_changed_word, &k);
	if (bad >= 0) {
		fail(&c, "byte %ld of the read buffers changed after the reset", bad * 8);
		return finish(&c);
	}
	for (unsigned int i = 0; i < INFLIGHT_REQS; i++) {
		if (reqs[i].status != CANARY) {
			fail(&c, "status byte of request %u written after the reset", i);
			return finish(&c);
		}
	}
	if (c.blk->vqs[0]->vring.used->idx != used) {
		fail(&c, "used index moved from %u to %u after the reset", used,
		     c.blk->vqs[0]->vring.used->idx);
		return finish(&c);
	}
	c.o.step = "recovery";
	if (blk_recover(&c))
		tg_snprintf(msg, len, "%u of %u requests done when reset", done, INFLIGHT_REQS);
	return finish(&c);
}

/* Malformed requests on a sane ring: a status, and the device goes on. */

static int blk_do(struct hctx *c, struct virtio_blk_req *req)
{
	req->no_limits = true;
	return virtio_blk_do(c->blk, 0, req);
}

static bool expect_req(struct hctx *c, const char *what, struct virtio_blk_req *req, int want)
{
	int got;

	c->o.step = what;
	got = blk_do(c, req);
	if (got != want)
		return fail(c, "result %d (%s), expected status %d", got,
			    got < 0 ? virtio_strerror(got) : "a status", want);
	/* After an error only the status byte is promised: used length 1. */
	if (want != VIRTIO_BLK_S_OK && req->used_len != 1)
		return fail(c, "used length %u with an error status, expected 1", req->used_len);
	c->o.step = NULL;
	return true;
}

static bool bad_rw_requests(struct hctx *c)
{
	struct virtio_blk_req req;
	uint8_t *tail = tg_alloc(512, 512);

	virtio_blk_req_init(&req, VIRTIO_BLK_T_IN, c->capacity, c->rbuf, 512);
	if (!expect_req(c, "read at the capacity", &req, VIRTIO_BLK_S_IOERR))
		return false;
	virtio_blk_req_init(&req, VIRTIO_BLK_T_IN, c->capacity - 1, c->rbuf, 1024);
	if (!expect_req(c, "read across the end of the disk", &req, VIRTIO_BLK_S_IOERR))
		return false;
	virtio_blk_req_init(&req, VIRTIO_BLK_T_IN, ~0ULL >> 9, c->rbuf, 1024);
	if (!expect_req(c, "read at a sector whose offset overflows", &req, VIRTIO_BLK_S_IOERR))
		return false;
	virtio_blk_req_init(&req, VIRTIO_BLK_T_IN, c->capacity - 1, tail, 512);
	if (!expect_req(c, "read of the last sector", &req, VIRTIO_BLK_S_OK))
		return false;
	virtio_blk_req_init(&req, VIRTIO_BLK_T_OUT, c->capacity - 1, c->wbuf, 1024);
	if (!expect_req(c, "write across the end of the disk", &req, VIRTIO_BLK_S_IOERR))
		return false;
	virtio_blk_req_init(&req, VIRTIO_BLK_T_IN, c->capacity - 1, c->rbuf, 512);
	if (!expect_req(c, "reading the last sector again", &req, VIRTIO_BLK_S_OK))
		return false;
	if (!same_words(c->rbuf, tail, 512))
		return fail(c, "a write across the end of the disk changed its last sector");
	virtio_blk_req_init(&req, VIRTIO_BLK_T_IN, c->scratch, c->rbuf, 100);
	if (!expect_req(c, "read of 100 bytes", &req, VIRTIO_BLK_S_IOERR))
		return false;
	virtio_blk_req_init(&req, VIRTIO_BLK_T_OUT, c->scratch, c->wbuf, 700);
	if (!expect_req(c, "write of 700 bytes", &req, VIRTIO_BLK_S_IOERR))
		return false;
	virtio_blk_req_init(&req, VIRTIO_BLK_T_OUT, c->scratch, c->rbuf, 512);
	req.data_out = false;
	if (!expect_req(c, "write whose data is device-writable", &req, VIRTIO_BLK_S_IOERR))
		return false;
	virtio_blk_req_init(&req, VIRTIO_BLK_T_IN, c->scratch, c->wbuf, 512);
	req.data_out = true;
	return expect_req(c, "read whose data is device-readable", &req, VIRTIO_BLK_S_IOERR);
}

static bool bad_other_requests(struct hctx *c)
{
	struct virtio_blk_discard_write_zeroes seg = {.sector = c->scratch, .num_sectors = 1};
	struct virtio_blk_req req;
	char id[VIRTIO_BLK_ID_BYTES + 1];

	virtio_blk_req_init(&req, 0x7777, 0, c->rbuf, 512);
	if (!expect_req(c, "request type 0x7777", &req, VIRTIO_BLK_S_UNSUPP))
		return false;
	virtio_blk_req_init(&req, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES - 1);
	if (!expect_req(c, "GET_ID into 19 bytes", &req, VIRTIO_BLK_S_IOERR))
		return false;
	virtio_blk_req_init(&req, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES);
	if (!expect_req(c, "GET_ID into 20 bytes", &req, VIRTIO_BLK_S_OK))
		return false;
	if (!virtio_has_feature(c->vdev, VIRTIO_BLK_F_DISCARD) ||
	    !virtio_has_feature(c->vdev, VIRTIO_BLK_F_WRITE_ZEROES))
		return fail(c, "DISCARD and WRITE_ZEROES not negotiated on a writable disk");
	seg.flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	virtio_blk_req_init(&req, VIRTIO_BLK_T_DISCARD, 0, &seg, sizeof(seg));
	if (!expect_req(c, "discard with the UNMAP flag", &req, VIRTIO_BLK_S_UNSUPP))
		return false;
	seg.flags = 2;
	virtio_blk_req_init(&req, VIRTIO_BLK_T_WRITE_ZEROES, 0, &seg, sizeof(seg));
	if (!expect_req(c, "write zeroes with unknown flag 2", &req, VIRTIO_BLK_S_UNSUPP))
		return false;
	seg = (struct virtio_blk_discard_write_zeroes){.sector = c->capacity - 1, .num_sectors = 2};
	virtio_blk_req_init(&req, VIRTIO_BLK_T_DISCARD, 0, &seg, sizeof(seg));
	if (!expect_req(c, "discard across the end of the disk", &req, VIRTIO_BLK_S_IOERR))
		return false;
	seg = (struct virtio_blk_discard_write_zeroes){.sector = 0,
						       .num_sectors = VMM_BLK_RANGE_SECTORS + 1};
	virtio_blk_req_init(&req, VIRTIO_BLK_T_WRITE_ZEROES, 0, &seg, sizeof(seg));
	if (!expect_req(c, "write zeroes over more than max_write_zeroes_sectors", &req,
			VIRTIO_BLK_S_IOERR))
		return false;
	virtio_blk_req_init(&req, VIRTIO_BLK_T_DISCARD, 0, &seg, sizeof(seg) - 4);
	return expect_req(c, "discard with 12 bytes of segment", &req, VIRTIO_BLK_S_IOERR);
}

/* Wait for one raw chain's used entry and check it. */
static bool expect_raw_used(struct hctx *c, struct virtqueue *vq, uint16_t head, uint32_t want_len)
{
	uint64_t end = tg_ns() + EVENT_TIMEOUT;
	struct vring_used_elem e;

	virtqueue_notify(vq);
	while (!vring_pop_used_raw(vq, &e)) {
		if (tg_ns() > end)
			return fail(c, "not returned within %llu ms (status 0x%x)",
				    (unsigned long long)(EVENT_TIMEOUT / MS), dev_status(c));
		cpu_relax();
	}
	if (e.id != head || e.len != want_len)
		return fail(c, "used entry id %u len %u, expected id %u len %u", e.id, e.len, head,
			    want_len);
	return true;
}

/* Headers split, cut short or with no status byte: chains the driver's helpers cannot build. */
static bool odd_chains(struct hctx *c)
{
	struct virtqueue *vq = c->blk->vqs[0];
	uint8_t *h = (uint8_t *)c->hdr;
	uint16_t ids[4];
	struct seg split[] = {
	    seg_of(h, 5, 0),
	    seg_of(h + 5, 11, 0),
	    seg_of(c->rbuf, RT_BYTES, VRING_DESC_F_WRITE),
	    seg_of(c->status, 1, VRING_DESC_F_WRITE),
	};
	struct seg shorthdr[] = {
	    seg_of(h, 8, 0),
	    seg_of(c->status, 1, VRING_DESC_F_WRITE),
	};
	struct seg nostatus[] = {seg_of(h, 16, 0)};

	c->o.step = "header split 5 + 11 across two buffers";
	set_hdr(c, VIRTIO_BLK_T_IN, c->scratch);
	memset(c->rbuf, 0, RT_BYTES);
	if (!lay_chain(c, vq, split, 4, ids))
		return false;
	vring_post_raw(vq, ids[0]);
	if (!expect_raw_used(c, vq, ids[0], RT_BYTES + 1))
		return false;
	virtqueue_release_desc(vq, ids, 4);
	if (*c->status != VIRTIO_BLK_S_OK || !same_words(c->rbuf, c->last, RT_BYTES))
		return fail(c, "status %u, data %s", *c->status,
			    same_words(c->rbuf, c->last, RT_BYTES) ? "right" : "wrong");

	c->o.step = "header of 8 bytes";
	set_hdr(c, VIRTIO_BLK_T_IN, c->scratch);
	if (!lay_chain(c, vq, shorthdr, 2, ids))
		return false;
	vring_post_raw(vq, ids[0]);
	if (!expect_raw_used(c, vq, ids[0], 1))
		return false;
	virtqueue_release_desc(vq, ids, 2);
	if (*c->status != VIRTIO_BLK_S_IOERR)
		return fail(c, "status %u, expected IOERR", *c->status);

	/* No writable byte for a status: given back untouched, used length 0. */
	c->o.step = "request without a writable byte";
	set_hdr(c, VIRTIO_BLK_T_OUT, c->scratch);
	if (!lay_chain(c, vq, nostatus, 1, ids))
		return false;
	vring_post_raw(vq, ids[0]);
	if (!expect_raw_used(c, vq, ids[0], 0))
		return false;
	virtqueue_release_desc(vq, ids, 1);
	c->o.step = NULL;
	return true;
}

static enum tg_result s_bad_requests(char *msg, size_t len)
{
	struct hctx c;

	if (blk_begin(&c, msg, len, NULL) && bad_rw_requests(&c) && bad_other_requests(&c) &&
	    odd_chains(&c) && expect_healthy(&c, STATUS_LIVE))
		blk_round_trip(&c);
	return finish(&c);
}

/* Registers. */

struct ro_reg {
	unsigned int off;
	const char *name;
};

/* Read-only registers keep their value whatever is written to them. */
static bool readonly_registers(struct hctx *c)
{
	static const struct ro_reg regs[] = {
	    {VIRTIO_MMIO_MAGIC_VALUE, "MagicValue"},
	    {VIRTIO_MMIO_VERSION, "Version"},
	    {VIRTIO_MMIO_DEVICE_ID, "DeviceID"},
	    {VIRTIO_MMIO_VENDOR_ID, "VendorID"},
	    {VIRTIO_MMIO_DEVICE_FEATURES, "DeviceFeatures"},
	    {VIRTIO_MMIO_QUEUE_NUM_MAX, "QueueNumMax"},
	    {VIRTIO_MMIO_INTERRUPT_STATUS, "InterruptStatus"},
	    {VIRTIO_MMIO_CONFIG_GENERATION, "ConfigGeneration"},
	};

	if (reg(c, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC ||
	    reg(c, VIRTIO_MMIO_VERSION) != 2 || reg(c, VIRTIO_MMIO_DEVICE_ID) != VIRTIO_ID_BLOCK ||
	    reg(c, VIRTIO_MMIO_QUEUE_NUM_MAX) != VMM_QUEUE_NUM_MAX)
		return fail(c, "identity registers 0x%x %u %u, QueueNumMax %u", reg(c, 0),
			    reg(c, VIRTIO_MMIO_VERSION), reg(c, VIRTIO_MMIO_DEVICE_ID),
			    reg(c, VIRTIO_MMIO_QUEUE_NUM_MAX));
	for (unsigned int i = 0; i < TG_ARRAY_SIZE(regs); i++) {
		uint32_t before = reg(c, regs[i].off), after;

		wreg(c, regs[i].off, ~before);
		after = reg(c, regs[i].off);
		if (after != before)
			return fail(c, "%s read 0x%x, then 0x%x after writing 0x%x", regs[i].name,
				    before, after, ~before);
	}
	return true;
}

/* Write-only registers, the legacy ones and unknown offsets read 0; no shared memory. */
static bool writeonly_registers(struct hctx *c)
{
	static const struct ro_reg zero[] = {
	    {VIRTIO_MMIO_DEVICE_FEATURES_SEL, "DeviceFeaturesSel"},
	    {VIRTIO_MMIO_DRIVER_FEATURES, "DriverFeatures"},
	    {VIRTIO_MMIO_DRIVER_FEATURES_SEL, "DriverFeaturesSel"},
	    {VIRTIO_MMIO_QUEUE_SEL, "QueueSel"},
	    {VIRTIO_MMIO_QUEUE_NOTIFY, "QueueNotify"},
	    {VIRTIO_MMIO_INTERRUPT_ACK, "InterruptACK"},
	    {VIRTIO_MMIO_GUEST_PAGE, "GuestPageSize (legacy)"},
	    {VIRTIO_MMIO_QUEUE_ALIGN, "QueueAlign (legacy)"},
	    {VIRTIO_MMIO_QUEUE_PFN, "QueuePFN (legacy)"},
	    {0x0c0, "offset 0xc0"},
	    {0x0f8, "offset 0xf8"},
	};
	uint32_t v;

	/* The selectors read 0 even while set to something else. */
	wreg(c, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	wreg(c, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	for (unsigned int i = 0; i < TG_ARRAY_SIZE(zero); i++) {
		v = reg(c, zero[i].off);
		if (v)
			return fail(c, "%s reads 0x%x, expected 0", zero[i].name, v);
	}
	/* DeviceFeaturesSel is 1 now: the high word, with VERSION_1. */
	v = reg(c, VIRTIO_MMIO_DEVICE_FEATURES);
	if (!(v & 1))
		return fail(c, "DeviceFeatures word 1 is 0x%x, without VERSION_1", v);
	wreg(c, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	v = reg(c, VIRTIO_MMIO_DEVICE_FEATURES);
	if (v)
		return fail(c, "DeviceFeatures word 2 is 0x%x, expected 0", v);
	wreg(c, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	wreg(c, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	for (unsigned int off = VIRTIO_MMIO_SHM_LEN_LOW; off <= VIRTIO_MMIO_SHM_BASE_HI; off += 4) {
		v = reg(c, off);
		if (v != 0xffffffff)
			return fail(c,
				    "shared memory register 0x%x reads 0x%x: a region that "
				    "does not exist reads ~0",
				    off, v);
	}
	wreg(c, VIRTIO_MMIO_SHM_SEL, 0);
	/* A legacy QueuePFN write must not set anything up (nor tear anything down). */
	wreg(c, VIRTIO_MMIO_QUEUE_PFN, 0x1234);
	return true;
}

/* Registers take 32-bit aligned accesses only: others are ignored and read 0. */
static bool narrow_accesses(struct hctx *c)
{
	uintptr_t b = c->m->base;
	uint32_t v;

	if (tg_read8(b + VIRTIO_MMIO_MAGIC_VALUE))
		return fail(c, "8-bit read of MagicValue gave 0x%x, expected 0",
			    tg_read8(b + VIRTIO_MMIO_MAGIC_VALUE));
	if (tg_read16(b + VIRTIO_MMIO_MAGIC_VALUE))
		return fail(c, "16-bit read of MagicValue gave 0x%x, expected 0",
			    tg_read16(b + VIRTIO_MMIO_MAGIC_VALUE));
	v = tg_read32(b + VIRTIO_MMIO_MAGIC_VALUE + 2);
	if (v)
		return fail(c, "unaligned 32-bit read at 0x002 gave 0x%x, expected 0", v);
	/* A narrow write of 0 to Status would be a reset if it counted. */
	tg_write8(b + VIRTIO_MMIO_STATUS, 0);
	if (!expect_status(c, STATUS_LIVE, "an 8-bit write of 0 to Status"))
		return false;
	tg_write16(b + VIRTIO_MMIO_STATUS, 0);
	if (!expect_status(c, STATUS_LIVE, "a 16-bit write of 0 to Status"))
		return false;
	tg_write32(b + VIRTIO_MMIO_STATUS + 1, 0);
	return expect_status(c, STATUS_LIVE, "an unaligned 32-bit write of 0 at Status + 1");
}

static enum tg_result s_register_misuse(char *msg, size_t len)
{
	struct hctx c;

	if (blk_begin(&c, msg, len, NULL) && readonly_registers(&c) && writeonly_registers(&c) &&
	    narrow_accesses(&c) && expect_healthy(&c, STATUS_LIVE))
		blk_round_trip(&c);
	return finish(&c);
}

/* Queue layout. */

struct layout {
	uint32_t num;
	uint64_t desc, avail, used;
};

static struct layout layout_of(const struct virtqueue *vq)
{
	return (struct layout){vq->vring.num, (uintptr_t)vq->vring.desc, (uintptr_t)vq->vring.avail,
			       (uintptr_t)vq->vring.used};
}

static void write64(struct hctx *c, unsigned int off, uint64_t v)
{
	wreg(c, off, (uint32_t)v);
	wreg(c, off + 4, (uint32_t)(v >> 32));
}

static uint64_t read64(struct hctx *c, unsigned int off)
{
	return reg(c, off) | (uint64_t)reg(c, off + 4) << 32;
}

static void write_layout(struct hctx *c, unsigned int q, const struct layout *l)
{
	wreg(c, VIRTIO_MMIO_QUEUE_SEL, q);
	wreg(c, VIRTIO_MMIO_QUEUE_NUM, l->num);
	write64(c, VIRTIO_MMIO_QUEUE_DESC_LOW, l->desc);
	write64(c, VIRTIO_MMIO_QUEUE_DRIVER_LOW, l->avail);
	write64(c, VIRTIO_MMIO_QUEUE_DEVICE_LOW, l->used);
}

static bool expect_layout(struct hctx *c, unsigned int q, const struct layout *l, uint32_t ready,
			  const char *after)
{
	struct layout got;
	uint32_t r;

	wreg(c, VIRTIO_MMIO_QUEUE_SEL, q);
	got.num = reg(c, VIRTIO_MMIO_QUEUE_NUM);
	got.desc = read64(c, VIRTIO_MMIO_QUEUE_DESC_LOW);
	got.avail = read64(c, VIRTIO_MMIO_QUEUE_DRIVER_LOW);
	got.used = read64(c, VIRTIO_MMIO_QUEUE_DEVICE_LOW);
	r = reg(c, VIRTIO_MMIO_QUEUE_READY);
	if (got.num != l->num || got.desc != l->desc || got.avail != l->avail ||
	    got.used != l->used || r != ready)
		return fail(c,
			    "after %s queue %u reads num %u desc 0x%llx avail 0x%llx used 0x%llx "
			    "ready %u; expected %u 0x%llx 0x%llx 0x%llx %u",
			    after, q, got.num, (unsigned long long)got.desc,
			    (unsigned long long)got.avail, (unsigned long long)got.used, r, l->num,
			    (unsigned long long)l->desc, (unsigned long long)l->avail,
			    (unsigned long long)l->used, ready);
	return true;
}

/* Rings made by hand, for a device set up register by register. */
static struct virtqueue *manual_vq(struct hctx *c, unsigned int num)
{
	const struct vring_params p = {
	    .index = 0,
	    .num = num,
	    .notify = c->vdev->config->notify,
	    .name = "manual",
	};

	return vring_create_virtqueue(c->vdev, &p);
}

/* Unbound and reset, then ACKNOWLEDGE, DRIVER, VERSION_1 alone, FEATURES_OK. */
static bool manual_start(struct hctx *c, bool features_ok)
{
	virtio_dev_remove(c->vdev);
	c->blk = NULL;
	if (!dev_reset(c))
		return false;
	wreg(c, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wreg(c, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wreg(c, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wreg(c, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	wreg(c, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wreg(c, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	if (!features_ok)
		return true;
	wreg(c, VIRTIO_MMIO_STATUS, 0x0b);
	return expect_status(c, 0x0b, "FEATURES_OK with VERSION_1");
}

/* GET_ID through rings set up by hand: the device serves what it was given. */
static bool manual_get_id(struct hctx *c, struct virtqueue *vq)
{
	uint64_t end = tg_ns() + EVENT_TIMEOUT;
	struct virtio_sg sg[3];
	char *id = (char *)c->rbuf;
	uint32_t len = 0;
	void *token;
	int err;

	set_hdr(c, VIRTIO_BLK_T_GET_ID, 0);
	memset(id, 0, VIRTIO_BLK_ID_BYTES);
	sg[0] = virtio_sg_buf(c->hdr, sizeof(*c->hdr));
	sg[1] = virtio_sg_buf(id, VIRTIO_BLK_ID_BYTES);
	sg[2] = virtio_sg_buf(c->status, 1);
	err = virtqueue_add(vq, sg, 1, 2, c, VQ_DIRECT);
	if (err < 0)
		return fail(c, "GET_ID on hand-made rings: %s", virtio_strerror(err));
	virtqueue_notify(vq);
	while (!virtqueue_more_used(vq)) {
		if (tg_ns() > end)
			return fail(c, "GET_ID on hand-made rings: no answer (status 0x%x)",
				    dev_status(c));
		cpu_relax();
	}
	token = virtqueue_get_buf(vq, &len);
	if (token != c || len != VIRTIO_BLK_ID_BYTES + 1 || *c->status != VIRTIO_BLK_S_OK || !id[0])
		return fail(c, "GET_ID on hand-made rings: len %u status %u id \"%.20s\"", len,
			    *c->status, id);
	return true;
}

/*
 * Layout registers once the queue is ready, and once DRIVER_OK is set, are
 * ignored: read back unchanged, and the device keeps the rings it mapped.
 */
static enum tg_result s_queue_regs_locked(char *msg, size_t len)
{
	struct layout live, other, manual;
	struct virtqueue *vq, *vq2;
	struct hctx c;

	if (!blk_begin(&c, msg, len, NULL))
		return finish(&c);
	live = layout_of(c.blk->vqs[0]);
	vq2 = manual_vq(&c, SMALL_QUEUE);
	other = layout_of(vq2);
	other.num = 4;
	c.o.step = "after DRIVER_OK";
	if (!expect_layout(&c, 0, &live, 1, "the probe"))
		return finish(&c);
	write_layout(&c, 0, &other);
	wreg(&c, VIRTIO_MMIO_QUEUE_READY, 0);
	if (!expect_layout(&c, 0, &live, 1, "rewriting the layout and QueueReady 0") ||
	    !expect_healthy(&c, STATUS_LIVE) || !blk_round_trip(&c))
		return finish(&c);

	c.o.step = "after QueueReady, before DRIVER_OK";
	if (!manual_start(&c, true))
		return finish(&c);
	vq = manual_vq(&c, SMALL_QUEUE);
	manual = layout_of(vq);
	write_layout(&c, 0, &manual);
	wreg(&c, VIRTIO_MMIO_QUEUE_READY, 1);
	if (!expect_layout(&c, 0, &manual, 1, "QueueReady 1"))
		return finish(&c);
	write_layout(&c, 0, &other);
	wreg(&c, VIRTIO_MMIO_QUEUE_READY, 2); /* neither 0 nor 1: nonsense, ignored */
	if (!expect_layout(&c, 0, &manual, 1, "rewriting the layout and QueueReady 2"))
		return finish(&c);
	wreg(&c, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	if (!expect_status(&c, STATUS_LIVE, "DRIVER_OK") || !manual_get_id(&c, vq))
		return finish(&c);
	c.o.step = "recovery";
	blk_recover(&c);
	return finish(&c);
}

/*
 * Setup out of order: QueueReady before FEATURES_OK, DRIVER_OK before
 * FEATURES_OK, FEATURES_OK without DRIVER, features written before DRIVER,
 * a queue withdrawn with QueueReady 0, a queue set up after DRIVER_OK.
 */
static bool order_queue_before_features(struct hctx *c)
{
	struct virtqueue *vq;
	struct layout l;

	c->o.step = "QueueReady before FEATURES_OK";
	if (!manual_start(c, false))
		return false;
	vq = manual_vq(c, SMALL_QUEUE);
	l = layout_of(vq);
	write_layout(c, 0, &l);
	wreg(c, VIRTIO_MMIO_QUEUE_READY, 1);
	if (!expect_layout(c, 0, &l, 0, "QueueReady 1 without FEATURES_OK") ||
	    !expect_healthy(c, 0x03))
		return false;
	/* The layout stays; with FEATURES_OK the same QueueReady is taken. */
	wreg(c, VIRTIO_MMIO_STATUS, 0x0b);
	wreg(c, VIRTIO_MMIO_QUEUE_READY, 1);
	if (!expect_layout(c, 0, &l, 1, "FEATURES_OK and QueueReady 1"))
		return false;
	wreg(c, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	return expect_status(c, STATUS_LIVE, "DRIVER_OK") && manual_get_id(c, vq);
}

static bool order_status(struct hctx *c)
{
	c->o.step = "DRIVER_OK before FEATURES_OK";
	if (!manual_start(c, false))
		return false;
	wreg(c, VIRTIO_MMIO_STATUS, 0x07);
	if (!expect_status(c, 0x03, "ACKNOWLEDGE|DRIVER|DRIVER_OK"))
		return false;

	/* Dropping DRIVER while adding FEATURES_OK: the whole write is ignored. */
	c->o.step = "a status write that drops DRIVER";
	wreg(c, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wreg(c, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wreg(c, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_FEATURES_OK);
	if (!expect_status(c, 0x03, "ACKNOWLEDGE|FEATURES_OK (DRIVER dropped)"))
		return false;

	c->o.step = "FEATURES_OK without DRIVER";
	if (!dev_reset(c))
		return false;
	wreg(c, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wreg(c, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wreg(c, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wreg(c, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_FEATURES_OK);
	if (!expect_status(c, VIRTIO_STATUS_ACKNOWLEDGE, "ACKNOWLEDGE|FEATURES_OK"))
		return false;

	/* The VERSION_1 written above came before DRIVER: it must not have counted. */
	c->o.step = "features written before DRIVER";
	wreg(c, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wreg(c, VIRTIO_MMIO_STATUS, 0x0b);
	if (!expect_status(c, 0x03, "FEATURES_OK with features written before DRIVER"))
		return false;
	wreg(c, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wreg(c, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wreg(c, VIRTIO_MMIO_STATUS, 0x0b);
	return expect_status(c, 0x0b, "FEATURES_OK with VERSION_1 written after DRIVER");
}

static bool order_queue_withdrawn(struct hctx *c)
{
	const struct layout reset_layout = {VMM_QUEUE_NUM_MAX, 0, 0, 0};
	struct virtqueue *vq;
	struct layout l;

	c->o.step = "QueueReady 0 before DRIVER_OK";
	if (!manual_start(c, true))
		return false;
	vq = manual_vq(c, SMALL_QUEUE);
	l = layout_of(vq);
	write_layout(c, 0, &l);
	wreg(c, VIRTIO_MMIO_QUEUE_READY, 1);
	wreg(c, VIRTIO_MMIO_QUEUE_READY, 0);
	if (!expect_layout(c, 0, &reset_layout, 0, "QueueReady 1 then 0"))
		return false;

	c->o.step = "queue set up after DRIVER_OK";
	wreg(c, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	if (!expect_status(c, STATUS_LIVE, "DRIVER_OK with no queue"))
		return false;
	write_layout(c, 0, &l);
	wreg(c, VIRTIO_MMIO_QUEUE_READY, 1);
	if (!expect_layout(c, 0, &reset_layout, 0, "setting up queue 0 after DRIVER_OK"))
		return false;
	wreg(c, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	return expect_healthy(c, STATUS_LIVE);
}

static enum tg_result s_setup_order(char *msg, size_t len)
{
	struct hctx c;

	if (blk_begin(&c, msg, len, NULL) && order_queue_before_features(&c) && order_status(&c) &&
	    order_queue_withdrawn(&c)) {
		c.o.step = "recovery";
		blk_recover(&c);
	}
	return finish(&c);
}

/*
 * Rings the device cannot take at QueueReady: NEEDS_RESET, QueueReady stays
 * 0, no interrupt (DRIVER_OK is not set), and DRIVER_OK is then refused.
 */
enum ring_part { PART_NONE, PART_DESC, PART_AVAIL, PART_USED };

struct ring_case {
	const char *name;
	enum ring_part part;
	uint64_t addr;	/* absolute, or */
	int64_t offset; /* added to the good address when addr is 0 */
	bool set_num;	/* QueueNum = num instead of the good one */
	uint32_t num;
	uint32_t num_read; /* what QueueNum must then read back */
};

#define RING(n, p, ...)                                                                            \
	{                                                                                          \
		.name = (n), .part = (p), __VA_ARGS__                                              \
	}

static bool run_ring_case(struct hctx *c, const struct ring_case *rc)
{
	struct virtqueue *vq;
	struct layout l;
	uint64_t *part = NULL;
	uint32_t num_read, want_num;

	c->o.step = rc->name;
	if (!manual_start(c, true))
		return false;
	vq = manual_vq(c, SMALL_QUEUE);
	l = layout_of(vq);
	want_num = l.num;
	if (rc->set_num) {
		l.num = rc->num;
		want_num = rc->num_read;
	}
	switch (rc->part) {
	case PART_DESC: part = &l.desc; break;
	case PART_AVAIL: part = &l.avail; break;
	case PART_USED: part = &l.used; break;
	case PART_NONE: break;
	}
	if (part)
		*part = rc->addr ? rc->addr : (uint64_t)((int64_t)*part + rc->offset);
	write_layout(c, 0, &l);
	num_read = reg(c, VIRTIO_MMIO_QUEUE_NUM);
	if (num_read != want_num)
		return fail(c, "QueueNum 0x%x reads back as 0x%x, expected 0x%x", l.num, num_read,
			    want_num);
	wreg(c, VIRTIO_MMIO_QUEUE_READY, 1);
	if (rc->part == PART_NONE && !rc->set_num) {
		/* The control: the same steps with a good layout work. */
		if (reg(c, VIRTIO_MMIO_QUEUE_READY) != 1)
			return fail(c, "a good layout was refused (status 0x%x)", dev_status(c));
		if (!expect_healthy(c, 0x0b))
			return false;
		wreg(c, VIRTIO_MMIO_STATUS, STATUS_LIVE);
		return expect_status(c, STATUS_LIVE, "DRIVER_OK") && manual_get_id(c, vq) &&
		       dev_reset(c);
	}
	if (!expect_needs_reset(c, false))
		return false;
	if (reg(c, VIRTIO_MMIO_QUEUE_READY))
		return fail(c, "QueueReady reads 1 for a refused queue");
	wreg(c, VIRTIO_MMIO_STATUS, STATUS_LIVE | STATUS_NEEDS_RESET);
	if (dev_status(c) & VIRTIO_STATUS_DRIVER_OK)
		return fail(c, "DRIVER_OK accepted with NEEDS_RESET set (status 0x%x)",
			    dev_status(c));
	return dev_reset(c);
}

static enum tg_result s_queue_bad_rings(char *msg, size_t len)
{
	uint64_t top = tg_ram_top();
	const struct ring_case cases[] = {
	    {.name = "control: a good layout"},
	    RING("descriptor table on the device's own registers", PART_DESC, .addr = 0xd0000000),
	    RING("descriptor table at 64 TiB", PART_DESC, .addr = FAR_ADDRESS),
	    RING("descriptor table 8-byte aligned", PART_DESC, .offset = 8),
	    RING("available ring across the end of RAM", PART_AVAIL, .addr = top - 4),
	    RING("available ring at an odd address", PART_AVAIL, .offset = 1),
	    RING("used ring just past RAM", PART_USED, .addr = top),
	    RING("used ring on the IO-APIC", PART_USED, .addr = IOAPIC_ADDRESS),
	    RING("used ring 2-byte aligned", PART_USED, .offset = 2),
	    RING("used ring wrapping past 2^64", PART_USED, .addr = WRAPPING_ADDRESS),
	    RING("QueueNum 3", PART_NONE, .set_num = true, .num = 3, .num_read = 3),
	    RING("QueueNum 0", PART_NONE, .set_num = true, .num = 0, .num_read = 0),
	    RING("QueueNum 512 (above QueueNumMax)", PART_NONE, .set_num = true, .num = 512,
		 .num_read = 512),
	    /* Kept as 0, never truncated to a valid 8. */
	    RING("QueueNum 0x10008 (past 16 bits)", PART_NONE, .set_num = true, .num = 0x10008,
		 .num_read = 0),
	};
	struct hctx c;
	unsigned int i;

	if (!blk_begin(&c, msg, len, NULL))
		return finish(&c);
	for (i = 0; i < TG_ARRAY_SIZE(cases) && run_ring_case(&c, &cases[i]); i++)
		;
	if (i == TG_ARRAY_SIZE(cases)) {
		c.o.step = "recovery";
		if (blk_recover(&c))
			tg_snprintf(msg, len, "%u layouts", i);
	}
	return finish(&c);
}

/* A notify naming a queue that does not exist, and such a queue's registers. */
static enum tg_result s_notify_bad_queue(char *msg, size_t len)
{
	const struct layout none = {0, 0, 0, 0};
	struct layout l;
	struct hctx c;
	uint32_t nq;

	if (!blk_begin(&c, msg, len, NULL))
		return finish(&c);
	nq = c.blk->num_queues;
	{
		const uint32_t bad[] = {nq, 31, 32, 0xffff, 0x10000, 0xffffffff};

		for (unsigned int i = 0; i < TG_ARRAY_SIZE(bad); i++)
			wreg(&c, VIRTIO_MMIO_QUEUE_NOTIFY, bad[i]);
	}
	c.o.step = "queue past the last";
	wreg(&c, VIRTIO_MMIO_QUEUE_SEL, nq);
	if (reg(&c, VIRTIO_MMIO_QUEUE_NUM_MAX)) {
		fail(&c, "QueueNumMax of queue %u (of %u) reads %u, expected 0", nq, nq,
		     reg(&c, VIRTIO_MMIO_QUEUE_NUM_MAX));
		return finish(&c);
	}
	l = layout_of(c.blk->vqs[0]);
	write_layout(&c, nq, &l);
	wreg(&c, VIRTIO_MMIO_QUEUE_READY, 1);
	if (!expect_layout(&c, nq, &none, 0, "setting it up"))
		return finish(&c);
	wreg(&c, VIRTIO_MMIO_QUEUE_SEL, 0);
	c.o.step = NULL;
	if (expect_healthy(&c, STATUS_LIVE) && blk_round_trip(&c))
		tg_snprintf(msg, len, "%u queue(s)", nq);
	return finish(&c);
}

static bool expect_isr(struct hctx *c, uint32_t want, const char *after)
{
	uint32_t isr = reg(c, VIRTIO_MMIO_INTERRUPT_STATUS);

	return isr == want ||
	       fail(c, "interrupt status 0x%x after %s, expected 0x%x", isr, after, want);
}

/* InterruptACK clears only the bits acknowledged; bits never set stay unset. */
static enum tg_result s_isr_ack(char *msg, size_t len)
{
	uint64_t end;
	struct hctx c;
	uint32_t isr;

	if (!blk_begin(&c, msg, len, NULL))
		return finish(&c);
	isr = reg(&c, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (isr & ~VIRTIO_ISR_VQ) {
		fail(&c, "interrupt status 0x%x before anything happened", isr);
		return finish(&c);
	}
	wreg(&c, VIRTIO_MMIO_INTERRUPT_ACK, ~(uint32_t)(VIRTIO_ISR_VQ | VIRTIO_ISR_CONFIG));
	wreg(&c, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_CONFIG);
	if (!expect_isr(&c, isr, "acknowledging bits that were not set"))
		return finish(&c);
	wreg(&c, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	if (!expect_isr(&c, 0, "acknowledging everything"))
		return finish(&c);
	wreg(&c, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	if (!expect_isr(&c, 0, "acknowledging everything with nothing set"))
		return finish(&c);

	/* A completion the driver wants to hear of sets the queue bit (polled here). */
	virtqueue_enable_cb(c.blk->vqs[0]);
	if (!blk_round_trip(&c))
		return finish(&c);
	virtqueue_disable_cb(c.blk->vqs[0]);
	end = tg_ns() + EVENT_TIMEOUT;
	while (!(reg(&c, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_VQ) && tg_ns() < end)
		cpu_relax();
	if (!expect_isr(&c, VIRTIO_ISR_VQ, "completions with interrupts wanted"))
		return finish(&c);
	wreg(&c, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_CONFIG | 0xfc);
	if (!expect_isr(&c, VIRTIO_ISR_VQ, "acknowledging the other bits"))
		return finish(&c);
	wreg(&c, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_VQ);
	if (expect_isr(&c, 0, "acknowledging the queue bit"))
		expect_healthy(&c, STATUS_LIVE);
	return finish(&c);
}

/* Status: only a reset clears bits; NEEDS_RESET is the device's; FAILED may be added. */
static enum tg_result s_status_no_clear(char *msg, size_t len)
{
	/* 0x87 and 0x8b clear a bit while adding FAILED: ignored whole, FAILED too. */
	static const uint32_t writes[] = {0x07, 0x0b, 0x03, 0x01, 0x87, 0x8b, 0x4f, 0x40, 0x100};
	struct hctx c;
	unsigned int i;

	if (!blk_begin(&c, msg, len, NULL))
		return finish(&c);
	for (i = 0; i < TG_ARRAY_SIZE(writes); i++) {
		char what[32];

		tg_snprintf(what, sizeof(what), "writing 0x%x", writes[i]);
		wreg(&c, VIRTIO_MMIO_STATUS, writes[i]);
		if (!expect_status(&c, STATUS_LIVE, what))
			return finish(&c);
	}
	/* Still live: the writes did not deactivate it behind a status that looks fine. */
	if (!blk_round_trip(&c))
		return finish(&c);
	wreg(&c, VIRTIO_MMIO_STATUS, STATUS_LIVE | VIRTIO_STATUS_FAILED);
	if (expect_status(&c, STATUS_LIVE | VIRTIO_STATUS_FAILED, "adding FAILED"))
		blk_recover(&c);
	return finish(&c);
}

/* FEATURES_OK is refused for bits not offered, and without VERSION_1. */
static enum tg_result s_features_refused(char *msg, size_t len)
{
	const uint64_t offered =
	    VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
	    VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
	    VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
	    VIRTIO_BIT(VIRTIO_BLK_F_MQ) | VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
	    VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	const struct {
		const char *name;
		struct virtio_probe_opts opts;
	} cases[] = {
	    {"GEOMETRY (not offered)", {.force = VIRTIO_BIT(VIRTIO_BLK_F_GEOMETRY)}},
	    {"CONFIG_WCE (not offered)", {.force = VIRTIO_BIT(VIRTIO_BLK_F_CONFIG_WCE)}},
	    {"RING_PACKED (not offered)", {.force = VIRTIO_BIT(VIRTIO_F_RING_PACKED)}},
	    {"bit 63 (not offered)", {.force = VIRTIO_BIT(63)}},
	    {"without VERSION_1", {.clear = VIRTIO_BIT(VIRTIO_F_VERSION_1)}},
	};
	struct hctx c;
	unsigned int i;

	if (!blk_begin(&c, msg, len, NULL))
		return finish(&c);
	if (c.vdev->device_features != offered) {
		fail(&c, "device features 0x%llx, README promises 0x%llx",
		     (unsigned long long)c.vdev->device_features, (unsigned long long)offered);
		return finish(&c);
	}
	for (i = 0; i < TG_ARRAY_SIZE(cases); i++) {
		int err;

		c.o.step = cases[i].name;
		err = virtio_reprobe(c.vdev, &cases[i].opts);
		if (err != -VIRTIO_EREFUSED) {
			fail(&c, "probe gave %d (%s), expected FEATURES_OK refused", err,
			     err ? c.vdev->probe_error : "accepted");
			return finish(&c);
		}
		if (dev_status(&c) & VIRTIO_STATUS_FEATURES_OK) {
			fail(&c, "status 0x%x has FEATURES_OK", dev_status(&c));
			return finish(&c);
		}
	}
	c.o.step = "recovery";
	if (blk_recover(&c))
		tg_snprintf(msg, len, "%u refusals", i);
	return finish(&c);
}

/* Config space: any width inside it; all zeros for an access not wholly inside; writes dropped. */
static uintptr_t cfg(struct hctx *c, unsigned int off)
{
	return c->m->base + VIRTIO_MMIO_CONFIG + off;
}

static bool blk_config(struct hctx *c)
{
	uint64_t cap = virtio_cread64(c->vdev, VIRTIO_BLK_CFG_CAPACITY);
	uint32_t gen = reg(c, VIRTIO_MMIO_CONFIG_GENERATION), v;

	c->o.step = "virtio-blk";
	if (cap != c->capacity)
		return fail(c, "capacity %llu, probe read %llu", (unsigned long long)cap,
			    (unsigned long long)c->capacity);
	if (tg_read8(cfg(c, VIRTIO_BLK_CFG_SEG_MAX)) != VMM_BLK_SEG_MAX ||
	    tg_read16(cfg(c, VIRTIO_BLK_CFG_SEG_MAX)) != VMM_BLK_SEG_MAX)
		return fail(c, "seg_max read 8 and 16 bits wide: %u, %u (expected %u)",
			    tg_read8(cfg(c, VIRTIO_BLK_CFG_SEG_MAX)),
			    tg_read16(cfg(c, VIRTIO_BLK_CFG_SEG_MAX)), VMM_BLK_SEG_MAX);
	v = tg_read32(cfg(c, 1));
	if (v != (uint32_t)(cap >> 8))
		return fail(c, "unaligned 32-bit read of capacity bytes 1-4: 0x%x, expected 0x%x",
			    v, (uint32_t)(cap >> 8));
	if (tg_read32(cfg(c, 0xfc)) || tg_read16(cfg(c, 0xfe)) || tg_read8(cfg(c, 0xff)))
		return fail(c, "reads at the end of the window are not 0: 0x%x 0x%x 0x%x",
			    tg_read32(cfg(c, 0xfc)), tg_read16(cfg(c, 0xfe)),
			    tg_read8(cfg(c, 0xff)));
	tg_write32(cfg(c, VIRTIO_BLK_CFG_CAPACITY), 0xffffffff);
	tg_write8(cfg(c, VIRTIO_BLK_CFG_SEG_MAX), 1);
	tg_write32(cfg(c, 0xfc), 0x12345678);
	if (virtio_cread64(c->vdev, VIRTIO_BLK_CFG_CAPACITY) != cap ||
	    tg_read8(cfg(c, VIRTIO_BLK_CFG_SEG_MAX)) != VMM_BLK_SEG_MAX || tg_read32(cfg(c, 0xfc)))
		return fail(c, "config writes were not dropped");
	if (reg(c, VIRTIO_MMIO_CONFIG_GENERATION) != gen)
		return fail(c, "config generation moved from %u to %u on dropped writes", gen,
			    reg(c, VIRTIO_MMIO_CONFIG_GENERATION));
	c->o.step = NULL;
	return true;
}

/* The net config is 12 bytes (mtu last): a read straddling its end is all zeros. */
static bool net_config(struct hctx *c, struct virtio_device *ndev)
{
	struct virtio_mmio_device *nm = to_virtio_mmio(ndev);
	uintptr_t b = nm->base + VIRTIO_MMIO_CONFIG;
	uint16_t mtu = tg_read16(b + VIRTIO_NET_CFG_MTU);
	uint8_t mac0 = tg_read8(b + VIRTIO_NET_CFG_MAC);
	uint32_t v;

	c->o.step = "virtio-net";
	if (mtu < VIRTIO_NET_MIN_MTU)
		return fail(c, "mtu %u", mtu);
	v = tg_read32(b + VIRTIO_NET_CFG_MAX_VQ_PAIRS);
	if (v != ((uint32_t)mtu << 16 | 1))
		return fail(c, "max_virtqueue_pairs and mtu read as one word: 0x%x, expected 0x%x",
			    v, (uint32_t)mtu << 16 | 1);
	v = tg_read32(b + VIRTIO_NET_CFG_MTU);
	if (v)
		return fail(c, "a 32-bit read at the mtu (past the %u bytes) gave 0x%x, expected 0",
			    VMM_NET_CONFIG_LEN, v);
	if (tg_read16(b + VMM_NET_CONFIG_LEN - 1) || tg_read8(b + VMM_NET_CONFIG_LEN))
		return fail(c, "reads past the config are not 0");
	tg_write8(b + VIRTIO_NET_CFG_MAC, (uint8_t)~mac0);
	tg_write16(b + VIRTIO_NET_CFG_MTU, 100);
	if (tg_read8(b + VIRTIO_NET_CFG_MAC) != mac0 || tg_read16(b + VIRTIO_NET_CFG_MTU) != mtu)
		return fail(c, "config writes were not dropped");
	c->o.step = NULL;
	return true;
}

static enum tg_result s_config_space(char *msg, size_t len)
{
	struct virtio_device *ndev = virtio_find_device(VIRTIO_ID_NET, 0);
	struct hctx c;

	if (blk_begin(&c, msg, len, NULL) && blk_config(&c) && (!ndev || net_config(&c, ndev)) &&
	    expect_healthy(&c, STATUS_LIVE) && blk_round_trip(&c) && !ndev)
		tg_snprintf(msg, len, "no virtio-net device: virtio-blk only");
	return finish(&c);
}

/* The network card: a peer that answers ARP, chosen by tg.net. */

#define FRAME_MAX    2048
#define ARP_ATTEMPTS 3

/* tg.net=user (the default) or tg.net=tap:GUEST:HOST. */
static bool net_peer(struct hctx *c)
{
	static const uint8_t user_guest[4] = {10, 0, 2, 15}, user_gw[4] = {10, 0, 2, 2};
	char val[64];
	const char *p;

	if (!tg_param("tg.net", val, sizeof(val)) || !strcmp(val, "user")) {
		memcpy(c->guest_ip, user_guest, 4);
		memcpy(c->peer_ip, user_gw, 4);
		return true;
	}
	if (strncmp(val, "tap:", 4) || !parse_ip(val + 4, c->guest_ip, &p) || *p != ':' ||
	    !parse_ip(p + 1, c->peer_ip, &p) || *p)
		return skip(c, "tg.net=%s: expected user or tap:GUEST:HOST", val);
	return true;
}

static bool net_up(struct hctx *c)
{
	int err = virtio_reprobe(c->vdev, &c->opts);

	c->net = virtio_net_of(c->vdev);
	if (err || !c->net)
		return fail(c, "probe: %s (%s)", virtio_strerror(err), c->vdev->probe_error);
	return expect_status(c, STATUS_LIVE, "the probe");
}

/* who-has @tip tell @sip, from our MAC, broadcast. */
static unsigned int arp_request(uint8_t *f, const uint8_t mac[ETH_ALEN], const uint8_t sip[4],
				const uint8_t tip[4])
{
	return arp_frame(f, ARP_REQUEST, eth_broadcast, mac, sip, eth_zero, tip);
}

/*
 * Receive until an ARP reply to @tip comes (true) or @timeout passes;
 * *@stray counts replies to @stray_ip meanwhile (when not NULL).
 */
static bool wait_arp_reply(struct hctx *c, const uint8_t tip[4], uint64_t timeout,
			   const uint8_t *stray_ip, unsigned int *stray)
{
	uint64_t end = tg_ns() + timeout;

	for (;;) {
		uint64_t now = tg_ns();
		int n;

		if (now >= end)
			return false;
		n = virtio_net_recv(c->net, c->frame, FRAME_MAX, NULL, end - now);
		if (n == -VIRTIO_ETIMEDOUT)
			return false;
		if (n < 0)
			return fail(c, "receive: %s", virtio_strerror(n));
		if (stray_ip && is_arp(c->frame, n, ARP_REPLY, c->peer_ip, stray_ip))
			(*stray)++;
		if (is_arp(c->frame, n, ARP_REPLY, c->peer_ip, tip))
			return true;
	}
}

/* ARP from @sip to the peer, answered; a few tries (the first may race the peer's setup). */
static bool arp_round_trip(struct hctx *c, const uint8_t sip[4])
{
	uint8_t f[ARP_FRAME];

	for (int i = 0; i < ARP_ATTEMPTS; i++) {
		int err;

		arp_request(f, c->net->mac, sip, c->peer_ip);
		err = virtio_net_send(c->net, f, ARP_FRAME, NULL, 0);
		if (err)
			return fail(c, "send: %s", virtio_strerror(err));
		if (wait_arp_reply(c, sip, 500 * MS, NULL, NULL))
			return true;
		if (c->o.failed)
			return false;
	}
	return fail(c, "no ARP reply from %u.%u.%u.%u to %u.%u.%u.%u", c->peer_ip[0], c->peer_ip[1],
		    c->peer_ip[2], c->peer_ip[3], sip[0], sip[1], sip[2], sip[3]);
}

static bool net_recover(struct hctx *c)
{
	uint32_t isr;

	if (!dev_reset(c))
		return false;
	isr = reg(c, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (isr)
		return fail(c, "interrupt status 0x%x after reset", isr);
	return net_up(c) && arp_round_trip(c, c->guest_ip);
}

static bool net_begin(struct hctx *c, char *msg, size_t len)
{
	quiet();
	memset(c, 0, sizeof(*c));
	tg_outcome_init(&c->o, msg, len);
	c->vdev = virtio_find_device(VIRTIO_ID_NET, 0);
	if (!c->vdev)
		return skip(c, "no virtio-net device (run with --net)");
	c->m = to_virtio_mmio(c->vdev);
	c->frame = tg_alloc(FRAME_MAX, 64);
	return net_peer(c) && net_up(c);
}

/*
 * A receive chain with a device-readable buffer (then a writable one that
 * alone would hold the frame): NEEDS_RESET once a frame comes for it. One
 * good buffer is posted by the driver, the bad chain after it; two ARP
 * requests bring two replies (other frames only hasten it).
 */
static enum tg_result s_net_rx_readable(char *msg, size_t len)
{
	uint8_t f[ARP_FRAME], *buf;
	struct virtqueue *rx;
	struct vring_used_elem e;
	struct hctx c;
	uint16_t ids[2];

	virtio_net_params.rx_bufs = 1;
	if (!net_begin(&c, msg, len))
		return finish(&c);
	rx = c.net->rx;
	buf = tg_alloc(FRAME_MAX, 64);
	if (virtqueue_reserve_desc(rx, ids, 2)) {
		fail(&c, "no free receive descriptors");
		return finish(&c);
	}
	vring_write_desc(rx, ids[0], (uintptr_t)buf, 64, VRING_DESC_F_NEXT, ids[1]);
	vring_write_desc(rx, ids[1], (uintptr_t)buf + 64, FRAME_MAX - 64, VRING_DESC_F_WRITE, 0);
	vring_post_raw(rx, ids[0]);
	virtqueue_notify(rx);
	arp_request(f, c.net->mac, c.guest_ip, c.peer_ip);
	for (int i = 0; i < 2; i++) {
		if (virtio_net_send(c.net, f, ARP_FRAME, NULL, 0)) {
			fail(&c, "send failed");
			return finish(&c);
		}
	}
	if (!expect_needs_reset(&c, true))
		return finish(&c);
	/* At most the good buffer came back, never the bad one. */
	while (vring_pop_used_raw(rx, &e)) {
		if (e.id == ids[0]) {
			fail(&c, "the device returned the bad receive chain (len %u)", e.len);
			return finish(&c);
		}
	}
	c.o.step = "recovery";
	virtio_net_params.rx_bufs = 0;
	net_recover(&c);
	return finish(&c);
}

/*
 * Transmit chains the device must return unsent, without NEEDS_RESET: an ARP
 * request followed by a writable buffer (sent from the next address up, so
 * that a reply would show it went out), and a chain of 20 bytes (less than
 * the header and an Ethernet header). Then the card still sends, and the
 * same ARP sent properly is answered: the peer would have answered it.
 */
static enum tg_result s_net_tx_bad_chains(char *msg, size_t len)
{
	struct virtqueue *tx;
	uint8_t *a, stray_ip[4];
	unsigned int stray = 0;
	uint16_t ids[3];
	struct hctx c;
	struct seg s[2];

	if (!net_begin(&c, msg, len))
		return finish(&c);
	tx = c.net->tx;
	memcpy(stray_ip, c.guest_ip, 4);
	stray_ip[3] ^= 1;
	a = tg_alloc(VIRTIO_NET_HDR_LEN + ARP_FRAME + 64, 64);
	arp_request(a + VIRTIO_NET_HDR_LEN, c.net->mac, stray_ip, c.peer_ip);
	s[0] = seg_of(a, VIRTIO_NET_HDR_LEN + ARP_FRAME, 0);
	s[1] = seg_of(a + VIRTIO_NET_HDR_LEN + ARP_FRAME, 64, VRING_DESC_F_WRITE);
	c.o.step = "transmit chain with a writable buffer";
	if (!lay_chain(&c, tx, s, 2, ids))
		return finish(&c);
	vring_post_raw(tx, ids[0]);
	if (!expect_raw_used(&c, tx, ids[0], 0))
		return finish(&c);
	c.o.step = "transmit chain of 20 bytes";
	s[0].len = 20;
	if (!lay_chain(&c, tx, s, 1, ids + 2))
		return finish(&c);
	vring_post_raw(tx, ids[2]);
	if (!expect_raw_used(&c, tx, ids[2], 0))
		return finish(&c);
	virtqueue_release_desc(tx, ids, 3);
	if (!expect_healthy(&c, STATUS_LIVE))
		return finish(&c);
	/*
	 * A good ARP afterwards: answered, and a reply to the bad chain's ARP,
	 * had it gone out, would come before it (or just after: stragglers).
	 */
	c.o.step = "sending afterwards";
	arp_request(c.frame, c.net->mac, c.guest_ip, c.peer_ip);
	if (virtio_net_send(c.net, c.frame, ARP_FRAME, NULL, 0) ||
	    !wait_arp_reply(&c, c.guest_ip, EVENT_TIMEOUT, stray_ip, &stray)) {
		if (!c.o.failed)
			fail(&c, "no ARP reply from %u.%u.%u.%u", c.peer_ip[0], c.peer_ip[1],
			     c.peer_ip[2], c.peer_ip[3]);
		return finish(&c);
	}
	wait_arp_reply(&c, stray_ip, 100 * MS, stray_ip, &stray);
	if (stray) {
		fail(&c, "the chain with a writable buffer was sent: %u ARP replies to it", stray);
		return finish(&c);
	}
	c.o.step = "control: the same ARP sent properly";
	arp_round_trip(&c, stray_ip);
	return finish(&c);
}

/* A transmit chain that loops: NEEDS_RESET, then the card works after a reset. */
static enum tg_result s_net_tx_loop(char *msg, size_t len)
{
	struct virtqueue *tx;
	uint16_t ids[2];
	struct hctx c;
	uint8_t *a;
	uint16_t used_before;

	if (!net_begin(&c, msg, len))
		return finish(&c);
	tx = c.net->tx;
	a = tg_alloc(VIRTIO_NET_HDR_LEN + ARP_FRAME, 64);
	arp_request(a + VIRTIO_NET_HDR_LEN, c.net->mac, c.guest_ip, c.peer_ip);
	if (virtqueue_reserve_desc(tx, ids, 2)) {
		fail(&c, "no free transmit descriptors");
		return finish(&c);
	}
	vring_write_desc(tx, ids[0], (uintptr_t)a, VIRTIO_NET_HDR_LEN, VRING_DESC_F_NEXT, ids[1]);
	vring_write_desc(tx, ids[1], (uintptr_t)a + VIRTIO_NET_HDR_LEN, ARP_FRAME,
			 VRING_DESC_F_NEXT, ids[0]);
	used_before = tx->vring.used->idx;
	vring_post_raw(tx, ids[0]);
	virtqueue_notify(tx);
	if (!expect_needs_reset(&c, true))
		return finish(&c);
	if (tx->vring.used->idx != used_before) {
		fail(&c, "the device returned the looping chain");
		return finish(&c);
	}
	c.o.step = "recovery";
	net_recover(&c);
	return finish(&c);
}

static const struct tg_scenario hostile_scenarios[] = {
    {"buffer_outside_ram", s_buffer_outside_ram},
    {"chain_loop", s_chain_loop},
    {"chain_oversized", s_chain_oversized},
    {"indirect_misuse", s_indirect_misuse},
    {"indirect_unnegotiated", s_indirect_unnegotiated},
    {"ring_indices", s_ring_indices},
    {"bad_buffers", s_bad_buffers},
    {"needs_reset_interrupt", s_needs_reset_interrupt},
    {"reset_in_flight", s_reset_in_flight},
    {"bad_requests", s_bad_requests},
    {"register_misuse", s_register_misuse},
    {"queue_regs_locked", s_queue_regs_locked},
    {"setup_order", s_setup_order},
    {"queue_bad_rings", s_queue_bad_rings},
    {"notify_bad_queue", s_notify_bad_queue},
    {"isr_ack", s_isr_ack},
    {"status_no_clear", s_status_no_clear},
    {"features_refused", s_features_refused},
    {"config_space", s_config_space},
    {"net_rx_readable", s_net_rx_readable},
    {"net_tx_bad_chains", s_net_tx_bad_chains},
    {"net_tx_loop", s_net_tx_loop},
};

const struct tg_group tg_hostile_group = {
    .name = "hostile",
    .scenarios = hostile_scenarios,
    .count = TG_ARRAY_SIZE(hostile_scenarios),
};
