/* SPDX-License-Identifier: MIT */
/*
 * check_datapath.c - the data path through the public API, master and slave
 * in one process: small and chained frames both ways, several queues,
 * polling and interrupt modes, full rings, refill headroom, queue eventfds,
 * ring details, queue statistics and slave-side external regions.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

#define UP_MS 3000
#define FLOW_MS 10000

/* A one-way stream of frames from one interface's tx queue to the peer's rx queue. */
struct flow {
	memif_conn_handle_t conn;
	uint16_t qid;
	uint32_t total, size;
	struct t_txq tq;
	struct t_rxq *rq;
};

static void flow_init(struct flow *f, struct t_ep *from, struct t_ep *to, uint16_t qid,
		      uint32_t total, uint32_t size, uint32_t seq0)
{
	uint16_t headroom;

	memset(f, 0, sizeof(*f));
	f->conn = from->conn;
	f->qid = qid;
	f->total = total;
	f->size = size;
	f->tq.next_seq = seq0;
	f->rq = t_ep_rxq(to, qid);
	/* Fresh counters for this flow; keep the refill headroom. */
	headroom = f->rq->headroom;
	memset(f->rq, 0, sizeof(*f->rq));
	f->rq->headroom = headroom;
	f->rq->next_seq = seq0;
}

/* Send what fits now; true once every flow was received in full. */
static bool flows_step(struct flow *f, int n)
{
	bool done = true;

	for (int i = 0; i < n; i++) {
		if (f[i].tq.packets < f[i].total && f[i].tq.last_err == 0)
			t_tx_frames(f[i].conn, f[i].qid, &f[i].tq,
				    (uint32_t)(f[i].total - f[i].tq.packets), f[i].size, 64);
		if (f[i].rq->packets + f[i].rq->bad < f[i].total)
			done = false;
	}
	return done;
}

static void flows_check(struct flow *f, int n)
{
	for (int i = 0; i < n; i++) {
		ck_assert_msg(f[i].tq.last_err == 0, "flow %d (qid %u): tx error %d (%s)", i,
			      f[i].qid, f[i].tq.last_err, memif_strerror(f[i].tq.last_err));
		ck_assert_msg(f[i].rq->last_err == 0, "flow %d (qid %u): rx error %d (%s)", i,
			      f[i].qid, f[i].rq->last_err, memif_strerror(f[i].rq->last_err));
		ck_assert_msg(f[i].tq.packets == f[i].total, "flow %d (qid %u): sent %llu of %u", i,
			      f[i].qid, (unsigned long long)f[i].tq.packets, f[i].total);
		ck_assert_msg(f[i].rq->packets == f[i].total,
			      "flow %d (qid %u): received %llu of %u", i, f[i].qid,
			      (unsigned long long)f[i].rq->packets, f[i].total);
		ck_assert_uint_eq(f[i].tq.bad_alloc_len, 0);
		ck_assert_uint_eq(f[i].tq.partial_tx, 0);
		ck_assert_uint_eq(f[i].rq->bad, 0);
		ck_assert_uint_eq(f[i].rq->out_of_order, 0);
		ck_assert_uint_eq(f[i].rq->oversize, 0);
		ck_assert_uint_eq(f[i].rq->no_rx_flag, 0);
		ck_assert_uint_eq(f[i].rq->last_len, f[i].size);
		ck_assert_uint_eq(f[i].rq->bytes, (uint64_t)f[i].total * f[i].size);
	}
}

static void run_flows(struct t_pair *p, struct flow *f, int n)
{
	p->m.rx_on_interrupt = p->s.rx_on_interrupt = true;
	T_LOOP_UNTIL(&p->loop, flows_step(f, n), FLOW_MS);
	flows_check(f, n);
}

/* ---- frames both ways ---------------------------------------------------------- */

START_TEST(test_small_frames_both_ways)
{
	struct t_pair p;
	struct flow f[2];

	t_pair_init(&p, "small");
	t_pair_connect(&p, UP_MS);
	/* 3000 frames: the 1024-slot ring wraps several times. */
	flow_init(&f[0], &p.s, &p.m, 0, 3000, 64, 0);
	flow_init(&f[1], &p.m, &p.s, 0, 3000, 64, 1000000);
	run_flows(&p, f, 2);
	ck_assert_int_gt(p.m.n_irq[0], 0);
	ck_assert_int_gt(p.s.n_irq[0], 0);
	ck_assert_int_eq(p.m.irq_bad_qid + p.s.irq_bad_qid, 0);
	t_pair_close(&p);
}
END_TEST

/* Check the buffers memif_buffer_alloc gave for `npk` packets of `size` bytes. */
static void check_alloc_chain(const memif_buffer_t *b, uint16_t n, uint16_t npk, uint32_t size,
			      uint32_t bsize)
{
	uint32_t per = (size + bsize - 1) / bsize;

	ck_assert_uint_eq(n, npk * per);
	for (uint16_t k = 0; k < npk; k++) {
		for (uint32_t j = 0; j < per; j++) {
			const memif_buffer_t *x = &b[k * per + j];
			bool last = j + 1 == per;

			ck_assert_ptr_nonnull(x->data);
			ck_assert_msg(!!(x->flags & MEMIF_BUFFER_FLAG_NEXT) == !last,
				      "packet %u buffer %u: flags 0x%x", k, j, x->flags);
			ck_assert_uint_eq(x->len, last ? size - (per - 1) * bsize : bsize);
		}
	}
}

