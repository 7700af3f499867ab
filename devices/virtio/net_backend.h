/* SPDX-License-Identifier: MIT */
/*
 * What a virtio-net card's frames go through on the host: a tap device or
 * the user-mode stack (libslirp). The device model talks to a backend only
 * through this interface, from its one worker thread.
 *
 * Frames cross it whole. With @vnet_hdr set, each one (both ways) begins
 * with a struct virtio_net_hdr_v1 (NET_VNET_HDR_LEN bytes) whose offload
 * fields the backend honours; otherwise frames are bare Ethernet and the
 * device strips or supplies the header itself.
 *
 * A backend never drops a frame for want of guest buffers: the device peeks
 * at the next frame only when it has buffers, and the frame stays the
 * backend's until the device consumes it.
 */
#ifndef DEVICES_VIRTIO_NET_BACKEND_H
#define DEVICES_VIRTIO_NET_BACKEND_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/log.h"
#include "core/util.h"

/* struct virtio_net_hdr_v1: the header of VIRTIO 1.x, num_buffers included. */
#define NET_VNET_HDR_LEN 12
/* The largest frame either way: a 64 KiB GSO packet, its Ethernet and VLAN headers. */
#define NET_MAX_FRAME (65535 + 14 + 4)

/* Offloads a backend may be asked to hand the guest (receive direction). */
#define NET_OFFLOAD_CSUM BIT(0) /* partial checksums: VIRTIO_NET_HDR_F_NEEDS_CSUM */
#define NET_OFFLOAD_TSO4 BIT(1)
#define NET_OFFLOAD_TSO6 BIT(2)

/* Where a network card's frames go. */
enum net_kind { NET_TAP, NET_USER };

#define NET_DEFAULT_MTU 1500
#define NET_MAX_HOSTFWD 8

/* --net user,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT */
struct net_hostfwd {
	bool udp;
	uint32_t host_addr;  /* IPv4, host byte order; default 127.0.0.1 */
	uint16_t host_port;  /* 1..65535 */
	uint32_t guest_addr; /* IPv4, host byte order; 0: the address the guest leases */
	uint16_t guest_port; /* 1..65535 */
};

/* What --net says of the link and its backend. */
struct net_backend_opt {
	enum net_kind kind;
	uint16_t mtu;	    /* the link's: the card reports it, slirp sizes its frames by it */
	const char *ifname; /* tap: NULL lets the kernel name it (tap0, tap1...) */
	bool restrict_net;  /* user: the guest reaches nothing but forwarded ports */
	struct net_hostfwd hostfwd[NET_MAX_HOSTFWD]; /* user only */
	unsigned int nr_hostfwd;
};

/*
 * A backend's own sub-options of --net (the card parses the rest): 0 when
 * @key is one and was taken, NET_OPT_NOT_MINE when it is none of this
 * backend's, -1 with set_error() when it is but the value is bad or the
 * card is of the other kind. @val stays referenced: it must outlive @opt.
 */
#define NET_OPT_NOT_MINE 1
int net_tap_parse_option(struct net_backend_opt *opt, const char *key, char *val);
int net_user_parse_option(struct net_backend_opt *opt, const char *key, char *val);

/* What send() did with a frame. */
enum net_send_result {
	NET_SENT,	 /* gone (or dropped by the network, as a wire would) */
	NET_SEND_AGAIN,	 /* no room now: retry after poll_done() saw the backend writable */
	NET_SEND_FAILED, /* the backend refused this frame; the device counts it */
};

struct net_backend;

struct net_backend_ops {
	/*
	 * The next frame for the guest, if one is waiting: 1 with *@frame and
	 * *@len (vnet header included when @vnet_hdr), 0 when none is, -1 on an
	 * error (logged by the backend). The frame stays valid, and peek()
	 * returns it again, until consume().
	 */
	int (*peek)(struct net_backend *be, const uint8_t **frame, size_t *len);
	void (*consume)(struct net_backend *be);
	/* One frame from the guest, @iov covering it exactly (header first if @vnet_hdr). */
	enum net_send_result (*send)(struct net_backend *be, const struct iovec *iov,
				     unsigned int cnt);
	/* Optional: the guest accepted these NET_OFFLOAD_* bits; -1 with set_error(). */
	int (*set_offloads)(struct net_backend *be, unsigned int offloads);
	/*
	 * Before the worker sleeps: fill at most @max pollfds (returns how many)
	 * and lower *@timeout_ms (-1: none) if the backend has timers. @want_rx:
	 * the device has buffers and wants the next frame; @want_tx: a send()
	 * said NET_SEND_AGAIN.
	 */
	unsigned int (*poll_fill)(struct net_backend *be, struct pollfd *pfd, unsigned int max,
				  bool want_rx, bool want_tx, int *timeout_ms);
	/* After poll() returned (events or timeout): the entries poll_fill() gave. */
	void (*poll_done)(struct net_backend *be, const struct pollfd *pfd, unsigned int n);
	void (*destroy)(struct net_backend *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	const char *name;	      /* for the VMM's log: "tap0", "user" */
	bool vnet_hdr;		      /* frames carry a virtio_net_hdr_v1 both ways */
	unsigned int offloads;	      /* NET_OFFLOAD_* set_offloads() can turn on */
	unsigned int max_pollfds;     /* the most poll_fill() ever returns */
	enum thread_kind thread_kind; /* what the card's worker is, for its seccomp filter */
};

/*
 * Open the backend @opt asks for; NULL with set_error() naming the problem
 * (no /dev/net/tun, no permission, bad ifname, libslirp refused a hostfwd).
 */
/* What a guest on user-mode networking can make the VMM hold (README). */
#define NET_USER_RX_QUEUE_BYTES (4 << 20) /* frames waiting for the guest's buffers */
#define NET_USER_MAX_SOCKETS	256	  /* host sockets for the guest's connections */

struct net_backend *net_tap_open(const struct net_backend_opt *opt);
struct net_backend *net_user_open(const struct net_backend_opt *opt, const uint8_t mac[6]);

#endif
