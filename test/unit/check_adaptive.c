/* SPDX-License-Identifier: MIT */
/*
 * check_adaptive.c - adaptive receive (rx.c: memif__queue_adaptive and
 * memif__queue_adaptive_idle), with a made-up clock.
 *
 * While it spins an adaptive queue keeps MASK_INT set, so the sender
 * publishes without kicking the eventfd, and keeps the eventfd pending, so
 * the app's loop comes back. Every switch has a moment where a packet can
 * be stranded: published while masked just before the unmask, or between
 * the last look and the decision to sleep. The first tests play the sender
 * by hand at exactly those moments.
 *
 * The rest drive the queue with a small simulation: a sender that publishes
 * frames at chosen times (and kicks unless MASK_INT is set, as
 * memif_tx_burst does), and an app that calls memif_rx_burst's adaptive
 * step whenever the queue's eventfd is readable, as an epoll loop would,
 * one call per simulated microsecond at most. After every call they check
 * that nothing can be stranded (MASK_INT set, or packets waiting, implies
 * the eventfd is readable) and, per test, what the queue decided: long gaps
 * behave as interrupt mode (MASK_INT never set, one call per frame, the
 * eventfd cleared); short gaps mask; gaps that spinning does not shorten
 * give up and try again ever more rarely; a flood masks at once; and a
 * burst after a long idle masks again after a few frames. Behaviour only:
 * the clock is the test's, nothing is timed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "helpers.h"
#include "private.h"
#include "ring.h"

#define US 1000ull

/* The made-up clocks memif__queue_adaptive reads, and how often it did. */
static uint64_t fake_now, fake_cpu;
static unsigned clock_reads, cpu_reads;

static uint64_t fake_clock(void)
{
	clock_reads++;
	return fake_now;
}

static uint64_t fake_cpu_clock(void)
{
	cpu_reads++;
	return fake_cpu;
}

static const struct memif__clocks fake_clocks = { fake_clock, fake_cpu_clock };

/* memif__queue_adaptive at a given time. */
static int adaptive_at(struct memif__queue *q, uint16_t n, bool more, uint64_t now)
{
	fake_now = now;
	return memif__queue_adaptive(q, n, 0, more, &fake_clocks);
}

struct fixture {
	struct memif__queue q;
	memif_ring_t *ring;
};

static void setup_idle(struct fixture *f, bool master)
{
	memset(f, 0, sizeof(*f));
	f->ring = aligned_alloc(64, sizeof(memif_ring_t) + 1024 * sizeof(memif_desc_t));
	ck_assert_ptr_nonnull(f->ring);
	memset(f->ring, 0, sizeof(memif_ring_t) + 1024 * sizeof(memif_desc_t));
	f->ring->cookie = MEMIF_COOKIE;
	f->q.ring = f->ring;
	f->q.ring_size = 1024;
	f->q.mask = 1023;
	f->q.is_rx = true;
	f->q.is_master = master;
	f->q.adaptive = true;
	f->q.int_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ck_assert_int_ge(f->q.int_fd, 0);
	f->q.next = f->q.peer = 100;
	f->ring->head = f->ring->tail = 100;
	f->q.pub = master ? 100 : 1124;
}

