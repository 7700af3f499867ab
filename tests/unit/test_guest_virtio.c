// SPDX-License-Identifier: MIT
/*
 * The test guest's virtio stack (guest/testguest/virtio_ring.c, virtio.c)
 * on the host: the ring layout, chains posted and taken back against a
 * device played by the test, kick and interrupt suppression across the
 * 16-bit index wrap, the checks on what the device returns, and the bus's
 * probe and feature negotiation against a fake transport. The runtime
 * functions the guest code calls are played here too.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/testguest/rt.h"
#include "guest/testguest/virtio.h"
#include "guest/testguest/virtio_ring.h"
#include "tests/unit/suites.h"

#define NEXT	 VRING_DESC_F_NEXT
#define WRITE	 VRING_DESC_F_WRITE
#define INDIRECT VRING_DESC_F_INDIRECT
#define BIT(b)	 VIRTIO_BIT(b)

/* Like ck_assert, but silent when it holds: for checks made thousands of times. */
#define expect_eq(a, b)                                                                            \
	do {                                                                                       \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);     \
		if (a_ != b_)                                                                      \
			ck_abort_msg("%s == %s failed: 0x%llx != 0x%llx", #a, #b, a_, b_);         \
	} while (0)

/* The runtime, as the guest code sees it. */

static _Alignas(4096) uint8_t arena[4 << 20];
static size_t arena_used;
static char last_msg[256];
static uint64_t fake_now;
static int routed_gsi = -1;
static void (*routed_fn)(void *);
static void *routed_opaque;
static bool route_fails;
/* Run by tg_wait_irq(), as the device interrupting while the guest sleeps. */
static void (*wait_irq_hook)(void);

void *tg_alloc(size_t size, size_t align)
{
	size_t start = (arena_used + align - 1) & ~(align - 1);

	if (start + size > sizeof(arena))
		ck_abort_msg("test arena exhausted");
	arena_used = start + size;
	memset(arena + start, 0, size);
	return arena + start;
}

int tg_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return vsnprintf(buf, size, fmt, ap);
}

int tg_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* Kept, not printed: tests look at the last message. */
int tg_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	return n;
}

uint64_t tg_ns(void)
{
	return fake_now += 1000;
}

int tg_irq_route(unsigned int gsi, void (*fn)(void *opaque), void *opaque)
{
	if (route_fails)
		return -1;
	routed_gsi = (int)gsi;
	routed_fn = fn;
	routed_opaque = opaque;
	return 0;
}

void tg_irq_unroute(unsigned int gsi)
{
	if ((int)gsi == routed_gsi)
		routed_gsi = -1;
}

bool tg_wait_irq(uint64_t timeout_ns)
{
	if (wait_irq_hook) {
		wait_irq_hook();
		if (routed_fn)
			routed_fn(routed_opaque);
		return true;
	}
	fake_now += timeout_ns;
	return false;
}

static void runtime_setup(void)
{
	arena_used = 0;
	last_msg[0] = '\0';
	fake_now = 1000000;
	routed_gsi = -1;
	routed_fn = NULL;
	route_fails = false;
	wait_irq_hook = NULL;
	virtio_verbose = false;
}

/* The device side of a queue, played by the test. */

struct fake_ring {
	struct virtqueue *vq;
	uint16_t last_avail; /* next available entry to take */
	uint16_t used_idx;   /* next used entry to fill */
};

struct chain {
	uint16_t head;
	bool indirect;
	unsigned int n;
	uint16_t ids[64]; /* table descriptors walked (direct chains) */
	struct vring_desc d[64];
};

static struct virtqueue *make_vq(unsigned int num, bool event_idx, bool indirect)
{
	struct vring_params p = {
	    .num = num, .event_idx = event_idx, .indirect = indirect, .name = "test"};
	struct virtqueue *vq = vring_create_virtqueue(NULL, &p);

	ck_assert_ptr_nonnull(vq);
	return vq;
}

/* Take the next available chain, following next (or the indirect table). */
static bool dev_pop(struct fake_ring *r, struct chain *c)
{
	struct vring *vr = &r->vq->vring;
	const struct vring_desc *table = vr->desc;
	uint16_t i;

	if (vr->avail->idx == r->last_avail)
		return false;
	c->head = vr->avail->ring[r->last_avail++ % vr->num];
	c->indirect = vr->desc[c->head].flags & INDIRECT;
	i = c->head;
	if (c->indirect) {
		table = (const struct vring_desc *)(uintptr_t)vr->desc[c->head].addr;
		i = 0;
	}
	for (c->n = 0;; c->n++) {
		ck_assert_uint_lt(c->n, 64);
		c->ids[c->n] = i;
		c->d[c->n] = table[i];
		if (!(table[i].flags & NEXT))
			break;
		i = table[i].next;
	}
	c->n++;
	return true;
}

static void dev_push(struct fake_ring *r, uint32_t id, uint32_t len)
{
	struct vring *vr = &r->vq->vring;

	vr->used->ring[r->used_idx % vr->num] = (struct vring_used_elem){.id = id, .len = len};
	r->used_idx++;
	vr->used->idx = r->used_idx;
}

/* Should the device interrupt after moving its used index from @old to @new? */
static bool dev_should_interrupt(struct fake_ring *r, uint16_t old, uint16_t new_idx)
{
	struct vring *vr = &r->vq->vring;

	if (r->vq->event_idx)
		return vring_need_event(vring_used_event(vr), new_idx, old);
	return !(vr->avail->flags & VRING_AVAIL_F_NO_INTERRUPT);
}

static int tokens[4096]; /* distinct non-NULL tokens */

/* Layout. */

static size_t round_up(size_t x, size_t a)
{
	return (x + a - 1) / a * a;
}

START_TEST(vring_layout_matches_the_spec)
{
	static const unsigned int nums[] = {1, 2, 4, 8, 16, 128, 256, 1024, 32768};
	static const unsigned long aligns[] = {4, 16, 64, 4096};

	ck_assert_uint_eq(sizeof(struct vring_desc), 16);
	ck_assert_uint_eq(sizeof(struct vring_used_elem), 8);
	ck_assert_uint_eq(offsetof(struct vring_avail, ring), 4);
	ck_assert_uint_eq(offsetof(struct vring_used, ring), 4);
	for (unsigned int i = 0; i < TG_ARRAY_SIZE(nums); i++) {
		for (unsigned int j = 0; j < TG_ARRAY_SIZE(aligns); j++) {
			unsigned int num = nums[i];
			unsigned long align = aligns[j];
			/* Offsets from the base, worked out field by field. */
			size_t avail = 16 * (size_t)num;
			size_t used_event = avail + 2 + 2 + 2 * (size_t)num;
			size_t used = round_up(used_event + 2, align);
			size_t avail_event = used + 2 + 2 + 8 * (size_t)num;
			uint8_t *base = (uint8_t *)0x10000000;
			struct vring vr;

			expect_eq(vring_size(num, align), avail_event + 2);
			vring_init(&vr, num, base, align);
			expect_eq(vr.num, num);
			expect_eq((uint8_t *)vr.desc - base, 0);
			expect_eq((uint8_t *)vr.avail - base, avail);
			expect_eq((uint8_t *)vr.used - base, used);
			expect_eq((uint8_t *)&vring_used_event(&vr) - base, used_event);
			expect_eq((uint8_t *)&vring_avail_event(&vr) - base, avail_event);
		}
	}
	/* Two by hand: 256 entries on pages, and the smallest queue packed tight. */
	ck_assert_uint_eq(vring_size(256, 4096), 8192 + 6 + 256 * 8);
	ck_assert_uint_eq(vring_size(1, 4), 16 + 8 + 6 + 8);
}
END_TEST

START_TEST(vring_init_on_unaligned_end_of_avail)
{
	/* num 3 is no queue size, but the arithmetic must still pad the used ring. */
	uint8_t *base = (uint8_t *)0x20000000;
	struct vring vr;

	vring_init(&vr, 3, base, 4096);
	ck_assert_uint_eq((uint8_t *)vr.used - base, 4096);
	vring_init(&vr, 3, base, 4);
	/* 48 + 4 + 6 + 2 = 60, already a multiple of 4. */
	ck_assert_uint_eq((uint8_t *)vr.used - base, 60);
}
END_TEST

