// SPDX-License-Identifier: MIT
/*
 * Network scenarios: real frames through the VMM's virtio-net card and its
 * backend, answered by whoever is on the other side:
 *
 *	tg.net=user			the user-mode backend (slirp): the guest is
 *					10.0.2.15, the gateway 10.0.2.2 answers ARP
 *					and ping, its DHCP server offers 10.0.2.15
 *	tg.net=tap:GUEST:HOST		a tap whose host end (HOST, in a network
 *					namespace of the test's) answers ARP and ping
 *	tg.net.port=PORT		(tap) a TCP listener on HOST:PORT, whose
 *					SYN-ACK the host kernel hands over with a
 *					partial checksum when it may
 *
 * Without tg.net= every scenario is skipped: the guest cannot tell which
 * peer to expect. Offloads are only offered on a tap; the scenarios that
 * need them skip on the user backend.
 *
 * Every frame received is checked in full: addresses, lengths, the IP
 * header checksum, the ICMP or TCP checksum (completed by the guest first
 * when the header says NEEDS_CSUM) and the echoed payload. Frames nobody
 * asked for (IPv6 neighbour discovery from a tap's host, say) are skipped;
 * ARP requests for the guest's address are answered, so that the peer can
 * always reach it.
 */
#include "frames.h"
#include "outcome.h"
#include "rt.h"
#include "scenario.h"
#include "virtio.h"
#include "virtio_net.h"

#define MS	      1000000ULL
#define REPLY_TIMEOUT (2000 * MS)
#define QUIET_NS      (300 * MS) /* "no reply": a peer answers in well under 10 ms */
#define FRAME_MAX     2048
#define IP_HLEN	      20
#define IP_OFF	      ETH_HLEN
#define L4_OFF	      (ETH_HLEN + IP_HLEN)
#define IPPROTO_ICMP  1
#define IPPROTO_TCP   6
#define IPPROTO_UDP   17
#define ICMP_HLEN     8
#define ICMP_ECHO     8
#define ICMP_REPLY    0
#define ICMP_CSUM_OFF 2
#define TCP_HLEN      20
#define TCP_CSUM_OFF  16
#define TCP_SYN	      0x02
#define TCP_RST	      0x04
#define TCP_ACK	      0x10
#define ECHO_ID	      0x7467 /* "tg" */
#define SMALL_PAYLOAD 56
#define LARGE_PAYLOAD 1400
#define SMALL_RX_BUF  256
#define BOOTP_LEN     300
#define DHCP_DISCOVER 1
#define DHCP_OFFER    2
#define DHCP_MAGIC    0x63825363u

struct nctx {
	struct tg_outcome o;
	bool tap;
	uint8_t gip[4], hip[4]; /* guest, and the peer that answers */
	uint16_t tcp_port;	/* tap: a listener on the host, 0 if none */
	struct virtio_device *vdev;
	struct virtio_net *net;
	uint8_t peer_mac[ETH_ALEN];
	uint8_t *rx, *tx; /* frame buffers */
	uint8_t *arp;	  /* our answers to ARP requests */

	struct virtio_net_hdr_v1 hdr; /* of the frame last received */
	uint16_t seq;
	unsigned int ignored; /* frames that were not for us */
	/* What the frame being waited for carries. */
	uint16_t want_seq, syn_port;
	uint32_t dhcp_xid;
	bool saved_verbose;
};

#define fail(c, ...) tg_fail(&(c)->o, __VA_ARGS__)
#define skip(c, ...) tg_skip(&(c)->o, __VA_ARGS__)

