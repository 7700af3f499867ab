/* SPDX-License-Identifier: MIT */
/*
 * The verdict of one scenario as it runs: the first failure (or the reason
 * to skip) written into the scenario's message buffer.
 */
#ifndef TESTGUEST_OUTCOME_H
#define TESTGUEST_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

#include "scenario.h"

struct tg_outcome {
	char *msg;
	size_t len;
	const char *step; /* the variant being tried, for the message; NULL: none */
	bool failed, skipped;
};

/* Start with @msg/@len as the message buffer, no step, no verdict yet. */
void tg_outcome_init(struct tg_outcome *o, char *msg, size_t len);

/*
 * Record a failure; the first one wins, prefixed by "step: " when a step is
 * set. Always false, to be returned.
 */
bool tg_fail(struct tg_outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record a reason to skip (it replaces the message). Always false. */
bool tg_skip(struct tg_outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* SKIP if skipped, else FAIL if failed, else PASS. */
enum tg_result tg_outcome_result(const struct tg_outcome *o);

#endif
