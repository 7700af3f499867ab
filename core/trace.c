// SPDX-License-Identifier: MIT
/* --trace (trace.h): the event ring and its Chrome trace-event JSON. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/json.h"
#include "core/trace.h"
#include "core/util.h"

#define TRACE_THREADS 256

bool trace_enabled;

struct trace_event {
	uint64_t seq; /* its index + 1 once written; 0 while being written */
	int64_t ts_ns;
	uint64_t dur_ns;
	uint64_t a, b;
	const char *name;
	uint32_t tid;
	uint32_t kind;
};

static struct {
	struct trace_event *ring;
	uint64_t cap;
	atomic_ullong next;
	int fd;
	int64_t t0;
	char thread_names[TRACE_THREADS][32];
	atomic_uint nthreads;
	void (*namer)(uint64_t a, char *buf, size_t len);
} tr = {.fd = -1};

static __thread uint32_t my_tid; /* 0: not named yet */

int trace_open(const char *path, uint64_t limit)
{
	tr.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (tr.fd < 0)
		return set_error("--trace %s: %s", path, strerror(errno));
	tr.ring = calloc(limit, sizeof(*tr.ring)); /* pages are touched only as events come */
	if (!tr.ring) {
		close(tr.fd);
		tr.fd = -1;
		return set_error("--trace: no memory for %llu events", (unsigned long long)limit);
	}
	tr.cap = limit;
	tr.t0 = monotonic_ns();
	trace_enabled = true;
	return 0;
}

void trace_set_exit_namer(void (*namer)(uint64_t a, char *buf, size_t len))
{
	tr.namer = namer;
}

void trace_thread(const char *fmt, ...)
{
	unsigned int id;
	va_list ap;

	if (!trace_enabled)
		return;
	id = atomic_fetch_add(&tr.nthreads, 1);
	if (id >= TRACE_THREADS)
		return; /* its events go on the track of "other threads" (0) */
	va_start(ap, fmt);
	vsnprintf(tr.thread_names[id], sizeof(tr.thread_names[id]), fmt, ap);
	va_end(ap);
	my_tid = id + 1;
}

void trace_record(enum trace_kind kind, const char *name, uint64_t a, uint64_t b, int64_t ts_ns,
		  uint64_t dur_ns)
{
	uint64_t i = atomic_fetch_add_explicit(&tr.next, 1, memory_order_relaxed);
	struct trace_event *e = &tr.ring[i % tr.cap];

	__atomic_store_n(&e->seq, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	e->ts_ns = ts_ns;
	e->dur_ns = dur_ns;
	e->a = a;
	e->b = b;
	e->name = name;
	e->tid = my_tid;
	e->kind = kind;
	__atomic_store_n(&e->seq, i + 1, __ATOMIC_RELEASE);
}

/* Output through one buffer of our own (stdio would fstat the file: seccomp). */
struct out {
	char buf[1 << 16];
	size_t len;
	bool failed;
};

static void out_flush(struct out *o)
{
	size_t done = 0;

	while (!o->failed && done < o->len) {
		ssize_t n = write(tr.fd, o->buf + done, o->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			o->failed = true;
			set_error("--trace: write: %s", n < 0 ? strerror(errno) : "no space");
		}
		done += n > 0 ? (size_t)n : 0;
	}
	o->len = 0;
}

static void __attribute__((format(printf, 2, 3))) out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n >= sizeof(o->buf) - o->len && o->len > 0) {
		/* Did not fit behind what is buffered: write that out, then again. */
		out_flush(o);
		va_start(ap, fmt);
		n = vsnprintf(o->buf, sizeof(o->buf), fmt, ap);
		va_end(ap);
	}
	if (n > 0)
		o->len += MIN((size_t)n, sizeof(o->buf) - o->len - 1);
}

static double trace_us(int64_t ns)
{
	return (double)(ns - tr.t0) / 1e3;
}

