// SPDX-License-Identifier: MIT
/* Rate-limited log lines: what a guest that repeats itself gets onto stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/log.h"
#include "tests/unit/suites.h"

static char captured[16384];

/* Run @fn with stderr going to a temporary file; its text in captured[]. */
static void capture_stderr(void (*fn)(void *), void *arg)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_ge(saved, 0);
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	fn(arg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(captured, 1, sizeof(captured) - 1, tmp);
	captured[n] = '\0';
	fclose(tmp);
}

static unsigned int count_lines(const char *needle)
{
	unsigned int n = 0;

	for (const char *p = captured; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void log_many(void *arg)
{
	struct log_limit *limit = arg;

	for (unsigned int i = 0; i < 1000; i++)
		vmm_log_limited(limit, "line %u of a kind", i);
	log_limit_report(limit);
}

/* The first LOG_LIMIT_BURST lines, one saying the rest are counted, then the count. */
START_TEST(burst_then_count)
{
	struct log_limit limit = {.name = "dev0"};

	capture_stderr(log_many, &limit);
	ck_assert_uint_eq(count_lines("of a kind"), LOG_LIMIT_BURST);
	ck_assert_ptr_nonnull(strstr(captured, "vmm: line 9 of a kind\n"));
	ck_assert_ptr_null(strstr(captured, "line 10 of a kind"));
	ck_assert_uint_eq(count_lines("vmm: dev0: further messages like these are only counted\n"),
			  1);
	ck_assert_uint_eq(count_lines("vmm: dev0: 990 more messages were suppressed\n"), 1);
	ck_assert_uint_eq(count_lines("\n"), LOG_LIMIT_BURST + 2);
}
END_TEST

static void log_few(void *arg)
{
	struct log_limit *limit = arg;

	for (unsigned int i = 0; i < LOG_LIMIT_BURST; i++)
		vmm_log_limited(limit, "line %u", i);
	log_limit_report(limit);
}

/* Up to the burst nothing is suppressed, and the report says nothing. */
START_TEST(burst_only)
{
	struct log_limit limit = {.name = "dev1"};

	capture_stderr(log_few, &limit);
	ck_assert_uint_eq(count_lines("\n"), LOG_LIMIT_BURST);
	ck_assert_ptr_null(strstr(captured, "dev1"));
}
END_TEST

Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("limit");

	tcase_add_test(tc, burst_then_count);
	tcase_add_test(tc, burst_only);
	suite_add_tcase(s, tc);
	return s;
}
