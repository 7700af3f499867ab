/* SPDX-License-Identifier: MIT */
/*
 * An address space of devices: one for port I/O, one for MMIO. A vCPU exit
 * is dispatched to the device whose range holds the address, with the offset
 * into that range. The ranges are fixed before the first vCPU runs, so
 * lookups need no lock; each device guards its own state.
 */
#ifndef DEVICES_MMIO_BUS_H
#define DEVICES_MMIO_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct io_dev_ops {
	void (*read)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);
	const char *name; /* the device, for --stats: "COM1", "CMOS", ... */
	/* Optional, for --stats: the instance and register at @offset, "virtio-blk0 QueueNotify".
	 */
	void (*describe)(void *opaque, uint64_t offset, char *buf, size_t len);
};

struct io_range {
	uint64_t base;
	uint64_t len;
	const struct io_dev_ops *ops;
	void *opaque;
};

struct io_bus {
	const char *name;
	struct io_range *ranges; /* sorted by base, never overlapping */
	unsigned int nr;
	unsigned int cap;
};

int io_bus_register(struct io_bus *bus, uint64_t base, uint64_t len, const struct io_dev_ops *ops,
		    void *opaque);
bool io_bus_access(const struct io_bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		   bool is_write);
/* The index of the range holding @addr, -1 for none. */
int io_bus_index(const struct io_bus *bus, uint64_t addr);
/* "virtio-blk0 QueueNotify", "COM1 LSR", "CMOS +0x1": the register at @addr. */
void io_bus_describe(const struct io_bus *bus, int index, uint64_t addr, char *buf, size_t len);
void io_bus_free(struct io_bus *bus);

#endif
