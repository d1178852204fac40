/* SPDX-License-Identifier: MIT */
/*
 * queue.c - the data path: buffer alloc, tx/rx bursts, refill, plus queue
 * setup and teardown.
 *
 * Hot-path rules: no syscall but the interrupt kick (and the eventfd drain
 * of an rx queue in interrupt mode), no allocation, no lock. Everything
 * read from shared memory is copied to a local, validated, then used; a
 * violation marks the queue faulted (sticky) and the control thread
 * disconnects with that reason at its next tick.
 *
 * Ownership (protocol 2.0): the slave writes head of every ring, the master
 * writes tail. `pub` is our private copy of the index we write.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "os.h"
#include "private.h"
#include "ring.h"

/* tx_burst copies the app's NEXT bit into the descriptor as is. */
_Static_assert(MEMIF_BUFFER_FLAG_NEXT == MEMIF_DESC_FLAG_NEXT, "NEXT is one bit in both");

static int fault(struct memif__queue *q, const char *why)
{
	if (!memif__read_once(&q->fault)) {
		struct itimerspec now = { .it_interval = q->tick, .it_value = { 0, 1 } };

		memif__write_once(&q->fault, why);
		LOG_ERR("queue %u: %s", q->qid, why);
		/* Fire the socket's timer now: its tick tears the link down
		 * (memif__conn_check_faults) without waiting for the period. */
		(void)memif__os_timerfd_set(q->tick_fd, &now);
	}
	return MEMIF_ERR_DISCONNECTED;
}

static inline void *region_ptr(const struct memif__queue *q, uint16_t region, uint32_t offset)
{
	return (uint8_t *)q->regions[region].addr + offset;
}

/* A descriptor written by the peer: does it name memory we know? */
/*
 * One read of each field of a peer descriptor. A plain struct copy lets the
 * compiler load a field again from shared memory after it was checked, when
 * the peer may have changed it.
 */
static inline memif_desc_t desc_load(const memif_desc_t *p)
{
	const volatile memif_desc_t *v = p;

	return (memif_desc_t){ .flags = v->flags,
			       .region = v->region,
			       .length = v->length,
			       .offset = v->offset,
			       .metadata = v->metadata };
}

static inline bool desc_ok(const struct memif__region *regs, uint16_t nreg, const memif_desc_t *d)
{
	return d->region < nreg && memif__ring_span_ok(regs[d->region].size, d->offset, d->length);
}

/*
 * Leave the data path of a queue. Any call on the queue, whatever it
 * returns, also tells that the app has moved on from buffers it held when
 * an earlier link went down (teardown recorded those in held_gen, see
 * wait_idle): their memory may be unmapped now. The release orders the
 * app's reads of them before; pairs with the load-acquire in stale_held
 * (region.c). Nothing else on the way out: which buffers the app holds is
 * worked out by teardown, from the queue, once no call is inside.
 */
static inline void queue_leave(struct memif__qref *r)
{
	if (unlikely(memif__read_once(&r->held_gen)))
		memif__store_release(&r->held_gen, 0);
	/* Done with the queue; pairs with the load-acquire in wait_idle. */
	memif__store_release(&r->busy, 0);
}

/* Buffers of this queue the app holds between calls (taken, not given back). */
static inline bool app_holds(const struct memif__queue *q)
{
	if (!q->is_rx || q->is_master)
		return q->next != q->pub; /* reserved and unsent, or received and not refilled */
	/* Slave rx: slots not offered to the peer, less those never offered. */
	return q->ring_size - memif__ring_count(q->pub, q->next) != q->unoffered;
}

/*
 * Enter the data path of a queue (struct memif__qref): mark it busy, then
 * look whether it is connected. Teardown does the reverse (unpublish, then
 * look whether it is busy), so either this call sees no queue or teardown
 * waits for it: nothing it uses is released under it. Every successful
 * enter is paired with queue_leave.
 */
static inline int queue_enter(memif_conn_handle_t h, uint16_t qid, bool rx, struct memif__queue **qp)
{
	struct memif__conn *c = h;
	struct memif__qref *r;
	struct memif__queue *q;

	/* Upstream's codes, which its programs branch on: no handle is NOCONN,
	 * an interface that is not connected is DISCONNECTED. */
	if (unlikely(!c))
		return MEMIF_ERR_NOCONN;
	if (unlikely(c->magic != MEMIF__MAGIC_CONN))
		return MEMIF_ERR_INVAL_ARG;
	if (unlikely(qid >= MEMIF__MAX_QUEUES))
		return memif__read_once(&c->link_up) ? MEMIF_ERR_QID : MEMIF_ERR_DISCONNECTED;
	r = rx ? &c->rx_ref[qid] : &c->tx_ref[qid];
	memif__write_once(&r->busy, 1);
	/* Store busy, then load q; pairs with memif__fence_heavy in teardown. */
	memif__fence_light();
	/* Pairs with the store-release in memif__queues_publish: setup is visible. */
	q = memif__load_acquire(&r->q);
	if (unlikely(!q)) {
		/* Published between our two loads? (link_up is set after publishing.) */
		if (memif__load_acquire(&c->link_up))
			q = memif__load_acquire(&r->q);
	}
	if (unlikely(!q)) {
		bool beyond = qid >= memif__read_once(rx ? &c->rx_pub_num : &c->tx_pub_num);

		queue_leave(r);
		/* QID only for a queue the link does not have, not for one that
		 * is being torn down or set up under us. */
		return beyond && memif__read_once(&c->link_up) ? MEMIF_ERR_QID :
								 MEMIF_ERR_DISCONNECTED;
	}
	if (unlikely(memif__read_once(&q->fault))) {
		queue_leave(r);
		return MEMIF_ERR_DISCONNECTED;
	}
	*qp = q;
	return MEMIF_ERR_SUCCESS;
}

