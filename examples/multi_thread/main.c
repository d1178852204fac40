/* SPDX-License-Identifier: MIT */
/*
 * memif-mt - one worker thread per queue: the recommended way to scale.
 *
 * The main thread is the control thread: it owns the socket and the
 * interface, runs the epoll loop that serves libmemif's control fds, and
 * handles on_connect / on_disconnect. The data path belongs to the workers:
 * worker q alone calls memif_rx_burst, memif_buffer_alloc, memif_tx_burst
 * and memif_refill_queue on queue q, so no locks are needed.
 *
 *   on_connect     refill the receive rings, then start one worker per queue.
 *                  In interrupt mode each worker waits on its own receive
 *                  queue's eventfd (memif_get_queue_efd), which the main loop
 *                  stops watching (ex_loop_memif_fd_detach).
 *   on_disconnect  stop every worker and join it, to sum up its counters and
 *                  start a fresh set at the next connect. The library does
 *                  not require this: a worker that kept running would get
 *                  MEMIF_ERR_DISCONNECTED from its calls until the next
 *                  link. It must be woken through wake_fd either way, since
 *                  the library closes the queue's eventfd at the disconnect.
 *   memif_delete   comes only after every worker is joined: a data-path call
 *                  on a deleted interface is undefined.
 *
 * Workers echo what they receive (MACs swapped in ethernet mode), or, with
 * --generate N, send N numbered frames per queue, keep at most --window of
 * them in flight and check the echoes. A generator exits 0 when every frame
 * came back intact and in order.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libmemif.h>

#include "args.h"
#include "bufs.h"
#include "loop.h"
#include "packet.h"

#define PROG "memif-mt"
#define MAX_QUEUES 255
#define GEN_ETHERTYPE 0x88b5 /* IEEE local experimental */
#define GEN_HDR 6            /* u16 queue id + u32 sequence number */

struct mt;

struct worker {
	struct mt *mt;
	uint16_t qid;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	int wake_fd;  /* eventfd: main thread -> worker (stop, or "look at your queue") */
	int queue_fd; /* the receive queue's interrupt eventfd (interrupt mode) */

	/* Written by the worker; read by the main thread after the join. */
	uint64_t rx, tx, tx_drops, bad;
	uint32_t sent;     /* generator: frames sent */
	uint32_t expected; /* generator: next sequence number expected back */
	uint32_t received; /* generator: frames back intact and in order */
	uint32_t errors;   /* generator: frames lost, reordered or corrupt */
	bool done;

	memif_buffer_t bufs[EX_BURST];
	struct ex_tx_batch txb;
	uint8_t frame[EX_MAX_PACKET];
};

struct mt {
	struct ex_loop loop;
	struct ex_if_opts opts;
	memif_socket_handle_t sock;
	memif_conn_handle_t conn;
	bool connected;
	bool verbose;
	bool generate;
	uint32_t per_queue; /* generator: frames per queue */
	uint32_t size;      /* generator: frame size */
	uint32_t window;    /* generator: frames in flight per queue, as asked */
	uint32_t eff_window; /* ... capped so the echoes fit half a ring */
	struct ex_queues qs;
	unsigned nq;        /* workers running */
	struct worker *workers;
	int done_fd;        /* eventfd: workers -> main thread, one count per finished worker */
	unsigned done;      /* finished workers of this connection */

	/* Totals over all connections, summed at each join. */
	uint64_t rx, tx, tx_drops, bad;
	uint64_t gen_received, gen_errors, gen_sent;
	unsigned gen_done_queues;
	unsigned queues_run;  /* most workers run at once */
	uint64_t first_connect_ns; /* for the rate: connection setup is not traffic */
};

static struct mt g_mt;

