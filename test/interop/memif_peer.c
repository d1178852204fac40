/* SPDX-License-Identifier: MIT */
/*
 * memif_peer - a standalone interoperability test peer for libmemif.
 *
 * Uses only the public API (libmemif.h) and drives the library from its own
 * epoll loop: on_control_fd_update adds, changes and removes fds in our
 * epoll set, and ready fds are handed back with memif_control_fd_handler.
 *
 * Modes of operation
 *   sender (default)  send Ethernet frames of each size on every queue,
 *                     receive the echoes (MACs swapped, as testpmd's
 *                     macswap does) and compare every byte. Sizes are sent
 *                     in separate phases (all of the first size, then all of
 *                     the next, ...). Exit 0 only if everything came back
 *                     intact.
 *   --echo            return every received frame with its MACs swapped,
 *                     on the queue it came from (the "other side" in the
 *                     ours-vs-ours matrix). Runs until SIGINT/SIGTERM or
 *                     --timeout.
 *   --sink            like --echo, but counts and drops what it receives
 *                     (against a generator such as testpmd txonly).
 *   --expect-refused  succeed only if the interface never connects and
 *                     memif_get_details() reports why.
 *   --mixed           sender with one phase where sizes alternate frame by
 *                     frame (provokes transmitters that leave stale NEXT
 *                     flags when chained and single-slot packets mix).
 *   --reconnect-test  sender that first runs continuous traffic until the
 *                     link drops (the test script kills the peer), checks
 *                     that the library reported the disconnect and released
 *                     the connection's memory and fds, waits for the link to
 *                     come back (a new peer), then runs the normal phases.
 *
 * Output: lines starting with "EVENT " are markers the scripts wait for;
 * "PEER BUG" lines report peer misbehaviour that we detect but do not hide;
 * the exit status is 0 on success, 1 on a test failure, 2 on bad usage, 3
 * when every frame came back and the only damage is a known peer bug (frames
 * glued together by a stale NEXT flag), so a script can tell the two apart.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "libmemif.h"

#define MAX_QUEUES 16
#define MAX_SIZES 8
#define MAX_FRAME 65535u
#define FD_TABLE_SIZE 4096
#define TX_BURST 32      /* packets per memif_buffer_alloc in sender mode */
#define BUF_ARRAY 2048   /* memif_buffer_t entries per burst array */
#define RX_BURST 256     /* buffers per memif_rx_burst */
#define HDR_LEN 26       /* Ethernet header + our test header */
#define MAGIC 0x4d494654u /* "MIFT" */
#define ETHERTYPE 0x88b5 /* IEEE 802 local experimental ethertype */
#define SETTLE_MS 500    /* DPDK as client resets its rings on CONNECTED */
#define STALL_MS 2000    /* no progress for this long: frames are lost */
#define MAX_REPORTS 10   /* detailed mismatch reports per run */

