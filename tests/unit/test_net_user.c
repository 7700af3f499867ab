// SPDX-License-Identifier: MIT
/*
 * The user-mode backend on the real libslirp: the test plays the guest,
 * building its Ethernet frames by hand and reading slirp's, and plays the
 * outside world with sockets on 127.0.0.1. Nothing leaves the machine: the
 * guest only ever talks to 10.0.2.x, and 10.0.2.2 is the host's loopback.
 *
 * The backend is driven as the device's worker drives it: frames taken with
 * peek/consume, then poll_fill, poll() and poll_done, round after round
 * until what a test waits for comes or a deadline passes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "devices/virtio/net_backend.h"
#include "tests/unit/suites.h"

#define ETH_LEN	      14
#define ARP_LEN	      28
#define IP_LEN	      20
#define UDP_LEN	      8
#define TCP_LEN	      20
#define BOOTP_LEN     548 /* 236 fixed bytes and 312 of options, as clients send */
#define BOOTP_OPTS    240 /* options start after the magic cookie */
#define ETH_P_IPV4    0x0800
#define ETH_P_ARPV    0x0806
#define PROTO_TCP     6
#define PROTO_UDP     17
#define TCP_FIN	      0x01
#define TCP_SYN	      0x02
#define TCP_RST	      0x04
#define TCP_PSH	      0x08
#define TCP_ACK	      0x10
#define GUEST_IP      0x0a00020f /* 10.0.2.15, the first DHCP lease */
#define GATEWAY_IP    0x0a000202
#define DNS_IP	      0x0a000203
#define LOOPBACK      0x7f000001
#define FRAME_MAX     2048
#define DRIVE_MS      5000 /* how long a test waits for what must come */
#define POLL_SLICE_MS 50
#define MAX_PFD	      512

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t zero_mac[6];

static struct net_backend *be;

static void teardown(void)
{
	if (be)
		be->ops->destroy(be);
	be = NULL;
}

static struct net_backend_opt user_opt(bool restrict_net)
{
	return (struct net_backend_opt){
	    .kind = NET_USER, .mtu = NET_DEFAULT_MTU, .restrict_net = restrict_net};
}

static void open_be(const struct net_backend_opt *opt)
{
	clear_error();
	be = net_user_open(opt, guest_mac);
	ck_assert_msg(be != NULL, "net_user_open: %s", last_error());
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- bytes on the wire ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* The Internet checksum's running sum over @len bytes. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static size_t put_eth(uint8_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	put16(p + 12, type);
	return ETH_LEN;
}

/* An IPv4 header without options for @payload bytes, its checksum done. */
static size_t put_ipv4(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst, size_t payload)
{
	memset(p, 0, IP_LEN);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)(IP_LEN + payload));
	p[8] = 64;
	p[9] = proto;
	put32(p + 12, src);
	put32(p + 16, dst);
	put16(p + 10, csum_fold(csum_add(0, p, IP_LEN)));
	return IP_LEN;
}

/* A UDP header without a checksum (0: none, which IPv4 allows). */
static size_t put_udp(uint8_t *p, uint16_t sport, uint16_t dport, size_t payload)
{
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, (uint16_t)(UDP_LEN + payload));
	put16(p + 6, 0);
	return UDP_LEN;
}

/* A TCP header and @payload (already at p + TCP_LEN), the checksum over both. */
static size_t put_tcp(uint8_t *p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		      uint32_t seq, uint32_t ack, uint8_t flags, size_t payload)
{
	uint8_t pseudo[12];

	put16(p, sport);
	put16(p + 2, dport);
	put32(p + 4, seq);
	put32(p + 8, ack);
	p[12] = (TCP_LEN / 4) << 4;
	p[13] = flags;
	put16(p + 14, 65535);
	put16(p + 16, 0);
	put16(p + 18, 0);
	put32(pseudo, src);
	put32(pseudo + 4, dst);
	pseudo[8] = 0;
	pseudo[9] = PROTO_TCP;
	put16(pseudo + 10, (uint16_t)(TCP_LEN + payload));
	put16(p + 16, csum_fold(csum_add(csum_add(0, pseudo, 12), p, TCP_LEN + payload)));
	return TCP_LEN;
}

static size_t make_arp(uint8_t *f, uint16_t op, const uint8_t eth_dst[6], const uint8_t sha[6],
		       uint32_t spa, const uint8_t tha[6], uint32_t tpa)
{
	uint8_t *a = f + put_eth(f, eth_dst, sha, ETH_P_ARPV);

	put16(a, 1);
	put16(a + 2, ETH_P_IPV4);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	put32(a + 14, spa);
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	return ETH_LEN + ARP_LEN;
}

/* Who has @tpa, asked by @sha at @spa. */
static size_t make_arp_request(uint8_t *f, const uint8_t sha[6], uint32_t spa, uint32_t tpa)
{
	return make_arp(f, 1, bcast_mac, sha, spa, zero_mac, tpa);
}

