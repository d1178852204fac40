/* SPDX-License-Identifier: MIT */
/*
 * icmp-responder - answer ARP and ICMP echo requests on memif interfaces.
 *
 * One or more interfaces share one control socket, as master or slave, in
 * ethernet or ip mode. The program runs its own epoll loop: libmemif's fds
 * arrive through on_control_fd_update (common/loop.c), SIGINT/SIGTERM
 * through a signalfd, and commands through stdin. Receive queues work in
 * interrupt or adaptive mode (on_interrupt) or are busy-polled, per queue.
 *
 * Every reply is copied into transmit buffers from memif_buffer_alloc and
 * sent with memif_tx_burst; the received buffers then go back with
 * memif_refill_queue. As a master, replies that come before the slave has
 * offered any buffer are kept and sent once it has (common/bufs.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <libmemif.h>

#include "args.h"
#include "bufs.h"
#include "loop.h"
#include "packet.h"

#define PROG "icmp-responder"
#define MAX_IFACES 255
#define MAX_QUEUES 256
/* Receive bursts per queue per call, so one busy queue cannot starve the loop. */
#define MAX_ROUNDS 16

struct app;

struct iface {
	struct app *app;
	unsigned index;
	memif_conn_handle_t conn; /* NULL once deleted */
	bool connected;
	uint8_t ip[4];
	uint8_t mac[EX_ETH_ALEN];
	struct ex_queues qs;
	memif_rx_mode_t rx_mode[MAX_QUEUES]; /* wanted rx mode per queue */
	uint64_t connects;
	uint64_t rx_packets;
	uint64_t tx_packets;
	uint64_t arp_replies;
	uint64_t icmp_replies;
	uint64_t ignored;         /* not for us, or not ARP/ICMP echo */
	uint64_t bad;             /* truncated or oversized */
	uint64_t tx_drops;
	struct ex_tx_wait txw; /* master: replies waiting for the slave's first buffers */
	uint64_t refill_at;    /* slave with --refill-delay: when to offer buffers, or 0 */
};

struct app {
	struct ex_loop loop;
	struct ex_if_opts opts;
	memif_socket_handle_t sock;
	unsigned n_ifaces;
	struct iface ifaces[MAX_IFACES];
	unsigned polling_queues; /* connected queues in polling mode */
	uint64_t refill_delay_ns; /* slave: offer receive buffers this late */
	bool stdin_open;
	char line[1024];
	size_t line_len;
	bool line_overflow;
	memif_buffer_t rx_bufs[EX_BURST];
	struct ex_tx_batch tx;
	uint8_t in[EX_MAX_PACKET];
	uint8_t out[EX_MAX_PACKET];
};

static struct app g_app; /* large buffers: keep them off the stack */

static void usage(FILE *f, const struct ex_if_opts *defaults)
{
	fprintf(f,
		"Usage: " PROG " [OPTION]...\n"
		"Answer ARP requests and ICMP echo requests (IPv4) on memif interfaces.\n"
		"\n");
	ex_if_opts_usage(f, defaults);
	fprintf(f,
		"\n"
		"responder options:\n"
		"  -n, --interfaces=N      number of interfaces, 1 to %d (default 1); interface i\n"
		"                          has id ID+i on the same socket\n"
		"  -a, --ip=ADDR           IPv4 address of interface 0 (default 192.168.1.1);\n"
		"                          interface i adds i to the third byte\n"
		"      --mac=MAC           MAC address of interface 0 (default 02:fe:00:00:00:01);\n"
		"                          interface i adds i to the last byte\n"
		"      --no-stdin          do not read commands from standard input\n"
		"      --refill-delay=SEC  slave: give the receive rings their buffers only SEC\n"
		"                          after connecting, as VPP's zero-copy slave does late\n"
		"                          (to try a master's start-up; default 0)\n"
		"  -v, --verbose           report library errors from the event loop\n"
		"  -h, --help              show this help and exit\n"
		"\n"
		"Commands read from standard input (one per line; EOF just stops reading):\n"
		"  help                    list the commands\n"
		"  show                    state, peer, queues and counters of every interface\n"
		"  conn <index>            create a deleted interface again, or make a slave\n"
		"                          try to connect now\n"
		"  del <index>             delete an interface\n"
		"  ip-set <index> <addr>   change an interface's IPv4 address\n"
		"  rx-mode <index> <qid> <polling|interrupt|adaptive>\n"
		"                          change how a receive queue is served\n"
		"  exit                    stop the program\n"
		"\n"
		"Runs until SIGINT, SIGTERM or 'exit', then prints its counters.\n"
		"Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on a usage error.\n",
		MAX_IFACES);
}

