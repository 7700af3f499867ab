// SPDX-License-Identifier: MIT
/*
 * Hostile scenarios, queue layout: layout registers written after QueueReady
 * or DRIVER_OK, setup out of order, rings the device cannot map, and a
 * notify of a queue that does not exist. Most steps drive the disk register
 * by register, unbound from its driver, on rings made by hand.
 */
#include "hostile.h"

#define QSEL   VIRTIO_MMIO_QUEUE_SEL
#define QREADY VIRTIO_MMIO_QUEUE_READY
#define STATUS VIRTIO_MMIO_STATUS
#define DFSEL  VIRTIO_MMIO_DRIVER_FEATURES_SEL
#define DF     VIRTIO_MMIO_DRIVER_FEATURES
#define ACK    VIRTIO_STATUS_ACKNOWLEDGE
#define DRIVER VIRTIO_STATUS_DRIVER
#define FEAT   VIRTIO_STATUS_FEATURES_OK

static struct layout layout_of(const struct virtqueue *vq)
{
	return (struct layout){vq->vring.num, (uintptr_t)vq->vring.desc, (uintptr_t)vq->vring.avail,
			       (uintptr_t)vq->vring.used};
}

/* A layout a step names: see enum hlayout. */
static struct layout layout_named(struct hctx *c, enum hlayout which)
{
	switch (which) {
	case L_LIVE: return layout_of(c->blk->vqs[0]);
	case L_MANUAL: return c->lay_manual;
	case L_OTHER: return c->lay_other;
	case L_RESET: return (struct layout){VMM_QUEUE_NUM_MAX, 0, 0, 0};
	case L_NONE: break;
	}
	return (struct layout){0, 0, 0, 0};
}

/* QUEUE_PAST_LAST: the first queue the disk does not have. */
static unsigned int queue_index(struct hctx *c, int q)
{
	return q == QUEUE_PAST_LAST ? c->blk->num_queues : (unsigned int)q;
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
	wreg(c, QSEL, q);
	wreg(c, VIRTIO_MMIO_QUEUE_NUM, l->num);
	write64(c, VIRTIO_MMIO_QUEUE_DESC_LOW, l->desc);
	write64(c, VIRTIO_MMIO_QUEUE_DRIVER_LOW, l->avail);
	write64(c, VIRTIO_MMIO_QUEUE_DEVICE_LOW, l->used);
}

/* X_LAYOUT: the queue's layout registers and QueueReady read as @want says. */
bool expect_layout(struct hctx *c, const struct hqlayout *want)
{
	unsigned int q = queue_index(c, want->q);
	struct layout l = layout_named(c, want->layout), got;
	uint32_t r;

	wreg(c, QSEL, q);
	got.num = reg(c, VIRTIO_MMIO_QUEUE_NUM);
	got.desc = read64(c, VIRTIO_MMIO_QUEUE_DESC_LOW);
	got.avail = read64(c, VIRTIO_MMIO_QUEUE_DRIVER_LOW);
	got.used = read64(c, VIRTIO_MMIO_QUEUE_DEVICE_LOW);
	r = reg(c, QREADY);
	if (got.num != l.num || got.desc != l.desc || got.avail != l.avail || got.used != l.used ||
	    r != want->ready)
		return fail(c,
			    "queue %u reads num %u desc 0x%llx avail 0x%llx used 0x%llx "
			    "ready %u; expected %u 0x%llx 0x%llx 0x%llx %u",
			    q, got.num, (unsigned long long)got.desc, (unsigned long long)got.avail,
			    (unsigned long long)got.used, r, l.num, (unsigned long long)l.desc,
			    (unsigned long long)l.avail, (unsigned long long)l.used,
			    (unsigned int)want->ready);
	return true;
}

