/* Matching (mft/match.c) and case folding (mft/upcase.c): each expectation
 * is the pattern semantics written down by hand; the built-in $UpCase is
 * checked against the table mkntfs wrote into the committed images (read
 * with The Sleuth Kit's icat, tests/unit/data/upcase-mkntfs.txt). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "match.h"
#include "upcase.h"

static const char *table_file;
static uint16_t default_table[UFFS_UPCASE_UNITS];

static bool match(const char *pattern, enum uffs_match_syntax syn, bool fold,
		  bool path, const char *text)
{
	struct uffs_matcher m;
	char msg[128];
	int rc = uffs_matcher_init(&m, pattern, syn, fold ? default_table : NULL,
				   path, '/', msg, sizeof msg);
	if (rc)
		fail_msg("pattern '%s': %s", pattern, msg);
	bool r = uffs_matcher_match(&m, text, strlen(text));
	uffs_matcher_free(&m);
	return r;
}

#define GLOB(p, t) match(p, UFFS_MATCH_GLOB, false, false, t)
#define IGLOB(p, t) match(p, UFFS_MATCH_GLOB, true, false, t)
#define PATH(p, t) match(p, UFFS_MATCH_GLOB, false, true, t)

static void glob_basics(void **state)
{
	(void)state;
	assert_true(GLOB("*.txt", "a.txt"));
	assert_true(GLOB("*.txt", ".txt"));
	assert_false(GLOB("*.txt", "a.txt.bak"));
	assert_false(GLOB("*.txt", "a.TXT"));
	assert_true(GLOB("a*", "abc"));
	assert_false(GLOB("a*", "bac"));
	assert_true(GLOB("*b*", "abc"));
	assert_false(GLOB("*d*", "abc"));
	assert_true(GLOB("abc", "abc"));
	assert_false(GLOB("abc", "abcd"));
	assert_true(GLOB("*", ""));
	assert_true(GLOB("a?c", "abc"));
	assert_false(GLOB("a?c", "ac"));
	assert_true(GLOB("a*b*c", "aXbYbZc"));
	assert_false(GLOB("a*b*c", "aXbYbZ"));
	assert_true(GLOB("*a*a*a*", "aaa"));
	assert_false(GLOB("*a*a*a*a", "aaa"));
}

static void glob_sets_and_escapes(void **state)
{
	(void)state;
	assert_true(GLOB("[abc]x", "bx"));
	assert_false(GLOB("[abc]x", "dx"));
	assert_true(GLOB("[a-c]x", "cx"));
	assert_true(GLOB("[!a-c]x", "dx"));
	assert_false(GLOB("[^a-c]x", "ax"));
	assert_true(GLOB("[]]", "]"));
	assert_true(GLOB("[!]]", "a"));
	assert_true(GLOB("x[", "x["));      /* unclosed: literal */
	assert_true(GLOB("\\*", "*"));
	assert_false(GLOB("\\*", "a"));
	assert_true(GLOB("\\[a]", "[a]"));
	assert_true(GLOB("[\\]]", "]"));
	/* '?' and sets take one code point, not one byte. */
	assert_true(GLOB("caf?", "caf\xc3\xa9"));
	assert_true(GLOB("?", "\xf0\x9f\x98\x80"));
	assert_true(GLOB("[\xc3\xa0-\xc3\xbf]", "\xc3\xa9"));
	assert_false(GLOB("[\xc3\xa0-\xc3\xbf]", "e"));
	/* A truncated sequence at the end is stepped over, not past. */
	assert_true(GLOB("*???", "ZZ\xf7"));
	assert_false(GLOB("*???x", "ZZ\xf7"));
	assert_false(GLOB("*ab", "x\xf7"));
	assert_true(GLOB("*", "x\xf7"));
	/* A lone surrogate (WTF-8) is one character. */
	assert_true(GLOB("a?b", "a\xed\xa0\x80" "b"));
}

