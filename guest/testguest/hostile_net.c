// SPDX-License-Identifier: MIT
/*
 * Hostile scenarios, the network card: a receive chain with a readable
 * buffer, transmit chains to be returned unsent, and one that loops.
 */
#include "hostile.h"

/* The network card: a peer that answers ARP, chosen by tg.net. */

#define FRAME_MAX    2048
#define ARP_ATTEMPTS 3

/* tg.net=user (the default) or tg.net=tap:GUEST:HOST. */
static bool net_peer(struct hctx *c)
{
	static const uint8_t user_guest[4] = {10, 0, 2, 15}, user_gw[4] = {10, 0, 2, 2};
	char val[64];
	const char *p;

	if (!tg_param("tg.net", val, sizeof(val)) || !strcmp(val, "user")) {
		memcpy(c->guest_ip, user_guest, 4);
		memcpy(c->peer_ip, user_gw, 4);
		return true;
	}
	if (strncmp(val, "tap:", 4) || !parse_ip(val + 4, c->guest_ip, &p) || *p != ':' ||
	    !parse_ip(p + 1, c->peer_ip, &p) || *p)
		return skip(c, "tg.net=%s: expected user or tap:GUEST:HOST", val);
	return true;
}

static bool net_up(struct hctx *c)
{
	int err = virtio_reprobe(c->vdev, &c->opts);

	c->net = virtio_net_of(c->vdev);
	if (err || !c->net)
		return fail(c, "probe: %s (%s)", virtio_strerror(err), c->vdev->probe_error);
	return expect_status(c, STATUS_LIVE, "the probe");
}

/* who-has @tip tell @sip, from our MAC, broadcast. */
static unsigned int arp_request(uint8_t *f, const uint8_t mac[ETH_ALEN], const uint8_t sip[4],
				const uint8_t tip[4])
{
	return arp_frame(f, ARP_REQUEST, eth_broadcast, mac, sip, eth_zero, tip);
}

/*
 * Receive until an ARP reply to @tip comes (true) or @timeout passes;
 * *@stray counts replies to @stray_ip meanwhile (when not NULL).
 */
static bool wait_arp_reply(struct hctx *c, const uint8_t tip[4], uint64_t timeout,
			   const uint8_t *stray_ip, unsigned int *stray)
{
	uint64_t end = tg_ns() + timeout;

	for (;;) {
		uint64_t now = tg_ns();
		int n;

		if (now >= end)
			return false;
		n = virtio_net_recv(c->net, c->frame, FRAME_MAX, NULL, end - now);
		if (n == -VIRTIO_ETIMEDOUT)
			return false;
		if (n < 0)
			return fail(c, "receive: %s", virtio_strerror(n));
		if (stray_ip && is_arp(c->frame, n, ARP_REPLY, c->peer_ip, stray_ip))
			(*stray)++;
		if (is_arp(c->frame, n, ARP_REPLY, c->peer_ip, tip))
			return true;
	}
}

/* ARP from @sip to the peer, answered; a few tries (the first may race the peer's setup). */
static bool arp_round_trip(struct hctx *c, const uint8_t sip[4])
{
	uint8_t f[ARP_FRAME];

	for (int i = 0; i < ARP_ATTEMPTS; i++) {
		int err;

		arp_request(f, c->net->mac, sip, c->peer_ip);
		err = virtio_net_send(c->net, f, ARP_FRAME, NULL, 0);
		if (err)
			return fail(c, "send: %s", virtio_strerror(err));
		if (wait_arp_reply(c, sip, 500 * MS, NULL, NULL))
			return true;
		if (c->o.failed)
			return false;
	}
	return fail(c, "no ARP reply from %u.%u.%u.%u to %u.%u.%u.%u", c->peer_ip[0], c->peer_ip[1],
		    c->peer_ip[2], c->peer_ip[3], sip[0], sip[1], sip[2], sip[3]);
}

