/* Searching a finished index (see query.h). The rows of one record are
 * found at a time and handed out one by one, so the faces pull rows at
 * their own pace; a sorted query finds every row first. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"
#include "ntfs_format.h"
#include "query.h"
#include "regex.h"
#include "upcase.h"

#define TEXT_CAP (256u * 1024 + 1024)
#define PATH_CAP (256u * 1024)

/* A matching row kept for sorting. */
struct hit {
	struct uffs_row rw;
	uint64_t key;
	size_t str_off; /* text key in the arena, then a pointer */
	const char *str;
	uint32_t str_len;
	uint32_t order;
};

enum walk { WALK_POOL, WALK_NAMES, WALK_RECORDS };

struct uffs_query {
	struct uffs_query_opts o;
	char *pattern, *ext_list; /* the options' strings, owned */
	uint16_t *builtin_upcase; /* when the source has no $UpCase */
	const struct uffs_index *idx;
	const struct uffs_tree *tree;
	struct uffs_path_cache cache;
	struct uffs_matcher m;    /* the pattern (glob, substring) */
	struct uffs_matcher last; /* path mode: what the name must match */
	bool has_m, has_last;
	struct uffs_matcher *ext;
	size_t n_ext;
	struct uffs_regex *re;
	char *text; /* "name:stream", "/path", "OrphanFile-N" */
	size_t text_len;
	bool record_filters; /* type, attributes or times */
	uint64_t n_match, names_tested, emitted;
	bool oom;
	/* the walk */
	enum walk walk;
	uint16_t need; /* record flags a listed record has */
	bool want_stream;
	uint64_t r;
	struct uffs_link_scan ls;
	struct uffs_name_scan ns;
	bool ns_on;
	/* rows found and not yet handed out */
	struct uffs_row *pend;
	size_t n_pend, pend_at, pend_cap;
	/* sorting */
	bool sorted;
	struct hit *hits;
	size_t n_hits, hits_cap, hit_at;
	char *arena;
	size_t arena_len, arena_cap;
};

/* ---- the text a row is matched by ---- */

static void text_put(struct uffs_query *q, const char *p, size_t n)
{
	if (n > TEXT_CAP - q->text_len)
		n = TEXT_CAP - q->text_len;
	memcpy(q->text + q->text_len, p, n);
	q->text_len += n;
}

static void text_put_stream(struct uffs_query *q, uint32_t stream)
{
	const struct uffs_index *idx = q->idx;
	if (!uffs_row_has_stream_suffix(idx, stream))
		return;
	text_put(q, ":", 1);
	text_put(q, idx->pool + idx->streams.name[stream],
		 idx->streams.name_len[stream]);
}

static void text_put_unnamed(struct uffs_query *q, uint64_t frs)
{
	char buf[40];
	int n = snprintf(buf, sizeof buf, "OrphanFile-%" PRIu64, frs);
	text_put(q, buf, (size_t)n);
}

/* The row's name: the link's name, or OrphanFile-N; with :stream. */
static void text_name(struct uffs_query *q, const struct uffs_row *rw)
{
	const struct uffs_index *idx = q->idx;
	q->text_len = 0;
	if (rw->kind == UFFS_ROW_UNNAMED)
		text_put_unnamed(q, rw->frs);
	else
		text_put(q, idx->pool + idx->links.name[rw->link],
			 idx->links.name_len[rw->link]);
	text_put_stream(q, rw->stream);
}

/* The row's path from the root, separator first (no drive letter). */
static bool text_path(struct uffs_query *q, const struct uffs_row *rw)
{
	char sep = q->o.sep;
	q->text_len = 0;
	text_put(q, &sep, 1);
	if (rw->kind == UFFS_ROW_UNNAMED) {
		text_put(q, UFFS_ORPHAN_DIR, strlen(UFFS_ORPHAN_DIR));
		text_put(q, &sep, 1);
		text_put_unnamed(q, rw->frs);
	} else {
		size_t n = uffs_link_path_cached(q->tree, &q->cache, rw->frs,
						 rw->link, q->text + 1, PATH_CAP);
		if (n == 0)
			return false;
		q->text_len += n;
	}
	text_put_stream(q, rw->stream);
	return true;
}

