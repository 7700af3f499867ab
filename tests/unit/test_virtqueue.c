// SPDX-License-Identifier: MIT
/* Stub: being written. */
#include "tests/unit/suites.h"

Suite *virtqueue_suite(void)
{
	return suite_create("virtqueue");
}
