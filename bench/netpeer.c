// SPDX-License-Identifier: MIT
/*
 * netpeer: the host's end of make bench's network cases, and the VMM's end
 * for the host-only runs that show what the tap itself carries.
 *
 *   netpeer recv IFACE DSTMAC COUNT            count frames to DSTMAC on IFACE
 *   netpeer send IFACE DSTMAC SIZE COUNT       send them (a packet socket)
 *   netpeer tap-read IFACE DSTMAC COUNT        count them from the tap's fd
 *   netpeer tap-write IFACE DSTMAC SIZE COUNT  write them into the tap's fd
 *
 * The frames are the test guest's (guest/testguest/netbench.c): SIZE bytes
 * without the FCS, Ethernet type 0x88b5 up to 1514 bytes, above that one
 * TCPv4 segment that the kernel (or the guest's device) cuts into 1448-byte
 * ones, sent with a virtio-net header. Both packet sockets and taps carry
 * such segments whole when the other side takes them.
 *
 * The counting ends print "ready" once listening, then count until COUNT
 * frames came or none for 300 ms after the first (60 s before it) and print
 *   frames=N bytes=B seconds=S
 * S from the first frame to the last. The sending ends print
 *   frames=N seconds=S
 * A bad argument or a failed system call: one line on stderr, exit 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define ETH_P_BENCH 0x88b5
#define MAX_PLAIN   1514
#define MAX_FRAME   (14 + 65535)
#define TSO_SEG	    1448
#define TCP_OFF	    34
#define TCP_HDRS    54
#define BATCH	    64
#define IDLE_MS	    300
#define FIRST_MS    60000
#define RCVBUF	    (64 << 20)

struct frame {
	uint8_t dst[ETH_ALEN];
	struct virtio_net_hdr_mrg_rxbuf vhdr; /* the tap's (packet sockets take .hdr) */
	uint8_t *data;
	size_t size;
};

static void die(const char *what)
{
	fprintf(stderr, "netpeer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "netpeer: usage: recv|tap-read IFACE DSTMAC COUNT, "
			"send|tap-write IFACE DSTMAC SIZE COUNT\n");
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long long number(const char *s, unsigned long long max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || !v || v > max) {
		fprintf(stderr, "netpeer: bad number \"%s\"\n", s);
		exit(1);
	}
	return v;
}

static void parse_mac(const char *s, uint8_t mac[ETH_ALEN])
{
	if (sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
		   &mac[5]) != 6) {
		fprintf(stderr, "netpeer: bad MAC address \"%s\"\n", s);
		exit(1);
	}
}

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A TCPv4 segment from 192.0.2.254 to 192.0.2.2, its checksum left to the receiver's side. */
static void tso_frame(struct frame *f)
{
	uint8_t *ip = f->data + 14, *tcp = f->data + TCP_OFF;
	static const uint8_t addrs[8] = {192, 0, 2, 254, 192, 0, 2, 2};

	put16(f->data + 12, ETH_P_IP);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(f->size - 14));
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, addrs, 8);
	put16(ip + 10, (uint16_t)~fold(sum16(0, ip, 20)));
	put16(tcp, 5201);
	put16(tcp + 2, 40000);
	tcp[12] = 5 << 4;
	tcp[13] = 0x18;
	put16(tcp + 14, 0xffff);
	put16(tcp + 16, fold(sum16(IPPROTO_TCP + (uint32_t)(f->size - TCP_OFF), ip + 12, 8)));
	f->vhdr.hdr = (struct virtio_net_hdr){
	    .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
	    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
	    .hdr_len = TCP_HDRS,
	    .gso_size = TSO_SEG,
	    .csum_start = TCP_OFF,
	    .csum_offset = 16,
	};
}

static void make_frame(struct frame *f, size_t size)
{
	f->size = size;
	f->data = calloc(1, MAX_FRAME);
	if (!f->data)
		die("calloc");
	for (size_t i = 14; i < size; i++)
		f->data[i] = (uint8_t)(i * 7 + (i >> 9));
	memcpy(f->data, f->dst, ETH_ALEN);
	memcpy(f->data + 6, (const uint8_t[]){0x02, 0, 0, 0, 0, 0xfd}, ETH_ALEN);
	if (size > MAX_PLAIN)
		tso_frame(f);
	else
		put16(f->data + 12, ETH_P_BENCH);
}

/* The tap IFACE, as a VMM opens it: frames behind a virtio-net header, offloads on. */
static int open_tap(const char *iface)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("/dev/net/tun");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		die(iface);
	/* The header size stays with the tap: a VMM may have left another one. */
	if (ioctl(fd, TUNSETVNETHDRSZ, &(int){sizeof(struct virtio_net_hdr_mrg_rxbuf)}) < 0)
		die("TUNSETVNETHDRSZ");
	if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) < 0)
		die("TUNSETOFFLOAD");
	return fd;
}

static int open_packet(const char *iface, uint16_t proto, bool vnet_hdr)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(proto)};
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(proto)), one = 1, size = RCVBUF;

	if (fd < 0)
		die("socket(AF_PACKET)");
	sll.sll_ifindex = (int)if_nametoindex(iface);
	if (!sll.sll_ifindex)
		die(iface);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		die("bind");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0)
		die("setsockopt");
	if (vnet_hdr && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0)
		die("PACKET_VNET_HDR");
	return fd;
}

