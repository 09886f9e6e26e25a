/*
 * Path resolution over a finished index.
 *
 * A link's parent is valid when the parent reference names a present
 * directory record whose sequence number matches (see uffs_parent_ok). Each
 * directory is classified once: rooted (its chain reaches the root), or the
 * top of an orphan chain (its own parent is invalid, its chain loops, or it is
 * nested deeper than UFFS_PATH_DEPTH_MAX). Orphans are listed under
 * /$OrphanFiles, as The Sleuth Kit does.
 */
#ifndef UFFS_PATH_H
#define UFFS_PATH_H

#include <stddef.h>
#include <stdint.h>

#include "index.h"

#ifndef UFFS_PATH_DEPTH_MAX
#define UFFS_PATH_DEPTH_MAX 4096
#endif

#define UFFS_ORPHAN_DIR "$OrphanFiles"

struct uffs_tree {
	const struct uffs_index *idx;
	uint8_t *state;  /* per record, see path.c */
	uint16_t *depth; /* per record: directory depth below its chain's top */
	uint32_t *stack; /* scratch for the classification, grown on demand */
	size_t stack_cap;
	uint64_t n_orphan_tops;
	uint64_t n_cycles;
};

int uffs_tree_build(struct uffs_tree *t, const struct uffs_index *idx,
		    struct mft_error *err);
void uffs_tree_free(struct uffs_tree *t);

/* Whether directory r is listed directly under $OrphanFiles (the tree
 * counts them in n_orphan_tops). */
bool uffs_tree_orphan_top(const struct uffs_tree *t, uint64_t r);

/* Whether directory r is listed under $OrphanFiles only because its chain of
 * parents loops back to itself (r names itself, or r is where the loop was
 * cut) or is deeper than UFFS_PATH_DEPTH_MAX: damage worth a warning, unlike
 * an ordinary orphan whose parent is gone. */
bool uffs_tree_loop_top(const struct uffs_tree *t, uint64_t r);

/* Whether link i of record owner has a parent reference naming a usable
 * parent directory. */
bool uffs_parent_ok(const struct uffs_index *idx, uint64_t owner,
		    uint32_t link);

/* The directory a name is listed in: the record of its parent, or
 * UFFS_TREE_ORPHANS when it is listed directly under /$OrphanFiles. */
#define UFFS_TREE_ORPHANS UINT64_MAX
uint64_t uffs_tree_listed_in(const struct uffs_tree *t, uint64_t owner,
			     uint32_t link);

/* How many directories a directory's path goes through above it: 0 for the
 * root, 1 for /dir, 2 for /$OrphanFiles/dir (the virtual /$OrphanFiles is
 * level 1). Meaningful for directories only. */
unsigned uffs_tree_dir_level(const struct uffs_tree *t, uint64_t dir);

/* Writes the path of link i, a name of record owner (no leading '/', components joined by `sep`)
 * into buf, NUL-terminated. Returns its length, or 0 when it does not fit in
 * cap (the caller may retry with a larger buffer; cap >= 64 KiB always
 * suffices for valid NTFS paths). */
size_t uffs_link_path(const struct uffs_tree *t, uint64_t owner, uint32_t link,
		      char sep, char *buf, size_t cap);

/* Same result as uffs_link_path, faster: the paths of recently seen parent
 * directories are kept (direct-mapped by record number, so the few
 * directories whose files are interleaved in record order all stay), and a
 * name's path is its parent's plus the name. */
#define UFFS_PATH_CACHE_SLOTS 256u
#define UFFS_PATH_CACHE_SLOT_BYTES 500u

struct uffs_path_cache_slot {
	uint64_t parent_plus1; /* 0 = empty */
	uint16_t len;
	char path[UFFS_PATH_CACHE_SLOT_BYTES];
};

struct uffs_path_cache {
	struct uffs_path_cache_slot *slots;
	char *buf; /* for parent paths too long for a slot */
	size_t cap;
	char sep;
};

int uffs_path_cache_init(struct uffs_path_cache *c, char sep);
/* Forgets every path: call when the tree changes. */
void uffs_path_cache_reset(struct uffs_path_cache *c);
void uffs_path_cache_free(struct uffs_path_cache *c);

size_t uffs_link_path_cached(const struct uffs_tree *t,
			     struct uffs_path_cache *c, uint64_t owner,
			     uint32_t link, char *buf, size_t cap);

/* The same path in two parts, so that a listing can write them out without
 * joining them first: the parent directory's path (dir; "" for the root;
 * from the cache, valid until the cache is next used; dir_frs is that
 * directory's record number) and the name (in the index's pool). A path
 * the cache cannot give (an orphan's, or a parent path too long for a
 * slot) is built into buf and comes whole as dir, with no name and dir_frs
 * UINT64_MAX. The path is dir, then sep and the name when dir is not "".
 * false when uffs_link_path_cached would give 0 (too long for cap). */
struct uffs_path_parts {
	const char *dir;
	size_t dir_len;
	const char *name; /* NULL: dir is the whole path */
	size_t name_len;
	uint64_t dir_frs;
};
bool uffs_link_path_parts(const struct uffs_tree *t, struct uffs_path_cache *c,
			  uint64_t owner, uint32_t link, char *buf, size_t cap,
			  struct uffs_path_parts *out);
/* Writes the path the parts make into buf (room for the whole path and a
 * NUL, as cap was); returns its length. */
size_t uffs_path_parts_join(const struct uffs_path_parts *pp, char sep,
			    char *buf);

#endif
