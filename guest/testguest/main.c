// SPDX-License-Identifier: MIT
/*
 * The test guest's main: finds the virtio devices, runs the scenarios that
 * tg.run= names (scenario.h) and ends the VM with the verdict.
 *
 *   tg.run=WORD[,WORD...]	WORD: GROUP (all its scenarios) or GROUP.NAME, run in
 *				the order given; default blk,net,hostile,p9 (not bench);
 *				tg.run=none runs nothing and passes (start-up timing)
 *   tg.idle=1			after the run, say "tg: idle" and halt for good
 *				instead of ending the VM (for a host to measure it)
 *
 * A word that names no scenario is a failure (a typo must not pass). Each
 * result line ends with the scenario's time in milliseconds of kvmclock.
 *
 * Every scenario starts from the same state: under its allocator mark the
 * framework probes every device again with default options, and afterwards
 * removes (resets) them all before releasing the mark. So a scenario may
 * reprobe with odd features, break a device on purpose or leave requests
 * posted, and the next one still finds clean, bound devices; and no device
 * keeps rings in memory that the next scenario is handed.
 */
#include "rt.h"
#include "scenario.h"
#include "virtio.h"
#include "virtio_blk.h"
#include "virtio_mmio.h"
#include "virtio_net.h"
#include "virtio_9p.h"

/*
 * The net and hostile groups live in files of their own; until those
 * exist, these empty groups let the guest link (the linker prefers the
 * real, strong definitions).
 */
__attribute__((weak)) const struct tg_group tg_net_group = {.name = "net"};
__attribute__((weak)) const struct tg_group tg_hostile_group = {.name = "hostile"};

static const struct tg_group *const groups[] = {
    &tg_blk_group,   &tg_net_group, &tg_hostile_group,	&tg_bench_group,
    &tg_fault_group, &tg_p9_group,  &tg_netbench_group,
};

/*
 * Without tg.run=: every group but bench and netbench, which take long and prove nothing
 * on its own, and fault, which needs a host that makes the faults (fault-test.sh).
 */
static const char default_run[] = "blk,net,hostile,p9";

struct tally {
	unsigned int passed, failed, skipped;
};

static const char *type_name(uint32_t id)
{
	switch (id) {
	case VIRTIO_ID_BLOCK: return "blk";
	case VIRTIO_ID_NET: return "net";
	case VIRTIO_ID_9P: return "9p";
	}
	return "other";
}

/* One line: how the guest was booted and what it found, to read a log by. */
static void print_boot_line(void)
{
	struct virtio_device *vdev = NULL;
	unsigned int n = 0;

	while ((vdev = virtio_next_device(vdev)))
		n++;
	tg_printf(
	    "tg: booted via %s, %s; %u virtio device%s:", tg_booted_pvh() ? "PVH" : "boot_params",
	    tg_dtb() ? "device tree" : "no device tree", n, n == 1 ? "" : "s");
	while ((vdev = virtio_next_device(vdev))) {
		struct virtio_mmio_device *m = to_virtio_mmio(vdev);
		struct virtio_blk *blk = virtio_blk_of(vdev);

		tg_printf(" %s=%s@0x%lx", vdev->name, type_name(vdev->id.device),
			  (unsigned long)m->base);
		if (vdev->has_irq)
			tg_printf("/irq%u", vdev->irq);
		tg_printf("/%s", m->found_by);
		if (blk)
			tg_printf("/%llu sectors/%s", (unsigned long long)blk->capacity,
				  blk->ro ? "ro" : "rw");
		if (!vdev->driver)
			tg_printf("/%s", vdev->probe_err ? "probe failed" : "no driver");
	}
	tg_printf("\n");
}

