/* SPDX-License-Identifier: MIT */
/*
 * check_thread_stress.c - worker threads that never stop (issue 13): one
 * worker per queue keeps bursting (alloc, fill, tx_burst; rx_burst, verify,
 * refill) in a tight loop while the peer process, which echoes every frame
 * back, is SIGKILLed and restarted, and deletes and recreates its interface
 * (a graceful DISCONNECT), several times. The workers are never stopped
 * around a disconnect: the library must turn every call that races the
 * teardown into DISCONNECTED and never touch what it releases. Both roles
 * of the test side; the control thread runs our own epoll loop (t_loop)
 * when we are the master and memif_poll_event when we are the slave.
 *
 * Two test cases, each in both roles:
 *   calls  the workers call the library and never read or write a buffer's
 *          data: the library's own promise, no call touches what the
 *          teardown released;
 *   data   the workers fill every frame between alloc and tx_burst and read
 *          and verify every frame between rx_burst and refill, as real apps
 *          do: a disconnect can come while they hold buffers, so the memory
 *          behind held buffers must stay addressable after the teardown.
 *          Frames read while a disconnect went on (on_disconnect ran
 *          meanwhile, or refill said DISCONNECTED) are not judged.
 *
 * Checked: no crash (and no ASan/TSan report in those stages), traffic
 * flows again in every connection (echoed frames counted per queue and
 * epoch), every worker saw DISCONNECTED, no call returned anything outside
 * SUCCESS / NOBUF / NOBUF_RING / DISCONNECTED (QID included), every frame
 * that came back verifies, no on_interrupt for queues set to polling before
 * the first connect, and the fd count is back to its baseline (fixture).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#if T_UNDER_TSAN
#define QUEUES 2
#define MIN_PER_EPOCH 300u /* echoed frames per queue before the next disruption */
#elif defined(__SANITIZE_ADDRESS__)
#define QUEUES 3
#define MIN_PER_EPOCH 500u
#else
#define QUEUES 3
#define MIN_PER_EPOCH 1500u
#endif

#define EPOCH_MIN_MS 150 /* and at least this long with the link up */
#define CYCLES 16        /* disruptions: kill, recreate, kill, recreate, ... */
#define EPOCHS (CYCLES + 1)
#define STEP_MS 5000 /* each wait: link up, traffic, link down */
#define PEER_LIFE_MS 60000
#define BURST 32
#define RX_BURST 64
#define BUF_SIZE 2048
#define LOG2_RING 8
#define IF_ID 7

#define MSG_RECREATE 0x7ec7ea7eu
#define MSG_BYE 0xb7e00000u

/* Frame size per queue: the last one uses 2-buffer chains. */
static uint32_t frame_size(uint16_t qid)
{
	static const uint32_t sizes[] = { 64, 1000, 3000 };

	return qid == QUEUES - 1 ? sizes[2] : sizes[qid % 2];
}

/* ---- the peer process: echoes every frame on the queue it came from ------------ */

struct peer_args {
	char path[108];
	bool master;
	int fd; /* socketpair end */
};

struct peer {
	struct t_loop loop;
	memif_socket_handle_t sock;
	memif_conn_handle_t conn;
	memif_conn_args_t ca;
	uint8_t tmp[T_MAX_FRAME];
};

static int peer_on_connect(memif_conn_handle_t conn, void *ctx)
{
	(void)ctx;
	for (uint16_t q = 0; q < QUEUES; q++)
		(void)memif_refill_queue(conn, q, (uint16_t)-1, 0);
	return 0;
}

static int peer_on_disconnect(memif_conn_handle_t conn, void *ctx)
{
	(void)conn;
	(void)ctx;
	return 0;
}

