/* Subtree totals in two linear passes: every record adds its own sizes to
 * the directory it is listed in, then directories, deepest first, add their
 * totals to theirs. Levels come from the tree's classification, which has
 * already broken loops and capped depth, so the order exists and is found
 * by a counting sort. */
#include <stdlib.h>
#include <string.h>

#include "ntfs_format.h"
#include "usage.h"

/* Sizes are untrusted (a hostile record may claim 2^63 bytes): totals stop
 * at the largest value instead of wrapping to a small one. */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void uffs_record_sizes(const struct uffs_index *idx, uint64_t r,
		       uint64_t *size, uint64_t *alloc)
{
	uint64_t s = 0, a = 0;
	if (idx->rflags[r] & UFFS_REC_HAS_DATA) {
		s = idx->data_size[r];
		a = idx->data_alloc[r];
	}
	UFFS_FOR_EACH_STREAM(idx, r, i)
	{
		s = add_sat(s, idx->streams.size[i]);
		a = add_sat(a, idx->streams.alloc[i]);
	}
	*size = s;
	*alloc = a;
}

void uffs_usage_free(struct uffs_usage *u)
{
	free(u->size);
	free(u->alloc);
	free(u->files);
	free(u->dirs);
	free(u->up);
	free(u->level);
	free(u->order);
	memset(u, 0, sizeof *u);
}

/* Records that count: in use, a base record, with a name to list. */
static bool counts(const struct uffs_index *idx, uint64_t r, uint32_t *link)
{
	uint16_t f = idx->rflags[r];
	return (f & UFFS_REC_PRESENT) && (f & UFFS_REC_IN_USE) &&
	       !(f & UFFS_REC_EXTENSION) && uffs_index_primary_link(idx, r, link);
}

static uint32_t node_of(const struct uffs_usage *u, uint64_t dir)
{
	return dir == UFFS_TREE_ORPHANS ? (uint32_t)(u->n_nodes - 1)
					: (uint32_t)dir;
}

/* Where each directory node hangs, and its level. */
static void link_directories(struct uffs_usage *u, const struct uffs_tree *t)
{
	const struct uffs_index *idx = t->idx;
	uint32_t orphans = (uint32_t)(u->n_nodes - 1);
	for (uint64_t r = 0; r < idx->n_records; r++) {
		u->up[r] = UFFS_USAGE_NO_NODE;
		uint32_t link;
		if (!(idx->rflags[r] & UFFS_REC_DIR) ||
		    !(idx->rflags[r] & UFFS_REC_PRESENT))
			continue;
		u->level[r] = (uint16_t)uffs_tree_dir_level(t, r);
		if (r == MFT_FRS_ROOT)
			u->up[r] = (uint32_t)r;
		else if (uffs_index_primary_link(idx, r, &link))
			u->up[r] = node_of(u, uffs_tree_listed_in(t, r, link));
		else
			u->up[r] = orphans; /* nameless: its files show there */
	}
	u->up[orphans] = idx->n_records > MFT_FRS_ROOT ? MFT_FRS_ROOT : orphans;
	u->level[orphans] = 1;
}

/* Directory nodes by level, parents first. */
static int sort_by_level(struct uffs_usage *u)
{
	size_t n_levels = UFFS_PATH_DEPTH_MAX + 4;
	uint64_t *start = calloc(n_levels + 1, sizeof *start);
	if (!start)
		return MFT_E_NOMEM;
	for (uint64_t d = 0; d < u->n_nodes; d++)
		if (u->up[d] != UFFS_USAGE_NO_NODE)
			start[u->level[d] + 1]++;
	for (size_t i = 0; i < n_levels; i++)
		start[i + 1] += start[i];
	u->n_order = start[n_levels];
	u->order = malloc((u->n_order ? u->n_order : 1) * sizeof *u->order);
	if (!u->order) {
		free(start);
		return MFT_E_NOMEM;
	}
	for (uint64_t d = 0; d < u->n_nodes; d++)
		if (u->up[d] != UFFS_USAGE_NO_NODE)
			u->order[start[u->level[d]]++] = (uint32_t)d;
	free(start);
	return MFT_OK;
}

static void add_records(struct uffs_usage *u, const struct uffs_tree *t)
{
	const struct uffs_index *idx = t->idx;
	for (uint64_t r = 0; r < idx->n_records; r++) {
		uint32_t link;
		if (r == MFT_FRS_ROOT || !counts(idx, r, &link))
			continue;
		bool dir = idx->rflags[r] & UFFS_REC_DIR;
		uint32_t at = dir ? (uint32_t)r
				  : node_of(u, uffs_tree_listed_in(t, r, link));
		if (u->up[at] == UFFS_USAGE_NO_NODE)
			continue; /* listed in a non-directory: not listed */
		uint64_t s, a;
		uffs_record_sizes(idx, r, &s, &a);
		u->size[at] = add_sat(u->size[at], s);
		u->alloc[at] = add_sat(u->alloc[at], a);
		if (dir)
			u->dirs[u->up[r]]++;
		else
			u->files[at]++;
	}
}

int uffs_usage_build(struct uffs_usage *u, const struct uffs_tree *t,
		     struct mft_error *err)
{
	const struct uffs_index *idx = t->idx;
	memset(u, 0, sizeof *u);
	if (idx->n_records >= UINT32_MAX - 1)
		return mft_fail(err, MFT_E_CORRUPT, MFT_NO_FRS, 0,
				"too many records for disk usage totals");
	u->n_nodes = idx->n_records + 1;
	size_t n = (size_t)u->n_nodes;
	u->size = calloc(n, sizeof *u->size);
	u->alloc = calloc(n, sizeof *u->alloc);
	u->files = calloc(n, sizeof *u->files);
	u->dirs = calloc(n, sizeof *u->dirs);
	u->up = malloc(n * sizeof *u->up);
	u->level = calloc(n, sizeof *u->level);
	if (!u->size || !u->alloc || !u->files || !u->dirs || !u->up ||
	    !u->level)
		goto nomem;
	link_directories(u, t);
	if (sort_by_level(u))
		goto nomem;
	add_records(u, t);
	/* Children first: walk the order backwards. The root is its own up. */
	for (uint64_t k = u->n_order; k-- > 0;) {
		uint32_t d = u->order[k], p = u->up[d];
		if (p == d)
			continue;
		u->size[p] = add_sat(u->size[p], u->size[d]);
		u->alloc[p] = add_sat(u->alloc[p], u->alloc[d]);
		u->files[p] += u->files[d];
		u->dirs[p] += u->dirs[d];
	}
	return MFT_OK;
nomem:
	uffs_usage_free(u);
	return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
}