/* Default options, bound again: what every scenario starts from. */
static void fresh_devices(void)
{
	struct virtio_device *vdev = NULL;
	bool verbose = virtio_verbose;

	/* The features were printed at discovery; once per scenario is noise (and slow). */
	virtio_verbose = false;
	/* Devices no driver matches stay as they are (-VIRTIO_ENODEV). */
	while ((vdev = virtio_next_device(vdev)))
		virtio_reprobe(vdev, &(struct virtio_probe_opts){0});
	virtio_verbose = verbose;
}

static void run_one(const struct tg_group *g, const struct tg_scenario *s, struct tally *t)
{
	static const char *const words[] = {"PASS", "FAIL", "SKIP"};
	uintptr_t mark = tg_alloc_mark();
	enum tg_result r;
	char msg[200];
	uint64_t t0;

	fresh_devices();
	msg[0] = '\0';
	t0 = tg_ns();
	r = s->run(msg, sizeof(msg));
	t0 = (tg_ns() - t0) / 1000000;
	virtio_remove_all();
	tg_alloc_release(mark);
	if (r != TG_PASS && r != TG_FAIL && r != TG_SKIP) {
		tg_snprintf(msg, sizeof(msg), "returned %d, not a result", (int)r);
		r = TG_FAIL;
	}
	tg_printf("tg: %s %s.%s%s%s (%lu ms)\n", words[r], g->name, s->name, msg[0] ? ": " : "",
		  msg, (unsigned long)t0);
	if (r == TG_PASS)
		t->passed++;
	else if (r == TG_FAIL)
		t->failed++;
	else
		t->skipped++;
}

static const struct tg_group *find_group(const char *name, size_t len)
{
	for (size_t i = 0; i < TG_ARRAY_SIZE(groups); i++)
		if (strlen(groups[i]->name) == len && !strncmp(groups[i]->name, name, len))
			return groups[i];
	return NULL;
}

/* One word of tg.run=: GROUP or GROUP.NAME. A name that matches nothing is a failure. */
static void run_word(const char *w, size_t len, struct tally *t)
{
	const char *dot = memchr(w, '.', len);
	const struct tg_group *g = find_group(w, dot ? (size_t)(dot - w) : len);
	bool any = false;

	for (unsigned int i = 0; g && i < g->count; i++) {
		const struct tg_scenario *s = &g->scenarios[i];
		size_t nlen = dot ? len - (size_t)(dot + 1 - w) : 0;

		if (dot && (strlen(s->name) != nlen || strncmp(s->name, dot + 1, nlen)))
			continue;
		run_one(g, s, t);
		any = true;
	}
	/* An empty group is no typo, but it passes nothing either: the summary says so. */
	if (!any && !(g && !dot)) {
		tg_printf("tg: FAIL %.*s: no such scenario\n", (int)len, w);
		t->failed++;
	}
}

int tg_main(void)
{
	struct tally t = {0};
	char run[512];
	const char *p;
	bool nothing;

	/* The order the virtio core asks for: drivers and knobs first, then discovery. */
	virtio_blk_register();
	virtio_net_register();
	virtio_9p_register();
	/* A knob the guest cannot honour would make every verdict a lie. */
	if (virtio_params_from_cmdline() < 0) {
		tg_printf("tg: FAIL setup: bad virtio.* parameter\n");
		t.failed++;
	}
	virtio_mmio_discover();
	print_boot_line();

	if (!tg_param("tg.run", run, sizeof(run)))
		memcpy(run, default_run, sizeof(default_run));
	nothing = !strcmp(run, "none");
	for (p = nothing ? "" : run; *p;) {
		size_t len = 0;

		while (*p == ',')
			p++;
		while (p[len] && p[len] != ',')
			len++;
		if (len)
			run_word(p, len, &t);
		p += len;
	}
	tg_printf("tg: summary: %u passed, %u failed, %u skipped\n", t.passed, t.failed, t.skipped);
	if (tg_param("tg.idle", run, sizeof(run)) && !strcmp(run, "1")) {
		tg_printf("tg: idle\n");
		tg_halt();
	}
	tg_exit(!t.failed && (t.passed || nothing) ? 0 : 1);
}
