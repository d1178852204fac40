/* SPDX-License-Identifier: MIT */
/*
 * bench_util.h - small helpers shared by the bench programs (memif-bench,
 * memif-cost, memif-scale, eventfd-rtt): a monotonic clock in ns, strict
 * command-line numbers, CPU pinning, CPU list parsing and a log-linear latency histogram (HDR-style:
 * 64 sub-buckets per power of two, so any percentile is off by at most 1/64
 * of its value, ~1.6 %).
 *
 * Header-only on purpose: a few small programs, no library of their own.
 */
#ifndef MEMIF_BENCH_UTIL_H
#define MEMIF_BENCH_UTIL_H

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * A command-line number of option `name` for program `prog`: all of `s`
 * must be a number within lo..hi, or the program says so and exits 2.
 */
static inline double bench_num(const char *prog, const char *s, const char *name, double lo,
			       double hi)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "%s: bad %s: %s (%g..%g)\n", prog, name, s, lo, hi);
		exit(2);
	}
	return v;
}

/* Pin the calling thread to one CPU. Returns 0 or a negative errno. */
static inline int bench_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	return 0;
}

/*
 * Parse "0,1" or "0-3,6" into cpus[] (at most max entries).
 * Returns the number of CPUs, or -1 on a malformed list.
 */
static inline int bench_parse_cpus(const char *s, int *cpus, int max)
{
	int n = 0;

	while (*s) {
		char *end;
		long a = strtol(s, &end, 10), b;

		if (end == s || a < 0 || a >= CPU_SETSIZE)
			return -1;
		b = a;
		s = end;
		if (*s == '-') {
			s++;
			b = strtol(s, &end, 10);
			if (end == s || b < a || b >= CPU_SETSIZE)
				return -1;
			s = end;
		}
		for (; a <= b; a++) {
			if (n >= max)
				return -1;
			cpus[n++] = (int)a;
		}
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return n;
}

/* ---- latency histogram ------------------------------------------------- */

#define BENCH_HIST_SUB_BITS 7 /* values below 2^7 are exact */
#define BENCH_HIST_HALF (1u << (BENCH_HIST_SUB_BITS - 1))
#define BENCH_HIST_BUCKETS ((64 - BENCH_HIST_SUB_BITS + 1) * BENCH_HIST_HALF + BENCH_HIST_HALF)

struct bench_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
	uint64_t b[BENCH_HIST_BUCKETS];
};

static inline void bench_hist_init(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

static inline unsigned bench_hist_index(uint64_t v)
{
	unsigned e, s;

	if (v < (1u << BENCH_HIST_SUB_BITS))
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* >= SUB_BITS */
	s = e - (BENCH_HIST_SUB_BITS - 1);    /* >= 1 */
	return s * BENCH_HIST_HALF + (unsigned)(v >> s);
}

/* Middle of the values that land in bucket idx. */
static inline uint64_t bench_hist_value(unsigned idx)
{
	unsigned s, m;

	if (idx < (1u << BENCH_HIST_SUB_BITS))
		return idx;
	s = idx / BENCH_HIST_HALF - 1;
	m = idx - s * BENCH_HIST_HALF;
	return ((uint64_t)m << s) + ((1ull << s) >> 1);
}

static inline void bench_hist_add(struct bench_hist *h, uint64_t v)
{
	h->b[bench_hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

static inline void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
	unsigned i;

	for (i = 0; i < BENCH_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* The value below which a fraction p (0..1) of the samples lie. */
static inline uint64_t bench_hist_pct(const struct bench_hist *h, double p)
{
	uint64_t rank, seen = 0;
	unsigned i;

	if (h->count == 0)
		return 0;
	rank = (uint64_t)(p * (double)h->count + 0.999999);
	if (rank == 0)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t v = bench_hist_value(i);

			/* Never report outside what was really seen. */
			if (v < h->min)
				v = h->min;
			if (v > h->max)
				v = h->max;
			return v;
		}
	}
	return h->max;
}

/* " samples=N min_ns=.. p50_ns=.. p99_ns=.. p999_ns=.. max_ns=.. mean_ns=.." */
static inline void bench_hist_print(FILE *f, const struct bench_hist *h)
{
	fprintf(f, " samples=%llu min_ns=%llu p50_ns=%llu p99_ns=%llu p999_ns=%llu max_ns=%llu mean_ns=%llu",
		(unsigned long long)h->count,
		(unsigned long long)(h->count ? h->min : 0),
		(unsigned long long)bench_hist_pct(h, 0.50),
		(unsigned long long)bench_hist_pct(h, 0.99),
		(unsigned long long)bench_hist_pct(h, 0.999),
		(unsigned long long)h->max,
		(unsigned long long)(h->count ? h->sum / h->count : 0));
}

#endif /* MEMIF_BENCH_UTIL_H */
