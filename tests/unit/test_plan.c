/* The scan planner: chunks of in-use records, long unused runs of the
 * $MFT:$BITMAP left out. The plan is checked against a reference planner
 * written here record by record (the rule in scan/plan.c's words), on
 * bitmaps built to sit on every edge: runs just shorter and just longer
 * than the skip minimum, at chunk ends and starts, byte-aligned and not,
 * a bitmap shorter than the $MFT, and random ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../scan/plan.h"
#include "../../source/source.h"

#define RS 1024u

static bool in_use(const uint8_t *bm, uint64_t len, uint64_t r)
{
	return r / 8 >= len || (bm[r / 8] >> (r % 8) & 1);
}

static uint64_t ref_unused_run(const uint8_t *bm, uint64_t len, uint64_t r,
			       uint64_t limit)
{
	uint64_t n = 0;
	while (r + n < limit && !in_use(bm, len, r + n))
		n++;
	return n;
}

struct ref_chunk {
	uint64_t first;
	uint32_t count;
};

/* The rule: skip an unused run of UFFS_PLAN_SKIP_MIN_RECORDS or more (or
 * one reaching the end); a chunk holds up to `per` records and ends where
 * such a run begins. */
static size_t ref_plan(const uint8_t *bm, uint64_t len, uint64_t n,
		       uint32_t per, struct ref_chunk *out, uint64_t *skipped)
{
	size_t k = 0;
	uint64_t r = 0;
	*skipped = 0;
	while (r < n) {
		uint64_t run = ref_unused_run(bm, len, r, n);
		if (run >= UFFS_PLAN_SKIP_MIN_RECORDS || r + run == n) {
			*skipped += run;
			r += run;
			continue;
		}
		uint64_t count = n - r < per ? n - r : per;
		for (uint64_t j = 1; j < count; j++)
			if (!in_use(bm, len, r + j) &&
			    ref_unused_run(bm, len, r + j, r + count) >=
				    UFFS_PLAN_SKIP_MIN_RECORDS) {
				count = j;
				break;
			}
		out[k++] = (struct ref_chunk){r, (uint32_t)count};
		r += count;
	}
	return k;
}

static void check_plan(uint8_t *bm, uint64_t len, uint64_t n, uint32_t per)
{
	struct uffs_source src = {0};
	struct uffs_extent ext = {0, 0, n * RS};
	struct uffs_volume v = {0};
	v.src = &src;
	v.record_size = RS;
	v.mft_size = n * RS;
	v.n_records = n;
	v.ext = &ext;
	v.n_ext = 1;
	v.bitmap = bm;
	v.bitmap_len = len;
	struct uffs_plan p;
	struct mft_error err;
	assert_int_equal(uffs_plan_build(&p, &v, per * RS, true, &err), MFT_OK);
	struct ref_chunk *want = malloc((n + 1) * sizeof *want);
	assert_non_null(want);
	uint64_t skipped;
	size_t k = ref_plan(bm, len, n, per, want, &skipped);
	assert_int_equal(p.n_chunks, k);
	assert_int_equal(p.records_skipped, skipped);
	for (size_t i = 0; i < k; i++) {
		assert_int_equal(p.chunks[i].first, want[i].first);
		assert_int_equal(p.chunks[i].count, want[i].count);
	}
	free(want);
	uffs_plan_free(&p);
}

static void set_run(uint8_t *bm, uint64_t from, uint64_t n, bool used)
{
	for (uint64_t r = from; r < from + n; r++) {
		if (used)
			bm[r / 8] |= (uint8_t)(1u << (r % 8));
		else
			bm[r / 8] &= (uint8_t)~(1u << (r % 8));
	}
}

/* Unused runs of every length around the minimum, at every offset
 * within a byte, with chunks of several sizes. */
static void test_runs_around_the_minimum(void **state)
{
	(void)state;
	enum { N = 1000 };
	uint8_t bm[N / 8 + 1];
	const uint64_t m = UFFS_PLAN_SKIP_MIN_RECORDS;
	for (uint64_t len = m - 2; len <= m + 2; len++)
		for (uint64_t at = 100; at < 117; at++)
			for (uint32_t per = 1; per <= 300; per += 37) {
				memset(bm, 0xFF, sizeof bm);
				set_run(bm, at, len, false);
				set_run(bm, at + len + 5, len, false);
				check_plan(bm, sizeof bm, N, per);
			}
}

/* Random bitmaps of several densities; a bitmap shorter than the $MFT
 * (the records past it count as in use); an all-free tail. */
static void test_random_and_short_bitmaps(void **state)
{
	(void)state;
	enum { N = 20000 };
	static uint8_t bm[N / 8 + 1];
	srand(7);
	const int free_per_mille[] = {0, 10, 500, 990, 1000};
	for (size_t d = 0; d < sizeof free_per_mille / sizeof *free_per_mille; d++)
		for (int round = 0; round < 4; round++) {
			memset(bm, 0xFF, sizeof bm);
			for (uint64_t r = 0; r < N; r++) {
				/* runs, not single bits: free records come in
				 * stretches on real volumes */
				if (rand() % 1000 < free_per_mille[d]) {
					uint64_t len = (uint64_t)(rand() % 150);
					set_run(bm, r, len < N - r ? len : N - r, false);
					r += len;
				}
			}
			check_plan(bm, sizeof bm, N, 512);
			check_plan(bm, sizeof bm, N, 97);
			check_plan(bm, sizeof bm / 2, N, 512);
		}
	memset(bm, 0xFF, sizeof bm);
	set_run(bm, N - 700, 700, false);
	check_plan(bm, sizeof bm, N, 512);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_around_the_minimum),
		cmocka_unit_test(test_random_and_short_bitmaps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
