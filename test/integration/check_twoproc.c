/* SPDX-License-Identifier: MIT */
/*
 * check_twoproc.c - master and slave in two processes (fork), each with its
 * own socket object and event loop: frames both ways in both role layouts,
 * small and chained; and a peer killed with SIGKILL mid-traffic, after which
 * the survivor sees on_disconnect and a restarted peer reconnects by itself.
 *
 * The test process and its peer talk over a socketpair: the peer reports UP
 * and DONE, the test answers BYE, so neither side tears the link down while
 * the other still reads from the shared rings.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define MSG_UP 0x55500000u
#define MSG_DONE 0xd0e00000u
#define MSG_BYE 0xb7e00000u

#define UP_MS 5000
#define RUN_MS 20000

/* One end of the link: its loop, socket, interface and transmit state. */
struct side {
	struct t_loop loop;
	memif_socket_handle_t sock;
	struct t_ep ep;
	struct t_txq tq;
	uint32_t size;  /* frame size */
	uint32_t count; /* frames each way; 0 = until stopped */
};

static int side_open(struct side *sd, const char *path, bool master, uint16_t bsize,
		     uint32_t size, uint32_t count)
{
	memif_socket_args_t sa;
	memif_conn_args_t ca;
	int err;

	memset(sd, 0, sizeof(*sd));
	sd->size = size;
	sd->count = count;
	sd->tq.buf_capacity = bsize;
	if (t_loop_init(&sd->loop) != 0)
		return MEMIF_ERR_SYSCALL;
	t_socket_args(&sa, path, master ? "app-m" : "app-s", &sd->loop);
	err = memif_create_socket(&sd->sock, &sa, &sd->loop);
	if (err != MEMIF_ERR_SUCCESS)
		return err;
	t_conn_args(&ca, sd->sock, master, 3, master ? "if-m" : "if-s");
	ca.buffer_size = bsize;
	ca.log2_ring_size = 9;
	sd->ep.name = master ? "master" : "slave";
	sd->ep.rx_on_interrupt = true;
	return t_ep_create(&sd->ep, &ca);
}

static struct t_rxq *side_rxq(struct side *sd)
{
	return t_ep_rxq(&sd->ep, 0);
}

/* Send what fits; true once `count` frames went each way. */
static bool side_step(struct side *sd)
{
	struct t_rxq *rq = side_rxq(sd);

	if (sd->ep.up && sd->tq.last_err == 0) {
		uint32_t want = sd->count == 0 ? 64 : sd->count - (uint32_t)sd->tq.packets;

		if (want > 0)
			t_tx_frames(sd->ep.conn, 0, &sd->tq, want, sd->size, 32);
	}
	return sd->count != 0 && sd->tq.packets >= sd->count && rq->packets >= sd->count;
}

/* Forget the traffic state for a new connection. */
static void side_reset_traffic(struct side *sd)
{
	struct t_rxq *rq = side_rxq(sd);
	uint32_t cap = sd->tq.buf_capacity;

	memset(&sd->tq, 0, sizeof(sd->tq));
	sd->tq.buf_capacity = cap;
	memset(rq, 0, sizeof(*rq));
}

static void side_close(struct side *sd)
{
	if (sd->ep.conn != NULL)
		memif_delete(&sd->ep.conn);
	if (sd->sock != NULL)
		memif_delete_socket(&sd->sock);
	t_ep_free(&sd->ep);
	t_loop_fini(&sd->loop);
}

/* ---- the peer process ---------------------------------------------------------- */

struct peer_args {
	char path[108];
	bool master;
	uint16_t bsize;
	uint32_t size, count;
	int fd; /* socketpair end */
};

struct wait_msg {
	int fd;
	uint32_t want;
	bool got;
	bool broken;
};

static bool msg_arrived(void *arg)
{
	struct wait_msg *w = arg;
	uint32_t v;
	int r;

	while (!w->got && !w->broken) {
		r = t_msg_recv(w->fd, &v, 0);
		if (r == -ETIMEDOUT)
			break;
		if (r != 0)
			w->broken = true;
		else if (v == w->want)
			w->got = true;
	}
	return w->got || w->broken;
}

