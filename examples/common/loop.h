/* SPDX-License-Identifier: MIT */
/*
 * loop.h - a small epoll loop for the example programs.
 *
 * The loop owns one epoll fd and one signalfd (SIGINT, SIGTERM). Two kinds
 * of fd live in it:
 *   - fds the application adds itself (stdin, a TAP device, a timerfd) with
 *     ex_loop_add(), each with its own callback;
 *   - fds libmemif asks to have watched. ex_loop_memif_fd_update() is an
 *     on_control_fd_update implementation: give it as the socket's
 *     on_control_fd_update with the loop as the socket's private_ctx, and
 *     the loop hands each ready fd's token back to memif_control_fd_handler.
 *
 * Events carry the fd and a generation number, so an fd removed (or
 * removed and reused) by a callback earlier in the same epoll batch never
 * reaches a stale handler.
 *
 * Single-threaded: the loop, and every fd in it, belongs to the thread that
 * runs ex_loop_run_once().
 */
#ifndef EX_LOOP_H
#define EX_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmemif.h>

struct ex_loop;

/* Callback of an application fd: `events` are EPOLL* bits. */
typedef void(ex_fd_cb)(struct ex_loop *loop, int fd, uint32_t events, void *arg);

struct ex_loop_entry;

struct ex_loop {
	int epoll_fd;
	int signal_fd;
	bool stop;            /* set by a signal or ex_loop_stop() */
	int signal;           /* the signal that stopped the loop, or 0 */
	bool verbose;         /* print errors returned by memif_control_fd_handler */
	struct ex_loop_entry *fds; /* indexed by fd */
	size_t nfds;
	uint64_t memif_errors; /* memif_control_fd_handler calls that failed */
};

/*
 * Create the epoll fd and a signalfd for SIGINT and SIGTERM (both blocked in
 * the calling thread; threads created afterwards inherit the mask). Returns 0
 * or -errno.
 */
int ex_loop_init(struct ex_loop *loop);

/* Close the loop's fds (not the application's). */
void ex_loop_close(struct ex_loop *loop);

/*
 * Watch an application fd for `events` (EPOLLIN, EPOLLOUT...). Returns 0 or
 * -errno (-EPERM for fds epoll cannot watch, such as regular files and
 * /dev/null).
 */
int ex_loop_add(struct ex_loop *loop, int fd, uint32_t events, ex_fd_cb *cb, void *arg);

/* Stop watching an application fd. It is not closed. */
int ex_loop_del(struct ex_loop *loop, int fd);

/*
 * on_control_fd_update for memif_socket_args_t; `private_ctx` must be the
 * struct ex_loop (the socket's private_ctx).
 */
int ex_loop_memif_fd_update(memif_fd_event_t fde, void *private_ctx);

/*
 * Take an fd that libmemif handed to the loop out of epoll without telling
 * the library, so another thread can wait on it (memif-mt gives each worker
 * its queue's interrupt eventfd this way). Later MOD requests for it are
 * remembered but not armed; DEL forgets it.
 */
int ex_loop_memif_fd_detach(struct ex_loop *loop, int fd);

/*
 * Wait up to timeout_ms (-1: forever, 0: poll) and dispatch what is ready.
 * Returns the number of events handled, or -errno on a fatal epoll error.
 * A caught signal sets loop->stop and loop->signal.
 */
int ex_loop_run_once(struct ex_loop *loop, int timeout_ms);

/* Make the application's loop condition false: sets loop->stop. */
void ex_loop_stop(struct ex_loop *loop);

/* Monotonic time in nanoseconds. */
uint64_t ex_now_ns(void);

/* Milliseconds from now until `deadline_ns` (0 if passed, capped at cap_ms). */
int ex_ms_until(uint64_t deadline_ns, int cap_ms);

#endif /* EX_LOOP_H */
