/* One MFT record: header checks, fixup in place, and a single attribute walk
 * that collects what the index needs into a caller-owned view. */
#include <string.h>

#include "attr_walk.h"
#include "bytes.h"
#include "mft.h"
#include "ntfs_format.h"

bool mft_record_has_magic(const uint8_t *buf, size_t len)
{
	return len >= 4 && (memcmp(buf, "FILE", 4) == 0 ||
			    memcmp(buf, "BAAD", 4) == 0);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int check_magic(const uint8_t *buf, uint32_t size, uint64_t frs,
		       struct mft_error *err)
{
	if (memcmp(buf, "FILE", 4) == 0)
		return MFT_OK;
	if (memcmp(buf, "BAAD", 4) == 0)
		return MFT_OK;
	if (all_zero(buf, size))
		return mft_fail(err, MFT_E_EMPTY, frs, 0, "empty record");
	return mft_fail(err, MFT_E_BAD_MAGIC, frs, 0,
			"record without FILE signature");
}

static void take_standard_info(struct mft_record_view *v,
			       const struct mft_attr *a)
{
	if (a->nonresident || a->value_len < SI_MIN_LEN || v->has_si)
		return;
	v->has_si = true;
	v->si_times[MFT_T_CREATED] = le64(a->value + SI_CREATED);
	v->si_times[MFT_T_MODIFIED] = le64(a->value + SI_MODIFIED);
	v->si_times[MFT_T_CHANGED] = le64(a->value + SI_MFT_CHANGED);
	v->si_times[MFT_T_ACCESSED] = le64(a->value + SI_ACCESSED);
	v->si_attrs = le32(a->value + SI_FILE_ATTRS);
	if (a->value_len >= SI_OWNER_ID + 4)
		v->owner_id = le32(a->value + SI_OWNER_ID);
}

static int take_file_name(struct mft_record_view *v, const struct mft_attr *a,
			  struct mft_error *err)
{
	if (a->nonresident || a->value_len < FN_NAME)
		return mft_fail(err, MFT_E_CORRUPT, v->frs, a->offset,
				"$FILE_NAME shorter than its header");
	const uint8_t *p = a->value;
	uint8_t len = p[FN_NAME_LEN];
	/* Names are 1 to 255 units: an empty one names nothing, so the record
	 * is damaged there (and would otherwise vanish without a word). */
	if (len == 0)
		return mft_fail(err, MFT_E_CORRUPT, v->frs,
				a->offset + ATTR_RES_VALUE_LEN,
				"$FILE_NAME with an empty name");
	if (!span_fits(a->value_len, FN_NAME, 2u * len))
		return mft_fail(err, MFT_E_CORRUPT, v->frs,
				a->offset + ATTR_RES_VALUE_LEN,
				"$FILE_NAME name runs past its value");
	if (v->n_names >= MFT_MAX_NAMES)
		return mft_fail(err, MFT_E_CORRUPT, v->frs, a->offset,
				"too many $FILE_NAME attributes");
	struct mft_name_view *n = &v->names[v->n_names++];
	n->name = p + FN_NAME;
	n->len = len;
	n->ns = p[FN_NAMESPACE];
	n->attr_id = a->id;
	n->value_len = (uint16_t)(a->value_len > UINT16_MAX ? UINT16_MAX
							     : a->value_len);
	n->parent_ref = le64(p + FN_PARENT_REF);
	n->times[MFT_T_CREATED] = le64(p + FN_CREATED);
	n->times[MFT_T_MODIFIED] = le64(p + FN_MODIFIED);
	n->times[MFT_T_CHANGED] = le64(p + FN_MFT_CHANGED);
	n->times[MFT_T_ACCESSED] = le64(p + FN_ACCESSED);
	n->flags = le32(p + FN_FLAGS);
	return MFT_OK;
}

static int take_stream(struct mft_record_view *v, const struct mft_attr *a,
		       uint8_t kind, struct mft_error *err)
{
	/* Only the piece starting at VCN 0 carries the sizes; later pieces of
	 * a split attribute add nothing to the index. */
	if (a->nonresident && a->start_vcn != 0)
		return MFT_OK;
	if (v->n_streams >= MFT_MAX_ATTRS)
		return mft_fail(err, MFT_E_CORRUPT, v->frs, a->offset,
				"too many stream attributes");
	struct mft_stream_view *s = &v->streams[v->n_streams++];
	s->name = a->name_len ? a->name : NULL;
	s->name_len = a->name_len;
	s->kind = kind;
	s->attr_id = a->id;
	s->flags = a->flags;
	s->nonresident = a->nonresident;
	if (a->nonresident) {
		s->start_vcn = a->start_vcn;
		s->size = a->data_size;
		s->alloc = a->total_alloc;
	} else {
		s->start_vcn = 0;
		s->size = a->value_len;
		s->alloc = 0;
	}
	return MFT_OK;
}

static int take_attribute(struct mft_record_view *v, const struct mft_attr *a,
			  struct mft_error *err)
{
	switch (a->type) {
	case AT_STANDARD_INFORMATION:
		take_standard_info(v, a);
		return MFT_OK;
	case AT_FILE_NAME:
		return take_file_name(v, a, err);
	case AT_DATA:
		return take_stream(v, a, MFT_STREAM_DATA, err);
	case AT_INDEX_ROOT:
		return take_stream(v, a, MFT_STREAM_INDEX, err);
	case AT_ATTRIBUTE_LIST:
		if (!v->has_attr_list) {
			v->has_attr_list = true;
			v->attr_list = *a;
			attr_clear_other_form(&v->attr_list);
		}
		return MFT_OK;
	case AT_REPARSE_POINT:
		v->has_reparse = true;
		if (!a->nonresident && a->value_len >= 4)
			v->reparse_tag = le32(a->value + RP_TAG);
		return MFT_OK;
	default:
		return MFT_OK;
	}
}

static int check_header(const uint8_t *buf, uint32_t size, uint64_t frs,
			uint32_t *first, uint32_t *end, struct mft_error *err)
{
	uint32_t attr_off = le16(buf + MFT_REC_ATTR_OFS);
	uint32_t used = le32(buf + MFT_REC_BYTES_USED);
	if (used > size)
		return mft_fail(err, MFT_E_CORRUPT, frs, MFT_REC_BYTES_USED,
				"bytes in use larger than the record");
	if (attr_off < MFT_REC_HEADER_MIN || attr_off >= used)
		return mft_fail(err, MFT_E_CORRUPT, frs, MFT_REC_ATTR_OFS,
				"first attribute offset out of range");
	*first = attr_off;
	*end = used;
	return MFT_OK;
}

int mft_record_prepare(uint8_t *buf, uint32_t rec_size, uint64_t frs,
		       uint32_t *first, uint32_t *end, struct mft_error *err)
{
	if (rec_size < MFT_RECORD_SIZE_MIN || rec_size > MFT_RECORD_SIZE_MAX)
		return mft_fail(err, MFT_E_USAGE, frs, 0,
				"unsupported record size");
	int rc = check_magic(buf, rec_size, frs, err);
	if (rc)
		return rc;
	rc = mft_fixup_apply(buf, rec_size, frs, err);
	if (rc)
		return rc;
	return check_header(buf, rec_size, frs, first, end, err);
}

int mft_record_parse(uint8_t *buf, uint32_t rec_size, uint64_t frs,
		     struct mft_record_view *v, struct mft_error *err)
{
	uint32_t first, end;
	int rc = mft_record_prepare(buf, rec_size, frs, &first, &end, err);
	if (rc)
		return rc;
	v->frs = frs;
	v->base_ref = le64(buf + MFT_REC_BASE_REF);
	v->seq = le16(buf + MFT_REC_SEQ);
	v->flags = le16(buf + MFT_REC_FLAGS);
	v->link_count = le16(buf + MFT_REC_LINKS);
	v->has_si = false;
	v->si_attrs = 0;
	v->owner_id = 0;
	memset(v->si_times, 0, sizeof v->si_times);
	v->has_reparse = false;
	v->reparse_tag = 0;
	v->has_attr_list = false;
	v->baad = memcmp(buf, "BAAD", 4) == 0;
	v->partial = false;
	v->n_attrs = 0;
	v->n_names = 0;
	v->n_streams = 0;

	struct mft_attr_iter it;
	struct mft_attr a;
	mft_attr_iter_init(&it, buf, first, end, frs);
	while ((rc = attr_walk_next(&it, &a, &v->damage)) == 1) {
		rc = take_attribute(v, &a, &v->damage);
		if (rc)
			break;
		v->n_attrs++;
	}
	v->partial = rc < 0;
	return MFT_OK;
}
