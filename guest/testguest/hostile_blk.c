// SPDX-License-Identifier: MIT
/*
 * Hostile scenarios, block requests: rings no correct driver can produce
 * (buffers outside RAM, loops, oversized chains, indirect tables misused,
 * indices out of range, bad buffers), NEEDS_RESET with interrupts on, a reset
 * with requests in flight, and malformed requests on a sane ring.
 */
#include "hostile.h"

/*
 * Each bad chain is one step, BAD(): post it on queue 0 (the action), notify,
 * and expect it refused (X_REFUSED): NEEDS_RESET with a config interrupt,
 * nothing returned, nothing written; then recovery. A new one is a line in a
 * table below, and an action when none of these posts it.
 */
#define BAD(n, fn, ...)                                                                            \
	STEP(n, fn, .q = Q_BLK, .kick = true, .expect = X_REFUSED, .chain = {__VA_ARGS__})

/* A write of wbuf to scratch, or a read from it, with one bad data buffer. */
static bool post_bad_data(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	struct seg s[4];
	unsigned int n = 0;

	set_hdr(c, st->chain.read ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, c->scratch);
	s[n++] = seg_of(c->hdr, sizeof(*c->hdr), 0);
	if (!st->chain.read)
		s[n++] = seg_of(c->wbuf, 512, 0);
	s[n++] =
	    (struct seg){st->chain.addr, st->chain.len, st->chain.read ? VRING_DESC_F_WRITE : 0};
	s[n++] = seg_of(c->status, 1, VRING_DESC_F_WRITE);
	return post_chain(c, vq, s, n);
}

static bool post_bad_header(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	struct seg s[] = {
	    {st->chain.addr, st->chain.len, 0},
	    seg_of(c->status, 1, VRING_DESC_F_WRITE),
	};

	return post_chain(c, vq, s, TG_ARRAY_SIZE(s));
}

/* Addresses relative to the end of RAM are filled in at run time: the table is not static. */
enum tg_result hostile_buffer_outside_ram(char *msg, size_t len)
{
	uint64_t top = tg_ram_top();
	const struct hstep steps[] = {
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

	const struct hscenario sc = {STEPS(steps), .end = END_NONE, .note = note_variants};

	return hostile_run(msg, len, &sc);
}

static bool post_self_loop(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	uint16_t id;

	set_hdr(c, VIRTIO_BLK_T_OUT, c->scratch);
	if (virtqueue_reserve_desc(vq, &id, 1))
		return fail(c, "no free descriptor");
	vring_write_desc(vq, id, (uintptr_t)c->hdr, sizeof(*c->hdr), VRING_DESC_F_NEXT, id);
	vring_post_raw(vq, id);
	return true;
}

static bool post_two_loop(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	uint16_t ids[2];
	struct seg s[] = {
	    seg_of(c->hdr, sizeof(*c->hdr), 0),
	    seg_of(c->wbuf, 512, 0),
	};

	set_hdr(c, VIRTIO_BLK_T_OUT, c->scratch);
	if (!lay_chain(c, vq, s, 2, ids))
		return false;
	/* The second goes back to the first. */
	vring_write_desc(vq, ids[1], s[1].addr, s[1].len, VRING_DESC_F_NEXT, ids[0]);
	vring_post_raw(vq, ids[0]);
	return true;
}

/* Writable buffers looping: a device that followed it would write for ever. */
static bool post_writable_loop(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	uint16_t ids[3];
	struct seg s[] = {
	    seg_of(c->hdr, sizeof(*c->hdr), 0),
	    seg_of(c->rbuf, 512, VRING_DESC_F_WRITE),
	    seg_of(c->status, 1, VRING_DESC_F_WRITE),
	};

	set_hdr(c, VIRTIO_BLK_T_IN, c->scratch);
	if (!lay_chain(c, vq, s, 3, ids))
		return false;
	vring_write_desc(vq, ids[2], s[2].addr, s[2].len, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
			 ids[1]);
	vring_post_raw(vq, ids[0]);
	return true;
}

static bool post_indirect_loop(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	struct seg s[] = {
	    seg_of(c->hdr, sizeof(*c->hdr), 0),
	    seg_of(c->wbuf, 512, 0),
	};
	struct vring_desc *t = make_table(s, 2, 2);

	set_hdr(c, VIRTIO_BLK_T_OUT, c->scratch);
	t[1].flags = VRING_DESC_F_NEXT;
	t[1].next = 0;
	return post_indirect(c, vq, (uintptr_t)t, 2 * sizeof(*t), 0);
}

enum tg_result hostile_chain_loop(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    BAD("descriptor chained to itself", post_self_loop),
	    BAD("two descriptors chained in a loop", post_two_loop),
	    BAD("device-writable descriptors in a loop", post_writable_loop),
	    BAD("loop inside an indirect table", post_indirect_loop),
	};
	static const struct hscenario sc = {STEPS(steps), .end = END_NONE, .note = note_variants};

