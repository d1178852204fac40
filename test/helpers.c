/* SPDX-License-Identifier: MIT */
/*
 * helpers.c - shared helpers of the libmemif test programs; see helpers.h.
 */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- time ------------------------------------------------------------- */

int64_t t_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t t_deadline(int ms)
{
	return t_now_ms() + ms;
}

void t_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ---- temp dir and socket paths ----------------------------------------- */

static char tmpdir[64];

const char *t_tmpdir(void)
{
	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/memif-it.XXXXXX");
		if (mkdtemp(tmpdir) == NULL) {
			tmpdir[0] = '\0';
			ck_abort_msg("mkdtemp: %s", strerror(errno));
		}
	}
	return tmpdir;
}

void t_tmpdir_remove(void)
{
	DIR *d;
	struct dirent *e;
	char p[PATH_MAX];

	if (tmpdir[0] == '\0')
		return;
	d = opendir(tmpdir);
	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(tmpdir);
	tmpdir[0] = '\0';
}

void t_sock_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s.sock", t_tmpdir(), name);

	ck_assert_msg(n > 0 && (size_t)n < len, "socket path too long");
}

void t_abstract_path(char *buf, size_t len, const char *name)
{
	static unsigned counter;
	unsigned r = (unsigned)t_now_ms() ^ ((unsigned)getpid() << 12);
	int n = snprintf(buf, len, "@memif-it-%d-%u-%x-%s", (int)getpid(), counter++, r, name);

	ck_assert_msg(n > 0 && (size_t)n < len, "abstract name too long");
}

bool t_unix_addr_listed(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "re");
	char line[512];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *nl = strchr(line, '\n');
		char *last;

		if (nl != NULL)
			*nl = '\0';
		/* The path is the 8th column; it may be absent. */
		last = strrchr(line, ' ');
		if (last == NULL)
			continue;
		last++;
		if (strcmp(last, path) == 0)
			found = true;
	}
	fclose(f);
	return found;
}

/* ---- fd accounting and the Check fixture -------------------------------- */

bool t_fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

int t_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n - 1; /* the directory's own fd */
}

void t_fd_dump(char *buf, size_t len)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t used = 0;

	buf[0] = '\0';
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char p[300], target[256];
		ssize_t n;
		int w;

		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		n = readlink(p, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		w = snprintf(buf + used, len - used, "%s->%s ", e->d_name, target);
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
	closedir(d);
}

static int fixture_fds = -1;
static char fixture_fd_list[2048];

void t_fixture_setup(void)
{
	t_tmpdir_remove();
	t_tmpdir();
	fixture_fds = t_fd_count();
	t_fd_dump(fixture_fd_list, sizeof(fixture_fd_list));
	ck_assert_int_ge(fixture_fds, 0);
}

void t_fixture_teardown(void)
{
	int now = t_fd_count();
	char list[2048];

	t_tmpdir_remove();
	if (now != fixture_fds) {
		t_fd_dump(list, sizeof(list));
		ck_abort_msg("fd leak: %d fds open before the test, %d after\nbefore: %s\nafter:  %s",
			     fixture_fds, now, fixture_fd_list, list);
	}
}

TCase *t_tcase(const char *name, double timeout_s)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, t_fixture_setup, t_fixture_teardown);
	tcase_set_timeout(tc, timeout_s);
	return tc;
}

int t_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

/* ---- event loop -------------------------------------------------------- */

int t_loop_init(struct t_loop *l)
{
	memset(l, 0, sizeof(*l));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	return 0;
}

