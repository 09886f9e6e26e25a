/* Locating and mapping the $MFT. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/bytes.h"
#include "../mft/ntfs_format.h"
#include "../mft/path.h"
#include "../mft/upcase.h"
#include "volume.h"

/* Bounds on what we are willing to read for metadata. */
#define ATTR_LIST_MAX (4u * 1024 * 1024)
#define MFT_RUNS_MAX (1u << 20)

void uffs_warn(const struct uffs_warn_sink *sink, const struct mft_error *e)
{
	if (sink && sink->warn)
		sink->warn(sink->ctx, e);
}

struct runs {
	struct mft_run *r;
	size_t n, cap;
	uint64_t next_vcn;
};

static int runs_push(struct runs *rs, const struct mft_run *run,
		     struct mft_error *err)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		if (cap > MFT_RUNS_MAX)
			return mft_fail(err, MFT_E_CORRUPT, MFT_FRS_MFT, 0,
					"$MFT runlist has too many runs");
		struct mft_run *r = realloc(rs->r, cap * sizeof *r);
		if (!r)
			return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
					"out of memory");
		rs->r = r;
		rs->cap = cap;
	}
	rs->r[rs->n++] = *run;
	rs->next_vcn = run->vcn + run->length;
	return MFT_OK;
}

/* Decodes one runlist piece, checking every run against the volume. */
static int decode_runs(const struct uffs_volume *v, const struct mft_attr *a,
		       uint64_t frs, struct runs *rs, struct mft_error *err)
{
	uint64_t clusters = v->boot.volume_size / v->boot.cluster_size;
	struct mft_runlist_iter it;
	struct mft_run run;
	int rc;
	mft_runlist_init(&it, a->runlist, a->runlist_len, a->start_vcn);
	while ((rc = mft_runlist_next(&it, &run, err)) == 1) {
		if (run.lcn != MFT_LCN_SPARSE &&
		    ((uint64_t)run.lcn >= clusters ||
		     run.length > clusters - (uint64_t)run.lcn))
			return mft_fail(err, MFT_E_CORRUPT, frs, a->offset,
					"runlist points beyond the volume");
		rc = runs_push(rs, &run, err);
		if (rc)
			return rc;
	}
	if (rc < 0) {
		err->frs = frs;
		err->offset += a->offset + (a->length - a->runlist_len);
	}
	return rc;
}

/* A failed read of a non-resident attribute of the $MFT names the record
 * holding the attribute, its offset there, and the source byte the read
 * failed at. */
static void name_attr_read(struct mft_error *err, uint64_t frs,
			   uint32_t attr_offset, const char *attr)
{
	if (err->frs != MFT_NO_FRS)
		return;
	snprintf(err->detail, sizeof err->detail,
		 "reading %s, source byte %" PRIu64, attr, err->offset);
	err->frs = frs;
	err->offset = attr_offset;
}

/* Reads bytes of a non-resident attribute described by `rs`. */
static int read_runs(const struct uffs_volume *v, const struct runs *rs,
		     uint8_t *out, uint64_t len, struct mft_error *err)
{
	uint64_t cs = v->boot.cluster_size, done = 0;
	for (size_t i = 0; i < rs->n && done < len; i++) {
		uint64_t n = rs->r[i].length * cs;
		if (n > len - done)
			n = len - done;
		if (rs->r[i].lcn == MFT_LCN_SPARSE) {
			memset(out + done, 0, n);
		} else {
			int rc = uffs_source_read(v->src, out + done, n,
						  (uint64_t)rs->r[i].lcn * cs,
						  err);
			if (rc)
				return rc;
		}
		done += n;
	}
	if (done < len)
		memset(out + done, 0, len - done);
	return MFT_OK;
}

static void runs_to_extents(struct uffs_volume *v, const struct runs *rs)
{
	uint64_t cs = v->boot.cluster_size;
	for (size_t i = 0; i < rs->n; i++) {
		struct uffs_extent *e = &v->ext[v->n_ext];
		e->mft_off = rs->r[i].vcn * cs;
		e->len = rs->r[i].length * cs;
		e->vol_off = rs->r[i].lcn == MFT_LCN_SPARSE
				     ? UFFS_SPARSE_OFFSET
				     : (uint64_t)rs->r[i].lcn * cs;
		/* Merge physically contiguous runs: fewer, larger reads. */
		if (v->n_ext) {
			struct uffs_extent *p = &v->ext[v->n_ext - 1];
			if (p->vol_off != UFFS_SPARSE_OFFSET &&
			    e->vol_off == p->vol_off + p->len &&
			    e->mft_off == p->mft_off + p->len) {
				p->len += e->len;
				continue;
			}
		}
		v->n_ext++;
	}
}

static int set_extents(struct uffs_volume *v, const struct runs *rs,
		       struct mft_error *err)
{
	struct uffs_extent *ext = realloc(v->ext, (rs->n ? rs->n : 1) * sizeof *ext);
	if (!ext)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	v->ext = ext;
	v->n_ext = 0;
	runs_to_extents(v, rs);
	return MFT_OK;
}