	return hostile_run(msg, len, &sc);
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

static bool post_oversized_table(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	struct seg s[SMALL_QUEUE + 1];

	/* Header, 7 data buffers (of 64 bytes: 448, not a whole sector), status: 9. */
	read_segs(c, s, SMALL_QUEUE - 1);
	return post_indirect(c, vq, (uintptr_t)make_table(s, SMALL_QUEUE + 1, 0),
			     (SMALL_QUEUE + 1) * sizeof(struct vring_desc), 0);
}

static bool post_oversized_mixed(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	struct seg s[SMALL_QUEUE + 1];
	struct vring_desc *t;
	uint16_t ids[3];

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

static bool post_huge_table(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	unsigned int n = VMM_QUEUE_NUM_MAX + 1;
	struct seg s[3];
	struct vring_desc *t;

	read_segs(c, s, 1);
	t = make_table(s, 3, n);
	return post_indirect(c, vq, (uintptr_t)t, n * sizeof(*t), 0);
}

/*
 * The control first: a chain exactly the queue's size, in an indirect
 * table, is served (so the failures after it are about the length alone).
 */
static bool full_size_chain_works(struct hctx *c, const struct hstep *st)
{
	struct virtio_sg sg[SMALL_QUEUE - 2];
	struct virtio_blk_req req;
	int err;

	(void)st;
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
	return true;
}

/* The steps after the control. */
static void note_oversized(struct hctx *c, const struct hscenario *sc)
{
	tg_snprintf(c->o.msg, c->o.len, "a chain of %u served, %u longer ones refused", SMALL_QUEUE,
		    sc->nsteps - 1);
}

enum tg_result hostile_chain_oversized(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    STEP("control: a chain of exactly the queue size", full_size_chain_works),
	    BAD("indirect table one longer than the queue", post_oversized_table),
	    BAD("direct descriptors and a table, together one longer than the queue",
		post_oversized_mixed),
	    BAD("indirect table of 257 descriptors", post_huge_table),
	};
	static const struct hscenario sc = {
	    STEPS(steps),
	    .opts = {.queue_size = SMALL_QUEUE},
	    .end = END_NONE,
	    .note = note_oversized,
	};

	return hostile_run(msg, len, &sc);
}

/* Indirect tables used wrongly. */

static struct vring_desc *valid_read_table(struct hctx *c)
{
	struct seg s[3];

