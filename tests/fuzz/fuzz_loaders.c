// SPDX-License-Identifier: MIT
/*
 * The bzImage and ELF kernel loaders and the initrd loader on fuzzer-made
 * files. Invariant: a kernel that loads has its entry and its load range in
 * guest RAM; an initrd that loads lies in guest RAM past the kernel.
 */
#include <string.h>

#include "core/error.h"
#include "core/loader.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem *mem = fuzz_mem();
	struct kernel_image k;
	size_t split = size / 2 + (size ? data[0] % (size / 2 + 1) : 0);
	uint64_t addr;

	if (split > size)
		split = size;
	memset(&k, 0, sizeof(k));
	if (kernel_load(data, split, mem, &k) < 0) {
		FUZZ_CHECK(last_error()[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(k.load_start < k.load_end);
	FUZZ_CHECK(gpa_to_hva(mem, k.load_start, k.load_end - k.load_start) != NULL);
	if (size > split && initrd_load(data + split, size - split, mem, &k, &addr) == 0)
		FUZZ_CHECK(gpa_to_hva(mem, addr, size - split) != NULL);
	return 0;
}
