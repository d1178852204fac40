/* SPDX-License-Identifier: MIT */
/*
 * memif-scale - what many interfaces on one socket cost: N interfaces
 * (ids 0..N-1) of one role on one control socket, connected to a peer with
 * the same N (another memif-scale, or DPDK testpmd as the peer of a
 * master). Measures
 *   connect_ms   from the first memif_create until every interface is
 *                connected (the slave's figure is the one that counts: the
 *                master's includes waiting for the slave to start)
 *   shm_per_if   bytes of shared memory per interface: the sum of the
 *                region sizes memif_get_details reports, over N
 *   fds_per_if   file descriptors this process opened per interface
 *                (entries of /proc/self/fd after all connected, less those
 *                before the first memif_create, over N)
 * and prints them in one RESULT line. Self-poll mode (memif_poll_event),
 * default interface arguments (what an application gets by default), one
 * queue pair unless --queues. Public API only.
 *
 * The master stays until its peer has left again (or --hold expires); the
 * slave leaves after --hold seconds connected (default 0).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <libmemif.h>

#include "bench_util.h"

struct scale {
	memif_conn_handle_t *conns;
	uint32_t n;
	uint32_t up;     /* connected now */
	uint64_t t_all;  /* ns: all connected */
};

static int on_connect(memif_conn_handle_t conn, void *ctx)
{
	struct scale *s = ctx;

	(void)conn;
	s->up++;
	if (s->up == s->n && !s->t_all)
		s->t_all = bench_now_ns();
	return 0;
}

static int on_disconnect(memif_conn_handle_t conn, void *ctx)
{
	struct scale *s = ctx;

	(void)conn;
	if (s->up)
		s->up--;
	return 0;
}

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: memif-scale [options]\n"
"  -r, --role master|slave   (default slave)\n"
"  -s, --socket PATH         control socket, @name = abstract (default @memif-scale)\n"
"  -n, --count N             interfaces, ids 0..N-1 (default 1)\n"
"  -q, --queues N            queue pairs per interface (default 1)\n"
"  -W, --wait SEC            give up if not all connected after SEC s (default 60)\n"
"  -H, --hold SEC            slave: stay connected SEC s; master: leave SEC s\n"
"                            after all connected even if the peer stays\n"
"                            (default: slave 0, master until the peer leaves)\n"
"Prints RESULT role=.. count=.. connect_ms=.. shm_per_if=.. fds_per_if=.. regions_per_if=..\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "queues", required_argument, NULL, 'q' },
		{ "wait", required_argument, NULL, 'W' },
		{ "hold", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char buf[65536];
	char path[108] = "@memif-scale";
	bool master = false, hold_set = false;
	double wait = 60, hold = 0;
	uint32_t n = 1, q = 1, i;
	struct scale s;
	memif_socket_handle_t sock;
	memif_socket_args_t sa;
	struct rlimit rl;
	uint64_t t0, t_dead, shm = 0, regions = 0;
	long fd0, fd1;
	int c, err, rc = 0;

	while ((c = getopt_long(argc, argv, "r:s:n:q:W:H:h", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			master = !strcmp(optarg, "master");
			if (!master && strcmp(optarg, "slave")) {
				fprintf(stderr, "memif-scale: role is master or slave\n");
				return 2;
			}
			break;
		case 's':
			if (strlen(optarg) >= sizeof(path)) {
				fprintf(stderr, "memif-scale: socket path too long\n");
				return 2;
			}
			strcpy(path, optarg);
			break;
		case 'n':
			n = (uint32_t)bench_num("memif-scale", optarg, "interfaces", 1, 65536);
			break;
		case 'q':
			q = (uint32_t)bench_num("memif-scale", optarg, "queues", 1, 255);
			break;
		case 'W':
			wait = bench_num("memif-scale", optarg, "wait", 0.001, 1e6);
			break;
		case 'H':
			hold = bench_num("memif-scale", optarg, "hold", 0, 1e6);
			hold_set = true;
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
	/* Several fds per interface: 1024 interfaces pass a default limit of 1024. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(&s, 0, sizeof(s));
	s.n = n;
	s.conns = calloc(n, sizeof(*s.conns));
	if (!s.conns) {
		perror("memif-scale: calloc");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	strcpy(sa.path, path);
	strcpy(sa.app_name, "memif-scale");
	sa.connection_request_timer.it_value.tv_nsec = 100000000; /* retry every 100 ms */
	sa.connection_request_timer.it_interval.tv_nsec = 100000000;
	err = memif_create_socket(&sock, &sa, NULL);
	if (err) {
		fprintf(stderr, "memif-scale: memif_create_socket(%s): %s\n", path,
			memif_strerror(err));
		return 1;
	}
	fd0 = count_fds();
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		memif_conn_args_t ca;

		memset(&ca, 0, sizeof(ca));
		ca.socket = sock;
		ca.is_master = master;
		ca.interface_id = i;
		ca.num_s2m_rings = (uint8_t)q;
		ca.num_m2s_rings = (uint8_t)q;
		ca.mode = MEMIF_INTERFACE_MODE_ETHERNET;
		snprintf((char *)ca.interface_name, sizeof(ca.interface_name), "scale%u", i);
		err = memif_create(&s.conns[i], &ca, on_connect, on_disconnect, NULL, &s);
		if (err) {
			fprintf(stderr, "memif-scale: memif_create(%u): %s\n", i, memif_strerror(err));
			return 1;
		}
	}
	t_dead = t0 + (uint64_t)(wait * 1e9);
	while (!s.t_all && bench_now_ns() < t_dead) {
		err = memif_poll_event(sock, 10);
		if (err && err != MEMIF_ERR_POLL_CANCEL) {
			fprintf(stderr, "memif-scale: memif_poll_event: %s\n", memif_strerror(err));
			break;
		}
	}
	if (!s.t_all) {
		fprintf(stderr, "memif-scale: %u of %u interfaces connected after %g s\n", s.up, n,
			wait);
		rc = 1;
	} else {
		fd1 = count_fds();
		for (i = 0; i < n; i++) {
			memif_details_t md;
			unsigned r;

			if (memif_get_details(s.conns[i], &md, buf, sizeof(buf)) != MEMIF_ERR_SUCCESS)
				continue;
			for (r = 0; r < md.regions_num; r++)
				shm += md.regions[r].size;
			regions += md.regions_num;
		}
		printf("RESULT role=%s count=%u queues=%u connect_ms=%.3f shm_per_if=%" PRIu64
		       " fds_per_if=%.2f regions_per_if=%.2f\n",
		       master ? "master" : "slave", n, q, (double)(s.t_all - t0) / 1e6, shm / n,
		       (double)(fd1 - fd0) / n, (double)regions / n);
		fflush(stdout);
		/* Stay: the slave for --hold, the master until the peer left. */
		if (!master || hold_set) {
			uint64_t end = bench_now_ns() + (uint64_t)(hold * 1e9);

			while (bench_now_ns() < end)
				(void)memif_poll_event(sock, 10);
		} else {
			t_dead = bench_now_ns() + (uint64_t)(wait * 1e9);
			while (s.up > 0 && bench_now_ns() < t_dead)
				(void)memif_poll_event(sock, 10);
		}
	}
	for (i = 0; i < n; i++)
		(void)memif_delete(&s.conns[i]);
	(void)memif_delete_socket(&sock);
	free(s.conns);
	return rc;
}
