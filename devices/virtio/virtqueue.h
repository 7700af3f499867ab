/* SPDX-License-Identifier: MIT */
/*
 * The device side of a split virtqueue (VIRTIO 1.2 section 2.7): the
 * descriptor table, the driver's available ring and the device's used ring,
 * all in guest memory and all written by a guest we do not trust.
 *
 * The rings are translated to host pointers once, when the driver sets
 * QueueReady, through gpa_to_hva(); every buffer a descriptor names is
 * translated when its chain is popped. A ring state that no correct driver
 * can produce (an available index that ran ahead by more than the queue size,
 * or went back below one we had seen, a head or next index out of the
 * table, a loop, a nested indirect table, a zero-length or out-of-RAM
 * buffer, a readable buffer after a writable one)
 * marks the queue broken: vq_pop() returns -1 from then on and the device
 * must set DEVICE_NEEDS_RESET. The queue never reads or writes outside guest
 * RAM and never loops for longer than the queue size.
 *
 * Indices are free-running 16-bit counters, compared modulo 2^16 as the spec
 * asks. One thread at a time may use a queue (the device's worker for it).
 */
#ifndef DEVICES_VIRTIO_VIRTQUEUE_H
#define DEVICES_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_ring.h>

#include "core/memory.h"
#include "core/stats.h"

/* QueueNumMax of every queue; also the cap on descriptors in one chain. */
#define VQ_MAX_SIZE 256

/* One popped request: readable buffers first, then writable ones. */
struct vq_chain {
	uint16_t head;	     /* what vq_push() returns to the driver */
	unsigned int nr_out; /* iov[0 .. nr_out): device-readable */
	unsigned int nr_in;  /* iov[nr_out .. nr_out + nr_in): device-writable */
	uint64_t out_len;    /* total bytes readable */
	uint64_t in_len;     /* total bytes writable */
	struct iovec iov[VQ_MAX_SIZE];
};

struct virtqueue {
	/* Set by the driver through the transport while the queue is not ready. */
	uint16_t size; /* QueueNum: a power of two, 1..VQ_MAX_SIZE */
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;
	bool ready;

	/* Filled by vq_enable() from the negotiated features. */
	const struct guest_mem *mem;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX */
	bool indirect;	/* VIRTIO_RING_F_INDIRECT_DESC */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;

	/* Device state. */
	uint16_t last_avail;	 /* next available entry to take */
	uint16_t avail_seen;	 /* the driver's avail->idx when we last read it */
	uint16_t used_idx;	 /* next used entry to fill (published by vq_push) */
	uint16_t signalled_used; /* used_idx when the driver was last interrupted */
	bool signalled_valid;	 /* signalled_used means something */
	bool broken;
	const char *broken_why;	  /* for the VMM's log: what the driver got wrong */
	struct stats_queue stats; /* --stats: kept across resets */
	const char *owner;	  /* --trace: the device's name, kept across resets */
	uint16_t index;		  /* --trace: the queue's number in its device */
};

/* Back to the state after reset: not ready, addresses zero, size @max_size. */
void vq_reset(struct virtqueue *vq, uint16_t max_size);

/*
 * QueueReady = 1: check size (power of two, <= VQ_MAX_SIZE), alignment
 * (desc 16, avail 2, used 4), that each ring lies wholly in guest RAM,
 * event words included, and that no two of them overlap, then map the
 * rings and set @ready. Both indices
 * start at 0, as a driver's new rings do, and the next vq_should_interrupt()
 * says yes; a broken queue stays broken (only vq_reset() mends it). Returns
 * -1 with set_error() (queue not ready) when anything is wrong.
 */
int vq_enable(struct virtqueue *vq, const struct guest_mem *mem, bool event_idx, bool indirect);

/*
 * Take the next available chain. Returns 1 and fills @chain, 0 when the
 * driver has posted nothing new (or the queue is not ready), -1 when the
 * queue is (or just became) broken. A chain is direct descriptors, optionally
 * ending in one that names an indirect table (VIRTIO 1.2 2.7.5.3.2); at most
 * @size buffers in all, the descriptor naming the table not counted.
 */
int vq_pop(struct virtqueue *vq, struct vq_chain *chain);

/*
 * Return @head to the driver with @len bytes written into its writable
 * buffers, and publish it (release ordering). @len is clamped by the caller
 * to what the chain could hold. Does nothing on a queue that is not ready.
 */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);

/*
 * Has the driver posted a chain vq_pop() has not taken? False when not
 * ready or broken. When true, the next vq_pop() returns a chain or -1,
 * never 0: a caller that looks again because of it always moves on.
 */
bool vq_has_avail(struct virtqueue *vq);

/*
 * Give back the last @n chains vq_pop() returned, none of them pushed: the
 * next vq_pop() returns them again. For a device that found it cannot use
 * them yet (a receive queue whose buffers do not hold the frame waiting).
 */
void vq_unpop(struct virtqueue *vq, uint16_t n);

/*
 * vq_push() in two steps, for several chains that the driver must see
 * together (a received frame spread over merged buffers): vq_fill() writes
 * the used element @offset places after the last published one, vq_flush()
 * publishes @n filled elements at once.
 */
void vq_fill(struct virtqueue *vq, uint16_t offset, uint16_t head, uint32_t len);
void vq_flush(struct virtqueue *vq, uint16_t n);

/*
 * After one or more vq_push(): does the driver want an interrupt? Honours
 * used_event with EVENT_IDX (then the first call after vq_enable() always
 * says yes) and VRING_AVAIL_F_NO_INTERRUPT without it.
 */
bool vq_should_interrupt(struct virtqueue *vq);

/*
 * Ask the driver to notify (or not) when it posts more. With EVENT_IDX,
 * enabling writes avail_event = last_avail and disabling leaves it behind;
 * without, it sets or clears VRING_USED_F_NO_NOTIFY. Returns true when, after
 * enabling, the driver has already posted more (the caller must then process
 * again instead of sleeping: the notification it asked for may have been
 * skipped; as after vq_has_avail(), that vq_pop() returns a chain or -1);
 * false after disabling, or on a queue not ready or broken.
 */
bool vq_set_notify(struct virtqueue *vq, bool enable);

#endif
