/* uffs index --update: the journal names what changed; those records are
 * read again, the rest copied from the saved index. */
#include "update.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/ntfs_format.h"
#include "../source/proc.h"
#include "journal.h"
#include "live_record.h"
#include "scan.h"

/* Records 0-15 are the metafiles and 16-23 reserved for them: they change
 * without journal records ($MFT, $Bitmap, $LogFile, $Secure, ...). */
#define SYSTEM_RECORDS 24u
/* How far up a parent chain to look for $Extend. */
#define EXTEND_DEPTH 16u

/* What is done with a record: read again (else copied); an extension
 * record is read but its own list not followed; one the journal names is
 * asked of the file system first (a live volume's copy may be stale). */
enum {
	MARK_READ = 1,
	MARK_EXTENSION = 2,
	MARK_CURRENT = 4,
};

struct marks {
	uint8_t *m;
	uint64_t n;
};

static void mark(struct marks *k, uint64_t r)
{
	if (r < k->n)
		k->m[r] |= MARK_READ | MARK_CURRENT;
}

/* ---- what the journal says changed ----------------------------------------- */

struct follow {
	struct marks *k;
	uint64_t from;
	uint64_t records;
};

static void on_record(void *ctx, const struct usn_record *r)
{
	struct follow *f = ctx;
	if (r->usn < 0 || (uint64_t)r->usn < f->from)
		return;
	f->records++;
	/* The file and its directory: a name added to or taken from a
	 * directory changes the directory's index, which is not journaled. */
	mark(f->k, usn_ref_frs(r->file_ref));
	mark(f->k, usn_ref_frs(r->parent_ref));
}

static void on_damage(void *ctx, const struct mft_error *e)
{
	(void)ctx;
	(void)e; /* a torn record names nothing; the walk goes on */
}

/* Why the journal cannot bring the index up to date, or "" when it can. */
static void check_position(const struct uffs_idxfile_facts *f,
			   const struct uffs_journal *j, char *why, size_t cap)
{
	const struct uffs_extent *at = NULL;
	for (size_t i = 0; i < j->j.n_ext; i++)
		if (j->j.ext[i].mft_off <= f->journal_next_usn &&
		    f->journal_next_usn - j->j.ext[i].mft_off < j->j.ext[i].len)
			at = &j->j.ext[i];
	why[0] = '\0';
	if (!j->has_max)
		snprintf(why, cap, "the journal has no $Max stream (no journal ID)");
	else if (j->id != f->journal_id)
		snprintf(why, cap,
			 "the journal was recreated (ID %016" PRIx64
			 ", the index has %016" PRIx64 ")",
			 j->id, f->journal_id);
	else if (j->next_usn < f->journal_next_usn)
		snprintf(why, cap,
			 "the journal is behind the index's position (it ends at USN %" PRIu64
			 ", the index has %" PRIu64 ")",
			 j->next_usn, f->journal_next_usn);
	else if ((j->lowest_valid > 0 &&
		  (uint64_t)j->lowest_valid > f->journal_next_usn) ||
		 (at && at->vol_off == UFFS_SPARSE_OFFSET))
		snprintf(why, cap,
			 "the journal has wrapped past the index's position (USN %" PRIu64
			 " is gone)",
			 f->journal_next_usn);
}

/* ---- what else is read again ----------------------------------------------- */

/* Whether record r lies under $Extend, by its first name's parents. */
static bool under_extend(const struct uffs_index *idx, uint64_t r)
{
	for (unsigned d = 0; d < EXTEND_DEPTH; d++) {
		if (idx->link_first[r] == idx->link_first[r + 1])
			return false;
		uint64_t p = MFT_REF_FRS(idx->links.parent[idx->link_first[r]]);
		if (p == MFT_FRS_EXTEND)
			return true;
		if (p == r || p >= idx->n_records)
			return false;
		r = p;
	}
	return false;
}

