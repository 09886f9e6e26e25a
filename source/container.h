/*
 * Containers: image formats whose file bytes are not the disk's bytes
 * (EnCase E01, VHD and VHDX, VMDK, qcow2). Each format is one file,
 * source/container_*.c, behind struct uffs_container_ops, and one line of
 * the detection table in container.c. What a container holds is read as a
 * disk: the partition table, the NTFS volume and the $MFT are found in it
 * exactly as in a raw image.
 *
 * The libraries behind them (libyal's) read synchronously and their
 * handles are not to be shared between threads: the scan reads a container
 * through its read op on the threads or sync backend, each read on a lane
 * (one handle) of its own. Lanes are opened as reads find the open ones
 * busy, up to UFFS_CONTAINER_LANES: decompressing an E01 then runs on
 * every reading core.
 */
#ifndef UFFS_CONTAINER_H
#define UFFS_CONTAINER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UFFS_CONTAINER_WHY 200

struct uffs_container_ops {
	const char *name; /* "EWF", "VHD", ... for messages and uffs info */
	/* Opens the container whose first file is `path`. Returns 0, or -1
	 * with a one-line reason in why. */
	int (*open)(const char *path, void **impl, uint64_t *media_size,
		    char why[UFFS_CONTAINER_WHY]);
	/* Reads len bytes of the disk at off (within the media size).
	 * Returns 0, or -1 with a reason. Never called concurrently. */
	int (*read)(void *impl, void *buf, size_t len, uint64_t off,
		    char why[UFFS_CONTAINER_WHY]);
	void (*close)(void *impl);
};

#define UFFS_CONTAINER_LANES 8

/* One open handle of the container's library, used by one read at a
 * time. */
struct uffs_container_lane {
	void *impl;
	pthread_mutex_t busy;
};

/* An open container. */
struct uffs_container {
	const struct uffs_container_ops *ops;
	const char *format; /* the detected format's name, e.g. "VHDX" */
	char *path;         /* to open more lanes; NULL: one lane only */
	uint64_t size;
	struct uffs_container_lane lane[UFFS_CONTAINER_LANES];
	unsigned n_lanes;     /* under lock */
	pthread_mutex_t lock; /* lanes opening, why */
	char why[UFFS_CONTAINER_WHY]; /* the last read's failure */
};

/* Which container format `head` (the file's first bytes) and `tail` (its
 * last 512 bytes; a fixed VHD has its signature only there) show: the
 * format's name, or NULL for none. */
const char *uffs_container_detect(const uint8_t *head, size_t head_len,
				  const uint8_t *tail, size_t tail_len);

/* The formats this build reads, space-separated ("" for none). */
void uffs_container_formats(char *buf, size_t cap);

/* "cannot open the EWF container", and so on: a static text for errors. */
const char *uffs_container_failure(const char *format);

/* Opens `path` as the container format `format` names. Returns 0, or -1
 * with a one-line reason in why (including "this build cannot read ..."
 * when the library was not there at build time). */
int uffs_container_open(struct uffs_container *c, const char *format,
			const char *path, char why[UFFS_CONTAINER_WHY]);
void uffs_container_close(struct uffs_container *c);
/* Makes c a container of `format` read through ops over impl (a layer
 * that is not opened from a path, such as a shadow-copy store). */
int uffs_container_wrap(struct uffs_container *c,
			const struct uffs_container_ops *ops,
			const char *format, void *impl, uint64_t size);
/* Reads exactly len bytes at off; -1 on failure (then
 * uffs_container_last_error says why). Safe from several threads. */
int uffs_container_read(struct uffs_container *c, void *buf, size_t len,
			uint64_t off);
void uffs_container_last_error(struct uffs_container *c,
			       char out[UFFS_CONTAINER_WHY]);

/* Shared by the libyal-backed formats: the first line of a libyal error
 * backtrace, without its "function: " prefix, after `what`. */
void uffs_container_reason(char why[UFFS_CONTAINER_WHY], const char *what,
			   const char *backtrace);

/* Differencing images (VHD, qcow2 backing files) name their parent; a
 * chain is followed at most this deep, which also ends loops. */
#define UFFS_CONTAINER_CHAIN_MAX 16

struct uffs_chain_ops {
	/* Opens one image of a chain, its parent not yet known. */
	int (*open)(const char *path, void **link, char why[UFFS_CONTAINER_WHY]);
	/* The parent's name as the image stores it; "" when it has none. */
	int (*parent_name)(void *link, char *name, size_t cap,
			   char why[UFFS_CONTAINER_WHY]);
	/* Reads of link fall through to parent where link has no data. */
	int (*set_parent)(void *link, void *parent,
			  char why[UFFS_CONTAINER_WHY]);
	int (*media_size)(void *link, uint64_t *size,
			  char why[UFFS_CONTAINER_WHY]);
	/* One read of the image: bytes read, or -1 with a reason. */
	int64_t (*read_at)(void *link, void *buf, size_t len, uint64_t off,
			   char why[UFFS_CONTAINER_WHY]);
	void (*close)(void *link);
};

struct uffs_chain {
	const struct uffs_chain_ops *ops;
	void *link[UFFS_CONTAINER_CHAIN_MAX]; /* [0] the image, then parents */
	char *path[UFFS_CONTAINER_CHAIN_MAX];
	int n;
};

/* A container whose image may name parents: opens `path` and every parent
 * in turn (found as named, else by its last name component beside its
 * child) and reads through the first. The formats' open, read and close
 * ops are these, with their chain ops. */
int uffs_chain_container_open(const struct uffs_chain_ops *ops,
			      const char *path, void **impl,
			      uint64_t *media_size,
			      char why[UFFS_CONTAINER_WHY]);
int uffs_chain_container_read(void *impl, void *buf, size_t len, uint64_t off,
			      char why[UFFS_CONTAINER_WHY]);
void uffs_chain_container_close(void *impl);

/* One read of a library: bytes read, or -1 with a reason in why. */
typedef int64_t uffs_read_at_fn(void *handle, void *buf, size_t len,
				uint64_t off, char why[UFFS_CONTAINER_WHY]);
/* Reads all len bytes at off through read_at, however many calls that
 * takes. Returns 0, or -1 with a reason. */
int uffs_container_read_all(uffs_read_at_fn *read_at, void *handle,
			    void *buf, size_t len, uint64_t off,
			    char why[UFFS_CONTAINER_WHY]);

/* The formats this build reads (NULL where its library was missing). */
extern const struct uffs_container_ops uffs_container_ewf;
extern const struct uffs_container_ops uffs_container_vhdi;
extern const struct uffs_container_ops uffs_container_vmdk;
extern const struct uffs_container_ops uffs_container_qcow;

#endif
