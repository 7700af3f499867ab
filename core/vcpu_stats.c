// SPDX-License-Identifier: MIT
/*
 * --stats for the vCPUs: each exit's handling time by KVM exit reason and,
 * for port and MMIO exits, by device register; time in KVM_RUN and in the
 * VMM. Each vCPU writes only its own tables; the report reads them all.
 */
#include <stdlib.h>
#include <string.h>

#include <linux/kvm.h>

#include "core/error.h"
#include "core/stats.h"
#include "core/util.h"
#include "core/vm.h"

#define STATS_REASONS 64
#define STATS_SITES   128 /* registers one vCPU tells apart; the rest are "other" */

/* A register: bus, direction, range and offset; 0 marks a free slot. */
struct exit_site {
	uint64_t key;
	struct stats_hist hist;
};

struct vcpu_stats {
	uint64_t exits, run_ns, vmm_ns;
	struct stats_hist reason[STATS_REASONS];
	struct exit_site site[STATS_SITES];
	struct stats_hist other_sites;
};

#define KEY_MMIO  (1ULL << 62)
#define KEY_WRITE (1ULL << 61)
#define KEY_VALID (1ULL << 60)

static uint64_t site_key(bool mmio, bool write, int index, uint64_t offset)
{
	return KEY_VALID | (mmio ? KEY_MMIO : 0) | (write ? KEY_WRITE : 0) |
	       ((uint64_t)(index + 1) & 0xffff) << 40 | (offset & ((1ULL << 40) - 1));
}

int vcpu_stats_alloc(struct vcpu *v)
{
	v->stats = calloc(1, sizeof(*v->stats));
	return v->stats ? 0 : set_error("out of memory for --stats");
}

void vcpu_stats_free(struct vcpu *v)
{
	free(v->stats);
	v->stats = NULL;
}

void vcpu_stats_run(struct vcpu *v, uint64_t ns)
{
	STAT_ADD(v->stats->run_ns, ns);
}

/* The slot of @key: open addressing; NULL when the table is full. */
static struct exit_site *site_slot(struct vcpu_stats *s, uint64_t key)
{
	unsigned int h = (unsigned int)((key * 0x9e3779b97f4a7c15ULL) >> 57) % STATS_SITES;

	for (unsigned int i = 0; i < STATS_SITES; i++) {
		struct exit_site *e = &s->site[(h + i) % STATS_SITES];

		if (e->key == key)
			return e;
		if (!e->key) {
			__atomic_store_n(&e->key, key, __ATOMIC_RELEASE);
			return e;
		}
	}
	return NULL;
}

/* The register an I/O or MMIO exit touched, as a key; 0 for other exits. */
static uint64_t exit_site_of(const struct vcpu *v)
{
	const struct kvm_run *run = v->run;
	int index;

	if (run->exit_reason == KVM_EXIT_IO) {
		index = io_bus_index(&v->vm->pio, run->io.port);
		return site_key(false, run->io.direction == KVM_EXIT_IO_OUT, index,
				index < 0 ? run->io.port
					  : run->io.port - v->vm->pio.ranges[index].base);
	}
	if (run->exit_reason == KVM_EXIT_MMIO) {
		index = io_bus_index(&v->vm->mmio, run->mmio.phys_addr);
		return site_key(true, run->mmio.is_write, index,
				index < 0 ? run->mmio.phys_addr
					  : run->mmio.phys_addr - v->vm->mmio.ranges[index].base);
	}
	return 0;
}

void vcpu_stats_exit(struct vcpu *v, uint64_t ns)
{
	struct vcpu_stats *s = v->stats;
	uint64_t key = exit_site_of(v);
	struct exit_site *e;

	STAT_ADD(s->exits, 1);
	STAT_ADD(s->vmm_ns, ns);
	stats_hist_add(&s->reason[MIN(v->run->exit_reason, STATS_REASONS - 1)], ns);
	if (!key)
		return;
	e = site_slot(s, key);
	stats_hist_add(e ? &e->hist : &s->other_sites, ns);
}

