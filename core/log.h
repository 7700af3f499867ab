/* SPDX-License-Identifier: MIT */
/*
 * What every layer may use to speak to the user and to run a thread: a log
 * line on stderr and a thread started with the signals blocked. A leaf: it
 * knows nothing of the VM, the command line or any device.
 */
#ifndef VMM_LOG_H
#define VMM_LOG_H

#include <pthread.h>

/* "vmm: ..." on stderr, readable even while the terminal is in raw mode. */
void vmm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Start a device worker thread with every signal blocked: signals are the
 * main thread's (and SIGUSR1 the vCPUs'). -1 with set_error() naming @what.
 */
int vmm_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg, const char *what);

#endif
