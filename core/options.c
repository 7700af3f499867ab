// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/options.h"

int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return set_error("bad size '%s'", s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return set_error("bad size '%s'", s);
	switch (toupper((unsigned char)*end)) {
	case 'K':
		shift = 10;
		end++;
		break;
	case 'M':
		shift = 20;
		end++;
		break;
	case 'G':
		shift = 30;
		end++;
		break;
	case 'T':
		shift = 40;
		end++;
		break;
	case 'B':
	case '\0': break;
	default: return set_error("bad size '%s' (use a number with K, M, G or T)", s);
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return set_error("bad size '%s'", s);
	*out = (uint64_t)v << shift;
	return 0;
}

int parse_count(const char *what, const char *s, unsigned int min, unsigned int max,
		unsigned int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end || errno || v < min || v > max)
		return set_error("%s: bad count '%s' (expected %u to %u)", what, s, min, max);
	*out = (unsigned int)v;
	return 0;
}

int parse_on_off(const char *what, const char *key, const char *val, bool *out)
{
	if (strcmp(val, "on") && strcmp(val, "off"))
		return set_error("%s: %s must be on or off, not '%s'", what, key, val);
	*out = !strcmp(val, "on");
	return 0;
}

int parse_suboptions(const char *what, char *list, suboption_fn *fn, void *ctx)
{
	char *item, *val;

	while ((item = strsep(&list, ","))) {
		if (!*item)
			return set_error("%s: empty option (two commas, or one at the end?)", what);
		val = strchr(item, '=');
		if (val)
			*val++ = '\0';
		if (fn(ctx, item, val) < 0)
			return -1;
	}
	return 0;
}

int unknown_suboption(const char *what, const char *key, const char *val)
{
	return set_error("%s: unknown option '%s%s%s'", what, key, val ? "=" : "", val ? val : "");
}

int suboption_needs_value(const char *what, const char *key)
{
	return set_error("%s: option '%s' needs a value", what, key);
}

int suboption_takes_no_value(const char *what, const char *key)
{
	return set_error("%s: option '%s' takes no value", what, key);
}
