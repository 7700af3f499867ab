// SPDX-License-Identifier: MIT
/*
 * virtio-net: the device model. Config space and features at create time;
 * one worker thread moves frames both ways between the guest's two queues
 * and the backend. Every chain comes from the guest and is checked here
 * before a backend sees a byte of it.
 *
 * Receive: a frame is taken from the backend only when the guest has posted
 * a buffer, and it stays the backend's until the guest's buffers hold it
 * whole: with MRG_RXBUF it may be spread over several chains, published
 * together with their count in the first header's num_buffers.
 */
#include <endian.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/error.h"
#include "core/trace.h"
#include "core/log.h"
#include "core/options.h"
#include "core/util.h"
#include "devices/virtio/iov.h"
#include "devices/virtio/net_internal.h"

/* Frames moved each way before the worker looks at the other direction. */
#define NET_BUDGET 256

/* Where num_buffers sits in struct virtio_net_hdr_v1. */
#define NET_NUM_BUFFERS_OFF offsetof(struct virtio_net_hdr_v1, num_buffers)

unsigned int net_hdr_len(uint64_t features)
{
	/* Only the legacy layout without merged buffers lacks num_buffers (5.1.6.1). */
	if (features & (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF)))
		return sizeof(struct virtio_net_hdr_v1);
	return sizeof(struct virtio_net_hdr);
}

uint64_t net_device_features(const struct net_backend *be)
{
	uint64_t f = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_MTU) |
		     BIT(VIRTIO_NET_F_MRG_RXBUF);

	/* A backend that takes the header takes partial checksums and GSO frames. */
	if (be->vnet_hdr)
		f |= BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) |
		     BIT(VIRTIO_NET_F_HOST_TSO6);
	/* Handing them to the guest needs the backend's consent (5.1.3.1: TSO needs CSUM). */
	if (be->offloads & NET_OFFLOAD_CSUM) {
		f |= BIT(VIRTIO_NET_F_GUEST_CSUM);
		if (be->offloads & NET_OFFLOAD_TSO4)
			f |= BIT(VIRTIO_NET_F_GUEST_TSO4);
		if (be->offloads & NET_OFFLOAD_TSO6)
			f |= BIT(VIRTIO_NET_F_GUEST_TSO6);
	}
	return f;
}

