// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

#include "core/error.h"
#include "core/layout.h"
#include "core/memory.h"
#include "core/util.h"

/* Split @size bytes of RAM around the MMIO hole; no memory is mapped yet. */
int guest_mem_layout(struct guest_mem *mem, uint64_t size)
{
	uint64_t low = MIN(size, MMIO_HOLE_START);

	memset(mem, 0, sizeof(*mem));
	if (size < GUEST_MEM_MIN || size > GUEST_MEM_MAX)
		return set_error("memory size %llu MiB out of range (16 MiB to 1 TiB)",
				 (unsigned long long)(size >> 20));
	if (size & 0xfff)
		return set_error("memory size must be a multiple of 4 KiB");
	mem->size = size;
	mem->region[mem->nr++] = (struct mem_region){.gpa = 0, .size = low};
	if (size > low)
		mem->region[mem->nr++] =
		    (struct mem_region){.gpa = MMIO_HOLE_END, .size = size - low};
	return 0;
}

int guest_mem_alloc(struct guest_mem *mem, uint64_t size)
{
	if (guest_mem_layout(mem, size) < 0)
		return -1;
	for (unsigned int i = 0; i < mem->nr; i++) {
		struct mem_region *r = &mem->region[i];
		void *p = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED) {
			int err = errno;

			guest_mem_free(mem);
			return set_error("cannot allocate %llu MiB of guest memory: %s",
					 (unsigned long long)(size >> 20), strerror(err));
		}
		/* Guest RAM is the bulk of the VMM's footprint; THP cuts TLB misses. */
		madvise(p, r->size, MADV_HUGEPAGE);
		r->hva = p;
	}
	return 0;
}

void guest_mem_free(struct guest_mem *mem)
{
	for (unsigned int i = 0; i < mem->nr; i++) {
		if (mem->region[i].hva)
			munmap(mem->region[i].hva, mem->region[i].size);
		mem->region[i].hva = NULL;
	}
}

/*
 * The one checked translation from guest to host address: NULL unless the
 * whole of [gpa, gpa + len) lies inside a single RAM region. A zero length is
 * checked like a one-byte access so that a pointer is never past the end.
 */
void *gpa_to_hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (range_end_overflows(gpa, len ? len : 1, &end))
		return NULL;
	for (unsigned int i = 0; i < mem->nr; i++) {
		const struct mem_region *r = &mem->region[i];

		if (gpa >= r->gpa && end <= r->gpa + r->size)
			return r->hva ? r->hva + (gpa - r->gpa) : NULL;
	}
	return NULL;
}

/* End of the RAM that starts at address 0 (the boot protocol's "low" memory). */
uint64_t guest_mem_low_end(const struct guest_mem *mem)
{
	return mem->nr ? mem->region[0].size : 0;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = gpa_to_hva(mem, gpa, len);

	if (!dst)
		return set_error("guest address range 0x%llx+0x%llx is not RAM",
				 (unsigned long long)gpa, (unsigned long long)len);
	memcpy(dst, src, len);
	return 0;
}

int guest_mem_fits_host(uint64_t size)
{
	struct sysinfo si;
	uint64_t host;

	if (sysinfo(&si) < 0)
		return 0; /* nothing to compare with: let the mapping decide */
	host = ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;
	if (size <= host)
		return 0;
	return set_error("--mem: %llu MiB is more than this host's RAM and swap (%llu MiB); "
			 "--mem-overcommit maps it anyway",
			 (unsigned long long)(size >> 20), (unsigned long long)(host >> 20));
}
