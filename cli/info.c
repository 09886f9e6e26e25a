/* uffs info: the facts of each volume. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../source/vss.h"
#include "cli.h"
#include "out.h"

static const char info_help[] =
	"usage: uffs info [OPTIONS] SOURCE...\n"
	"\n"
	"Print what each SOURCE holds: the container (raw volume, disk image\n"
	"partition, captured $MFT), the volume serial number, sector, cluster and\n"
	"record sizes, the $MFT size and extents, and records total / in use.\n"
	"\n"
	"  -s, --scan           also scan every record (counts, damaged records)\n"
	CLI_COMMON_HELP;

static void print_extents(const struct uffs_volume *v)
{
	printf("mft extents:        %zu\n", v->n_ext);
	for (size_t i = 0; i < v->n_ext; i++) {
		const struct uffs_extent *e = &v->ext[i];
		if (e->vol_off == UFFS_SPARSE_OFFSET)
			printf("  mft bytes %" PRIu64 "+%" PRIu64 ": sparse\n",
			       e->mft_off, e->len);
		else
			printf("  mft bytes %" PRIu64 "+%" PRIu64
			       " at volume byte %" PRIu64 "\n",
			       e->mft_off, e->len, e->vol_off);
	}
}

/* The volume's shadow copies, oldest first (a saved index, a captured
 * $MFT and a store itself have none to list). */
static void print_stores(const struct uffs_loaded *l)
{
	if (l->saved || l->src.kind != UFFS_SOURCE_VOLUME ||
	    (l->src.format && !strcmp(l->src.format->format, "VSS")) ||
	    !uffs_vss_available())
		return;
	struct uffs_vss_store *s = calloc(UFFS_VSS_STORES_MAX, sizeof *s);
	struct mft_error err;
	int n = 0;
	if (!s)
		return;
	if (uffs_vss_stores(&l->src, s, UFFS_VSS_STORES_MAX, &n, &err)) {
		char text[512];
		uffs_error_text(&err, NULL, true, text, sizeof text);
		printf("shadow copies:      unreadable (%s)\n", text);
		free(s);
		return;
	}
	printf("shadow copies:      %d\n", n);
	for (int i = 0; i < n; i++) {
		char id[37];
		struct out o;
		uffs_vss_id_text(s[i].id, id);
		printf("  store %d: %s, created ", s[i].number, id);
		fflush(stdout);
		if (out_init(&o, stdout) == 0) {
			out_filetime_iso(&o, s[i].created);
			out_finish(&o);
		}
		printf(", volume size %" PRIu64 "\n", s[i].volume_size);
	}
	free(s);
}

static void print_info(const struct uffs_loaded *l, bool scanned)
{
	const struct uffs_volume *v = &l->vol;
	printf("source:             %s\n", l->src.path);
	if (l->saved)
		cli_saved_info(l);
	printf("container:          %s", l->src.container);
	if (l->src.partition)
		printf(" (partition %d)", l->src.partition);
	printf("\n");
	printf("volume offset:      %" PRIu64 "\n", l->src.base);
	if (v->has_boot) {
		printf("serial number:      %016" PRIX64 "\n", v->boot.serial);
		printf("bytes per sector:   %u\n", v->boot.bytes_per_sector);
		printf("cluster size:       %u\n", v->boot.cluster_size);
		printf("volume size:        %" PRIu64 "\n", v->boot.volume_size);
		printf("mft cluster:        %" PRIu64 "\n", v->boot.mft_lcn);
		printf("mftmirr cluster:    %" PRIu64 "\n", v->boot.mftmirr_lcn);
		if (v->from_mirror)
			printf("note:               $MFT record 0 unusable, read from $MFTMirr\n");
	}
	printf("record size:        %u\n", v->record_size);
	printf("mft size:           %" PRIu64 "\n", v->mft_size);
	printf("records total:      %" PRIu64 "\n", v->n_records);
	if (v->bitmap)
		printf("records in use:     %" PRIu64 " (per $MFT:$BITMAP)\n",
		       uffs_volume_bitmap_count(v));
	print_extents(v);
	print_stores(l);
	if (scanned) {
		uint64_t in_use = 0, files = 0, dirs = 0;
		const struct uffs_index *idx = &l->idx;
		for (uint64_t r = 0; r < idx->n_records; r++) {
			uint16_t f = idx->rflags[r];
			if ((f & UFFS_REC_PRESENT) && (f & UFFS_REC_IN_USE)) {
				in_use++;
				if (f & UFFS_REC_DIR)
					dirs++;
				else
					files++;
			}
		}
		printf("base records in use: %" PRIu64 " (%" PRIu64
		       " files, %" PRIu64 " directories)\n",
		       in_use, files, dirs);
		printf("names:              %" PRIu32 "\n", idx->links.n);
		printf("damaged records:    %" PRIu64 "\n", idx->n_damaged);
	}
}

static void info_source(const struct uffs_loaded *l, int nth, void *ctx)
{
	if (nth > 0)
		printf("\n");
	/* A saved index has its counts at hand. */
	print_info(l, *(const bool *)ctx || l->saved);
}

int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"scan", no_argument, 0, 's'},
		{"help", no_argument, 0, 'h'},
		CLI_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	struct cli_common common = CLI_COMMON_INIT;
	bool scan = false;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "sh" CLI_COMMON_SHORTOPTS,
				  longopts, NULL)) != -1) {
		int rc = cli_common_option(&common, opt, optarg);
		if (rc < 0)
			return UFFS_EXIT_USAGE;
		if (rc > 0)
			continue;
		if (opt == 's') {
			scan = true;
		} else if (opt == 'h') {
			fputs(info_help, stdout);
			return UFFS_EXIT_OK;
		} else {
			fputs("try 'uffs info --help'\n", stderr);
			return UFFS_EXIT_USAGE;
		}
	}
	if (optind >= argc && !common.all) {
		fputs("uffs info: no SOURCE given (try 'uffs info --help')\n", stderr);
		return UFFS_EXIT_USAGE;
	}
	return cli_for_each_source(argv + optind, argc - optind, &common, scan,
				   info_source, &scan);
}
