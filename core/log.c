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
    [THREAD_MAIN] = "main",
    [THREAD_VCPU] = "vcpu",
    [THREAD_BLK_SYNC] = "blk-sync",
    [THREAD_BLK_URING] = "blk-uring",
    [THREAD_NET_TAP] = "net-tap",
    [THREAD_NET_USER] = "net-user",
    [THREAD_P9] = "p9",
    [THREAD_SPAWNER] = "spawner",
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

/* Set in a thread that ran the hook: it is confined and starts threads through the spawner. */
static __thread bool confined;

void vmm_thread_enter(enum thread_kind kind)
{
	if (!enter_hook)
		return;
	enter_hook(kind);
	confined = true;
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

/* One creation asked of the spawner; the caller waits for @done. */
struct spawn_req {
	pthread_t *thread;
	struct thread_start *start;
	int err;
	bool done;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a request posted, taken or done */
	struct spawn_req *req;
	bool running;
} spawner = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, false};

/* Every signal blocked but SIGSYS while the thread is made: it inherits the mask. */
static int create_thread(pthread_t *thread, struct thread_start *start)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(thread, NULL, thread_main, start);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

static void *spawner_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&spawner.lock);
	for (;;) {
		struct spawn_req *req;

		while (!spawner.req)
			pthread_cond_wait(&spawner.cond, &spawner.lock);
		req = spawner.req;
		req->err = create_thread(req->thread, req->start);
		req->done = true;
		spawner.req = NULL;
		pthread_cond_broadcast(&spawner.cond);
	}
	return NULL;
}

/* Through the spawner: one request at a time, each caller waiting for its own. */
static int spawn(pthread_t *thread, struct thread_start *start)
{
	struct spawn_req req = {thread, start, 0, false};

	pthread_mutex_lock(&spawner.lock);
	while (spawner.req)
		pthread_cond_wait(&spawner.cond, &spawner.lock);
	spawner.req = &req;
	pthread_cond_broadcast(&spawner.cond);
	while (!req.done)
		pthread_cond_wait(&spawner.cond, &spawner.lock);
	pthread_mutex_unlock(&spawner.lock);
	return req.err;
}

int vmm_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg, const char *what,
		     enum thread_kind kind)
{
	struct thread_start *start = malloc(sizeof(*start));
	int err;

	if (!start)
		return set_error("cannot start %s thread: out of memory", what);
	*start = (struct thread_start){fn, arg, kind};
	err = confined && spawner.running ? spawn(thread, start) : create_thread(thread, start);
	if (err)
		free(start);
	return err ? set_error("cannot start %s thread: %s", what, strerror(err)) : 0;
}

int vmm_spawner_start(void)
{
	pthread_t thread;

	if (vmm_thread_start(&thread, spawner_main, NULL, "spawner", THREAD_SPAWNER) < 0)
		return -1;
	pthread_detach(thread);
	spawner.running = true;
	return 0;
}