/* X_QUEUE_REFUSED: QueueReady stays 0, and DRIVER_OK is refused while NEEDS_RESET is set. */
bool expect_queue_refused(struct hctx *c)
{
	if (reg(c, QREADY))
		return fail(c, "QueueReady reads 1 for a refused queue");
	wreg(c, STATUS, STATUS_LIVE | STATUS_NEEDS_RESET);
	if (dev_status(c) & VIRTIO_STATUS_DRIVER_OK)
		return fail(c, "DRIVER_OK accepted with NEEDS_RESET set (status 0x%x)",
			    dev_status(c));
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

/* GET_ID through the rings set up by hand (c->vq): the device serves what it was given. */
static bool get_id(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = c->vq;
	uint64_t end = tg_ns() + EVENT_TIMEOUT;
	struct virtio_sg sg[3];
	char *id = (char *)c->rbuf;
	uint32_t len = 0;
	void *token;
	int err;

	(void)st;
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

/* Started by hand (manual_start()), with a ring of @num made by hand (c->vq, L_MANUAL) unless 0. */
static bool start_with_ring(struct hctx *c, bool features_ok, unsigned int num)
{
	if (!manual_start(c, features_ok))
		return false;
	if (!num)
		return true;
	c->vq = manual_vq(c, num);
	if (!c->vq)
		return fail(c, "no ring of %u made by hand", num);
	c->lay_manual = layout_of(c->vq);
	return true;
}

static bool start_by_hand(struct hctx *c, const struct hstep *st)
{
	return start_with_ring(c, st->manual.features_ok, st->manual.num);
}

/* Another ring made by hand, given as 4 long: a layout that must not be taken (L_OTHER). */
static bool other_ring(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *vq = manual_vq(c, SMALL_QUEUE);

	(void)st;
	if (!vq)
		return fail(c, "no ring made by hand");
	c->lay_other = layout_of(vq);
	c->lay_other.num = 4;
	return true;
}

/* The layout qs names written to queue qs.q, then QueueReady qs.ready. */
static bool set_up_queue(struct hctx *c, const struct hstep *st)
{
	struct layout l = layout_named(c, st->qs.layout);

	write_layout(c, queue_index(c, st->qs.q), &l);
	wreg(c, QREADY, st->qs.ready);
	return true;
}

/*
 * Layout registers once the queue is ready, and once DRIVER_OK is set, are
 * ignored: read back unchanged, and the device keeps the rings it mapped.
 */
enum tg_result hostile_queue_regs_locked(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    STEP("after DRIVER_OK: the probe", other_ring, .expect = X_LAYOUT,
		 .lay = {0, L_LIVE, 1}),
	    STEP("after DRIVER_OK: rewriting the layout and QueueReady 0", set_up_queue,
		 .qs = {0, L_OTHER, 0}, .expect = X_LAYOUT | X_HEALTHY, .lay = {0, L_LIVE, 1},
		 .status = STATUS_LIVE),
	    STEP(NULL, round_trip),
	    STEP("after QueueReady, before DRIVER_OK", start_by_hand,
		 .manual = {true, SMALL_QUEUE}),
	    STEP("after QueueReady, before DRIVER_OK: QueueReady 1", set_up_queue,
		 .qs = {0, L_MANUAL, 1}, .expect = X_LAYOUT, .lay = {0, L_MANUAL, 1}),
	    /* QueueReady 2, neither 0 nor 1: nonsense, ignored. */
	    STEP("after QueueReady, before DRIVER_OK: rewriting the layout and QueueReady 2",
		 set_up_queue, .qs = {0, L_OTHER, 2}, .expect = X_LAYOUT, .lay = {0, L_MANUAL, 1}),
	    WRITE_STATUS("after QueueReady, before DRIVER_OK: DRIVER_OK", STATUS_LIVE,
			 WR(STATUS, STATUS_LIVE)),
	    STEP(NULL, get_id),
	};
	static const struct hscenario sc = {STEPS(steps)};

	return hostile_run(msg, len, &sc);
}

/*
 * Setup out of order: QueueReady before FEATURES_OK, DRIVER_OK before
 * FEATURES_OK, FEATURES_OK without DRIVER, features written before DRIVER,
 * a queue withdrawn with QueueReady 0, a queue set up after DRIVER_OK.
 */
enum tg_result hostile_setup_order(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    STEP("QueueReady before FEATURES_OK", start_by_hand, .manual = {false, SMALL_QUEUE}),
	    STEP(NULL, set_up_queue, .qs = {0, L_MANUAL, 1}, .expect = X_LAYOUT | X_HEALTHY,
		 .lay = {0, L_MANUAL, 0}, .status = 0x03),
	    /* The layout stays; with FEATURES_OK the same QueueReady is taken. */
	    STEP(NULL, write_regs, .wr = W(WR(STATUS, 0x0b), WR(QREADY, 1)), .expect = X_LAYOUT,
		 .lay = {0, L_MANUAL, 1}),
	    WRITE_STATUS(NULL, STATUS_LIVE, WR(STATUS, STATUS_LIVE)),
	    STEP(NULL, get_id),

	    STEP("DRIVER_OK before FEATURES_OK", start_by_hand, .manual = {false, 0}),
	    WRITE_STATUS(NULL, 0x03, WR(STATUS, 0x07)),
	    /* Dropping DRIVER while adding FEATURES_OK: the whole write is ignored. */
	    WRITE_STATUS("a status write that drops DRIVER", 0x03, WR(DFSEL, 1), WR(DF, 1),
			 WR(STATUS, ACK | FEAT)),

	    STEP("FEATURES_OK without DRIVER", reset),
	    WRITE_STATUS(NULL, ACK, WR(STATUS, ACK), WR(DFSEL, 1), WR(DF, 1),
			 WR(STATUS, ACK | FEAT)),
	    /* The VERSION_1 written above came before DRIVER: it must not have counted. */
	    WRITE_STATUS("features written before DRIVER", 0x03, WR(STATUS, ACK | DRIVER),
			 WR(STATUS, 0x0b)),
	    WRITE_STATUS("features written before DRIVER, then after", 0x0b, WR(DFSEL, 1),
			 WR(DF, 1), WR(STATUS, 0x0b)),

	    STEP("QueueReady 0 before DRIVER_OK", start_by_hand, .manual = {true, SMALL_QUEUE}),
	    STEP(NULL, set_up_queue, .qs = {0, L_MANUAL, 1}),
	    STEP(NULL, write_regs, .wr = W(WR(QREADY, 0)), .expect = X_LAYOUT,
		 .lay = {0, L_RESET, 0}),
	    WRITE_STATUS("queue set up after DRIVER_OK", STATUS_LIVE, WR(STATUS, STATUS_LIVE)),
	    STEP(NULL, set_up_queue, .qs = {0, L_MANUAL, 1}, .expect = X_LAYOUT,
		 .lay = {0, L_RESET, 0}),
	    STEP(NULL, write_regs, .wr = W(WR(VIRTIO_MMIO_QUEUE_NOTIFY, 0)), .expect = X_HEALTHY,
		 .status = STATUS_LIVE),
	};
	static const struct hscenario sc = {STEPS(steps)};

	return hostile_run(msg, len, &sc);
}

