/* SPDX-License-Identifier: MIT */
/*
 * The test guest's virtio-net driver (VIRTIO 1.2 section 5.1): one receive
 * and one transmit queue, no control queue.
 *
 * Every frame travels behind the 12-byte struct virtio_net_hdr_v1 (VERSION_1
 * always has num_buffers). Receive buffers of one size are posted at probe
 * and posted again as soon as a frame has been copied out of them; with
 * MRG_RXBUF a frame may span several (num_buffers in the first header),
 * without it each buffer holds a whole frame. Transmit copies the header
 * and frame into a slot of a pool and posts it as one buffer (or two:
 * header and frame, with virtio_net_params.tx_split).
 *
 * Completion is polled or interrupt-driven as for every device (virtio.h:
 * opts.use_irq, virtio_use_irq()). Everything the device returns is
 * checked: the MTU (validate drops the feature below 68), the receive
 * header (flags and GSO type only as negotiated, num_buffers within what
 * was posted and returned together, checksum offsets inside the frame) and
 * the used entries (virtio_ring.h).
 */
#ifndef TESTGUEST_VIRTIO_NET_H
#define TESTGUEST_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio.h"

#define VIRTIO_NET_F_CSUM		 0
#define VIRTIO_NET_F_GUEST_CSUM		 1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU		 3
#define VIRTIO_NET_F_MAC		 5
#define VIRTIO_NET_F_GUEST_TSO4		 7
#define VIRTIO_NET_F_GUEST_TSO6		 8
#define VIRTIO_NET_F_GUEST_ECN		 9
#define VIRTIO_NET_F_GUEST_UFO		 10
#define VIRTIO_NET_F_HOST_TSO4		 11
#define VIRTIO_NET_F_HOST_TSO6		 12
#define VIRTIO_NET_F_HOST_ECN		 13
#define VIRTIO_NET_F_HOST_UFO		 14
#define VIRTIO_NET_F_MRG_RXBUF		 15
#define VIRTIO_NET_F_STATUS		 16
#define VIRTIO_NET_F_CTRL_VQ		 17

/* Config space offsets. */
#define VIRTIO_NET_CFG_MAC	    0  /* u8[6] */
#define VIRTIO_NET_CFG_STATUS	    6  /* u16 */
#define VIRTIO_NET_CFG_MAX_VQ_PAIRS 8  /* u16 */
#define VIRTIO_NET_CFG_MTU	    10 /* u16 */
#define VIRTIO_NET_S_LINK_UP	    1
#define VIRTIO_NET_S_ANNOUNCE	    2

struct virtio_net_hdr_v1 {
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1 /* checksum from csum_start, stored at +csum_offset */
#define VIRTIO_NET_HDR_F_DATA_VALID 2 /* the device checked the checksum (receive) */
#define VIRTIO_NET_HDR_F_RSC_INFO   4
	uint8_t flags;
#define VIRTIO_NET_HDR_GSO_NONE	 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers; /* receive: buffers this frame spans; transmit: 0 */
};

#define VIRTIO_NET_HDR_LEN     12
#define VIRTIO_NET_ETH_HLEN    14
#define VIRTIO_NET_MIN_MTU     68
#define VIRTIO_NET_DEFAULT_MTU 1500
#define VIRTIO_NET_TIMEOUT_NS  (5ULL * 1000 * 1000 * 1000)
/* The largest TCPv4 segment a GSO frame carries: an IPv4 packet at most 64 KiB long. */
#define VIRTIO_NET_GSO_FRAME (VIRTIO_NET_ETH_HLEN + 65535)

/* Set before a probe (they take effect at the next one). Zero: the defaults. */
struct virtio_net_params {
	uint32_t rx_buf_size;  /* bytes per receive buffer, header included (see rx_buf_size()) */
	unsigned int rx_bufs;  /* receive buffers posted (default: the queue size) */
	unsigned int tx_slots; /* transmit buffers (default: the queue size) */
	bool tx_split;	       /* header and frame in two descriptors */
	/*
	 * Negotiate HOST_TSO4 and GUEST_TSO4 (when the device offers them with
	 * CSUM and GUEST_CSUM): TCPv4 frames of up to VIRTIO_NET_GSO_FRAME
	 * bytes both ways, and transmit slots that size.
	 */
	bool tso;
};

extern struct virtio_net_params virtio_net_params;

struct virtio_net_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t rx_errors;  /* frames dropped for a bad header or buffers (reported) */
	uint64_t rx_too_big; /* frames larger than the caller's buffer (dropped) */
	uint64_t config_changes;
};

struct virtio_net {
	struct virtio_device *vdev;
	struct virtqueue *rx, *tx;
	uint8_t mac[6];
	uint16_t mtu;	       /* from the config with MTU, else 1500 */
	uint16_t max_vq_pairs; /* as read (only one pair is used) */
	bool mrg_rxbuf;
	bool tso; /* HOST_TSO4 and GUEST_TSO4 negotiated */

	uint8_t *rx_bufs; /* rx_count buffers of rx_buf_size bytes */
	uint32_t rx_buf_size;
	unsigned int rx_count;
	uint8_t *tx_bufs; /* tx_count slots of tx_slot_size bytes */
	uint32_t tx_slot_size;
	unsigned int tx_count;
	uint16_t *tx_free; /* stack of free slot numbers */
	unsigned int tx_nr_free;
	uint64_t timeout_ns; /* of virtio_net_send() waiting for a free slot */
	struct virtio_net_stats stats;
};

extern struct virtio_driver virtio_net_driver;

void virtio_net_register(void);
/*
 * The @n-th virtio-net device bound to this driver, or NULL. Every probe
 * makes a new struct virtio_net: look it up again after a reprobe.
 */
struct virtio_net *virtio_net_get(unsigned int n);
struct virtio_net *virtio_net_of(struct virtio_device *vdev);

/* Link up? (Always, without VIRTIO_NET_F_STATUS.) */
bool virtio_net_link_up(struct virtio_net *net);

/*
 * Send one Ethernet frame behind @hdr (NULL: all zero; num_buffers is
 * always sent as 0). Reclaims finished slots first and waits (up to
 * net->timeout_ns) when none is free. @flags: VIRTIO_NET_TX_NO_KICK to
 * batch (then virtio_net_kick()). 0, or -VIRTIO_E2BIG (longer than the MTU
 * allows), -VIRTIO_EINVAL (NEEDS_CSUM without CSUM negotiated),
 * -VIRTIO_ETIMEDOUT, -VIRTIO_EBROKEN.
 */
#define VIRTIO_NET_TX_NO_KICK 1
int virtio_net_send(struct virtio_net *net, const void *frame, uint32_t len,
		    const struct virtio_net_hdr_v1 *hdr, unsigned int flags);
bool virtio_net_kick(struct virtio_net *net);
/* Take back finished transmit slots; returns how many. */
unsigned int virtio_net_tx_reclaim(struct virtio_net *net);

/*
 * Receive one frame into @frame (at most @cap bytes), its header into @hdr
 * (may be NULL), waiting up to @timeout_ns (0: only what is there). Returns
 * the frame's length, or -VIRTIO_ETIMEDOUT, -VIRTIO_E2BIG (larger than @cap:
 * dropped), -VIRTIO_EBROKEN (a bad header or buffer: dropped and reported).
 * The buffers go back to the device either way.
 */
int virtio_net_recv(struct virtio_net *net, void *frame, uint32_t cap,
		    struct virtio_net_hdr_v1 *hdr, uint64_t timeout_ns);

#endif
