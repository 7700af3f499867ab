/* SPDX-License-Identifier: MIT */
/*
 * The test guest's split virtqueue, driver side (VIRTIO 1.2 section 2.7).
 *
 * Layers, bottom up: struct vring is the memory layout the device sees (the
 * descriptor table, the available ring the driver writes and the used ring
 * the device writes); struct virtqueue is the driver's bookkeeping around
 * it (free descriptors, which chain each head starts, the shadow indices,
 * counters). virtio.h builds devices and drivers on top.
 *
 * Nothing the device writes is trusted: a used element whose id is out of
 * range or names a descriptor that does not start a posted chain, or a used
 * index that runs ahead of what was posted, marks the queue broken (it is
 * reported once and the queue is not touched again); a used length larger
 * than the writable bytes posted is reported, counted and clamped. The
 * driver's own bookkeeping lives outside the rings, so a device scribbling
 * on the descriptor table cannot lead it astray.
 *
 * The guest is x86-64, like virtio 1.x rings little-endian: no byte swaps.
 * Guest physical addresses equal virtual ones (the runtime's identity map),
 * so a descriptor holds the buffer's pointer. One CPU, and interrupt
 * handlers run only inside tg_wait_irq(): no locks.
 */
#ifndef TESTGUEST_VIRTIO_RING_H
#define TESTGUEST_VIRTIO_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Feature bits of the transport and the ring (VIRTIO 1.2 chapter 6). */
#define VIRTIO_TRANSPORT_F_START    28
#define VIRTIO_TRANSPORT_F_END	    41 /* one past the last */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX	    29
#define VIRTIO_F_VERSION_1	    32
#define VIRTIO_F_ACCESS_PLATFORM    33
#define VIRTIO_F_RING_PACKED	    34
#define VIRTIO_F_IN_ORDER	    35
#define VIRTIO_F_ORDER_PLATFORM	    36
#define VIRTIO_F_SR_IOV		    37
#define VIRTIO_F_NOTIFICATION_DATA  38
#define VIRTIO_F_NOTIF_CONFIG_DATA  39
#define VIRTIO_F_RING_RESET	    40

#define VIRTIO_BIT(b) (1ULL << (b))

/* Descriptor flags. */
#define VRING_DESC_F_NEXT     1 /* the chain goes on at .next */
#define VRING_DESC_F_WRITE    2 /* device-writable */
#define VRING_DESC_F_INDIRECT 4 /* the buffer is a table of descriptors */

/* avail->flags without EVENT_IDX: the driver does not want interrupts. */
#define VRING_AVAIL_F_NO_INTERRUPT 1
/* used->flags without EVENT_IDX: the device does not want notifications. */
#define VRING_USED_F_NO_NOTIFY 1

/* The largest split queue (VIRTIO 1.2 2.7: Queue Size is at most 32768). */
#define VRING_MAX_NUM 32768
/* Ring alignment for queues made by the virtio core: a page, as legacy layouts had. */
#define VRING_DEFAULT_ALIGN 4096

/*
 * Errors, returned negated by everything in the virtio stack that can fail.
 * virtio_strerror() names them.
 */
enum virtio_error {
	VIRTIO_ENOSPC = 1, /* not enough free descriptors (or buffers) */
	VIRTIO_EINVAL,	   /* bad arguments, or a feature not negotiated */
	VIRTIO_EBROKEN,	   /* the device misbehaved: see the queue's or device's error */
	VIRTIO_ENODEV,	   /* no such device or queue */
	VIRTIO_EREFUSED,   /* the device refused FEATURES_OK, DRIVER_OK or QueueReady */
	VIRTIO_ETIMEDOUT,  /* the device did not answer in time */
	VIRTIO_EIO,	   /* a request completed with an error status */
	VIRTIO_E2BIG,	   /* larger than the buffer or the device allows */
};

const char *virtio_strerror(int err);

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* num entries, then used_event */
};

struct vring_used_elem {
	uint32_t id;  /* head of the chain the device is done with */
	uint32_t len; /* bytes the device wrote into its writable buffers */
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[]; /* num entries, then avail_event */
};

