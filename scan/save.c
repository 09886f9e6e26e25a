/* Saving an index file, and updating one from the change journal. */
#include "save.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../source/map.h"
#include "journal.h"

struct writer {
	struct uffs_outfile out;
	int os_error;
};

static int write_out(void *ctx, const void *p, size_t n)
{
	struct writer *w = ctx;
	return uffs_outfile_write(&w->out, p, n, &w->os_error);
}

/* The extents as the file stores them: (mft offset, volume offset,
 * length) triples. */
static uint64_t *extent_triples(const struct uffs_volume *v)
{
	uint64_t *t = malloc((v->n_ext * 3 + 1) * sizeof *t);
	for (size_t i = 0; t && i < v->n_ext; i++) {
		t[3 * i] = v->ext[i].mft_off;
		t[3 * i + 1] = v->ext[i].vol_off;
		t[3 * i + 2] = v->ext[i].len;
	}
	return t;
}

/* Where the volume's journal stands now, for the next update; nothing
 * when it has none (or no $Max to tell one journal from the next). */
static void note_journal(const struct uffs_loaded *l, const struct uffs_index *idx,
			 struct uffs_idxfile_facts *f)
{
	if (!l->vol.has_boot)
		return;
	uint64_t frs = uffs_journal_find(idx);
	struct uffs_journal j;
	struct mft_error ignored;
	if (frs == UFFS_JOURNAL_NONE || uffs_journal_open(&l->vol, frs, &j, &ignored))
		return;
	f->has_journal = j.has_max;
	f->journal_id = j.id;
	f->journal_next_usn = j.next_usn;
	uffs_journal_close(&j);
}

static void describe(const struct uffs_loaded *l, const struct uffs_index *idx,
		     uint64_t warnings, const struct uffs_update_result *pos,
		     struct uffs_idxfile_facts *f)
{
	const struct uffs_volume *v = &l->vol;
	*f = (struct uffs_idxfile_facts){0};
	f->indexed_at = (uint64_t)time(NULL);
	f->warnings = warnings;
	f->base = l->src.base;
	f->partition = l->src.partition;
	f->has_boot = v->has_boot;
	f->from_mirror = v->from_mirror;
	f->bytes_per_sector = v->boot.bytes_per_sector;
	f->cluster_size = v->boot.cluster_size;
	f->volume_size = v->boot.volume_size;
	f->mft_lcn = v->boot.mft_lcn;
	f->mftmirr_lcn = v->boot.mftmirr_lcn;
	f->serial = v->boot.serial;
	f->mft_size = v->mft_size;
	f->vol_records = v->n_records;
	memcpy(f->volume_prefix, l->src.file.volume_prefix, 4);
	f->volume_prefix[3] = '\0';
	/* Re-saving a saved index keeps what it was made from. */
	f->source_path = l->saved ? l->saved->source_path : l->src.path;
	f->source_path_len = strlen(f->source_path);
	f->container = l->src.container ? l->src.container : "";
	f->container_len = strlen(f->container);
	f->n_extents = v->n_ext;
	f->bitmap = v->bitmap;
	f->bitmap_len = v->bitmap ? v->bitmap_len : 0;
	f->upcase = l->upcase;
	if (pos) {
		f->has_journal = true;
		f->journal_id = pos->journal_id;
		f->journal_next_usn = pos->next_usn;
	} else if (l->saved) {
		f->has_journal = l->saved->facts.has_journal;
		f->journal_id = l->saved->facts.journal_id;
		f->journal_next_usn = l->saved->facts.journal_next_usn;
	} else {
		note_journal(l, idx, f);
	}
}