static size_t make_dhcp_discover(uint8_t *f, const uint8_t mac[6], uint32_t xid)
{
	uint8_t *ip = f + put_eth(f, bcast_mac, mac, ETH_P_IPV4);
	uint8_t *udp = ip + put_ipv4(ip, PROTO_UDP, 0, 0xffffffff, UDP_LEN + BOOTP_LEN);
	uint8_t *bp = udp + put_udp(udp, 68, 67, BOOTP_LEN);
	uint8_t *opt = bp + BOOTP_OPTS;

	memset(bp, 0, BOOTP_LEN);
	bp[0] = 1; /* BOOTREQUEST */
	bp[1] = 1; /* Ethernet */
	bp[2] = 6;
	put32(bp + 4, xid);
	memcpy(bp + 28, mac, 6);
	put32(bp + 236, 0x63825363);
	*opt++ = 53; /* DHCP message type: DISCOVER */
	*opt++ = 1;
	*opt++ = 1;
	*opt = 255;
	return ETH_LEN + IP_LEN + UDP_LEN + BOOTP_LEN;
}

static size_t make_tcp(uint8_t *f, const uint8_t eth_dst[6], uint32_t dst, uint16_t sport,
		       uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const void *data,
		       size_t len)
{
	uint8_t *ip = f + put_eth(f, eth_dst, guest_mac, ETH_P_IPV4);
	uint8_t *tcp = ip + put_ipv4(ip, PROTO_TCP, GUEST_IP, dst, TCP_LEN + len);

	if (len)
		memcpy(tcp + TCP_LEN, data, len);
	put_tcp(tcp, GUEST_IP, dst, sport, dport, seq, ack, flags, len);
	return ETH_LEN + IP_LEN + TCP_LEN + len;
}

/* ---- reading slirp's frames ---- */

static bool is_arp(const uint8_t *f, size_t len, uint16_t op)
{
	return len >= ETH_LEN + ARP_LEN && get16(f + 12) == ETH_P_ARPV &&
	       get16(f + ETH_LEN + 6) == op;
}

/* The payload of an IPv4 packet of @proto in @f, its length in *@len; NULL if it is none. */
static const uint8_t *ipv4_payload(const uint8_t *f, size_t flen, uint8_t proto, size_t *len)
{
	const uint8_t *ip = f + ETH_LEN;
	size_t ihl, tot;

	if (flen < ETH_LEN + IP_LEN || get16(f + 12) != ETH_P_IPV4 || ip[0] >> 4 != 4)
		return NULL;
	ihl = (ip[0] & 0xf) * 4u;
	tot = get16(ip + 2);
	if (ihl < IP_LEN || tot < ihl || tot > flen - ETH_LEN || ip[9] != proto)
		return NULL;
	ck_assert_uint_eq(csum_fold(csum_add(0, ip, ihl)), 0);
	*len = tot - ihl;
	return ip + ihl;
}

static uint32_t ipv4_src(const uint8_t *f)
{
	return get32(f + ETH_LEN + 12);
}

static uint32_t ipv4_dst(const uint8_t *f)
{
	return get32(f + ETH_LEN + 16);
}

/* TCP to the guest's @port: the header, its payload after it (*@data, *@dlen). */
static const uint8_t *tcp_to(const uint8_t *f, size_t flen, uint16_t port, const uint8_t **data,
			     size_t *dlen)
{
	size_t len, off;
	const uint8_t *tcp = ipv4_payload(f, flen, PROTO_TCP, &len);

	if (!tcp || len < TCP_LEN || get16(tcp + 2) != port)
		return NULL;
	off = (tcp[12] >> 4) * 4u;
	ck_assert_uint_ge(off, TCP_LEN);
	ck_assert_uint_le(off, len);
	if (data)
		*data = tcp + off;
	if (dlen)
		*dlen = len - off;
	return tcp;
}

/* DHCP option @tag in a BOOTP message of @len bytes; NULL if absent. */
static const uint8_t *dhcp_option(const uint8_t *bp, size_t len, uint8_t tag, size_t *olen)
{
	size_t i = BOOTP_OPTS;

	while (i < len && bp[i] != 255) {
		if (bp[i] == 0) {
			i++;
			continue;
		}
		ck_assert_uint_lt(i + 1, len);
		ck_assert_uint_le(i + 2 + bp[i + 1], len);
		if (bp[i] == tag) {
			*olen = bp[i + 1];
			return bp + i + 2;
		}
		i += 2 + bp[i + 1];
	}
	return NULL;
}

/* ---- driving the backend ---- */

static void send_frame(const uint8_t *f, size_t len)
{
	/* Split in three, as a guest's descriptors might. */
	size_t a = len / 3, b = len / 2;
	struct iovec iov[3] = {
	    {(void *)f, a},
	    {(void *)(f + a), b - a},
	    {(void *)(f + b), len - b},
	};

	ck_assert_int_eq(be->ops->send(be, iov, 3), NET_SENT);
}

