// SPDX-License-Identifier: MIT
/*
 * Hostile scenarios, the network card: a receive chain with a readable
 * buffer, transmit chains to be returned unsent, and one that loops. The
 * card's round trip is an ARP exchange with the peer.
 */
#include "hostile.h"

/* The network card: a peer that answers ARP, chosen by tg.net. */

#define FRAME_MAX    2048
#define ARP_ATTEMPTS 3

/* tg.net=user (the default) or tg.net=tap:GUEST:HOST. */
static bool net_peer(struct hctx *c)
{
	char val[64] = "user";
	bool tap;

	tg_param("tg.net", val, sizeof(val));
	if (!parse_net_peer(val, c->guest_ip, c->peer_ip, &tap))
		return skip(c, "tg.net=%s: expected user or tap:GUEST:HOST", val);
	return true;
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
	return reset_and_reprobe(c) && arp_round_trip(c, c->guest_ip);
}

static bool net_round_trip(struct hctx *c)
{
	return arp_round_trip(c, c->guest_ip);
}

/* @sc->rx_bufs receive buffers at this first probe only: recovery probes with all. */
static bool net_begin(struct hctx *c, char *msg, size_t len, const struct hscenario *sc)
{
	bool up;

	hostile_quiet();
	memset(c, 0, sizeof(*c));
	tg_outcome_init(&c->o, msg, len);
	c->dev = &hostile_net_dev;
	c->opts = sc->opts;
	c->vdev = virtio_find_device(VIRTIO_ID_NET, 0);
	if (!c->vdev)
		return skip(c, "no virtio-net device (run with --net)");
	c->m = to_virtio_mmio(c->vdev);
	c->frame = tg_alloc(FRAME_MAX, 64);
	if (!net_peer(c))
		return false;
	virtio_net_params.rx_bufs = sc->rx_bufs;
	up = device_up(c);
	virtio_net_params.rx_bufs = 0;
	return up;
}

const struct hdev hostile_net_dev = {
    .begin = net_begin,
    .recover = net_recover,
    .round_trip = net_round_trip,
};

/* One good buffer is posted by the driver, then a chain whose first buffer is readable. */
static bool post_rx_readable(struct hctx *c, const struct hstep *st)
{
	uint8_t *buf = tg_alloc(FRAME_MAX, 64);
	struct seg s[] = {
	    seg_of(buf, 64, 0),
	    seg_of(buf + 64, FRAME_MAX - 64, VRING_DESC_F_WRITE),
	};

	return post_chain(c, step_vq(c, st), s, TG_ARRAY_SIZE(s));
}

/* Two ARP requests bring two replies, one for each chain (other frames only hasten it). */
static bool send_two_arps(struct hctx *c, const struct hstep *st)
{
	uint8_t f[ARP_FRAME];

	(void)st;
	arp_request(f, c->net->mac, c->guest_ip, c->peer_ip);
	for (int i = 0; i < 2; i++)
		if (virtio_net_send(c->net, f, ARP_FRAME, NULL, 0))
			return fail(c, "send failed");
	return true;
}

/*
 * A receive chain with a device-readable buffer (then a writable one that
 * alone would hold the frame): NEEDS_RESET once a frame comes for it; at
 * most the good buffer comes back, never the bad chain.
 */
enum tg_result hostile_net_rx_readable(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    STEP("a receive chain with a readable buffer", post_rx_readable, .q = Q_RX,
		 .kick = true),
	    STEP("two ARP requests", send_two_arps, .q = Q_RX,
		 .expect = X_NEEDS_RESET | X_HEAD_NOT_USED),
	};
	static const struct hscenario sc = {STEPS(steps), .dev = &hostile_net_dev, .rx_bufs = 1};

	return hostile_run(msg, len, &sc);
}

/*
 * An ARP request followed by a writable buffer, sent from the next address
 * up (c->stray_ip), so that a reply would show it went out.
 */
static bool post_tx_writable(struct hctx *c, const struct hstep *st)
{
	uint8_t *a = tg_alloc(VIRTIO_NET_HDR_LEN + ARP_FRAME + 64, 64);
	struct seg s[] = {
	    seg_of(a, VIRTIO_NET_HDR_LEN + ARP_FRAME, 0),
	    seg_of(a + VIRTIO_NET_HDR_LEN + ARP_FRAME, 64, VRING_DESC_F_WRITE),
	};

	memcpy(c->stray_ip, c->guest_ip, 4);
	c->stray_ip[3] ^= 1;
	arp_request(a + VIRTIO_NET_HDR_LEN, c->net->mac, c->stray_ip, c->peer_ip);
	c->txbuf = a;
	return post_chain(c, step_vq(c, st), s, TG_ARRAY_SIZE(s));
}

