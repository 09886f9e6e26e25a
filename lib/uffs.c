/* The public API (include/uffs.h) over the scan engine and the index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/uffs.h"
#include "../mft/match.h"
#include "../mft/ntfs_format.h"
#include "../mft/upcase.h"
#include "../mft/path.h"
#include "../scan/load.h"

struct uffs_db {
	struct uffs_loaded l;    /* source, volume, index and tree */
	const uint16_t *upcase;  /* the volume's, the saved or the built-in */
	uint16_t *upcase_default;
	char root[8];            /* "/", or "C:\" */
	char sep;
};

/* A search's matching state: per iterator, as matchers fold into their
 * own scratch space. */
struct search {
	struct uffs_matcher m;
	struct uffs_matcher last; /* the pattern's last component, if any */
	bool has_last, path;
	bool base_matched; /* the current name matched: so do its streams */
	char *text;
	size_t cap;
};

struct uffs_iter {
	const uffs_db *db;
	struct search *search;
	unsigned flags;
	uint64_t r;     /* record */
	uint32_t link;  /* next link row of r */
	uint32_t stream; /* next stream row of the current link, or NONE */
	bool in_link;
	struct uffs_entry base; /* the current name's own entry */
};

#define NO_STREAM UINT32_MAX

void uffs_db_options_init(struct uffs_db_options *o)
{
	memset(o, 0, sizeof *o);
	o->offset = -1;
}

static void on_warning(void *ctx, const char *text)
{
	const struct uffs_db_options *o = ctx;
	if (o->warning)
		o->warning(o->ctx, text);
}

static void on_progress(void *ctx, const struct uffs_progress *p)
{
	const struct uffs_db_options *o = ctx;
	struct uffs_db_progress q = {p->records_done, p->records_total,
				     p->bytes_done, p->bytes_total, p->seconds};
	o->progress(o->ctx, &q);
}

static int fail(char *err, size_t cap, int status, const char *source,
		const char *text)
{
	if (cap)
		snprintf(err, cap, "%s: %s", source, text);
	return status;
}

static int scan_options(const struct uffs_db_options *o,
			struct uffs_scan_opts *s, struct uffs_source_opts *so)
{
	*so = (struct uffs_source_opts)UFFS_SOURCE_OPTS_DEFAULT;
	*s = (struct uffs_scan_opts){0};
	if (o->mode) {
		int m = uffs_mode_parse(o->mode);
		if (m < 0)
			return -1;
		s->mode = (enum uffs_mode)m;
	}
	if (o->backend && !(s->backend = uaio_backend_by_name(o->backend)))
		return -1;
	if (o->threads > 64 || o->partition < 0 || o->vss_store < 0)
		return -1;
	s->threads = o->threads;
	s->skip_unused = !o->deleted;
	so->partition = o->partition;
	so->offset = o->offset;
	so->record_size = o->record_size;
	so->vss_store = o->vss_store;
	return 0;
}

int uffs_db_open(const char *source, const struct uffs_db_options *opts,
		 uffs_db **out, char *err, size_t err_cap)
{
	struct uffs_db_options defaults;
	uffs_db_options_init(&defaults);
	const struct uffs_db_options *o = opts ? opts : &defaults;
	*out = NULL;
	if (!source)
		return fail(err, err_cap, UFFS_ERR_USAGE, "(null)", "no source");
	struct uffs_load_opts lo = {
		.index = true,
		.upcase = true,
		.warning = on_warning,
		.progress = o->progress ? on_progress : NULL,
		.ctx = (void *)o,
	};
	if (scan_options(o, &lo.scan, &lo.src))
		return fail(err, err_cap, UFFS_ERR_USAGE, source,
			    "unknown mode or backend, or a bad option value");
	uffs_db *db = calloc(1, sizeof *db);
	if (!db)
		return fail(err, err_cap, UFFS_ERR_NOMEM, source, "out of memory");
	char why[512];
	int rc = uffs_load(&db->l, source, &lo, why, sizeof why);
	if (rc) {
		free(db);
		return fail(err, err_cap,
			    rc == MFT_E_NOMEM   ? UFFS_ERR_NOMEM
			    : rc == MFT_E_USAGE ? UFFS_ERR_USAGE
						: UFFS_ERR_SOURCE,
			    source, why);
	}
	/* Names fold through the volume's own $UpCase, as NTFS compares
	 * them; a source without a usable one, through the built-in table. */
	db->upcase = db->l.upcase;
	if (!db->upcase) {
		db->upcase_default = malloc(UFFS_UPCASE_BYTES);
		if (!db->upcase_default) {
			uffs_db_close(db);
			return fail(err, err_cap, UFFS_ERR_NOMEM, source,
				    "out of memory");
		}
		uffs_upcase_default(db->upcase_default);
		db->upcase = db->upcase_default;
	}
	const char *drive = db->l.src.file.volume_prefix;
	db->sep = drive[0] ? '\\' : '/';
	snprintf(db->root, sizeof db->root, "%s%c", drive, db->sep);
	*out = db;
	return UFFS_OK;
}

