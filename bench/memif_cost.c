/* SPDX-License-Identifier: MIT */
/*
 * memif-cost - the library's CPU cost per packet, without the cross-core
 * traffic that dominates (and makes noisy) a two-process benchmark.
 *
 * One process, one thread, two interfaces on one socket path: a slave
 * that sends and a master that receives, both polling. Each turn of the
 * loop allocates a burst on the slave, copies a frame into every buffer
 * (copy mode, the default) or writes only its sequence number
 * (--zero-copy), sends it, then receives it on the master, copies every
 * frame out (or reads its sequence number) and refills. All of it stays in
 * this core's caches, so the time per packet is the library's data-path
 * code plus the copies, and a change in the library shows in full: use it
 * to compare two builds of the library (bench/ab.sh) or, with a fixed
 * packet count (-n), under `valgrind --tool=callgrind` for exact instruction
 * counts.
 *
 * Every frame carries a sequence number that the receiver checks; a frame
 * lost, repeated or out of order makes the run fail (exit 1). Public API of
 * upstream libmemif 4.0 only, so the same binary runs against any build.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmemif.h>

#include "bench_util.h"

#define MAX_BURST 256
#define MIN_SIZE 8 /* the sequence number */
#define CONNECT_MS 5000

struct side {
	memif_socket_handle_t sock;
	memif_conn_handle_t conn;
	bool up;
};

static struct side master, slave;

static int on_connect(memif_conn_handle_t conn, void *ctx)
{
	struct side *s = ctx;

	/* Polling: the sender never kicks the eventfd, no syscall per burst. */
	memif_set_rx_mode(conn, MEMIF_RX_MODE_POLLING, 0);
	if (s == &master)
		memif_refill_queue(conn, 0, (uint16_t)-1, 0);
	s->up = true;
	return 0;
}

static int on_disconnect(memif_conn_handle_t conn, void *ctx)
{
	(void)conn;
	((struct side *)ctx)->up = false;
	return 0;
}

static int make_side(struct side *s, const char *path, bool is_master, uint16_t bsize, uint8_t log2)
{
	memif_socket_args_t sa;
	memif_conn_args_t ca;
	int err;

	memset(&sa, 0, sizeof(sa));
	snprintf(sa.path, sizeof(sa.path), "%s", path);
	snprintf(sa.app_name, sizeof(sa.app_name), "memif-cost");
	/* Retry quickly: the slave may try before the master listens. */
	sa.connection_request_timer.it_value.tv_nsec = 10000000;
	sa.connection_request_timer.it_interval.tv_nsec = 10000000;
	err = memif_create_socket(&s->sock, &sa, NULL);
	if (err != MEMIF_ERR_SUCCESS)
		return err;
	memset(&ca, 0, sizeof(ca));
	ca.socket = s->sock;
	ca.is_master = is_master;
	ca.buffer_size = bsize;
	ca.log2_ring_size = log2;
	snprintf((char *)ca.interface_name, sizeof(ca.interface_name), "%s",
		 is_master ? "cost-master" : "cost-slave");
	return memif_create(&s->conn, &ca, on_connect, on_disconnect, NULL, s);
}

