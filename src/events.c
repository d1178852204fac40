/* SPDX-License-Identifier: MIT */
/*
 * events.c - the fd registry and dispatch. Every fd the library wants
 * watched goes through memif__fd_add/memif__fd_del: to the app's
 * on_control_fd_update, or to the socket's own epoll when there is none.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "os.h"
#include "private.h"

void memif__fdh_init(struct memif__fdh *h, struct memif__socket *s, uint8_t kind, void *obj,
		     uint16_t qid)
{
	h->magic = MEMIF__MAGIC_FDH;
	h->kind = kind;
	h->qid = qid;
	h->fd = -1;
	h->sock = s;
	h->obj = obj;
}

static int app_update(struct memif__socket *s, struct memif__fdh *h, int fd, int type)
{
	memif_fd_event_t fde = { .fd = fd, .type = (memif_fd_event_type_t)type, .private_ctx = h };

	return s->fd_update(fde, s->private_ctx);
}

/* Watch `fd` for reading under token h. On failure the fd is closed. */
int memif__fd_add(struct memif__socket *s, struct memif__fdh *h, int fd)
{
	int err = 0;

	if (s->fd_update) {
		if (app_update(s, h, fd, MEMIF_FD_EVENT_READ) != 0)
			err = MEMIF__E(MEMIF_ERR_CB_FDUPDATE);
	} else {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };

		if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
			err = -errno;
	}
	if (err) {
		LOG_ERR("cannot watch fd %d: %s", fd, memif_strerror(memif__err_public(err)));
		memif__os_close(&fd);
		return err;
	}
	h->fd = fd;
	return 0;
}

/* Stop watching h's fd and close it. Idempotent. */
void memif__fd_del(struct memif__socket *s, struct memif__fdh *h)
{
	int fd = h->fd;

	if (fd < 0)
		return;
	if (s->fd_update)
		(void)app_update(s, h, fd, MEMIF_FD_EVENT_DEL);
	else
		(void)epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	memif__os_close(&h->fd);
}

struct memif__fdh *memif__token_get(struct memif__socket *s)
{
	struct memif__fdh *h, **arr;
	uint32_t i;

	for (i = 0; i < s->tokens_num; i++)
		if (!s->tokens[i]->taken)
			goto found;
	arr = memif__realloc(s, s->tokens, sizeof(*arr) * (s->tokens_num + 1u));
	if (!arr)
		return NULL;
	s->tokens = arr;
	h = memif__alloc(s, sizeof(*h));
	if (!h)
		return NULL;
	memif__fdh_init(h, s, 0, NULL, 0);
	s->tokens[s->tokens_num++] = h;
found:
	s->tokens[i]->taken = true;
	return s->tokens[i];
}

void memif__token_put(struct memif__socket *s, struct memif__fdh *h)
{
	memif__fd_del(s, h);
	h->obj = NULL;
	h->taken = false;
}

void memif__tokens_free(struct memif__socket *s)
{
	uint32_t i;

	for (i = 0; i < s->tokens_num; i++) {
		memif__fd_del(s, s->tokens[i]);
		memif__free(s, s->tokens[i]);
	}
	memif__free(s, s->tokens);
	s->tokens = NULL;
	s->tokens_num = 0;
}

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

/*
 * A receive queue's eventfd is readable. Interrupts are level-triggered, as
 * upstream's: the eventfd is left set for on_interrupt, and memif_rx_burst
 * clears it once it leaves the ring empty, so an app that takes only part
 * of a burst per call is called again until it has taken everything. With
 * nobody to take the level (no callback, a polling queue, link down) it is
 * cleared here, or the loop would spin on it.
 */
static int on_irq(struct memif__fdh *h)
{
	struct memif__conn *c = h->obj;

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

int memif__dispatch(struct memif__fdh *h, uint32_t events)
{
	struct memif__socket *s;
	int err = 0;

	if (!h || h->magic != MEMIF__MAGIC_FDH)
		return MEMIF__E(MEMIF_ERR_INVAL_ARG);
	if (h->fd < 0)
		return 0; /* stale event for an fd closed earlier in the batch */
	s = h->sock;
	switch (h->kind) {
	case MEMIF__FD_LISTENER:
		err = memif__sock_on_listener(s);
		break;
	case MEMIF__FD_CHAN:
		err = memif__conn_on_chan(h->obj, events);
		break;
	case MEMIF__FD_TIMER: {
		uint64_t ticks;

		if (read(h->fd, &ticks, sizeof(ticks)) < 0 && errno == EAGAIN)
			break;
		memif__sock_on_timer(s);
		break;
	}
	case MEMIF__FD_IRQ:
		err = on_irq(h);
		break;
	case MEMIF__FD_CANCEL:
		memif__irq_drain(h->fd);
		err = MEMIF__E(MEMIF_ERR_POLL_CANCEL);
		break;
	default:
		err = MEMIF__E(MEMIF_ERR_INVAL_ARG);
	}
	run_deferred_deletes(s);
	return err;
}

int memif__events_init(struct memif__socket *s)
{
	int fd, err;

	if (s->fd_update)
		return 0;
	s->epoll_fd = memif__os_epoll();
	if (s->epoll_fd < 0) {
		err = s->epoll_fd;
		s->epoll_fd = -1;
		return err;
	}
	fd = memif__os_eventfd();
	if (fd < 0) {
		err = fd;
		goto err_close;
	}
	err = memif__fd_add(s, &s->cancel_fdh, fd); /* closes fd on failure */
	if (err)
		goto err_close;
	return 0;

err_close:
	memif__os_close(&s->epoll_fd);
	return err;
}

void memif__events_fini(struct memif__socket *s)
{
	memif__fd_del(s, &s->cancel_fdh);
	memif__os_close(&s->epoll_fd);
}

int memif__poll(struct memif__socket *s, int timeout)
{
	struct epoll_event evs[32];
	int n, i, err = 0;

	do
		n = epoll_wait(s->epoll_fd, evs, (int)ARRAY_SIZE(evs), timeout);
	while (n < 0 && errno == EINTR && timeout < 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		uint32_t e = 0;
		int rc;

		if (evs[i].events & EPOLLIN)
			e |= MEMIF_FD_EVENT_READ;
		if (evs[i].events & EPOLLOUT)
			e |= MEMIF_FD_EVENT_WRITE;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			e |= MEMIF_FD_EVENT_ERROR;
		rc = memif__dispatch(evs[i].data.ptr, e);
		if (rc == MEMIF__E(MEMIF_ERR_POLL_CANCEL))
			err = rc;
	}
	return err;
}
