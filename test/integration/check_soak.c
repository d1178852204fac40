/* SPDX-License-Identifier: MIT */
/*
 * check_soak.c - 10 000 connect/disconnect cycles of a master and a slave
 * in one process, with no growth of fds, memfd mappings or memory.
 *
 * The cycles rotate through the ways a link ends and comes back:
 *   slave    the slave is deleted and created again (it connects at once);
 *   master   the master is deleted (the slave sees the link drop) and
 *            created again, and the slave asks with memif_request_connection;
 *   sockets  both interfaces and both sockets are deleted and created again
 *            (listener, socket file, epoll/timer fds, everything);
 * and every 500th cycle packets flow both ways.
 *
 * After a warm-up, /proc/self is sampled at eleven checkpoints with the
 * link up: the fd count (/proc/self/fd) and the memfd mappings must never
 * change; VmRSS and VmSize must not grow by more than a small allowance,
 * and VmRSS not at every checkpoint (a slow leak). Under ASan the
 * quarantine makes RSS grow by design, and under valgrind its own heap
 * does: there RSS is printed only, and LeakSanitizer / memcheck judge leaks
 * (VmSize is still judged under ASan, not under valgrind).
 *
 * MEMIF_SOAK_CYCLES=n changes the number of cycles (test/valgrind.sh uses
 * a few hundred). The retry timer is long (60 s): every reconnection is
 * explicit, so a cycle takes as long as the handshake and no more.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define CYCLES_DEFAULT 10000
#define WARMUP 300
#define CHECKPOINTS 10
#define UP_MS 2000
#define RSS_ALLOWANCE_KB 2048   /* total growth tolerated (allocator noise) */
#define RSS_STEADY_KB 512       /* growth at every checkpoint and above this: a leak */
#define VSIZE_ALLOWANCE_KB 8192 /* one more arena or stack would show, a leak per cycle too */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

struct sample {
	unsigned long cycle;
	int fds;
	int memfd_maps;
	long rss_kb;
	long vsize_kb;
};

static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	size_t klen = strlen(key);
	long v = -1;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	ck_assert_msg(v >= 0, "no %s in /proc/self/status", key);
	return v;
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

static void take_sample(struct sample *s, unsigned long cycle)
{
	s->cycle = cycle;
	s->fds = t_fd_count();
	s->memfd_maps = memfd_maps();
	s->rss_kb = status_kb("VmRSS");
	s->vsize_kb = status_kb("VmSize");
}

static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload");
}

/* ---- the pair and its cycles -------------------------------------------------------- */

struct soak {
	struct t_pair p;
	unsigned long ups; /* links up, counted on both sides */
	unsigned long downs;
};

static void soak_sockets(struct soak *k)
{
	t_pair_sockets(&k->p);
	ck_assert_int_eq(memif_set_connection_request_timer(k->p.ssock, t_timer_ms(60000)),
			 MEMIF_ERR_SUCCESS);
	k->p.ma.socket = k->p.msock;
	k->p.sa.socket = k->p.ssock;
}

static void ep_create(struct t_ep *ep, memif_conn_args_t *a, const char *name)
{
	t_ep_free(ep);
	memset(ep, 0, sizeof(*ep));
	ep->name = name;
	ck_assert_int_eq(t_ep_create(ep, a), MEMIF_ERR_SUCCESS);
}

static void ep_delete(struct soak *k, struct t_ep *ep)
{
	bool was_up = ep->up;
	int downs = ep->n_disconnect;

	ck_assert_int_eq(memif_delete(&ep->conn), MEMIF_ERR_SUCCESS);
	ck_assert_ptr_null(ep->conn);
	/* A connected interface says goodbye to its own app too. */
	ck_assert_int_eq(ep->n_disconnect, downs + (was_up ? 1 : 0));
	k->downs += was_up;
}