/* One poll round as the worker does it, sleeping at most @cap_ms. */
static void poll_round(int cap_ms)
{
	struct pollfd pfd[MAX_PFD];
	int timeout = -1;
	unsigned int n;

	ck_assert_uint_le(be->max_pollfds, MAX_PFD);
	n = be->ops->poll_fill(be, pfd, be->max_pollfds, true, false, &timeout);
	ck_assert_uint_le(n, be->max_pollfds);
	if (timeout < 0 || timeout > cap_ms)
		timeout = cap_ms;
	ck_assert_int_ge(poll(pfd, n, timeout), 0);
	be->ops->poll_done(be, pfd, n);
}

/*
 * The next frame for the guest, copied into @out and consumed; 0 when none
 * is waiting. slirp asking where a guest address is gets the guest's MAC
 * at once, as a guest would answer, and is not returned.
 */
static size_t take_frame(uint8_t *out)
{
	const uint8_t *f;
	size_t len;
	uint8_t reply[FRAME_MAX];

	while (be->ops->peek(be, &f, &len) == 1) {
		ck_assert_uint_le(len, FRAME_MAX);
		memcpy(out, f, len);
		be->ops->consume(be);
		if (!is_arp(out, len, 1))
			return len;
		make_arp(reply, 2, out + 6, guest_mac, get32(out + ETH_LEN + 24), out + ETH_LEN + 8,
			 get32(out + ETH_LEN + 14));
		send_frame(reply, ETH_LEN + ARP_LEN);
	}
	return 0;
}

typedef bool match_fn(const uint8_t *f, size_t len, const void *arg);

/* Drive until a frame @match accepts comes (left in @out), passing others by. */
static size_t wait_for(match_fn *match, const void *arg, uint8_t *out)
{
	int64_t end = now_ms() + DRIVE_MS;

	do {
		size_t len;

		while ((len = take_frame(out)))
			if (match(out, len, arg))
				return len;
		poll_round(POLL_SLICE_MS);
	} while (now_ms() < end);
	ck_abort_msg("the frame waited for did not come in %d ms", DRIVE_MS);
	return 0;
}

/* Drive until accept() on @lfd takes a connection; -1 when none came by @ms. */
static int drive_accept(int lfd, int ms)
{
	int64_t end = now_ms() + ms;
	uint8_t f[FRAME_MAX];

	do {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

		if (fd >= 0)
			return fd;
		ck_assert_int_eq(errno, EAGAIN);
		while (take_frame(f))
			;
		poll_round(POLL_SLICE_MS);
	} while (now_ms() < end);
	return -1;
}

static bool match_arp_reply(const uint8_t *f, size_t len, const void *arg)
{
	return is_arp(f, len, 2) && get32(f + ETH_LEN + 14) == *(const uint32_t *)arg;
}

/* The MAC slirp answers for @ip; checks the reply on the way. */
static void resolve(uint32_t ip, uint8_t mac[6])
{
	uint8_t f[FRAME_MAX];
	const uint8_t *a = f + ETH_LEN;

	send_frame(f, make_arp_request(f, guest_mac, GUEST_IP, ip));
	wait_for(match_arp_reply, &ip, f);
	ck_assert_mem_eq(f, guest_mac, 6);	/* to the asker */
	ck_assert_mem_eq(f + 6, a + 8, 6);	/* from the MAC it names */
	ck_assert_mem_eq(a + 18, guest_mac, 6); /* target: the asker */
	ck_assert_uint_eq(get32(a + 24), GUEST_IP);
	ck_assert_int_eq(a[8] & 1, 0); /* unicast */
	ck_assert_mem_ne(a + 8, zero_mac, 6);
	ck_assert_mem_ne(a + 8, guest_mac, 6);
	memcpy(mac, a + 8, 6);
}

/* ---- sockets on the host ---- */

static struct sockaddr_in loopback(uint16_t port)
{
	return (struct sockaddr_in){
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(LOOPBACK)};
}

/* A socket bound to 127.0.0.1:@port (0: any free one), its port in *@bound. */
static int bound_socket(int type, uint16_t port, uint16_t *bound)
{
	struct sockaddr_in sa = loopback(port);
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*bound = ntohs(sa.sin_port);
	return fd;
}

static int listening_socket(uint16_t *port)
{
	int fd = bound_socket(SOCK_STREAM, 0, port);

	ck_assert_int_eq(listen(fd, 8), 0);
	return fd;
}

/*
 * Open the backend forwarding a free port of 127.0.0.1 to @guest:@gport;
 * the port (free when looked at, so retried if taken in between) in *@port.
 */
static void open_hostfwd(bool restrict_net, uint32_t guest, uint16_t gport, uint16_t *port)
{
	struct net_backend_opt opt = user_opt(restrict_net);

	for (int tries = 0; tries < 10; tries++) {
		close(bound_socket(SOCK_STREAM, 0, port));
		opt.hostfwd[0] = (struct net_hostfwd){.host_addr = LOOPBACK,
						      .host_port = *port,
						      .guest_addr = guest,
						      .guest_port = gport};
		opt.nr_hostfwd = 1;
		clear_error();
		be = net_user_open(&opt, guest_mac);
		if (be || !strstr(last_error(), strerror(EADDRINUSE)))
			break;
	}
	ck_assert_msg(be != NULL, "net_user_open: %s", last_error());
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in sa = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EINPROGRESS);
	return fd;
}

