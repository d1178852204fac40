/* SPDX-License-Identifier: MIT */
/*
 * check_msg.c - the control message codec (src/msg.c).
 *
 * Encoders are checked byte by byte against the offsets of the protocol
 * spec's message table (type u16 at 0, body at 2, little-endian, zero
 * padding to 128 bytes), not against our own structs: a packing or field
 * order mistake in memif.h would otherwise cancel itself out. Messages
 * built by hand from the same table go through memif__msg_decode, which
 * must accept what is valid and reject, with the documented error, every
 * size, type, fd count and field the protocol forbids.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "msg.h"
#include "private.h"

#define BODY 2 /* the body starts after the u16 type */

/* ---- byte helpers ---------------------------------------------------------- */

static uint16_t rd16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t rd32(const uint8_t *p, size_t off)
{
	return (uint32_t)rd16(p, off) | (uint32_t)rd16(p, off + 2) << 16;
}

static uint64_t rd64(const uint8_t *p, size_t off)
{
	return (uint64_t)rd32(p, off) | (uint64_t)rd32(p, off + 4) << 32;
}

static void wr16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, size_t off, uint32_t v)
{
	wr16(p, off, (uint16_t)v);
	wr16(p, off + 2, (uint16_t)(v >> 16));
}

static void wr64(uint8_t *p, size_t off, uint64_t v)
{
	wr32(p, off, (uint32_t)v);
	wr32(p, off + 4, (uint32_t)(v >> 32));
}

/* Every byte of [from, to) is zero. */
static void assert_zero(const uint8_t *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		ck_assert_msg(p[i] == 0, "byte %zu is 0x%02x, expected padding 0", i, p[i]);
}

static void assert_bytes(const uint8_t *p, size_t off, const void *want, size_t n)
{
	ck_assert_msg(memcmp(p + off, want, n) == 0, "bytes at offset %zu differ", off);
}

/* Fill with garbage first, so an encoder that forgets to clear shows it. */
static void dirty(memif_msg_t *m)
{
	memset(m, 0xa5, sizeof(*m));
}

static const uint8_t *bytes(const memif_msg_t *m)
{
	return (const uint8_t *)m;
}

/* A raw 128-byte datagram of `type` with an all-zero body. */
static void raw_msg(uint8_t *buf, uint16_t type)
{
	memset(buf, 0, MEMIF_MSG_SIZE);
	wr16(buf, 0, type);
}

/* Name strings of exactly 32 and 40 characters, and a 24-byte secret. */
static const char name32[] = "0123456789abcdefghijklmnopqrstuv";
static const char name40[] = "0123456789abcdefghijklmnopqrstuvwxyz!#$%";
static const uint8_t secret24[MEMIF_SECRET_LEN] = "abcdefghijklmnopqrstuvwx";

/* ---- encoders: exact bytes ---------------------------------------------------- */

START_TEST(test_sizes)
{
	/* The codec relies on these; memif.h asserts them at build time too. */
	ck_assert_uint_eq(sizeof(memif_msg_t), 128);
	ck_assert_uint_eq(MEMIF_MSG_SIZE, 128);
	ck_assert_uint_eq(MEMIF_VERSION, 0x0200);
	ck_assert_uint_eq(MEMIF_COOKIE, 0x3E31F20);
}
END_TEST

START_TEST(test_encode_ack)
{
	memif_msg_t m, out;

	dirty(&m);
	memif__msg_ack(&m);
	ck_assert_uint_eq(rd16(bytes(&m), 0), 1);
	assert_zero(bytes(&m), 2, 128);
	ck_assert_int_eq(memif__msg_decode(&m, sizeof(m), 0, &out), MEMIF_MSG_TYPE_ACK);
	ck_assert_uint_eq(out.type, MEMIF_MSG_TYPE_ACK);
}
END_TEST

