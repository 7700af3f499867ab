/* SPDX-License-Identifier: MIT */
/*
 * The test guest's virtio-9p driver (VIRTIO 1.2 section 5.11): the mount
 * tag, and one request queue on which a call posts a chain (the T-message
 * readable, the room for the R-message writable) and polls for its answer.
 * The messages themselves are the scenarios' business (p9_scenarios.c).
 */
#ifndef TESTGUEST_VIRTIO_9P_H
#define TESTGUEST_VIRTIO_9P_H

#include <stdint.h>

#include "virtio.h"
#include "virtio_ring.h"

#define VIRTIO_ID_9P	     9
#define VIRTIO_9P_MOUNT_TAG  0
#define VIRTIO_9P_MAX_TAG    64
#define VIRTIO_9P_TIMEOUT_NS (10ULL * 1000 * 1000 * 1000)

struct virtio_9p {
	struct virtio_device *vdev;
	struct virtqueue *vq;
	char tag[VIRTIO_9P_MAX_TAG + 1];
};

void virtio_9p_register(void);
/* The @n-th virtio-9p device bound to the driver, or NULL. */
struct virtio_9p *virtio_9p_get(unsigned int n);
/*
 * One chain of @out readable and @in writable buffers of @sg, waited for:
 * 0 with *@used the device's used length, or -VIRTIO_E*.
 */
int virtio_9p_call_sg(struct virtio_9p *p, const struct virtio_sg *sg, unsigned int out,
		      unsigned int in, uint32_t *used);
/* The common case: @req readable, @resp (@cap bytes) writable. */
int virtio_9p_call(struct virtio_9p *p, const void *req, uint32_t len, void *resp, uint32_t cap,
		   uint32_t *used);

#endif
