/* SPDX-License-Identifier: MIT */
/*
 * packet.h - just enough Ethernet, ARP, IPv4 and ICMP for the examples.
 *
 * Everything works on byte buffers with explicit offsets and big-endian
 * accessors, so no header struct ever needs to be aligned: an IPv4 header
 * behind a 14-byte Ethernet header is not. Nothing here knows about memif.
 *
 * `eth` selects the framing: true for Ethernet frames (memif ethernet mode,
 * TAP), false for bare IPv4 packets (memif ip mode, TUN).
 */
#ifndef EX_PACKET_H
#define EX_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EX_ETH_ALEN 6
#define EX_ETH_HLEN 14
#define EX_ETH_MIN_FRAME 60 /* without FCS */
#define EX_ETHERTYPE_IPV4 0x0800
#define EX_ETHERTYPE_ARP 0x0806
#define EX_ARP_LEN 28
#define EX_IP4_HLEN 20
#define EX_ICMP_HLEN 8
#define EX_IPPROTO_ICMP 1
#define EX_ICMP_ECHO_REPLY 0
#define EX_ICMP_ECHO_REQUEST 8
#define EX_ARP_OP_REQUEST 1
#define EX_ARP_OP_REPLY 2

/* Largest packet the examples build or accept: an IPv4 datagram in a frame. */
#define EX_MAX_PACKET (EX_ETH_HLEN + 65535)

enum ex_pkt_kind {
	EX_PKT_OTHER = 0,
	EX_PKT_ARP_REQUEST,
	EX_PKT_ARP_REPLY,
	EX_PKT_ICMP_ECHO_REQUEST,
	EX_PKT_ICMP_ECHO_REPLY,
};

/* What ex_pkt_parse() found. Fields not used by a kind are zero. */
struct ex_pkt_info {
	enum ex_pkt_kind kind;
	uint8_t eth_dst[EX_ETH_ALEN]; /* Ethernet framing only */
	uint8_t eth_src[EX_ETH_ALEN];
	uint8_t src_ip[4];            /* IPv4 source, or ARP sender address */
	uint8_t dst_ip[4];            /* IPv4 destination, or ARP target address */
	uint8_t arp_sha[EX_ETH_ALEN]; /* ARP sender hardware address */
	uint8_t ttl;
	uint16_t icmp_id;
	uint16_t icmp_seq;
	const uint8_t *payload;       /* ICMP echo data, inside the packet */
	size_t payload_len;
	const char *why;              /* for EX_PKT_OTHER: what did not fit */
};

/* Big-endian accessors. */
uint16_t ex_get16(const uint8_t *p);
void ex_put16(uint8_t *p, uint16_t v);

/* The Internet checksum (RFC 1071) of `len` bytes, ready for ex_put16(). */
uint16_t ex_inet_csum(const void *data, size_t len);

/*
 * Classify a packet and validate what is needed to trust it (lengths,
 * IPv4 header and ICMP checksums, no fragments). Returns info->kind.
 */
enum ex_pkt_kind ex_pkt_parse(const uint8_t *pkt, size_t len, bool eth,
			      struct ex_pkt_info *info);

/*
 * Build an ARP frame (always Ethernet) into buf, padded to 60 bytes.
 * A request goes to the broadcast address and asks for `target_ip`; a reply
 * goes to `target_mac`. Returns the frame length, 0 if cap is too small.
 */
size_t ex_pkt_build_arp(uint8_t *buf, size_t cap, uint16_t op,
			const uint8_t sender_mac[EX_ETH_ALEN], const uint8_t sender_ip[4],
			const uint8_t target_mac[EX_ETH_ALEN], const uint8_t target_ip[4]);

/*
 * Build an ICMP echo request or reply (`icmp_type`) with `payload_len`
 * bytes of ex_pkt_fill_pattern(seq) data. MACs are used only when `eth`.
 * Returns the length, 0 if cap is too small or the datagram too large.
 */
size_t ex_pkt_build_icmp_echo(uint8_t *buf, size_t cap, bool eth,
			      const uint8_t src_mac[EX_ETH_ALEN],
			      const uint8_t dst_mac[EX_ETH_ALEN], const uint8_t src_ip[4],
			      const uint8_t dst_ip[4], uint8_t icmp_type, uint16_t id,
			      uint16_t seq, size_t payload_len);

/* A deterministic payload, and its check. */
void ex_pkt_fill_pattern(uint8_t *p, size_t len, uint32_t seed);
bool ex_pkt_check_pattern(const uint8_t *p, size_t len, uint32_t seed);

/*
 * The responder's logic: if `in` is an ARP request for `my_ip`, or an ICMP
 * echo request to `my_ip` (and, with Ethernet, to `my_mac` or broadcast),
 * write the answer into `out` and return its length; else return 0.
 * *kind (may be NULL) is what was answered.
 */
size_t ex_pkt_reply(const uint8_t *in, size_t len, bool eth,
		    const uint8_t my_mac[EX_ETH_ALEN], const uint8_t my_ip[4], uint8_t *out,
		    size_t cap, enum ex_pkt_kind *kind);

/* Swap the Ethernet source and destination addresses in place. */
void ex_pkt_swap_macs(uint8_t *frame, size_t len);

#endif /* EX_PACKET_H */
