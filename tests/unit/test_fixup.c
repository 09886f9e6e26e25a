/* mft_fixup_apply: update sequence (multi-sector transfer) fixup.
 *
 * Layout used (ntfs_format.h, MFT record header):
 *   0x04 2  update sequence array offset
 *   0x06 2  update sequence array count, in 16-bit words, incl. the USN
 * Every 512-byte stride ends with the USN on disk; the USA keeps the USN at
 * usa[0] and the displaced original tail of stride i at usa[i]. The records
 * here are built by hand: a byte pattern, a header, then protect() does what
 * NTFS does before writing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mft.h"

#define STRIDE 512
#define FRS 77

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* A record of `size` bytes: distinct bytes everywhere (so a wrong restore
 * shows), "FILE" magic and a USA at usa_off with usa_count words. */
static void make_record(uint8_t *rec, size_t size, uint16_t usa_off,
			uint16_t usa_count)
{
	for (size_t i = 0; i < size; i++)
		rec[i] = (uint8_t)(i * 7 + 3 + (i >> 8));
	memcpy(rec, "FILE", 4);
	put16(rec + 0x04, usa_off);
	put16(rec + 0x06, usa_count);
}

/* What NTFS does before writing: save each stride's tail into the USA and
 * put the USN there instead. */
static void protect(uint8_t *rec, size_t size, uint16_t usn)
{
	uint8_t *usa = rec + get16(rec + 0x04);
	size_t count = get16(rec + 0x06);
	(void)size;
	put16(usa, usn);
	for (size_t i = 1; i < count; i++) {
		uint8_t *tail = rec + i * STRIDE - 2;
		usa[2 * i] = tail[0];
		usa[2 * i + 1] = tail[1];
		put16(tail, usn);
	}
}

static void check_roundtrip(size_t size, uint16_t usa_count, uint16_t usn)
{
	uint8_t orig[4096], rec[4096];
	make_record(orig, size, 0x30, usa_count);
	memcpy(rec, orig, size);
	protect(rec, size, usn);
	/* The protected image really differs from the original at the tails. */
	for (size_t i = 1; i < usa_count; i++) {
		assert_int_equal(get16(rec + i * STRIDE - 2), usn);
		assert_int_not_equal(get16(orig + i * STRIDE - 2), usn);
	}
	uint8_t usa_after_protect[2 * 9];
	memcpy(usa_after_protect, rec + 0x30, 2u * usa_count);

	struct mft_error err = {0};
	assert_int_equal(mft_fixup_apply(rec, size, FRS, &err), MFT_OK);

	/* Every tail holds its original bytes again. */
	for (size_t i = 1; i < usa_count; i++)
		assert_memory_equal(rec + i * STRIDE - 2,
				    orig + i * STRIDE - 2, 2);
	/* Nothing but the tails changed: the USA itself stays as on disk, and
	 * every other byte is the original. */
	assert_memory_equal(rec + 0x30, usa_after_protect, 2u * usa_count);
	for (size_t i = 0; i < size; i++) {
		if (i >= 0x30 && i < 0x30 + 2u * usa_count)
			continue;
		if (rec[i] != orig[i])
			fail_msg("byte %zu: %02x, want %02x", i, rec[i],
				 orig[i]);
	}
}

static void test_1024_three_entries(void **state)
{
	(void)state;
	check_roundtrip(1024, 3, 0x0102);
}

static void test_4096_nine_entries(void **state)
{
	(void)state;
	check_roundtrip(4096, 9, 0xBEEF);
}

static void test_512_two_entries(void **state)
{
	(void)state;
	check_roundtrip(512, 2, 0x0001);
}

/* Restoring must use usa[i] for stride i, not the same word everywhere:
 * give every stride a different original tail and check each one. */
static void test_each_stride_gets_its_own_word(void **state)
{
	(void)state;
	uint8_t rec[4096];
	make_record(rec, 4096, 0x30, 9);
	for (unsigned i = 1; i <= 8; i++)
		put16(rec + i * STRIDE - 2, (uint16_t)(0x1100 * i + i));
	protect(rec, 4096, 0x0042);
	struct mft_error err = {0};
	assert_int_equal(mft_fixup_apply(rec, 4096, FRS, &err), MFT_OK);
	for (unsigned i = 1; i <= 8; i++)
		assert_int_equal(get16(rec + i * STRIDE - 2), 0x1100 * i + i);
}

