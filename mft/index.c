/* The index and its merger. */
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "ntfs_format.h"

/* Largest table we index: row numbers are 32-bit. */
#define TABLE_MAX (UINT32_MAX - 1u)
#define POOL_MAX ((size_t)UINT32_MAX)

/* ---- memory --------------------------------------------------------------- */

static void *mem_resize(const struct mft_mem_ops *mem, void *p, size_t old,
			size_t bytes)
{
	if (mem)
		return mem->resize(p, old, bytes);
	return p ? realloc(p, bytes) : calloc(1, bytes);
}

static void mem_release(const struct mft_mem_ops *mem, void *p, size_t bytes)
{
	if (!p)
		return;
	if (mem)
		mem->release(p, bytes);
	else
		free(p);
}

/* ---- growable columns ------------------------------------------------------ */

struct column {
	void **ptr;
	size_t elem;
};

static uint32_t next_cap(uint32_t cap, uint32_t need)
{
	uint64_t next = cap ? (uint64_t)cap * 2 : 256;
	while (next < need)
		next *= 2;
	return next > TABLE_MAX ? TABLE_MAX : (uint32_t)next;
}

static void shrink_back(const struct mft_mem_ops *mem, const struct column *col,
			uint32_t from, uint32_t to)
{
	void *p = *col->ptr;
	if (to == 0) {
		mem_release(mem, p, (size_t)from * col->elem);
		*col->ptr = NULL;
		return;
	}
	*col->ptr = mem_resize(mem, p, (size_t)from * col->elem,
			       (size_t)to * col->elem); /* cannot fail */
}

static int grow_columns(const struct mft_mem_ops *mem, const struct column *cols,
			size_t n, uint32_t *cap, uint32_t need,
			struct mft_error *err)
{
	if (need <= *cap)
		return MFT_OK;
	uint32_t next = next_cap(*cap, need);
	if (need > next)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
				"index table full");
	for (size_t c = 0; c < n; c++) {
		if (!cols[c].ptr)
			continue;
		void *p = mem_resize(mem, *cols[c].ptr, (size_t)*cap * cols[c].elem,
				     (size_t)next * cols[c].elem);
		if (!p) {
			/* Every column keeps one capacity: shrink back the
			 * ones already grown, so that they are released with
			 * the size they have. */
			while (c-- > 0)
				if (cols[c].ptr)
					shrink_back(mem, &cols[c], next, *cap);
			return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
					"out of memory");
		}
		*cols[c].ptr = p;
	}
	*cap = next;
	return MFT_OK;
}

static void release_columns(const struct mft_mem_ops *mem,
			    const struct column *cols, size_t n, uint32_t cap)
{
	for (size_t c = 0; c < n; c++)
		if (cols[c].ptr)
			mem_release(mem, *cols[c].ptr, (size_t)cap * cols[c].elem);
}

#define COL(t, field) {(void **)&(t)->field, sizeof *(t)->field}
#define OPT_COL(cond, t, field, n)                                             \
	{(cond) ? (void **)&(t)->field : NULL, (n) * sizeof *(t)->field}
/* with_ids: the attribute id and value length of each name, which only
 * columns and the digest show (a names-only index leaves them out). */
#define LINK_COLS(t, with_times, with_side, with_ids)                                    \
	{                                                                      \
		COL(t, parent), COL(t, name), COL(t, name_len), COL(t, ns),    \
		COL(t, flags), OPT_COL(with_ids, t, attr_id, 1),               \
		OPT_COL(with_ids, t, value_len, 1),                            \
		OPT_COL(with_times, t, times, 4),                              \
		OPT_COL(with_side, t, owner, 1),                               \
		OPT_COL(with_side, t, exp_seq, 1),                             \
	}
#define STREAM_COLS(t, with_side)                                                   \
	{                                                                      \
		COL(t, name), COL(t, name_len), COL(t, kind), COL(t, flags),   \
		COL(t, attr_id), COL(t, size), COL(t, alloc), COL(t, owner),   \
		OPT_COL(with_side, t, exp_seq, 1),                             \
	}
#define EXTRA_COLS(t) {COL(t, frs), COL(t, owner_id), COL(t, reparse_tag)}
#define NCOLS(a) (sizeof (a) / sizeof *(a))

static int grow_links(const struct mft_mem_ops *mem, struct uffs_links *t,
		      uint32_t need, bool times, bool side, bool ids,
		      struct mft_error *err)
{
	const struct column cols[] = LINK_COLS(t, times, side, ids);
	return grow_columns(mem, cols, NCOLS(cols), &t->cap, need, err);
}

static int grow_streams(const struct mft_mem_ops *mem, struct uffs_streams *t,
			uint32_t need, bool side, struct mft_error *err)
{
	const struct column cols[] = STREAM_COLS(t, side);
	return grow_columns(mem, cols, NCOLS(cols), &t->cap, need, err);
}

static int grow_extras(const struct mft_mem_ops *mem, struct uffs_extras *t,
		       uint32_t need, struct mft_error *err)
{
	const struct column cols[] = EXTRA_COLS(t);
	return grow_columns(mem, cols, NCOLS(cols), &t->cap, need, err);
}

static void free_links(const struct mft_mem_ops *mem, struct uffs_links *t)
{
	const struct column cols[] = LINK_COLS(t, t->times, t->owner || t->exp_seq,
					       t->attr_id != NULL);
	release_columns(mem, cols, NCOLS(cols), t->cap);
	*t = (struct uffs_links){0};
}

static void free_streams(const struct mft_mem_ops *mem, struct uffs_streams *t)
{
	const struct column cols[] = STREAM_COLS(t, t->exp_seq);
	release_columns(mem, cols, NCOLS(cols), t->cap);
	*t = (struct uffs_streams){0};
}

static void free_extras(const struct mft_mem_ops *mem, struct uffs_extras *t)
{
	const struct column cols[] = EXTRA_COLS(t);
	release_columns(mem, cols, NCOLS(cols), t->cap);
	*t = (struct uffs_extras){0};
}

/* ---- life cycle ------------------------------------------------------------- */

/* The per-record columns and their sizes for n records. They live in one
 * block (one mapping, one partly used huge page at its end): each column
 * starts on a 64-byte boundary. */
