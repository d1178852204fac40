/* SPDX-License-Identifier: MIT */
/*
 * fuzz_common.h - what the libFuzzer targets (fuzz_msg.c, fuzz_desc.c) and
 * the seed generator (make_seeds.c) share: the input formats, and the
 * oracles that turn a silent misbehaviour into a crash libFuzzer records.
 *
 * Input formats: a fuzzer input is a program for a small interpreter. The
 * format is documented here and in docs/fuzzing.md; make_seeds.c writes
 * valid programs with it (a full handshake, every message type, data-path
 * rounds), and the fuzzer mutates them.
 *
 * fuzz_msg (the control channel, both roles):
 *
 *   byte 0   configuration of the library's interface
 *            bit 0    role: 0 = the library is master (the harness plays
 *                     the slave), 1 = the library is slave
 *            bits 1-2 num_s2m_rings - 1
 *            bits 3-4 num_m2s_rings - 1
 *            bit 5    the interface has secret FZ_SECRET
 *            bit 6    log2_ring_size 10 (else FZ_LOG2_SMALL)
 *            bit 7    interface mode IP (else ethernet)
 *   then records, each an op byte (kind = op & 7, arg = op >> 3) and its
 *   operands:
 *     FZ_MSG      128 bytes: one datagram, no fd
 *     FZ_MSG_SHM  128 bytes: one datagram carrying a memfd of
 *                 4096 << (arg & 7) bytes filled with the ring cookie,
 *                 sealed against shrinking unless arg & 8
 *     FZ_MSG_EFD  128 bytes: one datagram carrying an eventfd
 *     FZ_MSG_RAW  a length byte L, then L bytes: one datagram of L bytes
 *                 (L != 128: a bad size) carrying (arg & 3) memfds
 *     FZ_MSG_2FD  128 bytes: one datagram carrying a memfd and an eventfd
 *     FZ_DATA     no operand: if the link is up, a data-path round on
 *                 every queue (refill, rx_burst, buffer_alloc of
 *                 64 << (arg & 3) bytes, tx_burst)
 *     FZ_HANGUP   no operand: the harness closes its end of the channel;
 *                 with arg & 1 it then opens a new one (connects to the
 *                 master, or asks the slave to connect again); with arg & 2
 *                 it keeps the channel open (up to 4) and opens another
 *     FZ_CTRL     no operand: arg & 16 first runs the socket timer's fault
 *                 check; then arg & 3 = 0 polling / 1 interrupt mode on rx
 *                 queue (arg >> 2) & 3, 2 memif_get_details, 3 ring details
 *   A missing operand tail reads as zeros. After every record the library
 *   runs (memif_poll_event with timeout 0) and the harness drains (and
 *   closes the fds of) whatever the library sent.
 *
 * fuzz_desc (the rings, on a connected pair):
 *
 *   records, each an op byte (op = b & 15) and a selector in its high
 *   nibble: side = bit 4 (0 slave, 1 master), rx = bit 5 (the side's
 *   receive queue, else its transmit queue), qid = bits 6-7. Operands:
 *     FD_HEAD, FD_TAIL, FD_FLAGS  u16: written into that ring field
 *     FD_DESC      u8 slot, 16 bytes: a raw descriptor
 *     FD_DESC_BUF  u8 slot, u8 buffer, u16 length, u8 flags: a descriptor
 *                  in region 1 at buffer * buffer_size
 *     FD_RX        u8 count: memif_rx_burst
 *     FD_ALLOC     u8 count, u16 size: memif_buffer_alloc
 *     FD_TX        u8 count, u8 tweak: memif_tx_burst of (the first count
 *                  of) the buffers reserved by FD_ALLOC / FD_ENQ since the
 *                  last FD_TX, in order (tweak & 1: first buffer's len =
 *                  tweak << 4; tweak & 2: last buffer's NEXT flag flipped)
 *     FD_REFILL    u8 count, u8 headroom: memif_refill_queue
 *     FD_RXMODE    u8 mode: memif_set_rx_mode (mode & 1)
 *     FD_TICK      none: both sockets polled, faults acted upon
 *     FD_ENQ       u8 count, u32 offset, u16 len: memif_buffer_enq_tx of
 *                  app buffers at that offset of region (offset >> 31)
 *     FD_DETAILS   none: interface and ring details
 *     FD_STATS     none: queue counters
 *     FD_HEAD_REL, FD_TAIL_REL  s8: the ring field moved by that much
 */
#ifndef MEMIF_FUZZ_COMMON_H
#define MEMIF_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "libmemif.h"

/* ---- fuzz_msg ------------------------------------------------------------ */

#define FZ_CFG_SLAVE 0x01
#define FZ_CFG_S2M(n) ((uint8_t)((((n)-1) & 3) << 1))
#define FZ_CFG_M2S(n) ((uint8_t)((((n)-1) & 3) << 3))
#define FZ_CFG_SECRET 0x20
#define FZ_CFG_BIG_RING 0x40
#define FZ_CFG_MODE_IP 0x80

#define FZ_SECRET "fuzz-secret"
#define FZ_LOG2_SMALL 4
#define FZ_LIB_ID 7 /* interface id of the library's interface */

enum fz_kind {
	FZ_MSG = 0,
	FZ_MSG_SHM,
	FZ_MSG_EFD,
	FZ_MSG_RAW,
	FZ_MSG_2FD,
	FZ_DATA,
	FZ_HANGUP,
	FZ_CTRL,
};

#define FZ_OP(kind, arg) ((uint8_t)(((arg) << 3) | (kind)))

