/* uffs index: saving an index to a file (loading one is cli/saved.c). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../mft/idxfile.h"
#include "../scan/journal.h"
#include "../scan/saved.h"
#include "../scan/update.h"
#include "../source/map.h"
#include "cli.h"

/* ---- uffs index ------------------------------------------------------------- */

static const char index_help[] =
	"usage: uffs index [OPTIONS] SOURCE -o FILE\n"
	"Scan SOURCE (every record, deleted ones included) and save its index,\n"
	"with the volume facts, to FILE: a checksummed file that every command\n"
	"takes as a SOURCE, mapped in place without a scan. FILE is written\n"
	"under a temporary name and renamed, so it is never left half written.\n"
	"\n"
	"       uffs index [OPTIONS] --update FILE SOURCE [-o OUT]\n"
	"\n"
	"With --update, bring FILE (an index of SOURCE's volume) up to date\n"
	"from the volume's change journal ($Extend/$UsnJrnl): only the MFT\n"
	"records the journal names since the index was made (and the system\n"
	"records) are read again; the rest is copied. When the journal cannot\n"
	"say what changed (none when the index was made, recreated since, or\n"
	"trimmed past the index's position), SOURCE is scanned instead, and the\n"
	"message says why. The result is written to OUT, else over FILE.\n"
	"\n"
	"  -o, --output FILE    the index file to write (replaced if it exists)\n"
	"      --update FILE    update this index instead of making a new one\n"
	"      --offset BYTES   the NTFS volume starts at this byte offset\n"
	"                       (the -o of other commands)\n";

/* The common options' help, without its "-o, --offset" line: -o is the
 * output here. */
static void print_help(void)
{
	fputs(index_help, stdout);
	const char *common = CLI_COMMON_HELP;
	while (*common) {
		size_t n = strcspn(common, "\n") + 1;
		if (strncmp(common, "  -o, --offset", 14) != 0)
			fwrite(common, 1, n, stdout);
		common += n;
	}
}

struct writer {
	struct uffs_outfile out;
	int os_error;
};

static int write_out(void *ctx, const void *p, size_t n)
{
	struct writer *w = ctx;
	return uffs_outfile_write(&w->out, p, n, &w->os_error);
}

/* The extents as the file stores them: (mft offset, volume offset,
 * length) triples. */
static uint64_t *extent_triples(const struct uffs_volume *v)
{
	uint64_t *t = malloc((v->n_ext * 3 + 1) * sizeof *t);
	for (size_t i = 0; t && i < v->n_ext; i++) {
		t[3 * i] = v->ext[i].mft_off;
		t[3 * i + 1] = v->ext[i].vol_off;
		t[3 * i + 2] = v->ext[i].len;
	}
	return t;
}

static void describe(const struct uffs_loaded *l, const struct cli_common *c,
		     struct uffs_idxfile_facts *f)
{
	const struct uffs_volume *v = &l->vol;
	*f = (struct uffs_idxfile_facts){0};
	f->indexed_at = (uint64_t)time(NULL);
	f->warnings = c->warnings;
	f->base = l->src.base;
	f->partition = l->src.partition;
	f->has_boot = v->has_boot;
	f->from_mirror = v->from_mirror;
	f->bytes_per_sector = v->boot.bytes_per_sector;
	f->cluster_size = v->boot.cluster_size;
	f->volume_size = v->boot.volume_size;
	f->mft_lcn = v->boot.mft_lcn;
	f->mftmirr_lcn = v->boot.mftmirr_lcn;
	f->serial = v->boot.serial;
	f->mft_size = v->mft_size;
	f->vol_records = v->n_records;
	memcpy(f->volume_prefix, l->src.file.volume_prefix, 4);
	f->volume_prefix[3] = '\0';
	/* Re-saving a saved index keeps what it was made from. */
	f->source_path = l->saved ? l->saved->source_path : l->src.path;
	f->source_path_len = strlen(f->source_path);
	f->container = l->src.container ? l->src.container : "";
	f->container_len = strlen(f->container);
	f->n_extents = v->n_ext;
	f->bitmap = v->bitmap;
	f->bitmap_len = v->bitmap ? v->bitmap_len : 0;
	f->upcase = l->upcase;
	if (l->saved) {
		f->has_journal = l->saved->facts.has_journal;
		f->journal_id = l->saved->facts.journal_id;
		f->journal_next_usn = l->saved->facts.journal_next_usn;
	}
}

