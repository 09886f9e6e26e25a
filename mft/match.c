/* Glob and substring matching over WTF-8, exact or folded ($UpCase). */
#include "match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mft.h"
#include "upcase.h"

enum tok_op { TOK_LIT, TOK_ANY, TOK_STAR, TOK_GSTAR, TOK_CLASS };

static bool all_ascii(const char *s, size_t n);

/* Eight bytes at a time (SWAR): plain C on a uint64_t, the same on every
 * platform; byte order never matters because a hit only says "look at
 * these eight positions". */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static inline uint64_t load8(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* 0x80 in each byte of v that is zero, exactly (no borrow effects). */
static inline uint64_t zero_bytes(uint64_t v)
{
	return ~(((v & ~HIGHS) + ~HIGHS) | v | ~HIGHS);
}

/* a-z to A-Z in eight ASCII bytes (no byte above 0x7F: no carries). */
static inline uint64_t upper8(uint64_t w)
{
	uint64_t ge_a = w + (0x80 - 'a') * ONES;
	uint64_t gt_z = w + (0x80 - 'z' - 1) * ONES;
	return w - ((ge_a & ~gt_z & HIGHS) >> 2);
}

#define NO_STAR SIZE_MAX

/* Length of the WTF-8 sequence led by byte b (1 for a stray byte). */
static size_t seq_len(unsigned char b)
{
	if (b < 0xC0)
		return 1;
	if (b < 0xE0)
		return 2;
	if (b < 0xF0)
		return 3;
	return b < 0xF8 ? 4 : 1;
}

/* Decodes one sequence of s[0, n); returns its length, or 0 when invalid
 * (then *cp is the lone byte). */
static size_t decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len = seq_len(s[0]);
	*cp = s[0];
	if (len == 1)
		return s[0] < 0x80;
	if (len > n)
		return 0;
	uint32_t v = s[0] & (0x7F >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3F);
	}
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	if (v < min[len] || v > 0x10FFFF)
		return 0;
	*cp = v;
	return len;
}

void uffs_fold_init(struct uffs_fold *f, const uint16_t *upcase)
{
	f->upcase = upcase;
	f->ascii_standard = true;
	for (unsigned c = 0; c < 128; c++) {
		f->ascii[c] = upcase[c] < 0x80 ? (uint8_t)upcase[c] : 0;
		unsigned want = c >= 'a' && c <= 'z' ? c - 0x20 : c;
		f->ascii_standard &= f->ascii[c] == want;
	}
}

static uint32_t fold_cp(const struct uffs_fold *f, uint32_t cp)
{
	return cp < UFFS_UPCASE_UNITS ? f->upcase[cp] : cp;
}

size_t uffs_fold_wtf8(const struct uffs_fold *f, const char *s, size_t n,
		      char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		if (f->ascii_standard && i + 8 <= n) {
			uint64_t w = load8(p + i);
			if (!(w & HIGHS)) {
				w = upper8(w);
				memcpy(out + o, &w, 8);
				o += 8;
				i += 8;
				continue;
			}
		}
		unsigned char b = p[i];
		if (b < 0x80 && f->ascii[b]) {
			out[o++] = (char)f->ascii[b];
			i++;
			continue;
		}
		uint32_t cp;
		size_t len = decode(p + i, n - i, &cp);
		if (len == 0) {
			out[o++] = (char)b;
			i++;
			continue;
		}
		o += mft_wtf8_put(out + o, fold_cp(f, cp));
		i += len;
	}
	return o;
}

/* ---- compiling ---- */

struct builder {
	struct uffs_matcher *m;
	size_t tok_cap, lit_cap, range_cap;
	char *msg;
	size_t msg_cap;
};