/* ---- the tests ---- */

START_TEST(backend_properties)
{
	struct net_backend_opt opt = user_opt(false);

	open_be(&opt);
	ck_assert_str_eq(be->name, "user");
	ck_assert(!be->vnet_hdr);
	ck_assert_uint_eq(be->offloads, 0);
	ck_assert_uint_ge(be->max_pollfds, 1);
	ck_assert_ptr_nonnull(be->ops->peek);
	ck_assert_ptr_nonnull(be->ops->consume);
	ck_assert_ptr_nonnull(be->ops->send);
	ck_assert_ptr_nonnull(be->ops->poll_fill);
	ck_assert_ptr_nonnull(be->ops->poll_done);
	ck_assert_ptr_nonnull(be->ops->destroy);
}
END_TEST

struct xid_match {
	uint32_t xid;
};

static bool match_dhcp_reply(const uint8_t *f, size_t len, const void *arg)
{
	const struct xid_match *m = arg;
	size_t ulen;
	const uint8_t *udp = ipv4_payload(f, len, PROTO_UDP, &ulen);

	return udp && ulen >= UDP_LEN + BOOTP_OPTS && get16(udp) == 67 && get16(udp + 2) == 68 &&
	       get32(udp + UDP_LEN + 4) == m->xid;
}

/* _i 0: open network; 1: restricted, where slirp's own DHCP must still answer. */
START_TEST(dhcp_offer)
{
	struct net_backend_opt opt = user_opt(_i == 1);
	struct xid_match m = {.xid = 0x5eed0000u + (uint32_t)_i};
	uint8_t f[FRAME_MAX];
	const uint8_t *udp, *bp, *o;
	size_t len, ulen, olen;

	open_be(&opt);
	send_frame(f, make_dhcp_discover(f, guest_mac, m.xid));
	len = wait_for(match_dhcp_reply, &m, f);

	/* To the client: its MAC, or broadcast, which a client without an address also takes. */
	ck_assert(memcmp(f, guest_mac, 6) == 0 || memcmp(f, bcast_mac, 6) == 0);
	ck_assert_uint_eq(ipv4_src(f), GATEWAY_IP);
	udp = ipv4_payload(f, len, PROTO_UDP, &ulen);
	ck_assert_uint_eq(get16(udp + 4), ulen);
	bp = udp + UDP_LEN;
	ulen -= UDP_LEN;
	ck_assert_uint_eq(bp[0], 2); /* BOOTREPLY */
	ck_assert_mem_eq(bp + 28, guest_mac, 6);
	ck_assert_uint_eq(get32(bp + 16), GUEST_IP); /* yiaddr */
	ck_assert_uint_eq(get32(bp + 236), 0x63825363);
	o = dhcp_option(bp, ulen, 53, &olen);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(olen, 1);
	ck_assert_uint_eq(o[0], 2); /* OFFER */
	/* Restricted, slirp leaves out the route and DNS: the guest cannot go out anyway. */
	o = dhcp_option(bp, ulen, 3, &olen);
	if (opt.restrict_net)
		ck_assert_msg(!o, "a router in restricted mode");
	else
		ck_assert_msg(o && olen >= 4 && get32(o) == GATEWAY_IP, "router is not 10.0.2.2");
	o = dhcp_option(bp, ulen, 6, &olen);
	if (opt.restrict_net)
		ck_assert_msg(!o, "a DNS server in restricted mode");
	else
		ck_assert_msg(o && olen >= 4 && get32(o) == DNS_IP, "DNS server is not 10.0.2.3");
	o = dhcp_option(bp, ulen, 1, &olen);
	ck_assert_msg(o && olen == 4 && get32(o) == 0xffffff00, "netmask is not /24");
}
END_TEST

/* The gateway answers ARP, and DHCP comes from that same MAC. */
START_TEST(arp_gateway)
{
	struct net_backend_opt opt = user_opt(false);
	struct xid_match m = {.xid = 0xa4b0c0d0};
	uint8_t gw[6], dns[6], f[FRAME_MAX];

	open_be(&opt);
	resolve(GATEWAY_IP, gw);
	resolve(DNS_IP, dns);
	send_frame(f, make_dhcp_discover(f, guest_mac, m.xid));
	wait_for(match_dhcp_reply, &m, f);
	ck_assert_mem_eq(f + 6, gw, 6);
}
END_TEST

struct syn_match {
	uint32_t ip;
	uint16_t port;
};

