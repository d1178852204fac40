/* SPDX-License-Identifier: MIT */
/*
 * eventfd-rtt - the floors under memif's latency, measured, not assumed.
 *
 * Default: two processes, pinned to two CPUs, ping-pong through two
 * eventfds: the parent writes A and blocks reading B, the child blocks
 * reading A and writes B. Each round trip is two cross-process wake-ups,
 * exactly what an interrupt-mode memif ping-pong needs at least. --epoll
 * waits in epoll_wait on non-blocking eventfds instead, as memif-bench's
 * interrupt mode does.
 *
 * --spin: the same two processes bounce one shared cache line (a counter
 * in MAP_SHARED memory): the cross-core cache-line round trip. It is the
 * probe bench/compare.sh runs around every measurement to catch periods
 * when the host has moved the vCPUs apart (normally ~90 ns on this
 * machine, ~350 ns in such periods). Reported per batch of --batch round
 * trips, as a batch mean, so the clock's own cost does not count.
 *
 * Output: RESULT mode=eventfd|spin cpus=A,B rounds=N ... p50_ns= p99_ns=
 * p999_ns= (spin adds rtt_ns=, the median batch mean).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

struct shared {
	_Alignas(64) uint64_t ball; /* the bounced cache line */
	_Alignas(64) int abort;     /* parent gave up: child exits */
};

struct opts {
	bool spin, epoll;
	uint64_t rounds;
	uint64_t warmup;
	uint64_t batch;
	int cpu[2];
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: eventfd-rtt [options]\n"
"  -n, --rounds N     round trips measured (default 20000; spin: 200000)\n"
"  -w, --warmup N     round trips not measured first (default 1000)\n"
"  -C, --cpus A,B     CPUs of the two processes (default 0,1; 0,0 on one CPU)\n"
"  -e, --epoll        wait in epoll_wait on non-blocking eventfds\n"
"  -s, --spin         cache-line ping-pong through shared memory instead\n"
"  -b, --batch N      spin: round trips per timed sample (default 1000)\n"
"  -h, --help\n");
}

static uint64_t num(const char *s, const char *what)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s || *end || v == 0) {
		fprintf(stderr, "eventfd-rtt: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

static int wait_efd(int efd, int epfd)
{
	uint64_t v;

	for (;;) {
		if (epfd >= 0) {
			struct epoll_event ev;
			int n = epoll_wait(epfd, &ev, 1, -1);

			if (n < 0 && errno != EINTR)
				return -1;
			if (n <= 0)
				continue;
		}
		if (read(efd, &v, sizeof(v)) == sizeof(v))
			return 0;
		if (errno != EINTR && errno != EAGAIN)
			return -1;
	}
}

static int kick(int efd)
{
	uint64_t one = 1;

	return write(efd, &one, sizeof(one)) == sizeof(one) ? 0 : -1;
}

static int make_epoll(int efd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = efd };
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev) < 0) {
		perror("eventfd-rtt: epoll");
		exit(1);
	}
	return epfd;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#else
	__asm__ volatile("" ::: "memory");
#endif
}

static inline void relax(bool same_cpu)
{
	if (same_cpu)
		sched_yield();
	else
		cpu_relax();
}