unsigned int net_rx_offloads(uint64_t features)
{
	unsigned int o;

	/* A driver that took TSO without checksums broke 5.1.3.1: give it neither. */
	if (!(features & BIT(VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	o = NET_OFFLOAD_CSUM;
	if (features & BIT(VIRTIO_NET_F_GUEST_TSO4))
		o |= NET_OFFLOAD_TSO4;
	if (features & BIT(VIRTIO_NET_F_GUEST_TSO6))
		o |= NET_OFFLOAD_TSO6;
	return o;
}

void net_default_mac(unsigned int index, uint8_t mac[6])
{
	/* 0x02: locally administered, unicast; then "vm" and the card's number. */
	static const uint8_t prefix[4] = {0x02, 'v', 'm', 0x00};

	memcpy(mac, prefix, sizeof(prefix));
	mac[4] = (uint8_t)(index >> 8);
	mac[5] = (uint8_t)index;
}

static struct virtqueue *net_vq(struct virtio_net *net, unsigned int q)
{
	return &net->vdev.vqs[q];
}

/* A chain no correct driver posts: the queue is unusable until a reset. */
static int net_break(struct virtio_net *net, unsigned int q, const char *why)
{
	struct virtqueue *vq = net_vq(net, q);

	vq->broken = true;
	vq->broken_why = why;
	virtio_needs_reset(&net->vdev, why);
	return -1;
}

/* What the guest's header says when the backend gave none: nothing to offload. */
static void zero_header(struct virtio_net_hdr_v1 *hdr)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->gso_type = VIRTIO_NET_HDR_GSO_NONE;
}

/*
 * The frame as the guest gets it: header then payload, two pieces. The
 * header comes from the backend's frame when it has one.
 */
static int rx_source(struct virtio_net *net, const uint8_t *frame, size_t len,
		     struct virtio_net_hdr_v1 *hdr, struct iovec src[2])
{
	zero_header(hdr);
	if (net->be->vnet_hdr) {
		if (len < NET_VNET_HDR_LEN)
			return -1;
		/* num_buffers is ours to fill in: take the fields before it. */
		memcpy(hdr, frame, NET_NUM_BUFFERS_OFF);
		frame += NET_VNET_HDR_LEN;
		len -= NET_VNET_HDR_LEN;
	}
	if (len > NET_MAX_FRAME)
		return -1;
	src[0] = (struct iovec){hdr, net->hdr_len};
	src[1] = (struct iovec){(void *)frame, len};
	return 0;
}

/* Copy bytes [@off, @off + room of @c) of the two-piece source into chain @c. */
static size_t rx_copy(const struct iovec src[2], size_t off, const struct vq_chain *c)
{
	const struct iovec *in = c->iov + c->nr_out;
	size_t done = 0;

	for (unsigned int i = 0; i < 2; i++) {
		size_t n;

		if (off >= src[i].iov_len) {
			off -= src[i].iov_len;
			continue;
		}
		n = iov_from_buf(in, c->nr_in, done, (uint8_t *)src[i].iov_base + off,
				 src[i].iov_len - off);
		done += n;
		off = 0;
		if (done == c->in_len)
			break;
	}
	return done;
}

/* num_buffers, once known, into the first chain's header (it may straddle buffers). */
static void set_num_buffers(struct virtio_net *net, struct iovec *first, unsigned int cnt,
			    uint16_t n)
{
	uint16_t le = htole16(n);

	if (net->hdr_len >= sizeof(struct virtio_net_hdr_v1))
		iov_from_buf(first, cnt, NET_NUM_BUFFERS_OFF, &le, sizeof(le));
}

/* Check a receive chain before writing into it. */
static int rx_check_chain(struct virtio_net *net, const struct vq_chain *c)
{
	if (c->nr_out)
		return net_break(net, NET_RXQ, "receive chain with a device-readable buffer");
	if (c->in_len < net->hdr_len)
		return net_break(net, NET_RXQ, "receive chain smaller than the header");
	return 0;
}

int net_rx_frame(struct virtio_net *net, const uint8_t *frame, size_t len)
{
	bool mrg = virtio_has_feature(&net->vdev, VIRTIO_NET_F_MRG_RXBUF);
	struct virtqueue *vq = net_vq(net, NET_RXQ);
	struct vq_chain *c = &net->chain;
	struct virtio_net_hdr_v1 hdr;
	struct iovec src[2], first[NET_VNET_HDR_LEN];
	unsigned int nr_first = 0;
	size_t total, done = 0;
	uint16_t n = 0;

	if (rx_source(net, frame, len, &hdr, src) < 0)
		return -2;
	total = src[0].iov_len + src[1].iov_len;
	while (done < total) {
		size_t put;
		int r;

		/*
		 * A ring's worth of buffers and the frame still not in: a
		 * driver re-posting while we merge could feed us chains for
		 * ever, and used slots past the ring would overwrite ours.
		 */
		if (n == vq->size) {
			vq_unpop(vq, n);
			return -2;
		}
		r = vq_pop(vq, c);

		if (r < 0)
			return net_break(net, NET_RXQ, vq->broken_why);
		if (r == 0) {
			/*
			 * Ask for a notify past the buffers we hold (and look
			 * again if the driver posted meanwhile): giving them back
			 * must not lower avail_event, or we would sleep for ever.
			 */
			if (vq_set_notify(vq, true))
				continue;
			vq_unpop(vq, n);
			/* Every buffer the ring can hold is ours and still too few. */
			return n == vq->size ? -2 : 0;
		}
		if (rx_check_chain(net, c) < 0)
			return -1;
		if (!mrg && c->in_len < total) {
			vq_unpop(vq, 1);
			return -2;
		}
		if (n == 0) {
			/* The header's buffers: enough iovecs to cover 12 bytes at least. */
			nr_first = MIN(c->nr_in, ARRAY_SIZE(first));
			memcpy(first, c->iov + c->nr_out, nr_first * sizeof(first[0]));
		}
		put = rx_copy(src, done, c);
		vq_fill(vq, n++, c->head, (uint32_t)put);
		done += put;
	}
	set_num_buffers(net, first, nr_first, n);
	vq_flush(vq, n);
	net->stats.rx_frames++;
	net->stats.rx_bytes += src[1].iov_len;
	return 1;
}

/* Log the first of a kind of drop per card: a hostile guest must not flood the log. */
static void net_drop(struct virtio_net *net, uint64_t *counter, const char *what)
{
	if (!net->logged_drop)
		vmm_log("%s: %s (further drops are only counted)", net->vdev.name, what);
	net->logged_drop = true;
	(*counter)++;
}

/*
 * No buffer for the next frame: sleep until the driver posts some, asking it
 * to notify. False when it posted meanwhile and the caller must look again.
 */
static bool rx_wait_for_guest(struct virtio_net *net)
{
	if (vq_set_notify(net_vq(net, NET_RXQ), true))
		return false;
	net->rx_wait_guest = true;
	return true;
}

/* One frame from the backend into the ring: false when the worker must wait. */
static bool rx_one(struct virtio_net *net, unsigned int *delivered)
{
	struct net_backend *be = net->be;
	const uint8_t *frame;
	size_t len;
	int r;

	if (!vq_has_avail(net_vq(net, NET_RXQ)))
		return !rx_wait_for_guest(net);
	r = be->ops->peek(be, &frame, &len);
	if (r <= 0) {
		/* The backend's fd wakes us; the guest's notifies are not needed now. */
		vq_set_notify(net_vq(net, NET_RXQ), false);
		return false;
	}
	r = net_rx_frame(net, frame, len);
	if (r == 0)
		net->rx_wait_guest = true; /* notifies were asked for past the held buffers */
	if (r == 0 || r == -1)
		return false;
	if (r == -2)
		net_drop(net, &net->stats.rx_dropped, "frame larger than the receive buffers");
	else
		(*delivered)++;
	be->ops->consume(be);
	return true;
}

void net_rx_process(struct virtio_net *net)
{
	struct virtqueue *vq = net_vq(net, NET_RXQ);
	unsigned int delivered = 0, i;

	net->rx_wait_guest = false;
	if (!vq->ready || vq->broken || virtio_is_broken(&net->vdev)) {
		net->rx_wait_guest = true; /* nothing to fill: leave the backend unread */
		return;
	}
	for (i = 0; i < NET_BUDGET && rx_one(net, &delivered); i++)
		;
	net->rx_more = i == NET_BUDGET;
	if (delivered)
		virtio_queue_interrupt(&net->vdev, NET_RXQ);
}

/*
 * Why the driver's header cannot go with a frame of @len bytes, or NULL:
 * only offloads it negotiated (5.1.6.2), a checksum to fill in inside the
 * frame, a segmentation with its checksum and a segment size (5.1.6.2.1),
 * headers no longer than the frame. The tap's kernel would trust it.
 */
static const char *tx_check_hdr(const struct virtio_net *net, const struct virtio_net_hdr_v1 *h,
				uint64_t len)
{
	const struct virtio_dev *vdev = &net->vdev;
	uint16_t csum_start = le16toh(h->csum_start), csum_offset = le16toh(h->csum_offset);

	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return "transmit header with flags a driver may not set";
	if (h->flags && (!virtio_has_feature(vdev, VIRTIO_NET_F_CSUM) ||
			 (uint64_t)csum_start + csum_offset + sizeof(uint16_t) > len))
		return "transmit header asks for a checksum it may not have or outside the frame";
	switch (h->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE: return NULL;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!virtio_has_feature(vdev, VIRTIO_NET_F_HOST_TSO4))
			return "transmit header asks for TSO4, not negotiated";
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!virtio_has_feature(vdev, VIRTIO_NET_F_HOST_TSO6))
			return "transmit header asks for TSO6, not negotiated";
		break;
	default: return "transmit header with a segmentation type not offered";
	}
	if (!h->flags || !h->gso_size || le16toh(h->hdr_len) > len)
		return "transmit header's segmentation lacks its checksum, segment size or headers";
	return NULL;
}

