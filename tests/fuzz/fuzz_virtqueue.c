// SPDX-License-Identifier: MIT
/*
 * The split virtqueue on fuzz RAM. The input picks the size, where the rings
 * lie, EVENT_IDX and INDIRECT_DESC, then a program: raw writes to RAM,
 * chains posted (direct, indirect, with any flags), and the device's calls.
 *
 * Invariants: every popped buffer lies in RAM, readable ones first, and the
 * chain's lengths add up; a queue's calls write only its used ring (and the
 * harness, playing the device, only the writable buffers it was given); a
 * push lands where the driver reads it; after has_avail() or set_notify()
 * said yes, the next pop is not 0; a broken queue stays broken.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtqueue.h"
#include "tests/fuzz/fuzz_util.h"

#define RAM_SIZE 0x10000

static uint8_t ram[RAM_SIZE], before[RAM_SIZE], allow[RAM_SIZE];
static struct guest_mem mem;

struct popped {
	uint16_t head;
	uint64_t in_len;
};

struct state {
	struct virtqueue vq;
	struct fz_ring r;
	struct vq_chain chain;
	struct popped popped[VQ_MAX_SIZE];
	unsigned int nr_popped;
	unsigned int since_push; /* pops since the last push: what unpop may give back */
	bool expect_chain;	 /* has_avail or set_notify said yes */
};

static bool in_ram(const void *p, size_t len)
{
	const uint8_t *b = p;

	return b >= ram && b <= ram + RAM_SIZE && len <= (size_t)(ram + RAM_SIZE - b);
}

static void check_chain(struct state *s)
{
	const struct vq_chain *c = &s->chain;
	uint64_t out = 0, in = 0;

	FZ_CHECK(c->head < s->vq.size);
	FZ_CHECK(c->nr_out + c->nr_in <= s->vq.size);
	for (unsigned int i = 0; i < c->nr_out + c->nr_in; i++) {
		FZ_CHECK(c->iov[i].iov_len > 0);
		FZ_CHECK(in_ram(c->iov[i].iov_base, c->iov[i].iov_len));
		if (i < c->nr_out)
			out += c->iov[i].iov_len;
		else
			in += c->iov[i].iov_len;
	}
	FZ_CHECK(out == c->out_len && in == c->in_len);
}

/* The device fills the chain's writable buffers, as far as the input says. */
static void device_writes(struct fz *f, struct state *s)
{
	const struct vq_chain *c = &s->chain;
	uint32_t budget = fz_u16(f);

	for (unsigned int i = c->nr_out; i < c->nr_out + c->nr_in && budget; i++) {
		size_t n = c->iov[i].iov_len < budget ? c->iov[i].iov_len : budget;

		memset(c->iov[i].iov_base, 0x5a, n);
		budget -= n;
	}
}

/* Since @before: only the used ring was written. */
static void check_used_only(struct state *s)
{
	static uint64_t allowed_gpa, allowed_len;

	if (allowed_gpa != s->vq.used_gpa || allowed_len != 4 + 8ULL * s->vq.size + 2) {
		memset(allow, 0, RAM_SIZE);
		allowed_gpa = s->vq.used_gpa;
		allowed_len = 4 + 8ULL * s->vq.size + 2;
		fz_allow_range(allow, RAM_SIZE, allowed_gpa, allowed_len);
	}
	fz_check_writes(before, ram, allow, RAM_SIZE);
}

static void do_pop(struct fz *f, struct state *s)
{
	uint16_t avail_idx, last_avail = s->vq.last_avail;
	int r;

	fz_peek(ram, RAM_SIZE, s->r.avail + 2, &avail_idx, 2);
	r = vq_pop(&s->vq, &s->chain);
	check_used_only(s);
	FZ_CHECK(r >= -1 && r <= 1);
	/*
	 * Nothing to pop is a right answer whenever the index shows nothing
	 * past the device's place, even after a yes: the driver may have moved
	 * the index back, and an unpop the device's place.
	 */
	if (s->expect_chain && avail_idx != last_avail)
		FZ_CHECK(r != 0);
	s->expect_chain = false;
	if (r < 0) {
		FZ_CHECK(s->vq.broken);
		return;
	}
	FZ_CHECK(!s->vq.broken);
	if (r == 0)
		return;
	check_chain(s);
	if (s->nr_popped < VQ_MAX_SIZE) {
		s->popped[s->nr_popped++] = (struct popped){s->chain.head, s->chain.in_len};
		s->since_push++;
	}
	device_writes(f, s);
	memcpy(before, ram, RAM_SIZE);
}