START_TEST(test_encode_hello)
{
	memif_msg_t m, out;
	const uint8_t *b = bytes(&m);

	dirty(&m);
	memif__msg_hello(&m, "app-one");
	ck_assert_uint_eq(rd16(b, 0), 2);
	assert_bytes(b, BODY + 0, "app-one", 7);
	assert_zero(b, BODY + 7, BODY + 32);
	ck_assert_uint_eq(rd16(b, BODY + 32), 0x0200); /* min_version */
	ck_assert_uint_eq(rd16(b, BODY + 34), 0x0200); /* max_version */
	ck_assert_uint_eq(rd16(b, BODY + 36), 255);    /* max_region */
	ck_assert_uint_eq(rd16(b, BODY + 38), 255);    /* max_m2s_ring */
	ck_assert_uint_eq(rd16(b, BODY + 40), 255);    /* max_s2m_ring */
	ck_assert_uint_eq(b[BODY + 42], 14);           /* max_log2_ring_size */
	assert_zero(b, BODY + 43, 128);

	ck_assert_int_eq(memif__msg_decode(&m, sizeof(m), 0, &out), MEMIF_MSG_TYPE_HELLO);
	ck_assert_uint_eq(out.hello.min_version, MEMIF_VERSION);
	ck_assert_uint_eq(out.hello.max_version, MEMIF_VERSION);
	ck_assert_uint_eq(out.hello.max_region, MEMIF__MAX_REGION);
	ck_assert_uint_eq(out.hello.max_m2s_ring, MEMIF__MAX_RING);
	ck_assert_uint_eq(out.hello.max_s2m_ring, MEMIF__MAX_RING);
	ck_assert_uint_eq(out.hello.max_log2_ring_size, MEMIF__MAX_LOG2_RING);
}
END_TEST

/* Names fill all 32 bytes (no NUL) or are cut there; NULL means empty. */
START_TEST(test_encode_hello_names)
{
	memif_msg_t m;
	const uint8_t *b = bytes(&m);

	dirty(&m);
	memif__msg_hello(&m, name32);
	assert_bytes(b, BODY, name32, 32);
	ck_assert_uint_eq(rd16(b, BODY + 32), 0x0200); /* not overwritten by a NUL */

	dirty(&m);
	memif__msg_hello(&m, name40);
	assert_bytes(b, BODY, name40, 32);
	ck_assert_uint_eq(rd16(b, BODY + 32), 0x0200);
	assert_zero(b, BODY + 43, 128);

	dirty(&m);
	memif__msg_hello(&m, NULL);
	assert_zero(b, BODY, BODY + 32);
	ck_assert_uint_eq(rd16(b, BODY + 32), 0x0200);
}
END_TEST

START_TEST(test_encode_init)
{
	memif_msg_t m, out;
	const uint8_t *b = bytes(&m);

	dirty(&m);
	memif__msg_init(&m, 0xa1b2c3d4u, MEMIF_INTERFACE_MODE_PUNT_INJECT, secret24, "slave-x");
	ck_assert_uint_eq(rd16(b, 0), 3);
	ck_assert_uint_eq(rd16(b, BODY + 0), 0x0200);      /* version */
	ck_assert_uint_eq(rd32(b, BODY + 2), 0xa1b2c3d4u); /* id */
	ck_assert_uint_eq(b[BODY + 6], 2);                 /* mode */
	/* Secret: a 24-byte one fills the field, no NUL (a VPP master with it on
	 * its CLI, and upstream's master, compare all 24). */
	assert_bytes(b, BODY + 7, secret24, 24);
	assert_bytes(b, BODY + 31, "slave-x", 7);          /* name */
	assert_zero(b, BODY + 38, BODY + 63);
	assert_zero(b, BODY + 63, 128);

	ck_assert_int_eq(memif__msg_decode(&m, sizeof(m), 0, &out), MEMIF_MSG_TYPE_INIT);
	ck_assert_uint_eq(out.init.version, MEMIF_VERSION);
	ck_assert_uint_eq(out.init.id, 0xa1b2c3d4u);
	ck_assert_uint_eq(out.init.mode, 2);
	ck_assert_mem_eq(out.init.secret, secret24, 24);

	/* A shorter secret is zero-padded. */
	dirty(&m);
	memif__msg_init(&m, 0, 0, (const uint8_t *)"short\0garbage-after-nul", "x");
	assert_bytes(b, BODY + 7, "short", 5);
	assert_zero(b, BODY + 12, BODY + 31);

	/* A 40-character name is cut at 32 and does not spill into the padding. */
	dirty(&m);
	memif__msg_init(&m, 0, 0, secret24, name40);
	assert_bytes(b, BODY + 31, name40, 32);
	assert_zero(b, BODY + 63, 128);
}
END_TEST

