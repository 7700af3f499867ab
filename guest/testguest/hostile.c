// SPDX-License-Identifier: MIT
/*
 * Hostile scenarios: the test guest does to the VMM's virtio devices what no
 * correct driver does, and checks that the VMM answers the way its code
 * promises (devices/virtio/virtqueue.h, virtio.h, blk.c, net.c,
 * devices/mmio/virtio_mmio.c):
 *
 * - a ring no correct driver can produce (a buffer outside guest RAM, a
 *   chain that loops or outgrows the queue, a nested indirect table, an
 *   available index run ahead, a head or next index out of the table, a
 *   zero-length buffer, a readable buffer after a writable one, an indirect
 *   descriptor without the feature) sets DEVICE_NEEDS_RESET with a config
 *   interrupt, returns nothing and touches nothing;
 * - rings the device cannot map at QueueReady (not in RAM, misaligned, a
 *   size that is no power of two up to 256) set NEEDS_RESET, but raise no
 *   interrupt before DRIVER_OK, and DRIVER_OK is then refused;
 * - a malformed request on a sane ring is answered with IOERR or UNSUPP;
 * - register misuse (read-only registers written, narrow or unaligned
 *   accesses, queue layout written after QueueReady or DRIVER_OK, status
 *   bits cleared, features not offered, a notify of a queue that does not
 *   exist, config accesses out of range) is ignored or refused;
 * - after a reset with requests in flight, once the status reads 0, nothing
 *   more is written into guest memory.
 *
 * The writable buffers of a refused chain hold a canary: the device must
 * leave them as they are. After each case the device is reset and probed
 * again, and a real round trip (a write read back; for the network card an
 * ARP exchange) proves it usable. Every round trip first reads back what the
 * previous one wrote, so a bad write chain that wrote anything would show.
 *
 * The net scenarios need a peer that answers ARP: the user-mode backend's
 * gateway, or the host end of a tap, from tg.net=user or tg.net=tap:GUEST:HOST
 * (user when absent).
 *
 * Each scenario is a table of steps (hostile.h), one file per area:
 * hostile_blk.c (bad chains and requests), hostile_regs.c, hostile_queue.c
 * (queue layout), hostile_net.c. This file has what they share: the device
 * helpers, the disk as a device to begin on and recover, raw chains, the
 * step runner and the group's table, in the order the scenarios run.
 */
#include "hostile.h"

/* The device's registers. */

/* Status 0, as the spec has drivers do it: write 0, then wait to read 0. */
bool dev_reset(struct hctx *c)
{
	uint64_t end = tg_ns() + EVENT_TIMEOUT;

	wreg(c, VIRTIO_MMIO_STATUS, 0);
	while (dev_status(c) != 0) {
		if (tg_ns() > end)
			return fail(c, "status 0x%x after writing 0", dev_status(c));
		cpu_relax();
	}
	return true;
}

bool expect_status(struct hctx *c, uint32_t want, const char *after)
{
	uint32_t s = dev_status(c);

	return s == want || fail(c, "status 0x%x after %s, expected 0x%x", s, after, want);
}

/*
 * NEEDS_RESET, set by a worker (so polled for), with a config interrupt
 * when DRIVER_OK was set (@live) and none before: the VMM raises it only
 * for a driver that can take it.
 */
