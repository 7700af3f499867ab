// SPDX-License-Identifier: MIT
/*
 * The device side of a split virtqueue. Everything in guest memory is
 * written by the guest, possibly while we read it: each field is loaded once
 * into a local, checked there, and never loaded again.
 */
#include <string.h>

#include "core/error.h"
#include "core/trace.h"
#include "core/util.h"
#include "devices/virtio/virtqueue.h"

/* Ring sizes in bytes (VIRTIO 1.2 2.7), the trailing event words included. */
#define DESC_TABLE_BYTES(n) (16ULL * (n))
#define AVAIL_RING_BYTES(n) (6ULL + 2ULL * (n))
#define USED_RING_BYTES(n)  (6ULL + 8ULL * (n))

void vq_reset(struct virtqueue *vq, uint16_t max_size)
{
	struct stats_queue stats = vq->stats;
	const char *owner = vq->owner;
	uint16_t index = vq->index;

	*vq = (struct virtqueue){.size = max_size, .stats = stats, .owner = owner, .index = index};
	vq->stats.round_notified = false;
}

/*
 * --stats: a chain taken. "Polled" when no notify came since the ring was
 * last found empty: the worker went looking (busy-polling, or rechecking as
 * it turned notifications back on) and the driver had no need to kick.
 */
static void count_pop(struct virtqueue *vq, const struct vq_chain *chain)
{
	STAT_ADD(vq->stats.requests, 1);
	STAT_ADD(vq->stats.bytes_read, chain->out_len);
	if (!vq->stats.round_notified)
		STAT_ADD(vq->stats.polled, 1);
}

/* The driver made a mess no correct driver can: refuse the queue until reset. */
static int vq_break(struct virtqueue *vq, const char *why)
{
	vq->broken = true;
	vq->broken_why = why;
	return -1;
}

/* used_event sits after the available ring, avail_event after the used ring. */
static uint16_t *used_event_word(const struct virtqueue *vq)
{
	return &vq->avail->ring[vq->size];
}

static uint16_t *avail_event_word(const struct virtqueue *vq)
{
	return (uint16_t *)&vq->used->ring[vq->size];
}

struct ring_area {
	const char *name;
	uint64_t gpa;
	uint64_t align;
	uint64_t len;
};

/* Host address of one ring, or NULL with the error set. */
static void *map_ring_area(const struct guest_mem *mem, const struct ring_area *area)
{
	void *hva;

	if (area->gpa & (area->align - 1)) {
		set_error("virtqueue %s at 0x%llx is not %llu-byte aligned", area->name,
			  (unsigned long long)area->gpa, (unsigned long long)area->align);
		return NULL;
	}
	/* Regions are page-aligned on both sides: hva is as aligned as gpa. */
	hva = gpa_to_hva(mem, area->gpa, area->len);
	if (!hva)
		set_error("virtqueue %s at 0x%llx+0x%llx is not in guest RAM", area->name,
			  (unsigned long long)area->gpa, (unsigned long long)area->len);
	return hva;
}

/*
 * The three areas may not share a byte: the device writes the used ring,
 * and a used ring over the available ring would turn our own writes of
 * flags and indices into "new" chains (a worker re-checking for work after
 * each write would never stop).
 */
static int check_no_overlap(const struct ring_area *areas, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		for (unsigned int j = i + 1; j < n; j++) {
			if (ranges_overlap(areas[i].gpa, areas[i].len, areas[j].gpa, areas[j].len))
				return set_error("virtqueue %s at 0x%llx+0x%llx overlaps the %s "
						 "at 0x%llx+0x%llx",
						 areas[j].name, (unsigned long long)areas[j].gpa,
						 (unsigned long long)areas[j].len, areas[i].name,
						 (unsigned long long)areas[i].gpa,
						 (unsigned long long)areas[i].len);
		}
	}
	return 0;
}

static bool queue_size_valid(uint16_t size)
{
	return size >= 1 && size <= VQ_MAX_SIZE && (size & (size - 1)) == 0;
}

int vq_enable(struct virtqueue *vq, const struct guest_mem *mem, bool event_idx, bool indirect)
{
	const struct ring_area areas[] = {
	    {"descriptor table", vq->desc_gpa, 16, DESC_TABLE_BYTES(vq->size)},
	    {"available ring", vq->avail_gpa, 2, AVAIL_RING_BYTES(vq->size)},
	    {"used ring", vq->used_gpa, 4, USED_RING_BYTES(vq->size)},
	};
	void *hva[ARRAY_SIZE(areas)];

	vq->ready = false;
	if (!queue_size_valid(vq->size))
		return set_error("virtqueue size %u is not a power of two from 1 to %d", vq->size,
				 VQ_MAX_SIZE);
	for (unsigned int i = 0; i < ARRAY_SIZE(areas); i++) {
		hva[i] = map_ring_area(mem, &areas[i]);
		if (!hva[i])
			return -1;
	}
	if (check_no_overlap(areas, ARRAY_SIZE(areas)) < 0)
		return -1;
	vq->mem = mem;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	vq->desc = hva[0];
	vq->avail = hva[1];
	vq->used = hva[2];
	/* A driver's new rings start at index 0 (2.7.6, 2.7.8). */
	vq->last_avail = 0;
	vq->avail_seen = 0;
	vq->used_idx = 0;
	vq->signalled_valid = false;
	vq->ready = true;
	return 0;
}

