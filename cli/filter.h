/* Filters of uffs search: size and time ranges, attribute sets, parsed
 * from the command line. Pure functions, no I/O. */
#ifndef UFFS_FILTER_H
#define UFFS_FILTER_H

#include <stdbool.h>
#include <stdint.h>

/* [lo, hi], inclusive. */
struct filter_range {
	bool on;
	uint64_t lo, hi;
};

static inline bool filter_in(const struct filter_range *r, uint64_t v)
{
	return !r->on || (v >= r->lo && v <= r->hi);
}

/* Sizes: N with an optional K/M/G/T/P suffix (binary; "1.5G" and "KiB"
 * accepted); ranges A..B, A.., ..B, >A, <B, or one value. */
int filter_parse_size(const char *s, struct filter_range *r);

/* Times as FILETIME (100 ns since 1601, UTC): YYYY-MM-DD[THH:MM[:SS]]
 * (a date alone is that whole day), today, yesterday, or Nd/Nh/Nm/Nw ago
 * ("7d": the last 7 days); ranges as for sizes. now_unix: the clock. */
int filter_parse_time(const char *s, int64_t now_unix, struct filter_range *r);

/* Attributes: a comma list of hidden, system, readonly, archive, sparse,
 * compressed, encrypted, reparse, temporary, offline; '!' or '-' before a
 * name requires it to be clear. */
int filter_parse_attrs(const char *s, uint32_t *set, uint32_t *clear);

#endif
