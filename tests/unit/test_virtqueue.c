// SPDX-License-Identifier: MIT
/*
 * The virtqueue against a driver played by the test: rings in real guest
 * memory, chains posted the way a guest driver posts them, and the ways a
 * hostile driver can get them wrong.
 */
#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#include "core/memory.h"
#include "core/util.h"
#include "devices/virtio/virtqueue.h"
#include "tests/unit/suites.h"
#include "tests/unit/vring_helper.h"

#define MEM_SIZE (16 * MiB)

/* Where the test driver keeps its rings, indirect tables and buffers. */
#define DESC_GPA     0x10000ULL
#define AVAIL_GPA    0x20000ULL
#define USED_GPA     0x30000ULL
#define TABLES_GPA   0x40000ULL /* indirect tables, 4 KiB apart */
#define TABLE_STRIDE 0x1000ULL
#define BUF_GPA	     0x100000ULL

#define NEXT	 VRING_DESC_F_NEXT
#define WRITE	 VRING_DESC_F_WRITE
#define INDIRECT VRING_DESC_F_INDIRECT

static struct guest_mem mem;
static struct virtqueue vq;
static struct vq_chain chain;

/* The driver's side of the queue (vring_helper.h), and its indirect tables. */
static struct vring_driver drv;
static unsigned int nr_tables;

#define OUT(gpa, len) VRING_OUT(gpa, len)
#define IN(gpa, len)  VRING_IN(gpa, len)

/*
 * ck_assert_*() reports every check that passes to the runner, a write each;
 * the helpers that run 65536 times a test check with this instead, which
 * costs nothing until it fails.
 */
#define expect_eq(a, b)                                                                            \
	do {                                                                                       \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);     \
		if (a_ != b_)                                                                      \
			ck_abort_msg("%s == %s failed: 0x%llx != 0x%llx", #a, #b, a_, b_);         \
	} while (0)

static void mem_setup(void)
{
	ck_assert_msg(guest_mem_alloc(&mem, MEM_SIZE) == 0, "%s", last_error());
}

static void mem_teardown(void)
{
	guest_mem_free(&mem);
}

static void *guest_ptr(uint64_t gpa)
{
	return mem.region[0].hva + gpa;
}

static uint16_t *drv_used_event(void)
{
	return vring_driver_used_event(&drv);
}

static uint16_t *drv_avail_event(void)
{
	return vring_driver_avail_event(&drv);
}

/* The driver sets up fresh, zeroed rings of @size entries at the usual places. */
static void drv_init(uint16_t size)
{
	vring_driver_init(&drv, &mem, DESC_GPA, AVAIL_GPA, USED_GPA, size);
	nr_tables = 0;
}

/* A reset queue, fresh rings, enabled with the given features. */
static void start_queue(uint16_t size, bool event_idx, bool indirect)
{
	vq_reset(&vq, VQ_MAX_SIZE);
	vq.size = size;
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
	drv_init(size);
	ck_assert_msg(vq_enable(&vq, &mem, event_idx, indirect) == 0, "%s", last_error());
}

static void set_desc(struct vring_desc *table, unsigned int i, uint64_t gpa, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	table[i] = (struct vring_desc){.addr = gpa, .len = len, .flags = flags, .next = next};
}

/* An indirect table holding @segs at @gpa (any alignment); returns its descriptor. */
static struct vring_seg drv_table_at(uint64_t gpa, const struct vring_seg *segs, unsigned int n)
{
	struct vring_desc table[VQ_MAX_SIZE + 1];

	vring_write_chain(table, n, 0, segs, n);
	memcpy(guest_ptr(gpa), table, n * sizeof(table[0]));
	return (struct vring_seg){gpa, n * sizeof(table[0]), INDIRECT};
}

static struct vring_seg drv_table(const struct vring_seg *segs, unsigned int n)
{
	return drv_table_at(TABLES_GPA + nr_tables++ * TABLE_STRIDE, segs, n);
}

static void drv_publish(uint16_t head)
{
	vring_publish(&drv, head);
}

static uint16_t drv_post(const struct vring_seg *segs, unsigned int n)
{
	return vring_post(&drv, segs, n);
}

/* The driver reads the next used element: it must be @head with @len. */
static void drv_expect_used(uint16_t head, uint32_t len)
{
	const struct vring_used_elem *elem = vring_take_used(&drv);

	expect_eq(elem->id, head);
	expect_eq(elem->len, len);
}

/* The popped chain is @head with the buffers @segs, at their host addresses. */
static void assert_chain(uint16_t head, const struct vring_seg *segs, unsigned int n)
{
	unsigned int nr_in = 0;
	uint64_t out_len = 0, in_len = 0;

	expect_eq(chain.head, head);
	expect_eq(chain.nr_out + chain.nr_in, n);
	for (unsigned int i = 0; i < n; i++) {
		expect_eq((uintptr_t)chain.iov[i].iov_base, (uintptr_t)guest_ptr(segs[i].gpa));
		expect_eq(chain.iov[i].iov_len, segs[i].len);
		if (segs[i].flags & WRITE) {
			nr_in++;
			in_len += segs[i].len;
		} else {
			out_len += segs[i].len;
		}
	}
	expect_eq(chain.nr_in, nr_in);
	expect_eq(chain.out_len, out_len);
	expect_eq(chain.in_len, in_len);
}

static void pop_expect(uint16_t head, const struct vring_seg *segs, unsigned int n)
{
	expect_eq(vq_pop(&vq, &chain), 1);
	assert_chain(head, segs, n);
}

/* One request through the whole queue: post, pop, push, used. */
static void run_one_request(void)
{
	static const struct vring_seg seg = IN(BUF_GPA, 64);
	uint16_t head = drv_post(&seg, 1);

	pop_expect(head, &seg, 1);
	vq_push(&vq, head, 64);
	drv_expect_used(head, 64);
}

/* Run @count requests, interrupting as a device would: the indices move on. */
static void run_requests(unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		run_one_request();
		vq_should_interrupt(&vq);
	}
}

static void assert_broken(const char *why)
{
	ck_assert_int_eq(vq_pop(&vq, &chain), -1);
	ck_assert(vq.broken);
	ck_assert_ptr_nonnull(vq.broken_why);
	ck_assert_msg(strstr(vq.broken_why, why), "broken_why is \"%s\", expected \"%s\"",
		      vq.broken_why, why);
}

/* --- vq_enable --- */

