/* SPDX-License-Identifier: MIT */
/*
 * hostile.c - a memif peer speaking the protocol by hand; see hostile.h.
 */
#include "hostile.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define H_MAX_RECV_FDS 16

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pump_once(const struct h_pump *p)
{
	if (p != NULL && p->fn != NULL) {
		p->fn(p->arg);
	} else {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 1000000 };

		nanosleep(&ts, NULL);
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- raw control channel -------------------------------------------------------- */

static int make_addr(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (path[0] == '@') {
		n = strlen(path + 1);
		if (n == 0 || n + 1 > sizeof(sa->sun_path))
			return -EINVAL;
		memcpy(sa->sun_path + 1, path + 1, n);
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
		return 0;
	}
	n = strlen(path);
	if (n == 0 || n >= sizeof(sa->sun_path))
		return -EINVAL;
	memcpy(sa->sun_path, path, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

int h_listen(const char *path)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd, err;

	err = make_addr(path, &sa, &len);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (path[0] != '@')
		unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 128) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int h_connect(const char *path)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd, err;

	err = make_addr(path, &sa, &len);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		if (errno == EINTR)
			continue;
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Wait until fd is readable (or hung up); false on timeout. */
static bool wait_readable(int fd, int64_t deadline, const struct h_pump *p)
{
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };

		if (poll(&pf, 1, 0) > 0)
			return true;
		if (now_ms() >= deadline)
			return false;
		pump_once(p);
	}
}

int h_accept(int lfd, int timeout_ms, const struct h_pump *p)
{
	int64_t deadline = now_ms() + timeout_ms;
	int fd;

	for (;;) {
		if (!wait_readable(lfd, deadline, p))
			return -ETIMEDOUT;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0)
			return fd;
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			return -errno;
	}
}

int h_send(int fd, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * H_MAX_RECV_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds < 0 || nfds > H_MAX_RECV_FDS)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

int h_send_msg(int fd, const memif_msg_t *m, int sfd)
{
	return h_send(fd, m, sizeof(*m), &sfd, sfd >= 0 ? 1 : 0);
}

int h_recv(int fd, void *buf, size_t len, int *fds, int max_fds, int *nfds, int timeout_ms,
	   const struct h_pump *p)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * H_MAX_RECV_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int64_t deadline = now_ms() + timeout_ms;
	struct cmsghdr *cm;
	int got = 0;
	ssize_t n;

	*nfds = 0;
	for (;;) {
		if (!wait_readable(fd, deadline, p))
			return -ETIMEDOUT;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n >= 0)
			break;
		if (errno == EAGAIN || errno == EINTR)
			continue;
		return errno == ECONNRESET || errno == EPIPE ? -ECONNRESET : -errno;
	}
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t cnt;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < cnt; i++) {
			int rfd;

			memcpy(&rfd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (got < max_fds)
				fds[got++] = rfd;
			else
				close(rfd);
		}
	}
	*nfds = got;
	return (int)n;
}

bool h_wait_eof(int fd, int timeout_ms, const struct h_pump *p)
{
	int64_t deadline = now_ms() + timeout_ms;
	uint8_t buf[256];

	for (;;) {
		int64_t left = deadline - now_ms();
		int nfds, n;

		if (left < 0)
			left = 0;
		n = h_recv(fd, buf, sizeof(buf), NULL, 0, &nfds, (int)left, p);
		if (n == 0 || n == -ECONNRESET)
			return true;
		if (n < 0 && n != -EMSGSIZE)
			return false;
	}
}

/* One 128-byte message of any type, keeping its first fd in *rfd (others closed). */
static int recv_msg(int fd, memif_msg_t *m, int *rfd, int timeout_ms, const struct h_pump *p)
{
	uint8_t buf[MEMIF_MSG_SIZE + 1];
	int fds[H_MAX_RECV_FDS];
	int n, nfds;

	if (rfd != NULL)
		*rfd = -1;
	n = h_recv(fd, buf, sizeof(buf), fds, H_MAX_RECV_FDS, &nfds, timeout_ms, p);
	if (n < 0)
		return n;
	for (int i = 0; i < nfds; i++) {
		if (i == 0 && rfd != NULL && n == MEMIF_MSG_SIZE)
			*rfd = fds[0];
		else
			close(fds[i]);
	}
	if (n == 0 && nfds == 0)
		return -ECONNRESET;
	if (n != MEMIF_MSG_SIZE)
		return -EBADMSG;
	memcpy(m, buf, sizeof(*m));
	return 0;
}

