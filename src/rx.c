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
