// SPDX-License-Identifier: MIT
/*
 * virtio-net on a fake backend: the test plays the guest driver (rings and
 * buffers in a test guest_mem, vring_helper.h) and the host network (a FIFO
 * of frames for the guest, a record of what the guest sent). Most cases set
 * the queues up by hand and call the receive and transmit paths directly,
 * with no worker thread; one goes through DRIVER_OK and the worker.
 *
 * Two fakes: "tap", whose frames carry a virtio_net_hdr_v1 and which can do
 * every offload, and "user", bare Ethernet and no offloads.
 */
#include <endian.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/memory.h"
#include "core/util.h"
#include "devices/virtio/net_internal.h"
#include "tests/unit/suites.h"
#include "tests/unit/vring_helper.h"

#define MEM_SIZE (16 * MiB)

/* The test driver's rings, and the areas its buffers are cut from. */
#define RX_DESC	    0x10000ULL
#define RX_AVAIL    0x11000ULL
#define RX_USED	    0x12000ULL
#define TX_DESC	    0x20000ULL
#define TX_AVAIL    0x21000ULL
#define TX_USED	    0x22000ULL
#define RX_AREA	    0x100000ULL
#define TX_AREA	    0x800000ULL
#define AREA_SIZE   0x700000ULL
#define POISON	    0xee
#define HDR	    NET_VNET_HDR_LEN
#define LEGACY_HDR  10 /* struct virtio_net_hdr: no num_buffers */
#define FAKE_FRAMES 16
#define WAIT_MS	    10000

#define OUT(gpa, len) VRING_OUT(gpa, len)
#define IN(gpa, len)  VRING_IN(gpa, len)

/* Features a driver would take, in the combinations the tests use. */
#define F_V1	    BIT(VIRTIO_F_VERSION_1)
#define F_MRG	    BIT(VIRTIO_NET_F_MRG_RXBUF)
#define F_EVENT_IDX BIT(VIRTIO_RING_F_EVENT_IDX)
/* What tx_csum_hdr needs the driver to have negotiated. */
#define F_TX_OFFLOADS (BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4))

static const uint8_t test_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/* --- The fake backend --- */

struct fake_frame {
	uint8_t *data;
	size_t len;
};

struct fake_backend {
	struct net_backend be;
	pthread_mutex_t lock; /* the worker test touches it from two threads */
	int rx_fd;	      /* eventfd, readable while frames wait */
	struct fake_frame fifo[FAKE_FRAMES];
	unsigned int fifo_head, fifo_len;
	unsigned int peeks, consumes;
	enum net_send_result answer; /* what send() says */
	unsigned int send_calls;
	struct fake_frame sent[FAKE_FRAMES]; /* frames taken (NET_SENT) */
	unsigned int nr_sent;
	unsigned int offloads_set, set_offloads_calls;
};

/* @be is the first member. */
static struct fake_backend *fake_of(struct net_backend *be)
{
	return (struct fake_backend *)be;
}

static int fake_peek(struct net_backend *be, const uint8_t **frame, size_t *len)
{
	struct fake_backend *f = fake_of(be);
	int ret = 0;

	pthread_mutex_lock(&f->lock);
	f->peeks++;
	if (f->fifo_len) {
		*frame = f->fifo[f->fifo_head].data;
		*len = f->fifo[f->fifo_head].len;
		ret = 1;
	}
	pthread_mutex_unlock(&f->lock);
	return ret;
}

static void fake_consume(struct net_backend *be)
{
	struct fake_backend *f = fake_of(be);
	eventfd_t count;

	pthread_mutex_lock(&f->lock);
	ck_assert_uint_gt(f->fifo_len, 0);
	free(f->fifo[f->fifo_head].data);
	f->fifo[f->fifo_head] = (struct fake_frame){0};
	f->fifo_head = (f->fifo_head + 1) % FAKE_FRAMES;
	f->fifo_len--;
	f->consumes++;
	if (!f->fifo_len)
		eventfd_read(f->rx_fd, &count);
	pthread_mutex_unlock(&f->lock);
}

