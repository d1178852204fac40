/* SPDX-License-Identifier: MIT */
/*
 * region.c - shared memory regions: the slave lays out and creates them,
 * the master checks every announced region and ring against the real fd
 * size before mapping or touching it.
 *
 * Slave layout: region 0 holds the rings (S2M first, then M2S); buffer
 * regions follow, each ring's buffers contiguous in one region, a new
 * region whenever one would pass MEMIF__MAX_BUFFER_REGION.
 *
 * A small ring gets more buffers than slots (a power of two times as many,
 * used lap after lap: ring index i uses buffer i & buf_mask). With only one
 * buffer per slot, a buffer is written again while the receiving core
 * still caches it from the last lap, and each of those writes waits on a
 * cross-core invalidation; measured on a 2-vCPU EPYC, 1500-byte frames
 * went about 30% faster once a ring's buffers spanned 4 MiB or more.
 * The protocol allows it: descriptors carry each buffer's offset.
 *
 * A failure is returned, with its reason in `why` (MEMIF__WHY_LEN bytes)
 * where there is more to say than the code: the connection's owner
 * (conn.c) records it. Nothing here calls up into conn.c or queue.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "msg.h"
#include "os.h"
#include "private.h"
#include "ring.h"

int memif__region_bounds_ok(const struct memif__region *r, uint64_t offset, uint64_t len)
{
	return memif__ring_span_ok(r->size, offset, len);
}

static uint64_t ring_bytes(uint8_t log2)
{
	return sizeof(memif_ring_t) + ((uint64_t)sizeof(memif_desc_t) << log2);
}

static int add_region(struct memif__conn *c, uint64_t size, char *why)
{
	struct memif__region *arr;

	if (c->regions_num > c->max_region) {
		snprintf(why, MEMIF__WHY_LEN,
			 "layout needs more regions than the master allows (%u)",
			 c->max_region + 1u);
		return MEMIF__E(MEMIF_ERR_MAXREG);
	}
	arr = memif__realloc(c->sock, c->regions, sizeof(*arr) * (c->regions_num + 1u));
	if (!arr)
		return MEMIF__E(MEMIF_ERR_NOMEM);
	c->regions = arr;
	memset(&arr[c->regions_num], 0, sizeof(*arr));
	arr[c->regions_num].size = size;
	arr[c->regions_num].fd = -1;
	return c->regions_num++;
}

static int create_region(struct memif__conn *c, struct memif__region *r, bool buffers, char *why)
{
	struct memif__socket *s = c->sock;
	char name[48];
	int err;

	if (buffers && s->ext_add) {
		void *addr = NULL;
		int fd = -1;

		if (r->size > UINT32_MAX)
			return MEMIF__E(MEMIF_ERR_INVAL_ARG);
		if (s->ext_add(&addr, (uint32_t)r->size, &fd, c->private_ctx) != 0 || !addr ||
		    fd < 0) {
			snprintf(why, MEMIF__WHY_LEN, "the app's add_external_region failed");
			return MEMIF__E(MEMIF_ERR_NOMEM);
		}
		r->addr = addr;
		r->fd = fd;
		r->is_external = true;
		/* The app's memory: report its seals, never add any. */
		r->sealed = memif__os_shrink_sealed(fd);
		return 0;
	}
	snprintf(name, sizeof(name), "memif region %u", (unsigned)(r - c->regions));
	r->fd = memif__os_memfd(name, r->size, &r->sealed);
	if (r->fd < 0) {
		err = r->fd;
		r->fd = -1;
		snprintf(why, MEMIF__WHY_LEN, "cannot create shared memory: %s", strerror(-err));
		return err;
	}
	err = memif__os_mmap(r->fd, r->size, &r->addr);
	if (err) {
		memif__os_close(&r->fd);
		snprintf(why, MEMIF__WHY_LEN, "cannot map shared memory: %s", strerror(-err));
		return err;
	}
	if (!r->sealed)
		LOG_WARN("%s: our region %u could not be sealed against shrinking: a master that "
			 "truncates it makes our next access to it raise SIGBUS",
			 c->if_name, (unsigned)(r - c->regions));
	return 0;
}

static void init_ring(struct memif__queue *q)
{
	memif_ring_t *ring = q->ring;

	memset(ring, 0, (size_t)ring_bytes(q->log2));
	ring->cookie = MEMIF_COOKIE;
	ring->flags = q->polling ? MEMIF_RING_FLAG_MASK_INT : 0;
}

/*
 * log2 of the buffers per ring slot (see the top of this file). By default
 * laps are added until a ring's buffers span MEMIF__BUFFER_SPAN, but only
 * while the interface's buffers stay within max(upstream's layout, one lap
 * per slot, and MEMIF__BUFFER_BUDGET): the default interface (one queue
 * pair of 1024 x 2048 B) gets 8 MiB where upstream maps 4, an interface of
 * many queues no more than upstream. memif_set_socket_buffer_laps overrides
 * it.
 */
