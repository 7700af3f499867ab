// SPDX-License-Identifier: MIT
/* --stats histograms and report, the --api-sock request parser, JSON strings. */
#include <stdio.h>
#include <stdlib.h>

#include "core/api.h"
#include "core/json.h"
#include "core/stats.h"
#include "tests/unit/suites.h"

/* ---- histograms ---- */

START_TEST(hist_exact_below_eight)
{
	static struct stats_hist h;

	memset(&h, 0, sizeof(h));
	for (uint64_t ns = 0; ns < 8; ns++)
		stats_hist_add(&h, ns);
	ck_assert_uint_eq(h.count, 8);
	ck_assert_uint_eq(h.total_ns, 28);
	ck_assert_uint_eq(stats_hist_percentile(&h, 50), 3);
	ck_assert_uint_eq(stats_hist_percentile(&h, 100), 7);
}
END_TEST

/* Within 12.5% at any size: 99 samples of 1 us and one of 1 ms. */
START_TEST(hist_percentiles_within_an_eighth)
{
	static struct stats_hist h;
	uint64_t p50, p99, p100;

	memset(&h, 0, sizeof(h));
	for (int i = 0; i < 99; i++)
		stats_hist_add(&h, 1000);
	stats_hist_add(&h, 1000000);
	p50 = stats_hist_percentile(&h, 50);
	p99 = stats_hist_percentile(&h, 99);
	p100 = stats_hist_percentile(&h, 100);
	ck_assert_msg(p50 >= 875 && p50 <= 1125, "median %llu", (unsigned long long)p50);
	ck_assert_uint_eq(p99, p50);
	ck_assert_msg(p100 >= 875000 && p100 <= 1125000, "max %llu", (unsigned long long)p100);
}
END_TEST

START_TEST(hist_huge_and_empty)
{
	static struct stats_hist h, sum;

	memset(&h, 0, sizeof(h));
	memset(&sum, 0, sizeof(sum));
	ck_assert_uint_eq(stats_hist_percentile(&h, 50), 0);
	stats_hist_add(&h, UINT64_MAX); /* the last bucket, not past it */
	stats_hist_merge(&sum, &h);
	stats_hist_merge(&sum, &h);
	ck_assert_uint_eq(sum.count, 2);
	ck_assert_uint_eq(sum.bucket[STATS_HIST_BUCKETS - 1], 2);
	ck_assert_uint_gt(stats_hist_percentile(&sum, 50), 1ULL << 40);
}
END_TEST

/* A reason's total comes first, its sites after it by count; reasons by count. */
START_TEST(report_order_and_json)
{
	struct stats_report r = {0};
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	stats_hist_add(&stats_report_exit(&r, "HLT", "")->hist, 10);
	stats_hist_add(&stats_report_exit(&r, "IO", "COM1 LSR read")->hist, 10);
	for (int i = 0; i < 3; i++) {
		stats_hist_add(&stats_report_exit(&r, "IO", "")->hist, 10);
		stats_hist_add(&stats_report_exit(&r, "IO", "COM1 THR write")->hist, 10);
	}
	ck_assert_uint_eq(r.nexits, 4);
	f = open_memstream(&text, &len);
	stats_report_print_json(&r, f);
	fclose(f);
	ck_assert_str_eq(r.exits[0].reason, "IO");
	ck_assert_str_eq(r.exits[0].site, "");
	ck_assert_str_eq(r.exits[1].site, "COM1 THR write");
	ck_assert_str_eq(r.exits[2].site, "COM1 LSR read");
	ck_assert_str_eq(r.exits[3].reason, "HLT");
	ck_assert_ptr_nonnull(strstr(text, "{\"reason\":\"IO\",\"site\":null,\"count\":3,"));
	ck_assert_ptr_nonnull(strstr(text, "\"queues\":[],\"vcpus\":[]}"));
	free(text);
	stats_report_free(&r);
}
END_TEST

/* ---- requests ---- */

START_TEST(api_parses_requests)
{
	struct api_request req;

	ck_assert_int_eq(api_parse_request("{\"cmd\":\"info\"}", &req), 0);
	ck_assert_str_eq(req.cmd, "info");
	ck_assert(!req.has_status);
	ck_assert_int_eq(api_parse_request(" { \"status\" : -3 , \"cmd\" : \"quit\" } \r", &req),
			 0);
	ck_assert_str_eq(req.cmd, "quit");
	ck_assert(req.has_status);
	ck_assert_int_eq(req.status, -3);
	/* Unknown members of any flat kind are passed over. */
	ck_assert_int_eq(
	    api_parse_request(
		"{\"x\":true,\"y\":null,\"z\":\"a\\\"\\u00e9\",\"cmd\":\"st\\u0061ts\"}", &req),
	    0);
	ck_assert_str_eq(req.cmd, "st?ts");
}
END_TEST

