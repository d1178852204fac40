/* SPDX-License-Identifier: MIT */
/*
 * hostile.h - a memif peer that speaks the protocol itself (prefix h_), to
 * attack the library from the other end of the control channel and of the
 * shared memory.
 *
 * Nothing here calls the library: messages are built byte by byte from the
 * protocol spec (not with src/msg.c), sent over raw AF_UNIX SOCK_SEQPACKET
 * sockets with sendmsg/SCM_RIGHTS, and the hostile side maps its own or the
 * peer's memory with plain mmap. The library under test usually runs in the
 * same process and thread: every wait here takes a struct h_pump that runs
 * the library's event loop for a few milliseconds at a time, and every wait
 * has a deadline.
 *
 *   raw channel      h_listen / h_connect / h_accept / h_send / h_recv
 *   messages         h_msg_*: fill a memif_msg_t exactly as the wire wants
 *   expectations     h_expect (one message of a type), h_expect_refusal
 *                    (DISCONNECT with a reason, then EOF)
 *   hostile slave    struct h_slave: its own regions, rings and eventfds,
 *                    and a handshake that can stop at any stage
 *   hostile master   struct h_master: listens, maps what the slave sends,
 *                    and a handshake that can stop at any stage
 *
 * Functions return 0 (or a count / fd) on success and a negative errno on
 * failure; -ETIMEDOUT when a deadline passed, -ECONNRESET when the peer
 * closed the channel, -EPROTO when a message of another type arrived.
 */
#ifndef MEMIF_TEST_HOSTILE_H
#define MEMIF_TEST_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memif.h"

/* ---- running the library while waiting ------------------------------------- */

/* Runs the library once, for at most a few ms. */
typedef void (*h_pump_fn)(void *arg);

struct h_pump {
	h_pump_fn fn; /* NULL: just sleep 1 ms */
	void *arg;
};

/* ---- raw control channel -------------------------------------------------------- */

/* A listening SEQPACKET socket on path ("@name": abstract). fd or -errno. */
int h_listen(const char *path);
/* A SEQPACKET socket connected to path. fd or -errno. */
int h_connect(const char *path);
/* Accept one connection within timeout_ms. fd, -ETIMEDOUT or -errno. */
int h_accept(int lfd, int timeout_ms, const struct h_pump *p);
/* One datagram of `len` bytes with `nfds` fds (SCM_RIGHTS). 0 or -errno. */
int h_send(int fd, const void *buf, size_t len, const int *fds, int nfds);
/* One 128-byte message, with fd `sfd` unless it is negative. */
int h_send_msg(int fd, const memif_msg_t *m, int sfd);
/*
 * Wait up to timeout_ms for one datagram. Returns its length (>= 0; 0 with
 * *nfds == 0 is end of stream), -ETIMEDOUT, -ECONNRESET or -errno. Up to
 * max_fds received fds go to fds[] (the caller owns them), the rest are
 * closed; fds may be NULL with max_fds 0.
 */
int h_recv(int fd, void *buf, size_t len, int *fds, int max_fds, int *nfds, int timeout_ms,
	   const struct h_pump *p);
/* True if fd has reached end of stream within timeout_ms (data is dropped). */
bool h_wait_eof(int fd, int timeout_ms, const struct h_pump *p);

/*
 * Receive one 128-byte message into *m. If `rfd` is not NULL it gets the
 * one fd that came with it (or -1); otherwise fds are closed. Returns 0 if
 * its type is `type`, -EPROTO for another type (m holds it), -EBADMSG for a
 * datagram that is not 128 bytes, -ETIMEDOUT, -ECONNRESET.
 */
int h_expect(int fd, uint16_t type, memif_msg_t *m, int *rfd, int timeout_ms,
	     const struct h_pump *p);

/*
 * Read until end of stream: true (and the reason, NUL-terminated, in
 * reason[len]) if a DISCONNECT came before it. Returns 1: DISCONNECT then
 * EOF, 0: EOF without DISCONNECT, -ETIMEDOUT: the channel stayed open.
 */
