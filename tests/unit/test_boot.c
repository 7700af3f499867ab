// SPDX-License-Identifier: MIT
#include <stdlib.h>

#include <libfdt.h>

#include "core/boot.h"
#include "core/fdt.h"
#include "core/layout.h"
#include "core/util.h"
#include "tests/unit/images.h"
#include "tests/unit/suites.h"

#define E820_RAM      1
#define E820_RESERVED 2

#define KERNEL_ADDR  (16 * MiB)
#define TEST_CMDLINE "console=ttyS0 reboot=k panic=-1 quiet"

/* Page-table entry bits (SDM vol. 3, 4.5). */
#define PTE_P	 0x1ULL
#define PTE_RW	 0x2ULL
#define PTE_PS	 0x80ULL
#define PTE_ADDR 0x000ffffffffff000ULL

/* Segment descriptor bits (SDM vol. 3, 3.4.5). */
#define DESC_CODE BIT(43)
#define DESC_S	  BIT(44)
#define DESC_P	  BIT(47)
#define DESC_L	  BIT(53)
#define DESC_DB	  BIT(54)
#define DESC_G	  BIT(55)

static struct guest_mem mem;
static struct test_image elf;
static struct kernel_image kernel;
static uint8_t seed[BOOT_RNG_SEED_SIZE];
static char dtb[FDT_MAX_SIZE];
static int dtb_size;