/* Send one frame of `len` bytes from p->tmp; dropped when the ring is full. */
static void peer_send(struct peer *p, uint16_t qid, uint32_t len)
{
	memif_buffer_t tb[8];
	uint16_t got = 0, tx = 0;
	uint32_t off = 0;

	if (memif_buffer_alloc(p->conn, qid, tb, 1, &got, (uint16_t)len) != MEMIF_ERR_SUCCESS)
		return;
	for (uint16_t i = 0; i < got && off < len; i++) {
		uint32_t n = tb[i].len;

		if (n > len - off)
			n = len - off;
		memcpy(tb[i].data, p->tmp + off, n);
		off += n;
	}
	(void)memif_tx_burst(p->conn, qid, tb, got, &tx);
}

static int peer_on_interrupt(memif_conn_handle_t conn, void *ctx, uint16_t qid)
{
	struct peer *p = ctx;
	memif_buffer_t rb[RX_BURST];
	uint32_t len = 0;

	(void)conn;
	for (int round = 0; round < 64; round++) {
		uint16_t rx = 0;
		int err = memif_rx_burst(p->conn, qid, rb, RX_BURST, &rx);

		for (uint16_t i = 0; i < rx; i++) {
			if (len + rb[i].len <= sizeof(p->tmp))
				memcpy(p->tmp + len, rb[i].data, rb[i].len);
			len += rb[i].len;
			if (rb[i].flags & MEMIF_BUFFER_FLAG_NEXT)
				continue;
			if (len <= sizeof(p->tmp))
				peer_send(p, qid, len);
			len = 0;
		}
		(void)memif_refill_queue(p->conn, qid, rx, 0);
		if (err != MEMIF_ERR_NOBUF)
			break;
	}
	return 0;
}

static int peer_create_if(struct peer *p)
{
	return memif_create(&p->conn, &p->ca, peer_on_connect, peer_on_disconnect,
			    peer_on_interrupt, p);
}

static int peer_main(void *arg)
{
	struct peer_args *a = arg;
	struct peer *p = calloc(1, sizeof(*p));
	memif_socket_args_t sa;
	int64_t deadline = t_deadline(PEER_LIFE_MS);

	T_PEER_CHECK(p != NULL, 10);
	T_PEER_CHECK(t_loop_init(&p->loop) == 0, 11);
	t_socket_args(&sa, a->path, a->master ? "peer-m" : "peer-s", &p->loop);
	T_PEER_CHECK(memif_create_socket(&p->sock, &sa, &p->loop) == MEMIF_ERR_SUCCESS, 12);
	t_conn_args(&p->ca, p->sock, a->master, IF_ID, a->master ? "peer-m" : "peer-s");
	p->ca.num_s2m_rings = p->ca.num_m2s_rings = QUEUES;
	p->ca.log2_ring_size = LOG2_RING;
	p->ca.buffer_size = BUF_SIZE;
	T_PEER_CHECK(peer_create_if(p) == MEMIF_ERR_SUCCESS, 13);

	while (t_loop_step(&p->loop, deadline)) {
		uint32_t v;
		int r = t_msg_recv(a->fd, &v, 0);

		if (r == -ETIMEDOUT)
			continue;
		if (r != 0 || v == MSG_BYE)
			break;
		if (v == MSG_RECREATE) {
			/* A graceful disconnect: DISCONNECT sent, then a new interface. */
			T_PEER_CHECK(memif_delete(&p->conn) == MEMIF_ERR_SUCCESS, 14);
			T_PEER_CHECK(peer_create_if(p) == MEMIF_ERR_SUCCESS, 15);
		}
	}
	T_PEER_CHECK(memif_delete(&p->conn) == MEMIF_ERR_SUCCESS, 16);
	T_PEER_CHECK(memif_delete_socket(&p->sock) == MEMIF_ERR_SUCCESS, 17);
	t_loop_fini(&p->loop);
	free(p);
	close(a->fd);
	return 0;
}

/* ---- the workers ------------------------------------------------------------------ */

enum call { C_ALLOC, C_TX, C_RX, C_REFILL, C_COUNT };
static const char *const call_names[C_COUNT] = { "alloc", "tx_burst", "rx_burst", "refill" };

