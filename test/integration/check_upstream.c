/* SPDX-License-Identifier: MIT */
/*
 * check_upstream.c - the library used the way a program written for
 * upstream libmemif 4.0 uses it: upstream's loopback (a master and a slave
 * with the same id on ONE socket), the rx_burst drain loop that relies on
 * MEMIF_ERR_NOBUF, an on_interrupt that takes a few packets per call
 * (level-triggered interrupts), an app's own epoll on memif_get_queue_efd,
 * "\0name" abstract sockets, the peer's MASK_INT seen in memif_get_details,
 * NOCONN / DISCONNECTED from the data path, a 24-byte secret,
 * memif_buffer_requeue (also upstream's pattern: after memif_buffer_enq_tx),
 * memif_buffer_enq_tx followed at once by a refill (upstream's
 * responder_zero_copy) and memif_set_next_free_buffer.
 *
 * Each case runs with the app's own epoll loop (on_control_fd_update) and,
 * where it matters, with the library's (memif_poll_event), as upstream's
 * examples do.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define UP_MS 3000
#define RUN_MS 3000
#define MAX_BUFS 256
#define FRAME 128

/* ---- a tiny upstream-style application --------------------------------------- */

/* One interface as an upstream app keeps it (cf. upstream's examples/common). */
struct app {
	const char *name;   /* interface name (a string literal) */
	memif_conn_handle_t conn;
	bool poll_only;     /* created without on_interrupt: the app takes packets itself */
	const uint8_t *secret; /* 24 bytes for memif_conn_args_t.secret; NULL: none */
	uint8_t log2_ring;     /* memif_conn_args_t.log2_ring_size (0: the default) */
	int n_connect, n_disconnect;
	bool up;
	int n_irq;          /* on_interrupt calls */
	uint16_t per_call;  /* buffers taken per on_interrupt; 0: MAX_BUFS */
	int rx_err;         /* first unexpected rx_burst / refill result */
	uint32_t rx_pkts;   /* packets received and verified */
	uint32_t rx_bad;    /* packets that did not verify */
	uint32_t next_seq;  /* sequence number expected next */
	uint32_t asm_len;   /* reassembly of a chain */
	uint8_t asm_buf[T_MAX_FRAME];
	memif_buffer_t bufs[MAX_BUFS];
};

/* Account received buffers: reassemble chains, verify frames in order. */
static void app_take(struct app *a, const memif_buffer_t *b, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		if (a->asm_len + b[i].len <= sizeof(a->asm_buf))
			memcpy(a->asm_buf + a->asm_len, b[i].data, b[i].len);
		a->asm_len += b[i].len;
		if (b[i].flags & MEMIF_BUFFER_FLAG_NEXT)
			continue;
		if (a->asm_len <= sizeof(a->asm_buf) &&
		    t_frame_verify(a->asm_buf, a->asm_len, a->next_seq))
			a->rx_pkts++;
		else
			a->rx_bad++;
		a->next_seq++;
		a->asm_len = 0;
	}
}

static void app_note_err(struct app *a, int err)
{
	if (a->rx_err == 0)
		a->rx_err = err;
}

static int app_on_connect(memif_conn_handle_t conn, void *private_ctx)
{
	struct app *a = private_ctx;
	int err;

	a->n_connect++;
	a->up = true;
	/* What upstream's examples do first: give the receive ring all buffers. */
	err = memif_refill_queue(conn, 0, (uint16_t)-1, 0);
	if (err != MEMIF_ERR_SUCCESS)
		app_note_err(a, err);
	return 0;
}

static int app_on_disconnect(memif_conn_handle_t conn, void *private_ctx)
{
	struct app *a = private_ctx;

	(void)conn;
	a->n_disconnect++;
	a->up = false;
	return 0;
}

/* One rx_burst of at most per_call buffers, then refill what was taken. */
static int app_rx_once(struct app *a, uint16_t qid, uint16_t *got)
{
	uint16_t want = a->per_call ? a->per_call : MAX_BUFS, rx = 0;
	int err = memif_rx_burst(a->conn, qid, a->bufs, want, &rx);

	if (err != MEMIF_ERR_SUCCESS && err != MEMIF_ERR_NOBUF)
		app_note_err(a, err);
	app_take(a, a->bufs, rx);
	if (rx) {
		int e = memif_refill_queue(a->conn, qid, rx, 0);

		if (e != MEMIF_ERR_SUCCESS)
			app_note_err(a, e);
	}
	if (got)
		*got = rx;
	return err;
}

static int app_on_interrupt(memif_conn_handle_t conn, void *private_ctx, uint16_t qid)
{
	struct app *a = private_ctx;

	(void)conn;
	a->n_irq++;
	(void)app_rx_once(a, qid, NULL);
	return 0;
}

/* Send n frames of `size` bytes (seq0, seq0 + 1, ...) in one alloc + tx_burst. */
static void app_send(struct app *a, uint16_t qid, uint16_t n, uint32_t size, uint32_t seq0)
{
	static memif_buffer_t b[1024];
	uint16_t got = 0, tx = 0;
	uint32_t bad = 0;
	int err;

	err = memif_buffer_alloc(a->conn, qid, b, n, &got, (uint16_t)size);
	ck_assert_msg(err == MEMIF_ERR_SUCCESS, "%s: memif_buffer_alloc: %s", a->name,
		      memif_strerror(err));
	ck_assert_uint_eq(t_frame_fill_bufs(b, got, seq0, size, &bad), n);
	ck_assert_uint_eq(bad, 0);
	err = memif_tx_burst(a->conn, qid, b, got, &tx);
	ck_assert_msg(err == MEMIF_ERR_SUCCESS, "%s: memif_tx_burst: %s", a->name,
		      memif_strerror(err));
	ck_assert_uint_eq(tx, got);
}

/* memif_create of interface `if_name` on `sock` (with a->secret, if any); asserts success. */
static void app_open(struct app *a, memif_socket_handle_t sock, bool master, uint32_t id,
		     const char *if_name)
{
	memif_conn_args_t ca;
	int err;

	memset(&ca, 0, sizeof(ca));
	ca.socket = sock;
	ca.is_master = master;
	ca.interface_id = id;
	snprintf((char *)ca.interface_name, sizeof(ca.interface_name), "%s", if_name);
	if (a->secret != NULL)
		memcpy(ca.secret, a->secret, sizeof(ca.secret));
	ca.log2_ring_size = a->log2_ring;
	a->name = if_name;
	err = memif_create(&a->conn, &ca, app_on_connect, app_on_disconnect,
			   a->poll_only ? NULL : app_on_interrupt, a);
	ck_assert_msg(err == MEMIF_ERR_SUCCESS, "%s: memif_create: %s", if_name,
		      memif_strerror(err));
}

static struct app *app_new(void)
{
	struct app *a = calloc(1, sizeof(*a));

	ck_assert_ptr_nonnull(a);
	return a;
}

/* ---- the event loop: the app's own, or the library's ---------------------- */

struct env {
	bool self_poll; /* memif_poll_event instead of on_control_fd_update */
	struct t_loop loop;
	memif_socket_handle_t sock[2];
	int nsock;
	int poll_err; /* first unexpected memif_poll_event result */
};

static void env_init(struct env *e, bool self_poll)
{
	memset(e, 0, sizeof(*e));
	e->self_poll = self_poll;
	ck_assert_int_eq(t_loop_init(&e->loop), 0);
}

/* A socket as upstream's examples make it; retry_ms 0 leaves the timer all zero. */
static memif_socket_handle_t env_socket(struct env *e, const char *path, const char *app_name,
					int retry_ms)
{
	memif_socket_args_t sa;
	memif_socket_handle_t s = NULL;
	int err;

	ck_assert_int_lt(e->nsock, 2);
	memset(&sa, 0, sizeof(sa));
	memcpy(sa.path, path, sizeof(sa.path));
	snprintf(sa.app_name, sizeof(sa.app_name), "%s", app_name);
	if (retry_ms)
		sa.connection_request_timer = t_timer_ms(retry_ms);
	sa.on_control_fd_update = e->self_poll ? NULL : t_loop_fd_update;
	err = memif_create_socket(&s, &sa, e->self_poll ? NULL : &e->loop);
	ck_assert_msg(err == MEMIF_ERR_SUCCESS, "memif_create_socket: %s", memif_strerror(err));
	ck_assert_ptr_nonnull(s);
	e->sock[e->nsock++] = s;
	return s;
}

