/* mft_runlist_init / mft_runlist_next: mapping pairs decoding.
 *
 * Each run: one header byte, low nibble = size of the length field, high
 * nibble = size of the offset field; then the length (unsigned LE) and the
 * offset (signed LE delta from the previous run's LCN; the first is relative
 * to 0). Offset size 0 = sparse run. A 0x00 header ends the list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mft.h"

/* Decodes up to `max` runs; returns the final rc (0 at the end, < 0 on
 * error) and the number of runs in *n. */
static int decode(const uint8_t *p, size_t len, uint64_t start_vcn,
		  struct mft_run *runs, size_t max, size_t *n,
		  struct mft_error *err)
{
	struct mft_runlist_iter it;
	mft_runlist_init(&it, p, len, start_vcn);
	*n = 0;
	for (;;) {
		struct mft_run r;
		int rc = mft_runlist_next(&it, &r, err);
		if (rc != 1)
			return rc;
		assert_true(*n < max);
		runs[(*n)++] = r;
	}
}

static void test_single_run(void **state)
{
	(void)state;
	/* 0x21: length 1 byte, offset 2 bytes. 0x18 clusters at LCN 0x5634. */
	static const uint8_t rl[] = {0x21, 0x18, 0x34, 0x56, 0x00};
	struct mft_run runs[4];
	size_t n;
	struct mft_error err = {0};
	assert_int_equal(decode(rl, sizeof rl, 0, runs, 4, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(runs[0].vcn, 0);
	assert_int_equal(runs[0].length, 0x18);
	assert_int_equal(runs[0].lcn, 0x5634);
}

/* The terminator does not have to be the last byte: slack after it is
 * ignored, and next() keeps returning 0 at the end. */
static void test_end_is_sticky(void **state)
{
	(void)state;
	static const uint8_t rl[] = {0x11, 0x01, 0x02, 0x00, 0xFF, 0xFF};
	struct mft_runlist_iter it;
	struct mft_run r;
	struct mft_error err = {0};
	mft_runlist_init(&it, rl, sizeof rl, 0);
	assert_int_equal(mft_runlist_next(&it, &r, &err), 1);
	assert_int_equal(mft_runlist_next(&it, &r, &err), 0);
	assert_int_equal(mft_runlist_next(&it, &r, &err), 0);
}

/* Lengths of 1..8 bytes, little-endian, unsigned: the top byte has its high
 * bit set where the value allows it, so a sign-extending reader fails. */
static void test_length_sizes_table(void **state)
{
	(void)state;
	static const struct {
		unsigned size;
		uint64_t length;
	} cases[] = {
		{1, 0xF0},
		{2, 0xABCD},
		{3, 0x80FEDC},
		{4, 0x89ABCDEF},
		{5, 0x8812345678},
		{6, 0xC0FFEE123456},
		{7, 0x8000000000BEEF},
		{8, 0x7FEDCBA987654321}, /* 8 bytes: must fit in int64 */
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		uint8_t rl[16];
		size_t k = 0;
		rl[k++] = (uint8_t)(0x10 | cases[c].size);
		for (unsigned b = 0; b < cases[c].size; b++)
			rl[k++] = (uint8_t)(cases[c].length >> (8 * b));
		rl[k++] = 0x2A; /* offset +42 */
		rl[k++] = 0x00;
		struct mft_run runs[2];
		size_t n;
		struct mft_error err = {0};
		int rc = decode(rl, k, 7, runs, 2, &n, &err);
		if (rc != 0 || n != 1)
			fail_msg("length size %u: rc %d, %zu runs",
				 cases[c].size, rc, n);
		if (runs[0].length != cases[c].length)
			fail_msg("length size %u: got %#llx want %#llx",
				 cases[c].size,
				 (unsigned long long)runs[0].length,
				 (unsigned long long)cases[c].length);
		assert_int_equal(runs[0].lcn, 42);
		assert_int_equal(runs[0].vcn, 7);
	}
}

/* Offsets of 1..8 bytes: positive values whose top byte is < 0x80, and the
 * boundary values needing one more byte to stay positive. */
static void test_offset_sizes_table(void **state)
{
	(void)state;
	static const struct {
		unsigned size;
		int64_t lcn;
	} cases[] = {
		{1, 0x7F},
		{2, 0x0080}, /* 0x80 alone would be -128 */
		{2, 0x7FFF},
		{3, 0x123456},
		{4, 0x7ABCDEF0},
		{5, 0x00FFFFFFFF},
		{6, 0x123456789ABC},
		{7, 0x0080000000000},
		{8, 0x0123456789ABCDEF},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		uint8_t rl[16];
		size_t k = 0;
		rl[k++] = (uint8_t)(cases[c].size << 4 | 1);
		rl[k++] = 0x03;
		for (unsigned b = 0; b < cases[c].size; b++)
			rl[k++] = (uint8_t)((uint64_t)cases[c].lcn >> (8 * b));
		rl[k++] = 0x00;
		struct mft_run runs[2];
		size_t n;
		struct mft_error err = {0};
		int rc = decode(rl, k, 0, runs, 2, &n, &err);
		if (rc != 0 || n != 1 || runs[0].lcn != cases[c].lcn)
			fail_msg("offset size %u: rc %d n %zu lcn %#llx want "
				 "%#llx",
				 cases[c].size, rc, n,
				 (unsigned long long)runs[0].lcn,
				 (unsigned long long)cases[c].lcn);
	}
}

static void test_negative_delta(void **state)
{
	(void)state;
	static const uint8_t rl[] = {
		0x21, 0x08, 0x00, 0x10, /* 8 clusters at 0x1000 */
		0x21, 0x04, 0x00, 0xFF, /* delta 0xFF00 = -256: LCN 0x0F00 */
		0x11, 0x02, 0xF0,       /* delta -16: LCN 0x0EF0 */
		0x11, 0x01, 0x30,       /* delta +48: LCN 0x0F20 */
		0x00,
	};
	struct mft_run runs[8];
	size_t n;
	struct mft_error err = {0};
	assert_int_equal(decode(rl, sizeof rl, 0, runs, 8, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(runs[0].lcn, 0x1000);
	assert_int_equal(runs[1].lcn, 0x0F00);
	assert_int_equal(runs[2].lcn, 0x0EF0);
	assert_int_equal(runs[3].lcn, 0x0F20);
	assert_int_equal(runs[1].vcn, 8);
	assert_int_equal(runs[2].vcn, 12);
	assert_int_equal(runs[3].vcn, 14);
}

/* A negative delta down to exactly LCN 0 is still on the volume. */
static void test_negative_delta_to_zero(void **state)
{
	(void)state;
	static const uint8_t rl[] = {0x11, 0x01, 0x40, 0x11, 0x01, 0xC0, 0x00};
	struct mft_run runs[4];
	size_t n;
	struct mft_error err = {0};
	assert_int_equal(decode(rl, sizeof rl, 0, runs, 4, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(runs[0].lcn, 0x40);
	assert_int_equal(runs[1].lcn, 0);
}

static void test_sparse_keeps_lcn(void **state)
{
	(void)state;
	static const uint8_t rl[] = {
		0x21, 0x10, 0x00, 0x04, /* 16 clusters at 0x400 */
		0x01, 0x08,             /* 8 sparse clusters */
		0x11, 0x04, 0x20,       /* delta +0x20 from 0x400, not from 0 */
		0x01, 0x02,             /* sparse again */
		0x11, 0x01, 0xF0,       /* delta -16 from 0x420 */
		0x00,
	};
	struct mft_run runs[8];
	size_t n;
	struct mft_error err = {0};
	assert_int_equal(decode(rl, sizeof rl, 0, runs, 8, &n, &err), 0);
	assert_int_equal(n, 5);
	assert_int_equal(runs[0].lcn, 0x400);
	assert_int_equal(runs[1].lcn, MFT_LCN_SPARSE);
	assert_int_equal(runs[1].length, 8);
	assert_int_equal(runs[1].vcn, 16);
	assert_int_equal(runs[2].lcn, 0x420);
	assert_int_equal(runs[2].vcn, 24);
	assert_int_equal(runs[3].lcn, MFT_LCN_SPARSE);
	assert_int_equal(runs[3].vcn, 28);
	assert_int_equal(runs[4].lcn, 0x410);
	assert_int_equal(runs[4].vcn, 30);
}

/* A leading sparse run: the next delta is relative to 0. */
static void test_sparse_first(void **state)
{
	(void)state;
	static const uint8_t rl[] = {0x01, 0x05, 0x11, 0x03, 0x09, 0x00};
	struct mft_run runs[4];
	size_t n;
	struct mft_error err = {0};
	assert_int_equal(decode(rl, sizeof rl, 0, runs, 4, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(runs[0].lcn, MFT_LCN_SPARSE);
	assert_int_equal(runs[1].lcn, 9);
	assert_int_equal(runs[1].vcn, 5);
}

static void test_vcn_from_start_vcn(void **state)
{
	(void)state;
	static const uint8_t rl[] = {
		0x11, 0x10, 0x20,       /* 0x10 clusters at 0x20 */
		0x12, 0x00, 0x01, 0x10, /* 2-byte length 0x100, LCN 0x30 */
		0x01, 0x07,             /* 7 sparse clusters */
		0x00,
	};
	struct mft_run runs[4];
	size_t n;
	struct mft_error err = {0};
	/* An attribute piece starting at VCN 0x1000. */
	assert_int_equal(decode(rl, sizeof rl, 0x1000, runs, 4, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(runs[0].vcn, 0x1000);
	assert_int_equal(runs[0].length, 0x10);
	assert_int_equal(runs[1].vcn, 0x1010);
	assert_int_equal(runs[1].length, 0x100);
	assert_int_equal(runs[1].lcn, 0x30);
	assert_int_equal(runs[2].vcn, 0x1110);
	assert_int_equal(runs[2].length, 7);
}

static void expect_error(const uint8_t *rl, size_t len, size_t good_runs,
			 uint64_t want_offset)
{
	struct mft_run runs[8];
	size_t n;
	struct mft_error err = {0};
	int rc = decode(rl, len, 0, runs, 8, &n, &err);
	assert_int_equal(rc, MFT_E_CORRUPT);
	assert_int_equal(err.code, MFT_E_CORRUPT);
	assert_int_equal(n, good_runs);
	assert_int_equal(err.offset, want_offset);
	assert_non_null(err.what);
}

static void test_missing_terminator(void **state)
{
	(void)state;
	static const uint8_t rl[] = {0x11, 0x04, 0x20, 0x11, 0x01, 0x01};
	expect_error(rl, sizeof rl, 2, 6);
	/* Empty list without even a terminator. */
	expect_error(rl, 0, 0, 0);
}

static void test_length_size_zero(void **state)
{
	(void)state;
	static const uint8_t rl[] = {0x10, 0x20, 0x00};
	expect_error(rl, sizeof rl, 0, 0);
	static const uint8_t rl2[] = {0x11, 0x04, 0x20, 0x20, 0x00, 0x01, 0x00};
	expect_error(rl2, sizeof rl2, 1, 3);
}

static void test_length_size_over_8(void **state)
{
	(void)state;
	uint8_t rl[24] = {0x19, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x05};
	expect_error(rl, sizeof rl, 0, 0);
	rl[0] = 0x1F;
	expect_error(rl, sizeof rl, 0, 0);
}

static void test_offset_size_over_8(void **state)
{
	(void)state;
	uint8_t rl[24] = {0x91, 0x01, 0x05};
	expect_error(rl, sizeof rl, 0, 0);
}

static void test_length_zero(void **state)
{
	(void)state;
	static const uint8_t rl[] = {0x11, 0x00, 0x05, 0x00};
	expect_error(rl, sizeof rl, 0, 0);
}

static void test_entry_past_buffer(void **state)
{
	(void)state;
	/* 0x31 needs 1 + 1 + 3 bytes; only 4 are there. */
	static const uint8_t rl[] = {0x31, 0x04, 0x00, 0x01};
	expect_error(rl, sizeof rl, 0, 0);
	/* Same after a good run: the offset is that of the bad header. */
	static const uint8_t rl2[] = {0x11, 0x01, 0x01, 0x44, 0x01, 0x02};
	expect_error(rl2, sizeof rl2, 1, 3);
	/* Cut in the length field itself. */
	static const uint8_t rl3[] = {0x08, 0x01, 0x02};
	expect_error(rl3, sizeof rl3, 0, 0);
}

static void test_delta_makes_lcn_negative(void **state)
{
	(void)state;
	/* LCN 16, then -32. */
	static const uint8_t rl[] = {0x11, 0x04, 0x10, 0x11, 0x04, 0xE0, 0x00};
	expect_error(rl, sizeof rl, 1, 3);
	/* First run negative: 0x80 is -128 relative to 0. */
	static const uint8_t rl2[] = {0x11, 0x04, 0x80, 0x00};
	expect_error(rl2, sizeof rl2, 0, 0);
	/* After a sparse run the base is still 0x10. */
	static const uint8_t rl3[] = {0x11, 0x04, 0x10, 0x01, 0x02,
				      0x11, 0x01, 0xEF, 0x00};
	expect_error(rl3, sizeof rl3, 2, 5);
}

/* An 8-byte positive delta on top of a positive LCN must not wrap. */
static void test_delta_overflow(void **state)
{
	(void)state;
	static const uint8_t rl[] = {
		0x11, 0x01, 0x10,
		0x81, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F,
		0x00,
	};
	expect_error(rl, sizeof rl, 1, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_run),
		cmocka_unit_test(test_end_is_sticky),
		cmocka_unit_test(test_length_sizes_table),
		cmocka_unit_test(test_offset_sizes_table),
		cmocka_unit_test(test_negative_delta),
		cmocka_unit_test(test_negative_delta_to_zero),
		cmocka_unit_test(test_sparse_keeps_lcn),
		cmocka_unit_test(test_sparse_first),
		cmocka_unit_test(test_vcn_from_start_vcn),
		cmocka_unit_test(test_missing_terminator),
		cmocka_unit_test(test_length_size_zero),
		cmocka_unit_test(test_length_size_over_8),
		cmocka_unit_test(test_offset_size_over_8),
		cmocka_unit_test(test_length_zero),
		cmocka_unit_test(test_entry_past_buffer),
		cmocka_unit_test(test_delta_makes_lcn_negative),
		cmocka_unit_test(test_delta_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
