/* uffs usn: the records of a change journal ($UsnJrnl:$J), from a
 * captured $J stream file or from the $Extend/$UsnJrnl of a volume (an
 * image, container, device or shadow-copy store), whose records' paths are
 * then resolved through the volume's index. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../mft/match.h"
#include "../mft/ntfs_format.h"
#include "../mft/upcase.h"
#include "../mft/usn.h"
#include "../scan/journal.h"
#include "../scan/live_journal.h"
#include "cli.h"
#include "filter.h"
#include "out.h"
#include "rows.h"


struct usn_cmd {
	struct out o;
	enum rows_format fmt;
	const char *source;
	bool quiet;
	/* filters */
	bool since_usn_on;
	int64_t since_usn;
	struct uffs_range since_time;
	uint32_t reasons; /* any of these; 0: all */
	struct uffs_matcher name;
	bool name_on;
	uint16_t *upcase;
	/* a volume's journal: the index its paths come from */
	struct cli_common common;
	const struct uffs_loaded *l;
	char *path_buf;
	/* uffs watch */
	bool watch;
	const char *cmd; /* "usn" or "watch" */
	unsigned long long watch_count, watch_seconds;
	struct watch_batch *batch; /* uffs watch: the answer being read */
	/* output state */
	uint64_t records, shown, damaged;
	int64_t last_usn;
	char name_buf[3 * 65536];
};

#define PATH_CAP (ROWS_PATH_CAP + 3 * 65536 + 64)

/* The first name of record r that the listing shows, or UINT32_MAX. */
static uint32_t shown_link(const struct uffs_index *idx, uint64_t r)
{
	UFFS_FOR_EACH_LINK(idx, r, i)
	if (!(idx->links.flags[i] & UFFS_LINK_HIDDEN))
		return i;
	return UINT32_MAX;
}

static char path_separator(const struct usn_cmd *u)
{
	return u->l ? cli_path_separator(u->l) : '/';
}

/* The record's path at the time of the record: its parent directory as
 * the index knows it now, when that is still the same directory (same
 * sequence number), then the record's own name. Returns its length, or 0
 * when the parent is unknown (gone, reused, or not a directory). */
static size_t resolve_path(struct usn_cmd *u, const struct usn_record *r,
			   const char *name, size_t name_len)
{
	const struct uffs_index *idx = &u->l->idx;
	uint64_t p = usn_ref_frs(r->parent_ref);
	char *buf = u->path_buf;
	/* A live volume's paths are Windows paths (C:\dir\file), as uffs
	 * list prints them. */
	const char *drive = u->l->src.file.volume_prefix;
	size_t root = strlen(drive) + 1;
	char sep = path_separator(u);
	size_t n = 0;
	if (r->major == 4 || p >= idx->n_records ||
	    !(idx->rflags[p] & UFFS_REC_PRESENT) ||
	    !(idx->rflags[p] & UFFS_REC_DIR) ||
	    idx->seq[p] != usn_ref_seq(r->parent_ref))
		return 0;
	if (p != MFT_FRS_ROOT) {
		uint32_t link = shown_link(idx, p);
		if (link == UINT32_MAX)
			return 0;
		n = uffs_link_path(&u->l->tree, p, link, sep, buf + root,
				   ROWS_PATH_CAP);
		if (n == 0)
			return 0;
	}
	memcpy(buf, drive, root - 1);
	buf[root - 1] = sep;
	n += root;
	if (p != MFT_FRS_ROOT)
		buf[n++] = sep;
	memcpy(buf + n, name, name_len);
	return n + name_len;
}

static void put_reasons(struct out *o, uint32_t reason, char sep, bool quote)
{
	bool first = true;
	for (unsigned b = 0; b < 32; b++) {
		if (!(reason & (1u << b)))
			continue;
		if (!first)
			out_char(o, sep);
		first = false;
		const char *n = usn_reason_name(b);
		if (quote)
			out_char(o, '"');
		if (n) {
			out_str(o, n);
		} else {
			out_str(o, "0x");
			out_hex32(o, 1u << b);
		}
		if (quote)
			out_char(o, '"');
	}
}

static void put_extents(struct out *o, const struct usn_record *r)
{
	out_char(o, '[');
	for (uint16_t i = 0; i < r->n_extents; i++) {
		const uint8_t *e = r->extents + (size_t)i * USN_EXTENT_SIZE;
		int64_t off, len;
		memcpy(&off, e, 8);
		memcpy(&len, e + 8, 8);
		if (i)
			out_char(o, ',');
		out_char(o, '[');
		out_i64(o, off);
		out_char(o, ',');
		out_i64(o, len);
		out_char(o, ']');
	}
	out_char(o, ']');
}