static void wait_up(struct soak *k, unsigned long cycle, const char *kind)
{
	T_LOOP_UNTIL(&k->p.loop, k->p.m.up && k->p.s.up, UP_MS);
	ck_assert_msg(k->p.m.up && k->p.s.up,
		      "cycle %lu (%s): link not up within %d ms (master %d, slave %d)", cycle, kind,
		      UP_MS, k->p.m.up, k->p.s.up);
	ck_assert_int_eq(k->p.m.refill_err + k->p.s.refill_err, 0);
	ck_assert(!k->p.m.wrong_conn && !k->p.s.wrong_conn);
	k->ups += 2;
}

static void wait_down(struct soak *k, struct t_ep *ep, unsigned long cycle, const char *kind)
{
	T_LOOP_UNTIL(&k->p.loop, !ep->up, UP_MS);
	ck_assert_msg(!ep->up, "cycle %lu (%s): the %s did not see its peer go", cycle, kind,
		      ep->name);
	k->downs++;
}

static void cycle_slave(struct soak *k, unsigned long cycle)
{
	ep_delete(k, &k->p.s);
	wait_down(k, &k->p.m, cycle, "slave");
	ep_create(&k->p.s, &k->p.sa, "slave");
	wait_up(k, cycle, "slave");
}

static void cycle_master(struct soak *k, unsigned long cycle)
{
	ep_delete(k, &k->p.m);
	wait_down(k, &k->p.s, cycle, "master");
	ep_create(&k->p.m, &k->p.ma, "master");
	ck_assert_int_eq(memif_request_connection(k->p.s.conn), MEMIF_ERR_SUCCESS);
	wait_up(k, cycle, "master");
}