START_TEST(need_event_counts_modulo_2_16)
{
	static const struct {
		uint16_t event, new_idx, old;
		bool need;
	} cases[] = {
	    /* event, new, old: inside [old, new) or not */
	    {0, 1, 0, true},
	    {1, 1, 0, false},
	    {0, 0, 0, false},
	    {4, 8, 3, true},
	    {7, 8, 3, true},
	    {8, 8, 3, false},
	    {2, 8, 3, false},
	    /* across the wrap */
	    {65534, 65535, 65534, true},
	    {65535, 0, 65535, true},
	    {0, 0, 65535, false},
	    {65535, 2, 65534, true},
	    {1, 2, 65534, true},
	    {2, 2, 65534, false},
	    {65533, 2, 65534, false},
	};

	for (unsigned int i = 0; i < TG_ARRAY_SIZE(cases); i++)
		ck_assert_msg(vring_need_event(cases[i].event, cases[i].new_idx, cases[i].old) ==
				  cases[i].need,
			      "case %u: event %u new %u old %u", i, cases[i].event,
			      cases[i].new_idx, cases[i].old);
}
END_TEST

START_TEST(create_refuses_bad_size_or_alignment)
{
	struct vring_params p = {.num = 6, .name = "bad"};

	ck_assert_ptr_null(vring_create_virtqueue(NULL, &p));
	p.num = 0;
	ck_assert_ptr_null(vring_create_virtqueue(NULL, &p));
	p.num = 65536;
	ck_assert_ptr_null(vring_create_virtqueue(NULL, &p));
	p.num = 8;
	p.align = 2;
	ck_assert_ptr_null(vring_create_virtqueue(NULL, &p));
	p.align = 24;
	ck_assert_ptr_null(vring_create_virtqueue(NULL, &p));
	p.align = 4;
	ck_assert_ptr_nonnull(vring_create_virtqueue(NULL, &p));
}
END_TEST

START_TEST(transport_features_keep_what_the_ring_does)
{
	uint64_t all = BIT(0) | BIT(5) | BIT(50);

	for (unsigned int bit = VIRTIO_TRANSPORT_F_START; bit < VIRTIO_TRANSPORT_F_END; bit++)
		all |= BIT(bit);
	ck_assert_uint_eq(vring_transport_features(all),
			  BIT(0) | BIT(5) | BIT(50) | BIT(VIRTIO_RING_F_INDIRECT_DESC) |
			      BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_F_VERSION_1) |
			      BIT(VIRTIO_F_ACCESS_PLATFORM) | BIT(VIRTIO_F_ORDER_PLATFORM));
}
END_TEST

/* Posting and taking back. */

START_TEST(add_direct_chain_and_get_it_back)
{
	struct fake_ring r = {.vq = make_vq(8, false, false)};
	uint8_t a[10], b[20], c[30];
	struct virtio_sg sg[] = {virtio_sg_buf(a, 10), virtio_sg_buf(b, 20), virtio_sg_buf(c, 30)};
	struct chain ch;
	uint32_t len = 0;

	ck_assert_int_eq(virtqueue_add(r.vq, sg, 2, 1, &tokens[1], VQ_AUTO), 0);
	ck_assert_uint_eq(virtqueue_num_free(r.vq), 5);
	ck_assert_uint_eq(r.vq->vring.avail->idx, 1);
	ck_assert(dev_pop(&r, &ch));
	ck_assert(!ch.indirect);
	ck_assert_uint_eq(ch.n, 3);
	ck_assert_uint_eq(ch.d[0].addr, (uintptr_t)a);
	ck_assert_uint_eq(ch.d[0].len, 10);
	ck_assert_uint_eq(ch.d[0].flags, NEXT);
	ck_assert_uint_eq(ch.d[1].addr, (uintptr_t)b);
	ck_assert_uint_eq(ch.d[1].flags, NEXT);
	ck_assert_uint_eq(ch.d[2].addr, (uintptr_t)c);
	ck_assert_uint_eq(ch.d[2].len, 30);
	ck_assert_uint_eq(ch.d[2].flags, WRITE);
	ck_assert_ptr_null(virtqueue_get_buf(r.vq, &len));
	dev_push(&r, ch.head, 7);
	ck_assert(virtqueue_more_used(r.vq));
	ck_assert_ptr_eq(virtqueue_get_buf(r.vq, &len), &tokens[1]);
	ck_assert_uint_eq(len, 7);
	ck_assert_uint_eq(virtqueue_num_free(r.vq), 8);
	ck_assert_uint_eq(r.vq->stats.added, 1);
	ck_assert_uint_eq(r.vq->stats.used, 1);
	ck_assert(!virtqueue_is_broken(r.vq));
}
END_TEST

START_TEST(add_indirect_chain_takes_one_descriptor)
{
	struct fake_ring r = {.vq = make_vq(8, false, true)};
	uint8_t a[16], b[32], c[1];
	struct virtio_sg sg[] = {virtio_sg_buf(a, 16), virtio_sg_buf(b, 32), virtio_sg_buf(c, 1)};
	struct vring_desc *d;
	struct chain ch;
	uint32_t len;
	int head;

	head = virtqueue_add(r.vq, sg, 1, 2, &tokens[2], VQ_INDIRECT);
	ck_assert_int_ge(head, 0);
	ck_assert_uint_eq(virtqueue_num_free(r.vq), 7);
	d = &r.vq->vring.desc[head];
	ck_assert_uint_eq(d->flags, INDIRECT);
	ck_assert_uint_eq(d->len, 3 * sizeof(struct vring_desc));
	ck_assert(dev_pop(&r, &ch));
	ck_assert(ch.indirect);
	ck_assert_uint_eq(ch.n, 3);
	ck_assert_uint_eq(ch.d[0].addr, (uintptr_t)a);
	ck_assert_uint_eq(ch.d[0].flags, NEXT);
	ck_assert_uint_eq(ch.d[1].addr, (uintptr_t)b);
	ck_assert_uint_eq(ch.d[1].flags, NEXT | WRITE);
	ck_assert_uint_eq(ch.d[2].addr, (uintptr_t)c);
	ck_assert_uint_eq(ch.d[2].flags, WRITE);
	dev_push(&r, ch.head, 33);
	ck_assert_ptr_eq(virtqueue_get_buf(r.vq, &len), &tokens[2]);
	ck_assert_uint_eq(len, 33);
	ck_assert_uint_eq(virtqueue_num_free(r.vq), 8);
}
END_TEST

START_TEST(add_mode_picks_direct_or_indirect)
{
	struct virtqueue *ind = make_vq(8, false, true), *dir = make_vq(8, false, false);
	uint8_t buf[8];
	struct virtio_sg sg[] = {virtio_sg_buf(buf, 4), virtio_sg_buf(buf + 4, 4)};
	int head;

	/* One buffer goes direct even when indirect is possible. */
	head = virtqueue_add(ind, sg, 1, 0, &tokens[0], VQ_AUTO);
	ck_assert_uint_eq(ind->vring.desc[head].flags, 0);
	head = virtqueue_add(ind, sg, 1, 1, &tokens[1], VQ_AUTO);
	ck_assert_uint_eq(ind->vring.desc[head].flags, INDIRECT);
	head = virtqueue_add(ind, sg, 1, 1, &tokens[2], VQ_DIRECT);
	ck_assert_uint_eq(ind->vring.desc[head].flags, NEXT);
	ck_assert_uint_eq(virtqueue_num_free(ind), 4);
	/* Without the feature: never indirect, and asking for it is an error. */
	head = virtqueue_add(dir, sg, 1, 1, &tokens[3], VQ_AUTO);
	ck_assert_uint_eq(dir->vring.desc[head].flags, NEXT);
	ck_assert_int_eq(virtqueue_add(dir, sg, 1, 1, &tokens[4], VQ_INDIRECT), -VIRTIO_EINVAL);
}
END_TEST

START_TEST(add_refuses_what_cannot_be_posted)
{
	struct virtqueue *vq = make_vq(4, false, true);
	struct virtio_sg sg[8];

	for (unsigned int i = 0; i < 8; i++)
		sg[i] = virtio_sg_buf(&tokens[i], 4);
	ck_assert_int_eq(virtqueue_add(vq, sg, 0, 0, &tokens[0], VQ_AUTO), -VIRTIO_EINVAL);
	ck_assert_int_eq(virtqueue_add(vq, sg, 1, 0, NULL, VQ_AUTO), -VIRTIO_EINVAL);
	/* Longer than the queue, even through a table (2.7.5.3.1). */
	ck_assert_int_eq(virtqueue_add(vq, sg, 3, 2, &tokens[0], VQ_INDIRECT), -VIRTIO_EINVAL);
	ck_assert_int_eq(virtqueue_add(vq, sg, 3, 0, &tokens[0], VQ_DIRECT), 0);
	ck_assert_int_eq(virtqueue_add(vq, sg, 2, 0, &tokens[1], VQ_DIRECT), -VIRTIO_ENOSPC);
	ck_assert_int_ge(virtqueue_add(vq, sg, 4, 0, &tokens[1], VQ_INDIRECT), 0);
	ck_assert_uint_eq(virtqueue_num_free(vq), 0);
	ck_assert_int_eq(virtqueue_add(vq, sg, 1, 0, &tokens[2], VQ_AUTO), -VIRTIO_ENOSPC);
}
END_TEST

