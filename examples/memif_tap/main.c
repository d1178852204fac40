/* SPDX-License-Identifier: MIT */
/*
 * memif-tap - bridge a memif interface and a Linux TAP device.
 *
 * Every frame received on the memif interface is written to the TAP
 * device, and every frame the kernel sends out of the TAP device goes out
 * on the memif interface (transmit queue 0); as a master, frames that come
 * before the slave has offered any buffer are kept and sent once it has
 * (common/bufs.h). Both the memif fds and the TAP
 * fd live in the same epoll loop. In ip mode a TUN device carries bare IPv4
 * packets instead.
 *
 * The device is created when the program starts and disappears when it
 * exits. Configure it with ip(8) as any other link, or pass --up:
 *
 *     memif-tap --slave -S /run/vpp/memif.sock --tap mtap0 --up &
 *     ip addr add 192.168.1.2/24 dev mtap0
 *     ping 192.168.1.1
 *
 * Needs CAP_NET_ADMIN and /dev/net/tun.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmemif.h>

#include "args.h"
#include "bufs.h"
#include "loop.h"
#include "packet.h"

#define PROG "memif-tap"
/* Frames read from the TAP device per wakeup before going back to epoll. */
#define TAP_BATCH 64
/* Receive bursts per queue per call. */
#define MAX_ROUNDS 16

struct tap_app {
	struct ex_loop loop;
	struct ex_if_opts opts;
	memif_socket_handle_t sock;
	memif_conn_handle_t conn;
	bool connected;
	struct ex_queues qs;
	int tap_fd;
	char tap_name[IFNAMSIZ];

	uint64_t memif_rx;      /* frames received on memif */
	uint64_t tap_tx;        /* ... and written to the device */
	uint64_t tap_tx_errors; /* ... and refused by it (device down, bad packet) */
	uint64_t memif_bad;     /* truncated or oversized memif packets */
	uint64_t tap_rx;        /* frames read from the device */
	uint64_t memif_tx;      /* ... and sent on memif */
	uint64_t memif_down;    /* ... dropped: memif not connected */
	uint64_t memif_tx_drops; /* ... dropped: ring full or error */
	struct ex_tx_wait txw;   /* master: frames waiting for the slave's first buffers */

	memif_buffer_t rx_bufs[EX_BURST];
	struct ex_tx_batch tx;
	uint8_t frame[EX_MAX_PACKET];
};

static struct tap_app g_app;

static void usage(FILE *f, const struct ex_if_opts *defaults)
{
	fprintf(f,
		"Usage: " PROG " [OPTION]...\n"
		"Bridge a memif interface and a Linux TAP device (TUN in ip mode).\n"
		"\n");
	ex_if_opts_usage(f, defaults);
	fprintf(f,
		"\n"
		"TAP options:\n"
		"  -t, --tap=NAME          device name; %%d picks a free number (default mtap%%d)\n"
		"      --up                bring the device up (it has no address: add one with ip)\n"
		"  -v, --verbose           report library errors from the event loop\n"
		"  -h, --help              show this help and exit\n"
		"\n"
		"Needs CAP_NET_ADMIN and /dev/net/tun. Runs until SIGINT or SIGTERM, then\n"
		"prints its counters. Exit status: 0 after a clean stop, 1 on a runtime\n"
		"failure, 2 on a usage error.\n");
}

/* Device names are at most IFNAMSIZ - 1 bytes; `dst` is zeroed beyond. */
static void copy_ifname(char dst[IFNAMSIZ], const char *name)
{
	memset(dst, 0, IFNAMSIZ);
	memcpy(dst, name, strnlen(name, IFNAMSIZ - 1));
}

static int open_tap(struct tap_app *app, const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		fprintf(stderr, "error: cannot open /dev/net/tun: %s%s\n", strerror(e),
			e == ENOENT ? " (is the tun module loaded?)" : "");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (short)((app->opts.mode == MEMIF_INTERFACE_MODE_IP ? IFF_TUN : IFF_TAP) |
				IFF_NO_PI);
	copy_ifname(ifr.ifr_name, name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		fprintf(stderr, "error: cannot create device '%s': %s%s\n", name, strerror(e),
			e == EPERM ? " (needs CAP_NET_ADMIN: run as root)" : "");
		close(fd);
		return -1;
	}
	copy_ifname(app->tap_name, ifr.ifr_name);
	app->tap_fd = fd;
	return 0;
}

