/* SPDX-License-Identifier: MIT */
/*
 * rx.c - the receive side of the packet path: memif_rx_burst, the
 * interrupt level and adaptive receive, memif_refill_queue. The rules of
 * the hot path are at the top of dp.h.
 */
#include "dp.h"
#include "os.h"

/*
 * Interrupt mode: the app has taken all there is (`left` buffers remain, an
 * unfinished chain), so the pending interrupt can be cleared. Clearing it
 * first and looking at the ring again afterwards closes the race with a
 * peer that publishes in between: its kick either comes after our read
 * (the eventfd stays set) or its packets are visible to the second look,
 * and then we set the eventfd again ourselves so the level is not lost.
 */
/* Did the peer publish more than the `left` buffers still waiting? */
static bool ring_grew(const struct memif__queue *q, uint16_t left)
{
	/* Pairs with the peer's store-release of its index before its kick. */
	uint16_t idx = memif__load_acquire(q->is_master ? &q->ring->head : &q->ring->tail);

	return memif__ring_count(idx, q->next) > left;
}

static void rx_irq_clear(struct memif__queue *q, uint16_t left)
{
	memif__irq_drain(q->int_fd);
	if (ring_grew(q, left))
		memif__irq_kick(q->int_fd);
}

/*
 * Adaptive receive: spin (MASK_INT set, the eventfd kept pending so the
 * app's loop comes straight back) only while that costs less CPU than
 * sleeping and being woken, and behave exactly as interrupt mode otherwise.
 *
 * What the two cost, per buffer received:
 * - sleeping: the thread's CPU time from the first burst of one wake to
 *   the first burst of the next (handling what the wake brought, epoll_wait
 *   blocking and returning, the eventfd read, the context switches), over
 *   the buffers that wake brought. Measured while interrupt-like, on one
 *   wake in SAMPLE_EVERY (the thread's CPU clock is a system call, about
 *   1 us on the development host; its own cost is taken out): irq_cost. The
 *   first wake is measured at once: until then the queue does not try
 *   spinning on close wakes.
 *   What a wake-up costs differs fivefold with the host's state and the
 *   load (1.5 us for one-way traffic at 300 k frames/s on the development
 *   host, 8-15 us for an echo at 30-65 k/s), so it is measured, not assumed.
 * - spinning: all the time that passes, shared by the buffers that come in
 *   it. Measured while masked, over windows of at least WIN_NS: spin_ns.
 * For one-way traffic the second is the sender's period and the first is
 * smaller (interrupt mode takes several buffers per wake once they come
 * faster than it wakes), unless the queue never sleeps anyway: a wake that
 * lasts WAKE_NS without emptying the ring (full load) tries spinning at
 * once, and at full load the time per buffer is tiny.
 *
 * For a round trip (request/response, ping-pong) the time between packets
 * includes our own wake-up and, if the peer adapts too, its own, so only
 * trying tells. When wakes come less than TRIAL_MAX_NS apart the queue
 * masks on trial (every mask is a trial). The trial's first window is the
 * switch itself (the peer may still be asleep): its spin may last as long
 * as the wakes came apart, and it is not judged. Then the queue stays
 * masked while spin_ns <= irq_cost (no dearer than sleeping; with 9/8 as
 * the bound, a 100 k round trips/s echo spent up to 1.2 x interrupt mode's
 * CPU per frame) or spin_ns <= FLOOD_NS. A trial that fails (too dear, or
 * the spin ran out while no window had found spinning at most half as
 * dear as sleeping: a stall in a flood is a pause) makes
 * the next wait 16, 32 ... 1024 wakes, so traffic that does not gain pays
 * for a try only once in a while; two wakes in a row much closer than
 * usual (a peer that adapts has started spinning) cut one wait short, and
 * a pause of PAUSE_NS forgets the failures: what comes after is new
 * traffic.
 *
 * An empty ring while masked is spun for 2 * gap_ns (twice the usual gap
 * between bursts), no less than WAKE_NS (a shorter wait would risk a
 * wake-up to save less than one) and no more than MEMIF_ADAPTIVE_IDLE_US;
 * then memif__queue_adaptive_idle unmasks.
 *
 * WAKE_NS, the cost of a wake-up before one was measured and the yardstick
 * of the thresholds below, is a constant: on the development host an
 * interrupt-mode echo spends 8-15 us of CPU per frame at 30-65 k round
 * trips/s, of which at most 1.5 us is the frame's own handling; 8 us, the
 * low end, errs on the side of interrupt mode. See docs/performance.md.
 */