/* Fill the queue with chains of 1 to 3 buffers, then return them in a shuffled order. */
static void fill_and_drain(struct fake_ring *r, unsigned int round)
{
	uint16_t heads[64];
	int *tok[64];
	bool seen[64] = {false};
	unsigned int n = 0;
	struct virtio_sg sg[3];
	struct chain ch;

	for (unsigned int i = 0; i < 3; i++)
		sg[i] = virtio_sg_buf(&tokens[i], 8);
	for (;;) {
		unsigned int len = 1 + (round + n) % 3;
		int *t = &tokens[100 + n];
		int head = virtqueue_add(r->vq, sg, len - 1, 1, t, VQ_DIRECT);

		if (head == -VIRTIO_ENOSPC)
			break;
		expect_eq(head >= 0, 1);
		ck_assert(dev_pop(r, &ch));
		/* No descriptor is in two chains at once. */
		for (unsigned int k = 0; k < ch.n; k++) {
			expect_eq(seen[ch.ids[k]], 0);
			seen[ch.ids[k]] = true;
		}
		expect_eq(ch.head, head);
		heads[n] = ch.head;
		tok[n++] = t;
	}
	expect_eq(n > 0, 1);
	for (unsigned int k = 0; k < n; k++) {
		unsigned int pick = (k * 7 + round) % n;

		while (!tok[pick])
			pick = (pick + 1) % n;
		dev_push(r, heads[pick], 1);
		expect_eq(virtqueue_get_buf(r->vq, NULL), tok[pick]);
		tok[pick] = NULL;
	}
	expect_eq(virtqueue_num_free(r->vq), r->vq->vring.num);
}

START_TEST(free_list_reuses_descriptors)
{
	struct fake_ring r = {.vq = make_vq(16, false, false)};

	for (unsigned int round = 0; round < 2000; round++)
		fill_and_drain(&r, round);
	ck_assert(!virtqueue_is_broken(r.vq));
	ck_assert_uint_eq(r.vq->in_flight, 0);
}
END_TEST

START_TEST(indirect_tables_are_reused)
{
	struct fake_ring r = {.vq = make_vq(4, false, true)};
	struct virtio_sg sg[4];
	struct chain ch;
	uint64_t before;

	for (unsigned int i = 0; i < 4; i++)
		sg[i] = virtio_sg_buf(&tokens[i], 8);
	virtqueue_add(r.vq, sg, 2, 2, &tokens[0], VQ_INDIRECT);
	dev_pop(&r, &ch);
	dev_push(&r, ch.head, 0);
	virtqueue_get_buf(r.vq, NULL);
	before = arena_used;
	/* Ten thousand more chains through the tables already made: no allocation. */
	for (unsigned int i = 0; i < 10000; i++) {
		expect_eq(virtqueue_add(r.vq, sg, 2, 2, &tokens[1], VQ_INDIRECT) >= 0, 1);
		dev_pop(&r, &ch);
		dev_push(&r, ch.head, 16);
		expect_eq(virtqueue_get_buf(r.vq, NULL), &tokens[1]);
	}
	ck_assert_uint_le(arena_used - before, 4 * 8 * sizeof(struct vring_desc));
}
END_TEST

START_TEST(detach_unused_returns_posted_chains)
{
	struct virtqueue *vq = make_vq(8, false, false);
	struct virtio_sg sg = virtio_sg_buf(tokens, 4);
	unsigned int found = 0;
	void *t;

	for (unsigned int i = 0; i < 3; i++)
		virtqueue_add(vq, &sg, 1, 0, &tokens[i], VQ_DIRECT);
	while ((t = virtqueue_detach_unused_buf(vq)))
		found |= 1u << ((int *)t - tokens);
	ck_assert_uint_eq(found, 7);
	ck_assert_uint_eq(virtqueue_num_free(vq), 8);
}
END_TEST

/* What the device returns. */

START_TEST(used_id_out_of_range_breaks_the_queue)
{
	struct fake_ring r = {.vq = make_vq(8, false, false)};
	struct virtio_sg sg = virtio_sg_buf(tokens, 4);

	virtqueue_add(r.vq, &sg, 0, 1, &tokens[0], VQ_DIRECT);
	dev_push(&r, 11, 4);
	ck_assert_ptr_null(virtqueue_get_buf(r.vq, NULL));
	ck_assert(virtqueue_is_broken(r.vq));
	ck_assert_ptr_nonnull(strstr(r.vq->error, "out of range"));
	ck_assert_ptr_nonnull(strstr(last_msg, "out of range"));
	ck_assert_uint_eq(r.vq->stats.bad_used, 1);
	/* Broken for good: nothing more is taken or posted. */
	dev_push(&r, 0, 4);
	ck_assert_ptr_null(virtqueue_get_buf(r.vq, NULL));
	ck_assert_int_eq(virtqueue_add(r.vq, &sg, 1, 0, &tokens[1], VQ_DIRECT), -VIRTIO_EBROKEN);
}
END_TEST

START_TEST(used_id_naming_a_free_descriptor_is_not_followed)
{
	struct fake_ring r = {.vq = make_vq(8, false, false)};
	struct virtio_sg sg = virtio_sg_buf(tokens, 4);

	virtqueue_add(r.vq, &sg, 0, 1, &tokens[0], VQ_DIRECT);
	dev_push(&r, 5, 0);
	ck_assert_ptr_null(virtqueue_get_buf(r.vq, NULL));
	ck_assert(virtqueue_is_broken(r.vq));
	ck_assert_ptr_nonnull(strstr(r.vq->error, "starts no posted chain"));
	ck_assert_uint_eq(virtqueue_num_free(r.vq), 7);
}
END_TEST

START_TEST(used_id_inside_a_chain_is_rejected)
{
	struct fake_ring r = {.vq = make_vq(8, false, false)};
	struct virtio_sg sg[3] = {virtio_sg_buf(tokens, 4), virtio_sg_buf(tokens, 4),
				  virtio_sg_buf(tokens, 4)};
	struct chain ch;

	virtqueue_add(r.vq, sg, 3, 0, &tokens[0], VQ_DIRECT);
	dev_pop(&r, &ch);
	dev_push(&r, ch.ids[1], 0);
	ck_assert_ptr_null(virtqueue_get_buf(r.vq, NULL));
	ck_assert(virtqueue_is_broken(r.vq));
}
END_TEST

START_TEST(used_id_returned_twice_is_rejected)
{
	struct fake_ring r = {.vq = make_vq(8, false, false)};
	struct virtio_sg sg = virtio_sg_buf(tokens, 4);

	virtqueue_add(r.vq, &sg, 1, 0, &tokens[0], VQ_DIRECT);
	virtqueue_add(r.vq, &sg, 1, 0, &tokens[1], VQ_DIRECT);
	dev_push(&r, 0, 0);
	dev_push(&r, 0, 0);
	ck_assert_ptr_eq(virtqueue_get_buf(r.vq, NULL), &tokens[0]);
	ck_assert_ptr_null(virtqueue_get_buf(r.vq, NULL));
	ck_assert(virtqueue_is_broken(r.vq));
}
END_TEST

START_TEST(used_index_ahead_of_posted_chains_is_rejected)
{
	struct fake_ring r = {.vq = make_vq(8, false, false)};
	struct virtio_sg sg = virtio_sg_buf(tokens, 4);

	virtqueue_add(r.vq, &sg, 1, 0, &tokens[0], VQ_DIRECT);
	dev_push(&r, 0, 0);
	r.vq->vring.used->idx = 2;
	ck_assert_ptr_null(virtqueue_get_buf(r.vq, NULL));
	ck_assert(virtqueue_is_broken(r.vq));
	ck_assert_ptr_nonnull(strstr(r.vq->error, "entries past"));
}
END_TEST

START_TEST(used_len_beyond_writable_bytes_is_clamped)
{
	struct fake_ring r = {.vq = make_vq(8, false, true)};
	struct virtio_sg sg[] = {virtio_sg_buf(tokens, 4), virtio_sg_buf(tokens, 10)};
	uint32_t len;

	virtqueue_add(r.vq, sg, 1, 1, &tokens[0], VQ_INDIRECT);
	virtqueue_add(r.vq, sg, 1, 0, &tokens[1], VQ_DIRECT);
	dev_push(&r, 0, 11);
	dev_push(&r, 1, 1);
	ck_assert_ptr_eq(virtqueue_get_buf(r.vq, &len), &tokens[0]);
	ck_assert_uint_eq(len, 10);
	ck_assert_ptr_eq(virtqueue_get_buf(r.vq, &len), &tokens[1]);
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_eq(r.vq->stats.bad_len, 2);
	ck_assert(!virtqueue_is_broken(r.vq));
	ck_assert_ptr_nonnull(strstr(r.vq->error, "used len 11"));
}
END_TEST

