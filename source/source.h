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

struct uffs_source;

/* How a source's bytes are read: one implementation per kind of disk, each
 * in its own file. A file, a block device or a live Windows volume, through
 * the platform's file layer (uffs_disk_file, disk_file.c); a container
 * format or a shadow-copy store, through struct uffs_container
 * (uffs_disk_container, disk_container.c); a saved index, which holds no
 * volume bytes (scan/saved.c). A new kind of disk is a new file and, where
 * it is recognised by content, a line in a detection table
 * (source/container.c): nothing else branches on the kind. */
struct uffs_disk_ops {
	const char *kind;
	/* Exactly len bytes at off of the disk (not of the volume): MFT_OK,
	 * MFT_E_TRUNCATED for a short read, MFT_E_IO. */
	int (*read)(const struct uffs_source *src, void *buf, size_t len,
		    uint64_t off, struct mft_error *err);
	/* How the aio backends read it: NULL for the OS's own reads of
	 * file.handle (io_uring, IOCP, IoRing), else a read function that the
	 * portable backends call. */
	const struct uaio_reader *(*aio_reader)(const struct uffs_source *src);
	/* A second handle for reads around the page cache (--direct), where
	 * the kind has one; NULL otherwise. */
	void (*open_direct)(struct uffs_source *src);
	void (*close)(struct uffs_source *src);
};

extern const struct uffs_disk_ops uffs_disk_file;
extern const struct uffs_disk_ops uffs_disk_container;

struct uffs_source {
	const char *path;
	const struct uffs_disk_ops *disk;
	struct uffs_file file;
	enum uffs_source_kind kind;
	uint64_t base;         /* volume start within the file */
	uint64_t size;         /* bytes readable from base */
	uint32_t record_size;  /* MFT_FILE only */
	int partition;         /* 0 = whole file */
	const char *container; /* "raw volume", "MBR disk image", ... */
	/* The container format the disk is read through (E01, VHD, a store,
	 * ...) with uffs_disk_container; NULL for a plain file or device.
	 * Then `file` holds only the disk's size, no handle, and reads go
	 * through `reader`. */
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

/* How the scan's I/O backends read this source (its disk's aio_reader). */
const struct uaio_reader *uffs_source_reader(const struct uffs_source *src);

/* Reads exactly len bytes at off (relative to base); a short read is
 * MFT_E_TRUNCATED, an OS failure MFT_E_IO. */
int uffs_source_read(const struct uffs_source *src, void *buf, size_t len,
		     uint64_t off, struct mft_error *err);

#endif
