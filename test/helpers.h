/* SPDX-License-Identifier: MIT */
/*
 * helpers.h - shared helpers of the libmemif test programs (prefix t_).
 *
 * Only the public API (libmemif.h) is used here, so the integration tests
 * link the real shared library.
 *
 *   temp dir / paths   t_sock_path(), t_abstract_path(): unique per test, so
 *                      test programs can run in parallel.
 *   fd accounting      t_fd_count() counts /proc/self/fd; the Check fixture
 *                      t_fixture_setup/teardown fails a test that leaks fds.
 *   event loop         struct t_loop: a tiny epoll loop implementing
 *                      on_control_fd_update and dispatching ready fds to
 *                      memif_control_fd_handler; every wait has a deadline.
 *   endpoints          struct t_ep: one interface plus callback counters,
 *                      an optional receive-on-interrupt drain.
 *   frames             t_frame_*: packets carrying their sequence number and
 *                      length, filled and verified across buffer chains.
 *   peers              t_peer_fork()/t_peer_wait(): run a peer process with
 *                      a deadline and collect its exit status;
 *                      t_peer_fork_socketpair() also links it by a socketpair.
 *   sanitizers         T_UNDER_TSAN: 1 in a ThreadSanitizer build, else 0.
 *
 * Check environment: CK_RUN_SUITE / CK_RUN_CASE select tests, CK_FORK=no
 * runs them in-process (handy under gdb), CK_DEFAULT_TIMEOUT and
 * CK_TIMEOUT_MULTIPLIER scale the per-test timeouts (e.g. under TSan).
 */
#ifndef MEMIF_TEST_HELPERS_H
#define MEMIF_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <check.h>

#include "libmemif.h"

/* ---- sanitizers ---------------------------------------------------------- */

/*
 * 1 when this file is built with ThreadSanitizer (gcc or clang), else 0:
 * TSan is slow, so threaded tests scale their frame counts down with it.
 */
#if defined(__SANITIZE_THREAD__)
#define T_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define T_UNDER_TSAN 1
#endif
#endif
#ifndef T_UNDER_TSAN
#define T_UNDER_TSAN 0
#endif

/* ---- time ------------------------------------------------------------- */

/* Monotonic milliseconds. */
int64_t t_now_ms(void);
/* A deadline `ms` from now. */
int64_t t_deadline(int ms);
void t_sleep_ms(int ms);

/* ---- temp dir and socket paths ----------------------------------------- */

/*
 * The per-test temp dir (created by t_fixture_setup, removed with its
 * contents by t_fixture_teardown). Created on demand when used without the
 * fixture.
 */
const char *t_tmpdir(void);
/* Remove the temp dir and everything in it (non-recursive: files only). */
void t_tmpdir_remove(void);
/* "<tmpdir>/<name>.sock" into buf (sizeof 108 is enough). */
void t_sock_path(char *buf, size_t len, const char *name);
/* "@memif-it-<pid>-<n>-<name>": a unique abstract socket name. */
void t_abstract_path(char *buf, size_t len, const char *name);
/* True if /proc/net/unix lists exactly this address ("@name" for abstract). */
bool t_unix_addr_listed(const char *path);

/* ---- fd accounting and the Check fixture -------------------------------- */

/* Number of open fds of this process (from /proc/self/fd). */
int t_fd_count(void);
/* Human-readable list of open fds (fd -> target) for leak reports. */
void t_fd_dump(char *buf, size_t len);
/* Is fd readable now? (Looks without reading: an eventfd stays as it was.) */
bool t_fd_readable(int fd);
/* Checked fixture: creates the temp dir and records the fd count. */
void t_fixture_setup(void);
/* Checked fixture: removes the temp dir and fails the test on an fd leak. */
void t_fixture_teardown(void);
/* A TCase with the fixture above and a timeout in seconds. */
TCase *t_tcase(const char *name, double timeout_s);
/* Run a suite, print Check's summary, return the exit code for main(). */
int t_run_suite(Suite *s);

/* ---- event loop -------------------------------------------------------- */

