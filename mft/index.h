/*
 * uffs_index: every file of one volume, as struct-of-arrays columns.
 *
 * Records are indexed densely by file record number (FRS). Each record's
 * names (links) and streams are rows of two tables, grouped by record:
 * rows of record r are [link_first[r], link_first[r + 1]). Names point into
 * one contiguous pool (WTF-8, see mft_utf16_to_wtf8). The unnamed $DATA
 * attribute, which nearly every file has, lives in the record's own columns;
 * the stream table holds named $DATA and $INDEX_ROOT attributes, few enough
 * that it is sorted by owner and searched rather than indexed per record.
 *
 * Building: base records are added in increasing FRS order and their rows
 * appended in place. Rows that cannot be (from extension records, or a base
 * record added out of order) go to side tables and are validated and merged
 * into place by uffs_index_finish.
 */
#ifndef UFFS_INDEX_H
#define UFFS_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem.h"
#include "mft.h"

/* Per-record flags. */
#define UFFS_REC_PRESENT 0x0001   /* a base record was parsed into this slot */
#define UFFS_REC_IN_USE 0x0002    /* header in-use flag */
#define UFFS_REC_DIR 0x0004       /* header directory flag */
#define UFFS_REC_HAS_SI 0x0008
#define UFFS_REC_REPARSE 0x0010
#define UFFS_REC_EXTENSION 0x0020 /* slot holds an extension record */
#define UFFS_REC_DAMAGED 0x0040   /* record failed to parse */
#define UFFS_REC_ATTR_LIST 0x0080
#define UFFS_REC_USED 0x0100      /* at least one attribute was parsed */
#define UFFS_REC_PARTIAL 0x0200   /* a damaged attribute stopped the walk */
#define UFFS_REC_HAS_DATA 0x0400  /* unnamed $DATA: data_* columns */
#define UFFS_REC_DATA_SPARSE 0x0800
#define UFFS_REC_DATA_COMPRESSED 0x1000
#define UFFS_REC_DATA_ENCRYPTED 0x2000
#define UFFS_REC_ROWS 0x4000      /* link_first set by its add */
#define UFFS_REC_STREAMS 0x8000   /* has rows in the stream table */

/* Per-link flags. */
#define UFFS_LINK_FROM_EXT 0x01   /* came from an extension record */
#define UFFS_LINK_EXT_IN_USE 0x02 /* that extension record was in use */
#define UFFS_LINK_HIDDEN 0x04     /* DOS twin or duplicate: not listed */
#define UFFS_LINK_SELF 0x08       /* side row of a base record added late */
/* The name is printable ASCII (0x20..0x7E): set only in an index whose
 * plain_hints is true, a hint that saves writers a look at the name. */
#define UFFS_LINK_PLAIN 0x10
/* An empty row kept for a name an extension record holds, between adding
 * records and uffs_index_finish (which fills or drops every one). */
#define UFFS_LINK_RESERVED 0x20

/* Per-stream flags. */
#define UFFS_STREAM_FROM_EXT 0x01
#define UFFS_STREAM_EXT_IN_USE 0x02
#define UFFS_STREAM_SPARSE 0x04
#define UFFS_STREAM_COMPRESSED 0x08
#define UFFS_STREAM_ENCRYPTED 0x10
#define UFFS_STREAM_SELF 0x20

struct uffs_links {
	uint32_t n, cap;
	uint64_t *parent; /* file reference */
	uint32_t *name;   /* offset into the pool */
	uint16_t *name_len;
	uint8_t *ns;
	uint8_t *flags;
	uint16_t *attr_id;
	uint16_t *value_len;
	uint64_t *times; /* 4 per link ($FILE_NAME times), NULL unless kept */
	/* side rows only: */
	uint32_t *owner;
	uint16_t *exp_seq; /* base sequence the extension names */
};

struct uffs_streams {
	uint32_t n, cap;
	uint32_t *name;
	uint16_t *name_len;
	uint8_t *kind; /* enum mft_stream_kind */
	uint8_t *flags;
	uint16_t *attr_id;
	uint64_t *size;
	uint64_t *alloc;
	uint32_t *owner; /* the record the stream belongs to */
	/* side rows only: */
	uint16_t *exp_seq;
};

/* Values most records do not have (owner id, reparse tag), one row per
 * record that has one, in FRS order. */
struct uffs_extras {
	uint32_t n, cap;
	uint32_t *frs;
	uint32_t *owner_id;
	uint32_t *reparse_tag;
};

struct uffs_index {
	const struct mft_mem_ops *mem; /* NULL: calloc, realloc, free */
	uint64_t n_records;
	uint32_t record_size;
	bool keep_fn_times;
	bool names_only; /* no fattrs, times or data_* columns (NULL) */
	/* Links carry UFFS_LINK_PLAIN: set for an index this process parses
	 * names-only (never saved, no digest), never for a loaded one, whose
	 * bits a writer must not trust. */
	bool plain_hints;