static bool net_recover(struct hctx *c)
{
	uint32_t isr;

	if (!dev_reset(c))
		return false;
	isr = reg(c, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (isr)
		return fail(c, "interrupt status 0x%x after reset", isr);
	return net_up(c) && arp_round_trip(c, c->guest_ip);
}

static bool net_begin(struct hctx *c, char *msg, size_t len)
{
	hostile_quiet();
	memset(c, 0, sizeof(*c));
	tg_outcome_init(&c->o, msg, len);
	c->vdev = virtio_find_device(VIRTIO_ID_NET, 0);
	if (!c->vdev)
		return skip(c, "no virtio-net device (run with --net)");
	c->m = to_virtio_mmio(c->vdev);
	c->frame = tg_alloc(FRAME_MAX, 64);
	return net_peer(c) && net_up(c);
}

/*
 * A receive chain with a device-readable buffer (then a writable one that
 * alone would hold the frame): NEEDS_RESET once a frame comes for it. One
 * good buffer is posted by the driver, the bad chain after it; two ARP
 * requests bring two replies (other frames only hasten it).
 */
enum tg_result hostile_net_rx_readable(char *msg, size_t len)
{
	uint8_t f[ARP_FRAME], *buf;
	struct virtqueue *rx;
	struct vring_used_elem e;
	struct hctx c;
	uint16_t ids[2];

	virtio_net_params.rx_bufs = 1;
	if (!net_begin(&c, msg, len))
		return hostile_finish(&c);
	rx = c.net->rx;
	buf = tg_alloc(FRAME_MAX, 64);
	if (virtqueue_reserve_desc(rx, ids, 2)) {
		fail(&c, "no free receive descriptors");
		return hostile_finish(&c);
	}
	vring_write_desc(rx, ids[0], (uintptr_t)buf, 64, VRING_DESC_F_NEXT, ids[1]);
	vring_write_desc(rx, ids[1], (uintptr_t)buf + 64, FRAME_MAX - 64, VRING_DESC_F_WRITE, 0);
	vring_post_raw(rx, ids[0]);
	virtqueue_notify(rx);
	arp_request(f, c.net->mac, c.guest_ip, c.peer_ip);
	for (int i = 0; i < 2; i++) {
		if (virtio_net_send(c.net, f, ARP_FRAME, NULL, 0)) {
			fail(&c, "send failed");
			return hostile_finish(&c);
		}
	}
	if (!expect_needs_reset(&c, true))
		return hostile_finish(&c);
	/* At most the good buffer came back, never the bad one. */
	while (vring_pop_used_raw(rx, &e)) {
		if (e.id == ids[0]) {
			fail(&c, "the device returned the bad receive chain (len %u)", e.len);
			return hostile_finish(&c);
		}
	}
	c.o.step = "recovery";
	virtio_net_params.rx_bufs = 0;
	net_recover(&c);
	return hostile_finish(&c);
}

/*
 * Transmit chains the device must return unsent, without NEEDS_RESET: an ARP
 * request followed by a writable buffer (sent from the next address up, so
 * that a reply would show it went out), and a chain of 20 bytes (less than
 * the header and an Ethernet header). Then the card still sends, and the
 * same ARP sent properly is answered: the peer would have answered it.
 */
enum tg_result hostile_net_tx_bad_chains(char *msg, size_t len)
{
	struct virtqueue *tx;
	uint8_t *a, stray_ip[4];
	unsigned int stray = 0;
	uint16_t ids[3];
	struct hctx c;
	struct seg s[2];

	if (!net_begin(&c, msg, len))
		return hostile_finish(&c);
	tx = c.net->tx;
	memcpy(stray_ip, c.guest_ip, 4);
	stray_ip[3] ^= 1;
	a = tg_alloc(VIRTIO_NET_HDR_LEN + ARP_FRAME + 64, 64);
	arp_request(a + VIRTIO_NET_HDR_LEN, c.net->mac, stray_ip, c.peer_ip);
	s[0] = seg_of(a, VIRTIO_NET_HDR_LEN + ARP_FRAME, 0);
	s[1] = seg_of(a + VIRTIO_NET_HDR_LEN + ARP_FRAME, 64, VRING_DESC_F_WRITE);
	c.o.step = "transmit chain with a writable buffer";
	if (!lay_chain(&c, tx, s, 2, ids))
		return hostile_finish(&c);
	vring_post_raw(tx, ids[0]);
	if (!expect_raw_used(&c, tx, ids[0], 0))
		return hostile_finish(&c);
	c.o.step = "transmit chain of 20 bytes";
	s[0].len = 20;
	if (!lay_chain(&c, tx, s, 1, ids + 2))
		return hostile_finish(&c);
	vring_post_raw(tx, ids[2]);
	if (!expect_raw_used(&c, tx, ids[2], 0))
		return hostile_finish(&c);
	virtqueue_release_desc(tx, ids, 3);
	if (!expect_healthy(&c, STATUS_LIVE))
		return hostile_finish(&c);
	/*
	 * A good ARP afterwards: answered, and a reply to the bad chain's ARP,
	 * had it gone out, would come before it (or just after: stragglers).
	 */
	c.o.step = "sending afterwards";
	arp_request(c.frame, c.net->mac, c.guest_ip, c.peer_ip);
	if (virtio_net_send(c.net, c.frame, ARP_FRAME, NULL, 0) ||
	    !wait_arp_reply(&c, c.guest_ip, EVENT_TIMEOUT, stray_ip, &stray)) {
		if (!c.o.failed)
			fail(&c, "no ARP reply from %u.%u.%u.%u", c.peer_ip[0], c.peer_ip[1],
			     c.peer_ip[2], c.peer_ip[3]);
		return hostile_finish(&c);
	}
	wait_arp_reply(&c, stray_ip, 100 * MS, stray_ip, &stray);
	if (stray) {
		fail(&c, "the chain with a writable buffer was sent: %u ARP replies to it", stray);
		return hostile_finish(&c);
	}
	c.o.step = "control: the same ARP sent properly";
	arp_round_trip(&c, stray_ip);
	return hostile_finish(&c);
}

/* A transmit chain that loops: NEEDS_RESET, then the card works after a reset. */
enum tg_result hostile_net_tx_loop(char *msg, size_t len)
{
	struct virtqueue *tx;
	uint16_t ids[2];
	struct hctx c;
	uint8_t *a;
	uint16_t used_before;

	if (!net_begin(&c, msg, len))
		return hostile_finish(&c);
	tx = c.net->tx;
	a = tg_alloc(VIRTIO_NET_HDR_LEN + ARP_FRAME, 64);
	arp_request(a + VIRTIO_NET_HDR_LEN, c.net->mac, c.guest_ip, c.peer_ip);
	if (virtqueue_reserve_desc(tx, ids, 2)) {
		fail(&c, "no free transmit descriptors");
		return hostile_finish(&c);
	}
	vring_write_desc(tx, ids[0], (uintptr_t)a, VIRTIO_NET_HDR_LEN, VRING_DESC_F_NEXT, ids[1]);
	vring_write_desc(tx, ids[1], (uintptr_t)a + VIRTIO_NET_HDR_LEN, ARP_FRAME,
			 VRING_DESC_F_NEXT, ids[0]);
	used_before = tx->vring.used->idx;
	vring_post_raw(tx, ids[0]);
	virtqueue_notify(tx);
	if (!expect_needs_reset(&c, true))
		return hostile_finish(&c);
	if (tx->vring.used->idx != used_before) {
		fail(&c, "the device returned the looping chain");
		return hostile_finish(&c);
	}
	c.o.step = "recovery";
	net_recover(&c);
	return hostile_finish(&c);
}