/* The attribute of `type` (unnamed) starting at `vcn` in a prepared record. */
static bool find_attr(const uint8_t *rec, uint32_t first, uint32_t end,
		      uint64_t frs, uint32_t type, uint64_t vcn,
		      struct mft_attr *out)
{
	struct mft_attr_iter it;
	struct mft_error ignored;
	mft_attr_iter_init(&it, rec, first, end, frs);
	while (mft_attr_next(&it, out, &ignored) == 1)
		if (out->type == type && out->name_len == 0 &&
		    (!out->nonresident || out->start_vcn == vcn))
			return true;
	return false;
}

struct record0 {
	uint8_t *buf;
	uint32_t first, end;
	struct mft_attr data;
};

static int load_record0(struct uffs_volume *v, uint64_t lcn, struct record0 *r0,
			struct mft_error *err)
{
	uint64_t at = lcn * v->boot.cluster_size;
	int rc = uffs_source_read(v->src, r0->buf, v->record_size, at, err);
	if (rc) {
		/* Say which record could not be read, and where it was. */
		err->frs = MFT_FRS_MFT;
		err->offset = 0;
		snprintf(err->detail, sizeof err->detail,
			 "at source byte %" PRIu64, v->src->base + at);
		return rc;
	}
	rc = mft_record_prepare(r0->buf, v->record_size, MFT_FRS_MFT,
				&r0->first, &r0->end, err);
	if (rc)
		return rc;
	if (!find_attr(r0->buf, r0->first, r0->end, MFT_FRS_MFT, AT_DATA, 0,
		       &r0->data) ||
	    !r0->data.nonresident)
		return mft_fail(err, MFT_E_CORRUPT, MFT_FRS_MFT, r0->first,
				"$MFT record 0 has no non-resident $DATA");
	return MFT_OK;
}

/* Reads the $ATTRIBUTE_LIST value of record frs into a new buffer. */
static int load_attr_list(const struct uffs_volume *v, uint64_t frs,
			  const struct mft_attr *al, uint8_t **out,
			  size_t *out_len, struct mft_error *err)
{
	uint64_t len = al->nonresident ? al->data_size : al->value_len;
	if (len > ATTR_LIST_MAX)
		return mft_fail(err, MFT_E_CORRUPT, frs, al->offset,
				"attribute list larger than 4 MiB");
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	int rc = MFT_OK;
	if (!al->nonresident) {
		memcpy(buf, al->value, len);
	} else {
		struct runs rs = {0};
		rc = decode_runs(v, al, frs, &rs, err);
		if (rc == MFT_OK) {
			rc = read_runs(v, &rs, buf, len, err);
			if (rc)
				name_attr_read(err, frs, al->offset,
					       "an $ATTRIBUTE_LIST");
		}
		free(rs.r);
	}
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*out_len = len;
	return MFT_OK;
}

/* Reads one record of the $MFT using only the runs decoded so far: while
 * bootstrapping, the $MFT maps itself. */
static int read_record_with_runs(struct uffs_volume *v, const struct runs *rs,
				 uint64_t frs, uint8_t *buf,
				 struct mft_error *err)
{
	struct uffs_volume partial = *v;
	partial.ext = NULL;
	partial.n_ext = 0;
	int rc = set_extents(&partial, rs, err);
	if (rc == MFT_OK) {
		partial.n_records = rs->next_vcn * v->boot.cluster_size /
				    v->record_size;
		rc = frs < partial.n_records
			     ? uffs_volume_read_records(&partial, frs, 1, buf, err)
			     : mft_fail(err, MFT_E_CORRUPT, frs, 0,
					"$MFT extension record lies outside the runs that precede it");
	}
	free(partial.ext);
	return rc;
}

/* Follows record 0's attribute list to the pieces of $MFT:$DATA that live in
 * extension records, in VCN order, and notes where $MFT:$BITMAP lives. */
static int follow_attr_list(struct uffs_volume *v, const struct record0 *r0,
			    struct runs *rs, uint64_t *bitmap_frs,
			    uint8_t *ext_buf, struct mft_error *err)
{
	struct mft_attr al;
	if (!find_attr(r0->buf, r0->first, r0->end, MFT_FRS_MFT,
		       AT_ATTRIBUTE_LIST, 0, &al))
		return MFT_OK;
	uint8_t *list = NULL;
	size_t len = 0;
	int rc = load_attr_list(v, MFT_FRS_MFT, &al, &list, &len, err);
	if (rc)
		return rc;
	struct mft_al_iter it;
	struct mft_al_entry e;
	mft_al_iter_init(&it, list, len);
	while ((rc = mft_al_next(&it, &e, err)) == 1) {
		uint64_t frs = MFT_REF_FRS(e.record_ref);
		if (e.name_len)
			continue;
		if (e.type == AT_BITMAP && e.start_vcn == 0)
			*bitmap_frs = frs;
		if (e.type != AT_DATA || e.start_vcn == 0 ||
		    e.start_vcn != rs->next_vcn || frs == MFT_FRS_MFT)
			continue;
		rc = read_record_with_runs(v, rs, frs, ext_buf, err);
		uint32_t first, end;
		if (rc == MFT_OK)
			rc = mft_record_prepare(ext_buf, v->record_size, frs,
						&first, &end, err);
		if (rc)
			break;
		struct mft_attr a;
		if (find_attr(ext_buf, first, end, frs, AT_DATA, e.start_vcn,
			      &a) &&
		    a.nonresident) {
			rc = decode_runs(v, &a, frs, rs, err);
			if (rc)
				break;
		}
	}
	if (rc < 0 && err->frs == MFT_NO_FRS)
		err->frs = MFT_FRS_MFT;
	free(list);
	return rc < 0 ? rc : MFT_OK;
}


