/* SPDX-License-Identifier: MIT */
/*
 * check_thread_adaptive.c - adaptive receive against a sender on another
 * thread: no wake-up is ever lost, whatever the traffic makes the queue
 * decide. Master and slave in one process, control on the main thread.
 *
 * The receiver thread does what an app does in adaptive mode: it waits in
 * epoll on the queue's eventfd (memif_get_queue_efd, no on_interrupt) and
 * then drains the ring until memif_rx_burst returns SUCCESS with nothing.
 * The sender thread mixes floods (the queue masks), single frames a few
 * microseconds apart (it may try spinning, and give up), and pauses of a
 * millisecond or more (it unmasks and sleeps), so the queue switches both
 * ways many times while frames are being published.
 *
 * A lost wake-up is caught without guessing at timings: the sender counts
 * a frame as sent only after memif_tx_burst returned (it has published and
 * kicked, or seen the mask). When the receiver's wait times out, it takes
 * that count; if frames it counts as sent have not arrived and the eventfd
 * is still not readable, the library has stranded them: either their kick
 * was lost or the ring was masked with no interrupt pending. Runs in the
 * TSan stage (the name has "thread" in it).
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#if T_UNDER_TSAN
#define FRAMES 30000u
#define RUN_MS 90000
#else
#define FRAMES 100000u
#define RUN_MS 30000
#endif
#define WAIT_MS 1 /* how often a waiting receiver checks for stranded frames */

struct run {
	memif_conn_handle_t tx_conn, rx_conn;
	struct t_txq tq;
	struct t_rxq *rq;
	atomic_ulong sent; /* frames whose memif_tx_burst has returned */
	atomic_int tx_done;
	atomic_int rx_done;
	int efd;
	int64_t deadline;
	unsigned stranded; /* waits that ended with sent frames missing and no interrupt */
	unsigned wakes;
	bool timed_out;
};

static void spin_us(unsigned us)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000ll + (t.tv_nsec - t0.tv_nsec) < us * 1000ll);
}

/* Send n frames, at most `burst` per call, retrying while the ring is full. */
static void send_n(struct run *r, uint32_t n, uint16_t burst)
{
	while (n > 0 && r->tq.last_err == 0 && t_now_ms() < r->deadline) {
		uint32_t got = t_tx_frames(r->tx_conn, 0, &r->tq, n, 64, burst);

		atomic_store_explicit(&r->sent, r->tq.packets, memory_order_release);
		n -= got;
		if (got == 0)
			sched_yield();
	}
}

static void *sender_main(void *arg)
{
	struct run *r = arg;
	uint32_t seed = 7;

	while (r->tq.packets < FRAMES && r->tq.last_err == 0 && t_now_ms() < r->deadline) {
		uint32_t left = FRAMES - (uint32_t)r->tq.packets, k;

		seed = seed * 1103515245u + 12345u;
		switch ((seed >> 16) % 8) {
		case 0: /* a flood */
			send_n(r, left < 300u ? left : 300u, 32);
			break;
		case 1: /* frames a few microseconds apart */
			for (k = 0; k < 50 && k < left; k++) {
				send_n(r, 1, 1);
				spin_us(1 + (seed >> 8) % 30);
			}
			break;
		case 2: /* a pause: the receiver unmasks and sleeps */
			send_n(r, 1, 1);
			t_sleep_ms(1 + (int)((seed >> 8) % 3));
			break;
		default:
			/* A flood (the receiver masks), a gap around the time
			 * it takes to drain it and spin (the next frame may land
			 * just as it unmasks), then a pause: a frame stranded
			 * there would wait all of it. */
			if (left < 401)
				break;
			send_n(r, 400, 32);
			spin_us(6 + (seed >> 12) % 16);
			send_n(r, 1, 1);
			t_sleep_ms(2);
			break;
		}
	}
	atomic_store(&r->tx_done, 1);
	return NULL;
}

static void *receiver_main(void *arg)
{
	struct run *r = arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };

	ck_assert_int_ge(ep, 0);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, r->efd, &ev), 0);
	while (r->rq->packets + r->rq->bad < FRAMES && t_now_ms() < r->deadline) {
		int k = epoll_wait(ep, &ev, 1, WAIT_MS);

		if (k == 0) {
			/* Frames whose tx_burst returned before this look. */
			unsigned long sent = atomic_load_explicit(&r->sent, memory_order_acquire);

			if (r->rq->packets + r->rq->bad < sent && !t_fd_readable(r->efd))
				r->stranded++;
			/* Take them anyway, to see how many more it strands. */
		} else {
			r->wakes++;
		}
		(void)t_rx_drain(r->rx_conn, 0, r->rq);
	}
	r->timed_out = r->rq->packets + r->rq->bad < FRAMES;
	close(ep);
	atomic_store(&r->rx_done, 1);
	return NULL;
}

