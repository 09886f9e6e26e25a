/* libFuzzer: the search matcher on arbitrary bytes. Byte 0 holds the
 * options (bit 0 fold, bit 1 path, bit 2 substring); then the pattern up
 * to a NUL; the rest is the text (names come from disk). A folded match
 * must not change when the text is folded first: folding is idempotent for
 * the built-in table. Bit 3: the text is also a name pool, names between
 * '/' bytes (bit 4: each given to two links), and the links a substring
 * scan of it gives are those whose ASCII names the matcher matches. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/match.h"
#include "../mft/upcase.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

static void check_link_scan(struct uffs_matcher *m, const char *pool,
			    size_t n, bool shared)
{
	uint32_t *name = malloc((2 * n + 2) * sizeof *name);
	uint16_t *len = malloc((2 * n + 2) * sizeof *len);
	size_t links = 0, start = 0;
	for (size_t i = 0; i <= n && n < UINT16_MAX; i++) {
		if (i < n && pool[i] != '/')
			continue;
		for (int c = 0; c < (shared ? 2 : 1); c++) {
			name[links] = (uint32_t)start;
			len[links++] = (uint16_t)(i - start);
		}
		start = i + 1;
	}
	struct uffs_link_scan ls;
	if (links && !uffs_link_scan_init(&ls, m, pool, n, name, len, links)) {
		size_t next = uffs_link_scan_next(&ls);
		for (size_t i = 0; i < links; i++) {
			bool given = next == i;
			if (given)
				next = uffs_link_scan_next(&ls);
			if (ascii(pool + name[i], len[i]) &&
			    uffs_matcher_match(m, pool + name[i], len[i]) != given)
				__builtin_trap();
		}
		if (next != SIZE_MAX)
			__builtin_trap();
	}
	free(name);
	free(len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint16_t table[UFFS_UPCASE_UNITS];
	if (!table['a'])
		uffs_upcase_default(table);
	if (size < 2)
		return 0;
	uint8_t opts = data[0];
	const uint8_t *nul = memchr(data + 1, 0, size - 1);
	if (!nul)
		return 0;
	size_t pat_len = (size_t)(nul - (data + 1));
	char *pattern = malloc(pat_len + 1);
	memcpy(pattern, data + 1, pat_len + 1);
	const char *text = (const char *)nul + 1;
	size_t n = size - pat_len - 2;
	struct uffs_matcher m;
	char msg[128];
	bool fold = opts & 1;
	if (uffs_matcher_init(&m, pattern,
			      opts & 4 ? UFFS_MATCH_CONTAINS : UFFS_MATCH_GLOB,
			      fold ? table : NULL, opts & 2, '/', msg,
			      sizeof msg) == 0) {
		bool r = uffs_matcher_match(&m, text, n);
		if (opts & 8)
			check_link_scan(&m, text, n, opts & 16);
		if (fold) {
			char *folded = malloc(3 * n + 1);
			struct uffs_fold f;
			uffs_fold_init(&f, table);
			size_t fn = uffs_fold_wtf8(&f, text, n, folded);
			if (uffs_matcher_match(&m, folded, fn) != r)
				__builtin_trap();
			free(folded);
		}
		uffs_matcher_free(&m);
	}
	free(pattern);
	return 0;
}
