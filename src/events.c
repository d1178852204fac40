/* SPDX-License-Identifier: MIT */
/*
 * events.c - the fd registry and dispatch. Every fd the library wants
 * watched goes through memif__fd_add/memif__fd_del: to the app's
 * on_control_fd_update, or to the socket's own epoll when there is none.
 * What an fd is for is its owner's business: each token carries the
 * handler its owner gave (libuv's uv__io_t habit), and dispatch calls it.
 */
#include <errno.h>
#include <sys/epoll.h>

#include "os.h"
#include "private.h"

void memif__fdh_init(struct memif__fdh *h, struct memif__socket *s, memif__fd_handler_t *handler,
		     void *ctx, uint16_t qid)
{
	h->magic = MEMIF__MAGIC_FDH;
	h->qid = qid;
	h->fd = -1;
	h->sock = s;
	h->handler = handler;
	h->ctx = ctx;
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
	memif__fdh_init(h, s, NULL, NULL, 0);
	s->tokens[s->tokens_num++] = h;
found:
	s->tokens[i]->taken = true;
	return s->tokens[i];
}

void memif__token_put(struct memif__socket *s, struct memif__fdh *h)
{
	memif__fd_del(s, h);
	h->ctx = NULL;
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

/*
 * An event on a token's fd: run the handler its owner gave. h is a token
 * (api.c looked). The caller runs the interface deletes that the handler's
 * callbacks asked for once it returns (api.c: run_deferred_deletes).
 */
int memif__dispatch(struct memif__fdh *h, uint32_t events)
{
	if (h->fd < 0)
		return 0; /* stale event for an fd closed earlier in the batch */
	if (!h->handler)
		return MEMIF__E(MEMIF_ERR_INVAL_ARG);
	return h->handler(h, events);
}

/* memif_cancel_poll_event kicked the socket's cancel eventfd. */
static int on_cancel(struct memif__fdh *h, uint32_t events)
{
	(void)events;
	memif__irq_drain(h->fd);
	return MEMIF__E(MEMIF_ERR_POLL_CANCEL);
}

int memif__events_init(struct memif__socket *s)
{
	int fd, err;

	memif__fdh_init(&s->cancel_fdh, s, on_cancel, s, 0);
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

/* Wait on the socket's own epoll: up to max ready fds into evs. Count or -errno. */
int memif__poll_wait(struct memif__socket *s, int timeout, struct memif__event *evs, int max)
{
	struct epoll_event ev[32];
	int n, i;

	do
		n = epoll_wait(s->epoll_fd, ev, MEMIF_MIN(max, (int)ARRAY_SIZE(ev)), timeout);
	while (n < 0 && errno == EINTR && timeout < 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		uint32_t e = 0;

		if (ev[i].events & EPOLLIN)
			e |= MEMIF_FD_EVENT_READ;
		if (ev[i].events & EPOLLOUT)
			e |= MEMIF_FD_EVENT_WRITE;
		if (ev[i].events & (EPOLLERR | EPOLLHUP))
			e |= MEMIF_FD_EVENT_ERROR;
		evs[i].h = ev[i].data.ptr;
		evs[i].events = e;
	}
	return n;
}
