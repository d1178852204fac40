/* SPDX-License-Identifier: MIT */
/*
 * bufs.c - packets in and out of memif buffers; see bufs.h.
 */
#include "bufs.h"
#include "loop.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BUFFER_SIZE 2048

ssize_t ex_bufs_gather(const memif_buffer_t *bufs, uint16_t n, uint16_t *pos, uint8_t *out,
		       size_t cap)
{
	size_t len = 0;
	bool fits = true;

	while (*pos < n) {
		const memif_buffer_t *b = &bufs[(*pos)++];
		if (fits && b->len <= cap - len) {
			memcpy(out + len, b->data, b->len);
			len += b->len;
		} else {
			fits = false;
		}
		if (!(b->flags & MEMIF_BUFFER_FLAG_NEXT))
			return fits ? (ssize_t)len : -1;
	}
	return -1; /* the chain continues past the burst */
}

uint16_t ex_bufs_count_packets(const memif_buffer_t *bufs, uint16_t n)
{
	uint16_t packets = 0;
	for (uint16_t i = 0; i < n; i++)
		if (!(bufs[i].flags & MEMIF_BUFFER_FLAG_NEXT))
			packets++;
	return packets;
}

void ex_tx_init(struct ex_tx_batch *b, memif_conn_handle_t conn, uint16_t qid,
		uint16_t buffer_size)
{
	memset(b, 0, offsetof(struct ex_tx_batch, bufs));
	b->conn = conn;
	b->qid = qid;
	b->buffer_size = buffer_size ? buffer_size : DEFAULT_BUFFER_SIZE;
}

int ex_tx_add(struct ex_tx_batch *b, const void *data, size_t len)
{
	size_t need = len ? (len + b->buffer_size - 1) / b->buffer_size : 1;
	uint16_t got = 0;
	int err;

	if (len > UINT16_MAX || need > EX_BURST) {
		b->errors++;
		b->last_err = MEMIF_ERR_INVAL_ARG;
		return MEMIF_ERR_INVAL_ARG;
	}
	if (b->n + need > EX_BURST)
		ex_tx_flush(b);

	err = memif_buffer_alloc(b->conn, b->qid, &b->bufs[b->n], 1, &got, (uint16_t)len);
	if (got == 0) {
		if (err == MEMIF_ERR_NOBUF_RING || err == MEMIF_ERR_SUCCESS) {
			b->no_buf++;
			err = MEMIF_ERR_NOBUF_RING;
		} else {
			b->errors++;
		}
		b->last_err = err;
		return err;
	}

	/* Each buffer's len is preset to its share of the packet. */
	const uint8_t *src = data;
	size_t left = len;
	for (uint16_t i = 0; i < got; i++) {
		memif_buffer_t *mb = &b->bufs[b->n + i];
		size_t chunk = mb->len < left ? mb->len : left;
		memcpy(mb->data, src, chunk);
		mb->len = (uint32_t)chunk;
		src += chunk;
		left -= chunk;
	}
	b->n = (uint16_t)(b->n + got);
	return MEMIF_ERR_SUCCESS;
}

int ex_tx_flush(struct ex_tx_batch *b)
{
	uint16_t tx = 0;
	int err;

	if (b->n == 0)
		return MEMIF_ERR_SUCCESS;
	uint16_t packets = ex_bufs_count_packets(b->bufs, b->n);
	err = memif_tx_burst(b->conn, b->qid, b->bufs, b->n, &tx);
	uint16_t sent = ex_bufs_count_packets(b->bufs, tx);
	b->packets += sent;
	b->errors += (uint64_t)(packets - sent);
	if (err != MEMIF_ERR_SUCCESS)
		b->last_err = err;
	b->n = 0;
	return err;
}

void ex_tx_wait_start(struct ex_tx_wait *w, bool is_master)
{
	ex_tx_wait_drop(w);
	w->until_ns = is_master ? ex_now_ns() + EX_TX_WAIT_MS * 1000000ull : 0;
}

static bool holds_for(const struct ex_tx_wait *w, uint16_t qid)
{
	for (unsigned i = 0; i < w->n; i++)
		if (w->held[i].qid == qid)
			return true;
	return false;
}

/* Has the slave offered buffers on the master's transmit queue qid? */
static bool offered(memif_conn_handle_t conn, uint16_t qid)
{
	memif_ring_details_t rd;

	/* Its head minus our tail: buffers offered and not filled yet. */
	if (memif_get_tx_ring_details(conn, &rd, qid, 0) != MEMIF_ERR_SUCCESS)
		return true; /* let the send itself report the problem */
	return rd.head != rd.tail;
}

bool ex_tx_wait_ready(struct ex_tx_wait *w, memif_conn_handle_t conn, uint16_t qid)
{
	if (w->until_ns && ex_now_ns() >= w->until_ns)
		w->until_ns = 0;
	if (!w->until_ns)
		return !holds_for(w, qid);
	return !holds_for(w, qid) && offered(conn, qid);
}

