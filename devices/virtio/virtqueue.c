// SPDX-License-Identifier: MIT
/* Stub: being written. */
#include "devices/virtio/virtqueue.h"
