// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/mmio/bus.h"
#include "core/error.h"
#include "core/util.h"

int io_bus_register(struct io_bus *bus, uint64_t base, uint64_t len, const struct io_dev_ops *ops,
		    void *opaque)
{
	uint64_t end;
	unsigned int pos = 0;

	if (!len || range_end_overflows(base, len, &end))
		return set_error("%s: bad device range 0x%llx+0x%llx", bus->name,
				 (unsigned long long)base, (unsigned long long)len);
	while (pos < bus->nr && bus->ranges[pos].base < base)
		pos++;
	if ((pos < bus->nr &&
	     ranges_overlap(base, len, bus->ranges[pos].base, bus->ranges[pos].len)) ||
	    (pos > 0 &&
	     ranges_overlap(base, len, bus->ranges[pos - 1].base, bus->ranges[pos - 1].len)))
		return set_error("%s: device range 0x%llx+0x%llx overlaps another", bus->name,
				 (unsigned long long)base, (unsigned long long)len);
	if (bus->nr == bus->cap) {
		unsigned int cap = bus->cap ? bus->cap * 2 : 16;
		struct io_range *r = realloc(bus->ranges, cap * sizeof(*r));

		if (!r)
			return set_error("out of memory");
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos], (bus->nr - pos) * sizeof(*bus->ranges));
	bus->ranges[pos] = (struct io_range){base, len, ops, opaque};
	bus->nr++;
	return 0;
}

static const struct io_range *io_bus_find(const struct io_bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct io_range *r = &bus->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

/*
 * Dispatch one access. An access that is not wholly inside one device reads
 * as all ones and writes nowhere, like an empty bus; returns false then.
 */
bool io_bus_access(const struct io_bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		   bool is_write)
{
	const struct io_range *r = io_bus_find(bus, addr);

	if (!r || len > r->len - (addr - r->base)) {
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	if (is_write) {
		if (r->ops->write)
			r->ops->write(r->opaque, addr - r->base, data, len);
	} else if (r->ops->read) {
		r->ops->read(r->opaque, addr - r->base, data, len);
	} else {
		memset(data, 0xff, len);
	}
	return true;
}

int io_bus_index(const struct io_bus *bus, uint64_t addr)
{
	const struct io_range *r = io_bus_find(bus, addr);

	return r ? (int)(r - bus->ranges) : -1;
}

void io_bus_describe(const struct io_bus *bus, int index, uint64_t addr, char *buf, size_t len)
{
	const struct io_range *r;

	if (index < 0 || (unsigned int)index >= bus->nr) {
		snprintf(buf, len, "unclaimed 0x%llx", (unsigned long long)addr);
		return;
	}
	r = &bus->ranges[index];
	if (r->ops->describe)
		r->ops->describe(r->opaque, addr - r->base, buf, len);
	else
		snprintf(buf, len, "%s +0x%llx", r->ops->name ? r->ops->name : bus->name,
			 (unsigned long long)(addr - r->base));
}

void io_bus_free(struct io_bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
}