static int enable_at(uint16_t size, uint64_t desc, uint64_t avail, uint64_t used)
{
	vq_reset(&vq, VQ_MAX_SIZE);
	vq.size = size;
	vq.desc_gpa = desc;
	vq.avail_gpa = avail;
	vq.used_gpa = used;
	return vq_enable(&vq, &mem, true, true);
}

static void assert_enable_fails(uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
				const char *why)
{
	ck_assert_fails_with(enable_at(size, desc, avail, used), why);
	ck_assert(!vq.ready);
	ck_assert_int_eq(vq_pop(&vq, &chain), 0);
}

START_TEST(enable_maps_rings)
{
	start_queue(16, true, false);
	ck_assert(vq.ready);
	ck_assert_ptr_eq(vq.mem, &mem);
	ck_assert(vq.event_idx);
	ck_assert(!vq.indirect);
	ck_assert_ptr_eq(vq.desc, guest_ptr(DESC_GPA));
	ck_assert_ptr_eq(vq.avail, guest_ptr(AVAIL_GPA));
	ck_assert_ptr_eq(vq.used, guest_ptr(USED_GPA));
	ck_assert_int_eq(vq_pop(&vq, &chain), 0);
}
END_TEST

START_TEST(enable_accepts_every_power_of_two)
{
	for (unsigned int size = 1; size <= VQ_MAX_SIZE; size *= 2)
		ck_assert_msg(enable_at(size, DESC_GPA, AVAIL_GPA, USED_GPA) == 0, "%s",
			      last_error());
}
END_TEST

START_TEST(enable_refuses_bad_size)
{
	static const uint16_t sizes[] = {0,	3,    6, 100, 255, 257, 384, 2 * VQ_MAX_SIZE,
					 32768, 65535};

	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++)
		assert_enable_fails(sizes[i], DESC_GPA, AVAIL_GPA, USED_GPA, "power of two");
}
END_TEST

START_TEST(enable_refuses_misaligned_rings)
{
	assert_enable_fails(8, DESC_GPA + 8, AVAIL_GPA, USED_GPA, "16-byte aligned");
	assert_enable_fails(8, DESC_GPA + 1, AVAIL_GPA, USED_GPA, "16-byte aligned");
	assert_enable_fails(8, DESC_GPA, AVAIL_GPA + 1, USED_GPA, "2-byte aligned");
	assert_enable_fails(8, DESC_GPA, AVAIL_GPA, USED_GPA + 2, "4-byte aligned");
	/* The ring that is only 2-aligned itself is fine. */
	ck_assert_int_eq(enable_at(8, DESC_GPA, AVAIL_GPA + 2, USED_GPA + 4), 0);
}
END_TEST

/* Each ring, event word included, must end inside RAM: last fitting place and one past. */
START_TEST(enable_refuses_rings_outside_ram)
{
	const uint64_t desc_end = MEM_SIZE - 16 * 256;
	const uint64_t avail_end = MEM_SIZE - (6 + 2 * 256);
	const uint64_t used_end = ALIGN_DOWN(MEM_SIZE - (6 + 8 * 256), 4);

	/* One at a time: at the end of RAM together they would overlap. */
	ck_assert_int_eq(enable_at(256, desc_end, AVAIL_GPA, USED_GPA), 0);
	ck_assert_int_eq(enable_at(256, DESC_GPA, avail_end, USED_GPA), 0);
	ck_assert_int_eq(enable_at(256, DESC_GPA, AVAIL_GPA, used_end), 0);
	assert_enable_fails(256, desc_end + 16, AVAIL_GPA, USED_GPA, "not in guest RAM");
	assert_enable_fails(256, DESC_GPA, avail_end + 2, USED_GPA, "not in guest RAM");
	assert_enable_fails(256, DESC_GPA, AVAIL_GPA, used_end + 4, "not in guest RAM");
	assert_enable_fails(1, MEM_SIZE, AVAIL_GPA, USED_GPA, "descriptor table at 0x1000000");
	assert_enable_fails(1, DESC_GPA, AVAIL_GPA, 4 * GiB, "used ring at 0x100000000");
}
END_TEST

START_TEST(enable_refuses_address_overflow)
{
	assert_enable_fails(16, UINT64_MAX & ~15ULL, AVAIL_GPA, USED_GPA, "not in guest RAM");
	assert_enable_fails(16, DESC_GPA, UINT64_MAX - 1, USED_GPA, "not in guest RAM");
	assert_enable_fails(16, DESC_GPA, AVAIL_GPA, UINT64_MAX - 3, "not in guest RAM");
}
END_TEST

/*
 * No two ring areas may share a byte, event words included: a used ring
 * over the available ring would make the device's own writes look like new
 * chains. Areas that touch are fine.
 */
START_TEST(enable_refuses_overlapping_rings)
{
	const uint64_t avail_len = 6 + 2 * 8, used_len = 6 + 8 * 8;

	/* The used ring 2 bytes after the available ring: its flags on avail->idx. */
	assert_enable_fails(8, DESC_GPA, AVAIL_GPA + 2, AVAIL_GPA + 4,
			    "overlaps the available ring");
	assert_enable_fails(8, DESC_GPA, AVAIL_GPA, AVAIL_GPA + avail_len - 2,
			    "overlaps the available ring");
	assert_enable_fails(8, DESC_GPA, DESC_GPA + 16 * 8 - 2, USED_GPA,
			    "overlaps the descriptor table");
	assert_enable_fails(8, ALIGN_DOWN(USED_GPA + used_len - 1, 16), AVAIL_GPA, USED_GPA,
			    "overlaps");
	assert_enable_fails(8, DESC_GPA, DESC_GPA, DESC_GPA, "overlaps");
	ck_assert_int_eq(
	    enable_at(8, DESC_GPA, DESC_GPA + 16 * 8, ALIGN_UP(DESC_GPA + 16 * 8 + avail_len, 4)),
	    0);
}
END_TEST

/* Enabled again without a reset, on new rings: they start at index 0. */
START_TEST(enable_starts_at_index_zero)
{
	start_queue(8, true, true);
	run_requests(3);
	drv_init(8);
	ck_assert_int_eq(vq_enable(&vq, &mem, true, true), 0);
	ck_assert_uint_eq(vq.last_avail, 0);
	ck_assert_uint_eq(vq.used_idx, 0);
	/* Compared with the old signalled index 3, used idx 1 would not cross 1. */
	*drv_used_event() = 1;
	run_one_request();
	ck_assert(vq_should_interrupt(&vq));
}
END_TEST

