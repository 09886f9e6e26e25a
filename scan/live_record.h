/*
 * A live volume's MFT records as the file system holds them now (Windows:
 * FSCTL_GET_NTFS_FILE_RECORD). NTFS writes changed records to the volume
 * lazily, so right after a change the volume may still hold the old one;
 * the file system's copy is current. Its answers are untrusted like any
 * on-disk structure: every length is bounded here.
 */
#ifndef UFFS_LIVE_RECORD_H
#define UFFS_LIVE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "volume.h"

/* NTFS_FILE_RECORD_OUTPUT_BUFFER: the number of the record given (8
 * bytes), its length (4), then the record. */
#define UFFS_LIVE_RECORD_HEADER 12u

/* Takes the file system's answer for record frs (len bytes) into rec
 * (record_size bytes, in the on-disk form the parse takes: a record held
 * in memory has its strides' tails protected again, mft_fixup_reprotect).
 * The file system answers for a record not in use with the nearest lower
 * one that is: then *in_use is false and rec is untouched. An answer that
 * does not hold (short, a higher record, another length, tails that are
 * neither form) is an error naming frs and the answer's byte offset. */
int uffs_live_record_take(const uint8_t *ans, size_t len, uint64_t frs,
			  uint8_t *rec, uint32_t record_size, bool *in_use,
			  struct mft_error *err);

/* Where uffs_volume_read_current found the record. */
enum uffs_record_origin {
	UFFS_RECORD_FROM_VOLUME, /* not a live volume, or no answer */
	UFFS_RECORD_FROM_FS,     /* the file system's current copy */
	UFFS_RECORD_FREED,       /* the volume's copy, free as the FS says */
};

/* Reads record frs as it is now into buf (record_size bytes): on a live
 * volume, the file system's copy; a record the file system says is not in
 * use is read from the volume with its in-use flag cleared (the volume's
 * copy may still say otherwise); anywhere else, or where the file system
 * gives no answer (Wine, an older system), the volume's copy. A damaged
 * answer is a warning, and the volume's copy is used. */
int uffs_volume_read_current(const struct uffs_volume *v, uint64_t frs,
			     uint8_t *buf, const struct uffs_warn_sink *warn,
			     enum uffs_record_origin *origin,
			     struct mft_error *err);

#endif
