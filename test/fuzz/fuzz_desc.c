/* SPDX-License-Identifier: MIT */
/*
 * fuzz_desc.c - libFuzzer target for what the peer writes into shared
 * memory: ring indexes, ring flags and descriptors, against the data path
 * (memif_rx_burst, memif_buffer_alloc, memif_tx_burst, memif_refill_queue,
 * memif_buffer_enq_tx) of both roles.
 *
 * One master and one slave interface are connected in this process (two
 * sockets in self-poll mode). Each input is a program (format in
 * fuzz_common.h) that writes arbitrary values into either side's view of
 * the rings, as a hostile peer would, and calls the data path on either
 * side. Before each input the pair is reconnected (the slave is deleted and
 * created again), so every input starts from the same state.
 *
 * Making out-of-bounds accesses visible: the master's regions are copies on
 * the heap (memif_register_external_region "get" callback: malloc + pread
 * of the slave's memfd), and the slave's buffer region is heap memory too
 * (the "add" callback), so ASan sees any access past a region. The two
 * sides therefore do not share memory: each one's view is written by the
 * fuzzer alone, which is exactly the hostile peer of that side. Every
 * buffer handed out must also lie inside one of the side's regions
 * (fz_check_bufs), and is read or written whole. Arrays passed to the
 * library are heap blocks of exactly the documented size.
 *
 * After each input: no callback out of order, the fds of a connected pair
 * are the same as at the start, and no memfd mapping is left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "private.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLAVE 0
#define MASTER 1
#define HELD_MAX 1024
#define PUMP_MAX 4000 /* poll rounds to (re)connect: far more than a handshake needs */
/* Buffers a master's packet may take, per memif_buffer_alloc in libmemif.h. */
#define MASTER_CHAIN_MAX(per) (2 * (per) + 1)

struct side {
	const char *name;
	memif_socket_handle_t sock;
	memif_conn_handle_t conn;
	bool up;
	unsigned n_connect, n_disconnect, n_irq;
	struct fz_regions rg;
	uint8_t *ring[2][FD_QUEUES];              /* [rx][qid]: this side's view; NULL when down */
	memif_buffer_t held[FD_QUEUES][HELD_MAX]; /* reserved by alloc/enq, for tx */
	uint16_t nheld[FD_QUEUES];
};

static struct side sides[2] = { { .name = "slave" }, { .name = "master" } };
static char path[108];
static bool dirty;
static int fd_base = -1, maps_base = -1;
static unsigned long runs;

/* ---- external regions: heap memory that ASan watches ------------------------ */