static const char *ip_str(const uint8_t ip[4])
{
	static char buf[4][16];
	static unsigned int k;
	char *b = buf[k++ % 4];

	tg_snprintf(b, 16, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
	return b;
}

/* Which backend, from the command line. */
static bool backend(struct nctx *c)
{
	char val[64], port[16];

	if (!tg_param("tg.net", val, sizeof(val)))
		return skip(c, "no tg.net= on the command line (user, or tap:GUEST:HOST)");
	if (!parse_net_peer(val, c->gip, c->hip, &c->tap))
		return fail(c, "tg.net=%s: expected user or tap:GUEST:HOST", val);
	if (c->tap && tg_param("tg.net.port", port, sizeof(port))) {
		unsigned long v = strtoul(port, NULL, 10);

		if (!v || v > 0xffff)
			return fail(c, "tg.net.port=%s is not a port", port);
		c->tcp_port = (uint16_t)v;
	}
	return true;
}

static bool net_probe(struct nctx *c, const struct virtio_probe_opts *opts)
{
	int err = virtio_reprobe(c->vdev, opts);

	c->net = virtio_net_of(c->vdev);
	if (err || !c->net)
		return fail(c, "probe: %s (%s)", virtio_strerror(err), c->vdev->probe_error);
	if (!virtio_net_link_up(c->net))
		return fail(c, "link down");
	return true;
}

static bool begin(struct nctx *c, char *msg, size_t len, const struct virtio_probe_opts *opts)
{
	memset(c, 0, sizeof(*c));
	tg_outcome_init(&c->o, msg, len);
	/* The probe log line, printed at discovery already: a reprobe per scenario is noise. */
	c->saved_verbose = virtio_verbose;
	virtio_verbose = false;
	if (!backend(c))
		return false;
	c->vdev = virtio_find_device(VIRTIO_ID_NET, 0);
	if (!c->vdev)
		return skip(c, "no virtio-net device (run with --net)");
	c->rx = tg_alloc(FRAME_MAX, 64);
	c->tx = tg_alloc(FRAME_MAX, 64);
	c->arp = tg_alloc(64, 64);
	c->seq = (uint16_t)tg_rdtsc();
	return net_probe(c, opts);
}

static enum tg_result finish(struct nctx *c)
{
	virtio_remove_all();
	memset(&virtio_net_params, 0, sizeof(virtio_net_params));
	virtio_verbose = c->saved_verbose;
	return tg_outcome_result(&c->o);
}

/* Frames. */

/* ARP @op from us to @tmac/@tip, sent to @dst. */
static unsigned int arp_from_us(struct nctx *c, uint8_t *f, uint16_t op, const uint8_t *dst,
				const uint8_t *tmac, const uint8_t tip[4])
{
	return arp_frame(f, op, dst, c->net->mac, c->gip, tmac, tip);
}

static bool send_frame(struct nctx *c, const uint8_t *f, unsigned int len,
		       const struct virtio_net_hdr_v1 *hdr)
{
	int err = virtio_net_send(c->net, f, len, hdr, 0);

	return !err || fail(c, "send of %u bytes: %s", len, virtio_strerror(err));
}

/* An ARP request for our address: answer it, so the peer can send to us. */
static void answer_arp(struct nctx *c, const uint8_t *f, int n)
{
	uint8_t *r = c->arp;

	if (!is_arp(f, n, ARP_REQUEST, NULL, c->gip))
		return;
	arp_from_us(c, r, ARP_REPLY, f + 6, f + 22, f + 28);
	virtio_net_send(c->net, r, ARP_FRAME, NULL, 0);
}

typedef bool (*match_fn)(struct nctx *c, const uint8_t *f, int n);

/*
 * Receive until @match accepts a frame (its length), or @timeout passes (0).
 * Negative when the device or the driver found something wrong.
 */
static int recv_match(struct nctx *c, match_fn match, uint64_t timeout)
{
	uint64_t end = tg_ns() + timeout;

	for (;;) {
		uint64_t now = tg_ns();
		int n;

		if (now >= end)
			return 0;
		n = virtio_net_recv(c->net, c->rx, FRAME_MAX, &c->hdr, end - now);
		if (n == -VIRTIO_ETIMEDOUT)
			return 0;
		if (n < 0) {
			fail(c, "receive: %s (%s)", virtio_strerror(n), c->net->rx->error);
			return n;
		}
		if (match(c, c->rx, n))
			return n;
		answer_arp(c, c->rx, n);
		c->ignored++;
	}
}

static bool is_arp_reply(struct nctx *c, const uint8_t *f, int n)
{
	return is_arp(f, n, ARP_REPLY, c->hip, c->gip);
}

/* The peer's MAC, by ARP; checks the reply's fields on the way. */
static bool resolve_peer(struct nctx *c)
{
	unsigned int len = arp_from_us(c, c->tx, ARP_REQUEST, eth_broadcast, eth_zero, c->hip);
	const uint8_t *f = c->rx;
	int n;

	if (!send_frame(c, c->tx, len, NULL))
		return false;
	n = recv_match(c, is_arp_reply, REPLY_TIMEOUT);
	if (n <= 0)
		return c->o.failed || fail(c, "no ARP reply from %s", ip_str(c->hip));
	if (memcmp(f, c->net->mac, ETH_ALEN) || memcmp(f + 32, c->net->mac, ETH_ALEN))
		return fail(c, "ARP reply not addressed to our MAC");
	if ((f[22] & 1) || !memcmp(f + 22, eth_zero, ETH_ALEN) || memcmp(f + 6, f + 22, ETH_ALEN))
		return fail(c, "ARP reply with a bad sender MAC");
	if (get32(f + 14) != 0x00010800 || f[18] != 6 || f[19] != 4)
		return fail(c, "ARP reply with hardware/protocol 0x%x %u %u", get32(f + 14), f[18],
			    f[19]);
	memcpy(c->peer_mac, f + 22, ETH_ALEN);
	return true;
}

/* IPv4 header at f + IP_OFF, its checksum filled in. */
static void ipv4(uint8_t *f, uint8_t proto, const uint8_t *src, const uint8_t *dst, uint16_t l4_len,
		 uint16_t id)
{
	uint8_t *ip = f + IP_OFF;

	memset(ip, 0, IP_HLEN);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(IP_HLEN + l4_len));
	put16(ip + 4, id);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	put16(ip + 10, checksum(ip, IP_HLEN));
}