struct vring {
	unsigned int num;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

/*
 * The EVENT_IDX words sit just past each ring: used_event, written by the
 * driver, after the available ring ("interrupt me when the used index passes
 * this"); avail_event, written by the device, after the used ring ("notify
 * me when the available index passes this"). The ring memory has no declared
 * type, so the word past used->ring[] may be read as a u16; going through
 * void * keeps the compiler's aliasing warning quiet about it.
 */
#define vring_used_event(vr)  ((vr)->avail->ring[(vr)->num])
#define vring_avail_event(vr) (*(uint16_t *)(void *)((vr)->used->ring + (vr)->num))

/*
 * Bytes for a queue of @num laid out in one block: the descriptor table,
 * the available ring with used_event, padding to @align (a power of two),
 * then the used ring with avail_event.
 */
static inline size_t vring_size(unsigned int num, unsigned long align)
{
	return ((sizeof(struct vring_desc) * num + sizeof(uint16_t) * (3 + num) + align - 1) &
		~(align - 1)) +
	       sizeof(uint16_t) * 3 + sizeof(struct vring_used_elem) * num;
}

static inline void vring_init(struct vring *vr, unsigned int num, void *p, unsigned long align)
{
	uintptr_t used =
	    (uintptr_t)p + sizeof(struct vring_desc) * num + sizeof(uint16_t) * (3 + num);

	vr->num = num;
	vr->desc = p;
	vr->avail = (struct vring_avail *)((uintptr_t)p + sizeof(struct vring_desc) * num);
	vr->used = (struct vring_used *)((used + align - 1) & ~(uintptr_t)(align - 1));
}

/*
 * With EVENT_IDX, should the other side be told, having moved its index from
 * @old to @new while the one to be told asked to hear once it passes @event?
 * True when @event lies in [@old, @new), counted modulo 2^16.
 */
static inline bool vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* A doubly linked list, circular through its head (for the bus's lists). */
struct virtio_list {
	struct virtio_list *next, *prev;
};

#define virtio_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static inline void virtio_list_init(struct virtio_list *head)
{
	head->next = head;
	head->prev = head;
}

static inline bool virtio_list_empty(const struct virtio_list *head)
{
	return head->next == head;
}

static inline void virtio_list_add_tail(struct virtio_list *node, struct virtio_list *head)
{
	node->prev = head->prev;
	node->next = head;
	head->prev->next = node;
	head->prev = node;
}

static inline void virtio_list_del(struct virtio_list *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	virtio_list_init(node);
}

/* @pos: a struct type * walking the list at @head through member @member. */
#define virtio_list_for_each_entry(pos, head, member)                                              \
	for (pos = virtio_container_of((head)->next, __typeof__(*pos), member);                    \
	     &pos->member != (head);                                                               \
	     pos = virtio_container_of(pos->member.next, __typeof__(*pos), member))

/* One buffer of a request, in guest physical (= virtual) memory. */
struct virtio_sg {
	uint64_t addr;
	uint32_t len;
};

static inline struct virtio_sg virtio_sg_buf(const void *buf, uint32_t len)
{
	return (struct virtio_sg){.addr = (uintptr_t)buf, .len = len};
}

/* How virtqueue_add() lays a chain out. */
enum vq_add_mode {
	VQ_AUTO,     /* indirect when negotiated and the chain has more than one buffer */
	VQ_DIRECT,   /* one descriptor of the table per buffer */
	VQ_INDIRECT, /* one descriptor naming a table (needs RING_INDIRECT_DESC) */
};

/* The driver's record of one descriptor of the table. */
struct vq_desc_state {
	void *token;		  /* the caller's, while a chain starting here is posted */
	uint64_t in_len;	  /* writable bytes of that chain: the most used.len may say */
	uint16_t ndescs;	  /* table descriptors it took (1 when indirect) */
	uint16_t last;		  /* its last table descriptor, to give the chain back */
	bool reserved;		  /* taken by virtqueue_reserve_desc() for raw use */
	struct vring_desc *indir; /* this head's indirect table, kept for reuse */
	uint16_t indir_cap;	  /* entries it holds */
};

struct vq_stats {
	uint64_t added;		   /* chains posted by virtqueue_add() */
	uint64_t used;		   /* chains returned by virtqueue_get_buf() */
	uint64_t kicks;		   /* virtqueue_kick_prepare() calls */
	uint64_t notifies;	   /* notifications sent to the device */
	uint64_t kicks_suppressed; /* kick_prepare() said the device did not want one */
	uint64_t interrupts;	   /* device interrupts that found new used entries here */
	uint64_t bad_used;	   /* used entries rejected (each also breaks the queue) */
	uint64_t bad_len;	   /* used lengths larger than the chain's writable bytes */
};

struct virtio_device;

struct virtqueue {
	struct virtio_list list; /* on the device's vqs */
	struct virtio_device *vdev;
	unsigned int index;
	char name[24];				/* for reports, e.g. "virtio0.rx" */
	void (*callback)(struct virtqueue *vq); /* from the interrupt handler, may be NULL */
	bool (*notify)(struct virtqueue *vq);	/* the transport's doorbell; false: failed */
	void *priv;				/* the driver's */

	struct vring vring;
	unsigned int align;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_RING_F_INDIRECT_DESC negotiated */

	/* Driver state: nothing here is read back from the rings. */
	uint16_t free_head;    /* first free descriptor */
	unsigned int num_free; /* free descriptors */
	uint16_t *next;	       /* chain and free-list links, our copy */
	struct vq_desc_state *state;
	uint16_t avail_idx;	/* the available index we published */
	uint16_t kicked_idx;	/* avail_idx at the last kick_prepare() */
	unsigned int num_added; /* chains posted since then */
	uint16_t last_used_idx; /* next used entry to look at */
	unsigned int in_flight; /* chains posted and not yet returned */
	uint16_t avail_flags;	/* our copy of avail->flags */
	bool cb_enabled;	/* interrupts wanted (enable_cb/disable_cb) */

	bool broken;
	char error[120]; /* the first thing the device got wrong, "" if none */
	struct vq_stats stats;
};

/* What a virtqueue is made from. */
struct vring_params {
	unsigned int index;
	unsigned int num;   /* a power of two, 1..VRING_MAX_NUM */
	unsigned int align; /* a power of two >= 4; 0: VRING_DEFAULT_ALIGN */
	bool event_idx;
	bool indirect;
	bool (*notify)(struct virtqueue *vq);
	void (*callback)(struct virtqueue *vq);
	const char *name; /* copied, truncated to fit */
	void *mem;	  /* vring_size(num, align) zeroed bytes, 16-aligned; NULL: tg_alloc() */
};

/*
 * A new queue with empty rings, indices at 0 as after a device reset, and
 * interrupts wanted. NULL (reported) for a bad size or alignment. Memory
 * comes from tg_alloc(): it lives until the allocator mark it was made
 * under is released.
 */
struct virtqueue *vring_create_virtqueue(struct virtio_device *vdev, const struct vring_params *p);

/*
 * Of the transport feature bits in @features, keep the ones this ring
 * implements (INDIRECT_DESC, EVENT_IDX, VERSION_1, ACCESS_PLATFORM,
 * ORDER_PLATFORM) and drop the rest: no packed ring, in-order, notification
 * data or queue reset here. Device feature bits pass unchanged.
 */
uint64_t vring_transport_features(uint64_t features);

/*
 * Post a chain: @out device-readable buffers of @sg, then @in writable ones.
 * @token (not NULL) comes back from virtqueue_get_buf() when the device is
 * done. Does not notify. Returns the head descriptor, or -VIRTIO_ENOSPC
 * (too few free descriptors), -VIRTIO_EINVAL (no buffers, more than the
 * queue size, indirect not negotiated, NULL token), -VIRTIO_EBROKEN.
 * Zero-length buffers are posted as given (the device may refuse them).
 */
int virtqueue_add(struct virtqueue *vq, const struct virtio_sg *sg, unsigned int out,
		  unsigned int in, void *token, enum vq_add_mode mode);

static inline int virtqueue_add_outbuf(struct virtqueue *vq, const struct virtio_sg *sg,
				       unsigned int n, void *token)
{
	return virtqueue_add(vq, sg, n, 0, token, VQ_AUTO);
}

static inline int virtqueue_add_inbuf(struct virtqueue *vq, const struct virtio_sg *sg,
				      unsigned int n, void *token)
{
	return virtqueue_add(vq, sg, 0, n, token, VQ_AUTO);
}

/*
 * After one or more adds: does the device want a notification? With
 * EVENT_IDX, when the available index passed avail_event since the last
 * call; without, unless the device set VRING_USED_F_NO_NOTIFY.
 */
bool virtqueue_kick_prepare(struct virtqueue *vq);
/* Ring the doorbell, unconditionally. False (and the queue broken) if the transport failed. */
bool virtqueue_notify(struct virtqueue *vq);
/* Both: notify if the device wants it. False only on a failed notify. */
bool virtqueue_kick(struct virtqueue *vq);

/*
 * The next chain the device is done with: its token, and in *@len (may be
 * NULL) the bytes the device says it wrote, at most the chain's writable
 * bytes. NULL when there is none, or when the used entry is bad (the queue
 * is then broken: see vq->error).
 */
void *virtqueue_get_buf(struct virtqueue *vq, uint32_t *len);
/* Has the device returned entries virtqueue_get_buf() has not taken? */
bool virtqueue_more_used(const struct virtqueue *vq);

/*
 * Ask for interrupts: with EVENT_IDX used_event = the next entry, without
 * it avail->flags loses VRING_AVAIL_F_NO_INTERRUPT. Returns false when used
 * entries are already waiting (process them instead of sleeping: their
 * interrupt may have been suppressed), true when it is safe to wait.
 */
bool virtqueue_enable_cb(struct virtqueue *vq);
/*
 * Ask for no interrupts: VRING_AVAIL_F_NO_INTERRUPT, or with EVENT_IDX a
 * used_event one behind the next entry, which the device's used index has
 * passed and will not reach again before it wraps.
 */
void virtqueue_disable_cb(struct virtqueue *vq);

/*
 * From the transport's interrupt handler: if the device returned entries on
 * this queue, count it and run the callback. True when it had.
 */
bool vring_interrupt(struct virtqueue *vq);

/*
 * After a device reset: take back a chain that was posted and never
 * returned, returning its token; NULL when none is left.
 */
void *virtqueue_detach_unused_buf(struct virtqueue *vq);

static inline unsigned int virtqueue_num_free(const struct virtqueue *vq)
{
	return vq->num_free;
}

static inline bool virtqueue_is_broken(const struct virtqueue *vq)
{
	return vq->broken;
}

/* Record what went wrong (the first time only: later ones are counted by the caller). */
void virtqueue_report(struct virtqueue *vq, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Raw access, for hostile scenarios that post what no correct driver would:
 * loops, out-of-RAM addresses, nested indirect tables, oversize chains.
 * They bypass the bookkeeping; take the descriptors with
 * virtqueue_reserve_desc() first so that ordinary adds stay clear of them,
 * and take the device's answers with vring_pop_used_raw() (virtqueue_get_buf()
 * rejects a used entry naming a reserved descriptor).
 */

/* Take @n free descriptors off the free list into @ids. -VIRTIO_ENOSPC if too few. */
int virtqueue_reserve_desc(struct virtqueue *vq, uint16_t *ids, unsigned int n);
/* Give them back. */
void virtqueue_release_desc(struct virtqueue *vq, const uint16_t *ids, unsigned int n);
/* Write descriptor @i (< num) of the table as given. -VIRTIO_EINVAL if out of the table. */
int vring_write_desc(struct virtqueue *vq, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next);
/* Publish @head (any value) in the next available entry. Does not notify. */
void vring_post_raw(struct virtqueue *vq, uint16_t head);
/* Set the available index (to run it ahead of the entries written, say). */
void vring_set_avail_idx_raw(struct virtqueue *vq, uint16_t idx);
/* Take the next used entry as the device wrote it, unchecked. False when none. */
bool vring_pop_used_raw(struct virtqueue *vq, struct vring_used_elem *elem);

#endif
