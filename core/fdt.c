// SPDX-License-Identifier: MIT
#include <stdio.h>

#include <libfdt.h>

#include "core/error.h"
#include "core/fdt.h"
#include "core/layout.h"

#define PHANDLE_IOAPIC 1

int fdt_add_device(struct fdt_desc *desc, fdt_node_fn fn, void *opaque)
{
	if (desc->nr_nodes >= FDT_MAX_NODES)
		return set_error("too many devices for the device tree");
	desc->nodes[desc->nr_nodes].fn = fn;
	desc->nodes[desc->nr_nodes].opaque = opaque;
	desc->nr_nodes++;
	return 0;
}

uint32_t fdt_new_phandle(struct fdt_ctx *ctx)
{
	return ctx->next_phandle++;
}

int fdt_reg(void *fdt, uint64_t addr, uint64_t size)
{
	fdt64_t reg[2] = {cpu_to_fdt64(addr), cpu_to_fdt64(size)};

	return fdt_property(fdt, "reg", reg, sizeof(reg));
}

static int fdt_cpus(void *fdt, unsigned int ncpus)
{
	char name[32];
	int err = fdt_begin_node(fdt, "cpus");

	err = err ?: fdt_property_u32(fdt, "#address-cells", 1);
	err = err ?: fdt_property_u32(fdt, "#size-cells", 0);
	for (unsigned int i = 0; i < ncpus && !err; i++) {
		/* reg is the APIC id; the VMM gives vCPU i APIC id i. */
		snprintf(name, sizeof(name), "cpu@%u", i);
		err = fdt_begin_node(fdt, name);
		err = err ?: fdt_property_string(fdt, "device_type", "cpu");
		err = err ?: fdt_property_u32(fdt, "reg", i);
		err = err ?: fdt_end_node(fdt);
	}
	return err ?: fdt_end_node(fdt);
}

static int fdt_ioapic(void *fdt)
{
	char name[48];
	int err;

	snprintf(name, sizeof(name), "interrupt-controller@%llx", (unsigned long long)IOAPIC_ADDR);
	err = fdt_begin_node(fdt, name);
	err = err ?: fdt_property_string(fdt, "compatible", "intel,ce4100-ioapic");
	err = err ?: fdt_property(fdt, "interrupt-controller", NULL, 0);
	err = err ?: fdt_property_u32(fdt, "#interrupt-cells", 2);
	err = err ?: fdt_property_u32(fdt, "#address-cells", 0);
	err = err ?: fdt_reg(fdt, IOAPIC_ADDR, 0x1000);
	err = err ?: fdt_property_u32(fdt, "phandle", PHANDLE_IOAPIC);
	return err ?: fdt_end_node(fdt);
}

static int fdt_root(const struct fdt_desc *desc, void *fdt)
{
	struct fdt_ctx ctx = {.ioapic = PHANDLE_IOAPIC, .next_phandle = PHANDLE_IOAPIC + 1};
	int err = fdt_begin_node(fdt, "");

	err = err ?: fdt_property_u32(fdt, "#address-cells", 2);
	err = err ?: fdt_property_u32(fdt, "#size-cells", 2);
	err = err ?: fdt_property_string(fdt, "compatible", FDT_COMPATIBLE);
	err = err ?: fdt_property_string(fdt, "model", "vmm");
	err = err ?: fdt_property_u32(fdt, "interrupt-parent", PHANDLE_IOAPIC);
	err = err ?: fdt_cpus(fdt, desc->ncpus);
	err = err ?: fdt_ioapic(fdt);
	for (unsigned int i = 0; i < desc->nr_nodes && !err; i++)
		err = desc->nodes[i].fn(fdt, desc->nodes[i].opaque, &ctx);
	return err ?: fdt_end_node(fdt);
}

/* Build the blob into @buf; returns its size or -1. */
int fdt_build(const struct fdt_desc *desc, void *buf, size_t size)
{
	int err = fdt_create(buf, size);

	err = err ?: fdt_finish_reservemap(buf);
	err = err ?: fdt_root(desc, buf);
	err = err ?: fdt_finish(buf);
	if (err)
		return set_error("cannot build device tree: %s", fdt_strerror(err));
	return (int)fdt_totalsize(buf);
}