struct tally {
	unsigned long long frames, bytes, count;
	double first, last;
	uint8_t dst[ETH_ALEN];
};

static void count_frame(struct tally *t, const uint8_t *data, size_t len)
{
	if (len < 14 || memcmp(data, t->dst, ETH_ALEN))
		return;
	t->last = now();
	if (!t->frames++)
		t->first = t->last;
	t->bytes += len;
}

/* Wait for the next frames; false when the sender is done. */
static bool wait_more(const struct tally *t, int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int ms = t->frames ? IDLE_MS : FIRST_MS;

	if (t->frames >= t->count)
		return false;
	if (poll(&p, 1, ms) < 0 && errno != EINTR)
		die("poll");
	return p.revents & POLLIN;
}

static void report(const struct tally *t)
{
	printf("frames=%llu bytes=%llu seconds=%.6f\n", t->frames, t->bytes, t->last - t->first);
}

static void ready(void)
{
	printf("ready\n");
	fflush(stdout);
}

static void do_recv(const char *iface, struct tally *t)
{
	static uint8_t bufs[BATCH][MAX_FRAME];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	struct sockaddr_ll from[BATCH];
	int fd = open_packet(iface, ETH_P_ALL, false);

	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){bufs[i], MAX_FRAME};
		msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i],
						       .msg_namelen = sizeof(from[i]),
						       .msg_iov = &iov[i],
						       .msg_iovlen = 1}};
	}
	ready();
	while (wait_more(t, fd)) {
		int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			die("recvmmsg");
		for (int i = 0; i < n; i++)
			if (from[i].sll_pkttype != PACKET_OUTGOING)
				count_frame(t, bufs[i], msgs[i].msg_len);
	}
	report(t);
}

static void do_tap_read(const char *iface, struct tally *t)
{
	static uint8_t buf[sizeof(struct virtio_net_hdr_mrg_rxbuf) + MAX_FRAME];
	const size_t hdr = sizeof(struct virtio_net_hdr_mrg_rxbuf);
	int fd = open_tap(iface);

	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		die("O_NONBLOCK");
	ready();
	while (wait_more(t, fd)) {
		ssize_t n;

		while (t->frames < t->count && (n = read(fd, buf, sizeof(buf))) >= 0)
			if ((size_t)n > hdr)
				count_frame(t, buf + hdr, (size_t)n - hdr);
		if (t->frames < t->count && errno != EAGAIN && errno != EINTR)
			die("read");
	}
	report(t);
}

static void do_send(const char *iface, struct frame *f, unsigned long long count)
{
	bool tso = f->size > MAX_PLAIN;
	int fd = open_packet(iface, tso ? ETH_P_IP : ETH_P_BENCH, tso);
	struct iovec iov[2] = {{&f->vhdr.hdr, sizeof(f->vhdr.hdr)}, {f->data, f->size}};
	struct mmsghdr msgs[BATCH];
	unsigned long long sent = 0;
	double start = now();

	for (int i = 0; i < BATCH; i++)
		msgs[i] = (struct mmsghdr){
		    .msg_hdr = {.msg_iov = tso ? iov : iov + 1, .msg_iovlen = tso ? 2 : 1}};
	while (sent < count) {
		unsigned int n = count - sent < BATCH ? (unsigned int)(count - sent) : BATCH;
		int r = sendmmsg(fd, msgs, n, 0);

		if (r < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			die("sendmmsg");
		/*
		 * The tap's queue is full (a packet socket cannot wait for it):
		 * step aside, or this loop takes the CPU the reader needs.
		 */
		if (r < 0)
			nanosleep(&(struct timespec){.tv_nsec = 20000}, NULL);
		sent += r > 0 ? (unsigned int)r : 0;
	}
	printf("frames=%llu seconds=%.6f\n", sent, now() - start);
}

static void do_tap_write(const char *iface, struct frame *f, unsigned long long count)
{
	int fd = open_tap(iface);
	struct iovec iov[2] = {{&f->vhdr, sizeof(f->vhdr)}, {f->data, f->size}};
	double start = now();

	for (unsigned long long i = 0; i < count; i++)
		if (writev(fd, iov, 2) < 0)
			die("write to the tap");
	printf("frames=%llu seconds=%.6f\n", count, now() - start);
}

int main(int argc, char **argv)
{
	struct tally t = {0};
	struct frame f = {0};

	if (argc == 5 && (!strcmp(argv[1], "recv") || !strcmp(argv[1], "tap-read"))) {
		parse_mac(argv[3], t.dst);
		t.count = number(argv[4], 1ULL << 40);
		if (!strcmp(argv[1], "recv"))
			do_recv(argv[2], &t);
		else
			do_tap_read(argv[2], &t);
		return t.frames ? 0 : 1;
	}
	if (argc == 6 && (!strcmp(argv[1], "send") || !strcmp(argv[1], "tap-write"))) {
		size_t size = number(argv[4], MAX_FRAME);

		if (size < 14 || (size > MAX_PLAIN && size < TCP_HDRS + TSO_SEG))
			usage();
		parse_mac(argv[3], f.dst);
		make_frame(&f, size);
		if (!strcmp(argv[1], "send"))
			do_send(argv[2], &f, number(argv[5], 1ULL << 40));
		else
			do_tap_write(argv[2], &f, number(argv[5], 1ULL << 40));
		return 0;
	}
	usage();
}
