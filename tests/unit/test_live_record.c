/* A live volume's record as the file system answers
 * FSCTL_GET_NTFS_FILE_RECORD (scan/live_record.c), built here to the
 * documented NTFS_FILE_RECORD_OUTPUT_BUFFER layout (the number of the
 * record given, its length, the record): a record in use, held in memory
 * or in its on-disk form, comes out as the volume would hold it; a lower
 * number means the record asked for is free; every answer that does not
 * hold is an error at its byte, never a read past the answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "put_le.h"

#include "../../scan/live_record.h"

#define REC 1024u
#define HDR UFFS_LIVE_RECORD_HEADER
#define FRS 0x2345u
#define USN 0x0A0Bu

/* Record frs as written to the volume: "FILE", its array at 0x30 (the
 * number, then each stride's saved tail), distinct bytes elsewhere. */
static void disk_record(uint8_t *rec)
{
	for (unsigned i = 0; i < REC; i++)
		rec[i] = (uint8_t)(i * 13 + 5);
	memcpy(rec, "FILE", 4);
	put16(rec + 0x04, 0x30);
	put16(rec + 0x06, 3);
	put16(rec + 0x30, USN);
	for (unsigned s = 1; s <= 2; s++) {
		memcpy(rec + 0x30 + 2 * s, rec + s * 512 - 2, 2);
		put16(rec + s * 512 - 2, USN);
	}
}

/* The record as NTFS holds it in memory: tails restored. */
static void memory_record(uint8_t *rec)
{
	disk_record(rec);
	for (unsigned s = 1; s <= 2; s++)
		memcpy(rec + s * 512 - 2, rec + 0x30 + 2 * s, 2);
}

/* An answer giving record `given` (with sequence bits above, which the
 * number carries) of `len` bytes. */
static size_t answer(uint8_t *a, uint64_t given, uint32_t len,
		     const uint8_t *rec)
{
	put64(a, 0x0007000000000000ull | given);
	put32(a + 8, len);
	memcpy(a + HDR, rec, REC);
	return HDR + REC;
}

/* The record given (rec) for frs, taken: out is the on-disk form. */
static void check_taken(const uint8_t *rec, uint8_t *out)
{
	uint8_t a[HDR + REC];
	size_t n = answer(a, FRS, REC, rec);
	bool in_use = false;
	struct mft_error err = {0};
	assert_int_equal(uffs_live_record_take(a, n, FRS, out, REC, &in_use,
					       &err),
			 MFT_OK);
	assert_true(in_use);
}

static void test_in_memory_record_comes_out_as_on_disk(void **state)
{
	(void)state;
	uint8_t disk[REC], mem[REC], out[REC];
	disk_record(disk);
	memory_record(mem);
	assert_memory_not_equal(disk, mem, REC);
	check_taken(mem, out);
	assert_memory_equal(out, disk, REC);
	/* and the parse's fixup takes it */
	struct mft_error err = {0};
	assert_int_equal(mft_fixup_apply(out, REC, FRS, &err), MFT_OK);
	assert_memory_equal(out, mem, REC);
}

static void test_on_disk_form_taken_as_it_is(void **state)
{
	(void)state;
	uint8_t disk[REC], out[REC];
	disk_record(disk);
	check_taken(disk, out);
	assert_memory_equal(out, disk, REC);
}

/* A lower record: the one asked for is not in use; out untouched. */
static void test_lower_record_means_free(void **state)
{
	(void)state;
	uint8_t mem[REC], a[HDR + REC], out[REC];
	memory_record(mem);
	size_t n = answer(a, FRS - 3, REC, mem);
	memset(out, 0xEE, REC);
	bool in_use = true;
	struct mft_error err = {0};
	assert_int_equal(uffs_live_record_take(a, n, FRS, out, REC, &in_use,
					       &err),
			 MFT_OK);
	assert_false(in_use);
	for (unsigned i = 0; i < REC; i++)
		assert_int_equal(out[i], 0xEE);
}

static void check_refused(const uint8_t *a, size_t n, int want,
			  uint64_t want_offset)
{
	uint8_t out[REC];
	memset(out, 0xEE, REC);
	bool in_use = true;
	struct mft_error err = {0};
	/* a copy of exactly n bytes: ASan sees any read past the answer */
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, a, n);
	assert_int_equal(uffs_live_record_take(copy, n, FRS, out, REC,
					       &in_use, &err),
			 want);
	free(copy);
	assert_false(in_use);
	assert_int_equal(err.frs, FRS);
	assert_int_equal(err.offset, want_offset);
	for (unsigned i = 0; i < REC; i++)
		assert_int_equal(out[i], 0xEE);
}

static void test_higher_record_refused(void **state)
{
	(void)state;
	uint8_t mem[REC], a[HDR + REC];
	memory_record(mem);
	size_t n = answer(a, FRS + 1, REC, mem);
	check_refused(a, n, MFT_E_CORRUPT, 0);
}

/* Every cut of the answer: inside its header, inside the record. */
static void test_every_short_answer_refused(void **state)
{
	(void)state;
	uint8_t mem[REC], a[HDR + REC];
	memory_record(mem);
	answer(a, FRS, REC, mem);
	for (size_t n = 0; n < HDR + REC; n++)
		check_refused(a, n, MFT_E_CORRUPT, n);
}

static void test_other_length_refused(void **state)
{
	(void)state;
	uint8_t mem[REC], a[HDR + REC];
	memory_record(mem);
	const uint32_t lens[] = {0, 512, REC - 8, REC + 8, 4096, 0xFFFFFFFFu};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		size_t n = answer(a, FRS, lens[i], mem);
		check_refused(a, n, MFT_E_CORRUPT, 8);
	}
}

/* A tail that is neither the number nor its saved word, in each stride. */
static void test_torn_tail_refused(void **state)
{
	(void)state;
	for (unsigned s = 1; s <= 2; s++) {
		uint8_t mem[REC], a[HDR + REC];
		memory_record(mem);
		mem[s * 512 - 2] ^= 0x11;
		size_t n = answer(a, FRS, REC, mem);
		check_refused(a, n, MFT_E_FIXUP, s * 512 - 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_memory_record_comes_out_as_on_disk),
		cmocka_unit_test(test_on_disk_form_taken_as_it_is),
		cmocka_unit_test(test_lower_record_means_free),
		cmocka_unit_test(test_higher_record_refused),
		cmocka_unit_test(test_every_short_answer_refused),
		cmocka_unit_test(test_other_length_refused),
		cmocka_unit_test(test_torn_tail_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
