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