struct worker {
	pthread_t th;
	memif_conn_handle_t conn;
	uint16_t qid;
	uint32_t size;
	atomic_bool *stop;
	atomic_int *downs; /* on_disconnect calls so far */
	bool touch; /* fill what is sent, read and verify what is received */
	/* Read by the control thread while the worker runs. */
	atomic_uint_fast64_t rx_frames; /* echoed frames that verified */
	atomic_uint_fast64_t tx_frames;
	atomic_uint disconnected;       /* calls that returned DISCONNECTED */
	atomic_uint unexpected;         /* calls that returned anything else unexpected */
	/* Read after join. */
	int first_bad_err;
	enum call first_bad_call;
	uint32_t bad_frames;
	uint32_t bad_alloc_len;
	uint32_t seq;
	uint32_t asm_len;
	uint8_t asm_buf[T_MAX_FRAME];
};

/* True for SUCCESS, NOBUF, NOBUF_RING; counts DISCONNECTED and anything else. */
static bool worker_check(struct worker *w, enum call c, int err)
{
	if (err == MEMIF_ERR_SUCCESS || err == MEMIF_ERR_NOBUF || err == MEMIF_ERR_NOBUF_RING)
		return true;
	if (err == MEMIF_ERR_DISCONNECTED) {
		atomic_fetch_add_explicit(&w->disconnected, 1, memory_order_relaxed);
		return false;
	}
	if (atomic_fetch_add_explicit(&w->unexpected, 1, memory_order_relaxed) == 0) {
		w->first_bad_err = err;
		w->first_bad_call = c;
	}
	return false;
}

/* alloc, fill, tx_burst: true if anything went out. */
static bool worker_tx(struct worker *w)
{
	memif_buffer_t b[BURST * 2];
	uint16_t got = 0, tx = 0;
	uint32_t pk = 0;
	int err;

	err = memif_buffer_alloc(w->conn, w->qid, b, BURST, &got, (uint16_t)w->size);
	worker_check(w, C_ALLOC, err);
	if (got == 0)
		return false;
	/* Writes into the buffers: they must stay writable memory while held. */
	if (w->touch)
		t_frame_fill_bufs(b, got, w->seq, w->size, &w->bad_alloc_len);
	err = memif_tx_burst(w->conn, w->qid, b, got, &tx);
	worker_check(w, C_TX, err);
	for (uint16_t i = 0; i < tx && i < got; i++) {
		if (!(b[i].flags & MEMIF_BUFFER_FLAG_NEXT))
			pk++;
	}
	w->seq += pk;
	atomic_fetch_add_explicit(&w->tx_frames, pk, memory_order_relaxed);
	return tx > 0;
}

/*
 * rx_burst, verify, refill: true if anything came in. Frames read while a
 * disconnect went on are not judged: their buffers may no longer hold what
 * the peer wrote. The app can tell, as here, from on_disconnect having run
 * meanwhile or from refill returning DISCONNECTED.
 */
