/*
 * Name and path matching for uffs search: glob and substring patterns over
 * WTF-8 names, exact or case-folded through a volume's $UpCase table.
 *
 * Folding maps each UTF-16 unit of both the pattern and the text through
 * the table, as NTFS compares names (code points beyond the BMP, stored as
 * surrogate pairs, are left as they are: $UpCase maps no surrogate).
 *
 * Glob: '*' any run of characters within one path component, '**' any run
 * across components, '?' one character, '[...]' one character of a set
 * (ranges a-z; '!' or '^' first negates; ']' first is literal), '\' makes
 * the next character literal. In path mode the text is a whole path and
 * '*', '?' and sets never match the separator; a pattern that does not
 * start with the separator matches at any depth (as if led by '**' + sep).
 */
#ifndef UFFS_MATCH_H
#define UFFS_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Case folding of WTF-8 text through a $UpCase table. */
struct uffs_fold {
	const uint16_t *upcase; /* UFFS_UPCASE_UNITS entries */
	uint8_t ascii[128];     /* folded ASCII byte, 0 when not ASCII */
	bool ascii_standard;    /* ASCII folds a-z to A-Z and nothing else */
};

void uffs_fold_init(struct uffs_fold *f, const uint16_t *upcase);
/* Writes the folded text of s[0, n) into out, which must hold 3 * n
 * bytes; returns its length. Invalid sequences are copied unchanged. */
size_t uffs_fold_wtf8(const struct uffs_fold *f, const char *s, size_t n,
		      char *out);

enum uffs_match_syntax {
	UFFS_MATCH_GLOB,
	UFFS_MATCH_CONTAINS, /* the pattern is a plain substring */
};

/* What a compiled pattern needs of its text; the simple shapes run without
 * the general glob matcher. */
enum uffs_match_shape {
	UFFS_SHAPE_ALL,      /* '*' */
	UFFS_SHAPE_EXACT,    /* literal */
	UFFS_SHAPE_PREFIX,   /* literal '*' */
	UFFS_SHAPE_SUFFIX,   /* '*' literal */
	UFFS_SHAPE_CONTAINS, /* '*' literal '*', or --contains */
	UFFS_SHAPE_GLOB,
};

struct uffs_match_tok {
	uint8_t op;
	uint8_t negate;
	uint32_t off; /* literal bytes, or first range pair */
	uint32_t len; /* bytes, or range pairs */
};

struct uffs_matcher {
	enum uffs_match_shape shape;
	bool folding;
	bool path; /* the text is a whole path */
	char sep;
	struct uffs_fold fold;
	struct uffs_match_tok *tok;
	size_t n_tok;
	char *lit; /* literal bytes of every token, folded */
	size_t lit_len;
	uint32_t *ranges; /* pairs of code points, folded */
	size_t n_ranges;
	const char *needle; /* the literal of a simple shape */
	size_t needle_len;
	bool needle_ascii;
	const char *head, *tail; /* a glob's literal ends (folded) */
	size_t head_len, tail_len;
	bool head_ascii, tail_ascii;
	uint8_t map[256]; /* byte -> byte for substring search */
	char *scratch; /* folded text */
	size_t scratch_cap;
};

/* Compiles pattern (UTF-8). upcase NULL: exact case. path: match whole
 * paths whose components are joined by sep. Returns 0, or -1 with a
 * message in msg. */
int uffs_matcher_init(struct uffs_matcher *m, const char *pattern,
		      enum uffs_match_syntax syntax, const uint16_t *upcase,
		      bool path, char sep, char *msg, size_t msg_cap);
void uffs_matcher_free(struct uffs_matcher *m);

/* Whether s[0, n) (WTF-8) matches. Not thread-safe: one matcher per
 * thread (it folds into its own scratch buffer). */
bool uffs_matcher_match(struct uffs_matcher *m, const char *s, size_t n);

