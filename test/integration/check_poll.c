/* SPDX-License-Identifier: MIT */
/*
 * check_poll.c - the library's own polling mode (on_control_fd_update NULL):
 * memif_poll_event drives a master and a slave to link up and carries their
 * interrupts; timeouts behave as epoll_wait's; memif_cancel_poll_event from
 * another thread ends a blocking memif_poll_event(-1) with POLL_CANCEL.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define UP_MS 3000

struct poll_pair {
	char path[108];
	memif_socket_handle_t msock, ssock;
	struct t_ep m, s;
	int bad_rc; /* first unexpected memif_poll_event result */
};

static void poll_socket_timer(memif_socket_handle_t *sock, const char *path, const char *app,
			      int timer_ms)
{
	memif_socket_args_t a;

	t_socket_args(&a, path, app, NULL);
	a.connection_request_timer = t_timer_ms(timer_ms);
	ck_assert_ptr_null(a.on_control_fd_update);
	ck_assert_int_eq(memif_create_socket(sock, &a, NULL), MEMIF_ERR_SUCCESS);
}

static void poll_socket(memif_socket_handle_t *sock, const char *path, const char *app)
{
	poll_socket_timer(sock, path, app, 100);
}

static void poll_both(struct poll_pair *p, int timeout)
{
	int rc;

	if (p->msock != NULL) {
		rc = memif_poll_event(p->msock, timeout);
		if (rc != MEMIF_ERR_SUCCESS && p->bad_rc == 0)
			p->bad_rc = rc;
	}
	if (p->ssock != NULL) {
		rc = memif_poll_event(p->ssock, timeout);
		if (rc != MEMIF_ERR_SUCCESS && p->bad_rc == 0)
			p->bad_rc = rc;
	}
}

#define POLL_UNTIL(p, cond, ms)                                                     \
	for (int64_t p__dl = t_deadline(ms); !(cond) && t_now_ms() < p__dl;)      \
		poll_both((p), 5)

static void poll_pair_close(struct poll_pair *p)
{
	if (p->s.conn != NULL)
		ck_assert_int_eq(memif_delete(&p->s.conn), MEMIF_ERR_SUCCESS);
	if (p->m.conn != NULL)
		ck_assert_int_eq(memif_delete(&p->m.conn), MEMIF_ERR_SUCCESS);
	if (p->ssock != NULL)
		ck_assert_int_eq(memif_delete_socket(&p->ssock), MEMIF_ERR_SUCCESS);
	if (p->msock != NULL)
		ck_assert_int_eq(memif_delete_socket(&p->msock), MEMIF_ERR_SUCCESS);
	t_ep_free(&p->m);
	t_ep_free(&p->s);
}

/*
 * A master socket in polling mode with one interface nobody connects to.
 * The socket's timer (retries, handshake deadlines) is set to 60 s so that
 * nothing at all happens on it during a test.
 */
static void idle_master(struct poll_pair *p, const char *name)
{
	memif_conn_args_t ca;

	memset(p, 0, sizeof(*p));
	t_sock_path(p->path, sizeof(p->path), name);
	poll_socket_timer(&p->msock, p->path, "app-m", 60000);
	t_conn_args(&ca, p->msock, true, 0, "if-m");
	ck_assert_int_eq(t_ep_create(&p->m, &ca), MEMIF_ERR_SUCCESS);
}

