// SPDX-License-Identifier: MIT
/*
 * The netbench group: frames through the first virtio-net card as fast as
 * the device takes or brings them, driven from ring 3 as the block bench is
 * (bench.c says why), the queues polled, no interrupts.
 *
 *   tg.netbench=DIR:SIZE:COUNT   (the word may repeat; DIR tx or rx)
 *
 * SIZE is the frame's length without its FCS (a "64-byte frame" is 60).
 * Up to 1514 bytes a frame is Ethernet with the local experimental type
 * 0x88b5; above, it is one TCPv4 segment of up to 64 KiB that the device
 * cuts up (HOST_TSO4, GUEST_TSO4: the probe asks for them).
 *
 * netbench.tx sends COUNT frames to NETBENCH_PEER_MAC (an address nobody
 * has: the host's stack drops them, a packet socket on the tap counts
 * them) with the queue kept full, and prints
 *
 *   tg: netbench tx size=60 n=COUNT: frames/s=... MB/s=...
 *
 * from the first frame posted to the last one the device gave back.
 * netbench.rx prints "tg: netbench rx ready mac=MAC" (the host then starts
 * its sender), waits up to 30 s for the first frame to this card's MAC, and
 * counts frames until COUNT came or none for 300 ms:
 *
 *   tg: netbench rx size=60 n=RECEIVED: frames/s=... MB/s=...
 *
 * the rate from the first frame to the last. A scenario passes when every
 * frame went out (tx) or some came in, with no bad header or ring (rx).
 */
#include "frames.h"
#include "rt.h"
#include "scenario.h"
#include "virtio.h"
#include "virtio_net.h"

#define ETH_P_BENCH  0x88b5
#define MAX_PLAIN    1514 /* the largest frame without TSO: MTU 1500 */
#define MAX_COUNT    100000000ULL
#define STALL_MS     5000  /* tx: no frame given back for this long */
#define FIRST_MS     30000 /* rx: the host's sender starts within this */
#define IDLE_MS	     300   /* rx: the sender is done */
#define TSO_SEG	     1448  /* MSS of a 1500-byte MTU with timestamps */
#define TSO_TX_SLOTS 32	   /* 64 KiB each */
#define IP_OFF	     ETH_HLEN
#define TCP_OFF	     (ETH_HLEN + 20)
#define TCP_HDRS     (TCP_OFF + 20)
#define IPPROTO_TCP  6
#define TCP_CSUM_OFF 16

static const uint8_t peer_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0xfe};
static const uint8_t guest_ip[4] = {192, 0, 2, 2}, peer_ip[4] = {192, 0, 2, 254};

enum nb_dir { NB_TX, NB_RX };

static const char *const dir_names[] = {"tx", "rx"};

struct nb_case {
	enum nb_dir dir;
	uint32_t size;
	uint64_t count;
};

struct nb_run {
	struct virtio_net *net;
	struct nb_case c;
	uint8_t *frame; /* tx: the frame sent; rx: where one is copied */
	uint32_t cap;
	struct virtio_net_hdr_v1 hdr;
	uint64_t khz, sent, done, frames, bytes, others;
	uint64_t t0, t1; /* TSC: the first and last frame */
	int err;
};

/* DIR:SIZE:COUNT into @c. */
static bool parse_case(const char *s, struct nb_case *c)
{
	uint64_t size, count;
	char *e;
	int dir = -1;

	for (unsigned int i = 0; i < TG_ARRAY_SIZE(dir_names); i++)
		if (!strncmp(s, dir_names[i], 2) && s[2] == ':')
			dir = (int)i;
	if (dir < 0 || s[3] < '0' || s[3] > '9')
		return false;
	size = strtoull(s + 3, &e, 10);
	if (*e != ':' || e[1] < '0' || e[1] > '9')
		return false;
	count = strtoull(e + 1, &e, 10);
	if (*e || size < ETH_HLEN || size > VIRTIO_NET_GSO_FRAME ||
	    (size > MAX_PLAIN && size < TCP_HDRS + TSO_SEG) || !count || count > MAX_COUNT)
		return false;
	*c = (struct nb_case){(enum nb_dir)dir, (uint32_t)size, count};
	return true;
}

static bool tso_case(const struct nb_case *c)
{
	return c->size > MAX_PLAIN;
}