/* Reads the first n bytes of an attribute's value, resident or through
 * its runs; sparse runs, and anything past the runs unless they must cover
 * n, read as zeros. A failed read names the attribute (`what`). */
static int read_attr_value(const struct uffs_volume *v,
			   const struct mft_attr *a, uint64_t frs, uint8_t *out,
			   uint64_t n, bool must_cover, const char *what,
			   struct mft_error *err)
{
	if (!a->nonresident) {
		uint64_t have = a->value_len < n ? a->value_len : n;
		memcpy(out, a->value, have);
		memset(out + have, 0, n - have);
		return MFT_OK;
	}
	struct runs rs = {0};
	int rc = decode_runs(v, a, frs, &rs, err);
	if (rc == MFT_OK && must_cover &&
	    rs.next_vcn * v->boot.cluster_size < n)
		rc = mft_fail(err, MFT_E_CORRUPT, frs, a->offset,
			      "attribute runs end before its value does");
	if (rc == MFT_OK) {
		rc = read_runs(v, &rs, out, n, err);
		if (rc)
			name_attr_read(err, frs, a->offset, what);
	}
	free(rs.r);
	return rc;
}

/* Finds the unnamed attribute `type` (VCN 0) of record frs, read into buf
 * unless it is record 0 at hand (r0). */
static int find_record_attr(const struct uffs_volume *v,
			    const struct record0 *r0, uint64_t frs,
			    uint32_t type, uint8_t *buf, struct mft_attr *a,
			    bool *found, struct mft_error *err)
{
	const uint8_t *rec = r0 ? r0->buf : buf;
	uint32_t first = r0 ? r0->first : 0, end = r0 ? r0->end : 0;
	if (!r0 || frs != MFT_FRS_MFT) {
		int rc = uffs_volume_read_records(v, frs, 1, buf, err);
		if (rc == MFT_OK)
			rc = mft_record_prepare(buf, v->record_size, frs, &first,
						&end, err);
		if (rc)
			return rc;
		rec = buf;
	}
	*found = find_attr(rec, first, end, frs, type, 0, a);
	return MFT_OK;
}

/* Reads $MFT:$BITMAP from the record that holds it, with the full map.
 * A bitmap shorter than the $MFT is a warning: the records past its end
 * count as in use (uffs_volume_record_in_bitmap), so none is left out. */
static int load_bitmap(struct uffs_volume *v, const struct record0 *r0,
		       uint64_t frs, uint8_t *buf,
		       const struct uffs_warn_sink *warn, struct mft_error *err)
{
	struct mft_attr a;
	bool found;
	int rc = find_record_attr(v, r0, frs, AT_BITMAP, buf, &a, &found, err);
	if (rc || !found)
		return rc;
	uint64_t need = (v->n_records + 7) / 8;
	uint64_t have = a.nonresident ? a.data_size : a.value_len;
	if (have < need) {
		struct mft_error w;
		mft_fail(&w, MFT_E_CORRUPT, frs, a.offset,
			 "$MFT:$BITMAP shorter than the $MFT; records past it "
			 "are read as in use");
		uffs_warn(warn, &w);
		need = have;
	}
	uint8_t *bits = calloc(1, need ? need : 1);
	if (!bits)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	rc = read_attr_value(v, &a, frs, bits, need, false, "$MFT:$BITMAP", err);
	if (rc) {
		free(bits);
		return rc;
	}
	v->bitmap = bits;
	v->bitmap_len = need;
	return MFT_OK;
}

int uffs_volume_read_attr(const struct uffs_volume *v, uint64_t frs,
			  uint32_t type, uint8_t *out, uint64_t n,
			  uint64_t *value_len, struct mft_error *err)
{
	if (!v->has_boot)
		return mft_fail(err, MFT_E_USAGE, frs, 0,
				"a captured $MFT holds no attribute values");
	uint8_t *buf = malloc(v->record_size);
	if (!buf)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	struct mft_attr a;
	bool found;
	int rc = find_record_attr(v, NULL, frs, type, buf, &a, &found, err);
	if (rc == MFT_OK && !found)
		rc = mft_fail(err, MFT_E_CORRUPT, frs, 0,
			      "record has no such attribute");
	if (rc == MFT_OK) {
		*value_len = a.nonresident ? a.data_size : a.value_len;
		if (n > *value_len)
			n = *value_len;
		rc = read_attr_value(v, &a, frs, out, n, true, "an attribute",
				     err);
	}
	free(buf);
	return rc;
}

/* ---- a named stream of any record (such as $UsnJrnl:$J) ---------------- */

/* Whether a UTF-16LE name of n units is the ASCII name `want`. */
static bool name_is(const uint8_t *name, size_t n, const char *want)
{
	if (n != strlen(want))
		return false;
	for (size_t i = 0; i < n; i++)
		if (le16(name + 2 * i) != (uint8_t)want[i])
			return false;
	return true;
}