START_TEST(test_encode_add_region)
{
	memif_msg_t m, out;
	const uint8_t *b = bytes(&m);

	dirty(&m);
	memif__msg_add_region(&m, 0x1234, 0x0102030405060708ull);
	ck_assert_uint_eq(rd16(b, 0), 4);
	ck_assert_uint_eq(rd16(b, BODY + 0), 0x1234);
	ck_assert_uint_eq(rd64(b, BODY + 2), 0x0102030405060708ull);
	assert_zero(b, BODY + 10, 128);

	ck_assert_int_eq(memif__msg_decode(&m, sizeof(m), 1, &out), MEMIF_MSG_TYPE_ADD_REGION);
	ck_assert_uint_eq(out.add_region.index, 0x1234);
	ck_assert_uint_eq(out.add_region.size, 0x0102030405060708ull);
}
END_TEST

START_TEST(test_encode_add_ring)
{
	memif_msg_t m, out;
	const uint8_t *b = bytes(&m);

	dirty(&m);
	memif__msg_add_ring(&m, 1, 0x0102, 0x0304, 0xa0b0c0d0u, 14);
	ck_assert_uint_eq(rd16(b, 0), 5);
	ck_assert_uint_eq(rd16(b, BODY + 0), 1); /* flags: bit 0 = S2M */
	ck_assert_uint_eq(rd16(b, BODY + 2), 0x0102);
	ck_assert_uint_eq(rd16(b, BODY + 4), 0x0304);
	ck_assert_uint_eq(rd32(b, BODY + 6), 0xa0b0c0d0u);
	ck_assert_uint_eq(b[BODY + 10], 14);
	ck_assert_uint_eq(rd16(b, BODY + 11), 0); /* private_hdr_size */
	assert_zero(b, BODY + 13, 128);

	ck_assert_int_eq(memif__msg_decode(&m, sizeof(m), 1, &out), MEMIF_MSG_TYPE_ADD_RING);
	ck_assert_uint_eq(out.add_ring.flags, MEMIF_MSG_ADD_RING_FLAG_S2M);
	ck_assert_uint_eq(out.add_ring.index, 0x0102);
	ck_assert_uint_eq(out.add_ring.region, 0x0304);
	ck_assert_uint_eq(out.add_ring.offset, 0xa0b0c0d0u);
	ck_assert_uint_eq(out.add_ring.log2_ring_size, 14);

	/* M2S: flags 0. Any nonzero s2m argument gives exactly bit 0. */
	dirty(&m);
	memif__msg_add_ring(&m, 0, 1, 0, 128, 0);
	ck_assert_uint_eq(rd16(b, BODY + 0), 0);
	dirty(&m);
	memif__msg_add_ring(&m, 0x100, 1, 0, 128, 0);
	ck_assert_uint_eq(rd16(b, BODY + 0), 1);
}
END_TEST

