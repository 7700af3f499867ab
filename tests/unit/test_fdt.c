// SPDX-License-Identifier: MIT
#include <stdio.h>

#include <libfdt.h>

#include "core/fdt.h"
#include "core/layout.h"
#include "devices/legacy/platform.h"
#include "devices/mmio/virtio_mmio.h"
#include "tests/unit/suites.h"

static _Alignas(8) char blob[FDT_MAX_SIZE];

static int build(struct fdt_desc *desc)
{
	int size;

	clear_error();
	size = fdt_build(desc, blob, sizeof(blob));
	ck_assert_msg(size > 0, "fdt_build: %s", last_error());
	ck_assert_int_eq(fdt_check_header(blob), 0);
	ck_assert_int_eq(fdt_totalsize(blob), size);
	return size;
}

static int node(const char *path)
{
	int off = fdt_path_offset(blob, path);

	ck_assert_msg(off >= 0, "no node %s: %s", path, fdt_strerror(off));
	return off;
}

static uint32_t prop_u32(int off, const char *name)
{
	int len;
	const fdt32_t *p = fdt_getprop(blob, off, name, &len);

	ck_assert_msg(p != NULL, "no property %s", name);
	ck_assert_int_eq(len, 4);
	return fdt32_to_cpu(*p);
}

static const char *prop_str(int off, const char *name)
{
	const char *s = fdt_getprop(blob, off, name, NULL);

	ck_assert_msg(s != NULL, "no property %s", name);
	return s;
}

/* A reg of two 64-bit cells, as the root's #address-cells and #size-cells say. */
static void assert_reg(int off, uint64_t addr, uint64_t size)
{
	int len;
	const void *p = fdt_getprop(blob, off, "reg", &len);
	fdt64_t reg[2];

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(len, 16);
	memcpy(reg, p, sizeof(reg)); /* properties are only 4-byte aligned */
	ck_assert_uint_eq(fdt64_to_cpu(reg[0]), addr);
	ck_assert_uint_eq(fdt64_to_cpu(reg[1]), size);
}

static int by_compatible(const char *compat)
{
	return fdt_node_offset_by_compatible(blob, -1, compat);
}

static unsigned int count_subnodes(int parent)
{
	unsigned int n = 0;
	int off;

	fdt_for_each_subnode(off, blob, parent) n++;
	return n;
}

START_TEST(root_node)
{
	struct fdt_desc desc = {.ncpus = 1};

	build(&desc);
	ck_assert_str_eq(prop_str(0, "compatible"), "linux,dummy-virt");
	ck_assert_uint_eq(prop_u32(0, "#address-cells"), 2);
	ck_assert_uint_eq(prop_u32(0, "#size-cells"), 2);
}
END_TEST

static void assert_cpus(unsigned int ncpus)
{
	struct fdt_desc desc = {.ncpus = ncpus};
	char path[32];
	int cpus;

	build(&desc);
	cpus = node("/cpus");
	ck_assert_uint_eq(prop_u32(cpus, "#address-cells"), 1);
	ck_assert_uint_eq(prop_u32(cpus, "#size-cells"), 0);
	ck_assert_uint_eq(count_subnodes(cpus), ncpus);
	for (unsigned int i = 0; i < ncpus; i++) {
		int cpu;

		snprintf(path, sizeof(path), "/cpus/cpu@%u", i);
		cpu = node(path);
		ck_assert_str_eq(prop_str(cpu, "device_type"), "cpu");
		ck_assert_uint_eq(prop_u32(cpu, "reg"), i);
	}
	snprintf(path, sizeof(path), "/cpus/cpu@%u", ncpus);
	ck_assert_int_eq(fdt_path_offset(blob, path), -FDT_ERR_NOTFOUND);
}

START_TEST(one_cpu)
{
	assert_cpus(1);
}
END_TEST

START_TEST(four_cpus)
{
	assert_cpus(4);
}
END_TEST

