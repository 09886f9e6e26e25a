/* uffs list: one row per (link, stream), in record order. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/ntfs_format.h"
#include "cli.h"
#include "out.h"

enum format { FMT_TEXT, FMT_CSV, FMT_TSV, FMT_JSONL, FMT_BODYFILE };

#define COLUMNS(X)                                                             \
	X(PATH, "path")                                                        \
	X(NAME, "name")                                                        \
	X(STREAM, "stream")                                                    \
	X(FRS, "frs")                                                          \
	X(SEQUENCE, "sequence")                                                \
	X(PARENT, "parent")                                                    \
	X(TYPE, "type")                                                        \
	X(DELETED, "deleted")                                                  \
	X(SIZE, "size")                                                        \
	X(ALLOCATED, "allocated")                                              \
	X(CREATED, "created")                                                  \
	X(MODIFIED, "modified")                                                \
	X(MFT_CHANGED, "mft-changed")                                          \
	X(ACCESSED, "accessed")                                                \
	X(ATTRIBUTES, "attributes")                                            \
	X(LINKS, "links")                                                      \
	X(STREAMS, "streams")                                                  \
	X(REPARSE, "reparse-tag")

enum column {
#define COL_ENUM(id, name) COL_##id,
	COLUMNS(COL_ENUM)
#undef COL_ENUM
	COL_COUNT
};

static const char *const column_names[] = {
#define COL_NAME(id, name) name,
	COLUMNS(COL_NAME)
#undef COL_NAME
};

#define DEFAULT_COLUMNS                                                        \
	"path,frs,sequence,parent,type,deleted,size,allocated,created,"        \
	"modified,mft-changed,accessed,attributes"

#define PATH_CAP (256u * 1024)
#define MAX_COLUMNS 64

struct lister {
	struct out o;
	enum format fmt;
	bool deleted;
	enum column cols[MAX_COLUMNS];
	size_t n_cols;
	const struct loaded *l;
	char *path;
	size_t path_len;
	struct uffs_path_cache cache;
	char root[8]; /* "/", or "C:\" for a live Windows volume */
};

/* One output row: a name of a record, with one of its streams or none.
 * Two kinds have no name of their own: the virtual /$OrphanFiles directory
 * and unnamed deleted records (/$OrphanFiles/OrphanFile-N), both as The
 * Sleuth Kit lists them. */
enum row_kind { ROW_NAME, ROW_ORPHAN_DIR, ROW_UNNAMED };

struct row {
	uint64_t frs;
	uint32_t link;
	uint32_t stream; /* STREAM_NONE, STREAM_DATA or a stream row */
	enum row_kind kind;
	bool first_of_link;
};

/* Row stream values besides table rows: none (the bare name) and the
 * record's unnamed $DATA. */
#define STREAM_NONE UINT32_MAX
#define STREAM_DATA (UINT32_MAX - 1)

/* The stream that stands for the file itself: its unnamed $DATA, or a
 * directory's $I30 index, printed without a suffix. */
static bool stream_is_main(const struct uffs_index *idx, uint32_t s)
{
	if (s == STREAM_DATA)
		return true;
	if (idx->streams.kind[s] == MFT_STREAM_DATA)
		return idx->streams.name_len[s] == 0;
	return idx->streams.name_len[s] == 4 &&
	       memcmp(idx->pool + idx->streams.name[s], "$I30", 4) == 0;
}

static uint32_t count_visible_links(const struct uffs_index *idx, uint64_t r)
{
	uint32_t n = 0;
	UFFS_FOR_EACH_LINK(idx, r, i)
	n += !(idx->links.flags[i] & UFFS_LINK_HIDDEN);
	return n;
}

static uint32_t count_named_streams(const struct uffs_index *idx, uint64_t r)
{
	uint32_t n = 0;
	UFFS_FOR_EACH_STREAM(idx, r, i)
	n += !stream_is_main(idx, i) && idx->streams.kind[i] == MFT_STREAM_DATA;
	return n;
}