static void check_mismatch(unsigned bad_stride, uint64_t want_offset)
{
	uint8_t rec[1024], snap[1024];
	make_record(rec, 1024, 0x30, 3);
	protect(rec, 1024, 0x0102);
	/* A torn write: this stride still holds an older USN. */
	put16(rec + bad_stride * STRIDE - 2, 0x0101);
	memcpy(snap, rec, sizeof rec);

	struct mft_error err = {0};
	assert_int_equal(mft_fixup_apply(rec, 1024, FRS, &err), MFT_E_FIXUP);
	assert_int_equal(err.code, MFT_E_FIXUP);
	assert_int_equal(err.offset, want_offset);
	assert_int_equal(err.frs, FRS);
	assert_non_null(err.what);
	/* Nothing written, not even the strides that did match. */
	assert_memory_equal(rec, snap, sizeof rec);
}

static void test_mismatch_in_stride_2(void **state)
{
	(void)state;
	check_mismatch(2, 1022);
}

static void test_mismatch_in_stride_1(void **state)
{
	(void)state;
	check_mismatch(1, 510);
}

/* Only one byte of the tail wrong is still a mismatch. */
static void test_mismatch_one_byte(void **state)
{
	(void)state;
	uint8_t rec[1024], snap[1024];
	make_record(rec, 1024, 0x30, 3);
	protect(rec, 1024, 0x0102);
	rec[1023] ^= 0x80; /* high byte of the stride-2 tail */
	memcpy(snap, rec, sizeof rec);
	struct mft_error err = {0};
	assert_int_equal(mft_fixup_apply(rec, 1024, FRS, &err), MFT_E_FIXUP);
	assert_int_equal(err.offset, 1022);
	assert_memory_equal(rec, snap, sizeof rec);
}

/* A header field is bad: the call fails and the buffer is untouched.
 * `consistent`: the record is protected with the bad header itself (USN and
 * saved words where the bad header says), so the only thing wrong is the
 * field under test; otherwise it is protected with a sane header and the
 * field broken afterwards. The buffer is larger than the record and every
 * stride end past the record holds the USN too, so reading or writing past
 * `size` is caught. */
static void check_rejected_ex(size_t size, uint16_t usa_off,
			      uint16_t usa_count, bool consistent)
{
	static uint8_t rec[4096 + 2048], snap[sizeof rec];
	const uint16_t usn = 0x0102;
	make_record(rec, sizeof rec, 0x30, (uint16_t)(size / STRIDE + 1));
	if (consistent) {
		put16(rec + 0x04, usa_off);
		put16(rec + 0x06, usa_count);
		protect(rec, size, usn);
	} else {
		protect(rec, size, usn);
		put16(rec + 0x04, usa_off);
		put16(rec + 0x06, usa_count);
	}
	for (size_t end = size + STRIDE; end <= sizeof rec; end += STRIDE)
		put16(rec + end - 2, usn);
	memcpy(snap, rec, sizeof rec);
	struct mft_error err = {0};
	int rc = mft_fixup_apply(rec, size, FRS, &err);
	if (rc >= 0)
		fail_msg("size %zu usa_off %#x usa_count %u: accepted", size,
			 usa_off, usa_count);
	assert_int_equal(err.code, rc);
	assert_int_equal(err.frs, FRS);
	assert_memory_equal(rec, snap, sizeof rec);
}

static void check_rejected(size_t size, uint16_t usa_off, uint16_t usa_count)
{
	check_rejected_ex(size, usa_off, usa_count, false);
}

static void test_usa_count_zero(void **state)
{
	(void)state;
	check_rejected(1024, 0x30, 0);
}

static void test_usa_count_one(void **state)
{
	(void)state;
	/* Only the USN, no saved words: nothing could be restored. */
	check_rejected(1024, 0x30, 1);
}

static void test_usa_count_too_large(void **state)
{
	(void)state;
	check_rejected(1024, 0x30, 4);  /* 3 strides claimed, 2 exist */
	check_rejected(4096, 0x30, 10); /* 9 claimed, 8 exist */
	/* Same, with USN-valued tails where the extra strides would be. */
	check_rejected_ex(1024, 0x30, 4, true);
	check_rejected_ex(4096, 0x30, 10, true);
	check_rejected(1024, 0x30, 0xFFFF);
}