static void adaptive_threads(bool slave_receives)
{
	struct t_pair p;
	struct t_ep *tx_ep, *rx_ep;
	memif_conn_args_t *rx_args;
	struct run r;
	pthread_t tx_th, rx_th;

	memset(&r, 0, sizeof(r));
	t_pair_init(&p, slave_receives ? "adth-s" : "adth-m");
	t_pair_sockets(&p);
	p.ma.socket = p.msock;
	p.sa.socket = p.ssock;
	p.ma.log2_ring_size = p.sa.log2_ring_size = 9;
	tx_ep = slave_receives ? &p.m : &p.s;
	rx_ep = slave_receives ? &p.s : &p.m;
	rx_args = slave_receives ? &p.sa : &p.ma;
	/* The master first, as t_pair_connect does. No on_interrupt for the
	 * receiver: its eventfd is the worker's alone. */
	if (slave_receives)
		ck_assert_int_eq(t_ep_create(&p.m, &p.ma), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_create(&rx_ep->conn, rx_args, t_on_connect, t_on_disconnect, NULL,
				      rx_ep),
			 MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_set_rx_mode(rx_ep->conn, MEMIF_RX_MODE_ADAPTIVE, 0),
			 MEMIF_ERR_SUCCESS);
	if (!slave_receives)
		ck_assert_int_eq(t_ep_create(&p.s, &p.sa), MEMIF_ERR_SUCCESS);
	T_LOOP_UNTIL(&p.loop, p.m.up && p.s.up, 5000);
	ck_assert(p.m.up && p.s.up);
	ck_assert_int_eq(memif_get_queue_efd(rx_ep->conn, 0, &r.efd), MEMIF_ERR_SUCCESS);

	r.tx_conn = tx_ep->conn;
	r.rx_conn = rx_ep->conn;
	r.rq = t_ep_rxq(rx_ep, 0);
	r.deadline = t_deadline(RUN_MS);
	ck_assert_int_eq(pthread_create(&rx_th, NULL, receiver_main, &r), 0);
	ck_assert_int_eq(pthread_create(&tx_th, NULL, sender_main, &r), 0);
	/* The control thread keeps serving the sockets meanwhile. */
	T_LOOP_UNTIL(&p.loop, atomic_load(&r.tx_done) && atomic_load(&r.rx_done), RUN_MS + 5000);
	ck_assert_int_eq(pthread_join(tx_th, NULL), 0);
	ck_assert_int_eq(pthread_join(rx_th, NULL), 0);

	ck_assert_int_eq(r.tq.last_err, 0);
	ck_assert_uint_eq(r.tq.packets, FRAMES);
	ck_assert_msg(r.stranded == 0,
		      "%u times frames the sender had published waited with no interrupt",
		      r.stranded);
	ck_assert_msg(!r.timed_out, "received %llu of %u frames", (unsigned long long)r.rq->packets,
		      FRAMES);
	ck_assert_uint_eq(r.rq->packets, FRAMES);
	ck_assert_uint_eq(r.rq->bad + r.rq->out_of_order, 0);
	ck_assert_int_eq(r.rq->last_err, 0);
	ck_assert_uint_gt(r.wakes, 0);
	ck_assert_int_eq(p.m.n_disconnect + p.s.n_disconnect, 0);
	t_pair_close(&p);
}

START_TEST(test_adaptive_threads_slave_receives)
{
	adaptive_threads(true);
}
END_TEST

START_TEST(test_adaptive_threads_master_receives)
{
	adaptive_threads(false);
}
END_TEST

static Suite *thread_adaptive_suite(void)
{
	Suite *s = suite_create("thread_adaptive");
	TCase *tc = t_tcase("switching", 2 * (RUN_MS / 1000) + 30);

	tcase_add_test(tc, test_adaptive_threads_slave_receives);
	tcase_add_test(tc, test_adaptive_threads_master_receives);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(thread_adaptive_suite());
}
