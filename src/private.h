/* SPDX-License-Identifier: MIT */
/* private.h - internal structs shared by the library's modules. */
#ifndef MEMIF_PRIVATE_H
#define MEMIF_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "libmemif.h"
#include "compiler.h"
#include "atomic.h"
#include "log.h"

/*
 * Internal errors are negative: -errno from syscalls, or MEMIF__E(code)
 * for memif's own conditions. memif__err_public() maps both, once, at the
 * API boundary.
 */
#define MEMIF__EBASE 4096
#define MEMIF__E(code) (-(MEMIF__EBASE + (code)))
int memif__err_public(int err);

/*
 * A service below conn.c (region.c, queue.c) that fails says why in a
 * buffer of this size, for the connection's owner to record as the sticky
 * reason (memif__conn_set_error); empty: the error code says it all.
 */
#define MEMIF__WHY_LEN (MEMIF_DISCONNECT_STRING_LEN + 1)

#define MEMIF__MAGIC_SOCK 0x6d736f63u
#define MEMIF__MAGIC_CONN 0x6d636f6eu
#define MEMIF__MAGIC_FDH 0x6d666468u

#define MEMIF__MAX_QUEUES 256
#define MEMIF__DEFAULT_BUFFER_SIZE 2048
#define MEMIF__DEFAULT_LOG2_RING 10
#define MEMIF__HANDSHAKE_TIMEOUT_MS 5000
#define MEMIF__MAX_PENDING 64 /* unidentified control channels per listener */
/* Buffer regions are split so no region nears the 4 GiB a u32 offset reaches. */
#define MEMIF__MAX_BUFFER_REGION (1ull << 30)
/* A slave gives each ring at least this many bytes of buffers, by using up
 * to 2^MEMIF__MAX_BUFFER_LAPS_LOG2 buffers per slot (region.c). */
#define MEMIF__BUFFER_SPAN (4ull << 20)
#define MEMIF__MAX_BUFFER_LAPS_LOG2 3
/* ... as long as the interface's buffers stay within this or upstream's layout. */
#define MEMIF__BUFFER_BUDGET (8ull << 20)

struct memif__socket;
struct memif__conn;

struct memif__fdh;

/*
 * What to do when a watched fd is ready: the owner of the fd gives it with
 * the token (memif__fdh_init), so the event loop calls it without knowing
 * what a socket, channel or interface is. `events` is MEMIF_FD_EVENT_*;
 * returns 0 or a negative internal error.
 */
typedef int memif__fd_handler_t(struct memif__fdh *h, uint32_t events);

/*
 * The token handed to the app with each fd (fde.private_ctx). Tokens live
 * as long as their owner (socket or interface) and ignore events while
 * their fd is -1, so a stale event for an fd closed earlier in the same
 * epoll batch is harmless.
 */
struct memif__fdh {
	uint32_t magic;
	uint16_t qid; /* interrupt tokens: the receive queue */
	bool taken;   /* pooled tokens: in use by an interface */
	int fd;
	struct memif__socket *sock;
	memif__fd_handler_t *handler;
	void *ctx; /* the handler's: a socket, channel or interface */
};

/* A control channel: one connected Unix socket. */
struct memif__chan {
	struct memif__fdh fdh;
	struct memif__conn *conn; /* NULL while a master waits for INIT */
	uint64_t deadline_ms;     /* handshake must end by then */
	bool in_use;
};

struct memif__region {
	void *addr;
	uint64_t size;
	int fd;
	bool is_external; /* memory owned by the app's callbacks */
	bool sealed;      /* F_SEAL_SHRINK is on its fd: nobody can shrink it under us */
};

/* What we know of a ring slot's buffer, from our side (never re-read). */
struct memif__slot {
	uint32_t offset;
	uint32_t cap;
	uint16_t region;
};

/* One ring as announced by ADD_RING (master side, before CONNECT). */
struct memif__ring_info {
	uint16_t region;
	uint32_t offset;
	uint8_t log2;
	int fd;
};

/*
 * What adaptive receive has seen of the traffic (rx.c: memif__queue_adaptive
 * explains the decision). Written and read by the queue's thread only; the
 * control thread never resets it (a stale value only delays one decision).
 * Zeroed at setup: 0 reads as "not seen yet" everywhere. Times in ns.
 */
