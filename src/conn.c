/* SPDX-License-Identifier: MIT */
/*
 * conn.c - the connection state machine of both roles.
 *
 * slave:  IDLE -connect-> WAIT_HELLO -HELLO/INIT-> WAIT_INIT_ACK
 *         -ACK/ADD_REGION...-> WAIT_REGION_ACK -ACK/ADD_RING...-> WAIT_RING_ACK
 *         -ACK/CONNECT-> WAIT_CONNECTED -CONNECTED-> CONNECTED
 * master: (unbound channel) -INIT-> WAIT_SETUP (ADD_REGION, ADD_RING, each
 *         ACKed) -CONNECT/CONNECTED-> CONNECTED
 * Anything out of order ends the connection with a DISCONNECT and a reason.
 *
 * This file is the one owner of a link's life: the services below it
 * (socket.c, region.c, queue.c) report with codes and reasons, and the fd
 * handlers that drive a link (listener, channel, timer, interrupts) are
 * here, given to events.c with their tokens.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "os.h"
#include "private.h"

void memif__conn_set_error(struct memif__conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err_latched)
		return; /* the first error of an attempt is the one to report */
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	c->err_latched = true;
	LOG_INFO("%s: %s", c->if_name, c->error);
}

static int on_chan(struct memif__fdh *h, uint32_t events);

/* A service below failed with err and maybe said why: the attempt's reason. */
static int failed(struct memif__conn *c, int err, const char *why)
{
	if (err && why[0])
		memif__conn_set_error(c, "%s", why);
	return err;
}

static int chan_send(struct memif__chan *ch, const memif_msg_t *m, int fd)
{
	return memif__os_send(ch->fdh.fd, m, sizeof(*m), fd);
}

/* Refuse a peer on a channel that has no interface (yet). */
static void chan_refuse(struct memif__socket *s, struct memif__chan *ch, int err,
			const char *reason)
{
	memif_msg_t m;

	memif__msg_disconnect(&m, (uint32_t)memif__err_public(err), reason);
	(void)chan_send(ch, &m, -1);
	LOG_INFO("%s: refused a peer: %s", s->path, reason);
	memif__chan_put(s, ch);
}

/*
 * Give back the interrupt tokens link_up took, and with them the eventfds
 * they watch. Only once no data-path call is inside: one may be kicking
 * or draining those fds.
 */
static void irq_tokens_put(struct memif__conn *c)
{
	uint16_t i;

	for (i = 0; i < c->rxq_num; i++) {
		struct memif__fdh *h = c->irq_fdh[i];

		if (!h)
			continue;
		if (h->fd >= 0)
			c->rxq[i].int_fd = -1; /* the token owns it now */
		memif__token_put(c->sock, h);
		c->irq_fdh[i] = NULL;
	}
}

/*
 * Close the data path, wait for the calls inside, free the queues. True if
 * app threads still hold buffers of them (memif__queues_quiesce).
 */
static bool queues_release(struct memif__conn *c)
{
	bool held = memif__queues_quiesce(c);

	irq_tokens_put(c);
	memif__queues_free(c);
	return held;
}

static void release(struct memif__conn *c)
{
	memif__region_release(c, queues_release(c));
	memif__region_reap(c, false); /* earlier generations the app moved on from */
	if (c->s2m_info || c->m2s_info) {
		uint16_t i;

		for (i = 0; i < c->s2m_seen; i++)
			memif__os_close(&c->s2m_info[i].fd);
		for (i = 0; i < c->m2s_seen; i++)
			memif__os_close(&c->m2s_info[i].fd);
		memif__free(c->sock, c->s2m_info);
		memif__free(c->sock, c->m2s_info);
		c->s2m_info = c->m2s_info = NULL;
	}
	c->s2m_seen = c->m2s_seen = 0;
	c->setup_step = 0;
}

