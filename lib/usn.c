/* The change journal through the library: the records of $J one at a time,
 * read a block (1 MiB of the journal) at a time through the same cursor
 * `uffs usn` reads with, so memory stays bounded however long the journal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/bytes.h"
#include "../mft/usn.h"
#include "../scan/journal.h"
#include "internal.h"

/* A record of the current block; its name and extents live in `bytes`. */
struct held {
	struct uffs_usn_record r;
	size_t name_at, ext_at;
};

struct uffs_usn {
	struct uffs_db_options opts;
	char *source;
	int64_t since;
	struct uffs_file f;
	bool file_open;
	struct uffs_loaded l;
	bool loaded;
	struct uffs_journal j;
	bool journal_open;
	struct uffs_journal_cursor c;
	bool cursor_open;
	struct held *recs;
	size_t n, cap, next;
	char *bytes;
	size_t bytes_len, bytes_cap;
	bool ended, failed, nomem;
	uint64_t damaged;
	char error[512];
};

static bool reserve_bytes(uffs_usn *j, size_t more)
{
	if (j->bytes_len + more <= j->bytes_cap)
		return true;
	size_t cap = j->bytes_cap ? j->bytes_cap : 64u << 10;
	while (cap < j->bytes_len + more)
		cap *= 2;
	char *b = realloc(j->bytes, cap);
	if (!b)
		return false;
	j->bytes = b;
	j->bytes_cap = cap;
	return true;
}

static bool reserve_record(uffs_usn *j)
{
	if (j->n < j->cap)
		return true;
	size_t cap = j->cap ? 2 * j->cap : 1024;
	struct held *h = realloc(j->recs, cap * sizeof *h);
	if (!h)
		return false;
	j->recs = h;
	j->cap = cap;
	return true;
}

/* Copies one parsed record (its bytes belong to the block) into the
 * block's list. */
static void keep(void *ctx, const struct usn_record *u)
{
	uffs_usn *j = ctx;
	if (u->usn < j->since || j->nomem)
		return;
	size_t units = u->name ? u->name_len / 2u : 0;
	size_t need = 3 * units + 8 + (size_t)u->n_extents * 2 * sizeof(int64_t);
	if (!reserve_record(j) || !reserve_bytes(j, need)) {
		j->nomem = true;
		return;
	}
	struct held *h = &j->recs[j->n++];
	h->r = (struct uffs_usn_record){
		.usn = u->usn, .major = u->major, .minor = u->minor,
		.frs = usn_ref_frs(u->file_ref), .seq = usn_ref_seq(u->file_ref),
		.parent_frs = usn_ref_frs(u->parent_ref),
		.parent_seq = usn_ref_seq(u->parent_ref),
		.reason = u->reason, .source_info = u->source_info,
	};
	h->name_at = j->bytes_len;
	if (u->major < 4) {
		h->r.has_name = 1;
		h->r.time = u->time;
		h->r.attributes = u->attributes;
		h->r.security_id = u->security_id;
		h->r.name_len = mft_utf16_to_wtf8(u->name, units,
						  j->bytes + j->bytes_len);
		j->bytes_len += h->r.name_len;
	}
	/* extents as int64 pairs, aligned for them */
	j->bytes_len = (j->bytes_len + 7) & ~(size_t)7;
	h->ext_at = j->bytes_len;
	h->r.n_extents = u->n_extents;
	for (uint32_t k = 0; k < 2u * u->n_extents; k++) {
		int64_t v = (int64_t)le64(u->extents + 8 * (size_t)k);
		memcpy(j->bytes + j->bytes_len, &v, sizeof v);
		j->bytes_len += sizeof v;
	}
}

static void skipped(void *ctx, const struct mft_error *e)
{
	uffs_usn *j = ctx;
	j->damaged++;
	if (!j->opts.warning)
		return;
	char text[256];
	snprintf(text, sizeof text, "journal byte %llu: %s (skipped)",
		 (unsigned long long)e->offset, e->what);
	j->opts.warning(j->opts.ctx, text);
}

/* Reads blocks until one holds a record wanted: 1, 0 at the end, -1. */
static int fill(uffs_usn *j)
{
	j->n = j->next = j->bytes_len = 0;
	while (j->n == 0) {
		uint64_t at = 0;
		struct mft_error err;
		int rc = uffs_journal_cursor_next(&j->c, keep, skipped, j, &at, &err);
		if (j->nomem) {
			snprintf(j->error, sizeof j->error, "%s: out of memory",
				 j->source);
			return -1;
		}
		if (rc == 0)
			return 0;
		if (rc < 0) {
			snprintf(j->error, sizeof j->error,
				 "%s: %s at byte %llu: %s", j->source,
				 j->file_open ? "the $J file" : "$UsnJrnl:$J",
				 (unsigned long long)at, err.what);
			return -1;
		}
	}
	return 1;
}

