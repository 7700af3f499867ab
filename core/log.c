// SPDX-License-Identifier: MIT
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/console.h"
#include "core/error.h"
#include "core/log.h"

void vmm_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vmm: %s%s", line, console_is_raw() ? "\r\n" : "\n");
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
