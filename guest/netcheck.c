// SPDX-License-Identifier: MIT
/*
 * Network checks of the test init: the interface the kernel configured
 * (ip= on the command line), ICMP echo to a host, a TCP exchange with the
 * host tool build/guest/netpattern in either role (netpattern.h), and a
 * port that must stay out of reach. init.c documents the options.
 *
 * Every wait here is bounded so that a broken network fails its check
 * instead of hanging the boot until the host's timeout; the bounds are
 * failure limits, not synchronisation: nothing waits for them to pass.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "netcheck.h"
#include "netpattern.h"

/* How long each echo reply may take (the first one includes ARP). */
#define NC_PING_COUNT	3
#define NC_PING_WAIT_MS 5000
#define NC_PING_ID	0x766d /* "vm" */
#define NC_PING_PAYLOAD 56
/* A TCP connect, an accept, and any read or write without progress. */
#define NC_CONNECT_WAIT_MS 30000
#define NC_ACCEPT_WAIT_MS  120000
#define NC_IO_WAIT_S	   60
/* What "unreachable" means: no connection within this time. */
#define NC_UNREACHABLE_MS 3000

/* --- options ------------------------------------------------------------ */

/* An interface name: letters and digits, shorter than IFNAMSIZ. */
static bool parse_ifname(const char *s, size_t n, char *out)
{
	size_t i;

	if (n == 0 || n >= IFNAMSIZ)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

/* A decimal number in [@min, @max], the whole of [@s, @s + @n). */
static bool parse_num(const char *s, size_t n, unsigned long long min, unsigned long long max,
		      unsigned long long *v)
{
	char buf[24], *end;

	if (n == 0 || n >= sizeof(buf) || s[0] < '0' || s[0] > '9')
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return !errno && !*end && *v >= min && *v <= max;
}

/* A dotted-quad IPv4 address, the whole of [@s, @s + @n). */
static bool parse_addr(const char *s, size_t n, struct in_addr *a)
{
	char buf[INET_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, a) == 1;
}

/* "ADDR:PORT" into @sa; @rest gets what follows a further ':' or NULL. */
static bool parse_peer(const char *s, struct sockaddr_in *sa, const char **rest)
{
	const char *c1 = strchr(s, ':'), *c2;
	unsigned long long port;

	if (!c1)
		return false;
	c2 = strchr(c1 + 1, ':');
	*sa = (struct sockaddr_in){.sin_family = AF_INET};
	if (!parse_addr(s, c1 - s, &sa->sin_addr) ||
	    !parse_num(c1 + 1, c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1), 1, 65535, &port))
		return false;
	sa->sin_port = htons((uint16_t)port);
	*rest = c2 ? c2 + 1 : NULL;
	return true;
}

/* "IF:" and what follows it. */
static const char *parse_if_prefix(const char *v, char *ifname)
{
	const char *colon = strchr(v, ':');

	if (!colon || !parse_ifname(v, colon - v, ifname))
		return NULL;
	return colon + 1;
}

static bool parse_ip(const char *v, struct nc_opts *o)
{
	const char *a = parse_if_prefix(v, o->ip_if), *slash;
	unsigned long long prefix;

	if (!a)
		return false;
	slash = strchr(a, '/');
	o->ip_prefix = -1;
	if (slash) {
		if (!parse_num(slash + 1, strlen(slash + 1), 0, 32, &prefix))
			return false;
		o->ip_prefix = (int)prefix;
	}
	return parse_addr(a, slash ? (size_t)(slash - a) : strlen(a), &o->ip_addr);
}