static enum net_send_result fake_send(struct net_backend *be, const struct iovec *iov,
				      unsigned int cnt)
{
	struct fake_backend *f = fake_of(be);
	enum net_send_result answer;
	size_t len = 0;

	pthread_mutex_lock(&f->lock);
	f->send_calls++;
	answer = f->answer;
	if (answer == NET_SENT) {
		struct fake_frame *s;

		ck_assert_uint_lt(f->nr_sent, FAKE_FRAMES);
		s = &f->sent[f->nr_sent++];
		for (unsigned int i = 0; i < cnt; i++)
			len += iov[i].iov_len;
		s->data = malloc(len ? len : 1);
		ck_assert_ptr_nonnull(s->data);
		s->len = 0;
		for (unsigned int i = 0; i < cnt; i++) {
			memcpy(s->data + s->len, iov[i].iov_base, iov[i].iov_len);
			s->len += iov[i].iov_len;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return answer;
}

static int fake_set_offloads(struct net_backend *be, unsigned int offloads)
{
	struct fake_backend *f = fake_of(be);

	pthread_mutex_lock(&f->lock);
	f->offloads_set = offloads;
	f->set_offloads_calls++;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

/* The rx eventfd when the device wants frames: a real backend's socket would be there. */
static unsigned int fake_poll_fill(struct net_backend *be, struct pollfd *pfd, unsigned int max,
				   bool want_rx, bool want_tx, int *timeout_ms)
{
	struct fake_backend *f = fake_of(be);

	(void)want_tx;
	(void)timeout_ms;
	if (!want_rx || max < 1)
		return 0;
	pfd[0] = (struct pollfd){.fd = f->rx_fd, .events = POLLIN};
	return 1;
}

static void fake_poll_done(struct net_backend *be, const struct pollfd *pfd, unsigned int n)
{
	(void)be;
	(void)pfd;
	(void)n;
}

static void fake_destroy(struct net_backend *be)
{
	struct fake_backend *f = fake_of(be);

	for (unsigned int i = 0; i < FAKE_FRAMES; i++) {
		free(f->fifo[i].data);
		free(f->sent[i].data);
	}
	close(f->rx_fd);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static const struct net_backend_ops fake_ops = {
    .peek = fake_peek,
    .consume = fake_consume,
    .send = fake_send,
    .set_offloads = fake_set_offloads,
    .poll_fill = fake_poll_fill,
    .poll_done = fake_poll_done,
    .destroy = fake_destroy,
};

enum fake_kind { FAKE_TAP, FAKE_USER };

static struct fake_backend *fake_new(bool vnet_hdr, unsigned int offloads)
{
	struct fake_backend *f = calloc(1, sizeof(*f));

	ck_assert_ptr_nonnull(f);
	f->be = (struct net_backend){
	    .ops = &fake_ops,
	    .name = vnet_hdr ? "fake-tap" : "fake-user",
	    .vnet_hdr = vnet_hdr,
	    .offloads = offloads,
	    .max_pollfds = 1,
	};
	pthread_mutex_init(&f->lock, NULL);
	f->rx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_ge(f->rx_fd, 0);
	f->answer = NET_SENT;
	return f;
}

static struct fake_backend *fake_of_kind(enum fake_kind kind)
{
	if (kind == FAKE_TAP)
		return fake_new(true, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6);
	return fake_new(false, 0);
}

/* A frame for the guest joins the queue (a copy of @data). */
static void fake_push(struct fake_backend *f, const void *data, size_t len)
{
	struct fake_frame *fr;

	pthread_mutex_lock(&f->lock);
	ck_assert_uint_lt(f->fifo_len, FAKE_FRAMES);
	fr = &f->fifo[(f->fifo_head + f->fifo_len++) % FAKE_FRAMES];
	fr->data = malloc(len);
	ck_assert_ptr_nonnull(fr->data);
	memcpy(fr->data, data, len);
	fr->len = len;
	eventfd_write(f->rx_fd, 1);
	pthread_mutex_unlock(&f->lock);
}

static unsigned int fake_waiting(struct fake_backend *f)
{
	unsigned int n;

	pthread_mutex_lock(&f->lock);
	n = f->fifo_len;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* --- The card and the test driver --- */

static struct guest_mem mem;
static struct fake_backend *fake; /* owned by the card once it is made */
static struct virtio_net *net;
static struct vring_driver rxd, txd;
static atomic_uint irqs;
static int irq_fd = -1; /* written on each interrupt, for the worker test */

/* What each posted receive chain is, by head: to read back what the device wrote. */
struct rx_chain {
	struct vring_seg segs[4];
	unsigned int n;
	uint64_t cap;
};

static struct rx_chain rx_chains[VQ_MAX_SIZE];
/* A TSO packet's header as a guest sends it: passed on by a vnet-header backend. */
static struct virtio_net_hdr_v1 tx_csum_hdr;
static uint64_t rx_next, tx_next; /* free space in RX_AREA and TX_AREA */

static void count_interrupt(void *opaque)
{
	(void)opaque;
	atomic_fetch_add(&irqs, 1);
	if (irq_fd >= 0)
		eventfd_write(irq_fd, 1);
}

static unsigned int irq_count(void)
{
	return atomic_load(&irqs);
}

static void *gpa(uint64_t addr, uint64_t len)
{
	return vring_gpa(&mem, addr, len);
}

static void setup(void)
{
	ck_assert_msg(guest_mem_alloc(&mem, MEM_SIZE) == 0, "%s", last_error());
	fake = NULL;
	net = NULL;
	atomic_store(&irqs, 0);
	irq_fd = -1;
	rx_next = tx_next = 0;
	memset(rx_chains, 0, sizeof(rx_chains));
	tx_csum_hdr = (struct virtio_net_hdr_v1){
	    .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
	    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
	    .hdr_len = htole16(54),
	    .gso_size = htole16(1448),
	    .csum_start = htole16(34),
	    .csum_offset = htole16(16),
	};
}

static void teardown(void)
{
	if (net)
		virtio_net_destroy(net);
	net = NULL;
	fake = NULL;
	if (irq_fd >= 0)
		close(irq_fd);
	irq_fd = -1;
	guest_mem_free(&mem);
}

/* A card on a fresh fake of @kind. */
static void make_card(enum fake_kind kind, const uint8_t *mac, unsigned int index)
{
	fake = fake_of_kind(kind);
	clear_error();
	net = net_create_on(&fake->be, mac, 1500, index, &mem);
	ck_assert_msg(net, "net_create_on: %s", last_error());
	net->vdev.transport = (struct virtio_transport){.interrupt = count_interrupt};
}

static void enable_queue(unsigned int q, struct vring_driver *d, uint64_t desc, uint64_t avail,
			 uint64_t used, uint16_t size, bool event_idx)
{
	struct virtqueue *vq = &net->vdev.vqs[q];

	vring_driver_init(d, &mem, desc, avail, used, size);
	vq->size = size;
	vq->desc_gpa = desc;
	vq->avail_gpa = avail;
	vq->used_gpa = used;
	ck_assert_msg(vq_enable(vq, &mem, event_idx, true) == 0, "%s", last_error());
}

/*
 * The queues set up by hand as DRIVER_OK would, without activating the
 * device: no worker thread, the test calls the paths itself.
 */
static void start_direct(enum fake_kind kind, uint64_t features, uint16_t rx_size, uint16_t tx_size)
{
	bool event_idx = features & F_EVENT_IDX;

	make_card(kind, test_mac, 0);
	net->vdev.features = features;
	net->hdr_len = net_hdr_len(features);
	enable_queue(NET_RXQ, &rxd, RX_DESC, RX_AVAIL, RX_USED, rx_size, event_idx);
	enable_queue(NET_TXQ, &txd, TX_DESC, TX_AVAIL, TX_USED, tx_size, event_idx);
}

static bool needs_reset(void)
{
	return virtio_get_status(&net->vdev) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* Some bytes, different for each @seed and each offset. */
static void fill_pattern(uint8_t *buf, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 7 + (i >> 8) * 3);
}

/* --- Receive side --- */

static uint64_t rx_alloc(uint32_t len)
{
	uint64_t at = RX_AREA + rx_next;

	rx_next += ALIGN_UP(len, 64) + 64; /* a gap: no two buffers touch */
	ck_assert_uint_le(rx_next, AREA_SIZE);
	memset(gpa(at, len), POISON, len);
	return at;
}

/* A receive chain of writable buffers of @lens (poisoned); returns its head. */
static uint16_t post_rx_chain(const uint32_t *lens, unsigned int n)
{
	struct rx_chain c = {.n = n};
	uint16_t head;

	ck_assert_uint_le(n, ARRAY_SIZE(c.segs));
	for (unsigned int i = 0; i < n; i++) {
		c.segs[i] = (struct vring_seg)IN(rx_alloc(lens[i]), lens[i]);
		c.cap += lens[i];
	}
	head = vring_post(&rxd, c.segs, n);
	rx_chains[head] = c;
	return head;
}

/* @count one-buffer chains of @len bytes each. */
static void post_rx_bufs(unsigned int count, uint32_t len)
{
	for (unsigned int i = 0; i < count; i++)
		post_rx_chain(&len, 1);
}

/* Copy the first @len bytes the device wrote into chain @head to @out. */
static void read_rx_chain(uint16_t head, uint32_t len, uint8_t *out)
{
	const struct rx_chain *c = &rx_chains[head];

	ck_assert_uint_lt(head, rxd.size);
	ck_assert_uint_le(len, c->cap);
	for (unsigned int i = 0; i < c->n && len; i++) {
		uint32_t n = MIN(len, c->segs[i].len);

		memcpy(out, gpa(c->segs[i].gpa, n), n);
		out += n;
		len -= n;
	}
}

/* What the guest should find in front of a frame: @hdr (the backend's) with num_buffers. */
static struct virtio_net_hdr_v1 guest_hdr(const struct virtio_net_hdr_v1 *hdr, uint16_t nbufs)
{
	struct virtio_net_hdr_v1 h = hdr ? *hdr : (struct virtio_net_hdr_v1){0};

	h.num_buffers = htole16(nbufs);
	return h;
}

/*
 * The next @n used elements on the receive queue hold one frame, @ghdr's
 * first net->hdr_len bytes then @payload: every buffer but the last full,
 * the used lengths adding up, the bytes as they should be. @heads, if not
 * NULL, are the chains it must be in.
 */
static void expect_rx(unsigned int n, const struct virtio_net_hdr_v1 *ghdr, const uint8_t *payload,
		      size_t len, const uint16_t *heads)
{
	static uint8_t got[NET_MAX_FRAME + 2 * HDR];
	size_t total = 0, want = net->hdr_len + len;

	ck_assert_uint_le(want, sizeof(got));
	for (unsigned int i = 0; i < n; i++) {
		const struct vring_used_elem *e = vring_take_used(&rxd);
		uint64_t cap = rx_chains[e->id % VQ_MAX_SIZE].cap;

		if (heads)
			ck_assert_uint_eq(e->id, heads[i]);
		ck_assert_uint_eq(e->len, MIN(cap, want - total));
		read_rx_chain(e->id, e->len, got + total);
		total += e->len;
	}
	ck_assert_uint_eq(total, want);
	ck_assert_msg(memcmp(got, ghdr, net->hdr_len) == 0, "the header in the guest is wrong");
	ck_assert_msg(memcmp(got + net->hdr_len, payload, len) == 0,
		      "the frame in the guest is wrong");
}

/* A frame as the backend hands it over: @vnet's header (if any) then @payload. */
static size_t backend_frame(uint8_t *out, const struct virtio_net_hdr_v1 *vnet,
			    const uint8_t *payload, size_t len)
{
	size_t off = 0;

	if (vnet) {
		memcpy(out, vnet, HDR);
		off = HDR;
	}
	memcpy(out + off, payload, len);
	return off + len;
}

/* net_rx_frame() on a bare frame (user fake) of @len pattern bytes. */
static int rx_bare(uint8_t *payload, size_t len, uint8_t seed)
{
	fill_pattern(payload, len, seed);
	return net_rx_frame(net, payload, len);
}

/* A frame wider than one buffer goes over several, published together. */
START_TEST(rx_mrg_spreads_over_buffers)
{
	static uint8_t payload[250];
	const struct virtio_net_hdr_v1 h = guest_hdr(NULL, 3);
	const uint16_t heads[] = {0, 1, 2};

	start_direct(FAKE_USER, F_V1 | F_MRG, 8, 8);
	post_rx_bufs(4, 100);
	ck_assert_int_eq(rx_bare(payload, sizeof(payload), 1), 1);
	ck_assert_uint_eq(vring_used_idx(&rxd), 3);
	ck_assert_uint_eq(irq_count(), 0); /* the caller's to send */
	/* 262 bytes: 100, 100, 62; num_buffers 3 in the first buffer's header. */
	expect_rx(3, &h, payload, sizeof(payload), heads);
	ck_assert_uint_eq(rxd.used->ring[2].len, 62);
	/* The fourth buffer is still the driver's, untouched, and takes the next frame. */
	ck_assert_uint_eq(*(uint8_t *)gpa(rx_chains[3].segs[0].gpa, 1), POISON);
	ck_assert_int_eq(rx_bare(payload, 20, 2), 1);
	ck_assert_uint_eq(vring_used_idx(&rxd), 4);
	expect_rx(1, &(struct virtio_net_hdr_v1){.num_buffers = htole16(1)}, payload, 20,
		  (const uint16_t[]){3});
	ck_assert_uint_eq(net->stats.rx_frames, 2);
	ck_assert_uint_eq(net->stats.rx_bytes, 250 + 20);
	ck_assert(!needs_reset());
}
END_TEST

/* Header and frame fill one buffer exactly: one buffer; one byte more: two. */
START_TEST(rx_mrg_exact_fit)
{
	static uint8_t payload[100];
	const struct virtio_net_hdr_v1 one = guest_hdr(NULL, 1), two = guest_hdr(NULL, 2);

	start_direct(FAKE_USER, F_V1 | F_MRG, 8, 8);
	post_rx_bufs(3, 100);
	ck_assert_int_eq(rx_bare(payload, 100 - HDR, 3), 1);
	ck_assert_uint_eq(vring_used_idx(&rxd), 1);
	expect_rx(1, &one, payload, 100 - HDR, (const uint16_t[]){0});
	ck_assert_uint_eq(rxd.used->ring[0].len, 100);
	ck_assert_int_eq(rx_bare(payload, 100 - HDR + 1, 4), 1);
	ck_assert_uint_eq(vring_used_idx(&rxd), 3);
	expect_rx(2, &two, payload, 100 - HDR + 1, (const uint16_t[]){1, 2});
	ck_assert_uint_eq(rxd.used->ring[2].len, 1);
}
END_TEST

/* No buffers: 0, nothing touched; once the driver posts, the same frame goes in. */
START_TEST(rx_no_buffers_then_delivered)
{
	static uint8_t payload[60];
	const struct virtio_net_hdr_v1 h = guest_hdr(NULL, 1);

	start_direct(FAKE_USER, F_V1 | F_MRG, 8, 8);
	ck_assert_int_eq(rx_bare(payload, sizeof(payload), 5), 0);
	ck_assert_uint_eq(vring_used_idx(&rxd), 0);
	ck_assert_uint_eq(net->stats.rx_frames, 0);
	post_rx_bufs(1, 1526);
	ck_assert_int_eq(net_rx_frame(net, payload, sizeof(payload)), 1);
	expect_rx(1, &h, payload, sizeof(payload), (const uint16_t[]){0});
	ck_assert_uint_eq(net->stats.rx_frames, 1);
}
END_TEST

/* Too few buffers posted yet: 0 and the chains given back, then the frame whole. */
START_TEST(rx_mrg_needs_more_than_posted)
{
	static uint8_t payload[250];
	const struct virtio_net_hdr_v1 h = guest_hdr(NULL, 3);

	start_direct(FAKE_USER, F_V1 | F_MRG, 8, 8);
	post_rx_bufs(2, 100);
	ck_assert_int_eq(rx_bare(payload, sizeof(payload), 6), 0);
	ck_assert_uint_eq(vring_used_idx(&rxd), 0);
	ck_assert_uint_eq(net->stats.rx_frames, 0);
	post_rx_bufs(1, 100);
	ck_assert_int_eq(net_rx_frame(net, payload, sizeof(payload)), 1);
	ck_assert_uint_eq(vring_used_idx(&rxd), 3);
	expect_rx(3, &h, payload, sizeof(payload), (const uint16_t[]){0, 1, 2});
	ck_assert(!needs_reset());
}
END_TEST

/* More buffers than the whole ring holds: -2, and the ring's chains still usable. */
START_TEST(rx_mrg_bigger_than_ring)
{
	static uint8_t payload[500];
	const struct virtio_net_hdr_v1 h = guest_hdr(NULL, 1);

	start_direct(FAKE_USER, F_V1 | F_MRG, 4, 4);
	post_rx_bufs(4, 100);
	ck_assert_int_eq(rx_bare(payload, sizeof(payload), 7), -2);
	ck_assert_uint_eq(vring_used_idx(&rxd), 0);
	ck_assert(!needs_reset());
	ck_assert_int_eq(rx_bare(payload, 30, 8), 1);
	expect_rx(1, &h, payload, 30, (const uint16_t[]){0});
}
END_TEST

/*
 * A driver that re-posts while a frame is merged: every chain but the first
 * is a header-sized buffer over avail->idx and the start of the ring, and
 * the frame's bytes copied there raise the index by one each time (and name
 * that chain again), so there is always one more. The device takes at most
 * a ring's worth for one frame (used slots past the ring would overwrite
 * its own), gives them back and drops the frame.
 */
START_TEST(rx_mrg_capped_at_ring_size)
{
	const uint16_t w = VRING_DESC_F_WRITE;
	uint16_t frame[12][HDR / 2];
	struct virtqueue *vq;

	start_direct(FAKE_USER, F_V1 | F_MRG, 8, 8);
	vq = &net->vdev.vqs[NET_RXQ];
	rxd.desc[0] = (struct vring_desc){rx_alloc(HDR), HDR, w | VRING_DESC_F_NEXT, 1};
	rxd.desc[1] = (struct vring_desc){RX_AVAIL + 2, HDR, w, 0};
	rxd.desc[2] = (struct vring_desc){RX_AVAIL + 2, HDR, w, 0};
	for (unsigned int i = 1; i < 8; i++)
		rxd.avail->ring[i] = 2;
	rxd.avail->ring[0] = 0;
	__atomic_store_n(&rxd.avail->idx, 1, __ATOMIC_RELEASE);
	/* Chain k gets frame[k]: the index k + 2, then ring entries naming chain 2. */
	for (unsigned int k = 0; k < ARRAY_SIZE(frame); k++) {
		frame[k][0] = htole16((uint16_t)(k + 2));
		for (unsigned int i = 1; i < HDR / 2; i++)
			frame[k][i] = htole16(2);
	}
	ck_assert_int_eq(net_rx_frame(net, (const uint8_t *)frame, sizeof(frame)), -2);
	ck_assert_uint_eq(vring_used_idx(&rxd), 0);
	ck_assert_uint_eq(vq->last_avail, 0);
}
END_TEST

/* Without MRG_RXBUF: one chain per frame, over all its buffers, num_buffers 1. */
START_TEST(rx_single_chain_per_frame)
{
	static uint8_t payload[300];
	const uint32_t lens[] = {HDR, 100, 100, 200};
	const struct virtio_net_hdr_v1 h = guest_hdr(NULL, 1);

	start_direct(FAKE_USER, F_V1, 8, 8);
	post_rx_chain(lens, ARRAY_SIZE(lens));
	post_rx_chain(lens + 1, 1);
	ck_assert_int_eq(rx_bare(payload, sizeof(payload), 9), 1);
	ck_assert_uint_eq(vring_used_idx(&rxd), 1);
	expect_rx(1, &h, payload, sizeof(payload), (const uint16_t[]){0});
	ck_assert_uint_eq(rxd.used->ring[0].len, HDR + 300);
	/* The second chain, not touched by the first frame, takes the second. */
	ck_assert_int_eq(rx_bare(payload, 50, 10), 1);
	expect_rx(1, &h, payload, 50, (const uint16_t[]){4});
}
END_TEST

/* Without MRG_RXBUF a frame larger than the chain is dropped; the chain stays. */
START_TEST(rx_frame_larger_than_chain)
{
	static uint8_t payload[100];
	const struct virtio_net_hdr_v1 h = guest_hdr(NULL, 1);

	start_direct(FAKE_USER, F_V1, 8, 8);
	post_rx_bufs(1, 100);
	ck_assert_int_eq(rx_bare(payload, 100 - HDR + 1, 11), -2);
	ck_assert_uint_eq(vring_used_idx(&rxd), 0);
	ck_assert_uint_eq(*(uint8_t *)gpa(rx_chains[0].segs[0].gpa, 1), POISON);
	ck_assert(!needs_reset());
	ck_assert_int_eq(rx_bare(payload, 100 - HDR, 12), 1);
	expect_rx(1, &h, payload, 100 - HDR, (const uint16_t[]){0});
}
END_TEST

/* The header may straddle buffers, in a chain and across merged buffers. */
START_TEST(rx_header_split_across_buffers)
{
	static uint8_t payload[40];
	const uint32_t lens[] = {5, 3, 60};
	const struct virtio_net_hdr_v1 one = guest_hdr(NULL, 1);

	start_direct(FAKE_USER, F_V1, 8, 8);
	post_rx_chain(lens, ARRAY_SIZE(lens));
	ck_assert_int_eq(rx_bare(payload, sizeof(payload), 13), 1);
	expect_rx(1, &one, payload, sizeof(payload), (const uint16_t[]){0});
	ck_assert_uint_eq(rxd.used->ring[0].len, HDR + sizeof(payload));
}
END_TEST

/* Neither VERSION_1 nor MRG_RXBUF: the 10-byte legacy header in front, from either backend. */
START_TEST(rx_legacy_header)
{
	static uint8_t payload[64], frame[HDR + 64];
	const struct virtio_net_hdr_v1 vh = {
	    .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = htole16(34), .csum_offset = 16};
	const struct virtio_net_hdr_v1 want = _i ? vh : (struct virtio_net_hdr_v1){0};
	size_t len;

	start_direct(_i ? FAKE_TAP : FAKE_USER, 0, 8, 8);
	ck_assert_uint_eq(net->hdr_len, LEGACY_HDR);
	post_rx_bufs(1, 200);
	fill_pattern(payload, sizeof(payload), 14);
	len = backend_frame(frame, _i ? &vh : NULL, payload, sizeof(payload));
	ck_assert_int_eq(net_rx_frame(net, frame, len), 1);
	expect_rx(1, &want, payload, sizeof(payload), (const uint16_t[]){0});
	ck_assert_uint_eq(rxd.used->ring[0].len, LEGACY_HDR + sizeof(payload));
}
END_TEST

/* The backend's frames, in order, each consumed only once it is in the guest's buffers. */
START_TEST(rx_process_in_order)
{
	static uint8_t payload[3][80];
	const struct virtio_net_hdr_v1 h = guest_hdr(NULL, 1);

	start_direct(FAKE_USER, F_V1 | F_MRG, 8, 8);
	for (unsigned int i = 0; i < 3; i++) {
		fill_pattern(payload[i], 60 + 10 * i, (uint8_t)(20 + i));
		fake_push(fake, payload[i], 60 + 10 * i);
	}
	post_rx_bufs(2, 1526);
	net_rx_process(net);
	ck_assert_uint_eq(vring_used_idx(&rxd), 2);
	ck_assert_uint_eq(fake->consumes, 2);
	ck_assert_uint_eq(fake_waiting(fake), 1);
	ck_assert(net->rx_wait_guest);
	ck_assert_uint_eq(irq_count(), 1);
	ck_assert_uint_eq(net->stats.rx_frames, 2);
	expect_rx(1, &h, payload[0], 60, (const uint16_t[]){0});
	expect_rx(1, &h, payload[1], 70, (const uint16_t[]){1});

	/* Nothing new posted: nothing moves, no interrupt. */
	net_rx_process(net);
	ck_assert_uint_eq(vring_used_idx(&rxd), 2);
	ck_assert_uint_eq(fake->consumes, 2);
	ck_assert_uint_eq(irq_count(), 1);

	post_rx_bufs(2, 1526);
	net_rx_process(net);
	ck_assert_uint_eq(vring_used_idx(&rxd), 3);
	ck_assert_uint_eq(fake->consumes, 3);
	ck_assert_uint_eq(fake_waiting(fake), 0);
	ck_assert(!net->rx_wait_guest);
	ck_assert_uint_eq(irq_count(), 2);
	expect_rx(1, &h, payload[2], 80, (const uint16_t[]){2});
	ck_assert_uint_eq(net->stats.rx_frames, 3);
	ck_assert_uint_eq(net->stats.rx_bytes, 60 + 70 + 80);
	ck_assert_uint_eq(net->stats.rx_dropped, 0);
}
END_TEST

/*
 * The guest posted buffers, but too few for the frame waiting: the device
 * must sleep until it posts more, asking to be notified when it does (and
 * not spin on the same frame).
 */
START_TEST(rx_process_waits_for_more_buffers)
{
	static uint8_t payload[250];
	const struct virtio_net_hdr_v1 h = guest_hdr(NULL, 3);
	const bool event_idx = _i;
	unsigned int peeks;

	start_direct(FAKE_USER, F_V1 | F_MRG | (event_idx ? F_EVENT_IDX : 0), 8, 8);
	fill_pattern(payload, sizeof(payload), 25);
	fake_push(fake, payload, sizeof(payload));
	post_rx_bufs(2, 100);
	net_rx_process(net);
	ck_assert_uint_eq(vring_used_idx(&rxd), 0);
	ck_assert_uint_eq(fake->consumes, 0);
	ck_assert_msg(net->rx_wait_guest, "not waiting for the guest's buffers");
	ck_assert_msg(!net->rx_more, "the worker would poll again at once (spin)");
	peeks = fake->peeks;
	ck_assert_uint_le(peeks, 2);
	/* The driver posting a third buffer must notify: used_event in [2, 3), i.e. 2. */
	if (event_idx)
		ck_assert_uint_eq(*vring_driver_avail_event(&rxd), 2);
	else
		ck_assert_uint_eq(rxd.used->flags & VRING_USED_F_NO_NOTIFY, 0);

	post_rx_bufs(1, 100);
	net_rx_process(net);
	ck_assert_uint_eq(vring_used_idx(&rxd), 3);
	ck_assert_uint_eq(fake->consumes, 1);
	expect_rx(3, &h, payload, sizeof(payload), (const uint16_t[]){0, 1, 2});
}
END_TEST

/* A vnet-header backend: the guest gets the backend's header, num_buffers set by the device. */
START_TEST(rx_process_header_from_backend)
{
	static uint8_t payload[3000], frame[HDR + 3000];
	const struct virtio_net_hdr_v1 vh = {
	    .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
	    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
	    .hdr_len = htole16(54),
	    .gso_size = htole16(1448),
	    .csum_start = htole16(34),
	    .csum_offset = htole16(16),
	    .num_buffers = htole16(0x7777), /* whatever the backend left there */
	};
	const struct virtio_net_hdr_v1 want = guest_hdr(&vh, 2);
	size_t len;

	start_direct(FAKE_TAP, F_V1 | F_MRG, 8, 8);
	fill_pattern(payload, sizeof(payload), 30);
	len = backend_frame(frame, &vh, payload, sizeof(payload));
	fake_push(fake, frame, len);
	post_rx_bufs(4, 2048);
	net_rx_process(net);
	ck_assert_uint_eq(vring_used_idx(&rxd), 2);
	ck_assert_uint_eq(fake->consumes, 1);
	expect_rx(2, &want, payload, sizeof(payload), (const uint16_t[]){0, 1});
	/* The frame's bytes, the backend's header not counted. */
	ck_assert_uint_eq(net->stats.rx_bytes, sizeof(payload));
}
END_TEST

/* The largest frame fits merged buffers; one byte more, or a header cut short, never will. */
START_TEST(rx_max_frame)
{
	static uint8_t payload[NET_MAX_FRAME + 1], frame[HDR + NET_MAX_FRAME + 1];
	const struct virtio_net_hdr_v1 vh = {.flags = VIRTIO_NET_HDR_F_DATA_VALID};
	const struct virtio_net_hdr_v1 want = guest_hdr(&vh, 33);
	const bool tap = _i == 0;
	size_t len;

	start_direct(tap ? FAKE_TAP : FAKE_USER, F_V1 | F_MRG, 64, 8);
	post_rx_bufs(40, 2048);
	fill_pattern(payload, sizeof(payload), 34);
	len = backend_frame(frame, tap ? &vh : NULL, payload, NET_MAX_FRAME + 1);
	ck_assert_int_eq(net_rx_frame(net, frame, len), -2);
	ck_assert_uint_eq(vring_used_idx(&rxd), 0);
	if (tap)
		ck_assert_int_eq(net_rx_frame(net, frame, HDR - 1), -2);
	ck_assert_int_eq(net_rx_frame(net, frame, len - 1), 1);
	/* 12 + 65553 bytes: 32 full buffers of 2048 and 29 bytes in the 33rd. */
	ck_assert_uint_eq(vring_used_idx(&rxd), 33);
	expect_rx(33, tap ? &want : &(struct virtio_net_hdr_v1){.num_buffers = htole16(33)},
		  payload, NET_MAX_FRAME, NULL);
	ck_assert_uint_eq(rxd.used->ring[32].len, HDR + NET_MAX_FRAME - 32 * 2048);
	ck_assert(!needs_reset());
}
END_TEST

/* A bare-frame backend: the device writes a header of its own, all zero but num_buffers. */
START_TEST(rx_process_zero_header)
{
	static uint8_t payload[64];
	const struct virtio_net_hdr_v1 want = guest_hdr(NULL, 1);
	struct virtio_net_hdr_v1 got;

	start_direct(FAKE_USER, F_V1 | F_MRG, 8, 8);
	fill_pattern(payload, sizeof(payload), 31);
	fake_push(fake, payload, sizeof(payload));
	post_rx_bufs(1, 1526);
	net_rx_process(net);
	memcpy(&got, gpa(rx_chains[0].segs[0].gpa, HDR), HDR);
	ck_assert_uint_eq(got.flags, 0);
	ck_assert_uint_eq(got.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	ck_assert_uint_eq(le16toh(got.num_buffers), 1);
	expect_rx(1, &want, payload, sizeof(payload), (const uint16_t[]){0});
}
END_TEST

/* A frame no buffer will ever hold is consumed and counted; the next one goes in. */
START_TEST(rx_process_drops_oversized)
{
	static uint8_t big[200], small[50];
	const struct virtio_net_hdr_v1 h = guest_hdr(NULL, 1);

	start_direct(FAKE_USER, F_V1, 8, 8);
	fill_pattern(big, sizeof(big), 32);
	fill_pattern(small, sizeof(small), 33);
	fake_push(fake, big, sizeof(big));
	fake_push(fake, small, sizeof(small));
	post_rx_bufs(1, 100);
	net_rx_process(net);
	ck_assert_uint_eq(fake->consumes, 2);
	ck_assert_uint_eq(net->stats.rx_dropped, 1);
	ck_assert_uint_eq(net->stats.rx_frames, 1);
	ck_assert_uint_eq(vring_used_idx(&rxd), 1);
	expect_rx(1, &h, small, sizeof(small), (const uint16_t[]){0});
	ck_assert(!needs_reset());
}
END_TEST

/* A receive chain with a device-readable buffer: no correct driver posts it. */
START_TEST(rx_readable_buffer_needs_reset)
{
	static uint8_t payload[60];
	const struct vring_seg segs[] = {OUT(rx_alloc(HDR), HDR), IN(rx_alloc(100), 100)};
	const struct vring_seg out_only = OUT(rx_alloc(200), 200);

	start_direct(FAKE_USER, _i ? F_V1 | F_MRG : F_V1, 8, 8);
	if (_i)
		vring_post(&rxd, &out_only, 1);
	else
		vring_post(&rxd, segs, ARRAY_SIZE(segs));
	ck_assert_int_eq(rx_bare(payload, sizeof(payload), 40), -1);
	ck_assert(needs_reset());
	ck_assert_uint_eq(vring_used_idx(&rxd), 0);
	ck_assert_uint_eq(net->stats.rx_frames, 0);
}
END_TEST

/* The same through net_rx_process(): the backend keeps its frame. */
START_TEST(rx_process_readable_buffer_needs_reset)
{
	static uint8_t payload[60];
	const struct vring_seg seg = OUT(rx_alloc(200), 200);

	start_direct(FAKE_USER, F_V1 | F_MRG, 8, 8);
	vring_post(&rxd, &seg, 1);
	fill_pattern(payload, sizeof(payload), 41);
	fake_push(fake, payload, sizeof(payload));
	net_rx_process(net);
	ck_assert(needs_reset());
	ck_assert_uint_eq(fake->consumes, 0);
	ck_assert_uint_eq(vring_used_idx(&rxd), 0);
}
END_TEST

/* A ring vq_pop() finds broken (a head out of the table): -1, NEEDS_RESET. */
START_TEST(rx_broken_ring_needs_reset)
{
	static uint8_t payload[60];

	start_direct(FAKE_USER, F_V1 | F_MRG, 8, 8);
	vring_publish(&rxd, 8);
	ck_assert_int_eq(rx_bare(payload, sizeof(payload), 43), -1);
	ck_assert(needs_reset());
	ck_assert_uint_eq(vring_used_idx(&rxd), 0);
	/* And through net_rx_process(): the frame stays the backend's. */
	fake_push(fake, payload, sizeof(payload));
	net_rx_process(net);
	ck_assert_uint_eq(fake->consumes, 0);
	ck_assert_uint_eq(vring_used_idx(&rxd), 0);
}
END_TEST

/* A receive buffer too short for the header. */
START_TEST(rx_chain_shorter_than_header)
{
	static uint8_t payload[4];
	const uint32_t short_len = HDR - 1;

	start_direct(FAKE_USER, _i ? F_V1 | F_MRG : F_V1, 8, 8);
	post_rx_chain(&short_len, 1);
	ck_assert_int_eq(rx_bare(payload, sizeof(payload), 42), -1);
	ck_assert(needs_reset());
	ck_assert_uint_eq(vring_used_idx(&rxd), 0);
	ck_assert_uint_eq(*(uint8_t *)gpa(rx_chains[0].segs[0].gpa, 1), POISON);
}
END_TEST

/* With EVENT_IDX the driver's used_event decides which deliveries interrupt. */
START_TEST(rx_event_idx)
{
	static uint8_t payload[60];

	start_direct(FAKE_USER, F_V1 | F_MRG | F_EVENT_IDX, 8, 8);
	post_rx_bufs(6, 1526);
	*vring_driver_used_event(&rxd) = 100;
	fake_push(fake, payload, sizeof(payload));
	net_rx_process(net); /* the first after enable interrupts whatever used_event says */
	ck_assert_uint_eq(irq_count(), 1);
	*vring_driver_used_event(&rxd) = 2; /* interrupt when entry 2 is used: idx 2 -> 3 */
	fake_push(fake, payload, sizeof(payload));
	net_rx_process(net);
	ck_assert_uint_eq(vring_used_idx(&rxd), 2);
	ck_assert_uint_eq(irq_count(), 1);
	fake_push(fake, payload, sizeof(payload));
	net_rx_process(net);
	ck_assert_uint_eq(vring_used_idx(&rxd), 3);
	ck_assert_uint_eq(irq_count(), 2);
	/* Crossed inside a batch of two. */
	*vring_driver_used_event(&rxd) = 3;
	fake_push(fake, payload, sizeof(payload));
	fake_push(fake, payload, sizeof(payload));
	net_rx_process(net);
	ck_assert_uint_eq(vring_used_idx(&rxd), 5);
	ck_assert_uint_eq(irq_count(), 3);
	/* Nothing delivered: nothing to signal. */
	net_rx_process(net);
	ck_assert_uint_eq(irq_count(), 3);
}
END_TEST

/* --- Transmit side --- */

/* @len bytes of @data at a fresh place in TX_AREA; returns its address. */
static uint64_t tx_place(const uint8_t *data, uint32_t len)
{
	uint64_t at = TX_AREA + tx_next;

	tx_next += ALIGN_UP(len, 64) + 64;
	ck_assert_uint_le(tx_next, AREA_SIZE);
	memcpy(gpa(at, len), data, len);
	return at;
}

/* Post @len bytes of @data cut into readable buffers of @cuts (summing to @len). */
static uint16_t post_tx(const uint8_t *data, size_t len, const uint32_t *cuts, unsigned int n)
{
	struct vring_seg segs[8];
	size_t off = 0;

	ck_assert_uint_le(n, ARRAY_SIZE(segs));
	for (unsigned int i = 0; i < n; i++) {
		segs[i] = (struct vring_seg)OUT(tx_place(data + off, cuts[i]), cuts[i]);
		off += cuts[i];
	}
	ck_assert_uint_eq(off, len);
	return vring_post(&txd, segs, n);
}

/* A guest's transmit packet: its header then @len pattern bytes; returns the whole length. */
static size_t tx_packet(uint8_t *out, const struct virtio_net_hdr_v1 *h, size_t len, uint8_t seed)
{
	memcpy(out, h, HDR);
	fill_pattern(out + HDR, len, seed);
	return HDR + len;
}

/* The backend took, as frame @i, exactly @len bytes of @data. */
static void expect_sent(unsigned int i, const uint8_t *data, size_t len)
{
	ck_assert_uint_gt(fake->nr_sent, i);
	ck_assert_uint_eq(fake->sent[i].len, len);
	ck_assert_msg(memcmp(fake->sent[i].data, data, len) == 0, "frame %u sent is wrong", i);
}

static void expect_tx_used(uint16_t head)
{
	const struct vring_used_elem *e = vring_take_used(&txd);

	ck_assert_uint_eq(e->id, head);
	ck_assert_uint_eq(e->len, 0);
}

/*
 * The frame gathered from its buffers however the driver cut it: header in
 * a buffer of its own, header split over two, header sharing a buffer with
 * the frame, frame in several pieces. Loop: 0 tap (header passed on), 1 user
 * (header stripped).
 */
START_TEST(tx_gathers_buffers)
{
	static const uint32_t layouts[][5] = {
	    {HDR, 100},	       /* header alone, frame in one */
	    {HDR, 30, 20, 50}, /* header alone, frame in three */
	    {5, 7, 100},       /* header split over two */
	    {5, 47, 60},       /* header split, second part shares with the frame */
	    {HDR + 100},       /* all in one */
	    {1, 1, 10, 1, 99}, /* byte-sized pieces */
	};
	static const unsigned int nr_cuts[] = {2, 4, 3, 3, 1, 5};
	static uint8_t pkt[HDR + 100];
	const bool tap = _i == 0;
	uint16_t heads[ARRAY_SIZE(layouts)];
	size_t len;

	start_direct(tap ? FAKE_TAP : FAKE_USER, F_V1 | F_MRG | (tap ? F_TX_OFFLOADS : 0), 8, 8);
	for (unsigned int i = 0; i < ARRAY_SIZE(layouts); i++) {
		len = tx_packet(pkt, tap ? &tx_csum_hdr : &(struct virtio_net_hdr_v1){0}, 100,
				(uint8_t)(50 + i));
		heads[i] = post_tx(pkt, len, layouts[i], nr_cuts[i]);
		net_tx_process(net);
		ck_assert_uint_eq(fake->nr_sent, i + 1);
		if (tap)
			expect_sent(i, pkt, HDR + 100);
		else
			expect_sent(i, pkt + HDR, 100);
		expect_tx_used(heads[i]);
	}
	ck_assert_uint_eq(vring_used_idx(&txd), ARRAY_SIZE(layouts));
	ck_assert_uint_eq(net->stats.tx_frames, ARRAY_SIZE(layouts));
	ck_assert_uint_eq(net->stats.tx_bytes, ARRAY_SIZE(layouts) * 100);
	ck_assert_uint_eq(net->stats.tx_dropped, 0);
	ck_assert(!net->tx_wait_backend);
}
END_TEST

/* Several chains in one go: sent in order, returned in order, one interrupt. */
START_TEST(tx_several_chains)
{
	static uint8_t pkt[3][HDR + 200];
	uint16_t heads[3];
	size_t len[3];

	start_direct(FAKE_TAP, F_V1 | F_MRG | F_TX_OFFLOADS, 8, 8);
	for (unsigned int i = 0; i < 3; i++) {
		const uint32_t cuts[] = {HDR, 60 + 40 * i};

		len[i] = tx_packet(pkt[i], &tx_csum_hdr, cuts[1], (uint8_t)(60 + i));
		heads[i] = post_tx(pkt[i], len[i], cuts, 2);
	}
	net_tx_process(net);
	ck_assert_uint_eq(fake->nr_sent, 3);
	for (unsigned int i = 0; i < 3; i++) {
		expect_sent(i, pkt[i], len[i]);
		expect_tx_used(heads[i]);
	}
	ck_assert_uint_eq(irq_count(), 1);
	ck_assert_uint_eq(net->stats.tx_frames, 3);
	ck_assert_uint_eq(net->stats.tx_bytes, 60 + 100 + 140);
}
END_TEST

/* The largest frame goes; one byte more is refused and counted. */
START_TEST(tx_max_frame)
{
	static uint8_t pkt[HDR + NET_MAX_FRAME + 1];
	uint32_t cuts[] = {HDR, NET_MAX_FRAME};
	uint16_t head;

	start_direct(FAKE_USER, F_V1 | F_MRG, 8, 8);
	tx_packet(pkt, &(struct virtio_net_hdr_v1){0}, NET_MAX_FRAME + 1, 70);
	head = post_tx(pkt, HDR + NET_MAX_FRAME, cuts, 2);
	net_tx_process(net);
	expect_sent(0, pkt + HDR, NET_MAX_FRAME);
	expect_tx_used(head);
	cuts[1] = NET_MAX_FRAME + 1;
	head = post_tx(pkt, HDR + NET_MAX_FRAME + 1, cuts, 2);
	net_tx_process(net);
	ck_assert_uint_eq(fake->send_calls, 1);
	expect_tx_used(head);
	ck_assert_uint_eq(net->stats.tx_frames, 1);
	ck_assert_uint_eq(net->stats.tx_dropped, 1);
	ck_assert(!needs_reset());
}
END_TEST

/* Bad chains: returned with nothing sent, counted, and the queue goes on. */
START_TEST(tx_rejects_bad_chains)
{
	static uint8_t pkt[HDR + 64];
	const struct vring_seg writable[] = {OUT(tx_place(pkt, HDR), HDR),
					     OUT(tx_place(pkt, 64), 64), IN(tx_place(pkt, 64), 64)};
	const struct vring_seg only_writable = IN(tx_place(pkt, HDR + 64), HDR + 64);
	const struct vring_seg short_hdr[] = {OUT(tx_place(pkt, 4), 4), OUT(tx_place(pkt, 4), 4)};
	/* A header and 13 bytes: shorter than an Ethernet header. */
	const struct vring_seg runt[] = {OUT(tx_place(pkt, HDR), HDR), OUT(tx_place(pkt, 13), 13)};
	const uint32_t good_cuts[] = {HDR, 64};
	uint16_t heads[5];

	start_direct(FAKE_TAP, F_V1 | F_MRG | F_TX_OFFLOADS, 8, 16); /* 10 descriptors posted */
	heads[0] = vring_post(&txd, writable, ARRAY_SIZE(writable));
	heads[1] = vring_post(&txd, &only_writable, 1);
	heads[2] = vring_post(&txd, short_hdr, ARRAY_SIZE(short_hdr));
	heads[3] = vring_post(&txd, runt, ARRAY_SIZE(runt));
	tx_packet(pkt, &tx_csum_hdr, 64, 80);
	heads[4] = post_tx(pkt, HDR + 64, good_cuts, 2);
	net_tx_process(net);
	ck_assert_uint_eq(fake->send_calls, 1);
	expect_sent(0, pkt, HDR + 64);
	for (unsigned int i = 0; i < 5; i++)
		expect_tx_used(heads[i]);
	ck_assert_uint_eq(net->stats.tx_dropped, 4);
	ck_assert_uint_eq(net->stats.tx_frames, 1);
	ck_assert(!needs_reset());
}
END_TEST

/* The driver's header, checked against the frame and what it negotiated. */
#define HCSUM(start, off)                                                                          \
	{                                                                                          \
		.flags = 1, .csum_start = (start), .csum_offset = (off)                            \
	}
#define HGSO(f, type, hlen, size)                                                                  \
	{                                                                                          \
		.flags = (f), .gso_type = (type), .hdr_len = (hlen), .gso_size = (size),           \
		.csum_start = 34, .csum_offset = 16                                                \
	}

static const struct tx_hdr_case {
	const char *what;
	struct virtio_net_hdr_v1 h;
	uint64_t features; /* beyond F_V1 */
	bool sent;
} tx_hdr_cases[] = {
    /* A 62-byte frame. */
    {"no offload", {0}, 0, true},
    {"checksum", HCSUM(34, 16), F_TX_OFFLOADS, true},
    {"checksum field ends the frame", HCSUM(58, 2), F_TX_OFFLOADS, true},
    {"TSO4", HGSO(1, 1, 54, 1448), F_TX_OFFLOADS, true},
    {"DATA_VALID is the device's flag", {.flags = 2}, F_TX_OFFLOADS, false},
    {"checksum without CSUM", HCSUM(34, 16), 0, false},
    {"checksum field past the frame", HCSUM(58, 3), F_TX_OFFLOADS, false},
    {"checksum far past the frame", HCSUM(0xffff, 0xffff), F_TX_OFFLOADS, false},
    {"TSO4 without HOST_TSO4", HGSO(1, 1, 54, 1448), BIT(VIRTIO_NET_F_CSUM), false},
    {"TSO6 without HOST_TSO6", HGSO(1, 4, 54, 1448), F_TX_OFFLOADS, false},
    {"UDP fragmentation, not offered", HGSO(1, 3, 54, 1448), F_TX_OFFLOADS, false},
    {"ECN, not offered", HGSO(1, 0x81, 54, 1448), F_TX_OFFLOADS, false},
    {"TSO4 without its checksum", HGSO(0, 1, 54, 1448), F_TX_OFFLOADS, false},
    {"TSO4 without a segment size", HGSO(1, 1, 54, 0), F_TX_OFFLOADS, false},
    {"TSO4 headers longer than the frame", HGSO(1, 1, 63, 1448), F_TX_OFFLOADS, false},
};

/* A bad header is dropped and counted, its chain returned; the next frame goes. */
START_TEST(tx_checks_header)
{
	const struct tx_hdr_case *t = &tx_hdr_cases[_i];
	static uint8_t pkt[HDR + 62], good[HDR + 62];
	const uint32_t cuts[] = {HDR, 62};
	uint16_t head;

	start_direct(FAKE_TAP, F_V1 | t->features, 8, 8);
	head = post_tx(pkt, tx_packet(pkt, &t->h, 62, 3), cuts, 2);
	net_tx_process(net);
	ck_assert_msg(fake->nr_sent == (t->sent ? 1u : 0u), "%s: sent %u", t->what, fake->nr_sent);
	ck_assert_uint_eq(net->stats.tx_dropped, t->sent ? 0 : 1);
	expect_tx_used(head);
	ck_assert(!needs_reset());
	head = post_tx(good, tx_packet(good, &(struct virtio_net_hdr_v1){0}, 62, 4), cuts, 2);
	net_tx_process(net);
	expect_sent(t->sent ? 1 : 0, good, sizeof(good));
	expect_tx_used(head);
}
END_TEST

/* NET_SEND_AGAIN: the chain stays on the ring and goes, first, next time. */
START_TEST(tx_send_again)
{
	static uint8_t pkt[2][HDR + 64];
	const uint32_t cuts[] = {HDR, 64};
	uint16_t heads[2];

	start_direct(FAKE_TAP, F_V1 | F_MRG | F_TX_OFFLOADS, 8, 8);
	for (unsigned int i = 0; i < 2; i++) {
		tx_packet(pkt[i], &tx_csum_hdr, 64, (uint8_t)(90 + i));
		heads[i] = post_tx(pkt[i], HDR + 64, cuts, 2);
	}
	fake->answer = NET_SEND_AGAIN;
	net_tx_process(net);
	ck_assert_uint_eq(fake->send_calls, 1);
	ck_assert_uint_eq(fake->nr_sent, 0);
	ck_assert_uint_eq(vring_used_idx(&txd), 0);
	ck_assert(net->tx_wait_backend);
	ck_assert_uint_eq(irq_count(), 0);
	ck_assert_uint_eq(net->stats.tx_dropped, 0);

	fake->answer = NET_SENT;
	net_tx_process(net);
	ck_assert_uint_eq(fake->send_calls, 3);
	ck_assert_uint_eq(fake->nr_sent, 2);
	expect_sent(0, pkt[0], HDR + 64);
	expect_sent(1, pkt[1], HDR + 64);
	expect_tx_used(heads[0]);
	expect_tx_used(heads[1]);
	ck_assert(!net->tx_wait_backend);
	ck_assert_uint_eq(net->stats.tx_frames, 2);
	ck_assert_uint_eq(irq_count(), 1);
}
END_TEST

/* NET_SEND_FAILED: the chain is returned and counted; the next one goes. */
START_TEST(tx_send_failed)
{
	static uint8_t pkt[2][HDR + 64];
	const uint32_t cuts[] = {HDR, 64};
	uint16_t heads[2];

	start_direct(FAKE_USER, F_V1 | F_MRG, 8, 8);
	for (unsigned int i = 0; i < 2; i++)
		tx_packet(pkt[i], &(struct virtio_net_hdr_v1){0}, 64, (uint8_t)(100 + i));
	heads[0] = post_tx(pkt[0], HDR + 64, cuts, 2);
	fake->answer = NET_SEND_FAILED;
	net_tx_process(net);
	ck_assert_uint_eq(fake->send_calls, 1);
	expect_tx_used(heads[0]);
	ck_assert_uint_eq(net->stats.tx_dropped, 1);
	ck_assert_uint_eq(net->stats.tx_frames, 0);
	ck_assert(!net->tx_wait_backend);

	fake->answer = NET_SENT;
	heads[1] = post_tx(pkt[1], HDR + 64, cuts, 2);
	net_tx_process(net);
	expect_sent(0, pkt[1] + HDR, 64);
	expect_tx_used(heads[1]);
	ck_assert_uint_eq(net->stats.tx_frames, 1);
	ck_assert_uint_eq(net->stats.tx_dropped, 1);
}
END_TEST

/* A transmit ring vq_pop() finds broken: NEEDS_RESET, nothing sent. */
START_TEST(tx_broken_ring_needs_reset)
{
	start_direct(FAKE_USER, F_V1 | F_MRG, 8, 8);
	vring_publish(&txd, 8);
	net_tx_process(net);
	ck_assert(needs_reset());
	ck_assert_uint_eq(fake->send_calls, 0);
	ck_assert_uint_eq(vring_used_idx(&txd), 0);
}
END_TEST

/*
 * The used ring 2 bytes after the available ring (vq_enable() refuses it;
 * mapped here by hand, as the fuzzer found it before that check): our
 * writes of used->flags land on avail->idx. Each "notifies back on, did the
 * driver post meanwhile?" read the write we had just made as a new chain,
 * and the transmit path looped for ever at 100% of a CPU. It must end, the
 * device needing a reset.
 */
START_TEST(tx_used_over_avail_ends)
{
	static uint8_t pkt[HDR + 60];
	const uint32_t cuts[] = {HDR, 60};
	struct virtqueue *vq;

	start_direct(FAKE_TAP, F_V1, 8, 8);
	/* The available ring at 2 mod 4, so that a used ring 2 bytes on is aligned. */
	enable_queue(NET_TXQ, &txd, TX_DESC, TX_AVAIL + 2, TX_USED, 8, false);
	vq = &net->vdev.vqs[NET_TXQ];
	post_tx(pkt, tx_packet(pkt, &tx_csum_hdr, 60, 9), cuts, 2);
	vq->used = (struct vring_used *)((uint8_t *)vq->avail + 2);
	net_tx_process(net);
	ck_assert(needs_reset());
	ck_assert(vq->broken);
}
END_TEST

/* With EVENT_IDX the transmit interrupt honours used_event too. */
START_TEST(tx_event_idx)
{
	static uint8_t pkt[HDR + 64];
	const uint32_t cuts[] = {HDR, 64};

	start_direct(FAKE_USER, F_V1 | F_MRG | F_EVENT_IDX, 8, 8);
	tx_packet(pkt, &(struct virtio_net_hdr_v1){0}, 64, 110);
	*vring_driver_used_event(&txd) = 100;
	post_tx(pkt, sizeof(pkt), cuts, 2);
	net_tx_process(net);
	ck_assert_uint_eq(irq_count(), 1);
	*vring_driver_used_event(&txd) = 2;
	post_tx(pkt, sizeof(pkt), cuts, 2);
	net_tx_process(net);
	ck_assert_uint_eq(vring_used_idx(&txd), 2);
	ck_assert_uint_eq(irq_count(), 1);
	post_tx(pkt, sizeof(pkt), cuts, 2);
	net_tx_process(net);
	ck_assert_uint_eq(vring_used_idx(&txd), 3);
	ck_assert_uint_eq(irq_count(), 2);
}
END_TEST

/* --- Features and config space --- */

START_TEST(hdr_len_by_features)
{
	ck_assert_uint_eq(net_hdr_len(F_V1), 12);
	ck_assert_uint_eq(net_hdr_len(F_MRG), 12);
	ck_assert_uint_eq(net_hdr_len(F_V1 | F_MRG), 12);
	ck_assert_uint_eq(net_hdr_len(0), 10);
	ck_assert_uint_eq(net_hdr_len(BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_MAC)), 10);
}
END_TEST

static const uint64_t always_offered = BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_MAC) |
				       BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_MTU);
static const uint64_t offload_bits = BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
				     BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
				     BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6);
/* Never: we have no control queue, no UFO, no ECN, one queue pair. */
static const uint64_t never_offered =
    BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) | BIT(VIRTIO_NET_F_MQ) |
    BIT(VIRTIO_NET_F_GUEST_UFO) | BIT(VIRTIO_NET_F_HOST_UFO) | BIT(VIRTIO_NET_F_GUEST_ECN) |
    BIT(VIRTIO_NET_F_HOST_ECN) | BIT(VIRTIO_NET_F_GSO);

START_TEST(device_features_tap)
{
	struct fake_backend *f = fake_of_kind(FAKE_TAP);
	uint64_t feat = net_device_features(&f->be);

	ck_assert_uint_eq(feat & always_offered, always_offered);
	ck_assert_uint_eq(feat & offload_bits, offload_bits);
	ck_assert_uint_eq(feat & never_offered, 0);
	fake_destroy(&f->be);
}
END_TEST

START_TEST(device_features_user)
{
	struct fake_backend *f = fake_of_kind(FAKE_USER);
	uint64_t feat = net_device_features(&f->be);

	ck_assert_uint_eq(feat & always_offered, always_offered);
	ck_assert_uint_eq(feat & offload_bits, 0);
	ck_assert_uint_eq(feat & never_offered, 0);
	fake_destroy(&f->be);
}
END_TEST

/* A vnet-header backend that can only checksum: no TSO offered to the guest. */
START_TEST(device_features_csum_only)
{
	struct fake_backend *f = fake_new(true, NET_OFFLOAD_CSUM);
	uint64_t feat = net_device_features(&f->be);

	ck_assert(feat & BIT(VIRTIO_NET_F_GUEST_CSUM));
	ck_assert_uint_eq(feat & (BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6)), 0);
	fake_destroy(&f->be);
}
END_TEST

