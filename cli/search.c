/* uffs search PATTERN SOURCE...: the rows of uffs list whose name (or
 * path) matches, filtered, then sorted, limited or counted. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../mft/match.h"
#include "../mft/ntfs_format.h"
#include "../mft/upcase.h"
#include "filter.h"
#include "regex.h"
#include "rows.h"

enum syntax { SYN_GLOB, SYN_CONTAINS, SYN_REGEX };

struct search_opts {
	const char *pattern;
	enum syntax syntax;
	bool exact_case;
	bool path;
	bool streams;
	bool deleted;
	bool count;
	bool sort;
	bool sort_desc;
	enum column sort_col;
	uint64_t limit;
	char type; /* 0, 'f' or 'd' */
	const char *ext;
	struct filter_range size, created, modified, accessed;
	uint32_t attr_set, attr_clear;
};

/* A matching row kept for sorting. */
struct hit {
	struct row rw;
	uint64_t key;
	size_t str_off; /* text key in the arena, then a pointer */
	const char *str;
	uint32_t str_len;
	uint32_t order;
};

struct searcher {
	struct search_opts o;
	struct rows rows;
	uint16_t *builtin_upcase;
	int n_sources;
	/* per source */
	const struct uffs_loaded *l;
	struct uffs_matcher m;    /* the pattern (unless --regex) */
	struct uffs_matcher last; /* path mode: what the name must match */
	bool has_last;
	struct uffs_matcher *ext;
	size_t n_ext;
	struct cli_regex *re;
	char *text; /* "name:stream", "/path", "OrphanFile-N" */
	size_t text_len;
	uint64_t n_match, n_emitted, names_tested;
	bool stop;
	bool oom;
	bool failed; /* a source's pattern or memory failed: exit 1 */
	bool record_filters; /* type, attributes or times */
	bool verbose;
	struct hit *hits;
	size_t n_hits, hits_cap;
	char *arena;
	size_t arena_len, arena_cap;
};

#define TEXT_CAP (ROWS_PATH_CAP + 1024)

/* ---- the text a row is matched by ---- */

static void text_put(struct searcher *s, const char *p, size_t n)
{
	if (n > TEXT_CAP - s->text_len)
		n = TEXT_CAP - s->text_len;
	memcpy(s->text + s->text_len, p, n);
	s->text_len += n;
}

static void text_put_stream(struct searcher *s, uint32_t stream)
{
	const struct uffs_index *idx = &s->l->idx;
	if (!rows_has_stream_suffix(idx, stream))
		return;
	text_put(s, ":", 1);
	text_put(s, idx->pool + idx->streams.name[stream],
		 idx->streams.name_len[stream]);
}

static void text_put_unnamed(struct searcher *s, uint64_t frs)
{
	char buf[40];
	int n = snprintf(buf, sizeof buf, "OrphanFile-%" PRIu64, frs);
	text_put(s, buf, (size_t)n);
}

/* The row's name: the link's name, or OrphanFile-N; with :stream. */
static void text_name(struct searcher *s, const struct row *rw)
{
	const struct uffs_index *idx = &s->l->idx;
	s->text_len = 0;
	if (rw->kind == ROW_UNNAMED)
		text_put_unnamed(s, rw->frs);
	else
		text_put(s, idx->pool + idx->links.name[rw->link],
			 idx->links.name_len[rw->link]);
	text_put_stream(s, rw->stream);
}

/* The row's path from the root, separator first (no drive letter). */
static bool text_path(struct searcher *s, const struct row *rw)
{
	char sep = s->rows.cache.sep;
	s->text_len = 0;
	text_put(s, &sep, 1);
	if (rw->kind == ROW_UNNAMED) {
		text_put(s, UFFS_ORPHAN_DIR, strlen(UFFS_ORPHAN_DIR));
		text_put(s, &sep, 1);
		text_put_unnamed(s, rw->frs);
	} else {
		size_t n = uffs_link_path_cached(&s->l->tree, &s->rows.cache,
						 rw->frs, rw->link, s->text + 1,
						 ROWS_PATH_CAP);
		if (n == 0)
			return false;
		s->text_len += n;
	}
	text_put_stream(s, rw->stream);
	return true;
}

static bool pattern_matches(struct searcher *s, const char *t, size_t n)
{
	if (s->re)
		return cli_regex_match(s->re, t, n);
	return uffs_matcher_match(&s->m, t, n);
}

