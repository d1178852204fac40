/* SPDX-License-Identifier: MIT */
/*
 * socket.c - memif socket objects: the listener of a master socket, the
 * pool of control channels, the list of interfaces, and the paths
 * (filesystem or abstract "@name"). What to do with a connection is
 * conn.c's: this file accepts, and hands back a channel or a code.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os.h"
#include "private.h"

int memif__sock_addr(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (path[0] == '@') {
		/* Abstract: the length counts only the name, as peers expect. */
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

/* A filesystem socket file: replace it if stale, refuse if someone listens. */
static int clear_stale(const char *path, const struct sockaddr_un *sa, socklen_t len)
{
	int kind = memif__os_is_socket(path);
	int fd;

	if (kind == 0)
		return 0;
	if (kind < 0) {
		LOG_ERR("%s exists and is not a socket", path);
		return kind == -ENOTSOCK ? MEMIF__E(MEMIF_ERR_FILE_NOT_SOCK) : kind;
	}
	fd = memif__os_connect(sa, len);
	if (fd >= 0) {
		memif__os_close(&fd);
		LOG_ERR("%s: a live process listens there", path);
		return MEMIF__E(MEMIF_ERR_ALREADY);
	}
	if (fd != -ECONNREFUSED) {
		LOG_ERR("%s: cannot tell whether it is in use: %s", path, strerror(-fd));
		return fd == -EAGAIN ? MEMIF__E(MEMIF_ERR_ALREADY) : fd;
	}
	LOG_INFO("%s: removing stale socket file", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static void make_default_dir(const char *path)
{
	char dir[sizeof(((struct memif__socket *)0)->path)];
	char *slash;

	if (strcmp(path, MEMIF_DEFAULT_SOCKET_PATH) != 0)
		return;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		(void)mkdir(dir, 0755);
	}
}

int memif__sock_listen(struct memif__socket *s)
{
	struct sockaddr_un sa;
	socklen_t len;
	bool abstract = s->path[0] == '@';
	int err, fd;

	if (s->listener.fd >= 0)
		return 0;
	err = memif__sock_addr(s->path, &sa, &len);
	if (err)
		return err;
	if (!abstract) {
		make_default_dir(s->path);
		err = clear_stale(s->path, &sa, len);
		if (err)
			return err;
	}
	fd = memif__os_bind(&sa, len);
	if (fd < 0) {
		LOG_ERR("cannot bind %s: %s", s->path, strerror(-fd));
		return fd == -EADDRINUSE ? MEMIF__E(MEMIF_ERR_ALREADY) : fd;
	}
	/* Permissions before listen(): no peer can connect in between. */
	if (!abstract && s->perms_set &&
	    (chmod(s->path, s->file_mode) < 0 ||
	     ((s->file_uid != (uid_t)-1 || s->file_gid != (gid_t)-1) &&
	      chown(s->path, s->file_uid, s->file_gid) < 0)))
		err = -errno;
	if (!err)
		err = memif__os_listen(fd, 64);
	if (err) {
		LOG_ERR("cannot listen on %s: %s", s->path, strerror(-err));
		memif__os_close(&fd);
		if (!abstract)
			unlink(s->path);
		return err;
	}
	err = memif__fd_add(s, &s->listener, fd);
	if (err) {
		if (!abstract)
			unlink(s->path);
		return err;
	}
	s->unlink_on_close = !abstract;
	LOG_INFO("listening on %s", s->path);
	return 0;
}

void memif__sock_stop_listen(struct memif__socket *s)
{
	/* (also closes an inherited listener: called that way at socket deletion) */
	if (s->listener.fd < 0)
		return;
	memif__fd_del(s, &s->listener);
	if (s->unlink_on_close)
		unlink(s->path);
	s->unlink_on_close = false;
	s->listener_external = false;
}

static uint16_t pending_chans(const struct memif__socket *s)
{
	uint16_t i, n = 0;

	for (i = 0; i < s->chans_num; i++)
		if (s->chans[i]->in_use && !s->chans[i]->conn)
			n++;
	return n;
}

/* Take a pooled channel for fd (which it owns from now on, even on failure). */
int memif__chan_get(struct memif__socket *s, int fd, memif__fd_handler_t *on_chan,
		    struct memif__chan **out)
{
	struct memif__chan *ch = NULL, **arr;
	uint16_t i;
	int err;

	for (i = 0; i < s->chans_num; i++) {
		if (!s->chans[i]->in_use) {
			ch = s->chans[i];
			break;
		}
	}
	if (!ch) {
		if (s->chans_num == UINT16_MAX)
			goto err;
		arr = memif__realloc(s, s->chans, sizeof(*arr) * (s->chans_num + 1u));
		if (!arr)
			goto err;
		s->chans = arr;
		ch = memif__alloc(s, sizeof(*ch));
		if (!ch)
			goto err;
		memset(ch, 0, sizeof(*ch));
		s->chans[s->chans_num++] = ch;
	}
	memif__fdh_init(&ch->fdh, s, on_chan, ch, 0);
	ch->conn = NULL;
	ch->deadline_ms = memif__os_now_ms() + MEMIF__HANDSHAKE_TIMEOUT_MS;
	err = memif__fd_add(s, &ch->fdh, fd); /* closes fd on failure */
	if (err)
		return err;
	ch->in_use = true;
	*out = ch;
	return 0;
err:
	memif__os_close(&fd);
	return MEMIF__E(MEMIF_ERR_NOMEM);
}

void memif__chan_put(struct memif__socket *s, struct memif__chan *ch)
{
	memif__fd_del(s, &ch->fdh);
	if (ch->conn && ch->conn->chan == ch)
		ch->conn->chan = NULL;
	ch->conn = NULL;
	ch->in_use = false;
}

/*
 * A slave connects: accept it onto a pooled channel whose events go to
 * on_chan (*out), or refuse it (*out NULL) while too many wait for INIT.
 */
int memif__sock_accept(struct memif__socket *s, memif__fd_handler_t *on_chan,
		       struct memif__chan **out)
{
	int fd = memif__os_accept(s->listener.fd);

	*out = NULL;
	if (fd < 0)
		return fd == -EAGAIN ? 0 : fd;
	if (pending_chans(s) >= MEMIF__MAX_PENDING) {
		/* A flood of idle connections must not starve real peers forever:
		 * they time out, and meanwhile new ones are refused. */
		LOG_WARN("%s: too many connections waiting for INIT, refusing", s->path);
		memif__os_close(&fd);
		return 0;
	}
	return memif__chan_get(s, fd, on_chan, out);
}

/*
 * The master interface of this id that a slave's INIT goes to: of those
 * waiting for a slave, the one created last (as upstream, which accepts
 * several masters of one id and hands the slave to its last). *busy tells
 * that some exist but none waits.
 */
struct memif__conn *memif__sock_find(struct memif__socket *s, uint32_t id, bool *busy)
{
	uint16_t i;

	*busy = false;
	for (i = s->conns_num; i-- > 0;) {
		struct memif__conn *c = s->conns[i];

		if (!c->args.is_master || c->args.interface_id != id || c->delete_pending)
			continue;
		if (!c->chan && c->state == MEMIF__ST_IDLE)
			return c;
		*busy = true;
	}
	return NULL;
}

int memif__sock_attach(struct memif__socket *s, struct memif__conn *c)
{
	struct memif__conn **arr;
	int err;

	/* A socket may hold masters and slaves at once (upstream's loopback
	 * example does): its masters share the listener, its slaves connect
	 * to the same path. Several masters may share an id (upstream accepts
	 * them): each slave goes to one of them (memif__sock_find). */
	if (s->conns_num == s->conns_cap) {
		uint16_t cap = s->conns_cap ? (uint16_t)(s->conns_cap * 2u) : 4u;

		if (s->conns_cap >= 32768)
			return MEMIF__E(MEMIF_ERR_NOMEM);
		arr = memif__realloc(s, s->conns, sizeof(*arr) * cap);
		if (!arr)
			return MEMIF__E(MEMIF_ERR_NOMEM);
		s->conns = arr;
		s->conns_cap = cap;
	}
	if (c->args.is_master) {
		err = memif__sock_listen(s);
		if (err)
			return err;
	}
	s->conns[s->conns_num++] = c;
	return 0;
}

void memif__sock_detach(struct memif__socket *s, struct memif__conn *c)
{
	uint16_t i;
	bool masters = false;

	for (i = 0; i < s->conns_num; i++) {
		if (s->conns[i] == c) {
			memmove(&s->conns[i], &s->conns[i + 1],
				sizeof(*s->conns) * (s->conns_num - i - 1u));
			s->conns_num--;
			break;
		}
	}
	for (i = 0; i < s->conns_num; i++)
		masters |= s->conns[i]->args.is_master != 0;
	if (!masters && c->args.is_master) {
		/* Refuse peers still waiting for INIT: nobody can serve them. */
		for (i = 0; i < s->chans_num; i++)
			if (s->chans[i]->in_use && !s->chans[i]->conn)
				memif__chan_put(s, s->chans[i]);
		/* An inherited listener stays: the app gave it for the socket's life. */
		if (!s->listener_external)
			memif__sock_stop_listen(s);
	}
}