#define RECORD_COLS(idx, n, all)                                               \
	{                                                                      \
		{(void **)&(idx)->rflags, ((n) + 1) * sizeof *(idx)->rflags}, \
		{(void **)&(idx)->seq, ((n) + 1) * sizeof *(idx)->seq},       \
		{(void **)&(idx)->link_first,                                  \
		 ((n) + 2) * sizeof *(idx)->link_first},                       \
		{(all) ? (void **)&(idx)->fattrs : NULL,                       \
		 ((n) + 1) * sizeof *(idx)->fattrs},                           \
		{(all) ? (void **)&(idx)->times : NULL,                        \
		 (4 * (n) + 1) * sizeof *(idx)->times},                        \
		{(all) ? (void **)&(idx)->data_size : NULL,                    \
		 ((n) + 1) * sizeof *(idx)->data_size},                        \
		{(all) ? (void **)&(idx)->data_alloc : NULL,                   \
		 ((n) + 1) * sizeof *(idx)->data_alloc},                       \
		{(all) ? (void **)&(idx)->data_id : NULL,                      \
		 ((n) + 1) * sizeof *(idx)->data_id},                          \
	}

static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

static size_t record_block_size(const struct column *cols, size_t n)
{
	size_t total = 0;
	for (size_t c = 0; c < n; c++)
		if (cols[c].ptr)
			total += align64(cols[c].elem);
	return total;
}

int uffs_index_init_with(struct uffs_index *idx, uint64_t n_records,
			 uint32_t record_size,
			 const struct uffs_index_opts *opts,
			 struct mft_error *err)
{
	const struct mft_mem_ops *mem = opts->mem;
	bool keep_fn_times = opts->keep_fn_times;
	*idx = (struct uffs_index){0};
	if (n_records > TABLE_MAX)
		return mft_fail(err, MFT_E_UNSUPPORTED, MFT_NO_FRS, 0,
				"more than 4 billion MFT records");
	size_t n = (size_t)n_records;
	idx->mem = mem;
	idx->n_records = n_records;
	idx->record_size = record_size;
	idx->keep_fn_times = keep_fn_times;
	idx->names_only = opts->names_only;
	idx->plain_hints = opts->names_only;
	idx->last_base = -1;
	const struct column cols[] = RECORD_COLS(idx, n, !opts->names_only);
	size_t block = record_block_size(cols, NCOLS(cols));
	uint8_t *at = mem_resize(mem, NULL, 0, block);
	if (at) {
		idx->record_block = at;
		for (size_t c = 0; c < NCOLS(cols); c++) {
			if (!cols[c].ptr)
				continue;
			*cols[c].ptr = at;
			at += align64(cols[c].elem);
		}
	}
	/* Never NULL, so that pool + offset is defined even when every name
	 * is empty (found by fuzzing). With an allocator that maps, room for
	 * typical names costs nothing until used. */
	idx->pool_cap = mem ? (size_t)n * 16 + 4096 : 4096;
	idx->pool = at ? mem_resize(mem, NULL, 0, idx->pool_cap) : NULL;
	if (!idx->pool) {
		uffs_index_free(idx);
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
				"out of memory for the index");
	}
	/* Most records have one name: reserving that much up front saves
	 * the copies of growing by doubling. Untouched pages cost nothing. */
	uint32_t guess = (uint32_t)(n_records < 256 ? 256 : n_records);
	int rc = grow_links(mem, &idx->links, guess, keep_fn_times, false,
			    !idx->names_only, err);
	if (rc)
		uffs_index_free(idx);
	return rc;
}

int uffs_index_init(struct uffs_index *idx, uint64_t n_records,
		    uint32_t record_size, bool keep_fn_times,
		    struct mft_error *err)
{
	const struct uffs_index_opts opts = {.keep_fn_times = keep_fn_times};
	return uffs_index_init_with(idx, n_records, record_size, &opts, err);
}

static void free_tables(struct uffs_index *idx)
{
	const struct mft_mem_ops *mem = idx->mem;
	free_links(mem, &idx->links);
	free_streams(mem, &idx->streams);
	free_links(mem, &idx->side_links);
	free_streams(mem, &idx->side_streams);
	free_extras(mem, &idx->extras);
	mem_release(mem, idx->pool, idx->pool_cap);
	idx->pool = NULL;
	idx->pool_len = idx->pool_cap = 0;
}

void uffs_index_free(struct uffs_index *idx)
{
	if (!idx->is_batch) {
		size_t n = (size_t)idx->n_records;
		const struct column cols[] = RECORD_COLS(idx, n, !idx->names_only);
		mem_release(idx->mem, idx->record_block,
			    record_block_size(cols, NCOLS(cols)));
	}
	free_tables(idx);
	*idx = (struct uffs_index){0};
}

void uffs_index_batch_init(struct uffs_index *batch,
			   const struct uffs_index *idx)
{
	*batch = *idx;
	batch->links = (struct uffs_links){0};
	batch->streams = (struct uffs_streams){0};
	batch->side_links = (struct uffs_links){0};
	batch->side_streams = (struct uffs_streams){0};
	batch->extras = (struct uffs_extras){0};
	batch->pool = NULL;
	batch->pool_len = batch->pool_cap = 0;
	batch->n_damaged = 0;
	batch->n_reserved = 0;
	batch->is_batch = true;
	batch->mem = NULL; /* small tables, reused chunk after chunk */
}

void uffs_index_batch_reset(struct uffs_index *batch, uint64_t first,
			    uint64_t n)
{
	batch->links.n = batch->streams.n = 0;
	batch->side_links.n = batch->side_streams.n = 0;
	batch->extras.n = 0;
	batch->pool_len = 0;
	batch->n_damaged = 0;
	batch->n_reserved = 0;
	batch->range_first = first;
	batch->range_n = n;
	batch->last_base = (int64_t)first - 1;
}

void uffs_index_batch_free(struct uffs_index *batch)
{
	free_tables(batch);
	*batch = (struct uffs_index){0};
}

/* ---- adding one record ------------------------------------------------------- */

