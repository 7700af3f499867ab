/* SPDX-License-Identifier: MIT */
/*
 * The test guest's virtio core: a bus on which transports register devices
 * and drivers register with an id table, the probe that negotiates
 * features and brings a device up (VIRTIO 1.2 section 3.1), config space
 * access, virtqueue setup and interrupt dispatch.
 *
 * Layers, as in Linux: drivers (virtio_blk, virtio_net) -> this core ->
 * the split ring (virtio_ring.h) -> the transport (virtio_mmio.h), which
 * fills in struct virtio_config_ops.
 *
 * Setting up, once, before the first allocator mark (the devices and their
 * first probes then live for good):
 *
 *	virtio_blk_register();
 *	virtio_net_register();
 *	virtio_params_from_cmdline();	(virtio.clear=NAMES, virtio.verbose=0)
 *	virtio_mmio_discover();		(finds, registers, probes)
 *
 * Scenarios pick the features of each run with struct virtio_probe_opts
 * (per device, through virtio_reprobe()) or virtio_set_global_clear() (every
 * probe): see there. Completion is polled unless opts.use_irq (or
 * virtio_use_irq()) routes the device's interrupt; either way waits go
 * through virtio_wait_used(), and nothing completes behind the caller's back.
 *
 * Memory for devices, queues and buffers comes from tg_alloc(). A scenario
 * that probes (or reprobes) under an allocator mark must remove the device,
 * which resets it, before releasing the mark: the device would otherwise
 * keep using rings in memory handed out again (virtio_remove_all()).
 */
#ifndef TESTGUEST_VIRTIO_H
#define TESTGUEST_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_ring.h"

/* Device types (VIRTIO 1.2 chapter 5). */
#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_DEV_ANY_ID 0xffffffffu /* in an id table: any vendor */

/* Device status bits (VIRTIO 1.2 section 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	 0x01
#define VIRTIO_STATUS_DRIVER		 0x02
#define VIRTIO_STATUS_DRIVER_OK		 0x04
#define VIRTIO_STATUS_FEATURES_OK	 0x08
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED		 0x80

/* Interrupt status bits (the transports share them). */
#define VIRTIO_ISR_VQ	  0x1 /* a queue has new used entries */
#define VIRTIO_ISR_CONFIG 0x2 /* the config space changed (or NEEDS_RESET) */

/* A driver's id table ends with an entry whose device is 0. */
struct virtio_device_id {
	uint32_t device;
	uint32_t vendor; /* or VIRTIO_DEV_ANY_ID */
};

/* Feature names for logs and for virtio_set_global_clear(). */
struct virtio_feature_name {
	unsigned int bit;
	const char *name;
};

/*
 * The knob scenarios turn: how the next probes of a device negotiate and
 * set up. All zero is the default (the driver's features as far as the
 * device offers them, the device's queue sizes).
 */
struct virtio_probe_opts {
	uint64_t clear; /* bits withheld (transport bits too): e.g. "no EVENT_IDX" */
	/*
	 * Bits written even though the device does not offer them (or the
	 * driver does not know them): to see the device refuse FEATURES_OK.
	 */
	uint64_t force;
	/* Replaces the driver's feature table when set (size may be 0: no device features). */
	const unsigned int *feature_table;
	unsigned int feature_table_size;
	uint16_t queue_size;	  /* 0: the device's QueueNumMax (else the smaller) */
	unsigned int max_queues;  /* 0: the driver's choice (e.g. blk: all it offers) */
	unsigned int vring_align; /* 0: VRING_DEFAULT_ALIGN */
	bool use_irq;		  /* drivers complete through interrupts rather than polling */
};

struct virtio_device;
struct virtqueue;

/* What a transport does for the core (Linux's virtio_config_ops, plus queue setup). */
struct virtio_config_ops {
	/* Config space: @len bytes at @offset, at the width of @len when 1, 2, 4 or 8. */
	void (*get)(struct virtio_device *vdev, unsigned int offset, void *buf, unsigned int len);
	void (*set)(struct virtio_device *vdev, unsigned int offset, const void *buf,
		    unsigned int len);
	uint32_t (*generation)(struct virtio_device *vdev);
	uint8_t (*get_status)(struct virtio_device *vdev);
	void (*set_status)(struct virtio_device *vdev, uint8_t status);
	/* Write 0 and wait for the status to read 0. -VIRTIO_ETIMEDOUT if it never does. */
	int (*reset)(struct virtio_device *vdev);
	uint64_t (*get_features)(struct virtio_device *vdev);
	/* Write vdev->features to the device (the core sets FEATURES_OK afterwards). */
	int (*finalize_features)(struct virtio_device *vdev);
	/* QueueNumMax of queue @index; 0 when there is no such queue. */
	unsigned int (*queue_max)(struct virtio_device *vdev, unsigned int index);
	/* Tell the device where @vq's rings are and make it ready. -VIRTIO_EREFUSED if refused. */
	int (*setup_vq)(struct virtio_device *vdev, struct virtqueue *vq);
	void (*del_vq)(struct virtio_device *vdev, struct virtqueue *vq);
	bool (*notify)(struct virtqueue *vq);
	/* Read the interrupt status and acknowledge what it says; returns it. */
	uint32_t (*ack_interrupt)(struct virtio_device *vdev);
};

