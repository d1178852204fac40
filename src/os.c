/* SPDX-License-Identifier: MIT */
/* os.c - fd hygiene in one place: see os.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>

#include "atomic.h"
#include "os.h"

void memif__os_close(int *fd)
{
	/* Never retried on EINTR: the fd is gone either way on Linux. */
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int seqpacket(void)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	return fd < 0 ? -errno : fd;
}

/* Bound but not yet listening: nobody can connect until memif__os_listen. */
int memif__os_bind(const struct sockaddr_un *sa, socklen_t len)
{
	int fd = seqpacket();
	int err;

	if (fd < 0)
		return fd;
	if (bind(fd, (const struct sockaddr *)sa, len) < 0) {
		err = -errno;
		memif__os_close(&fd);
		return err;
	}
	return fd;
}

int memif__os_listen(int fd, int backlog)
{
	return listen(fd, backlog) < 0 ? -errno : 0;
}

int memif__os_connect(const struct sockaddr_un *sa, socklen_t len)
{
	int fd = seqpacket();
	int err;

	if (fd < 0)
		return fd;
	/* Unix sockets connect at once or fail; EAGAIN means a full backlog. */
	while (connect(fd, (const struct sockaddr *)sa, len) < 0) {
		if (errno == EINTR)
			continue;
		err = -errno;
		memif__os_close(&fd);
		return err;
	}
	return fd;
}

int memif__os_accept(int listen_fd)
{
	int fd;

	do
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

/* 1: a socket, 0: no such file, negative: something else is there. */
int memif__os_is_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return S_ISSOCK(st.st_mode) ? 1 : -ENOTSOCK;
}

int memif__os_send(int fd, const void *buf, size_t len, int fd_to_send)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;
	ssize_t n;

	if (fd_to_send >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd_to_send, sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

/*
 * Receive one datagram and the fds that came with it. On any error every
 * received fd is closed; on success the caller owns *nfds fds. Returns the
 * datagram size, -ECONNRESET on orderly shutdown, -EMSGSIZE on truncation
 * (data or fds beyond max_fds), or -errno.
 */
int memif__os_recv(int fd, void *buf, size_t len, int *fds, int max_fds, int *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;
	int got = 0, err = 0;
	ssize_t n;

	*nfds = 0;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg; cmsg = CMSG_NXTHDR(&mh, cmsg)) {
		size_t cnt, i;

		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) {
			err = -EBADMSG;
			continue;
		}
		cnt = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < cnt; i++) {
			int rfd;

			memcpy(&rfd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
			if (got < max_fds) {
				fds[got++] = rfd;
			} else {
				close(rfd);
				err = -EMSGSIZE;
			}
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		err = -EMSGSIZE;
	if (!err && n == 0 && got == 0)
		err = -ECONNRESET;
	if (err) {
		while (got > 0)
			memif__os_close(&fds[--got]);
		return err;
	}
	*nfds = got;
	return (int)n;
}

int memif__os_peercred(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	*pid = uc.pid;
	*uid = uc.uid;
	*gid = uc.gid;
	return 0;
}

int memif__os_memfd(const char *name, uint64_t size, bool *sealed)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		err = -errno;
		memif__os_close(&fd);
		return err;
	}
	/* The peer maps it: a shrink would turn its accesses into SIGBUS.
	 * Fails only where memfds cannot be sealed at all (some filesystems
	 * behind memfd, seccomp): the caller records that. */
	*sealed = fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) == 0;
	return fd;
}

int memif__os_fd_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < 0)
		return -EINVAL;
	*size = (uint64_t)st.st_size;
	return 0;
}

int memif__os_mmap(int fd, uint64_t size, void **addr)
{
	void *p;

	if (size == 0 || size > (uint64_t)SIZE_MAX)
		return -EINVAL;
	p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

void memif__os_munmap(void **addr, uint64_t size)
{
	if (*addr)
		munmap(*addr, (size_t)size);
	*addr = NULL;
}

int memif__os_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

int memif__os_timerfd(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

int memif__os_timerfd_set(int fd, const struct itimerspec *its)
{
	return timerfd_settime(fd, 0, its, NULL) < 0 ? -errno : 0;
}

int memif__os_epoll(void)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int memif__os_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

uint64_t memif__os_now_ms(void)
{
	return memif__os_now_ns() / 1000000u;
}

/* Monotonic nanoseconds; a vDSO call, no system call: the data path may use it. */
uint64_t memif__os_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * CPU time of the calling thread in nanoseconds. A system call: adaptive
 * receive reads it once every few wake-ups, never while spinning.
 */
uint64_t memif__os_thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Make a peer's memfd impossible to shrink under our mapping (a shrink
 * turns our accesses into SIGBUS). 0 when F_SEAL_SHRINK is on the fd
 * (already, or added now); otherwise -errno: EPERM for a memfd created
 * without MFD_ALLOW_SEALING or already sealed with F_SEAL_SEAL, EINVAL for
 * a file that is no memfd. The caller decides whether to map it anyway
 * (region.c: by default yes, in strict mode no).
 */
int memif__os_seal_shrink(int fd)
{
	if (memif__os_shrink_sealed(fd))
		return 0;
	return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0 ? -errno : 0;
}

/* Does fd carry F_SEAL_SHRINK (nobody can make it smaller)? Changes nothing. */
bool memif__os_shrink_sealed(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	return seals >= 0 && (seals & F_SEAL_SHRINK);
}

/*
 * Is fd an eventfd? A peer could pass a pipe instead, whose write after
 * the reader closes would raise SIGPIPE in our process.
 */
int memif__os_is_eventfd(int fd)
{
	char path[64], target[64];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISDIR(st.st_mode) ||
	    S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode) || S_ISREG(st.st_mode) ||
	    S_ISLNK(st.st_mode))
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return 1; /* no /proc: the type check above is all we have */
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventfd]") == 0;
}

/* ---- the heavy side of memif__fence_light (atomic.h) ---------------------- */

int memif__light_fence_ok;

static void membarrier_init(void)
{
	/* Registered once per process; needs Linux 4.14. Without it the data
	 * path pays a real fence per call instead. */
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
		memif__write_once(&memif__light_fence_ok, 1);
}

void memif__os_fence_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, membarrier_init);
}

void memif__fence_heavy(void)
{
	memif__fence();
	if (memif__read_once(&memif__light_fence_ok) &&
	    syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
		/* Cannot happen once registered; if it did, the light side's
		 * compiler barrier would not be enough: make it a fence for good
		 * and wait for calls that entered before, which the caller does. */
		memif__write_once(&memif__light_fence_ok, 0);
}