/* Whether the row's own name or path matches the pattern. */
static bool row_text_matches(struct searcher *s, const struct row *rw)
{
	const struct uffs_index *idx = &s->l->idx;
	bool plain = rw->kind == ROW_NAME &&
		     (rw->stream == STREAM_NONE ||
		      !rows_has_stream_suffix(idx, rw->stream));
	const char *t = plain ? idx->pool + idx->links.name[rw->link] : NULL;
	size_t n = plain ? idx->links.name_len[rw->link] : 0;
	if (!plain) {
		text_name(s, rw);
		t = s->text;
		n = s->text_len;
	}
	if (!s->o.path)
		return pattern_matches(s, t, n);
	/* Paths are built only for names that can end a match. */
	if (s->has_last && !uffs_matcher_match(&s->last, t, n))
		return false;
	return text_path(s, rw) && pattern_matches(s, s->text, s->text_len);
}

/* ---- filters ---- */

static bool ext_ok(struct searcher *s, const struct row *rw)
{
	if (!s->n_ext)
		return true;
	const struct uffs_index *idx = &s->l->idx;
	if (rw->kind != ROW_NAME)
		return false;
	const char *name = idx->pool + idx->links.name[rw->link];
	size_t n = idx->links.name_len[rw->link];
	for (size_t i = 0; i < s->n_ext; i++)
		if (uffs_matcher_match(&s->ext[i], name, n))
			return true;
	return false;
}

static bool record_ok(const struct searcher *s, uint64_t r)
{
	const struct uffs_index *idx = &s->l->idx;
	const struct search_opts *o = &s->o;
	bool dir = idx->rflags[r] & UFFS_REC_DIR;
	if ((o->type == 'f' && dir) || (o->type == 'd' && !dir))
		return false;
	uint32_t a = idx->fattrs[r];
	if ((a & o->attr_set) != o->attr_set || (a & o->attr_clear))
		return false;
	const uint64_t *t = &idx->times[4 * r];
	return filter_in(&o->created, t[MFT_T_CREATED]) &&
	       filter_in(&o->modified, t[MFT_T_MODIFIED]) &&
	       filter_in(&o->accessed, t[MFT_T_ACCESSED]);
}

static bool size_ok(const struct searcher *s, const struct row *rw)
{
	if (!s->o.size.on)
		return true;
	uint64_t size, alloc;
	rows_sizes(&s->l->idx, rw, &size, &alloc);
	return filter_in(&s->o.size, size);
}

/* ---- results ---- */

static void arena_put(struct searcher *s, const char *p, size_t n)
{
	if (s->arena_len + n > s->arena_cap) {
		size_t cap = s->arena_cap ? s->arena_cap : 1u << 16;
		while (cap < s->arena_len + n)
			cap *= 2;
		char *a = realloc(s->arena, cap);
		if (!a) {
			s->oom = true;
			return;
		}
		s->arena = a;
		s->arena_cap = cap;
	}
	memcpy(s->arena + s->arena_len, p, n);
	s->arena_len += n;
}

static uint64_t numeric_key(const struct searcher *s, const struct row *rw)
{
	const struct uffs_index *idx = &s->l->idx;
	uint64_t r = rw->frs, size, alloc;
	const uint64_t *t = &idx->times[4 * r];
	switch (s->o.sort_col) {
	case COL_FRS:
		return r;
	case COL_SEQUENCE:
		return idx->seq[r];
	case COL_PARENT:
		return rw->kind == ROW_NAME ? MFT_REF_FRS(idx->links.parent[rw->link])
					    : MFT_FRS_ROOT;
	case COL_TYPE:
		return !(idx->rflags[r] & UFFS_REC_DIR); /* dir < file */
	case COL_DELETED:
		return !(idx->rflags[r] & UFFS_REC_IN_USE);
	case COL_SIZE:
	case COL_ALLOCATED:
		rows_sizes(idx, rw, &size, &alloc);
		return s->o.sort_col == COL_SIZE ? size : alloc;
	case COL_CREATED:
		return t[MFT_T_CREATED];
	case COL_MODIFIED:
		return t[MFT_T_MODIFIED];
	case COL_MFT_CHANGED:
		return t[MFT_T_CHANGED];
	case COL_ACCESSED:
		return t[MFT_T_ACCESSED];
	case COL_ATTRIBUTES:
		return idx->fattrs[r];
	case COL_LINKS:
		return rows_visible_links(idx, r);
	case COL_STREAMS:
		return rows_named_streams(idx, r);
	case COL_REPARSE:
		return uffs_index_reparse_tag(idx, r);
	default:
		return 0;
	}
}