/* The piece of attribute type:name that starts at vcn, in a prepared
 * record (any VCN when the attribute is resident). */
static bool find_named_attr(const uint8_t *rec, uint32_t first, uint32_t end,
			    uint64_t frs, uint32_t type, const char *name,
			    uint64_t vcn, struct mft_attr *out)
{
	struct mft_attr_iter it;
	struct mft_error ignored;
	mft_attr_iter_init(&it, rec, first, end, frs);
	while (mft_attr_next(&it, out, &ignored) == 1)
		if (out->type == type && name_is(out->name, out->name_len, name) &&
		    (!out->nonresident || out->start_vcn == vcn))
			return true;
	return false;
}

static int read_prepared(const struct uffs_volume *v, uint64_t frs,
			 uint8_t *buf, uint32_t *first, uint32_t *end,
			 struct mft_error *err)
{
	int rc = uffs_volume_read_records(v, frs, 1, buf, err);
	return rc ? rc : mft_record_prepare(buf, v->record_size, frs, first, end, err);
}

/* The pieces of type:name in the records the attribute list names, in
 * the list's (VCN) order; each must start where the last one ended. */
static int follow_named_pieces(const struct uffs_volume *v, uint64_t frs,
			       const struct mft_attr *al, uint32_t type,
			       const char *name, struct runs *rs,
			       uint64_t *size, uint8_t *buf,
			       struct mft_error *err)
{
	uint8_t *list = NULL;
	size_t len = 0;
	int rc = load_attr_list(v, frs, al, &list, &len, err);
	if (rc)
		return rc;
	struct mft_al_iter it;
	struct mft_al_entry e;
	bool found = false;
	mft_al_iter_init(&it, list, len);
	while ((rc = mft_al_next(&it, &e, err)) == 1) {
		if (e.type != type || !name_is(e.name, e.name_len, name))
			continue;
		uint64_t at = MFT_REF_FRS(e.record_ref);
		uint32_t first, end;
		struct mft_attr a;
		rc = read_prepared(v, at, buf, &first, &end, err);
		if (rc)
			break;
		if (!find_named_attr(buf, first, end, at, type, name,
				     e.start_vcn, &a) || !a.nonresident ||
		    a.start_vcn != rs->next_vcn) {
			rc = mft_fail(err, MFT_E_CORRUPT, at, 0,
				      "attribute list names a piece of the stream that is not where it says, or not next");
			break;
		}
		if (a.start_vcn == 0)
			*size = a.data_size;
		found = true;
		rc = decode_runs(v, &a, at, rs, err);
		if (rc)
			break;
	}
	free(list);
	if (rc == MFT_OK && !found)
		rc = mft_fail(err, MFT_E_CORRUPT, frs, al->offset,
			      "the attribute list names no such stream");
	return rc < 0 ? rc : MFT_OK;
}

static int map_nonresident(const struct uffs_volume *v, const struct runs *rs,
			   uint64_t size, struct uffs_stream_map *m,
			   struct mft_error *err)
{
	uint64_t cs = v->boot.cluster_size;
	m->ext = calloc(rs->n ? rs->n : 1, sizeof *m->ext);
	if (!m->ext)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	for (size_t i = 0; i < rs->n; i++) {
		/* Sparse runs are not bounded by the volume: keep the
		 * stream's offsets from wrapping. */
		if (rs->r[i].vcn > UINT64_MAX / cs / 2 ||
		    rs->r[i].length > UINT64_MAX / cs / 2) {
			free(m->ext);
			m->ext = NULL;
			return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS, 0,
					"stream runs past 2^63 bytes");
		}
		m->ext[i] = (struct uffs_extent){
			rs->r[i].vcn * cs,
			rs->r[i].lcn == MFT_LCN_SPARSE ? UFFS_SPARSE_OFFSET
						       : (uint64_t)rs->r[i].lcn * cs,
			rs->r[i].length * cs};
	}
	m->n_ext = rs->n;
	m->size = size;
	return MFT_OK;
}

int uffs_volume_list_extensions(const struct uffs_volume *v, uint64_t frs,
				uint64_t **out, size_t *n, struct mft_error *err)
{
	*out = NULL;
	*n = 0;
	uint8_t *buf = malloc(v->record_size);
	if (!buf)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	uint32_t first, end;
	struct mft_attr al;
	uint8_t *list = NULL;
	size_t len = 0;
	int rc = read_prepared(v, frs, buf, &first, &end, err);
	if (rc == MFT_OK && find_attr(buf, first, end, frs, AT_ATTRIBUTE_LIST, 0, &al))
		rc = load_attr_list(v, frs, &al, &list, &len, err);
	/* At most one entry per 24 bytes of list: a bound for the array. */
	uint64_t *recs = list ? malloc((len / 24 + 1) * sizeof *recs) : NULL;
	if (list && !recs)
		rc = mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	if (recs) {
		struct mft_al_iter it;
		struct mft_al_entry e;
		mft_al_iter_init(&it, list, len);
		while ((rc = mft_al_next(&it, &e, err)) == 1) {
			uint64_t at = MFT_REF_FRS(e.record_ref);
			if (at != frs && (*n == 0 || recs[*n - 1] != at))
				recs[(*n)++] = at;
		}
		rc = rc < 0 ? rc : MFT_OK;
	}
	free(list);
	free(buf);
	if (rc)
		free(recs);
	else
		*out = recs;
	if (rc)
		*n = 0;
	return rc;
}

