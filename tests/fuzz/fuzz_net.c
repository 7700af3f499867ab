// SPDX-License-Identifier: MIT
/*
 * virtio-net's receive and transmit paths on fuzz RAM and a fake backend,
 * without the worker thread: the input picks the features (MRG_RXBUF,
 * offloads, EVENT_IDX), the backend's kind (vnet header or bare), and a
 * program of chains posted, frames offered, and rx/tx processing.
 *
 * Invariants: the device writes only used rings and writable buffers; used
 * lengths within what the chain offered; net_rx_frame() answers 1, 0, -2 or
 * -1 and -1 only with NEEDS_RESET; a frame sent lies in RAM and is no
 * longer than NET_MAX_FRAME (+ header).
 */
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/net_internal.h"
#include "tests/fuzz/fuzz_util.h"

#define RAM_SIZE 0x20000
#define BUF_AREA 0x10000

static uint8_t ram[RAM_SIZE], before[RAM_SIZE], allow[RAM_SIZE];
static struct guest_mem mem;

struct fake {
	struct net_backend be;
	uint8_t frame[2048];
	size_t len;
	bool has;
	unsigned int sends_left; /* then NET_SEND_AGAIN */
};

static int fake_peek(struct net_backend *be, const uint8_t **frame, size_t *len)
{
	struct fake *f = (struct fake *)be;

	if (!f->has)
		return 0;
	*frame = f->frame;
	*len = f->len;
	return 1;
}

static void fake_consume(struct net_backend *be)
{
	((struct fake *)be)->has = false;
}

static enum net_send_result fake_send(struct net_backend *be, const struct iovec *iov,
				      unsigned int cnt)
{
	struct fake *f = (struct fake *)be;
	size_t total = 0;

	for (unsigned int i = 0; i < cnt; i++) {
		FZ_CHECK(iov[i].iov_base >= (void *)ram);
		FZ_CHECK((uint8_t *)iov[i].iov_base + iov[i].iov_len <= ram + RAM_SIZE);
		total += iov[i].iov_len;
	}
	FZ_CHECK(total <= NET_MAX_FRAME + NET_VNET_HDR_LEN);
	if (!f->sends_left)
		return NET_SEND_AGAIN;
	f->sends_left--;
	return total & 1 ? NET_SEND_FAILED : NET_SENT;
}

static unsigned int fake_poll_fill(struct net_backend *be, struct pollfd *pfd, unsigned int max,
				   bool want_rx, bool want_tx, int *timeout_ms)
{
	(void)be, (void)pfd, (void)max, (void)want_rx, (void)want_tx, (void)timeout_ms;
	return 0;
}

static void fake_poll_done(struct net_backend *be, const struct pollfd *pfd, unsigned int n)
{
	(void)be, (void)pfd, (void)n;
}

static void fake_destroy(struct net_backend *be)
{
	free(be);
}

static const struct net_backend_ops fake_ops = {
    .peek = fake_peek,
    .consume = fake_consume,
    .send = fake_send,
    .poll_fill = fake_poll_fill,
    .poll_done = fake_poll_done,
    .destroy = fake_destroy,
};

static void no_interrupt(void *opaque)
{
	(void)opaque;
}

static const uint64_t feature_bits[] = {
    VIRTIO_NET_F_MRG_RXBUF,  VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4,
    VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_CSUM,	      VIRTIO_NET_F_HOST_TSO4,
    VIRTIO_NET_F_HOST_TSO6,  VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC,
};

