/* SPDX-License-Identifier: MIT */
/*
 * first_slave.c - a first libmemif program.
 *
 * A memif slave that pings: it connects to the master listening on a Unix
 * socket, sends ICMP echo requests in Ethernet frames to 192.168.1.1 (MAC
 * 02:fe:00:00:00:01, the defaults of the example icmp-responder) and prints
 * each echo reply it receives. It exits 0 when every request got its reply.
 *
 *     icmp-responder --master -S /tmp/memif-first.sock --no-stdin &
 *     ./first_slave /tmp/memif-first.sock 5
 *
 * Usage: first_slave [SOCKET [COUNT]]   (default /tmp/memif-first.sock, 5)
 *
 * It uses the library's own event loop (memif_poll_event), so there is no
 * epoll code here; docs/event-loop.md shows how to use your own loop.
 */
#define _POSIX_C_SOURCE 200809L

#include <libmemif.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Addresses: ours, and the responder's defaults. */
static const uint8_t my_mac[6] = { 0x02, 0xfe, 0x00, 0x00, 0x01, 0x02 };
static const uint8_t peer_mac[6] = { 0x02, 0xfe, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t my_ip[4] = { 192, 168, 1, 2 };
static const uint8_t peer_ip[4] = { 192, 168, 1, 1 };

#define ICMP_ID 0x4d46    /* identifies our echo requests */
#define PAYLOAD 56        /* ICMP data bytes, as ping sends */
#define FRAME_LEN (14 + 20 + 8 + PAYLOAD)

struct app {
	int count;         /* echo requests to send */
	int sent;          /* sent so far */
	int received;      /* good replies so far */
	double sent_at_ms; /* when the last request left */
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The Internet checksum (RFC 1071) of len bytes. */
static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Writes an Ethernet + IPv4 + ICMP echo request with sequence number seq. */
static void build_request(uint8_t *f, uint16_t seq)
{
	uint8_t *ip = f + 14, *icmp = ip + 20;

	memcpy(f, peer_mac, 6); /* Ethernet: destination, source, type IPv4 */
	memcpy(f + 6, my_mac, 6);
	put16(f + 12, 0x0800);

	memset(ip, 0, 20);
	ip[0] = 0x45;                          /* version 4, 20-byte header */
	put16(ip + 2, 20 + 8 + PAYLOAD);       /* total length */
	ip[8] = 64;                            /* TTL */
	ip[9] = 1;                             /* protocol: ICMP */
	memcpy(ip + 12, my_ip, 4);
	memcpy(ip + 16, peer_ip, 4);
	put16(ip + 10, csum(ip, 20));

	icmp[0] = 8; /* echo request, code 0 */
	icmp[1] = 0;
	put16(icmp + 2, 0);
	put16(icmp + 4, ICMP_ID);
	put16(icmp + 6, seq);
	for (int i = 0; i < PAYLOAD; i++)
		icmp[8 + i] = (uint8_t)i;
	put16(icmp + 2, csum(icmp, 8 + PAYLOAD));
}

/* Sends the next echo request on queue 0. */
static void send_request(memif_conn_handle_t conn, struct app *app)
{
	memif_buffer_t buf;
	uint16_t got = 0, sent = 0;
	int err;

	/* Reserve one buffer for one packet of FRAME_LEN bytes... */
	err = memif_buffer_alloc(conn, 0, &buf, 1, &got, FRAME_LEN);
	if (err != MEMIF_ERR_SUCCESS || got != 1) {
		fprintf(stderr, "memif_buffer_alloc: %s\n", memif_strerror(err));
		return;
	}
	/* ...fill it in place (buf.len is already FRAME_LEN)... */
	build_request(buf.data, (uint16_t)(app->sent + 1));
	/* ...and hand it to the peer. */
	err = memif_tx_burst(conn, 0, &buf, got, &sent);
	if (err != MEMIF_ERR_SUCCESS || sent != 1) {
		fprintf(stderr, "memif_tx_burst: %s\n", memif_strerror(err));
		return;
	}
	app->sent++;
	app->sent_at_ms = now_ms();
}

/* Is this frame an intact echo reply to us? Returns its sequence, or -1. */
static int parse_reply(const uint8_t *f, uint32_t len)
{
	const uint8_t *ip = f + 14, *icmp = ip + 20;

	if (len < FRAME_LEN || get16(f + 12) != 0x0800 || memcmp(f, my_mac, 6) != 0)
		return -1;
	if (ip[0] != 0x45 || ip[9] != 1 || memcmp(ip + 16, my_ip, 4) != 0 || csum(ip, 20) != 0)
		return -1;
	if (icmp[0] != 0 || get16(icmp + 4) != ICMP_ID || csum(icmp, 8 + PAYLOAD) != 0)
		return -1;
	return get16(icmp + 6);
}

/* Link up: the queues exist now. */
static int on_connect(memif_conn_handle_t conn, void *ctx)
{
	struct app *app = ctx;
	memif_details_t md;
	char buf[2048];

	if (memif_get_details(conn, &md, buf, sizeof(buf)) == MEMIF_ERR_SUCCESS)
		printf("connected to \"%s\" (app \"%s\")\n", (char *)md.remote_if_name,
		       (char *)md.remote_inst_name);
	/* A slave owns the receive buffers: give them all to the ring first. */
	memif_refill_queue(conn, 0, (uint16_t)-1, 0);
	send_request(conn, app);
	return 0;
}

static int on_disconnect(memif_conn_handle_t conn, void *ctx)
{
	(void)conn;
	(void)ctx;
	printf("disconnected\n");
	return 0;
}

/* Frames wait on receive queue qid. */
static int on_interrupt(memif_conn_handle_t conn, void *ctx, uint16_t qid)
{
	struct app *app = ctx;
	memif_buffer_t bufs[32];
	uint16_t rx = 0;
	int err;

	/* Up to 32 buffers per call: NOBUF says more are waiting, SUCCESS
	 * that the ring is empty now. */
	do {
		err = memif_rx_burst(conn, qid, bufs, 32, &rx);
		for (uint16_t i = 0; i < rx; i++) {
			int seq = parse_reply(bufs[i].data, bufs[i].len);

			if (seq == app->sent) {
				app->received++;
				printf("%u bytes from %u.%u.%u.%u: icmp_seq=%d time=%.3f ms\n",
				       bufs[i].len - 34, peer_ip[0], peer_ip[1], peer_ip[2],
				       peer_ip[3], seq, now_ms() - app->sent_at_ms);
			}
		}
		/* Done with the received buffers: give them back to the ring. */
		memif_refill_queue(conn, qid, rx, 0);
	} while (err == MEMIF_ERR_NOBUF);
	if (app->received == app->sent && app->sent < app->count)
		send_request(conn, app);
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/tmp/memif-first.sock";
	struct app app = { .count = argc > 2 ? atoi(argv[2]) : 5 };
	memif_socket_args_t sargs = { 0 };
	memif_conn_args_t cargs = { 0 };
	memif_socket_handle_t sock = NULL;
	memif_conn_handle_t conn = NULL;
	double deadline;
	int err;

	if (app.count < 1 || strlen(path) >= sizeof(sargs.path)) {
		fprintf(stderr, "usage: first_slave [SOCKET [COUNT]]\n");
		return 2;
	}

	/* The socket: where to connect. No on_control_fd_update: the library
	 * watches its fds itself and we call memif_poll_event below. */
	strcpy(sargs.path, path);
	strcpy(sargs.app_name, "first_slave");
	err = memif_create_socket(&sock, &sargs, NULL);
	if (err != MEMIF_ERR_SUCCESS) {
		fprintf(stderr, "memif_create_socket: %s\n", memif_strerror(err));
		return 1;
	}

	/* The interface: a slave with id 0, ethernet mode, one queue each way.
	 * It tries to connect now, and again every 2 s until a master answers. */
	cargs.socket = sock;
	cargs.is_master = 0;
	cargs.interface_id = 0;
	cargs.mode = MEMIF_INTERFACE_MODE_ETHERNET;
	strcpy((char *)cargs.interface_name, "first0");
	err = memif_create(&conn, &cargs, on_connect, on_disconnect, on_interrupt, &app);
	if (err != MEMIF_ERR_SUCCESS) {
		fprintf(stderr, "memif_create: %s\n", memif_strerror(err));
		memif_delete_socket(&sock);
		return 1;
	}

	/* Run the callbacks for up to 10 s, or until every reply is in. */
	printf("connecting to %s\n", path);
	deadline = now_ms() + 10000;
	while (app.received < app.count && now_ms() < deadline) {
		err = memif_poll_event(sock, 100);
		if (err != MEMIF_ERR_SUCCESS) {
			fprintf(stderr, "memif_poll_event: %s\n", memif_strerror(err));
			break;
		}
	}
	printf("%d of %d echo replies\n", app.received, app.count);

	memif_delete(&conn); /* on_disconnect runs if the link is up or never came up */
	memif_delete_socket(&sock);
	return app.received == app.count ? 0 : 1;
}
