/* Loading a source (see load.h): each step once, for the command and the
 * library alike. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/upcase.h"
#include "../source/vss.h"
#include "load.h"
#include "update.h"

static void on_warning(void *ctx, const struct mft_error *e)
{
	struct uffs_loaded *l = ctx;
	const struct uffs_load_opts *o = l->opts;
	__atomic_add_fetch(&l->warnings, 1, __ATOMIC_RELAXED);
	if (!o->warning)
		return;
	char text[512];
	uffs_error_text(e, l->vol_open ? &l->vol : NULL, false, text,
			sizeof text);
	o->warning(o->ctx, text);
}

static void note(const struct uffs_load_opts *o, const char *text)
{
	if (o->note)
		o->note(o->ctx, text);
}

/* The failure as one line, located through the volume while it is open. */
static int failed(struct uffs_loaded *l, int rc, const struct mft_error *e,
		  char *why, size_t cap)
{
	if (cap)
		uffs_error_text(e, l->vol_open ? &l->vol : NULL, true, why, cap);
	return rc;
}

/* A saved index: mapped and checked, nothing scanned; the warnings of the
 * scan that made it are told once. */
static int load_saved(struct uffs_loaded *l, const char *path,
		      const struct uffs_load_opts *o, struct mft_error *e)
{
	if (o->refuse_saved)
		return mft_fail(e, MFT_E_UNSUPPORTED, MFT_NO_FRS, MFT_NO_OFFSET,
				"a saved index; this command needs an NTFS source (an image, device or $MFT file)");
	l->saved = calloc(1, sizeof *l->saved);
	if (!l->saved)
		return mft_fail(e, MFT_E_NOMEM, MFT_NO_FRS, MFT_NO_OFFSET,
				"out of memory");
	const struct uffs_scan_opts *so = &o->scan;
	int rc = uffs_saved_open(l->saved, path, so->skip_unused,
				 so->chunk_bytes, so->keep_fn_times, &l->src,
				 &l->vol, &l->idx, &l->upcase, e);
	if (rc) {
		free(l->saved);
		l->saved = NULL;
		return rc;
	}
	if (o->index) {
		rc = uffs_tree_build(&l->tree, &l->idx, e);
		l->tree_built = rc == MFT_OK;
		if (rc)
			return rc;
	}
	char text[512];
	snprintf(text, sizeof text, "saved index of %s, %" PRIu64 " records",
		 l->saved->source_path, l->idx.n_records);
	note(o, text);
	l->warnings = l->saved->facts.warnings;
	if (l->warnings && o->warning) {
		snprintf(text, sizeof text,
			 "the scan that made this index gave %" PRIu64
			 " warning(s) (damaged records skipped)",
			 l->warnings);
		o->warning(o->ctx, text);
	}
	return MFT_OK;
}

/* The volume's own $UpCase (record 10's unnamed $DATA). A source without
 * one (a captured $MFT), or with a damaged one (a warning), leaves
 * l->upcase NULL: the built-in table applies. */
static void load_upcase(struct uffs_loaded *l, const struct uffs_load_opts *o,
			const struct uffs_warn_sink *sink)
{
	struct mft_error err = {0};
	uint16_t *table = malloc(UFFS_UPCASE_BYTES);
	int rc = table ? uffs_volume_read_upcase(&l->vol, table, &err)
		       : mft_fail(&err, MFT_E_NOMEM, MFT_NO_FRS, 0,
				  "out of memory");
	if (rc == MFT_OK) {
		l->upcase = l->upcase_owned = table;
		note(o, "case folds through the volume's $UpCase");
		return;
	}
	free(table);
	if (rc != MFT_E_USAGE) /* damage; a captured $MFT just has none */
		sink->warn(sink->ctx, &err);
	else
		note(o, "a captured $MFT has no $UpCase: the built-in table folds case");
}

