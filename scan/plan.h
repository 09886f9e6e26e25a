/*
 * The scan planner: cuts the $MFT into chunks of whole records, each read
 * as one or more pieces (one per extent it crosses), and leaves out runs of
 * records that $MFT:$BITMAP marks unused, when asked to.
 */
#ifndef UFFS_PLAN_H
#define UFFS_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "volume.h"

/* Runs of unused records shorter than this are read anyway: a separate read
 * costs more than the bytes saved. */
#define UFFS_PLAN_SKIP_MIN_RECORDS 64u

struct uffs_piece {
	uint64_t src_off; /* byte offset in the source file, or UFFS_SPARSE_OFFSET */
	uint32_t len;
	uint32_t buf_off; /* where in the chunk's buffer */
};

struct uffs_chunk {
	uint64_t first; /* first record */
	uint32_t count; /* records */
	uint32_t first_piece;
	uint32_t n_pieces;
};

struct uffs_plan {
	struct uffs_chunk *chunks;
	size_t n_chunks;
	struct uffs_piece *pieces;
	size_t n_pieces;
	uint32_t chunk_records;   /* most records in one chunk */
	uint32_t max_pieces;      /* most pieces in one chunk */
	uint64_t records_planned; /* records that will be read */
	uint64_t records_skipped; /* unused records left out */
};

int uffs_plan_build(struct uffs_plan *p, const struct uffs_volume *v,
		    uint32_t chunk_bytes, bool skip_unused,
		    struct mft_error *err);
void uffs_plan_free(struct uffs_plan *p);

#endif