static void emit_jsonl(struct usn_cmd *u, const struct usn_record *r,
		       const char *name, size_t name_len)
{
	struct out *o = &u->o;
	bool v4 = r->major == 4;
	out_str(o, "{\"usn\":");
	out_i64(o, r->usn);
	if (!v4) {
		out_str(o, ",\"time\":\"");
		out_filetime_iso(o, r->time);
		out_char(o, '"');
	}
	out_str(o, ",\"frs\":");
	out_u64(o, usn_ref_frs(r->file_ref));
	out_str(o, ",\"seq\":");
	out_u64(o, usn_ref_seq(r->file_ref));
	out_str(o, ",\"parent_frs\":");
	out_u64(o, usn_ref_frs(r->parent_ref));
	out_str(o, ",\"parent_seq\":");
	out_u64(o, usn_ref_seq(r->parent_ref));
	if (!v4) {
		out_str(o, ",\"name\":\"");
		out_name(o, name, name_len, ESC_JSON);
		out_char(o, '"');
	}
	out_str(o, ",\"reason\":");
	out_u64(o, r->reason);
	out_str(o, ",\"reasons\":[");
	put_reasons(o, r->reason, ',', true);
	out_char(o, ']');
	if (!v4) {
		out_str(o, ",\"attributes\":");
		out_u64(o, r->attributes);
	}
	out_str(o, ",\"source_info\":");
	out_u64(o, r->source_info);
	if (!v4) {
		out_str(o, ",\"security_id\":");
		out_u64(o, r->security_id);
	}
	out_str(o, ",\"major\":");
	out_u64(o, r->major);
	out_str(o, ",\"minor\":");
	out_u64(o, r->minor);
	if (v4) {
		out_str(o, ",\"extents\":");
		put_extents(o, r);
	}
	if (u->l && !v4) {
		size_t n = resolve_path(u, r, name, name_len);
		out_str(o, ",\"path\":");
		if (n) {
			out_char(o, '"');
			out_name(o, u->path_buf, n, ESC_JSON);
			out_char(o, '"');
		} else {
			out_str(o, "null");
		}
	}
	out_str(o, "}\n");
}

static const char delimited_header[] =
	"usn%ctime%cfrs%cseq%cparent_frs%cparent_seq%cname%creason%creasons%c"
	"attributes%csource_info%csecurity_id%cmajor%cminor%cextents%cpath\n";

static void emit_delimited(struct usn_cmd *u, const struct usn_record *r,
			   const char *name, size_t name_len)
{
	struct out *o = &u->o;
	bool csv = u->fmt == FMT_CSV;
	char sep = csv ? ',' : '\t';
	bool v4 = r->major == 4;
	out_i64(o, r->usn);
	out_char(o, sep);
	if (!v4)
		out_filetime_iso(o, r->time);
	out_char(o, sep);
	out_u64(o, usn_ref_frs(r->file_ref));
	out_char(o, sep);
	out_u64(o, usn_ref_seq(r->file_ref));
	out_char(o, sep);
	out_u64(o, usn_ref_frs(r->parent_ref));
	out_char(o, sep);
	out_u64(o, usn_ref_seq(r->parent_ref));
	out_char(o, sep);
	if (!v4) {
		if (csv)
			out_char(o, '"');
		out_name(o, name, name_len, csv ? ESC_CSV : ESC_TSV);
		if (csv)
			out_char(o, '"');
	}
	out_char(o, sep);
	out_u64(o, r->reason);
	out_char(o, sep);
	put_reasons(o, r->reason, '|', false);
	out_char(o, sep);
	if (!v4)
		out_u64(o, r->attributes);
	out_char(o, sep);
	out_u64(o, r->source_info);
	out_char(o, sep);
	if (!v4)
		out_u64(o, r->security_id);
	out_char(o, sep);
	out_u64(o, r->major);
	out_char(o, sep);
	out_u64(o, r->minor);
	out_char(o, sep);
	if (v4) {
		if (csv)
			out_char(o, '"');
		put_extents(o, r);
		if (csv)
			out_char(o, '"');
	}
	out_char(o, sep);
	size_t n = u->l ? resolve_path(u, r, name, name_len) : 0;
	if (n) {
		if (csv)
			out_char(o, '"');
		out_name(o, u->path_buf, n, csv ? ESC_CSV : ESC_TSV);
		if (csv)
			out_char(o, '"');
	}
	out_char(o, '\n');
}

