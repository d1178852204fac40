/* SPDX-License-Identifier: MIT */
/*
 * libmemif.h - the public API of libmemif.
 *
 * Source-compatible with upstream libmemif 4.0: a program written for it
 * builds against this header unchanged. Extensions are marked as such.
 *
 * Objects
 *   socket     a control-channel endpoint on one path (memif_create_socket).
 *              Its master interfaces share one listener on the path and are
 *              told apart by id; its slave interfaces connect to the path.
 *              One socket may hold both (a master and a slave of the same
 *              id on one socket talk to each other: a loopback).
 *   interface  one memif link ("connection", memif_create), with its own
 *              shared memory regions and queues once connected.
 *
 * Threads
 *   A socket and all its interfaces are driven from one thread, the control
 *   thread: every call except the data-path ones (buffer_alloc,
 *   buffer_enq_tx, tx_burst, rx_burst, refill_queue, buffer_requeue,
 *   set_next_free_buffer) belongs to it. get_queue_stats and
 *   cancel_poll_event may be called from any thread.
 *   Each queue may be used by one thread at a time; different queues of the
 *   same interface from different threads at once. buffer_requeue uses the
 *   queues of both its buffers, buffer_enq_tx of received buffers their
 *   receive queue too.
 *
 * Disconnects
 *   Data-path threads need not be stopped when a link goes down, whatever
 *   the cause (the peer left, died or broke the protocol, on the control
 *   channel or on a ring), nor while it is set up again (timer retries,
 *   memif_request_connection). A data-path call that races the disconnect
 *   returns DISCONNECTED, and so does every call until the next link is up
 *   (its queues appear just before on_connect runs; QID for a queue the
 *   new link lacks). The library never touches memory, mappings or fds it is
 *   releasing: after on_disconnect returns, teardown waits for calls still
 *   inside a queue before it frees, unmaps or closes anything.
 *
 *   Buffers taken before the disconnect are invalid: do not send, refill or
 *   requeue them. Their memory stays mapped until the thread's next call on
 *   that queue (if a call came while the link was being torn down, the one
 *   after it), so a packet being read or written when the link drops does
 *   not fault. A queue's eventfd is closed at the disconnect, and an epoll
 *   drops a closed fd without a word: a thread asleep on it is never woken
 *   by it. Let such a thread wait on an eventfd of your own as well and
 *   write that one from on_disconnect and on_connect (see Interrupts).
 *
 *   When the peer breaks the protocol on a ring, the data-path call that
 *   finds it returns DISCONNECTED at once (and every later one on that
 *   queue) and fires the socket's timer, so the control thread tears the
 *   link down (DISCONNECT to the peer, on_disconnect) within one turn of
 *   its loop; memif_get_details().error then says what the peer did.
 *
 *   memif_delete and memif_delete_socket are different: stop and join the
 *   interface's data-path threads before calling them (also before a
 *   memif_delete from inside a callback). A data-path call on a deleted
 *   handle is undefined behaviour, like a use after free().
 *
 * Interrupts
 *   The peer signals a receive queue's eventfd when it publishes packets
 *   (unless the queue polls, see memif_set_rx_mode). The interrupt is
 *   level-triggered: the eventfd stays readable until a memif_rx_burst
 *   leaves the ring empty, so a level-triggered waiter (epoll without
 *   EPOLLET, poll) is woken again while packets wait. For an interface
 *   created with on_interrupt the library has the eventfds watched (by
 *   on_control_fd_update, or in its own epoll) and runs on_interrupt;
 *   without on_interrupt nobody watches them: the app gets each one with
 *   memif_get_queue_efd and waits on it itself, or polls.
 *   A thread that waits on a queue's eventfd should be its only watcher:
 *   create the interface without on_interrupt (then nobody else watches
 *   it), or, with on_control_fd_update, take the fd out of your own loop.
 *   In self-poll mode with on_interrupt the library keeps watching it, so
 *   on_interrupt runs on the control thread while packets wait: it must
 *   then only wake the thread, never touch the queue. To wake such a
 *   thread for reasons of your own (stop, a disconnect, new work), give it
 *   an eventfd of your own to wait on as well: the queue's eventfd is the
 *   peer's signal, memif_rx_burst clears it, and the library closes it at
 *   each disconnect. In adaptive mode (MEMIF_RX_MODE_ADAPTIVE) do not read
 *   the queue's eventfd yourself: only memif_rx_burst may clear it, or the
 *   thread can sleep with packets waiting and the peer told not to signal.
 *
 * Callbacks
 *   on_control_fd_update runs inside memif_create_socket, memif_delete_socket,
 *   memif_set_listener_fd, memif_create, memif_delete,
 *   memif_request_connection and memif_control_fd_handler (never in self-poll
 *   mode, which has no such callback). It is given the socket's timer,
 *   listener and control channels, and the receive queues' eventfds of the
 *   interfaces that have an on_interrupt. on_connect, on_disconnect and
 *   on_interrupt run only inside memif_control_fd_handler and
 *   memif_poll_event (and on_disconnect also inside memif_delete of a
 *   connected interface, or of one that never connected), on the caller's
 *   thread. on_interrupt is never
 *   called for a queue in polling mode. A call that fails never fires a
 *   callback later for its request.
 */