struct virtio_dev_stats {
	uint64_t interrupts;	    /* interrupt handler runs */
	uint64_t config_interrupts; /* ... with VIRTIO_ISR_CONFIG */
	uint64_t spurious;	    /* ... with nothing in the interrupt status */
	uint64_t config_retries;    /* config reads redone because the generation moved */
	uint64_t config_errors;	    /* config reads that never saw a stable generation */
};

struct virtio_device {
	struct virtio_list node; /* on the bus */
	unsigned int index;	 /* registration order: virtio0, virtio1... */
	char name[16];
	struct virtio_device_id id;
	const struct virtio_config_ops *config;
	void *transport;  /* the transport's own state */
	unsigned int irq; /* IO-APIC pin (GSI), when has_irq */
	bool has_irq;
	bool irq_routed; /* interrupts on: waits sleep in tg_wait_irq() */

	struct virtio_driver *driver; /* bound, or NULL */
	void *priv;		      /* the driver's */
	uint64_t device_features;     /* offered, as read at the last probe */
	uint64_t features;	      /* negotiated (during probe: being negotiated) */
	struct virtio_probe_opts opts;
	int probe_err;		/* result of the last probe: 0 or -VIRTIO_E* */
	char probe_error[96];	/* what the last probe failed on, "" if it did not */
	struct virtio_list vqs; /* struct virtqueue.list */
	struct virtio_dev_stats stats;
};

struct virtio_driver {
	const char *name;
	const struct virtio_device_id *id_table;
	const unsigned int *feature_table; /* bits the driver knows */
	unsigned int feature_table_size;
	const struct virtio_feature_name *feature_names; /* ends with a NULL name; may be NULL */
	/* Before FEATURES_OK: may clear bits of vdev->features, or refuse (negative). */
	int (*validate)(struct virtio_device *vdev);
	/* After FEATURES_OK, before DRIVER_OK: queues, config, buffers. Negative: failed. */
	int (*probe)(struct virtio_device *vdev);
	/* After DRIVER_OK: the first notifications may go out. */
	void (*scan)(struct virtio_device *vdev);
	/* The device was just reset: forget it (nothing to free with a bump allocator). */
	void (*remove)(struct virtio_device *vdev);
	void (*config_changed)(struct virtio_device *vdev);
	struct virtio_list node; /* on the bus */
};

static inline bool virtio_has_feature(const struct virtio_device *vdev, unsigned int bit)
{
	return bit < 64 && (vdev->features & VIRTIO_BIT(bit));
}

static inline void __virtio_set_bit(struct virtio_device *vdev, unsigned int bit)
{
	if (bit < 64)
		vdev->features |= VIRTIO_BIT(bit);
}

static inline void __virtio_clear_bit(struct virtio_device *vdev, unsigned int bit)
{
	if (bit < 64)
		vdev->features &= ~VIRTIO_BIT(bit);
}

/* @vq: a struct virtqueue * walking @vdev's queues. */
#define virtio_for_each_vq(vq, vdev) virtio_list_for_each_entry(vq, &(vdev)->vqs, list)

/*
 * The bus. Registering a driver probes every unbound device it matches;
 * registering a device probes it with the first driver that matches.
 */
void virtio_register_driver(struct virtio_driver *drv);
void virtio_unregister_driver(struct virtio_driver *drv); /* removes its devices first */
/* Returns the probe's result when a driver matched, else 0. */
int virtio_register_device(struct virtio_device *vdev);
void virtio_unregister_device(struct virtio_device *vdev);
/* The @n-th device of type @device_id on the bus (bound or not), or NULL. */
struct virtio_device *virtio_find_device(uint32_t device_id, unsigned int n);
/* The device after @prev (NULL: the first), or NULL: walks the whole bus. */
struct virtio_device *virtio_next_device(struct virtio_device *prev);

bool virtio_dev_match(const struct virtio_device *vdev, const struct virtio_driver *drv);
/*
 * Bring @vdev up with @drv (the sequence of VIRTIO 1.2 section 3.1.1): reset,
 * ACKNOWLEDGE, DRIVER, read the device's features, keep those in the
 * driver's table (or opts.feature_table) and the transport bits the device
 * offers, drop opts.clear and the global clear, let the driver validate,
 * add opts.force, keep what the ring implements, write them and set
 * FEATURES_OK, check the device kept it; the driver's probe; DRIVER_OK,
 * checked too; the driver's scan. On failure the status gets FAILED and the
 * result (and a message in vdev->probe_error) stays in vdev->probe_err.
 */
