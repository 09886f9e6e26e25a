/* The public API (include/uffs.h) over the scan engine and the index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/uffs.h"
#include "../mft/ntfs_format.h"
#include "../mft/upcase.h"
#include "../mft/path.h"
#include "../mft/query.h"
#include "../scan/load.h"
#include "../scan/save.h"
#include "internal.h"

struct uffs_db {
	struct uffs_loaded l;    /* source, volume, index and tree */
	const uint16_t *upcase;  /* the volume's, the saved or the built-in */
	uint16_t *upcase_default;
	char root[8];            /* "/", or "C:\" */
	char sep;
};

struct uffs_iter {
	const uffs_db *db;
	struct uffs_query *q;
	uint64_t base_frs; /* whose name entry `base` is (UINT64_MAX: none) */
	uint32_t base_link;
	struct uffs_entry base;
};


void uffs_db_options_init(struct uffs_db_options *o)
{
	memset(o, 0, sizeof *o);
	o->offset = -1;
}

void uffs_lib_on_warning(void *ctx, const char *text)
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

int uffs_lib_fail(char *err, size_t cap, int status, const char *source,
		  const char *text)
{
	if (cap)
		snprintf(err, cap, "%s: %s", source, text);
	return status;
}

int uffs_lib_options(const struct uffs_db_options *o, struct uffs_scan_opts *s,
		     struct uffs_source_opts *so)
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
		return uffs_lib_fail(err, err_cap, UFFS_ERR_USAGE, "(null)", "no source");
	struct uffs_load_opts lo = {
		.index = true,
		.upcase = true,
		.warning = uffs_lib_on_warning,
		.progress = o->progress ? on_progress : NULL,
		.ctx = (void *)o,
	};
	if (uffs_lib_options(o, &lo.scan, &lo.src))
		return uffs_lib_fail(err, err_cap, UFFS_ERR_USAGE, source,
			    "unknown mode or backend, or a bad option value");
	uffs_db *db = calloc(1, sizeof *db);
	if (!db)
		return uffs_lib_fail(err, err_cap, UFFS_ERR_NOMEM, source, "out of memory");
	char why[512];
	int rc = uffs_load(&db->l, source, &lo, why, sizeof why);
	if (rc) {
		free(db);
		return uffs_lib_fail(err, err_cap,
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
			return uffs_lib_fail(err, err_cap, UFFS_ERR_NOMEM, source,
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

static int status_of(int rc)
{
	return rc == MFT_E_NOMEM   ? UFFS_ERR_NOMEM
	       : rc == MFT_E_USAGE ? UFFS_ERR_USAGE
				   : UFFS_ERR_SOURCE;
}

int uffs_db_update_file(const char *index_path, const char *source,
			const struct uffs_db_options *opts, char *note,
			size_t note_cap, char *err, size_t err_cap)
{
	struct uffs_db_options defaults;
	uffs_db_options_init(&defaults);
	const struct uffs_db_options *o = opts ? opts : &defaults;
	if (note_cap)
		note[0] = '\0';
	if (!index_path || !source)
		return uffs_lib_fail(err, err_cap, UFFS_ERR_USAGE, "(null)",
			    "an index file and its source are needed");
	/* Everything goes in, as uffs index scans: deleted records and the
	 * $FILE_NAME times, and the volume's $UpCase. */
	struct uffs_load_opts lo = {
		.index = true,
		.upcase = true,
		.warning = uffs_lib_on_warning,
		.ctx = (void *)o,
	};
	if (uffs_lib_options(o, &lo.scan, &lo.src))
		return uffs_lib_fail(err, err_cap, UFFS_ERR_USAGE, source,
			    "unknown mode or backend, or a bad option value");
	lo.scan.skip_unused = false;
	lo.scan.keep_fn_times = true;
	struct uffs_update_result res;
	char why[600];
	int rc = uffs_update_file(index_path, source, index_path, &lo, &res, why,
				  sizeof why);
	if (rc)
		return uffs_lib_fail(err, err_cap, status_of(rc),
			    rc == MFT_E_USAGE ? index_path : source, why);
	if (note_cap && res.rescan_why[0])
		snprintf(note, note_cap, "rescanned: %s", res.rescan_why);
	else if (note_cap)
		snprintf(note, note_cap,
			 "updated from the change journal: %llu records since USN %llu, %llu MFT records read again",
			 (unsigned long long)res.records,
			 (unsigned long long)res.from_usn,
			 (unsigned long long)res.reread);
	return UFFS_OK;
}

int uffs_db_update(uffs_db **db, const char *source, char *note,
		   size_t note_cap, char *err, size_t err_cap)
{
	if (!db || !*db || !(*db)->l.saved)
		return uffs_lib_fail(err, err_cap, UFFS_ERR_USAGE, db && *db ? (*db)->l.src.path : "(null)",
			    "not opened from an index file (uffs index)");
	uffs_db *old = *db;
	char *path = strdup(old->l.src.path);
	char *from = strdup(source ? source : old->l.saved->source_path);
	if (!path || !from) {
		free(path);
		free(from);
		return uffs_lib_fail(err, err_cap, UFFS_ERR_NOMEM, old->l.src.path,
			    "out of memory");
	}
	/* Closed first: a mapped file cannot be replaced on Windows. */
	uffs_db_close(old);
	int rc = uffs_db_update_file(path, from, NULL, note, note_cap, err,
				     err_cap);
	char again[256];
	int reopened = uffs_db_open(path, NULL, db,
				    rc ? again : err, rc ? sizeof again : err_cap);
	free(path);
	free(from);
	return rc ? rc : reopened;
}

uint64_t uffs_db_records(const uffs_db *db)
{
	return db->l.idx.n_records;
}

uint64_t uffs_db_warnings(const uffs_db *db)
{
	return db->l.warnings;
}

/* ---- entries: the rows of a query (mft/query.c), as uffs search finds them */

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
	uint32_t main = uffs_row_main_stream(idx, r);
	struct uffs_row rw = {r, link, main, UFFS_ROW_NAME, true};
	uffs_row_sizes(idx, &rw, &e->size, &e->allocated);
	e->links = uffs_row_visible_links(idx, r);
	e->streams = uffs_row_named_streams(idx, r);
	e->flags = (f & UFFS_REC_DIR ? UFFS_ENTRY_DIR : 0) |
		   (f & UFFS_REC_IN_USE ? 0 : UFFS_ENTRY_DELETED) |
		   (f & UFFS_REC_REPARSE ? UFFS_ENTRY_REPARSE : 0) |
		   (uffs_tree_listed_in(&it->db->l.tree, r, link) ==
				    UFFS_TREE_ORPHANS
			    ? UFFS_ENTRY_ORPHAN
			    : 0);
}

static uffs_iter *iter_new(const uffs_db *db,
			   const struct uffs_query_opts *o, char *err,
			   size_t err_cap)
{
	uffs_iter *it = calloc(1, sizeof *it);
	char msg[256] = "out of memory";
	bool bad = false;
	if (it) {
		it->db = db;
		it->base_frs = UINT64_MAX;
		it->q = uffs_query_new(o, &db->l.idx, &db->l.tree, db->upcase,
				       &bad, msg, sizeof msg);
	}
	if (!it || !it->q) {
		if (bad)
			uffs_lib_fail(err, err_cap, UFFS_ERR_USAGE, o->pattern, msg);
		else
			uffs_lib_fail(err, err_cap, UFFS_ERR_NOMEM, "search", msg);
		free(it);
		return NULL;
	}
	return it;
}

static struct uffs_query_opts iter_opts(unsigned flags)
{
	return (struct uffs_query_opts){
		.syntax = UFFS_QUERY_ALL,
		.sep = '/',
		.streams = flags & UFFS_ITER_STREAMS,
		.deleted = flags & UFFS_ITER_DELETED,
		.limit = UINT64_MAX,
	};
}

uffs_iter *uffs_iter_new(const uffs_db *db, unsigned flags)
{
	struct uffs_query_opts o = iter_opts(flags);
	return iter_new(db, &o, NULL, 0);
}

void uffs_iter_free(uffs_iter *it)
{
	if (it)
		uffs_query_free(it->q);
	free(it);
}

/* Entries are names: a deleted record without one has no entry here (uffs
 * search shows it as /$OrphanFiles/OrphanFile-N). */
int uffs_iter_next(uffs_iter *it, struct uffs_entry *e)
{
	const struct uffs_index *idx = &it->db->l.idx;
	struct uffs_row rw;
	while (uffs_query_next(it->q, &rw)) {
		if (rw.kind != UFFS_ROW_NAME)
			continue;
		if (it->base_frs != rw.frs || it->base_link != rw.link) {
			fill_name_entry(it, rw.frs, rw.link, &it->base);
			it->base_frs = rw.frs;
			it->base_link = rw.link;
		}
		*e = it->base;
		if (uffs_row_has_stream_suffix(idx, rw.stream)) {
			e->stream = idx->pool + idx->streams.name[rw.stream];
			e->stream_len = idx->streams.name_len[rw.stream];
			uffs_row_sizes(idx, &rw, &e->size, &e->allocated);
		}
		return 1;
	}
	return 0;
}

uffs_iter *uffs_search_new(const uffs_db *db, const char *pattern,
			   unsigned search_flags, unsigned iter_flags,
			   char *err, size_t err_cap)
{
	struct uffs_query_opts o = iter_opts(iter_flags);
	o.pattern = pattern ? pattern : "";
	o.syntax = search_flags & UFFS_SEARCH_CONTAINS ? UFFS_QUERY_CONTAINS
						       : UFFS_QUERY_GLOB;
	o.exact_case = search_flags & UFFS_SEARCH_CASE;
	o.path = (search_flags & UFFS_SEARCH_PATH) || strchr(o.pattern, '/');
	return iter_new(db, &o, err, err_cap);
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
