/* SPDX-License-Identifier: MIT */
/*
 * check_handshake.c - connection set-up through the public API: master and
 * slave in one process on one socket path, driven by the test's epoll loop.
 *
 * Covers: link up and memif_get_details; refusals (secret, id, mode); many
 * interfaces on one master socket; abstract sockets; slave retry timer and
 * memif_request_connection; delete while connected; reconnect; stale and
 * live socket files; memif_delete_socket; argument errors; strerror and
 * version calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "helpers.h"

#define UP_MS 3000 /* generous deadline for a local handshake */

static void set_secret(memif_conn_args_t *a, const char *s)
{
	memset(a->secret, 0, sizeof(a->secret));
	snprintf((char *)a->secret, sizeof(a->secret), "%s", s);
}

/* Exchange `n` 64-byte frames each way on queue 0 and verify them. */
static void exchange(struct t_pair *p, uint32_t n)
{
	struct t_txq mt = { 0 }, st = { 0 };
	struct t_rxq *mr = t_ep_rxq(&p->m, 0), *sr = t_ep_rxq(&p->s, 0);
	uint64_t m0 = mr->packets, s0 = sr->packets;

	mt.next_seq = sr->next_seq;
	st.next_seq = mr->next_seq;
	p->m.rx_on_interrupt = p->s.rx_on_interrupt = true;
	ck_assert_uint_eq(t_tx_frames(p->s.conn, 0, &st, n, 64, 32), n);
	ck_assert_uint_eq(t_tx_frames(p->m.conn, 0, &mt, n, 64, 32), n);
	T_LOOP_UNTIL(&p->loop, mr->packets - m0 == n && sr->packets - s0 == n, 2000);
	ck_assert_uint_eq(mr->packets - m0, n);
	ck_assert_uint_eq(sr->packets - s0, n);
	ck_assert_uint_eq(mr->bad + sr->bad, 0);
	ck_assert_uint_eq(mr->out_of_order + sr->out_of_order, 0);
	ck_assert_int_eq(mr->last_err, 0);
	ck_assert_int_eq(sr->last_err, 0);
}

/* ---- connect and details ----------------------------------------------------- */

static void check_queue_details(const memif_queue_details_t *q, uint8_t n, uint32_t ring_size,
				uint16_t buffer_size)
{
	for (uint8_t i = 0; i < n; i++) {
		ck_assert_uint_eq(q[i].qid, i);
		ck_assert_uint_eq(q[i].ring_size, ring_size);
		ck_assert_uint_eq(q[i].buffer_size, buffer_size);
	}
}

