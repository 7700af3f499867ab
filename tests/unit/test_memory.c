// SPDX-License-Identifier: MIT
#include <stdint.h>

#include "core/layout.h"
#include "core/memory.h"
#include "core/util.h"
#include "tests/unit/suites.h"

#define SMALL_MEM (32 * MiB)

/* Stand-in host addresses for a layout that is never mapped or dereferenced. */
#define FAKE_LOW_HVA  0x100000000000ULL
#define FAKE_HIGH_HVA 0x200000000000ULL

static struct guest_mem mem;

static void small_mem_setup(void)
{
	ck_assert_msg(guest_mem_alloc(&mem, SMALL_MEM) == 0, "%s", last_error());
}

static void small_mem_teardown(void)
{
	guest_mem_free(&mem);
}

static void assert_region(unsigned int i, uint64_t gpa, uint64_t size)
{
	ck_assert_uint_eq(mem.region[i].gpa, gpa);
	ck_assert_uint_eq(mem.region[i].size, size);
}

START_TEST(layout_small_is_one_region)
{
	ck_assert_int_eq(guest_mem_layout(&mem, 128 * MiB), 0);
	ck_assert_uint_eq(mem.nr, 1);
	ck_assert_uint_eq(mem.size, 128 * MiB);
	assert_region(0, 0, 128 * MiB);
	ck_assert_ptr_null(mem.region[0].hva);
	ck_assert_uint_eq(guest_mem_low_end(&mem), 128 * MiB);
}
END_TEST

/* 3 GiB ends exactly where the MMIO hole starts: nothing goes above 4 GiB. */
START_TEST(layout_up_to_hole_is_one_region)
{
	ck_assert_int_eq(guest_mem_layout(&mem, 3 * GiB), 0);
	ck_assert_uint_eq(mem.nr, 1);
	assert_region(0, 0, MMIO_HOLE_START);
	ck_assert_uint_eq(guest_mem_low_end(&mem), MMIO_HOLE_START);
}
END_TEST

START_TEST(layout_one_page_past_hole)
{
	ck_assert_int_eq(guest_mem_layout(&mem, 3 * GiB + 4 * KiB), 0);
	ck_assert_uint_eq(mem.nr, 2);
	assert_region(0, 0, 3 * GiB);
	assert_region(1, MMIO_HOLE_END, 4 * KiB);
}
END_TEST

START_TEST(layout_splits_around_hole)
{
	ck_assert_int_eq(guest_mem_layout(&mem, 6 * GiB), 0);
	ck_assert_uint_eq(mem.nr, 2);
	ck_assert_uint_eq(mem.size, 6 * GiB);
	assert_region(0, 0, 3 * GiB);
	assert_region(1, 4 * GiB, 3 * GiB);
	ck_assert_uint_eq(guest_mem_low_end(&mem), 3 * GiB);
}
END_TEST

START_TEST(layout_bounds)
{
	ck_assert_int_eq(guest_mem_layout(&mem, GUEST_MEM_MIN), 0);
	ck_assert_int_eq(guest_mem_layout(&mem, GUEST_MEM_MAX), 0);
	assert_region(1, MMIO_HOLE_END, GUEST_MEM_MAX - MMIO_HOLE_START);
	ck_assert_fails_with(guest_mem_layout(&mem, GUEST_MEM_MIN - 4 * KiB), "out of range");
	ck_assert_uint_eq(mem.nr, 0);
	ck_assert_fails_with(guest_mem_layout(&mem, GUEST_MEM_MAX + 4 * KiB), "out of range");
	ck_assert_fails_with(guest_mem_layout(&mem, 0), "out of range");
	ck_assert_fails_with(guest_mem_layout(&mem, UINT64_MAX), "out of range");
	ck_assert_fails_with(guest_mem_layout(&mem, 64 * MiB + 512), "multiple of 4 KiB");
	ck_assert_fails_with(guest_mem_layout(&mem, 64 * MiB + 2048), "multiple of 4 KiB");
}
END_TEST

START_TEST(alloc_refuses_bad_size)
{
	ck_assert_fails_with(guest_mem_alloc(&mem, 8 * MiB), "out of range");
	ck_assert_uint_eq(mem.nr, 0);
}
END_TEST

/* Without a mapping there is nothing to point at, even inside a region. */
START_TEST(translate_unmapped_layout)
{
	ck_assert_int_eq(guest_mem_layout(&mem, 128 * MiB), 0);
	ck_assert_ptr_null(gpa_to_hva(&mem, 0x1000, 1));
}
END_TEST

