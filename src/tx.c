/* SPDX-License-Identifier: MIT */
/*
 * tx.c - the transmit side of the packet path: memif_buffer_alloc (slave,
 * owned slots, master), memif_tx_burst, memif_set_next_free_buffer. The
 * rules of the hot path are at the top of dp.h.
 */
#include "dp.h"

/* tx_burst copies the app's NEXT bit into the descriptor as is. */
_Static_assert(MEMIF_BUFFER_FLAG_NEXT == MEMIF_DESC_FLAG_NEXT, "NEXT is one bit in both");

static int alloc_slave(struct memif__queue *q, memif_buffer_t *bufs, uint16_t count,
		       uint16_t *count_out, uint16_t size, uint16_t *pkts)
{
	uint32_t bsize = q->buffer_size;
	uint32_t need = (size + bsize - 1) / bsize; /* size > 0: buffer_alloc */
	int room = slave_tx_room(q, need * count);
	uint8_t *base;
	uint16_t n = 0, p;

	if (unlikely(room < 0))
		return memif__queue_fault(q, "peer moved tail beyond head");
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
		return memif__queue_fault(q, "peer moved tail beyond head");
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
		return memif__queue_fault(q, "peer moved head beyond the ring");
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
					return memif__queue_fault(
						q, "peer moved head beyond the ring");
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
				return memif__queue_fault(
					q, "peer offered a buffer outside its regions");
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
				       (uintptr_t)region_ptr(q, slots[slot].region,
							     slots[slot].offset);
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
