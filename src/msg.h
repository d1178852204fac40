/* SPDX-License-Identifier: MIT */
/*
 * msg.h - the control message codec: build and check 128-byte messages.
 * No I/O and no connection state: what depends on the state (which type
 * is expected now, ids, limits) is conn.c's business.
 */
#ifndef MEMIF_MSG_H
#define MEMIF_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "memif.h"

/* Highest indexes and ring size we accept, announced in HELLO. */
#define MEMIF__MAX_REGION 255
#define MEMIF__MAX_RING 255
#define MEMIF__MAX_LOG2_RING 14

void memif__msg_ack(memif_msg_t *m);
void memif__msg_hello(memif_msg_t *m, const char *name);
/*
 * A secret in its wire form: its bytes up to the first NUL, all 24 when
 * there is none, zero-padded to 24. A slave sends a 24-byte secret whole:
 * a VPP master configured with it on the CLI compares the whole received
 * field, upstream's master the first 24 bytes.
 */
void memif__msg_secret(uint8_t out[MEMIF_SECRET_LEN], const uint8_t *secret);
void memif__msg_init(memif_msg_t *m, uint32_t id, uint8_t mode, const uint8_t *secret,
		     const char *name);
void memif__msg_add_region(memif_msg_t *m, uint16_t index, uint64_t size);
void memif__msg_add_ring(memif_msg_t *m, int s2m, uint16_t index, uint16_t region, uint32_t offset,
			 uint8_t log2_size);
void memif__msg_connect(memif_msg_t *m, int connected, const char *if_name);
void memif__msg_disconnect(memif_msg_t *m, uint32_t code, const char *reason);

/*
 * Check a received datagram of `len` bytes that came with `nfds` fds and
 * copy it to *out. Returns the message type, or a negative internal error
 * (MEMIF_ERR_MFMSG for a bad size or fd count, UNKNOWN_MSG, NO_SHMFD,
 * NO_INTFD, PRIVHDR, MAX_RING, PROTO).
 */
int memif__msg_decode(const void *buf, size_t len, int nfds, memif_msg_t *out);

/* Copy a NUL-padded wire name (maybe unterminated) into a C string of n + 1. */
void memif__msg_get_name(char *dst, const uint8_t *src, size_t n);

/* Does [min, max] include our protocol version? */
int memif__msg_version_ok(uint16_t min, uint16_t max);

#endif