START_TEST(ioapic_node)
{
	struct fdt_desc desc = {.ncpus = 2};
	int io, len;

	build(&desc);
	io = by_compatible("intel,ce4100-ioapic");
	ck_assert_int_ge(io, 0);
	ck_assert_int_eq(io, node("/interrupt-controller@fec00000"));
	ck_assert_ptr_nonnull(fdt_getprop(blob, io, "interrupt-controller", &len));
	ck_assert_int_eq(len, 0);
	ck_assert_uint_eq(prop_u32(io, "#interrupt-cells"), 2);
	assert_reg(io, 0xfec00000, 0x1000);
}
END_TEST

/* Every device inherits the IO-APIC as its interrupt parent from the root. */
START_TEST(ioapic_is_interrupt_parent)
{
	struct fdt_desc desc = {.ncpus = 1};
	uint32_t phandle;

	build(&desc);
	phandle = fdt_get_phandle(blob, by_compatible("intel,ce4100-ioapic"));
	ck_assert_uint_ne(phandle, 0);
	ck_assert_uint_eq(prop_u32(0, "interrupt-parent"), phandle);
}
END_TEST

/* The platform device describes its own power-off register. */
START_TEST(power_off_nodes)
{
	struct fdt_desc desc = {.ncpus = 1};
	int syscon, off;

	ck_assert_int_eq(fdt_add_device(&desc, platform_fdt_node, NULL), 0);
	build(&desc);
	syscon = by_compatible("syscon");
	ck_assert_int_ge(syscon, 0);
	assert_reg(syscon, 0xc0000000, POWER_MMIO_LEN);
	ck_assert_uint_eq(prop_u32(syscon, "reg-io-width"), 4);
	off = by_compatible("syscon-poweroff");
	ck_assert_int_ge(off, 0);
	ck_assert_uint_ne(fdt_get_phandle(blob, syscon), 0);
	ck_assert_uint_eq(prop_u32(off, "regmap"), fdt_get_phandle(blob, syscon));
	ck_assert_uint_eq(prop_u32(off, "offset"), POWER_REG_OFF);
	ck_assert_uint_eq(prop_u32(off, "value"), 1);
	/* Two phandles in one tree must differ. */
	ck_assert_uint_ne(fdt_get_phandle(blob, syscon),
			  fdt_get_phandle(blob, by_compatible("intel,ce4100-ioapic")));
}
END_TEST

START_TEST(no_power_off_nodes)
{
	struct fdt_desc desc = {.ncpus = 1};

	build(&desc);
	ck_assert_int_eq(by_compatible("syscon"), -FDT_ERR_NOTFOUND);
	ck_assert_int_eq(by_compatible("syscon-poweroff"), -FDT_ERR_NOTFOUND);
	ck_assert_int_eq(fdt_path_offset(blob, "/poweroff"), -FDT_ERR_NOTFOUND);
}
END_TEST

/* A virtio-mmio transport's node, with a record of how the tree builder called it. */
struct recorded_dev {
	struct virtio_mmio t;
	unsigned int calls;
	uint32_t ioapic_seen;
};

static int add_virtio(void *fdt, void *opaque, struct fdt_ctx *ctx)
{
	struct recorded_dev *d = opaque;

	d->calls++;
	d->ioapic_seen = ctx->ioapic;
	return virtio_mmio_fdt_node(fdt, &d->t, ctx);
}