/* The card offers its features and the core's through the transport's registers. */
START_TEST(card_offers_features)
{
	uint64_t offered;

	make_card(_i ? FAKE_USER : FAKE_TAP, test_mac, 0);
	offered = virtio_get_device_features(&net->vdev, 0) |
		  (uint64_t)virtio_get_device_features(&net->vdev, 1) << 32;
	ck_assert_uint_eq(offered, net_device_features(&fake->be) | VIRTIO_CORE_FEATURES);
	ck_assert_uint_eq(net->vdev.device_id, VIRTIO_ID_NET);
	ck_assert_uint_eq(net->vdev.nr_queues, 2);
}
END_TEST

START_TEST(rx_offloads_by_features)
{
	const uint64_t csum = BIT(VIRTIO_NET_F_GUEST_CSUM);
	const uint64_t tso4 = BIT(VIRTIO_NET_F_GUEST_TSO4), tso6 = BIT(VIRTIO_NET_F_GUEST_TSO6);

	ck_assert_uint_eq(net_rx_offloads(0), 0);
	ck_assert_uint_eq(net_rx_offloads(F_V1 | F_MRG), 0);
	ck_assert_uint_eq(net_rx_offloads(csum), NET_OFFLOAD_CSUM);
	ck_assert_uint_eq(net_rx_offloads(tso4) & (NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6), 0);
	ck_assert_uint_eq(net_rx_offloads(tso4 | tso6) & (NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6), 0);
	ck_assert_uint_eq(net_rx_offloads(csum | tso4), NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4);
	ck_assert_uint_eq(net_rx_offloads(csum | tso6), NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO6);
	ck_assert_uint_eq(net_rx_offloads(csum | tso4 | tso6),
			  NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6);
	/* Host-side offloads are no business of the receive direction. */
	ck_assert_uint_eq(net_rx_offloads(BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4)), 0);
}
END_TEST

