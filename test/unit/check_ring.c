/* SPDX-License-Identifier: MIT */
/*
 * check_ring.c - ring index arithmetic (src/ring.h) and the descriptor
 * bounds checks the data path builds on (memif__ring_span_ok and region.c's
 * memif__region_bounds_ok).
 *
 * Indexes are free-running u16 counters: every helper is checked on both
 * sides of the 0xffff -> 0 wrap, at the exact ring-size boundary, for the
 * smallest (1) and largest (2^14) rings, and with a peer index behind ours.
 * Span checks are checked where a 32-bit sum would wrap (offset + length
 * beyond 4 GiB). The two-thread ring test is check_ring_thread.c.
 */
#include <stdint.h>

#include "helpers.h"
#include "private.h"
#include "ring.h"

START_TEST(test_count)
{
	ck_assert_uint_eq(memif__ring_count(0, 0), 0);
	ck_assert_uint_eq(memif__ring_count(5, 2), 3);
	ck_assert_uint_eq(memif__ring_count(0xffff, 0xffff), 0);
	/* Across the wrap. */
	ck_assert_uint_eq(memif__ring_count(0, 0xffff), 1);
	ck_assert_uint_eq(memif__ring_count(5, 0xfffe), 7);
	ck_assert_uint_eq(memif__ring_count(0x3fff, 0xc000), 0x7fff);
	/* A producer "behind" the consumer reads as a huge count, never negative. */
	ck_assert_uint_eq(memif__ring_count(0, 1), 0xffff);
	ck_assert_uint_eq(memif__ring_count(0x8000, 0), 0x8000);

	/* Every position of the counter, a full ring apart. */
	for (uint32_t c = 0; c <= 0xffff; c++)
		ck_assert_uint_eq(memif__ring_count((uint16_t)(c + 1024), (uint16_t)c), 1024);
}
END_TEST

START_TEST(test_free)
{
	ck_assert_uint_eq(memif__ring_free(1024, 0, 0), 1024);
	ck_assert_uint_eq(memif__ring_free(1024, 1024, 0), 0);
	ck_assert_uint_eq(memif__ring_free(1024, 1000, 0), 24);
	/* Wrapped producer. */
	ck_assert_uint_eq(memif__ring_free(1024, 3, 0xfffd), 1024 - 6);
	ck_assert_uint_eq(memif__ring_free(1024, (uint16_t)(0xff00 + 1024), 0xff00), 0);
	/* Size 1 and 2^14. */
	ck_assert_uint_eq(memif__ring_free(1, 0xffff, 0xffff), 1);
	ck_assert_uint_eq(memif__ring_free(1, 0, 0xffff), 0);
	ck_assert_uint_eq(memif__ring_free(1u << 14, 0x2000, 0xe000), 0);
	ck_assert_uint_eq(memif__ring_free(1u << 14, 0x1fff, 0xe000), 1);

	for (uint32_t c = 0; c <= 0xffff; c += 7) {
		for (uint32_t used = 0; used <= 256; used += 64)
			ck_assert_uint_eq(memif__ring_free(256, (uint16_t)(c + used), (uint16_t)c),
					  256 - used);
	}
}
END_TEST

START_TEST(test_ahead_ok)
{
	static const uint32_t sizes[] = { 1, 2, 256, 1024, 1u << 14 };

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint32_t size = sizes[i];
		static const uint16_t bases[] = { 0, 1, 0x7fff, 0xfff0, 0xffff };

		for (size_t j = 0; j < ARRAY_SIZE(bases); j++) {
			uint16_t ours = bases[j];

			ck_assert(memif__ring_ahead_ok(ours, ours, size));
			ck_assert(memif__ring_ahead_ok((uint16_t)(ours + 1), ours, size));
			/* Exactly a ring ahead: full, still plausible. */
			ck_assert_msg(memif__ring_ahead_ok((uint16_t)(ours + size), ours, size),
				      "size %u ours 0x%x: +size rejected", size, ours);
			/* One past: a protocol error. */
			ck_assert_msg(!memif__ring_ahead_ok((uint16_t)(ours + size + 1), ours,
							    size),
				      "size %u ours 0x%x: +size+1 accepted", size, ours);
			/* Behind ours (moved backwards): a protocol error. */
			ck_assert_msg(!memif__ring_ahead_ok((uint16_t)(ours - 1), ours, size),
				      "size %u ours 0x%x: -1 accepted", size, ours);
			ck_assert(!memif__ring_ahead_ok((uint16_t)(ours + 0x8000), ours, size));
		}
	}
}
END_TEST

