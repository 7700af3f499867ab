/* SPDX-License-Identifier: MIT */
/*
 * Copies between flat buffers and the scatter lists of popped chains. The
 * iovecs come from vq_pop(), so every one lies inside guest RAM; the lengths
 * given here are the caller's and are clamped to what the list holds.
 */
#ifndef DEVICES_VIRTIO_IOV_H
#define DEVICES_VIRTIO_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Copy up to @len bytes out of @iov from byte @off on; returns how many. */
size_t iov_to_buf(const struct iovec *iov, unsigned int cnt, size_t off, void *buf, size_t len);

/* Copy up to @len bytes of @buf into @iov from byte @off on; returns how many. */
size_t iov_from_buf(const struct iovec *iov, unsigned int cnt, size_t off, const void *buf,
		    size_t len);

/* Drop the first @n bytes of the list in place (entries it empties too). */
void iov_advance(struct iovec **iov, unsigned int *cnt, uint64_t n);

#endif
