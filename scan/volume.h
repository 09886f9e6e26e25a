/*
 * uffs_volume: the $MFT of one source, located and mapped.
 *
 * For an NTFS volume: boot sector, then record 0 (or its $MFTMirr copy) gives
 * the $MFT extents from its $DATA runlist, following an $ATTRIBUTE_LIST into
 * extension records when the runlist continues there, and $MFT:$BITMAP. For a
 * captured $MFT file: the file itself, one extent, no bitmap.
 */
#ifndef UFFS_VOLUME_H
#define UFFS_VOLUME_H

#include <stdbool.h>
#include <stdint.h>

#include "../mft/mft.h"
#include "../source/source.h"

/* Warnings: damage that does not stop the scan. */
struct uffs_warn_sink {
	void (*warn)(void *ctx, const struct mft_error *e);
	void *ctx;
};

void uffs_warn(const struct uffs_warn_sink *sink, const struct mft_error *e);

struct uffs_tree;
/* Directories cut out of a parent loop are listed under $OrphanFiles; the
 * loop itself is damage: one warning each. */
void uffs_warn_parent_loops(const struct uffs_tree *t,
			    const struct uffs_warn_sink *sink);

#define UFFS_SPARSE_OFFSET UINT64_MAX
struct uffs_extent {
	uint64_t mft_off; /* byte offset within the $MFT stream */
	uint64_t vol_off; /* byte offset within the volume, or UFFS_SPARSE_OFFSET */
	uint64_t len;
};

struct uffs_volume {
	struct uffs_source *src;
	bool has_boot;
	struct mft_boot boot;
	uint32_t record_size;
	uint64_t mft_size;  /* bytes of $MFT:$DATA */
	uint64_t n_records; /* records in the mapped part of the $MFT */
	struct uffs_extent *ext;
	size_t n_ext;
	uint8_t *bitmap; /* $MFT:$BITMAP, NULL when unknown */
	uint64_t bitmap_len;
	bool from_mirror; /* record 0 was unusable, $MFTMirr used */
	uint8_t *mirror_rec0; /* then: the mirror's copy, as read, for the scan */
};

/* What the OS says of a live volume, where it says anything (Windows:
 * FSCTL_GET_NTFS_VOLUME_DATA), in the volume's terms. */
struct uffs_os_volume {
	uint64_t serial;
	uint64_t total_clusters;
	uint32_t bytes_per_sector;
	uint32_t bytes_per_cluster;
	uint32_t bytes_per_record;
	uint64_t mft_valid_length;
	uint64_t mft_lcn;
	uint64_t mftmirr_lcn;
};

/* The OS's view of the volume behind f, and (when ext is not NULL) the
 * $MFT's extents as the OS maps them, at most max_ext, in bytes for
 * cluster_size. Returns 0 when the OS answered; -1 for images, other
 * platforms, or a volume that does not answer (Wine). *n_ext is 0 when the
 * extents are unknown. The volume owns this interface; scan/winvol.c
 * implements it from the Windows structures. */
int uffs_os_volume_read(const struct uffs_file *f, uint32_t cluster_size,
			struct uffs_os_volume *out, struct uffs_extent *ext,
			size_t max_ext, size_t *n_ext);

/* A live volume's geometry comes from the OS when it answers: where its
 * cluster size, record size or $MFT cluster differ from the boot sector's
 * (and are sane), the OS's values replace them, each with a warning. The
 * boot sector remains the source wherever the OS says nothing (Wine).
 * Returns how many values were replaced. */
unsigned uffs_volume_apply_os(struct uffs_volume *v,
			      const struct uffs_os_volume *os,
			      const struct uffs_warn_sink *warn);

/* Compares the OS's answers with the volume as mapped from its boot sector
 * and record 0; each disagreement is a warning (the scan goes on with the
 * on-disk view, which is what the listing is built from). Returns the
 * number of disagreements. */
