/* SPDX-License-Identifier: MIT */
/*
 * vpp_peer.c - a memif peer that behaves like VPP's memif plugin.
 *
 * VPP cannot run on the test machines, so this program reproduces, from
 * the raw protocol (include/memif.h only, no libmemif), what VPP's memif
 * plugin does on the wire and in shared memory, and pings an ICMP
 * responder through it:
 *
 *   --role slave   VPP's default slave: zero copy. Region 0 holds only the
 *                  rings (a memfd created with MFD_ALLOW_SEALING and sealed
 *                  F_SEAL_SHRINK); buffers live in further regions, each a
 *                  memfd created WITHOUT MFD_ALLOW_SEALING (it can never be
 *                  sealed, like VPP's hugepage buffer pools), at unaligned
 *                  offsets. The M2S ring is refilled with fresh buffers
 *                  (taken from a FIFO pool, never the slot's last buffer),
 *                  only when at least 32 slots are free, in multiples of 8.
 *                  Transmit puts its own buffers on the S2M ring and frees
 *                  them once the master has consumed at least 16.
 *   --role master  VPP as master: HELLO with the maxima (255/255/255, log2
 *                  14), the secret checked only when configured, copy mode
 *                  both ways: it writes into the slave's M2S buffers at the
 *                  offsets given, with the refill length as the capacity,
 *                  and drops received descriptors longer than 9216 bytes.
 *
 * Both roles: one control message per ACK, in VPP's order (INIT, each
 * ADD_REGION, each ADD_RING with an eventfd, CONNECT), private_hdr_size 0,
 * at most 23 bytes of the secret sent in INIT; as master the configured
 * secret is kept to 23 bytes, as VPP's API does. Interrupt mode waits on
 * the receive ring's eventfd; polling mode sets MEMIF_RING_FLAG_MASK_INT on
 * it and busy-polls. The producer of a ring kicks its eventfd unless the
 * consumer masked it.
 *
 * Stricter than VPP, to test our side: data waiting on the receive ring
 * without an interrupt is a lost wakeup; a kick on a masked ring is an
 * error; as slave, a descriptor whose region or offset the master changed,
 * or whose length passes the 2048 bytes offered, is an error (VPP would
 * silently use its own buffer); as master, region and ring bounds are
 * checked against the files before mapping.
 *
 * Traffic: an ARP request for the responder (VPP resolves its neighbour
 * first), then for each frame size --count ICMP echo requests (IPv4 in
 * Ethernet) with up to --window in flight. Every reply is checked: frame
 * length, MACs, IPv4 header and checksum, addresses, ICMP type, checksum,
 * id, sequence and every payload byte. Prints a summary; exits 0 only if
 * every request got exactly one intact reply and the peer broke no rule we
 * check; 1 otherwise; 2 on a usage error.
 *
 * Sockets, fd passing, control messages and memfds come from test/hostile.c
 * (h_*: the tests' raw-protocol peer, which never calls the library either).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <memif.h>

#include "hostile.h" /* the raw protocol: sockets, fds, messages, memfds */

#define PROG "vpp_peer"

/* VPP's limits and defaults (src/plugins/memif/private.h, vlib buffers). */
#define VPP_MAX_REGION 255
#define VPP_MAX_RING 255
#define VPP_MAX_LOG2_RING 14
#define VPP_SECRET_MAX 23     /* bytes of the secret VPP puts in INIT */
#define VPP_ETH_MAX_DESC 9216 /* ETHERNET_MAX_PACKET_BYTES */
#define VPP_REFILL_MIN 32     /* zero-copy rx refills only this many or more */
#define VPP_TX_FREE_MIN 16    /* zero-copy tx frees consumed buffers in batches */
#define VPP_DATA_SIZE 2048    /* vlib default buffer data size */

/*
 * Our buffer layout in the buffer regions: a "vlib buffer" every BUF_STRIDE
 * bytes (2048 bytes of data plus a header and some slack), its data at
 * BUF_DATA_OFF. Both are odd on purpose, so no offset the master sees is
 * aligned to anything.
 */
#define BUF_STRIDE (VPP_DATA_SIZE + 128 + 45)
#define BUF_DATA_OFF 131

#define MAX_FRAME 65536
#define MAX_SIZES 16
#define MAX_REGIONS (VPP_MAX_REGION + 1)
#define ICMP_ID 0x5650 /* "VP" */

/* ---- options -------------------------------------------------------------------- */

struct opts {
	bool master;
	const char *socket;
	uint32_t id;
	char secret[MEMIF_SECRET_LEN + 1];
	bool has_secret;
	bool polling;
	unsigned sizes[MAX_SIZES];
	unsigned n_sizes;
	unsigned count;
	unsigned window;
	uint8_t log2_ring;
	unsigned buffer_regions;
	uint8_t ip[4], peer_ip[4];
	uint8_t mac[6], peer_mac[6];
	bool check_peer_mac;
	double timeout;
	double connect_timeout;
	bool verbose;
};

/* ---- state ---------------------------------------------------------------------- */

struct region {
	uint8_t *addr;
	uint64_t size;
	int fd;
};

struct ring {
	memif_ring_t *ring;
	uint16_t size;
	uint16_t mask;
	int int_fd;    /* the ring's eventfd: its producer writes, its consumer reads */
	uint16_t head; /* our copy of the index we write, or last seen */
	uint16_t tail;
	uint16_t last;      /* consumer progress (slave: last_tail of M2S; master: last_head) */
	uint16_t freed;     /* slave S2M: consumed slots whose buffers went back */
	uint32_t *slot_buf; /* slave: buffer index held by each slot */
	uint16_t region;    /* master: where ADD_RING put it, until CONNECT maps it */
	uint32_t offset;
	uint8_t log2;
};

struct pool {
	uint32_t *fifo; /* free buffer indexes, oldest first */
	uint32_t n;     /* buffers in total */
	uint32_t first, count;
	uint64_t allocs;
};

struct stats {
	unsigned sent, replies, intact, bad, dup, unexpected;
};

struct peer {
	struct opts o;
	int sock_fd; /* control channel */
	int listen_fd;
	struct region regions[MAX_REGIONS];
	unsigned n_regions;
	struct ring s2m, m2s;
	struct pool pool;
	char peer_name[MEMIF_NAME_LEN + 1];
	char peer_if[MEMIF_NAME_LEN + 1];
	/* checks */
	unsigned errors;
	uint64_t refills, refill_slots, refill_skipped, refill_small;
	uint64_t lost_irqs, irqs, drops_long, drops_bad;
	uint64_t tx_kicks;
	/* traffic */
	uint8_t state[65536]; /* 0 unused, 1 in flight, 2 answered */
	uint16_t seq;
	uint8_t frame[MAX_FRAME];
	uint8_t rx_frame[MAX_FRAME];
	struct stats st[MAX_SIZES];
	unsigned cur; /* index of the size in progress */
	bool arp_done;
};

