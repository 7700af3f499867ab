// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <string.h>

#include "core/error.h"
#include "core/layout.h"
#include "core/mptable.h"

/* Entry layouts from the MultiProcessor Specification 1.4, chapter 4. */
struct mpf_intel {
	char signature[4];
	uint32_t physptr;
	uint8_t length;
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_table {
	char signature[4];
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint16_t extended_length;
	uint8_t extended_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag;
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT_VECTORED, MP_INT_NMI, MP_INT_SMI, MP_INT_EXTINT };

#define CPU_ENABLED  1
#define CPU_BOOTPROC 2
#define APIC_VERSION 0x14
#define MP_APIC_ALL  0xff

/* Both tables' one bus: ISA, id 0. */
static const struct mpc_bus isa_bus = {.type = MP_BUS, .bustype = "ISA   "};

#define TABLE_HEADERS_SIZE (sizeof(struct mpf_intel) + sizeof(struct mpc_table))

size_t mptable_size(unsigned int ncpus)
{
	return TABLE_HEADERS_SIZE + ncpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	       sizeof(struct mpc_ioapic) + (IOAPIC_PINS + 2) * sizeof(struct mpc_intsrc);
}

size_t mptable_tree_companion_size(void)
{
	return TABLE_HEADERS_SIZE + sizeof(struct mpc_bus) + sizeof(struct mpc_intsrc);
}

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

static uint8_t *put(uint8_t *at, const void *entry, size_t len)
{
	memcpy(at, entry, len);
	return at + len;
}

static uint8_t *put_machine(uint8_t *p, unsigned int ncpus)
{
	uint8_t ioapic_id = (uint8_t)ncpus; /* the first id after the CPUs' */
	struct mpc_ioapic ioapic = {MP_IOAPIC, ioapic_id, APIC_VERSION, 1, IOAPIC_ADDR};

	for (unsigned int i = 0; i < ncpus; i++) {
		struct mpc_cpu cpu = {
		    .type = MP_PROCESSOR,
		    .apicid = (uint8_t)i,
		    .apicver = APIC_VERSION,
		    .cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROC : 0),
		    .cpufeature = 0x600,  /* family 6 */
		    .featureflag = 0x201, /* FPU, APIC */
		};
		p = put(p, &cpu, sizeof(cpu));
	}
	p = put(p, &isa_bus, sizeof(isa_bus));
	p = put(p, &ioapic, sizeof(ioapic));
	for (uint8_t pin = 0; pin < IOAPIC_PINS; pin++) {
		struct mpc_intsrc src = {MP_INTSRC, MP_INT_VECTORED, 0, 0, pin, ioapic_id, pin};
		p = put(p, &src, sizeof(src));
	}
	struct mpc_intsrc lint0 = {MP_LINTSRC, MP_INT_EXTINT, 0, 0, 0, MP_APIC_ALL, 0};
	struct mpc_intsrc lint1 = {MP_LINTSRC, MP_INT_NMI, 0, 0, 0, MP_APIC_ALL, 1};
	p = put(p, &lint0, sizeof(lint0));
	return put(p, &lint1, sizeof(lint1));
}

/*
 * Beside a tree the table must add nothing, yet Linux wants one interrupt
 * source in it or it makes up ISA routing to the first IO-APIC, which the
 * tree's IO-APIC domain refuses (its alloc reads only tree specifiers: a
 * WARN per ISA IRQ, then a panic). An NMI source is one Linux records and
 * never routes (io_apic.c looks up only vectored and ExtINT sources).
 */
static uint8_t *put_tree_companion(uint8_t *p, unsigned int ncpus)
{
	struct mpc_intsrc nmi = {MP_INTSRC, MP_INT_NMI, 0, 0, 0, MP_APIC_ALL, 0};

	(void)ncpus;
	p = put(p, &isa_bus, sizeof(isa_bus));
	return put(p, &nmi, sizeof(nmi));
}

/* The header's entry count, from the entries themselves. */
static uint16_t count_entries(const struct mpc_table *mpc, const uint8_t *end)
{
	const uint8_t *e = (const uint8_t *)(mpc + 1);
	uint16_t n = 0;

	for (; e < end; n++)
		e += *e == MP_PROCESSOR ? sizeof(struct mpc_cpu) : sizeof(struct mpc_intsrc);
	return n;
}

static int write_table(const struct guest_mem *mem, uint64_t addr, size_t size,
		       uint8_t *(*put_entries)(uint8_t *p, unsigned int ncpus), unsigned int ncpus)
{
	uint8_t *base = gpa_to_hva(mem, addr, size);
	struct mpf_intel *mpf;
	struct mpc_table *mpc;
	uint8_t *end;

	if (!base)
		return set_error("cannot place an MP table at 0x%llx", (unsigned long long)addr);
	mpf = (struct mpf_intel *)base;
	mpc = (struct mpc_table *)(mpf + 1);
	memset(base, 0, size);
	end = put_entries((uint8_t *)(mpc + 1), ncpus);
	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(end - (uint8_t *)mpc);
	mpc->spec = 4;
	memcpy(mpc->oem, "VMM     ", 8);
	memcpy(mpc->productid, "VMM         ", 12);
	mpc->oemcount = count_entries(mpc, end);
	mpc->lapic = LAPIC_ADDR;
	mpc->checksum = checksum(mpc, mpc->length);
	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(addr + sizeof(*mpf));
	mpf->length = 1; /* in 16-byte units */
	mpf->specification = 4;
	mpf->checksum = checksum(mpf, sizeof(*mpf));
	return 0;
}

int mptable_write(const struct guest_mem *mem, uint64_t addr, unsigned int ncpus)
{
	if (ncpus == 0 || ncpus > MPTABLE_MAX_CPUS)
		return set_error("cannot place an MP table for %u CPUs", ncpus);
	return write_table(mem, addr, mptable_size(ncpus), put_machine, ncpus);
}

int mptable_write_tree_companion(const struct guest_mem *mem, uint64_t addr)
{
	return write_table(mem, addr, mptable_tree_companion_size(), put_tree_companion, 0);
}
