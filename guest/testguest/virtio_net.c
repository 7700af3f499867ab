// SPDX-License-Identifier: MIT
/*
 * virtio-net, driver side: validate and probe, receive buffers posted and
 * reposted, frames received with num_buffers handling and every header
 * field checked, frames sent from a pool of slots.
 */
#include "virtio_net.h"
#include "rt.h"

struct virtio_net_params virtio_net_params;

#define VLAN_HLEN 4

static const unsigned int net_features[] = {
    VIRTIO_NET_F_MAC,  VIRTIO_NET_F_STATUS,	VIRTIO_NET_F_MTU,	VIRTIO_NET_F_MRG_RXBUF,
    VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_GUEST_TSO4,
};

static const struct virtio_feature_name net_feature_names[] = {
    {VIRTIO_NET_F_CSUM, "csum"},
    {VIRTIO_NET_F_GUEST_CSUM, "guest_csum"},
    {VIRTIO_NET_F_CTRL_GUEST_OFFLOADS, "ctrl_guest_offloads"},
    {VIRTIO_NET_F_MTU, "mtu"},
    {VIRTIO_NET_F_MAC, "mac"},
    {VIRTIO_NET_F_GUEST_TSO4, "guest_tso4"},
    {VIRTIO_NET_F_GUEST_TSO6, "guest_tso6"},
    {VIRTIO_NET_F_GUEST_ECN, "guest_ecn"},
    {VIRTIO_NET_F_GUEST_UFO, "guest_ufo"},
    {VIRTIO_NET_F_HOST_TSO4, "host_tso4"},
    {VIRTIO_NET_F_HOST_TSO6, "host_tso6"},
    {VIRTIO_NET_F_HOST_ECN, "host_ecn"},
    {VIRTIO_NET_F_HOST_UFO, "host_ufo"},
    {VIRTIO_NET_F_MRG_RXBUF, "mrg_rxbuf"},
    {VIRTIO_NET_F_STATUS, "status"},
    {VIRTIO_NET_F_CTRL_VQ, "ctrl_vq"},
    {0, NULL},
};

static const struct virtio_device_id net_ids[] = {
    {VIRTIO_ID_NET, VIRTIO_DEV_ANY_ID},
    {0, 0},
};

#define RX_QUEUE 0
#define TX_QUEUE 1

/*
 * TSO only when asked for (virtio_net_params.tso), and only with the
 * checksum offloads it depends on (5.1.3.1), both ways or neither.
 */
static void validate_tso(struct virtio_device *vdev)
{
	if (!virtio_net_params.tso || !virtio_has_feature(vdev, VIRTIO_NET_F_CSUM) ||
	    !virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_CSUM) ||
	    !virtio_has_feature(vdev, VIRTIO_NET_F_HOST_TSO4) ||
	    !virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_TSO4)) {
		__virtio_clear_bit(vdev, VIRTIO_NET_F_HOST_TSO4);
		__virtio_clear_bit(vdev, VIRTIO_NET_F_GUEST_TSO4);
	}
}

/* A device MTU below the minimum IPv4 needs is nonsense: do without the feature. */
static int net_validate(struct virtio_device *vdev)
{
	validate_tso(vdev);
	if (virtio_has_feature(vdev, VIRTIO_NET_F_MTU)) {
		uint16_t mtu = virtio_cread16(vdev, VIRTIO_NET_CFG_MTU);

		if (mtu < VIRTIO_NET_MIN_MTU) {
			tg_printf("virtio: %s: virtio_net: MTU %u: not using feature %u\n",
				  vdev->name, mtu, VIRTIO_NET_F_MTU);
			__virtio_clear_bit(vdev, VIRTIO_NET_F_MTU);
		}
	}
	return 0;
}

static uint32_t round_up64(uint32_t x)
{
	return (x + 63) & ~63u;
}