static const uint8_t mac_ours[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t mac_peer[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

/* ---- Options ------------------------------------------------------------ */

enum role { ROLE_MASTER, ROLE_SLAVE };

struct opts {
	enum role role;
	const char *socket;
	uint32_t id;
	const char *secret;
	unsigned queues;
	bool polling;
	unsigned sizes[MAX_SIZES];
	unsigned nsizes;
	unsigned count;
	unsigned buffer_size;
	unsigned log2_ring_size;
	unsigned timeout_s;
	unsigned retry_ms;
	bool expect_refused;
	bool echo;
	bool sink; /* echo mode that sends nothing back */
	bool reconnect_test;
	bool mixed;
	const char *name;
	bool verbose;
};

static struct opts o = {
	.role = ROLE_SLAVE,
	.socket = "",
	.queues = 1,
	.count = 1000,
	.timeout_s = 30,
	.name = "memif_peer",
};

/* ---- Per-phase statistics ------------------------------------------------ */

struct qstat {
	uint64_t sent;         /* frames handed to memif_tx_burst */
	uint64_t intact;       /* echoes identical to what we sent (MACs swapped) */
	uint64_t mismatched;   /* echoes of this phase/queue whose bytes differ */
	uint64_t duplicates;   /* an already received sequence number again */
	uint64_t wrong_queue;  /* came back on another queue than sent */
	uint64_t stale_next;   /* glued to the next frame by a stale NEXT flag */
	uint8_t *seen;         /* bitmap of received sequence numbers, or NULL */
	uint64_t seen_bits;
};

struct stage {
	struct qstat q[MAX_SIZES][MAX_QUEUES];
};

/* ---- Program state -------------------------------------------------------- */

struct fd_slot {
	bool active;
	uint32_t gen;
	void *ctx;
};

struct rxq_state {
	uint8_t *pkt;          /* reassembly of a chain (it may span bursts) */
	uint32_t len;
	bool pending;          /* on_interrupt fired, not drained yet */
};

static struct {
	int epfd;
	struct fd_slot fds[FD_TABLE_SIZE];
	uint32_t gen;
	memif_socket_handle_t sock;
	memif_conn_handle_t conn;
	bool connected;
	unsigned connects;
	unsigned disconnects;
	unsigned nq;              /* queue pairs in use while connected */
	unsigned ring_size;
	unsigned buffer_size;
	struct rxq_state rxq[MAX_QUEUES];
	uint64_t interrupts;
	uint64_t lost_interrupts; /* frames found only by the stall rescue poll */
	struct stage *cur;        /* where received frames are accounted */
	unsigned reports;
	uint64_t unknown;         /* received frames without our header */
	unsigned peer_bug_reports;
	bool only_peer_bug;       /* summarize: the only damage is a peer bug */
	volatile sig_atomic_t stop;
	/* echo mode counters */
	uint64_t echo_rx, echo_tx, echo_drop, echo_bytes;
	bool failed_api;
	uint8_t *scratch;
	uint8_t *scratch2;
} g = { .epfd = -1 };

static memif_buffer_t txbufs[BUF_ARRAY];
static memif_buffer_t rxbufs[RX_BURST];

/* ---- Helpers ------------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("[%s %s] %s\n", o.echo ? "echo" : "peer",
	       o.role == ROLE_MASTER ? "master" : "slave", buf);
}

#define LOG(...) logf_(__VA_ARGS__)

static bool api_ok(int err, const char *what)
{
	if (err == MEMIF_ERR_SUCCESS)
		return true;
	LOG("%s: %s (%d)", what, memif_strerror(err), err);
	return false;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Frame layout: dst MAC, src MAC, ethertype 0x88b5, then our header
 * (magic, queue, frame size, sequence number) and a pattern that depends
 * on all of them, so a frame delivered to the wrong queue, truncated,
 * merged or shifted never compares equal.
 */
static uint8_t pattern(uint32_t i, uint32_t seq, uint16_t qid, uint32_t size)
{
	return (uint8_t)((i * 131u) ^ (i >> 8) ^ (seq * 7u) ^ (seq >> 5) ^ ((uint32_t)qid << 5) ^ size);
}

/* `echoed`: build the frame as it must come back (MACs swapped). */
static void build_frame(uint8_t *f, uint32_t size, uint16_t qid, uint32_t seq, bool echoed)
{
	memcpy(f, echoed ? mac_ours : mac_peer, 6);
	memcpy(f + 6, echoed ? mac_peer : mac_ours, 6);
	put16(f + 12, ETHERTYPE);
	put32(f + 14, MAGIC);
	put16(f + 18, qid);
	put16(f + 20, (uint16_t)size);
	put32(f + 22, seq);
	for (uint32_t i = HDR_LEN; i < size; i++)
		f[i] = pattern(i, seq, qid, size);
}

static void hexdump_diff(const uint8_t *got, const uint8_t *exp, uint32_t len, uint32_t off)
{
	uint32_t start = off & ~15u;
	uint32_t end = start + 32 < len ? start + 32 : len;
	char line[256];

	for (uint32_t row = start; row < end; row += 16) {
		int n = snprintf(line, sizeof(line), "      %5u got:", row);
		for (uint32_t i = row; i < row + 16 && i < end; i++)
			n += snprintf(line + n, sizeof(line) - (size_t)n, " %02x", got[i]);
		n += snprintf(line + n, sizeof(line) - (size_t)n, "  exp:");
		for (uint32_t i = row; i < row + 16 && i < end; i++)
			n += snprintf(line + n, sizeof(line) - (size_t)n, " %02x", exp[i]);
		printf("%s\n", line);
	}
}

/* ---- fd resource accounting (to prove the library released everything) -- */

struct fdcount {
	int total, memfd, eventfd, memfd_maps;
};

static struct fdcount count_fds(void)
{
	struct fdcount c = { 0 };
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[PATH_MAX];
	FILE *f;
	char line[512];

	if (d) {
		int dfd = dirfd(d);

		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			if (atoi(e->d_name) == dfd)
				continue;
			c.total++;
			snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
			ssize_t n = readlink(path, target, sizeof(target) - 1);
			if (n < 0)
				continue;
			target[n] = 0;
			if (strncmp(target, "/memfd:", 7) == 0)
				c.memfd++;
			else if (strcmp(target, "anon_inode:[eventfd]") == 0)
				c.eventfd++;
		}
		closedir(d);
	}
	f = fopen("/proc/self/maps", "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (strstr(line, "/memfd:"))
				c.memfd_maps++;
		fclose(f);
	}
	return c;
}

static void print_fdcount(const char *what, struct fdcount c)
{
	LOG("%s: %d fds (%d memfd, %d eventfd), %d memfd mappings", what, c.total, c.memfd,
	    c.eventfd, c.memfd_maps);
}

/* ---- The app's event loop, fed by on_control_fd_update ------------------- */

static uint32_t to_epoll(memif_fd_event_type_t t)
{
	uint32_t ev = 0;

	if (t & MEMIF_FD_EVENT_READ)
		ev |= EPOLLIN;
	if (t & MEMIF_FD_EVENT_WRITE)
		ev |= EPOLLOUT;
	return ev;
}

static int on_control_fd_update(memif_fd_event_t fde, void *private_ctx)
{
	struct epoll_event ev = { 0 };
	int fd = fde.fd;

	(void)private_ctx;
	if (fd < 0 || fd >= FD_TABLE_SIZE) {
		LOG("on_control_fd_update: fd %d out of range", fd);
		return -1;
	}
	if (fde.type & MEMIF_FD_EVENT_DEL) {
		if (epoll_ctl(g.epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != ENOENT &&
		    errno != EBADF)
			LOG("epoll_ctl(DEL, %d): %s", fd, strerror(errno));
		g.fds[fd].active = false;
		if (o.verbose)
			LOG("fd %d: del", fd);
		return 0;
	}
	/*
	 * A generation number in the epoll data lets the loop drop events of
	 * an fd that was removed (and maybe reused) while handling the batch.
	 */
	g.fds[fd].gen = ++g.gen;
	g.fds[fd].ctx = fde.private_ctx;
	g.fds[fd].active = true;
	ev.events = to_epoll(fde.type);
	ev.data.u64 = (uint64_t)g.fds[fd].gen << 32 | (uint32_t)fd;
	if (fde.type & MEMIF_FD_EVENT_MOD) {
		if (epoll_ctl(g.epfd, EPOLL_CTL_MOD, fd, &ev) < 0) {
			LOG("epoll_ctl(MOD, %d): %s", fd, strerror(errno));
			return -1;
		}
	} else if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		if (errno != EEXIST || epoll_ctl(g.epfd, EPOLL_CTL_MOD, fd, &ev) < 0) {
			LOG("epoll_ctl(ADD, %d): %s", fd, strerror(errno));
			g.fds[fd].active = false;
			return -1;
		}
	}
	if (o.verbose)
		LOG("fd %d: watch 0x%x", fd, (unsigned)fde.type);
	return 0;
}

/* Wait up to timeout_ms for events and dispatch them. Returns events handled. */
static int pump(int timeout_ms)
{
	struct epoll_event evs[16];
	int n, handled = 0;

	n = epoll_wait(g.epfd, evs, 16, timeout_ms);
	if (n < 0) {
		if (errno != EINTR)
			LOG("epoll_wait: %s", strerror(errno));
		return 0;
	}
	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		memif_fd_event_type_t t = 0;

		if (fd < 0 || fd >= FD_TABLE_SIZE || !g.fds[fd].active || g.fds[fd].gen != gen)
			continue;
		if (evs[i].events & EPOLLIN)
			t |= MEMIF_FD_EVENT_READ;
		if (evs[i].events & EPOLLOUT)
			t |= MEMIF_FD_EVENT_WRITE;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			t |= MEMIF_FD_EVENT_ERROR;
		int err = memif_control_fd_handler(g.fds[fd].ctx, t);
		if (err != MEMIF_ERR_SUCCESS && o.verbose)
			LOG("memif_control_fd_handler(fd %d): %s", fd, memif_strerror(err));
		handled++;
	}
	return handled;
}

/* ---- Callbacks ------------------------------------------------------------ */

static void print_details(const char *when)
{
	memif_details_t md;
	static char buf[16384];
	int err;

	memset(&md, 0, sizeof(md));
	err = memif_get_details(g.conn, &md, buf, sizeof(buf));
	if (!api_ok(err, "memif_get_details"))
		return;
	LOG("%s: if_name=%s remote=%s/%s id=%u role=%s mode=%u socket=%s link=%s "
	    "regions=%u rxq=%u txq=%u error='%s'",
	    when, md.if_name ? (char *)md.if_name : "", md.remote_inst_name ? (char *)md.remote_inst_name : "",
	    md.remote_if_name ? (char *)md.remote_if_name : "", md.id, md.role ? "slave" : "master",
	    md.mode, md.socket_path ? (char *)md.socket_path : "", md.link_up_down ? "up" : "down",
	    md.regions_num, md.rx_queues_num, md.tx_queues_num, md.error ? (char *)md.error : "");
	for (unsigned i = 0; i < md.rx_queues_num && md.rx_queues; i++)
		LOG("  rx queue %u: ring_size=%u buffer_size=%u flags=%u head=%u tail=%u",
		    md.rx_queues[i].qid, md.rx_queues[i].ring_size, md.rx_queues[i].buffer_size,
		    md.rx_queues[i].flags, md.rx_queues[i].head, md.rx_queues[i].tail);
	for (unsigned i = 0; i < md.tx_queues_num && md.tx_queues; i++)
		LOG("  tx queue %u: ring_size=%u buffer_size=%u flags=%u head=%u tail=%u",
		    md.tx_queues[i].qid, md.tx_queues[i].ring_size, md.tx_queues[i].buffer_size,
		    md.tx_queues[i].flags, md.tx_queues[i].head, md.tx_queues[i].tail);
}

