// SPDX-License-Identifier: MIT
/*
 * The bench group: a fixed number of block requests of one size kept at
 * one queue depth on the scratch disk (the first writable one), timed by
 * the guest with the TSC.
 *
 *   tg.bench=RW:SIZE:DEPTH:COUNT[,RW:SIZE:DEPTH:COUNT...]   (the word may repeat)
 *
 * RW is randread, randwrite, read or write (sequential ones wrap at the end
 * of the disk), SIZE in bytes (a multiple of 512, with an optional k or m
 * suffix), DEPTH the requests kept in flight, COUNT the requests in all.
 * Scenario bench.RW runs the cases of that kind, in order, each printing
 *
 *   tg: bench randread bs=4096 qd=32 n=20000: IOPS=... MB/s=... (... us per request)
 *
 * (MB = 10^6 bytes; "us per request" is the run's time over the count, not
 * a latency) and passes when every request's status was OK. Without any
 * tg.bench= word: randread and randwrite of 4 KiB at depth 32, 20000 each.
 *
 * Kernel mode runs in an emulator on the development machines while ring 3
 * runs natively, so the submit and poll loop runs in ring 3 (tg_run_user):
 * building a chain, publishing it and the notify (an MMIO write the VMM
 * catches with an ioeventfd) trap nothing in the guest. The loop polls,
 * allocates nothing, prints nothing; requests take direct chains (three
 * descriptors) so that no indirect table is made on first use of a head.
 */
#include <stdarg.h>

#include "rt.h"
#include "scenario.h"
#include "virtio.h"
#include "virtio_blk.h"

#define SECTOR	     VIRTIO_BLK_SECTOR_SIZE
#define MAX_SIZE     (1U << 20)
#define MAX_COUNT    100000000ULL
#define STALL_MS     5000 /* no completion for this long: the device is stuck */
#define DEFAULT_RUNS "randread:4096:32:20000,randwrite:4096:32:20000"

enum bench_rw { RANDREAD, RANDWRITE, READ, WRITE };

static const char *const rw_names[] = {"randread", "randwrite", "read", "write"};

struct bench_case {
	enum bench_rw rw;
	uint32_t size;
	unsigned int depth;
	uint64_t count;
};

struct bench_slot {
	struct virtio_blk_req req;
	void *buf;
};

/* One case's run: set up in ring 0, driven in ring 3. */
struct bench_run {
	struct virtio_blk *blk;
	struct bench_case c;
	struct bench_slot *slots;
	uint16_t *done; /* slots completed since the last poll */
	unsigned int nr_done;
	uint64_t positions; /* request-sized places on the disk */
	uint64_t rng, next_pos;
	uint64_t submitted, completed, errors, stall_tsc;
	uint64_t t0, t1; /* TSC */
	int err;	 /* a failed queue or a stall, -VIRTIO_E* */
	int first_bad;	 /* the status of the first request that was not OK */
};

static bool parse_num(const char **p, const char *end, uint64_t *v, bool suffix)
{
	char *e;

	if (*p >= end || **p < '0' || **p > '9')
		return false;
	*v = strtoull(*p, &e, 0);
	if (suffix && e < end && (*e == 'k' || *e == 'K'))
		*v <<= 10, e++;
	else if (suffix && e < end && (*e == 'm' || *e == 'M'))
		*v <<= 20, e++;
	if (e > end)
		return false;
	*p = e;
	return true;
}

/* One case, [@s, @end): RW:SIZE:DEPTH:COUNT. */
static bool parse_case(const char *s, const char *end, struct bench_case *c)
{
	uint64_t size, depth, count;
	size_t n;
	int rw = -1;

	for (unsigned int i = 0; i < TG_ARRAY_SIZE(rw_names); i++) {
		n = strlen(rw_names[i]);
		if ((size_t)(end - s) > n && !strncmp(s, rw_names[i], n) && s[n] == ':')
			rw = (int)i;
	}
	if (rw < 0)
		return false;
	s += strlen(rw_names[rw]) + 1;
	if (!parse_num(&s, end, &size, true) || s >= end || *s++ != ':' ||
	    !parse_num(&s, end, &depth, false) || s >= end || *s++ != ':' ||
	    !parse_num(&s, end, &count, false) || s != end)
		return false;
	if (!size || size % SECTOR || size > MAX_SIZE || !depth || depth > VRING_MAX_NUM ||
	    !count || count > MAX_COUNT)
		return false;
	*c = (struct bench_case){(enum bench_rw)rw, (uint32_t)size, (unsigned int)depth, count};
	return true;
}

/*
 * Walk the cases: the next one after *@pos / *@off (both 0 to start) into
 * @c. False at the end, or with *@bad set (and @text naming it) when one
 * is malformed.
 */