#if !defined(LIBMEMIF_H) && !defined(_LIBMEMIF_H_)
#define LIBMEMIF_H
#define _LIBMEMIF_H_ /* upstream's guard name */

#include <inttypes.h>
#include <stddef.h>
#include <sys/timerfd.h>
#include <sys/types.h>

#include "memif.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LIBMEMIF_VERSION "4.0"
#define MEMIF_DEFAULT_APP_NAME "libmemif-app"
#define MEMIF_DEFAULT_SOCKET_PATH "/run/vpp/memif.sock"
#define MEMIF_HAVE_CANCEL_POLL_EVENT 1

/* Extension: this implementation also offers per-queue statistics. */
#define MEMIF_HAVE_QUEUE_STATS 1
/* Extension: socket file mode/owner and peer credentials. */
#define MEMIF_HAVE_SOCKET_PERMS 1
/* Extension: strict mode for unsealed regions, and each region's seal state. */
#define MEMIF_HAVE_SEALED_REGIONS 1
/* Extension: memif_set_socket_buffer_laps. */
#define MEMIF_HAVE_BUFFER_LAPS 1

/* Error codes. Every call returns one of these; 0 is success. */
typedef enum {
	MEMIF_ERR_SUCCESS = 0,     /* success */
	MEMIF_ERR_SYSCALL,         /* a system call failed (see the log) */
	MEMIF_ERR_CONNREFUSED,     /* nobody listens on the socket */
	MEMIF_ERR_ACCES,           /* permission denied */
	MEMIF_ERR_NO_FILE,         /* no such file or directory */
	MEMIF_ERR_FILE_LIMIT,      /* system-wide file limit reached */
	MEMIF_ERR_PROC_FILE_LIMIT, /* per-process fd limit reached */
	MEMIF_ERR_ALREADY,         /* already in progress, or in use */
	MEMIF_ERR_AGAIN,           /* resource temporarily unavailable */
	MEMIF_ERR_BAD_FD,          /* bad file descriptor */
	MEMIF_ERR_NOMEM,           /* out of memory */
	MEMIF_ERR_INVAL_ARG,       /* invalid argument or handle */
	MEMIF_ERR_NOCONN,          /* no interface (NULL handle), or link down */
	MEMIF_ERR_CONN,            /* interface is already connected */
	MEMIF_ERR_CB_FDUPDATE,     /* the app's on_control_fd_update failed */
	MEMIF_ERR_FILE_NOT_SOCK,   /* the path exists and is not a socket */
	MEMIF_ERR_NO_SHMFD,        /* a region's memory fd is missing or unusable */
	MEMIF_ERR_COOKIE,          /* ring cookie mismatch */
	MEMIF_ERR_NOBUF_RING,      /* ring full or empty: fewer buffers than asked */
	MEMIF_ERR_NOBUF,           /* not enough buffers; rx_burst: more wait */
	MEMIF_ERR_NOBUF_DET,       /* details buffer too small */
	MEMIF_ERR_INT_WRITE,       /* writing an interrupt failed */
	MEMIF_ERR_MFMSG,           /* malformed message */
	MEMIF_ERR_QID,             /* no such queue */
	MEMIF_ERR_PROTO,           /* protocol version mismatch */
	MEMIF_ERR_ID,              /* no interface with this id */
	MEMIF_ERR_ACCSLAVE,        /* a slave attempted to accept */
	MEMIF_ERR_ALRCONN,         /* interface already connected (peer side) */
	MEMIF_ERR_MODE,            /* interface mode mismatch */
	MEMIF_ERR_SECRET,          /* secret mismatch */
	MEMIF_ERR_NOSECRET,        /* secret required */
	MEMIF_ERR_MAXREG,          /* too many regions */
	MEMIF_ERR_MAXRING,         /* too many rings */
	MEMIF_ERR_NO_INTFD,        /* a message lacked its interrupt fd */
	MEMIF_ERR_DISCONNECT,      /* the peer disconnected */
	MEMIF_ERR_DISCONNECTED,    /* interface is disconnected */
	MEMIF_ERR_UNKNOWN_MSG,     /* unknown or unexpected message */
	MEMIF_ERR_POLL_CANCEL,     /* memif_poll_event was cancelled */
	MEMIF_ERR_MAX_RING,        /* ring size too large */
	MEMIF_ERR_PRIVHDR,         /* private header size not supported */
} memif_err_t;

/* Events on a file descriptor, as passed to and from the app. */
typedef enum memif_fd_event_type {
	MEMIF_FD_EVENT_READ = 1,
	MEMIF_FD_EVENT_WRITE = 2,
	MEMIF_FD_EVENT_ERROR = 4,
	MEMIF_FD_EVENT_DEL = 8,
	MEMIF_FD_EVENT_MOD = 16,
} memif_fd_event_type_t;