static void do_push(struct fz *f, struct state *s)
{
	struct vring_used *u = s->vq.used;
	unsigned int k;
	struct popped p;
	uint32_t len;
	uint16_t idx;

	if (!s->nr_popped || !s->vq.ready)
		return;
	k = fz_u8(f) % s->nr_popped;
	p = s->popped[k];
	s->popped[k] = s->popped[--s->nr_popped];
	s->since_push = 0;
	len = fz_u32(f);
	if (len > p.in_len)
		len = (uint32_t)p.in_len;
	idx = s->vq.used_idx;
	vq_push(&s->vq, p.head, len);
	FZ_CHECK(u->ring[idx % s->vq.size].id == p.head);
	FZ_CHECK(u->ring[idx % s->vq.size].len == len);
	FZ_CHECK(u->idx == (uint16_t)(idx + 1));
}

static void do_fill_flush(struct fz *f, struct state *s)
{
	unsigned int n = 1 + fz_u8(f) % 4;

	if (n > s->nr_popped || !s->vq.ready)
		return;
	for (unsigned int i = 0; i < n; i++) {
		struct popped p = s->popped[--s->nr_popped];

		vq_fill(&s->vq, (uint16_t)i, p.head, (uint32_t)(p.in_len / 2));
	}
	vq_flush(&s->vq, (uint16_t)n);
	s->since_push = 0;
}

static void raw_write(struct fz *f)
{
	uint16_t gpa = fz_u16(f);
	uint8_t buf[64];
	size_t n = fz_bytes(f, buf, 1 + fz_u8(f) % sizeof(buf));

	fz_poke(ram, RAM_SIZE, gpa, buf, n);
}

/* One device call; returns false when the program is over. */
static bool step(struct fz *f, struct state *s)
{
	uint8_t op;
	bool was_broken = s->vq.broken;

	if (!f->left)
		return false;
	op = fz_u8(f) % 12;
	/* The driver's own writes (ops 0 to 3) need no snapshot: nothing checks them. */
	if (op > 3)
		memcpy(before, ram, RAM_SIZE);
	switch (op) {
	case 0:
		raw_write(f);
		s->expect_chain = false;
		return true;
	case 1:
	case 2:
		fz_ring_post(f, &s->r, 0x8000, 0x8000);
		s->expect_chain = false;
		return true;
	case 3: {
		uint16_t idx = fz_u16(f);

		fz_poke(ram, RAM_SIZE, s->r.avail + 2, &idx, 2);
		s->expect_chain = false;
		return true;
	}
	case 4:
	case 5: do_pop(f, s); break;
	case 6: do_push(f, s); break;
	case 7: {
		uint16_t n = (uint16_t)(fz_u8(f) % (s->since_push + 1));

		vq_unpop(&s->vq, n);
		s->nr_popped -= n;
		s->since_push -= n;
		s->expect_chain = s->expect_chain || n;
		break;
	}
	case 8:
		if (vq_set_notify(&s->vq, fz_u8(f) & 1))
			s->expect_chain = true;
		break;
	case 9: vq_should_interrupt(&s->vq); break;
	case 10:
		if (vq_has_avail(&s->vq))
			s->expect_chain = true;
		break;
	case 11: do_fill_flush(f, s); break;
	}
	if (was_broken)
		FZ_CHECK(s->vq.broken);
	check_used_only(s);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {data, size};
	static struct state s;
	uint8_t cfg = fz_u8(&f);
	uint16_t qsize = (uint16_t)(1U << (fz_u8(&f) % 9));
	uint64_t desc = 0x0, avail = 0x1000, used = 0x2000;

	memset(ram, 0, RAM_SIZE);
	fz_mem_init(&mem, ram, RAM_SIZE);
	memset(&s, 0, sizeof(s));
	if (cfg & 1) { /* the fuzzer places the rings (and may get it wrong) */
		desc = fz_u16(&f);
		avail = fz_u16(&f);
		used = fz_u16(&f);
	}
	if (cfg & 2)
		qsize = fz_u16(&f);
	vq_reset(&s.vq, VQ_MAX_SIZE);
	s.vq.size = qsize;
	s.vq.desc_gpa = desc;
	s.vq.avail_gpa = avail;
	s.vq.used_gpa = used;
	if (vq_enable(&s.vq, &mem, cfg & 4, cfg & 8) < 0) {
		FZ_CHECK(!s.vq.ready);
		return 0;
	}
	FZ_CHECK(s.vq.ready && qsize && qsize <= VQ_MAX_SIZE && !(qsize & (qsize - 1)));
	fz_ring_init(&s.r, ram, RAM_SIZE, desc, avail, used, qsize);
	while (step(&f, &s))
		;
	return 0;
}
