/* SPDX-License-Identifier: MIT */
/*
 * The flattened device tree that describes the platform to the guest:
 * CPUs, the IO-APIC, the power-off register and one node per device,
 * each added by the device's own callback.
 */
#ifndef VMM_FDT_H
#define VMM_FDT_H

#include <stddef.h>
#include <stdint.h>

#define FDT_MAX_SIZE   0x10000
#define FDT_MAX_NODES  32
#define FDT_COMPATIBLE "linux,dummy-virt"

/* IO-APIC interrupt specifier, cell 1: an index into Linux's of_ioapic_type[]. */
#define FDT_IRQ_EDGE_RISING 3
#define FDT_IRQ_LEVEL_HIGH  1

/* Adds the caller's node(s) under the root; @ioapic is the IO-APIC's phandle. */
typedef int (*fdt_node_fn)(void *fdt, void *opaque, uint32_t ioapic);

struct fdt_desc {
	unsigned int ncpus;
	int power_off; /* describe the syscon power-off register */
	struct {
		fdt_node_fn fn;
		void *opaque;
	} nodes[FDT_MAX_NODES];
	unsigned int nr_nodes;
};

int fdt_add_device(struct fdt_desc *desc, fdt_node_fn fn, void *opaque);
int fdt_build(const struct fdt_desc *desc, void *buf, size_t size);

#endif