static bool expect_needs_reset(struct hctx *c, bool live)
{
	uint64_t end = tg_ns() + EVENT_TIMEOUT;
	uint32_t s, isr;

	while (!((s = dev_status(c)) & STATUS_NEEDS_RESET) && tg_ns() < end)
		cpu_relax();
	if (!(s & STATUS_NEEDS_RESET))
		return fail(c, "no DEVICE_NEEDS_RESET after %llu ms (status 0x%x)",
			    (unsigned long long)(EVENT_TIMEOUT / MS), s);
	/* The interrupt status follows the status bit: give it the same time. */
	while (live && !((isr = reg(c, VIRTIO_MMIO_INTERRUPT_STATUS)) & VIRTIO_ISR_CONFIG) &&
	       tg_ns() < end)
		cpu_relax();
	isr = reg(c, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (live && !(isr & VIRTIO_ISR_CONFIG))
		return fail(c,
			    "NEEDS_RESET (status 0x%x) without a config interrupt "
			    "(interrupt status 0x%x)",
			    s, isr);
	if (!live && (isr & VIRTIO_ISR_CONFIG))
		return fail(c, "config interrupt before DRIVER_OK (interrupt status 0x%x)", isr);
	return true;
}

/* Nothing the driver did may have set NEEDS_RESET or raised a config interrupt. */
static bool expect_healthy(struct hctx *c, uint32_t want_status)
{
	uint32_t isr = reg(c, VIRTIO_MMIO_INTERRUPT_STATUS);

	if (!expect_status(c, want_status, "the misuse"))
		return false;
	return !(isr & VIRTIO_ISR_CONFIG) ||
	       fail(c, "config interrupt raised (interrupt status 0x%x)", isr);
}

/* Setting up and recovering. */

static void fill_pattern(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t *w = (uint64_t *)buf, x = 0x9e3779b97f4a7c15ULL * (seed + 1);

	for (size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

bool same_words(const void *a, const void *b, size_t len)
{
	const uint64_t *p = a, *q = b;

	for (size_t i = 0; i < len / 8; i++)
		if (p[i] != q[i])
			return false;
	return true;
}

/* Probe the device again (it was reset): its driver's state, and the device live. */
bool device_up(struct hctx *c)
{
	int err = virtio_reprobe(c->vdev, &c->opts);

	c->blk = virtio_blk_of(c->vdev);
	c->net = virtio_net_of(c->vdev);
	if (err || (!c->blk && !c->net))
		return fail(c, "probe: %s (%s)", virtio_strerror(err), c->vdev->probe_error);
	return expect_status(c, STATUS_LIVE, "the probe");
}

/*
 * Read back what the previous round trip left (nothing in between may have
 * written there), then write a new pattern and read it back.
 */
bool blk_round_trip(struct hctx *c)
{
	int err;

	if (c->have_last) {
		memset(c->rbuf, 0, RT_BYTES);
		err = virtio_blk_read(c->blk, c->scratch, c->rbuf, RT_BYTES);
		if (err)
			return fail(c, "round trip: read: %s", virtio_strerror(err));
		if (!same_words(c->rbuf, c->last, RT_BYTES))
			return fail(c,
				    "sectors %llu+2 changed since the last round trip: "
				    "a rejected request wrote them",
				    (unsigned long long)c->scratch);
	}
	fill_pattern(c->last, RT_BYTES, ++c->seed);
	err = virtio_blk_write(c->blk, c->scratch, c->last, RT_BYTES);
	if (err)
		return fail(c, "round trip: write: %s", virtio_strerror(err));
	memset(c->rbuf, 0, RT_BYTES);
	err = virtio_blk_read(c->blk, c->scratch, c->rbuf, RT_BYTES);
	if (err)
		return fail(c, "round trip: read: %s", virtio_strerror(err));
	if (!same_words(c->rbuf, c->last, RT_BYTES))
		return fail(c, "round trip: read back other data than written");
	c->have_last = true;
	return true;
}

/* Reset (which must clear NEEDS_RESET and the interrupt status), then probe again. */
bool reset_and_reprobe(struct hctx *c)
{
	uint32_t isr;

	if (!dev_reset(c))
		return false;
	isr = reg(c, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (isr)
		return fail(c, "interrupt status 0x%x after reset", isr);
	return device_up(c);
}

/* Reset, probe, round trip. */
static bool blk_recover(struct hctx *c)
{
	return reset_and_reprobe(c) && blk_round_trip(c);
}

/* The probe log line, printed at discovery already: dozens of reprobes would only slow us. */
static bool saved_verbose;

void hostile_quiet(void)
{
	saved_verbose = virtio_verbose;
	virtio_verbose = false;
}

static bool blk_begin(struct hctx *c, char *msg, size_t len, const struct virtio_probe_opts *opts)
{
	hostile_quiet();
	memset(c, 0, sizeof(*c));
	tg_outcome_init(&c->o, msg, len);
	c->dev = &hostile_blk_dev;
	if (opts)
		c->opts = *opts;
	c->vdev = virtio_find_device(VIRTIO_ID_BLOCK, 0);
	if (!c->vdev)
		return skip(c, "no virtio-blk device (run with --disk)");
	c->m = to_virtio_mmio(c->vdev);
	c->hdr = tg_alloc(sizeof(*c->hdr), 16);
	c->status = tg_alloc(16, 16);
	c->wbuf = tg_alloc(RT_BYTES, 512);
	c->rbuf = tg_alloc(RT_BYTES, 512);
	c->last = tg_alloc(RT_BYTES, 512);
	fill_pattern(c->wbuf, RT_BYTES, 0xbad);
	if (!device_up(c))
		return false;
	c->capacity = c->blk->capacity;
	if (c->blk->ro)
		return skip(c, "the disk is read-only: these scenarios write to it");
	if (c->capacity < 4 * SCRATCH_SECTORS)
		return skip(c, "the disk has %llu sectors, fewer than %u",
			    (unsigned long long)c->capacity, 4 * SCRATCH_SECTORS);
	c->scratch = c->capacity - SCRATCH_SECTORS;
	return blk_round_trip(c);
}

/*
 * Leave no device using this scenario's memory: reset the one it drove (it
 * may be set up by hand, unknown to the bus) and remove every bound one.
 */
static enum tg_result hostile_finish(struct hctx *c)
{
	if (c->m)
		virtio_mmio_write(c->m, VIRTIO_MMIO_STATUS, 0);
	virtio_remove_all();
	memset(&virtio_net_params, 0, sizeof(virtio_net_params));
	virtio_verbose = saved_verbose;
	return tg_outcome_result(&c->o);
}

/* Raw chains. */

void set_hdr(struct hctx *c, uint32_t type, uint64_t sector)
{
	c->hdr->type = type;
	c->hdr->reserved = 0;
	c->hdr->sector = sector;
	*c->status = 0xff;
}

/* Lay @n segments on @n reserved descriptors (@ids), linked in order. */
bool lay_chain(struct hctx *c, struct virtqueue *vq, const struct seg *s, unsigned int n,
	       uint16_t *ids)
{
	if (virtqueue_reserve_desc(vq, ids, n))
		return fail(c, "%u descriptors not free", n);
	for (unsigned int k = 0; k < n; k++) {
		bool more = k + 1 < n;

		vring_write_desc(vq, ids[k], s[k].addr, s[k].len,
				 (uint16_t)(s[k].flags | (more ? VRING_DESC_F_NEXT : 0)),
				 more ? ids[k + 1] : 0);
	}
	return true;
}

/* Lay @n segments as one chain and post it; c->ids keep it for X_USED. */
bool post_chain(struct hctx *c, struct virtqueue *vq, const struct seg *s, unsigned int n)
{
	if (n > TG_ARRAY_SIZE(c->ids))
		return fail(c, "a chain of %u segments: at most %u", n,
			    (unsigned int)TG_ARRAY_SIZE(c->ids));
	if (!lay_chain(c, vq, s, n, c->ids))
		return false;
	c->nids = n;
	vring_post_raw(vq, c->ids[0]);
	return true;
}

/* Fill an indirect table (16-aligned, zeroed) with @n segments linked in order. */
struct vring_desc *make_table(const struct seg *s, unsigned int n, unsigned int room)
{
	struct vring_desc *t = tg_alloc(TG_MAX(n, room) * sizeof(*t), 16);

	for (unsigned int k = 0; k < n; k++) {
		bool more = k + 1 < n;

		t[k] = (struct vring_desc){
		    .addr = s[k].addr,
		    .len = s[k].len,
		    .flags = (uint16_t)(s[k].flags | (more ? VRING_DESC_F_NEXT : 0)),
		    .next = (uint16_t)(more ? k + 1 : 0),
		};
	}
	return t;
}

/* One ring descriptor naming @t (@len bytes of it). */
bool post_indirect(struct hctx *c, struct virtqueue *vq, uint64_t t, uint32_t len,
		   uint16_t extra_flags)
{
	struct seg s = {t, len, (uint16_t)(VRING_DESC_F_INDIRECT | extra_flags)};

	return post_chain(c, vq, &s, 1);
}

/* Is every byte of @buf @v? Word by word: byte loops are slow in emulated ring 0. */
static bool all_bytes(const void *buf, size_t len, uint8_t v)
{
	const uint64_t *w = buf, x = 0x0101010101010101ULL * v;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != x)
			return false;
	return true;
}

/* Wait for one raw chain's used entry (notified already) and check it. */
static bool wait_raw_used(struct hctx *c, struct virtqueue *vq, uint16_t head, uint32_t want_len)
{
	uint64_t end = tg_ns() + EVENT_TIMEOUT;
	struct vring_used_elem e;

	while (!vring_pop_used_raw(vq, &e)) {
		if (tg_ns() > end)
			return fail(c, "not returned within %llu ms (status 0x%x)",
				    (unsigned long long)(EVENT_TIMEOUT / MS), dev_status(c));
		cpu_relax();
	}
	if (e.id != head || e.len != want_len)
		return fail(c, "used entry id %u len %u, expected id %u len %u", e.id, e.len, head,
			    want_len);
	return true;
}

static bool blk_run_begin(struct hctx *c, char *msg, size_t len, const struct hscenario *sc)
{
	return blk_begin(c, msg, len, &sc->opts);
}

const struct hdev hostile_blk_dev = {
    .begin = blk_run_begin,
    .recover = blk_recover,
    .round_trip = blk_round_trip,
};

/* The step runner: see hostile.h. */

struct virtqueue *step_vq(struct hctx *c, const struct hstep *s)
{
	switch (s->q) {
	case Q_BLK: return c->blk ? c->blk->vqs[0] : NULL;
	case Q_TX: return c->net ? c->net->tx : NULL;
	case Q_RX: return c->net ? c->net->rx : NULL;
	}
	return NULL;
}

uint32_t read_reg(struct hctx *c, const struct hreg *r)
{
	uintptr_t a = c->m->base + r->off;

	switch (r->width) {
	case 8: return tg_read8(a);
	case 16: return tg_read16(a);
	case 32: return tg_read32(a);
	}
	return reg(c, r->off);
}

void write_reg(struct hctx *c, unsigned int off, uint32_t val, unsigned int width)
{
	uintptr_t a = c->m->base + off;

	switch (width) {
	case 8: tg_write8(a, (uint8_t)val); break;
	case 16: tg_write16(a, (uint16_t)val); break;
	case 32: tg_write32(a, val); break;
	default: wreg(c, off, val); break;
	}
}

bool write_regs(struct hctx *c, const struct hstep *s)
{
	for (unsigned int i = 0; i < s->wr.n; i++)
		write_reg(c, s->wr.w[i].off, s->wr.w[i].val, s->wr.w[i].width);
	return true;
}

/* A round trip as a step: the device still works (hdev.round_trip). */
bool round_trip(struct hctx *c, const struct hstep *s)
{
	(void)s;
	return c->dev->round_trip(c);
}

/* A reset as a step: Status reads 0 after writing 0. */
bool reset(struct hctx *c, const struct hstep *s)
{
	(void)s;
	return dev_reset(c);
}

/* What a check compares with, taken before the action. */
struct hbefore {
	uint16_t used;
	uint64_t config_irqs;
	uint32_t kept;
};

/* A config interrupt taken by the guest (the IO-APIC routes it), and NEEDS_RESET with it. */
static bool check_config_irq(struct hctx *c, const struct hbefore *b)
{
	uint64_t end = tg_ns() + EVENT_TIMEOUT;

	while (c->vdev->stats.config_interrupts == b->config_irqs && tg_ns() < end)
		tg_wait_irq(end - tg_ns());
	if (c->vdev->stats.config_interrupts == b->config_irqs)
		return fail(c, "no config interrupt within %llu ms (status 0x%x)",
			    (unsigned long long)(EVENT_TIMEOUT / MS), dev_status(c));
	if (!(dev_status(c) & STATUS_NEEDS_RESET))
		return fail(c, "config interrupt, but status 0x%x", dev_status(c));
	return true;
}

static bool check_not_used(struct hctx *c, const struct hstep *s, const struct hbefore *b)
{
	uint16_t now = step_vq(c, s)->vring.used->idx;

	return now == b->used ||
	       fail(c, "the device returned the chain (used index %u -> %u)", b->used, now);
}

/* Used entries may come (a good buffer's), but none for the chain post_chain() posted. */
static bool check_head_not_used(struct hctx *c, const struct hstep *s)
{
	struct vring_used_elem e;

	while (vring_pop_used_raw(step_vq(c, s), &e))
		if (e.id == c->ids[0])
			return fail(c, "the device returned the chain it refused (len %u)", e.len);
	return true;
}

static bool check_canary(struct hctx *c)
{
	if (!all_bytes(c->rbuf, RT_BYTES, CANARY) || !all_bytes(c->status, 16, CANARY))
		return fail(c, "the device wrote into the buffers of a chain it refused");
	return true;
}

/* The chain post_chain() posted comes back as expected; its descriptors are ours again. */
static bool check_used(struct hctx *c, const struct hstep *s)
{
	struct virtqueue *vq = step_vq(c, s);

	if (!wait_raw_used(c, vq, c->ids[0], s->used_len))
		return false;
	virtqueue_release_desc(vq, c->ids, c->nids);
	c->nids = 0;
	return true;
}

static bool check_status_byte(struct hctx *c, const struct hstep *s)
{
	return *c->status == s->want ||
	       fail(c, "status %u, expected %u", *c->status, (unsigned int)s->want);
}

static bool check_req(struct hctx *c, const struct hstep *s)
{
	if (c->res < 0 || (uint32_t)c->res != s->want)
		return fail(c, "result %d (%s), expected status %u", c->res,
			    c->res < 0 ? virtio_strerror(c->res) : "a status",
			    (unsigned int)s->want);
	/* After an error only the status byte is promised: used length 1. */
	if (s->want != VIRTIO_BLK_S_OK && c->res_len != 1)
		return fail(c, "used length %u with an error status, expected 1", c->res_len);
	return true;
}

/* Requests posted, interrupts taken: for QUIET_NS no queue may have served any. */
static bool check_queues_quiet(struct hctx *c)
{
	uint64_t end = tg_ns() + QUIET_NS;

	while (tg_ns() < end)
		tg_wait_irq(end - tg_ns());
	for (unsigned int q = 0; q < c->blk->nr_queues; q++)
		if (virtqueue_more_used(c->blk->vqs[q]))
			return fail(c, "queue %u of %u served a request while NEEDS_RESET was set",
				    q, c->blk->nr_queues);
	return true;
}

static bool check_reads(struct hctx *c, const struct hstep *s)
{
	uint32_t mask = s->r.mask ? s->r.mask : ~0u, v = read_reg(c, &s->r);

	if ((v & mask) == s->want)
		return true;
	if (mask != ~0u)
		return fail(c, "reads 0x%x, expected 0x%x in the bits 0x%x", v,
			    (unsigned int)s->want, mask);
	return fail(c, "reads 0x%x, expected 0x%x", v, (unsigned int)s->want);
}

static bool check_kept(struct hctx *c, const struct hstep *s, const struct hbefore *b)
{
	uint32_t v = read_reg(c, &s->r);

	return v == b->kept || fail(c, "read 0x%x, then 0x%x", b->kept, v);
}

static bool check_status(struct hctx *c, const struct hstep *s)
{
	uint32_t v = dev_status(c);

	return v == s->status || fail(c, "status 0x%x, expected 0x%x", v, (unsigned int)s->status);
}

/* What @s expects, in the order of hostile.h: the device's reaction first, recovery last. */
static bool check_step(struct hctx *c, const struct hstep *s, const struct hbefore *b)
{
	unsigned int x = s->expect;

	return (!(x & X_CONFIG_IRQ) || check_config_irq(c, b)) &&
	       (!(x & X_NEEDS_RESET) || expect_needs_reset(c, true)) &&
	       (!(x & X_NEEDS_RESET_QUIET) || expect_needs_reset(c, false)) &&
	       (!(x & X_QUEUE_REFUSED) || expect_queue_refused(c)) &&
	       (!(x & X_NOT_USED) || check_not_used(c, s, b)) &&
	       (!(x & X_HEAD_NOT_USED) || check_head_not_used(c, s)) &&
	       (!(x & X_CANARY) || check_canary(c)) && (!(x & X_USED) || check_used(c, s)) &&
	       (!(x & X_STATUS_BYTE) || check_status_byte(c, s)) &&
	       (!(x & X_REQ) || check_req(c, s)) &&
	       (!(x & X_QUEUES_QUIET) || check_queues_quiet(c)) &&
	       (!(x & X_READS) || check_reads(c, s)) && (!(x & X_KEPT) || check_kept(c, s, b)) &&
	       (!(x & X_LAYOUT) || expect_layout(c, &s->lay)) &&
	       (!(x & X_STATUS) || check_status(c, s)) &&
	       (!(x & X_HEALTHY) || expect_healthy(c, s->status)) &&
	       (!(x & X_RESET) || dev_reset(c)) && (!(x & X_RECOVER) || c->dev->recover(c));
}

static void take_before(struct hctx *c, const struct hstep *s, struct hbefore *b)
{
	if (s->expect & X_NOT_USED)
		b->used = step_vq(c, s)->vring.used->idx;
	if (s->expect & X_CONFIG_IRQ)
		b->config_irqs = c->vdev->stats.config_interrupts;
	if (s->expect & X_KEPT)
		b->kept = read_reg(c, &s->r);
	/* The device-writable buffers of the bad chains: a refused chain leaves them be. */
	if (s->expect & X_CANARY) {
		memset(c->rbuf, CANARY, RT_BYTES);
		memset(c->status, CANARY, 16);
	}
}

static bool run_step(struct hctx *c, const struct hstep *s)
{
	struct hbefore b = {0};

	if (s->name)
		c->o.step = s->name;
	take_before(c, s, &b);
	if (s->act && !s->act(c, s))
		return false;
	if (s->expect & X_CANARY)
		*c->status = CANARY; /* set_hdr() marked it unwritten */
	if (s->kick)
		virtqueue_notify(step_vq(c, s));
	return check_step(c, s, &b);
}

static bool run_steps(struct hctx *c, const struct hscenario *sc)
{
	for (unsigned int i = 0; i < sc->nsteps; i++) {
		if (run_step(c, &sc->steps[i]))
			continue;
		/* A step that stops the table must say why: never a silent PASS. */
		if (!c->o.failed && !c->o.skipped)
			fail(c, "step %u stopped without a reason", i);
		return false;
	}
	c->o.step = NULL;
	return true;
}

static bool run_end(struct hctx *c, const struct hscenario *sc)
{
	switch (sc->end) {
	case END_RECOVER: c->o.step = "recovery"; return c->dev->recover(c);
	case END_HEALTHY_ROUND_TRIP:
		c->o.step = NULL;
		return expect_healthy(c, STATUS_LIVE) && c->dev->round_trip(c);
	case END_NONE: return true;
	}
	return fail(c, "no such end %d", sc->end);
}

/* Begin, the steps, the end, and the note: the whole of a table scenario. */
enum tg_result hostile_run(char *msg, size_t len, const struct hscenario *sc)
{
	const struct hdev *dev = sc->dev ? sc->dev : &hostile_blk_dev;
	struct hctx c;

	if (dev->begin(&c, msg, len, sc) && run_steps(&c, sc) && run_end(&c, sc) && sc->note)
		sc->note(&c, sc);
	return hostile_finish(&c);
}

/* "N variants": each step one way of doing the same bad thing. */
void note_variants(struct hctx *c, const struct hscenario *sc)
{
	tg_snprintf(c->o.msg, c->o.len, "%u variant%s", sc->nsteps, sc->nsteps == 1 ? "" : "s");
}

/* The group, in its order: tests/guest/ checks that all of it passes. */
static const struct tg_scenario hostile_scenarios[] = {
    {"buffer_outside_ram", hostile_buffer_outside_ram},
    {"chain_loop", hostile_chain_loop},
    {"chain_oversized", hostile_chain_oversized},
    {"indirect_misuse", hostile_indirect_misuse},
    {"indirect_unnegotiated", hostile_indirect_unnegotiated},
    {"ring_indices", hostile_ring_indices},
    {"bad_buffers", hostile_bad_buffers},
    {"needs_reset_interrupt", hostile_needs_reset_interrupt},
    {"reset_in_flight", hostile_reset_in_flight},
    {"bad_requests", hostile_bad_requests},
    {"register_misuse", hostile_register_misuse},
    {"queue_regs_locked", hostile_queue_regs_locked},
    {"setup_order", hostile_setup_order},
    {"queue_bad_rings", hostile_queue_bad_rings},
    {"notify_bad_queue", hostile_notify_bad_queue},
    {"isr_ack", hostile_isr_ack},
    {"status_no_clear", hostile_status_no_clear},
    {"features_refused", hostile_features_refused},
    {"config_space", hostile_config_space},
    {"net_rx_readable", hostile_net_rx_readable},
    {"net_tx_bad_chains", hostile_net_tx_bad_chains},
    {"net_tx_loop", hostile_net_tx_loop},
};

const struct tg_group tg_hostile_group = {
    .name = "hostile",
    .scenarios = hostile_scenarios,
    .count = TG_ARRAY_SIZE(hostile_scenarios),
};