static bool sort_by_text(enum column c)
{
	return c == COL_PATH || c == COL_NAME || c == COL_STREAM;
}

static void keep_hit(struct searcher *s, const struct row *rw)
{
	if (s->n_hits == s->hits_cap) {
		size_t cap = s->hits_cap ? s->hits_cap * 2 : 1024;
		struct hit *h = realloc(s->hits, cap * sizeof *h);
		if (!h) {
			s->oom = true;
			return;
		}
		s->hits = h;
		s->hits_cap = cap;
	}
	struct hit *h = &s->hits[s->n_hits];
	*h = (struct hit){.rw = *rw, .order = (uint32_t)s->n_hits};
	if (sort_by_text(s->o.sort_col)) {
		const struct uffs_index *idx = &s->l->idx;
		if (s->o.sort_col == COL_PATH) {
			if (!text_path(s, rw))
				s->text_len = 0;
		} else if (s->o.sort_col == COL_NAME) {
			text_name(s, rw);
		} else {
			s->text_len = 0;
			if (rows_has_stream_suffix(idx, rw->stream))
				text_put(s, idx->pool + idx->streams.name[rw->stream],
					 idx->streams.name_len[rw->stream]);
		}
		h->str_off = s->arena_len;
		h->str_len = (uint32_t)s->text_len;
		arena_put(s, s->text, s->text_len);
	} else {
		h->key = numeric_key(s, rw);
	}
	s->n_hits++;
}

static void take(struct searcher *s, const struct row *rw)
{
	s->n_match++;
	if (s->o.count)
		return;
	if (s->o.sort) {
		keep_hit(s, rw);
		return;
	}
	rows_emit(&s->rows, rw);
	if (++s->n_emitted >= s->o.limit)
		s->stop = true;
}

/* ---- the scan over the index ---- */