int uffs_volume_map_stream(const struct uffs_volume *v, uint64_t frs,
			   uint32_t type, const char *name,
			   struct uffs_stream_map *m, struct mft_error *err)
{
	memset(m, 0, sizeof *m);
	if (!v->has_boot)
		return mft_fail(err, MFT_E_USAGE, frs, 0,
				"a captured $MFT holds no attribute values");
	uint8_t *buf = malloc(v->record_size);
	if (!buf)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	uint32_t first, end;
	struct mft_attr a, al;
	struct runs rs = {0};
	uint64_t size = 0;
	int rc = read_prepared(v, frs, buf, &first, &end, err);
	bool here = rc == MFT_OK &&
		    find_named_attr(buf, first, end, frs, type, name, 0, &a);
	bool listed = rc == MFT_OK && find_attr(buf, first, end, frs,
						AT_ATTRIBUTE_LIST, 0, &al);
	if (here && !a.nonresident) {
		m->value = malloc(a.value_len ? a.value_len : 1);
		rc = m->value ? MFT_OK
			      : mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
					 "out of memory");
		if (rc == MFT_OK)
			memcpy(m->value, a.value, a.value_len);
		m->size = a.value_len;
	} else if (listed) {
		/* The pieces may live in extension records: the list names
		 * every one, the base record's included. */
		uint8_t *ext = malloc(v->record_size);
		rc = ext ? follow_named_pieces(v, frs, &al, type, name, &rs,
					       &size, ext, err)
			 : mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
				    "out of memory");
		free(ext);
		if (rc == MFT_OK)
			rc = map_nonresident(v, &rs, size, m, err);
	} else if (here) {
		rc = decode_runs(v, &a, frs, &rs, err);
		if (rc == MFT_OK)
			rc = map_nonresident(v, &rs, a.data_size, m, err);
	} else if (rc == MFT_OK) {
		rc = mft_fail(err, MFT_E_CORRUPT, frs, 0,
			      "record has no such stream");
	}
	free(rs.r);
	free(buf);
	if (rc)
		uffs_stream_map_free(m);
	return rc;
}

void uffs_stream_map_free(struct uffs_stream_map *m)
{
	free(m->ext);
	free(m->value);
	memset(m, 0, sizeof *m);
}

int uffs_volume_read_stream(const struct uffs_volume *v,
			    const struct uffs_stream_map *m, uint64_t off,
			    uint8_t *buf, size_t len, struct mft_error *err)
{
	if (off > m->size || len > m->size - off)
		return mft_fail(err, MFT_E_USAGE, MFT_NO_FRS, off,
				"read past the end of the stream");
	if (m->value) {
		memcpy(buf, m->value + off, len);
		return MFT_OK;
	}
	memset(buf, 0, len); /* sparse runs, and any gap past the runs */
	for (size_t i = 0; i < m->n_ext && len; i++) {
		const struct uffs_extent *e = &m->ext[i];
		if (e->mft_off + e->len <= off || e->mft_off >= off + len)
			continue;
		uint64_t from = e->mft_off > off ? e->mft_off : off;
		uint64_t to = e->mft_off + e->len < off + len ? e->mft_off + e->len
							      : off + len;
		if (e->vol_off == UFFS_SPARSE_OFFSET)
			continue;
		int rc = uffs_source_read(v->src, buf + (from - off), to - from,
					  e->vol_off + (from - e->mft_off), err);
		if (rc)
			return rc;
	}
	return MFT_OK;
}

static int by_lcn(const void *a, const void *b)
{
	const struct mft_run *x = a, *y = b;
	return (x->lcn > y->lcn) - (x->lcn < y->lcn);
}

/* Two runs of the $MFT on the same clusters would make records appear
 * twice under different numbers (a runlist that loops back on itself):
 * nothing the volume says can be trusted then. Runs are sorted by LCN on a
 * copy, so the check costs O(n log n) over at most MFT_RUNS_MAX runs. */
static int check_runs_disjoint(const struct runs *rs, uint32_t data_offset,
			       struct mft_error *err)
{
	if (rs->n < 2)
		return MFT_OK;
	struct mft_run *r = malloc(rs->n * sizeof *r);
	if (!r)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	size_t n = 0;
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].lcn != MFT_LCN_SPARSE)
			r[n++] = rs->r[i];
	qsort(r, n, sizeof *r, by_lcn);
	int rc = MFT_OK;
	/* decode_runs bounded every run by the volume: no overflow here. */
	for (size_t i = 1; i < n && rc == MFT_OK; i++)
		if ((uint64_t)r[i].lcn < (uint64_t)r[i - 1].lcn + r[i - 1].length)
			rc = mft_fail(err, MFT_E_CORRUPT, MFT_FRS_MFT, data_offset,
				      "$MFT runlist maps the same clusters twice");
	free(r);
	return rc;
}

