/* SPDX-License-Identifier: MIT */
/*
 * check_faults.c - failure injection: the system calls libmemif makes to
 * create and move resources fail, one at a time, at every point of a
 * connection's life; each failure must end cleanly and leave nothing behind.
 *
 * How: this executable defines memfd_create, mmap, sendmsg, eventfd,
 * timerfd_create and accept4. libmemif.so imports them from libc, and the
 * dynamic linker binds its calls to the executable's definitions, which
 * forward to the real ones (dlsym(RTLD_NEXT)) unless a test armed them: "fail
 * the Nth call (and the `times - 1` after it) with errno E". Only calls made
 * from libmemif.so count and fail (dladdr of the return address), so the
 * test's own and Check's calls are never touched.
 *
 * What "cleanly" means here, for each fault:
 *   - an API call that fails returns the MEMIF_ERR_* of its errno and
 *     changes nothing (memif_create_socket);
 *   - a failure during the handshake ends the attempt: both sides are
 *     down, the slave's details carry a reason, and the process holds
 *     exactly the fds it held before the slave tried (no channel, memfd,
 *     eventfd or mapping left), so nothing was leaked;
 *   - once the fault is gone, memif_request_connection (or the retry
 *     timer) connects, and packets flow both ways;
 *   - after teardown, the fd count is back to its value before the test,
 *     no memfd is mapped, and (sanitizer build) LSan finds no leak.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "helpers.h"

#define UP_MS 3000
#define SETTLE_MS 2000
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the interposer --------------------------------------------------------- */

enum fi_fn {
	FI_MEMFD,
	FI_MMAP,
	FI_SENDMSG,
	FI_EVENTFD,
	FI_TIMERFD,
	FI_ACCEPT4,
	FI_N
};

struct fi_point {
	const char *name;
	void *real;
	int nth; /* fail calls nth .. nth + times - 1 (1-based); 0: never */
	int times;
	int err;
	int calls; /* calls from libmemif since the last fi_reset */
	int fired; /* of which failed */
};

static struct fi_point fi[FI_N] = {
	[FI_MEMFD] = { .name = "memfd_create" },     [FI_MMAP] = { .name = "mmap" },
	[FI_SENDMSG] = { .name = "sendmsg" },        [FI_EVENTFD] = { .name = "eventfd" },
	[FI_TIMERFD] = { .name = "timerfd_create" }, [FI_ACCEPT4] = { .name = "accept4" },
};

static bool fi_counting; /* count libmemif's calls even when nothing is armed */

static void *fi_real(enum fi_fn f)
{
	if (!fi[f].real)
		fi[f].real = dlsym(RTLD_NEXT, fi[f].name);
	if (!fi[f].real) {
		fprintf(stderr, "check_faults: no real %s\n", fi[f].name);
		abort();
	}
	return fi[f].real;
}

static bool from_libmemif(const void *caller)
{
	Dl_info info;

	return dladdr(caller, &info) && info.dli_fname && strstr(info.dli_fname, "libmemif.so");
}

/* Should this call fail? Sets errno when it should. */
static bool fi_hit(enum fi_fn f, const void *caller)
{
	struct fi_point *p = &fi[f];

	if ((!p->nth && !fi_counting) || !from_libmemif(caller))
		return false;
	p->calls++;
	if (p->nth && p->calls >= p->nth && p->calls < p->nth + p->times) {
		p->fired++;
		errno = p->err;
		return true;
	}
	return false;
}

static void fi_reset(void)
{
	for (int i = 0; i < FI_N; i++) {
		fi[i].nth = fi[i].times = fi[i].err = 0;
		fi[i].calls = fi[i].fired = 0;
	}
	fi_counting = false;
}

static void fi_arm(enum fi_fn f, int nth, int times, int err)
{
	fi[f].nth = nth;
	fi[f].times = times;
	fi[f].err = err;
	fi[f].calls = fi[f].fired = 0;
}

