/* SPDX-License-Identifier: MIT */
/*
 * memif-loopback - the smallest complete libmemif program.
 *
 * One process, one socket path, two interfaces: a master and a slave with
 * the same id. Once both links are up, the slave sends N numbered frames of
 * varying sizes, the master checks each one and sends it back, and the slave
 * checks the echo. Exit status 0 means every frame made the round trip
 * intact and in order.
 *
 * The shape every libmemif program has:
 *   1. an event loop that watches the fds the library hands out
 *      (on_control_fd_update) and passes readiness back
 *      (memif_control_fd_handler): common/loop.c;
 *   2. a socket (memif_create_socket) and an interface (memif_create) with
 *      on_connect / on_disconnect / on_interrupt callbacks;
 *   3. on connect: memif_refill_queue(conn, qid, (uint16_t)-1, 0) to hand
 *      the receive ring its buffers;
 *   4. transmit: memif_buffer_alloc, fill, memif_tx_burst;
 *   5. receive: memif_rx_burst, read, memif_refill_queue.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmemif.h>

#include "args.h"
#include "bufs.h"
#include "loop.h"
#include "packet.h"

#define PROG "memif-loopback"
#define MAX_WINDOW 128 /* frames in flight at most */
#define MIN_FRAME 64
#define MAX_REPORTS 10 /* error messages before going quiet */

struct side {
	const char *name;
	struct loopback *lb;
	memif_conn_handle_t conn;
	bool up;
	uint16_t buffer_size;
	uint32_t ring_size;
};

struct loopback {
	struct ex_loop loop;
	struct side master, slave;
	bool polling;
	uint32_t frames;    /* to send */
	uint32_t max_size;
	uint32_t sent;      /* by the slave */
	uint32_t mirrored;  /* checked by the master and sent back */
	uint32_t returned;  /* checked by the slave */
	uint32_t window;    /* frames in flight: sized so echoes always fit the rings */
	uint32_t errors;
	uint64_t bytes;
	memif_buffer_t bufs[EX_BURST];
	struct ex_tx_batch tx;
	uint8_t frame[65536];
};

static struct loopback g_lb;

static size_t frame_len(const struct loopback *lb, uint32_t i)
{
	return MIN_FRAME + (size_t)((i * 7919u) % (lb->max_size - MIN_FRAME + 1));
}

static size_t build_frame(struct loopback *lb, uint32_t i)
{
	size_t len = frame_len(lb, i);
	memcpy(lb->frame, &i, sizeof(i));
	ex_pkt_fill_pattern(lb->frame + sizeof(i), len - sizeof(i), i);
	return len;
}

static void report(struct loopback *lb, const char *who, const char *what, uint32_t i,
		   ssize_t len)
{
	if (lb->errors++ < MAX_REPORTS)
		fprintf(stderr, "%s: frame %" PRIu32 " %s (%zd bytes)\n", who, i, what, len);
	else if (lb->errors == MAX_REPORTS + 1)
		fprintf(stderr, "(more errors not shown)\n");
}

/*
 * Check a received frame against the next index expected (*next), and move
 * *next past it. Frames carry their index, so a lost frame is reported once
 * and the check resynchronises on the next one.
 */
static void check_frame(struct loopback *lb, const char *who, const uint8_t *p, ssize_t len,
			uint32_t *next)
{
	uint32_t i;
	if (len < (ssize_t)sizeof(i)) {
		report(lb, who, "too short", *next, len);
		(*next)++;
		return;
	}
	memcpy(&i, p, sizeof(i));
	if (i < *next || i >= lb->sent) {
		report(lb, who, "unexpected", i, len);
		return;
	}
	for (uint32_t lost = *next; lost < i; lost++)
		report(lb, who, "lost", lost, 0);
	*next = i + 1;
	if ((size_t)len != frame_len(lb, i) ||
	    !ex_pkt_check_pattern(p + sizeof(i), (size_t)len - sizeof(i), i))
		report(lb, who, "corrupt", i, len);
}

/* Slave: send more frames while the window allows. */
static void pump(struct loopback *lb)
{
	struct side *s = &lb->slave;
	ex_tx_init(&lb->tx, s->conn, 0, s->buffer_size);
	for (uint32_t i = lb->sent; i < lb->frames && i - lb->returned < lb->window; i++) {
		if (ex_tx_add(&lb->tx, lb->frame, build_frame(lb, i)) != MEMIF_ERR_SUCCESS)
			break; /* ring full: try again on the next turn */
	}
	ex_tx_flush(&lb->tx);
	lb->sent += (uint32_t)lb->tx.packets;
}

