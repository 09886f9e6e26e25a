/*
 * The platform edge of a source: open read-only, positioned reads, size.
 * One implementation per platform (file_posix.c, later file_win.c); nothing
 * above this header knows which.
 */
#ifndef UFFS_FILE_H
#define UFFS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uffs_file {
	intptr_t handle;
	uint64_t size;
	bool is_device;
	bool rotational; /* a spinning disk (image files count as SSD) */
	intptr_t direct_handle; /* opened for unbuffered reads, or -1 */
	uint32_t direct_align;  /* offsets, lengths, buffers: multiples of */
	char volume_prefix[4];  /* "C:" for a live Windows volume, else "" */
};

/* Opens `path` read-only. Returns 0 or -errno-style positive OS code in
 * *os_error with a static description in *what. */
int uffs_file_open(const char *path, struct uffs_file *f, int *os_error,
		   const char **what);
/* Reads up to len bytes at off; returns bytes read (short at end of file) or
 * -1 with *os_error set. Retries interrupted and partial reads. */
int64_t uffs_file_pread(const struct uffs_file *f, void *buf, size_t len,
			uint64_t off, int *os_error);
void uffs_file_close(struct uffs_file *f);
/* The first byte at or after off that the file system holds data for
 * (SEEK_DATA): a sparse file's holes are skipped without reading them.
 * off itself where the platform cannot tell; the size past the last data. */
uint64_t uffs_file_next_data(const struct uffs_file *f, uint64_t off);
/* Whether [off, off + len) is in the OS's cache now, probed by a read that
 * may not wait for the device (RWF_NOWAIT): 1 yes, 0 no, -1 cannot tell
 * (no such read here, or an error). buf is scratch of len bytes. */
int uffs_file_cached(const struct uffs_file *f, void *buf, size_t len,
		     uint64_t off);
/* Opens a second handle that reads around the page cache (O_DIRECT on
 * Linux). Returns 0, or -1 when the file system does not allow it; the
 * buffered handle is unaffected either way. */
int uffs_file_open_direct(struct uffs_file *f, const char *path);
/* For a live volume: what the OS says of it, as raw bytes for
 * scan/winvol.c. On Windows, FSCTL_GET_NTFS_VOLUME_DATA into vd (96 bytes)
 * and FSCTL_GET_RETRIEVAL_POINTERS on its $MFT into rp (*rp_len bytes, 0 if
 * unavailable). Returns 0 when vd was filled; -1 for images, on other
 * platforms, or where the volume does not answer (Wine). */
int uffs_file_volume_facts(const struct uffs_file *f, uint8_t *vd,
			   size_t vd_len, uint8_t *rp, size_t rp_cap,
			   size_t *rp_len);

/* For a live volume: its change journal as the OS keeps it. Both return 0
 * or an OS error code (-1 for images and on other platforms, which have no
 * live journal). uffs_file_journal_query: FSCTL_QUERY_USN_JOURNAL's
 * USN_JOURNAL_DATA bytes into q (*q_len of them). uffs_file_journal_read:
 * FSCTL_READ_USN_JOURNAL of journal `id` from USN `start`, waiting up to
 * timeout_ms for a first record when `wait` (a follower); out gets the next
 * USN to ask for (8 bytes) then whole records, *got bytes in all. The bytes
 * are untrusted: scan/live_journal.c bounds them. */
int uffs_file_journal_query(const struct uffs_file *f, uint8_t *q, size_t q_cap,
			    size_t *q_len);
int uffs_file_journal_read(const struct uffs_file *f, uint64_t id,
			   int64_t start, bool wait, uint32_t timeout_ms,
			   uint8_t *out, size_t cap, size_t *got);

/* For a live volume: FSCTL_GET_NTFS_FILE_RECORD of record frs, the
 * NTFS_FILE_RECORD_OUTPUT_BUFFER bytes into out (*got of them): the number
 * of the record given (the nearest lower one in use when frs is not), its
 * length, the record as the file system holds it. 0, an OS error code, or
 * -1 for images and on other platforms. The bytes are untrusted:
 * scan/live_record.c bounds them. */
int uffs_file_ntfs_record(const struct uffs_file *f, uint64_t frs,
			  uint8_t *out, size_t cap, size_t *got);

/* Whether an OS error code says the device cannot do what was asked (so
 * another way may work). */
bool uffs_file_error_unsupported(int os_error);

/* Text for an OS error code from the functions above. */
const char *uffs_file_strerror(int os_error);

#endif