static void folding(void **state)
{
	(void)state;
	assert_true(IGLOB("*.TXT", "a.txt"));
	assert_true(IGLOB("readme*", "README.md"));
	assert_true(IGLOB("[a-c]*", "Beta"));
	assert_true(IGLOB("CAF\xc3\x89", "caf\xc3\xa9"));      /* É é */
	assert_true(IGLOB("\xce\xb1\xce\xb2", "\xce\x91\xce\x92")); /* αβ ΑΒ */
	assert_true(IGLOB("\xd0\xb4\xd0\xbe\xd0\xbc", "\xd0\x94\xd0\x9e\xd0\x9c"));
	assert_true(IGLOB("\xc3\xbf", "\xc5\xb8")); /* ÿ folds to Ÿ (U+0178) */
	/* NTFS leaves final sigma and dotless i alone. */
	assert_false(IGLOB("\xcf\x82", "\xce\xa3"));
	assert_false(IGLOB("\xc4\xb1", "I"));
	assert_false(GLOB("ABC", "abc"));
	/* The ASCII shortcuts give way where a name is not ASCII. */
	assert_true(IGLOB("*\xc3\x89.TXT", "caf\xc3\xa9.txt"));
	assert_false(IGLOB("*E.TXT", "caf\xc3\xa9.txt"));
	assert_true(IGLOB("CAF*", "caf\xc3\xa9"));
	assert_true(match("F\xc3\x89", UFFS_MATCH_CONTAINS, true, false, "caf\xc3\xa9s"));
	assert_true(match("AF", UFFS_MATCH_CONTAINS, true, false, "caf\xc3\xa9s"));
	assert_false(IGLOB("CAFE", "caf\xc3\xa9"));
	assert_true(IGLOB("*.txt", "\xc3\xa9.TXT"));
	/* A glob's literal ends, checked first. */
	assert_true(IGLOB("[a-c]*5.TXT", "b-5.txt"));
	assert_false(IGLOB("[a-c]*5.txt", "b-5.txq"));
	assert_true(IGLOB("ca?*\xc3\x89", "caf\xc3\xa9"));
	assert_false(IGLOB("cb?*\xc3\x89", "caf\xc3\xa9"));
	assert_true(GLOB("ab*[0-9]x", "abc5x"));
	assert_false(GLOB("ab*[0-9]x", "abc5y"));
	/* Substrings eight positions at a time, across word edges. */
	assert_true(match("PQRS", UFFS_MATCH_CONTAINS, true, false,
			  "abcdefghijklmnopqrstuvwxyz"));
	assert_true(match("XYZ", UFFS_MATCH_CONTAINS, true, false,
			  "abcdefghijklmnopqrstuvwxyz"));
	assert_false(match("XYA", UFFS_MATCH_CONTAINS, true, false,
			   "abcdefghijklmnopqrstuvwxyz"));
	assert_true(match("ABCDEFGHIJKL", UFFS_MATCH_CONTAINS, true, false,
			  "xxabcdefghijklxxxxxxxx"));
	assert_true(match("J\xc3\x89", UFFS_MATCH_CONTAINS, true, false,
			  "abcdefghij\xc3\xa9klmnopqrstuvwxyz"));
	assert_true(match("KLM", UFFS_MATCH_CONTAINS, true, false,
			  "abcdefghij\xc3\xa9klmnopqrstuvwxyz"));
	assert_false(match("klm", UFFS_MATCH_CONTAINS, false, false,
			   "ABCDEFGHIJKLMNOP"));
	assert_true(match("KLM", UFFS_MATCH_CONTAINS, false, false,
			  "ABCDEFGHIJKLMNOP"));
	assert_true(match("ell", UFFS_MATCH_CONTAINS, true, false, "HELLO"));
	assert_false(match("ell", UFFS_MATCH_CONTAINS, false, false, "HELLO"));
	assert_true(match("*?", UFFS_MATCH_CONTAINS, false, false, "a*?b"));
	assert_false(match("*?", UFFS_MATCH_CONTAINS, false, false, "ab"));
}

