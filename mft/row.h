/* The rows of a listing: one per (name, stream) of a record, as `uffs
 * list` prints them and as searches find them, and the facts of a row that
 * filters, sorting and output read. Pure: over a finished index. */
#ifndef UFFS_ROW_H
#define UFFS_ROW_H

#include <stdbool.h>
#include <stdint.h>

#include "index.h"

/* Two kinds have no name of their own: the virtual /$OrphanFiles directory
 * and unnamed deleted records (/$OrphanFiles/OrphanFile-N), both as The
 * Sleuth Kit lists them. */
enum uffs_row_kind { UFFS_ROW_NAME, UFFS_ROW_ORPHAN_DIR, UFFS_ROW_UNNAMED };

struct uffs_row {
	uint64_t frs;
	uint32_t link;
	uint32_t stream; /* UFFS_STREAM_NONE, UFFS_STREAM_DATA or a stream row */
	enum uffs_row_kind kind;
	bool first_of_link;
};

/* Row stream values besides the index's stream rows: none (the bare
 * name) and the record's unnamed $DATA. */
#define UFFS_STREAM_NONE UINT32_MAX
#define UFFS_STREAM_DATA (UINT32_MAX - 1)

/* Which streams of a name become rows. */
enum uffs_row_streams {
	UFFS_ROWS_EVERY_STREAM, /* each $DATA and $INDEX_ROOT (uffs list) */
	UFFS_ROWS_MAIN,         /* the file itself only */
	UFFS_ROWS_MAIN_NAMED,   /* the file and its named data streams */
};

/* Calls `each` for each row of rw's name (rw->stream set in turn). */
void uffs_row_for_streams(const struct uffs_index *idx, struct uffs_row *rw,
			  enum uffs_row_streams which,
			  void (*each)(void *ctx, const struct uffs_row *rw),
			  void *ctx);

/* The stream that stands for the file itself (its unnamed $DATA, or a
 * directory's $I30), printed without a suffix. */
bool uffs_row_stream_is_main(const struct uffs_index *idx, uint32_t s);
/* A named stream that is written as path:stream. */
bool uffs_row_has_stream_suffix(const struct uffs_index *idx, uint32_t s);
/* The size of a row: its stream's, or the unnamed $DATA's for a bare row. */
void uffs_row_sizes(const struct uffs_index *idx, const struct uffs_row *rw,
		    uint64_t *size, uint64_t *alloc);
uint32_t uffs_row_visible_links(const struct uffs_index *idx, uint64_t r);
uint32_t uffs_row_named_streams(const struct uffs_index *idx, uint64_t r);
bool uffs_row_has_visible_link(const struct uffs_index *idx, uint64_t r);
/* The stream row that stands for the file: its unnamed $DATA, else a
 * directory's $I30, else UFFS_STREAM_NONE. */
uint32_t uffs_row_main_stream(const struct uffs_index *idx, uint64_t r);

#endif
