// SPDX-License-Identifier: MIT
/*
 * The user-mode network backend: the guest's frames go to libslirp, a TCP/IP
 * stack in this process that turns the guest's connections into ordinary
 * sockets of the VMM, so networking needs no privileges and no host setup.
 *
 * Everything here runs on the card's one worker thread (slirp is single
 * threaded and so is every callback it makes), so nothing is locked.
 *
 * Frames for the guest are queued in a FIFO owned by the backend: slirp's
 * send_packet has nowhere else to put them, since the device takes a frame
 * only when the guest has posted buffers. Past RX_QUEUE_SOFT frames the
 * backend stops asking slirp to read its sockets, so that the outside world
 * waits in the kernel's socket buffers rather than in our memory; past
 * RX_QUEUE_HARD frames or RX_QUEUE_BYTES bytes (slirp still makes frames of
 * its own: ARP, TCP retransmissions, replies to what the guest sends, such
 * as 64 KiB echo replies to 64 KiB pings) a frame is dropped, counted and
 * logged.
 *
 * Each connection or flow of the guest's is a socket of ours: past
 * USER_MAX_SOCKETS, counted as slirp registers and unregisters them, a
 * frame that would open one more (a TCP SYN, any UDP datagram, an ICMP echo
 * request) is dropped, so the guest cannot use up the VMM's file descriptors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <limits.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/options.h"
#include "core/util.h"
#include "devices/virtio/iov.h"
#include "devices/virtio/net_backend.h"

#define RX_QUEUE_SOFT	 64   /* frames queued before slirp's sockets stop being read */
#define RX_QUEUE_HARD	 1024 /* frames queued before one is dropped */
#define RX_QUEUE_BYTES	 NET_USER_RX_QUEUE_BYTES
#define USER_MAX_POLLFDS 256 /* sockets polled at once; see user_add_poll() */
#define USER_MAX_SOCKETS NET_USER_MAX_SOCKETS
#define USER_FD_BITS	 65536 /* socket fds tracked; a higher one counts, untracked */

/* The network QEMU's user-mode networking gives a guest, which users expect. */
#define USER_NET     0x0a000200 /* 10.0.2.0/24 */
#define USER_MASK    0xffffff00
#define USER_HOST    0x0a000202 /* the gateway, and the host's 127.0.0.1 */
#define USER_DNS     0x0a000203
#define USER_DHCP_LO 0x0a00020f /* the first address DHCP leases: 10.0.2.15 */
#define USER_MTU_MAX 65521	/* libslirp's IF_MTU_MAX: slirp_new() fails above it */

struct user_frame {
	struct user_frame *next;
	size_t len;
	uint8_t data[];
};

struct user_timer {
	struct user_timer *next;
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms; /* on clock_get_ns() / 1e6; -1 when not armed */
	bool due;	   /* expired when poll_done() looked */
};

struct net_user {
	struct net_backend be;
	Slirp *slirp;

	/* Frames for the guest, oldest first. */
	struct user_frame *rx_head, *rx_tail;
	unsigned int rx_count;
	size_t rx_bytes;
	uint64_t rx_dropped;

	/* slirp's sockets: fds registered (a bit each), and how many there are. */
	uint64_t sockets[USER_FD_BITS / 64];
	unsigned int nr_sockets;
	uint64_t flows_refused;

	struct user_timer *timers;

	/* poll_fill(): the array being filled and whether sockets may be read. */
	struct pollfd *fill_pfd;
	unsigned int fill_max, fill_n;
	bool fill_rx;
	/* Sockets slirp offered in a fill, and where the next window starts. */
	unsigned int fill_seen, fill_total, fill_skip;
	/* poll_done(): what poll() returned. */
	const struct pollfd *done_pfd;
	unsigned int done_n;

	struct log_limit guest_errors; /* slirp's complaints about the guest's packets */
	bool overflow_logged;

	uint8_t tx_buf[NET_MAX_FRAME]; /* slirp_input() wants the frame linear */
};