START_TEST(test_poll_connect_and_traffic)
{
	struct poll_pair p;
	memif_conn_args_t ca;
	struct t_txq mt = { 0 }, st = { 0 };
	memif_details_t md;
	char buf[8192];

	memset(&p, 0, sizeof(p));
	t_sock_path(p.path, sizeof(p.path), "poll");
	poll_socket(&p.msock, p.path, "app-m");
	poll_socket(&p.ssock, p.path, "app-s");
	t_conn_args(&ca, p.msock, true, 0, "if-m");
	ck_assert_int_eq(t_ep_create(&p.m, &ca), MEMIF_ERR_SUCCESS);
	t_conn_args(&ca, p.ssock, false, 0, "if-s");
	ck_assert_int_eq(t_ep_create(&p.s, &ca), MEMIF_ERR_SUCCESS);
	ck_assert_int_ge(memif_get_listener_fd(p.msock), 0);

	POLL_UNTIL(&p, p.m.up && p.s.up, UP_MS);
	ck_assert_msg(p.m.up && p.s.up, "memif_poll_event did not bring the link up");
	ck_assert_int_eq(p.bad_rc, 0);
	ck_assert_int_eq(p.m.refill_err + p.s.refill_err, 0);
	ck_assert_int_eq(t_details(p.s.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.link_up_down, 1);
	ck_assert_str_eq((char *)md.remote_inst_name, "app-m");

	/* Interrupts are delivered by memif_poll_event too. */
	p.m.rx_on_interrupt = p.s.rx_on_interrupt = true;
	ck_assert_uint_eq(t_tx_frames(p.s.conn, 0, &st, 100, 128, 32), 100);
	ck_assert_uint_eq(t_tx_frames(p.m.conn, 0, &mt, 100, 1500, 32), 100);
	POLL_UNTIL(&p, t_ep_rxq(&p.m, 0)->packets == 100 && t_ep_rxq(&p.s, 0)->packets == 100,
		   2000);
	ck_assert_uint_eq(t_ep_rxq(&p.m, 0)->packets, 100);
	ck_assert_uint_eq(t_ep_rxq(&p.s, 0)->packets, 100);
	ck_assert_uint_eq(t_ep_rxq(&p.m, 0)->bad + t_ep_rxq(&p.s, 0)->bad, 0);
	ck_assert_uint_eq(t_ep_rxq(&p.m, 0)->out_of_order + t_ep_rxq(&p.s, 0)->out_of_order, 0);
	ck_assert_int_gt(p.m.n_irq[0], 0);
	ck_assert_int_gt(p.s.n_irq[0], 0);
	ck_assert_int_eq(p.bad_rc, 0);

	/* Disconnect is seen through memif_poll_event as well. */
	ck_assert_int_eq(memif_delete(&p.s.conn), MEMIF_ERR_SUCCESS);
	POLL_UNTIL(&p, p.m.n_disconnect == 1, 2000);
	ck_assert_int_eq(p.m.n_disconnect, 1);
	ck_assert(!p.m.up);
	poll_pair_close(&p);
}
END_TEST

START_TEST(test_poll_timeouts)
{
	struct poll_pair p;
	int64_t t0, dt;

	idle_master(&p, "timeouts");
	/* 0: returns at once. */
	t0 = t_now_ms();
	ck_assert_int_eq(memif_poll_event(p.msock, 0), MEMIF_ERR_SUCCESS);
	dt = t_now_ms() - t0;
	ck_assert_msg(dt < 50, "poll_event(0) took %lld ms", (long long)dt);
	/* 200: waits about that long on an idle socket. */
	t0 = t_now_ms();
	ck_assert_int_eq(memif_poll_event(p.msock, 200), MEMIF_ERR_SUCCESS);
	dt = t_now_ms() - t0;
	ck_assert_msg(dt >= 150 && dt < 2000, "poll_event(200) took %lld ms", (long long)dt);
	ck_assert_int_eq(p.m.n_connect, 0);
	poll_pair_close(&p);
}
END_TEST

struct poller {
	memif_socket_handle_t sock;
	atomic_int started;
	atomic_int done;
	atomic_int rc;
	atomic_int early; /* poll_event(-1) calls that returned SUCCESS */
};

/*
 * As an app's control thread would: poll_event(-1) until it fails. Returns
 * with SUCCESS (an event handled) are counted; a bounded number of them.
 */
static void *poller_main(void *arg)
{
	struct poller *pl = arg;
	int rc;

	atomic_store(&pl->started, 1);
	for (int i = 0; i < 1000; i++) {
		rc = memif_poll_event(pl->sock, -1);
		atomic_store(&pl->rc, rc);
		if (rc != MEMIF_ERR_SUCCESS)
			break;
		atomic_fetch_add(&pl->early, 1);
	}
	atomic_store(&pl->done, 1);
	return NULL;
}

/* Wait for the poller to finish within ms; join it if it did. */
static bool poller_finished(struct poller *pl, pthread_t th, int ms)
{
	int64_t deadline = t_deadline(ms);

	while (!atomic_load(&pl->done) && t_now_ms() < deadline)
		t_sleep_ms(2);
	if (!atomic_load(&pl->done))
		return false;
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	return true;
}

START_TEST(test_cancel_from_other_thread)
{
	struct poll_pair p;
	struct poller pl;
	pthread_t th;

	idle_master(&p, "cancel");
	memset(&pl, 0, sizeof(pl));
	pl.sock = p.msock;
	ck_assert_int_eq(pthread_create(&th, NULL, poller_main, &pl), 0);
	while (!atomic_load(&pl.started))
		t_sleep_ms(1);
	/* Blocked: nothing happens on an idle socket. */
	t_sleep_ms(150);
	ck_assert_msg(!atomic_load(&pl.done), "poll_event(-1) returned %d on an idle socket",
		      atomic_load(&pl.rc));
	ck_assert_msg(atomic_load(&pl.early) == 0,
		      "poll_event(-1) returned SUCCESS %d times on an idle socket",
		      atomic_load(&pl.early));

	ck_assert_int_eq(memif_cancel_poll_event(p.msock), MEMIF_ERR_SUCCESS);
	ck_assert_msg(poller_finished(&pl, th, 2000), "cancel did not end poll_event(-1)");
	ck_assert_int_eq(atomic_load(&pl.rc), MEMIF_ERR_POLL_CANCEL);

	/* One cancel ends one wait: the next poll is an ordinary one. */
	ck_assert_int_eq(memif_poll_event(p.msock, 0), MEMIF_ERR_SUCCESS);
	poll_pair_close(&p);
}
END_TEST

START_TEST(test_cancel_before_poll)
{
	struct poll_pair p;
	struct poller pl;
	pthread_t th;

	idle_master(&p, "cancelfirst");
	ck_assert_int_eq(memif_cancel_poll_event(p.msock), MEMIF_ERR_SUCCESS);
	memset(&pl, 0, sizeof(pl));
	pl.sock = p.msock;
	/* In a thread, so that a missed cancel fails the test instead of hanging it. */
	ck_assert_int_eq(pthread_create(&th, NULL, poller_main, &pl), 0);
	ck_assert_msg(poller_finished(&pl, th, 2000), "a cancel before the poll was lost");
	ck_assert_int_eq(atomic_load(&pl.rc), MEMIF_ERR_POLL_CANCEL);
	ck_assert_int_eq(atomic_load(&pl.early), 0);
	ck_assert_int_eq(memif_poll_event(p.msock, 0), MEMIF_ERR_SUCCESS);
	poll_pair_close(&p);
}
END_TEST

START_TEST(test_poll_bad_args)
{
	struct t_loop loop;
	memif_socket_args_t a;
	memif_socket_handle_t sock = NULL;
	char path[108];

	ck_assert_int_eq(memif_poll_event(NULL, 0), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_cancel_poll_event(NULL), MEMIF_ERR_INVAL_ARG);

	/* A socket driven by the app's loop cannot be polled by the library. */
	ck_assert_int_eq(t_loop_init(&loop), 0);
	t_sock_path(path, sizeof(path), "apploop");
	t_socket_args(&a, path, "app", &loop);
	ck_assert_int_eq(memif_create_socket(&sock, &a, &loop), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_poll_event(sock, 0), MEMIF_ERR_BAD_FD); /* upstream's code */
	ck_assert_int_eq(memif_delete_socket(&sock), MEMIF_ERR_SUCCESS);
	t_loop_fini(&loop);
}
END_TEST

static Suite *poll_suite(void)
{
	Suite *s = suite_create("poll");
	TCase *tc;

	tc = t_tcase("poll", 20);
	tcase_add_test(tc, test_poll_connect_and_traffic);
	tcase_add_test(tc, test_poll_timeouts);
	tcase_add_test(tc, test_poll_bad_args);
	suite_add_tcase(s, tc);

	tc = t_tcase("cancel", 20);
	tcase_add_test(tc, test_cancel_from_other_thread);
	tcase_add_test(tc, test_cancel_before_poll);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(poll_suite());
}