/*
 * A private copy of descriptor @i of @table. An indirect table need not be
 * aligned, hence memcpy; the compiler barrier makes the copy the only read,
 * so a guest rewriting the descriptor cannot change it after our checks.
 */
static struct vring_desc load_desc(const void *table, unsigned int i)
{
	struct vring_desc d;

	memcpy(&d, (const uint8_t *)table + i * sizeof(d), sizeof(d));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return d;
}

/* The descriptor table a chain walk is in: the ring's, or one indirect table. */
struct desc_table {
	const void *base;
	unsigned int nr;
	bool indirect;
};

/* @d refers to an indirect table: check it and make it the table to walk. */
static int enter_indirect(struct virtqueue *vq, const struct vring_desc *d,
			  struct desc_table *table)
{
	if (!vq->indirect)
		return vq_break(vq, "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
	if (table->indirect)
		return vq_break(vq, "indirect descriptor inside an indirect table");
	if (d->flags & VRING_DESC_F_NEXT)
		return vq_break(vq, "indirect descriptor with NEXT");
	if (d->len == 0 || d->len % sizeof(struct vring_desc) ||
	    d->len / sizeof(struct vring_desc) > VQ_MAX_SIZE)
		return vq_break(vq, "indirect table length is zero, too long or not whole "
				    "descriptors");
	table->base = gpa_to_hva(vq->mem, d->addr, d->len);
	if (!table->base)
		return vq_break(vq, "indirect table outside guest RAM");
	table->nr = d->len / sizeof(struct vring_desc);
	table->indirect = true;
	return 0;
}

/* Append the buffer @d names to @chain: readable ones first, then writable. */
static int add_buffer(struct virtqueue *vq, const struct vring_desc *d, struct vq_chain *chain)
{
	unsigned int n = chain->nr_out + chain->nr_in;
	void *hva;

	/* Also what ends a loop: it cannot go round more than size times. */
	if (n == vq->size)
		return vq_break(vq, "chain longer than the queue size");
	if (d->len == 0)
		return vq_break(vq, "zero-length buffer");
	hva = gpa_to_hva(vq->mem, d->addr, d->len);
	if (!hva)
		return vq_break(vq, "buffer outside guest RAM");
	chain->iov[n] = (struct iovec){.iov_base = hva, .iov_len = d->len};
	if (d->flags & VRING_DESC_F_WRITE) {
		chain->nr_in++;
		chain->in_len += d->len;
	} else {
		if (chain->nr_in)
			return vq_break(vq, "device-readable buffer after a writable one");
		chain->nr_out++;
		chain->out_len += d->len;
	}
	return 0;
}

/*
 * Follow the chain from @head: zero or more direct descriptors, optionally
 * ending in one that refers to an indirect table (2.7.5.3.2), whose own
 * descriptors then continue the chain. Each step either adds a buffer, which
 * add_buffer() caps at the queue size, or enters the one indirect table, so
 * the walk is bounded.
 */
static int walk_chain(struct virtqueue *vq, uint16_t head, struct vq_chain *chain)
{
	struct desc_table table = {.base = vq->desc, .nr = vq->size};
	unsigned int i = head;

	*chain = (struct vq_chain){.head = head};
	for (;;) {
		struct vring_desc d = load_desc(table.base, i);

		if (d.flags & VRING_DESC_F_INDIRECT) {
			/* Its WRITE flag means nothing (2.7.5.3.2). */
			if (enter_indirect(vq, &d, &table) < 0)
				return -1;
			i = 0;
			continue;
		}
		if (add_buffer(vq, &d, chain) < 0)
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= table.nr)
			return vq_break(vq, "next descriptor out of the table");
		i = d.next;
	}
}

/* The head of the next available chain: 1, 0 when there is none, -1 if broken. */
/*
 * The driver's available index, remembered: a driver only ever adds to it
 * (2.7.13), so once we have seen chains pending we must find them.
 * Acquire: the ring entry and descriptors were written before idx.
 */
