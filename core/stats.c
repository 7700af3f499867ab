// SPDX-License-Identifier: MIT
/* --stats (stats.h): histograms and the report's two forms. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/stats.h"
#include "core/util.h"

bool stats_enabled;

static unsigned int bucket_of(uint64_t ns)
{
	unsigned int e, idx;

	if (ns < STATS_HIST_SUB)
		return (unsigned int)ns;
	e = 63 - (unsigned int)__builtin_clzll(ns); /* 3 or more */
	if (e >= STATS_HIST_MAX_LOG)
		return STATS_HIST_BUCKETS - 1;
	idx = (e - 2) * STATS_HIST_SUB + (unsigned int)((ns >> (e - 3)) & (STATS_HIST_SUB - 1));
	return MIN(idx, STATS_HIST_BUCKETS - 1);
}

/* The middle of bucket @idx, in ns. */
static uint64_t bucket_middle(unsigned int idx)
{
	unsigned int e = idx / STATS_HIST_SUB + 2, m = idx % STATS_HIST_SUB;

	if (idx < STATS_HIST_SUB)
		return idx;
	return ((uint64_t)(STATS_HIST_SUB + m) << (e - 3)) + ((1ULL << (e - 3)) >> 1);
}

void stats_hist_add(struct stats_hist *h, uint64_t ns)
{
	STAT_ADD(h->count, 1);
	STAT_ADD(h->total_ns, ns);
	STAT_ADD(h->bucket[bucket_of(ns)], 1);
}

void stats_hist_merge(struct stats_hist *dst, const struct stats_hist *src)
{
	dst->count += STAT_READ(src->count);
	dst->total_ns += STAT_READ(src->total_ns);
	for (unsigned int i = 0; i < STATS_HIST_BUCKETS; i++)
		dst->bucket[i] += STAT_READ(src->bucket[i]);
}

uint64_t stats_hist_percentile(const struct stats_hist *h, unsigned int pct)
{
	uint64_t in_buckets = 0, want, seen = 0;

	for (unsigned int i = 0; i < STATS_HIST_BUCKETS; i++)
		in_buckets += h->bucket[i];
	if (!in_buckets)
		return 0;
	/* The smallest value with at least pct% of the samples at or below it. */
	want = (in_buckets * pct + 99) / 100;
	for (unsigned int i = 0; i < STATS_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= MAX(want, 1))
			return bucket_middle(i);
	}
	return bucket_middle(STATS_HIST_BUCKETS - 1);
}

void stats_queue_read(struct stats_queue *dst, const struct stats_queue *src)
{
	*dst = (struct stats_queue){
	    .requests = STAT_READ(src->requests),
	    .notify_eventfd = STAT_READ(src->notify_eventfd),
	    .notify_exit = STAT_READ(src->notify_exit),
	    .polled = STAT_READ(src->polled),
	    .interrupts = STAT_READ(src->interrupts),
	    .bytes_read = STAT_READ(src->bytes_read),
	    .bytes_written = STAT_READ(src->bytes_written),
	    .errors = STAT_READ(src->errors),
	};
}

/* Grow *@rows (of @size bytes each) to hold one more; false when out of memory. */
static bool grow(void **rows, unsigned int n, unsigned int *cap, size_t size)
{
	void *p;
	unsigned int c;

	if (n < *cap)
		return true;
	c = *cap ? *cap * 2 : 32;
	p = realloc(*rows, (size_t)c * size);
	if (!p)
		return false;
	memset((char *)p + (size_t)*cap * size, 0, (size_t)(c - *cap) * size);
	*rows = p;
	*cap = c;
	return true;
}

struct stats_exit_row *stats_report_exit(struct stats_report *r, const char *reason,
					 const char *site)
{
	struct stats_exit_row *row;

	for (unsigned int i = 0; i < r->nexits; i++) {
		row = &r->exits[i];
		if (!strcmp(row->reason, reason) && !strcmp(row->site, site))
			return row;
	}
	if (!grow((void **)&r->exits, r->nexits, &r->exits_cap, sizeof(*r->exits)))
		return NULL;
	row = &r->exits[r->nexits++];
	snprintf(row->reason, sizeof(row->reason), "%s", reason);
	snprintf(row->site, sizeof(row->site), "%s", site);
	return row;
}