static void paths(void **state)
{
	(void)state;
	assert_true(PATH("/a/*.c", "/a/x.c"));
	assert_false(PATH("/a/*.c", "/a/b/x.c"));
	assert_true(PATH("/a/**.c", "/a/b/x.c"));
	assert_true(PATH("/a/**/x.c", "/a/b/c/x.c"));
	assert_true(PATH("b/*.c", "/a/b/x.c"));   /* any depth */
	assert_false(PATH("b/*.c", "/a/bb/x.c"));
	assert_true(PATH("*.c", "/a/b/x.c"));
	assert_false(PATH("/*.c", "/a/x.c"));
	assert_false(PATH("/a?x.c", "/a/x.c"));   /* '?' is not the separator */
	assert_false(PATH("/a[/]x.c", "/a/x.c"));
	assert_true(PATH("**/x/*.c", "/a/x/y/x/z.c"));
	assert_false(PATH("/*a/*", "/xa/ya/z"));
	assert_true(PATH("/**", "/anything/at/all"));
	assert_true(match("/b/", UFFS_MATCH_CONTAINS, false, true, "/a/b/c"));
	char last[64];
	bool has;
	assert_int_equal(uffs_matcher_last_component("a/*.c", last, sizeof last, &has), 0);
	assert_true(has);
	assert_string_equal(last, "*.c");
	uffs_matcher_last_component("a/**.c", last, sizeof last, &has);
	assert_false(has);
	uffs_matcher_last_component("*.c", last, sizeof last, &has);
	assert_true(has);
	assert_string_equal(last, "*.c");
}

/* A naive recursive matcher of the documented semantics (ASCII, no
 * sets), for comparison on random patterns and texts. */
static bool naive(const char *p, const char *t, bool path)
{
	if (*p == '\0')
		return *t == '\0';
	if (p[0] == '*') {
		bool across = p[1] == '*' && path;
		const char *rest = p;
		while (*rest == '*')
			rest++;
		for (const char *u = t;; u++) {
			if (naive(rest, u, path))
				return true;
			if (*u == '\0' || (*u == '/' && path && !across))
				return false;
		}
	}
	if (*t == '\0')
		return false;
	if (p[0] == '?')
		return !(path && *t == '/') && naive(p + 1, t + 1, path);
	return p[0] == *t && naive(p + 1, t + 1, path);
}

static void random_globs_agree_with_naive(void **state)
{
	(void)state;
	static const char pat_chars[] = "ab/*?";
	static const char text_chars[] = "ab/";
	uint32_t seed = 12345;
	for (int round = 0; round < 20000; round++) {
		char p[12], t[14];
		seed = seed * 1103515245u + 12345u;
		size_t pn = 1 + (seed >> 16) % 10, tn = (seed >> 8) % 13;
		for (size_t i = 0; i < pn; i++) {
			seed = seed * 1103515245u + 12345u;
			p[i] = pat_chars[(seed >> 16) % 5];
		}
		p[pn] = '\0';
		t[0] = '/';
		for (size_t i = 1; i <= tn; i++) {
			seed = seed * 1103515245u + 12345u;
			t[i] = text_chars[(seed >> 16) % 3];
		}
		t[tn + 1] = '\0';
		bool path = round & 1;
		const char *text = path ? t : t + 1;
		/* A path pattern not led by '/' is matched as if led by '**' + '/'. */
		char anchored[16];
		snprintf(anchored, sizeof anchored, "%s%s",
			 path && p[0] != '/' ? "**/" : "", p);
		bool want = naive(anchored, text, path);
		bool got = match(p, UFFS_MATCH_GLOB, false, path, text);
		if (want != got)
			fail_msg("pattern '%s' text '%s' path %d: got %d, want %d",
				 p, text, path, got, want);
	}
}

static void bad_patterns(void **state)
{
	(void)state;
	struct uffs_matcher m;
	char msg[128];
	assert_int_equal(uffs_matcher_init(&m, "a\xff", UFFS_MATCH_GLOB, NULL,
					   false, '/', msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "UTF-8"));
}

/* The built-in table against the one mkntfs writes: equal on ASCII,
 * Latin-1, Latin Extended-A, Greek and Cyrillic. */