START_TEST(reset_forgets_queue)
{
	start_queue(8, true, true);
	run_requests(3);
	vq_reset(&vq, 128);
	ck_assert_uint_eq(vq.size, 128);
	ck_assert(!vq.ready);
	ck_assert_uint_eq(vq.desc_gpa | vq.avail_gpa | vq.used_gpa, 0);
	ck_assert_uint_eq(vq.last_avail, 0);
	ck_assert_uint_eq(vq.used_idx, 0);
	ck_assert(!vq.broken);
	/* Not ready: nothing to take, nothing to signal, the old rings left alone. */
	ck_assert_int_eq(vq_pop(&vq, &chain), 0);
	vq_push(&vq, 0, 1);
	ck_assert_uint_eq(drv.used->idx, 3);
	ck_assert(!vq_should_interrupt(&vq));
	ck_assert(!vq_set_notify(&vq, true));
}
END_TEST

/* --- vq_pop and vq_push --- */

START_TEST(pop_direct_chain)
{
	static const struct vring_seg segs[] = {OUT(BUF_GPA, 16), OUT(BUF_GPA + 0x1000, 512),
						IN(BUF_GPA + 0x2000, 1)};
	uint16_t head;

	start_queue(8, true, true);
	ck_assert_int_eq(vq_pop(&vq, &chain), 0);
	head = drv_post(segs, ARRAY_SIZE(segs));
	pop_expect(head, segs, ARRAY_SIZE(segs));
	ck_assert_uint_eq(chain.nr_out, 2);
	ck_assert_uint_eq(chain.nr_in, 1);
	ck_assert_uint_eq(chain.out_len, 528);
	ck_assert_uint_eq(chain.in_len, 1);
	ck_assert_int_eq(vq_pop(&vq, &chain), 0);
}
END_TEST

START_TEST(pop_only_readable_or_only_writable)
{
	static const struct vring_seg out[] = {OUT(BUF_GPA, 100)};
	static const struct vring_seg in[] = {IN(BUF_GPA, 8 * MiB), IN(BUF_GPA + 8 * MiB, 200)};
	uint16_t head;

	start_queue(8, true, true);
	head = drv_post(out, ARRAY_SIZE(out));
	pop_expect(head, out, ARRAY_SIZE(out));
	ck_assert_uint_eq(chain.in_len, 0);
	head = drv_post(in, ARRAY_SIZE(in));
	pop_expect(head, in, ARRAY_SIZE(in));
	ck_assert_uint_eq(chain.nr_out, 0);
	ck_assert_uint_eq(chain.in_len, 8 * MiB + 200);
}
END_TEST

START_TEST(pop_buffer_at_end_of_ram)
{
	static const struct vring_seg segs[] = {OUT(0, 1), IN(MEM_SIZE - 16, 16)};
	uint16_t head;

	start_queue(4, true, true);
	head = drv_post(segs, ARRAY_SIZE(segs));
	pop_expect(head, segs, ARRAY_SIZE(segs));
}
END_TEST

/* The WRITE flag on the descriptor naming the table means nothing (2.7.5.3.2). */
START_TEST(pop_indirect_chain)
{
	static const struct vring_seg segs[] = {OUT(BUF_GPA, 16), IN(BUF_GPA + 0x1000, 4096),
						IN(BUF_GPA + 0x3000, 1)};
	struct vring_seg table;
	uint16_t head;

	start_queue(8, true, true);
	table = drv_table(segs, ARRAY_SIZE(segs));
	table.flags |= WRITE;
	head = drv_post(&table, 1);
	pop_expect(head, segs, ARRAY_SIZE(segs));
	ck_assert_uint_eq(chain.out_len, 16);
	ck_assert_uint_eq(chain.in_len, 4097);
	ck_assert_uint_eq(drv.next_desc, 1);
}
END_TEST

/* Indirect tables have no alignment rule. */
START_TEST(pop_unaligned_indirect_table)
{
	static const struct vring_seg segs[] = {OUT(BUF_GPA, 16), IN(BUF_GPA + 0x1000, 32)};
	struct vring_seg table;
	uint16_t head;

	start_queue(8, true, true);
	table = drv_table_at(TABLES_GPA + 7, segs, ARRAY_SIZE(segs));
	head = drv_post(&table, 1);
	pop_expect(head, segs, ARRAY_SIZE(segs));
}
END_TEST

/* Direct descriptors then one naming a table is valid too (2.7.5.3.2). */
START_TEST(pop_direct_then_indirect)
{
	static const struct vring_seg inner[] = {OUT(BUF_GPA + 0x2000, 3), IN(BUF_GPA + 0x3000, 5),
						 IN(BUF_GPA + 0x4000, 7)};
	static const struct vring_seg all[] = {OUT(BUF_GPA, 1), OUT(BUF_GPA + 0x1000, 2),
					       OUT(BUF_GPA + 0x2000, 3), IN(BUF_GPA + 0x3000, 5),
					       IN(BUF_GPA + 0x4000, 7)};
	struct vring_seg outer[] = {OUT(BUF_GPA, 1), OUT(BUF_GPA + 0x1000, 2), {0}};
	uint16_t head;

	start_queue(8, true, true);
	outer[2] = drv_table(inner, ARRAY_SIZE(inner));
	head = drv_post(outer, ARRAY_SIZE(outer));
	pop_expect(head, all, ARRAY_SIZE(all));
	ck_assert_uint_eq(chain.out_len, 6);
	ck_assert_uint_eq(chain.in_len, 12);
}
END_TEST

/* A chain of exactly the queue size, however it is laid out, is allowed. */
START_TEST(pop_chain_of_queue_size)
{
	static const struct vring_seg four[] = {OUT(BUF_GPA, 1), OUT(BUF_GPA + 1, 1),
						IN(BUF_GPA + 2, 1), IN(BUF_GPA + 3, 1)};
	struct vring_seg mixed[2] = {OUT(BUF_GPA, 1)};
	uint16_t head;

	start_queue(4, true, true);
	head = drv_post(four, 4);
	pop_expect(head, four, 4);
	vq_push(&vq, head, 0);

	mixed[0] = drv_table(four, 4);
	head = drv_post(mixed, 1);
	pop_expect(head, four, 4);

	mixed[0] = four[0];
	mixed[1] = drv_table(four + 1, 3);
	head = drv_post(mixed, 2);
	pop_expect(head, four, 4);
}
END_TEST

/* Heads come out in the order of the available ring, not of the table. */
START_TEST(pop_in_available_order)
{
	uint16_t heads[] = {5, 0, 3, 7};

	start_queue(8, true, true);
	for (unsigned int i = 0; i < ARRAY_SIZE(heads); i++) {
		set_desc(drv.desc, heads[i], BUF_GPA + i, 1 + i, 0, 0);
		drv_publish(heads[i]);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(heads); i++) {
		struct vring_seg seg = OUT(BUF_GPA + i, 1 + i);

		pop_expect(heads[i], &seg, 1);
	}
	ck_assert_int_eq(vq_pop(&vq, &chain), 0);
}
END_TEST

