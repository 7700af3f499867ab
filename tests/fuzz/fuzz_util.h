/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz harness shares: a cursor over the fuzzer's input (reads
 * past its end give zeros, so every input is a complete program), guest RAM
 * on a plain buffer, and the checks that end a run with abort() when the
 * code under test broke a rule rather than merely crashed.
 */
#ifndef VMM_TESTS_FUZZ_UTIL_H
#define VMM_TESTS_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/memory.h"

struct fz {
	const uint8_t *p;
	size_t left;
};

uint8_t fz_u8(struct fz *f);
uint16_t fz_u16(struct fz *f);
uint32_t fz_u32(struct fz *f);
uint64_t fz_u64(struct fz *f);
/* Up to @len bytes into @dst (the rest zeroed); returns how many came from the input. */
size_t fz_bytes(struct fz *f, void *dst, size_t len);

/* A disk image of @size zero bytes, already unlinked: its fd, and in @path a name for it. */
int fz_temp_image(uint64_t size, char *path, size_t path_len);

/* One region at gpa 0 over @buf: guest RAM the harness can see and poison. */
void fz_mem_init(struct guest_mem *mem, uint8_t *buf, uint64_t size);

/* The rule is broken: report it (libFuzzer counts abort() as a crash). */
#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fz_fail(#cond, __FILE__, __LINE__);                                        \
	} while (0)
void fz_fail(const char *what, const char *file, int line) __attribute__((noreturn));

/*
 * Which bytes of RAM a device may write, from the driver's point of view:
 * the used ring of each queue and every buffer a descriptor marks writable,
 * in the table and in the indirect tables it names. @allow has one byte per
 * RAM byte; set to 1 where writes are allowed.
 */
void fz_allow_range(uint8_t *allow, uint64_t ram, uint64_t gpa, uint64_t len);
void fz_allow_queue(uint8_t *allow, const uint8_t *ram, uint64_t ram_size, uint64_t desc_gpa,
		    uint64_t used_gpa, uint16_t size);
/* Abort if @after differs from @before anywhere @allow is 0. */
void fz_check_writes(const uint8_t *before, const uint8_t *after, const uint8_t *allow,
		     uint64_t size);

/*
 * The writable bytes of the chain at @head, walked as the driver wrote it
 * (one level of indirection). -1 when the chain is malformed: the device
 * cannot have used it.
 */
int64_t fz_chain_in_len(const uint8_t *ram, uint64_t ram_size, uint64_t desc_gpa, uint16_t size,
			uint16_t head);

#endif

/*
 * A driver's side of one split ring in fuzz RAM, without checks of its own:
 * the fuzzer decides what it posts, good or bad.
 */
struct fz_ring {
	uint8_t *ram;
	uint64_t ram_size;
	uint64_t desc, avail, used;
	uint16_t size;
	uint16_t avail_idx;
	uint16_t next_desc;
	uint16_t last_used;
};

/* Zero the rings' memory (VQ_MAX_SIZE entries at each place) and start afresh. */
void fz_ring_init(struct fz_ring *r, uint8_t *ram, uint64_t ram_size, uint64_t desc, uint64_t avail,
		  uint64_t used, uint16_t size);
/*
 * Post one chain the input describes: 1..8 buffers in [@buf_base, +@buf_span)
 * (or anywhere, when the input says so), readable or writable in the order
 * the input gives, directly or through an indirect table. Returns its head.
 */
uint16_t fz_ring_post(struct fz *f, struct fz_ring *r, uint64_t buf_base, uint64_t buf_span);
/* Write @len bytes at @gpa if they are RAM. */
void fz_poke(uint8_t *ram, uint64_t ram_size, uint64_t gpa, const void *src, uint64_t len);
/* Read @len bytes at @gpa, zeros where that is not RAM. */
void fz_peek(const uint8_t *ram, uint64_t ram_size, uint64_t gpa, void *dst, uint64_t len);
/*
 * Check the used elements the device published since the last call: ids
 * below the size, lengths within what the chain offered (in RAM as it is, or
 * as it was in @before, if not NULL). Returns how many.
 */
unsigned int fz_ring_check_used(struct fz_ring *r, const uint8_t *before);
