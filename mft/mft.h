/*
 * mft: pure NTFS Master File Table parsing over byte spans.
 *
 * No I/O, no platform code, no allocation: callers hand in buffers, the
 * parser hands back views into them. Every function returns MFT_OK (0) or a
 * negative MFT_E_* code and, on error, fills a struct mft_error saying what
 * was wrong and where (record number and byte offset within the structure).
 */
#ifndef UFFS_MFT_H
#define UFFS_MFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Record sizes we accept; the fixed per-record scratch arrays below are sized
 * from the largest. */
#define MFT_RECORD_SIZE_MIN 512u
#define MFT_RECORD_SIZE_MAX 4096u

/* The smallest attribute record is a resident header with no value. */
#define MFT_ATTR_MIN_LEN 0x18u
#define MFT_MAX_ATTRS (MFT_RECORD_SIZE_MAX / MFT_ATTR_MIN_LEN + 1)
/* A $FILE_NAME attribute is at least 0x18 + 0x42 bytes. */
#define MFT_MAX_NAMES (MFT_RECORD_SIZE_MAX / (0x18 + 0x42) + 1)

/* Error codes: one table makes the enum and the names. */
#define MFT_ERRORS(X)                                                        \
	X(CORRUPT, -1, "corrupt structure")                                    \
	X(BAD_MAGIC, -2, "not a FILE record")                                  \
	X(BAAD, -3, "record marked BAAD by chkdsk")                            \
	X(EMPTY, -4, "empty record")                                           \
	X(FIXUP, -5, "update sequence mismatch")                               \
	X(UNSUPPORTED, -6, "unsupported")                                      \
	X(NOMEM, -7, "out of memory")                                          \
	X(IO, -8, "read error")                                                \
	X(TRUNCATED, -9, "truncated")                                          \
	X(NOT_NTFS, -10, "not an NTFS volume")                                 \
	X(USAGE, -11, "invalid argument")

enum mft_status {
	MFT_OK = 0,
#define MFT_ERR_ENUM(name, value, text) MFT_E_##name = value,
	MFT_ERRORS(MFT_ERR_ENUM)
#undef MFT_ERR_ENUM
};

/* Where and what. `what` always points at a string literal. `frs` is
 * MFT_NO_FRS when the error is not about one record. */
#define MFT_NO_FRS UINT64_MAX
#define MFT_NO_OFFSET UINT64_MAX /* the error has no place in the data */
struct mft_error {
	int code;
	uint64_t frs;
	uint64_t offset;
	const char *what;
	char detail[208]; /* optional context, "" when none */
};

const char *mft_strerror(int code);
/* Records an error and returns its code, for "return mft_fail(...)". */
int mft_fail(struct mft_error *err, int code, uint64_t frs, uint64_t offset,
	     const char *what);

/* ---- boot sector --------------------------------------------------------- */
struct mft_boot {
	uint32_t bytes_per_sector;
	uint32_t cluster_size;
	uint32_t record_size;
	uint32_t index_record_size;
	uint64_t total_sectors;
	uint64_t volume_size;
	uint64_t mft_lcn;
	uint64_t mftmirr_lcn;
	uint64_t serial;
};

/* Validates and decodes an NTFS boot sector (at least 512 bytes). */
int mft_boot_parse(const uint8_t *sector, size_t len, struct mft_boot *out,
		   struct mft_error *err);
/* True when the bytes carry the NTFS OEM id (a cheap probe, no validation). */
bool mft_boot_looks_ntfs(const uint8_t *sector, size_t len);

/* ---- update sequence fixup ------------------------------------------------ */
/* Checks every 512-byte stride's last two bytes against the update sequence
 * number, then restores the saved originals, in place. Nothing is written
 * unless every stride matches. */
int mft_fixup_apply(uint8_t *rec, size_t size, uint64_t frs,
		    struct mft_error *err);
/* A record as the file system holds it in memory (each stride's tail
 * already restored from the array, as FSCTL_GET_NTFS_FILE_RECORD may give
 * it) put back into its on-disk form, so that mft_fixup_apply and the
 * parse take it as they take a record read from the volume: where every
 * tail equals its saved word, the number is written there. A record
 * already in on-disk form is left as it is (where both hold, the two
 * forms are the same record). A tail that is neither is MFT_E_FIXUP, at
 * its offset; a bad array is reported as mft_fixup_apply reports it. */
int mft_fixup_reprotect(uint8_t *rec, size_t size, uint64_t frs,
			struct mft_error *err);

/* ---- runlists (mapping pairs) --------------------------------------------- */
#define MFT_LCN_SPARSE (-1)
struct mft_run {
	uint64_t vcn;
	int64_t lcn; /* MFT_LCN_SPARSE for a hole */
	uint64_t length;
};

struct mft_runlist_iter {
	const uint8_t *p;
	size_t len;
	size_t off;
	uint64_t vcn;
	int64_t lcn;
};

void mft_runlist_init(struct mft_runlist_iter *it, const uint8_t *p,
		      size_t len, uint64_t start_vcn);
/* 1: *run filled; 0: end of list; < 0: corrupt (err->offset is the byte
 * offset within the runlist). */
int mft_runlist_next(struct mft_runlist_iter *it, struct mft_run *run,
		     struct mft_error *err);

