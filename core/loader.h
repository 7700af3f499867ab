/* SPDX-License-Identifier: MIT */
/*
 * Loading what the guest boots: a bzImage (64-bit entry of the Linux x86
 * boot protocol) or an ELF vmlinux (entry at e_entry), and an initrd.
 */
#ifndef VMM_LOADER_H
#define VMM_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "core/memory.h"

#define SETUP_HEADER_OFFSET 0x1f1
#define BZIMAGE_MIN_VERSION 0x20c /* 64-bit entry point and xloadflags */
#define ELF_INITRD_ADDR_MAX 0x7fffffffU
#define ELF_CMDLINE_SIZE    2048U
/* Loadable segments an ELF kernel may have (vmlinux has a handful). */
#define ELF_MAX_LOADS 32

struct kernel_image {
	bool is_bzimage;
	uint64_t entry;	     /* guest physical 64-bit entry point */
	uint64_t load_start; /* guest range the kernel occupies once loaded */
	uint64_t load_end;
	struct setup_header hdr; /* bzImage: the image's header; ELF: a built one */
};

struct bzimage_info {
	size_t setup_size;  /* bytes of real-mode setup before the payload */
	uint64_t init_size; /* memory the kernel needs from its load address */
	struct setup_header hdr;
};

struct file_buf {
	uint8_t *data;
	size_t size;
};

int file_map(const char *path, const char *what, struct file_buf *fb);
void file_unmap(struct file_buf *fb);

bool is_bzimage(const uint8_t *img, size_t size);
int bzimage_parse(const uint8_t *img, size_t size, struct bzimage_info *info);
int elf_load(const uint8_t *img, size_t size, const struct guest_mem *mem, struct kernel_image *k);
int kernel_load(const uint8_t *img, size_t size, const struct guest_mem *mem,
		struct kernel_image *k);
int initrd_load(const uint8_t *data, size_t size, const struct guest_mem *mem,
		const struct kernel_image *k, uint64_t *addr);

#endif
