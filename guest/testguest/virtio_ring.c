// SPDX-License-Identifier: MIT
/*
 * The split virtqueue, driver side: posting chains, kicking, taking used
 * entries back, interrupt suppression, and the raw access hostile scenarios
 * need. Built into the guest and into the host's unit tests.
 */
#include "virtio_ring.h"
#include "rt.h"

/*
 * x86 keeps stores in order with other stores and loads in order with other
 * loads (TSO): publishing a ring entry before its index, or reading the used
 * index before the entry, only needs the compiler kept in order. A store
 * followed by a load of another word (publish, then read the device's event
 * word or flags) can be reordered by the CPU and needs a full fence.
 */
#define ring_wmb() tg_barrier()
#define ring_rmb() tg_barrier()
#define ring_mb()  tg_mb()

/* The device may change these at any time: read (and write) each exactly once. */
static inline uint16_t read16(const uint16_t *p)
{
	return *(const volatile uint16_t *)p;
}

static inline uint32_t read32(const uint32_t *p)
{
	return *(const volatile uint32_t *)p;
}

static inline void write16(uint16_t *p, uint16_t v)
{
	*(volatile uint16_t *)p = v;
}

const char *virtio_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0: return "success";
	case VIRTIO_ENOSPC: return "no free descriptors or buffers";
	case VIRTIO_EINVAL: return "invalid argument";
	case VIRTIO_EBROKEN: return "the device misbehaved";
	case VIRTIO_ENODEV: return "no such device or queue";
	case VIRTIO_EREFUSED: return "refused by the device";
	case VIRTIO_ETIMEDOUT: return "timed out";
	case VIRTIO_EIO: return "I/O error";
	case VIRTIO_E2BIG: return "too large";
	}
	return "unknown error";
}

static void vreport(struct virtqueue *vq, const char *fmt, va_list ap)
{
	char msg[sizeof(vq->error)];

	if (vq->error[0])
		return;
	tg_vsnprintf(msg, sizeof(msg), fmt, ap);
	memcpy(vq->error, msg, sizeof(msg));
	tg_printf("virtio: %s: %s\n", vq->name, msg);
}

void virtqueue_report(struct virtqueue *vq, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(vq, fmt, ap);
	va_end(ap);
}

/* A used entry no correct device writes: report it and never touch the queue again. */
__attribute__((format(printf, 2, 3))) static void bad_used(struct virtqueue *vq, const char *fmt,
							   ...)
{
	va_list ap;

	vq->stats.bad_used++;
	vq->broken = true;
	va_start(ap, fmt);
	vreport(vq, fmt, ap);
	va_end(ap);
}

static bool is_pow2(unsigned long x)
{
	return x && !(x & (x - 1));
}

static void init_state(struct virtqueue *vq, const struct vring_params *p, void *mem)
{
	unsigned int num = p->num;

	vring_init(&vq->vring, num, mem, vq->align);
	vq->index = p->index;
	vq->notify = p->notify;
	vq->callback = p->callback;
	vq->event_idx = p->event_idx;
	vq->indirect = p->indirect;
	tg_snprintf(vq->name, sizeof(vq->name), "%s", p->name ? p->name : "vq");
	for (unsigned int i = 0; i < num; i++)
		vq->next[i] = (uint16_t)(i + 1 < num ? i + 1 : 0);
	vq->free_head = 0;
	vq->num_free = num;
	vq->cb_enabled = true; /* used_event 0 and flags 0: the first entry interrupts */
	virtio_list_init(&vq->list);
}

struct virtqueue *vring_create_virtqueue(struct virtio_device *vdev, const struct vring_params *p)
{
	unsigned int align = p->align ? p->align : VRING_DEFAULT_ALIGN;
	struct virtqueue *vq;
	void *mem = p->mem;

	if (!is_pow2(p->num) || p->num > VRING_MAX_NUM || !is_pow2(align) || align < 4) {
		tg_printf("virtio: queue %u: bad size %u or alignment %u\n", p->index, p->num,
			  align);
		return NULL;
	}
	vq = tg_alloc(sizeof(*vq), 64);
	memset(vq, 0, sizeof(*vq));
	vq->next = tg_alloc(p->num * sizeof(*vq->next), 8);
	vq->state = tg_alloc(p->num * sizeof(*vq->state), 64);
	memset(vq->state, 0, p->num * sizeof(*vq->state));
	if (!mem)
		mem = tg_alloc(vring_size(p->num, align), TG_PAGE_SIZE);
	memset(mem, 0, vring_size(p->num, align));
	vq->vdev = vdev;
	vq->align = align;
	init_state(vq, p, mem);
	return vq;
}

