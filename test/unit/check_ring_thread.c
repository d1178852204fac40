/* SPDX-License-Identifier: MIT */
/*
 * check_ring_thread.c - a real memif_ring_t shared by two threads, with
 * the discipline of src/atomic.h and STYLE.md section 5: one writer per
 * index, descriptors written before a store-release of head, the peer
 * index load-acquired before descriptors are read, and a full fence
 * between publishing an index and reading the peer's MASK_INT flag.
 *
 * The producer plays the slave on an S2M ring (writes descriptors and head),
 * the consumer the master (reads descriptors, writes tail). Every
 * descriptor carries its sequence number in all fields, so a descriptor
 * read before it was published shows up as a wrong value; under TSan (this
 * file's name gives it the "tsan" label) the same mistake is a reported
 * race. Both threads also check every index they read with
 * memif__ring_ahead_ok, which must never fire for a well-behaved peer.
 * Many u16 wraparounds: up to 2^20 descriptors through rings of 1..1024.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "os.h"
#include "private.h"
#include "ring.h"

struct shared {
	memif_ring_t *ring;
	uint32_t size;
	uint16_t mask;
	uint32_t total;   /* descriptors to move */
	int irq_fd;       /* -1: no interrupts (polling only) */
	int64_t deadline; /* both threads give up after it */

	/* results, each written by one thread and read after join */
	uint32_t produced, consumed;
	uint32_t bad_desc;       /* consumer: descriptor fields not as published */
	uint32_t bad_index_prod; /* producer: tail not within a ring of head */
	uint32_t bad_index_cons; /* consumer: head not within a ring of tail */
	uint32_t lost_wakeups;   /* consumer: slept with entries waiting */
	uint32_t sleeps, kicks, mode_switches;
	uint32_t u16_wraps;
	uint16_t final_head, final_tail;
	bool timed_out;
};

static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

static void fill_desc(memif_desc_t *d, uint32_t seq)
{
	d->flags = (uint16_t)(seq & MEMIF_DESC_FLAG_NEXT);
	d->region = (uint16_t)(seq >> 7);
	d->length = seq;
	d->offset = ~seq;
	d->metadata = seq * 2654435761u;
}

static bool desc_is(const memif_desc_t *d, uint32_t seq)
{
	return d->flags == (uint16_t)(seq & MEMIF_DESC_FLAG_NEXT) &&
	       d->region == (uint16_t)(seq >> 7) && d->length == seq && d->offset == ~seq &&
	       d->metadata == seq * 2654435761u;
}

static void *producer(void *arg)
{
	struct shared *sh = arg;
	memif_ring_t *ring = sh->ring;
	uint16_t head = 0; /* private shadow: never read back from the ring */
	uint32_t seq = 0, rnd = 0x12345678u;

	while (seq < sh->total) {
		/* Pairs with the consumer's store-release of tail. */
		uint16_t tail = memif__load_acquire(&ring->tail);
		uint32_t room, batch;

		if (!memif__ring_ahead_ok(head, tail, sh->size)) {
			sh->bad_index_prod++;
			break;
		}
		room = memif__ring_free(sh->size, head, tail);
		if (room == 0) {
			if (t_now_ms() > sh->deadline) {
				sh->timed_out = true;
				break;
			}
			sched_yield();
			continue;
		}
		batch = 1 + xorshift(&rnd) % room;
		if (batch > sh->total - seq)
			batch = sh->total - seq;
		for (uint32_t k = 0; k < batch; k++)
			fill_desc(&ring->desc[(uint16_t)(head + k) & sh->mask], seq + k);
		seq += batch;
		if ((uint16_t)(head + batch) < head)
			sh->u16_wraps++;
		head = (uint16_t)(head + batch);
		/* Publish filled slots; pairs with the consumer's load-acquire of head. */
		memif__store_release(&ring->head, head);
		if (sh->irq_fd >= 0) {
			/* Store (head) then load (flags): pairs with the fence after the
			 * consumer clears MASK_INT. */
			memif__fence();
			if (!(memif__read_once(&ring->flags) & MEMIF_RING_FLAG_MASK_INT)) {
				memif__irq_kick(sh->irq_fd);
				sh->kicks++;
			}
		}
	}
	sh->produced = seq;
	return NULL;
}

/* Interrupt mode: sleep on the eventfd until head moves; false on timeout. */
static bool consumer_sleep(struct shared *sh, uint16_t tail)
{
	memif_ring_t *ring = sh->ring;
	struct pollfd p = { .fd = sh->irq_fd, .events = POLLIN };
	int r;

	/* Clear MASK_INT, then re-check head: the store (flags) and the load
	 * (head) need the full fence; pairs with the producer's fence. */
	memif__write_once(&ring->flags, 0);
	memif__fence();
	if (memif__ring_count(memif__load_acquire(&ring->head), tail) != 0)
		return true;
	sh->sleeps++;
	do
		r = poll(&p, 1, 2000);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		/* No kick in 2 s: a lost wakeup if entries wait, else a stalled producer. */
		if (memif__ring_count(memif__load_acquire(&ring->head), tail) != 0)
			sh->lost_wakeups++;
		return false;
	}
	memif__irq_drain(sh->irq_fd);
	return true;
}

