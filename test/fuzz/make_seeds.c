/* SPDX-License-Identifier: MIT */
/*
 * make_seeds.c - writes the seed corpora of the fuzz targets:
 *
 *   make_seeds <dir>    -> <dir>/fuzz_msg/<name>, <dir>/fuzz_desc/<name>
 *
 * (the `fuzz_seeds` build target runs it on test/fuzz/corpus). The seeds
 * are programs in the formats of fuzz_common.h: a whole valid handshake in
 * each role, every message type on its own, the usual refusals, and
 * data-path sequences that move packets both ways. Messages are built from
 * the protocol's wire structs (memif.h), not with the library's encoder.
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "memif.h"

struct prog {
	uint8_t b[4096];
	size_t n;
};

static const char *outdir;

static void put(struct prog *p, const void *v, size_t n)
{
	if (p->n + n > sizeof(p->b)) {
		fprintf(stderr, "make_seeds: program too long\n");
		exit(1);
	}
	memcpy(p->b + p->n, v, n);
	p->n += n;
}

static void put8(struct prog *p, uint8_t v)
{
	put(p, &v, 1);
}

static void put16(struct prog *p, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	put(p, b, 2);
}

static void put32(struct prog *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p, (uint16_t)(v >> 16));
}

static void save(const struct prog *p, const char *target, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void save(const struct prog *p, const char *target, const char *fmt, ...)
{
	char name[128], path[1024];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p->b, 1, p->n, f) != p->n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* ---- fuzz_msg ------------------------------------------------------------------ */

static void msg_start(memif_msg_t *m, uint16_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
}

static void name_put(uint8_t *dst, size_t n, const char *s)
{
	memset(dst, 0, n);
	memcpy(dst, s, strnlen(s, n));
}

static void rec_msg(struct prog *p, uint8_t op, const memif_msg_t *m)
{
	put8(p, op);
	put(p, m, sizeof(*m));
}

static void rec_ack(struct prog *p)
{
	memif_msg_t m;

	msg_start(&m, MEMIF_MSG_TYPE_ACK);
	rec_msg(p, FZ_OP(FZ_MSG, 0), &m);
}

static void rec_hello(struct prog *p, uint16_t minv, uint16_t maxv, uint16_t max_region,
		      uint16_t max_ring, uint8_t max_log2)
{
	memif_msg_t m;

	msg_start(&m, MEMIF_MSG_TYPE_HELLO);
	name_put(m.hello.name, sizeof(m.hello.name), "fuzz-master");
	m.hello.min_version = minv;
	m.hello.max_version = maxv;
	m.hello.max_region = max_region;
	m.hello.max_m2s_ring = max_ring;
	m.hello.max_s2m_ring = max_ring;
	m.hello.max_log2_ring_size = max_log2;
	rec_msg(p, FZ_OP(FZ_MSG, 0), &m);
}

static void rec_init(struct prog *p, uint16_t version, uint32_t id, uint8_t mode,
		     const char *secret)
{
	memif_msg_t m;

	msg_start(&m, MEMIF_MSG_TYPE_INIT);
	m.init.version = version;
	m.init.id = id;
	m.init.mode = mode;
	if (secret)
		name_put(m.init.secret, sizeof(m.init.secret), secret);
	name_put(m.init.name, sizeof(m.init.name), "fuzz-slave");
	rec_msg(p, FZ_OP(FZ_MSG, 0), &m);
}

/* ADD_REGION with a memfd of 4096 << shm_class bytes. */
static void rec_region(struct prog *p, uint16_t index, uint64_t size, unsigned shm_class)
{
	memif_msg_t m;

	msg_start(&m, MEMIF_MSG_TYPE_ADD_REGION);
	m.add_region.index = index;
	m.add_region.size = size;
	rec_msg(p, FZ_OP(FZ_MSG_SHM, shm_class), &m);
}

static void rec_ring(struct prog *p, bool s2m, uint16_t index, uint16_t region, uint32_t offset,
		     uint8_t log2)
{
	memif_msg_t m;

	msg_start(&m, MEMIF_MSG_TYPE_ADD_RING);
	m.add_ring.flags = s2m ? MEMIF_MSG_ADD_RING_FLAG_S2M : 0;
	m.add_ring.index = index;
	m.add_ring.region = region;
	m.add_ring.offset = offset;
	m.add_ring.log2_ring_size = log2;
	rec_msg(p, FZ_OP(FZ_MSG_EFD, 0), &m);
}