static bool match_syn(const uint8_t *f, size_t len, const void *arg)
{
	const struct syn_match *m = arg;
	const uint8_t *tcp = tcp_to(f, len, m->port, NULL, NULL);

	return tcp && ipv4_dst(f) == m->ip && (tcp[13] & (TCP_SYN | TCP_ACK)) == TCP_SYN;
}

/* _i 0: guest address left to the default (the lease); 1: named. */
START_TEST(hostfwd_syn)
{
	struct syn_match m = {.ip = _i ? 0x0a00022a : GUEST_IP, .port = 2222};
	uint16_t port;
	uint8_t f[FRAME_MAX];
	int fd;

	open_hostfwd(false, _i ? m.ip : 0, m.port, &port);
	fd = connect_to(port);
	wait_for(match_syn, &m, f);
	ck_assert_uint_eq(ipv4_src(f), GATEWAY_IP); /* the host, seen from the guest */
	close(fd);
}
END_TEST

static bool match_data(const uint8_t *f, size_t len, const void *arg)
{
	const uint8_t *data;
	size_t dlen;

	return tcp_to(f, len, *(const uint16_t *)arg, &data, &dlen) && dlen > 0;
}

/*
 * A whole forwarded connection, restricted: the handshake with the test as
 * the guest's TCP, then data both ways.
 */
START_TEST(hostfwd_data)
{
	static const char hello[] = "hello guest", world[] = "hello host";
	const uint16_t gport = 2323;
	struct syn_match m = {.ip = GUEST_IP, .port = gport};
	uint8_t f[FRAME_MAX], gw[6];
	const uint8_t *tcp, *data;
	uint32_t peer_seq, my_seq = 1000;
	uint16_t port, peer_port;
	size_t dlen, len;
	char buf[64];
	int fd;

	open_hostfwd(true, 0, gport, &port);
	resolve(GATEWAY_IP, gw);
	fd = connect_to(port);
	len = wait_for(match_syn, &m, f);
	tcp = tcp_to(f, len, gport, NULL, NULL);
	peer_port = get16(tcp);
	peer_seq = get32(tcp + 4) + 1;
	send_frame(f, make_tcp(f, gw, GATEWAY_IP, gport, peer_port, my_seq++, peer_seq,
			       TCP_SYN | TCP_ACK, NULL, 0));

	ck_assert_int_eq(send(fd, hello, sizeof(hello), MSG_NOSIGNAL), (ssize_t)sizeof(hello));
	len = wait_for(match_data, &gport, f);
	tcp = tcp_to(f, len, gport, &data, &dlen);
	ck_assert_uint_eq(dlen, sizeof(hello));
	ck_assert_mem_eq(data, hello, sizeof(hello));
	ck_assert_uint_eq(get32(tcp + 4), peer_seq);
	peer_seq += (uint32_t)dlen;

	send_frame(f, make_tcp(f, gw, GATEWAY_IP, gport, peer_port, my_seq, peer_seq,
			       TCP_ACK | TCP_PSH, world, sizeof(world)));
	for (int64_t end = now_ms() + DRIVE_MS;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);

		if (r >= 0) {
			ck_assert_int_eq(r, sizeof(world));
			ck_assert_mem_eq(buf, world, sizeof(world));
			break;
		}
		ck_assert_int_eq(errno, EAGAIN);
		ck_assert_msg(now_ms() < end, "the guest's data did not reach the host");
		while (take_frame(f))
			;
		poll_round(POLL_SLICE_MS);
	}
	close(fd);
}
END_TEST

/* _i 0: tcp, 1: udp; the port is taken on the host, and the error names it. */
START_TEST(hostfwd_port_in_use)
{
	struct net_backend_opt opt = user_opt(false);
	uint16_t port;
	int fd = bound_socket(_i ? SOCK_DGRAM : SOCK_STREAM, 0, &port);
	char want[128];

	if (!_i)
		ck_assert_int_eq(listen(fd, 1), 0);
	opt.hostfwd[0] = (struct net_hostfwd){
	    .udp = _i, .host_addr = LOOPBACK, .host_port = port, .guest_port = 80};
	opt.nr_hostfwd = 1;
	clear_error();
	be = net_user_open(&opt, guest_mac);
	ck_assert_ptr_null(be);
	snprintf(want, sizeof(want), "--net user: cannot forward %s 127.0.0.1:%u: %s",
		 _i ? "udp" : "tcp", port, strerror(EADDRINUSE));
	ck_assert_str_eq(last_error(), want);
	close(fd);
}
END_TEST

static bool match_rst(const uint8_t *f, size_t len, const void *arg)
{
	const uint8_t *tcp = tcp_to(f, len, *(const uint16_t *)arg, NULL, NULL);

	return tcp && (tcp[13] & TCP_RST);
}

/*
 * The guest connects to 10.0.2.2:PORT, the host's 127.0.0.1:PORT, where the
 * test listens. _i 0: open network, the connection arrives; 1: restricted,
 * slirp resets it and the host sees nothing.
 */