static void read_config(void *buf, uint32_t off, uint32_t len)
{
	memset(buf, 0xa5, len);
	virtio_config_read(&net->vdev, off, buf, len);
}

START_TEST(config_space)
{
	uint8_t mac[6];
	uint16_t status, mtu;
	struct virtio_net_config whole;

	make_card(FAKE_TAP, test_mac, 0);
	read_config(mac, offsetof(struct virtio_net_config, mac), 6);
	ck_assert_mem_eq(mac, test_mac, 6);
	read_config(&status, offsetof(struct virtio_net_config, status), 2);
	ck_assert_uint_eq(le16toh(status), VIRTIO_NET_S_LINK_UP);
	read_config(&mtu, offsetof(struct virtio_net_config, mtu), 2);
	ck_assert_uint_eq(le16toh(mtu), 1500);
	/* Byte by byte, as a driver may read the MAC. */
	for (unsigned int i = 0; i < 6; i++) {
		uint8_t b;

		read_config(&b, offsetof(struct virtio_net_config, mac) + i, 1);
		ck_assert_uint_eq(b, test_mac[i]);
	}
	ck_assert_uint_ge(net->vdev.config_len, offsetof(struct virtio_net_config, mtu) + 2);
	read_config(&whole, 0, offsetof(struct virtio_net_config, mtu) + 2);
	ck_assert_mem_eq(whole.mac, test_mac, 6);
	ck_assert_uint_eq(le16toh(whole.mtu), 1500);
}
END_TEST

