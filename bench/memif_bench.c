/* SPDX-License-Identifier: MIT */
/*
 * memif-bench - throughput and latency benchmark for libmemif.
 *
 * One interface, either role, N queues with one data thread per queue
 * (each optionally pinned). The main thread is the control thread: it owns
 * an epoll loop fed by on_control_fd_update and calls
 * memif_control_fd_handler, prints a progress line every second and the
 * final machine-readable RESULT line. Public API only.
 *
 * Modes
 *   tx    generate frames and send them as fast as the ring takes them;
 *         the clock starts when the link is up
 *   rx    receive and drop (after copying out, see below); the clock
 *         starts at the first packet (plus --warmup)
 *   echo  return every frame with its MACs swapped (the reflector)
 *   ping  send one burst, wait for it to come back, record the round trip
 *         in a histogram; p50/p99/p99.9 in the RESULT line
 *
 * Receive modes (-m): polling spins on memif_rx_burst; interrupt and
 * adaptive wait in epoll on the queue's eventfd and then call
 * memif_rx_burst until it returns SUCCESS (ring drained; NOBUF means more
 * waits). Adaptive differs only in the library: while traffic flows it
 * masks the peer's interrupts and keeps the eventfd set, so the wait
 * returns at once.
 *
 * Load: --rate paces tx (frames) and ping (round trips) with
 * clock_nanosleep between bursts; --on-off alternates sending and silence;
 * --idle connects and sends nothing (tx, ping) or measures from link up
 * without traffic (rx, echo). The RESULT line gives the process's CPU time
 * (getrusage) over the measured interval and each data thread's
 * (pthread_getcpuclockid), and for rx/echo how often the receive ring's
 * MASK_INT was seen set, sampled by the control thread every 10 ms.
 *
 * Copy mode (default) does what a real application does: tx copies each
 * frame from the application's own memory into the memif buffer, rx copies
 * it out of the memif buffer into the application's memory. --zero-copy
 * writes the headers straight into the tx buffer and reads rx frames in
 * place (touching the first cache line only).
 *
 * Data threads and the link: the queues exist only while the link is up.
 * A data thread marks itself `inside` (seq_cst) before it checks `up` and
 * touches a queue, and clears it afterwards; on_disconnect clears `up` and
 * waits until no thread is inside before it returns, which the library
 * requires (queues are released right after on_disconnect).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <libmemif.h>

#include "bench_util.h"

#define MAX_QUEUES 64
#define MAX_CPUS 256
#define HDR_LEN 42        /* Ethernet + IPv4 + UDP */
#define SEQ_OFF HDR_LEN   /* 8-byte sequence number right after the headers */
#define MIN_FRAME (SEQ_OFF + 8)
#define TICK_MS 10

enum mode { MODE_TX, MODE_RX, MODE_ECHO, MODE_PING };
static const char *const mode_names[] = { "tx", "rx", "echo", "ping" };

/* Receive modes (-m). Interrupt and adaptive look the same to the app. */
enum rxm { RXM_POLLING, RXM_INTERRUPT, RXM_ADAPTIVE };
static const char *const rxm_names[] = { "polling", "interrupt", "adaptive" };

struct opts {
	enum mode mode;
	bool master;
	char socket[108];
	uint32_t id;
	uint32_t size;
	uint16_t burst;
	bool burst_set;
	uint16_t queues;
	double duration;  /* s; 0 = until the peer goes (rx, echo) */
	enum rxm rx_mode;
	bool interrupt;   /* rx_mode is interrupt or adaptive: wait on the eventfd */
	double rate;      /* tx, ping: frames (round trips) per second; 0 = unpaced */
	bool idle;        /* tx, ping: send nothing; rx, echo: measure from link up */
	double on_s, off_s; /* tx, ping: send for on_s, pause for off_s, repeat (0 = always on) */
	int cpus[MAX_CPUS];
	int ncpus;
	uint8_t ring_log2;
	uint16_t buffer_size;
	bool zero_copy;
	double warmup;    /* s of rx traffic not counted */
	double wait;      /* s to wait for the link (and first packet) */
	double delay;     /* s between link up and the first packet sent */
	uint64_t count;   /* ping: stop after this many round trips */
	bool quiet;
};

/* Counters written by one data thread, read by the control thread. */
struct counters {
	_Atomic uint64_t pkts;
	_Atomic uint64_t bytes;
	_Atomic uint64_t drops; /* echo: frames not returned (tx ring full) */
	_Atomic uint64_t lost;  /* ping: rounds that timed out */
};

struct bench;

struct qthread {
	/* Written by the data thread, read by the control thread. */
	struct counters c;
	_Atomic int inside; /* touching a queue right now */
	char pad[64 - (sizeof(struct counters) + sizeof(int)) % 64];

	struct bench *b;
	pthread_t tid;
	bool started;
	uint16_t qid;
	bool active;        /* this queue exists on the link */
	int cpu;
	bool shares_cpu;    /* another queue thread runs on the same CPU */
	int epfd;           /* the thread's own epoll (interrupt mode) */
	int efd;            /* rx interrupt eventfd while the link is up */
	memif_buffer_t *rxb, *txb;
	uint32_t rx_room;   /* buffers asked of memif_rx_burst */
	uint32_t tx_room;   /* room in txb */
	uint8_t *app;       /* app-owned frame memory: app_slots frames */
	uint8_t *tmpl;      /* a prebuilt frame (the last app slot) */
	uint32_t slot;      /* bytes per app frame */
	uint32_t app_slots;
	uint32_t *flen;     /* frame lengths of a received burst */
	uint32_t *fstart;   /* index in rxb of each frame's first buffer */
	uint32_t *fsegs;    /* buffers of each frame */
	uint64_t seq;
	/* ping */
	bool waiting;
	uint32_t expect, got;
	uint64_t t0, polls;
	struct bench_hist *hist;
	/* pacing (--rate, --on-off) */
	uint64_t wake_at;    /* ns: sleep until then before the next step (0 = no sleep) */
	uint64_t pace_base;  /* ns: tx: frame k of this phase is due at base + k / rate;
			      * ping: when the next round trip is due */
	uint64_t pace_sent;  /* tx: frames sent since pace_base */
	bool in_off;         /* --on-off: in a pause */
	bool rx_more;        /* the last memif_rx_burst said NOBUF: more waits */
	/* counts, private */
	uint64_t pkts, bytes, drops, lost;
} __attribute__((aligned(64)));

struct bench {
	struct opts o;
	memif_socket_handle_t sock;
	memif_conn_handle_t conn;
	int ctl_epfd;
	_Atomic int up;      /* data threads may use the queues */
	_Atomic int stop;    /* data threads exit */
	bool link;           /* control thread's view of the link */
	bool ever_up;
	bool went_down;      /* link lost after having been up */
	bool alloc_failed;
	uint64_t t_link;     /* ns: link up */
	uint64_t t_start;    /* ns: measurement start */
	_Atomic uint64_t t_first; /* ns: first packet received (rx) */
	uint16_t rxq_num, txq_num;
	uint32_t bsize;      /* buffer size on the link */
	double rate_q;       /* --rate per queue thread */
	struct qthread *qt;
	int nq;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (!p)
		die("memif-bench: calloc");
	return p;
}

/* ---- frames ------------------------------------------------------------- */

