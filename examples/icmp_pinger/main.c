/* SPDX-License-Identifier: MIT */
/*
 * icmp-pinger - ping over a memif interface.
 *
 * Connects one interface (master or slave), resolves the target with ARP in
 * ethernet mode, sends ICMP echo requests at an interval, prints each reply
 * with its round-trip time, and ends with a summary line such as
 *
 *     5 of 5 ICMP echo replies
 *
 * It exits 0 only if every request was answered (intact) in time. Requests
 * are spread over the transmit queues (request n on queue (n-1) % queues);
 * replies are taken from every receive queue.
 *
 * The pinger also answers ARP and echo requests sent to its own address,
 * like any host would.
 */
#include <errno.h>
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

#define PROG "icmp-pinger"
#define NS_PER_SEC 1000000000.0

struct pinger {
	struct ex_loop loop;
	struct ex_if_opts opts;
	memif_socket_handle_t sock;
	memif_conn_handle_t conn;
	bool connected;
	bool ever_connected;
	struct ex_queues qs;
	bool verbose;

	uint8_t my_ip[4], target_ip[4];
	uint8_t my_mac[EX_ETH_ALEN], target_mac[EX_ETH_ALEN];
	bool arp_done;
	uint64_t arp_first_at; /* first ARP request of this link, or 0 */
	uint16_t ident;

	uint32_t count;
	uint32_t size;           /* ICMP payload bytes */
	uint64_t interval_ns;
	uint64_t timeout_ns;
	uint64_t connect_timeout_ns;
	uint64_t refill_delay_ns; /* slave: offer receive buffers this late */
	uint64_t refill_at;       /* when the delayed refill is due, or 0 */
	struct ex_tx_wait txw;    /* master: the slave's first buffers */

	uint32_t sent;
	uint32_t received;
	uint32_t duplicates;
	uint32_t corrupt;
	uint32_t send_errors;
	uint32_t arp_requests;
	uint64_t *sent_at;       /* per sequence number - 1 */
	bool *answered;
	double rtt_min, rtt_max, rtt_sum;

	memif_buffer_t rx_bufs[EX_BURST];
	struct ex_tx_batch tx;
	uint8_t in[EX_MAX_PACKET];
	uint8_t out[EX_MAX_PACKET];
};

static struct pinger g_pinger;

static void usage(FILE *f, const struct ex_if_opts *defaults)
{
	fprintf(f,
		"Usage: " PROG " [OPTION]...\n"
		"Send ICMP echo requests over a memif interface and report the replies.\n"
		"\n");
	ex_if_opts_usage(f, defaults);
	fprintf(f,
		"\n"
		"ping options:\n"
		"  -c, --count=N           echo requests to send, 1 to 65535 (default 5)\n"
		"  -i, --interval=SEC      seconds between requests, may be fractional (default 1)\n"
		"  -s, --size=BYTES        ICMP payload bytes (default 56)\n"
		"  -W, --timeout=SEC       how long to wait for the ARP reply, and for replies\n"
		"                          after the last request (default 2)\n"
		"      --connect-timeout=SEC  how long to wait for the link (default 10)\n"
		"      --refill-delay=SEC  slave: give the receive ring its buffers only SEC\n"
		"                          after connecting, as VPP's zero-copy slave does late\n"
		"                          (to try a master's start-up; default 0)\n"
		"  -a, --ip=ADDR           own IPv4 address (default 192.168.1.2)\n"
		"  -t, --target=ADDR       address to ping (default 192.168.1.1)\n"
		"      --mac=MAC           own MAC address (default 02:fe:00:00:01:01)\n"
		"  -v, --verbose           report packets that are not replies to us\n"
		"  -h, --help              show this help and exit\n"
		"\n"
		"Prints \"N of M ICMP echo replies\" at the end.\n"
		"Exit status: 0 if every request got its reply, 1 otherwise (or on a runtime\n"
		"failure), 2 on a usage error.\n");
}

static bool is_eth(const struct pinger *p)
{
	return p->opts.mode == MEMIF_INTERFACE_MODE_ETHERNET;
}

