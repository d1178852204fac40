/* SPDX-License-Identifier: MIT */
/*
 * memif.h - wire format of the memif protocol, version 2.0.
 *
 * Everything here is fixed by the protocol: message and ring layouts that
 * VPP, DPDK and libmemif agree on. All fields are little-endian and packed.
 * The static asserts at the end make a compiler or packing change fail the
 * build instead of breaking a peer.
 */
/* Upstream's guard name too: a program that brings its own copy of
 * upstream's memif.h and then includes libmemif.h gets one definition. */
#if !defined(MEMIF_H) && !defined(_MEMIF_H_)
#define MEMIF_H
#define _MEMIF_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MEMIF_CACHELINE_SIZE 64
/* A zero-size member that starts a new cache line (upstream's helper). */
#ifndef MEMIF_CACHELINE_ALIGN_MARK
#define MEMIF_CACHELINE_ALIGN_MARK(mark) uint8_t mark[0] __attribute__((aligned(MEMIF_CACHELINE_SIZE)))
#endif

/* Ring cookie written by the slave at the start of every ring. */
#define MEMIF_COOKIE 0x3E31F20
#define MEMIF_VERSION_MAJOR 2
#define MEMIF_VERSION_MINOR 0
#define MEMIF_VERSION ((MEMIF_VERSION_MAJOR << 8) | MEMIF_VERSION_MINOR)

#define MEMIF_NAME_LEN 32
#define MEMIF_SECRET_LEN 24
#define MEMIF_DISCONNECT_STRING_LEN 96
#define MEMIF_MSG_SIZE 128

/* Control message types. */
typedef enum memif_msg_type {
	MEMIF_MSG_TYPE_NONE = 0,
	MEMIF_MSG_TYPE_ACK = 1,
	MEMIF_MSG_TYPE_HELLO = 2,
	MEMIF_MSG_TYPE_INIT = 3,
	MEMIF_MSG_TYPE_ADD_REGION = 4,
	MEMIF_MSG_TYPE_ADD_RING = 5,
	MEMIF_MSG_TYPE_CONNECT = 6,
	MEMIF_MSG_TYPE_CONNECTED = 7,
	MEMIF_MSG_TYPE_DISCONNECT = 8,
} memif_msg_type_t;

/* Direction of a ring, as carried in ADD_RING's flags (bit 0). */
typedef enum memif_ring_type {
	MEMIF_RING_S2M = 0, /* slave to master */
	MEMIF_RING_M2S = 1, /* master to slave */
} memif_ring_type_t;

typedef enum memif_interface_mode {
	MEMIF_INTERFACE_MODE_ETHERNET = 0,
	MEMIF_INTERFACE_MODE_IP = 1,
	MEMIF_INTERFACE_MODE_PUNT_INJECT = 2,
} memif_interface_mode_t;

typedef uint16_t memif_region_index_t;
typedef uint32_t memif_region_offset_t;
typedef uint64_t memif_region_size_t;
typedef uint16_t memif_ring_index_t;
typedef uint32_t memif_interface_id_t;
typedef uint16_t memif_version_t;
typedef uint8_t memif_log2_ring_size_t;

typedef struct __attribute__((packed)) memif_msg_hello {
	uint8_t name[MEMIF_NAME_LEN];
	memif_version_t min_version;
	memif_version_t max_version;
	memif_region_index_t max_region; /* highest region index allowed */
	memif_ring_index_t max_m2s_ring; /* highest M2S ring index allowed */
	memif_ring_index_t max_s2m_ring; /* highest S2M ring index allowed */
	memif_log2_ring_size_t max_log2_ring_size;
} memif_msg_hello_t;

typedef struct __attribute__((packed)) memif_msg_init {
	memif_version_t version;
	memif_interface_id_t id;
	uint8_t mode; /* memif_interface_mode_t */
	uint8_t secret[MEMIF_SECRET_LEN];
	uint8_t name[MEMIF_NAME_LEN];
} memif_msg_init_t;

typedef struct __attribute__((packed)) memif_msg_add_region {
	memif_region_index_t index;
	memif_region_size_t size;
} memif_msg_add_region_t;

#define MEMIF_MSG_ADD_RING_FLAG_S2M (1 << 0)

typedef struct __attribute__((packed)) memif_msg_add_ring {
	uint16_t flags;
	memif_ring_index_t index;
	memif_region_index_t region;
	memif_region_offset_t offset;
	memif_log2_ring_size_t log2_ring_size;
	uint16_t private_hdr_size; /* always 0 */
} memif_msg_add_ring_t;

typedef struct __attribute__((packed)) memif_msg_connect {
	uint8_t if_name[MEMIF_NAME_LEN];
} memif_msg_connect_t;

typedef struct __attribute__((packed)) memif_msg_connected {
	uint8_t if_name[MEMIF_NAME_LEN];
} memif_msg_connected_t;

typedef struct __attribute__((packed)) memif_msg_disconnect {
	uint32_t code;
	uint8_t string[MEMIF_DISCONNECT_STRING_LEN];
} memif_msg_disconnect_t;

