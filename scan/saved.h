/*
 * A saved index file (uffs index) opened as a source: mapped read-only,
 * validated (mft/idxfile.c), and presented as the source, volume and
 * finished index a scan would have given, with no file left open.
 */
#ifndef UFFS_SAVED_H
#define UFFS_SAVED_H

#include <stdbool.h>
#include <stdint.h>

#include "../mft/idxfile.h"
#include "../source/map.h"
#include "volume.h"

struct uffs_saved {
	struct uffs_map map;
	struct uffs_idxfile_facts facts;
	char *source_path; /* the facts' strings, NUL-terminated */
	char *container;
	uint16_t *rflags; /* a private copy, when a scan would have skipped */
	struct uffs_extent *ext;
};

/* Whether path starts like an index file (a file cut short inside the
 * magic counts: it is a truncated index). */
bool uffs_saved_is(const char *path);

/* Opens path into src, vol and idx (which point into the mapping until
 * uffs_saved_close). skip_unused: hide what a scan leaving out unused
 * records (with chunks of chunk_bytes, 0 = the default) would not have
 * read. keep_fn_times: keep the names' $FILE_NAME times, as a scan asked
 * for them would. *upcase: the saved $UpCase table, or NULL. */
int uffs_saved_open(struct uffs_saved *s, const char *path, bool skip_unused,
		    uint32_t chunk_bytes, bool keep_fn_times,
		    struct uffs_source *src, struct uffs_volume *vol,
		    struct uffs_index *idx, const uint16_t **upcase,
		    struct mft_error *err);
void uffs_saved_close(struct uffs_saved *s);

#endif
