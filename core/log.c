// SPDX-License-Identifier: MIT
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
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

int vmm_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg, const char *what)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err ? set_error("cannot start %s thread: %s", what, strerror(err)) : 0;
}
