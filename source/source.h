/*
 * uffs_source: where MFT records come from. Detects what a path holds
 * (an NTFS volume image or device, a disk image with an MBR or GPT partition
 * table, or a captured $MFT file) and reads it, read-only, relative to the
 * start of the chosen volume.
 */
#ifndef UFFS_SOURCE_H
#define UFFS_SOURCE_H

#include <stdint.h>

#include "../aio/uaio.h"
#include "../mft/mft.h"
#include "container.h"
#include "file.h"

enum uffs_source_kind {
	UFFS_SOURCE_VOLUME,   /* NTFS boot sector at `base` */
	UFFS_SOURCE_MFT_FILE, /* consecutive MFT records from offset 0 */
};

struct uffs_source_opts {
	int partition;       /* 1-based partition number, 0 = choose */
	int64_t offset;      /* volume offset in bytes, -1 = detect */
	uint32_t record_size; /* force for $MFT files, 0 = infer */
	bool direct;          /* also open for reads around the page cache */
	int vss_store;        /* read this shadow-copy store (1 = oldest);
			       * 0: the volume itself */
};

#define UFFS_SOURCE_OPTS_DEFAULT {0, -1, 0, false, 0}

struct uffs_source {
	const char *path;
	struct uffs_file file;
	enum uffs_source_kind kind;
	uint64_t base;         /* volume start within the file */
	uint64_t size;         /* bytes readable from base */
	uint32_t record_size;  /* MFT_FILE only */
	int partition;         /* 0 = whole file */
	const char *container; /* "raw volume", "MBR disk image", ... */
	/* The container format the disk is read through (E01, VHD, ...);
	 * NULL for a plain file or device. Then `file` holds only the disk's
	 * size, no handle, and reads go through `reader`. */
	struct uffs_container *format;
	struct uaio_reader reader;
	char described[64]; /* container, with the format named */
};

/* Opens and classifies `path`. On failure *err says why (err->offset is a
 * byte offset in the file) and nothing stays open. */
int uffs_source_open(struct uffs_source *src, const char *path,
		     const struct uffs_source_opts *opts,
		     struct mft_error *err);
void uffs_source_close(struct uffs_source *src);

/* Makes src read the disk that c holds (src's own file, if open, stays
 * as it is: the caller has closed or handed it on). */
void uffs_source_read_through(struct uffs_source *src,
			      struct uffs_container *c);

/* How the scan's I/O backends read this source: NULL for the OS's own
 * reads of file.handle, else a function (a container's). */
const struct uaio_reader *uffs_source_reader(const struct uffs_source *src);

/* Reads exactly len bytes at off (relative to base); a short read is
 * MFT_E_TRUNCATED, an OS failure MFT_E_IO. */
int uffs_source_read(const struct uffs_source *src, void *buf, size_t len,
		     uint64_t off, struct mft_error *err);

#endif