/* env_socket on "<tmpdir>/<name>.sock" with a 100 ms retry timer. */
static memif_socket_handle_t env_tmp_socket(struct env *e, const char *name,
					    const char *app_name)
{
	char path[108];

	memset(path, 0, sizeof(path));
	t_sock_path(path, sizeof(path), name);
	return env_socket(e, path, app_name, 100);
}

/* Handle events for at most about `ms` milliseconds. */
static void env_step(struct env *e, int ms)
{
	if (!e->self_poll) {
		(void)t_loop_run_once(&e->loop, ms);
		return;
	}
	for (int i = 0; i < e->nsock; i++) {
		int err = memif_poll_event(e->sock[i], e->nsock > 1 ? ms / 2 : ms);

		if (err != MEMIF_ERR_SUCCESS && e->poll_err == 0)
			e->poll_err = err;
	}
}

#define ENV_UNTIL(e, cond, ms)                                                         \
	for (int64_t e__dl = t_deadline(ms); !(cond) && t_now_ms() < e__dl;)           \
		env_step((e), 5)

static void env_run_for(struct env *e, int ms)
{
	int64_t dl = t_deadline(ms);

	while (t_now_ms() < dl)
		env_step(e, 5);
}

static void env_delete(struct app *a)
{
	if (a != NULL && a->conn != NULL)
		ck_assert_int_eq(memif_delete(&a->conn), MEMIF_ERR_SUCCESS);
}