static bool pattern_matches(struct uffs_query *q, const char *t, size_t n)
{
	if (q->re)
		return uffs_regex_match(q->re, t, n);
	return !q->has_m || uffs_matcher_match(&q->m, t, n);
}

/* Whether the row's own name or path matches the pattern. */
static bool row_text_matches(struct uffs_query *q, const struct uffs_row *rw)
{
	const struct uffs_index *idx = q->idx;
	if (q->o.syntax == UFFS_QUERY_ALL)
		return true;
	bool plain = rw->kind == UFFS_ROW_NAME &&
		     (rw->stream == UFFS_STREAM_NONE ||
		      !uffs_row_has_stream_suffix(idx, rw->stream));
	const char *t = plain ? idx->pool + idx->links.name[rw->link] : NULL;
	size_t n = plain ? idx->links.name_len[rw->link] : 0;
	if (!plain) {
		text_name(q, rw);
		t = q->text;
		n = q->text_len;
	}
	if (!q->o.path)
		return pattern_matches(q, t, n);
	/* Paths are built only for names that can end a match. */
	if (q->has_last && !uffs_matcher_match(&q->last, t, n))
		return false;
	return text_path(q, rw) && pattern_matches(q, q->text, q->text_len);
}

/* ---- filters ---- */

static bool ext_ok(struct uffs_query *q, const struct uffs_row *rw)
{
	const struct uffs_index *idx = q->idx;
	if (rw->kind != UFFS_ROW_NAME)
		return false;
	const char *name = idx->pool + idx->links.name[rw->link];
	size_t n = idx->links.name_len[rw->link];
	for (size_t i = 0; i < q->n_ext; i++)
		if (uffs_matcher_match(&q->ext[i], name, n))
			return true;
	return false;
}

static bool record_ok(const struct uffs_query *q, uint64_t r)
{
	const struct uffs_index *idx = q->idx;
	const struct uffs_query_opts *o = &q->o;
	bool dir = idx->rflags[r] & UFFS_REC_DIR;
	if ((o->type == 'f' && dir) || (o->type == 'd' && !dir))
		return false;
	uint32_t a = idx->fattrs[r];
	if ((a & o->attr_set) != o->attr_set || (a & o->attr_clear))
		return false;
	const uint64_t *t = &idx->times[4 * r];
	return uffs_range_in(&o->created, t[MFT_T_CREATED]) &&
	       uffs_range_in(&o->modified, t[MFT_T_MODIFIED]) &&
	       uffs_range_in(&o->accessed, t[MFT_T_ACCESSED]);
}

static bool size_ok(const struct uffs_query *q, const struct uffs_row *rw)
{
	if (!q->o.size.on)
		return true;
	uint64_t size, alloc;
	uffs_row_sizes(q->idx, rw, &size, &alloc);
	return uffs_range_in(&q->o.size, size);
}

/* ---- results ---- */

static void *grow(void *p, size_t *cap, size_t need, size_t size, bool *oom)
{
	if (need <= *cap)
		return p;
	size_t c = *cap ? *cap : 1024;
	while (c < need)
		c *= 2;
	void *n = realloc(p, c * size);
	if (!n) {
		*oom = true;
		return NULL;
	}
	*cap = c;
	return n;
}

static void arena_put(struct uffs_query *q, const char *p, size_t n)
{
	char *a = grow(q->arena, &q->arena_cap, q->arena_len + n, 1, &q->oom);
	if (!a)
		return;
	q->arena = a;
	memcpy(q->arena + q->arena_len, p, n);
	q->arena_len += n;
}