#define T_LOOP_MAX_FDS 256

struct t_loop_ent {
	int fd;
	void *ctx;     /* the library's token for the fd */
	uint32_t gen;  /* detects stale events of a reused slot */
	uint32_t events;
	bool used;
};

struct t_loop {
	int epfd;
	uint32_t gen;
	int nfds;                 /* fds currently watched */
	int n_add, n_mod, n_del;  /* on_control_fd_update calls */
	int n_dispatch;           /* memif_control_fd_handler calls */
	int n_handler_err;        /* handler calls that returned an error */
	int last_handler_err;
	int update_errors;        /* on_control_fd_update calls we failed */
	struct t_loop_ent ent[T_LOOP_MAX_FDS];
};

/* 0 or -errno. */
int t_loop_init(struct t_loop *l);
void t_loop_fini(struct t_loop *l);
/*
 * memif_control_fd_update_t: pass a struct t_loop * as the socket's
 * private_ctx. Handles READ/WRITE (add), MOD and DEL.
 */
int t_loop_fd_update(memif_fd_event_t fde, void *private_ctx);
/* Is this fd watched by the loop? */
bool t_loop_watches(const struct t_loop *l, int fd);
/* Wait up to timeout_ms once and dispatch; returns events handled or -errno. */
int t_loop_run_once(struct t_loop *l, int timeout_ms);
/* Same, for at most one ready fd: to stop a handshake at a chosen step. */
int t_loop_run_one(struct t_loop *l, int timeout_ms);
/*
 * Run the loop until pred(arg) is true or timeout_ms passed; pred is
 * evaluated at least every 10 ms and may have side effects (e.g. send).
 * Returns the last value of pred.
 */
bool t_loop_run_until(struct t_loop *l, bool (*pred)(void *), void *arg, int timeout_ms);
/* Run the loop for ms milliseconds (to show that something does NOT happen). */
void t_loop_run_for(struct t_loop *l, int ms);
/* One loop step of at most 10 ms; false once `deadline` has passed. */
bool t_loop_step(struct t_loop *l, int64_t deadline);
/*
 * Run the loop until `cond` holds or `ms` passed; assert `cond` afterwards:
 *   T_LOOP_UNTIL(&loop, m.up && s.up, 2000);
 *   ck_assert(m.up && s.up);
 */
#define T_LOOP_UNTIL(l, cond, ms)                                                  \
	for (int64_t t__dl = t_deadline(ms); !(cond) && t_loop_step((l), t__dl);)

/* ---- frames -------------------------------------------------------------- */

/*
 * A frame of `len` bytes (len >= 8) with sequence number `seq`: bytes 0..3
 * are seq, 4..7 len (little-endian), the rest a pattern of (seq, offset).
 */
uint8_t t_frame_byte(uint32_t seq, uint32_t len, uint32_t off);
void t_frame_fill(void *buf, uint32_t len, uint32_t seq);
/* Fill the part [off, off + n) of a frame; for frames spread over buffers. */
void t_frame_fill_part(void *buf, uint32_t off, uint32_t n, uint32_t len, uint32_t seq);
/* True if buf holds the whole frame `seq` of `len` bytes. */
bool t_frame_verify(const void *buf, uint32_t len, uint32_t seq);
/* The sequence number / length field of a frame (len >= 8). */
uint32_t t_frame_seq(const void *buf);
uint32_t t_frame_len(const void *buf);

/*
 * Fill the packets described by bufs[0..n) (chains flagged NEXT, lengths as
 * preset by memif_buffer_alloc) as frames seq0, seq0 + 1, ...
 * Returns the number of packets (chain ends); *bad_len counts packets whose
 * chain length differs from `want_len` (if want_len != 0).
 */
uint32_t t_frame_fill_bufs(memif_buffer_t *bufs, uint16_t n, uint32_t seq0, uint32_t want_len,
			   uint32_t *bad_len);

/* ---- transmit / receive helpers ------------------------------------------ */

#define T_MAX_FRAME 16384
#define T_BURST_BUFS 512