	read_segs(c, s, 1);
	s[1].len = 512;
	return make_table(s, 3, 0);
}

static bool post_nested(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	struct vring_desc *inner = valid_read_table(c);
	struct seg outer = {(uintptr_t)inner, 3 * sizeof(*inner), VRING_DESC_F_INDIRECT};

	return post_indirect(c, vq, (uintptr_t)make_table(&outer, 1, 0), sizeof(*inner), 0);
}

static bool post_indirect_next(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	struct vring_desc *t = valid_read_table(c);
	uint16_t ids[2];

	if (virtqueue_reserve_desc(vq, ids, 2))
		return fail(c, "no free descriptors");
	vring_write_desc(vq, ids[0], (uintptr_t)t, 3 * sizeof(*t),
			 VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, ids[1]);
	vring_write_desc(vq, ids[1], (uintptr_t)c->status, 1, VRING_DESC_F_WRITE, 0);
	vring_post_raw(vq, ids[0]);
	return true;
}

/* A table at chain.addr (0: a valid one) of chain.len bytes. */
static bool post_table_as(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	uint64_t t = st->chain.addr ? st->chain.addr : (uintptr_t)valid_read_table(c);

	return post_indirect(c, vq, t, st->chain.len, 0);
}

static bool post_table_next_out(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	struct vring_desc *t = valid_read_table(c);

	t[0].next = 3; /* the table has 3 */
	return post_indirect(c, vq, (uintptr_t)t, 3 * sizeof(*t), 0);
}

enum tg_result hostile_indirect_misuse(char *msg, size_t len)
{
	uint64_t top = tg_ram_top();
	const struct hstep steps[] = {
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

	const struct hscenario sc = {STEPS(steps), .end = END_NONE, .note = note_variants};

	return hostile_run(msg, len, &sc);
}

/* With RING_INDIRECT_DESC withheld, a perfectly good indirect table is a broken ring. */
enum tg_result hostile_indirect_unnegotiated(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    BAD("indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC", post_table_as,
		.len = 3 * sizeof(struct vring_desc)),
	};
	static const struct hscenario sc = {
	    STEPS(steps),
	    .opts = {.clear = VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)},
	    .end = END_NONE,
	    .note = note_variants,
	};

	return hostile_run(msg, len, &sc);
}

/* Indices: the available index, a head, a next, all out of range (queue of 8). */

static bool post_avail_ahead(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);

	/* The ring entries are all 0, a valid head: only the index is wrong. */
	vring_set_avail_idx_raw(vq, (uint16_t)(vq->avail_idx + st->chain.len));
	return true;
}

static bool post_head(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);

	vring_post_raw(vq, (uint16_t)st->chain.len);
	return true;
}

static bool post_next_out(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	uint16_t id;

	set_hdr(c, VIRTIO_BLK_T_OUT, c->scratch);
	if (virtqueue_reserve_desc(vq, &id, 1))
		return fail(c, "no free descriptor");
	vring_write_desc(vq, id, (uintptr_t)c->hdr, sizeof(*c->hdr), VRING_DESC_F_NEXT,
			 (uint16_t)st->chain.len);
	vring_post_raw(vq, id);
	return true;
}

enum tg_result hostile_ring_indices(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    BAD("available index 9 ahead on a queue of 8", post_avail_ahead,
		.len = SMALL_QUEUE + 1),
	    BAD("available index 1 behind (65535 ahead)", post_avail_ahead, .len = 0xffff),
	    BAD("chain head 8 on a queue of 8", post_head, .len = SMALL_QUEUE),
	    BAD("chain head 65535", post_head, .len = 0xffff),
	    BAD("next index 8 on a queue of 8", post_next_out, .len = SMALL_QUEUE),
	};
	static const struct hscenario sc = {
	    STEPS(steps),
	    .opts = {.queue_size = SMALL_QUEUE},
	    .end = END_NONE,
	    .note = note_variants,
	};

	return hostile_run(msg, len, &sc);
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

/* chain.len picks which buffer is empty: 0 header, 1 data, 2 status; chain.read: indirect. */
static bool post_zero_len(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	struct seg s[] = {
	    seg_of(c->hdr, sizeof(*c->hdr), 0),
	    seg_of(c->rbuf, 512, VRING_DESC_F_WRITE),
	    seg_of(c->status, 1, VRING_DESC_F_WRITE),
	};

	set_hdr(c, VIRTIO_BLK_T_IN, c->scratch);
	s[st->chain.len].len = 0;
	return post_segs_case(c, vq, s, TG_ARRAY_SIZE(s), st->chain.read);
}

static bool post_read_after_write(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = step_vq(c, st);
	struct seg s[] = {
	    seg_of(c->hdr, sizeof(*c->hdr), 0),
	    seg_of(c->rbuf, 512, VRING_DESC_F_WRITE),
	    seg_of(c->wbuf, 512, 0),
	    seg_of(c->status, 1, VRING_DESC_F_WRITE),
	};

	set_hdr(c, VIRTIO_BLK_T_IN, c->scratch);
	return post_segs_case(c, vq, s, TG_ARRAY_SIZE(s), st->chain.read);
}

