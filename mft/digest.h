/* A canonical digest of a finished index: XXH3-128 over every column in a
 * fixed little-endian layout, so equal indexes give equal digests on every
 * platform, and any difference in any field changes it. */
#ifndef UFFS_DIGEST_H
#define UFFS_DIGEST_H

#include <stdint.h>

#include "index.h"

struct uffs_digest {
	uint64_t hi, lo;
};

struct uffs_digest uffs_index_digest(const struct uffs_index *idx);
/* 32 hex digits and a NUL. */
void uffs_digest_hex(struct uffs_digest d, char out[33]);

#endif