/* Is @f a whole IPv4 packet (no options) of @proto from @src to @dst? Checksums: the caller. */
static bool ipv4_ok(const uint8_t *f, int n, uint8_t proto, const uint8_t *src, const uint8_t *dst)
{
	const uint8_t *ip = f + IP_OFF;

	if (n < L4_OFF || get16(f + 12) != ETH_P_IP || ip[0] != 0x45 || ip[9] != proto ||
	    memcmp(ip + 12, src, 4) || memcmp(ip + 16, dst, 4))
		return false;
	return get16(ip + 2) >= IP_HLEN && IP_OFF + get16(ip + 2) <= n;
}

/* ICMP echo. */

enum csum_mode {
	CSUM_FULL,    /* computed by the guest */
	CSUM_PARTIAL, /* NEEDS_CSUM: the field 0, the host completes it */
	CSUM_WRONG,   /* a wrong one: the peer must drop the request */
};

static void fill_payload(uint8_t *p, unsigned int len, uint16_t seq)
{
	for (unsigned int i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seq);
}

static unsigned int echo_request(struct nctx *c, unsigned int payload, enum csum_mode mode,
				 struct virtio_net_hdr_v1 *hdr)
{
	uint8_t *f = c->tx, *icmp = f + L4_OFF;
	unsigned int l4 = ICMP_HLEN + payload;

	memset(hdr, 0, sizeof(*hdr));
	eth(f, c->peer_mac, c->net->mac, ETH_P_IP);
	ipv4(f, IPPROTO_ICMP, c->gip, c->hip, (uint16_t)l4, c->seq);
	icmp[0] = ICMP_ECHO;
	icmp[1] = 0;
	put16(icmp + 2, 0);
	put16(icmp + 4, ECHO_ID);
	put16(icmp + 6, c->seq);
	fill_payload(icmp + ICMP_HLEN, payload, c->seq);
	if (mode == CSUM_PARTIAL) {
		hdr->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		hdr->csum_start = L4_OFF;
		hdr->csum_offset = ICMP_CSUM_OFF;
	} else {
		uint16_t sum = checksum(icmp, l4);

		put16(icmp + 2, mode == CSUM_WRONG ? (uint16_t)(sum ^ 0x1234) : sum);
	}
	return L4_OFF + l4;
}

static bool is_echo_reply(struct nctx *c, const uint8_t *f, int n)
{
	const uint8_t *icmp = f + L4_OFF;

	return ipv4_ok(f, n, IPPROTO_ICMP, c->hip, c->gip) && n >= L4_OFF + ICMP_HLEN &&
	       icmp[0] == ICMP_REPLY && get16(icmp + 4) == ECHO_ID &&
	       get16(icmp + 6) == c->want_seq;
}

/*
 * With NEEDS_CSUM the checksum field holds the pseudo-header sum (0 for
 * ICMP) and the rest is ours to add: do what the device did not.
 */
static bool complete_csum(struct nctx *c, uint8_t *f, int n, uint16_t want_start,
			  uint16_t want_offset)
{
	const struct virtio_net_hdr_v1 *h = &c->hdr;

	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return true;
	if (h->csum_start != want_start || h->csum_offset != want_offset)
		return fail(c, "NEEDS_CSUM at %u+%u, expected %u+%u", h->csum_start, h->csum_offset,
			    want_start, want_offset);
	put16(f + h->csum_start + h->csum_offset,
	      (uint16_t)~fold(sum16(0, f + h->csum_start, (size_t)n - h->csum_start)));
	return true;
}

/* The header flags a receive may carry, given what was negotiated. */
static bool rx_flags_ok(struct nctx *c)
{
	uint8_t flags = c->hdr.flags;

	if (!virtio_has_feature(c->vdev, VIRTIO_NET_F_GUEST_CSUM))
		return !flags || fail(c, "header flags 0x%x without GUEST_CSUM", flags);
	return flags == 0 || flags == VIRTIO_NET_HDR_F_DATA_VALID ||
	       flags == VIRTIO_NET_HDR_F_NEEDS_CSUM ||
	       fail(c, "header flags 0x%x: neither 0, DATA_VALID nor NEEDS_CSUM", flags);
}