void memif__conn_disconnect(struct memif__conn *c, int err, const char *reason, bool tell_peer)
{
	bool was_up = c->link_up;

	if (c->state == MEMIF__ST_IDLE && !c->chan)
		return;
	if (reason)
		memif__conn_set_error(c, "%s", reason);
	if (c->chan && tell_peer) {
		memif_msg_t m;

		memif__msg_disconnect(&m, (uint32_t)memif__err_public(err), reason);
		(void)chan_send(c->chan, &m, -1);
	}
	memif__write_once(&c->link_up, false);
	memif__queues_unpublish(c); /* data-path calls from now on: DISCONNECTED */
	c->state = MEMIF__ST_IDLE;
	c->err_latched = false;
	if (c->chan)
		memif__chan_put(c->sock, c->chan);
	/* Before releasing: the app stops its data-path threads in here. */
	if (was_up && c->on_disconnect) {
		c->cb_depth++;
		(void)c->on_disconnect(c, c->private_ctx);
		c->cb_depth--;
	}
	release(c);
}

void memif__conn_check_faults(struct memif__conn *c)
{
	uint16_t i;
	const char *f = NULL;

	if (!c->link_up)
		return;
	for (i = 0; i < c->txq_num && !f; i++)
		f = memif__read_once(&c->txq[i].fault);
	for (i = 0; i < c->rxq_num && !f; i++)
		f = memif__read_once(&c->rxq[i].fault);
	if (f)
		memif__conn_disconnect(c, MEMIF__E(MEMIF_ERR_DISCONNECT), f, true);
}

static void read_peer_cred(struct memif__conn *c)
{
	memset(&c->peer, 0, sizeof(c->peer));
	if (c->chan)
		(void)memif__os_peercred(c->chan->fdh.fd, &c->peer.pid, &c->peer.uid, &c->peer.gid);
}

int memif__conn_connect(struct memif__conn *c)
{
	struct memif__socket *s = c->sock;
	struct memif__chan *ch;
	struct sockaddr_un sa;
	socklen_t len;
	int fd, err;

	if (c->args.is_master)
		return MEMIF__E(MEMIF_ERR_INVAL_ARG);
	if (c->state != MEMIF__ST_IDLE)
		return MEMIF__E(MEMIF_ERR_CONN);
	err = memif__sock_addr(s->path, &sa, &len);
	if (err)
		return err;
	fd = memif__os_connect(&sa, len);
	if (fd < 0) {
		LOG_DEBUG("%s: connect to %s: %s", c->if_name, s->path, strerror(-fd));
		/* As upstream: whatever connect() says (no file, nobody listens,
		 * no permission, backlog full), the master cannot be reached now.
		 * Only running out of fds or memory keeps its own code. */
		if (fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM || fd == -ENOBUFS)
			return fd;
		return MEMIF__E(MEMIF_ERR_CONNREFUSED);
	}
	err = memif__chan_get(s, fd, on_chan, &ch);
	if (err)
		return err;
	ch->conn = c;
	c->chan = ch;
	c->state = MEMIF__ST_WAIT_HELLO;
	c->err_latched = false;
	read_peer_cred(c);
	LOG_DEBUG("%s: connected to %s, waiting for HELLO", c->if_name, s->path);
	return 0;
}

/*
 * A receive queue's eventfd is readable. Interrupts are level-triggered, as
 * upstream's: the eventfd is left set for on_interrupt, and memif_rx_burst
 * clears it once it leaves the ring empty, so an app that takes only part
 * of a burst per call is called again until it has taken everything. With
 * nobody to take the level (no callback, a polling queue, link down) it is
 * cleared here, or the loop would spin on it.
 */
static int on_irq(struct memif__fdh *h, uint32_t events)
{
	struct memif__conn *c = h->ctx;

	(void)events;
	if (!c) {
		memif__irq_drain(h->fd);
		return 0;
	}
	memif__conn_check_faults(c); /* a data-path fault ends the link here too */
	if (!c->link_up || h->qid >= c->rxq_num || !c->on_interrupt || c->delete_pending ||
	    memif__read_once(&c->rxq[h->qid].polling)) {
		memif__irq_drain(h->fd);
		return 0;
	}
	c->cb_depth++;
	(void)c->on_interrupt(c, c->private_ctx, h->qid); /* its result is the app's */
	c->cb_depth--;
	return 0;
}