START_TEST(device_callback)
{
	struct recorded_dev dev = {.t = {.base = VIRTIO_MMIO_BASE, .gsi = 16}};
	struct fdt_desc desc = {.ncpus = 1};
	const fdt32_t *irq;
	int off, len;

	ck_assert_int_eq(fdt_add_device(&desc, add_virtio, &dev), 0);
	build(&desc);
	ck_assert_uint_eq(dev.calls, 1);
	ck_assert_uint_eq(dev.ioapic_seen,
			  fdt_get_phandle(blob, by_compatible("intel,ce4100-ioapic")));
	off = node("/virtio@d0000000");
	ck_assert_str_eq(prop_str(off, "compatible"), "virtio,mmio");
	assert_reg(off, 0xd0000000, 0x200);
	irq = fdt_getprop(blob, off, "interrupts", &len);
	ck_assert_int_eq(len, 8);
	ck_assert_uint_eq(fdt32_to_cpu(irq[0]), 16);
	ck_assert_uint_eq(fdt32_to_cpu(irq[1]), 3);
	ck_assert_uint_eq(prop_u32(off, "interrupt-parent"), dev.ioapic_seen);
}
END_TEST

static int failing_node(void *fdt, void *opaque, struct fdt_ctx *ctx)
{
	(void)fdt;
	(void)opaque;
	(void)ctx;
	return -FDT_ERR_BADVALUE;
}

START_TEST(device_callback_error)
{
	struct fdt_desc desc = {.ncpus = 1};

	ck_assert_int_eq(fdt_add_device(&desc, failing_node, NULL), 0);
	ck_assert_fails_with(fdt_build(&desc, blob, sizeof(blob)), "cannot build device tree");
	ck_assert_error(fdt_strerror(-FDT_ERR_BADVALUE));
}
END_TEST

START_TEST(buffer_too_small)
{
	struct fdt_desc desc = {.ncpus = 4};
	int size;

	ck_assert_int_eq(fdt_add_device(&desc, platform_fdt_node, NULL), 0);
	size = build(&desc);

	ck_assert_fails_with(fdt_build(&desc, blob, (size_t)size / 2), "cannot build device tree");
	ck_assert_error("NOSPACE");
	ck_assert_fails_with(fdt_build(&desc, blob, 16), "cannot build device tree");
}
END_TEST

START_TEST(max_nodes)
{
	static struct recorded_dev devs[FDT_MAX_NODES + 1];
	struct fdt_desc desc = {.ncpus = 1};
	char path[32];

	for (unsigned int i = 0; i < FDT_MAX_NODES; i++) {
		devs[i] = (struct recorded_dev){
		    .t = {.base = VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE, .gsi = 5 + i}};
		ck_assert_int_eq(fdt_add_device(&desc, add_virtio, &devs[i]), 0);
	}
	ck_assert_fails_with(fdt_add_device(&desc, add_virtio, &devs[FDT_MAX_NODES]),
			     "too many devices");
	ck_assert_uint_eq(desc.nr_nodes, FDT_MAX_NODES);
	build(&desc);
	for (unsigned int i = 0; i < FDT_MAX_NODES; i++) {
		ck_assert_uint_eq(devs[i].calls, 1);
		snprintf(path, sizeof(path), "/virtio@%llx", (unsigned long long)devs[i].t.base);
		ck_assert_uint_eq(prop_u32(node(path), "interrupt-parent"), devs[i].ioapic_seen);
	}
	ck_assert_uint_eq(devs[FDT_MAX_NODES].calls, 0);
}
END_TEST

Suite *fdt_suite(void)
{
	Suite *s = suite_create("fdt");
	TCase *tc = tcase_create("fdt_build");
	TCase *dev = tcase_create("devices");

	tcase_add_test(tc, root_node);
	tcase_add_test(tc, one_cpu);
	tcase_add_test(tc, four_cpus);
	tcase_add_test(tc, ioapic_node);
	tcase_add_test(tc, ioapic_is_interrupt_parent);
	tcase_add_test(tc, power_off_nodes);
	tcase_add_test(tc, no_power_off_nodes);
	tcase_add_test(tc, buffer_too_small);
	suite_add_tcase(s, tc);

	tcase_add_test(dev, device_callback);
	tcase_add_test(dev, device_callback_error);
	tcase_add_test(dev, max_nodes);
	suite_add_tcase(s, dev);
	return s;
}