START_TEST(raw_posts_use_reserved_descriptors)
{
	struct fake_ring r = {.vq = make_vq(8, false, false)};
	struct virtio_sg sg = virtio_sg_buf(tokens, 4);
	struct vring_used_elem e;
	uint16_t ids[2];
	struct chain ch;

	ck_assert_int_eq(virtqueue_reserve_desc(r.vq, ids, 2), 0);
	ck_assert_uint_eq(virtqueue_num_free(r.vq), 6);
	/* A loop: no correct driver posts one. */
	ck_assert_int_eq(vring_write_desc(r.vq, ids[0], 0x1000, 8, NEXT, ids[1]), 0);
	ck_assert_int_eq(vring_write_desc(r.vq, ids[1], 0x2000, 8, NEXT, ids[0]), 0);
	ck_assert_int_eq(vring_write_desc(r.vq, 8, 0, 0, 0, 0), -VIRTIO_EINVAL);
	vring_post_raw(r.vq, ids[0]);
	ck_assert_uint_eq(r.vq->vring.avail->idx, 1);
	ck_assert_uint_eq(r.vq->vring.avail->ring[0], ids[0]);
	/* Ordinary adds stay clear of the reserved ones. */
	for (unsigned int i = 0; i < 6; i++)
		ck_assert_int_ge(virtqueue_add(r.vq, &sg, 1, 0, &tokens[i], VQ_DIRECT), 0);
	for (unsigned int i = 0; i < 6; i++) {
		r.last_avail = (uint16_t)(1 + i);
		dev_pop(&r, &ch);
		ck_assert_uint_ne(ch.head, ids[0]);
		ck_assert_uint_ne(ch.head, ids[1]);
	}
	/* The device's answer about them is taken raw; get_buf() would refuse it. */
	dev_push(&r, ids[0], 0);
	ck_assert(vring_pop_used_raw(r.vq, &e));
	ck_assert_uint_eq(e.id, ids[0]);
	ck_assert(!vring_pop_used_raw(r.vq, &e));
	dev_push(&r, ids[1], 0);
	ck_assert_ptr_null(virtqueue_get_buf(r.vq, NULL));
	ck_assert_ptr_nonnull(strstr(r.vq->error, "reserved"));
	virtqueue_release_desc(r.vq, ids, 2);
	ck_assert_uint_eq(virtqueue_num_free(r.vq), 2);
	vring_set_avail_idx_raw(r.vq, 300);
	ck_assert_uint_eq(r.vq->vring.avail->idx, 300);
}
END_TEST

/* Notifications and interrupts. */

START_TEST(kick_honours_no_notify_without_event_idx)
{
	struct virtqueue *vq = make_vq(8, false, false);
	struct virtio_sg sg = virtio_sg_buf(tokens, 4);

	virtqueue_add(vq, &sg, 1, 0, &tokens[0], VQ_AUTO);
	ck_assert(virtqueue_kick_prepare(vq));
	vq->vring.used->flags = VRING_USED_F_NO_NOTIFY;
	virtqueue_add(vq, &sg, 1, 0, &tokens[1], VQ_AUTO);
	ck_assert(!virtqueue_kick_prepare(vq));
	ck_assert_uint_eq(vq->stats.kicks_suppressed, 1);
	ck_assert(virtqueue_kick(vq));
	ck_assert_uint_eq(vq->stats.notifies, 0);
	vq->vring.used->flags = 0;
	ck_assert(virtqueue_kick(vq));
	ck_assert_uint_eq(vq->stats.notifies, 1);
}
END_TEST

/* Without EVENT_IDX only the flag counts, whatever the indices do across the wrap. */
START_TEST(kick_without_event_idx_across_wrap)
{
	struct fake_ring r = {.vq = make_vq(4, false, false)};
	struct virtio_sg sg = virtio_sg_buf(tokens, 4);
	unsigned int adds = 0, wraps = 0;
	struct chain ch;

	for (unsigned int it = 0; adds < 70000; it++) {
		unsigned int batch = 1 + it % 4;
		bool no_notify = it % 3 == 1;
		uint16_t old = r.vq->avail_idx;

		r.vq->vring.used->flags = no_notify ? VRING_USED_F_NO_NOTIFY : 0;
		/* A stale avail_event must not matter. */
		vring_avail_event(&r.vq->vring) = (uint16_t)(old + 1000);
		for (unsigned int b = 0; b < batch; b++)
			expect_eq(virtqueue_add(r.vq, &sg, 1, 0, &tokens[b], VQ_AUTO) >= 0, 1);
		wraps += (uint16_t)(old + batch) < old;
		expect_eq(virtqueue_kick_prepare(r.vq), !no_notify);
		adds += batch;
		while (dev_pop(&r, &ch))
			dev_push(&r, ch.head, 0);
		while (virtqueue_get_buf(r.vq, NULL))
			;
	}
	ck_assert_uint_ge(wraps, 1);
	ck_assert(!virtqueue_is_broken(r.vq));
}
END_TEST

/*
 * With EVENT_IDX, across more than 2^16 adds in batches of 1 to 4: the
 * device puts avail_event just before, at, inside or past each batch, and
 * kick_prepare() must say yes exactly when it lies inside [old, new).
 */
START_TEST(kick_honours_avail_event_across_wrap)
{
	static const int offsets[] = {-1, 0, 1, 2, 3, 4, 100};
	struct fake_ring r = {.vq = make_vq(4, true, false)};
	struct virtio_sg sg = virtio_sg_buf(tokens, 4);
	unsigned int adds = 0, kicks = 0, wraps = 0;
	struct chain ch;

	for (unsigned int it = 0; adds < 70000; it++) {
		unsigned int batch = 1 + it % 4;
		int off = offsets[it % TG_ARRAY_SIZE(offsets)];
		uint16_t old = r.vq->avail_idx;
		bool want = off >= 0 && off < (int)batch;

		vring_avail_event(&r.vq->vring) = (uint16_t)(old + off);
		for (unsigned int b = 0; b < batch; b++)
			expect_eq(virtqueue_add(r.vq, &sg, 1, 0, &tokens[b], VQ_AUTO) >= 0, 1);
		wraps += (uint16_t)(old + batch) < old;
		expect_eq(virtqueue_kick_prepare(r.vq), want);
		kicks += want;
		adds += batch;
		while (dev_pop(&r, &ch))
			dev_push(&r, ch.head, 0);
		while (virtqueue_get_buf(r.vq, NULL))
			;
	}
	ck_assert_uint_ge(wraps, 1);
	ck_assert_uint_eq(r.vq->stats.kicks - r.vq->stats.kicks_suppressed, kicks);
	ck_assert(!virtqueue_is_broken(r.vq));
}
END_TEST

