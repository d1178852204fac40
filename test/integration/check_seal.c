/* SPDX-License-Identifier: MIT */
/*
 * check_seal.c - regions sealed against shrinking, and what happens when
 * they are not.
 *
 * A master maps the memory a slave sends. It seals each region's fd with
 * F_SEAL_SHRINK when it can; a memfd made without MFD_ALLOW_SEALING (VPP's
 * zero-copy slave, DPDK's zero-copy client) cannot be sealed and is mapped
 * anyway by default, as upstream libmemif, VPP and DPDK do. This file shows:
 *
 *   api        memif_set_socket_require_sealed and memif_get_region_sealed:
 *              bad handles, NULL, link down, an index out of range; a strict
 *              master and our own slave connect (our memfds are sealed) and
 *              move 8 frames each way.
 *   sigbus     the risk of the default, truthfully: our master in a forked
 *              child serves a slave whose memfds cannot be sealed, receives
 *              its 8 frames, and once the slave truncates the ring region it
 *              dies of SIGBUS at its next access.
 *
 * The hostile-peer side of it (a strict master refuses an unsealable region
 * at ADD_REGION, a default master moves traffic over one) is in
 * check_hostile.c: test_master_region_shrunk and test_master_unsealed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "hostile.h"

#define WAIT_MS 3000
#define LOG2 4
#define FRAMES 8

#define MSG_LISTENING 0x11500000u
#define MSG_GOT_FRAMES 0x6f700000u

/* 8 frames from `from` to `to` on queue 0, all verified. */
static void frames(struct t_pair *p, struct t_ep *from, struct t_ep *to)
{
	struct t_txq tx = { 0 };
	struct t_rxq *rq = t_ep_rxq(to, 0);

	ck_assert_uint_eq(t_tx_frames(from->conn, 0, &tx, FRAMES, 100, FRAMES), FRAMES);
	T_LOOP_UNTIL(&p->loop, (t_rx_drain(to->conn, 0, rq), rq->packets >= FRAMES), WAIT_MS);
	ck_assert_uint_eq(rq->packets, FRAMES);
	ck_assert_uint_eq(rq->bad, 0);
}

/* Each of the slave's memfds carries its region's index in its name (what
 * /proc and a debugger show of the shared memory). */