static bool is_eth(const struct app *app)
{
	return app->opts.mode == MEMIF_INTERFACE_MODE_ETHERNET;
}

static const char *rx_mode_str(memif_rx_mode_t mode)
{
	switch (mode) {
	case MEMIF_RX_MODE_POLLING:
		return "polling";
	case MEMIF_RX_MODE_ADAPTIVE:
		return "adaptive";
	default:
		return "interrupt";
	}
}

static void recount_polling(struct app *app)
{
	unsigned n = 0;
	for (unsigned i = 0; i < app->n_ifaces; i++) {
		const struct iface *ifc = &app->ifaces[i];
		if (!ifc->connected)
			continue;
		for (unsigned q = 0; q < ifc->qs.nrx; q++)
			n += ifc->rx_mode[q] == MEMIF_RX_MODE_POLLING;
	}
	app->polling_queues = n;
}

/* Receive on one queue, answer what is for us, give the buffers back. */
static void serve_queue(struct iface *ifc, uint16_t qid)
{
	struct app *app = ifc->app;
	uint16_t txq = ifc->qs.ntx ? (uint16_t)(qid % ifc->qs.ntx) : 0;

	for (int round = 0; round < MAX_ROUNDS; round++) {
		uint16_t rx = 0;
		memif_rx_burst(ifc->conn, qid, app->rx_bufs, EX_BURST, &rx);
		if (rx == 0)
			return;

		ex_tx_init(&app->tx, ifc->conn, txq, ifc->qs.buffer_size);
		bool wait = !ex_tx_wait_ready(&ifc->txw, ifc->conn, txq);
		uint16_t pos = 0;
		while (pos < rx) {
			ssize_t len = ex_bufs_gather(app->rx_bufs, rx, &pos, app->in,
						     sizeof(app->in));
			ifc->rx_packets++;
			if (len < 0) {
				ifc->bad++;
				continue;
			}
			enum ex_pkt_kind kind;
			size_t out_len = ex_pkt_reply(app->in, (size_t)len, is_eth(app), ifc->mac,
						      ifc->ip, app->out, sizeof(app->out), &kind);
			if (out_len == 0) {
				ifc->ignored++;
				continue;
			}
			if (wait) {
				/* The slave has not offered buffers yet: keep it. */
				if (!ex_tx_wait_hold(&ifc->txw, txq, app->out, out_len)) {
					ifc->tx_drops++;
					continue;
				}
			} else if (ex_tx_add(&app->tx, app->out, out_len) != MEMIF_ERR_SUCCESS) {
				continue; /* counted by the batch */
			}
			if (kind == EX_PKT_ARP_REQUEST)
				ifc->arp_replies++;
			else
				ifc->icmp_replies++;
		}
		ex_tx_flush(&app->tx);
		ifc->tx_packets += app->tx.packets;
		ifc->tx_drops += app->tx.no_buf + app->tx.errors;

		int err = memif_refill_queue(ifc->conn, qid, rx, 0);
		if (err != MEMIF_ERR_SUCCESS && app->loop.verbose)
			fprintf(stderr, "interface %u: refill queue %u: %s\n", ifc->index, qid,
				memif_strerror(err));
		if (rx < EX_BURST)
			return;
	}
}