START_TEST(translate_inside)
{
	uint8_t *base = mem.region[0].hva;

	ck_assert_uint_eq(mem.nr, 1);
	ck_assert_ptr_nonnull(base);
	ck_assert_ptr_eq(gpa_to_hva(&mem, 0, 1), base);
	ck_assert_ptr_eq(gpa_to_hva(&mem, 0x1000, 16), base + 0x1000);
	ck_assert_ptr_eq(gpa_to_hva(&mem, 0, SMALL_MEM), base);
	ck_assert_ptr_eq(gpa_to_hva(&mem, 0x5000, 0), base + 0x5000);
}
END_TEST

/* The translation is real memory: a write through one view shows in another. */
START_TEST(translate_is_backed)
{
	uint32_t *a = gpa_to_hva(&mem, 0x123000, 4);
	uint8_t *b = gpa_to_hva(&mem, 0x123002, 1);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	*a = 0x11223344;
	ck_assert_uint_eq(*b, 0x22);
	*(uint8_t *)gpa_to_hva(&mem, SMALL_MEM - 1, 1) = 0x5a;
	ck_assert_uint_eq(mem.region[0].hva[SMALL_MEM - 1], 0x5a);
}
END_TEST

START_TEST(translate_last_byte)
{
	ck_assert_ptr_eq(gpa_to_hva(&mem, SMALL_MEM - 1, 1), mem.region[0].hva + SMALL_MEM - 1);
	ck_assert_ptr_eq(gpa_to_hva(&mem, SMALL_MEM - 4096, 4096),
			 mem.region[0].hva + SMALL_MEM - 4096);
}
END_TEST

START_TEST(translate_past_end)
{
	ck_assert_ptr_null(gpa_to_hva(&mem, SMALL_MEM, 1));
	ck_assert_ptr_null(gpa_to_hva(&mem, SMALL_MEM, 0));
	ck_assert_ptr_null(gpa_to_hva(&mem, SMALL_MEM + 4096, 4096));
	ck_assert_ptr_null(gpa_to_hva(&mem, 0, SMALL_MEM + 1));
}
END_TEST

START_TEST(translate_straddling_end)
{
	ck_assert_ptr_null(gpa_to_hva(&mem, SMALL_MEM - 2, 4));
	ck_assert_ptr_null(gpa_to_hva(&mem, SMALL_MEM - 4096, 4097));
}
END_TEST

/* A length that wraps the 64-bit address space must not wrap into RAM. */
START_TEST(translate_length_overflow)
{
	ck_assert_ptr_null(gpa_to_hva(&mem, 0x1000, UINT64_MAX));
	ck_assert_ptr_null(gpa_to_hva(&mem, 0x1000, UINT64_MAX - 0xfff));
	ck_assert_ptr_null(gpa_to_hva(&mem, UINT64_MAX, 1));
	ck_assert_ptr_null(gpa_to_hva(&mem, UINT64_MAX, 2));
	ck_assert_ptr_null(gpa_to_hva(&mem, UINT64_MAX - 0xfff, 0x2000));
}
END_TEST

START_TEST(translate_hole_small)
{
	ck_assert_ptr_null(gpa_to_hva(&mem, MMIO_HOLE_START, 1));
	ck_assert_ptr_null(gpa_to_hva(&mem, IOAPIC_ADDR, 4));
	ck_assert_ptr_null(gpa_to_hva(&mem, MMIO_HOLE_END, 1));
}
END_TEST

/* A 6 GiB layout with made-up host addresses: only the arithmetic is checked. */
static void fake_big_setup(void)
{
	ck_assert_int_eq(guest_mem_layout(&mem, 6 * GiB), 0);
	mem.region[0].hva = (uint8_t *)(uintptr_t)FAKE_LOW_HVA;
	mem.region[1].hva = (uint8_t *)(uintptr_t)FAKE_HIGH_HVA;
}

static uint64_t hva_of(uint64_t gpa, uint64_t len)
{
	return (uint64_t)(uintptr_t)gpa_to_hva(&mem, gpa, len);
}

START_TEST(translate_low_region_up_to_hole)
{
	fake_big_setup();
	ck_assert_uint_eq(hva_of(0, 1), FAKE_LOW_HVA);
	ck_assert_uint_eq(hva_of(MMIO_HOLE_START - 1, 1), FAKE_LOW_HVA + MMIO_HOLE_START - 1);
	ck_assert_uint_eq(hva_of(MMIO_HOLE_START - 4096, 4096),
			  FAKE_LOW_HVA + MMIO_HOLE_START - 4096);
	ck_assert_uint_eq(hva_of(MMIO_HOLE_START - 1, 2), 0);
}
END_TEST