/* usn, time (or "-"), file frs-seq, reasons, name (or the v4 extents);
 * from a volume, the path instead of the name, or <parent FRS-SEQ>/name
 * when the parent directory is not known (\ on a live volume). */
static void emit_text(struct usn_cmd *u, const struct usn_record *r,
		      const char *name, size_t name_len)
{
	struct out *o = &u->o;
	out_i64(o, r->usn);
	out_char(o, ' ');
	if (r->major == 4)
		out_char(o, '-');
	else
		out_filetime_iso(o, r->time);
	out_char(o, ' ');
	out_u64(o, usn_ref_frs(r->file_ref));
	out_char(o, '-');
	out_u64(o, usn_ref_seq(r->file_ref));
	out_char(o, ' ');
	put_reasons(o, r->reason, '|', false);
	out_char(o, ' ');
	size_t n = u->l ? resolve_path(u, r, name, name_len) : 0;
	if (r->major == 4) {
		put_extents(o, r);
	} else if (n) {
		out_name(o, u->path_buf, n, ESC_DISPLAY);
	} else {
		if (u->l) {
			out_str(o, "<parent ");
			out_u64(o, usn_ref_frs(r->parent_ref));
			out_char(o, '-');
			out_u64(o, usn_ref_seq(r->parent_ref));
			out_char(o, '>');
			out_char(o, path_separator(u));
		}
		out_name(o, name, name_len, ESC_DISPLAY);
	}
	out_char(o, '\n');
}

static bool wanted(struct usn_cmd *u, const struct usn_record *r,
		   const char *name, size_t name_len)
{
	if (u->since_usn_on && r->usn < u->since_usn)
		return false;
	if (u->since_time.on && (r->major == 4 || !uffs_range_in(&u->since_time, r->time)))
		return false;
	if (u->reasons && !(r->reason & u->reasons))
		return false;
	if (u->name_on && (r->major == 4 ||
			   !uffs_matcher_match(&u->name, name, name_len)))
		return false;
	return true;
}

static void on_record(void *ctx, const struct usn_record *r)
{
	struct usn_cmd *u = ctx;
	u->records++;
	if (r->usn < u->last_usn && !u->quiet)
		fprintf(stderr, "uffs: warning: %s: USN %" PRId64
			" comes after USN %" PRId64 " (the journal went back)\n",
			u->source, r->usn, u->last_usn);
	u->last_usn = r->usn;
	size_t name_len = r->name
		? mft_utf16_to_wtf8(r->name, r->name_len / 2u, u->name_buf)
		: 0;
	if (!wanted(u, r, u->name_buf, name_len))
		return;
	u->shown++;
	if (u->fmt == FMT_JSONL)
		emit_jsonl(u, r, u->name_buf, name_len);
	else if (u->fmt == FMT_CSV || u->fmt == FMT_TSV)
		emit_delimited(u, r, u->name_buf, name_len);
	else
		emit_text(u, r, u->name_buf, name_len);
}

static void on_damage(void *ctx, const struct mft_error *e)
{
	struct usn_cmd *u = ctx;
	u->damaged++;
	if (u->quiet)
		return;
	out_flush(&u->o);
	fflush(stdout);
	fprintf(stderr, "uffs: warning: %s: journal byte %" PRIu64 ": %s (skipped)\n",
		u->source, e->offset, e->what);
}

static int read_journal_file(struct usn_cmd *u, const struct uffs_file *f)
{
	struct uffs_journal_cursor c;
	struct mft_error err;
	uint64_t at = 0;
	int rc = uffs_journal_cursor_file(&c, f, &err);
	while (rc == MFT_OK &&
	       (rc = uffs_journal_cursor_next(&c, on_record, on_damage, u, &at,
					      &err)) == 1)
		rc = MFT_OK;
	uffs_journal_cursor_free(&c);
	if (rc == MFT_OK)
		return UFFS_EXIT_OK;
	if (rc == MFT_E_NOMEM)
		fputs("uffs: out of memory\n", stderr);
	else
		fprintf(stderr, "uffs: %s: byte offset %" PRIu64 ": %s\n",
			u->source, at, err.what);
	return UFFS_EXIT_ERROR;
}

/* ---- the journal of a volume ------------------------------------------------ */