START_TEST(callbacks_toggle_no_interrupt_without_event_idx)
{
	struct fake_ring r = {.vq = make_vq(8, false, false)};
	struct virtio_sg sg = virtio_sg_buf(tokens, 4);
	struct chain ch;

	virtqueue_disable_cb(r.vq);
	ck_assert_uint_eq(r.vq->vring.avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
	ck_assert(virtqueue_enable_cb(r.vq));
	ck_assert_uint_eq(r.vq->vring.avail->flags, 0);
	virtqueue_add(r.vq, &sg, 1, 0, &tokens[0], VQ_AUTO);
	dev_pop(&r, &ch);
	dev_push(&r, ch.head, 0);
	/* An entry is waiting: enabling says so, the caller must not sleep. */
	virtqueue_disable_cb(r.vq);
	ck_assert(!virtqueue_enable_cb(r.vq));
	ck_assert_ptr_eq(virtqueue_get_buf(r.vq, NULL), &tokens[0]);
	ck_assert(virtqueue_enable_cb(r.vq));
}
END_TEST

/*
 * With EVENT_IDX, over more than 2^16 completions: while callbacks are on
 * every completion interrupts (used_event follows the next entry), while
 * they are off none does (used_event stays one behind where they went off),
 * and avail->flags is never used.
 */
START_TEST(callbacks_move_used_event_across_wrap)
{
	struct fake_ring r = {.vq = make_vq(8, true, false)};
	struct virtio_sg sg = virtio_sg_buf(tokens, 4);
	unsigned int interrupts = 0, done = 0;
	uint16_t off_event = 0;
	struct chain ch;

	for (unsigned int it = 0; done < 70000; it++) {
		bool on = (it / 3) % 2;
		unsigned int batch = 1 + it % 5;

		if (on) {
			expect_eq(virtqueue_enable_cb(r.vq), 1);
		} else {
			virtqueue_disable_cb(r.vq);
			off_event = (uint16_t)(r.vq->last_used_idx - 1);
		}
		for (unsigned int b = 0; b < batch; b++)
			virtqueue_add(r.vq, &sg, 1, 0, &tokens[b], VQ_AUTO);
		while (dev_pop(&r, &ch)) {
			uint16_t old = r.used_idx;
			bool irq;

			dev_push(&r, ch.head, 0);
			irq = dev_should_interrupt(&r, old, r.used_idx);
			/* Callbacks on: the first completion after a catch-up interrupts. */
			expect_eq(irq, on && old == r.vq->last_used_idx);
			interrupts += irq;
		}
		for (unsigned int b = 0; b < batch; b++) {
			expect_eq(virtqueue_get_buf(r.vq, NULL) != NULL, 1);
			expect_eq(vring_used_event(&r.vq->vring),
				  on ? r.vq->last_used_idx : off_event);
		}
		expect_eq(r.vq->vring.avail->flags, 0);
		done += batch;
	}
	ck_assert_uint_gt(interrupts, 0);
	ck_assert_uint_lt(r.vq->last_used_idx, 70000 - 65536 + 8);
}
END_TEST

/*
 * Callbacks off while the driver consumes as the device works (a polled
 * transmit queue): the device checks once per batch of two, the driver has
 * taken the first by then. used_event moved along one behind would sit
 * inside each batch's span and ask for an interrupt per batch.
 */
START_TEST(callbacks_off_hold_while_consuming)
{
	struct fake_ring r = {.vq = make_vq(8, true, false)};
	struct virtio_sg sg = virtio_sg_buf(tokens, 4);
	unsigned int interrupts = 0;
	uint16_t checked = 0;
	struct chain ch;

	virtqueue_disable_cb(r.vq);
	for (unsigned int it = 0; it < 1000; it++) {
		for (unsigned int b = 0; b < 2; b++)
			virtqueue_add(r.vq, &sg, 1, 0, &tokens[b], VQ_AUTO);
		expect_eq(dev_pop(&r, &ch), 1);
		dev_push(&r, ch.head, 0);
		expect_eq(virtqueue_get_buf(r.vq, NULL) != NULL, 1);
		expect_eq(dev_pop(&r, &ch), 1);
		dev_push(&r, ch.head, 0);
		interrupts += dev_should_interrupt(&r, checked, r.used_idx);
		checked = r.used_idx;
		expect_eq(virtqueue_get_buf(r.vq, NULL) != NULL, 1);
	}
	ck_assert_uint_eq(interrupts, 0);
}
END_TEST

static unsigned int callback_calls;

static void count_callback(struct virtqueue *vq)
{
	(void)vq;
	callback_calls++;
}

START_TEST(interrupt_runs_the_callback_when_entries_came)
{
	struct fake_ring r = {.vq = make_vq(8, false, false)};
	struct virtio_sg sg = virtio_sg_buf(tokens, 4);
	struct chain ch;

	callback_calls = 0;
	r.vq->callback = count_callback;
	ck_assert(!vring_interrupt(r.vq));
	virtqueue_add(r.vq, &sg, 1, 0, &tokens[0], VQ_AUTO);
	dev_pop(&r, &ch);
	dev_push(&r, ch.head, 0);
	ck_assert(vring_interrupt(r.vq));
	ck_assert_uint_eq(callback_calls, 1);
	ck_assert_uint_eq(r.vq->stats.interrupts, 1);
}
END_TEST

/* The bus, against a fake transport. */

struct fake_dev {
	struct virtio_device vdev;
	uint64_t offered, written;
	uint8_t status;
	uint8_t log[16]; /* every status written */
	unsigned int nlog;
	bool refuse_features_ok, refuse_driver_ok, refuse_queue, reset_hangs;
	uint8_t config[64];
	uint32_t generation;
	unsigned int generation_bumps; /* the next config reads each move the generation */
	unsigned int queue_max[4];
	unsigned int queue_num[4];
	unsigned int notifies;
	uint32_t isr;
};

static struct fake_dev *fake_of(struct virtio_device *vdev)
{
	return virtio_container_of(vdev, struct fake_dev, vdev);
}

static void fake_get(struct virtio_device *vdev, unsigned int off, void *buf, unsigned int len)
{
	struct fake_dev *f = fake_of(vdev);

	memcpy(buf, f->config + off, len);
	if (f->generation_bumps) {
		f->generation_bumps--;
		f->generation++;
	}
}

static void fake_set(struct virtio_device *vdev, unsigned int off, const void *buf,
		     unsigned int len)
{
	memcpy(fake_of(vdev)->config + off, buf, len);
}

static uint32_t fake_generation(struct virtio_device *vdev)
{
	return fake_of(vdev)->generation;
}

static uint8_t fake_get_status(struct virtio_device *vdev)
{
	return fake_of(vdev)->status;
}

static void fake_set_status(struct virtio_device *vdev, uint8_t status)
{
	struct fake_dev *f = fake_of(vdev);

	if (f->nlog < TG_ARRAY_SIZE(f->log))
		f->log[f->nlog++] = status;
	if (f->refuse_features_ok)
		status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	if (f->refuse_driver_ok && (status & VIRTIO_STATUS_DRIVER_OK))
		status = (uint8_t)((status & ~VIRTIO_STATUS_DRIVER_OK) |
				   VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	f->status = status;
}

static int fake_reset(struct virtio_device *vdev)
{
	struct fake_dev *f = fake_of(vdev);

	fake_set_status(vdev, 0);
	return f->reset_hangs ? -VIRTIO_ETIMEDOUT : 0;
}

static uint64_t fake_get_features(struct virtio_device *vdev)
{
	return fake_of(vdev)->offered;
}

static int fake_finalize(struct virtio_device *vdev)
{
	fake_of(vdev)->written = vdev->features;
	return 0;
}

static unsigned int fake_queue_max(struct virtio_device *vdev, unsigned int index)
{
	return index < 4 ? fake_of(vdev)->queue_max[index] : 0;
}

static int fake_setup_vq(struct virtio_device *vdev, struct virtqueue *vq)
{
	struct fake_dev *f = fake_of(vdev);

	if (f->refuse_queue)
		return -VIRTIO_EREFUSED;
	f->queue_num[vq->index] = vq->vring.num;
	return 0;
}

static bool fake_notify(struct virtqueue *vq)
{
	fake_of(vq->vdev)->notifies++;
	return true;
}

static uint32_t fake_ack(struct virtio_device *vdev)
{
	struct fake_dev *f = fake_of(vdev);
	uint32_t isr = f->isr;

	f->isr = 0;
	return isr;
}

static const struct virtio_config_ops fake_ops = {
    .get = fake_get,
    .set = fake_set,
    .generation = fake_generation,
    .get_status = fake_get_status,
    .set_status = fake_set_status,
    .reset = fake_reset,
    .get_features = fake_get_features,
    .finalize_features = fake_finalize,
    .queue_max = fake_queue_max,
    .setup_vq = fake_setup_vq,
    .notify = fake_notify,
    .ack_interrupt = fake_ack,
};

#define TEST_DEVICE_ID 42
#define TEST_VENDOR    0x4d4d5621

/* What the test driver saw, and what it is told to do. */
static struct {
	unsigned int validate_calls, probe_calls, scan_calls, remove_calls, config_calls;
	uint8_t status_at_probe, status_at_scan;
	uint64_t features_at_validate;
	int validate_ret, probe_ret;
	int clear_in_validate; /* a bit, or -1 */
	unsigned int nr_queues;
	struct virtqueue *vqs[4];
	unsigned int vq_calls;
} drv_state;

static int test_validate(struct virtio_device *vdev)
{
	drv_state.validate_calls++;
	drv_state.features_at_validate = vdev->features;
	if (drv_state.clear_in_validate >= 0)
		__virtio_clear_bit(vdev, (unsigned int)drv_state.clear_in_validate);
	return drv_state.validate_ret;
}

static void test_vq_done(struct virtqueue *vq)
{
	(void)vq;
	drv_state.vq_calls++;
}

static int test_probe(struct virtio_device *vdev)
{
	drv_state.probe_calls++;
	drv_state.status_at_probe = virtio_status(vdev);
	for (unsigned int q = 0; q < drv_state.nr_queues; q++) {
		drv_state.vqs[q] = virtio_find_vq(vdev, q, test_vq_done, "q");
		if (!drv_state.vqs[q])
			return vdev->probe_err;
	}
	return drv_state.probe_ret;
}

static void test_scan(struct virtio_device *vdev)
{
	drv_state.scan_calls++;
	drv_state.status_at_scan = virtio_status(vdev);
}

static void test_remove(struct virtio_device *vdev)
{
	(void)vdev;
	drv_state.remove_calls++;
}

static void test_config_changed(struct virtio_device *vdev)
{
	(void)vdev;
	drv_state.config_calls++;
}

static const unsigned int test_table[] = {0, 5, 9};
static const struct virtio_feature_name test_names[] = {
    {0, "alpha"}, {5, "beta"}, {9, "gamma"}, {0, NULL}};
static const struct virtio_device_id test_ids[] = {{TEST_DEVICE_ID, VIRTIO_DEV_ANY_ID}, {0, 0}};

static struct virtio_driver test_driver = {
    .name = "test_drv",
    .id_table = test_ids,
    .feature_table = test_table,
    .feature_table_size = TG_ARRAY_SIZE(test_table),
    .feature_names = test_names,
    .validate = test_validate,
    .probe = test_probe,
    .scan = test_scan,
    .remove = test_remove,
    .config_changed = test_config_changed,
};

static struct fake_dev fake;

#define RING_BITS                                                                                  \
	(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_RING_F_EVENT_IDX))

static void bus_setup(void)
{
	runtime_setup();
	memset(&fake, 0, sizeof(fake));
	memset(&drv_state, 0, sizeof(drv_state));
	drv_state.clear_in_validate = -1;
	fake.vdev.config = &fake_ops;
	fake.vdev.id = (struct virtio_device_id){TEST_DEVICE_ID, TEST_VENDOR};
	fake.vdev.has_irq = true;
	fake.vdev.irq = 17;
	fake.offered = BIT(0) | BIT(5) | BIT(7) | RING_BITS | BIT(VIRTIO_F_RING_PACKED) | BIT(30);
	for (unsigned int q = 0; q < 4; q++)
		fake.queue_max[q] = 256;
	virtio_set_global_clear(NULL);
}

/* The bus is global: leave it empty for the next test (when Check does not fork). */
static void bus_teardown(void)
{
	struct virtio_device *vdev;

	while ((vdev = virtio_next_device(NULL)))
		virtio_unregister_device(vdev);
	virtio_unregister_driver(&test_driver);
	virtio_set_global_clear(NULL);
}

static int register_both(void)
{
	virtio_register_driver(&test_driver);
	return virtio_register_device(&fake.vdev);
}

START_TEST(probe_negotiates_driver_and_transport_features)
{
	static const uint8_t steps[] = {
	    0,
	    VIRTIO_STATUS_ACKNOWLEDGE,
	    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER,
	    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK,
	    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		VIRTIO_STATUS_DRIVER_OK,
	};
	uint64_t want = BIT(0) | BIT(5) | RING_BITS;

	ck_assert_int_eq(register_both(), 0);
	ck_assert_ptr_eq(fake.vdev.driver, &test_driver);
	/* Bit 7 is not the driver's, 9 not offered, packed ring and bit 30 not the ring's. */
	ck_assert_uint_eq(fake.vdev.features, want);
	ck_assert_uint_eq(fake.written, want);
	ck_assert_uint_eq(fake.vdev.device_features, fake.offered);
	ck_assert_uint_eq(fake.nlog, TG_ARRAY_SIZE(steps));
	ck_assert_mem_eq(fake.log, steps, sizeof(steps));
	/* validate saw every transport bit offered; probe ran at FEATURES_OK, scan at DRIVER_OK. */
	ck_assert_uint_eq(drv_state.validate_calls, 1);
	ck_assert_uint_eq(drv_state.features_at_validate,
			  want | BIT(VIRTIO_F_RING_PACKED) | BIT(30));
	ck_assert_uint_eq(drv_state.probe_calls, 1);
	ck_assert_uint_eq(drv_state.status_at_probe, steps[3]);
	ck_assert_uint_eq(drv_state.scan_calls, 1);
	ck_assert_uint_eq(drv_state.status_at_scan, steps[4]);
	ck_assert_int_eq(fake.vdev.probe_err, 0);
	ck_assert(virtio_has_feature(&fake.vdev, VIRTIO_RING_F_EVENT_IDX));
	ck_assert(!virtio_has_feature(&fake.vdev, 7));
	ck_assert(!virtio_has_feature(&fake.vdev, 200));
}
END_TEST

START_TEST(probe_keeps_only_transport_bits_offered)
{
	fake.offered = BIT(5) | BIT(VIRTIO_F_VERSION_1);
	ck_assert_int_eq(register_both(), 0);
	ck_assert_uint_eq(fake.written, BIT(5) | BIT(VIRTIO_F_VERSION_1));
}
END_TEST

START_TEST(validate_may_clear_a_feature)
{
	drv_state.clear_in_validate = 5;
	drv_state.nr_queues = 1;
	ck_assert_int_eq(register_both(), 0);
	ck_assert_uint_eq(fake.written, BIT(0) | RING_BITS);
	ck_assert(!virtio_has_feature(&fake.vdev, 5));
	/* Clearing a ring feature reaches the queues too. */
	drv_state.clear_in_validate = VIRTIO_RING_F_EVENT_IDX;
	ck_assert_int_eq(virtio_reprobe(&fake.vdev, NULL), 0);
	ck_assert(!drv_state.vqs[0]->event_idx);
	ck_assert(drv_state.vqs[0]->indirect);
}
END_TEST

START_TEST(validate_refusing_fails_the_probe)
{
	drv_state.validate_ret = -VIRTIO_EINVAL;
	ck_assert_int_eq(register_both(), -VIRTIO_EINVAL);
	ck_assert_ptr_null(fake.vdev.driver);
	ck_assert_uint_eq(drv_state.probe_calls, 0);
	ck_assert(fake.status & VIRTIO_STATUS_FAILED);
	ck_assert(!(fake.status & VIRTIO_STATUS_FEATURES_OK));
	ck_assert_ptr_nonnull(strstr(fake.vdev.probe_error, "validate"));
}
END_TEST

START_TEST(features_ok_refused_is_reported)
{
	fake.refuse_features_ok = true;
	ck_assert_int_eq(register_both(), -VIRTIO_EREFUSED);
	ck_assert_int_eq(fake.vdev.probe_err, -VIRTIO_EREFUSED);
	ck_assert_ptr_nonnull(strstr(fake.vdev.probe_error, "FEATURES_OK"));
	ck_assert_ptr_nonnull(strstr(last_msg, "FEATURES_OK"));
	ck_assert_ptr_null(fake.vdev.driver);
	ck_assert_uint_eq(drv_state.probe_calls, 0);
	ck_assert_uint_eq(drv_state.scan_calls, 0);
	ck_assert(fake.status & VIRTIO_STATUS_FAILED);
}
END_TEST

START_TEST(driver_ok_refused_unwinds_the_driver)
{
	fake.refuse_driver_ok = true;
	drv_state.nr_queues = 2;
	ck_assert_int_eq(register_both(), -VIRTIO_EREFUSED);
	ck_assert_ptr_nonnull(strstr(fake.vdev.probe_error, "DRIVER_OK"));
	ck_assert_uint_eq(drv_state.probe_calls, 1);
	ck_assert_uint_eq(drv_state.remove_calls, 1);
	ck_assert_uint_eq(drv_state.scan_calls, 0);
	ck_assert(virtio_list_empty(&fake.vdev.vqs));
	ck_assert_ptr_null(fake.vdev.driver);
}
END_TEST

START_TEST(driver_probe_failing_fails_the_probe)
{
	drv_state.probe_ret = -VIRTIO_ENODEV;
	ck_assert_int_eq(register_both(), -VIRTIO_ENODEV);
	ck_assert_uint_eq(drv_state.remove_calls, 0);
	ck_assert(fake.status & VIRTIO_STATUS_FAILED);
	ck_assert(!(fake.status & VIRTIO_STATUS_DRIVER_OK));
}
END_TEST

START_TEST(reset_that_never_completes_fails_the_probe)
{
	fake.reset_hangs = true;
	ck_assert_int_eq(register_both(), -VIRTIO_ETIMEDOUT);
	ck_assert_uint_eq(drv_state.validate_calls, 0);
}
END_TEST

START_TEST(opts_clear_force_and_replace_the_table)
{
	struct virtio_probe_opts opts = {.clear = BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(0)};
	static const unsigned int only7[] = {7};

	ck_assert_int_eq(register_both(), 0);
	ck_assert_int_eq(virtio_reprobe(&fake.vdev, &opts), 0);
	ck_assert_uint_eq(fake.written,
			  BIT(5) | BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_INDIRECT_DESC));
	ck_assert_uint_eq(drv_state.remove_calls, 1);
	ck_assert_uint_eq(drv_state.probe_calls, 2);
	/* Forced bits go out even when not offered (the device may then refuse). */
	opts = (struct virtio_probe_opts){.force = BIT(7) | BIT(50)};
	ck_assert_int_eq(virtio_reprobe(&fake.vdev, &opts), 0);
	ck_assert_uint_eq(fake.written, BIT(0) | BIT(5) | BIT(7) | BIT(50) | RING_BITS);
	opts = (struct virtio_probe_opts){.feature_table = only7, .feature_table_size = 1};
	ck_assert_int_eq(virtio_reprobe(&fake.vdev, &opts), 0);
	ck_assert_uint_eq(fake.written, BIT(7) | RING_BITS);
	opts = (struct virtio_probe_opts){.feature_table = only7, .feature_table_size = 0};
	ck_assert_int_eq(virtio_reprobe(&fake.vdev, &opts), 0);
	ck_assert_uint_eq(fake.written, RING_BITS);
}
END_TEST