static int on_connect(memif_conn_handle_t conn, void *private_ctx)
{
	struct iface *ifc = private_ctx;
	struct ex_conn_info ci;
	int err;

	err = ex_conn_info_get(conn, &ci);
	if (err != MEMIF_ERR_SUCCESS) {
		fprintf(stderr, "interface %u: memif_get_details: %s\n", ifc->index,
			memif_strerror(err));
		ci.rx_queues = ci.tx_queues = ifc->app->opts.queues;
	}
	ifc->connected = true;
	ifc->connects++;
	ex_queues_update(&ifc->qs, &ci);

	ex_tx_wait_start(&ifc->txw, ifc->app->opts.is_master);
	ifc->refill_at = ifc->app->refill_delay_ns ? ex_now_ns() + ifc->app->refill_delay_ns : 0;
	for (uint16_t q = 0; q < ifc->qs.nrx; q++) {
		/* Hand every receive buffer to the ring (slave) / accept them (master). */
		err = ifc->refill_at ? MEMIF_ERR_SUCCESS :
				       memif_refill_queue(conn, q, (uint16_t)-1, 0);
		if (err != MEMIF_ERR_SUCCESS)
			fprintf(stderr, "interface %u: refill queue %u: %s\n", ifc->index, q,
				memif_strerror(err));
		if (ifc->rx_mode[q] != MEMIF_RX_MODE_INTERRUPT) {
			err = memif_set_rx_mode(conn, ifc->rx_mode[q], q);
			if (err != MEMIF_ERR_SUCCESS)
				fprintf(stderr, "interface %u: %s mode on queue %u: %s\n",
					ifc->index, rx_mode_str(ifc->rx_mode[q]), q,
					memif_strerror(err));
		}
	}
	recount_polling(ifc->app);
	printf("interface %u: connected to \"%s\" (app \"%s\"), %u rx / %u tx queues\n",
	       ifc->index, ci.remote_if_name, ci.remote_app_name, ifc->qs.nrx, ifc->qs.ntx);
	return 0;
}

static int on_disconnect(memif_conn_handle_t conn, void *private_ctx)
{
	struct iface *ifc = private_ctx;
	struct ex_conn_info ci;

	ifc->connected = false;
	ifc->refill_at = 0;
	ifc->tx_drops += ex_tx_wait_drop(&ifc->txw);
	recount_polling(ifc->app);
	if (ex_conn_info_get(conn, &ci) == MEMIF_ERR_SUCCESS && ci.error[0])
		printf("interface %u: disconnected (%s)\n", ifc->index, ci.error);
	else
		printf("interface %u: disconnected\n", ifc->index);
	return 0;
}

static int on_interrupt(memif_conn_handle_t conn, void *private_ctx, uint16_t qid)
{
	struct iface *ifc = private_ctx;
	(void)conn;
	if (ifc->connected)
		serve_queue(ifc, qid);
	return 0;
}

static int create_iface(struct app *app, struct iface *ifc)
{
	memif_conn_args_t args;

	ex_if_conn_args(&app->opts, app->sock, ifc->index, &args);
	int err = memif_create(&ifc->conn, &args, on_connect, on_disconnect, on_interrupt, ifc);
	if (err != MEMIF_ERR_SUCCESS) {
		fprintf(stderr, "error: interface %u (id %" PRIu32 ") on %s: %s\n", ifc->index,
			args.interface_id, ex_if_socket_name(&app->opts), memif_strerror(err));
		ifc->conn = NULL;
		return -1;
	}
	return 0;
}

static void delete_iface(struct iface *ifc)
{
	if (!ifc->conn)
		return;
	/* Calls on_disconnect if the link is up, or never came up. */
	int err = memif_delete(&ifc->conn);
	if (err != MEMIF_ERR_SUCCESS)
		fprintf(stderr, "interface %u: memif_delete: %s\n", ifc->index,
			memif_strerror(err));
	ifc->conn = NULL;
	ifc->connected = false;
	recount_polling(ifc->app);
}

static void print_counters(const struct iface *ifc)
{
	printf("  counters: rx %" PRIu64 " packets, tx %" PRIu64 " packets, %" PRIu64
	       " arp replies, %" PRIu64 " icmp replies, %" PRIu64 " ignored, %" PRIu64
	       " bad, %" PRIu64 " tx drops, %" PRIu64 " connects\n",
	       ifc->rx_packets, ifc->tx_packets, ifc->arp_replies, ifc->icmp_replies,
	       ifc->ignored, ifc->bad, ifc->tx_drops, ifc->connects);
}