/* Rows a finished index merged in from extension records. */
static bool has_rows_from_extensions(const struct uffs_index *idx, uint64_t r)
{
	UFFS_FOR_EACH_LINK(idx, r, i)
	if (idx->links.flags[i] & UFFS_LINK_FROM_EXT)
		return true;
	UFFS_FOR_EACH_STREAM(idx, r, s)
	if (idx->streams.flags[s] & UFFS_STREAM_FROM_EXT)
		return true;
	return false;
}

/* Records a copy could get wrong whatever the journal says: the system
 * records, $Extend's, ones built from several records, damaged ones, and
 * ones the saved index does not have. */
static void mark_unjournaled(const struct uffs_index *old, struct marks *k)
{
	for (uint64_t r = 0; r < k->n; r++) {
		if (r < SYSTEM_RECORDS || r >= old->n_records) {
			k->m[r] |= MARK_READ;
			continue;
		}
		uint16_t f = old->rflags[r];
		if (!(f & UFFS_REC_PRESENT) ||
		    (f & (UFFS_REC_EXTENSION | UFFS_REC_DAMAGED |
			  UFFS_REC_ATTR_LIST)) ||
		    has_rows_from_extensions(old, r) || under_extend(old, r))
			k->m[r] |= MARK_READ;
	}
}

/* The extension records that marked records list now: a file that grew
 * an attribute list got them without a journal record of their own. */
static int mark_extensions(const struct uffs_volume *v, struct marks *k,
			   struct mft_error *err)
{
	for (uint64_t r = 0; r < k->n; r++) {
		if (!(k->m[r] & MARK_READ) || (k->m[r] & MARK_EXTENSION))
			continue;
		uint64_t *ext;
		size_t n;
		struct mft_error ignored;
		/* An unreadable list leaves the record to the parse, which
		 * reports it as a scan would. */
		if (uffs_volume_list_extensions(v, r, &ext, &n, &ignored)) {
			if (ignored.code == MFT_E_NOMEM) {
				*err = ignored;
				return MFT_E_NOMEM;
			}
			continue;
		}
		for (size_t i = 0; i < n; i++)
			if (ext[i] < k->n && !k->m[ext[i]])
				k->m[ext[i]] = MARK_READ | MARK_EXTENSION |
					       (k->m[r] & MARK_CURRENT);
		free(ext);
	}
	return MFT_OK;
}

/* ---- building ------------------------------------------------------------------ */

static int read_again(const struct uffs_volume *v, struct uffs_index *out,
		      uint64_t r, bool current, uint8_t *buf,
		      struct mft_record_view *view,
		      const struct uffs_warn_sink *warn,
		      struct uffs_update_counts *c, struct mft_error *err)
{
	enum uffs_record_origin origin = UFFS_RECORD_FROM_VOLUME;
	int rc = current ? uffs_volume_read_current(v, r, buf, warn, &origin,
						    err)
			 : uffs_volume_read_records(v, r, 1, buf, err);
	if (rc)
		return rc;
	c->reread++;
	c->from_fs += origin == UFFS_RECORD_FROM_FS;
	c->freed += origin == UFFS_RECORD_FREED;
	/* As the scan does: record 0 unusable, the volume opened through its
	 * mirror, whose copy is what is indexed. */
	if (r == 0 && v->mirror_rec0)
		memcpy(buf, v->mirror_rec0, v->record_size);
	return uffs_scan_record(v, out, buf, r, view, warn, err);
}

static int build(const struct uffs_index *old, const struct uffs_volume *v,
		 const struct marks *k, const struct uffs_index_opts *o,
		 const struct uffs_warn_sink *warn, struct uffs_index *out,
		 struct uffs_update_counts *c, struct mft_error *err)
{
	int rc = uffs_index_init_with(out, v->n_records, v->record_size, o, err);
	if (rc)
		return rc;
	uint8_t *buf = malloc(v->record_size);
	struct mft_record_view *view = malloc(sizeof *view);
	if (!buf || !view)
		rc = mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	for (uint64_t r = 0; r < v->n_records && rc == MFT_OK; r++) {
		if (k->m[r]) {
			rc = read_again(v, out, r, k->m[r] & MARK_CURRENT, buf,
					view, warn, c, err);
		} else {
			rc = uffs_index_copy_record(out, old, r, err);
		}
	}
	free(buf);
	free(view);
	if (rc == MFT_OK)
		rc = uffs_index_finish(out, err);
	if (rc)
		uffs_index_free(out);
	return rc;
}

