/* SPDX-License-Identifier: MIT */
/*
 * requeue.c - buffers that change queue: memif_buffer_enq_tx (an app
 * buffer or a received one sent on a transmit queue) and
 * memif_buffer_requeue (two held buffers swap slots), and the switch of a
 * slave's queues to owned slots that both need. The rules of the hot path
 * are at the top of dp.h.
 */
#include "dp.h"

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
		return memif__queue_fault(q, "peer moved tail beyond head");
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