void t_loop_fini(struct t_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

static struct t_loop_ent *loop_find(struct t_loop *l, int fd)
{
	for (int i = 0; i < T_LOOP_MAX_FDS; i++) {
		if (l->ent[i].used && l->ent[i].fd == fd)
			return &l->ent[i];
	}
	return NULL;
}

bool t_loop_watches(const struct t_loop *l, int fd)
{
	return loop_find((struct t_loop *)l, fd) != NULL;
}

static uint32_t epoll_events_of(memif_fd_event_type_t type)
{
	uint32_t ev = 0;

	if (type & MEMIF_FD_EVENT_READ)
		ev |= EPOLLIN;
	if (type & MEMIF_FD_EVENT_WRITE)
		ev |= EPOLLOUT;
	if (ev == 0)
		ev = EPOLLIN;
	return ev;
}

static int loop_ctl(struct t_loop *l, struct t_loop_ent *e, int op)
{
	struct epoll_event ev = {
		.events = e->events,
		.data.u64 = ((uint64_t)e->gen << 32) | (uint64_t)(e - l->ent),
	};

	return epoll_ctl(l->epfd, op, e->fd, &ev);
}

int t_loop_fd_update(memif_fd_event_t fde, void *private_ctx)
{
	struct t_loop *l = private_ctx;
	struct t_loop_ent *e;

	if (l == NULL || fde.fd < 0) {
		if (l != NULL)
			l->update_errors++;
		return -1;
	}
	e = loop_find(l, fde.fd);

	if (fde.type & MEMIF_FD_EVENT_DEL) {
		l->n_del++;
		if (e != NULL) {
			/* The fd may already be closed: EBADF/ENOENT are fine. */
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, fde.fd, NULL);
			e->used = false;
			l->nfds--;
		}
		return 0;
	}

	if (fde.type & MEMIF_FD_EVENT_MOD)
		l->n_mod++;
	else
		l->n_add++;

	if (e != NULL) {
		/* Known fd (MOD, or a reused number): update in place. */
		e->events = epoll_events_of(fde.type);
		e->ctx = fde.private_ctx;
		e->gen = ++l->gen;
		if (loop_ctl(l, e, EPOLL_CTL_MOD) == 0)
			return 0;
		if (errno == ENOENT && loop_ctl(l, e, EPOLL_CTL_ADD) == 0)
			return 0;
		l->update_errors++;
		return -1;
	}

	for (int i = 0; i < T_LOOP_MAX_FDS; i++) {
		if (!l->ent[i].used) {
			e = &l->ent[i];
			break;
		}
	}
	if (e == NULL) {
		l->update_errors++;
		return -1;
	}
	e->fd = fde.fd;
	e->ctx = fde.private_ctx;
	e->events = epoll_events_of(fde.type);
	e->gen = ++l->gen;
	if (loop_ctl(l, e, EPOLL_CTL_ADD) != 0) {
		if (errno != EEXIST || loop_ctl(l, e, EPOLL_CTL_MOD) != 0) {
			l->update_errors++;
			return -1;
		}
	}
	e->used = true;
	l->nfds++;
	return 0;
}