static bool parse_mac(const char *v, struct nc_opts *o)
{
	const char *m = parse_if_prefix(v, o->mac_if);
	unsigned int b[6];
	int i, end = 0;

	if (!m || strlen(m) != 17 ||
	    sscanf(m, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6 ||
	    end != 17)
		return false;
	for (i = 0; i < 6; i++)
		o->mac_addr[i] = (unsigned char)b[i];
	return true;
}

static bool parse_mtu(const char *v, struct nc_opts *o)
{
	const char *m = parse_if_prefix(v, o->mtu_if);
	unsigned long long mtu;

	if (!m || !parse_num(m, strlen(m), 68, 65535, &mtu))
		return false;
	o->mtu_value = (int)mtu;
	return true;
}

static bool parse_ping(const char *v, struct nc_opts *o)
{
	return parse_addr(v, strlen(v), &o->ping_addr);
}

static bool parse_tcp(const char *v, struct nc_opts *o)
{
	const char *bytes;

	return parse_peer(v, &o->tcp_peer, &bytes) && bytes && np_parse_bytes(bytes, &o->tcp_bytes);
}

static bool parse_serve(const char *v, struct nc_opts *o)
{
	const char *colon = strchr(v, ':');
	unsigned long long port;

	if (!colon || !parse_num(v, colon - v, 1, 65535, &port))
		return false;
	o->serve_port = (uint16_t)port;
	return np_parse_bytes(colon + 1, &o->serve_bytes);
}

static bool parse_unreachable(const char *v, struct nc_opts *o)
{
	const char *rest;

	return parse_peer(v, &o->unreachable_peer, &rest) && !rest;
}

static const struct {
	const char *name;
	bool (*parse)(const char *value, struct nc_opts *o);
	size_t flag;
} nc_options[] = {
    {"ip", parse_ip, offsetof(struct nc_opts, ip)},
    {"mac", parse_mac, offsetof(struct nc_opts, mac)},
    {"mtu", parse_mtu, offsetof(struct nc_opts, mtu)},
    {"ping", parse_ping, offsetof(struct nc_opts, ping)},
    {"tcp", parse_tcp, offsetof(struct nc_opts, tcp)},
    {"serve", parse_serve, offsetof(struct nc_opts, serve)},
    {"unreachable", parse_unreachable, offsetof(struct nc_opts, unreachable)},
};

int nc_parse(const char *name, const char *value, struct nc_opts *o)
{
	size_t i;

	for (i = 0; i < sizeof(nc_options) / sizeof(nc_options[0]); i++) {
		if (strcmp(name, nc_options[i].name))
			continue;
		if (!nc_options[i].parse(value, o))
			return -1;
		*(bool *)((char *)o + nc_options[i].flag) = true;
		return 1;
	}
	return 0;
}

/* --- helpers ------------------------------------------------------------ */

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* poll() one fd for @events until @deadline_us (monotonic); the revents,
 * 0 on timeout, -1 on error. */
static int poll_until(int fd, short events, long long deadline_us)
{
	struct pollfd p = {.fd = fd, .events = events};
	long long left;
	int r;

	for (;;) {
		left = deadline_us - now_us();
		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)((left + 999) / 1000));
		if (r < 0 && errno == EINTR)
			continue;
		return r <= 0 ? r : p.revents;
	}
}

/* An ioctl on interface @ifname through a throwaway socket. */
static bool if_ioctl(const char *ifname, unsigned long req, struct ifreq *ifr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", ifname);
	ok = ioctl(fd, req, ifr) == 0;
	close(fd);
	return ok;
}

static struct in_addr ifr_in_addr(const struct ifreq *ifr)
{
	struct sockaddr_in sa;

	memcpy(&sa, &ifr->ifr_addr, sizeof(sa));
	return sa.sin_addr;
}

/* Bounded timeouts on every later read and write of @fd. */
static void set_io_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = NC_IO_WAIT_S};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Start a non-blocking connect to @sa and wait for it up to @wait_ms.
 * Returns the socket, connected and blocking again, or -1 with errno
 * (ETIMEDOUT if nothing happened in time). */