static int on_connect(memif_conn_handle_t conn, void *private_ctx)
{
	memif_details_t md;
	static char buf[16384];
	unsigned rxq = 0, txq = 0;

	(void)private_ctx;
	g.connects++;
	memset(&md, 0, sizeof(md));
	if (api_ok(memif_get_details(conn, &md, buf, sizeof(buf)), "memif_get_details")) {
		rxq = md.rx_queues_num;
		txq = md.tx_queues_num;
		g.ring_size = md.rx_queues_num && md.rx_queues ? md.rx_queues[0].ring_size : 0;
		g.buffer_size = md.rx_queues_num && md.rx_queues ? md.rx_queues[0].buffer_size : 0;
		for (unsigned i = 0; i < txq && md.tx_queues; i++) {
			if (md.tx_queues[i].buffer_size &&
			    (!g.buffer_size || md.tx_queues[i].buffer_size < g.buffer_size))
				g.buffer_size = md.tx_queues[i].buffer_size;
			if (md.tx_queues[i].ring_size &&
			    (!g.ring_size || md.tx_queues[i].ring_size < g.ring_size))
				g.ring_size = md.tx_queues[i].ring_size;
		}
	}
	g.nq = rxq < txq ? rxq : txq;
	if (g.nq > MAX_QUEUES)
		g.nq = MAX_QUEUES;
	for (unsigned q = 0; q < g.nq; q++) {
		g.rxq[q].len = 0;
		g.rxq[q].pending = true; /* look once: data may predate the eventfd */
		/* Slave: give the receive ring all its buffers (no-op on a master). */
		int err = memif_refill_queue(conn, (uint16_t)q, (uint16_t)-1, 0);
		if (err != MEMIF_ERR_SUCCESS)
			LOG("memif_refill_queue(%u, all) on connect: %s", q, memif_strerror(err));
		if (o.polling)
			api_ok(memif_set_rx_mode(conn, MEMIF_RX_MODE_POLLING, (uint16_t)q),
			       "memif_set_rx_mode(POLLING)");
	}
	g.connected = true;
	LOG("EVENT connected (#%u): %u rx / %u tx queues, ring size %u, buffer size %u", g.connects,
	    rxq, txq, g.ring_size, g.buffer_size);
	print_details("details");
	return 0;
}

static int on_disconnect(memif_conn_handle_t conn, void *private_ctx)
{
	(void)conn;
	(void)private_ctx;
	g.disconnects++;
	g.connected = false;
	LOG("EVENT disconnected (#%u)", g.disconnects);
	return 0;
}

static int on_interrupt(memif_conn_handle_t conn, void *private_ctx, uint16_t qid)
{
	(void)conn;
	(void)private_ctx;
	g.interrupts++;
	if (qid < MAX_QUEUES)
		g.rxq[qid].pending = true;
	else
		LOG("on_interrupt: unexpected qid %u", qid);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	g.stop = 1;
}

/* ---- Receive side: reassembly and verification ----------------------------- */

static int size_index(uint32_t size)
{
	for (unsigned i = 0; i < o.nsizes; i++)
		if (o.sizes[i] == size)
			return (int)i;
	return -1;
}

/* Verify one received frame (or a run of frames glued by a stale NEXT). */
static void account_frame(unsigned q, const uint8_t *pkt, uint32_t len, unsigned depth)
{
	struct stage *st = g.cur;
	uint32_t size, seq;
	uint16_t fq;
	int si;

	if (!st)
		return;
	if (len < HDR_LEN || get32(pkt + 14) != MAGIC || get16(pkt + 12) != ETHERTYPE ||
	    (si = size_index(get16(pkt + 20))) < 0 || get16(pkt + 18) >= g.nq) {
		g.unknown++;
		if (g.reports++ < MAX_REPORTS) {
			LOG("MISMATCH queue %u: frame of %u bytes without a valid test header", q, len);
			uint8_t zero[32] = { 0 };
			hexdump_diff(pkt, zero, len < 32 ? len : 32, 0);
		}
		return;
	}
	size = get16(pkt + 20);
	fq = get16(pkt + 18);
	seq = get32(pkt + 22);
	/* Mixed mode: one sequence per queue, the size follows from it. */
	struct qstat *s = &st->q[o.mixed ? 0 : si][fq];
	if (o.mixed && size != o.sizes[seq % o.nsizes]) {
		s->mismatched++;
		if (g.reports++ < MAX_REPORTS)
			LOG("MISMATCH queue %u seq %u: header says %u bytes, sent %u", q, seq, size,
			    o.sizes[seq % o.nsizes]);
		return;
	}

	if (fq != q) {
		s->wrong_queue++;
		if (g.reports++ < MAX_REPORTS)
			LOG("MISMATCH: frame sent on queue %u came back on queue %u", fq, q);
	}
	build_frame(g.scratch2, size, fq, seq, true);
	if (len > size && memcmp(pkt, g.scratch2, size) == 0 && seq < s->sent) {
		/*
		 * A whole frame followed by more bytes: the peer flagged the
		 * frame's only slot NEXT, gluing it to what followed.
		 */
		s->stale_next++;
		s->intact++;
		if (s->seen && seq < s->seen_bits)
			s->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
		if (++g.peer_bug_reports <= MAX_REPORTS)
			printf("PEER BUG: queue %u: a %u-byte frame (seq %u) arrived chained to %u more "
		       "bytes: the transmitter left a stale NEXT flag on its slot (known DPDK 22.11 "
		       "memif tx bug)\n",
		       q, size, seq, len - size);
		if (depth < 64)
			account_frame(q, pkt + size, len - size, depth + 1);
		return;
	}
	if (seq >= s->sent) {
		s->mismatched++;
		if (g.reports++ < MAX_REPORTS)
			LOG("MISMATCH queue %u size %u: sequence %u never sent (sent %" PRIu64 ")", q,
			    size, seq, s->sent);
		return;
	}
	if (s->seen && seq < s->seen_bits) {
		if (s->seen[seq / 8] & (1u << (seq % 8))) {
			s->duplicates++;
			if (g.reports++ < MAX_REPORTS)
				LOG("MISMATCH queue %u size %u: sequence %u received twice", q, size, seq);
			return;
		}
		s->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
	}
	if (len == size && memcmp(pkt, g.scratch2, size) == 0) {
		s->intact++;
		return;
	}
	s->mismatched++;
	if (g.reports++ < MAX_REPORTS) {
		uint32_t n = len < size ? len : size, off = 0, ndiff = 0;

		while (off < n && pkt[off] == g.scratch2[off])
			off++;
		for (uint32_t i = off; i < n; i++)
			ndiff += pkt[i] != g.scratch2[i];
		LOG("MISMATCH queue %u size %u seq %u: received %u bytes, first difference at byte "
		    "%u, %u bytes differ",
		    q, size, seq, len, off, ndiff);
		if (off < n)
			hexdump_diff(pkt, g.scratch2, n, off);
	}
}

typedef void (*frame_fn)(unsigned q, const uint8_t *pkt, uint32_t len);

static void sender_frame(unsigned q, const uint8_t *pkt, uint32_t len)
{
	account_frame(q, pkt, len, 0);
}

static bool echo_flush(unsigned q, uint16_t nbufs);
static uint16_t echo_nbufs;

