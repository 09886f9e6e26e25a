/*
 * uffs_index: every file of one volume, as struct-of-arrays columns.
 *
 * Records are indexed densely by file record number (FRS). Names (links) and
 * streams live in their own column tables and point into one contiguous name
 * pool (WTF-8, see mft_utf16_to_wtf8). Extension records are folded into their
 * base record by the merger (uffs_index_add_record); uffs_index_finish then
 * validates those contributions and groups links and streams by owner.
 */
#ifndef UFFS_INDEX_H
#define UFFS_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mft.h"

/* Per-record flags. */
#define UFFS_REC_PRESENT 0x01   /* a base record was parsed into this slot */
#define UFFS_REC_IN_USE 0x02    /* header in-use flag */
#define UFFS_REC_DIR 0x04       /* header directory flag */
#define UFFS_REC_HAS_SI 0x08
#define UFFS_REC_REPARSE 0x10
#define UFFS_REC_EXTENSION 0x20 /* slot holds an extension record */
#define UFFS_REC_DAMAGED 0x40   /* record failed to parse */
#define UFFS_REC_ATTR_LIST 0x80
#define UFFS_REC_USED 0x100    /* at least one attribute was parsed */
#define UFFS_REC_PARTIAL 0x200 /* a damaged attribute stopped the walk */

/* Per-link flags. */
#define UFFS_LINK_FROM_EXT 0x01   /* came from an extension record */
#define UFFS_LINK_EXT_IN_USE 0x02 /* that extension record was in use */
#define UFFS_LINK_HIDDEN 0x04     /* DOS twin or duplicate: not listed */

/* Per-stream flags. */
#define UFFS_STREAM_FROM_EXT 0x01
#define UFFS_STREAM_EXT_IN_USE 0x02
#define UFFS_STREAM_SPARSE 0x04
#define UFFS_STREAM_COMPRESSED 0x08
#define UFFS_STREAM_ENCRYPTED 0x10
#define UFFS_STREAM_DROPPED 0x20 /* stale extension piece: ignored */

struct uffs_index {
	uint64_t n_records;
	uint32_t record_size;

	/* per record, n_records each */
	uint16_t *rflags;
	uint16_t *seq;
	uint32_t *fattrs; /* $STANDARD_INFORMATION file attributes */
	uint32_t *owner_id;
	uint32_t *reparse_tag;
	uint64_t *times; /* 4 per record: created, modified, changed, accessed */
	uint32_t *link_first;   /* n_records + 1, after finish: into link_order */
	uint32_t *stream_first; /* n_records + 1, after finish: into stream_order */

	/* links: one per $FILE_NAME attribute */
	uint32_t n_links, cap_links;
	uint32_t *l_owner;
	uint64_t *l_parent; /* file reference */
	uint32_t *l_name;   /* offset into pool */
	uint16_t *l_name_len;
	uint8_t *l_ns;
	uint8_t *l_flags;
	uint16_t *l_exp_seq; /* base sequence named by the extension */
	uint16_t *l_attr_id;
	uint16_t *l_value_len;
	uint64_t *l_times; /* 4 per link: the $FILE_NAME times */
	uint32_t *link_order;

	/* streams: unnamed/named $DATA and $INDEX_ROOT attributes */
	uint32_t n_streams, cap_streams;
	uint32_t *s_owner;
	uint32_t *s_name;
	uint16_t *s_name_len;
	uint8_t *s_kind;
	uint8_t *s_flags;
	uint16_t *s_attr_id;
	uint16_t *s_exp_seq;
	uint64_t *s_size;
	uint64_t *s_alloc;
	uint32_t *stream_order;

	/* name pool */
	char *pool;
	size_t pool_len, pool_cap;

	uint64_t n_damaged;
	bool finished;
	bool is_batch; /* per-record columns borrowed from another index */
};

int uffs_index_init(struct uffs_index *idx, uint64_t n_records,
		    uint32_t record_size, struct mft_error *err);
void uffs_index_free(struct uffs_index *idx);

/* The merger: folds one parsed record into the index, keyed by its FRS (an
 * extension record's attributes go to its base record). */
int uffs_index_add_record(struct uffs_index *idx,
			  const struct mft_record_view *v,
			  struct mft_error *err);
/* Batches, for parsing on several threads: a batch shares the index's
 * per-record columns (each worker writes only the slots of the records it
 * parses) and owns its own link, stream and name tables, which
 * uffs_index_append then adds to the index. Appending batches in record
 * order builds exactly the index a single thread would. */
int uffs_index_batch_init(struct uffs_index *batch,
			  const struct uffs_index *idx);
void uffs_index_batch_reset(struct uffs_index *batch);
void uffs_index_batch_free(struct uffs_index *batch);
int uffs_index_append(struct uffs_index *idx, const struct uffs_index *batch,
		      struct mft_error *err);

/* Notes a record that could not be parsed. */
void uffs_index_mark_damaged(struct uffs_index *idx, uint64_t frs);
/* Validates extension contributions, hides DOS twins and duplicate links,
 * and groups links and streams by owner. */
int uffs_index_finish(struct uffs_index *idx, struct mft_error *err);

static inline bool uffs_rec_is(const struct uffs_index *idx, uint64_t frs,
			       uint16_t flag)
{
	return frs < idx->n_records && (idx->rflags[frs] & flag);
}

/* Links of record r: link_order[link_first[r] .. link_first[r+1]). */
#define UFFS_FOR_EACH_LINK(idx, r, k, i)                                       \
	for (uint32_t k = (idx)->link_first[r], i;                             \
	     k < (idx)->link_first[(r) + 1] && ((i = (idx)->link_order[k]), 1); \
	     k++)
#define UFFS_FOR_EACH_STREAM(idx, r, k, i)                                     \
	for (uint32_t k = (idx)->stream_first[r], i;                           \
	     k < (idx)->stream_first[(r) + 1] &&                               \
	     ((i = (idx)->stream_order[k]), 1);                                \
	     k++)

/* The record's main link: the first visible one (for a directory's path). */
bool uffs_index_primary_link(const struct uffs_index *idx, uint64_t frs,
			     uint32_t *link);

#endif
