/* SPDX-License-Identifier: MIT */
/*
 * os.h - every fd-creating or fd-moving syscall. CLOEXEC and NONBLOCK at
 * creation, EINTR loops on I/O only, negative errno on failure. Knows
 * nothing of memif.
 */
#ifndef MEMIF_OS_H
#define MEMIF_OS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

struct itimerspec;

void memif__os_close(int *fd);

int memif__os_bind(const struct sockaddr_un *sa, socklen_t len);
int memif__os_listen(int fd, int backlog);
int memif__os_connect(const struct sockaddr_un *sa, socklen_t len);
int memif__os_accept(int listen_fd);
int memif__os_is_socket(const char *path);
int memif__os_send(int fd, const void *buf, size_t len, int fd_to_send);
int memif__os_recv(int fd, void *buf, size_t len, int *fds, int max_fds, int *nfds);
int memif__os_peercred(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid);

/* A memfd of `size` bytes; *sealed: F_SEAL_SHRINK could be added to it. fd or -errno. */
int memif__os_memfd(const char *name, uint64_t size, bool *sealed);
int memif__os_fd_size(int fd, uint64_t *size);
int memif__os_mmap(int fd, uint64_t size, void **addr);
void memif__os_munmap(void **addr, uint64_t size);

int memif__os_eventfd(void);
int memif__os_timerfd(void);
int memif__os_timerfd_set(int fd, const struct itimerspec *its);
int memif__os_epoll(void);
int memif__os_set_nonblock(int fd);
int memif__os_seal_shrink(int fd);
bool memif__os_shrink_sealed(int fd);
int memif__os_is_eventfd(int fd);

uint64_t memif__os_now_ms(void);
uint64_t memif__os_now_ns(void);
uint64_t memif__os_thread_cpu_ns(void);

/* Once per process, before any data path runs: see memif__fence_light. */
void memif__os_fence_init(void);

#endif