/* One TCPv4 segment of @size bytes for the device to cut (and checksum). */
static void tso_frame(struct nb_run *r)
{
	uint8_t *f = r->frame, *ip = f + IP_OFF, *tcp = f + TCP_OFF;
	uint16_t l4 = (uint16_t)(r->c.size - TCP_OFF);

	eth(f, peer_mac, r->net->mac, ETH_P_IP);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(r->c.size - IP_OFF));
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, guest_ip, 4);
	memcpy(ip + 16, peer_ip, 4);
	put16(ip + 10, checksum(ip, 20));
	put16(tcp, 40000);
	put16(tcp + 2, 5201);
	put32(tcp + 4, 1);
	put32(tcp + 8, 1);
	tcp[12] = 5 << 4;
	tcp[13] = 0x18; /* PSH, ACK */
	put16(tcp + 14, 0xffff);
	/* Partial checksum: the pseudo-header's sum, which the device completes. */
	put16(tcp + TCP_CSUM_OFF, fold(pseudo_sum(ip, IPPROTO_TCP, l4)));
	r->hdr = (struct virtio_net_hdr_v1){
	    .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
	    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
	    .hdr_len = TCP_HDRS,
	    .gso_size = TSO_SEG,
	    .csum_start = TCP_OFF,
	    .csum_offset = TCP_CSUM_OFF,
	};
}

static long fill_frame_user(void *arg)
{
	struct nb_run *r = arg;
	uint32_t from = tso_case(&r->c) ? TCP_HDRS : ETH_HLEN;

	for (uint32_t i = from; i < r->c.size; i++)
		r->frame[i] = (uint8_t)(i * 7 + (i >> 9));
	return 0;
}

static void tx_frame(struct nb_run *r)
{
	tg_run_user(fill_frame_user, r);
	if (tso_case(&r->c))
		tso_frame(r);
	else
		eth(r->frame, peer_mac, r->net->mac, ETH_P_BENCH);
}

/* Ring 3: keep the transmit queue full until @count frames came back. */
static long tx_user(void *arg)
{
	struct nb_run *r = arg;
	struct virtio_net *net = r->net;
	uint64_t last, stall = r->khz * STALL_MS;

	r->t0 = last = tg_rdtsc();
	while (r->done < r->c.count) {
		uint64_t done, queued = r->sent;

		virtio_net_tx_reclaim(net);
		while (net->tx_nr_free && r->sent < r->c.count) {
			r->err = virtio_net_send(net, r->frame, r->c.size, &r->hdr,
						 VIRTIO_NET_TX_NO_KICK);
			if (r->err)
				return 1;
			r->sent++;
		}
		/* A kick only for new frames: the rounds that find none stay off the ring. */
		if (r->sent != queued && !virtio_net_kick(net)) {
			r->err = -VIRTIO_EBROKEN;
			return 1;
		}
		done = r->sent - (net->tx_count - net->tx_nr_free);
		if (done != r->done) {
			r->done = r->frames = done;
			last = tg_rdtsc();
		} else if (tg_rdtsc() - last > stall) {
			r->err = -VIRTIO_ETIMEDOUT;
			return 1;
		} else {
			__asm__ volatile("pause");
		}
	}
	r->t1 = tg_rdtsc();
	r->bytes = r->done * r->c.size;
	return 0;
}

/* A frame the host's sender sent us: to our MAC, of the bench's kind. */
static bool rx_wanted(const struct nb_run *r)
{
	uint16_t type = get16(r->frame + 12);

	if (memcmp(r->frame, r->net->mac, ETH_ALEN))
		return false;
	return tso_case(&r->c) ? type == ETH_P_IP : type == ETH_P_BENCH;
}

/* Ring 3: count frames until @count came or the sender went quiet. */
static long rx_user(void *arg)
{
	struct nb_run *r = arg;
	uint64_t start = tg_rdtsc(), first = r->khz * FIRST_MS, idle = r->khz * IDLE_MS;

	while (r->frames < r->c.count) {
		int n = virtio_net_recv(r->net, r->frame, r->cap, NULL, 0);
		uint64_t now = tg_rdtsc();

		if (n == -VIRTIO_ETIMEDOUT || n == -VIRTIO_E2BIG) {
			if (r->frames ? now - r->t1 > idle : now - start > first)
				break;
			__asm__ volatile("pause");
			continue;
		}
		if (n < 0) {
			r->err = n;
			return 1;
		}
		if (!rx_wanted(r)) {
			r->others++;
			continue;
		}
		if (!r->frames++)
			r->t0 = now;
		r->bytes += (uint64_t)n;
		r->t1 = now;
	}
	return 0;
}

static void print_rate(const struct nb_run *r)
{
	uint64_t ns = (r->t1 - r->t0) * 1000000 / r->khz, fps, mbs10;

	if (!ns)
		ns = 1;
	fps = r->frames * 1000000000 / ns;
	mbs10 = r->bytes * 10000 / ns;
	tg_printf("tg: netbench %s size=%u n=%llu: frames/s=%llu MB/s=%llu.%llu\n",
		  dir_names[r->c.dir], r->c.size, (unsigned long long)r->frames,
		  (unsigned long long)fps, (unsigned long long)(mbs10 / 10),
		  (unsigned long long)(mbs10 % 10));
}

