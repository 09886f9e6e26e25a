/*
 * Loading a source: the one path from a name to an index, under both the
 * uffs command (cli/) and libuffs (lib/). It opens any source (an image, a
 * device, a live volume, a captured $MFT, a container, a shadow-copy store,
 * or a saved index), maps its $MFT, reads $UpCase, scans with the caller's
 * options and progress, builds the tree and reports parent loops. Several
 * sources load at once, each with its own engine, under one limit.
 *
 * What the caller sees of the way: damage as warning texts, verbose notes
 * as texts, and on failure one line saying what went wrong and where. How
 * those are shown (stderr, a callback) is the caller's.
 */
#ifndef UFFS_LOAD_H
#define UFFS_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../mft/index.h"
#include "../mft/path.h"
#include "saved.h"
#include "scan.h"
#include "update.h"
#include "volume.h"

struct uffs_load_opts {
	struct uffs_source_opts src;
	struct uffs_scan_opts scan; /* its progress callback: see progress */
	bool index;        /* scan and build the tree; else open only */
	bool upcase;       /* read the volume's $UpCase */
	bool refuse_saved; /* the caller needs records: no saved index */
	/* A damaged record or structure, one line without the source's name
	 * (the count is also kept in uffs_loaded.warnings). Called from scan
	 * threads: the callee serialises its output. */
	void (*warning)(void *ctx, const char *text);
	/* What was found and chosen, for --verbose; NULL: not wanted. */
	void (*note)(void *ctx, const char *text);
	/* The scan's progress (see uffs_scan_opts), with ctx. */
	uffs_progress_fn progress;
	void *ctx;
};

struct uffs_loaded {
	struct uffs_source src;
	struct uffs_volume vol;
	struct uffs_index idx;
	struct uffs_tree tree;
	struct uffs_scan_stats stats;
	/* The volume's $UpCase table (65536 UTF-16 code units), so names
	 * compare without regard to case as NTFS compares them; NULL when the
	 * source has none or it was not asked for (a built-in table applies). */
	const uint16_t *upcase;
	uint16_t *upcase_owned; /* what uffs_unload frees */
	/* Non-NULL when the source is a saved index (uffs index): idx, tree,
	 * upcase and the facts of vol and src come from its mapping. */
	struct uffs_saved *saved;
	bool vol_open, scanned, tree_built;
	uint64_t warnings; /* damage reported (a saved index: its scan's) */
	int store;         /* the shadow-copy store read; 0: the volume */
	bool tag_store;    /* the caller tags rows with the store (--vss all) */
	/* During the load only: the options and, once mapped, the volume
	 * that locates a warning's record. */
	const struct uffs_load_opts *opts;
};

/* Loads `path` into l. Returns MFT_OK, or an MFT_E_* code with one line in
 * why (what went wrong and where, without the source's name) and nothing
 * left open. */
int uffs_load(struct uffs_loaded *l, const char *path,
	      const struct uffs_load_opts *o, char *why, size_t why_cap);
void uffs_unload(struct uffs_loaded *l);

/* A scanned volume's index brought up to date in place (uffs watch): the
 * records frs[0..n) that journal records name are read again with what a
 * copy could get wrong (uffs_update_records), the rest copied, and the tree
 * rebuilt; o gives the warnings' sink as for uffs_load. Records named past
 * the $MFT as mapped mean it grew: the volume is mapped again first.
 * *counts says how many records were read and where from, and what growth
 * was found. MFT_OK, or an MFT_E_* code with
 * one line in why and l as it was. */
int uffs_load_refresh(struct uffs_loaded *l, const uint64_t *frs, size_t n,
		      const struct uffs_load_opts *o,
		      struct uffs_update_counts *counts, char *why,
		      size_t why_cap);

/* How many shadow-copy stores the volume at `path` has (0 for a source
 * that can have none, such as a saved index): MFT_OK or an MFT_E_* code
 * with one line in why. */
int uffs_load_count_stores(const char *path, const struct uffs_source_opts *so,
			   int *n, char *why, size_t why_cap);

/* Several sources loaded at once, each on its own thread with its own
 * engine, at most `window` loading or loaded but not yet used; one source,
 * or a window of 1, loads on the calling thread. Each result goes to
 * `done` in job order, on the calling thread, and is unloaded after it
 * returns: rc is MFT_OK (l loaded) or the failure (why says it). */
struct uffs_load_job {
	const char *path;
	int store; /* the shadow-copy store to read; -1: as the options say */
	void *ctx; /* for this source's warnings and notes; NULL: o->ctx */
};

typedef void (*uffs_load_done_fn)(void *ctx, int nth, const char *path,
				  struct uffs_loaded *l, int rc,
				  const char *why);

/* Returns MFT_OK, or MFT_E_NOMEM when not even the jobs could be set up
 * (nothing was loaded). */
int uffs_load_many(const struct uffs_load_job *jobs, int n, unsigned window,
		   const struct uffs_load_opts *o, uffs_load_done_fn done,
		   void *ctx);

#endif