/* --verbose: where the journal lies, as istat lists an attribute's runs. */
static void note_stream_map(const struct usn_cmd *u, uint64_t frs,
			    const struct uffs_stream_map *m)
{
	uint64_t data = 0, holes = 0, n_data = 0, n_holes = 0;
	for (size_t i = 0; i < m->n_ext; i++) {
		bool hole = m->ext[i].vol_off == UFFS_SPARSE_OFFSET;
		*(hole ? &holes : &data) += m->ext[i].len;
		*(hole ? &n_holes : &n_data) += 1;
	}
	fprintf(stderr,
		"uffs: %s: $UsnJrnl (record %" PRIu64 "):$J: %" PRIu64
		" bytes; %" PRIu64 " data runs of %" PRIu64 " bytes, %" PRIu64
		" holes of %" PRIu64 " bytes\n",
		u->source, frs, m->size, n_data, data, n_holes, holes);
}

/* The exit status of reading a live journal, the failure said in a line. */
static int live_read_status(const struct usn_cmd *u, int rc, int64_t at)
{
	if (!rc)
		return UFFS_EXIT_OK;
	fprintf(stderr, "uffs %s: %s: change journal at USN %" PRId64 ": %s\n",
		u->cmd, u->source, at,
		rc == MFT_E_NOMEM ? "out of memory" : uffs_file_strerror(rc));
	return UFFS_EXIT_ERROR;
}

/* A live volume: the journal as Windows serves it (FSCTL_QUERY_USN_JOURNAL,
 * FSCTL_READ_USN_JOURNAL). LIVE_NONE when the OS has no live journal to
 * give (not a live volume, an emulator, a file system without one): the
 * caller reads $UsnJrnl:$J through the volume instead. Otherwise an exit
 * status: a journal the OS refuses (not active, being deleted, access
 * denied) is an error, said in one line, not a reason to read another. */
#define LIVE_NONE (-1)
static int read_live_journal(struct usn_cmd *u, const struct uffs_loaded *l)
{
	struct uffs_live_journal_ops ops;
	uffs_live_journal_os(&ops, &l->src.file);
	struct uffs_live_journal_info info;
	int rc = uffs_live_journal_query(&ops, &info);
	if (rc == -1 || rc == UFFS_LIVE_JOURNAL_SHORT ||
	    uffs_file_error_unsupported(rc)) {
		if (u->common.verbose)
			fprintf(stderr, "uffs: %s: no live change journal from the "
					"system; reading $Extend/$UsnJrnl:$J through the volume\n",
				u->source);
		return LIVE_NONE;
	}
	if (rc) {
		fprintf(stderr, "uffs usn: %s: change journal: %s\n", u->source,
			uffs_file_strerror(rc));
		return UFFS_EXIT_ERROR;
	}
	if (u->common.verbose)
		fprintf(stderr, "uffs: %s: live change journal ID 0x%016" PRIx64
				", USN %" PRId64 " to %" PRId64 "\n",
			u->source, info.id, info.first_usn, info.next_usn);
	u->l = l;
	int64_t start = u->since_usn_on && u->since_usn > info.first_usn
				? u->since_usn
				: info.first_usn;
	uint64_t n = 0;
	rc = uffs_live_journal_read(&ops, info.id, &start, false, 0, on_record,
				    on_damage, u, &n);
	u->l = NULL;
	return live_read_status(u, rc, start);
}

static int read_volume_journal(struct usn_cmd *u, const struct uffs_loaded *l)
{
	uint64_t frs = uffs_journal_find(&l->idx);
	if (frs == UFFS_JOURNAL_NONE) {
		fprintf(stderr, "uffs: %s: the volume has no change journal ($Extend/$UsnJrnl)\n",
			u->source);
		return UFFS_EXIT_ERROR;
	}
	struct uffs_journal j;
	struct mft_error err;
	char text[512];
	if (uffs_journal_open(&l->vol, frs, &j, &err)) {
		uffs_error_text(&err, &l->vol, true, text, sizeof text);
		fprintf(stderr, "uffs: %s: $UsnJrnl:$J: %s\n", u->source, text);
		return UFFS_EXIT_ERROR;
	}
	if (u->common.verbose)
		note_stream_map(u, frs, &j.j);
	u->l = l;
	uint64_t at = 0;
	int rc = UFFS_EXIT_OK;
	if (uffs_journal_read(&l->vol, &j, 0, on_record, on_damage, u, &at, &err)) {
		uffs_error_text(&err, &l->vol, true, text, sizeof text);
		fprintf(stderr, "uffs: %s: $UsnJrnl:$J at byte %" PRIu64 ": %s\n",
			u->source, at, text);
		rc = UFFS_EXIT_ERROR;
	}
	u->l = NULL;
	uffs_journal_close(&j);
	return rc;
}

/* Starts on source `path`: opens it as a file to tell what it is (a
 * captured stream, a live volume); on failure says why, as `who`. */
