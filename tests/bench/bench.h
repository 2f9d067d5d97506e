/* What the benchmark programs share: the clock, dying with a message, the big prefix list. */
#ifndef UPLINK_BENCH_H
#define UPLINK_BENCH_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "addr.h"

static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn, unused));

/* "PROGRAM: message" on stderr, exit status 1 */
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/*
 * The benchmark's destination list: prefix i of a sequence fixed by its seed (xorshift64*), so
 * that `apply_bench --gen-prefixes N --seed S` (a file for the config) and `nft_apply --big-set N`
 * (straight into the table) make the same set.  /24 number 5i + 0..2 above 11.0.0.0, or one
 * /32 in it: never adjacent, so never merged.
 */
static inline uint64_t bench_rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static inline uint64_t bench_prefix_seed(uint64_t seed)
{
	return seed * 0x9e3779b97f4a7c15ull + 1;
}

/* Call with i = 0, 1, 2, ... in order and the same state. */
static inline struct ip_prefix bench_prefix(unsigned i, uint64_t *state)
{
	uint32_t block = 0x0b0000u + 5 * i + (uint32_t)(bench_rnd(state) % 3);
	struct ip_prefix p = { .addr = addr_v4(block << 8), .len = 24 };

	if (bench_rnd(state) & 1) {
		p.addr = addr_v4(block << 8 | (uint32_t)(1 + bench_rnd(state) % 254));
		p.len = 32;
	}
	return p;
}

#endif