static void search_name(struct searcher *s, struct row *rw)
{
	const struct uffs_index *idx = &s->l->idx;
	s->names_tested++;
	if (s->n_ext && !ext_ok(s, rw))
		return;
	bool hit = row_text_matches(s, rw);
	if (!hit && !s->o.streams)
		return;
	rw->stream = rows_main_stream(idx, rw->frs);
	if (hit && size_ok(s, rw))
		take(s, rw);
	if (!s->o.streams)
		return;
	/* A named stream is found by its file's name or by its own
	 * name:stream. */
	rw->first_of_link = false;
	UFFS_FOR_EACH_STREAM(idx, rw->frs, st)
	{
		if (s->stop || idx->streams.kind[st] != MFT_STREAM_DATA ||
		    !rows_has_stream_suffix(idx, st))
			continue;
		rw->stream = st;
		if ((hit || row_text_matches(s, rw)) && size_ok(s, rw))
			take(s, rw);
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

/* The links search_names_only would test: the visible ones of the records
 * that pass its flags. */
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

/* search_names_only for a substring, the other way round: from the
 * needle's places in the pool to the links whose names hold it, then to
 * their records, in the same order. Only for needles of two bytes or
 * more, without --deleted (no unnamed rows to test), record filters or
 * --limit (the count of names tested would stop early). Returns false
 * when it does not apply. */
static bool search_links_by_pool(struct searcher *s, uint16_t need,
				 bool want_stream)
{
	const struct uffs_index *idx = &s->l->idx;
	/* One byte stands in most names (an E in 63% of the benchmark's):
	 * most links would be visited anyway, after two extra passes. */
	if (s->m.needle_len < 2 || s->o.deleted || s->record_filters ||
	    s->o.limit != UINT64_MAX ||
	    idx->n_records == 0 || idx->link_first[idx->n_records] > idx->links.n)
		return false;
	struct uffs_link_scan ls;
	if (uffs_link_scan_init(&ls, &s->m, idx->pool, idx->pool_len,
				idx->links.name, idx->links.name_len,
				idx->link_first[idx->n_records]))
		return false;
	uint64_t r = 0;
	for (size_t i; !s->stop && (i = uffs_link_scan_next(&ls)) != SIZE_MAX;) {
		if (idx->links.flags[i] & UFFS_LINK_HIDDEN)
			continue;
		r = record_of_link(idx, r, (uint32_t)i);
		if ((idx->rflags[r] & need) != need || r == MFT_FRS_ROOT)
			continue;
		struct row rw = {r, (uint32_t)i,
				 want_stream ? rows_main_stream(idx, r) : STREAM_NONE,
				 ROW_NAME, true};
		if (size_ok(s, &rw))
			take(s, &rw);
	}
	s->names_tested += names_to_test(idx, need);
	return true;
}

/* The common case, names only (no path, regex, extension or streams), in
 * one tight loop. */
static void search_names_only(struct searcher *s)
{
	const struct uffs_index *idx = &s->l->idx;
	const uint16_t *rflags = idx->rflags;
	const uint8_t *lflags = idx->links.flags;
	const uint32_t *name = idx->links.name;
	const uint16_t *name_len = idx->links.name_len;
	uint16_t need = UFFS_REC_PRESENT | (s->o.deleted ? 0 : UFFS_REC_IN_USE);
	uint64_t tested = 0;
	/* With --count and no size filter the row's stream is never read. */
	bool want_stream = !s->o.count || s->o.size.on;
	if (search_links_by_pool(s, need, want_stream))
		return;
	/* A substring is looked for in one pass over the name pool (the
	 * links come in the pool's order); names it cannot tell about alone
	 * go through the matcher. */
	struct uffs_name_scan scan;
	bool scanning = !uffs_name_scan_init(&scan, &s->m, idx->pool,
					     idx->pool_len);
	for (uint64_t r = 0; r < idx->n_records && !s->stop; r++) {
		uint16_t f = rflags[r];
		if ((f & need) != need || r == MFT_FRS_ROOT)
			continue;
		if (s->record_filters && !record_ok(s, r))
			continue;
		if (!(f & UFFS_REC_IN_USE) && (f & UFFS_REC_USED) &&
		    !rows_has_visible_link(idx, r)) {
			struct row rw = {r, 0, STREAM_NONE, ROW_UNNAMED, false};
			search_name(s, &rw);
			continue;
		}
		for (uint32_t i = idx->link_first[r], end = idx->link_first[r + 1];
		     i < end; i++) {
			if (lflags[i] & UFFS_LINK_HIDDEN)
				continue;
			tested++;
			enum uffs_scan_verdict v =
				scanning ? uffs_name_scan_next(&scan, name[i],
							       name_len[i])
					 : UFFS_SCAN_ASK;
			if (v == UFFS_SCAN_NO ||
			    (v == UFFS_SCAN_ASK &&
			     !uffs_matcher_match(&s->m, idx->pool + name[i],
						 name_len[i])))
				continue;
			struct row rw = {r, i,
					 want_stream ? rows_main_stream(idx, r)
						     : STREAM_NONE,
					 ROW_NAME, true};
			if (size_ok(s, &rw))
				take(s, &rw);
			if (s->stop)
				break;
		}
	}
	s->names_tested += tested;
}

static void search_index(struct searcher *s)
{
	if (!s->o.path && !s->re && !s->n_ext && !s->o.streams) {
		search_names_only(s);
		return;
	}
	const struct uffs_index *idx = &s->l->idx;
	for (uint64_t r = 0; r < idx->n_records && !s->stop; r++) {
		uint16_t f = idx->rflags[r];
		if (!(f & UFFS_REC_PRESENT) || r == MFT_FRS_ROOT)
			continue;
		if (!(f & UFFS_REC_IN_USE) && !s->o.deleted)
			continue;
		if (s->record_filters && !record_ok(s, r))
			continue;
		if (!(f & UFFS_REC_IN_USE) && (f & UFFS_REC_USED) &&
		    !rows_has_visible_link(idx, r)) {
			struct row rw = {r, 0, STREAM_NONE, ROW_UNNAMED, false};
			search_name(s, &rw);
			continue;
		}
		UFFS_FOR_EACH_LINK(idx, r, i)
		{
			if (idx->links.flags[i] & UFFS_LINK_HIDDEN || s->stop)
				continue;
			struct row rw = {r, i, STREAM_NONE, ROW_NAME, true};
			search_name(s, &rw);
		}
	}
}

/* ---- sorting ---- */

static int cmp_hits(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	int c = 0;
	if (x->str || y->str) {
		size_t n = x->str_len < y->str_len ? x->str_len : y->str_len;
		c = memcmp(x->str, y->str, n);
		if (!c)
			c = (x->str_len > y->str_len) - (x->str_len < y->str_len);
	} else {
		c = (x->key > y->key) - (x->key < y->key);
	}
	return c;
}

static int cmp_asc(const void *a, const void *b)
{
	int c = cmp_hits(a, b);
	const struct hit *x = a, *y = b;
	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int cmp_desc(const void *a, const void *b)
{
	int c = cmp_hits(b, a);
	const struct hit *x = a, *y = b;
	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static void emit_sorted(struct searcher *s)
{
	if (sort_by_text(s->o.sort_col))
		for (size_t i = 0; i < s->n_hits; i++)
			s->hits[i].str = s->arena + s->hits[i].str_off;
	qsort(s->hits, s->n_hits, sizeof *s->hits,
	      s->o.sort_desc ? cmp_desc : cmp_asc);
	for (size_t i = 0; i < s->n_hits && i < s->o.limit; i++)
		rows_emit(&s->rows, &s->hits[i].rw);
}

/* ---- per source ---- */

static void free_matchers(struct searcher *s)
{
	uffs_matcher_free(&s->m);
	uffs_matcher_free(&s->last);
	for (size_t i = 0; i < s->n_ext; i++)
		uffs_matcher_free(&s->ext[i]);
	free(s->ext);
	s->ext = NULL;
	s->n_ext = 0;
	s->has_last = false;
}

/* "txt,.md" -> one "*.txt" matcher each, glob characters escaped. */
static int compile_exts(struct searcher *s, const uint16_t *upcase,
			char *msg, size_t cap)
{
	const char *p = s->o.ext;
	size_t n_max = 1;
	for (const char *q = p; *q; q++)
		n_max += *q == ',';
	s->ext = calloc(n_max, sizeof *s->ext);
	char *glob = malloc(2 * strlen(p) + 3);
	if (!s->ext || !glob) {
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
		if (uffs_matcher_init(&s->ext[s->n_ext], glob, UFFS_MATCH_GLOB,
				      upcase, false, '/', msg, cap)) {
			free(glob);
			return -1;
		}
		s->n_ext++;
	}
	free(glob);
	return 0;
}

/* The pattern folds through this source's $UpCase (or the built-in
 * table): matchers are made per source. */
static int compile_for(struct searcher *s, const struct uffs_loaded *l, char *msg,
		       size_t cap)
{
	const uint16_t *upcase = NULL;
	if (!s->o.exact_case)
		upcase = l->upcase ? l->upcase : s->builtin_upcase;
	char sep = s->rows.cache.sep;
	if (s->o.ext && compile_exts(s, upcase, msg, cap))
		return -1;
	if (s->o.syntax == SYN_REGEX)
		return 0;
	enum uffs_match_syntax syn = s->o.syntax == SYN_CONTAINS
					     ? UFFS_MATCH_CONTAINS
					     : UFFS_MATCH_GLOB;
	if (uffs_matcher_init(&s->m, s->o.pattern, syn, upcase, s->o.path, sep,
			      msg, cap))
		return -1;
	if (s->o.path && syn == UFFS_MATCH_GLOB) {
		char last[1024];
		bool has;
		uffs_matcher_last_component(s->o.pattern, last, sizeof last, &has);
		if (has && uffs_matcher_init(&s->last, last, UFFS_MATCH_GLOB,
					     upcase, false, sep, msg, cap))
			return -1;
		s->has_last = has;
	}
	return 0;
}

static double clock_seconds(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_count(struct searcher *s, int nth)
{
	struct out *o = &s->rows.o;
	(void)nth;
	if (s->n_sources != 1) {
		out_str(o, s->l->src.path);
		out_char(o, ':');
	}
	out_u64(o, s->n_match);
	out_char(o, '\n');
}

/* CPU time of this thread as well as wall time: on a busy machine the
 * first is the matcher's speed. */
static void print_stats(const struct searcher *s, double wall, double cpu)
{
	const char *folding = s->o.exact_case		 ? "exact case"
			      : s->o.syntax == SYN_REGEX ? "PCRE2 caseless"
			      : s->l->upcase		 ? "the source's $UpCase"
							 : "the built-in $UpCase";
	fprintf(stderr,
		"uffs: %s: %" PRIu64 " names tested in %.3f ms (%.3f ms CPU: %.1f M names/s per core), %" PRIu64 " matches; case: %s\n",
		s->l->src.path, s->names_tested, wall * 1e3, cpu * 1e3,
		cpu > 0 ? (double)s->names_tested / cpu / 1e6 : 0.0,
		s->n_match, folding);
}

static void search_source(const struct uffs_loaded *l, int nth, void *ctx)
{
	struct searcher *s = ctx;
	char msg[256];
	rows_begin_source(&s->rows, l);
	s->l = l;
	s->n_match = s->n_emitted = s->names_tested = 0;
	s->n_hits = s->arena_len = 0;
	s->stop = s->o.limit == 0 && !s->o.count;
	if (compile_for(s, l, msg, sizeof msg)) {
		fprintf(stderr, "uffs search: %s: %s\n", s->o.pattern, msg);
		s->failed = true;
		free_matchers(s);
		return;
	}
	double t0 = clock_seconds(CLOCK_MONOTONIC);
	double c0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
	search_index(s);
	double cpu = clock_seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
	double wall = clock_seconds(CLOCK_MONOTONIC) - t0;
	if (s->o.sort)
		emit_sorted(s);
	if (s->o.count)
		print_count(s, nth);
	free_matchers(s);
	if (s->oom) {
		fputs("uffs search: out of memory\n", stderr);
		s->failed = true;
		s->oom = false;
	}
	if (s->verbose) {
		out_flush(&s->rows.o);
		fflush(stdout);
		print_stats(s, wall, cpu);
	}
}

/* ---- the command line ---- */

static const char search_help[] =
	"usage: uffs search [OPTIONS] PATTERN SOURCE...\n"
	"\n"
	"Print the files of each SOURCE whose name matches PATTERN: the rows of\n"
	"uffs list, one per hard link. Case is ignored as NTFS ignores it, through\n"
	"the volume's own $UpCase table (a built-in one for a captured $MFT).\n"
	"\n"
	"PATTERN is a glob: * any characters but '/', ** any characters, ? one\n"
	"character, [a-z] [!a-z] one of a set, \\ quotes the next character.\n"
	"It matches the whole name, or with --path (or when it holds a '/') the\n"
	"whole path; a path pattern not starting with '/' matches at any depth.\n"
	"\n"
	"  -E, --regex          PATTERN is a regular expression (PCRE2), found\n"
	"                       anywhere in the name or path\n"
	"  -F, --contains       PATTERN is a plain substring\n"
	"  -C, --case           exact case\n"
	"  -P, --path           match the whole path, not the name\n"
	"      --type f|d       files or directories only\n"
	"  -e, --ext LIST       names ending in .EXT, one of a comma list\n"
	"      --size RANGE     size in bytes: 100, 10M..1G, >1G, <4K, 1M..\n"
	"                       (K M G T binary)\n"
	"      --modified RANGE\n"
	"      --created RANGE\n"
	"      --accessed RANGE $STANDARD_INFORMATION times, UTC: 2024-05-01,\n"
	"                       2024-05-01T12:00:00, today, yesterday, 7d, 24h,\n"
	"                       30m, 2w (that long ago until now); ranges A..B,\n"
	"                       >A (after), <A (before)\n"
	"  -a, --attr LIST      attributes all set (hidden, system, readonly,\n"
	"                       archive, sparse, compressed, encrypted, reparse,\n"
	"                       temporary, offline); !NAME: clear\n"
	"  -s, --streams        also named streams (path:stream): those of a\n"
	"                       matching file, and those whose name:stream matches\n"
	"  -d, --deleted        also deleted records whose names survive\n"
	"      --sort COL[:desc] sort each source's results by a column (stable);\n"
	"                       -COL sorts descending\n"
	"  -n, --limit N        at most N results per source\n"
	"      --count          print the number of matches of each source\n"
	"  -0, --null           end each text row with NUL (for xargs -0)\n"
	"  -f, --format FMT     text (default), csv, tsv, jsonl, or bodyfile\n"
	"  -c, --columns LIST   columns (text: a table, sizes as 1.5K, 20M):\n"
	ROWS_COLUMNS_HELP
	"                       (default " ROWS_DEFAULT_COLUMNS ")\n"
	CLI_COMMON_HELP
	"\n"
	"Several sources are read at once; results come in argument order.\n";

enum search_option {
	OPT_S_TYPE = 512,
	OPT_S_SIZE,
	OPT_S_MODIFIED,
	OPT_S_CREATED,
	OPT_S_ACCESSED,
	OPT_S_SORT,
	OPT_S_COUNT,
};

static int parse_sort(struct search_opts *o, const char *arg)
{
	const char *name = arg;
	size_t n = strlen(arg);
	o->sort_desc = false;
	if (name[0] == '-') {
		o->sort_desc = true;
		name++;
		n--;
	}
	const char *colon = strchr(name, ':');
	if (colon) {
		if (!strcmp(colon, ":desc"))
			o->sort_desc = true;
		else if (strcmp(colon, ":asc"))
			return -1;
		n = (size_t)(colon - name);
	}
	for (int c = 0; c < COL_COUNT; c++)
		if (strlen(rows_column_names[c]) == n &&
		    !strncmp(rows_column_names[c], name, n)) {
			o->sort_col = (enum column)c;
			o->sort = true;
			return 0;
		}
	return -1;
}

static int bad_value(const char *opt, const char *arg)
{
	fprintf(stderr, "uffs search: invalid value '%s' for %s (see uffs search --help)\n",
		arg, opt);
	return -1;
}

static int search_option(struct search_opts *o, struct rows *rows, int opt,
			 const char *arg, const char **columns)
{
	int64_t now = (int64_t)time(NULL);
	char *end;
	switch (opt) {
	case 'E':
		o->syntax = SYN_REGEX;
		return 0;
	case 'F':
		o->syntax = SYN_CONTAINS;
		return 0;
	case 'C':
		o->exact_case = true;
		return 0;
	case 'P':
		o->path = true;
		return 0;
	case OPT_S_TYPE:
		if (strcmp(arg, "f") && strcmp(arg, "d"))
			return bad_value("--type", arg);
		o->type = arg[0];
		return 0;
	case 'e':
		o->ext = arg;
		return 0;
	case OPT_S_SIZE:
		return filter_parse_size(arg, &o->size) ? bad_value("--size", arg) : 0;
	case OPT_S_MODIFIED:
		return filter_parse_time(arg, now, &o->modified)
			       ? bad_value("--modified", arg) : 0;
	case OPT_S_CREATED:
		return filter_parse_time(arg, now, &o->created)
			       ? bad_value("--created", arg) : 0;
	case OPT_S_ACCESSED:
		return filter_parse_time(arg, now, &o->accessed)
			       ? bad_value("--accessed", arg) : 0;
	case 'a':
		return filter_parse_attrs(arg, &o->attr_set, &o->attr_clear)
			       ? bad_value("--attr", arg) : 0;
	case 's':
		o->streams = true;
		return 0;
	case 'd':
		o->deleted = true;
		return 0;
	case OPT_S_SORT:
		return parse_sort(o, arg) ? bad_value("--sort", arg) : 0;
	case 'n':
		o->limit = strtoull(arg, &end, 10);
		return *end || !*arg || arg[0] == '-' ? bad_value("--limit", arg) : 0;
	case OPT_S_COUNT:
		o->count = true;
		return 0;
	case '0':
		rows->end = '\0';
		return 0;
	case 'f':
		return rows_parse_format(rows, arg);
	case 'c':
		*columns = arg;
		return 0;
	default:
		fputs("try 'uffs search --help'\n", stderr);
		return -1;
	}
}

static int search_run(struct searcher *s, char **sources, int n,
		      struct cli_common *common)
{
	char msg[256];
	if (s->o.syntax != SYN_REGEX) {
		/* A bad pattern is a usage error, found before any source is
		 * read (the matchers proper are made per source). */
		struct uffs_matcher probe;
		if (uffs_matcher_init(&probe, s->o.pattern,
				      s->o.syntax == SYN_CONTAINS ? UFFS_MATCH_CONTAINS
								 : UFFS_MATCH_GLOB,
				      NULL, s->o.path, '/', msg, sizeof msg)) {
			fprintf(stderr, "uffs search: %s\n", msg);
			return UFFS_EXIT_USAGE;
		}
		uffs_matcher_free(&probe);
	} else {
		s->re = cli_regex_new(s->o.pattern, !s->o.exact_case, msg,
				      sizeof msg);
		if (!s->re) {
			fprintf(stderr, "uffs search: %s: %s\n", s->o.pattern, msg);
			return UFFS_EXIT_USAGE;
		}
	}
	s->n_sources = n;
	s->verbose = common->verbose;
	const struct search_opts *o = &s->o;
	s->record_filters = o->type || o->attr_set || o->attr_clear ||
			    o->created.on || o->modified.on || o->accessed.on;
	rows_header(&s->rows);
	int status = cli_for_each_source(sources, n, common, true,
					 search_source, s);
	if (s->failed && status != UFFS_EXIT_USAGE)
		status = UFFS_EXIT_ERROR;
	return status;
}

int cmd_search(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"regex", no_argument, 0, 'E'},
		{"contains", no_argument, 0, 'F'},
		{"case", no_argument, 0, 'C'},
		{"path", no_argument, 0, 'P'},
		{"type", required_argument, 0, OPT_S_TYPE},
		{"ext", required_argument, 0, 'e'},
		{"size", required_argument, 0, OPT_S_SIZE},
		{"modified", required_argument, 0, OPT_S_MODIFIED},
		{"created", required_argument, 0, OPT_S_CREATED},
		{"accessed", required_argument, 0, OPT_S_ACCESSED},
		{"attr", required_argument, 0, 'a'},
		{"streams", no_argument, 0, 's'},
		{"deleted", no_argument, 0, 'd'},
		{"sort", required_argument, 0, OPT_S_SORT},
		{"limit", required_argument, 0, 'n'},
		{"count", no_argument, 0, OPT_S_COUNT},
		{"null", no_argument, 0, '0'},
		{"format", required_argument, 0, 'f'},
		{"columns", required_argument, 0, 'c'},
		{"help", no_argument, 0, 'h'},
		CLI_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	struct cli_common common = CLI_COMMON_INIT;
	struct searcher s = {.rows.fmt = FMT_TEXT, .o.limit = UINT64_MAX};
	const char *columns = NULL;
	int opt;
	optind = 1;
	if (rows_init(&s.rows)) {
		fputs("uffs: out of memory\n", stderr);
		return UFFS_EXIT_ERROR;
	}
	int status = UFFS_EXIT_USAGE;
	while ((opt = getopt_long(argc, argv,
				  "EFCPe:a:sdn:0f:c:h" CLI_COMMON_SHORTOPTS,
				  longopts, NULL)) != -1) {
		int rc = cli_common_option(&common, opt, optarg);
		if (rc < 0)
			goto done;
		if (rc > 0)
			continue;
		if (opt == 'h') {
			fputs(search_help, stdout);
			status = UFFS_EXIT_OK;
			goto done;
		}
		if (search_option(&s.o, &s.rows, opt, optarg, &columns))
			goto done;
	}
	if (optind >= argc) {
		fputs("uffs search: no PATTERN given (try 'uffs search --help')\n", stderr);
		goto done;
	}
	s.o.pattern = argv[optind++];
	if (optind >= argc && !common.all) {
		fputs("uffs search: no SOURCE given (try 'uffs search --help')\n", stderr);
		goto done;
	}
	/* A '/' in a glob means a path. */
	if (s.o.syntax == SYN_GLOB && strchr(s.o.pattern, '/'))
		s.o.path = true;
	s.rows.text_columns = columns && s.rows.fmt == FMT_TEXT;
	if (rows_parse_columns(&s.rows, columns	    ? columns
					: common.vss_all ? ROWS_DEFAULT_COLUMNS_STORES
							 : ROWS_DEFAULT_COLUMNS))
		goto done;
	common.scan.skip_unused = !s.o.deleted;
	common.scan.keep_fn_times = s.rows.fmt == FMT_BODYFILE;
	common.want_upcase = !s.o.exact_case && s.o.syntax != SYN_REGEX;
	s.builtin_upcase = malloc(UFFS_UPCASE_BYTES);
	s.text = malloc(TEXT_CAP);
	if (!s.builtin_upcase || !s.text) {
		fputs("uffs: out of memory\n", stderr);
		status = UFFS_EXIT_ERROR;
		goto done;
	}
	uffs_upcase_default(s.builtin_upcase);
	status = search_run(&s, argv + optind, argc - optind, &common);
done:
	if (rows_finish(&s.rows)) {
		perror("uffs: writing output");
		status = UFFS_EXIT_ERROR;
	}
	cli_regex_free(s.re);
	free(s.builtin_upcase);
	free(s.hits);
	free(s.arena);
	free(s.text);
	return status;
}
