/* SPDX-License-Identifier: MIT */
/*
 * The test guest's virtio-mmio transport, version 2 (VIRTIO 1.2 section
 * 4.2): finds the devices (device tree nodes compatible with "virtio,mmio",
 * and virtio_mmio.device=SIZE@ADDR:IRQ words on the command line, as Linux
 * takes them), puts each on the virtio bus, and drives the registers for
 * the core. The raw register helpers are for hostile scenarios.
 */
#ifndef TESTGUEST_VIRTIO_MMIO_H
#define TESTGUEST_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "rt.h"
#include "virtio.h"

/* Registers (32-bit, naturally aligned); the config space starts at 0x100. */
#define VIRTIO_MMIO_MAGIC_VALUE		0x000 /* "virt" */
#define VIRTIO_MMIO_VERSION		0x004 /* 2; 1 is the legacy interface */
#define VIRTIO_MMIO_DEVICE_ID		0x008 /* 0: a placeholder, no device */
#define VIRTIO_MMIO_VENDOR_ID		0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW	0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW	0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH	0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100

#define VIRTIO_MMIO_MAGIC	0x74726976 /* "virt" read as a little-endian word */
#define VIRTIO_MMIO_MIN_SIZE	0x200	   /* registers and 256 bytes of config */
#define VIRTIO_MMIO_MAX_DEVICES 32

struct virtio_mmio_device {
	struct virtio_device vdev;
	uintptr_t base;
	uint64_t size;	      /* of the window, from the device tree or command line */
	uint32_t version;     /* as read: 2 */
	const char *found_by; /* "dt" or "cmdline" */
};

static inline struct virtio_mmio_device *to_virtio_mmio(struct virtio_device *vdev)
{
	return virtio_container_of(vdev, struct virtio_mmio_device, vdev);
}

/* Raw register access: any offset, any value, no checks. */
static inline uint32_t virtio_mmio_read(const struct virtio_mmio_device *m, unsigned int off)
{
	return tg_read32(m->base + off);
}

static inline void virtio_mmio_write(const struct virtio_mmio_device *m, unsigned int off,
				     uint32_t val)
{
	tg_write32(m->base + off, val);
}

/*
 * Find every device: the device tree's nodes first, then the command line's
 * words (a window found both ways counts once). Returns how many devices were
 * put on the bus; their probes (if drivers are registered) happen then.
 * Call it once, before the first allocator mark: the devices live for good.
 */
int virtio_mmio_discover(void);
int virtio_mmio_discover_dt(const void *fdt);
int virtio_mmio_discover_cmdline(void);

/*
 * One virtio_mmio.device= value: SIZE@ADDR:IRQ[:ID], SIZE and ADDR in C
 * notation (0x... hex), SIZE with an optional K, M or G suffix. -VIRTIO_EINVAL
 * when malformed.
 */
int virtio_mmio_parse_device(const char *val, uint64_t *base, uint64_t *size, unsigned int *irq);

/*
 * The window at @base: check the magic and version, skip a placeholder
 * (DeviceID 0), and register it on the bus. NULL when there is no usable
 * device there (reported) or it is already known.
 */
struct virtio_mmio_device *virtio_mmio_add(uint64_t base, uint64_t size, bool has_irq,
					   unsigned int irq, const char *found_by);
/* The device found at @base, or NULL. */
struct virtio_mmio_device *virtio_mmio_find(uint64_t base);

/*
 * Run-wide knobs from the command line: virtio.clear=NAMES (features no
 * probe negotiates, see virtio_set_global_clear()), virtio.verbose=0. Call
 * after registering the drivers, before discovery. -VIRTIO_EINVAL when a
 * name is unknown (reported).
 */
int virtio_params_from_cmdline(void);

#endif