/* _i: 0 CONNECT, 1 CONNECTED - one layout, two types. */
START_TEST(test_encode_connect)
{
	memif_msg_t m, out;
	const uint8_t *b = bytes(&m);
	uint16_t type = _i ? MEMIF_MSG_TYPE_CONNECTED : MEMIF_MSG_TYPE_CONNECT;

	dirty(&m);
	memif__msg_connect(&m, _i, "memif0/0");
	ck_assert_uint_eq(rd16(b, 0), type);
	assert_bytes(b, BODY, "memif0/0", 8);
	assert_zero(b, BODY + 8, 128);
	ck_assert_int_eq(memif__msg_decode(&m, sizeof(m), 0, &out), type);
	ck_assert_mem_eq(out.connect.if_name, "memif0/0", 9);

	dirty(&m);
	memif__msg_connect(&m, _i, name40);
	assert_bytes(b, BODY, name40, 32);
	assert_zero(b, BODY + 32, 128);
}
END_TEST

START_TEST(test_encode_disconnect)
{
	char longer[200];
	memif_msg_t m, out;
	const uint8_t *b = bytes(&m);

	dirty(&m);
	memif__msg_disconnect(&m, 0xdeadbeefu, "bad ring");
	ck_assert_uint_eq(rd16(b, 0), 8);
	ck_assert_uint_eq(rd32(b, BODY + 0), 0xdeadbeefu);
	assert_bytes(b, BODY + 4, "bad ring", 8);
	assert_zero(b, BODY + 12, 128);
	ck_assert_int_eq(memif__msg_decode(&m, sizeof(m), 0, &out), MEMIF_MSG_TYPE_DISCONNECT);
	ck_assert_uint_eq(out.disconnect.code, 0xdeadbeefu);

	/* A reason longer than 96 bytes is cut at 96: BODY + 4 + 96 = 102. */
	memset(longer, 'r', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	dirty(&m);
	memif__msg_disconnect(&m, 1, longer);
	for (size_t i = 0; i < 96; i++)
		ck_assert_uint_eq(b[BODY + 4 + i], 'r');
	assert_zero(b, BODY + 100, 128);

	dirty(&m);
	memif__msg_disconnect(&m, 0, NULL);
	assert_zero(b, 2, 128);
}
END_TEST

/* ---- decoding messages built by hand from the spec table ------------------------ */

START_TEST(test_decode_spec_bytes)
{
	uint8_t buf[MEMIF_MSG_SIZE];
	memif_msg_t out;

	raw_msg(buf, 2);
	memcpy(buf + BODY, "master", 6);
	wr16(buf, BODY + 32, 0x0100);
	wr16(buf, BODY + 34, 0x0300);
	wr16(buf, BODY + 36, 7);
	wr16(buf, BODY + 38, 3);
	wr16(buf, BODY + 40, 5);
	buf[BODY + 42] = 12;
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 0, &out), MEMIF_MSG_TYPE_HELLO);
	ck_assert_mem_eq(out.hello.name, "master", 6);
	ck_assert_uint_eq(out.hello.min_version, 0x0100);
	ck_assert_uint_eq(out.hello.max_version, 0x0300);
	ck_assert_uint_eq(out.hello.max_region, 7);
	ck_assert_uint_eq(out.hello.max_m2s_ring, 3);
	ck_assert_uint_eq(out.hello.max_s2m_ring, 5);
	ck_assert_uint_eq(out.hello.max_log2_ring_size, 12);

	raw_msg(buf, 3);
	wr16(buf, BODY + 0, 0x0200);
	wr32(buf, BODY + 2, 0x11223344u);
	buf[BODY + 6] = 1;
	memcpy(buf + BODY + 7, secret24, 24);
	memcpy(buf + BODY + 31, name32, 32);
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 0, &out), MEMIF_MSG_TYPE_INIT);
	ck_assert_uint_eq(out.init.version, 0x0200);
	ck_assert_uint_eq(out.init.id, 0x11223344u);
	ck_assert_uint_eq(out.init.mode, 1);
	ck_assert_mem_eq(out.init.secret, secret24, 24);
	ck_assert_mem_eq(out.init.name, name32, 32);

	raw_msg(buf, 4);
	wr16(buf, BODY + 0, 3);
	wr64(buf, BODY + 2, 0xfedcba9876543210ull);
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 1, &out), MEMIF_MSG_TYPE_ADD_REGION);
	ck_assert_uint_eq(out.add_region.index, 3);
	ck_assert_uint_eq(out.add_region.size, 0xfedcba9876543210ull);

	raw_msg(buf, 5);
	wr16(buf, BODY + 0, 1);
	wr16(buf, BODY + 2, 9);
	wr16(buf, BODY + 4, 2);
	wr32(buf, BODY + 6, 0x00abcdefu);
	buf[BODY + 10] = 10;
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 1, &out), MEMIF_MSG_TYPE_ADD_RING);
	ck_assert_uint_eq(out.add_ring.flags, 1);
	ck_assert_uint_eq(out.add_ring.index, 9);
	ck_assert_uint_eq(out.add_ring.region, 2);
	ck_assert_uint_eq(out.add_ring.offset, 0x00abcdefu);
	ck_assert_uint_eq(out.add_ring.log2_ring_size, 10);
	ck_assert_uint_eq(out.add_ring.private_hdr_size, 0);

	raw_msg(buf, 7);
	memcpy(buf + BODY, name32, 32);
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 0, &out), MEMIF_MSG_TYPE_CONNECTED);
	ck_assert_mem_eq(out.connected.if_name, name32, 32);

	raw_msg(buf, 8);
	wr32(buf, BODY + 0, 27);
	memcpy(buf + BODY + 4, "go away", 7);
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 0, &out), MEMIF_MSG_TYPE_DISCONNECT);
	ck_assert_uint_eq(out.disconnect.code, 27);
	ck_assert_mem_eq(out.disconnect.string, "go away", 8);
}
END_TEST

