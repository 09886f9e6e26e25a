/* --regex in a build without PCRE2 (the mingw-w64 build: Debian has no
 * PCRE2 for it): a clear error instead of a missing option. */
#include <stdio.h>

#include "regex.h"

struct uffs_regex *uffs_regex_new(const char *pattern, bool caseless,
				char *msg, size_t msg_cap)
{
	(void)pattern;
	(void)caseless;
	snprintf(msg, msg_cap, "--regex is not available in this build (no PCRE2)");
	return NULL;
}

bool uffs_regex_match(struct uffs_regex *re, const char *s, size_t n)
{
	(void)re;
	(void)s;
	(void)n;
	return false;
}

void uffs_regex_free(struct uffs_regex *re)
{
	(void)re;
}