static void echo_frame(unsigned q, const uint8_t *pkt, uint32_t len)
{
	uint16_t got = 0;
	int err = MEMIF_ERR_NOBUF_RING;
	uint64_t t0 = 0;

	g.echo_rx++;
	if (o.sink)
		return;
	for (;;) {
		if (echo_nbufs + len / (g.buffer_size ? g.buffer_size : 64) + 2 > BUF_ARRAY) {
			echo_flush(q, echo_nbufs);
			echo_nbufs = 0;
		}
		err = memif_buffer_alloc(g.conn, (uint16_t)q, txbufs + echo_nbufs,
					 1, &got, (uint16_t)len);
		if (got > 0)
			break;
		/* Ring full: send what we have and give the peer a moment, then drop. */
		if (echo_nbufs) {
			echo_flush(q, echo_nbufs);
			echo_nbufs = 0;
			continue;
		}
		if (!g.connected || g.stop)
			return;
		if (!t0)
			t0 = now_ms();
		if (now_ms() - t0 > 200) {
			g.echo_drop++;
			if (g.echo_drop < 5)
				LOG("echo: queue %u: no tx buffer for a %u-byte frame (%s): dropped", q,
				    len, memif_strerror(err));
			return;
		}
		pump(1);
		if (!g.connected)
			return; /* the caller must not touch its rx buffers now */
	}
	/* Copy with the MACs swapped, across the chain the library gave us. */
	uint32_t off = 0;
	for (uint16_t i = 0; i < got; i++) {
		memif_buffer_t *b = &txbufs[echo_nbufs + i];
		uint32_t n = b->len;

		if (off + n > len)
			n = len - off;
		for (uint32_t k = 0; k < n; k++) {
			uint32_t at = off + k;
			uint8_t c;

			if (at < 6)
				c = pkt[at + 6];
			else if (at < 12)
				c = pkt[at - 6];
			else
				c = pkt[at];
			((uint8_t *)b->data)[k] = c;
		}
		b->len = n;
		off += n;
	}
	if (off != len)
		LOG("LIBRARY: memif_buffer_alloc for %u bytes gave %u buffers holding %u bytes", len,
		    got, off);
	echo_nbufs = (uint16_t)(echo_nbufs + got);
	g.echo_bytes += len;
}

static bool echo_flush(unsigned q, uint16_t nbufs)
{
	uint16_t tx = 0;
	int err;

	if (!nbufs)
		return true;
	err = memif_tx_burst(g.conn, (uint16_t)q, txbufs, nbufs, &tx);
	if (err != MEMIF_ERR_SUCCESS || tx != nbufs) {
		LOG("echo: memif_tx_burst(queue %u, %u buffers): %s, %u sent", q, nbufs,
		    memif_strerror(err), tx);
		return false;
	}
	for (uint16_t i = 0; i < nbufs; i++)
		if (!(txbufs[i].flags & MEMIF_BUFFER_FLAG_NEXT))
			g.echo_tx++;
	return true;
}

/*
 * Drain receive queue q: rx_burst until it reports nothing (a short burst
 * does not mean empty: only whole chains are returned), reassemble chains,
 * pass every frame to fn, refill. Returns the number of buffers received;
 * *more is set when it stopped early (bounded work per call) with the
 * queue possibly not empty.
 */
static uint64_t drain_queue_more(unsigned q, frame_fn fn, bool *more)
{
	struct rxq_state *r = &g.rxq[q];
	uint64_t total = 0;

	*more = false;
	for (unsigned iter = 0;; iter++) {
		if (iter == 64) {
			*more = true;
			break;
		}
		uint16_t rx = 0;
		int err = memif_rx_burst(g.conn, (uint16_t)q, rxbufs, RX_BURST, &rx);

		if (err != MEMIF_ERR_SUCCESS && err != MEMIF_ERR_NOBUF && rx == 0) {
			if (g.connected)
				LOG("memif_rx_burst(queue %u): %s", q, memif_strerror(err));
			break;
		}
		if (rx == 0)
			break;
		total += rx;
		if (fn == echo_frame)
			echo_nbufs = 0;
		for (uint16_t i = 0; i < rx; i++) {
			memif_buffer_t *b = &rxbufs[i];

			if (r->len + b->len > MAX_FRAME + 1) {
				LOG("MISMATCH queue %u: chain longer than %u bytes, dropped", q, MAX_FRAME);
				g.unknown++;
				r->len = 0;
				continue;
			}
			memcpy(r->pkt + r->len, b->data, b->len);
			r->len += b->len;
			if (b->flags & MEMIF_BUFFER_FLAG_NEXT)
				continue;
			fn(q, r->pkt, r->len);
			r->len = 0;
			/*
			 * fn may run the event loop (echo waiting for tx room): after
			 * on_disconnect, every buffer we hold is invalid (unmapped).
			 */
			if (!g.connected)
				return total;
		}
		if (fn == echo_frame) {
			echo_flush(q, echo_nbufs);
			echo_nbufs = 0;
		}
		err = memif_refill_queue(g.conn, (uint16_t)q, rx, 0);
		if (err != MEMIF_ERR_SUCCESS && g.connected)
			LOG("memif_refill_queue(queue %u, %u): %s", q, rx, memif_strerror(err));
	}
	return total;
}

static uint64_t drain_queue(unsigned q, frame_fn fn)
{
	bool more;

	return drain_queue_more(q, fn, &more);
}

/*
 * Handle control events and receive. Interrupt mode: receive only on queues
 * whose interrupt fired; polling: look at every queue.
 */
static uint64_t service(int timeout_ms, frame_fn fn)
{
	uint64_t got = 0;

	if (o.polling) {
		pump(0);
		if (!g.connected)
			return 0;
		for (unsigned q = 0; q < g.nq; q++)
			got += drain_queue(q, fn);
		if (!got && timeout_ms > 0)
			pump(0);
		return got;
	}
	bool any = false;
	for (unsigned q = 0; q < g.nq; q++)
		any |= g.rxq[q].pending;
	pump(any ? 0 : timeout_ms);
	if (!g.connected)
		return 0;
	for (unsigned q = 0; q < g.nq; q++) {
		bool more;

		if (!g.rxq[q].pending)
			continue;
		g.rxq[q].pending = false;
		got += drain_queue_more(q, fn, &more);
		if (more)
			g.rxq[q].pending = true;
	}
	return got;
}

/* ---- Transmit side ----------------------------------------------------------- */

/* Send up to n frames of phase si on queue q. Returns frames sent, -1 on error. */
static int send_frames(struct stage *st, unsigned si, unsigned q, unsigned n)
{
	struct qstat *s = &st->q[si][q];
	uint32_t size = o.sizes[si];
	uint16_t got = 0, tx = 0;
	int err;
	unsigned pkts = 0;

	err = memif_buffer_alloc(g.conn, (uint16_t)q, txbufs, (uint16_t)n, &got, (uint16_t)size);
	if (got == 0) {
		if (err != MEMIF_ERR_NOBUF_RING && err != MEMIF_ERR_SUCCESS && g.connected) {
			LOG("memif_buffer_alloc(queue %u, %u x %u bytes): %s", q, n, size,
			    memif_strerror(err));
			return -1;
		}
		return 0;
	}
	/* Fill: one frame per chain of buffers. */
	uint16_t i = 0;
	while (i < got) {
		uint32_t seq = (uint32_t)(s->sent + pkts);
		uint32_t off = 0;

		build_frame(g.scratch, size, (uint16_t)q, seq, false);
		for (;;) {
			memif_buffer_t *b = &txbufs[i];
			uint32_t chunk = b->len;

			if (off + chunk > size) {
				LOG("LIBRARY: memif_buffer_alloc(%u bytes) gave a chain holding more (%u+)",
				    size, off + chunk);
				chunk = size - off;
				b->len = chunk;
			}
			memcpy(b->data, g.scratch + off, chunk);
			off += chunk;
			i++;
			if (!(b->flags & MEMIF_BUFFER_FLAG_NEXT) || i >= got)
				break;
		}
		if (off != size) {
			LOG("LIBRARY: memif_buffer_alloc(%u bytes) gave a chain of %u bytes", size, off);
			g.failed_api = true;
		}
		pkts++;
	}
	err = memif_tx_burst(g.conn, (uint16_t)q, txbufs, got, &tx);
	if (err != MEMIF_ERR_SUCCESS || tx != got) {
		if (g.connected) {
			LOG("memif_tx_burst(queue %u, %u buffers): %s, %u sent", q, got,
			    memif_strerror(err), tx);
			g.failed_api = true;
		}
		/* Count only whole frames that went out. */
		unsigned sent = 0;
		for (uint16_t k = 0; k < tx; k++)
			if (!(txbufs[k].flags & MEMIF_BUFFER_FLAG_NEXT))
				sent++;
		s->sent += sent;
		return g.connected ? -1 : (int)sent;
	}
	s->sent += pkts;
	return (int)pkts;
}