/*
 * Through virtio_net_create() on the user-mode backend: the card's default
 * MAC when none is given, the user's when one is, the MTU given.
 */
START_TEST(config_default_mac)
{
	struct net_opt opt = {.backend = {.kind = NET_USER, .mtu = 4000}};
	uint8_t mac[6], want[6];
	uint16_t mtu;

	clear_error();
	net = virtio_net_create(&opt, 1, &mem);
	ck_assert_msg(net, "virtio_net_create: %s", last_error());
	net_default_mac(1, want);
	read_config(mac, offsetof(struct virtio_net_config, mac), 6);
	ck_assert_mem_eq(mac, want, 6);
	read_config(&mtu, offsetof(struct virtio_net_config, mtu), 2);
	ck_assert_uint_eq(le16toh(mtu), 4000);
	virtio_net_destroy(net);

	opt.has_mac = true;
	memcpy(opt.mac, test_mac, 6);
	net = virtio_net_create(&opt, 1, &mem);
	ck_assert_msg(net, "virtio_net_create: %s", last_error());
	read_config(mac, offsetof(struct virtio_net_config, mac), 6);
	ck_assert_mem_eq(mac, test_mac, 6);
}
END_TEST

START_TEST(default_mac_properties)
{
	uint8_t mac0[6], mac1[6], again[6];

	net_default_mac(0, mac0);
	net_default_mac(1, mac1);
	net_default_mac(0, again);
	ck_assert_uint_eq(mac0[0] & 0x02, 0x02); /* locally administered */
	ck_assert_uint_eq(mac0[0] & 0x01, 0);	 /* unicast */
	ck_assert_uint_eq(mac1[0] & 0x03, 0x02);
	ck_assert_mem_ne(mac0, mac1, 6);
	ck_assert_mem_eq(mac0, again, 6);
	for (unsigned int i = 2; i < 8; i++) {
		uint8_t m[6];

		net_default_mac(i, m);
		ck_assert_uint_eq(m[0] & 0x03, 0x02);
		ck_assert_mem_ne(m, mac0, 6);
		ck_assert_mem_ne(m, mac1, 6);
	}
}
END_TEST