static int loop_run(struct t_loop *l, int timeout_ms, int max)
{
	struct epoll_event evs[32];
	int n, handled = 0;

	do {
		n = epoll_wait(l->epfd, evs, max, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	for (int i = 0; i < n; i++) {
		uint32_t idx = (uint32_t)(evs[i].data.u64 & 0xffffffffu);
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		struct t_loop_ent *e;
		int events = 0, rc;

		if (idx >= T_LOOP_MAX_FDS)
			continue;
		e = &l->ent[idx];
		/* An earlier handler of this batch may have removed or replaced it. */
		if (!e->used || e->gen != gen)
			continue;
		if (evs[i].events & EPOLLIN)
			events |= MEMIF_FD_EVENT_READ;
		if (evs[i].events & EPOLLOUT)
			events |= MEMIF_FD_EVENT_WRITE;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			events |= MEMIF_FD_EVENT_ERROR;
		l->n_dispatch++;
		rc = memif_control_fd_handler(e->ctx, (memif_fd_event_type_t)events);
		if (rc != MEMIF_ERR_SUCCESS) {
			l->n_handler_err++;
			l->last_handler_err = rc;
		}
		handled++;
	}
	return handled;
}

int t_loop_run_once(struct t_loop *l, int timeout_ms)
{
	return loop_run(l, timeout_ms, 32);
}

int t_loop_run_one(struct t_loop *l, int timeout_ms)
{
	return loop_run(l, timeout_ms, 1);
}

bool t_loop_step(struct t_loop *l, int64_t deadline)
{
	int64_t left = deadline - t_now_ms();

	if (left <= 0)
		return false;
	t_loop_run_once(l, left < 10 ? (int)left : 10);
	return true;
}

bool t_loop_run_until(struct t_loop *l, bool (*pred)(void *), void *arg, int timeout_ms)
{
	int64_t deadline = t_deadline(timeout_ms);

	while (!pred(arg)) {
		if (!t_loop_step(l, deadline))
			return pred(arg);
	}
	return true;
}

void t_loop_run_for(struct t_loop *l, int ms)
{
	int64_t deadline = t_deadline(ms);

	while (t_loop_step(l, deadline))
		;
}

/* ---- frames -------------------------------------------------------------- */

uint8_t t_frame_byte(uint32_t seq, uint32_t len, uint32_t off)
{
	if (off < 4)
		return (uint8_t)(seq >> (8 * off));
	if (off < 8)
		return (uint8_t)(len >> (8 * (off - 4)));
	return (uint8_t)(seq * 131u + off * 7u + (off >> 8) * 3u + 0x5a);
}

void t_frame_fill_part(void *buf, uint32_t off, uint32_t n, uint32_t len, uint32_t seq)
{
	uint8_t *p = buf;

	for (uint32_t i = 0; i < n; i++)
		p[i] = t_frame_byte(seq, len, off + i);
}

void t_frame_fill(void *buf, uint32_t len, uint32_t seq)
{
	t_frame_fill_part(buf, 0, len, len, seq);
}

uint32_t t_frame_seq(const void *buf)
{
	const uint8_t *p = buf;

	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t t_frame_len(const void *buf)
{
	return t_frame_seq((const uint8_t *)buf + 4);
}

bool t_frame_verify(const void *buf, uint32_t len, uint32_t seq)
{
	const uint8_t *p = buf;

	if (len < 8)
		return false;
	for (uint32_t i = 0; i < len; i++) {
		if (p[i] != t_frame_byte(seq, len, i))
			return false;
	}
	return true;
}

uint32_t t_frame_fill_bufs(memif_buffer_t *bufs, uint16_t n, uint32_t seq0, uint32_t want_len,
			   uint32_t *bad_len)
{
	uint32_t packets = 0;
	uint16_t i = 0;

	while (i < n) {
		uint16_t j = i;
		uint32_t total = 0, off = 0;

		for (;;) {
			total += bufs[j].len;
			if (!(bufs[j].flags & MEMIF_BUFFER_FLAG_NEXT) || j + 1 == n)
				break;
			j++;
		}
		if ((want_len != 0 && total != want_len) ||
		    (bufs[j].flags & MEMIF_BUFFER_FLAG_NEXT)) {
			if (bad_len != NULL)
				(*bad_len)++;
		}
		for (uint16_t k = i; k <= j; k++) {
			t_frame_fill_part(bufs[k].data, off, bufs[k].len, total, seq0 + packets);
			off += bufs[k].len;
		}
		packets++;
		i = (uint16_t)(j + 1);
	}
	return packets;
}

/* ---- transmit / receive helpers ------------------------------------------ */

uint32_t t_tx_frames(memif_conn_handle_t conn, uint16_t qid, struct t_txq *q, uint32_t n,
		     uint32_t size, uint16_t burst)
{
	memif_buffer_t bufs[T_BURST_BUFS];
	uint32_t cap = q->buf_capacity != 0 ? q->buf_capacity : 2048;
	uint32_t per = (size + cap - 1) / cap + 1; /* +1: slack for headroom */
	uint32_t max_pk = T_BURST_BUFS / per;
	uint32_t sent = 0;

	while (sent < n) {
		uint32_t want = n - sent;
		uint16_t got = 0, tx = 0;
		uint32_t pk, pk_sent = 0;
		int err;

		if (want > burst)
			want = burst;
		if (want > max_pk)
			want = max_pk;
		err = memif_buffer_alloc(conn, qid, bufs, (uint16_t)want, &got, (uint16_t)size);
		if (err == MEMIF_ERR_NOBUF_RING) {
			q->nobuf++;
		} else if (err != MEMIF_ERR_SUCCESS) {
			q->last_err = err;
			break;
		}
		if (got == 0)
			break;
		pk = t_frame_fill_bufs(bufs, got, q->next_seq, size, &q->bad_alloc_len);
		err = memif_tx_burst(conn, qid, bufs, got, &tx);
		if (err != MEMIF_ERR_SUCCESS)
			q->last_err = err;
		if (tx != got)
			q->partial_tx++;
		for (uint16_t i = 0; i < tx && i < got; i++) {
			q->bytes += bufs[i].len;
			if (!(bufs[i].flags & MEMIF_BUFFER_FLAG_NEXT))
				pk_sent++;
		}
		q->buffers += tx;
		q->packets += pk_sent;
		q->next_seq += pk_sent;
		sent += pk_sent;
		if (err != MEMIF_ERR_SUCCESS || pk < want || tx != got)
			break;
	}
	return sent;
}

void t_rxq_reset_partial(struct t_rxq *q)
{
	q->asm_len = 0;
}

static void rx_finish(struct t_rxq *q)
{
	uint32_t seq;

	if (q->asm_len > T_MAX_FRAME) {
		q->oversize++;
	} else if (q->asm_len < 8) {
		q->bad++;
	} else {
		seq = t_frame_seq(q->asm_buf);
		if (!t_frame_verify(q->asm_buf, q->asm_len, seq))
			q->bad++;
		if (seq != q->next_seq)
			q->out_of_order++;
		q->next_seq = seq + 1;
		q->packets++;
		q->bytes += q->asm_len;
		q->last_len = q->asm_len;
	}
	q->asm_len = 0;
}

uint32_t t_rx_drain(memif_conn_handle_t conn, uint16_t qid, struct t_rxq *q)
{
	memif_buffer_t bufs[256];
	uint64_t before = q->packets + q->bad + q->oversize;

	/* Bounded: a ring holds at most 2^14 buffers; stop after a few rings' worth. */
	for (int round = 0; round < 1024; round++) {
		uint16_t rx = 0;
		int err = memif_rx_burst(conn, qid, bufs, 256, &rx);

		if (err != MEMIF_ERR_SUCCESS && err != MEMIF_ERR_NOBUF)
			q->last_err = err;
		if (rx == 0)
			break;
		for (uint16_t i = 0; i < rx; i++) {
			memif_buffer_t *b = &bufs[i];

			q->buffers++;
			if (!(b->flags & MEMIF_BUFFER_FLAG_RX))
				q->no_rx_flag++;
			if (q->asm_len <= T_MAX_FRAME) {
				if ((uint64_t)q->asm_len + b->len > T_MAX_FRAME)
					q->asm_len = T_MAX_FRAME + 1;
				else {
					memcpy(q->asm_buf + q->asm_len, b->data, b->len);
					q->asm_len += b->len;
				}
			}
			if (!(b->flags & MEMIF_BUFFER_FLAG_NEXT))
				rx_finish(q);
		}
		err = memif_refill_queue(conn, qid, rx, q->headroom);
		if (err != MEMIF_ERR_SUCCESS)
			q->last_err = err;
	}
	return (uint32_t)(q->packets + q->bad + q->oversize - before);
}

/* ---- endpoints ----------------------------------------------------------- */

struct t_rxq *t_ep_rxq(struct t_ep *ep, uint16_t qid)
{
	if (qid >= T_MAX_QUEUES)
		return NULL;
	if (ep->rxq[qid] == NULL) {
		ep->rxq[qid] = calloc(1, sizeof(struct t_rxq));
		ck_assert_ptr_nonnull(ep->rxq[qid]);
	}
	return ep->rxq[qid];
}

void t_ep_free(struct t_ep *ep)
{
	for (int i = 0; i < T_MAX_QUEUES; i++) {
		free(ep->rxq[i]);
		ep->rxq[i] = NULL;
	}
}

int t_on_connect(memif_conn_handle_t conn, void *private_ctx)
{
	struct t_ep *ep = private_ctx;
	memif_details_t md;
	char buf[8192];
	int err;

	if (conn != ep->conn)
		ep->wrong_conn = true;
	ep->n_connect++;
	ep->up = true;
	err = memif_get_details(conn, &md, buf, sizeof(buf));
	if (err != MEMIF_ERR_SUCCESS) {
		if (ep->refill_err == 0)
			ep->refill_err = err;
		return 0;
	}
	ep->n_rx_queues = md.rx_queues_num;
	ep->n_tx_queues = md.tx_queues_num;
	if (ep->no_refill_on_connect)
		return 0;
	for (uint16_t q = 0; q < md.rx_queues_num; q++) {
		struct t_rxq *rq = t_ep_rxq(ep, q);

		rq->headroom = ep->refill_headroom;
		err = memif_refill_queue(conn, q, (uint16_t)-1, ep->refill_headroom);
		if (err != MEMIF_ERR_SUCCESS && ep->refill_err == 0)
			ep->refill_err = err;
	}
	return 0;
}

int t_on_disconnect(memif_conn_handle_t conn, void *private_ctx)
{
	struct t_ep *ep = private_ctx;

	if (conn != ep->conn)
		ep->wrong_conn = true;
	ep->n_disconnect++;
	ep->up = false;
	for (int i = 0; i < T_MAX_QUEUES; i++) {
		if (ep->rxq[i] != NULL)
			t_rxq_reset_partial(ep->rxq[i]);
	}
	return 0;
}

int t_on_interrupt(memif_conn_handle_t conn, void *private_ctx, uint16_t qid)
{
	struct t_ep *ep = private_ctx;

	if (conn != ep->conn)
		ep->wrong_conn = true;
	if (qid >= T_MAX_QUEUES || qid >= ep->n_rx_queues) {
		ep->irq_bad_qid++;
		return 0;
	}
	ep->n_irq[qid]++;
	ep->n_irq_total++;
	if (ep->rx_on_interrupt)
		t_rx_drain(conn, qid, t_ep_rxq(ep, qid));
	return 0;
}

struct itimerspec t_timer_ms(int ms)
{
	struct itimerspec t;

	t.it_value.tv_sec = ms / 1000;
	t.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	t.it_interval = t.it_value;
	return t;
}

void t_socket_args(memif_socket_args_t *a, const char *path, const char *app_name,
		   struct t_loop *loop)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->path, sizeof(a->path), "%s", path);
	snprintf(a->app_name, sizeof(a->app_name), "%s", app_name);
	a->connection_request_timer = t_timer_ms(100);
	a->on_control_fd_update = loop != NULL ? t_loop_fd_update : NULL;
}

void t_conn_args(memif_conn_args_t *a, memif_socket_handle_t sock, bool master, uint32_t id,
		 const char *if_name)
{
	memset(a, 0, sizeof(*a));
	a->socket = sock;
	a->is_master = master ? 1 : 0;
	a->interface_id = id;
	snprintf((char *)a->interface_name, sizeof(a->interface_name), "%s", if_name);
	a->mode = MEMIF_INTERFACE_MODE_ETHERNET;
}

int t_ep_create(struct t_ep *ep, memif_conn_args_t *a)
{
	ep->sock = a->socket;
	return memif_create(&ep->conn, a, t_on_connect, t_on_disconnect, t_on_interrupt, ep);
}

memif_ring_details_t *t_ring_details_new(uint16_t ndesc)
{
	memif_ring_details_t *rd =
		calloc(1, sizeof(*rd) + (size_t)ndesc * sizeof(memif_desc_details_t));

	ck_assert_ptr_nonnull(rd);
	return rd;
}

int t_details(memif_conn_handle_t conn, memif_details_t *md, char *buf, size_t len)
{
	memset(md, 0, sizeof(*md));
	return memif_get_details(conn, md, buf, (ssize_t)len);
}

bool t_contains_ci(const void *haystack, const char *needle)
{
	return haystack != NULL && strcasestr((const char *)haystack, needle) != NULL;
}

/* ---- peer processes -------------------------------------------------------- */

static void close_fds_except(int keep)
{
	DIR *d = opendir("/proc/self/fd");
	int fds[1024], n = 0;
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL && n < 1024) {
		int fd;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd > 2 && fd != keep && fd != dirfd(d))
			fds[n++] = fd;
	}
	closedir(d);
	/* Occupy the numbers instead of freeing them: Check keeps writing to
	 * its message fd by number, and a memif socket must not land there. */
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	for (int i = 0; i < n; i++) {
		if (null_fd >= 0 && fds[i] != null_fd)
			dup2(null_fd, fds[i]);
		else
			close(fds[i]);
	}
	if (null_fd >= 0)
		close(null_fd);
}