static int connect_within(const struct sockaddr_in *sa, int wait_ms)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err = 0, r;
	socklen_t len = sizeof(err);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		r = poll_until(fd, POLLOUT, now_us() + wait_ms * 1000LL);
		if (r <= 0) {
			errno = r ? errno : ETIMEDOUT;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			goto fail;
		if (err) {
			errno = err;
			goto fail;
		}
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* --- interface ---------------------------------------------------------- */

/* Up, running (carrier) and with the address (and prefix) asked for. */
static enum nc_result check_ip(const struct nc_opts *o, char *msg, size_t len)
{
	char have[INET_ADDRSTRLEN], want[INET_ADDRSTRLEN];
	struct in_addr addr, mask;
	struct ifreq ifr;
	int prefix;

	if (!o->ip)
		return NC_SKIP;
	if (!if_ioctl(o->ip_if, SIOCGIFFLAGS, &ifr)) {
		snprintf(msg, len, "%s: %s", o->ip_if, strerror(errno));
		return NC_FAIL;
	}
	if ((ifr.ifr_flags & (IFF_UP | IFF_RUNNING)) != (IFF_UP | IFF_RUNNING)) {
		snprintf(msg, len, "%s is %s%s", o->ip_if, ifr.ifr_flags & IFF_UP ? "up" : "down",
			 ifr.ifr_flags & IFF_RUNNING ? "" : ", no carrier");
		return NC_FAIL;
	}
	if (!if_ioctl(o->ip_if, SIOCGIFADDR, &ifr)) {
		snprintf(msg, len, "%s has no IPv4 address (%s)", o->ip_if, strerror(errno));
		return NC_FAIL;
	}
	addr = ifr_in_addr(&ifr);
	if (!if_ioctl(o->ip_if, SIOCGIFNETMASK, &ifr)) {
		snprintf(msg, len, "%s: netmask: %s", o->ip_if, strerror(errno));
		return NC_FAIL;
	}
	mask = ifr_in_addr(&ifr);
	prefix = __builtin_popcount(mask.s_addr);
	inet_ntop(AF_INET, &addr, have, sizeof(have));
	inet_ntop(AF_INET, &o->ip_addr, want, sizeof(want));
	if (addr.s_addr != o->ip_addr.s_addr || (o->ip_prefix >= 0 && prefix != o->ip_prefix)) {
		snprintf(msg, len, "%s has %s/%d, want %s", o->ip_if, have, prefix, want);
		if (o->ip_prefix >= 0)
			snprintf(msg + strlen(msg), len - strlen(msg), "/%d", o->ip_prefix);
		return NC_FAIL;
	}
	snprintf(msg, len, "%s up, %s/%d", o->ip_if, have, prefix);
	return NC_PASS;
}

static enum nc_result check_mac(const struct nc_opts *o, char *msg, size_t len)
{
	const unsigned char *m;
	struct ifreq ifr;

	if (!o->mac)
		return NC_SKIP;
	if (!if_ioctl(o->mac_if, SIOCGIFHWADDR, &ifr)) {
		snprintf(msg, len, "%s: %s", o->mac_if, strerror(errno));
		return NC_FAIL;
	}
	m = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
	snprintf(msg, len, "%s has %02x:%02x:%02x:%02x:%02x:%02x", o->mac_if, m[0], m[1], m[2],
		 m[3], m[4], m[5]);
	if (!memcmp(m, o->mac_addr, 6))
		return NC_PASS;
	m = o->mac_addr;
	snprintf(msg + strlen(msg), len - strlen(msg), ", want %02x:%02x:%02x:%02x:%02x:%02x", m[0],
		 m[1], m[2], m[3], m[4], m[5]);
	return NC_FAIL;
}

static enum nc_result check_mtu(const struct nc_opts *o, char *msg, size_t len)
{
	struct ifreq ifr;

	if (!o->mtu)
		return NC_SKIP;
	if (!if_ioctl(o->mtu_if, SIOCGIFMTU, &ifr)) {
		snprintf(msg, len, "%s: %s", o->mtu_if, strerror(errno));
		return NC_FAIL;
	}
	if (ifr.ifr_mtu == o->mtu_value)
		return NC_PASS;
	snprintf(msg, len, "%s has MTU %d, want %d", o->mtu_if, ifr.ifr_mtu, o->mtu_value);
	return NC_FAIL;
}

/* --- ICMP echo ---------------------------------------------------------- */

static uint16_t inet_checksum(const void *data, size_t n)
{
	const unsigned char *p = data;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* An echo request with sequence number @seq; the payload depends on it. */
static size_t make_echo(unsigned char *pkt, uint16_t seq)
{
	struct icmphdr h = {.type = ICMP_ECHO};
	size_t i;

	h.un.echo.id = htons(NC_PING_ID);
	h.un.echo.sequence = htons(seq);
	memcpy(pkt, &h, sizeof(h));
	for (i = 0; i < NC_PING_PAYLOAD; i++)
		pkt[sizeof(h) + i] = (unsigned char)(seq * 31 + i);
	h.checksum = inet_checksum(pkt, sizeof(h) + NC_PING_PAYLOAD);
	memcpy(pkt, &h, sizeof(h));
	return sizeof(h) + NC_PING_PAYLOAD;
}

/* Is the datagram @buf (@n bytes, IP header first) from @from the reply
 * to @req (@req_len bytes)? Other ICMP traffic is ignored. */
static bool is_reply(const unsigned char *buf, size_t n, const struct sockaddr_in *from,
		     const struct in_addr *to, const unsigned char *req, size_t req_len)
{
	struct icmphdr h, want;
	size_t ihl;

	if (n < sizeof(struct iphdr) || from->sin_addr.s_addr != to->s_addr)
		return false;
	ihl = (size_t)(buf[0] & 0xf) * 4;
	if (n != ihl + req_len)
		return false;
	memcpy(&h, buf + ihl, sizeof(h));
	memcpy(&want, req, sizeof(want));
	return h.type == ICMP_ECHOREPLY && h.code == 0 && h.un.echo.id == want.un.echo.id &&
	       h.un.echo.sequence == want.un.echo.sequence &&
	       !memcmp(buf + ihl + sizeof(h), req + sizeof(h), req_len - sizeof(h));
}

/* Send one echo request and wait for its reply; the round trip in us, or
 * -1 (@msg set). */
static long long ping_once(int fd, const struct in_addr *to, uint16_t seq, char *msg, size_t len)
{
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_addr = *to}, from;
	unsigned char req[64], buf[256];
	size_t req_len = make_echo(req, seq);
	long long t0 = now_us(), deadline = t0 + NC_PING_WAIT_MS * 1000LL;
	socklen_t flen;
	ssize_t n;

	if (sendto(fd, req, req_len, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		snprintf(msg, len, "echo request %u: %s", seq, strerror(errno));
		return -1;
	}
	for (;;) {
		if (poll_until(fd, POLLIN, deadline) <= 0) {
			snprintf(msg, len, "no reply to echo request %u within %d ms", seq,
				 NC_PING_WAIT_MS);
			return -1;
		}
		flen = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n > 0 && is_reply(buf, (size_t)n, &from, to, req, req_len))
			return now_us() - t0;
	}
}

/* NC_PING_COUNT echo requests to the address, every one answered. */
static enum nc_result check_ping(const struct nc_opts *o, char *msg, size_t len)
{
	long long rtt, min = -1, max = 0, sum = 0;
	char addr[INET_ADDRSTRLEN];
	uint16_t seq;
	int fd;

	if (!o->ping)
		return NC_SKIP;
	inet_ntop(AF_INET, &o->ping_addr, addr, sizeof(addr));
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (fd < 0) {
		snprintf(msg, len, "raw ICMP socket: %s", strerror(errno));
		return NC_FAIL;
	}
	for (seq = 1; seq <= NC_PING_COUNT; seq++) {
		rtt = ping_once(fd, &o->ping_addr, seq, msg, len);
		if (rtt < 0) {
			close(fd);
			return NC_FAIL;
		}
		min = min < 0 || rtt < min ? rtt : min;
		max = rtt > max ? rtt : max;
		sum += rtt;
	}
	close(fd);
	snprintf(msg, len, "%s answered %d of %d, rtt min/avg/max %lld/%lld/%lld us", addr,
		 NC_PING_COUNT, NC_PING_COUNT, min, sum / NC_PING_COUNT, max);
	return NC_PASS;
}

/* --- TCP ---------------------------------------------------------------- */

/* The checksums for the host to compare with what its side printed, and
 * the throughput of each direction for the PASS line. */
static void report_exchange(const char *name, const struct np_exchange *ex, char *msg, size_t len)
{
	long long in_ms = np_xfer_ms(&ex->in), out_ms = np_xfer_ms(&ex->out);

	printf("vmmtest: %s: received %llu bytes fnv1a=%016llx in %lld ms\n", name,
	       (unsigned long long)ex->in.bytes, (unsigned long long)ex->in.sum, in_ms);
	printf("vmmtest: %s: sent %llu bytes fnv1a=%016llx in %lld ms\n", name,
	       (unsigned long long)ex->out.bytes, (unsigned long long)ex->out.sum, out_ms);
	snprintf(msg, len, "%llu KiB in at %llu KiB/s, %llu KiB out at %llu KiB/s",
		 (unsigned long long)ex->in.bytes / 1024, np_kib_per_s(ex->in.bytes, in_ms),
		 (unsigned long long)ex->out.bytes / 1024, np_kib_per_s(ex->out.bytes, out_ms));
}

/* Connect to the host's `netpattern serve` and run the exchange. */
static enum nc_result check_tcp(const struct nc_opts *o, char *msg, size_t len)
{
	struct np_exchange ex;
	char err[160];
	bool ok;
	int fd;

	if (!o->tcp)
		return NC_SKIP;
	fd = connect_within(&o->tcp_peer, NC_CONNECT_WAIT_MS);
	if (fd < 0) {
		snprintf(msg, len, "connect to %s: %s", np_addr_str(&o->tcp_peer), strerror(errno));
		return NC_FAIL;
	}
	set_io_timeouts(fd);
	ok = np_client(fd, o->tcp_bytes, &ex, err, sizeof(err));
	close(fd);
	if (!ok) {
		snprintf(msg, len, "%s: %s", np_addr_str(&o->tcp_peer), err);
		return NC_FAIL;
	}
	report_exchange("tcp", &ex, msg, len);
	return NC_PASS;
}

/* A listening socket on every address, port @port. */
static int listen_on(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		one = errno;
		close(fd);
		errno = one;
		return -1;
	}
	return fd;
}