static void usage(FILE *f, const struct ex_if_opts *defaults)
{
	fprintf(f,
		"Usage: " PROG " [OPTION]...\n"
		"Move traffic on a memif interface with one worker thread per queue.\n"
		"\n");
	ex_if_opts_usage(f, defaults);
	fprintf(f,
		"\n"
		"traffic options:\n"
		"  -e, --echo              send every received frame back (the default)\n"
		"  -g, --generate=N        send N frames per queue and check their echoes\n"
		"  -l, --size=BYTES        generated frame size, 64 to 65535 (default 64)\n"
		"  -w, --window=N          generated frames in flight per queue (default 128)\n"
		"  -t, --timeout=SEC       generator: give up after this long (default 20)\n"
		"  -v, --verbose           more messages\n"
		"  -h, --help              show this help and exit\n"
		"\n"
		"An echo runs until SIGINT or SIGTERM; a generator until all frames are back.\n"
		"Exit status: 0 on success, 1 on failure, 2 on a usage error.\n");
}

static bool is_eth(const struct mt *mt)
{
	return mt->opts.mode == MEMIF_INTERFACE_MODE_ETHERNET;
}

static size_t hdr_off(const struct mt *mt)
{
	return is_eth(mt) ? EX_ETH_HLEN : 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	ex_put16(p, (uint16_t)(v >> 16));
	ex_put16(p + 2, (uint16_t)v);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)ex_get16(p) << 16 | ex_get16(p + 2);
}

static size_t build_frame(struct worker *w, uint32_t seq)
{
	static const uint8_t dst[EX_ETH_ALEN] = { 0x02, 0xfe, 0, 0, 0x02, 0x01 };
	static const uint8_t src[EX_ETH_ALEN] = { 0x02, 0xfe, 0, 0, 0x02, 0x02 };
	struct mt *mt = w->mt;
	uint8_t *p = w->frame;
	size_t off = hdr_off(mt);

	if (is_eth(mt)) {
		memcpy(p, dst, EX_ETH_ALEN);
		memcpy(p + EX_ETH_ALEN, src, EX_ETH_ALEN);
		ex_put16(p + 2 * EX_ETH_ALEN, GEN_ETHERTYPE);
	}
	ex_put16(p + off, w->qid);
	put32(p + off + 2, seq);
	ex_pkt_fill_pattern(p + off + GEN_HDR, mt->size - off - GEN_HDR, seq);
	return mt->size;
}

/* Generator: send while the window allows. Returns false if the ring was full. */
static bool generate(struct worker *w)
{
	struct mt *mt = w->mt;
	bool ring_ok = true;

	ex_tx_init(&w->txb, mt->conn, w->qid, mt->qs.buffer_size);
	for (uint32_t seq = w->sent;
	     seq < mt->per_queue && seq - w->expected < mt->eff_window && seq - w->sent < EX_BURST;
	     seq++) {
		if (ex_tx_add(&w->txb, w->frame, build_frame(w, seq)) != MEMIF_ERR_SUCCESS) {
			ring_ok = false;
			break;
		}
	}
	ex_tx_flush(&w->txb);
	w->sent += (uint32_t)w->txb.packets;
	w->tx += w->txb.packets;
	return ring_ok;
}

static void check_echo(struct worker *w, const uint8_t *p, size_t len)
{
	struct mt *mt = w->mt;
	size_t off = hdr_off(mt);

	if (len != mt->size || ex_get16(p + off) != w->qid) {
		w->errors++;
		return;
	}
	uint32_t seq = get32(p + off + 2);
	if (seq < w->expected || seq >= w->sent) {
		w->errors++; /* duplicate, or never sent */
		return;
	}
	if (seq > w->expected)
		w->errors += seq - w->expected; /* lost on the way */
	w->expected = seq + 1;
	if (ex_pkt_check_pattern(p + off + GEN_HDR, len - off - GEN_HDR, seq))
		w->received++;
	else
		w->errors++;
}