static int map_mft(struct uffs_volume *v, struct record0 *r0, uint8_t *scratch,
		   const struct uffs_warn_sink *warn, struct mft_error *err)
{
	struct runs rs = {0};
	uint64_t bitmap_frs = MFT_FRS_MFT;
	int rc = decode_runs(v, &r0->data, MFT_FRS_MFT, &rs, err);
	if (rc == MFT_OK)
		rc = follow_attr_list(v, r0, &rs, &bitmap_frs, scratch, err);
	if (rc == MFT_OK)
		rc = check_runs_disjoint(&rs, r0->data.offset, err);
	if (rc == MFT_OK)
		rc = set_extents(v, &rs, err);
	free(rs.r);
	if (rc)
		return rc;
	v->mft_size = r0->data.data_size;
	uint64_t mapped = rs.next_vcn * v->boot.cluster_size;
	uint64_t bytes = v->mft_size;
	if (mapped < bytes) {
		struct mft_error w;
		mft_fail(&w, MFT_E_CORRUPT, MFT_FRS_MFT, r0->data.offset,
			 "$MFT runlist covers less than its data size; "
			 "records past the mapped part are not read");
		uffs_warn(warn, &w);
		bytes = mapped;
	}
	if (bytes > v->boot.volume_size)
		return mft_fail(err, MFT_E_CORRUPT, MFT_FRS_MFT, r0->data.offset,
				"$MFT data size larger than the volume");
	v->n_records = bytes / v->record_size;
	return load_bitmap(v, r0, bitmap_frs, scratch, warn, err);
}

/* ---- what the OS says of a live volume ------------------------------------ */

static unsigned disagree(const struct uffs_warn_sink *warn, uint64_t offset,
			 const char *what)
{
	struct mft_error e;
	mft_fail(&e, MFT_E_CORRUPT, MFT_NO_FRS, offset, what);
	uffs_warn(warn, &e);
	return 1;
}

static bool pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

unsigned uffs_volume_apply_os(struct uffs_volume *v,
			      const struct uffs_os_volume *os,
			      const struct uffs_warn_sink *warn)
{
	unsigned n = 0;
	if (!v->has_boot || !pow2(os->bytes_per_cluster) ||
	    os->bytes_per_cluster > (2u << 20) || !pow2(os->bytes_per_record) ||
	    os->bytes_per_record < MFT_RECORD_SIZE_MIN ||
	    os->bytes_per_record > MFT_RECORD_SIZE_MAX ||
	    os->mft_lcn >= v->boot.volume_size / os->bytes_per_cluster)
		return 0;
	if (os->bytes_per_cluster != v->boot.cluster_size) {
		n += disagree(warn, 44, "the boot sector's cluster size differs from Windows': using Windows'");
		v->boot.cluster_size = os->bytes_per_cluster;
	}
	if (os->bytes_per_record != v->record_size) {
		n += disagree(warn, 48, "the boot sector's record size differs from Windows': using Windows'");
		v->record_size = v->boot.record_size = os->bytes_per_record;
	}
	if (os->mft_lcn != v->boot.mft_lcn) {
		n += disagree(warn, 64, "the boot sector's $MFT cluster differs from Windows': using Windows'");
		v->boot.mft_lcn = os->mft_lcn;
	}
	return n;
}

unsigned uffs_volume_check_os(const struct uffs_volume *v,
			      const struct uffs_os_volume *os,
			      const struct uffs_extent *ext, size_t n_ext,
			      const struct uffs_warn_sink *warn)
{
	unsigned n = 0;
	if (!v->has_boot)
		return 0;
	if (os->bytes_per_cluster != v->boot.cluster_size)
		n += disagree(warn, 44, "Windows reports another cluster size than the boot sector");
	if (os->bytes_per_record != v->record_size)
		n += disagree(warn, 48, "Windows reports another record size than the boot sector");
	if (os->mft_lcn != v->boot.mft_lcn)
		n += disagree(warn, 64, "Windows reports the $MFT at another cluster than the boot sector");
	if (os->serial != v->boot.serial)
		n += disagree(warn, 0, "Windows reports another serial number than the boot sector");
	if (os->mft_valid_length > v->mft_size)
		n += disagree(warn, 56, "Windows reports more valid $MFT bytes than record 0 holds");
	if (ext && n_ext) {
		bool same = n_ext == v->n_ext;
		for (size_t i = 0; same && i < n_ext; i++)
			same = ext[i].mft_off == v->ext[i].mft_off &&
			       ext[i].vol_off == v->ext[i].vol_off &&
			       ext[i].len == v->ext[i].len;
		if (!same)
			n += disagree(warn, 0, "Windows maps the $MFT to other clusters than record 0's runlist");
	}
	return n;
}

/* A live volume: compare the boot sector's and record 0's view with what
 * the OS says. Disagreements are warnings. */
#define OS_MAX_EXTENTS 4096u

static void check_with_os(struct uffs_volume *v, const struct uffs_warn_sink *warn)
{
	if (!v->src->file.volume_prefix[0])
		return; /* images and Linux devices: the OS says nothing more */
	struct uffs_extent *ext = malloc(OS_MAX_EXTENTS * sizeof *ext);
	struct uffs_os_volume os;
	size_t n_ext = 0;
	if (ext && uffs_os_volume_read(&v->src->file, v->boot.cluster_size, &os,
				       ext, OS_MAX_EXTENTS, &n_ext) == 0)
		uffs_volume_check_os(v, &os, ext, n_ext, warn);
	free(ext);
}