/* Room for extra more bytes of names. */
static int reserve_pool(struct uffs_index *idx, size_t extra,
			struct mft_error *err)
{
	if (idx->pool_len + extra > POOL_MAX)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
				"name pool full");
	if (idx->pool_len + extra <= idx->pool_cap)
		return MFT_OK;
	size_t cap = idx->pool_cap ? idx->pool_cap : 1 << 16;
	while (cap < idx->pool_len + extra)
		cap *= 2;
	char *p = mem_resize(idx->mem, idx->pool, idx->pool_cap, cap);
	if (!p)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
				"out of memory for names");
	idx->pool = p;
	idx->pool_cap = cap;
	return MFT_OK;
}

/* Appends a UTF-16 name to the pool as WTF-8. */
static int pool_add(struct uffs_index *idx, const uint8_t *u16, uint8_t units,
		    uint32_t *off, uint16_t *len, bool *printable,
		    struct mft_error *err)
{
	*off = (uint32_t)idx->pool_len;
	*len = 0;
	if (units == 0) /* an empty name: nothing to store (found by fuzzing) */
		return MFT_OK;
	int rc = reserve_pool(idx, 3u * units, err);
	if (rc)
		return rc;
	*off = (uint32_t)idx->pool_len;
	char *to = idx->pool + idx->pool_len;
	*len = (uint16_t)(printable ? mft_utf16_to_wtf8_printable(u16, units, to,
								  printable)
				    : mft_utf16_to_wtf8(u16, units, to));
	idx->pool_len += *len;
	return MFT_OK;
}

/* Where the rows of one record go, and what they say of their origin. */
struct row_dest {
	bool side;
	uint32_t owner;
	uint8_t origin; /* UFFS_LINK_* / UFFS_STREAM_* origin bits, same values */
	uint16_t exp_seq;
};

