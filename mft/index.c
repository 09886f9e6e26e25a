/* The index and its merger. */
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "ntfs_format.h"

/* Largest table we index: offsets are 32-bit. */
#define TABLE_MAX (UINT32_MAX - 1u)
#define POOL_MAX ((size_t)UINT32_MAX)

struct column {
	void **ptr;
	size_t elem;
};

static int grow_columns(const struct column *cols, size_t n, uint32_t *cap,
			uint32_t need, struct mft_error *err)
{
	if (need <= *cap)
		return MFT_OK;
	uint64_t next = *cap ? (uint64_t)*cap * 2 : 1024;
	while (next < need)
		next *= 2;
	if (next > TABLE_MAX)
		next = TABLE_MAX;
	if (need > next)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
				"index table full");
	for (size_t c = 0; c < n; c++) {
		void *p = realloc(*cols[c].ptr, (size_t)next * cols[c].elem);
		if (!p)
			return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
					"out of memory");
		*cols[c].ptr = p;
	}
	*cap = (uint32_t)next;
	return MFT_OK;
}

#define COL(field) {(void **)&idx->field, sizeof *idx->field}

static int grow_links(struct uffs_index *idx, uint32_t need,
		      struct mft_error *err)
{
	const struct column cols[] = {
		COL(l_owner),	 COL(l_parent), COL(l_name),
		COL(l_name_len), COL(l_ns),	COL(l_flags),
		COL(l_exp_seq),	 COL(l_attr_id), COL(l_value_len),
	};
	uint32_t cap = idx->cap_links;
	int rc = grow_columns(cols, sizeof cols / sizeof *cols, &cap, need, err);
	if (rc == MFT_OK && cap != idx->cap_links) {
		uint64_t *t = realloc(idx->l_times, (size_t)cap * 4 * sizeof *t);
		if (!t)
			return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
					"out of memory");
		idx->l_times = t;
	}
	idx->cap_links = cap;
	return rc;
}

static int grow_streams(struct uffs_index *idx, uint32_t need,
			struct mft_error *err)
{
	const struct column cols[] = {
		COL(s_owner), COL(s_name),    COL(s_name_len),
		COL(s_kind),  COL(s_flags),   COL(s_attr_id),
		COL(s_exp_seq), COL(s_size),  COL(s_alloc),
	};
	return grow_columns(cols, sizeof cols / sizeof *cols,
			    &idx->cap_streams, need, err);
}

int uffs_index_init(struct uffs_index *idx, uint64_t n_records,
		    uint32_t record_size, struct mft_error *err)
{
	*idx = (struct uffs_index){0};
	if (n_records > TABLE_MAX)
		return mft_fail(err, MFT_E_UNSUPPORTED, MFT_NO_FRS, 0,
				"more than 4 billion MFT records");
	size_t n = (size_t)n_records;
	idx->n_records = n_records;
	idx->record_size = record_size;
	idx->rflags = calloc(n + 1, sizeof *idx->rflags);
	idx->seq = calloc(n + 1, sizeof *idx->seq);
	idx->fattrs = calloc(n + 1, sizeof *idx->fattrs);
	idx->owner_id = calloc(n + 1, sizeof *idx->owner_id);
	idx->reparse_tag = calloc(n + 1, sizeof *idx->reparse_tag);
	idx->times = calloc(4 * n + 1, sizeof *idx->times);
	if (!idx->rflags || !idx->seq || !idx->fattrs || !idx->owner_id ||
	    !idx->reparse_tag || !idx->times) {
		uffs_index_free(idx);
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
				"out of memory for the index");
	}
	/* Most records have one name and one stream: reserving that much
	 * up front saves the copies of growing by doubling. Untouched pages
	 * cost nothing. */
	uint32_t guess = (uint32_t)(n_records < 1024 ? 1024 : n_records);
	int rc = grow_links(idx, guess, err);
	if (rc == MFT_OK)
		rc = grow_streams(idx, guess, err);
	if (rc)
		uffs_index_free(idx);
	return rc;
}