/*
 * An fd the library wants watched. `private_ctx` is the library's own
 * token for that fd: keep it beside the fd and hand it back to
 * memif_control_fd_handler when the fd is ready.
 */
typedef struct memif_fd_event {
	int fd;
	memif_fd_event_type_t type;
	void *private_ctx;
} memif_fd_event_t;

typedef void *memif_conn_handle_t;
typedef void *memif_socket_handle_t;

/* Optional allocator for the library's own bookkeeping (never packets). */
typedef void *(memif_alloc_t)(size_t size);
typedef void *(memif_realloc_t)(void *ptr, size_t size);
typedef void(memif_free_t)(void *ptr);

/*
 * Ask the app to start watching (READ/WRITE), change (MOD | events) or stop
 * watching (DEL) fde.fd. `private_ctx` is the socket's private context.
 * Return 0 on success; anything else fails the library call that caused it
 * with MEMIF_ERR_CB_FDUPDATE.
 */
typedef int(memif_control_fd_update_t)(memif_fd_event_t fde, void *private_ctx);

/* on_connect / on_disconnect; `private_ctx` is the one given to memif_create. */
typedef int(memif_connection_update_t)(memif_conn_handle_t conn, void *private_ctx);

/*
 * Packets wait on receive queue `qid` (interrupt or adaptive mode; never
 * called for a queue in polling mode). Called again while they wait
 * (level-triggered): take them with memif_rx_burst, whose SUCCESS says the
 * ring is empty.
 */
typedef int(memif_on_interrupt_t)(memif_conn_handle_t conn, void *private_ctx, uint16_t qid);

/*
 * External regions: slave-side zero copy with app-owned buffer memory.
 * add: the app provides `size` bytes of shareable memory (*addr) backed by
 *      an fd (*fd) that can be sent to the peer; return 0 on success.
 * get: the app maps a received region fd and returns its address (master).
 * del: the app releases a region it provided or mapped.
 * get_offset: the offset in the external region of the next free buffer,
 *      used when the slave refills its receive rings.
 */
typedef uint32_t(memif_get_external_buffer_offset_t)(void *private_ctx);
typedef int(memif_add_external_region_t)(void **addr, uint32_t size, int *fd, void *private_ctx);
typedef void *(memif_get_external_region_addr_t)(uint32_t size, int fd, void *private_ctx);
typedef int(memif_del_external_region_t)(void *addr, uint32_t size, int fd, void *private_ctx);

/* Arguments of memif_create_socket. */
typedef struct memif_socket_args {
	char path[108];    /* "" = MEMIF_DEFAULT_SOCKET_PATH; "@name" or "\0name" = abstract */
	char app_name[32]; /* "" = MEMIF_DEFAULT_APP_NAME */
	/*
	 * How often a disconnected slave retries. All zero means the default
	 * of 2 s (upstream: never retry), because a slave that never retries
	 * is rarely what anyone wants.
	 */
	struct itimerspec connection_request_timer;
	memif_control_fd_update_t *on_control_fd_update; /* NULL = memif_poll_event */
	memif_alloc_t *alloc;
	memif_realloc_t *realloc;
	memif_free_t *free;
} memif_socket_args_t;

typedef enum {
	MEMIF_RX_MODE_INTERRUPT = 0,
	MEMIF_RX_MODE_POLLING,
	/*
	 * Extension: interrupt mode, and polling when that costs less. The
	 * app does what it does in interrupt mode (on_interrupt or the queue's
	 * eventfd, then memif_rx_burst until it returns SUCCESS). The library
	 * watches the traffic: when packets come close enough together that
	 * spinning through the gaps costs less CPU than sleeping and being
	 * woken (a flood; a round trip whose peer answers at once), it masks
	 * the peer's interrupts (MASK_INT) and keeps the queue's interrupt
	 * pending, so the app is called again at once instead of sleeping.
	 * Otherwise it does exactly what interrupt mode does. When a masked
	 * ring stays empty for about twice the usual gap (at most
	 * MEMIF_ADAPTIVE_IDLE_US) it clears the interrupt, unmasks, looks at
	 * the ring once more (a packet published while masked came without a
	 * signal), and lets the app sleep until the peer signals again. Rule:
	 * never read (clear) the queue's eventfd yourself, leave that to
	 * memif_rx_burst; otherwise a thread can sleep while the peer is
	 * masked and packets wait.
	 */
	MEMIF_RX_MODE_ADAPTIVE,
} memif_rx_mode_t;

/* Extension: MEMIF_RX_MODE_ADAPTIVE exists. */
#define MEMIF_HAVE_RX_MODE_ADAPTIVE 1
/* The longest an adaptive queue spins on an empty ring before it unmasks and sleeps. */
#define MEMIF_ADAPTIVE_IDLE_US 50