static void default_table_matches_mkntfs(void **state)
{
	(void)state;
	static uint16_t real[UFFS_UPCASE_UNITS];
	for (unsigned u = 0; u < UFFS_UPCASE_UNITS; u++)
		real[u] = (uint16_t)u;
	FILE *f = fopen(table_file, "r");
	assert_non_null(f);
	char line[128];
	unsigned n = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned a, b;
		if (line[0] != '#' && sscanf(line, "%x %x", &a, &b) == 2 &&
		    a < UFFS_UPCASE_UNITS) {
			real[a] = (uint16_t)b;
			n++;
		}
	}
	fclose(f);
	assert_true(n > 900);
	static const unsigned ranges[][2] = {
		{0x0000, 0x017F}, {0x0380, 0x03CF}, {0x0400, 0x0523}};
	for (size_t r = 0; r < 3; r++)
		for (unsigned u = ranges[r][0]; u <= ranges[r][1]; u++)
			if (default_table[u] != real[u])
				fail_msg("U+%04X: built-in %04X, mkntfs %04X", u,
					 default_table[u], real[u]);
	/* Decoding the on-disk form gives the same table back. */
	static uint8_t le[UFFS_UPCASE_BYTES];
	static uint16_t back[UFFS_UPCASE_UNITS];
	for (unsigned u = 0; u < UFFS_UPCASE_UNITS; u++) {
		le[2 * u] = (uint8_t)real[u];
		le[2 * u + 1] = (uint8_t)(real[u] >> 8);
	}
	assert_int_equal(uffs_upcase_decode(le, sizeof le, back), 0);
	assert_memory_equal(back, real, sizeof real);
	assert_int_equal(uffs_upcase_decode(le, sizeof le - 2, back), -1);
	le[2 * 'a'] = 'a';
	assert_int_equal(uffs_upcase_decode(le, sizeof le, back), -1);
}

/* ---- substring search over a name pool (uffs_name_scan) ---- */

struct pool_name {
	uint32_t off;
	uint16_t len;
};

/* The verdicts on names of pool for a --contains needle, in order. */
static void scan_verdicts(const char *needle, const uint16_t *upcase,
			  const char *pool,
			  size_t pool_len, const struct pool_name *names,
			  size_t n, int *out)
{
	struct uffs_matcher m;
	char msg[128];
	assert_int_equal(uffs_matcher_init(&m, needle, UFFS_MATCH_CONTAINS,
					   upcase, false,
					   '/', msg, sizeof msg),
			 0);
	struct uffs_name_scan ns;
	assert_int_equal(uffs_name_scan_init(&ns, &m, pool, pool_len), 0);
	for (size_t i = 0; i < n; i++)
		out[i] = uffs_name_scan_next(&ns, names[i].off, names[i].len);
	uffs_matcher_free(&m);
}

static void pool_scan_cases(void **state)
{
	(void)state;
	/* names: "abc"@0 "xBCy"@3 "ab"@8 "cd"@10 (a hit across them),
	 * bytes "bc" between names @12 (a stream name, say), "zBc"@14
	 * ending the pool */
	const char pool[] = "abcxBCyzabcdbczBc";
	const struct pool_name names[] = {
		{0, 3}, {3, 4}, {8, 2}, {10, 2}, {15, 2}, {14, 3},
	};
	int v[6];
	scan_verdicts("bc", default_table, pool, sizeof pool - 1, names, 2, v);
	assert_int_equal(v[0], UFFS_SCAN_YES);
	assert_int_equal(v[1], UFFS_SCAN_YES);
	/* "ab" "cd": "bc" spans the two names; "Bc"@15 lies inside "zBc"
	 * but the name asked is @15..17 only, after the gap @12 */
	scan_verdicts("bc", default_table, pool, sizeof pool - 1, names + 2, 3, v);
	assert_int_equal(v[0], UFFS_SCAN_NO);
	assert_int_equal(v[1], UFFS_SCAN_NO);
	assert_int_equal(v[2], UFFS_SCAN_YES);
	/* Exact case: "BC" and "Bc" do not hold "bc". */
	scan_verdicts("bc", NULL, pool, sizeof pool - 1, names, 2, v);
	assert_int_equal(v[0], UFFS_SCAN_YES);
	assert_int_equal(v[1], UFFS_SCAN_NO);
	/* A name asked out of order, or twice in a row, or outside. */
	const struct pool_name odd[] = {
		{3, 4}, {3, 4}, {0, 3}, {14, 3}, {16, 5},
	};
	scan_verdicts("BC", NULL, pool, sizeof pool - 1, odd, 5, v);
	assert_int_equal(v[0], UFFS_SCAN_YES);
	assert_int_equal(v[1], UFFS_SCAN_YES);
	assert_int_equal(v[2], UFFS_SCAN_ASK);
	assert_int_equal(v[3], UFFS_SCAN_NO);
	assert_int_equal(v[4], UFFS_SCAN_ASK);
	/* The needle at the very start and end of the pool, one byte long. */
	const struct pool_name ends[] = {{0, 1}, {1, 15}, {16, 1}};
	scan_verdicts("A", default_table, pool, sizeof pool - 1, ends, 3, v);
	assert_int_equal(v[0], UFFS_SCAN_YES);
	assert_int_equal(v[1], UFFS_SCAN_YES);
	assert_int_equal(v[2], UFFS_SCAN_NO);
	scan_verdicts("c", NULL, pool, sizeof pool - 1, ends, 3, v);
	assert_int_equal(v[0], UFFS_SCAN_NO);
	assert_int_equal(v[1], UFFS_SCAN_YES);
	assert_int_equal(v[2], UFFS_SCAN_YES);
}