/* Why a transmit chain cannot be sent, or NULL when it can. */
static const char *tx_check_chain(const struct virtio_net *net, const struct vq_chain *c)
{
	struct virtio_net_hdr_v1 h = {0};

	if (c->nr_in)
		return "transmit chain with a device-writable buffer";
	if (c->out_len < net->hdr_len + ETH_HLEN)
		return "transmit chain smaller than the header and an Ethernet header";
	if (c->out_len - net->hdr_len > NET_MAX_FRAME)
		return "transmit frame larger than 64 KiB";
	/* One copy: the guest may rewrite its buffer after we looked. */
	iov_to_buf(c->iov, c->nr_out, 0, &h, MIN(net->hdr_len, sizeof(h)));
	return tx_check_hdr(net, &h, c->out_len - net->hdr_len);
}

/* Hand one chain to the backend, the header stripped when it takes bare frames. */
static enum net_send_result tx_one(struct virtio_net *net, struct vq_chain *c)
{
	const char *bad = tx_check_chain(net, c);
	struct iovec *iov = c->iov;
	unsigned int cnt = c->nr_out;
	enum net_send_result r;

	if (bad) {
		net_drop(net, &net->stats.tx_dropped, bad);
		return NET_SEND_FAILED;
	}
	if (!net->be->vnet_hdr)
		iov_advance(&iov, &cnt, net->hdr_len);
	r = net->be->ops->send(net->be, iov, cnt);
	if (r == NET_SENT) {
		net->stats.tx_frames++;
		net->stats.tx_bytes += c->out_len - net->hdr_len;
	} else if (r == NET_SEND_FAILED) {
		net_drop(net, &net->stats.tx_dropped, "the backend refused a frame");
	}
	return r;
}