START_TEST(guest_connect)
{
	struct net_backend_opt opt = user_opt(_i == 1);
	const uint16_t gport = 40000;
	uint8_t f[FRAME_MAX], gw[6];
	uint16_t port;
	int lfd = listening_socket(&port);
	int fd;

	open_be(&opt);
	resolve(GATEWAY_IP, gw);
	send_frame(f, make_tcp(f, gw, GATEWAY_IP, gport, port, 77, 0, TCP_SYN, NULL, 0));
	if (_i == 0) {
		fd = drive_accept(lfd, DRIVE_MS);
		ck_assert_int_ge(fd, 0);
		close(fd);
	} else {
		wait_for(match_rst, &gport, f);
		ck_assert_uint_eq(ipv4_src(f), GATEWAY_IP);
		/* slirp's connect() would have been at once; a few rounds more all the same. */
		ck_assert_int_eq(drive_accept(lfd, 5 * POLL_SLICE_MS), -1);
	}
	close(lfd);
}
END_TEST

/* Frame @i of a batch: an ARP request from a MAC that numbers it. */
static size_t numbered_request(uint8_t *f, unsigned int i)
{
	uint8_t mac[6] = {0x02, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};

	return make_arp_request(f, mac, GUEST_IP, GATEWAY_IP);
}

/* Which numbered request the next queued frame answers; -1 if none is queued. */
static int peek_number(const uint8_t **frame)
{
	size_t len;

	if (be->ops->peek(be, frame, &len) != 1)
		return -1;
	ck_assert(is_arp(*frame, len, 2));
	ck_assert_mem_eq(*frame, *frame + ETH_LEN + 18, 6); /* to the asker */
	return (*frame)[4] << 8 | (*frame)[5];
}

/* Frames nobody takes stay queued, in order; peek shows the head until consume. */
START_TEST(fifo_order)
{
	struct net_backend_opt opt = user_opt(false);
	const unsigned int nr = 200;
	const uint8_t *a, *b;
	uint8_t f[FRAME_MAX];

	open_be(&opt);
	ck_assert_int_eq(peek_number(&a), -1);
	for (unsigned int i = 0; i < nr; i++)
		send_frame(f, numbered_request(f, i));
	for (unsigned int i = 0; i < nr; i++) {
		ck_assert_int_eq(peek_number(&a), (int)i);
		ck_assert_int_eq(peek_number(&b), (int)i);
		ck_assert_ptr_eq(a, b);
		if (i % 50 == 0)
			poll_round(0); /* polling takes nothing queued */
		be->ops->consume(be);
	}
	ck_assert_int_eq(peek_number(&a), -1);
	be->ops->consume(be); /* on an empty queue: nothing */
	ck_assert_int_eq(peek_number(&a), -1);
}
END_TEST

/* What the backend logs is caught from here until stderr_end(). */
static FILE *log_file;
static int saved_stderr = -1;

static void stderr_begin(void)
{
	log_file = tmpfile();
	ck_assert_ptr_nonnull(log_file);
	saved_stderr = dup(2);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_ge(dup2(fileno(log_file), 2), 0);
}

/* The lines logged since stderr_begin(), into @buf. */
static void stderr_end(char *buf, size_t size)
{
	ssize_t n;

	ck_assert_int_ge(dup2(saved_stderr, 2), 0);
	close(saved_stderr);
	n = pread(fileno(log_file), buf, size - 1, 0);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	fclose(log_file);
}

/* @log holds @what exactly once. */
static void assert_logged_once(const char *log, const char *what)
{
	const char *p = strstr(log, what);

	ck_assert_msg(p && !strstr(p + 1, what), "stderr \"%s\" has not one \"%s\"", log, what);
}

/*
 * Far more frames than the guest takes: the queue keeps the oldest, drops
 * the rest, and says so on stderr: once as it starts, and the count at the end.
 */
START_TEST(fifo_overflow_logged)
{
	struct net_backend_opt opt = user_opt(false);
	const unsigned int nr = 3000;
	unsigned int kept = 0;
	char log[4096], want[128];
	const uint8_t *a;
	uint8_t f[FRAME_MAX];

	open_be(&opt);
	stderr_begin();
	for (unsigned int i = 0; i < nr; i++)
		send_frame(f, numbered_request(f, i));
	for (int i; (i = peek_number(&a)) >= 0; kept++) {
		ck_assert_int_eq(i, (int)kept);
		be->ops->consume(be);
	}
	be->ops->destroy(be);
	be = NULL;
	stderr_end(log, sizeof(log));

	ck_assert_uint_gt(kept, 64);
	ck_assert_uint_lt(kept, nr);
	assert_logged_once(log, "dropping");
	snprintf(want, sizeof(want), "%u frames for the guest were dropped", nr - kept);
	assert_logged_once(log, want);
}
END_TEST

/*
 * The guest pings the gateway with 60000-byte echoes and reads none of the
 * replies: they queue up to NET_USER_RX_QUEUE_BYTES (not 1024 frames, 60
 * MiB), the rest are dropped and counted.
 */
