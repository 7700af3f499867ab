// SPDX-License-Identifier: MIT
/* Shared helpers of the fuzz harnesses: see fuzz_util.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_ring.h>

#include "tests/fuzz/fuzz_util.h"

uint8_t fz_u8(struct fz *f)
{
	uint8_t v = 0;

	fz_bytes(f, &v, 1);
	return v;
}

uint16_t fz_u16(struct fz *f)
{
	uint16_t v = 0;

	fz_bytes(f, &v, sizeof(v));
	return v;
}

uint32_t fz_u32(struct fz *f)
{
	uint32_t v = 0;

	fz_bytes(f, &v, sizeof(v));
	return v;
}

uint64_t fz_u64(struct fz *f)
{
	uint64_t v = 0;

	fz_bytes(f, &v, sizeof(v));
	return v;
}

size_t fz_bytes(struct fz *f, void *dst, size_t len)
{
	size_t n = len < f->left ? len : f->left;

	memcpy(dst, f->p, n);
	memset((uint8_t *)dst + n, 0, len - n);
	f->p += n;
	f->left -= n;
	return n;
}

void fz_mem_init(struct guest_mem *mem, uint8_t *buf, uint64_t size)
{
	*mem = (struct guest_mem){
	    .region = {{.gpa = 0, .size = size, .hva = buf}},
	    .nr = 1,
	    .size = size,
	};
}

void fz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", file, line, what);
	abort();
}

void fz_allow_range(uint8_t *allow, uint64_t ram, uint64_t gpa, uint64_t len)
{
	if (gpa >= ram)
		return;
	if (len > ram - gpa)
		len = ram - gpa;
	memset(allow + gpa, 1, len);
}

/* A copy: a guest's table need not be aligned. */
static const struct vring_desc *desc_at(const uint8_t *ram, uint64_t ram_size, uint64_t gpa)
{
	static __thread struct vring_desc copy[2];
	static __thread unsigned int k;

	if (gpa > ram_size || ram_size - gpa < sizeof(struct vring_desc))
		return NULL;
	k ^= 1;
	memcpy(&copy[k], ram + gpa, sizeof(copy[k]));
	return &copy[k];
}

static void allow_indirect(uint8_t *allow, const uint8_t *ram, uint64_t ram_size,
			   const struct vring_desc *d)
{
	uint64_t n = d->len / sizeof(struct vring_desc), table = d->addr;

	for (uint64_t i = 0; i < n && i < 65536; i++) {
		const struct vring_desc *e = desc_at(ram, ram_size, table + i * sizeof(*e));

		if (!e)
			return;
		if (e->flags & VRING_DESC_F_WRITE)
			fz_allow_range(allow, ram_size, e->addr, e->len);
	}
}

void fz_allow_queue(uint8_t *allow, const uint8_t *ram, uint64_t ram_size, uint64_t desc_gpa,
		    uint64_t used_gpa, uint16_t size)
{
	fz_allow_range(allow, ram_size, used_gpa, 4 + 8ULL * size + 2);
	for (unsigned int i = 0; i < size; i++) {
		const struct vring_desc *d = desc_at(ram, ram_size, desc_gpa + 16ULL * i);

		if (!d)
			return;
		if (d->flags & VRING_DESC_F_INDIRECT)
			allow_indirect(allow, ram, ram_size, d);
		else if (d->flags & VRING_DESC_F_WRITE)
			fz_allow_range(allow, ram_size, d->addr, d->len);
	}
}

static void check_bytes(const uint8_t *before, const uint8_t *after, const uint8_t *allow,
			uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to; i++) {
		if (before[i] != after[i] && !allow[i]) {
			fprintf(stderr, "guest byte 0x%llx written outside the offered buffers\n",
				(unsigned long long)i);
			abort();
		}
	}
}

/*
 * Not memcmp(): ASan intercepts it in the whole binary, which made this check
 * most of a harness's time. A loop the compiler vectorises instead.
 */
static bool same_bytes(const uint8_t *a, const uint8_t *b, uint64_t len)
{
	uint64_t diff = 0, x, y, i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		diff |= x ^ y;
	}
	for (; i < len; i++)
		diff |= a[i] ^ b[i];
	return !diff;
}

/* Runs after every step of every input: equal pages and lines are skipped whole. */
void fz_check_writes(const uint8_t *before, const uint8_t *after, const uint8_t *allow,
		     uint64_t size)
{
	for (uint64_t page = 0; page < size; page += 4096) {
		uint64_t page_end = page + 4096 < size ? page + 4096 : size;

		if (same_bytes(before + page, after + page, page_end - page))
			continue;
		for (uint64_t line = page; line < page_end; line += 64) {
			uint64_t line_end = line + 64 < page_end ? line + 64 : page_end;

			if (!same_bytes(before + line, after + line, line_end - line))
				check_bytes(before, after, allow, line, line_end);
		}
	}
}

/* Walk @n descriptors of a table from @first; -1 when malformed. */
static int64_t walk(const uint8_t *ram, uint64_t ram_size, uint64_t table, uint32_t n,
		    uint16_t first, bool top)
{
	int64_t in = 0;
	uint32_t i = first, steps = 0;

	for (;;) {
		const struct vring_desc *d;

		if (i >= n || ++steps > n)
			return -1;
		d = desc_at(ram, ram_size, table + 16ULL * i);
		if (!d)
			return -1;
		if (top && (d->flags & VRING_DESC_F_INDIRECT)) {
			int64_t r = walk(ram, ram_size, d->addr, d->len / 16, 0, false);

			return r < 0 ? -1 : in + r;
		}
		if (d->flags & VRING_DESC_F_WRITE)
			in += d->len;
		if (!(d->flags & VRING_DESC_F_NEXT))
			return in;
		i = d->next;
	}
}