static void *consumer(void *arg)
{
	struct shared *sh = arg;
	memif_ring_t *ring = sh->ring;
	uint16_t tail = 0; /* private shadow */
	uint32_t seq = 0, rnd = 0x9e3779b9u, until_switch = 1000;
	bool polling = true;

	while (seq < sh->total) {
		/* Pairs with the producer's store-release of head. */
		uint16_t head = memif__load_acquire(&ring->head);
		uint16_t n;

		if (!memif__ring_ahead_ok(head, tail, sh->size)) {
			sh->bad_index_cons++;
			break;
		}
		n = memif__ring_count(head, tail);
		if (n == 0) {
			if (t_now_ms() > sh->deadline) {
				sh->timed_out = true;
				break;
			}
			if (!polling) {
				if (!consumer_sleep(sh, tail))
					break;
			} else {
				sched_yield();
			}
			continue;
		}
		/* Take only part sometimes, so batches do not line up with the producer's. */
		if (xorshift(&rnd) % 4 == 0)
			n = (uint16_t)(1 + xorshift(&rnd) % n);
		for (uint16_t k = 0; k < n; k++) {
			/* Copy, then check the copy (the peer may rewrite the slot). */
			memif_desc_t d = ring->desc[(uint16_t)(tail + k) & sh->mask];

			if (!desc_is(&d, seq + k))
				sh->bad_desc++;
		}
		seq += n;
		tail = (uint16_t)(tail + n);
		/* Hand slots back; pairs with the producer's load-acquire of tail. */
		memif__store_release(&ring->tail, tail);

		if (sh->irq_fd >= 0 && seq >= until_switch) {
			/* Alternate polling (MASK_INT set) and interrupt mode. */
			polling = !polling;
			if (polling) {
				memif__write_once(&ring->flags, MEMIF_RING_FLAG_MASK_INT);
				memif__fence();
			}
			sh->mode_switches++;
			until_switch = seq + 1 + xorshift(&rnd) % 5000;
		}
	}
	sh->consumed = seq;
	return NULL;
}

static memif_ring_t *ring_new(uint8_t log2)
{
	size_t bytes = sizeof(memif_ring_t) + (sizeof(memif_desc_t) << log2);
	memif_ring_t *ring = aligned_alloc(MEMIF_CACHELINE_SIZE,
					   (bytes + MEMIF_CACHELINE_SIZE - 1) & ~(size_t)63);

	ck_assert_ptr_nonnull(ring);
	memset(ring, 0, bytes);
	ring->cookie = MEMIF_COOKIE;
	ring->flags = MEMIF_RING_FLAG_MASK_INT;
	return ring;
}

static void run_pair(struct shared *sh, uint8_t log2, uint32_t total, bool irq)
{
	pthread_t p, c;

	memset(sh, 0, sizeof(*sh));
	sh->ring = ring_new(log2);
	sh->size = 1u << log2;
	sh->mask = (uint16_t)(sh->size - 1);
	sh->total = total;
	sh->irq_fd = -1;
	sh->deadline = t_deadline(40000);
	if (irq) {
		sh->irq_fd = memif__os_eventfd();
		ck_assert_int_ge(sh->irq_fd, 0);
	}
	ck_assert_int_eq(pthread_create(&c, NULL, consumer, sh), 0);
	ck_assert_int_eq(pthread_create(&p, NULL, producer, sh), 0);
	ck_assert_int_eq(pthread_join(p, NULL), 0);
	ck_assert_int_eq(pthread_join(c, NULL), 0);
	memif__os_close(&sh->irq_fd);
	sh->final_head = sh->ring->head;
	sh->final_tail = sh->ring->tail;
	free(sh->ring);
	sh->ring = NULL;
}

static void check_results(const struct shared *sh, uint32_t total)
{
	ck_assert_msg(!sh->timed_out, "timed out: produced %u consumed %u of %u", sh->produced,
		      sh->consumed, total);
	ck_assert_uint_eq(sh->bad_index_prod, 0);
	ck_assert_uint_eq(sh->bad_index_cons, 0);
	ck_assert_uint_eq(sh->lost_wakeups, 0);
	ck_assert_uint_eq(sh->bad_desc, 0);
	ck_assert_uint_eq(sh->produced, total);
	ck_assert_uint_eq(sh->consumed, total);
	/* Both indexes end where the shadows say: nothing else wrote them. */
	ck_assert_uint_eq(sh->final_head, (uint16_t)total);
	ck_assert_uint_eq(sh->final_tail, (uint16_t)total);
}

/* _i selects the ring: log2 0 (one slot), 4, 10. */
START_TEST(test_spsc_polling)
{
	static const uint8_t log2s[] = { 0, 4, 10 };
	static const uint32_t totals[] = { 150000, 1u << 20, 1u << 20 };
	struct shared sh;

	run_pair(&sh, log2s[_i], totals[_i], false);
	check_results(&sh, totals[_i]);
	/* The counters wrapped many times. */
	ck_assert_uint_ge(sh.u16_wraps, totals[_i] >> 16);
	ck_assert_uint_ge(sh.u16_wraps, 2);
}
END_TEST

/* The consumer keeps switching between polling and interrupt mode. */
START_TEST(test_spsc_interrupt)
{
	static const uint8_t log2s[] = { 2, 8 };
	const uint32_t total = 300000;
	struct shared sh;

	run_pair(&sh, log2s[_i], total, true);
	check_results(&sh, total);
	ck_assert_uint_ge(sh.u16_wraps, 4);
	ck_assert_uint_gt(sh.mode_switches, 10);
	/* Interrupt mode was really exercised. */
	ck_assert_uint_gt(sh.kicks, 0);
}
END_TEST

static Suite *ring_thread_suite(void)
{
	Suite *s = suite_create("ring_thread");
	TCase *tc = t_tcase("spsc", 120);

	tcase_add_loop_test(tc, test_spsc_polling, 0, 3);
	tcase_add_loop_test(tc, test_spsc_interrupt, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(ring_thread_suite());
}
