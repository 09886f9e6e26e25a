/* Row printing shared by uffs list and uffs search. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/ntfs_format.h"
#include "rows.h"

const char *const rows_column_names[COL_COUNT] = {
#define COL_NAME(id, name) name,
	ROWS_COLUMNS(COL_NAME)
#undef COL_NAME
};

static void put_path(struct rows *p, const struct uffs_row *rw,
		     enum out_escape esc, bool leading_slash);

/* The path of the row's name, without any stream suffix. */
static void put_name_path(struct rows *p, const struct uffs_row *rw,
			  enum out_escape esc)
{
	struct uffs_row bare = *rw;
	bare.stream = UFFS_STREAM_NONE;
	put_path(p, &bare, esc, true);
}

/* Whether the resolved path's directory part is written as it is in
 * style esc. A directory's path is looked at once, not again for each of
 * its names (the rows come in record order, and a directory's files mostly
 * follow one another there). */
static bool dir_is_plain(struct rows *p, enum out_escape esc)
{
	const struct uffs_path_parts *pp = &p->parts;
	if (pp->dir_frs == UINT64_MAX)
		return false;
	if (pp->dir_frs == p->plain_dir_frs && esc == p->plain_dir_esc)
		return true;
	if (!out_is_plain_in(pp->dir, pp->dir_len, esc))
		return false;
	p->plain_dir_frs = pp->dir_frs;
	p->plain_dir_esc = esc;
	return true;
}

/* The resolved path from its parts, not joined first. Same bytes as
 * out_name of the whole path: the separator and the parts are whole
 * characters. */
static void put_link_path(struct rows *p, enum out_escape esc)
{
	const struct uffs_path_parts *pp = &p->parts;
	if (dir_is_plain(p, esc))
		out_bytes(&p->o, pp->dir, pp->dir_len);
	else
		out_name(&p->o, pp->dir, pp->dir_len, esc);
	if (!pp->name)
		return;
	/* '/' needs no escaping in any style, nor '\\' in the display
	 * style; out_name for one byte, a row at a time, was 6% of a
	 * listing's instructions. */
	if (pp->dir_len && (p->cache.sep == '/' || esc == ESC_DISPLAY))
		out_char(&p->o, p->cache.sep);
	else if (pp->dir_len)
		out_name(&p->o, &p->cache.sep, 1, esc);
	out_name(&p->o, pp->name, pp->name_len, esc);
}

static void put_path(struct rows *p, const struct uffs_row *rw,
		     enum out_escape esc, bool leading_slash)
{
	const struct uffs_index *idx = &p->l->idx;
	if (leading_slash)
		out_bytes(&p->o, p->root, p->root_len);
	if (rw->kind != UFFS_ROW_NAME) {
		out_str(&p->o, UFFS_ORPHAN_DIR);
		if (rw->kind == UFFS_ROW_UNNAMED) {
			out_char(&p->o, p->cache.sep);
			out_str(&p->o, "OrphanFile-");
			out_u64(&p->o, rw->frs);
		}
		return;
	}
	put_link_path(p, esc);
	if (uffs_row_has_stream_suffix(idx, rw->stream)) {
		out_char(&p->o, ':');
		out_name(&p->o, idx->pool + idx->streams.name[rw->stream],
			 idx->streams.name_len[rw->stream], esc);
	}
}

static const char *row_type(const struct uffs_index *idx, const struct uffs_row *rw)
{
	if (rw->kind == UFFS_ROW_ORPHAN_DIR)
		return "virtual";
	return idx->rflags[rw->frs] & UFFS_REC_DIR ? "dir" : "file";
}