static void pool_scan_non_ascii(void **state)
{
	(void)state;
	/* "\xc3\xa9bc" (e acute, bc), "\xc4\xb1x" (dotless i: folds to I
	 * through $UpCase), "plain" */
	const char pool[] = "\xc3\xa9" "bc" "\xc4\xb1x" "plain";
	const struct pool_name names[] = {{0, 4}, {4, 3}, {7, 5}};
	int v[3];
	/* Folded: no character beyond ASCII folds into ASCII in this table,
	 * so bytes decide whatever else the name holds. */
	scan_verdicts("IX", default_table, pool, sizeof pool - 1, names, 3, v);
	assert_int_equal(v[0], UFFS_SCAN_NO);
	assert_int_equal(v[1], UFFS_SCAN_NO);
	assert_int_equal(v[2], UFFS_SCAN_NO);
	scan_verdicts("BC", default_table, pool, sizeof pool - 1, names, 3, v);
	assert_int_equal(v[0], UFFS_SCAN_YES);
	assert_int_equal(v[1], UFFS_SCAN_NO);
	/* A table folding the dotless i to I (as Windows' may): names with
	 * bytes >= 0x80 go to the matcher when the needle holds an I, and it
	 * finds "IX" in the second. */
	static uint16_t turkic[UFFS_UPCASE_UNITS];
	memcpy(turkic, default_table, sizeof turkic);
	turkic[0x131] = 'I';
	scan_verdicts("IX", turkic, pool, sizeof pool - 1, names, 3, v);
	assert_int_equal(v[0], UFFS_SCAN_ASK);
	assert_int_equal(v[1], UFFS_SCAN_ASK);
	assert_int_equal(v[2], UFFS_SCAN_NO);
	scan_verdicts("BC", turkic, pool, sizeof pool - 1, names, 3, v);
	assert_int_equal(v[0], UFFS_SCAN_YES);
	assert_int_equal(v[1], UFFS_SCAN_NO);
	assert_int_equal(v[2], UFFS_SCAN_NO);
	struct uffs_matcher t;
	char tmsg[128];
	assert_int_equal(uffs_matcher_init(&t, "ix", UFFS_MATCH_CONTAINS, turkic,
					   false, '/', tmsg, sizeof tmsg),
			 0);
	assert_true(uffs_matcher_match(&t, pool + 4, 3));
	assert_false(uffs_matcher_match(&t, pool, 4));
	uffs_matcher_free(&t);
	/* Exact case: bytes are compared as they are. */
	scan_verdicts("bc", NULL, pool, sizeof pool - 1, names, 3, v);
	assert_int_equal(v[0], UFFS_SCAN_YES);
	assert_int_equal(v[1], UFFS_SCAN_NO);
	assert_int_equal(v[2], UFFS_SCAN_NO);
	scan_verdicts("\xc3\xa9" "b", NULL, pool, sizeof pool - 1, names, 3, v);
	assert_int_equal(v[0], UFFS_SCAN_YES);
	assert_int_equal(v[1], UFFS_SCAN_NO);
	/* A non-ASCII needle, or an empty one, is not for the scan. */
	struct uffs_matcher m;
	struct uffs_name_scan ns;
	char msg[128];
	assert_int_equal(uffs_matcher_init(&m, "\xc3\xa9", UFFS_MATCH_CONTAINS,
					   default_table, false, '/', msg,
					   sizeof msg),
			 0);
	assert_int_equal(uffs_name_scan_init(&ns, &m, pool, sizeof pool - 1), -1);
	uffs_matcher_free(&m);
	assert_int_equal(uffs_matcher_init(&m, "", UFFS_MATCH_CONTAINS,
					   default_table, false, '/', msg,
					   sizeof msg),
			 0);
	assert_int_equal(uffs_name_scan_init(&ns, &m, pool, sizeof pool - 1), -1);
	uffs_matcher_free(&m);
	assert_int_equal(uffs_matcher_init(&m, "*x*", UFFS_MATCH_GLOB,
					   default_table, false, '/', msg,
					   sizeof msg),
			 0);
	assert_int_equal(uffs_name_scan_init(&ns, &m, pool, sizeof pool - 1), 0);
	uffs_matcher_free(&m);
}