/* The size of a row: its stream's, or the unnamed $DATA's for a bare row. */
static void row_sizes(const struct uffs_index *idx, const struct row *rw,
		      uint64_t *size, uint64_t *alloc)
{
	*size = *alloc = 0;
	if (rw->stream == STREAM_DATA) {
		*size = idx->data_size[rw->frs];
		*alloc = idx->data_alloc[rw->frs];
	} else if (rw->stream != STREAM_NONE) {
		*size = idx->streams.size[rw->stream];
		*alloc = idx->streams.alloc[rw->stream];
	}
}

static bool has_stream_suffix(const struct uffs_index *idx, uint32_t s)
{
	return s != STREAM_NONE && !stream_is_main(idx, s) &&
	       idx->streams.name_len[s];
}

static void put_path(struct lister *ls, const struct row *rw,
		     enum out_escape esc, bool leading_slash);

/* The path of the row's name, without any stream suffix. */
static void put_name_path(struct lister *ls, const struct row *rw,
			  enum out_escape esc)
{
	struct row bare = *rw;
	bare.stream = STREAM_NONE;
	put_path(ls, &bare, esc, true);
}

static void put_path(struct lister *ls, const struct row *rw,
		     enum out_escape esc, bool leading_slash)
{
	const struct uffs_index *idx = &ls->l->idx;
	if (leading_slash)
		out_str(&ls->o, ls->root);
	if (rw->kind != ROW_NAME) {
		out_str(&ls->o, UFFS_ORPHAN_DIR);
		if (rw->kind == ROW_UNNAMED) {
			out_char(&ls->o, ls->cache.sep);
			out_str(&ls->o, "OrphanFile-");
			out_u64(&ls->o, rw->frs);
		}
		return;
	}
	out_name(&ls->o, ls->path, ls->path_len, esc);
	if (has_stream_suffix(idx, rw->stream)) {
		out_char(&ls->o, ':');
		out_name(&ls->o, idx->pool + idx->streams.name[rw->stream],
			 idx->streams.name_len[rw->stream], esc);
	}
}

static const char *row_type(const struct uffs_index *idx, const struct row *rw)
{
	if (rw->kind == ROW_ORPHAN_DIR)
		return "virtual";
	return idx->rflags[rw->frs] & UFFS_REC_DIR ? "dir" : "file";
}

/* Record columns of the virtual directory read as zero. */
static bool row_has_record(const struct row *rw)
{
	return rw->kind != ROW_ORPHAN_DIR;
}

static bool column_is_text(enum column c)
{
	switch (c) {
	case COL_PATH:
	case COL_NAME:
	case COL_STREAM:
	case COL_TYPE:
	case COL_CREATED:
	case COL_MODIFIED:
	case COL_MFT_CHANGED:
	case COL_ACCESSED:
	case COL_ATTRIBUTES:
	case COL_REPARSE:
		return true;
	default:
		return false;
	}
}

