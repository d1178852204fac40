/* SPDX-License-Identifier: MIT */
/*
 * loop.c - the examples' epoll loop; see loop.h.
 */
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

enum slot_kind {
	SLOT_FREE = 0,
	SLOT_SIGNAL,          /* the loop's own signalfd */
	SLOT_APP,             /* application fd with a callback */
	SLOT_MEMIF,           /* libmemif fd, armed in epoll */
	SLOT_MEMIF_DETACHED,  /* libmemif fd the app took out of epoll */
};

struct ex_loop_entry {
	uint32_t gen;      /* bumped on every (de)registration */
	enum slot_kind kind;
	uint32_t events;   /* EPOLL* bits armed */
	ex_fd_cb *cb;
	void *arg;
	void *token;       /* libmemif's private_ctx of the fd */
};

#define MAX_EVENTS 64

static uint64_t pack(int fd, uint32_t gen)
{
	return ((uint64_t)gen << 32) | (uint32_t)fd;
}

/* The slot of `fd`, growing the table as needed; NULL on ENOMEM. */
static struct ex_loop_entry *slot(struct ex_loop *loop, int fd)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= loop->nfds) {
		size_t n = loop->nfds ? loop->nfds : 64;
		while (n <= (size_t)fd)
			n *= 2;
		struct ex_loop_entry *p = realloc(loop->fds, n * sizeof(*p));
		if (!p)
			return NULL;
		memset(p + loop->nfds, 0, (n - loop->nfds) * sizeof(*p));
		loop->fds = p;
		loop->nfds = n;
	}
	return &loop->fds[fd];
}

/* The slot of a registered fd, or NULL. */
static struct ex_loop_entry *find(struct ex_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nfds || loop->fds[fd].kind == SLOT_FREE)
		return NULL;
	return &loop->fds[fd];
}

static int arm(struct ex_loop *loop, int op, int fd, struct ex_loop_entry *e)
{
	struct epoll_event ev = { .events = e->events, .data.u64 = pack(fd, e->gen) };
	if (epoll_ctl(loop->epoll_fd, op, fd, &ev) < 0)
		return -errno;
	return 0;
}

static void release(struct ex_loop_entry *e)
{
	uint32_t gen = e->gen + 1;
	memset(e, 0, sizeof(*e));
	e->gen = gen;
}

int ex_loop_init(struct ex_loop *loop)
{
	sigset_t mask;
	int err;

	memset(loop, 0, sizeof(*loop));
	loop->signal_fd = -1;
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll_fd < 0)
		return -errno;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	/* Blocked here so they arrive only through the signalfd. */
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		err = -errno;
		goto err_close_epoll;
	}
	loop->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (loop->signal_fd < 0) {
		err = -errno;
		goto err_close_epoll;
	}
	struct ex_loop_entry *e = slot(loop, loop->signal_fd);
	if (!e) {
		err = -ENOMEM;
		goto err_close_signal;
	}
	e->gen++;
	e->kind = SLOT_SIGNAL;
	e->events = EPOLLIN;
	err = arm(loop, EPOLL_CTL_ADD, loop->signal_fd, e);
	if (err < 0)
		goto err_close_signal;
	return 0;

err_close_signal:
	close(loop->signal_fd);
	loop->signal_fd = -1;
err_close_epoll:
	close(loop->epoll_fd);
	loop->epoll_fd = -1;
	free(loop->fds);
	loop->fds = NULL;
	loop->nfds = 0;
	return err;
}

void ex_loop_close(struct ex_loop *loop)
{
	if (loop->signal_fd >= 0)
		close(loop->signal_fd);
	if (loop->epoll_fd >= 0)
		close(loop->epoll_fd);
	loop->signal_fd = -1;
	loop->epoll_fd = -1;
	free(loop->fds);
	loop->fds = NULL;
	loop->nfds = 0;
}

int ex_loop_add(struct ex_loop *loop, int fd, uint32_t events, ex_fd_cb *cb, void *arg)
{
	if (find(loop, fd))
		return -EEXIST;
	struct ex_loop_entry *e = slot(loop, fd);
	if (!e)
		return fd < 0 ? -EBADF : -ENOMEM;
	e->gen++;
	e->kind = SLOT_APP;
	e->events = events;
	e->cb = cb;
	e->arg = arg;
	int err = arm(loop, EPOLL_CTL_ADD, fd, e);
	if (err < 0)
		release(e);
	return err;
}

int ex_loop_del(struct ex_loop *loop, int fd)
{
	struct ex_loop_entry *e = find(loop, fd);
	if (!e || e->kind != SLOT_APP)
		return -ENOENT;
	int err = 0;
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL) < 0)
		err = -errno;
	release(e);
	return err;
}

static uint32_t memif_to_epoll(memif_fd_event_type_t type)
{
	uint32_t events = 0;
	if (type & MEMIF_FD_EVENT_READ)
		events |= EPOLLIN;
	if (type & MEMIF_FD_EVENT_WRITE)
		events |= EPOLLOUT;
	/* Errors and hangups are always reported; make sure something is armed. */
	return events ? events : EPOLLIN;
}

