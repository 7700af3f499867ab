/* SPDX-License-Identifier: MIT */
/*
 * virtio-9p (VIRTIO 1.2 section 5.11): a host directory for the guest's
 * 9p file system, the 9P2000.L server of p9.h behind one request queue.
 * Its option: --share PATH[,tag=TAG][,ro].
 */
#ifndef DEVICES_VIRTIO_VIRTIO_9P_H
#define DEVICES_VIRTIO_VIRTIO_9P_H

#include <stdbool.h>

#include "core/memory.h"

#define P9_MAX_TAG 64 /* bytes of mount tag: Linux copies it whole into a name */

struct p9_opt {
	const char *path;
	const char *tag; /* NULL: share<N> */
	bool ro;
};

struct virtio_9p;
struct virtio_dev;

/* The text of one --share, parsed into @opt (which points into @arg). */
int p9_parse_opt(struct p9_opt *opt, char *arg);
struct virtio_9p *virtio_9p_create(const struct p9_opt *opt, unsigned int index,
				   const struct guest_mem *mem);
struct virtio_dev *virtio_9p_dev(struct virtio_9p *dev);
void virtio_9p_destroy(struct virtio_9p *dev);

#endif
