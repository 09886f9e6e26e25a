/* walk: every entry the library gives, as tab-separated fields, for
 * tests/e2e/test_api.py to compare with `uffs list`.
 *   walk [--deleted] [--mode MODE] [--progress] [--no-streams] [--vss N]
 *        [--search PATTERN [--case] [--path] [--contains]] SOURCE */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uffs.h>

struct counts {
	unsigned long progress_calls, warnings;
	uint64_t last_done, total;
	int went_back;
};

static void on_progress(void *ctx, const struct uffs_db_progress *p)
{
	struct counts *c = ctx;
	c->progress_calls++;
	if (p->records_done < c->last_done || p->records_done > p->records_total)
		c->went_back = 1;
	c->last_done = p->records_done;
	c->total = p->records_total;
}

static void on_warning(void *ctx, const char *message)
{
	struct counts *c = ctx;
	c->warnings++;
	fprintf(stderr, "warning: %s\n", message);
}

/* Tab, newline and backslash as \t, \n and \\: one entry per line. */
static void put_escaped(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\t')
			fputs("\\t", stdout);
		else if (s[i] == '\n')
			fputs("\\n", stdout);
		else if (s[i] == '\\')
			fputs("\\\\", stdout);
		else
			putchar(s[i]);
	}
}

int main(int argc, char **argv)
{
	struct uffs_db_options o;
	struct counts c = {0};
	uffs_db_options_init(&o);
	o.warning = on_warning;
	o.ctx = &c;
	unsigned flags = UFFS_ITER_STREAMS, search_flags = 0;
	const char *pattern = NULL;
	int i = 1;
	for (; i < argc - 1; i++) {
		if (!strcmp(argv[i], "--deleted")) {
			o.deleted = 1;
			flags |= UFFS_ITER_DELETED;
		} else if (!strcmp(argv[i], "--mode") && i + 1 < argc - 1) {
			o.mode = argv[++i];
		} else if (!strcmp(argv[i], "--vss") && i + 1 < argc - 1) {
			o.vss_store = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--progress")) {
			o.progress = on_progress;
		} else if (!strcmp(argv[i], "--no-streams")) {
			flags &= ~(unsigned)UFFS_ITER_STREAMS;
		} else if (!strcmp(argv[i], "--search") && i + 1 < argc - 1) {
			pattern = argv[++i];
		} else if (!strcmp(argv[i], "--case")) {
			search_flags |= UFFS_SEARCH_CASE;
		} else if (!strcmp(argv[i], "--path")) {
			search_flags |= UFFS_SEARCH_PATH;
		} else if (!strcmp(argv[i], "--contains")) {
			search_flags |= UFFS_SEARCH_CONTAINS;
		} else {
			break;
		}
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: walk [--deleted] [--mode M] [--progress] SOURCE\n");
		return 2;
	}
	uffs_db *db;
	char err[512];
	int rc = uffs_db_open(argv[i], &o, &db, err, sizeof err);
	if (rc != UFFS_OK) {
		fprintf(stderr, "status %d: %s\n", rc, err);
		return 1;
	}
	uffs_iter *it = pattern ? uffs_search_new(db, pattern, search_flags,
						  flags, err, sizeof err)
				: uffs_iter_new(db, flags);
	if (!it) {
		fprintf(stderr, "search: %s\n", err);
		uffs_db_close(db);
		return 1;
	}
	struct uffs_entry e;
	char small[8], *path = malloc(1 << 18);
	while (it && path && uffs_iter_next(it, &e) == 1) {
		size_t need = uffs_entry_path(db, &e, small, sizeof small);
		size_t n = uffs_entry_path(db, &e, path, 1 << 18);
		if (n != need || strlen(path) != n ||
		    (need < sizeof small && strcmp(small, path)) ||
		    (need >= sizeof small && small[0])) {
			fprintf(stderr, "path length disagrees: %zu %zu\n", n, need);
			return 1;
		}
		put_escaped(path, n);
		printf("\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%u\t%u\t%s%s\t",
		       e.frs, e.size, e.allocated, e.links, e.streams,
		       e.flags & UFFS_ENTRY_DIR ? "dir" : "file",
		       e.flags & UFFS_ENTRY_DELETED ? ",deleted" : "");
		put_escaped(e.name, e.name_len);
		printf("\t%u\n", e.sequence);
	}
	uffs_iter_free(it);
	free(path);
	if (o.progress)
		fprintf(stderr, "progress %lu calls, %s, last %" PRIu64 "/%" PRIu64 "\n",
			c.progress_calls, c.went_back ? "went back" : "forward",
			c.last_done, c.total);
	fprintf(stderr, "records %" PRIu64 ", warnings %" PRIu64 "/%lu\n",
		uffs_db_records(db), uffs_db_warnings(db), c.warnings);
	uffs_db_close(db);
	return 0;
}
