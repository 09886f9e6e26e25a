/* libFuzzer: the search matcher on arbitrary bytes. Byte 0 holds the
 * options (bit 0 fold, bit 1 path, bit 2 substring); then the pattern up
 * to a NUL; the rest is the text (names come from disk). A folded match
 * must not change when the text is folded first: folding is idempotent for
 * the built-in table. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/match.h"
#include "../mft/upcase.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