static uint64_t numeric_key(const struct uffs_query *q,
			    const struct uffs_row *rw)
{
	const struct uffs_index *idx = q->idx;
	uint64_t r = rw->frs, size, alloc;
	const uint64_t *t = &idx->times[4 * r];
	switch (q->o.sort) {
	case UFFS_KEY_FRS:
		return r;
	case UFFS_KEY_SEQUENCE:
		return idx->seq[r];
	case UFFS_KEY_PARENT:
		return rw->kind == UFFS_ROW_NAME
			       ? MFT_REF_FRS(idx->links.parent[rw->link])
			       : MFT_FRS_ROOT;
	case UFFS_KEY_TYPE:
		return !(idx->rflags[r] & UFFS_REC_DIR); /* dir < file */
	case UFFS_KEY_DELETED:
		return !(idx->rflags[r] & UFFS_REC_IN_USE);
	case UFFS_KEY_SIZE:
	case UFFS_KEY_ALLOCATED:
		uffs_row_sizes(idx, rw, &size, &alloc);
		return q->o.sort == UFFS_KEY_SIZE ? size : alloc;
	case UFFS_KEY_CREATED:
		return t[MFT_T_CREATED];
	case UFFS_KEY_MODIFIED:
		return t[MFT_T_MODIFIED];
	case UFFS_KEY_MFT_CHANGED:
		return t[MFT_T_CHANGED];
	case UFFS_KEY_ACCESSED:
		return t[MFT_T_ACCESSED];
	case UFFS_KEY_ATTRIBUTES:
		return idx->fattrs[r];
	case UFFS_KEY_LINKS:
		return uffs_row_visible_links(idx, r);
	case UFFS_KEY_STREAMS:
		return uffs_row_named_streams(idx, r);
	case UFFS_KEY_REPARSE:
		return uffs_index_reparse_tag(idx, r);
	default:
		return 0;
	}
}

static bool sort_by_text(enum uffs_query_key k)
{
	return k == UFFS_KEY_PATH || k == UFFS_KEY_NAME || k == UFFS_KEY_STREAM;
}

static void keep_hit(struct uffs_query *q, const struct uffs_row *rw)
{
	struct hit *h = grow(q->hits, &q->hits_cap, q->n_hits + 1, sizeof *h,
			     &q->oom);
	if (!h)
		return;
	q->hits = h;
	h = &q->hits[q->n_hits];
	*h = (struct hit){.rw = *rw, .order = (uint32_t)q->n_hits};
	if (sort_by_text(q->o.sort)) {
		const struct uffs_index *idx = q->idx;
		if (q->o.sort == UFFS_KEY_PATH) {
			if (!text_path(q, rw))
				q->text_len = 0;
		} else if (q->o.sort == UFFS_KEY_NAME) {
			text_name(q, rw);
		} else {
			q->text_len = 0;
			if (uffs_row_has_stream_suffix(idx, rw->stream))
				text_put(q, idx->pool + idx->streams.name[rw->stream],
					 idx->streams.name_len[rw->stream]);
		}
		h->str_off = q->arena_len;
		h->str_len = (uint32_t)q->text_len;
		arena_put(q, q->text, q->text_len);
	} else {
		h->key = numeric_key(q, rw);
	}
	q->n_hits++;
}

static void take(struct uffs_query *q, const struct uffs_row *rw)
{
	q->n_match++;
	if (q->o.count_only)
		return;
	if (q->o.sort != UFFS_KEY_NONE) {
		keep_hit(q, rw);
		return;
	}
	struct uffs_row *p = grow(q->pend, &q->pend_cap, q->n_pend + 1,
				  sizeof *p, &q->oom);
	if (!p)
		return;
	q->pend = p;
	q->pend[q->n_pend++] = *rw;
}

/* ---- the walk over the index ---- */

/* A name (or an unnamed record) and, with streams, its named streams: a
 * named stream is found by its file's name or by its own name:stream. */
static void search_name(struct uffs_query *q, struct uffs_row *rw)
{
	const struct uffs_index *idx = q->idx;
	q->names_tested++;
	if (q->n_ext && !ext_ok(q, rw))
		return;
	bool hit = row_text_matches(q, rw);
	if (!hit && !q->o.streams)
		return;
	rw->stream = uffs_row_main_stream(idx, rw->frs);
	if (hit && size_ok(q, rw))
		take(q, rw);
	if (!q->o.streams)
		return;
	rw->first_of_link = false;
	UFFS_FOR_EACH_STREAM(idx, rw->frs, st)
	{
		if (idx->streams.kind[st] != MFT_STREAM_DATA ||
		    !uffs_row_has_stream_suffix(idx, st))
			continue;
		rw->stream = st;
		if ((hit || row_text_matches(q, rw)) && size_ok(q, rw))
			take(q, rw);
	}
}

/* The record whose links hold link i, at or after r (links lie in record
 * order); gallops, since matches may be far apart. */
