/* SPDX-License-Identifier: MIT */
/*
 * bufs.h - moving whole packets in and out of memif buffers.
 *
 * A packet larger than one buffer spans several, all but the last flagged
 * MEMIF_BUFFER_FLAG_NEXT, on receive and on transmit alike. These helpers
 * hide that: ex_bufs_gather() copies one received packet out of its buffers,
 * and an ex_tx_batch collects packets into transmit buffers and sends them
 * with one memif_tx_burst().
 *
 * Data-path helpers: safe to use from a worker thread for its own queue.
 */
#ifndef EX_BUFS_H
#define EX_BUFS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <libmemif.h>

/* Buffers per receive or transmit burst in the examples. */
#define EX_BURST 256

/*
 * Copy the packet that starts at bufs[*pos] into out and advance *pos past
 * its last buffer. Returns its length, or -1 if it does not fit in `cap`
 * or its chain is cut short (*pos is advanced all the same).
 */
ssize_t ex_bufs_gather(const memif_buffer_t *bufs, uint16_t n, uint16_t *pos, uint8_t *out,
		       size_t cap);

/* Packets (not buffers) among the first n buffers. */
uint16_t ex_bufs_count_packets(const memif_buffer_t *bufs, uint16_t n);

/* A transmit batch for one queue. */
struct ex_tx_batch {
	memif_conn_handle_t conn;
	uint16_t qid;
	uint16_t buffer_size; /* of the queue, to know how many buffers a packet takes */
	uint16_t n;           /* buffers filled so far */
	uint64_t packets;     /* packets handed to memif_tx_burst and accepted */
	uint64_t no_buf;      /* packets dropped: ring full */
	uint64_t errors;      /* packets dropped: any other error */
	int last_err;         /* last MEMIF_ERR_* seen, 0 if none */
	memif_buffer_t bufs[EX_BURST];
};

void ex_tx_init(struct ex_tx_batch *b, memif_conn_handle_t conn, uint16_t qid,
		uint16_t buffer_size);

/*
 * Copy one packet into newly allocated buffers of the batch (sending the
 * batch first if it is full). Returns MEMIF_ERR_SUCCESS, or the error of
 * memif_buffer_alloc (MEMIF_ERR_NOBUF_RING when the ring is full); the
 * packet is then dropped and counted.
 */
int ex_tx_add(struct ex_tx_batch *b, const void *data, size_t len);

/* Send what the batch holds. Returns MEMIF_ERR_* of memif_tx_burst. */
int ex_tx_flush(struct ex_tx_batch *b);

/*
 * Waiting for the peer's first buffers. A master sends into buffers its
 * slave offers, and a slave may offer none for a while after connecting:
 * VPP's zero-copy slave fills its receive ring only once it has seen the
 * link up. That is a normal start-up, not a full ring: for at most
 * EX_TX_WAIT_MS after on_connect, a master does not send on a transmit
 * queue before its slave offered buffers there. What it has to send
 * meanwhile it keeps (a copy, up to EX_TX_HOLD packets) and sends once
 * buffers come, or it waits to make it (icmp-pinger builds its requests
 * when it can send them). After that time a full ring is a drop, as always.
 * A slave's own transmit ring has all its buffers from the start.
 */
#define EX_TX_WAIT_MS 2000
#define EX_TX_HOLD 32

struct ex_tx_held {
	uint16_t qid;
	uint16_t len;
	uint8_t *data; /* malloc'd copy */
};

struct ex_tx_wait {
	uint64_t until_ns; /* 0: not waiting (a slave, or the time is up) */
	unsigned n;        /* packets held, oldest first */
	struct ex_tx_held held[EX_TX_HOLD];
};

/* on_connect: a master starts waiting (held packets of an earlier link are dropped). */
void ex_tx_wait_start(struct ex_tx_wait *w, bool is_master);

/*
 * May transmit queue qid be sent on now? False while a master waits and
 * its slave has offered no buffer on qid yet (read from the ring's indexes
 * with memif_get_tx_ring_details, so nothing is allocated in vain), or
 * packets are still held for qid (order is kept). True otherwise, and once
 * EX_TX_WAIT_MS have passed.
 */
bool ex_tx_wait_ready(struct ex_tx_wait *w, memif_conn_handle_t conn, uint16_t qid);

/* Keep a copy of a packet for queue qid. False (a drop) when full or out of memory. */
bool ex_tx_wait_hold(struct ex_tx_wait *w, uint16_t qid, const void *data, size_t len);

/*
 * Send the held packets whose queue can take them now, oldest first; once
 * the wait is over, whatever is left is tried one last time. Adds to *sent
 * the packets sent and to *dropped those given up. Returns how many are
 * still held.
 */
unsigned ex_tx_wait_flush(struct ex_tx_wait *w, memif_conn_handle_t conn, uint16_t buffer_size,
			  uint64_t *sent, uint64_t *dropped);

/* Forget what is held (the link went down); returns how many packets that was. */
unsigned ex_tx_wait_drop(struct ex_tx_wait *w);

/* Milliseconds the event loop may sleep before the next flush: -1 if nothing is held. */
int ex_tx_wait_timeout_ms(const struct ex_tx_wait *w);

/* The parts of memif_get_details the examples use. */
struct ex_conn_info {
	uint8_t rx_queues;
	uint8_t tx_queues;
	uint16_t buffer_size; /* of tx queue 0 (0 when down) */
	uint32_t ring_size;   /* of tx queue 0 (0 when down) */
	bool link_up;
	char remote_if_name[MEMIF_NAME_LEN + 1];
	char remote_app_name[MEMIF_NAME_LEN + 1];
	char error[128];
};

/* Fill ci from memif_get_details. Returns MEMIF_ERR_*. */
int ex_conn_info_get(memif_conn_handle_t conn, struct ex_conn_info *ci);

/* Queue counts of an interface, kept across reconnects. */
struct ex_queues {
	uint8_t nrx, ntx;       /* queues of the current connection */
	uint8_t max_rx, max_tx; /* most queues ever seen, for statistics */
	uint16_t buffer_size;
};

/* Take the counts of a new connection from ci (on_connect). */
void ex_queues_update(struct ex_queues *qs, const struct ex_conn_info *ci);

/*
 * Print the memif_get_queue_stats counters of rx queues 0..nrx-1 and tx
 * queues 0..ntx-1, one line each, prefixed by `indent`.
 */
void ex_print_queue_stats(FILE *f, memif_conn_handle_t conn, unsigned nrx, unsigned ntx,
			  const char *indent);

#endif /* EX_BUFS_H */
