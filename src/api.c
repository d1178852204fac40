/* SPDX-License-Identifier: MIT */
/*
 * api.c - public entry points of the control plane: argument checks,
 * handle lookup, and the one mapping of internal errors to MEMIF_ERR_*.
 * The data-path calls live in tx.c, rx.c and requeue.c (the packet path).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "os.h"
#include "private.h"

static struct memif__socket *sock_of(memif_socket_handle_t h)
{
	struct memif__socket *s = h;

	return s && s->magic == MEMIF__MAGIC_SOCK ? s : NULL;
}

static struct memif__conn *conn_of(memif_conn_handle_t h)
{
	struct memif__conn *c = h;

	return c && c->magic == MEMIF__MAGIC_CONN && !c->delete_pending ? c : NULL;
}

MEMIF_EXPORT uint16_t memif_get_version(void)
{
	return MEMIF_VERSION;
}

MEMIF_EXPORT const char *memif_get_version_str(void)
{
	return "2.0";
}

static int arm_timer(struct memif__socket *s)
{
	struct itimerspec its = s->timer;
	int err;

	if (!its.it_value.tv_sec && !its.it_value.tv_nsec && !its.it_interval.tv_sec &&
	    !its.it_interval.tv_nsec) {
		/* Ours retries by default; see memif_socket_args_t. */
		its.it_value.tv_sec = 2;
		its.it_interval.tv_sec = 2;
	}
	if (!its.it_interval.tv_sec && !its.it_interval.tv_nsec)
		its.it_interval = its.it_value;
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value = its.it_interval;
	s->tick = its.it_interval;
	err = memif__os_timerfd_set(s->timer_fdh.fd, &its);
	/* A value the kernel refuses (tv_nsec out of range, a negative time)
	 * is SYSCALL, as upstream, which passes the timer to the kernel as is. */
	return err == -EINVAL ? MEMIF__E(MEMIF_ERR_SYSCALL) : err;
}

static void sock_free(struct memif__socket *s)
{
	uint16_t i;

	for (i = 0; i < s->chans_num; i++) {
		if (s->chans[i]->in_use)
			memif__chan_put(s, s->chans[i]);
		memif__free(s, s->chans[i]);
	}
	memif__free(s, s->chans);
	memif__free(s, s->conns);
	memif__tokens_free(s);
	memif__sock_stop_listen(s);
	memif__fd_del(s, &s->timer_fdh);
	memif__events_fini(s);
	s->magic = 0;
	memif__free(s, s);
}

static int sock_new(struct memif__socket **out, const memif_socket_args_t *args, void *ctx)
{
	struct memif__socket *s;
	char path[sizeof(args->path)];
	size_t plen = strnlen(args->path, sizeof(args->path));
	int fd, err;

	if (plen == sizeof(args->path) || (args->path[0] == '@' && plen < 2))
		return MEMIF__E(MEMIF_ERR_INVAL_ARG);
	memcpy(path, args->path, plen + 1);
	if (plen == 0 && args->path[1] != '\0') {
		/* "\0name" is abstract too, as upstream's header documents: kept
		 * as "@name", the one spelling the rest of the library knows. */
		plen = strnlen(args->path + 1, sizeof(args->path) - 1);
		if (plen == sizeof(args->path) - 1)
			return MEMIF__E(MEMIF_ERR_INVAL_ARG);
		path[0] = '@';
		memcpy(path + 1, args->path + 1, plen + 1);
		plen++;
	}
	/* All three allocator hooks or none: a partial set would mix heaps. */
	if ((args->alloc || args->realloc || args->free) &&
	    !(args->alloc && args->realloc && args->free))
		return MEMIF__E(MEMIF_ERR_INVAL_ARG);
	s = args->alloc ? args->alloc(sizeof(*s)) : malloc(sizeof(*s));
	if (!s)
		return MEMIF__E(MEMIF_ERR_NOMEM);
	memset(s, 0, sizeof(*s));
	s->magic = MEMIF__MAGIC_SOCK;
	s->alloc = args->alloc;
	s->realloc = args->realloc;
	s->free = args->free;
	memcpy(s->path, plen ? path : MEMIF_DEFAULT_SOCKET_PATH,
	       plen ? plen : strlen(MEMIF_DEFAULT_SOCKET_PATH));
	memif__msg_get_name(s->app_name, (const uint8_t *)args->app_name, sizeof(args->app_name));
	if (!s->app_name[0])
		strcpy(s->app_name, MEMIF_DEFAULT_APP_NAME);
	s->timer = args->connection_request_timer;
	s->fd_update = args->on_control_fd_update;
	s->private_ctx = ctx;
	s->epoll_fd = -1;
	/* The connections' owner handles what arrives on these (conn.c). */
	memif__fdh_init(&s->listener, s, memif__conn_on_listener, s, 0);
	memif__fdh_init(&s->timer_fdh, s, memif__conn_on_tick, s, 0);

	memif__os_fence_init();
	err = memif__events_init(s);
	if (err)
		goto err_free;
	fd = memif__os_timerfd();
	if (fd < 0) {
		err = fd;
		goto err_free;
	}
	err = memif__fd_add(s, &s->timer_fdh, fd);
	if (err)
		goto err_free;
	err = arm_timer(s);
	if (err)
		goto err_free;
	*out = s;
	return 0;

err_free:
	sock_free(s);
	return err;
}