START_TEST(global_clear_by_name)
{
	virtio_register_driver(&test_driver);
	ck_assert_int_eq(virtio_set_global_clear("event_idx,beta"), 0);
	ck_assert_int_eq(virtio_set_global_clear("event_idx,nosuch"), -VIRTIO_EINVAL);
	ck_assert_int_eq(virtio_register_device(&fake.vdev), 0);
	ck_assert_uint_eq(fake.written,
			  BIT(0) | BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_INDIRECT_DESC));
	ck_assert_int_eq(virtio_set_global_clear("INDIRECT 0"), 0);
	ck_assert_int_eq(virtio_reprobe(&fake.vdev, NULL), 0);
	ck_assert_uint_eq(fake.written,
			  BIT(5) | BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX));
	ck_assert_int_eq(virtio_set_global_clear(""), 0);
	ck_assert_int_eq(virtio_reprobe(&fake.vdev, NULL), 0);
	ck_assert_uint_eq(fake.written, BIT(0) | BIT(5) | RING_BITS);
}
END_TEST

START_TEST(feature_names_parse_and_format)
{
	uint64_t bits;
	char buf[128];

	ck_assert_int_eq(virtio_parse_features("indirect, 29+gamma", &test_driver, &bits, false),
			 0);
	ck_assert_uint_eq(bits, BIT(28) | BIT(29) | BIT(9));
	ck_assert_int_eq(virtio_parse_features("gamma", NULL, &bits, false), -VIRTIO_EINVAL);
	ck_assert_int_eq(virtio_parse_features("gamma,version_1", NULL, &bits, true), 0);
	ck_assert_uint_eq(bits, BIT(VIRTIO_F_VERSION_1));
	ck_assert_int_eq(virtio_parse_features("64", NULL, &bits, false), -VIRTIO_EINVAL);
	virtio_format_features(buf, sizeof(buf), BIT(0) | BIT(3) | BIT(29) | BIT(32), &test_driver);
	ck_assert_str_eq(buf, "alpha bit3 event_idx version_1");
	virtio_format_features(buf, 8, BIT(0) | BIT(3) | BIT(29) | BIT(32), &test_driver);
	ck_assert_uint_lt(strlen(buf), 8);
}
END_TEST

