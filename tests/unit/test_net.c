// SPDX-License-Identifier: MIT
/* Being written. */
#include "tests/unit/suites.h"

Suite *net_suite(void)
{
	return suite_create("net");
}