static int open_source(struct usn_cmd *u, const char *path, const char *who,
		       struct uffs_file *f)
{
	int os_error = 0;
	const char *what = NULL;
	u->source = path;
	u->last_usn = INT64_MIN;
	if (uffs_file_open(path, f, &os_error, &what)) {
		fprintf(stderr, "%s: %s: %s\n", who, path,
			uffs_file_strerror(os_error));
		return UFFS_EXIT_ERROR;
	}
	return UFFS_EXIT_OK;
}

static int usn_source(struct usn_cmd *u, const char *path, bool forced)
{
	struct uffs_file f;
	if (open_source(u, path, "uffs", &f))
		return UFFS_EXIT_ERROR;
	bool journal = forced || uffs_journal_file_looks(&f);
	int rc = journal ? read_journal_file(u, &f) : UFFS_EXIT_OK;
	uffs_file_close(&f);
	if (journal)
		return rc;
	/* Not a captured stream: a volume, whose journal is a file in it. */
	struct uffs_loaded l;
	rc = cli_load(&l, path, &u->common, true);
	if (rc)
		return rc;
	rc = l.src.file.volume_prefix[0] ? read_live_journal(u, &l) : LIVE_NONE;
	if (rc == LIVE_NONE)
		rc = read_volume_journal(u, &l);
	cli_unload(&l);
	return rc;
}

static const char usn_help[] =
	"usage: uffs usn [OPTIONS] SOURCE...\n"
	"\n"
	"Print the change journal records of each SOURCE: a captured\n"
	"$Extend/$UsnJrnl:$J stream (recognised by its first record, after the\n"
	"journal's leading hole, which is skipped without reading it where the\n"
	"file system keeps it sparse), or a volume (image, container, device,\n"
	"--vss store) whose $Extend/$UsnJrnl is read through its runs, holes\n"
	"skipped, and whose records get their paths from the volume's index:\n"
	"the parent directory as it is now, when it is still the same one (same\n"
	"sequence number), then the record's name; else <parent FRS-SEQ>/name\n"
	"(text) or null (jsonl path); a live Windows volume's paths are Windows\n"
	"paths (C:\\dir\\file), as list prints them. Records of versions 2, 3\n"
	"and 4; torn or garbage records are warned about and skipped, and\n"
	"reading goes on at the next record whose USN is its own offset.\n"
	"\n"
	"  -f, --format FMT     text (default: usn, time, file frs-seq, reasons,\n"
	"                       name), csv, tsv or jsonl\n"
	"      --since USN|TIME records from this USN, or from this time on\n"
	"                       (dates as in uffs search: 2024-05-01, 7d, ...)\n"
	"      --reason LIST    records with any of these reasons (FILE_CREATE,\n"
	"                       CLOSE, ... with or without USN_REASON_)\n"
	"      --name GLOB      records whose file name matches (case ignored)\n"
	"      --journal        read SOURCE as a $J stream whatever it looks like\n"
	CLI_COMMON_HELP
	"\n"
	"Times are UTC. In jsonl, version 4 records have extents, no name, time,\n"
	"attributes or security_id.\n";

enum { OPT_SINCE = 1000, OPT_REASON, OPT_NAME, OPT_JOURNAL, OPT_COUNT, OPT_FOR };

static int parse_reasons(const char *s, uint32_t *set)
{
	while (*s) {
		size_t n = strcspn(s, ",|");
		int bit = usn_reason_bit(s, n);
		if (bit < 0) {
			fprintf(stderr, "uffs: unknown reason '%.*s' (FILE_CREATE, FILE_DELETE, DATA_OVERWRITE, RENAME_NEW_NAME, CLOSE, ...)\n",
				(int)n, s);
			return -1;
		}
		*set |= 1u << bit;
		s += n;
		if (*s)
			s++;
	}
	return 0;
}

static int parse_since(struct usn_cmd *u, const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*s && !*end && v >= 0) {
		u->since_usn_on = true;
		u->since_usn = v;
		return 0;
	}
	struct uffs_range r;
	if (filter_parse_time(s, (int64_t)time(NULL), &r))
		return -1;
	u->since_time = (struct uffs_range){true, r.lo, UINT64_MAX};
	return 0;
}