static int add_link(struct uffs_index *idx, const struct row_dest *d,
		    const struct mft_name_view *n, struct mft_error *err)
{
	struct uffs_links *t = d->side ? &idx->side_links : &idx->links;
	bool times = idx->keep_fn_times;
	int rc;
	if (t->n >= t->cap && (rc = grow_links(idx->mem, t, t->n + 1, times, d->side,
					       !idx->names_only, err)))
		return rc;
	uint32_t i = t->n;
	bool printable = false;
	rc = pool_add(idx, n->name, n->len, &t->name[i], &t->name_len[i],
		      idx->plain_hints ? &printable : NULL, err);
	if (rc)
		return rc;
	t->parent[i] = n->parent_ref;
	t->ns[i] = n->ns;
	t->flags[i] = d->origin | (printable ? UFFS_LINK_PLAIN : 0);
	if (t->attr_id) {
		t->attr_id[i] = n->attr_id;
		t->value_len[i] = n->value_len;
	}
	if (times)
		memcpy(&t->times[4 * (size_t)i], n->times, sizeof n->times);
	if (d->side) {
		t->owner[i] = d->owner;
		t->exp_seq[i] = d->exp_seq;
	}
	t->n++;
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

static uint16_t data_flags(uint8_t stream_flags_)
{
	uint16_t f = UFFS_REC_HAS_DATA;
	if (stream_flags_ & UFFS_STREAM_SPARSE)
		f |= UFFS_REC_DATA_SPARSE;
	if (stream_flags_ & UFFS_STREAM_COMPRESSED)
		f |= UFFS_REC_DATA_COMPRESSED;
	if (stream_flags_ & UFFS_STREAM_ENCRYPTED)
		f |= UFFS_REC_DATA_ENCRYPTED;
	return f;
}

static void set_record_data(struct uffs_index *idx, uint64_t r, uint64_t size,
			    uint64_t alloc, uint16_t id, uint8_t sflags)
{
	idx->rflags[r] |= data_flags(sflags);
	if (idx->names_only)
		return;
	idx->data_size[r] = size;
	idx->data_alloc[r] = alloc;
	idx->data_id[r] = id;
}

static int add_stream(struct uffs_index *idx, const struct row_dest *d,
		      const struct mft_stream_view *s, struct mft_error *err)
{
	/* A base record's unnamed $DATA goes into its own slot. */
	if (!d->side && s->kind == MFT_STREAM_DATA && !s->name_len &&
	    !(idx->rflags[d->owner] & UFFS_REC_HAS_DATA)) {
		set_record_data(idx, d->owner, s->size, s->alloc, s->attr_id,
				stream_flags(s));
		return MFT_OK;
	}
	struct uffs_streams *t = d->side ? &idx->side_streams : &idx->streams;
	int rc;
	if (t->n >= t->cap && (rc = grow_streams(idx->mem, t, t->n + 1, d->side, err)))
		return rc;
	uint32_t i = t->n;
	t->name[i] = 0;
	t->name_len[i] = 0;
	if (s->name_len) {
		rc = pool_add(idx, s->name, s->name_len, &t->name[i],
			      &t->name_len[i], NULL, err);
		if (rc)
			return rc;
	}
	t->kind[i] = s->kind;
	t->flags[i] = d->origin | stream_flags(s);
	t->attr_id[i] = s->attr_id;
	t->size[i] = s->size;
	t->alloc[i] = s->alloc;
	t->owner[i] = d->owner;
	if (d->side)
		t->exp_seq[i] = d->exp_seq;
	else
		idx->rflags[d->owner] |= UFFS_REC_STREAMS;
	t->n++;
	return MFT_OK;
}

/* Extras stay in FRS order: a late record is inserted in place (rare). */
static int add_extras(struct uffs_index *idx, const struct mft_record_view *v,
		      struct mft_error *err)
{
	if (!v->owner_id && !v->reparse_tag)
		return MFT_OK;
	struct uffs_extras *t = &idx->extras;
	int rc = grow_extras(idx->mem, t, t->n + 1, err);
	if (rc)
		return rc;
	uint32_t at = t->n;
	while (at > 0 && t->frs[at - 1] > v->frs)
		at--;
	size_t move = t->n - at;
	memmove(t->frs + at + 1, t->frs + at, move * sizeof *t->frs);
	memmove(t->owner_id + at + 1, t->owner_id + at, move * sizeof *t->owner_id);
	memmove(t->reparse_tag + at + 1, t->reparse_tag + at,
		move * sizeof *t->reparse_tag);
	t->frs[at] = (uint32_t)v->frs;
	t->owner_id[at] = v->owner_id;
	t->reparse_tag[at] = v->reparse_tag;
	t->n++;
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
	if (idx->names_only)
		return;
	idx->fattrs[r] = v->si_attrs;
	memcpy(&idx->times[4 * r], v->si_times, sizeof v->si_times);
}

static int add_rows(struct uffs_index *idx, const struct row_dest *d,
		    const struct mft_record_view *v, struct mft_error *err)
{
	for (unsigned i = 0; i < v->n_names; i++) {
		int rc = add_link(idx, d, &v->names[i], err);
		if (rc)
			return rc;
	}
	for (unsigned i = 0; i < v->n_streams; i++) {
		int rc = add_stream(idx, d, &v->streams[i], err);
		if (rc)
			return rc;
	}
	return MFT_OK;
}

/* Room kept for names in extension records, per record and in all: a
 * hint that lies costs a pass at finish and a little memory, never more. */
#define RESERVE_PER_RECORD 64u
#define RESERVE_SHARE 16u /* at most one row per 16 records, plus: */
#define RESERVE_SLACK 64u

/* How many of a base record's names are in other records, as its
 * attribute list says when it is in the record, else as its link count
 * (which counts every $FILE_NAME) says. Only a hint, however wrong:
 * finish places side rows whatever was reserved for them. */
static unsigned names_elsewhere(const struct mft_record_view *v)
{
	const struct mft_attr *al = &v->attr_list;
	if (!v->has_attr_list)
		return 0;
	unsigned n = 0;
	if (al->nonresident || !al->value) {
		n = v->link_count > v->n_names ? v->link_count - v->n_names : 0;
		return n < RESERVE_PER_RECORD ? n : RESERVE_PER_RECORD;
	}
	struct mft_al_iter it;
	struct mft_al_entry e;
	struct mft_error ignored; /* a damaged list ends the count early */
	mft_al_iter_init(&it, al->value, al->value_len);
	while (n < RESERVE_PER_RECORD && mft_al_next(&it, &e, &ignored) == 1)
		n += e.type == AT_FILE_NAME && MFT_REF_FRS(e.record_ref) != v->frs;
	return n;
}

/* Empty rows right after a base record's own names, for the names its
 * extension records hold: finish fills them in place, where otherwise it
 * would move every later row to make room (most of a million-record
 * index's finishing time when the first such record is early). */
static int reserve_side_links(struct uffs_index *idx, unsigned n,
			      struct mft_error *err)
{
	struct uffs_links *t = &idx->links;
	uint64_t span = idx->is_batch ? idx->range_n : idx->n_records;
	if (!n || idx->n_reserved + n > span / RESERVE_SHARE + RESERVE_SLACK)
		return MFT_OK;
	if (t->n + n > t->cap) {
		int rc = grow_links(idx->mem, t, t->n + n, idx->keep_fn_times,
				    false, !idx->names_only, err);
		if (rc)
			return rc;
	}
	for (uint32_t i = t->n; i < t->n + n; i++) {
		t->parent[i] = 0;
		t->name[i] = (uint32_t)idx->pool_len;
		t->name_len[i] = 0;
		t->ns[i] = 0;
		t->flags[i] = UFFS_LINK_RESERVED;
		if (t->attr_id) {
			t->attr_id[i] = 0;
			t->value_len[i] = 0;
		}
		if (t->times)
			memset(&t->times[4 * (size_t)i], 0, 4 * sizeof *t->times);
	}
	t->n += n;
	idx->n_reserved += n;
	return MFT_OK;
}

int uffs_index_add_record(struct uffs_index *idx,
			  const struct mft_record_view *v,
			  struct mft_error *err)
{
	if (v->frs >= idx->n_records)
		return mft_fail(err, MFT_E_USAGE, v->frs, 0,
				"record number outside the index");
	if (v->base_ref) {
		uint64_t owner = MFT_REF_FRS(v->base_ref);
		idx->rflags[v->frs] |= UFFS_REC_EXTENSION;
		idx->seq[v->frs] = v->seq;
		/* An extension naming a record outside the $MFT, or itself,
		 * contributes nothing. */
		if (owner >= idx->n_records || owner == v->frs)
			return MFT_OK;
		struct row_dest d = {true, (uint32_t)owner, UFFS_LINK_FROM_EXT,
				     MFT_REF_SEQ(v->base_ref)};
		if (v->flags & MFT_REC_FLAG_IN_USE)
			d.origin |= UFFS_LINK_EXT_IN_USE;
		return add_rows(idx, &d, v, err);
	}
	set_base_columns(idx, v);
	int rc = add_extras(idx, v, err);
	if (rc)
		return rc;
	struct row_dest d = {false, (uint32_t)v->frs, 0, v->seq};
	if ((int64_t)v->frs > idx->last_base) {
		idx->last_base = (int64_t)v->frs;
		idx->link_first[v->frs] = idx->links.n;
		idx->rflags[v->frs] |= UFFS_REC_ROWS;
	} else {
		/* Out of order (only when records are added by hand): its
		 * rows are merged into place by finish. */
		d.side = true;
		d.origin = UFFS_LINK_SELF;
	}
	rc = add_rows(idx, &d, v, err);
	if (rc == MFT_OK && !d.side && v->has_attr_list)
		rc = reserve_side_links(idx, names_elsewhere(v), err);
	return rc;
}

/* ---- copying a record from another index ------------------------------------ */

static bool find_extra(const struct uffs_index *idx, uint64_t frs, uint32_t *at);

/* Appends len bytes of an already converted name to the pool. */
static int pool_copy(struct uffs_index *idx, const char *name, uint16_t len,
		     uint32_t *off, struct mft_error *err)
{
	int rc = reserve_pool(idx, len, err);
	if (rc)
		return rc;
	*off = (uint32_t)idx->pool_len;
	memcpy(idx->pool + idx->pool_len, name, len);
	idx->pool_len += len;
	return MFT_OK;
}

static int copy_links(struct uffs_index *dst, const struct uffs_index *src,
		      uint64_t r, struct mft_error *err)
{
	struct uffs_links *t = &dst->links;
	const struct uffs_links *f = &src->links;
	bool times = dst->keep_fn_times && f->times;
	UFFS_FOR_EACH_LINK(src, r, i)
	{
		int rc;
		if (t->n >= t->cap &&
		    (rc = grow_links(dst->mem, t, t->n + 1, dst->keep_fn_times,
				     false, !dst->names_only, err)))
			return rc;
		uint32_t k = t->n;
		rc = pool_copy(dst, src->pool + f->name[i], f->name_len[i],
			       &t->name[k], err);
		if (rc)
			return rc;
		t->name_len[k] = f->name_len[i];
		t->parent[k] = f->parent[i];
		t->ns[k] = f->ns[i];
		/* finish decides which names are hidden, as for a parsed one */
		t->flags[k] = f->flags[i] &
			      (uint8_t)~(UFFS_LINK_HIDDEN | UFFS_LINK_PLAIN);
		if (t->attr_id) {
			t->attr_id[k] = f->attr_id ? f->attr_id[i] : 0;
			t->value_len[k] = f->value_len ? f->value_len[i] : 0;
		}
		if (times)
			memcpy(&t->times[4 * (size_t)k], &f->times[4 * (size_t)i],
			       4 * sizeof *t->times);
		else if (dst->keep_fn_times)
			memset(&t->times[4 * (size_t)k], 0, 4 * sizeof *t->times);
		t->n++;
	}
	return MFT_OK;
}

static int copy_streams(struct uffs_index *dst, const struct uffs_index *src,
			uint64_t r, struct mft_error *err)
{
	struct uffs_streams *t = &dst->streams;
	const struct uffs_streams *f = &src->streams;
	UFFS_FOR_EACH_STREAM(src, r, i)
	{
		int rc;
		if (t->n >= t->cap &&
		    (rc = grow_streams(dst->mem, t, t->n + 1, false, err)))
			return rc;
		uint32_t k = t->n;
		t->name[k] = 0;
		if (f->name_len[i] &&
		    (rc = pool_copy(dst, src->pool + f->name[i], f->name_len[i],
				    &t->name[k], err)))
			return rc;
		t->name_len[k] = f->name_len[i];
		t->kind[k] = f->kind[i];
		t->flags[k] = f->flags[i];
		t->attr_id[k] = f->attr_id[i];
		t->size[k] = f->size[i];
		t->alloc[k] = f->alloc[i];
		t->owner[k] = (uint32_t)r;
		t->n++;
	}
	return MFT_OK;
}

int uffs_index_copy_record(struct uffs_index *dst, const struct uffs_index *src,
			   uint64_t r, struct mft_error *err)
{
	if (r >= dst->n_records || r >= src->n_records ||
	    (int64_t)r <= dst->last_base || !src->finished)
		return mft_fail(err, MFT_E_USAGE, r, 0,
				"record copied out of order or outside the index");
	uint16_t f = src->rflags[r];
	if (!(f & UFFS_REC_PRESENT))
		return MFT_OK;
	if (f & (UFFS_REC_EXTENSION | UFFS_REC_DAMAGED))
		return mft_fail(err, MFT_E_USAGE, r, 0,
				"an extension or damaged record is read again, not copied");
	dst->last_base = (int64_t)r;
	dst->rflags[r] = f | UFFS_REC_ROWS;
	dst->seq[r] = src->seq[r];
	dst->link_first[r] = dst->links.n;
	if (!dst->names_only && !src->names_only) {
		dst->fattrs[r] = src->fattrs[r];
		memcpy(&dst->times[4 * r], &src->times[4 * r], 4 * sizeof *dst->times);
		dst->data_size[r] = src->data_size[r];
		dst->data_alloc[r] = src->data_alloc[r];
		dst->data_id[r] = src->data_id[r];
	}
	int rc = copy_links(dst, src, r, err);
	if (!rc)
		rc = copy_streams(dst, src, r, err);
	uint32_t at;
	if (!rc && find_extra(src, r, &at)) {
		struct uffs_extras *x = &dst->extras;
		rc = grow_extras(dst->mem, x, x->n + 1, err);
		if (!rc) { /* r follows every record added: it goes last */
			x->frs[x->n] = (uint32_t)r;
			x->owner_id[x->n] = src->extras.owner_id[at];
			x->reparse_tag[x->n] = src->extras.reparse_tag[at];
			x->n++;
		}
	}
	return rc;
}

void uffs_index_mark_damaged(struct uffs_index *idx, uint64_t frs)
{
	if (frs < idx->n_records) {
		idx->rflags[frs] |= UFFS_REC_DAMAGED;
		idx->n_damaged++;
	}
}

/* ---- appending a batch ---------------------------------------------------------- */


/* The columns every row of a table has, with their width in elements;
 * side-only columns (exp_seq) are not moved. NULL columns are skipped. */
#define LINK_COLUMNS(X)                                                        \
	X(parent, 1) X(name, 1) X(name_len, 1) X(ns, 1) X(flags, 1)            \
	X(attr_id, 1) X(value_len, 1) X(times, 4)
#define STREAM_COLUMNS(X)                                                      \
	X(name, 1) X(name_len, 1) X(kind, 1) X(flags, 1) X(attr_id, 1)         \
	X(size, 1) X(alloc, 1) X(owner, 1)

#define COPY_ROWS(dst, src, field, at, count, per)                             \
	do {                                                                   \
		if ((count) && (src)->field && (dst)->field)                   \
			memcpy((dst)->field + (size_t)(at) * (per),            \
			       (src)->field,                                   \
			       (size_t)(count) * (per) * sizeof *(src)->field); \
	} while (0)

static int append_links(const struct mft_mem_ops *mem, struct uffs_links *dst,
			const struct uffs_links *src, bool times, bool side,
			uint32_t shift, struct mft_error *err)
{
	int rc = grow_links(mem, dst, dst->n + src->n, times, side,
			    src->attr_id != NULL || dst->attr_id != NULL, err);
	if (rc)
		return rc;
	uint32_t at = dst->n;
#define X(field, per) COPY_ROWS(dst, src, field, at, src->n, per);
	LINK_COLUMNS(X)
#undef X
	if (side) {
		COPY_ROWS(dst, src, owner, at, src->n, 1);
		COPY_ROWS(dst, src, exp_seq, at, src->n, 1);
	}
	for (uint32_t i = 0; i < src->n; i++)
		dst->name[at + i] = src->name[i] + shift;
	dst->n += src->n;
	return MFT_OK;
}

static int append_streams(const struct mft_mem_ops *mem,
			  struct uffs_streams *dst,
			  const struct uffs_streams *src, bool side,
			  uint32_t shift, struct mft_error *err)
{
	int rc = grow_streams(mem, dst, dst->n + src->n, side, err);
	if (rc)
		return rc;
	uint32_t at = dst->n;
#define X(field, per) COPY_ROWS(dst, src, field, at, src->n, per);
	STREAM_COLUMNS(X)
#undef X
	if (side)
		COPY_ROWS(dst, src, exp_seq, at, src->n, 1);
	for (uint32_t i = 0; i < src->n; i++)
		dst->name[at + i] = src->name[i] + shift;
	dst->n += src->n;
	return MFT_OK;
}

int uffs_index_append(struct uffs_index *idx, const struct uffs_index *b,
		      struct mft_error *err)
{
	uint32_t shift = (uint32_t)idx->pool_len;
	uint32_t link_base = idx->links.n;
	bool times = idx->keep_fn_times;
	int rc = reserve_pool(idx, b->pool_len, err);
	if (rc == MFT_OK)
		rc = append_links(idx->mem, &idx->links, &b->links, times, false, shift, err);
	if (rc == MFT_OK)
		rc = append_links(idx->mem, &idx->side_links, &b->side_links, times, true,
				  shift, err);
	if (rc == MFT_OK)
		rc = append_streams(idx->mem, &idx->streams, &b->streams, false, shift, err);
	if (rc == MFT_OK)
		rc = append_streams(idx->mem, &idx->side_streams, &b->side_streams, true,
				    shift, err);
	if (rc == MFT_OK && b->extras.n) {
		struct uffs_extras *x = &idx->extras;
		rc = grow_extras(idx->mem, x, x->n + b->extras.n, err);
		if (rc == MFT_OK) {
			COPY_ROWS(x, &b->extras, frs, x->n, b->extras.n, 1);
			COPY_ROWS(x, &b->extras, owner_id, x->n, b->extras.n, 1);
			COPY_ROWS(x, &b->extras, reparse_tag, x->n, b->extras.n, 1);
			x->n += b->extras.n;
		}
	}
	if (rc)
		return rc;
	if (b->pool_len)
		memcpy(idx->pool + idx->pool_len, b->pool, b->pool_len);
	idx->pool_len += b->pool_len;
	/* The batch numbered its records' rows from 0. */
	for (uint64_t r = b->range_first; r < b->range_first + b->range_n; r++)
		if (idx->rflags[r] & UFFS_REC_ROWS)
			idx->link_first[r] += link_base;
	if (b->range_n && (int64_t)(b->range_first + b->range_n - 1) > idx->last_base)
		idx->last_base = (int64_t)(b->range_first + b->range_n - 1);
	idx->n_damaged += b->n_damaged;
	idx->n_reserved += b->n_reserved;
	return MFT_OK;
}

#undef COPY_ROWS

/* ---- finishing ---------------------------------------------------------------- */

/* Records without rows of their own get empty ranges. */
static void fill_row_ranges(struct uffs_index *idx)
{
	uint32_t nl = idx->links.n;
	idx->link_first[idx->n_records] = nl;
	for (uint64_t r = idx->n_records; r-- > 0;) {
		if (idx->rflags[r] & UFFS_REC_ROWS)
			nl = idx->link_first[r];
		else
			idx->link_first[r] = nl;
	}
}

/* First row whose owner is greater than o, in rows [0, end). */
static uint32_t streams_after(const struct uffs_streams *t, uint32_t end,
			      uint32_t o)
{
	uint32_t lo = 0, hi = end;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->owner[mid] <= o)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t uffs_index_streams_begin(const struct uffs_index *idx, uint64_t r)
{
	if (!(idx->rflags[r] & UFFS_REC_STREAMS))
		return idx->streams.n;
	return r ? streams_after(&idx->streams, idx->streams.n, (uint32_t)r - 1) : 0;
}

/* An extension record's attributes belong to its base only while the base
 * still is the file the extension was written for: same sequence number,
 * same allocation state. Otherwise they are left over from an earlier file. */
static bool side_row_valid(const struct uffs_index *idx, uint8_t flags,
			   uint32_t owner, uint16_t exp_seq)
{
	if (flags & UFFS_LINK_SELF)
		return true;
	uint16_t f = idx->rflags[owner];
	bool ext_in_use = flags & UFFS_LINK_EXT_IN_USE;
	return (f & UFFS_REC_PRESENT) && idx->seq[owner] == exp_seq &&
	       ((f & UFFS_REC_IN_USE) != 0) == ext_in_use;
}

/* Side rows kept, in (owner, arrival) order. */
struct kept {
	uint32_t *row;
	uint32_t n;
};

/* Stable sort of row numbers by owner without global state: insertion
 * sort for the usual handful of rows, merge sort otherwise. */
static void sort_rows(uint32_t *rows, uint32_t n, const uint32_t *owner,
		      uint32_t *tmp)
{
	if (n < 2)
		return;
	if (n <= 32) {
		for (uint32_t i = 1; i < n; i++) {
			uint32_t x = rows[i], j = i;
			while (j > 0 && owner[rows[j - 1]] > owner[x]) {
				rows[j] = rows[j - 1];
				j--;
			}
			rows[j] = x;
		}
		return;
	}
	uint32_t h = n / 2;
	sort_rows(rows, h, owner, tmp);
	sort_rows(rows + h, n - h, owner, tmp);
	uint32_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = owner[rows[j]] < owner[rows[i]] ? rows[j++] : rows[i++];
	while (i < h)
		tmp[k++] = rows[i++];
	while (j < n)
		tmp[k++] = rows[j++];
	memcpy(rows, tmp, n * sizeof *rows);
}

#define MOVE_ROWS(t, field, to, from, count, per)                              \
	do {                                                                   \
		if ((t)->field)                                                \
			memmove((t)->field + (size_t)(to) * (per),             \
				(t)->field + (size_t)(from) * (per),           \
				(size_t)(count) * (per) * sizeof *(t)->field); \
	} while (0)
#define PUT_ROW(t, s, field, to, from, per)                                    \
	do {                                                                   \
		if ((t)->field)                                                \
			memcpy((t)->field + (size_t)(to) * (per),              \
			       (s)->field + (size_t)(from) * (per),            \
			       (per) * sizeof *(t)->field);                    \
	} while (0)

static void move_links(struct uffs_links *t, uint32_t to, uint32_t from,
		       uint32_t n)
{
#define X(field, per) MOVE_ROWS(t, field, to, from, n, per);
	LINK_COLUMNS(X)
#undef X
}

static void put_link(struct uffs_links *t, uint32_t to,
		     const struct uffs_links *s, uint32_t from)
{
#define X(field, per) PUT_ROW(t, s, field, to, from, per);
	LINK_COLUMNS(X)
#undef X
}

static void move_streams(struct uffs_streams *t, uint32_t to, uint32_t from,
			 uint32_t n)
{
#define X(field, per) MOVE_ROWS(t, field, to, from, n, per);
	STREAM_COLUMNS(X)
#undef X
}

static void put_stream(struct uffs_streams *t, uint32_t to,
		       const struct uffs_streams *s, uint32_t from)
{
#define X(field, per) PUT_ROW(t, s, field, to, from, per);
	STREAM_COLUMNS(X)
#undef X
}

#undef MOVE_ROWS
#undef PUT_ROW

/* Merges kept side rows (sorted by owner) into the main table, each after
 * its owner's rows: from the back, one memmove per stretch of records
 * between two owners, so the table is moved at most once. */
#define MERGE_SIDE(idx, main, side, kept, START_AFTER, move_fn, put_fn)        \
	do {                                                                   \
		uint32_t old_end = (main)->n;                                  \
		uint32_t dst = (main)->n + (kept).n;                           \
		for (uint32_t k = (kept).n; k > 0;) {                          \
			uint32_t owner = (side)->owner[(kept).row[k - 1]];     \
			uint32_t start = START_AFTER(owner, old_end);          \
			uint32_t len = old_end - start;                        \
			dst -= len;                                            \
			move_fn((main), dst, start, len);                      \
			old_end = start;                                       \
			while (k > 0 && (side)->owner[(kept).row[k - 1]] == owner) { \
				put_fn((main), --dst, (side), (kept).row[k - 1]); \
				k--;                                           \
			}                                                      \
		}                                                              \
		(main)->n += (kept).n;                                         \
	} while (0)

/* Links: each record's first row moves down by the kept side rows of the
 * records before it. Done a run of records at a time (the records up to
 * the next owner move by the same count), not one owner test per record:
 * the test was most of a million-record index's finishing time. */
static void shift_link_starts(struct uffs_index *idx, const struct kept *kl)
{
	const uint32_t *owner = idx->side_links.owner;
	uint64_t r = 0, end = idx->n_records + 1;
	for (uint32_t k = 0; k < kl->n;) {
		uint64_t o = owner[kl->row[k]];
		while (k < kl->n && owner[kl->row[k]] == o)
			k++;
		/* Records after o, up to the next owner, move by k. */
		if (r < o + 1)
			r = o + 1;
		uint64_t stop = k < kl->n ? (uint64_t)owner[kl->row[k]] + 1 : end;
		if (stop > end)
			stop = end;
		for (; r < stop; r++)
			idx->link_first[r] += k;
	}
}

static int keep_valid_links(struct uffs_index *idx, struct kept *kept,
			    struct mft_error *err)
{
	struct uffs_links *s = &idx->side_links;
	kept->row = malloc(((size_t)s->n + 1) * 2 * sizeof *kept->row);
	if (!kept->row)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	kept->n = 0;
	for (uint32_t i = 0; i < s->n; i++)
		if (side_row_valid(idx, s->flags[i], s->owner[i], s->exp_seq[i]))
			kept->row[kept->n++] = i;
	sort_rows(kept->row, kept->n, s->owner, kept->row + s->n);
	return MFT_OK;
}

static int keep_valid_streams(struct uffs_index *idx, struct kept *kept,
			      struct mft_error *err)
{
	struct uffs_streams *s = &idx->side_streams;
	kept->row = malloc(((size_t)s->n + 1) * 2 * sizeof *kept->row);
	if (!kept->row)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	kept->n = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		uint32_t o = s->owner[i];
		if (!side_row_valid(idx, s->flags[i], o, s->exp_seq[i]))
			continue;
		/* An unnamed $DATA from an extension record is the file's
		 * data when its base record has none. */
		if (s->kind[i] == MFT_STREAM_DATA && !s->name_len[i] &&
		    !(idx->rflags[o] & UFFS_REC_HAS_DATA)) {
			set_record_data(idx, o, s->size[i], s->alloc[i],
					s->attr_id[i], s->flags[i]);
			continue;
		}
		kept->row[kept->n++] = i;
	}
	sort_rows(kept->row, kept->n, s->owner, kept->row + s->n);
	return MFT_OK;
}