/* Listen, say so on the console (the host starts its client when it sees
 * the line), serve one `netpattern client` the exchange. */
static enum nc_result check_serve(const struct nc_opts *o, char *msg, size_t len)
{
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	struct np_exchange ex;
	int lfd, fd, r;
	char err[160];
	bool ok;

	if (!o->serve)
		return NC_SKIP;
	lfd = listen_on(o->serve_port);
	if (lfd < 0) {
		snprintf(msg, len, "listen on port %u: %s", o->serve_port, strerror(errno));
		return NC_FAIL;
	}
	printf("vmmtest: listening on %u\n", o->serve_port);
	fflush(stdout);
	r = poll_until(lfd, POLLIN, now_us() + NC_ACCEPT_WAIT_MS * 1000LL);
	fd = r > 0 ? accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC) : -1;
	if (fd < 0) {
		snprintf(msg, len, "no client on port %u within %d s%s%s", o->serve_port,
			 NC_ACCEPT_WAIT_MS / 1000, r ? ": " : "", r ? strerror(errno) : "");
		close(lfd);
		return NC_FAIL;
	}
	close(lfd);
	printf("vmmtest: serve: client %s\n", np_addr_str(&peer));
	set_io_timeouts(fd);
	ok = np_serve(fd, o->serve_bytes, &ex, err, sizeof(err));
	close(fd);
	if (!ok) {
		snprintf(msg, len, "client %s: %s", np_addr_str(&peer), err);
		return NC_FAIL;
	}
	report_exchange("serve", &ex, msg, len);
	return NC_PASS;
}