pid_t t_peer_fork(int (*fn)(void *), void *arg, int keep_fd)
{
	pid_t parent = getpid();
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid != 0)
		return pid;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(99);
	close_fds_except(keep_fd);
	_exit(fn(arg) & 0xff);
}

pid_t t_peer_fork_socketpair(int (*fn)(void *), void *arg, int *peer_fd, int *my_fd)
{
	int sv[2];
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	*peer_fd = sv[1];
	pid = t_peer_fork(fn, arg, sv[1]);
	ck_assert_int_gt(pid, 0);
	close(sv[1]);
	*my_fd = sv[0];
	return pid;
}

static int decode_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

bool t_peer_done(pid_t pid, int *status)
{
	int st;
	pid_t r;

	do {
		r = waitpid(pid, &st, WNOHANG);
	} while (r < 0 && errno == EINTR);
	if (r == pid) {
		*status = decode_status(st);
		return true;
	}
	if (r < 0) {
		*status = 255;
		return true;
	}
	return false;
}

int t_peer_wait(pid_t pid, int timeout_ms)
{
	int64_t deadline = t_deadline(timeout_ms);
	int status, st;

	while (t_now_ms() < deadline) {
		if (t_peer_done(pid, &status))
			return status;
		t_sleep_ms(5);
	}
	if (t_peer_done(pid, &status))
		return status;
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return -1;
}

