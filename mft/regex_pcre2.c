/* --regex with PCRE2: UTF mode that tolerates invalid sequences (names
 * are WTF-8: a lone surrogate is three bytes PCRE2 will not take for a
 * character), JIT-compiled where the platform allows. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>

#include "regex.h"

struct uffs_regex {
	pcre2_code *code;
	pcre2_match_data *md;
};

struct uffs_regex *uffs_regex_new(const char *pattern, bool caseless,
				char *msg, size_t msg_cap)
{
	int errcode;
	PCRE2_SIZE erroff;
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF |
			(caseless ? PCRE2_CASELESS : 0);
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern,
					 PCRE2_ZERO_TERMINATED, opts, &errcode,
					 &erroff, NULL);
	if (!code) {
		PCRE2_UCHAR text[160];
		pcre2_get_error_message(errcode, text, sizeof text);
		snprintf(msg, msg_cap, "at offset %zu: %s", (size_t)erroff,
			 (const char *)text);
		return NULL;
	}
	/* Without a JIT (or where it is forbidden) the interpreter runs. */
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	struct uffs_regex *re = malloc(sizeof *re);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
	if (!re || !md) {
		snprintf(msg, msg_cap, "out of memory");
		free(re);
		pcre2_match_data_free(md);
		pcre2_code_free(code);
		return NULL;
	}
	re->code = code;
	re->md = md;
	return re;
}

bool uffs_regex_match(struct uffs_regex *re, const char *s, size_t n)
{
	return pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, 0, re->md, NULL) >= 0;
}

void uffs_regex_free(struct uffs_regex *re)
{
	if (!re)
		return;
	pcre2_match_data_free(re->md);
	pcre2_code_free(re->code);
	free(re);
}