static int set_up(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		fprintf(stderr, "error: socket: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	copy_ifname(ifr.ifr_name, name);
	int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (rc < 0)
		fprintf(stderr, "error: cannot bring %s up: %s\n", name, strerror(errno));
	close(s);
	return rc;
}

/* memif -> TAP */
static void serve_queue(struct tap_app *app, uint16_t qid)
{
	for (int round = 0; round < MAX_ROUNDS; round++) {
		uint16_t rx = 0, pos = 0;
		memif_rx_burst(app->conn, qid, app->rx_bufs, EX_BURST, &rx);
		if (rx == 0)
			return;
		while (pos < rx) {
			ssize_t len = ex_bufs_gather(app->rx_bufs, rx, &pos, app->frame,
						     sizeof(app->frame));
			app->memif_rx++;
			if (len < 0) {
				app->memif_bad++;
				continue;
			}
			if (write(app->tap_fd, app->frame, (size_t)len) == len)
				app->tap_tx++;
			else
				app->tap_tx_errors++;
		}
		memif_refill_queue(app->conn, qid, rx, 0);
		if (rx < EX_BURST)
			return;
	}
}

/* TAP -> memif */
static void on_tap(struct ex_loop *loop, int fd, uint32_t events, void *arg)
{
	struct tap_app *app = arg;

	if (events & (EPOLLERR | EPOLLHUP)) {
		fprintf(stderr, "error: %s: device error\n", app->tap_name);
		ex_loop_stop(loop);
		return;
	}
	bool wait = app->connected && !ex_tx_wait_ready(&app->txw, app->conn, 0);
	if (app->connected)
		ex_tx_init(&app->tx, app->conn, 0, app->qs.buffer_size);
	for (int i = 0; i < TAP_BATCH; i++) {
		ssize_t n = read(fd, app->frame, sizeof(app->frame));
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "error: read %s: %s\n", app->tap_name,
					strerror(errno));
				ex_loop_stop(loop);
			}
			break;
		}
		if (n == 0)
			break;
		app->tap_rx++;
		if (!app->connected) {
			app->memif_down++;
			continue;
		}
		if (wait) {
			/* The slave has not offered buffers yet: keep the frame. */
			if (!ex_tx_wait_hold(&app->txw, 0, app->frame, (size_t)n))
				app->memif_tx_drops++;
			continue;
		}
		ex_tx_add(&app->tx, app->frame, (size_t)n);
	}
	if (app->connected) {
		ex_tx_flush(&app->tx);
		app->memif_tx += app->tx.packets;
		app->memif_tx_drops += app->tx.no_buf + app->tx.errors;
	}
}

static int on_connect(memif_conn_handle_t conn, void *private_ctx)
{
	struct tap_app *app = private_ctx;
	struct ex_conn_info ci;

	if (ex_conn_info_get(conn, &ci) != MEMIF_ERR_SUCCESS) {
		memset(&ci, 0, sizeof(ci));
		ci.rx_queues = ci.tx_queues = app->opts.queues;
	}
	ex_queues_update(&app->qs, &ci);
	for (uint16_t q = 0; q < app->qs.nrx; q++) {
		memif_refill_queue(conn, q, (uint16_t)-1, 0);
		if (app->opts.polling)
			memif_set_rx_mode(conn, MEMIF_RX_MODE_POLLING, q);
	}
	ex_tx_wait_start(&app->txw, app->opts.is_master);
	app->connected = true;
	printf("memif connected to \"%s\" (app \"%s\"), bridging with %s\n", ci.remote_if_name,
	       ci.remote_app_name, app->tap_name);
	return 0;
}

static int on_disconnect(memif_conn_handle_t conn, void *private_ctx)
{
	struct tap_app *app = private_ctx;
	(void)conn;
	app->connected = false;
	app->memif_tx_drops += ex_tx_wait_drop(&app->txw);
	printf("memif disconnected\n");
	return 0;
}

static int on_interrupt(memif_conn_handle_t conn, void *private_ctx, uint16_t qid)
{
	struct tap_app *app = private_ctx;
	(void)conn;
	if (app->connected)
		serve_queue(app, qid);
	return 0;
}

