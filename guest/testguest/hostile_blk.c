// SPDX-License-Identifier: MIT
/*
 * Hostile scenarios, block requests: rings no correct driver can produce
 * (buffers outside RAM, loops, oversized chains, indirect tables misused,
 * indices out of range, bad buffers), NEEDS_RESET with interrupts on, a reset
 * with requests in flight, and malformed requests on a sane ring.
 */
#include "hostile.h"

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
	return hostile_finish(&c);
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
enum tg_result hostile_buffer_outside_ram(char *msg, size_t len)
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

enum tg_result hostile_chain_loop(char *msg, size_t len)
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

enum tg_result hostile_chain_oversized(char *msg, size_t len)
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
	return hostile_finish(&c);
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

enum tg_result hostile_indirect_misuse(char *msg, size_t len)
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
enum tg_result hostile_indirect_unnegotiated(char *msg, size_t len)
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

enum tg_result hostile_ring_indices(char *msg, size_t len)
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

enum tg_result hostile_bad_buffers(char *msg, size_t len)
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
enum tg_result hostile_needs_reset_interrupt(char *msg, size_t len)
{
	const struct virtio_probe_opts opts = {.use_irq = true};
	struct virtio_blk_req reqs[VIRTIO_BLK_MAX_QUEUES];
	char(*ids)[24];
	uint64_t before, end;
	struct hctx c;
	unsigned int q;

	if (!blk_begin(&c, msg, len, &opts))
		return hostile_finish(&c);
	before = c.vdev->stats.config_interrupts;
	post_self_loop(&c, c.blk->vqs[0], NULL);
	virtqueue_notify(c.blk->vqs[0]);
	end = tg_ns() + EVENT_TIMEOUT;
	while (c.vdev->stats.config_interrupts == before && tg_ns() < end)
		tg_wait_irq(end - tg_ns());
	if (c.vdev->stats.config_interrupts == before) {
		fail(&c, "no config interrupt within %llu ms (status 0x%x)",
		     (unsigned long long)(EVENT_TIMEOUT / MS), dev_status(&c));
		return hostile_finish(&c);
	}
	if (!(dev_status(&c) & STATUS_NEEDS_RESET)) {
		fail(&c, "config interrupt, but status 0x%x", dev_status(&c));
		return hostile_finish(&c);
	}
	/* A good request on every queue: none may be served now. */
	ids = tg_alloc(sizeof(*ids) * c.blk->nr_queues, 8);
	for (q = 0; q < c.blk->nr_queues; q++) {
		virtio_blk_req_init(&reqs[q], VIRTIO_BLK_T_GET_ID, 0, ids[q], VIRTIO_BLK_ID_BYTES);
		if (virtio_blk_submit(c.blk, q, &reqs[q])) {
			fail(&c, "cannot submit on queue %u", q);
			return hostile_finish(&c);
		}
	}
	end = tg_ns() + QUIET_NS;
	while (tg_ns() < end)
		tg_wait_irq(end - tg_ns());
	for (q = 0; q < c.blk->nr_queues; q++) {
		if (virtqueue_more_used(c.blk->vqs[q])) {
			fail(&c, "queue %u of %u served a request while NEEDS_RESET was set", q,
			     c.blk->nr_queues);
			return hostile_finish(&c);
		}
	}
	if (blk_recover(&c))
		tg_snprintf(msg, len, "%u queue(s) quiet for %llu ms", c.blk->nr_queues,
			    (unsigned long long)(QUIET_NS / MS));
	return hostile_finish(&c);
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

enum tg_result hostile_reset_in_flight(char *msg, size_t len)
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
		return hostile_finish(&c);
	if (c.scratch < 2 * INFLIGHT_BYTES / 512) {
		skip(&c, "the disk is smaller than %u MiB", 2 * INFLIGHT_BYTES >> 20);
		return hostile_finish(&c);
	}
	bufs = tg_alloc((size_t)INFLIGHT_REQS * INFLIGHT_BYTES, TG_PAGE_SIZE);
	reqs = tg_alloc(INFLIGHT_REQS * sizeof(*reqs), 64);
	rbase = bufs + (size_t)INFLIGHT_WRITES * INFLIGHT_BYTES;
	if (!queue_in_flight(&c, reqs, bufs))
		return hostile_finish(&c);
	virtio_blk_kick(c.blk, 0);
	end = tg_ns() + EVENT_TIMEOUT;
	while (!virtqueue_more_used(c.blk->vqs[0]) && tg_ns() < end)
		cpu_relax();
	if (!dev_reset(&c))
		return hostile_finish(&c);
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
		return hostile_finish(&c);
	}
	for (unsigned int i = 0; i < INFLIGHT_REQS; i++) {
		if (reqs[i].status != CANARY) {
			fail(&c, "status byte of request %u written after the reset", i);
			return hostile_finish(&c);
		}
	}
	if (c.blk->vqs[0]->vring.used->idx != used) {
		fail(&c, "used index moved from %u to %u after the reset", used,
		     c.blk->vqs[0]->vring.used->idx);
		return hostile_finish(&c);
	}
	c.o.step = "recovery";
	if (blk_recover(&c))
		tg_snprintf(msg, len, "%u of %u requests done when reset", done, INFLIGHT_REQS);
	return hostile_finish(&c);
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

enum tg_result hostile_bad_requests(char *msg, size_t len)
{
	struct hctx c;

	if (blk_begin(&c, msg, len, NULL) && bad_rw_requests(&c) && bad_other_requests(&c) &&
	    odd_chains(&c) && expect_healthy(&c, STATUS_LIVE))
		blk_round_trip(&c);
	return hostile_finish(&c);
}