/* Decode reads from any alignment and exactly 128 bytes (ASan checks the bound). */
START_TEST(test_decode_unaligned_exact)
{
	uint8_t *heap = malloc(MEMIF_MSG_SIZE + 1);
	uint8_t *exact = malloc(MEMIF_MSG_SIZE);
	memif_msg_t out;

	ck_assert_ptr_nonnull(heap);
	ck_assert_ptr_nonnull(exact);
	raw_msg(heap + 1, MEMIF_MSG_TYPE_ADD_REGION);
	wr16(heap + 1, BODY, 1);
	wr64(heap + 1, BODY + 2, 4096);
	ck_assert_int_eq(memif__msg_decode(heap + 1, MEMIF_MSG_SIZE, 1, &out),
			 MEMIF_MSG_TYPE_ADD_REGION);
	ck_assert_uint_eq(out.add_region.index, 1);
	ck_assert_uint_eq(out.add_region.size, 4096);

	raw_msg(exact, MEMIF_MSG_TYPE_CONNECT);
	memcpy(exact + BODY, "x", 1);
	ck_assert_int_eq(memif__msg_decode(exact, MEMIF_MSG_SIZE, 0, &out), MEMIF_MSG_TYPE_CONNECT);
	free(heap);
	free(exact);
}
END_TEST

/* ---- decoding: rejections ------------------------------------------------------- */

START_TEST(test_decode_bad_size)
{
	static const size_t sizes[] = { 0, 1, 2, 64, 127, 129, 256, 4096 };
	memif_msg_t out;

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		/* An exactly sized heap block: no read past `len` may happen. */
		uint8_t *buf = malloc(sizes[i] ? sizes[i] : 1);

		ck_assert_ptr_nonnull(buf);
		memset(buf, 0, sizes[i] ? sizes[i] : 1);
		if (sizes[i] >= 2)
			wr16(buf, 0, MEMIF_MSG_TYPE_ACK);
		ck_assert_msg(memif__msg_decode(buf, sizes[i], 0, &out) ==
				      MEMIF__E(MEMIF_ERR_MFMSG),
			      "a datagram of %zu bytes was not rejected as MFMSG", sizes[i]);
		free(buf);
	}
}
END_TEST