static int peer_main(void *arg)
{
	struct peer_args *a = arg;
	struct side sd;
	struct t_rxq *rq;
	struct wait_msg bye = { .fd = a->fd, .want = MSG_BYE };
	int64_t deadline;

	T_PEER_CHECK(side_open(&sd, a->path, a->master, a->bsize, a->size, a->count) == 0, 10);
	T_LOOP_UNTIL(&sd.loop, sd.ep.up, UP_MS);
	T_PEER_CHECK(sd.ep.up, 11);
	T_PEER_CHECK(t_msg_send(a->fd, MSG_UP) == 0, 12);

	rq = side_rxq(&sd);
	if (a->count == 0) {
		/* Traffic until killed; the deadline only keeps a lost peer from lingering. */
		deadline = t_deadline(RUN_MS);
		while (t_loop_step(&sd.loop, deadline)) {
			side_step(&sd);
			T_PEER_CHECK(rq->bad == 0 && rq->out_of_order == 0, 13);
		}
		return 14;
	}

	T_LOOP_UNTIL(&sd.loop, side_step(&sd), RUN_MS);
	T_PEER_CHECK(sd.tq.last_err == 0, 20);
	T_PEER_CHECK(sd.tq.packets == a->count, 21);
	T_PEER_CHECK(rq->packets == a->count, 22);
	T_PEER_CHECK(rq->bad == 0, 23);
	T_PEER_CHECK(rq->out_of_order == 0, 24);
	T_PEER_CHECK(rq->last_len == a->size, 25);
	T_PEER_CHECK(sd.tq.bad_alloc_len == 0, 26);
	T_PEER_CHECK(sd.ep.n_connect == 1 && sd.ep.n_disconnect == 0, 27);
	T_PEER_CHECK(t_msg_send(a->fd, MSG_DONE) == 0, 28);

	/* Keep the link up until the test process has everything. */
	t_loop_run_until(&sd.loop, msg_arrived, &bye, RUN_MS);
	T_PEER_CHECK(bye.got, 29);
	side_close(&sd);
	close(a->fd);
	return 0;
}

/* ---- the test process ---------------------------------------------------------- */

struct parent_wait {
	struct side *sd;
	struct wait_msg done;
	pid_t pid;
	bool peer_gone;
	int peer_status;
};

static bool parent_pred(void *arg)
{
	struct parent_wait *w = arg;
	bool mine = side_step(w->sd);

	msg_arrived(&w->done);
	if (!w->done.got && !w->peer_gone && t_peer_done(w->pid, &w->peer_status))
		w->peer_gone = true;
	return (mine && w->done.got) || w->peer_gone || w->done.broken;
}

/* Run `count` frames each way with a peer process; leaves the link to be torn down. */
static void exchange_with_peer(struct side *sd, struct peer_args *a)
{
	struct parent_wait w = { .sd = sd };
	int fd, status;
	struct t_rxq *rq = side_rxq(sd);
	int connects = sd->ep.n_connect, disconnects = sd->ep.n_disconnect;

	w.pid = t_peer_fork_socketpair(peer_main, a, &a->fd, &fd);
	w.done.fd = fd;
	w.done.want = MSG_DONE;

	t_loop_run_until(&sd->loop, parent_pred, &w, RUN_MS);
	if (w.peer_gone || !w.done.got) {
		status = w.peer_gone ? w.peer_status : t_peer_wait(w.pid, 0);
		close(fd);
		ck_abort_msg("peer failed: exit %d (stderr has its check); here: sent %llu, "
			     "received %llu of %u, up %d",
			     status, (unsigned long long)sd->tq.packets,
			     (unsigned long long)rq->packets, a->count, sd->ep.up);
	}
	ck_assert_msg(side_step(sd), "sent %llu, received %llu of %u",
		      (unsigned long long)sd->tq.packets, (unsigned long long)rq->packets,
		      a->count);
	ck_assert_int_eq(sd->tq.last_err, 0);
	ck_assert_uint_eq(sd->tq.bad_alloc_len, 0);
	ck_assert_uint_eq(rq->bad, 0);
	ck_assert_uint_eq(rq->out_of_order, 0);
	ck_assert_uint_eq(rq->oversize, 0);
	ck_assert_uint_eq(rq->last_len, a->size);
	ck_assert_int_eq(rq->last_err, 0);
	ck_assert_int_eq(sd->ep.n_connect, connects + 1);
	ck_assert_int_gt(sd->ep.n_irq[0], 0);

	/* Let the peer go: it deletes its interface, we see the link drop. */
	ck_assert_int_eq(t_msg_send(fd, MSG_BYE), 0);
	status = t_peer_wait(w.pid, 5000);
	close(fd);
	ck_assert_msg(status == 0, "peer exit status %d", status);
	T_LOOP_UNTIL(&sd->loop, sd->ep.n_disconnect == disconnects + 1, 3000);
	ck_assert_int_eq(sd->ep.n_disconnect, disconnects + 1);
	ck_assert(!sd->ep.up);
}

