/* The rows of a listing and their facts (see row.h). */
#include "../mft/ntfs_format.h"
#include "row.h"

/* The stream that stands for the file itself: its unnamed $DATA, or a
 * directory's $I30 index, printed without a suffix. */
bool uffs_row_stream_is_main(const struct uffs_index *idx, uint32_t s)
{
	return s == UFFS_STREAM_DATA || uffs_index_stream_is_main(idx, s);
}

uint32_t uffs_row_visible_links(const struct uffs_index *idx, uint64_t r)
{
	uint32_t n = 0;
	UFFS_FOR_EACH_LINK(idx, r, i)
	n += !(idx->links.flags[i] & UFFS_LINK_HIDDEN);
	return n;
}

uint32_t uffs_row_named_streams(const struct uffs_index *idx, uint64_t r)
{
	uint32_t n = 0;
	UFFS_FOR_EACH_STREAM(idx, r, i)
	n += !uffs_row_stream_is_main(idx, i) && idx->streams.kind[i] == MFT_STREAM_DATA;
	return n;
}

/* The size of a row: its stream's, or the unnamed $DATA's for a bare row. */
void uffs_row_sizes(const struct uffs_index *idx, const struct uffs_row *rw,
		      uint64_t *size, uint64_t *alloc)
{
	*size = *alloc = 0;
	if (rw->stream == UFFS_STREAM_DATA) {
		*size = idx->data_size[rw->frs];
		*alloc = idx->data_alloc[rw->frs];
	} else if (rw->stream != UFFS_STREAM_NONE) {
		*size = idx->streams.size[rw->stream];
		*alloc = idx->streams.alloc[rw->stream];
	}
}

bool uffs_row_has_stream_suffix(const struct uffs_index *idx, uint32_t s)
{
	return s != UFFS_STREAM_NONE && !uffs_row_stream_is_main(idx, s) &&
	       idx->streams.name_len[s];
}

bool uffs_row_has_visible_link(const struct uffs_index *idx, uint64_t r)
{
	uint32_t link;
	return uffs_index_primary_link(idx, r, &link);
}

/* The stream row that stands for the file: its unnamed $DATA, else a
 * directory's $I30, else none. */
uint32_t uffs_row_main_stream(const struct uffs_index *idx, uint64_t r)
{
	if (idx->rflags[r] & UFFS_REC_HAS_DATA)
		return UFFS_STREAM_DATA;
	UFFS_FOR_EACH_STREAM(idx, r, s)
	if (uffs_row_stream_is_main(idx, s))
		return s;
	return UFFS_STREAM_NONE;
}

void uffs_row_for_streams(const struct uffs_index *idx, struct uffs_row *rw,
		      enum uffs_row_streams which,
		      void (*each)(void *ctx, const struct uffs_row *rw), void *ctx)
{
	uint64_t r = rw->frs;
	if (which != UFFS_ROWS_EVERY_STREAM) {
		rw->stream = uffs_row_main_stream(idx, r);
		each(ctx, rw);
		rw->first_of_link = false;
		if (which == UFFS_ROWS_MAIN)
			return;
		UFFS_FOR_EACH_STREAM(idx, r, s)
		if (idx->streams.kind[s] == MFT_STREAM_DATA &&
		    uffs_row_has_stream_suffix(idx, s)) {
			rw->stream = s;
			each(ctx, rw);
		}
		return;
	}
	/* As The Sleuth Kit forms them: one row per $DATA and per
	 * $INDEX_ROOT attribute, or the bare name when there is neither. */
	bool printed = false;
	if (idx->rflags[r] & UFFS_REC_HAS_DATA) {
		rw->stream = UFFS_STREAM_DATA;
		each(ctx, rw);
		rw->first_of_link = false;
		printed = true;
	}
	UFFS_FOR_EACH_STREAM(idx, r, s)
	{
		rw->stream = s;
		each(ctx, rw);
		rw->first_of_link = false;
		printed = true;
	}
	if (!printed) {
		rw->stream = UFFS_STREAM_NONE;
		each(ctx, rw);
	}
}