int virtio_dev_probe(struct virtio_device *vdev, struct virtio_driver *drv);
/* Unbind: interrupts off, reset the device, the driver's remove, queues forgotten. */
void virtio_dev_remove(struct virtio_device *vdev);
/* Remove and probe again with the same driver, with @opts (NULL: keep the device's). */
int virtio_reprobe(struct virtio_device *vdev, const struct virtio_probe_opts *opts);
/* Remove every bound device (before releasing the allocator mark they were probed under). */
void virtio_remove_all(void);

/*
 * Features every probe withholds, by name (comma-separated; transport names
 * such as "event_idx", "indirect", or the probing driver's, such as
 * "mrg_rxbuf", "csum", "flush"; or bit numbers): a run-wide knob, e.g. from
 * the command line. Names a driver does not know are ignored when it
 * probes. -VIRTIO_EINVAL (nothing changed) if a name is known to neither
 * the transport nor any registered driver; NULL or "" clears the knob.
 */
int virtio_set_global_clear(const char *names);
/* Parse @names against the transport's and @drv's names (NULL: transport only). */
int virtio_parse_features(const char *names, const struct virtio_driver *drv, uint64_t *bits,
			  bool ignore_unknown);
/* "version_1 event_idx mac ..." for logs; bits without a name as "bitN". */
void virtio_format_features(char *buf, unsigned int size, uint64_t features,
			    const struct virtio_driver *drv);
/* Log lines from the core (probes, config changes); errors are printed regardless. */
extern bool virtio_verbose;

/* Status. */
uint8_t virtio_status(struct virtio_device *vdev);
void virtio_add_status(struct virtio_device *vdev, uint8_t bits);

/*
 * Config space, read until the generation counter is the same before and
 * after (so multi-word fields are consistent). -VIRTIO_EBROKEN (counted in
 * stats.config_errors, buffer zeroed) if it never settles.
 */
int virtio_cread(struct virtio_device *vdev, unsigned int offset, void *buf, unsigned int len);
void virtio_cwrite(struct virtio_device *vdev, unsigned int offset, const void *buf,
		   unsigned int len);

static inline uint8_t virtio_cread8(struct virtio_device *vdev, unsigned int offset)
{
	uint8_t v;

	virtio_cread(vdev, offset, &v, sizeof(v));
	return v;
}

static inline uint16_t virtio_cread16(struct virtio_device *vdev, unsigned int offset)
{
	uint16_t v;

	virtio_cread(vdev, offset, &v, sizeof(v));
	return v;
}

static inline uint32_t virtio_cread32(struct virtio_device *vdev, unsigned int offset)
{
	uint32_t v;

	virtio_cread(vdev, offset, &v, sizeof(v));
	return v;
}

static inline uint64_t virtio_cread64(struct virtio_device *vdev, unsigned int offset)
{
	uint64_t v;

	virtio_cread(vdev, offset, &v, sizeof(v));
	return v;
}

/*
 * Queue @index of a device being probed: QueueNumMax (or opts.queue_size
 * when smaller, rounded down to a power of two), rings made and handed to
 * the device, which must accept them. NULL (reported in probe_error) if
 * the queue does not exist or the device refuses it.
 */
struct virtqueue *virtio_find_vq(struct virtio_device *vdev, unsigned int index,
				 void (*callback)(struct virtqueue *vq), const char *name);
void virtio_del_vqs(struct virtio_device *vdev);

/*
 * Interrupts. The handler reads and acknowledges the interrupt status, runs
 * vring_interrupt() on every queue for VIRTIO_ISR_VQ and the driver's
 * config_changed for VIRTIO_ISR_CONFIG. virtio_use_irq(vdev, true) routes
 * the device's pin to it and asks every queue for interrupts; false unroutes
 * it and asks for none (polling). -VIRTIO_ENODEV without a pin, -VIRTIO_EBROKEN
 * if the runtime has no vector left.
 */
void virtio_interrupt(void *vdev);
int virtio_use_irq(struct virtio_device *vdev, bool on);

/*
 * Wait until @vq has used entries: spinning on the used index, or (with
 * interrupts routed) asleep in tg_wait_irq() between checks. 0, or
 * -VIRTIO_ETIMEDOUT after @timeout_ns, -VIRTIO_EBROKEN on a broken queue.
 */
int virtio_wait_used(struct virtqueue *vq, uint64_t timeout_ns);

/*
 * For drivers' validate and probe: record why the probe fails (the first
 * reason only) in vdev->probe_error, print it, and return @err (negative).
 */
int virtio_probe_fail(struct virtio_device *vdev, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