int uffs_update(const struct uffs_index *old,
		const struct uffs_idxfile_facts *facts,
		const struct uffs_volume *v, const struct uffs_warn_sink *warn,
		struct uffs_index *out, struct uffs_update_result *res,
		struct mft_error *err)
{
	*res = (struct uffs_update_result){.from_usn = facts->journal_next_usn};
	if (!v->has_boot)
		return mft_fail(err, MFT_E_USAGE, MFT_NO_FRS, MFT_NO_OFFSET,
				"a captured $MFT has no change journal: update from the volume");
	if (facts->has_boot && facts->serial != v->boot.serial) {
		mft_fail(err, MFT_E_USAGE, MFT_NO_FRS, MFT_NO_OFFSET,
			 "the index was made from another volume");
		snprintf(err->detail, sizeof err->detail,
			 "serial number %016" PRIX64 ", this one has %016" PRIX64,
			 facts->serial, v->boot.serial);
		return MFT_E_USAGE;
	}
	if (!facts->has_journal) {
		snprintf(res->rescan_why, sizeof res->rescan_why,
			 "the index has no journal position (the volume had no change journal when it was made)");
		return MFT_OK;
	}
	uint64_t jfrs = uffs_journal_find(old);
	struct uffs_journal j;
	struct mft_error jerr;
	if (jfrs == UFFS_JOURNAL_NONE || uffs_journal_open(v, jfrs, &j, &jerr)) {
		snprintf(res->rescan_why, sizeof res->rescan_why,
			 "the volume's change journal is gone (deleted, or moved to another record)");
		return MFT_OK;
	}
	check_position(facts, &j, res->rescan_why, sizeof res->rescan_why);
	if (res->rescan_why[0]) {
		uffs_journal_close(&j);
		return MFT_OK;
	}
	struct marks k = {calloc(v->n_records + 1, 1), v->n_records};
	if (!k.m) {
		uffs_journal_close(&j);
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	}
	struct follow f = {&k, facts->journal_next_usn, 0};
	uint64_t fail_at = 0;
	int rc = uffs_journal_read(v, &j, f.from, on_record, on_damage, &f,
				   &fail_at, err);
	res->records = f.records;
	res->journal_id = j.id;
	res->next_usn = j.next_usn;
	uffs_journal_close(&j);
	if (rc == MFT_OK) {
		mark_unjournaled(old, &k);
		rc = mark_extensions(v, &k, err);
	}
	const struct uffs_index_opts o = {.keep_fn_times = true,
					  .mem = &uffs_mem_large};
	if (rc == MFT_OK)
		rc = build(old, v, &k, &o, warn, out, &res->counts, err);
	res->reread = res->counts.reread;
	free(k.m);
	return rc;
}

int uffs_update_records(const struct uffs_index *old,
			const struct uffs_volume *v, const uint64_t *frs,
			size_t n, const struct uffs_warn_sink *warn,
			struct uffs_index *out,
			struct uffs_update_counts *counts,
			struct mft_error *err)
{
	*counts = (struct uffs_update_counts){0};
	if (old->n_records > v->n_records)
		return mft_fail(err, MFT_E_USAGE, MFT_NO_FRS, MFT_NO_OFFSET,
				"the index is not this volume's");
	struct marks k = {calloc(v->n_records + 1, 1), v->n_records};
	if (!k.m)
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	for (size_t i = 0; i < n; i++)
		mark(&k, frs[i]);
	mark_unjournaled(old, &k);
	int rc = mark_extensions(v, &k, err);
	const struct uffs_index_opts o = {.keep_fn_times = old->keep_fn_times,
					  .names_only = old->names_only,
					  .mem = old->mem};
	if (rc == MFT_OK)
		rc = build(old, v, &k, &o, warn, out, counts, err);
	free(k.m);
	return rc;
}