/* 32 MiB of guest RAM, an ELF kernel at 16 MiB, a one-CPU device tree and a seed. */
static void boot_fixture_setup(void)
{
	const struct test_segment seg = {PT_LOAD, KERNEL_ADDR, 0x1000, 0x2000};
	struct fdt_desc desc = {.ncpus = 1};

	ck_assert_msg(guest_mem_alloc(&mem, 32 * MiB) == 0, "%s", last_error());
	elf_image_build(&elf, KERNEL_ADDR, &seg, 1);
	ck_assert_msg(kernel_load(elf.data, elf.size, &mem, &kernel) == 0, "%s", last_error());
	for (unsigned int i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(0xc0 + i);
	dtb_size = fdt_build(&desc, dtb, sizeof(dtb));
	ck_assert_msg(dtb_size > 0, "%s", last_error());
}

static void boot_fixture_teardown(void)
{
	guest_mem_free(&mem);
}

static struct boot_setup full_setup(void)
{
	return (struct boot_setup){
	    .kernel = &kernel,
	    .cmdline = TEST_CMDLINE,
	    .initrd_addr = 0x1f00000,
	    .initrd_size = 0x12345,
	    .dtb = dtb,
	    .dtb_size = (size_t)dtb_size,
	    .rng_seed = seed,
	};
}

static void *guest(uint64_t gpa, uint64_t len)
{
	void *p = gpa_to_hva(&mem, gpa, len);

	ck_assert_msg(p != NULL, "0x%llx+0x%llx is not RAM", (unsigned long long)gpa,
		      (unsigned long long)len);
	return p;
}

static struct boot_params *zero_page(void)
{
	return guest(BOOT_PARAMS_ADDR, sizeof(struct boot_params));
}

static void assert_e820(const struct boot_e820_entry *e, uint64_t addr, uint64_t size,
			uint32_t type)
{
	ck_assert_uint_eq(e->addr, addr);
	ck_assert_uint_eq(e->size, size);
	ck_assert_uint_eq(e->type, type);
}

static int e820_of(uint64_t size, struct boot_e820_entry *table, unsigned int max)
{
	ck_assert_int_eq(guest_mem_layout(&mem, size), 0);
	return e820_build(&mem, table, max);
}

/* The first two entries are the same for every size: the PC's first MiB. */
static void assert_legacy_e820(const struct boot_e820_entry *t)
{
	assert_e820(&t[0], 0, 0x9fc00, E820_RAM);
	assert_e820(&t[1], 0x9fc00, 0x100000 - 0x9fc00, E820_RESERVED);
}

START_TEST(e820_128m)
{
	struct boot_e820_entry t[8];

	ck_assert_int_eq(e820_of(128 * MiB, t, 8), 3);
	assert_legacy_e820(t);
	assert_e820(&t[2], MiB, 127 * MiB, E820_RAM);
}
END_TEST

START_TEST(e820_3g)
{
	struct boot_e820_entry t[8];

	ck_assert_int_eq(e820_of(3 * GiB, t, 8), 3);
	assert_legacy_e820(t);
	assert_e820(&t[2], MiB, 3 * GiB - MiB, E820_RAM);
}
END_TEST

START_TEST(e820_6g)
{
	struct boot_e820_entry t[8];

	ck_assert_int_eq(e820_of(6 * GiB, t, 8), 4);
	assert_legacy_e820(t);
	assert_e820(&t[2], MiB, 3 * GiB - MiB, E820_RAM);
	assert_e820(&t[3], 4 * GiB, 3 * GiB, E820_RAM);
}
END_TEST

/* Sorted, disjoint, and nothing (RAM or reserved) claims the MMIO hole. */
START_TEST(e820_never_covers_hole)
{
	static const uint64_t sizes[] = {16 * MiB, 3 * GiB, 3 * GiB + 4 * KiB, 6 * GiB, 1ULL << 40};
	struct boot_e820_entry t[8];

	for (unsigned int s = 0; s < ARRAY_SIZE(sizes); s++) {
		int n = e820_of(sizes[s], t, 8);
		uint64_t ram = 0;

		ck_assert_int_ge(n, 3);
		for (int i = 0; i < n; i++) {
			ck_assert(!ranges_overlap(t[i].addr, t[i].size, MMIO_HOLE_START,
						  MMIO_HOLE_END - MMIO_HOLE_START));
			if (i)
				ck_assert_uint_le(t[i - 1].addr + t[i - 1].size, t[i].addr);
			if (t[i].type == E820_RAM)
				ram += t[i].size;
		}
		/* All RAM but the legacy area between 0x9fc00 and 1 MiB. */
		ck_assert_uint_eq(ram, sizes[s] - (MiB - 0x9fc00));
	}
}
END_TEST

START_TEST(e820_table_too_small)
{
	struct boot_e820_entry t[4];

	ck_assert_int_eq(guest_mem_layout(&mem, 128 * MiB), 0);
	ck_assert_fails_with(e820_build(&mem, t, 2), "e820 table full");
	ck_assert_fails_with(e820_build(&mem, t, 0), "e820 table full");
	ck_assert_int_eq(e820_build(&mem, t, 3), 3);
	ck_assert_int_eq(guest_mem_layout(&mem, 6 * GiB), 0);
	ck_assert_fails_with(e820_build(&mem, t, 3), "e820 table full");
}
END_TEST

START_TEST(cmdline_joins_parts)
{
	const char *const parts[] = {"console=ttyS0", "quiet", "init=/init"};
	char out[64];

	ck_assert_int_eq(cmdline_build(out, sizeof(out), parts, 3), 0);
	ck_assert_str_eq(out, "console=ttyS0 quiet init=/init");
	ck_assert_int_eq(cmdline_build(out, sizeof(out), parts, 1), 0);
	ck_assert_str_eq(out, "console=ttyS0");
}
END_TEST

START_TEST(cmdline_skips_missing_parts)
{
	const char *const parts[] = {NULL, "a", "", "b", NULL, ""};
	const char *const none[] = {NULL, ""};
	char out[16];

	ck_assert_int_eq(cmdline_build(out, sizeof(out), parts, 6), 0);
	ck_assert_str_eq(out, "a b");
	memset(out, 'x', sizeof(out));
	ck_assert_int_eq(cmdline_build(out, sizeof(out), none, 2), 0);
	ck_assert_str_eq(out, "");
	memset(out, 'x', sizeof(out));
	ck_assert_int_eq(cmdline_build(out, sizeof(out), none, 0), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(cmdline_param_found_as_whole_word)
{
	ck_assert(cmdline_has_param("root=/dev/vda", "root"));
	ck_assert(cmdline_has_param("quiet\troot=/dev/vdb rw", "root"));
	ck_assert(cmdline_has_param("a  root", "root"));
	ck_assert(!cmdline_has_param("vmmtest.root=vda", "root"));
	ck_assert(!cmdline_has_param("rootwait rootfstype=ext4", "root"));
	ck_assert(!cmdline_has_param("", "root"));
	ck_assert(!cmdline_has_param(NULL, "root"));
	ck_assert(!cmdline_has_param("   ", "root"));
}
END_TEST

/*
 * "abc de" needs 7 bytes with its NUL. The buffers are heap blocks of the
 * exact size so that ASan catches a write one past the end.
 */
START_TEST(cmdline_exact_fit)
{
	const char *const parts[] = {"abc", "de"};
	char *out = malloc(7);

	ck_assert_int_eq(cmdline_build(out, 7, parts, 2), 0);
	ck_assert_str_eq(out, "abc de");
	free(out);
}
END_TEST

START_TEST(cmdline_one_byte_short_refused)
{
	const char *const parts[] = {"abc", "de"};
	const char *const one[] = {"abcd"};
	char *out = malloc(6);

	ck_assert_fails_with(cmdline_build(out, 6, parts, 2), "too long");
	ck_assert_error("limit 5 bytes");
	ck_assert_int_eq(cmdline_build(out, 5, one, 1), 0);
	ck_assert_str_eq(out, "abcd");
	ck_assert_fails_with(cmdline_build(out, 4, one, 1), "too long");
	free(out);
}
END_TEST

START_TEST(cmdline_empty_buffer)
{
	const char *const parts[] = {"a"};
	char out[1];

	ck_assert_fails_with(cmdline_build(out, 0, parts, 1), "empty");
	ck_assert_int_eq(cmdline_build(out, 1, parts, 0), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(zero_page_fields)
{
	struct boot_setup bs = full_setup();
	struct boot_params *bp;

	ck_assert_msg(boot_write(&mem, &bs) == 0, "%s", last_error());
	bp = zero_page();
	ck_assert_uint_eq(bp->hdr.type_of_loader, 0xff);
	ck_assert_uint_eq(bp->hdr.boot_flag, 0xaa55);
	ck_assert_uint_eq(bp->hdr.header, 0x53726448); /* "HdrS" */
	ck_assert_uint_ne(bp->hdr.xloadflags & XLF_KERNEL_64, 0);
	ck_assert_uint_eq(bp->hdr.ramdisk_image, 0x1f00000);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, 0x12345);
	ck_assert_uint_eq(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	ck_assert_str_eq(guest(bp->hdr.cmd_line_ptr, sizeof(TEST_CMDLINE)), TEST_CMDLINE);
}
END_TEST

START_TEST(zero_page_e820)
{
	struct boot_setup bs = full_setup();
	struct boot_params *bp;

	ck_assert_int_eq(boot_write(&mem, &bs), 0);
	bp = zero_page();
	ck_assert_uint_eq(bp->e820_entries, 3);
	assert_legacy_e820(bp->e820_table);
	assert_e820(&bp->e820_table[2], MiB, 31 * MiB, E820_RAM);
}
END_TEST

/* Stale bytes in the zero page (say, from a previous boot) must not survive. */
START_TEST(zero_page_cleared)
{
	struct boot_setup bs = full_setup();
	struct boot_params *bp = zero_page();

	memset(bp, 0xee, sizeof(*bp));
	ck_assert_int_eq(boot_write(&mem, &bs), 0);
	ck_assert_uint_eq(bp->ext_ramdisk_image, 0);
	ck_assert_uint_eq(bp->ext_cmd_line_ptr, 0);
	ck_assert_uint_eq(bp->e820_table[3].size, 0);
	ck_assert_uint_eq(bp->acpi_rsdp_addr, 0);
}
END_TEST

/* Follow a setup_data link: 8-byte aligned, inside the area set aside for it. */
static struct setup_data *setup_node(uint64_t addr)
{
	struct setup_data *sd;

	ck_assert_uint_eq(addr % 8, 0);
	ck_assert_uint_ge(addr, BOOT_SETUP_DATA_ADDR);
	sd = guest(addr, sizeof(*sd));
	ck_assert_uint_le(addr + sizeof(*sd) + sd->len, BOOT_SETUP_DATA_END);
	return sd;
}

static void assert_dtb_node(const struct setup_data *sd)
{
	ck_assert_uint_eq(sd->type, SETUP_DTB);
	ck_assert_uint_eq(sd->len, (uint32_t)dtb_size);
	ck_assert_int_eq(fdt_check_header(sd->data), 0);
	ck_assert_uint_eq(fdt_totalsize(sd->data), (uint32_t)dtb_size);
	ck_assert_mem_eq(sd->data, dtb, (size_t)dtb_size);
	ck_assert_uint_eq(sd->next, 0);
}

START_TEST(setup_data_seed_then_dtb)
{
	struct boot_setup bs = full_setup();
	struct setup_data *sd;

	ck_assert_int_eq(boot_write(&mem, &bs), 0);
	sd = setup_node(zero_page()->hdr.setup_data);
	ck_assert_uint_eq(sd->type, SETUP_RNG_SEED);
	ck_assert_uint_eq(sd->type, 9);
	ck_assert_uint_eq(sd->len, 32);
	ck_assert_mem_eq(sd->data, seed, sizeof(seed));
	ck_assert_uint_ne(sd->next, 0);
	assert_dtb_node(setup_node(sd->next));
}
END_TEST

START_TEST(setup_data_dtb_without_seed)
{
	struct boot_setup bs = full_setup();

	bs.rng_seed = NULL;
	ck_assert_int_eq(boot_write(&mem, &bs), 0);
	assert_dtb_node(setup_node(zero_page()->hdr.setup_data));
}
END_TEST

START_TEST(setup_data_seed_without_dtb)
{
	struct boot_setup bs = full_setup();
	struct setup_data *sd;

	bs.dtb = NULL;
	bs.dtb_size = 0;
	ck_assert_int_eq(boot_write(&mem, &bs), 0);
	sd = setup_node(zero_page()->hdr.setup_data);
	ck_assert_uint_eq(sd->type, SETUP_RNG_SEED);
	ck_assert_uint_eq(sd->next, 0);
}
END_TEST

/* MP table mode without a seed: no chain at all. */
START_TEST(setup_data_none)
{
	struct boot_setup bs = full_setup();

	ck_assert_int_eq(boot_write(&mem, &bs), 0);
	bs.dtb = NULL;
	bs.dtb_size = 0;
	bs.rng_seed = NULL;
	ck_assert_int_eq(boot_write(&mem, &bs), 0);
	ck_assert_uint_eq(zero_page()->hdr.setup_data, 0);
}
END_TEST

/* The device tree may use the whole setup_data area, and not a byte more. */
START_TEST(setup_data_too_large)
{
	struct boot_setup bs = full_setup();
	size_t room = BOOT_SETUP_DATA_END - BOOT_SETUP_DATA_ADDR;
	void *big = calloc(1, room);

	bs.rng_seed = NULL;
	bs.dtb = big;
	bs.dtb_size = room;
	ck_assert_fails_with(boot_write(&mem, &bs), "too large");
	bs.dtb_size = room - sizeof(struct setup_data);
	ck_assert_msg(boot_write(&mem, &bs) == 0, "%s", last_error());
	ck_assert_uint_eq(zero_page()->hdr.setup_data, BOOT_SETUP_DATA_ADDR);
	free(big);
}
END_TEST

/* The ELF kernel's header says 2047 bytes, as CONFIG's COMMAND_LINE_SIZE 2048 does. */
START_TEST(cmdline_longer_than_kernel_takes)
{
	struct boot_setup bs = full_setup();
	char *line = malloc(2049);

	memset(line, 'a', 2048);
	line[2047] = '\0';
	bs.cmdline = line;
	ck_assert_uint_eq(kernel.hdr.cmdline_size, 2047);
	ck_assert_msg(boot_write(&mem, &bs) == 0, "%s", last_error());
	ck_assert_uint_eq(strlen(guest(BOOT_CMDLINE_ADDR, 2048)), 2047);
	line[2047] = 'a';
	line[2048] = '\0';
	ck_assert_fails_with(boot_write(&mem, &bs), "command line too long");
	ck_assert_error("2048 bytes");
	free(line);
}
END_TEST

START_TEST(cmdline_limit_from_header)
{
	struct kernel_image small = kernel;
	struct boot_setup bs = full_setup();
	char line[300];

	small.hdr.cmdline_size = 255;
	bs.kernel = &small;
	memset(line, 'b', sizeof(line));
	line[255] = '\0';
	bs.cmdline = line;
	ck_assert_int_eq(boot_write(&mem, &bs), 0);
	line[255] = 'b';
	line[256] = '\0';
	ck_assert_fails_with(boot_write(&mem, &bs), "command line too long");
}
END_TEST

/* The well-known flat descriptors: 64-bit code and 4 GiB read/write data. */
START_TEST(gdt_entry_encoding)
{
	ck_assert_uint_eq(boot_gdt_entry(0xa09b, 0, 0xfffff), 0x00af9b000000ffffULL);
	ck_assert_uint_eq(boot_gdt_entry(0xc093, 0, 0xfffff), 0x00cf93000000ffffULL);
	/* base[31:24] at 63:56, flags 55:52, limit[19:16] 51:48, access 47:40,
	 * base[23:0] at 39:16, limit[15:0] at 15:0. */
	ck_assert_uint_eq(boot_gdt_entry(0xc093, 0x12345678, 0xabcde), 0x12ca93345678bcdeULL);
}
END_TEST

START_TEST(gdt_in_guest)
{
	struct boot_setup bs = full_setup();
	uint64_t *gdt;

	ck_assert_int_eq(boot_write(&mem, &bs), 0);
	gdt = guest(BOOT_GDT_ADDR, 4 * 8);
	ck_assert_uint_eq(gdt[0], 0);
	ck_assert_uint_eq(gdt[BOOT_CS / 8], boot_gdt_entry(0xa09b, 0, 0xfffff));
	ck_assert_uint_eq(gdt[BOOT_DS / 8], boot_gdt_entry(0xc093, 0, 0xfffff));
	/* Code: present, code/data type, executable, long mode (so D must be clear). */
	ck_assert_uint_eq(gdt[BOOT_CS / 8] & (DESC_P | DESC_S | DESC_CODE | DESC_L | DESC_DB),
			  DESC_P | DESC_S | DESC_CODE | DESC_L);
	/* Data: present, not executable, not long, 4 GiB with page granularity. */
	ck_assert_uint_eq(gdt[BOOT_DS / 8] & (DESC_P | DESC_S | DESC_CODE | DESC_L | DESC_G),
			  DESC_P | DESC_S | DESC_G);
}
END_TEST

/* Walk PML4 -> PDPT -> PD for @va; returns the physical address or ~0 if unmapped. */
static uint64_t walk(uint64_t va)
{
	uint64_t *pml4 = guest(BOOT_PML4_ADDR, 4096), *pdpt, *pd, e;

	e = pml4[(va >> 39) & 511];
	if (!(e & PTE_P))
		return ~0ULL;
	pdpt = guest(e & PTE_ADDR, 4096);
	e = pdpt[(va >> 30) & 511];
	if (!(e & PTE_P))
		return ~0ULL;
	ck_assert_uint_eq(e & PTE_PS, 0);
	pd = guest(e & PTE_ADDR, 4096);
	e = pd[(va >> 21) & 511];
	if (!(e & PTE_P))
		return ~0ULL;
	ck_assert_uint_ne(e & PTE_PS, 0);
	ck_assert_uint_ne(e & PTE_RW, 0);
	return (e & PTE_ADDR & ~(2 * MiB - 1)) | (va & (2 * MiB - 1));
}

START_TEST(page_tables_link)
{
	struct boot_setup bs = full_setup();
	uint64_t *pml4, *pdpt, *pd;

	ck_assert_int_eq(boot_write(&mem, &bs), 0);
	pml4 = guest(BOOT_PML4_ADDR, 4096);
	pdpt = guest(BOOT_PDPT_ADDR, 4096);
	pd = guest(BOOT_PD_ADDR, 4096);
	ck_assert_uint_eq(pml4[0], BOOT_PDPT_ADDR | PTE_P | PTE_RW);
	ck_assert_uint_eq(pml4[1], 0);
	ck_assert_uint_eq(pdpt[0], BOOT_PD_ADDR | PTE_P | PTE_RW);
	ck_assert_uint_eq(pdpt[3], (BOOT_PD_ADDR + 3 * 4096) | PTE_P | PTE_RW);
	ck_assert_uint_eq(pdpt[4], 0);
	ck_assert_uint_eq(pd[0], PTE_P | PTE_RW | PTE_PS);
	ck_assert_uint_eq(pd[1], 0x200000 | PTE_P | PTE_RW | PTE_PS);
}
END_TEST

START_TEST(page_tables_identity)
{
	static const uint64_t va[] = {
	    0,		BOOT_PARAMS_ADDR,    KERNEL_ADDR + 0x123, 0x3fffffff,
	    0x40000000, MMIO_HOLE_START - 1, IOAPIC_ADDR + 0x10,  0xffffffff};
	struct boot_setup bs = full_setup();

	ck_assert_int_eq(boot_write(&mem, &bs), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(va); i++)
		ck_assert_uint_eq(walk(va[i]), va[i]);
	ck_assert_uint_eq(walk(4 * GiB), ~0ULL);
}
END_TEST

Suite *boot_suite(void)
{
	Suite *s = suite_create("boot");
	TCase *e820 = tcase_create("e820");
	TCase *cmd = tcase_create("cmdline_build");
	TCase *gdt = tcase_create("gdt");
	TCase *zp = tcase_create("boot_write");

	tcase_add_test(e820, e820_128m);
	tcase_add_test(e820, e820_3g);
	tcase_add_test(e820, e820_6g);
	tcase_add_test(e820, e820_never_covers_hole);
	tcase_add_test(e820, e820_table_too_small);
	suite_add_tcase(s, e820);

	tcase_add_test(cmd, cmdline_joins_parts);
	tcase_add_test(cmd, cmdline_skips_missing_parts);
	tcase_add_test(cmd, cmdline_param_found_as_whole_word);
	tcase_add_test(cmd, cmdline_exact_fit);
	tcase_add_test(cmd, cmdline_one_byte_short_refused);
	tcase_add_test(cmd, cmdline_empty_buffer);
	suite_add_tcase(s, cmd);

	tcase_add_test(gdt, gdt_entry_encoding);
	suite_add_tcase(s, gdt);

	tcase_add_checked_fixture(zp, boot_fixture_setup, boot_fixture_teardown);
	tcase_add_test(zp, zero_page_fields);
	tcase_add_test(zp, zero_page_e820);
	tcase_add_test(zp, zero_page_cleared);
	tcase_add_test(zp, setup_data_seed_then_dtb);
	tcase_add_test(zp, setup_data_dtb_without_seed);
	tcase_add_test(zp, setup_data_seed_without_dtb);
	tcase_add_test(zp, setup_data_none);
	tcase_add_test(zp, setup_data_too_large);
	tcase_add_test(zp, cmdline_longer_than_kernel_takes);
	tcase_add_test(zp, cmdline_limit_from_header);
	tcase_add_test(zp, gdt_in_guest);
	tcase_add_test(zp, page_tables_link);
	tcase_add_test(zp, page_tables_identity);
	suite_add_tcase(s, zp);
	return s;
}