static int load_volume(struct uffs_loaded *l, const char *path,
		       const struct uffs_load_opts *o, struct mft_error *e)
{
	struct uffs_warn_sink sink = {on_warning, l};
	int rc = uffs_source_open(&l->src, path, &o->src, e);
	if (rc)
		return rc;
	rc = uffs_volume_open(&l->vol, &l->src, &sink, e);
	if (rc) {
		uffs_source_close(&l->src);
		return rc;
	}
	l->vol_open = true;
	char text[256];
	snprintf(text, sizeof text,
		 "%s, %" PRIu64 " records of %u bytes in %zu extents",
		 l->src.container, l->vol.n_records, l->vol.record_size,
		 l->vol.n_ext);
	note(o, text);
	if (o->upcase)
		load_upcase(l, o, &sink);
	if (!o->index)
		return MFT_OK;
	struct uffs_scan_opts so = o->scan;
	so.progress = o->progress;
	so.progress_ctx = o->ctx;
	rc = uffs_scan(&l->vol, &so, &l->idx, &l->stats, &sink, e);
	l->scanned = rc == MFT_OK;
	if (rc == MFT_OK) {
		rc = uffs_tree_build(&l->tree, &l->idx, e);
		l->tree_built = rc == MFT_OK;
	}
	if (rc == MFT_OK)
		uffs_warn_parent_loops(&l->tree, &sink);
	return rc;
}

int uffs_load(struct uffs_loaded *l, const char *path,
	      const struct uffs_load_opts *o, char *why, size_t why_cap)
{
	struct mft_error e = {0};
	memset(l, 0, sizeof *l);
	l->opts = o;
	l->store = o->src.vss_store;
	int rc = uffs_saved_is(path) ? load_saved(l, path, o, &e)
				     : load_volume(l, path, o, &e);
	if (rc) {
		failed(l, rc, &e, why, why_cap);
		uffs_unload(l);
	}
	l->opts = NULL;
	return rc;
}

/* Records named past the $MFT as mapped mean it grew since the scan: the
 * volume is mapped again (its record 0 as it is now) and kept when it maps
 * more. */
static int map_growth(struct uffs_loaded *l, const uint64_t *frs, size_t n,
		      const struct uffs_warn_sink *sink,
		      struct uffs_update_counts *counts, struct mft_error *e)
{
	size_t past = 0;
	for (size_t i = 0; i < n; i++)
		past += frs[i] >= l->vol.n_records;
	if (!past)
		return MFT_OK;
	struct uffs_volume grown;
	int rc = uffs_volume_open(&grown, &l->src, sink, e);
	if (rc)
		return rc;
	if (grown.n_records > l->vol.n_records) {
		counts->grown = grown.n_records - l->vol.n_records;
		uffs_volume_close(&l->vol);
		l->vol = grown;
	} else {
		uffs_volume_close(&grown);
	}
	for (size_t i = 0; i < n; i++)
		counts->beyond += frs[i] >= l->vol.n_records;
	return MFT_OK;
}

int uffs_load_refresh(struct uffs_loaded *l, const uint64_t *frs, size_t n,
		      const struct uffs_load_opts *o,
		      struct uffs_update_counts *counts, char *why,
		      size_t why_cap)
{
	struct mft_error e = {0};
	*counts = (struct uffs_update_counts){0};
	if (l->saved || !l->scanned || !l->tree_built)
		return failed(l, mft_fail(&e, MFT_E_USAGE, MFT_NO_FRS,
					  MFT_NO_OFFSET,
					  "only a scanned volume can be refreshed"),
			      &e, why, why_cap);
	l->opts = o;
	struct uffs_warn_sink sink = {on_warning, l};
	struct uffs_index fresh;
	struct uffs_tree tree;
	struct uffs_update_counts growth = {0};
	int rc = map_growth(l, frs, n, &sink, &growth, &e);
	if (rc == MFT_OK)
		rc = uffs_update_records(&l->idx, &l->vol, frs, n, &sink,
					 &fresh, counts, &e);
	counts->grown = growth.grown;
	counts->beyond = growth.beyond;
	if (rc == MFT_OK) {
		rc = uffs_tree_build(&tree, &fresh, &e);
		if (rc)
			uffs_index_free(&fresh);
	}
	if (rc == MFT_OK) {
		uffs_tree_free(&l->tree);
		uffs_index_free(&l->idx);
		l->idx = fresh;
		l->tree = tree; /* parent loops were told at the load */
	}
	l->opts = NULL;
	return rc ? failed(l, rc, &e, why, why_cap) : MFT_OK;
}