START_TEST(push_publishes_used_element)
{
	static const struct vring_seg seg = IN(BUF_GPA, 64);
	uint16_t first, second;

	start_queue(8, true, true);
	first = drv_post(&seg, 1);
	second = drv_post(&seg, 1);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	ck_assert_uint_eq(drv.used->idx, 0);
	vq_push(&vq, second, 7);
	ck_assert_uint_eq(drv.used->idx, 1);
	drv_expect_used(second, 7);
	vq_push(&vq, first, 0);
	ck_assert_uint_eq(drv.used->idx, 2);
	drv_expect_used(first, 0);
}
END_TEST

/* --- Free-running indices --- */

/* Batches of three, completed out of order, run the indices past 65535. */
START_TEST(indices_wrap_past_65535)
{
	static const struct vring_seg segs[] = {OUT(BUF_GPA, 16), IN(BUF_GPA + 0x1000, 8)};

	start_queue(8, true, true);
	run_requests(65530);
	ck_assert_uint_eq(drv.used->idx, 65530);
	for (unsigned int round = 0; round < 6; round++) {
		uint16_t heads[3];

		for (unsigned int i = 0; i < 3; i++)
			heads[i] = drv_post(segs, 2);
		for (unsigned int i = 0; i < 3; i++)
			pop_expect(heads[i], segs, 2);
		ck_assert_int_eq(vq_pop(&vq, &chain), 0);
		for (unsigned int i = 3; i-- > 0;)
			vq_push(&vq, heads[i], i);
		for (unsigned int i = 3; i-- > 0;)
			drv_expect_used(heads[i], i);
	}
	ck_assert_uint_eq(vq.last_avail, 12);
	ck_assert_uint_eq(drv.used->idx, 12);
}
END_TEST

/* A full ring (pending == size) across the wrap is fine; one more is not. */
START_TEST(full_ring_across_wrap)
{
	static const struct vring_seg seg = OUT(BUF_GPA, 1);
	uint16_t heads[8];

	start_queue(8, true, true);
	run_requests(65532);
	for (unsigned int i = 0; i < 8; i++)
		heads[i] = drv_post(&seg, 1);
	for (unsigned int i = 0; i < 8; i++)
		pop_expect(heads[i], &seg, 1);
	ck_assert_int_eq(vq_pop(&vq, &chain), 0);
	ck_assert_uint_eq(vq.last_avail, 4);
	__atomic_store_n(&drv.avail->idx, 4 + 9, __ATOMIC_RELEASE);
	assert_broken("ran more than the queue size ahead");
}
END_TEST

/* --- Batched push and unpop --- */

/* Filled elements stay unpublished until the flush, which publishes them all at once. */
START_TEST(fill_flush_publishes_together)
{
	static const struct vring_seg seg = IN(BUF_GPA, 64);
	uint16_t heads[4];

	start_queue(8, true, true);
	for (unsigned int i = 0; i < 4; i++)
		heads[i] = drv_post(&seg, 1);
	for (unsigned int i = 0; i < 4; i++)
		pop_expect(heads[i], &seg, 1);
	/* In the order a device spreading a frame over them would use: any order is fine. */
	for (unsigned int i = 4; i-- > 0;) {
		vq_fill(&vq, (uint16_t)i, heads[3 - i], 10 + i);
		ck_assert_uint_eq(drv.used->idx, 0);
		ck_assert_uint_eq(vq.used_idx, 0);
	}
	vq_flush(&vq, 4);
	ck_assert_uint_eq(drv.used->idx, 4);
	ck_assert_uint_eq(vq.used_idx, 4);
	for (unsigned int i = 0; i < 4; i++)
		drv_expect_used(heads[3 - i], 10 + i);
	/* A push after a flush lands behind the flushed elements. */
	heads[0] = drv_post(&seg, 1);
	pop_expect(heads[0], &seg, 1);
	vq_push(&vq, heads[0], 1);
	ck_assert_uint_eq(drv.used->idx, 5);
	drv_expect_used(heads[0], 1);
}
END_TEST

/* A flush of fewer than were filled publishes those; the rest are overwritten later. */
START_TEST(flush_part_of_filled)
{
	static const struct vring_seg seg = IN(BUF_GPA, 64);
	uint16_t heads[3];

	start_queue(8, true, true);
	for (unsigned int i = 0; i < 3; i++)
		heads[i] = drv_post(&seg, 1);
	for (unsigned int i = 0; i < 3; i++)
		pop_expect(heads[i], &seg, 1);
	vq_fill(&vq, 0, heads[0], 1);
	vq_fill(&vq, 1, heads[1], 2);
	vq_flush(&vq, 1);
	ck_assert_uint_eq(drv.used->idx, 1);
	drv_expect_used(heads[0], 1);
	vq_fill(&vq, 0, heads[2], 3);
	vq_fill(&vq, 1, heads[1], 4);
	vq_flush(&vq, 2);
	ck_assert_uint_eq(drv.used->idx, 3);
	drv_expect_used(heads[2], 3);
	drv_expect_used(heads[1], 4);
}
END_TEST

/* A queue not ready: fill and flush leave the old rings alone. */
START_TEST(fill_flush_not_ready)
{
	start_queue(8, true, true);
	run_requests(2);
	vq_reset(&vq, VQ_MAX_SIZE);
	vq_fill(&vq, 0, 5, 5);
	vq_flush(&vq, 1);
	ck_assert_uint_eq(drv.used->idx, 2);
	ck_assert_uint_eq(drv.used->ring[2].id, 0);
	ck_assert_uint_eq(drv.used->ring[2].len, 0);
}
END_TEST