static void rec_connect(struct prog *p, bool connected)
{
	memif_msg_t m;

	msg_start(&m, connected ? MEMIF_MSG_TYPE_CONNECTED : MEMIF_MSG_TYPE_CONNECT);
	name_put(m.connect.if_name, sizeof(m.connect.if_name), "fuzz-peer-if");
	rec_msg(p, FZ_OP(FZ_MSG, 0), &m);
}

static void rec_disconnect(struct prog *p)
{
	memif_msg_t m;

	msg_start(&m, MEMIF_MSG_TYPE_DISCONNECT);
	m.disconnect.code = 0;
	name_put(m.disconnect.string, sizeof(m.disconnect.string), "fuzz peer says bye");
	rec_msg(p, FZ_OP(FZ_MSG, 0), &m);
}

static uint32_t ring_bytes(uint8_t log2)
{
	return (uint32_t)(sizeof(memif_ring_t) + (sizeof(memif_desc_t) << log2));
}

/*
 * The harness as slave, the library as master: INIT, regions (rings in
 * region 0, buffers in region 1, as upstream lays them out), rings, CONNECT.
 */
static void master_handshake(struct prog *p, uint8_t cfg, unsigned nq, const char *secret)
{
	uint32_t rb = ring_bytes(FZ_LOG2_SMALL);
	unsigned i, cls = 0;

	p->n = 0;
	put8(p, cfg);
	rec_init(p, MEMIF_VERSION, FZ_LIB_ID, (cfg & FZ_CFG_MODE_IP) ? 1 : 0, secret);
	rec_region(p, 0, 2u * nq * rb, 0);
	while ((4096u << cls) < 2u * nq * 16 * 2048)
		cls++;
	rec_region(p, 1, 2u * nq * 16 * 2048, cls); /* buffers: 16 of 2048 per ring */
	for (i = 0; i < nq; i++)
		rec_ring(p, true, (uint16_t)i, 0, i * rb, FZ_LOG2_SMALL);
	for (i = 0; i < nq; i++)
		rec_ring(p, false, (uint16_t)i, 0, (nq + i) * rb, FZ_LOG2_SMALL);
	rec_connect(p, false);
}

/* The harness as master, the library as slave: HELLO, ACKs, CONNECTED. */
static void slave_handshake(struct prog *p, uint8_t cfg, unsigned nq)
{
	unsigned i;

	p->n = 0;
	put8(p, cfg);
	rec_hello(p, MEMIF_VERSION, MEMIF_VERSION, 255, 255, 14);
	rec_ack(p); /* INIT */
	rec_ack(p); /* region 0: rings */
	rec_ack(p); /* region 1: buffers */
	for (i = 0; i < 2 * nq; i++)
		rec_ack(p); /* rings */
	rec_connect(p, true);
}

