/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (VIRTIO 1.2 section 5.2): a raw disk image served to the guest
 * through one request queue per vCPU (VIRTIO_BLK_F_MQ), each with a worker
 * thread of its own that parses requests and hands them to a disk backend
 * (io_uring where the host kernel has it, preadv/pwritev otherwise).
 */
#ifndef DEVICES_VIRTIO_BLK_H
#define DEVICES_VIRTIO_BLK_H

#include "core/cli.h"
#include "core/memory.h"
#include "devices/virtio/virtio.h"

struct virtio_blk;

/* Open the disk @opt names; NULL with set_error() naming the problem. */
struct virtio_blk *virtio_blk_create(const struct disk_opt *opt, unsigned int index,
				     unsigned int nr_queues, const struct guest_mem *mem);
struct virtio_dev *virtio_blk_dev(struct virtio_blk *blk);
void virtio_blk_destroy(struct virtio_blk *blk);

#endif
