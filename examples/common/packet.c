/* SPDX-License-Identifier: MIT */
/*
 * packet.c - Ethernet, ARP, IPv4 and ICMP helpers; see packet.h.
 */
#include "packet.h"

#include <string.h>

/* Offsets inside an Ethernet header. */
#define ETH_DST 0
#define ETH_SRC 6
#define ETH_TYPE 12

/* Offsets inside an ARP packet (Ethernet + IPv4 flavour). */
#define ARP_HTYPE 0
#define ARP_PTYPE 2
#define ARP_HLEN 4
#define ARP_PLEN 5
#define ARP_OP 6
#define ARP_SHA 8
#define ARP_SPA 14
#define ARP_THA 18
#define ARP_TPA 24

/* Offsets inside an IPv4 header. */
#define IP_VIHL 0
#define IP_TOS 1
#define IP_LEN 2
#define IP_ID 4
#define IP_FRAG 6
#define IP_TTL 8
#define IP_PROTO 9
#define IP_CSUM 10
#define IP_SRC 12
#define IP_DST 16

/* Offsets inside an ICMP echo message. */
#define ICMP_TYPE 0
#define ICMP_CODE 1
#define ICMP_CSUM 2
#define ICMP_ID 4
#define ICMP_SEQ 6

#define DEFAULT_TTL 64