bool ex_tx_wait_hold(struct ex_tx_wait *w, uint16_t qid, const void *data, size_t len)
{
	uint8_t *copy;

	if (w->n == EX_TX_HOLD || len > UINT16_MAX || !(copy = malloc(len ? len : 1)))
		return false;
	memcpy(copy, data, len);
	w->held[w->n++] = (struct ex_tx_held){ .qid = qid, .len = (uint16_t)len, .data = copy };
	return true;
}

unsigned ex_tx_wait_flush(struct ex_tx_wait *w, memif_conn_handle_t conn, uint16_t buffer_size,
			  uint64_t *sent, uint64_t *dropped)
{
	struct ex_tx_batch *b = malloc(sizeof(*b));
	bool over;
	unsigned keep = 0;

	if (w->until_ns && ex_now_ns() >= w->until_ns)
		w->until_ns = 0;
	over = w->until_ns == 0;
	for (unsigned i = 0; i < w->n; i++) {
		struct ex_tx_held *h = &w->held[i];
		/* Later packets of a queue wait behind an earlier one kept. */
		bool behind = false;

		for (unsigned k = 0; k < keep; k++)
			behind |= w->held[k].qid == h->qid;
		if (b && !behind && (over || offered(conn, h->qid))) {
			ex_tx_init(b, conn, h->qid, buffer_size);
			if (ex_tx_add(b, h->data, h->len) == MEMIF_ERR_SUCCESS)
				ex_tx_flush(b);
			if (b->packets || over) {
				*sent += b->packets;
				*dropped += 1 - b->packets;
				free(h->data);
				continue;
			}
		}
		w->held[keep++] = *h; /* not yet */
	}
	w->n = keep;
	free(b);
	return keep;
}

unsigned ex_tx_wait_drop(struct ex_tx_wait *w)
{
	unsigned n = w->n;

	for (unsigned i = 0; i < w->n; i++)
		free(w->held[i].data);
	w->n = 0;
	return n;
}

int ex_tx_wait_timeout_ms(const struct ex_tx_wait *w)
{
	return w->n ? 1 : -1;
}

static void copy_name(char *dst, size_t cap, const uint8_t *src)
{
	size_t i = 0;
	if (src)
		for (; i + 1 < cap && src[i]; i++)
			dst[i] = (char)src[i];
	dst[i] = '\0';
}

int ex_conn_info_get(memif_conn_handle_t conn, struct ex_conn_info *ci)
{
	/* Room for names and up to 255 queues per direction. */
	size_t buflen = 32768;
	char *buf = malloc(buflen);
	memif_details_t md;
	int err;

	memset(ci, 0, sizeof(*ci));
	if (!buf)
		return MEMIF_ERR_NOMEM;
	memset(&md, 0, sizeof(md));
	err = memif_get_details(conn, &md, buf, (ssize_t)buflen);
	if (err == MEMIF_ERR_SUCCESS) {
		ci->rx_queues = md.rx_queues_num;
		ci->tx_queues = md.tx_queues_num;
		if (md.tx_queues && md.tx_queues_num) {
			ci->buffer_size = md.tx_queues[0].buffer_size;
			ci->ring_size = md.tx_queues[0].ring_size;
		}
		ci->link_up = md.link_up_down != 0;
		copy_name(ci->remote_if_name, sizeof(ci->remote_if_name), md.remote_if_name);
		copy_name(ci->remote_app_name, sizeof(ci->remote_app_name), md.remote_inst_name);
		copy_name(ci->error, sizeof(ci->error), md.error);
	}
	free(buf);
	return err;
}

void ex_print_queue_stats(FILE *f, memif_conn_handle_t conn, unsigned nrx, unsigned ntx,
			  const char *indent)
{
	memif_queue_stats_t st;

	for (unsigned dir = 0; dir < 2; dir++) {
		unsigned nq = dir == 0 ? nrx : ntx;
		for (unsigned q = 0; q < nq; q++) {
			memset(&st, 0, sizeof(st));
			int err = memif_get_queue_stats(conn, (uint16_t)q, dir == 0, &st);
			if (err != MEMIF_ERR_SUCCESS) {
				fprintf(f, "%s%s queue %u: no statistics (%s)\n", indent,
					dir == 0 ? "rx" : "tx", q, memif_strerror(err));
				continue;
			}
			fprintf(f,
				"%s%s queue %u: %" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64
				" no-buffer drops\n",
				indent, dir == 0 ? "rx" : "tx", q, st.packets, st.bytes,
				st.no_buf);
		}
	}
}

void ex_queues_update(struct ex_queues *qs, const struct ex_conn_info *ci)
{
	qs->nrx = ci->rx_queues;
	qs->ntx = ci->tx_queues;
	if (qs->nrx > qs->max_rx)
		qs->max_rx = qs->nrx;
	if (qs->ntx > qs->max_tx)
		qs->max_tx = qs->ntx;
	qs->buffer_size = ci->buffer_size;
}
