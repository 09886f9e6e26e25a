/*
 * Bringing a saved index up to date from the volume's change journal
 * (uffs index --update): the journal records written since the index's
 * position name the files that changed; only their MFT records (and their
 * parents', the system records, $Extend's, records with extension records
 * and records past the old end of the $MFT) are read again, every other
 * record is copied from the saved index. The result is what a fresh scan
 * of the volume gives, for every change the journal records.
 *
 * When the journal cannot say what changed (the index has no position, the
 * journal was deleted or recreated, or has been trimmed past the position)
 * the caller must scan instead; `rescan_why` says why.
 */
#ifndef UFFS_UPDATE_H
#define UFFS_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../mft/idxfile.h"
#include "../mft/index.h"
#include "volume.h"

/* MFT records read again, and of those, the ones a live volume's file
 * system gave (its current copy) and the ones it said are no longer in use
 * (scan/live_record.h); elsewhere both are 0. */
struct uffs_update_counts {
	uint64_t reread;
	uint64_t from_fs;
	uint64_t freed;
	/* uffs_load_refresh: records the $MFT gained since the index was
	 * made (mapped again to read the named ones), and named records past
	 * its end even so (not indexed: the journal named garbage, or the
	 * volume's record 0 does not show the growth yet) */
	uint64_t grown, beyond;
};

struct uffs_update_result {
	char rescan_why[200]; /* non-empty: nothing built, scan instead */
	uint64_t from_usn;    /* the index's position */
	uint64_t records;     /* journal records at or after it */
	uint64_t reread;      /* MFT records read again */
	struct uffs_update_counts counts; /* reread and where they came from */
	uint64_t journal_id, next_usn; /* the new position */
};

/* Builds into `out` (a new finished index with $FILE_NAME times) the index
 * of volume v, from the saved index `old` and its facts. MFT_OK with
 * res->rescan_why empty: built. MFT_OK with rescan_why set: not built.
 * Otherwise an error (a read that failed, the wrong volume: MFT_E_USAGE). */
int uffs_update(const struct uffs_index *old,
		const struct uffs_idxfile_facts *facts,
		const struct uffs_volume *v, const struct uffs_warn_sink *warn,
		struct uffs_index *out, struct uffs_update_result *res,
		struct mft_error *err);

/* The same engine for a follower (uffs watch): builds into `out` the index
 * of volume v from `old` (an index of v in memory, of any options, which
 * `out` keeps), reading again the records frs[0..n) (the files and
 * directories that journal records name; numbers past the volume's records
 * are passed over) and those a copy could get wrong (the system records,
 * $Extend's, records built from extension records, damaged ones); every
 * other record is copied (v may map more records than old: the $MFT grew;
 * the new ones are read); the records the journal names are asked of a
 * live volume's file system first (uffs_volume_read_current). *counts says
 * how many were read and where from. MFT_OK or an
 * error (a read that failed, out of memory, an index of another size:
 * MFT_E_USAGE); on error `out` holds nothing. */
int uffs_update_records(const struct uffs_index *old,
			const struct uffs_volume *v, const uint64_t *frs,
			size_t n, const struct uffs_warn_sink *warn,
			struct uffs_index *out,
			struct uffs_update_counts *counts,
			struct mft_error *err);

#endif