/* The same frame cut to 20 bytes: less than the header and an Ethernet header. */
static bool post_tx_short(struct hctx *c, const struct hstep *st)
{
	struct seg s = seg_of(c->txbuf, 20, 0);

	return post_chain(c, step_vq(c, st), &s, 1);
}

/*
 * A good ARP afterwards: answered, and a reply to the bad chain's ARP, had
 * it gone out, would come before it (or just after: stragglers).
 */
static bool no_reply_to_stray(struct hctx *c, const struct hstep *st)
{
	unsigned int stray = 0;

	(void)st;
	arp_request(c->frame, c->net->mac, c->guest_ip, c->peer_ip);
	if (virtio_net_send(c->net, c->frame, ARP_FRAME, NULL, 0) ||
	    !wait_arp_reply(c, c->guest_ip, EVENT_TIMEOUT, c->stray_ip, &stray)) {
		if (!c->o.failed)
			fail(c, "no ARP reply from %u.%u.%u.%u", c->peer_ip[0], c->peer_ip[1],
			     c->peer_ip[2], c->peer_ip[3]);
		return false;
	}
	wait_arp_reply(c, c->stray_ip, 100 * MS, c->stray_ip, &stray);
	if (c->o.failed)
		return false;
	return !stray ||
	       fail(c, "the chain with a writable buffer was sent: %u ARP replies to it", stray);
}

/* The peer would have answered the bad chain's ARP: sent properly, it does. */
static bool arp_from_stray(struct hctx *c, const struct hstep *st)
{
	(void)st;
	return arp_round_trip(c, c->stray_ip);
}

/*
 * Transmit chains the device must return unsent, without NEEDS_RESET; then
 * the card still sends, and the bad chain's ARP sent properly is answered.
 */
enum tg_result hostile_net_tx_bad_chains(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    STEP("transmit chain with a writable buffer", post_tx_writable, .q = Q_TX, .kick = true,
		 .expect = X_USED, .used_len = 0),
	    STEP("transmit chain of 20 bytes", post_tx_short, .q = Q_TX, .kick = true,
		 .expect = X_USED | X_HEALTHY, .used_len = 0, .status = STATUS_LIVE),
	    STEP("sending afterwards", no_reply_to_stray),
	    STEP("control: the same ARP sent properly", arp_from_stray),
	};
	static const struct hscenario sc = {STEPS(steps), .dev = &hostile_net_dev, .end = END_NONE};

	return hostile_run(msg, len, &sc);
}

/* An ARP request split in two descriptors, the second chained back to the first. */
static bool post_tx_loop(struct hctx *c, const struct hstep *st)
{
	struct virtqueue *tx = step_vq(c, st);
	uint8_t *a = tg_alloc(VIRTIO_NET_HDR_LEN + ARP_FRAME, 64);
	uint16_t ids[2];

	arp_request(a + VIRTIO_NET_HDR_LEN, c->net->mac, c->guest_ip, c->peer_ip);
	if (virtqueue_reserve_desc(tx, ids, 2))
		return fail(c, "no free transmit descriptors");
	vring_write_desc(tx, ids[0], (uintptr_t)a, VIRTIO_NET_HDR_LEN, VRING_DESC_F_NEXT, ids[1]);
	vring_write_desc(tx, ids[1], (uintptr_t)a + VIRTIO_NET_HDR_LEN, ARP_FRAME,
			 VRING_DESC_F_NEXT, ids[0]);
	vring_post_raw(tx, ids[0]);
	return true;
}

/* A transmit chain that loops: NEEDS_RESET, then the card works after a reset. */
enum tg_result hostile_net_tx_loop(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    STEP("a transmit chain that loops", post_tx_loop, .q = Q_TX, .kick = true,
		 .expect = X_NEEDS_RESET | X_NOT_USED),
	};
	static const struct hscenario sc = {STEPS(steps), .dev = &hostile_net_dev};

	return hostile_run(msg, len, &sc);
}