/* Transmit state of one queue. */
struct t_txq {
	uint32_t next_seq;     /* sequence number of the next frame */
	uint32_t buf_capacity; /* bytes per buffer (for sizing bufs); 0 = 2048 */
	uint64_t packets, bytes, buffers;
	uint32_t bad_alloc_len; /* alloc presets that did not add up to size */
	uint32_t nobuf;         /* alloc calls that returned NOBUF_RING */
	uint32_t partial_tx;    /* tx_burst sent fewer buffers than given */
	int last_err;           /* last unexpected error */
};

/*
 * Send up to `n` frames of `size` bytes on `qid`, at most `burst` per
 * alloc/tx_burst round; stops early when the ring is full. Returns frames
 * sent (0 when nothing could be sent, including on errors: see last_err).
 */
uint32_t t_tx_frames(memif_conn_handle_t conn, uint16_t qid, struct t_txq *q, uint32_t n,
		     uint32_t size, uint16_t burst);

/* Receive state of one queue; reassembles chains across bursts. */
struct t_rxq {
	uint32_t next_seq;      /* expected sequence number */
	uint64_t packets, bytes, buffers;
	uint32_t bad;           /* frames whose bytes or length did not verify */
	uint32_t out_of_order;  /* frames with an unexpected sequence number */
	uint32_t no_rx_flag;    /* buffers without MEMIF_BUFFER_FLAG_RX */
	uint32_t oversize;      /* chains longer than T_MAX_FRAME */
	uint32_t last_len;      /* length of the last frame */
	uint16_t headroom;      /* used when refilling */
	int last_err;           /* last unexpected error */
	uint32_t asm_len;
	uint8_t asm_buf[T_MAX_FRAME];
};

/*
 * Take everything waiting on `qid` (rx_burst until empty), verify each frame,
 * give the buffers back (refill with q->headroom). Returns frames completed.
 */
uint32_t t_rx_drain(memif_conn_handle_t conn, uint16_t qid, struct t_rxq *q);
/* Forget a partial chain (after a disconnect). */
void t_rxq_reset_partial(struct t_rxq *q);

/* ---- endpoints ----------------------------------------------------------- */

#define T_MAX_QUEUES 256

/* One interface with counters; its address is the memif_create private_ctx. */
struct t_ep {
	memif_socket_handle_t sock;
	memif_conn_handle_t conn;
	const char *name;       /* for messages */
	int n_connect;          /* on_connect calls */
	int n_disconnect;       /* on_disconnect calls */
	bool up;                /* between on_connect and on_disconnect */
	bool wrong_conn;        /* a callback got a conn other than ours */
	int refill_err;         /* first error of the refill done in on_connect */
	uint16_t refill_headroom; /* headroom for the on_connect refill */
	bool no_refill_on_connect;
	bool rx_on_interrupt;   /* drain rx queues from on_interrupt */
	int n_irq[T_MAX_QUEUES];
	int n_irq_total;
	int irq_bad_qid;        /* interrupts with a qid out of range */
	uint8_t n_rx_queues;    /* learned in on_connect */
	uint8_t n_tx_queues;
	struct t_rxq *rxq[T_MAX_QUEUES]; /* allocated on demand, see t_ep_rxq */
};

int t_on_connect(memif_conn_handle_t conn, void *private_ctx);
int t_on_disconnect(memif_conn_handle_t conn, void *private_ctx);
int t_on_interrupt(memif_conn_handle_t conn, void *private_ctx, uint16_t qid);

/* Free an endpoint's receive state (not the interface). */
void t_ep_free(struct t_ep *ep);
/* The receive state of queue qid (allocated on first use). */
struct t_rxq *t_ep_rxq(struct t_ep *ep, uint16_t qid);

/* Socket args with `path`, app name, a loop (NULL: library polling) and a 100 ms retry timer. */
void t_socket_args(memif_socket_args_t *a, const char *path, const char *app_name,
		   struct t_loop *loop);
