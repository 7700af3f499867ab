// SPDX-License-Identifier: MIT
/*
 * The tap backend: a TAP interface of the host kernel, opened with a virtio
 * net header on every frame (IFF_VNET_HDR), so that checksum and
 * segmentation offloads pass through in both directions without the VMM
 * touching the payload. Sends go straight from the guest's buffers.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/options.h"
#include "devices/virtio/net_backend.h"

#define TUN_PATH "/dev/net/tun"

struct tap {
	struct net_backend be;
	int fd;
	char ifname[IFNAMSIZ];
	bool has_frame; /* frame[0 .. len) was read and is not consumed yet */
	bool gone;	/* reads fail for good: the interface was deleted */
	bool drained;	/* the last read found nothing: wait for poll() to say more came */
	bool logged_error;
	size_t len;
	uint8_t frame[NET_VNET_HDR_LEN + NET_MAX_FRAME];
};

static struct tap *to_tap(struct net_backend *be)
{
	return (struct tap *)be;
}

static void tap_log_once(struct tap *t, const char *what, int err)
{
	if (!t->logged_error)
		vmm_log("%s: %s: %s", t->ifname, what, strerror(err));
	t->logged_error = true;
}

static int tap_peek(struct net_backend *be, const uint8_t **frame, size_t *len)
{
	struct tap *t = to_tap(be);

	/* A read per worker round on an empty tap would cost a system call per notify. */
	while (!t->has_frame && !t->gone && !t->drained) {
		ssize_t n = read(t->fd, t->frame, sizeof(t->frame));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			t->drained = true;
			return 0;
		}
		if (n < 0) {
			/*
			 * EBADFD once the interface is deleted, and poll() then
			 * reports the fd ready for ever: stop reading and polling
			 * it, or the worker spins. Sends fail and are counted.
			 */
			tap_log_once(t, "read, no more frames for the guest", errno);
			t->gone = true;
			return -1;
		}
		/* With IFF_VNET_HDR every frame starts with the header: a shorter one is no frame.
		 */
		if ((size_t)n <= NET_VNET_HDR_LEN)
			continue;
		t->len = (size_t)n;
		t->has_frame = true;
	}
	if (!t->has_frame)
		return 0;
	*frame = t->frame;
	*len = t->len;
	return 1;
}

static void tap_consume(struct net_backend *be)
{
	to_tap(be)->has_frame = false;
}

static enum net_send_result tap_send(struct net_backend *be, const struct iovec *iov,
				     unsigned int cnt)
{
	struct tap *t = to_tap(be);
	ssize_t n;

	do
		n = writev(t->fd, iov, (int)cnt);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return NET_SENT;
	if (errno == EAGAIN)
		return NET_SEND_AGAIN;
	/* EINVAL: a header the kernel refuses (bad GSO fields); EIO: the link is down. */
	tap_log_once(t, "write", errno);
	return NET_SEND_FAILED;
}

static int tap_set_offloads(struct net_backend *be, unsigned int offloads)
{
	struct tap *t = to_tap(be);
	unsigned int flags = 0;

	if (offloads & NET_OFFLOAD_CSUM)
		flags |= TUN_F_CSUM;
	if (offloads & NET_OFFLOAD_TSO4)
		flags |= TUN_F_TSO4;
	if (offloads & NET_OFFLOAD_TSO6)
		flags |= TUN_F_TSO6;
	if (ioctl(t->fd, TUNSETOFFLOAD, flags) < 0)
		return set_error("%s: TUNSETOFFLOAD 0x%x: %s", t->ifname, flags, strerror(errno));
	return 0;
}

static unsigned int tap_poll_fill(struct net_backend *be, struct pollfd *pfd, unsigned int max,
				  bool want_rx, bool want_tx, int *timeout_ms)
{
	struct tap *t = to_tap(be);
	short events = (want_rx ? POLLIN : 0) | (want_tx ? POLLOUT : 0);

	(void)timeout_ms;
	/* A frame already read waits for buffers, not for the fd; a gone tap has none. */
	if (t->has_frame || t->gone)
		events &= ~POLLIN;
	if (!events || !max)
		return 0;
	pfd[0] = (struct pollfd){.fd = t->fd, .events = events};
	return 1;
}

static void tap_poll_done(struct net_backend *be, const struct pollfd *pfd, unsigned int n)
{
	struct tap *t = to_tap(be);

	/* Anything but "writable" may mean frames (or an error the next read reports). */
	if (n && (pfd[0].revents & ~POLLOUT))
		t->drained = false;
}

static void tap_destroy(struct net_backend *be)
{
	struct tap *t = to_tap(be);

	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static const struct net_backend_ops tap_ops = {
    .peek = tap_peek,
    .consume = tap_consume,
    .send = tap_send,
    .set_offloads = tap_set_offloads,
    .poll_fill = tap_poll_fill,
    .poll_done = tap_poll_done,
    .destroy = tap_destroy,
};

static int tap_attach(struct tap *t, const char *ifname)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	int hdr_len = NET_VNET_HDR_LEN;

	t->fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0)
		return set_error("--net tap: cannot open " TUN_PATH ": %s", strerror(errno));
	if (ifname)
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;

		return set_error("--net tap: cannot create tap '%s': %s%s",
				 ifname ? ifname : "tap%d", strerror(err),
				 err == EPERM
				     ? " (needs CAP_NET_ADMIN, or a tap made for this user: "
				       "ip tuntap add NAME mode tap user USER)"
				     : "");
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr_len) < 0)
		return set_error("--net tap: %s: TUNSETVNETHDRSZ: %s", t->ifname, strerror(errno));
	/* Nothing offloaded towards the guest until its driver accepts it. */
	if (ioctl(t->fd, TUNSETOFFLOAD, 0) < 0)
		return set_error("--net tap: %s: TUNSETOFFLOAD: %s", t->ifname, strerror(errno));
	return 0;
}

/* Bring the link up when we may; else whoever configures its address does. */
static void tap_link_up(const struct tap *t)
{
	struct ifreq ifr = {0};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

struct net_backend *net_tap_open(const struct net_backend_opt *opt)
{
	struct tap *t = calloc(1, sizeof(*t));

	if (!t) {
		set_error("out of memory");
		return NULL;
	}
	t->fd = -1;
	if (tap_attach(t, opt->ifname) < 0) {
		tap_destroy(&t->be);
		return NULL;
	}
	tap_link_up(t);
	t->be = (struct net_backend){
	    .ops = &tap_ops,
	    .name = t->ifname,
	    .vnet_hdr = true,
	    .offloads = NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6,
	    .max_pollfds = 1,
	    .thread_kind = THREAD_NET_TAP,
	};
	return &t->be;
}

int net_tap_parse_option(struct net_backend_opt *opt, const char *key, char *val)
{
	if (strcmp(key, "ifname"))
		return NET_OPT_NOT_MINE;
	if (!val)
		return suboption_needs_value("--net", key);
	if (!*val || strlen(val) >= IFNAMSIZ || strchr(val, '/'))
		return set_error("--net: bad ifname '%s' (1 to %d bytes, no '/')", val,
				 IFNAMSIZ - 1);
	opt->ifname = val;
	if (opt->kind != NET_TAP)
		return set_error("--net: option '%s' is for --net tap only", key);
	return 0;
}