static void msg_seeds(void)
{
	static const uint8_t cfgs[] = { 0, FZ_CFG_SLAVE };
	struct prog p;
	memif_msg_t m;
	unsigned r, t;

	/* Whole handshakes, then traffic, details, modes, DISCONNECT. */
	master_handshake(&p, 0, 1, NULL);
	save(&p, "fuzz_msg", "master-handshake");
	put8(&p, FZ_OP(FZ_DATA, 0));
	put8(&p, FZ_OP(FZ_CTRL, 2));
	put8(&p, FZ_OP(FZ_CTRL, 3));
	put8(&p, FZ_OP(FZ_CTRL, 0));
	put8(&p, FZ_OP(FZ_DATA, 3));
	rec_disconnect(&p);
	save(&p, "fuzz_msg", "master-handshake-traffic-disconnect");

	master_handshake(&p, FZ_CFG_S2M(2) | FZ_CFG_M2S(2) | FZ_CFG_SECRET | FZ_CFG_MODE_IP, 2,
			 FZ_SECRET);
	put8(&p, FZ_OP(FZ_DATA, 1));
	put8(&p, FZ_OP(FZ_HANGUP, 1));
	rec_init(&p, MEMIF_VERSION, FZ_LIB_ID, 1, FZ_SECRET);
	save(&p, "fuzz_msg", "master-2q-secret-ip-hangup-reconnect");

	/* A second slave claims the id while the first is connected. */
	master_handshake(&p, 0, 1, NULL);
	put8(&p, FZ_OP(FZ_HANGUP, 2));
	rec_init(&p, MEMIF_VERSION, FZ_LIB_ID, 0, NULL);
	put8(&p, FZ_OP(FZ_CTRL, 2));
	save(&p, "fuzz_msg", "master-same-id-twice");
	put8(&p, FZ_OP(FZ_HANGUP, 0)); /* the refused one goes; the link stays */
	put8(&p, FZ_OP(FZ_DATA, 0));
	put8(&p, FZ_OP(FZ_CTRL, 2));
	save(&p, "fuzz_msg", "master-same-id-twice-second-leaves");

	/* Data-path faults (the memfds hold no valid ring indexes), then the
	 * timer's check disconnects. */
	master_handshake(&p, 0, 1, NULL);
	put8(&p, FZ_OP(FZ_DATA, 0));
	put8(&p, FZ_OP(FZ_CTRL, 16 | 2));
	save(&p, "fuzz_msg", "master-fault-tick");

	master_handshake(&p, FZ_CFG_SECRET, 1, "wrong secret");
	save(&p, "fuzz_msg", "master-wrong-secret");
	master_handshake(&p, FZ_CFG_SECRET, 1, NULL);
	save(&p, "fuzz_msg", "master-no-secret");

	p.n = 0;
	put8(&p, 0);
	rec_init(&p, MEMIF_VERSION, FZ_LIB_ID + 1, 0, NULL);
	save(&p, "fuzz_msg", "master-unknown-id");
	p.n = 0;
	put8(&p, 0);
	rec_init(&p, 0x0100, FZ_LIB_ID, 0, NULL);
	save(&p, "fuzz_msg", "master-old-version");

	slave_handshake(&p, FZ_CFG_SLAVE, 1);
	save(&p, "fuzz_msg", "slave-handshake");
	put8(&p, FZ_OP(FZ_CTRL, 0));
	put8(&p, FZ_OP(FZ_DATA, 0));
	put8(&p, FZ_OP(FZ_CTRL, 3));
	put8(&p, FZ_OP(FZ_HANGUP, 1));
	rec_hello(&p, MEMIF_VERSION, MEMIF_VERSION, 255, 255, 14);
	save(&p, "fuzz_msg", "slave-handshake-traffic-hangup-reconnect");

	slave_handshake(&p, FZ_CFG_SLAVE | FZ_CFG_S2M(3) | FZ_CFG_M2S(2) | FZ_CFG_BIG_RING, 0);
	save(&p, "fuzz_msg", "slave-3-2-queues-prefix");
	p.n = 0;
	put8(&p, FZ_CFG_SLAVE | FZ_CFG_S2M(2) | FZ_CFG_M2S(2));
	rec_hello(&p, MEMIF_VERSION, MEMIF_VERSION, 0, 0, 2); /* the master's limits bite */
	rec_ack(&p);
	save(&p, "fuzz_msg", "slave-hello-limits");
	p.n = 0;
	put8(&p, FZ_CFG_SLAVE);
	rec_hello(&p, 0x0300, 0x0301, 255, 255, 14);
	save(&p, "fuzz_msg", "slave-hello-newer-version");

	/* Every message type, in both roles, as the first message. */
	for (r = 0; r < 2; r++) {
		for (t = 0; t <= 9; t++) {
			p.n = 0;
			put8(&p, cfgs[r]);
			msg_start(&m, (uint16_t)t);
			if (t == MEMIF_MSG_TYPE_ADD_REGION) {
				m.add_region.size = 4096;
				rec_msg(&p, FZ_OP(FZ_MSG_SHM, 0), &m);
			} else if (t == MEMIF_MSG_TYPE_ADD_RING) {
				m.add_ring.log2_ring_size = FZ_LOG2_SMALL;
				rec_msg(&p, FZ_OP(FZ_MSG_EFD, 0), &m);
			} else {
				rec_msg(&p, FZ_OP(FZ_MSG, 0), &m);
			}
			save(&p, "fuzz_msg", "%s-type-%u", r ? "slave" : "master", t);
		}
	}

	/* Datagrams of the wrong size, and with too many fds. */
	p.n = 0;
	put8(&p, 0);
	put8(&p, FZ_OP(FZ_MSG_RAW, 0));
	put8(&p, 64);
	msg_start(&m, MEMIF_MSG_TYPE_INIT);
	put(&p, &m, 64);
	put8(&p, FZ_OP(FZ_MSG_RAW, 3));
	put8(&p, 200);
	save(&p, "fuzz_msg", "master-short-and-long-datagrams");
	p.n = 0;
	put8(&p, 0);
	rec_init(&p, MEMIF_VERSION, FZ_LIB_ID, 0, NULL);
	msg_start(&m, MEMIF_MSG_TYPE_ADD_REGION);
	m.add_region.size = 4096;
	rec_msg(&p, FZ_OP(FZ_MSG_2FD, 0), &m);
	save(&p, "fuzz_msg", "master-region-with-two-fds");

	/* A region larger than its memfd, and one in an unsealed memfd. */
	p.n = 0;
	put8(&p, 0);
	rec_init(&p, MEMIF_VERSION, FZ_LIB_ID, 0, NULL);
	rec_region(&p, 0, 8192, 0);
	save(&p, "fuzz_msg", "master-region-larger-than-file");
	p.n = 0;
	put8(&p, 0);
	rec_init(&p, MEMIF_VERSION, FZ_LIB_ID, 0, NULL);
	rec_region(&p, 0, 4096, 8); /* arg & 8: no F_SEAL_SHRINK */
	save(&p, "fuzz_msg", "master-region-unsealed");
}