static bool broken(struct virtio_net *net)
{
	return virtio_get_status(&net->vdev) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

static void enable(struct virtio_net *net, unsigned int q, struct fz_ring *r, uint64_t base,
		   uint16_t size)
{
	struct virtqueue *vq = &net->vdev.vqs[q];

	fz_ring_init(r, ram, RAM_SIZE, base, base + 0x1000, base + 0x2000, size);
	vq->size = size;
	vq->desc_gpa = r->desc;
	vq->avail_gpa = r->avail;
	vq->used_gpa = r->used;
	vq_enable(vq, &mem, virtio_has_feature(&net->vdev, VIRTIO_RING_F_EVENT_IDX),
		  virtio_has_feature(&net->vdev, VIRTIO_RING_F_INDIRECT_DESC));
}

static void offer_frame(struct fz *f, struct virtio_net *net, struct fake *fk)
{
	size_t len = fz_u16(f) % sizeof(fk->frame);
	int r;

	fz_bytes(f, fk->frame, len);
	fk->len = len;
	r = net_rx_frame(net, fk->frame, len);
	FZ_CHECK(r >= -2 && r <= 1);
	if (r == -1)
		FZ_CHECK(broken(net));
}

static void check_step(struct fz_ring *rx, struct fz_ring *tx)
{
	memset(allow, 0, RAM_SIZE);
	/* The tables as the device read them, and as its own writes may have left them. */
	fz_allow_queue(allow, before, RAM_SIZE, rx->desc, rx->used, rx->size);
	fz_allow_queue(allow, before, RAM_SIZE, tx->desc, tx->used, tx->size);
	fz_allow_queue(allow, ram, RAM_SIZE, rx->desc, rx->used, rx->size);
	fz_allow_queue(allow, ram, RAM_SIZE, tx->desc, tx->used, tx->size);
	fz_check_writes(before, ram, allow, RAM_SIZE);
	fz_ring_check_used(rx, before);
	fz_ring_check_used(tx, before);
}

static void run(struct fz *f, struct virtio_net *net, struct fake *fk, struct fz_ring *rx,
		struct fz_ring *tx)
{
	while (f->left) {
		uint8_t op = fz_u8(f) % 8;

		memcpy(before, ram, RAM_SIZE);
		switch (op) {
		case 0:
		case 1: fz_ring_post(f, rx, BUF_AREA, RAM_SIZE - BUF_AREA); continue;
		case 2: fz_ring_post(f, tx, BUF_AREA, RAM_SIZE - BUF_AREA); continue;
		case 3: offer_frame(f, net, fk); break;
		case 4:
			fk->len = fz_u16(f) % sizeof(fk->frame);
			fz_bytes(f, fk->frame, fk->len);
			fk->has = true;
			net_rx_process(net);
			break;
		case 5:
			fk->sends_left = fz_u8(f) % 8;
			net_tx_process(net);
			break;
		case 6: {
			uint8_t buf[32];
			uint32_t gpa = BUF_AREA + fz_u16(f);
			size_t n = fz_bytes(f, buf, sizeof(buf));

			fz_poke(ram, RAM_SIZE, gpa, buf, n);
			continue;
		}
		case 7: net_rx_process(net); break;
		}
		check_step(rx, tx);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
	struct fz f = {data, size};
	uint16_t feat = fz_u16(&f);
	struct fz_ring rx, tx;
	struct virtio_net *net;
	struct fake *fk = calloc(1, sizeof(*fk));

	memset(ram, 0, RAM_SIZE);
	fz_mem_init(&mem, ram, RAM_SIZE);
	fk->be = (struct net_backend){
	    .ops = &fake_ops, .name = "fuzz", .vnet_hdr = feat & 0x8000, .max_pollfds = 1};
	if (fk->be.vnet_hdr)
		fk->be.offloads = NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6;
	net = net_create_on(&fk->be, mac, 1500, 0, &mem);
	FZ_CHECK(net);
	net->vdev.transport = (struct virtio_transport){.interrupt = no_interrupt};
	net->vdev.features = 1ULL << VIRTIO_F_VERSION_1;
	for (unsigned int i = 0; i < sizeof(feature_bits) / sizeof(feature_bits[0]); i++)
		if (feat & (1U << i))
			net->vdev.features |= (1ULL << feature_bits[i]) & net->vdev.host_features;
	net->hdr_len = net_hdr_len(net->vdev.features);
	enable(net, NET_RXQ, &rx, 0x0, (uint16_t)(1U << (fz_u8(&f) % 9)));
	enable(net, NET_TXQ, &tx, 0x4000, (uint16_t)(1U << (fz_u8(&f) % 9)));
	run(&f, net, fk, &rx, &tx);
	virtio_net_destroy(net);
	return 0;
}