/* The used index runs 65534 -> 2 in one flush; the elements wrap round the ring. */
START_TEST(fill_flush_across_wrap)
{
	static const struct vring_seg seg = IN(BUF_GPA, 64);
	uint16_t heads[4];

	start_queue(8, true, true);
	run_requests(65534);
	ck_assert(!vq_should_interrupt(&vq));
	*drv_used_event() = 65535;
	for (unsigned int i = 0; i < 4; i++)
		heads[i] = drv_post(&seg, 1);
	for (unsigned int i = 0; i < 4; i++)
		pop_expect(heads[i], &seg, 1);
	for (unsigned int i = 0; i < 4; i++)
		vq_fill(&vq, (uint16_t)i, heads[i], 100 + i);
	ck_assert_uint_eq(drv.used->idx, 65534);
	vq_flush(&vq, 4);
	ck_assert_uint_eq(drv.used->idx, 2);
	ck_assert_uint_eq(vq.used_idx, 2);
	/* Slots 6, 7, 0, 1 of the ring. */
	for (unsigned int i = 0; i < 4; i++) {
		ck_assert_uint_eq(drv.used->ring[(6 + i) % 8].id, heads[i]);
		drv_expect_used(heads[i], 100 + i);
	}
	/* used_event 65535 was crossed inside the batch. */
	ck_assert(vq_should_interrupt(&vq));
}
END_TEST

/* Chains given back come out again, same heads and buffers, in the same order. */
START_TEST(unpop_returns_same_chains)
{
	static const struct vring_seg segs[3][2] = {
	    {IN(BUF_GPA, 10), IN(BUF_GPA + 0x1000, 20)},
	    {IN(BUF_GPA + 0x2000, 30)},
	    {OUT(BUF_GPA + 0x3000, 5), IN(BUF_GPA + 0x4000, 40)},
	};
	static const unsigned int n[3] = {2, 1, 2};
	uint16_t heads[3];

	start_queue(8, true, true);
	for (unsigned int i = 0; i < 3; i++)
		heads[i] = drv_post(segs[i], n[i]);
	for (unsigned int i = 0; i < 3; i++)
		pop_expect(heads[i], segs[i], n[i]);
	ck_assert_int_eq(vq_pop(&vq, &chain), 0);

	vq_unpop(&vq, 2);
	pop_expect(heads[1], segs[1], n[1]);
	pop_expect(heads[2], segs[2], n[2]);
	ck_assert_int_eq(vq_pop(&vq, &chain), 0);

	vq_unpop(&vq, 3);
	for (unsigned int i = 0; i < 3; i++)
		pop_expect(heads[i], segs[i], n[i]);
	ck_assert_int_eq(vq_pop(&vq, &chain), 0);
	ck_assert_uint_eq(drv.used->idx, 0);

	/* Unpopping none changes nothing. */
	vq_unpop(&vq, 0);
	ck_assert_int_eq(vq_pop(&vq, &chain), 0);
}
END_TEST

/* Given back across the wrap of the available index: 1 -> 65535. */
START_TEST(unpop_across_wrap)
{
	static const struct vring_seg seg = OUT(BUF_GPA, 8);
	uint16_t heads[2];

	start_queue(8, true, true);
	run_requests(65535);
	for (unsigned int i = 0; i < 2; i++)
		heads[i] = drv_post(&seg, 1);
	for (unsigned int i = 0; i < 2; i++)
		pop_expect(heads[i], &seg, 1);
	ck_assert_uint_eq(vq.last_avail, 1);
	vq_unpop(&vq, 2);
	ck_assert_uint_eq(vq.last_avail, 65535);
	for (unsigned int i = 0; i < 2; i++)
		pop_expect(heads[i], &seg, 1);
	ck_assert_int_eq(vq_pop(&vq, &chain), 0);
}
END_TEST

/* With EVENT_IDX, avail_event after an unpop asks for the chains given back. */
START_TEST(unpop_then_notify)
{
	static const struct vring_seg seg = IN(BUF_GPA, 8);

	start_queue(8, true, true);
	drv_post(&seg, 1);
	drv_post(&seg, 1);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	vq_unpop(&vq, 2);
	/* Two are posted and not taken: the caller must not sleep. */
	ck_assert(vq_set_notify(&vq, true));
	ck_assert_uint_eq(*drv_avail_event(), 0);
}
END_TEST

/* --- Notification suppression --- */

START_TEST(interrupt_honours_used_event)
{
	start_queue(8, true, true);
	*drv_used_event() = 100;
	run_one_request();
	ck_assert(vq_should_interrupt(&vq)); /* the first after enable, whatever used_event says */
	run_one_request();
	ck_assert(!vq_should_interrupt(&vq));
	*drv_used_event() = 2; /* interrupt once entry 2 is used, i.e. idx reaches 3 */
	run_one_request();
	ck_assert(vq_should_interrupt(&vq));
	run_one_request();
	ck_assert(!vq_should_interrupt(&vq));
	*drv_used_event() = 5; /* crossed inside a batch of two */
	run_one_request();
	run_one_request();
	ck_assert(vq_should_interrupt(&vq));
	ck_assert(!vq_should_interrupt(&vq)); /* nothing new used */
}
END_TEST

START_TEST(interrupt_used_event_across_wrap)
{
	start_queue(8, true, true);
	run_requests(65530);
	*drv_used_event() = 65535;
	for (unsigned int i = 0; i < 5; i++) {
		run_one_request();
		ck_assert(!vq_should_interrupt(&vq));
	}
	run_one_request(); /* used idx 65535 -> 0 */
	ck_assert(vq_should_interrupt(&vq));
	*drv_used_event() = 2;
	run_one_request();
	ck_assert(!vq_should_interrupt(&vq));
	run_one_request();
	run_one_request(); /* used idx 1 -> 3 crosses 2 */
	ck_assert(vq_should_interrupt(&vq));
	ck_assert_uint_eq(vq.used_idx, 3);
}
END_TEST

START_TEST(interrupt_batch_across_wrap)
{
	start_queue(8, true, true);
	run_requests(65534);
	*drv_used_event() = 0;
	run_one_request();
	run_one_request();
	run_one_request(); /* 65534 -> 1 */
	ck_assert(vq_should_interrupt(&vq));
	*drv_used_event() = 65534; /* already passed: next time round */
	run_one_request();
	ck_assert(!vq_should_interrupt(&vq));
}
END_TEST

/* Without EVENT_IDX the flag decides; with it the flag is ignored (2.7.7.2). */
START_TEST(interrupt_no_interrupt_flag)
{
	start_queue(8, false, true);
	*drv_used_event() = 100;
	run_one_request();
	ck_assert(vq_should_interrupt(&vq));
	drv.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	run_one_request();
	ck_assert(!vq_should_interrupt(&vq));
	drv.avail->flags = 0;
	run_one_request();
	ck_assert(vq_should_interrupt(&vq));

	start_queue(8, true, true);
	run_one_request();
	ck_assert(vq_should_interrupt(&vq));
	drv.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	*drv_used_event() = 1;
	run_one_request();
	ck_assert(vq_should_interrupt(&vq));
}
END_TEST