static bool worker_rx(struct worker *w)
{
	memif_buffer_t b[RX_BURST];
	uint16_t rx = 0;
	uint32_t good = 0, bad = 0;
	int downs = atomic_load(w->downs);
	bool link_ok;
	int err;

	err = memif_rx_burst(w->conn, w->qid, b, RX_BURST, &rx);
	if (!worker_check(w, C_RX, err))
		w->asm_len = 0; /* a chain cut by a disconnect */
	for (uint16_t i = 0; i < rx; i++) {
		/* Reads the buffers: they must stay readable memory while held. */
		if (w->touch && w->asm_len + b[i].len <= sizeof(w->asm_buf))
			memcpy(w->asm_buf + w->asm_len, b[i].data, b[i].len);
		w->asm_len += b[i].len;
		if (b[i].flags & MEMIF_BUFFER_FLAG_NEXT)
			continue;
		if (w->asm_len == w->size &&
		    (!w->touch ||
		     t_frame_verify(w->asm_buf, w->asm_len, t_frame_seq(w->asm_buf))))
			good++;
		else
			bad++;
		w->asm_len = 0;
	}
	/* Gives back what was taken; right after a connect it fills a slave's ring. */
	err = memif_refill_queue(w->conn, w->qid, (uint16_t)-1, 0);
	link_ok = worker_check(w, C_REFILL, err);
	if (link_ok && atomic_load(w->downs) == downs) {
		atomic_fetch_add_explicit(&w->rx_frames, good, memory_order_relaxed);
		w->bad_frames += bad;
	} else {
		w->asm_len = 0;
	}
	return rx > 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	/* A tight loop: a call is nearly always under way when the teardown comes. */
	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		bool sent = worker_tx(w);
		bool got = worker_rx(w);

		if (!sent && !got) /* ring full, empty or link down: keep calling */
			sched_yield();
	}
	return NULL;
}

/* ---- the test side ---------------------------------------------------------------- */

struct ctl {
	bool self_poll;
	struct t_loop loop;
	memif_socket_handle_t sock;
	memif_conn_handle_t conn;
	int n_connect, n_disconnect, n_irq, n_wrong_conn;
	atomic_int downs; /* n_disconnect, for the workers */
	bool up;
	struct worker w[QUEUES];
	atomic_bool stop;
	uint64_t epoch_frames[EPOCHS][QUEUES];
};

static int ctl_on_connect(memif_conn_handle_t conn, void *ctx)
{
	struct ctl *c = ctx;

	if (conn != c->conn)
		c->n_wrong_conn++;
	c->n_connect++;
	c->up = true;
	return 0;
}

static int ctl_on_disconnect(memif_conn_handle_t conn, void *ctx)
{
	struct ctl *c = ctx;

	/* Deliberately no stopping of the workers here. */
	if (conn != c->conn)
		c->n_wrong_conn++;
	c->n_disconnect++;
	atomic_fetch_add(&c->downs, 1);
	c->up = false;
	return 0;
}

static int ctl_on_interrupt(memif_conn_handle_t conn, void *ctx, uint16_t qid)
{
	struct ctl *c = ctx;

	(void)conn;
	(void)qid;
	c->n_irq++; /* every queue polls: never expected */
	return 0;
}

/* One step of the control thread, at most 10 ms; false after deadline. */
static bool ctl_step(struct ctl *c, int64_t deadline)
{
	int64_t left = deadline - t_now_ms();

	if (left <= 0)
		return false;
	if (!c->self_poll)
		return t_loop_step(&c->loop, deadline);
	ck_assert_int_eq(memif_poll_event(c->sock, left < 10 ? (int)left : 10), MEMIF_ERR_SUCCESS);
	return true;
}

#define CTL_UNTIL(c, cond, ms)                                                     \
	for (int64_t c__dl = t_deadline(ms); !(cond) && ctl_step((c), c__dl);)

static bool traffic_since(struct ctl *c, const uint64_t *base, uint32_t min)
{
	for (int q = 0; q < QUEUES; q++) {
		if (atomic_load(&c->w[q].rx_frames) - base[q] < min)
			return false;
	}
	return true;
}

static void worker_report(const struct worker *w, char *buf, size_t len)
{
	snprintf(buf, len, "queue %u: tx %llu, rx %llu, disconnected %u, unexpected %u",
		 w->qid, (unsigned long long)atomic_load(&w->tx_frames),
		 (unsigned long long)atomic_load(&w->rx_frames), atomic_load(&w->disconnected),
		 atomic_load(&w->unexpected));
}

/*
 * me_master: we are the master (own epoll loop), else the slave
 * (memif_poll_event). touch: the workers fill every frame they send and
 * read and verify every frame they receive, as a real app does between
 * alloc and tx_burst, rx_burst and refill; without it they only call the
 * library and never read or write the buffers' data (the library's own
 * promise: no call touches what the teardown released).
 */