static void put_text_value(struct lister *ls, const struct row *rw,
			   enum column c, enum out_escape esc)
{
	const struct uffs_index *idx = &ls->l->idx;
	struct out *o = &ls->o;
	uint64_t size, alloc;
	static const uint64_t no_times[4];
	const uint64_t *t = row_has_record(rw) ? &idx->times[4 * rw->frs]
					       : no_times;
	if (!row_has_record(rw) && c != COL_PATH && c != COL_NAME &&
	    c != COL_TYPE && c != COL_FRS && c != COL_PARENT) {
		if (!column_is_text(c))
			out_char(o, '0');
		return;
	}
	switch (c) {
	case COL_PATH:
		put_path(ls, rw, esc, true);
		break;
	case COL_NAME:
		if (rw->kind == ROW_NAME)
			out_name(o, idx->pool + idx->links.name[rw->link],
				 idx->links.name_len[rw->link], esc);
		else if (rw->kind == ROW_ORPHAN_DIR)
			out_str(o, UFFS_ORPHAN_DIR);
		else {
			out_str(o, "OrphanFile-");
			out_u64(o, rw->frs);
		}
		break;
	case COL_STREAM:
		if (has_stream_suffix(idx, rw->stream))
			out_name(o, idx->pool + idx->streams.name[rw->stream],
				 idx->streams.name_len[rw->stream], esc);
		break;
	case COL_FRS:
		out_u64(o, rw->frs);
		break;
	case COL_SEQUENCE:
		out_u64(o, idx->seq[rw->frs]);
		break;
	case COL_PARENT:
		out_u64(o, rw->kind == ROW_NAME ? MFT_REF_FRS(idx->links.parent[rw->link])
						: MFT_FRS_ROOT);
		break;
	case COL_TYPE:
		out_str(o, row_type(idx, rw));
		break;
	case COL_DELETED:
		out_char(o, idx->rflags[rw->frs] & UFFS_REC_IN_USE ? '0' : '1');
		break;
	case COL_SIZE:
	case COL_ALLOCATED:
		row_sizes(idx, rw, &size, &alloc);
		out_u64(o, c == COL_SIZE ? size : alloc);
		break;
	case COL_CREATED:
		out_filetime_iso(o, t[MFT_T_CREATED]);
		break;
	case COL_MODIFIED:
		out_filetime_iso(o, t[MFT_T_MODIFIED]);
		break;
	case COL_MFT_CHANGED:
		out_filetime_iso(o, t[MFT_T_CHANGED]);
		break;
	case COL_ACCESSED:
		out_filetime_iso(o, t[MFT_T_ACCESSED]);
		break;
	case COL_ATTRIBUTES:
		out_hex32(o, idx->fattrs[rw->frs]);
		break;
	case COL_LINKS:
		out_u64(o, count_visible_links(idx, rw->frs));
		break;
	case COL_STREAMS:
		out_u64(o, count_named_streams(idx, rw->frs));
		break;
	case COL_REPARSE:
		out_hex32(o, uffs_index_reparse_tag(idx, rw->frs));
		break;
	case COL_COUNT:
		break;
	}
}

static void emit_delimited(struct lister *ls, const struct row *rw, char sep,
			   enum out_escape esc)
{
	for (size_t i = 0; i < ls->n_cols; i++) {
		if (i)
			out_char(&ls->o, sep);
		bool quote = esc == ESC_CSV && column_is_text(ls->cols[i]);
		if (quote)
			out_char(&ls->o, '"');
		put_text_value(ls, rw, ls->cols[i], esc);
		if (quote)
			out_char(&ls->o, '"');
	}
	out_char(&ls->o, '\n');
}

static void emit_jsonl(struct lister *ls, const struct row *rw)
{
	out_char(&ls->o, '{');
	for (size_t i = 0; i < ls->n_cols; i++) {
		enum column c = ls->cols[i];
		if (i)
			out_char(&ls->o, ',');
		out_char(&ls->o, '"');
		out_str(&ls->o, column_names[c]);
		out_bytes(&ls->o, "\":", 2);
		if (c == COL_DELETED) {
			bool del = row_has_record(rw) &&
				   !(ls->l->idx.rflags[rw->frs] & UFFS_REC_IN_USE);
			out_str(&ls->o, del ? "true" : "false");
			continue;
		}
		bool text = column_is_text(c);
		if (text)
			out_char(&ls->o, '"');
		put_text_value(ls, rw, c, ESC_JSON);
		if (text)
			out_char(&ls->o, '"');
	}
	out_bytes(&ls->o, "}\n", 2);
}

/* The Sleuth Kit's body file (fls -m): MD5|name|inode|mode|UID|GID|size|
 * atime|mtime|ctime|crtime, inode as record-type-id. */
/* Type of the name, then of the record, then permissions: read unless
 * read-only, write unless hidden, execute always (The Sleuth Kit's mapping
 * of DOS attributes). A deleted record's name is found through its parent
 * reference, not a directory index: The Sleuth Kit types such names '-'. */
static void put_mode(struct out *o, const struct uffs_index *idx, uint64_t r)
{
	uint16_t f = idx->rflags[r];
	char type = f & UFFS_REC_DIR ? 'd' : 'r';
	char perm[10] = "---------";
	out_char(o, f & UFFS_REC_IN_USE ? type : '-');
	out_char(o, '/');
	out_char(o, type);
	if (f & UFFS_REC_HAS_SI) {
		for (int i = 0; i < 3; i++) {
			if (!(idx->fattrs[r] & FILE_ATTR_READONLY))
				perm[3 * i] = 'r';
			if (!(idx->fattrs[r] & FILE_ATTR_HIDDEN))
				perm[3 * i + 1] = 'w';
			perm[3 * i + 2] = 'x';
		}
	}
	out_bytes(o, perm, 9);
}