void uffs_db_close(uffs_db *db)
{
	if (!db)
		return;
	uffs_unload(&db->l);
	free(db->upcase_default);
	free(db);
}

uint64_t uffs_db_records(const uffs_db *db)
{
	return db->l.idx.n_records;
}

uint64_t uffs_db_warnings(const uffs_db *db)
{
	return db->l.warnings;
}

/* ---- entries ------------------------------------------------------------- */

uffs_iter *uffs_iter_new(const uffs_db *db, unsigned flags)
{
	uffs_iter *it = calloc(1, sizeof *it);
	if (it) {
		it->db = db;
		it->flags = flags;
	}
	return it;
}

static void search_free(struct search *s)
{
	if (!s)
		return;
	uffs_matcher_free(&s->m);
	if (s->has_last)
		uffs_matcher_free(&s->last);
	free(s->text);
	free(s);
}

void uffs_iter_free(uffs_iter *it)
{
	if (it)
		search_free(it->search);
	free(it);
}

static bool record_listed(const uffs_iter *it, uint64_t r)
{
	uint16_t f = it->db->l.idx.rflags[r];
	if (!(f & UFFS_REC_PRESENT) || r == MFT_FRS_ROOT)
		return false;
	return (f & UFFS_REC_IN_USE) || (it->flags & UFFS_ITER_DELETED);
}

static void fill_name_entry(const uffs_iter *it, uint64_t r, uint32_t link,
			    struct uffs_entry *e)
{
	const struct uffs_index *idx = &it->db->l.idx;
	uint16_t f = idx->rflags[r];
	const uint64_t *t = &idx->times[4 * r];
	memset(e, 0, sizeof *e);
	e->frs = r;
	e->sequence = idx->seq[r];
	e->parent_frs = MFT_REF_FRS(idx->links.parent[link]);
	e->name = idx->pool + idx->links.name[link];
	e->name_len = idx->links.name_len[link];
	e->stream = "";
	e->created = t[MFT_T_CREATED];
	e->modified = t[MFT_T_MODIFIED];
	e->mft_changed = t[MFT_T_CHANGED];
	e->accessed = t[MFT_T_ACCESSED];
	e->attributes = idx->fattrs[r];
	e->link_ = link;
	if (f & UFFS_REC_HAS_DATA) {
		e->size = idx->data_size[r];
		e->allocated = idx->data_alloc[r];
	}
	UFFS_FOR_EACH_LINK(idx, r, i)
	e->links += !(idx->links.flags[i] & UFFS_LINK_HIDDEN);
	UFFS_FOR_EACH_STREAM(idx, r, s)
	{
		if (uffs_index_stream_is_main(idx, s)) {
			e->size = idx->streams.size[s];
			e->allocated = idx->streams.alloc[s];
		} else if (idx->streams.kind[s] == MFT_STREAM_DATA) {
			e->streams++;
		}
	}
	e->flags = (f & UFFS_REC_DIR ? UFFS_ENTRY_DIR : 0) |
		   (f & UFFS_REC_IN_USE ? 0 : UFFS_ENTRY_DELETED) |
		   (f & UFFS_REC_REPARSE ? UFFS_ENTRY_REPARSE : 0) |
		   (uffs_tree_listed_in(&it->db->l.tree, r, link) ==
				    UFFS_TREE_ORPHANS
			    ? UFFS_ENTRY_ORPHAN
			    : 0);
}

