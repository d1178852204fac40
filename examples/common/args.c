/* SPDX-License-Identifier: MIT */
/*
 * args.c - command-line helpers; see args.h.
 */
#include "args.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ex_if_opts_init(struct ex_if_opts *o, bool is_master, const char *app_name)
{
	memset(o, 0, sizeof(*o));
	o->is_master = is_master;
	o->mode = MEMIF_INTERFACE_MODE_ETHERNET;
	o->queues = 1;
	snprintf(o->app_name, sizeof(o->app_name), "%s", app_name);
}

static int bad(const char *what, const char *arg, const char *why)
{
	fprintf(stderr, "error: invalid %s '%s': %s\n", what, arg, why);
	return -1;
}

int ex_if_opt(struct ex_if_opts *o, int opt, const char *arg)
{
	uint32_t v;

	switch (opt) {
	case 'S':
		if (strlen(arg) >= sizeof(o->socket_path))
			return bad("socket path", arg, "longer than 107 bytes");
		if (arg[0] == '\0')
			return bad("socket path", arg, "empty");
		snprintf(o->socket_path, sizeof(o->socket_path), "%s", arg);
		return 1;
	case 'm':
		o->is_master = true;
		return 1;
	case EX_OPT_SLAVE:
		o->is_master = false;
		return 1;
	case EX_OPT_ROLE:
		if (strcmp(arg, "master") == 0 || strcmp(arg, "server") == 0)
			o->is_master = true;
		else if (strcmp(arg, "slave") == 0 || strcmp(arg, "client") == 0)
			o->is_master = false;
		else
			return bad("role", arg, "expected master or slave");
		return 1;
	case 'I':
		if (ex_parse_u32(arg, 0, UINT32_MAX, &o->id) < 0)
			return bad("interface id", arg, "expected 0 to 4294967295");
		return 1;
	case 'k':
		if (strlen(arg) > MEMIF_SECRET_LEN)
			return bad("secret", arg, "longer than 24 bytes");
		snprintf(o->secret, sizeof(o->secret), "%s", arg);
		return 1;
	case 'M':
		if (strcmp(arg, "ethernet") == 0 || strcmp(arg, "eth") == 0)
			o->mode = MEMIF_INTERFACE_MODE_ETHERNET;
		else if (strcmp(arg, "ip") == 0)
			o->mode = MEMIF_INTERFACE_MODE_IP;
		else
			return bad("mode", arg, "expected ethernet or ip");
		return 1;
	case 'q':
		if (ex_parse_u32(arg, 1, 255, &v) < 0)
			return bad("queue count", arg, "expected 1 to 255");
		o->queues = (uint8_t)v;
		return 1;
	case 'R':
		if (ex_parse_u32(arg, 1, 14, &v) < 0)
			return bad("ring size", arg, "expected a log2 from 1 to 14");
		o->log2_ring_size = (uint8_t)v;
		return 1;
	case 'b':
		if (ex_parse_u32(arg, 64, 65535, &v) < 0)
			return bad("buffer size", arg, "expected 64 to 65535");
		o->buffer_size = (uint16_t)v;
		return 1;
	case 'p':
		o->polling = true;
		return 1;
	case EX_OPT_IF_NAME:
		if (strlen(arg) > MEMIF_NAME_LEN)
			return bad("interface name", arg, "longer than 32 bytes");
		snprintf(o->if_name, sizeof(o->if_name), "%s", arg);
		return 1;
	case EX_OPT_APP_NAME:
		if (strlen(arg) >= sizeof(o->app_name))
			return bad("application name", arg, "longer than 31 bytes");
		snprintf(o->app_name, sizeof(o->app_name), "%s", arg);
		return 1;
	default:
		return 0;
	}
}