static uint8_t buffer_laps_log2(const struct memif__conn *c)
{
	uint64_t ring = ((uint64_t)c->buffer_size) << c->log2_ring;
	uint64_t nq = (uint64_t)c->num_s2m + c->num_m2s;
	uint64_t budget = MEMIF_MAX(nq * ring, MEMIF__BUFFER_BUDGET);
	uint8_t want = c->sock->buffer_laps, l = 0;

	/* App-supplied buffer memory is sized by the app: keep to one lap. */
	if (c->sock->ext_add)
		return 0;
	for (;;) {
		uint8_t n = (uint8_t)(l + 1);

		if (n > MEMIF__MAX_BUFFER_LAPS_LOG2 || c->log2_ring + n >= 15 ||
		    (ring << n) > MEMIF__MAX_BUFFER_REGION)
			break;
		if (want ? (1u << n) > want :
			   (ring << l) >= MEMIF__BUFFER_SPAN || nq * (ring << n) > budget)
			break;
		l = n;
	}
	return l;
}

/* Slave: lay out, create and map the regions of the queues conn.c set up. */
int memif__region_slave_setup(struct memif__conn *c, char *why)
{
	uint16_t nq = (uint16_t)(c->num_s2m + c->num_m2s);
	uint64_t rb = ring_bytes(c->log2_ring);
	uint8_t laps = buffer_laps_log2(c);
	uint64_t bb = ((uint64_t)c->buffer_size << c->log2_ring) << laps;
	uint64_t used = 0;
	uint16_t i, cur = 0;
	int err;

	err = add_region(c, rb * nq, why);
	if (err < 0)
		goto err_release;
	for (i = 0; i < nq; i++) {
		struct memif__queue *q = i < c->num_s2m ? &c->txq[i] : &c->rxq[i - c->num_s2m];

		q->ring_region = 0;
		/* At most 510 rings of at most 128 + 16 * 2^14 bytes: fits 32 bits. */
		q->ring_offset = (uint32_t)(rb * i);
		if (cur == 0 || used + bb > MEMIF__MAX_BUFFER_REGION) {
			err = add_region(c, 0, why);
			if (err < 0)
				goto err_release;
			cur = (uint16_t)err;
			used = 0;
		}
		q->buf_region = cur;
		q->buf_base = (uint32_t)used;
		q->buf_mask = (uint16_t)((1u << (c->log2_ring + laps)) - 1u);
		used += bb;
		c->regions[cur].size = used;
	}
	for (i = 0; i < c->regions_num; i++) {
		err = create_region(c, &c->regions[i], i > 0, why);
		if (err)
			goto err_release;
	}
	for (i = 0; i < nq; i++) {
		struct memif__queue *q = i < c->num_s2m ? &c->txq[i] : &c->rxq[i - c->num_s2m];

		q->regions = c->regions;
		q->regions_num = c->regions_num;
		q->ring = (memif_ring_t *)((uint8_t *)c->regions[0].addr + q->ring_offset);
		init_ring(q);
	}
	return 0;

err_release:
	memif__region_release(c, false);
	return err;
}

int memif__region_master_add(struct memif__conn *c, uint16_t index, uint64_t size, int *fd,
			     char *why)
{
	struct memif__socket *s = c->sock;
	struct memif__region *r;
	uint64_t real;
	bool sealed;
	int err;

	if (index > MEMIF__MAX_REGION) {
		snprintf(why, MEMIF__WHY_LEN, "region index %u above the limit", index);
		return MEMIF__E(MEMIF_ERR_MAXREG);
	}
	/*
	 * Seal first, so that for a sealed region the size checked below is the
	 * size it keeps: a peer that shrinks the file under our mapping makes
	 * our next access to the lost pages raise SIGBUS. Not every peer's fd
	 * can be sealed (VPP's hugepage buffer memfds, DPDK's memory segments
	 * in zero-copy mode): by default such a region is mapped anyway, at
	 * that risk, as upstream libmemif, VPP and DPDK do; a socket in strict
	 * mode (memif_set_socket_require_sealed) refuses it.
	 */
	sealed = memif__os_seal_shrink(*fd) == 0;
	err = memif__os_fd_size(*fd, &real);
	if (err) {
		snprintf(why, MEMIF__WHY_LEN, "region %u: fd is not shared memory", index);
		return MEMIF__E(MEMIF_ERR_NO_SHMFD);
	}
	if (size > real) {
		/* Mapping past the file's end would make every access a SIGBUS. */
		snprintf(why, MEMIF__WHY_LEN,
			 "region %u: announced size %llu exceeds its file (%llu)", index,
			 (unsigned long long)size, (unsigned long long)real);
		return MEMIF__E(MEMIF_ERR_MFMSG);
	}
	if (!sealed && s->require_sealed) {
		snprintf(why, MEMIF__WHY_LEN,
			 "region %u is not sealed against shrinking (strict mode)", index);
		return MEMIF__E(MEMIF_ERR_NO_SHMFD);
	}
	c->max_region = MEMIF__MAX_REGION;
	err = add_region(c, size, why);
	if (err < 0)
		return err;
	r = &c->regions[err];
	if (s->ext_get) {
		if (size > UINT32_MAX ||
		    !(r->addr = s->ext_get((uint32_t)size, *fd, c->private_ctx)))
			err = MEMIF__E(MEMIF_ERR_NOMEM);
		else
			err = 0;
		r->is_external = err == 0;
	} else {
		err = memif__os_mmap(*fd, size, &r->addr);
	}
	if (err) {
		c->regions_num--;
		snprintf(why, MEMIF__WHY_LEN, "region %u: cannot map it", index);
		return err;
	}
	r->fd = *fd;
	*fd = -1;
	r->sealed = sealed;
	if (!sealed)
		LOG_WARN("%s: region %u is not sealed against shrinking, mapped anyway: if the "
			 "peer truncates it, our next access to the lost pages raises SIGBUS",
			 c->if_name, index);
	return 0;
}