/* Puts kept side links into the rows reserved for them at the end of their
 * owner's rows, in arrival order, and takes them off the kept list; the
 * rest are merged as before, after the filled rows. Returns how many it
 * placed. */
static uint32_t fill_reserved_links(struct uffs_index *idx, struct kept *kl)
{
	struct uffs_links *t = &idx->links;
	const struct uffs_links *s = &idx->side_links;
	uint32_t placed = 0, left = 0;
	for (uint32_t k = 0; k < kl->n;) {
		uint32_t owner = s->owner[kl->row[k]];
		uint32_t end = idx->link_first[(uint64_t)owner + 1];
		uint32_t first = idx->link_first[owner], slot = end;
		while (slot > first && t->flags[slot - 1] & UFFS_LINK_RESERVED)
			slot--;
		for (; k < kl->n && s->owner[kl->row[k]] == owner; k++) {
			if (slot < end && t->flags[slot] & UFFS_LINK_RESERVED) {
				put_link(t, slot++, s, kl->row[k]);
				placed++;
			} else {
				kl->row[left++] = kl->row[k];
			}
		}
	}
	kl->n = left;
	return placed;
}

/* Drops reserved rows no side link filled (a list naming extension records
 * that are gone, or lying), moving later rows down and record starts with
 * them. */