enum tg_result hostile_bad_buffers(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    BAD("zero-length header", post_zero_len, .len = 0),
	    BAD("zero-length data buffer", post_zero_len, .len = 1),
	    BAD("zero-length status buffer", post_zero_len, .len = 2),
	    BAD("zero-length buffer in an indirect table", post_zero_len, .len = 1, .read = true),
	    BAD("readable buffer after a writable one", post_read_after_write),
	    BAD("readable after writable in an indirect table", post_read_after_write,
		.read = true),
	};
	static const struct hscenario sc = {STEPS(steps), .end = END_NONE, .note = note_variants};

	return hostile_run(msg, len, &sc);
}

/* A good request on every queue, to be left unserved while NEEDS_RESET is set. */
static bool submit_everywhere(struct hctx *c, const struct hstep *st)
{
	unsigned int n = c->blk->nr_queues;
	struct virtio_blk_req *reqs = tg_alloc(n * sizeof(*reqs), 64);
	char(*ids)[24] = tg_alloc(sizeof(*ids) * n, 8);

	(void)st;
	for (unsigned int q = 0; q < n; q++) {
		virtio_blk_req_init(&reqs[q], VIRTIO_BLK_T_GET_ID, 0, ids[q], VIRTIO_BLK_ID_BYTES);
		if (virtio_blk_submit(c->blk, q, &reqs[q]))
			return fail(c, "cannot submit on queue %u", q);
	}
	return true;
}

static void note_quiet(struct hctx *c, const struct hscenario *sc)
{
	(void)sc;
	tg_snprintf(c->o.msg, c->o.len, "%u queue(s) quiet for %llu ms", c->blk->nr_queues,
		    (unsigned long long)(QUIET_NS / MS));
}

/*
 * NEEDS_RESET with interrupts on: the config interrupt reaches the guest
 * through the IO-APIC, and the device serves nothing (on any queue) until
 * the driver resets it.
 */
enum tg_result hostile_needs_reset_interrupt(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    STEP("descriptor chained to itself", post_self_loop, .q = Q_BLK, .kick = true,
		 .expect = X_CONFIG_IRQ),
	    STEP("a good request on every queue", submit_everywhere, .expect = X_QUEUES_QUIET),
	};
	static const struct hscenario sc = {
	    STEPS(steps),
	    .opts = {.use_irq = true},
	    .note = note_quiet,
	};

	return hostile_run(msg, len, &sc);
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

/* What the steps of reset_in_flight share (c->priv). */
struct inflight {
	struct virtio_blk_req *reqs;
	uint8_t *bufs;
	uint16_t used;	   /* the used index the reset left */
	unsigned int done; /* requests completed by then */
};

