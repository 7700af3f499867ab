// SPDX-License-Identifier: MIT
/* The verdict of one scenario: see outcome.h. */
#include "outcome.h"
#include "rt.h"

void tg_outcome_init(struct tg_outcome *o, char *msg, size_t len)
{
	*o = (struct tg_outcome){.msg = msg, .len = len};
}

bool tg_fail(struct tg_outcome *o, const char *fmt, ...)
{
	va_list ap;
	size_t n = 0;

	if (o->failed)
		return false;
	o->failed = true;
	if (o->step) {
		int k = tg_snprintf(o->msg, o->len, "%s: ", o->step);

		n = k > 0 && (size_t)k < o->len ? (size_t)k : 0;
	}
	va_start(ap, fmt);
	tg_vsnprintf(o->msg + n, o->len - n, fmt, ap);
	va_end(ap);
	return false;
}

bool tg_skip(struct tg_outcome *o, const char *fmt, ...)
{
	va_list ap;

	o->skipped = true;
	va_start(ap, fmt);
	tg_vsnprintf(o->msg, o->len, fmt, ap);
	va_end(ap);
	return false;
}

enum tg_result tg_outcome_result(const struct tg_outcome *o)
{
	if (o->skipped)
		return TG_SKIP;
	return o->failed ? TG_FAIL : TG_PASS;
}