static void drop_reserved_links(struct uffs_index *idx)
{
	struct uffs_links *t = &idx->links;
	uint32_t dropped = 0, i = 0;
	for (uint64_t r = 0; r <= idx->n_records; r++) {
		for (uint32_t first = idx->link_first[r]; i < first; i++)
			dropped += (t->flags[i] & UFFS_LINK_RESERVED) != 0;
		idx->link_first[r] -= dropped;
	}
	uint32_t to = 0;
	for (i = 0; i < t->n;) {
		if (t->flags[i] & UFFS_LINK_RESERVED) {
			i++;
			continue;
		}
		uint32_t run = i;
		while (run < t->n && !(t->flags[run] & UFFS_LINK_RESERVED))
			run++;
		if (to != i)
			move_links(t, to, i, run - i);
		to += run - i;
		i = run;
	}
	t->n = to;
}

static int merge_side_rows(struct uffs_index *idx, struct mft_error *err)
{
	struct kept kl = {0}, ks = {0};
	int rc = keep_valid_links(idx, &kl, err);
	if (idx->n_reserved) {
		/* Even when failing: an index never keeps empty rows. */
		uint32_t placed = rc == MFT_OK ? fill_reserved_links(idx, &kl) : 0;
		if (placed < idx->n_reserved)
			drop_reserved_links(idx);
		idx->n_reserved = 0;
	}
	if (rc == MFT_OK)
		rc = keep_valid_streams(idx, &ks, err);
	if (rc == MFT_OK && kl.n)
		rc = grow_links(idx->mem, &idx->links, idx->links.n + kl.n,
				idx->keep_fn_times, false, !idx->names_only, err);
	if (rc == MFT_OK && ks.n)
		rc = grow_streams(idx->mem, &idx->streams, idx->streams.n + ks.n, false,
				  err);
#define LINKS_AFTER(o, end) (idx->link_first[(o) + 1])
#define STREAMS_AFTER(o, end) streams_after(&idx->streams, (end), (o))
	if (rc == MFT_OK) {
		if (kl.n) {
			MERGE_SIDE(idx, &idx->links, &idx->side_links, kl,
				   LINKS_AFTER, move_links, put_link);
			shift_link_starts(idx, &kl);
		}
		if (ks.n) {
			MERGE_SIDE(idx, &idx->streams, &idx->side_streams, ks,
				   STREAMS_AFTER, move_streams, put_stream);
			for (uint32_t k = 0; k < ks.n; k++)
				idx->rflags[idx->side_streams.owner[ks.row[k]]] |=
					UFFS_REC_STREAMS;
		}
	}
#undef LINKS_AFTER
#undef STREAMS_AFTER
	free(kl.row);
	free(ks.row);
	free_links(idx->mem, &idx->side_links);
	free_streams(idx->mem, &idx->side_streams);
	return rc;
}