START_TEST(test_chained_frames)
{
	struct t_pair p;
	memif_buffer_t b[64];
	uint16_t n = 0, tx = 0, rx = 0;
	uint32_t bad = 0, pk;
	struct flow f[2];
	static const uint32_t sizes[] = { 2048, 2049, 4096, 9000 };

	t_pair_init(&p, "chain");
	p.ma.buffer_size = p.sa.buffer_size = 2048;
	t_pair_connect(&p, UP_MS);

	/* Alloc presets: whole buffers flagged NEXT, the rest in the last one. */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ck_assert_int_eq(memif_buffer_alloc(p.s.conn, 0, b, 4, &n, (uint16_t)sizes[i]),
				 MEMIF_ERR_SUCCESS);
		check_alloc_chain(b, n, 4, sizes[i], 2048);
		pk = t_frame_fill_bufs(b, n, (uint32_t)(4 * i), sizes[i], &bad);
		ck_assert_uint_eq(pk, 4);
		ck_assert_uint_eq(bad, 0);
		ck_assert_int_eq(memif_tx_burst(p.s.conn, 0, b, n, &tx), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(tx, n);

		/* The receiver sees the same chains, flagged NEXT and RX. */
		T_LOOP_UNTIL(&p.loop, p.m.n_irq[0] > (int)i, 1000);
		ck_assert_int_gt(p.m.n_irq[0], (int)i);
		ck_assert_int_eq(memif_rx_burst(p.m.conn, 0, b, 64, &rx), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(rx, n);
		check_alloc_chain(b, rx, 4, sizes[i], 2048);
		for (uint16_t k = 0; k < 4; k++) {
			uint32_t per = rx / 4, off = 0;
			static uint8_t frame[16384];

			for (uint32_t j = 0; j < per; j++) {
				memif_buffer_t *x = &b[k * per + j];

				ck_assert(x->flags & MEMIF_BUFFER_FLAG_RX);
				memcpy(frame + off, x->data, x->len);
				off += x->len;
			}
			ck_assert_uint_eq(off, sizes[i]);
			ck_assert_msg(t_frame_verify(frame, off, (uint32_t)(4 * i + k)),
				      "size %u packet %u corrupt", sizes[i], k);
		}
		ck_assert_int_eq(memif_refill_queue(p.m.conn, 0, rx, 0), MEMIF_ERR_SUCCESS);
	}

	/* Bulk: 9000-byte frames both ways. */
	flow_init(&f[0], &p.s, &p.m, 0, 300, 9000, 0);
	flow_init(&f[1], &p.m, &p.s, 0, 300, 9000, 500000);
	run_flows(&p, f, 2);
	ck_assert_uint_eq(f[0].rq->buffers, 300 * 5);
	ck_assert_uint_eq(f[1].rq->buffers, 300 * 5);
	t_pair_close(&p);
}
END_TEST

/* Buffers that are no power of two, and the largest ring. */
START_TEST(test_odd_buffer_size)
{
	struct t_pair p;
	struct flow f[2];

	t_pair_init(&p, "oddbuf");
	p.ma.buffer_size = p.sa.buffer_size = 1000;
	t_pair_connect(&p, UP_MS);
	flow_init(&f[0], &p.s, &p.m, 0, 200, 9000, 0);
	flow_init(&f[1], &p.m, &p.s, 0, 200, 2999, 0);
	f[0].tq.buf_capacity = f[1].tq.buf_capacity = 1000;
	run_flows(&p, f, 2);
	ck_assert_uint_eq(f[0].rq->buffers, 200 * 9);
	ck_assert_uint_eq(f[1].rq->buffers, 200 * 3);
	t_pair_close(&p);
}
END_TEST

START_TEST(test_max_ring)
{
	struct t_pair p;
	struct flow f[2];
	memif_details_t md;
	char buf[8192];

	t_pair_init(&p, "maxring");
	p.ma.log2_ring_size = p.sa.log2_ring_size = 14;
	t_pair_connect(&p, UP_MS);
	ck_assert_int_eq(t_details(p.s.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.tx_queues[0].ring_size, 1u << 14);
	/* More than the ring holds, in bursts: the producer runs ahead of the consumer. */
	flow_init(&f[0], &p.s, &p.m, 0, 40000, 64, 0);
	flow_init(&f[1], &p.m, &p.s, 0, 40000, 64, 0);
	run_flows(&p, f, 2);
	t_pair_close(&p);
}
END_TEST

/*
 * Buffers that do not fit one region: 2^14 slots of 65535 bytes are about
 * 1 GiB per ring, so the slave lays out one buffer region per ring (plus the
 * ring region) and the master maps them all. Memfds are sparse: only the
 * pages the frames touch are ever allocated.
 */
/* Bytes of buffer memory (every region but 0, the rings) the slave laid out. */
static uint64_t buffer_bytes(uint8_t pairs, uint8_t log2, uint8_t laps)
{
	struct t_pair p;
	memif_details_t md;
	char buf[8192];
	uint64_t sum = 0;

	t_pair_init(&p, "laps");
	p.ma.log2_ring_size = p.sa.log2_ring_size = log2;
	p.ma.num_s2m_rings = p.sa.num_s2m_rings = pairs;
	p.ma.num_m2s_rings = p.sa.num_m2s_rings = pairs;
	t_pair_sockets(&p);
	if (laps != 0xff)
		ck_assert_int_eq(memif_set_socket_buffer_laps(p.ssock, laps), MEMIF_ERR_SUCCESS);
	t_pair_connect(&p, UP_MS);
	ck_assert_int_eq(t_details(p.s.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	for (uint8_t i = 1; i < md.regions_num; i++)
		sum += md.regions[i].size;
	/* The master sees the same layout, and frames still flow. */
	{
		struct flow f[2];

		flow_init(&f[0], &p.s, &p.m, 0, 200, 1500, 0);
		flow_init(&f[1], &p.m, &p.s, 0, 200, 1500, 0);
		run_flows(&p, f, 2);
	}
	t_pair_close(&p);
	return sum;
}

/* Buffer laps: automatic within max(8 MiB, upstream's layout), or as set. */
START_TEST(test_buffer_laps)
{
	const uint64_t mib = 1u << 20;
	memif_socket_handle_t sock = NULL;

	/* Default interface: 2 rings of 1024 x 2048 B, upstream 4 MiB: twice that. */
	ck_assert_uint_eq(buffer_bytes(1, 10, 0xff), 8 * mib);
	/* Four queue pairs: upstream's 16 MiB, no more. */
	ck_assert_uint_eq(buffer_bytes(4, 10, 0xff), 16 * mib);
	/* Small rings (256 slots) get 8 buffers per slot, 8 MiB in all. */
	ck_assert_uint_eq(buffer_bytes(1, 8, 0), 8 * mib);
	/* The knob: upstream's layout, or more laps than automatic. */
	ck_assert_uint_eq(buffer_bytes(1, 10, 1), 4 * mib);
	ck_assert_uint_eq(buffer_bytes(4, 10, 2), 32 * mib);
	ck_assert_int_eq(memif_set_socket_buffer_laps(NULL, 1), MEMIF_ERR_INVAL_ARG);
	{
		memif_socket_args_t sa;
		char path[108];

		t_sock_path(path, sizeof(path), "laps-args");
		t_socket_args(&sa, path, "app-x", NULL);
		ck_assert_int_eq(memif_create_socket(&sock, &sa, NULL), MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(memif_set_socket_buffer_laps(sock, 3), MEMIF_ERR_INVAL_ARG);
		ck_assert_int_eq(memif_set_socket_buffer_laps(sock, 16), MEMIF_ERR_INVAL_ARG);
		ck_assert_int_eq(memif_set_socket_buffer_laps(sock, 8), MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(memif_delete_socket(&sock), MEMIF_ERR_SUCCESS);
	}
}
END_TEST

/* A slave that moves `data` forward in its buffer sends from there (as upstream). */
START_TEST(test_slave_moved_data)
{
	struct t_pair p;
	memif_buffer_t b[4];
	uint16_t n = 0, tx = 0, rx = 0;

	t_pair_init(&p, "moved");
	t_pair_connect(&p, UP_MS);
	ck_assert_int_eq(memif_buffer_alloc(p.s.conn, 0, b, 1, &n, 128), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(n, 1);
	b[0].data = (uint8_t *)b[0].data + 40;
	b[0].len = 88;
	memset(b[0].data, 0x5a, 88);
	ck_assert_int_eq(memif_tx_burst(p.s.conn, 0, b, 1, &tx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(tx, 1);
	T_LOOP_UNTIL(&p.loop, memif_rx_burst(p.m.conn, 0, b, 4, &rx) == MEMIF_ERR_SUCCESS && rx > 0,
		     1000);
	ck_assert_uint_eq(rx, 1);
	ck_assert_uint_eq(b[0].len, 88);
	for (int i = 0; i < 88; i++)
		ck_assert_uint_eq(((uint8_t *)b[0].data)[i], 0x5a);
	ck_assert_int_eq(memif_refill_queue(p.m.conn, 0, rx, 0), MEMIF_ERR_SUCCESS);

	/* Past its buffer, or before it: refused, nothing sent. */
	ck_assert_int_eq(memif_buffer_alloc(p.s.conn, 0, b, 1, &n, 128), MEMIF_ERR_SUCCESS);
	b[0].data = (uint8_t *)b[0].data + 2000;
	b[0].len = 100;
	ck_assert_int_eq(memif_tx_burst(p.s.conn, 0, b, 1, &tx), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_buffer_alloc(p.s.conn, 0, b, 1, &n, 128), MEMIF_ERR_SUCCESS);
	b[0].data = (uint8_t *)b[0].data - 1;
	ck_assert_int_eq(memif_tx_burst(p.s.conn, 0, b, 1, &tx), MEMIF_ERR_INVAL_ARG);
	/* Up to the buffer's last byte, not one past it (2048-byte buffers). */
	ck_assert_int_eq(memif_buffer_alloc(p.s.conn, 0, b, 1, &n, 128), MEMIF_ERR_SUCCESS);
	b[0].data = (uint8_t *)b[0].data + 2048 - 100;
	b[0].len = 101;
	ck_assert_int_eq(memif_tx_burst(p.s.conn, 0, b, 1, &tx), MEMIF_ERR_INVAL_ARG);
	ck_assert_uint_eq(tx, 0);
	ck_assert_int_eq(memif_buffer_alloc(p.s.conn, 0, b, 1, &n, 128), MEMIF_ERR_SUCCESS);
	b[0].data = (uint8_t *)b[0].data + 2048 - 100;
	b[0].len = 100;
	memset(b[0].data, 0xa5, 100);
	ck_assert_int_eq(memif_tx_burst(p.s.conn, 0, b, 1, &tx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(tx, 1);
	rx = 0;
	T_LOOP_UNTIL(&p.loop, memif_rx_burst(p.m.conn, 0, b, 4, &rx) == MEMIF_ERR_SUCCESS && rx > 0,
		     1000);
	ck_assert_uint_eq(rx, 1);
	ck_assert_uint_eq(b[0].len, 100);
	for (int i = 0; i < 100; i++)
		ck_assert_uint_eq(((uint8_t *)b[0].data)[i], 0xa5);
	ck_assert_int_eq(memif_refill_queue(p.m.conn, 0, rx, 0), MEMIF_ERR_SUCCESS);
	/* Two buffers handed back in each other's place: refused, nothing sent. */
	ck_assert_int_eq(memif_buffer_alloc(p.s.conn, 0, b, 2, &n, 128), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(n, 2);
	b[2] = b[0];
	b[0] = b[1];
	b[1] = b[2];
	ck_assert_int_eq(memif_tx_burst(p.s.conn, 0, b, 2, &tx), MEMIF_ERR_INVAL_ARG);
	ck_assert_uint_eq(tx, 0);
	t_pair_close(&p);
}
END_TEST

START_TEST(test_several_regions)
{
	struct t_pair p;
	struct flow f[2];
	memif_details_t md;
	char buf[8192];

	t_pair_init(&p, "regions");
	p.ma.log2_ring_size = p.sa.log2_ring_size = 14;
	p.ma.buffer_size = p.sa.buffer_size = 65535;
	p.ma.num_s2m_rings = p.sa.num_s2m_rings = 2;
	t_pair_connect(&p, UP_MS);
	ck_assert_int_eq(t_details(p.s.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.regions_num, 4); /* rings + 3 rings' buffers */
	ck_assert_int_eq(t_details(p.m.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.regions_num, 4);
	flow_init(&f[0], &p.s, &p.m, 1, 300, 1500, 0);
	flow_init(&f[1], &p.m, &p.s, 0, 300, 1500, 0);
	run_flows(&p, f, 2);
	t_pair_close(&p);
}
END_TEST

/* ---- queues -------------------------------------------------------------------- */

START_TEST(test_multi_queue)
{
	struct t_pair p;
	struct flow f[6];
	memif_details_t md;
	char buf[8192];

	t_pair_init(&p, "multiq");
	p.ma.num_s2m_rings = p.sa.num_s2m_rings = 4;
	p.ma.num_m2s_rings = p.sa.num_m2s_rings = 2;
	p.ma.log2_ring_size = p.sa.log2_ring_size = 7;
	t_pair_connect(&p, UP_MS);
	ck_assert_int_eq(t_details(p.m.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.rx_queues_num, 4);
	ck_assert_uint_eq(md.tx_queues_num, 2);
	ck_assert_int_eq(t_details(p.s.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.rx_queues_num, 2);
	ck_assert_uint_eq(md.tx_queues_num, 4);

	/* Each queue numbers its frames from qid * 1000000: a frame on the wrong queue shows. */
	for (uint16_t q = 0; q < 4; q++)
		flow_init(&f[q], &p.s, &p.m, q, 500, 60u + 100u * q, 1000000u * q);
	for (uint16_t q = 0; q < 2; q++)
		flow_init(&f[4 + q], &p.m, &p.s, q, 500, 1000u + q, 1000000u * q);
	run_flows(&p, f, 6);
	for (uint16_t q = 0; q < 4; q++)
		ck_assert_msg(p.m.n_irq[q] > 0, "no interrupt on master rx queue %u", q);
	for (uint16_t q = 0; q < 2; q++)
		ck_assert_msg(p.s.n_irq[q] > 0, "no interrupt on slave rx queue %u", q);
	ck_assert_int_eq(p.m.irq_bad_qid + p.s.irq_bad_qid, 0);

	/* Out-of-range queues. */
	{
		memif_buffer_t b[2];
		uint16_t n = 0;

		ck_assert_int_eq(memif_buffer_alloc(p.s.conn, 4, b, 1, &n, 64), MEMIF_ERR_QID);
		ck_assert_int_eq(memif_buffer_alloc(p.m.conn, 2, b, 1, &n, 64), MEMIF_ERR_QID);
		ck_assert_int_eq(memif_rx_burst(p.s.conn, 2, b, 2, &n), MEMIF_ERR_QID);
		ck_assert_int_eq(memif_rx_burst(p.m.conn, 4, b, 2, &n), MEMIF_ERR_QID);
	}
	t_pair_close(&p);
}
END_TEST

START_TEST(test_interrupt_qid)
{
	struct t_pair p;
	struct t_txq tq = { 0 };
	uint32_t got;

	t_pair_init(&p, "irqqid");
	p.ma.num_s2m_rings = p.sa.num_s2m_rings = 4;
	t_pair_connect(&p, UP_MS);

	t_ep_rxq(&p.m, 2)->next_seq = 0;
	ck_assert_uint_eq(t_tx_frames(p.s.conn, 2, &tq, 5, 64, 32), 5);
	T_LOOP_UNTIL(&p.loop, p.m.n_irq[2] > 0, 1000);
	t_loop_run_for(&p.loop, 100);
	ck_assert_int_gt(p.m.n_irq[2], 0);
	ck_assert_int_eq(p.m.n_irq[0], 0);
	ck_assert_int_eq(p.m.n_irq[1], 0);
	ck_assert_int_eq(p.m.n_irq[3], 0);
	ck_assert_int_eq(p.m.irq_bad_qid, 0);
	got = t_rx_drain(p.m.conn, 2, t_ep_rxq(&p.m, 2));
	ck_assert_uint_eq(got, 5);
	ck_assert_uint_eq(t_ep_rxq(&p.m, 2)->bad, 0);
	/* Nothing on the other queues. */
	ck_assert_uint_eq(t_rx_drain(p.m.conn, 0, t_ep_rxq(&p.m, 0)), 0);
	ck_assert_uint_eq(t_rx_drain(p.m.conn, 3, t_ep_rxq(&p.m, 3)), 0);
	t_pair_close(&p);
}
END_TEST

/* _i: 0 the master receives in polling mode, 1 the slave does. */
START_TEST(test_polling_mode)
{
	struct t_pair p;
	struct t_ep *rx_ep, *tx_ep;
	struct t_txq tq = { 0 };
	struct t_rxq *rq;
	memif_details_t md;
	char buf[8192];
	int efd = -1;
	memif_ring_details_t *ring_rd = t_ring_details_new(1024);

	t_pair_init(&p, "polling");
	t_pair_connect(&p, UP_MS);
	rx_ep = _i == 0 ? &p.m : &p.s;
	tx_ep = _i == 0 ? &p.s : &p.m;
	rq = t_ep_rxq(rx_ep, 0);

	ck_assert_int_eq(memif_set_rx_mode(rx_ep->conn, MEMIF_RX_MODE_POLLING, 0),
			 MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(t_details(rx_ep->conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.rx_queues[0].flags & MEMIF_QUEUE_FLAG_POLLING,
			  MEMIF_QUEUE_FLAG_POLLING);
	/* MASK_INT is set in the shared ring: both ends see it. */
	ck_assert_int_eq(memif_get_rx_ring_details(rx_ep->conn, ring_rd, 0, 1024),
			 MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(ring_rd->flags & MEMIF_RING_FLAG_MASK_INT, MEMIF_RING_FLAG_MASK_INT);
	ck_assert_int_eq(memif_get_tx_ring_details(tx_ep->conn, ring_rd, 0, 1024),
			 MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(ring_rd->flags & MEMIF_RING_FLAG_MASK_INT, MEMIF_RING_FLAG_MASK_INT);

	ck_assert_int_eq(memif_get_queue_efd(rx_ep->conn, 0, &efd), MEMIF_ERR_SUCCESS);
	ck_assert_int_ge(efd, 0);
	ck_assert_uint_eq(t_tx_frames(tx_ep->conn, 0, &tq, 10, 64, 32), 10);
	/* The sender honours MASK_INT: no kick at all. */
	ck_assert_msg(!t_fd_readable(efd), "peer signalled a queue in polling mode");
	t_loop_run_for(&p.loop, 200);
	ck_assert_int_eq(rx_ep->n_irq[0], 0);
	ck_assert_uint_eq(t_rx_drain(rx_ep->conn, 0, rq), 10);
	ck_assert_uint_eq(rq->bad + rq->out_of_order, 0);
	ck_assert_int_eq(rq->last_err, 0);

	/* Back to interrupt mode. */
	ck_assert_int_eq(memif_set_rx_mode(rx_ep->conn, MEMIF_RX_MODE_INTERRUPT, 0),
			 MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_get_rx_ring_details(rx_ep->conn, ring_rd, 0, 1024),
			 MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(ring_rd->flags & MEMIF_RING_FLAG_MASK_INT, 0);
	ck_assert_int_eq(t_details(rx_ep->conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.rx_queues[0].flags & MEMIF_QUEUE_FLAG_POLLING, 0);
	ck_assert_uint_eq(t_tx_frames(tx_ep->conn, 0, &tq, 10, 64, 32), 10);
	T_LOOP_UNTIL(&p.loop, rx_ep->n_irq[0] > 0, 1000);
	ck_assert_int_gt(rx_ep->n_irq[0], 0);
	ck_assert_uint_eq(t_rx_drain(rx_ep->conn, 0, rq), 10);
	ck_assert_uint_eq(rq->packets, 20);
	ck_assert_uint_eq(rq->bad + rq->out_of_order, 0);
	free(ring_rd);
	t_pair_close(&p);
}
END_TEST

/* ---- full rings and refill ----------------------------------------------------------- */

START_TEST(test_ring_full)
{
	struct t_pair p;
	memif_buffer_t b[64];
	uint16_t n = 0, k, tx = 0, rx = 0;
	uint32_t bad = 0;
	memif_queue_stats_t qs;
	struct t_rxq *mrq, *srq;

	t_pair_init(&p, "full");
	p.ma.log2_ring_size = p.sa.log2_ring_size = 4; /* 16 slots */
	p.ma.buffer_size = p.sa.buffer_size = 2048;
	t_pair_connect(&p, UP_MS);
	mrq = t_ep_rxq(&p.m, 0);
	srq = t_ep_rxq(&p.s, 0);

	/* S2M: the slave gets at most the ring's worth. */
	ck_assert_int_eq(memif_buffer_alloc(p.s.conn, 0, b, 20, &n, 64), MEMIF_ERR_NOBUF_RING);
	ck_assert_msg(n == 16 || n == 15, "alloc of 20 on a 16-slot ring gave %u", n);
	k = n;
	ck_assert_int_eq(memif_get_queue_stats(p.s.conn, 0, 0, &qs), MEMIF_ERR_SUCCESS);
	ck_assert_uint_gt(qs.no_buf, 0);
	t_frame_fill_bufs(b, k, 0, 64, &bad);
	ck_assert_int_eq(memif_tx_burst(p.s.conn, 0, b, k, &tx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(tx, k);
	ck_assert_int_eq(memif_buffer_alloc(p.s.conn, 0, b, 1, &n, 64), MEMIF_ERR_NOBUF_RING);
	ck_assert_uint_eq(n, 0);

	/* The master consumes and gives back: room again. */
	ck_assert_int_eq(memif_rx_burst(p.m.conn, 0, b, 64, &rx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(rx, k);
	ck_assert_int_eq(memif_refill_queue(p.m.conn, 0, rx, 0), MEMIF_ERR_SUCCESS);
	mrq->next_seq = k;

	/* A packet that does not fit whole is not started: 3 x 5 buffers of 16 (or 15). */
	ck_assert_int_eq(memif_buffer_alloc(p.s.conn, 0, b, 4, &n, 9000), MEMIF_ERR_NOBUF_RING);
	ck_assert_uint_eq(n, 15);
	ck_assert_uint_eq(b[14].flags & MEMIF_BUFFER_FLAG_NEXT, 0);
	ck_assert_uint_eq(t_frame_fill_bufs(b, n, k, 9000, &bad), 3);
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(memif_tx_burst(p.s.conn, 0, b, n, &tx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(tx, 15);
	ck_assert_uint_eq(t_rx_drain(p.m.conn, 0, mrq), 3);
	ck_assert_uint_eq(mrq->bad + mrq->out_of_order, 0);
	ck_assert_uint_eq(mrq->last_len, 9000);

	/* M2S: the master is limited by what the slave refilled. */
	ck_assert_int_eq(memif_buffer_alloc(p.m.conn, 0, b, 20, &n, 64), MEMIF_ERR_NOBUF_RING);
	ck_assert_msg(n == 16 || n == 15, "master alloc of 20 on a 16-slot ring gave %u", n);
	k = n;
	t_frame_fill_bufs(b, k, 0, 64, &bad);
	ck_assert_int_eq(memif_tx_burst(p.m.conn, 0, b, k, &tx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(tx, k);
	ck_assert_int_eq(memif_buffer_alloc(p.m.conn, 0, b, 1, &n, 64), MEMIF_ERR_NOBUF_RING);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(memif_get_queue_stats(p.m.conn, 0, 0, &qs), MEMIF_ERR_SUCCESS);
	ck_assert_uint_gt(qs.no_buf, 0);
	ck_assert_uint_eq(t_rx_drain(p.s.conn, 0, srq), k);
	ck_assert_uint_eq(srq->bad + srq->out_of_order, 0);
	ck_assert_int_eq(memif_buffer_alloc(p.m.conn, 0, b, 4, &n, 64), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(n, 4);
	t_frame_fill_bufs(b, n, k, 64, &bad);
	ck_assert_int_eq(memif_tx_burst(p.m.conn, 0, b, n, &tx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(t_rx_drain(p.s.conn, 0, srq), 4);
	ck_assert_uint_eq(srq->bad + srq->out_of_order, 0);

	/* Nothing waiting: rx_burst takes nothing and says the ring is empty. */
	rx = 99;
	ck_assert_int_eq(memif_rx_burst(p.s.conn, 0, b, 64, &rx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(rx, 0);
	t_pair_close(&p);
}
END_TEST

START_TEST(test_refill_headroom)
{
	enum { RING = 16, HR = 128 };
	struct t_pair p;
	struct t_txq tq = { 0 };
	memif_buffer_t b[64];
	void *first_ptr[RING];
	uint32_t old_off[RING], old_len[RING];
	uint16_t rx = 0, n = 0, tx = 0;
	uint32_t bad = 0;
	memif_ring_details_t *ring_rd = t_ring_details_new(RING);

	t_pair_init(&p, "headroom");
	p.ma.log2_ring_size = p.sa.log2_ring_size = 4;
	p.ma.buffer_size = p.sa.buffer_size = 2048;
	t_pair_connect(&p, UP_MS);

	ck_assert_int_eq(memif_get_rx_ring_details(p.s.conn, ring_rd, 0, RING), MEMIF_ERR_SUCCESS);
	for (int i = 0; i < RING; i++) {
		old_off[i] = ring_rd->descs[i].offset;
		old_len[i] = ring_rd->descs[i].length;
	}

	/* Round 1: buffers refilled at connect, no headroom. */
	ck_assert_uint_eq(t_tx_frames(p.m.conn, 0, &tq, RING, 64, 64), RING);
	ck_assert_int_eq(memif_rx_burst(p.s.conn, 0, b, 64, &rx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(rx, RING);
	for (uint16_t i = 0; i < rx; i++) {
		ck_assert_uint_lt(b[i].desc_index, RING);
		first_ptr[b[i].desc_index] = b[i].data;
		ck_assert(t_frame_verify(b[i].data, b[i].len, i));
	}
	ck_assert_int_eq(memif_refill_queue(p.s.conn, 0, rx, HR), MEMIF_ERR_SUCCESS);

	/* The refilled descriptors start HR bytes into a buffer and are HR bytes
	 * shorter. A ring this small cycles through more buffers than slots
	 * (region.c), so the next lap uses other buffers than the first. */
	ck_assert_int_eq(memif_get_rx_ring_details(p.s.conn, ring_rd, 0, RING), MEMIF_ERR_SUCCESS);
	for (int i = 0; i < RING; i++) {
		ck_assert_uint_ge(ring_rd->descs[i].offset, HR);
		ck_assert_uint_eq((ring_rd->descs[i].offset - HR) % 2048, old_off[i] % 2048);
		ck_assert_uint_ne(ring_rd->descs[i].offset, old_off[i] + HR);
		ck_assert_uint_eq(ring_rd->descs[i].region, ring_rd->descs[0].region);
		ck_assert_uint_eq(ring_rd->descs[i].length, old_len[i] - HR);
	}

	/* Round 2: data lands HR bytes into each slot's next-lap buffer. */
	ck_assert_uint_eq(t_tx_frames(p.m.conn, 0, &tq, RING, 64, 64), RING);
	ck_assert_int_eq(memif_rx_burst(p.s.conn, 0, b, 64, &rx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(rx, RING);
	for (uint16_t i = 0; i < rx; i++) {
		uintptr_t d = (uintptr_t)b[i].data - HR, f = (uintptr_t)first_ptr[b[i].desc_index];

		ck_assert_uint_eq((d > f ? d - f : f - d) % 2048, 0);
		ck_assert_uint_ne(d, f);
		ck_assert(t_frame_verify(b[i].data, b[i].len, RING + i));
	}
	ck_assert_int_eq(memif_refill_queue(p.s.conn, 0, rx, HR), MEMIF_ERR_SUCCESS);

	/* The master sees the smaller buffers: 2048 bytes need two of them now. */
	ck_assert_int_eq(memif_buffer_alloc(p.m.conn, 0, b, 1, &n, 2048), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(b[0].len, 2048 - HR);
	ck_assert(b[0].flags & MEMIF_BUFFER_FLAG_NEXT);
	ck_assert_uint_eq(b[1].len, HR);
	ck_assert_uint_eq(t_frame_fill_bufs(b, n, 7777, 2048, &bad), 1);
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(memif_tx_burst(p.m.conn, 0, b, n, &tx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(tx, 2);
	t_ep_rxq(&p.s, 0)->next_seq = 7777;
	t_ep_rxq(&p.s, 0)->headroom = HR;
	ck_assert_uint_eq(t_rx_drain(p.s.conn, 0, t_ep_rxq(&p.s, 0)), 1);
	ck_assert_uint_eq(t_ep_rxq(&p.s, 0)->bad, 0);
	ck_assert_uint_eq(t_ep_rxq(&p.s, 0)->last_len, 2048);
	free(ring_rd);
	t_pair_close(&p);
}
END_TEST

/*
 * The master's view of free slots must be refreshed when a chained packet
 * needs more buffers than it remembers, not only when fewer packets than
 * asked fit: the ring here has all 16 slots free again.
 */
START_TEST(test_master_chain_after_refill)
{
	struct t_pair p;
	struct t_txq tq = { 0 };
	struct t_rxq *srq;
	memif_buffer_t b[16];
	uint16_t n = 0, tx = 0;
	uint32_t bad = 0;
	int err;
	memif_ring_details_t *ring_rd = t_ring_details_new(16);

	t_pair_init(&p, "stale");
	p.ma.log2_ring_size = p.sa.log2_ring_size = 4;
	p.ma.buffer_size = p.sa.buffer_size = 2048;
	t_pair_connect(&p, UP_MS);
	srq = t_ep_rxq(&p.s, 0);

	ck_assert_uint_eq(t_tx_frames(p.m.conn, 0, &tq, 14, 64, 14), 14);
	ck_assert_uint_eq(t_rx_drain(p.s.conn, 0, srq), 14);
	ck_assert_int_eq(memif_get_tx_ring_details(p.m.conn, ring_rd, 0, 16), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq((uint16_t)(ring_rd->head - ring_rd->tail), 16);

	err = memif_buffer_alloc(p.m.conn, 0, b, 1, &n, 5000);
	ck_assert_msg(err == MEMIF_ERR_SUCCESS && n == 3,
		      "master alloc of one 3-buffer packet with 16 free slots: %d (%s), %u buffers",
		      err, memif_strerror(err), n);
	ck_assert_uint_eq(t_frame_fill_bufs(b, n, 14, 5000, &bad), 1);
	ck_assert_int_eq(memif_tx_burst(p.m.conn, 0, b, n, &tx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(tx, 3);
	ck_assert_uint_eq(t_rx_drain(p.s.conn, 0, srq), 1);
	ck_assert_uint_eq(srq->bad + srq->out_of_order, 0);
	ck_assert_uint_eq(srq->last_len, 5000);
	free(ring_rd);
	t_pair_close(&p);
}
END_TEST

/* ---- introspection ------------------------------------------------------------------ */

static bool is_eventfd(int fd)
{
	char p[64], target[128];
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	n = readlink(p, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventfd]") == 0;
}

START_TEST(test_queue_efd)
{
	struct t_pair p;
	struct t_txq tq = { 0 };
	memif_buffer_t b[8];
	int mfd[2] = { -1, -1 }, sfd[2] = { -1, -1 };
	uint16_t rx = 0;

	t_pair_init(&p, "efd");
	p.ma.num_s2m_rings = p.sa.num_s2m_rings = 2;
	p.ma.num_m2s_rings = p.sa.num_m2s_rings = 2;
	t_pair_connect(&p, UP_MS);

	for (uint16_t q = 0; q < 2; q++) {
		ck_assert_int_eq(memif_get_queue_efd(p.m.conn, q, &mfd[q]), MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(memif_get_queue_efd(p.s.conn, q, &sfd[q]), MEMIF_ERR_SUCCESS);
		ck_assert_msg(is_eventfd(mfd[q]), "master queue %u fd %d is no eventfd", q, mfd[q]);
		ck_assert_msg(is_eventfd(sfd[q]), "slave queue %u fd %d is no eventfd", q, sfd[q]);
	}
	ck_assert_int_ne(mfd[0], mfd[1]);
	ck_assert_int_ne(sfd[0], sfd[1]);
	ck_assert_int_ne(mfd[0], sfd[0]);
	{
		int scratch = 12345;

		ck_assert_int_eq(memif_get_queue_efd(p.m.conn, 2, &scratch), MEMIF_ERR_QID);
	}

	/* Without running the loop: a kick makes exactly that queue's fd readable... */
	ck_assert(!t_fd_readable(mfd[0]) && !t_fd_readable(mfd[1]));
	ck_assert_uint_eq(t_tx_frames(p.s.conn, 1, &tq, 1, 64, 1), 1);
	ck_assert_msg(t_fd_readable(mfd[1]), "no interrupt written for master rx queue 1");
	ck_assert(!t_fd_readable(mfd[0]));
	/* ...and rx_burst clears it. */
	ck_assert_int_eq(memif_rx_burst(p.m.conn, 1, b, 8, &rx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(rx, 1);
	ck_assert(t_frame_verify(b[0].data, b[0].len, 0));
	ck_assert_msg(!t_fd_readable(mfd[1]), "rx_burst left the interrupt pending");
	ck_assert_int_eq(memif_refill_queue(p.m.conn, 1, rx, 0), MEMIF_ERR_SUCCESS);
	/* The loop watches the queue fds (interrupt mode). */
	ck_assert(t_loop_watches(&p.loop, mfd[0]) && t_loop_watches(&p.loop, sfd[1]));
	t_pair_close(&p);
}
END_TEST

START_TEST(test_ring_details)
{
	enum { RING = 32 };
	static const uint32_t sizes[] = { 64, 65, 100, 1500, 2048 };
	struct t_pair p;
	struct t_txq tq = { 0 };
	memif_details_t md;
	char buf[8192];
	uint16_t h0, t0;
	memif_ring_details_t *st_rd = t_ring_details_new(RING);
	memif_ring_details_t *mr_rd = t_ring_details_new(RING);

	t_pair_init(&p, "ringdet");
	p.ma.log2_ring_size = p.sa.log2_ring_size = 5;
	t_pair_connect(&p, UP_MS);
	ck_assert_int_eq(t_details(p.s.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);

	ck_assert_int_eq(memif_get_tx_ring_details(p.s.conn, st_rd, 0, RING), MEMIF_ERR_SUCCESS);
	ck_assert_ptr_nonnull(st_rd->offset);
	h0 = st_rd->head;
	t0 = st_rd->tail;
	ck_assert_uint_eq(h0, t0);
	for (size_t i = 0; i < 5; i++)
		ck_assert_uint_eq(t_tx_frames(p.s.conn, 0, &tq, 1, sizes[i], 1), 1);

	ck_assert_int_eq(memif_get_tx_ring_details(p.s.conn, st_rd, 0, RING), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(st_rd->head, (uint16_t)(h0 + 5));
	ck_assert_uint_eq(st_rd->tail, t0);
	for (uint16_t i = 0; i < 5; i++) {
		memif_desc_details_t *d = &st_rd->descs[(uint16_t)(h0 + i) % RING];

		ck_assert_uint_eq(d->length, sizes[i]);
		ck_assert_uint_eq(d->flags, 0);
		ck_assert_uint_lt(d->region, md.regions_num);
		ck_assert_uint_le((uint64_t)d->offset + d->length, md.regions[d->region].size);
	}

	/* The master reads the same shared ring. */
	ck_assert_int_eq(memif_get_rx_ring_details(p.m.conn, mr_rd, 0, RING), MEMIF_ERR_SUCCESS);
	ck_assert_ptr_nonnull(mr_rd->offset);
	ck_assert_uint_eq(mr_rd->head, st_rd->head);
	ck_assert_uint_eq(mr_rd->tail, st_rd->tail);
	for (uint16_t i = 0; i < 5; i++) {
		uint16_t slot = (uint16_t)(h0 + i) % RING;

		ck_assert_uint_eq(mr_rd->descs[slot].length, st_rd->descs[slot].length);
		ck_assert_uint_eq(mr_rd->descs[slot].offset, st_rd->descs[slot].offset);
		ck_assert_uint_eq(mr_rd->descs[slot].region, st_rd->descs[slot].region);
	}

	/* Consumed and given back: the master publishes tail. */
	ck_assert_uint_eq(t_rx_drain(p.m.conn, 0, t_ep_rxq(&p.m, 0)), 5);
	ck_assert_uint_eq(t_ep_rxq(&p.m, 0)->bad, 0);
	ck_assert_int_eq(memif_get_tx_ring_details(p.s.conn, st_rd, 0, RING), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(st_rd->tail, (uint16_t)(h0 + 5));
	ck_assert_int_eq(memif_get_rx_ring_details(p.m.conn, mr_rd, 0, RING), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(mr_rd->tail, (uint16_t)(h0 + 5));
	/* Queue details agree with the ring. */
	ck_assert_int_eq(t_details(p.s.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.tx_queues[0].head, (uint16_t)(h0 + 5));
	ck_assert_uint_eq(md.tx_queues[0].tail, (uint16_t)(h0 + 5));
	free(st_rd);
	free(mr_rd);
	t_pair_close(&p);
}
END_TEST

START_TEST(test_queue_stats)
{
	struct t_pair p;
	struct flow f[2];
	memif_queue_stats_t qs;

	t_pair_init(&p, "stats");
	t_pair_connect(&p, UP_MS);
	flow_init(&f[0], &p.s, &p.m, 0, 100, 100, 0);
	flow_init(&f[1], &p.m, &p.s, 0, 50, 5000, 0);
	run_flows(&p, f, 2);

	ck_assert_int_eq(memif_get_queue_stats(p.s.conn, 0, 0, &qs), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(qs.packets, 100);
	ck_assert_uint_eq(qs.bytes, 100 * 100);
	ck_assert_int_eq(memif_get_queue_stats(p.m.conn, 0, 1, &qs), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(qs.packets, 100);
	ck_assert_uint_eq(qs.bytes, 100 * 100);
	/* A chain counts once. */
	ck_assert_int_eq(memif_get_queue_stats(p.m.conn, 0, 0, &qs), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(qs.packets, 50);
	ck_assert_uint_eq(qs.bytes, 50 * 5000);
	ck_assert_int_eq(memif_get_queue_stats(p.s.conn, 0, 1, &qs), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(qs.packets, 50);
	ck_assert_uint_eq(qs.bytes, 50 * 5000);

	/* The master's counters survive a reconnect. */
	ck_assert_int_eq(memif_delete(&p.s.conn), MEMIF_ERR_SUCCESS);
	T_LOOP_UNTIL(&p.loop, !p.m.up, 2000);
	ck_assert(!p.m.up);
	t_ep_free(&p.s);
	memset(&p.s, 0, sizeof(p.s));
	ck_assert_int_eq(t_ep_create(&p.s, &p.sa), MEMIF_ERR_SUCCESS);
	T_LOOP_UNTIL(&p.loop, p.m.up && p.s.up, UP_MS);
	ck_assert(p.m.up && p.s.up);
	flow_init(&f[0], &p.s, &p.m, 0, 10, 100, 0);
	run_flows(&p, f, 1);
	ck_assert_int_eq(memif_get_queue_stats(p.m.conn, 0, 1, &qs), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(qs.packets, 110);
	ck_assert_uint_eq(qs.bytes, 110 * 100);
	ck_assert_int_eq(memif_get_queue_stats(p.s.conn, 0, 0, &qs), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(qs.packets, 10);
	t_pair_close(&p);
}
END_TEST

/* ---- external regions (slave-side zero copy) ------------------------------------------- */

#define EXT_BSIZE 2048
#define EXT_RING 32

static struct {
	int n_add, n_get, n_del, n_off;
	int del_bad;      /* del for memory we do not know, or fd already closed */
	void *addr;
	uint32_t size;
	int fd;
	uint32_t next_rx; /* next rx buffer handed out by ext_offset */
	int bad_in;       /* > 0: the bad_in-th next call returns an offset past the region */
	uint32_t handed[EXT_RING]; /* offsets handed out, by slot of use */
} ext;

static int ext_add(void **addr, uint32_t size, int *fd, void *private_ctx)
{
	int mfd;
	void *a;

	(void)private_ctx;
	ext.n_add++;
	if (ext.addr != NULL)
		return -1; /* one buffer region expected */
	mfd = memfd_create("t-ext", MFD_CLOEXEC | MFD_ALLOW_SEALING); /* the master can seal it */
	if (mfd < 0)
		return -1;
	if (ftruncate(mfd, size) != 0) {
		close(mfd);
		return -1;
	}
	a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (a == MAP_FAILED) {
		close(mfd);
		return -1;
	}
	ext.addr = a;
	ext.size = size;
	ext.fd = mfd;
	*addr = a;
	*fd = mfd;
	return 0;
}

static void *ext_get(uint32_t size, int fd, void *private_ctx)
{
	(void)size;
	(void)fd;
	(void)private_ctx;
	ext.n_get++; /* registered on the slave socket only: never expected */
	return NULL;
}

static int ext_del(void *addr, uint32_t size, int fd, void *private_ctx)
{
	(void)private_ctx;
	ext.n_del++;
	if (addr != ext.addr || size != ext.size || fd != ext.fd) {
		ext.del_bad++;
		return -1;
	}
	munmap(addr, size);
	if (close(fd) != 0)
		ext.del_bad++; /* the library closed our fd */
	ext.addr = NULL;
	ext.fd = -1;
	return 0;
}

/* Receive buffers live in the first half of the region, cycled FIFO. */
static uint32_t ext_offset(void *private_ctx)
{
	uint32_t off = (ext.next_rx % EXT_RING) * EXT_BSIZE;

	(void)private_ctx;
	if (ext.bad_in > 0 && --ext.bad_in == 0)
		return ext.size; /* outside the region: refused */
	ext.handed[ext.next_rx % EXT_RING] = off;
	ext.next_rx++;
	ext.n_off++;
	return off;
}

static bool ext_handed(uint32_t off)
{
	uint32_t n = ext.next_rx < EXT_RING ? ext.next_rx : EXT_RING;

	for (uint32_t i = 0; i < n; i++) {
		if (ext.handed[i] == off)
			return true;
	}
	return false;
}

START_TEST(test_external_region)
{
	struct t_pair p;
	memif_details_t md;
	char buf[8192];
	memif_buffer_t b[EXT_RING];
	struct t_rxq *mrq;
	struct t_txq tq = { 0 };
	bool found = false;
	uint32_t tx_slot = 0, seq = 0;

	memset(&ext, 0, sizeof(ext));
	/* The library reads `queue` of each buffer given to enq_tx (is it a
	 * received one?): app memory starts with none, not stack garbage. */
	memset(b, 0, sizeof(b));
	ext.fd = -1;
	t_pair_init(&p, "external");
	p.ma.log2_ring_size = p.sa.log2_ring_size = 5;
	p.ma.buffer_size = p.sa.buffer_size = EXT_BSIZE;
	t_pair_sockets(&p);
	memif_register_external_region(p.ssock, ext_add, ext_get, ext_del, ext_offset);
	t_pair_connect(&p, UP_MS);

	ck_assert_int_eq(ext.n_add, 1);
	ck_assert_ptr_nonnull(ext.addr);
	/* Room for a ring's worth of buffers per ring (1 S2M + 1 M2S). */
	ck_assert_uint_ge(ext.size, 2 * EXT_RING * EXT_BSIZE);
	ck_assert_msg(ext.n_off > 0, "the connect-time refill did not ask for buffer offsets");
	ck_assert_int_eq(ext.n_get, 0);

	ck_assert_int_eq(t_details(p.s.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	for (uint8_t i = 0; i < md.regions_num; i++) {
		if (md.regions[i].is_external) {
			ck_assert_ptr_eq(md.regions[i].addr, ext.addr);
			ck_assert_uint_eq(md.regions[i].size, ext.size);
			found = true;
		}
	}
	ck_assert_msg(found, "no external region in the slave's details");
	ck_assert_int_eq(t_details(p.m.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	for (uint8_t i = 0; i < md.regions_num; i++)
		ck_assert_uint_eq(md.regions[i].is_external, 0);

	/* Slave -> master from app-owned buffers (second half of the region). */
	mrq = t_ep_rxq(&p.m, 0);
	p.m.rx_on_interrupt = true;
	for (int round = 0; round < 4; round++) {
		uint16_t n = 0, tx = 0;

		for (int i = 0; i < 16; i++) {
			uint32_t off = ext.size / 2 + (tx_slot++ % EXT_RING) * EXT_BSIZE;

			b[i].data = (uint8_t *)ext.addr + off;
			b[i].len = 64 + (uint32_t)i;
			b[i].flags = 0;
			t_frame_fill(b[i].data, b[i].len, seq++);
		}
		ck_assert_int_eq(memif_buffer_enq_tx(p.s.conn, 0, b, 16, &n), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(n, 16);
		ck_assert_int_eq(memif_tx_burst(p.s.conn, 0, b, n, &tx), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(tx, 16);
		T_LOOP_UNTIL(&p.loop, mrq->packets == 16u * (uint32_t)(round + 1), 2000);
		ck_assert_uint_eq(mrq->packets, 16u * (uint32_t)(round + 1));
	}
	ck_assert_uint_eq(mrq->bad + mrq->out_of_order, 0);
	ck_assert_int_eq(mrq->last_err, 0);

	/* Master -> slave: received into buffers the app handed out. */
	for (int round = 0; round < 4; round++) {
		uint16_t rx = 0;

		ck_assert_uint_eq(t_tx_frames(p.m.conn, 0, &tq, 16, 200, 16), 16);
		ck_assert_int_eq(memif_rx_burst(p.s.conn, 0, b, EXT_RING, &rx), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(rx, 16);
		for (uint16_t i = 0; i < rx; i++) {
			uint8_t *d = b[i].data;

			ck_assert_msg(d >= (uint8_t *)ext.addr &&
					      d + b[i].len <= (uint8_t *)ext.addr + ext.size,
				      "rx buffer %p outside the external region", b[i].data);
			ck_assert_msg(ext_handed((uint32_t)(d - (uint8_t *)ext.addr)),
				      "rx buffer at offset %lu was not handed out by the app",
				      (unsigned long)(d - (uint8_t *)ext.addr));
			ck_assert(t_frame_verify(d, b[i].len, 16u * (uint32_t)round + i));
		}
		ck_assert_int_eq(memif_refill_queue(p.s.conn, 0, rx, 0), MEMIF_ERR_SUCCESS);
	}

	/* A bad offset midway: the buffers handed out before it are offered
	 * (head moves by 3), the refill reports INVAL_ARG. */
	{
		memif_ring_details_t *rd = t_ring_details_new(EXT_RING);
		uint16_t rx = 0, head;

		ck_assert_uint_eq(t_tx_frames(p.m.conn, 0, &tq, 16, 200, 16), 16);
		ck_assert_int_eq(memif_rx_burst(p.s.conn, 0, b, EXT_RING, &rx), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(rx, 16);
		ck_assert_int_eq(memif_get_rx_ring_details(p.s.conn, rd, 0, EXT_RING),
				 MEMIF_ERR_SUCCESS);
		head = rd->head;
		ext.bad_in = 4;
		ck_assert_int_eq(memif_refill_queue(p.s.conn, 0, rx, 0), MEMIF_ERR_INVAL_ARG);
		ck_assert_int_eq(memif_get_rx_ring_details(p.s.conn, rd, 0, EXT_RING),
				 MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq((uint16_t)(rd->head - head), 3);
		free(rd);
	}

	/* The app's region goes back to the app on delete. */
	ck_assert_int_eq(memif_delete(&p.s.conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(ext.n_del, 1);
	ck_assert_int_eq(ext.del_bad, 0);
	ck_assert_ptr_null(ext.addr);
	t_pair_close(&p);
}
END_TEST

static Suite *datapath_suite(void)
{
	Suite *s = suite_create("datapath");
	TCase *tc;

	tc = t_tcase("frames", 30);
	tcase_add_test(tc, test_small_frames_both_ways);
	tcase_add_test(tc, test_chained_frames);
	tcase_add_test(tc, test_odd_buffer_size);
	tcase_add_test(tc, test_max_ring);
	tcase_add_test(tc, test_several_regions);
	tcase_add_test(tc, test_buffer_laps);
	tcase_add_test(tc, test_slave_moved_data);
	suite_add_tcase(s, tc);

	tc = t_tcase("queues", 30);
	tcase_add_test(tc, test_multi_queue);
	tcase_add_test(tc, test_interrupt_qid);
	tcase_add_loop_test(tc, test_polling_mode, 0, 2);
	suite_add_tcase(s, tc);

	tc = t_tcase("rings", 30);
	tcase_add_test(tc, test_ring_full);
	tcase_add_test(tc, test_refill_headroom);
	tcase_add_test(tc, test_master_chain_after_refill);
	tcase_add_test(tc, test_queue_efd);
	tcase_add_test(tc, test_ring_details);
	tcase_add_test(tc, test_queue_stats);
	suite_add_tcase(s, tc);

	tc = t_tcase("external", 30);
	tcase_add_test(tc, test_external_region);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(datapath_suite());
}