void t_peer_fail(const char *file, int line, const char *what, int code)
{
	fprintf(stderr, "peer %d: %s:%d: check failed: %s (exit %d)\n", (int)getpid(), file, line,
		what, code);
	fflush(stderr);
	_exit(code);
}

int t_msg_send(int fd, uint32_t v)
{
	ssize_t n;

	do {
		n = write(fd, &v, sizeof(v));
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(v))
		return 0;
	return n < 0 ? -errno : -EIO;
}

int t_msg_recv(int fd, uint32_t *v, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t deadline = t_deadline(timeout_ms);
	ssize_t n;
	int r;

	for (;;) {
		int64_t left = deadline - t_now_ms();

		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		break;
	}
	do {
		n = read(fd, v, sizeof(*v));
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(*v))
		return 0;
	if (n == 0)
		return -EPIPE;
	return n < 0 ? -errno : -EIO;
}

/* ---- a master/slave pair in one process ----------------------------------- */

void t_pair_init(struct t_pair *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	ck_assert_int_eq(t_loop_init(&p->loop), 0);
	t_sock_path(p->path, sizeof(p->path), name);
	p->m.name = "master";
	p->s.name = "slave";
	t_conn_args(&p->ma, NULL, true, 0, "if-m");
	t_conn_args(&p->sa, NULL, false, 0, "if-s");
}