/* ---- attributes ------------------------------------------------------------- */
struct mft_attr {
	uint32_t type;
	uint32_t offset; /* of the attribute record within the MFT record */
	uint32_t length;
	bool nonresident;
	uint8_t name_len; /* UTF-16 units */
	const uint8_t *name;
	uint16_t flags;
	uint16_t id;
	/* resident */
	const uint8_t *value;
	uint32_t value_len;
	/* non-resident */
	uint64_t start_vcn;
	uint64_t last_vcn;
	const uint8_t *runlist;
	uint32_t runlist_len;
	uint64_t alloc_size;
	uint64_t data_size;
	uint64_t init_size;
	uint64_t total_alloc; /* = alloc_size unless compressed/sparse */
};

struct mft_attr_iter {
	const uint8_t *rec;
	uint32_t off;
	uint32_t end;
	uint64_t frs;
};

void mft_attr_iter_init(struct mft_attr_iter *it, const uint8_t *rec,
			uint32_t first, uint32_t end, uint64_t frs);
/* 1: *a filled; 0: end marker reached; < 0: corrupt attribute. */
int mft_attr_next(struct mft_attr_iter *it, struct mft_attr *a,
		  struct mft_error *err);

/* ---- $ATTRIBUTE_LIST entries ------------------------------------------------ */
struct mft_al_entry {
	uint32_t type;
	uint16_t length;
	uint8_t name_len;
	const uint8_t *name;
	uint64_t start_vcn;
	uint64_t record_ref;
	uint16_t attr_id;
};

struct mft_al_iter {
	const uint8_t *p;
	size_t len;
	size_t off;
};

void mft_al_iter_init(struct mft_al_iter *it, const uint8_t *p, size_t len);
/* 1: entry; 0: end; < 0: corrupt (err->offset within the list). */
int mft_al_next(struct mft_al_iter *it, struct mft_al_entry *e,
		struct mft_error *err);

/* ---- names ------------------------------------------------------------------ */
/* Converts UTF-16LE to WTF-8: well-formed pairs become 4-byte UTF-8, unpaired
 * surrogates are kept as their 3-byte encodings so no name is lost. `out`
 * must hold 3 * units bytes. Returns the bytes written. */
size_t mft_utf16_to_wtf8(const uint8_t *u16le, size_t units, char *out);
/* The same, and *printable: whether every unit is 0x20..0x7E, printable
 * ASCII (the WTF-8 is then those bytes, with no control character). False
 * for an empty name. */
size_t mft_utf16_to_wtf8_printable(const uint8_t *u16le, size_t units,
				   char *out, bool *printable);
/* One code point (a lone surrogate too: WTF-8) as 1 to 4 bytes into out;
 * returns how many. */
size_t mft_wtf8_put(char *out, uint32_t cp);

/* ---- one parsed record ------------------------------------------------------- */
struct mft_name_view {
	const uint8_t *name; /* UTF-16LE */
	uint8_t len;
	uint8_t ns;
	uint16_t attr_id;
	uint16_t value_len;
	uint64_t parent_ref;
	uint64_t times[4]; /* created, modified, mft changed, accessed */
	uint32_t flags;
};

enum mft_stream_kind { MFT_STREAM_DATA = 0, MFT_STREAM_INDEX = 1 };

struct mft_stream_view {
	const uint8_t *name; /* UTF-16LE, NULL when unnamed */
	uint8_t name_len;
	uint8_t kind;
	uint16_t attr_id;
	uint16_t flags; /* attribute flags: compressed, sparse, encrypted */
	bool nonresident;
	uint64_t start_vcn;
	uint64_t size;
	uint64_t alloc;
};

enum mft_times { MFT_T_CREATED, MFT_T_MODIFIED, MFT_T_CHANGED, MFT_T_ACCESSED };

struct mft_record_view {
	uint64_t frs;
	uint64_t base_ref; /* 0 for a base record */
	uint16_t seq;
	uint16_t flags; /* MFT_REC_FLAG_* */
	uint16_t link_count;
	bool has_si;
	uint32_t si_attrs;
	uint32_t owner_id;
	uint64_t si_times[4];
	bool has_reparse;
	uint32_t reparse_tag;
	bool has_attr_list;
	struct mft_attr attr_list;
	bool baad;            /* "BAAD" signature with a valid fixup: parsed */
	bool partial;         /* an attribute was damaged: the walk stopped */
	struct mft_error damage; /* what stopped it, when partial */
	unsigned n_attrs;     /* attributes parsed */
	unsigned n_names;
	unsigned n_streams;
	struct mft_name_view names[MFT_MAX_NAMES];
	struct mft_stream_view streams[MFT_MAX_ATTRS];
};

/* Checks a record's header, applies the fixup in place and walks its
 * attributes into *out (views into buf). Errors (the record is unusable):
 *   MFT_E_EMPTY     all zero
 *   MFT_E_BAD_MAGIC neither "FILE" nor "BAAD"
 *   MFT_E_FIXUP     update sequence mismatch (a torn write)
 *   MFT_E_CORRUPT   header fields out of range
 * A "BAAD" record whose fixup holds is parsed (out->baad set), as The Sleuth
 * Kit does. A damaged attribute stops the walk but keeps what came before it
 * (out->partial, out->damage), as The Sleuth Kit does. */
int mft_record_parse(uint8_t *buf, uint32_t rec_size, uint64_t frs,
		     struct mft_record_view *out, struct mft_error *err);

/* The first half of mft_record_parse: magic, fixup and header checks; on
 * success [*first, *end) is the attribute area for mft_attr_iter_init. */
int mft_record_prepare(uint8_t *buf, uint32_t rec_size, uint64_t frs,
		       uint32_t *first, uint32_t *end, struct mft_error *err);

/* Header-only probe used when guessing the record size of a captured $MFT. */
bool mft_record_has_magic(const uint8_t *buf, size_t len);

#endif