/* Watch the rx interrupt fds and tell the app the link is up. */
static int link_up(struct memif__conn *c)
{
	uint16_t i;
	int err;

	/* As upstream: the queue fds are watched for on_interrupt only. Without
	 * it they are the app's alone (memif_get_queue_efd), and a second
	 * reader here would steal its wake-ups. */
	for (i = 0; c->on_interrupt && i < c->rxq_num; i++) {
		struct memif__fdh *h = memif__token_get(c->sock);

		if (!h)
			return MEMIF__E(MEMIF_ERR_NOMEM);
		memif__fdh_init(h, c->sock, on_irq, c, i);
		h->taken = true;
		c->irq_fdh[i] = h;
		err = memif__fd_add(c->sock, h, c->rxq[i].int_fd);
		if (err) {
			c->rxq[i].int_fd = -1; /* closed by fd_add */
			return err;
		}
	}
	c->state = MEMIF__ST_CONNECTED;
	c->ever_up = true;
	c->error[0] = '\0';
	c->err_latched = false;
	memif__queues_publish(c);
	/* Queues are set up; pairs with the load-acquire in the data path. */
	memif__store_release(&c->link_up, true);
	LOG_INFO("%s: connected to %s (%s)", c->if_name, c->remote_if_name, c->remote_name);
	if (c->on_connect) {
		c->cb_depth++;
		(void)c->on_connect(c, c->private_ctx);
		c->cb_depth--;
	}
	return 0;
}

/* Slave: announce the next region or ring, or CONNECT when all are ACKed. */
static int slave_send_next(struct memif__conn *c)
{
	memif_msg_t m;
	uint16_t step = c->setup_step;
	int fd = -1;

	if (step < c->regions_num) {
		memif__msg_add_region(&m, step, c->regions[step].size);
		fd = c->regions[step].fd;
		c->state = MEMIF__ST_WAIT_REGION_ACK;
	} else if (step < c->regions_num + c->num_s2m + c->num_m2s) {
		uint16_t r = (uint16_t)(step - c->regions_num);
		bool s2m = r < c->num_s2m;
		struct memif__queue *q = s2m ? &c->txq[r] : &c->rxq[r - c->num_s2m];

		memif__msg_add_ring(&m, s2m, q->qid, q->ring_region, q->ring_offset, q->log2);
		fd = q->int_fd;
		c->state = MEMIF__ST_WAIT_RING_ACK;
	} else {
		memif__msg_connect(&m, 0, c->if_name);
		c->state = MEMIF__ST_WAIT_CONNECTED;
	}
	return chan_send(c->chan, &m, fd);
}

static int slave_on_hello(struct memif__conn *c, const memif_msg_hello_t *h)
{
	char why[MEMIF__WHY_LEN] = "";
	memif_msg_t m;
	int err;

	memif__msg_get_name(c->remote_name, h->name, sizeof(h->name));
	if (!memif__msg_version_ok(h->min_version, h->max_version)) {
		memif__conn_set_error(c, "peer speaks protocol 0x%04x..0x%04x, we need 0x%04x",
				      h->min_version, h->max_version, MEMIF_VERSION);
		return MEMIF__E(MEMIF_ERR_PROTO);
	}
	/* Clamp our configuration to the master's limits before sending anything. */
	c->num_s2m = (uint8_t)MEMIF_MIN((unsigned)c->args.num_s2m_rings, h->max_s2m_ring + 1u);
	c->num_m2s = (uint8_t)MEMIF_MIN((unsigned)c->args.num_m2s_rings, h->max_m2s_ring + 1u);
	c->log2_ring = (uint8_t)MEMIF_MIN(c->args.log2_ring_size, h->max_log2_ring_size);
	c->buffer_size = c->args.buffer_size;
	c->max_region = h->max_region;
	err = memif__queues_slave_setup(c);
	if (err)
		return err;
	err = memif__region_slave_setup(c, why);
	if (err) {
		(void)queues_release(c); /* never published: nothing held */
		return failed(c, err, why);
	}
	memif__msg_init(&m, c->args.interface_id, c->args.mode, c->args.secret, c->sock->app_name);
	c->state = MEMIF__ST_WAIT_INIT_ACK;
	return chan_send(c->chan, &m, -1);
}