static void show_iface(struct app *app, struct iface *ifc)
{
	char ipbuf[16], macbuf[18];
	struct ex_conn_info ci;

	printf("interface %u: id %" PRIu32 ", %s, %s, socket %s\n", ifc->index,
	       app->opts.id + ifc->index, ex_role_str(app->opts.is_master),
	       ex_mode_str(app->opts.mode), ex_if_socket_name(&app->opts));
	if (is_eth(app))
		printf("  ip %s, mac %s\n", ex_fmt_ipv4(ifc->ip, ipbuf), ex_fmt_mac(ifc->mac, macbuf));
	else
		printf("  ip %s\n", ex_fmt_ipv4(ifc->ip, ipbuf));

	if (!ifc->conn) {
		printf("  state: deleted\n");
	} else if (ex_conn_info_get(ifc->conn, &ci) != MEMIF_ERR_SUCCESS) {
		printf("  state: unknown (memif_get_details failed)\n");
	} else if (ifc->connected) {
		printf("  state: connected, peer \"%s\" (app \"%s\")\n", ci.remote_if_name,
		       ci.remote_app_name);
		printf("  queues: %u rx, %u tx, ring size %" PRIu32 ", buffer size %u\n", ci.rx_queues,
		       ci.tx_queues, ci.ring_size, ci.buffer_size);
		for (unsigned q = 0; q < ifc->qs.nrx; q++)
			printf("  rx queue %u mode: %s\n", q, rx_mode_str(ifc->rx_mode[q]));
	} else {
		printf("  state: %s%s%s%s\n",
		       app->opts.is_master ? "listening, not connected" : "not connected, retrying",
		       ci.error[0] ? " (last error: " : "", ci.error, ci.error[0] ? ")" : "");
	}
	print_counters(ifc);
	if (ifc->conn)
		ex_print_queue_stats(stdout, ifc->conn, ifc->qs.max_rx, ifc->qs.max_tx, "  ");
}

/* How long the loop may sleep: 0 to poll, 1 ms while replies are held, until a refill. */
static int loop_timeout(const struct app *app)
{
	int t = app->polling_queues ? 0 : -1;

	for (unsigned i = 0; i < app->n_ifaces; i++) {
		const struct iface *ifc = &app->ifaces[i];
		int w = ifc->connected ? ex_tx_wait_timeout_ms(&ifc->txw) : -1;

		if (ifc->connected && ifc->refill_at) {
			int r = ex_ms_until(ifc->refill_at, 1000);

			w = w < 0 || r < w ? r : w;
		}
		if (w >= 0 && (t < 0 || w < t))
			t = w;
	}
	return t;
}

/* Work the loop owes the interfaces: held replies, delayed refills. */
static void tend_ifaces(struct app *app)
{
	for (unsigned i = 0; i < app->n_ifaces; i++) {
		struct iface *ifc = &app->ifaces[i];

		if (!ifc->connected)
			continue;
		if (ifc->txw.n)
			ex_tx_wait_flush(&ifc->txw, ifc->conn, ifc->qs.buffer_size,
					 &ifc->tx_packets, &ifc->tx_drops);
		if (ifc->refill_at && ex_now_ns() >= ifc->refill_at) {
			for (uint16_t q = 0; q < ifc->qs.nrx; q++)
				memif_refill_queue(ifc->conn, q, (uint16_t)-1, 0);
			ifc->refill_at = 0;
		}
	}
}

/* ---- stdin commands ------------------------------------------------------ */

static struct iface *arg_iface(struct app *app, const char *s)
{
	uint32_t i;
	if (!s) {
		printf("error: missing interface index\n");
		return NULL;
	}
	if (ex_parse_u32(s, 0, app->n_ifaces - 1, &i) < 0) {
		printf("error: no interface '%s' (0 to %u)\n", s, app->n_ifaces - 1);
		return NULL;
	}
	return &app->ifaces[i];
}

static void cmd_help(void)
{
	printf("commands:\n"
	       "  help\n"
	       "  show\n"
	       "  conn <index>\n"
	       "  del <index>\n"
	       "  ip-set <index> <addr>\n"
	       "  rx-mode <index> <qid> <polling|interrupt|adaptive>\n"
	       "  exit\n");
}

