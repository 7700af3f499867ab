// SPDX-License-Identifier: MIT
/* Stub: being written. */
#include "tests/unit/suites.h"

Suite *virtio_mmio_suite(void)
{
	return suite_create("virtio_mmio");
}