START_TEST(match_by_device_and_vendor)
{
	static const struct virtio_device_id vendor_ids[] = {
	    {1, 0x1234}, {2, VIRTIO_DEV_ANY_ID}, {0, 0}};
	static const struct virtio_device_id any_ids[] = {{VIRTIO_DEV_ANY_ID, 0x1234}, {0, 0}};
	struct virtio_driver drv = {.id_table = vendor_ids};
	struct virtio_device dev = {.id = {1, 0x1234}};

	ck_assert(virtio_dev_match(&dev, &drv));
	dev.id.vendor = 0x4321;
	ck_assert(!virtio_dev_match(&dev, &drv));
	dev.id.device = 2;
	ck_assert(virtio_dev_match(&dev, &drv));
	dev.id.device = 3;
	ck_assert(!virtio_dev_match(&dev, &drv));
	drv.id_table = any_ids;
	ck_assert(!virtio_dev_match(&dev, &drv));
	dev.id.vendor = 0x1234;
	ck_assert(virtio_dev_match(&dev, &drv));
}
END_TEST

START_TEST(devices_wait_for_their_driver)
{
	static struct fake_dev other;

	memcpy(&other, &fake, sizeof(other));
	other.vdev.id.device = TEST_DEVICE_ID + 1;
	ck_assert_int_eq(virtio_register_device(&fake.vdev), 0);
	ck_assert_int_eq(virtio_register_device(&other.vdev), 0);
	ck_assert_ptr_null(fake.vdev.driver);
	/* Named in registration order (the count goes on across tests that do not fork). */
	ck_assert_uint_eq(other.vdev.index, fake.vdev.index + 1);
	ck_assert_int_eq(strncmp(fake.vdev.name, "virtio", 6), 0);
	ck_assert_uint_eq(strtoul(fake.vdev.name + 6, NULL, 10), fake.vdev.index);
	virtio_register_driver(&test_driver);
	ck_assert_ptr_eq(fake.vdev.driver, &test_driver);
	ck_assert_ptr_null(other.vdev.driver);
	ck_assert_ptr_eq(virtio_find_device(TEST_DEVICE_ID, 0), &fake.vdev);
	ck_assert_ptr_null(virtio_find_device(TEST_DEVICE_ID, 1));
	ck_assert_ptr_eq(virtio_find_device(TEST_DEVICE_ID + 1, 0), &other.vdev);
	ck_assert_ptr_eq(virtio_next_device(&fake.vdev), &other.vdev);
	ck_assert_ptr_null(virtio_next_device(&other.vdev));
	virtio_unregister_driver(&test_driver);
	ck_assert_ptr_null(fake.vdev.driver);
	ck_assert_uint_eq(drv_state.remove_calls, 1);
	virtio_unregister_device(&other.vdev);
}
END_TEST

START_TEST(config_read_waits_for_a_stable_generation)
{
	uint64_t v = 0x1122334455667788ULL, got;

	memcpy(fake.config + 8, &v, sizeof(v));
	ck_assert_int_eq(register_both(), 0);
	fake.generation_bumps = 2;
	ck_assert_uint_eq(virtio_cread64(&fake.vdev, 8), v);
	ck_assert_uint_eq(fake.vdev.stats.config_retries, 2);
	fake.generation_bumps = 1000;
	ck_assert_int_eq(virtio_cread(&fake.vdev, 8, &got, sizeof(got)), -VIRTIO_EBROKEN);
	ck_assert_uint_eq(got, 0);
	ck_assert_uint_eq(fake.vdev.stats.config_errors, 1);
	virtio_cwrite(&fake.vdev, 20, &v, 4);
	ck_assert_mem_eq(fake.config + 20, &v, 4);
}
END_TEST

START_TEST(find_vq_sizes_and_refusals)
{
	struct virtio_probe_opts opts = {.queue_size = 16};

	fake.queue_max[0] = 100;
	fake.queue_max[1] = 256;
	drv_state.nr_queues = 2;
	ck_assert_int_eq(register_both(), 0);
	ck_assert_uint_eq(fake.queue_num[0], 64);
	ck_assert_uint_eq(fake.queue_num[1], 256);
	ck_assert(drv_state.vqs[0]->event_idx && drv_state.vqs[0]->indirect);
	ck_assert_int_eq(strncmp(drv_state.vqs[1]->name, fake.vdev.name, strlen(fake.vdev.name)),
			 0);
	ck_assert_str_eq(drv_state.vqs[1]->name + strlen(fake.vdev.name), ".q");
	ck_assert_int_eq(virtio_reprobe(&fake.vdev, &opts), 0);
	ck_assert_uint_eq(fake.queue_num[0], 16);
	ck_assert_uint_eq(fake.queue_num[1], 16);
	/* A kick reaches the transport's notify. */
	virtqueue_add(drv_state.vqs[0], &(struct virtio_sg){(uintptr_t)tokens, 4}, 1, 0, &tokens[0],
		      VQ_AUTO);
	ck_assert(virtqueue_kick(drv_state.vqs[0]));
	ck_assert_uint_eq(fake.notifies, 1);
	fake.queue_max[1] = 0;
	ck_assert_int_eq(virtio_reprobe(&fake.vdev, NULL), -VIRTIO_ENODEV);
	ck_assert_ptr_nonnull(strstr(fake.vdev.probe_error, "does not exist"));
	fake.queue_max[1] = 8;
	fake.refuse_queue = true;
	ck_assert_int_eq(virtio_reprobe(&fake.vdev, NULL), -VIRTIO_EREFUSED);
}
END_TEST

