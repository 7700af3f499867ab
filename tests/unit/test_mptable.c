// SPDX-License-Identifier: MIT
/*
 * The MP table is read back byte by byte with the offsets of the
 * MultiProcessor Specification 1.4 (chapter 4), not with the writer's structs.
 */
#include "core/layout.h"
#include "core/mptable.h"
#include "core/util.h"
#include "tests/unit/suites.h"

#define MPF_SIZE	16
#define MPC_HEADER_SIZE 44
#define MP_PROCESSOR	0
#define MP_BUS		1
#define MP_IOAPIC	2
#define MP_INTSRC	3
#define MP_LINTSRC	4
#define MP_INT_NMI	1
#define CPU_EN		0x01
#define CPU_BP		0x02

static struct guest_mem mem;

struct mp_summary {
	unsigned int cpus, bsps, buses, ioapics, intsrcs, nmi_srcs, lintsrcs;
	uint8_t apic_ids[256];
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
	uint32_t intsrc_pins; /* bit n: some entry routes to IO-APIC pin n */
};

static void mem_setup(void)
{
	ck_assert_msg(guest_mem_alloc(&mem, 16 * MiB) == 0, "%s", last_error());
}

static void mem_teardown(void)
{
	guest_mem_free(&mem);
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static const uint8_t *guest(uint64_t gpa, uint64_t len)
{
	const uint8_t *p = gpa_to_hva(&mem, gpa, len);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* The floating pointer: "_MP_", 16 bytes summing to 0; returns the table address. */
static uint32_t check_floating_pointer(uint64_t addr)
{
	const uint8_t *mpf = guest(addr, MPF_SIZE);

	ck_assert_uint_eq(addr % 16, 0);
	ck_assert_mem_eq(mpf, "_MP_", 4);
	ck_assert_uint_eq(mpf[8], 1); /* length in 16-byte units */
	ck_assert_uint_eq(mpf[9], 4); /* spec 1.4 */
	ck_assert_uint_eq(sum(mpf, MPF_SIZE), 0);
	ck_assert_uint_eq(mpf[11], 0); /* feature 1: a configuration table is present */
	return le32(mpf + 4);
}

static void summarize_entry(const uint8_t *e, struct mp_summary *s)
{
	switch (e[0]) {
	case MP_PROCESSOR:
		ck_assert_uint_ne(e[3] & CPU_EN, 0);
		s->apic_ids[s->cpus++] = e[1];
		s->bsps += !!(e[3] & CPU_BP);
		if (e[3] & CPU_BP)
			ck_assert_uint_eq(e[1], 0);
		break;
	case MP_BUS:
		ck_assert_mem_eq(e + 2, "ISA   ", 6);
		s->buses++;
		break;
	case MP_IOAPIC:
		ck_assert_uint_ne(e[3] & 1, 0);
		s->ioapics++;
		s->ioapic_id = e[1];
		s->ioapic_addr = le32(e + 4);
		break;
	case MP_INTSRC:
		if (e[1] == MP_INT_NMI) {
			s->nmi_srcs++;
			break;
		}
		ck_assert_uint_eq(e[1], 0); /* vectored */
		ck_assert_uint_lt(e[7], 32);
		s->intsrcs++;
		s->intsrc_pins |= 1U << e[7];
		ck_assert_uint_eq(e[6], s->ioapic_id);
		break;
	case MP_LINTSRC: s->lintsrcs++; break;
	default: ck_abort_msg("unknown MP entry type %u", e[0]);
	}
}

/* Walk the "PCMP" table: header, checksum, and each entry in turn. */
static void read_table(uint64_t addr, struct mp_summary *s)
{
	const uint8_t *mpc = guest(addr, MPC_HEADER_SIZE), *e;
	uint16_t length = le16(mpc + 4), count = le16(mpc + 34);

	memset(s, 0, sizeof(*s));
	ck_assert_mem_eq(mpc, "PCMP", 4);
	ck_assert_uint_eq(mpc[6], 4);
	ck_assert_uint_eq(le32(mpc + 36), LAPIC_ADDR);
	mpc = guest(addr, length);
	ck_assert_uint_eq(sum(mpc, length), 0);
	e = mpc + MPC_HEADER_SIZE;
	for (unsigned int i = 0, last = 0; i < count; i++) {
		ck_assert(e < mpc + length);
		ck_assert_uint_ge(e[0], last); /* entries come sorted by type */
		last = e[0];
		summarize_entry(e, s);
		e += e[0] == MP_PROCESSOR ? 20 : 8;
	}
	ck_assert_ptr_eq(e, mpc + length);
}

static void check_mptable(unsigned int ncpus)
{
	struct mp_summary s;
	uint32_t table;

	ck_assert_msg(mptable_write(&mem, MPTABLE_ADDR, ncpus) == 0, "%s", last_error());
	table = check_floating_pointer(MPTABLE_ADDR);
	ck_assert_uint_ge(table, MPTABLE_ADDR + MPF_SIZE);
	read_table(table, &s);
	ck_assert_uint_eq(s.cpus, ncpus);
	ck_assert_uint_eq(s.bsps, 1);
	for (unsigned int i = 0; i < ncpus; i++)
		ck_assert_uint_eq(s.apic_ids[i], i);
	ck_assert_uint_eq(s.buses, 1);
	ck_assert_uint_eq(s.ioapics, 1);
	ck_assert_uint_eq(s.ioapic_id, ncpus);
	ck_assert_uint_eq(s.ioapic_addr, 0xfec00000);
	ck_assert_uint_eq(s.intsrcs, 24);
	ck_assert_uint_eq(s.intsrc_pins, (1U << 24) - 1);
	ck_assert_uint_eq(s.nmi_srcs, 0);
	ck_assert_uint_eq(s.lintsrcs, 2);
}

START_TEST(one_cpu)
{
	check_mptable(1);
}
END_TEST

START_TEST(eight_cpus)
{
	check_mptable(8);
}
END_TEST

START_TEST(max_cpus)
{
	check_mptable(MPTABLE_MAX_CPUS);
}
END_TEST

/* mptable_size() is what gets written: not a byte more, in a poisoned page. */
START_TEST(size_is_exact)
{
	uint8_t *p = gpa_to_hva(&mem, MPTABLE_ADDR, 0x400);
	size_t size = mptable_size(8);

	memset(p, 0xcc, 0x400);
	ck_assert_int_eq(mptable_write(&mem, MPTABLE_ADDR, 8), 0);
	ck_assert_uint_eq(MPF_SIZE + le16(p + MPF_SIZE + 4), size);
	ck_assert_uint_eq(p[size], 0xcc);
	ck_assert_uint_ne(p[size - 1], 0xcc);
}
END_TEST

/* The table lives in the last KiB below 640 KiB, which e820 reserves. */
START_TEST(max_table_fits_below_640k)
{
	ck_assert_uint_le(MPTABLE_ADDR + mptable_size(MPTABLE_MAX_CPUS), 0xa0000);
	ck_assert_uint_lt(mptable_size(1), mptable_size(2));
}
END_TEST

/*
 * Beside a device tree: a table Linux finds and accepts that names no CPU, no
 * IO-APIC and no routable interrupt (all of that comes from the tree), with
 * the one NMI source that keeps Linux from making up ISA routing.
 */
START_TEST(tree_companion_describes_nothing)
{
	uint8_t *p = gpa_to_hva(&mem, MPTABLE_ADDR, 0x400);
	size_t size = mptable_tree_companion_size();
	struct mp_summary s;

	memset(p, 0xcc, 0x400);
	ck_assert_msg(mptable_write_tree_companion(&mem, MPTABLE_ADDR) == 0, "%s", last_error());
	read_table(check_floating_pointer(MPTABLE_ADDR), &s);
	ck_assert_uint_eq(s.cpus, 0);
	ck_assert_uint_eq(s.ioapics, 0);
	ck_assert_uint_eq(s.buses, 1);
	ck_assert_uint_eq(s.intsrcs, 0);
	ck_assert_uint_eq(s.nmi_srcs, 1);
	ck_assert_uint_eq(s.lintsrcs, 0);
	ck_assert_uint_eq(MPF_SIZE + le16(p + MPF_SIZE + 4), size);
	ck_assert_uint_eq(p[size], 0xcc);
	ck_assert_uint_lt(size, mptable_size(1));
}
END_TEST

START_TEST(bad_cpu_counts)
{
	ck_assert_fails_with(mptable_write(&mem, MPTABLE_ADDR, 0), "MP table for 0 CPUs");
	ck_assert_fails_with(mptable_write(&mem, MPTABLE_ADDR, MPTABLE_MAX_CPUS + 1),
			     "MP table for 33 CPUs");
}
END_TEST

START_TEST(not_in_ram)
{
	ck_assert_fails_with(mptable_write(&mem, 16 * MiB - 64, 1), "cannot place an MP table");
	ck_assert_fails_with(mptable_write(&mem, MMIO_HOLE_START, 1), "cannot place an MP table");
	ck_assert_fails_with(mptable_write_tree_companion(&mem, 16 * MiB - 16),
			     "cannot place an MP table");
}
END_TEST

Suite *mptable_suite(void)
{
	Suite *s = suite_create("mptable");
	TCase *tc = tcase_create("mptable_write");

	tcase_add_checked_fixture(tc, mem_setup, mem_teardown);
	tcase_add_test(tc, one_cpu);
	tcase_add_test(tc, eight_cpus);
	tcase_add_test(tc, max_cpus);
	tcase_add_test(tc, size_is_exact);
	tcase_add_test(tc, max_table_fits_below_640k);
	tcase_add_test(tc, tree_companion_describes_nothing);
	tcase_add_test(tc, bad_cpu_counts);
	tcase_add_test(tc, not_in_ram);
	suite_add_tcase(s, tc);
	return s;
}
