// SPDX-License-Identifier: MIT
#include <check.h>
#include <string.h>

#include "tests/unit/images.h"

#define BZ_HEADER_OFFSET 0x1f1

Elf64_Ehdr *elf_image_ehdr(struct test_image *img)
{
	return (Elf64_Ehdr *)img->data;
}

Elf64_Phdr *elf_image_phdr(struct test_image *img, unsigned int i)
{
	return (Elf64_Phdr *)(img->data + sizeof(Elf64_Ehdr)) + i;
}

static void elf_header_init(Elf64_Ehdr *eh, uint64_t entry, unsigned int phnum)
{
	memset(eh, 0, sizeof(*eh));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = entry;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = phnum;
}

/*
 * Headers first, then each segment's file bytes, 16-byte aligned, filled
 * with a pattern that differs per segment and is never all zero.
 */
void elf_image_build(struct test_image *img, uint64_t entry, const struct test_segment *segs,
		     unsigned int n)
{
	uint64_t off = TEST_ELF_DATA_START;

	ck_assert_uint_le(sizeof(Elf64_Ehdr) + n * sizeof(Elf64_Phdr), TEST_ELF_DATA_START);
	memset(img, 0, sizeof(*img));
	elf_header_init(elf_image_ehdr(img), entry, n);
	for (unsigned int i = 0; i < n; i++) {
		Elf64_Phdr *ph = elf_image_phdr(img, i);

		ck_assert_uint_le(off + segs[i].filesz, TEST_IMAGE_MAX);
		*ph = (Elf64_Phdr){
		    .p_type = segs[i].type,
		    .p_flags = PF_R | PF_X,
		    .p_offset = off,
		    .p_vaddr = 0xffffffff80000000ULL + segs[i].paddr,
		    .p_paddr = segs[i].paddr,
		    .p_filesz = segs[i].filesz,
		    .p_memsz = segs[i].memsz,
		    .p_align = 16,
		};
		for (uint64_t j = 0; j < segs[i].filesz; j++)
			img->data[off + j] = (uint8_t)(0x11 * (i + 1) + j % 0xef + 1);
		off = (off + segs[i].filesz + 15) & ~15ULL;
	}
	img->size = off;
}

struct setup_header *bzimage_header(struct test_image *img)
{
	return (struct setup_header *)(img->data + BZ_HEADER_OFFSET);
}

/*
 * A bzImage of boot protocol 2.15 with a 64-bit entry: the setup is
 * (setup_sects or 4, plus the boot sector) * 512 bytes, then the payload.
 * The magic numbers go in at their documented offsets, not through the
 * structure, so that the structure's layout is checked too.
 */
void bzimage_build(struct test_image *img, uint8_t setup_sects, size_t payload_size)
{
	size_t setup = ((size_t)(setup_sects ? setup_sects : 4) + 1) * 512;
	struct setup_header *h = bzimage_header(img);

	ck_assert_uint_le(setup + payload_size, TEST_IMAGE_MAX);
	memset(img, 0, sizeof(*img));
	h->setup_sects = setup_sects;
	h->version = 0x20f;
	h->loadflags = LOADED_HIGH;
	h->xloadflags = XLF_KERNEL_64;
	h->initrd_addr_max = 0x7fffffff;
	h->cmdline_size = 2047;
	img->data[0x1fe] = 0x55; /* boot_flag 0xaa55 */
	img->data[0x1ff] = 0xaa;
	img->data[0x200] = 0xeb; /* jmp rel8 to the end of the 2.15 header at 0x268 */
	img->data[0x201] = 0x268 - 0x202;
	memcpy(img->data + 0x202, "HdrS", 4);
	for (size_t i = 0; i < payload_size; i++)
		img->data[setup + i] = (uint8_t)(0xa5 ^ (i * 7));
	img->size = setup + payload_size;
}