int uffs_index_batch_init(struct uffs_index *batch,
			  const struct uffs_index *idx)
{
	*batch = (struct uffs_index){0};
	batch->n_records = idx->n_records;
	batch->record_size = idx->record_size;
	batch->rflags = idx->rflags;
	batch->seq = idx->seq;
	batch->fattrs = idx->fattrs;
	batch->owner_id = idx->owner_id;
	batch->reparse_tag = idx->reparse_tag;
	batch->times = idx->times;
	batch->is_batch = true;
	return MFT_OK;
}

void uffs_index_batch_reset(struct uffs_index *batch)
{
	batch->n_links = 0;
	batch->n_streams = 0;
	batch->pool_len = 0;
	batch->n_damaged = 0;
}

void uffs_index_batch_free(struct uffs_index *batch)
{
	batch->rflags = NULL;
	batch->seq = NULL;
	batch->fattrs = NULL;
	batch->owner_id = NULL;
	batch->reparse_tag = NULL;
	batch->times = NULL;
	uffs_index_free(batch);
}

#define APPEND(field, n)                                                       \
	do {                                                                   \
		if (n)                                                         \
			memcpy(idx->field + base, b->field,                    \
			       (size_t)(n) * sizeof *b->field);                \
	} while (0)

int uffs_index_append(struct uffs_index *idx, const struct uffs_index *b,
		      struct mft_error *err)
{
	if (idx->pool_len + b->pool_len > POOL_MAX)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
				"name pool full");
	int rc = grow_links(idx, idx->n_links + b->n_links, err);
	if (rc == MFT_OK)
		rc = grow_streams(idx, idx->n_streams + b->n_streams, err);
	if (rc == MFT_OK && idx->pool_len + b->pool_len > idx->pool_cap) {
		size_t cap = idx->pool_cap ? idx->pool_cap : 1 << 16;
		while (cap < idx->pool_len + b->pool_len)
			cap *= 2;
		char *p = realloc(idx->pool, cap);
		if (!p)
			return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
					"out of memory for names");
		idx->pool = p;
		idx->pool_cap = cap;
	}
	if (rc)
		return rc;
	uint32_t shift = (uint32_t)idx->pool_len;
	uint32_t base = idx->n_links;
	APPEND(l_owner, b->n_links);
	APPEND(l_parent, b->n_links);
	APPEND(l_name_len, b->n_links);
	APPEND(l_ns, b->n_links);
	APPEND(l_flags, b->n_links);
	APPEND(l_exp_seq, b->n_links);
	APPEND(l_attr_id, b->n_links);
	APPEND(l_value_len, b->n_links);
	if (b->n_links)
		memcpy(idx->l_times + 4 * (size_t)base, b->l_times,
		       4 * (size_t)b->n_links * sizeof *b->l_times);
	for (uint32_t i = 0; i < b->n_links; i++)
		idx->l_name[base + i] = b->l_name[i] + shift;
	idx->n_links += b->n_links;
	base = idx->n_streams;
	APPEND(s_owner, b->n_streams);
	APPEND(s_name_len, b->n_streams);
	APPEND(s_kind, b->n_streams);
	APPEND(s_flags, b->n_streams);
	APPEND(s_attr_id, b->n_streams);
	APPEND(s_exp_seq, b->n_streams);
	APPEND(s_size, b->n_streams);
	APPEND(s_alloc, b->n_streams);
	for (uint32_t i = 0; i < b->n_streams; i++)
		idx->s_name[base + i] = b->s_name[i] + shift;
	idx->n_streams += b->n_streams;
	if (b->pool_len)
		memcpy(idx->pool + idx->pool_len, b->pool, b->pool_len);
	idx->pool_len += b->pool_len;
	idx->n_damaged += b->n_damaged;
	return MFT_OK;
}

#undef APPEND