START_TEST(test_decode_unknown_type)
{
	static const uint16_t types[] = { 0, 9, 10, 0x100, 0x0201, 0x8000, 0xffff };
	uint8_t buf[MEMIF_MSG_SIZE];
	memif_msg_t out;

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		raw_msg(buf, types[i]);
		ck_assert_msg(memif__msg_decode(buf, sizeof(buf), 0, &out) ==
				      MEMIF__E(MEMIF_ERR_UNKNOWN_MSG),
			      "type %u not rejected as UNKNOWN_MSG", types[i]);
		/* With an fd attached it is still an error (never a valid type). */
		ck_assert_int_lt(memif__msg_decode(buf, sizeof(buf), 1, &out), 0);
	}
}
END_TEST

START_TEST(test_decode_missing_fd)
{
	uint8_t buf[MEMIF_MSG_SIZE];
	memif_msg_t out;

	raw_msg(buf, MEMIF_MSG_TYPE_ADD_REGION);
	wr64(buf, BODY + 2, 4096);
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 0, &out),
			 MEMIF__E(MEMIF_ERR_NO_SHMFD));

	raw_msg(buf, MEMIF_MSG_TYPE_ADD_RING);
	buf[BODY + 10] = 10;
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 0, &out),
			 MEMIF__E(MEMIF_ERR_NO_INTFD));
}
END_TEST

START_TEST(test_decode_extra_fds)
{
	static const uint16_t no_fd[] = { MEMIF_MSG_TYPE_ACK,       MEMIF_MSG_TYPE_HELLO,
					  MEMIF_MSG_TYPE_INIT,      MEMIF_MSG_TYPE_CONNECT,
					  MEMIF_MSG_TYPE_CONNECTED, MEMIF_MSG_TYPE_DISCONNECT };
	uint8_t buf[MEMIF_MSG_SIZE];
	memif_msg_t out;

	for (size_t i = 0; i < ARRAY_SIZE(no_fd); i++) {
		raw_msg(buf, no_fd[i]);
		if (no_fd[i] == MEMIF_MSG_TYPE_HELLO) {
			wr16(buf, BODY + 32, 0x0200);
			wr16(buf, BODY + 34, 0x0200);
		}
		/* Valid without fds... */
		ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 0, &out), no_fd[i]);
		/* ...malformed with one or two. */
		for (int n = 1; n <= 2; n++)
			ck_assert_msg(memif__msg_decode(buf, sizeof(buf), n, &out) ==
					      MEMIF__E(MEMIF_ERR_MFMSG),
				      "type %u with %d fds not rejected as MFMSG", no_fd[i], n);
	}

	raw_msg(buf, MEMIF_MSG_TYPE_ADD_REGION);
	wr64(buf, BODY + 2, 4096);
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 2, &out), MEMIF__E(MEMIF_ERR_MFMSG));
	raw_msg(buf, MEMIF_MSG_TYPE_ADD_RING);
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 2, &out), MEMIF__E(MEMIF_ERR_MFMSG));
}
END_TEST

START_TEST(test_decode_privhdr)
{
	static const uint16_t sizes[] = { 1, 8, 0x100, 0xffff };
	uint8_t buf[MEMIF_MSG_SIZE];
	memif_msg_t out;

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		raw_msg(buf, MEMIF_MSG_TYPE_ADD_RING);
		buf[BODY + 10] = 10;
		wr16(buf, BODY + 11, sizes[i]);
		ck_assert_msg(memif__msg_decode(buf, sizeof(buf), 1, &out) ==
				      MEMIF__E(MEMIF_ERR_PRIVHDR),
			      "private_hdr_size %u not rejected", sizes[i]);
	}
}
END_TEST

START_TEST(test_decode_ring_size)
{
	uint8_t buf[MEMIF_MSG_SIZE];
	memif_msg_t out;

	for (unsigned log2 = 0; log2 <= 255; log2++) {
		int want = log2 <= 14 ? MEMIF_MSG_TYPE_ADD_RING : MEMIF__E(MEMIF_ERR_MAX_RING);

		raw_msg(buf, MEMIF_MSG_TYPE_ADD_RING);
		buf[BODY + 10] = (uint8_t)log2;
		ck_assert_msg(memif__msg_decode(buf, sizeof(buf), 1, &out) == want,
			      "log2_ring_size %u: got %d, want %d", log2,
			      memif__msg_decode(buf, sizeof(buf), 1, &out), want);
	}
}
END_TEST

