/* Update sequence fixup: NTFS writes a sequence number into the last two bytes
 * of every 512-byte stride of a multi-sector record and keeps the displaced
 * bytes in the update sequence array; a stride whose tail differs from the
 * number was not written with the rest (a torn write). */
#include "bytes.h"
#include "mft.h"
#include "ntfs_format.h"

int mft_fixup_apply(uint8_t *rec, size_t size, uint64_t frs,
		    struct mft_error *err)
{
	if (size < MFT_FIXUP_STRIDE || size % MFT_FIXUP_STRIDE)
		return mft_fail(err, MFT_E_CORRUPT, frs, 0,
				"record size not a multiple of 512");
	size_t usa_off = le16(rec + MFT_REC_USA_OFS);
	size_t usa_count = le16(rec + MFT_REC_USA_COUNT);
	size_t strides = size / MFT_FIXUP_STRIDE;
	/* One entry per 512-byte stride plus the number itself: fewer would
	 * leave strides unchecked and their last two bytes wrong. */
	if (usa_count != strides + 1)
		return mft_fail(err, MFT_E_FIXUP, frs, MFT_REC_USA_COUNT,
				"update sequence count does not match the record size");
	/* The array must sit inside the first stride, before its own tail. */
	if (usa_off < MFT_REC_USA_COUNT + 2 || usa_off & 1 ||
	    !span_fits(MFT_FIXUP_STRIDE - 2, usa_off, 2 * usa_count))
		return mft_fail(err, MFT_E_FIXUP, frs, MFT_REC_USA_OFS,
				"update sequence array offset out of range");
	const uint8_t *usn = rec + usa_off;
	for (size_t i = 1; i < usa_count; i++) {
		const uint8_t *tail = rec + i * MFT_FIXUP_STRIDE - 2;
		if (tail[0] != usn[0] || tail[1] != usn[1])
			return mft_fail(err, MFT_E_FIXUP, frs,
					i * MFT_FIXUP_STRIDE - 2,
					"update sequence mismatch");
	}
	for (size_t i = 1; i < usa_count; i++) {
		uint8_t *tail = rec + i * MFT_FIXUP_STRIDE - 2;
		tail[0] = usn[2 * i];
		tail[1] = usn[2 * i + 1];
	}
	return MFT_OK;
}
