/*
 * The single-threaded streaming scan: read the $MFT in large sequential
 * chunks, parse every record in place in the read buffer, merge into the
 * index. (The parallel modes of the design build on the same per-record
 * step, uffs_scan_record.)
 */
#ifndef UFFS_SCAN_H
#define UFFS_SCAN_H

#include "../mft/index.h"
#include "volume.h"

struct uffs_scan_stats {
	uint64_t records_read;
	uint64_t records_parsed;
	uint64_t records_damaged;
	uint64_t bytes_read;
};

struct uffs_scan_opts {
	uint32_t chunk_bytes; /* 0 = default (1 MiB) */
};

/* Parses one record (in place) and merges it into idx; damage confined to
 * the record is reported to `warn` and recorded, not returned. */
int uffs_scan_record(const struct uffs_volume *v, struct uffs_index *idx,
		     uint8_t *rec, uint64_t frs, struct mft_record_view *view,
		     const struct uffs_warn_sink *warn, struct mft_error *err);

/* Scans the whole $MFT of v into a new index (finished). */
int uffs_scan(const struct uffs_volume *v, const struct uffs_scan_opts *opts,
	      struct uffs_index *idx, struct uffs_scan_stats *stats,
	      const struct uffs_warn_sink *warn, struct mft_error *err);

#endif