#define WAKE_NS 8000u
#define TRIAL_MAX_NS (6 * WAKE_NS)
/* Longer gaps count as this much: a long idle must not take long to forget. */
#define GAP_CAP_NS (8 * WAKE_NS)
#define WIN_NS (2 * WAKE_NS)
#define TRIAL_WINDOWS 8
#define FAILS_MAX 7       /* backoff 8 << 7 = 1024 wakes */
#define PAUSE_NS 1000000u /* a silence this long starts afresh */
#define CLOCK_EVERY 16    /* masked bursts with packets per clock read */
/* Wakes in a row much closer than usual that cut a wait short. */
#define CLOSER_RUN 2
/* Interrupt-like wakes per measured one. Each measurement puts a clock read
 * (a system call) in the way of two wakes' packets: rarely enough that a
 * round trip's p99 does not see it (one in 64 added 9 % to it). */
#define SAMPLE_EVERY 1024
/* Buffers this close (4 M/s) are a flood: the thread is busy either way,
 * and a window that held a stall of the sender must not send it to sleep. */
#define FLOOD_NS (WAKE_NS / 32)

/* Moving average over ~4 samples, of a sample capped at GAP_CAP_NS. */
static inline uint32_t ewma(uint32_t avg, uint64_t sample)
{
	if (sample > GAP_CAP_NS)
		sample = GAP_CAP_NS;
	return (uint32_t)((3ull * avg + sample) >> 2);
}

/* Has a wake-up been measured yet? */
static inline bool irq_known(const struct memif__adaptive *a)
{
	return a->wake_bufs16 != 0;
}

/* What a wake-up costs per buffer it brought, as measured (WAKE_NS if never). */
static inline uint32_t irq_cost(const struct memif__adaptive *a)
{
	if (!irq_known(a))
		return WAKE_NS;
	return (uint32_t)MEMIF_MAX(
		MEMIF_MIN(16ull * a->wake_cpu_ns / a->wake_bufs16, (uint64_t)GAP_CAP_NS), 1u);
}

static inline uint64_t spin_budget(const struct memif__adaptive *a)
{
	uint64_t b = 2ull * a->gap_ns;

	/* A trial's first window waits as long as the wake-ups came apart:
	 * a peer that answers us (and adapts too) needs a wake-up of its own
	 * before it spins and answers at once. */
	if (a->trial == TRIAL_WINDOWS)
		b = a->ival_ns;
	if (b < WAKE_NS)
		b = WAKE_NS;
	return MEMIF_MIN(b, MEMIF_ADAPTIVE_IDLE_US * 1000ull);
}

static void trial_failed(struct memif__adaptive *a)
{
	a->trial = 0;
	if (a->fails < FAILS_MAX)
		a->fails++;
	a->backoff = (uint16_t)(8u << a->fails);
	a->joined = false;
}

/* Mask the peer's kicks, on trial; the pending eventfd brings the app's loop back. */
static void go_masked(struct memif__queue *q, uint64_t now)
{
	struct memif__adaptive *a = &q->ad;

	set_mask(q, true);
	q->masked = true;
	/* The peer may have seen the mask and published without a kick: our
	 * own kick keeps the app coming back (masked => eventfd pending). */
	memif__irq_kick(q->int_fd);
	a->awake = false;
	a->win_ns = now;
	a->win_pkts = a->win_calls = 0;
	a->last_ns = now;
	a->fresh = false;
	a->unclocked = 0;
	if (a->cpu_mark) {
		/* A sample spans one sleep, not a spin: take it again at the
		 * next wake that sleeps. */
		a->cpu_mark = 0;
		a->sample_in = 0;
	}
	a->spin_ns = irq_cost(a); /* no verdict until the window shows one */
	a->gap_ns = WAKE_NS;
	a->trial = TRIAL_WINDOWS; /* every mask starts as a trial */
}