static int slave_on_msg(struct memif__conn *c, const memif_msg_t *m)
{
	switch (c->state) {
	case MEMIF__ST_WAIT_HELLO:
		if (m->type == MEMIF_MSG_TYPE_HELLO)
			return slave_on_hello(c, &m->hello);
		break;
	case MEMIF__ST_WAIT_INIT_ACK:
	case MEMIF__ST_WAIT_REGION_ACK:
	case MEMIF__ST_WAIT_RING_ACK:
		if (m->type == MEMIF_MSG_TYPE_ACK) {
			if (c->state != MEMIF__ST_WAIT_INIT_ACK)
				c->setup_step++;
			return slave_send_next(c);
		}
		break;
	case MEMIF__ST_WAIT_CONNECTED:
		if (m->type == MEMIF_MSG_TYPE_CONNECTED) {
			memif__msg_get_name(c->remote_if_name, m->connected.if_name,
					    sizeof(m->connected.if_name));
			return link_up(c);
		}
		break;
	default:
		break;
	}
	memif__conn_set_error(c, "unexpected message type %u", m->type);
	return MEMIF__E(MEMIF_ERR_UNKNOWN_MSG);
}

/*
 * The peer's secret equals ours, both as strings of up to 24 bytes; a
 * 24-byte secret of ours also matches its first 23 bytes alone, which is
 * all VPP and upstream slaves send of it (their INIT field ends with a NUL).
 */
static bool secret_equal(const uint8_t *peer, const uint8_t *ours)
{
	uint8_t a[MEMIF_SECRET_LEN], b[MEMIF_SECRET_LEN];
	uint8_t head = 0, last;
	size_t i;

	memif__msg_secret(a, peer);
	memif__msg_secret(b, ours);
	/* Constant time: no early exit that would leak the matching prefix. */
	for (i = 0; i + 1 < MEMIF_SECRET_LEN; i++)
		head |= (uint8_t)(a[i] ^ b[i]);
	last = (uint8_t)(a[MEMIF_SECRET_LEN - 1] ^ b[MEMIF_SECRET_LEN - 1]);
	return head == 0 && (last == 0 || a[MEMIF_SECRET_LEN - 1] == 0);
}

static bool secret_empty(const uint8_t *a)
{
	uint8_t any = 0;
	size_t i;

	for (i = 0; i < MEMIF_SECRET_LEN; i++)
		any |= a[i];
	return any == 0;
}