/* A connect to the address must not succeed within NC_UNREACHABLE_MS.
 * That bound is what "unreachable" means here: a refusal, an ICMP error or
 * silence for that long all pass; only a connection fails the check. */
static enum nc_result check_unreachable(const struct nc_opts *o, char *msg, size_t len)
{
	int fd;

	if (!o->unreachable)
		return NC_SKIP;
	fd = connect_within(&o->unreachable_peer, NC_UNREACHABLE_MS);
	if (fd >= 0) {
		close(fd);
		snprintf(msg, len, "a connection to %s succeeded",
			 np_addr_str(&o->unreachable_peer));
		return NC_FAIL;
	}
	if (errno == ETIMEDOUT)
		snprintf(msg, len, "%s: no answer within %d ms", np_addr_str(&o->unreachable_peer),
			 NC_UNREACHABLE_MS);
	else
		snprintf(msg, len, "%s: %s", np_addr_str(&o->unreachable_peer), strerror(errno));
	return NC_PASS;
}

const struct nc_check nc_checks[] = {
    {"ip", check_ip},
    {"mac", check_mac},
    {"mtu", check_mtu},
    {"ping", check_ping},
    {"tcp", check_tcp},
    {"serve", check_serve},
    {"unreachable", check_unreachable},
};

const size_t nc_checks_count = sizeof(nc_checks) / sizeof(nc_checks[0]);
