/* SPDX-License-Identifier: MIT */
/*
 * Synthetic kernel files built in memory: an ELF64 vmlinux with chosen
 * program headers, and a bzImage with a boot protocol header. Tests edit
 * the headers in place to make them wrong in one way at a time.
 */
#ifndef VMM_TESTS_UNIT_IMAGES_H
#define VMM_TESTS_UNIT_IMAGES_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#define TEST_IMAGE_MAX      0x4000
#define TEST_ELF_DATA_START 0x200 /* file offset of the first segment's bytes */

struct test_image {
	_Alignas(16) uint8_t data[TEST_IMAGE_MAX];
	size_t size;
};

struct test_segment {
	uint32_t type; /* PT_LOAD, PT_NOTE, ... */
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
};

void elf_image_build(struct test_image *img, uint64_t entry, const struct test_segment *segs,
		     unsigned int n);
Elf64_Ehdr *elf_image_ehdr(struct test_image *img);
Elf64_Phdr *elf_image_phdr(struct test_image *img, unsigned int i);

void bzimage_build(struct test_image *img, uint8_t setup_sects, size_t payload_size);
struct setup_header *bzimage_header(struct test_image *img);

#endif
