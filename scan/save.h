/*
 * Saving an index file, and updating one from the volume's change journal:
 * what `uffs index` and `uffs index --update` do, under the command and
 * the library alike (see mft/idxfile.h for the format, update.h for how
 * an update decides what to read again).
 */
#ifndef UFFS_SAVE_H
#define UFFS_SAVE_H

#include <stddef.h>
#include <stdint.h>

#include "load.h"
#include "update.h"

/* Writes idx with the facts of l's source and volume (a saved index's own
 * facts when l is one) to out_path, under a temporary name then renamed
 * over it. The journal's position is read from the volume, unless `pos`
 * gives it (an update). MFT_OK, or an error with one line in why. */
int uffs_save_index(const struct uffs_loaded *l, const struct uffs_index *idx,
		    uint64_t warnings, const struct uffs_update_result *pos,
		    const char *out_path, char *why, size_t why_cap);

/* uffs index --update: brings the index file idx_path up to date from the
 * change journal of the volume src_path (opened with o: its options,
 * warnings and progress) and saves it to out_path, or scans src_path anew
 * when the journal cannot say what changed (res->rescan_why says why).
 * MFT_OK, or an error with one line in why (MFT_E_USAGE: idx_path is not
 * an index file, or is one of another volume). */
int uffs_update_file(const char *idx_path, const char *src_path,
		     const char *out_path, const struct uffs_load_opts *o,
		     struct uffs_update_result *res, char *why, size_t why_cap);

#endif