static const char watch_help[] =
	"usage: uffs watch [OPTIONS] SOURCE [PATTERN]\n"
	"\n"
	"Follow the change journal of SOURCE, a live Windows volume (C:), and\n"
	"print each change as it is written: the records uffs usn prints, from\n"
	"the journal's next record on, with their paths from the volume's index\n"
	"(scanned first, then kept current: the MFT records of files whose\n"
	"names change are read again, from the file system's current copies,\n"
	"before their journal records print).\n"
	"PATTERN, a glob as in uffs search, keeps the records whose file name\n"
	"matches (case ignored). Images and captured $J streams have no live\n"
	"journal: read them with uffs usn.\n"
	"\n"
	"  -f, --format FMT     text (default), csv, tsv or jsonl\n"
	"      --reason LIST    records with any of these reasons\n"
	"      --count N        stop after N records shown\n"
	"      --for SECONDS    stop after this long\n"
	CLI_COMMON_HELP;

/* ---- uffs watch ------------------------------------------------------------ */

/* One answer's records, kept until the index has caught up with the
 * changes they name, then printed: a file created in a directory created
 * in the same answer gets its path. Sized for a whole answer. */
struct watch_batch {
	struct usn_record *rec;
	size_t n, cap;
	uint8_t *bytes; /* names and extents, copied out of the answer */
	size_t used, bytes_cap;
	uint64_t *frs;  /* files and directories whose names changed */
	size_t n_frs, frs_cap;
};

/* Reasons that change a name or a directory's entries. */
#define NAME_REASONS                                                            \
	(0x00000100u /* FILE_CREATE */ | 0x00000200u /* FILE_DELETE */ |       \
	 0x00001000u /* RENAME_OLD_NAME */ | 0x00002000u /* RENAME_NEW_NAME */ | \
	 0x00010000u /* HARD_LINK_CHANGE */)

static void watch_batch_free(struct watch_batch *b)
{
	free(b->rec);
	free(b->bytes);
	free(b->frs);
}

static int watch_batch_init(struct watch_batch *b)
{
	*b = (struct watch_batch){0};
	b->cap = UFFS_LIVE_JOURNAL_ANSWER / 8;
	b->bytes_cap = UFFS_LIVE_JOURNAL_ANSWER;
	b->frs_cap = 2 * b->cap;
	b->rec = malloc(b->cap * sizeof *b->rec);
	b->bytes = malloc(b->bytes_cap);
	b->frs = malloc(b->frs_cap * sizeof *b->frs);
	if (b->rec && b->bytes && b->frs)
		return 0;
	watch_batch_free(b);
	return -1;
}

static const uint8_t *batch_copy(struct watch_batch *b, const uint8_t *p,
				 size_t len)
{
	if (!p || len > b->bytes_cap - b->used)
		return NULL;
	uint8_t *to = b->bytes + b->used;
	memcpy(to, p, len);
	b->used += len;
	return to;
}

/* Keeps a record of the answer (printed at once if it cannot be kept,
 * which a well-formed answer never causes). */
static void watch_keep(void *ctx, const struct usn_record *r)
{
	struct usn_cmd *u = ctx;
	struct watch_batch *b = u->batch;
	size_t ext = (size_t)r->n_extents * USN_EXTENT_SIZE;
	if (b->n == b->cap || r->name_len + ext > b->bytes_cap - b->used ||
	    b->n_frs + 2 > b->frs_cap) {
		on_record(u, r);
		return;
	}
	struct usn_record *k = &b->rec[b->n++];
	*k = *r;
	k->name = r->name ? batch_copy(b, r->name, r->name_len) : NULL;
	k->extents = r->extents ? batch_copy(b, r->extents, ext) : NULL;
	if (r->major != 4 && (r->reason & NAME_REASONS)) {
		b->frs[b->n_frs++] = usn_ref_frs(r->file_ref);
		b->frs[b->n_frs++] = usn_ref_frs(r->parent_ref);
	}
}

/* The kept records: the index first brought up to date when names
 * changed, then each record printed as uffs usn prints it. */
static int watch_flush(struct usn_cmd *u, struct uffs_loaded *l)
{
	struct watch_batch *b = u->batch;
	int rc = 0;
	if (b->n_frs) {
		struct uffs_update_counts c;
		rc = cli_refresh(l, u->source, &u->common, b->frs, b->n_frs,
				 &c);
		if (!rc && u->common.verbose && c.grown)
			fprintf(stderr, "uffs: %s: the $MFT grew by %" PRIu64
					" records since the scan: mapped again\n",
				u->source, c.grown);
		if (!rc && c.beyond && !u->quiet)
			fprintf(stderr, "uffs: %s: warning: the journal names %" PRIu64
					" record%s past the $MFT's end as the volume"
					" shows it: not indexed until a rescan\n",
				u->source, c.beyond, c.beyond == 1 ? "" : "s");
		if (!rc && u->common.verbose)
			fprintf(stderr, "uffs: %s: index brought up to date: %" PRIu64
					" records read again (%" PRIu64
					" from the file system, %" PRIu64
					" it says are free)\n",
				u->source, c.reread, c.from_fs, c.freed);
	}
	for (size_t i = 0; i < b->n && !rc; i++) {
		if (u->watch_count && u->shown >= u->watch_count)
			break;
		on_record(u, &b->rec[i]);
	}
	b->n = b->used = b->n_frs = 0;
	return rc;
}

