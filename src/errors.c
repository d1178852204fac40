/* SPDX-License-Identifier: MIT */
/* errors.c - memif_strerror and the one mapping from internal errors to MEMIF_ERR_*. */
#include <errno.h>

#include "private.h"

static const char *const err_text[] = {
	[MEMIF_ERR_SUCCESS] = "Success.",
	[MEMIF_ERR_SYSCALL] = "A system call failed (set MEMIF_LOG=1 for details).",
	[MEMIF_ERR_CONNREFUSED] = "Connection refused: nobody listens on the socket.",
	[MEMIF_ERR_ACCES] = "Permission denied.",
	[MEMIF_ERR_NO_FILE] = "No such file or directory.",
	[MEMIF_ERR_FILE_LIMIT] = "The system-wide limit on open files was reached.",
	[MEMIF_ERR_PROC_FILE_LIMIT] = "The per-process limit on open files was reached.",
	[MEMIF_ERR_ALREADY] =
		"Already in use or in progress (e.g. a live process listens on this socket path).",
	[MEMIF_ERR_AGAIN] = "Resource temporarily unavailable, try again.",
	[MEMIF_ERR_BAD_FD] = "Bad file descriptor.",
	[MEMIF_ERR_NOMEM] = "Out of memory.",
	[MEMIF_ERR_INVAL_ARG] = "Invalid argument or handle.",
	[MEMIF_ERR_NOCONN] = "The interface is not connected.",
	[MEMIF_ERR_CONN] = "The interface is already connected or connecting.",
	[MEMIF_ERR_CB_FDUPDATE] = "The application's on_control_fd_update callback failed.",
	[MEMIF_ERR_FILE_NOT_SOCK] = "The socket path exists and is not a socket.",
	[MEMIF_ERR_NO_SHMFD] = "A memory region's file descriptor is missing or unusable.",
	[MEMIF_ERR_COOKIE] = "A ring has a wrong cookie.",
	[MEMIF_ERR_NOBUF_RING] = "The ring has fewer buffers than requested.",
	[MEMIF_ERR_NOBUF] = "Not enough buffers (memif_rx_burst: more packets wait, call again).",
	[MEMIF_ERR_NOBUF_DET] = "The buffer given for details is too small.",
	[MEMIF_ERR_INT_WRITE] = "Writing an interrupt failed.",
	[MEMIF_ERR_MFMSG] = "Malformed control message.",
	[MEMIF_ERR_QID] = "No such queue.",
	[MEMIF_ERR_PROTO] = "Incompatible memif protocol version.",
	[MEMIF_ERR_ID] = "No interface with this id, or the id is taken.",
	[MEMIF_ERR_ACCSLAVE] = "A slave cannot accept connections.",
	[MEMIF_ERR_ALRCONN] = "The interface is already connected to another peer.",
	[MEMIF_ERR_MODE] = "Interface mode mismatch.",
	[MEMIF_ERR_SECRET] = "Secret mismatch.",
	[MEMIF_ERR_NOSECRET] = "A secret is required.",
	[MEMIF_ERR_MAXREG] = "Too many memory regions.",
	[MEMIF_ERR_MAXRING] = "Too many rings.",
	[MEMIF_ERR_NO_INTFD] = "A ring message came without its interrupt file descriptor.",
	[MEMIF_ERR_DISCONNECT] = "The peer disconnected.",
	[MEMIF_ERR_DISCONNECTED] = "The interface is disconnected.",
	[MEMIF_ERR_UNKNOWN_MSG] = "Unknown or unexpected control message.",
	[MEMIF_ERR_POLL_CANCEL] = "memif_poll_event was cancelled.",
	[MEMIF_ERR_MAX_RING] = "Ring size too large.",
	[MEMIF_ERR_PRIVHDR] = "Private headers are not supported.",
};

MEMIF_EXPORT char *memif_strerror(int err_code)
{
	if (err_code < 0 || (size_t)err_code >= ARRAY_SIZE(err_text) || !err_text[err_code])
		return (char *)"Unknown error code (not a memif_err_t value).";
	return (char *)err_text[err_code];
}

int memif__err_public(int err)
{
	if (err >= 0)
		return MEMIF_ERR_SUCCESS;
	if (err <= -MEMIF__EBASE)
		return -err - MEMIF__EBASE;
	switch (-err) {
	case EACCES:
	case EPERM:
		return MEMIF_ERR_ACCES;
	case ENOENT:
		return MEMIF_ERR_NO_FILE;
	case ENFILE:
		return MEMIF_ERR_FILE_LIMIT;
	case EMFILE:
		return MEMIF_ERR_PROC_FILE_LIMIT;
	case EALREADY:
	case EADDRINUSE:
	case EISCONN:
		return MEMIF_ERR_ALREADY;
	case EAGAIN:
		return MEMIF_ERR_AGAIN;
	case EBADF:
		return MEMIF_ERR_BAD_FD;
	case ENOMEM:
		return MEMIF_ERR_NOMEM;
	case EINVAL:
		return MEMIF_ERR_INVAL_ARG;
	case ECONNREFUSED:
		return MEMIF_ERR_CONNREFUSED;
	case ENOTSOCK:
		return MEMIF_ERR_FILE_NOT_SOCK;
	default:
		return MEMIF_ERR_SYSCALL;
	}
}
