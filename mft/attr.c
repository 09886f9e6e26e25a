/* Attribute walk over one fixed-up record, and $ATTRIBUTE_LIST entries.
 * Each attribute's fields are checked against its own length and the
 * record's bytes in use before anything points into it. */
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

static int attr_resident(struct mft_attr_iter *it, struct mft_attr *a,
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
	/* The non-resident fields mean nothing here: zero them cheaply. */
	a->start_vcn = a->last_vcn = 0;
	a->runlist = NULL;
	a->runlist_len = 0;
	a->alloc_size = a->data_size = a->init_size = a->total_alloc = 0;
	return 1;
}

static int attr_nonresident(struct mft_attr_iter *it, struct mft_attr *a,
			    const uint8_t *p, struct mft_error *err)
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
	a->value = NULL;
	a->value_len = 0;
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

int mft_attr_next(struct mft_attr_iter *it, struct mft_attr *a,
		  struct mft_error *err)
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
	/* Set every field rather than zeroing the struct: this runs for each
	 * attribute of each record. */
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