#undef MERGE_SIDE

static bool same_name(const struct uffs_index *idx, uint32_t a, uint32_t b)
{
	const struct uffs_links *l = &idx->links;
	return l->name_len[a] == l->name_len[b] &&
	       MFT_REF_FRS(l->parent[a]) == MFT_REF_FRS(l->parent[b]) &&
	       memcmp(idx->pool + l->name[a], idx->pool + l->name[b],
		      l->name_len[a]) == 0;
}

/* A DOS-only name is hidden when the file has a long name; a second
 * $FILE_NAME with the same parent and name is the same link. */
static void hide_redundant_links(struct uffs_index *idx, uint64_t r)
{
	struct uffs_links *l = &idx->links;
	bool has_long = false;
	UFFS_FOR_EACH_LINK(idx, r, i)
	has_long |= l->ns[i] != FN_NS_DOS;
	UFFS_FOR_EACH_LINK(idx, r, i)
	{
		if (has_long && l->ns[i] == FN_NS_DOS) {
			l->flags[i] |= UFFS_LINK_HIDDEN;
			continue;
		}
		for (uint32_t j = idx->link_first[r]; j < i; j++) {
			if (!(l->flags[j] & UFFS_LINK_HIDDEN) && same_name(idx, i, j)) {
				l->flags[i] |= UFFS_LINK_HIDDEN;
				break;
			}
		}
	}
}