/* Receive on queue 0 of one side: the master mirrors, the slave counts. */
static void serve(struct side *s)
{
	struct loopback *lb = s->lb;
	bool is_master = s == &lb->master;
	uint16_t rx = 0, pos = 0;

	memif_rx_burst(s->conn, 0, lb->bufs, EX_BURST, &rx);
	if (rx == 0)
		return;
	if (is_master)
		ex_tx_init(&lb->tx, s->conn, 0, s->buffer_size);
	while (pos < rx) {
		ssize_t len = ex_bufs_gather(lb->bufs, rx, &pos, lb->frame, sizeof(lb->frame));
		check_frame(lb, s->name, lb->frame, len, is_master ? &lb->mirrored : &lb->returned);
		if (is_master && len > 0) {
			if (ex_tx_add(&lb->tx, lb->frame, (size_t)len) != MEMIF_ERR_SUCCESS)
				report(lb, s->name, "not mirrored: no buffer", lb->mirrored - 1, len);
		} else if (len > 0) {
			lb->bytes += (uint64_t)len;
		}
	}
	if (is_master && ex_tx_flush(&lb->tx) != MEMIF_ERR_SUCCESS)
		report(lb, s->name, "burst not sent after", lb->mirrored - 1, 0);
	memif_refill_queue(s->conn, 0, rx, 0);
}

/*
 * Frames in flight such that the largest of them, echoed, still fit half a
 * ring: otherwise the master would find no buffer to mirror into.
 */
static uint32_t window_for(const struct loopback *lb)
{
	uint32_t bsize = lb->slave.buffer_size ? lb->slave.buffer_size : 2048;
	uint32_t ring = lb->slave.ring_size ? lb->slave.ring_size : 1024;
	uint32_t per_frame = (lb->max_size + bsize - 1) / bsize;
	uint32_t w = ring / 2 / per_frame;
	if (w > MAX_WINDOW)
		w = MAX_WINDOW;
	return w ? w : 1;
}

static int on_connect(memif_conn_handle_t conn, void *private_ctx)
{
	struct side *s = private_ctx;
	struct ex_conn_info ci;
	if (ex_conn_info_get(conn, &ci) == MEMIF_ERR_SUCCESS) {
		s->buffer_size = ci.buffer_size;
		s->ring_size = ci.ring_size;
	}
	memif_refill_queue(conn, 0, (uint16_t)-1, 0);
	if (s->lb->polling)
		memif_set_rx_mode(conn, MEMIF_RX_MODE_POLLING, 0);
	s->up = true;
	printf("%s: connected\n", s->name);
	return 0;
}

static int on_disconnect(memif_conn_handle_t conn, void *private_ctx)
{
	struct side *s = private_ctx;
	(void)conn;
	s->up = false;
	printf("%s: disconnected\n", s->name);
	return 0;
}

static int on_interrupt(memif_conn_handle_t conn, void *private_ctx, uint16_t qid)
{
	(void)conn;
	(void)qid;
	serve(private_ctx);
	return 0;
}

static int create_side(struct loopback *lb, struct side *s, const struct ex_if_opts *o,
		       memif_socket_handle_t *sock)
{
	memif_socket_args_t sargs;
	memif_conn_args_t args;

	ex_if_socket_args(o, &sargs, ex_loop_memif_fd_update);
	int err = memif_create_socket(sock, &sargs, &lb->loop);
	if (err == MEMIF_ERR_SUCCESS) {
		ex_if_conn_args(o, *sock, 0, &args);
		err = memif_create(&s->conn, &args, on_connect, on_disconnect, on_interrupt, s);
	}
	if (err != MEMIF_ERR_SUCCESS) {
		fprintf(stderr, "error: %s on %s: %s\n", s->name, ex_if_socket_name(o),
			memif_strerror(err));
		return -1;
	}
	return 0;
}