/* The largest frame the driver sends or must be able to receive. */
static uint32_t max_frame(const struct virtio_net *net)
{
	if (net->tso)
		return VIRTIO_NET_GSO_FRAME;
	return VIRTIO_NET_ETH_HLEN + VLAN_HLEN + net->mtu;
}

/*
 * Receive buffers: with MRG_RXBUF any size that holds a header (2 KiB by
 * default, smaller to make frames span buffers); without, each must hold
 * the largest frame (5.1.6.3.1).
 */
static uint32_t rx_buf_size(const struct virtio_net *net)
{
	uint32_t whole = round_up64(VIRTIO_NET_HDR_LEN + max_frame(net));
	uint32_t want = virtio_net_params.rx_buf_size;

	if (net->mrg_rxbuf)
		return want ? TG_MAX(want, (uint32_t)VIRTIO_NET_HDR_LEN) : 2048;
	return TG_MAX(want, whole);
}

static bool post_rx(struct virtio_net *net, uint8_t *buf)
{
	struct virtio_sg sg = virtio_sg_buf(buf, net->rx_buf_size);
	int err = virtqueue_add(net->rx, &sg, 0, 1, buf, VQ_DIRECT);

	if (err < 0)
		virtqueue_report(net->rx, "cannot post a receive buffer: %s", virtio_strerror(err));
	return err >= 0;
}

static void setup_rx(struct virtio_net *net)
{
	unsigned int n = virtio_net_params.rx_bufs;

	net->rx_count = n && n < net->rx->vring.num ? n : net->rx->vring.num;
	net->rx_buf_size = rx_buf_size(net);
	net->rx_bufs = tg_alloc((size_t)net->rx_count * net->rx_buf_size, 64);
	for (unsigned int i = 0; i < net->rx_count; i++)
		post_rx(net, net->rx_bufs + (size_t)i * net->rx_buf_size);
}

/* Split slots take two descriptors each unless they go indirect. */
static void setup_tx(struct virtio_net *net)
{
	unsigned int num = net->tx->vring.num, n = virtio_net_params.tx_slots;

	if (virtio_net_params.tx_split && !net->tx->indirect && num > 1)
		num /= 2;
	net->tx_count = n && n < num ? n : num;
	net->tx_slot_size = round_up64(VIRTIO_NET_HDR_LEN + max_frame(net));
	net->tx_bufs = tg_alloc((size_t)net->tx_count * net->tx_slot_size, 64);
	net->tx_free = tg_alloc(net->tx_count * sizeof(*net->tx_free), 8);
	for (unsigned int i = 0; i < net->tx_count; i++)
		net->tx_free[i] = (uint16_t)i;
	net->tx_nr_free = net->tx_count;
}

static void read_config(struct virtio_net *net)
{
	struct virtio_device *vdev = net->vdev;

	if (virtio_has_feature(vdev, VIRTIO_NET_F_MAC)) {
		virtio_cread(vdev, VIRTIO_NET_CFG_MAC, net->mac, sizeof(net->mac));
	} else {
		/* Locally administered, unicast, one per device. */
		net->mac[0] = 0x02;
		net->mac[5] = (uint8_t)vdev->index;
	}
	net->mtu = virtio_has_feature(vdev, VIRTIO_NET_F_MTU)
		       ? virtio_cread16(vdev, VIRTIO_NET_CFG_MTU)
		       : VIRTIO_NET_DEFAULT_MTU;
	net->max_vq_pairs = 1;
	net->mrg_rxbuf = virtio_has_feature(vdev, VIRTIO_NET_F_MRG_RXBUF);
	net->tso = virtio_has_feature(vdev, VIRTIO_NET_F_HOST_TSO4);
}

