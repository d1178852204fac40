/* SPDX-License-Identifier: MIT */
/*
 * fuzz_msg.c - libFuzzer target for the control channel: the message
 * decoder (memif__msg_decode) and the connection state machine of both
 * roles, through the real sockets and the library's own event loop.
 *
 * Every input builds a fresh interface (master or slave, see the format in
 * fuzz_common.h) on a socket in self-poll mode, connects a raw SEQPACKET
 * channel to it, and plays the peer: each record becomes one datagram
 * (with memfds or eventfds when asked), or a hang-up, or a data-path
 * round once the link is up; after each, memif_poll_event(sock, 0) lets the
 * library react and the harness drains what it answered. The input ends
 * with memif_delete and memif_delete_socket.
 *
 * Oracles, besides ASan/UBSan/LSan: the decoder accepts only 128-byte
 * datagrams of a known type with the right fd count; callbacks alternate
 * (no on_disconnect without on_connect, except the one memif_delete runs
 * for an interface that never came up: exactly one on_disconnect per link,
 * or one in all when there was none); the link state agrees with the
 * details; every buffer handed out lies inside the interface's regions;
 * and after each input no socket, eventfd, timerfd, epoll or memfd is left
 * open and, every 64 inputs, no memfd is left mapped.
 *
 * Deterministic: no timer fires (the retry timer is an hour), nothing
 * waits (every poll has timeout 0), names carry the pid (fork/jobs mode).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "msg.h"
#include "private.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SHM_LOG 7 /* memfds of 4096 << 0..7 bytes */
#define SHM_MAX (4096u << MAX_SHM_LOG)

struct harness {
	memif_socket_handle_t sock;
	memif_conn_handle_t conn;
	bool lib_slave;
	int chan;   /* the harness's end of the control channel */
	int old[4]; /* earlier channels kept open (FZ_HANGUP with arg & 2) */
	bool up;
	bool deleting; /* inside memif_delete */
	unsigned n_connect, n_disconnect;
};

static int peer_listen_fd = -1; /* the library's slave connects here */
static char peer_path[108];     /* "@memif-fuzz-<pid>-peer" */
static char lib_path[108];      /* "@memif-fuzz-<pid>-lib": the library's master */
static int fd_base = -1;
static unsigned long runs;
static uint32_t cookie_fill[SHM_MAX / 4];

/* ---- raw sockets ------------------------------------------------------------ */

static socklen_t abstract_addr(struct sockaddr_un *sa, const char *path)
{
	size_t n = strlen(path + 1);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path + 1, path + 1, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static int raw_socket(void)
{
	return socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sa;
	socklen_t len = abstract_addr(&sa, path);
	int fd = raw_socket();

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, len) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int raw_accept(void)
{
	return accept4(peer_listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

static void raw_send(int fd, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (fd < 0)
		return;
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)nfds);
	}
	/* EPIPE/ECONNRESET once the library hung up, EAGAIN if it stopped
	 * reading: both are the library's business, not the harness's. */
	(void)sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Read and drop everything the library sent, closing every fd it carried. */
static void raw_drain(int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;
	uint8_t buf[512];
	int i;

	if (fd < 0)
		return;
	for (i = 0; i < 64; i++) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		struct cmsghdr *cmsg;
		ssize_t n;

		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0)
			return;
		for (cmsg = CMSG_FIRSTHDR(&mh); cmsg; cmsg = CMSG_NXTHDR(&mh, cmsg)) {
			size_t k, cnt;

			if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
				continue;
			cnt = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (k = 0; k < cnt; k++) {
				int rfd;

				memcpy(&rfd, CMSG_DATA(cmsg) + k * sizeof(int), sizeof(int));
				close(rfd);
			}
		}
		if (n == 0)
			return; /* end of stream */
		/* What the library sends must itself be a valid message. */
		FZ_CHECK(n == MEMIF_MSG_SIZE, "the library sent a datagram of %zd bytes", n);
		if (fz_trace_on()) {
			memif_msg_t m;

			memcpy(&m, buf, sizeof(m));
			if (m.type == MEMIF_MSG_TYPE_DISCONNECT)
				FZ_TRACE("library sent DISCONNECT %u \"%.96s\"", m.disconnect.code,
					 (const char *)m.disconnect.string);
			else
				FZ_TRACE("library sent type %u", m.type);
		}
	}
}