/* Diagnostics for a stall: indexes and flags of both rings of queue q. */
static void print_ring_state(unsigned q)
{
	static union {
		memif_ring_details_t rd;
		char space[sizeof(memif_ring_details_t) + 4 * sizeof(memif_desc_details_t)];
	} rx, tx;
	int erx = memif_get_rx_ring_details(g.conn, &rx.rd, (uint16_t)q, 0);
	int etx = memif_get_tx_ring_details(g.conn, &tx.rd, (uint16_t)q, 0);

	LOG("stall: queue %u rx ring head %u tail %u flags %u (%s), tx ring head %u tail %u "
	    "flags %u (%s), interrupt pending %d",
	    q, rx.rd.head, rx.rd.tail, rx.rd.flags, memif_strerror(erx), tx.rd.head, tx.rd.tail,
	    tx.rd.flags, memif_strerror(etx), g.rxq[q].pending);
	/* Can we get a transmit buffer at all? (released again by an empty burst) */
	for (unsigned si = 0; si < o.nsizes; si++) {
		uint16_t got = 0, tx_n = 0;
		int err = memif_buffer_alloc(g.conn, (uint16_t)q, txbufs, 1, &got,
					     (uint16_t)o.sizes[si]);

		LOG("stall: queue %u: memif_buffer_alloc(1 x %u bytes): %s, %u buffers", q,
		    o.sizes[si], memif_strerror(err), got);
		memif_tx_burst(g.conn, (uint16_t)q, txbufs, 0, &tx_n);
	}
}

/*
 * Mixed sizes: frame k of a queue has size sizes[k % nsizes]; one
 * memif_buffer_alloc per frame, one memif_tx_burst for the lot.
 */
static int send_frames_mixed(struct stage *st, unsigned q, unsigned n)
{
	struct qstat *s = &st->q[0][q];
	uint16_t nbufs = 0, tx = 0;
	unsigned pkts = 0;
	int err;

	while (pkts < n) {
		uint32_t seq = (uint32_t)(s->sent + pkts);
		uint32_t size = o.sizes[seq % o.nsizes];
		uint16_t got = 0;
		uint32_t off = 0;

		if (nbufs + size / 64 + 2 > BUF_ARRAY)
			break;
		err = memif_buffer_alloc(g.conn, (uint16_t)q, txbufs + nbufs, 1, &got, (uint16_t)size);
		if (got == 0) {
			if (err != MEMIF_ERR_NOBUF_RING && err != MEMIF_ERR_SUCCESS && g.connected) {
				LOG("memif_buffer_alloc(queue %u, %u bytes): %s", q, size,
				    memif_strerror(err));
				return -1;
			}
			break;
		}
		build_frame(g.scratch, size, (uint16_t)q, seq, false);
		for (uint16_t i = 0; i < got; i++) {
			memif_buffer_t *b = &txbufs[nbufs + i];
			uint32_t chunk = b->len;

			if (off + chunk > size)
				chunk = b->len = size - off;
			memcpy(b->data, g.scratch + off, chunk);
			off += chunk;
		}
		if (off != size) {
			LOG("LIBRARY: memif_buffer_alloc(%u bytes) gave a chain of %u bytes", size, off);
			g.failed_api = true;
		}
		nbufs = (uint16_t)(nbufs + got);
		pkts++;
	}
	if (!nbufs)
		return 0;
	err = memif_tx_burst(g.conn, (uint16_t)q, txbufs, nbufs, &tx);
	if (err != MEMIF_ERR_SUCCESS || tx != nbufs) {
		unsigned sent = 0;

		for (uint16_t k = 0; k < tx; k++)
			if (!(txbufs[k].flags & MEMIF_BUFFER_FLAG_NEXT))
				sent++;
		s->sent += sent;
		if (g.connected) {
			LOG("memif_tx_burst(queue %u, %u buffers): %s, %u sent", q, nbufs,
			    memif_strerror(err), tx);
			g.failed_api = true;
			return -1;
		}
		return (int)sent;
	}
	s->sent += pkts;
	return (int)pkts;
}

static unsigned window_for(uint32_t size)
{
	unsigned bsize = g.buffer_size ? g.buffer_size : 2048;
	unsigned ring = g.ring_size ? g.ring_size : 1024;
	unsigned per = (size + bsize - 1) / bsize;
	unsigned w = ring / (4 * per);

	/*
	 * Stay well inside both rings: testpmd drops what it cannot transmit.
	 * A quarter of the ring leaves room for a peer slave whose buffers are
	 * smaller than ours (a master's details show its own buffer size).
	 */
	if (w > 128)
		w = 128;
	return w ? w : 1;
}

static uint64_t accounted(const struct qstat *s)
{
	return s->intact + s->mismatched + s->duplicates;
}

/*
 * Send o.count frames of size sizes[si] on every queue, keeping a bounded
 * number in flight, and collect the echoes. Returns false on a fatal
 * condition (link lost, API error, global deadline).
 */
static bool run_phase(struct stage *st, unsigned si, uint64_t deadline)
{
	uint32_t size = o.sizes[si];
	uint64_t last_progress = now_ms(), t0 = now_ms();
	uint64_t last_total = 0;

	if (o.mixed)
		for (unsigned i = 0; i < o.nsizes; i++)
			if (o.sizes[i] > size)
				size = o.sizes[i];
	unsigned window = window_for(size);
	if (o.mixed)
		LOG("phase: %u frames of mixed sizes on each of %u queues (window %u)", o.count, g.nq,
		    window);
	else
		LOG("phase: %u frames of %u bytes on each of %u queues (window %u)", o.count, size,
		    g.nq, window);
	for (unsigned q = 0; q < g.nq; q++) {
		struct qstat *s = &st->q[si][q];

		free(s->seen);
		s->seen_bits = o.count;
		s->seen = calloc((o.count + 7) / 8 + 1, 1);
	}
	for (;;) {
		bool done = true, can_send = false;
		uint64_t total = 0;

		for (unsigned q = 0; q < g.nq; q++) {
			struct qstat *s = &st->q[si][q];
			uint64_t inflight = s->sent - accounted(s);

			if (s->sent < o.count) {
				done = false;
				if (inflight < window) {
					unsigned n = (unsigned)(window - inflight);
					if (n > o.count - s->sent)
						n = (unsigned)(o.count - s->sent);
					if (n > TX_BURST)
						n = TX_BURST;
					if ((o.mixed ? send_frames_mixed(st, q, n) :
						       send_frames(st, si, q, n)) < 0)
						return false;
					can_send = s->sent < o.count;
				}
			}
			if (accounted(s) < s->sent)
				done = false;
			total += accounted(s);
		}
		if (done)
			break;
		service(can_send ? 0 : 20, sender_frame);
		if (!g.connected) {
			LOG("FAIL: link went down during the %u-byte phase", size);
			return false;
		}
		if (g.stop)
			return false;
		uint64_t t = now_ms();
		total = 0;
		for (unsigned q = 0; q < g.nq; q++)
			total += accounted(&st->q[si][q]);
		if (total != last_total) {
			last_total = total;
			last_progress = t;
		} else if (t - last_progress > STALL_MS) {
			for (unsigned q = 0; q < g.nq; q++)
				print_ring_state(q);
			if (!o.polling) {
				/* Interrupts may have been lost: look once without one. */
				uint64_t found = 0;

				for (unsigned q = 0; q < g.nq; q++)
					found += drain_queue(q, sender_frame);
				if (found) {
					g.lost_interrupts += found;
					LOG("FAIL: %" PRIu64 " buffers were waiting on receive queues "
					    "without an interrupt for %u ms (lost wakeup)",
					    found, STALL_MS);
					last_progress = t;
					continue;
				}
			}
			LOG("phase %s%u bytes: no echo for %u ms, giving up (frames lost)",
			    o.mixed ? "up to " : "", size, STALL_MS);
			break;
		}
		if (t > deadline) {
			LOG("FAIL: timeout during the %u-byte phase", size);
			return false;
		}
	}
	if (o.mixed)
		LOG("phase mixed sizes done in %" PRIu64 " ms", now_ms() - t0);
	else
		LOG("phase %u bytes done in %" PRIu64 " ms", size, now_ms() - t0);
	return true;
}