/* An echo reply in c->rx: lengths, both checksums and the payload. */
static bool check_echo_reply(struct nctx *c, unsigned int payload)
{
	uint8_t *f = c->rx, *icmp = f + L4_OFF;
	unsigned int ip_len = get16(f + IP_OFF + 2);
	const uint8_t *p = icmp + ICMP_HLEN;

	if (ip_len != IP_HLEN + ICMP_HLEN + payload)
		return fail(c, "echo reply of %u IP bytes, expected %u", ip_len,
			    IP_HLEN + ICMP_HLEN + payload);
	if (checksum(f + IP_OFF, IP_HLEN))
		return fail(c, "echo reply with a bad IP header checksum 0x%x",
			    get16(f + IP_OFF + 10));
	if (!rx_flags_ok(c) || !complete_csum(c, f, IP_OFF + (int)ip_len, L4_OFF, ICMP_CSUM_OFF))
		return false;
	if (checksum(icmp, ip_len - IP_HLEN))
		return fail(c, "echo reply with a bad ICMP checksum 0x%x (header flags 0x%x)",
			    get16(icmp + 2), c->hdr.flags);
	for (unsigned int i = 0; i < payload; i++)
		if (p[i] != (uint8_t)(i * 7 + c->want_seq))
			return fail(c, "echo reply payload differs from the request's at byte %u",
				    i);
	return true;
}

/*
 * One echo of @payload bytes: sent as @mode says, its reply received and
 * checked. @expect_reply false: the request must go unanswered (a wrong
 * checksum); a later echo then proves the peer was listening.
 */
static bool echo(struct nctx *c, unsigned int payload, enum csum_mode mode, bool expect_reply)
{
	struct virtio_net_hdr_v1 hdr;
	unsigned int len;
	int n;

	c->seq++;
	c->want_seq = c->seq;
	len = echo_request(c, payload, mode, &hdr);
	if (!send_frame(c, c->tx, len, &hdr))
		return false;
	n = recv_match(c, is_echo_reply, expect_reply ? REPLY_TIMEOUT : QUIET_NS);
	if (n < 0)
		return false;
	if (!expect_reply)
		return !n || fail(c, "the peer answered an echo request with a wrong checksum");
	if (!n)
		return fail(c, "no echo reply from %s (%u-byte payload, %s checksum)",
			    ip_str(c->hip), payload, mode == CSUM_PARTIAL ? "partial" : "full");
	return check_echo_reply(c, payload);
}

/* Scenarios. */

static enum tg_result s_arp(char *msg, size_t len)
{
	struct nctx c;

	if (begin(&c, msg, len, NULL) && resolve_peer(&c))
		tg_snprintf(msg, len, "%s is at %02x:%02x:%02x:%02x:%02x:%02x", ip_str(c.hip),
			    c.peer_mac[0], c.peer_mac[1], c.peer_mac[2], c.peer_mac[3],
			    c.peer_mac[4], c.peer_mac[5]);
	return finish(&c);
}

/* DHCP (user backend): DISCOVER broadcast, OFFER of 10.0.2.15 from 10.0.2.2. */
static bool is_offer(struct nctx *c, const uint8_t *f, int n)
{
	const uint8_t *udp = f + L4_OFF, *bootp = udp + 8;

	if (n < L4_OFF + 8 + 240 || get16(f + 12) != ETH_P_IP || f[IP_OFF + 9] != IPPROTO_UDP ||
	    memcmp(f + IP_OFF + 12, c->hip, 4))
		return false;
	return get16(udp) == 67 && get16(udp + 2) == 68 && bootp[0] == 2 &&
	       get32(bootp + 4) == c->dhcp_xid;
}

/* The value of DHCP option @code (RFC 2132) in the reply in c->rx, or NULL. */
static const uint8_t *dhcp_option(const uint8_t *f, int n, uint8_t code, uint8_t *len)
{
	const uint8_t *p = f + L4_OFF + 8 + 240, *end = f + n;

	while (p < end && *p != 255) {
		if (*p == 0) {
			p++;
			continue;
		}
		if (p + 2 > end || p + 2 + p[1] > end)
			return NULL;
		if (*p == code) {
			*len = p[1];
			return p + 2;
		}
		p += 2 + p[1];
	}
	return NULL;
}

