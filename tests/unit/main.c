// SPDX-License-Identifier: MIT
/* The unit-test runner: every area's suite in one SRunner. */
#include <stdlib.h>

#include "tests/unit/suites.h"

static Suite *(*const suites[])(void) = {
    cli_suite, log_suite,     memory_suite,   boot_suite,	  loader_suite,
    fdt_suite, mptable_suite, devices_suite,  virtqueue_suite,	  virtio_mmio_suite,
    blk_suite, net_suite,     net_user_suite, guest_virtio_suite, p9_suite, observe_suite,
};

int main(void)
{
	SRunner *sr = srunner_create(NULL);
	int failed;

	for (unsigned int i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