static const uint8_t broadcast_mac[EX_ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

uint16_t ex_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

void ex_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

uint16_t ex_inet_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t sum = 0;

	while (len > 1) {
		sum += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static enum ex_pkt_kind other(struct ex_pkt_info *info, const char *why)
{
	info->kind = EX_PKT_OTHER;
	info->why = why;
	return EX_PKT_OTHER;
}

static enum ex_pkt_kind parse_arp(const uint8_t *a, size_t len, struct ex_pkt_info *info)
{
	if (len < EX_ARP_LEN)
		return other(info, "short ARP packet");
	if (ex_get16(a + ARP_HTYPE) != 1 || ex_get16(a + ARP_PTYPE) != EX_ETHERTYPE_IPV4 ||
	    a[ARP_HLEN] != EX_ETH_ALEN || a[ARP_PLEN] != 4)
		return other(info, "ARP for something other than IPv4 over Ethernet");
	memcpy(info->arp_sha, a + ARP_SHA, EX_ETH_ALEN);
	memcpy(info->src_ip, a + ARP_SPA, 4);
	memcpy(info->dst_ip, a + ARP_TPA, 4);
	switch (ex_get16(a + ARP_OP)) {
	case EX_ARP_OP_REQUEST:
		info->kind = EX_PKT_ARP_REQUEST;
		break;
	case EX_ARP_OP_REPLY:
		info->kind = EX_PKT_ARP_REPLY;
		break;
	default:
		return other(info, "unknown ARP operation");
	}
	return info->kind;
}

static enum ex_pkt_kind parse_ipv4(const uint8_t *ip, size_t len, struct ex_pkt_info *info)
{
	if (len < EX_IP4_HLEN)
		return other(info, "short IPv4 packet");
	if ((ip[IP_VIHL] >> 4) != 4)
		return other(info, "not IPv4");
	size_t ihl = (size_t)(ip[IP_VIHL] & 0x0f) * 4;
	size_t total = ex_get16(ip + IP_LEN);
	if (ihl < EX_IP4_HLEN || total < ihl || total > len)
		return other(info, "bad IPv4 lengths");
	if (ex_inet_csum(ip, ihl) != 0)
		return other(info, "bad IPv4 header checksum");
	if (ex_get16(ip + IP_FRAG) & 0x3fff)
		return other(info, "IPv4 fragment");
	memcpy(info->src_ip, ip + IP_SRC, 4);
	memcpy(info->dst_ip, ip + IP_DST, 4);
	info->ttl = ip[IP_TTL];
	if (ip[IP_PROTO] != EX_IPPROTO_ICMP)
		return other(info, "not ICMP");

	const uint8_t *icmp = ip + ihl;
	size_t icmp_len = total - ihl;
	if (icmp_len < EX_ICMP_HLEN)
		return other(info, "short ICMP message");
	if (ex_inet_csum(icmp, icmp_len) != 0)
		return other(info, "bad ICMP checksum");
	if (icmp[ICMP_CODE] != 0)
		return other(info, "ICMP code is not 0");
	info->icmp_id = ex_get16(icmp + ICMP_ID);
	info->icmp_seq = ex_get16(icmp + ICMP_SEQ);
	info->payload = icmp + EX_ICMP_HLEN;
	info->payload_len = icmp_len - EX_ICMP_HLEN;
	switch (icmp[ICMP_TYPE]) {
	case EX_ICMP_ECHO_REQUEST:
		info->kind = EX_PKT_ICMP_ECHO_REQUEST;
		break;
	case EX_ICMP_ECHO_REPLY:
		info->kind = EX_PKT_ICMP_ECHO_REPLY;
		break;
	default:
		return other(info, "ICMP other than echo");
	}
	return info->kind;
}

enum ex_pkt_kind ex_pkt_parse(const uint8_t *pkt, size_t len, bool eth, struct ex_pkt_info *info)
{
	memset(info, 0, sizeof(*info));
	if (!eth)
		return parse_ipv4(pkt, len, info);

	if (len < EX_ETH_HLEN)
		return other(info, "short Ethernet frame");
	memcpy(info->eth_dst, pkt + ETH_DST, EX_ETH_ALEN);
	memcpy(info->eth_src, pkt + ETH_SRC, EX_ETH_ALEN);
	switch (ex_get16(pkt + ETH_TYPE)) {
	case EX_ETHERTYPE_ARP:
		return parse_arp(pkt + EX_ETH_HLEN, len - EX_ETH_HLEN, info);
	case EX_ETHERTYPE_IPV4:
		return parse_ipv4(pkt + EX_ETH_HLEN, len - EX_ETH_HLEN, info);
	default:
		return other(info, "not ARP or IPv4");
	}
}

static void put_eth(uint8_t *p, const uint8_t dst[EX_ETH_ALEN], const uint8_t src[EX_ETH_ALEN],
		    uint16_t type)
{
	memcpy(p + ETH_DST, dst, EX_ETH_ALEN);
	memcpy(p + ETH_SRC, src, EX_ETH_ALEN);
	ex_put16(p + ETH_TYPE, type);
}

size_t ex_pkt_build_arp(uint8_t *buf, size_t cap, uint16_t op,
			const uint8_t sender_mac[EX_ETH_ALEN], const uint8_t sender_ip[4],
			const uint8_t target_mac[EX_ETH_ALEN], const uint8_t target_ip[4])
{
	static const uint8_t zero_mac[EX_ETH_ALEN];
	bool request = op == EX_ARP_OP_REQUEST;

	if (cap < EX_ETH_MIN_FRAME)
		return 0;
	memset(buf, 0, EX_ETH_MIN_FRAME);
	put_eth(buf, request ? broadcast_mac : target_mac, sender_mac, EX_ETHERTYPE_ARP);
	uint8_t *a = buf + EX_ETH_HLEN;
	ex_put16(a + ARP_HTYPE, 1);
	ex_put16(a + ARP_PTYPE, EX_ETHERTYPE_IPV4);
	a[ARP_HLEN] = EX_ETH_ALEN;
	a[ARP_PLEN] = 4;
	ex_put16(a + ARP_OP, op);
	memcpy(a + ARP_SHA, sender_mac, EX_ETH_ALEN);
	memcpy(a + ARP_SPA, sender_ip, 4);
	memcpy(a + ARP_THA, request ? zero_mac : target_mac, EX_ETH_ALEN);
	memcpy(a + ARP_TPA, target_ip, 4);
	return EX_ETH_MIN_FRAME;
}

/* Fill an IPv4 header for an ICMP datagram of `total` bytes; sets the checksum. */
static void put_ipv4(uint8_t *ip, size_t total, uint16_t id, const uint8_t src[4],
		     const uint8_t dst[4])
{
	ip[IP_VIHL] = 0x45;
	ip[IP_TOS] = 0;
	ex_put16(ip + IP_LEN, (uint16_t)total);
	ex_put16(ip + IP_ID, id);
	ex_put16(ip + IP_FRAG, 0);
	ip[IP_TTL] = DEFAULT_TTL;
	ip[IP_PROTO] = EX_IPPROTO_ICMP;
	ex_put16(ip + IP_CSUM, 0);
	memcpy(ip + IP_SRC, src, 4);
	memcpy(ip + IP_DST, dst, 4);
	ex_put16(ip + IP_CSUM, ex_inet_csum(ip, EX_IP4_HLEN));
}

size_t ex_pkt_build_icmp_echo(uint8_t *buf, size_t cap, bool eth,
			      const uint8_t src_mac[EX_ETH_ALEN],
			      const uint8_t dst_mac[EX_ETH_ALEN], const uint8_t src_ip[4],
			      const uint8_t dst_ip[4], uint8_t icmp_type, uint16_t id,
			      uint16_t seq, size_t payload_len)
{
	size_t l2 = eth ? EX_ETH_HLEN : 0;
	size_t total = EX_IP4_HLEN + EX_ICMP_HLEN + payload_len;
	size_t len = l2 + total;

	if (total > 65535 || len > cap)
		return 0;
	if (eth)
		put_eth(buf, dst_mac, src_mac, EX_ETHERTYPE_IPV4);
	uint8_t *ip = buf + l2;
	put_ipv4(ip, total, seq, src_ip, dst_ip);
	uint8_t *icmp = ip + EX_IP4_HLEN;
	icmp[ICMP_TYPE] = icmp_type;
	icmp[ICMP_CODE] = 0;
	ex_put16(icmp + ICMP_CSUM, 0);
	ex_put16(icmp + ICMP_ID, id);
	ex_put16(icmp + ICMP_SEQ, seq);
	ex_pkt_fill_pattern(icmp + EX_ICMP_HLEN, payload_len, seq);
	ex_put16(icmp + ICMP_CSUM, ex_inet_csum(icmp, EX_ICMP_HLEN + payload_len));

	/* Pad short frames to the Ethernet minimum, as a NIC would. */
	if (eth && len < EX_ETH_MIN_FRAME && cap >= EX_ETH_MIN_FRAME) {
		memset(buf + len, 0, EX_ETH_MIN_FRAME - len);
		len = EX_ETH_MIN_FRAME;
	}
	return len;
}

void ex_pkt_fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 7u + i);
}

