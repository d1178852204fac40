/* SPDX-License-Identifier: MIT */
/*
 * check_hostile.c - the library against a peer that breaks the protocol.
 *
 * The hostile peer (test/hostile.c) speaks memif by hand over raw AF_UNIX
 * SOCK_SEQPACKET sockets with SCM_RIGHTS, in the same process and thread as
 * the library, which runs in its own poll mode (on_control_fd_update NULL,
 * memif_poll_event) with a 50 ms timer. Both roles are attacked:
 *
 *   our master   the hostile side connects and plays slave: messages out of
 *                order, unknown types, bad sizes, missing and extra fds,
 *                wrong INIT fields, regions larger than their memfd or not
 *                shared memory, rings outside their region or too large or
 *                out of order or too many, a wrong cookie, an interrupt fd
 *                that is no eventfd, memory shrunk after its check, memory
 *                nobody can seal (served by default, refused in strict
 *                mode); after the link is up: ring indexes beyond the ring,
 *                descriptors outside any region, endless NEXT chains;
 *                idle connections (handshake timeout) and a flood of them.
 *   our slave    the hostile side listens and plays master: anything but
 *                HELLO first, HELLO with a version range without 2.0 or
 *                limits we cannot meet, messages out of order during setup
 *                and after connecting, a master that never says HELLO;
 *                after the link is up: tail beyond what we gave, lengths
 *                past our buffers, moved buffers, endless NEXT chains.
 *
 * After every attack: the library survived, it refused with a reason (a
 * DISCONNECT message carrying one, and/or memif_get_details().error), for
 * data-path attacks the rx/alloc call failed and the link went down within
 * a few timer ticks, no fd is left behind (/proc/self/fd back to where it
 * was), and a well-behaved libmemif peer then connects and moves packets.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "hostile.h"

#define TICK_MS 50    /* our socket's timer: slave retries, fault checks, timeouts */
#define WAIT_MS 3000  /* for what should happen at once */
#define FAULT_MS 1000 /* a data-path fault turns into a disconnect within a few ticks */
#define LOG2 4        /* rings of 16 slots: chains and wraps are quick to reach */
#define RING (1u << LOG2)

/* ---- the library's side --------------------------------------------------------- */

struct env {
	char path[108];
	bool master;                /* our role */
	memif_socket_handle_t sock; /* ours, driven by memif_poll_event */
	memif_conn_args_t args;     /* ours; tweak between env_init and env_start */
	struct t_ep ours;
	memif_socket_handle_t good_sock; /* a well-behaved libmemif peer */
	struct t_ep good;
	struct h_pump pump;
	int base_fds;
};

static void env_pump(void *arg)
{
	struct env *e = arg;

	if (e->sock != NULL)
		(void)memif_poll_event(e->sock, 1);
	if (e->good_sock != NULL)
		(void)memif_poll_event(e->good_sock, 0);
}

#define RUN_UNTIL(e, cond, ms)                                             \
	for (int64_t dl__ = t_deadline(ms); !(cond) && t_now_ms() < dl__;) \
	env_pump(e)

static void run_for(struct env *e, int ms)
{
	int64_t dl = t_deadline(ms);

	while (t_now_ms() < dl)
		env_pump(e);
}

static void env_init(struct env *e, const char *name, bool master)
{
	memif_socket_args_t sa;

	memset(e, 0, sizeof(*e));
	e->master = master;
	t_sock_path(e->path, sizeof(e->path), name);
	t_socket_args(&sa, e->path, "ours", NULL);
	sa.connection_request_timer = t_timer_ms(TICK_MS);
	ck_assert_int_eq(memif_create_socket(&e->sock, &sa, NULL), MEMIF_ERR_SUCCESS);
	t_conn_args(&e->args, e->sock, master, 0, "ours-if");
	e->args.log2_ring_size = LOG2;
	e->ours.name = "ours";
	e->good.name = "good";
	e->pump.fn = env_pump;
	e->pump.arg = e;
}

/* Create our interface and take the fd baseline (nothing connected yet). */
static void env_start(struct env *e)
{
	ck_assert_int_eq(t_ep_create(&e->ours, &e->args), MEMIF_ERR_SUCCESS);
	run_for(e, 5);
	e->base_fds = t_fd_count();
}