uint64_t vring_transport_features(uint64_t features)
{
	const uint64_t kept = VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
			      VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			      VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM) |
			      VIRTIO_BIT(VIRTIO_F_ORDER_PLATFORM);
	uint64_t transport = 0;

	for (unsigned int bit = VIRTIO_TRANSPORT_F_START; bit < VIRTIO_TRANSPORT_F_END; bit++)
		transport |= VIRTIO_BIT(bit);
	return features & (~transport | kept);
}

/* This head's indirect table, grown (never shrunk: the allocator cannot free) to @n entries. */
static struct vring_desc *indirect_table(struct virtqueue *vq, uint16_t head, unsigned int n)
{
	struct vq_desc_state *st = &vq->state[head];
	unsigned int cap = 8;

	if (st->indir_cap >= n)
		return st->indir;
	while (cap < n)
		cap *= 2;
	st->indir = tg_alloc(cap * sizeof(struct vring_desc), 16);
	st->indir_cap = (uint16_t)cap;
	return st->indir;
}

static uint16_t desc_flags(unsigned int k, unsigned int out, unsigned int total)
{
	return (uint16_t)((k >= out ? VRING_DESC_F_WRITE : 0) |
			  (k + 1 < total ? VRING_DESC_F_NEXT : 0));
}

/* Fill @total table descriptors from the free list; returns the writable bytes. */
static uint64_t post_direct(struct virtqueue *vq, uint16_t head, const struct virtio_sg *sg,
			    unsigned int out, unsigned int total)
{
	struct vq_desc_state *st = &vq->state[head];
	uint64_t in_len = 0;
	uint16_t i = head;

	for (unsigned int k = 0; k < total; k++) {
		struct vring_desc *d = &vq->vring.desc[i];

		d->addr = sg[k].addr;
		d->len = sg[k].len;
		d->flags = desc_flags(k, out, total);
		d->next = k + 1 < total ? vq->next[i] : 0;
		if (k >= out)
			in_len += sg[k].len;
		st->last = i;
		i = vq->next[i];
	}
	vq->free_head = i;
	st->ndescs = (uint16_t)total;
	return in_len;
}

/* One table descriptor naming this head's indirect table; returns the writable bytes. */
static uint64_t post_indirect(struct virtqueue *vq, uint16_t head, const struct virtio_sg *sg,
			      unsigned int out, unsigned int total)
{
	struct vring_desc *table = indirect_table(vq, head, total);
	struct vq_desc_state *st = &vq->state[head];
	struct vring_desc *d = &vq->vring.desc[head];
	uint64_t in_len = 0;

	for (unsigned int k = 0; k < total; k++) {
		table[k] = (struct vring_desc){
		    .addr = sg[k].addr,
		    .len = sg[k].len,
		    .flags = desc_flags(k, out, total),
		    .next = (uint16_t)(k + 1 < total ? k + 1 : 0),
		};
		if (k >= out)
			in_len += sg[k].len;
	}
	d->addr = (uintptr_t)table;
	d->len = (uint32_t)(total * sizeof(struct vring_desc));
	d->flags = VRING_DESC_F_INDIRECT;
	d->next = 0;
	vq->free_head = vq->next[head];
	st->last = head;
	st->ndescs = 1;
	return in_len;
}

/* Make @head the next available entry: the entry first, then the index that shows it. */
static void publish(struct virtqueue *vq, uint16_t head)
{
	struct vring *vr = &vq->vring;

	vr->avail->ring[vq->avail_idx & (vr->num - 1)] = head;
	ring_wmb();
	vq->avail_idx++;
	write16(&vr->avail->idx, vq->avail_idx);
	vq->num_added++;
}

static int add_mode_indirect(const struct virtqueue *vq, enum vq_add_mode mode, unsigned int total)
{
	switch (mode) {
	case VQ_DIRECT: return 0;
	case VQ_INDIRECT: return vq->indirect ? 1 : -VIRTIO_EINVAL;
	case VQ_AUTO: return vq->indirect && total > 1;
	}
	return -VIRTIO_EINVAL;
}

