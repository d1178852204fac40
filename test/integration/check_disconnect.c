/* SPDX-License-Identifier: MIT */
/*
 * check_disconnect.c - what an app thread may still do with buffers it took
 * when the link goes down under it (issue 13): their memory stays mapped
 * until the thread calls again on that queue and learns of the disconnect,
 * and is unmapped after that (at the next timer tick), or at memif_delete.
 */
#include <stdio.h>
#include <string.h>

#include "helpers.h"

#define UP_MS 5000

/* Mappings of memif regions (memfds named "memif region N") in this process. */
static int region_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "memif region") != NULL;
	fclose(f);
	return n;
}

/* A slave that holds received buffers while its master goes away. */
static void held_buffers(bool call_again)
{
	struct t_pair p;
	struct t_txq tq;
	memif_buffer_t b[16];
	uint16_t rx = 0;
	int before, during;

	memset(&tq, 0, sizeof(tq));
	t_pair_init(&p, call_again ? "held-call" : "held-del");
	t_pair_connect(&p, UP_MS);
	ck_assert_uint_eq(t_tx_frames(p.m.conn, 0, &tq, 8, 1000, 8), 8);
	ck_assert_int_eq(memif_rx_burst(p.s.conn, 0, b, 16, &rx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(rx, 8);
	before = region_mappings();
	ck_assert_int_gt(before, 0);

	/* The master goes away: the slave's link is torn down. */
	ck_assert_int_eq(memif_delete(&p.m.conn), MEMIF_ERR_SUCCESS);
	T_LOOP_UNTIL(&p.loop, !p.s.up, 2000);
	ck_assert(!p.s.up);
	/* The buffers are still readable and intact. */
	for (uint16_t i = 0; i < rx; i++)
		ck_assert_msg(t_frame_verify(b[i].data, b[i].len, i), "frame %u changed", i);
	during = region_mappings();
	ck_assert_int_gt(during, 0);
	t_loop_run_for(&p.loop, 300); /* timer ticks: the app has not moved on */
	ck_assert_int_eq(region_mappings(), during);

	if (call_again) {
		/* The next call tells the thread; the next tick unmaps. */
		ck_assert_int_eq(memif_refill_queue(p.s.conn, 0, rx, 0), MEMIF_ERR_DISCONNECTED);
		T_LOOP_UNTIL(&p.loop, region_mappings() == 0, 2000);
		ck_assert_int_eq(region_mappings(), 0);
	} else {
		/* Deleting the interface unmaps everything at once. */
		ck_assert_int_eq(memif_delete(&p.s.conn), MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(region_mappings(), 0);
	}
	t_pair_close(&p);
}

START_TEST(test_held_until_next_call)
{
	held_buffers(true);
}
END_TEST

START_TEST(test_held_until_delete)
{
	held_buffers(false);
}
END_TEST

/* Nothing held: unmapped with the teardown, no waiting. */
START_TEST(test_nothing_held)
{
	struct t_pair p;
	struct t_txq tq;
	struct t_rxq *rq;

	memset(&tq, 0, sizeof(tq));
	t_pair_init(&p, "held-none");
	t_pair_connect(&p, UP_MS);
	rq = t_ep_rxq(&p.s, 0);
	ck_assert_uint_eq(t_tx_frames(p.m.conn, 0, &tq, 8, 1000, 8), 8);
	ck_assert_uint_eq(t_rx_drain(p.s.conn, 0, rq), 8);
	ck_assert_int_eq(memif_delete(&p.m.conn), MEMIF_ERR_SUCCESS);
	T_LOOP_UNTIL(&p.loop, !p.s.up, 2000);
	ck_assert(!p.s.up);
	ck_assert_int_eq(region_mappings(), 0);
	t_pair_close(&p);
}
END_TEST

static Suite *disconnect_suite(void)
{
	Suite *s = suite_create("disconnect");
	TCase *tc = t_tcase("held", 30);

	tcase_add_test(tc, test_held_until_next_call);
	tcase_add_test(tc, test_held_until_delete);
	tcase_add_test(tc, test_nothing_held);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(disconnect_suite());
}
