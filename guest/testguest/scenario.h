/* SPDX-License-Identifier: MIT */
/*
 * Scenarios of the test guest: named checks in groups (blk, net, hostile,
 * bench, netbench), chosen on the command line with tg.run=GROUP[.NAME][,...] (default:
 * every group but bench). Each prints one line, "tg: PASS group.name[: note]"
 * or "tg: FAIL group.name: why" (or SKIP with the reason), then the guest
 * prints "tg: summary: P passed, F failed, S skipped" and ends the VM with 0
 * only if nothing failed and something passed.
 */
#ifndef TESTGUEST_SCENARIO_H
#define TESTGUEST_SCENARIO_H

#include <stddef.h>

enum tg_result { TG_PASS, TG_FAIL, TG_SKIP };

/*
 * One scenario. @run gets a buffer for the reason of a FAIL or SKIP, or a
 * short note (a figure) for a PASS; left empty, nothing is added. It runs
 * between tg_alloc_mark() and tg_alloc_release(): what it allocates is gone
 * afterwards, so it must leave no device using that memory (remove or reset).
 */
struct tg_scenario {
	const char *name;
	enum tg_result (*run)(char *msg, size_t len);
};

struct tg_group {
	const char *name;
	const struct tg_scenario *scenarios;
	unsigned int count;
};

/* Defined by the scenario files, listed in main.c. */
extern const struct tg_group tg_blk_group, tg_net_group, tg_hostile_group, tg_bench_group,
    tg_fault_group, tg_p9_group, tg_netbench_group;
/* The fault group's network case, kept with the network scenarios it shares helpers with. */
enum tg_result tg_net_tap_gone(char *msg, size_t len);

#endif