/* Receive what waits on the worker's queue; echo it or check it. */
static void serve_queue(struct worker *w)
{
	struct mt *mt = w->mt;

	for (;;) {
		uint16_t rx = 0, pos = 0;
		/* NOBUF: more waits, call again; SUCCESS: the ring is drained
		 * (and the queue's eventfd cleared by the library). */
		int err = memif_rx_burst(mt->conn, w->qid, w->bufs, EX_BURST, &rx);
		if (rx == 0)
			return;
		if (!mt->generate)
			ex_tx_init(&w->txb, mt->conn, w->qid, mt->qs.buffer_size);
		while (pos < rx) {
			ssize_t len = ex_bufs_gather(w->bufs, rx, &pos, w->frame, sizeof(w->frame));
			w->rx++;
			if (len < 0) {
				w->bad++;
				continue;
			}
			if (mt->generate) {
				check_echo(w, w->frame, (size_t)len);
				continue;
			}
			if (is_eth(mt))
				ex_pkt_swap_macs(w->frame, (size_t)len);
			ex_tx_add(&w->txb, w->frame, (size_t)len);
		}
		if (!mt->generate) {
			ex_tx_flush(&w->txb);
			w->tx += w->txb.packets;
			w->tx_drops += w->txb.no_buf + w->txb.errors;
		}
		memif_refill_queue(mt->conn, w->qid, rx, 0);
		if (err != MEMIF_ERR_NOBUF)
			return;
	}
}

