/* SPDX-License-Identifier: MIT */
/*
 * Helpers for parsing option values, shared by the command line (cli.c) and
 * the devices, which each parse their own sub-options ("path,ro,serial=x").
 * A leaf: no option of any device is known here. Every function returns 0,
 * or -1 with set_error() naming @what (e.g. "--disk") and the bad value.
 */
#ifndef VMM_OPTIONS_H
#define VMM_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

/* "512M", "2G", "65536K" or plain bytes; refuses anything that would overflow. */
int parse_size(const char *s, uint64_t *out);

/* A decimal count from @min to @max. */
int parse_count(const char *what, const char *s, unsigned int min, unsigned int max,
		unsigned int *out);

/* "on" or "off", the value of sub-option @key. */
int parse_on_off(const char *what, const char *key, const char *val, bool *out);

/* Called with each KEY (*@val NULL) or KEY=VALUE of a list, both writable. */
typedef int suboption_fn(void *ctx, const char *key, char *val);

/*
 * Cut the comma-separated @list (may be NULL: nothing) in place and hand
 * each item to @fn, stopping at the first error; an empty item is an error.
 */
int parse_suboptions(const char *what, char *list, suboption_fn *fn, void *ctx);

/* The errors every sub-option parser has: always -1. */
int unknown_suboption(const char *what, const char *key, const char *val);
int suboption_needs_value(const char *what, const char *key);
int suboption_takes_no_value(const char *what, const char *key);

#endif