static enum tg_result s_dhcp(char *msg, size_t len)
{
	static const uint8_t zero_ip[4], bcast_ip[4] = {255, 255, 255, 255};
	struct nctx c;
	uint8_t *f, *udp, *b, olen = 0;
	const uint8_t *type, *server;
	int n;

	if (!begin(&c, msg, len, NULL))
		return finish(&c);
	if (c.tap) {
		skip(&c, "no DHCP server behind a tap");
		return finish(&c);
	}
	f = c.tx;
	udp = f + L4_OFF;
	b = udp + 8;
	memset(f, 0, L4_OFF + 8 + BOOTP_LEN);
	eth(f, eth_broadcast, c.net->mac, ETH_P_IP);
	ipv4(f, IPPROTO_UDP, zero_ip, bcast_ip, 8 + BOOTP_LEN, 1);
	put16(udp, 68);
	put16(udp + 2, 67);
	put16(udp + 4, 8 + BOOTP_LEN); /* UDP checksum 0: none, as IPv4 allows */
	c.dhcp_xid = (uint32_t)tg_rdtsc();
	b[0] = 1; /* BOOTREQUEST */
	b[1] = 1; /* Ethernet */
	b[2] = ETH_ALEN;
	put32(b + 4, c.dhcp_xid);
	put16(b + 10, 0x8000); /* broadcast the answer: we have no address */
	memcpy(b + 28, c.net->mac, ETH_ALEN);
	put32(b + 236, DHCP_MAGIC);
	b[240] = 53;
	b[241] = 1;
	b[242] = DHCP_DISCOVER;
	b[243] = 255;
	if (!send_frame(&c, f, L4_OFF + 8 + BOOTP_LEN, NULL))
		return finish(&c);
	n = recv_match(&c, is_offer, REPLY_TIMEOUT);
	if (n <= 0) {
		if (!c.o.failed)
			fail(&c, "no DHCP reply to DISCOVER (xid 0x%x)", c.dhcp_xid);
		return finish(&c);
	}
	b = c.rx + L4_OFF + 8;
	type = dhcp_option(c.rx, n, 53, &olen);
	server = dhcp_option(c.rx, n, 54, &olen);
	if (!type || *type != DHCP_OFFER)
		fail(&c, "DHCP reply of type %d, expected OFFER", type ? *type : -1);
	else if (memcmp(b + 16, c.gip, 4))
		fail(&c, "offered %s, expected %s", ip_str(b + 16), ip_str(c.gip));
	else if (!server || olen != 4 || memcmp(server, c.hip, 4))
		fail(&c, "server identifier %s, expected %s", server ? ip_str(server) : "absent",
		     ip_str(c.hip));
	else if (memcmp(b + 28, c.net->mac, ETH_ALEN))
		fail(&c, "DHCP OFFER for another client hardware address");
	else
		tg_snprintf(msg, len, "offered %s by %s", ip_str(b + 16), ip_str(server));
	return finish(&c);
}

static enum tg_result s_icmp_echo(char *msg, size_t len)
{
	struct nctx c;
	uint64_t t0;

	if (begin(&c, msg, len, NULL) && resolve_peer(&c)) {
		t0 = tg_ns();
		if (echo(&c, SMALL_PAYLOAD, CSUM_FULL, true))
			tg_snprintf(msg, len, "%s answered in %lu us", ip_str(c.hip),
				    (unsigned long)((tg_ns() - t0) / 1000));
	}
	return finish(&c);
}

/*
 * The peer checks ICMP checksums: a wrong one goes unanswered, the next
 * good one is answered. What gives icmp_partial_csum its teeth, and shows
 * the card forwards frames as they are.
 */
static enum tg_result s_icmp_bad_csum(char *msg, size_t len)
{
	struct nctx c;

	if (begin(&c, msg, len, NULL) && resolve_peer(&c) &&
	    echo(&c, SMALL_PAYLOAD, CSUM_WRONG, false))
		echo(&c, SMALL_PAYLOAD, CSUM_FULL, true);
	return finish(&c);
}

/*
 * NEEDS_CSUM on transmit (CSUM negotiated): the checksum field left 0, the
 * host completes it. Were the header lost, the host would check a zero
 * checksum and drop the request (icmp_bad_csum shows it checks).
 */
static enum tg_result s_icmp_partial_csum(char *msg, size_t len)
{
	struct nctx c;

