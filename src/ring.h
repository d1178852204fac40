/* SPDX-License-Identifier: MIT */
/*
 * ring.h - ring index arithmetic and descriptor checks, shared by the data
 * path and the unit tests. Indexes are free-running u16 counters; the ring
 * size is a power of two of at most 2^14, so u16 differences are exact.
 */
#ifndef MEMIF_RING_H
#define MEMIF_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "memif.h"

/* Entries between a consumer index and a producer index. */
static inline uint16_t memif__ring_count(uint16_t prod, uint16_t cons)
{
	return (uint16_t)(prod - cons);
}

/* Free entries for a producer at `prod` whose consumer is at `cons`. */
static inline uint32_t memif__ring_free(uint32_t size, uint16_t prod, uint16_t cons)
{
	return size - memif__ring_count(prod, cons);
}

/*
 * A peer's index is plausible only if it lies within `size` entries of
 * ours, in the direction it may move: anything else is a protocol error.
 */
static inline bool memif__ring_ahead_ok(uint16_t peer, uint16_t ours, uint32_t size)
{
	return memif__ring_count(peer, ours) <= size;
}

/*
 * Does [offset, offset + length) lie inside a region of `region_size`? The
 * one bounds check of the library: no sum that could wrap, for any 64-bit
 * operands (descriptors carry u32s, ring placement u64s).
 */
static inline bool memif__ring_span_ok(uint64_t region_size, uint64_t offset, uint64_t length)
{
	return offset <= region_size && length <= region_size - offset;
}

#endif
