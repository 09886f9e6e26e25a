/* The row model and column printing shared by uffs list and uffs search:
 * one row per (name, stream) of a record, printed in text, csv, tsv, jsonl
 * or body-file form. */
#ifndef UFFS_ROWS_H
#define UFFS_ROWS_H

#include <stdbool.h>
#include <stdint.h>

#include "../mft/row.h"
#include "cli.h"
#include "out.h"

enum rows_format { FMT_TEXT, FMT_CSV, FMT_TSV, FMT_JSONL, FMT_BODYFILE };

#define ROWS_COLUMNS(X)                                                        \
	X(PATH, "path")                                                        \
	X(NAME, "name")                                                        \
	X(STREAM, "stream")                                                    \
	X(FRS, "frs")                                                          \
	X(SEQUENCE, "sequence")                                                \
	X(PARENT, "parent")                                                    \
	X(TYPE, "type")                                                        \
	X(DELETED, "deleted")                                                  \
	X(SIZE, "size")                                                        \
	X(ALLOCATED, "allocated")                                              \
	X(CREATED, "created")                                                  \
	X(MODIFIED, "modified")                                                \
	X(MFT_CHANGED, "mft-changed")                                          \
	X(ACCESSED, "accessed")                                                \
	X(ATTRIBUTES, "attributes")                                            \
	X(LINKS, "links")                                                      \
	X(STREAMS, "streams")                                                  \
	X(REPARSE, "reparse-tag")                                              \
	X(STORE, "store")

enum column {
#define COL_ENUM(id, name) COL_##id,
	ROWS_COLUMNS(COL_ENUM)
#undef COL_ENUM
	COL_COUNT
};

extern const char *const rows_column_names[COL_COUNT];

#define ROWS_DEFAULT_COLUMNS                                                   \
	"path,frs,sequence,parent,type,deleted,size,allocated,created,"        \
	"modified,mft-changed,accessed,attributes"
/* The default with --vss all: each row says its store. */
#define ROWS_DEFAULT_COLUMNS_STORES "store," ROWS_DEFAULT_COLUMNS
#define ROWS_COLUMNS_HELP                                                      \
	"                       path name stream frs sequence parent type deleted\n" \
	"                       size allocated created modified mft-changed\n" \
	"                       accessed attributes links streams reparse-tag\n" \
	"                       store (the shadow-copy store: 0 = the volume)\n"

#define ROWS_PATH_CAP (256u * 1024)
#define ROWS_MAX_COLUMNS 64

struct rows {
	struct out o;
	enum rows_format fmt;
	enum column cols[ROWS_MAX_COLUMNS];
	size_t n_cols;
	bool text_columns; /* text format with --columns: a table */
	char end;          /* '\n', or '\0' for --null (text) */
	const struct uffs_loaded *l;
	char *path; /* room for a path; holds it when joined or built */
	size_t path_len; /* of the whole path, once joined */
	struct uffs_path_parts parts; /* the resolved path, in parts */
	bool path_joined; /* `path` holds the whole path */
	uint64_t path_frs; /* whose path is resolved (UINT64_MAX: none) */
	uint32_t path_link;
	/* The directory whose path was last seen to need no escaping in
	 * style plain_dir_esc: the rows of its names copy that path as it
	 * is. */
	uint64_t plain_dir_frs;
	enum out_escape plain_dir_esc;
	struct uffs_path_cache cache;
	char root[24]; /* "/", or "C:\" for a live Windows volume; with
			* --vss all in text, "vss2:/" or "current:/" */
	size_t root_len; /* measured once: every path starts with it */
};

int rows_init(struct rows *p);
/* Flushes; returns 0, or -1 after a write error. */
int rows_finish(struct rows *p);
/* Usage errors are printed; both return 0 or -1. */
int rows_parse_format(struct rows *p, const char *s);
int rows_parse_columns(struct rows *p, const char *spec);
/* The csv/tsv header line. */
void rows_header(struct rows *p);
/* Starts the rows of a source: its root and separator. */
void rows_begin_source(struct rows *p, const struct uffs_loaded *l);

/* Resolves the path of link `link` of record r (into p->parts); false
 * when it cannot be (then the name is not listed). */
bool rows_link_path(struct rows *p, uint64_t r, uint32_t link);
/* The resolved path as one string (in p->path), *len bytes. */
const char *rows_path_text(struct rows *p, size_t *len);
void rows_emit(struct rows *p, const struct uffs_row *rw);
/* The row of link `link` of record r whose path rows_link_path has just
 * resolved, for a record with no stream rows (its one row is its unnamed
 * $DATA, or its bare name): the same bytes rows_emit writes for it. */
void rows_emit_sole_row(struct rows *p, uint64_t r, uint32_t link);

/* Emits the rows of items [first, end) into w. */
typedef void rows_fill_fn(struct rows *w, uint64_t first, uint64_t end,
			  void *ctx);
/* Calls fill over consecutive blocks of [0, n_items) on up to `threads`
 * threads, each with its own copy of p (output buffer, path buffer and
 * cache), and writes the blocks to p's output in order: the bytes are
 * exactly those of fill(p, 0, n_items, ctx), which is what runs when
 * threads is 1 or threads cannot be had. */
void rows_parallel(struct rows *p, uint64_t n_items, unsigned threads,
		   rows_fill_fn *fill, void *ctx);

#endif
