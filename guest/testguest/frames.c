// SPDX-License-Identifier: MIT
/* Ethernet and ARP frames: see frames.h. */
#include "frames.h"
#include "rt.h"

const uint8_t eth_broadcast[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, eth_zero[ETH_ALEN];

uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

void eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(f, dst, ETH_ALEN);
	memcpy(f + 6, src, ETH_ALEN);
	put16(f + 12, type);
}

unsigned int arp_frame(uint8_t *f, uint16_t op, const uint8_t *dst, const uint8_t *smac,
		       const uint8_t sip[4], const uint8_t *tmac, const uint8_t tip[4])
{
	static const uint8_t head[6] = {0, 1, 8, 0, 6, 4}; /* Ethernet, IPv4 */

	memset(f, 0, ARP_FRAME);
	eth(f, dst, smac, ETH_P_ARP);
	memcpy(f + 14, head, sizeof(head));
	put16(f + 20, op);
	memcpy(f + 22, smac, ETH_ALEN);
	memcpy(f + 28, sip, 4);
	memcpy(f + 32, tmac, ETH_ALEN);
	memcpy(f + 38, tip, 4);
	return ARP_FRAME;
}

bool is_arp(const uint8_t *f, int n, uint16_t op, const uint8_t *sip, const uint8_t tip[4])
{
	return n >= 42 && get16(f + 12) == ETH_P_ARP && get16(f + 20) == op &&
	       (!sip || !memcmp(f + 28, sip, 4)) && !memcmp(f + 38, tip, 4);
}

bool parse_ip(const char *s, uint8_t ip[4], const char **end)
{
	for (int i = 0; i < 4; i++) {
		char *e;
		unsigned long v = strtoul(s, &e, 10);

		if (e == s || v > 255 || (i < 3 && *e != '.'))
			return false;
		ip[i] = (uint8_t)v;
		s = e + (i < 3);
	}
	*end = s;
	return true;
}

bool parse_net_peer(const char *val, uint8_t guest[4], uint8_t peer[4], bool *tap)
{
	static const uint8_t user_guest[4] = {10, 0, 2, 15}, user_gateway[4] = {10, 0, 2, 2};
	const char *p;

	*tap = strcmp(val, "user") != 0;
	if (!*tap) {
		memcpy(guest, user_guest, 4);
		memcpy(peer, user_gateway, 4);
		return true;
	}
	return !strncmp(val, "tap:", 4) && parse_ip(val + 4, guest, &p) && *p == ':' &&
	       parse_ip(p + 1, peer, &p) && !*p;
}

uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += get16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t checksum(const uint8_t *p, size_t len)
{
	return (uint16_t)~fold(sum16(0, p, len));
}

uint32_t pseudo_sum(const uint8_t *ip, uint8_t proto, uint16_t l4_len)
{
	uint32_t sum = sum16(0, ip + 12, 8);

	return sum + proto + l4_len;
}