static int fail(struct builder *b, const char *what)
{
	snprintf(b->msg, b->msg_cap, "%s", what);
	return -1;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

static int push_tok(struct builder *b, enum tok_op op)
{
	struct uffs_matcher *m = b->m;
	if (grow((void **)&m->tok, &b->tok_cap, m->n_tok + 1, sizeof *m->tok))
		return fail(b, "out of memory");
	m->tok[m->n_tok++] = (struct uffs_match_tok){(uint8_t)op, 0, 0, 0};
	return 0;
}

static uint32_t folded(const struct uffs_matcher *m, uint32_t cp)
{
	return m->folding ? fold_cp(&m->fold, cp) : cp;
}

/* Appends one code point to the literal token at the end (made if need
 * be); the path separator is written as the text's own. */
static int push_lit(struct builder *b, uint32_t cp)
{
	struct uffs_matcher *m = b->m;
	if (!m->n_tok || m->tok[m->n_tok - 1].op != TOK_LIT) {
		if (push_tok(b, TOK_LIT))
			return -1;
		m->tok[m->n_tok - 1].off = (uint32_t)m->lit_len;
	}
	if (grow((void **)&m->lit, &b->lit_cap, m->lit_len + 4, 1))
		return fail(b, "out of memory");
	if (m->path && cp == '/')
		cp = (unsigned char)m->sep;
	size_t n = mft_wtf8_put(m->lit + m->lit_len, folded(m, cp));
	m->lit_len += n;
	m->tok[m->n_tok - 1].len += (uint32_t)n;
	return 0;
}

static int push_range(struct builder *b, uint32_t lo, uint32_t hi)
{
	struct uffs_matcher *m = b->m;
	if (grow((void **)&m->ranges, &b->range_cap, 2 * (m->n_ranges + 1),
		 sizeof *m->ranges))
		return fail(b, "out of memory");
	lo = folded(m, lo);
	hi = folded(m, hi);
	m->ranges[2 * m->n_ranges] = lo < hi ? lo : hi;
	m->ranges[2 * m->n_ranges + 1] = lo < hi ? hi : lo;
	m->n_ranges++;
	m->tok[m->n_tok - 1].len++;
	return 0;
}

/* Reads one pattern character at p; returns its length or -1. */
static int next_cp(struct builder *b, const char *p, uint32_t *cp)
{
	size_t len = decode((const unsigned char *)p, strlen(p), cp);
	return len ? (int)len : fail(b, "the pattern is not valid UTF-8");
}

/* A set: p points after '['. Returns the bytes consumed after '[', 0 when
 * there is no closing ']' (then '[' is a literal), or -1. */
static int parse_class(struct builder *b, const char *p)
{
	const char *s = p;
	bool negate = *s == '!' || *s == '^';
	s += negate;
	/* Find the closing bracket first: ']' right at the start is literal. */
	const char *q = s + (*s == ']');
	while (*q && *q != ']')
		q += (*q == '\\' && q[1]) ? 2 : 1;
	if (!*q)
		return 0;
	if (push_tok(b, TOK_CLASS))
		return -1;
	struct uffs_match_tok *t = &b->m->tok[b->m->n_tok - 1];
	t->negate = negate;
	t->off = (uint32_t)b->m->n_ranges;
	bool first = true;
	while (first || *s != ']') {
		first = false;
		uint32_t lo, hi;
		s += *s == '\\' ? 1 : 0;
		int n = next_cp(b, s, &lo);
		if (n < 0)
			return -1;
		s += n;
		hi = lo;
		if (s[0] == '-' && s[1] && s[1] != ']') {
			s++;
			s += *s == '\\' ? 1 : 0;
			n = next_cp(b, s, &hi);
			if (n < 0)
				return -1;
			s += n;
		}
		if (push_range(b, lo, hi))
			return -1;
	}
	return (int)(s + 1 - p);
}

static int parse_glob(struct builder *b, const char *p)
{
	struct uffs_matcher *m = b->m;
	while (*p) {
		if (*p == '*') {
			size_t n = strspn(p, "*");
			bool across = n > 1 && m->path;
			/* Runs of stars collapse to one token. */
			uint8_t prev = m->n_tok ? m->tok[m->n_tok - 1].op : TOK_LIT;
			if (prev != TOK_STAR && prev != TOK_GSTAR) {
				if (push_tok(b, across ? TOK_GSTAR : TOK_STAR))
					return -1;
			} else if (across) {
				m->tok[m->n_tok - 1].op = TOK_GSTAR;
			}
			p += n;
			continue;
		}
		if (*p == '?') {
			if (push_tok(b, TOK_ANY))
				return -1;
			p++;
			continue;
		}
		if (*p == '[') {
			int n = parse_class(b, p + 1);
			if (n < 0)
				return -1;
			if (n > 0) {
				p += 1 + n;
				continue;
			}
		}
		if (*p == '\\' && p[1])
			p++;
		uint32_t cp;
		int n = next_cp(b, p, &cp);
		if (n < 0 || push_lit(b, cp))
			return -1;
		p += n;
	}
	return 0;
}

static int parse_literal(struct builder *b, const char *p)
{
	while (*p) {
		uint32_t cp;
		int n = next_cp(b, p, &cp);
		if (n < 0 || push_lit(b, cp))
			return -1;
		p += n;
	}
	return 0;
}

static bool is_op(const struct uffs_matcher *m, size_t i, enum tok_op op)
{
	return i < m->n_tok && m->tok[i].op == op;
}

/* A star that may cover any text: any star in name mode, '**' in path
 * mode. */
static bool free_star(const struct uffs_matcher *m, size_t i)
{
	return is_op(m, i, TOK_GSTAR) || (!m->path && is_op(m, i, TOK_STAR));
}

static void set_needle(struct uffs_matcher *m, size_t lit_tok,
		       enum uffs_match_shape shape)
{
	m->shape = shape;
	m->needle = m->lit + m->tok[lit_tok].off;
	m->needle_len = m->tok[lit_tok].len;
	m->needle_ascii = all_ascii(m->needle, m->needle_len);
}

/* A glob's literal ends, which every match must carry: a cheap early no. */
static void set_ends(struct uffs_matcher *m)
{
	if (is_op(m, 0, TOK_LIT)) {
		m->head = m->lit + m->tok[0].off;
		m->head_len = m->tok[0].len;
		m->head_ascii = all_ascii(m->head, m->head_len);
	}
	size_t last = m->n_tok - 1;
	if (m->n_tok > 1 && is_op(m, last, TOK_LIT)) {
		m->tail = m->lit + m->tok[last].off;
		m->tail_len = m->tok[last].len;
		m->tail_ascii = all_ascii(m->tail, m->tail_len);
	}
}

static void classify(struct uffs_matcher *m)
{
	m->shape = UFFS_SHAPE_GLOB;
	if (m->n_tok)
		set_ends(m);
	if (m->n_tok == 0) {
		m->needle = "";
		m->needle_len = 0;
		m->shape = UFFS_SHAPE_EXACT;
	} else if (m->n_tok == 1 && free_star(m, 0)) {
		m->shape = UFFS_SHAPE_ALL;
	} else if (m->n_tok == 1 && is_op(m, 0, TOK_LIT)) {
		set_needle(m, 0, UFFS_SHAPE_EXACT);
	} else if (m->n_tok == 2 && is_op(m, 0, TOK_LIT) && free_star(m, 1)) {
		set_needle(m, 0, UFFS_SHAPE_PREFIX);
	} else if (m->n_tok == 2 && free_star(m, 0) && is_op(m, 1, TOK_LIT)) {
		set_needle(m, 1, UFFS_SHAPE_SUFFIX);
	} else if (m->n_tok == 3 && free_star(m, 0) && is_op(m, 1, TOK_LIT) &&
		   free_star(m, 2)) {
		set_needle(m, 1, UFFS_SHAPE_CONTAINS);
	}
}

int uffs_matcher_init(struct uffs_matcher *m, const char *pattern,
		      enum uffs_match_syntax syntax, const uint16_t *upcase,
		      bool path, char sep, char *msg, size_t msg_cap)
{
	*m = (struct uffs_matcher){.path = path, .sep = sep};
	struct builder b = {.m = m, .msg = msg, .msg_cap = msg_cap};
	for (unsigned c = 0; c < 256; c++)
		m->map[c] = (uint8_t)c;
	if (upcase) {
		m->folding = true;
		uffs_fold_init(&m->fold, upcase);
		/* Folded: only ASCII text is searched through the map. */
		for (unsigned c = 0; c < 128; c++)
			m->map[c] = m->fold.ascii[c];
	}
	int rc;
	if (syntax == UFFS_MATCH_CONTAINS) {
		rc = parse_literal(&b, pattern);
		if (rc == 0 && m->n_tok) {
			set_needle(m, 0, UFFS_SHAPE_CONTAINS);
		} else if (rc == 0) {
			m->shape = UFFS_SHAPE_ALL;
		}
	} else {
		/* A path pattern not anchored at the root matches at any
		 * depth. */
		if (path && pattern[0] != '/' && push_tok(&b, TOK_GSTAR))
			rc = -1;
		else if (path && pattern[0] != '/' && push_lit(&b, '/'))
			rc = -1;
		else
			rc = parse_glob(&b, pattern);
		if (rc == 0)
			classify(m);
	}
	if (rc) {
		uffs_matcher_free(m);
		return -1;
	}
	return 0;
}

void uffs_matcher_free(struct uffs_matcher *m)
{
	free(m->tok);
	free(m->lit);
	free(m->ranges);
	free(m->scratch);
	*m = (struct uffs_matcher){0};
}

/* ---- matching ---- */

static bool class_has(const struct uffs_matcher *m,
		      const struct uffs_match_tok *t, uint32_t cp)
{
	const uint32_t *r = m->ranges + 2 * (size_t)t->off;
	for (uint32_t i = 0; i < t->len; i++)
		if (cp >= r[2 * i] && cp <= r[2 * i + 1])
			return true;
	return false;
}

/* One character at s[i] for '?' or a set; returns its length or 0. */
static size_t match_one(const struct uffs_matcher *m,
			const struct uffs_match_tok *t, const char *s,
			size_t n, size_t i)
{
	if (i >= n || (m->path && s[i] == m->sep))
		return 0;
	uint32_t cp;
	size_t len = decode((const unsigned char *)s + i, n - i, &cp);
	if (len == 0)
		len = 1;
	if (t->op == TOK_ANY)
		return len;
	return class_has(m, t, cp) != (bool)t->negate ? len : 0;
}

/* One character of s at i < n, by its lead byte, cut at the end (a
 * truncated sequence is the rest of the text). */
static size_t char_len(const char *s, size_t n, size_t i)
{
	size_t len = seq_len((unsigned char)s[i]);
	return len < n - i ? len : n - i;
}

/* Backtracking over the last '*' and the last '**': a later '*' can take
 * whatever an earlier one in the same component could, and a literal that
 * holds the separator pins the components in between. */
static bool glob_match(const struct uffs_matcher *m, const char *s, size_t n)
{
	size_t ti = 0, si = 0;
	size_t star_t = NO_STAR, star_s = 0, gstar_t = NO_STAR, gstar_s = 0;
	for (;;) {
		if (ti < m->n_tok) {
			const struct uffs_match_tok *t = &m->tok[ti];
			size_t len;
			switch ((enum tok_op)t->op) {
			case TOK_LIT:
				if (n - si >= t->len &&
				    memcmp(s + si, m->lit + t->off, t->len) == 0) {
					si += t->len;
					ti++;
					continue;
				}
				break;
			case TOK_ANY:
			case TOK_CLASS:
				len = match_one(m, t, s, n, si);
				if (len) {
					si += len;
					ti++;
					continue;
				}
				break;
			case TOK_STAR:
				star_t = ti++;
				star_s = si;
				continue;
			case TOK_GSTAR:
				gstar_t = ti++;
				gstar_s = si;
				star_t = NO_STAR;
				continue;
			}
		} else if (si == n) {
			return true;
		}
		if (star_t != NO_STAR && star_s < n &&
		    !(m->path && s[star_s] == m->sep)) {
			star_s += char_len(s, n, star_s);
			si = star_s;
			ti = star_t + 1;
			continue;
		}
		if (gstar_t != NO_STAR && gstar_s < n) {
			gstar_s += char_len(s, n, gstar_s);
			si = gstar_s;
			ti = gstar_t + 1;
			star_t = NO_STAR;
			continue;
		}
		return false;
	}
}

static bool contains(const char *s, size_t n, const char *needle, size_t k)
{
	if (k == 0)
		return true;
	if (k > n)
		return false;
	const char first = needle[0];
	const char *end = s + (n - k) + 1;
	for (const char *p = s; p < end; p++) {
		p = memchr(p, first, (size_t)(end - p));
		if (!p)
			return false;
		if (memcmp(p + 1, needle + 1, k - 1) == 0)
			return true;
	}
	return false;
}

/* Substring search for short texts without library calls: candidates
 * are positions whose first and last bytes match, mapped through `map`
 * (the identity, or ASCII folding). */
static bool contains_mapped(const uint8_t *map, const char *text, size_t n,
			    const char *needle, size_t k)
{
	const unsigned char *s = (const unsigned char *)text;
	const unsigned char *q = (const unsigned char *)needle;
	if (k == 0)
		return true;
	if (k > n)
		return false;
	unsigned char first = q[0], last = q[k - 1];
	for (size_t i = 0; i + k <= n; i++) {
		if (map[s[i]] != first || map[s[i + k - 1]] != last)
			continue;
		size_t j = 1;
		while (j + 1 < k && map[s[i + j]] == q[j])
			j++;
		if (j + 1 >= k)
			return true;
	}
	return false;
}

/* Eight start positions at a time: the word of the text at i and the word
 * k - 1 bytes on must hold the needle's first and last bytes at the same
 * place; only such places are compared. The last step is moved back to
 * end at the text's end (positions seen twice do no harm). fold: the text
 * must be ASCII (-1 otherwise) and a-z fold to A-Z; the words read cover
 * the whole text when k <= 9, longer needles check it first. */
static int contains_words(const uint8_t *map, bool fold, const char *text,
			  size_t n, const char *needle, size_t k)
{
	const unsigned char *s = (const unsigned char *)text;
	if (k == 0)
		return 1;
	if (n < k - 1 + 8 || (fold && k > 9)) {
		if (fold && !all_ascii(text, n))
			return -1;
		return contains_mapped(map, text, n, needle, k);
	}
	uint64_t first = (unsigned char)needle[0] * ONES;
	uint64_t last = (unsigned char)needle[k - 1] * ONES;
	size_t end = n - (k - 1) - 8;
	for (size_t i = 0;; i = i + 8 > end ? end : i + 8) {
		uint64_t w = load8(s + i), x = load8(s + i + k - 1);
		if (fold) {
			if ((w | x) & HIGHS)
				return -1;
			w = upper8(w);
			x = upper8(x);
		}
		if (zero_bytes(w ^ first) & zero_bytes(x ^ last) &&
		    contains_mapped(map, text + i, k - 1 + 8, needle, k))
			return 1;
		if (i == end)
			return 0;
	}
}

/* memcmp without the call, for the short literals of name patterns;
 * from the end, where names differ most (extensions). */
static inline bool bytes_equal(const char *a, const char *b, size_t n)
{
	for (size_t i = n; i-- > 0;)
		if (a[i] != b[i])
			return false;
	return true;
}

static bool match_shape(const struct uffs_matcher *m, const char *s, size_t n)
{
	const char *k = m->needle;
	size_t kn = m->needle_len;
	switch (m->shape) {
	case UFFS_SHAPE_ALL:
		return true;
	case UFFS_SHAPE_EXACT:
		return n == kn && bytes_equal(s, k, n);
	case UFFS_SHAPE_PREFIX:
		return n >= kn && bytes_equal(s, k, kn);
	case UFFS_SHAPE_SUFFIX:
		return n >= kn && bytes_equal(s + n - kn, k, kn);
	case UFFS_SHAPE_CONTAINS:
		return kn > 64 ? contains(s, n, k, kn)
			       : contains_words(m->map, false, s, n, k, kn) == 1;
	case UFFS_SHAPE_GLOB:
		if (m->tail_len && (n < m->tail_len ||
				    memcmp(s + n - m->tail_len, m->tail, m->tail_len)))
			return false;
		return glob_match(m, s, n);
	}
	return false;
}

/* Compares s[0, k) folded byte by byte with the folded needle: 1 equal,
 * 0 not, -1 when a byte is not ASCII or folds out of ASCII (then only a
 * full fold can tell). */
static int ascii_fold_cmp(const struct uffs_fold *f, const char *s,
			  const char *needle, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		unsigned char b = (unsigned char)s[i];
		if (b >= 0x80 || !f->ascii[b])
			return -1;
		if (f->ascii[b] != (unsigned char)needle[i])
			return 0;
	}
	return 1;
}

