/* SPDX-License-Identifier: MIT */
/*
 * check_rxmode.c - receive modes seen from the outside, master and slave in
 * one process and one loop:
 *
 *   adaptive   under a flood the receiver masks the sender's interrupts
 *              (the sender's transmit queue shows MASK_INT in its details)
 *              and gets on_interrupt again and again; once traffic stops it
 *              unmasks and sleeps (no more on_interrupt), and the next frame
 *              wakes it by a kick. Both directions; every frame arrives.
 *              (When it masks at lighter loads is check_adaptive's, with a
 *              made-up clock.)
 *   polling    chosen before the link is up: no on_interrupt is ever
 *              delivered for that queue, though the frames arrive.
 */
#include <string.h>

#include "helpers.h"

#define UP_MS 5000

/* Does the sender's transmit queue 0 show that its reader masks interrupts? */
static bool tx_masked(memif_conn_handle_t sender)
{
	memif_details_t md;
	char buf[4096];

	ck_assert_int_eq(t_details(sender, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_ge(md.tx_queues_num, 1);
	return (md.tx_queues[0].flags & MEMIF_QUEUE_FLAG_POLLING) != 0;
}

/* The receiver's side of the adaptive test: one burst per on_interrupt. */
static struct {
	memif_conn_handle_t sender;
	struct t_ep *rx_ep;
	unsigned bursts, masked_after_burst;
} ad;

static int adaptive_irq(memif_conn_handle_t conn, void *private_ctx, uint16_t qid)
{
	struct t_ep *ep = private_ctx;
	struct t_rxq *rq = t_ep_rxq(ep, qid);
	memif_buffer_t b[64];
	int err;

	ep->n_irq[qid]++;
	do {
		uint16_t rx = 0;

		err = memif_rx_burst(conn, qid, b, 64, &rx);
		if (err != MEMIF_ERR_SUCCESS && err != MEMIF_ERR_NOBUF)
			rq->last_err = err;
		if (rx == 0)
			break;
		/* Does the sender see the mask right after this burst? A queue
		 * starts as interrupt mode and masks once a wake lasts longer
		 * than a wake-up costs: the flood's first wake does (its
		 * bursts, with a details call each, take longer, and valgrind
		 * only makes them slower). */
		ad.bursts++;
		ad.masked_after_burst += tx_masked(ad.sender);
		for (uint16_t i = 0; i < rx; i++) {
			if (!t_frame_verify(b[i].data, b[i].len, rq->next_seq))
				rq->bad++;
			rq->next_seq++;
			rq->packets++;
		}
		if (memif_refill_queue(conn, qid, rx, 0) != MEMIF_ERR_SUCCESS)
			rq->last_err = -1;
	} while (err == MEMIF_ERR_NOBUF);
	return 0;
}

static void adaptive(bool slave_receives)
{
	struct t_pair p;
	struct t_ep *tx_ep, *rx_ep;
	struct t_txq tq;
	struct t_rxq *rq;
	memif_conn_args_t *rx_args;
	int irq_before;
	int64_t dl;

	memset(&tq, 0, sizeof(tq));
	memset(&ad, 0, sizeof(ad));
	t_pair_init(&p, slave_receives ? "adapt-s" : "adapt-m");
	t_pair_sockets(&p);
	p.ma.socket = p.msock;
	p.sa.socket = p.ssock;
	tx_ep = slave_receives ? &p.m : &p.s;
	rx_ep = slave_receives ? &p.s : &p.m;
	rx_args = slave_receives ? &p.sa : &p.ma;
	/* The master first, as t_pair_connect does; the receiver with our on_interrupt. */
	if (slave_receives)
		ck_assert_int_eq(t_ep_create(&p.m, &p.ma), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_create(&rx_ep->conn, rx_args, t_on_connect, t_on_disconnect,
				      adaptive_irq, rx_ep),
			 MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_set_rx_mode(rx_ep->conn, MEMIF_RX_MODE_ADAPTIVE, 0),
			 MEMIF_ERR_SUCCESS);
	if (!slave_receives)
		ck_assert_int_eq(t_ep_create(&p.s, &p.sa), MEMIF_ERR_SUCCESS);
	T_LOOP_UNTIL(&p.loop, p.m.up && p.s.up, UP_MS);
	ck_assert(p.m.up && p.s.up);
	ad.sender = tx_ep->conn;
	rq = t_ep_rxq(rx_ep, 0);
	ck_assert(!tx_masked(tx_ep->conn));

	/* Traffic: 20000 frames, sent in bursts between loop steps. */
	dl = t_deadline(20000);
	while (tq.packets < 20000 && t_now_ms() < dl) {
		t_tx_frames(tx_ep->conn, 0, &tq, 20000 - (uint32_t)tq.packets, 64, 32);
		ck_assert_int_eq(tq.last_err, 0);
		t_loop_run_once(&p.loop, 0);
	}
	T_LOOP_UNTIL(&p.loop, rq->packets >= 20000, 5000);
	ck_assert_uint_eq(rq->packets, 20000);
	ck_assert_uint_eq(rq->bad + rq->out_of_order, 0);
	ck_assert_uint_gt(ad.bursts, 0);
	/* Masked for the flood; a few bursts of its first wake may come first. */
	ck_assert_msg(ad.masked_after_burst * 10 >= ad.bursts * 9,
		      "the receiver left interrupts unmasked after %u of %u bursts",
		      ad.bursts - ad.masked_after_burst, ad.bursts);

	/* Idle: the receiver unmasks and sleeps; on_interrupt stops. */
	T_LOOP_UNTIL(&p.loop, !tx_masked(tx_ep->conn), 1000);
	ck_assert_msg(!tx_masked(tx_ep->conn), "still masked after traffic stopped");
	t_loop_run_for(&p.loop, 50);
	irq_before = rx_ep->n_irq[0];
	t_loop_run_for(&p.loop, 300);
	ck_assert_int_eq(rx_ep->n_irq[0], irq_before);

	/* A frame after sleeping is woken by the sender's kick. */
	ck_assert_uint_eq(t_tx_frames(tx_ep->conn, 0, &tq, 1, 64, 1), 1);
	T_LOOP_UNTIL(&p.loop, rq->packets == 20001, 1000);
	ck_assert_uint_eq(rq->packets, 20001);
	ck_assert_int_gt(rx_ep->n_irq[0], irq_before);
	ck_assert_int_eq(rq->last_err, 0);
	t_pair_close(&p);
}

START_TEST(test_adaptive_slave_receives)
{
	adaptive(true);
}
END_TEST

START_TEST(test_adaptive_master_receives)
{
	adaptive(false);
}
END_TEST

/* Polling chosen before connect: the peer's frames never raise on_interrupt. */
START_TEST(test_polling_before_connect)
{
	struct t_pair p;
	struct t_txq tq;
	struct t_rxq *rq;

	memset(&tq, 0, sizeof(tq));
	t_pair_init(&p, "poll-early");
	t_pair_sockets(&p);
	p.ma.socket = p.msock;
	p.sa.socket = p.ssock;
	p.m.rx_on_interrupt = true;
	ck_assert_int_eq(t_ep_create(&p.m, &p.ma), MEMIF_ERR_SUCCESS);
	/* Down, and only queue 0 is configured. */
	ck_assert_int_eq(memif_set_rx_mode(p.m.conn, MEMIF_RX_MODE_POLLING, 0), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_set_rx_mode(p.m.conn, MEMIF_RX_MODE_POLLING, 1), MEMIF_ERR_QID);
	ck_assert_int_eq(t_ep_create(&p.s, &p.sa), MEMIF_ERR_SUCCESS);
	T_LOOP_UNTIL(&p.loop, p.m.up && p.s.up, UP_MS);
	ck_assert(p.m.up && p.s.up);
	/* The slave sees the master's ring masked from the start. */
	ck_assert(tx_masked(p.s.conn));
	rq = t_ep_rxq(&p.m, 0);
	for (int i = 0; i < 10; i++) {
		ck_assert_uint_eq(t_tx_frames(p.s.conn, 0, &tq, 8, 64, 8), 8);
		t_loop_run_for(&p.loop, 5);
		t_rx_drain(p.m.conn, 0, rq);
	}
	ck_assert_uint_eq(rq->packets, 80);
	ck_assert_int_eq(p.m.n_irq[0], 0);
	t_pair_close(&p);
}
END_TEST

static Suite *rxmode_suite(void)
{
	Suite *s = suite_create("rxmode");
	TCase *tc = t_tcase("modes", 30);

	tcase_add_test(tc, test_adaptive_slave_receives);
	tcase_add_test(tc, test_adaptive_master_receives);
	tcase_add_test(tc, test_polling_before_connect);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(rxmode_suite());
}