/* --- Through DRIVER_OK and the worker --- */

/* Wait (on the interrupt, WAIT_MS at most each) until the device has used up to @idx. */
static void irq_wait_until(struct vring_driver *d, uint16_t idx)
{
	eventfd_t count;

	while (vring_used_idx(d) != idx) {
		ck_assert_msg(poll(&(struct pollfd){.fd = irq_fd, .events = POLLIN}, 1, WAIT_MS) ==
				  1,
			      "used idx %u, waiting for %u: no interrupt", vring_used_idx(d), idx);
		eventfd_read(irq_fd, &count);
	}
}

static void set_queue(unsigned int q, uint64_t desc, uint64_t avail, uint64_t used, uint16_t size)
{
	virtio_queue_set_num(&net->vdev, q, size);
	virtio_queue_set_addr(&net->vdev, q, VQ_AREA_DESC, false, (uint32_t)desc);
	virtio_queue_set_addr(&net->vdev, q, VQ_AREA_DRIVER, false, (uint32_t)avail);
	virtio_queue_set_addr(&net->vdev, q, VQ_AREA_DEVICE, false, (uint32_t)used);
	virtio_queue_set_ready(&net->vdev, q, true);
}

/* The driver's probe: every feature offered, both queues, DRIVER_OK. */
static void driver_start(uint64_t features)
{
	const uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	virtio_set_status(&net->vdev, s);
	virtio_set_driver_features(&net->vdev, 0, (uint32_t)features);
	virtio_set_driver_features(&net->vdev, 1, (uint32_t)(features >> 32));
	virtio_set_status(&net->vdev, s | VIRTIO_CONFIG_S_FEATURES_OK);
	ck_assert(virtio_get_status(&net->vdev) & VIRTIO_CONFIG_S_FEATURES_OK);
	vring_driver_init(&rxd, &mem, RX_DESC, RX_AVAIL, RX_USED, 16);
	vring_driver_init(&txd, &mem, TX_DESC, TX_AVAIL, TX_USED, 16);
	set_queue(NET_RXQ, RX_DESC, RX_AVAIL, RX_USED, 16);
	set_queue(NET_TXQ, TX_DESC, TX_AVAIL, TX_USED, 16);
	virtio_set_status(&net->vdev, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	ck_assert(virtio_get_status(&net->vdev) & VIRTIO_CONFIG_S_DRIVER_OK);
	ck_assert(!needs_reset());
	ck_assert(net->vdev.active);
	ck_assert_uint_eq(net->hdr_len, net_hdr_len(features));
}

/* A frame each way through the worker; the backend told which offloads the guest took. */
START_TEST(worker_exchanges_frames)
{
	static uint8_t pkt[HDR + 300], payload[400], frame[HDR + 400];
	const uint32_t cuts[] = {HDR, 100, 200};
	const bool tap = _i == 0;
	const struct virtio_net_hdr_v1 vh = {.flags = VIRTIO_NET_HDR_F_DATA_VALID};
	struct virtio_net_hdr_v1 want;
	uint64_t features;
	uint16_t head;
	size_t len;

	irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_ge(irq_fd, 0);
	make_card(tap ? FAKE_TAP : FAKE_USER, test_mac, 0);
	features = net->vdev.host_features;
	driver_start(features);
	pthread_mutex_lock(&fake->lock);
	/* The user fake can do none: whether it is asked for none does not matter. */
	ck_assert_uint_eq(fake->offloads_set, net_rx_offloads(features));
	if (tap) {
		ck_assert_uint_eq(fake->set_offloads_calls, 1);
		ck_assert_uint_eq(fake->offloads_set,
				  NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6);
	}
	pthread_mutex_unlock(&fake->lock);

	/* Guest to host. */
	len = tx_packet(pkt, tap ? &tx_csum_hdr : &(struct virtio_net_hdr_v1){0}, 300, 120);
	head = post_tx(pkt, len, cuts, ARRAY_SIZE(cuts));
	virtio_queue_notify(&net->vdev, NET_TXQ);
	irq_wait_until(&txd, 1);
	expect_tx_used(head);
	pthread_mutex_lock(&fake->lock);
	ck_assert_uint_eq(fake->nr_sent, 1);
	if (tap)
		expect_sent(0, pkt, len);
	else
		expect_sent(0, pkt + HDR, len - HDR);
	pthread_mutex_unlock(&fake->lock);

	/* Host to guest: the frame waits in the backend, then the driver posts buffers. */
	fill_pattern(payload, sizeof(payload), 121);
	len = backend_frame(frame, tap ? &vh : NULL, payload, sizeof(payload));
	fake_push(fake, frame, len);
	post_rx_bufs(2, 256);
	virtio_queue_notify(&net->vdev, NET_RXQ);
	irq_wait_until(&rxd, 2);
	want = guest_hdr(tap ? &vh : NULL, 2);
	expect_rx(2, &want, payload, sizeof(payload), (const uint16_t[]){0, 1});
	ck_assert_uint_eq(fake_waiting(fake), 0);

	/* A reset stops the worker. */
	virtio_set_status(&net->vdev, 0);
	ck_assert(!net->vdev.active);
	ck_assert(!net->running);
}
END_TEST

/* --- The real tap backend (root and /dev/net/tun only) --- */

/*
 * A tap whose interface is deleted under the VMM: its fd then fails reads
 * with EBADFD and poll() reports it ready for ever. The backend must stop
 * offering it to the worker's poll (it spun at 100% of a CPU), send no more
 * frames up, and refuse frames from the guest without blocking.
 */
START_TEST(tap_gone_is_not_polled)
{
	struct net_backend_opt opt = {.kind = NET_TAP};
	struct net_backend *be = net_tap_open(&opt);
	uint8_t frame[NET_VNET_HDR_LEN + 60] = {0};
	struct iovec iov = {frame, sizeof(frame)};
	struct pollfd pfd[1];
	const uint8_t *got;
	char cmd[64];
	size_t len;
	int timeout = -1;

	ck_assert_msg(be, "net_tap_open: %s", last_error());
	ck_assert_uint_eq(be->ops->poll_fill(be, pfd, 1, true, false, &timeout), 1);
	ck_assert_int_eq(be->ops->peek(be, &got, &len), 0);
	snprintf(cmd, sizeof(cmd), "ip link del %s", be->name);
	ck_assert_int_eq(system(cmd), 0);

	/* The drained tap is read again once poll() reports its fd, as in the worker. */
	ck_assert_int_eq(be->ops->peek(be, &got, &len), 0);
	ck_assert_int_eq(poll(pfd, 1, 0), 1);
	be->ops->poll_done(be, pfd, 1);
	ck_assert_int_eq(be->ops->peek(be, &got, &len), -1);
	ck_assert_int_eq(be->ops->peek(be, &got, &len), 0);
	ck_assert_uint_eq(be->ops->poll_fill(be, pfd, 1, true, false, &timeout), 0);
	ck_assert_int_eq(be->ops->send(be, &iov, 1), NET_SEND_FAILED);
	be->ops->destroy(be);
}
END_TEST

/* Creating a tap needs CAP_NET_ADMIN: the case runs where make check runs as root (CI). */
static bool can_make_taps(void)
{
	return geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0;
}

Suite *net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *rx = tcase_create("rx");
	TCase *tx = tcase_create("tx");
	TCase *dev = tcase_create("device");
	TCase *worker = tcase_create("worker");

	tcase_add_checked_fixture(rx, setup, teardown);
	tcase_add_test(rx, rx_mrg_spreads_over_buffers);
	tcase_add_test(rx, rx_mrg_exact_fit);
	tcase_add_test(rx, rx_no_buffers_then_delivered);
	tcase_add_test(rx, rx_mrg_needs_more_than_posted);
	tcase_add_test(rx, rx_mrg_bigger_than_ring);
	tcase_add_test(rx, rx_mrg_capped_at_ring_size);
	tcase_add_test(rx, rx_single_chain_per_frame);
	tcase_add_test(rx, rx_frame_larger_than_chain);
	tcase_add_test(rx, rx_header_split_across_buffers);
	tcase_add_loop_test(rx, rx_legacy_header, 0, 2);
	tcase_add_test(rx, rx_process_in_order);
	tcase_add_loop_test(rx, rx_process_waits_for_more_buffers, 0, 2);
	tcase_add_test(rx, rx_process_header_from_backend);
	tcase_add_test(rx, rx_process_zero_header);
	tcase_add_loop_test(rx, rx_max_frame, 0, 2);
	tcase_add_test(rx, rx_process_drops_oversized);
	tcase_add_loop_test(rx, rx_readable_buffer_needs_reset, 0, 2);
	tcase_add_test(rx, rx_process_readable_buffer_needs_reset);
	tcase_add_test(rx, rx_broken_ring_needs_reset);
	tcase_add_loop_test(rx, rx_chain_shorter_than_header, 0, 2);
	tcase_add_test(rx, rx_event_idx);
	suite_add_tcase(s, rx);

	tcase_add_checked_fixture(tx, setup, teardown);
	tcase_add_loop_test(tx, tx_gathers_buffers, 0, 2);
	tcase_add_test(tx, tx_several_chains);
	tcase_add_test(tx, tx_max_frame);
	tcase_add_test(tx, tx_rejects_bad_chains);
	tcase_add_test(tx, tx_send_again);
	tcase_add_test(tx, tx_send_failed);
	tcase_add_test(tx, tx_broken_ring_needs_reset);
	tcase_add_test(tx, tx_used_over_avail_ends);
	tcase_add_loop_test(tx, tx_checks_header, 0, ARRAY_SIZE(tx_hdr_cases));
	tcase_add_test(tx, tx_event_idx);
	suite_add_tcase(s, tx);

	tcase_add_checked_fixture(dev, setup, teardown);
	tcase_add_test(dev, hdr_len_by_features);
	tcase_add_test(dev, device_features_tap);
	tcase_add_test(dev, device_features_user);
	tcase_add_test(dev, device_features_csum_only);
	tcase_add_loop_test(dev, card_offers_features, 0, 2);
	tcase_add_test(dev, rx_offloads_by_features);
	tcase_add_test(dev, config_space);
	tcase_add_test(dev, config_default_mac);
	tcase_add_test(dev, default_mac_properties);
	suite_add_tcase(s, dev);

	tcase_add_checked_fixture(worker, setup, teardown);
	tcase_add_loop_test(worker, worker_exchanges_frames, 0, 2);
	suite_add_tcase(s, worker);

	if (can_make_taps()) {
		TCase *tap = tcase_create("tap");

		tcase_add_test(tap, tap_gone_is_not_polled);
		suite_add_tcase(s, tap);
	} else {
		fprintf(stderr, "net: the tap case needs root and /dev/net/tun: not run\n");
	}
	return s;
}