void uffs_index_free(struct uffs_index *idx)
{
	void *ptrs[] = {
		idx->rflags,	idx->seq,	   idx->fattrs,	 idx->owner_id,
		idx->reparse_tag, idx->times,	   idx->link_first,
		idx->stream_first, idx->l_owner,   idx->l_parent, idx->l_name,
		idx->l_name_len, idx->l_ns,	   idx->l_flags,
		idx->l_exp_seq, idx->l_attr_id,	   idx->l_value_len,
		idx->l_times,	idx->link_order,   idx->s_owner,	 idx->s_name,
		idx->s_name_len, idx->s_kind,	   idx->s_flags,
		idx->s_attr_id, idx->s_exp_seq,	   idx->s_size,	 idx->s_alloc,
		idx->stream_order, idx->pool,
	};
	for (size_t i = 0; i < sizeof ptrs / sizeof *ptrs; i++)
		free(ptrs[i]);
	*idx = (struct uffs_index){0};
}

/* Appends a UTF-16 name to the pool as WTF-8; returns its offset. */
static int pool_add(struct uffs_index *idx, const uint8_t *u16, uint8_t units,
		    uint32_t *off, uint16_t *len, struct mft_error *err)
{
	size_t need = idx->pool_len + 3u * units;
	if (need > POOL_MAX)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
				"name pool full");
	if (need > idx->pool_cap) {
		size_t cap = idx->pool_cap ? idx->pool_cap * 2 : 1 << 16;
		while (cap < need)
			cap *= 2;
		char *p = realloc(idx->pool, cap);
		if (!p)
			return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
					"out of memory for names");
		idx->pool = p;
		idx->pool_cap = cap;
	}
	*off = (uint32_t)idx->pool_len;
	*len = (uint16_t)mft_utf16_to_wtf8(u16, units, idx->pool + idx->pool_len);
	idx->pool_len += *len;
	return MFT_OK;
}

/* Callers reserve table room first (uffs_index_add_record, once per
 * record). */
static int add_link(struct uffs_index *idx, uint32_t owner, uint8_t flags,
		    uint16_t exp_seq, const struct mft_name_view *n,
		    struct mft_error *err)
{
	uint32_t i = idx->n_links;
	int rc = pool_add(idx, n->name, n->len, &idx->l_name[i],
		      &idx->l_name_len[i], err);
	if (rc)
		return rc;
	idx->l_owner[i] = owner;
	idx->l_parent[i] = n->parent_ref;
	idx->l_ns[i] = n->ns;
	idx->l_flags[i] = flags;
	idx->l_exp_seq[i] = exp_seq;
	idx->l_attr_id[i] = n->attr_id;
	idx->l_value_len[i] = n->value_len;
	memcpy(&idx->l_times[4 * (size_t)i], n->times, sizeof n->times);
	idx->n_links++;
	return MFT_OK;
}

static uint8_t stream_flags(const struct mft_stream_view *s)
{
	uint8_t f = 0;
	if (s->flags & ATTR_FLAG_SPARSE)
		f |= UFFS_STREAM_SPARSE;
	if (s->flags & ATTR_FLAG_COMPRESSED_MASK)
		f |= UFFS_STREAM_COMPRESSED;
	if (s->flags & ATTR_FLAG_ENCRYPTED)
		f |= UFFS_STREAM_ENCRYPTED;
	return f;
}

static int add_stream(struct uffs_index *idx, uint32_t owner, uint8_t flags,
		      uint16_t exp_seq, const struct mft_stream_view *s,
		      struct mft_error *err)
{
	uint32_t i = idx->n_streams;
	int rc;
	idx->s_name[i] = 0;
	idx->s_name_len[i] = 0;
	if (s->name_len) {
		rc = pool_add(idx, s->name, s->name_len, &idx->s_name[i],
			      &idx->s_name_len[i], err);
		if (rc)
			return rc;
	}
	idx->s_owner[i] = owner;
	idx->s_kind[i] = s->kind;
	idx->s_flags[i] = flags | stream_flags(s);
	idx->s_exp_seq[i] = exp_seq;
	idx->s_attr_id[i] = s->attr_id;
	idx->s_size[i] = s->size;
	idx->s_alloc[i] = s->alloc;
	idx->n_streams++;
	return MFT_OK;
}