static void usage(void)
{
	printf("Usage: memif-cost [OPTION]...\n"
	       "Send slave -> master inside one thread and report the time per packet.\n"
	       "\n"
	       "  -S, --size=BYTES     frame size, %d..65535 (default 64)\n"
	       "  -b, --burst=N        buffers per call, 1..%d (default 32)\n"
	       "  -d, --duration=SEC   measure this long (default 2)\n"
	       "  -n, --packets=N      measure exactly N packets instead (for callgrind)\n"
	       "  -W, --warmup=N       packets before the clock starts (default 100000)\n"
	       "  -R, --ring-log2=N    ring size as a power of two (default 10)\n"
	       "  -c, --cpu=N          pin to this CPU\n"
	       "  -z, --zero-copy      touch only the sequence number, copy nothing\n"
	       "  -h, --help           show this help and exit\n"
	       "\n"
	       "Prints: RESULT size= burst= copy= packets= secs= pps= ns_per_pkt= all_packets=\n"
	       "(all_packets counts the warm-up too)\n",
	       MIN_SIZE, MAX_BURST);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 'S' },
		{ "burst", required_argument, NULL, 'b' },
		{ "duration", required_argument, NULL, 'd' },
		{ "packets", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "ring-log2", required_argument, NULL, 'R' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "zero-copy", no_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static memif_buffer_t tb[MAX_BURST], rb[MAX_BURST];
	static uint8_t frame[65536], sink[65536];
	long size = 64, burst = 32, log2 = 10, cpu = -1;
	double secs = 2;
	uint64_t want = 0, warm = 100000, sent_seq = 0, recv_seq = 0, bad = 0;
	uint64_t t0 = 0, t1, deadline;
	bool zc = false, timing = false;
	char path[64];
	int opt, err, rc = 1;

	while ((opt = getopt_long(argc, argv, "S:b:d:n:W:R:c:zh", opts, NULL)) != -1) {
		switch (opt) {
		case 'S':
			size = (long)bench_num("memif-cost", optarg, "size", MIN_SIZE, 65535);
			break;
		case 'b':
			burst = (long)bench_num("memif-cost", optarg, "burst", 1, MAX_BURST);
			break;
		case 'd':
			secs = bench_num("memif-cost", optarg, "duration", 0.001, 1e6);
			break;
		case 'n':
			want = (uint64_t)bench_num("memif-cost", optarg, "packets", 1, 1e15);
			break;
		case 'W':
			warm = (uint64_t)bench_num("memif-cost", optarg, "warmup", 0, 1e15);
			break;
		case 'R':
			log2 = (long)bench_num("memif-cost", optarg, "ring-log2", 1, 14);
			break;
		case 'c':
			cpu = (long)bench_num("memif-cost", optarg, "cpu", 0, CPU_SETSIZE - 1);
			break;
		case 'z':
			zc = true;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	if (bench_pin((int)cpu) < 0) {
		fprintf(stderr, "memif-cost: cannot pin to CPU %ld\n", cpu);
		return 2;
	}
	for (long i = 0; i < size; i++)
		frame[i] = (uint8_t)i;

	/* One buffer per frame: the buffer is at least the frame. */
	uint16_t bsize = (uint16_t)(size < 2048 ? 2048 : (size + 127) & ~127L);

	if (size > 65535 - 127)
		bsize = 65535;
	snprintf(path, sizeof(path), "@memif-cost-%ld", (long)getpid());
	err = make_side(&master, path, true, bsize, (uint8_t)log2);
	if (err == MEMIF_ERR_SUCCESS)
		err = make_side(&slave, path, false, bsize, (uint8_t)log2);
	if (err != MEMIF_ERR_SUCCESS) {
		fprintf(stderr, "memif-cost: setup: %s\n", memif_strerror(err));
		goto out;
	}
	deadline = bench_now_ns() + CONNECT_MS * 1000000ull;
	while (!(master.up && slave.up)) {
		memif_poll_event(master.sock, 1);
		memif_poll_event(slave.sock, 1);
		if (bench_now_ns() > deadline) {
			fprintf(stderr, "memif-cost: no link after %d ms\n", CONNECT_MS);
			goto out;
		}
	}

	deadline = UINT64_MAX;
	for (uint64_t turn = 0;; turn++) {
		uint16_t n = 0, tx = 0, rx = 0;

		err = memif_buffer_alloc(slave.conn, 0, tb, (uint16_t)burst, &n, (uint32_t)size);
		if (err != MEMIF_ERR_SUCCESS && err != MEMIF_ERR_NOBUF_RING) {
			fprintf(stderr, "memif-cost: alloc: %s\n", memif_strerror(err));
			goto out;
		}
		for (uint16_t i = 0; i < n; i++) {
			if (!zc)
				memcpy(tb[i].data, frame, (size_t)size);
			memcpy(tb[i].data, &sent_seq, sizeof(sent_seq));
			sent_seq++;
			tb[i].len = (uint32_t)size;
		}
		err = memif_tx_burst(slave.conn, 0, tb, n, &tx);
		if (err != MEMIF_ERR_SUCCESS || tx != n) {
			fprintf(stderr, "memif-cost: tx: %s (%u of %u)\n", memif_strerror(err), tx,
				n);
			goto out;
		}
		err = memif_rx_burst(master.conn, 0, rb, (uint16_t)burst, &rx);
		if (err != MEMIF_ERR_SUCCESS && err != MEMIF_ERR_NOBUF) {
			fprintf(stderr, "memif-cost: rx: %s\n", memif_strerror(err));
			goto out;
		}
		for (uint16_t i = 0; i < rx; i++) {
			uint64_t seq;

			if (!zc)
				memcpy(sink, rb[i].data, rb[i].len);
			memcpy(&seq, rb[i].data, sizeof(seq));
			bad += seq != recv_seq || rb[i].len != (uint32_t)size;
			recv_seq++;
		}
		err = memif_refill_queue(master.conn, 0, rx, 0);
		if (err != MEMIF_ERR_SUCCESS) {
			fprintf(stderr, "memif-cost: refill: %s\n", memif_strerror(err));
			goto out;
		}
		if (!timing) {
			if (recv_seq >= warm) {
				timing = true;
				warm = recv_seq;
				t0 = bench_now_ns();
				deadline = t0 + (uint64_t)(secs * 1e9);
			}
			continue;
		}
		if (want ? recv_seq - warm >= want :
			   ((turn & 63) == 0 && bench_now_ns() >= deadline))
			break;
	}
	t1 = bench_now_ns();
	if (bad) {
		fprintf(stderr,
			"memif-cost: %" PRIu64 " frames out of sequence or of the wrong size\n",
			bad);
		goto out;
	}
	uint64_t pkts = recv_seq - warm;
	double el = (double)(t1 - t0) / 1e9;

	printf("RESULT size=%ld burst=%ld copy=%s packets=%" PRIu64 " secs=%.3f pps=%.0f "
	       "ns_per_pkt=%.2f all_packets=%" PRIu64 "\n",
	       size, burst, zc ? "no" : "yes", pkts, el, (double)pkts / el,
	       (double)(t1 - t0) / (double)pkts, recv_seq);
	rc = 0;
out:
	if (slave.conn)
		memif_delete(&slave.conn);
	if (master.conn)
		memif_delete(&master.conn);
	if (slave.sock)
		memif_delete_socket(&slave.sock);
	if (master.sock)
		memif_delete_socket(&master.sock);
	return rc;
}
