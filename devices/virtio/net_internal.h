/* SPDX-License-Identifier: MIT */
/*
 * virtio-net inside: the receive and transmit paths the worker runs, shared
 * by net.c and its unit tests (which drive them without the worker).
 */
#ifndef DEVICES_VIRTIO_NET_INTERNAL_H
#define DEVICES_VIRTIO_NET_INTERNAL_H

#include <linux/virtio_net.h>
#include <pthread.h>
#include <stddef.h>

#include "devices/virtio/net.h"
#include "devices/virtio/net_backend.h"

#define NET_RXQ 0
#define NET_TXQ 1

/* What the card counts; read by tests, logged when the VMM ends. */
struct net_stats {
	uint64_t rx_frames, rx_bytes; /* delivered to the guest */
	uint64_t tx_frames, tx_bytes; /* taken by the backend */
	uint64_t rx_dropped;	      /* could never fit the guest's buffers */
	uint64_t tx_dropped;	      /* bad chains and frames the backend refused */
};

/* Config space up to and including mtu: no speed, duplex or RSS fields offered. */
#define NET_CONFIG_LEN (offsetof(struct virtio_net_config, mtu) + sizeof(uint16_t))

struct virtio_net {
	char name[16]; /* virtio-net0... */
	struct virtio_dev vdev;
	struct virtio_net_config config;
	struct net_backend *be;
	unsigned int hdr_len; /* guest-side header: net_hdr_len() of the features */
	int stop_fd;	      /* eventfd: the worker is to stop */
	pthread_t thread;
	bool running;
	bool rx_wait_guest;	/* a frame (or the backend) waits for receive buffers */
	bool tx_wait_backend;	/* a send() said NET_SEND_AGAIN */
	bool rx_more, tx_more;	/* the budget ran out: look again without sleeping */
	bool logged_drop;	/* the first drop was logged; the rest are counted */
	struct pollfd *pollfds; /* the worker's: 3 of ours, then the backend's */
	struct vq_chain chain;	/* the worker's scratch chain */
	struct net_stats stats;
};

/* Header bytes in front of every frame in the guest's buffers, both ways. */
unsigned int net_hdr_len(uint64_t features);

/* Device features for a backend: MAC, STATUS, MTU, MRG_RXBUF, and the offloads it can do. */
uint64_t net_device_features(const struct net_backend *be);

/* The NET_OFFLOAD_* bits a backend must turn on for the negotiated @features. */
unsigned int net_rx_offloads(uint64_t features);

/*
 * Make a card on an open backend (taken over: destroyed with the card, also
 * when this fails) with MAC @mac, which must be given;
 * virtio_net_create() is this after opening @opt's backend.
 */
struct virtio_net *net_create_on(struct net_backend *be, const uint8_t mac[6], uint16_t mtu,
				 unsigned int index, const struct guest_mem *mem);

/*
 * Put one frame (vnet header first if the backend has one; else bare) into
 * the receive queue: 1 delivered and published (interrupt not yet sent),
 * 0 when the guest's buffers cannot hold it yet (nothing consumed: chains
 * given back, the driver asked to notify once it posts more), -2 when no buffers the guest could
 * ever post would hold it (the caller drops it), -1 when the queue is broken (NEEDS_RESET set).
 */
int net_rx_frame(struct virtio_net *net, const uint8_t *frame, size_t len);

/*
 * Move frames from the backend into the receive queue until one of them runs
 * out; interrupts the guest if it delivered any. Sets rx_wait_guest when
 * the guest's buffers ran out first.
 */
void net_rx_process(struct virtio_net *net);

/*
 * Send every chain on the transmit queue to the backend; bad chains (a
 * writable buffer, no room for the header, a frame over NET_MAX_FRAME) are
 * returned unsent and counted. Stops with tx_wait_backend set on
 * NET_SEND_AGAIN, the chain left on the ring. Interrupts the guest if it
 * returned any.
 */
void net_tx_process(struct virtio_net *net);

#endif