START_TEST(notify_writes_avail_event)
{
	static const struct vring_seg seg = OUT(BUF_GPA, 1);

	start_queue(8, true, true);
	drv_post(&seg, 1);
	drv_post(&seg, 1);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	ck_assert(!vq_set_notify(&vq, true));
	ck_assert_uint_eq(*drv_avail_event(), 2);
	/* Posted before the device looked again: the caller must not sleep. */
	drv_post(&seg, 1);
	ck_assert(vq_set_notify(&vq, true));
	ck_assert_uint_eq(*drv_avail_event(), 2);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	/* Disabling leaves avail_event behind and the flags alone. */
	ck_assert(!vq_set_notify(&vq, false));
	ck_assert_uint_eq(*drv_avail_event(), 2);
	ck_assert(!vq_set_notify(&vq, true));
	ck_assert_uint_eq(*drv_avail_event(), 3);
	ck_assert_uint_eq(drv.used->flags, 0);
}
END_TEST

START_TEST(notify_avail_event_across_wrap)
{
	start_queue(8, true, true);
	run_requests(65535);
	ck_assert(!vq_set_notify(&vq, true));
	ck_assert_uint_eq(*drv_avail_event(), 65535);
	run_one_request();
	ck_assert(!vq_set_notify(&vq, true));
	ck_assert_uint_eq(*drv_avail_event(), 0);
}
END_TEST

START_TEST(notify_no_notify_flag)
{
	static const struct vring_seg seg = OUT(BUF_GPA, 1);

	start_queue(8, false, true);
	*drv_avail_event() = 0xabcd;
	ck_assert(!vq_set_notify(&vq, false));
	ck_assert_uint_eq(drv.used->flags, VRING_USED_F_NO_NOTIFY);
	drv_post(&seg, 1);
	ck_assert(vq_set_notify(&vq, true));
	ck_assert_uint_eq(drv.used->flags, 0);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1);
	ck_assert(!vq_set_notify(&vq, true));
	ck_assert_uint_eq(*drv_avail_event(), 0xabcd);
}
END_TEST

/* --- Hostile drivers --- */

static const struct vring_seg good = OUT(BUF_GPA, 16);

/* Descriptors 0 and 1 linked as given, in the ring's table or in an indirect one. */
static void post_two_linked(bool indirect, uint16_t next0, uint16_t flags1, uint16_t next1)
{
	struct vring_desc *table = indirect ? guest_ptr(TABLES_GPA) : drv.desc;

	set_desc(table, 0, BUF_GPA, 16, NEXT, next0);
	set_desc(table, 1, BUF_GPA, 16, flags1, next1);
	if (indirect)
		set_desc(drv.desc, 0, TABLES_GPA, 32, INDIRECT, 0);
	drv_publish(0);
}

static void post_direct_loop(void)
{
	post_two_linked(false, 1, NEXT, 0);
}

static void post_self_loop(void)
{
	post_two_linked(false, 0, 0, 0);
}

static void post_indirect_loop(void)
{
	post_two_linked(true, 1, NEXT, 0);
}

static void post_next_out_of_table(void)
{
	post_two_linked(false, 4, 0, 0);
}

static void post_next_out_of_indirect_table(void)
{
	post_two_linked(true, 2, 0, 0);
}

static void post_head_out_of_table(void)
{
	drv_publish(4);
}

static void post_avail_ran_ahead(void)
{
	drv_post(&good, 1);
	__atomic_store_n(&drv.avail->idx, 5, __ATOMIC_RELEASE);
}

/*
 * The device saw two chains (vq_has_avail(), or vq_set_notify() before it
 * sleeps), then the index went back: a caller told to look again must not
 * find nothing, or it would look again for ever.
 */
static void post_avail_back_after_has_avail(void)
{
	drv_post(&good, 1);
	drv_post(&good, 1);
	ck_assert(vq_has_avail(&vq));
	__atomic_store_n(&drv.avail->idx, 1, __ATOMIC_RELEASE);
}

static void post_avail_back_after_notify(void)
{
	drv_post(&good, 1);
	ck_assert(vq_set_notify(&vq, true));
	__atomic_store_n(&drv.avail->idx, 0, __ATOMIC_RELEASE);
}

static void post_avail_ran_far_ahead(void)
{
	__atomic_store_n(&drv.avail->idx, 0x8000, __ATOMIC_RELEASE);
}

/* Posts @segs as a direct chain; segs[n - 1] may be replaced by a table of @inner. */
static void post_with_table(const struct vring_seg *segs, unsigned int n,
			    const struct vring_seg *inner, unsigned int nr_inner)
{
	struct vring_seg chain_segs[VQ_MAX_SIZE];

	for (unsigned int i = 0; i < n; i++)
		chain_segs[i] = segs[i];
	if (nr_inner)
		chain_segs[n++] = drv_table(inner, nr_inner);
	drv_post(chain_segs, n);
}

#define POST_DIRECT(name, ...)                                                                     \
	static void name(void)                                                                     \
	{                                                                                          \
		static const struct vring_seg segs[] = {__VA_ARGS__};                              \
		post_with_table(segs, ARRAY_SIZE(segs), NULL, 0);                                  \
	}

#define POST_INDIRECT(name, ...)                                                                   \
	static void name(void)                                                                     \
	{                                                                                          \
		static const struct vring_seg inner[] = {__VA_ARGS__};                             \
		post_with_table(NULL, 0, inner, ARRAY_SIZE(inner));                                \
	}

POST_DIRECT(post_zero_length, OUT(BUF_GPA, 16), OUT(BUF_GPA, 0))
POST_DIRECT(post_buffer_past_ram, OUT(MEM_SIZE, 1))
POST_DIRECT(post_buffer_straddles_ram_end, IN(MEM_SIZE - 8, 16))
POST_DIRECT(post_buffer_far_past_ram, IN(4 * GiB, 16))
POST_DIRECT(post_buffer_address_wraps, OUT(UINT64_MAX - 7, 16))
POST_DIRECT(post_readable_after_writable, IN(BUF_GPA, 16), OUT(BUF_GPA, 16))
POST_DIRECT(post_indirect_with_next, {TABLES_GPA, 16, INDIRECT | NEXT}, OUT(BUF_GPA, 16))
POST_DIRECT(post_indirect_len_not_whole, {TABLES_GPA, 24, INDIRECT})
POST_DIRECT(post_indirect_len_zero, {TABLES_GPA, 0, INDIRECT})
POST_DIRECT(post_indirect_too_many, {TABLES_GPA, 16 * (VQ_MAX_SIZE + 1), INDIRECT})
POST_DIRECT(post_indirect_table_past_ram, {MEM_SIZE - 16, 32, INDIRECT})
POST_DIRECT(post_indirect_table_address_wraps, {UINT64_MAX - 15, 32, INDIRECT})
POST_INDIRECT(post_indirect_too_long, OUT(BUF_GPA, 1), OUT(BUF_GPA, 1), OUT(BUF_GPA, 1),
	      OUT(BUF_GPA, 1), OUT(BUF_GPA, 1))