/* As ascii_fold_cmp from the end backwards: for a suffix, the bytes after
 * a mismatch must be ASCII for it to decide. */
static int ascii_fold_cmp_back(const struct uffs_fold *f, const char *s,
			       const char *needle, size_t k)
{
	for (size_t i = k; i-- > 0;) {
		unsigned char b = (unsigned char)s[i];
		if (b >= 0x80 || !f->ascii[b])
			return -1;
		if (f->ascii[b] != (unsigned char)needle[i])
			return 0;
	}
	return 1;
}

static bool all_ascii(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	uint64_t acc = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		acc |= load8(p + i);
	unsigned char tail = 0;
	for (; i < n; i++)
		tail |= p[i];
	return !(acc & HIGHS) && tail < 0x80;
}

/* The simple shapes on folded text without folding it first, when the
 * bytes that decide are ASCII; -1 when they are not. */
static int match_ascii_folded(const struct uffs_matcher *m, const char *s,
			      size_t n)
{
	const struct uffs_fold *f = &m->fold;
	size_t k = m->needle_len;
	switch (m->shape) {
	case UFFS_SHAPE_PREFIX:
		return n < k ? (all_ascii(s, n) ? 0 : -1)
			     : ascii_fold_cmp(f, s, m->needle, k);
	case UFFS_SHAPE_SUFFIX:
		return n < k ? (all_ascii(s, n) ? 0 : -1)
			     : ascii_fold_cmp_back(f, s + n - k, m->needle, k);
	case UFFS_SHAPE_EXACT:
		if (!all_ascii(s, n))
			return -1;
		return n == k ? ascii_fold_cmp(f, s, m->needle, k) : 0;
	case UFFS_SHAPE_CONTAINS:
		if (k == 0)
			return -1;
		if (f->ascii_standard)
			return contains_words(m->map, true, s, n, m->needle, k);
		if (!all_ascii(s, n))
			return -1;
		return contains_mapped(m->map, s, n, m->needle, k);
	default:
		return -1;
	}
}