static void assert_region_names(memif_conn_handle_t conn)
{
	static char buf[4096];
	memif_details_t md;

	ck_assert_int_eq(memif_get_details(conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_ge(md.regions_num, 2);
	for (uint8_t i = 0; i < md.regions_num; i++) {
		char link[64], target[128], want[64];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", md.regions[i].fd);
		n = readlink(link, target, sizeof(target) - 1);
		ck_assert_int_gt(n, 0);
		target[n] = '\0';
		snprintf(want, sizeof(want), "/memfd:memif region %u ", (unsigned)i);
		ck_assert_msg(strncmp(target, want, strlen(want)) == 0, "region %u's fd is %s",
			      (unsigned)i, target);
	}
}

START_TEST(test_api)
{
	struct t_pair p;
	uint8_t sealed = 0xff;

	t_pair_init(&p, "api");
	t_pair_sockets(&p);
	ck_assert_int_eq(memif_set_socket_require_sealed(NULL, 1), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_set_socket_require_sealed(p.msock, 1), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_set_socket_require_sealed(p.ssock, 0), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_get_region_sealed(NULL, 0, &sealed), MEMIF_ERR_INVAL_ARG);

	/* Link down: nothing to report yet. */
	p.ma.socket = p.msock;
	ck_assert_int_eq(t_ep_create(&p.m, &p.ma), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_get_region_sealed(p.m.conn, 0, &sealed), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_get_region_sealed(p.m.conn, 0, NULL), MEMIF_ERR_INVAL_ARG);
	/* A socket handle is no interface handle. */
	ck_assert_int_eq(memif_get_region_sealed((memif_conn_handle_t)p.msock, 0, &sealed),
			 MEMIF_ERR_INVAL_ARG);
	ck_assert_uint_eq(sealed, 0xff);

	/* Strict master, our slave: our memfds are sealed, the link comes up. */
	p.sa.socket = p.ssock;
	ck_assert_int_eq(t_ep_create(&p.s, &p.sa), MEMIF_ERR_SUCCESS);
	T_LOOP_UNTIL(&p.loop, p.m.up && p.s.up, WAIT_MS);
	ck_assert_msg(p.m.up && p.s.up, "a strict master and our slave: link not up (%d, %d)",
		      p.m.up, p.s.up);
	t_assert_regions_sealed(p.m.conn, 1);
	t_assert_regions_sealed(p.s.conn, 1);
	assert_region_names(p.s.conn);
	frames(&p, &p.s, &p.m);
	frames(&p, &p.m, &p.s);

	/* Down again: NOCONN. */
	ck_assert_int_eq(memif_delete(&p.s.conn), MEMIF_ERR_SUCCESS);
	T_LOOP_UNTIL(&p.loop, !p.m.up, WAIT_MS);
	ck_assert(!p.m.up);
	ck_assert_int_eq(memif_get_region_sealed(p.m.conn, 0, &sealed), MEMIF_ERR_NOCONN);
	t_pair_close(&p);
}
END_TEST

/* ---- the SIGBUS of the default ------------------------------------------------- */

struct child_args {
	char path[108];
	int fd; /* reports to the test */
};

/* Our master, in its own process: serves one slave, then keeps receiving. */
static int master_child(void *arg)
{
	struct child_args *a = arg;
	memif_socket_args_t sa;
	memif_conn_args_t ca;
	memif_socket_handle_t sock = NULL;
	struct t_ep ep = { .name = "master" };
	struct t_rxq *rq;
	uint8_t sealed;
	int64_t dl;

	/* An app that does not handle SIGBUS (a sanitizer runtime would). */
	signal(SIGBUS, SIG_DFL);
	t_socket_args(&sa, a->path, "app-m", NULL);
	sa.connection_request_timer = t_timer_ms(50);
	T_PEER_CHECK(memif_create_socket(&sock, &sa, NULL) == MEMIF_ERR_SUCCESS, 10);
	t_conn_args(&ca, sock, true, 0, "if-m");
	ca.log2_ring_size = LOG2;
	T_PEER_CHECK(t_ep_create(&ep, &ca) == MEMIF_ERR_SUCCESS, 11);
	T_PEER_CHECK(t_msg_send(a->fd, MSG_LISTENING) == 0, 12);
	for (dl = t_deadline(WAIT_MS); !ep.up && t_now_ms() < dl;)
		(void)memif_poll_event(sock, 10);
	T_PEER_CHECK(ep.up, 13);
	/* The default mode mapped both regions unsealed. */
	for (uint16_t i = 0; i < 2; i++) {
		sealed = 0xff;
		T_PEER_CHECK(memif_get_region_sealed(ep.conn, i, &sealed) == MEMIF_ERR_SUCCESS, 14);
		T_PEER_CHECK(sealed == 0, 15);
	}
	rq = t_ep_rxq(&ep, 0);
	for (dl = t_deadline(WAIT_MS); rq->packets < FRAMES && t_now_ms() < dl;) {
		(void)memif_poll_event(sock, 1);
		t_rx_drain(ep.conn, 0, rq);
	}
	T_PEER_CHECK(rq->packets == FRAMES && rq->bad == 0, 16);
	T_PEER_CHECK(t_msg_send(a->fd, MSG_GOT_FRAMES) == 0, 17);
	/* Go on as an app does: every rx_burst reads the S2M ring's head. */
	for (dl = t_deadline(WAIT_MS); t_now_ms() < dl;) {
		(void)memif_poll_event(sock, 1);
		t_rx_drain(ep.conn, 0, rq);
	}
	return 0; /* survived the shrink: the test fails */
}

START_TEST(test_unsealed_shrink_sigbus)
{
	struct child_args a;
	struct h_slave hs;
	struct h_pump sleep_pump = { NULL, NULL }; /* the library runs in the child */
	memif_ring_t *s2m;
	uint32_t v = 0;
	int pfd[2], err, status;
	pid_t pid;

	memset(&a, 0, sizeof(a));
	t_sock_path(a.path, sizeof(a.path), "sigbus");
	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	a.fd = pfd[1];
	pid = t_peer_fork(master_child, &a, pfd[1]);
	ck_assert_int_gt(pid, 0);
	close(pfd[1]);
	err = t_msg_recv(pfd[0], &v, WAIT_MS);
	ck_assert_msg(err == 0 && v == MSG_LISTENING, "master did not start (exit %d)",
		      err == 0 ? 0 : t_peer_wait(pid, WAIT_MS));

	/* A slave whose memfds nobody can seal: the default master serves it. */
	ck_assert_int_eq(h_slave_init(&hs, 1, 1, LOG2, 2048, H_MEM_UNSEALABLE), 0);
	hs.fd = h_connect(a.path);
	ck_assert_int_ge(hs.fd, 0);
	err = h_slave_handshake(&hs, 0, NULL, H_SL_CONNECTED, WAIT_MS, &sleep_pump);
	ck_assert_msg(err == 0, "handshake: %s (last type %u)", strerror(-err), hs.last.type);
	s2m = h_slave_ring(&hs, true, 0);
	for (uint16_t i = 0; i < FRAMES; i++) {
		memif_desc_t *d = &s2m->desc[i];

		t_frame_fill(h_slave_buf(&hs, true, 0, i), 100, i);
		d->flags = 0;
		d->region = 1;
		d->offset = h_slave_buf_off(&hs, true, 0, i);
		d->length = 100;
	}
	h_store_release16(&s2m->head, FRAMES);
	err = t_msg_recv(pfd[0], &v, WAIT_MS);
	ck_assert_msg(err == 0 && v == MSG_GOT_FRAMES, "master did not get the frames (exit %d)",
		      err == 0 ? 0 : t_peer_wait(pid, WAIT_MS));

	/* The slave truncates the ring region: the master's next access faults. */
	ck_assert_int_eq(ftruncate(hs.region_fd[0], 0), 0);
	status = t_peer_wait(pid, WAIT_MS);
	ck_assert_msg(status == 128 + SIGBUS,
		      "the master's process ended with status %d, not killed by SIGBUS (%d)",
		      status, 128 + SIGBUS);
	close(pfd[0]);
	h_slave_fini(&hs); /* unmaps without touching the truncated pages */
}
END_TEST

static Suite *seal_suite(void)
{
	Suite *s = suite_create("seal");
	TCase *tc;

	tc = t_tcase("api", 30);
	tcase_add_test(tc, test_api);
	suite_add_tcase(s, tc);

	tc = t_tcase("sigbus", 30);
	tcase_add_test(tc, test_unsealed_shrink_sigbus);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(seal_suite());
}