static void cycle_sockets(struct soak *k, unsigned long cycle)
{
	ep_delete(k, &k->p.s);
	ep_delete(k, &k->p.m);
	ck_assert_int_eq(memif_delete_socket(&k->p.ssock), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(memif_delete_socket(&k->p.msock), MEMIF_ERR_SUCCESS);
	ck_assert_int_eq(k->p.loop.nfds, 0); /* every fd was handed back to the app */
	soak_sockets(k);
	ep_create(&k->p.m, &k->p.ma, "master");
	ep_create(&k->p.s, &k->p.sa, "slave");
	wait_up(k, cycle, "sockets");
}

/* Packets both ways on queue 0; the receive state restarts with the link. */
static void traffic(struct soak *k, unsigned long cycle)
{
	struct t_txq mt = { 0 }, st = { 0 };
	struct t_rxq *mr = t_ep_rxq(&k->p.m, 0), *sr = t_ep_rxq(&k->p.s, 0);
	uint64_t m0 = mr->packets, s0 = sr->packets;

	mt.next_seq = sr->next_seq;
	st.next_seq = mr->next_seq;
	k->p.m.rx_on_interrupt = k->p.s.rx_on_interrupt = true;
	ck_assert_uint_eq(t_tx_frames(k->p.s.conn, 0, &st, 32, 200, 32), 32);
	ck_assert_uint_eq(t_tx_frames(k->p.m.conn, 0, &mt, 32, 3000, 32), 32);
	T_LOOP_UNTIL(&k->p.loop, mr->packets - m0 == 32 && sr->packets - s0 == 32, UP_MS);
	ck_assert_msg(mr->packets - m0 == 32 && sr->packets - s0 == 32,
		      "cycle %lu: %llu and %llu of 32 frames arrived", cycle,
		      (unsigned long long)(mr->packets - m0),
		      (unsigned long long)(sr->packets - s0));
	ck_assert_uint_eq(mr->bad + sr->bad + mr->out_of_order + sr->out_of_order, 0);
}

static void run_cycle(struct soak *k, unsigned long cycle)
{
	switch (cycle % 3) {
	case 0:
		cycle_slave(k, cycle);
		break;
	case 1:
		cycle_master(k, cycle);
		break;
	default:
		cycle_sockets(k, cycle);
		break;
	}
	if (cycle % 500 == 0)
		traffic(k, cycle);
}

static void print_sample(const char *what, const struct sample *s)
{
	printf("soak: %-10s cycle %6lu: %d fds, %d memfd maps, VmRSS %ld kB, VmSize %ld kB\n", what,
	       s->cycle, s->fds, s->memfd_maps, s->rss_kb, s->vsize_kb);
}

START_TEST(test_soak)
{
	const char *env = getenv("MEMIF_SOAK_CYCLES");
	unsigned long cycles = env ? strtoul(env, NULL, 10) : CYCLES_DEFAULT;
	bool judge_rss = !UNDER_ASAN && !under_valgrind();
	bool judge_vsize = !under_valgrind();
	struct sample smp[CHECKPOINTS + 1];
	struct soak k;
	unsigned long c, next_cp, step;
	int64_t t0;
	int cp = 0, grew = 0;

	ck_assert_msg(cycles >= CHECKPOINTS, "MEMIF_SOAK_CYCLES=%s: at least %d", env, CHECKPOINTS);
	step = cycles / CHECKPOINTS;
	memset(&k, 0, sizeof(k));
	t_pair_init(&k.p, "soak");
	soak_sockets(&k);
	ep_create(&k.p.m, &k.p.ma, "master");
	ep_create(&k.p.s, &k.p.sa, "slave");
	wait_up(&k, 0, "first");
	traffic(&k, 0);

	for (c = 1; c <= WARMUP; c++)
		run_cycle(&k, c);
	take_sample(&smp[0], 0);
	print_sample("start", &smp[0]);

	t0 = t_now_ms();
	next_cp = step;
	for (c = 1; c <= cycles; c++) {
		run_cycle(&k, WARMUP + c);
		if (c == next_cp && cp < CHECKPOINTS) {
			struct sample *s = &smp[++cp];

			take_sample(s, c);
			ck_assert_msg(s->fds == smp[0].fds,
				      "cycle %lu: %d fds open with the link up, %d at the start", c,
				      s->fds, smp[0].fds);
			ck_assert_msg(
				s->memfd_maps == smp[0].memfd_maps,
				"cycle %lu: %d memfd mappings with the link up, %d at the start", c,
				s->memfd_maps, smp[0].memfd_maps);
			grew += s->rss_kb > smp[cp - 1].rss_kb;
			next_cp += step;
		}
	}
	printf("soak: %lu cycles in %lld ms (%.0f cycles/s); %lu links up, %lu down\n", cycles,
	       (long long)(t_now_ms() - t0), cycles * 1000.0 / (double)(t_now_ms() - t0 + 1), k.ups,
	       k.downs);
	print_sample("end", &smp[cp]);
	fflush(stdout);

	/* Every cycle brought both sides up and, before, down. */
	ck_assert_uint_eq(k.ups, 2 * (cycles + WARMUP + 1));
	ck_assert_uint_ge(k.downs, 2 * (cycles + WARMUP));

	if (judge_rss) {
		long rss = smp[cp].rss_kb - smp[0].rss_kb;

		ck_assert_msg(rss <= RSS_ALLOWANCE_KB, "VmRSS grew by %ld kB over %lu cycles", rss,
			      cycles);
		ck_assert_msg(!(grew == CHECKPOINTS && rss > RSS_STEADY_KB),
			      "VmRSS grew at every checkpoint, by %ld kB in all: a leak", rss);
	} else {
		printf("soak: VmRSS growth not judged here (%s): %+ld kB\n",
		       UNDER_ASAN ? "ASan quarantine; LeakSanitizer judges" :
				    "valgrind; memcheck judges",
		       smp[cp].rss_kb - smp[0].rss_kb);
	}
	if (judge_vsize) {
		long vsz = smp[cp].vsize_kb - smp[0].vsize_kb;

		ck_assert_msg(vsz <= VSIZE_ALLOWANCE_KB, "VmSize grew by %ld kB over %lu cycles",
			      vsz, cycles);
	}

	t_pair_close(&k.p);
	ck_assert_int_eq(memfd_maps(), 0);
	if (__lsan_do_recoverable_leak_check)
		ck_assert_msg(__lsan_do_recoverable_leak_check() == 0, "LeakSanitizer found leaks");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("soak");
	/* 10 000 cycles take a few seconds; the timeout allows for sanitizers. */
	TCase *tc = t_tcase("soak", 240);

	tcase_add_test(tc, test_soak);
	suite_add_tcase(s, tc);
	return t_run_suite(s);
}