static uint64_t record_of_link(const struct uffs_index *idx, uint64_t r,
			       uint32_t i)
{
	const uint32_t *first = idx->link_first;
	uint64_t n = idx->n_records;
	if (first[r + 1] > i)
		return r;
	uint64_t lo = r + 1, hi = lo + 1; /* first[lo] <= i */
	for (uint64_t step = 1; hi < n && first[hi] <= i; step *= 2) {
		lo = hi;
		hi = n - lo > step ? lo + step : n;
	}
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (first[mid] <= i)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The links the names-only walk would test: the visible ones of the
 * records that pass its flags. */
static uint64_t names_to_test(const struct uffs_index *idx, uint16_t need)
{
	const uint8_t *lflags = idx->links.flags;
	uint64_t visible = 0;
	for (uint32_t i = idx->link_first[0]; i < idx->link_first[idx->n_records];
	     i++)
		visible += !(lflags[i] & UFFS_LINK_HIDDEN);
	for (uint64_t r = 0; r < idx->n_records; r++) {
		if ((idx->rflags[r] & need) == need && r != MFT_FRS_ROOT)
			continue;
		for (uint32_t i = idx->link_first[r]; i < idx->link_first[r + 1];
		     i++)
			visible -= !(lflags[i] & UFFS_LINK_HIDDEN);
	}
	return visible;
}

/* A substring found the other way round: from the needle's places in the
 * pool to the links whose names hold it, then to their records, in the
 * same order. Only for needles of two bytes or more (one byte stands in
 * most names: most links would be visited anyway, after two extra
 * passes), without deleted records (no unnamed rows to test), record
 * filters or a limit (the count of names tested would stop early). */
static bool pool_walk_applies(struct uffs_query *q)
{
	const struct uffs_index *idx = q->idx;
	if (!q->has_m || q->m.needle_len < 2 || q->o.deleted ||
	    q->record_filters || q->o.limit != UINT64_MAX ||
	    idx->n_records == 0 ||
	    idx->link_first[idx->n_records] > idx->links.n)
		return false;
	if (uffs_link_scan_init(&q->ls, &q->m, idx->pool, idx->pool_len,
				idx->links.name, idx->links.name_len,
				idx->link_first[idx->n_records]))
		return false;
	q->names_tested += names_to_test(idx, q->need);
	return true;
}

/* One step of the pool walk: the next link holding the needle. */
static bool step_pool(struct uffs_query *q)
{
	const struct uffs_index *idx = q->idx;
	size_t i;
	while ((i = uffs_link_scan_next(&q->ls)) != SIZE_MAX) {
		if (idx->links.flags[i] & UFFS_LINK_HIDDEN)
			continue;
		q->r = record_of_link(idx, q->r, (uint32_t)i);
		uint64_t r = q->r;
		if ((idx->rflags[r] & q->need) != q->need || r == MFT_FRS_ROOT)
			continue;
		struct uffs_row rw = {r, (uint32_t)i,
				      q->want_stream ? uffs_row_main_stream(idx, r)
						     : UFFS_STREAM_NONE,
				      UFFS_ROW_NAME, true};
		if (size_ok(q, &rw)) {
			take(q, &rw);
			return true;
		}
	}
	return false;
}

static void rows_of_record(struct uffs_query *q, uint64_t r)
{
	const struct uffs_index *idx = q->idx;
	UFFS_FOR_EACH_LINK(idx, r, i)
	{
		if (idx->links.flags[i] & UFFS_LINK_HIDDEN)
			continue;
		struct uffs_row rw = {r, i, UFFS_STREAM_NONE, UFFS_ROW_NAME, true};
		search_name(q, &rw);
	}
}

/* An unnamed deleted record: its row is /$OrphanFiles/OrphanFile-N. */
static bool unnamed(const struct uffs_index *idx, uint64_t r, uint16_t f)
{
	return !(f & UFFS_REC_IN_USE) && (f & UFFS_REC_USED) &&
	       !uffs_row_has_visible_link(idx, r);
}

/* The common case, names only (no path, regex, extension or streams), in
 * one tight loop with the index's columns and the name scan in locals,
 * from where it stopped until some rows are pending (counting or sorting:
 * to the end). False when it has ended. */
static bool step_names(struct uffs_query *q)
{
	const struct uffs_index *idx = q->idx;
	const uint16_t *rflags = idx->rflags;
	const uint32_t *link_first = idx->link_first;
	const uint8_t *lflags = idx->links.flags;
	const uint32_t *name = idx->links.name;
	const uint16_t *name_len = idx->links.name_len;
	const char *pool = idx->pool;
	struct uffs_matcher *m = &q->m;
	const uint16_t need = q->need;
	const bool filters = q->record_filters, want_stream = q->want_stream;
	const bool ns_on = q->ns_on, has_m = q->has_m;
	struct uffs_name_scan ns = q->ns;
	uint64_t tested = 0, n = idx->n_records, r = q->r;
	bool found = false;
	for (; r < n && !found; r++) {
		uint16_t f = rflags[r];
		if ((f & need) != need || r == MFT_FRS_ROOT)
			continue;
		if (filters && !record_ok(q, r))
			continue;
		if (unnamed(idx, r, f)) {
			struct uffs_row rw = {r, 0, UFFS_STREAM_NONE,
					      UFFS_ROW_UNNAMED, false};
			search_name(q, &rw);
			found = q->n_pend > 0 || q->oom;
			continue;
		}
		for (uint32_t i = link_first[r], end = link_first[r + 1]; i < end;
		     i++) {
			if (lflags[i] & UFFS_LINK_HIDDEN)
				continue;
			tested++;
			enum uffs_scan_verdict v =
				ns_on ? uffs_name_scan_next(&ns, name[i], name_len[i])
				: has_m ? UFFS_SCAN_ASK
					: UFFS_SCAN_YES;
			if (v == UFFS_SCAN_NO ||
			    (v == UFFS_SCAN_ASK &&
			     !uffs_matcher_match(m, pool + name[i], name_len[i])))
				continue;
			struct uffs_row rw = {r, i,
					      want_stream ? uffs_row_main_stream(idx, r)
							  : UFFS_STREAM_NONE,
					      UFFS_ROW_NAME, true};
			if (size_ok(q, &rw)) {
				take(q, &rw);
				found = q->n_pend > 0 || q->oom;
			}
		}
	}
	q->ns = ns;
	q->names_tested += tested;
	q->r = r;
	return found || r < n;
}

/* The record walk (paths, regex, extensions, streams), from where it
 * stopped until some rows are pending (counting or sorting: to the end).
 * False when it has ended. */
static bool step_record(struct uffs_query *q)
{
	const struct uffs_index *idx = q->idx;
	const uint16_t *rflags = idx->rflags;
	const uint16_t need = q->need;
	const bool filters = q->record_filters;
	uint64_t n = idx->n_records, r = q->r;
	bool found = false;
	for (; r < n && !found; r++) {
		uint16_t f = rflags[r];
		if ((f & need) != need || r == MFT_FRS_ROOT)
			continue;
		if (filters && !record_ok(q, r))
			continue;
		if (unnamed(idx, r, f)) {
			struct uffs_row rw = {r, 0, UFFS_STREAM_NONE,
					      UFFS_ROW_UNNAMED, false};
			search_name(q, &rw);
		} else {
			rows_of_record(q, r);
		}
		found = q->n_pend > 0 || q->oom;
	}
	q->r = r;
	return found || r < n;
}

/* One step of the walk in use. */
static bool step(struct uffs_query *q)
{
	switch (q->walk) {
	case WALK_POOL:
		return step_pool(q);
	case WALK_NAMES:
		return step_names(q);
	default:
		return step_record(q);
	}
}

/* Finds rows until some are pending or the walk ends. */
static bool refill(struct uffs_query *q)
{
	q->n_pend = q->pend_at = 0;
	while (q->n_pend == 0 && !q->oom)
		if (!step(q))
			return false;
	return q->n_pend > 0;
}

/* ---- sorting ---- */

static int cmp_hits(const struct hit *x, const struct hit *y)
{
	if (x->str || y->str) {
		size_t n = x->str_len < y->str_len ? x->str_len : y->str_len;
		int c = n ? memcmp(x->str, y->str, n) : 0;
		return c ? c : (x->str_len > y->str_len) - (x->str_len < y->str_len);
	}
	return (x->key > y->key) - (x->key < y->key);
}

static int cmp_asc(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	int c = cmp_hits(x, y);
	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int cmp_desc(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	int c = cmp_hits(y, x);
	return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* The whole walk at once: rows are counted or kept for sorting. */
static void walk_all(struct uffs_query *q)
{
	while (!q->oom && step(q))
		;
}

static void sort_all(struct uffs_query *q)
{
	walk_all(q);
	if (sort_by_text(q->o.sort))
		for (size_t i = 0; i < q->n_hits; i++)
			q->hits[i].str = q->arena + q->hits[i].str_off;
	if (q->n_hits)
		qsort(q->hits, q->n_hits, sizeof *q->hits,
		      q->o.sort_desc ? cmp_desc : cmp_asc);
	q->sorted = true;
}

bool uffs_query_next(struct uffs_query *q, struct uffs_row *row)
{
	if (q->emitted >= q->o.limit || q->oom)
		return false;
	if (q->o.count_only) {
		walk_all(q);
		return false;
	}
	if (q->o.sort != UFFS_KEY_NONE) {
		if (!q->sorted)
			sort_all(q);
		if (q->hit_at >= q->n_hits || q->oom)
			return false;
		*row = q->hits[q->hit_at++].rw;
	} else {
		if (q->pend_at == q->n_pend && !refill(q))
			return false;
		*row = q->pend[q->pend_at++];
	}
	q->emitted++;
	return true;
}

/* ---- compiling ---- */

/* "txt,.md" -> one "*.txt" matcher each, glob characters escaped. */
static int compile_exts(struct uffs_query *q, const uint16_t *upcase,
			char *msg, size_t cap)
{
	const char *p = q->ext_list;
	size_t n_max = 1;
	for (const char *s = p; *s; s++)
		n_max += *s == ',';
	q->ext = calloc(n_max, sizeof *q->ext);
	char *glob = malloc(2 * strlen(p) + 3);
	if (!q->ext || !glob) {
		free(glob);
		snprintf(msg, cap, "out of memory");
		return -1;
	}
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *e = p + (*p == '.');
		size_t en = n - (size_t)(e - p);
		size_t g = 0;
		glob[g++] = '*';
		glob[g++] = '.';
		for (size_t i = 0; i < en; i++) {
			if (strchr("*?[]\\", e[i]))
				glob[g++] = '\\';
			glob[g++] = e[i];
		}
		glob[g] = '\0';
		p += n + (p[n] == ',');
		if (en == 0)
			continue;
		if (uffs_matcher_init(&q->ext[q->n_ext], glob, UFFS_MATCH_GLOB,
				      upcase, false, '/', msg, cap)) {
			free(glob);
			return -1;
		}
		q->n_ext++;
	}
	free(glob);
	return 0;
}

/* The pattern: a regex, or a matcher (and in path mode the matcher of its
 * last component, which a name must pass before its path is built). */
static int compile_pattern(struct uffs_query *q, const uint16_t *upcase,
			   char *msg, size_t cap)
{
	const struct uffs_query_opts *o = &q->o;
	if (o->syntax == UFFS_QUERY_ALL)
		return 0;
	if (o->syntax == UFFS_QUERY_REGEX) {
		q->re = uffs_regex_new(q->pattern, !o->exact_case, msg, cap);
		return q->re ? 0 : -1;
	}
	enum uffs_match_syntax syn = o->syntax == UFFS_QUERY_CONTAINS
					     ? UFFS_MATCH_CONTAINS
					     : UFFS_MATCH_GLOB;
	if (uffs_matcher_init(&q->m, q->pattern, syn, upcase, o->path, o->sep,
			      msg, cap))
		return -1;
	q->has_m = true;
	if (o->path && syn == UFFS_MATCH_GLOB) {
		char last[1024];
		bool has = false;
		if (uffs_matcher_last_component(q->pattern, last, sizeof last,
						&has))
			return snprintf(msg, cap, "pattern too long"), -1;
		if (has && uffs_matcher_init(&q->last, last, UFFS_MATCH_GLOB,
					     upcase, false, o->sep, msg, cap))
			return -1;
		q->has_last = has;
	}
	return 0;
}

static char *copy_string(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *c = malloc(strlen(s) + 1);
	if (!c)
		*oom = true;
	else
		strcpy(c, s);
	return c;
}

/* Where the walk starts: the pool walk for a substring where it applies,
 * the tight names-only walk in the common case, else record by record. */
static void start_walk(struct uffs_query *q)
{
	const struct uffs_query_opts *o = &q->o;
	q->need = UFFS_REC_PRESENT | (o->deleted ? 0 : UFFS_REC_IN_USE);
	q->record_filters = o->type || o->attr_set || o->attr_clear ||
			    o->created.on || o->modified.on || o->accessed.on;
	/* Counting with no size filter never reads a row's stream. */
	q->want_stream = !o->count_only || o->size.on;
	bool names_only = !o->path && !q->re && !q->n_ext && !o->streams;
	if (!names_only) {
		q->walk = WALK_RECORDS;
	} else if (pool_walk_applies(q)) {
		q->walk = WALK_POOL;
	} else {
		q->walk = WALK_NAMES;
		q->ns_on = q->has_m &&
			   !uffs_name_scan_init(&q->ns, &q->m, q->idx->pool,
						q->idx->pool_len);
	}
}

struct uffs_query *uffs_query_new(const struct uffs_query_opts *o,
				  const struct uffs_index *idx,
				  const struct uffs_tree *tree,
				  const uint16_t *upcase, bool *bad_pattern,
				  char *msg, size_t msg_cap)
{
	*bad_pattern = false;
	struct uffs_query *q = calloc(1, sizeof *q);
	bool oom = !q;
	if (q) {
		q->o = *o;
		q->idx = idx;
		q->tree = tree;
		if (!q->o.sep)
			q->o.sep = '/';
		q->pattern = copy_string(o->pattern ? o->pattern : "", &oom);
		q->ext_list = copy_string(o->ext, &oom);
		q->text = malloc(TEXT_CAP);
		oom = oom || !q->text ||
		      uffs_path_cache_init(&q->cache, q->o.sep);
	}
	if (oom) {
		snprintf(msg, msg_cap, "out of memory");
		uffs_query_free(q);
		return NULL;
	}
	if (o->exact_case) {
		upcase = NULL;
	} else if (!upcase) {
		q->builtin_upcase = malloc(UFFS_UPCASE_BYTES);
		if (!q->builtin_upcase) {
			snprintf(msg, msg_cap, "out of memory");
			uffs_query_free(q);
			return NULL;
		}
		uffs_upcase_default(q->builtin_upcase);
		upcase = q->builtin_upcase;
	}
	if ((q->ext_list && compile_exts(q, upcase, msg, msg_cap)) ||
	    compile_pattern(q, upcase, msg, msg_cap)) {
		*bad_pattern = strcmp(msg, "out of memory") != 0;
		uffs_query_free(q);
		return NULL;
	}
	start_walk(q);
	return q;
}

bool uffs_query_failed(const struct uffs_query *q)
{
	return q->oom;
}

uint64_t uffs_query_matches(const struct uffs_query *q)
{
	return q->n_match;
}

uint64_t uffs_query_names_tested(const struct uffs_query *q)
{
	return q->names_tested;
}

void uffs_query_free(struct uffs_query *q)
{
	if (!q)
		return;
	if (q->has_m)
		uffs_matcher_free(&q->m);
	if (q->has_last)
		uffs_matcher_free(&q->last);
	for (size_t i = 0; i < q->n_ext; i++)
		uffs_matcher_free(&q->ext[i]);
	free(q->ext);
	uffs_regex_free(q->re);
	uffs_path_cache_free(&q->cache);
	free(q->pattern);
	free(q->ext_list);
	free(q->builtin_upcase);
	free(q->text);
	free(q->pend);
	free(q->hits);
	free(q->arena);
	free(q);
}

int uffs_query_check(const struct uffs_query_opts *o, char *msg,
		     size_t msg_cap)
{
	if (o->syntax == UFFS_QUERY_ALL)
		return 0;
	if (o->syntax == UFFS_QUERY_REGEX) {
		struct uffs_regex *re = uffs_regex_new(o->pattern, !o->exact_case,
						       msg, msg_cap);
		uffs_regex_free(re);
		return re ? 0 : -1;
	}
	struct uffs_matcher probe;
	if (uffs_matcher_init(&probe, o->pattern,
			      o->syntax == UFFS_QUERY_CONTAINS ? UFFS_MATCH_CONTAINS
							       : UFFS_MATCH_GLOB,
			      NULL, o->path, '/', msg, msg_cap))
		return -1;
	uffs_matcher_free(&probe);
	return 0;
}