/* NTFS always writes size / 512 + 1 words; fewer would leave the last
 * strides unchecked (a torn write goes unnoticed) and their tails still
 * holding the USN instead of the data. mft.h: "Checks every 512-byte
 * stride's last two bytes". */
static void test_usa_count_too_small(void **state)
{
	(void)state;
	check_rejected_ex(1024, 0x30, 2, true);
	check_rejected_ex(4096, 0x30, 5, true);
}

static void test_usa_offset_out_of_range(void **state)
{
	(void)state;
	/* Inside the header's magic/offset fields. */
	check_rejected(1024, 0x00, 3);
	check_rejected(1024, 0x04, 3);
	/* Past the record. */
	check_rejected(1024, 0x1000, 3);
	check_rejected(1024, 0xFFFE, 3);
	/* Would run over the first stride's tail at 0x1FE (6 bytes from
	 * 0x1FA end at 0x200). */
	check_rejected(1024, 0x1FA, 3);
	check_rejected(1024, 0x1FE, 3);
	check_rejected_ex(1024, 0x1FA, 3, true);
}

/* The USA overlapping the first stride's own tail (0x1FA + 6 = 0x200), in a
 * record whose bytes happen to line up so every tail reads as the USN: only
 * the position is wrong. */
static void test_usa_overlapping_tail(void **state)
{
	(void)state;
	static uint8_t rec[1024], snap[1024];
	const uint16_t usn = 0x0505;
	make_record(rec, sizeof rec, 0x1FA, 3);
	put16(rec + 1022, usn); /* stride 2's original tail */
	protect(rec, sizeof rec, usn);
	/* protect() saved stride 2's tail into usa[2], which is 0x1FE. */
	assert_int_equal(get16(rec + 510), usn);
	assert_int_equal(get16(rec + 1022), usn);
	memcpy(snap, rec, sizeof rec);
	struct mft_error err = {0};
	assert_true(mft_fixup_apply(rec, sizeof rec, FRS, &err) < 0);
	assert_int_equal(err.offset, 0x04);
	assert_memory_equal(rec, snap, sizeof rec);
}

static void test_usa_offset_odd(void **state)
{
	(void)state;
	check_rejected(1024, 0x31, 3);
	check_rejected(1024, 0x2F, 3);
	/* Protected at the odd offset itself: only the oddness is wrong. */
	check_rejected_ex(1024, 0x31, 3, true);
	check_rejected_ex(1024, 0x1F7, 3, true);
}

/* The last position that still fits before the first tail is accepted. */
static void test_usa_offset_at_end_of_first_stride(void **state)
{
	(void)state;
	uint8_t orig[1024], rec[1024];
	make_record(orig, 1024, 0x1F8, 3); /* 0x1F8 + 6 = 0x1FE */
	memcpy(rec, orig, sizeof rec);
	protect(rec, 1024, 0x0707);
	struct mft_error err = {0};
	assert_int_equal(mft_fixup_apply(rec, 1024, FRS, &err), MFT_OK);
	assert_memory_equal(rec + 510, orig + 510, 2);
	assert_memory_equal(rec + 1022, orig + 1022, 2);
}

static void test_size_not_multiple_of_stride(void **state)
{
	(void)state;
	uint8_t rec[1024], snap[1024];
	make_record(rec, 1024, 0x30, 3);
	protect(rec, 1024, 0x0102);
	memcpy(snap, rec, sizeof rec);
	struct mft_error err = {0};
	assert_true(mft_fixup_apply(rec, 1000, FRS, &err) < 0);
	assert_true(mft_fixup_apply(rec, 256, FRS, &err) < 0);
	assert_memory_equal(rec, snap, sizeof rec);
}

/* ---- a record as the file system holds it in memory --------------------- */

/* A record protected with `usn` then reverted as NTFS reverts it after a
 * read (tails restored, the array kept): what FSCTL_GET_NTFS_FILE_RECORD
 * may give. Reprotecting it gives back the on-disk bytes exactly. */