static void env_close(struct env *e)
{
	for (int i = e->nsock - 1; i >= 0; i--)
		ck_assert_int_eq(memif_delete_socket(&e->sock[i]), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(e->poll_err, 0);
	if (!e->self_poll)
		ck_assert_msg(e->loop.nfds == 0, "%d fds still watched", e->loop.nfds);
	t_loop_fini(&e->loop);
}

/* Run until master m and slave s are both up; assert it. */
static void wait_up(struct env *e, struct app *m, struct app *s)
{
	ENV_UNTIL(e, m->up && s->up, UP_MS);
	ck_assert_msg(m->up && s->up, "link not up (master %d, slave %d)", m->up, s->up);
}

/* Run until `a` has taken n packets in all; assert that all n verified. */
static void wait_rx(struct env *e, struct app *a, uint32_t n)
{
	ENV_UNTIL(e, a->rx_pkts + a->rx_bad >= n, RUN_MS);
	ck_assert_msg(a->rx_pkts == n, "%s: received %u of %u (%u bad) in %d on_interrupt calls",
		      a->name, a->rx_pkts, n, a->rx_bad, a->n_irq);
	ck_assert_uint_eq(a->rx_bad, 0);
}

/* env_init, then master and slave on two sockets of one path (master first), created. */
static void pair_start(struct env *e, bool self_poll, const char *name, struct app *m,
		       struct app *s)
{
	memif_socket_handle_t ms, ss;

	env_init(e, self_poll);
	ms = env_tmp_socket(e, name, "up-master");
	ss = env_tmp_socket(e, name, "up-slave");
	app_open(m, ms, true, 0, "m");
	app_open(s, ss, false, 0, "s");
}

/* pair_start, and run until both are up (the connect-time refills worked). */
static void pair_up(struct env *e, bool self_poll, const char *name, struct app *m,
		    struct app *s)
{
	pair_start(e, self_poll, name, m, s);
	wait_up(e, m, s);
	ck_assert_int_eq(m->rx_err, 0);
	ck_assert_int_eq(s->rx_err, 0);
}

/* Delete both interfaces (those not deleted yet), close the env, free the apps. */
static void pair_down(struct env *e, struct app *m, struct app *s)
{
	env_delete(s);
	env_delete(m);
	env_close(e);
	free(m);
	free(s);
}

static bool efd_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/* ---- 1. upstream's loopback: master and slave, same id, ONE socket --------- */

START_TEST(test_loopback_one_socket)
{
	bool self_poll = _i & 1, abstract = _i & 2;
	struct env e;
	struct app *m = app_new(), *s = app_new();
	char path[108], buf[4096];
	memif_socket_handle_t sock;
	memif_details_t md;

	env_init(&e, self_poll);
	memset(path, 0, sizeof(path));
	if (abstract)
		t_abstract_path(path, sizeof(path), "loopback");
	else
		t_sock_path(path, sizeof(path), "loopback");
	/* As upstream's loopback: no retry timer, master first, then the slave. */
	sock = env_socket(&e, path, "loopback_example", 0);
	app_open(m, sock, true, 0, "lo0");
	app_open(s, sock, false, 0, "lo1");
	ck_assert_ptr_eq(memif_get_socket_handle(m->conn), sock);
	ck_assert_ptr_eq(memif_get_socket_handle(s->conn), sock);

	wait_up(&e, m, s);
	ck_assert_int_eq(m->rx_err + s->rx_err, 0);
	/* The socket listens (one listener) and each side sees the other. */
	ck_assert_int_ge(memif_get_listener_fd(sock), 0);
	ck_assert(t_unix_addr_listed(path));
	ck_assert_int_eq(memif_get_details(m->conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.role, 0);
	ck_assert_str_eq((char *)md.remote_if_name, "lo1");
	ck_assert_uint_eq(md.link_up_down, 1);
	ck_assert_int_eq(memif_get_details(s->conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(md.role, 1);
	ck_assert_str_eq((char *)md.remote_if_name, "lo0");

	/* Packets both ways, including chains. */
	app_send(m, 0, 20, FRAME, 0);
	app_send(m, 0, 5, 5000, 20);
	app_send(s, 0, 20, 60, 0);
	app_send(s, 0, 5, 9000, 20);
	wait_rx(&e, s, 25);
	wait_rx(&e, m, 25);
	ck_assert_int_eq(m->rx_err + s->rx_err, 0);
	ck_assert_int_gt(m->n_irq, 0);
	ck_assert_int_gt(s->n_irq, 0);

	/* Delete the slave: the master goes down and waits again on the same listener. */
	env_delete(s);
	ENV_UNTIL(&e, !m->up, UP_MS);
	ck_assert(!m->up);
	ck_assert_int_ge(memif_get_listener_fd(sock), 0);
	pair_down(&e, m, s);
}
END_TEST

/* Two masters and two slaves (ids 1, 2) on one socket: each slave finds its master. */
START_TEST(test_one_socket_two_pairs)
{
	struct env e;
	struct app *m[2] = { app_new(), app_new() }, *s[2] = { app_new(), app_new() };
	memif_socket_handle_t sock;

	env_init(&e, false);
	sock = env_tmp_socket(&e, "two", "two");
	for (int i = 0; i < 2; i++)
		app_open(m[i], sock, true, (uint32_t)(i + 1), i ? "m2" : "m1");
	for (int i = 0; i < 2; i++)
		app_open(s[i], sock, false, (uint32_t)(i + 1), i ? "s2" : "s1");
	wait_up(&e, m[0], s[0]);
	wait_up(&e, m[1], s[1]);
	/* Distinct first sequence numbers: a frame delivered to the wrong pair fails. */
	app_send(m[0], 0, 3, FRAME, 0);
	s[1]->next_seq = 100;
	app_send(m[1], 0, 3, FRAME, 100);
	wait_rx(&e, s[0], 3);
	wait_rx(&e, s[1], 3);
	for (int i = 0; i < 2; i++) {
		env_delete(s[i]);
		env_delete(m[i]);
		free(s[i]);
		free(m[i]);
	}
	env_close(&e);
}
END_TEST

/* ---- 4. the drain loop that relies on MEMIF_ERR_NOBUF ----------------------- */

/* upstream's idiom: do { rx_burst; use; refill } while (err == MEMIF_ERR_NOBUF); */
static int drain(struct app *a, uint16_t per_call, int *calls)
{
	int err;

	a->per_call = per_call;
	*calls = 0;
	do {
		err = app_rx_once(a, 0, NULL);
		(*calls)++;
	} while (err == MEMIF_ERR_NOBUF && *calls < 10000);
	return err;
}

START_TEST(test_drain_loop_nobuf)
{
	struct env e;
	struct app *m = app_new(), *s = app_new();
	uint16_t rx = 1;
	int calls, efd = -1;

	/* No on_interrupt on the master: only the drain loop takes packets. */
	m->poll_only = true;
	pair_up(&e, false, "drain", m, s);
	ck_assert_int_eq(memif_get_queue_efd(m->conn, 0, &efd), MEMIF_ERR_SUCCESS);

	/* Empty ring: SUCCESS and nothing. */
	ck_assert_int_eq(memif_rx_burst(m->conn, 0, m->bufs, 8, &rx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(rx, 0);

	/* 100 single-buffer packets, 8 per call: NOBUF until the last call. */
	app_send(s, 0, 100, FRAME, 0);
	ck_assert(efd_readable(efd));
	m->per_call = 8;
	ck_assert_int_eq(app_rx_once(m, 0, &rx), MEMIF_ERR_NOBUF);
	ck_assert_uint_eq(rx, 8);
	/* Not drained: the interrupt is still pending. */
	ck_assert(efd_readable(efd));
	ck_assert_int_eq(drain(m, 8, &calls), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(m->rx_pkts, 100);
	ck_assert_uint_eq(m->rx_bad, 0);
	ck_assert_int_eq(m->rx_err, 0);
	ck_assert_int_eq(calls, 12); /* 92 left: 11 x 8 + 4 */
	/* Drained: the interrupt is cleared, and the ring is empty. */
	ck_assert(!efd_readable(efd));
	ck_assert_int_eq(memif_rx_burst(m->conn, 0, m->bufs, 8, &rx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(rx, 0);

	/* Exactly `count` waiting: SUCCESS in one call. */
	app_send(s, 0, 8, FRAME, 100);
	ck_assert_int_eq(drain(m, 8, &calls), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(calls, 1);
	ck_assert_uint_eq(m->rx_pkts, 108);

	/* Chains of 3 buffers (5000 bytes in 2048-byte buffers), 8 and then 2 per call:
	 * the loop still ends and every packet arrives whole. */
	app_send(s, 0, 30, 5000, 108);
	ck_assert_int_eq(drain(m, 8, &calls), MEMIF_ERR_SUCCESS);
	ck_assert_int_lt(calls, 10000);
	ck_assert_uint_eq(m->rx_pkts, 138);
	app_send(s, 0, 10, 5000, 138);
	ck_assert_int_eq(drain(m, 2, &calls), MEMIF_ERR_SUCCESS);
	ck_assert_int_lt(calls, 10000);
	ck_assert_uint_eq(m->rx_pkts, 148);
	ck_assert_uint_eq(m->rx_bad, 0);
	ck_assert_int_eq(m->rx_err, 0);
	ck_assert_uint_eq(m->asm_len, 0);
	ck_assert(!efd_readable(efd));
	pair_down(&e, m, s);
}
END_TEST

/* ---- 5. level-triggered interrupts ------------------------------------------ */

/* on_interrupt takes 10 per call from one 100-packet burst: called until all arrived. */
START_TEST(test_irq_ten_per_call)
{
	bool self_poll = _i & 1;
	struct env e;
	struct app *m = app_new(), *s = app_new();
	int calls;

	pair_up(&e, self_poll, self_poll ? "irq10p" : "irq10", m, s);
	m->per_call = 10;
	app_send(s, 0, 100, FRAME, 0); /* one burst, one kick */
	wait_rx(&e, m, 100);
	ck_assert_int_eq(m->rx_err, 0);
	ck_assert_int_ge(m->n_irq, 10);
	/* Drained: no further calls. */
	calls = m->n_irq;
	env_run_for(&e, 200);
	ck_assert_int_eq(m->n_irq, calls);

	/* Same towards the slave, 7 per call. */
	s->per_call = 7;
	app_send(m, 0, 100, FRAME, 0);
	wait_rx(&e, s, 100);
	ck_assert_int_ge(s->n_irq, 15);
	ck_assert_int_eq(s->rx_err, 0);
	pair_down(&e, m, s);
}
END_TEST

/*
 * No on_interrupt: the app waits on memif_get_queue_efd with its own
 * level-triggered epoll and takes 10 per wake-up, while its control loop
 * (on_control_fd_update or memif_poll_event) keeps running too.
 */
START_TEST(test_own_epoll_on_queue_efd)
{
	bool self_poll = _i & 1;
	struct env e;
	struct app *m = app_new(), *s = app_new();
	struct epoll_event ev = { .events = EPOLLIN };
	int efd = -1, ep, wakeups = 0;
	int64_t dl;

	m->poll_only = true;
	pair_up(&e, self_poll, self_poll ? "ownefdp" : "ownefd", m, s);
	ck_assert_int_eq(memif_get_queue_efd(m->conn, 0, &efd), MEMIF_ERR_SUCCESS);
	ck_assert_int_ge(efd, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(ep, 0);
	ev.data.fd = efd;
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), 0);

	m->per_call = 10;
	app_send(s, 0, 100, FRAME, 0);
	dl = t_deadline(RUN_MS);
	while (m->rx_pkts + m->rx_bad < 100 && t_now_ms() < dl) {
		struct epoll_event out;

		env_step(&e, 1);
		if (epoll_wait(ep, &out, 1, 5) == 1) {
			wakeups++;
			(void)app_rx_once(m, 0, NULL);
		}
	}
	ck_assert_msg(m->rx_pkts == 100, "received %u of 100 in %d wake-ups", m->rx_pkts,
		      wakeups);
	ck_assert_uint_eq(m->rx_bad, 0);
	ck_assert_int_eq(m->rx_err, 0);
	ck_assert_int_ge(wakeups, 10);
	/* Drained: the level is gone. */
	{
		struct epoll_event out;

		env_step(&e, 1);
		ck_assert_int_eq(epoll_wait(ep, &out, 1, 50), 0);
	}
	ck_assert_int_eq(close(ep), 0);
	pair_down(&e, m, s);
}
END_TEST

/* ---- 6. "\0name" is an abstract socket, as "@name" ------------------------ */

START_TEST(test_nul_abstract_path)
{
	struct env e;
	struct app *m = app_new(), *s = app_new(), *s2 = app_new();
	char at[108], nul[108], cwd_name[108];
	memif_socket_handle_t ms;
	struct stat st;
	char *old = getcwd(NULL, 0);

	ck_assert_ptr_nonnull(old);
	/* Run in the empty temp dir: a file made from the name would show up here. */
	ck_assert_int_eq(chdir(t_tmpdir()), 0);
	env_init(&e, false);
	memset(at, 0, sizeof(at));
	memset(nul, 0, sizeof(nul));
	t_abstract_path(at, sizeof(at), "nul");
	/* The same name, spelled with a leading NUL byte. */
	memcpy(nul + 1, at + 1, strlen(at + 1));
	snprintf(cwd_name, sizeof(cwd_name), "%s", at + 1);

	ms = env_socket(&e, nul, "nul-master", 100);
	app_open(m, ms, true, 0, "m");
	/* The listener is abstract, with exactly that name (no padding), and no file. */
	ck_assert_int_ge(memif_get_listener_fd(ms), 0);
	ck_assert_msg(t_unix_addr_listed(at), "%s not in /proc/net/unix", at);
	ck_assert_int_ne(stat(cwd_name, &st), 0);
	ck_assert_int_ne(stat(at, &st), 0);

	/* A slave with the "@" spelling reaches it. */
	app_open(s, env_socket(&e, at, "nul-slave", 100), false, 0, "s");
	wait_up(&e, m, s);
	app_send(m, 0, 3, FRAME, 0);
	wait_rx(&e, s, 3);
	env_delete(s);
	ENV_UNTIL(&e, !m->up, UP_MS);
	ck_assert(!m->up);
	ck_assert_int_eq(memif_delete_socket(&e.sock[1]), MEMIF_ERR_SUCCESS);
	e.nsock = 1;

	/* A slave with the NUL spelling reaches it too. */
	app_open(s2, env_socket(&e, nul, "nul-slave2", 100), false, 0, "s2");
	wait_up(&e, m, s2);
	app_send(s2, 0, 3, FRAME, 0);
	wait_rx(&e, m, 3);

	pair_down(&e, m, s2);
	free(s);
	ck_assert_int_ne(stat(cwd_name, &st), 0);
	ck_assert_int_eq(chdir(old), 0);
	free(old);
}
END_TEST

/* ---- 7. a polling master masks interrupts; the slave sees it in details ------ */

static uint16_t queue_flags(memif_conn_handle_t conn, bool tx)
{
	memif_details_t md;
	char buf[4096];

	ck_assert_int_eq(memif_get_details(conn, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_ge(tx ? md.tx_queues_num : md.rx_queues_num, 1);
	return tx ? md.tx_queues[0].flags : md.rx_queues[0].flags;
}

START_TEST(test_mask_int_in_details)
{
	struct env e;
	struct app *m = app_new(), *s = app_new();
	uint64_t one = 1;
	int efd = -1;

	pair_up(&e, false, "maskint", m, s);
	ck_assert_uint_eq(queue_flags(s->conn, true) & MEMIF_QUEUE_FLAG_POLLING, 0);
	ck_assert_uint_eq(queue_flags(m->conn, false) & MEMIF_QUEUE_FLAG_POLLING, 0);

	ck_assert_int_eq(memif_set_rx_mode(m->conn, MEMIF_RX_MODE_POLLING, 0), MEMIF_ERR_SUCCESS);
	/* MEMIF_QUEUE_FLAG_POLLING is the ring's MEMIF_RING_FLAG_MASK_INT bit. */
	ck_assert_uint_eq(MEMIF_QUEUE_FLAG_POLLING, MEMIF_RING_FLAG_MASK_INT);
	ck_assert_uint_ne(queue_flags(s->conn, true) & MEMIF_QUEUE_FLAG_POLLING, 0);
	ck_assert_uint_ne(queue_flags(m->conn, false) & MEMIF_QUEUE_FLAG_POLLING, 0);
	/* The other direction is untouched. */
	ck_assert_uint_eq(queue_flags(s->conn, false) & MEMIF_QUEUE_FLAG_POLLING, 0);

	/* The slave does not kick a polling master; the master polls its packets. */
	ck_assert_int_eq(memif_get_queue_efd(m->conn, 0, &efd), MEMIF_ERR_SUCCESS);
	app_send(s, 0, 5, FRAME, 0);
	ck_assert(!efd_readable(efd));
	env_run_for(&e, 100);
	ck_assert_int_eq(m->n_irq, 0);
	ck_assert_uint_eq(m->rx_pkts, 0);
	(void)app_rx_once(m, 0, NULL);
	ck_assert_uint_eq(m->rx_pkts, 5);
	/* Even a kick (a peer that ignores the mask) gives no on_interrupt while polling. */
	ck_assert_int_eq(write(efd, &one, sizeof(one)), (ssize_t)sizeof(one));
	env_run_for(&e, 100);
	ck_assert_int_eq(m->n_irq, 0);

	/* Back to interrupt mode: flag cleared, kicks and on_interrupt again. */
	ck_assert_int_eq(memif_set_rx_mode(m->conn, MEMIF_RX_MODE_INTERRUPT, 0),
			 MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(queue_flags(s->conn, true) & MEMIF_QUEUE_FLAG_POLLING, 0);
	app_send(s, 0, 5, FRAME, 5);
	wait_rx(&e, m, 10);
	ck_assert_int_gt(m->n_irq, 0);
	ck_assert_int_eq(m->rx_err, 0);

	/* Bad queue: QID. */
	ck_assert_int_eq(memif_set_rx_mode(m->conn, MEMIF_RX_MODE_POLLING, 1), MEMIF_ERR_QID);
	pair_down(&e, m, s);
}
END_TEST

/* ---- 8. NULL handle: NOCONN; not connected: DISCONNECTED ------------------- */

START_TEST(test_noconn_disconnected)
{
	struct env e;
	struct app *m = app_new(), *s = app_new();
	memif_buffer_t b[4], b2[4];
	memif_details_t md;
	memif_conn_handle_t none = NULL;
	char buf[4096];
	uint16_t n = 0;
	int fd = 0;

	memset(b, 0, sizeof(b));
	memset(b2, 0, sizeof(b2));
	/* NULL handle. */
	ck_assert_int_eq(memif_buffer_alloc(NULL, 0, b, 1, &n, 64), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_tx_burst(NULL, 0, b, 1, &n), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_rx_burst(NULL, 0, b, 1, &n), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_refill_queue(NULL, 0, 1, 0), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_buffer_enq_tx(NULL, 0, b, 1, &n), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_buffer_requeue(NULL, &b[0], &b2[0]), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_set_next_free_buffer(NULL, 0, &b[0]), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_set_rx_mode(NULL, MEMIF_RX_MODE_POLLING, 0), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_get_details(NULL, &md, buf, sizeof(buf)), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_get_queue_efd(NULL, 0, &fd), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_request_connection(NULL), MEMIF_ERR_NOCONN);
	ck_assert_int_eq(memif_delete(&none), MEMIF_ERR_NOCONN);

	/* Interfaces that exist but have no peer. */
	env_init(&e, false);
	app_open(m, env_tmp_socket(&e, "lonely", "lonely"), true, 0, "m");
	/* A slave whose path has no listener: it keeps trying. */
	app_open(s, env_tmp_socket(&e, "nobody", "lonely-s"), false, 0, "s");
	env_run_for(&e, 150); /* the slave retries meanwhile */
	ck_assert(!m->up && !s->up);
	for (int i = 0; i < 2; i++) {
		memif_conn_handle_t c = i ? s->conn : m->conn;

		ck_assert_int_eq(memif_buffer_alloc(c, 0, b, 1, &n, 64), MEMIF_ERR_DISCONNECTED);
		ck_assert_int_eq(memif_tx_burst(c, 0, b, 1, &n), MEMIF_ERR_DISCONNECTED);
		ck_assert_int_eq(memif_rx_burst(c, 0, b, 1, &n), MEMIF_ERR_DISCONNECTED);
		ck_assert_int_eq(memif_refill_queue(c, 0, 1, 0), MEMIF_ERR_DISCONNECTED);
		ck_assert_int_eq(memif_get_queue_efd(c, 0, &fd), MEMIF_ERR_DISCONNECTED);
		/* Details work without a peer: link down. */
		ck_assert_int_eq(memif_get_details(c, &md, buf, sizeof(buf)), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(md.link_up_down, 0);
	}
	ck_assert_int_eq(memif_buffer_enq_tx(s->conn, 0, b, 1, &n), MEMIF_ERR_DISCONNECTED);
	ck_assert_int_eq(memif_buffer_requeue(s->conn, &b[0], &b2[0]), MEMIF_ERR_DISCONNECTED);
	ck_assert_int_eq(memif_set_next_free_buffer(s->conn, 0, &b[0]), MEMIF_ERR_DISCONNECTED);
	ck_assert_int_eq(memif_set_next_free_buffer(m->conn, 0, &b[0]), MEMIF_ERR_DISCONNECTED);
	pair_down(&e, m, s);
}
END_TEST

/* ---- 9. secrets --------------------------------------------------------------- */

static bool secret_pair(const uint8_t *msecret, const uint8_t *ssecret, const char *name)
{
	struct env e;
	struct app *m = app_new(), *s = app_new();
	bool up;

	m->secret = msecret;
	s->secret = ssecret;
	pair_start(&e, false, name, m, s);
	ENV_UNTIL(&e, m->up && s->up, 1000);
	up = m->up && s->up;
	if (up) {
		app_send(s, 0, 2, FRAME, 0);
		wait_rx(&e, m, 2);
	}
	pair_down(&e, m, s);
	return up;
}

START_TEST(test_secret_24_bytes)
{
	uint8_t a[24], b[24];

	/* 24 bytes, no terminating NUL, the same on both sides: our slave sends
	 * all 24 (a VPP master configured on its CLI and upstream's master
	 * compare 24), our master compares them. */
	memcpy(a, "abcdefghijklmnopqrstuvwx", 24);
	ck_assert_msg(secret_pair(a, a, "sec24"), "a 24-byte secret set identically must connect");

	/* A master with 24 bytes also accepts their first 23 alone: what VPP's and
	 * upstream's slaves send of a 24-byte secret (our slave with the 23 bytes
	 * configured sends the same). */
	memcpy(b, a, sizeof(b));
	b[23] = 0;
	ck_assert_msg(secret_pair(a, b, "sec23s"), "master 24 bytes, slave sends 23: must connect");
	/* The other way round the secrets differ: a 23-byte master refuses a
	 * slave that sends 24 bytes, as VPP's and upstream's masters do. */
	ck_assert(!secret_pair(b, a, "sec23m"));

	/* The slave sends 24 bytes, the 24th differs: refused (so it is sent,
	 * and compared). */
	memcpy(b, a, sizeof(b));
	b[23] = 'y';
	ck_assert(!secret_pair(a, b, "sec24last"));
	/* Differing within the first 23 bytes: refused. */
	memcpy(b, a, sizeof(b));
	b[5] = 'X';
	ck_assert(!secret_pair(a, b, "sec24bad"));
	b[23] = 0;
	ck_assert(!secret_pair(a, b, "sec23bad"));
}
END_TEST

/* upstream and VPP check the secret only when the master has one. */
START_TEST(test_secret_master_none)
{
	uint8_t a[24];

	memset(a, 0, sizeof(a));
	memcpy(a, "slave-secret", 12);
	ck_assert_msg(secret_pair(NULL, a, "secnone"),
		      "a master without a secret must accept a slave that sends one");
	ck_assert(!secret_pair(a, NULL, "secreq"));
}
END_TEST

/* ---- 2a. memif_buffer_requeue: zero-copy forwarding on the slave ------------ */

START_TEST(test_buffer_requeue)
{
	struct env e;
	struct app *m = app_new(), *s = app_new();
	memif_buffer_t rb, tb, x;
	uint16_t n = 0, tx = 0;
	void *rdata;

	/* The slave takes packets itself (no on_interrupt). */
	s->poll_only = true;
	pair_up(&e, false, "requeue", m, s);

	app_send(m, 0, 1, 200, 7);
	memset(&rb, 0, sizeof(rb));
	ENV_UNTIL(&e, memif_rx_burst(s->conn, 0, &rb, 1, &n) == MEMIF_ERR_SUCCESS && n == 1,
		  RUN_MS);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(rb.len, 200);
	ck_assert(t_frame_verify(rb.data, rb.len, 7));
	ck_assert_ptr_nonnull(rb.queue);
	rdata = rb.data;

	memset(&tb, 0, sizeof(tb));
	ck_assert_int_eq(memif_buffer_alloc(s->conn, 0, &tb, 1, &n, 200), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(n, 1);
	/* Argument checks first. */
	ck_assert_int_eq(memif_buffer_requeue(s->conn, NULL, &tb), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_buffer_requeue(s->conn, &rb, NULL), MEMIF_ERR_INVAL_ARG);
	memset(&x, 0, sizeof(x));
	ck_assert_int_eq(memif_buffer_requeue(m->conn, &x, &x), MEMIF_ERR_INVAL_ARG);

	/* Swap: the received data now sits in the tx slot and goes back out. */
	{
		uint16_t rslot = rb.desc_index, tslot = tb.desc_index;
		void *rq = rb.queue;

		ck_assert_int_eq(memif_buffer_requeue(s->conn, &rb, &tb), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(rb.desc_index, tslot);
		ck_assert_uint_eq(tb.desc_index, rslot);
		ck_assert_ptr_eq(tb.queue, rq);
		ck_assert_ptr_ne(rb.queue, rq);
	}
	ck_assert_ptr_eq(rb.data, rdata);
	ck_assert_int_eq(memif_tx_burst(s->conn, 0, &rb, 1, &tx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(tx, 1);
	m->next_seq = 7;
	wait_rx(&e, m, 1);

	/* The old tx buffer goes back to the rx ring with the refill; traffic goes on. */
	ck_assert_int_eq(memif_refill_queue(s->conn, 0, 1, 0), MEMIF_ERR_SUCCESS);
	s->next_seq = 100;
	for (int round = 0; round < 3; round++) {
		app_send(m, 0, 400, FRAME, 100 + 400 * (uint32_t)round);
		s->per_call = 64;
		{
			int64_t dl = t_deadline(RUN_MS);

			while (s->rx_pkts + s->rx_bad < 400 * (uint32_t)(round + 1) &&
			       t_now_ms() < dl) {
				env_step(&e, 1);
				(void)app_rx_once(s, 0, NULL);
			}
		}
	}
	ck_assert_uint_eq(s->rx_pkts, 1200);
	ck_assert_uint_eq(s->rx_bad, 0);
	ck_assert_int_eq(s->rx_err, 0);
	/* And the other way round. */
	m->next_seq = 0;
	m->rx_pkts = 0;
	app_send(s, 0, 100, FRAME, 0);
	wait_rx(&e, m, 100);
	pair_down(&e, m, s);
}
END_TEST

/* The slave takes n packets from its receive queue 0 into b (polling, as upstream's loopback). */
static void slave_take(struct env *e, struct app *s, memif_buffer_t *b, uint16_t n)
{
	uint16_t got = 0, rx = 0;

	for (int64_t dl = t_deadline(RUN_MS); got < n && t_now_ms() < dl;) {
		env_step(e, 1);
		ck_assert_int_eq(memif_rx_burst(s->conn, 0, b + got, (uint16_t)(n - got), &rx),
				 MEMIF_ERR_SUCCESS);
		got = (uint16_t)(got + rx);
	}
	ck_assert_uint_eq(got, n);
}

/*
 * Upstream's zero-copy forwarding with requeue, the one way an upstream
 * program holds a buffer that names a transmit slot (its alloc leaves
 * `queue` unset): receive X and Y; memif_buffer_enq_tx(X) gives X transmit
 * slot t; memif_buffer_requeue(Y, X) swaps Y's buffer into t; tx_burst(Y)
 * sends Y's bytes.
 */
START_TEST(test_requeue_after_enq_tx)
{
	struct env e;
	struct app *m = app_new(), *s = app_new();
	memif_buffer_t r[2], x, y, other;
	uint16_t n = 0, tx = 0;
	void *ydata;

	s->poll_only = true;
	pair_up(&e, false, "enqrequeue", m, s);
	app_send(m, 0, 2, 300, 40); /* X: seq 40, Y: seq 41 */
	slave_take(&e, s, r, 2);
	x = r[0];
	y = r[1];
	ck_assert(t_frame_verify(x.data, x.len, 40));
	ck_assert(t_frame_verify(y.data, y.len, 41));
	ydata = y.data;

	ck_assert_int_eq(memif_buffer_enq_tx(s->conn, 0, &x, 1, &n), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_ne(x.queue, y.queue); /* X now names its transmit slot */
	/* A transmit buffer cannot be enqueued again. */
	other = x;
	ck_assert_int_eq(memif_buffer_enq_tx(s->conn, 0, &other, 1, &n), MEMIF_ERR_INVAL_ARG);
	/* The checks that matter: slave only, buffers of this interface. */
	ck_assert_int_eq(memif_buffer_requeue(m->conn, &y, &x), MEMIF_ERR_INVAL_ARG);

	ck_assert_int_eq(memif_buffer_requeue(s->conn, &y, &x), MEMIF_ERR_SUCCESS);
	ck_assert_ptr_eq(y.data, ydata);
	ck_assert_int_eq(memif_tx_burst(s->conn, 0, &y, 1, &tx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(tx, 1);
	/* The master gets Y's bytes: seq 41, 300 bytes, intact. */
	m->next_seq = 41;
	wait_rx(&e, m, 1);
	/* X, back in Y's receive slot, goes to the master with the refill of both. */
	ck_assert_int_eq(memif_refill_queue(s->conn, 0, 2, 0), MEMIF_ERR_SUCCESS);

	/* Both rings keep working, every buffer in one place: traffic both ways. */
	s->next_seq = 100;
	for (int round = 0; round < 3; round++) {
		app_send(m, 0, 300, FRAME, 100 + 300 * (uint32_t)round);
		s->per_call = 64;
		for (int64_t dl = t_deadline(RUN_MS);
		     s->rx_pkts + s->rx_bad < 300 * (uint32_t)(round + 1) && t_now_ms() < dl;) {
			env_step(&e, 1);
			(void)app_rx_once(s, 0, NULL);
		}
	}
	ck_assert_uint_eq(s->rx_pkts, 900);
	ck_assert_uint_eq(s->rx_bad, 0);
	ck_assert_int_eq(s->rx_err, 0);
	m->rx_pkts = 0;
	m->next_seq = 0;
	app_send(s, 0, 100, FRAME, 0);
	wait_rx(&e, m, 100);
	pair_down(&e, m, s);
}
END_TEST

/*
 * Upstream's responder_zero_copy: enq_tx the received buffers, refill the
 * receive queue AT ONCE, then tx_burst. The refill must not hand the
 * master the buffers waiting to go out: it writes new packets into what it
 * is given before the echoes are sent, and the echoes must arrive intact.
 */
START_TEST(test_enq_tx_then_refill)
{
	struct env e;
	struct app *m = app_new(), *s = app_new();
	memif_socket_handle_t ss;
	memif_buffer_t r[32];
	uint16_t n = 0, tx = 0;

	/* A ring of 32 with one buffer per slot (upstream's layout): the refill
	 * hands the master exactly the slots just taken. */
	s->poll_only = true;
	m->poll_only = true;
	s->log2_ring = 5;
	env_init(&e, false);
	app_open(m, env_tmp_socket(&e, "enqrefill", "up-master"), true, 0, "m");
	ss = env_tmp_socket(&e, "enqrefill", "up-slave");
	ck_assert_int_eq(memif_set_socket_buffer_laps(ss, 1), MEMIF_ERR_SUCCESS);
	app_open(s, ss, false, 0, "s");
	wait_up(&e, m, s);
	for (int round = 0; round < 4; round++) {
		uint32_t seq = 32 * (uint32_t)round;

		app_send(m, 0, 32, FRAME + (uint32_t)round, seq);
		slave_take(&e, s, r, 32);
		ck_assert_int_eq(memif_buffer_enq_tx(s->conn, 0, r, 32, &n), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(n, 32);
		ck_assert_int_eq(memif_refill_queue(s->conn, 0, n, 0), MEMIF_ERR_SUCCESS);
		/* The master fills every buffer it was just given, and sends. */
		app_send(m, 0, 32, 2000, 10000);
		ck_assert_int_eq(memif_tx_burst(s->conn, 0, r, n, &tx), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(tx, 32);
		m->next_seq = seq;
		m->rx_pkts = 0;
		for (int64_t dl = t_deadline(RUN_MS);
		     m->rx_pkts + m->rx_bad < 32 && t_now_ms() < dl;)
			(void)app_rx_once(m, 0, NULL);
		ck_assert_msg(m->rx_pkts == 32 && m->rx_bad == 0,
			      "round %d: %u echoes intact, %u overwritten", round, m->rx_pkts,
			      m->rx_bad);
		/* The 32 packets of 2000 bytes are the slave's to take and drop. */
		slave_take(&e, s, r, 32);
		ck_assert(t_frame_verify(r[31].data, r[31].len, 10031));
		ck_assert_int_eq(memif_refill_queue(s->conn, 0, 32, 0), MEMIF_ERR_SUCCESS);
	}
	ck_assert_int_eq(m->rx_err + s->rx_err, 0);
	pair_down(&e, m, s);
}
END_TEST

/* ---- 2b. memif_set_next_free_buffer ----------------------------------------- */

START_TEST(test_set_next_free_buffer)
{
	bool master_sends = _i & 1;
	struct env e;
	struct app *m = app_new(), *s = app_new(), *tx_app, *rx_app;
	memif_buffer_t b[8], old2, fake;
	uint16_t n = 0, tx = 0;
	uint32_t bad = 0;

	pair_up(&e, false, master_sends ? "nextfree-m" : "nextfree-s", m, s);
	tx_app = master_sends ? m : s;
	rx_app = master_sends ? s : m;

	ck_assert_int_eq(memif_buffer_alloc(tx_app->conn, 0, b, 8, &n, FRAME), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(n, 8);
	ck_assert_uint_eq(t_frame_fill_bufs(b, 8, 900, FRAME, &bad), 8); /* to be replaced */
	old2 = b[2];

	/* Bad arguments leave the queue as it is. */
	ck_assert_int_eq(memif_set_next_free_buffer(tx_app->conn, 0, NULL), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_set_next_free_buffer(tx_app->conn, 3, &b[2]), MEMIF_ERR_QID);
	fake = b[7];
	fake.desc_index = (uint16_t)(b[7].desc_index + 3); /* never allocated */
	ck_assert_int_eq(memif_set_next_free_buffer(tx_app->conn, 0, &fake), MEMIF_ERR_INVAL_ARG);

	/* Rewind to the 3rd: the next alloc starts at its slot. */
	ck_assert_int_eq(memif_set_next_free_buffer(tx_app->conn, 0, &b[2]), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_buffer_alloc(tx_app->conn, 0, &b[2], 6, &n, FRAME),
			 MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(n, 6);
	ck_assert_uint_eq(b[2].desc_index, old2.desc_index);
	for (int i = 1; i < 8; i++)
		ck_assert_uint_eq((uint16_t)(b[i].desc_index - b[i - 1].desc_index), 1);

	/* Final set: 0 and 1 from the first alloc, 2..7 from the second. */
	t_frame_fill(b[0].data, FRAME, 0);
	t_frame_fill(b[1].data, FRAME, 1);
	ck_assert_uint_eq(t_frame_fill_bufs(&b[2], 6, 2, FRAME, &bad), 6);
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(memif_tx_burst(tx_app->conn, 0, b, 8, &tx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(tx, 8);
	wait_rx(&e, rx_app, 8);
	env_run_for(&e, 50);
	ck_assert_uint_eq(rx_app->rx_pkts + rx_app->rx_bad, 8); /* nothing more */

	/* A sent buffer cannot be rewound to. */
	ck_assert_int_eq(memif_set_next_free_buffer(tx_app->conn, 0, &b[0]), MEMIF_ERR_INVAL_ARG);
	/* The next free slot itself (nothing reserved since): accepted, changes nothing. */
	fake = b[7];
	fake.desc_index = (uint16_t)(b[7].desc_index + 1);
	ck_assert_int_eq(memif_set_next_free_buffer(tx_app->conn, 0, &fake), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_buffer_alloc(tx_app->conn, 0, &old2, 1, &n, FRAME),
			 MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(old2.desc_index, fake.desc_index);
	ck_assert_int_eq(memif_set_next_free_buffer(tx_app->conn, 0, &old2), MEMIF_ERR_SUCCESS);
	/* And the queue still works. */
	app_send(tx_app, 0, 50, FRAME, 8);
	wait_rx(&e, rx_app, 58);
	ck_assert_int_eq(rx_app->rx_err, 0);
	pair_down(&e, m, s);
}
END_TEST

/* ---- 10. calls whose results upstream programs branch on ------------------ */

/* An on_disconnect as upstream's icmp_responder has it: stop the poll thread. */
static int cancel_on_disconnect(memif_conn_handle_t conn, void *private_ctx)
{
	struct app *a = private_ctx;

	a->n_disconnect++;
	a->up = false;
	/* The handle is still valid here: the socket is found, the cancel works. */
	if (memif_cancel_poll_event(memif_get_socket_handle(conn)) != MEMIF_ERR_SUCCESS)
		app_note_err(a, -1);
	return 0;
}

/*
 * memif_delete of an interface that never connected runs its on_disconnect,
 * as upstream's does (programs free per-interface state there); one that
 * connected gets exactly one per link, never a second from the delete.
 */
START_TEST(test_delete_runs_on_disconnect_once)
{
	struct env e;
	struct app *m = app_new(), *s = app_new(), *lone = app_new();
	memif_conn_args_t ca;
	memif_socket_handle_t ms;

	env_init(&e, true);
	ms = env_tmp_socket(&e, "deldisc", "up-master");
	/* Never connected: a master nobody dials, in self-poll mode. */
	memset(&ca, 0, sizeof(ca));
	ca.socket = ms;
	ca.is_master = 1;
	ca.interface_id = 9;
	lone->name = "lone";
	ck_assert_int_eq(memif_create(&lone->conn, &ca, app_on_connect, cancel_on_disconnect, NULL,
				      lone),
			 MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete(&lone->conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(lone->n_connect, 0);
	ck_assert_int_eq(lone->n_disconnect, 1);
	ck_assert_int_eq(lone->rx_err, 0);
	/* Its cancel reaches the next poll of the socket. */
	ck_assert_int_eq(memif_poll_event(ms, 0), MEMIF_ERR_POLL_CANCEL);

	/* A failed create never calls it. */
	ca.log2_ring_size = 15;
	ck_assert_int_eq(memif_create(&lone->conn, &ca, app_on_connect, cancel_on_disconnect, NULL,
				      lone),
			 MEMIF_ERR_MAX_RING);
	ck_assert_int_eq(lone->n_disconnect, 1);

	/* Connected, then the peer goes: one on_disconnect; the delete adds none. */
	app_open(m, ms, true, 0, "m");
	app_open(s, env_tmp_socket(&e, "deldisc", "up-slave"), false, 0, "s");
	wait_up(&e, m, s);
	env_delete(s);
	ck_assert_int_eq(s->n_disconnect, 1);
	ENV_UNTIL(&e, !m->up, UP_MS);
	ck_assert_int_eq(m->n_disconnect, 1);
	env_delete(m);
	ck_assert_int_eq(m->n_disconnect, 1);
	env_close(&e);
	free(m);
	free(s);
	free(lone);
}
END_TEST

struct poll_thread {
	memif_socket_handle_t sock;
	int err;
};

/* Upstream's examples' event loop: poll until something else than SUCCESS. */
static void *poll_loop(void *arg)
{
	struct poll_thread *pt = arg;

	do
		pt->err = memif_poll_event(pt->sock, -1);
	while (pt->err == MEMIF_ERR_SUCCESS);
	return NULL;
}

/*
 * memif_cancel_poll_event ends the loop with POLL_CANCEL. Ours then lets the
 * socket be polled again (a second loop needs a second cancel); upstream's
 * cancel stays pending (row 24).
 */
START_TEST(test_cancel_poll_event_loop)
{
	struct env e;
	struct poll_thread pt = { .err = -1 };
	memif_socket_handle_t sock;
	pthread_t th;

	env_init(&e, true);
	sock = env_tmp_socket(&e, "cancel", "up-cancel");
	pt.sock = sock;
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(pthread_create(&th, NULL, poll_loop, &pt), 0);
		t_sleep_ms(50);
		ck_assert_int_eq(memif_cancel_poll_event(sock), MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(pthread_join(th, NULL), 0);
		ck_assert_int_eq(pt.err, MEMIF_ERR_POLL_CANCEL);
		/* Consumed: the socket polls as before. */
		ck_assert_int_eq(memif_poll_event(sock, 0), MEMIF_ERR_SUCCESS);
	}
	env_close(&e);
}
END_TEST

/* memif_request_connection, memif_set_connection_request_timer and
 * memif_poll_event give upstream's codes. */
START_TEST(test_upstream_return_codes)
{
	struct env e;
	struct app *m = app_new(), *s = app_new();
	struct itimerspec bad = { .it_interval = { 0, 1000000000L }, .it_value = { 1, 0 } };
	memif_socket_handle_t ms, ss;

	env_init(&e, false);
	/* A slave whose master is not there yet: CONNREFUSED (no socket file). */
	ss = env_tmp_socket(&e, "codes", "up-slave");
	ck_assert_int_eq(memif_set_connection_request_timer(ss, t_timer_ms(60000)),
			 MEMIF_ERR_SUCCESS);
	app_open(s, ss, false, 0, "s");
	ck_assert_int_eq(memif_request_connection(s->conn), MEMIF_ERR_CONNREFUSED);
	/* A master that waits: SUCCESS (it listens already). */
	ms = env_tmp_socket(&e, "codes", "up-master");
	app_open(m, ms, true, 0, "m");
	ck_assert_int_eq(memif_request_connection(m->conn), MEMIF_ERR_SUCCESS);
	/* Connecting, then connected: ALRCONN, in both roles. */
	ck_assert_int_eq(memif_request_connection(s->conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_request_connection(s->conn), MEMIF_ERR_ALRCONN);
	wait_up(&e, m, s);
	ck_assert_int_eq(memif_request_connection(s->conn), MEMIF_ERR_ALRCONN);
	ck_assert_int_eq(memif_request_connection(m->conn), MEMIF_ERR_ALRCONN);

	/* A timer the kernel refuses: SYSCALL; the socket keeps its timer. */
	ck_assert_int_eq(memif_set_connection_request_timer(ss, bad), MEMIF_ERR_SYSCALL);
	bad.it_interval.tv_nsec = 0;
	bad.it_value.tv_sec = -1;
	ck_assert_int_eq(memif_set_connection_request_timer(ss, bad), MEMIF_ERR_SYSCALL);
	/* memif_poll_event on a socket whose fds the app watches: BAD_FD. */
	ck_assert_int_eq(memif_poll_event(ms, 0), MEMIF_ERR_BAD_FD);

	/* The link still works, and after the master leaves the slave comes back. */
	app_send(m, 0, 3, FRAME, 0);
	wait_rx(&e, s, 3);
	pair_down(&e, m, s);
}
END_TEST

/*
 * Two masters with one id on one socket: accepted, as upstream. A slave
 * with that id gets the master created last that waits (upstream gives
 * the first slave the last one too); a second slave gets the other
 * (upstream refuses it).
 */
START_TEST(test_two_masters_one_id)
{
	struct env e;
	struct app *older = app_new(), *newer = app_new(), *s1 = app_new(), *s2 = app_new(),
		   *s3 = app_new();
	memif_socket_handle_t ms, ss;

	env_init(&e, false);
	ms = env_tmp_socket(&e, "twoids", "up-master");
	ss = env_tmp_socket(&e, "twoids", "up-slave");
	app_open(older, ms, true, 4, "older");
	app_open(newer, ms, true, 4, "newer");
	app_open(s1, ss, false, 4, "s1");
	ENV_UNTIL(&e, s1->up && (newer->up || older->up), UP_MS);
	ck_assert_msg(s1->up && newer->up && !older->up, "first slave: newer %d, older %d",
		      newer->up, older->up);
	app_open(s2, ss, false, 4, "s2");
	wait_up(&e, older, s2);
	/* Each pair carries its own frames (distinct sequence numbers). */
	app_send(newer, 0, 5, FRAME, 0);
	s2->next_seq = 50;
	app_send(older, 0, 5, FRAME, 50);
	wait_rx(&e, s1, 5);
	wait_rx(&e, s2, 5);
	/* A third slave: both are taken, refused until one is free. */
	app_open(s3, ss, false, 4, "s3");
	env_run_for(&e, 300);
	ck_assert(!s3->up);
	env_delete(s1);
	wait_up(&e, newer, s3);
	ck_assert_int_eq(newer->n_connect, 2);
	ck_assert_int_eq(older->n_connect, 1);
	env_delete(s3);
	env_delete(s2);
	env_delete(newer);
	env_delete(older);
	env_close(&e);
	free(older);
	free(newer);
	free(s1);
	free(s2);
	free(s3);
}
END_TEST

/* memif_buffer_alloc with size 0 hands out no buffer (as upstream): nothing to send. */
START_TEST(test_alloc_size_zero)
{
	struct env e;
	struct app *m = app_new(), *s = app_new();
	memif_buffer_t b[4];
	uint16_t n = 9, tx = 9;

	pair_up(&e, false, "alloczero", m, s);
	for (int i = 0; i < 2; i++) {
		struct app *a = i ? m : s, *peer = i ? s : m;

		ck_assert_int_eq(memif_buffer_alloc(a->conn, 0, b, 4, &n, 0), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(n, 0);
		ck_assert_int_eq(memif_tx_burst(a->conn, 0, b, n, &tx), MEMIF_ERR_SUCCESS);
		ck_assert_uint_eq(tx, 0);
		/* Nothing was reserved: the next packet takes the next slot and is
		 * the only thing the peer gets. */
		app_send(a, 0, 1, FRAME, 0);
		wait_rx(&e, peer, 1);
		env_run_for(&e, 50);
		ck_assert_uint_eq(peer->rx_pkts + peer->rx_bad, 1);
	}
	pair_down(&e, m, s);
}
END_TEST

/* Values upstream takes and we refuse, each with its reason (rows 25 to 27). */
START_TEST(test_refused_values)
{
	struct env e;
	struct app *m = app_new(), *s = app_new();
	memif_socket_args_t sa;
	memif_socket_handle_t sock = NULL;
	memif_conn_args_t ca;
	memif_conn_handle_t conn = NULL;

	pair_up(&e, false, "refused", m, s);
	/* A receive mode it does not know: upstream writes the value into the
	 * ring's flags; we refuse it and the ring stays as it was. */
	ck_assert_int_eq(memif_set_rx_mode(m->conn, (memif_rx_mode_t)7, 0), MEMIF_ERR_INVAL_ARG);
	ck_assert_uint_eq(queue_flags(s->conn, true), 0);
	app_send(s, 0, 2, FRAME, 0);
	wait_rx(&e, m, 2); /* still interrupt mode */

	/* An interface mode above 2 (no such mode on the wire). */
	memset(&ca, 0, sizeof(ca));
	ca.socket = e.sock[0];
	ca.is_master = 1;
	ca.interface_id = 77;
	ca.mode = (memif_interface_mode_t)3;
	ck_assert_int_eq(memif_create(&conn, &ca, NULL, NULL, NULL, NULL), MEMIF_ERR_INVAL_ARG);
	ck_assert_ptr_null(conn);

	/* A socket path that fills all 108 bytes, no NUL. */
	memset(&sa, 0, sizeof(sa));
	memset(sa.path, 'p', sizeof(sa.path));
	ck_assert_int_eq(memif_create_socket(&sock, &sa, NULL), MEMIF_ERR_INVAL_ARG);
	ck_assert_ptr_null(sock);
	pair_down(&e, m, s);
}
END_TEST

/*
 * Upstream's icmp_responder without zero copy: one transmit buffer per
 * received buffer (alloc of rx_buf_num buffers of buffer_size), data, len
 * and FLAGS copied over, chains included. MEMIF_BUFFER_FLAG_RX on a
 * transmit buffer means nothing: every frame goes back intact, and the
 * receiver sees only NEXT and RX.
 */
static void echo_copy(struct env *e, struct app *from, struct app *to, uint32_t n, uint32_t size)
{
	memif_buffer_t rx[64], tx[64];
	uint16_t nrx = 0, got = 0, ntx = 0, want;
	uint32_t bufs = (size + 2047) / 2048 * n;

	ck_assert_uint_le(bufs, 64);
	app_send(from, 0, (uint16_t)n, size, 0);
	for (int64_t dl = t_deadline(RUN_MS); nrx < bufs && t_now_ms() < dl;) {
		env_step(e, 1);
		ck_assert_int_eq(memif_rx_burst(to->conn, 0, rx + nrx, (uint16_t)(bufs - nrx),
						&want),
				 MEMIF_ERR_SUCCESS);
		nrx = (uint16_t)(nrx + want);
	}
	ck_assert_uint_eq(nrx, bufs);
	ck_assert_int_eq(memif_buffer_alloc(to->conn, 0, tx, nrx, &got, 2048), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(got, nrx);
	for (uint16_t i = 0; i < nrx; i++) {
		ck_assert(rx[i].flags & MEMIF_BUFFER_FLAG_RX);
		memcpy(tx[i].data, rx[i].data, rx[i].len);
		tx[i].flags = rx[i].flags;
		tx[i].len = rx[i].len;
	}
	ck_assert_int_eq(memif_tx_burst(to->conn, 0, tx, got, &ntx), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(ntx, got);
	ck_assert_int_eq(memif_refill_queue(to->conn, 0, nrx, 0), MEMIF_ERR_SUCCESS);
	from->next_seq = 0;
	from->rx_pkts = 0;
	for (int64_t dl = t_deadline(RUN_MS);
	     from->rx_pkts + from->rx_bad < n && t_now_ms() < dl;) {
		uint16_t k = 0;

		env_step(e, 1);
		(void)memif_rx_burst(from->conn, 0, rx, 64, &k);
		for (uint16_t i = 0; i < k; i++)
			ck_assert_msg((rx[i].flags &
				       ~(MEMIF_BUFFER_FLAG_RX | MEMIF_BUFFER_FLAG_NEXT)) == 0,
				      "received flags 0x%x", rx[i].flags);
		app_take(from, rx, k);
		ck_assert_int_eq(memif_refill_queue(from->conn, 0, k, 0), MEMIF_ERR_SUCCESS);
	}
	ck_assert_uint_eq(from->rx_pkts, n);
	ck_assert_uint_eq(from->rx_bad, 0);
}

START_TEST(test_tx_flags_copied_from_rx)
{
	struct env e;
	struct app *m = app_new(), *s = app_new();

	m->poll_only = true;
	s->poll_only = true;
	pair_up(&e, false, "flagcopy", m, s);
	echo_copy(&e, m, s, 8, FRAME); /* the slave echoes */
	echo_copy(&e, m, s, 4, 5000);  /* chains of 3 */
	echo_copy(&e, s, m, 8, FRAME); /* the master echoes */
	echo_copy(&e, s, m, 4, 5000);
	pair_down(&e, m, s);
}
END_TEST

/* ---- 3. the buffer field is `queue` ---------------------------------------- */

START_TEST(test_buffer_layout)
{
	memif_buffer_t b;

	/* Field names and types as upstream's; this fails to compile otherwise. */
	memset(&b, 0, sizeof(b));
	b.desc_index = (uint16_t)1;
	b.queue = (void *)&b;
	b.len = (uint32_t)2;
	b.flags = (uint8_t)MEMIF_BUFFER_FLAG_NEXT;
	b.data = NULL;
	ck_assert_uint_eq(sizeof(b.desc_index), 2);
	ck_assert_uint_eq(sizeof(b.len), 4);
	ck_assert_uint_eq(sizeof(b.flags), 1);
	ck_assert_ptr_eq(b.queue, &b);
	ck_assert_uint_eq(MEMIF_BUFFER_FLAG_NEXT, 1);
}
END_TEST

static Suite *upstream_suite(void)
{
	Suite *s = suite_create("upstream");
	TCase *tc;

	tc = t_tcase("loopback", 30);
	/* bit 0: memif_poll_event instead of the app's loop; bit 1: abstract path */
	tcase_add_loop_test(tc, test_loopback_one_socket, 0, 4);
	tcase_add_test(tc, test_one_socket_two_pairs);
	suite_add_tcase(s, tc);

	tc = t_tcase("rx", 30);
	tcase_add_test(tc, test_drain_loop_nobuf);
	tcase_add_loop_test(tc, test_irq_ten_per_call, 0, 2);
	tcase_add_loop_test(tc, test_own_epoll_on_queue_efd, 0, 2);
	tcase_add_test(tc, test_mask_int_in_details);
	suite_add_tcase(s, tc);

	tc = t_tcase("api", 30);
	tcase_add_test(tc, test_buffer_layout);
	tcase_add_test(tc, test_noconn_disconnected);
	tcase_add_test(tc, test_nul_abstract_path);
	tcase_add_test(tc, test_secret_24_bytes);
	tcase_add_test(tc, test_secret_master_none);
	suite_add_tcase(s, tc);

	tc = t_tcase("calls", 30);
	tcase_add_test(tc, test_delete_runs_on_disconnect_once);
	tcase_add_test(tc, test_cancel_poll_event_loop);
	tcase_add_test(tc, test_upstream_return_codes);
	tcase_add_test(tc, test_two_masters_one_id);
	tcase_add_test(tc, test_alloc_size_zero);
	tcase_add_test(tc, test_refused_values);
	tcase_add_test(tc, test_tx_flags_copied_from_rx);
	suite_add_tcase(s, tc);

	tc = t_tcase("zero-copy", 30);
	tcase_add_test(tc, test_buffer_requeue);
	tcase_add_test(tc, test_requeue_after_enq_tx);
	tcase_add_test(tc, test_enq_tx_then_refill);
	tcase_add_loop_test(tc, test_set_next_free_buffer, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(upstream_suite());
}
