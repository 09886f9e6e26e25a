/*
 * The scan engine: reads the $MFT as the planner cut it, parses every record
 * in place in the read buffer, and merges the results in record order, so
 * that every mode, backend, thread count and depth builds the same index.
 *
 * Modes (--mode):
 *   streaming           one thread, one read at a time
 *   prefetch            one thread, the next read in flight while parsing
 *   pipelined           a reader thread, records parsed by one worker
 *   pipelined-parallel  a reader thread, records parsed on every core
 *   parallel            read the whole $MFT first, then parse on every core
 *   async               many reads in flight through uaio, each completion
 *                       parsed by a worker (alias: iocp-parallel)
 *   auto                async on the best backend; pipelined on one or two
 *                       cores unless the source is a spinning disk
 */
#ifndef UFFS_SCAN_H
#define UFFS_SCAN_H

#include "../aio/uaio.h"
#include "../mft/index.h"
#include "volume.h"

enum uffs_mode {
	UFFS_MODE_AUTO,
	UFFS_MODE_STREAMING,
	UFFS_MODE_PREFETCH,
	UFFS_MODE_PIPELINED,
	UFFS_MODE_PIPELINED_PARALLEL,
	UFFS_MODE_PARALLEL,
	UFFS_MODE_ASYNC,
	UFFS_MODE_COUNT
};

const char *uffs_mode_name(enum uffs_mode m);
/* Accepts the names above and "iocp-parallel"; -1 if unknown. */
int uffs_mode_parse(const char *s);

#define UFFS_DEPTH_DEFAULT 8u
#define UFFS_DEPTH_MAX 64u

/* How far a scan is, for a progress display. */
struct uffs_progress {
	uint64_t records_done, records_total; /* records read and merged */
	uint64_t bytes_done, bytes_total;     /* of the $MFT */
	double seconds;                       /* since the scan began */
	bool finished;                        /* the last call of the scan */
};

typedef void (*uffs_progress_fn)(void *ctx, const struct uffs_progress *p);

struct uffs_scan_opts {
	enum uffs_mode mode;
	const struct uaio_backend_ops *backend; /* NULL = best available */
	struct uaio_config fault;               /* used when backend is fault */
	unsigned threads;     /* parse threads, 0 = one per core */
	unsigned depth;       /* reads in flight, 0 = default */
	bool depth_auto;      /* adapt depth to measured throughput */
	uint32_t chunk_bytes; /* 0 = by device type */
	bool skip_unused;     /* leave out records $MFT:$BITMAP marks unused */
	bool keep_fn_times;   /* keep every name's $FILE_NAME times */
	bool names_only;      /* paths only: see uffs_index_opts */
	bool verbose;         /* explain choices on stderr */
	bool timings;         /* measure I/O wait, parse and merge time (verbose does) */
	/* Called on the merging thread after each chunk is merged (the callee
	 * decides how often to show it; keep it short: the merge waits), and
	 * once with `finished` set when the scan ends. */
	uffs_progress_fn progress;
	void *progress_ctx;
};

struct uffs_scan_stats {
	enum uffs_mode mode;
	const char *backend;
	unsigned threads, depth, depth_final;
	uint32_t chunk_bytes;
	uint64_t chunks;
	uint64_t records_read;
	uint64_t records_skipped;
	uint64_t records_damaged;
	uint64_t bytes_read;
	uint64_t short_reads;
	double seconds;
	double io_wait_seconds; /* reader blocked on I/O */
	double parse_seconds;   /* CPU time, summed over parse threads */
	double merge_seconds;
	char why[256]; /* how auto and the defaults were decided */
};

/* Parses one record (in place) and merges it into idx; damage confined to
 * the record is reported to `warn` and recorded, not returned. */
int uffs_scan_record(const struct uffs_volume *v, struct uffs_index *idx,
		     uint8_t *rec, uint64_t frs, struct mft_record_view *view,
		     const struct uffs_warn_sink *warn, struct mft_error *err);

/* Scans the $MFT of v into a new, finished index. Errors fail fast and name
 * the chunk's byte range, the offset and the bytes read. */
int uffs_scan(const struct uffs_volume *v, const struct uffs_scan_opts *opts,
	      struct uffs_index *idx, struct uffs_scan_stats *stats,
	      const struct uffs_warn_sink *warn, struct mft_error *err);

#endif