static void env_fini(struct env *e)
{
	if (e->good.conn != NULL)
		ck_assert_int_eq(memif_delete(&e->good.conn), MEMIF_ERR_SUCCESS);
	if (e->good_sock != NULL)
		ck_assert_int_eq(memif_delete_socket(&e->good_sock), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete(&e->ours.conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete_socket(&e->sock), MEMIF_ERR_SUCCESS);
	t_ep_free(&e->ours);
	t_ep_free(&e->good);
}

static void conn_error(memif_conn_handle_t c, char *buf, size_t len)
{
	memif_details_t md;
	char dbuf[8192];

	ck_assert_int_eq(t_details(c, &md, dbuf, sizeof(dbuf)), MEMIF_ERR_SUCCESS);
	ck_assert_ptr_nonnull(md.error);
	snprintf(buf, len, "%s", (const char *)md.error);
}

/* Our interface recorded a reason (containing `word`, unless NULL). */
static void assert_our_error(struct env *e, const char *word)
{
	char err[256];

	conn_error(e->ours.conn, err, sizeof(err));
	ck_assert_msg(err[0] != '\0', "no disconnect reason in memif_get_details().error");
	if (word != NULL)
		ck_assert_msg(t_contains_ci(err, word), "reason \"%s\" does not mention \"%s\"",
			      err, word);
}

/* Every fd of the attack is gone: back to the baseline of env_start. */
static void assert_no_leak(struct env *e)
{
	char list[4096];
	int n;

	RUN_UNTIL(e, t_fd_count() == e->base_fds, WAIT_MS);
	n = t_fd_count();
	if (n != e->base_fds) {
		t_fd_dump(list, sizeof(list));
		ck_abort_msg("fd leak: %d fds after the attack, %d before; open: %s", n,
			     e->base_fds, list);
	}
}

/* A normal libmemif peer connects to us within ms, sends 8 frames we receive, leaves. */
static void good_peer_run(struct env *e, int ms)
{
	memif_socket_args_t sa;
	memif_conn_args_t ca;
	struct t_txq tx = { 0 };
	struct t_rxq *rq = t_ep_rxq(&e->ours, 0);
	int n_conn = e->ours.n_connect, n_disc = e->ours.n_disconnect;
	uint64_t pk0, bad0;

	t_socket_args(&sa, e->path, "good", NULL);
	sa.connection_request_timer = t_timer_ms(TICK_MS);
	ck_assert_int_eq(memif_create_socket(&e->good_sock, &sa, NULL), MEMIF_ERR_SUCCESS);
	t_conn_args(&ca, e->good_sock, !e->master, e->args.interface_id, "good-if");
	memcpy(ca.secret, e->args.secret, sizeof(ca.secret));
	ca.mode = e->args.mode;
	ck_assert_int_eq(t_ep_create(&e->good, &ca), MEMIF_ERR_SUCCESS);
	RUN_UNTIL(e, e->ours.up && e->good.up, ms);
	ck_assert_msg(e->ours.up && e->good.up,
		      "a well-behaved peer did not connect after the attack (ours %d, good %d)",
		      e->ours.up, e->good.up);
	ck_assert_int_eq(e->ours.n_connect, n_conn + 1);
	/* A libmemif slave's memfds are sealed, by it and so for its master too. */
	t_assert_regions_sealed(e->ours.conn, 1);
	t_assert_regions_sealed(e->good.conn, 1);

	/* The data path works, from the good peer to us. */
	t_rxq_reset_partial(rq);
	rq->next_seq = 0;
	pk0 = rq->packets;
	bad0 = rq->bad;
	ck_assert_uint_eq(t_tx_frames(e->good.conn, 0, &tx, 8, 100, 8), 8);
	RUN_UNTIL(e, (t_rx_drain(e->ours.conn, 0, rq), rq->packets - pk0 >= 8), WAIT_MS);
	ck_assert_uint_eq(rq->packets - pk0, 8);
	ck_assert_uint_eq(rq->bad, bad0);

	ck_assert_int_eq(memif_delete(&e->good.conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete_socket(&e->good_sock), MEMIF_ERR_SUCCESS);
	t_ep_free(&e->good);
	memset(&e->good, 0, sizeof(e->good));
	e->good.name = "good";
	RUN_UNTIL(e, !e->ours.up, WAIT_MS);
	ck_assert(!e->ours.up);
	ck_assert_int_eq(e->ours.n_disconnect, n_disc + 1);
}

/* ...and leaves no fd behind. */
static void good_peer(struct env *e)
{
	good_peer_run(e, WAIT_MS);
	assert_no_leak(e);
}

/* ---- the hostile side's common steps ------------------------------------------------- */

/*
 * The library must end the channel: returns h_expect_refusal's result
 * (1: DISCONNECT then EOF) and asserts a DISCONNECT with a reason if
 * `need_disconnect`.
 */
static int expect_refusal(struct env *e, int *fd, bool need_disconnect, char *reason, size_t len)
{
	char tmp[MEMIF_DISCONNECT_STRING_LEN + 1];
	int r;

	if (reason == NULL) {
		reason = tmp;
		len = sizeof(tmp);
	}
	r = h_expect_refusal(*fd, reason, len, WAIT_MS, &e->pump);
	ck_assert_msg(r >= 0, "the channel stayed open after the attack");
	if (need_disconnect) {
		ck_assert_msg(r == 1, "closed without a DISCONNECT message");
		ck_assert_msg(reason[0] != '\0', "DISCONNECT without a reason");
	}
	close(*fd);
	*fd = -1;
	return r;
}

enum fdkind {
	FDS_NONE,
	FDS_MEMFD,
	FDS_EVENTFD,
	FDS_TWO,
	FDS_THREE
};

/* Send `len` bytes of a datagram (type at offset 0) with fds of `kind`. */
static void send_raw(int fd, const memif_msg_t *m, size_t len, enum fdkind kind)
{
	uint8_t buf[512];
	int fds[3] = { -1, -1, -1 }, n = 0, err;

	ck_assert_uint_le(len, sizeof(buf));
	memset(buf, 0, sizeof(buf));
	memcpy(buf, m, len < sizeof(*m) ? len : sizeof(*m));
	switch (kind) {
	case FDS_NONE:
		break;
	case FDS_MEMFD:
		fds[n++] = h_memfd(4096, true);
		break;
	case FDS_EVENTFD:
		fds[n++] = h_eventfd();
		break;
	case FDS_THREE:
		fds[n++] = h_eventfd();
		/* fall through */
	case FDS_TWO:
		fds[n++] = h_memfd(4096, true);
		fds[n++] = h_eventfd();
		break;
	}
	for (int i = 0; i < n; i++)
		ck_assert_int_ge(fds[i], 0);
	err = h_send(fd, buf, len, fds, n);
	/* Ours are closed at once: only the library's copies could leak. */
	for (int i = 0; i < n; i++)
		close(fds[i]);
	ck_assert_msg(err == 0, "send: %s", strerror(-err));
}

static void send_msg(int fd, const memif_msg_t *m, enum fdkind kind)
{
	send_raw(fd, m, sizeof(*m), kind);
}

/* Our master: connect raw and read its HELLO. */
static int hs_connect(struct env *e)
{
	memif_msg_t m;
	int fd = h_connect(e->path);

	ck_assert_msg(fd >= 0, "connect: %s", strerror(-fd));
	ck_assert_int_eq(h_expect(fd, MEMIF_MSG_TYPE_HELLO, &m, NULL, WAIT_MS, &e->pump), 0);
	ck_assert_uint_eq(m.hello.min_version, MEMIF_VERSION);
	return fd;
}

/* Our master: a hostile slave with its own memory, handshake up to `stage`. */
static void hs_start(struct env *e, struct h_slave *hs, enum h_slave_stage stage)
{
	int err;

	ck_assert_int_eq(h_slave_init(hs, 1, 1, LOG2, 2048, H_MEM_SEALED), 0);
	hs->fd = h_connect(e->path);
	ck_assert_int_ge(hs->fd, 0);
	err = h_slave_handshake(hs, e->args.interface_id, (const char *)e->args.secret, stage,
				WAIT_MS, &e->pump);
	ck_assert_msg(err == 0, "handshake up to stage %d: %s (last message type %u)", stage,
		      strerror(-err), hs->last.type);
	if (stage == H_SL_CONNECTED) {
		RUN_UNTIL(e, e->ours.up, WAIT_MS);
		ck_assert(e->ours.up);
	}
}

/* Our slave: a hostile master on e->path that has accepted our connection. */
static void hm_start(struct env *e, struct h_master *hm)
{
	ck_assert_int_eq(h_master_init(hm, e->path), 0);
	ck_assert_int_eq(h_master_handshake(hm, NULL, H_MA_ACCEPT, WAIT_MS, &e->pump), 0);
}

/* Our slave: a hostile master all the way to CONNECTED, our link up. */
static void hm_connect(struct env *e, struct h_master *hm)
{
	int err;

	ck_assert_int_eq(h_master_init(hm, e->path), 0);
	err = h_master_handshake(hm, NULL, H_MA_CONNECTED, WAIT_MS, &e->pump);
	ck_assert_msg(err == 0, "handshake: %s (last type %u)", strerror(-err), hm->last.type);
	RUN_UNTIL(e, e->ours.up, WAIT_MS);
	ck_assert(e->ours.up);
	ck_assert_ptr_nonnull(h_master_ring(hm, true, 0));
	ck_assert_ptr_nonnull(h_master_ring(hm, false, 0));
	ck_assert_ptr_nonnull(h_master_ring(hm, true, 0)->ring);
	ck_assert_ptr_nonnull(h_master_ring(hm, false, 0)->ring);
}

static const char long_reason[MEMIF_DISCONNECT_STRING_LEN + 1] =
	"rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr";

/* ==== our master, hostile slave: before INIT ============================================= */

START_TEST(test_master_before_init)
{
	struct env e;
	memif_msg_t m;
	bool need_disc = true;
	int fd;

	env_init(&e, "m-before-init", true);
	env_start(&e);
	fd = hs_connect(&e);
	switch (_i) {
	case 0: /* CONNECT first */
		h_msg_connect(&m, false, "x");
		send_msg(fd, &m, FDS_NONE);
		break;
	case 1:
		h_msg_connect(&m, true, "x");
		send_msg(fd, &m, FDS_NONE);
		break;
	case 2:
		h_msg_ack(&m);
		send_msg(fd, &m, FDS_NONE);
		break;
	case 3:
		h_msg_hello_std(&m, "x");
		send_msg(fd, &m, FDS_NONE);
		break;
	case 4: /* ADD_REGION before INIT, with its memfd */
		h_msg_add_region(&m, 0, 4096);
		send_msg(fd, &m, FDS_MEMFD);
		break;
	case 5: /* ADD_RING before INIT, with its eventfd */
		h_msg_add_ring(&m, true, 0, 0, 0, LOG2);
		send_msg(fd, &m, FDS_EVENTFD);
		break;
	case 6: /* ADD_REGION without its fd */
		h_msg_add_region(&m, 0, 4096);
		send_msg(fd, &m, FDS_NONE);
		break;
	case 7:
		h_msg_raw(&m, 0);
		send_msg(fd, &m, FDS_NONE);
		break;
	case 8:
		h_msg_raw(&m, 9);
		send_msg(fd, &m, FDS_NONE);
		break;
	case 9:
		h_msg_raw(&m, 0xffff);
		send_msg(fd, &m, FDS_MEMFD);
		break;
	case 10: /* short */
		h_msg_init(&m, MEMIF_VERSION, 0, 0, NULL, "x");
		send_raw(fd, &m, 64, FDS_NONE);
		break;
	case 11:
		h_msg_init(&m, MEMIF_VERSION, 0, 0, NULL, "x");
		send_raw(fd, &m, 127, FDS_NONE);
		break;
	case 12:
		h_msg_init(&m, MEMIF_VERSION, 0, 0, NULL, "x");
		send_raw(fd, &m, 129, FDS_NONE);
		break;
	case 13: /* oversized: cut by the receive buffer */
		h_msg_init(&m, MEMIF_VERSION, 0, 0, NULL, "x");
		send_raw(fd, &m, 300, FDS_NONE);
		need_disc = false;
		break;
	case 14: /* INIT with an fd */
		h_msg_init(&m, MEMIF_VERSION, 0, 0, NULL, "x");
		send_msg(fd, &m, FDS_EVENTFD);
		break;
	case 15: /* INIT with three fds: more than the library receives */
		h_msg_init(&m, MEMIF_VERSION, 0, 0, NULL, "x");
		send_msg(fd, &m, FDS_THREE);
		need_disc = false;
		break;
	case 16: /* an empty datagram */
		send_raw(fd, &m, 0, FDS_NONE);
		need_disc = false;
		break;
	case 17: /* DISCONNECT before INIT */
		h_msg_disconnect(&m, 1, long_reason);
		send_msg(fd, &m, FDS_NONE);
		need_disc = false;
		break;
	}
	expect_refusal(&e, &fd, need_disc, NULL, 0);
	/* Nothing reached the interface. */
	ck_assert_int_eq(e.ours.n_connect, 0);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

/*
 * A peer that stops reading its socket: it sends ADD_REGION after ADD_REGION
 * (each a valid memfd) and never reads one ACK. Our side must neither block
 * nor grow without bound: it ends the connection, either when its sends
 * would block or at the region limit, and reports why.
 */
START_TEST(test_master_peer_stops_reading)
{
	struct env e;
	struct h_slave hs;
	memif_msg_t m;
	int rfd;

	env_init(&e, "m-no-read", true);
	env_start(&e);
	hs_start(&e, &hs, H_SL_INIT);
	rfd = h_memfd(4096, true);
	ck_assert_int_ge(rfd, 0);
	for (uint16_t i = 0; i <= 256; i++) {
		h_msg_add_region(&m, i, 4096);
		if (h_send_msg(hs.fd, &m, rfd) != 0)
			break; /* our side already closed the channel */
		env_pump(&e);
	}
	close(rfd);
	ck_assert_msg(h_wait_eof(hs.fd, WAIT_MS, &e.pump),
		      "the library kept a channel whose peer never reads");
	ck_assert_int_eq(e.ours.n_connect, 0);
	assert_our_error(&e, NULL);
	h_slave_fini(&hs);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

/* ==== our master: INIT fields ================================================================ */

START_TEST(test_master_init_fields)
{
	static const char *const words[] = {
		"version", "version", "id", "mode", "secret", "secret"
	};
	struct env e;
	memif_msg_t m;
	char reason[MEMIF_DISCONNECT_STRING_LEN + 1];
	int fd;

	env_init(&e, "m-init", true);
	snprintf((char *)e.args.secret, sizeof(e.args.secret), "s3cret");
	e.args.interface_id = 5;
	env_start(&e);
	fd = hs_connect(&e);
	switch (_i) {
	case 0:
		h_msg_init(&m, 0x0100, 5, 0, "s3cret", "x");
		break;
	case 1:
		h_msg_init(&m, 0x0201, 5, 0, "s3cret", "x");
		break;
	case 2:
		h_msg_init(&m, MEMIF_VERSION, 7, 0, "s3cret", "x");
		break;
	case 3:
		h_msg_init(&m, MEMIF_VERSION, 5, MEMIF_INTERFACE_MODE_IP, "s3cret", "x");
		break;
	case 4:
		h_msg_init(&m, MEMIF_VERSION, 5, 0, "s3creT", "x");
		break;
	case 5:
		h_msg_init(&m, MEMIF_VERSION, 5, 0, NULL, "x");
		break;
	}
	send_msg(fd, &m, FDS_NONE);
	expect_refusal(&e, &fd, true, reason, sizeof(reason));
	ck_assert_msg(t_contains_ci(reason, words[_i]), "reason \"%s\" does not mention \"%s\"",
		      reason, words[_i]);
	if (_i >= 3) /* the interface was found: it tells why it refused */
		assert_our_error(&e, words[_i]);
	ck_assert_int_eq(e.ours.n_connect, 0);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

/* A second slave with an id already in a handshake is refused; the first goes on. */
START_TEST(test_master_same_id_twice)
{
	struct env e;
	struct h_slave a;
	memif_msg_t m;
	char reason[MEMIF_DISCONNECT_STRING_LEN + 1];
	int fd;

	env_init(&e, "m-same-id", true);
	env_start(&e);
	hs_start(&e, &a, H_SL_INIT);
	fd = hs_connect(&e);
	h_msg_init(&m, MEMIF_VERSION, 0, 0, NULL, "intruder");
	send_msg(fd, &m, FDS_NONE);
	expect_refusal(&e, &fd, true, reason, sizeof(reason));
	ck_assert_msg(t_contains_ci(reason, "connected"), "reason: %s", reason);

	/* The first one finishes its handshake undisturbed. */
	ck_assert_int_eq(h_slave_handshake(&a, 0, NULL, H_SL_CONNECTED, WAIT_MS, &e.pump), 0);
	RUN_UNTIL(&e, e.ours.up, WAIT_MS);
	ck_assert(e.ours.up);
	ck_assert_int_eq(e.ours.n_connect, 1);
	h_slave_fini(&a);
	RUN_UNTIL(&e, !e.ours.up, WAIT_MS);
	ck_assert(!e.ours.up);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

/* ==== our master: after INIT ================================================================= */

START_TEST(test_master_after_init)
{
	static const char *const words[] = {
		"unexpected", "unexpected", "unexpected", "unexpected", "connect", "message",
		"message",    NULL,         "message",    "message",    "message", "message",
		NULL,         "peer",       NULL,         "message",    "message",
	};
	struct env e;
	struct h_slave hs;
	memif_msg_t m;
	bool need_disc = true;

	env_init(&e, "m-after-init", true);
	env_start(&e);
	hs_start(&e, &hs, H_SL_INIT);
	switch (_i) {
	case 0: /* INIT again */
		h_msg_init(&m, MEMIF_VERSION, 0, 0, NULL, "x");
		send_msg(hs.fd, &m, FDS_NONE);
		break;
	case 1:
		h_msg_hello_std(&m, "x");
		send_msg(hs.fd, &m, FDS_NONE);
		break;
	case 2:
		h_msg_connect(&m, true, "x");
		send_msg(hs.fd, &m, FDS_NONE);
		break;
	case 3:
		h_msg_ack(&m);
		send_msg(hs.fd, &m, FDS_NONE);
		break;
	case 4: /* CONNECT before any region or ring */
		h_msg_connect(&m, false, "x");
		send_msg(hs.fd, &m, FDS_NONE);
		break;
	case 5:
		h_msg_raw(&m, 9);
		send_msg(hs.fd, &m, FDS_NONE);
		break;
	case 6:
		h_msg_add_region(&m, 0, 4096);
		send_raw(hs.fd, &m, 100, FDS_MEMFD);
		break;
	case 7: /* oversized */
		h_msg_add_region(&m, 0, 4096);
		send_raw(hs.fd, &m, 300, FDS_MEMFD);
		break;
	case 8: /* missing fds */
		h_msg_add_region(&m, 0, hs.region_size[0]);
		send_msg(hs.fd, &m, FDS_NONE);
		break;
	case 9:
		h_msg_add_ring(&m, true, 0, 0, 0, LOG2);
		send_msg(hs.fd, &m, FDS_NONE);
		break;
	case 10: /* extra fds */
		h_msg_connect(&m, false, "x");
		send_msg(hs.fd, &m, FDS_EVENTFD);
		break;
	case 11:
		h_msg_add_region(&m, 0, 4096);
		send_msg(hs.fd, &m, FDS_TWO);
		break;
	case 12:
		h_msg_add_ring(&m, true, 0, 0, 0, LOG2);
		send_msg(hs.fd, &m, FDS_THREE);
		break;
	case 13: /* the peer leaves, with an unterminated 96-byte reason */
		h_msg_disconnect(&m, 1, long_reason);
		send_msg(hs.fd, &m, FDS_NONE);
		need_disc = false;
		break;
	case 14: /* an empty datagram */
		send_raw(hs.fd, &m, 0, FDS_NONE);
		need_disc = false;
		break;
	case 15: /* ring size 2^15 */
		h_msg_add_ring(&m, true, 0, 0, 0, 15);
		send_msg(hs.fd, &m, FDS_EVENTFD);
		break;
	case 16: /* private header */
		h_msg_add_ring(&m, true, 0, 0, 0, LOG2);
		m.add_ring.private_hdr_size = 16;
		send_msg(hs.fd, &m, FDS_EVENTFD);
		break;
	}
	expect_refusal(&e, &hs.fd, need_disc, NULL, 0);
	assert_our_error(&e, words[_i]);
	ck_assert_int_eq(e.ours.n_connect, 0);
	if (_i == 13) {
		char err[256];

		conn_error(e.ours.conn, err, sizeof(err));
		ck_assert_msg(strstr(err, "rrrrrrrrrrrrrrrr") != NULL, "peer reason lost: %s", err);
	}
	h_slave_fini(&hs);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

/* ==== our master: regions ======================================================================= */

START_TEST(test_master_regions)
{
	static const char *const words[] = { "region", "region", "region", "order",
					     "region", "region", "region", "region" };
	struct env e;
	struct h_slave hs;
	memif_msg_t m;
	int rfd = -1, err;

	env_init(&e, "m-regions", true);
	env_start(&e);
	hs_start(&e, &hs, H_SL_INIT);
	switch (_i) {
	case 0: /* announced size larger than the memfd */
		rfd = h_memfd(4096, true);
		h_msg_add_region(&m, 0, 1 << 20);
		break;
	case 1: /* not shared memory: an eventfd */
		rfd = h_eventfd();
		h_msg_add_region(&m, 0, 4096);
		break;
	case 2: { /* a regular file opened read-only: cannot be mapped writable */
		char p[128];
		int w;

		snprintf(p, sizeof(p), "%s/ro.bin", t_tmpdir());
		w = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		ck_assert_int_ge(w, 0);
		ck_assert_int_eq(ftruncate(w, 4096), 0);
		close(w);
		rfd = open(p, O_RDONLY | O_CLOEXEC);
		h_msg_add_region(&m, 0, 4096);
		break;
	}
	case 3: /* index 1 first */
		rfd = h_memfd(4096, true);
		h_msg_add_region(&m, 1, 4096);
		break;
	case 4: /* a terabyte announced for a page */
		rfd = h_memfd(4096, true);
		h_msg_add_region(&m, 0, 1ull << 40);
		break;
	case 5: { /* a socket */
		int sp[2];

		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
		close(sp[1]);
		rfd = sp[0];
		h_msg_add_region(&m, 0, 4096);
		break;
	}
	case 6: /* a directory */
		rfd = open(t_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		h_msg_add_region(&m, 0, 4096);
		break;
	case 7: /* more regions than the limit: 256 are fine, the 257th is not */
		rfd = h_memfd(4096, true);
		for (uint16_t i = 0; i < 256; i++) {
			h_msg_add_region(&m, i, 4096);
			ck_assert_int_eq(h_send_msg(hs.fd, &m, rfd), 0);
			err = h_expect(hs.fd, MEMIF_MSG_TYPE_ACK, &hs.last, NULL, WAIT_MS, &e.pump);
			ck_assert_msg(err == 0, "region %u refused: %s", i, strerror(-err));
		}
		h_msg_add_region(&m, 256, 4096);
		break;
	}
	ck_assert_int_ge(rfd, 0);
	ck_assert_int_eq(h_send_msg(hs.fd, &m, rfd), 0);
	close(rfd);
	expect_refusal(&e, &hs.fd, true, NULL, 0);
	assert_our_error(&e, words[_i]);
	h_slave_fini(&hs);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

/* ==== our master: rings ========================================================================== */

/*
 * Announce the S2M and M2S rings, the one of direction `bad_s2m` with
 * `bad_fd` as its interrupt fd, then CONNECT; stop at the first answer
 * that is not an ACK. If everything was accepted and the link is up, our
 * master transmits one packet (which kicks the M2S interrupt fd). Returns
 * true if a DISCONNECT was already consumed here.
 */
static bool rings_with_irq(struct env *e, struct h_slave *hs, bool bad_s2m, int bad_fd)
{
	memif_msg_t m;
	int err;

	for (int r = 0; r < 2; r++) {
		bool s2m = r == 0;

		h_msg_add_ring(&m, s2m, 0, 0, hs->ring_off[r], LOG2);
		ck_assert_int_eq(h_send_msg(hs->fd, &m, s2m == bad_s2m ? bad_fd : hs->irq_fd[r]),
				 0);
		err = h_expect(hs->fd, MEMIF_MSG_TYPE_ACK, &hs->last, NULL, WAIT_MS, &e->pump);
		if (err == -EPROTO && hs->last.type == MEMIF_MSG_TYPE_DISCONNECT)
			return true;
		ck_assert_msg(err == 0, "ring %d: %s", r, strerror(-err));
	}
	h_msg_connect(&m, false, "x");
	ck_assert_int_eq(h_send_msg(hs->fd, &m, -1), 0);
	err = h_expect(hs->fd, MEMIF_MSG_TYPE_CONNECTED, &hs->last, NULL, WAIT_MS, &e->pump);
	if (err == -EPROTO && hs->last.type == MEMIF_MSG_TYPE_DISCONNECT)
		return true;
	if (err == 0 && e->ours.up) {
		/* Accepted: use it. A pipe whose reader is gone raises SIGPIPE here. */
		memif_buffer_t b;
		uint16_t n = 0, tx = 0;

		h_slave_ring(hs, false, 0)->head = RING;
		for (uint16_t i = 0; i < RING; i++) {
			memif_desc_t *d = &h_slave_ring(hs, false, 0)->desc[i];

			d->region = 1;
			d->offset = h_slave_buf_off(hs, false, 0, i);
			d->length = 2048;
		}
		if (memif_buffer_alloc(e->ours.conn, 0, &b, 1, &n, 64) == MEMIF_ERR_SUCCESS)
			(void)memif_tx_burst(e->ours.conn, 0, &b, n, &tx);
		run_for(e, 3 * TICK_MS);
	}
	return false;
}

START_TEST(test_master_rings)
{
	static const char *const words[] = { "region",  "fit",     "fit",   "fit",  "message",
					     "message", "order",   "order", "ring", "cookie",
					     NULL,      "connect", NULL,    NULL };
	struct env e;
	struct h_slave hs;
	memif_msg_t m;
	int efd, err, bad_fd = -1;
	bool send_it = true, consumed = false;

	env_init(&e, "m-rings", true);
	env_start(&e);
	efd = h_eventfd();
	ck_assert_int_ge(efd, 0);
	hs_start(&e, &hs, H_SL_REGIONS);
	switch (_i) {
	case 0: /* in a region never announced */
		h_msg_add_ring(&m, true, 0, 2, 0, LOG2);
		break;
	case 1: /* past the end of its region */
		h_msg_add_ring(&m, true, 0, 0, (uint32_t)hs.region_size[0] - 128, LOG2);
		break;
	case 2: /* misaligned */
		h_msg_add_ring(&m, true, 0, 0, 4, LOG2);
		break;
	case 3: /* offset + size wraps 32 bits */
		h_msg_add_ring(&m, true, 0, 0, 0xffffff80u, LOG2);
		break;
	case 4: /* 2^15 slots */
		h_msg_add_ring(&m, true, 0, 0, 0, 15);
		break;
	case 5: /* 2^255 slots */
		h_msg_add_ring(&m, false, 0, 0, 0, 255);
		break;
	case 6: /* index 1 first */
		h_msg_add_ring(&m, true, 1, 0, 0, LOG2);
		break;
	case 7: /* M2S index 0 twice */
		h_msg_add_ring(&m, false, 0, 0, 0, LOG2);
		ck_assert_int_eq(h_send_msg(hs.fd, &m, efd), 0);
		ck_assert_int_eq(
			h_expect(hs.fd, MEMIF_MSG_TYPE_ACK, &hs.last, NULL, WAIT_MS, &e.pump), 0);
		break;
	case 8: /* too many rings: 256 S2M are fine, the 257th is not */
		for (uint16_t i = 0; i < 256; i++) {
			h_msg_add_ring(&m, true, i, 0, 0, 0);
			ck_assert_int_eq(h_send_msg(hs.fd, &m, efd), 0);
			err = h_expect(hs.fd, MEMIF_MSG_TYPE_ACK, &hs.last, NULL, WAIT_MS, &e.pump);
			ck_assert_msg(err == 0, "ring %u refused: %s", i, strerror(-err));
		}
		h_msg_add_ring(&m, true, 256, 0, 0, 0);
		break;
	case 9: /* a wrong cookie, found at CONNECT */
		h_slave_ring(&hs, true, 0)->cookie = 0xbadc0de;
		for (uint16_t r = 0; r < 2; r++) {
			h_msg_add_ring(&m, r == 0, 0, 0, hs.ring_off[r], LOG2);
			ck_assert_int_eq(h_send_msg(hs.fd, &m, hs.irq_fd[r]), 0);
			ck_assert_int_eq(h_expect(hs.fd, MEMIF_MSG_TYPE_ACK, &hs.last, NULL,
						  WAIT_MS, &e.pump),
					 0);
		}
		h_msg_connect(&m, false, "x");
		break;
	case 10: /* the S2M interrupt "eventfd" is a memfd: it cannot be watched */
		bad_fd = h_memfd(64, true);
		consumed = rings_with_irq(&e, &hs, true, bad_fd);
		send_it = false;
		break;
	case 11: /* S2M rings only: nothing to transmit on */
		h_msg_add_ring(&m, true, 0, 0, 0, LOG2);
		ck_assert_int_eq(h_send_msg(hs.fd, &m, efd), 0);
		ck_assert_int_eq(
			h_expect(hs.fd, MEMIF_MSG_TYPE_ACK, &hs.last, NULL, WAIT_MS, &e.pump), 0);
		h_msg_connect(&m, false, "x");
		break;
	case 12: { /* the M2S interrupt fd is a pipe without reader: a kick is SIGPIPE */
		int pp[2];

		ck_assert_int_eq(pipe2(pp, O_CLOEXEC), 0);
		close(pp[0]);
		bad_fd = pp[1];
		consumed = rings_with_irq(&e, &hs, false, bad_fd);
		send_it = false;
		break;
	}
	case 13: { /* the S2M interrupt fd is a socket */
		int sp[2];

		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
		close(sp[1]);
		bad_fd = sp[0];
		consumed = rings_with_irq(&e, &hs, true, bad_fd);
		send_it = false;
		break;
	}
	}
	if (send_it)
		ck_assert_int_eq(h_send_msg(hs.fd, &m, m.type == MEMIF_MSG_TYPE_CONNECT ? -1 : efd),
				 0);
	close(efd);
	if (bad_fd >= 0)
		close(bad_fd);
	expect_refusal(&e, &hs.fd, !consumed, NULL, 0);
	assert_our_error(&e, words[_i]);
	ck_assert(!e.ours.up);
	h_slave_fini(&hs);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

/*
 * A region whose memfd is shrunk after the master checked its size: any
 * access past the new end is a SIGBUS. _i & 2 clear: a sealable memfd, our
 * master in its default mode seals it (F_SEAL_SHRINK), the shrink fails
 * and all goes on; _i & 1: shrink before CONNECT (the master then reads the
 * cookies) or after the link is up (it reads ring indexes in rx_burst).
 * _i & 2 set: a memfd made without MFD_ALLOW_SEALING, that nobody can seal,
 * against a master in strict mode (memif_set_socket_require_sealed): it is
 * refused at ADD_REGION, before it is ever mapped, so shrinking it cannot
 * hurt; _i & 1: the slave shrinks it once the refusal came (the reason then
 * names strict mode), or at once after sending ADD_REGION (the size check
 * refuses it first). In default mode such a region is mapped unsealed:
 * test_master_unsealed shows traffic, check_seal.c the SIGBUS of a shrink.
 */
START_TEST(test_master_region_shrunk)
{
	bool after = _i & 1;
	bool strict = _i & 2;
	struct env e;
	struct h_slave hs;
	memif_msg_t m;
	memif_buffer_t bufs[4];
	char reason[MEMIF_DISCONNECT_STRING_LEN + 1];
	uint16_t rx = 0;
	int err;

	env_init(&e, "m-shrink", true);
	if (strict)
		ck_assert_int_eq(memif_set_socket_require_sealed(e.sock, 1), MEMIF_ERR_SUCCESS);
	env_start(&e);
	ck_assert_int_eq(h_slave_init(&hs, 1, 1, LOG2, 2048,
				      strict ? H_MEM_UNSEALABLE : H_MEM_SEALABLE),
			 0);
	hs.fd = h_connect(e.path);
	ck_assert_int_ge(hs.fd, 0);
	if (strict) {
		ck_assert_int_eq(h_slave_handshake(&hs, 0, NULL, H_SL_INIT, WAIT_MS, &e.pump), 0);
		h_msg_add_region(&m, 0, hs.region_size[0]);
		ck_assert_int_eq(h_send_msg(hs.fd, &m, hs.region_fd[0]), 0);
		if (!after) /* before the master has even read ADD_REGION */
			ck_assert_int_eq(ftruncate(hs.region_fd[0], 0), 0);
		err = h_expect(hs.fd, MEMIF_MSG_TYPE_ACK, &hs.last, NULL, WAIT_MS, &e.pump);
		ck_assert_int_eq(err, -EPROTO);
		ck_assert_uint_eq(hs.last.type, MEMIF_MSG_TYPE_DISCONNECT);
		h_get_name(reason, hs.last.disconnect.string, MEMIF_DISCONNECT_STRING_LEN);
		ck_assert_msg(t_contains_ci(reason, "region 0"), "reason \"%s\"", reason);
		if (after) {
			ck_assert_uint_eq(hs.last.disconnect.code, MEMIF_ERR_NO_SHMFD);
			ck_assert_msg(t_contains_ci(reason, "not sealed") &&
					      t_contains_ci(reason, "strict mode"),
				      "reason \"%s\" does not say strict mode refused it", reason);
			/* Nobody sealed it: the shrink works, on memory we never mapped. */
			ck_assert_int_eq(ftruncate(hs.region_fd[0], 0), 0);
		}
		expect_refusal(&e, &hs.fd, false, NULL, 0);
		assert_our_error(&e, after ? "strict mode" : "region 0");
		run_for(&e, 3 * TICK_MS); /* timer ticks: nothing of it is touched */
		ck_assert(!e.ours.up);
		ck_assert_int_eq(e.ours.n_connect, 0);
	} else {
		err = h_slave_handshake(&hs, 0, NULL, after ? H_SL_CONNECTED : H_SL_RINGS, WAIT_MS,
					&e.pump);
		ck_assert_msg(err == 0, "a sealable region was refused: %s (last type %u)",
			      strerror(-err), hs.last.type);
		/* Accepted and sealed: the shrink is refused, all goes on. */
		ck_assert_int_eq(ftruncate(hs.region_fd[0], 0), -1);
		ck_assert_int_eq(errno, EPERM);
		ck_assert_int_eq(ftruncate(hs.region_fd[1], 0), -1);
		ck_assert_int_eq(errno, EPERM);
		if (!after) {
			h_msg_connect(&m, false, "x");
			ck_assert_int_eq(h_send_msg(hs.fd, &m, -1), 0);
			ck_assert_int_eq(h_expect(hs.fd, MEMIF_MSG_TYPE_CONNECTED, &hs.last, NULL,
						  WAIT_MS, &e.pump),
					 0);
		}
		RUN_UNTIL(&e, e.ours.up, WAIT_MS);
		ck_assert(e.ours.up);
		t_assert_regions_sealed(e.ours.conn, 1);
		/* Reads the ring in the region the slave tried to shrink: nothing came. */
		err = memif_rx_burst(e.ours.conn, 0, bufs, 4, &rx);
		ck_assert_msg(err == MEMIF_ERR_SUCCESS, "rx_burst on an empty ring: %s",
			      memif_strerror(err));
		ck_assert_uint_eq(rx, 0);
		h_slave_close(&hs);
		RUN_UNTIL(&e, !e.ours.up, WAIT_MS);
	}
	h_slave_fini(&hs);
	assert_no_leak(&e);
	good_peer(&e); /* in strict mode too: a sealable libmemif slave is served */
	env_fini(&e);
}
END_TEST

/* ==== our master: after the link is up ============================================================== */

START_TEST(test_master_after_connect)
{
	struct env e;
	struct h_slave hs;
	memif_msg_t m;
	enum fdkind kind = FDS_NONE;

	env_init(&e, "m-after-connect", true);
	env_start(&e);
	hs_start(&e, &hs, H_SL_CONNECTED);
	switch (_i) {
	case 0:
		h_msg_ack(&m);
		break;
	case 1:
		h_msg_add_region(&m, 2, 4096);
		kind = FDS_MEMFD;
		break;
	case 2:
		h_msg_add_ring(&m, true, 1, 0, 0, LOG2);
		kind = FDS_EVENTFD;
		break;
	case 3:
		h_msg_connect(&m, false, "again");
		break;
	case 4:
		h_msg_init(&m, MEMIF_VERSION, 0, 0, NULL, "x");
		break;
	case 5:
		h_msg_raw(&m, 0x4242);
		break;
	}
	send_msg(hs.fd, &m, kind);
	expect_refusal(&e, &hs.fd, true, NULL, 0);
	RUN_UNTIL(&e, !e.ours.up, WAIT_MS);
	ck_assert(!e.ours.up);
	ck_assert_int_eq(e.ours.n_disconnect, 1);
	assert_our_error(&e, NULL);
	h_slave_fini(&hs);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

/* The rx/alloc call fails, and within a few ticks the link is down with a reason. */
static void expect_fault(struct env *e, struct h_slave *hs, int err, const char *word)
{
	ck_assert_msg(err != MEMIF_ERR_SUCCESS && err != MEMIF_ERR_NOBUF &&
			      err != MEMIF_ERR_NOBUF_RING,
		      "the data path accepted the attack (%s)", memif_strerror(err));
	RUN_UNTIL(e, !e->ours.up, FAULT_MS);
	ck_assert_msg(!e->ours.up, "still connected %d ms after a fault", FAULT_MS);
	ck_assert_int_eq(e->ours.n_disconnect, 1);
	assert_our_error(e, word);
	expect_refusal(e, &hs->fd, true, NULL, 0);
	h_slave_fini(hs);
	assert_no_leak(e);
	good_peer(e);
}

static void set_desc(memif_ring_t *r, uint16_t slot, uint16_t flags, uint16_t region,
		     uint32_t offset, uint32_t length)
{
	memif_desc_t *d = &r->desc[slot & (RING - 1)];

	d->flags = flags;
	d->region = region;
	d->offset = offset;
	d->length = length;
}

/*
 * The default: a slave whose memfds cannot be sealed (as VPP's zero-copy
 * slave and DPDK's zero-copy client send) is served, as upstream libmemif,
 * VPP and DPDK serve it; memif_get_region_sealed says so. 8 frames each way.
 */
START_TEST(test_master_unsealed)
{
	struct env e;
	struct h_slave hs;
	struct t_txq tx = { 0 };
	struct t_rxq *rq;
	memif_ring_t *s2m, *m2s;
	uint8_t sealed;

	env_init(&e, "m-unsealed", true);
	env_start(&e);
	ck_assert_int_eq(h_slave_init(&hs, 1, 1, LOG2, 2048, H_MEM_UNSEALABLE), 0);
	hs.fd = h_connect(e.path);
	ck_assert_int_ge(hs.fd, 0);
	ck_assert_int_eq(h_slave_handshake(&hs, 0, NULL, H_SL_CONNECTED, WAIT_MS, &e.pump), 0);
	RUN_UNTIL(&e, e.ours.up, WAIT_MS);
	ck_assert(e.ours.up);
	t_assert_regions_sealed(e.ours.conn, 0);
	ck_assert_int_eq(memif_get_region_sealed(e.ours.conn, 0, NULL), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_get_region_sealed(NULL, 0, &sealed), MEMIF_ERR_INVAL_ARG);

	/* Slave to master: 8 frames in the slave's buffers. */
	s2m = h_slave_ring(&hs, true, 0);
	for (uint16_t i = 0; i < 8; i++) {
		t_frame_fill(h_slave_buf(&hs, true, 0, i), 100u + i, i);
		set_desc(s2m, i, 0, 1, h_slave_buf_off(&hs, true, 0, i), 100u + i);
	}
	h_store_release16(&s2m->head, 8);
	rq = t_ep_rxq(&e.ours, 0);
	RUN_UNTIL(&e, (t_rx_drain(e.ours.conn, 0, rq), rq->packets >= 8), WAIT_MS);
	ck_assert_uint_eq(rq->packets, 8);
	ck_assert_uint_eq(rq->bad, 0);
	ck_assert_uint_eq(h_load_acquire16(&s2m->tail), 8); /* all given back */

	/* Master to slave: the slave offers 8 buffers, we fill them. */
	m2s = h_slave_ring(&hs, false, 0);
	for (uint16_t i = 0; i < 8; i++)
		set_desc(m2s, i, 0, 1, h_slave_buf_off(&hs, false, 0, i), 2048);
	h_store_release16(&m2s->head, 8);
	ck_assert_uint_eq(t_tx_frames(e.ours.conn, 0, &tx, 8, 100, 8), 8);
	ck_assert_uint_eq(h_load_acquire16(&m2s->tail), 8);
	for (uint16_t i = 0; i < 8; i++) {
		memif_desc_t d = m2s->desc[i];

		ck_assert_uint_eq(d.region, 1);
		ck_assert_uint_eq(d.length, 100);
		ck_assert_uint_le((uint64_t)d.offset + d.length, hs.region_size[1]);
		ck_assert_msg(t_frame_verify((uint8_t *)hs.region[1] + d.offset, d.length, i),
			      "frame %u arrived damaged", i);
	}

	h_slave_close(&hs);
	RUN_UNTIL(&e, !e.ours.up, WAIT_MS);
	ck_assert(!e.ours.up);
	h_slave_fini(&hs);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

START_TEST(test_master_datapath)
{
	struct env e;
	struct h_slave hs;
	memif_ring_t *s2m, *m2s;
	memif_buffer_t bufs[4 * RING];
	uint16_t n = 0;
	uint32_t size1;
	int err;

	env_init(&e, "m-datapath", true);
	env_start(&e);
	hs_start(&e, &hs, H_SL_CONNECTED);
	s2m = h_slave_ring(&hs, true, 0);
	m2s = h_slave_ring(&hs, false, 0);
	size1 = (uint32_t)hs.region_size[1];
	switch (_i) {
	case 0: /* S2M head a ring and one ahead */
		h_store_release16(&s2m->head, RING + 1);
		break;
	case 1: /* S2M head backwards */
		h_store_release16(&s2m->head, 0xffff);
		break;
	case 2: /* a descriptor in a region never announced */
		set_desc(s2m, 0, 0, 7, 0, 64);
		h_store_release16(&s2m->head, 1);
		break;
	case 3: /* a descriptor past the end of the buffer region */
		set_desc(s2m, 0, 0, 1, size1 - 32, 64);
		h_store_release16(&s2m->head, 1);
		break;
	case 4: /* offset + length wraps 32 bits */
		set_desc(s2m, 0, 0, 1, 0xffffff00u, 0x200);
		h_store_release16(&s2m->head, 1);
		break;
	case 5: /* a whole ring of NEXT: a chain that never ends */
		for (uint16_t i = 0; i < RING; i++)
			set_desc(s2m, i, MEMIF_DESC_FLAG_NEXT, 1, h_slave_buf_off(&hs, true, 0, i),
				 64);
		h_store_release16(&s2m->head, RING);
		break;
	case 6: /* M2S head a ring and one ahead */
		h_store_release16(&m2s->head, RING + 1);
		break;
	case 7: /* M2S buffer outside the buffer region */
		set_desc(m2s, 0, 0, 1, size1, 2048);
		h_store_release16(&m2s->head, 1);
		break;
	case 8: /* M2S buffer of length 0 */
		set_desc(m2s, 0, 0, 1, 0, 0);
		h_store_release16(&m2s->head, 1);
		break;
	case 9: /* M2S buffer in a region never announced */
		set_desc(m2s, 0, 0, 9, 0, 2048);
		h_store_release16(&m2s->head, 1);
		break;
	}
	if (_i < 6)
		err = memif_rx_burst(e.ours.conn, 0, bufs, 4 * RING, &n);
	else
		err = memif_buffer_alloc(e.ours.conn, 0, bufs, 1, &n, 64);
	ck_assert_uint_eq(n, 0);
	/* Sticky: the queue stays faulted until the disconnect. */
	if (_i < 6)
		ck_assert_int_ne(memif_rx_burst(e.ours.conn, 0, bufs, 4, &n), MEMIF_ERR_SUCCESS);
	expect_fault(&e, &hs, err, NULL);
	env_fini(&e);
}
END_TEST

/*
 * A NEXT chain that never ends, taken a few buffers at a time: the chain
 * grows past the ring although no single burst sees a whole ring of it.
 * The spec: "a chain longer than the ring is a protocol error".
 */
START_TEST(test_master_endless_chain)
{
	struct env e;
	struct h_slave hs;
	memif_ring_t *s2m;
	memif_buffer_t bufs[4];
	uint16_t head = 0;
	uint32_t chain = 0;
	int err = MEMIF_ERR_SUCCESS;

	env_init(&e, "m-chain", true);
	env_start(&e);
	hs_start(&e, &hs, H_SL_CONNECTED);
	s2m = h_slave_ring(&hs, true, 0);
	for (uint32_t round = 0; round < 64 * RING && chain <= 4 * RING; round++) {
		uint16_t tail = h_load_acquire16(&s2m->tail), rx = 0;

		/* Keep the ring full of NEXT descriptors. */
		while ((uint16_t)(head - tail) < RING) {
			set_desc(s2m, head, MEMIF_DESC_FLAG_NEXT, 1,
				 h_slave_buf_off(&hs, true, 0, head), 64);
			head++;
		}
		h_store_release16(&s2m->head, head);
		err = memif_rx_burst(e.ours.conn, 0, bufs, 4, &rx);
		if (err != MEMIF_ERR_SUCCESS && err != MEMIF_ERR_NOBUF)
			break;
		for (uint16_t i = 0; i < rx; i++)
			ck_assert(bufs[i].flags & MEMIF_BUFFER_FLAG_NEXT);
		chain += rx;
		ck_assert_int_eq(memif_refill_queue(e.ours.conn, 0, rx, 0), MEMIF_ERR_SUCCESS);
	}
	ck_assert_msg(chain <= RING, "took %u buffers of one unterminated chain from a ring of %u",
		      chain, RING);
	ck_assert_msg(
		err != MEMIF_ERR_NOBUF,
		"rx stuck with NOBUF after %u chained buffers while a full ring of them waits",
		chain);
	expect_fault(&e, &hs, err, NULL);
	env_fini(&e);
}
END_TEST

/*
 * Not an attack: a chain published in two steps (the spec: "a receiver that
 * sees a chain cut by the end of the available slots waits for the rest").
 * Bursts of 3 must deliver the 5 buffers once the rest is published.
 */
START_TEST(test_master_chain_two_steps)
{
	struct env e;
	struct h_slave hs;
	memif_ring_t *s2m;
	memif_buffer_t bufs[3];
	uint32_t got = 0;
	bool ended = false;
	int err;

	env_init(&e, "m-chain2", true);
	env_start(&e);
	hs_start(&e, &hs, H_SL_CONNECTED);
	s2m = h_slave_ring(&hs, true, 0);
	for (uint16_t i = 0; i < 5; i++)
		set_desc(s2m, i, i < 4 ? MEMIF_DESC_FLAG_NEXT : 0, 1,
			 h_slave_buf_off(&hs, true, 0, i), 100);
	h_store_release16(&s2m->head, 3);
	for (int k = 0; k < 3; k++) {
		uint16_t rx = 0;

		err = memif_rx_burst(e.ours.conn, 0, bufs, 3, &rx);
		ck_assert(err == MEMIF_ERR_SUCCESS || err == MEMIF_ERR_NOBUF);
		got += rx;
		ck_assert_int_eq(memif_refill_queue(e.ours.conn, 0, rx, 0), MEMIF_ERR_SUCCESS);
	}
	h_store_release16(&s2m->head, 5);
	for (int k = 0; k < 20 && !ended; k++) {
		uint16_t rx = 0;

		err = memif_rx_burst(e.ours.conn, 0, bufs, 3, &rx);
		ck_assert(err == MEMIF_ERR_SUCCESS || err == MEMIF_ERR_NOBUF);
		for (uint16_t i = 0; i < rx; i++)
			ended = !(bufs[i].flags & MEMIF_BUFFER_FLAG_NEXT);
		got += rx;
		ck_assert_int_eq(memif_refill_queue(e.ours.conn, 0, rx, 0), MEMIF_ERR_SUCCESS);
	}
	ck_assert_msg(ended && got == 5, "received %u of the 5 buffers of the chain (ended %d)",
		      got, ended);
	ck_assert(e.ours.up);
	h_slave_fini(&hs);
	RUN_UNTIL(&e, !e.ours.up, WAIT_MS);
	assert_no_leak(&e);
	env_fini(&e);
}
END_TEST

/*
 * A slave offering tiny buffers (8 bytes): a master packet must not take
 * more buffers than the app sized `bufs` for (2 * ceil(size / buffer_size) + 1
 * per packet, see memif_buffer_alloc), whatever the slave offers.
 */
START_TEST(test_master_tiny_buffers)
{
	struct env e;
	struct h_slave hs;
	memif_ring_t *m2s;
	struct {
		memif_buffer_t b[6]; /* 2 packets of 64 bytes, 2048-byte buffers: 2 x 3 */
		memif_buffer_t canary[2 * RING];
	} u;
	uint8_t pattern[sizeof(u.canary)];
	uint16_t n = 0;
	int err;

	env_init(&e, "m-tiny", true);
	env_start(&e);
	hs_start(&e, &hs, H_SL_CONNECTED);
	m2s = h_slave_ring(&hs, false, 0);
	for (uint16_t i = 0; i < RING; i++)
		set_desc(m2s, i, 0, 1, h_slave_buf_off(&hs, false, 0, i), 8);
	h_store_release16(&m2s->head, RING);
	memset(u.canary, 0x5a, sizeof(u.canary));
	memset(pattern, 0x5a, sizeof(pattern));
	err = memif_buffer_alloc(e.ours.conn, 0, u.b, 2, &n, 64);
	ck_assert_msg(memcmp(u.canary, pattern, sizeof(pattern)) == 0,
		      "memif_buffer_alloc wrote past the buffers it may use (%u returned)", n);
	ck_assert_uint_le(n, 6);
	ck_assert(err == MEMIF_ERR_NOBUF || err == MEMIF_ERR_NOBUF_RING ||
		  err == MEMIF_ERR_SUCCESS || err == MEMIF_ERR_DISCONNECTED);
	if (n > 0) {
		uint16_t tx = 0;

		ck_assert_int_eq(memif_tx_burst(e.ours.conn, 0, u.b, n, &tx), MEMIF_ERR_SUCCESS);
	}
	h_slave_fini(&hs);
	RUN_UNTIL(&e, !e.ours.up, WAIT_MS);
	ck_assert(!e.ours.up);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

/* Rewrites descriptors between good and bad values as fast as it can. */
struct flipper {
	memif_ring_t *ring;
	uint32_t good_off[RING];
	uint32_t region_size;
	bool stop;
	uint64_t flips;
};

static void *flip_descs(void *arg)
{
	struct flipper *f = arg;

	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		for (uint16_t i = 0; i < RING; i++) {
			memif_desc_t *d = &f->ring->desc[i];
			bool bad = (f->flips + i) & 1;

			__atomic_store_n(&d->region, bad ? 99 : 1, __ATOMIC_RELAXED);
			__atomic_store_n(&d->offset, bad ? f->region_size - 8 : f->good_off[i],
					 __ATOMIC_RELAXED);
			__atomic_store_n(&d->length, bad ? 0x7fffffffu : 64, __ATOMIC_RELAXED);
		}
		f->flips++;
	}
	return NULL;
}

/*
 * The peer rewrites descriptors while the master reads them: whatever it
 * sees, rx_burst must either return buffers inside the peer's regions or
 * fail; never a buffer checked in one state and used in another.
 */
START_TEST(test_master_desc_race)
{
	struct env e;
	struct h_slave hs;
	struct flipper f = { 0 };
	memif_details_t md;
	char dbuf[8192];
	memif_buffer_t bufs[RING];
	pthread_t th;
	uint16_t head = RING;
	uint64_t seen = 0;
	int64_t dl;
	int err = MEMIF_ERR_SUCCESS;

	env_init(&e, "m-race", true);
	env_start(&e);
	hs_start(&e, &hs, H_SL_CONNECTED);
	ck_assert_int_eq(t_details(e.ours.conn, &md, dbuf, sizeof(dbuf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_ge(md.regions_num, 2);
	f.ring = h_slave_ring(&hs, true, 0);
	f.region_size = (uint32_t)hs.region_size[1];
	for (uint16_t i = 0; i < RING; i++) {
		f.good_off[i] = h_slave_buf_off(&hs, true, 0, i);
		set_desc(f.ring, i, 0, 1, f.good_off[i], 64);
	}
	h_store_release16(&f.ring->head, head);
	ck_assert_int_eq(pthread_create(&th, NULL, flip_descs, &f), 0);
	dl = t_deadline(300);
	while (t_now_ms() < dl) {
		uint16_t rx = 0;

		err = memif_rx_burst(e.ours.conn, 0, bufs, RING, &rx);
		if (err != MEMIF_ERR_SUCCESS && err != MEMIF_ERR_NOBUF)
			break;
		for (uint16_t i = 0; i < rx; i++) {
			uint8_t *p = bufs[i].data, *a = md.regions[1].addr;

			ck_assert_msg(p >= a && p + bufs[i].len <= a + md.regions[1].size,
				      "a buffer of %u bytes at offset %td of a region of %u",
				      bufs[i].len, p - a, md.regions[1].size);
		}
		seen += rx;
		ck_assert_int_eq(memif_refill_queue(e.ours.conn, 0, rx, 0), MEMIF_ERR_SUCCESS);
		head = (uint16_t)(head + rx);
		h_store_release16(&f.ring->head, head);
	}
	__atomic_store_n(&f.stop, true, __ATOMIC_RELAXED);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_uint_gt(f.flips, 0);
	/* It either received buffers or caught a bad descriptor. */
	ck_assert(seen > 0 || (err != MEMIF_ERR_SUCCESS && err != MEMIF_ERR_NOBUF));
	if (err != MEMIF_ERR_SUCCESS && err != MEMIF_ERR_NOBUF) {
		/* It caught a bad state: the link must go down. */
		RUN_UNTIL(&e, !e.ours.up, FAULT_MS);
		ck_assert(!e.ours.up);
		assert_our_error(&e, NULL);
	}
	h_slave_fini(&hs);
	RUN_UNTIL(&e, !e.ours.up, WAIT_MS);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

/* ==== our master: idle connections, handshake timeout, flood ========================================== */

START_TEST(test_master_flood_and_timeouts)
{
	enum {
		FLOOD = 100
	};
	struct env e;
	struct h_slave bound;
	struct t_ep second = { .name = "second" };
	memif_conn_args_t a2;
	memif_msg_t m;
	char reason[MEMIF_DISCONNECT_STRING_LEN + 1];
	int fds[FLOOD], hello = 0, refused = 0, open_ = 0, lib_fds;
	int64_t t0;

	env_init(&e, "m-flood", true);
	env_start(&e);
	/* A second interface, id 1, whose hostile slave sends INIT and then nothing. */
	t_conn_args(&a2, e.sock, true, 1, "second-if");
	ck_assert_int_eq(t_ep_create(&second, &a2), MEMIF_ERR_SUCCESS);
	e.base_fds = t_fd_count();
	ck_assert_int_eq(h_slave_init(&bound, 1, 1, LOG2, 2048, H_MEM_SEALED), 0);
	bound.fd = h_connect(e.path);
	ck_assert_int_ge(bound.fd, 0);
	ck_assert_int_eq(h_slave_handshake(&bound, 1, NULL, H_SL_INIT, WAIT_MS, &e.pump), 0);
	t0 = t_now_ms();

	/* More idle connections than the library keeps waiting for INIT. */
	for (int i = 0; i < FLOOD; i++) {
		int64_t dl = t_deadline(WAIT_MS);

		do {
			fds[i] = h_connect(e.path);
			env_pump(&e);
		} while (fds[i] == -EAGAIN && t_now_ms() < dl);
		ck_assert_msg(fds[i] >= 0, "connect %d: %s", i, strerror(-fds[i]));
	}
	run_for(&e, 200);
	for (int i = 0; i < FLOOD; i++) {
		int r = h_expect(fds[i], MEMIF_MSG_TYPE_HELLO, &m, NULL, 0, &e.pump);

		if (r == 0) {
			hello++;
		} else if (r == -ECONNRESET) {
			refused++;
			close(fds[i]);
			fds[i] = -1;
		}
	}
	/* The library holds a bounded number of them, and refused the rest. */
	ck_assert_int_le(hello, 64);
	ck_assert_int_ge(hello, 1);
	ck_assert_int_eq(hello + refused, FLOOD);
	for (int i = 0; i < FLOOD; i++)
		open_ += fds[i] >= 0;
	lib_fds = t_fd_count() - e.base_fds - open_ - 1 /* bound.fd */ - 2 /* bound's memfds */ -
		  2 /* bound's eventfds */;
	ck_assert_msg(lib_fds <= 64 + 1, "the library holds %d fds for idle peers", lib_fds);

	/* A real slave (id 0) gets through once the idle ones time out (~5 s). */
	good_peer_run(&e, 9000);
	ck_assert_int_lt(t_now_ms() - t0, 9000);
	/* By then every idle connection was closed by the library... */
	for (int i = 0; i < FLOOD; i++) {
		if (fds[i] < 0)
			continue;
		ck_assert_msg(h_wait_eof(fds[i], 0, &e.pump), "idle connection %d still open", i);
		close(fds[i]);
	}
	/* ...and the one that stopped after INIT was told why. */
	ck_assert_int_eq(h_expect_refusal(bound.fd, reason, sizeof(reason), 0, &e.pump), 1);
	ck_assert_msg(t_contains_ci(reason, "timed out"), "reason: %s", reason);
	{
		char err[256];

		conn_error(second.conn, err, sizeof(err));
		ck_assert_msg(t_contains_ci(err, "timed out"), "error: %s", err);
	}
	h_slave_fini(&bound);
	assert_no_leak(&e);
	ck_assert_int_eq(memif_delete(&second.conn), MEMIF_ERR_SUCCESS);
	t_ep_free(&second);
	env_fini(&e);
}
END_TEST

/* ==== our slave, hostile master: the first message ========================================================== */

START_TEST(test_slave_bad_first)
{
	static const char *const words[] = { "unexpected", "unexpected", "unexpected", "unexpected",
					     "message",    "message",    "message",    NULL,
					     "message",    "message",    NULL,         NULL };
	struct env e;
	struct h_master hm;
	memif_msg_t m;
	bool need_disc = true;

	env_init(&e, "s-first", false);
	env_start(&e);
	hm_start(&e, &hm);
	switch (_i) {
	case 0:
		h_msg_ack(&m);
		send_msg(hm.fd, &m, FDS_NONE);
		break;
	case 1:
		h_msg_connect(&m, true, "x");
		send_msg(hm.fd, &m, FDS_NONE);
		break;
	case 2:
		h_msg_init(&m, MEMIF_VERSION, 0, 0, NULL, "x");
		send_msg(hm.fd, &m, FDS_NONE);
		break;
	case 3: /* a region, with a memfd, to a slave */
		h_msg_add_region(&m, 0, 4096);
		send_msg(hm.fd, &m, FDS_MEMFD);
		break;
	case 4:
		h_msg_raw(&m, 9);
		send_msg(hm.fd, &m, FDS_NONE);
		break;
	case 5:
		h_msg_raw(&m, 0xffff);
		send_msg(hm.fd, &m, FDS_EVENTFD);
		break;
	case 6: /* short HELLO */
		h_msg_hello_std(&m, "x");
		send_raw(hm.fd, &m, 64, FDS_NONE);
		break;
	case 7: /* oversized HELLO */
		h_msg_hello_std(&m, "x");
		send_raw(hm.fd, &m, 200, FDS_NONE);
		break;
	case 8: /* HELLO with an fd */
		h_msg_hello_std(&m, "x");
		send_msg(hm.fd, &m, FDS_MEMFD);
		break;
	case 9: /* HELLO with min > max */
		h_msg_hello(&m, "x", 0x0300, 0x0100, 255, 255, 255, 14);
		send_msg(hm.fd, &m, FDS_NONE);
		break;
	case 10: /* HELLO with three fds */
		h_msg_hello_std(&m, "x");
		send_msg(hm.fd, &m, FDS_THREE);
		break;
	case 11: /* an empty datagram */
		send_raw(hm.fd, &m, 0, FDS_NONE);
		need_disc = false;
		break;
	}
	expect_refusal(&e, &hm.fd, need_disc, NULL, 0);
	assert_our_error(&e, words[_i]);
	ck_assert_int_eq(e.ours.n_connect, 0);
	h_master_fini(&hm);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

START_TEST(test_slave_hello_fields)
{
	static const char *const words[] = { "protocol", "protocol", "region", "protocol" };
	struct env e;
	struct h_master hm;
	memif_msg_t m;
	char reason[MEMIF_DISCONNECT_STRING_LEN + 1];

	env_init(&e, "s-hello", false);
	env_start(&e);
	hm_start(&e, &hm);
	switch (_i) {
	case 0:
		h_msg_hello(&m, "x", 0x0100, 0x0100, 255, 255, 255, 14);
		break;
	case 1:
		h_msg_hello(&m, "x", 0x0300, 0x0400, 255, 255, 255, 14);
		break;
	case 2: /* one region allowed: ours need two */
		h_msg_hello(&m, "x", MEMIF_VERSION, MEMIF_VERSION, 0, 255, 255, 14);
		break;
	case 3:
		h_msg_hello(&m, "x", 0, 0x01ff, 255, 255, 255, 14);
		break;
	}
	ck_assert_int_eq(h_send_msg(hm.fd, &m, -1), 0);
	expect_refusal(&e, &hm.fd, true, reason, sizeof(reason));
	assert_our_error(&e, words[_i]);
	h_master_fini(&hm);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

/* The slave clamps its rings to the master's HELLO before sending anything. */
START_TEST(test_slave_obeys_hello_limits)
{
	struct env e;
	struct h_master hm;
	memif_msg_t hello;
	memif_details_t md;
	char buf[8192];
	int n_s2m = 0, n_m2s = 0;

	env_init(&e, "s-limits", false);
	e.args.num_s2m_rings = 3;
	e.args.num_m2s_rings = 2;
	e.args.log2_ring_size = 10;
	env_start(&e);
	ck_assert_int_eq(h_master_init(&hm, e.path), 0);
	h_msg_hello(&hello, "0123456789abcdef0123456789abcdef", MEMIF_VERSION, MEMIF_VERSION, 255,
		    0, 1, 3);
	ck_assert_int_eq(h_master_handshake(&hm, &hello, H_MA_CONNECTED, WAIT_MS, &e.pump), 0);
	for (int i = 0; i < hm.n_rings; i++) {
		ck_assert_uint_le(hm.rings[i].log2, 3);
		if (hm.rings[i].s2m)
			n_s2m++;
		else
			n_m2s++;
	}
	ck_assert_int_eq(n_s2m, 2);
	ck_assert_int_eq(n_m2s, 1);
	RUN_UNTIL(&e, e.ours.up, WAIT_MS);
	ck_assert(e.ours.up);
	ck_assert_int_eq(t_details(e.ours.conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.tx_queues_num, 2);
	ck_assert_uint_eq(md.rx_queues_num, 1);
	ck_assert_uint_eq(md.tx_queues[0].ring_size, 8);
	/* An unterminated 32-byte name arrives whole and terminated. */
	ck_assert_str_eq((char *)md.remote_inst_name, "0123456789abcdef0123456789abcdef");
	h_master_fini(&hm);
	RUN_UNTIL(&e, !e.ours.up, WAIT_MS);
	ck_assert(!e.ours.up);
	assert_no_leak(&e);
	env_fini(&e);
}
END_TEST

/* ==== our slave: during setup and after connecting ============================================================ */

START_TEST(test_slave_setup_attacks)
{
	static const char *const words[] = { "unexpected", "unexpected", "unexpected", "peer",
					     "unexpected", "unexpected", "unexpected", "message" };
	struct env e;
	struct h_master hm;
	memif_msg_t m;
	bool need_disc = true;
	int err;

	env_init(&e, "s-setup", false);
	env_start(&e);
	ck_assert_int_eq(h_master_init(&hm, e.path), 0);
	err = h_master_handshake(&hm, NULL, _i < 5 ? H_MA_INIT : H_MA_CONNECT, WAIT_MS, &e.pump);
	ck_assert_msg(err == 0, "handshake: %s", strerror(-err));
	switch (_i) {
	case 0: /* CONNECTED instead of the ACK of INIT */
		h_msg_connect(&m, true, "x");
		send_msg(hm.fd, &m, FDS_NONE);
		break;
	case 1: /* HELLO again */
		h_msg_hello_std(&m, "x");
		send_msg(hm.fd, &m, FDS_NONE);
		break;
	case 2: /* a ring, with an eventfd, to a slave */
		h_msg_add_ring(&m, true, 0, 0, 0, LOG2);
		send_msg(hm.fd, &m, FDS_EVENTFD);
		break;
	case 3: /* the master leaves with an unterminated reason */
		h_msg_disconnect(&m, 3, long_reason);
		send_msg(hm.fd, &m, FDS_NONE);
		need_disc = false;
		break;
	case 4: /* ACK, then CONNECTED while a region waits for its ACK */
		h_msg_ack(&m);
		send_msg(hm.fd, &m, FDS_NONE);
		h_msg_connect(&m, true, "x");
		send_msg(hm.fd, &m, FDS_NONE);
		break;
	case 5: /* CONNECT answered with ACK */
		h_msg_ack(&m);
		send_msg(hm.fd, &m, FDS_NONE);
		break;
	case 6: /* CONNECT answered with CONNECT */
		h_msg_connect(&m, false, "x");
		send_msg(hm.fd, &m, FDS_NONE);
		break;
	case 7: /* CONNECTED with an fd */
		h_msg_connect(&m, true, "x");
		send_msg(hm.fd, &m, FDS_EVENTFD);
		break;
	}
	expect_refusal(&e, &hm.fd, need_disc, NULL, 0);
	assert_our_error(&e, words[_i]);
	if (_i == 3) {
		char er[256];

		conn_error(e.ours.conn, er, sizeof(er));
		ck_assert_msg(strstr(er, "rrrrrrrrrrrrrrrr") != NULL, "peer reason lost: %s", er);
	}
	ck_assert_int_eq(e.ours.n_connect, 0);
	h_master_fini(&hm);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

START_TEST(test_slave_after_connect)
{
	struct env e;
	struct h_master hm;
	memif_msg_t m;
	enum fdkind kind = FDS_NONE;

	env_init(&e, "s-after", false);
	env_start(&e);
	hm_connect(&e, &hm);
	switch (_i) {
	case 0:
		h_msg_ack(&m);
		break;
	case 1:
		h_msg_hello_std(&m, "x");
		break;
	case 2:
		h_msg_connect(&m, true, "again");
		break;
	case 3:
		h_msg_add_region(&m, 0, 4096);
		kind = FDS_MEMFD;
		break;
	}
	send_msg(hm.fd, &m, kind);
	expect_refusal(&e, &hm.fd, true, NULL, 0);
	RUN_UNTIL(&e, !e.ours.up, WAIT_MS);
	ck_assert(!e.ours.up);
	ck_assert_int_eq(e.ours.n_disconnect, 1);
	assert_our_error(&e, NULL);
	h_master_fini(&hm);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

static void expect_slave_fault(struct env *e, struct h_master *hm, int err)
{
	ck_assert_msg(err != MEMIF_ERR_SUCCESS && err != MEMIF_ERR_NOBUF &&
			      err != MEMIF_ERR_NOBUF_RING,
		      "the data path accepted the attack (%s)", memif_strerror(err));
	RUN_UNTIL(e, !e->ours.up, FAULT_MS);
	ck_assert_msg(!e->ours.up, "still connected %d ms after a fault", FAULT_MS);
	ck_assert_int_eq(e->ours.n_disconnect, 1);
	assert_our_error(e, NULL);
	expect_refusal(e, &hm->fd, true, NULL, 0);
	h_master_fini(hm);
	assert_no_leak(e);
	good_peer(e);
}

START_TEST(test_slave_datapath)
{
	struct env e;
	struct h_master hm;
	memif_ring_t *m2s, *s2m;
	memif_buffer_t bufs[4 * RING];
	uint16_t n = 0, head;
	int err;

	env_init(&e, "s-datapath", false);
	env_start(&e);
	hm_connect(&e, &hm);
	m2s = h_master_ring(&hm, false, 0)->ring;
	s2m = h_master_ring(&hm, true, 0)->ring;
	/* Our slave gave the whole M2S ring in on_connect. */
	head = h_load_acquire16(&m2s->head);
	ck_assert_uint_eq(head, RING);
	switch (_i) {
	case 0: /* M2S tail past the buffers we gave */
		h_store_release16(&m2s->tail, RING + 1);
		break;
	case 1: /* M2S tail backwards */
		h_store_release16(&m2s->tail, 0xffff);
		break;
	case 2: /* a length past our buffer */
		m2s->desc[0].length = 4096;
		h_store_release16(&m2s->tail, 1);
		break;
	case 3: /* a whole ring of NEXT */
		for (uint16_t i = 0; i < RING; i++) {
			m2s->desc[i].length = 64;
			m2s->desc[i].flags = MEMIF_DESC_FLAG_NEXT;
		}
		h_store_release16(&m2s->tail, RING);
		break;
	case 4: /* S2M tail far beyond our head */
		h_store_release16(&s2m->tail, 0x8000);
		break;
	}
	if (_i < 4) {
		err = memif_rx_burst(e.ours.conn, 0, bufs, 4 * RING, &n);
		ck_assert_uint_eq(n, 0);
	} else {
		/* Transmit until the slave has to look at tail again. */
		for (uint32_t k = 0; k <= RING; k++) {
			uint16_t tx = 0;

			err = memif_buffer_alloc(e.ours.conn, 0, bufs, 1, &n, 64);
			if (err != MEMIF_ERR_SUCCESS)
				break;
			ck_assert_int_eq(memif_tx_burst(e.ours.conn, 0, bufs, n, &tx),
					 MEMIF_ERR_SUCCESS);
		}
	}
	expect_slave_fault(&e, &hm, err);
	env_fini(&e);
}
END_TEST

/* The master may not move buffers: a rewritten region/offset is ignored. */
START_TEST(test_slave_moved_buffer)
{
	struct env e;
	struct h_master hm;
	memif_ring_t *m2s;
	memif_details_t md;
	char dbuf[8192];
	memif_buffer_t b;
	uint16_t n = 0;
	bool inside = false;

	env_init(&e, "s-moved", false);
	env_start(&e);
	hm_connect(&e, &hm);
	m2s = h_master_ring(&hm, false, 0)->ring;
	m2s->desc[0].region = 77;
	m2s->desc[0].offset = 0xfffffff0u;
	m2s->desc[0].length = 64;
	m2s->desc[0].flags = 0;
	h_store_release16(&m2s->tail, 1);
	ck_assert_int_eq(memif_rx_burst(e.ours.conn, 0, &b, 1, &n), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(b.len, 64);
	ck_assert_int_eq(t_details(e.ours.conn, &md, dbuf, sizeof(dbuf)), MEMIF_ERR_SUCCESS);
	for (uint8_t i = 0; i < md.regions_num; i++) {
		uint8_t *a = md.regions[i].addr;

		if ((uint8_t *)b.data >= a && (uint8_t *)b.data + b.len <= a + md.regions[i].size)
			inside = true;
	}
	ck_assert_msg(inside, "the buffer points outside our own regions");
	ck_assert_int_eq(memif_refill_queue(e.ours.conn, 0, 1, 0), MEMIF_ERR_SUCCESS);
	ck_assert(e.ours.up);
	h_master_fini(&hm);
	RUN_UNTIL(&e, !e.ours.up, WAIT_MS);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

/* As test_master_endless_chain, on the slave's M2S ring. */
START_TEST(test_slave_endless_chain)
{
	struct env e;
	struct h_master hm;
	memif_ring_t *m2s;
	memif_buffer_t bufs[4];
	uint16_t tail = 0;
	uint32_t chain = 0;
	int err = MEMIF_ERR_SUCCESS;

	env_init(&e, "s-chain", false);
	env_start(&e);
	hm_connect(&e, &hm);
	m2s = h_master_ring(&hm, false, 0)->ring;
	for (uint32_t round = 0; round < 64 * RING && chain <= 4 * RING; round++) {
		uint16_t head = h_load_acquire16(&m2s->head), rx = 0;

		/* Fill every buffer the slave gave with a piece of one endless chain. */
		while (tail != head) {
			memif_desc_t *d = &m2s->desc[tail & (RING - 1)];

			d->length = 64;
			d->flags = MEMIF_DESC_FLAG_NEXT;
			tail++;
		}
		h_store_release16(&m2s->tail, tail);
		err = memif_rx_burst(e.ours.conn, 0, bufs, 4, &rx);
		if (err != MEMIF_ERR_SUCCESS && err != MEMIF_ERR_NOBUF)
			break;
		chain += rx;
		ck_assert_int_eq(memif_refill_queue(e.ours.conn, 0, rx, 0), MEMIF_ERR_SUCCESS);
	}
	ck_assert_msg(chain <= RING, "took %u buffers of one unterminated chain from a ring of %u",
		      chain, RING);
	ck_assert_msg(
		err != MEMIF_ERR_NOBUF,
		"rx stuck with NOBUF after %u chained buffers while a full ring of them waits",
		chain);
	expect_slave_fault(&e, &hm, err);
	env_fini(&e);
}
END_TEST

/* As test_master_chain_two_steps, on the slave's M2S ring. */
START_TEST(test_slave_chain_two_steps)
{
	struct env e;
	struct h_master hm;
	memif_ring_t *m2s;
	memif_buffer_t bufs[3];
	uint32_t got = 0;
	bool ended = false;
	int err;

	env_init(&e, "s-chain2", false);
	env_start(&e);
	hm_connect(&e, &hm);
	m2s = h_master_ring(&hm, false, 0)->ring;
	for (uint16_t i = 0; i < 5; i++) {
		m2s->desc[i].length = 100;
		m2s->desc[i].flags = i < 4 ? MEMIF_DESC_FLAG_NEXT : 0;
	}
	h_store_release16(&m2s->tail, 3);
	for (int k = 0; k < 3; k++) {
		uint16_t rx = 0;

		err = memif_rx_burst(e.ours.conn, 0, bufs, 3, &rx);
		ck_assert(err == MEMIF_ERR_SUCCESS || err == MEMIF_ERR_NOBUF);
		got += rx;
	}
	h_store_release16(&m2s->tail, 5);
	for (int k = 0; k < 20 && !ended; k++) {
		uint16_t rx = 0;

		err = memif_rx_burst(e.ours.conn, 0, bufs, 3, &rx);
		ck_assert(err == MEMIF_ERR_SUCCESS || err == MEMIF_ERR_NOBUF);
		for (uint16_t i = 0; i < rx; i++)
			ended = !(bufs[i].flags & MEMIF_BUFFER_FLAG_NEXT);
		got += rx;
	}
	ck_assert_msg(ended && got == 5, "received %u of the 5 buffers of the chain (ended %d)",
		      got, ended);
	ck_assert_int_eq(memif_refill_queue(e.ours.conn, 0, (uint16_t)got, 0), MEMIF_ERR_SUCCESS);
	ck_assert(e.ours.up);
	h_master_fini(&hm);
	RUN_UNTIL(&e, !e.ours.up, WAIT_MS);
	assert_no_leak(&e);
	env_fini(&e);
}
END_TEST

/* A master that accepts and never says HELLO: the slave gives up after ~5 s, retries. */
START_TEST(test_slave_hello_timeout)
{
	struct env e;
	struct h_master hm;
	char reason[MEMIF_DISCONNECT_STRING_LEN + 1];
	int64_t t0;
	int r;

	env_init(&e, "s-timeout", false);
	env_start(&e);
	hm_start(&e, &hm);
	t0 = t_now_ms();
	r = h_expect_refusal(hm.fd, reason, sizeof(reason), 8000, &e.pump);
	ck_assert_int_eq(r, 1);
	ck_assert_msg(t_contains_ci(reason, "timed out"), "reason: %s", reason);
	ck_assert_int_ge(t_now_ms() - t0, 3000);
	assert_our_error(&e, "timed out");
	close(hm.fd);
	hm.fd = -1;
	/* It retries: a new connection arrives. */
	ck_assert_int_eq(h_master_handshake(&hm, NULL, H_MA_ACCEPT, WAIT_MS, &e.pump), 0);
	h_master_fini(&hm);
	assert_no_leak(&e);
	good_peer(&e);
	env_fini(&e);
}
END_TEST

static Suite *hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc;

	tc = t_tcase("master_handshake", 30);
	tcase_add_loop_test(tc, test_master_before_init, 0, 18);
	tcase_add_loop_test(tc, test_master_init_fields, 0, 6);
	tcase_add_test(tc, test_master_same_id_twice);
	tcase_add_loop_test(tc, test_master_after_init, 0, 17);
	tcase_add_loop_test(tc, test_master_regions, 0, 8);
	tcase_add_test(tc, test_master_peer_stops_reading);
	tcase_add_loop_test(tc, test_master_rings, 0, 14);
	tcase_add_loop_test(tc, test_master_region_shrunk, 0, 4);
	tcase_add_loop_test(tc, test_master_after_connect, 0, 6);
	suite_add_tcase(s, tc);

	tc = t_tcase("master_datapath", 30);
	tcase_add_test(tc, test_master_unsealed);
	tcase_add_loop_test(tc, test_master_datapath, 0, 10);
	tcase_add_test(tc, test_master_endless_chain);
	tcase_add_test(tc, test_master_chain_two_steps);
	tcase_add_test(tc, test_master_tiny_buffers);
	tcase_add_test(tc, test_master_desc_race);
	suite_add_tcase(s, tc);

	tc = t_tcase("slave_handshake", 30);
	tcase_add_loop_test(tc, test_slave_bad_first, 0, 12);
	tcase_add_loop_test(tc, test_slave_hello_fields, 0, 4);
	tcase_add_test(tc, test_slave_obeys_hello_limits);
	tcase_add_loop_test(tc, test_slave_setup_attacks, 0, 8);
	tcase_add_loop_test(tc, test_slave_after_connect, 0, 4);
	suite_add_tcase(s, tc);

	tc = t_tcase("slave_datapath", 30);
	tcase_add_loop_test(tc, test_slave_datapath, 0, 5);
	tcase_add_test(tc, test_slave_moved_buffer);
	tcase_add_test(tc, test_slave_endless_chain);
	tcase_add_test(tc, test_slave_chain_two_steps);
	suite_add_tcase(s, tc);

	tc = t_tcase("timeouts", 40);
	tcase_add_test(tc, test_master_flood_and_timeouts);
	tcase_add_test(tc, test_slave_hello_timeout);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(hostile_suite());
}
