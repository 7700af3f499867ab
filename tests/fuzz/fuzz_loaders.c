// SPDX-License-Identifier: MIT
/*
 * The kernel and initrd loaders on fuzzer-chosen files into a small guest
 * RAM (GUEST_MEM_MIN). The input is the kernel image; its last byte picks
 * how much of it is also loaded as the initrd.
 *
 * Invariants: a kernel that loads lies wholly in RAM, its entry in RAM; an
 * initrd that loads lies in RAM without wrapping and does not overlap the
 * kernel.
 */
#include <stdlib.h>
#include <string.h>

#include "core/loader.h"
#include "tests/fuzz/fuzz_util.h"

#define RAM_SIZE GUEST_MEM_MIN

static uint8_t *ram;
static struct guest_mem mem;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	ram = calloc(1, RAM_SIZE);
	if (!ram)
		abort();
	fz_mem_init(&mem, ram, RAM_SIZE);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kernel_image k;
	uint64_t addr = 0;
	/* A copy of exact size: ASan sees any read past the file's end. */
	uint8_t *img = malloc(size ? size : 1);
	size_t initrd;

	memcpy(img, data, size);
	memset(&k, 0, sizeof(k));
	if (kernel_load(img, size, &mem, &k) == 0) {
		FZ_CHECK(k.load_start <= k.load_end && k.load_end <= RAM_SIZE);
		FZ_CHECK(k.entry < RAM_SIZE);
		initrd = size ? size * data[size - 1] / 255 : 0;
		if (initrd && initrd_load(img, initrd, &mem, &k, &addr) == 0) {
			FZ_CHECK(addr + initrd <= RAM_SIZE && addr + initrd > addr);
			FZ_CHECK(addr >= k.load_end || addr + initrd <= k.load_start);
		}
	}
	free(img);
	return 0;
}