static void cmd_conn(struct app *app, struct iface *ifc)
{
	if (!ifc->conn) {
		if (create_iface(app, ifc) == 0)
			printf("interface %u: created (%s)\n", ifc->index,
			       app->opts.is_master ? "waiting for the slave" : "connecting");
		return;
	}
	if (ifc->connected) {
		printf("interface %u: already connected\n", ifc->index);
		return;
	}
	if (app->opts.is_master) {
		printf("interface %u: master, waiting for the slave\n", ifc->index);
		return;
	}
	int err = memif_request_connection(ifc->conn);
	if (err == MEMIF_ERR_SUCCESS)
		printf("interface %u: connecting\n", ifc->index);
	else
		printf("interface %u: connect: %s (retrying in the background)\n", ifc->index,
		       memif_strerror(err));
}

static void cmd_rx_mode(struct app *app, struct iface *ifc, const char *qs, const char *ms)
{
	uint32_t qid;
	memif_rx_mode_t mode;

	if (!qs || !ms) {
		printf("error: usage: rx-mode <index> <qid> <polling|interrupt|adaptive>\n");
		return;
	}
	if (ex_parse_u32(qs, 0, MAX_QUEUES - 1, &qid) < 0) {
		printf("error: bad queue id '%s'\n", qs);
		return;
	}
	if (strcmp(ms, "polling") == 0) {
		mode = MEMIF_RX_MODE_POLLING;
	} else if (strcmp(ms, "interrupt") == 0) {
		mode = MEMIF_RX_MODE_INTERRUPT;
	} else if (strcmp(ms, "adaptive") == 0) {
		mode = MEMIF_RX_MODE_ADAPTIVE;
	} else {
		printf("error: bad rx mode '%s' (polling, interrupt or adaptive)\n", ms);
		return;
	}
	if (ifc->connected) {
		if (qid >= ifc->qs.nrx) {
			printf("error: interface %u has %u rx queues\n", ifc->index, ifc->qs.nrx);
			return;
		}
		int err = memif_set_rx_mode(ifc->conn, mode, (uint16_t)qid);
		if (err != MEMIF_ERR_SUCCESS) {
			printf("error: interface %u queue %" PRIu32 ": %s\n", ifc->index, qid,
			       memif_strerror(err));
			return;
		}
	}
	ifc->rx_mode[qid] = mode;
	recount_polling(app);
	printf("interface %u queue %" PRIu32 ": rx mode %s%s\n", ifc->index, qid, ms,
	       ifc->connected ? "" : " (applied when connected)");
	/* The peer did not signal while we polled: serve what is waiting. */
	if (ifc->connected && mode != MEMIF_RX_MODE_POLLING)
		serve_queue(ifc, (uint16_t)qid);
}

static void run_command(struct app *app, char *line)
{
	char *argv[6];
	int argc = 0;
	char *save = NULL;

	for (char *tok = strtok_r(line, " \t\r", &save); tok && argc < 6;
	     tok = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = tok;
	if (argc == 0 || argv[0][0] == '#')
		return;
	for (int i = argc; i < 6; i++)
		argv[i] = NULL;

	const char *cmd = argv[0];
	struct iface *ifc;

	if (strcmp(cmd, "help") == 0) {
		cmd_help();
	} else if (strcmp(cmd, "exit") == 0 || strcmp(cmd, "quit") == 0) {
		printf("exiting\n");
		ex_loop_stop(&app->loop);
	} else if (strcmp(cmd, "show") == 0) {
		for (unsigned i = 0; i < app->n_ifaces; i++)
			show_iface(app, &app->ifaces[i]);
	} else if (strcmp(cmd, "conn") == 0) {
		if ((ifc = arg_iface(app, argv[1])))
			cmd_conn(app, ifc);
	} else if (strcmp(cmd, "del") == 0) {
		if ((ifc = arg_iface(app, argv[1]))) {
			if (!ifc->conn) {
				printf("interface %u: already deleted\n", ifc->index);
			} else {
				delete_iface(ifc);
				printf("interface %u: deleted\n", ifc->index);
			}
		}
	} else if (strcmp(cmd, "ip-set") == 0) {
		if ((ifc = arg_iface(app, argv[1]))) {
			uint8_t ip[4];
			char buf[16];
			if (!argv[2] || ex_parse_ipv4(argv[2], ip) < 0) {
				printf("error: bad IPv4 address '%s'\n", argv[2] ? argv[2] : "");
			} else {
				memcpy(ifc->ip, ip, 4);
				printf("interface %u: ip %s\n", ifc->index, ex_fmt_ipv4(ip, buf));
			}
		}
	} else if (strcmp(cmd, "rx-mode") == 0) {
		if ((ifc = arg_iface(app, argv[1])))
			cmd_rx_mode(app, ifc, argv[2], argv[3]);
	} else {
		printf("error: unknown command '%s' (try 'help')\n", cmd);
	}
}

static void stop_reading_stdin(struct app *app)
{
	if (app->stdin_open) {
		ex_loop_del(&app->loop, STDIN_FILENO);
		app->stdin_open = false;
	}
}

static void on_stdin(struct ex_loop *loop, int fd, uint32_t events, void *arg)
{
	struct app *app = arg;
	char buf[512];
	ssize_t n;

	(void)loop;
	(void)events;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF (or a broken stdin): keep running, stop reading. */
		if (n < 0)
			fprintf(stderr, "stdin: %s; no more commands\n", strerror(errno));
		stop_reading_stdin(app);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		char c = buf[i];
		if (c != '\n') {
			if (app->line_len + 1 < sizeof(app->line))
				app->line[app->line_len++] = c;
			else
				app->line_overflow = true;
			continue;
		}
		app->line[app->line_len] = '\0';
		if (app->line_overflow)
			printf("error: command line too long\n");
		else
			run_command(app, app->line);
		app->line_len = 0;
		app->line_overflow = false;
		if (app->loop.stop)
			return;
	}
}

