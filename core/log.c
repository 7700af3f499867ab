// SPDX-License-Identifier: MIT
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/console.h"
#include "core/error.h"
#include "core/log.h"

static void vlog(const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "vmm: %s%s", line, console_is_raw() ? "\r\n" : "\n");
}

void vmm_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void vmm_log_limited(struct log_limit *limit, const char *fmt, ...)
{
	unsigned long long n = atomic_fetch_add(&limit->lines, 1);
	va_list ap;

	if (n == LOG_LIMIT_BURST)
		vmm_log("%s: further messages like these are only counted", limit->name);
	if (n >= LOG_LIMIT_BURST)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void log_limit_report(struct log_limit *limit)
{
	unsigned long long n = atomic_load(&limit->lines);

	if (n > LOG_LIMIT_BURST)
		vmm_log("%s: %llu more messages were suppressed", limit->name, n - LOG_LIMIT_BURST);
}

static const char *const kind_names[THREAD_KINDS] = {
    [THREAD_MAIN] = "main",	      [THREAD_VCPU] = "vcpu",	    [THREAD_BLK_SYNC] = "blk-sync",
    [THREAD_BLK_URING] = "blk-uring", [THREAD_NET_TAP] = "net-tap", [THREAD_NET_USER] = "net-user",
};

const char *thread_kind_name(enum thread_kind kind)
{
	return kind < THREAD_KINDS ? kind_names[kind] : "new";
}

static void (*enter_hook)(enum thread_kind kind);

void vmm_thread_set_enter_hook(void (*hook)(enum thread_kind kind))
{
	enter_hook = hook;
}

void vmm_thread_enter(enum thread_kind kind)
{
	if (enter_hook)
		enter_hook(kind);
}

struct thread_start {
	void *(*fn)(void *);
	void *arg;
	enum thread_kind kind;
};

static void *thread_main(void *p)
{
	struct thread_start start = *(struct thread_start *)p;

	free(p);
	pthread_setname_np(pthread_self(), thread_kind_name(start.kind));
	vmm_thread_enter(start.kind);
	return start.fn(start.arg);
}

int vmm_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg, const char *what,
		     enum thread_kind kind)
{
	struct thread_start *start = malloc(sizeof(*start));
	sigset_t all, old;
	int err;

	if (!start)
		return set_error("cannot start %s thread: out of memory", what);
	*start = (struct thread_start){fn, arg, kind};
	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(thread, NULL, thread_main, start);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		free(start);
	return err ? set_error("cannot start %s thread: %s", what, strerror(err)) : 0;
}