/* The next named stream row of the current name, as an entry. */
static bool next_stream(uffs_iter *it, struct uffs_entry *e)
{
	const struct uffs_index *idx = &it->db->l.idx;
	uint64_t r = it->r;
	if (!(it->flags & UFFS_ITER_STREAMS) ||
	    !(idx->rflags[r] & UFFS_REC_STREAMS))
		return false;
	if (it->stream == NO_STREAM)
		it->stream = uffs_index_streams_begin(idx, r);
	while (it->stream < idx->streams.n && idx->streams.owner[it->stream] == r) {
		uint32_t s = it->stream++;
		/* Alternate data streams; named index roots ($Quota:$O,
		 * $Secure:$SDH) are the file system's own indexes. */
		if (uffs_index_stream_is_main(idx, s) ||
		    idx->streams.kind[s] != MFT_STREAM_DATA)
			continue;
		*e = it->base;
		e->stream = idx->pool + idx->streams.name[s];
		e->stream_len = idx->streams.name_len[s];
		e->size = idx->streams.size[s];
		e->allocated = idx->streams.alloc[s];
		return true;
	}
	return false;
}

static int next_entry(uffs_iter *it, struct uffs_entry *e)
{
	const struct uffs_index *idx = &it->db->l.idx;
	for (;;) {
		if (it->in_link) {
			if (next_stream(it, e))
				return 1;
			it->in_link = false;
			it->link++;
		}
		if (it->r >= idx->n_records)
			return 0;
		if (!record_listed(it, it->r) || it->link >= idx->link_first[it->r + 1]) {
			it->r++;
			if (it->r < idx->n_records)
				it->link = idx->link_first[it->r];
			continue;
		}
		if (it->link < idx->link_first[it->r])
			it->link = idx->link_first[it->r];
		uint32_t l = it->link;
		if (idx->links.flags[l] & UFFS_LINK_HIDDEN) {
			it->link++;
			continue;
		}
		fill_name_entry(it, it->r, l, &it->base);
		it->in_link = true;
		it->stream = NO_STREAM;
		*e = it->base;
		return 1;
	}
}

/* ---- search ---------------------------------------------------------------- */

static void text_add(struct search *s, size_t *n, const char *p, size_t len)
{
	if (*n + len <= s->cap) {
		memcpy(s->text + *n, p, len);
		*n += len;
	} else {
		*n = s->cap + 1; /* too long: matches nothing */
	}
}

/* The text an entry is matched on: its name, or its path from the root
 * with '/' between components (on every platform), then ":stream". */
static bool entry_text(const uffs_iter *it, const struct uffs_entry *e,
		       bool path, size_t *len)
{
	struct search *s = it->search;
	size_t n = 0;
	if (path) {
		s->text[0] = '/';
		size_t k = uffs_link_path(&it->db->l.tree, e->frs, e->link_, '/',
					  s->text + 1, s->cap - 1);
		if (k == 0)
			return false;
		n = 1 + k;
	} else {
		text_add(s, &n, e->name, e->name_len);
	}
	if (e->stream_len) {
		text_add(s, &n, ":", 1);
		text_add(s, &n, e->stream, e->stream_len);
	}
	*len = n;
	return n <= s->cap;
}

/* A name matches by its name or path; a stream when its file does, or
 * by name:stream (as uffs search decides). */
