/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (VIRTIO 1.2 section 5.1): one receive and one transmit queue,
 * served by one worker thread that moves frames between the guest's rings
 * and a backend (tap or user-mode networking, net_backend.h).
 */
#ifndef DEVICES_VIRTIO_NET_H
#define DEVICES_VIRTIO_NET_H

#include "core/cli.h"
#include "core/memory.h"
#include "devices/virtio/virtio.h"

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
