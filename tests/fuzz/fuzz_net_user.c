// SPDX-License-Identifier: MIT
/*
 * The user-mode backend (libslirp glue) with frames from the guest that the
 * fuzzer writes: a fresh backend for each input, restricted (restrict=on:
 * nothing the guest sends leaves the machine), driven as the device's worker
 * drives it: send(), poll_fill() and poll() with no wait, poll_done(),
 * peek() and consume().
 *
 * Invariants: poll_fill() gives at most what it was offered and its
 * max_pollfds; a frame peeked is non-empty, no larger than NET_MAX_FRAME,
 * and the same until consumed; send() answers one of its three results.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/net_backend.h"
#include "tests/fuzz/fuzz_util.h"

#define MAX_PFD 512

static struct pollfd pfd[MAX_PFD];
static volatile uint8_t sink;

static void do_send(struct fz *f, struct net_backend *be)
{
	static uint8_t frame[2048];
	size_t len = fz_u16(f) % sizeof(frame), cut;
	struct iovec iov[2];
	enum net_send_result r;

	len = fz_bytes(f, frame, len);
	cut = len ? fz_u16(f) % (len + 1) : 0; /* one frame in two pieces, as chains give */
	iov[0] = (struct iovec){frame, cut};
	iov[1] = (struct iovec){frame + cut, len - cut};
	r = be->ops->send(be, cut ? iov : iov + 1, cut ? 2 : 1);
	FZ_CHECK(r == NET_SENT || r == NET_SEND_AGAIN || r == NET_SEND_FAILED);
}

static void do_poll(struct fz *f, struct net_backend *be)
{
	unsigned int max = 1 + fz_u16(f) % MAX_PFD;
	int timeout = -1;
	unsigned int n = be->ops->poll_fill(be, pfd, max, fz_u8(f) & 1, fz_u8(f) & 1, &timeout);

	FZ_CHECK(n <= max && n <= be->max_pollfds);
	poll(pfd, n, 0);
	be->ops->poll_done(be, pfd, n);
}

static void do_peek(struct fz *f, struct net_backend *be)
{
	const uint8_t *frame, *again;
	size_t len, len2;
	int r = be->ops->peek(be, &frame, &len);

	FZ_CHECK(r >= -1 && r <= 1);
	if (r != 1)
		return;
	FZ_CHECK(len > 0 && len <= NET_MAX_FRAME + NET_VNET_HDR_LEN);
	FZ_CHECK(be->ops->peek(be, &again, &len2) == 1 && again == frame && len2 == len);
	/* Read it all, as the device copies it: ASan sees a short buffer. */
	for (size_t i = 0; i < len; i++)
		sink += frame[i];
	if (fz_u8(f) & 1)
		be->ops->consume(be);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
	struct net_backend_opt opt = {
	    .kind = NET_USER, .mtu = NET_DEFAULT_MTU, .restrict_net = true};
	struct fz f = {data, size};
	struct net_backend *be;

	opt.mtu = (fz_u8(&f) & 1) ? 9000 : NET_DEFAULT_MTU;
	be = net_user_open(&opt, mac);
	FZ_CHECK(be);
	while (f.left) {
		switch (fz_u8(&f) % 4) {
		case 0:
		case 1: do_send(&f, be); break;
		case 2: do_poll(&f, be); break;
		case 3: do_peek(&f, be); break;
		}
	}
	be->ops->destroy(be);
	return 0;
}
