/* SPDX-License-Identifier: MIT */
/*
 * What every layer may use to speak to the user and to run a thread: a log
 * line on stderr and a thread started with the signals blocked. A leaf: it
 * knows nothing of the VM, the command line or any device.
 */
#ifndef VMM_LOG_H
#define VMM_LOG_H

#include <pthread.h>
#include <stdatomic.h>

/* Lines of one guest-triggered kind that reach stderr before they are only counted. */
#define LOG_LIMIT_BURST 10

/* "vmm: ..." on stderr, readable even while the terminal is in raw mode. */
void vmm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A kind of message the guest can make the VMM print as often as it likes
 * (a device broken and reset in a loop, the boot marker hit again and
 * again): the first LOG_LIMIT_BURST lines get through, the next one says
 * that the rest are only counted, and log_limit_report() prints the count.
 * Zero-initialised but for @name, which prefixes those two lines.
 */
struct log_limit {
	const char *name;
	atomic_ullong lines;
};

void vmm_log_limited(struct log_limit *limit, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "NAME: N more messages were suppressed", if any were. */
void log_limit_report(struct log_limit *limit);

/*
 * What a thread of the VMM does: each kind gets a seccomp filter of its own
 * (core/sandbox.c) allowing only the system calls it needs.
 */
enum thread_kind {
	THREAD_MAIN,	  /* the console and signal loop */
	THREAD_VCPU,	  /* KVM_RUN and the exits it returns */
	THREAD_BLK_SYNC,  /* a virtio-blk queue on preadv/pwritev */
	THREAD_BLK_URING, /* a virtio-blk queue on io_uring */
	THREAD_NET_TAP,	  /* a virtio-net card on a tap */
	THREAD_NET_USER,  /* a virtio-net card on libslirp */
	THREAD_P9,	  /* a virtio-9p share's 9P2000.L server */
	THREAD_SPAWNER,	  /* starts the workers for threads that may not clone */
	THREAD_KINDS
};

/* "vcpu", "blk-uring", ...: for messages. */
const char *thread_kind_name(enum thread_kind kind);

/*
 * What every thread runs first, before its work: set by the composition
 * root (the sandbox), none by default (unit tests). It does not return if
 * it fails: a thread that cannot be confined must not run.
 */
void vmm_thread_set_enter_hook(void (*hook)(enum thread_kind kind));
void vmm_thread_enter(enum thread_kind kind);

/*
 * Start a device worker thread of @kind with every signal blocked but
 * SIGSYS (signals are the main thread's, the kick the vCPUs', and a
 * seccomp trap must reach its handler). -1 with set_error() naming @what.
 */
int vmm_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg, const char *what,
		     enum thread_kind kind);

/*
 * The spawner: a thread that starts threads for the confined ones. A thread
 * inherits its creator's filter, so whoever creates workers must allow all
 * they need; with the spawner that is one thread doing nothing else, not the
 * vCPU that runs the guest's exits (a DRIVER_OK starts a device's workers).
 * Once it runs, vmm_thread_start() called by a thread that went through
 * vmm_thread_enter() hands the creation to it and waits. Started by the
 * sandbox before any filter, it lives until the process ends.
 */
int vmm_spawner_start(void);

#endif