static void usage(void)
{
	printf("Usage: " PROG " [OPTION]...\n"
	       "Connect a master and a slave interface inside one process and send\n"
	       "numbered frames slave -> master -> slave, checking every byte.\n"
	       "\n"
	       "  -n, --frames=N          frames to send (default 10000)\n"
	       "  -s, --max-size=BYTES    largest frame, %d to 65535; sizes vary up to it\n"
	       "                          (default 1500; above the buffer size frames are chained)\n"
	       "  -S, --socket=PATH       socket path, @NAME for abstract\n"
	       "                          (default @memif-loopback-<pid>)\n"
	       "  -b, --buffer-size=N     bytes per buffer (default 2048)\n"
	       "  -R, --ring-log2=N       ring size as a power of two (default 10)\n"
	       "  -p, --polling           busy-poll instead of waiting for interrupts\n"
	       "  -t, --timeout=SEC       give up after this long (default 10)\n"
	       "  -h, --help              show this help and exit\n"
	       "\n"
	       "Exit status: 0 if every frame came back intact, 1 otherwise, 2 on a usage error.\n",
	       MIN_FRAME);
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "frames", required_argument, NULL, 'n' },
		{ "max-size", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "buffer-size", required_argument, NULL, 'b' },
		{ "ring-log2", required_argument, NULL, 'R' },
		{ "polling", no_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct loopback *lb = &g_lb;
	struct ex_if_opts o;
	memif_socket_handle_t msock = NULL, ssock = NULL;
	double timeout = 10;
	int opt, rc = EX_EXIT_FAIL;

	ex_stdio_init();
	ex_if_opts_init(&o, true, PROG);
	snprintf(o.socket_path, sizeof(o.socket_path), "@memif-loopback-%ld", (long)getpid());
	lb->frames = 10000;
	lb->max_size = 1500;

	while ((opt = getopt_long(argc, argv, "n:s:S:b:R:pt:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (ex_parse_u32(optarg, 1, UINT32_MAX - MAX_WINDOW, &lb->frames) < 0) {
				fprintf(stderr, "error: invalid frame count '%s'\n", optarg);
				return EX_EXIT_USAGE;
			}
			break;
		case 's':
			if (ex_parse_u32(optarg, MIN_FRAME, 65535, &lb->max_size) < 0) {
				fprintf(stderr, "error: invalid size '%s': %d to 65535\n", optarg,
					MIN_FRAME);
				return EX_EXIT_USAGE;
			}
			break;
		case 'S':
		case 'b':
		case 'R':
		case 'p':
			if (ex_if_opt(&o, opt, optarg) < 0)
				return EX_EXIT_USAGE;
			break;
		case 't':
			if (ex_parse_double(optarg, 0.1, 3600, &timeout) < 0) {
				fprintf(stderr, "error: invalid timeout '%s'\n", optarg);
				return EX_EXIT_USAGE;
			}
			break;
		case 'h':
			usage();
			return EX_EXIT_OK;
		default:
			fprintf(stderr, "Try '" PROG " --help' for more information.\n");
			return EX_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "error: unexpected argument '%s'\n", argv[optind]);
		return EX_EXIT_USAGE;
	}
	lb->polling = o.polling;
	lb->master = (struct side){ .name = "master", .lb = lb };
	lb->slave = (struct side){ .name = "slave", .lb = lb };

	int err = ex_loop_init(&lb->loop);
	if (err < 0) {
		fprintf(stderr, "error: event loop: %s\n", strerror(-err));
		return EX_EXIT_FAIL;
	}
	/* The master first, so the slave finds it listening. */
	o.is_master = true;
	if (create_side(lb, &lb->master, &o, &msock) < 0)
		goto out;
	o.is_master = false;
	if (create_side(lb, &lb->slave, &o, &ssock) < 0)
		goto out;

	uint64_t start = ex_now_ns();
	uint64_t deadline = start + (uint64_t)(timeout * 1e9);
	while (!lb->loop.stop && lb->returned < lb->frames) {
		if (ex_now_ns() >= deadline) {
			fprintf(stderr, "error: timed out after %.1f s\n", timeout);
			break;
		}
		if (lb->master.up && lb->slave.up) {
			if (!lb->window)
				lb->window = window_for(lb);
			pump(lb);
		}
		err = ex_loop_run_once(&lb->loop, lb->polling ? 0 : ex_ms_until(deadline, 100));
		if (err < 0) {
			fprintf(stderr, "error: epoll: %s\n", strerror(-err));
			break;
		}
		if (lb->polling) {
			if (lb->master.up)
				serve(&lb->master);
			if (lb->slave.up)
				serve(&lb->slave);
		}
	}
	double secs = (double)(ex_now_ns() - start) / 1e9;

	printf(PROG ": %" PRIu32 " frames sent by the slave, %" PRIu32
	       " checked and mirrored by the master, %" PRIu32 " returned to the slave, "
	       "%" PRIu64 " bytes, %" PRIu32 " errors, %.3f s\n",
	       lb->sent, lb->mirrored, lb->returned, lb->bytes, lb->errors, secs);
	ex_print_queue_stats(stdout, lb->master.conn, 1, 1, "master ");
	ex_print_queue_stats(stdout, lb->slave.conn, 1, 1, "slave ");
	if (lb->returned == lb->frames && lb->errors == 0)
		rc = EX_EXIT_OK;

out:
	if (lb->slave.conn)
		memif_delete(&lb->slave.conn);
	if (lb->master.conn)
		memif_delete(&lb->master.conn);
	if (ssock)
		memif_delete_socket(&ssock);
	if (msock)
		memif_delete_socket(&msock);
	ex_loop_close(&lb->loop);
	return rc;
}