/* Send what the driver posted; false when the backend is full or the ring broke. */
static bool tx_pop_all(struct virtio_net *net, unsigned int *sent)
{
	struct virtqueue *vq = net_vq(net, NET_TXQ);
	struct vq_chain *c = &net->chain;
	int r;

	while (*sent < NET_BUDGET && (r = vq_pop(vq, c)) == 1) {
		if (tx_one(net, c) == NET_SEND_AGAIN) {
			vq_unpop(vq, 1);
			net->tx_wait_backend = true;
			return false;
		}
		/* The device writes nothing into a transmit chain (5.1.6.2). */
		vq_push(vq, c->head, 0);
		(*sent)++;
	}
	if (*sent == NET_BUDGET) {
		net->tx_more = true;
		return false;
	}
	if (r < 0) {
		virtio_needs_reset(&net->vdev, vq->broken_why);
		return false;
	}
	return true;
}

void net_tx_process(struct virtio_net *net)
{
	struct virtqueue *vq = net_vq(net, NET_TXQ);
	unsigned int sent = 0;

	net->tx_wait_backend = false;
	net->tx_more = false;
	if (!vq->ready || vq->broken || virtio_is_broken(&net->vdev))
		return;
	/* Notifies off while we look; back on (and look again) before sleeping. */
	do {
		vq_set_notify(vq, false);
		if (!tx_pop_all(net, &sent))
			break;
	} while (vq_set_notify(vq, true));
	if (sent)
		virtio_queue_interrupt(&net->vdev, NET_TXQ);
}

/* Drain an eventfd that poll() reported readable. */
static void drain(int fd)
{
	eventfd_t count;

	eventfd_read(fd, &count);
}

