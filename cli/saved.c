/* A saved index as a SOURCE of any command: recognised, mapped and checked
 * (scan/saved.c), its warnings told, and what `uffs info` says of it. The
 * `index` command that writes one is cli/index.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../scan/saved.h"
#include "cli.h"
#include "out.h"

/* ---- loading ---------------------------------------------------------------- */

bool cli_saved_is(const char *path)
{
	return uffs_saved_is(path);
}

static void note_warnings(const char *path, struct cli_common *c,
			  uint64_t warnings)
{
	if (!warnings)
		return;
	pthread_mutex_lock(&c->lock);
	c->warnings++;
	if (!c->quiet)
		fprintf(stderr,
			"uffs: warning: %s: the scan that made this index gave %" PRIu64
			" warning(s) (damaged records skipped)\n",
			path, warnings);
	pthread_mutex_unlock(&c->lock);
}

int cli_saved_load(struct loaded *l, const char *path, struct cli_common *c,
		   bool tree)
{
	if (c->need_source) {
		fprintf(stderr,
			"uffs: %s: a saved index; this command needs an NTFS source (an image, device or $MFT file)\n",
			path);
		return UFFS_EXIT_ERROR;
	}
	struct uffs_saved *s = calloc(1, sizeof *s);
	if (!s) {
		fputs("uffs: out of memory\n", stderr);
		return UFFS_EXIT_ERROR;
	}
	struct mft_error err = {0};
	if (uffs_saved_open(s, path, c->scan.skip_unused, c->scan.chunk_bytes,
			    c->scan.keep_fn_times, &l->src, &l->vol, &l->idx,
			    &l->upcase, &err)) {
		cli_error(path, &err, NULL);
		free(s);
		return UFFS_EXIT_ERROR;
	}
	l->saved = s;
	if (tree && uffs_tree_build(&l->tree, &l->idx, &err)) {
		cli_error(path, &err, NULL);
		cli_saved_unload(l);
		return UFFS_EXIT_ERROR;
	}
	if (c->verbose)
		fprintf(stderr, "uffs: %s: saved index of %s, %" PRIu64 " records\n",
			path, s->source_path, l->idx.n_records);
	note_warnings(path, c, s->facts.warnings);
	return 0;
}

void cli_saved_unload(struct loaded *l)
{
	struct uffs_saved *s = l->saved;
	if (!s)
		return;
	if (l->tree.state)
		uffs_tree_free(&l->tree);
	uffs_saved_close(s);
	free(s);
	l->saved = NULL;
}

/* ---- info ------------------------------------------------------------------- */

void cli_saved_info(const struct loaded *l)
{
	const struct uffs_saved *s = l->saved;
	uint64_t t = s->facts.indexed_at;
	int64_t y;
	unsigned mo, d;
	out_civil_from_days((int64_t)(t / 86400 % 1000000000), &y, &mo, &d);
	unsigned sec = (unsigned)(t % 86400);
	printf("saved index of:     %s\n", s->source_path);
	printf("indexed at:         %04" PRId64 "-%02u-%02uT%02u:%02u:%02uZ\n", y,
	       mo, d, sec / 3600, sec / 60 % 60, sec % 60);
	printf("scan warnings:      %" PRIu64 "\n", s->facts.warnings);
	printf("upcase table:       %s\n", s->facts.upcase ? "saved" : "none");
	if (l->src.file.volume_prefix[0])
		printf("paths as:           %s\\\n", l->src.file.volume_prefix);
}