/* One control message: always exactly MEMIF_MSG_SIZE bytes on the wire. */
typedef struct __attribute__((packed)) memif_msg {
	uint16_t type; /* memif_msg_type_t */
	/* __extension__: anonymous unions are C11, and pedantic C99 builds of
	 * programs that include libmemif.h must not fail on them. */
	__extension__ union __attribute__((packed)) {
		memif_msg_hello_t hello;
		memif_msg_init_t init;
		memif_msg_add_region_t add_region;
		memif_msg_add_ring_t add_ring;
		memif_msg_connect_t connect;
		memif_msg_connected_t connected;
		memif_msg_disconnect_t disconnect;
		uint8_t raw[MEMIF_MSG_SIZE - 2];
	};
} memif_msg_t;

#define MEMIF_DESC_FLAG_NEXT (1 << 0)

/* Ring descriptor: one buffer. Naturally aligned, so not packed. */
typedef struct memif_desc {
	uint16_t flags;
	memif_region_index_t region;
	uint32_t length;
	memif_region_offset_t offset;
	uint32_t metadata;
} memif_desc_t;

#define MEMIF_RING_FLAG_MASK_INT 1

/*
 * Ring header. head (written by the slave) and tail (written by the master)
 * live on separate cache lines so the two writers do not share one. Every
 * field is naturally aligned, so the struct is not packed: the index fields
 * are accessed atomically and must be known aligned.
 */
#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic" /* flexible array member, below */
#endif
typedef struct memif_ring {
	uint32_t cookie;
	uint16_t flags;
	uint16_t head;
	uint8_t pad_head[MEMIF_CACHELINE_SIZE - 8];
	uint16_t tail;
	uint8_t pad_tail[MEMIF_CACHELINE_SIZE - 2];
	memif_desc_t desc[];
} memif_ring_t;
#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* The layout checks, where the language has static assertions (C11, C++11). */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define MEMIF_WIRE_ASSERT_(c, m) static_assert(c, m)
#elif !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define MEMIF_WIRE_ASSERT_(c, m) _Static_assert(c, m)
#else
#define MEMIF_WIRE_ASSERT_(c, m) extern int memif_wire_assert_unused_
#endif

MEMIF_WIRE_ASSERT_(sizeof(memif_msg_t) == MEMIF_MSG_SIZE, "message size");
MEMIF_WIRE_ASSERT_(sizeof(memif_msg_hello_t) == 43, "hello size");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_hello_t, min_version) == 32, "hello");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_hello_t, max_version) == 34, "hello");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_hello_t, max_region) == 36, "hello");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_hello_t, max_m2s_ring) == 38, "hello");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_hello_t, max_s2m_ring) == 40, "hello");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_hello_t, max_log2_ring_size) == 42, "hello");
MEMIF_WIRE_ASSERT_(sizeof(memif_msg_init_t) == 63, "init size");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_init_t, id) == 2, "init");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_init_t, mode) == 6, "init");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_init_t, secret) == 7, "init");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_init_t, name) == 31, "init");
MEMIF_WIRE_ASSERT_(sizeof(memif_msg_add_region_t) == 10, "add_region size");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_add_region_t, size) == 2, "add_region");
MEMIF_WIRE_ASSERT_(sizeof(memif_msg_add_ring_t) == 13, "add_ring size");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_add_ring_t, index) == 2, "add_ring");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_add_ring_t, region) == 4, "add_ring");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_add_ring_t, offset) == 6, "add_ring");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_add_ring_t, log2_ring_size) == 10, "add_ring");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_add_ring_t, private_hdr_size) == 11, "add_ring");
MEMIF_WIRE_ASSERT_(sizeof(memif_msg_disconnect_t) == 100, "disconnect size");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_disconnect_t, string) == 4, "disconnect");
MEMIF_WIRE_ASSERT_(offsetof(memif_msg_t, hello) == 2, "message body");
MEMIF_WIRE_ASSERT_(sizeof(memif_desc_t) == 16, "descriptor size");
MEMIF_WIRE_ASSERT_(offsetof(memif_desc_t, region) == 2, "descriptor");
MEMIF_WIRE_ASSERT_(offsetof(memif_desc_t, length) == 4, "descriptor");
MEMIF_WIRE_ASSERT_(offsetof(memif_desc_t, offset) == 8, "descriptor");
MEMIF_WIRE_ASSERT_(offsetof(memif_desc_t, metadata) == 12, "descriptor");
MEMIF_WIRE_ASSERT_(offsetof(memif_ring_t, flags) == 4, "ring");
MEMIF_WIRE_ASSERT_(offsetof(memif_ring_t, head) == 6, "ring");
MEMIF_WIRE_ASSERT_(offsetof(memif_ring_t, tail) == 64, "ring");
MEMIF_WIRE_ASSERT_(offsetof(memif_ring_t, desc) == 128, "ring");
MEMIF_WIRE_ASSERT_(sizeof(memif_ring_t) == 128, "ring header size");

#ifdef __cplusplus
}
#endif

#endif /* MEMIF_H */
