/*
 * A qcow image's cluster tables, checked before libqcow reads them: every
 * table and data cluster they point at must lie inside the file. libqcow
 * itself copies past its buffers when a cluster is cut short (a truncated
 * image), so an image that fails here never reaches it. Pure: the file
 * comes through a read function, so the check is fuzzed on its own.
 */
#ifndef UFFS_QCOW_CHECK_H
#define UFFS_QCOW_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "container.h"

/* Reads exactly len bytes at off: 0, or -1. */
typedef int uffs_qcow_read_fn(void *ctx, void *buf, size_t len, uint64_t off);

/* Returns 0 when the tables are sound, or -1 with a reason naming the
 * table entry and the offset. */
int uffs_qcow_check(uffs_qcow_read_fn *read, void *ctx, uint64_t file_size,
		    char why[UFFS_CONTAINER_WHY]);

#endif