static int net_probe(struct virtio_device *vdev)
{
	struct virtio_net *net = tg_alloc(sizeof(*net), 64);

	memset(net, 0, sizeof(*net));
	net->vdev = vdev;
	net->timeout_ns = VIRTIO_NET_TIMEOUT_NS;
	vdev->priv = net;
	read_config(net);
	net->rx = virtio_find_vq(vdev, RX_QUEUE, NULL, "rx");
	if (!net->rx)
		return vdev->probe_err;
	net->tx = virtio_find_vq(vdev, TX_QUEUE, NULL, "tx");
	if (!net->tx)
		return vdev->probe_err;
	/* Posted now, announced in scan: no notification before DRIVER_OK (3.1.1). */
	setup_rx(net);
	setup_tx(net);
	return 0;
}

static void net_scan(struct virtio_device *vdev)
{
	struct virtio_net *net = vdev->priv;

	virtqueue_kick(net->rx);
}

static void net_config_changed(struct virtio_device *vdev)
{
	struct virtio_net *net = vdev->priv;

	if (net)
		net->stats.config_changes++;
}

struct virtio_driver virtio_net_driver = {
    .name = "virtio_net",
    .id_table = net_ids,
    .feature_table = net_features,
    .feature_table_size = TG_ARRAY_SIZE(net_features),
    .feature_names = net_feature_names,
    .validate = net_validate,
    .probe = net_probe,
    .scan = net_scan,
    .config_changed = net_config_changed,
};

void virtio_net_register(void)
{
	virtio_register_driver(&virtio_net_driver);
}

struct virtio_net *virtio_net_of(struct virtio_device *vdev)
{
	return vdev && vdev->driver == &virtio_net_driver ? vdev->priv : NULL;
}

struct virtio_net *virtio_net_get(unsigned int n)
{
	struct virtio_device *vdev;

	for (unsigned int i = 0; (vdev = virtio_find_device(VIRTIO_ID_NET, i)); i++)
		if (virtio_net_of(vdev) && n-- == 0)
			return vdev->priv;
	return NULL;
}

