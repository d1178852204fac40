/* SPDX-License-Identifier: MIT */
/*
 * check_thread_rules.c - the threading rules of issue 13, each with a
 * worker thread beside the control thread (so the TSan stage checks them):
 *
 *   polling_before_connect  a master makes rx queue 0 polling before the
 *                           link exists; a hostile slave kicks both queues
 *                           on every packet anyway. on_interrupt runs for
 *                           queue 1 only (and drains it on the control
 *                           thread) while a worker polls queue 0; the
 *                           ring of queue 0 carries MASK_INT from connect.
 *   stats_while_bursting    memif_get_queue_stats read in a loop on the
 *                           control thread while a worker bursts: counters
 *                           never go back, and end equal to what was sent.
 *   efd_watched_by_irq_only the library hands rx eventfds to the app's loop
 *                           only for an interface with on_interrupt.
 *   selfpoll_efd_wakeups    self-poll mode: memif_poll_event on the control
 *                           thread, a worker blocked in epoll on the queue's
 *                           eventfd (memif_get_queue_efd) echoes every frame;
 *                           the peer sends one frame at a time and waits for
 *                           its echo, so a single lost wake-up fails.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "helpers.h"
#include "hostile.h"

#define WAIT_MS 3000
#define LOG2 6
#define RING (1u << LOG2)

#if T_UNDER_TSAN
#define IRQ_FRAMES 200u
#define STAT_FRAMES 20000u
#else
#define IRQ_FRAMES 1000u
#define STAT_FRAMES 200000u
#endif
#define ECHO_ROUNDS 1000u
#define ECHO_WAIT_MS 2000

/* ---- a worker polling one rx queue ------------------------------------------------ */

struct poller {
	pthread_t th;
	memif_conn_handle_t conn;
	uint16_t qid;
	struct t_rxq rq;
	uint32_t want;
	atomic_bool stop;
	atomic_uint_fast64_t got; /* rq.packets, for the control thread */
};

static void *poller_main(void *arg)
{
	struct poller *p = arg;

	while (!atomic_load(&p->stop) && p->rq.packets + p->rq.bad < p->want) {
		if (t_rx_drain(p->conn, p->qid, &p->rq) == 0)
			sched_yield();
		atomic_store(&p->got, p->rq.packets);
	}
	return NULL;
}

/* ---- polling chosen before connect -------------------------------------------------- */

struct irq_env {
	struct t_loop loop;
};

static void irq_pump(void *arg)
{
	struct irq_env *e = arg;

	t_loop_run_once(&e->loop, 1);
}

/* Put frame `seq` on the hostile slave's s2m ring r, then kick, whatever the ring's flags say. */
static void hostile_send(struct h_slave *hs, uint16_t r, uint32_t seq, struct t_loop *loop)
{
	memif_ring_t *ring = h_slave_ring(hs, true, r);
	uint16_t head = ring->head; /* only we write it */
	uint16_t slot = head & (RING - 1);
	uint32_t len = 64 + r * 100;
	memif_desc_t *d = &ring->desc[slot];
	uint64_t one = 1;
	int64_t dl = t_deadline(WAIT_MS);

	/* Room: the master gives slots back by moving tail. */
	while ((uint16_t)(head - h_load_acquire16(&ring->tail)) >= RING && t_now_ms() < dl)
		t_loop_run_once(loop, 1);
	ck_assert_msg((uint16_t)(head - h_load_acquire16(&ring->tail)) < RING,
		      "ring %u: the master never gave slots back", r);
	t_frame_fill(h_slave_buf(hs, true, r, slot), len, seq);
	d->flags = 0;
	d->region = 1;
	d->offset = h_slave_buf_off(hs, true, r, slot);
	d->length = len;
	h_store_release16(&ring->head, (uint16_t)(head + 1));
	ck_assert_int_eq(write(hs->irq_fd[r], &one, sizeof(one)), (int)sizeof(one));
}

