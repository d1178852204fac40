/* SPDX-License-Identifier: MIT */
/*
 * args.h - command-line helpers shared by the example programs.
 *
 * Every example that creates a memif interface accepts the same interface
 * options (role, socket, id, secret, mode, queues, ring size, buffer size,
 * rx mode). Add EX_IF_SHORT_OPTS to the getopt string and EX_IF_LONG_OPTS to
 * the struct option array, and pass each option to ex_if_opt() first.
 */
#ifndef EX_ARGS_H
#define EX_ARGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <libmemif.h>

/* Exit codes of the examples. */
#define EX_EXIT_OK 0
#define EX_EXIT_FAIL 1  /* the run failed (no connection, lost replies...) */
#define EX_EXIT_USAGE 2 /* bad command line */

/* Long-only option codes (short options are plain characters). */
enum {
	EX_OPT_SLAVE = 0x100,
	EX_OPT_ROLE,
	EX_OPT_IF_NAME,
	EX_OPT_APP_NAME,
	EX_OPT_APP_FIRST = 0x200, /* apps number their own long-only options from here */
};

#define EX_IF_SHORT_OPTS "S:mI:k:M:q:R:b:p"

#define EX_IF_LONG_OPTS                                                   \
	{ "socket", required_argument, NULL, 'S' },                       \
	{ "master", no_argument, NULL, 'm' },                             \
	{ "slave", no_argument, NULL, EX_OPT_SLAVE },                     \
	{ "role", required_argument, NULL, EX_OPT_ROLE },                 \
	{ "id", required_argument, NULL, 'I' },                           \
	{ "secret", required_argument, NULL, 'k' },                       \
	{ "mode", required_argument, NULL, 'M' },                         \
	{ "queues", required_argument, NULL, 'q' },                       \
	{ "ring-log2", required_argument, NULL, 'R' },                    \
	{ "buffer-size", required_argument, NULL, 'b' },                  \
	{ "polling", no_argument, NULL, 'p' },                            \
	{ "if-name", required_argument, NULL, EX_OPT_IF_NAME },           \
	{ "app-name", required_argument, NULL, EX_OPT_APP_NAME }

/* Interface options as given on the command line. */
struct ex_if_opts {
	bool is_master;
	char socket_path[108];       /* "" = the library default */
	uint32_t id;
	char secret[MEMIF_SECRET_LEN + 1];
	memif_interface_mode_t mode;
	uint8_t queues;              /* per direction */
	uint8_t log2_ring_size;      /* 0 = library default (10) */
	uint16_t buffer_size;        /* 0 = library default (2048) */
	bool polling;
	char if_name[MEMIF_NAME_LEN + 1];
	char app_name[32];
};

/* Defaults: the given role, library socket, id 0, ethernet, one queue. */
void ex_if_opts_init(struct ex_if_opts *o, bool is_master, const char *app_name);

/*
 * Handle one getopt result. Returns 1 if it was an interface option, 0 if
 * not (the caller handles it), -1 if its argument is bad (message printed).
 */
int ex_if_opt(struct ex_if_opts *o, int opt, const char *arg);

/* Print the interface options' help text. */
void ex_if_opts_usage(FILE *f, const struct ex_if_opts *defaults);

/* Fill socket arguments (path, app name, our epoll updater). */
void ex_if_socket_args(const struct ex_if_opts *o, memif_socket_args_t *sargs,
		       memif_control_fd_update_t *on_control_fd_update);

/* Fill interface arguments; `id_offset` is added to the id. */
void ex_if_conn_args(const struct ex_if_opts *o, memif_socket_handle_t sock,
		     uint32_t id_offset, memif_conn_args_t *args);

/* The socket path as the library will use it (for messages). */
const char *ex_if_socket_name(const struct ex_if_opts *o);

/* "master" / "slave", "ethernet" / "ip" / "punt-inject". */
const char *ex_role_str(bool is_master);
const char *ex_mode_str(unsigned mode);

/* Strict number parsers: the whole string, in range; 0 on success, -1 if not. */
int ex_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
int ex_parse_double(const char *s, double min, double max, double *out);

/* a.b.c.d into 4 bytes (network order). 0 / -1. */
int ex_parse_ipv4(const char *s, uint8_t ip[4]);
/* xx:xx:xx:xx:xx:xx into 6 bytes. 0 / -1. */
int ex_parse_mac(const char *s, uint8_t mac[6]);

/* Text forms into caller storage (at least 16 and 18 bytes). */
char *ex_fmt_ipv4(const uint8_t ip[4], char *buf);
char *ex_fmt_mac(const uint8_t mac[6], char *buf);

/*
 * Make sure fds 0, 1 and 2 are open (on /dev/null if not), so no fd the
 * library creates later is mistaken for stdin or written to as stdout, and
 * make stdout line buffered so logs read from a file or pipe are current.
 */
void ex_stdio_init(void);

#endif /* EX_ARGS_H */