/* Folded text can end with the glob's literal tail (and start with its
 * head) only if ... : decided on ASCII bytes without folding; true when
 * it cannot be told that way. */
static bool glob_ends_may_match(const struct uffs_matcher *m, const char *s,
				size_t n)
{
	if (m->tail_ascii && m->tail_len <= n &&
	    ascii_fold_cmp_back(&m->fold, s + n - m->tail_len, m->tail,
				m->tail_len) == 0)
		return false;
	if (m->head_ascii && m->head_len <= n &&
	    ascii_fold_cmp(&m->fold, s, m->head, m->head_len) == 0)
		return false;
	return true;
}

bool uffs_matcher_match(struct uffs_matcher *m, const char *s, size_t n)
{
	if (m->shape == UFFS_SHAPE_ALL)
		return true;
	if (!m->folding)
		return match_shape(m, s, n);
	if (m->needle_ascii) {
		int r = match_ascii_folded(m, s, n);
		if (r >= 0)
			return r;
	}
	if (m->shape == UFFS_SHAPE_GLOB && !glob_ends_may_match(m, s, n))
		return false;
	if (n > SIZE_MAX / 3)
		return false;
	if (3 * n > m->scratch_cap) {
		size_t cap = 3 * n < 4096 ? 4096 : 3 * n;
		char *p = realloc(m->scratch, cap);
		if (!p)
			return false;
		m->scratch = p;
		m->scratch_cap = cap;
	}
	size_t fn = uffs_fold_wtf8(&m->fold, s, n, m->scratch);
	return match_shape(m, m->scratch, fn);
}