static void put_unix_times(struct out *o, const uint64_t *t)
{
	static const int order[4] = {MFT_T_ACCESSED, MFT_T_MODIFIED,
				     MFT_T_CHANGED, MFT_T_CREATED};
	for (int i = 0; i < 4; i++) {
		out_char(o, '|');
		out_i64(o, filetime_to_unix(t[order[i]]));
	}
}

static void emit_bodyfile(struct lister *ls, const struct row *rw)
{
	const struct uffs_index *idx = &ls->l->idx;
	struct out *o = &ls->o;
	uint64_t r = rw->frs;
	if (rw->kind == ROW_ORPHAN_DIR) {
		out_str(o, "0|");
		out_str(o, ls->root);
		out_str(o, UFFS_ORPHAN_DIR "|");
		out_u64(o, r);
		out_str(o, "|V/V---------|0|0|0|0|0|0|0\n");
		return;
	}
	bool deleted = !(idx->rflags[r] & UFFS_REC_IN_USE);
	/* The $FILE_NAME line, once per name (with its first row). */
	if (rw->kind == ROW_NAME && rw->first_of_link) {
		out_str(o, "0|");
		put_name_path(ls, rw, ESC_DISPLAY);
		out_str(o, deleted ? " ($FILE_NAME) (deleted)|" : " ($FILE_NAME)|");
		out_u64(o, r);
		out_str(o, "-48-");
		out_u64(o, idx->links.attr_id[rw->link]);
		out_char(o, '|');
		put_mode(o, idx, r);
		out_char(o, '|');
		out_u64(o, uffs_index_owner_id(idx, r));
		out_str(o, "|0|");
		out_u64(o, idx->links.value_len[rw->link]);
		put_unix_times(o, &idx->links.times[4 * (size_t)rw->link]);
		out_char(o, '\n');
	}
	out_str(o, "0|");
	put_path(ls, rw, ESC_DISPLAY, true);
	if (deleted)
		out_str(o, " (deleted)");
	out_char(o, '|');
	out_u64(o, r);
	if (rw->stream == STREAM_DATA) {
		out_str(o, "-128-");
		out_u64(o, idx->data_id[r]);
	} else if (rw->stream != STREAM_NONE) {
		out_char(o, '-');
		out_u64(o, idx->streams.kind[rw->stream] == MFT_STREAM_DATA
				   ? AT_DATA
				   : AT_INDEX_ROOT);
		out_char(o, '-');
		out_u64(o, idx->streams.attr_id[rw->stream]);
	}
	out_char(o, '|');
	put_mode(o, idx, r);
	out_char(o, '|');
	out_u64(o, uffs_index_owner_id(idx, r));
	out_str(o, "|0|");
	uint64_t size, alloc;
	row_sizes(idx, rw, &size, &alloc);
	out_u64(o, size);
	put_unix_times(o, &idx->times[4 * r]);
	out_char(o, '\n');
}

static void emit_row(struct lister *ls, const struct row *rw)
{
	switch (ls->fmt) {
	case FMT_TEXT:
		put_path(ls, rw, ESC_DISPLAY, true);
		out_char(&ls->o, '\n');
		break;
	case FMT_CSV:
		emit_delimited(ls, rw, ',', ESC_CSV);
		break;
	case FMT_TSV:
		emit_delimited(ls, rw, '\t', ESC_TSV);
		break;
	case FMT_JSONL:
		emit_jsonl(ls, rw);
		break;
	case FMT_BODYFILE:
		emit_bodyfile(ls, rw);
		break;
	}
}

/* One row per $DATA and $INDEX_ROOT attribute of the row's record, or the
 * bare row when it has neither. */
static void emit_streams(struct lister *ls, struct row *rw)
{
	const struct uffs_index *idx = &ls->l->idx;
	bool printed = false;
	if (idx->rflags[rw->frs] & UFFS_REC_HAS_DATA) {
		rw->stream = STREAM_DATA;
		emit_row(ls, rw);
		rw->first_of_link = false;
		printed = true;
	}
	UFFS_FOR_EACH_STREAM(idx, rw->frs, s)
	{
		rw->stream = s;
		emit_row(ls, rw);
		rw->first_of_link = false;
		printed = true;
	}
	if (!printed) {
		rw->stream = STREAM_NONE;
		emit_row(ls, rw);
	}
}