/* ---- Summary ----------------------------------------------------------------- */

static bool summarize(struct stage *st, bool verbose_table)
{
	bool ok = true;
	uint64_t stale = 0;

	g.only_peer_bug = false;
	if (verbose_table)
		printf("\n%-8s %-6s %10s %10s %10s %10s %10s %10s\n", "size", "queue", "sent",
		       "received", "intact", "mismatched", "lost", "dup/wrongq");
	for (unsigned si = 0; si < (o.mixed ? 1 : o.nsizes); si++) {
		for (unsigned q = 0; q < g.nq; q++) {
			struct qstat *s = &st->q[si][q];
			char label[16];
			uint64_t recv = s->intact + s->mismatched + s->duplicates;
			uint64_t lost = s->sent > s->intact + s->mismatched ?
						s->sent - s->intact - s->mismatched : 0;

			snprintf(label, sizeof(label), "%u", o.sizes[si]);
			if (o.mixed)
				snprintf(label, sizeof(label), "mixed");
			if (verbose_table)
				printf("%-8s %-6u %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
				       " %10" PRIu64 " %5" PRIu64 "/%-4" PRIu64 "\n",
				       label, q, s->sent, recv, s->intact, s->mismatched, lost,
				       s->duplicates, s->wrong_queue);
			if (s->sent != o.count || s->intact != o.count || s->mismatched ||
			    s->duplicates || s->wrong_queue)
				ok = false;
			stale += s->stale_next;
		}
	}
	if (g.unknown) {
		printf("frames without a valid test header: %" PRIu64 "\n", g.unknown);
		ok = false;
	}
	if (stale) {
		printf("PEER BUG: %" PRIu64 " frames arrived glued to the next one by a stale NEXT "
		       "flag (DPDK 22.11 memif tx bug; fixed upstream only later). Each was intact "
		       "and so was what it was glued to; no other damage: %s.\n",
		       stale, ok ? "yes" : "no");
		g.only_peer_bug = ok;
		ok = false;
	}
	if (g.lost_interrupts) {
		printf("lost interrupts: %" PRIu64 " buffers found only by polling after a stall\n",
		       g.lost_interrupts);
		ok = false;
		g.only_peer_bug = false;
	}
	if (!o.polling)
		printf("interrupts received: %" PRIu64 "\n", g.interrupts);
	return ok;
}

/* ---- Stages ----------------------------------------------------------------- */

/* Log the interface's error string whenever it changes (refusals, retries). */
static void note_error_change(void)
{
	static char last[256];
	static char buf[16384];
	memif_details_t md;

	memset(&md, 0, sizeof(md));
	if (memif_get_details(g.conn, &md, buf, sizeof(buf)) != MEMIF_ERR_SUCCESS || !md.error)
		return;
	if (strcmp(last, (char *)md.error) != 0) {
		snprintf(last, sizeof(last), "%s", (char *)md.error);
		if (last[0])
			LOG("EVENT error: '%s'", last);
	}
}

static bool wait_connected(uint64_t deadline, const char *what)
{
	while (!g.connected && !g.stop && now_ms() < deadline) {
		pump(50);
		note_error_change();
	}
	if (!g.connected) {
		memif_details_t md;
		static char buf[16384];

		memset(&md, 0, sizeof(md));
		if (memif_get_details(g.conn, &md, buf, sizeof(buf)) == MEMIF_ERR_SUCCESS)
			LOG("FAIL: not connected %s (last error: '%s')", what,
			    md.error ? (char *)md.error : "");
		else
			LOG("FAIL: not connected %s", what);
		return false;
	}
	/* Let the peer finish its side of CONNECTED (DPDK resets its rings there). */
	uint64_t until = now_ms() + SETTLE_MS;
	while (g.connected && now_ms() < until)
		pump(10);
	return g.connected;
}

static bool run_phases(struct stage *st, uint64_t deadline)
{
	if (g.nq != o.queues) {
		LOG("FAIL: %u queue pairs connected, expected %u", g.nq, o.queues);
		return false;
	}
	g.cur = st;
	for (unsigned si = 0; si < (o.mixed ? 1 : o.nsizes); si++)
		if (!run_phase(st, si, deadline))
			return false;
	/* Late arrivals (duplicates) would show here. */
	for (int i = 0; i < 5; i++)
		service(10, sender_frame);
	return true;
}

static int do_expect_refused(uint64_t deadline)
{
	static char buf[16384];
	uint64_t seen_at = 0;
	char reason[256] = "";
	unsigned changes = 0;

	while (!g.stop && now_ms() < deadline) {
		memif_details_t md;

		pump(100);
		if (g.connected || g.connects) {
			LOG("FAIL: the interface connected although the peer should refuse it");
			return 1;
		}
		memset(&md, 0, sizeof(md));
		if (memif_get_details(g.conn, &md, buf, sizeof(buf)) == MEMIF_ERR_SUCCESS && md.error &&
		    md.error[0]) {
			if (strcmp(reason, (char *)md.error) != 0) {
				snprintf(reason, sizeof(reason), "%s", (char *)md.error);
				LOG("EVENT refused: '%s'", reason);
				changes++;
			}
			if (!seen_at)
				seen_at = now_ms();
			/*
			 * Watch across at least one retry (the library retries every
			 * 2 s by default): the refusal must stick, and a peer may give
			 * a different reason to its first attempt.
			 */
			if (now_ms() - seen_at > 4500)
				break;
		}
	}
	if (!seen_at) {
		LOG("FAIL: not connected, but memif_get_details() reports no reason");
		return 1;
	}
	printf("refused as expected, reason: %s\n", reason);
	return 0;
}

static int do_echo(uint64_t deadline)
{
	bool was_up = false;

	while (!g.stop && now_ms() < deadline) {
		if (!g.connected) {
			if (was_up)
				was_up = false;
			pump(50);
			note_error_change();
			continue;
		}
		was_up = true;
		service(50, echo_frame);
	}
	printf("echo: received %" PRIu64 " frames, sent back %" PRIu64 " (%" PRIu64
	       " bytes), dropped %" PRIu64 ", connects %u, disconnects %u\n",
	       g.echo_rx, g.echo_tx, g.echo_bytes, g.echo_drop, g.connects, g.disconnects);
	return 0;
}

/*
 * Continuous traffic until the link goes down (the script kills the peer
 * once it sees "EVENT traffic-running"). Frames in flight at that moment are
 * lost, so only the content of what came back is checked.
 */