static void set_base_columns(struct uffs_index *idx,
			     const struct mft_record_view *v)
{
	uint64_t r = v->frs;
	uint16_t f = UFFS_REC_PRESENT;
	if (v->n_attrs)
		f |= UFFS_REC_USED;
	if (v->partial)
		f |= UFFS_REC_PARTIAL;
	if (v->flags & MFT_REC_FLAG_IN_USE)
		f |= UFFS_REC_IN_USE;
	if (v->flags & MFT_REC_FLAG_DIRECTORY)
		f |= UFFS_REC_DIR;
	if (v->has_si)
		f |= UFFS_REC_HAS_SI;
	if (v->has_reparse)
		f |= UFFS_REC_REPARSE;
	if (v->has_attr_list)
		f |= UFFS_REC_ATTR_LIST;
	idx->rflags[r] = f;
	idx->seq[r] = v->seq;
	idx->fattrs[r] = v->si_attrs;
	idx->owner_id[r] = v->owner_id;
	idx->reparse_tag[r] = v->reparse_tag;
	memcpy(&idx->times[4 * r], v->si_times, sizeof v->si_times);
}

int uffs_index_add_record(struct uffs_index *idx,
			  const struct mft_record_view *v,
			  struct mft_error *err)
{
	if (v->frs >= idx->n_records)
		return mft_fail(err, MFT_E_USAGE, v->frs, 0,
				"record number outside the index");
	uint64_t owner = v->frs;
	uint8_t origin = 0;
	uint16_t exp_seq = v->seq;
	if (v->base_ref) {
		owner = MFT_REF_FRS(v->base_ref);
		exp_seq = MFT_REF_SEQ(v->base_ref);
		idx->rflags[v->frs] |= UFFS_REC_EXTENSION;
		idx->seq[v->frs] = v->seq;
		/* An extension naming a record outside the $MFT, or itself,
		 * contributes nothing. */
		if (owner >= idx->n_records || owner == v->frs)
			return MFT_OK;
		origin = UFFS_LINK_FROM_EXT;
		if (v->flags & MFT_REC_FLAG_IN_USE)
			origin |= UFFS_LINK_EXT_IN_USE;
	} else {
		set_base_columns(idx, v);
	}
	int rc = grow_links(idx, idx->n_links + v->n_names, err);
	if (rc == MFT_OK)
		rc = grow_streams(idx, idx->n_streams + v->n_streams, err);
	if (rc)
		return rc;
	for (unsigned i = 0; i < v->n_names; i++) {
		rc = add_link(idx, (uint32_t)owner, origin, exp_seq,
				  &v->names[i], err);
		if (rc)
			return rc;
	}
	for (unsigned i = 0; i < v->n_streams; i++) {
		rc = add_stream(idx, (uint32_t)owner, origin, exp_seq,
				    &v->streams[i], err);
		if (rc)
			return rc;
	}
	return MFT_OK;
}

void uffs_index_mark_damaged(struct uffs_index *idx, uint64_t frs)
{
	if (frs < idx->n_records) {
		idx->rflags[frs] |= UFFS_REC_DAMAGED;
		idx->n_damaged++;
	}
}

/* An extension record's attributes belong to its base only while the base
 * still is the file the extension was written for: same sequence number,
 * same allocation state. Otherwise they are left over from an earlier file. */
static bool ext_contribution_valid(const struct uffs_index *idx,
				   uint32_t owner, uint16_t exp_seq,
				   bool ext_in_use)
{
	uint16_t f = idx->rflags[owner];
	return (f & UFFS_REC_PRESENT) && idx->seq[owner] == exp_seq &&
	       ((f & UFFS_REC_IN_USE) != 0) == ext_in_use;
}