static void *net_worker(void *arg)
{
	struct virtio_net *net = arg;
	struct net_backend *be = net->be;
	struct pollfd *pfd = net->pollfds;

	trace_thread("%s", net->vdev.name);
	for (;;) {
		bool want_rx;
		unsigned int n = 3;
		int timeout = -1;

		net_tx_process(net);
		net_rx_process(net);
		want_rx = !net->rx_wait_guest;
		pfd[0] = (struct pollfd){.fd = net->stop_fd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = net->vdev.notify_fd[NET_RXQ], .events = POLLIN};
		pfd[2] = (struct pollfd){.fd = net->vdev.notify_fd[NET_TXQ], .events = POLLIN};
		n += be->ops->poll_fill(be, pfd + 3, be->max_pollfds, want_rx, net->tx_wait_backend,
					&timeout);
		if (net->rx_more || net->tx_more)
			timeout = 0;
		if (poll(pfd, n, timeout) < 0 && errno != EINTR) {
			vmm_log("%s: poll: %s", net->vdev.name, strerror(errno));
			break;
		}
		if (pfd[0].revents)
			break;
		if (pfd[1].revents)
			virtio_queue_take_notify(&net->vdev, NET_RXQ);
		if (pfd[2].revents)
			virtio_queue_take_notify(&net->vdev, NET_TXQ);
		be->ops->poll_done(be, pfd + 3, n - 3);
	}
	return NULL;
}

static void net_deactivate(struct virtio_dev *vdev)
{
	struct virtio_net *net = vdev->priv;

	if (!net->running)
		return;
	eventfd_write(net->stop_fd, 1);
	pthread_join(net->thread, NULL);
	drain(net->stop_fd); /* nonblocking: ready for the next activation */
	net->running = false;
}

static int net_activate(struct virtio_dev *vdev)
{
	struct virtio_net *net = vdev->priv;
	struct net_backend *be = net->be;

	net->hdr_len = net_hdr_len(vdev->features);
	/* The backend's header is the 1.x one; so is ours, VERSION_1 being required. */
	if (be->vnet_hdr && net->hdr_len != NET_VNET_HDR_LEN) {
		vmm_log_limited(&vdev->log,
				"%s: the driver's %u-byte header does not match the "
				"backend's",
				vdev->name, net->hdr_len);
		return -1;
	}
	if (be->ops->set_offloads && be->ops->set_offloads(be, net_rx_offloads(vdev->features))) {
		vmm_log_limited(&vdev->log, "%s: %s", vdev->name, last_error());
		return -1;
	}
	if (vmm_thread_start(&net->thread, net_worker, net, "virtio-net worker", be->thread_kind) <
	    0) {
		vmm_log_limited(&vdev->log, "%s: %s", vdev->name, last_error());
		return -1;
	}
	net->running = true;
	return 0;
}

static const struct virtio_dev_ops net_ops = {
    .activate = net_activate,
    .deactivate = net_deactivate,
};

/* Everything but the virtio core's part: for a card whose core never came up. */
static void net_free(struct virtio_net *net)
{
	if (net->stop_fd >= 0)
		close(net->stop_fd);
	net->be->ops->destroy(net->be);
	free(net->pollfds);
	free(net);
}

static int net_init(struct virtio_net *net, const uint8_t mac[6], uint16_t mtu, unsigned int index)
{
	net->pollfds = calloc(3 + net->be->max_pollfds, sizeof(*net->pollfds));
	if (!net->pollfds)
		return set_error("out of memory");
	net->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (net->stop_fd < 0)
		return set_error("virtio-net%u: eventfd: %s", index, strerror(errno));
	snprintf(net->name, sizeof(net->name), "virtio-net%u", index);
	memcpy(net->config.mac, mac, sizeof(net->config.mac));
	net->config.status = htole16(VIRTIO_NET_S_LINK_UP);
	net->config.max_virtqueue_pairs = htole16(1);
	net->config.mtu = htole16(mtu);
	net->hdr_len = net_hdr_len(BIT(VIRTIO_F_VERSION_1));
	return 0;
}