/* The rows of one name, as The Sleuth Kit forms them: one per $DATA and per
 * $INDEX_ROOT attribute, or the bare name when the file has neither. */
static void emit_link(struct lister *ls, uint64_t r, uint32_t link)
{
	size_t n = uffs_link_path_cached(&ls->l->tree, &ls->cache, r, link,
					 ls->path, PATH_CAP);
	if (n == 0)
		return;
	ls->path_len = n;
	struct row rw = {r, link, STREAM_NONE, ROW_NAME, true};
	emit_streams(ls, &rw);
}

static bool has_visible_link(const struct uffs_index *idx, uint64_t r)
{
	uint32_t link;
	return uffs_index_primary_link(idx, r, &link);
}

/* A deleted record with attributes but no name is still a file that was:
 * listed as /$OrphanFiles/OrphanFile-N. */
static void emit_unnamed(struct lister *ls, uint64_t r)
{
	struct row rw = {r, 0, STREAM_NONE, ROW_UNNAMED, false};
	emit_streams(ls, &rw);
}

static void list_index(struct lister *ls)
{
	const struct uffs_index *idx = &ls->l->idx;
	struct row orphans = {idx->n_records, 0, STREAM_NONE, ROW_ORPHAN_DIR, false};
	emit_row(ls, &orphans);
	for (uint64_t r = 0; r < idx->n_records; r++) {
		uint16_t f = idx->rflags[r];
		if (!(f & UFFS_REC_PRESENT) || r == MFT_FRS_ROOT)
			continue;
		if (!(f & UFFS_REC_IN_USE) && !ls->deleted)
			continue;
		if (!(f & UFFS_REC_IN_USE) && (f & UFFS_REC_USED) &&
		    !has_visible_link(idx, r)) {
			emit_unnamed(ls, r);
			continue;
		}
		UFFS_FOR_EACH_LINK(idx, r, i)
		if (!(idx->links.flags[i] & UFFS_LINK_HIDDEN))
			emit_link(ls, r, i);
	}
}

static void list_source(const struct loaded *l, int nth, void *ctx)
{
	struct lister *ls = ctx;
	(void)nth;
	ls->l = l;
	/* A live Windows volume lists Windows paths: C:\dir\file. */
	const char *drive = l->src.file.volume_prefix;
	ls->cache.sep = drive[0] ? '\\' : '/';
	snprintf(ls->root, sizeof ls->root, "%s%c", drive, ls->cache.sep);
	uffs_path_cache_reset(&ls->cache);
	list_index(ls);
}

static void emit_header(struct lister *ls)
{
	if (ls->fmt != FMT_CSV && ls->fmt != FMT_TSV)
		return;
	for (size_t i = 0; i < ls->n_cols; i++) {
		if (i)
			out_char(&ls->o, ls->fmt == FMT_CSV ? ',' : '\t');
		out_str(&ls->o, column_names[ls->cols[i]]);
	}
	out_char(&ls->o, '\n');
}

static int parse_columns(struct lister *ls, const char *spec)
{
	ls->n_cols = 0;
	const char *p = spec;
	while (*p) {
		size_t n = strcspn(p, ",");
		int found = -1;
		for (int c = 0; c < COL_COUNT; c++)
			if (strlen(column_names[c]) == n &&
			    !strncmp(p, column_names[c], n))
				found = c;
		if (found < 0 || ls->n_cols == MAX_COLUMNS) {
			fprintf(stderr, "uffs: unknown column '%.*s' (columns:", (int)n, p);
			for (int c = 0; c < COL_COUNT; c++)
				fprintf(stderr, " %s", column_names[c]);
			fprintf(stderr, ")\n");
			return -1;
		}
		ls->cols[ls->n_cols++] = (enum column)found;
		p += n;
		if (*p == ',')
			p++;
	}
	if (!ls->n_cols)
		fputs("uffs: --columns needs at least one column\n", stderr);
	return ls->n_cols ? 0 : -1;
}