POST_INDIRECT(post_nested_indirect, OUT(BUF_GPA, 16), {TABLES_GPA, 16, INDIRECT})
POST_INDIRECT(post_indirect_zero_length, IN(BUF_GPA, 0))
POST_INDIRECT(post_indirect_buffer_past_ram, OUT(MEM_SIZE, 4))
POST_INDIRECT(post_indirect_readable_after_writable, IN(BUF_GPA, 16), OUT(BUF_GPA, 16))

static void post_direct_and_indirect_too_long(void)
{
	static const struct vring_seg segs[] = {OUT(BUF_GPA, 1), OUT(BUF_GPA, 1)};

	post_with_table(segs, 2, segs, 2);
	ck_assert_int_eq(vq_pop(&vq, &chain), 1); /* four buffers: fine */
	post_with_table(segs, 2, (struct vring_seg[]){good, good, good}, 3);
}

static void post_readable_table_after_writable(void)
{
	static const struct vring_seg in = IN(BUF_GPA, 16);

	post_with_table(&in, 1, &good, 1);
}

static void post_indirect_not_negotiated(void)
{
	start_queue(4, true, false);
	post_with_table(NULL, 0, &good, 1);
}

static const struct hostile_case {
	void (*post)(void);
	const char *why;
} hostile_cases[] = {
    {post_direct_loop, "longer than the queue size"},
    {post_self_loop, "longer than the queue size"},
    {post_indirect_loop, "longer than the queue size"},
    {post_indirect_too_long, "longer than the queue size"},
    {post_direct_and_indirect_too_long, "longer than the queue size"},
    {post_next_out_of_table, "next descriptor out of the table"},
    {post_next_out_of_indirect_table, "next descriptor out of the table"},
    {post_head_out_of_table, "head out of the descriptor table"},
    {post_avail_ran_ahead, "ran more than the queue size ahead"},
    {post_avail_ran_far_ahead, "ran more than the queue size ahead"},
    {post_avail_back_after_has_avail, "available index went backwards"},
    {post_avail_back_after_notify, "available index went backwards"},
    {post_zero_length, "zero-length"},
    {post_indirect_zero_length, "zero-length"},
    {post_buffer_past_ram, "buffer outside guest RAM"},
    {post_buffer_straddles_ram_end, "buffer outside guest RAM"},
    {post_buffer_far_past_ram, "buffer outside guest RAM"},
    {post_buffer_address_wraps, "buffer outside guest RAM"},
    {post_indirect_buffer_past_ram, "buffer outside guest RAM"},
    {post_readable_after_writable, "readable buffer after a writable"},
    {post_indirect_readable_after_writable, "readable buffer after a writable"},
    {post_readable_table_after_writable, "readable buffer after a writable"},
    {post_nested_indirect, "inside an indirect table"},
    {post_indirect_with_next, "indirect descriptor with NEXT"},
    {post_indirect_not_negotiated, "without VIRTIO_RING_F_INDIRECT_DESC"},
    {post_indirect_len_not_whole, "indirect table length"},
    {post_indirect_len_zero, "indirect table length"},
    {post_indirect_too_many, "indirect table length"},
    {post_indirect_table_past_ram, "indirect table outside guest RAM"},
    {post_indirect_table_address_wraps, "indirect table outside guest RAM"},
};

/* Each case breaks the queue, which stays broken until reset. */
START_TEST(hostile_driver_breaks_queue)
{
	start_queue(4, true, true);
	hostile_cases[_i].post();
	assert_broken(hostile_cases[_i].why);

	drv_post(&good, 1);
	ck_assert_int_eq(vq_pop(&vq, &chain), -1);
	ck_assert(!vq_set_notify(&vq, true));
	ck_assert_int_eq(vq_enable(&vq, &mem, true, true), 0);
	ck_assert_int_eq(vq_pop(&vq, &chain), -1);

	start_queue(4, true, true);
	ck_assert(!vq.broken);
	drv_post(&good, 1);
	pop_expect(0, &good, 1);
}
END_TEST

/* --- Garbage rings --- */

#define FUZZ_ROUNDS	 5000
#define FUZZ_TABLE_DESCS 512 /* garbage indirect tables are cut from these */
#define FUZZ_SEED	 0x9e3779b97f4a7c15ULL

static uint64_t fuzz_state;

/* xorshift64: the same garbage on every run. */
static uint64_t fuzz_u64(void)
{
	fuzz_state ^= fuzz_state << 13;
	fuzz_state ^= fuzz_state >> 7;
	fuzz_state ^= fuzz_state << 17;
	return fuzz_state;
}

static uint32_t fuzz_below(uint32_t n)
{
	return (uint32_t)(fuzz_u64() >> 32) % n;
}

/* Mostly plausible, often subtly wrong: a descriptor a buggy driver might write. */
static struct vring_desc fuzz_desc(uint16_t size)
{
	struct vring_desc d = {
	    .addr = fuzz_below(8) ? fuzz_below(MEM_SIZE) : fuzz_u64(),
	    .len = fuzz_below(16) ? fuzz_below(4096) : (uint32_t)fuzz_u64(),
	    .flags = fuzz_below(4) | (fuzz_below(6) ? 0 : INDIRECT),
	    .next = fuzz_below(8) ? fuzz_below(size) : (uint16_t)fuzz_u64(),
	};

	if (fuzz_below(8) == 0)
		d.addr = MEM_SIZE - fuzz_below(64);
	if ((d.flags & INDIRECT) && fuzz_below(4)) {
		d.addr = TABLES_GPA + 16 * fuzz_below(FUZZ_TABLE_DESCS) + fuzz_below(2) * 8;
		d.len = 16 * fuzz_below(size + 2);
	}
	return d;
}

static void fuzz_fill(struct vring_desc *table, unsigned int n, uint16_t size)
{
	for (unsigned int i = 0; i < n; i++)
		table[i] = fuzz_desc(size);
}

static bool iov_in_ram(const struct iovec *iov)
{
	for (unsigned int i = 0; i < mem.nr; i++) {
		const struct mem_region *r = &mem.region[i];
		const uint8_t *base = iov->iov_base;

		if (base >= r->hva && base < r->hva + r->size &&
		    iov->iov_len <= (size_t)(r->hva + r->size - base))
			return true;
	}
	return false;
}

