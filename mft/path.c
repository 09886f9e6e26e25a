/* Path resolution with cycle and depth protection. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ntfs_format.h"
#include "path.h"

_Static_assert(UFFS_PATH_DEPTH_MAX < UINT16_MAX, "depths are 16-bit");

enum dir_state {
	DIR_UNKNOWN = 0,
	DIR_VISITING,
	DIR_ROOTED,     /* chain reaches the root */
	DIR_ORPHAN_TOP, /* listed directly under $OrphanFiles */
	DIR_UNDER_ORPHAN,
};

bool uffs_parent_ok(const struct uffs_index *idx, uint64_t owner,
		    uint32_t link)
{
	uint64_t ref = idx->links.parent[link];
	uint64_t p = MFT_REF_FRS(ref);
	if (p >= idx->n_records || (p == owner && p != MFT_FRS_ROOT))
		return false;
	uint16_t f = idx->rflags[p];
	if (!(f & UFFS_REC_PRESENT) || !(f & UFFS_REC_DIR))
		return false;
	uint16_t want = MFT_REF_SEQ(ref);
	uint16_t seq = idx->seq[p];
	/* Freeing a record bumps its sequence number: entries of a deleted
	 * directory carry the number it had while in use (The Sleuth Kit's
	 * rule, 0 staying 0). */
	if (!(f & UFFS_REC_IN_USE) && seq > 0)
		seq--;
	return want == seq;
}

/* The link a directory is reached through, or UINT32_MAX. */
static uint32_t dir_link(const struct uffs_index *idx, uint64_t r)
{
	uint32_t link;
	return uffs_index_primary_link(idx, r, &link) ? link : UINT32_MAX;
}

static uint64_t parent_of(const struct uffs_index *idx, uint64_t r)
{
	return MFT_REF_FRS(idx->links.parent[dir_link(idx, r)]);
}

/* Classifies directory r and every unclassified directory above it: walk up
 * pushing records until something known, then settle the stack top-down.
 * Linear in the chain length; a loop is broken where it closes. */
static bool push(struct uffs_tree *t, size_t n, uint64_t r)
{
	if (n == t->stack_cap) {
		size_t cap = t->stack_cap ? t->stack_cap * 2 : 256;
		uint32_t *s = realloc(t->stack, cap * sizeof *s);
		if (!s)
			return false;
		t->stack = s;
		t->stack_cap = cap;
	}
	t->stack[n] = (uint32_t)r;
	return true;
}

static bool classify(struct uffs_tree *t, uint64_t r)
{
	const struct uffs_index *idx = t->idx;
	size_t n = 0;
	uint64_t cur = r;
	for (;;) {
		if (cur == MFT_FRS_ROOT) {
			t->state[cur] = DIR_ROOTED;
			t->depth[cur] = 0;
			break;
		}
		uint8_t s = t->state[cur];
		if (s == DIR_VISITING) {
			t->n_cycles++;
			t->state[cur] = DIR_ORPHAN_TOP;
			t->n_orphan_tops++;
			t->depth[cur] = 0;
			break;
		}
		if (s != DIR_UNKNOWN)
			break;
		uint32_t link = dir_link(idx, cur);
		if (link == UINT32_MAX || !uffs_parent_ok(idx, cur, link)) {
			t->state[cur] = DIR_ORPHAN_TOP;
			t->n_orphan_tops++;
			t->depth[cur] = 0;
			break;
		}
		t->state[cur] = DIR_VISITING;
		if (!push(t, n++, cur))
			return false;
		cur = MFT_REF_FRS(idx->links.parent[link]);
	}
	while (n--) {
		uint64_t x = t->stack[n];
		if (t->state[x] != DIR_VISITING)
			continue;
		uint64_t p = parent_of(idx, x);
		uint32_t d = (uint32_t)t->depth[p] + 1;
		if (d > UFFS_PATH_DEPTH_MAX) {
			t->state[x] = DIR_ORPHAN_TOP;
			t->n_orphan_tops++;
			t->depth[x] = 0;
		} else {
			t->state[x] = t->state[p] == DIR_ROOTED ? DIR_ROOTED
							       : DIR_UNDER_ORPHAN;
			t->depth[x] = (uint16_t)d;
		}
	}
	return true;
}