bool ex_pkt_check_pattern(const uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(seed * 7u + i))
			return false;
	return true;
}

static bool for_me(const uint8_t dst[EX_ETH_ALEN], const uint8_t my_mac[EX_ETH_ALEN])
{
	return memcmp(dst, my_mac, EX_ETH_ALEN) == 0 ||
	       memcmp(dst, broadcast_mac, EX_ETH_ALEN) == 0;
}

size_t ex_pkt_reply(const uint8_t *in, size_t len, bool eth,
		    const uint8_t my_mac[EX_ETH_ALEN], const uint8_t my_ip[4], uint8_t *out,
		    size_t cap, enum ex_pkt_kind *kind)
{
	struct ex_pkt_info info;
	size_t l2 = eth ? EX_ETH_HLEN : 0;

	if (kind)
		*kind = EX_PKT_OTHER;

	switch (ex_pkt_parse(in, len, eth, &info)) {
	case EX_PKT_ARP_REQUEST:
		if (memcmp(info.dst_ip, my_ip, 4) != 0)
			return 0;
		if (kind)
			*kind = EX_PKT_ARP_REQUEST;
		return ex_pkt_build_arp(out, cap, EX_ARP_OP_REPLY, my_mac, my_ip, info.arp_sha,
					info.src_ip);

	case EX_PKT_ICMP_ECHO_REQUEST: {
		if (memcmp(info.dst_ip, my_ip, 4) != 0)
			return 0;
		if (eth && !for_me(info.eth_dst, my_mac))
			return 0;
		/* Same datagram back: addresses swapped, type 0, fresh checksums. */
		const uint8_t *ip_in = in + l2;
		size_t ihl = (size_t)(ip_in[IP_VIHL] & 0x0f) * 4;
		size_t total = ex_get16(ip_in + IP_LEN);
		size_t out_len = l2 + total;
		if (out_len > cap)
			return 0;
		memcpy(out, in, out_len);
		if (eth)
			put_eth(out, info.eth_src, my_mac, EX_ETHERTYPE_IPV4);
		uint8_t *ip = out + l2;
		memcpy(ip + IP_SRC, my_ip, 4);
		memcpy(ip + IP_DST, info.src_ip, 4);
		ip[IP_TTL] = DEFAULT_TTL;
		ex_put16(ip + IP_CSUM, 0);
		ex_put16(ip + IP_CSUM, ex_inet_csum(ip, ihl));
		uint8_t *icmp = ip + ihl;
		icmp[ICMP_TYPE] = EX_ICMP_ECHO_REPLY;
		ex_put16(icmp + ICMP_CSUM, 0);
		ex_put16(icmp + ICMP_CSUM, ex_inet_csum(icmp, total - ihl));
		if (eth && out_len < EX_ETH_MIN_FRAME && cap >= EX_ETH_MIN_FRAME) {
			memset(out + out_len, 0, EX_ETH_MIN_FRAME - out_len);
			out_len = EX_ETH_MIN_FRAME;
		}
		if (kind)
			*kind = EX_PKT_ICMP_ECHO_REQUEST;
		return out_len;
	}

	default:
		return 0;
	}
}

void ex_pkt_swap_macs(uint8_t *frame, size_t len)
{
	uint8_t tmp[EX_ETH_ALEN];

	if (len < EX_ETH_HLEN)
		return;
	memcpy(tmp, frame + ETH_DST, EX_ETH_ALEN);
	memmove(frame + ETH_DST, frame + ETH_SRC, EX_ETH_ALEN);
	memcpy(frame + ETH_SRC, tmp, EX_ETH_ALEN);
}
