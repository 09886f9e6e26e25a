/*
 * Change journal records: the USN_RECORD_V2, V3 and V4 layouts of
 * $Extend/$UsnJrnl:$J (Microsoft's published structures). Pure: records
 * are parsed from caller's bytes, bounded by the page they sit in, and
 * never written.
 *
 * The $J stream is a run of pages (4096 bytes on every NTFS volume the
 * journal has been seen on; records never straddle one): records of 8-byte
 * aligned length, then zeros to the end of the page. It starts with a
 * sparse hole (the journal's discarded past): zeros, skipped a page at a
 * time. A record's USN is its own offset in the stream, which is what tells
 * a real record from a torn one.
 */
#ifndef UFFS_USN_H
#define UFFS_USN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mft.h"

#define USN_PAGE 4096u
#define USN_V2_MIN 60u   /* header up to the name */
#define USN_V3_MIN 76u
#define USN_V4_MIN 64u   /* header up to the extents */
#define USN_EXTENT_SIZE 16u

struct usn_record {
	uint32_t length;
	uint16_t major, minor;
	uint64_t file_ref, parent_ref; /* the low 64 bits (NTFS's whole id) */
	uint64_t file_ref_high, parent_ref_high; /* v3 and v4 only */
	int64_t usn;
	uint64_t time; /* FILETIME; v2 and v3 */
	uint32_t reason, source_info;
	uint32_t security_id, attributes; /* v2 and v3 */
	const uint8_t *name; /* UTF-16LE, name_len bytes; v2 and v3 */
	uint16_t name_len;
	/* v4: the ranges of the file that changed */
	uint32_t remaining_extents;
	uint16_t n_extents;
	const uint8_t *extents; /* n_extents of {int64 offset, int64 length} */
};

static inline uint64_t usn_ref_frs(uint64_t ref)
{
	return ref & 0xFFFFFFFFFFFFull;
}

static inline uint16_t usn_ref_seq(uint64_t ref)
{
	return (uint16_t)(ref >> 48);
}

/* Parses one record from p, of which avail bytes may be read (the rest of
 * its page). MFT_OK, or an error naming the byte offset within p and what
 * is wrong. */
int usn_record_parse(const uint8_t *p, size_t avail, struct usn_record *r,
		     struct mft_error *err);

/* The reason flags' names, lowest bit first: "DATA_OVERWRITE", ... NULL
 * for a bit that has none. */
const char *usn_reason_name(unsigned bit);
/* The bit of a reason name (any case, with or without USN_REASON_), or -1. */
int usn_reason_bit(const char *name, size_t len);

/* Walks the records of one page of $J (the page's first byte is at stream
 * offset page_off). For each record calls `each`; for damage (a length
 * that cannot be, a torn record whose USN is not its offset) calls `bad`
 * once and looks for the next record whose USN matches its offset. Zeros
 * end the page's records. Returns the number of records given to each. */
typedef void usn_each_fn(void *ctx, const struct usn_record *r);
typedef void usn_bad_fn(void *ctx, const struct mft_error *e);
size_t usn_page_walk(const uint8_t *page, size_t len, uint64_t page_off,
		     usn_each_fn *each, usn_bad_fn *bad, void *ctx);

/* Whether a page (or any buffer) is all zeros: the journal's hole. */
bool usn_all_zero(const uint8_t *p, size_t len);

#endif