static struct net_user *to_user(struct net_backend *be)
{
	return (struct net_user *)be;
}

static int64_t clock_ms(void)
{
	return monotonic_ns() / 1000000;
}

/* ---- slirp's callbacks ---- */

static ssize_t user_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_user *u = opaque;
	struct user_frame *f = NULL;

	if (len <= NET_MAX_FRAME && u->rx_count < RX_QUEUE_HARD &&
	    u->rx_bytes + len <= RX_QUEUE_BYTES)
		f = malloc(sizeof(*f) + len);
	if (!f) {
		if (!u->rx_dropped++)
			vmm_log("user: %u frames wait for the guest's buffers; dropping what "
				"comes on (the count is logged at the end)",
				u->rx_count);
		/*
		 * Claim it was sent all the same: slirp has no use for the
		 * error but to complain on stderr for every frame.
		 */
		return (ssize_t)len;
	}
	f->next = NULL;
	f->len = len;
	memcpy(f->data, buf, len);
	if (u->rx_tail)
		u->rx_tail->next = f;
	else
		u->rx_head = f;
	u->rx_tail = f;
	u->rx_count++;
	u->rx_bytes += len;
	return (ssize_t)len;
}

static void user_guest_error(const char *msg, void *opaque)
{
	struct net_user *u = opaque;

	/* The guest controls how often this happens. */
	vmm_log_limited(&u->guest_errors, "user: guest error: %s", msg);
}

static int64_t user_clock_get_ns(void *opaque)
{
	(void)opaque;
	return monotonic_ns();
}

static void *user_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct net_user *u = opaque;
	struct user_timer *t = calloc(1, sizeof(*t));

	/* slirp has no way to hear of a failure; it would use the NULL. */
	if (!t)
		abort();
	t->id = id;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = u->timers;
	u->timers = t;
	return t;
}

static void user_timer_free(void *timer, void *opaque)
{
	struct net_user *u = opaque;

	for (struct user_timer **p = &u->timers; *p; p = &(*p)->next) {
		if (*p == timer) {
			*p = ((struct user_timer *)timer)->next;
			free(timer);
			return;
		}
	}
}

static void user_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct user_timer *t = timer;

	(void)opaque;
	t->expire_ms = expire_ms < 0 ? 0 : expire_ms;
}

/*
 * slirp tells us of its sockets as they come and go. poll_fill() asks it
 * for the whole set every time, so these only count them, for the cap on
 * the guest's flows.
 */
static bool socket_bit(struct net_user *u, int fd, bool set, bool clear)
{
	uint64_t *w = &u->sockets[fd / 64], bit = 1ULL << (fd % 64);
	bool was = *w & bit;

	if (set)
		*w |= bit;
	if (clear)
		*w &= ~bit;
	return was;
}

static void user_register_poll_fd(int fd, void *opaque)
{
	struct net_user *u = opaque;

	if (fd < 0 || fd >= USER_FD_BITS)
		u->nr_sockets++; /* untracked: counted for good, which errs on the safe side */
	else if (!socket_bit(u, fd, true, false))
		u->nr_sockets++;
}

static void user_unregister_poll_fd(int fd, void *opaque)
{
	struct net_user *u = opaque;

	if (fd >= 0 && fd < USER_FD_BITS && socket_bit(u, fd, false, true))
		u->nr_sockets--;
}

/*
 * At the cap, forget sockets slirp closed without saying so (fd no longer
 * open): the count must not creep up and shut the guest out for good.
 */
static void prune_sockets(struct net_user *u)
{
	for (int fd = 0; fd < USER_FD_BITS; fd++) {
		if (!(u->sockets[fd / 64] >> (fd % 64) & 1))
			continue;
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			socket_bit(u, fd, false, true);
			u->nr_sockets--;
		}
	}
}