static int parse_format(struct lister *ls, const char *s)
{
	static const struct {
		const char *name;
		enum format fmt;
	} formats[] = {{"text", FMT_TEXT},   {"csv", FMT_CSV},
		       {"tsv", FMT_TSV},     {"jsonl", FMT_JSONL},
		       {"bodyfile", FMT_BODYFILE}};
	for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
		if (!strcmp(s, formats[i].name)) {
			ls->fmt = formats[i].fmt;
			return 0;
		}
	fprintf(stderr, "uffs: unknown format '%s' (text, csv, tsv, jsonl, bodyfile)\n", s);
	return -1;
}

static const char list_help[] =
	"usage: uffs list [OPTIONS] SOURCE...\n"
	"\n"
	"Print every file and directory of each SOURCE: one full path per line,\n"
	"one line per hard link, named streams as path:stream. Files whose parent\n"
	"directory is gone are listed under /$OrphanFiles.\n"
	"\n"
	"  -f, --format FMT     text (default), csv, tsv, jsonl, or bodyfile\n"
	"                       (The Sleuth Kit / mactime body file, as fls -m /)\n"
	"  -c, --columns LIST   columns for csv, tsv and jsonl, comma-separated:\n"
	"                       path name stream frs sequence parent type deleted\n"
	"                       size allocated created modified mft-changed\n"
	"                       accessed attributes links streams reparse-tag\n"
	"                       (default " DEFAULT_COLUMNS ")\n"
	"  -d, --deleted        also list deleted records whose names survive\n"
	CLI_COMMON_HELP
	"\n"
	"Times are UTC, ISO-8601 with 100 ns precision (csv, tsv, jsonl).\n";

int cmd_list(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"format", required_argument, 0, 'f'},
		{"columns", required_argument, 0, 'c'},
		{"deleted", no_argument, 0, 'd'},
		{"help", no_argument, 0, 'h'},
		CLI_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	struct cli_common common = CLI_COMMON_INIT;
	struct lister ls = {.fmt = FMT_TEXT};
	const char *columns = DEFAULT_COLUMNS;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:c:dh" CLI_COMMON_SHORTOPTS,
				  longopts, NULL)) != -1) {
		int rc = cli_common_option(&common, opt, optarg);
		if (rc < 0)
			return UFFS_EXIT_USAGE;
		if (rc > 0)
			continue;
		switch (opt) {
		case 'f':
			if (parse_format(&ls, optarg))
				return UFFS_EXIT_USAGE;
			break;
		case 'c':
			columns = optarg;
			break;
		case 'd':
			ls.deleted = true;
			break;
		case 'h':
			fputs(list_help, stdout);
			return UFFS_EXIT_OK;
		default:
			fputs("try 'uffs list --help'\n", stderr);
			return UFFS_EXIT_USAGE;
		}
	}
	if (optind >= argc && !common.all) {
		fputs("uffs list: no SOURCE given (try 'uffs list --help')\n", stderr);
		return UFFS_EXIT_USAGE;
	}
	if (parse_columns(&ls, columns))
		return UFFS_EXIT_USAGE;
	/* Without --deleted, records the volume marks unused are not needed:
	 * long runs of them are not read at all. Only the body file shows
	 * the $FILE_NAME times. */
	common.scan.skip_unused = !ls.deleted;
	common.scan.keep_fn_times = ls.fmt == FMT_BODYFILE;
	ls.path = malloc(PATH_CAP);
	if (!ls.path || uffs_path_cache_init(&ls.cache, '/') ||
	    out_init(&ls.o, stdout)) {
		fputs("uffs: out of memory\n", stderr);
		free(ls.path);
		uffs_path_cache_free(&ls.cache);
		return UFFS_EXIT_ERROR;
	}
	emit_header(&ls);
	int status = cli_for_each_source(argv + optind, argc - optind, &common,
					 true, list_source, &ls);
	if (out_finish(&ls.o)) {
		perror("uffs: writing output");
		status = UFFS_EXIT_ERROR;
	}
	free(ls.path);
	uffs_path_cache_free(&ls.cache);
	return status;
}