START_TEST(test_connect_details)
{
	struct t_pair p;
	memif_details_t md;
	char buf[8192];
	memif_peer_cred_t cred;
	int lfd;

	t_pair_init(&p, "connect");
	p.ma.interface_id = p.sa.interface_id = 7;
	p.ma.num_s2m_rings = p.sa.num_s2m_rings = 2;
	p.ma.num_m2s_rings = p.sa.num_m2s_rings = 1;
	p.ma.log2_ring_size = p.sa.log2_ring_size = 8;
	p.ma.buffer_size = p.sa.buffer_size = 1024;
	set_secret(&p.ma, "s3cret");
	set_secret(&p.sa, "s3cret");
	t_pair_connect(&p, UP_MS);

	/* Let any duplicate callback show up. */
	t_loop_run_for(&p.loop, 100);
	ck_assert_int_eq(p.m.n_connect, 1);
	ck_assert_int_eq(p.s.n_connect, 1);
	ck_assert_int_eq(p.m.n_disconnect, 0);
	ck_assert_int_eq(p.s.n_disconnect, 0);
	ck_assert(!p.m.wrong_conn && !p.s.wrong_conn);

	/* Master view. */
	ck_assert_int_eq(t_details(p.m.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.link_up_down, 1);
	ck_assert_str_eq((char *)md.if_name, "if-m");
	ck_assert_str_eq((char *)md.inst_name, "app-m");
	ck_assert_str_eq((char *)md.remote_if_name, "if-s");
	ck_assert_str_eq((char *)md.remote_inst_name, "app-s");
	ck_assert_uint_eq(md.id, 7);
	ck_assert_uint_eq(md.role, 0);
	ck_assert_uint_eq(md.mode, MEMIF_INTERFACE_MODE_ETHERNET);
	ck_assert_str_eq((char *)md.socket_path, p.path);
	ck_assert_ptr_nonnull(md.secret);
	ck_assert_str_eq((char *)md.secret, "s3cret");
	ck_assert_ptr_nonnull(md.error);
	ck_assert_str_eq((char *)md.error, "");
	ck_assert_uint_ge(md.regions_num, 1);
	for (uint8_t i = 0; i < md.regions_num; i++) {
		ck_assert_uint_eq(md.regions[i].index, i);
		ck_assert_ptr_nonnull(md.regions[i].addr);
		ck_assert_uint_gt(md.regions[i].size, 0);
		ck_assert_uint_eq(md.regions[i].is_external, 0);
	}
	ck_assert_uint_eq(md.rx_queues_num, 2); /* S2M */
	ck_assert_uint_eq(md.tx_queues_num, 1); /* M2S */
	check_queue_details(md.rx_queues, md.rx_queues_num, 256, 1024);
	check_queue_details(md.tx_queues, md.tx_queues_num, 256, 1024);

	/* Slave view. */
	ck_assert_int_eq(t_details(p.s.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.link_up_down, 1);
	ck_assert_str_eq((char *)md.if_name, "if-s");
	ck_assert_str_eq((char *)md.inst_name, "app-s");
	ck_assert_str_eq((char *)md.remote_if_name, "if-m");
	ck_assert_str_eq((char *)md.remote_inst_name, "app-m");
	ck_assert_uint_eq(md.id, 7);
	ck_assert_uint_eq(md.role, 1);
	ck_assert_str_eq((char *)md.socket_path, p.path);
	ck_assert_str_eq((char *)md.error, "");
	ck_assert_uint_ge(md.regions_num, 1);
	ck_assert_uint_eq(md.rx_queues_num, 1); /* M2S */
	ck_assert_uint_eq(md.tx_queues_num, 2); /* S2M */
	check_queue_details(md.rx_queues, md.rx_queues_num, 256, 1024);
	check_queue_details(md.tx_queues, md.tx_queues_num, 256, 1024);

	/* Too small a buffer for the strings and arrays. */
	ck_assert_int_eq(memif_get_details(p.s.conn, &md, buf, 16), MEMIF_ERR_NOBUF_DET);

	/* Socket accessors. */
	ck_assert_ptr_eq(memif_get_socket_handle(p.m.conn), p.msock);
	ck_assert_ptr_eq(memif_get_socket_handle(p.s.conn), p.ssock);
	ck_assert_str_eq(memif_get_socket_path(p.msock), p.path);
	ck_assert_str_eq(memif_get_socket_path(p.ssock), p.path);
	lfd = memif_get_listener_fd(p.msock);
	ck_assert_int_ge(lfd, 0);
	ck_assert_msg(t_loop_watches(&p.loop, lfd), "listener fd not handed to the app loop");
	ck_assert_int_eq(memif_get_listener_fd(p.ssock), -1);

	/* Extension: peer credentials (same process on both ends). */
	ck_assert_int_eq(memif_get_peer_credentials(p.m.conn, &cred), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(cred.pid, getpid());
	ck_assert_uint_eq(cred.uid, getuid());
	ck_assert_int_eq(memif_get_peer_credentials(p.s.conn, &cred), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(cred.pid, getpid());

	exchange(&p, 10);
	t_pair_close(&p);
}
END_TEST

/* ---- refusals ---------------------------------------------------------------- */

/* _i: 0 wrong secret, 1 missing secret, 2 wrong id, 3 wrong mode. */
START_TEST(test_refused)
{
	static const char *const words[] = { "secret", "secret", "id", "mode" };
	struct t_pair p;
	memif_details_t md;
	char buf[8192];

	t_pair_init(&p, "refused");
	switch (_i) {
	case 0:
		set_secret(&p.ma, "right");
		set_secret(&p.sa, "wrong");
		break;
	case 1:
		set_secret(&p.ma, "right");
		break;
	case 2:
		p.ma.interface_id = 1;
		p.sa.interface_id = 2;
		break;
	case 3:
		p.ma.mode = MEMIF_INTERFACE_MODE_IP;
		p.sa.mode = MEMIF_INTERFACE_MODE_ETHERNET;
		break;
	}
	t_pair_sockets(&p);
	p.ma.socket = p.msock;
	p.sa.socket = p.ssock;
	ck_assert_int_eq(t_ep_create(&p.m, &p.ma), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(t_ep_create(&p.s, &p.sa), MEMIF_ERR_SUCCESS);

	/* Several retries (100 ms timer) must all be refused. */
	t_loop_run_for(&p.loop, 600);
	ck_assert_int_eq(p.m.n_connect, 0);
	ck_assert_int_eq(p.s.n_connect, 0);
	ck_assert_int_eq(p.m.n_disconnect, 0);
	ck_assert_int_eq(p.s.n_disconnect, 0);

	ck_assert_int_eq(t_details(p.s.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.link_up_down, 0);
	ck_assert_ptr_nonnull(md.error);
	ck_assert_msg(t_contains_ci(md.error, words[_i]),
		      "slave's error \"%s\" does not mention \"%s\"", (char *)md.error, words[_i]);
	ck_assert_int_eq(t_details(p.m.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.link_up_down, 0);

	/* Data path stays closed. */
	{
		memif_buffer_t b[4];
		uint16_t n = 0;

		ck_assert_int_eq(memif_buffer_alloc(p.s.conn, 0, b, 1, &n, 64), MEMIF_ERR_DISCONNECTED);
		ck_assert_uint_eq(n, 0);
	}
	t_pair_close(&p);
}
END_TEST

/* ---- several interfaces on one master socket ---------------------------------- */

START_TEST(test_multiple_interfaces)
{
	enum { N = 3 };
	struct t_loop loop;
	char path[108];
	memif_socket_handle_t msock = NULL, ssock = NULL;
	memif_socket_args_t sa;
	memif_conn_args_t ca;
	struct t_ep m[N], s[N], extra, dup;
	memif_details_t md;
	char buf[8192], name[32];
	bool all_up;

	memset(m, 0, sizeof(m));
	memset(s, 0, sizeof(s));
	memset(&extra, 0, sizeof(extra));
	memset(&dup, 0, sizeof(dup));
	ck_assert_int_eq(t_loop_init(&loop), 0);
	t_sock_path(path, sizeof(path), "multi");
	t_socket_args(&sa, path, "app-m", &loop);
	ck_assert_int_eq(memif_create_socket(&msock, &sa, &loop), MEMIF_ERR_SUCCESS);
	t_socket_args(&sa, path, "app-s", &loop);
	ck_assert_int_eq(memif_create_socket(&ssock, &sa, &loop), MEMIF_ERR_SUCCESS);

	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		t_conn_args(&ca, msock, true, (uint32_t)i, name);
		ck_assert_int_eq(t_ep_create(&m[i], &ca), MEMIF_ERR_SUCCESS);
	}
	/* A second master with a used id on the same socket: accepted, as
	 * upstream (check_upstream tests which one a slave gets). */
	t_conn_args(&ca, msock, true, 1, "dup");
	ck_assert_int_eq(t_ep_create(&dup, &ca), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete(&dup.conn), MEMIF_ERR_SUCCESS);

	/* Slaves in reverse order, all on one client socket. */
	for (int i = N - 1; i >= 0; i--) {
		snprintf(name, sizeof(name), "s%d", i);
		t_conn_args(&ca, ssock, false, (uint32_t)i, name);
		ck_assert_int_eq(t_ep_create(&s[i], &ca), MEMIF_ERR_SUCCESS);
	}
	T_LOOP_UNTIL(&loop, m[0].up && m[1].up && m[2].up && s[0].up && s[1].up && s[2].up, UP_MS);
	all_up = true;
	for (int i = 0; i < N; i++)
		all_up = all_up && m[i].up && s[i].up;
	ck_assert_msg(all_up, "not all %d pairs came up", N);

	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		ck_assert_int_eq(t_details(m[i].conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(md.id, (uint32_t)i);
		ck_assert_str_eq((char *)md.remote_if_name, name);
		snprintf(name, sizeof(name), "m%d", i);
		ck_assert_int_eq(t_details(s[i].conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
		ck_assert_str_eq((char *)md.remote_if_name, name);
	}

	/* A slave with an id nobody serves is refused; the others stay up. */
	t_conn_args(&ca, ssock, false, 9, "s9");
	ck_assert_int_eq(t_ep_create(&extra, &ca), MEMIF_ERR_SUCCESS);
	t_loop_run_for(&loop, 400);
	ck_assert_int_eq(extra.n_connect, 0);
	ck_assert_int_eq(t_details(extra.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.link_up_down, 0);
	ck_assert_msg(t_contains_ci(md.error, "id"), "error \"%s\" does not mention the id",
		      (char *)md.error);

	/* Traffic lands on the right master: each slave numbers from 100 * id. */
	for (int i = 0; i < N; i++) {
		struct t_txq tq = { .next_seq = 100u * (uint32_t)i };

		t_ep_rxq(&m[i], 0)->next_seq = 100u * (uint32_t)i;
		m[i].rx_on_interrupt = true;
		ck_assert_uint_eq(t_tx_frames(s[i].conn, 0, &tq, 3, 64, 8), 3);
	}
	T_LOOP_UNTIL(&loop,
		     t_ep_rxq(&m[0], 0)->packets == 3 && t_ep_rxq(&m[1], 0)->packets == 3 &&
			     t_ep_rxq(&m[2], 0)->packets == 3,
		     2000);
	for (int i = 0; i < N; i++) {
		struct t_rxq *rq = t_ep_rxq(&m[i], 0);

		ck_assert_uint_eq(rq->packets, 3);
		ck_assert_uint_eq(rq->out_of_order, 0);
		ck_assert_uint_eq(rq->bad, 0);
	}
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(m[i].n_connect, 1);
		ck_assert_int_eq(s[i].n_connect, 1);
	}

	ck_assert_int_eq(memif_delete(&extra.conn), MEMIF_ERR_SUCCESS);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(memif_delete(&s[i].conn), MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(memif_delete(&m[i].conn), MEMIF_ERR_SUCCESS);
		t_ep_free(&m[i]);
		t_ep_free(&s[i]);
	}
	ck_assert_int_eq(memif_delete_socket(&ssock), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete_socket(&msock), MEMIF_ERR_SUCCESS);
	t_ep_free(&extra);
	t_loop_fini(&loop);
}
END_TEST

/* Many interfaces on one socket pair: the per-socket tables grow and shrink. */
START_TEST(test_many_interfaces)
{
	enum { N = 32 };
	struct t_pair p;
	struct t_ep *m, *s;
	memif_conn_args_t ca;
	char name[32];
	int up;

	m = calloc(N, sizeof(*m));
	s = calloc(N, sizeof(*s));
	ck_assert(m != NULL && s != NULL);
	t_pair_init(&p, "many");
	t_pair_sockets(&p);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		t_conn_args(&ca, p.msock, true, (uint32_t)(1000 + i), name);
		ca.log2_ring_size = 6;
		ck_assert_int_eq(t_ep_create(&m[i], &ca), MEMIF_ERR_SUCCESS);
	}
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		t_conn_args(&ca, p.ssock, false, (uint32_t)(1000 + i), name);
		ca.log2_ring_size = 6;
		ck_assert_int_eq(t_ep_create(&s[i], &ca), MEMIF_ERR_SUCCESS);
	}
	up = 0;
	for (int64_t dl = t_deadline(5000); up < 2 * N && t_loop_step(&p.loop, dl);) {
		up = 0;
		for (int i = 0; i < N; i++)
			up += m[i].up + s[i].up;
	}
	ck_assert_int_eq(up, 2 * N);

	/* Delete the even pairs, masters upwards and slaves downwards; the odd ones stay up. */
	for (int i = 0; i < N; i += 2) {
		ck_assert_int_eq(memif_delete(&m[i].conn), MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(memif_delete(&s[N - 2 - i].conn), MEMIF_ERR_SUCCESS);
	}
	t_loop_run_for(&p.loop, 300);
	for (int i = 1; i < N; i += 2) {
		struct t_txq tq = { .next_seq = (uint32_t)i };

		ck_assert_msg(m[i].up && m[i].n_disconnect == 0, "master %d went down", i);
		ck_assert_msg(s[i].up && s[i].n_disconnect == 0, "slave %d went down", i);
		t_ep_rxq(&m[i], 0)->next_seq = (uint32_t)i;
		m[i].rx_on_interrupt = true;
		ck_assert_uint_eq(t_tx_frames(s[i].conn, 0, &tq, 1, 64, 1), 1);
	}
	T_LOOP_UNTIL(&p.loop, t_ep_rxq(&m[N - 1], 0)->packets == 1, 1000);
	t_loop_run_for(&p.loop, 50);
	for (int i = 0; i < N; i++) {
		if (i % 2 == 1) {
			ck_assert_uint_eq(t_ep_rxq(&m[i], 0)->packets, 1);
			ck_assert_uint_eq(t_ep_rxq(&m[i], 0)->out_of_order, 0);
		}
		if (m[i].conn != NULL)
			ck_assert_int_eq(memif_delete(&m[i].conn), MEMIF_ERR_SUCCESS);
		if (s[i].conn != NULL)
			ck_assert_int_eq(memif_delete(&s[i].conn), MEMIF_ERR_SUCCESS);
		t_ep_free(&m[i]);
		t_ep_free(&s[i]);
	}
	free(m);
	free(s);
	t_pair_close(&p);
}
END_TEST

/* ---- abstract socket ------------------------------------------------------------ */

START_TEST(test_abstract_socket)
{
	struct t_pair p;
	memif_details_t md;
	char buf[8192];

	t_pair_init(&p, "unused");
	t_abstract_path(p.path, sizeof(p.path), "abs");
	t_pair_connect(&p, UP_MS);

	ck_assert_str_eq(memif_get_socket_path(p.msock), p.path);
	ck_assert_int_eq(t_details(p.s.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_str_eq((char *)md.socket_path, p.path);
	/*
	 * /proc/net/unix shows an abstract name as '@' + name, with any NUL in
	 * the address shown as '@' too: an exact match proves the address length
	 * counts only the name.
	 */
	ck_assert_msg(t_unix_addr_listed(p.path), "%s is not listed in /proc/net/unix", p.path);
	/* Nothing in the file system. */
	ck_assert_int_ne(access(p.path + 1, F_OK), 0);
	exchange(&p, 5);

	ck_assert_int_eq(memif_delete(&p.s.conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete(&p.m.conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete_socket(&p.msock), MEMIF_ERR_SUCCESS);
	ck_assert_msg(!t_unix_addr_listed(p.path), "%s still listed after delete", p.path);
	t_pair_close(&p);
}
END_TEST

/* ---- slave retry ---------------------------------------------------------------- */

/* _i: 0 timer from the socket args, 1 set later with memif_set_connection_request_timer. */
START_TEST(test_retry_short_timer)
{
	struct t_pair p;
	memif_socket_args_t a;
	memif_details_t md;
	char buf[8192];
	int64_t t0, elapsed;

	t_pair_init(&p, "retry");
	t_socket_args(&a, p.path, "app-s", &p.loop);
	if (_i == 1)
		a.connection_request_timer = t_timer_ms(30000);
	ck_assert_int_eq(memif_create_socket(&p.ssock, &a, &p.loop), MEMIF_ERR_SUCCESS);
	p.sa.socket = p.ssock;
	ck_assert_int_eq(t_ep_create(&p.s, &p.sa), MEMIF_ERR_SUCCESS);

	/* Nobody listens yet. */
	t_loop_run_for(&p.loop, 300);
	ck_assert_int_eq(p.s.n_connect, 0);
	ck_assert_int_eq(t_details(p.s.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.link_up_down, 0);

	if (_i == 1)
		ck_assert_int_eq(memif_set_connection_request_timer(p.ssock, t_timer_ms(100)),
				 MEMIF_ERR_SUCCESS);

	t_pair_sockets(&p);
	p.ma.socket = p.msock;
	ck_assert_int_eq(t_ep_create(&p.m, &p.ma), MEMIF_ERR_SUCCESS);
	t0 = t_now_ms();
	T_LOOP_UNTIL(&p.loop, p.m.up && p.s.up, 3000);
	elapsed = t_now_ms() - t0;
	ck_assert_msg(p.m.up && p.s.up, "slave did not connect after the master appeared");
	/* A 100 ms timer: well under the 2 s default. */
	ck_assert_msg(elapsed < 1000, "connected only after %lld ms", (long long)elapsed);
	exchange(&p, 5);
	t_pair_close(&p);
}
END_TEST

START_TEST(test_retry_default_timer)
{
	struct t_pair p;
	memif_socket_args_t a;
	int64_t t0, elapsed;

	t_pair_init(&p, "retrydef");
	t_socket_args(&a, p.path, "app-s", &p.loop);
	memset(&a.connection_request_timer, 0, sizeof(a.connection_request_timer));
	ck_assert_int_eq(memif_create_socket(&p.ssock, &a, &p.loop), MEMIF_ERR_SUCCESS);
	p.sa.socket = p.ssock;
	ck_assert_int_eq(t_ep_create(&p.s, &p.sa), MEMIF_ERR_SUCCESS);
	t_loop_run_for(&p.loop, 200);
	ck_assert_int_eq(p.s.n_connect, 0);

	t_pair_sockets(&p);
	p.ma.socket = p.msock;
	ck_assert_int_eq(t_ep_create(&p.m, &p.ma), MEMIF_ERR_SUCCESS);
	t0 = t_now_ms();
	/* All-zero timer means 2 s here (upstream: never retry). */
	T_LOOP_UNTIL(&p.loop, p.m.up && p.s.up, 4000);
	elapsed = t_now_ms() - t0;
	ck_assert_msg(p.m.up && p.s.up, "slave with the default timer never retried");
	ck_assert_msg(elapsed <= 3000, "connected only after %lld ms", (long long)elapsed);
	t_pair_close(&p);
}
END_TEST

START_TEST(test_request_connection)
{
	struct t_pair p;
	memif_socket_args_t a;
	int err;

	t_pair_init(&p, "request");
	t_socket_args(&a, p.path, "app-s", &p.loop);
	a.connection_request_timer = t_timer_ms(60000);
	ck_assert_int_eq(memif_create_socket(&p.ssock, &a, &p.loop), MEMIF_ERR_SUCCESS);
	p.sa.socket = p.ssock;
	ck_assert_int_eq(t_ep_create(&p.s, &p.sa), MEMIF_ERR_SUCCESS);

	/* No socket file yet: CONNREFUSED (upstream's code for any connect error). */
	err = memif_request_connection(p.s.conn);
	ck_assert_msg(err == MEMIF_ERR_CONNREFUSED, "request_connection without a master: %d (%s)",
		      err, memif_strerror(err));

	t_pair_sockets(&p);
	p.ma.socket = p.msock;
	ck_assert_int_eq(t_ep_create(&p.m, &p.ma), MEMIF_ERR_SUCCESS);
	/* The 60 s timer would not retry in time. */
	t_loop_run_for(&p.loop, 300);
	ck_assert_int_eq(p.s.n_connect, 0);

	/* A master that waits: nothing to do (it listens), as upstream. */
	ck_assert_int_eq(memif_request_connection(p.m.conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_request_connection(p.s.conn), MEMIF_ERR_SUCCESS);
	/* Connecting, then connected: ALRCONN in both roles, as upstream. */
	ck_assert_int_eq(memif_request_connection(p.s.conn), MEMIF_ERR_ALRCONN);
	T_LOOP_UNTIL(&p.loop, p.m.up && p.s.up, 1000);
	ck_assert_msg(p.m.up && p.s.up, "memif_request_connection did not connect");
	ck_assert_int_eq(memif_request_connection(p.s.conn), MEMIF_ERR_ALRCONN);
	ck_assert_int_eq(memif_request_connection(p.m.conn), MEMIF_ERR_ALRCONN);
	ck_assert_int_eq(memif_request_connection(NULL), MEMIF_ERR_NOCONN);
	t_pair_close(&p);
}
END_TEST

/* ---- delete and reconnect ---------------------------------------------------------- */

/* _i: 0 delete the master, 1 delete the slave. */
START_TEST(test_delete_connected)
{
	struct t_pair p;
	struct t_ep *gone, *peer;
	memif_details_t md;
	char buf[8192];

	t_pair_init(&p, "delete");
	t_pair_connect(&p, UP_MS);
	gone = _i == 0 ? &p.m : &p.s;
	peer = _i == 0 ? &p.s : &p.m;

	ck_assert_int_eq(memif_delete(&gone->conn), MEMIF_ERR_SUCCESS);
	ck_assert_ptr_null(gone->conn);
	/* on_disconnect of a connected interface runs inside memif_delete. */
	ck_assert_int_eq(gone->n_disconnect, 1);
	T_LOOP_UNTIL(&p.loop, peer->n_disconnect == 1, 2000);
	ck_assert_int_eq(peer->n_disconnect, 1);
	ck_assert(!peer->up);
	ck_assert_int_eq(t_details(peer->conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.link_up_down, 0);
	/* The disconnect reason is kept for the app. */
	ck_assert_msg(md.error != NULL && md.error[0] != '\0', "no disconnect reason recorded");
	/* Data path of the survivor is closed. */
	{
		memif_buffer_t b[4];
		uint16_t n = 0;

		ck_assert_int_eq(memif_buffer_alloc(peer->conn, 0, b, 1, &n, 64),
				 MEMIF_ERR_DISCONNECTED);
		ck_assert_int_eq(memif_rx_burst(peer->conn, 0, b, 4, &n), MEMIF_ERR_DISCONNECTED);
	}
	/* No reconnect to a deleted interface; no second on_disconnect. */
	t_loop_run_for(&p.loop, 300);
	ck_assert_int_eq(peer->n_connect, 1);
	ck_assert_int_eq(peer->n_disconnect, 1);
	ck_assert_int_eq(gone->n_disconnect, 1);
	t_pair_close(&p);
}
END_TEST

/*
 * _i: bit 0 = delete the master (else the slave), _i >> 1 = fd events
 * handled before the delete: the handshake is cut at every step. The
 * survivor never sees on_disconnect without a prior on_connect, the deleted
 * one sees exactly one, nothing leaks, and a recreated interface connects.
 */
START_TEST(test_delete_mid_handshake)
{
	struct t_pair p;
	struct t_ep *gone, *peer;
	memif_conn_args_t *args;
	int steps = _i >> 1;

	t_pair_init(&p, "midway");
	gone = (_i & 1) ? &p.m : &p.s;
	peer = (_i & 1) ? &p.s : &p.m;
	args = (_i & 1) ? &p.ma : &p.sa;
	t_pair_sockets(&p);
	p.ma.socket = p.msock;
	p.sa.socket = p.ssock;
	ck_assert_int_eq(t_ep_create(&p.m, &p.ma), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(t_ep_create(&p.s, &p.sa), MEMIF_ERR_SUCCESS);
	for (int k = 0; k < steps; k++)
		t_loop_run_one(&p.loop, 200);

	ck_assert_int_eq(memif_delete(&gone->conn), MEMIF_ERR_SUCCESS);
	/* One on_disconnect either way: of the link if it came up, else of the
	 * delete (as upstream, whose memif_delete always calls it). */
	ck_assert_int_eq(gone->n_disconnect, 1);
	ck_assert_int_le(gone->n_connect, 1);
	T_LOOP_UNTIL(&p.loop, peer->n_disconnect == peer->n_connect, 2000);
	t_loop_run_for(&p.loop, 200);
	ck_assert_msg(peer->n_disconnect == peer->n_connect,
		      "survivor: %d on_connect, %d on_disconnect", peer->n_connect,
		      peer->n_disconnect);
	ck_assert(!peer->up);

	t_ep_free(gone);
	memset(gone, 0, sizeof(*gone));
	ck_assert_int_eq(t_ep_create(gone, args), MEMIF_ERR_SUCCESS);
	T_LOOP_UNTIL(&p.loop, p.m.up && p.s.up, UP_MS);
	ck_assert_msg(p.m.up && p.s.up, "no connect after a delete at step %d", steps);
	t_ep_rxq(peer, 0)->next_seq = 0;
	exchange(&p, 3);
	t_pair_close(&p);
}
END_TEST

/* _i: 0 recreate the slave, 1 recreate the master. */
START_TEST(test_reconnect_after_recreate)
{
	struct t_pair p;
	struct t_ep *gone, *peer;
	memif_conn_args_t *args;

	t_pair_init(&p, "recreate");
	t_pair_connect(&p, UP_MS);
	exchange(&p, 5);
	gone = _i == 0 ? &p.s : &p.m;
	peer = _i == 0 ? &p.m : &p.s;
	args = _i == 0 ? &p.sa : &p.ma;

	for (int round = 2; round <= 3; round++) {
		ck_assert_int_eq(memif_delete(&gone->conn), MEMIF_ERR_SUCCESS);
		T_LOOP_UNTIL(&p.loop, !peer->up, 2000);
		ck_assert(!peer->up);
		t_ep_free(gone);
		memset(gone, 0, sizeof(*gone));
		ck_assert_int_eq(t_ep_create(gone, args), MEMIF_ERR_SUCCESS);
		T_LOOP_UNTIL(&p.loop, p.m.up && p.s.up, UP_MS);
		ck_assert_msg(p.m.up && p.s.up, "no reconnect in round %d", round);
		ck_assert_int_eq(peer->n_connect, round);
		ck_assert_int_eq(gone->n_connect, 1);
		/* Sequence numbers start over on the new interface. */
		t_ep_rxq(peer, 0)->next_seq = 0;
		exchange(&p, 5);
	}
	t_pair_close(&p);
}
END_TEST

/* ---- socket files ------------------------------------------------------------------ */

static int unix_listener(const char *path, bool do_listen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (do_listen)
		ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

static bool can_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool ok;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

START_TEST(test_stale_socket_replaced)
{
	struct t_pair p;
	struct stat st;

	t_pair_init(&p, "stale");
	/* A socket file left by a process that died without unlinking it. */
	close(unix_listener(p.path, true));
	ck_assert_int_eq(stat(p.path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert(!can_connect(p.path));

	t_pair_connect(&p, UP_MS);
	exchange(&p, 3);
	t_pair_close(&p);
	/* The listener's file goes with its socket. */
	ck_assert_int_ne(access(p.path, F_OK), 0);
}
END_TEST

START_TEST(test_live_listener_refused)
{
	struct t_pair p;
	int live, cfd, err;

	t_pair_init(&p, "live");
	live = unix_listener(p.path, true);
	t_pair_sockets(&p);
	p.ma.socket = p.msock;
	err = t_ep_create(&p.m, &p.ma);
	ck_assert_msg(err != MEMIF_ERR_SUCCESS, "master took over a live listener's path");
	ck_assert_msg(err == MEMIF_ERR_ALREADY, "live listener: %d (%s), want ALREADY", err,
		      memif_strerror(err));
	ck_assert_ptr_null(p.m.conn);
	ck_assert_int_eq(memif_get_listener_fd(p.msock), -1);
	/* The live listener still owns the path. */
	ck_assert(can_connect(p.path));
	cfd = accept4(live, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(cfd, 0);
	close(cfd);

	/* Once it is gone (file left behind), the master can take over. */
	close(live);
	t_pair_connect(&p, UP_MS);
	ck_assert_int_eq(p.m.n_connect, 1);
	t_pair_close(&p);
}
END_TEST

START_TEST(test_path_not_socket)
{
	struct t_pair p;
	int fd;

	t_pair_init(&p, "regular");
	fd = open(p.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	t_pair_sockets(&p);
	p.ma.socket = p.msock;
	ck_assert_int_eq(t_ep_create(&p.m, &p.ma), MEMIF_ERR_FILE_NOT_SOCK);
	ck_assert_ptr_null(p.m.conn);
	/* A regular file is never removed. */
	ck_assert_int_eq(access(p.path, F_OK), 0);
	t_pair_close(&p);
}
END_TEST

START_TEST(test_set_listener_fd)
{
	struct t_pair p;
	int fd;

	t_pair_init(&p, "inherited");
	fd = unix_listener(p.path, true);
	t_pair_sockets(&p);
	ck_assert_int_eq(memif_set_listener_fd(p.msock, fd), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_get_listener_fd(p.msock), fd);
	t_pair_connect(&p, UP_MS);
	ck_assert_int_eq(memif_get_listener_fd(p.msock), fd);
	/* Already listening: refused, and the fd stays ours. */
	{
		int other = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

		ck_assert_int_ge(other, 0);
		ck_assert_int_eq(memif_set_listener_fd(p.msock, other), MEMIF_ERR_INVAL_ARG);
		ck_assert_int_eq(close(other), 0);
	}
	exchange(&p, 3);
	/* The library owns fd now: deleting the socket closes it (fd fixture). */
	t_pair_close(&p);
}
END_TEST

START_TEST(test_delete_socket_in_use)
{
	struct t_pair p;
	memif_socket_handle_t null_sock = NULL, msock;

	t_pair_init(&p, "inuse");
	t_pair_connect(&p, UP_MS);

	msock = p.msock;
	ck_assert_int_eq(memif_delete_socket(&p.msock), MEMIF_ERR_INVAL_ARG);
	ck_assert_ptr_eq(p.msock, msock);
	ck_assert_int_eq(memif_delete_socket(&p.ssock), MEMIF_ERR_INVAL_ARG);
	ck_assert_ptr_nonnull(p.ssock);
	ck_assert_int_eq(memif_delete_socket(NULL), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_delete_socket(&null_sock), MEMIF_ERR_INVAL_ARG);
	/* Still working. */
	ck_assert(p.m.up && p.s.up);
	exchange(&p, 3);

	ck_assert_int_eq(memif_delete(&p.s.conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete_socket(&p.ssock), MEMIF_ERR_SUCCESS);
	ck_assert_ptr_null(p.ssock);
	ck_assert_int_eq(memif_delete(&p.m.conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete_socket(&p.msock), MEMIF_ERR_SUCCESS);
	ck_assert_ptr_null(p.msock);
	ck_assert_int_ne(access(p.path, F_OK), 0);
	t_pair_close(&p);
}
END_TEST

START_TEST(test_socket_file_perms)
{
	struct t_pair p;
	struct stat st;

	t_pair_init(&p, "perms");
	t_pair_sockets(&p);
	ck_assert_int_eq(memif_set_socket_file_perms(p.msock, 0640, (uid_t)-1, (gid_t)-1),
			 MEMIF_ERR_SUCCESS);
	t_pair_connect(&p, UP_MS);
	ck_assert_int_eq(stat(p.path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_uint_eq(st.st_uid, getuid());
	t_pair_close(&p);
}
END_TEST

/* A raw client sees the master's HELLO, then goes away; the master is unharmed. */
START_TEST(test_raw_hello)
{
	struct t_pair p;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	memif_msg_t msg;
	ssize_t n;
	int fd;

	t_pair_init(&p, "hello");
	t_pair_sockets(&p);
	p.ma.socket = p.msock;
	ck_assert_int_eq(t_ep_create(&p.m, &p.ma), MEMIF_ERR_SUCCESS);

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p.path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	/* The master answers from its loop. */
	T_LOOP_UNTIL(&p.loop, recv(fd, &msg, sizeof(msg), MSG_DONTWAIT | MSG_PEEK) > 0, 1000);
	memset(&msg, 0, sizeof(msg));
	n = recv(fd, &msg, sizeof(msg) + 1, MSG_DONTWAIT);
	ck_assert_int_eq(n, MEMIF_MSG_SIZE);
	ck_assert_uint_eq(msg.type, MEMIF_MSG_TYPE_HELLO);
	ck_assert_uint_le(msg.hello.min_version, MEMIF_VERSION);
	ck_assert_uint_ge(msg.hello.max_version, MEMIF_VERSION);
	ck_assert_str_eq((char *)msg.hello.name, "app-m");
	ck_assert_uint_ge(msg.hello.max_log2_ring_size, 10);
	close(fd);

	/* And serves a real slave afterwards. */
	p.sa.socket = p.ssock;
	ck_assert_int_eq(t_ep_create(&p.s, &p.sa), MEMIF_ERR_SUCCESS);
	T_LOOP_UNTIL(&p.loop, p.m.up && p.s.up, UP_MS);
	ck_assert(p.m.up && p.s.up);
	ck_assert_int_eq(p.m.n_connect, 1);
	t_pair_close(&p);
}
END_TEST

/* ---- on_control_fd_update failures -------------------------------------------------------- */

struct failing_loop {
	struct t_loop loop;
	int fail_at;  /* fail the fail_at-th request to watch an fd (1-based) */
	int requests; /* non-DEL requests seen */
	int failed;
};

static int failing_update(memif_fd_event_t fde, void *private_ctx)
{
	struct failing_loop *f = private_ctx;

	if (!(fde.type & MEMIF_FD_EVENT_DEL) && ++f->requests == f->fail_at) {
		f->failed++;
		return -1;
	}
	return t_loop_fd_update(fde, &f->loop);
}

/*
 * _i: which watch request fails (1st, 2nd, ...). Whatever fails, the call
 * that caused it reports CB_FDUPDATE or the link recovers by itself (the
 * slave retries), no fd leaks and every watched fd is given back.
 */
START_TEST(test_fd_update_failure)
{
	struct failing_loop f;
	char path[108];
	memif_socket_args_t a;
	memif_conn_args_t ca;
	memif_socket_handle_t msock = NULL, ssock = NULL;
	struct t_ep m, s;
	int fds0 = t_fd_count(), rc[4];
	bool all_created;

	memset(&f, 0, sizeof(f));
	memset(&m, 0, sizeof(m));
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(t_loop_init(&f.loop), 0);
	f.fail_at = _i;
	t_sock_path(path, sizeof(path), "fdupdate");

	t_socket_args(&a, path, "app-m", &f.loop);
	a.on_control_fd_update = failing_update;
	rc[0] = memif_create_socket(&msock, &a, &f);
	t_socket_args(&a, path, "app-s", &f.loop);
	a.on_control_fd_update = failing_update;
	rc[1] = memif_create_socket(&ssock, &a, &f);
	rc[2] = rc[3] = -1;
	if (msock != NULL) {
		t_conn_args(&ca, msock, true, 0, "if-m");
		rc[2] = t_ep_create(&m, &ca);
	}
	if (ssock != NULL) {
		t_conn_args(&ca, ssock, false, 0, "if-s");
		rc[3] = t_ep_create(&s, &ca);
	}
	for (int k = 0; k < 4; k++)
		ck_assert_msg(rc[k] == MEMIF_ERR_SUCCESS || rc[k] == MEMIF_ERR_CB_FDUPDATE || rc[k] == -1,
			      "call %d failed with %d (%s)", k, rc[k], memif_strerror(rc[k]));
	ck_assert_msg((rc[0] == MEMIF_ERR_SUCCESS) == (msock != NULL), "socket handle vs result");
	ck_assert_msg((rc[1] == MEMIF_ERR_SUCCESS) == (ssock != NULL), "socket handle vs result");
	ck_assert_msg((rc[2] == MEMIF_ERR_SUCCESS) == (m.conn != NULL), "conn handle vs result");
	ck_assert_msg((rc[3] == MEMIF_ERR_SUCCESS) == (s.conn != NULL), "conn handle vs result");

	all_created = m.conn != NULL && s.conn != NULL;
	T_LOOP_UNTIL(&f.loop, m.up && s.up, all_created ? UP_MS : 500);
	if (all_created)
		ck_assert_msg(m.up && s.up, "no recovery after watch request %d failed (failed %d)",
			      _i, f.failed);
	else
		ck_assert_int_eq(m.n_connect + s.n_connect, 0);

	if (s.conn != NULL)
		ck_assert_int_eq(memif_delete(&s.conn), MEMIF_ERR_SUCCESS);
	if (m.conn != NULL)
		ck_assert_int_eq(memif_delete(&m.conn), MEMIF_ERR_SUCCESS);
	if (ssock != NULL)
		ck_assert_int_eq(memif_delete_socket(&ssock), MEMIF_ERR_SUCCESS);
	if (msock != NULL)
		ck_assert_int_eq(memif_delete_socket(&msock), MEMIF_ERR_SUCCESS);
	ck_assert_msg(f.loop.nfds == 0, "%d fds still watched (watch request %d failed)",
		      f.loop.nfds, _i);
	t_loop_fini(&f.loop);
	t_ep_free(&m);
	t_ep_free(&s);
	ck_assert_int_eq(t_fd_count(), fds0);
}
END_TEST

/* ---- argument errors --------------------------------------------------------------- */

START_TEST(test_bad_args)
{
	struct t_pair p;
	memif_socket_args_t a;
	memif_conn_args_t ca;
	memif_socket_handle_t sock = NULL;
	memif_conn_handle_t conn = NULL;
	memif_details_t md;
	memif_buffer_t b[8];
	memif_queue_stats_t qs;
	char buf[8192];
	uint16_t n = 0;
	int fd = -1, err;
	memif_ring_details_t *ring_rd = t_ring_details_new(8);

	t_pair_init(&p, "badargs");

	/* Sockets. */
	t_socket_args(&a, p.path, "app", &p.loop);
	ck_assert_int_eq(memif_create_socket(NULL, &a, &p.loop), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_create_socket(&sock, NULL, &p.loop), MEMIF_ERR_INVAL_ARG);
	memset(a.path, 'x', sizeof(a.path)); /* not terminated */
	ck_assert_int_eq(memif_create_socket(&sock, &a, &p.loop), MEMIF_ERR_INVAL_ARG);
	ck_assert_ptr_null(sock);
	ck_assert_ptr_null(memif_get_socket_path(NULL));
	ck_assert_int_eq(memif_get_listener_fd(NULL), -1);
	ck_assert_int_eq(memif_set_listener_fd(NULL, 0), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_set_connection_request_timer(NULL, t_timer_ms(100)),
			 MEMIF_ERR_INVAL_ARG);
	ck_assert_ptr_null(memif_get_socket_handle(NULL));

	/* Interfaces. */
	t_pair_sockets(&p);
	t_conn_args(&ca, p.msock, true, 0, "x");
	ck_assert_int_eq(memif_create(NULL, &ca, NULL, NULL, NULL, NULL), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_create(&conn, NULL, NULL, NULL, NULL, NULL), MEMIF_ERR_INVAL_ARG);
	ca.log2_ring_size = 15;
	err = memif_create(&conn, &ca, NULL, NULL, NULL, NULL);
	ck_assert_msg(err == MEMIF_ERR_INVAL_ARG || err == MEMIF_ERR_MAX_RING,
		      "log2_ring_size 15: %d (%s)", err, memif_strerror(err));
	ck_assert_ptr_null(conn);
	ck_assert_int_eq(memif_delete(NULL), MEMIF_ERR_INVAL_ARG);
	conn = NULL;
	ck_assert_int_eq(memif_delete(&conn), MEMIF_ERR_NOCONN); /* upstream's code */

	/* A socket holds masters and slaves alike (upstream's loopback does). */
	p.ma.socket = p.msock;
	ck_assert_int_eq(t_ep_create(&p.m, &p.ma), MEMIF_ERR_SUCCESS);
	t_conn_args(&ca, p.msock, false, 5, "slave-too");
	ck_assert_int_eq(memif_create(&conn, &ca, NULL, NULL, NULL, NULL), MEMIF_ERR_SUCCESS);
	ck_assert_ptr_nonnull(conn);
	ck_assert_int_eq(memif_delete(&conn), MEMIF_ERR_SUCCESS);
	ck_assert_ptr_null(conn);
	/* The same id twice among a socket's masters is accepted, as upstream. */
	t_conn_args(&ca, p.msock, true, p.ma.interface_id, "twin");
	ck_assert_int_eq(memif_create(&conn, &ca, NULL, NULL, NULL, NULL), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete(&conn), MEMIF_ERR_SUCCESS);

	/* A slave on a path nobody serves: the data path gives DISCONNECTED
	 * (upstream's code), introspection NOCONN; the rx mode is kept. */
	{
		char other[108];
		memif_socket_args_t sa;
		memif_socket_handle_t osock = NULL;
		struct t_ep lonely;

		memset(&lonely, 0, sizeof(lonely));
		t_sock_path(other, sizeof(other), "nobody");
		t_socket_args(&sa, other, "app-x", &p.loop);
		ck_assert_int_eq(memif_create_socket(&osock, &sa, &p.loop), MEMIF_ERR_SUCCESS);
		t_conn_args(&ca, osock, false, 0, "lonely");
		ck_assert_int_eq(t_ep_create(&lonely, &ca), MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(memif_buffer_alloc(lonely.conn, 0, b, 1, &n, 64),
				 MEMIF_ERR_DISCONNECTED);
		ck_assert_uint_eq(n, 0);
		ck_assert_int_eq(memif_tx_burst(lonely.conn, 0, b, 0, &n), MEMIF_ERR_DISCONNECTED);
		ck_assert_int_eq(memif_rx_burst(lonely.conn, 0, b, 8, &n), MEMIF_ERR_DISCONNECTED);
		ck_assert_uint_eq(n, 0);
		ck_assert_int_eq(memif_refill_queue(lonely.conn, 0, 1, 0), MEMIF_ERR_DISCONNECTED);
		ck_assert_int_eq(memif_get_tx_ring_details(lonely.conn, ring_rd, 0, 8),
				 MEMIF_ERR_NOCONN);
		ck_assert_int_eq(memif_get_rx_ring_details(lonely.conn, ring_rd, 0, 8),
				 MEMIF_ERR_NOCONN);
		ck_assert_int_eq(memif_set_rx_mode(lonely.conn, MEMIF_RX_MODE_POLLING, 0),
				 MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(memif_set_rx_mode(lonely.conn, MEMIF_RX_MODE_POLLING, 1),
				 MEMIF_ERR_QID);
		ck_assert_int_eq(memif_get_queue_efd(lonely.conn, 0, &fd), MEMIF_ERR_DISCONNECTED);
		ck_assert_int_eq(fd, -1);
		ck_assert_int_eq(memif_get_peer_credentials(lonely.conn, &(memif_peer_cred_t){ 0 }),
				 MEMIF_ERR_NOCONN);
		ck_assert_int_eq(t_details(lonely.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(md.link_up_down, 0);
		ck_assert_int_eq(memif_delete(&lonely.conn), MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(memif_delete_socket(&osock), MEMIF_ERR_SUCCESS);
		t_ep_free(&lonely);
	}

	/* Connected: queue ids out of range give QID; NULL handles INVAL_ARG. */
	p.sa.socket = p.ssock;
	ck_assert_int_eq(t_ep_create(&p.s, &p.sa), MEMIF_ERR_SUCCESS);
	T_LOOP_UNTIL(&p.loop, p.m.up && p.s.up, UP_MS);
	ck_assert(p.m.up && p.s.up);

	ck_assert_int_eq(memif_buffer_alloc(p.s.conn, 5, b, 1, &n, 64), MEMIF_ERR_QID);
	ck_assert_int_eq(memif_buffer_alloc(p.m.conn, 5, b, 1, &n, 64), MEMIF_ERR_QID);
	ck_assert_int_eq(memif_tx_burst(p.s.conn, 5, b, 0, &n), MEMIF_ERR_QID);
	ck_assert_int_eq(memif_rx_burst(p.s.conn, 5, b, 8, &n), MEMIF_ERR_QID);
	ck_assert_int_eq(memif_rx_burst(p.m.conn, 1, b, 8, &n), MEMIF_ERR_QID);
	ck_assert_int_eq(memif_refill_queue(p.s.conn, 5, 1, 0), MEMIF_ERR_QID);
	ck_assert_int_eq(memif_set_rx_mode(p.s.conn, MEMIF_RX_MODE_POLLING, 5), MEMIF_ERR_QID);
	ck_assert_int_eq(memif_get_queue_efd(p.s.conn, 5, &fd), MEMIF_ERR_QID);
	ck_assert_int_eq(memif_get_tx_ring_details(p.s.conn, ring_rd, 5, 8), MEMIF_ERR_QID);
	ck_assert_int_eq(memif_get_rx_ring_details(p.m.conn, ring_rd, 5, 8), MEMIF_ERR_QID);
	ck_assert_int_eq(memif_get_queue_stats(p.s.conn, 5, 1, &qs), MEMIF_ERR_QID);
	ck_assert_int_eq(memif_buffer_enq_tx(p.s.conn, 5, b, 1, &n), MEMIF_ERR_QID);

	/* No handle: NOCONN, the code upstream programs branch on. */
	ck_assert_int_eq(memif_buffer_alloc(NULL, 0, b, 1, &n, 64), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_buffer_alloc(p.s.conn, 0, NULL, 1, &n, 64), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_buffer_alloc(p.s.conn, 0, b, 1, NULL, 64), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_tx_burst(NULL, 0, b, 1, &n), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_rx_burst(NULL, 0, b, 1, &n), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_rx_burst(p.s.conn, 0, NULL, 1, &n), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_rx_burst(p.s.conn, 0, b, 1, NULL), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_refill_queue(NULL, 0, 1, 0), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_get_details(NULL, &md, buf, sizeof(buf)), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_get_details(p.s.conn, NULL, buf, sizeof(buf)), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_get_details(p.s.conn, &md, NULL, sizeof(buf)), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_get_queue_efd(NULL, 0, &fd), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_get_queue_efd(p.s.conn, 0, NULL), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_set_rx_mode(NULL, MEMIF_RX_MODE_POLLING, 0), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_get_tx_ring_details(NULL, ring_rd, 0, 8), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_get_tx_ring_details(p.s.conn, NULL, 0, 8), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_get_queue_stats(NULL, 0, 1, &qs), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_get_queue_stats(p.s.conn, 0, 1, NULL), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_get_peer_credentials(NULL, &(memif_peer_cred_t){ 0 }),
			 MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_request_connection(NULL), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_control_fd_handler(NULL, MEMIF_FD_EVENT_READ), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_set_socket_file_perms(NULL, 0600, (uid_t)-1, (gid_t)-1),
			 MEMIF_ERR_INVAL_ARG);
	/* Slave only. */
	ck_assert_int_eq(memif_buffer_enq_tx(p.m.conn, 0, b, 1, &n), MEMIF_ERR_INVAL_ARG);
	/* Nothing broke: the link is still up and carries traffic. */
	ck_assert(p.m.up && p.s.up);
	exchange(&p, 3);
	free(ring_rd);
	t_pair_close(&p);
}
END_TEST

/* ---- strerror and versions ------------------------------------------------------------- */

START_TEST(test_strerror)
{
	const char *known[40];

	for (int i = 0; i <= MEMIF_ERR_PRIVHDR; i++) {
		known[i] = memif_strerror(i);
		ck_assert_msg(known[i] != NULL, "strerror(%d) is NULL", i);
		ck_assert_msg(strlen(known[i]) > 0, "strerror(%d) is empty", i);
	}
	ck_assert_int_eq(MEMIF_ERR_PRIVHDR, 39);
	ck_assert_int_eq(MEMIF_ERR_POLL_CANCEL, 37);
	ck_assert_int_eq(MEMIF_ERR_NOCONN, 12);
	/* A sentence each, not one text for all. */
	for (int i = 0; i <= MEMIF_ERR_PRIVHDR; i++)
		for (int j = i + 1; j <= MEMIF_ERR_PRIVHDR; j++)
			ck_assert_msg(strcmp(known[i], known[j]) != 0,
				      "codes %d and %d share the text \"%s\"", i, j, known[i]);

	{
		const int unknown[] = { -1, 40, 41, 255, 1000, -2147483647 - 1, 2147483647 };

		for (size_t k = 0; k < sizeof(unknown) / sizeof(unknown[0]); k++) {
			const char *s = memif_strerror(unknown[k]);

			ck_assert_msg(s != NULL, "strerror(%d) is NULL", unknown[k]);
			ck_assert_msg(strlen(s) > 0, "strerror(%d) is empty", unknown[k]);
			for (int i = 0; i <= MEMIF_ERR_PRIVHDR; i++)
				ck_assert_msg(i == 0 || strcmp(s, known[i]) != 0,
					      "unknown code %d reads as code %d", unknown[k], i);
			ck_assert_str_ne(s, known[0]);
		}
	}
}
END_TEST

START_TEST(test_versions)
{
	ck_assert_uint_eq(memif_get_version(), 0x0200);
	ck_assert_uint_eq(memif_get_version(), MEMIF_VERSION);
	ck_assert_ptr_nonnull(memif_get_version_str());
	ck_assert_str_eq(memif_get_version_str(), "2.0");
	ck_assert_str_eq(LIBMEMIF_VERSION, "4.0");
	ck_assert_str_eq(MEMIF_DEFAULT_APP_NAME, "libmemif-app");
	ck_assert_int_eq(MEMIF_HAVE_CANCEL_POLL_EVENT, 1);
}
END_TEST

static Suite *handshake_suite(void)
{
	Suite *s = suite_create("handshake");
	TCase *tc;

	tc = t_tcase("connect", 20);
	tcase_add_test(tc, test_connect_details);
	tcase_add_loop_test(tc, test_refused, 0, 4);
	tcase_add_test(tc, test_multiple_interfaces);
	tcase_add_test(tc, test_many_interfaces);
	tcase_add_test(tc, test_abstract_socket);
	suite_add_tcase(s, tc);

	tc = t_tcase("retry", 20);
	tcase_add_loop_test(tc, test_retry_short_timer, 0, 2);
	tcase_add_test(tc, test_retry_default_timer);
	tcase_add_test(tc, test_request_connection);
	suite_add_tcase(s, tc);

	tc = t_tcase("lifecycle", 20);
	tcase_add_loop_test(tc, test_delete_connected, 0, 2);
	tcase_add_loop_test(tc, test_reconnect_after_recreate, 0, 2);
	tcase_add_loop_test(tc, test_delete_mid_handshake, 0, 36);
	tcase_add_test(tc, test_delete_socket_in_use);
	suite_add_tcase(s, tc);

	tc = t_tcase("socket_file", 20);
	tcase_add_test(tc, test_stale_socket_replaced);
	tcase_add_test(tc, test_live_listener_refused);
	tcase_add_test(tc, test_path_not_socket);
	tcase_add_test(tc, test_set_listener_fd);
	tcase_add_test(tc, test_socket_file_perms);
	tcase_add_test(tc, test_raw_hello);
	suite_add_tcase(s, tc);

	tc = t_tcase("fd_update_failure", 20);
	tcase_add_loop_test(tc, test_fd_update_failure, 1, 14);
	suite_add_tcase(s, tc);

	tc = t_tcase("errors", 20);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_versions);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(handshake_suite());
}