/* Would this frame of the guest's make slirp open a socket? IPv4 only: slirp has no IPv6. */
static bool opens_flow(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + ETH_HLEN, *l4;
	size_t ihl;

	if (len < ETH_HLEN + 20 || f[12] != 0x08 || f[13] != 0x00 || (ip[0] >> 4) != 4)
		return false;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	if (ihl < 20 || len < ETH_HLEN + ihl + 1)
		return false;
	l4 = ip + ihl;
	switch (ip[9]) {
	case IPPROTO_TCP: /* SYN without ACK: flags at byte 13 of the TCP header */
		return len >= ETH_HLEN + ihl + 14 && (l4[13] & 0x12) == 0x02;
	case IPPROTO_UDP: return true;
	case IPPROTO_ICMP: return l4[0] == 8; /* echo request */
	default: return false;
	}
}

/* The guest has as many flows as it may: refuse one more. */
static bool refuse_flow(struct net_user *u, const uint8_t *f, size_t len)
{
	if (u->nr_sockets < USER_MAX_SOCKETS || !opens_flow(f, len))
		return false;
	prune_sockets(u);
	if (u->nr_sockets < USER_MAX_SOCKETS)
		return false;
	if (!u->flows_refused++)
		vmm_log("user: the guest holds %u host sockets; its new connections are refused "
			"(the count is logged at the end)",
			u->nr_sockets);
	return true;
}

/*
 * A socket's buffer has room again (the guest acknowledged data), so slirp
 * would read it once more. It only says so from inside a call this thread
 * made (slirp_input(), slirp_pollfds_poll(), a timer), and the worker always
 * goes through poll_fill() before it sleeps, where slirp_pollfds_fill()
 * offers that socket for POLLIN again: there is nobody to wake.
 */
static void user_notify(void *opaque)
{
	(void)opaque;
}

static const SlirpCb user_callbacks = {
    .send_packet = user_send_packet,
    .guest_error = user_guest_error,
    .clock_get_ns = user_clock_get_ns,
    .timer_free = user_timer_free,
    .timer_mod = user_timer_mod,
    .register_poll_fd = user_register_poll_fd,
    .unregister_poll_fd = user_unregister_poll_fd,
    .notify = user_notify,
    .timer_new_opaque = user_timer_new_opaque,
};

/* ---- the backend's operations ---- */

static int user_peek(struct net_backend *be, const uint8_t **frame, size_t *len)
{
	struct net_user *u = to_user(be);

	if (!u->rx_head)
		return 0;
	*frame = u->rx_head->data;
	*len = u->rx_head->len;
	return 1;
}

static void user_consume(struct net_backend *be)
{
	struct net_user *u = to_user(be);
	struct user_frame *f = u->rx_head;

	if (!f)
		return;
	u->rx_head = f->next;
	if (!u->rx_head)
		u->rx_tail = NULL;
	u->rx_count--;
	u->rx_bytes -= f->len;
	free(f);
}

static enum net_send_result user_send(struct net_backend *be, const struct iovec *iov,
				      unsigned int cnt)
{
	struct net_user *u = to_user(be);
	size_t len = 0;

	for (unsigned int i = 0; i < cnt; i++) {
		if (iov[i].iov_len > NET_MAX_FRAME - len)
			return NET_SEND_FAILED;
		len += iov[i].iov_len;
	}
	/* Not even an Ethernet header: nothing slirp could make sense of. */
	if (len < ETH_HLEN)
		return NET_SEND_FAILED;
	iov_to_buf(iov, cnt, 0, u->tx_buf, len);
	if (refuse_flow(u, u->tx_buf, len))
		return NET_SENT; /* gone, as a wire would lose it */
	/* Replies slirp makes at once (ARP, DHCP) land in the FIFO meanwhile. */
	slirp_input(u->slirp, u->tx_buf, (int)len);
	return NET_SENT;
}

static short slirp_to_poll(int events)
{
	short ev = 0;

	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	if (events & SLIRP_POLL_ERR)
		ev |= POLLERR;
	if (events & SLIRP_POLL_HUP)
		ev |= POLLHUP;
	return ev;
}

