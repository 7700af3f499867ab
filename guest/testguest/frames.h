/* SPDX-License-Identifier: MIT */
/*
 * Ethernet and ARP frames, byte by byte, for the net and hostile scenarios;
 * multi-byte fields in network order.
 */
#ifndef TESTGUEST_FRAMES_H
#define TESTGUEST_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETH_ALEN    6
#define ETH_HLEN    14
#define ETH_P_IP    0x0800
#define ETH_P_ARP   0x0806
#define ARP_FRAME   60 /* the Ethernet minimum, padding included */
#define ARP_REQUEST 1
#define ARP_REPLY   2

extern const uint8_t eth_broadcast[ETH_ALEN], eth_zero[ETH_ALEN];

uint16_t get16(const uint8_t *p);
uint32_t get32(const uint8_t *p);
void put16(uint8_t *p, uint16_t v);
void put32(uint8_t *p, uint32_t v);

/* The Ethernet header at @f. */
void eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type);

/*
 * ARP @op (ARP_REQUEST, ARP_REPLY) from @smac/@sip to @tmac/@tip, sent to
 * @dst, in an ARP_FRAME-byte frame (padded with zeroes); its length.
 */
unsigned int arp_frame(uint8_t *f, uint16_t op, const uint8_t *dst, const uint8_t *smac,
		       const uint8_t sip[4], const uint8_t *tmac, const uint8_t tip[4]);

/* An ARP @op frame from @sip (any when NULL) about @tip, in @n bytes at @f? */
bool is_arp(const uint8_t *f, int n, uint16_t op, const uint8_t *sip, const uint8_t tip[4]);

/* A dotted IPv4 address at @s into @ip; *@end just past it. */
bool parse_ip(const char *s, uint8_t ip[4], const char **end);

/*
 * The backend a tg.net= value names: "user" (the guest 10.0.2.15, its peer
 * the gateway 10.0.2.2) or "tap:GUEST:HOST"; false when it is neither.
 */
bool parse_net_peer(const char *val, uint8_t guest[4], uint8_t peer[4], bool *tap);

/* The Internet checksum (RFC 1071): 16-bit words summed onto @sum, folded, complemented. */
uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len);
uint16_t fold(uint32_t sum);
uint16_t checksum(const uint8_t *p, size_t len);
/* The IPv4 pseudo-header's sum (TCP and UDP cover it) for the header at @ip. */
uint32_t pseudo_sum(const uint8_t *ip, uint8_t proto, uint16_t l4_len);

#endif
