// SPDX-License-Identifier: MIT
/*
 * Hostile scenarios, queue layout: layout registers written after QueueReady
 * or DRIVER_OK, setup out of order, rings the device cannot map, and a
 * notify of a queue that does not exist.
 */
#include "hostile.h"

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
enum tg_result hostile_queue_regs_locked(char *msg, size_t len)
{
	struct layout live, other, manual;
	struct virtqueue *vq, *vq2;
	struct hctx c;

	if (!blk_begin(&c, msg, len, NULL))
		return hostile_finish(&c);
	live = layout_of(c.blk->vqs[0]);
	vq2 = manual_vq(&c, SMALL_QUEUE);
	other = layout_of(vq2);
	other.num = 4;
	c.o.step = "after DRIVER_OK";
	if (!expect_layout(&c, 0, &live, 1, "the probe"))
		return hostile_finish(&c);
	write_layout(&c, 0, &other);
	wreg(&c, VIRTIO_MMIO_QUEUE_READY, 0);
	if (!expect_layout(&c, 0, &live, 1, "rewriting the layout and QueueReady 0") ||
	    !expect_healthy(&c, STATUS_LIVE) || !blk_round_trip(&c))
		return hostile_finish(&c);

	c.o.step = "after QueueReady, before DRIVER_OK";
	if (!manual_start(&c, true))
		return hostile_finish(&c);
	vq = manual_vq(&c, SMALL_QUEUE);
	manual = layout_of(vq);
	write_layout(&c, 0, &manual);
	wreg(&c, VIRTIO_MMIO_QUEUE_READY, 1);
	if (!expect_layout(&c, 0, &manual, 1, "QueueReady 1"))
		return hostile_finish(&c);
	write_layout(&c, 0, &other);
	wreg(&c, VIRTIO_MMIO_QUEUE_READY, 2); /* neither 0 nor 1: nonsense, ignored */
	if (!expect_layout(&c, 0, &manual, 1, "rewriting the layout and QueueReady 2"))
		return hostile_finish(&c);
	wreg(&c, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	if (!expect_status(&c, STATUS_LIVE, "DRIVER_OK") || !manual_get_id(&c, vq))
		return hostile_finish(&c);
	c.o.step = "recovery";
	blk_recover(&c);
	return hostile_finish(&c);
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

enum tg_result hostile_setup_order(char *msg, size_t len)
{
	struct hctx c;

	if (blk_begin(&c, msg, len, NULL) && order_queue_before_features(&c) && order_status(&c) &&
	    order_queue_withdrawn(&c)) {
		c.o.step = "recovery";
		blk_recover(&c);
	}
	return hostile_finish(&c);
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

enum tg_result hostile_queue_bad_rings(char *msg, size_t len)
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
		return hostile_finish(&c);
	for (i = 0; i < TG_ARRAY_SIZE(cases) && run_ring_case(&c, &cases[i]); i++)
		;
	if (i == TG_ARRAY_SIZE(cases)) {
		c.o.step = "recovery";
		if (blk_recover(&c))
			tg_snprintf(msg, len, "%u layouts", i);
	}
	return hostile_finish(&c);
}

/* A notify naming a queue that does not exist, and such a queue's registers. */
enum tg_result hostile_notify_bad_queue(char *msg, size_t len)
{
	const struct layout none = {0, 0, 0, 0};
	struct layout l;
	struct hctx c;
	uint32_t nq;

	if (!blk_begin(&c, msg, len, NULL))
		return hostile_finish(&c);
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
		return hostile_finish(&c);
	}
	l = layout_of(c.blk->vqs[0]);
	write_layout(&c, nq, &l);
	wreg(&c, VIRTIO_MMIO_QUEUE_READY, 1);
	if (!expect_layout(&c, nq, &none, 0, "setting it up"))
		return hostile_finish(&c);
	wreg(&c, VIRTIO_MMIO_QUEUE_SEL, 0);
	c.o.step = NULL;
	if (expect_healthy(&c, STATUS_LIVE) && blk_round_trip(&c))
		tg_snprintf(msg, len, "%u queue(s)", nq);
	return hostile_finish(&c);
}
