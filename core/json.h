/* SPDX-License-Identifier: MIT */
/*
 * JSON strings, escaped one way for every writer: the --stats-json report,
 * the control socket's replies and the --trace file. Names in them can come
 * from the user (paths, tap names), so none is written unescaped.
 */
#ifndef VMM_CORE_JSON_H
#define VMM_CORE_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Longest escape of one byte (\u00XX), without a terminating NUL. */
#define JSON_ESCAPE_MAX 6

/* One byte's JSON form in @out (no NUL); returns its length (1 to 6). */
size_t json_escape_char(unsigned char c, char out[JSON_ESCAPE_MAX]);
/*
 * @s escaped (no quotes) into @dst of @cap bytes, NUL-terminated; cut at a
 * whole escape when it does not fit. Returns the length written.
 */
size_t json_escape(char *dst, size_t cap, const char *s);
/* @s as a quoted, escaped JSON string. */
void json_string(FILE *f, const char *s);

#endif