static bool entry_matches(const uffs_iter *it, const struct uffs_entry *e)
{
	struct search *s = it->search;
	if (e->stream_len && s->base_matched)
		return true;
	size_t n;
	bool m;
	if (!s->path) {
		m = entry_text(it, e, false, &n) &&
		    uffs_matcher_match(&s->m, s->text, n);
	} else if (s->has_last && (!entry_text(it, e, false, &n) ||
				   !uffs_matcher_match(&s->last, s->text, n))) {
		m = false; /* paths are built only for names that can end one */
	} else {
		m = entry_text(it, e, true, &n) &&
		    uffs_matcher_match(&s->m, s->text, n);
	}
	if (!e->stream_len)
		s->base_matched = m;
	return m;
}

int uffs_iter_next(uffs_iter *it, struct uffs_entry *e)
{
	while (next_entry(it, e))
		if (!it->search || entry_matches(it, e))
			return 1;
	return 0;
}

uffs_iter *uffs_search_new(const uffs_db *db, const char *pattern,
			   unsigned search_flags, unsigned iter_flags,
			   char *err, size_t err_cap)
{
	uffs_iter *it = uffs_iter_new(db, iter_flags);
	struct search *s = it ? calloc(1, sizeof *s) : NULL;
	if (!s) {
		free(it);
		fail(err, err_cap, UFFS_ERR_NOMEM, "search", "out of memory");
		return NULL;
	}
	it->search = s;
	s->cap = 256u * 1024;
	s->text = malloc(s->cap);
	if (!pattern)
		pattern = "";
	s->path = (search_flags & UFFS_SEARCH_PATH) || strchr(pattern, '/');
	const uint16_t *upcase = search_flags & UFFS_SEARCH_CASE ? NULL
								 : db->upcase;
	enum uffs_match_syntax syn = search_flags & UFFS_SEARCH_CONTAINS
					     ? UFFS_MATCH_CONTAINS
					     : UFFS_MATCH_GLOB;
	char msg[256] = "out of memory";
	bool ok = s->text && uffs_matcher_init(&s->m, pattern, syn, upcase,
					       s->path, '/', msg,
					       sizeof msg) == 0;
	if (ok && s->path && syn == UFFS_MATCH_GLOB) {
		char last[1024];
		bool has = false;
		ok = uffs_matcher_last_component(pattern, last, sizeof last,
						 &has) == 0 &&
		     (!has || uffs_matcher_init(&s->last, last, UFFS_MATCH_GLOB,
						upcase, false, '/', msg,
						sizeof msg) == 0);
		s->has_last = ok && has;
	}
	if (!ok) {
		if (s->text)
			fail(err, err_cap, UFFS_ERR_USAGE, pattern, msg);
		else
			fail(err, err_cap, UFFS_ERR_NOMEM, "search", msg);
		uffs_iter_free(it);
		return NULL;
	}
	return it;
}

/* The path of a name without the root, into buf (cap bytes): its length,
 * or 0 when it does not fit. */
static size_t name_path(const uffs_db *db, const struct uffs_entry *e,
			char *buf, size_t cap)
{
	return uffs_link_path(&db->l.tree, e->frs, e->link_, db->sep, buf, cap);
}

size_t uffs_entry_path(const uffs_db *db, const struct uffs_entry *e,
		       char *buf, size_t cap)
{
	size_t rl = strlen(db->root);
	size_t extra = e->stream_len ? 1 + e->stream_len : 0;
	size_t n = cap > rl ? name_path(db, e, buf + rl, cap - rl) : 0;
	if (n == 0) {
		/* Too long for buf: measure it in a buffer that always fits. */
		size_t big = 256u * 1024;
		char *tmp = malloc(big);
		n = tmp ? name_path(db, e, tmp, big) : 0;
		free(tmp);
		if (cap)
			buf[0] = '\0';
		return rl + n + extra;
	}
	if (rl + n + extra >= cap) {
		buf[0] = '\0';
		return rl + n + extra;
	}
	memcpy(buf, db->root, rl);
	if (e->stream_len) {
		buf[rl + n] = ':';
		memcpy(buf + rl + n + 1, e->stream, e->stream_len);
	}
	buf[rl + n + extra] = '\0';
	return rl + n + extra;
}