/* Send p->out. Returns MEMIF_ERR_SUCCESS or the error (not reported). */
static int send_packet(struct pinger *p, uint16_t qid, size_t len)
{
	ex_tx_init(&p->tx, p->conn, qid, p->qs.buffer_size);
	int err = ex_tx_add(&p->tx, p->out, len);
	if (err == MEMIF_ERR_SUCCESS)
		err = ex_tx_flush(&p->tx);
	if (err == MEMIF_ERR_SUCCESS && p->tx.packets != 1)
		err = p->tx.last_err ? p->tx.last_err : MEMIF_ERR_NOBUF_RING;
	return err;
}

static void send_error(struct pinger *p, const char *what, uint16_t qid, int err)
{
	p->send_errors++;
	fprintf(stderr, "%s on queue %u not sent: %s\n", what, qid, memif_strerror(err));
}

static void send_arp_request(struct pinger *p)
{
	static const uint8_t any_mac[EX_ETH_ALEN];
	size_t len = ex_pkt_build_arp(p->out, sizeof(p->out), EX_ARP_OP_REQUEST, p->my_mac,
				      p->my_ip, any_mac, p->target_ip);
	p->arp_requests++;
	if (!p->arp_first_at)
		p->arp_first_at = ex_now_ns();
	int err = send_packet(p, 0, len);
	if (err != MEMIF_ERR_SUCCESS)
		send_error(p, "ARP request", 0, err);
}

/*
 * Send the next echo request. Returns false if it found no free buffer and
 * should be retried: a master can be connected a moment before its slave
 * has given it receive buffers.
 */
static bool send_echo(struct pinger *p, bool last_try)
{
	uint16_t seq = (uint16_t)(p->sent + 1);
	uint16_t qid = (uint16_t)((seq - 1u) % (p->qs.ntx ? p->qs.ntx : 1));
	size_t len = ex_pkt_build_icmp_echo(p->out, sizeof(p->out), is_eth(p), p->my_mac,
					    p->target_mac, p->my_ip, p->target_ip,
					    EX_ICMP_ECHO_REQUEST, p->ident, seq, p->size);
	p->sent_at[seq - 1] = ex_now_ns();
	int err = send_packet(p, qid, len);
	if (err == MEMIF_ERR_NOBUF_RING && !last_try)
		return false;
	if (err != MEMIF_ERR_SUCCESS)
		send_error(p, "echo request", qid, err);
	p->sent++;
	return true;
}

static void handle_packet(struct pinger *p, uint16_t qid, const uint8_t *pkt, size_t len)
{
	struct ex_pkt_info info;
	char ipbuf[16], macbuf[18];
	uint64_t now = ex_now_ns();

	switch (ex_pkt_parse(pkt, len, is_eth(p), &info)) {
	case EX_PKT_ARP_REPLY:
		if (memcmp(info.src_ip, p->target_ip, 4) != 0 || p->arp_done)
			break;
		memcpy(p->target_mac, info.arp_sha, EX_ETH_ALEN);
		p->arp_done = true;
		printf("ARP reply from %s: %s\n", ex_fmt_ipv4(info.src_ip, ipbuf),
		       ex_fmt_mac(info.arp_sha, macbuf));
		return;

	case EX_PKT_ICMP_ECHO_REPLY: {
		if (info.icmp_id != p->ident || memcmp(info.src_ip, p->target_ip, 4) != 0)
			break;
		uint16_t seq = info.icmp_seq;
		if (seq == 0 || seq > p->sent) {
			fprintf(stderr, "reply with unexpected icmp_seq=%u\n", seq);
			p->corrupt++;
			return;
		}
		if (info.payload_len != p->size ||
		    !ex_pkt_check_pattern(info.payload, info.payload_len, seq)) {
			fprintf(stderr, "corrupt reply icmp_seq=%u (%zu payload bytes)\n", seq,
				info.payload_len);
			p->corrupt++;
			return;
		}
		if (p->answered[seq - 1]) {
			printf("duplicate reply icmp_seq=%u\n", seq);
			p->duplicates++;
			return;
		}
		p->answered[seq - 1] = true;
		p->received++;
		double ms = (double)(now - p->sent_at[seq - 1]) / 1e6;
		if (p->received == 1 || ms < p->rtt_min)
			p->rtt_min = ms;
		if (ms > p->rtt_max)
			p->rtt_max = ms;
		p->rtt_sum += ms;
		printf("%zu bytes from %s: icmp_seq=%u ttl=%u time=%.3f ms\n",
		       info.payload_len + EX_ICMP_HLEN, ex_fmt_ipv4(info.src_ip, ipbuf), seq,
		       info.ttl, ms);
		return;
	}

	case EX_PKT_ARP_REQUEST:
	case EX_PKT_ICMP_ECHO_REQUEST: {
		/* Requests for our own address: answer like a host. */
		size_t out_len = ex_pkt_reply(pkt, len, is_eth(p), p->my_mac, p->my_ip, p->out,
					      sizeof(p->out), NULL);
		if (out_len) {
			uint16_t txq = (uint16_t)(qid % (p->qs.ntx ? p->qs.ntx : 1));
			int err = send_packet(p, txq, out_len);
			if (err != MEMIF_ERR_SUCCESS)
				send_error(p, "reply", txq, err);
			return;
		}
		break;
	}
	default:
		break;
	}
	if (p->verbose)
		fprintf(stderr, "ignored a packet of %zu bytes on queue %u%s%s\n", len, qid,
			info.why ? ": " : "", info.why ? info.why : "");
}

