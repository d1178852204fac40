/* SPDX-License-Identifier: MIT */
/*
 * check_thread.c - the data path from worker threads, one per queue and
 * side (4 queues each way): master and slave in one process, control on the
 * main thread (running the loop all along), every receive queue in polling
 * mode. Each worker sends on its interface's tx queue q and receives on its
 * rx queue q, so every ring has its producer and its consumer on different
 * threads. Counts and bytes are verified per queue. Runs in the TSan stage.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#if T_UNDER_TSAN
#define FRAMES 4000u  /* TSan is slow: about 15 trips around each ring */
#define RUN_MS 90000
#else
#define FRAMES 70000u /* the 16-bit ring indexes wrap */
#define RUN_MS 30000
#endif

#define QUEUES 4

/*
 * The run's time budget. MEMIF_TEST_TIME_SCALE (an integer, 1 to 20)
 * stretches it for slow runners: test/valgrind.sh sets it, since memcheck
 * runs one thread at a time and the 70 000 frames per worker take about as
 * long as the unscaled budget there.
 */
static int64_t run_ms(void)
{
	const char *env = getenv("MEMIF_TEST_TIME_SCALE");
	long scale = env ? strtol(env, NULL, 10) : 1;

	if (scale < 1 || scale > 20)
		scale = 1;
	return (int64_t)RUN_MS * scale;
}

struct worker {
	pthread_t th;
	memif_conn_handle_t conn;
	uint16_t qid;
	uint32_t size;
	struct t_txq tq;
	struct t_rxq *rq;
	atomic_int *finished;
	bool timed_out;
	int64_t deadline;
	uint32_t idle_spins;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (w->tq.packets < FRAMES || w->rq->packets + w->rq->bad < FRAMES) {
		uint32_t sent = 0, got;

		if (t_now_ms() > w->deadline) {
			w->timed_out = true;
			break;
		}
		if (w->tq.packets < FRAMES && w->tq.last_err == 0)
			sent = t_tx_frames(w->conn, w->qid, &w->tq,
					   FRAMES - (uint32_t)w->tq.packets, w->size, 32);
		got = t_rx_drain(w->conn, w->qid, w->rq);
		if (sent == 0 && got == 0) {
			w->idle_spins++;
			sched_yield();
		}
	}
	atomic_fetch_add(w->finished, 1);
	return NULL;
}

START_TEST(test_worker_per_queue)
{
	struct t_pair p;
	struct worker w[2 * QUEUES];
	atomic_int finished = 0;
	memif_queue_stats_t qs;
	int irq_before;
	int64_t deadline;

	t_pair_init(&p, "threads");
	p.ma.num_s2m_rings = p.sa.num_s2m_rings = QUEUES;
	p.ma.num_m2s_rings = p.sa.num_m2s_rings = QUEUES;
	p.ma.log2_ring_size = p.sa.log2_ring_size = 8;
	p.ma.buffer_size = p.sa.buffer_size = 2048;
	t_pair_connect(&p, 3000);

	/* Control thread: polling mode everywhere, receive state allocated here. */
	for (uint16_t q = 0; q < QUEUES; q++) {
		ck_assert_int_eq(memif_set_rx_mode(p.m.conn, MEMIF_RX_MODE_POLLING, q),
				 MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(memif_set_rx_mode(p.s.conn, MEMIF_RX_MODE_POLLING, q),
				 MEMIF_ERR_SUCCESS);
	}

	irq_before = p.m.n_irq_total + p.s.n_irq_total;
	memset(w, 0, sizeof(w));
	deadline = t_deadline(run_ms());
	for (uint16_t i = 0; i < 2 * QUEUES; i++) {
		bool master = i >= QUEUES;
		struct t_ep *ep = master ? &p.m : &p.s;
		struct worker *x = &w[i];

		x->conn = ep->conn;
		x->qid = (uint16_t)(i % QUEUES);
		/* Sizes differ per queue; queue 3 uses 3-buffer chains. */
		x->size = x->qid == 3 ? 5000u : 64u + 100u * x->qid;
		x->tq.next_seq = 0;
		x->rq = t_ep_rxq(ep, x->qid);
		memset(x->rq, 0, sizeof(*x->rq));
		x->finished = &finished;
		x->deadline = deadline;
	}
	for (int i = 0; i < 2 * QUEUES; i++)
		ck_assert_int_eq(pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);

	/* The control thread keeps serving the sockets meanwhile. */
	T_LOOP_UNTIL(&p.loop, atomic_load(&finished) == 2 * QUEUES, run_ms() + 5000);
	for (int i = 0; i < 2 * QUEUES; i++)
		ck_assert_int_eq(pthread_join(w[i].th, NULL), 0);
	ck_assert_int_eq(atomic_load(&finished), 2 * QUEUES);
	ck_assert(p.m.up && p.s.up);
	ck_assert_int_eq(p.m.n_disconnect + p.s.n_disconnect, 0);

	for (int i = 0; i < 2 * QUEUES; i++) {
		struct worker *x = &w[i];
		const char *who = i >= QUEUES ? "master" : "slave";
		/* The peer's worker on the same qid sent what this one received. */
		uint32_t peer_size = w[(i + QUEUES) % (2 * QUEUES)].size;

		ck_assert_msg(!x->timed_out, "%s worker %u timed out: sent %llu, received %llu", who,
			      x->qid, (unsigned long long)x->tq.packets,
			      (unsigned long long)x->rq->packets);
		ck_assert_msg(x->tq.last_err == 0, "%s worker %u: tx error %d", who, x->qid,
			      x->tq.last_err);
		ck_assert_msg(x->rq->last_err == 0, "%s worker %u: rx error %d", who, x->qid,
			      x->rq->last_err);
		ck_assert_uint_eq(x->tq.packets, FRAMES);
		ck_assert_uint_eq(x->rq->packets, FRAMES);
		ck_assert_uint_eq(x->rq->bad, 0);
		ck_assert_uint_eq(x->rq->out_of_order, 0);
		ck_assert_uint_eq(x->rq->oversize, 0);
		ck_assert_uint_eq(x->tq.bad_alloc_len, 0);
		ck_assert_uint_eq(x->tq.partial_tx, 0);
		ck_assert_uint_eq(x->rq->bytes, (uint64_t)FRAMES * peer_size);

		/* The library's own counters agree. */
		ck_assert_int_eq(memif_get_queue_stats(x->conn, x->qid, 0, &qs), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(qs.packets, FRAMES);
		ck_assert_uint_eq(qs.bytes, (uint64_t)FRAMES * x->size);
		ck_assert_int_eq(memif_get_queue_stats(x->conn, x->qid, 1, &qs), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(qs.packets, FRAMES);
		ck_assert_uint_eq(qs.bytes, (uint64_t)FRAMES * peer_size);
	}
	/* Polling mode: nobody was signalled. */
	ck_assert_int_eq(p.m.n_irq_total + p.s.n_irq_total, irq_before);
	t_pair_close(&p);
}
END_TEST

static Suite *thread_suite(void)
{
	Suite *s = suite_create("thread");
	TCase *tc = t_tcase("workers", (double)run_ms() / 1000 + 30);

	tcase_add_test(tc, test_worker_per_queue);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(thread_suite());
}
