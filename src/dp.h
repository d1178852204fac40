/* SPDX-License-Identifier: MIT */
/*
 * dp.h - what the files of the packet path share, inline so the hot loops
 * compile as one: the door of a queue (queue_enter/queue_leave), the peer
 * index caches, descriptor loads and checks, buffer addresses, counters.
 * tx.c (alloc, tx burst), rx.c (rx burst, adaptive receive, refill) and
 * requeue.c (buffers that change queue) include it; queue.c, which sets
 * the queues up and tears them down, uses the door's other side.
 *
 * Hot-path rules: no syscall but the interrupt kick (and, on an rx queue in
 * interrupt mode or adaptive mode behaving as such, the eventfd drain, and
 * in adaptive mode the thread's CPU clock on one wake in 1024: rx.c
 * sample_wake), no allocation, no lock. Everything
 * read from shared memory is copied to a local, validated, then used; a
 * violation is recorded with memif__queue_fault (queue.c: sticky per
 * queue, and the socket's timer fired) and the control thread disconnects
 * with that reason at its next tick. Nothing on the packet path calls up
 * into the connection's code.
 *
 * Ownership (protocol 2.0): the slave writes head of every ring, the master
 * writes tail. `pub` is our private copy of the index we write.
 */
#ifndef MEMIF_DP_H
#define MEMIF_DP_H

#include "private.h"
#include "ring.h"

static inline void *region_ptr(const struct memif__queue *q, uint16_t region, uint32_t offset)
{
	return (uint8_t *)q->regions[region].addr + offset;
}

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

/* A descriptor written by the peer: does it name memory we know? */
static inline bool desc_ok(const struct memif__region *regs, uint16_t nreg, const memif_desc_t *d)
{
	return d->region < nreg && memif__ring_span_ok(regs[d->region].size, d->offset, d->length);
}

/*
 * Leave the data path of a queue. Any call on the queue, whatever it
 * returns, also tells that the app has moved on from buffers it held when
 * an earlier link went down (teardown recorded those in held_gen, see
 * wait_idle in queue.c): their memory may be unmapped now. The release orders the
 * app's reads of them before; pairs with the load-acquire in stale_held
 * (region.c). Nothing else on the way out: which buffers the app holds is
 * worked out by teardown, from the queue, once no call is inside.
 */
static inline void queue_leave(struct memif__qref *r)
{
	if (unlikely(memif__read_once(&r->held_gen)))
		memif__store_release(&r->held_gen, 0);
	/* Done with the queue; pairs with the load-acquire in wait_idle (queue.c). */
	memif__store_release(&r->busy, 0);
}

/*
 * Enter the data path of a queue (struct memif__qref): mark it busy, then
 * look whether it is connected. Teardown does the reverse (unpublish, then
 * look whether it is busy), so either this call sees no queue or teardown
 * waits for it: nothing it uses is released under it. Every successful
 * enter is paired with queue_leave.
 */
static inline int queue_enter(memif_conn_handle_t h, uint16_t qid, bool rx,
			      struct memif__queue **qp)
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
static inline void set_default_slot(struct memif__queue *q, uint16_t idx)
{
	uint16_t slot = idx & q->mask;

	q->slots[slot].region = q->buf_region;
	q->slots[slot].offset = default_offset(q, idx);
	q->slots[slot].cap = q->buffer_size;
}

/*
 * Ring index of a slot the app holds: a transmit slot reserved and not
 * sent ([pub, next)), or a receive slot taken and not given back (slave:
 * [pub, next + ring size)). -1 if the slot is not the app's.
 */
static inline int held_index(const struct memif__queue *q, uint16_t slot)
{
	uint16_t first = q->pub;
	uint32_t n = q->is_rx ? memif__ring_free(q->ring_size, q->pub, q->next) :
				memif__ring_count(q->next, q->pub);
	uint16_t k = (uint16_t)((slot - first) & q->mask);

	if (slot > q->mask || k >= n)
		return -1;
	return (uint16_t)(first + k);
}

static inline void set_mask(struct memif__queue *q, bool mask)
{
	uint16_t fl = memif__read_once(&q->ring->flags);

	fl = mask ? (uint16_t)(fl | MEMIF_RING_FLAG_MASK_INT) :
		    (uint16_t)(fl & ~MEMIF_RING_FLAG_MASK_INT);
	memif__write_once(&q->ring->flags, fl);
}

#endif