int h_expect(int fd, uint16_t type, memif_msg_t *m, int *rfd, int timeout_ms,
	     const struct h_pump *p)
{
	int err = recv_msg(fd, m, rfd, timeout_ms, p);

	if (err)
		return err;
	if (m->type != type) {
		if (rfd != NULL)
			close_fd(rfd);
		return -EPROTO;
	}
	return 0;
}

int h_expect_refusal(int fd, char *reason, size_t len, int timeout_ms, const struct h_pump *p)
{
	int64_t deadline = now_ms() + timeout_ms;
	bool seen = false;

	if (reason != NULL && len > 0)
		reason[0] = '\0';
	for (;;) {
		int64_t left = deadline - now_ms();
		uint8_t buf[MEMIF_MSG_SIZE + 1];
		int n, nfds;

		n = h_recv(fd, buf, sizeof(buf), NULL, 0, &nfds, left > 0 ? (int)left : 0, p);
		if (n == 0 || n == -ECONNRESET)
			return seen ? 1 : 0;
		if (n == -ETIMEDOUT)
			return -ETIMEDOUT;
		if (n < 0)
			return seen ? 1 : 0;
		if (n == MEMIF_MSG_SIZE && buf[0] == MEMIF_MSG_TYPE_DISCONNECT && buf[1] == 0) {
			char r[MEMIF_DISCONNECT_STRING_LEN + 1];

			h_get_name(r, buf + 2 + offsetof(memif_msg_disconnect_t, string),
				   MEMIF_DISCONNECT_STRING_LEN);
			if (!seen && reason != NULL && len > 0)
				snprintf(reason, len, "%s", r);
			seen = true;
		}
	}
}

/* ---- messages ------------------------------------------------------------------------- */

static void put_name(uint8_t *dst, size_t n, const char *src)
{
	size_t l = src != NULL ? strnlen(src, n) : 0;

	memset(dst, 0, n);
	if (l > 0)
		memcpy(dst, src, l);
}

void h_get_name(char *dst, const uint8_t *src, size_t n)
{
	size_t l = strnlen((const char *)src, n);

	memcpy(dst, src, l);
	dst[l] = '\0';
}

void h_msg_raw(memif_msg_t *m, uint16_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
}

void h_msg_ack(memif_msg_t *m)
{
	h_msg_raw(m, MEMIF_MSG_TYPE_ACK);
}

void h_msg_hello(memif_msg_t *m, const char *name, uint16_t min_version, uint16_t max_version,
		 uint16_t max_region, uint16_t max_m2s, uint16_t max_s2m, uint8_t max_log2)
{
	h_msg_raw(m, MEMIF_MSG_TYPE_HELLO);
	put_name(m->hello.name, sizeof(m->hello.name), name);
	m->hello.min_version = min_version;
	m->hello.max_version = max_version;
	m->hello.max_region = max_region;
	m->hello.max_m2s_ring = max_m2s;
	m->hello.max_s2m_ring = max_s2m;
	m->hello.max_log2_ring_size = max_log2;
}

void h_msg_hello_std(memif_msg_t *m, const char *name)
{
	h_msg_hello(m, name, MEMIF_VERSION, MEMIF_VERSION, 255, 255, 255, 14);
}

void h_msg_init(memif_msg_t *m, uint16_t version, uint32_t id, uint8_t mode, const char *secret,
		const char *name)
{
	h_msg_raw(m, MEMIF_MSG_TYPE_INIT);
	m->init.version = version;
	m->init.id = id;
	m->init.mode = mode;
	put_name(m->init.secret, sizeof(m->init.secret), secret);
	put_name(m->init.name, sizeof(m->init.name), name);
}

void h_msg_add_region(memif_msg_t *m, uint16_t index, uint64_t size)
{
	h_msg_raw(m, MEMIF_MSG_TYPE_ADD_REGION);
	m->add_region.index = index;
	m->add_region.size = size;
}

void h_msg_add_ring(memif_msg_t *m, bool s2m, uint16_t index, uint16_t region, uint32_t offset,
		    uint8_t log2)
{
	h_msg_raw(m, MEMIF_MSG_TYPE_ADD_RING);
	m->add_ring.flags = s2m ? MEMIF_MSG_ADD_RING_FLAG_S2M : 0;
	m->add_ring.index = index;
	m->add_ring.region = region;
	m->add_ring.offset = offset;
	m->add_ring.log2_ring_size = log2;
}

void h_msg_connect(memif_msg_t *m, bool connected, const char *if_name)
{
	h_msg_raw(m, connected ? MEMIF_MSG_TYPE_CONNECTED : MEMIF_MSG_TYPE_CONNECT);
	put_name(m->connect.if_name, sizeof(m->connect.if_name), if_name);
}