bool virtio_net_link_up(struct virtio_net *net)
{
	if (!virtio_has_feature(net->vdev, VIRTIO_NET_F_STATUS))
		return true;
	return virtio_cread16(net->vdev, VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP;
}

/* Transmit. */

unsigned int virtio_net_tx_reclaim(struct virtio_net *net)
{
	unsigned int n = 0;
	uint8_t *slot;

	while ((slot = virtqueue_get_buf(net->tx, NULL))) {
		net->tx_free[net->tx_nr_free++] =
		    (uint16_t)((slot - net->tx_bufs) / net->tx_slot_size);
		n++;
	}
	return n;
}

bool virtio_net_kick(struct virtio_net *net)
{
	return virtqueue_kick(net->tx);
}

static uint64_t time_left(uint64_t start, uint64_t timeout_ns)
{
	uint64_t spent = start ? tg_ns() - start : 0;

	return spent >= timeout_ns ? 0 : timeout_ns - spent;
}

/* A free slot, waiting for the device to finish one if need be. */
static int take_slot(struct virtio_net *net, uint8_t **slot)
{
	uint64_t start = tg_ns();

	virtio_net_tx_reclaim(net);
	while (!net->tx_nr_free) {
		uint64_t left = time_left(start, net->timeout_ns);
		int err;

		if (!left)
			return -VIRTIO_ETIMEDOUT;
		/* Frames held back by VIRTIO_NET_TX_NO_KICK must go before we wait for them. */
		virtqueue_kick(net->tx);
		err = virtio_wait_used(net->tx, left);
		if (err)
			return err;
		virtio_net_tx_reclaim(net);
	}
	*slot = net->tx_bufs + (size_t)net->tx_free[--net->tx_nr_free] * net->tx_slot_size;
	return 0;
}

static int check_tx(const struct virtio_net *net, uint32_t len, const struct virtio_net_hdr_v1 *hdr)
{
	struct virtio_device *vdev = net->vdev;

	bool gso = hdr && hdr->gso_type != VIRTIO_NET_HDR_GSO_NONE;

	if (len > net->tx_slot_size - VIRTIO_NET_HDR_LEN ||
	    (!gso && virtio_has_feature(vdev, VIRTIO_NET_F_MTU) &&
	     len > VIRTIO_NET_ETH_HLEN + (uint32_t)net->mtu))
		return -VIRTIO_E2BIG;
	if (hdr && (hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    !virtio_has_feature(vdev, VIRTIO_NET_F_CSUM))
		return -VIRTIO_EINVAL;
	/* A GSO frame leaves its checksum to the device (5.1.6.2.1). */
	if (gso && (hdr->gso_type != VIRTIO_NET_HDR_GSO_TCPV4 || !net->tso ||
		    !(hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)))
		return -VIRTIO_EINVAL;
	return 0;
}

int virtio_net_send(struct virtio_net *net, const void *frame, uint32_t len,
		    const struct virtio_net_hdr_v1 *hdr, unsigned int flags)
{
	struct virtio_net_hdr_v1 h = {0};
	struct virtio_sg sg[2];
	uint8_t *slot;
	int err;

	err = check_tx(net, len, hdr);
	err = err ?: take_slot(net, &slot);
	if (err)
		return err;
	if (hdr)
		h = *hdr;
	h.num_buffers = 0;
	memcpy(slot, &h, VIRTIO_NET_HDR_LEN);
	memcpy(slot + VIRTIO_NET_HDR_LEN, frame, len);
	if (virtio_net_params.tx_split) {
		sg[0] = virtio_sg_buf(slot, VIRTIO_NET_HDR_LEN);
		sg[1] = virtio_sg_buf(slot + VIRTIO_NET_HDR_LEN, len);
		err = virtqueue_add(net->tx, sg, 2, 0, slot, VQ_AUTO);
	} else {
		sg[0] = virtio_sg_buf(slot, VIRTIO_NET_HDR_LEN + len);
		err = virtqueue_add(net->tx, sg, 1, 0, slot, VQ_DIRECT);
	}
	if (err < 0) {
		net->tx_free[net->tx_nr_free++] =
		    (uint16_t)((slot - net->tx_bufs) / net->tx_slot_size);
		return err;
	}
	net->stats.tx_frames++;
	net->stats.tx_bytes += len;
	if (!(flags & VIRTIO_NET_TX_NO_KICK) && !virtqueue_kick(net->tx))
		return -VIRTIO_EBROKEN;
	return 0;
}

/* Receive. */

__attribute__((format(printf, 2, 3))) static int rx_bad(struct virtio_net *net, const char *fmt,
							...)
{
	char msg[96];
	va_list ap;

	va_start(ap, fmt);
	tg_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	net->stats.rx_errors++;
	virtqueue_report(net->rx, "%s", msg);
	return -VIRTIO_EBROKEN;
}

/* Header fields the device may set only as negotiated (5.1.6.4.1). */
static int check_rx_hdr(struct virtio_net *net, const struct virtio_net_hdr_v1 *h, uint32_t len)
{
	bool guest_csum = virtio_has_feature(net->vdev, VIRTIO_NET_F_GUEST_CSUM);
	const uint8_t csum_flags = VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;

	if (len < VIRTIO_NET_ETH_HLEN)
		return rx_bad(net, "frame of %u bytes", len);
	if (h->flags & ~csum_flags)
		return rx_bad(net, "header flags 0x%x", h->flags);
	if ((h->flags & csum_flags) && !guest_csum)
		return rx_bad(net, "header flags 0x%x without GUEST_CSUM", h->flags);
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE &&
	    (h->gso_type != VIRTIO_NET_HDR_GSO_TCPV4 || !net->tso))
		return rx_bad(net, "gso_type %u, %s", h->gso_type,
			      net->tso ? "only TCPv4 negotiated" : "no GUEST_TSO negotiated");
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (uint32_t)h->csum_start + h->csum_offset + 2 > len)
		return rx_bad(net, "checksum at %u+%u outside a frame of %u bytes", h->csum_start,
			      h->csum_offset, len);
	return 0;
}