/* _i: bit 0 = the test process is the slave, bit 1 = 9000-byte chained frames. */
START_TEST(test_exchange)
{
	bool me_master = !(_i & 1);
	bool big = (_i & 2) != 0;
	struct peer_args a;
	struct side sd;

	memset(&a, 0, sizeof(a));
	t_sock_path(a.path, sizeof(a.path), "twoproc");
	a.master = !me_master;
	a.bsize = 2048;
	a.size = big ? 9000 : 64;
	a.count = big ? 400 : 3000;

	ck_assert_int_eq(side_open(&sd, a.path, me_master, a.bsize, a.size, a.count),
			 MEMIF_ERR_SUCCESS);
	exchange_with_peer(&sd, &a);
	if (big)
		ck_assert_uint_eq(side_rxq(&sd)->buffers, (uint64_t)a.count * 5);
	side_close(&sd);
}
END_TEST

struct kill_wait {
	struct side *sd;
	struct wait_msg up;
	uint32_t min_rx;
	pid_t pid;
	bool peer_gone;
};

static bool traffic_flowing(void *arg)
{
	struct kill_wait *w = arg;
	int status;

	side_step(w->sd);
	msg_arrived(&w->up);
	if (t_peer_done(w->pid, &status))
		w->peer_gone = true;
	return w->peer_gone ||
	       (w->up.got && side_rxq(w->sd)->packets >= w->min_rx && w->sd->tq.packets >= w->min_rx);
}

/* _i: 0 the peer is the slave (we survive as master), 1 the peer is the master. */
START_TEST(test_peer_killed)
{
	bool me_master = _i == 0;
	struct peer_args a;
	struct side sd;
	struct kill_wait w;
	struct t_rxq *rq;
	memif_details_t md;
	char buf[8192];
	int fd, status;

	memset(&a, 0, sizeof(a));
	t_sock_path(a.path, sizeof(a.path), "killed");
	a.master = !me_master;
	a.bsize = 2048;
	a.size = 256;
	a.count = 0; /* until killed */

	ck_assert_int_eq(side_open(&sd, a.path, me_master, a.bsize, a.size, 0), MEMIF_ERR_SUCCESS);
	rq = side_rxq(&sd);
	memset(&w, 0, sizeof(w));
	w.sd = &sd;
	w.min_rx = 2000;
	w.pid = t_peer_fork_socketpair(peer_main, &a, &a.fd, &fd);
	w.up.fd = fd;
	w.up.want = MSG_UP;
	t_loop_run_until(&sd.loop, traffic_flowing, &w, RUN_MS);
	ck_assert_msg(!w.peer_gone, "peer ended before it was killed");
	ck_assert_msg(w.up.got && rq->packets >= w.min_rx,
		      "no traffic before the kill: up %d, received %llu, sent %llu", w.up.got,
		      (unsigned long long)rq->packets, (unsigned long long)sd.tq.packets);

	/* Mid-traffic: the peer dies without a word. */
	ck_assert_int_eq(kill(w.pid, SIGKILL), 0);
	status = t_peer_wait(w.pid, 5000);
	close(fd);
	ck_assert_int_eq(status, 128 + SIGKILL);
	T_LOOP_UNTIL(&sd.loop, sd.ep.n_disconnect == 1, 3000);
	ck_assert_msg(sd.ep.n_disconnect == 1, "survivor saw no on_disconnect");
	ck_assert(!sd.ep.up);
	ck_assert_uint_eq(rq->bad, 0);
	ck_assert_uint_eq(rq->out_of_order, 0);
	ck_assert_int_eq(t_details(sd.ep.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.link_up_down, 0);
	ck_assert_msg(md.error != NULL && md.error[0] != '\0', "no disconnect reason recorded");
	{
		memif_buffer_t b[4];
		uint16_t n = 0;

		ck_assert_int_eq(memif_buffer_alloc(sd.ep.conn, 0, b, 1, &n, 64),
				 MEMIF_ERR_DISCONNECTED);
	}
	/* Still down a while later; no spurious callbacks. */
	t_loop_run_for(&sd.loop, 300);
	ck_assert_int_eq(sd.ep.n_connect, 1);
	ck_assert_int_eq(sd.ep.n_disconnect, 1);

	/*
	 * A restarted peer: a slave connects at once; a master replaces the
	 * stale socket file and our slave finds it on its own timer.
	 */
	side_reset_traffic(&sd);
	sd.count = a.count = 500;
	exchange_with_peer(&sd, &a);
	ck_assert_int_eq(sd.ep.n_connect, 2);
	side_close(&sd);
}
END_TEST

static Suite *twoproc_suite(void)
{
	Suite *s = suite_create("twoproc");
	TCase *tc;

	tc = t_tcase("exchange", 60);
	tcase_add_loop_test(tc, test_exchange, 0, 4);
	suite_add_tcase(s, tc);

	tc = t_tcase("killed", 60);
	tcase_add_loop_test(tc, test_peer_killed, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* the socketpair to a killed peer */
	return t_run_suite(twoproc_suite());
}
