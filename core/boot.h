/* SPDX-License-Identifier: MIT */
/*
 * What the VMM writes into guest memory before the first instruction: the
 * zero page (boot_params) with its e820 map, the command line, the
 * setup_data chain (device tree, RNG seed), a GDT and identity page tables.
 */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "core/loader.h"
#include "core/memory.h"

#define BOOT_RNG_SEED_SIZE 32

/* GDT selectors the 64-bit boot protocol expects. */
#define BOOT_CS	 0x10
#define BOOT_DS	 0x18
#define BOOT_TSS 0x20

struct boot_setup {
	const struct kernel_image *kernel;
	const char *cmdline;
	uint64_t initrd_addr;
	uint64_t initrd_size;
	const void *dtb; /* NULL: no SETUP_DTB (MP table mode) */
	size_t dtb_size;
	const uint8_t *rng_seed; /* NULL: no SETUP_RNG_SEED */
};

int cmdline_build(char *out, size_t size, const char *const parts[], unsigned int n);
bool cmdline_has_param(const char *cmdline, const char *key);
int e820_build(const struct guest_mem *mem, struct boot_e820_entry *table, unsigned int max);
int boot_write(const struct guest_mem *mem, const struct boot_setup *bs);
uint64_t boot_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);

#endif