	if (begin(&c, msg, len, NULL) && resolve_peer(&c)) {
		if (!virtio_has_feature(c.vdev, VIRTIO_NET_F_CSUM))
			skip(&c, "CSUM not offered (%s backend)", c.tap ? "tap" : "user");
		else if (echo(&c, SMALL_PAYLOAD, CSUM_PARTIAL, true) &&
			 echo(&c, LARGE_PAYLOAD, CSUM_PARTIAL, true))
			tg_snprintf(msg, len, "56- and 1400-byte echoes");
	}
	return finish(&c);
}

/* TCP: a SYN to the host's listener, its SYN-ACK checked; then a RST to end it. */
static unsigned int tcp_segment(struct nctx *c, uint16_t sport, uint32_t seq, uint8_t flags)
{
	uint8_t *f = c->tx, *t = f + L4_OFF;

	eth(f, c->peer_mac, c->net->mac, ETH_P_IP);
	ipv4(f, IPPROTO_TCP, c->gip, c->hip, TCP_HLEN, c->seq);
	memset(t, 0, TCP_HLEN);
	put16(t, sport);
	put16(t + 2, c->tcp_port);
	put32(t + 4, seq);
	t[12] = (TCP_HLEN / 4) << 4;
	t[13] = flags;
	put16(t + 14, 8192);
	put16(t + 16,
	      (uint16_t)~fold(sum16(pseudo_sum(f + IP_OFF, IPPROTO_TCP, TCP_HLEN), t, TCP_HLEN)));
	return L4_OFF + TCP_HLEN;
}

static bool is_tcp_answer(struct nctx *c, const uint8_t *f, int n)
{
	const uint8_t *t = f + L4_OFF;

	return ipv4_ok(f, n, IPPROTO_TCP, c->hip, c->gip) && n >= L4_OFF + TCP_HLEN &&
	       get16(t) == c->tcp_port && get16(t + 2) == c->syn_port;
}

/* The SYN-ACK in c->rx, its checksum completed if need be and verified. */
static bool check_synack(struct nctx *c, uint8_t *flags_seen)
{
	uint8_t *f = c->rx, *t = f + L4_OFF;
	uint16_t ip_len = get16(f + IP_OFF + 2), l4 = (uint16_t)(ip_len - IP_HLEN);

	*flags_seen = c->hdr.flags;
	if ((t[13] & (TCP_SYN | TCP_ACK | TCP_RST)) != (TCP_SYN | TCP_ACK))
		return fail(c, "TCP flags 0x%x in answer to a SYN: nothing listens on %s:%u?",
			    t[13], ip_str(c->hip), c->tcp_port);
	if (checksum(f + IP_OFF, IP_HLEN))
		return fail(c, "SYN-ACK with a bad IP header checksum");
	if (!rx_flags_ok(c) || !complete_csum(c, f, IP_OFF + ip_len, L4_OFF, TCP_CSUM_OFF))
		return false;
	if (fold(sum16(pseudo_sum(f + IP_OFF, IPPROTO_TCP, l4), t, l4)) != 0xffff)
		return fail(c, "SYN-ACK with a bad TCP checksum 0x%x (header flags 0x%x)",
			    get16(t + TCP_CSUM_OFF), c->hdr.flags);
	return true;
}

static bool syn_synack(struct nctx *c, uint8_t *flags_seen)
{
	uint32_t iss = (uint32_t)tg_rdtsc();
	unsigned int len;
	int n;

	c->seq++;
	c->syn_port = (uint16_t)(40000 + c->seq % 20000);
	len = tcp_segment(c, c->syn_port, iss, TCP_SYN);
	if (!send_frame(c, c->tx, len, NULL))
		return false;
	n = recv_match(c, is_tcp_answer, REPLY_TIMEOUT);
	if (n < 0)
		return false;
	if (!n)
		return fail(c, "no answer to a SYN to %s:%u", ip_str(c->hip), c->tcp_port);
	if (!check_synack(c, flags_seen))
		return false;
	/* Done with it: the host forgets the half-open connection. */
	len = tcp_segment(c, c->syn_port, iss + 1, TCP_RST);
	return send_frame(c, c->tx, len, NULL);
}

static const char *flags_name(uint8_t flags)
{
	switch (flags) {
	case 0: return "0";
	case VIRTIO_NET_HDR_F_NEEDS_CSUM: return "NEEDS_CSUM";
	case VIRTIO_NET_HDR_F_DATA_VALID: return "DATA_VALID";
	}
	return "other";
}

/*
 * Receive with GUEST_CSUM on or off. Off: every checksum arrives complete
 * and correct, header flags 0. On: the flags are 0, DATA_VALID or NEEDS_CSUM
 * (whatever the tap hands over) and the packet checks out once completed.
 */
