/*
 * Disk usage: totals for every directory subtree of a finished index, as
 * `uffs du` shows them.
 *
 * What counts is exactly what `uffs list` prints, each record once: a
 * record's size is the sum of its listing rows (its unnamed $DATA, named
 * streams and index roots), counted under its first name only (a file with
 * several hard links counts once, as du(1) counts it); a directory's own
 * rows count in its own subtree. Only records in use count. The virtual
 * /$OrphanFiles directory holds what the listing puts there.
 */
#ifndef UFFS_USAGE_H
#define UFFS_USAGE_H

#include <stdint.h>

#include "path.h"

struct uffs_usage {
	uint64_t n_nodes;    /* n_records + 1: the last is /$OrphanFiles */
	uint64_t *size;      /* per node: logical bytes of its subtree */
	uint64_t *alloc;     /* allocated bytes */
	uint32_t *files;     /* records in use that are not directories */
	uint32_t *dirs;      /* directories in use below it */
	uint32_t *up;        /* the node it is listed in (itself for the root) */
	uint16_t *level;     /* uffs_tree_dir_level; 1 for /$OrphanFiles */
	uint32_t *order;     /* directory nodes, parents before children */
	uint64_t n_order;
};

#define UFFS_USAGE_NO_NODE UINT32_MAX

int uffs_usage_build(struct uffs_usage *u, const struct uffs_tree *t,
		     struct mft_error *err);
void uffs_usage_free(struct uffs_usage *u);

/* A record's own contribution: the sum of its listing rows. */
void uffs_record_sizes(const struct uffs_index *idx, uint64_t r,
		       uint64_t *size, uint64_t *alloc);

#endif
