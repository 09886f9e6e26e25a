/*
 * Searching a finished index: the one search under `uffs search` and
 * libuffs (uffs_search_new, uffs_iter_new). A query compiles its pattern
 * (glob, substring or PCRE2 regex) through the volume's case table, applies
 * the filters (type, extensions, size, times, attributes, streams, deleted
 * records), sorts and limits, and hands back rows (mft/row.h) one at a
 * time, in record order unless sorted. Pure: no I/O, one thread at a time
 * per query.
 */
#ifndef UFFS_QUERY_H
#define UFFS_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index.h"
#include "path.h"
#include "row.h"

/* [lo, hi], inclusive; off matches everything. */
struct uffs_range {
	bool on;
	uint64_t lo, hi;
};

static inline bool uffs_range_in(const struct uffs_range *r, uint64_t v)
{
	return !r->on || (v >= r->lo && v <= r->hi);
}

enum uffs_query_syntax {
	UFFS_QUERY_ALL,      /* no pattern: every name */
	UFFS_QUERY_GLOB,     /* as uffs search documents it */
	UFFS_QUERY_CONTAINS, /* a plain substring */
	UFFS_QUERY_REGEX,    /* PCRE2, found anywhere in the text */
};

/* What results sort by (each a column of uffs list). */
#define UFFS_QUERY_KEYS(X)                                                     \
	X(NONE) X(PATH) X(NAME) X(STREAM) X(FRS) X(SEQUENCE) X(PARENT) X(TYPE) \
	X(DELETED) X(SIZE) X(ALLOCATED) X(CREATED) X(MODIFIED) X(MFT_CHANGED)  \
	X(ACCESSED) X(ATTRIBUTES) X(LINKS) X(STREAMS) X(REPARSE)

enum uffs_query_key {
#define UFFS_QUERY_KEY_ENUM(id) UFFS_KEY_##id,
	UFFS_QUERY_KEYS(UFFS_QUERY_KEY_ENUM)
#undef UFFS_QUERY_KEY_ENUM
};

struct uffs_query_opts {
	const char *pattern; /* copied */
	enum uffs_query_syntax syntax;
	bool exact_case;
	bool path;    /* match the path from the root ("/dir/name") */
	char sep;     /* between a path's components: '/' or '\\' */
	bool streams; /* also named data streams (path:stream) */
	bool deleted; /* also records not in use */
	char type;    /* 0, 'f' or 'd' */
	const char *ext; /* "txt,.md": names ending in one of them; copied */
	struct uffs_range size, created, modified, accessed;
	uint32_t attr_set, attr_clear;
	enum uffs_query_key sort; /* UFFS_KEY_NONE: record order */
	bool sort_desc;
	uint64_t limit;  /* at most this many rows (UINT64_MAX: all) */
	bool count_only; /* rows are counted, not handed out: the first
			  * uffs_query_next walks them all and ends */
};

struct uffs_query;

/* Compiles a query over idx and tree. upcase folds case (NULL: the
 * built-in table); a pattern that does not compile gives NULL and a
 * message in msg (*bad_pattern set; else out of memory). */
struct uffs_query *uffs_query_new(const struct uffs_query_opts *o,
				  const struct uffs_index *idx,
				  const struct uffs_tree *tree,
				  const uint16_t *upcase, bool *bad_pattern,
				  char *msg, size_t msg_cap);
/* The next row: true, or false at the end (or when memory ran out:
 * uffs_query_failed). */
bool uffs_query_next(struct uffs_query *q, struct uffs_row *row);
bool uffs_query_failed(const struct uffs_query *q);
/* Rows matched (all of them, past any limit), names tested. */
uint64_t uffs_query_matches(const struct uffs_query *q);
uint64_t uffs_query_names_tested(const struct uffs_query *q);
void uffs_query_free(struct uffs_query *q);

/* Whether a pattern compiles, before any source is read (a usage error
 * then): 0, or -1 with a message. */
int uffs_query_check(const struct uffs_query_opts *o, char *msg,
		     size_t msg_cap);

/* Whether this build has the regex syntax (PCRE2). */
bool uffs_query_has_regex(void);

#endif