/* Retry timer of `ms` milliseconds (interval and first expiry). */
struct itimerspec t_timer_ms(int ms);
/* Conn args: given socket, role, id, interface name; everything else default. */
void t_conn_args(memif_conn_args_t *a, memif_socket_handle_t sock, bool master, uint32_t id,
		 const char *if_name);
/* memif_create with the t_on_* callbacks and ep as private_ctx. */
int t_ep_create(struct t_ep *ep, memif_conn_args_t *a);

/* A ring details buffer with room for ndesc descriptors (free() it). */
memif_ring_details_t *t_ring_details_new(uint16_t ndesc);

/* Details of an interface into a caller buffer; returns memif_get_details' code. */
int t_details(memif_conn_handle_t conn, memif_details_t *md, char *buf, size_t len);

/* memif_get_region_sealed gives `want` for every region of connected `conn`
 * (and INVAL_ARG past the last one). */
void t_assert_regions_sealed(memif_conn_handle_t conn, uint8_t want);

/* Case-insensitive substring test; false for NULL haystack. */
bool t_contains_ci(const void *haystack, const char *needle);

/* ---- a master/slave pair in one process ----------------------------------- */

/*
 * Master and slave interfaces on one socket path, both driven by one loop.
 * t_pair_init sets defaults (master "if-m" on app "app-m", slave "if-s" on
 * app "app-s", id 0); tweak p->ma / p->sa before t_pair_connect.
 */
struct t_pair {
	struct t_loop loop;
	char path[108];
	memif_socket_handle_t msock, ssock;
	memif_conn_args_t ma, sa;
	struct t_ep m, s;
};

void t_pair_init(struct t_pair *p, const char *name);
/* Create the two sockets (if not yet) with the pair's loop. */
void t_pair_sockets(struct t_pair *p);
/* Create the master, then the slave, and run until both are up (asserts). */
void t_pair_connect(struct t_pair *p, int timeout_ms);
/* Delete what exists (asserting success), free, close the loop. */
void t_pair_close(struct t_pair *p);

/* ---- peer processes -------------------------------------------------------- */

/*
 * Fork a peer running fn(arg); its return value is its exit status. The peer
 * closes every inherited fd above 2 except keep_fd (-1: none), so it shares
 * no epoll instance, socket or eventfd with its parent; it dies with its
 * parent (PR_SET_PDEATHSIG) and must not use ck_assert: use T_PEER_CHECK,
 * which prints the failed condition and exits non-zero.
 * Returns the pid or -1.
 */
pid_t t_peer_fork(int (*fn)(void *), void *arg, int keep_fd);
/*
 * t_peer_fork with a socketpair between us and the peer: the peer's end is
 * stored in *peer_fd before the fork (so arg can carry it to fn) and is the
 * one fd the peer keeps; ours goes to *my_fd (close it when done). Asserts
 * that the socketpair and the fork succeed. Returns the pid.
 */
pid_t t_peer_fork_socketpair(int (*fn)(void *), void *arg, int *peer_fd, int *my_fd);
/*
 * Wait up to timeout_ms for the peer: its exit code, 128 + signal if it was
 * killed, or -1 on timeout (then it is killed and reaped).
 */
int t_peer_wait(pid_t pid, int timeout_ms);
/* Non-blocking: true if the peer ended; *status as for t_peer_wait. */
bool t_peer_done(pid_t pid, int *status);

#define T_PEER_CHECK(cond, code)                                                   \
	do {                                                                       \
		if (!(cond)) {                                                     \
			t_peer_fail(__FILE__, __LINE__, #cond, (code));            \
		}                                                                  \
	} while (0)
void t_peer_fail(const char *file, int line, const char *what, int code)
	__attribute__((noreturn));

/* A pipe pair for parent/peer messages; t_msg_* send/receive a u32 with a deadline. */
int t_msg_send(int fd, uint32_t v);
/* 0 and *v on success, -ETIMEDOUT, -EPIPE (closed) or -errno. */
int t_msg_recv(int fd, uint32_t *v, int timeout_ms);

#endif /* MEMIF_TEST_HELPERS_H */