static void fi_disarm(enum fi_fn f)
{
	fi[f].nth = 0;
}

#define CALLER __builtin_return_address(0)

int memfd_create(const char *name, unsigned int flags)
{
	if (fi_hit(FI_MEMFD, CALLER))
		return -1;
	return ((int (*)(const char *, unsigned int))fi_real(FI_MEMFD))(name, flags);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (fi_hit(FI_MMAP, CALLER))
		return MAP_FAILED;
	return ((void *(*)(void *, size_t, int, int, int, off_t))fi_real(FI_MMAP))(addr, len, prot,
										   flags, fd, off);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (fi_hit(FI_SENDMSG, CALLER))
		return -1;
	return ((ssize_t(*)(int, const struct msghdr *, int))fi_real(FI_SENDMSG))(fd, msg, flags);
}

int eventfd(unsigned int initval, int flags)
{
	if (fi_hit(FI_EVENTFD, CALLER))
		return -1;
	return ((int (*)(unsigned int, int))fi_real(FI_EVENTFD))(initval, flags);
}

int timerfd_create(clockid_t clockid, int flags)
{
	if (fi_hit(FI_TIMERFD, CALLER))
		return -1;
	return ((int (*)(clockid_t, int))fi_real(FI_TIMERFD))(clockid, flags);
}

/* glibc declares the address argument as a transparent union under _GNU_SOURCE. */
int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len, int flags)
{
	if (fi_hit(FI_ACCEPT4, CALLER))
		return -1;
	return ((int (*)(int, __SOCKADDR_ARG, socklen_t *restrict, int))fi_real(FI_ACCEPT4))(
		fd, addr, len, flags);
}

/* ---- leak checks -------------------------------------------------------------- */

/* LSan's entry point, present in ASan builds only. */
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static void no_heap_leak(void)
{
	if (__lsan_do_recoverable_leak_check)
		ck_assert_msg(__lsan_do_recoverable_leak_check() == 0,
			      "LeakSanitizer found leaks (report above)");
}

static int memfd_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "/memfd:") != NULL;
	fclose(f);
	return n;
}

static void assert_fds(int want, const char *when)
{
	char list[2048];
	int now = t_fd_count();

	if (now != want) {
		t_fd_dump(list, sizeof(list));
		ck_abort_msg("%s: %d fds open, expected %d: %s", when, now, want, list);
	}
}

/* ---- a master and a slave, driven by the test's loop ---------------------------- */

struct fx {
	struct t_pair p;
	int base_fds; /* before the test */
	int idle_fds; /* sockets and master, before the slave tries */
	char reason[MEMIF_DISCONNECT_STRING_LEN + 1]; /* slave's, of the failed attempt */
};

static void conn_error(memif_conn_handle_t conn, char *out, size_t len)
{
	memif_details_t md;
	char buf[8192];

	out[0] = '\0';
	if (conn && t_details(conn, &md, buf, sizeof(buf)) == MEMIF_ERR_SUCCESS && md.error)
		snprintf(out, len, "%s", (const char *)md.error);
}

/* Sockets and master; the slave retries only when asked (60 s timer). */
static void fx_start(struct fx *f, const char *name)
{
	memset(f, 0, sizeof(*f));
	f->base_fds = t_fd_count();
	t_pair_init(&f->p, name);
	t_pair_sockets(&f->p);
	ck_assert_int_eq(memif_set_connection_request_timer(f->p.ssock, t_timer_ms(60000)),
			 MEMIF_ERR_SUCCESS);
	f->p.ma.socket = f->p.msock;
	f->p.sa.socket = f->p.ssock;
	ck_assert_int_eq(t_ep_create(&f->p.m, &f->p.ma), MEMIF_ERR_SUCCESS);
	f->idle_fds = t_fd_count();
}

static void fx_slave(struct fx *f)
{
	ck_assert_int_eq(t_ep_create(&f->p.s, &f->p.sa), MEMIF_ERR_SUCCESS);
}