int uffs_tree_build(struct uffs_tree *t, const struct uffs_index *idx,
		    struct mft_error *err)
{
	*t = (struct uffs_tree){.idx = idx};
	t->state = calloc((size_t)idx->n_records + 1, 1);
	t->depth = calloc((size_t)idx->n_records + 1, sizeof *t->depth);
	if (!t->state || !t->depth) {
		uffs_tree_free(t);
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0, "out of memory");
	}
	for (uint64_t r = 0; r < idx->n_records; r++)
		if ((idx->rflags[r] & UFFS_REC_DIR) && t->state[r] == DIR_UNKNOWN &&
		    !classify(t, r)) {
			uffs_tree_free(t);
			return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, 0,
					"out of memory");
		}
	free(t->stack);
	t->stack = NULL;
	t->stack_cap = 0;
	return MFT_OK;
}

bool uffs_tree_orphan_top(const struct uffs_tree *t, uint64_t r)
{
	return r < t->idx->n_records && t->state[r] == DIR_ORPHAN_TOP;
}

bool uffs_tree_loop_top(const struct uffs_tree *t, uint64_t r)
{
	if (r == MFT_FRS_ROOT || !uffs_tree_orphan_top(t, r))
		return false;
	uint32_t link = dir_link(t->idx, r);
	if (link == UINT32_MAX)
		return false;
	/* An orphan top whose parent is valid was cut out of a loop (or a
	 * chain too deep); one naming itself is the shortest loop. */
	return uffs_parent_ok(t->idx, r, link) || parent_of(t->idx, r) == r;
}

void uffs_tree_free(struct uffs_tree *t)
{
	free(t->state);
	free(t->depth);
	free(t->stack);
	t->stack = NULL;
	t->state = NULL;
	t->depth = NULL;
}

/* Whether link i of record owner is where its path stops going up: under
 * $OrphanFiles. */
static bool heads_orphan_chain(const struct uffs_tree *t, uint64_t owner,
			       uint32_t i)
{
	return !uffs_parent_ok(t->idx, owner, i) ||
	       t->state[owner] == DIR_ORPHAN_TOP;
}

uint64_t uffs_tree_listed_in(const struct uffs_tree *t, uint64_t owner,
			     uint32_t link)
{
	if (heads_orphan_chain(t, owner, link))
		return UFFS_TREE_ORPHANS;
	return MFT_REF_FRS(t->idx->links.parent[link]);
}

unsigned uffs_tree_dir_level(const struct uffs_tree *t, uint64_t dir)
{
	switch (t->state[dir]) {
	case DIR_ORPHAN_TOP:
		return 2;
	case DIR_UNDER_ORPHAN:
		return 2u + t->depth[dir];
	default:
		return t->depth[dir];
	}
}

static bool push_front(char *buf, size_t *pos, const char *s, size_t n)
{
	if (n > *pos)
		return false;
	*pos -= n;
	memcpy(buf + *pos, s, n);
	return true;
}

#define PATH_CACHE_BUF (128u * 1024)

int uffs_path_cache_init(struct uffs_path_cache *c, char sep)
{
	c->slots = calloc(UFFS_PATH_CACHE_SLOTS, sizeof *c->slots);
	c->buf = malloc(PATH_CACHE_BUF);
	c->cap = PATH_CACHE_BUF;
	c->sep = sep;
	if (!c->slots || !c->buf) {
		uffs_path_cache_free(c);
		return MFT_E_NOMEM;
	}
	return MFT_OK;
}

void uffs_path_cache_reset(struct uffs_path_cache *c)
{
	for (unsigned i = 0; i < UFFS_PATH_CACHE_SLOTS; i++)
		c->slots[i].parent_plus1 = 0;
}

void uffs_path_cache_free(struct uffs_path_cache *c)
{
	free(c->slots);
	free(c->buf);
	c->slots = NULL;
	c->buf = NULL;
}

/* The path of directory p ("" for the root): from its slot, or built into
 * the slot (or c->buf when too long). NULL when it cannot be built. */
