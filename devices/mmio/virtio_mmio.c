// SPDX-License-Identifier: MIT
/* Stub: being written. */
#include "devices/mmio/virtio_mmio.h"