static int make_memfd(uint32_t size, bool seal)
{
	int fd = memfd_create("fuzz region", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, size) < 0 || pwrite(fd, cookie_fill, size, 0) != (ssize_t)size ||
	    (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- the library side --------------------------------------------------------- */

static int on_connect(memif_conn_handle_t conn, void *ctx)
{
	struct harness *h = ctx;

	FZ_CHECK(conn == h->conn || h->conn == NULL, "on_connect: foreign handle");
	FZ_CHECK(!h->up, "on_connect twice without on_disconnect");
	h->up = true;
	h->n_connect++;
	FZ_TRACE("on_connect");
	return 0;
}

static int on_disconnect(memif_conn_handle_t conn, void *ctx)
{
	struct harness *h = ctx;

	(void)conn;
	/* memif_delete of an interface that never came up runs it too (as
	 * upstream, so programs free per-interface state there). */
	FZ_CHECK(h->up || (h->deleting && h->n_connect == 0),
		 "on_disconnect without on_connect");
	h->up = false;
	h->n_disconnect++;
	FZ_TRACE("on_disconnect");
	return 0;
}

static int on_interrupt(memif_conn_handle_t conn, void *ctx, uint16_t qid)
{
	(void)conn;
	(void)ctx;
	(void)qid;
	return 0;
}

static void lib_run(struct harness *h)
{
	int i, rc;

	for (i = 0; i < 2; i++) {
		rc = memif_poll_event(h->sock, 0);
		FZ_CHECK(rc != MEMIF_ERR_POLL_CANCEL,
			 "memif_poll_event cancelled without a cancel");
	}
	raw_drain(h->chan);
	for (i = 0; i < 4; i++)
		raw_drain(h->old[i]);
}

static void lib_start(struct harness *h, uint8_t cfg)
{
	memif_socket_args_t sa;
	memif_conn_args_t ca;
	int rc;

	memset(&sa, 0, sizeof(sa));
	h->lib_slave = cfg & FZ_CFG_SLAVE;
	snprintf(sa.path, sizeof(sa.path), "%s", h->lib_slave ? peer_path : lib_path);
	snprintf(sa.app_name, sizeof(sa.app_name), "fuzz-lib");
	sa.connection_request_timer.it_value.tv_sec = 3600; /* never fires */
	sa.connection_request_timer.it_interval.tv_sec = 3600;
	rc = memif_create_socket(&h->sock, &sa, NULL);
	FZ_CHECK(rc == MEMIF_ERR_SUCCESS, "memif_create_socket: %s", memif_strerror(rc));

	memset(&ca, 0, sizeof(ca));
	ca.socket = h->sock;
	ca.is_master = !h->lib_slave;
	ca.interface_id = FZ_LIB_ID;
	ca.num_s2m_rings = (uint8_t)(((cfg >> 1) & 3) + 1);
	ca.num_m2s_rings = (uint8_t)(((cfg >> 3) & 3) + 1);
	ca.log2_ring_size = (cfg & FZ_CFG_BIG_RING) ? 10 : FZ_LOG2_SMALL;
	ca.mode = (cfg & FZ_CFG_MODE_IP) ? MEMIF_INTERFACE_MODE_IP : MEMIF_INTERFACE_MODE_ETHERNET;
	if (cfg & FZ_CFG_SECRET)
		memcpy(ca.secret, FZ_SECRET, strlen(FZ_SECRET));
	snprintf((char *)ca.interface_name, sizeof(ca.interface_name), "fuzz-if");
	rc = memif_create(&h->conn, &ca, on_connect, on_disconnect, on_interrupt, h);
	FZ_CHECK(rc == MEMIF_ERR_SUCCESS, "memif_create: %s", memif_strerror(rc));
}

/* Open the harness's end of a new control channel. */
static void chan_open(struct harness *h)
{
	if (h->lib_slave) {
		/* memif_create connected already (chan -2); later, ask again. */
		if (h->chan != -2)
			(void)memif_request_connection(h->conn);
		h->chan = raw_accept();
	} else {
		h->chan = raw_connect(lib_path);
	}
	lib_run(h); /* the master accepts and greets; a slave waits for HELLO */
}

static void chan_close(struct harness *h)
{
	if (h->chan >= 0)
		close(h->chan);
	h->chan = -1;
}

/* ---- the records --------------------------------------------------------------- */

struct cursor {
	const uint8_t *p;
	size_t left;
};

/* Copy the next n bytes into out, zero-padding past the end of the input. */
static void take(struct cursor *c, void *out, size_t n)
{
	size_t k = n < c->left ? n : c->left;

	memcpy(out, c->p, k);
	memset((uint8_t *)out + k, 0, n - k);
	c->p += k;
	c->left -= k;
}

/* The decoder on its own: only what the protocol allows may pass. */
static void check_decode(const void *buf, size_t len, int nfds)
{
	memif_msg_t m;
	int type = memif__msg_decode(buf, len, nfds, &m);

	if (type < 0)
		return;
	FZ_CHECK(len == MEMIF_MSG_SIZE, "decode accepted %zu bytes", len);
	FZ_CHECK(type >= MEMIF_MSG_TYPE_ACK && type <= MEMIF_MSG_TYPE_DISCONNECT,
		 "decode accepted type %d", type);
	FZ_CHECK(type == m.type, "decode returned %d for type %u", type, m.type);
	if (type == MEMIF_MSG_TYPE_ADD_REGION || type == MEMIF_MSG_TYPE_ADD_RING)
		FZ_CHECK(nfds == 1, "decode accepted type %d with %d fds", type, nfds);
	else
		FZ_CHECK(nfds == 0, "decode accepted type %d with %d fds", type, nfds);
	if (type == MEMIF_MSG_TYPE_ADD_RING) {
		FZ_CHECK(m.add_ring.private_hdr_size == 0, "decode accepted a private header");
		FZ_CHECK(m.add_ring.log2_ring_size <= 14, "decode accepted log2 %u",
			 m.add_ring.log2_ring_size);
	}
	if (type == MEMIF_MSG_TYPE_ADD_REGION)
		FZ_CHECK(m.add_region.size != 0, "decode accepted an empty region");
}

static void send_msg(struct harness *h, const uint8_t *buf, size_t len, const int *fds, int nfds)
{
	int i;

	check_decode(buf, len, nfds);
	FZ_TRACE("send %zu bytes, type %u, %d fds", len, len >= 2 ? buf[0] | buf[1] << 8 : 0, nfds);
	raw_send(h->chan, buf, len, fds, nfds);
	for (i = 0; i < nfds; i++)
		close(fds[i]); /* the library got its own copies */
}

static void data_round(struct harness *h, unsigned arg)
{
	struct fz_regions rg;
	uint16_t size = (uint16_t)(64u << (arg & 3));
	unsigned q;

	if (!h->up || !fz_regions_load(h->conn, &rg))
		return;
	for (q = 0; q < rg.rxq; q++) {
		memif_buffer_t *b = malloc(sizeof(*b) * 32);
		uint16_t n = 0;
		int rc;

		FZ_CHECK(b != NULL, "out of memory");
		(void)memif_refill_queue(h->conn, (uint16_t)q, 0xffff, 0);
		rc = memif_rx_burst(h->conn, (uint16_t)q, b, 32, &n);
		FZ_TRACE("rx queue %u: rx_burst %d, %u buffers", q, rc, n);
		FZ_CHECK(n <= 32, "rx_burst returned %u buffers for 32", n);
		fz_check_bufs(&rg, b, n, false, "rx_burst");
		(void)memif_refill_queue(h->conn, (uint16_t)q, n, 0);
		free(b);
	}
	for (q = 0; q < rg.txq; q++) {
		/* 8 packets of at most one default buffer: 3 buffers each on a
		 * master, whose buffers are the peer's (memif_buffer_alloc). */
		size_t room = h->lib_slave ? 8 : 8 * 3;
		memif_buffer_t *b = malloc(sizeof(*b) * room);
		uint16_t n = 0, tx = 0;
		int rc;

		FZ_CHECK(b != NULL, "out of memory");
		rc = memif_buffer_alloc(h->conn, (uint16_t)q, b, 8, &n, size);
		FZ_TRACE("tx queue %u: buffer_alloc %d, %u buffers", q, rc, n);
		FZ_CHECK(n <= room, "buffer_alloc returned %u buffers for 8 packets", n);
		fz_check_bufs(&rg, b, n, true, "buffer_alloc");
		rc = memif_tx_burst(h->conn, (uint16_t)q, b, n, &tx);
		FZ_TRACE("tx queue %u: tx_burst %d, %u buffers", q, rc, tx);
		FZ_CHECK(tx <= n, "tx_burst sent %u of %u buffers", tx, n);
		free(b);
	}
}

static void ctrl(struct harness *h, unsigned arg)
{
	static char buf[16384];
	memif_details_t md;
	uint16_t qid = (uint16_t)((arg >> 2) & 3);
	int rc;

	if (arg & 16) /* what the socket timer does: act on data-path faults */
		memif__conn_check_faults(h->conn);
	switch (arg & 3) {
	case 0:
	case 1:
		/* Allowed while down too (kept for the next link), for the
		 * queues configured; QID beyond them. */
		rc = memif_set_rx_mode(
			h->conn, (arg & 3) ? MEMIF_RX_MODE_INTERRUPT : MEMIF_RX_MODE_POLLING, qid);
		FZ_CHECK(rc == MEMIF_ERR_SUCCESS || rc == MEMIF_ERR_QID, "set_rx_mode: %s",
			 memif_strerror(rc));
		break;
	case 2:
		memset(&md, 0, sizeof(md));
		rc = memif_get_details(h->conn, &md, buf, sizeof(buf));
		FZ_CHECK(rc == MEMIF_ERR_SUCCESS, "memif_get_details: %s", memif_strerror(rc));
		FZ_CHECK(md.link_up_down == h->up, "details say link %u, callbacks say %u",
			 md.link_up_down, h->up);
		break;
	default: {
		/* Exactly the room for 4 descriptors: ASan checks the copy. */
		memif_ring_details_t *rd = malloc(sizeof(*rd) + 4 * sizeof(rd->descs[0]));

		FZ_CHECK(rd != NULL, "out of memory");
		rc = memif_get_rx_ring_details(h->conn, rd, qid, 4);
		FZ_CHECK(h->up || rc != MEMIF_ERR_SUCCESS, "ring details while down");
		rc = memif_get_tx_ring_details(h->conn, rd, qid, 4);
		FZ_CHECK(h->up || rc != MEMIF_ERR_SUCCESS, "ring details while down");
		free(rd);
		break;
	}
	}
}

static void record(struct harness *h, struct cursor *c)
{
	uint8_t op, buf[256];
	unsigned kind, arg;
	int fds[4], nfds = 0, i;
	size_t len = MEMIF_MSG_SIZE;

	take(c, &op, 1);
	kind = op & 7;
	arg = op >> 3;
	switch (kind) {
	case FZ_MSG:
		take(c, buf, len);
		break;
	case FZ_MSG_SHM:
		take(c, buf, len);
		fds[nfds] = make_memfd(4096u << (arg & 7), !(arg & 8));
		nfds += fds[nfds] >= 0;
		break;
	case FZ_MSG_EFD:
		take(c, buf, len);
		fds[nfds] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		nfds += fds[nfds] >= 0;
		break;
	case FZ_MSG_RAW: {
		uint8_t l;

		take(c, &l, 1);
		len = l;
		take(c, buf, len);
		for (i = 0; i < (int)(arg & 3); i++) {
			fds[nfds] = make_memfd(4096, true);
			nfds += fds[nfds] >= 0;
		}
		break;
	}
	case FZ_MSG_2FD:
		take(c, buf, len);
		fds[nfds] = make_memfd(4096u << (arg & 7), true);
		nfds += fds[nfds] >= 0;
		fds[nfds] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		nfds += fds[nfds] >= 0;
		break;
	case FZ_DATA:
		data_round(h, arg);
		return;
	case FZ_HANGUP:
		if (arg & 2) {
			/* A second peer while the first stays: same id twice. */
			FZ_TRACE("keep the channel, open another");
			for (i = 0; i < 4 && h->old[i] >= 0; i++)
				;
			if (i < 4 && h->chan >= 0) {
				h->old[i] = h->chan;
				h->chan = -1;
				chan_open(h);
			}
			return;
		}
		FZ_TRACE("hang up%s", (arg & 1) ? " and reconnect" : "");
		chan_close(h);
		lib_run(h);
		/* Unless the link is on a channel kept open earlier. */
		FZ_CHECK(!h->up || h->old[0] >= 0, "the link stayed up after the peer hung up");
		if (arg & 1)
			chan_open(h);
		return;
	default:
		FZ_TRACE("control %u", arg);
		ctrl(h, arg);
		return;
	}
	send_msg(h, buf, len, fds, nfds);
	lib_run(h);
}

/* ---- libFuzzer entry points ------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un sa;
	socklen_t len;
	size_t i;

	(void)argc;
	(void)argv;
	for (i = 0; i < SHM_MAX / 4; i++)
		cookie_fill[i] = MEMIF_COOKIE;
	snprintf(peer_path, sizeof(peer_path), "@memif-fuzz-%d-peer", (int)getpid());
	snprintf(lib_path, sizeof(lib_path), "@memif-fuzz-%d-lib", (int)getpid());
	len = abstract_addr(&sa, peer_path);
	peer_listen_fd = raw_socket();
	if (peer_listen_fd < 0 || bind(peer_listen_fd, (struct sockaddr *)&sa, len) < 0 ||
	    listen(peer_listen_fd, 16) < 0) {
		perror("fuzz_msg: cannot listen");
		exit(1);
	}
	fd_base = fz_lib_fds(false);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness h = { .chan = -2, .old = { -1, -1, -1, -1 } };
	struct cursor c = { data, size };
	uint8_t cfg = 0;
	int fd, maps;

	/* The decoder alone, on the raw input, with 0..2 fds. */
	check_decode(data, size, size ? data[size - 1] % 3 : 0);

	take(&c, &cfg, 1);
	lib_start(&h, cfg);
	chan_open(&h);
	while (c.left > 0)
		record(&h, &c);

	h.deleting = true;
	FZ_CHECK(memif_delete(&h.conn) == MEMIF_ERR_SUCCESS && h.conn == NULL, "memif_delete");
	h.deleting = false;
	FZ_CHECK(!h.up, "memif_delete left the link up");
	FZ_CHECK(h.n_disconnect == (h.n_connect ? h.n_connect : 1u),
		 "%u on_disconnect for %u on_connect", h.n_disconnect, h.n_connect);
	raw_drain(h.chan);
	chan_close(&h);
	for (fd = 0; fd < 4; fd++)
		if (h.old[fd] >= 0)
			close(h.old[fd]);
	FZ_CHECK(memif_delete_socket(&h.sock) == MEMIF_ERR_SUCCESS, "memif_delete_socket");
	while ((fd = raw_accept()) >= 0) /* connections nobody accepted */
		close(fd);

	fd = fz_lib_fds(false);
	if (fd != fd_base)
		fz_lib_fds(true);
	FZ_CHECK(fd == fd_base, "fd leak: %d fds after the input, %d before", fd, fd_base);
	if (++runs % 64 == 0) {
		maps = fz_memfd_maps();
		FZ_CHECK(maps == 0, "%d memfd mappings left after the input", maps);
	}
	return 0;
}