/* Where the volume's journal stands now, for the next --update; nothing
 * when it has none (or no $Max to tell one journal from the next). */
static void note_journal(const struct uffs_loaded *l, struct uffs_idxfile_facts *f)
{
	if (l->saved || !l->vol.has_boot)
		return;
	uint64_t frs = uffs_journal_find(&l->idx);
	struct uffs_journal j;
	struct mft_error ignored;
	if (frs == UFFS_JOURNAL_NONE || uffs_journal_open(&l->vol, frs, &j, &ignored))
		return;
	f->has_journal = j.has_max;
	f->journal_id = j.id;
	f->journal_next_usn = j.next_usn;
	uffs_journal_close(&j);
}

/* Writes idx with the facts of l's volume (and f's journal position). */
static int save_index(const struct uffs_loaded *l, const struct uffs_index *idx,
		      struct uffs_idxfile_facts f, const char *out_path)
{
	uint64_t *triples = extent_triples(&l->vol);
	if (!triples) {
		fputs("uffs: out of memory\n", stderr);
		return UFFS_EXIT_ERROR;
	}
	f.extents = triples;
	struct writer w = {.os_error = 0};
	if (uffs_outfile_open(&w.out, out_path, &w.os_error)) {
		fprintf(stderr, "uffs: %s: cannot create (%s)\n", out_path,
			uffs_file_strerror(w.os_error));
		free(triples);
		return UFFS_EXIT_ERROR;
	}
	struct mft_error err = {0};
	int rc = uffs_idxfile_write(idx, &f, write_out, &w, &err);
	free(triples);
	if (rc) {
		uffs_outfile_abort(&w.out);
		if (rc == MFT_E_IO)
			fprintf(stderr, "uffs: %s: cannot write (%s)\n", out_path,
				uffs_file_strerror(w.os_error));
		else
			cli_error(out_path, &err, NULL);
		return UFFS_EXIT_ERROR;
	}
	if (uffs_outfile_commit(&w.out, &w.os_error)) {
		fprintf(stderr, "uffs: %s: cannot write (%s)\n", out_path,
			uffs_file_strerror(w.os_error));
		return UFFS_EXIT_ERROR;
	}
	return UFFS_EXIT_OK;
}

static int save(const struct uffs_loaded *l, const struct cli_common *c,
		const char *out_path)
{
	struct uffs_idxfile_facts f;
	describe(l, c, &f);
	note_journal(l, &f);
	return save_index(l, &l->idx, f, out_path);
}

/* ---- uffs index --update ------------------------------------------------------ */

struct update_warn {
	const char *source;
	const struct uffs_volume *vol;
	struct cli_common *c;
};

static void tell_update_warning(void *ctx, const struct mft_error *e)
{
	struct update_warn *w = ctx;
	w->c->warnings++;
	if (w->c->quiet)
		return;
	char text[512];
	uffs_error_text(e, w->vol, true, text, sizeof text);
	fprintf(stderr, "uffs: warning: %s: %s\n", w->source, text);
}

/* The index at idx_path, mapped; an error unless it is a saved index. */
static int load_saved(struct uffs_loaded *old, const char *idx_path)
{
	struct cli_common oc = CLI_COMMON_INIT;
	oc.quiet = true;
	int rc = cli_load(old, idx_path, &oc, true);
	if (rc == UFFS_EXIT_OK && !old->saved) {
		cli_unload(old);
		fprintf(stderr, "uffs: %s: not an index file (made by uffs index)\n",
			idx_path);
		rc = UFFS_EXIT_USAGE;
	}
	return rc;
}

static int rescan(const char *idx_path, const char *src_path,
		  struct cli_common *c, const char *out_path, const char *why)
{
	struct uffs_loaded l;
	int rc = cli_load(&l, src_path, c, true);
	if (rc)
		return rc;
	rc = save(&l, c, out_path);
	cli_unload(&l);
	if (rc == UFFS_EXIT_OK && !c->quiet)
		fprintf(stderr, "uffs: %s: rescanned: %s\n", idx_path, why);
	return rc;
}

