/*
 * Saved index files: a finished uffs_index and the facts of its volume,
 * laid out so that a read-only mapping of the file can be used in place.
 * The layout is specified in docs/index-format.md; this module writes it
 * (through a caller's write function) and validates it (over caller's
 * bytes). No I/O, no platform code.
 *
 * Every array of the loaded index points into the caller's bytes, which
 * must stay mapped and 64-byte aligned (a page-aligned mapping is) while
 * the index is used. Nothing writes to a finished index, so a read-only
 * mapping suffices.
 */
#ifndef UFFS_IDXFILE_H
#define UFFS_IDXFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index.h"

#define UFFS_IDXFILE_MAGIC "UFFSIDX" /* with its NUL: 8 bytes */
#define UFFS_IDXFILE_MAGIC_LEN 8
#define UFFS_IDXFILE_VERSION 1
#define UFFS_IDXFILE_HEADER_SIZE 64
#define UFFS_IDXFILE_ENTRY_SIZE 32
#define UFFS_IDXFILE_ALIGN 64
#define UFFS_IDXFILE_CHECKSUM_AT 32 /* 16 bytes: XXH3-128, low half first */
#define UFFS_IDXFILE_UPCASE_UNITS 65536

/* Volume facts kept with the index (what `uffs info` prints). */
struct uffs_idxfile_facts {
	uint64_t indexed_at; /* Unix time, seconds */
	uint64_t warnings;   /* warnings the scan gave */
	uint64_t base;       /* volume offset within the source */
	int32_t partition;   /* 0 = whole file */
	bool has_boot;
	bool from_mirror;
	uint32_t bytes_per_sector;
	uint32_t cluster_size;
	uint64_t volume_size;
	uint64_t mft_lcn;
	uint64_t mftmirr_lcn;
	uint64_t serial;
	uint64_t mft_size;
	uint64_t vol_records; /* records in the mapped $MFT */
	char volume_prefix[4]; /* "C:" for a live Windows volume, else "" */
	const char *source_path;
	size_t source_path_len;
	const char *container;
	size_t container_len;
	const uint64_t *extents; /* triples: mft offset, volume offset, length */
	uint64_t n_extents;
	const uint8_t *bitmap; /* $MFT:$BITMAP, NULL when the source had none */
	uint64_t bitmap_len;
	const uint16_t *upcase; /* 65536 units, or NULL */
	/* Where the volume's change journal stood when the index was made:
	 * its $Max journal ID and the USN its next record gets (the size of
	 * $J), so that uffs index --update reads on from there. */
	bool has_journal;
	uint64_t journal_id;
	uint64_t journal_next_usn;
};

/* Writes the file through `write` (which returns 0, or nonzero to stop).
 * The index must be finished and keep its $FILE_NAME times. Returns 0,
 * MFT_E_IO when `write` failed, or MFT_E_UNSUPPORTED / MFT_E_NOMEM. */
typedef int (*uffs_idxfile_write_fn)(void *ctx, const void *p, size_t n);
int uffs_idxfile_write(const struct uffs_index *idx,
		       const struct uffs_idxfile_facts *facts,
		       uffs_idxfile_write_fn write, void *ctx,
		       struct mft_error *err);

/* Validates `len` bytes at `p` (64-byte aligned) and fills *idx and *facts
 * with pointers into them. With check_sum false the checksum is not
 * verified (fuzzing; every other check still runs). Returns 0, or
 * MFT_E_CORRUPT / MFT_E_TRUNCATED / MFT_E_UNSUPPORTED with err->offset the
 * byte offset in the file and err->detail naming the section or field.
 * Once it returns 0, every array access the index's consumers make (path
 * resolution, listing, digest) stays within the bytes. */
int uffs_idxfile_load(const uint8_t *p, uint64_t len, bool check_sum,
		      struct uffs_index *idx, struct uffs_idxfile_facts *facts,
		      struct mft_error *err);

/* Whether the bytes start like an index file (the magic alone). */
bool uffs_idxfile_is(const uint8_t *p, size_t len);

/* Recomputes and stores the checksum of a file in memory (for tests and
 * the fuzzer, which mutate bodies). Does nothing to a too-short buffer. */
void uffs_idxfile_reseal(uint8_t *p, size_t len);

#endif
