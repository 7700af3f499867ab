// SPDX-License-Identifier: MIT
/*
 * virtio-9p: each chain on the one queue is a request, its readable part a
 * whole T-message and its writable part the room for the R-message (the
 * used length is the R-message's size). One worker thread serves the queue,
 * woken by its notify eventfd; requests are answered in order, one at a
 * time, so a Tflush always finds its request done.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_9p.h>
#include <poll.h>
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
#include "devices/virtio/p9.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/virtio_9p.h"

#define P9_QUEUE_SIZE 128

struct p9_config {
	uint16_t tag_len;
	char tag[P9_MAX_TAG];
} __attribute__((packed));

struct virtio_9p {
	struct virtio_dev vdev;
	struct p9_server srv;
	struct p9_config config;
	char name[32];
	int stop_fd;
	pthread_t thread;
	bool running;
	struct vq_chain chain;
	uint8_t *req, *resp; /* P9_MAX_MSIZE each */
};

/* One request: the T-message gathered, answered, the R-message scattered back. */
static void serve_chain(struct virtio_9p *p)
{
	struct vq_chain *c = &p->chain;
	size_t req_len = iov_to_buf(c->iov, c->nr_out, 0, p->req, P9_MAX_MSIZE);
	size_t cap = c->in_len < P9_MAX_MSIZE ? (size_t)c->in_len : P9_MAX_MSIZE;
	size_t len = p9_handle(&p->srv, p->req, req_len, p->resp, cap);

	len = iov_from_buf(c->iov + c->nr_out, c->nr_in, 0, p->resp, len);
	vq_push(&p->vdev.vqs[0], c->head, (uint32_t)len);
}

/*
 * What the driver posted, at most a queue's worth; true when more may be
 * waiting, so that the worker looks at its stop request before going on.
 */
static bool serve_queue(struct virtio_9p *p)
{
	struct virtqueue *vq = &p->vdev.vqs[0];
	unsigned int served = 0;
	int r = 0;

	while (served < vq->size && !virtio_is_broken(&p->vdev) &&
	       (r = vq_pop(vq, &p->chain)) > 0) {
		serve_chain(p);
		served++;
	}
	if (served)
		virtio_queue_interrupt(&p->vdev, 0);
	if (r < 0) {
		virtio_needs_reset(&p->vdev, "the request queue is broken");
		return false;
	}
	if (virtio_is_broken(&p->vdev))
		return false;
	/* Notifies on; if the driver posted meanwhile, the notify may have been skipped. */
	return served == vq->size || vq_set_notify(vq, true);
}

static void *p9_worker(void *arg)
{
	struct virtio_9p *p = arg;
	struct pollfd pfd[2] = {{.fd = p->stop_fd, .events = POLLIN},
				{.fd = p->vdev.notify_fd[0], .events = POLLIN}};

	trace_thread("%s", p->vdev.name);
	for (;;) {
		bool more = serve_queue(p);

		if (poll(pfd, 2, more ? 0 : -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		if (pfd[1].revents)
			virtio_queue_take_notify(&p->vdev, 0);
	}
	return NULL;
}

static int p9_activate(struct virtio_dev *vdev)
{
	struct virtio_9p *p = vdev->priv;

	if (vmm_thread_start(&p->thread, p9_worker, p, "virtio-9p worker", THREAD_P9) < 0) {
		vmm_log_limited(&vdev->log, "%s: %s", vdev->name, last_error());
		return -1;
	}
	p->running = true;
	return 0;
}

static void p9_deactivate(struct virtio_dev *vdev)
{
	struct virtio_9p *p = vdev->priv;
	eventfd_t n;

	if (!p->running)
		return;
	eventfd_write(p->stop_fd, 1);
	pthread_join(p->thread, NULL);
	eventfd_read(p->stop_fd, &n);
	p->running = false;
	/* The next driver starts with Tversion: no fid of this one survives. */
	p9_server_reset(&p->srv);
}

static const struct virtio_dev_ops p9_ops = {
    .activate = p9_activate,
    .deactivate = p9_deactivate,
};

static void p9_free(struct virtio_9p *p)
{
	if (p->stop_fd >= 0)
		close(p->stop_fd);
	p9_server_destroy(&p->srv);
	free(p->req);
	free(p->resp);
	free(p);
}

static int p9_init(struct virtio_9p *p, const struct p9_opt *opt, unsigned int index,
		   const struct guest_mem *mem)
{
	char tag[P9_MAX_TAG + 1];

	snprintf(p->name, sizeof(p->name), "virtio-9p%u", index);
	snprintf(tag, sizeof(tag), "share%u", index);
	if (opt->tag)
		snprintf(tag, sizeof(tag), "%s", opt->tag);
	p->config.tag_len = htole16((uint16_t)strlen(tag));
	memcpy(p->config.tag, tag, strlen(tag));
	p->req = malloc(P9_MAX_MSIZE);
	p->resp = malloc(P9_MAX_MSIZE);
	if (!p->req || !p->resp)
		return set_error("out of memory");
	if (p9_server_init(&p->srv, opt->path, opt->ro) < 0)
		return -1;
	p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->stop_fd < 0)
		return set_error("%s: eventfd: %s", p->name, strerror(errno));
	return virtio_dev_init(&p->vdev, p->name, VIRTIO_ID_9P, BIT(VIRTIO_9P_MOUNT_TAG), 1,
			       &p->config, (uint32_t)(2 + strlen(tag)), mem, &p9_ops, p);
}

struct virtio_9p *virtio_9p_create(const struct p9_opt *opt, unsigned int index,
				   const struct guest_mem *mem)
{
	struct virtio_9p *p = calloc(1, sizeof(*p));

	if (!p) {
		set_error("out of memory");
		return NULL;
	}
	p->stop_fd = -1;
	p->srv.root_fd = -1;
	if (p9_init(p, opt, index, mem) < 0) {
		p9_free(p);
		return NULL;
	}
	return p;
}

struct virtio_dev *virtio_9p_dev(struct virtio_9p *p)
{
	return &p->vdev;
}

void virtio_9p_destroy(struct virtio_9p *p)
{
	virtio_dev_exit(&p->vdev);
	p9_free(p);
}

/* The options of --share. */

static int parse_share_option(void *ctx, const char *key, char *val)
{
	struct p9_opt *opt = ctx;

	if (!strcmp(key, "ro")) {
		if (val)
			return suboption_takes_no_value("--share", key);
		opt->ro = true;
		return 0;
	}
	if (strcmp(key, "tag"))
		return unknown_suboption("--share", key, val);
	if (!val)
		return suboption_needs_value("--share", key);
	if (!*val || strlen(val) > P9_MAX_TAG)
		return set_error("--share: tag '%s' must be 1 to %d bytes", val, P9_MAX_TAG);
	opt->tag = val;
	return 0;
}

int p9_parse_opt(struct p9_opt *opt, char *arg)
{
	*opt = (struct p9_opt){0};
	opt->path = strsep(&arg, ",");
	if (!*opt->path)
		return set_error("--share: missing directory");
	return parse_suboptions("--share", arg, parse_share_option, opt);
}
