/*
 * uffs: read the Master File Table of an NTFS volume, a disk image or a
 * captured $MFT file (read-only) and walk every file it describes.
 *
 *   uffs_db *db;
 *   char err[256];
 *   if (uffs_db_open("disk.img", NULL, &db, err, sizeof err) != 0)
 *       fprintf(stderr, "%s\n", err);
 *   uffs_iter *it = uffs_iter_new(db, 0);
 *   struct uffs_entry e;
 *   while (uffs_iter_next(it, &e) == 1) ...
 *   uffs_iter_free(it);
 *   uffs_db_close(db);
 *
 * A uffs_db is read-only once opened: any number of threads may walk it at
 * once, each with its own iterator. Names are WTF-8 (UTF-8, with unpaired
 * UTF-16 surrogates kept as their 3-byte forms) and not NUL-terminated.
 * Times are Windows FILETIMEs: 100-nanosecond intervals since 1601-01-01
 * UTC. See docs/api.md.
 */
#ifndef UFFS_PUBLIC_H
#define UFFS_PUBLIC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UFFS_API_VERSION 1

/* Returned by the functions below (0 is success). */
enum uffs_status {
	UFFS_OK = 0,
	UFFS_ERR_USAGE = 1,   /* a bad argument or option */
	UFFS_ERR_SOURCE = 2,  /* cannot open or read the source, not NTFS */
	UFFS_ERR_NOMEM = 3,
};

typedef struct uffs_db uffs_db;
typedef struct uffs_iter uffs_iter;

/* How far a scan is; given to the progress callback. */
struct uffs_db_progress {
	uint64_t records_done, records_total;
	uint64_t bytes_done, bytes_total;
	double seconds;
};

struct uffs_db_options {
	const char *mode;    /* scan mode as in uffs(1); NULL: auto */
	const char *backend; /* I/O backend; NULL: the best available */
	unsigned threads;    /* parse threads; 0: one per core */
	int partition;       /* partition of a disk image; 0: the only one */
	int64_t offset;      /* volume offset in bytes; -1: detect */
	uint32_t record_size; /* of a captured $MFT; 0: from record 0 */
	int deleted;         /* also keep records that are not in use */
	/* Called from the scan's merging thread: keep it short. */
	void (*progress)(void *ctx, const struct uffs_db_progress *p);
	/* A damaged record, one line of text; the scan goes on. */
	void (*warning)(void *ctx, const char *message);
	void *ctx;
	/* A Volume Shadow Copy store to read instead of the volume (1 = the
	 * oldest, as uffs info numbers them); 0: the volume itself. */
	int vss_store;
};

/* Fills in the defaults (the same as uffs(1)'s). */
void uffs_db_options_init(struct uffs_db_options *o);

/* Opens `source` read-only and scans it. opts may be NULL. On failure,
 * returns a uffs_status, writes a one-line message into err (if err_cap >
 * 0) and sets *db to NULL. */
int uffs_db_open(const char *source, const struct uffs_db_options *opts,
		 uffs_db **db, char *err, size_t err_cap);
void uffs_db_close(uffs_db *db);

/* Records the $MFT has room for (file record numbers are below it), and
 * how many warnings the scan gave. */
uint64_t uffs_db_records(const uffs_db *db);
uint64_t uffs_db_warnings(const uffs_db *db);

/* Per-entry flags. */
#define UFFS_ENTRY_DIR 0x1        /* a directory */
#define UFFS_ENTRY_DELETED 0x2    /* its record is not in use */
#define UFFS_ENTRY_ORPHAN 0x4     /* listed under /$OrphanFiles */
#define UFFS_ENTRY_REPARSE 0x8    /* has a reparse point */

/* One name of a file or directory, or one of its named streams: what
 * `uffs list` prints as a row. Valid until the next uffs_iter_next. */
struct uffs_entry {
	uint64_t frs;        /* file record number */
	uint16_t sequence;
	uint64_t parent_frs;
	const char *name;    /* the file's name (not its path) */
	size_t name_len;
	const char *stream;  /* a named stream's name; "" for the file */
	size_t stream_len;
	uint64_t size, allocated;
	uint64_t created, modified, mft_changed, accessed;
	uint32_t attributes; /* FILE_ATTRIBUTE_* of $STANDARD_INFORMATION */
	uint32_t links;      /* names the file has */
	uint32_t streams;    /* named data streams it has */
	uint32_t flags;      /* UFFS_ENTRY_* */
	uint32_t link_;      /* private */
};

/* Iterator flags. */
#define UFFS_ITER_STREAMS 0x1 /* also an entry per named stream */
#define UFFS_ITER_DELETED 0x2 /* also records not in use (needs the db
			       * opened with options.deleted); entries are
			       * names, so a deleted record none of whose
			       * names survive has none */

uffs_iter *uffs_iter_new(const uffs_db *db, unsigned flags);
/* 1 and the next entry, or 0 at the end. */
int uffs_iter_next(uffs_iter *it, struct uffs_entry *e);
void uffs_iter_free(uffs_iter *it);

