/* SPDX-License-Identifier: MIT */
/*
 * What the libFuzzer harnesses share: a guest RAM the fuzzer's bytes are
 * poured into, a reader of control bytes, and the one way a harness reports
 * a broken invariant (abort(): libFuzzer keeps the input as a crash).
 */
#ifndef VMM_TESTS_FUZZ_H
#define VMM_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/memory.h"

#define FUZZ_RAM (1u << 20) /* small: every address the fuzzer makes lands near it */

/* Control bytes, then zeroes once the input is used up. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	return (uint16_t)(fuzz_u8(in) | fuzz_u8(in) << 8);
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	return fuzz_u16(in) | (uint32_t)fuzz_u16(in) << 16;
}

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "invariant broken: %s (%s:%d)\n", #cond, __FILE__,         \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* One guest RAM for the whole run, refilled for each input. */
static inline struct guest_mem *fuzz_mem(void)
{
	static struct guest_mem mem;

	if (!mem.nr && guest_mem_alloc(&mem, 16 << 20) < 0)
		abort();
	return &mem;
}

/* Is [p, p + len) inside guest RAM? */
static inline int fuzz_in_ram(const struct guest_mem *mem, const void *p, size_t len)
{
	for (unsigned int i = 0; i < mem->nr; i++) {
		const uint8_t *b = mem->region[i].hva, *q = p;

		if (q >= b && len <= mem->region[i].size &&
		    q - b <= (ptrdiff_t)(mem->region[i].size - len))
			return 1;
	}
	return 0;
}

#endif
