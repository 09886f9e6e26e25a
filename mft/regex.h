/* The regex syntax of a query (mft/query.c): one engine per build, chosen by meson
 * (regex_pcre2.c with PCRE2 and its JIT; regex_none.c where the build has
 * no PCRE2, e.g. the mingw-w64 build: Debian ships no PCRE2 for it). */
#ifndef UFFS_REGEX_H
#define UFFS_REGEX_H

#include <stdbool.h>
#include <stddef.h>

struct uffs_regex;

/* Compiles a UTF-8 pattern; caseless folds case by Unicode's simple case
 * folding (an approximation of the volume's $UpCase). Returns NULL with a
 * message in msg on failure. */
struct uffs_regex *uffs_regex_new(const char *pattern, bool caseless,
				char *msg, size_t msg_cap);
/* Whether s[0, n) (WTF-8; invalid sequences never match a character)
 * contains a match. One thread at a time per regex. */
bool uffs_regex_match(struct uffs_regex *re, const char *s, size_t n);
void uffs_regex_free(struct uffs_regex *re);

#endif
