/* SPDX-License-Identifier: MIT */
/*
 * The test init's network checks (virtio-net): the vmmtest.* options they
 * take from the kernel command line and the checks themselves. init.c
 * hands each vmmtest.NAME=VALUE word it does not know to nc_parse() and
 * runs nc_checks[] after its own checks; guest/init.c documents the
 * options. The guest's address comes from the kernel (ip= on the command
 * line: static, or DHCP), before init runs.
 */
#ifndef VMM_GUEST_NETCHECK_H
#define VMM_GUEST_NETCHECK_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the vmmtest.* network options asked for; a check runs if its bool
 * is set. */
struct nc_opts {
	bool ip, mac, mtu, ping, tcp, serve, unreachable;
	char ip_if[IFNAMSIZ];
	struct in_addr ip_addr;
	int ip_prefix; /* -1: not given */
	char mac_if[IFNAMSIZ];
	unsigned char mac_addr[6];
	char mtu_if[IFNAMSIZ];
	int mtu_value;
	struct in_addr ping_addr;
	struct sockaddr_in tcp_peer;
	uint64_t tcp_bytes;
	uint16_t serve_port;
	uint64_t serve_bytes;
	struct sockaddr_in unreachable_peer;
};

enum nc_result { NC_PASS, NC_FAIL, NC_SKIP };

/* A check: on NC_FAIL @msg says why; on NC_PASS it may hold a note for
 * the PASS line ("" if none). */
struct nc_check {
	const char *name;
	enum nc_result (*run)(const struct nc_opts *o, char *msg, size_t len);
};

extern const struct nc_check nc_checks[];
extern const size_t nc_checks_count;

/* Option vmmtest.@name=@value: 1 if it is a network option and @value is
 * good (stored in @o), -1 if it is one and @value is bad, 0 if @name is
 * not a network option. */
int nc_parse(const char *name, const char *value, struct nc_opts *o);

#endif