int memif__region_check_ring(struct memif__conn *c, const struct memif__ring_info *ri, char *why)
{
	if (ri->region >= c->regions_num) {
		snprintf(why, MEMIF__WHY_LEN, "ring in unknown region %u", ri->region);
		return MEMIF__E(MEMIF_ERR_MFMSG);
	}
	/* The ring's index fields are accessed atomically: keep them aligned. */
	if (ri->offset % 8 != 0 ||
	    !memif__region_bounds_ok(&c->regions[ri->region], ri->offset, ring_bytes(ri->log2))) {
		snprintf(why, MEMIF__WHY_LEN, "ring at offset %u does not fit region %u",
			 ri->offset, ri->region);
		return MEMIF__E(MEMIF_ERR_MFMSG);
	}
	return 0;
}

/* Keep a mapping of this generation for memif__region_reap; false: no memory. */
static bool stale_add(struct memif__conn *c, struct memif__region *r)
{
	struct memif__stale *arr;

	arr = memif__realloc(c->sock, c->stale, sizeof(*arr) * (c->stale_num + 1u));
	if (!arr)
		return false; /* unmapped now: the app broke no rule but may fault */
	c->stale = arr;
	arr[c->stale_num++] =
		(struct memif__stale){ .addr = r->addr, .size = r->size, .gen = c->gen };
	r->addr = NULL;
	return true;
}

/* keep_mapped: app threads still hold buffers (memif__queues_quiesce said so). */
void memif__region_release(struct memif__conn *c, bool keep_mapped)
{
	struct memif__socket *s = c->sock;
	uint16_t i;

	for (i = 0; i < c->regions_num; i++) {
		struct memif__region *r = &c->regions[i];

		if (r->is_external) {
			if (s->ext_del)
				(void)s->ext_del(r->addr, (uint32_t)r->size, r->fd, c->private_ctx);
			r->addr = NULL;
			if (c->args.is_master)
				memif__os_close(&r->fd);
			r->fd = -1; /* the slave's external fd belongs to the app */
		} else {
			if (!keep_mapped || !stale_add(c, r))
				memif__os_munmap(&r->addr, r->size);
			memif__os_close(&r->fd);
		}
	}
	memif__free(s, c->regions);
	c->regions = NULL;
	c->regions_num = 0;
}

/*
 * Does an app thread still hold buffers of generation gen? Pairs with the
 * store-release of held_gen in dp.h (queue_leave): once it moved on,
 * the thread's reads of those buffers are behind us.
 */
static bool stale_held(const struct memif__conn *c, uint32_t gen)
{
	uint16_t i;

	for (i = 0; i < MEMIF__MAX_QUEUES; i++)
		if (memif__load_acquire(&c->rx_ref[i].held_gen) == gen ||
		    memif__load_acquire(&c->tx_ref[i].held_gen) == gen)
			return true;
	return false;
}

/* Unmap what no app thread can read any more (all of it when forced: delete). */
void memif__region_reap(struct memif__conn *c, bool force)
{
	uint16_t i = 0;

	while (i < c->stale_num) {
		struct memif__stale *st = &c->stale[i];

		if (!force && stale_held(c, st->gen)) {
			i++;
			continue;
		}
		memif__os_munmap(&st->addr, st->size);
		c->stale[i] = c->stale[--c->stale_num];
	}
	if (c->stale_num == 0 && c->stale) {
		memif__free(c->sock, c->stale);
		c->stale = NULL;
	}
}