/* What uffs_matcher_scan_names says of one name. */
enum uffs_scan_verdict {
	UFFS_SCAN_NO = 0,  /* does not match */
	UFFS_SCAN_YES = 1, /* matches */
	UFFS_SCAN_ASK = 2, /* ask uffs_matcher_match (non-ASCII bytes) */
};

/* A substring pattern (UFFS_SHAPE_CONTAINS, not a path) looked for in
 * the names of one pool in a single pass: memchr finds the needle's
 * rarest byte, so that the names without it cost next to nothing. */
struct uffs_name_scan {
	const unsigned char *p;
	size_t len;
	const unsigned char *needle;
	size_t k;
	bool fold;  /* ASCII a-z to A-Z */
	bool high;  /* names with bytes >= 0x80 need the matcher */
	size_t at;  /* the needle byte memchr looks for */
	int b[2];   /* it, and its lower case when folding (else -1) */
	bool pair;  /* with the byte after it, looked for 16 at a time */
	unsigned char pb[2][2]; /* the two bytes, each in both cases */
	size_t next_pair;
	size_t next_b[2], next_high; /* the first at or after a point not
				      * beyond the names still to come */
	size_t next; /* the first event at or after a point <= prev_end */
	size_t prev_off, prev_len, prev_end;
	uint8_t prev;
};

/* Returns 0, or -1 when the pattern or its folding (only plain ASCII a-z
 * to A-Z) do not allow it. */
int uffs_name_scan_init(struct uffs_name_scan *ns,
			const struct uffs_matcher *m, const char *pool,
			size_t pool_len);
/* The verdict on the name pool[off, off + len): names are asked in the
 * order they lie in the pool; one that lies before the end of the
 * previous one (other than at its very place), or outside the pool, gets
 * UFFS_SCAN_ASK. */
enum uffs_scan_verdict uffs_name_scan_look(struct uffs_name_scan *ns,
					   size_t off, size_t len);

static inline enum uffs_scan_verdict
uffs_name_scan_next(struct uffs_name_scan *ns, uint32_t off, uint16_t len)
{
	/* Most names end before the next place worth a look. */
	if (off >= ns->prev_end && ns->next >= (size_t)off + len &&
	    (size_t)off + len <= ns->len) {
		ns->prev_off = off;
		ns->prev_len = len;
		ns->prev_end = (size_t)off + len;
		ns->prev = UFFS_SCAN_NO;
		return UFFS_SCAN_NO;
	}
	return uffs_name_scan_look(ns, off, len);
}

/* The links whose names hold a substring, found from the needle's places
 * in the pool rather than link by link (for a search that would visit
 * every link only to reject most). Needs names that lie in the pool in
 * link order, none overlapping the next (one name shared by consecutive
 * links excepted), and a needle uffs_name_scan decides alone. */
struct uffs_link_scan {
	struct uffs_name_scan ns;
	const uint32_t *name;
	const uint16_t *name_len;
	size_t n;         /* links */
	size_t floor;     /* no link before it is given out again */
	size_t group_end; /* links [floor, group_end) still to give out */
	size_t pos;       /* the needle is looked for at or after it */
};

/* Returns 0, or -1 when uffs_name_scan_init declines, some name of
 * name[0, n) lies outside the pool, or the names are not in that order
 * (then ask name by name). One pass over the links. */
int uffs_link_scan_init(struct uffs_link_scan *ls,
			const struct uffs_matcher *m, const char *pool,
			size_t pool_len, const uint32_t *name,
			const uint16_t *name_len, size_t n);
/* The next link, in link order, whose name holds the needle; SIZE_MAX
 * after the last. */
size_t uffs_link_scan_next(struct uffs_link_scan *ls);

/* For a path pattern: the pattern of its last component when every match
 * of the whole pattern must end in a name matching it (no '**' in it), so
 * that paths are built only for names that pass. Returns 0 and sets
 * *has = false when there is none; -1 on error (msg). */
int uffs_matcher_last_component(const char *pattern, char *out,
				size_t out_cap, bool *has);

#endif