/*
 * Unmask and look at the ring once more (the Dekker pattern, see
 * docs/architecture.md): clear the pending interrupt, clear MASK_INT, full
 * fence, read the peer's index. A packet the peer published while masked
 * came with no kick; this look finds it. Returns whether it found one (the
 * queue is unmasked either way).
 */
static bool unmask_and_look(struct memif__queue *q, uint16_t left, uint64_t now)
{
	/* The next wake's interval counts from here: a short hiccup in a
	 * spinning exchange masks again at once, a pause does not. */
	q->ad.wake_ns = now;
	memif__irq_drain(q->int_fd);
	set_mask(q, false);
	q->masked = false;
	/* Store (flags) then load (index) of different words; pairs with the
	 * fence the sender issues between publishing and reading flags. */
	memif__fence();
	return ring_grew(q, left);
}

/*
 * The first burst of an interrupt-like wake: close the measurement of the
 * last one if it was measured (wake_pkts still counts what that wake
 * brought), or start one every SAMPLE_EVERY wakes.
 */
static void sample_wake(struct memif__adaptive *a, const struct memif__clocks *clk)
{
	uint64_t cpu;

	if (a->cpu_mark) {
		cpu = clk->cpu_ns();
		/* A clock that went back or jumped (the app moved the queue to
		 * another thread) measured nothing. */
		if (cpu > a->cpu_mark + a->clock_ns && cpu - a->cpu_mark < PAUSE_NS) {
			/* Averages of the CPU and of the buffers of a wake, then
			 * their ratio: wakes that brought one buffer cost
			 * about what wakes that brought three did, and an
			 * average of the per-buffer figures would overstate. */
			uint32_t d = (uint32_t)(cpu - a->cpu_mark - a->clock_ns);
			uint32_t k = 16u * MEMIF_MIN(MEMIF_MAX(a->wake_pkts, 1u), 1u << 16);

			if (irq_known(a)) {
				a->wake_cpu_ns = (3u * (uint64_t)a->wake_cpu_ns + d) >> 2;
				a->wake_bufs16 = (3u * (uint64_t)a->wake_bufs16 + k) >> 2;
			} else {
				a->wake_cpu_ns = d;
				a->wake_bufs16 = k;
			}
		}
		a->cpu_mark = 0;
		return;
	}
	if (a->sample_in) {
		a->sample_in--;
		return;
	}
	/* The first measurements come close together (wakes 1, 4, 8, 16
	 * ... apart), so that one odd first wake does not decide for long. */
	a->sample_in = (uint16_t)(MEMIF_MIN(4u << a->samples, SAMPLE_EVERY) - 1);
	if (a->samples < 8)
		a->samples++;
	a->cpu_mark = clk->cpu_ns();
	if (!irq_known(a)) {
		/* The first time, read twice: the second read's cost is what
		 * each read adds to a measurement. */
		cpu = a->cpu_mark;
		a->cpu_mark = clk->cpu_ns();
		a->clock_ns = (uint32_t)MEMIF_MIN(a->cpu_mark - cpu, (uint64_t)WAKE_NS);
	}
}

/*
 * A masked queue's window is over: what did spinning cost per buffer, and
 * is it still worth it? Returns true if the queue unmasked (interrupt mode
 * again, with the second look; the ring is empty then: `more` was false).
 */
static bool window_done(struct memif__queue *q, uint16_t left, bool more, uint64_t now)
{
	struct memif__adaptive *a = &q->ad;
	uint64_t dt = now - a->win_ns;
	uint32_t irq;

	if (dt < WIN_NS || a->win_pkts == 0)
		return false;
	a->win_ns = now;
	if (a->trial == TRIAL_WINDOWS) {
		/* A trial's first window holds the switch itself (the peer may
		 * still be asleep, or just waking up to join): no verdict. */
		a->trial--;
		a->win_pkts = a->win_calls = 0;
		return false;
	}
	a->spin_ns = ewma(a->spin_ns, dt / a->win_pkts);
	a->gap_ns = ewma(a->gap_ns, dt / MEMIF_MAX(a->win_calls, 1u));
	a->win_pkts = a->win_calls = 0;
	irq = irq_cost(a);
	/* A window of a flood, or one that found spinning cheap, excuses the
	 * next stall (the window that holds the stall itself looks dear). */
	if (a->spin_ns <= FLOOD_NS || a->spin_ns * 2 <= irq)
		a->cheap = true;
	if (!more && a->spin_ns > FLOOD_NS && a->spin_ns > irq) {
		/* Spinning costs more than sleeping would: back to interrupt
		 * mode, with the second look. */
		if (a->trial)
			trial_failed(a);
		if (unmask_and_look(q, left, now))
			memif__irq_kick(q->int_fd); /* the level, as rx_irq_clear */
		return true;
	}
	if (a->trial && --a->trial == 0)
		a->fails = 0;
	return false;
}