/* ---- fuzz_desc ------------------------------------------------------------------ */

static void d_op(struct prog *p, unsigned op, bool master, bool rx, unsigned qid)
{
	put8(p,
	     FD_BYTE(op, (master ? FD_SIDE_MASTER : 0) | (rx ? FD_SEL_RX : 0) | FD_SEL_QID(qid)));
}

static void d_desc_buf(struct prog *p, bool master, bool rx, unsigned qid, uint8_t slot,
		       uint8_t buf, uint16_t len, uint8_t flags)
{
	d_op(p, FD_DESC_BUF, master, rx, qid);
	put8(p, slot);
	put8(p, buf);
	put16(p, len);
	put8(p, flags);
}

static void d_16(struct prog *p, unsigned op, bool master, bool rx, unsigned qid, uint16_t v)
{
	d_op(p, op, master, rx, qid);
	put16(p, v);
}

static void d_rx(struct prog *p, bool master, unsigned qid, uint8_t count)
{
	d_op(p, FD_RX, master, true, qid);
	put8(p, count);
}

static void d_alloc(struct prog *p, bool master, unsigned qid, uint8_t count, uint16_t size)
{
	d_op(p, FD_ALLOC, master, false, qid);
	put8(p, count);
	put16(p, size);
}

static void d_tx(struct prog *p, bool master, unsigned qid, uint8_t count, uint8_t tweak)
{
	d_op(p, FD_TX, master, false, qid);
	put8(p, count);
	put8(p, tweak);
}

static void d_refill(struct prog *p, bool master, unsigned qid, uint8_t count, uint8_t headroom)
{
	d_op(p, FD_REFILL, master, true, qid);
	put8(p, count);
	put8(p, headroom);
}

