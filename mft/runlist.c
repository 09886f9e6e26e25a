/* Runlist (mapping pairs) decoding. Each run: a header byte whose low nibble
 * is the size of the length field and high nibble the size of the offset
 * field; the offset is a signed delta from the previous run's LCN (the first
 * is relative to 0); an offset size of 0 is a sparse run. A zero header byte
 * ends the list. */
#include "bytes.h"
#include "mft.h"

void mft_runlist_init(struct mft_runlist_iter *it, const uint8_t *p,
		      size_t len, uint64_t start_vcn)
{
	it->p = p;
	it->len = len;
	it->off = 0;
	it->vcn = start_vcn;
	it->lcn = 0;
}

static uint64_t read_unsigned(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int64_t read_signed(const uint8_t *p, unsigned n)
{
	uint64_t v = read_unsigned(p, n);
	if (n < 8 && (p[n - 1] & 0x80))
		v |= ~(uint64_t)0 << (8 * n);
	return (int64_t)v;
}

int mft_runlist_next(struct mft_runlist_iter *it, struct mft_run *run,
		     struct mft_error *err)
{
	if (it->off >= it->len)
		return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS, it->off,
				"runlist has no terminator");
	uint8_t header = it->p[it->off];
	if (header == 0)
		return 0;
	unsigned len_size = header & 0x0F;
	unsigned off_size = header >> 4;
	if (len_size == 0 || len_size > 8 || off_size > 8)
		return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS, it->off,
				"runlist header with invalid field sizes");
	if (!span_fits(it->len, it->off + 1, len_size + off_size))
		return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS, it->off,
				"runlist entry runs past the attribute");
	const uint8_t *p = it->p + it->off + 1;
	uint64_t length = read_unsigned(p, len_size);
	if (length == 0 || length > INT64_MAX || it->vcn > UINT64_MAX - length)
		return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS, it->off,
				"runlist entry with invalid length");
	run->vcn = it->vcn;
	run->length = length;
	if (off_size == 0) {
		run->lcn = MFT_LCN_SPARSE;
	} else {
		int64_t delta = read_signed(p + len_size, off_size);
		if ((delta > 0 && it->lcn > INT64_MAX - delta) ||
		    (delta < 0 && it->lcn + delta < 0))
			return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS,
					it->off,
					"runlist entry points before the volume");
		it->lcn += delta;
		run->lcn = it->lcn;
	}
	it->vcn += length;
	it->off += 1 + len_size + off_size;
	return 1;
}