struct memif__adaptive {
	uint64_t last_ns;   /* the last burst that took packets (masked: or the first
			     * empty look after them) */
	uint64_t wake_ns;   /* interrupt-like: the first burst of the latest wake */
	uint64_t win_ns;    /* masked: start of the window being measured */
	uint32_t win_pkts;  /* masked: buffers taken in that window */
	uint32_t win_calls; /* masked: bursts that took them */
	uint32_t wake_pkts; /* interrupt-like: buffers taken since that wake */
	uint32_t ival_ns;   /* average time between wakes (interrupt-like) */
	uint32_t spin_ns;   /* average time per buffer while masked (all of it spent) */
	uint32_t gap_ns;    /* average time between bursts with packets while masked */
	uint16_t backoff;   /* wakes to let pass before the next trial */
	uint8_t fails;      /* trials that failed in a row */
	uint8_t trial;      /* windows a trial still has to pass (0: not on trial) */
	uint8_t closer;     /* wakes in a row that came much sooner than usual */
	bool awake;         /* interrupt-like: packets taken since the ring was last empty */
	bool joined;        /* this wait was cut short once already (see rx.c) */
	bool fresh;         /* masked: packets since the last empty look */
	uint8_t unclocked;  /* masked: bursts with packets since the clock was read */
	uint16_t sample_in; /* interrupt-like: wakes before the next one is measured */
	uint8_t samples;    /* wakes measured so far (up to 8: see rx.c sample_wake) */
	bool cheap;         /* masked: a window since the last stall was a flood or cost at
			     * most half a wake */
	uint64_t cpu_mark;  /* interrupt-like: thread CPU time at the first burst of the
			     * wake being measured (0: none) */
	uint32_t clock_ns;  /* what one read of the thread's CPU clock costs, as last seen */
	uint32_t wake_cpu_ns; /* average CPU of a measured wake (rx.c irq_cost: over */
	uint32_t wake_bufs16; /* the average buffers it brought, times 16; 0: none yet) */
};

/*
 * A queue: our view of one ring. The hot fields come first. `pub` is the
 * index we write (slave: head, master: tail), kept privately and only ever
 * stored to the ring; `next` is the next slot to hand to the app.
 */
struct memif__queue {
	memif_ring_t *ring;
	struct memif__slot *slots;
	struct memif__region *regions;
	uint32_t ring_size;
	uint16_t mask;
	uint16_t pub;
	uint16_t next;
	uint16_t peer; /* cached copy of the peer's index */
	uint32_t rx_chain; /* buffers of an unfinished chain already returned */
	uint16_t regions_num;
	uint16_t buffer_size;
	uint8_t log2;
	bool is_master;
	bool is_rx;
	bool polling;      /* MASK_INT stays set; nobody waits on the eventfd */
	bool adaptive;     /* MEMIF_RX_MODE_ADAPTIVE: see memif__queue_adaptive, rx.c */
	bool masked;       /* adaptive: MASK_INT is set now (traffic flows) */
	bool ext_tx;       /* app buffers were enqueued: slots carry region/offset */
	bool owned;        /* slave, after memif_buffer_requeue: each slot keeps its
			    * own buffer in `slots` (buffers moved between queues) */
	const char *fault; /* set once a peer violation is seen (sticky) */
	int tick_fd;           /* the socket's timer, fired at once on a fault */
	struct timespec tick;  /* and its period, which it keeps */
	int int_fd;
	uint16_t qid;
	uint16_t ring_region;
	uint32_t ring_offset;
	uint16_t buf_region; /* slave: default buffers of this ring */
	uint32_t buf_base;
	uint16_t buf_mask;   /* slave: ring index -> default buffer (see region.c) */
	uint16_t unoffered;  /* slave rx: slots never refilled yet (held-buffer count) */
	struct memif__qref *ref; /* counters and the data-path door of this queue */
	struct memif__adaptive ad;
	char pad[64]; /* keeps neighbouring queues' hot fields off one cache line */
};

/*
 * What outlives a connection for each queue id, one cache line each (queues
 * run on different threads): the counters, and the door of the data path.
 * `q` is the connected queue, or NULL. A data-path call marks `busy` while
 * it uses q; teardown unpublishes q, then waits until no call is busy
 * before it frees, unmaps or closes anything the queue uses (dp.h:
 * queue_enter; queue.c: memif__queues_quiesce). Workers never need to be stopped
 * around a disconnect.
 */
struct memif__qref {
	memif_queue_stats_t st; /* written by the queue's thread only, relaxed */
	struct memif__queue *q;
	uint32_t busy;
	/* Generation (memif__conn.gen) whose buffers the app held when its
	 * link went down, or 0: set by teardown, cleared by the thread's next
	 * call on the queue. That generation's shared memory stays mapped
	 * until then (region.c: stale). */
	uint32_t held_gen;
	char pad[64 - sizeof(memif_queue_stats_t) - sizeof(void *) - 2 * sizeof(uint32_t)];
};