int ex_loop_memif_fd_update(memif_fd_event_t fde, void *private_ctx)
{
	struct ex_loop *loop = private_ctx;
	struct ex_loop_entry *e;

	if (!loop || fde.fd < 0)
		return -1;

	if (fde.type & MEMIF_FD_EVENT_DEL) {
		e = find(loop, fde.fd);
		if (!e)
			return 0; /* never watched: nothing to undo */
		if (e->kind == SLOT_MEMIF)
			epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fde.fd, NULL);
		release(e);
		return 0;
	}

	e = find(loop, fde.fd);
	if (e && e->kind != SLOT_MEMIF && e->kind != SLOT_MEMIF_DETACHED) {
		fprintf(stderr, "loop: libmemif asked to watch fd %d, which the application uses\n",
			fde.fd);
		return -1;
	}

	if (e && (fde.type & MEMIF_FD_EVENT_MOD)) {
		e->events = memif_to_epoll(fde.type);
		e->token = fde.private_ctx;
		if (e->kind == SLOT_MEMIF_DETACHED)
			return 0;
		int err = arm(loop, EPOLL_CTL_MOD, fde.fd, e);
		if (err == -ENOENT)
			err = arm(loop, EPOLL_CTL_ADD, fde.fd, e);
		return err < 0 ? -1 : 0;
	}

	if (e) {
		/*
		 * A second ADD of an fd we know: the library closed and reused
		 * the number without a DEL, or it re-registers. Either way it
		 * is a fresh registration and the newest token wins. A closed
		 * fd has left epoll by itself, hence the fallback to ADD.
		 */
		e->gen++;
		e->kind = SLOT_MEMIF;
		e->events = memif_to_epoll(fde.type);
		e->token = fde.private_ctx;
		int err = arm(loop, EPOLL_CTL_MOD, fde.fd, e);
		if (err == -ENOENT)
			err = arm(loop, EPOLL_CTL_ADD, fde.fd, e);
		return err < 0 ? -1 : 0;
	}

	e = slot(loop, fde.fd);
	if (!e)
		return -1;
	e->gen++;
	e->kind = SLOT_MEMIF;
	e->events = memif_to_epoll(fde.type);
	e->token = fde.private_ctx;
	int err = arm(loop, EPOLL_CTL_ADD, fde.fd, e);
	if (err < 0) {
		fprintf(stderr, "loop: cannot watch fd %d: %s\n", fde.fd, strerror(-err));
		release(e);
		return -1;
	}
	return 0;
}

int ex_loop_memif_fd_detach(struct ex_loop *loop, int fd)
{
	struct ex_loop_entry *e = find(loop, fd);
	if (!e || (e->kind != SLOT_MEMIF && e->kind != SLOT_MEMIF_DETACHED))
		return -ENOENT;
	if (e->kind == SLOT_MEMIF)
		epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	e->kind = SLOT_MEMIF_DETACHED;
	e->gen++; /* events still queued in this batch are now stale */
	return 0;
}

static void handle_signal(struct ex_loop *loop)
{
	struct signalfd_siginfo si;
	ssize_t n;

	while ((n = read(loop->signal_fd, &si, sizeof(si))) == (ssize_t)sizeof(si)) {
		loop->stop = true;
		loop->signal = (int)si.ssi_signo;
	}
}

int ex_loop_run_once(struct ex_loop *loop, int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int n;

	do {
		n = epoll_wait(loop->epoll_fd, evs, MAX_EVENTS, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		uint32_t events = evs[i].events;
		struct ex_loop_entry *e = find(loop, fd);

		/* Removed or replaced by an earlier callback of this batch. */
		if (!e || e->gen != gen)
			continue;

		/*
		 * Copy what the callback needs: callbacks may add fds and so
		 * move the table.
		 */
		switch (e->kind) {
		case SLOT_SIGNAL:
			handle_signal(loop);
			break;
		case SLOT_APP: {
			ex_fd_cb *cb = e->cb;
			void *arg = e->arg;
			cb(loop, fd, events, arg);
			break;
		}
		case SLOT_MEMIF: {
			void *token = e->token;
			uint32_t type = 0;
			if (events & EPOLLIN)
				type |= MEMIF_FD_EVENT_READ;
			if (events & EPOLLOUT)
				type |= MEMIF_FD_EVENT_WRITE;
			if (events & (EPOLLERR | EPOLLHUP))
				type |= MEMIF_FD_EVENT_ERROR;
			int err = memif_control_fd_handler(token, (memif_fd_event_type_t)type);
			if (err != MEMIF_ERR_SUCCESS) {
				/* Informative only: the library already acted on it. */
				loop->memif_errors++;
				if (loop->verbose)
					fprintf(stderr, "loop: fd %d: %s\n", fd, memif_strerror(err));
			}
			break;
		}
		default:
			break;
		}
	}
	return n;
}

void ex_loop_stop(struct ex_loop *loop)
{
	loop->stop = true;
}

uint64_t ex_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int ex_ms_until(uint64_t deadline_ns, int cap_ms)
{
	uint64_t now = ex_now_ns();
	if (deadline_ns <= now)
		return 0;
	uint64_t ms = (deadline_ns - now + 999999u) / 1000000u;
	if (cap_ms >= 0 && ms > (uint64_t)cap_ms)
		return cap_ms;
	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}