/* A live Windows volume: its geometry as the OS reports it, where it
 * answers. */
static void apply_os_geometry(struct uffs_volume *v,
			      const struct uffs_warn_sink *warn)
{
	struct uffs_os_volume os;
	size_t n_ext;
	if (v->src->file.volume_prefix[0] &&
	    uffs_os_volume_read(&v->src->file, v->boot.cluster_size, &os, NULL,
				0, &n_ext) == 0)
		uffs_volume_apply_os(v, &os, warn);
}

static int open_ntfs(struct uffs_volume *v, const struct uffs_warn_sink *warn,
		     struct mft_error *err)
{
	uint8_t sector[512];
	int rc = uffs_source_read(v->src, sector, sizeof sector, 0, err);
	if (rc == MFT_OK)
		rc = mft_boot_parse(sector, sizeof sector, &v->boot, err);
	if (rc)
		return rc;
	v->has_boot = true;
	v->record_size = v->boot.record_size;
	apply_os_geometry(v, warn);
	if (v->boot.volume_size > v->src->size) {
		struct mft_error w;
		mft_fail(&w, MFT_E_TRUNCATED, MFT_NO_FRS, v->src->size,
			 "image is shorter than the volume size in its boot sector");
		uffs_warn(warn, &w);
	}
	uint8_t *bufs = malloc(2 * (size_t)v->record_size);
	if (!bufs)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	struct record0 r0 = {.buf = bufs};
	rc = load_record0(v, v->boot.mft_lcn, &r0, err);
	if (rc && v->boot.mftmirr_lcn &&
	    v->boot.mftmirr_lcn < v->boot.volume_size / v->boot.cluster_size) {
		struct mft_error first = *err;
		if (load_record0(v, v->boot.mftmirr_lcn, &r0, err) == MFT_OK) {
			/* Only now a warning: when the mirror fails too, the
			 * first failure is the error, printed once. */
			uffs_warn(warn, &first);
			v->from_mirror = true;
			v->mirror_rec0 = malloc(v->record_size);
			rc = v->mirror_rec0
				     ? uffs_source_read(v->src, v->mirror_rec0,
							v->record_size,
							v->boot.mftmirr_lcn *
								v->boot.cluster_size,
							err)
				     : mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
						"out of memory");
		} else {
			*err = first;
		}
	}
	if (rc == MFT_OK)
		rc = map_mft(v, &r0, bufs + v->record_size, warn, err);
	free(bufs);
	if (rc == MFT_OK)
		check_with_os(v, warn);
	return rc;
}

static int open_mft_file(struct uffs_volume *v,
			 const struct uffs_warn_sink *warn)
{
	v->record_size = v->src->record_size;
	v->mft_size = v->src->size;
	v->n_records = v->src->size / v->record_size;
	if (v->src->size % v->record_size) {
		struct mft_error w;
		mft_fail(&w, MFT_E_TRUNCATED, v->n_records,
			 v->n_records * v->record_size,
			 "$MFT file ends with a partial record, ignored");
		uffs_warn(warn, &w);
	}
	v->ext[0] = (struct uffs_extent){0, 0, v->n_records * v->record_size};
	v->n_ext = 1;
	return MFT_OK;
}

int uffs_volume_open(struct uffs_volume *v, struct uffs_source *src,
		     const struct uffs_warn_sink *warn, struct mft_error *err)
{
	*v = (struct uffs_volume){.src = src};
	int rc;
	if (src->kind == UFFS_SOURCE_MFT_FILE) {
		v->ext = malloc(sizeof *v->ext);
		rc = v->ext ? open_mft_file(v, warn)
			    : mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
				       "out of memory");
	} else {
		rc = open_ntfs(v, warn, err);
	}
	if (rc)
		uffs_volume_close(v);
	return rc;
}

void uffs_volume_close(struct uffs_volume *v)
{
	free(v->ext);
	free(v->bitmap);
	free(v->mirror_rec0);
	v->ext = NULL;
	v->bitmap = NULL;
	v->mirror_rec0 = NULL;
}

