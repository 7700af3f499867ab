// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

static __thread char error_buf[512];

/*
 * Always returns -1 so callers can write "return set_error(...)". The message
 * is formatted aside first, so a caller may prefix the last error with
 * set_error("context: %s", last_error()).
 */
int set_error(const char *fmt, ...)
{
	char msg[sizeof(error_buf)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(error_buf, msg, sizeof(error_buf));
	return -1;
}

const char *last_error(void)
{
	return error_buf;
}