static uint16_t csum16(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An Ethernet/IPv4/UDP frame of `len` bytes (len >= MIN_FRAME). */
static void build_frame(uint8_t *f, uint32_t len, uint16_t qid)
{
	static const uint8_t dst[6] = { 0x02, 0xfe, 0x00, 0x00, 0x00, 0x02 };
	static const uint8_t src[6] = { 0x02, 0xfe, 0x00, 0x00, 0x00, 0x01 };
	uint32_t ip_len = len - 14, udp_len = ip_len - 20, i;
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t c;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(ip_len >> 8);
	ip[3] = (uint8_t)ip_len;
	ip[8] = 64;
	ip[9] = 17; /* UDP */
	ip[12] = 198, ip[13] = 18, ip[14] = 0, ip[15] = 1;
	ip[16] = 198, ip[17] = 18, ip[18] = 0, ip[19] = 2;
	c = csum16(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	udp[0] = 0x04, udp[1] = (uint8_t)qid; /* source port 1024 + qid */
	udp[2] = 0x04, udp[3] = 0x00;
	udp[4] = (uint8_t)(udp_len >> 8);
	udp[5] = (uint8_t)udp_len;
	udp[6] = udp[7] = 0; /* no UDP checksum */
	for (i = HDR_LEN; i < len; i++)
		f[i] = (uint8_t)i;
}

static inline void put_seq(uint8_t *f, uint64_t seq)
{
	memcpy(f + SEQ_OFF, &seq, sizeof(seq));
}

static inline uint64_t get_seq(const uint8_t *f)
{
	uint64_t s;

	memcpy(&s, f + SEQ_OFF, sizeof(s));
	return s;
}

static inline void swap_macs(uint8_t *f)
{
	uint8_t tmp[6];

	memcpy(tmp, f, 6);
	memcpy(f, f + 6, 6);
	memcpy(f + 6, tmp, 6);
}

/*
 * Copy one frame from the buffers src[0..ns) into dst[0..nd), as far as
 * the lengths of dst allow. Returns the bytes copied.
 */
static inline uint32_t copy_segs(memif_buffer_t *dst, uint32_t nd, const memif_buffer_t *src,
				 uint32_t ns)
{
	uint32_t si = 0, di = 0, so = 0, dof = 0, total = 0;

	if (ns == 1 && nd == 1) { /* the common case: no chains */
		uint32_t n = src->len < dst->len ? src->len : dst->len;

		memcpy(dst->data, src->data, n);
		return n;
	}
	while (si < ns && di < nd) {
		uint32_t a = src[si].len - so, room = dst[di].len - dof;
		uint32_t n = a < room ? a : room;

		memcpy((uint8_t *)dst[di].data + dof, (const uint8_t *)src[si].data + so, n);
		so += n;
		dof += n;
		total += n;
		if (so == src[si].len)
			si++, so = 0;
		if (dof == dst[di].len)
			di++, dof = 0;
	}
	return total;
}

/* Buffers of the frame that starts at bufs[i] (bounded by n). */
static inline uint32_t frame_segs(const memif_buffer_t *bufs, uint32_t i, uint32_t n)
{
	uint32_t k = i;

	while (k + 1 < n && (bufs[k].flags & MEMIF_BUFFER_FLAG_NEXT))
		k++;
	return k - i + 1;
}

/*
 * Fill the frame bufs[0..segs) from `src` (len bytes): zero copy writes only
 * the headers in place (when the first buffer holds them), copy mode copies
 * the whole frame.
 */
static inline void put_frame(memif_buffer_t *bufs, uint32_t segs, const uint8_t *src,
			     uint32_t len, bool zero_copy)
{
	if (zero_copy && bufs->len >= MIN_FRAME) {
		memcpy(bufs->data, src, HDR_LEN);
	} else {
		memif_buffer_t s = { .data = (void *)src, .len = len };

		copy_segs(bufs, segs, &s, 1);
	}
}

/* ---- data path ---------------------------------------------------------- */

/*
 * tx mode: allocate up to `want` frames (at most a burst), fill them, send
 * them. Returns the frames sent: 0 if the ring was full.
 */
static uint32_t tx_once(struct bench *b, struct qthread *t, uint16_t want)
{
	uint32_t size = b->o.size, frames = 0, i = 0;
	uint16_t n = 0, sent = 0;

	(void)memif_buffer_alloc(b->conn, t->qid, t->txb, want, &n, (uint16_t)size);
	if (n == 0)
		return 0;
	if (!b->o.zero_copy) {
		/* Copy mode, one buffer per frame (the common case): frame i of
		 * the burst is the app's prebuilt frame i. Nothing else is
		 * stored per frame: with the copy's stores into shared memory
		 * waiting on cross-core misses, every extra store (a sequence
		 * stamp, a spilled counter) holds a store-queue entry and cuts
		 * how many frames are in flight. rx mode does not look at the
		 * sequence number; ping stamps its own. */
		const uint8_t *app = t->app;
		const size_t slot = t->slot;
		const memif_buffer_t *txb = t->txb;

		for (; i < n && !(txb[i].flags & MEMIF_BUFFER_FLAG_NEXT); i++)
			memcpy(txb[i].data, app + i * slot, txb[i].len);
		frames = i;
	}
	while (i < n) {
		/* Zero copy, or a chained frame of the app's own memory. */
		uint32_t segs = frame_segs(t->txb, i, n);

		if (b->o.zero_copy) {
			put_frame(&t->txb[i], segs, t->tmpl, size, true);
			if (t->txb[i].len >= MIN_FRAME)
				put_seq(t->txb[i].data, t->seq++);
		} else {
			put_frame(&t->txb[i], segs, t->app + (size_t)(frames % b->o.burst) * t->slot,
				  size, false);
		}
		i += segs;
		frames++;
	}
	(void)memif_tx_burst(b->conn, t->qid, t->txb, n, &sent);
	if (sent != n) {
		frames = 0;
		for (i = 0; i < sent; i++)
			frames += !(t->txb[i].flags & MEMIF_BUFFER_FLAG_NEXT);
	}
	t->pkts += frames;
	t->bytes += (uint64_t)frames * size;
	return frames;
}

/*
 * --on-off (tx, ping): is this a pause? Then t->wake_at is its end. A new
 * sending phase starts its pacing afresh: no catching up on the pause.
 */
static bool in_pause(struct bench *b, struct qthread *t)
{
	const struct opts *o = &b->o;
	uint64_t cyc, on, in, now;

	if (o->on_s <= 0)
		return false;
	cyc = (uint64_t)((o->on_s + o->off_s) * 1e9);
	on = (uint64_t)(o->on_s * 1e9);
	now = bench_now_ns();
	in = (now - b->t_start) % cyc;
	if (in >= on) {
		t->in_off = true;
		t->wake_at = now + (cyc - in);
		return true;
	}
	if (t->in_off) {
		t->in_off = false;
		t->pace_base = 0;
	}
	return false;
}

/*
 * tx mode, one step: unpaced, a full burst; with --rate, bursts at computed
 * times: frame k of a sending phase is due at pace_base + k / rate, and a
 * burst (--burst frames; -b 1 paces frame by frame) goes out when its last
 * frame is due. Until then t->wake_at is set and the thread sleeps
 * (clock_nanosleep). A backlog (the ring was full, or the thread woke late)
 * is sent at once up to 10 ms worth; beyond that it is dropped rather than
 * sent as a flood. --on-off pauses between sending phases the same way.
 * Returns true when it sent something (call again at once).
 */
static bool tx_step(struct bench *b, struct qthread *t)
{
	const struct opts *o = &b->o;
	uint64_t now, target, due;
	uint32_t sent;

	if (o->idle) {
		t->wake_at = bench_now_ns() + 10000000ull;
		return false;
	}
	if (in_pause(b, t))
		return false;
	if (o->rate <= 0)
		return tx_once(b, t, o->burst) != 0;
	now = bench_now_ns();
	if (!t->pace_base) {
		t->pace_base = now;
		t->pace_sent = 0;
	}
	/* Frames due by now; the burst's last frame is pace_sent + burst - 1. */
	target = (uint64_t)((double)(now - t->pace_base) * b->rate_q / 1e9) + 1;
	if (target < t->pace_sent + o->burst) {
		t->wake_at = t->pace_base +
			     (uint64_t)((double)(t->pace_sent + o->burst - 1) * 1e9 / b->rate_q);
		return false;
	}
	due = target - t->pace_sent;
	if ((double)due > b->rate_q * 0.01 + o->burst) {
		t->pace_sent = target - o->burst; /* drop the backlog */
		due = o->burst;
	}
	sent = tx_once(b, t, (uint16_t)(due < o->burst ? due : o->burst));
	t->pace_sent += sent;
	return sent != 0;
}

/*
 * Take what waits on the rx ring: copy each frame into app slot f (copy
 * mode) or look at it in place (zero copy). Fills flen/fstart/fsegs for
 * echo and ping, which look at the frames again.
 * Returns the buffers taken (to refill); *frames = frames.
 */
static uint32_t rx_take(struct bench *b, struct qthread *t, uint32_t *frames)
{
	const bool keep = b->o.mode != MODE_RX;
	uint16_t n = 0;
	uint32_t i = 0, f = 0;
	uint64_t by = 0;

	/* SUCCESS: the ring is drained (n may be 0); NOBUF: more waits. */
	t->rx_more = memif_rx_burst(b->conn, t->qid, t->rxb, (uint16_t)t->rx_room, &n) ==
		     MEMIF_ERR_NOBUF;
	if (!keep && !b->o.zero_copy) {
		/* rx mode, one buffer per frame: copy out, nothing else stored
		 * per frame (see tx_once). */
		uint8_t *app = t->app;
		const size_t slot = t->slot;
		const memif_buffer_t *rxb = t->rxb;

		for (; i < n && !(rxb[i].flags & MEMIF_BUFFER_FLAG_NEXT); i++) {
			uint32_t len = rxb[i].len;

			memcpy(app + i * slot, rxb[i].data, len < slot ? len : slot);
			by += len;
		}
		f = i;
	}
	while (i < n) {
		uint32_t segs = frame_segs(t->rxb, i, n), len = 0, k;

		for (k = 0; k < segs; k++)
			len += t->rxb[i + k].len;
		if (!b->o.zero_copy) {
			memif_buffer_t dst = { .data = t->app + (size_t)f * t->slot, .len = t->slot };

			copy_segs(&dst, 1, &t->rxb[i], segs);
		} else if (len) {
			/* Read in place: the first cache line is looked at. */
			volatile uint8_t sink = *(const uint8_t *)t->rxb[i].data;
			(void)sink;
		}
		if (keep) {
			t->flen[f] = len;
			t->fstart[f] = i;
			t->fsegs[f] = segs;
		}
		by += len;
		i += segs;
		f++;
	}
	t->bytes += by;
	*frames = f;
	return n;
}

/*
 * Whether a receiving step should be repeated at once. Interrupt and
 * adaptive mode follow memif_rx_burst's contract: call again while it says
 * NOBUF; after SUCCESS (ring drained) wait on the eventfd, which in
 * adaptive mode the library keeps set while traffic flows, so the wait
 * returns at once. Polling: again while there was something.
 */
static inline bool rx_again(const struct bench *b, const struct qthread *t, uint32_t n)
{
	return b->o.interrupt ? t->rx_more : n != 0;
}

static bool rx_once(struct bench *b, struct qthread *t)
{
	uint32_t f, n = rx_take(b, t, &f);

	if (n == 0)
		return rx_again(b, t, n);
	(void)memif_refill_queue(b->conn, t->qid, (uint16_t)n, 0);
	if (atomic_load_explicit(&b->t_first, memory_order_relaxed) == 0) {
		uint64_t zero = 0;

		atomic_compare_exchange_strong(&b->t_first, &zero, bench_now_ns());
	}
	t->pkts += f;
	return rx_again(b, t, n);
}

/*
 * Send frames [0, nf) of the last received burst: from app memory (copy
 * mode) or straight from the rx buffers (zero copy), MACs swapped in the tx
 * buffer. Frames of equal length go in one
 * memif_buffer_alloc call. Returns the frames sent.
 */
static uint32_t echo_send(struct bench *b, struct qthread *t, uint32_t nf)
{
	uint32_t i = 0, nb = 0, sent_frames = 0, k;
	uint16_t sent = 0;

	while (i < nf) {
		uint32_t len = t->flen[i], j = i, per = (len + b->bsize - 1) / b->bsize, got_f = 0;
		uint16_t got = 0, want;

		if (len > t->slot && !b->o.zero_copy)
			len = t->slot;
		if (per == 0)
			per = 1;
		while (j < nf && t->flen[j] == t->flen[i] && nb + (j - i + 1) * per <= t->tx_room)
			j++;
		if (j == i)
			break;
		want = (uint16_t)(j - i);
		(void)memif_buffer_alloc(b->conn, t->qid, t->txb + nb, want, &got, (uint16_t)len);
		for (k = 0; k < got; got_f++) {
			uint32_t segs = frame_segs(t->txb + nb, k, got);

			if (b->o.zero_copy)
				copy_segs(t->txb + nb + k, segs, &t->rxb[t->fstart[i]], t->fsegs[i]);
			else
				put_frame(t->txb + nb + k, segs, t->app + (size_t)i * t->slot, len,
					  false);
			if (t->txb[nb + k].len >= 12)
				swap_macs(t->txb[nb + k].data);
			k += segs;
			i++;
		}
		nb += got;
		if (got_f < want)
			break; /* tx ring full: the rest is dropped */
	}
	if (nb) {
		(void)memif_tx_burst(b->conn, t->qid, t->txb, (uint16_t)nb, &sent);
		for (k = 0; k < sent; k++)
			sent_frames += !(t->txb[k].flags & MEMIF_BUFFER_FLAG_NEXT);
	}
	return sent_frames;
}

static bool echo_once(struct bench *b, struct qthread *t)
{
	uint32_t f, sent, n = rx_take(b, t, &f);

	if (n == 0)
		return rx_again(b, t, n);
	if (!b->o.zero_copy) {
		/* The app owns its copies: give the rx buffers back first. The
		 * MACs are swapped in the tx copy (see tx_once on why not in
		 * the app's frame just before copying it). */
		(void)memif_refill_queue(b->conn, t->qid, (uint16_t)n, 0);
		sent = echo_send(b, t, f);
	} else {
		sent = echo_send(b, t, f);
		(void)memif_refill_queue(b->conn, t->qid, (uint16_t)n, 0);
	}
	t->pkts += sent;
	t->drops += f - sent;
	return rx_again(b, t, n);
}

/* ping: one burst out, wait until all of it is back. Returns false when idle. */
static bool ping_once(struct bench *b, struct qthread *t)
{
	uint32_t f, i, n;
	uint64_t now;

	if (!t->waiting) {
		uint16_t got = 0, sent = 0;

		if (b->o.idle) {
			t->wake_at = bench_now_ns() + 10000000ull;
			return false;
		}
		if (in_pause(b, t))
			return false;
		if (b->o.rate > 0) {
			/* One round trip every 1/rate s; a late one does not
			 * make the next ones come sooner. */
			uint64_t period = (uint64_t)(1e9 / b->rate_q);

			now = bench_now_ns();
			if (t->pace_base && now < t->pace_base) {
				t->wake_at = t->pace_base;
				return false;
			}
			t->pace_base = (t->pace_base && t->pace_base + period > now) ?
					       t->pace_base + period :
					       now + period;
		}
		t->seq++;
		t->t0 = bench_now_ns();
		(void)memif_buffer_alloc(b->conn, t->qid, t->txb, b->o.burst, &got,
					 (uint16_t)b->o.size);
		for (i = 0; i < got;) {
			uint32_t segs = frame_segs(t->txb, i, got);

			put_frame(&t->txb[i], segs, t->tmpl, b->o.size, b->o.zero_copy);
			if (t->txb[i].len >= MIN_FRAME)
				put_seq(t->txb[i].data, t->seq);
			i += segs;
		}
		if (got)
			(void)memif_tx_burst(b->conn, t->qid, t->txb, got, &sent);
		t->expect = 0;
		for (i = 0; i < sent; i++)
			t->expect += !(t->txb[i].flags & MEMIF_BUFFER_FLAG_NEXT);
		if (t->expect == 0)
			return true; /* no room yet: try again */
		t->got = 0;
		t->polls = 0;
		t->waiting = true;
	}
	n = rx_take(b, t, &f);
	if (n) {
		for (i = 0; i < f; i++) {
			const uint8_t *fr = b->o.zero_copy ? t->rxb[t->fstart[i]].data :
							      t->app + (size_t)i * t->slot;

			if (t->flen[i] >= MIN_FRAME && t->rxb[t->fstart[i]].len >= MIN_FRAME &&
			    get_seq(fr) == t->seq)
				t->got++;
		}
		(void)memif_refill_queue(b->conn, t->qid, (uint16_t)n, 0);
		if (t->got >= t->expect) {
			now = bench_now_ns();
			bench_hist_add(t->hist, now - t->t0);
			t->pkts++; /* round trips */
			t->waiting = false;
			return true;
		}
		return rx_again(b, t, n);
	}
	if ((++t->polls & 1023) == 0 || b->o.interrupt) {
		now = bench_now_ns();
		if (now - t->t0 > 1000000000ull) { /* 1 s: count it lost */
			t->lost++;
			t->waiting = false;
		}
	}
	return false;
}

static void publish(struct qthread *t)
{
	atomic_store_explicit(&t->c.pkts, t->pkts, memory_order_relaxed);
	atomic_store_explicit(&t->c.bytes, t->bytes, memory_order_relaxed);
	atomic_store_explicit(&t->c.drops, t->drops, memory_order_relaxed);
	atomic_store_explicit(&t->c.lost, t->lost, memory_order_relaxed);
}

static void *qthread_main(void *arg)
{
	struct qthread *t = arg;
	struct bench *b = t->b;
	int err = bench_pin(t->cpu);

	if (err)
		fprintf(stderr, "memif-bench: queue %u: cannot pin to CPU %d: %s\n", t->qid, t->cpu,
			strerror(-err));
	if (b->o.rate > 0 || b->o.idle || b->o.on_s > 0)
		(void)prctl(PR_SET_TIMERSLACK, 1000UL); /* paced sleeps within 1 us */
	while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
		bool busy = false;

		/* seq_cst: pairs with on_disconnect's store of up then load of inside. */
		atomic_store(&t->inside, 1);
		if (!atomic_load(&b->up) || !t->active) {
			struct timespec ts = { 0, 200000 };

			atomic_store(&t->inside, 0);
			nanosleep(&ts, NULL);
			continue;
		}
		t->wake_at = 0;
		switch (b->o.mode) {
		case MODE_TX:
			busy = tx_step(b, t);
			break;
		case MODE_RX:
			busy = rx_once(b, t);
			break;
		case MODE_ECHO:
			busy = echo_once(b, t);
			break;
		case MODE_PING:
			busy = ping_once(b, t);
			break;
		}
		atomic_store_explicit(&t->inside, 0, memory_order_release);
		publish(t);
		if (t->wake_at) {
			/* Paced: sleep until the next frame is due (at most 100 ms,
			 * to notice stop). */
			uint64_t cap = bench_now_ns() + 100000000ull;
			uint64_t w = t->wake_at < cap ? t->wake_at : cap;
			struct timespec ts = { (time_t)(w / 1000000000u), (long)(w % 1000000000u) };

			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		} else if (!busy && b->o.interrupt && b->o.mode != MODE_TX) {
			struct epoll_event ev;

			/* Sleep until the peer kicks the queue's eventfd. */
			(void)epoll_wait(t->epfd, &ev, 1, 100);
		} else if (!busy && t->shares_cpu) {
			/* Ring empty (rx) or full (tx): let the other queues of this
			 * CPU run rather than spin out the time slice. */
			sched_yield();
		}
	}
	publish(t);
	return NULL;
}

/* ---- control: the library's fds in our epoll --------------------------- */

static int ctl_fd_update(memif_fd_event_t fde, void *private_ctx)
{
	struct bench *b = private_ctx;
	struct epoll_event ev = { .events = 0, .data.ptr = fde.private_ctx };
	uint32_t type = fde.type;

	if (type & MEMIF_FD_EVENT_DEL) {
		/* ENOENT is fine: interrupt fds may have moved to a data thread. */
		(void)epoll_ctl(b->ctl_epfd, EPOLL_CTL_DEL, fde.fd, NULL);
		return 0;
	}
	if (type & MEMIF_FD_EVENT_READ)
		ev.events |= EPOLLIN;
	if (type & MEMIF_FD_EVENT_WRITE)
		ev.events |= EPOLLOUT;
	if (type & MEMIF_FD_EVENT_MOD)
		return epoll_ctl(b->ctl_epfd, EPOLL_CTL_MOD, fde.fd, &ev) < 0 ? -1 : 0;
	if (epoll_ctl(b->ctl_epfd, EPOLL_CTL_ADD, fde.fd, &ev) < 0) {
		if (errno != EEXIST || epoll_ctl(b->ctl_epfd, EPOLL_CTL_MOD, fde.fd, &ev) < 0)
			return -1;
	}
	return 0;
}

static void set_up(struct bench *b)
{
	b->t_start = bench_now_ns();
	atomic_store(&b->up, 1);
}

/* (Re)size a data thread's arrays for the link's buffer size. Threads are parked. */
static void size_thread(struct bench *b, struct qthread *t)
{
	uint32_t size = b->o.size, segs = (size + b->bsize - 1) / b->bsize;
	uint32_t slot = (size + 63) & ~63u, frames;

	if (segs == 0)
		segs = 1;
	if (b->o.mode != MODE_TX && slot < 2048)
		slot = 2048; /* room for a peer's frames a little larger than ours */
	/* A stride that is a multiple of 1 KiB puts every frame's first cache
	 * line in the same few L1 sets (the memif buffers, 2 KiB apart, are
	 * there already): pad it to an odd number of cache lines. */
	if ((slot & 1023) == 0)
		slot += 64;
	t->rx_room = (uint32_t)b->o.burst * segs;
	if (t->rx_room > 65535)
		t->rx_room = 65535;
	/* Room for the worst case: the peer's buffers could be as small as 64 bytes. */
	t->tx_room = (uint32_t)b->o.burst * (slot / 64 + 1);
	if (b->o.mode == MODE_ECHO && t->tx_room < t->rx_room)
		t->tx_room = t->rx_room;
	frames = t->rx_room;
	free(t->rxb);
	free(t->txb);
	free(t->app);
	free(t->flen);
	free(t->fstart);
	free(t->fsegs);
	t->rxb = xcalloc(t->rx_room, sizeof(*t->rxb));
	t->txb = xcalloc(t->tx_room, sizeof(*t->txb));
	t->flen = xcalloc(frames, sizeof(*t->flen));
	t->fstart = xcalloc(frames, sizeof(*t->fstart));
	t->fsegs = xcalloc(frames, sizeof(*t->fsegs));
	t->slot = slot;
	/* tx: a pool of `burst` frames; rx: one slot per frame received;
	 * plus a template frame that nothing overwrites. */
	t->app_slots = (b->o.mode == MODE_TX ? b->o.burst : frames) + 1;
	if (posix_memalign((void **)&t->app, 64, (size_t)t->app_slots * slot))
		die("memif-bench: posix_memalign");
	for (uint32_t i = 0; i < t->app_slots; i++) {
		build_frame(t->app + (size_t)i * slot, size, t->qid);
		put_seq(t->app + (size_t)i * slot, i); /* the frames differ */
	}
	t->tmpl = t->app + (size_t)(t->app_slots - 1) * slot;
}

static int on_connect(memif_conn_handle_t conn, void *ctx)
{
	static char buf[65536];
	struct bench *b = ctx;
	memif_details_t md;
	bool needs_rx = b->o.mode != MODE_TX, needs_tx = b->o.mode != MODE_RX;
	int i, err;

	err = memif_get_details(conn, &md, buf, sizeof(buf));
	if (err) {
		fprintf(stderr, "memif-bench: memif_get_details: %s\n", memif_strerror(err));
		return 0;
	}
	b->rxq_num = md.rx_queues_num;
	b->txq_num = md.tx_queues_num;
	b->bsize = md.rx_queues_num ? md.rx_queues[0].buffer_size :
		   (md.tx_queues_num ? md.tx_queues[0].buffer_size : 2048);
	if (b->bsize == 0)
		b->bsize = 2048;
	for (i = 0; i < b->rxq_num; i++) {
		bool irq = b->o.interrupt && needs_rx && i < b->nq;
		memif_rx_mode_t m = irq ? MEMIF_RX_MODE_INTERRUPT : MEMIF_RX_MODE_POLLING;

#ifdef MEMIF_HAVE_RX_MODE_ADAPTIVE
		if (irq && b->o.rx_mode == RXM_ADAPTIVE)
			m = MEMIF_RX_MODE_ADAPTIVE;
#endif
		err = memif_set_rx_mode(conn, m, (uint16_t)i);
		if (err)
			fprintf(stderr, "memif-bench: memif_set_rx_mode(%d): %s\n", i,
				memif_strerror(err));
		(void)memif_refill_queue(conn, (uint16_t)i, (uint16_t)-1, 0);
	}
	for (i = 0; i < b->nq; i++) {
		struct qthread *t = &b->qt[i];
		struct epoll_event ev = { .events = EPOLLIN };
		int fd;

		t->active = (!needs_rx || i < b->rxq_num) && (!needs_tx || i < b->txq_num);
		t->efd = -1;
		t->waiting = false;
		if (!t->active)
			continue;
		size_thread(b, t);
		if (!needs_rx || !b->o.interrupt)
			continue;
		err = memif_get_queue_efd(conn, (uint16_t)i, &fd);
		if (err) {
			fprintf(stderr, "memif-bench: memif_get_queue_efd(%d): %s\n", i,
				memif_strerror(err));
			continue;
		}
		/* The queue's own thread waits on it, not the control loop. */
		(void)epoll_ctl(b->ctl_epfd, EPOLL_CTL_DEL, fd, NULL);
		ev.data.fd = fd;
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			perror("memif-bench: epoll_ctl(queue eventfd)");
		else
			t->efd = fd;
	}
	b->link = true;
	b->ever_up = true;
	b->t_link = bench_now_ns();
	if (!b->o.quiet)
		printf("link up: role=%s rx_queues=%u tx_queues=%u buffer_size=%u\n",
		       b->o.master ? "master" : "slave", b->rxq_num, b->txq_num, b->bsize);
	if (b->o.delay <= 0 && !b->went_down)
		set_up(b);
	return 0;
}

static int on_disconnect(memif_conn_handle_t conn, void *ctx)
{
	struct bench *b = ctx;
	int i;

	atomic_store(&b->up, 0);
	/* seq_cst: pairs with the threads' store of inside, then load of up. */
	for (i = 0; i < b->nq; i++)
		while (atomic_load(&b->qt[i].inside))
			sched_yield();
	for (i = 0; i < b->nq; i++) {
		struct qthread *t = &b->qt[i];

		if (t->efd >= 0) {
			(void)epoll_ctl(t->epfd, EPOLL_CTL_DEL, t->efd, NULL);
			t->efd = -1;
		}
		t->active = false;
	}
	if (b->link) {
		static char buf[65536];
		memif_details_t md;
		const char *why = "";

		b->went_down = true;
		if (memif_get_details(conn, &md, buf, sizeof(buf)) == MEMIF_ERR_SUCCESS && md.error)
			why = (const char *)md.error;
		/* Printed even with --quiet: a lost link is worth knowing about. */
		printf("link down%s%s\n", why[0] ? ": " : "", why);
	}
	b->link = false;
	return 0;
}

/* ---- options ------------------------------------------------------------- */

#ifdef MEMIF_HAVE_RX_MODE_ADAPTIVE
#define RXM_HELP \
"  -m, --mode polling|interrupt|adaptive\n" \
"                            receive mode (default polling). interrupt blocks in\n" \
"                            epoll on the queue's eventfd and calls memif_rx_burst\n" \
"                            until it returns SUCCESS (ring drained); adaptive\n" \
"                            does the same with MEMIF_RX_MODE_ADAPTIVE (the\n" \
"                            library masks the peer's interrupts while traffic\n" \
"                            flows)\n"
#else
#define RXM_HELP \
"  -m, --mode polling|interrupt\n" \
"                            receive mode (default polling). interrupt blocks in\n" \
"                            epoll on the queue's eventfd and calls memif_rx_burst\n" \
"                            until it returns SUCCESS (ring drained)\n"
#endif

static void usage(FILE *f)
{
	fprintf(f,
"usage: memif-bench MODE [options]\n"
"  MODE: tx (generate), rx (receive and drop), echo (return every frame),\n"
"        ping (one burst out, wait for it back: round-trip latency)\n"
"  -r, --role master|slave   interface role (default slave)\n"
"  -s, --socket PATH         control socket, @name = abstract (default @memif-bench)\n"
"  -i, --id N                interface id (default 0)\n"
"  -S, --size BYTES          frame size, 50..65535 (default 64); chained buffers\n"
"                            when larger than the buffer size\n"
"  -b, --burst N             frames per burst (default 32; ping: 1)\n"
"  -q, --queues N            queues, one thread each (default 1)\n"
"  -d, --duration SEC        measure for SEC seconds (default 5; 0 = until the\n"
"                            peer leaves, for rx/echo)\n"
RXM_HELP
"  -c, --cpu N               pin everything to CPU N\n"
"  -C, --cpus LIST           pin queue thread i to LIST[i %% len] (\"0,1\", \"2-5\");\n"
"                            the control thread to LIST[0]\n"
"  -R, --ring LOG2           log2 of the ring size (default 10)\n"
"  -B, --buffer-size BYTES   buffer size (default 2048; the slave's counts)\n"
"  -z, --zero-copy           build frames in the tx buffers and read rx frames in\n"
"                            place (default: copy to and from app memory)\n"
"  -w, --warmup SEC          rx: seconds of traffic not counted (default 0)\n"
"  -W, --wait SEC            give up if no link (or, rx, no packet) after SEC s\n"
"                            (default 30)\n"
"  -D, --delay SEC           tx/ping: wait SEC s after link up before sending\n"
"  -n, --count N             ping: stop after N round trips\n"
"      --rate PPS            tx: send PPS frames/s in all, a burst whenever --burst\n"
"                            frames are due, sleeping with clock_nanosleep in\n"
"                            between (-b 1: frame by frame); ping: PPS round\n"
"                            trips/s (default: as fast as possible)\n"
"      --idle                tx, ping: connect and send nothing; rx, echo: measure\n"
"                            from link up and succeed without traffic (idle CPU)\n"
"      --on-off ON,OFF       tx, ping: send (at --rate, or as fast as possible)\n"
"                            for ON s, pause OFF s, repeat\n"
"  -Q, --quiet               no progress lines\n"
"  -h, --help\n"
"Prints a progress line every second and a final line\n"
"  RESULT mode=.. role=.. size=.. burst=.. queues=.. rx_mode=.. pps=.. gbps=..\n"
"         pkts=.. dur=.. cpu_pct=.. cpu_ns_pkt=.. thr_cpu_pct=..\n"
"cpu_pct: the process's user+sys CPU time (getrusage) over the measured interval,\n"
"in %% of one core; cpu_ns_pkt: that CPU time per frame (round trip for ping;\n"
"- without traffic); thr_cpu_pct: each data thread's, comma-separated. rx and\n"
"echo add masked_pct (share of 10 ms samples with the rx ring's MASK_INT set),\n"
"to_masked/to_unmasked (switches seen) and resumes (traffic after a gap of at\n"
"least 100 ms). ping adds p50_ns, p99_ns, p999_ns.\n"
"Exit status 0 when traffic moved (--idle: when the link came up).\n");
}

static double parse_num(const char *s, const char *name, double lo, double hi)
{
	return bench_num("memif-bench", s, name, lo, hi);
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 's' },
		{ "id", required_argument, NULL, 'i' },
		{ "size", required_argument, NULL, 'S' },
		{ "burst", required_argument, NULL, 'b' },
		{ "queues", required_argument, NULL, 'q' },
		{ "duration", required_argument, NULL, 'd' },
		{ "mode", required_argument, NULL, 'm' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "cpus", required_argument, NULL, 'C' },
		{ "ring", required_argument, NULL, 'R' },
		{ "buffer-size", required_argument, NULL, 'B' },
		{ "zero-copy", no_argument, NULL, 'z' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "wait", required_argument, NULL, 'W' },
		{ "delay", required_argument, NULL, 'D' },
		{ "count", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "rate", required_argument, NULL, 1000 },
		{ "idle", no_argument, NULL, 1001 },
		{ "on-off", required_argument, NULL, 1002 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	strcpy(o->socket, "@memif-bench");
	o->size = 64;
	o->burst = 32;
	o->queues = 1;
	o->duration = 5;
	o->ring_log2 = 10;
	o->buffer_size = 2048;
	o->wait = 30;
	while ((c = getopt_long(argc, argv, "r:s:i:S:b:q:d:m:c:C:R:B:zw:W:D:n:Qh", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (!strcmp(optarg, "master"))
				o->master = true;
			else if (!strcmp(optarg, "slave"))
				o->master = false;
			else {
				fprintf(stderr, "memif-bench: role is master or slave\n");
				exit(2);
			}
			break;
		case 's':
			if (strlen(optarg) >= sizeof(o->socket)) {
				fprintf(stderr, "memif-bench: socket path too long\n");
				exit(2);
			}
			strcpy(o->socket, optarg);
			break;
		case 'i':
			o->id = (uint32_t)parse_num(optarg, "id", 0, 4294967295.0);
			break;
		case 'S':
			o->size = (uint32_t)parse_num(optarg, "size", MIN_FRAME, 65535);
			break;
		case 'b':
			o->burst = (uint16_t)parse_num(optarg, "burst", 1, 256);
			o->burst_set = true;
			break;
		case 'q':
			o->queues = (uint16_t)parse_num(optarg, "queues", 1, MAX_QUEUES);
			break;
		case 'd':
			o->duration = parse_num(optarg, "duration", 0, 1e6);
			break;
		case 'm':
			for (c = 0; c < 3; c++)
				if (!strcmp(optarg, rxm_names[c]))
					break;
			if (c == 3) {
				fprintf(stderr,
					"memif-bench: mode is polling, interrupt or adaptive\n");
				exit(2);
			}
#ifndef MEMIF_HAVE_RX_MODE_ADAPTIVE
			if (c == RXM_ADAPTIVE) {
				fprintf(stderr, "memif-bench: this libmemif has no adaptive mode\n");
				exit(2);
			}
#endif
			o->rx_mode = (enum rxm)c;
			o->interrupt = c != RXM_POLLING;
			break;
		case 'c':
			o->cpus[0] = (int)parse_num(optarg, "cpu", 0, CPU_SETSIZE - 1);
			o->ncpus = 1;
			break;
		case 'C':
			o->ncpus = bench_parse_cpus(optarg, o->cpus, MAX_CPUS);
			if (o->ncpus <= 0) {
				fprintf(stderr, "memif-bench: bad CPU list: %s\n", optarg);
				exit(2);
			}
			break;
		case 'R':
			o->ring_log2 = (uint8_t)parse_num(optarg, "ring", 1, 14);
			break;
		case 'B':
			o->buffer_size = (uint16_t)parse_num(optarg, "buffer size", 64, 65535);
			break;
		case 'z':
			o->zero_copy = true;
			break;
		case 'w':
			o->warmup = parse_num(optarg, "warmup", 0, 1e6);
			break;
		case 'W':
			o->wait = parse_num(optarg, "wait", 0.1, 1e6);
			break;
		case 'D':
			o->delay = parse_num(optarg, "delay", 0, 1e6);
			break;
		case 'n':
			o->count = (uint64_t)parse_num(optarg, "count", 1, 1e15);
			break;
		case 'Q':
			o->quiet = true;
			break;
		case 1000:
			o->rate = parse_num(optarg, "rate", 1, 1e10);
			break;
		case 1001:
			o->idle = true;
			break;
		case 1002: {
			char *end;

			o->on_s = strtod(optarg, &end);
			if (end == optarg || *end != ',' || o->on_s <= 0) {
				fprintf(stderr, "memif-bench: bad --on-off: %s (ON,OFF)\n", optarg);
				exit(2);
			}
			o->off_s = parse_num(end + 1, "--on-off pause", 0.001, 1e6);
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		exit(2);
	}
	for (c = 0; c < 4; c++)
		if (!strcmp(argv[optind], mode_names[c]))
			break;
	if (c == 4) {
		fprintf(stderr, "memif-bench: unknown mode %s\n", argv[optind]);
		exit(2);
	}
	o->mode = (enum mode)c;
	if (o->mode == MODE_PING && !o->burst_set)
		o->burst = 1;
}

/* ---- main: the control loop --------------------------------------------- */

struct totals {
	uint64_t pkts, bytes, drops, lost;
};

/* CPU time at one moment: the process's (getrusage) and each data thread's. */
struct cpu_snap {
	bool taken;
	uint64_t wall;
	uint64_t proc;
	uint64_t thr[MAX_QUEUES];
	uint64_t pkts;
};

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

static void cpu_take(const struct bench *b, struct cpu_snap *c, uint64_t pkts)
{
	struct rusage ru;
	int i;

	memset(c, 0, sizeof(*c));
	c->taken = true;
	c->wall = bench_now_ns();
	c->pkts = pkts;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		c->proc = tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
	for (i = 0; i < b->nq; i++) {
		clockid_t cid;
		struct timespec ts;

		if (b->qt[i].started && pthread_getcpuclockid(b->qt[i].tid, &cid) == 0 &&
		    clock_gettime(cid, &ts) == 0)
			c->thr[i] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
}

/* " cpu_pct=.. cpu_ns_pkt=.. thr_cpu_pct=a,b,.." from two snapshots. */
static void cpu_print(const struct bench *b, const struct cpu_snap *a, const struct cpu_snap *z)
{
	double wall = z->wall > a->wall ? (double)(z->wall - a->wall) : 0;
	double cpu = z->proc > a->proc ? (double)(z->proc - a->proc) : 0;
	uint64_t pkts = z->pkts - a->pkts;
	int i;

	if (!a->taken || !z->taken || wall <= 0) {
		printf(" cpu_pct=- cpu_ns_pkt=- thr_cpu_pct=-");
		return;
	}
	printf(" cpu_pct=%.2f", 100.0 * cpu / wall);
	if (pkts)
		printf(" cpu_ns_pkt=%.1f", cpu / (double)pkts);
	else
		printf(" cpu_ns_pkt=-");
	printf(" thr_cpu_pct=");
	for (i = 0; i < b->nq; i++)
		printf("%s%.2f", i ? "," : "",
		       z->thr[i] > a->thr[i] ? 100.0 * (double)(z->thr[i] - a->thr[i]) / wall : 0.0);
}

/*
 * Receive queue 0's MASK_INT, sampled every tick while the link is up:
 * polling keeps it set, interrupt clear, adaptive sets it while traffic
 * flows and clears it when the ring stays empty.
 */
struct mask_stats {
	uint64_t on, off;
	uint32_t to_masked, to_unmasked;
	int last; /* -1: no sample yet */
};

static void mask_sample(struct bench *b, struct mask_stats *m)
{
	static char buf[65536];
	memif_details_t md;
	int v;

	if (memif_get_details(b->conn, &md, buf, sizeof(buf)) != MEMIF_ERR_SUCCESS ||
	    md.rx_queues_num == 0)
		return;
	v = (md.rx_queues[0].flags & MEMIF_QUEUE_FLAG_POLLING) ? 1 : 0;
	if (v)
		m->on++;
	else
		m->off++;
	if (m->last == 0 && v)
		m->to_masked++;
	else if (m->last == 1 && !v)
		m->to_unmasked++;
	m->last = v;
}

static void sum(const struct bench *b, struct totals *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < b->nq; i++) {
		struct qthread *t = &b->qt[i];

		s->pkts += atomic_load_explicit(&t->c.pkts, memory_order_relaxed);
		s->bytes += atomic_load_explicit(&t->c.bytes, memory_order_relaxed);
		s->drops += atomic_load_explicit(&t->c.drops, memory_order_relaxed);
		s->lost += atomic_load_explicit(&t->c.lost, memory_order_relaxed);
	}
}

int main(int argc, char **argv)
{
	static struct bench bench;
	struct bench *b = &bench;
	struct opts *o = &b->o;
	memif_socket_args_t sa;
	memif_conn_args_t ca;
	struct sigaction sact;
	struct totals cur, last, snap, fin;
	struct cpu_snap cpu0, cpu1;
	struct mask_stats ms = { .last = -1 };
	uint32_t resumes = 0;
	uint64_t t0, now, next_progress, t_last_change = 0, t_snap = 0, t_end = 0;
	uint64_t wait_ns, dur_ns, last_progress_pkts = 0, last_progress_bytes = 0, last_progress_t;
	bool snapped = false, failed = false;
	const char *why = "duration";
	int i, err, rc = 0;

	parse_opts(o, argc, argv);
	b->rate_q = o->rate / o->queues;
	memset(&cpu0, 0, sizeof(cpu0));
	memset(&cpu1, 0, sizeof(cpu1));
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sact, 0, sizeof(sact));
	sact.sa_handler = on_signal;
	sigaction(SIGINT, &sact, NULL);
	sigaction(SIGTERM, &sact, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (o->ncpus > 0) {
		err = bench_pin(o->cpus[0]);
		if (err)
			fprintf(stderr, "memif-bench: cannot pin to CPU %d: %s\n", o->cpus[0],
				strerror(-err));
	}
	b->ctl_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->ctl_epfd < 0)
		die("memif-bench: epoll_create1");
	b->nq = o->queues;
	b->qt = aligned_alloc(64, sizeof(*b->qt) * (size_t)b->nq);
	if (!b->qt)
		die("memif-bench: aligned_alloc");
	memset(b->qt, 0, sizeof(*b->qt) * (size_t)b->nq);
	for (i = 0; i < b->nq; i++) {
		struct qthread *t = &b->qt[i];

		t->b = b;
		t->qid = (uint16_t)i;
		t->efd = -1;
		t->cpu = o->ncpus > 0 ? o->cpus[i % o->ncpus] : -1;
		if (o->ncpus > 0)
			t->shares_cpu = b->nq > o->ncpus;
		else
			t->shares_cpu = b->nq > sysconf(_SC_NPROCESSORS_ONLN);
		t->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (t->epfd < 0)
			die("memif-bench: epoll_create1");
		t->hist = xcalloc(1, sizeof(*t->hist));
		bench_hist_init(t->hist);
	}

	memset(&sa, 0, sizeof(sa));
	strcpy(sa.path, o->socket);
	strcpy(sa.app_name, "memif-bench");
	sa.connection_request_timer.it_value.tv_nsec = 100000000; /* retry every 100 ms */
	sa.connection_request_timer.it_interval.tv_nsec = 100000000;
	sa.on_control_fd_update = ctl_fd_update;
	err = memif_create_socket(&b->sock, &sa, b);
	if (err) {
		fprintf(stderr, "memif-bench: memif_create_socket(%s): %s\n", o->socket,
			memif_strerror(err));
		return 1;
	}
	memset(&ca, 0, sizeof(ca));
	ca.socket = b->sock;
	ca.is_master = o->master;
	ca.interface_id = o->id;
	ca.num_s2m_rings = (uint8_t)o->queues;
	ca.num_m2s_rings = (uint8_t)o->queues;
	ca.buffer_size = o->buffer_size;
	ca.log2_ring_size = o->ring_log2;
	ca.mode = MEMIF_INTERFACE_MODE_ETHERNET;
	snprintf((char *)ca.interface_name, sizeof(ca.interface_name), "bench-%s",
		 mode_names[o->mode]);
	err = memif_create(&b->conn, &ca, on_connect, on_disconnect, NULL, b);
	if (err) {
		fprintf(stderr, "memif-bench: memif_create: %s\n", memif_strerror(err));
		memif_delete_socket(&b->sock);
		return 1;
	}
	for (i = 0; i < b->nq; i++) {
		err = pthread_create(&b->qt[i].tid, NULL, qthread_main, &b->qt[i]);
		if (err) {
			fprintf(stderr, "memif-bench: pthread_create: %s\n", strerror(err));
			atomic_store(&b->stop, 1);
			failed = true;
			break;
		}
		b->qt[i].started = true;
	}
	if (!o->quiet && !failed)
		printf("memif-bench: %s as %s on %s, %u-byte frames, burst %u, %u queue(s), %s, %s\n",
		       mode_names[o->mode], o->master ? "master" : "slave", o->socket, o->size,
		       o->burst, o->queues, rxm_names[o->rx_mode],
		       o->zero_copy ? "zero-copy" : "copy");

	t0 = bench_now_ns();
	wait_ns = (uint64_t)(o->wait * 1e9);
	dur_ns = (uint64_t)(o->duration * 1e9);
	next_progress = 0;
	last_progress_t = 0;
	memset(&last, 0, sizeof(last));
	memset(&snap, 0, sizeof(snap));
	while (!failed) {
		struct epoll_event evs[16];
		/* --idle measures the receiver at rest: tick less often there. */
		int n = epoll_wait(b->ctl_epfd, evs, 16, o->idle ? 10 * TICK_MS : TICK_MS);

		if (n < 0 && errno != EINTR)
			die("memif-bench: epoll_wait");
		for (i = 0; i < n; i++) {
			uint32_t e = 0;

			if (evs[i].events & EPOLLIN)
				e |= MEMIF_FD_EVENT_READ;
			if (evs[i].events & EPOLLOUT)
				e |= MEMIF_FD_EVENT_WRITE;
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				e |= MEMIF_FD_EVENT_ERROR;
			(void)memif_control_fd_handler(evs[i].data.ptr, (memif_fd_event_type_t)e);
		}
		now = bench_now_ns();
		if (got_signal) {
			why = "signal";
			break;
		}
		if (!b->ever_up) {
			if (now - t0 > wait_ns) {
				fprintf(stderr, "memif-bench: no link after %g s\n", o->wait);
				failed = true;
			}
			continue;
		}
		if (b->link && !atomic_load(&b->up) && !b->went_down &&
		    now >= b->t_link + (uint64_t)(o->delay * 1e9))
			set_up(b);
		sum(b, &cur);
		if (cur.pkts != last.pkts) {
			/* Traffic again after a pause: the receiver woke up. */
			if (t_last_change && now - t_last_change >= 100000000ull)
				resumes++;
			t_last_change = now;
		}
		last = cur;
		if (b->link && (o->mode == MODE_RX || o->mode == MODE_ECHO))
			mask_sample(b, &ms);
		/* CPU from the start of the measured interval: link up (echo),
		 * sending starts (tx, ping); rx takes it with its snapshot. */
		if (!cpu0.taken && o->mode != MODE_RX &&
		    (o->mode == MODE_ECHO ? b->link : atomic_load(&b->up)))
			cpu_take(b, &cpu0, cur.pkts);

		if (!last_progress_t && atomic_load(&b->up)) {
			last_progress_t = now;
			next_progress = now + 1000000000ull;
		}
		if (!o->quiet && last_progress_t && now >= next_progress) {
			double dt = (double)(now - last_progress_t) / 1e9;
			double pps = (double)(cur.pkts - last_progress_pkts) / dt;
			double gbps = (double)(cur.bytes - last_progress_bytes) * 8 / dt / 1e9;

			if (o->mode == MODE_PING)
				printf("[%7.1f s] ping %9.0f round trips/s  total %" PRIu64
				       "  lost %" PRIu64 "\n",
				       (double)(now - b->t_start) / 1e9, pps, cur.pkts, cur.lost);
			else
				printf("[%7.1f s] %-4s %9.3f Mpps %8.3f Gbit/s  total %" PRIu64
				       "%s\n",
				       (double)(now - b->t_start) / 1e9, mode_names[o->mode],
				       pps / 1e6, gbps, cur.pkts,
				       o->mode == MODE_ECHO && cur.drops ? "  (drops)" : "");
			last_progress_t = now;
			last_progress_pkts = cur.pkts;
			last_progress_bytes = cur.bytes;
			next_progress += 1000000000ull;
			if (next_progress < now)
				next_progress = now + 1000000000ull;
		}

		if (o->mode == MODE_RX) {
			/* --idle: no packet is expected; measure from link up. */
			uint64_t tf = o->idle ? b->t_link : atomic_load(&b->t_first);

			if (!tf) {
				if (!b->went_down && now - b->t_link > wait_ns) {
					fprintf(stderr, "memif-bench: no packet after %g s\n", o->wait);
					failed = true;
					break;
				}
			} else if (!snapped) {
				if (o->warmup <= 0) {
					/* Count from the first packet. */
					memset(&snap, 0, sizeof(snap));
					t_snap = tf;
					snapped = true;
					cpu_take(b, &cpu0, cur.pkts);
				} else if (now >= tf + (uint64_t)(o->warmup * 1e9)) {
					snap = cur;
					t_snap = now;
					snapped = true;
					cpu_take(b, &cpu0, cur.pkts);
				}
			} else if (dur_ns && now >= t_snap + dur_ns) {
				t_end = now;
				fin = cur;
				break;
			}
		} else if (o->mode == MODE_ECHO) {
			if (dur_ns && now >= b->t_link + dur_ns) {
				t_end = now;
				fin = cur;
				break;
			}
		} else if (atomic_load(&b->up)) { /* tx, ping: from link up (+ delay) */
			if ((dur_ns && now >= b->t_start + dur_ns) ||
			    (o->count && cur.pkts >= o->count)) {
				t_end = now;
				fin = cur;
				why = o->count && cur.pkts >= o->count ? "count" : "duration";
				break;
			}
		}
		if (b->went_down) {
			why = "peer left";
			if (o->mode == MODE_RX) {
				t_end = t_last_change;
			} else {
				t_end = now;
			}
			fin = cur;
			break;
		}
	}
	if (!t_end) {
		sum(b, &fin);
		t_end = bench_now_ns();
	}
	/* rx that ended with the peer: its traffic ended at t_last_change, and
	 * the CPU since then was waiting for the peer to leave, counted too. */
	cpu_take(b, &cpu1, fin.pkts);
	atomic_store(&b->stop, 1);
	for (i = 0; i < b->nq; i++)
		if (b->qt[i].started)
			pthread_join(b->qt[i].tid, NULL);
	err = memif_delete(&b->conn);
	if (err)
		fprintf(stderr, "memif-bench: memif_delete: %s\n", memif_strerror(err));
	err = memif_delete_socket(&b->sock);
	if (err)
		fprintf(stderr, "memif-bench: memif_delete_socket: %s\n", memif_strerror(err));

	if (failed)
		return 1;
	{
		uint64_t start = o->mode == MODE_RX ? t_snap : (o->mode == MODE_ECHO ? b->t_link : b->t_start);
		uint64_t pkts = fin.pkts - snap.pkts, bytes = fin.bytes - snap.bytes;
		double dur = (b->ever_up && start && t_end > start) ? (double)(t_end - start) / 1e9 : 0;
		double pps = dur > 0 ? (double)pkts / dur : 0;
		double gbps = dur > 0 ? (double)bytes * 8 / dur / 1e9 : 0;

		if (o->mode == MODE_RX && !snapped)
			pkts = bytes = 0, pps = gbps = 0, dur = 0;
		printf("RESULT mode=%s role=%s size=%u burst=%u queues=%u rx_mode=%s copy=%s "
		       "pps=%.0f gbps=%.3f pkts=%" PRIu64 " bytes=%" PRIu64 " drops=%" PRIu64
		       " dur=%.3f end=%s",
		       mode_names[o->mode], o->master ? "master" : "slave", o->size, o->burst,
		       o->queues, rxm_names[o->rx_mode],
		       o->zero_copy ? "zero" : "app", pps, gbps, pkts, bytes, fin.drops, dur,
		       why[0] == 'p' ? "peer-left" : why);
		if (o->rate > 0)
			printf(" rate=%.0f", o->rate);
		cpu_print(b, &cpu0, &cpu1);
		if (o->mode == MODE_RX || o->mode == MODE_ECHO)
			printf(" masked_pct=%.1f to_masked=%u to_unmasked=%u resumes=%u",
			       ms.on + ms.off ? 100.0 * (double)ms.on / (double)(ms.on + ms.off) : 0.0,
			       ms.to_masked, ms.to_unmasked, resumes);
		if (o->mode == MODE_PING) {
			struct bench_hist *h = xcalloc(1, sizeof(*h));

			bench_hist_init(h);
			for (i = 0; i < b->nq; i++)
				bench_hist_merge(h, b->qt[i].hist);
			printf(" lost=%" PRIu64, fin.lost);
			bench_hist_print(stdout, h);
			rc = h->count || (o->idle && b->ever_up) ? 0 : 1;
			free(h);
		} else if (o->mode == MODE_ECHO || o->idle) {
			rc = b->ever_up ? 0 : 1;
		} else {
			rc = pkts ? 0 : 1;
		}
		printf("\n");
	}
	for (i = 0; i < b->nq; i++) {
		struct qthread *t = &b->qt[i];

		close(t->epfd);
		free(t->rxb);
		free(t->txb);
		free(t->app);
		free(t->flen);
		free(t->fstart);
		free(t->fsegs);
		free(t->hist);
	}
	free(b->qt);
	close(b->ctl_epfd);
	return rc;
}