static void put_thread_names(struct out *o)
{
	unsigned int n = MIN(atomic_load(&tr.nthreads), TRACE_THREADS);

	out_printf(o, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"tid\":0,"
		      "\"args\":{\"name\":\"vmm\"}},\n"
		      "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":0,"
		      "\"args\":{\"name\":\"other threads\"}}");
	for (unsigned int i = 0; i < n; i++) {
		char name[sizeof(tr.thread_names[i]) * JSON_ESCAPE_MAX];

		json_escape(name, sizeof(name), tr.thread_names[i]);
		out_printf(o,
			   ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":%u,"
			   "\"args\":{\"name\":\"%s\"}}",
			   i + 1, name);
	}
}

static void put_event(struct out *o, const struct trace_event *e)
{
	char raw[96], name[sizeof(raw) * JSON_ESCAPE_MAX];
	const char *src = raw;
	double ts = trace_us(e->ts_ns);

	/* Device names come from the composition root; escaped all the same. */
	if (e->kind == TRACE_EXIT && tr.namer)
		tr.namer(e->a, raw, sizeof(raw));
	else if (e->kind == TRACE_EXIT)
		snprintf(raw, sizeof(raw), "exit %llu", (unsigned long long)e->a);
	else
		src = e->name;
	json_escape(name, sizeof(name), src);
	switch (e->kind) {
	case TRACE_EXIT:
		out_printf(o,
			   ",\n{\"ph\":\"X\",\"cat\":\"exit\",\"name\":\"%s\",\"ts\":%.3f,"
			   "\"dur\":%.3f,\"pid\":1,\"tid\":%u}",
			   name, ts, (double)e->dur_ns / 1e3, e->tid);
		break;
	case TRACE_NOTIFY:
	case TRACE_NOTIFY_EXIT:
	case TRACE_IRQ:
		out_printf(
		    o,
		    ",\n{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"virtio\",\"name\":\"%s %s q%llu\","
		    "\"ts\":%.3f,\"pid\":1,\"tid\":%u,\"args\":{\"count\":%llu}}",
		    e->kind == TRACE_IRQ ? "interrupt" : "notify", name, (unsigned long long)e->b,
		    ts, e->tid, (unsigned long long)(e->kind == TRACE_NOTIFY ? e->a : 1));
		break;
	case TRACE_REQUEST_BEGIN:
	case TRACE_REQUEST_END:
		/* Async: one bar per request, from its pop to its used entry. */
		out_printf(o,
			   ",\n{\"ph\":\"%s\",\"cat\":\"%s q%llu\",\"name\":\"request\","
			   "\"id\":\"%s-%llu-%llu\",\"ts\":%.3f,\"pid\":1,\"tid\":%u}",
			   e->kind == TRACE_REQUEST_BEGIN ? "b" : "e", name,
			   (unsigned long long)e->b, name, (unsigned long long)e->b,
			   (unsigned long long)e->a, ts, e->tid);
		break;
	}
}

int trace_flush(void)
{
	static struct out o;
	uint64_t next, first, dropped = 0;

	if (tr.fd < 0)
		return 0;
	o.len = 0;
	o.failed = false;
	if (ftruncate(tr.fd, 0) < 0 || lseek(tr.fd, 0, SEEK_SET) < 0)
		return set_error("--trace: %s", strerror(errno));
	next = atomic_load(&tr.next);
	first = next > tr.cap ? next - tr.cap : 0;
	out_printf(&o, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
	put_thread_names(&o);
	for (uint64_t i = first; i < next; i++) {
		struct trace_event e = tr.ring[i % tr.cap];

		/* Being written, or already overwritten by a newer event: leave it out. */
		if (__atomic_load_n(&tr.ring[i % tr.cap].seq, __ATOMIC_ACQUIRE) != i + 1 ||
		    e.seq != i + 1) {
			dropped++;
			continue;
		}
		put_event(&o, &e);
	}
	out_printf(&o, "\n],\"otherData\":{\"events\":%llu,\"kept\":%llu,\"limit\":%llu}}\n",
		   (unsigned long long)next, (unsigned long long)(next - first - dropped),
		   (unsigned long long)tr.cap);
	out_flush(&o);
	return o.failed ? -1 : 0;
}

void trace_close(void)
{
	if (tr.fd >= 0)
		close(tr.fd);
	tr.fd = -1;
	trace_enabled = false;
	free(tr.ring);
	tr.ring = NULL;
}