/* A mapping kept after its link went down, while an app thread may still read
 * buffers it took from it (memif__region_reap). */
struct memif__stale {
	void *addr;
	uint64_t size;
	uint32_t gen;
};

enum memif__state {
	MEMIF__ST_IDLE = 0,      /* no control channel */
	MEMIF__ST_WAIT_HELLO,    /* slave */
	MEMIF__ST_WAIT_INIT_ACK, /* slave */
	MEMIF__ST_WAIT_REGION_ACK,
	MEMIF__ST_WAIT_RING_ACK,
	MEMIF__ST_WAIT_CONNECTED,
	MEMIF__ST_WAIT_SETUP, /* master: regions, rings, CONNECT */
	MEMIF__ST_CONNECTED,
};

struct memif__conn {
	uint32_t magic;
	struct memif__socket *sock;
	memif_conn_args_t args; /* defaults resolved */
	char if_name[MEMIF_NAME_LEN + 1];
	memif_connection_update_t *on_connect;
	memif_connection_update_t *on_disconnect;
	memif_on_interrupt_t *on_interrupt;
	void *private_ctx;

	enum memif__state state;
	struct memif__chan *chan;
	bool link_up;
	bool ever_up; /* on_connect ran once: memif_delete owes no on_disconnect */

	/* negotiated run parameters */
	uint8_t num_s2m, num_m2s;
	uint8_t log2_ring;
	uint16_t buffer_size;
	uint16_t max_region; /* from the master's HELLO (slave) */

	struct memif__region *regions;
	uint16_t regions_num;
	struct memif__ring_info *s2m_info, *m2s_info; /* master handshake */
	uint16_t s2m_seen, m2s_seen;
	uint16_t setup_step; /* slave: next region, then ring, to announce */

	struct memif__queue *txq, *rxq;
	uint16_t txq_num, rxq_num;
	struct memif__fdh **irq_fdh; /* MEMIF__MAX_QUEUES tokens from the socket's pool */
	struct memif__qref *rx_ref, *tx_ref;      /* MEMIF__MAX_QUEUES each */
	uint32_t gen;                             /* bumped at each link up, never 0 */
	bool published;                           /* queues of gen were published */
	uint16_t rx_pub_num, tx_pub_num;          /* queue counts last published */
	struct memif__stale *stale;               /* mappings of earlier generations */
	uint16_t stale_num;
	uint8_t rx_mode[MEMIF__MAX_QUEUES];       /* memif_rx_mode_t; survives reconnects */

	char remote_name[MEMIF_NAME_LEN + 1];
	char remote_if_name[MEMIF_NAME_LEN + 1];
	char error[MEMIF_DISCONNECT_STRING_LEN + 1]; /* sticky reason */
	bool err_latched;                            /* error[] holds this attempt's first error */
	memif_peer_cred_t peer;
	int cb_depth;
	bool delete_pending;
};

struct memif__socket {
	uint32_t magic;
	char path[108];
	char app_name[MEMIF_NAME_LEN + 1];
	struct itimerspec timer;
	struct timespec tick; /* the timer's period as armed */
	memif_control_fd_update_t *fd_update; /* NULL: own epoll */
	void *private_ctx;
	memif_alloc_t *alloc;
	memif_realloc_t *realloc;
	memif_free_t *free;

	struct memif__fdh listener;
	struct memif__fdh timer_fdh;
	struct memif__fdh cancel_fdh;
	int epoll_fd;
	bool listener_external; /* set with memif_set_listener_fd */
	bool unlink_on_close;

	struct memif__conn **conns;
	uint16_t conns_num, conns_cap;
	struct memif__chan **chans;
	uint16_t chans_num;
	/* Interrupt tokens outlive the interfaces that used them, so an event
	 * still queued in the app's epoll batch never points to freed memory. */
	struct memif__fdh **tokens;
	uint32_t tokens_num;

	memif_add_external_region_t *ext_add;
	memif_get_external_region_addr_t *ext_get;
	memif_del_external_region_t *ext_del;
	memif_get_external_buffer_offset_t *ext_offset;

	uint8_t buffer_laps; /* slave buffers per ring slot: 0 = automatic (region.c) */
	bool perms_set;
	mode_t file_mode;
	uid_t file_uid;
	gid_t file_gid;
	bool is_default;
	bool require_sealed; /* master: refuse regions that cannot be sealed (strict mode) */
};

