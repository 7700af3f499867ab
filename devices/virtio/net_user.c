// SPDX-License-Identifier: MIT
/* NET_STUB: being written. */
#include "core/error.h"
#include "devices/virtio/net_backend.h"

struct net_backend *net_user_open(const struct net_opt *opt, const uint8_t mac[6])
{
	(void)opt, (void)mac;
	set_error("--net user: not yet");
	return NULL;
}