/* Follows a live volume's journal: one waiting read after another. */
static int follow_journal(struct usn_cmd *u, struct uffs_loaded *l)
{
	struct uffs_live_journal_ops ops;
	uffs_live_journal_os(&ops, &l->src.file);
	struct uffs_live_journal_info info;
	int rc = uffs_live_journal_query(&ops, &info);
	if (rc) {
		fprintf(stderr, "uffs watch: %s: no live change journal: %s\n",
			u->source,
			rc == -1 || rc == UFFS_LIVE_JOURNAL_SHORT
				? "the system gives none for this volume"
				: uffs_file_strerror(rc));
		return UFFS_EXIT_ERROR;
	}
	if (u->common.verbose)
		fprintf(stderr, "uffs: %s: following change journal ID 0x%016" PRIx64
				" from USN %" PRId64 "\n",
			u->source, info.id, info.next_usn);
	struct watch_batch batch;
	if (watch_batch_init(&batch)) {
		fputs("uffs: out of memory\n", stderr);
		return UFFS_EXIT_ERROR;
	}
	u->batch = &batch;
	u->l = l;
	int64_t start = info.next_usn;
	time_t t0 = time(NULL);
	rc = 0;
	int status = UFFS_EXIT_OK;
	while (!(u->watch_count && u->shown >= u->watch_count) &&
	       !(u->watch_seconds &&
		 (unsigned long long)(time(NULL) - t0) >= u->watch_seconds)) {
		uint64_t n = 0;
		rc = uffs_live_journal_read(&ops, info.id, &start, true, 500,
					    watch_keep, on_damage, u, &n);
		if (rc)
			break;
		if ((status = watch_flush(u, l)))
			break;
		out_flush(&u->o);
		fflush(stdout);
	}
	u->l = NULL;
	u->batch = NULL;
	watch_batch_free(&batch);
	return status ? status : live_read_status(u, rc, start);
}

/* Only a live volume has a journal to follow: said before any scan. */
static int watch_source(struct usn_cmd *u, const char *path)
{
	struct uffs_file f;
	if (open_source(u, path, "uffs watch", &f))
		return UFFS_EXIT_ERROR;
	bool live = f.volume_prefix[0] != 0;
	uffs_file_close(&f);
	if (!live) {
		fprintf(stderr, "uffs watch: %s: not a live Windows volume: only a "
				"mounted volume's journal can be followed (read the "
				"journal of an image or a captured $J with uffs usn)\n",
			path);
		return UFFS_EXIT_USAGE;
	}
	struct uffs_loaded l;
	int rc = cli_load(&l, path, &u->common, true);
	if (rc)
		return rc;
	rc = follow_journal(u, &l);
	cli_unload(&l);
	return rc;
}

static int parse_usn_options(struct usn_cmd *u, int argc, char **argv,
			     bool *forced)
{
	static const struct option longopts[] = {
		{"format", required_argument, 0, 'f'},
		{"since", required_argument, 0, OPT_SINCE},
		{"reason", required_argument, 0, OPT_REASON},
		{"name", required_argument, 0, OPT_NAME},
		{"journal", no_argument, 0, OPT_JOURNAL},
		{"count", required_argument, 0, OPT_COUNT},
		{"for", required_argument, 0, OPT_FOR},
		{"help", no_argument, 0, 'h'},
		CLI_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	struct rows fmt = {.fmt = FMT_TEXT};
	char msg[200];
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:h" CLI_COMMON_SHORTOPTS, longopts,
				  NULL)) != -1) {
		int common = cli_common_option(&u->common, opt, optarg);
		if (common < 0)
			return -1;
		if (common > 0) {
			u->quiet = u->common.quiet;
			continue;
		}
		switch (opt) {
		case 'f':
			if (rows_parse_format(&fmt, optarg) || fmt.fmt == FMT_BODYFILE) {
				fputs("uffs usn: formats are text, csv, tsv and jsonl\n",
				      stderr);
				return -1;
			}
			u->fmt = fmt.fmt;
			break;
		case OPT_SINCE:
			if (parse_since(u, optarg)) {
				fprintf(stderr, "uffs: --since takes a USN or a time, not '%s'\n",
					optarg);
				return -1;
			}
			break;
		case OPT_REASON:
			if (parse_reasons(optarg, &u->reasons))
				return -1;
			break;
		case OPT_NAME:
			if (u->name_on)
				uffs_matcher_free(&u->name);
			if (uffs_matcher_init(&u->name, optarg, UFFS_MATCH_GLOB,
					      u->upcase, false, '/', msg,
					      sizeof msg)) {
				fprintf(stderr, "uffs: --name: %s\n", msg);
				return -1;
			}
			u->name_on = true;
			break;
		case OPT_JOURNAL:
			*forced = true;
			break;
		case OPT_COUNT:
		case OPT_FOR: {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (!u->watch || *end || end == optarg || v == 0) {
				fprintf(stderr, "uffs %s: --%s takes a positive number%s\n",
					u->cmd, opt == OPT_COUNT ? "count" : "for",
					u->watch ? "" : " (uffs watch only)");
				return -1;
			}
			*(opt == OPT_COUNT ? &u->watch_count : &u->watch_seconds) = v;
			break;
		}
		case 'h':
			fputs(u->watch ? watch_help : usn_help, stdout);
			return 1;
		default:
			fprintf(stderr, "try 'uffs %s --help'\n", u->cmd);
			return -1;
		}
	}
	return 0;
}