#define MEMIF_BUFFER_FLAG_NEXT (1 << 0)
/* Extension: set on received buffers. Means nothing on a transmit buffer
 * (memif_tx_burst reads NEXT only), so received flags may be copied over. */
#define MEMIF_BUFFER_FLAG_RX (1 << 1)

/* One packet buffer in shared memory. */
typedef struct {
	uint16_t desc_index; /* ring slot it belongs to */
	void *queue;         /* queue it belongs to (the library's, opaque) */
	uint32_t len;        /* bytes of data */
	uint8_t flags;       /* MEMIF_BUFFER_FLAG_* */
	void *data;          /* points into shared memory */
} memif_buffer_t;

/*
 * Arguments of memif_create. Zero fields take the documented default.
 * secret: up to 24 bytes (all 24: no NUL), all of them sent by a slave. A
 * master with a secret refuses a slave whose secret differs, compared as
 * strings of up to 24 bytes; a 24-byte secret also matches its first 23
 * bytes alone, which is what VPP's and upstream's slaves send of it. A
 * master without one accepts any slave, with or without a secret.
 */
typedef struct {
	memif_socket_handle_t socket; /* NULL = a default socket */
	uint8_t secret[24];           /* NUL-padded; empty = no secret (see above) */
	uint8_t num_s2m_rings;        /* 0 = 1 */
	uint8_t num_m2s_rings;        /* 0 = 1 */
	uint16_t buffer_size;         /* 0 = 2048 */
	uint8_t log2_ring_size;       /* 0 = 10; at most 14 */
	uint8_t is_master;            /* nonzero = master */
	uint32_t interface_id;
	uint8_t interface_name[32];
	memif_interface_mode_t mode : 8;
} memif_conn_args_t;

#define MEMIF_QUEUE_FLAG_POLLING 1

typedef struct {
	uint8_t region;
	uint16_t qid;
	uint32_t ring_size;
	uint16_t flags; /* MEMIF_QUEUE_FLAG_* */
	uint16_t head;
	uint16_t tail;
	uint16_t buffer_size;
} memif_queue_details_t;

typedef struct {
	uint8_t index;
	void *addr;
	uint32_t size;
	int fd;
	uint8_t is_external;
} memif_region_details_t;

/* memif_get_details output; strings and arrays live in the caller's buffer. */
typedef struct {
	uint8_t *if_name;
	uint8_t *inst_name;
	uint8_t *remote_if_name;
	uint8_t *remote_inst_name;
	uint32_t id;
	uint8_t *secret;
	uint8_t role; /* 0 master, 1 slave */
	uint8_t mode;
	uint8_t *socket_path;
	uint8_t regions_num;
	memif_region_details_t *regions;
	uint8_t rx_queues_num;
	uint8_t tx_queues_num;
	memif_queue_details_t *rx_queues;
	memif_queue_details_t *tx_queues;
	uint8_t *error;       /* last disconnect reason, "" if none */
	uint8_t link_up_down; /* 1 up, 0 down */
} memif_details_t;

typedef struct memif_desc_details {
	uint16_t flags;
	uint16_t region;
	uint32_t length;
	uint32_t offset;
	uint32_t metadata;
} memif_desc_details_t;

/* C++ has flexible array members only as an extension: keep -pedantic quiet. */
#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
typedef struct memif_ring_details {
	uint16_t head;
	uint16_t tail;
	uint16_t flags;
	void *offset; /* address of the ring in this process */
	uint16_t ndesc;
	memif_desc_details_t descs[];
} memif_ring_details_t;
#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* Extension: per-queue counters, see memif_get_queue_stats. */
typedef struct memif_queue_stats {
	uint64_t packets; /* packets moved (a chain counts once) */
	uint64_t bytes;   /* payload bytes moved */
	uint64_t no_buf;  /* packets not started for lack of buffers (tx) */
} memif_queue_stats_t;

/* Extension: credentials of the peer process (SO_PEERCRED). */
typedef struct memif_peer_cred {
	int32_t pid;
	uint32_t uid;
	uint32_t gid;
} memif_peer_cred_t;

/* ---- Versions and errors ---------------------------------------------- */

/* Protocol version spoken: 0x0200. */
uint16_t memif_get_version(void);

/* Protocol version as a string: "2.0". */
const char *memif_get_version_str(void);

/*
 * A readable sentence for an error code; for an unknown code a sentence
 * that says so. Never NULL. The string is static: do not modify or free it.
 */
char *memif_strerror(int err_code);

/* ---- Sockets ------------------------------------------------------------ */

/*
 * Create a socket object (no fd is opened until an interface needs one).
 * sock:        out, the new handle.
 * args:        in, copied; see memif_socket_args_t.
 * private_ctx: passed to on_control_fd_update.
 * Returns SUCCESS, INVAL_ARG (NULL args, a path of 108 bytes with no NUL:
 * upstream would use its first 107), NOMEM, SYSCALL (also a connection
 * request timer the kernel refuses, as upstream).
 * May call on_control_fd_update (timer fd). Control thread only.
 */