/* Relaxed stores of counters only this queue's thread writes: readable from any thread. */
#define STAT_ADD(q, field, v)                                                                   \
	memif__write_once(&(q)->ref->st.field, memif__read_once(&(q)->ref->st.field) + (v))

/*
 * The peer's index is cached in q->peer and re-read from shared memory only
 * when the cached value cannot satisfy the request: each read of a line
 * the peer writes pulls it across cores, so a producer with room left does
 * not touch the consumer's index at all.
 */

/* Free slots for a slave transmitting on an S2M ring, or -1 on a bad tail. */
static inline int slave_tx_room(struct memif__queue *q, uint32_t want)
{
	uint32_t room = memif__ring_free(q->ring_size, q->next, q->peer);
	uint16_t tail;

	if (likely(room >= want))
		return (int)room;
	/* Pairs with the master's store-release of tail in its refill. */
	tail = memif__load_acquire(&q->ring->tail);
	if (unlikely(!memif__ring_ahead_ok(q->pub, tail, q->ring_size) ||
		     !memif__ring_ahead_ok(q->next, tail, q->ring_size)))
		return -1;
	q->peer = tail;
	return (int)memif__ring_free(q->ring_size, q->next, tail);
}

/*
 * Slots a master may take, up to the slave's head: empty buffers to fill on
 * an M2S ring, packets to read on an S2M ring. -1 on a bad head.
 */
static inline int master_avail(struct memif__queue *q, uint32_t want)
{
	uint16_t avail = memif__ring_count(q->peer, q->next);
	uint16_t head;

	if (likely(avail >= want))
		return avail;
	/* Pairs with the slave's store-release of head (refill or tx burst). */
	head = memif__load_acquire(&q->ring->head);
	if (unlikely(!memif__ring_ahead_ok(head, q->pub, q->ring_size) ||
		     !memif__ring_ahead_ok(head, q->next, q->ring_size)))
		return -1;
	q->peer = head;
	return memif__ring_count(head, q->next);
}

/* Offset of a slave's own buffer for ring index idx (region.c: buf_mask). */
static inline uint32_t default_offset(const struct memif__queue *q, uint16_t idx)
{
	return q->buf_base + (uint32_t)(idx & q->buf_mask) * q->buffer_size;
}

/* A slave's own buffer for ring index idx, recorded once app buffers are in play. */
static void set_default_slot(struct memif__queue *q, uint16_t idx)
{
	uint16_t slot = idx & q->mask;

	q->slots[slot].region = q->buf_region;
	q->slots[slot].offset = default_offset(q, idx);
	q->slots[slot].cap = q->buffer_size;
}

static int alloc_slave(struct memif__queue *q, memif_buffer_t *bufs, uint16_t count,
		       uint16_t *count_out, uint16_t size, uint16_t *pkts)
{
	uint32_t bsize = q->buffer_size;
	uint32_t need = (size + bsize - 1) / bsize; /* size > 0: buffer_alloc */
	int room = slave_tx_room(q, need * count);
	uint8_t *base;
	uint16_t n = 0, p;

	if (unlikely(room < 0))
		return fault(q, "peer moved tail beyond head");
	base = region_ptr(q, q->buf_region, q->buf_base);
	if (likely(need == 1)) {
		/* One buffer per packet: the common case, kept tight. */
		const uint16_t next = q->next, mask = q->mask, bmask = q->buf_mask;

		n = (uint16_t)MEMIF_MIN((uint32_t)count, (uint32_t)room);
		for (p = 0; p < n; p++) {
			uint16_t idx = (uint16_t)(next + p), slot = idx & mask;
			memif_buffer_t *b = &bufs[p];

			if (unlikely(q->ext_tx))
				set_default_slot(q, idx);
			/* One whole-struct store, not five field stores: behind the
			 * app's stores into shared memory (cross-core misses) every
			 * store waits in the store queue, so fewer is faster. */
			*b = (memif_buffer_t){ .desc_index = slot,
					       .queue = q,
					       .len = size,
					       .flags = 0,
					       .data = base + (size_t)(idx & bmask) * bsize };
		}
		q->next = (uint16_t)(q->next + n);
		*count_out = n;
		*pkts = n;
		return 0;
	}
	for (p = 0; p < count && need <= (uint32_t)room; p++) {
		uint32_t left = size, k;

		for (k = 0; k < need; k++) {
			uint16_t slot = q->next & q->mask;
			memif_buffer_t *b = &bufs[n++];

			if (unlikely(q->ext_tx))
				set_default_slot(q, q->next);
			b->desc_index = slot;
			b->queue = q;
			b->data = region_ptr(q, q->buf_region, default_offset(q, q->next));
			b->len = MEMIF_MIN(left, bsize);
			b->flags = k + 1 < need ? MEMIF_BUFFER_FLAG_NEXT : 0;
			left -= b->len;
			q->next++;
		}
		room -= (int)need;
	}
	*count_out = n;
	*pkts = p;
	return 0;
}

/*
 * Slave, once buffers moved between queues (memif_buffer_requeue): each
 * slot's buffer is the one recorded in q->slots, with its own capacity.
 */