static int run_usn(int argc, char **argv, bool watch)
{
	struct usn_cmd *u = calloc(1, sizeof *u);
	bool forced = false;
	if (!u || !(u->upcase = malloc(UFFS_UPCASE_BYTES))) {
		free(u);
		fputs("uffs: out of memory\n", stderr);
		return UFFS_EXIT_ERROR;
	}
	uffs_upcase_default(u->upcase);
	u->watch = watch;
	u->cmd = watch ? "watch" : "usn";
	u->fmt = FMT_TEXT;
	u->common = (struct cli_common)CLI_COMMON_INIT;
	u->common.need_source = true;
	u->common.failure_hint = "not a captured $UsnJrnl:$J stream either (--journal reads it as one)";
	u->path_buf = malloc(PATH_CAP);
	if (!u->path_buf) {
		free(u->upcase);
		free(u);
		fputs("uffs: out of memory\n", stderr);
		return UFFS_EXIT_ERROR;
	}
	int rc = parse_usn_options(u, argc, argv, &forced);
	if (rc == 0 && optind >= argc) {
		fprintf(stderr, "uffs %s: no SOURCE given (try 'uffs %s --help')\n",
			u->cmd, u->cmd);
		rc = -1;
	}
	if (rc == 0 && watch && argc - optind > 2) {
		fputs("uffs watch: one SOURCE and at most one PATTERN (try 'uffs watch --help')\n",
		      stderr);
		rc = -1;
	}
	char msg[200];
	if (rc == 0 && watch && argc - optind == 2) {
		if (u->name_on)
			uffs_matcher_free(&u->name);
		u->name_on = false;
		if (uffs_matcher_init(&u->name, argv[optind + 1], UFFS_MATCH_GLOB,
				      u->upcase, false, '/', msg, sizeof msg)) {
			fprintf(stderr, "uffs watch: PATTERN: %s\n", msg);
			rc = -1;
		} else {
			u->name_on = true;
		}
	}
	int status = rc < 0 ? UFFS_EXIT_USAGE : UFFS_EXIT_OK;
	if (rc == 0 && out_init(&u->o, stdout) == 0) {
		if (u->fmt == FMT_CSV || u->fmt == FMT_TSV) {
			char c = u->fmt == FMT_CSV ? ',' : '\t';
			fprintf(stdout, delimited_header, c, c, c, c, c, c, c, c, c,
				c, c, c, c, c, c);
		}
		for (int i = optind; i < (watch ? optind + 1 : argc); i++) {
			int s = watch ? watch_source(u, argv[i])
				      : usn_source(u, argv[i], forced);
			if (s)
				status = s;
		}
		if (out_finish(&u->o)) {
			perror("uffs: writing output");
			status = UFFS_EXIT_ERROR;
		}
		if (status == UFFS_EXIT_OK && u->damaged)
			status = UFFS_EXIT_WARNINGS;
	}
	if (u->name_on)
		uffs_matcher_free(&u->name);
	if (status == UFFS_EXIT_OK && u->common.warnings)
		status = UFFS_EXIT_WARNINGS;
	free(u->path_buf);
	free(u->upcase);
	free(u);
	return status;
}

int cmd_usn(int argc, char **argv)
{
	return run_usn(argc, argv, false);
}

int cmd_watch(int argc, char **argv)
{
	return run_usn(argc, argv, true);
}
