/* SPDX-License-Identifier: MIT */
/* The unit-test suites, one per area, and the assertions they share. */
#ifndef VMM_TESTS_UNIT_SUITES_H
#define VMM_TESTS_UNIT_SUITES_H

#include <check.h>
#include <string.h>

#include "core/error.h"

Suite *cli_suite(void);
Suite *log_suite(void);
Suite *memory_suite(void);
Suite *boot_suite(void);
Suite *loader_suite(void);
Suite *fdt_suite(void);
Suite *mptable_suite(void);
Suite *devices_suite(void);
Suite *virtqueue_suite(void);
Suite *virtio_mmio_suite(void);
Suite *blk_suite(void);
Suite *net_suite(void);
Suite *net_user_suite(void);
Suite *guest_virtio_suite(void);
Suite *p9_suite(void);
Suite *observe_suite(void);

/* Forget the last error, so that a later check cannot pass on a stale one. */
static inline void clear_error(void)
{
	set_error("%s", "");
}

/* last_error() names the problem: it contains @sub. */
#define ck_assert_error(sub)                                                                       \
	ck_assert_msg(strstr(last_error(), (sub)) != NULL,                                         \
		      "last_error() is \"%s\", expected it to contain \"%s\"", last_error(),       \
		      (sub))

/* @call returns -1 and leaves an error message that contains @sub. */
#define ck_assert_fails_with(call, sub)                                                            \
	do {                                                                                       \
		clear_error();                                                                     \
		ck_assert_int_eq((call), -1);                                                      \
		ck_assert_error(sub);                                                              \
	} while (0)

#endif
