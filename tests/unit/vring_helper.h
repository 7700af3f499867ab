/* SPDX-License-Identifier: MIT */
/*
 * The driver's side of a split virtqueue, played by a test: rings in a test
 * guest_mem, chains posted the way a guest driver posts them, used elements
 * read back the way it reads them.
 */
#ifndef VMM_TESTS_UNIT_VRING_HELPER_H
#define VMM_TESTS_UNIT_VRING_HELPER_H

#include <stdint.h>

#include <linux/virtio_ring.h>

#include "core/memory.h"

/* One descriptor as the driver fills it in; NEXT is added when chaining. */
struct vring_seg {
	uint64_t gpa;
	uint32_t len;
	uint16_t flags;
};

#define VRING_OUT(gpa, len)                                                                        \
	{                                                                                          \
		(gpa), (len), 0                                                                    \
	}
#define VRING_IN(gpa, len)                                                                         \
	{                                                                                          \
		(gpa), (len), VRING_DESC_F_WRITE                                                   \
	}

struct vring_driver {
	uint16_t size;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx; /* the next index it publishes */
	uint16_t next_desc; /* descriptors are handed out round-robin */
	uint16_t last_used; /* the next used entry it reads */
};

/* The host address of guest range [@gpa, @gpa + @len); the test fails if it is not RAM. */
void *vring_gpa(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/*
 * Fresh, zeroed rings of @size entries at the given places (zeroed for
 * VQ_MAX_SIZE entries, event words included, whatever @size is).
 */
void vring_driver_init(struct vring_driver *d, const struct guest_mem *mem, uint64_t desc_gpa,
		       uint64_t avail_gpa, uint64_t used_gpa, uint16_t size);

/* Chain @segs in @table from entry @first on, wrapping at @table_size. */
void vring_write_chain(struct vring_desc *table, unsigned int table_size, unsigned int first,
		       const struct vring_seg *segs, unsigned int n);

/* Make @head available: ring entry first, then the index with release. */
void vring_publish(struct vring_driver *d, uint16_t head);

/* Write @segs as a chain on the next free descriptors and publish it; returns its head. */
uint16_t vring_post(struct vring_driver *d, const struct vring_seg *segs, unsigned int n);

/* used->idx as the driver reads it (acquire). */
uint16_t vring_used_idx(const struct vring_driver *d);

/* The next used element; the test fails if the device has published none. */
const struct vring_used_elem *vring_take_used(struct vring_driver *d);

/* The event words of VIRTIO_RING_F_EVENT_IDX. */
uint16_t *vring_driver_used_event(struct vring_driver *d);
uint16_t *vring_driver_avail_event(struct vring_driver *d);

#endif