START_TEST(api_refuses_bad_requests)
{
	struct api_request req;

	ck_assert_fails_with(api_parse_request("", &req), "one JSON object");
	ck_assert_fails_with(api_parse_request("[\"info\"]", &req), "one JSON object");
	ck_assert_fails_with(api_parse_request("{}", &req), "no \"cmd\"");
	ck_assert_fails_with(api_parse_request("{\"cmd\":\"info\"} x", &req), "text after");
	ck_assert_fails_with(api_parse_request("{\"cmd\":\"info\",}", &req), "trailing ','");
	ck_assert_fails_with(api_parse_request("{\"cmd\":\"info\"", &req), "expected ',' or '}'");
	ck_assert_fails_with(api_parse_request("{\"cmd\":1}", &req), "must be a string");
	ck_assert_fails_with(api_parse_request("{\"cmd\":\"quit\",\"status\":\"3\"}", &req),
			     "must be an integer");
	ck_assert_fails_with(api_parse_request("{\"cmd\":\"quit\",\"status\":1.5}", &req),
			     "only integers");
	ck_assert_fails_with(api_parse_request("{\"cmd\":\"quit\",\"status\":99999999999}", &req),
			     "out of range");
	ck_assert_fails_with(api_parse_request("{\"cmd\":{\"a\":1}}", &req), "nested");
	ck_assert_fails_with(api_parse_request("{\"cmd\":\"in\\qfo\"}", &req), "bad escape");
	ck_assert_fails_with(api_parse_request("{\"cmd\":\"\\u12\"}", &req), "bad \\u escape");
	ck_assert_fails_with(api_parse_request("{\"cmd\":\"info", &req), "unterminated");
	ck_assert_fails_with(api_parse_request("{\"cmd\" \"info\"}", &req), "expected ':'");
}
END_TEST

/* A command longer than the field is cut, still NUL-terminated. */
START_TEST(api_long_command_truncated)
{
	struct api_request req;
	char line[200];

	snprintf(line, sizeof(line), "{\"cmd\":\"%0100d\"}", 0);
	ck_assert_int_eq(api_parse_request(line, &req), 0);
	ck_assert_uint_eq(strlen(req.cmd), sizeof(req.cmd) - 1);
}
END_TEST

/* ---- JSON strings ---- */

START_TEST(json_escapes_quotes_controls_and_high_bytes)
{
	char out[64];

	ck_assert_uint_eq(json_escape(out, sizeof(out), "a\"b\\c\n\x7f\xc3"), 25);
	ck_assert_str_eq(out, "a\\\"b\\\\c\\u000a\\u007f\\u00c3");
}
END_TEST

START_TEST(json_escape_cuts_at_a_whole_escape)
{
	char out[8];

	/* "ab" then \u0001 (6) does not fit in 7 characters and a NUL. */
	ck_assert_uint_eq(json_escape(out, sizeof(out), "ab\001cd"), 2);
	ck_assert_str_eq(out, "ab");
	ck_assert_uint_eq(json_escape(out, 1, "abc"), 0);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(json_escape(out, 0, "abc"), 0);
}
END_TEST

START_TEST(json_string_quoted_like_escape)
{
	char *buf = NULL, want[64];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	json_string(f, "tap\"0\t");
	fclose(f);
	snprintf(want, sizeof(want), "\"%s\"", "tap\\\"0\\u0009");
	ck_assert_str_eq(buf, want);
	free(buf);
}
END_TEST

Suite *observe_suite(void)
{
	Suite *s = suite_create("observe");
	TCase *t = tcase_create("stats");
	TCase *a = tcase_create("api");
	TCase *j = tcase_create("json");

	tcase_add_test(t, hist_exact_below_eight);
	tcase_add_test(t, hist_percentiles_within_an_eighth);
	tcase_add_test(t, hist_huge_and_empty);
	tcase_add_test(t, report_order_and_json);
	tcase_add_test(a, api_parses_requests);
	tcase_add_test(a, api_refuses_bad_requests);
	tcase_add_test(a, api_long_command_truncated);
	suite_add_tcase(s, t);
	tcase_add_test(j, json_escapes_quotes_controls_and_high_bytes);
	tcase_add_test(j, json_escape_cuts_at_a_whole_escape);
	tcase_add_test(j, json_string_quoted_like_escape);
	suite_add_tcase(s, a);
	suite_add_tcase(s, j);
	return s;
}