static int ext_add(void **addr, uint32_t size, int *fd, void *ctx)
{
	(void)ctx;
	*fd = memfd_create("fuzz slave buffers", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (*fd < 0)
		return -1;
	if (ftruncate(*fd, size) < 0 || !(*addr = calloc(1, size))) {
		close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
}

static void *ext_get(uint32_t size, int fd, void *ctx)
{
	uint8_t *p = malloc(size);

	(void)ctx;
	if (p && pread(fd, p, size, 0) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

static int ext_del(void *addr, uint32_t size, int fd, void *ctx)
{
	struct side *s = ctx;

	(void)size;
	free(addr);
	if (s == &sides[SLAVE] && fd >= 0)
		close(fd); /* the slave's external fd is the app's */
	return 0;
}

/* ---- callbacks ------------------------------------------------------------- */

static void load_side(struct side *s);

static int on_connect(memif_conn_handle_t conn, void *ctx)
{
	struct side *s = ctx;

	FZ_CHECK(!s->up, "%s: on_connect twice", s->name);
	FZ_CHECK(s->conn == NULL || conn == s->conn, "%s: on_connect with a foreign handle",
		 s->name);
	s->up = true;
	s->n_connect++;
	FZ_TRACE("%s: on_connect", s->name);
	/* A link can come back during any pump (a fault fires the retry timer
	 * at once), not only in pair_up: learn its regions and rings now. */
	load_side(s);
	return 0;
}

static int on_disconnect(memif_conn_handle_t conn, void *ctx)
{
	struct side *s = ctx;

	(void)conn;
	FZ_CHECK(s->up, "%s: on_disconnect without on_connect", s->name);
	s->up = false;
	s->n_disconnect++;
	FZ_TRACE("%s: on_disconnect", s->name);
	/* The regions go away after this callback: forget every pointer. */
	memset(s->ring, 0, sizeof(s->ring));
	memset(s->nheld, 0, sizeof(s->nheld));
	s->rg.n = 0;
	return 0;
}

static int on_interrupt(memif_conn_handle_t conn, void *ctx, uint16_t qid)
{
	struct side *s = ctx;

	(void)conn;
	FZ_CHECK(qid < FD_QUEUES, "%s: interrupt for queue %u", s->name, qid);
	s->n_irq++;
	return 0;
}

/* ---- the pair ---------------------------------------------------------------- */

static void make_socket(struct side *s)
{
	memif_socket_args_t a;
	int rc;

	memset(&a, 0, sizeof(a));
	snprintf(a.path, sizeof(a.path), "%s", path);
	snprintf(a.app_name, sizeof(a.app_name), "fuzz-%s", s->name);
	a.connection_request_timer.it_value.tv_sec = 3600; /* never fires */
	a.connection_request_timer.it_interval.tv_sec = 3600;
	rc = memif_create_socket(&s->sock, &a, NULL);
	FZ_CHECK(rc == MEMIF_ERR_SUCCESS, "memif_create_socket: %s", memif_strerror(rc));
	if (s == &sides[MASTER])
		memif_register_external_region(s->sock, NULL, ext_get, ext_del, NULL);
	else
		memif_register_external_region(s->sock, ext_add, NULL, ext_del, NULL);
}

static void make_conn(struct side *s)
{
	memif_conn_args_t a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.socket = s->sock;
	a.is_master = s == &sides[MASTER];
	a.interface_id = 0;
	a.num_s2m_rings = FD_QUEUES;
	a.num_m2s_rings = FD_QUEUES;
	a.log2_ring_size = FD_LOG2;
	a.buffer_size = FD_BUFFER_SIZE;
	snprintf((char *)a.interface_name, sizeof(a.interface_name), "fz-%s", s->name);
	rc = memif_create(&s->conn, &a, on_connect, on_disconnect, on_interrupt, s);
	FZ_CHECK(rc == MEMIF_ERR_SUCCESS, "memif_create %s: %s", s->name, memif_strerror(rc));
}

static void pump_once(void)
{
	int rc;

	rc = memif_poll_event(sides[MASTER].sock, 0);
	FZ_CHECK(rc != MEMIF_ERR_POLL_CANCEL, "master poll cancelled");
	rc = memif_poll_event(sides[SLAVE].sock, 0);
	FZ_CHECK(rc != MEMIF_ERR_POLL_CANCEL, "slave poll cancelled");
}

static void load_side(struct side *s)
{
	unsigned rx, q;

	FZ_CHECK(fz_regions_load(s->conn, &s->rg), "%s: no details while up", s->name);
	FZ_CHECK(s->rg.rxq == FD_QUEUES && s->rg.txq == FD_QUEUES, "%s: %u rx and %u tx queues",
		 s->name, s->rg.rxq, s->rg.txq);
	for (rx = 0; rx < 2; rx++) {
		for (q = 0; q < FD_QUEUES; q++) {
			memif_ring_details_t rd;
			int rc = rx ? memif_get_rx_ring_details(s->conn, &rd, (uint16_t)q, 0) :
				      memif_get_tx_ring_details(s->conn, &rd, (uint16_t)q, 0);

			FZ_CHECK(rc == MEMIF_ERR_SUCCESS, "%s: ring details: %s", s->name,
				 memif_strerror(rc));
			FZ_CHECK(fz_in_regions(&s->rg, rd.offset,
					       sizeof(memif_ring_t) +
						       sizeof(memif_desc_t) * (1u << FD_LOG2)),
				 "%s: ring outside the regions", s->name);
			s->ring[rx][q] = rd.offset;
		}
	}
	memset(s->nheld, 0, sizeof(s->nheld));
}

/* Run both sockets until both links are up. */
static void pair_up(void)
{
	uint16_t q;
	int i;

	for (i = 0; i < PUMP_MAX && !(sides[MASTER].up && sides[SLAVE].up); i++)
		pump_once();
	FZ_CHECK(sides[MASTER].up && sides[SLAVE].up,
		 "the pair did not (re)connect: master %d, slave %d", sides[MASTER].up,
		 sides[SLAVE].up);
	load_side(&sides[MASTER]);
	load_side(&sides[SLAVE]);
	/* The master outlives inputs, and its rx mode outlives reconnects. */
	for (q = 0; q < FD_QUEUES; q++)
		FZ_CHECK(memif_set_rx_mode(sides[MASTER].conn, MEMIF_RX_MODE_INTERRUPT, q) ==
				 MEMIF_ERR_SUCCESS,
			 "master: set_rx_mode");
}

/* A fresh connection: whatever the last input did, start over. */
static void pair_reset(void)
{
	struct side *m = &sides[MASTER], *s = &sides[SLAVE];
	int i;

	FZ_CHECK(memif_delete(&s->conn) == MEMIF_ERR_SUCCESS, "memif_delete slave");
	FZ_CHECK(!s->up, "slave still up after memif_delete");
	for (i = 0; i < PUMP_MAX && m->up; i++)
		pump_once();
	FZ_CHECK(!m->up, "the master did not notice the slave leave");
	make_conn(s);
	pair_up();
}

/* ---- the program ----------------------------------------------------------------- */

struct cursor {
	const uint8_t *p;
	size_t left;
};

static void take(struct cursor *c, void *out, size_t n)
{
	size_t k = n < c->left ? n : c->left;

	memcpy(out, c->p, k);
	memset((uint8_t *)out + k, 0, n - k);
	c->p += k;
	c->left -= k;
}

static uint8_t take8(struct cursor *c)
{
	uint8_t v;

	take(c, &v, 1);
	return v;
}

static uint16_t take16(struct cursor *c)
{
	uint8_t b[2];

	take(c, b, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t take32(struct cursor *c)
{
	return take16(c) | (uint32_t)take16(c) << 16;
}

/* Ring fields are written as bytes: the peer does not care for our types. */
static void ring_put16(uint8_t *ring, size_t off, uint16_t v)
{
	memcpy(ring + off, &v, sizeof(v));
}

static uint16_t ring_get16(const uint8_t *ring, size_t off)
{
	uint16_t v;

	memcpy(&v, ring + off, sizeof(v));
	return v;
}

static memif_buffer_t *bufs_new(size_t n)
{
	memif_buffer_t *b = malloc(sizeof(*b) * (n ? n : 1));

	FZ_CHECK(b != NULL, "out of memory");
	return b;
}

/* Buffers handed out for one queue: they name it, and their slots are in its ring. */
static void check_slots(struct side *s, const memif_buffer_t *b, uint16_t n, const uint8_t *ring,
			const char *what)
{
	uint16_t i;

	(void)ring;
	for (i = 0; i < n; i++) {
		FZ_CHECK(b[i].queue != NULL && b[i].queue == b[0].queue,
			 "%s %s: buffer %u of another queue", s->name, what, i);
		FZ_CHECK(b[i].desc_index < (1u << FD_LOG2), "%s %s: slot %u", s->name, what,
			 b[i].desc_index);
	}
}

/* Reserved buffers wait, in order, for the next tx_burst (which sends them all). */
static void hold(struct side *s, uint16_t qid, const memif_buffer_t *b, uint16_t n)
{
	uint16_t k = s->nheld[qid];

	if (n > HELD_MAX - k)
		n = (uint16_t)(HELD_MAX - k);
	memcpy(&s->held[qid][k], b, sizeof(*b) * n);
	s->nheld[qid] = (uint16_t)(k + n);
}

static void op_rx(struct side *s, uint16_t qid, struct cursor *c)
{
	uint16_t count = take8(c), n = 0;
	memif_buffer_t *b = bufs_new(count);
	int rc = memif_rx_burst(s->conn, qid, b, count, &n);

	FZ_TRACE("%s rx_burst(q%u, %u): %d, %u buffers", s->name, qid, count, rc, n);
	FZ_CHECK(n <= count, "%s rx_burst: %u buffers for %u", s->name, n, count);
	/* NOBUF with buffers: more wait than `count` allowed. */
	FZ_CHECK(rc == MEMIF_ERR_SUCCESS || rc == MEMIF_ERR_NOBUF || n == 0,
		 "%s rx_burst: %u buffers and error %d", s->name, n, rc);
	if (n) {
		FZ_CHECK(s->up && qid < FD_QUEUES, "%s rx_burst: buffers while down", s->name);
		check_slots(s, b, n, s->ring[1][qid], "rx_burst");
		fz_check_bufs(&s->rg, b, n, false, "rx_burst");
	}
	free(b);
}

static void op_alloc(struct side *s, uint16_t qid, struct cursor *c)
{
	uint16_t count = take8(c), size = take16(c), n = 0;
	/*
	 * Room for `count` packets, exactly as memif_buffer_alloc's comment
	 * (libmemif.h) tells the app to size it from its own buffer_size; a
	 * hostile slave must not make the master write past it.
	 */
	size_t per = size ? (size + FD_BUFFER_SIZE - 1u) / FD_BUFFER_SIZE : 1;
	size_t room = count * (s == &sides[MASTER] ? MASTER_CHAIN_MAX(per) : per);
	memif_buffer_t *b = bufs_new(room);
	int rc = memif_buffer_alloc(s->conn, qid, b, count, &n, size);

	FZ_TRACE("%s buffer_alloc(q%u, %u x %u B): %d, %u buffers", s->name, qid, count, size, rc,
		 n);
	FZ_CHECK(n <= room, "%s buffer_alloc: %u buffers for %u packets of %u bytes", s->name, n,
		 count, size);
	if (n) {
		FZ_CHECK(rc == MEMIF_ERR_SUCCESS || rc == MEMIF_ERR_NOBUF_RING ||
				 rc == MEMIF_ERR_NOBUF,
			 "%s buffer_alloc: %u buffers and error %d", s->name, n, rc);
		FZ_CHECK(s->up && qid < FD_QUEUES, "%s buffer_alloc: buffers while down", s->name);
		check_slots(s, b, n, s->ring[0][qid], "buffer_alloc");
		fz_check_bufs(&s->rg, b, n, true, "buffer_alloc");
		hold(s, qid, b, n);
	}
	free(b);
}

static void op_tx(struct side *s, uint16_t qid, struct cursor *c)
{
	uint16_t count = take8(c), tweak = take8(c), n, tx = 0;
	memif_buffer_t *b;
	int rc;

	if (qid >= FD_QUEUES) {
		(void)memif_tx_burst(s->conn, qid, NULL, 0, &tx);
		FZ_CHECK(tx == 0, "%s tx_burst on queue %u", s->name, qid);
		return;
	}
	n = count < s->nheld[qid] ? count : s->nheld[qid];
	b = bufs_new(n);
	memcpy(b, s->held[qid], sizeof(*b) * n);
	if (n && (tweak & 1))
		b[0].len = (uint32_t)tweak << 4;
	if (n && (tweak & 2))
		b[n - 1].flags ^= MEMIF_BUFFER_FLAG_NEXT;
	rc = memif_tx_burst(s->conn, qid, b, n, &tx);
	FZ_TRACE("%s tx_burst(q%u, %u): %d, sent %u", s->name, qid, n, rc, tx);
	FZ_CHECK(tx <= n, "%s tx_burst: sent %u of %u", s->name, tx, n);
	s->nheld[qid] = 0; /* reservations end with tx_burst */
	free(b);
}

static void op_enq(struct side *s, uint16_t qid, struct cursor *c)
{
	uint16_t count = take8(c) & 31, len, n = 0, i;
	uint32_t off = take32(c);
	unsigned r = off >> 31;
	memif_buffer_t *b;
	int rc;

	len = take16(c);
	if (!s->up || r >= s->rg.n)
		return;
	off &= 0x7fffffff;
	off %= (uint32_t)s->rg.r[r].size + 64u; /* sometimes a little past the end */
	b = bufs_new(count);
	for (i = 0; i < count; i++) {
		memset(&b[i], 0, sizeof(b[i]));
		/* uintptr_t: the address may lie past the region on purpose. */
		b[i].data = (void *)(s->rg.r[r].addr + off + (uintptr_t)i * len);
		b[i].len = len;
	}
	rc = memif_buffer_enq_tx(s->conn, qid, b, count, &n);
	FZ_TRACE("%s enq_tx(q%u, %u x %u B at region %u + %u): %d, %u", s->name, qid, count, len, r,
		 off, rc, n);
	FZ_CHECK(n <= count, "%s enq_tx: %u of %u", s->name, n, count);
	if (n && qid < FD_QUEUES) {
		FZ_CHECK(s == &sides[SLAVE], "master accepted enq_tx");
		fz_check_bufs(&s->rg, b, n, true, "buffer_enq_tx");
		check_slots(s, b, n, s->ring[0][qid], "buffer_enq_tx");
		hold(s, qid, b, n);
	}
	free(b);
}

static void op_details(struct side *s, uint16_t qid, bool rx)
{
	static char buf[16384];
	memif_details_t md;
	/* Exactly the room for a ring's descriptors: ASan checks the copy. */
	memif_ring_details_t *rd = malloc(sizeof(*rd) + (sizeof(rd->descs[0]) << FD_LOG2));
	int rc;

	FZ_CHECK(rd != NULL, "out of memory");
	memset(&md, 0, sizeof(md));
	rc = memif_get_details(s->conn, &md, buf, sizeof(buf));
	FZ_CHECK(rc == MEMIF_ERR_SUCCESS, "%s details: %s", s->name, memif_strerror(rc));
	FZ_CHECK(md.link_up_down == s->up, "%s: details say link %u, callbacks %u", s->name,
		 md.link_up_down, s->up);
	rc = rx ? memif_get_rx_ring_details(s->conn, rd, qid, 1u << FD_LOG2) :
		  memif_get_tx_ring_details(s->conn, rd, qid, 1u << FD_LOG2);
	FZ_CHECK(rc != MEMIF_ERR_SUCCESS || rd->ndesc <= (1u << FD_LOG2), "ring details: %u",
		 rd->ndesc);
	free(rd);
}

static void op_tick(void)
{
	int i;

	/* What the socket timer does, then what the peer notices. */
	for (i = 0; i < 2; i++)
		if (sides[i].conn)
			memif__conn_check_faults(sides[i].conn);
	for (i = 0; i < 4; i++)
		pump_once();
}

static void step(struct cursor *c)
{
	uint8_t b = take8(c);
	unsigned op = b & 15;
	struct side *s = &sides[(b & FD_SIDE_MASTER) ? MASTER : SLAVE];
	bool rx = b & FD_SEL_RX;
	uint16_t qid = b >> 6;
	uint8_t *ring = qid < FD_QUEUES ? s->ring[rx][qid] : NULL;
	memif_queue_stats_t st;
	uint8_t raw[16];
	uint16_t v;

	FZ_TRACE("op %u on %s %s q%u%s", op, s->name, rx ? "rx" : "tx", qid,
		 ring ? "" : " (no ring)");
	switch (op) {
	case FD_HEAD:
	case FD_TAIL:
	case FD_FLAGS:
		v = take16(c);
		if (ring)
			ring_put16(ring,
				   op == FD_HEAD ? offsetof(memif_ring_t, head) :
				   op == FD_TAIL ? offsetof(memif_ring_t, tail) :
						   offsetof(memif_ring_t, flags),
				   v);
		break;
	case FD_HEAD_REL:
	case FD_TAIL_REL: {
		size_t off = op == FD_HEAD_REL ? offsetof(memif_ring_t, head) :
						 offsetof(memif_ring_t, tail);
		int8_t d = (int8_t)take8(c);

		if (ring)
			ring_put16(ring, off, (uint16_t)(ring_get16(ring, off) + d));
		break;
	}
	case FD_DESC: {
		uint8_t slot = take8(c);

		take(c, raw, sizeof(raw));
		if (ring)
			memcpy(ring + offsetof(memif_ring_t, desc) +
				       sizeof(memif_desc_t) * (slot & ((1u << FD_LOG2) - 1)),
			       raw, sizeof(raw));
		break;
	}
	case FD_DESC_BUF: {
		uint8_t slot = take8(c), bi = take8(c);
		memif_desc_t d = { 0 };

		d.length = take16(c);
		d.flags = take8(c);
		d.region = 1;
		d.offset = (uint32_t)bi * FD_BUFFER_SIZE;
		if (ring)
			memcpy(ring + offsetof(memif_ring_t, desc) +
				       sizeof(memif_desc_t) * (slot & ((1u << FD_LOG2) - 1)),
			       &d, sizeof(d));
		break;
	}
	case FD_RX:
		op_rx(s, qid, c);
		break;
	case FD_ALLOC:
		op_alloc(s, qid, c);
		break;
	case FD_TX:
		op_tx(s, qid, c);
		break;
	case FD_REFILL: {
		uint16_t count = take8(c), headroom = take8(c);

		int rc = memif_refill_queue(s->conn, qid, count == 255 ? 0xffff : count, headroom);

		FZ_TRACE("%s refill(q%u, %u, %u): %d", s->name, qid, count, headroom, rc);
		break;
	}
	case FD_RXMODE: {
		int rc = memif_set_rx_mode(
			s->conn, (take8(c) & 1) ? MEMIF_RX_MODE_POLLING : MEMIF_RX_MODE_INTERRUPT,
			qid);

		/* Also while down, for the queues configured (kept for the next link). */
		FZ_CHECK(rc != MEMIF_ERR_SUCCESS || qid < FD_QUEUES,
			 "%s set_rx_mode on queue %u succeeded", s->name, qid);
		break;
	}
	case FD_TICK:
		op_tick();
		break;
	case FD_ENQ:
		op_enq(s, qid, c);
		break;
	case FD_DETAILS:
		op_details(s, qid, rx);
		break;
	default: /* FD_STATS */
		if (memif_get_queue_stats(s->conn, qid, rx, &st) == MEMIF_ERR_SUCCESS)
			FZ_CHECK(qid < FD_QUEUES, "%s stats of queue %u", s->name, qid);
		break;
	}
}

/* ---- libFuzzer entry points ------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "@memif-fuzz-desc-%d", (int)getpid());
	make_socket(&sides[MASTER]);
	make_socket(&sides[SLAVE]);
	make_conn(&sides[MASTER]);
	make_conn(&sides[SLAVE]);
	pair_up();
	fd_base = fz_lib_fds(fz_trace_on());
	maps_base = fz_memfd_maps();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };
	int n;

	if (dirty)
		pair_reset();
	dirty = true;
	if (++runs % 32 == 0) {
		n = fz_lib_fds(false);
		if (n != fd_base)
			fz_lib_fds(true);
		FZ_CHECK(n == fd_base, "fd leak: %d fds with the pair up, %d at the start", n,
			 fd_base);
		n = fz_memfd_maps();
		FZ_CHECK(n == maps_base, "%d memfd mappings with the pair up, %d at the start", n,
			 maps_base);
	}
	while (c.left > 0)
		step(&c);
	return 0;
}
