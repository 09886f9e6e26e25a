/* Attribute walk over one fixed-up record, and $ATTRIBUTE_LIST entries.
 * Each attribute's fields are checked against its own length and the
 * record's bytes in use before anything points into it. */
#include "attr_walk.h"
#include "bytes.h"
#include "mft.h"
#include "ntfs_format.h"

void mft_attr_iter_init(struct mft_attr_iter *it, const uint8_t *rec,
			uint32_t first, uint32_t end, uint64_t frs)
{
	it->rec = rec;
	it->off = first;
	it->end = end;
	it->frs = frs;
}

int mft_attr_next(struct mft_attr_iter *it, struct mft_attr *a,
		  struct mft_error *err)
{
	int rc = attr_walk_next(it, a, err);
	if (rc == 1)
		attr_clear_other_form(a);
	return rc;
}

void mft_al_iter_init(struct mft_al_iter *it, const uint8_t *p, size_t len)
{
	it->p = p;
	it->len = len;
	it->off = 0;
}

int mft_al_next(struct mft_al_iter *it, struct mft_al_entry *e,
		struct mft_error *err)
{
	/* The list ends with its value; trailing bytes too short for an entry
	 * are slack. */
	if (!span_fits(it->len, it->off, AL_ENTRY_MIN))
		return 0;
	const uint8_t *p = it->p + it->off;
	uint16_t length = le16(p + AL_LENGTH);
	if (length == 0 && le32(p + AL_TYPE) == 0)
		return 0;
	if (length < AL_ENTRY_MIN || !span_fits(it->len, it->off, length))
		return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS,
				it->off + AL_LENGTH,
				"attribute list entry length out of range");
	e->type = le32(p + AL_TYPE);
	e->length = length;
	e->name_len = p[AL_NAME_LEN];
	e->name = NULL;
	if (e->name_len) {
		if (!span_fits(length, p[AL_NAME_OFS], 2u * e->name_len))
			return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS,
					it->off + AL_NAME_OFS,
					"attribute list name runs past its entry");
		e->name = p + p[AL_NAME_OFS];
	}
	e->start_vcn = le64(p + AL_START_VCN);
	e->record_ref = le64(p + AL_RECORD_REF);
	e->attr_id = le16(p + AL_ATTR_ID);
	it->off += length;
	return 1;
}
