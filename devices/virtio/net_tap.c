// SPDX-License-Identifier: MIT
/* NET_STUB: being written. */
#include "core/error.h"
#include "devices/virtio/net_backend.h"

struct net_backend *net_tap_open(const struct net_opt *opt)
{
	(void)opt;
	set_error("--net tap: not yet");
	return NULL;
}