int memif_create_socket(memif_socket_handle_t *sock, memif_socket_args_t *args, void *private_ctx);

/*
 * Free a socket and set *sock to NULL. INVAL_ARG while interfaces use it.
 * A listener given with memif_set_listener_fd is closed here (its socket
 * file stays); one the library bound went with the last master interface,
 * and its socket file with it.
 */
int memif_delete_socket(memif_socket_handle_t *sock);

/* The socket an interface belongs to, or NULL. */
memif_socket_handle_t memif_get_socket_handle(memif_conn_handle_t conn);

/* The socket's path as given ("@name" for abstract, also if given as "\0name"), or NULL. */
const char *memif_get_socket_path(memif_socket_handle_t sock);

/* The socket's listening fd (while it has a master, or one given to it), or -1. */
int memif_get_listener_fd(memif_socket_handle_t sock);

/*
 * Supply an already listening fd (e.g. inherited from a supervisor) for the
 * socket's master interfaces, on any socket that has no listener yet. The
 * library owns it from then on and keeps it until memif_delete_socket (also
 * when the socket has no master left). Returns SUCCESS, INVAL_ARG (bad
 * handle, fd < 0, the socket already listens: the fd stays yours), or
 * BAD_FD, SYSCALL, CB_FDUPDATE (the fd is closed). May call
 * on_control_fd_update (READ).
 */
int memif_set_listener_fd(memif_socket_handle_t sock, int fd);

/*
 * Change how often disconnected slaves of this socket retry (0 = 2 s).
 * Returns SUCCESS, INVAL_ARG (bad handle), SYSCALL when the kernel refuses
 * the values (as upstream); the socket then keeps its timer.
 */
int memif_set_connection_request_timer(memif_socket_handle_t sock, struct itimerspec timer);

/*
 * Extension: set the mode and owner given to the socket file when a master
 * socket starts listening (a filesystem path only). Pass (uid_t)-1 or
 * (gid_t)-1 to leave owner or group as created. Call before memif_create.
 */
int memif_set_socket_file_perms(memif_socket_handle_t sock, mode_t mode, uid_t uid, gid_t gid);

/*
 * Extension: strict mode for the regions a slave sends to a master
 * interface of this socket. The master always tries to seal each region's
 * fd against shrinking (F_SEAL_SHRINK). Some fds cannot be sealed: VPP's
 * zero-copy slave sends hugepage memfds made without MFD_ALLOW_SEALING, DPDK's
 * client with zero-copy=yes its memory segments. By default (require 0)
 * such a region is mapped anyway, as upstream libmemif, VPP and DPDK do: a
 * slave that later truncates it makes the master's next access to the lost
 * pages raise SIGBUS, which kills the process unless the app handles it.
 * With require nonzero an unsealable region is refused at ADD_REGION: the
 * slave gets a DISCONNECT (code NO_SHMFD, reason "region N is not sealed
 * against shrinking (strict mode)"), kept in memif_get_details().error;
 * such slaves can then never connect.
 * sock:    in, the socket.
 * require: in, nonzero: strict mode; 0: the default.
 * Applies to the socket's master interfaces (its slaves create their own
 * regions), from the next ADD_REGION on (links already up keep their
 * regions). Returns SUCCESS, or INVAL_ARG for a bad handle.
 * Calls no callback. Control thread only.
 */
int memif_set_socket_require_sealed(memif_socket_handle_t sock, uint8_t require);

/*
 * Extension: how many buffers a slave interface of this socket lays out per
 * ring slot (its buffers are used lap after lap: with one buffer per slot
 * the sender rewrites a buffer the receiving core still caches, which costs
 * up to a third of the throughput of 1500-byte frames).
 * laps: 0 = automatic (the default): laps are added until a ring's buffers
 *       span 4 MiB, but only while the interface's buffer memory stays
 *       within max(8 MiB, upstream's layout); so the default interface (one
 *       queue pair, 1024 slots of 2048 B) maps 8 MiB of buffers where
 *       upstream maps 4, and an interface with several queue pairs maps no
 *       more than upstream. 1 = one buffer per slot, upstream's layout.
 *       2, 4 or 8 = that many per slot (fewer where a ring would pass 1 GiB
 *       or 2^14 slots times the laps).
 * Applies to interfaces that connect afterwards; ignored with external
 * regions (memif_register_external_region). Returns SUCCESS, INVAL_ARG (bad
 * handle, or laps not 0, 1, 2, 4 or 8). Calls no callback. Control thread.
 */
int memif_set_socket_buffer_laps(memif_socket_handle_t sock, uint8_t laps);

/* ---- Interfaces --------------------------------------------------------- */

