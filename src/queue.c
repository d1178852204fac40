/* SPDX-License-Identifier: MIT */
/*
 * queue.c - the queues' life on the control thread: setup for both roles,
 * publish and unpublish (the door's other side: dp.h), waiting for the
 * packet path to leave, teardown, the receive mode, and the fault recorder
 * the packet path calls down into. The packet path itself is in tx.c,
 * rx.c and requeue.c.
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "dp.h"
#include "os.h"

/*
 * A peer violation seen on the packet path (any thread): record the first
 * reason in the queue (sticky) and fire the socket's timer now, so the
 * control thread's tick ends the link (memif__conn_check_faults) without
 * waiting for the period. Returns what the data-path call returns.
 */
int memif__queue_fault(struct memif__queue *q, const char *why)
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

/* Buffers of this queue the app holds between calls (taken, not given back). */
static inline bool app_holds(const struct memif__queue *q)
{
	if (!q->is_rx || q->is_master)
		return q->next != q->pub; /* reserved and unsent, or received and not refilled */
	/* Slave rx: slots not offered to the peer, less those never offered. */
	return q->ring_size - memif__ring_count(q->pub, q->next) != q->unoffered;
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