static int update(const char *idx_path, const char *src_path,
		  struct cli_common *c, const char *out_path)
{
	struct uffs_loaded old, cur;
	int rc = load_saved(&old, idx_path);
	if (rc)
		return rc;
	c->need_source = true;
	rc = cli_load(&cur, src_path, c, false);
	if (rc) {
		cli_unload(&old);
		return rc;
	}
	struct update_warn w = {src_path, &cur.vol, c};
	struct uffs_warn_sink sink = {tell_update_warning, &w};
	struct uffs_update_result res;
	struct uffs_index idx;
	struct mft_error err;
	rc = uffs_update(&old.idx, &old.saved->facts, &cur.vol, &sink, &idx,
			 &res, &err);
	/* The saved file is no longer needed, and may be the one replaced. */
	cli_unload(&old);
	if (rc) {
		cli_unload(&cur);
		cli_error(src_path, &err, NULL);
		return UFFS_EXIT_ERROR;
	}
	if (res.rescan_why[0]) {
		cli_unload(&cur);
		return rescan(idx_path, src_path, c, out_path, res.rescan_why);
	}
	struct uffs_idxfile_facts f;
	describe(&cur, c, &f);
	f.has_journal = true;
	f.journal_id = res.journal_id;
	f.journal_next_usn = res.next_usn;
	rc = save_index(&cur, &idx, f, out_path);
	uffs_index_free(&idx);
	cli_unload(&cur);
	if (rc == UFFS_EXIT_OK && !c->quiet)
		fprintf(stderr,
			"uffs: %s: updated from the change journal: %" PRIu64
			" records since USN %" PRIu64 ", %" PRIu64
			" MFT records read again\n",
			idx_path, res.records, res.from_usn, res.reread);
	return rc;
}

enum { OPT_INDEX_OFFSET = 512, OPT_UPDATE };

int cmd_index(int argc, char **argv)
{
	/* "offset" comes before the common entries, so that getopt takes
	 * this one: -o is the output here. */
	static const struct option longopts[] = {
		{"output", required_argument, 0, 'O'},
		{"offset", required_argument, 0, OPT_INDEX_OFFSET},
		{"update", required_argument, 0, OPT_UPDATE},
		{"help", no_argument, 0, 'h'},
		CLI_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	struct cli_common common = CLI_COMMON_INIT;
	const char *out_path = NULL, *update_path = NULL;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "O:h" CLI_COMMON_SHORTOPTS,
				  longopts, NULL)) != -1) {
		if (opt == 'o' || opt == 'O') {
			out_path = optarg;
			continue;
		}
		if (opt == OPT_UPDATE) {
			update_path = optarg;
			continue;
		}
		if (opt == OPT_INDEX_OFFSET)
			opt = 'o';
		int rc = cli_common_option(&common, opt, optarg);
		if (rc < 0)
			return UFFS_EXIT_USAGE;
		if (rc > 0)
			continue;
		if (opt == 'h') {
			print_help();
			return UFFS_EXIT_OK;
		}
		fputs("try 'uffs index --help'\n", stderr);
		return UFFS_EXIT_USAGE;
	}
	if (update_path && !out_path)
		out_path = update_path;
	if (common.all || optind + 1 != argc || !out_path || !out_path[0]) {
		fputs("uffs index: one SOURCE and -o FILE needed (try 'uffs index --help')\n",
		      stderr);
		return UFFS_EXIT_USAGE;
	}
	const char *src_path = argv[optind];
	if (!uffs_outfile_replaceable(out_path)) {
		fprintf(stderr, "uffs: %s: not a regular file (the index is written under a temporary name, then renamed over it)\n",
			out_path);
		return UFFS_EXIT_USAGE;
	}
	if (uffs_same_file(src_path, out_path)) {
		fprintf(stderr, "uffs: %s: is the SOURCE itself; not writing over it\n",
			out_path);
		return UFFS_EXIT_USAGE;
	}
	/* Everything goes in: deleted records (list --deleted) and the
	 * $FILE_NAME times (the body file). */
	common.scan.skip_unused = false;
	common.scan.keep_fn_times = true;
	/* And the volume's $UpCase, so that search folds case as it would
	 * on the volume. */
	common.want_upcase = true;
	int rc;
	if (update_path) {
		rc = update(update_path, src_path, &common, out_path);
	} else {
		struct uffs_loaded l;
		rc = cli_load(&l, src_path, &common, true);
		if (rc)
			return rc;
		rc = save(&l, &common, out_path);
		cli_unload(&l);
	}
	if (rc == UFFS_EXIT_OK && common.warnings)
		rc = UFFS_EXIT_WARNINGS;
	return rc;
}