struct stats_queue_row *stats_report_queue(struct stats_report *r)
{
	if (!grow((void **)&r->queues, r->nqueues, &r->queues_cap, sizeof(*r->queues)))
		return NULL;
	return &r->queues[r->nqueues++];
}

void stats_report_free(struct stats_report *r)
{
	free(r->exits);
	free(r->queues);
	r->exits = NULL;
	r->queues = NULL;
	r->nexits = r->nqueues = r->exits_cap = r->queues_cap = 0;
}

/* The count of @reason's total row. */
static uint64_t reason_count(const struct stats_report *r, const char *reason)
{
	for (unsigned int i = 0; i < r->nexits; i++)
		if (!r->exits[i].site[0] && !strcmp(r->exits[i].reason, reason))
			return r->exits[i].hist.count;
	return 0;
}

/* Reasons by count, a reason's total before its sites, sites by count. */
static int exit_order(const void *a, const void *b)
{
	const struct stats_exit_row *x = a, *y = b;
	uint64_t rx = x->reason_count, ry = y->reason_count;
	int by_name = strcmp(x->reason, y->reason);

	if (by_name)
		return rx != ry ? (rx < ry ? 1 : -1) : by_name;
	if (!x->site[0] != !y->site[0])
		return x->site[0] ? 1 : -1;
	if (x->hist.count != y->hist.count)
		return x->hist.count < y->hist.count ? 1 : -1;
	return strcmp(x->site, y->site);
}

/*
 * Insertion sort, not qsort(): glibc's asks sysinfo() how much memory it may
 * use, which the main thread's seccomp filter refuses. A few hundred rows.
 */
static void sort_exits(struct stats_report *r)
{
	struct stats_exit_row tmp;

	for (unsigned int i = 0; i < r->nexits; i++)
		r->exits[i].reason_count = reason_count(r, r->exits[i].reason);
	for (unsigned int i = 1; i < r->nexits; i++) {
		unsigned int j = i;

		tmp = r->exits[i];
		for (; j > 0 && exit_order(&r->exits[j - 1], &tmp) > 0; j--)
			r->exits[j] = r->exits[j - 1];
		r->exits[j] = tmp;
	}
}