/*
 * After a burst of an adaptive queue took n buffers (`left` remain, an
 * unfinished chain; `more`: the burst was cut by `count`). Returns
 * memif_rx_burst's result.
 */
int memif__queue_adaptive(struct memif__queue *q, uint16_t n, uint16_t left, bool more,
			  const struct memif__clocks *clk)
{
	struct memif__adaptive *a = &q->ad;
	uint64_t now;

	if (q->masked && (n > 0 || more)) {
		/* Packets while spinning. Reading the clock costs as much as
		 * taking a burst at full load: count the buffers and read it
		 * every CLOCK_EVERY bursts, or at the next empty look. */
		a->win_pkts += MEMIF_MAX(n, 1u);
		a->win_calls++;
		a->fresh = true;
		if (++a->unclocked < CLOCK_EVERY)
			return more ? MEMIF_ERR_NOBUF : MEMIF_ERR_SUCCESS;
		now = clk->now_ns();
		a->unclocked = 0;
		a->last_ns = now;
		if (window_done(q, left, more, now))
			return MEMIF_ERR_SUCCESS;
		return more ? MEMIF_ERR_NOBUF : MEMIF_ERR_SUCCESS;
	}
	now = clk->now_ns();
	if (n == 0 && !more) {
		if (!q->masked) {
			rx_irq_clear(q, left); /* interrupt mode */
			a->awake = false;
			return MEMIF_ERR_SUCCESS;
		}
		if (a->fresh) {
			/* The first empty look after packets: the gap starts. */
			a->fresh = false;
			a->unclocked = 0;
			a->last_ns = now;
		}
		if (window_done(q, left, false, now))
			return MEMIF_ERR_SUCCESS;
		if (now - a->last_ns >= spin_budget(a) &&
		    !memif__queue_adaptive_idle(q, left, now)) {
			/* The gap outlasted the spin: the trial failed, unless
			 * a window since the last such gap found spinning
			 * cheap (a stall in a flood). */
			if (a->trial && !a->cheap)
				trial_failed(a);
			a->cheap = false;
		}
		return MEMIF_ERR_SUCCESS;
	}
	/* Interrupt-like. */
	if (!a->awake) {
		/* The first burst of a wake. */
		uint64_t since = now - a->wake_ns;

		a->closer = since * 4 < 3ull * a->ival_ns ?
				    (uint8_t)MEMIF_MIN(a->closer + 1, CLOSER_RUN) :
				    0;
		if (a->backoff && !a->joined && a->closer >= CLOSER_RUN) {
			/* Wake-ups closer twice in a row: a peer that adapts
			 * too may have started spinning, so that spinning
			 * here would now pay. Try it at once, once per wait. */
			a->backoff = 0;
			a->joined = true;
		}
		sample_wake(a, clk);
		a->ival_ns = a->wake_ns ? ewma(a->ival_ns, since) : GAP_CAP_NS;
		a->wake_ns = now;
		a->wake_pkts = 0;
		a->awake = true;
		if (a->backoff)
			a->backoff--;
		if (since >= PAUSE_NS) {
			/* Traffic resumes after a pause: what failed before
			 * says little about this burst. */
			a->fails = 0;
			a->backoff = 0;
		}
	}
	a->last_ns = now;
	a->wake_pkts += n;
	/* Awake a whole wake-up's worth without emptying the ring (the
	 * thread is busy anyway: full load), or wakes close together (once
	 * a wake-up's cost is known, and not while one is measured): try. */
	if (a->backoff == 0 &&
	    (now - a->wake_ns >= WAKE_NS ||
	     (a->ival_ns <= TRIAL_MAX_NS && irq_known(a) && !a->cpu_mark))) {
		go_masked(q, now);
		return more ? MEMIF_ERR_NOBUF : MEMIF_ERR_SUCCESS;
	}
	if (more)
		return MEMIF_ERR_NOBUF;
	rx_irq_clear(q, left);
	a->awake = false; /* the app sleeps */
	return MEMIF_ERR_SUCCESS;
}