static void finish_if_done(struct worker *w)
{
	struct mt *mt = w->mt;
	if (!mt->generate || w->done || w->expected < mt->per_queue)
		return;
	w->done = true;
	uint64_t one = 1;
	if (write(mt->done_fd, &one, sizeof(one)) < 0)
		perror("worker: done eventfd");
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct mt *mt = w->mt;
	struct epoll_event evs[2];
	bool ring_ok = true;
	int ep_fd = -1;

	if (!mt->opts.polling) {
		ep_fd = epoll_create1(EPOLL_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = w->wake_fd };
		if (ep_fd < 0 || epoll_ctl(ep_fd, EPOLL_CTL_ADD, w->wake_fd, &ev) < 0) {
			perror("worker: epoll");
			goto out;
		}
		ev.data.fd = w->queue_fd;
		if (w->queue_fd >= 0 && epoll_ctl(ep_fd, EPOLL_CTL_ADD, w->queue_fd, &ev) < 0) {
			perror("worker: epoll queue fd");
			goto out;
		}
	}

	/* Frames may have arrived before this thread existed: look first. */
	serve_queue(w);

	while (!atomic_load_explicit(&w->stop, memory_order_acquire) && !w->done) {
		uint64_t before = w->rx + w->tx;
		if (mt->generate)
			ring_ok = generate(w);

		if (mt->opts.polling) {
			serve_queue(w);
			finish_if_done(w);
			if (w->rx + w->tx == before)
				sched_yield(); /* idle turn: let the peer have the core */
			continue;
		}

		/*
		 * Interrupt mode: sleep until the queue or the main thread
		 * signals. With a full ring, retry soon; otherwise wake now and
		 * then anyway, so a lost wakeup costs latency, not a hang.
		 */
		int timeout = mt->generate ? (ring_ok ? 100 : 1) : 1000;
		int n = epoll_wait(ep_fd, evs, 2, timeout);
		for (int i = 0; i < n; i++) {
			uint64_t v;
			/* Only our own wake_fd is read here: the queue's eventfd
			 * is the library's to clear (memif_rx_burst does, once the
			 * ring is drained), or a wake-up could be lost. */
			if (evs[i].data.fd == w->wake_fd &&
			    read(evs[i].data.fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				perror("worker: eventfd");
		}
		serve_queue(w);
		finish_if_done(w);
	}
out:
	if (ep_fd >= 0)
		close(ep_fd);
	return NULL;
}

static void stop_workers(struct mt *mt)
{
	for (unsigned q = 0; q < mt->nq; q++) {
		struct worker *w = &mt->workers[q];
		uint64_t one = 1;
		atomic_store_explicit(&w->stop, true, memory_order_release);
		if (write(w->wake_fd, &one, sizeof(one)) < 0)
			perror("wake worker");
	}
	for (unsigned q = 0; q < mt->nq; q++) {
		struct worker *w = &mt->workers[q];
		if (w->started)
			pthread_join(w->thread, NULL);
		w->started = false;
		close(w->wake_fd);
		w->wake_fd = -1;

		mt->rx += w->rx;
		mt->tx += w->tx;
		mt->tx_drops += w->tx_drops;
		mt->bad += w->bad;
		if (mt->generate) {
			mt->gen_sent += w->sent;
			mt->gen_received += w->received;
			mt->gen_errors += w->errors;
			mt->gen_done_queues += w->done && w->received == mt->per_queue;
			printf("queue %u: %" PRIu32 " sent, %" PRIu32 " back intact, %" PRIu32
			       " lost or bad%s\n",
			       q, w->sent, w->received, w->errors, w->done ? "" : " (unfinished)");
		} else {
			printf("queue %u: %" PRIu64 " frames echoed, %" PRIu64 " received, %" PRIu64
			       " dropped\n",
			       q, w->tx, w->rx, w->tx_drops + w->bad);
		}
	}
	mt->nq = 0;
}

static int start_workers(struct mt *mt, unsigned nq)
{
	for (unsigned q = 0; q < nq; q++) {
		struct worker *w = &mt->workers[q];
		memset(w, 0, offsetof(struct worker, bufs));
		w->mt = mt;
		w->qid = (uint16_t)q;
		w->queue_fd = -1;
		atomic_init(&w->stop, false);
		w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w->wake_fd < 0) {
			perror("eventfd");
			mt->nq = q;
			return -1;
		}
		mt->nq = q + 1;
		if (!mt->opts.polling) {
			int err = memif_get_queue_efd(mt->conn, (uint16_t)q, &w->queue_fd);
			if (err != MEMIF_ERR_SUCCESS) {
				fprintf(stderr, "queue %u: memif_get_queue_efd: %s\n", q,
					memif_strerror(err));
				w->queue_fd = -1;
			} else if (ex_loop_memif_fd_detach(&mt->loop, w->queue_fd) < 0 &&
				   mt->verbose) {
				fprintf(stderr, "queue %u: interrupt fd %d was not in the loop\n", q,
					w->queue_fd);
			}
		}
		int err = pthread_create(&w->thread, NULL, worker_main, w);
		if (err) {
			fprintf(stderr, "pthread_create: %s\n", strerror(err));
			return -1;
		}
		w->started = true;
	}
	return 0;
}

static int on_connect(memif_conn_handle_t conn, void *private_ctx)
{
	struct mt *mt = private_ctx;
	struct ex_conn_info ci;

	if (ex_conn_info_get(conn, &ci) != MEMIF_ERR_SUCCESS) {
		memset(&ci, 0, sizeof(ci));
		ci.rx_queues = ci.tx_queues = mt->opts.queues;
	}
	ex_queues_update(&mt->qs, &ci);
	uint32_t bsize = ci.buffer_size ? ci.buffer_size : 2048;
	uint32_t ring = ci.ring_size ? ci.ring_size : 1024;
	uint32_t fit = ring / 2 / ((mt->size + bsize - 1) / bsize);
	mt->eff_window = mt->window < fit ? mt->window : (fit ? fit : 1);
	for (uint16_t q = 0; q < ci.rx_queues; q++) {
		memif_refill_queue(conn, q, (uint16_t)-1, 0);
		if (mt->opts.polling)
			memif_set_rx_mode(conn, MEMIF_RX_MODE_POLLING, q);
	}
	mt->connected = true;
	mt->done = 0;
	if (!mt->first_connect_ns)
		mt->first_connect_ns = ex_now_ns();
	unsigned nq = ci.rx_queues < ci.tx_queues ? ci.rx_queues : ci.tx_queues;
	if (nq > mt->queues_run)
		mt->queues_run = nq;
	printf("connected to \"%s\" (app \"%s\"): %u queue pairs, starting %u workers\n",
	       ci.remote_if_name, ci.remote_app_name, nq, nq);
	if (start_workers(mt, nq) < 0) {
		stop_workers(mt);
		ex_loop_stop(&mt->loop);
	}
	return 0;
}

static int on_disconnect(memif_conn_handle_t conn, void *private_ctx)
{
	struct mt *mt = private_ctx;
	(void)conn;
	/* Not required by the library (workers may run on and get
	 * MEMIF_ERR_DISCONNECTED); this program restarts them per connection. */
	stop_workers(mt);
	mt->connected = false;
	printf("disconnected\n");
	return 0;
}

static int on_interrupt(memif_conn_handle_t conn, void *private_ctx, uint16_t qid)
{
	struct mt *mt = private_ctx;
	(void)conn;
	/*
	 * Only for an interrupt that was already queued in the main loop when
	 * the worker took its eventfd: the queue is the worker's, so just wake it.
	 */
	if (qid < mt->nq) {
		uint64_t one = 1;
		if (write(mt->workers[qid].wake_fd, &one, sizeof(one)) < 0)
			perror("wake worker");
	}
	return 0;
}

static void on_done(struct ex_loop *loop, int fd, uint32_t events, void *arg)
{
	struct mt *mt = arg;
	uint64_t v;
	(void)loop;
	(void)events;
	if (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		mt->done += (unsigned)v;
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		EX_IF_LONG_OPTS,
		{ "echo", no_argument, NULL, 'e' },
		{ "generate", required_argument, NULL, 'g' },
		{ "size", required_argument, NULL, 'l' },
		{ "window", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mt *mt = &g_mt;
	struct ex_if_opts defaults;
	double timeout = 20;
	int opt, rc = EX_EXIT_OK;

	ex_stdio_init();
	ex_if_opts_init(&mt->opts, false, PROG);
	mt->opts.queues = 2;
	defaults = mt->opts;
	mt->size = 64;
	mt->window = 128;
	mt->done_fd = -1;

	while ((opt = getopt_long(argc, argv, EX_IF_SHORT_OPTS "eg:l:w:t:vh", long_opts, NULL)) !=
	       -1) {
		int r = ex_if_opt(&mt->opts, opt, optarg);
		if (r < 0)
			return EX_EXIT_USAGE;
		if (r > 0)
			continue;
		switch (opt) {
		case 'e':
			mt->generate = false;
			break;
		case 'g':
			if (ex_parse_u32(optarg, 1, UINT32_MAX / 2, &mt->per_queue) < 0) {
				fprintf(stderr, "error: invalid frame count '%s'\n", optarg);
				return EX_EXIT_USAGE;
			}
			mt->generate = true;
			break;
		case 'l':
			if (ex_parse_u32(optarg, 64, 65535, &mt->size) < 0) {
				fprintf(stderr, "error: invalid size '%s': 64 to 65535\n", optarg);
				return EX_EXIT_USAGE;
			}
			break;
		case 'w':
			if (ex_parse_u32(optarg, 1, 16384, &mt->window) < 0) {
				fprintf(stderr, "error: invalid window '%s': 1 to 16384\n", optarg);
				return EX_EXIT_USAGE;
			}
			break;
		case 't':
			if (ex_parse_double(optarg, 0.1, 86400, &timeout) < 0) {
				fprintf(stderr, "error: invalid timeout '%s'\n", optarg);
				return EX_EXIT_USAGE;
			}
			break;
		case 'v':
			mt->verbose = true;
			break;
		case 'h':
			usage(stdout, &defaults);
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

	mt->workers = calloc(MAX_QUEUES, sizeof(*mt->workers));
	if (!mt->workers) {
		fprintf(stderr, "error: out of memory\n");
		return EX_EXIT_FAIL;
	}
	/* Before any thread exists, so every thread inherits the blocked signals. */
	int err = ex_loop_init(&mt->loop);
	if (err < 0) {
		fprintf(stderr, "error: event loop: %s\n", strerror(-err));
		rc = EX_EXIT_FAIL;
		goto out_free;
	}
	mt->loop.verbose = mt->verbose;
	mt->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (mt->done_fd < 0 || ex_loop_add(&mt->loop, mt->done_fd, EPOLLIN, on_done, mt) < 0) {
		fprintf(stderr, "error: eventfd: %s\n", strerror(errno));
		rc = EX_EXIT_FAIL;
		goto out_loop;
	}

	memif_socket_args_t sargs;
	ex_if_socket_args(&mt->opts, &sargs, ex_loop_memif_fd_update);
	err = memif_create_socket(&mt->sock, &sargs, &mt->loop);
	if (err != MEMIF_ERR_SUCCESS) {
		fprintf(stderr, "error: socket %s: %s\n", ex_if_socket_name(&mt->opts),
			memif_strerror(err));
		rc = EX_EXIT_FAIL;
		goto out_loop;
	}
	memif_conn_args_t args;
	ex_if_conn_args(&mt->opts, mt->sock, 0, &args);
	err = memif_create(&mt->conn, &args, on_connect, on_disconnect, on_interrupt, mt);
	if (err != MEMIF_ERR_SUCCESS) {
		fprintf(stderr, "error: interface id %" PRIu32 " on %s: %s\n", mt->opts.id,
			ex_if_socket_name(&mt->opts), memif_strerror(err));
		mt->conn = NULL;
		rc = EX_EXIT_FAIL;
		goto out_socket;
	}

	if (mt->generate)
		printf(PROG ": generating %" PRIu32 " frames of %" PRIu32
		       " bytes per queue (%s, %s mode, %s, %u queues, socket %s, id %" PRIu32 ")\n",
		       mt->per_queue, mt->size, ex_role_str(mt->opts.is_master),
		       ex_mode_str(mt->opts.mode), mt->opts.polling ? "polling" : "interrupt",
		       mt->opts.queues, ex_if_socket_name(&mt->opts), mt->opts.id);
	else
		printf(PROG ": echo (%s, %s mode, %s, %u queues, socket %s, id %" PRIu32 ")\n",
		       ex_role_str(mt->opts.is_master), ex_mode_str(mt->opts.mode),
		       mt->opts.polling ? "polling" : "interrupt", mt->opts.queues,
		       ex_if_socket_name(&mt->opts), mt->opts.id);

	uint64_t start = ex_now_ns();
	uint64_t deadline = start + (uint64_t)(timeout * 1e9);
	bool all_done = false;
	while (!mt->loop.stop) {
		if (mt->generate && mt->nq > 0 && mt->done >= mt->nq) {
			all_done = true;
			break;
		}
		if (mt->generate && ex_now_ns() >= deadline) {
			fprintf(stderr, "error: timed out after %.1f s\n", timeout);
			break;
		}
		err = ex_loop_run_once(&mt->loop, mt->generate ? ex_ms_until(deadline, 1000) : -1);
		if (err < 0) {
			fprintf(stderr, "error: epoll: %s\n", strerror(-err));
			rc = EX_EXIT_FAIL;
			break;
		}
	}
	uint64_t t0 = mt->first_connect_ns ? mt->first_connect_ns : start;
	double secs = (double)(ex_now_ns() - t0) / 1e9;
	if (mt->loop.signal)
		printf("caught signal %d, stopping\n", mt->loop.signal);

	/* Joins the workers through on_disconnect if the link is up. */
	if (mt->connected)
		stop_workers(mt);
	ex_print_queue_stats(stdout, mt->conn, mt->qs.max_rx, mt->qs.max_tx, "");
	err = memif_delete(&mt->conn);
	if (err != MEMIF_ERR_SUCCESS)
		fprintf(stderr, "error: memif_delete: %s\n", memif_strerror(err));

	if (mt->generate) {
		uint64_t want = (uint64_t)mt->per_queue * mt->queues_run;
		printf(PROG ": %" PRIu64 " of %" PRIu64 " frames back intact, %" PRIu64
		       " lost or bad, %u queues finished, %.3f s after connecting, %.3f Mframes/s each way\n",
		       mt->gen_received, want, mt->gen_errors, mt->gen_done_queues, secs,
		       secs > 0 ? (double)mt->gen_received / secs / 1e6 : 0.0);
		if (!all_done || want == 0 || mt->gen_received != want || mt->gen_errors)
			rc = EX_EXIT_FAIL;
	} else {
		printf(PROG ": %" PRIu64 " frames received, %" PRIu64 " echoed, %" PRIu64
		       " dropped\n",
		       mt->rx, mt->tx, mt->tx_drops + mt->bad);
	}

out_socket:
	err = memif_delete_socket(&mt->sock);
	if (err != MEMIF_ERR_SUCCESS)
		fprintf(stderr, "error: memif_delete_socket: %s\n", memif_strerror(err));
out_loop:
	if (mt->done_fd >= 0)
		close(mt->done_fd);
	ex_loop_close(&mt->loop);
out_free:
	free(mt->workers);
	return rc;
}