/* Record columns of the virtual directory read as zero. */
static bool row_has_record(const struct uffs_row *rw)
{
	return rw->kind != UFFS_ROW_ORPHAN_DIR;
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

static void put_text_value(struct rows *p, const struct uffs_row *rw,
			   enum column c, enum out_escape esc)
{
	const struct uffs_index *idx = &p->l->idx;
	struct out *o = &p->o;
	uint64_t size, alloc;
	static const uint64_t no_times[4];
	const uint64_t *t = row_has_record(rw) ? &idx->times[4 * rw->frs]
					       : no_times;
	if (!row_has_record(rw) && c != COL_PATH && c != COL_NAME &&
	    c != COL_TYPE && c != COL_FRS && c != COL_PARENT &&
	    c != COL_STORE) {
		if (!column_is_text(c))
			out_char(o, '0');
		return;
	}
	switch (c) {
	case COL_PATH:
		put_path(p, rw, esc, true);
		break;
	case COL_NAME:
		if (rw->kind == UFFS_ROW_NAME)
			out_name(o, idx->pool + idx->links.name[rw->link],
				 idx->links.name_len[rw->link], esc);
		else if (rw->kind == UFFS_ROW_ORPHAN_DIR)
			out_str(o, UFFS_ORPHAN_DIR);
		else {
			out_str(o, "OrphanFile-");
			out_u64(o, rw->frs);
		}
		break;
	case COL_STREAM:
		if (uffs_row_has_stream_suffix(idx, rw->stream))
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
		out_u64(o, rw->kind == UFFS_ROW_NAME ? MFT_REF_FRS(idx->links.parent[rw->link])
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
		uffs_row_sizes(idx, rw, &size, &alloc);
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
		out_u64(o, uffs_row_visible_links(idx, rw->frs));
		break;
	case COL_STREAMS:
		out_u64(o, uffs_row_named_streams(idx, rw->frs));
		break;
	case COL_REPARSE:
		out_hex32(o, uffs_index_reparse_tag(idx, rw->frs));
		break;
	case COL_STORE:
		out_u64(o, (uint64_t)p->l->store);
		break;
	case COL_COUNT:
		break;
	}
}

static void emit_delimited(struct rows *p, const struct uffs_row *rw, char sep,
			   enum out_escape esc)
{
	for (size_t i = 0; i < p->n_cols; i++) {
		if (i)
			out_char(&p->o, sep);
		bool quote = esc == ESC_CSV && column_is_text(p->cols[i]);
		if (quote)
			out_char(&p->o, '"');
		put_text_value(p, rw, p->cols[i], esc);
		if (quote)
			out_char(&p->o, '"');
	}
	out_char(&p->o, '\n');
}

static void emit_jsonl(struct rows *p, const struct uffs_row *rw)
{
	out_char(&p->o, '{');
	for (size_t i = 0; i < p->n_cols; i++) {
		enum column c = p->cols[i];
		if (i)
			out_char(&p->o, ',');
		out_char(&p->o, '"');
		out_str(&p->o, rows_column_names[c]);
		out_bytes(&p->o, "\":", 2);
		if (c == COL_DELETED) {
			bool del = row_has_record(rw) &&
				   !(p->l->idx.rflags[rw->frs] & UFFS_REC_IN_USE);
			out_str(&p->o, del ? "true" : "false");
			continue;
		}
		bool text = column_is_text(c);
		if (text)
			out_char(&p->o, '"');
		put_text_value(p, rw, c, ESC_JSON);
		if (text)
			out_char(&p->o, '"');
	}
	out_bytes(&p->o, "}\n", 2);
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

static void emit_bodyfile(struct rows *p, const struct uffs_row *rw)
{
	const struct uffs_index *idx = &p->l->idx;
	struct out *o = &p->o;
	uint64_t r = rw->frs;
	if (rw->kind == UFFS_ROW_ORPHAN_DIR) {
		out_str(o, "0|");
		out_str(o, p->root);
		out_str(o, UFFS_ORPHAN_DIR "|");
		out_u64(o, r);
		out_str(o, "|V/V---------|0|0|0|0|0|0|0\n");
		return;
	}
	bool deleted = !(idx->rflags[r] & UFFS_REC_IN_USE);
	/* The $FILE_NAME line, once per name (with its first row). */
	if (rw->kind == UFFS_ROW_NAME && rw->first_of_link) {
		out_str(o, "0|");
		put_name_path(p, rw, ESC_DISPLAY);
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
	put_path(p, rw, ESC_DISPLAY, true);
	if (deleted)
		out_str(o, " (deleted)");
	out_char(o, '|');
	out_u64(o, r);
	if (rw->stream == UFFS_STREAM_DATA) {
		out_str(o, "-128-");
		out_u64(o, idx->data_id[r]);
	} else if (rw->stream != UFFS_STREAM_NONE) {
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
	uffs_row_sizes(idx, rw, &size, &alloc);
	out_u64(o, size);
	put_unix_times(o, &idx->times[4 * r]);
	out_char(o, '\n');
}

/* Text with --columns: the columns side by side, two spaces apart, sizes
 * for people. */
static void emit_text_columns(struct rows *p, const struct uffs_row *rw)
{
	const struct uffs_index *idx = &p->l->idx;
	for (size_t i = 0; i < p->n_cols; i++) {
		enum column c = p->cols[i];
		if (i)
			out_bytes(&p->o, "  ", 2);
		if ((c == COL_SIZE || c == COL_ALLOCATED) && row_has_record(rw)) {
			uint64_t size, alloc;
			uffs_row_sizes(idx, rw, &size, &alloc);
			out_size_human(&p->o, c == COL_SIZE ? size : alloc);
			continue;
		}
		put_text_value(p, rw, c, ESC_DISPLAY);
	}
	out_char(&p->o, p->end);
}

/* Whether the row's name is written as it is in the display style: known
 * from the index when it was parsed here (printable ASCII), else looked
 * at. */
static bool name_is_plain(const struct rows *p, const struct uffs_row *rw)
{
	const struct uffs_index *idx = &p->l->idx;
	const struct uffs_path_parts *pp = &p->parts;
	if (idx->plain_hints && idx->links.flags[rw->link] & UFFS_LINK_PLAIN)
		return true;
	return out_is_plain_in(pp->name, pp->name_len, ESC_DISPLAY);
}

/* The text row of a name whose path needs no escaping and has no stream
 * suffix (nearly every row of a listing): its parts copied into the
 * buffer after one test for room, the same bytes put_path and the row's
 * end would write. False, with nothing written, for any other row. */
static bool put_plain_text_row(struct rows *p, const struct uffs_row *rw)
{
	const struct uffs_path_parts *pp = &p->parts;
	struct out *o = &p->o;
	if (rw->kind != UFFS_ROW_NAME || !pp->name ||
	    uffs_row_has_stream_suffix(&p->l->idx, rw->stream))
		return false;
	size_t n = p->root_len + pp->dir_len + (pp->dir_len != 0) +
		   pp->name_len + 1;
	/* Room for the whole root array too: it is copied at its fixed size
	 * (one move, not a call), the bytes past root_len overwritten next. */
	if (o->len + n + sizeof p->root > o->cap ||
	    !dir_is_plain(p, ESC_DISPLAY) || !name_is_plain(p, rw))
		return false;
	char *d = o->buf + o->len;
	memcpy(d, p->root, sizeof p->root);
	d += p->root_len;
	memcpy(d, pp->dir, pp->dir_len);
	d += pp->dir_len;
	if (pp->dir_len)
		*d++ = p->cache.sep;
	memcpy(d, pp->name, pp->name_len);
	d[pp->name_len] = p->end;
	o->len += n;
	return true;
}

void rows_emit(struct rows *p, const struct uffs_row *rw)
{
	if (rw->kind == UFFS_ROW_NAME &&
	    (p->path_frs != rw->frs || p->path_link != rw->link) &&
	    !rows_link_path(p, rw->frs, rw->link))
		return;
	switch (p->fmt) {
	case FMT_TEXT:
		if (p->text_columns) {
			emit_text_columns(p, rw);
			break;
		}
		if (!put_plain_text_row(p, rw)) {
			put_path(p, rw, ESC_DISPLAY, true);
			out_char(&p->o, p->end);
		}
		break;
	case FMT_CSV:
		emit_delimited(p, rw, ',', ESC_CSV);
		break;
	case FMT_TSV:
		emit_delimited(p, rw, '\t', ESC_TSV);
		break;
	case FMT_JSONL:
		emit_jsonl(p, rw);
		break;
	case FMT_BODYFILE:
		emit_bodyfile(p, rw);
		break;
	}
}

void rows_emit_sole_row(struct rows *p, uint64_t r, uint32_t link)
{
	const struct uffs_index *idx = &p->l->idx;
	struct uffs_row rw = {r, link,
			      idx->rflags[r] & UFFS_REC_HAS_DATA ? UFFS_STREAM_DATA
								 : UFFS_STREAM_NONE,
			      UFFS_ROW_NAME, true};
	/* The plain text row straight away: through rows_emit's checks and
	 * switch, formatting a listing took 0.7 ms longer. */
	if (p->fmt == FMT_TEXT && !p->text_columns && put_plain_text_row(p, &rw))
		return;
	rows_emit(p, &rw);
}

void rows_header(struct rows *p)
{
	if (p->fmt != FMT_CSV && p->fmt != FMT_TSV)
		return;
	for (size_t i = 0; i < p->n_cols; i++) {
		if (i)
			out_char(&p->o, p->fmt == FMT_CSV ? ',' : '\t');
		out_str(&p->o, rows_column_names[p->cols[i]]);
	}
	out_char(&p->o, '\n');
}

int rows_parse_columns(struct rows *p, const char *spec)
{
	p->n_cols = 0;
	const char *q = spec;
	while (*q) {
		size_t n = strcspn(q, ",");
		int found = -1;
		for (int c = 0; c < COL_COUNT; c++)
			if (strlen(rows_column_names[c]) == n &&
			    !strncmp(q, rows_column_names[c], n))
				found = c;
		if (found < 0 || p->n_cols == ROWS_MAX_COLUMNS) {
			fprintf(stderr, "uffs: unknown column '%.*s' (columns:", (int)n, q);
			for (int c = 0; c < COL_COUNT; c++)
				fprintf(stderr, " %s", rows_column_names[c]);
			fprintf(stderr, ")\n");
			return -1;
		}
		p->cols[p->n_cols++] = (enum column)found;
		q += n;
		if (*q == ',')
			q++;
	}
	if (!p->n_cols)
		fputs("uffs: --columns needs at least one column\n", stderr);
	return p->n_cols ? 0 : -1;
}

int rows_parse_format(struct rows *p, const char *s)
{
	static const struct {
		const char *name;
		enum rows_format fmt;
	} formats[] = {{"text", FMT_TEXT},   {"csv", FMT_CSV},
		       {"tsv", FMT_TSV},     {"jsonl", FMT_JSONL},
		       {"bodyfile", FMT_BODYFILE}};
	for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
		if (!strcmp(s, formats[i].name)) {
			p->fmt = formats[i].fmt;
			return 0;
		}
	fprintf(stderr, "uffs: unknown format '%s' (text, csv, tsv, jsonl, bodyfile)\n", s);
	return -1;
}


int rows_init(struct rows *p)
{
	p->end = '\n';
	p->path_frs = UINT64_MAX;
	p->plain_dir_frs = UINT64_MAX;
	p->path = malloc(ROWS_PATH_CAP);
	if (!p->path || uffs_path_cache_init(&p->cache, '/') ||
	    out_init(&p->o, stdout)) {
		free(p->path);
		p->path = NULL;
		uffs_path_cache_free(&p->cache);
		return -1;
	}
	return 0;
}

int rows_finish(struct rows *p)
{
	int rc = out_finish(&p->o);
	free(p->path);
	p->path = NULL;
	uffs_path_cache_free(&p->cache);
	return rc;
}

void rows_begin_source(struct rows *p, const struct uffs_loaded *l)
{
	p->l = l;
	const char *drive = l->src.file.volume_prefix;
	p->cache.sep = cli_path_separator(l);
	/* --vss all: text says which store a path comes from (csv, tsv and
	 * jsonl have the store column). */
	char tag[16] = "";
	if (p->fmt == FMT_TEXT || p->fmt == FMT_BODYFILE)
		cli_store_tag(l, tag, sizeof tag);
	snprintf(p->root, sizeof p->root, "%s%s%c", tag, drive, p->cache.sep);
	p->root_len = strlen(p->root);
	uffs_path_cache_reset(&p->cache);
	p->path_frs = UINT64_MAX;
	p->plain_dir_frs = UINT64_MAX;
}

bool rows_link_path(struct rows *p, uint64_t r, uint32_t link)
{
	bool ok = uffs_link_path_parts(&p->l->tree, &p->cache, r, link,
				       p->path, ROWS_PATH_CAP, &p->parts);
	p->path_frs = ok ? r : UINT64_MAX;
	p->path_link = link;
	p->path_joined = false;
	return ok;
}

const char *rows_path_text(struct rows *p, size_t *len)
{
	if (!p->path_joined) {
		p->path_len = uffs_path_parts_join(&p->parts, p->cache.sep,
						   p->path);
		p->path_joined = true;
	}
	*len = p->path_len;
	return p->path;
}