/* Master: INIT on a channel that has no interface yet. */
static void master_on_init(struct memif__socket *s, struct memif__chan *ch,
			   const memif_msg_init_t *in)
{
	struct memif__conn *c;
	char reason[MEMIF_DISCONNECT_STRING_LEN + 1];
	memif_msg_t m;
	bool busy;
	int err;

	if (in->version != MEMIF_VERSION) {
		snprintf(reason, sizeof(reason), "unsupported protocol version 0x%04x",
			 in->version);
		chan_refuse(s, ch, MEMIF__E(MEMIF_ERR_PROTO), reason);
		return;
	}
	c = memif__sock_find(s, in->id, &busy);
	if (!c && busy) {
		snprintf(reason, sizeof(reason), "interface id %u is already connected", in->id);
		chan_refuse(s, ch, MEMIF__E(MEMIF_ERR_ALRCONN), reason);
		return;
	}
	if (!c) {
		snprintf(reason, sizeof(reason), "no interface with id %u", in->id);
		chan_refuse(s, ch, MEMIF__E(MEMIF_ERR_ID), reason);
		return;
	}
	if (in->mode != c->args.mode) {
		memif__conn_set_error(c, "refused a peer: mode mismatch (ours %u, peer %u)",
				      c->args.mode, in->mode);
		chan_refuse(s, ch, MEMIF__E(MEMIF_ERR_MODE), "mode mismatch");
		return;
	}
	/* As VPP and upstream: a master without a secret accepts any slave. */
	if (!secret_empty(c->args.secret) && !secret_equal(in->secret, c->args.secret)) {
		bool required = !secret_empty(c->args.secret) && secret_empty(in->secret);

		memif__conn_set_error(c, "refused a peer: %s",
				      required ? "secret required" : "secret mismatch");
		chan_refuse(s, ch, MEMIF__E(required ? MEMIF_ERR_NOSECRET : MEMIF_ERR_SECRET),
			    required ? "secret required" : "secret mismatch");
		return;
	}
	ch->conn = c;
	c->chan = ch;
	c->state = MEMIF__ST_WAIT_SETUP;
	c->err_latched = false;
	c->buffer_size = c->args.buffer_size; /* reported only: the slave sizes buffers */
	memif__msg_get_name(c->remote_name, in->name, sizeof(in->name));
	read_peer_cred(c);
	memif__msg_ack(&m);
	err = chan_send(ch, &m, -1);
	if (err)
		memif__conn_disconnect(c, err, "cannot send ACK", false);
}

static int master_add_ring(struct memif__conn *c, const memif_msg_add_ring_t *ar, int *fd)
{
	bool s2m = ar->flags & MEMIF_MSG_ADD_RING_FLAG_S2M;
	struct memif__ring_info **info = s2m ? &c->s2m_info : &c->m2s_info;
	uint16_t *seen = s2m ? &c->s2m_seen : &c->m2s_seen;
	struct memif__ring_info *ri;
	char why[MEMIF__WHY_LEN] = "";
	int err;

	if (ar->index != *seen || ar->index > MEMIF__MAX_RING) {
		memif__conn_set_error(c, "ring %u announced out of order", ar->index);
		return MEMIF__E(ar->index > MEMIF__MAX_RING ? MEMIF_ERR_MAXRING : MEMIF_ERR_MFMSG);
	}
	if (!*info) {
		*info = memif__alloc(c->sock, sizeof(**info) * MEMIF__MAX_QUEUES);
		if (!*info)
			return MEMIF__E(MEMIF_ERR_NOMEM);
	}
	ri = &(*info)[ar->index];
	ri->region = ar->region;
	ri->offset = ar->offset;
	ri->log2 = ar->log2_ring_size;
	ri->fd = -1;
	err = memif__region_check_ring(c, ri, why);
	if (err)
		return failed(c, err, why);
	if (memif__os_is_eventfd(*fd) != 1) {
		memif__conn_set_error(c, "ring %u: interrupt fd is not an eventfd", ar->index);
		return MEMIF__E(MEMIF_ERR_NO_INTFD);
	}
	err = memif__os_set_nonblock(*fd);
	if (err)
		return err;
	ri->fd = *fd;
	*fd = -1;
	(*seen)++;
	return 0;
}