START_TEST(test_decode_region_size)
{
	uint8_t buf[MEMIF_MSG_SIZE];
	memif_msg_t out;

	raw_msg(buf, MEMIF_MSG_TYPE_ADD_REGION);
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 1, &out), MEMIF__E(MEMIF_ERR_MFMSG));
	/* The codec only rejects 0; sizes against the fd are region.c's job. */
	wr64(buf, BODY + 2, 1);
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 1, &out), MEMIF_MSG_TYPE_ADD_REGION);
	wr64(buf, BODY + 2, UINT64_MAX);
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 1, &out), MEMIF_MSG_TYPE_ADD_REGION);
	ck_assert_uint_eq(out.add_region.size, UINT64_MAX);
}
END_TEST

START_TEST(test_decode_hello_versions)
{
	uint8_t buf[MEMIF_MSG_SIZE];
	memif_msg_t out;

	raw_msg(buf, MEMIF_MSG_TYPE_HELLO);
	wr16(buf, BODY + 32, 0x0201);
	wr16(buf, BODY + 34, 0x0200);
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 0, &out), MEMIF__E(MEMIF_ERR_MFMSG));
	wr16(buf, BODY + 32, 0xffff);
	wr16(buf, BODY + 34, 0);
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 0, &out), MEMIF__E(MEMIF_ERR_MFMSG));
	/* min == max, and ranges that exclude us: the codec accepts, conn.c judges. */
	wr16(buf, BODY + 32, 0x0100);
	wr16(buf, BODY + 34, 0x0100);
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 0, &out), MEMIF_MSG_TYPE_HELLO);
	wr16(buf, BODY + 32, 0);
	wr16(buf, BODY + 34, 0xffff);
	ck_assert_int_eq(memif__msg_decode(buf, sizeof(buf), 0, &out), MEMIF_MSG_TYPE_HELLO);
}
END_TEST

/* Internal errors are negative and map back to the public code once. */
START_TEST(test_decode_errors_map)
{
	static const int codes[] = { MEMIF_ERR_MFMSG,    MEMIF_ERR_UNKNOWN_MSG, MEMIF_ERR_NO_SHMFD,
				     MEMIF_ERR_NO_INTFD, MEMIF_ERR_PRIVHDR,     MEMIF_ERR_MAX_RING };

	for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
		ck_assert_int_lt(MEMIF__E(codes[i]), 0);
		ck_assert_int_eq(memif__err_public(MEMIF__E(codes[i])), codes[i]);
		ck_assert_str_ne(memif_strerror(codes[i]), memif_strerror(-1));
	}
	/* A valid type is never confused with an error. */
	ck_assert_int_eq(memif__err_public(MEMIF_MSG_TYPE_DISCONNECT), MEMIF_ERR_SUCCESS);
}
END_TEST

/* ---- names and versions ------------------------------------------------------------ */

