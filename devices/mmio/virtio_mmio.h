/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport, version 2 (VIRTIO 1.2 section 4.2): a 0x200-byte
 * register window on the MMIO bus, decoded into calls on the virtio core.
 *
 * Fast paths where KVM has them: QueueNotify writes of each queue index are
 * bound to that queue's eventfd with KVM_IOEVENTFD (datamatch), so a notify
 * wakes the device worker without a VM exit; the interrupt is an eventfd
 * bound to the GSI with KVM_IRQFD. Without them the same QueueNotify reaches
 * the register handler, which signals the same eventfd, and the interrupt is
 * an edge pulse through set_irq. The guest sees no difference.
 */
#ifndef DEVICES_MMIO_VIRTIO_MMIO_H
#define DEVICES_MMIO_VIRTIO_MMIO_H

#include <stddef.h>
#include <stdint.h>

#include "devices/mmio/bus.h"
#include "devices/virtio/virtio.h"

#define VIRTIO_MMIO_SIZE   0x200
#define VIRTIO_MMIO_STRIDE 0x1000     /* devices sit one page apart */
#define VIRTIO_MMIO_VENDOR 0x4d4d5621 /* "!VMM" read as little-endian bytes */

/* What the transport needs from the VM. Either hook may be NULL or fail: then the slow path. */
struct virtio_mmio_host {
	void *opaque;
	int (*ioeventfd)(void *opaque, uint64_t addr, uint32_t len, uint64_t datamatch, int fd);
	int (*irqfd)(void *opaque, uint32_t gsi, int fd);
	void (*set_irq)(void *opaque, uint32_t gsi, int level);
};

struct virtio_mmio {
	struct virtio_dev *vdev;
	uint64_t base;
	uint32_t gsi;
	const struct virtio_mmio_host *host;
	int irq_fd;		  /* bound with KVM_IRQFD, or -1 */
	pthread_mutex_t irq_lock; /* one KVM_IRQ_LINE pulse at a time (no irqfd) */
	bool notify_in_kernel;	  /* every queue's notify goes through an ioeventfd */
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
};

extern const struct io_dev_ops virtio_mmio_ops;

/*
 * Put @vdev on @bus at @base with interrupt @gsi; sets vdev->transport.
 * Fails only if the window cannot be registered; a failing fast-path hook
 * (or a NULL @host) leaves that path to the VMM.
 */
int virtio_mmio_attach(struct virtio_mmio *t, struct virtio_dev *vdev, uint64_t base, uint32_t gsi,
		       const struct virtio_mmio_host *host, struct io_bus *bus);
/* Resets the device (stopping its workers) and closes the irqfd; after the vCPUs stop. */
void virtio_mmio_detach(struct virtio_mmio *t);

/* fdt_node_fn: a "virtio,mmio" node with reg and an edge-rising IO-APIC interrupt. */
struct fdt_ctx;
int virtio_mmio_fdt_node(void *fdt, void *opaque, struct fdt_ctx *ctx);

/* "virtio_mmio.device=0x200@0xd0000000:16" for kernels found without a device tree. */
int virtio_mmio_cmdline(const struct virtio_mmio *t, char *buf, size_t size);

#endif