static int master_on_msg(struct memif__conn *c, const memif_msg_t *m, int *fd)
{
	char why[MEMIF__WHY_LEN] = "";
	memif_msg_t ack;
	int err;

	if (c->state != MEMIF__ST_WAIT_SETUP) {
		memif__conn_set_error(c, "unexpected message type %u after connect", m->type);
		return MEMIF__E(MEMIF_ERR_UNKNOWN_MSG);
	}
	switch (m->type) {
	case MEMIF_MSG_TYPE_ADD_REGION:
		if (m->add_region.index != c->regions_num) {
			memif__conn_set_error(c, "region %u announced out of order",
					      m->add_region.index);
			return MEMIF__E(MEMIF_ERR_MFMSG);
		}
		err = memif__region_master_add(c, m->add_region.index, m->add_region.size, fd, why);
		if (err)
			return failed(c, err, why);
		break;
	case MEMIF_MSG_TYPE_ADD_RING:
		err = master_add_ring(c, &m->add_ring, fd);
		break;
	case MEMIF_MSG_TYPE_CONNECT:
		memif__msg_get_name(c->remote_if_name, m->connect.if_name,
				    sizeof(m->connect.if_name));
		if (c->regions_num == 0 || c->s2m_seen == 0 || c->m2s_seen == 0) {
			memif__conn_set_error(c, "CONNECT before any region and rings");
			return MEMIF__E(MEMIF_ERR_MFMSG);
		}
		err = memif__queues_master_setup(c, why);
		if (err)
			return failed(c, err, why);
		memif__msg_connect(&ack, 1, c->if_name);
		err = chan_send(c->chan, &ack, -1);
		if (err)
			return err;
		return link_up(c);
	default:
		memif__conn_set_error(c, "unexpected message type %u during setup", m->type);
		return MEMIF__E(MEMIF_ERR_UNKNOWN_MSG);
	}
	if (err)
		return err;
	memif__msg_ack(&ack);
	return chan_send(c->chan, &ack, -1);
}

static const char *err_reason(int err)
{
	return memif_strerror(memif__err_public(err));
}

/* Handle one received message; false once the channel is gone. */
static bool on_one(struct memif__chan *ch, const void *buf, int len, int *fds, int nfds)
{
	struct memif__socket *s = ch->fdh.sock;
	struct memif__conn *c = ch->conn;
	char reason[MEMIF_DISCONNECT_STRING_LEN + 1];
	memif_msg_t m;
	int fd = nfds ? fds[0] : -1;
	int type, err;

	type = memif__msg_decode(buf, (size_t)len, nfds, &m);
	if (type < 0) {
		err = type;
		snprintf(reason, sizeof(reason), "bad message: %s", err_reason(err));
		goto fail;
	}
	if (type == MEMIF_MSG_TYPE_DISCONNECT) {
		char peer[MEMIF_DISCONNECT_STRING_LEN + 1];

		memif__msg_get_name(peer, m.disconnect.string, sizeof(m.disconnect.string));
		if (c) {
			memif__conn_set_error(c, "peer: %s", peer);
			memif__conn_disconnect(c, 0, NULL, false);
		} else {
			memif__chan_put(s, ch);
		}
		return false;
	}
	if (!c) {
		memif__os_close(&fd); /* nothing before INIT carries an fd we keep */
		if (type != MEMIF_MSG_TYPE_INIT) {
			snprintf(reason, sizeof(reason), "expected INIT, got type %d", type);
			chan_refuse(s, ch, MEMIF__E(MEMIF_ERR_UNKNOWN_MSG), reason);
			return false;
		}
		master_on_init(s, ch, &m.init);
		return ch->in_use && ch->conn;
	}
	if (c->args.is_master)
		err = master_on_msg(c, &m, &fd);
	else
		err = slave_on_msg(c, &m);
	memif__os_close(&fd); /* unless the handler took it */
	if (!err)
		return c->chan == ch;
	snprintf(reason, sizeof(reason), "%s", c->err_latched ? c->error : err_reason(err));
	memif__conn_disconnect(c, err, reason, true);
	return false;
fail:
	while (nfds > 0)
		memif__os_close(&fds[--nfds]);
	if (c) {
		memif__conn_set_error(c, "%s", reason);
		memif__conn_disconnect(c, err, reason, true);
	} else {
		chan_refuse(s, ch, err, reason);
	}
	return false;
}