int uffs_usn_next(uffs_usn *j, struct uffs_usn_record *r)
{
	if (j->next == j->n) {
		if (j->ended)
			return 0;
		if (j->failed)
			return -1;
		int rc = fill(j);
		if (rc <= 0) {
			j->ended = rc == 0;
			j->failed = rc < 0;
			return rc;
		}
	}
	const struct held *h = &j->recs[j->next++];
	*r = h->r;
	r->name = h->r.has_name ? j->bytes + h->name_at : NULL;
	r->extents = h->r.n_extents ? (const int64_t *)(j->bytes + h->ext_at) : NULL;
	return 1;
}

const char *uffs_usn_error(const uffs_usn *j)
{
	return j->error;
}

uint64_t uffs_usn_damaged(const uffs_usn *j)
{
	return j->damaged;
}

void uffs_usn_close(uffs_usn *j)
{
	if (!j)
		return;
	if (j->cursor_open)
		uffs_journal_cursor_free(&j->c);
	if (j->journal_open)
		uffs_journal_close(&j->j);
	if (j->loaded)
		uffs_unload(&j->l);
	if (j->file_open)
		uffs_file_close(&j->f);
	free(j->recs);
	free(j->bytes);
	free(j->source);
	free(j);
}

/* A volume: its index says where $UsnJrnl is (names are enough). */
static int open_volume_journal(uffs_usn *j, char *err, size_t err_cap)
{
	struct uffs_load_opts lo = {
		.index = true,
		.refuse_saved = true,
		.warning = uffs_lib_on_warning,
		.ctx = &j->opts,
	};
	if (uffs_lib_options(&j->opts, &lo.scan, &lo.src))
		return uffs_lib_fail(err, err_cap, UFFS_ERR_USAGE, j->source,
				     "unknown mode or backend, or a bad option value");
	lo.scan.names_only = true;
	char why[512];
	int rc = uffs_load(&j->l, j->source, &lo, why, sizeof why);
	if (rc)
		return uffs_lib_fail(err, err_cap,
				     rc == MFT_E_NOMEM   ? UFFS_ERR_NOMEM
				     : rc == MFT_E_USAGE ? UFFS_ERR_USAGE
							 : UFFS_ERR_SOURCE,
				     j->source, why);
	j->loaded = true;
	uint64_t frs = uffs_journal_find(&j->l.idx);
	if (frs == UFFS_JOURNAL_NONE)
		return uffs_lib_fail(err, err_cap, UFFS_ERR_SOURCE, j->source,
				     "the volume has no change journal ($Extend/$UsnJrnl)");
	struct mft_error e;
	if (uffs_journal_open(&j->l.vol, frs, &j->j, &e)) {
		snprintf(why, sizeof why, "$UsnJrnl:$J: %s", e.what);
		return uffs_lib_fail(err, err_cap, UFFS_ERR_SOURCE, j->source, why);
	}
	j->journal_open = true;
	uint64_t from = j->since > 0 ? (uint64_t)j->since : 0;
	if (uffs_journal_cursor_volume(&j->c, &j->l.vol, &j->j, from, &e))
		return uffs_lib_fail(err, err_cap, UFFS_ERR_NOMEM, j->source,
				     "out of memory");
	j->cursor_open = true;
	return UFFS_OK;
}

static int open_journal(uffs_usn *j, unsigned flags, char *err, size_t err_cap)
{
	int os_error = 0;
	const char *what = NULL;
	if (uffs_file_open(j->source, &j->f, &os_error, &what))
		return uffs_lib_fail(err, err_cap, UFFS_ERR_SOURCE, j->source,
				     uffs_file_strerror(os_error));
	j->file_open = true;
	if (!(flags & UFFS_USN_STREAM) && !uffs_journal_file_looks(&j->f)) {
		uffs_file_close(&j->f);
		j->file_open = false;
		return open_volume_journal(j, err, err_cap);
	}
	struct mft_error e;
	if (uffs_journal_cursor_file(&j->c, &j->f, &e))
		return uffs_lib_fail(err, err_cap, UFFS_ERR_NOMEM, j->source,
				     "out of memory");
	j->cursor_open = true;
	return UFFS_OK;
}

int uffs_usn_open(const char *source, const struct uffs_db_options *opts,
		  unsigned flags, int64_t since, uffs_usn **out, char *err,
		  size_t err_cap)
{
	*out = NULL;
	if (!source)
		return uffs_lib_fail(err, err_cap, UFFS_ERR_USAGE, "(null)",
				     "no source");
	if (flags & ~(unsigned)UFFS_USN_STREAM)
		return uffs_lib_fail(err, err_cap, UFFS_ERR_USAGE, source,
				     "unknown flags");
	uffs_usn *j = calloc(1, sizeof *j);
	if (!j || !(j->source = strdup(source))) {
		free(j);
		return uffs_lib_fail(err, err_cap, UFFS_ERR_NOMEM, source,
				     "out of memory");
	}
	if (opts)
		j->opts = *opts;
	else
		uffs_db_options_init(&j->opts);
	j->since = since;
	int rc = open_journal(j, flags, err, err_cap);
	if (rc) {
		uffs_usn_close(j);
		return rc;
	}
	*out = j;
	return UFFS_OK;
}