START_TEST(interrupt_dispatch_and_routing)
{
	struct virtio_probe_opts opts = {.use_irq = true};
	struct fake_ring r;
	struct chain ch;

	drv_state.nr_queues = 2;
	ck_assert_int_eq(register_both(), 0);
	ck_assert_int_eq(routed_gsi, -1);
	/* Polling: the queues ask for no interrupts. */
	ck_assert_uint_eq(vring_used_event(&drv_state.vqs[0]->vring), 0xffff);
	ck_assert_int_eq(virtio_reprobe(&fake.vdev, &opts), 0);
	ck_assert_int_eq(routed_gsi, 17);
	ck_assert(fake.vdev.irq_routed);
	ck_assert(drv_state.vqs[1]->cb_enabled);

	r = (struct fake_ring){.vq = drv_state.vqs[1]};
	virtqueue_add(r.vq, &(struct virtio_sg){(uintptr_t)tokens, 4}, 1, 0, &tokens[0], VQ_AUTO);
	dev_pop(&r, &ch);
	dev_push(&r, ch.head, 0);
	fake.isr = VIRTIO_ISR_VQ;
	routed_fn(routed_opaque);
	ck_assert_uint_eq(drv_state.vq_calls, 1);
	ck_assert_uint_eq(drv_state.vqs[1]->stats.interrupts, 1);
	ck_assert_uint_eq(drv_state.vqs[0]->stats.interrupts, 0);
	fake.isr = VIRTIO_ISR_CONFIG;
	virtio_interrupt(&fake.vdev);
	ck_assert_uint_eq(drv_state.config_calls, 1);
	virtio_interrupt(&fake.vdev);
	ck_assert_uint_eq(fake.vdev.stats.spurious, 1);
	ck_assert_uint_eq(fake.vdev.stats.interrupts, 3);
	ck_assert_uint_eq(fake.vdev.stats.config_interrupts, 1);

	ck_assert_int_eq(virtio_use_irq(&fake.vdev, false), 0);
	ck_assert_int_eq(routed_gsi, -1);
	ck_assert(!drv_state.vqs[0]->cb_enabled);
	fake.vdev.has_irq = false;
	ck_assert_int_eq(virtio_use_irq(&fake.vdev, true), -VIRTIO_ENODEV);
	fake.vdev.has_irq = true;
	route_fails = true;
	ck_assert_int_eq(virtio_reprobe(&fake.vdev, &opts), -VIRTIO_EBROKEN);
	ck_assert_ptr_nonnull(strstr(fake.vdev.probe_error, "interrupt"));
}
END_TEST

static struct fake_ring *hook_ring;

static void complete_one(void)
{
	struct chain ch;

	if (dev_pop(hook_ring, &ch))
		dev_push(hook_ring, ch.head, 0);
	fake.isr = VIRTIO_ISR_VQ;
}

START_TEST(wait_used_polls_or_sleeps)
{
	struct virtio_probe_opts opts = {.use_irq = true};
	struct fake_ring r;

	drv_state.nr_queues = 1;
	ck_assert_int_eq(register_both(), 0);
	r = (struct fake_ring){.vq = drv_state.vqs[0]};
	virtqueue_add(r.vq, &(struct virtio_sg){(uintptr_t)tokens, 4}, 1, 0, &tokens[0], VQ_AUTO);
	/* Polling, nothing comes: the clock runs out. */
	ck_assert_int_eq(virtio_wait_used(r.vq, 1000000), -VIRTIO_ETIMEDOUT);
	hook_ring = &r;
	complete_one();
	ck_assert_int_eq(virtio_wait_used(r.vq, 1000000), 0);
	ck_assert_ptr_eq(virtqueue_get_buf(r.vq, NULL), &tokens[0]);

	/* With interrupts: asleep until the device completes. */
	ck_assert_int_eq(virtio_reprobe(&fake.vdev, &opts), 0);
	r = (struct fake_ring){.vq = drv_state.vqs[0]};
	ck_assert_int_eq(virtio_wait_used(r.vq, 1000000), -VIRTIO_ETIMEDOUT);
	virtqueue_add(r.vq, &(struct virtio_sg){(uintptr_t)tokens, 4}, 1, 0, &tokens[1], VQ_AUTO);
	hook_ring = &r;
	wait_irq_hook = complete_one;
	ck_assert_int_eq(virtio_wait_used(r.vq, 1000000), 0);
	ck_assert_uint_eq(drv_state.vq_calls, 1);
	ck_assert_ptr_eq(virtqueue_get_buf(r.vq, NULL), &tokens[1]);
	r.vq->broken = true;
	ck_assert_int_eq(virtio_wait_used(r.vq, 1000000), -VIRTIO_EBROKEN);
}
END_TEST

START_TEST(strerror_names_every_error)
{
	for (int e = VIRTIO_ENOSPC; e <= VIRTIO_E2BIG; e++)
		ck_assert_str_ne(virtio_strerror(-e), "unknown error");
	ck_assert_str_eq(virtio_strerror(-1000), "unknown error");
}
END_TEST

Suite *guest_virtio_suite(void)
{
	Suite *s = suite_create("guest_virtio");
	TCase *layout = tcase_create("layout");
	TCase *ring = tcase_create("ring");
	TCase *hostile = tcase_create("hostile");
	TCase *notify = tcase_create("notify");
	TCase *bus = tcase_create("bus");

	tcase_add_checked_fixture(layout, runtime_setup, NULL);
	tcase_add_test(layout, vring_layout_matches_the_spec);
	tcase_add_test(layout, vring_init_on_unaligned_end_of_avail);
	tcase_add_test(layout, need_event_counts_modulo_2_16);
	tcase_add_test(layout, create_refuses_bad_size_or_alignment);
	tcase_add_test(layout, transport_features_keep_what_the_ring_does);
	suite_add_tcase(s, layout);

	tcase_add_checked_fixture(ring, runtime_setup, NULL);
	tcase_add_test(ring, add_direct_chain_and_get_it_back);
	tcase_add_test(ring, add_indirect_chain_takes_one_descriptor);
	tcase_add_test(ring, add_mode_picks_direct_or_indirect);
	tcase_add_test(ring, add_refuses_what_cannot_be_posted);
	tcase_add_test(ring, free_list_reuses_descriptors);
	tcase_add_test(ring, indirect_tables_are_reused);
	tcase_add_test(ring, detach_unused_returns_posted_chains);
	suite_add_tcase(s, ring);

	tcase_add_checked_fixture(hostile, runtime_setup, NULL);
	tcase_add_test(hostile, used_id_out_of_range_breaks_the_queue);
	tcase_add_test(hostile, used_id_naming_a_free_descriptor_is_not_followed);
	tcase_add_test(hostile, used_id_inside_a_chain_is_rejected);
	tcase_add_test(hostile, used_id_returned_twice_is_rejected);
	tcase_add_test(hostile, used_index_ahead_of_posted_chains_is_rejected);
	tcase_add_test(hostile, used_len_beyond_writable_bytes_is_clamped);
	tcase_add_test(hostile, raw_posts_use_reserved_descriptors);
	suite_add_tcase(s, hostile);

	tcase_add_checked_fixture(notify, runtime_setup, NULL);
	tcase_add_test(notify, kick_honours_no_notify_without_event_idx);
	tcase_add_test(notify, kick_without_event_idx_across_wrap);
	tcase_add_test(notify, kick_honours_avail_event_across_wrap);
	tcase_add_test(notify, callbacks_toggle_no_interrupt_without_event_idx);
	tcase_add_test(notify, callbacks_move_used_event_across_wrap);
	tcase_add_test(notify, callbacks_off_hold_while_consuming);
	tcase_add_test(notify, interrupt_runs_the_callback_when_entries_came);
	suite_add_tcase(s, notify);

	tcase_add_checked_fixture(bus, bus_setup, bus_teardown);
	tcase_add_test(bus, probe_negotiates_driver_and_transport_features);
	tcase_add_test(bus, probe_keeps_only_transport_bits_offered);
	tcase_add_test(bus, validate_may_clear_a_feature);
	tcase_add_test(bus, validate_refusing_fails_the_probe);
	tcase_add_test(bus, features_ok_refused_is_reported);
	tcase_add_test(bus, driver_ok_refused_unwinds_the_driver);
	tcase_add_test(bus, driver_probe_failing_fails_the_probe);
	tcase_add_test(bus, reset_that_never_completes_fails_the_probe);
	tcase_add_test(bus, opts_clear_force_and_replace_the_table);
	tcase_add_test(bus, global_clear_by_name);
	tcase_add_test(bus, feature_names_parse_and_format);
	tcase_add_test(bus, match_by_device_and_vendor);
	tcase_add_test(bus, devices_wait_for_their_driver);
	tcase_add_test(bus, config_read_waits_for_a_stable_generation);
	tcase_add_test(bus, find_vq_sizes_and_refusals);
	tcase_add_test(bus, interrupt_dispatch_and_routing);
	tcase_add_test(bus, wait_used_polls_or_sleeps);
	tcase_add_test(bus, strerror_names_every_error);
	suite_add_tcase(s, bus);
	return s;
}
