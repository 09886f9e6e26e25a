/* The attribute walk's step, inline: the record parser calls it for every
 * attribute of every record, and as a call the struct it fills went through
 * memory and back (about a fifth of a listing's instructions).
 * mft_attr_next (attr.c) is the same step for everyone else. */
#ifndef UFFS_ATTR_WALK_H
#define UFFS_ATTR_WALK_H

#include "bytes.h"
#include "mft.h"
#include "ntfs_format.h"

static inline int attr_resident(struct mft_attr_iter *it, struct mft_attr *a,
				const uint8_t *p, struct mft_error *err)
{
	uint32_t vlen = le32(p + ATTR_RES_VALUE_LEN);
	uint32_t voff = le16(p + ATTR_RES_VALUE_OFS);
	if (!span_fits(a->length, voff, vlen))
		return mft_fail(err, MFT_E_CORRUPT, it->frs,
				a->offset + ATTR_RES_VALUE_LEN,
				"resident value runs past its attribute");
	a->value = p + voff;
	a->value_len = vlen;
	return 1;
}

static inline int attr_nonresident(struct mft_attr_iter *it,
				   struct mft_attr *a, const uint8_t *p,
				   struct mft_error *err)
{
	if (a->length < ATTR_NR_HEADER_LEN)
		return mft_fail(err, MFT_E_CORRUPT, it->frs,
				a->offset + ATTR_LENGTH,
				"non-resident attribute shorter than its header");
	uint32_t rl_off = le16(p + ATTR_NR_RUNLIST_OFS);
	if (rl_off < ATTR_NR_HEADER_LEN || rl_off > a->length)
		return mft_fail(err, MFT_E_CORRUPT, it->frs,
				a->offset + ATTR_NR_RUNLIST_OFS,
				"runlist offset outside its attribute");
	a->start_vcn = le64(p + ATTR_NR_START_VCN);
	a->last_vcn = le64(p + ATTR_NR_LAST_VCN);
	a->runlist = p + rl_off;
	a->runlist_len = a->length - rl_off;
	a->alloc_size = le64(p + ATTR_NR_ALLOC_SIZE);
	a->data_size = le64(p + ATTR_NR_DATA_SIZE);
	a->init_size = le64(p + ATTR_NR_INIT_SIZE);
	a->total_alloc = a->alloc_size;
	/* Compressed and sparse attributes carry the clusters really
	 * allocated in an extra field, when the header is long enough. */
	if ((a->flags & (ATTR_FLAG_COMPRESSED_MASK | ATTR_FLAG_SPARSE)) &&
	    rl_off >= ATTR_NR_HEADER_LEN_COMPRESSED)
		a->total_alloc = le64(p + ATTR_NR_TOTAL_ALLOC);
	return 1;
}

/* The step sets only the fields of the attribute's own form (resident or
 * not); this zeroes the other form's, for a struct that is read whole. */
static inline void attr_clear_other_form(struct mft_attr *a)
{
	if (a->nonresident) {
		a->value = NULL;
		a->value_len = 0;
	} else {
		a->start_vcn = a->last_vcn = 0;
		a->runlist = NULL;
		a->runlist_len = 0;
		a->alloc_size = a->data_size = a->init_size = 0;
		a->total_alloc = 0;
	}
}

static inline int attr_walk_next(struct mft_attr_iter *it,
				  struct mft_attr *a, struct mft_error *err)
{
	if (!span_fits(it->end, it->off, 4))
		return mft_fail(err, MFT_E_CORRUPT, it->frs, it->off,
				"attributes run to the end of the record without an end marker");
	const uint8_t *p = it->rec + it->off;
	uint32_t type = le32(p + ATTR_TYPE);
	if (type == ATTR_END)
		return 0;
	if (!span_fits(it->end, it->off, MFT_ATTR_MIN_LEN))
		return mft_fail(err, MFT_E_CORRUPT, it->frs, it->off,
				"attribute header runs past the record");
	uint32_t length = le32(p + ATTR_LENGTH);
	if (length < MFT_ATTR_MIN_LEN || !span_fits(it->end, it->off, length))
		return mft_fail(err, MFT_E_CORRUPT, it->frs,
				it->off + ATTR_LENGTH,
				"attribute length zero or past the record");
	/* The fields every attribute has, then its own form's (no zeroing:
	 * this runs for each attribute of each record; mft_attr_next clears
	 * the other form's for callers that read the struct whole). */
	a->type = type;
	a->offset = it->off;
	a->length = length;
	a->nonresident = p[ATTR_NONRESIDENT] != 0;
	a->name_len = p[ATTR_NAME_LEN];
	a->flags = le16(p + ATTR_FLAGS);
	a->id = le16(p + ATTR_ID);
	a->name = NULL;
	if (a->name_len) {
		uint32_t name_off = le16(p + ATTR_NAME_OFS);
		if (!span_fits(length, name_off, 2u * a->name_len))
			return mft_fail(err, MFT_E_CORRUPT, it->frs,
					it->off + ATTR_NAME_OFS,
					"attribute name runs past its attribute");
		a->name = p + name_off;
	}
	/* Length >= 0x18 guarantees progress, so the walk ends. */
	it->off += length;
	return a->nonresident ? attr_nonresident(it, a, p, err)
			      : attr_resident(it, a, p, err);
}

#endif