void t_pair_sockets(struct t_pair *p)
{
	memif_socket_args_t a;

	if (p->msock == NULL) {
		t_socket_args(&a, p->path, "app-m", &p->loop);
		ck_assert_int_eq(memif_create_socket(&p->msock, &a, &p->loop), MEMIF_ERR_SUCCESS);
		ck_assert_ptr_nonnull(p->msock);
	}
	if (p->ssock == NULL) {
		t_socket_args(&a, p->path, "app-s", &p->loop);
		ck_assert_int_eq(memif_create_socket(&p->ssock, &a, &p->loop), MEMIF_ERR_SUCCESS);
		ck_assert_ptr_nonnull(p->ssock);
	}
}

void t_pair_connect(struct t_pair *p, int timeout_ms)
{
	t_pair_sockets(p);
	p->ma.socket = p->msock;
	p->sa.socket = p->ssock;
	ck_assert_int_eq(t_ep_create(&p->m, &p->ma), MEMIF_ERR_SUCCESS);
	ck_assert_ptr_nonnull(p->m.conn);
	ck_assert_int_eq(t_ep_create(&p->s, &p->sa), MEMIF_ERR_SUCCESS);
	ck_assert_ptr_nonnull(p->s.conn);
	T_LOOP_UNTIL(&p->loop, p->m.up && p->s.up, timeout_ms);
	ck_assert_msg(p->m.up && p->s.up, "link not up within %d ms (master %d, slave %d)",
		      timeout_ms, p->m.up, p->s.up);
	ck_assert_int_eq(p->m.refill_err, 0);
	ck_assert_int_eq(p->s.refill_err, 0);
}