static bool fx_attempt_over(struct fx *f, enum fi_fn fn)
{
	if (fi[fn].fired == 0 || f->p.m.up || f->p.s.up)
		return false;
	conn_error(f->p.s.conn, f->reason, sizeof(f->reason));
	return f->reason[0] != '\0' && t_fd_count() == f->idle_fds;
}

/*
 * The armed fault fired during the handshake: wait until the attempt is
 * over on both sides, then check that it failed cleanly.
 */
static void fx_expect_failed_attempt(struct fx *f, enum fi_fn fn)
{
	T_LOOP_UNTIL(&f->p.loop, fx_attempt_over(f, fn), SETTLE_MS);
	ck_assert_msg(fi[fn].fired > 0, "%s was called %d times, the fault (call %d) never fired",
		      fi[fn].name, fi[fn].calls, fi[fn].nth);
	ck_assert_msg(!f->p.m.up && !f->p.s.up, "link up despite the %s fault", fi[fn].name);
	ck_assert_int_eq(f->p.m.n_connect + f->p.s.n_connect, 0);
	ck_assert_msg(f->reason[0] != '\0', "the slave recorded no reason for the failure");
	assert_fds(f->idle_fds, "after the failed attempt");
}

/* Exchange a few frames each way on queue 0. */
static void fx_exchange(struct fx *f)
{
	struct t_txq mt = { 0 }, st = { 0 };
	struct t_rxq *mr = t_ep_rxq(&f->p.m, 0), *sr = t_ep_rxq(&f->p.s, 0);
	uint64_t m0 = mr->packets, s0 = sr->packets;

	mt.next_seq = sr->next_seq;
	st.next_seq = mr->next_seq;
	f->p.m.rx_on_interrupt = f->p.s.rx_on_interrupt = true;
	ck_assert_uint_eq(t_tx_frames(f->p.s.conn, 0, &st, 16, 100, 16), 16);
	ck_assert_uint_eq(t_tx_frames(f->p.m.conn, 0, &mt, 16, 3000, 16), 16);
	T_LOOP_UNTIL(&f->p.loop, mr->packets - m0 == 16 && sr->packets - s0 == 16, UP_MS);
	ck_assert_uint_eq(mr->packets - m0, 16);
	ck_assert_uint_eq(sr->packets - s0, 16);
	ck_assert_uint_eq(mr->bad + sr->bad + mr->out_of_order + sr->out_of_order, 0);
}

static void fx_wait_up(struct fx *f)
{
	T_LOOP_UNTIL(&f->p.loop, f->p.m.up && f->p.s.up, UP_MS);
	ck_assert_msg(f->p.m.up && f->p.s.up,
		      "no link after the fault cleared (master %d, slave %d)", f->p.m.up,
		      f->p.s.up);
	ck_assert_int_eq(f->p.m.refill_err + f->p.s.refill_err, 0);
	fx_exchange(f);
}

/* The fault is gone: asking again connects. */
static void fx_recover(struct fx *f)
{
	for (int i = 0; i < FI_N; i++)
		fi_disarm((enum fi_fn)i);
	ck_assert_int_eq(memif_request_connection(f->p.s.conn), MEMIF_ERR_SUCCESS);
	fx_wait_up(f);
}

static void fx_finish(struct fx *f)
{
	t_pair_close(&f->p);
	assert_fds(f->base_fds, "after teardown");
	ck_assert_int_eq(memfd_maps(), 0);
	no_heap_leak();
}

/* A handshake with the Nth call of fn failing with err, then recovery. */
static void handshake_fault(const char *name, enum fi_fn fn, int nth, int err)
{
	struct fx f;

	fx_start(&f, name);
	fi_arm(fn, nth, 1, err);
	fx_slave(&f);
	fx_expect_failed_attempt(&f, fn);
	ck_assert_int_eq(fi[fn].fired, 1);
	fx_recover(&f);
	fx_finish(&f);
}

