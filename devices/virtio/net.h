/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (VIRTIO 1.2 section 5.1): one receive and one transmit queue,
 * served by one worker thread that moves frames between the guest's rings
 * and a backend (tap or user-mode networking, net_backend.h).
 */
#ifndef DEVICES_VIRTIO_NET_H
#define DEVICES_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/memory.h"
#include "devices/virtio/net_backend.h"
#include "devices/virtio/virtio.h"

/* --net tap|user[,mac=MAC][,mtu=N][,the backend's own options] */
struct net_opt {
	struct net_backend_opt backend; /* the kind, the MTU and the backend's options */
	bool has_mac;
	uint8_t mac[6]; /* when has_mac; otherwise derived from the card's index */
};

/*
 * Parse @arg (cut up in place; @opt points into it, so it must outlive
 * @opt) into @opt, defaults first. -1 with set_error() naming the problem.
 */
int net_parse_opt(struct net_opt *opt, char *arg);

struct virtio_net;

/*
 * Open the backend @opt names and make the card; @index (0, 1...) numbers
 * the VMM's cards and gives the default MAC. NULL with set_error().
 */
struct virtio_net *virtio_net_create(const struct net_opt *opt, unsigned int index,
				     const struct guest_mem *mem);
struct virtio_dev *virtio_net_dev(struct virtio_net *net);
void virtio_net_destroy(struct virtio_net *net);

/* The MAC of card @index when the user gave none: locally administered, unicast, stable. */
void net_default_mac(unsigned int index, uint8_t mac[6]);

#endif