/* ---- substring search over a whole name pool ---- */

/* Little-endian whatever the machine, so that the lowest set bit of a
 * mask of it is the first position (compilers make this one load). */
static inline uint64_t load8_le(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	       (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

static inline unsigned char upper1(unsigned char b)
{
	return b >= 'a' && b <= 'z' ? (unsigned char)(b - ('a' - 'A')) : b;
}

/* Filename bytes from the most to the least frequent (a guess: digits of
 * numbered names, vowels, separators); memchr looks for the needle's
 * rarest, so that it stops seldom. */
static size_t rarity(unsigned char c)
{
	static const char common[] = "0e1.2a_toisnr-l3c 5d4m6p97h8gubfyxkvwjzq";
	int lower = c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
	const char *q = memchr(common, lower, sizeof common - 1);
	return q ? (size_t)(q - common) : sizeof common;
}

static size_t find_byte(const struct uffs_name_scan *ps, int b, size_t i)
{
	if (i >= ps->len)
		return SIZE_MAX;
	const unsigned char *q = memchr(ps->p + i, b, ps->len - i);
	return q ? (size_t)(q - ps->p) : SIZE_MAX;
}

/* The first byte >= 0x80 at or after i; eight at a time. */
static size_t find_high(const struct uffs_name_scan *ps, size_t i)
{
	for (; i + 8 <= ps->len; i += 8) {
		uint64_t h = load8_le(ps->p + i) & HIGHS;
		if (h)
			return i + (size_t)__builtin_ctzll(h) / 8;
	}
	for (; i < ps->len; i++)
		if (ps->p[i] >= 0x80)
			return i;
	return SIZE_MAX;
}

typedef unsigned char uffs_v16 __attribute__((vector_size(16)));

static size_t first_set_byte(uffs_v16 m)
{
	uint64_t h[2];
	memcpy(h, &m, sizeof h);
	for (int w = 0; w < 2; w++) {
		uint64_t x = load8_le((const unsigned char *)&h[w]);
		if (x)
			return (size_t)w * 8 + (size_t)__builtin_ctzll(x) / 8;
	}
	return 16;
}

static bool pair_at(const struct uffs_name_scan *ps, size_t i)
{
	unsigned char x = ps->p[i], y = ps->p[i + 1];
	return (x == ps->pb[0][0] || x == ps->pb[0][1]) &&
	       (y == ps->pb[1][0] || y == ps->pb[1][1]);
}

/* The first i' >= i where the pair stands; sixteen places at a time, the
 * many single bytes of it that memchr would stop at costing nothing. */
static size_t find_pair(const struct uffs_name_scan *ps, size_t i)
{
	uffs_v16 a0 = (uffs_v16){0} + ps->pb[0][0];
	uffs_v16 a1 = (uffs_v16){0} + ps->pb[0][1];
	uffs_v16 c0 = (uffs_v16){0} + ps->pb[1][0];
	uffs_v16 c1 = (uffs_v16){0} + ps->pb[1][1];
	for (; i + 17 <= ps->len; i += 16) {
		uffs_v16 x, y;
		memcpy(&x, ps->p + i, 16);
		memcpy(&y, ps->p + i + 1, 16);
		uffs_v16 m = (uffs_v16)((x == a0) | (x == a1)) &
			     (uffs_v16)((y == c0) | (y == c1));
		size_t j = first_set_byte(m);
		if (j < 16)
			return i + j;
	}
	for (; i + 1 < ps->len; i++)
		if (pair_at(ps, i))
			return i;
	return SIZE_MAX;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* The first position at or after i where the needle may start (its
 * rarest byte is there, either case when folding) or, when folding, a
 * byte >= 0x80 stands; SIZE_MAX when none. */
static size_t next_event(struct uffs_name_scan *ps, size_t i)
{
	size_t e = SIZE_MAX;
	if (ps->pair) {
		if (ps->next_pair < i + ps->at)
			ps->next_pair = find_pair(ps, i + ps->at);
		if (ps->next_pair != SIZE_MAX)
			e = ps->next_pair - ps->at;
	}
	/* b[] is -1 with a pair. */
	for (int c = 0; c < 2; c++) {
		if (ps->b[c] < 0)
			continue;
		if (ps->next_b[c] < i + ps->at)
			ps->next_b[c] = find_byte(ps, ps->b[c], i + ps->at);
		if (ps->next_b[c] != SIZE_MAX)
			e = min_size(e, ps->next_b[c] - ps->at);
	}
	if (ps->high) {
		if (ps->next_high < i)
			ps->next_high = find_high(ps, i);
		e = min_size(e, ps->next_high);
	}
	ps->next = e;
	return e;
}

static void scan_init(struct uffs_name_scan *ps)
{
	size_t best = 0;
	for (size_t j = 1; j < ps->k; j++)
		if (rarity(ps->needle[j]) > rarity(ps->needle[best]))
			best = j;
	/* Two bytes side by side stand far more seldom than one. */
	if (ps->k >= 2) {
		size_t two = 0;
		for (size_t j = 1; j + 1 < ps->k; j++)
			if (rarity(ps->needle[j]) + rarity(ps->needle[j + 1]) >
			    rarity(ps->needle[two]) + rarity(ps->needle[two + 1]))
				two = j;
		ps->pair = true;
		ps->at = two;
		for (int h = 0; h < 2; h++) {
			unsigned char c = ps->needle[two + (size_t)h];
			ps->pb[h][0] = c;
			ps->pb[h][1] = ps->fold && c >= 'A' && c <= 'Z'
					       ? (unsigned char)(c + ('a' - 'A'))
					       : c;
		}
		ps->next_pair = find_pair(ps, two);
		ps->b[0] = ps->b[1] = -1;
		ps->next_b[0] = ps->next_b[1] = SIZE_MAX;
		ps->next_high = ps->high ? find_high(ps, 0) : SIZE_MAX;
		return;
	}
	unsigned char c = ps->needle[best];
	ps->at = best;
	ps->b[0] = c;
	ps->b[1] = ps->fold && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : -1;
	for (int j = 0; j < 2; j++)
		ps->next_b[j] = ps->b[j] < 0 ? SIZE_MAX : find_byte(ps, ps->b[j], best);
	ps->next_high = ps->high ? find_high(ps, 0) : SIZE_MAX;
}

/* Whether the needle stands at i, every byte ASCII when folding (the
 * folded text then holds the same run, whatever else the name holds). */
static bool needle_at(const struct uffs_name_scan *ps, size_t i)
{
	for (size_t j = 0; j < ps->k; j++) {
		unsigned char b = ps->p[i + j];
		if (ps->fold && b >= 0x80)
			return false;
		if ((ps->fold ? upper1(b) : b) != ps->needle[j])
			return false;
	}
	return true;
}

/* Whether some character beyond ASCII folds to a byte of the needle (the
 * dotless i to I, say). When none does, a match in a folded name is made
 * of ASCII characters only, which stand in the name as one run of bytes:
 * comparing bytes (a-z as A-Z) then decides, whatever else the name
 * holds. */
static bool non_ascii_folds_into(const struct uffs_matcher *m)
{
	bool in_needle[128] = {false};
	for (size_t j = 0; j < m->needle_len; j++)
		in_needle[(unsigned char)m->needle[j] & 0x7f] = true;
	for (uint32_t u = 0x80; u < UFFS_UPCASE_UNITS; u++)
		if (m->fold.upcase[u] < 0x80 && in_needle[m->fold.upcase[u]])
			return true;
	return false;
}

int uffs_name_scan_init(struct uffs_name_scan *ns,
			const struct uffs_matcher *m, const char *pool,
			size_t pool_len)
{
	if (m->shape != UFFS_SHAPE_CONTAINS || m->path || m->needle_len == 0)
		return -1;
	if (m->folding && (!m->needle_ascii || !m->fold.ascii_standard))
		return -1;
	*ns = (struct uffs_name_scan){
		.p = (const unsigned char *)pool,
		.len = pool_len,
		.needle = (const unsigned char *)m->needle,
		.k = m->needle_len,
		.fold = m->folding,
		.high = m->folding && non_ascii_folds_into(m),
	};
	scan_init(ns);
	next_event(ns, 0);
	return 0;
}

enum uffs_scan_verdict uffs_name_scan_look(struct uffs_name_scan *ns,
					   size_t o, size_t l)
{
	if (o > ns->len || l > ns->len - o)
		return UFFS_SCAN_ASK;
	if (o == ns->prev_off && l == ns->prev_len && ns->prev_end)
		return ns->prev;
	if (o < ns->prev_end)
		return UFFS_SCAN_ASK;
	size_t e = next_event(ns, o);
	uint8_t v = UFFS_SCAN_NO;
	for (; e < o + l; e = next_event(ns, e + 1)) {
		if (ns->high && ns->p[e] >= 0x80) {
			v = UFFS_SCAN_ASK;
			break;
		}
		if (e + ns->k <= o + l && needle_at(ns, e)) {
			v = UFFS_SCAN_YES;
			break;
		}
	}
	ns->prev_off = o;
	ns->prev_len = l;
	ns->prev_end = o + l;
	ns->prev = v;
	return (enum uffs_scan_verdict)v;
}

/* ---- links whose names hold a substring ---- */

/* Whether each name ends before the next begins or is the same name, and
 * lies inside the pool; no early exit, so that it runs as a vector loop. */
static bool names_in_pool_order(const uint32_t *name, const uint16_t *len,
				size_t n, size_t pool_len)
{
	if (n == 0)
		return true;
	bool ok = (uint64_t)name[n - 1] + len[n - 1] <= pool_len;
	for (size_t i = 0; i + 1 < n; i++) {
		uint64_t end = (uint64_t)name[i] + len[i];
		bool apart = name[i + 1] >= end;
		bool same = name[i + 1] == name[i] && len[i + 1] == len[i];
		ok &= apart | same;
	}
	return ok;
}

int uffs_link_scan_init(struct uffs_link_scan *ls,
			const struct uffs_matcher *m, const char *pool,
			size_t pool_len, const uint32_t *name,
			const uint16_t *name_len, size_t n)
{
	*ls = (struct uffs_link_scan){
		.name = name, .name_len = name_len, .n = n};
	if (uffs_name_scan_init(&ls->ns, m, pool, pool_len) || ls->ns.high)
		return -1;
	if (!names_in_pool_order(name, name_len, n, pool_len))
		return -1;
	return 0;
}

/* The last link at or after lo whose name begins at or before e; SIZE_MAX
 * when name[lo] begins after it. Gallops, since the next place is often
 * near. */
static size_t last_link_at(const struct uffs_link_scan *ls, size_t lo,
			   size_t e)
{
	if (ls->name[lo] > e)
		return SIZE_MAX;
	size_t hi = lo + 1;
	for (size_t step = 1; hi < ls->n && ls->name[hi] <= e; step *= 2) {
		lo = hi;
		hi = ls->n - lo > step ? lo + step : ls->n;
	}
	/* name[lo] <= e, and hi == n or name[hi] > e */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (ls->name[mid] <= e)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

size_t uffs_link_scan_next(struct uffs_link_scan *ls)
{
	if (ls->floor < ls->group_end)
		return ls->floor++;
	struct uffs_name_scan *ns = &ls->ns;
	while (ls->floor < ls->n) {
		size_t e = next_event(ns, ls->pos);
		if (e == SIZE_MAX || e + ns->k > ns->len)
			break;
		/* Most places hold the rarest byte only: told apart in the
		 * pool, before any link is looked for. */
		if (!needle_at(ns, e)) {
			ls->pos = e + 1;
			continue;
		}
		size_t j = last_link_at(ls, ls->floor, e);
		if (j == SIZE_MAX) {
			ls->pos = ls->name[ls->floor];
			continue;
		}
		/* Only the name of j (and the same name of the links just
		 * before it) can hold e: the ones before end before it. */
		size_t g = j;
		while (g > ls->floor && ls->name[g - 1] == ls->name[j] &&
		       ls->name_len[g - 1] == ls->name_len[j])
			g--;
		ls->floor = g;
		size_t end = (size_t)ls->name[j] + ls->name_len[j];
		if (e + ns->k > end) {
			/* Nor can a later place in it: on past it. */
			ls->pos = e + 1 > end ? e + 1 : end;
			continue;
		}
		ls->pos = end;
		ls->group_end = j + 1;
		return ls->floor++;
	}
	ls->floor = ls->group_end = ls->n;
	return SIZE_MAX;
}

int uffs_matcher_last_component(const char *pattern, char *out,
				size_t out_cap, bool *has)
{
	*has = false;
	const char *last = pattern;
	for (const char *p = pattern; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == '/')
			last = p + 1;
	}
	/* '**' in the last component may cross into the path, and a set
	 * closed there may have opened before the '/': no shortcut. */
	if (strstr(last, "**") || strchr(last, ']') ||
	    strlen(last) + 1 > out_cap)
		return 0;
	memcpy(out, last, strlen(last) + 1);
	*has = true;
	return 0;
}