static bool next_case(size_t *pos, size_t *off, char *word, size_t wlen, struct bench_case *c,
		      bool *bad)
{
	static bool use_default;

	if (!*pos && !*off)
		use_default = !tg_param("tg.bench", word, wlen);
	for (;;) {
		const char *s, *e;

		if (!*off) {
			if (use_default && *pos)
				return false;
			if (use_default)
				memcpy(word, DEFAULT_RUNS, sizeof(DEFAULT_RUNS)), (*pos)++;
			else if (!tg_param_next("tg.bench", pos, word, wlen))
				return false;
		}
		s = word + *off;
		if (!*s) {
			*off = 0;
			continue;
		}
		e = strchr(s, ',');
		if (!e)
			e = s + strlen(s);
		*off = *e ? (size_t)(e + 1 - word) : (size_t)(e - word);
		if (e == s)
			continue;
		if (!parse_case(s, e, c)) {
			*bad = true;
			/* Leave the malformed case alone in @word for the message. */
			memmove(word, s, (size_t)(e - s));
			word[e - s] = '\0';
			return false;
		}
		return true;
	}
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void bench_done(struct virtio_blk_req *req)
{
	struct bench_run *b = req->priv;

	b->done[b->nr_done++] = (uint16_t)((struct bench_slot *)req - b->slots);
}

/* Ring 3: the request for slot @i at the next place, queued (not kicked). */
static int bench_submit(struct bench_run *b, unsigned int i)
{
	struct bench_slot *s = &b->slots[i];
	bool random = b->c.rw == RANDREAD || b->c.rw == RANDWRITE;
	bool write = b->c.rw == RANDWRITE || b->c.rw == WRITE;
	uint64_t pos = random ? xorshift(&b->rng) % b->positions : b->next_pos++ % b->positions;

	virtio_blk_req_init(&s->req, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
			    pos * (b->c.size / SECTOR), s->buf, b->c.size);
	s->req.mode = VQ_DIRECT;
	s->req.done = bench_done;
	s->req.priv = b;
	b->submitted++;
	return virtio_blk_queue(b->blk, 0, &s->req);
}

/* Ring 3: keep the queue @depth deep until @count requests completed. */
static long bench_user(void *arg)
{
	struct bench_run *b = arg;
	uint64_t last;

	b->t0 = last = tg_rdtsc();
	for (unsigned int i = 0; i < b->c.depth && b->submitted < b->c.count; i++)
		if ((b->err = bench_submit(b, i)))
			return 1;
	virtio_blk_kick(b->blk, 0);
	while (b->completed < b->c.count) {
		unsigned int n;

		b->nr_done = 0;
		virtio_blk_poll(b->blk, 0);
		n = b->nr_done;
		if (!n) {
			if (tg_rdtsc() - last > b->stall_tsc) {
				b->err = -VIRTIO_ETIMEDOUT;
				return 1;
			}
			__asm__ volatile("pause");
			continue;
		}
		last = tg_rdtsc();
		for (unsigned int k = 0; k < n; k++) {
			int r = b->slots[b->done[k]].req.result;

			b->completed++;
			if (r != VIRTIO_BLK_S_OK && !b->errors++)
				b->first_bad = r;
			if (b->submitted < b->c.count && (b->err = bench_submit(b, b->done[k])))
				return 1;
		}
		virtio_blk_kick(b->blk, 0);
	}
	b->t1 = tg_rdtsc();
	return 0;
}

struct fill_job {
	uint8_t *p;
	size_t len;
};

/* Written data that is not all zeros, so that no layer can take a shortcut. */
static long fill_user(void *arg)
{
	struct fill_job *j = arg;

	for (size_t i = 0; i < j->len; i++)
		j->p[i] = (uint8_t)(i * 7 + (i >> 9));
	return 0;
}

static const char *status_name(int r)
{
	switch (r) {
	case VIRTIO_BLK_S_IOERR: return "IOERR";
	case VIRTIO_BLK_S_UNSUPP: return "UNSUPP";
	}
	return r < 0 ? virtio_strerror(r) : "?";
}

static struct virtio_blk *scratch(void)
{
	struct virtio_blk *blk;

	for (unsigned int n = 0; (blk = virtio_blk_get(n)); n++)
		if (!blk->ro)
			return blk;
	return NULL;
}

/* Run one case; false with @msg saying why when it could not run or a request failed. */
static bool run_case(const struct bench_case *c, char *msg, size_t len)
{
	struct virtio_blk *blk = scratch();
	uint64_t khz = tg_tsc_khz(), ns, iops, mbs10, us100;
	uintptr_t mark = tg_alloc_mark();
	struct bench_run b = {0};
	unsigned int num;
	uint8_t *bufs;

	if (!blk) {
		tg_snprintf(msg, len, "no writable virtio-blk disk");
		return false;
	}
	num = blk->vqs[0]->vring.num;
	if (3 * c->depth > num) {
		tg_snprintf(msg, len, "qd=%u takes %u descriptors, the queue has %u", c->depth,
			    3 * c->depth, num);
		return false;
	}
	if (!khz || blk->capacity < c->size / SECTOR) {
		tg_snprintf(msg, len, khz ? "the disk is smaller than one request" : "no TSC rate");
		return false;
	}
	b.blk = blk;
	b.c = *c;
	b.positions = blk->capacity / (c->size / SECTOR);
	b.rng = tg_rdtsc() | 1;
	b.stall_tsc = khz * STALL_MS;
	b.slots = tg_alloc(c->depth * sizeof(*b.slots), 64);
	b.done = tg_alloc(c->depth * sizeof(*b.done), 8);
	/* Page-aligned buffers, as an O_DIRECT backend (QEMU's cache=none) would want. */
	bufs = tg_alloc((size_t)c->depth * TG_ALIGN_UP(c->size, TG_PAGE_SIZE), TG_PAGE_SIZE);
	for (unsigned int i = 0; i < c->depth; i++)
		b.slots[i].buf = bufs + (size_t)i * TG_ALIGN_UP(c->size, TG_PAGE_SIZE);
	if (c->rw == RANDWRITE || c->rw == WRITE)
		tg_run_user(fill_user,
			    &(struct fill_job){bufs, (size_t)c->depth *
							 TG_ALIGN_UP(c->size, TG_PAGE_SIZE)});
	/* A polling driver: no used-buffer interrupts, which the guest would
	 * take in (emulated, on the development machines) kernel mode. */
	virtqueue_disable_cb(blk->vqs[0]);
	tg_run_user(bench_user, &b);
	virtqueue_enable_cb(blk->vqs[0]);
	/* The requests (if any are left with the device) are the framework's to reset. */
	tg_alloc_release(mark);
	if (b.err) {
		tg_snprintf(msg, len, "%s after %llu of %llu requests", virtio_strerror(b.err),
			    (unsigned long long)b.completed, (unsigned long long)c->count);
		return false;
	}
	ns = (b.t1 - b.t0) * 1000000 / khz;
	if (!ns)
		ns = 1;
	iops = c->count * 1000000000 / ns;
	mbs10 = c->count * c->size * 10000 / ns;
	us100 = ns / 10 / c->count;
	tg_printf("tg: bench %s bs=%u qd=%u n=%llu: IOPS=%llu MB/s=%llu.%llu (%llu.%02llu us per "
		  "request)\n",
		  rw_names[c->rw], c->size, c->depth, (unsigned long long)c->count,
		  (unsigned long long)iops, (unsigned long long)(mbs10 / 10),
		  (unsigned long long)(mbs10 % 10), (unsigned long long)(us100 / 100),
		  (unsigned long long)(us100 % 100));
	if (b.errors) {
		tg_snprintf(msg, len, "%s bs=%u qd=%u: %llu of %llu requests failed (first: %s)",
			    rw_names[c->rw], c->size, c->depth, (unsigned long long)b.errors,
			    (unsigned long long)c->count, status_name(b.first_bad));
		return false;
	}
	return true;
}

static enum tg_result run_kind(enum bench_rw rw, char *msg, size_t len)
{
	size_t pos = 0, off = 0;
	struct bench_case c;
	unsigned int ran = 0;
	bool bad = false;
	char word[256];

	while (next_case(&pos, &off, word, sizeof(word), &c, &bad)) {
		if (c.rw != rw)
			continue;
		if (!run_case(&c, msg, len))
			return TG_FAIL;
		ran++;
	}
	if (bad) {
		tg_snprintf(msg, len, "bad tg.bench case \"%s\" (RW:SIZE:DEPTH:COUNT)", word);
		return TG_FAIL;
	}
	if (!ran) {
		tg_snprintf(msg, len, "no %s case in tg.bench=", rw_names[rw]);
		return TG_SKIP;
	}
	tg_snprintf(msg, len, "%u case%s, every status OK", ran, ran == 1 ? "" : "s");
	return TG_PASS;
}

static enum tg_result sc_randread(char *msg, size_t len)
{
	return run_kind(RANDREAD, msg, len);
}

static enum tg_result sc_randwrite(char *msg, size_t len)
{
	return run_kind(RANDWRITE, msg, len);
}

static enum tg_result sc_read(char *msg, size_t len)
{
	return run_kind(READ, msg, len);
}

static enum tg_result sc_write(char *msg, size_t len)
{
	return run_kind(WRITE, msg, len);
}

static const struct tg_scenario bench_scenarios[] = {
    {"randread", sc_randread},
    {"randwrite", sc_randwrite},
    {"read", sc_read},
    {"write", sc_write},
};

const struct tg_group tg_bench_group = {
    .name = "bench",
    .scenarios = bench_scenarios,
    .count = TG_ARRAY_SIZE(bench_scenarios),
};