/* A control channel is readable: take its messages. */
static int on_chan(struct memif__fdh *h, uint32_t events)
{
	struct memif__chan *ch = h->ctx;
	uint8_t buf[MEMIF_MSG_SIZE + 1];
	int fds[2];
	int i, len, nfds;

	(void)events; /* errors and hang-ups show up as a failed recv */
	/* A few messages per wakeup: the handshake is ping-pong anyway. */
	for (i = 0; i < 8 && ch->in_use; i++) {
		struct memif__conn *c = ch->conn;

		len = memif__os_recv(ch->fdh.fd, buf, sizeof(buf), fds, (int)ARRAY_SIZE(fds),
				     &nfds);
		if (len == -EAGAIN)
			return 0;
		if (len < 0) {
			const char *why = len == -ECONNRESET || len == -EPIPE ?
						  "peer closed the control channel" :
					  len == -EMSGSIZE ? "oversized message or too many fds" :
							     "control channel error";
			if (c) {
				memif__conn_disconnect(c, MEMIF__E(MEMIF_ERR_DISCONNECT), why,
						       len == -EMSGSIZE);
			} else {
				memif__chan_put(ch->fdh.sock, ch);
			}
			return 0;
		}
		if (!on_one(ch, buf, len, fds, nfds))
			return 0;
	}
	return 0;
}

void memif__conn_free(struct memif__conn *c)
{
	struct memif__socket *s = c->sock;

	memif__conn_disconnect(c, MEMIF__E(MEMIF_ERR_DISCONNECT), "interface deleted", true);
	/* Its threads are stopped by now (memif_delete's rule): unmap all. */
	memif__region_reap(c, true);
	memif__sock_detach(s, c);
	memif__free(s, c->irq_fdh);
	memif__free(s, c->rx_ref);
	memif__free(s, c->tx_ref);
	c->magic = 0;
	memif__free(s, c);
}

/* Master: greet a slave that connected. */
static void greet(struct memif__socket *s, struct memif__chan *ch)
{
	memif_msg_t m;
	int err;

	memif__msg_hello(&m, s->app_name);
	err = chan_send(ch, &m, -1);
	if (err) {
		LOG_INFO("%s: cannot greet a new peer: %s", s->path, strerror(-err));
		memif__chan_put(s, ch);
	}
}

/* The socket's listener is readable: a slave connects. */
int memif__conn_on_listener(struct memif__fdh *h, uint32_t events)
{
	struct memif__socket *s = h->ctx;
	struct memif__chan *ch;
	int err;

	(void)events;
	err = memif__sock_accept(s, on_chan, &ch);
	if (err || !ch)
		return err;
	greet(s, ch);
	return 0;
}

/*
 * The socket's timer ticked, or a data-path fault fired it: close channels
 * past their handshake deadline, unmap what no app thread holds any more,
 * end links with a data-path fault, and let idle slaves connect again.
 */
int memif__conn_on_tick(struct memif__fdh *h, uint32_t events)
{
	struct memif__socket *s = h->ctx;
	uint64_t ticks, now;
	uint16_t i;

	(void)events;
	if (read(h->fd, &ticks, sizeof(ticks)) < 0 && errno == EAGAIN)
		return 0;
	now = memif__os_now_ms();
	for (i = 0; i < s->chans_num; i++) {
		struct memif__chan *ch = s->chans[i];

		if (!ch->in_use || now < ch->deadline_ms)
			continue;
		if (ch->conn && ch->conn->state == MEMIF__ST_CONNECTED)
			continue;
		if (ch->conn)
			memif__conn_disconnect(ch->conn, MEMIF__E(MEMIF_ERR_DISCONNECT),
					       "handshake timed out", true);
		else
			memif__chan_put(s, ch);
	}
	for (i = 0; i < s->conns_num; i++) {
		struct memif__conn *c = s->conns[i];

		if (c->delete_pending)
			continue;
		memif__region_reap(c, false);
		memif__conn_check_faults(c);
		if (!c->args.is_master && c->state == MEMIF__ST_IDLE)
			(void)memif__conn_connect(c);
	}
	return 0;
}