int h_expect_refusal(int fd, char *reason, size_t len, int timeout_ms, const struct h_pump *p);

/* ---- messages, byte-exact ---------------------------------------------------------- */

void h_msg_raw(memif_msg_t *m, uint16_t type);
void h_msg_ack(memif_msg_t *m);
void h_msg_hello(memif_msg_t *m, const char *name, uint16_t min_version, uint16_t max_version,
		 uint16_t max_region, uint16_t max_m2s, uint16_t max_s2m, uint8_t max_log2);
/* A HELLO as upstream masters send it: 2.0 only, 255/255/255, log2 14. */
void h_msg_hello_std(memif_msg_t *m, const char *name);
void h_msg_init(memif_msg_t *m, uint16_t version, uint32_t id, uint8_t mode, const char *secret,
		const char *name);
void h_msg_add_region(memif_msg_t *m, uint16_t index, uint64_t size);
void h_msg_add_ring(memif_msg_t *m, bool s2m, uint16_t index, uint16_t region, uint32_t offset,
		    uint8_t log2);
void h_msg_connect(memif_msg_t *m, bool connected, const char *if_name);
void h_msg_disconnect(memif_msg_t *m, uint32_t code, const char *reason);
/* Copy a wire name field (maybe unterminated) into dst[n + 1]. */
void h_get_name(char *dst, const uint8_t *src, size_t n);

/* ---- memory -------------------------------------------------------------------------- */

/* How a memfd is made. */
enum h_mem {
	H_MEM_SEALED,     /* MFD_ALLOW_SEALING + F_SEAL_SHRINK, as well-behaved slaves do */
	H_MEM_SEALABLE,   /* MFD_ALLOW_SEALING, no seal yet: the receiver may add one */
	H_MEM_UNSEALABLE, /* no MFD_ALLOW_SEALING: nobody can ever seal it */
};

/* A memfd of `size` bytes; `seal`: F_SEAL_SHRINK as well-behaved slaves do. */
int h_memfd(uint64_t size, bool seal);
/* A memfd of `size` bytes made the way `kind` says. */
int h_memfd_kind(uint64_t size, enum h_mem kind);
/* The same, with the memfd's name (what /proc/PID/fd shows) given. */
int h_memfd_named(const char *name, uint64_t size, enum h_mem kind);
int h_eventfd(void);
/* Bytes of a ring of 2^log2 descriptors. */
uint64_t h_ring_bytes(uint8_t log2);

/* Ring index access with the protocol's ordering. */
uint16_t h_load_acquire16(const uint16_t *p);
void h_store_release16(uint16_t *p, uint16_t v);

/* ---- a hostile slave ----------------------------------------------------------------- */

#define H_MAX_RINGS 8

/* How far h_slave_handshake goes. */
enum h_slave_stage {
	H_SL_HELLO = 1, /* HELLO received */
	H_SL_INIT,      /* INIT sent and ACKed */
	H_SL_REGIONS,   /* both regions sent and ACKed */
	H_SL_RINGS,     /* all rings sent and ACKed */
	H_SL_CONNECTED, /* CONNECT sent, CONNECTED received */
};

/*
 * Its memory: region 0 holds the rings (S2M first, then M2S), region 1 the
 * buffers (ring_size buffers of buf_size for every ring, ring after ring).
 */
struct h_slave {
	int fd; /* control channel, -1 when closed */
	uint8_t log2;
	uint32_t ring_size;
	uint32_t buf_size;
	uint16_t n_s2m, n_m2s;
	int region_fd[2];
	void *region[2];
	uint64_t region_size[2];
	int irq_fd[2 * H_MAX_RINGS];
	uint32_t ring_off[2 * H_MAX_RINGS];
	memif_ring_t *ring[2 * H_MAX_RINGS];
	memif_msg_t last; /* last message received */
	char peer_name[MEMIF_NAME_LEN + 1];
	int stage; /* enum h_slave_stage reached, 0: none */
};