static void serve_queue(struct pinger *p, uint16_t qid)
{
	for (;;) {
		uint16_t rx = 0, pos = 0;
		memif_rx_burst(p->conn, qid, p->rx_bufs, EX_BURST, &rx);
		if (rx == 0)
			return;
		while (pos < rx) {
			ssize_t len = ex_bufs_gather(p->rx_bufs, rx, &pos, p->in, sizeof(p->in));
			if (len < 0) {
				fprintf(stderr, "dropped a truncated or oversized packet\n");
				continue;
			}
			handle_packet(p, qid, p->in, (size_t)len);
		}
		memif_refill_queue(p->conn, qid, rx, 0);
		if (rx < EX_BURST)
			return;
	}
}

static int on_connect(memif_conn_handle_t conn, void *private_ctx)
{
	struct pinger *p = private_ctx;
	struct ex_conn_info ci;

	if (ex_conn_info_get(conn, &ci) != MEMIF_ERR_SUCCESS) {
		memset(&ci, 0, sizeof(ci));
		ci.rx_queues = ci.tx_queues = p->opts.queues;
	}
	ex_queues_update(&p->qs, &ci);
	for (uint16_t q = 0; q < p->qs.nrx; q++) {
		if (!p->refill_delay_ns)
			memif_refill_queue(conn, q, (uint16_t)-1, 0);
		if (p->opts.polling)
			memif_set_rx_mode(conn, MEMIF_RX_MODE_POLLING, q);
	}
	p->refill_at = p->refill_delay_ns ? ex_now_ns() + p->refill_delay_ns : 0;
	p->arp_first_at = 0;
	ex_tx_wait_start(&p->txw, p->opts.is_master);
	p->connected = true;
	p->ever_connected = true;
	printf("connected to \"%s\" (app \"%s\"), %u rx / %u tx queues\n", ci.remote_if_name,
	       ci.remote_app_name, p->qs.nrx, p->qs.ntx);
	return 0;
}

static int on_disconnect(memif_conn_handle_t conn, void *private_ctx)
{
	struct pinger *p = private_ctx;
	(void)conn;
	p->connected = false;
	p->refill_at = 0;
	printf("disconnected\n");
	return 0;
}

static int on_interrupt(memif_conn_handle_t conn, void *private_ctx, uint16_t qid)
{
	struct pinger *p = private_ctx;
	(void)conn;
	if (p->connected)
		serve_queue(p, qid);
	return 0;
}

