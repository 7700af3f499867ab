/* SPDX-License-Identifier: MIT */
/*
 * The flattened device tree that describes the platform to the guest: the
 * CPUs and the IO-APIC, which the VM itself has, then one node (or a few)
 * per device, each written by the device's own callback in the order the
 * devices were added.
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

/* What a device's callback may use while the tree is written. */
struct fdt_ctx {
	uint32_t ioapic;       /* the IO-APIC's phandle: the interrupt parent */
	uint32_t next_phandle; /* the next free phandle (fdt_new_phandle) */
};

/* Adds the caller's node(s) under the root; a libfdt error code (0: done). */
typedef int (*fdt_node_fn)(void *fdt, void *opaque, struct fdt_ctx *ctx);

struct fdt_desc {
	unsigned int ncpus;
	struct {
		fdt_node_fn fn;
		void *opaque;
	} nodes[FDT_MAX_NODES];
	unsigned int nr_nodes;
};

int fdt_add_device(struct fdt_desc *desc, fdt_node_fn fn, void *opaque);
/* A phandle no other node of this tree has. */
uint32_t fdt_new_phandle(struct fdt_ctx *ctx);
/* A reg property with 2 address and 2 size cells, as the root declares. */
int fdt_reg(void *fdt, uint64_t addr, uint64_t size);
int fdt_build(const struct fdt_desc *desc, void *buf, size_t size);

#endif
