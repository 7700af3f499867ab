// SPDX-License-Identifier: MIT
/* NET_STUB: virtio-net, being written. */
#include "core/error.h"
#include "devices/virtio/net_internal.h"

unsigned int net_hdr_len(uint64_t features)
{
	(void)features;
	return 0;
}

uint64_t net_device_features(const struct net_backend *be)
{
	(void)be;
	return 0;
}

unsigned int net_rx_offloads(uint64_t features)
{
	(void)features;
	return 0;
}

void net_default_mac(unsigned int index, uint8_t mac[6])
{
	(void)index;
	(void)mac;
}

struct virtio_net *net_create_on(struct net_backend *be, const uint8_t mac[6], uint16_t mtu,
				 unsigned int index, const struct guest_mem *mem)
{
	(void)be, (void)mac, (void)mtu, (void)index, (void)mem;
	set_error("virtio-net: not yet");
	return NULL;
}

struct virtio_net *virtio_net_create(const struct net_opt *opt, unsigned int index,
				     const struct guest_mem *mem)
{
	(void)opt, (void)index, (void)mem;
	set_error("virtio-net: not yet");
	return NULL;
}

struct virtio_dev *virtio_net_dev(struct virtio_net *net)
{
	return &net->vdev;
}

void virtio_net_destroy(struct virtio_net *net)
{
	(void)net;
}

int net_rx_frame(struct virtio_net *net, const uint8_t *frame, size_t len)
{
	(void)net, (void)frame, (void)len;
	return -1;
}

void net_rx_process(struct virtio_net *net)
{
	(void)net;
}

void net_tx_process(struct virtio_net *net)
{
	(void)net;
}
