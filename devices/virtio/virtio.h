/* SPDX-License-Identifier: MIT */
/*
 * The virtio core, device side: what every virtio device has whatever its
 * type or transport (VIRTIO 1.2 chapters 2 and 3). Feature negotiation
 * (the driver may accept only bits we offered; FEATURES_OK is refused
 * otherwise), the device status state machine, config space with its
 * generation counter, the interrupt status bits, and the virtqueues.
 *
 * Layering, as on the Linux guest side: a device model (blk, net) fills a
 * virtio_dev and its ops; the core drives the virtqueues; a transport
 * (virtio-mmio) decodes the guest's register accesses into the calls below
 * and supplies the one thing the core needs from it, a way to interrupt the
 * guest.
 *
 * Threads: register accesses come from vCPU threads and are serialised by
 * @lock. Each queue is served by one device worker thread, which touches
 * only its queue and the atomics (@status, @isr, @config_generation); it
 * never takes @lock, so a reset (which stops the workers under @lock)
 * cannot deadlock with it.
 */
#ifndef DEVICES_VIRTIO_VIRTIO_H
#define DEVICES_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#include "core/log.h"
#include "core/memory.h"
#include "devices/virtio/virtqueue.h"

#define VIRTIO_MAX_QUEUES 32

/* InterruptStatus bits. */
#define VIRTIO_ISR_USED	  0x1
#define VIRTIO_ISR_CONFIG 0x2

/* The features the core itself offers with every device. */
#define VIRTIO_CORE_FEATURES                                                                       \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |                    \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX))

struct virtio_dev;

/* What a device model provides. */
struct virtio_dev_ops {
	/* DRIVER_OK was accepted: start serving the ready queues. -1 marks NEEDS_RESET. */
	int (*activate)(struct virtio_dev *vdev);
	/*
	 * Stop serving: every worker stopped, in-flight requests finished or
	 * dropped, the rings never touched again. Called on reset of an
	 * activated device and when the VMM shuts down.
	 */
	void (*deactivate)(struct virtio_dev *vdev);
	/* Optional: the driver wrote config space (already bounds-checked). */
	void (*config_write)(struct virtio_dev *vdev, uint32_t offset, const void *data,
			     uint32_t len);
};

/* What the transport provides: raise the device's interrupt (edge). */
struct virtio_transport {
	void (*interrupt)(void *opaque);
	void *opaque;
};

struct virtio_dev {
	const char *name; /* for the VMM's log, e.g. "virtio-blk0" */
	uint32_t device_id;
	uint64_t host_features;	  /* offered: the device's | VIRTIO_CORE_FEATURES */
	uint64_t driver_features; /* as written by the driver */
	uint64_t features;	  /* negotiated: valid once FEATURES_OK is set */
	atomic_uint status;
	atomic_uint isr;
	atomic_uint config_generation;
	bool active; /* ops->activate succeeded, ops->deactivate not yet called */

	void *config; /* device config space, owned by the device model */
	uint32_t config_len;

	unsigned int nr_queues;
	struct virtqueue vqs[VIRTIO_MAX_QUEUES];
	int notify_fd[VIRTIO_MAX_QUEUES]; /* eventfd: the driver notified queue i */

	const struct guest_mem *mem;
	const struct virtio_dev_ops *ops;
	struct virtio_transport transport;
	void *priv; /* the device model's own state */
	pthread_mutex_t lock;
	struct log_limit log;	    /* what the guest makes this device say (vmm_log_limited) */
	uint64_t needs_reset_count; /* --stats: times the device was marked broken */
};

/* Device model side. */
int virtio_dev_init(struct virtio_dev *vdev, const char *name, uint32_t device_id,
		    uint64_t features, unsigned int nr_queues, void *config, uint32_t config_len,
		    const struct guest_mem *mem, const struct virtio_dev_ops *ops, void *priv);
/* Deactivates, closes the eventfds. Once, when no vCPU can reach the device. */
void virtio_dev_exit(struct virtio_dev *vdev);
bool virtio_has_feature(const struct virtio_dev *vdev, unsigned int bit);
/*
 * A worker's poll found queue @q's notify eventfd readable: read it (the
 * notifies since the last read, counted for --stats; a new round begins).
 */
void virtio_queue_take_notify(struct virtio_dev *vdev, unsigned int q);
/* After vq_push()es on queue @q: interrupt the driver if it wants one. */
void virtio_queue_interrupt(struct virtio_dev *vdev, unsigned int q);
/* The device changed its config space: bump the generation, config interrupt. */
void virtio_config_changed(struct virtio_dev *vdev);
/*
 * The device cannot go on (broken ring, impossible request): NEEDS_RESET,
 * and a config interrupt once DRIVER_OK is set. Only the first call of a
 * reset cycle logs @why and interrupts.
 */
void virtio_needs_reset(struct virtio_dev *vdev, const char *why);
/*
 * NEEDS_RESET is set: the device serves no queue until the driver resets it,
 * not only the queue that broke (workers check this before taking a chain).
 */
static inline bool virtio_is_broken(struct virtio_dev *vdev)
{
	return atomic_load(&vdev->status) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* Transport side: each call is one register access, under vdev->lock. */
uint32_t virtio_get_status(struct virtio_dev *vdev);
/*
 * 0 resets (deactivating a live device first). Otherwise the driver may only
 * add bits; FEATURES_OK and DRIVER_OK are left clear when refused (features
 * not offered or no VERSION_1; no FEATURES_OK or NEEDS_RESET set).
 */
void virtio_set_status(struct virtio_dev *vdev, uint32_t status);
uint32_t virtio_get_device_features(struct virtio_dev *vdev, uint32_t sel);
/* Taken only while DRIVER is set and FEATURES_OK is not; @sel 0 or 1. */
void virtio_set_driver_features(struct virtio_dev *vdev, uint32_t sel, uint32_t value);
uint32_t virtio_queue_num_max(struct virtio_dev *vdev, uint32_t q); /* 0: no such queue */
/* Queue layout writes are ignored once the queue is ready or DRIVER_OK is set. */
void virtio_queue_set_num(struct virtio_dev *vdev, uint32_t q, uint32_t num);
uint32_t virtio_queue_get_num(struct virtio_dev *vdev, uint32_t q);

enum virtio_queue_area { VQ_AREA_DESC, VQ_AREA_DRIVER, VQ_AREA_DEVICE };
void virtio_queue_set_addr(struct virtio_dev *vdev, uint32_t q, enum virtio_queue_area area,
			   bool high, uint32_t value);
uint32_t virtio_queue_get_addr(struct virtio_dev *vdev, uint32_t q, enum virtio_queue_area area,
			       bool high);
/* Between FEATURES_OK and DRIVER_OK only; rings vq_enable() refuses set NEEDS_RESET. */
void virtio_queue_set_ready(struct virtio_dev *vdev, uint32_t q, bool ready);
bool virtio_queue_get_ready(struct virtio_dev *vdev, uint32_t q);
/* A notify that reached userspace (no ioeventfd): wake queue @q's worker. */
void virtio_queue_notify(struct virtio_dev *vdev, uint32_t q);
uint32_t virtio_get_isr(struct virtio_dev *vdev);
void virtio_ack_isr(struct virtio_dev *vdev, uint32_t bits);
uint32_t virtio_get_config_generation(struct virtio_dev *vdev);
/* Config space: an access not wholly inside it reads all 0s, or is dropped if a write. */
void virtio_config_read(struct virtio_dev *vdev, uint32_t offset, void *data, uint32_t len);
void virtio_config_write(struct virtio_dev *vdev, uint32_t offset, const void *data, uint32_t len);

#endif