static double us(uint64_t ns)
{
	return (double)ns / 1e3;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static void print_exits_text(const struct stats_report *r, FILE *f)
{
	fprintf(f, "%-44s %10s %10s %10s %10s\n", "vCPU exits (time in the VMM)", "count",
		"total ms", "median us", "p99 us");
	for (unsigned int i = 0; i < r->nexits; i++) {
		const struct stats_exit_row *e = &r->exits[i];
		char name[80];

		snprintf(name, sizeof(name), "%s%s", e->site[0] ? "  " : "",
			 e->site[0] ? e->site : e->reason);
		fprintf(f, "%-44s %10llu %10.3f %10.3f %10.3f\n", name,
			(unsigned long long)e->hist.count, ms(e->hist.total_ns),
			us(stats_hist_percentile(&e->hist, 50)),
			us(stats_hist_percentile(&e->hist, 99)));
	}
}

/* Notifies by ioeventfd: those the worker read less those that came by exit. */
static unsigned long long notifies_ioeventfd(const struct stats_queue *q)
{
	return q->notify_eventfd - MIN(q->notify_eventfd, q->notify_exit);
}

static void print_queues_text(const struct stats_report *r, FILE *f)
{
	fprintf(f, "\n%-20s %9s %9s %9s %9s %9s %10s %10s %7s %7s\n", "virtqueues", "requests",
		"notify fd", "notify ex", "polled", "irqs", "read KiB", "write KiB", "errors",
		"resets");
	for (unsigned int i = 0; i < r->nqueues; i++) {
		const struct stats_queue_row *row = &r->queues[i];
		const struct stats_queue *q = &row->q;
		char name[64];

		snprintf(name, sizeof(name), "%s %s", row->device, row->queue);
		fprintf(f, "%-20s %9llu %9llu %9llu %9llu %9llu %10llu %10llu %7llu %7llu\n", name,
			(unsigned long long)q->requests,
			(unsigned long long)(q->notify_eventfd -
					     MIN(q->notify_eventfd, q->notify_exit)),
			(unsigned long long)q->notify_exit, (unsigned long long)q->polled,
			(unsigned long long)q->interrupts,
			(unsigned long long)(q->bytes_read >> 10),
			(unsigned long long)(q->bytes_written >> 10), (unsigned long long)q->errors,
			(unsigned long long)row->needs_reset);
	}
}

static void print_vcpus_text(const struct stats_report *r, FILE *f)
{
	fprintf(f, "\n%-20s %10s %14s %14s\n", "vCPUs", "exits", "in KVM_RUN ms", "in VMM ms");
	for (unsigned int i = 0; i < r->nvcpus; i++) {
		const struct stats_vcpu_row *v = &r->vcpus[i];
		char name[24];

		snprintf(name, sizeof(name), "vcpu%u", v->id);
		fprintf(f, "%-20s %10llu %14.3f %14.3f\n", name, (unsigned long long)v->exits,
			ms(v->run_ns), ms(v->vmm_ns));
	}
}

void stats_report_print_text(struct stats_report *r, FILE *f)
{
	sort_exits(r);
	fprintf(f, "vmm: stats after %.3f s\n", (double)r->uptime_ns / 1e9);
	print_exits_text(r, f);
	print_queues_text(r, f);
	print_vcpus_text(r, f);
}

static void print_exit_json(const struct stats_exit_row *e, FILE *f)
{
	fputs("{\"reason\":", f);
	json_string(f, e->reason);
	fputs(",\"site\":", f);
	if (e->site[0])
		json_string(f, e->site);
	else
		fputs("null", f);
	fprintf(f, ",\"count\":%llu,\"total_ns\":%llu,\"median_ns\":%llu,\"p99_ns\":%llu}",
		(unsigned long long)e->hist.count, (unsigned long long)e->hist.total_ns,
		(unsigned long long)stats_hist_percentile(&e->hist, 50),
		(unsigned long long)stats_hist_percentile(&e->hist, 99));
}

static void print_queue_json(const struct stats_queue_row *row, FILE *f)
{
	const struct stats_queue *q = &row->q;

	fputs("{\"device\":", f);
	json_string(f, row->device);
	fputs(",\"queue\":", f);
	json_string(f, row->queue);
	fprintf(f,
		",\"requests\":%llu,\"notifies_ioeventfd\":%llu,\"notifies_exit\":%llu,"
		"\"polled\":%llu,\"interrupts\":%llu,\"bytes_read\":%llu,\"bytes_written\":%llu,"
		"\"errors\":%llu,\"needs_reset\":%llu}",
		(unsigned long long)q->requests, notifies_ioeventfd(q),
		(unsigned long long)q->notify_exit, (unsigned long long)q->polled,
		(unsigned long long)q->interrupts, (unsigned long long)q->bytes_read,
		(unsigned long long)q->bytes_written, (unsigned long long)q->errors,
		(unsigned long long)row->needs_reset);
}

void stats_report_print_json(struct stats_report *r, FILE *f)
{
	sort_exits(r);
	fprintf(f, "{\"uptime_ns\":%llu,\"exits\":[", (unsigned long long)r->uptime_ns);
	for (unsigned int i = 0; i < r->nexits; i++) {
		fputs(i ? "," : "", f);
		print_exit_json(&r->exits[i], f);
	}
	fputs("],\"queues\":[", f);
	for (unsigned int i = 0; i < r->nqueues; i++) {
		fputs(i ? "," : "", f);
		print_queue_json(&r->queues[i], f);
	}
	fputs("],\"vcpus\":[", f);
	for (unsigned int i = 0; i < r->nvcpus; i++)
		fprintf(f, "%s{\"id\":%u,\"exits\":%llu,\"run_ns\":%llu,\"vmm_ns\":%llu}",
			i ? "," : "", r->vcpus[i].id, (unsigned long long)r->vcpus[i].exits,
			(unsigned long long)r->vcpus[i].run_ns,
			(unsigned long long)r->vcpus[i].vmm_ns);
	fputs("]}", f);
}