int64_t fz_chain_in_len(const uint8_t *ram, uint64_t ram_size, uint64_t desc_gpa, uint16_t size,
			uint16_t head)
{
	return walk(ram, ram_size, desc_gpa, size, head, true);
}

void fz_poke(uint8_t *ram, uint64_t ram_size, uint64_t gpa, const void *src, uint64_t len)
{
	if (gpa <= ram_size && len <= ram_size - gpa)
		memcpy(ram + gpa, src, len);
}

void fz_peek(const uint8_t *ram, uint64_t ram_size, uint64_t gpa, void *dst, uint64_t len)
{
	if (gpa <= ram_size && len <= ram_size - gpa)
		memcpy(dst, ram + gpa, len);
	else
		memset(dst, 0, len);
}

void fz_ring_init(struct fz_ring *r, uint8_t *ram, uint64_t ram_size, uint64_t desc, uint64_t avail,
		  uint64_t used, uint16_t size)
{
	static const uint8_t zero[16 * 256];

	*r = (struct fz_ring){.ram = ram,
			      .ram_size = ram_size,
			      .desc = desc,
			      .avail = avail,
			      .used = used,
			      .size = size ? size : 1};
	fz_poke(ram, ram_size, desc, zero, 16 * 256);
	fz_poke(ram, ram_size, avail, zero, 6 + 2 * 256);
	fz_poke(ram, ram_size, used, zero, 6 + 8 * 256);
}

static struct vring_desc fz_seg(struct fz *f, uint64_t base, uint64_t span)
{
	uint8_t fl = fz_u8(f);
	struct vring_desc d = {0};

	d.addr = (fl & 0x40) ? fz_u64(f) : base + (span ? fz_u16(f) % span : 0);
	d.len = (fl & 0x20) ? fz_u32(f) : fz_u16(f) % 2048;
	d.flags = (fl & 1) ? VRING_DESC_F_WRITE : 0;
	if (fl & 0x10) /* a raw flags word: NEXT, INDIRECT, whatever the fuzzer likes */
		d.flags = fz_u16(f);
	return d;
}

uint16_t fz_ring_post(struct fz *f, struct fz_ring *r, uint64_t buf_base, uint64_t buf_span)
{
	uint8_t c = fz_u8(f);
	unsigned int n = 1 + (c & 7);
	uint16_t head = r->next_desc % r->size;
	struct vring_desc d;

	if (c & 0x80) { /* indirect: the table goes in the buffer area */
		uint64_t table = (buf_base + (buf_span ? fz_u16(f) % buf_span : 0)) & ~15ULL;

		for (unsigned int i = 0; i < n; i++) {
			d = fz_seg(f, buf_base, buf_span);
			if (i + 1 < n && !(d.flags & VRING_DESC_F_NEXT)) {
				d.flags |= VRING_DESC_F_NEXT;
				d.next = i + 1;
			}
			fz_poke(r->ram, r->ram_size, table + 16ULL * i, &d, sizeof(d));
		}
		d = (struct vring_desc){
		    .addr = table, .len = 16 * n, .flags = VRING_DESC_F_INDIRECT};
		fz_poke(r->ram, r->ram_size, r->desc + 16ULL * head, &d, sizeof(d));
		r->next_desc = (head + 1) % r->size;
	} else {
		for (unsigned int i = 0; i < n; i++) {
			uint16_t at = (head + i) % r->size;

			d = fz_seg(f, buf_base, buf_span);
			if (i + 1 < n && !(d.flags & VRING_DESC_F_NEXT)) {
				d.flags |= VRING_DESC_F_NEXT;
				d.next = (at + 1) % r->size;
			}
			fz_poke(r->ram, r->ram_size, r->desc + 16ULL * at, &d, sizeof(d));
		}
		r->next_desc = (head + n) % r->size;
	}
	fz_poke(r->ram, r->ram_size, r->avail + 4 + 2ULL * (r->avail_idx % r->size), &head, 2);
	r->avail_idx++;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	fz_poke(r->ram, r->ram_size, r->avail + 2, &r->avail_idx, 2);
	return head;
}

unsigned int fz_ring_check_used(struct fz_ring *r, const uint8_t *before)
{
	const struct vring_used *u;
	unsigned int n = 0;
	uint16_t idx;

	if (r->used > r->ram_size || r->ram_size - r->used < 4 + 8ULL * r->size)
		return 0;
	u = (const struct vring_used *)(r->ram + r->used);
	idx = __atomic_load_n(&u->idx, __ATOMIC_ACQUIRE);
	for (; r->last_used != idx && n <= r->size; r->last_used++, n++) {
		const struct vring_used_elem *e = &u->ring[r->last_used % r->size];
		int64_t in;

		FZ_CHECK(e->id < r->size);
		/*
		 * The chain as the device read it (@before), or as the device's own
		 * writes left it when a buffer the guest offered overlaps the table.
		 */
		in = fz_chain_in_len(r->ram, r->ram_size, r->desc, r->size, (uint16_t)e->id);
		if (before) {
			int64_t b =
			    fz_chain_in_len(before, r->ram_size, r->desc, r->size, (uint16_t)e->id);

			in = b > in ? b : in;
		}
		if (in >= 0 && e->len > in)
			fprintf(stderr, "used id %u len %u, the chain offers %lld writable bytes\n",
				e->id, e->len, (long long)in);
		if (in >= 0)
			FZ_CHECK(e->len <= in);
	}
	return n;
}

int fz_temp_image(uint64_t size, char *path, size_t path_len)
{
	char name[] = "/tmp/vmm-fuzz-image-XXXXXX";
	int fd = mkstemp(name);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		abort();
	unlink(name);
	snprintf(path, path_len, "/proc/self/fd/%d", fd);
	return fd;
}