/* Spin until *p == v; false after ~10 s or when told to abort. */
static bool spin_wait(struct shared *sh, uint64_t v, bool same_cpu)
{
	uint64_t spins = 0, t0 = 0;

	while (__atomic_load_n(&sh->ball, __ATOMIC_ACQUIRE) != v) {
		relax(same_cpu);
		if ((++spins & 0xfffff) == 0) {
			uint64_t now = bench_now_ns();

			if (!t0)
				t0 = now;
			else if (now - t0 > 10000000000ull ||
				 __atomic_load_n(&sh->abort, __ATOMIC_RELAXED))
				return false;
		}
	}
	return true;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "rounds", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "cpus", required_argument, NULL, 'C' },
		{ "epoll", no_argument, NULL, 'e' },
		{ "spin", no_argument, NULL, 's' },
		{ "batch", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .warmup = 1000, .batch = 1000 };
	struct bench_hist *h;
	struct shared *sh;
	bool rounds_set = false, same;
	int c, efd_a, efd_b, status, rc = 0;
	uint64_t i, total_ns = 0;
	pid_t pid;

	o.cpu[0] = 0;
	o.cpu[1] = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0;
	while ((c = getopt_long(argc, argv, "n:w:C:esb:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.rounds = num(optarg, "rounds");
			rounds_set = true;
			break;
		case 'w':
			o.warmup = strtoull(optarg, NULL, 10);
			break;
		case 'C': {
			int cpus[2];

			if (bench_parse_cpus(optarg, cpus, 2) != 2) {
				fprintf(stderr, "eventfd-rtt: --cpus wants two CPUs, e.g. 0,1\n");
				return 2;
			}
			o.cpu[0] = cpus[0];
			o.cpu[1] = cpus[1];
			break;
		}
		case 'e':
			o.epoll = true;
			break;
		case 's':
			o.spin = true;
			break;
		case 'b':
			o.batch = num(optarg, "batch");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!rounds_set)
		o.rounds = o.spin ? 200000 : 20000;
	same = o.cpu[0] == o.cpu[1];
	setvbuf(stdout, NULL, _IOLBF, 0);

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("eventfd-rtt: mmap");
		return 1;
	}
	memset(sh, 0, sizeof(*sh));
	efd_a = eventfd(0, EFD_CLOEXEC | (o.epoll ? EFD_NONBLOCK : 0));
	efd_b = eventfd(0, EFD_CLOEXEC | (o.epoll ? EFD_NONBLOCK : 0));
	if (efd_a < 0 || efd_b < 0) {
		perror("eventfd-rtt: eventfd");
		return 1;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return 1;
	bench_hist_init(h);

	pid = fork();
	if (pid < 0) {
		perror("eventfd-rtt: fork");
		return 1;
	}
	if (pid == 0) {
		/* The echoing side. */
		uint64_t n = o.warmup + o.rounds;
		int epfd = o.epoll ? make_epoll(efd_a) : -1;

		if (bench_pin(o.cpu[1]))
			perror("eventfd-rtt: child: sched_setaffinity");
		if (o.spin) {
			for (i = 0; i < n; i++) {
				if (!spin_wait(sh, 2 * i + 1, same))
					_exit(1);
				__atomic_store_n(&sh->ball, 2 * i + 2, __ATOMIC_RELEASE);
			}
		} else {
			for (i = 0; i < n; i++)
				if (wait_efd(efd_a, epfd) < 0 || kick(efd_b) < 0)
					_exit(1);
		}
		_exit(0);
	}

	if (bench_pin(o.cpu[0]))
		perror("eventfd-rtt: sched_setaffinity");
	{
		int epfd = o.epoll ? make_epoll(efd_b) : -1;

		if (o.spin) {
			uint64_t n = o.warmup + o.rounds, t0 = 0;

			for (i = 0; i < n; i++) {
				if (i >= o.warmup && (i - o.warmup) % o.batch == 0)
					t0 = bench_now_ns();
				__atomic_store_n(&sh->ball, 2 * i + 1, __ATOMIC_RELEASE);
				if (!spin_wait(sh, 2 * i + 2, same)) {
					fprintf(stderr, "eventfd-rtt: the other side stopped answering\n");
					rc = 1;
					break;
				}
				if (i >= o.warmup && ((i - o.warmup) % o.batch == o.batch - 1 || i == n - 1)) {
					uint64_t dt = bench_now_ns() - t0, k = (i - o.warmup) % o.batch + 1;

					total_ns += dt;
					bench_hist_add(h, dt / k);
				}
			}
		} else {
			for (i = 0; i < o.warmup + o.rounds; i++) {
				uint64_t t0 = bench_now_ns(), dt;

				if (kick(efd_a) < 0 || wait_efd(efd_b, epfd) < 0) {
					perror("eventfd-rtt: eventfd");
					rc = 1;
					break;
				}
				dt = bench_now_ns() - t0;
				if (i >= o.warmup) {
					bench_hist_add(h, dt);
					total_ns += dt;
				}
			}
		}
	}
	if (rc) {
		__atomic_store_n(&sh->abort, 1, __ATOMIC_RELAXED);
		kill(pid, SIGKILL);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rc = 1;
	if (rc)
		return rc;
	printf("RESULT mode=%s cpus=%d,%d rounds=%" PRIu64, o.spin ? "spin" : (o.epoll ? "eventfd-epoll" : "eventfd"),
	       o.cpu[0], o.cpu[1], o.rounds);
	if (o.spin)
		printf(" batch=%" PRIu64 " rtt_ns=%" PRIu64 " avg_ns=%.1f", o.batch, bench_hist_pct(h, 0.5),
		       (double)total_ns / (double)o.rounds);
	bench_hist_print(stdout, h);
	printf("\n");
	free(h);
	return 0;
}