/* The extent holding byte `off` of the $MFT (extents are in order). */
size_t uffs_volume_find_extent(const struct uffs_volume *v, uint64_t off)
{
	size_t lo = 0, hi = v->n_ext;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->ext[mid].mft_off <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int uffs_volume_read_records(const struct uffs_volume *v, uint64_t first,
			     uint64_t count, uint8_t *buf,
			     struct mft_error *err)
{
	if (first > v->n_records || count > v->n_records - first)
		return mft_fail(err, MFT_E_USAGE, first, 0,
				"record range outside the $MFT");
	uint64_t off = first * v->record_size;
	uint64_t len = count * v->record_size;
	size_t i = uffs_volume_find_extent(v, off);
	while (len) {
		if (i >= v->n_ext || v->ext[i].mft_off > off)
			return mft_fail(err, MFT_E_CORRUPT, off / v->record_size,
					0, "record not mapped by the $MFT runlist");
		const struct uffs_extent *e = &v->ext[i];
		uint64_t skip = off - e->mft_off;
		if (skip >= e->len) {
			i++;
			continue;
		}
		uint64_t n = e->len - skip < len ? e->len - skip : len;
		if (e->vol_off == UFFS_SPARSE_OFFSET) {
			memset(buf, 0, n);
		} else {
			int rc = uffs_source_read(v->src, buf, n,
						  e->vol_off + skip, err);
			if (rc) {
				if (err->frs == MFT_NO_FRS)
					err->frs = off / v->record_size;
				return rc;
			}
		}
		buf += n;
		off += n;
		len -= n;
		i++;
	}
	return MFT_OK;
}

bool uffs_volume_record_in_bitmap(const struct uffs_volume *v, uint64_t frs)
{
	/* Past a short bitmap nothing is known: in use, so it is read. */
	if (!v->bitmap || frs / 8 >= v->bitmap_len)
		return true;
	return v->bitmap[frs / 8] >> (frs % 8) & 1;
}

uint64_t uffs_volume_bitmap_count(const struct uffs_volume *v)
{
	if (!v->bitmap)
		return v->n_records;
	uint64_t n = 0;
	for (uint64_t i = 0; i < v->n_records; i++)
		n += uffs_volume_record_in_bitmap(v, i);
	return n;
}

uint64_t uffs_volume_record_offset(const struct uffs_volume *v, uint64_t frs)
{
	if (!v->n_ext || frs >= UINT64_MAX / v->record_size)
		return UINT64_MAX;
	uint64_t off = frs * v->record_size;
	const struct uffs_extent *e = &v->ext[uffs_volume_find_extent(v, off)];
	if (off < e->mft_off || off - e->mft_off >= e->len ||
	    e->vol_off == UFFS_SPARSE_OFFSET)
		return UINT64_MAX;
	return v->src->base + e->vol_off + (off - e->mft_off);
}

size_t uffs_error_text(const struct mft_error *e, const struct uffs_volume *vol,
		       bool detail, char *buf, size_t cap)
{
	size_t n = 0;
	if (cap == 0)
		return 0;
	buf[0] = '\0';
#define APPEND(...)                                                            \
	do {                                                                   \
		if (n < cap) {                                                 \
			int k = snprintf(buf + n, cap - n, __VA_ARGS__);       \
			n += k > 0 ? (size_t)k : 0;                            \
		}                                                              \
	} while (0)
	if (e->frs != MFT_NO_FRS) {
		APPEND("record %" PRIu64, e->frs);
		uint64_t at = vol ? uffs_volume_record_offset(vol, e->frs)
				  : UINT64_MAX;
		if (at != UINT64_MAX)
			APPEND(" (at byte %" PRIu64 ")", at);
		if (e->offset != MFT_NO_OFFSET)
			APPEND(", offset %" PRIu64, e->offset);
		APPEND(": ");
	} else if (e->offset != MFT_NO_OFFSET) {
		APPEND("byte offset %" PRIu64 ": ", e->offset);
	}
	APPEND("%s", e->what ? e->what : mft_strerror(e->code));
	if (detail && e->detail[0])
		APPEND(" (%s)", e->detail);
#undef APPEND
	return n < cap ? n : cap - 1;
}

void uffs_warn_parent_loops(const struct uffs_tree *t,
			    const struct uffs_warn_sink *sink)
{
	/* Every loop top is an orphan top, and the tree counts those: a
	 * volume without one (nearly every volume) needs no pass over its
	 * records (0.7 ms of a million-record listing). */
	uint64_t tops_left = t->n_orphan_tops;
	for (uint64_t r = 0; tops_left && r < t->idx->n_records; r++) {
		if (!uffs_tree_orphan_top(t, r))
			continue;
		tops_left--;
		if (!uffs_tree_loop_top(t, r))
			continue;
		struct mft_error w;
		mft_fail(&w, MFT_E_CORRUPT, r, MFT_NO_OFFSET,
			 "directory's parent chain loops back to itself (or is "
			 "too deep): listed under /$OrphanFiles");
		uffs_warn(sink, &w);
	}
}

int uffs_volume_read_upcase(const struct uffs_volume *v, uint16_t *table,
			    struct mft_error *err)
{
	if (!v->has_boot)
		return mft_fail(err, MFT_E_USAGE, MFT_NO_FRS, MFT_NO_OFFSET,
				"a captured $MFT has no $UpCase");
	uint8_t *raw = malloc(UFFS_UPCASE_BYTES);
	if (!raw)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, MFT_NO_OFFSET,
				"out of memory");
	uint64_t len = 0;
	int rc = uffs_volume_read_attr(v, MFT_FRS_UPCASE, AT_DATA, raw,
				       UFFS_UPCASE_BYTES, &len, err);
	if (rc == MFT_OK && (len != UFFS_UPCASE_BYTES ||
			     uffs_upcase_decode(raw, len, table)))
		rc = mft_fail(err, MFT_E_CORRUPT, MFT_FRS_UPCASE, 0,
			      "$UpCase is not a 65536-unit case table; the built-in table folds case");
	free(raw);
	return rc;
}