void h_msg_disconnect(memif_msg_t *m, uint32_t code, const char *reason)
{
	h_msg_raw(m, MEMIF_MSG_TYPE_DISCONNECT);
	m->disconnect.code = code;
	put_name(m->disconnect.string, sizeof(m->disconnect.string), reason);
}

/* ---- memory ------------------------------------------------------------------------------ */

int h_memfd_named(const char *name, uint64_t size, enum h_mem kind)
{
	unsigned flags = MFD_CLOEXEC | (kind == H_MEM_UNSEALABLE ? 0 : MFD_ALLOW_SEALING);
	int fd = memfd_create(name, flags);
	int err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    (kind == H_MEM_SEALED && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int h_memfd_kind(uint64_t size, enum h_mem kind)
{
	return h_memfd_named("hostile", size, kind);
}

int h_memfd(uint64_t size, bool seal)
{
	return h_memfd_kind(size, seal ? H_MEM_SEALED : H_MEM_SEALABLE);
}

int h_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

uint64_t h_ring_bytes(uint8_t log2)
{
	return sizeof(memif_ring_t) + ((uint64_t)sizeof(memif_desc_t) << log2);
}

uint16_t h_load_acquire16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

void h_store_release16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static int map_fd(int fd, uint64_t size, void **addr)
{
	void *a = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (a == MAP_FAILED)
		return -errno;
	*addr = a;
	return 0;
}

/* ---- hostile slave ------------------------------------------------------------------------ */

static uint16_t slave_nrings(const struct h_slave *s)
{
	return (uint16_t)(s->n_s2m + s->n_m2s);
}

int h_slave_init(struct h_slave *s, uint16_t n_s2m, uint16_t n_m2s, uint8_t log2, uint32_t buf_size,
		 enum h_mem mem)
{
	uint64_t rb = h_ring_bytes(log2);
	int err;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	for (int i = 0; i < 2; i++)
		s->region_fd[i] = -1;
	for (int i = 0; i < 2 * H_MAX_RINGS; i++)
		s->irq_fd[i] = -1;
	if (n_s2m == 0 || n_m2s == 0 || n_s2m > H_MAX_RINGS || n_m2s > H_MAX_RINGS)
		return -EINVAL;
	s->log2 = log2;
	s->ring_size = 1u << log2;
	s->buf_size = buf_size;
	s->n_s2m = n_s2m;
	s->n_m2s = n_m2s;
	s->region_size[0] = rb * slave_nrings(s);
	s->region_size[1] = (uint64_t)slave_nrings(s) * s->ring_size * buf_size;
	for (int i = 0; i < 2; i++) {
		s->region_fd[i] = h_memfd_kind(s->region_size[i], mem);
		if (s->region_fd[i] < 0) {
			err = s->region_fd[i];
			s->region_fd[i] = -1;
			goto err;
		}
		err = map_fd(s->region_fd[i], s->region_size[i], &s->region[i]);
		if (err)
			goto err;
	}
	for (uint16_t r = 0; r < slave_nrings(s); r++) {
		s->ring_off[r] = (uint32_t)(rb * r);
		s->ring[r] = (memif_ring_t *)((uint8_t *)s->region[0] + s->ring_off[r]);
		memset(s->ring[r], 0, (size_t)rb);
		s->ring[r]->cookie = MEMIF_COOKIE;
		s->irq_fd[r] = h_eventfd();
		if (s->irq_fd[r] < 0) {
			err = s->irq_fd[r];
			s->irq_fd[r] = -1;
			goto err;
		}
	}
	return 0;
err:
	h_slave_fini(s);
	return err;
}

void h_slave_close(struct h_slave *s)
{
	close_fd(&s->fd);
	s->stage = 0;
}

void h_slave_fini(struct h_slave *s)
{
	h_slave_close(s);
	for (int i = 0; i < 2; i++) {
		if (s->region[i] != NULL)
			munmap(s->region[i], (size_t)s->region_size[i]);
		s->region[i] = NULL;
		close_fd(&s->region_fd[i]);
	}
	for (int i = 0; i < 2 * H_MAX_RINGS; i++) {
		close_fd(&s->irq_fd[i]);
		s->ring[i] = NULL;
	}
}

static uint16_t slave_ring_idx(const struct h_slave *s, bool s2m, uint16_t i)
{
	return s2m ? i : (uint16_t)(s->n_s2m + i);
}

memif_ring_t *h_slave_ring(struct h_slave *s, bool s2m, uint16_t i)
{
	return s->ring[slave_ring_idx(s, s2m, i)];
}

uint32_t h_slave_buf_off(const struct h_slave *s, bool s2m, uint16_t i, uint32_t slot)
{
	uint32_t r = slave_ring_idx(s, s2m, i);

	return (r * s->ring_size + (slot & (s->ring_size - 1))) * s->buf_size;
}

void *h_slave_buf(struct h_slave *s, bool s2m, uint16_t i, uint32_t slot)
{
	return (uint8_t *)s->region[1] + h_slave_buf_off(s, s2m, i, slot);
}

/* Send m (with fd) and wait for the ACK. */
static int send_acked(struct h_slave *s, const memif_msg_t *m, int fd, int64_t deadline,
		      const struct h_pump *p)
{
	int64_t left;
	int err = h_send_msg(s->fd, m, fd);

	if (err)
		return err;
	left = deadline - now_ms();
	return h_expect(s->fd, MEMIF_MSG_TYPE_ACK, &s->last, NULL, left > 0 ? (int)left : 0, p);
}

static int left_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left > 0 ? (int)left : 0;
}

int h_slave_handshake(struct h_slave *s, uint32_t id, const char *secret, enum h_slave_stage stage,
		      int timeout_ms, const struct h_pump *p)
{
	int64_t deadline = now_ms() + timeout_ms;
	memif_msg_t m;
	int err;

	if (s->stage < H_SL_HELLO) {
		err = h_expect(s->fd, MEMIF_MSG_TYPE_HELLO, &s->last, NULL, timeout_ms, p);
		if (err)
			return err;
		h_get_name(s->peer_name, s->last.hello.name, MEMIF_NAME_LEN);
		s->stage = H_SL_HELLO;
	}
	if ((int)stage <= s->stage)
		return 0;

	if (s->stage < H_SL_INIT) {
		h_msg_init(&m, MEMIF_VERSION, id, MEMIF_INTERFACE_MODE_ETHERNET, secret,
			   "hostile-slave");
		err = send_acked(s, &m, -1, deadline, p);
		if (err)
			return err;
		s->stage = H_SL_INIT;
	}
	if ((int)stage <= s->stage)
		return 0;

	if (s->stage < H_SL_REGIONS) {
		for (uint16_t i = 0; i < 2; i++) {
			h_msg_add_region(&m, i, s->region_size[i]);
			err = send_acked(s, &m, s->region_fd[i], deadline, p);
			if (err)
				return err;
		}
		s->stage = H_SL_REGIONS;
	}
	if ((int)stage <= s->stage)
		return 0;

	if (s->stage < H_SL_RINGS) {
		for (uint16_t r = 0; r < slave_nrings(s); r++) {
			bool s2m = r < s->n_s2m;

			h_msg_add_ring(&m, s2m, s2m ? r : (uint16_t)(r - s->n_s2m), 0,
				       s->ring_off[r], s->log2);
			err = send_acked(s, &m, s->irq_fd[r], deadline, p);
			if (err)
				return err;
		}
		s->stage = H_SL_RINGS;
	}
	if ((int)stage <= s->stage)
		return 0;

	h_msg_connect(&m, false, "hostile-if");
	err = h_send_msg(s->fd, &m, -1);
	if (err)
		return err;
	err = h_expect(s->fd, MEMIF_MSG_TYPE_CONNECTED, &s->last, NULL, left_ms(deadline), p);
	if (err)
		return err;
	s->stage = H_SL_CONNECTED;
	return 0;
}

/* ---- hostile master --------------------------------------------------------------------------- */

int h_master_init(struct h_master *m, const char *path)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	for (int i = 0; i < H_MAX_REGIONS; i++)
		m->region_fd[i] = -1;
	m->lfd = h_listen(path);
	return m->lfd < 0 ? m->lfd : 0;
}