	void *record_block; /* holds the per-record columns */
	/* per record, n_records each */
	uint16_t *rflags;
	uint16_t *seq;
	uint32_t *fattrs; /* $STANDARD_INFORMATION file attributes */
	uint64_t *times;  /* 4 per record: created, modified, changed, accessed */
	uint64_t *data_size;  /* unnamed $DATA */
	uint64_t *data_alloc;
	uint16_t *data_id;
	uint32_t *link_first; /* n_records + 1 */

	struct uffs_links links;
	struct uffs_streams streams;
	struct uffs_links side_links;
	struct uffs_streams side_streams;
	struct uffs_extras extras;

	char *pool;
	size_t pool_len, pool_cap;

	int64_t last_base; /* highest base record added in place */
	uint32_t n_reserved; /* UFFS_LINK_RESERVED rows (until finished) */
	uint64_t range_first, range_n; /* a batch's records */
	uint64_t n_damaged;
	bool finished;
	bool is_batch;
};

/* keep_fn_times: keep each name's four $FILE_NAME times (32 bytes a name;
 * only the body file shows them). */
int uffs_index_init(struct uffs_index *idx, uint64_t n_records,
		    uint32_t record_size, bool keep_fn_times,
		    struct mft_error *err);
struct uffs_index_opts {
	bool keep_fn_times;
	/* Only what paths and stream rows need: the attribute, time and
	 * unnamed-$DATA columns are not kept (their pointers stay NULL; the
	 * data flags are). For a plain listing of paths: a third of the
	 * memory. Such an index has no digest and is never saved. */
	bool names_only;
	/* Where the large columns (per-record columns, the link and stream
	 * tables, the name pool) come from; NULL: libc. Batches always use
	 * libc. */
	const struct mft_mem_ops *mem;
};
int uffs_index_init_with(struct uffs_index *idx, uint64_t n_records,
			 uint32_t record_size,
			 const struct uffs_index_opts *opts,
			 struct mft_error *err);
void uffs_index_free(struct uffs_index *idx);

/* The merger: folds one parsed record into the index, keyed by its FRS (an
 * extension record's attributes go to its base record). */
int uffs_index_add_record(struct uffs_index *idx,
			  const struct mft_record_view *v,
			  struct mft_error *err);
/* Notes a record that could not be parsed. */
/* Copies base record r, as a finished index `src` holds it (its columns,
 * names, streams and extras), into dst, which is being built in FRS order
 * (r after every record added so far). For updating an index: a record
 * whose rows came partly from extension records, an extension record and
 * a damaged one are read again instead (MFT_E_USAGE). */
int uffs_index_copy_record(struct uffs_index *dst, const struct uffs_index *src,
			   uint64_t r, struct mft_error *err);

void uffs_index_mark_damaged(struct uffs_index *idx, uint64_t frs);

/* Batches, for parsing on several threads: a batch shares the index's
 * per-record columns (each worker writes only the slots of the records of
 * its chunk) and owns its tables, which uffs_index_append adds to the index
 * in record order. The result is exactly the index a single thread builds. */
void uffs_index_batch_init(struct uffs_index *batch,
			   const struct uffs_index *idx);
void uffs_index_batch_reset(struct uffs_index *batch, uint64_t first,
			    uint64_t n);
void uffs_index_batch_free(struct uffs_index *batch);
int uffs_index_append(struct uffs_index *idx, const struct uffs_index *batch,
		      struct mft_error *err);

/* Validates side rows (an extension's rows belong to its base only while
 * the base has the sequence number and allocation state it names), merges
 * them into place, hides DOS twins and duplicate names. */
int uffs_index_finish(struct uffs_index *idx, struct mft_error *err);

static inline bool uffs_rec_is(const struct uffs_index *idx, uint64_t frs,
			       uint16_t flag)
{
	return frs < idx->n_records && (idx->rflags[frs] & flag);
}

/* The first stream row of record r (binary search; meaningful only when
 * the record has UFFS_REC_STREAMS). */
uint32_t uffs_index_streams_begin(const struct uffs_index *idx, uint64_t r);

/* Whether stream row s stands for the file itself: an unnamed $DATA row,
 * or a directory's $I30 index root (listed without a ":name" suffix). */
bool uffs_index_stream_is_main(const struct uffs_index *idx, uint32_t s);

/* Rows of record r. */
#define UFFS_FOR_EACH_LINK(idx, r, i)                                          \
	for (uint32_t i = (idx)->link_first[r]; i < (idx)->link_first[(r) + 1]; \
	     i++)
#define UFFS_FOR_EACH_STREAM(idx, r, i)                                        \
	for (uint32_t i = uffs_index_streams_begin(idx, r);                    \
	     i < (idx)->streams.n && (idx)->streams.owner[i] == (r) &&         \
	     ((idx)->rflags[r] & UFFS_REC_STREAMS);                            \
	     i++)

/* The record's main link: the first visible one (for a directory's path). */
bool uffs_index_primary_link(const struct uffs_index *idx, uint64_t frs,
			     uint32_t *link);

/* Owner id and reparse tag (0 when the record has none). */
uint32_t uffs_index_owner_id(const struct uffs_index *idx, uint64_t frs);
uint32_t uffs_index_reparse_tag(const struct uffs_index *idx, uint64_t frs);

#endif
