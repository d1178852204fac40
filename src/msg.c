/* SPDX-License-Identifier: MIT */
/* msg.c - control message codec, see msg.h. */
#include <string.h>

#include "msg.h"
#include "private.h"

static void put_name(uint8_t *dst, size_t n, const char *src)
{
	size_t len = src ? strnlen(src, n) : 0;

	memset(dst, 0, n);
	memcpy(dst, src ? src : "", len);
}

static void start(memif_msg_t *m, uint16_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
}

void memif__msg_ack(memif_msg_t *m)
{
	start(m, MEMIF_MSG_TYPE_ACK);
}

void memif__msg_hello(memif_msg_t *m, const char *name)
{
	start(m, MEMIF_MSG_TYPE_HELLO);
	put_name(m->hello.name, sizeof(m->hello.name), name);
	m->hello.min_version = MEMIF_VERSION;
	m->hello.max_version = MEMIF_VERSION;
	m->hello.max_region = MEMIF__MAX_REGION;
	m->hello.max_m2s_ring = MEMIF__MAX_RING;
	m->hello.max_s2m_ring = MEMIF__MAX_RING;
	m->hello.max_log2_ring_size = MEMIF__MAX_LOG2_RING;
}

void memif__msg_secret(uint8_t out[MEMIF_SECRET_LEN], const uint8_t *secret)
{
	size_t n = strnlen((const char *)secret, MEMIF_SECRET_LEN);

	memset(out, 0, MEMIF_SECRET_LEN);
	memcpy(out, secret, n);
}

void memif__msg_init(memif_msg_t *m, uint32_t id, uint8_t mode, const uint8_t *secret,
		     const char *name)
{
	start(m, MEMIF_MSG_TYPE_INIT);
	m->init.version = MEMIF_VERSION;
	m->init.id = id;
	m->init.mode = mode;
	memif__msg_secret(m->init.secret, secret);
	put_name(m->init.name, sizeof(m->init.name), name);
}

void memif__msg_add_region(memif_msg_t *m, uint16_t index, uint64_t size)
{
	start(m, MEMIF_MSG_TYPE_ADD_REGION);
	m->add_region.index = index;
	m->add_region.size = size;
}

void memif__msg_add_ring(memif_msg_t *m, int s2m, uint16_t index, uint16_t region, uint32_t offset,
			 uint8_t log2_size)
{
	start(m, MEMIF_MSG_TYPE_ADD_RING);
	m->add_ring.flags = s2m ? MEMIF_MSG_ADD_RING_FLAG_S2M : 0;
	m->add_ring.index = index;
	m->add_ring.region = region;
	m->add_ring.offset = offset;
	m->add_ring.log2_ring_size = log2_size;
	m->add_ring.private_hdr_size = 0;
}

void memif__msg_connect(memif_msg_t *m, int connected, const char *if_name)
{
	start(m, connected ? MEMIF_MSG_TYPE_CONNECTED : MEMIF_MSG_TYPE_CONNECT);
	/* connect and connected share one layout */
	put_name(m->connect.if_name, sizeof(m->connect.if_name), if_name);
}

void memif__msg_disconnect(memif_msg_t *m, uint32_t code, const char *reason)
{
	start(m, MEMIF_MSG_TYPE_DISCONNECT);
	m->disconnect.code = code;
	put_name(m->disconnect.string, sizeof(m->disconnect.string), reason);
}

int memif__msg_version_ok(uint16_t min, uint16_t max)
{
	return min <= MEMIF_VERSION && MEMIF_VERSION <= max;
}

int memif__msg_decode(const void *buf, size_t len, int nfds, memif_msg_t *out)
{
	int want_fds = 0;

	if (len != MEMIF_MSG_SIZE)
		return MEMIF__E(MEMIF_ERR_MFMSG);
	memcpy(out, buf, sizeof(*out));

	switch (out->type) {
	case MEMIF_MSG_TYPE_ACK:
	case MEMIF_MSG_TYPE_INIT:
	case MEMIF_MSG_TYPE_CONNECT:
	case MEMIF_MSG_TYPE_CONNECTED:
	case MEMIF_MSG_TYPE_DISCONNECT:
		break;
	case MEMIF_MSG_TYPE_HELLO:
		if (out->hello.min_version > out->hello.max_version)
			return MEMIF__E(MEMIF_ERR_MFMSG);
		break;
	case MEMIF_MSG_TYPE_ADD_REGION:
		if (nfds == 0)
			return MEMIF__E(MEMIF_ERR_NO_SHMFD);
		if (out->add_region.size == 0)
			return MEMIF__E(MEMIF_ERR_MFMSG);
		want_fds = 1;
		break;
	case MEMIF_MSG_TYPE_ADD_RING:
		if (nfds == 0)
			return MEMIF__E(MEMIF_ERR_NO_INTFD);
		if (out->add_ring.private_hdr_size != 0)
			return MEMIF__E(MEMIF_ERR_PRIVHDR);
		if (out->add_ring.log2_ring_size > MEMIF__MAX_LOG2_RING)
			return MEMIF__E(MEMIF_ERR_MAX_RING);
		want_fds = 1;
		break;
	default:
		return MEMIF__E(MEMIF_ERR_UNKNOWN_MSG);
	}
	if (nfds != want_fds)
		return MEMIF__E(MEMIF_ERR_MFMSG);
	return out->type;
}

void memif__msg_get_name(char *dst, const uint8_t *src, size_t n)
{
	size_t len = strnlen((const char *)src, n);

	memcpy(dst, src, len);
	dst[len] = '\0';
}
