/* SPDX-License-Identifier: MIT */
/*
 * The data the test guest writes to a raw virtio disk (vmmtest.pattern=) and
 * the host checks afterwards (build/guest/diskpattern): shared so that both
 * sides compute the same bytes.
 *
 * The disk gets a list of extents (dp_extents()): sizes from one sector to
 * 1 MiB, at offsets aligned to a sector but mostly not to a page, crossing
 * 64 KiB and 1 MiB boundaries, including the first and the last sector.
 * Every byte's value depends on its offset on the disk only (splitmix64 of
 * the 8-byte word's index), so data written to the wrong place, or read from
 * it, never compares equal. Everything between the extents stays as it was
 * (zero on a new sparse image). vmmtest.discard= then discards DP_DISCARD_OFF
 * (DP_DISCARD_LEN bytes), which lies inside two extents, and
 * vmmtest.zeroes= zeroes DP_ZERO_OFF (DP_ZERO_LEN) inside another with
 * BLKZEROOUT; both must read back as zeros (dp_expect()).
 */
#ifndef VMM_GUEST_DISKPATTERN_H
#define VMM_GUEST_DISKPATTERN_H

#include <stddef.h>
#include <stdint.h>

#define DP_SECTOR	512ULL
#define DP_MIB		(1ULL << 20)
/* Largest extent, and so the largest single read or write. */
#define DP_MAX_IO	DP_MIB
/* Smallest disk the extents fit on (the last ones count from the end). */
#define DP_MIN_BYTES	(16 * DP_MIB)
#define DP_MAX_EXTENTS	12
/* Inside the extents at 5 MiB and 6 MiB; 1 MiB aligned, so a host that
 * punches a hole frees whole file-system blocks. */
#define DP_DISCARD_OFF	(5 * DP_MIB + DP_MIB / 2)
#define DP_DISCARD_LEN	DP_MIB
/* Inside the extent at 3 MiB + 512. */
#define DP_ZERO_OFF	(3 * DP_MIB + 64 * 1024)
#define DP_ZERO_LEN	(128 * 1024ULL)

/* What has been done to the disk after the pattern: dp_expect()'s @done. */
#define DP_DISCARDED	1u
#define DP_ZEROED	2u

struct dp_extent {
	uint64_t off, len;
};

/* The extents for a disk of @bytes (at least DP_MIN_BYTES, a multiple of
 * DP_SECTOR), in increasing order and not overlapping. Returns the count. */
static inline unsigned int dp_extents(uint64_t bytes, struct dp_extent *e)
{
	unsigned int n = 0;

	e[n++] = (struct dp_extent){ 0, DP_SECTOR };			/* first sector */
	e[n++] = (struct dp_extent){ 4096, 4096 };			/* one page */
	e[n++] = (struct dp_extent){ 19 * DP_SECTOR, 3 * DP_SECTOR };	/* 3 sectors, odd place */
	e[n++] = (struct dp_extent){ 64 * 1024 - DP_SECTOR, 130 * DP_SECTOR }; /* across 64 KiB */
	e[n++] = (struct dp_extent){ DP_MIB - 2 * DP_SECTOR, DP_MIB };	/* 1 MiB across 1 MiB */
	e[n++] = (struct dp_extent){ 3 * DP_MIB + DP_SECTOR, DP_MIB / 2 + DP_SECTOR };
	e[n++] = (struct dp_extent){ 5 * DP_MIB, DP_MIB };		/* discard starts inside */
	e[n++] = (struct dp_extent){ 6 * DP_MIB, DP_MIB };		/* and ends inside */
	e[n++] = (struct dp_extent){ (bytes / 2 & ~(DP_SECTOR - 1)) + 7 * DP_SECTOR,
				     64 * 1024 + DP_SECTOR };	/* middle */
	e[n++] = (struct dp_extent){ bytes - 2 * DP_MIB + DP_SECTOR, 128 * 1024 };
	e[n++] = (struct dp_extent){ bytes - DP_SECTOR, DP_SECTOR };	/* last sector */
	return n;
}

/* splitmix64: a fixed, well-mixed value for each 8-byte word of the disk. */
static inline uint64_t dp_word(uint64_t index)
{
	uint64_t z = index * 0x9e3779b97f4a7c15ULL + 0x5d1c3a7b6e2f4d09ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The pattern's bytes for disk offset @off (a multiple of 8), @len bytes
 * (a multiple of 8), little-endian whatever the CPU. */
static inline void dp_fill(unsigned char *buf, uint64_t off, size_t len)
{
	size_t i, b;

	for (i = 0; i < len / 8; i++) {
		uint64_t v = dp_word(off / 8 + i);

		for (b = 0; b < 8; b++)
			buf[i * 8 + b] = (unsigned char)(v >> (8 * b));
	}
}

/* Do [@off, @off + @len) and [@roff, @roff + @rlen) overlap? */
static inline int dp_overlaps(uint64_t off, uint64_t len, uint64_t roff, uint64_t rlen)
{
	return off < roff + rlen && roff < off + len;
}

/* Zero the part of @buf (disk offset @off, @len bytes) that lies in the
 * range [@roff, @roff + @rlen). */
static inline void dp_zero_range(unsigned char *buf, uint64_t off, size_t len, uint64_t roff,
				 uint64_t rlen)
{
	uint64_t start, end;
	size_t i;

	if (!dp_overlaps(off, len, roff, rlen))
		return;
	start = roff > off ? roff : off;
	end = roff + rlen < off + len ? roff + rlen : off + len;
	for (i = (size_t)(start - off); i < (size_t)(end - off); i++)
		buf[i] = 0;
}

/* What disk offset @off (@len bytes, multiples of 8) must hold once the
 * pattern is written and then what @done says (DP_DISCARDED, DP_ZEROED). */
static inline void dp_expect(unsigned char *buf, uint64_t off, size_t len, unsigned int done)
{
	dp_fill(buf, off, len);
	if (done & DP_DISCARDED)
		dp_zero_range(buf, off, len, DP_DISCARD_OFF, DP_DISCARD_LEN);
	if (done & DP_ZEROED)
		dp_zero_range(buf, off, len, DP_ZERO_OFF, DP_ZERO_LEN);
}

#endif