static void desc_seeds(void)
{
	struct prog p;
	unsigned q, i;

	/*
	 * Slave -> master (S2M). The slave sends 4 packets on its own ring;
	 * in the master's view the "slave" (the fuzzer) puts 4 packets, the
	 * last one chained over two buffers, and the master takes and
	 * returns them.
	 */
	for (q = 0; q < FD_QUEUES; q++) {
		p.n = 0;
		d_alloc(&p, false, q, 4, 64);
		d_tx(&p, false, q, 4, 0);
		for (i = 0; i < 3; i++)
			d_desc_buf(&p, true, true, q, (uint8_t)i, (uint8_t)(q * 16 + i), 64, 0);
		d_desc_buf(&p, true, true, q, 3, (uint8_t)(q * 16 + 3), 512, MEMIF_DESC_FLAG_NEXT);
		d_desc_buf(&p, true, true, q, 4, (uint8_t)(q * 16 + 4), 100, 0);
		d_16(&p, FD_HEAD, true, true, q, 5);
		d_rx(&p, true, q, 16);
		d_refill(&p, true, q, 5, 0);
		put8(&p, FD_BYTE(FD_TICK, 0));
		d_op(&p, FD_STATS, true, true, q);
		save(&p, "fuzz_desc", "s2m-q%u", q);
	}

	/*
	 * Master -> slave (M2S). In the master's view the "slave" offers 8
	 * empty buffers; the master fills 4 (one chained) and sends them. In
	 * the slave's view it refills its ring, and the "master" returns 4.
	 */
	for (q = 0; q < FD_QUEUES; q++) {
		p.n = 0;
		for (i = 0; i < 8; i++)
			d_desc_buf(&p, true, false, q, (uint8_t)i, (uint8_t)(32 + q * 16 + i),
				   FD_BUFFER_SIZE, 0);
		d_16(&p, FD_HEAD, true, false, q, 8);
		d_alloc(&p, true, q, 3, 1000);
		d_tx(&p, true, q, 255, 0);
		d_refill(&p, false, q, 255, 0);
		d_16(&p, FD_TAIL, false, true, q, 4);
		d_rx(&p, false, q, 32);
		d_refill(&p, false, q, 4, 16);
		d_op(&p, FD_DETAILS, false, true, q);
		save(&p, "fuzz_desc", "m2s-q%u", q);
	}

	/* Slave app buffers (zero copy): enqueue from region 1, send. */
	p.n = 0;
	d_op(&p, FD_ENQ, false, false, 0);
	put8(&p, 4);
	put32(&p, 0x80000000u | 1024u);
	put16(&p, 256);
	d_tx(&p, false, 0, 4, 0);
	save(&p, "fuzz_desc", "slave-enq-tx");

	/* Chains on the slave's side, and app buffers mixed with its own. */
	p.n = 0;
	d_alloc(&p, false, 1, 3, 1200);
	d_tx(&p, false, 1, 255, 0);
	d_op(&p, FD_ENQ, false, false, 1);
	put8(&p, 2);
	put32(&p, 0x80000000u | 4096u);
	put16(&p, 300);
	d_alloc(&p, false, 1, 2, 700);
	d_tx(&p, false, 1, 255, 2);
	d_alloc(&p, false, 1, 1, 64);
	d_tx(&p, false, 1, 1, 0);
	save(&p, "fuzz_desc", "slave-chains-and-app-buffers");

	/* Chains on the master's receive side: cut by count, and by the ring. */
	p.n = 0;
	for (i = 0; i < 6; i++)
		d_desc_buf(&p, true, true, 0, (uint8_t)i, (uint8_t)i, 100,
			   i % 3 == 2 ? 0 : MEMIF_DESC_FLAG_NEXT);
	d_16(&p, FD_HEAD, true, true, 0, 5);
	d_rx(&p, true, 0, 2);
	d_rx(&p, true, 0, 4);
	d_refill(&p, true, 0, 3, 0);
	d_16(&p, FD_HEAD, true, true, 0, 6);
	d_rx(&p, true, 0, 8);
	d_refill(&p, true, 0, 255, 0);
	save(&p, "fuzz_desc", "master-rx-chains-cut");

	/* The slave receives a chain, and a length past its buffer. */
	p.n = 0;
	d_refill(&p, false, 0, 255, 32);
	d_desc_buf(&p, false, true, 0, 0, 0, 480, MEMIF_DESC_FLAG_NEXT);
	d_desc_buf(&p, false, true, 0, 1, 1, 100, 0);
	d_desc_buf(&p, false, true, 0, 2, 2, 481, 0);
	d_16(&p, FD_TAIL, false, true, 0, 3);
	d_rx(&p, false, 0, 1);
	d_rx(&p, false, 0, 16);
	save(&p, "fuzz_desc", "slave-rx-chain-and-overlong");

	/* Hostile indexes: jumps past the ring, in every view. */
	p.n = 0;
	d_16(&p, FD_HEAD, true, true, 0, 0xffff);
	d_rx(&p, true, 0, 8);
	put8(&p, FD_BYTE(FD_TICK, 0));
	save(&p, "fuzz_desc", "master-rx-head-jump");
	p.n = 0;
	d_16(&p, FD_HEAD, true, false, 0, 17);
	d_alloc(&p, true, 0, 1, 64);
	save(&p, "fuzz_desc", "master-tx-head-jump");
	p.n = 0;
	d_refill(&p, false, 0, 255, 0);
	d_16(&p, FD_TAIL, false, true, 0, 40);
	d_rx(&p, false, 0, 8);
	save(&p, "fuzz_desc", "slave-rx-tail-jump");
	p.n = 0;
	d_alloc(&p, false, 1, 8, 64);
	d_tx(&p, false, 1, 8, 0);
	d_16(&p, FD_TAIL, false, false, 1, 0x8000);
	d_alloc(&p, false, 1, 16, 64);
	save(&p, "fuzz_desc", "slave-tx-tail-jump");

	/* Descriptors outside the regions, and an endless chain. */
	p.n = 0;
	d_op(&p, FD_DESC, true, true, 0);
	put8(&p, 0);
	put16(&p, 0);          /* flags */
	put16(&p, 1);          /* region */
	put32(&p, 0xffffffff); /* length */
	put32(&p, 16);         /* offset */
	put32(&p, 0);          /* metadata */
	d_16(&p, FD_HEAD, true, true, 0, 1);
	d_rx(&p, true, 0, 1);
	save(&p, "fuzz_desc", "master-rx-desc-outside");
	p.n = 0;
	for (i = 0; i < 16; i++)
		d_desc_buf(&p, true, true, 1, (uint8_t)i, (uint8_t)i, 8, MEMIF_DESC_FLAG_NEXT);
	d_16(&p, FD_HEAD, true, true, 1, 16);
	d_rx(&p, true, 1, 255);
	save(&p, "fuzz_desc", "master-rx-endless-chain");
	p.n = 0;
	d_desc_buf(&p, true, false, 0, 0, 20, 1, 0);
	d_desc_buf(&p, true, false, 0, 1, 3, 1, 0);
	d_16(&p, FD_HEAD, true, false, 0, 2);
	d_alloc(&p, true, 0, 1, 2);
	d_tx(&p, true, 0, 2, 1);
	save(&p, "fuzz_desc", "master-tx-tiny-buffers");
	/* A packet would need more of the peer's buffers than the app has room for. */
	p.n = 0;
	for (i = 0; i < 16; i++)
		d_desc_buf(&p, true, false, 1, (uint8_t)i, (uint8_t)(40 + i), 1, 0);
	d_16(&p, FD_HEAD, true, false, 1, 16);
	d_alloc(&p, true, 1, 2, 600);
	d_alloc(&p, true, 1, 1, 3);
	d_tx(&p, true, 1, 255, 0);
	save(&p, "fuzz_desc", "master-tx-chain-bound");

	/* Modes, flags, relative index moves, queue ids out of range. */
	p.n = 0;
	d_op(&p, FD_RXMODE, false, true, 0);
	put8(&p, 1);
	d_op(&p, FD_RXMODE, true, true, 1);
	put8(&p, 1);
	d_16(&p, FD_FLAGS, true, false, 0, 1);
	d_alloc(&p, false, 0, 2, 64);
	d_tx(&p, false, 0, 2, 0);
	d_op(&p, FD_HEAD_REL, true, true, 0);
	put8(&p, 2);
	d_rx(&p, true, 0, 4);
	d_op(&p, FD_TAIL_REL, true, false, 0);
	put8(&p, 0xfe);
	d_rx(&p, false, 3, 4);
	d_alloc(&p, true, 2, 1, 64);
	put8(&p, FD_BYTE(FD_TICK, 0));
	save(&p, "fuzz_desc", "modes-flags-relative");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
		perror(outdir);
		return 1;
	}
	msg_seeds();
	desc_seeds();
	return 0;
}