static struct peer g; /* large: keep it off the stack */
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((format(printf, 1, 0))) static void vfail(const char *fmt, va_list ap)
{
	g.errors++;
	if (g.errors > 20)
		return; /* counted, not printed again and again */
	fputs("ERROR: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
}

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(fmt, ap);
	va_end(ap);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- control channel ------------------------------------------------------------ */

/*
 * Wait until fd is readable before `deadline`: 1; 0 when the time is up or
 * a signal asked us to stop; -1 on a poll error.
 */
static int wait_in(int fd, double deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		double left = deadline - now_s();
		int r;

		if (left <= 0 || g_stop)
			return 0;
		r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* One 128-byte message with fd `fd` (none if negative); 0 or -1. */
static int send_msg(const memif_msg_t *m, int fd)
{
	return h_send_msg(g.sock_fd, m, fd) < 0 ? -1 : 0;
}

/* Receive one message (and at most one fd) before `deadline`; 0 or -1. */
static int recv_msg(memif_msg_t *m, int *fd, double deadline)
{
	int nfds, n, r;

	*fd = -1;
	memset(m, 0, sizeof(*m));
	r = wait_in(g.sock_fd, deadline);
	if (r == 0)
		printf("control channel: no message within the time limit\n");
	if (r <= 0)
		return -1;
	n = h_recv(g.sock_fd, m, sizeof(*m), fd, 1, &nfds, 0, NULL);
	if (n <= 0) {
		printf("control channel: closed by the peer\n");
		close_fd(fd);
		return -1;
	}
	if (n != (int)sizeof(*m)) {
		fail("control message of %d bytes (expected %zu)", n, sizeof(*m));
		close_fd(fd);
		return -1;
	}
	if (m->type == MEMIF_MSG_TYPE_DISCONNECT) {
		char s[MEMIF_DISCONNECT_STRING_LEN + 1];

		h_get_name(s, m->disconnect.string, MEMIF_DISCONNECT_STRING_LEN);
		printf("peer disconnected us: \"%s\" (code %" PRIu32 ")\n", s, m->disconnect.code);
		close_fd(fd);
		return -1;
	}
	return 0;
}

static int expect(uint16_t type, memif_msg_t *m, int *fd, double deadline)
{
	if (recv_msg(m, fd, deadline) < 0)
		return -1;
	if (m->type != type) {
		fail("expected control message type %u, got %u", type, m->type);
		close_fd(fd);
		return -1;
	}
	return 0;
}

/* VPP's way: send one message (with fd, if not negative), wait for its ACK. */
static int send_acked(const memif_msg_t *m, int fd, double deadline)
{
	memif_msg_t ack;
	int ack_fd;

	if (send_msg(m, fd) < 0 || expect(MEMIF_MSG_TYPE_ACK, &ack, &ack_fd, deadline) < 0)
		return -1;
	close_fd(&ack_fd);
	return 0;
}

static int send_ack(void)
{
	memif_msg_t m;

	h_msg_ack(&m);
	return send_msg(&m, -1);
}

static void send_disconnect(const char *why)
{
	memif_msg_t m;

	h_msg_disconnect(&m, 0, why);
	(void)send_msg(&m, -1);
}

/* Master: refuse the slave with DISCONNECT `why`; the error says more. -1. */
__attribute__((format(printf, 2, 3))) static int refuse(const char *why, const char *fmt, ...)
{
	va_list ap;

	send_disconnect(why);
	va_start(ap, fmt);
	vfail(fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- shared memory -------------------------------------------------------------- */

static int make_memfd(const char *name, uint64_t size, bool sealable)
{
	/* VPP: clib_mem_vm_create_fd. Default pages: MFD_ALLOW_SEALING, then
	 * F_SEAL_SHRINK. Buffer pools on hugepages: MFD_HUGETLB and no
	 * MFD_ALLOW_SEALING. No hugepages here: a plain memfd, still unsealable. */
	int fd = h_memfd_named(name, size, sealable ? H_MEM_SEALED : H_MEM_UNSEALABLE);

	if (fd < 0) {
		fail("memfd %s of %" PRIu64 " bytes: %s", name, size, strerror(-fd));
		return -1;
	}
	return fd;
}

static int map_region(struct region *r)
{
	void *p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);

	if (p == MAP_FAILED) {
		fail("mmap of %" PRIu64 " bytes: %s", r->size, strerror(errno));
		return -1;
	}
	r->addr = p;
	return 0;
}

static void ring_init(struct ring *q, memif_ring_t *ring, uint8_t log2, int int_fd)
{
	q->ring = ring;
	q->size = (uint16_t)(1u << log2);
	q->mask = (uint16_t)(q->size - 1u);
	q->int_fd = int_fd;
	q->head = q->tail = q->last = q->freed = 0;
}

static void kick(struct ring *q)
{
	uint64_t one = 1;

	/* Publish before we look at the mask: pairs with the consumer's store
	 * of the flag followed by its re-check of the ring. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&q->ring->flags, __ATOMIC_RELAXED) & MEMIF_RING_FLAG_MASK_INT)
		return;
	if (write(q->int_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		fail("eventfd write: %s", strerror(errno));
	g.tx_kicks++;
}

/* ---- buffer pool (slave, zero copy) --------------------------------------------- */

static uint16_t buf_region(uint32_t b)
{
	return (uint16_t)(1u + b % g.o.buffer_regions);
}

static uint32_t buf_offset(uint32_t b)
{
	return (b / g.o.buffer_regions) * BUF_STRIDE + BUF_DATA_OFF;
}

static uint8_t *buf_data(uint32_t b)
{
	return g.regions[buf_region(b)].addr + buf_offset(b);
}

/* A descriptor of `len` bytes in buffer b, `skip` bytes into its data. */
static memif_desc_t buf_desc(uint32_t b, uint32_t skip, uint32_t len, uint16_t flags)
{
	memif_desc_t d = {
		.flags = flags,
		.region = buf_region(b),
		.length = len,
		.offset = buf_offset(b) + skip,
		.metadata = 0,
	};

	return d;
}

static bool pool_get(uint32_t *b)
{
	struct pool *p = &g.pool;

	if (p->count == 0)
		return false;
	*b = p->fifo[p->first];
	p->first = (p->first + 1) % p->n;
	p->count--;
	p->allocs++;
	return true;
}

static void pool_put(uint32_t b)
{
	struct pool *p = &g.pool;

	p->fifo[(p->first + p->count) % p->n] = b;
	p->count++;
}

/* ---- frames --------------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)get16(p + i);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint8_t pattern(uint16_t seq, size_t i)
{
	return (uint8_t)(i * 31u + seq * 7u + (i >> 8) + 0x5a);
}

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* An ICMP echo request of `size` bytes in all (Ethernet header included). */
static size_t build_echo(uint8_t *f, unsigned size, uint16_t seq)
{
	size_t ip_len = size - 14u;

	memcpy(f, g.o.peer_mac, 6);
	memcpy(f + 6, g.o.mac, 6);
	put16(f + 12, 0x0800);
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)ip_len);
	put16(ip + 4, seq);
	ip[8] = 64;
	ip[9] = 1;
	memcpy(ip + 12, g.o.ip, 4);
	memcpy(ip + 16, g.o.peer_ip, 4);
	put16(ip + 10, csum(ip, 20));
	uint8_t *icmp = ip + 20;
	icmp[0] = 8;
	icmp[1] = 0;
	put16(icmp + 2, 0);
	put16(icmp + 4, ICMP_ID);
	put16(icmp + 6, seq);
	for (size_t i = 0; i < ip_len - 28; i++)
		icmp[8 + i] = pattern(seq, i);
	put16(icmp + 2, csum(icmp, ip_len - 20));
	return size;
}

static size_t build_arp(uint8_t *f)
{
	memset(f, 0, 60);
	memcpy(f, bcast, 6);
	memcpy(f + 6, g.o.mac, 6);
	put16(f + 12, 0x0806);
	uint8_t *a = f + 14;
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);
	memcpy(a + 8, g.o.mac, 6);
	memcpy(a + 14, g.o.ip, 4);
	memcpy(a + 24, g.o.peer_ip, 4);
	return 60;
}

static const char *check_echo_reply(const uint8_t *f, size_t len, uint16_t *seq_out)
{
	const uint8_t *ip = f + 14, *icmp = f + 34;
	uint16_t seq;
	unsigned size;

	if (len < 42)
		return "short frame";
	if (memcmp(f, g.o.mac, 6) != 0)
		return "wrong destination MAC";
	if (memcmp(f + 6, g.o.peer_mac, 6) != 0)
		return "wrong source MAC";
	if (get16(f + 12) != 0x0800)
		return "not IPv4";
	if (ip[0] != 0x45)
		return "IPv4 version/header length";
	if (csum(ip, 20) != 0)
		return "IPv4 header checksum";
	if (ip[9] != 1)
		return "not ICMP";
	if (memcmp(ip + 12, g.o.peer_ip, 4) != 0 || memcmp(ip + 16, g.o.ip, 4) != 0)
		return "IPv4 addresses";
	if (icmp[0] != 0 || icmp[1] != 0)
		return "not an ICMP echo reply";
	if (get16(icmp + 4) != ICMP_ID)
		return "ICMP id";
	seq = get16(icmp + 6);
	*seq_out = seq;
	if (g.state[seq] == 0)
		return "reply to a request never sent";
	if (g.state[seq] == 2)
		return "duplicate reply";
	size = g.o.sizes[g.cur];
	if (len != size)
		return "frame length differs from the request";
	if (get16(ip + 2) != size - 14u)
		return "IPv4 total length";
	if (csum(icmp, size - 34u) != 0)
		return "ICMP checksum";
	for (size_t i = 0; i < size - 42u; i++)
		if (icmp[8 + i] != pattern(seq, i))
			return "payload differs";
	return NULL;
}

/* One received frame, reassembled. */
static void on_frame(const uint8_t *f, size_t len)
{
	struct stats *st = &g.st[g.cur];
	uint16_t seq = 0;
	const char *why;

	if (len >= 42 && get16(f + 12) == 0x0806) {
		const uint8_t *a = f + 14;

		if (get16(a + 6) == 2 && memcmp(a + 14, g.o.peer_ip, 4) == 0 &&
		    memcmp(a + 24, g.o.ip, 4) == 0 && memcmp(f, g.o.mac, 6) == 0) {
			if (g.o.check_peer_mac && memcmp(a + 8, g.o.peer_mac, 6) != 0)
				fail("ARP reply with an unexpected MAC");
			memcpy(g.o.peer_mac, a + 8, 6);
			if (!g.arp_done)
				printf("ARP reply from %u.%u.%u.%u: %02x:%02x:%02x:%02x:%02x:%02x\n",
				       a[14], a[15], a[16], a[17], a[8], a[9], a[10], a[11], a[12],
				       a[13]);
			g.arp_done = true;
			return;
		}
	}
	if (!g.arp_done) {
		st->unexpected++;
		fail("frame of %zu bytes before the ARP reply", len);
		return;
	}
	why = check_echo_reply(f, len, &seq);
	if (why) {
		if (g.state[seq] == 2 && len >= 42)
			st->dup++;
		else
			st->bad++;
		fail("reply (%zu bytes, seq %u): %s", len, seq, why);
		return;
	}
	g.state[seq] = 2;
	st->replies++;
	st->intact++;
}

/* ---- slave: zero-copy transmit and receive -------------------------------------- */

static void slave_free_consumed(bool all)
{
	struct ring *q = &g.s2m;
	/* The master consumed up to tail: pairs with its release of tail. */
	uint16_t tail = __atomic_load_n(&q->ring->tail, __ATOMIC_ACQUIRE);
	uint16_t n = (uint16_t)(tail - q->freed);

	if (n > q->size) {
		fail("S2M tail %u is more than a ring ahead of what we sent", tail);
		return;
	}
	if (n < VPP_TX_FREE_MIN && !all)
		return;
	while (n--) {
		pool_put(q->slot_buf[q->freed & q->mask]);
		q->freed++;
	}
}

/* Zero copy: the frame lives in our buffers; S2M descriptors point at them. */
static bool slave_tx(const uint8_t *f, size_t len, uint16_t seq)
{
	struct ring *q = &g.s2m;
	uint16_t free_slots;
	size_t off = 0;
	unsigned nseg = 0, need;
	/* Headroom of the first buffer: like a vlib buffer's current_data, any. */
	uint32_t headroom = (uint32_t)(seq * 13u + 5u) % 97u;

	slave_free_consumed(false);
	free_slots = (uint16_t)(q->size - (uint16_t)(q->head - q->freed));
	need = (unsigned)((len + headroom + VPP_DATA_SIZE - 1) / VPP_DATA_SIZE);
	if (need > free_slots || need > g.pool.count)
		return false;
	while (off < len) {
		uint32_t b = 0, skip = nseg == 0 ? headroom : 0u;
		uint32_t n = VPP_DATA_SIZE - skip;

		pool_get(&b);
		if (n > len - off)
			n = (uint32_t)(len - off);
		memcpy(buf_data(b) + skip, f + off, n);
		off += n;
		q->ring->desc[q->head & q->mask] =
			buf_desc(b, skip, n, off < len ? MEMIF_DESC_FLAG_NEXT : 0);
		q->slot_buf[q->head & q->mask] = b;
		q->head++;
		nseg++;
	}
	/* Publish the descriptors: pairs with the master's acquire of head. */
	__atomic_store_n(&q->ring->head, q->head, __ATOMIC_RELEASE);
	return true;
}

/* VPP's zero-copy refill: fresh buffers, >= 32 free slots, multiples of 8. */
static void slave_refill(void)
{
	struct ring *q = &g.m2s;
	uint16_t n = (uint16_t)(q->size - (uint16_t)(q->head - q->last));

	n &= (uint16_t)~7u;
	if (n < VPP_REFILL_MIN) {
		if (n)
			g.refill_small++;
		return;
	}
	for (uint16_t i = 0; i < n; i++) {
		uint16_t s = q->head & q->mask;
		uint32_t b;

		if (!pool_get(&b))
			break; /* VPP: "buffer alloc fail", fewer slots this time */
		if (b == q->slot_buf[s]) {
			/* Never the slot's previous buffer: to the back, take the next. */
			pool_put(b);
			g.refill_skipped++;
			if (!pool_get(&b) || b == q->slot_buf[s]) {
				fail("buffer pool too small for fresh refills");
				break;
			}
		}
		q->slot_buf[s] = b;
		q->ring->desc[s] = buf_desc(b, 0, VPP_DATA_SIZE, 0);
		q->head++;
		g.refill_slots++;
	}
	g.refills++;
	/* Offer the buffers: pairs with the master's acquire of head. */
	__atomic_store_n(&q->ring->head, q->head, __ATOMIC_RELEASE);
}

/*
 * Where the data of descriptor d (slot s of the receive ring) is, once the
 * role's checks passed; NULL: the segment is refused (the check counted or
 * reported why).
 */
typedef const uint8_t *(*seg_fn)(uint16_t s, const memif_desc_t *d);

/* Called with each complete chain of n slots, before they are released. */
typedef void (*chain_fn)(const struct ring *q, uint16_t n, bool ok);

/*
 * Take every complete chain among the `avail` slots published on receive
 * ring q, from q->last on: each segment through seg, the frame reassembled
 * in g.rx_frame and given to on_frame if no segment was refused. A chain
 * whose last segment is not published yet stays. Returns the frames taken.
 */
static unsigned rx_chains(struct ring *q, uint16_t avail, seg_fn seg, chain_fn taken)
{
	unsigned frames = 0;

	while (avail) {
		size_t len = 0;
		uint16_t used = 0;
		bool ok = true, done = false;

		while (used < avail) {
			uint16_t s = (uint16_t)(q->last + used) & q->mask;
			memif_desc_t d = q->ring->desc[s];
			const uint8_t *data = seg(s, &d);

			used++;
			if (data == NULL || len + d.length > sizeof(g.rx_frame)) {
				ok = false;
			} else {
				memcpy(g.rx_frame + len, data, d.length);
				len += d.length;
			}
			if (!(d.flags & MEMIF_DESC_FLAG_NEXT)) {
				done = true;
				break;
			}
		}
		if (!done)
			break; /* the rest of the chain is not published yet */
		if (taken)
			taken(q, used, ok);
		q->last = (uint16_t)(q->last + used);
		avail = (uint16_t)(avail - used);
		frames++;
		if (ok)
			on_frame(g.rx_frame, len);
	}
	return frames;
}

/* Slave: the master must leave our buffer where we put it, and fill <= 2048. */
static const uint8_t *slave_seg(uint16_t s, const memif_desc_t *d)
{
	uint32_t b = g.m2s.slot_buf[s];

	if (d->region != buf_region(b) || d->offset != buf_offset(b)) {
		fail("M2S slot %u: the master moved our buffer (region %u offset %u, we gave %u/%u)",
		     s, d->region, d->offset, buf_region(b), buf_offset(b));
		return NULL;
	}
	if (d->length > VPP_DATA_SIZE) {
		fail("M2S slot %u: length %u beyond the %u we offered", s, d->length,
		     VPP_DATA_SIZE);
		return NULL;
	}
	return buf_data(b);
}

/* Slave: a chain's buffers go back to the pool; a refused one counts as bad. */
static void slave_taken(const struct ring *q, uint16_t n, bool ok)
{
	for (uint16_t i = 0; i < n; i++)
		pool_put(q->slot_buf[(uint16_t)(q->last + i) & q->mask]);
	if (!ok)
		g.st[g.cur].bad++;
}

/* Take what the master wrote into our M2S buffers, then refill. */
static unsigned slave_rx(void)
{
	struct ring *q = &g.m2s;
	/* Pairs with the master's release of tail. */
	uint16_t tail = __atomic_load_n(&q->ring->tail, __ATOMIC_ACQUIRE);
	uint16_t avail = (uint16_t)(tail - q->last);
	unsigned frames;

	if (avail > (uint16_t)(q->head - q->last)) {
		fail("M2S tail %u passes the buffers we offered (head %u)", tail, q->head);
		return 0;
	}
	frames = rx_chains(q, avail, slave_seg, slave_taken);
	slave_refill();
	return frames;
}

/* ---- master: copy mode ---------------------------------------------------------- */

static bool desc_in_region(const memif_desc_t *d)
{
	return d->region < g.n_regions &&
	       (uint64_t)d->offset + d->length <= g.regions[d->region].size;
}

/* Copy into the slave's M2S buffers; the refill length is the capacity. */
static bool master_tx(const uint8_t *f, size_t len, uint16_t seq)
{
	struct ring *q = &g.m2s;
	/* The slave's offered buffers: pairs with its release of head. */
	uint16_t head = __atomic_load_n(&q->ring->head, __ATOMIC_ACQUIRE);
	uint16_t slot = q->tail, free_slots = (uint16_t)(head - q->tail);
	size_t off = 0;

	(void)seq;
	if (free_slots > q->size) {
		fail("M2S head %u is more than a ring ahead of our tail %u", head, q->tail);
		return false;
	}
	while (off < len) {
		memif_desc_t d;
		uint32_t n;

		if (free_slots == 0)
			return false; /* roll back: tail not published */
		d = q->ring->desc[slot & q->mask];
		if (d.length == 0 || !desc_in_region(&d)) {
			fail("M2S slot %u offered a bad buffer (region %u offset %u length %u)",
			     slot & q->mask, d.region, d.offset, d.length);
			return false;
		}
		n = (uint32_t)(len - off < d.length ? len - off : d.length);
		memcpy(g.regions[d.region].addr + d.offset, f + off, n);
		off += n;
		d.length = n;
		d.flags = off < len ? MEMIF_DESC_FLAG_NEXT : 0;
		q->ring->desc[slot & q->mask].length = d.length;
		q->ring->desc[slot & q->mask].flags = d.flags;
		slot++;
		free_slots--;
	}
	q->tail = slot;
	/* Hand the filled buffers over: pairs with the slave's acquire of tail. */
	__atomic_store_n(&q->ring->tail, q->tail, __ATOMIC_RELEASE);
	return true;
}

/* Master: VPP drops what is outside the regions, empty or over 9216 bytes. */
static const uint8_t *master_seg(uint16_t s, const memif_desc_t *d)
{
	(void)s;
	if (!desc_in_region(d)) {
		fail("S2M descriptor outside its region (region %u offset %u length %u)", d->region,
		     d->offset, d->length);
		g.drops_bad++;
		return NULL;
	}
	if (d->length > VPP_ETH_MAX_DESC) {
		/* VPP: MEMIF_DESC_STATUS_ERR_DATA_TOO_BIG, the packet is dropped */
		g.drops_long++;
		return NULL;
	}
	if (d->length == 0) {
		g.drops_bad++;
		return NULL;
	}
	return g.regions[d->region].addr + d->offset;
}

static unsigned master_rx(void)
{
	struct ring *q = &g.s2m;
	/* Pairs with the slave's release of head. */
	uint16_t head = __atomic_load_n(&q->ring->head, __ATOMIC_ACQUIRE);
	uint16_t avail = (uint16_t)(head - q->last);
	unsigned frames;

	if (avail > q->size) {
		fail("S2M head %u is more than a ring ahead of our tail %u", head, q->last);
		return 0;
	}
	frames = rx_chains(q, avail, master_seg, NULL);
	/* Release the slots: pairs with the slave's acquire of tail. */
	__atomic_store_n(&q->ring->tail, q->last, __ATOMIC_RELEASE);
	return frames;
}

/* ---- role-independent traffic ---------------------------------------------------- */

static struct ring *rx_ring(void)
{
	return g.o.master ? &g.s2m : &g.m2s;
}

static struct ring *tx_ring(void)
{
	return g.o.master ? &g.m2s : &g.s2m;
}

static bool tx_frame(const uint8_t *f, size_t len, uint16_t seq)
{
	return g.o.master ? master_tx(f, len, seq) : slave_tx(f, len, seq);
}

static unsigned rx_frames(void)
{
	return g.o.master ? master_rx() : slave_rx();
}

static bool rx_pending(void)
{
	struct ring *q = rx_ring();

	if (g.o.master)
		return __atomic_load_n(&q->ring->head, __ATOMIC_ACQUIRE) != q->last;
	return __atomic_load_n(&q->ring->tail, __ATOMIC_ACQUIRE) != q->last;
}

/* Has the control channel said anything (a DISCONNECT, or closed)? */
static bool control_alive(void)
{
	struct pollfd p = { .fd = g.sock_fd, .events = POLLIN };
	memif_msg_t m;
	int fd;

	if (poll(&p, 1, 0) <= 0)
		return true;
	if (recv_msg(&m, &fd, now_s() + 1) < 0)
		return false;
	close_fd(&fd);
	fail("unexpected control message type %u during traffic", m.type);
	return true;
}

/*
 * Wait for the receive ring: interrupt mode sleeps on its eventfd (an
 * interrupt that never comes while the ring has data is a lost wakeup,
 * counted as an error); polling mode spins.
 */
static void rx_wait(double until)
{
	struct ring *q = rx_ring();

	if (g.o.polling) {
		while (!rx_pending() && now_s() < until && !g_stop)
			sched_yield();
		rx_frames();
		return;
	}
	struct pollfd p = { .fd = q->int_fd, .events = POLLIN };
	double left = until - now_s();
	int r = poll(&p, 1, left > 0 ? (int)(left * 1000) + 1 : 0);

	if (r > 0) {
		uint64_t v;

		if (read(q->int_fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
			g.irqs += v;
		rx_frames();
	} else if (rx_pending()) {
		g.lost_irqs++;
		fail("lost interrupt: the receive ring has data but its eventfd was not kicked");
		rx_frames();
	}
}

static int arp_phase(double deadline)
{
	double next = 0;

	while (!g.arp_done) {
		double t = now_s();

		if (t > deadline || g_stop) {
			fail("no ARP reply from the responder");
			return -1;
		}
		if (!control_alive())
			return -1;
		if (t >= next) {
			size_t n = build_arp(g.frame);
			if (tx_frame(g.frame, n, 0))
				kick(tx_ring());
			next = t + 0.5;
		}
		rx_wait(t + 0.5 < deadline ? t + 0.5 : deadline);
	}
	return 0;
}

static int size_phase(unsigned idx, double deadline)
{
	struct stats *st = &g.st[idx];
	unsigned size = g.o.sizes[idx];
	unsigned answered_before, inflight;
	double last_progress = now_s();

	g.cur = idx;
	while (st->replies < g.o.count) {
		unsigned sent_now = 0;

		if (g_stop || now_s() > deadline)
			break;
		if (!control_alive())
			return -1;
		inflight = st->sent - st->replies;
		while (st->sent < g.o.count && inflight < g.o.window) {
			uint16_t seq = ++g.seq;
			size_t n = build_echo(g.frame, size, seq);

			if (!tx_frame(g.frame, n, seq)) {
				g.seq--;
				break;
			}
			g.state[seq] = 1;
			st->sent++;
			inflight++;
			sent_now++;
		}
		if (sent_now)
			kick(tx_ring());
		answered_before = st->replies;
		rx_wait(now_s() + 1.0);
		if (st->replies != answered_before) {
			last_progress = now_s();
		} else if (now_s() - last_progress > 3.0) {
			fail("%u-byte frames: no reply for 3 s (%u sent, %u replies)", size,
			     st->sent, st->replies);
			break;
		}
		if (!g.o.master)
			slave_free_consumed(false);
	}
	return 0;
}

/* ---- slave handshake (VPP's default slave: zero copy) ---------------------------- */

static int slave_connect(double deadline)
{
	for (;;) {
		int fd = h_connect(g.o.socket);

		if (fd >= 0) {
			g.sock_fd = fd;
			return 0;
		}
		if (fd == -EINVAL) {
			fprintf(stderr, PROG ": bad socket path '%s'\n", g.o.socket);
			return -1;
		}
		if (now_s() > deadline || g_stop) {
			fail("cannot connect to %s: %s", g.o.socket, strerror(-fd));
			return -1;
		}
		usleep(100 * 1000); /* VPP retries every 3 s; we are in a hurry */
	}
}

static int slave_setup_memory(uint8_t log2)
{
	uint32_t per_region, nbuf;
	char name[64];

	/* Region 0: rings only (S2M ring 0, then M2S ring 0). */
	g.n_regions = 1 + g.o.buffer_regions;
	g.regions[0].size = 2 * h_ring_bytes(log2);
	snprintf(name, sizeof(name), "memif0/%u region 0", (unsigned)g.o.id);
	g.regions[0].fd = make_memfd(name, g.regions[0].size, true);
	if (g.regions[0].fd < 0 || map_region(&g.regions[0]) < 0)
		return -1;

	/* Buffer pools: enough that the FIFO never hands a slot its last buffer. */
	nbuf = 4u << log2;
	if (nbuf < 4096)
		nbuf = 4096;
	nbuf += g.o.buffer_regions - nbuf % g.o.buffer_regions;
	per_region = nbuf / g.o.buffer_regions;
	for (unsigned i = 1; i < g.n_regions; i++) {
		struct region *r = &g.regions[i];
		uint64_t bytes = (uint64_t)per_region * BUF_STRIDE;

		r->size = (bytes + 4095) & ~(uint64_t)4095; /* n_pages << log2_page_size */
		snprintf(name, sizeof(name), "buffers-numa-%u", i - 1);
		r->fd = make_memfd(name, r->size, false);
		if (r->fd < 0 || map_region(r) < 0)
			return -1;
		/* What VPP's hugepage memfds are: sealed against further sealing. */
		int seals = fcntl(r->fd, F_GET_SEALS);
		if (seals < 0 || !(seals & F_SEAL_SEAL)) {
			fail("buffer region %u is sealable (seals 0x%x); it should not be", i,
			     seals);
			return -1;
		}
	}
	g.pool.n = nbuf;
	g.pool.fifo = calloc(nbuf, sizeof(uint32_t));
	if (!g.pool.fifo)
		return -1;
	for (uint32_t b = 0; b < nbuf; b++)
		pool_put(b); /* consecutive buffers alternate between regions */

	int s2m_fd = h_eventfd();
	int m2s_fd = h_eventfd();
	if (s2m_fd < 0 || m2s_fd < 0) {
		fail("eventfd: %s", strerror(-(s2m_fd < 0 ? s2m_fd : m2s_fd)));
		return -1;
	}
	ring_init(&g.s2m, (memif_ring_t *)g.regions[0].addr, log2, s2m_fd);
	ring_init(&g.m2s, (memif_ring_t *)(g.regions[0].addr + h_ring_bytes(log2)), log2, m2s_fd);
	g.s2m.slot_buf = calloc(g.s2m.size, sizeof(uint32_t));
	g.m2s.slot_buf = calloc(g.m2s.size, sizeof(uint32_t));
	if (!g.s2m.slot_buf || !g.m2s.slot_buf)
		return -1;
	for (uint16_t i = 0; i < g.m2s.size; i++)
		g.m2s.slot_buf[i] = UINT32_MAX;
	g.s2m.ring->cookie = MEMIF_COOKIE;
	g.m2s.ring->cookie = MEMIF_COOKIE;
	return 0;
}

static int slave_handshake(double deadline)
{
	memif_msg_t m;
	int fd;
	uint8_t log2;
	char if_name[MEMIF_NAME_LEN + 1];

	snprintf(if_name, sizeof(if_name), "memif0/%u", (unsigned)g.o.id);

	if (expect(MEMIF_MSG_TYPE_HELLO, &m, &fd, deadline) < 0)
		return -1;
	close_fd(&fd);
	h_get_name(g.peer_name, m.hello.name, MEMIF_NAME_LEN);
	if (m.hello.min_version > MEMIF_VERSION || m.hello.max_version < MEMIF_VERSION) {
		fail("incompatible protocol version");
		return -1;
	}
	log2 = g.o.log2_ring < m.hello.max_log2_ring_size ? g.o.log2_ring :
							    m.hello.max_log2_ring_size;
	if (slave_setup_memory(log2) < 0)
		return -1;

	h_msg_init(&m, MEMIF_VERSION, g.o.id, MEMIF_INTERFACE_MODE_ETHERNET, NULL,
		   "VPP-like " PROG);
	if (g.o.has_secret) /* VPP's memif_msg_strlcpy: at most 23 bytes, then a NUL */
		memcpy(m.init.secret, g.o.secret, strnlen(g.o.secret, VPP_SECRET_MAX));
	if (send_acked(&m, -1, deadline) < 0)
		return -1;

	for (unsigned i = 0; i < g.n_regions; i++) {
		h_msg_add_region(&m, (uint16_t)i, g.regions[i].size);
		if (send_acked(&m, g.regions[i].fd, deadline) < 0)
			return -1;
	}
	for (int dir = 0; dir < 2; dir++) { /* tx queues (S2M) first, then rx (M2S) */
		struct ring *q = dir == 0 ? &g.s2m : &g.m2s;

		/* queue 0 in region 0, private_hdr_size 0 */
		h_msg_add_ring(&m, dir == 0, 0, 0,
			       (uint32_t)((uint8_t *)q->ring - g.regions[0].addr), log2);
		if (send_acked(&m, q->int_fd, deadline) < 0)
			return -1;
	}
	h_msg_connect(&m, false, if_name);
	if (send_msg(&m, -1) < 0 || expect(MEMIF_MSG_TYPE_CONNECTED, &m, &fd, deadline) < 0)
		return -1;
	close_fd(&fd);
	h_get_name(g.peer_if, m.connected.if_name, MEMIF_NAME_LEN);

	/* memif_connect: polling rx queues mask their interrupt; an interrupt
	 * queue starts with one pending, so the input node runs once and fills
	 * the M2S ring. */
	if (g.o.polling)
		__atomic_store_n(&g.m2s.ring->flags, MEMIF_RING_FLAG_MASK_INT, __ATOMIC_RELAXED);
	slave_refill();
	printf("connected to \"%s\" (app \"%s\"); zero copy: region 0 = 2 rings of %u slots, "
	       "%u buffer region(s) of %" PRIu64 " bytes, %u buffers, stride %u, data offset %u\n",
	       g.peer_if, g.peer_name, g.m2s.size, g.o.buffer_regions, g.regions[1].size, g.pool.n,
	       BUF_STRIDE, BUF_DATA_OFF);
	return 0;
}

/* ---- master handshake ----------------------------------------------------------- */

static const char *master_check_init(const memif_msg_init_t *in)
{
	if (in->version != MEMIF_VERSION)
		return "unsupported version";
	if (in->id != g.o.id)
		return "unmatched interface id";
	if (in->mode != MEMIF_INTERFACE_MODE_ETHERNET)
		return "mode mismatch";
	if (g.o.has_secret) {
		/* VPP's API stores at most 23 bytes of a configured secret (it
		 * writes a NUL into the last of the 24), and memif_msg_receive_init
		 * compares the received bytes up to a NUL (all 24 if there is
		 * none) with it exactly. (A secret given on VPP's CLI keeps all
		 * 24 bytes and then never matches a slave that sends 23.) */
		size_t n = strnlen((const char *)in->secret, MEMIF_SECRET_LEN);
		size_t ours = strlen(g.o.secret);

		if (ours > VPP_SECRET_MAX)
			ours = VPP_SECRET_MAX;
		if (n == 0)
			return "secret required";
		if (n != ours || memcmp(in->secret, g.o.secret, n) != 0)
			return "incorrect secret";
	}
	return NULL;
}

static int master_accept(double deadline)
{
	int fd = h_listen(g.o.socket);

	if (fd < 0) {
		fail("listen on %s: %s", g.o.socket, strerror(-fd));
		return -1;
	}
	g.listen_fd = fd;
	printf("listening on %s\n", g.o.socket);
	fflush(stdout);
	if (wait_in(g.listen_fd, deadline) <= 0) {
		fail("no slave connected within the time limit");
		return -1;
	}
	fd = h_accept(g.listen_fd, 0, NULL);
	if (fd < 0) {
		fail("accept: %s", strerror(-fd));
		return -1;
	}
	g.sock_fd = fd;
	return 0;
}

static int master_handshake(double deadline)
{
	memif_msg_t m;
	int fd = -1;
	const char *why;
	int rings[2] = { 0, 0 };
	struct ring *q;
	char if_name[MEMIF_NAME_LEN + 1];

	h_msg_hello(&m, "VPP-like " PROG, MEMIF_VERSION, MEMIF_VERSION, VPP_MAX_REGION,
		    VPP_MAX_RING, VPP_MAX_RING, VPP_MAX_LOG2_RING);
	if (send_msg(&m, -1) < 0)
		return -1;

	if (expect(MEMIF_MSG_TYPE_INIT, &m, &fd, deadline) < 0)
		return -1;
	close_fd(&fd);
	h_get_name(g.peer_name, m.init.name, MEMIF_NAME_LEN);
	why = master_check_init(&m.init);
	if (why) {
		printf("refusing the slave: %s\n", why);
		return refuse(why, "slave refused: %s", why);
	}
	if (send_ack() < 0)
		return -1;

	for (;;) {
		if (recv_msg(&m, &fd, deadline) < 0)
			return -1;
		switch (m.type) {
		case MEMIF_MSG_TYPE_ADD_REGION:
			why = fd < 0                              ? "missing memory region fd" :
			      m.add_region.index != g.n_regions   ? "unexpected region index" :
			      m.add_region.index > VPP_MAX_REGION ? "too many regions" :
								    NULL;
			if (!why) {
				struct region *r = &g.regions[g.n_regions++];
				r->fd = fd;
				r->size = m.add_region.size;
				fd = -1;
			}
			break;
		case MEMIF_MSG_TYPE_ADD_RING: {
			bool s2m = m.add_ring.flags & MEMIF_MSG_ADD_RING_FLAG_S2M;

			why = fd < 0                         ? "missing ring interrupt fd" :
			      m.add_ring.private_hdr_size    ? "private headers not supported" :
			      m.add_ring.index != rings[s2m] ? "unexpected ring index" :
							       NULL;
			if (!why && m.add_ring.index > 0)
				why = "more than one queue pair (this peer serves one)";
			if (!why && (m.add_ring.region >= g.n_regions ||
				     m.add_ring.log2_ring_size > VPP_MAX_LOG2_RING))
				why = "bad ring region or size";
			if (!why) {
				q = s2m ? &g.s2m : &g.m2s;
				q->int_fd = fd;
				fd = -1;
				q->region = m.add_ring.region;
				q->offset = m.add_ring.offset;
				q->log2 = m.add_ring.log2_ring_size;
				rings[s2m]++;
			}
			break;
		}
		case MEMIF_MSG_TYPE_CONNECT:
			why = rings[0] != 1 || rings[1] != 1 ? "expected one ring each way" : NULL;
			if (!why) {
				h_get_name(g.peer_if, m.connect.if_name, MEMIF_NAME_LEN);
				goto connect;
			}
			break;
		default:
			why = "unexpected message";
			break;
		}
		close_fd(&fd);
		if (why)
			return refuse(why, "slave's setup refused: %s", why);
		if (send_ack() < 0)
			return -1;
	}

connect:
	/* memif_connect: map every region, find the rings, check their cookies.
	 * (VPP maps the announced size without looking at the file; we check
	 * it, so that a short file is an error here and not a SIGBUS.) */
	for (unsigned i = 0; i < g.n_regions; i++) {
		struct stat stt;
		if (fstat(g.regions[i].fd, &stt) < 0 || (uint64_t)stt.st_size < g.regions[i].size)
			return refuse("region smaller than announced",
				      "region %u is smaller than announced", i);
		if (map_region(&g.regions[i]) < 0)
			return -1;
	}
	for (int dir = 0; dir < 2; dir++) {
		q = dir ? &g.s2m : &g.m2s;
		if ((uint64_t)q->offset + h_ring_bytes(q->log2) > g.regions[q->region].size ||
		    q->offset % 8)
			return refuse("ring outside its region", "%s ring outside region %u",
				      dir ? "S2M" : "M2S", q->region);
		ring_init(q, (memif_ring_t *)(g.regions[q->region].addr + q->offset), q->log2,
			  q->int_fd);
		if (q->ring->cookie != MEMIF_COOKIE)
			return refuse("wrong cookie on ring", "wrong cookie on the %s ring",
				      dir ? "S2M" : "M2S");
		/* Start from what is in the ring (VPP's ring indexes start at 0). */
		q->head = __atomic_load_n(&q->ring->head, __ATOMIC_ACQUIRE);
		q->tail = __atomic_load_n(&q->ring->tail, __ATOMIC_ACQUIRE);
		q->last = dir ? q->tail : q->head;
	}
	if (g.o.polling)
		__atomic_store_n(&g.s2m.ring->flags, MEMIF_RING_FLAG_MASK_INT, __ATOMIC_RELAXED);

	snprintf(if_name, sizeof(if_name), "memif0/%u", (unsigned)g.o.id);
	h_msg_connect(&m, true, if_name);
	if (send_msg(&m, -1) < 0)
		return -1;
	printf("connected to \"%s\" (app \"%s\"); copy mode, %u regions, rings of %u (M2S) and "
	       "%u (S2M) slots\n",
	       g.peer_if, g.peer_name, g.n_regions, g.m2s.size, g.s2m.size);
	return 0;
}

/* ---- options -------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [OPTION]...\n"
		"A memif peer that behaves like VPP's memif plugin, pinging an ICMP responder.\n"
		"\n"
		"  --role=slave|master    slave: VPP's zero-copy slave (default);\n"
		"                         master: VPP as master, copy mode\n"
		"  --socket=PATH          control socket; @NAME for an abstract one\n"
		"                         (default /run/vpp/memif.sock)\n"
		"  --id=N                 interface id (default 0)\n"
		"  --secret=S             secret (at most 24 bytes; INIT carries 23 of them)\n"
		"  --mode=interrupt|polling  receive mode (default interrupt)\n"
		"  --sizes=A,B,...        total frame sizes, 60 to 16384 (default 98,1500,9000)\n"
		"  --count=N              echo requests per size (default 1000)\n"
		"  --window=N             requests in flight (default 32)\n"
		"  --ring-log2=N          slave: log2 ring size, 5 to 14 (default 10)\n"
		"  --buffer-regions=N     slave: buffer regions, 1 to 8 (default 2)\n"
		"  --ip=A --peer-ip=A     own and responder IPv4 (192.168.1.2, 192.168.1.1)\n"
		"  --mac=M --peer-mac=M   own MAC (02:fe:00:00:01:01), the responder's MAC\n"
		"                         expected in its ARP reply (02:fe:00:00:00:01)\n"
		"  --timeout=S            give up after S seconds (default 20)\n"
		"  -h, --help\n"
		"\n"
		"Exit status: 0 every reply intact, 1 a mismatch or failure, 2 usage error.\n");
}

static int parse_ip(const char *s, uint8_t ip[4])
{
	unsigned a, b, c, d;
	char x;

	if (sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &x) != 4 || a > 255 || b > 255 || c > 255 ||
	    d > 255)
		return -1;
	ip[0] = (uint8_t)a, ip[1] = (uint8_t)b, ip[2] = (uint8_t)c, ip[3] = (uint8_t)d;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char x;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &x) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -1;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_sizes(const char *s)
{
	char buf[256], *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	g.o.n_sizes = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (g.o.n_sizes == MAX_SIZES || parse_uint(t, 60, 16384, &g.o.sizes[g.o.n_sizes]))
			return -1;
		g.o.n_sizes++;
	}
	return g.o.n_sizes ? 0 : -1;
}

static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 'S' },
		{ "id", required_argument, NULL, 'I' },
		{ "secret", required_argument, NULL, 'k' },
		{ "mode", required_argument, NULL, 'M' },
		{ "sizes", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "window", required_argument, NULL, 'w' },
		{ "ring-log2", required_argument, NULL, 'R' },
		{ "buffer-regions", required_argument, NULL, 'B' },
		{ "ip", required_argument, NULL, 'a' },
		{ "peer-ip", required_argument, NULL, 't' },
		{ "mac", required_argument, NULL, 'm' },
		{ "peer-mac", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts *o = &g.o;
	unsigned v;
	int c;

	o->socket = "/run/vpp/memif.sock";
	o->count = 1000;
	o->window = 32;
	o->log2_ring = 10;
	o->buffer_regions = 2;
	o->timeout = 20;
	parse_sizes("98,1500,9000");
	parse_ip("192.168.1.2", o->ip);
	parse_ip("192.168.1.1", o->peer_ip);
	parse_mac("02:fe:00:00:01:01", o->mac);
	parse_mac("02:fe:00:00:00:01", o->peer_mac);
	o->check_peer_mac = true;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (strcmp(optarg, "master") && strcmp(optarg, "slave"))
				goto bad;
			o->master = strcmp(optarg, "master") == 0;
			break;
		case 'S':
			o->socket = optarg;
			break;
		case 'I':
			if (parse_uint(optarg, 0, UINT32_MAX, &v))
				goto bad;
			o->id = v;
			break;
		case 'k':
			if (strlen(optarg) > MEMIF_SECRET_LEN || optarg[0] == 0)
				goto bad;
			snprintf(o->secret, sizeof(o->secret), "%s", optarg);
			o->has_secret = true;
			break;
		case 'M':
			if (strcmp(optarg, "polling") && strcmp(optarg, "interrupt"))
				goto bad;
			o->polling = strcmp(optarg, "polling") == 0;
			break;
		case 's':
			if (parse_sizes(optarg))
				goto bad;
			break;
		case 'c':
			if (parse_uint(optarg, 1, 10000, &o->count))
				goto bad;
			break;
		case 'w':
			if (parse_uint(optarg, 1, 256, &o->window))
				goto bad;
			break;
		case 'R':
			if (parse_uint(optarg, 5, 14, &v))
				goto bad;
			o->log2_ring = (uint8_t)v;
			break;
		case 'B':
			if (parse_uint(optarg, 1, 8, &o->buffer_regions))
				goto bad;
			break;
		case 'a':
			if (parse_ip(optarg, o->ip))
				goto bad;
			break;
		case 't':
			if (parse_ip(optarg, o->peer_ip))
				goto bad;
			break;
		case 'm':
			if (parse_mac(optarg, o->mac))
				goto bad;
			break;
		case 'p':
			if (parse_mac(optarg, o->peer_mac))
				goto bad;
			break;
		case 'T':
			if (parse_uint(optarg, 1, 3600, &v))
				goto bad;
			o->timeout = v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if ((uint64_t)o->count * o->n_sizes > 60000) {
		fprintf(stderr, PROG ": count x sizes must stay below 60000 (sequence numbers)\n");
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, PROG ": invalid value '%s'\n", optarg);
	usage(stderr);
	return -1;
}

/* ---- main ----------------------------------------------------------------------- */

static void cleanup(void)
{
	for (unsigned i = 0; i < g.n_regions; i++) {
		if (g.regions[i].addr)
			munmap(g.regions[i].addr, g.regions[i].size);
		close_fd(&g.regions[i].fd);
	}
	close_fd(&g.s2m.int_fd);
	close_fd(&g.m2s.int_fd);
	close_fd(&g.sock_fd);
	close_fd(&g.listen_fd);
	if (g.o.master && g.o.socket[0] != '@')
		unlink(g.o.socket);
	free(g.pool.fifo);
	free(g.s2m.slot_buf);
	free(g.m2s.slot_buf);
}

static void summary(void)
{
	printf("\n%-6s %8s %8s %8s %8s %8s %8s\n", "size", "sent", "replies", "intact", "bad",
	       "dup", "lost");
	for (unsigned i = 0; i < g.o.n_sizes; i++) {
		struct stats *st = &g.st[i];
		unsigned lost = st->sent - st->replies;

		printf("%-6u %8u %8u %8u %8u %8u %8u\n", g.o.sizes[i], st->sent, st->replies,
		       st->intact, st->bad, st->dup, lost);
		if (st->intact != g.o.count)
			fail("%u-byte frames: %u of %u replies intact", g.o.sizes[i], st->intact,
			     g.o.count);
		if (st->bad || st->dup || st->unexpected)
			fail("%u-byte frames: %u bad, %u duplicate, %u unexpected frames",
			     g.o.sizes[i], st->bad, st->dup, st->unexpected);
	}
	if (g.o.master) {
		printf("rx drops: %" PRIu64 " descriptors over %u bytes, %" PRIu64 " bad\n",
		       g.drops_long, VPP_ETH_MAX_DESC, g.drops_bad);
		if (g.drops_long || g.drops_bad)
			fail("the slave sent descriptors we had to drop");
	} else {
		printf("M2S refills: %" PRIu64 " (%" PRIu64 " buffers, >= %u slots at a time, "
		       "multiples of 8; %" PRIu64 " times fewer than %u were free and waited); "
		       "%" PRIu64 " buffers allocated in all, none back in its previous slot "
		       "(%" PRIu64 " skipped for that)\n",
		       g.refills, g.refill_slots, VPP_REFILL_MIN, g.refill_small, VPP_REFILL_MIN,
		       g.pool.allocs, g.refill_skipped);
	}
	printf("interrupts: %" PRIu64 " received, %" PRIu64 " sent, %" PRIu64 " lost\n", g.irqs,
	       g.tx_kicks, g.lost_irqs);
}

int main(int argc, char **argv)
{
	double deadline;
	int rc = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	g.sock_fd = g.listen_fd = -1;
	g.s2m.int_fd = g.m2s.int_fd = -1;
	for (unsigned i = 0; i < MAX_REGIONS; i++)
		g.regions[i].fd = -1;
	if (parse_args(argc, argv) < 0)
		return 2;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	deadline = now_s() + g.o.timeout;
	printf(PROG ": VPP-like %s, socket %s, id %" PRIu32 ", %s, secret %s, sizes",
	       g.o.master ? "master (copy mode)" : "slave (zero copy)", g.o.socket, g.o.id,
	       g.o.polling ? "polling" : "interrupt",
	       g.o.has_secret ? (strlen(g.o.secret) > VPP_SECRET_MAX ?
					 (g.o.master ? "yes (kept to 23 bytes, as VPP's API does)" :
						       "yes (sent truncated to 23 bytes)") :
					 "yes") :
				"none");
	for (unsigned i = 0; i < g.o.n_sizes; i++)
		printf("%s%u", i ? "," : " ", g.o.sizes[i]);
	printf(", %u each\n", g.o.count);

	if (g.o.master) {
		if (master_accept(deadline) < 0 || master_handshake(deadline) < 0)
			goto out;
	} else {
		if (slave_connect(deadline) < 0 || slave_handshake(deadline) < 0)
			goto out;
	}
	if (arp_phase(deadline) < 0)
		goto out;
	for (unsigned i = 0; i < g.o.n_sizes; i++)
		if (size_phase(i, deadline) < 0)
			break;
	if (!g.o.master) {
		/* Take back what the master has consumed, then check every buffer
		 * is accounted for: in the pool, on the M2S ring, or on S2M. */
		slave_free_consumed(true);
		uint32_t on_rings =
			(uint16_t)(g.m2s.head - g.m2s.last) + (uint16_t)(g.s2m.head - g.s2m.freed);
		if (g.pool.count + on_rings != g.pool.n)
			fail("buffer accounting: %u in the pool + %u on the rings != %u",
			     g.pool.count, on_rings, g.pool.n);
	}
	if (g.o.polling) {
		/* Our receive ring was masked from the start: nobody may kick it. */
		uint64_t v = 0;

		if (read(rx_ring()->int_fd, &v, sizeof(v)) == (ssize_t)sizeof(v) && v)
			fail("%" PRIu64 " interrupt(s) on our receive ring although it was masked "
			     "(MEMIF_RING_FLAG_MASK_INT)",
			     v);
	}
	send_disconnect("interface deleted");
	summary();
	rc = g.errors ? 1 : 0;
out:
	if (rc != 0 && g.errors == 0)
		g.errors++;
	printf("RESULT: %s (%u error%s)\n", g.errors ? "FAIL" : "PASS", g.errors,
	       g.errors == 1 ? "" : "s");
	cleanup();
	return g.errors ? 1 : 0;
}