/* Active: traffic flowed, the peer is masked, the interrupt pending. */
static void setup(struct fixture *f, bool master)
{
	setup_idle(f, master);
	f->q.masked = true;
	f->ring->flags = MEMIF_RING_FLAG_MASK_INT;
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

static bool ring_masked(const struct fixture *f)
{
	return (f->ring->flags & MEMIF_RING_FLAG_MASK_INT) != 0;
}

/* Reads (clears) the eventfd: was it set? */
static bool efd_pending(int fd)
{
	eventfd_t v;

	return eventfd_read(fd, &v) == 0 && v > 0;
}

/*
 * Nothing can be stranded: a masked ring, or packets waiting once the burst
 * said SUCCESS (NOBUF: the app calls again anyway), keep the app coming back.
 */
static void check_no_strand(struct fixture *f, uint16_t left, int rc, const char *when)
{
	uint16_t waiting = memif__ring_count(*peer_index(f), f->q.next);

	ck_assert_msg(f->q.masked == ring_masked(f), "%s: q->masked disagrees with MASK_INT", when);
	if (ring_masked(f))
		ck_assert_msg(t_fd_readable(f->q.int_fd),
			      "%s: MASK_INT set and the eventfd clear: the app sleeps, the peer "
			      "does not kick",
			      when);
	if (waiting > left && rc == MEMIF_ERR_SUCCESS)
		ck_assert_msg(t_fd_readable(f->q.int_fd),
			      "%s: %u packets wait and the eventfd is clear", when, waiting);
}

/* The sender: publish k packets, then kick unless the ring is masked (memif_tx_burst). */
static void send_frames(struct fixture *f, uint16_t k)
{
	memif__store_release(peer_index(f), (uint16_t)(*peer_index(f) + k));
	memif__fence();
	if (!ring_masked(f))
		ck_assert_int_eq(eventfd_write(f->q.int_fd, 1), 0);
}

/* The sender saw MASK_INT before an unmask: it publishes and does not kick. */
static void send_silently(struct fixture *f, uint16_t k)
{
	memif__store_release(peer_index(f), (uint16_t)(*peer_index(f) + k));
}

/* The app's burst of up to `count` buffers at `now`: takes them, then the adaptive step. */
static int app_burst(struct fixture *f, uint16_t count, uint64_t now, uint16_t *took)
{
	uint16_t avail = memif__ring_count(*peer_index(f), f->q.next);
	uint16_t n = MEMIF_MIN(avail, count);
	int rc;

	f->q.next = (uint16_t)(f->q.next + n);
	f->q.peer = *peer_index(f);
	if (!f->q.is_master)
		f->q.pub = (uint16_t)(f->q.pub + n); /* refilled at once */
	rc = adaptive_at(&f->q, n, avail > count, now);
	if (took)
		*took = n;
	check_no_strand(f, 0, rc, "after a burst");
	return rc;
}

/* ---- the dangerous moments, by hand ------------------------------------ */

/* A packet published while masked (no kick) just before the unmask. */
static void stranded_packet(bool master)
{
	struct fixture f;

	setup(&f, master);
	/* The sender sees MASK_INT, publishes one packet, does not kick. */
	ck_assert(ring_masked(&f));
	send_silently(&f, 1);
	ck_assert(memif__queue_adaptive_idle(&f.q, 0, 12345));
	/* Still active: masked again, and the app's loop will come back. */
	ck_assert(f.q.masked);
	ck_assert(ring_masked(&f));
	ck_assert_uint_eq(f.q.ad.last_ns, 12345);
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
	ck_assert(!ring_masked(&f));
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

/* The spin runs out through memif__queue_adaptive itself, a packet just published. */
START_TEST(test_spin_ends_with_a_packet_just_published)
{
	struct fixture f;
	uint16_t took;

	setup(&f, false);
	f.q.ad.last_ns = 1000 * US;
	/* Spinning: an empty burst within the spin leaves everything as is. */
	ck_assert_int_eq(app_burst(&f, 32, 1001 * US, &took), MEMIF_ERR_SUCCESS);
	ck_assert_uint_eq(took, 0);
	ck_assert(ring_masked(&f));
	/* A packet published while masked, while the app spins: it comes back for it. */
	send_silently(&f, 1);
	check_no_strand(&f, 0, MEMIF_ERR_SUCCESS, "published while spinning");
	/* The app took it; the spin is over (MEMIF_ADAPTIVE_IDLE_US at most)
	 * and its last empty look races with one more silent publish. */
	f.q.next = (uint16_t)(f.q.next + 1);
	send_silently(&f, 1);
	ck_assert_int_eq(adaptive_at(&f.q, 0, false, (1000 + MEMIF_ADAPTIVE_IDLE_US + 1) * US),
			 MEMIF_ERR_SUCCESS);
	ck_assert_msg(f.q.masked && efd_pending(f.q.int_fd),
		      "the packet published before the unmask was stranded");
	teardown(&f);
}
END_TEST

/*
 * Right after deciding not to mask: a frame was taken, the queue stays
 * interrupt-like, and the sender publishes the next one (and kicks) after
 * the burst looked at the ring but before the interrupt is cleared. The
 * clear drains that kick; the look after it must find the frame.
 */
static void decided_not_to_mask(bool master)
{
	struct fixture f;
	uint16_t avail;

	setup_idle(&f, master);
	send_frames(&f, 1);
	ck_assert(efd_pending(f.q.int_fd)); /* the app's epoll_wait returned */
	avail = memif__ring_count(*peer_index(&f), f.q.next);
	ck_assert_uint_eq(avail, 1);
	f.q.next = (uint16_t)(f.q.next + 1); /* the burst took it */
	send_frames(&f, 1);                  /* the next one, kicked */
	ck_assert_int_eq(adaptive_at(&f.q, 1, false, 5000 * US), MEMIF_ERR_SUCCESS);
	ck_assert(!ring_masked(&f)); /* one frame after silence: interrupt mode */
	ck_assert_msg(efd_pending(f.q.int_fd), "the frame sent while deciding was stranded");
	teardown(&f);
}

START_TEST(test_decided_not_to_mask_slave)
{
	decided_not_to_mask(false);
}
END_TEST

START_TEST(test_decided_not_to_mask_master)
{
	decided_not_to_mask(true);
}
END_TEST

/* ---- the decision, simulated -------------------------------------------- */

struct sim {
	struct fixture f;
	uint64_t now;          /* ns; advances by 1 us per step */
	uint16_t count;        /* the app's burst size */
	unsigned frames_in;    /* frames sent */
	unsigned frames_out;   /* frames taken */
	unsigned calls;        /* bursts the app made */
	unsigned taken_masked; /* frames taken while MASK_INT was set (spun for) */
	unsigned masks;        /* times MASK_INT went from clear to set */
	bool ever_masked;
	bool eager; /* the app also calls when its eventfd is clear */
	bool again; /* the last burst said NOBUF: call again */
	bool slept; /* the app made no call in the last step: it blocked in epoll */
	uint64_t wake_ns; /* the CPU a wake-up from epoll costs the app thread */
};

/* The app thread's CPU, as the sim charges it: a wake-up from epoll (by
 * default), and each call. */
#define SIM_WAKE_NS (8 * US)
#define SIM_CALL_NS (1 * US)

static void sim_init(struct sim *s, bool master, uint16_t count)
{
	memset(s, 0, sizeof(*s));
	setup_idle(&s->f, master);
	s->now = 1000000 * US; /* anything but 0 */
	s->count = count;
	s->slept = true;
	s->wake_ns = SIM_WAKE_NS;
	fake_cpu = 1000 * US;
}

/* One microsecond of the app's loop: a burst if its eventfd is readable. */
static void sim_step(struct sim *s)
{
	bool was = ring_masked(&s->f);
	uint16_t took = 0;

	if (s->eager || s->again || t_fd_readable(s->f.q.int_fd)) {
		fake_cpu += (s->slept ? s->wake_ns : 0) + SIM_CALL_NS;
		s->slept = false;
		s->again = app_burst(&s->f, s->count, s->now, &took) == MEMIF_ERR_NOBUF;
		s->calls++;
		s->frames_out += took;
		if (was)
			s->taken_masked += took;
		if (!was && ring_masked(&s->f))
			s->masks++;
		s->ever_masked |= ring_masked(&s->f);
	} else {
		s->slept = true;
	}
	s->now += US;
}

/* `frames` frames of `k` packets, `gap_us` apart, the app running in between. */
static void sim_run(struct sim *s, unsigned frames, unsigned gap_us, uint16_t k)
{
	for (unsigned i = 0; i < frames; i++) {
		send_frames(&s->f, k);
		s->frames_in += k;
		for (unsigned t = 0; t < gap_us; t++)
			sim_step(s);
	}
}

/* Silence for `us`: the app spins at most its budget, then sleeps. */
static void sim_idle(struct sim *s, unsigned us)
{
	for (unsigned t = 0; t < us; t++)
		sim_step(s);
}

static void sim_done(struct sim *s)
{
	ck_assert_msg(s->frames_out == s->frames_in, "%u frames sent, %u taken", s->frames_in,
		      s->frames_out);
	teardown(&s->f);
}

/* 1 k and 10 k frames/s: interrupt mode, exactly. */
static void long_gaps(bool master, unsigned gap_us)
{
	struct sim s;
	unsigned calls_before;

	sim_init(&s, master, 32);
	for (unsigned i = 0; i < 200; i++) {
		calls_before = s.calls;
		sim_run(&s, 1, gap_us, 1);
		ck_assert_msg(!s.ever_masked, "frame %u at %u us gaps masked the ring", i, gap_us);
		/* One burst per frame: no spinning, no extra call. */
		ck_assert_uint_eq(s.calls - calls_before, 1);
		/* Asleep: the interrupt cleared, nothing waiting. */
		ck_assert(!t_fd_readable(s.f.q.int_fd));
	}
	ck_assert_uint_eq(s.masks, 0);
	sim_done(&s);
}

START_TEST(test_long_gaps_behave_as_interrupt_mode)
{
	long_gaps(false, 100);
	long_gaps(true, 100);
	long_gaps(false, 1000);
	long_gaps(true, 1000);
	long_gaps(false, 60); /* just past the longest gap worth a trial */
}
END_TEST

/* Frames a few microseconds apart: masked after a few, and it stays masked. */
START_TEST(test_short_gaps_mask)
{
	struct sim s;

	sim_init(&s, false, 32);
	sim_run(&s, 5, 3, 1);
	ck_assert_msg(ring_masked(&s.f), "still interrupt-like after 5 frames 3 us apart");
	sim_run(&s, 2000, 3, 1);
	ck_assert(ring_masked(&s.f));
	ck_assert_uint_eq(s.masks, 1); /* it never let go */
	ck_assert_uint_ge(s.taken_masked, 2000);
	sim_idle(&s, 100);
	/* Silence: it spun for a while, then unmasked and cleared the interrupt. */
	ck_assert(!ring_masked(&s.f));
	ck_assert(!t_fd_readable(s.f.q.int_fd));
	sim_done(&s);
}
END_TEST

/* A flood (every burst cut by `count`) masks within one wake. */
START_TEST(test_flood_masks)
{
	struct sim s;

	sim_init(&s, true, 32);
	/* 64 packets every microsecond: the app never empties the ring. */
	sim_run(&s, 30, 1, 64);
	ck_assert_msg(ring_masked(&s.f), "a flood left the peer kicking");
	clock_reads = 0;
	sim_run(&s, 1000, 1, 64);
	ck_assert(ring_masked(&s.f));
	ck_assert_uint_eq(s.masks, 1);
	/* Masked, the clock (as dear as a burst at full load) is read about
	 * once every 16 bursts that take packets, not once a burst. */
	ck_assert_msg(clock_reads * 8 < s.calls, "%u clock reads in %u bursts", clock_reads,
		      s.calls);
	sim_idle(&s, 3000); /* the app catches up, then the spin runs out */
	ck_assert(!ring_masked(&s.f));
	sim_done(&s);
}
END_TEST

/*
 * An app that also calls memif_rx_burst on its own (after its transmit, on
 * a timer), with the eventfd clear: when such a call decides to mask, the
 * library must set the eventfd itself, or the loop sleeps while the peer
 * no longer kicks.
 */
START_TEST(test_mask_from_a_call_of_its_own)
{
	struct sim s;

	sim_init(&s, false, 8);
	s.eager = true;
	/* A backlog that came with no kick (say, while the queue was in
	 * polling mode): the app takes it by calls of its own. */
	send_silently(&s.f, 800);
	s.frames_in += 800;
	ck_assert(!t_fd_readable(s.f.q.int_fd));
	sim_idle(&s, 50); /* check_no_strand after every call */
	ck_assert_msg(s.masks > 0, "a backlog taken by the app's own calls did not mask");
	s.eager = false;
	sim_idle(&s, 1000);
	sim_done(&s);
}
END_TEST

/*
 * A round trip: the peer sends the next frame `sleep_us` after it got our
 * answer while we sleep (our wake-up is part of the loop), `spin_us` after
 * it while we spin. The peer notices a switch one frame late (it adapts
 * too, or was asleep): the first gap after we start spinning is still the
 * long one.
 */
static void sim_round_trips(struct sim *s, unsigned frames, unsigned sleep_us, unsigned spin_us)
{
	for (unsigned i = 0; i < frames; i++) {
		bool was = ring_masked(&s->f);
		unsigned gap;

		send_frames(&s->f, 1);
		s->frames_in++;
		sim_step(s); /* taken (the app was woken, or is spinning) */
		gap = was && ring_masked(&s->f) ? spin_us : sleep_us;
		for (unsigned t = 1; t < gap; t++)
			sim_step(s);
	}
}

/* A round trip that spinning shortens from 25 us to 3: it spins, and stays. */
START_TEST(test_round_trip_that_gains_spins)
{
	struct sim s;

	sim_init(&s, false, 32);
	sim_round_trips(&s, 20, 25, 3);
	ck_assert_msg(ring_masked(&s.f), "a round trip that spinning shortens never spun");
	sim_round_trips(&s, 3000, 25, 3);
	ck_assert(ring_masked(&s.f));
	ck_assert_uint_ge(s.taken_masked, 3000);
	sim_idle(&s, 200);
	ck_assert(!ring_masked(&s.f));
	sim_done(&s);
}
END_TEST

/* Spinning shortens it to 12 us only, dearer than a wake-up: it tries, then rarely. */
START_TEST(test_round_trip_that_does_not_gain_backs_off)
{
	struct sim s;
	unsigned masks;

	sim_init(&s, true, 32);
	sim_round_trips(&s, 300, 25, 12);
	ck_assert_msg(s.masks > 0, "never tried spinning a 25 us round trip");
	masks = s.masks;
	sim_round_trips(&s, 3000, 25, 12);
	ck_assert_uint_le(s.masks - masks, masks + 3);
	ck_assert_msg(s.taken_masked * 10 < s.frames_out, "%u of %u frames taken spinning",
		      s.taken_masked, s.frames_out);
	sim_done(&s);
}
END_TEST

/*
 * The peer adapts too and starts spinning while we wait out a failed try:
 * our wake-ups come closer (25 -> 14 us) and we try again at once, without
 * waiting out the rest; then both spin (3 us).
 */
START_TEST(test_peer_starts_spinning_joins_early)
{
	struct sim s;
	unsigned frames_before;

	sim_init(&s, false, 32);
	/* Make trials fail for a while: the wait grows to hundreds of wakes. */
	sim_round_trips(&s, 3000, 25, 12);
	ck_assert(!ring_masked(&s.f));
	ck_assert_uint_ge(s.f.q.ad.backoff, 32);
	frames_before = s.frames_out;
	/* Now sleeping costs the loop only the peer's part... */
	for (unsigned i = 0; i < 20 && !ring_masked(&s.f); i++)
		sim_round_trips(&s, 1, 14, 3);
	ck_assert_msg(ring_masked(&s.f), "wake-ups came closer and no try followed");
	ck_assert_uint_le(s.frames_out - frames_before, 5);
	/* ...and spinning shortens it to 3 us: it stays. */
	sim_round_trips(&s, 500, 14, 3);
	ck_assert(ring_masked(&s.f));
	sim_idle(&s, 200);
	sim_done(&s);
}
END_TEST

/*
 * Short bursts of round trips that spinning shortens, short pauses between
 * them: a burst that ends during a try counts as a failed try, but the next
 * burst's closer wake-ups start another at once.
 */
START_TEST(test_bursts_of_round_trips_spin)
{
	struct sim s;

	sim_init(&s, false, 32);
	for (int b = 0; b < 60; b++) {
		sim_round_trips(&s, 30, 25, 3);
		sim_idle(&s, 300);
	}
	ck_assert_msg(s.taken_masked * 2 > s.frames_out, "%u of %u frames taken spinning",
		      s.taken_masked, s.frames_out);
	sim_done(&s);
}
END_TEST

/* After a pause of a millisecond or more, earlier failures are forgotten. */
START_TEST(test_pause_forgets_failed_tries)
{
	struct sim s;

	sim_init(&s, false, 32);
	sim_round_trips(&s, 3000, 25, 12);
	ck_assert_uint_ge(s.f.q.ad.backoff, 32);
	sim_idle(&s, 2000);
	sim_round_trips(&s, 6, 25, 3);
	ck_assert_msg(ring_masked(&s.f), "a burst after a pause waited out an old backoff");
	sim_idle(&s, 200);
	sim_done(&s);
}
END_TEST

/*
 * Frames 20 us apart: close enough for a trial, but spinning through 20 us
 * costs more than a wake-up. Each trial gives up, and the wait before the
 * next one doubles: the queue spends almost all its frames asleep.
 */
START_TEST(test_gaps_not_worth_spinning_back_off)
{
	struct sim s;
	unsigned masks_first, frames_masked;

	sim_init(&s, false, 32);
	sim_run(&s, 200, 20, 1);
	ck_assert_msg(s.masks > 0, "never tried spinning at 20 us gaps");
	masks_first = s.masks;
	frames_masked = s.taken_masked;
	sim_run(&s, 2000, 20, 1);
	/* Ten times the frames, far fewer than ten times the trials. */
	ck_assert_uint_le(s.masks - masks_first, masks_first + 3);
	ck_assert_msg(s.taken_masked - frames_masked < 2000 / 20,
		      "%u of 2000 frames taken while spinning", s.taken_masked - frames_masked);
	sim_done(&s);
}
END_TEST

/*
 * Frames 3 us apart on a host where a wake-up costs the thread only 1 us:
 * sleeping costs 2 us a frame, spinning 3. The queue measures what its
 * wakes cost and stays (almost always) asleep, where a fixed guess of a
 * wake-up's cost would spin.
 */
START_TEST(test_cheap_wakeups_stay_asleep)
{
	struct sim s;
	unsigned masked_before;

	sim_init(&s, false, 32);
	s.wake_ns = 1 * US;
	sim_run(&s, 1000, 3, 1);
	masked_before = s.taken_masked;
	sim_run(&s, 10000, 3, 1);
	ck_assert_msg((s.taken_masked - masked_before) * 20 < 10000,
		      "%u of 10000 frames taken spinning, where sleeping is cheaper",
		      s.taken_masked - masked_before);
	ck_assert_uint_ne(s.f.q.ad.wake_bufs16, 0); /* it did measure */
	sim_done(&s);
}
END_TEST

/*
 * A flood (32 frames per microsecond, as fast as the app takes them) that
 * stalls for 30 us every 100 us: each stall outlasts the spin and unmasks,
 * but none counts as a failed trial, so the queue masks again within a
 * wake-up's worth of frames, not after a backoff of hundreds of wakes.
 */
START_TEST(test_flood_with_stalls_stays_masked)
{
	struct sim s;

	sim_init(&s, true, 32);
	for (int i = 0; i < 300; i++) {
		sim_run(&s, 100, 1, 32);
		sim_idle(&s, 30);
		/* The stall came during a trial (they last longer than
		 * 100 us): no wait before the next one. */
		ck_assert_uint_eq(s.f.q.ad.backoff, 0);
	}
	ck_assert_msg(s.taken_masked * 100 > s.frames_out * 95, "%u of %u frames taken spinning",
		      s.taken_masked, s.frames_out);
	ck_assert_uint_eq(s.f.q.ad.fails, 0);
	sim_done(&s);
}
END_TEST

/* After a long idle the first frames are interrupt-like; a few short gaps mask again. */
START_TEST(test_burst_after_idle_masks_again)
{
	struct sim s;
	unsigned masks;

	sim_init(&s, false, 32);
	sim_run(&s, 500, 3, 1);
	ck_assert(ring_masked(&s.f));
	sim_idle(&s, 10000);
	ck_assert(!ring_masked(&s.f));
	ck_assert(!t_fd_readable(s.f.q.int_fd));
	masks = s.masks;
	sim_run(&s, 5, 3, 1);
	ck_assert_msg(ring_masked(&s.f), "5 frames 3 us apart after an idle, still not masked");
	ck_assert_uint_eq(s.masks, masks + 1);
	sim_done(&s);
}
END_TEST

/*
 * One microsecond of the app's loop, as sim_step, but a call that unmasks
 * (the spin ran out, or spinning costs more than a wake-up) is replayed
 * from the same state with a frame published silently (the ring was
 * masked) between the burst's look at the ring and the unmask: the second
 * look must find it. Returns true if the call unmasked.
 */
static bool sim_step_racing(struct sim *s)
{
	struct memif__adaptive ad = s->f.q.ad;
	uint16_t next = s->f.q.next, pub = s->f.q.pub, avail;

	if (!ring_masked(&s->f) || !t_fd_readable(s->f.q.int_fd)) {
		sim_step(s);
		return false;
	}
	avail = memif__ring_count(*peer_index(&s->f), next);
	sim_step(s);
	if (ring_masked(&s->f))
		return false;
	/* Again, with the race: the same state, the same time. */
	s->f.q.ad = ad;
	s->f.q.next = (uint16_t)(next + MEMIF_MIN(avail, s->count));
	s->f.q.pub = (uint16_t)(pub + MEMIF_MIN(avail, s->count));
	s->f.q.masked = true;
	s->f.ring->flags = MEMIF_RING_FLAG_MASK_INT;
	(void)efd_pending(s->f.q.int_fd);
	ck_assert_int_eq(eventfd_write(s->f.q.int_fd, 1), 0);
	send_silently(&s->f, 1);
	s->frames_in++;
	(void)adaptive_at(&s->f.q, MEMIF_MIN(avail, s->count), avail > s->count, s->now - US);
	/* Unmasked with the interrupt set for it, or (the spin ran out) masked
	 * again: the queue stays active. */
	ck_assert(s->f.q.masked == ring_masked(&s->f));
	ck_assert_msg(t_fd_readable(s->f.q.int_fd),
		      "a frame published just before the unmask was stranded");
	return true;
}

/*
 * Every way out of the mask, with a frame landing just before the unmask:
 * gaps of 14 us fit in the spin but cost more than a wake-up (it leaves by
 * its cost), bursts then silence (the spin runs out).
 */
START_TEST(test_leaving_the_mask_keeps_the_packet)
{
	struct sim s;
	unsigned leaves = 0;

	sim_init(&s, false, 32);
	for (unsigned i = 0; i < 400 && leaves < 3; i++) {
		send_frames(&s.f, 1);
		s.frames_in++;
		for (unsigned t = 0; t < 14; t++)
			leaves += sim_step_racing(&s);
	}
	ck_assert_msg(leaves > 0, "spinning through 14 us gaps never gave up");
	for (unsigned b = 0; b < 20; b++) {
		sim_run(&s, 30, 2, 1);
		for (unsigned t = 0; t < 200; t++)
			leaves += sim_step_racing(&s);
	}
	ck_assert_uint_ge(leaves, 10);
	sim_idle(&s, 100);
	sim_done(&s);
}
END_TEST

/*
 * Random traffic, random burst sizes, frames published at every moment:
 * whatever the queue decides, every frame is taken and no step strands one.
 */
START_TEST(test_random_traffic_loses_nothing)
{
	struct sim s;
	uint32_t r = 12345;

	for (int round = 0; round < 4; round++) {
		sim_init(&s, round & 1, (uint16_t)(1 + (round * 13) % 32));
		s.eager = round >= 2;
		for (int i = 0; i < 3000; i++) {
			unsigned gap, k;

			r = r * 1103515245u + 12345u;
			switch ((r >> 16) % 8) {
			case 0:
				gap = 200 + (r >> 8) % 3000; /* a pause */
				break;
			case 1:
			case 2:
				gap = 10 + (r >> 8) % 40;
				break;
			default:
				gap = (r >> 8) % 6;
				break;
			}
			r = r * 1103515245u + 12345u;
			k = 1 + (r >> 16) % 40;
			sim_run(&s, 1, gap, (uint16_t)k);
		}
		sim_idle(&s, 3000);
		ck_assert(!ring_masked(&s.f));
		sim_done(&s);
	}
}
END_TEST

static Suite *adaptive_suite(void)
{
	Suite *s = suite_create("adaptive");
	TCase *tc = t_tcase("switches", 10);
	TCase *td = t_tcase("decision", 60);

	tcase_add_test(tc, test_stranded_packet_slave);
	tcase_add_test(tc, test_stranded_packet_master);
	tcase_add_test(tc, test_goes_to_sleep);
	tcase_add_test(tc, test_unfinished_chain_is_not_new);
	tcase_add_test(tc, test_spin_ends_with_a_packet_just_published);
	tcase_add_test(tc, test_decided_not_to_mask_slave);
	tcase_add_test(tc, test_decided_not_to_mask_master);
	suite_add_tcase(s, tc);
	tcase_add_test(td, test_long_gaps_behave_as_interrupt_mode);
	tcase_add_test(td, test_short_gaps_mask);
	tcase_add_test(td, test_flood_masks);
	tcase_add_test(td, test_mask_from_a_call_of_its_own);
	tcase_add_test(td, test_gaps_not_worth_spinning_back_off);
	tcase_add_test(td, test_round_trip_that_gains_spins);
	tcase_add_test(td, test_round_trip_that_does_not_gain_backs_off);
	tcase_add_test(td, test_peer_starts_spinning_joins_early);
	tcase_add_test(td, test_pause_forgets_failed_tries);
	tcase_add_test(td, test_bursts_of_round_trips_spin);
	tcase_add_test(td, test_burst_after_idle_masks_again);
	tcase_add_test(td, test_cheap_wakeups_stay_asleep);
	tcase_add_test(td, test_flood_with_stalls_stays_masked);
	tcase_add_test(td, test_leaving_the_mask_keeps_the_packet);
	tcase_add_test(td, test_random_traffic_loses_nothing);
	suite_add_tcase(s, td);
	return s;
}

int main(void)
{
	return t_run_suite(adaptive_suite());
}