void h_master_close(struct h_master *m)
{
	close_fd(&m->fd);
	m->stage = 0;
	for (int i = 0; i < m->n_rings; i++) {
		close_fd(&m->rings[i].irq_fd);
		m->rings[i].ring = NULL;
	}
	m->n_rings = 0;
	for (int i = 0; i < m->n_regions; i++) {
		if (m->region[i] != NULL)
			munmap(m->region[i], (size_t)m->region_size[i]);
		m->region[i] = NULL;
		close_fd(&m->region_fd[i]);
	}
	m->n_regions = 0;
}

void h_master_fini(struct h_master *m)
{
	h_master_close(m);
	close_fd(&m->lfd);
}

void *h_master_mem(struct h_master *m, uint16_t region, uint32_t offset, uint32_t len)
{
	if (region >= m->n_regions || (uint64_t)offset + len > m->region_size[region])
		return NULL;
	return (uint8_t *)m->region[region] + offset;
}

struct h_master_ring *h_master_ring(struct h_master *m, bool s2m, uint16_t index)
{
	for (int i = 0; i < m->n_rings; i++) {
		if (m->rings[i].s2m == s2m && m->rings[i].index == index)
			return &m->rings[i];
	}
	return NULL;
}

static int master_ack(struct h_master *m)
{
	memif_msg_t a;

	h_msg_ack(&a);
	return h_send_msg(m->fd, &a, -1);
}