static int poll_to_slirp(short revents)
{
	int ev = 0;

	if (revents & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (revents & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (revents & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	/* A closed fd under slirp: let it find out by failing on it. */
	if (revents & (POLLERR | POLLNVAL))
		ev |= SLIRP_POLL_ERR;
	if (revents & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

/*
 * Is the @c-th socket slirp offers this round inside the window polled? When
 * slirp has more sockets than fit (the guest can open as many connections
 * as it likes), each round polls the next fill_max of them, wrapping around,
 * so that none waits for ever; the sockets are in the same order from one
 * round to the next, new ones aside, which just take a free place.
 */
static bool in_window(const struct net_user *u, unsigned int c)
{
	unsigned int total = u->fill_total;

	if (total <= u->fill_max || c >= total)
		return true;
	return (c + total - u->fill_skip % total) % total < u->fill_max;
}

static int user_add_poll(int fd, int events, void *opaque)
{
	struct net_user *u = opaque;
	unsigned int c;

	/*
	 * Holding back (the guest has no buffers, or the FIFO is full
	 * enough): no reads, so whatever the outside sends waits in the
	 * kernel. Writes towards the outside go on. (poll() reports a hang-up
	 * on those all the same, and slirp then reads what is left: a little,
	 * bounded by its socket buffer; the hard cap covers it.)
	 */
	if (!u->fill_rx)
		events &= ~(SLIRP_POLL_IN | SLIRP_POLL_PRI);
	if (!(events & (SLIRP_POLL_IN | SLIRP_POLL_OUT | SLIRP_POLL_PRI)))
		return -1;
	c = u->fill_seen++;
	if (u->fill_n == u->fill_max || !in_window(u, c))
		return -1;
	u->fill_pfd[u->fill_n] = (struct pollfd){.fd = fd, .events = slirp_to_poll(events)};
	return (int)u->fill_n++;
}

static void lower_timeout(int *timeout_ms, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	if (ms > INT_MAX)
		ms = INT_MAX;
	if (*timeout_ms < 0 || ms < *timeout_ms)
		*timeout_ms = (int)ms;
}

static void timers_timeout(struct net_user *u, int *timeout_ms)
{
	int64_t now = -1;

	for (struct user_timer *t = u->timers; t; t = t->next) {
		if (t->expire_ms < 0)
			continue;
		if (now < 0)
			now = clock_ms();
		lower_timeout(timeout_ms, t->expire_ms - now);
	}
}

static unsigned int user_poll_fill(struct net_backend *be, struct pollfd *pfd, unsigned int max,
				   bool want_rx, bool want_tx, int *timeout_ms)
{
	struct net_user *u = to_user(be);
	uint32_t slirp_timeout = *timeout_ms < 0 ? UINT32_MAX : (uint32_t)*timeout_ms;

	(void)want_tx; /* send() never says NET_SEND_AGAIN */
	u->fill_pfd = pfd;
	u->fill_max = max;
	u->fill_n = 0;
	u->fill_seen = 0;
	u->fill_rx = want_rx && u->rx_count < RX_QUEUE_SOFT;
	slirp_pollfds_fill(u->slirp, &slirp_timeout, user_add_poll, u);
	u->fill_pfd = NULL;

	u->fill_total = u->fill_seen;
	if (u->fill_seen > max) {
		u->fill_skip = (u->fill_skip + max) % u->fill_seen;
		if (!u->overflow_logged)
			vmm_log("user: more than %u sockets to poll; polling them in turns", max);
		u->overflow_logged = true;
	}

	if (slirp_timeout != UINT32_MAX)
		lower_timeout(timeout_ms, slirp_timeout);
	timers_timeout(u, timeout_ms);
	/* A frame waits and the device has buffers for it: no sleeping. */
	if (want_rx && u->rx_head)
		*timeout_ms = 0;
	return u->fill_n;
}

static int user_get_revents(int idx, void *opaque)
{
	struct net_user *u = opaque;

	/* An index from another round (slirp's sockets changed since): nothing. */
	if (idx < 0 || (unsigned int)idx >= u->done_n)
		return 0;
	return poll_to_slirp(u->done_pfd[idx].revents);
}

/*
 * Fire every timer that had expired on entry. One that is re-armed or freed
 * by a callback is not fired twice: only timers marked due are, and a timer
 * loses the mark as it fires.
 */
static void timers_fire(struct net_user *u)
{
	int64_t now = clock_ms();
	struct user_timer *t;

	for (t = u->timers; t; t = t->next)
		t->due = t->expire_ms >= 0 && t->expire_ms <= now;
	for (;;) {
		for (t = u->timers; t && !t->due; t = t->next)
			;
		if (!t)
			return;
		t->due = false;
		t->expire_ms = -1;
		slirp_handle_timer(u->slirp, t->id, t->cb_opaque);
	}
}

static void user_poll_done(struct net_backend *be, const struct pollfd *pfd, unsigned int n)
{
	struct net_user *u = to_user(be);

	/*
	 * Called even when nothing polled was ready: slirp runs its TCP timers
	 * and flushes frames waiting on ARP in here. Whether poll() failed is
	 * not passed through this interface, hence select_error 0.
	 */
	u->done_pfd = pfd;
	u->done_n = n;
	slirp_pollfds_poll(u->slirp, 0, user_get_revents, u);
	u->done_pfd = NULL;
	u->done_n = 0;
	timers_fire(u);
}

static void user_destroy(struct net_backend *be)
{
	struct net_user *u = to_user(be);

	if (!u)
		return;
	if (u->slirp)
		slirp_cleanup(u->slirp);
	while (u->rx_head)
		user_consume(be);
	while (u->timers) {
		struct user_timer *t = u->timers;

		u->timers = t->next;
		free(t);
	}
	if (u->rx_dropped)
		vmm_log("user: %llu frames for the guest were dropped: it left %u frames or %d "
			"MiB unread",
			(unsigned long long)u->rx_dropped, RX_QUEUE_HARD, RX_QUEUE_BYTES >> 20);
	if (u->flows_refused)
		vmm_log(
		    "user: %llu frames of the guest's that would open a connection past %d were "
		    "dropped",
		    (unsigned long long)u->flows_refused, USER_MAX_SOCKETS);
	log_limit_report(&u->guest_errors);
	free(u);
}

static const struct net_backend_ops user_ops = {
    .peek = user_peek,
    .consume = user_consume,
    .send = user_send,
    .poll_fill = user_poll_fill,
    .poll_done = user_poll_done,
    .destroy = user_destroy,
};

/* ---- opening ---- */

static struct in_addr in4(uint32_t host_order)
{
	return (struct in_addr){.s_addr = htonl(host_order)};
}

static int add_hostfwd(struct net_user *u, const struct net_hostfwd *fwd)
{
	uint32_t guest = fwd->guest_addr ? fwd->guest_addr : USER_DHCP_LO;
	char host[INET_ADDRSTRLEN];
	struct in_addr ha = in4(fwd->host_addr);

	errno = 0;
	if (slirp_add_hostfwd(u->slirp, fwd->udp, ha, fwd->host_port, in4(guest),
			      fwd->guest_port) == 0)
		return 0;
	inet_ntop(AF_INET, &ha, host, sizeof(host));
	return set_error("--net user: cannot forward %s %s:%u: %s", fwd->udp ? "udp" : "tcp", host,
			 fwd->host_port, errno ? strerror(errno) : "libslirp refused it");
}

static Slirp *user_slirp_new(struct net_user *u, const struct net_backend_opt *opt)
{
	SlirpConfig cfg = {
	    .version = 4, /* timer_new_opaque and disable_dhcp */
	    .restricted = opt->restrict_net,
	    .in_enabled = true,
	    .vnetwork = in4(USER_NET),
	    .vnetmask = in4(USER_MASK),
	    .vhost = in4(USER_HOST),
	    /*
	     * No IPv6: the guest would get router advertisements and
	     * a second route out, which --net user does not promise yet.
	     */
	    .in6_enabled = false,
	    .vdhcp_start = in4(USER_DHCP_LO),
	    .vnameserver = in4(USER_DNS),
	    .if_mtu = opt->mtu,
	    .if_mru = opt->mtu,
	    .disable_dhcp = false,
	};

	return slirp_new(&cfg, &user_callbacks, u);
}

struct net_backend *net_user_open(const struct net_backend_opt *opt, const uint8_t mac[6])
{
	struct net_user *u;

	/* slirp learns the guest's MAC from its frames (ARP, DHCP). */
	(void)mac;
	if (opt->mtu < 68 || opt->mtu > USER_MTU_MAX) {
		set_error("--net user: mtu %u is out of libslirp's range 68 to %u", opt->mtu,
			  USER_MTU_MAX);
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		set_error("--net user: out of memory");
		return NULL;
	}
	u->guest_errors.name = "user";
	u->be = (struct net_backend){
	    .ops = &user_ops,
	    .name = "user",
	    .vnet_hdr = false,
	    .offloads = 0,
	    .max_pollfds = USER_MAX_POLLFDS,
	    .thread_kind = THREAD_NET_USER,
	};
	u->slirp = user_slirp_new(u, opt);
	if (!u->slirp) {
		set_error("--net user: libslirp %s would not start", slirp_version_string());
		goto fail;
	}
	for (unsigned int i = 0; i < opt->nr_hostfwd && i < NET_MAX_HOSTFWD; i++)
		if (add_hostfwd(u, &opt->hostfwd[i]))
			goto fail;
	return &u->be;
fail:
	user_destroy(&u->be);
	return NULL;
}

/* [ADDR]:PORT of a hostfwd; an empty ADDR leaves *@addr as it is. */
static int parse_addr_port(char *s, uint32_t *addr, uint16_t *port)
{
	char *colon = strrchr(s, ':');
	unsigned int p;
	struct in_addr in;

	if (!colon)
		return -1;
	*colon = '\0';
	if (*s) {
		if (inet_pton(AF_INET, s, &in) != 1)
			return -1;
		*addr = ntohl(in.s_addr);
	}
	if (parse_count("--net hostfwd", colon + 1, 1, 65535, &p) < 0)
		return -1;
	*port = (uint16_t)p;
	return 0;
}

/* [tcp:|udp:][HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT */
static int parse_hostfwd(struct net_backend_opt *opt, char *val)
{
	char copy[128], *guest;
	struct net_hostfwd *f = &opt->hostfwd[opt->nr_hostfwd];

	if (opt->nr_hostfwd >= NET_MAX_HOSTFWD)
		return set_error("--net: at most %d hostfwd options", NET_MAX_HOSTFWD);
	snprintf(copy, sizeof(copy), "%s", val);
	*f = (struct net_hostfwd){.host_addr = INADDR_LOOPBACK};
	if (!strncmp(val, "tcp:", 4) || !strncmp(val, "udp:", 4)) {
		f->udp = val[0] == 'u';
		val += 4;
	}
	guest = strchr(val, '-');
	if (guest)
		*guest++ = '\0';
	if (!guest || parse_addr_port(val, &f->host_addr, &f->host_port) < 0 ||
	    parse_addr_port(guest, &f->guest_addr, &f->guest_port) < 0)
		return set_error("--net: bad hostfwd '%s' (expected "
				 "tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT)",
				 copy);
	opt->nr_hostfwd++;
	return 0;
}

int net_user_parse_option(struct net_backend_opt *opt, const char *key, char *val)
{
	if (strcmp(key, "restrict") && strcmp(key, "hostfwd"))
		return NET_OPT_NOT_MINE;
	if (!val)
		return suboption_needs_value("--net", key);
	if (opt->kind != NET_USER)
		return set_error("--net: option '%s' is for --net user only", key);
	if (!strcmp(key, "restrict"))
		return parse_on_off("--net", key, val, &opt->restrict_net);
	return parse_hostfwd(opt, val);
}