/* Random ASCII pools: each verdict is what a naive search of the
 * (upper-cased) name says; the gaps between names hold needles too. */
static void pool_scan_random_agrees_with_naive(void **state)
{
	(void)state;
	static char pool[4096];
	static struct pool_name names[1024];
	static int v[1024];
	unsigned seed = 12345;
	for (int round = 0; round < 300; round++) {
		size_t len = 0, n = 0;
		while (len < sizeof pool - 40 && n < 1024) {
			seed = seed * 1103515245u + 12345u;
			size_t gap = (seed >> 16) % 3, nl = (seed >> 20) % 12;
			for (size_t j = 0; j < gap + nl; j++) {
				seed = seed * 1103515245u + 12345u;
				pool[len + j] = "abAB0.c"[(seed >> 16) % 7];
			}
			names[n].off = (uint32_t)(len + gap);
			names[n].len = (uint16_t)nl;
			n++;
			len += gap + nl;
		}
		seed = seed * 1103515245u + 12345u;
		size_t k = 1 + (seed >> 16) % 4;
		char needle[8];
		for (size_t j = 0; j < k; j++) {
			seed = seed * 1103515245u + 12345u;
			needle[j] = "abAB0.c"[(seed >> 16) % 7];
		}
		needle[k] = '\0';
		bool fold = round % 2;
		scan_verdicts(needle, fold ? default_table : NULL, pool, len,
			      names, n, v);
		for (size_t i = 0; i < n; i++) {
			char name[16], up[16];
			memcpy(name, pool + names[i].off, names[i].len);
			name[names[i].len] = '\0';
			for (size_t j = 0; j <= names[i].len; j++)
				up[j] = fold && name[j] >= 'a' && name[j] <= 'z'
						? (char)(name[j] - 32) : name[j];
			char want_needle[8];
			for (size_t j = 0; j <= k; j++)
				want_needle[j] = fold && needle[j] >= 'a' &&
							 needle[j] <= 'z'
							 ? (char)(needle[j] - 32)
							 : needle[j];
			int want = strstr(up, want_needle) ? UFFS_SCAN_YES
							   : UFFS_SCAN_NO;
			if (v[i] != want)
				fail_msg("needle '%s' fold %d name '%s': %d, want %d",
					 needle, fold, name, v[i], want);
		}
	}
}

/* ---- links whose names hold a substring (uffs_link_scan) ---- */

/* The links uffs_link_scan gives for needle, in order, into out; returns
 * how many, or -1 when it declines. */
