/* Filters of uffs search, parsed from the command line into a query's
 * ranges and attribute sets (mft/query.h). Pure functions, no I/O. */
#ifndef UFFS_FILTER_H
#define UFFS_FILTER_H

#include <stdbool.h>
#include <stdint.h>

#include "../mft/query.h"

/* Sizes: N with an optional K/M/G/T/P suffix (binary; "1.5G" and "KiB"
 * accepted); ranges A..B, A.., ..B, >A, <B, or one value. */
int filter_parse_size(const char *s, struct uffs_range *r);

/* Times as FILETIME (100 ns since 1601, UTC): YYYY-MM-DD[THH:MM[:SS]]
 * (a date alone is that whole day), today, yesterday, or Nd/Nh/Nm/Nw ago
 * ("7d": the last 7 days); ranges as for sizes. now_unix: the clock. */
int filter_parse_time(const char *s, int64_t now_unix, struct uffs_range *r);

/* Attributes: a comma list of hidden, system, readonly, archive, sparse,
 * compressed, encrypted, reparse, temporary, offline; '!' or '-' before a
 * name requires it to be clear. */
int filter_parse_attrs(const char *s, uint32_t *set, uint32_t *clear);

#endif
