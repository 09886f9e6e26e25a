/* Update sequence fixup: NTFS writes a sequence number into the last two bytes
 * of every 512-byte stride of a multi-sector record and keeps the displaced
 * bytes in the update sequence array; a stride whose tail differs from the
 * number was not written with the rest (a torn write). */
#include <string.h>

#include "bytes.h"
#include "mft.h"
#include "ntfs_format.h"

/* Where the update sequence array lies, once it is known to fit. */
static int usa_locate(const uint8_t *rec, size_t size, uint64_t frs,
		      size_t *usa_off, size_t *usa_count, struct mft_error *err)
{
	if (size < MFT_FIXUP_STRIDE || size % MFT_FIXUP_STRIDE)
		return mft_fail(err, MFT_E_CORRUPT, frs, 0,
				"record size not a multiple of 512");
	*usa_off = le16(rec + MFT_REC_USA_OFS);
	*usa_count = le16(rec + MFT_REC_USA_COUNT);
	/* One entry per 512-byte stride plus the number itself: fewer would
	 * leave strides unchecked and their last two bytes wrong. */
	if (*usa_count != size / MFT_FIXUP_STRIDE + 1)
		return mft_fail(err, MFT_E_FIXUP, frs, MFT_REC_USA_COUNT,
				"update sequence count does not match the record size");
	/* The array must sit inside the first stride, before its own tail. */
	if (*usa_off < MFT_REC_USA_COUNT + 2 || *usa_off & 1 ||
	    !span_fits(MFT_FIXUP_STRIDE - 2, *usa_off, 2 * *usa_count))
		return mft_fail(err, MFT_E_FIXUP, frs, MFT_REC_USA_OFS,
				"update sequence array offset out of range");
	return MFT_OK;
}

/* The first stride, from 1, whose tail differs from the array's entry
 * `entry` (0: the number itself, else the stride's own saved word);
 * usa_count when none does. */
static size_t first_tail_unlike(const uint8_t *rec, const uint8_t *usa,
				size_t usa_count, bool own_word)
{
	for (size_t i = 1; i < usa_count; i++) {
		const uint8_t *tail = rec + i * MFT_FIXUP_STRIDE - 2;
		const uint8_t *want = usa + (own_word ? 2 * i : 0);
		if (memcmp(tail, want, 2) != 0)
			return i;
	}
	return usa_count;
}

/* Writes each stride's tail from the array: its own saved word, or the
 * number itself. */
static void set_tails(uint8_t *rec, const uint8_t *usa, size_t usa_count,
		      bool own_word)
{
	for (size_t i = 1; i < usa_count; i++) {
		uint8_t *tail = rec + i * MFT_FIXUP_STRIDE - 2;
		const uint8_t *from = usa + (own_word ? 2 * i : 0);
		memcpy(tail, from, 2);
	}
}

/* Checks that every stride's tail holds one form (its saved word, or the
 * number), then writes the other; usa and usa_count as usa_locate found
 * them. */
static int swap_tails(uint8_t *rec, const uint8_t *usa, size_t usa_count,
		      uint64_t frs, bool from_own, const char *mismatch,
		      struct mft_error *err)
{
	size_t bad = first_tail_unlike(rec, usa, usa_count, from_own);
	if (bad < usa_count)
		return mft_fail(err, MFT_E_FIXUP, frs,
				bad * MFT_FIXUP_STRIDE - 2, mismatch);
	set_tails(rec, usa, usa_count, !from_own);
	return MFT_OK;
}

int mft_fixup_apply(uint8_t *rec, size_t size, uint64_t frs,
		    struct mft_error *err)
{
	size_t usa_off = 0, usa_count = 0;
	int rc = usa_locate(rec, size, frs, &usa_off, &usa_count, err);
	if (rc)
		return rc;
	return swap_tails(rec, rec + usa_off, usa_count, frs, false,
			  "update sequence mismatch", err);
}

int mft_fixup_reprotect(uint8_t *rec, size_t size, uint64_t frs,
			struct mft_error *err)
{
	size_t usa_off = 0, usa_count = 0;
	int rc = usa_locate(rec, size, frs, &usa_off, &usa_count, err);
	if (rc)
		return rc;
	const uint8_t *usa = rec + usa_off;
	if (first_tail_unlike(rec, usa, usa_count, false) == usa_count)
		return MFT_OK; /* as written to disk */
	return swap_tails(rec, usa, usa_count, frs, true,
			  "stride tail is neither the update sequence number nor its saved word",
			  err);
}