MEMIF_EXPORT int memif_create_socket(memif_socket_handle_t *sock, memif_socket_args_t *args,
				     void *private_ctx)
{
	struct memif__socket *s = NULL;
	int err;

	if (!sock || !args)
		return MEMIF_ERR_INVAL_ARG;
	err = sock_new(&s, args, private_ctx);
	if (err)
		return memif__err_public(err);
	*sock = s;
	return MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT int memif_delete_socket(memif_socket_handle_t *sock)
{
	struct memif__socket *s;

	if (!sock || !(s = sock_of(*sock)))
		return MEMIF_ERR_INVAL_ARG;
	if (s->conns_num > 0)
		return MEMIF_ERR_INVAL_ARG;
	sock_free(s);
	*sock = NULL;
	return MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT memif_socket_handle_t memif_get_socket_handle(memif_conn_handle_t conn)
{
	struct memif__conn *c = conn_of(conn);

	return c ? c->sock : NULL;
}

MEMIF_EXPORT const char *memif_get_socket_path(memif_socket_handle_t sock)
{
	struct memif__socket *s = sock_of(sock);

	return s ? s->path : NULL;
}

MEMIF_EXPORT int memif_get_listener_fd(memif_socket_handle_t sock)
{
	struct memif__socket *s = sock_of(sock);

	return s ? s->listener.fd : -1;
}

MEMIF_EXPORT int memif_set_listener_fd(memif_socket_handle_t sock, int fd)
{
	struct memif__socket *s = sock_of(sock);
	int err;

	if (!s || fd < 0 || s->listener.fd >= 0)
		return MEMIF_ERR_INVAL_ARG;
	err = memif__os_set_nonblock(fd);
	if (err) {
		memif__os_close(&fd);
		return memif__err_public(err);
	}
	err = memif__fd_add(s, &s->listener, fd); /* closes fd on failure */
	if (err)
		return memif__err_public(err);
	s->listener_external = true;
	return MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT int memif_set_connection_request_timer(memif_socket_handle_t sock,
						    struct itimerspec timer)
{
	struct memif__socket *s = sock_of(sock);
	struct itimerspec old;
	struct timespec old_tick;
	int err;

	if (!s)
		return MEMIF_ERR_INVAL_ARG;
	old = s->timer;
	old_tick = s->tick;
	s->timer = timer;
	err = arm_timer(s);
	if (err) {
		/* The kernel kept the old setting: so do we. */
		s->timer = old;
		s->tick = old_tick;
	}
	return memif__err_public(err);
}

MEMIF_EXPORT int memif_set_socket_file_perms(memif_socket_handle_t sock, mode_t mode, uid_t uid,
					     gid_t gid)
{
	struct memif__socket *s = sock_of(sock);

	if (!s || (mode & ~(mode_t)07777))
		return MEMIF_ERR_INVAL_ARG;
	s->perms_set = true;
	s->file_mode = mode;
	s->file_uid = uid;
	s->file_gid = gid;
	return MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT int memif_set_socket_buffer_laps(memif_socket_handle_t sock, uint8_t laps)
{
	struct memif__socket *s = sock_of(sock);

	if (!s || (laps != 0 && laps != 1 && laps != 2 && laps != 4 && laps != 8))
		return MEMIF_ERR_INVAL_ARG;
	s->buffer_laps = laps;
	return MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT int memif_set_socket_require_sealed(memif_socket_handle_t sock, uint8_t require)
{
	struct memif__socket *s = sock_of(sock);

	if (!s)
		return MEMIF_ERR_INVAL_ARG;
	s->require_sealed = require != 0;
	return MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT void memif_register_external_region(memif_socket_handle_t sock,
						 memif_add_external_region_t *ar,
						 memif_get_external_region_addr_t *gr,
						 memif_del_external_region_t *dr,
						 memif_get_external_buffer_offset_t *go)
{
	struct memif__socket *s = sock_of(sock);

	if (!s)
		return;
	s->ext_add = ar;
	s->ext_get = gr;
	s->ext_del = dr;
	s->ext_offset = go;
}

/* The socket used when memif_conn_args_t.socket is NULL. */
static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static struct memif__socket *default_sock;

static int get_default_socket(struct memif__socket **out)
{
	memif_socket_args_t args;
	int err = 0;

	pthread_mutex_lock(&default_lock);
	if (!default_sock) {
		memset(&args, 0, sizeof(args));
		err = sock_new(&default_sock, &args, NULL);
		if (!err)
			default_sock->is_default = true;
	}
	*out = default_sock;
	pthread_mutex_unlock(&default_lock);
	return err;
}

static void put_default_socket(struct memif__socket *s)
{
	if (!s->is_default)
		return;
	pthread_mutex_lock(&default_lock);
	if (s->conns_num == 0 && default_sock == s) {
		sock_free(s);
		default_sock = NULL;
	}
	pthread_mutex_unlock(&default_lock);
}

static int check_conn_args(const memif_conn_args_t *a)
{
	if (a->log2_ring_size > MEMIF__MAX_LOG2_RING)
		return MEMIF__E(MEMIF_ERR_MAX_RING);
	if ((unsigned)a->mode > MEMIF_INTERFACE_MODE_PUNT_INJECT)
		return MEMIF__E(MEMIF_ERR_INVAL_ARG);
	return 0;
}

MEMIF_EXPORT int memif_create(memif_conn_handle_t *conn, memif_conn_args_t *args,
			      memif_connection_update_t *on_connect,
			      memif_connection_update_t *on_disconnect,
			      memif_on_interrupt_t *on_interrupt, void *private_ctx)
{
	struct memif__socket *s;
	struct memif__conn *c;
	int err;

	if (!conn || !args)
		return MEMIF_ERR_INVAL_ARG;
	err = check_conn_args(args);
	if (err)
		return memif__err_public(err);
	if (args->socket) {
		s = sock_of(args->socket);
		if (!s)
			return MEMIF_ERR_INVAL_ARG;
	} else {
		err = get_default_socket(&s);
		if (err)
			return memif__err_public(err);
	}
	c = memif__alloc(s, sizeof(*c));
	if (!c) {
		err = MEMIF__E(MEMIF_ERR_NOMEM);
		goto err_sock;
	}
	memset(c, 0, sizeof(*c));
	c->magic = MEMIF__MAGIC_CONN;
	c->sock = s;
	c->args = *args;
	c->args.socket = s;
	if (!c->args.num_s2m_rings)
		c->args.num_s2m_rings = 1;
	if (!c->args.num_m2s_rings)
		c->args.num_m2s_rings = 1;
	if (!c->args.buffer_size)
		c->args.buffer_size = MEMIF__DEFAULT_BUFFER_SIZE;
	if (!c->args.log2_ring_size)
		c->args.log2_ring_size = MEMIF__DEFAULT_LOG2_RING;
	c->args.is_master = args->is_master ? 1 : 0;
	memif__msg_get_name(c->if_name, args->interface_name, sizeof(args->interface_name));
	/* As upstream: the caller's args show the defaults taken (apps size
	 * their buffer arrays from them after memif_create). */
	args->num_s2m_rings = c->args.num_s2m_rings;
	args->num_m2s_rings = c->args.num_m2s_rings;
	args->buffer_size = c->args.buffer_size;
	args->log2_ring_size = c->args.log2_ring_size;
	c->on_connect = on_connect;
	c->on_disconnect = on_disconnect;
	c->on_interrupt = on_interrupt;
	c->private_ctx = private_ctx;
	c->irq_fdh = memif__alloc(s, sizeof(*c->irq_fdh) * MEMIF__MAX_QUEUES);
	if (c->irq_fdh)
		memset(c->irq_fdh, 0, sizeof(*c->irq_fdh) * MEMIF__MAX_QUEUES);
	c->rx_ref = memif__alloc(s, sizeof(*c->rx_ref) * MEMIF__MAX_QUEUES);
	c->tx_ref = memif__alloc(s, sizeof(*c->tx_ref) * MEMIF__MAX_QUEUES);
	if (!c->irq_fdh || !c->rx_ref || !c->tx_ref) {
		err = MEMIF__E(MEMIF_ERR_NOMEM);
		goto err_free;
	}
	memset(c->rx_ref, 0, sizeof(*c->rx_ref) * MEMIF__MAX_QUEUES);
	memset(c->tx_ref, 0, sizeof(*c->tx_ref) * MEMIF__MAX_QUEUES);

	err = memif__sock_attach(s, c);
	if (err)
		goto err_free;
	if (!c->args.is_master)
		(void)memif__conn_connect(c); /* failures are retried on the timer */
	*conn = c;
	return MEMIF_ERR_SUCCESS;

err_free:
	memif__free(s, c->irq_fdh);
	memif__free(s, c->rx_ref);
	memif__free(s, c->tx_ref);
	memif__free(s, c);
err_sock:
	put_default_socket(s);
	return memif__err_public(err);
}

MEMIF_EXPORT int memif_delete(memif_conn_handle_t *conn)
{
	struct memif__conn *c;
	struct memif__socket *s;

	if (!conn)
		return MEMIF_ERR_INVAL_ARG;
	if (!*conn)
		return MEMIF_ERR_NOCONN; /* upstream's code for an absent handle */
	if (((struct memif__conn *)*conn)->magic == MEMIF__MAGIC_CONN &&
	    ((struct memif__conn *)*conn)->delete_pending) {
		*conn = NULL;
		return MEMIF_ERR_SUCCESS;
	}
	c = conn_of(*conn);
	if (!c)
		return MEMIF_ERR_INVAL_ARG;
	*conn = NULL;
	if (c->cb_depth > 0) {
		/* Inside one of its own callbacks: freed when the handler unwinds. */
		c->delete_pending = true;
		memif__write_once(&c->link_up, false);
		return MEMIF_ERR_SUCCESS;
	}
	if (!c->ever_up && c->on_disconnect) {
		/* As upstream, whose memif_delete always calls it: programs free
		 * per-interface state there. Only for an interface that never
		 * came up, so that no interface gets two in a row. */
		c->cb_depth++;
		(void)c->on_disconnect(c, c->private_ctx);
		c->cb_depth--;
	}
	s = c->sock;
	c->delete_pending = true;
	memif__conn_free(c);
	put_default_socket(s);
	return MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT int memif_request_connection(memif_conn_handle_t conn)
{
	struct memif__conn *c = conn_of(conn);

	if (!conn)
		return MEMIF_ERR_NOCONN;
	if (!c)
		return MEMIF_ERR_INVAL_ARG;
	/* Upstream's codes, which its programs branch on: ALRCONN for an
	 * interface connected or connecting, in either role; nothing to do for
	 * a master that waits (it listens already). */
	if (c->chan || c->state != MEMIF__ST_IDLE)
		return MEMIF_ERR_ALRCONN;
	if (c->args.is_master)
		return MEMIF_ERR_SUCCESS;
	return memif__err_public(memif__conn_connect(c));
}

/*
 * memif_delete from inside a callback only marks the interface (its caller
 * still uses it): free the marked ones once the fd event's handler unwound.
 */
static void run_deferred_deletes(struct memif__socket *s)
{
	uint16_t i = 0;

	while (i < s->conns_num) {
		struct memif__conn *c = s->conns[i];

		if (c->delete_pending && c->cb_depth == 0) {
			memif__conn_free(c);
			continue; /* the array shifted */
		}
		i++;
	}
}

/* One fd event: its owner's handler (events.c), then the deletes it left. */
static int on_event(void *token, uint32_t events)
{
	struct memif__fdh *h = token;
	int err;

	if (!h || h->magic != MEMIF__MAGIC_FDH)
		return MEMIF__E(MEMIF_ERR_INVAL_ARG);
	err = memif__dispatch(h, events);
	run_deferred_deletes(h->sock);
	return err;
}

MEMIF_EXPORT int memif_control_fd_handler(void *ptr, memif_fd_event_type_t events)
{
	return memif__err_public(on_event(ptr, (uint32_t)events));
}

MEMIF_EXPORT int memif_poll_event(memif_socket_handle_t sock, int timeout)
{
	struct memif__socket *s = sock_of(sock);
	struct memif__event evs[32];
	int n, i, err = 0;

	if (!s)
		return MEMIF_ERR_INVAL_ARG;
	if (s->fd_update)
		return MEMIF_ERR_BAD_FD; /* upstream's code: the socket has no epoll fd */
	n = memif__poll_wait(s, timeout, evs, (int)ARRAY_SIZE(evs));
	if (n < 0)
		return memif__err_public(n);
	for (i = 0; i < n; i++) {
		/* Each event's deletes before the next event: a later event of
		 * the batch may belong to an interface deleted by an earlier one. */
		int rc = on_event(evs[i].h, evs[i].events);

		if (rc == MEMIF__E(MEMIF_ERR_POLL_CANCEL))
			err = rc;
	}
	return memif__err_public(err);
}

MEMIF_EXPORT int memif_cancel_poll_event(memif_socket_handle_t sock)
{
	struct memif__socket *s = sock_of(sock);

	if (!s || s->fd_update || s->cancel_fdh.fd < 0)
		return MEMIF_ERR_INVAL_ARG;
	memif__irq_kick(s->cancel_fdh.fd);
	return MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT int memif_get_queue_efd(memif_conn_handle_t conn, uint16_t qid, int *fd)
{
	struct memif__conn *c = conn_of(conn);

	if (fd)
		*fd = -1;
	if (!conn)
		return MEMIF_ERR_NOCONN;
	if (!c || !fd)
		return MEMIF_ERR_INVAL_ARG;
	if (!c->link_up)
		return MEMIF_ERR_DISCONNECTED;
	if (qid >= c->rxq_num)
		return MEMIF_ERR_QID;
	*fd = c->rxq[qid].int_fd;
	return MEMIF_ERR_SUCCESS;
}

/* Queues of one direction as configured (the slave's counts may be clamped). */
static unsigned stats_queues_configured(const struct memif__conn *c, bool rx)
{
	bool s2m = rx == (c->args.is_master != 0);

	return s2m ? c->args.num_s2m_rings : c->args.num_m2s_rings;
}

/* Queues of one direction: as connected, or as configured while down. */
static unsigned stats_queues(const struct memif__conn *c, bool rx)
{
	if (c->link_up)
		return rx ? c->rxq_num : c->txq_num;
	return stats_queues_configured(c, rx);
}

MEMIF_EXPORT int memif_set_rx_mode(memif_conn_handle_t conn, memif_rx_mode_t rx_mode, uint16_t qid)
{
	struct memif__conn *c = conn_of(conn);

	if (!conn)
		return MEMIF_ERR_NOCONN;
	if (!c || (rx_mode != MEMIF_RX_MODE_INTERRUPT && rx_mode != MEMIF_RX_MODE_POLLING &&
		   rx_mode != MEMIF_RX_MODE_ADAPTIVE))
		return MEMIF_ERR_INVAL_ARG;
	/* While the link is down the mode is kept for the queues as configured,
	 * so an app can choose polling before any interrupt can arrive. */
	if (qid >= stats_queues(c, true))
		return MEMIF_ERR_QID;
	c->rx_mode[qid] = (uint8_t)rx_mode;
	if (!c->link_up)
		return MEMIF_ERR_SUCCESS;
	return memif__err_public(memif__queue_set_mode(&c->rxq[qid], c->rx_mode[qid]));
}

MEMIF_EXPORT int memif_get_queue_stats(memif_conn_handle_t conn, uint16_t qid, uint8_t is_rx,
				       memif_queue_stats_t *stats)
{
	struct memif__conn *c = conn_of(conn);
	const memif_queue_stats_t *st;

	if (!c || !stats)
		return MEMIF_ERR_INVAL_ARG;
	/* Any thread: only what a connect cannot change under us is read here
	 * (the configured counts, the last published ones, atomically). */
	if (qid >= MEMIF_MAX(stats_queues_configured(c, is_rx),
			     memif__read_once(is_rx ? &c->rx_pub_num : &c->tx_pub_num)))
		return MEMIF_ERR_QID;
	st = is_rx ? &c->rx_ref[qid].st : &c->tx_ref[qid].st;
	/* Relaxed loads: the queue's own thread may be updating them. */
	stats->packets = memif__read_once(&st->packets);
	stats->bytes = memif__read_once(&st->bytes);
	stats->no_buf = memif__read_once(&st->no_buf);
	return MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT int memif_get_peer_credentials(memif_conn_handle_t conn, memif_peer_cred_t *cred)
{
	struct memif__conn *c = conn_of(conn);

	if (!c || !cred)
		return MEMIF_ERR_INVAL_ARG;
	if (!c->link_up)
		return MEMIF_ERR_NOCONN;
	*cred = c->peer;
	return MEMIF_ERR_SUCCESS;
}

static int ring_details(memif_conn_handle_t conn, memif_ring_details_t *rd, uint16_t qid,
			uint16_t ndesc, bool rx)
{
	struct memif__conn *c = conn_of(conn);
	struct memif__queue *q;
	uint16_t i, n;

	if (!c || !rd)
		return MEMIF_ERR_INVAL_ARG;
	if (!c->link_up)
		return MEMIF_ERR_NOCONN;
	if (qid >= (rx ? c->rxq_num : c->txq_num))
		return MEMIF_ERR_QID;
	q = rx ? &c->rxq[qid] : &c->txq[qid];
	rd->head = memif__load_acquire(&q->ring->head);
	rd->tail = memif__load_acquire(&q->ring->tail);
	rd->flags = memif__read_once(&q->ring->flags);
	rd->offset = q->ring;
	n = (uint16_t)MEMIF_MIN((uint32_t)ndesc, q->ring_size);
	for (i = 0; i < n; i++) {
		memif_desc_t d = q->ring->desc[i];

		rd->descs[i].flags = d.flags;
		rd->descs[i].region = d.region;
		rd->descs[i].length = d.length;
		rd->descs[i].offset = d.offset;
		rd->descs[i].metadata = d.metadata;
	}
	rd->ndesc = n;
	return MEMIF_ERR_SUCCESS;
}

MEMIF_EXPORT int memif_get_tx_ring_details(memif_conn_handle_t conn, memif_ring_details_t *rd,
					   uint16_t qid, uint16_t ndesc)
{
	return ring_details(conn, rd, qid, ndesc, false);
}

MEMIF_EXPORT int memif_get_rx_ring_details(memif_conn_handle_t conn, memif_ring_details_t *rd,
					   uint16_t qid, uint16_t ndesc)
{
	return ring_details(conn, rd, qid, ndesc, true);
}
