// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/layout.h"
#include "core/loader.h"
#include "core/util.h"
#include "tests/unit/images.h"
#include "tests/unit/suites.h"

#define GUEST_SIZE (32 * MiB)
#define SEG0_ADDR  (16 * MiB)
#define SEG1_ADDR  (18 * MiB)
#define POISON	   0xcc
#define BZ_PAYLOAD 4096
#define BZ_SETUP   (5 * 512) /* setup_sects 0 means 4, plus the boot sector */

static struct guest_mem mem;
static struct test_image img;
static struct kernel_image k;

static void mem_setup(void)
{
	ck_assert_msg(guest_mem_alloc(&mem, GUEST_SIZE) == 0, "%s", last_error());
}

static void mem_teardown(void)
{
	guest_mem_free(&mem);
}

static uint8_t *guest(uint64_t gpa, uint64_t len)
{
	uint8_t *p = gpa_to_hva(&mem, gpa, len);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* True when every byte of guest [gpa, gpa + len) is @val. */
static bool guest_all(uint64_t gpa, uint64_t len, uint8_t val)
{
	const uint8_t *p = guest(gpa, len);

	for (uint64_t i = 0; i < len; i++) {
		if (p[i] != val)
			return false;
	}
	return true;
}

/* ---- bzImage ---- */

static int parse_bz(struct bzimage_info *info)
{
	clear_error();
	return bzimage_parse(img.data, img.size, info);
}

START_TEST(bz_header_offsets)
{
	bzimage_build(&img, 0, BZ_PAYLOAD);
	ck_assert(is_bzimage(img.data, img.size));
	/* The structure view of what the builder wrote at raw offsets. */
	ck_assert_uint_eq(bzimage_header(&img)->boot_flag, 0xaa55);
	ck_assert_uint_eq(bzimage_header(&img)->header, 0x53726448);
}
END_TEST

START_TEST(bz_valid)
{
	struct bzimage_info info;

	bzimage_build(&img, 0, BZ_PAYLOAD);
	bzimage_header(&img)->init_size = 0x400000;
	ck_assert_msg(parse_bz(&info) == 0, "%s", last_error());
	ck_assert_uint_eq(info.setup_size, BZ_SETUP);
	ck_assert_uint_eq(info.init_size, 0x400000);
	ck_assert_uint_eq(info.hdr.version, 0x20f);
	ck_assert_uint_eq(info.hdr.xloadflags & XLF_KERNEL_64, XLF_KERNEL_64);
	ck_assert_uint_eq(info.hdr.loadflags & LOADED_HIGH, LOADED_HIGH);
	ck_assert_uint_eq(info.hdr.initrd_addr_max, 0x7fffffff);
}
END_TEST

START_TEST(bz_setup_sects)
{
	struct bzimage_info info;

	bzimage_build(&img, 8, BZ_PAYLOAD);
	ck_assert_int_eq(parse_bz(&info), 0);
	ck_assert_uint_eq(info.setup_size, 9 * 512);
	ck_assert_uint_eq(info.hdr.setup_sects, 8);
}
END_TEST

/* The kernel needs at least the room its own payload takes. */
START_TEST(bz_init_size_at_least_payload)
{
	struct bzimage_info info;

	bzimage_build(&img, 0, BZ_PAYLOAD);
	bzimage_header(&img)->init_size = 16;
	ck_assert_int_eq(parse_bz(&info), 0);
	ck_assert_uint_eq(info.init_size, BZ_PAYLOAD);
}
END_TEST

/* A short header (older jump offset) is read only as far as it goes. */
START_TEST(bz_short_header)
{
	struct bzimage_info info;

	bzimage_build(&img, 0, BZ_PAYLOAD);
	bzimage_header(&img)->init_size = 0x400000; /* at 0x260, past a 2.12 header */
	img.data[0x201] = 0x64 - 0x02;		    /* header ends at 0x264 */
	ck_assert_int_eq(parse_bz(&info), 0);
	ck_assert_uint_eq(info.hdr.init_size, 0x400000);
	img.data[0x201] = 0x260 - 0x202; /* header ends before init_size */
	ck_assert_int_eq(parse_bz(&info), 0);
	ck_assert_uint_eq(info.hdr.init_size, 0);
	ck_assert_uint_eq(info.init_size, BZ_PAYLOAD);
}
END_TEST

START_TEST(bz_too_old)
{
	struct bzimage_info info;

	bzimage_build(&img, 0, BZ_PAYLOAD);
	bzimage_header(&img)->version = 0x20b;
	ck_assert_fails_with(parse_bz(&info), "too old");
	ck_assert_error("2.11");
	bzimage_header(&img)->version = 0x20c;
	ck_assert_int_eq(parse_bz(&info), 0);
}
END_TEST

START_TEST(bz_no_64bit_entry)
{
	struct bzimage_info info;

	bzimage_build(&img, 0, BZ_PAYLOAD);
	bzimage_header(&img)->xloadflags = 0;
	ck_assert_fails_with(parse_bz(&info), "no 64-bit entry point");
}
END_TEST

START_TEST(bz_not_loaded_high)
{
	struct bzimage_info info;

	bzimage_build(&img, 0, BZ_PAYLOAD);
	bzimage_header(&img)->loadflags = 0;
	ck_assert_fails_with(parse_bz(&info), "not loaded high");
}
END_TEST

START_TEST(bz_truncated_before_payload)
{
	struct bzimage_info info;

	bzimage_build(&img, 0, BZ_PAYLOAD);
	img.size = BZ_SETUP;
	ck_assert_fails_with(parse_bz(&info), "no protected-mode code");
	img.size = BZ_SETUP + 1;
	ck_assert_int_eq(parse_bz(&info), 0);
	ck_assert_uint_eq(info.init_size, 1);
}
END_TEST

/* The header runs to 0x268; a file that stops at 0x210 still passes is_bzimage(). */
START_TEST(bz_truncated_header)
{
	struct bzimage_info info;
	uint8_t *copy;

	bzimage_build(&img, 0, BZ_PAYLOAD);
	copy = malloc(0x210);
	memcpy(copy, img.data, 0x210);
	ck_assert(is_bzimage(copy, 0x210));
	ck_assert_fails_with(bzimage_parse(copy, 0x210, &info),
			     "truncated inside its setup header");
	free(copy);
}
END_TEST

START_TEST(bz_not_a_bzimage)
{
	struct bzimage_info info;

	memset(&img, 0, sizeof(img));
	img.size = 0x1000;
	ck_assert(!is_bzimage(img.data, img.size));
	ck_assert_fails_with(parse_bz(&info), "not a bzImage");

	bzimage_build(&img, 0, BZ_PAYLOAD);
	img.data[0x1fe] = 0x56;
	ck_assert_fails_with(parse_bz(&info), "not a bzImage");
	bzimage_build(&img, 0, BZ_PAYLOAD);
	img.data[0x205] = 's';
	ck_assert_fails_with(parse_bz(&info), "not a bzImage");
	bzimage_build(&img, 0, BZ_PAYLOAD);
	ck_assert(!is_bzimage(img.data, 0x205));
}
END_TEST

START_TEST(bz_load)
{
	const uint8_t *payload = img.data + BZ_SETUP;

	bzimage_build(&img, 0, BZ_PAYLOAD);
	bzimage_header(&img)->init_size = 0x800000;
	ck_assert_msg(kernel_load(img.data, img.size, &mem, &k) == 0, "%s", last_error());
	ck_assert(k.is_bzimage);
	ck_assert_uint_eq(k.entry, 0x100000 + 0x200);
	ck_assert_uint_eq(k.load_start, 0x100000);
	ck_assert_uint_eq(k.load_end, 0x100000 + 0x800000);
	ck_assert_uint_eq(k.hdr.version, 0x20f);
	ck_assert_uint_eq(k.hdr.init_size, 0x800000);
	ck_assert_mem_eq(guest(0x100000, BZ_PAYLOAD), payload, BZ_PAYLOAD);
	/* The setup (real-mode) part is not loaded. */
	ck_assert(guest_all(0x100000 + BZ_PAYLOAD, 4096, 0));
}
END_TEST

/* RAM from 1 MiB to the end of 32 MiB is 31 MiB: a kernel may need that, not more. */
START_TEST(bz_init_size_larger_than_memory)
{
	bzimage_build(&img, 0, BZ_PAYLOAD);
	bzimage_header(&img)->init_size = 31 * MiB;
	ck_assert_msg(kernel_load(img.data, img.size, &mem, &k) == 0, "%s", last_error());
	bzimage_header(&img)->init_size = 31 * MiB + 4096;
	ck_assert_fails_with(kernel_load(img.data, img.size, &mem, &k),
			     "guest memory is too small");
	bzimage_header(&img)->init_size = 64 * MiB;
	ck_assert_fails_with(kernel_load(img.data, img.size, &mem, &k), "kernel needs");
}
END_TEST

/* ---- ELF ---- */

/* Two PT_LOAD segments around a PT_NOTE whose nonsense must be ignored. */
static const struct test_segment two_segs[] = {
    {PT_LOAD, SEG0_ADDR, 0x800, 0x800},
    {PT_NOTE, 0x10, 0x10, 0x10},
    {PT_LOAD, SEG1_ADDR, 0x100, 0x1000},
};

static void build_two_segs(uint64_t entry)
{
	elf_image_build(&img, entry, two_segs, ARRAY_SIZE(two_segs));
	memset(guest(SEG0_ADDR, 4 * MiB), POISON, 4 * MiB);
}

static int load_elf(void)
{
	clear_error();
	return elf_load(img.data, img.size, &mem, &k);
}

START_TEST(elf_valid)
{
	Elf64_Phdr *ph0, *ph1;

	build_two_segs(SEG0_ADDR + 0x10);
	/* Only PT_LOAD counts: a note whose range makes no sense is not looked at. */
	elf_image_phdr(&img, 1)->p_offset = UINT64_MAX;
	elf_image_phdr(&img, 1)->p_filesz = 0x1000000;
	ph0 = elf_image_phdr(&img, 0);
	ph1 = elf_image_phdr(&img, 2);
	ck_assert_msg(kernel_load(img.data, img.size, &mem, &k) == 0, "%s", last_error());
	ck_assert(!k.is_bzimage);
	ck_assert_uint_eq(k.entry, SEG0_ADDR + 0x10);
	ck_assert_uint_eq(k.load_start, SEG0_ADDR);
	ck_assert_uint_eq(k.load_end, SEG1_ADDR + 0x1000);
	ck_assert_mem_eq(guest(SEG0_ADDR, 0x800), img.data + ph0->p_offset, 0x800);
	ck_assert_mem_eq(guest(SEG1_ADDR, 0x100), img.data + ph1->p_offset, 0x100);
	ck_assert(guest_all(SEG1_ADDR + 0x100, 0x1000 - 0x100, 0)); /* bss */
	ck_assert(guest_all(SEG0_ADDR + 0x800, 0x1000, POISON));    /* untouched */
	ck_assert(guest_all(SEG1_ADDR + 0x1000, 0x1000, POISON));
}
END_TEST

/* An ELF kernel carries no boot header, so the loader supplies a 2.15 one. */
START_TEST(elf_fake_setup_header)
{
	build_two_segs(SEG0_ADDR);
	ck_assert_int_eq(load_elf(), 0);
	ck_assert_uint_eq(k.hdr.boot_flag, 0xaa55);
	ck_assert_uint_eq(k.hdr.header, 0x53726448);
	ck_assert_uint_ge(k.hdr.version, BZIMAGE_MIN_VERSION);
	ck_assert_uint_eq(k.hdr.xloadflags & XLF_KERNEL_64, XLF_KERNEL_64);
	ck_assert_uint_eq(k.hdr.loadflags & LOADED_HIGH, LOADED_HIGH);
	ck_assert_uint_eq(k.hdr.initrd_addr_max, ELF_INITRD_ADDR_MAX);
	ck_assert_uint_eq(k.hdr.cmdline_size, ELF_CMDLINE_SIZE - 1);
}
END_TEST

START_TEST(elf_truncated_header)
{
	build_two_segs(SEG0_ADDR);
	img.size = sizeof(Elf64_Ehdr) - 1;
	ck_assert_fails_with(load_elf(), "not an ELF file");
	img.size = 16;
	ck_assert_fails_with(load_elf(), "not an ELF file");
}
END_TEST

START_TEST(elf_phdrs_past_end)
{
	build_two_segs(SEG0_ADDR);
	img.size = sizeof(Elf64_Ehdr) + 3 * sizeof(Elf64_Phdr) - 1;
	ck_assert_fails_with(load_elf(), "program headers past end of file");
	build_two_segs(SEG0_ADDR);
	elf_image_ehdr(&img)->e_phoff = img.size - sizeof(Elf64_Phdr);
	ck_assert_fails_with(load_elf(), "program headers past end of file");
	elf_image_ehdr(&img)->e_phoff = UINT64_MAX - 8;
	ck_assert_fails_with(load_elf(), "program headers past end of file");
}
END_TEST

/* The program headers may sit anywhere in the file, at any byte offset. */
START_TEST(elf_phdrs_unaligned)
{
	Elf64_Ehdr *eh;

	build_two_segs(SEG0_ADDR);
	eh = elf_image_ehdr(&img);
	memmove(img.data + 0x81, img.data + eh->e_phoff, 3 * sizeof(Elf64_Phdr));
	eh->e_phoff = 0x81;
	ck_assert_msg(load_elf() == 0, "%s", last_error());
	ck_assert_uint_eq(k.load_end, SEG1_ADDR + 0x1000);
}
END_TEST

START_TEST(elf_segment_data_past_end)
{
	Elf64_Phdr *ph;

	build_two_segs(SEG0_ADDR);
	ph = elf_image_phdr(&img, 2);
	ck_assert_uint_eq(ph->p_offset + ph->p_filesz, img.size);
	img.size--;
	ck_assert_fails_with(load_elf(), "segment data past end of file");
	/* Nothing was copied, not even the first segment, which was fine. */
	ck_assert(guest_all(SEG0_ADDR, 0x800, POISON));
	img.size++;
	ph->p_offset = UINT64_MAX - 0x10;
	ck_assert_fails_with(load_elf(), "segment data past end of file");
	ph->p_offset = img.size - ph->p_filesz;
	ck_assert_int_eq(load_elf(), 0);
}
END_TEST

START_TEST(elf_filesz_above_memsz)
{
	build_two_segs(SEG0_ADDR);
	elf_image_phdr(&img, 2)->p_memsz = 0xff;
	ck_assert_fails_with(load_elf(), "file size above memory size");
}
END_TEST

START_TEST(elf_overlapping_segments)
{
	build_two_segs(SEG0_ADDR);
	elf_image_phdr(&img, 2)->p_paddr = SEG0_ADDR + 0x7ff;
	ck_assert_fails_with(load_elf(), "overlap");
	ck_assert(guest_all(SEG0_ADDR, 0x800, POISON));
	/* Touching is not overlapping. */
	elf_image_phdr(&img, 2)->p_paddr = SEG0_ADDR + 0x800;
	ck_assert_msg(load_elf() == 0, "%s", last_error());
}
END_TEST

/*
 * @n PT_LOAD headers, each a page of zeroes one page apart from SEG0_ADDR,
 * in a file of their own (more than a test_image holds).
 */
static uint8_t *elf_with_loads(unsigned int n, size_t *size)
{
	Elf64_Ehdr eh;
	uint8_t *file;

	build_two_segs(SEG0_ADDR);
	eh = *elf_image_ehdr(&img);
	eh.e_phoff = sizeof(eh);
	eh.e_phnum = (uint16_t)n;
	*size = sizeof(eh) + (size_t)n * sizeof(Elf64_Phdr);
	file = calloc(1, *size);
	ck_assert_ptr_nonnull(file);
	memcpy(file, &eh, sizeof(eh));
	for (unsigned int i = 0; i < n; i++) {
		Elf64_Phdr ph = {.p_type = PT_LOAD,
				 .p_paddr = SEG0_ADDR + (uint64_t)i * 0x1000,
				 .p_memsz = 0x1000};

		memcpy(file + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
	}
	return file;
}

/* A kernel's handful of segments load; a file of thousands is refused at once. */
START_TEST(elf_too_many_segments)
{
	size_t size;
	uint8_t *file = elf_with_loads(ELF_MAX_LOADS, &size);

	clear_error();
	ck_assert_msg(elf_load(file, size, &mem, &k) == 0, "%s", last_error());
	free(file);
	file = elf_with_loads(ELF_MAX_LOADS + 1, &size);
	ck_assert_fails_with(elf_load(file, size, &mem, &k), "more than 32 loadable segments");
	free(file);
	file = elf_with_loads(65535, &size);
	ck_assert_fails_with(elf_load(file, size, &mem, &k), "more than 32 loadable segments");
	free(file);
}
END_TEST

START_TEST(elf_segment_outside_ram)
{
	build_two_segs(SEG0_ADDR);
	elf_image_phdr(&img, 2)->p_paddr = GUEST_SIZE - 0x800; /* memsz 0x1000 */
	ck_assert_fails_with(load_elf(), "does not fit in guest memory");
	elf_image_phdr(&img, 2)->p_paddr = GUEST_SIZE - 0x1000;
	ck_assert_msg(load_elf() == 0, "%s", last_error());
	elf_image_phdr(&img, 2)->p_paddr = UINT64_MAX - 0x800;
	ck_assert_fails_with(load_elf(), "does not fit in guest memory");
}
END_TEST

/* RAM on both sides of the MMIO hole (fake host addresses, never touched). */
START_TEST(elf_segment_in_hole)
{
	build_two_segs(SEG0_ADDR);
	guest_mem_free(&mem);
	ck_assert_int_eq(guest_mem_layout(&mem, 6 * GiB), 0);
	mem.region[0].hva = (uint8_t *)(uintptr_t)0x100000000000ULL;
	mem.region[1].hva = (uint8_t *)(uintptr_t)0x200000000000ULL;
	elf_image_phdr(&img, 2)->p_paddr = MMIO_HOLE_START;
	ck_assert_fails_with(load_elf(), "does not fit in guest memory");
	elf_image_phdr(&img, 2)->p_paddr = MMIO_HOLE_START - 0x800;
	ck_assert_fails_with(load_elf(), "does not fit in guest memory");
	elf_image_phdr(&img, 2)->p_paddr = MMIO_HOLE_END - 0x800;
	ck_assert_fails_with(load_elf(), "does not fit in guest memory");
	mem.nr = 0; /* nothing to unmap */
}
END_TEST

START_TEST(elf_segment_below_1m)
{
	build_two_segs(SEG0_ADDR);
	elf_image_phdr(&img, 0)->p_paddr = 0x90000;
	ck_assert_fails_with(load_elf(), "does not fit in guest memory");
	elf_image_phdr(&img, 0)->p_paddr = HIGH_RAM_START - 0x100;
	ck_assert_fails_with(load_elf(), "0xfff00");
	elf_image_phdr(&img, 0)->p_paddr = HIGH_RAM_START;
	elf_image_ehdr(&img)->e_entry = HIGH_RAM_START;
	ck_assert_msg(load_elf() == 0, "%s", last_error());
}
END_TEST

START_TEST(elf_entry_outside_segments)
{
	build_two_segs(SEG0_ADDR + 0x800); /* one past the first segment's end */
	ck_assert_fails_with(load_elf(), "entry point 0x1000800 is outside");
	elf_image_ehdr(&img)->e_entry = SEG1_ADDR + 0xfff; /* last bss byte */
	ck_assert_msg(load_elf() == 0, "%s", last_error());
	elf_image_ehdr(&img)->e_entry = 0;
	ck_assert_fails_with(load_elf(), "entry point");
}
END_TEST

START_TEST(elf_wrong_class_or_machine)
{
	build_two_segs(SEG0_ADDR);
	elf_image_ehdr(&img)->e_ident[EI_CLASS] = ELFCLASS32;
	ck_assert_fails_with(load_elf(), "not 64-bit little-endian");
	build_two_segs(SEG0_ADDR);
	elf_image_ehdr(&img)->e_ident[EI_DATA] = ELFDATA2MSB;
	ck_assert_fails_with(load_elf(), "not 64-bit little-endian");
	build_two_segs(SEG0_ADDR);
	elf_image_ehdr(&img)->e_machine = EM_AARCH64;
	ck_assert_fails_with(load_elf(), "not an x86-64 executable");
	build_two_segs(SEG0_ADDR);
	elf_image_ehdr(&img)->e_type = ET_DYN;
	ck_assert_fails_with(load_elf(), "not an x86-64 executable");
}
END_TEST

START_TEST(elf_no_program_headers)
{
	build_two_segs(SEG0_ADDR);
	elf_image_ehdr(&img)->e_phnum = 0;
	ck_assert_fails_with(load_elf(), "no usable program headers");
	build_two_segs(SEG0_ADDR);
	elf_image_ehdr(&img)->e_phentsize = sizeof(Elf32_Phdr);
	ck_assert_fails_with(load_elf(), "no usable program headers");
}
END_TEST

START_TEST(kernel_load_junk)
{
	static const uint8_t tiny[] = {0x7f, 'E', 'L'};

	memset(img.data, 0x5a, 4096);
	ck_assert_fails_with(kernel_load(img.data, 4096, &mem, &k), "not a Linux kernel");
	ck_assert_fails_with(kernel_load(tiny, sizeof(tiny), &mem, &k), "not a Linux kernel");
}
END_TEST

/* ---- initrd ---- */

static void load_small_elf(void)
{
	const struct test_segment seg = {PT_LOAD, SEG0_ADDR, 0x1000, 0x1000};

	elf_image_build(&img, SEG0_ADDR, &seg, 1);
	ck_assert_int_eq(kernel_load(img.data, img.size, &mem, &k), 0);
}

START_TEST(initrd_top_of_low_memory)
{
	uint8_t data[10000];
	uint64_t addr = 0;

	for (unsigned int i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 1);
	load_small_elf();
	ck_assert_msg(initrd_load(data, sizeof(data), &mem, &k, &addr) == 0, "%s", last_error());
	ck_assert_uint_eq(addr % 4096, 0);
	ck_assert_uint_le(addr + sizeof(data), GUEST_SIZE);
	ck_assert_uint_gt(addr + 4096 + sizeof(data), GUEST_SIZE); /* as high as it goes */
	ck_assert_uint_ge(addr, k.load_end);
	ck_assert_mem_eq(guest(addr, sizeof(data)), data, sizeof(data));
}
END_TEST

/* The kernel's initrd_addr_max caps the placement below the end of RAM. */
START_TEST(initrd_below_addr_max)
{
	uint8_t data[100] = {1, 2, 3};
	uint64_t addr = 0;

	bzimage_build(&img, 0, BZ_PAYLOAD);
	bzimage_header(&img)->initrd_addr_max = 24 * MiB - 1;
	ck_assert_int_eq(kernel_load(img.data, img.size, &mem, &k), 0);
	ck_assert_int_eq(initrd_load(data, sizeof(data), &mem, &k, &addr), 0);
	ck_assert_uint_eq(addr, 24 * MiB - 4096);
	ck_assert_mem_eq(guest(addr, sizeof(data)), data, sizeof(data));
}
END_TEST

/* Between the kernel's end (16 MiB + 4 KiB) and 32 MiB there are 16 MiB - 4 KiB. */
START_TEST(initrd_too_big)
{
	size_t room = GUEST_SIZE - (SEG0_ADDR + 0x1000);
	uint8_t *data = calloc(1, GUEST_SIZE + 4096);
	uint64_t addr = 0;

	load_small_elf();
	data[0] = 0x42;
	ck_assert_msg(initrd_load(data, room, &mem, &k, &addr) == 0, "%s", last_error());
	ck_assert_uint_eq(addr, SEG0_ADDR + 0x1000);
	ck_assert_uint_eq(*guest(addr, 1), 0x42);
	ck_assert_fails_with(initrd_load(data, room + 1, &mem, &k, &addr), "does not fit");
	ck_assert_fails_with(initrd_load(data, GUEST_SIZE + 4096, &mem, &k, &addr), "does not fit");
	free(data);
}
END_TEST

/* ---- file_map ---- */

/*
 * A temporary file with @len bytes, removed again before any assertion
 * can end the test: file_map() is given its path while it exists.
 */
static int map_temp(const char *bytes, size_t len, const char *what, struct file_buf *fb,
		    char *path)
{
	int fd, ret;

	strcpy(path, "/tmp/vmm-unit-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ret = write(fd, bytes, len) == (ssize_t)len ? 0 : -2;
	close(fd);
	if (!ret) {
		clear_error();
		ret = file_map(path, what, fb);
	}
	unlink(path);
	ck_assert_int_ne(ret, -2);
	return ret;
}

START_TEST(file_map_reads_file)
{
	struct file_buf fb;
	char path[32];

	ck_assert_msg(map_temp("kernel bytes", 12, "kernel", &fb, path) == 0, "%s", last_error());
	ck_assert_uint_eq(fb.size, 12);
	ck_assert_mem_eq(fb.data, "kernel bytes", 12);
	file_unmap(&fb);
	ck_assert_ptr_null(fb.data);
	file_unmap(&fb);
}
END_TEST

START_TEST(file_map_missing)
{
	struct file_buf fb = {(uint8_t *)1, 1};
	char path[32];

	strcpy(path, "/tmp/vmm-unit-XXXXXX");
	close(mkstemp(path));
	unlink(path);
	ck_assert_fails_with(file_map(path, "initrd", &fb), path);
	ck_assert_error("cannot open initrd");
	ck_assert_error("No such file");
	ck_assert_ptr_null(fb.data);
	ck_assert_uint_eq(fb.size, 0);
}
END_TEST

START_TEST(file_map_empty)
{
	struct file_buf fb;
	char path[32];

	ck_assert_int_eq(map_temp("", 0, "kernel", &fb, path), -1);
	ck_assert_error("is empty");
	ck_assert_error(path);
	ck_assert_ptr_null(fb.data);
}
END_TEST

START_TEST(file_map_directory)
{
	char dir[] = "/tmp/vmm-unit-dir-XXXXXX";
	struct file_buf fb;
	int ret;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	clear_error();
	ret = file_map(dir, "kernel", &fb);
	rmdir(dir);
	ck_assert_int_eq(ret, -1);
	ck_assert_error("not a regular file");
	ck_assert_error(dir);
	ck_assert_ptr_null(fb.data);
}
END_TEST

Suite *loader_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *bz = tcase_create("bzImage");
	TCase *elf = tcase_create("ELF");
	TCase *initrd = tcase_create("initrd");
	TCase *file = tcase_create("file_map");

	tcase_add_checked_fixture(bz, mem_setup, mem_teardown);
	tcase_add_test(bz, bz_header_offsets);
	tcase_add_test(bz, bz_valid);
	tcase_add_test(bz, bz_setup_sects);
	tcase_add_test(bz, bz_init_size_at_least_payload);
	tcase_add_test(bz, bz_short_header);
	tcase_add_test(bz, bz_too_old);
	tcase_add_test(bz, bz_no_64bit_entry);
	tcase_add_test(bz, bz_not_loaded_high);
	tcase_add_test(bz, bz_truncated_before_payload);
	tcase_add_test(bz, bz_truncated_header);
	tcase_add_test(bz, bz_not_a_bzimage);
	tcase_add_test(bz, bz_load);
	tcase_add_test(bz, bz_init_size_larger_than_memory);
	suite_add_tcase(s, bz);

	tcase_add_checked_fixture(elf, mem_setup, mem_teardown);
	tcase_add_test(elf, elf_valid);
	tcase_add_test(elf, elf_fake_setup_header);
	tcase_add_test(elf, elf_truncated_header);
	tcase_add_test(elf, elf_phdrs_past_end);
	tcase_add_test(elf, elf_phdrs_unaligned);
	tcase_add_test(elf, elf_segment_data_past_end);
	tcase_add_test(elf, elf_filesz_above_memsz);
	tcase_add_test(elf, elf_overlapping_segments);
	tcase_add_test(elf, elf_too_many_segments);
	tcase_add_test(elf, elf_segment_outside_ram);
	tcase_add_test(elf, elf_segment_in_hole);
	tcase_add_test(elf, elf_segment_below_1m);
	tcase_add_test(elf, elf_entry_outside_segments);
	tcase_add_test(elf, elf_wrong_class_or_machine);
	tcase_add_test(elf, elf_no_program_headers);
	tcase_add_test(elf, kernel_load_junk);
	suite_add_tcase(s, elf);

	tcase_add_checked_fixture(initrd, mem_setup, mem_teardown);
	tcase_add_test(initrd, initrd_top_of_low_memory);
	tcase_add_test(initrd, initrd_below_addr_max);
	tcase_add_test(initrd, initrd_too_big);
	suite_add_tcase(s, initrd);

	tcase_add_test(file, file_map_reads_file);
	tcase_add_test(file, file_map_missing);
	tcase_add_test(file, file_map_empty);
	tcase_add_test(file, file_map_directory);
	suite_add_tcase(s, file);
	return s;
}