START_TEST(fifo_bytes_capped)
{
	struct net_backend_opt opt = user_opt(false);
	static uint8_t f[ETH_LEN + IP_LEN + 8 + 60000];
	const size_t icmp = 8 + 60000;
	unsigned int kept = 0;
	size_t bytes = 0, len;
	const uint8_t *a;
	uint8_t gw[6];
	char log[4096];

	opt.mtu = 65520;
	open_be(&opt);
	resolve(GATEWAY_IP, gw);
	stderr_begin();
	for (unsigned int i = 0; i < 200; i++) {
		uint8_t *p = f + put_eth(f, gw, guest_mac, ETH_P_IPV4);

		p += put_ipv4(p, 1, GUEST_IP, GATEWAY_IP, icmp);
		memset(p, 0, icmp);
		p[0] = 8; /* echo request */
		put16(p + 4, 0x4242);
		put16(p + 6, (uint16_t)i);
		memset(p + 8, 0x5a, icmp - 8);
		put16(p + 2, csum_fold(csum_add(0, p, icmp)));
		send_frame(f, sizeof(f));
	}
	while (be->ops->peek(be, &a, &len) == 1) {
		bytes += len;
		kept++;
		be->ops->consume(be);
	}
	be->ops->destroy(be);
	be = NULL;
	stderr_end(log, sizeof(log));
	ck_assert_uint_le(bytes, NET_USER_RX_QUEUE_BYTES);
	ck_assert_uint_gt(bytes, NET_USER_RX_QUEUE_BYTES - sizeof(f));
	ck_assert_uint_lt(kept, 200);
	assert_logged_once(log, "frames for the guest were dropped");
}
END_TEST

/*
 * The guest opens connections to the host without end: slirp holds at most
 * NET_USER_MAX_SOCKETS sockets for them; the SYNs past that are dropped,
 * said once, counted at the end.
 */
START_TEST(flows_capped)
{
	struct net_backend_opt opt = user_opt(false);
	const unsigned int extra = 20, nr = NET_USER_MAX_SOCKETS + extra;
	static struct pollfd pfd[NET_USER_MAX_SOCKETS + 64];
	uint8_t f[FRAME_MAX], gw[6];
	char log[4096], want[128];
	unsigned int n;
	uint16_t port;
	int lfd = listening_socket(&port), timeout = -1;

	open_be(&opt);
	resolve(GATEWAY_IP, gw);
	stderr_begin();
	for (unsigned int i = 0; i < nr; i++)
		send_frame(f, make_tcp(f, gw, GATEWAY_IP, (uint16_t)(20000 + i), port, 1, 0,
				       TCP_SYN, NULL, 0));
	n = be->ops->poll_fill(be, pfd, ARRAY_SIZE(pfd), false, false, &timeout);
	be->ops->poll_done(be, pfd, 0);
	be->ops->destroy(be);
	be = NULL;
	stderr_end(log, sizeof(log));
	/* Every connection slirp is making is offered for POLLOUT. */
	ck_assert_uint_eq(n, NET_USER_MAX_SOCKETS);
	assert_logged_once(log, "new connections are refused");
	snprintf(want, sizeof(want), "%u frames of the guest's that would open a connection",
		 extra);
	assert_logged_once(log, want);
	close(lfd);
}
END_TEST

/* How many pollfds poll_fill gives, and how many of them ask to read. */
static unsigned int fill(bool want_rx, unsigned int *readers, int *timeout)
{
	struct pollfd pfd[MAX_PFD];
	unsigned int n;

	*timeout = -1;
	n = be->ops->poll_fill(be, pfd, be->max_pollfds, want_rx, false, timeout);
	*readers = 0;
	for (unsigned int i = 0; i < n; i++)
		*readers += !!(pfd[i].events & POLLIN);
	be->ops->poll_done(be, pfd, 0); /* nothing polled: no events */
	return n;
}

/*
 * A forward's listening socket is read (accepting) only while frames can
 * go somewhere: the guest wants some and the queue is not long.
 */
START_TEST(backpressure)
{
	uint16_t port;
	unsigned int readers, queued = 0;
	int timeout;
	uint8_t f[FRAME_MAX];
	const uint8_t *a;

	open_hostfwd(false, 0, 22, &port);
	fill(true, &readers, &timeout);
	ck_assert_uint_ge(readers, 1);
	ck_assert_int_ge(timeout, 0); /* slirp runs its TCP timers at least once a second */

	fill(false, &readers, &timeout);
	ck_assert_uint_eq(readers, 0);
	ck_assert_int_ge(timeout, 0); /* timers run all the same */

	do {
		send_frame(f, numbered_request(f, queued++));
		fill(true, &readers, &timeout);
		ck_assert_int_eq(timeout, 0); /* a frame waits for the guest */
	} while (readers && queued < 1000);
	ck_assert_uint_eq(readers, 0);
	ck_assert_uint_gt(queued, 1);

	while (peek_number(&a) >= 0)
		be->ops->consume(be);
	fill(true, &readers, &timeout);
	ck_assert_uint_ge(readers, 1);
}
END_TEST