/* Walking a whole u16 period one ring at a time never trips the check. */
START_TEST(test_ahead_ok_walk)
{
	uint16_t ours = 0xfc00;
	uint32_t wraps = 0;

	for (uint32_t step = 0; step < 3 * 64 + 5; step++) {
		uint16_t peer = (uint16_t)(ours + 1024);

		ck_assert(memif__ring_ahead_ok(peer, ours, 1024));
		ck_assert(!memif__ring_ahead_ok((uint16_t)(peer + 1), ours, 1024));
		if (peer < ours)
			wraps++;
		ours = peer;
	}
	ck_assert_uint_gt(wraps, 2);
}
END_TEST

START_TEST(test_span_ok)
{
	ck_assert(memif__ring_span_ok(4096, 0, 4096));
	ck_assert(memif__ring_span_ok(4096, 4096, 0));
	ck_assert(memif__ring_span_ok(4096, 2048, 2048));
	ck_assert(!memif__ring_span_ok(4096, 1, 4096));
	ck_assert(!memif__ring_span_ok(4096, 4096, 1));
	ck_assert(!memif__ring_span_ok(4096, 4097, 0));
	ck_assert(!memif__ring_span_ok(0, 0, 1));
	ck_assert(memif__ring_span_ok(0, 0, 0));

	/* A 32-bit sum would wrap to a small number here; the check must not. */
	ck_assert(!memif__ring_span_ok(4096, 0xffffffffu, 1));
	ck_assert(!memif__ring_span_ok(4096, 1, 0xffffffffu));
	ck_assert(!memif__ring_span_ok(4096, 0xfffff000u, 0x2000));
	ck_assert(!memif__ring_span_ok(0xffffffffu, 0xffffffffu, 0xffffffffu));
	ck_assert(!memif__ring_span_ok(0xffffffffu, 0xffffffffu, 1));
	ck_assert(memif__ring_span_ok(0xffffffffu, 0xfffffffeu, 1));
	/* Regions beyond 4 GiB hold spans ending beyond 4 GiB. */
	ck_assert(memif__ring_span_ok(1ull << 33, 0xffffffffu, 0xffffffffu));
	ck_assert(memif__ring_span_ok(0x1fffffffeull, 0xffffffffu, 0xffffffffu));
	ck_assert(!memif__ring_span_ok(0x1fffffffdull, 0xffffffffu, 0xffffffffu));
	ck_assert(memif__ring_span_ok(UINT64_MAX, 0xffffffffu, 0xffffffffu));
}
END_TEST

/* region.c's variant takes 64-bit offset and length (the app's pointers in
 * memif_buffer_enq_tx, ring sizes): their sum must not wrap either. */
START_TEST(test_region_bounds_ok)
{
	struct memif__region r = { .addr = NULL, .size = 1 << 20, .fd = -1 };

	ck_assert(memif__region_bounds_ok(&r, 0, 1 << 20));
	ck_assert(memif__region_bounds_ok(&r, (1 << 20) - 128, 128));
	ck_assert(!memif__region_bounds_ok(&r, (1 << 20) - 128, 129));
	ck_assert(!memif__region_bounds_ok(&r, 0xffffffffu, 0xffffffffu));
	ck_assert(!memif__region_bounds_ok(&r, 1ull << 32, 0));
	/* 64-bit wrap: offset near 2^64 plus a small length. */
	ck_assert_msg(!memif__region_bounds_ok(&r, UINT64_MAX - 15, 32),
		      "offset 2^64-16 + length 32 wraps to 16 and passes the check");
	ck_assert_msg(!memif__region_bounds_ok(&r, 64, UINT64_MAX),
		      "offset 64 + length 2^64-1 wraps to 63 and passes the check");
}
END_TEST

static Suite *ring_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = t_tcase("index", 10);

	tcase_add_test(tc, test_count);
	tcase_add_test(tc, test_free);
	tcase_add_test(tc, test_ahead_ok);
	tcase_add_test(tc, test_ahead_ok_walk);
	suite_add_tcase(s, tc);

	tc = t_tcase("bounds", 10);
	tcase_add_test(tc, test_span_ok);
	tcase_add_test(tc, test_region_bounds_ok);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(ring_suite());
}