static void check_reprotect(size_t size, uint16_t usa_count, uint16_t usn)
{
	uint8_t disk[4096], mem[4096];
	make_record(disk, size, 0x30, usa_count);
	protect(disk, size, usn);
	memcpy(mem, disk, size);
	struct mft_error err = {0};
	assert_int_equal(mft_fixup_apply(mem, size, FRS, &err), MFT_OK);
	assert_memory_not_equal(mem, disk, size);
	assert_int_equal(mft_fixup_reprotect(mem, size, FRS, &err), MFT_OK);
	assert_memory_equal(mem, disk, size);
}

static void test_reprotect_1024_and_4096(void **state)
{
	(void)state;
	check_reprotect(1024, 3, 0x0102);
	check_reprotect(4096, 9, 0xFFFE);
	check_reprotect(512, 2, 0x0001);
}

/* A record already in its on-disk form is left alone. */
static void test_reprotect_leaves_disk_form(void **state)
{
	(void)state;
	uint8_t disk[1024], rec[1024];
	make_record(disk, sizeof disk, 0x30, 3);
	protect(disk, sizeof disk, 0x4242);
	memcpy(rec, disk, sizeof rec);
	struct mft_error err = {0};
	assert_int_equal(mft_fixup_reprotect(rec, sizeof rec, FRS, &err),
			 MFT_OK);
	assert_memory_equal(rec, disk, sizeof rec);
}

/* One tail that is neither the number nor its saved word: a record torn
 * in memory or a lying answer; reported at that tail, nothing written. */
static void test_reprotect_neither_form(void **state)
{
	(void)state;
	for (unsigned bad = 1; bad <= 2; bad++) {
		uint8_t rec[1024], before[1024];
		make_record(rec, sizeof rec, 0x30, 3);
		protect(rec, sizeof rec, 0x0707);
		struct mft_error err = {0};
		assert_int_equal(mft_fixup_apply(rec, sizeof rec, FRS, &err),
				 MFT_OK);
		rec[bad * STRIDE - 1] ^= 0x5A;
		memcpy(before, rec, sizeof rec);
		assert_int_equal(mft_fixup_reprotect(rec, sizeof rec, FRS, &err),
				 MFT_E_FIXUP);
		assert_int_equal(err.frs, FRS);
		assert_int_equal(err.offset, bad * STRIDE - 2);
		assert_memory_equal(rec, before, sizeof rec);
	}
}

/* The array's checks are the same as for a read record. */
static void test_reprotect_bad_array(void **state)
{
	(void)state;
	uint8_t rec[1024];
	make_record(rec, sizeof rec, 0x30, 4);
	struct mft_error err = {0};
	assert_int_equal(mft_fixup_reprotect(rec, sizeof rec, FRS, &err),
			 MFT_E_FIXUP);
	assert_int_equal(err.offset, 0x06);
	make_record(rec, sizeof rec, 0x1FF, 3);
	assert_int_equal(mft_fixup_reprotect(rec, sizeof rec, FRS, &err),
			 MFT_E_FIXUP);
	assert_int_equal(err.offset, 0x04);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_1024_three_entries),
		cmocka_unit_test(test_4096_nine_entries),
		cmocka_unit_test(test_512_two_entries),
		cmocka_unit_test(test_each_stride_gets_its_own_word),
		cmocka_unit_test(test_mismatch_in_stride_2),
		cmocka_unit_test(test_mismatch_in_stride_1),
		cmocka_unit_test(test_mismatch_one_byte),
		cmocka_unit_test(test_usa_count_zero),
		cmocka_unit_test(test_usa_count_one),
		cmocka_unit_test(test_usa_count_too_large),
		cmocka_unit_test(test_usa_count_too_small),
		cmocka_unit_test(test_usa_offset_out_of_range),
		cmocka_unit_test(test_usa_overlapping_tail),
		cmocka_unit_test(test_usa_offset_odd),
		cmocka_unit_test(test_usa_offset_at_end_of_first_stride),
		cmocka_unit_test(test_size_not_multiple_of_stride),
		cmocka_unit_test(test_reprotect_1024_and_4096),
		cmocka_unit_test(test_reprotect_leaves_disk_form),
		cmocka_unit_test(test_reprotect_neither_form),
		cmocka_unit_test(test_reprotect_bad_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