/*
 * Rings the device cannot take at QueueReady: NEEDS_RESET, QueueReady stays
 * 0, no interrupt (DRIVER_OK is not set), and DRIVER_OK is then refused.
 * Each is a RING() step: the disk started by hand with a good ring of 8,
 * whose layout the step changes before QueueReady 1.
 */
#define RING(n, p, ...)                                                                            \
	STEP(n, set_up_ring, .expect = X_RING_REFUSED, .ring = {.part = (p), __VA_ARGS__})

static uint64_t *ring_part(struct layout *l, enum ring_part part)
{
	switch (part) {
	case PART_DESC: return &l->desc;
	case PART_AVAIL: return &l->avail;
	case PART_USED: return &l->used;
	case PART_NONE: break;
	}
	return NULL;
}

static bool set_up_ring(struct hctx *c, const struct hstep *st)
{
	const struct hring *rc = &st->ring;
	struct layout good, l;
	uint64_t *part;
	uint32_t num_read, want_num;

	if (!start_with_ring(c, true, SMALL_QUEUE))
		return false;
	good = l = c->lay_manual;
	want_num = l.num;
	if (rc->set_num) {
		l.num = rc->num;
		want_num = rc->num_read;
	}
	part = ring_part(&l, rc->part);
	if (part) {
		/* An offset is from the good address of the part itself, or of .from. */
		uint64_t *from = ring_part(&good, rc->from ? rc->from : rc->part);

		*part = rc->addr ? rc->addr : (uint64_t)((int64_t)*from + rc->offset);
	}
	write_layout(c, 0, &l);
	num_read = reg(c, VIRTIO_MMIO_QUEUE_NUM);
	if (num_read != want_num)
		return fail(c, "QueueNum 0x%x reads back as 0x%x, expected 0x%x", l.num, num_read,
			    want_num);
	wreg(c, QREADY, 1);
	return true;
}

static void note_layouts(struct hctx *c, const struct hscenario *sc)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < sc->nsteps; i++)
		n += sc->steps[i].act == set_up_ring;
	tg_snprintf(c->o.msg, c->o.len, "%u layouts", n);
}