START_TEST(test_polling_before_connect)
{
	struct irq_env e;
	struct h_pump pump = { .fn = irq_pump, .arg = &e };
	char path[108];
	memif_socket_handle_t sock;
	memif_socket_args_t sa;
	memif_conn_args_t ca;
	struct t_ep ep = { .name = "master", .rx_on_interrupt = true };
	struct h_slave hs;
	struct poller *w = calloc(1, sizeof(*w));
	struct t_rxq *rq1;
	int dispatch_before;

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(t_loop_init(&e.loop), 0);
	t_sock_path(path, sizeof(path), "irq");
	t_socket_args(&sa, path, "ours", &e.loop);
	ck_assert_int_eq(memif_create_socket(&sock, &sa, &e.loop), MEMIF_ERR_SUCCESS);
	t_conn_args(&ca, sock, true, 0, "ours-if");
	ca.num_s2m_rings = 2; /* our receive queues */
	ca.num_m2s_rings = 1;
	ca.log2_ring_size = LOG2;
	ca.buffer_size = 2048;
	ck_assert_int_eq(t_ep_create(&ep, &ca), MEMIF_ERR_SUCCESS);

	/* While down: recorded for configured queues, QID beyond them. */
	ck_assert_int_eq(memif_set_rx_mode(ep.conn, MEMIF_RX_MODE_POLLING, 0), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_set_rx_mode(ep.conn, MEMIF_RX_MODE_POLLING, 2), MEMIF_ERR_QID);

	ck_assert_int_eq(h_slave_init(&hs, 2, 1, LOG2, 2048, H_MEM_SEALED), 0);
	hs.fd = h_connect(path);
	ck_assert_int_ge(hs.fd, 0);
	ck_assert_int_eq(h_slave_handshake(&hs, 0, NULL, H_SL_CONNECTED, WAIT_MS, &pump), 0);
	T_LOOP_UNTIL(&e.loop, ep.up, WAIT_MS);
	ck_assert(ep.up);
	ck_assert_int_eq(ep.refill_err, 0);
	/* Applied at connect: the peer is told not to kick queue 0, and only it. */
	ck_assert(h_slave_ring(&hs, true, 0)->flags & MEMIF_RING_FLAG_MASK_INT);
	ck_assert(!(h_slave_ring(&hs, true, 1)->flags & MEMIF_RING_FLAG_MASK_INT));

	/* The worker owns queue 0 from now on; on_interrupt drains queue 1 here. */
	w->conn = ep.conn;
	w->qid = 0;
	w->want = IRQ_FRAMES;
	ck_assert_int_eq(pthread_create(&w->th, NULL, poller_main, w), 0);
	rq1 = t_ep_rxq(&ep, 1);
	for (uint32_t i = 0; i < IRQ_FRAMES; i++) {
		hostile_send(&hs, 0, i, &e.loop);
		hostile_send(&hs, 1, i, &e.loop);
		t_loop_run_once(&e.loop, 0);
	}
	T_LOOP_UNTIL(&e.loop, rq1->packets >= IRQ_FRAMES && atomic_load(&w->got) >= IRQ_FRAMES,
		     WAIT_MS);
	atomic_store(&w->stop, true);
	ck_assert_int_eq(pthread_join(w->th, NULL), 0);

	ck_assert_msg(ep.n_irq[0] == 0, "on_interrupt ran %d times for the polling queue",
		      ep.n_irq[0]);
	ck_assert_int_gt(ep.n_irq[1], 0);
	ck_assert_int_eq(ep.irq_bad_qid, 0);
	ck_assert_uint_eq(rq1->packets, IRQ_FRAMES);
	ck_assert_uint_eq(rq1->bad, 0);
	ck_assert_uint_eq(rq1->out_of_order, 0);
	ck_assert_int_eq(rq1->last_err, 0);
	ck_assert_uint_eq(w->rq.packets, IRQ_FRAMES);
	ck_assert_uint_eq(w->rq.bad, 0);
	ck_assert_uint_eq(w->rq.out_of_order, 0);
	ck_assert_int_eq(w->rq.last_err, 0);

	/* Queue 0's kicks were swallowed, not left pending: the loop is quiet now. */
	dispatch_before = e.loop.n_dispatch;
	t_loop_run_for(&e.loop, 200);
	ck_assert_msg(e.loop.n_dispatch - dispatch_before < 20,
		      "%d dispatches in 200 ms with no traffic",
		      e.loop.n_dispatch - dispatch_before);
	ck_assert_int_eq(ep.n_irq[0], 0);
	ck_assert_int_eq(ep.n_disconnect, 0);

	h_slave_fini(&hs);
	ck_assert_int_eq(memif_delete(&ep.conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete_socket(&sock), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(e.loop.nfds, 0);
	t_ep_free(&ep);
	t_loop_fini(&e.loop);
	free(w);
}
END_TEST

/* ---- statistics read while a worker bursts ------------------------------------------- */

struct burster {
	pthread_t th;
	memif_conn_handle_t tx_conn, rx_conn;
	struct t_txq tq;
	struct t_rxq rq;
	atomic_bool done;
	atomic_uint reads; /* stats reads by the control thread so far */
};

static void *burster_main(void *arg)
{
	struct burster *b = arg;
	int64_t dl = t_deadline(60000);

	bool waited = false;

	while ((b->tq.packets < STAT_FRAMES || b->rq.packets < STAT_FRAMES) && t_now_ms() < dl &&
	       b->tq.last_err == 0 && b->rq.last_err == 0) {
		uint32_t sent = 0;

		/* Halfway, let the reader catch up: some of its reads must fall
		 * in the middle of the burst, however threads are scheduled
		 * (valgrind runs one at a time). */
		if (!waited && b->tq.packets >= STAT_FRAMES / 2) {
			unsigned want = atomic_load(&b->reads) + 20;

			while (atomic_load(&b->reads) < want && t_now_ms() < dl)
				sched_yield();
			waited = true;
		}
		if (b->tq.packets < STAT_FRAMES)
			sent = t_tx_frames(b->tx_conn, 0, &b->tq,
					   STAT_FRAMES - (uint32_t)b->tq.packets, 100, 32);
		if (t_rx_drain(b->rx_conn, 0, &b->rq) == 0 && sent == 0)
			sched_yield();
	}
	atomic_store(&b->done, true);
	return NULL;
}

START_TEST(test_stats_while_bursting)
{
	struct t_pair p;
	struct burster *b = calloc(1, sizeof(*b));
	memif_queue_stats_t tx, rx, ptx = { 0 }, prx = { 0 };
	uint64_t reads = 0;

	ck_assert_ptr_nonnull(b);
	t_pair_init(&p, "stats");
	p.ma.log2_ring_size = p.sa.log2_ring_size = 8;
	t_pair_connect(&p, WAIT_MS);
	ck_assert_int_eq(memif_set_rx_mode(p.m.conn, MEMIF_RX_MODE_POLLING, 0), MEMIF_ERR_SUCCESS);

	/* One worker owns the slave's tx queue 0 and the master's rx queue 0. */
	b->tx_conn = p.s.conn;
	b->rx_conn = p.m.conn;
	ck_assert_int_eq(pthread_create(&b->th, NULL, burster_main, b), 0);
	while (!atomic_load(&b->done)) {
		ck_assert_int_eq(memif_get_queue_stats(p.s.conn, 0, 0, &tx), MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(memif_get_queue_stats(p.m.conn, 0, 1, &rx), MEMIF_ERR_SUCCESS);
		ck_assert_msg(tx.packets >= ptx.packets && tx.bytes >= ptx.bytes,
			      "tx counters went back: %llu/%llu after %llu/%llu",
			      (unsigned long long)tx.packets, (unsigned long long)tx.bytes,
			      (unsigned long long)ptx.packets, (unsigned long long)ptx.bytes);
		ck_assert_msg(rx.packets >= prx.packets && rx.bytes >= prx.bytes,
			      "rx counters went back: %llu/%llu after %llu/%llu",
			      (unsigned long long)rx.packets, (unsigned long long)rx.bytes,
			      (unsigned long long)prx.packets, (unsigned long long)prx.bytes);
		ck_assert_uint_le(tx.packets, STAT_FRAMES);
		ck_assert_uint_le(rx.packets, STAT_FRAMES);
		ptx = tx;
		prx = rx;
		reads++;
		atomic_store(&b->reads, (unsigned)reads);
		if ((reads & 63) == 0)
			t_loop_run_once(&p.loop, 0);
	}
	ck_assert_int_eq(pthread_join(b->th, NULL), 0);
	ck_assert_int_eq(b->tq.last_err, 0);
	ck_assert_int_eq(b->rq.last_err, 0);
	ck_assert_uint_eq(b->tq.packets, STAT_FRAMES);
	ck_assert_uint_eq(b->rq.packets, STAT_FRAMES);
	ck_assert_uint_eq(b->rq.bad, 0);
	ck_assert_uint_gt(reads, 10);

	/* Final values: exactly what the worker did. */
	ck_assert_int_eq(memif_get_queue_stats(p.s.conn, 0, 0, &tx), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_get_queue_stats(p.m.conn, 0, 1, &rx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(tx.packets, STAT_FRAMES);
	ck_assert_uint_eq(tx.bytes, (uint64_t)STAT_FRAMES * 100);
	ck_assert_uint_eq(rx.packets, STAT_FRAMES);
	ck_assert_uint_eq(rx.bytes, (uint64_t)STAT_FRAMES * 100);
	t_pair_close(&p);
	free(b);
}
END_TEST

/* ---- who watches the rx eventfds ------------------------------------------------------ */

START_TEST(test_efd_watched_by_irq_only)
{
	struct t_pair p;
	int mfd = -1, sfd = -1;

	t_pair_init(&p, "efdwatch");
	t_pair_sockets(&p);
	p.ma.socket = p.msock;
	p.sa.socket = p.ssock;
	/* The master has on_interrupt, the slave none. */
	ck_assert_int_eq(t_ep_create(&p.m, &p.ma), MEMIF_ERR_SUCCESS);
	p.s.sock = p.ssock;
	ck_assert_int_eq(memif_create(&p.s.conn, &p.sa, t_on_connect, t_on_disconnect, NULL, &p.s),
			 MEMIF_ERR_SUCCESS);
	T_LOOP_UNTIL(&p.loop, p.m.up && p.s.up, WAIT_MS);
	ck_assert(p.m.up && p.s.up);
	ck_assert_int_eq(memif_get_queue_efd(p.m.conn, 0, &mfd), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_get_queue_efd(p.s.conn, 0, &sfd), MEMIF_ERR_SUCCESS);
	ck_assert_int_ge(mfd, 0);
	ck_assert_int_ge(sfd, 0);
	ck_assert_msg(t_loop_watches(&p.loop, mfd), "the master's rx eventfd is not watched");
	ck_assert_msg(!t_loop_watches(&p.loop, sfd),
		      "the rx eventfd of an interface without on_interrupt was handed to the loop");
	t_pair_close(&p);
}
END_TEST

/* ---- self-poll mode: a worker blocked on the queue's eventfd -------------------------- */

struct echoer {
	pthread_t th;
	memif_conn_handle_t conn;
	int efd, stop_fd;
	uint32_t wakeups, echoed, rx_errors, tx_errors;
};

static void echo_one(struct echoer *x, const memif_buffer_t *in)
{
	memif_buffer_t out;
	uint16_t got = 0, tx = 0;

	if (memif_buffer_alloc(x->conn, 0, &out, 1, &got, (uint16_t)in->len) != MEMIF_ERR_SUCCESS ||
	    got != 1) {
		x->tx_errors++;
		return;
	}
	memcpy(out.data, in->data, in->len);
	if (memif_tx_burst(x->conn, 0, &out, 1, &tx) != MEMIF_ERR_SUCCESS || tx != 1)
		x->tx_errors++;
	else
		x->echoed++;
}

static void *echoer_main(void *arg)
{
	struct echoer *x = arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };

	if (ep < 0)
		return NULL;
	ev.data.fd = x->efd;
	epoll_ctl(ep, EPOLL_CTL_ADD, x->efd, &ev);
	ev.data.fd = x->stop_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, x->stop_fd, &ev);
	for (;;) {
		struct epoll_event got[2];
		bool irq = false, stop = false;
		int n = epoll_wait(ep, got, 2, -1); /* no timeout: a lost wake-up is lost */

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			if (got[i].data.fd == x->stop_fd)
				stop = true;
			else
				irq = true;
		}
		if (stop)
			break;
		if (!irq)
			continue;
		x->wakeups++;
		for (int round = 0; round < 64; round++) {
			memif_buffer_t b[8];
			uint16_t rx = 0;
			int err = memif_rx_burst(x->conn, 0, b, 8, &rx);

			if (err != MEMIF_ERR_SUCCESS && err != MEMIF_ERR_NOBUF)
				x->rx_errors++;
			for (uint16_t i = 0; i < rx; i++)
				echo_one(x, &b[i]);
			if (rx > 0 && memif_refill_queue(x->conn, 0, rx, 0) != MEMIF_ERR_SUCCESS)
				x->rx_errors++;
			if (err != MEMIF_ERR_NOBUF)
				break; /* SUCCESS: the ring is empty and the eventfd cleared */
		}
	}
	close(ep);
	return NULL;
}

START_TEST(test_selfpoll_efd_wakeups)
{
	char path[108];
	struct t_loop loop;
	memif_socket_handle_t asock, bsock;
	memif_socket_args_t sa;
	memif_conn_args_t ca;
	struct t_ep a = { .name = "self-poll master" }, b = { .name = "app-loop slave" };
	struct echoer x = { .efd = -1, .stop_fd = -1 };
	struct t_txq btx = { 0 };
	struct t_rxq *brx;
	uint64_t one = 1;
	int64_t slowest = 0;

	ck_assert_int_eq(t_loop_init(&loop), 0);
	t_sock_path(path, sizeof(path), "selfpoll");
	/* A: self-poll (no on_control_fd_update), with an on_interrupt. */
	t_socket_args(&sa, path, "app-a", NULL);
	ck_assert_int_eq(memif_create_socket(&asock, &sa, NULL), MEMIF_ERR_SUCCESS);
	t_conn_args(&ca, asock, true, 0, "if-a");
	ca.log2_ring_size = LOG2;
	ck_assert_int_eq(t_ep_create(&a, &ca), MEMIF_ERR_SUCCESS);
	/* B: the sender, in our own loop; it polls its receive queue. */
	t_socket_args(&sa, path, "app-b", &loop);
	ck_assert_int_eq(memif_create_socket(&bsock, &sa, &loop), MEMIF_ERR_SUCCESS);
	t_conn_args(&ca, bsock, false, 0, "if-b");
	ca.log2_ring_size = LOG2;
	ck_assert_int_eq(t_ep_create(&b, &ca), MEMIF_ERR_SUCCESS);

	for (int64_t dl = t_deadline(WAIT_MS); !(a.up && b.up) && t_now_ms() < dl;) {
		ck_assert_int_eq(memif_poll_event(asock, 0), MEMIF_ERR_SUCCESS);
		t_loop_run_once(&loop, 2);
	}
	ck_assert(a.up && b.up);
	ck_assert_int_eq(memif_set_rx_mode(b.conn, MEMIF_RX_MODE_POLLING, 0), MEMIF_ERR_SUCCESS);

	/* From here a worker waits on A's queue 0 eventfd. The library's loop
	 * watches it too (A has an on_interrupt, as upstream does) but never
	 * clears it: only memif_rx_burst does, so no wake-up is lost. */
	ck_assert_int_eq(memif_get_queue_efd(a.conn, 0, &x.efd), MEMIF_ERR_SUCCESS);
	ck_assert_int_ge(x.efd, 0);
	x.stop_fd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(x.stop_fd, 0);
	x.conn = a.conn;
	ck_assert_int_eq(pthread_create(&x.th, NULL, echoer_main, &x), 0);

	brx = t_ep_rxq(&b, 0);
	for (uint32_t i = 0; i < ECHO_ROUNDS; i++) {
		int64_t start = t_now_ms(), dl = start + ECHO_WAIT_MS;

		ck_assert_uint_eq(t_tx_frames(b.conn, 0, &btx, 1, 64, 1), 1);
		while (brx->packets < i + 1 && t_now_ms() < dl) {
			/* The library's own loop runs all along: it must not take the wake-up. */
			ck_assert_int_eq(memif_poll_event(asock, 0), MEMIF_ERR_SUCCESS);
			t_loop_run_once(&loop, 0);
			if (t_rx_drain(b.conn, 0, brx) == 0)
				sched_yield();
		}
		ck_assert_msg(brx->packets == i + 1,
			      "frame %u: no echo within %d ms (worker woke %u times, echoed %u, "
			      "on_interrupt ran %d times)",
			      i, ECHO_WAIT_MS, x.wakeups, x.echoed, a.n_irq[0]);
		if (t_now_ms() - start > slowest)
			slowest = t_now_ms() - start;
	}
	ck_assert_int_eq(write(x.stop_fd, &one, sizeof(one)), (int)sizeof(one));
	ck_assert_int_eq(pthread_join(x.th, NULL), 0);
	close(x.stop_fd);

	ck_assert_uint_eq(x.echoed, ECHO_ROUNDS);
	ck_assert_uint_eq(x.rx_errors, 0);
	ck_assert_uint_eq(x.tx_errors, 0);
	ck_assert_uint_ge(x.wakeups, 1);
	ck_assert_uint_le(x.wakeups, 2 * ECHO_ROUNDS);
	ck_assert_uint_eq(brx->bad, 0);
	ck_assert_uint_eq(brx->out_of_order, 0);
	ck_assert_int_eq(btx.last_err, 0);
	fprintf(stderr, "selfpoll: %u echoes, %u wake-ups, slowest %lld ms\n", ECHO_ROUNDS,
		x.wakeups, (long long)slowest);

	ck_assert_int_eq(memif_delete(&b.conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete(&a.conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete_socket(&bsock), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete_socket(&asock), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(loop.nfds, 0);
	t_ep_free(&a);
	t_ep_free(&b);
	t_loop_fini(&loop);
}
END_TEST

static Suite *rules_suite(void)
{
	Suite *s = suite_create("thread_rules");
	TCase *tc;

	tc = t_tcase("irq", 30);
	tcase_add_test(tc, test_polling_before_connect);
	tcase_add_test(tc, test_efd_watched_by_irq_only);
	suite_add_tcase(s, tc);

	tc = t_tcase("stats", 60);
	tcase_add_test(tc, test_stats_while_bursting);
	suite_add_tcase(s, tc);

	tc = t_tcase("selfpoll", 40);
	tcase_add_test(tc, test_selfpoll_efd_wakeups);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(rules_suite());
}
