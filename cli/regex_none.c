/* --regex in a build without PCRE2 (the mingw-w64 build: Debian has no
 * PCRE2 for it): a clear error instead of a missing option. */
#include <stdio.h>

#include "regex.h"

struct cli_regex *cli_regex_new(const char *pattern, bool caseless,
				char *msg, size_t msg_cap)
{
	(void)pattern;
	(void)caseless;
	snprintf(msg, msg_cap, "--regex is not available in this build (no PCRE2)");
	return NULL;
}

bool cli_regex_match(struct cli_regex *re, const char *s, size_t n)
{
	(void)re;
	(void)s;
	(void)n;
	return false;
}

void cli_regex_free(struct cli_regex *re)
{
	(void)re;
}