enum { OPT_UP = EX_OPT_APP_FIRST };

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		EX_IF_LONG_OPTS,
		{ "tap", required_argument, NULL, 't' },
		{ "up", no_argument, NULL, OPT_UP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tap_app *app = &g_app;
	struct ex_if_opts defaults;
	const char *tap_name = "mtap%d";
	bool up = false, verbose = false;
	int opt, rc = EX_EXIT_OK;

	ex_stdio_init();
	ex_if_opts_init(&app->opts, false, PROG);
	defaults = app->opts;
	app->tap_fd = -1;

	while ((opt = getopt_long(argc, argv, EX_IF_SHORT_OPTS "t:vh", long_opts, NULL)) != -1) {
		int r = ex_if_opt(&app->opts, opt, optarg);
		if (r < 0)
			return EX_EXIT_USAGE;
		if (r > 0)
			continue;
		switch (opt) {
		case 't':
			if (strlen(optarg) == 0 || strlen(optarg) >= IFNAMSIZ) {
				fprintf(stderr, "error: invalid device name '%s': 1 to %d bytes\n",
					optarg, IFNAMSIZ - 1);
				return EX_EXIT_USAGE;
			}
			tap_name = optarg;
			break;
		case OPT_UP:
			up = true;
			break;
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

	int err = ex_loop_init(&app->loop);
	if (err < 0) {
		fprintf(stderr, "error: event loop: %s\n", strerror(-err));
		return EX_EXIT_FAIL;
	}
	app->loop.verbose = verbose;

	if (open_tap(app, tap_name) < 0) {
		rc = EX_EXIT_FAIL;
		goto out_loop;
	}
	if (up && set_up(app->tap_name) < 0) {
		rc = EX_EXIT_FAIL;
		goto out_tap;
	}
	err = ex_loop_add(&app->loop, app->tap_fd, EPOLLIN, on_tap, app);
	if (err < 0) {
		fprintf(stderr, "error: epoll %s: %s\n", app->tap_name, strerror(-err));
		rc = EX_EXIT_FAIL;
		goto out_tap;
	}

	memif_socket_args_t sargs;
	ex_if_socket_args(&app->opts, &sargs, ex_loop_memif_fd_update);
	err = memif_create_socket(&app->sock, &sargs, &app->loop);
	if (err != MEMIF_ERR_SUCCESS) {
		fprintf(stderr, "error: socket %s: %s\n", ex_if_socket_name(&app->opts),
			memif_strerror(err));
		rc = EX_EXIT_FAIL;
		goto out_tap;
	}
	memif_conn_args_t args;
	ex_if_conn_args(&app->opts, app->sock, 0, &args);
	err = memif_create(&app->conn, &args, on_connect, on_disconnect, on_interrupt, app);
	if (err != MEMIF_ERR_SUCCESS) {
		fprintf(stderr, "error: interface id %" PRIu32 " on %s: %s\n", app->opts.id,
			ex_if_socket_name(&app->opts), memif_strerror(err));
		app->conn = NULL;
		rc = EX_EXIT_FAIL;
		goto out_socket;
	}

	printf(PROG ": device %s <-> memif (%s, %s mode, %s, socket %s, id %" PRIu32 ")\n",
	       app->tap_name, ex_role_str(app->opts.is_master), ex_mode_str(app->opts.mode),
	       app->opts.polling ? "polling" : "interrupt", ex_if_socket_name(&app->opts),
	       app->opts.id);

	while (!app->loop.stop) {
		bool poll_now = app->opts.polling && app->connected;
		err = ex_loop_run_once(&app->loop, poll_now ? 0 : ex_tx_wait_timeout_ms(&app->txw));
		if (err < 0) {
			fprintf(stderr, "error: epoll: %s\n", strerror(-err));
			rc = EX_EXIT_FAIL;
			break;
		}
		if (app->connected && app->txw.n)
			ex_tx_wait_flush(&app->txw, app->conn, app->qs.buffer_size, &app->memif_tx,
					 &app->memif_tx_drops);
		if (app->opts.polling && app->connected)
			for (uint16_t q = 0; q < app->qs.nrx; q++)
				serve_queue(app, q);
	}
	if (app->loop.signal)
		printf("caught signal %d, stopping\n", app->loop.signal);

	printf("memif -> %s: %" PRIu64 " frames received, %" PRIu64 " written, %" PRIu64
	       " refused by the device, %" PRIu64 " bad\n",
	       app->tap_name, app->memif_rx, app->tap_tx, app->tap_tx_errors, app->memif_bad);
	printf("%s -> memif: %" PRIu64 " frames read, %" PRIu64 " sent, %" PRIu64
	       " dropped while memif was down, %" PRIu64 " dropped (ring full or error)\n",
	       app->tap_name, app->tap_rx, app->memif_tx, app->memif_down, app->memif_tx_drops);
	ex_print_queue_stats(stdout, app->conn, app->qs.max_rx, app->qs.max_tx, "");

	err = memif_delete(&app->conn);
	if (err != MEMIF_ERR_SUCCESS)
		fprintf(stderr, "error: memif_delete: %s\n", memif_strerror(err));
out_socket:
	err = memif_delete_socket(&app->sock);
	if (err != MEMIF_ERR_SUCCESS)
		fprintf(stderr, "error: memif_delete_socket: %s\n", memif_strerror(err));
out_tap:
	if (app->tap_fd >= 0) {
		ex_loop_del(&app->loop, app->tap_fd);
		close(app->tap_fd);
		app->tap_fd = -1;
	}
out_loop:
	ex_loop_close(&app->loop);
	return rc;
}
