// SPDX-License-Identifier: MIT
/* Stub: being written. */
#include "tests/unit/suites.h"

Suite *blk_suite(void)
{
	return suite_create("blk");
}