static int link_scan(const char *needle, const uint16_t *upcase,
		     const char *pool, size_t pool_len, const uint32_t *name,
		     const uint16_t *len, size_t n, size_t *out)
{
	struct uffs_matcher m;
	char msg[128];
	assert_int_equal(uffs_matcher_init(&m, needle, UFFS_MATCH_CONTAINS,
					   upcase, false, '/', msg, sizeof msg),
			 0);
	struct uffs_link_scan ls;
	int got = 0;
	if (uffs_link_scan_init(&ls, &m, pool, pool_len, name, len, n)) {
		got = -1;
	} else {
		for (size_t i; (i = uffs_link_scan_next(&ls)) != SIZE_MAX;) {
			assert_true(i < n);
			out[got++] = i;
		}
		assert_int_equal(uffs_link_scan_next(&ls), SIZE_MAX);
	}
	uffs_matcher_free(&m);
	return got;
}

static void link_scan_cases(void **state)
{
	(void)state;
	/* links: 0 "abc"@0, 1 and 2 share "xBCy"@3, 3 "ab"@8, 4 "cd"@10,
	 * bytes "bc" between names @12, 5 "zBc"@14 (the pool's end) */
	const char pool[] = "abcxBCyzabcdbczBc";
	const uint32_t name[] = {0, 3, 3, 8, 10, 14};
	const uint16_t len[] = {3, 4, 4, 2, 2, 3};
	size_t got[8];
	assert_int_equal(link_scan("bc", default_table, pool, sizeof pool - 1,
				   name, len, 6, got),
			 4);
	assert_int_equal(got[0], 0); /* the first link */
	assert_int_equal(got[1], 1); /* both links of the shared name */
	assert_int_equal(got[2], 2);
	assert_int_equal(got[3], 5); /* the last; not "ab"+"cd" nor the gap */
	assert_int_equal(link_scan("bc", NULL, pool, sizeof pool - 1, name,
				   len, 6, got),
			 1);
	assert_int_equal(got[0], 0);
	/* Spanning names, or in the gap only: none. */
	assert_int_equal(link_scan("BCD", default_table, pool,
				   sizeof pool - 1, name, len, 6, got),
			 0);
	assert_int_equal(link_scan("DB", default_table, pool, sizeof pool - 1,
				   name, len, 6, got),
			 0);
	/* The needle is a whole name, at the very end of the pool. */
	assert_int_equal(link_scan("zbc", default_table, pool,
				   sizeof pool - 1, name, len, 6, got),
			 1);
	assert_int_equal(got[0], 5);
	/* An empty name holds nothing, before a name at its place too. */
	const uint32_t name0[] = {0, 0, 3};
	const uint16_t len0[] = {0, 3, 4};
	assert_int_equal(link_scan("a", default_table, pool, sizeof pool - 1,
				   name0, len0, 3, got),
			 1);
	assert_int_equal(got[0], 1);
	/* No links at all. */
	assert_int_equal(link_scan("a", default_table, pool, sizeof pool - 1,
				   name, len, 0, got),
			 0);
}

static void link_scan_declines(void **state)
{
	(void)state;
	const char pool[] = "abcxBCyzabcdbczBc";
	size_t got[8];
	/* Not in link order. */
	const uint32_t back[] = {3, 0};
	const uint16_t back_len[] = {4, 3};
	assert_int_equal(link_scan("bc", default_table, pool, sizeof pool - 1,
				   back, back_len, 2, got),
			 -1);
	/* Overlapping: "abcx" then "cxBC". */
	const uint32_t over[] = {0, 2};
	const uint16_t over_len[] = {4, 4};
	assert_int_equal(link_scan("bc", default_table, pool, sizeof pool - 1,
				   over, over_len, 2, got),
			 -1);
	/* The same place with another length. */
	const uint32_t same[] = {0, 0};
	const uint16_t same_len[] = {3, 2};
	assert_int_equal(link_scan("bc", default_table, pool, sizeof pool - 1,
				   same, same_len, 2, got),
			 -1);
	/* Past the pool's end. */
	const uint32_t out[] = {0, 15};
	const uint16_t out_len[] = {3, 3};
	assert_int_equal(link_scan("bc", default_table, pool, sizeof pool - 1,
				   out, out_len, 2, got),
			 -1);
	/* What uffs_name_scan declines or asks the matcher about: a
	 * needle beyond ASCII, a table folding beyond ASCII into it. */
	const uint32_t ok[] = {0, 3};
	const uint16_t ok_len[] = {3, 4};
	assert_int_equal(link_scan("\xc3\xa9", default_table, pool,
				   sizeof pool - 1, ok, ok_len, 2, got),
			 -1);
	static uint16_t turkic[UFFS_UPCASE_UNITS];
	memcpy(turkic, default_table, sizeof turkic);
	turkic[0x131] = 'I';
	assert_int_equal(link_scan("ix", turkic, pool, sizeof pool - 1, ok,
				   ok_len, 2, got),
			 -1);
	assert_int_equal(link_scan("bc", turkic, pool, sizeof pool - 1, ok,
				   ok_len, 2, got),
			 2);
}