static bool queue_in_flight(struct hctx *c, const struct hstep *st)
{
	uint64_t span = INFLIGHT_BYTES / 512, room = c->scratch - span;
	struct inflight *f;

	(void)st;
	if (c->scratch < 2 * INFLIGHT_BYTES / 512)
		return skip(c, "the disk is smaller than %u MiB", 2 * INFLIGHT_BYTES >> 20);
	f = c->priv = tg_alloc(sizeof(*f), 64);
	f->bufs = tg_alloc((size_t)INFLIGHT_REQS * INFLIGHT_BYTES, TG_PAGE_SIZE);
	f->reqs = tg_alloc(INFLIGHT_REQS * sizeof(*f->reqs), 64);
	for (unsigned int i = 0; i < INFLIGHT_REQS; i++) {
		struct virtio_blk_req *r = &f->reqs[i];
		uint8_t *buf = f->bufs + (size_t)i * INFLIGHT_BYTES;
		uint64_t sector = (uint64_t)i * span % room;
		int err;

		if (i < INFLIGHT_WRITES)
			virtio_blk_req_init(r, VIRTIO_BLK_T_OUT, sector, buf, INFLIGHT_BYTES);
		else if (i == INFLIGHT_WRITES)
			virtio_blk_req_init(r, VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
		else
			virtio_blk_req_init(r, VIRTIO_BLK_T_IN, sector, buf, INFLIGHT_BYTES);
		err = virtio_blk_queue(c->blk, 0, r);
		if (err)
			return fail(c, "queueing request %u: %s", i, virtio_strerror(err));
	}
	return true;
}

/* Kick them all; reset when the first completes, and note how far the device got. */
static bool reset_when_first_done(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = c->blk->vqs[0];
	struct inflight *f = c->priv;
	uint64_t end;

	(void)st;
	virtio_blk_kick(c->blk, 0);
	end = tg_ns() + EVENT_TIMEOUT;
	while (!virtqueue_more_used(vq) && tg_ns() < end)
		cpu_relax();
	if (!dev_reset(c))
		return false;
	f->used = vq->vring.used->idx;
	f->done = (uint16_t)(f->used - vq->last_used_idx);
	return true;
}

/*
 * Canaries written after the reset into every read buffer and status byte
 * survive QUIET_NS, and the used index stays where the reset left it.
 */
static bool nothing_after_reset(struct hctx *c, const struct hstep *st)
{
	struct inflight *f = c->priv;
	struct canary_check k = {
	    (const uint64_t *)(f->bufs + (size_t)INFLIGHT_WRITES * INFLIGHT_BYTES),
	    (size_t)(INFLIGHT_REQS - INFLIGHT_WRITES) * INFLIGHT_BYTES / 8,
	    0x0101010101010101ULL * CANARY,
	};
	uint64_t end;
	long bad;

	(void)st;
	/* In ring 3: a fill in emulated ring 0 of pages the host just wrote takes ~1 s. */
	tg_run_user(fill_words, &k);
	for (unsigned int i = 0; i < INFLIGHT_REQS; i++)
		f->reqs[i].status = CANARY;
	end = tg_ns() + QUIET_NS;
	while (tg_ns() < end)
		cpu_relax();
	bad = tg_run_user(first_changed_word, &k);
	if (bad >= 0)
		return fail(c, "byte %ld of the read buffers changed after the reset", bad * 8);
	for (unsigned int i = 0; i < INFLIGHT_REQS; i++)
		if (f->reqs[i].status != CANARY)
			return fail(c, "status byte of request %u written after the reset", i);
	if (c->blk->vqs[0]->vring.used->idx != f->used)
		return fail(c, "used index moved from %u to %u after the reset", f->used,
			    c->blk->vqs[0]->vring.used->idx);
	return true;
}

static void note_in_flight(struct hctx *c, const struct hscenario *sc)
{
	const struct inflight *f = c->priv;

	(void)sc;
	tg_snprintf(c->o.msg, c->o.len, "%u of %u requests done when reset", f->done,
		    INFLIGHT_REQS);
}

enum tg_result hostile_reset_in_flight(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    STEP(NULL, queue_in_flight),
	    STEP(NULL, reset_when_first_done),
	    STEP(NULL, nothing_after_reset),
	};
	static const struct hscenario sc = {STEPS(steps), .note = note_in_flight};

	return hostile_run(msg, len, &sc);
}

/*
 * Malformed requests on a sane ring: a status, and the device goes on. Each
 * request is one step, REQ() (RANGE() for a DISCARD or WRITE_ZEROES with
 * its segment), with the status it must get (X_REQ); sectors are counted
 * from 0, back from the capacity or into the scratch area.
 */
#define SECTOR(n)   .at = AT_SECTOR, .sector = (n)
#define FROM_END(n) .at = AT_END, .sector = (n)
#define SCRATCH(n)  .at = AT_SCRATCH, .sector = (n)

#define REQ(n, t, where, b, l, status, ...)                                                        \
	STEP(n, send_req, .expect = X_REQ, .want = (status),                                       \
	     .req = {.type = (t), where, .buf = (b), .len = (l), __VA_ARGS__})
#define RANGE(n, t, where, nsec, f, l, status)                                                     \
	REQ(n, t, SECTOR(0), BUF_RANGE, l, status,                                                 \
	    .range = {where, .num_sectors = (nsec), .flags = (f)})

static uint64_t sector_at(struct hctx *c, enum hat at, uint64_t n)
{
	switch (at) {
	case AT_SECTOR: return n;
	case AT_END: return c->capacity - n;
	case AT_SCRATCH: return c->scratch + n;
	}
	return n;
}