static bool rx_csum(struct nctx *c, bool on)
{
	uint8_t echo_flags, tcp_flags = 0;

	if (!resolve_peer(c) || !echo(c, LARGE_PAYLOAD, CSUM_FULL, true))
		return false;
	echo_flags = c->hdr.flags;
	if (c->tcp_port && !syn_synack(c, &tcp_flags))
		return false;
	if (on != virtio_has_feature(c->vdev, VIRTIO_NET_F_GUEST_CSUM))
		return fail(c, "GUEST_CSUM %s after asking for it %s",
			    on ? "not negotiated" : "negotiated", on ? "on" : "off");
	if (c->tcp_port)
		tg_snprintf(c->o.msg, c->o.len, "header flags: echo reply %s, SYN-ACK %s",
			    flags_name(echo_flags), flags_name(tcp_flags));
	else
		tg_snprintf(c->o.msg, c->o.len,
			    "header flags: echo reply %s (no tg.net.port: no TCP)",
			    flags_name(echo_flags));
	return true;
}

static enum tg_result s_rx_csum_off(char *msg, size_t len)
{
	const struct virtio_probe_opts opts = {.clear = VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)};
	struct nctx c;

	if (begin(&c, msg, len, &opts))
		rx_csum(&c, false);
	return finish(&c);
}

static enum tg_result s_rx_csum_on(char *msg, size_t len)
{
	struct nctx c;

	if (begin(&c, msg, len, NULL)) {
		if (!virtio_has_feature(c.vdev, VIRTIO_NET_F_GUEST_CSUM))
			skip(&c, "GUEST_CSUM not offered (%s backend)", c.tap ? "tap" : "user");
		else
			rx_csum(&c, true);
	}
	return finish(&c);
}

/*
 * A 1400-byte echo reply in 256-byte receive buffers: with MRG_RXBUF the
 * frame spans buffers, and num_buffers says exactly how many.
 */
static enum tg_result s_mrg_rxbuf_small(char *msg, size_t len)
{
	struct nctx c;
	unsigned int want;

	virtio_net_params.rx_buf_size = SMALL_RX_BUF;
	if (!begin(&c, msg, len, NULL) || !resolve_peer(&c))
		return finish(&c);
	if (!virtio_has_feature(c.vdev, VIRTIO_NET_F_MRG_RXBUF) ||
	    c.net->rx_buf_size != SMALL_RX_BUF) {
		fail(&c, "MRG_RXBUF %s, receive buffers of %u bytes",
		     virtio_has_feature(c.vdev, VIRTIO_NET_F_MRG_RXBUF) ? "on" : "off",
		     c.net->rx_buf_size);
		return finish(&c);
	}
	if (!echo(&c, LARGE_PAYLOAD, CSUM_FULL, true))
		return finish(&c);
	/* The device fills each buffer before the next: header and frame in 256-byte pieces. */
	want = (VIRTIO_NET_HDR_LEN + L4_OFF + ICMP_HLEN + LARGE_PAYLOAD + SMALL_RX_BUF - 1) /
	       SMALL_RX_BUF;
	if (c.hdr.num_buffers != want)
		fail(&c, "num_buffers %u for a %u-byte frame in %u-byte buffers, expected %u",
		     c.hdr.num_buffers, L4_OFF + ICMP_HLEN + LARGE_PAYLOAD, SMALL_RX_BUF, want);
	else
		tg_snprintf(msg, len, "a %u-byte frame in %u buffers",
			    L4_OFF + ICMP_HLEN + LARGE_PAYLOAD, want);
	return finish(&c);
}

/* Without MRG_RXBUF every buffer holds a whole frame, and num_buffers is 1. */
static enum tg_result s_no_mrg_rxbuf(char *msg, size_t len)
{
	const struct virtio_probe_opts opts = {.clear = VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF)};
	struct nctx c;

	if (!begin(&c, msg, len, &opts) || !resolve_peer(&c))
		return finish(&c);
	if (virtio_has_feature(c.vdev, VIRTIO_NET_F_MRG_RXBUF)) {
		fail(&c, "MRG_RXBUF negotiated though withheld");
		return finish(&c);
	}
	if (echo(&c, LARGE_PAYLOAD, CSUM_FULL, true)) {
		if (c.hdr.num_buffers != 1)
			fail(&c, "num_buffers %u without MRG_RXBUF, expected 1", c.hdr.num_buffers);
		else
			tg_snprintf(msg, len, "%u-byte receive buffers", c.net->rx_buf_size);
	}
	return finish(&c);
}

