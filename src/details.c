/* SPDX-License-Identifier: MIT */
/*
 * details.c - memif_get_details (a snapshot written into the caller's
 * buffer) and memif_get_region_sealed.
 */
#include <string.h>

#include "private.h"

struct out {
	char *buf;
	size_t len, used;
	bool full;
};

static void *take(struct out *o, size_t size, size_t align)
{
	size_t at = (o->used + align - 1) & ~(align - 1);

	if (at + size > o->len || at < o->used) {
		o->full = true;
		return NULL;
	}
	o->used = at + size;
	return o->buf + at;
}

static uint8_t *put_str(struct out *o, const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *p = take(o, n + 1, 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return (uint8_t *)p;
}

static void queue_details(memif_queue_details_t *d, const struct memif__queue *q)
{
	d->region = (uint8_t)q->ring_region;
	d->qid = q->qid;
	d->ring_size = q->ring_size;
	/* The ring's flags, as upstream reports them: on a slave's transmit
	 * queue this shows whether the master polls (MASK_INT is the same bit). */
	d->flags = (memif__read_once(&q->ring->flags) & MEMIF_RING_FLAG_MASK_INT) ?
			   MEMIF_QUEUE_FLAG_POLLING :
			   0;
	d->head = memif__load_acquire(&q->ring->head);
	d->tail = memif__load_acquire(&q->ring->tail);
	d->buffer_size = q->buffer_size;
}

MEMIF_EXPORT int memif_get_details(memif_conn_handle_t conn, memif_details_t *md, char *buf,
				   ssize_t buflen)
{
	struct memif__conn *c = conn;
	struct out o = { .buf = buf, .len = buflen > 0 ? (size_t)buflen : 0 };
	uint8_t secret[MEMIF_SECRET_LEN + 1];
	uint16_t i;

	if (!c)
		return MEMIF_ERR_NOCONN;
	if (c->magic != MEMIF__MAGIC_CONN || c->delete_pending || !md || (!buf && buflen))
		return MEMIF_ERR_INVAL_ARG;
	memset(md, 0, sizeof(*md));
	memcpy(secret, c->args.secret, MEMIF_SECRET_LEN);
	secret[MEMIF_SECRET_LEN] = 0;
	md->if_name = put_str(&o, c->if_name, sizeof(c->if_name));
	md->inst_name = put_str(&o, c->sock->app_name, sizeof(c->sock->app_name));
	md->remote_if_name = put_str(&o, c->remote_if_name, sizeof(c->remote_if_name));
	md->remote_inst_name = put_str(&o, c->remote_name, sizeof(c->remote_name));
	md->id = c->args.interface_id;
	md->secret = put_str(&o, (const char *)secret, sizeof(secret));
	md->role = c->args.is_master ? 0 : 1;
	md->mode = c->args.mode;
	md->socket_path = put_str(&o, c->sock->path, sizeof(c->sock->path));
	md->error = put_str(&o, c->error, sizeof(c->error));
	md->link_up_down = c->link_up ? 1 : 0;
	if (c->link_up) {
		md->regions_num = (uint8_t)MEMIF_MIN(c->regions_num, 255);
		md->regions = take(&o, sizeof(*md->regions) * md->regions_num, 8);
		for (i = 0; md->regions && i < md->regions_num; i++) {
			md->regions[i].index = (uint8_t)i;
			md->regions[i].addr = c->regions[i].addr;
			md->regions[i].size = (uint32_t)c->regions[i].size;
			md->regions[i].fd = c->regions[i].fd;
			md->regions[i].is_external = c->regions[i].is_external;
		}
		md->rx_queues_num = (uint8_t)MEMIF_MIN(c->rxq_num, 255);
		md->tx_queues_num = (uint8_t)MEMIF_MIN(c->txq_num, 255);
		md->rx_queues = take(&o, sizeof(*md->rx_queues) * md->rx_queues_num, 8);
		for (i = 0; md->rx_queues && i < md->rx_queues_num; i++)
			queue_details(&md->rx_queues[i], &c->rxq[i]);
		md->tx_queues = take(&o, sizeof(*md->tx_queues) * md->tx_queues_num, 8);
		for (i = 0; md->tx_queues && i < md->tx_queues_num; i++)
			queue_details(&md->tx_queues[i], &c->txq[i]);
	}
	return o.full ? MEMIF_ERR_NOBUF_DET : MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT int memif_get_region_sealed(memif_conn_handle_t conn, uint16_t region_index,
					 uint8_t *sealed)
{
	struct memif__conn *c = conn;

	if (!c || c->magic != MEMIF__MAGIC_CONN || c->delete_pending || !sealed)
		return MEMIF_ERR_INVAL_ARG;
	if (!c->link_up)
		return MEMIF_ERR_NOCONN;
	if (region_index >= c->regions_num)
		return MEMIF_ERR_INVAL_ARG;
	*sealed = c->regions[region_index].sealed ? 1 : 0;
	return MEMIF_ERR_SUCCESS;
}