static int alloc_owned(struct memif__queue *q, memif_buffer_t *bufs, uint16_t count,
		       uint16_t *count_out, uint16_t size, uint16_t *pkts)
{
	int room = slave_tx_room(q, UINT32_MAX);
	uint16_t n = 0, p;

	if (unlikely(room < 0))
		return fault(q, "peer moved tail beyond head");
	for (p = 0; p < count; p++) {
		uint16_t start_n = n, start_next = q->next;
		uint32_t left = size;

		do {
			const struct memif__slot *sl = &q->slots[q->next & q->mask];
			memif_buffer_t *b;

			if (room == 0) {
				n = start_n; /* not enough room for the whole packet */
				q->next = start_next;
				goto out;
			}
			b = &bufs[n++];
			b->desc_index = q->next & q->mask;
			b->queue = q;
			b->data = region_ptr(q, sl->region, sl->offset);
			b->len = MEMIF_MIN(left, sl->cap);
			left -= b->len;
			b->flags = left ? MEMIF_BUFFER_FLAG_NEXT : 0;
			q->next++;
			room--;
		} while (left);
	}
out:
	*count_out = n;
	*pkts = p;
	return 0;
}

static int alloc_master(struct memif__queue *q, memif_buffer_t *bufs, uint16_t count,
			uint16_t *count_out, uint16_t size, uint16_t *pkts)
{
	int got = master_avail(q, count);
	uint16_t avail, n = 0, p;
	bool too_small = false;

	if (unlikely(got < 0))
		return fault(q, "peer moved head beyond the ring");
	avail = (uint16_t)got;
	/* The app sized `bufs` by its own buffer_size: a slave offering tiny
	 * buffers must not make a packet take arbitrarily many. Twice ours
	 * plus one covers headroom and peers with half-size buffers (DPDK or
	 * VPP with 1024); beyond it the packet is refused with NOBUF
	 * (documented in memif_buffer_alloc). */
	uint32_t most = 2 * ((size + q->buffer_size - 1u) / q->buffer_size) + 1;

	for (p = 0; p < count; p++) {
		uint16_t start_n = n, start_next = q->next;
		uint32_t left = size;

		do {
			uint16_t slot;
			memif_desc_t d;
			memif_buffer_t *b;

			if (avail == 0 && (uint32_t)(n - start_n) < most) {
				/* The cached head ran out mid-packet: look again. */
				got = master_avail(q, UINT32_MAX);
				if (unlikely(got < 0))
					return fault(q, "peer moved head beyond the ring");
				avail = (uint16_t)got;
			}
			if (avail == 0 || (uint32_t)(n - start_n) == most) {
				/* Not enough room for the whole packet: do not start it. */
				too_small = avail != 0;
				n = start_n;
				q->next = start_next;
				goto out;
			}
			slot = q->next & q->mask;
			d = desc_load(&q->ring->desc[slot]);
			if (unlikely(!desc_ok(q->regions, q->regions_num, &d) || d.length == 0))
				return fault(q, "peer offered a buffer outside its regions");
			q->slots[slot].cap = d.length;
			b = &bufs[n++];
			b->desc_index = slot;
			b->queue = q;
			b->data = region_ptr(q, d.region, d.offset);
			b->len = MEMIF_MIN(left, d.length);
			left -= b->len;
			b->flags = left ? MEMIF_BUFFER_FLAG_NEXT : 0;
			q->next++;
			avail--;
		} while (left);
	}
out:
	*count_out = n;
	*pkts = p;
	return too_small ? MEMIF_ERR_NOBUF : 0;
}