/* Addresses relative to the end of RAM are filled in at run time: the table is not static. */
enum tg_result hostile_queue_bad_rings(char *msg, size_t len)
{
	uint64_t top = tg_ram_top();
	const struct hstep steps[] = {
	    /* The control: the same steps with a good layout work. */
	    STEP("control: a good layout", set_up_ring, .expect = X_READS | X_HEALTHY,
		 .r = {.off = QREADY}, .want = 1, .status = 0x0b),
	    WRITE_STATUS(NULL, STATUS_LIVE, WR(STATUS, STATUS_LIVE)),
	    STEP(NULL, get_id, .expect = X_RESET),
	    RING("descriptor table on the device's own registers", PART_DESC, .addr = 0xd0000000),
	    RING("descriptor table at 64 TiB", PART_DESC, .addr = FAR_ADDRESS),
	    RING("descriptor table 8-byte aligned", PART_DESC, .offset = 8),
	    RING("available ring across the end of RAM", PART_AVAIL, .addr = top - 4),
	    RING("available ring at an odd address", PART_AVAIL, .offset = 1),
	    RING("used ring just past RAM", PART_USED, .addr = top),
	    RING("used ring on the IO-APIC", PART_USED, .addr = IOAPIC_ADDRESS),
	    RING("used ring 2-byte aligned", PART_USED, .offset = 2),
	    RING("used ring wrapping past 2^64", PART_USED, .addr = WRAPPING_ADDRESS),
	    /*
	     * Rings over each other: the device's own writes to the used ring
	     * would read back as new chains (a worker looking again for work
	     * after each write looped for ever). Aligned, in RAM, refused only
	     * for overlapping.
	     */
	    RING("used ring on the available ring", PART_USED, .from = PART_AVAIL),
	    RING("used ring over the available ring's used_event", PART_USED, .from = PART_AVAIL,
		 .offset = 4 + 2 * SMALL_QUEUE),
	    RING("available ring in the descriptor table's last entry", PART_AVAIL,
		 .from = PART_DESC, .offset = 16 * SMALL_QUEUE - 2),
	    RING("QueueNum 3", PART_NONE, .set_num = true, .num = 3, .num_read = 3),
	    RING("QueueNum 0", PART_NONE, .set_num = true, .num = 0, .num_read = 0),
	    RING("QueueNum 512 (above QueueNumMax)", PART_NONE, .set_num = true, .num = 512,
		 .num_read = 512),
	    /* Kept as 0, never truncated to a valid 8. */
	    RING("QueueNum 0x10008 (past 16 bits)", PART_NONE, .set_num = true, .num = 0x10008,
		 .num_read = 0),
	};
	const struct hscenario sc = {STEPS(steps), .note = note_layouts};

	return hostile_run(msg, len, &sc);
}

/* Notifies naming queues that do not exist: ignored. */
static bool notify_missing_queues(struct hctx *c, const struct hstep *st)
{
	const uint32_t bad[] = {c->blk->num_queues, 31, 32, 0xffff, 0x10000, 0xffffffff};

	(void)st;
	for (unsigned int i = 0; i < TG_ARRAY_SIZE(bad); i++)
		wreg(c, VIRTIO_MMIO_QUEUE_NOTIFY, bad[i]);
	return true;
}

static bool select_past_last(struct hctx *c, const struct hstep *st)
{
	(void)st;
	wreg(c, QSEL, c->blk->num_queues);
	return true;
}

static void note_queues(struct hctx *c, const struct hscenario *sc)
{
	(void)sc;
	tg_snprintf(c->o.msg, c->o.len, "%u queue(s)", c->blk->num_queues);
}

/* A notify naming a queue that does not exist, and such a queue's registers. */
enum tg_result hostile_notify_bad_queue(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    STEP(NULL, notify_missing_queues),
	    STEP("queue past the last", select_past_last, .expect = X_READS,
		 .r = {.off = VIRTIO_MMIO_QUEUE_NUM_MAX}, .want = 0),
	    STEP("queue past the last: setting it up", set_up_queue,
		 .qs = {QUEUE_PAST_LAST, L_LIVE, 1}, .expect = X_LAYOUT,
		 .lay = {QUEUE_PAST_LAST, L_NONE, 0}),
	    WRITE(NULL, WR(QSEL, 0)),
	};
	static const struct hscenario sc = {
	    STEPS(steps),
	    .end = END_HEALTHY_ROUND_TRIP,
	    .note = note_queues,
	};

	return hostile_run(msg, len, &sc);
}