static int parse_seconds(const char *opt, const char *arg, double max, uint64_t *ns)
{
	double v;
	if (ex_parse_double(arg, 0.0, max, &v) < 0) {
		fprintf(stderr, "error: invalid %s '%s': seconds from 0 to %.0f\n", opt, arg, max);
		return -1;
	}
	*ns = (uint64_t)(v * NS_PER_SEC);
	return 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The loop of one ping run; returns EX_EXIT_*. */
static int run(struct pinger *p)
{
	uint64_t start = ex_now_ns();
	uint64_t connect_deadline = start + p->connect_timeout_ns;
	uint64_t next_arp = 0, next_send = 0, done_deadline = 0, first_try = 0;
	bool was_connected = false;

	while (!p->loop.stop) {
		uint64_t now = ex_now_ns();
		uint64_t wake = now + 1000000000u; /* at least once a second */

		if (p->sent == p->count && (p->received == p->count || now >= done_deadline))
			break;

		if (!p->connected) {
			if (was_connected) {
				/* Lost the link: give the peer the same time to come back. */
				connect_deadline = now + p->connect_timeout_ns;
				was_connected = false;
			}
			if (now >= connect_deadline) {
				fprintf(stderr,
					"error: no connection on %s within %.1f s (is the peer "
					"running, with the other role and the same id, secret "
					"and mode?)\n",
					ex_if_socket_name(&p->opts),
					(double)p->connect_timeout_ns / NS_PER_SEC);
				break;
			}
			wake = min_u64(wake, connect_deadline);
		} else {
			if (!was_connected) {
				was_connected = true;
				next_arp = next_send = now;
			}
			if (is_eth(p) && !p->arp_done) {
				/* From the first request: waiting for the slave's
				 * buffers (at most EX_TX_WAIT_MS) does not count. */
				uint64_t arp_deadline =
					(p->arp_first_at ? p->arp_first_at : now) + p->timeout_ns;
				if (now >= arp_deadline) {
					char ipbuf[16];
					fprintf(stderr, "error: no ARP reply from %s within %.1f s\n",
						ex_fmt_ipv4(p->target_ip, ipbuf),
						(double)p->timeout_ns / NS_PER_SEC);
					break;
				}
				if (now >= next_arp && !ex_tx_wait_ready(&p->txw, p->conn, 0)) {
					/* Connected a moment before the slave gave us
					 * buffers: not an error, look again soon. */
					next_arp = now + 1000000u;
				} else if (now >= next_arp) {
					send_arp_request(p);
					/* Retry at the ping interval, but not faster than 10/s. */
					next_arp = now + (p->interval_ns > 100000000u
								  ? p->interval_ns
								  : 100000000u);
				}
				wake = min_u64(min_u64(wake, next_arp), arp_deadline);
			} else if (p->sent < p->count) {
				uint16_t qid = (uint16_t)(p->sent % (p->qs.ntx ? p->qs.ntx : 1));

				if (now >= next_send && !ex_tx_wait_ready(&p->txw, p->conn, qid)) {
					/* No buffer offered yet: look again in 1 ms. */
					next_send = now + 1000000u;
				} else if (now >= next_send) {
					if (!first_try)
						first_try = now;
					bool last_try = now >= first_try + p->timeout_ns;
					if (send_echo(p, last_try)) {
						first_try = 0;
						next_send = now + p->interval_ns;
						if (p->sent == p->count)
							done_deadline = now + p->timeout_ns;
					} else {
						next_send = now + 1000000u; /* no buffer yet: 1 ms */
					}
				}
				wake = min_u64(wake, next_send);
			}
		}
		if (p->sent == p->count)
			wake = min_u64(wake, done_deadline);
		if (p->refill_at && p->connected) {
			if (now >= p->refill_at) {
				for (uint16_t q = 0; q < p->qs.nrx; q++)
					memif_refill_queue(p->conn, q, (uint16_t)-1, 0);
				p->refill_at = 0;
			} else {
				wake = min_u64(wake, p->refill_at);
			}
		}

		int timeout = p->opts.polling ? 0 : ex_ms_until(wake, 1000);
		int err = ex_loop_run_once(&p->loop, timeout);
		if (err < 0) {
			fprintf(stderr, "error: epoll: %s\n", strerror(-err));
			return EX_EXIT_FAIL;
		}
		if (p->opts.polling && p->connected)
			for (uint16_t q = 0; q < p->qs.nrx; q++)
				serve_queue(p, q);
	}
	if (p->loop.signal)
		printf("caught signal %d, stopping\n", p->loop.signal);

	char ipbuf[16];
	printf("--- %s memif ping statistics ---\n", ex_fmt_ipv4(p->target_ip, ipbuf));
	printf("%" PRIu32 " of %" PRIu32 " ICMP echo replies\n", p->received, p->count);
	if (p->received)
		printf("rtt min/avg/max = %.3f/%.3f/%.3f ms\n", p->rtt_min,
		       p->rtt_sum / p->received, p->rtt_max);
	printf("sent %" PRIu32 " echo requests, %" PRIu32 " ARP requests; %" PRIu32
	       " duplicates, %" PRIu32 " corrupt or unexpected, %" PRIu32 " send errors\n",
	       p->sent, p->arp_requests, p->duplicates, p->corrupt, p->send_errors);
	if (p->ever_connected && p->conn)
		ex_print_queue_stats(stdout, p->conn, p->qs.max_rx, p->qs.max_tx, "");
	return p->received == p->count && p->corrupt == 0 ? EX_EXIT_OK : EX_EXIT_FAIL;
}

enum {
	OPT_MAC = EX_OPT_APP_FIRST,
	OPT_CONNECT_TIMEOUT,
	OPT_REFILL_DELAY
};

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		EX_IF_LONG_OPTS,
		{ "count", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "size", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 'W' },
		{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
		{ "refill-delay", required_argument, NULL, OPT_REFILL_DELAY },
		{ "ip", required_argument, NULL, 'a' },
		{ "target", required_argument, NULL, 't' },
		{ "mac", required_argument, NULL, OPT_MAC },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pinger *p = &g_pinger;
	struct ex_if_opts defaults;
	int opt, rc;

	ex_stdio_init();
	ex_if_opts_init(&p->opts, false, PROG);
	defaults = p->opts;
	p->count = 5;
	p->size = 56;
	p->interval_ns = 1000000000u;
	p->timeout_ns = 2000000000u;
	p->connect_timeout_ns = 10000000000u;
	memcpy(p->my_ip, (uint8_t[]){ 192, 168, 1, 2 }, 4);
	memcpy(p->target_ip, (uint8_t[]){ 192, 168, 1, 1 }, 4);
	memcpy(p->my_mac, (uint8_t[]){ 0x02, 0xfe, 0x00, 0x00, 0x01, 0x01 }, EX_ETH_ALEN);

	while ((opt = getopt_long(argc, argv, EX_IF_SHORT_OPTS "c:i:s:W:a:t:vh", long_opts,
				  NULL)) != -1) {
		int r = ex_if_opt(&p->opts, opt, optarg);
		if (r < 0)
			return EX_EXIT_USAGE;
		if (r > 0)
			continue;
		switch (opt) {
		case 'c':
			if (ex_parse_u32(optarg, 1, 65535, &p->count) < 0) {
				fprintf(stderr, "error: invalid count '%s': 1 to 65535\n", optarg);
				return EX_EXIT_USAGE;
			}
			break;
		case 'i':
			if (parse_seconds("interval", optarg, 3600, &p->interval_ns) < 0)
				return EX_EXIT_USAGE;
			break;
		case 's':
			if (ex_parse_u32(optarg, 0, 65507, &p->size) < 0) {
				fprintf(stderr, "error: invalid size '%s': 0 to 65507\n", optarg);
				return EX_EXIT_USAGE;
			}
			break;
		case 'W':
			if (parse_seconds("timeout", optarg, 3600, &p->timeout_ns) < 0)
				return EX_EXIT_USAGE;
			break;
		case OPT_CONNECT_TIMEOUT:
			if (parse_seconds("connect timeout", optarg, 3600,
					  &p->connect_timeout_ns) < 0)
				return EX_EXIT_USAGE;
			break;
		case OPT_REFILL_DELAY:
			if (parse_seconds("refill delay", optarg, 60, &p->refill_delay_ns) < 0)
				return EX_EXIT_USAGE;
			break;
		case 'a':
		case 't':
			if (ex_parse_ipv4(optarg, opt == 'a' ? p->my_ip : p->target_ip) < 0) {
				fprintf(stderr, "error: invalid IPv4 address '%s'\n", optarg);
				return EX_EXIT_USAGE;
			}
			break;
		case OPT_MAC:
			if (ex_parse_mac(optarg, p->my_mac) < 0) {
				fprintf(stderr, "error: invalid MAC address '%s'\n", optarg);
				return EX_EXIT_USAGE;
			}
			break;
		case 'v':
			p->verbose = true;
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
	if (p->refill_delay_ns && p->opts.is_master) {
		fprintf(stderr, "error: --refill-delay is for a slave (a master's ring holds the "
				"slave's buffers)\n");
		return EX_EXIT_USAGE;
	}
	/* The whole frame must fit the 16-bit size of memif_buffer_alloc. */
	size_t frame = (is_eth(p) ? EX_ETH_HLEN : 0) + EX_IP4_HLEN + EX_ICMP_HLEN + p->size;
	if (frame > UINT16_MAX) {
		fprintf(stderr, "error: size %" PRIu32 " makes a %zu-byte packet; at most %d\n",
			p->size, frame, UINT16_MAX);
		return EX_EXIT_USAGE;
	}

	p->sent_at = calloc(p->count, sizeof(*p->sent_at));
	p->answered = calloc(p->count, sizeof(*p->answered));
	if (!p->sent_at || !p->answered) {
		fprintf(stderr, "error: out of memory\n");
		return EX_EXIT_FAIL;
	}
	p->ident = (uint16_t)getpid();

	int err = ex_loop_init(&p->loop);
	if (err < 0) {
		fprintf(stderr, "error: event loop: %s\n", strerror(-err));
		rc = EX_EXIT_FAIL;
		goto out_free;
	}
	p->loop.verbose = p->verbose;

	memif_socket_args_t sargs;
	ex_if_socket_args(&p->opts, &sargs, ex_loop_memif_fd_update);
	err = memif_create_socket(&p->sock, &sargs, &p->loop);
	if (err != MEMIF_ERR_SUCCESS) {
		fprintf(stderr, "error: socket %s: %s\n", ex_if_socket_name(&p->opts),
			memif_strerror(err));
		rc = EX_EXIT_FAIL;
		goto out_loop;
	}

	memif_conn_args_t args;
	ex_if_conn_args(&p->opts, p->sock, 0, &args);
	err = memif_create(&p->conn, &args, on_connect, on_disconnect, on_interrupt, p);
	if (err != MEMIF_ERR_SUCCESS) {
		fprintf(stderr, "error: interface id %" PRIu32 " on %s: %s\n", p->opts.id,
			ex_if_socket_name(&p->opts), memif_strerror(err));
		p->conn = NULL;
		rc = EX_EXIT_FAIL;
		goto out_socket;
	}

	char ipbuf[16], tbuf[16];
	printf("PING %s from %s over memif (%s, %s mode, %s, socket %s, id %" PRIu32
	       "): %" PRIu32 " data bytes\n",
	       ex_fmt_ipv4(p->target_ip, tbuf), ex_fmt_ipv4(p->my_ip, ipbuf),
	       ex_role_str(p->opts.is_master), ex_mode_str(p->opts.mode),
	       p->opts.polling ? "polling" : "interrupt", ex_if_socket_name(&p->opts), p->opts.id,
	       p->size);

	rc = run(p);

	err = memif_delete(&p->conn);
	if (err != MEMIF_ERR_SUCCESS)
		fprintf(stderr, "error: memif_delete: %s\n", memif_strerror(err));
out_socket:
	err = memif_delete_socket(&p->sock);
	if (err != MEMIF_ERR_SUCCESS)
		fprintf(stderr, "error: memif_delete_socket: %s\n", memif_strerror(err));
out_loop:
	ex_loop_close(&p->loop);
out_free:
	free(p->sent_at);
	free(p->answered);
	return rc;
}