void t_pair_close(struct t_pair *p)
{
	if (p->s.conn != NULL)
		ck_assert_int_eq(memif_delete(&p->s.conn), MEMIF_ERR_SUCCESS);
	if (p->m.conn != NULL)
		ck_assert_int_eq(memif_delete(&p->m.conn), MEMIF_ERR_SUCCESS);
	if (p->ssock != NULL)
		ck_assert_int_eq(memif_delete_socket(&p->ssock), MEMIF_ERR_SUCCESS);
	if (p->msock != NULL)
		ck_assert_int_eq(memif_delete_socket(&p->msock), MEMIF_ERR_SUCCESS);
	/* Every fd the library handed to the loop was taken back with DEL. */
	ck_assert_msg(p->loop.nfds == 0, "%d fds still watched after everything was deleted",
		      p->loop.nfds);
	t_ep_free(&p->m);
	t_ep_free(&p->s);
	t_loop_fini(&p->loop);
}

/* memif_get_region_sealed says `want` for every region of a connected interface. */
void t_assert_regions_sealed(memif_conn_handle_t c, uint8_t want)
{
	memif_details_t md;
	char dbuf[8192];
	uint8_t sealed;

	ck_assert_int_eq(t_details(c, &md, dbuf, sizeof(dbuf)), MEMIF_ERR_SUCCESS);
	ck_assert_uint_gt(md.regions_num, 0);
	for (uint16_t i = 0; i < md.regions_num; i++) {
		sealed = 0xff;
		ck_assert_int_eq(memif_get_region_sealed(c, i, &sealed), MEMIF_ERR_SUCCESS);
		ck_assert_msg(sealed == want, "region %u: sealed %u, expected %u", i, sealed, want);
	}
	ck_assert_int_eq(memif_get_region_sealed(c, md.regions_num, &sealed), MEMIF_ERR_INVAL_ARG);
	ck_assert_int_eq(memif_get_region_sealed(c, UINT16_MAX, &sealed), MEMIF_ERR_INVAL_ARG);
}