START_TEST(test_get_name)
{
	uint8_t wire[96];
	char dst[100];

	/* Unterminated: all 32 bytes, then a NUL, nothing written beyond. */
	memcpy(wire, name32, 32);
	memset(dst, 0x7f, sizeof(dst));
	memif__msg_get_name(dst, wire, 32);
	ck_assert_uint_eq(strlen(dst), 32);
	ck_assert_mem_eq(dst, name32, 32);
	for (size_t i = 33; i < sizeof(dst); i++)
		ck_assert_uint_eq((uint8_t)dst[i], 0x7f);

	/* NUL-padded. */
	memset(wire, 0, sizeof(wire));
	memcpy(wire, "eth0", 4);
	memif__msg_get_name(dst, wire, 32);
	ck_assert_str_eq(dst, "eth0");

	/* An embedded NUL ends the name; what follows is ignored. */
	memcpy(wire, "ab\0cd", 5);
	memif__msg_get_name(dst, wire, 32);
	ck_assert_str_eq(dst, "ab");

	/* Empty. */
	memset(wire, 0, sizeof(wire));
	memset(dst, 'x', sizeof(dst));
	memif__msg_get_name(dst, wire, 32);
	ck_assert_str_eq(dst, "");

	/* The 96-byte disconnect string, unterminated: 96 + NUL. */
	memset(wire, 'z', sizeof(wire));
	memset(dst, 0x7f, sizeof(dst));
	memif__msg_get_name(dst, wire, sizeof(wire));
	ck_assert_uint_eq(strlen(dst), 96);
	ck_assert_uint_eq((uint8_t)dst[97], 0x7f);
}
END_TEST

/* From a heap block of exactly n bytes (ASan: no read past the field). */
START_TEST(test_get_name_exact)
{
	uint8_t *wire = malloc(MEMIF_NAME_LEN);
	char dst[MEMIF_NAME_LEN + 1];

	ck_assert_ptr_nonnull(wire);
	memset(wire, 'q', MEMIF_NAME_LEN);
	memif__msg_get_name(dst, wire, MEMIF_NAME_LEN);
	ck_assert_uint_eq(strlen(dst), MEMIF_NAME_LEN);
	free(wire);
}
END_TEST

START_TEST(test_version_ok)
{
	ck_assert(memif__msg_version_ok(0x0200, 0x0200));
	ck_assert(memif__msg_version_ok(0x0100, 0x0200));
	ck_assert(memif__msg_version_ok(0x0200, 0x0300));
	ck_assert(memif__msg_version_ok(0x0000, 0xffff));
	ck_assert(memif__msg_version_ok(0x01ff, 0x0201));
	ck_assert(!memif__msg_version_ok(0x0100, 0x01ff));
	ck_assert(!memif__msg_version_ok(0x0201, 0x0300));
	ck_assert(!memif__msg_version_ok(0x0100, 0x0100));
	ck_assert(!memif__msg_version_ok(0x0000, 0x0000));
	ck_assert(!memif__msg_version_ok(0xffff, 0xffff));
	/* An inverted range contains nothing. */
	ck_assert(!memif__msg_version_ok(0x0300, 0x0100));
}
END_TEST

static Suite *msg_suite(void)
{
	Suite *s = suite_create("msg");
	TCase *tc;

	tc = t_tcase("encode", 10);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_encode_ack);
	tcase_add_test(tc, test_encode_hello);
	tcase_add_test(tc, test_encode_hello_names);
	tcase_add_test(tc, test_encode_init);
	tcase_add_test(tc, test_encode_add_region);
	tcase_add_test(tc, test_encode_add_ring);
	tcase_add_loop_test(tc, test_encode_connect, 0, 2);
	tcase_add_test(tc, test_encode_disconnect);
	suite_add_tcase(s, tc);

	tc = t_tcase("decode", 10);
	tcase_add_test(tc, test_decode_spec_bytes);
	tcase_add_test(tc, test_decode_unaligned_exact);
	tcase_add_test(tc, test_decode_bad_size);
	tcase_add_test(tc, test_decode_unknown_type);
	tcase_add_test(tc, test_decode_missing_fd);
	tcase_add_test(tc, test_decode_extra_fds);
	tcase_add_test(tc, test_decode_privhdr);
	tcase_add_test(tc, test_decode_ring_size);
	tcase_add_test(tc, test_decode_region_size);
	tcase_add_test(tc, test_decode_hello_versions);
	tcase_add_test(tc, test_decode_errors_map);
	suite_add_tcase(s, tc);

	tc = t_tcase("names", 10);
	tcase_add_test(tc, test_get_name);
	tcase_add_test(tc, test_get_name_exact);
	tcase_add_test(tc, test_version_ok);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(msg_suite());
}