static bool run_until_link_loss(struct stage *st, uint64_t deadline)
{
	unsigned si = 0;
	unsigned window = window_for(o.sizes[si]);
	bool announced = false;

	g.cur = st;
	while (g.connected && !g.stop && now_ms() < deadline) {
		uint64_t total = 0;

		for (unsigned q = 0; q < g.nq; q++) {
			struct qstat *s = &st->q[si][q];
			uint64_t inflight = s->sent - accounted(s);

			if (inflight < window) {
				unsigned n = (unsigned)(window - inflight);
				if (n > TX_BURST)
					n = TX_BURST;
				if (send_frames(st, si, q, n) < 0 && g.connected)
					return false;
			}
			total += s->intact;
		}
		if (!announced && total >= 1000) {
			announced = true;
			LOG("EVENT traffic-running");
		}
		service(1, sender_frame);
	}
	uint64_t bad = 0, good = 0;
	for (unsigned q = 0; q < g.nq; q++) {
		bad += st->q[si][q].mismatched + st->q[si][q].duplicates + st->q[si][q].wrong_queue;
		good += st->q[si][q].intact;
	}
	LOG("before the link loss: %" PRIu64 " frames echoed intact, %" PRIu64 " damaged", good,
	    bad);
	if (g.connected) {
		LOG("FAIL: the link did not go down in time");
		return false;
	}
	return bad == 0 && g.unknown == 0 && announced;
}

/* After a disconnect the library must hold no memfd, region mapping or eventfd. */
static bool check_released(struct fdcount base)
{
	struct fdcount c = count_fds();
	uint64_t until = now_ms() + 500;

	/* Teardown may finish in the next handler call: give it a moment. */
	while ((c.memfd > base.memfd || c.memfd_maps > base.memfd_maps || c.eventfd > base.eventfd) &&
	       now_ms() < until && !g.connected) {
		pump(20);
		c = count_fds();
	}
	print_fdcount("after disconnect", c);
	if (c.memfd > base.memfd || c.memfd_maps > base.memfd_maps || c.eventfd > base.eventfd) {
		LOG("FAIL: resources not released after disconnect (baseline: %d memfd, %d mappings, "
		    "%d eventfd)",
		    base.memfd, base.memfd_maps, base.eventfd);
		return false;
	}
	memif_details_t md;
	static char buf[16384];
	memset(&md, 0, sizeof(md));
	if (memif_get_details(g.conn, &md, buf, sizeof(buf)) == MEMIF_ERR_SUCCESS) {
		LOG("after disconnect: link %s, %u regions, error '%s'", md.link_up_down ? "up" : "down",
		    md.regions_num, md.error ? (char *)md.error : "");
		if (md.link_up_down) {
			LOG("FAIL: details still say link up after on_disconnect");
			return false;
		}
	}
	uint16_t rx = 0;
	int err = memif_rx_burst(g.conn, 0, rxbufs, 1, &rx);
	if (err == MEMIF_ERR_SUCCESS && rx > 0) {
		LOG("FAIL: memif_rx_burst returned buffers while disconnected");
		return false;
	}
	LOG("EVENT released (rx_burst while down: %s)", memif_strerror(err));
	return true;
}