/* ---- main ------------------------------------------------------------------ */

enum {
	OPT_MAC = EX_OPT_APP_FIRST,
	OPT_NO_STDIN,
	OPT_REFILL_DELAY
};

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		EX_IF_LONG_OPTS,
		{ "interfaces", required_argument, NULL, 'n' },
		{ "ip", required_argument, NULL, 'a' },
		{ "mac", required_argument, NULL, OPT_MAC },
		{ "no-stdin", no_argument, NULL, OPT_NO_STDIN },
		{ "refill-delay", required_argument, NULL, OPT_REFILL_DELAY },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct app *app = &g_app;
	struct ex_if_opts defaults;
	uint8_t ip[4] = { 192, 168, 1, 1 };
	uint8_t mac[EX_ETH_ALEN] = { 0x02, 0xfe, 0x00, 0x00, 0x00, 0x01 };
	bool read_stdin = true, verbose = false;
	uint32_t n_ifaces = 1;
	int opt, rc = EX_EXIT_OK;

	ex_stdio_init();
	ex_if_opts_init(&app->opts, true, PROG);
	defaults = app->opts;

	while ((opt = getopt_long(argc, argv, EX_IF_SHORT_OPTS "n:a:vh", long_opts, NULL)) != -1) {
		int r = ex_if_opt(&app->opts, opt, optarg);
		if (r < 0)
			return EX_EXIT_USAGE;
		if (r > 0)
			continue;
		switch (opt) {
		case 'n':
			if (ex_parse_u32(optarg, 1, MAX_IFACES, &n_ifaces) < 0) {
				fprintf(stderr, "error: invalid interface count '%s': 1 to %d\n",
					optarg, MAX_IFACES);
				return EX_EXIT_USAGE;
			}
			break;
		case 'a':
			if (ex_parse_ipv4(optarg, ip) < 0) {
				fprintf(stderr, "error: invalid IPv4 address '%s'\n", optarg);
				return EX_EXIT_USAGE;
			}
			break;
		case OPT_MAC:
			if (ex_parse_mac(optarg, mac) < 0) {
				fprintf(stderr, "error: invalid MAC address '%s'\n", optarg);
				return EX_EXIT_USAGE;
			}
			break;
		case OPT_NO_STDIN:
			read_stdin = false;
			break;
		case OPT_REFILL_DELAY: {
			double secs;
			if (ex_parse_double(optarg, 0.0, 60.0, &secs) < 0) {
				fprintf(stderr,
					"error: invalid refill delay '%s': seconds from 0 to 60\n",
					optarg);
				return EX_EXIT_USAGE;
			}
			app->refill_delay_ns = (uint64_t)(secs * 1e9);
			break;
		}
		case 'v':
			verbose = true;
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
	if (app->refill_delay_ns && app->opts.is_master) {
		fprintf(stderr, "error: --refill-delay is for a slave (a master's rings hold the "
				"slave's buffers)\n");
		return EX_EXIT_USAGE;
	}

	int err = ex_loop_init(&app->loop);
	if (err < 0) {
		fprintf(stderr, "error: event loop: %s\n", strerror(-err));
		return EX_EXIT_FAIL;
	}
	app->loop.verbose = verbose;

	memif_socket_args_t sargs;
	ex_if_socket_args(&app->opts, &sargs, ex_loop_memif_fd_update);
	err = memif_create_socket(&app->sock, &sargs, &app->loop);
	if (err != MEMIF_ERR_SUCCESS) {
		fprintf(stderr, "error: socket %s: %s\n", ex_if_socket_name(&app->opts),
			memif_strerror(err));
		rc = EX_EXIT_FAIL;
		goto out_loop;
	}

	app->n_ifaces = n_ifaces;
	for (unsigned i = 0; i < n_ifaces; i++) {
		struct iface *ifc = &app->ifaces[i];
		ifc->app = app;
		ifc->index = i;
		memcpy(ifc->ip, ip, 4);
		ifc->ip[2] = (uint8_t)(ip[2] + i);
		memcpy(ifc->mac, mac, EX_ETH_ALEN);
		ifc->mac[5] = (uint8_t)(mac[5] + i);
		for (unsigned q = 0; q < MAX_QUEUES; q++)
			ifc->rx_mode[q] = app->opts.polling ? MEMIF_RX_MODE_POLLING
							     : MEMIF_RX_MODE_INTERRUPT;
		if (create_iface(app, ifc) < 0) {
			rc = EX_EXIT_FAIL;
			goto out_ifaces;
		}
	}

	if (read_stdin) {
		err = ex_loop_add(&app->loop, STDIN_FILENO, EPOLLIN, on_stdin, app);
		if (err == 0)
			app->stdin_open = true;
		else if (err != -EPERM) /* EPERM: /dev/null or a regular file */
			fprintf(stderr, "note: not reading commands from stdin: %s\n",
				strerror(-err));
	}

	printf(PROG ": %u interface(s), %s, %s mode, %s, socket %s, id %" PRIu32 "%s\n",
	       n_ifaces, ex_role_str(app->opts.is_master), ex_mode_str(app->opts.mode),
	       app->opts.polling ? "polling" : "interrupt", ex_if_socket_name(&app->opts),
	       app->opts.id, n_ifaces > 1 ? " and up" : "");
	if (app->stdin_open)
		printf("type 'help' for commands\n");

	while (!app->loop.stop) {
		err = ex_loop_run_once(&app->loop, loop_timeout(app));
		if (err < 0) {
			fprintf(stderr, "error: epoll: %s\n", strerror(-err));
			rc = EX_EXIT_FAIL;
			break;
		}
		tend_ifaces(app);
		if (!app->polling_queues)
			continue;
		for (unsigned i = 0; i < app->n_ifaces; i++) {
			struct iface *ifc = &app->ifaces[i];
			for (unsigned q = 0; ifc->connected && q < ifc->qs.nrx; q++)
				if (ifc->rx_mode[q] == MEMIF_RX_MODE_POLLING)
					serve_queue(ifc, (uint16_t)q);
		}
	}
	if (app->loop.signal)
		printf("caught signal %d, stopping\n", app->loop.signal);

	for (unsigned i = 0; i < app->n_ifaces; i++) {
		struct iface *ifc = &app->ifaces[i];
		printf("interface %u:\n", i);
		print_counters(ifc);
		if (ifc->conn)
			ex_print_queue_stats(stdout, ifc->conn, ifc->qs.max_rx, ifc->qs.max_tx, "  ");
	}

out_ifaces:
	stop_reading_stdin(app);
	for (unsigned i = 0; i < app->n_ifaces; i++)
		delete_iface(&app->ifaces[i]);
	if (app->sock) {
		err = memif_delete_socket(&app->sock);
		if (err != MEMIF_ERR_SUCCESS) {
			fprintf(stderr, "error: memif_delete_socket: %s\n", memif_strerror(err));
			rc = EX_EXIT_FAIL;
		}
	}
out_loop:
	ex_loop_close(&app->loop);
	return rc;
}