/* Counting sort of table rows by owner, stable: rows keep scan order. */
static int group_by_owner(uint64_t n_records, const uint32_t *owner,
			  uint32_t n, uint32_t **first_out,
			  uint32_t **order_out, struct mft_error *err)
{
	uint32_t *first = calloc((size_t)n_records + 2, sizeof *first);
	uint32_t *order = malloc(((size_t)n + 1) * sizeof *order);
	if (!first || !order) {
		free(first);
		free(order);
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	}
	for (uint32_t i = 0; i < n; i++)
		first[owner[i] + 1]++;
	for (uint64_t r = 0; r < n_records; r++)
		first[r + 1] += first[r];
	for (uint32_t i = 0; i < n; i++)
		order[first[owner[i]]++] = i;
	/* first[r] now holds the end of r's range: shift back. */
	memmove(first + 1, first, (size_t)n_records * sizeof *first);
	first[0] = 0;
	*first_out = first;
	*order_out = order;
	return MFT_OK;
}

static bool same_name(const struct uffs_index *idx, uint32_t a, uint32_t b)
{
	return idx->l_name_len[a] == idx->l_name_len[b] &&
	       MFT_REF_FRS(idx->l_parent[a]) == MFT_REF_FRS(idx->l_parent[b]) &&
	       memcmp(idx->pool + idx->l_name[a], idx->pool + idx->l_name[b],
		      idx->l_name_len[a]) == 0;
}

/* A DOS-only name is hidden when the file has a long name; a second
 * $FILE_NAME with the same parent and name is the same link. */
static void hide_redundant_links(struct uffs_index *idx, uint64_t r)
{
	bool has_long = false;
	UFFS_FOR_EACH_LINK(idx, r, k, i)
	if (!(idx->l_flags[i] & UFFS_LINK_HIDDEN) && idx->l_ns[i] != FN_NS_DOS)
		has_long = true;
	UFFS_FOR_EACH_LINK(idx, r, k, i)
	{
		if (idx->l_flags[i] & UFFS_LINK_HIDDEN)
			continue;
		if (has_long && idx->l_ns[i] == FN_NS_DOS) {
			idx->l_flags[i] |= UFFS_LINK_HIDDEN;
			continue;
		}
		for (uint32_t k2 = idx->link_first[r]; k2 < k; k2++) {
			uint32_t j = idx->link_order[k2];
			if (!(idx->l_flags[j] & UFFS_LINK_HIDDEN) &&
			    same_name(idx, i, j)) {
				idx->l_flags[i] |= UFFS_LINK_HIDDEN;
				break;
			}
		}
	}
}

int uffs_index_finish(struct uffs_index *idx, struct mft_error *err)
{
	for (uint32_t i = 0; i < idx->n_links; i++)
		if ((idx->l_flags[i] & UFFS_LINK_FROM_EXT) &&
		    !ext_contribution_valid(idx, idx->l_owner[i],
					    idx->l_exp_seq[i],
					    idx->l_flags[i] & UFFS_LINK_EXT_IN_USE))
			idx->l_flags[i] |= UFFS_LINK_HIDDEN;
	for (uint32_t i = 0; i < idx->n_streams; i++)
		if ((idx->s_flags[i] & UFFS_STREAM_FROM_EXT) &&
		    !ext_contribution_valid(idx, idx->s_owner[i],
					    idx->s_exp_seq[i],
					    idx->s_flags[i] & UFFS_STREAM_EXT_IN_USE))
			idx->s_flags[i] |= UFFS_STREAM_DROPPED;
	int rc = group_by_owner(idx->n_records, idx->l_owner, idx->n_links,
				&idx->link_first, &idx->link_order, err);
	if (rc == MFT_OK)
		rc = group_by_owner(idx->n_records, idx->s_owner,
				    idx->n_streams, &idx->stream_first,
				    &idx->stream_order, err);
	if (rc)
		return rc;
	for (uint64_t r = 0; r < idx->n_records; r++)
		if (idx->link_first[r + 1] - idx->link_first[r] > 1)
			hide_redundant_links(idx, r);
	idx->finished = true;
	return MFT_OK;
}

bool uffs_index_primary_link(const struct uffs_index *idx, uint64_t frs,
			     uint32_t *link)
{
	if (frs >= idx->n_records)
		return false;
	UFFS_FOR_EACH_LINK(idx, frs, k, i)
	if (!(idx->l_flags[i] & UFFS_LINK_HIDDEN)) {
		*link = i;
		return true;
	}
	return false;
}