/* How many buffers the frame spans, checked against what can be. 0 when impossible. */
static unsigned int rx_nr_buffers(struct virtio_net *net, const struct virtio_net_hdr_v1 *h)
{
	if (!net->mrg_rxbuf) {
		/* The device must say 1 (5.1.6.4.1); anything else is reported, then ignored. */
		if (h->num_buffers != 1)
			rx_bad(net, "num_buffers %u without MRG_RXBUF", h->num_buffers);
		return 1;
	}
	if (h->num_buffers < 1 || h->num_buffers > net->rx_count) {
		rx_bad(net, "num_buffers %u with %u buffers posted", h->num_buffers, net->rx_count);
		return 0;
	}
	return h->num_buffers;
}

/* Copy what fits of @len bytes at @src to @frame + *@total; count them all. */
static void gather(uint8_t *frame, uint32_t cap, uint32_t *total, const uint8_t *src, uint32_t len)
{
	if (*total < cap)
		memcpy(frame + *total, src, TG_MIN(len, cap - *total));
	*total += len;
}

/* The rest of a merged frame: returned together with its first buffer, or not at all. */
static int gather_rest(struct virtio_net *net, unsigned int nbufs, uint8_t *frame, uint32_t cap,
		       uint32_t *total)
{
	for (unsigned int i = 1; i < nbufs; i++) {
		uint8_t *buf;
		uint32_t len;

		if (!virtqueue_more_used(net->rx))
			return rx_bad(net, "num_buffers %u, but only %u buffers returned", nbufs,
				      i);
		buf = virtqueue_get_buf(net->rx, &len);
		if (!buf)
			return -VIRTIO_EBROKEN;
		gather(frame, cap, total, buf, len);
		post_rx(net, buf);
	}
	return 0;
}

static int take_frame(struct virtio_net *net, uint8_t *first, uint32_t len, uint8_t *frame,
		      uint32_t cap, struct virtio_net_hdr_v1 *hdr)
{
	struct virtio_net_hdr_v1 h;
	unsigned int nbufs;
	uint32_t total = 0;
	int err;

	if (len < VIRTIO_NET_HDR_LEN) {
		post_rx(net, first);
		return rx_bad(net, "used len %u, shorter than the header", len);
	}
	memcpy(&h, first, VIRTIO_NET_HDR_LEN);
	gather(frame, cap, &total, first + VIRTIO_NET_HDR_LEN, len - VIRTIO_NET_HDR_LEN);
	post_rx(net, first);
	nbufs = rx_nr_buffers(net, &h);
	if (!nbufs)
		return -VIRTIO_EBROKEN;
	err = gather_rest(net, nbufs, frame, cap, &total);
	if (err)
		return err;
	if (total > cap) {
		net->stats.rx_too_big++;
		return -VIRTIO_E2BIG;
	}
	err = check_rx_hdr(net, &h, total);
	if (err)
		return err;
	if (hdr)
		*hdr = h;
	net->stats.rx_frames++;
	net->stats.rx_bytes += total;
	return (int)total;
}

int virtio_net_recv(struct virtio_net *net, void *frame, uint32_t cap,
		    struct virtio_net_hdr_v1 *hdr, uint64_t timeout_ns)
{
	uint8_t *buf;
	uint32_t len;
	int ret;

	if (!virtqueue_more_used(net->rx)) {
		ret = timeout_ns ? virtio_wait_used(net->rx, timeout_ns) : -VIRTIO_ETIMEDOUT;
		if (ret)
			return ret;
	}
	buf = virtqueue_get_buf(net->rx, &len);
	if (!buf)
		return -VIRTIO_EBROKEN;
	ret = take_frame(net, buf, len, frame, cap, hdr);
	/* The buffers went back on the ring: tell the device if it is waiting for some. */
	virtqueue_kick(net->rx);
	return ret;
}