void uffs_unload(struct uffs_loaded *l)
{
	if (l->tree_built)
		uffs_tree_free(&l->tree);
	free(l->upcase_owned);
	l->upcase = l->upcase_owned = NULL;
	if (l->saved) {
		uffs_saved_close(l->saved);
		free(l->saved);
		l->saved = NULL;
	} else if (l->vol_open) {
		if (l->scanned)
			uffs_index_free(&l->idx);
		uffs_volume_close(&l->vol);
		uffs_source_close(&l->src);
	}
	l->tree_built = l->scanned = l->vol_open = false;
}

int uffs_load_count_stores(const char *path, const struct uffs_source_opts *so,
			   int *n, char *why, size_t why_cap)
{
	*n = 0;
	if (uffs_saved_is(path))
		return MFT_OK;
	struct uffs_source src;
	struct mft_error err = {0};
	struct uffs_source_opts volume_only = *so;
	volume_only.vss_store = 0;
	int rc = uffs_source_open(&src, path, &volume_only, &err);
	if (rc == MFT_OK && src.kind == UFFS_SOURCE_VOLUME) {
		struct uffs_vss_store *s = calloc(UFFS_VSS_STORES_MAX, sizeof *s);
		rc = s ? uffs_vss_stores(&src, s, UFFS_VSS_STORES_MAX, n, &err)
		       : mft_fail(&err, MFT_E_NOMEM, MFT_NO_FRS, MFT_NO_OFFSET,
				  "out of memory");
		free(s);
		uffs_source_close(&src);
	} else if (rc == MFT_OK) {
		uffs_source_close(&src);
	}
	if (rc && why_cap)
		uffs_error_text(&err, NULL, true, why, why_cap);
	return rc;
}

/* ---- several sources at once --------------------------------------------- */

struct load_slot {
	const struct uffs_load_job *job;
	const struct uffs_load_opts *o;
	struct uffs_loaded *l;
	int rc;
	char why[512];
	pthread_t tid;
	bool started;
};

static void load_slot(struct load_slot *s)
{
	s->rc = MFT_E_NOMEM;
	snprintf(s->why, sizeof s->why, "out of memory");
	if (!s->l)
		return;
	struct uffs_load_opts o = *s->o;
	if (s->job->store >= 0)
		o.src.vss_store = s->job->store;
	if (s->job->ctx)
		o.ctx = s->job->ctx;
	s->rc = uffs_load(s->l, s->job->path, &o, s->why, sizeof s->why);
}

static void *load_thread(void *arg)
{
	load_slot(arg);
	return NULL;
}

static void start_slot(struct load_slot *s, bool thread)
{
	s->l = malloc(sizeof *s->l);
	s->started = thread && s->l &&
		     pthread_create(&s->tid, NULL, load_thread, s) == 0;
	if (!s->started)
		load_slot(s); /* no thread to be had: load here */
}

static void finish_slot(struct load_slot *s, int nth, uffs_load_done_fn done,
			void *ctx)
{
	if (s->started)
		pthread_join(s->tid, NULL);
	done(ctx, nth, s->job->path, s->rc ? NULL : s->l, s->rc,
	     s->rc ? s->why : "");
	if (s->rc == MFT_OK)
		uffs_unload(s->l);
	free(s->l);
	s->l = NULL;
}

int uffs_load_many(const struct uffs_load_job *jobs, int n, unsigned window,
		   const struct uffs_load_opts *o, uffs_load_done_fn done,
		   void *ctx)
{
	struct load_slot *slots = calloc(n > 0 ? (size_t)n : 1, sizeof *slots);
	if (!slots)
		return MFT_E_NOMEM;
	bool threads = n > 1 && window > 1;
	if (!window)
		window = 1;
	int started = 0;
	for (int i = 0; i < n; i++)
		slots[i] = (struct load_slot){.job = &jobs[i], .o = o};
	for (int i = 0; i < n; i++) {
		/* The source in use counts against the window: so at most
		 * `window` indexes are held at once. */
		for (; started < n && (unsigned)(started - i) < window; started++)
			start_slot(&slots[started], threads);
		finish_slot(&slots[i], i, done, ctx);
	}
	free(slots);
	return MFT_OK;
}