/* The request's data buffer; the ones only bad_requests needs are allocated on first use. */
static void *req_buf(struct hctx *c, const struct hreq *r)
{
	struct virtio_blk_discard_write_zeroes *range;

	if (!c->aux)
		c->aux = tg_alloc(1024, 512);
	switch (r->buf) {
	case BUF_READ: return c->rbuf;
	case BUF_WRITE: return c->wbuf;
	case BUF_TAIL: return c->aux;
	case BUF_ID: return c->aux + 512;
	case BUF_RANGE: break;
	}
	range = (void *)(c->aux + 768);
	*range = (struct virtio_blk_discard_write_zeroes){
	    .sector = sector_at(c, r->range.at, r->range.sector),
	    .num_sectors = r->range.num_sectors,
	    .flags = r->range.flags,
	};
	return range;
}

/* The request, without the driver's limits: the result for X_REQ in c->res. */
static bool send_req(struct hctx *c, const struct hstep *st)
{
	const struct hreq *r = &st->req;
	struct virtio_blk_req req;

	virtio_blk_req_init(&req, r->type, sector_at(c, r->at, r->sector), req_buf(c, r), r->len);
	if (r->dir != DIR_OF_TYPE)
		req.data_out = r->dir == DIR_TO_DEVICE;
	req.no_limits = true;
	c->res = virtio_blk_do(c->blk, 0, &req);
	c->res_len = req.used_len;
	return true;
}

static bool tail_unchanged(struct hctx *c, const struct hstep *st)
{
	(void)st;
	return same_words(c->rbuf, c->aux, 512) ||
	       fail(c, "a write across the end of the disk changed its last sector");
}

static bool ranges_offered(struct hctx *c, const struct hstep *st)
{
	(void)st;
	return (virtio_has_feature(c->vdev, VIRTIO_BLK_F_DISCARD) &&
		virtio_has_feature(c->vdev, VIRTIO_BLK_F_WRITE_ZEROES)) ||
	       fail(c, "DISCARD and WRITE_ZEROES not negotiated");
}

/* Headers split, cut short or with no status byte: chains the driver's helpers cannot build. */
static bool post_split_header(struct hctx *c, const struct hstep *st)
{
	uint8_t *h = (uint8_t *)c->hdr;
	struct seg s[] = {
	    seg_of(h, 5, 0),
	    seg_of(h + 5, 11, 0),
	    seg_of(c->rbuf, RT_BYTES, VRING_DESC_F_WRITE),
	    seg_of(c->status, 1, VRING_DESC_F_WRITE),
	};

	set_hdr(c, VIRTIO_BLK_T_IN, c->scratch);
	memset(c->rbuf, 0, RT_BYTES);
	return post_chain(c, step_vq(c, st), s, TG_ARRAY_SIZE(s));
}

static bool read_gave_last(struct hctx *c, const struct hstep *st)
{
	(void)st;
	return same_words(c->rbuf, c->last, RT_BYTES) ||
	       fail(c, "status %u, data wrong", *c->status);
}

static bool post_short_header(struct hctx *c, const struct hstep *st)
{
	struct seg s[] = {
	    seg_of(c->hdr, 8, 0),
	    seg_of(c->status, 1, VRING_DESC_F_WRITE),
	};

	set_hdr(c, VIRTIO_BLK_T_IN, c->scratch);
	return post_chain(c, step_vq(c, st), s, TG_ARRAY_SIZE(s));
}

static bool post_no_status(struct hctx *c, const struct hstep *st)
{
	struct seg s = seg_of(c->hdr, 16, 0);

	set_hdr(c, VIRTIO_BLK_T_OUT, c->scratch);
	return post_chain(c, step_vq(c, st), &s, 1);
}