static void assert_sane_chain(uint16_t size)
{
	unsigned int n = chain.nr_out + chain.nr_in;
	uint64_t out_len = 0, in_len = 0;

	ck_assert_uint_lt(chain.head, size);
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_le(n, size);
	for (unsigned int i = 0; i < n; i++) {
		ck_assert_msg(iov_in_ram(&chain.iov[i]), "iov %u of %u outside guest RAM", i, n);
		ck_assert_uint_gt(chain.iov[i].iov_len, 0);
		if (i < chain.nr_out)
			out_len += chain.iov[i].iov_len;
		else
			in_len += chain.iov[i].iov_len;
	}
	ck_assert_uint_eq(chain.out_len, out_len);
	ck_assert_uint_eq(chain.in_len, in_len);
}

struct fuzz_stats {
	unsigned int chains, long_chains, broken;
};

/* One queue full of garbage: pop until empty or broken, checking every chain. */
static void fuzz_one_queue(struct fuzz_stats *stats)
{
	uint16_t size = 1 << fuzz_below(9);
	unsigned int pops = 0;
	int ret;

	start_queue(size, fuzz_below(2), fuzz_below(4) != 0);
	/* As if the queue had run for a while: the wrap gets its share. */
	vq.last_avail = vq.used_idx = vq.avail_seen = (uint16_t)fuzz_u64();
	fuzz_fill(drv.desc, size, size);
	fuzz_fill((struct vring_desc *)guest_ptr(TABLES_GPA) + fuzz_below(FUZZ_TABLE_DESCS - 8), 8,
		  size);
	for (unsigned int i = 0; i < size; i++)
		drv.avail->ring[i] = fuzz_below(8) ? fuzz_below(size) : (uint16_t)fuzz_u64();
	*drv_used_event() = (uint16_t)fuzz_u64();
	drv.avail->idx = vq.last_avail + fuzz_below(size + 3);

	while ((ret = vq_pop(&vq, &chain)) == 1) {
		ck_assert_uint_le(++pops, size);
		assert_sane_chain(size);
		stats->chains++;
		stats->long_chains += chain.nr_out + chain.nr_in > 1;
		vq_push(&vq, chain.head, (uint32_t)chain.in_len);
		vq_should_interrupt(&vq);
	}
	if (ret < 0) {
		stats->broken++;
		ck_assert(vq.broken);
		ck_assert_int_eq(vq_pop(&vq, &chain), -1);
	}
	vq_set_notify(&vq, true);
}

START_TEST(garbage_rings_stay_inside_ram)
{
	struct fuzz_stats stats = {0};

	fuzz_state = FUZZ_SEED;
	start_queue(VQ_MAX_SIZE, true, true);
	fuzz_fill(guest_ptr(TABLES_GPA), FUZZ_TABLE_DESCS, VQ_MAX_SIZE);
	for (unsigned int i = 0; i < FUZZ_ROUNDS; i++)
		fuzz_one_queue(&stats);
	/* The garbage must reach both outcomes, or this test proves nothing. */
	ck_assert_uint_gt(stats.chains, FUZZ_ROUNDS / 4);
	ck_assert_uint_gt(stats.long_chains, FUZZ_ROUNDS / 20);
	ck_assert_uint_gt(stats.broken, FUZZ_ROUNDS / 4);
}
END_TEST

Suite *virtqueue_suite(void)
{
	Suite *s = suite_create("virtqueue");
	TCase *enable = tcase_create("enable");
	TCase *ring = tcase_create("ring");
	TCase *notify = tcase_create("notify");
	TCase *hostile = tcase_create("hostile");

	tcase_add_checked_fixture(enable, mem_setup, mem_teardown);
	tcase_add_test(enable, enable_maps_rings);
	tcase_add_test(enable, enable_accepts_every_power_of_two);
	tcase_add_test(enable, enable_refuses_bad_size);
	tcase_add_test(enable, enable_refuses_misaligned_rings);
	tcase_add_test(enable, enable_refuses_rings_outside_ram);
	tcase_add_test(enable, enable_refuses_address_overflow);
	tcase_add_test(enable, enable_refuses_overlapping_rings);
	tcase_add_test(enable, enable_starts_at_index_zero);
	tcase_add_test(enable, reset_forgets_queue);
	suite_add_tcase(s, enable);

	tcase_add_checked_fixture(ring, mem_setup, mem_teardown);
	tcase_add_test(ring, pop_direct_chain);
	tcase_add_test(ring, pop_only_readable_or_only_writable);
	tcase_add_test(ring, pop_buffer_at_end_of_ram);
	tcase_add_test(ring, pop_indirect_chain);
	tcase_add_test(ring, pop_unaligned_indirect_table);
	tcase_add_test(ring, pop_direct_then_indirect);
	tcase_add_test(ring, pop_chain_of_queue_size);
	tcase_add_test(ring, pop_in_available_order);
	tcase_add_test(ring, push_publishes_used_element);
	tcase_add_test(ring, indices_wrap_past_65535);
	tcase_add_test(ring, full_ring_across_wrap);
	tcase_add_test(ring, fill_flush_publishes_together);
	tcase_add_test(ring, flush_part_of_filled);
	tcase_add_test(ring, fill_flush_not_ready);
	tcase_add_test(ring, fill_flush_across_wrap);
	tcase_add_test(ring, unpop_returns_same_chains);
	tcase_add_test(ring, unpop_across_wrap);
	tcase_add_test(ring, unpop_then_notify);
	suite_add_tcase(s, ring);

	tcase_add_checked_fixture(notify, mem_setup, mem_teardown);
	tcase_add_test(notify, interrupt_honours_used_event);
	tcase_add_test(notify, interrupt_used_event_across_wrap);
	tcase_add_test(notify, interrupt_batch_across_wrap);
	tcase_add_test(notify, interrupt_no_interrupt_flag);
	tcase_add_test(notify, notify_writes_avail_event);
	tcase_add_test(notify, notify_avail_event_across_wrap);
	tcase_add_test(notify, notify_no_notify_flag);
	suite_add_tcase(s, notify);

	tcase_add_checked_fixture(hostile, mem_setup, mem_teardown);
	tcase_add_loop_test(hostile, hostile_driver_breaks_queue, 0, ARRAY_SIZE(hostile_cases));
	tcase_add_test(hostile, garbage_rings_stay_inside_ram);
	suite_add_tcase(s, hostile);
	return s;
}