struct virtio_net *net_create_on(struct net_backend *be, const uint8_t mac[6], uint16_t mtu,
				 unsigned int index, const struct guest_mem *mem)
{
	struct virtio_net *net = calloc(1, sizeof(*net));

	if (!net) {
		be->ops->destroy(be);
		set_error("out of memory");
		return NULL;
	}
	net->be = be;
	net->stop_fd = -1;
	if (net_init(net, mac, mtu, index) < 0 ||
	    virtio_dev_init(&net->vdev, net->name, VIRTIO_ID_NET, net_device_features(be), 2,
			    &net->config, NET_CONFIG_LEN, mem, &net_ops, net) < 0) {
		net_free(net);
		return NULL;
	}
	return net;
}

struct virtio_net *virtio_net_create(const struct net_opt *opt, unsigned int index,
				     const struct guest_mem *mem)
{
	struct net_backend *be;
	uint8_t mac[6];

	if (opt->has_mac)
		memcpy(mac, opt->mac, sizeof(mac));
	else
		net_default_mac(index, mac);
	be = opt->backend.kind == NET_TAP ? net_tap_open(&opt->backend)
					  : net_user_open(&opt->backend, mac);
	if (!be)
		return NULL;
	return net_create_on(be, mac, opt->backend.mtu, index, mem);
}

struct virtio_dev *virtio_net_dev(struct virtio_net *net)
{
	return &net->vdev;
}

void virtio_net_destroy(struct virtio_net *net)
{
	const struct net_stats *st = &net->stats;

	virtio_dev_exit(&net->vdev);
	if (st->rx_dropped || st->tx_dropped)
		vmm_log("%s: dropped %llu received and %llu sent frames", net->name,
			(unsigned long long)st->rx_dropped, (unsigned long long)st->tx_dropped);
	net_free(net);
}

/* The options of --net. */

/* aa:bb:cc:dd:ee:ff, unicast (the guest's own address cannot be a group). */
static int parse_mac(const char *val, uint8_t mac[6])
{
	unsigned int b[6];
	int end = 0;

	if (sscanf(val, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6 ||
	    val[end] || strlen(val) != 17)
		return set_error("--net: bad mac '%s' (expected six hex bytes, aa:bb:cc:dd:ee:ff)",
				 val);
	if (b[0] & 1)
		return set_error("--net: mac '%s' is a multicast address", val);
	for (unsigned int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* The card's own options, then the backends'. */
static int parse_net_option(void *ctx, const char *key, char *val)
{
	struct net_opt *opt = ctx;
	unsigned int mtu;
	int r;

	if (!strcmp(key, "mac") || !strcmp(key, "mtu")) {
		if (!val)
			return suboption_needs_value("--net", key);
		if (!strcmp(key, "mac")) {
			opt->has_mac = true;
			return parse_mac(val, opt->mac);
		}
		if (parse_count("--net mtu", val, 68, 65535, &mtu) < 0)
			return -1;
		opt->backend.mtu = (uint16_t)mtu;
		return 0;
	}
	r = net_tap_parse_option(&opt->backend, key, val);
	if (r == NET_OPT_NOT_MINE)
		r = net_user_parse_option(&opt->backend, key, val);
	return r == NET_OPT_NOT_MINE ? unknown_suboption("--net", key, val) : r;
}

int net_parse_opt(struct net_opt *opt, char *arg)
{
	const char *kind = strsep(&arg, ",");

	*opt = (struct net_opt){.backend = {.mtu = NET_DEFAULT_MTU}};
	if (!strcmp(kind, "tap"))
		opt->backend.kind = NET_TAP;
	else if (!strcmp(kind, "user"))
		opt->backend.kind = NET_USER;
	else
		return set_error("--net: unknown type '%s' (expected tap or user)", kind);
	return parse_suboptions("--net", arg, parse_net_option, opt);
}