/*
 * A masked queue found its ring empty for its whole spin: unmask and look
 * at the ring once more (unmask_and_look). If a packet is there the queue
 * stays active (masked again, interrupt pending) and this returns true;
 * otherwise memif_rx_burst returns with the eventfd cleared and the app
 * sleeps until the peer kicks.
 */
bool memif__queue_adaptive_idle(struct memif__queue *q, uint16_t left, uint64_t now_ns)
{
	if (!unmask_and_look(q, left, now_ns))
		return false;
	set_mask(q, true);
	q->masked = true;
	q->ad.last_ns = now_ns;
	memif__irq_kick(q->int_fd);
	return true;
}

static const struct memif__clocks os_clocks = { memif__os_now_ns, memif__os_thread_cpu_ns };

static inline int rx_burst(struct memif__queue *q, memif_buffer_t *bufs, uint16_t count,
			   uint16_t *rx)
{
	memif_ring_t *ring;
	uint16_t avail, left, n = 0, whole = 0, pkts = 0;
	uint64_t bytes = 0, whole_bytes = 0;
	bool more;

	ring = q->ring;
	avail = memif__ring_count(q->peer, q->next);
	if (avail < count) {
		if (q->is_master) {
			if (unlikely(master_avail(q, count) < 0))
				return memif__queue_fault(q, "peer moved head beyond the ring");
		} else {
			/* Pairs with the master's store-release of tail in its tx burst. */
			uint16_t tail = memif__load_acquire(&ring->tail);

			if (unlikely(memif__ring_count(tail, q->next) >
				     memif__ring_count(q->pub, q->next)))
				return memif__queue_fault(
					q, "peer moved tail beyond the buffers we gave");
			q->peer = tail;
		}
		avail = memif__ring_count(q->peer, q->next);
	}
	{
		/* Loop invariants in locals: buffer stores may alias the queue. */
		const uint16_t next = q->next, mask = q->mask;
		const uint16_t lim = MEMIF_MIN(count, avail);
		const struct memif__region *regs = q->regions;
		const struct memif__slot *slots = q->slots;
		const uint16_t nreg = q->regions_num;
		const bool master = q->is_master;

		for (n = 0; n < lim;) {
			uint16_t slot = (uint16_t)(next + n) & mask;
			memif_desc_t d = desc_load(&ring->desc[slot]);
			memif_buffer_t *b = &bufs[n];
			uint8_t *data;

			if (master) {
				if (unlikely(!desc_ok(regs, nreg, &d)))
					return memif__queue_fault(
						q, "descriptor outside the peer's regions");
				data = (uint8_t *)regs[d.region].addr + d.offset;
			} else {
				/* Use only what we gave; the master may not move buffers. */
				if (unlikely(d.length > slots[slot].cap))
					return memif__queue_fault(
						q, "descriptor length past its buffer");
				data = (uint8_t *)regs[slots[slot].region].addr +
				       slots[slot].offset;
			}
			/* The app reads it next: start the miss now. */
			__builtin_prefetch(data, 0);
			b->data = data;
			b->desc_index = slot;
			b->queue = q;
			b->len = d.length;
			bytes += d.length;
			n++;
			if (d.flags & MEMIF_DESC_FLAG_NEXT) {
				b->flags = MEMIF_BUFFER_FLAG_RX | MEMIF_BUFFER_FLAG_NEXT;
				/* A chain can never hold more buffers than the ring. */
				if (unlikely((whole ? 0 : q->rx_chain) + (uint32_t)(n - whole) >=
					     q->ring_size))
					return memif__queue_fault(q,
								  "NEXT chain as long as the ring");
			} else {
				b->flags = MEMIF_BUFFER_FLAG_RX;
				whole = n;
				whole_bytes = bytes;
				pkts++;
			}
		}
	}
	if (whole < n) {
		/* The last packet is cut: by the ring (wait for the rest), or by
		 * `count` (return it partly only if it is the first). */
		if (whole > 0) {
			n = whole;
			bytes = whole_bytes;
		} else if (n == avail && avail < count) {
			n = 0; /* wait for the rest of the chain */
			bytes = 0;
		}
	}
	if (n)
		q->rx_chain = whole == n ? 0 : q->rx_chain + (uint32_t)(n - whole);
	q->next = (uint16_t)(q->next + n);
	STAT_ADD(q, packets, pkts);
	STAT_ADD(q, bytes, bytes);
	*rx = n;
	/* Upstream's contract: NOBUF means more is waiting, call again. Buffers
	 * left only because `count` cut them off are waiting; the start of a
	 * chain whose rest the peer has not published yet is not (the peer
	 * signals again when it publishes the rest). */
	left = memif__ring_count(q->peer, q->next);
	more = left > 0 && avail > count;
	if (unlikely(memif__read_once(&q->adaptive)))
		return memif__queue_adaptive(q, n, left, more, &os_clocks);
	if (more)
		return MEMIF_ERR_NOBUF;
	if (!memif__read_once(&q->polling))
		rx_irq_clear(q, left);
	return MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT int memif_rx_burst(memif_conn_handle_t conn, uint16_t qid, memif_buffer_t *bufs,
				uint16_t count, uint16_t *rx)
{
	struct memif__queue *q;
	int err;

	if (unlikely(!rx || (!bufs && count)))
		return MEMIF_ERR_INVAL_ARG;
	*rx = 0;
	err = queue_enter(conn, qid, true, &q);
	if (unlikely(err))
		return err;
	err = rx_burst(q, bufs, count, rx);
	queue_leave(q->ref);
	return err;
}

static inline int refill_queue(struct memif__conn *c, struct memif__queue *q, uint16_t count,
			       uint16_t headroom)
{
	uint16_t n, i;
	int err = 0;

	if (q->is_master) {
		n = MEMIF_MIN(count, memif__ring_count(q->next, q->pub));
		q->pub = (uint16_t)(q->pub + n);
		/* Hand slots back; pairs with the slave's load-acquire of tail. */
		memif__store_release(&q->ring->tail, q->pub);
		return MEMIF_ERR_SUCCESS;
	}
	if (unlikely(headroom >= q->buffer_size))
		return MEMIF_ERR_INVAL_ARG;
	n = (uint16_t)MEMIF_MIN((uint32_t)count, memif__ring_free(q->ring_size, q->pub, q->next));
	for (i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)(q->pub + i), slot = idx & q->mask;
		struct memif__slot *s = &q->slots[slot];
		memif_desc_t *d = &q->ring->desc[slot];
		uint16_t reg = q->buf_region;
		uint32_t off = default_offset(q, idx);

		if (unlikely(q->owned)) {
			/* The slot's own buffer: its start is offset less the old headroom. */
			reg = s->region;
			off = s->offset - (q->buffer_size - s->cap);
		}
		if (c->sock->ext_offset && q->regions[q->buf_region].is_external) {
			reg = q->buf_region;
			off = c->sock->ext_offset(c->private_ctx);
			if (unlikely(!memif__region_bounds_ok(&q->regions[q->buf_region], off,
							      q->buffer_size))) {
				/* Publish the buffers before it: the app handed
				 * them out and would lose them otherwise. */
				err = MEMIF_ERR_INVAL_ARG;
				break;
			}
		}
		s->region = reg;
		s->offset = off + headroom;
		s->cap = q->buffer_size - headroom;
		d->region = s->region;
		d->offset = s->offset;
		d->length = s->cap;
		d->flags = 0;
	}
	q->pub = (uint16_t)(q->pub + i);
	q->unoffered = (uint16_t)(q->unoffered - MEMIF_MIN(q->unoffered, i));
	/* Offer empty buffers; pairs with the master's load-acquire of head. */
	memif__store_release(&q->ring->head, q->pub);
	return err;
}

MEMIF_EXPORT int memif_refill_queue(memif_conn_handle_t conn, uint16_t qid, uint16_t count,
				    uint16_t headroom)
{
	struct memif__queue *q;
	int err;

	err = queue_enter(conn, qid, true, &q);
	if (unlikely(err))
		return err;
	err = refill_queue(conn, q, count, headroom);
	queue_leave(q->ref);
	return err;
}
