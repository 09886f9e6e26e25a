/* The scan planner. */
#include <stdlib.h>
#include <string.h>

#include "plan.h"

struct builder {
	struct uffs_plan *p;
	size_t cap_chunks, cap_pieces;
};

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t cap2 = *cap ? *cap * 2 : 256;
	while (cap2 < need)
		cap2 *= 2;
	void *n = realloc(*arr, cap2 * elem);
	if (!n)
		return false;
	*arr = n;
	*cap = cap2;
	return true;
}

/* The bitmap byte holding record r when all 8 of its records are below
 * limit and the byte is in the bitmap; -1 otherwise (then ask record by
 * record). Whole bytes make the walk over a mostly used or mostly free
 * bitmap an eighth of the steps, with no call each. */
static int whole_byte(const struct uffs_volume *v, uint64_t r, uint64_t limit)
{
	if (r % 8 || limit - r < 8 || r / 8 >= v->bitmap_len)
		return -1;
	return v->bitmap[r / 8];
}

/* Length of the run of records starting at r that the bitmap marks unused. */
static uint64_t unused_run(const struct uffs_volume *v, uint64_t r,
			   uint64_t limit)
{
	uint64_t n = 0;
	while (r + n < limit) {
		if (whole_byte(v, r + n, limit) == 0) {
			n += 8;
			continue;
		}
		if (uffs_volume_record_in_bitmap(v, r + n))
			break;
		n++;
	}
	return n;
}

/* The first record from r on, below limit, that the bitmap marks unused;
 * limit when there is none. */
static uint64_t next_unused(const struct uffs_volume *v, uint64_t r,
			    uint64_t limit)
{
	while (r < limit) {
		if (whole_byte(v, r, limit) == 0xFF) {
			r += 8;
			continue;
		}
		if (!uffs_volume_record_in_bitmap(v, r))
			return r;
		r++;
	}
	return limit;
}

static int add_pieces(struct builder *b, const struct uffs_volume *v,
		      struct uffs_chunk *c, struct mft_error *err)
{
	struct uffs_plan *p = b->p;
	uint64_t off = c->first * v->record_size;
	uint64_t end = off + (uint64_t)c->count * v->record_size;
	size_t i = uffs_volume_find_extent(v, off);
	c->first_piece = (uint32_t)p->n_pieces;
	while (off < end) {
		const struct uffs_extent *e = i < v->n_ext ? &v->ext[i] : NULL;
		if (!e || e->mft_off > off || off - e->mft_off >= e->len)
			return mft_fail(err, MFT_E_CORRUPT, off / v->record_size,
					0, "record not mapped by the $MFT runlist");
		uint64_t skip = off - e->mft_off;
		uint64_t n = e->len - skip < end - off ? e->len - skip : end - off;
		if (!grow((void **)&p->pieces, &b->cap_pieces, p->n_pieces + 1,
			  sizeof *p->pieces))
			return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
					"out of memory");
		struct uffs_piece *pc = &p->pieces[p->n_pieces++];
		pc->src_off = e->vol_off == UFFS_SPARSE_OFFSET
				      ? UFFS_SPARSE_OFFSET
				      : v->src->base + e->vol_off + skip;
		pc->len = (uint32_t)n;
		pc->buf_off = (uint32_t)(off - c->first * v->record_size);
		off += n;
		i++;
	}
	c->n_pieces = (uint32_t)(p->n_pieces - c->first_piece);
	if (c->n_pieces > p->max_pieces)
		p->max_pieces = c->n_pieces;
	return MFT_OK;
}

int uffs_plan_build(struct uffs_plan *p, const struct uffs_volume *v,
		    uint32_t chunk_bytes, bool skip_unused,
		    struct mft_error *err)
{
	memset(p, 0, sizeof *p);
	struct builder b = {p, 0, 0};
	uint32_t per = chunk_bytes / v->record_size;
	p->chunk_records = per ? per : 1;
	skip_unused = skip_unused && v->bitmap;
	uint64_t r = 0, n = v->n_records;
	while (r < n) {
		if (skip_unused) {
			uint64_t run = unused_run(v, r, n);
			if (run >= UFFS_PLAN_SKIP_MIN_RECORDS || r + run == n) {
				p->records_skipped += run;
				r += run;
				continue;
			}
		}
		uint64_t count = n - r < p->chunk_records ? n - r : p->chunk_records;
		if (skip_unused) {
			/* End the chunk where a long unused run begins (a run
			 * too short to skip is read, and the search goes on
			 * after it). */
			uint64_t end = r + count;
			for (uint64_t k = next_unused(v, r + 1, end); k < end;) {
				uint64_t run = unused_run(v, k, end);
				if (run >= UFFS_PLAN_SKIP_MIN_RECORDS) {
					count = k - r;
					break;
				}
				k = next_unused(v, k + run, end);
			}
		}
		if (!grow((void **)&p->chunks, &b.cap_chunks, p->n_chunks + 1,
			  sizeof *p->chunks)) {
			uffs_plan_free(p);
			return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
					"out of memory");
		}
		struct uffs_chunk *c = &p->chunks[p->n_chunks++];
		c->first = r;
		c->count = (uint32_t)count;
		int rc = add_pieces(&b, v, c, err);
		if (rc) {
			uffs_plan_free(p);
			return rc;
		}
		p->records_planned += count;
		r += count;
	}
	return MFT_OK;
}

void uffs_plan_free(struct uffs_plan *p)
{
	free(p->chunks);
	free(p->pieces);
	memset(p, 0, sizeof *p);
}