/*
 * More sockets than the worker has room for: each round polls the next
 * few, so that every one of them is polled within a few rounds.
 */
START_TEST(pollfd_rotation)
{
	struct net_backend_opt opt = user_opt(false);
	const unsigned int nr = 10, max = 4;
	struct pollfd pfd[4];
	int seen[64], nseen = 0, timeout;
	uint8_t f[FRAME_MAX], gw[6];
	char log[1024];
	uint16_t port;
	int lfd = listening_socket(&port);

	open_be(&opt);
	resolve(GATEWAY_IP, gw);
	stderr_begin();
	/* Connections slirp is making: it offers each for POLLOUT until told they are up. */
	for (unsigned int i = 0; i < nr; i++)
		send_frame(f, make_tcp(f, gw, GATEWAY_IP, (uint16_t)(41000 + i), port, 1, 0,
				       TCP_SYN, NULL, 0));
	for (unsigned int round = 0; round < 2 * (nr + max - 1) / max; round++) {
		unsigned int n;

		timeout = -1;
		n = be->ops->poll_fill(be, pfd, max, false, false, &timeout);
		ck_assert_uint_le(n, max);
		for (unsigned int i = 0; i < n; i++) {
			int j = 0;

			ck_assert(pfd[i].events & POLLOUT);
			while (j < nseen && seen[j] != pfd[i].fd)
				j++;
			if (j == nseen) {
				ck_assert_int_lt(nseen, (int)ARRAY_SIZE(seen));
				seen[nseen++] = pfd[i].fd;
			}
		}
		be->ops->poll_done(be, pfd, 0); /* nothing ready: they stay offered */
	}
	stderr_end(log, sizeof(log));
	ck_assert_int_eq(nseen, nr);
	assert_logged_once(log, "sockets to poll");
	close(lfd);
}
END_TEST

/* What the guest sends is hostile: short, long and truncated frames are refused or survived. */
START_TEST(hostile_frames)
{
	struct net_backend_opt opt = user_opt(false);
	struct xid_match m = {.xid = 0x0badf00d};
	static uint8_t big[NET_MAX_FRAME + 1];
	uint8_t f[FRAME_MAX];
	struct iovec iov[2] = {{big, NET_MAX_FRAME}, {big, 1}};
	size_t full;

	open_be(&opt);
	ck_assert_int_eq(be->ops->send(be, iov, 2), NET_SEND_FAILED);
	ck_assert_int_eq(be->ops->send(be, iov, 0), NET_SEND_FAILED);
	iov[0].iov_len = ETH_LEN - 1;
	ck_assert_int_eq(be->ops->send(be, iov, 1), NET_SEND_FAILED);

	/* The largest frame, an IPv4 header claiming more than it has. */
	make_dhcp_discover(big, guest_mac, 1);
	put16(big + ETH_LEN + 2, 65535);
	iov[0].iov_len = NET_MAX_FRAME;
	ck_assert_int_eq(be->ops->send(be, iov, 1), NET_SENT);

	full = make_dhcp_discover(f, guest_mac, 2);
	for (size_t len = ETH_LEN; len < full; len++)
		send_frame(f, len);
	while (take_frame(f))
		;
	/* Still serving. */
	send_frame(f, make_dhcp_discover(f, guest_mac, m.xid));
	wait_for(match_dhcp_reply, &m, f);
}
END_TEST

START_TEST(bad_mtu)
{
	struct net_backend_opt opt = user_opt(false);

	opt.mtu = 65535;
	clear_error();
	ck_assert_ptr_null(net_user_open(&opt, guest_mac));
	ck_assert_error("--net user: mtu 65535");
	opt.mtu = 9000;
	open_be(&opt);
}
END_TEST

static TCase *user_tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return tc;
}

Suite *net_user_suite(void)
{
	Suite *s = suite_create("net_user");
	TCase *basic = user_tcase(s, "basic");
	TCase *fwd = user_tcase(s, "hostfwd");
	TCase *q = user_tcase(s, "queue");

	tcase_add_test(basic, backend_properties);
	tcase_add_loop_test(basic, dhcp_offer, 0, 2);
	tcase_add_test(basic, arp_gateway);
	tcase_add_loop_test(basic, guest_connect, 0, 2);
	tcase_add_test(basic, hostile_frames);
	tcase_add_test(basic, bad_mtu);
	tcase_add_loop_test(fwd, hostfwd_syn, 0, 2);
	tcase_add_test(fwd, hostfwd_data);
	tcase_add_loop_test(fwd, hostfwd_port_in_use, 0, 2);
	tcase_add_test(q, fifo_order);
	tcase_add_test(q, fifo_overflow_logged);
	tcase_add_test(q, fifo_bytes_capped);
	tcase_add_test(q, flows_capped);
	tcase_add_test(q, backpressure);
	tcase_add_test(q, pollfd_rotation);
	return s;
}
