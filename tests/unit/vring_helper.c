// SPDX-License-Identifier: MIT
/* The test driver's side of a split virtqueue: see vring_helper.h. */
#include <string.h>

#include <check.h>

#include "devices/virtio/virtqueue.h"
#include "tests/unit/vring_helper.h"

void *vring_gpa(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	void *p = gpa_to_hva(mem, gpa, len);

	if (!p)
		ck_abort_msg("guest range 0x%llx+0x%llx is not RAM", (unsigned long long)gpa,
			     (unsigned long long)len);
	return p;
}

void vring_driver_init(struct vring_driver *d, const struct guest_mem *mem, uint64_t desc_gpa,
		       uint64_t avail_gpa, uint64_t used_gpa, uint16_t size)
{
	const uint64_t desc_len = sizeof(struct vring_desc) * VQ_MAX_SIZE;
	const uint64_t avail_len = 6 + 2 * VQ_MAX_SIZE;
	const uint64_t used_len = 6 + sizeof(struct vring_used_elem) * VQ_MAX_SIZE;

	*d = (struct vring_driver){
	    .size = size,
	    .desc = vring_gpa(mem, desc_gpa, desc_len),
	    .avail = vring_gpa(mem, avail_gpa, avail_len),
	    .used = vring_gpa(mem, used_gpa, used_len),
	};
	memset(d->desc, 0, desc_len);
	memset(d->avail, 0, avail_len);
	memset(d->used, 0, used_len);
}

void vring_write_chain(struct vring_desc *table, unsigned int table_size, unsigned int first,
		       const struct vring_seg *segs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		bool last = i + 1 == n;
		uint16_t next = (first + i + 1) % table_size;

		table[(first + i) % table_size] = (struct vring_desc){
		    .addr = segs[i].gpa,
		    .len = segs[i].len,
		    .flags = segs[i].flags | (last ? 0 : VRING_DESC_F_NEXT),
		    .next = last ? 0 : next,
		};
	}
}

void vring_publish(struct vring_driver *d, uint16_t head)
{
	d->avail->ring[d->avail_idx % d->size] = head;
	d->avail_idx++;
	__atomic_store_n(&d->avail->idx, d->avail_idx, __ATOMIC_RELEASE);
}

uint16_t vring_post(struct vring_driver *d, const struct vring_seg *segs, unsigned int n)
{
	uint16_t head = d->next_desc;

	vring_write_chain(d->desc, d->size, head, segs, n);
	d->next_desc = (head + n) % d->size;
	vring_publish(d, head);
	return head;
}

uint16_t vring_used_idx(const struct vring_driver *d)
{
	return __atomic_load_n(&d->used->idx, __ATOMIC_ACQUIRE);
}

const struct vring_used_elem *vring_take_used(struct vring_driver *d)
{
	const struct vring_used_elem *elem = &d->used->ring[d->last_used % d->size];

	if (vring_used_idx(d) == d->last_used)
		ck_abort_msg("no used element at %u", d->last_used);
	d->last_used++;
	return elem;
}

uint16_t *vring_driver_used_event(struct vring_driver *d)
{
	return &d->avail->ring[d->size];
}

uint16_t *vring_driver_avail_event(struct vring_driver *d)
{
	return (uint16_t *)&d->used->ring[d->size];
}