/* Random pools with gaps and names shared by consecutive links: the
 * links given are those whose (upper-cased) name a naive search finds
 * the needle in. */
static void link_scan_random_agrees_with_naive(void **state)
{
	(void)state;
	static char pool[4096];
	static uint32_t name[1024];
	static uint16_t len[1024];
	static size_t got[1024];
	unsigned seed = 4242;
	for (int round = 0; round < 400; round++) {
		size_t pl = 0, n = 0;
		while (pl < sizeof pool - 40 && n < 1024) {
			seed = seed * 1103515245u + 12345u;
			if (n && (seed >> 16) % 5 == 0) {
				name[n] = name[n - 1];
				len[n] = len[n - 1];
				n++;
				continue;
			}
			size_t gap = (seed >> 18) % 3, nl = (seed >> 22) % 12;
			for (size_t j = 0; j < gap + nl; j++) {
				seed = seed * 1103515245u + 12345u;
				pool[pl + j] = "abAB0.c"[(seed >> 16) % 7];
			}
			name[n] = (uint32_t)(pl + gap);
			len[n] = (uint16_t)nl;
			n++;
			pl += gap + nl;
		}
		seed = seed * 1103515245u + 12345u;
		size_t k = 1 + (seed >> 16) % 4;
		char needle[8], up_needle[8];
		for (size_t j = 0; j < k; j++) {
			seed = seed * 1103515245u + 12345u;
			needle[j] = "abAB0.c"[(seed >> 16) % 7];
		}
		needle[k] = '\0';
		bool fold = round % 2;
		for (size_t j = 0; j <= k; j++)
			up_needle[j] = fold && needle[j] >= 'a' && needle[j] <= 'z'
					       ? (char)(needle[j] - 32)
					       : needle[j];
		int g = link_scan(needle, fold ? default_table : NULL, pool, pl,
				  name, len, n, got);
		assert_true(g >= 0);
		size_t at = 0;
		for (size_t i = 0; i < n; i++) {
			char up[16];
			for (size_t j = 0; j < len[i]; j++) {
				char c = pool[name[i] + j];
				up[j] = fold && c >= 'a' && c <= 'z' ? (char)(c - 32)
								     : c;
			}
			up[len[i]] = '\0';
			if (!strstr(up, up_needle))
				continue;
			if (at >= (size_t)g || got[at] != i)
				fail_msg("needle '%s' fold %d: link %zu ('%s') "
					 "missing", needle, fold, i, up);
			at++;
		}
		assert_int_equal(at, (size_t)g);
	}
}

int main(int argc, char **argv)
{
	table_file = argc > 1 ? argv[1] : "tests/unit/data/upcase-mkntfs.txt";
	uffs_upcase_default(default_table);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(glob_basics),
		cmocka_unit_test(glob_sets_and_escapes),
		cmocka_unit_test(folding),
		cmocka_unit_test(paths),
		cmocka_unit_test(random_globs_agree_with_naive),
		cmocka_unit_test(bad_patterns),
		cmocka_unit_test(default_table_matches_mkntfs),
		cmocka_unit_test(pool_scan_cases),
		cmocka_unit_test(pool_scan_non_ascii),
		cmocka_unit_test(pool_scan_random_agrees_with_naive),
		cmocka_unit_test(link_scan_cases),
		cmocka_unit_test(link_scan_declines),
		cmocka_unit_test(link_scan_random_agrees_with_naive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
