/* uffs index: saving an index to a file (loading one is cli/saved.c). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../mft/idxfile.h"
#include "../scan/saved.h"
#include "../source/map.h"
#include "cli.h"

/* ---- uffs index ------------------------------------------------------------- */

static const char index_help[] =
	"usage: uffs index [OPTIONS] SOURCE -o FILE\n"
	"\n"
	"Scan SOURCE (every record, deleted ones included) and save its index,\n"
	"with the volume facts, to FILE: a checksummed file that every command\n"
	"takes as a SOURCE, mapped in place without a scan. FILE is written\n"
	"under a temporary name and renamed, so it is never left half written.\n"
	"\n"
	"  -o, --output FILE    the index file to write (replaced if it exists)\n"
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
}

static int save(const struct uffs_loaded *l, const struct cli_common *c,
		const char *out_path)
{
	struct uffs_idxfile_facts f;
	describe(l, c, &f);
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
	int rc = uffs_idxfile_write(&l->idx, &f, write_out, &w, &err);
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

enum { OPT_INDEX_OFFSET = 512 };

int cmd_index(int argc, char **argv)
{
	/* "offset" comes before the common entries, so that getopt takes
	 * this one: -o is the output here. */
	static const struct option longopts[] = {
		{"output", required_argument, 0, 'O'},
		{"offset", required_argument, 0, OPT_INDEX_OFFSET},
		{"help", no_argument, 0, 'h'},
		CLI_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	struct cli_common common = CLI_COMMON_INIT;
	const char *out_path = NULL;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "O:h" CLI_COMMON_SHORTOPTS,
				  longopts, NULL)) != -1) {
		if (opt == 'o' || opt == 'O') {
			out_path = optarg;
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
	if (common.all || optind + 1 != argc || !out_path || !out_path[0]) {
		fputs("uffs index: one SOURCE and -o FILE needed (try 'uffs index --help')\n",
		      stderr);
		return UFFS_EXIT_USAGE;
	}
	const char *src_path = argv[optind];
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
	struct uffs_loaded l;
	int rc = cli_load(&l, src_path, &common, true);
	if (rc)
		return rc;
	rc = save(&l, &common, out_path);
	cli_unload(&l);
	if (rc == UFFS_EXIT_OK && common.warnings)
		rc = UFFS_EXIT_WARNINGS;
	return rc;
}