int uffs_save_index(const struct uffs_loaded *l, const struct uffs_index *idx,
		    uint64_t warnings, const struct uffs_update_result *pos,
		    const char *out_path, char *why, size_t why_cap)
{
	struct uffs_idxfile_facts f;
	describe(l, idx, warnings, pos, &f);
	uint64_t *triples = extent_triples(&l->vol);
	if (!triples) {
		snprintf(why, why_cap, "out of memory");
		return MFT_E_NOMEM;
	}
	f.extents = triples;
	struct writer w = {.os_error = 0};
	if (uffs_outfile_open(&w.out, out_path, &w.os_error)) {
		snprintf(why, why_cap, "%s: cannot create (%s)", out_path,
			 uffs_file_strerror(w.os_error));
		free(triples);
		return MFT_E_IO;
	}
	struct mft_error err = {0};
	int rc = uffs_idxfile_write(idx, &f, write_out, &w, &err);
	free(triples);
	if (rc) {
		uffs_outfile_abort(&w.out);
		if (rc == MFT_E_IO)
			snprintf(why, why_cap, "%s: cannot write (%s)", out_path,
				 uffs_file_strerror(w.os_error));
		else
			uffs_error_text(&err, NULL, true, why, why_cap);
		return rc;
	}
	if (uffs_outfile_commit(&w.out, &w.os_error)) {
		snprintf(why, why_cap, "%s: cannot write (%s)", out_path,
			 uffs_file_strerror(w.os_error));
		return MFT_E_IO;
	}
	return MFT_OK;
}

/* A new scan of src_path, saved: when the journal cannot help. */
static int rescan(const char *src_path, const char *out_path,
		  const struct uffs_load_opts *o, char *why, size_t why_cap)
{
	struct uffs_loaded l;
	int rc = uffs_load(&l, src_path, o, why, why_cap);
	if (rc)
		return rc;
	rc = uffs_save_index(&l, &l.idx, l.warnings, NULL, out_path, why, why_cap);
	uffs_unload(&l);
	return rc;
}

struct update_warn {
	const struct uffs_volume *vol;
	const struct uffs_load_opts *o;
	uint64_t n;
};

static void tell_warning(void *ctx, const struct mft_error *e)
{
	struct update_warn *w = ctx;
	w->n++;
	if (!w->o->warning)
		return;
	char text[512];
	uffs_error_text(e, w->vol, true, text, sizeof text);
	w->o->warning(w->o->ctx, text);
}

int uffs_update_file(const char *idx_path, const char *src_path,
		     const char *out_path, const struct uffs_load_opts *o,
		     struct uffs_update_result *res, char *why, size_t why_cap)
{
	*res = (struct uffs_update_result){0};
	struct uffs_load_opts oo = *o;
	oo.index = true;
	oo.refuse_saved = false;
	oo.warning = NULL;
	oo.note = NULL;
	oo.progress = NULL;
	struct uffs_loaded old, cur;
	int rc = uffs_load(&old, idx_path, &oo, why, why_cap);
	if (rc)
		return rc;
	if (!old.saved) {
		uffs_unload(&old);
		snprintf(why, why_cap, "%s: not an index file (made by uffs index)",
			 idx_path);
		return MFT_E_USAGE;
	}
	struct uffs_load_opts co = *o;
	co.index = false;
	co.refuse_saved = true;
	rc = uffs_load(&cur, src_path, &co, why, why_cap);
	if (rc) {
		uffs_unload(&old);
		return rc;
	}
	struct update_warn w = {&cur.vol, o, 0};
	struct uffs_warn_sink sink = {tell_warning, &w};
	struct uffs_index idx;
	struct mft_error err;
	rc = uffs_update(&old.idx, &old.saved->facts, &cur.vol, &sink, &idx, res,
			 &err);
	/* The saved file is no longer needed, and may be the one replaced. */
	uffs_unload(&old);
	if (rc)
		uffs_error_text(&err, &cur.vol, true, why, why_cap);
	if (rc || res->rescan_why[0]) {
		uffs_unload(&cur);
		return rc ? rc : rescan(src_path, out_path, o, why, why_cap);
	}
	rc = uffs_save_index(&cur, &idx, w.n, res, out_path, why, why_cap);
	uffs_index_free(&idx);
	uffs_unload(&cur);
	return rc;
}