static inline int buffer_alloc(struct memif__queue *q, memif_buffer_t *bufs, uint16_t count,
			       uint16_t *count_out, uint16_t size)
{
	uint16_t pkts = 0;
	int err;

	if (unlikely(size == 0))
		return MEMIF_ERR_SUCCESS; /* as upstream: no buffer, not an empty frame */
	if (q->is_master)
		err = alloc_master(q, bufs, count, count_out, size, &pkts);
	else if (unlikely(q->owned))
		err = alloc_owned(q, bufs, count, count_out, size, &pkts);
	else
		err = alloc_slave(q, bufs, count, count_out, size, &pkts);
	if (unlikely(err && err != MEMIF_ERR_NOBUF))
		return err;
	if (pkts < count) {
		STAT_ADD(q, no_buf, (uint64_t)(count - pkts));
		return err ? err : MEMIF_ERR_NOBUF_RING;
	}
	return MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT int memif_buffer_alloc(memif_conn_handle_t conn, uint16_t qid, memif_buffer_t *bufs,
				    uint16_t count, uint16_t *count_out, uint16_t size)
{
	struct memif__queue *q;
	int err;

	if (unlikely(!count_out))
		return MEMIF_ERR_INVAL_ARG;
	*count_out = 0;
	if (unlikely(!bufs && count))
		return MEMIF_ERR_INVAL_ARG;
	err = queue_enter(conn, qid, false, &q);
	if (unlikely(err))
		return err;
	err = buffer_alloc(q, bufs, count, count_out, size);
	queue_leave(q->ref);
	return err;
}

static inline int tx_burst(struct memif__queue *q, memif_buffer_t *bufs, uint16_t count,
			   uint16_t *tx)
{
	memif_ring_t *ring;
	uint16_t reserved, n, i, pkts = 0;
	uint64_t bytes = 0;

	ring = q->ring;
	reserved = (uint16_t)(q->next - q->pub);
	n = MEMIF_MIN(count, reserved);
	/* Publish whole packets only: peers follow NEXT without checking. */
	while (n > 0 && (bufs[n - 1].flags & MEMIF_BUFFER_FLAG_NEXT))
		n--;
	/* Descriptors of unpublished slots are ours to rewrite, so a bad
	 * buffer found midway leaves nothing published and nothing broken.
	 * Loop invariants live in locals: the compiler cannot prove that the
	 * descriptor stores do not alias the queue. */
	/* A slave's app may have moved `data` forward inside its buffer (as
	 * upstream allows: headroom it skipped): the descriptor starts there. */
	if (!q->is_master && !q->ext_tx && !q->owned) {
		/* The descriptor is built from the slot and the checked `data`
		 * alone: a buffer that is not this slot's own (another slot's,
		 * another queue's, made up) fails the `data` check, so desc_index
		 * and queue need no look of their own. Few live values, or the
		 * loop spills: offsets are relative to this ring's first buffer,
		 * in 32 bits (a `data` off by a multiple of 4 GiB would pass, but
		 * the descriptor still names this slot's buffer, nothing else);
		 * `skip` is how far the app moved `data` into its buffer, and
		 * skip + len cannot wrap in 64 bits. */
		const uint16_t mask = q->mask, bmask = q->buf_mask;
		const uint32_t bsize = q->buffer_size, bbase = q->buf_base;
		const uintptr_t start = (uintptr_t)region_ptr(q, q->buf_region, bbase);
		const uint16_t breg = q->buf_region;
		uint16_t idx = q->pub;
		uint32_t nexts = 0;

		for (i = 0; i < n; i++, idx++) {
			const memif_buffer_t *b = &bufs[i];
			uint32_t fl = b->flags & MEMIF_BUFFER_FLAG_NEXT; /* same bit: see the top */
			uint32_t len = b->len;
			uint32_t rel = (uint32_t)((uintptr_t)b->data - start);
			uint32_t skip = rel - (uint32_t)(idx & bmask) * bsize;

			if (unlikely((uint64_t)skip + len > bsize))
				goto inval;
			/* Field by field: metadata stays as set up (0); only we
			 * write this ring's descriptors. */
			memif_desc_t *d = &ring->desc[idx & mask];

			d->flags = (uint16_t)fl;
			d->region = breg;
			d->length = len;
			d->offset = bbase + rel;
			bytes += len;
			nexts += fl;
		}
		pkts = (uint16_t)(n - nexts);
	} else {
		const uint16_t pub = q->pub, mask = q->mask;
		const struct memif__slot *slots = q->slots;
		const bool master = q->is_master;

		for (i = 0; i < n; i++) {
			const memif_buffer_t *b = &bufs[i];
			uint16_t slot = (uint16_t)(pub + i) & mask;
			memif_desc_t *d = &ring->desc[slot];
			uint16_t fl = (b->flags & MEMIF_BUFFER_FLAG_NEXT) ? MEMIF_DESC_FLAG_NEXT :
									    0;

			uintptr_t skip = 0;

			if (!master) /* a master never moves the slave's buffers */
				skip = (uintptr_t)b->data -
				       (uintptr_t)region_ptr(q, slots[slot].region, slots[slot].offset);
			if (unlikely(b->desc_index != slot || b->queue != q ||
				     skip > slots[slot].cap || b->len > slots[slot].cap - skip))
				goto inval;
			if (!master) {
				d->region = slots[slot].region;
				d->offset = slots[slot].offset + (uint32_t)skip;
			}
			d->length = b->len;
			d->flags = fl;
			bytes += b->len;
			pkts += !fl;
		}
	}
	/* Reservations not sent stay reserved, as upstream keeps them: the next
	 * tx_burst sends them (or memif_set_next_free_buffer gives them back). */
	q->pub = (uint16_t)(q->pub + n);
	if (n == 0)
		return MEMIF_ERR_SUCCESS;
	if (q->is_master)
		/* Publish filled slots; pairs with the slave's load-acquire of tail. */
		memif__store_release(&ring->tail, q->pub);
	else
		/* Publish filled slots; pairs with the master's load-acquire of head. */
		memif__store_release(&ring->head, q->pub);
	STAT_ADD(q, packets, pkts);
	STAT_ADD(q, bytes, bytes);
	*tx = n;
	/* Store (index) then load (flags) of different words: needs a full fence,
	 * pairs with the fence the reader issues after setting MASK_INT. */
	memif__fence();
	if (!(memif__read_once(&ring->flags) & MEMIF_RING_FLAG_MASK_INT))
		memif__irq_kick(q->int_fd);
	return MEMIF_ERR_SUCCESS;

inval:
	q->next = q->pub; /* as documented: reservations not sent are released */
	return MEMIF_ERR_INVAL_ARG;
}

MEMIF_EXPORT int memif_tx_burst(memif_conn_handle_t conn, uint16_t qid, memif_buffer_t *bufs,
				uint16_t count, uint16_t *tx)
{
	struct memif__queue *q;
	int err;

	if (unlikely(!tx || (!bufs && count)))
		return MEMIF_ERR_INVAL_ARG;
	*tx = 0;
	err = queue_enter(conn, qid, false, &q);
	if (unlikely(err))
		return err;
	err = tx_burst(q, bufs, count, tx);
	queue_leave(q->ref);
	return err;
}

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

static inline void set_mask(struct memif__queue *q, bool mask)
{
	uint16_t fl = memif__read_once(&q->ring->flags);

	fl = mask ? (uint16_t)(fl | MEMIF_RING_FLAG_MASK_INT) :
		    (uint16_t)(fl & ~MEMIF_RING_FLAG_MASK_INT);
	memif__write_once(&q->ring->flags, fl);
}

/*
 * Adaptive receive, after a burst took n buffers (`left` remain, `more`:
 * some of them are whole packets). While packets flow the peer's kicks are
 * masked and the queue's eventfd is kept set, so the app's loop comes back
 * at once, as if polling, without the peer paying a kick per burst. Once
 * the ring stayed empty for MEMIF_ADAPTIVE_IDLE_US, the queue goes back to
 * plain interrupts (memif__queue_adaptive_idle).
 */
static int rx_adaptive(struct memif__queue *q, uint16_t n, uint16_t left, bool more)
{
	uint64_t now = memif__os_now_ns();

	if (n > 0 || more) {
		q->active_ns = now;
		if (!q->masked) {
			set_mask(q, true);
			q->masked = true;
			/* Keep the interrupt pending while masked: the app's loop
			 * must come back, and the peer no longer signals. */
			memif__irq_kick(q->int_fd);
		}
		return more ? MEMIF_ERR_NOBUF : MEMIF_ERR_SUCCESS;
	}
	if (!q->masked)
		rx_irq_clear(q, left);
	else if (now - q->active_ns >= MEMIF_ADAPTIVE_IDLE_US * 1000ull)
		(void)memif__queue_adaptive_idle(q, left, now);
	return MEMIF_ERR_SUCCESS;
}

/*
 * An adaptive queue found its ring empty long enough: clear the pending
 * interrupt, unmask, and look at the ring once more. A packet the peer
 * published while the ring was still masked came with no kick; without this
 * second look it would wait for the next packet's kick, maybe forever. If
 * one is there the queue stays active (masked, interrupt pending). Returns
 * true in that case. Unit-tested in check_adaptive.c.
 */
bool memif__queue_adaptive_idle(struct memif__queue *q, uint16_t left, uint64_t now_ns)
{
	memif__irq_drain(q->int_fd);
	set_mask(q, false);
	q->masked = false;
	/* Store (flags) then load (index) of different words; pairs with the
	 * fence the sender issues between publishing and reading flags. */
	memif__fence();
	if (!ring_grew(q, left))
		return false;
	set_mask(q, true);
	q->masked = true;
	q->active_ns = now_ns;
	memif__irq_kick(q->int_fd);
	return true;
}

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
				return fault(q, "peer moved head beyond the ring");
		} else {
			/* Pairs with the master's store-release of tail in its tx burst. */
			uint16_t tail = memif__load_acquire(&ring->tail);

			if (unlikely(memif__ring_count(tail, q->next) >
				     memif__ring_count(q->pub, q->next)))
				return fault(q, "peer moved tail beyond the buffers we gave");
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
					return fault(q, "descriptor outside the peer's regions");
				data = (uint8_t *)regs[d.region].addr + d.offset;
			} else {
				/* Use only what we gave; the master may not move buffers. */
				if (unlikely(d.length > slots[slot].cap))
					return fault(q, "descriptor length past its buffer");
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
					return fault(q, "NEXT chain as long as the ring");
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
		return rx_adaptive(q, n, left, more);
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

/*
 * Switch a slave queue to owned slots (see struct memif__queue): record, for
 * every slot, the buffer it uses now. A transmit slot's buffer is the lap
 * buffer of the one ring index in [peer, peer + ring size) that maps to it:
 * that window holds every index in flight or reserved, so no buffer the
 * peer may still read is given to two slots. A receive slot never refilled
 * gets the lap buffer of its next index, which no refilled slot can hold.
 */
static void make_owned(struct memif__queue *q)
{
	uint32_t i;

	if (q->owned)
		return;
	for (i = 0; i < q->ring_size; i++) {
		uint16_t idx = (uint16_t)((q->is_rx ? q->pub : q->peer) + i);
		struct memif__slot *sl = &q->slots[idx & q->mask];

		if (!q->is_rx || sl->cap == 0)
			set_default_slot(q, idx);
	}
	q->owned = true;
}

/*
 * Ring index of a slot the app holds: a transmit slot reserved and not
 * sent ([pub, next)), or a receive slot taken and not given back (slave:
 * [pub, next + ring size)). -1 if the slot is not the app's.
 */
static int held_index(const struct memif__queue *q, uint16_t slot)
{
	uint16_t first = q->pub;
	uint32_t n = q->is_rx ? memif__ring_free(q->ring_size, q->pub, q->next) :
				memif__ring_count(q->next, q->pub);
	uint16_t k = (uint16_t)((slot - first) & q->mask);

	if (slot > q->mask || k >= n)
		return -1;
	return (uint16_t)(first + k);
}

/*
 * Which of conn's published queues `queue` names: 1 + its index, or 0 for
 * none; *rx tells the direction. The pointer is the app's and may be stale:
 * it is only compared with the published queues, never followed. Queues
 * are published from index 0 up.
 */
static int queue_lookup(struct memif__conn *c, const void *queue, bool *rx)
{
	unsigned dir, i;

	for (dir = 0; dir < 2; dir++) {
		struct memif__qref *refs = dir ? c->rx_ref : c->tx_ref;

		for (i = 0; i < MEMIF__MAX_QUEUES; i++) {
			struct memif__queue *q = memif__read_once(&refs[i].q);

			if (!q)
				break;
			if (q == queue) {
				*rx = dir != 0;
				return (int)i + 1;
			}
		}
	}
	return 0;
}

/* Enter queue k - 1 of queue_lookup, if it still is the one `queue` names. */
static int enter_named(struct memif__conn *c, int k, bool rx, const void *queue,
		       struct memif__queue **qp)
{
	int err = queue_enter(c, (uint16_t)(k - 1), rx, qp);

	if (err)
		return err;
	if (*qp == queue)
		return 0;
	queue_leave((*qp)->ref); /* replaced meanwhile: a stale buffer */
	return MEMIF_ERR_INVAL_ARG;
}

/* Enter the queue a buffer names, if it is a connected queue of conn. */
static int buffer_enter(struct memif__conn *c, const memif_buffer_t *b, struct memif__queue **qp)
{
	bool rx = false;
	int k = queue_lookup(c, b->queue, &rx);

	if (!k)
		return memif__read_once(&c->link_up) ? MEMIF_ERR_INVAL_ARG : MEMIF_ERR_DISCONNECTED;
	return enter_named(c, k, rx, b->queue, qp);
}

/*
 * enq_tx of app memory (an external region's buffer): the next transmit
 * slot carries it for this one send. False if it lies in no buffer region,
 * or the queue's slots own their buffers (requeue, or a received buffer
 * enqueued): a slot given app memory would lose its own buffer.
 */
static bool enq_place(struct memif__queue *q, memif_buffer_t *b)
{
	uint16_t slot = q->next & q->mask;
	uint16_t r;

	if (q->owned)
		return false;
	for (r = 0; r < q->regions_num; r++) {
		const struct memif__region *reg = &q->regions[r];
		uintptr_t a = (uintptr_t)reg->addr, d = (uintptr_t)b->data;

		if (d >= a && memif__region_bounds_ok(reg, d - a, b->len))
			break;
	}
	if (r == q->regions_num || r == 0) /* never region 0: the rings */
		return false;
	if (!q->ext_tx) {
		/* From now on slots carry their buffer: record the reserved
		 * ones that still use ours. */
		uint16_t k;

		for (k = q->pub; k != q->next; k++)
			set_default_slot(q, k);
		q->ext_tx = true;
	}
	q->slots[slot].region = r;
	q->slots[slot].offset = (uint32_t)((uintptr_t)b->data - (uintptr_t)q->regions[r].addr);
	q->slots[slot].cap = b->len;
	return true;
}

/*
 * Is b a buffer received on rq that the app still holds (not refilled),
 * with `data` inside its slot's buffer? The app's `queue` may be stale
 * (a buffer array reused for app memory), hence the look at `data`.
 */
static bool enq_received(const struct memif__queue *rq, const memif_buffer_t *b)
{
	const struct memif__slot *sl;
	uintptr_t skip;

	if (held_index(rq, b->desc_index) < 0)
		return false;
	sl = &rq->slots[b->desc_index];
	skip = (uintptr_t)b->data - (uintptr_t)region_ptr(rq, sl->region, sl->offset);
	return skip <= sl->cap;
}

/*
 * enq_tx of a received buffer, as upstream does it: its receive slot and
 * the next transmit slot swap buffers, so the receive slot can be refilled
 * at once (with the transmit slot's buffer, which the peer is done with),
 * and the buffer is from then on a transmit buffer like an allocated one
 * (a memif_buffer_requeue may swap it again). Both queues keep one buffer
 * per slot from then on (make_owned). False on a queue that carries app
 * memory (enq_place).
 */
static bool enq_swap(struct memif__queue *q, struct memif__queue *rq, memif_buffer_t *b)
{
	uint16_t slot = q->next & q->mask;
	struct memif__slot tmp;

	if (q->ext_tx)
		return false;
	make_owned(rq);
	make_owned(q);
	tmp = rq->slots[b->desc_index];
	rq->slots[b->desc_index] = q->slots[slot];
	q->slots[slot] = tmp;
	return true;
}

static int buffer_enq_tx(struct memif__conn *c, struct memif__queue *q, memif_buffer_t *bufs,
			 uint16_t count, uint16_t *count_out)
{
	struct memif__queue *rq = NULL; /* the receive queue entered for enq_swap */
	uint16_t i;
	int room, err = 0;

	if (q->is_master)
		return MEMIF_ERR_INVAL_ARG;
	room = slave_tx_room(q, count);
	if (unlikely(room < 0))
		return fault(q, "peer moved tail beyond head");
	for (i = 0; i < count && room > 0; i++, room--) {
		memif_buffer_t *b = &bufs[i];
		bool ok;

		if (b->queue && b->queue != rq) {
			/* Named one of our receive queues: enter it (buffers of
			 * one burst share it, so this is once per call). */
			bool rx = false;
			int k = queue_lookup(c, b->queue, &rx);

			if (k && rx) {
				if (rq)
					queue_leave(rq->ref);
				rq = NULL;
				err = enter_named(c, k, true, b->queue, &rq);
				if (err) {
					rq = NULL;
					break;
				}
			}
		}
		if (rq && b->queue == rq && enq_received(rq, b))
			ok = enq_swap(q, rq, b);
		else
			ok = enq_place(q, b);
		if (!ok) {
			err = MEMIF_ERR_INVAL_ARG;
			break;
		}
		b->desc_index = q->next & q->mask;
		b->queue = q;
		q->next++;
	}
	if (rq)
		queue_leave(rq->ref);
	*count_out = i;
	if (err) /* a bad buffer after the first ends the call early */
		return i ? MEMIF_ERR_SUCCESS : err;
	return i < count ? MEMIF_ERR_NOBUF_RING : MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT int memif_buffer_enq_tx(memif_conn_handle_t conn, uint16_t qid, memif_buffer_t *bufs,
				     uint16_t count, uint16_t *count_out)
{
	struct memif__queue *q;
	int err;

	if (unlikely(!count_out || (!bufs && count)))
		return MEMIF_ERR_INVAL_ARG;
	*count_out = 0;
	err = queue_enter(conn, qid, false, &q);
	if (unlikely(err))
		return err;
	err = buffer_enq_tx(conn, q, bufs, count, count_out);
	queue_leave(q->ref);
	return err;
}

static int buffer_requeue(struct memif__queue *qa, memif_buffer_t *buf_a, struct memif__queue *qb,
			  memif_buffer_t *buf_b)
{
	struct memif__slot tmp, *sa, *sb;
	uint16_t di;
	void *qp;

	if (held_index(qa, buf_a->desc_index) < 0 || held_index(qb, buf_b->desc_index) < 0 ||
	    (qa == qb && buf_a->desc_index == buf_b->desc_index))
		return MEMIF_ERR_INVAL_ARG;
	/* App buffers on a transmit ring are not the slots' own to move. */
	if (qa->ext_tx || qb->ext_tx)
		return MEMIF_ERR_INVAL_ARG;
	make_owned(qa);
	make_owned(qb);
	sa = &qa->slots[buf_a->desc_index];
	sb = &qb->slots[buf_b->desc_index];
	tmp = *sa;
	*sa = *sb;
	*sb = tmp;
	di = buf_a->desc_index;
	buf_a->desc_index = buf_b->desc_index;
	buf_b->desc_index = di;
	qp = buf_a->queue;
	buf_a->queue = buf_b->queue;
	buf_b->queue = qp;
	return MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT int memif_buffer_requeue(memif_conn_handle_t conn, memif_buffer_t *buf_a,
				      memif_buffer_t *buf_b)
{
	struct memif__conn *c = conn;
	struct memif__queue *qa, *qb;
	int err;

	if (!c)
		return MEMIF_ERR_NOCONN;
	if (c->magic != MEMIF__MAGIC_CONN || !buf_a || !buf_b || c->args.is_master)
		return MEMIF_ERR_INVAL_ARG;
	err = buffer_enter(c, buf_a, &qa);
	if (err)
		return err;
	if (buf_b->queue == qa) {
		err = buffer_requeue(qa, buf_a, qa, buf_b);
	} else {
		err = buffer_enter(c, buf_b, &qb);
		if (!err) {
			err = buffer_requeue(qa, buf_a, qb, buf_b);
			queue_leave(qb->ref);
		}
	}
	queue_leave(qa->ref);
	return err;
}

static int set_next_free_buffer(struct memif__queue *q, memif_buffer_t *buf)
{
	int idx;

	if (!buf || buf->queue != q)
		return MEMIF_ERR_INVAL_ARG;
	if (buf->desc_index == (q->next & q->mask))
		return MEMIF_ERR_SUCCESS; /* nothing reserved since: as upstream, a no-op */
	idx = held_index(q, buf->desc_index);
	if (idx < 0)
		return MEMIF_ERR_INVAL_ARG;
	q->next = (uint16_t)idx; /* the reservations from there on are given back */
	return MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT int memif_set_next_free_buffer(memif_conn_handle_t conn, uint16_t qid,
					    memif_buffer_t *buf)
{
	struct memif__queue *q;
	int err;

	err = queue_enter(conn, qid, false, &q);
	if (unlikely(err))
		return err;
	err = set_next_free_buffer(q, buf);
	queue_leave(q->ref);
	return err;
}

/* Control thread: a receive queue's mode (memif_rx_mode_t). */
int memif__queue_set_mode(struct memif__queue *q, uint8_t mode)
{
	bool polling = mode == MEMIF_RX_MODE_POLLING;

	memif__write_once(&q->polling, polling);
	memif__write_once(&q->adaptive, mode == MEMIF_RX_MODE_ADAPTIVE);
	/* An adaptive queue starts unmasked: the peer's first kick wakes it.
	 * (q->masked is the data path's own; a stale true only delays its
	 * next masking.) */
	set_mask(q, polling);
	/* Pairs with the writer's fence between publishing and reading flags. */
	memif__fence();
	return 0;
}

/* ---- setup and teardown (control thread) -------------------------------- */

static int alloc_queues(struct memif__conn *c, struct memif__queue **qs, uint16_t num, bool rx)
{
	struct memif__socket *s = c->sock;
	uint16_t i;

	*qs = memif__alloc(s, sizeof(**qs) * num);
	if (!*qs)
		return MEMIF__E(MEMIF_ERR_NOMEM);
	memset(*qs, 0, sizeof(**qs) * num);
	for (i = 0; i < num; i++) {
		struct memif__queue *q = &(*qs)[i];

		q->int_fd = -1;
		q->qid = i;
		q->is_rx = rx;
		q->is_master = c->args.is_master != 0;
		q->buffer_size = c->buffer_size;
		q->polling = rx && c->rx_mode[i] == MEMIF_RX_MODE_POLLING;
		q->adaptive = rx && c->rx_mode[i] == MEMIF_RX_MODE_ADAPTIVE;
		q->ref = rx ? &c->rx_ref[i] : &c->tx_ref[i];
		q->tick_fd = s->timer_fdh.fd;
		q->tick = s->tick;
	}
	if (rx)
		c->rxq_num = num;
	else
		c->txq_num = num;
	return 0;
}

static int queue_size(struct memif__conn *c, struct memif__queue *q, uint8_t log2)
{
	q->log2 = log2;
	q->ring_size = 1u << log2;
	q->mask = (uint16_t)(q->ring_size - 1);
	q->slots = memif__alloc(c->sock, sizeof(*q->slots) * q->ring_size);
	if (!q->slots)
		return MEMIF__E(MEMIF_ERR_NOMEM);
	memset(q->slots, 0, sizeof(*q->slots) * q->ring_size);
	return 0;
}

/* A setup that failed: never published, so the app never held a buffer. */
static void release_unpublished(struct memif__conn *c)
{
	(void)memif__queues_quiesce(c);
	memif__queues_free(c);
}

int memif__queues_slave_setup(struct memif__conn *c)
{
	uint16_t i;
	int err;

	err = alloc_queues(c, &c->txq, c->num_s2m, false);
	if (!err)
		err = alloc_queues(c, &c->rxq, c->num_m2s, true);
	for (i = 0; !err && i < c->txq_num + c->rxq_num; i++) {
		struct memif__queue *q = i < c->txq_num ? &c->txq[i] : &c->rxq[i - c->txq_num];

		err = queue_size(c, q, c->log2_ring);
		if (!err && q->is_rx)
			q->unoffered = (uint16_t)q->ring_size; /* slots wait for the first refill */
		if (!err) {
			q->int_fd = memif__os_eventfd();
			if (q->int_fd < 0) {
				err = q->int_fd;
				q->int_fd = -1;
			}
		}
	}
	if (err)
		release_unpublished(c);
	return err;
}

static int master_queue(struct memif__conn *c, struct memif__queue *q, struct memif__ring_info *ri,
			char *why)
{
	int err = queue_size(c, q, ri->log2);

	if (err)
		return err;
	q->ring_region = ri->region;
	q->ring_offset = ri->offset;
	q->regions = c->regions;
	q->regions_num = c->regions_num;
	q->ring = (memif_ring_t *)((uint8_t *)c->regions[ri->region].addr + ri->offset);
	if (memif__read_once(&q->ring->cookie) != MEMIF_COOKIE) {
		snprintf(why, MEMIF__WHY_LEN, "ring %u has a wrong cookie", q->qid);
		return MEMIF__E(MEMIF_ERR_COOKIE);
	}
	/* Start from the indexes the slave left; our own index is tail. */
	q->pub = q->next = q->peer = memif__load_acquire(&q->ring->tail);
	if (q->is_rx)
		memif__queue_set_mode(q, c->rx_mode[q->qid]);
	q->int_fd = ri->fd;
	ri->fd = -1;
	return 0;
}

int memif__queues_master_setup(struct memif__conn *c, char *why)
{
	uint16_t i;
	int err;

	/* Master receives on S2M rings and transmits on M2S rings. */
	err = alloc_queues(c, &c->rxq, c->s2m_seen, true);
	if (!err)
		err = alloc_queues(c, &c->txq, c->m2s_seen, false);
	for (i = 0; !err && i < c->rxq_num; i++)
		err = master_queue(c, &c->rxq[i], &c->s2m_info[i], why);
	for (i = 0; !err && i < c->txq_num; i++)
		err = master_queue(c, &c->txq[i], &c->m2s_info[i], why);
	if (err)
		release_unpublished(c);
	return err;
}

static void free_queues(struct memif__conn *c, struct memif__queue **qs, uint16_t *num)
{
	uint16_t i;

	if (!*qs)
		return;
	for (i = 0; i < *num; i++) {
		struct memif__queue *q = &(*qs)[i];

		/* (an interrupt token that watched it took it: conn.c) */
		memif__os_close(&q->int_fd);
		memif__free(c->sock, q->slots);
	}
	memif__free(c->sock, *qs);
	*qs = NULL;
	*num = 0;
}

/* Open the data path of every queue (struct memif__qref); link_up calls it. */
void memif__queues_publish(struct memif__conn *c)
{
	uint16_t i;

	if (++c->gen == 0)
		c->gen = 1; /* 0 means "holds nothing" */
	c->published = true;
	memif__write_once(&c->rx_pub_num, c->rxq_num);
	memif__write_once(&c->tx_pub_num, c->txq_num);
	/* Queue setup is complete; pairs with the load-acquire in queue_enter. */
	for (i = 0; i < c->rxq_num; i++)
		memif__store_release(&c->rx_ref[i].q, &c->rxq[i]);
	for (i = 0; i < c->txq_num; i++)
		memif__store_release(&c->tx_ref[i].q, &c->txq[i]);
}

/* Close it: calls that start from now on return DISCONNECTED. */
void memif__queues_unpublish(struct memif__conn *c)
{
	uint16_t i;

	for (i = 0; i < c->rxq_num; i++)
		memif__write_once(&c->rx_ref[i].q, NULL);
	for (i = 0; i < c->txq_num; i++)
		memif__write_once(&c->tx_ref[i].q, NULL);
}

/*
 * Wait until no call is inside, then note which queues the app still holds
 * buffers of (queue_leave clears the note at the thread's next call).
 * True if any. A call that starts after the unpublish and leaves before
 * the note is written loses its clear: that mapping then waits for the
 * thread's next call, or memif_delete.
 */
static bool wait_idle(struct memif__qref *refs, const struct memif__queue *qs, uint16_t num,
		      uint32_t gen)
{
	bool held = false;
	uint16_t i;

	for (i = 0; i < num; i++) {
		/* Pairs with the store-release in queue_leave: the call is done
		 * with everything we are about to free, unmap or close, and its
		 * writes to the queue are visible to app_holds. */
		while (memif__load_acquire(&refs[i].busy))
			sched_yield(); /* a data-path call never blocks: it ends soon */
		if (gen && app_holds(&qs[i])) {
			memif__write_once(&refs[i].held_gen, gen);
			held = true;
		}
	}
	return held;
}

/*
 * Unpublish and wait for the calls inside: from then on nothing of the
 * queues is in use, and they may be freed (memif__queues_free). True if app
 * threads still hold buffers of them: memif__region_release must then keep
 * the mappings until those threads call again (region.c: stale).
 */
bool memif__queues_quiesce(struct memif__conn *c)
{
	uint32_t gen;
	bool held;

	memif__queues_unpublish(c);
	/* Store q, then load busy; pairs with memif__fence_light in queue_enter. */
	memif__fence_heavy();
	/* Queues never published: the app never had a buffer of them. */
	gen = c->published ? c->gen : 0;
	held = wait_idle(c->rx_ref, c->rxq, c->rxq_num, gen);
	held |= wait_idle(c->tx_ref, c->txq, c->txq_num, gen);
	c->published = false;
	return held;
}

/* Free quiesced queues: their slots and the eventfds no token took. */
void memif__queues_free(struct memif__conn *c)
{
	free_queues(c, &c->rxq, &c->rxq_num);
	free_queues(c, &c->txq, &c->txq_num);
}