/*
 * Create regions (memfds made as `mem` says), rings and eventfds (fd stays
 * -1). 0 or -errno.
 */
int h_slave_init(struct h_slave *s, uint16_t n_s2m, uint16_t n_m2s, uint8_t log2, uint32_t buf_size,
		 enum h_mem mem);
/* Close the channel and everything created. Idempotent. */
void h_slave_fini(struct h_slave *s);
/* Close the channel only. */
void h_slave_close(struct h_slave *s);
/* Ring i of a direction. */
memif_ring_t *h_slave_ring(struct h_slave *s, bool s2m, uint16_t i);
/* Offset in region 1 of buffer `slot` of ring i of a direction. */
uint32_t h_slave_buf_off(const struct h_slave *s, bool s2m, uint16_t i, uint32_t slot);
void *h_slave_buf(struct h_slave *s, bool s2m, uint16_t i, uint32_t slot);
/*
 * Play the slave on s->fd (already connected) from the stage reached so
 * far (s->stage) up to `stage`: the INIT
 * carries id, mode 0 (ethernet), `secret` (NULL: none). 0, or a negative
 * error of the step that failed (s->last holds what arrived instead).
 */
int h_slave_handshake(struct h_slave *s, uint32_t id, const char *secret, enum h_slave_stage stage,
		      int timeout_ms, const struct h_pump *p);

/* ---- a hostile master ---------------------------------------------------------------- */

#define H_MAX_REGIONS 8

enum h_master_stage {
	H_MA_ACCEPT = 1, /* a slave connected */
	H_MA_HELLO,      /* HELLO sent */
	H_MA_INIT,       /* INIT received (not answered) */
	H_MA_CONNECT,    /* regions and rings ACKed, CONNECT received (not answered) */
	H_MA_CONNECTED,  /* CONNECTED sent */
};

struct h_master_ring {
	bool s2m;
	uint16_t index, region;
	uint32_t offset;
	uint8_t log2;
	int irq_fd;
	memif_ring_t *ring;
};

struct h_master {
	int lfd, fd;
	int region_fd[H_MAX_REGIONS];
	void *region[H_MAX_REGIONS];
	uint64_t region_size[H_MAX_REGIONS];
	uint16_t n_regions;
	struct h_master_ring rings[2 * H_MAX_RINGS];
	uint16_t n_rings;
	memif_msg_t last;      /* last message received */
	memif_msg_init_t init; /* the slave's INIT */
	char peer_if[MEMIF_NAME_LEN + 1];
	int stage; /* enum h_master_stage reached, 0: none */
};

/* Listen on path; everything else empty. 0 or -errno. */
int h_master_init(struct h_master *m, const char *path);
/* Close the connection and everything received from it (not the listener). */
void h_master_close(struct h_master *m);
/* h_master_close and the listener. Idempotent. */
void h_master_fini(struct h_master *m);
/*
 * Play the master from the stage reached so far (m->stage) up to `stage`,
 * accepting a connection first if m->fd is -1. `hello` is sent instead of the standard HELLO when not NULL. 0 or a
 * negative error of the step that failed.
 */
int h_master_handshake(struct h_master *m, const memif_msg_t *hello, enum h_master_stage stage,
		       int timeout_ms, const struct h_pump *p);
/* Continue from H_MA_CONNECT: send CONNECTED. */
int h_master_finish(struct h_master *m);
/* The mapped ring `index` of a direction, or NULL. */
struct h_master_ring *h_master_ring(struct h_master *m, bool s2m, uint16_t index);
/* The mapped bytes [offset, offset + len) of a region, or NULL if outside. */
void *h_master_mem(struct h_master *m, uint16_t region, uint32_t offset, uint32_t len);

#endif /* MEMIF_TEST_HOSTILE_H */