/* ---- the interposer works, and only on libmemif -------------------------------- */

START_TEST(test_interposer_scope)
{
	struct fx f;
	int fd;

	fi_arm(FI_EVENTFD, 1, 100, EMFILE);
	fi_arm(FI_MEMFD, 1, 100, EMFILE);
	/* Our own calls are not libmemif's: they pass and are not counted. */
	fd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = memfd_create("t", MFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(fi[FI_EVENTFD].calls + fi[FI_MEMFD].calls, 0);
	fi_reset();

	/* A full handshake makes every interposed call we claim it makes. */
	fi_counting = true;
	fx_start(&f, "scope");
	fx_slave(&f);
	fx_wait_up(&f);
	ck_assert_int_eq(fi[FI_MEMFD].calls, 2);   /* rings region, buffer region */
	ck_assert_int_ge(fi[FI_MMAP].calls, 4);    /* each region, on each side */
	ck_assert_int_eq(fi[FI_EVENTFD].calls, 2); /* one per ring */
	ck_assert_int_eq(fi[FI_ACCEPT4].calls, 1);
	/* HELLO, INIT, ACK, 2x (ADD_REGION, ACK), 2x (ADD_RING, ACK), CONNECT, CONNECTED */
	ck_assert_int_eq(fi[FI_SENDMSG].calls, 13);
	fi_counting = false;
	fx_finish(&f);
}
END_TEST

/* ---- socket creation ------------------------------------------------------------- */

/*
 * _i: 0 timerfd (app loop), 1 timerfd (self-poll), 2 eventfd (self-poll: the
 * cancel eventfd), each with EMFILE then ENOMEM.
 */
START_TEST(test_socket_create_fault)
{
	static const struct {
		enum fi_fn fn;
		bool self_poll;
	} cases[] = { { FI_TIMERFD, false }, { FI_TIMERFD, true }, { FI_EVENTFD, true } };
	static const struct {
		int err, want;
	} errs[] = { { EMFILE, MEMIF_ERR_PROC_FILE_LIMIT }, { ENOMEM, MEMIF_ERR_NOMEM } };
	struct t_loop loop;
	memif_socket_args_t a;
	memif_socket_handle_t sock;
	char path[108];
	int base = t_fd_count();

	ck_assert_int_eq(t_loop_init(&loop), 0);
	t_sock_path(path, sizeof(path), "sockfault");
	for (size_t e = 0; e < N_ELEMS(errs); e++) {
		t_socket_args(&a, path, "app", cases[_i].self_poll ? NULL : &loop);
		fi_arm(cases[_i].fn, 1, 1, errs[e].err);
		sock = NULL;
		ck_assert_int_eq(memif_create_socket(&sock, &a, &loop), errs[e].want);
		ck_assert_int_eq(fi[cases[_i].fn].fired, 1);
		ck_assert_ptr_null(sock);
		ck_assert_int_eq(loop.nfds, 0); /* nothing left registered with the app */
		assert_fds(base + 1, "after the failed memif_create_socket"); /* + loop's epoll */
	}
	t_loop_fini(&loop);
	fi_reset();
	no_heap_leak();
}
END_TEST

/* After socket faults, sockets in self-poll mode connect a pair. */
START_TEST(test_socket_fault_then_connect)
{
	memif_socket_args_t a;
	memif_socket_handle_t ms = NULL, ss = NULL;
	memif_conn_args_t ca;
	struct t_ep m = { .name = "master" }, s = { .name = "slave" };
	char path[108];
	int base = t_fd_count();

	t_sock_path(path, sizeof(path), "pollfault");
	t_socket_args(&a, path, "app-m", NULL);
	fi_arm(FI_EVENTFD, 1, 1, EMFILE);
	ck_assert_int_eq(memif_create_socket(&ms, &a, NULL), MEMIF_ERR_PROC_FILE_LIMIT);
	fi_arm(FI_TIMERFD, 1, 1, ENFILE);
	ck_assert_int_eq(memif_create_socket(&ms, &a, NULL), MEMIF_ERR_FILE_LIMIT);
	assert_fds(base, "after two failed sockets");
	fi_reset();

	ck_assert_int_eq(memif_create_socket(&ms, &a, NULL), MEMIF_ERR_SUCCESS);
	t_socket_args(&a, path, "app-s", NULL);
	ck_assert_int_eq(memif_create_socket(&ss, &a, NULL), MEMIF_ERR_SUCCESS);
	t_conn_args(&ca, ms, true, 0, "if-m");
	ck_assert_int_eq(t_ep_create(&m, &ca), MEMIF_ERR_SUCCESS);
	t_conn_args(&ca, ss, false, 0, "if-s");
	ck_assert_int_eq(t_ep_create(&s, &ca), MEMIF_ERR_SUCCESS);
	for (int64_t dl = t_deadline(UP_MS); !(m.up && s.up) && t_now_ms() < dl;) {
		ck_assert_int_eq(memif_poll_event(ms, 5), MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(memif_poll_event(ss, 5), MEMIF_ERR_SUCCESS);
	}
	ck_assert_msg(m.up && s.up, "self-poll pair did not connect");
	ck_assert_int_eq(memif_delete(&s.conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete(&m.conn), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete_socket(&ss), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete_socket(&ms), MEMIF_ERR_SUCCESS);
	t_ep_free(&m);
	t_ep_free(&s);
	assert_fds(base, "after teardown");
	no_heap_leak();
}
END_TEST

/* ---- the handshake ----------------------------------------------------------------- */

/* _i: which memfd_create fails (rings region, buffer region). */
START_TEST(test_memfd_fault)
{
	handshake_fault("memfd", FI_MEMFD, _i + 1, _i ? ENOMEM : EMFILE);
}
END_TEST

/* _i: which mmap fails: the slave maps its two regions, then the master. */
START_TEST(test_mmap_fault)
{
	handshake_fault("mmap", FI_MMAP, _i + 1, ENOMEM);
}
END_TEST

/* _i: which ring's eventfd fails. */
START_TEST(test_eventfd_fault)
{
	handshake_fault("eventfd", FI_EVENTFD, _i + 1, _i ? ENFILE : EMFILE);
}
END_TEST

/*
 * _i / 2 + 1: which of the 13 handshake messages fails to go out (see
 * test_interposer_scope), with EAGAIN (peer not reading) or EPIPE.
 */
START_TEST(test_sendmsg_fault)
{
	handshake_fault("sendmsg", FI_SENDMSG, _i / 2 + 1, (_i & 1) ? EPIPE : EAGAIN);
}
END_TEST

/* The master's accept fails three times; the connection waits in the backlog. */
START_TEST(test_accept4_fault)
{
	static const int errs[] = { EMFILE, ENFILE, ENOMEM, ECONNABORTED };
	struct fx f;

	fx_start(&f, "accept4");
	fi_arm(FI_ACCEPT4, 1, 3, errs[_i]);
	fx_slave(&f);
	fx_wait_up(&f);
	ck_assert_int_eq(fi[FI_ACCEPT4].fired, 3);
	ck_assert_int_eq(fi[FI_ACCEPT4].calls, 4);
	/* Each failure was reported by the handler call that hit it. */
	ck_assert_int_ge(f.p.loop.n_handler_err, 3);
	ck_assert_int_eq(f.p.m.n_connect, 1);
	ck_assert_int_eq(f.p.s.n_connect, 1);
	fx_finish(&f);
}
END_TEST

/* Faults that last: the slave's retry timer keeps trying and gets through. */
START_TEST(test_retry_through_faults)
{
	static const enum fi_fn fns[] = { FI_MEMFD, FI_MMAP, FI_EVENTFD, FI_SENDMSG };
	struct fx f;

	fx_start(&f, "retry");
	ck_assert_int_eq(memif_set_connection_request_timer(f.p.ssock, t_timer_ms(20)),
			 MEMIF_ERR_SUCCESS);
	fi_arm(fns[_i], 1, 5, EMFILE);
	fx_slave(&f);
	fx_wait_up(&f);
	ck_assert_int_eq(fi[fns[_i]].fired, 5);
	ck_assert_int_eq(f.p.m.n_connect, 1);
	ck_assert_int_eq(f.p.s.n_connect, 1);
	fx_finish(&f);
}
END_TEST

/* ---- after the link is up ----------------------------------------------------------- */

/*
 * The DISCONNECT that memif_delete sends cannot go out: the delete still
 * succeeds and frees everything, the master notices the closed channel,
 * and a new slave connects. _i: 0 slave deleted, 1 master deleted.
 */
START_TEST(test_sendmsg_fault_on_delete)
{
	struct fx f;

	fx_start(&f, "delete");
	fx_slave(&f);
	fx_wait_up(&f);
	fi_arm(FI_SENDMSG, 1, 1, EPIPE);
	if (_i == 0) {
		ck_assert_int_eq(memif_delete(&f.p.s.conn), MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(fi[FI_SENDMSG].fired, 1);
		T_LOOP_UNTIL(&f.p.loop, !f.p.m.up, SETTLE_MS);
		ck_assert_msg(!f.p.m.up, "master still up after the slave went away");
		assert_fds(f.idle_fds, "after the slave's delete");
		fi_reset();
		t_ep_free(&f.p.s);
		memset(&f.p.s, 0, sizeof(f.p.s));
		f.p.s.name = "slave";
		fx_slave(&f);
	} else {
		ck_assert_int_eq(memif_delete(&f.p.m.conn), MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(fi[FI_SENDMSG].fired, 1);
		T_LOOP_UNTIL(&f.p.loop, !f.p.s.up, SETTLE_MS);
		ck_assert_msg(!f.p.s.up, "slave still up after the master went away");
		fi_reset();
		t_ep_free(&f.p.m);
		memset(&f.p.m, 0, sizeof(f.p.m));
		f.p.m.name = "master";
		ck_assert_int_eq(t_ep_create(&f.p.m, &f.p.ma), MEMIF_ERR_SUCCESS);
		ck_assert_int_eq(memif_request_connection(f.p.s.conn), MEMIF_ERR_SUCCESS);
	}
	fx_wait_up(&f);
	fx_finish(&f);
}
END_TEST

static Suite *faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc;

	tc = t_tcase("interposer", 20);
	tcase_add_checked_fixture(tc, fi_reset, fi_reset);
	tcase_add_test(tc, test_interposer_scope);
	suite_add_tcase(s, tc);

	tc = t_tcase("socket", 20);
	tcase_add_checked_fixture(tc, fi_reset, fi_reset);
	tcase_add_loop_test(tc, test_socket_create_fault, 0, 3);
	tcase_add_test(tc, test_socket_fault_then_connect);
	suite_add_tcase(s, tc);

	tc = t_tcase("handshake", 20);
	tcase_add_checked_fixture(tc, fi_reset, fi_reset);
	tcase_add_loop_test(tc, test_memfd_fault, 0, 2);
	tcase_add_loop_test(tc, test_mmap_fault, 0, 4);
	tcase_add_loop_test(tc, test_eventfd_fault, 0, 2);
	tcase_add_loop_test(tc, test_sendmsg_fault, 0, 26);
	tcase_add_loop_test(tc, test_accept4_fault, 0, 4);
	tcase_add_loop_test(tc, test_retry_through_faults, 0, 4);
	suite_add_tcase(s, tc);

	tc = t_tcase("connected", 20);
	tcase_add_checked_fixture(tc, fi_reset, fi_reset);
	tcase_add_loop_test(tc, test_sendmsg_fault_on_delete, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(faults_suite());
}