/* Header and frame in separate descriptors: indirect, then direct. */
static enum tg_result s_tx_split(char *msg, size_t len)
{
	const struct virtio_probe_opts direct = {.clear = VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)};
	struct nctx c;

	virtio_net_params.tx_split = true;
	if (begin(&c, msg, len, NULL) && resolve_peer(&c) &&
	    echo(&c, LARGE_PAYLOAD, CSUM_FULL, true)) {
		virtio_net_params.tx_split = true;
		if (net_probe(&c, &direct) && resolve_peer(&c) &&
		    echo(&c, LARGE_PAYLOAD, CSUM_FULL, true))
			tg_snprintf(msg, len, "indirect and direct");
	}
	return finish(&c);
}

/* Completions by interrupt rather than polling. */
static enum tg_result s_interrupts(char *msg, size_t len)
{
	const struct virtio_probe_opts opts = {.use_irq = true};
	uint64_t before, end;
	struct nctx c;

	if (!begin(&c, msg, len, &opts))
		return finish(&c);
	before = c.vdev->stats.interrupts;
	if (!resolve_peer(&c) || !echo(&c, LARGE_PAYLOAD, CSUM_FULL, true))
		return finish(&c);
	/*
	 * A reply already in the ring is taken without sleeping, its interrupt
	 * left pending (interrupts are off outside tg_wait_irq()): let it in.
	 */
	end = tg_ns() + REPLY_TIMEOUT;
	while (c.vdev->stats.interrupts == before && tg_ns() < end)
		tg_wait_irq(end - tg_ns());
	if (c.vdev->stats.interrupts == before)
		fail(&c, "replies came, but no interrupt within %llu ms",
		     (unsigned long long)(REPLY_TIMEOUT / MS));
	else
		tg_snprintf(msg, len, "%lu interrupts",
			    (unsigned long)(c.vdev->stats.interrupts - before));
	return finish(&c);
}

/* How many frames fault.tap_gone sends once the host's end is gone. */
#define TAP_GONE_FRAMES	 64
#define TAP_GONE_WAIT_NS (120ULL * 1000 * 1000 * 1000)

/*
 * fault.tap_gone (tests/guest/fault-test.sh): the peer answers ARP through
 * the tap, then "tg: fault: ready" and a wait for one byte of console input,
 * which the host sends once it deleted the tap. Then 64 frames: every one
 * must come back from the device (virtio_net_send() waits for a free slot:
 * a device that kept them would time it out), and the device must not want
 * a reset. Listed in the fault group.
 */
enum tg_result tg_net_tap_gone(char *msg, size_t len)
{
	struct nctx c;
	unsigned int sent = 0;

	if (!begin(&c, msg, len, NULL) || !resolve_peer(&c))
		return finish(&c);
	if (!c.tap) {
		fail(&c, "needs tg.net=tap:GUEST:HOST");
		return finish(&c);
	}
	tg_printf("tg: fault: ready\n");
	if (tg_getc(TAP_GONE_WAIT_NS) < 0) {
		fail(&c, "no word from the host that the tap is gone");
		return finish(&c);
	}
	for (; sent < TAP_GONE_FRAMES; sent++) {
		unsigned int n = arp_from_us(&c, c.tx, ARP_REQUEST, eth_broadcast, eth_zero, c.hip);

		if (!send_frame(&c, c.tx, n, NULL))
			return finish(&c);
	}
	for (uint64_t end = tg_ns() + REPLY_TIMEOUT;
	     c.net->tx_nr_free < c.net->tx_count && tg_ns() < end;)
		virtio_net_tx_reclaim(c.net);
	if (c.net->tx_nr_free < c.net->tx_count)
		fail(&c, "%u frames never came back from the device",
		     c.net->tx_count - c.net->tx_nr_free);
	else if (virtio_status(c.vdev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		fail(&c, "the device needs a reset after the tap went");
	else
		tg_snprintf(msg, len, "%u frames sent after the tap went, the device still serving",
			    sent);
	return finish(&c);
}

static const struct tg_scenario net_scenarios[] = {
    {"arp", s_arp},
    {"dhcp", s_dhcp},
    {"icmp_echo", s_icmp_echo},
    {"icmp_bad_csum", s_icmp_bad_csum},
    {"icmp_partial_csum", s_icmp_partial_csum},
    {"rx_csum_off", s_rx_csum_off},
    {"rx_csum_on", s_rx_csum_on},
    {"mrg_rxbuf_small", s_mrg_rxbuf_small},
    {"no_mrg_rxbuf", s_no_mrg_rxbuf},
    {"tx_split", s_tx_split},
    {"interrupts", s_interrupts},
};

const struct tg_group tg_net_group = {
    .name = "net",
    .scenarios = net_scenarios,
    .count = TG_ARRAY_SIZE(net_scenarios),
};