/* alloc.c: allocation through the socket's allocator */
void *memif__alloc(struct memif__socket *s, size_t size);
void *memif__realloc(struct memif__socket *s, void *p, size_t size);
void memif__free(struct memif__socket *s, void *p);

/* events.c: the fd registry; knows nothing of what the fds are for */
void memif__fdh_init(struct memif__fdh *h, struct memif__socket *s, memif__fd_handler_t *handler,
		     void *ctx, uint16_t qid);
int memif__fd_add(struct memif__socket *s, struct memif__fdh *h, int fd);
void memif__fd_del(struct memif__socket *s, struct memif__fdh *h);
int memif__dispatch(struct memif__fdh *h, uint32_t events);
int memif__events_init(struct memif__socket *s);
void memif__events_fini(struct memif__socket *s);
/* One ready fd of the socket's own epoll (memif__poll_wait). */
struct memif__event {
	struct memif__fdh *h;
	uint32_t events;
};
int memif__poll_wait(struct memif__socket *s, int timeout, struct memif__event *evs, int max);
struct memif__fdh *memif__token_get(struct memif__socket *s);
void memif__token_put(struct memif__socket *s, struct memif__fdh *h);
void memif__tokens_free(struct memif__socket *s);

/* socket.c */
int memif__sock_addr(const char *path, struct sockaddr_un *sa, socklen_t *len);
int memif__sock_listen(struct memif__socket *s);
void memif__sock_stop_listen(struct memif__socket *s);
int memif__sock_accept(struct memif__socket *s, memif__fd_handler_t *on_chan,
		       struct memif__chan **out);
int memif__sock_attach(struct memif__socket *s, struct memif__conn *c);
void memif__sock_detach(struct memif__socket *s, struct memif__conn *c);
int memif__chan_get(struct memif__socket *s, int fd, memif__fd_handler_t *on_chan,
		    struct memif__chan **out);
void memif__chan_put(struct memif__socket *s, struct memif__chan *ch);
struct memif__conn *memif__sock_find(struct memif__socket *s, uint32_t id, bool *busy);

/* conn.c: the one owner of a link's life */
int memif__conn_connect(struct memif__conn *c);
int memif__conn_on_listener(struct memif__fdh *h, uint32_t events);
int memif__conn_on_tick(struct memif__fdh *h, uint32_t events);
void memif__conn_disconnect(struct memif__conn *c, int err, const char *reason, bool tell_peer);
void memif__conn_set_error(struct memif__conn *c, const char *fmt, ...) MEMIF_PRINTF(2, 3);
void memif__conn_check_faults(struct memif__conn *c);
void memif__conn_free(struct memif__conn *c);

/* region.c */
int memif__region_slave_setup(struct memif__conn *c, char *why);
int memif__region_master_add(struct memif__conn *c, uint16_t index, uint64_t size, int *fd,
			     char *why);
int memif__region_check_ring(struct memif__conn *c, const struct memif__ring_info *ri, char *why);
void memif__region_release(struct memif__conn *c, bool keep_mapped);
void memif__region_reap(struct memif__conn *c, bool force);
int memif__region_bounds_ok(const struct memif__region *r, uint64_t offset, uint64_t len);

/* queue.c: the queues' setup and teardown (control thread) */
int memif__queues_master_setup(struct memif__conn *c, char *why);
int memif__queues_slave_setup(struct memif__conn *c);
bool memif__queues_quiesce(struct memif__conn *c);
void memif__queues_free(struct memif__conn *c);
int memif__queue_set_mode(struct memif__queue *q, uint8_t mode);
void memif__queues_publish(struct memif__conn *c);
void memif__queues_unpublish(struct memif__conn *c);
int memif__queue_fault(struct memif__queue *q, const char *why);

/* rx.c (the packet path's own inlines: dp.h) */
/* The clocks adaptive receive reads (check_adaptive.c passes made-up ones). */
struct memif__clocks {
	uint64_t (*now_ns)(void); /* monotonic: memif__os_now_ns */
	uint64_t (*cpu_ns)(void); /* this thread's CPU time: memif__os_thread_cpu_ns */
};
int memif__queue_adaptive(struct memif__queue *q, uint16_t n, uint16_t left, bool more,
			  const struct memif__clocks *clk);
bool memif__queue_adaptive_idle(struct memif__queue *q, uint16_t left, uint64_t now_ns);

/* irq.c */
void memif__irq_kick(int fd);
void memif__irq_drain(int fd);

#endif