/*
 * Create an interface.
 * conn:          out, the new handle.
 * args:          in, copied; see memif_conn_args_t. Out, as upstream: the
 *                defaults taken for zero fields (ring counts, buffer_size,
 *                log2_ring_size) are written back.
 * on_connect:    link up; may be NULL.
 * on_disconnect: link down (only after a link up), or, as upstream,
 *                memif_delete of an interface that never came up; may
 *                be NULL.
 * on_interrupt:  packets wait on a receive queue in interrupt or adaptive
 *                mode; may be NULL.
 * private_ctx:   given back to those callbacks.
 * A master starts listening (or joins its socket's listener); a slave tries
 * to connect at once and then on every timer tick until connected. Masters
 * and slaves may share a socket (see Objects at the top), and masters an
 * id, as upstream: a slave goes to the one created last among those
 * waiting for a slave.
 * Returns SUCCESS, INVAL_ARG (bad args, mode above 2), MAX_RING
 * (log2_ring_size above 14), ALREADY (a live process listens on the path),
 * FILE_NOT_SOCK, ACCES, NO_FILE, NOMEM, SYSCALL, CB_FDUPDATE.
 */
int memif_create(memif_conn_handle_t *conn, memif_conn_args_t *args,
		 memif_connection_update_t *on_connect, memif_connection_update_t *on_disconnect,
		 memif_on_interrupt_t *on_interrupt, void *private_ctx);

/*
 * Disconnect (DISCONNECT sent to the peer), release every fd, mapping and
 * allocation of the interface, and set *conn to NULL. Calls on_disconnect
 * if the link was up, or if it never came up (as upstream; an interface
 * whose link went down already had its one). Called from inside one of the
 * interface's own
 * callbacks (on_connect, on_disconnect, on_interrupt; app-loop or
 * self-poll mode), the delete is deferred: on_disconnect is not called,
 * and the interface is released once the library has finished handling
 * the fd event that ran the callback; later events of the same epoll
 * batch are ignored. Its handle is invalid at once either way. Stop and
 * join the threads that use the interface's data path before this call: a
 * data-path call on a deleted handle is undefined (see Threads at the
 * top). Deleting a socket's last master closes the listener it opened.
 * Returns SUCCESS, NOCONN when *conn is NULL, INVAL_ARG for conn NULL or a
 * bad handle.
 */
int memif_delete(memif_conn_handle_t *conn);

/*
 * Slave: try to connect now; a master waiting for its slave has nothing to
 * do. Returns (upstream's codes) SUCCESS when the handshake started or the
 * master waits, ALRCONN if connected or connecting (either role),
 * CONNREFUSED when connect() failed for any reason (no socket file, nobody
 * listening, ...; the timer keeps retrying), NOCONN for a NULL handle,
 * INVAL_ARG for a bad handle, PROC_FILE_LIMIT, FILE_LIMIT, NOMEM.
 */
int memif_request_connection(memif_conn_handle_t conn);

/*
 * The app's loop calls this with the private_ctx of a ready fd and the
 * events it saw (MEMIF_FD_EVENT_*). Runs the callbacks that result.
 * Returns SUCCESS, or INVAL_ARG for a pointer that is no token of ours.
 * A peer's protocol error is not an error of this call: it disconnects the
 * interface, whose memif_get_details().error says why.
 */
int memif_control_fd_handler(void *ptr, memif_fd_event_type_t events);

/*
 * With on_control_fd_update NULL: wait up to `timeout` ms (as epoll_wait:
 * 0 returns at once, -1 waits) for events of this socket and handle them.
 * Returns SUCCESS, POLL_CANCEL after memif_cancel_poll_event, INVAL_ARG for
 * a bad handle, BAD_FD if the socket uses an app loop (upstream's code),
 * SYSCALL.
 */
int memif_poll_event(memif_socket_handle_t sock, int timeout);

/*
 * Make a concurrent or the next memif_poll_event return POLL_CANCEL (once:
 * later ones poll again; upstream's cancel stays for every later one).
 * Any thread. Returns SUCCESS, INVAL_ARG (bad handle, app-loop socket).
 */
int memif_cancel_poll_event(memif_socket_handle_t sock);

/* ---- Introspection ------------------------------------------------------ */

/*
 * Everything about an interface, connected or not (regions and queues only
 * while connected). Strings and arrays are written into buf/buflen. A
 * queue's `flags` are its ring's: MEMIF_QUEUE_FLAG_POLLING is the ring's
 * MASK_INT bit, set by the ring's reader, so on a receive queue it says
 * that we asked the peer not to signal (we poll), on a transmit queue that
 * the peer asked us (it polls).
 * Returns SUCCESS, NOBUF_DET (buf too small), NOCONN for a NULL handle,
 * INVAL_ARG.
 */
int memif_get_details(memif_conn_handle_t conn, memif_details_t *md, char *buf, ssize_t buflen);

/*
 * A copy of a ring's indexes and of up to `ndesc` descriptors (rd->descs
 * must have room for them). NOCONN when the link is down, QID for a bad qid.
 */
int memif_get_tx_ring_details(memif_conn_handle_t conn, memif_ring_details_t *rd, uint16_t qid,
			      uint16_t ndesc);
int memif_get_rx_ring_details(memif_conn_handle_t conn, memif_ring_details_t *rd, uint16_t qid,
			      uint16_t ndesc);

