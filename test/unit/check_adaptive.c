/* SPDX-License-Identifier: MIT */
/*
 * check_adaptive.c - the step where an adaptive receive queue goes back to
 * sleep (rx.c: memif__queue_adaptive_idle).
 *
 * While traffic flows an adaptive queue keeps MASK_INT set, so the sender
 * publishes without kicking the eventfd. When the receiver decides to sleep
 * it unmasks; a packet published between its last look at the ring and the
 * unmask came with no kick. These tests play that sender by hand, on a ring
 * in ordinary memory, at the exact moment that matters: without the second
 * look at the ring after unmasking, the packet would be stranded and the
 * eventfd silent, and the first test fails.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "helpers.h"
#include "private.h"
#include "ring.h"

struct fixture {
	struct memif__queue q;
	memif_ring_t *ring;
};

static void setup(struct fixture *f, bool master)
{
	memset(f, 0, sizeof(*f));
	f->ring = aligned_alloc(64, sizeof(memif_ring_t) + 16 * sizeof(memif_desc_t));
	ck_assert_ptr_nonnull(f->ring);
	memset(f->ring, 0, sizeof(memif_ring_t) + 16 * sizeof(memif_desc_t));
	f->ring->cookie = MEMIF_COOKIE;
	f->q.ring = f->ring;
	f->q.ring_size = 16;
	f->q.mask = 15;
	f->q.is_rx = true;
	f->q.is_master = master;
	f->q.adaptive = true;
	f->q.int_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ck_assert_int_ge(f->q.int_fd, 0);
	/* Active: traffic flowed, the peer is masked, the interrupt pending. */
	f->q.masked = true;
	f->ring->flags = MEMIF_RING_FLAG_MASK_INT;
	f->q.next = f->q.peer = 100;
	f->ring->head = f->ring->tail = 100;
	f->q.pub = master ? 100 : 116;
	ck_assert_int_eq(eventfd_write(f->q.int_fd, 1), 0);
}

static void teardown(struct fixture *f)
{
	close(f->q.int_fd);
	free(f->ring);
}

/* The peer's index of this receive ring: head on a master, tail on a slave. */
static uint16_t *peer_index(struct fixture *f)
{
	return f->q.is_master ? &f->ring->head : &f->ring->tail;
}

static bool efd_pending(int fd)
{
	eventfd_t v;

	return eventfd_read(fd, &v) == 0 && v > 0;
}

/* A packet published while masked (no kick) just before the unmask. */
static void stranded_packet(bool master)
{
	struct fixture f;

	setup(&f, master);
	/* The sender sees MASK_INT, publishes one packet, does not kick. */
	ck_assert(f.ring->flags & MEMIF_RING_FLAG_MASK_INT);
	*peer_index(&f) = 101;
	ck_assert(memif__queue_adaptive_idle(&f.q, 0, 12345));
	/* Still active: masked again, and the app's loop will come back. */
	ck_assert(f.q.masked);
	ck_assert_uint_eq(f.ring->flags & MEMIF_RING_FLAG_MASK_INT, MEMIF_RING_FLAG_MASK_INT);
	ck_assert_uint_eq(f.q.active_ns, 12345);
	ck_assert_msg(efd_pending(f.q.int_fd), "a packet published while masked was stranded");
	teardown(&f);
}

START_TEST(test_stranded_packet_slave)
{
	stranded_packet(false);
}
END_TEST

START_TEST(test_stranded_packet_master)
{
	stranded_packet(true);
}
END_TEST

/* Nothing arrived: unmasked, interrupt cleared, the next packet will kick. */
START_TEST(test_goes_to_sleep)
{
	struct fixture f;

	setup(&f, false);
	ck_assert(!memif__queue_adaptive_idle(&f.q, 0, 1));
	ck_assert(!f.q.masked);
	ck_assert_uint_eq(f.ring->flags & MEMIF_RING_FLAG_MASK_INT, 0);
	ck_assert_msg(!efd_pending(f.q.int_fd), "the interrupt was left pending while idle");
	teardown(&f);
}
END_TEST

/* The start of an unfinished chain (`left`) is not a new packet. */
START_TEST(test_unfinished_chain_is_not_new)
{
	struct fixture f;

	setup(&f, false);
	*peer_index(&f) = 102; /* two buffers of a chain whose rest is missing */
	ck_assert(!memif__queue_adaptive_idle(&f.q, 2, 1));
	ck_assert(!f.q.masked);
	*peer_index(&f) = 103; /* one more: that is news */
	f.q.masked = true;
	f.ring->flags = MEMIF_RING_FLAG_MASK_INT;
	ck_assert(memif__queue_adaptive_idle(&f.q, 2, 1));
	ck_assert(efd_pending(f.q.int_fd));
	teardown(&f);
}
END_TEST

static Suite *adaptive_suite(void)
{
	Suite *s = suite_create("adaptive");
	TCase *tc = t_tcase("idle", 10);

	tcase_add_test(tc, test_stranded_packet_slave);
	tcase_add_test(tc, test_stranded_packet_master);
	tcase_add_test(tc, test_goes_to_sleep);
	tcase_add_test(tc, test_unfinished_chain_is_not_new);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(adaptive_suite());
}
