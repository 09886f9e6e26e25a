/*
 * The platform edge of saved index files: mapping one read-only, and
 * writing one so that a crash never leaves a partial file under its name
 * (a temporary file in the same directory, flushed, then renamed over).
 * One implementation per platform (map_posix.c, map_win.c).
 */
#ifndef UFFS_MAP_H
#define UFFS_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uffs_map {
	const uint8_t *data; /* page aligned; NULL when len is 0 */
	uint64_t len;
	intptr_t handle, mapping;
};

/* Maps a regular file read-only. Returns 0, or -1 with *os_error and a
 * static description in *what. */
int uffs_map_open(const char *path, struct uffs_map *m, int *os_error,
		  const char **what);
void uffs_map_close(struct uffs_map *m);

struct uffs_outfile {
	intptr_t handle;
	char *tmp_path;   /* the temporary file being written */
	char *final_path;
};

/* Creates a new temporary file next to final_path. */
int uffs_outfile_open(struct uffs_outfile *o, const char *final_path,
		      int *os_error);
/* Writes all of p; 0 or -1 with *os_error. */
int uffs_outfile_write(struct uffs_outfile *o, const void *p, size_t n,
		       int *os_error);
/* Flushes to the disk, closes and renames over final_path. 0 or -1 with
 * *os_error (the temporary file is then removed). */
int uffs_outfile_commit(struct uffs_outfile *o, int *os_error);
/* Closes and removes the temporary file. */
void uffs_outfile_abort(struct uffs_outfile *o);

/* Whether an output file may go to path: nothing is there, or a regular
 * file (never a device, FIFO or directory, which a rename would replace). */
bool uffs_outfile_replaceable(const char *path);

/* Whether two paths name the same existing file. */
bool uffs_same_file(const char *a, const char *b);

#endif
