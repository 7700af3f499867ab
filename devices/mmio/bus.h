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
#include <stdint.h>

struct io_dev_ops {
	void (*read)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);
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
void io_bus_free(struct io_bus *bus);

#endif