static void run_stress(bool me_master, bool touch)
{
	struct ctl *c = calloc(1, sizeof(*c));
	struct peer_args a;
	memif_socket_args_t sa;
	memif_conn_args_t ca;
	pid_t pid;
	int fd, status;
	char rep[256];
	unsigned down_base[QUEUES]; /* DISCONNECTED seen before the first link up */
	int64_t t0 = t_now_ms();

	ck_assert_ptr_nonnull(c);
	c->self_poll = !me_master;
	memset(&a, 0, sizeof(a));
	t_sock_path(a.path, sizeof(a.path), "stress");
	a.master = !me_master;

	ck_assert_int_eq(t_loop_init(&c->loop), 0);
	t_socket_args(&sa, a.path, me_master ? "stress-m" : "stress-s",
		      c->self_poll ? NULL : &c->loop);
	ck_assert_int_eq(memif_create_socket(&c->sock, &sa, &c->loop), MEMIF_ERR_SUCCESS);
	t_conn_args(&ca, c->sock, me_master, IF_ID, me_master ? "stress-m" : "stress-s");
	ca.num_s2m_rings = ca.num_m2s_rings = QUEUES;
	ca.log2_ring_size = LOG2_RING;
	ca.buffer_size = BUF_SIZE;
	ck_assert_int_eq(memif_create(&c->conn, &ca, ctl_on_connect, ctl_on_disconnect,
				      ctl_on_interrupt, c),
			 MEMIF_ERR_SUCCESS);
	/* Polling chosen before the first connect: no interrupt, ever. */
	for (uint16_t q = 0; q < QUEUES; q++)
		ck_assert_int_eq(memif_set_rx_mode(c->conn, MEMIF_RX_MODE_POLLING, q),
				 MEMIF_ERR_SUCCESS);

	/* Workers start before the link is up and run until the very end. */
	atomic_init(&c->stop, false);
	atomic_init(&c->downs, 0);
	for (uint16_t q = 0; q < QUEUES; q++) {
		struct worker *w = &c->w[q];

		w->conn = c->conn;
		w->qid = q;
		w->size = frame_size(q);
		w->stop = &c->stop;
		w->downs = &c->downs;
		w->touch = touch;
		atomic_init(&w->rx_frames, 0);
		atomic_init(&w->tx_frames, 0);
		atomic_init(&w->disconnected, 0);
		atomic_init(&w->unexpected, 0);
		ck_assert_int_eq(pthread_create(&w->th, NULL, worker_main, w), 0);
	}

	pid = t_peer_fork_socketpair(peer_main, &a, &a.fd, &fd);
	for (int epoch = 0; epoch < EPOCHS; epoch++) {
		uint64_t base[QUEUES];
		bool kill_it = epoch % 2 == 0;
		int64_t until;

		CTL_UNTIL(c, c->n_connect == epoch + 1, STEP_MS);
		ck_assert_msg(c->n_connect == epoch + 1,
			      "epoch %d: link not up (connects %d, disconnects %d)", epoch,
			      c->n_connect, c->n_disconnect);
		for (int q = 0; q < QUEUES; q++) {
			base[q] = atomic_load(&c->w[q].rx_frames);
			if (epoch == 0)
				down_base[q] = atomic_load(&c->w[q].disconnected);
		}
		until = t_deadline(EPOCH_MIN_MS);
		CTL_UNTIL(c, traffic_since(c, base, MIN_PER_EPOCH) && t_now_ms() >= until, STEP_MS);
		for (int q = 0; q < QUEUES; q++) {
			c->epoch_frames[epoch][q] = atomic_load(&c->w[q].rx_frames) - base[q];
			worker_report(&c->w[q], rep, sizeof(rep));
			ck_assert_msg(c->epoch_frames[epoch][q] >= MIN_PER_EPOCH,
				      "epoch %d: traffic did not resume on %s (%llu echoed)", epoch,
				      rep, (unsigned long long)c->epoch_frames[epoch][q]);
		}
		if (epoch == EPOCHS - 1)
			break;

		if (kill_it) {
			/* Mid-traffic the peer dies without a word; a new one starts at once. */
			ck_assert_int_eq(kill(pid, SIGKILL), 0);
			status = t_peer_wait(pid, STEP_MS);
			close(fd);
			ck_assert_int_eq(status, 128 + SIGKILL);
			pid = t_peer_fork_socketpair(peer_main, &a, &a.fd, &fd);
		} else {
			ck_assert_int_eq(t_msg_send(fd, MSG_RECREATE), 0);
		}
		CTL_UNTIL(c, c->n_disconnect == epoch + 1, STEP_MS);
		ck_assert_msg(c->n_disconnect == epoch + 1, "epoch %d: no on_disconnect after the %s",
			      epoch, kill_it ? "kill" : "recreate");
	}

	/* Only now are the workers stopped: memif_delete under them is a misuse. */
	atomic_store(&c->stop, true);
	for (int q = 0; q < QUEUES; q++)
		ck_assert_int_eq(pthread_join(c->w[q].th, NULL), 0);
	ck_assert_int_eq(t_msg_send(fd, MSG_BYE), 0);
	status = t_peer_wait(pid, STEP_MS);
	close(fd);
	ck_assert_msg(status == 0, "peer exit status %d", status);

	for (int q = 0; q < QUEUES; q++) {
		struct worker *w = &c->w[q];

		worker_report(w, rep, sizeof(rep));
		ck_assert_msg(atomic_load(&w->unexpected) == 0, "%s; first: %s returned %d (%s)", rep,
			      call_names[w->first_bad_call], w->first_bad_err,
			      memif_strerror(w->first_bad_err));
		ck_assert_msg(atomic_load(&w->disconnected) > down_base[q],
			      "%s: never saw DISCONNECTED after the first link up", rep);
		ck_assert_msg(w->bad_frames == 0, "%s: %u echoed frames did not verify", rep,
			      w->bad_frames);
		ck_assert_msg(w->bad_alloc_len == 0, "%s: %u allocations of a wrong length", rep,
			      w->bad_alloc_len);
	}
	ck_assert_int_eq(c->n_irq, 0);
	ck_assert_int_eq(c->n_wrong_conn, 0);
	ck_assert_int_eq(c->n_connect, EPOCHS);

	ck_assert_int_eq(memif_delete(&c->conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete_socket(&c->sock), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(c->loop.nfds, 0);
	t_loop_fini(&c->loop);
	fprintf(stderr, "stress (%s, %s): %d epochs in %lld ms; echoed per epoch, queue 0:",
		me_master ? "master" : "slave", touch ? "data touched" : "calls only", EPOCHS,
		(long long)(t_now_ms() - t0));
	for (int e = 0; e < EPOCHS; e++)
		fprintf(stderr, " %llu", (unsigned long long)c->epoch_frames[e][0]);
	fprintf(stderr, "\n");
	free(c);
}

/* _i: 0 we are the master, 1 the slave. Workers only call the library. */
START_TEST(test_calls_survive_peer)
{
	run_stress(_i == 0, false);
}
END_TEST

/* _i: 0 we are the master, 1 the slave. Workers also fill and verify the data. */
START_TEST(test_data_survives_peer)
{
	run_stress(_i == 0, true);
}
END_TEST

static Suite *stress_suite(void)
{
	Suite *s = suite_create("thread_stress");
	TCase *tc;

	tc = t_tcase("calls", 25);
	tcase_add_loop_test(tc, test_calls_survive_peer, 0, 2);
	suite_add_tcase(s, tc);

	tc = t_tcase("data", 25);
	tcase_add_loop_test(tc, test_data_survives_peer, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* the socketpair to a killed peer */
	return t_run_suite(stress_suite());
}