static const char *parent_path(const struct uffs_tree *t,
			       struct uffs_path_cache *c, uint64_t p,
			       size_t *len)
{
	if (p == MFT_FRS_ROOT) {
		*len = 0;
		return "";
	}
	struct uffs_path_cache_slot *s = &c->slots[p % UFFS_PATH_CACHE_SLOTS];
	if (s->parent_plus1 == p + 1) {
		*len = s->len;
		return s->path;
	}
	uint32_t dl = dir_link(t->idx, p);
	if (dl == UINT32_MAX)
		return NULL;
	size_t n = uffs_link_path(t, p, dl, c->sep, s->path, sizeof s->path);
	if (n) {
		s->parent_plus1 = p + 1;
		s->len = (uint16_t)n;
		*len = n;
		return s->path;
	}
	s->parent_plus1 = 0; /* the slot's text was overwritten */
	n = uffs_link_path(t, p, dl, c->sep, c->buf, c->cap);
	*len = n;
	return n ? c->buf : NULL;
}

bool uffs_link_path_parts(const struct uffs_tree *t, struct uffs_path_cache *c,
			  uint64_t owner, uint32_t link, char *buf, size_t cap,
			  struct uffs_path_parts *out)
{
	const struct uffs_index *idx = t->idx;
	uint64_t parent = MFT_REF_FRS(idx->links.parent[link]);
	size_t plen = 0;
	const char *prefix = heads_orphan_chain(t, owner, link)
				     ? NULL
				     : parent_path(t, c, parent, &plen);
	if (!prefix) {
		size_t n = uffs_link_path(t, owner, link, c->sep, buf, cap);
		*out = (struct uffs_path_parts){buf, n, NULL, 0, UINT64_MAX};
		return n != 0;
	}
	size_t n = idx->links.name_len[link];
	size_t total = plen + (plen ? 1 : 0) + n;
	if (total + 1 > cap)
		return false;
	*out = (struct uffs_path_parts){prefix, plen,
					idx->pool + idx->links.name[link], n,
					parent};
	return true;
}

size_t uffs_path_parts_join(const struct uffs_path_parts *pp, char sep,
			    char *buf)
{
	if (pp->dir != buf)
		memmove(buf, pp->dir, pp->dir_len);
	size_t pos = pp->dir_len;
	if (pp->name) {
		if (pos)
			buf[pos++] = sep;
		memcpy(buf + pos, pp->name, pp->name_len);
		pos += pp->name_len;
	}
	buf[pos] = '\0';
	return pos;
}

size_t uffs_link_path_cached(const struct uffs_tree *t,
			     struct uffs_path_cache *c, uint64_t owner,
			     uint32_t link, char *buf, size_t cap)
{
	struct uffs_path_parts pp;
	if (!uffs_link_path_parts(t, c, owner, link, buf, cap, &pp))
		return 0;
	return uffs_path_parts_join(&pp, c->sep, buf);
}

/* Builds the path backwards from the end of buf, then moves it to the
 * front: no recursion, one walk. Directory classification guarantees the
 * walk ends within UFFS_PATH_DEPTH_MAX steps; the counter is a second
 * guard. */
size_t uffs_link_path(const struct uffs_tree *t, uint64_t owner, uint32_t link,
		      char sep, char *buf, size_t cap)
{
	const struct uffs_index *idx = t->idx;
	size_t pos = cap;
	uint32_t cur = link;
	uint64_t cur_owner = owner;
	bool orphan = false;
	if (cap == 0)
		return 0;
	buf[--pos] = '\0';
	for (unsigned depth = 0;; depth++) {
		if (!push_front(buf, &pos, idx->pool + idx->links.name[cur],
				idx->links.name_len[cur]))
			return 0;
		if (heads_orphan_chain(t, cur_owner, cur) ||
		    depth > UFFS_PATH_DEPTH_MAX) {
			orphan = true;
			break;
		}
		uint64_t p = MFT_REF_FRS(idx->links.parent[cur]);
		if (p == MFT_FRS_ROOT)
			break;
		cur = dir_link(idx, p);
		cur_owner = p;
		if (cur == UINT32_MAX) {
			orphan = true;
			break;
		}
		if (!push_front(buf, &pos, &sep, 1))
			return 0;
	}
	if (orphan && (!push_front(buf, &pos, &sep, 1) ||
		       !push_front(buf, &pos, UFFS_ORPHAN_DIR,
				   sizeof UFFS_ORPHAN_DIR - 1)))
		return 0;
	size_t len = cap - 1 - pos;
	memmove(buf, buf + pos, len + 1);
	return len;
}