static const char *reason_name(unsigned int reason)
{
	static const char *const names[] = {
	    [KVM_EXIT_UNKNOWN] = "UNKNOWN",
	    [KVM_EXIT_EXCEPTION] = "EXCEPTION",
	    [KVM_EXIT_IO] = "IO",
	    [KVM_EXIT_HYPERCALL] = "HYPERCALL",
	    [KVM_EXIT_DEBUG] = "DEBUG",
	    [KVM_EXIT_HLT] = "HLT",
	    [KVM_EXIT_MMIO] = "MMIO",
	    [KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	    [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	    [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	    [KVM_EXIT_INTR] = "INTR",
	    [KVM_EXIT_SET_TPR] = "SET_TPR",
	    [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	    [KVM_EXIT_NMI] = "NMI",
	    [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	    [KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	};

	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return reason == STATS_REASONS - 1 ? "OTHER" : "REASON?";
}

/* "IO COM1 LSR read", "MMIO virtio-blk0 QueueNotify write": the site of @key. */
static void site_name(const struct vm *vm, uint64_t key, char *buf, size_t len)
{
	const struct io_bus *bus = key & KEY_MMIO ? &vm->mmio : &vm->pio;
	int index = (int)((key >> 40) & 0xffff) - 1;
	uint64_t offset = key & ((1ULL << 40) - 1);
	char name[48];

	io_bus_describe(bus, index, index < 0 ? offset : bus->ranges[index].base + offset, name,
			sizeof(name));
	snprintf(buf, len, "%s %s", name, key & KEY_WRITE ? "write" : "read");
}

uint64_t vcpu_exit_key(const struct vcpu *v)
{
	uint64_t site = exit_site_of(v);

	return site ? site : v->run->exit_reason;
}

void vcpu_exit_name(const struct vm *vm, uint64_t key, char *buf, size_t len)
{
	char site[64];

	if (!(key & KEY_VALID)) {
		snprintf(buf, len, "%s", reason_name((unsigned int)MIN(key, STATS_REASONS - 1)));
		return;
	}
	site_name(vm, key, site, sizeof(site));
	snprintf(buf, len, "%s %s", key & KEY_MMIO ? "MMIO" : "IO", site);
}

static int gather_sites(const struct vm *vm, struct vcpu_stats *s, struct stats_report *r)
{
	char site[64];
	struct stats_exit_row *row;

	for (unsigned int i = 0; i < STATS_SITES; i++) {
		uint64_t key = __atomic_load_n(&s->site[i].key, __ATOMIC_ACQUIRE);

		if (!key)
			continue;
		site_name(vm, key, site, sizeof(site));
		row = stats_report_exit(r, key & KEY_MMIO ? "MMIO" : "IO", site);
		if (!row)
			return -1;
		stats_hist_merge(&row->hist, &s->site[i].hist);
	}
	if (!STAT_READ(s->other_sites.count))
		return 0;
	row = stats_report_exit(r, "IO/MMIO", "registers beyond the table");
	if (!row)
		return -1;
	stats_hist_merge(&row->hist, &s->other_sites);
	return 0;
}

int vcpu_stats_gather(const struct vm *vm, struct stats_report *r)
{
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		struct vcpu_stats *s = vm->vcpus[i].stats;
		struct stats_vcpu_row *row = &r->vcpus[r->nvcpus];

		if (!s || r->nvcpus >= ARRAY_SIZE(r->vcpus))
			continue;
		*row = (struct stats_vcpu_row){i, STAT_READ(s->exits), STAT_READ(s->run_ns),
					       STAT_READ(s->vmm_ns)};
		r->nvcpus++;
		for (unsigned int reason = 0; reason < STATS_REASONS; reason++) {
			struct stats_exit_row *e;

			if (!STAT_READ(s->reason[reason].count))
				continue;
			e = stats_report_exit(r, reason_name(reason), "");
			if (!e)
				return -1;
			stats_hist_merge(&e->hist, &s->reason[reason]);
		}
		if (gather_sites(vm, s, r) < 0)
			return -1;
	}
	return 0;
}