/* Records with more than one name are few: eight records' counts are
 * tested at once (a loop the compiler turns into vector operations), and
 * only a block holding such a record is looked at one record at a time. */
static void hide_all_redundant_links(struct uffs_index *idx)
{
	const uint32_t *lf = idx->link_first;
	uint64_t n = idx->n_records, r = 0;
	for (; r + 8 <= n; r += 8) {
		unsigned many = 0;
		for (unsigned k = 0; k < 8; k++)
			many |= lf[r + k + 1] - lf[r + k] > 1;
		if (!many)
			continue;
		for (unsigned k = 0; k < 8; k++)
			if (lf[r + k + 1] - lf[r + k] > 1)
				hide_redundant_links(idx, r + k);
	}
	for (; r < n; r++)
		if (lf[r + 1] - lf[r] > 1)
			hide_redundant_links(idx, r);
}

int uffs_index_finish(struct uffs_index *idx, struct mft_error *err)
{
	fill_row_ranges(idx);
	int rc = merge_side_rows(idx, err);
	if (rc)
		return rc;
	hide_all_redundant_links(idx);
	idx->finished = true;
	return MFT_OK;
}

/* ---- queries ---------------------------------------------------------------------- */

bool uffs_index_primary_link(const struct uffs_index *idx, uint64_t frs,
			     uint32_t *link)
{
	if (frs >= idx->n_records)
		return false;
	UFFS_FOR_EACH_LINK(idx, frs, i)
	if (!(idx->links.flags[i] & UFFS_LINK_HIDDEN)) {
		*link = i;
		return true;
	}
	return false;
}

static bool find_extra(const struct uffs_index *idx, uint64_t frs, uint32_t *at)
{
	uint32_t lo = 0, hi = idx->extras.n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (idx->extras.frs[mid] < frs)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return lo < idx->extras.n && idx->extras.frs[lo] == frs;
}

uint32_t uffs_index_owner_id(const struct uffs_index *idx, uint64_t frs)
{
	uint32_t at;
	return find_extra(idx, frs, &at) ? idx->extras.owner_id[at] : 0;
}

uint32_t uffs_index_reparse_tag(const struct uffs_index *idx, uint64_t frs)
{
	uint32_t at;
	return find_extra(idx, frs, &at) ? idx->extras.reparse_tag[at] : 0;
}

bool uffs_index_stream_is_main(const struct uffs_index *idx, uint32_t s)
{
	if (idx->streams.kind[s] == MFT_STREAM_DATA)
		return idx->streams.name_len[s] == 0;
	return idx->streams.name_len[s] == 4 &&
	       memcmp(idx->pool + idx->streams.name[s], "$I30", 4) == 0;
}