/* ---- fuzz_desc ----------------------------------------------------------- */

enum fd_op {
	FD_HEAD = 0,
	FD_TAIL,
	FD_FLAGS,
	FD_DESC,
	FD_DESC_BUF,
	FD_RX,
	FD_ALLOC,
	FD_TX,
	FD_REFILL,
	FD_RXMODE,
	FD_TICK,
	FD_ENQ,
	FD_DETAILS,
	FD_STATS,
	FD_HEAD_REL,
	FD_TAIL_REL,
};

#define FD_SIDE_MASTER 0x10
#define FD_SEL_RX 0x20
#define FD_SEL_QID(q) ((uint8_t)(((q)&3) << 6))
#define FD_BYTE(op, sel) ((uint8_t)((op) | (sel)))

/* Configuration of fuzz_desc's pair (also known to the seed generator). */
#define FD_QUEUES 2
#define FD_LOG2 4
#define FD_BUFFER_SIZE 512

/* ---- oracles ------------------------------------------------------------- */

/* A finding: print it and crash, so libFuzzer saves the input. */
#define FZ_FAIL(...)                                          \
	do {                                                  \
		fprintf(stderr, "FUZZ ORACLE: " __VA_ARGS__); \
		fputc('\n', stderr);                          \
		abort();                                      \
	} while (0)

#define FZ_CHECK(cond, ...)                   \
	do {                                  \
		if (!(cond))                  \
			FZ_FAIL(__VA_ARGS__); \
	} while (0)

/*
 * MEMIF_FUZZ_TRACE=1 in the environment: print what an input does, step by
 * step (for reproducing a crash; far too slow for fuzzing).
 */
static inline bool fz_trace_on(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("MEMIF_FUZZ_TRACE") != NULL && getenv("MEMIF_FUZZ_TRACE")[0] == '1';
	return on;
}

#define FZ_TRACE(...)                                             \
	do {                                                      \
		if (fz_trace_on()) {                              \
			fprintf(stderr, "  trace: " __VA_ARGS__); \
			fputc('\n', stderr);                      \
		}                                                 \
	} while (0)

/* The regions of an interface as the library reports them. */
struct fz_regions {
	unsigned n;
	unsigned rxq, txq; /* queues of each direction */
	struct {
		uintptr_t addr;
		uint64_t size;
	} r[16];
};

/* Load an interface's regions; false if it is not connected. */
static inline bool fz_regions_load(memif_conn_handle_t conn, struct fz_regions *out)
{
	static char buf[16384];
	memif_details_t md;
	unsigned i;

	memset(&md, 0, sizeof(md));
	out->n = out->rxq = out->txq = 0;
	if (memif_get_details(conn, &md, buf, sizeof(buf)) != MEMIF_ERR_SUCCESS || !md.link_up_down)
		return false;
	for (i = 0; i < md.regions_num && i < 16; i++) {
		out->r[i].addr = (uintptr_t)md.regions[i].addr;
		out->r[i].size = md.regions[i].size;
	}
	out->n = i;
	out->rxq = md.rx_queues_num;
	out->txq = md.tx_queues_num;
	return true;
}

/* Does [p, p + len) lie inside one region? */
static inline bool fz_in_regions(const struct fz_regions *rg, const void *p, uint64_t len)
{
	uintptr_t a = (uintptr_t)p;
	unsigned i;

	for (i = 0; i < rg->n; i++) {
		if (a >= rg->r[i].addr && a - rg->r[i].addr <= rg->r[i].size &&
		    len <= rg->r[i].size - (a - rg->r[i].addr))
			return true;
	}
	return false;
}

/*
 * Every buffer the library hands out must lie inside a region of its
 * interface; then touch every byte (read for rx, write for tx), so that a
 * buffer in memory ASan tracks is checked by ASan as well.
 */
static inline uint32_t fz_check_bufs(const struct fz_regions *rg, memif_buffer_t *b, uint16_t n,
				     bool write, const char *what)
{
	uint32_t sum = 0;
	uint16_t i;

	for (i = 0; i < n; i++) {
		FZ_CHECK(b[i].data != NULL || b[i].len == 0, "%s: buffer %u has no data", what, i);
		FZ_CHECK(fz_in_regions(rg, b[i].data, b[i].len),
			 "%s: buffer %u [%p, +%u) lies outside the interface's regions", what, i,
			 b[i].data, b[i].len);
		if (write) {
			memset(b[i].data, 0xa5, b[i].len);
		} else {
			const volatile uint8_t *p = b[i].data;
			uint32_t k;

			for (k = 0; k < b[i].len; k++)
				sum += p[k];
		}
	}
	return sum;
}

/* ---- fd and mapping accounting ------------------------------------------- */

/*
 * The fds of the kinds the library creates: sockets, eventfds, timerfds,
 * epoll instances, memfds. Not pipes or files: the sanitizers open pipes to
 * llvm-symbolizer whenever libFuzzer prints a new function. With `dump`,
 * print them all.
 */
static inline int fz_lib_fds(bool dump)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[256];
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		ssize_t len;

		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		if (dump)
			fprintf(stderr, "  fd %s -> %s\n", e->d_name, target);
		n += !strncmp(target, "socket:", 7) || !strncmp(target, "anon_inode:", 11) ||
		     !strncmp(target, "/memfd:", 7);
	}
	closedir(d);
	return n;
}

/* Mappings of memfds ("/memfd:" in /proc/self/maps), or -1. */
static inline int fz_memfd_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "/memfd:") != NULL;
	fclose(f);
	return n;
}

#endif