unsigned uffs_volume_check_os(const struct uffs_volume *v,
			      const struct uffs_os_volume *os,
			      const struct uffs_extent *ext, size_t n_ext,
			      const struct uffs_warn_sink *warn);

int uffs_volume_open(struct uffs_volume *v, struct uffs_source *src,
		     const struct uffs_warn_sink *warn, struct mft_error *err);
void uffs_volume_close(struct uffs_volume *v);

/* Reads `count` records starting at `first` into buf (count * record_size
 * bytes); sparse parts read as zeros. */
int uffs_volume_read_records(const struct uffs_volume *v, uint64_t first,
			     uint64_t count, uint8_t *buf,
			     struct mft_error *err);

/* Reads up to n bytes of the value of record frs's unnamed attribute of
 * `type` (its VCN-0 piece, whose runs must cover them) into out, and sets
 * *value_len to the whole value's length. For a volume only. */
int uffs_volume_read_attr(const struct uffs_volume *v, uint64_t frs,
			  uint32_t type, uint8_t *out, uint64_t n,
			  uint64_t *value_len, struct mft_error *err);

/* The records that record frs's attribute list names besides frs (its
 * extension records), in list order, in a new array; none when it has no
 * list. For a volume only. */
int uffs_volume_list_extensions(const struct uffs_volume *v, uint64_t frs,
				uint64_t **out, size_t *n, struct mft_error *err);

/* Where the bytes of one stream of a record lie: extents from stream
 * offset to volume offset (UFFS_SPARSE_OFFSET for a hole), or a resident
 * value; size is the stream's length (reads past the runs give zeros). */
struct uffs_stream_map {
	struct uffs_extent *ext; /* mft_off: the offset within the stream */
	size_t n_ext;
	uint8_t *value; /* a resident stream's bytes, else NULL */
	uint64_t size;
};

/* Maps stream type:name (an ASCII name, "" for the unnamed one) of record
 * frs, following its attribute list into extension records. For a volume
 * only. */
int uffs_volume_map_stream(const struct uffs_volume *v, uint64_t frs,
			   uint32_t type, const char *name,
			   struct uffs_stream_map *m, struct mft_error *err);
/* Reads [off, off + len) of a mapped stream (inside its size); holes read
 * as zeros. */
int uffs_volume_read_stream(const struct uffs_volume *v,
			    const struct uffs_stream_map *m, uint64_t off,
			    uint8_t *buf, size_t len, struct mft_error *err);
void uffs_stream_map_free(struct uffs_stream_map *m);

/* The volume's $UpCase table (record 10's unnamed $DATA) into table
 * (UFFS_UPCASE_UNITS units). An error when the volume has none (a captured
 * $MFT: MFT_E_USAGE) or it is unreadable or not a case table: callers fall
 * back to the built-in table (uffs_upcase_default). */
int uffs_volume_read_upcase(const struct uffs_volume *v, uint16_t *table,
			    struct mft_error *err);

/* Whether $MFT:$BITMAP marks the record in use (true when unknown). */
bool uffs_volume_record_in_bitmap(const struct uffs_volume *v, uint64_t frs);

/* Records marked in use in $MFT:$BITMAP (n_records when unknown). */
uint64_t uffs_volume_bitmap_count(const struct uffs_volume *v);

/* Index of the extent holding byte `off` of the $MFT: the last extent that
 * starts at or before it (check its length). */
size_t uffs_volume_find_extent(const struct uffs_volume *v, uint64_t off);

/* An error as one line of text: "record N (at byte B), offset O: what
 * (detail)", the location parts only where known; the detail only when
 * asked for. vol may be NULL. Returns the length (truncated to cap). */
size_t uffs_error_text(const struct mft_error *e, const struct uffs_volume *vol,
		       bool detail, char *buf, size_t cap);

/* Byte offset of record frs within the source file (for messages), or
 * UINT64_MAX when not mapped. */
uint64_t uffs_volume_record_offset(const struct uffs_volume *v, uint64_t frs);

#endif