START_TEST(translate_hole_big)
{
	fake_big_setup();
	ck_assert_uint_eq(hva_of(MMIO_HOLE_START, 1), 0);
	ck_assert_uint_eq(hva_of(IOAPIC_ADDR, 4), 0);
	ck_assert_uint_eq(hva_of(MMIO_HOLE_END - 1, 1), 0);
	ck_assert_uint_eq(hva_of(MMIO_HOLE_END - 1, 2), 0);
	/* Both ends are RAM, but the range in between is not. */
	ck_assert_uint_eq(hva_of(MMIO_HOLE_START - 4096, MMIO_HOLE_END - MMIO_HOLE_START + 8192),
			  0);
}
END_TEST

START_TEST(translate_high_region)
{
	fake_big_setup();
	ck_assert_uint_eq(hva_of(MMIO_HOLE_END, 1), FAKE_HIGH_HVA);
	ck_assert_uint_eq(hva_of(MMIO_HOLE_END + 0x1234, 8), FAKE_HIGH_HVA + 0x1234);
	ck_assert_uint_eq(hva_of(MMIO_HOLE_END, 3 * GiB), FAKE_HIGH_HVA);
	ck_assert_uint_eq(hva_of(7 * GiB - 1, 1), FAKE_HIGH_HVA + 3 * GiB - 1);
	ck_assert_uint_eq(hva_of(7 * GiB - 1, 2), 0);
	ck_assert_uint_eq(hva_of(7 * GiB, 1), 0);
	ck_assert_uint_eq(hva_of(MMIO_HOLE_END + 0x1000, UINT64_MAX), 0);
}
END_TEST

START_TEST(write_copies)
{
	static const uint8_t bytes[] = {1, 2, 3, 4, 5};

	ck_assert_int_eq(guest_mem_write(&mem, 0x10000, bytes, sizeof(bytes)), 0);
	ck_assert_mem_eq(mem.region[0].hva + 0x10000, bytes, sizeof(bytes));
	ck_assert_int_eq(guest_mem_write(&mem, SMALL_MEM - sizeof(bytes), bytes, sizeof(bytes)), 0);
	ck_assert_mem_eq(mem.region[0].hva + SMALL_MEM - sizeof(bytes), bytes, sizeof(bytes));
}
END_TEST

/* A refused write names the range and writes none of it. */
START_TEST(write_outside_ram)
{
	static const uint8_t bytes[4] = {0xaa, 0xbb, 0xcc, 0xdd};
	uint8_t *tail = mem.region[0].hva + SMALL_MEM - 2;

	ck_assert_fails_with(guest_mem_write(&mem, SMALL_MEM - 2, bytes, sizeof(bytes)),
			     "0x1fffffe+0x4 is not RAM");
	ck_assert_uint_eq(tail[0], 0);
	ck_assert_uint_eq(tail[1], 0);
	ck_assert_fails_with(guest_mem_write(&mem, MMIO_HOLE_START, bytes, 1), "0xc0000000");
	ck_assert_fails_with(guest_mem_write(&mem, 0x1000, bytes, UINT64_MAX), "not RAM");
}
END_TEST

START_TEST(free_forgets_mappings)
{
	guest_mem_free(&mem);
	ck_assert_ptr_null(mem.region[0].hva);
	ck_assert_ptr_null(gpa_to_hva(&mem, 0, 1));
	guest_mem_free(&mem);
}
END_TEST

Suite *memory_suite(void)
{
	Suite *s = suite_create("memory");
	TCase *layout = tcase_create("layout");
	TCase *small = tcase_create("32M");
	TCase *big = tcase_create("6G-fake");

	tcase_add_test(layout, layout_small_is_one_region);
	tcase_add_test(layout, layout_up_to_hole_is_one_region);
	tcase_add_test(layout, layout_one_page_past_hole);
	tcase_add_test(layout, layout_splits_around_hole);
	tcase_add_test(layout, layout_bounds);
	tcase_add_test(layout, alloc_refuses_bad_size);
	tcase_add_test(layout, translate_unmapped_layout);
	suite_add_tcase(s, layout);

	tcase_add_checked_fixture(small, small_mem_setup, small_mem_teardown);
	tcase_add_test(small, translate_inside);
	tcase_add_test(small, translate_is_backed);
	tcase_add_test(small, translate_last_byte);
	tcase_add_test(small, translate_past_end);
	tcase_add_test(small, translate_straddling_end);
	tcase_add_test(small, translate_length_overflow);
	tcase_add_test(small, translate_hole_small);
	tcase_add_test(small, write_copies);
	tcase_add_test(small, write_outside_ram);
	tcase_add_test(small, free_forgets_mappings);
	suite_add_tcase(s, small);

	tcase_add_test(big, translate_low_region_up_to_hole);
	tcase_add_test(big, translate_hole_big);
	tcase_add_test(big, translate_high_region);
	suite_add_tcase(s, big);
	return s;
}