/* Search flags. */
#define UFFS_SEARCH_CASE 0x1     /* exact case (default: without regard to
				  * case, through the volume's $UpCase) */
#define UFFS_SEARCH_PATH 0x2     /* match whole paths ("/dir/name"), also
				  * when the pattern holds a '/' */
#define UFFS_SEARCH_CONTAINS 0x4 /* the pattern is a plain substring */

/* An iterator over the entries whose name (or path) matches pattern: a
 * glob as in uffs search ('*' within a name, '**' across directories, '?',
 * '[a-z]', '\' escapes), matched against the whole name. A named stream
 * matches when its file does, or by "name:stream". iter_flags as for
 * uffs_iter_new. NULL for a pattern that does not compile (err says why)
 * or no memory. Walk and free it as any iterator. */
uffs_iter *uffs_search_new(const uffs_db *db, const char *pattern,
			   unsigned search_flags, unsigned iter_flags,
			   char *err, size_t err_cap);

/* The entry's full path ("/dir/name", "/dir/name:stream") into buf,
 * NUL-terminated. Returns its length; when that is >= cap the path did not
 * fit (call again with a larger buffer; 64 KiB is always enough for a name,
 * 256 KiB with any stream). */
size_t uffs_entry_path(const uffs_db *db, const struct uffs_entry *e,
		       char *buf, size_t cap);

/* Brings the index file at index_path (made by uffs index) up to date from
 * the change journal of `source`, the volume it was made from, as
 * `uffs index --update` does: the MFT records the journal names since the
 * index was made are read again, the rest copied; when the journal cannot
 * say what changed (none then, recreated or trimmed since), the volume is
 * scanned anew. The file is replaced safely (written under a temporary
 * name, then renamed). opts (may be NULL) gives the source options
 * (partition, offset, vss_store) and the warning callback. note (if
 * note_cap > 0) gets one line: "updated from the change journal: N records
 * since USN A, M MFT records read again" or "rescanned: why". */
int uffs_db_update_file(const char *index_path, const char *source,
			const struct uffs_db_options *opts, char *note,
			size_t note_cap, char *err, size_t err_cap);

/* The same for a db opened from an index file: the old handle is closed
 * (its iterators and entries must be gone), the file updated and *db
 * reopened from it. source NULL: the path the index was made from. When
 * the update fails, *db is reopened from the file as it was (NULL if even
 * that fails) and the update's status returned. */
int uffs_db_update(uffs_db **db, const char *source, char *note,
		   size_t note_cap, char *err, size_t err_cap);

/* ---- the change journal ($Extend/$UsnJrnl:$J) ---- */

typedef struct uffs_usn uffs_usn;

/* One change journal record (USN_RECORD_V2, V3 or V4), as `uffs usn`
 * prints it. Valid until the next uffs_usn_next. */
struct uffs_usn_record {
	int64_t usn;             /* its offset in $J */
	uint16_t major, minor;   /* the record's version */
	uint64_t frs;            /* the file's record number (low 48 bits) */
	uint16_t seq;            /* and sequence number (next 16 bits) */
	uint64_t parent_frs;
	uint16_t parent_seq;
	uint32_t reason;         /* USN_REASON_* bits */
	uint32_t source_info;
	int has_name;            /* versions 2 and 3; version 4 has none of: */
	uint64_t time;           /* FILETIME */
	uint32_t attributes;     /* FILE_ATTRIBUTE_* */
	uint32_t security_id;
	const char *name;        /* WTF-8, name_len bytes, not NUL-terminated */
	size_t name_len;
	/* Version 4: the ranges of the file that changed, n_extents pairs of
	 * (offset, length). */
	const int64_t *extents;
	uint32_t n_extents;
};

/* uffs_usn_open flags. */
#define UFFS_USN_STREAM 0x1 /* source is a captured $J, whatever it looks
			     * like (else recognised by its first record) */

/* Opens the change journal of `source`: a captured $J stream (recognised
 * by content), or a volume, disk image or container whose
 * $Extend/$UsnJrnl:$J is read through its runs (the journal's leading
 * hole is never read). Records come from USN `since` on (0: all). opts (may
 * be NULL) gives the source options (partition, offset, vss_store) and the
 * warning callback, which hears of each torn or garbage record (skipped;
 * reading goes on). Returns a uffs_status, with a one-line message in err
 * on failure (a volume with no journal is UFFS_ERR_SOURCE). */
int uffs_usn_open(const char *source, const struct uffs_db_options *opts,
		  unsigned flags, int64_t since, uffs_usn **j, char *err,
		  size_t err_cap);
/* 1 and the next record, 0 at the end, or -1 when a read failed (then
 * uffs_usn_error says where). */
int uffs_usn_next(uffs_usn *j, struct uffs_usn_record *r);
const char *uffs_usn_error(const uffs_usn *j);
/* Torn or garbage records skipped so far. */
uint64_t uffs_usn_damaged(const uffs_usn *j);
void uffs_usn_close(uffs_usn *j);

#ifdef __cplusplus
}
#endif

#endif
