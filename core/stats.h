/* SPDX-License-Identifier: MIT */
/*
 * --stats: what the guest made the VMM do. Latency histograms, the
 * counters a virtqueue keeps, and the report (a text table for people,
 * JSON for scripts; README gives the schema). A leaf: devices count into
 * it, the composition root gathers and prints.
 *
 * Every counter has one writer (a vCPU thread, or a queue's worker) and is
 * read by another thread while the VM runs (the control socket's "stats"),
 * so updates are relaxed atomic loads and stores: no locked instruction on
 * the hot path, and nothing at all while stats_enabled is false.
 */
#ifndef VMM_STATS_H
#define VMM_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Set once before any vCPU or worker starts; the counters run only then. */
extern bool stats_enabled;

/* One writer: a relaxed read-modify-write without a bus lock. */
#define STAT_ADD(field, n)                                                                         \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (n),              \
			 __ATOMIC_RELAXED)
/* Several writers (the vCPUs): a real atomic add. */
#define STAT_ADD_SHARED(field, n) __atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#define STAT_READ(field)	  __atomic_load_n(&(field), __ATOMIC_RELAXED)

/*
 * Log-linear buckets: exact below 8 ns, then 8 per power of two (within
 * 12.5%), up to 2^41 ns (36 minutes); longer times land in the last one.
 */
#define STATS_HIST_SUB	   8
#define STATS_HIST_MAX_LOG 41
#define STATS_HIST_BUCKETS ((STATS_HIST_MAX_LOG - 2) * STATS_HIST_SUB)

struct stats_hist {
	uint64_t count;
	uint64_t total_ns;
	uint32_t bucket[STATS_HIST_BUCKETS];
};

void stats_hist_add(struct stats_hist *h, uint64_t ns);
/* @dst += @src, reading @src as another thread may be writing it. */
void stats_hist_merge(struct stats_hist *dst, const struct stats_hist *src);
/* The @pct-th percentile (1..100), a bucket's middle; 0 when empty. */
uint64_t stats_hist_percentile(const struct stats_hist *h, unsigned int pct);

/* What one virtqueue counts, written by the queue's worker but @notify_exit. */
struct stats_queue {
	uint64_t requests;	 /* chains taken from the ring */
	uint64_t notify_eventfd; /* notifies the worker read (ioeventfd and exit both) */
	uint64_t notify_exit;	 /* notifies that came by a vCPU exit (vCPU threads) */
	uint64_t polled;	 /* requests taken in a round no notify started */
	uint64_t interrupts;	 /* used-buffer interrupts sent */
	uint64_t bytes_read;	 /* device-readable bytes of the chains taken */
	uint64_t bytes_written;	 /* used lengths given back */
	uint64_t errors;	 /* requests answered with an error status */
	bool round_notified;	 /* the worker's round began with a notify */
};

/* *@dst = *@src, read as its writers may be writing it. */
void stats_queue_read(struct stats_queue *dst, const struct stats_queue *src);

/* The report: rows gathered from the vCPUs and the devices, then printed. */
struct stats_exit_row {
	char reason[16]; /* the KVM exit reason: "IO", "MMIO", "HLT", ... */
	char site[64];	 /* "" for the reason's total, else "virtio-blk0 QueueNotify write" */
	struct stats_hist hist;
	uint64_t reason_count; /* for sorting: the count of the reason's total */
};

struct stats_queue_row {
	char device[32];
	char queue[16];
	struct stats_queue q;
	uint64_t needs_reset; /* the device's, on its first queue's row */
};

struct stats_vcpu_row {
	unsigned int id;
	uint64_t exits, run_ns, vmm_ns;
};

struct stats_report {
	uint64_t uptime_ns;
	struct stats_exit_row *exits;
	unsigned int nexits, exits_cap;
	struct stats_queue_row *queues;
	unsigned int nqueues, queues_cap;
	struct stats_vcpu_row vcpus[32];
	unsigned int nvcpus;
};

/* The row of @reason and @site ("" for the total), made if new; NULL when out of memory. */
struct stats_exit_row *stats_report_exit(struct stats_report *r, const char *reason,
					 const char *site);
struct stats_queue_row *stats_report_queue(struct stats_report *r);
void stats_report_free(struct stats_report *r);
/* Sorted: reasons by count, each followed by its sites by count. */
void stats_report_print_text(struct stats_report *r, FILE *f);
/* One JSON object, no newline after it. */
void stats_report_print_json(struct stats_report *r, FILE *f);

#endif