int virtqueue_add(struct virtqueue *vq, const struct virtio_sg *sg, unsigned int out,
		  unsigned int in, void *token, enum vq_add_mode mode)
{
	unsigned int num = vq->vring.num, total = out + in;
	struct vq_desc_state *st;
	int indirect;
	uint16_t head;

	if (vq->broken)
		return -VIRTIO_EBROKEN;
	/* The spec caps a chain at the queue size, indirect or not (2.7.5.3.1). */
	if (!token || out > num || in > num || !total || total > num)
		return -VIRTIO_EINVAL;
	indirect = add_mode_indirect(vq, mode, total);
	if (indirect < 0)
		return indirect;
	if (vq->num_free < (indirect ? 1 : total))
		return -VIRTIO_ENOSPC;
	/* kick_prepare() compares 16-bit indices: never let 2^16 adds pile up unkicked. */
	if (vq->num_added == 0xffff)
		virtqueue_kick(vq);
	head = vq->free_head;
	st = &vq->state[head];
	if (indirect)
		st->in_len = post_indirect(vq, head, sg, out, total);
	else
		st->in_len = post_direct(vq, head, sg, out, total);
	st->token = token;
	vq->num_free -= st->ndescs;
	vq->in_flight++;
	vq->stats.added++;
	publish(vq, head);
	return head;
}

bool virtqueue_kick_prepare(struct virtqueue *vq)
{
	struct vring *vr = &vq->vring;
	uint16_t old = vq->kicked_idx, new_idx = vq->avail_idx;
	bool need;

	/* Our index must be visible before we look at what the device asked for. */
	ring_mb();
	vq->kicked_idx = new_idx;
	vq->num_added = 0;
	vq->stats.kicks++;
	if (vq->event_idx)
		need = vring_need_event(read16(&vring_avail_event(vr)), new_idx, old);
	else
		need = !(read16(&vr->used->flags) & VRING_USED_F_NO_NOTIFY);
	if (!need)
		vq->stats.kicks_suppressed++;
	return need;
}

bool virtqueue_notify(struct virtqueue *vq)
{
	if (vq->broken)
		return false;
	vq->stats.notifies++;
	if (vq->notify && !vq->notify(vq)) {
		vq->broken = true;
		virtqueue_report(vq, "notify failed");
		return false;
	}
	return true;
}

bool virtqueue_kick(struct virtqueue *vq)
{
	return !virtqueue_kick_prepare(vq) || virtqueue_notify(vq);
}

bool virtqueue_more_used(const struct virtqueue *vq)
{
	return read16(&vq->vring.used->idx) != vq->last_used_idx;
}

/*
 * Step past one used entry. With EVENT_IDX, used_event follows while
 * interrupts are wanted: the next entry. While they are not it stays where
 * virtqueue_disable_cb() left it: moving it along one behind would put it
 * inside the span the device has published since its last interrupt check
 * whenever we consume while the device works, which asks for an interrupt
 * per device batch (vring_need_event()).
 */
static void advance_used(struct virtqueue *vq)
{
	vq->last_used_idx++;
	if (vq->event_idx && vq->cb_enabled)
		write16(&vring_used_event(&vq->vring), vq->last_used_idx);
}

static void detach_chain(struct virtqueue *vq, uint16_t head)
{
	struct vq_desc_state *st = &vq->state[head];

	vq->next[st->last] = vq->free_head;
	vq->free_head = head;
	vq->num_free += st->ndescs;
	st->token = NULL;
	st->ndescs = 0;
	vq->in_flight--;
}

/* Is there a used entry to take, and is the used index sane? False (maybe broken) if not. */
static bool used_pending(struct virtqueue *vq)
{
	uint16_t used_idx = read16(&vq->vring.used->idx);
	uint16_t pending = (uint16_t)(used_idx - vq->last_used_idx);

	if (!pending)
		return false;
	if (pending > vq->in_flight) {
		bad_used(vq, "used index %u is %u entries past %u, with %u chains posted", used_idx,
			 pending, vq->last_used_idx, vq->in_flight);
		return false;
	}
	return true;
}

/* Does used id @id name the head of a chain we posted? Reports (and breaks) when not. */
static bool used_id_ok(struct virtqueue *vq, uint32_t id)
{
	if (id >= vq->vring.num) {
		bad_used(vq, "used id %u out of range (queue size %u)", id, vq->vring.num);
		return false;
	}
	if (vq->state[id].reserved) {
		bad_used(vq, "used id %u names a descriptor reserved for raw use", id);
		return false;
	}
	if (!vq->state[id].token) {
		bad_used(vq, "used id %u names a descriptor that starts no posted chain", id);
		return false;
	}
	return true;
}