/*
 * The interrupt eventfd of receive queue `qid`, in *fd (-1 on error), for
 * an app that waits on it itself (see "Interrupts" at the top): readable
 * while packets wait, until memif_rx_burst empties the ring. The library
 * still owns it: do not close it. It is closed at the disconnect (a thread
 * asleep on it is not woken: wake it with an eventfd of your own) and each
 * connect makes a new one: ask again in on_connect. This call does not
 * change who else watches it (see "Interrupts"). Calls no callback.
 * Returns SUCCESS, NOCONN for a NULL handle, INVAL_ARG, DISCONNECTED (not
 * connected), QID.
 */
int memif_get_queue_efd(memif_conn_handle_t conn, uint16_t qid, int *fd);

/*
 * Interrupt, polling or adaptive mode (see memif_rx_mode_t) for receive
 * queue `qid`. Polling sets the ring's MASK_INT flag so the peer stops
 * signalling, and on_interrupt never runs for the queue (a signal already
 * on its way is cleared by the library). Also while the link is down
 * (upstream: QID): the mode is then recorded for qid below the configured
 * receive ring count (num_m2s_rings on a slave, num_s2m_rings on a master)
 * and applied at connect, so a queue made polling before connect never
 * gets an interrupt.
 * The mode is kept across reconnects. Returns SUCCESS, NOCONN for a NULL
 * handle, INVAL_ARG (bad handle, or a mode value not in memif_rx_mode_t,
 * which upstream writes into the ring's flags as is), QID.
 */
int memif_set_rx_mode(memif_conn_handle_t conn, memif_rx_mode_t rx_mode, uint16_t qid);

/*
 * Extension: counters of a queue (is_rx nonzero: receive queue). They
 * survive reconnects and reset only with memif_delete. Any thread may read
 * them, also while the queue's thread updates them (each counter is read
 * whole; the three are not one snapshot). Returns SUCCESS, INVAL_ARG (bad
 * handle or NULL stats), QID (qid at or above the connected queue count,
 * or the configured one while down).
 */
int memif_get_queue_stats(memif_conn_handle_t conn, uint16_t qid, uint8_t is_rx,
			  memif_queue_stats_t *stats);

/* Extension: credentials of the connected peer process. NOCONN when down. */
int memif_get_peer_credentials(memif_conn_handle_t conn, memif_peer_cred_t *cred);

/*
 * Extension: whether region `region_index` of a connected interface is
 * sealed against shrinking (F_SEAL_SHRINK on its fd), so that the peer
 * cannot truncate it under our mapping. A master reports the seal it found
 * or added on the slave's fd (0: mapped unsealed, see
 * memif_set_socket_require_sealed); a slave reports whether it could seal
 * its own memfds (normally 1), and for regions from
 * memif_register_external_region whether the app's fd carries the seal.
 * conn:         in, the interface.
 * region_index: in, 0 to memif_get_details().regions_num - 1.
 * sealed:       out, 1 sealed, 0 not.
 * Returns SUCCESS, INVAL_ARG (bad handle, NULL sealed, region_index out of
 * range), NOCONN (link down). Calls no callback. Control thread only;
 * valid inside on_connect (to drop a slave that left regions unsealed).
 */
int memif_get_region_sealed(memif_conn_handle_t conn, uint16_t region_index, uint8_t *sealed);

/* ---- Data path ---------------------------------------------------------- */

/*
 * Reserve transmit buffers on queue `qid` for up to `count` packets of
 * `size` bytes each. A packet larger than one buffer takes consecutive
 * buffers, all but the last flagged MEMIF_BUFFER_FLAG_NEXT; `bufs` needs
 * room for all of them. On a master the buffers are the slave's and may be
 * smaller than the master's own buffer_size (headroom, or a peer with smaller
 * buffers): a packet takes at most 2 * ceil(size / buffer_size) + 1 of
 * them, so size `bufs` for that; a packet that would need more is not
 * started and the call returns NOBUF (peer buffers too small), unlike
 * NOBUF_RING (ring full for now). *count_out counts buffers; each buffer's len is
 * preset to the bytes it is to carry (the app may lower it). A packet that
 * does not fit whole is not started; fewer packets than asked returns
 * NOBUF_RING. size 0 gives no buffer (SUCCESS, *count_out 0), as upstream.
 * Buffers stay reserved until memif_tx_burst.
 */
int memif_buffer_alloc(memif_conn_handle_t conn, uint16_t qid, memif_buffer_t *bufs, uint16_t count,
		       uint16_t *count_out, uint16_t size);