enum tg_result hostile_bad_requests(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    REQ("read at the capacity", VIRTIO_BLK_T_IN, FROM_END(0), BUF_READ, 512,
		VIRTIO_BLK_S_IOERR),
	    REQ("read across the end of the disk", VIRTIO_BLK_T_IN, FROM_END(1), BUF_READ, 1024,
		VIRTIO_BLK_S_IOERR),
	    REQ("read at a sector whose offset overflows", VIRTIO_BLK_T_IN, SECTOR(~0ULL >> 9),
		BUF_READ, 1024, VIRTIO_BLK_S_IOERR),
	    REQ("read of the last sector", VIRTIO_BLK_T_IN, FROM_END(1), BUF_TAIL, 512,
		VIRTIO_BLK_S_OK),
	    REQ("write across the end of the disk", VIRTIO_BLK_T_OUT, FROM_END(1), BUF_WRITE, 1024,
		VIRTIO_BLK_S_IOERR),
	    REQ("reading the last sector again", VIRTIO_BLK_T_IN, FROM_END(1), BUF_READ, 512,
		VIRTIO_BLK_S_OK),
	    STEP(NULL, tail_unchanged),
	    REQ("read of 100 bytes", VIRTIO_BLK_T_IN, SCRATCH(0), BUF_READ, 100,
		VIRTIO_BLK_S_IOERR),
	    REQ("write of 700 bytes", VIRTIO_BLK_T_OUT, SCRATCH(0), BUF_WRITE, 700,
		VIRTIO_BLK_S_IOERR),
	    REQ("write whose data is device-writable", VIRTIO_BLK_T_OUT, SCRATCH(0), BUF_READ, 512,
		VIRTIO_BLK_S_IOERR, .dir = DIR_FROM_DEVICE),
	    REQ("read whose data is device-readable", VIRTIO_BLK_T_IN, SCRATCH(0), BUF_WRITE, 512,
		VIRTIO_BLK_S_IOERR, .dir = DIR_TO_DEVICE),
	    REQ("request type 0x7777", 0x7777, SECTOR(0), BUF_READ, 512, VIRTIO_BLK_S_UNSUPP),
	    REQ("GET_ID into 19 bytes", VIRTIO_BLK_T_GET_ID, SECTOR(0), BUF_ID,
		VIRTIO_BLK_ID_BYTES - 1, VIRTIO_BLK_S_IOERR),
	    REQ("GET_ID into 20 bytes", VIRTIO_BLK_T_GET_ID, SECTOR(0), BUF_ID, VIRTIO_BLK_ID_BYTES,
		VIRTIO_BLK_S_OK),
	    STEP("a writable disk's features", ranges_offered),
	    RANGE("discard with the UNMAP flag", VIRTIO_BLK_T_DISCARD, SCRATCH(0), 1,
		  VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 16, VIRTIO_BLK_S_UNSUPP),
	    RANGE("write zeroes with unknown flag 2", VIRTIO_BLK_T_WRITE_ZEROES, SCRATCH(0), 1, 2,
		  16, VIRTIO_BLK_S_UNSUPP),
	    RANGE("discard across the end of the disk", VIRTIO_BLK_T_DISCARD, FROM_END(1), 2, 0, 16,
		  VIRTIO_BLK_S_IOERR),
	    RANGE("write zeroes over more than max_write_zeroes_sectors", VIRTIO_BLK_T_WRITE_ZEROES,
		  SECTOR(0), VMM_BLK_RANGE_SECTORS + 1, 0, 16, VIRTIO_BLK_S_IOERR),
	    RANGE("discard with 12 bytes of segment", VIRTIO_BLK_T_DISCARD, SECTOR(0),
		  VMM_BLK_RANGE_SECTORS + 1, 0, 12, VIRTIO_BLK_S_IOERR),
	    STEP("header split 5 + 11 across two buffers", post_split_header, .kick = true,
		 .expect = X_USED | X_STATUS_BYTE, .used_len = RT_BYTES + 1,
		 .want = VIRTIO_BLK_S_OK),
	    STEP(NULL, read_gave_last),
	    STEP("header of 8 bytes", post_short_header, .kick = true,
		 .expect = X_USED | X_STATUS_BYTE, .used_len = 1, .want = VIRTIO_BLK_S_IOERR),
	    /* No writable byte for a status: given back untouched, used length 0. */
	    STEP("request without a writable byte", post_no_status, .kick = true, .expect = X_USED,
		 .used_len = 0),
	};
	static const struct hscenario sc = {STEPS(steps), .end = END_HEALTHY_ROUND_TRIP};

	return hostile_run(msg, len, &sc);
}