/* ---- Arguments ----------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: memif_peer [options]\n"
		"  --role master|slave      our role (default slave)\n"
		"  --socket PATH            control socket; @name = abstract (default %s)\n"
		"  --id N                   interface id (default 0)\n"
		"  --secret S               shared secret (default none)\n"
		"  --queues N               queue pairs expected/requested (default 1)\n"
		"  --mode interrupt|polling receive mode (default interrupt)\n"
		"  --sizes A,B,...          frame sizes in bytes, each its own phase (default 64,1500,9000)\n"
		"  --count N                frames per size per queue (default 1000)\n"
		"  --buffer-size N          buffer size (default: library's, 2048)\n"
		"  --log2-ring-size N       ring size (default: library's, 10)\n"
		"  --timeout S              give up after S seconds (default 30)\n"
		"  --retry-ms N             slave reconnect interval (default: library's)\n"
		"  --expect-refused         succeed if the connection is refused with a reason\n"
		"  --echo                   echo peer: return frames with MACs swapped\n"
		"  --sink                   like --echo, but drop what arrives\n"
		"  --reconnect-test         traffic, link loss, automatic reconnect, traffic\n"
		"  --mixed                  one phase, sizes taken in turn frame by frame (to\n"
		"                           provoke peers that mishandle NEXT flags on wrap)\n"
		"  --name NAME              interface name (default memif_peer)\n"
		"  --verbose                log fd registrations\n",
		MEMIF_DEFAULT_SOCKET_PATH);
}

static bool parse_uint(const char *s, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

static int parse_args(int argc, char **argv)
{
	enum {
		O_ROLE = 256, O_SOCKET, O_ID, O_SECRET, O_QUEUES, O_MODE, O_SIZES, O_COUNT, O_BSIZE,
		O_RSIZE, O_TIMEOUT, O_RETRY, O_REFUSED, O_ECHO, O_RECONNECT, O_NAME, O_VERBOSE,
		O_HELP, O_MIXED, O_SINK,
	};
	static const struct option lo[] = {
		{ "role", required_argument, NULL, O_ROLE },
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "id", required_argument, NULL, O_ID },
		{ "secret", required_argument, NULL, O_SECRET },
		{ "queues", required_argument, NULL, O_QUEUES },
		{ "mode", required_argument, NULL, O_MODE },
		{ "sizes", required_argument, NULL, O_SIZES },
		{ "count", required_argument, NULL, O_COUNT },
		{ "buffer-size", required_argument, NULL, O_BSIZE },
		{ "log2-ring-size", required_argument, NULL, O_RSIZE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "retry-ms", required_argument, NULL, O_RETRY },
		{ "expect-refused", no_argument, NULL, O_REFUSED },
		{ "echo", no_argument, NULL, O_ECHO },
		{ "sink", no_argument, NULL, O_SINK },
		{ "reconnect-test", no_argument, NULL, O_RECONNECT },
		{ "mixed", no_argument, NULL, O_MIXED },
		{ "name", required_argument, NULL, O_NAME },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	unsigned v;
	const char *sizes = "64,1500,9000";

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_ROLE:
			if (!strcmp(optarg, "master"))
				o.role = ROLE_MASTER;
			else if (!strcmp(optarg, "slave"))
				o.role = ROLE_SLAVE;
			else
				goto bad;
			break;
		case O_SOCKET:
			o.socket = optarg;
			break;
		case O_ID:
			if (!parse_uint(optarg, UINT32_MAX, &v))
				goto bad;
			o.id = v;
			break;
		case O_SECRET:
			if (strlen(optarg) > 24)
				goto bad;
			o.secret = optarg;
			break;
		case O_QUEUES:
			if (!parse_uint(optarg, MAX_QUEUES, &o.queues) || !o.queues)
				goto bad;
			break;
		case O_MODE:
			if (!strcmp(optarg, "polling"))
				o.polling = true;
			else if (!strcmp(optarg, "interrupt"))
				o.polling = false;
			else
				goto bad;
			break;
		case O_SIZES:
			sizes = optarg;
			break;
		case O_COUNT:
			if (!parse_uint(optarg, 10000000, &o.count) || !o.count)
				goto bad;
			break;
		case O_BSIZE:
			if (!parse_uint(optarg, UINT16_MAX, &o.buffer_size))
				goto bad;
			break;
		case O_RSIZE:
			if (!parse_uint(optarg, 14, &o.log2_ring_size))
				goto bad;
			break;
		case O_TIMEOUT:
			if (!parse_uint(optarg, 3600, &o.timeout_s) || !o.timeout_s)
				goto bad;
			break;
		case O_RETRY:
			if (!parse_uint(optarg, 600000, &o.retry_ms))
				goto bad;
			break;
		case O_REFUSED:
			o.expect_refused = true;
			break;
		case O_ECHO:
			o.echo = true;
			break;
		case O_SINK:
			o.echo = true;
			o.sink = true;
			break;
		case O_RECONNECT:
			o.reconnect_test = true;
			break;
		case O_MIXED:
			o.mixed = true;
			break;
		case O_NAME:
			o.name = optarg;
			break;
		case O_VERBOSE:
			o.verbose = true;
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	{
		char tmp[256];
		char *save = NULL, *tok;

		snprintf(tmp, sizeof(tmp), "%s", sizes);
		o.nsizes = 0;
		for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (o.nsizes == MAX_SIZES || !parse_uint(tok, MAX_FRAME, &v) || v < HDR_LEN) {
				fprintf(stderr, "memif_peer: bad size '%s' (%u..%u, at most %u sizes)\n",
					tok, HDR_LEN, MAX_FRAME, MAX_SIZES);
				return -1;
			}
			if (size_index(v) >= 0)
				continue;
			o.sizes[o.nsizes++] = v;
		}
		if (!o.nsizes)
			goto bad;
	}
	if ((o.echo + o.expect_refused + o.reconnect_test) > 1) {
		fprintf(stderr, "memif_peer: --echo, --expect-refused and --reconnect-test exclude each other\n");
		return -1;
	}
	return 0;
bad:
	usage(stderr);
	return -1;
}

/* ---- main ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	memif_socket_args_t sa;
	memif_conn_args_t ca;
	struct sigaction sig;
	struct fdcount start, base;
	struct stage *st1 = NULL, *st2 = NULL;
	int rc = 1;
	uint64_t deadline;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(argc, argv) < 0)
		return 2;
	deadline = now_ms() + (uint64_t)o.timeout_s * 1000u;

	memset(&sig, 0, sizeof(sig));
	sig.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns EINTR */
	sigaction(SIGINT, &sig, NULL);
	sigaction(SIGTERM, &sig, NULL);
	signal(SIGPIPE, SIG_IGN);

	g.scratch = malloc(MAX_FRAME + 1);
	g.scratch2 = malloc(MAX_FRAME + 1);
	for (unsigned q = 0; q < MAX_QUEUES; q++)
		g.rxq[q].pkt = malloc(MAX_FRAME + 2);
	st1 = calloc(1, sizeof(*st1));
	st2 = calloc(1, sizeof(*st2));
	if (!g.scratch || !g.scratch2 || !st1 || !st2)
		return 1;

	g.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g.epfd < 0) {
		perror("epoll_create1");
		return 1;
	}
	start = count_fds();

	memset(&sa, 0, sizeof(sa));
	snprintf(sa.path, sizeof(sa.path), "%s", o.socket);
	snprintf(sa.app_name, sizeof(sa.app_name), "memif_peer");
	if (o.retry_ms) {
		sa.connection_request_timer.it_value.tv_sec = o.retry_ms / 1000;
		sa.connection_request_timer.it_value.tv_nsec = (long)(o.retry_ms % 1000) * 1000000;
		sa.connection_request_timer.it_interval = sa.connection_request_timer.it_value;
	}
	sa.on_control_fd_update = on_control_fd_update;
	if (!api_ok(memif_create_socket(&g.sock, &sa, NULL), "memif_create_socket"))
		goto out;

	memset(&ca, 0, sizeof(ca));
	ca.socket = g.sock;
	if (o.secret)
		memcpy(ca.secret, o.secret, strlen(o.secret));
	ca.num_s2m_rings = (uint8_t)o.queues;
	ca.num_m2s_rings = (uint8_t)o.queues;
	ca.buffer_size = (uint16_t)o.buffer_size;
	ca.log2_ring_size = (uint8_t)o.log2_ring_size;
	ca.is_master = o.role == ROLE_MASTER;
	ca.interface_id = o.id;
	snprintf((char *)ca.interface_name, sizeof(ca.interface_name), "%s", o.name);
	ca.mode = MEMIF_INTERFACE_MODE_ETHERNET;
	if (!api_ok(memif_create(&g.conn, &ca, on_connect, on_disconnect, on_interrupt, NULL),
		    "memif_create"))
		goto out_socket;
	/* No handshake can have happened yet: that needs our loop to run. */
	base = count_fds();
	print_fdcount("before connecting", base);
	LOG("EVENT ready: %s on '%s', id %u, %u queue(s), %s mode", o.role == ROLE_MASTER ?
	    "listening" : "connecting", memif_get_socket_path(g.sock) ? memif_get_socket_path(g.sock) : "?",
	    o.id, o.queues, o.polling ? "polling" : "interrupt");

	if (o.expect_refused) {
		rc = do_expect_refused(deadline);
	} else if (o.echo) {
		/* The echo peer serves until stopped; not connecting is not its failure. */
		rc = do_echo(deadline);
	} else if (o.reconnect_test) {
		rc = 1;
		if (!wait_connected(deadline, "at first"))
			goto out_delete;
		if (!run_until_link_loss(st1, deadline))
			goto out_delete;
		if (!check_released(base))
			goto out_delete;
		LOG("waiting for the link to come back");
		if (!wait_connected(deadline, "again after the link loss"))
			goto out_delete;
		bool ok = run_phases(st2, deadline);
		LOG("summary after the reconnect (connects %u, disconnects %u):", g.connects,
		    g.disconnects);
		ok = summarize(st2, true) && ok && !g.failed_api;
		if (g.connects != 2) {
			LOG("FAIL: expected 2 connects, saw %u", g.connects);
			ok = false;
		}
		rc = ok ? 0 : 1;
	} else {
		rc = 1;
		if (!wait_connected(deadline, "before the timeout"))
			goto out_delete;
		bool ran = run_phases(st1, deadline);
		bool ok = summarize(st1, true) && ran && !g.failed_api;
		bool peer_bug_only = g.only_peer_bug && ran && !g.failed_api;
		if (g.disconnects) {
			LOG("FAIL: the link went down %u time(s) during the test", g.disconnects);
			ok = peer_bug_only = false;
		}
		/* 3: everything arrived, but a known peer bug damaged framing. */
		rc = ok ? 0 : peer_bug_only ? 3 : 1;
	}

out_delete:
	if (!api_ok(memif_delete(&g.conn), "memif_delete") && (rc == 0 || rc == 3))
		rc = 1;
	if (g.conn) {
		LOG("FAIL: memif_delete did not clear the handle");
		rc = 1;
	}
out_socket:
	if (g.sock && !api_ok(memif_delete_socket(&g.sock), "memif_delete_socket") &&
	    (rc == 0 || rc == 3))
		rc = 1;
	{
		struct fdcount end = count_fds();

		if (end.total != start.total || end.memfd_maps != start.memfd_maps) {
			print_fdcount("at start", start);
			print_fdcount("after memif_delete_socket", end);
			LOG("FAIL: fds or mappings leaked by the library");
			rc = 1;
		}
	}
	for (unsigned q = 0; q < MAX_QUEUES; q++)
		free(g.rxq[q].pkt);
	for (unsigned si = 0; si < MAX_SIZES; si++)
		for (unsigned q = 0; q < MAX_QUEUES; q++) {
			free(st1->q[si][q].seen);
			free(st2->q[si][q].seen);
		}
	free(st1);
	free(st2);
	free(g.scratch);
	free(g.scratch2);
	close(g.epfd);
	printf("RESULT: %s\n", rc == 0 ? "PASS" : rc == 3 ? "FAIL (peer bug only)" : "FAIL");
	return rc;
out:
	close(g.epfd);
	printf("RESULT: FAIL\n");
	return 1;
}