void ex_if_opts_usage(FILE *f, const struct ex_if_opts *d)
{
	fprintf(f,
		"memif interface options:\n"
		"  -m, --master            be the master (listen on the socket)%s\n"
		"      --slave             be the slave (connect to the socket)%s\n"
		"      --role=ROLE         master or slave\n"
		"  -S, --socket=PATH       control socket; @NAME for an abstract socket\n"
		"                          (default %s)\n"
		"  -I, --id=N              interface id, matched between the two sides (default 0)\n"
		"  -k, --secret=STRING     shared secret, at most 24 bytes (default none)\n"
		"  -M, --mode=MODE         ethernet or ip (default %s)\n"
		"  -q, --queues=N          queues in each direction, 1 to 255 (default %u)\n"
		"  -R, --ring-log2=N       ring size as a power of two, 1 to 14 (default 10)\n"
		"  -b, --buffer-size=N     bytes per buffer, 64 to 65535 (default 2048)\n"
		"  -p, --polling           busy-poll the receive queues instead of waiting\n"
		"                          for interrupts\n"
		"      --if-name=NAME      interface name sent to the peer\n"
		"      --app-name=NAME     application name sent to the peer (default %s)\n",
		d->is_master ? " (default)" : "", d->is_master ? "" : " (default)",
		MEMIF_DEFAULT_SOCKET_PATH, ex_mode_str(d->mode), d->queues, d->app_name);
}

void ex_if_socket_args(const struct ex_if_opts *o, memif_socket_args_t *sargs,
		       memif_control_fd_update_t *on_control_fd_update)
{
	memset(sargs, 0, sizeof(*sargs));
	memcpy(sargs->path, o->socket_path, sizeof(sargs->path));
	snprintf(sargs->app_name, sizeof(sargs->app_name), "%s", o->app_name);
	/* A disconnected slave retries every 2 s (also the library default). */
	sargs->connection_request_timer.it_value.tv_sec = 2;
	sargs->connection_request_timer.it_interval.tv_sec = 2;
	sargs->on_control_fd_update = on_control_fd_update;
}

void ex_if_conn_args(const struct ex_if_opts *o, memif_socket_handle_t sock,
		     uint32_t id_offset, memif_conn_args_t *args)
{
	memset(args, 0, sizeof(*args));
	args->socket = sock;
	memcpy(args->secret, o->secret, strlen(o->secret));
	args->num_s2m_rings = o->queues;
	args->num_m2s_rings = o->queues;
	args->buffer_size = o->buffer_size;
	args->log2_ring_size = o->log2_ring_size;
	args->is_master = o->is_master ? 1 : 0;
	args->interface_id = o->id + id_offset;
	if (o->if_name[0])
		memcpy(args->interface_name, o->if_name, strlen(o->if_name));
	else
		snprintf((char *)args->interface_name, sizeof(args->interface_name), "memif%u",
			 (unsigned)args->interface_id);
	args->mode = o->mode;
}

const char *ex_if_socket_name(const struct ex_if_opts *o)
{
	return o->socket_path[0] ? o->socket_path : MEMIF_DEFAULT_SOCKET_PATH;
}

const char *ex_role_str(bool is_master)
{
	return is_master ? "master" : "slave";
}

const char *ex_mode_str(unsigned mode)
{
	switch (mode) {
	case MEMIF_INTERFACE_MODE_ETHERNET:
		return "ethernet";
	case MEMIF_INTERFACE_MODE_IP:
		return "ip";
	case MEMIF_INTERFACE_MODE_PUNT_INJECT:
		return "punt-inject";
	default:
		return "unknown";
	}
}

int ex_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int ex_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || *s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end != '\0' || !(v >= min && v <= max))
		return -1;
	*out = v;
	return 0;
}

int ex_parse_ipv4(const char *s, uint8_t ip[4])
{
	unsigned part = 0, digits = 0, n = 0;
	uint8_t tmp[4];

	for (const char *p = s;; p++) {
		if (*p >= '0' && *p <= '9') {
			if (digits == 3 || (digits > 0 && part == 0))
				return -1; /* too long, or a leading zero */
			part = part * 10 + (unsigned)(*p - '0');
			digits++;
			if (part > 255)
				return -1;
		} else if (*p == '.' || *p == '\0') {
			if (digits == 0 || n == 4)
				return -1;
			tmp[n++] = (uint8_t)part;
			part = 0;
			digits = 0;
			if (*p == '\0')
				break;
		} else {
			return -1;
		}
	}
	if (n != 4)
		return -1;
	memcpy(ip, tmp, 4);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ex_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t tmp[6];

	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		tmp[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, tmp, 6);
	return 0;
}

char *ex_fmt_ipv4(const uint8_t ip[4], char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
	return buf;
}

char *ex_fmt_mac(const uint8_t mac[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	return buf;
}

void ex_stdio_init(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int null_fd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (null_fd >= 0 && null_fd != fd) {
			/* Lower fds are open by now, so this cannot happen; be safe. */
			dup2(null_fd, fd);
			close(null_fd);
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
}
