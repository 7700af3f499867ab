/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: at most two regions (below the MMIO hole and above 4 GiB), each
 * backed by one anonymous mapping in the VMM. Every access the VMM makes on
 * behalf of the guest goes through gpa_to_hva(), which refuses any range that
 * is not wholly inside one region.
 */
#ifndef VMM_MEMORY_H
#define VMM_MEMORY_H

#include <stdint.h>

#define GUEST_MEM_MIN (16ULL << 20)
#define GUEST_MEM_MAX (1ULL << 40)

struct mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	struct mem_region region[2];
	unsigned int nr;
	uint64_t size;
};

int guest_mem_layout(struct guest_mem *mem, uint64_t size);
int guest_mem_alloc(struct guest_mem *mem, uint64_t size);
/*
 * RAM of @size fits in what the host has (RAM plus swap): 0, or -1 with
 * set_error() saying how much it has. Guest RAM is mapped MAP_NORESERVE, so
 * a guest bigger than the host would start, and only die (or take the
 * host's OOM killer along) when it touches what is not there.
 */
int guest_mem_fits_host(uint64_t size);
void guest_mem_free(struct guest_mem *mem);
void *gpa_to_hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
uint64_t guest_mem_low_end(const struct guest_mem *mem);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);

#endif