/* The first card, probed again for this case: polled, TSO when the case needs it. */
static struct virtio_net *bench_card(const struct nb_case *c, char *msg, size_t len)
{
	struct virtio_device *vdev = virtio_find_device(VIRTIO_ID_NET, 0);
	struct virtio_probe_opts opts = {0};
	struct virtio_net *net;
	int err;

	if (!vdev) {
		tg_snprintf(msg, len, "no virtio-net device (run with --net)");
		return NULL;
	}
	virtio_net_params.tso = tso_case(c);
	virtio_net_params.tx_slots = tso_case(c) ? TSO_TX_SLOTS : 0;
	err = virtio_reprobe(vdev, &opts);
	net = virtio_net_of(vdev);
	if (err || !net) {
		tg_snprintf(msg, len, "probe: %s (%s)", virtio_strerror(err), vdev->probe_error);
		return NULL;
	}
	if (tso_case(c) && !net->tso) {
		tg_snprintf(msg, len, "%u-byte frames need HOST_TSO4 and GUEST_TSO4", c->size);
		return NULL;
	}
	virtqueue_disable_cb(net->rx);
	virtqueue_disable_cb(net->tx);
	return net;
}

static bool run_case(const struct nb_case *c, char *msg, size_t len)
{
	struct nb_run r = {.c = *c, .khz = tg_tsc_khz()};
	bool ok;

	if (!r.khz) {
		tg_snprintf(msg, len, "no TSC rate");
		return false;
	}
	r.net = bench_card(c, msg, len);
	if (!r.net)
		return false;
	r.cap = VIRTIO_NET_GSO_FRAME;
	r.frame = tg_alloc(r.cap, 64);
	if (c->dir == NB_TX) {
		tx_frame(&r);
		tg_run_user(tx_user, &r);
	} else {
		const uint8_t *m = r.net->mac;

		tg_printf("tg: netbench rx ready mac=%02x:%02x:%02x:%02x:%02x:%02x\n", m[0], m[1],
			  m[2], m[3], m[4], m[5]);
		tg_run_user(rx_user, &r);
	}
	ok = !r.err && r.frames;
	if (r.frames)
		print_rate(&r);
	if (r.err)
		tg_snprintf(msg, len, "%s after %llu frames", virtio_strerror(r.err),
			    (unsigned long long)r.frames);
	else if (!r.frames)
		tg_snprintf(msg, len, "no frame came in %u s", FIRST_MS / 1000);
	virtio_remove_all();
	memset(&virtio_net_params, 0, sizeof(virtio_net_params));
	return ok;
}

/* Every case of direction @dir in the tg.netbench= words, in order. */
static enum tg_result run_cases(enum nb_dir dir, char *msg, size_t len)
{
	unsigned int ran = 0;
	struct nb_case c;
	char word[64];
	size_t pos = 0;

	while (tg_param_next("tg.netbench", &pos, word, sizeof(word))) {
		if (!parse_case(word, &c)) {
			tg_snprintf(msg, len, "bad tg.netbench case \"%s\" (tx|rx:SIZE:COUNT)",
				    word);
			return TG_FAIL;
		}
		if (c.dir != dir)
			continue;
		if (!run_case(&c, msg, len))
			return TG_FAIL;
		ran++;
	}
	if (!ran) {
		tg_snprintf(msg, len, "no %s case in tg.netbench=", dir_names[dir]);
		return TG_SKIP;
	}
	tg_snprintf(msg, len, "%u case%s", ran, ran == 1 ? "" : "s");
	return TG_PASS;
}

static enum tg_result run_dir(enum nb_dir dir, char *msg, size_t len)
{
	bool verbose = virtio_verbose;
	enum tg_result r;

	virtio_verbose = false; /* the probe was logged at discovery */
	r = run_cases(dir, msg, len);
	virtio_verbose = verbose;
	return r;
}

static enum tg_result sc_tx(char *msg, size_t len)
{
	return run_dir(NB_TX, msg, len);
}

static enum tg_result sc_rx(char *msg, size_t len)
{
	return run_dir(NB_RX, msg, len);
}

static const struct tg_scenario netbench_scenarios[] = {
    {"tx", sc_tx},
    {"rx", sc_rx},
};

const struct tg_group tg_netbench_group = {
    .name = "netbench",
    .scenarios = netbench_scenarios,
    .count = TG_ARRAY_SIZE(netbench_scenarios),
};