/*
 * Slave only (master: INVAL_ARG): put buffers on transmit queue `qid`, to
 * be sent with memif_tx_burst (zero-copy forwarding). A buffer received on
 * this interface and not refilled (queue, desc_index as rx_burst set them)
 * swaps its buffer with the next free transmit slot's, as upstream: its
 * queue and desc_index then name that transmit slot, the receive queue may
 * be refilled at once, and memif_buffer_requeue may swap another received
 * buffer into its place. This uses the receive queue as well. Extension:
 * any other buffer must be app memory in one of the interface's buffer
 * regions (an external region's buffer), which the slot carries for one
 * send; the two kinds do not mix on one transmit queue.
 * *count_out = buffers placed. INVAL_ARG when the first buffer is refused
 * (later ones end the call early), NOBUF_RING when the ring is full.
 */
int memif_buffer_enq_tx(memif_conn_handle_t conn, uint16_t qid, memif_buffer_t *bufs,
			uint16_t count, uint16_t *count_out);

/*
 * Publish `count` filled buffers (as returned by memif_buffer_alloc, in
 * order, chains included) and signal the peer unless it masked interrupts.
 * A trailing incomplete chain is not sent. *tx = buffers sent. Reserved
 * buffers that were not sent stay reserved, as upstream keeps them: the
 * next memif_tx_burst must start with them (or memif_set_next_free_buffer
 * gives them back). INVAL_ARG when bufs[0] is not the oldest reserved
 * buffer or a buffer is not the queue's next one; the reservations are then
 * all given back.
 */
int memif_tx_burst(memif_conn_handle_t conn, uint16_t qid, memif_buffer_t *bufs, uint16_t count,
		   uint16_t *tx);

/*
 * Take up to `count` received buffers from queue `qid` (a chained packet
 * spans several, flagged NEXT; only whole packets are returned unless one
 * packet alone exceeds `count`). *rx = buffers taken. Buffers stay valid
 * until given back with memif_refill_queue.
 * Returns SUCCESS when the ring is now empty (*rx may be 0: nothing
 * waited; the start of a chain whose rest is not published yet does not
 * count), NOBUF when more buffers wait than `count` allowed (call again),
 * NOCONN for a NULL handle, DISCONNECTED when the interface is not
 * connected or the peer broke the protocol, QID, INVAL_ARG.
 * Interrupts are level-triggered: in interrupt mode the queue's interrupt
 * (its eventfd, and so on_interrupt) stays pending until a call leaves the
 * ring empty, so an app that takes part of a burst per on_interrupt is
 * called again for the rest. In adaptive mode it also stays pending while
 * the queue spins (see MEMIF_RX_MODE_ADAPTIVE).
 */
int memif_rx_burst(memif_conn_handle_t conn, uint16_t qid, memif_buffer_t *bufs, uint16_t count,
		   uint16_t *rx);

/*
 * Give `count` received buffers back to the ring, oldest first. On a slave
 * they become empty buffers starting `headroom` bytes in. A count larger
 * than what is held (e.g. (uint16_t)-1 right after connecting) gives back
 * all that can be.
 */
int memif_refill_queue(memif_conn_handle_t conn, uint16_t qid, uint16_t count, uint16_t headroom);

/*
 * Slave only: zero-copy forwarding. Swaps the ring slots behind buf_a and
 * buf_b and then the two buffers' `queue` and `desc_index`: typically buf_a
 * was received and buf_b holds a transmit slot (reserved with
 * memif_buffer_alloc, or a received buffer placed by memif_buffer_enq_tx,
 * upstream's way), so afterwards buf_a's data sits in buf_b's transmit slot
 * and goes out with the next memif_tx_burst that includes buf_a (in buf_b's
 * place in the allocation order), while buf_b's old buffer is given back to
 * the receive ring by the next memif_refill_queue. Both buffers must be
 * held by the app (received and not refilled, or reserved and not sent)
 * and belong to this interface.
 * Returns SUCCESS, NOCONN for a NULL handle, DISCONNECTED when not
 * connected, INVAL_ARG for a master, a NULL buffer, a buffer that is not
 * held, or a transmit queue that carries app memory (memif_buffer_enq_tx).
 */
int memif_buffer_requeue(memif_conn_handle_t conn, memif_buffer_t *buf_a, memif_buffer_t *buf_b);

/*
 * Rewind transmit queue `qid` so that the next memif_buffer_alloc starts at
 * buf's slot: the buffers reserved from buf on (buf included) and not sent
 * are given back. A buf at the queue's next free slot (nothing reserved
 * since) changes nothing. Returns SUCCESS, NOCONN for a NULL handle,
 * DISCONNECTED when not connected, QID for a bad queue, INVAL_ARG when buf
 * is NULL or not a reserved, unsent buffer of that queue.
 */
int memif_set_next_free_buffer(memif_conn_handle_t conn, uint16_t qid, memif_buffer_t *buf);

/*
 * Register app-owned buffer memory for slave-side zero copy. Applies to
 * interfaces that connect after the call. Any callback may be NULL.
 */
void memif_register_external_region(memif_socket_handle_t sock, memif_add_external_region_t *ar,
				    memif_get_external_region_addr_t *gr,
				    memif_del_external_region_t *dr,
				    memif_get_external_buffer_offset_t *go);

#ifdef __cplusplus
}
#endif

#endif /* LIBMEMIF_H */
