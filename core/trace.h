/* SPDX-License-Identifier: MIT */
/*
 * --trace FILE: a timeline of what the guest made the VMM do, as Chrome
 * trace-event JSON (Perfetto, chrome://tracing): every vCPU exit with the
 * time spent handling it, every notify a worker takes, every interrupt
 * sent, every request from its pop to its used entry. Events go into one
 * ring of --trace-limit slots (the newest kept), written out at exit and on
 * SIGUSR1. A leaf: devices and vCPUs record, the composition root writes.
 *
 * Recording is a fetch-add on the ring's index and a few stores; nothing at
 * all while trace_enabled is false.
 */
#ifndef VMM_TRACE_H
#define VMM_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define TRACE_LIMIT_DEFAULT 1000000
#define TRACE_LIMIT_MIN	    1000
#define TRACE_LIMIT_MAX	    100000000

extern bool trace_enabled;

enum trace_kind {
	TRACE_EXIT,	     /* a vCPU exit: @a the site or reason, @dur its handling */
	TRACE_NOTIFY,	     /* a worker took @a notifies of queue @name/@b */
	TRACE_NOTIFY_EXIT,   /* a notify that came by a vCPU exit, queue @name/@b */
	TRACE_IRQ,	     /* a used-buffer interrupt for queue @name/@b */
	TRACE_REQUEST_BEGIN, /* chain @a taken from queue @name/@b */
	TRACE_REQUEST_END,   /* chain @a given back on queue @name/@b */
};

/* The ring of @limit events, the file it goes to. Before any thread starts. */
int trace_open(const char *path, uint64_t limit);
/* Name the calling thread's track: "vcpu0", "virtio-blk0 q0". */
void trace_thread(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void trace_record(enum trace_kind kind, const char *name, uint64_t a, uint64_t b, int64_t ts_ns,
		  uint64_t dur_ns);
/* For TRACE_EXIT's @a: its name, set by whoever records exits. */
void trace_set_exit_namer(void (*namer)(uint64_t a, char *buf, size_t len));
/*
 * Write what the ring holds to the file, replacing what an earlier flush
 * wrote; safe while threads record. -1 with set_error().
 */
int trace_flush(void);
void trace_close(void);

#endif