void *virtqueue_get_buf(struct virtqueue *vq, uint32_t *len)
{
	struct vring_used_elem *elem;
	struct vq_desc_state *st;
	uint32_t id, used_len;
	void *token;

	if (vq->broken || !used_pending(vq))
		return NULL;
	ring_rmb();
	elem = &vq->vring.used->ring[vq->last_used_idx & (vq->vring.num - 1)];
	id = read32(&elem->id);
	used_len = read32(&elem->len);
	if (!used_id_ok(vq, id))
		return NULL;
	st = &vq->state[id];
	if (used_len > st->in_len) {
		vq->stats.bad_len++;
		virtqueue_report(vq, "used len %u for id %u, which has %llu writable bytes",
				 used_len, id, (unsigned long long)st->in_len);
		used_len = (uint32_t)st->in_len;
	}
	token = st->token;
	detach_chain(vq, (uint16_t)id);
	advance_used(vq);
	vq->stats.used++;
	if (len)
		*len = used_len;
	return token;
}

bool virtqueue_enable_cb(struct virtqueue *vq)
{
	struct vring *vr = &vq->vring;

	vq->cb_enabled = true;
	if (vq->event_idx) {
		write16(&vring_used_event(vr), vq->last_used_idx);
	} else {
		vq->avail_flags &= (uint16_t)~VRING_AVAIL_F_NO_INTERRUPT;
		write16(&vr->avail->flags, vq->avail_flags);
	}
	/* The request must be visible before we look whether entries came meanwhile. */
	ring_mb();
	return !virtqueue_more_used(vq);
}

void virtqueue_disable_cb(struct virtqueue *vq)
{
	struct vring *vr = &vq->vring;

	vq->cb_enabled = false;
	if (vq->event_idx) {
		/* One behind: the device's index crosses it again 65536 entries on. */
		write16(&vring_used_event(vr), (uint16_t)(vq->last_used_idx - 1));
	} else {
		vq->avail_flags |= VRING_AVAIL_F_NO_INTERRUPT;
		write16(&vr->avail->flags, vq->avail_flags);
	}
}

bool vring_interrupt(struct virtqueue *vq)
{
	if (vq->broken || !virtqueue_more_used(vq))
		return false;
	vq->stats.interrupts++;
	if (vq->callback)
		vq->callback(vq);
	return true;
}

void *virtqueue_detach_unused_buf(struct virtqueue *vq)
{
	for (unsigned int i = 0; i < vq->vring.num; i++) {
		void *token = vq->state[i].token;

		if (token) {
			detach_chain(vq, (uint16_t)i);
			return token;
		}
	}
	return NULL;
}

int virtqueue_reserve_desc(struct virtqueue *vq, uint16_t *ids, unsigned int n)
{
	if (vq->num_free < n)
		return -VIRTIO_ENOSPC;
	for (unsigned int k = 0; k < n; k++) {
		uint16_t id = vq->free_head;

		vq->free_head = vq->next[id];
		vq->num_free--;
		vq->state[id].reserved = true;
		ids[k] = id;
	}
	return 0;
}

void virtqueue_release_desc(struct virtqueue *vq, const uint16_t *ids, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++) {
		uint16_t id = ids[k];

		if (id >= vq->vring.num || !vq->state[id].reserved)
			continue;
		vq->state[id].reserved = false;
		vq->next[id] = vq->free_head;
		vq->free_head = id;
		vq->num_free++;
	}
}

int vring_write_desc(struct virtqueue *vq, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	if (i >= vq->vring.num)
		return -VIRTIO_EINVAL;
	vq->vring.desc[i] =
	    (struct vring_desc){.addr = addr, .len = len, .flags = flags, .next = next};
	return 0;
}

void vring_post_raw(struct virtqueue *vq, uint16_t head)
{
	publish(vq, head);
}

void vring_set_avail_idx_raw(struct virtqueue *vq, uint16_t idx)
{
	ring_wmb();
	vq->avail_idx = idx;
	write16(&vq->vring.avail->idx, idx);
}

bool vring_pop_used_raw(struct virtqueue *vq, struct vring_used_elem *elem)
{
	struct vring_used_elem *e;

	if (!virtqueue_more_used(vq))
		return false;
	ring_rmb();
	e = &vq->vring.used->ring[vq->last_used_idx & (vq->vring.num - 1)];
	elem->id = read32(&e->id);
	elem->len = read32(&e->len);
	advance_used(vq);
	return true;
}