/* After the ACK of INIT: take regions and rings (ACK each) until CONNECT. */
static int master_setup(struct h_master *m, int64_t deadline, const struct h_pump *p)
{
	int err;

	for (;;) {
		int fd = -1;

		err = recv_msg(m->fd, &m->last, &fd, left_ms(deadline), p);
		if (err)
			return err;
		if (m->last.type == MEMIF_MSG_TYPE_CONNECT) {
			close_fd(&fd);
			h_get_name(m->peer_if, m->last.connect.if_name, MEMIF_NAME_LEN);
			return 0;
		}
		if (m->last.type == MEMIF_MSG_TYPE_ADD_REGION) {
			uint16_t i = m->n_regions;

			if (i >= H_MAX_REGIONS || m->last.add_region.index != i || fd < 0) {
				close_fd(&fd);
				return -EPROTO;
			}
			m->region_fd[i] = fd;
			m->region_size[i] = m->last.add_region.size;
			m->n_regions++;
			err = map_fd(fd, m->region_size[i], &m->region[i]);
			if (err)
				return err;
		} else if (m->last.type == MEMIF_MSG_TYPE_ADD_RING) {
			const memif_msg_add_ring_t *ar = &m->last.add_ring;
			struct h_master_ring *r;

			if (m->n_rings >= 2 * H_MAX_RINGS || fd < 0) {
				close_fd(&fd);
				return -EPROTO;
			}
			r = &m->rings[m->n_rings++];
			r->s2m = (ar->flags & MEMIF_MSG_ADD_RING_FLAG_S2M) != 0;
			r->index = ar->index;
			r->region = ar->region;
			r->offset = ar->offset;
			r->log2 = ar->log2_ring_size;
			r->irq_fd = fd;
			r->ring = h_master_mem(m, ar->region, ar->offset,
					       (uint32_t)h_ring_bytes(ar->log2_ring_size));
			if (r->ring == NULL)
				return -EPROTO;
		} else {
			close_fd(&fd);
			return -EPROTO;
		}
		err = master_ack(m);
		if (err)
			return err;
	}
}

int h_master_handshake(struct h_master *m, const memif_msg_t *hello, enum h_master_stage stage,
		       int timeout_ms, const struct h_pump *p)
{
	int64_t deadline = now_ms() + timeout_ms;
	memif_msg_t msg;
	int err;

	if (m->fd < 0) {
		m->stage = 0;
		m->fd = h_accept(m->lfd, timeout_ms, p);
		if (m->fd < 0) {
			err = m->fd;
			m->fd = -1;
			return err;
		}
		m->stage = H_MA_ACCEPT;
	}
	if ((int)stage <= m->stage)
		return 0;
	if (m->stage < H_MA_HELLO) {
		if (hello == NULL) {
			h_msg_hello_std(&msg, "hostile-master");
			hello = &msg;
		}
		err = h_send_msg(m->fd, hello, -1);
		if (err)
			return err;
		m->stage = H_MA_HELLO;
	}
	if ((int)stage <= m->stage)
		return 0;
	if (m->stage < H_MA_INIT) {
		err = h_expect(m->fd, MEMIF_MSG_TYPE_INIT, &m->last, NULL, left_ms(deadline), p);
		if (err)
			return err;
		m->init = m->last.init;
		m->stage = H_MA_INIT;
	}
	if ((int)stage <= m->stage)
		return 0;
	if (m->stage < H_MA_CONNECT) {
		err = master_ack(m);
		if (err)
			return err;
		err = master_setup(m, deadline, p);
		if (err)
			return err;
		m->stage = H_MA_CONNECT;
	}
	if ((int)stage <= m->stage)
		return 0;
	err = h_master_finish(m);
	if (err)
		return err;
	m->stage = H_MA_CONNECTED;
	return 0;
}

int h_master_finish(struct h_master *m)
{
	memif_msg_t msg;

	h_msg_connect(&msg, true, "hostile-master-if");
	return h_send_msg(m->fd, &msg, -1);
}