static uint16_t load_avail_idx(struct virtqueue *vq)
{
	vq->avail_seen = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	return vq->avail_seen;
}

static int next_head(struct virtqueue *vq, uint16_t *head)
{
	uint16_t seen = vq->avail_seen - vq->last_avail;
	uint16_t pending = load_avail_idx(vq) - vq->last_avail;
	uint16_t slot = vq->last_avail & (vq->size - 1);

	/*
	 * Fewer pending than we saw before (vq_has_avail, vq_set_notify): the
	 * index went back, so a caller that looked again because of it would
	 * find nothing, and look again for ever.
	 */
	if (pending < seen)
		return vq_break(vq, "available index went backwards");
	if (pending == 0)
		return 0;
	if (pending > vq->size)
		return vq_break(vq, "available index ran more than the queue size ahead");
	*head = __atomic_load_n(&vq->avail->ring[slot], __ATOMIC_RELAXED);
	if (*head >= vq->size)
		return vq_break(vq, "chain head out of the descriptor table");
	return 1;
}

int vq_pop(struct virtqueue *vq, struct vq_chain *chain)
{
	uint16_t head;
	int ret;

	if (vq->broken)
		return -1;
	if (!vq->ready)
		return 0;
	ret = next_head(vq, &head);
	if (ret == 0)
		vq->stats.round_notified = false; /* empty: the round is over */
	if (ret <= 0)
		return ret;
	if (walk_chain(vq, head, chain) < 0)
		return -1;
	vq->last_avail++;
	if (stats_enabled)
		count_pop(vq, chain);
	if (trace_enabled)
		trace_record(TRACE_REQUEST_BEGIN, vq->owner, head, vq->index, monotonic_ns(), 0);
	return 1;
}

bool vq_has_avail(struct virtqueue *vq)
{
	if (!vq->ready || vq->broken)
		return false;
	return load_avail_idx(vq) != vq->last_avail;
}

void vq_unpop(struct virtqueue *vq, uint16_t n)
{
	vq->last_avail -= n;
}

void vq_fill(struct virtqueue *vq, uint16_t offset, uint16_t head, uint32_t len)
{
	struct vring_used_elem *elem;

	if (!vq->ready)
		return;
	/* Past used->idx the slots are ours: the driver reads none of them yet. */
	elem = &vq->used->ring[(uint16_t)(vq->used_idx + offset) & (vq->size - 1)];
	elem->id = head;
	elem->len = len;
	if (stats_enabled)
		STAT_ADD(vq->stats.bytes_written, len);
	if (trace_enabled)
		trace_record(TRACE_REQUEST_END, vq->owner, head, vq->index, monotonic_ns(), 0);
}

void vq_flush(struct virtqueue *vq, uint16_t n)
{
	if (!vq->ready)
		return;
	vq->used_idx += n;
	/* Release: the driver that sees the new idx sees the elements (2.7.8.2). */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	vq_fill(vq, 0, head, len);
	vq_flush(vq, 1);
}

/*
 * The driver asked to be interrupted when the used index moves past @event;
 * it moved from @old to @new since the last interrupt. True when @event is in
 * [old, new), all modulo 2^16 (the spec's vring_need_event()).
 */
static bool used_event_passed(uint16_t event, uint16_t new, uint16_t old)
{
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

bool vq_should_interrupt(struct virtqueue *vq)
{
	uint16_t old = vq->signalled_used;
	bool old_valid = vq->signalled_valid;
	uint16_t event;

	if (!vq->ready)
		return false;
	/*
	 * Full fence: our used->idx store must be visible before we read the
	 * driver's suppression, or the driver may re-enable interrupts after
	 * checking idx and we miss its request (it pairs with the driver's).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	event = __atomic_load_n(used_event_word(vq), __ATOMIC_RELAXED);
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	/* Nothing to compare with since enable: always interrupt once. */
	return !old_valid || used_event_passed(event, vq->used_idx, old);
}

bool vq_set_notify(struct virtqueue *vq, bool enable)
{
	if (!vq->ready || vq->broken)
		return false;
	if (vq->event_idx) {
		/*
		 * Disabling is leaving avail_event behind: the driver notifies
		 * only when its index crosses it. used->flags stays 0 (2.7.10.2).
		 */
		if (!enable)
			return false;
		__atomic_store_n(avail_event_word(vq), vq->last_avail, __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&vq->used->flags, enable ? 0 : VRING_USED_F_NO_NOTIFY,
				 __ATOMIC_RELAXED);
		if (!enable)
			return false;
	}
	/*
	 * Full fence: the request must be visible before we look at avail->idx
	 * again, or a driver that posted just before seeing it would not
	 * notify, and we would not see its chain either.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load_avail_idx(vq) != vq->last_avail;
}
