/* Opening, mapping and scanning one source, with the messages for each
 * failure. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/ntfs_format.h"
#include "../mft/upcase.h"
#include "../source/proc.h"
#include "../source/vss.h"
#include "cli.h"
#include "progress.h"

struct warn_ctx {
	const char *source;
	struct cli_common *c;
	const struct uffs_volume *vol;
};

static void print_warning(void *ctx, const struct mft_error *e)
{
	struct warn_ctx *w = ctx;
	pthread_mutex_lock(&w->c->lock);
	w->c->warnings++;
	if (!w->c->quiet) {
		cli_progress_clear_locked(w->c);
		char text[512];
		uffs_error_text(e, w->vol, false, text, sizeof text);
		fprintf(stderr, "uffs: warning: %s: %s\n", w->source, text);
	}
	pthread_mutex_unlock(&w->c->lock);
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return false;
	*v = x;
	return true;
}

/* "64K", "1M", "4194304". */
static bool parse_size(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return false;
	if (*end == 'K' || *end == 'k')
		x <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		x <<= 20, end++;
	if (*end)
		return false;
	*v = x;
	return true;
}

static int scan_option(struct cli_common *c, int opt, const char *arg)
{
	uint64_t v;
	struct uffs_scan_opts *s = &c->scan;
	switch (opt) {
	case 'm': {
		int m = uffs_mode_parse(arg);
		if (m < 0) {
			fprintf(stderr, "uffs: unknown mode '%s' (auto, streaming, prefetch, pipelined, pipelined-parallel, parallel, async)\n", arg);
			return -1;
		}
		s->mode = (enum uffs_mode)m;
		return 1;
	}
	case 'b':
		s->backend = uaio_backend_by_name(arg);
		if (!s->backend) {
			fprintf(stderr, "uffs: unknown backend '%s' (this build has:", arg);
			for (const struct uaio_backend_ops *const *b = uaio_backends(); *b; b++)
				fprintf(stderr, " %s", (*b)->name);
			fprintf(stderr, ")\n");
			return -1;
		}
		return 1;
	case 't':
		if (!parse_u64(arg, &v) || v == 0 || v > 64)
			goto bad;
		s->threads = (unsigned)v;
		return 1;
	case OPT_DEPTH:
		if (strcmp(arg, "auto") == 0) {
			s->depth_auto = true;
			return 1;
		}
		if (!parse_u64(arg, &v) || v == 0 || v > UFFS_DEPTH_MAX)
			goto bad;
		s->depth = (unsigned)v;
		return 1;
	case OPT_CHUNK:
		if (!parse_size(arg, &v) || v < 4096 || v > (256u << 20))
			goto bad;
		s->chunk_bytes = (uint32_t)v;
		return 1;
	case OPT_DIRECT:
		c->src.direct = true;
		return 1;
	case OPT_ALL:
		c->all = true;
		return 1;
	case OPT_MAX_VOLUMES:
		if (!parse_u64(arg, &v) || v == 0 || v > 64)
			goto bad;
		c->max_volumes = (unsigned)v;
		return 1;
	case OPT_FAULT_SHRINK:
		if (!parse_size(arg, &v) || v == 0)
			goto bad;
		s->fault.fault_shrink_at = v;
		return 1;
	case OPT_FAULT_LATENCY: /* microseconds per batch of completions */
		if (!parse_u64(arg, &v) || v > 10000000)
			goto bad;
		s->fault.fault_latency_us = (unsigned)v;
		return 1;
	case OPT_FAULT_SEED:
		if (!parse_u64(arg, &v))
			goto bad;
		s->fault.seed = v;
		return 1;
	case OPT_FAULT_SHORT:
	case OPT_FAULT_ERROR:
	case OPT_FAULT_DELAY:
		if (!parse_u64(arg, &v) || v > 100)
			goto bad;
		if (opt == OPT_FAULT_SHORT)
			s->fault.fault_short_pct = (unsigned)v;
		else if (opt == OPT_FAULT_ERROR)
			s->fault.fault_error_pct = (unsigned)v;
		else
			s->fault.fault_delay_pct = (unsigned)v;
		return 1;
	default:
		return 0;
	}
bad:
	fprintf(stderr, "uffs: invalid value '%s' for --%s\n", arg,
		opt == 't' ? "threads" : opt == OPT_DEPTH ? "depth"
		: opt == OPT_CHUNK ? "chunk (4K..256M)"
		: opt == OPT_MAX_VOLUMES ? "max-volumes" : "fault option");
	return -1;
}

int cli_common_option(struct cli_common *c, int opt, const char *arg)
{
	uint64_t v;
	int rc = scan_option(c, opt, arg);
	if (rc)
		return rc;
	switch (opt) {
	case 'p':
		if (!parse_u64(arg, &v) || v == 0 || v > 4096)
			goto bad;
		c->src.partition = (int)v;
		return 1;
	case 'o':
		if (!parse_u64(arg, &v) || v > INT64_MAX)
			goto bad;
		c->src.offset = (int64_t)v;
		return 1;
	case 'r':
		if (!parse_u64(arg, &v) || v < 512 || v > 4096 || (v & (v - 1)))
			goto bad;
		c->src.record_size = (uint32_t)v;
		return 1;
	case OPT_VSS:
		if (!strcmp(arg, "all")) {
			c->vss_all = true;
			return 1;
		}
		if (!parse_u64(arg, &v) || v == 0 || v > UFFS_VSS_STORES_MAX) {
			fprintf(stderr, "uffs: invalid value '%s' for --vss (a store number from 1, or all)\n",
				arg);
			return -1;
		}
		c->src.vss_store = (int)v;
		return 1;
	case 'q':
		c->quiet = true;
		return 1;
	case 'v':
		c->verbose = true;
		c->scan.verbose = true;
		return 1;
	default:
		return 0;
	}
bad:
	fprintf(stderr, "uffs: invalid value '%s' for -%c\n", arg, opt);
	return -1;
}

/* The volume's own $UpCase (record 10's unnamed $DATA). A source without
 * one, or with a damaged one (a warning), leaves l->upcase NULL: callers
 * then use the built-in table. */
static void load_upcase(struct loaded *l, const char *path,
			struct cli_common *c, const struct uffs_warn_sink *sink)
{
	struct mft_error err = {0};
	uint16_t *table = malloc(UFFS_UPCASE_BYTES);
	int rc = table ? uffs_volume_read_upcase(&l->vol, table, &err)
		       : mft_fail(&err, MFT_E_NOMEM, MFT_NO_FRS, 0,
				  "out of memory");
	if (rc == MFT_OK) {
		l->upcase = l->upcase_owned = table;
		if (c->verbose)
			fprintf(stderr, "uffs: %s: case folds through the volume's $UpCase\n",
				path);
		return;
	}
	free(table);
	if (rc != MFT_E_USAGE) /* damage; a captured $MFT just has none */
		sink->warn(sink->ctx, &err);
	else if (c->verbose)
		fprintf(stderr, "uffs: %s: a captured $MFT has no $UpCase: the built-in table folds case\n",
			path);
}

static int load_store(struct loaded *l, const char *path,
		      struct cli_common *c, bool scan, int store)
{
	struct mft_error err = {0};
	memset(l, 0, sizeof *l);
	l->store = store >= 0 ? store : c->src.vss_store;
	l->tag_store = c->vss_all;
	if (cli_saved_is(path))
		return cli_saved_load(l, path, c, scan);
	struct uffs_source_opts so = c->src;
	if (store >= 0)
		so.vss_store = store;
	int rc = uffs_source_open(&l->src, path, &so, &err);
	if (rc) {
		cli_error(path, &err, NULL);
		return rc == MFT_E_USAGE ? UFFS_EXIT_USAGE : UFFS_EXIT_ERROR;
	}
	struct warn_ctx w = {path, c, NULL};
	struct uffs_warn_sink sink = {print_warning, &w};
	rc = uffs_volume_open(&l->vol, &l->src, &sink, &err);
	if (rc) {
		cli_error(path, &err, NULL);
		uffs_source_close(&l->src);
		return UFFS_EXIT_ERROR;
	}
	w.vol = &l->vol;
	if (c->verbose)
		fprintf(stderr,
			"uffs: %s: %s, %" PRIu64 " records of %u bytes in %zu extents\n",
			path, l->src.container, l->vol.n_records,
			l->vol.record_size, l->vol.n_ext);
	if (c->want_upcase)
		load_upcase(l, path, c, &sink);
	if (!scan)
		return 0;
	struct uffs_scan_opts opts = c->scan;
	struct cli_progress progress;
	cli_progress_start(&progress, c, path, &opts);
	rc = uffs_scan(&l->vol, &opts, &l->idx, &l->stats, &sink, &err);
	cli_progress_end(&progress);
	if (rc == MFT_OK)
		rc = uffs_tree_build(&l->tree, &l->idx, &err);
	if (rc) {
		cli_error(path, &err, &l->vol);
		free(l->upcase_owned);
		l->upcase = l->upcase_owned = NULL;
		uffs_volume_close(&l->vol);
		uffs_source_close(&l->src);
		return UFFS_EXIT_ERROR;
	}
	l->scanned = true;
	uffs_warn_parent_loops(&l->tree, &sink);
	return 0;
}

void cli_store_tag(const struct loaded *l, char *buf, size_t cap)
{
	if (!l->tag_store)
		snprintf(buf, cap, "%s", "");
	else if (l->store > 0)
		snprintf(buf, cap, "vss%d:", l->store);
	else
		snprintf(buf, cap, "current:");
}

int cli_load(struct loaded *l, const char *path, struct cli_common *c,
	     bool scan)
{
	return load_store(l, path, c, scan, -1);
}

#define MAX_VOLUMES_DEFAULT 4

/* One source loading on its own thread. */
struct source_job {
	const char *path;
	int store; /* --vss all: 0 for the volume, N for store N; else -1 */
	struct cli_common *c;
	bool scan;
	struct loaded *l;
	int rc;
	pthread_t tid;
	bool started;
};

static void *load_job(void *arg)
{
	struct source_job *j = arg;
	j->rc = load_store(j->l, j->path, j->c, j->scan, j->store);
	return NULL;
}

static void start_job(struct source_job *j)
{
	j->l = malloc(sizeof *j->l);
	j->rc = UFFS_EXIT_ERROR;
	if (!j->l) {
		fputs("uffs: out of memory\n", stderr);
		return;
	}
	j->started = pthread_create(&j->tid, NULL, load_job, j) == 0;
	if (!j->started)
		load_job(j); /* no thread to be had: load here */
}

static int finish_job(struct source_job *j, int nth,
		      void (*use)(const struct loaded *l, int nth, void *ctx),
		      void *ctx)
{
	if (j->started)
		pthread_join(j->tid, NULL);
	if (j->l && j->rc == 0) {
		use(j->l, nth, ctx);
		cli_unload(j->l);
	}
	free(j->l);
	return j->rc;
}

/* How many shadow-copy stores the volume at `path` has (0 for sources
 * that cannot have any), or -1 after printing why not. */
static int count_stores(const char *path, struct cli_common *c)
{
	if (cli_saved_is(path))
		return 0;
	struct uffs_source src;
	struct mft_error err = {0};
	struct uffs_source_opts so = c->src;
	so.vss_store = 0;
	if (uffs_source_open(&src, path, &so, &err)) {
		cli_error(path, &err, NULL);
		return -1;
	}
	int n = 0;
	if (src.kind == UFFS_SOURCE_VOLUME) {
		struct uffs_vss_store *s = calloc(UFFS_VSS_STORES_MAX, sizeof *s);
		if (!s || uffs_vss_stores(&src, s, UFFS_VSS_STORES_MAX, &n, &err)) {
			if (s)
				cli_error(path, &err, NULL);
			n = -1;
		}
		free(s);
	}
	uffs_source_close(&src);
	return n;
}

/* --vss all: each source, then each of its stores, oldest first. Returns
 * the number of jobs (*jobs NULL and -1 when a source failed: *status
 * says how). */
static int expand_stores(char **paths, int n, struct cli_common *c, bool scan,
			 struct source_job **jobs, int *status)
{
	int total = 0;
	int *stores = calloc((size_t)n + 1, sizeof *stores);
	*jobs = NULL;
	if (!stores)
		return 0;
	for (int i = 0; i < n; i++) {
		stores[i] = count_stores(paths[i], c);
		if (stores[i] < 0) {
			*status = UFFS_EXIT_ERROR;
			free(stores);
			return -1;
		}
		total += 1 + stores[i];
	}
	*jobs = calloc((size_t)total, sizeof **jobs);
	for (int i = 0, k = 0; *jobs && i < n; i++)
		for (int s = 0; s <= stores[i]; s++)
			(*jobs)[k++] = (struct source_job){paths[i], s, c, scan};
	free(stores);
	return total;
}

/* Several sources load at once, at most max_volumes, each with its own
 * pipeline; results are used in argument order. One source loads on the
 * calling thread. */
int cli_for_each_source(char **paths, int n, struct cli_common *c, bool scan,
			void (*use)(const struct loaded *l, int nth, void *ctx),
			void *ctx)
{
	int status = UFFS_EXIT_OK;
	unsigned window = c->max_volumes ? c->max_volumes : MAX_VOLUMES_DEFAULT;
	char drives[26][4];
	char *drive_paths[26];
	if (c->all) {
		if (n > 0) {
			fputs("uffs: --all takes no SOURCE\n", stderr);
			return UFFS_EXIT_USAGE;
		}
		n = uffs_ntfs_volumes(drives, 26);
		if (n < 0) {
			fputs("uffs: --all lists the NTFS volumes of a Windows machine; name the sources here\n",
			      stderr);
			return UFFS_EXIT_USAGE;
		}
		if (n == 0) {
			fputs("uffs: no NTFS volume found\n", stderr);
			return UFFS_EXIT_ERROR;
		}
		for (int i = 0; i < n; i++)
			drive_paths[i] = drives[i];
		paths = drive_paths;
	}
	struct source_job *jobs = NULL;
	if (c->vss_all) {
		n = expand_stores(paths, n, c, scan, &jobs, &status);
	} else {
		jobs = calloc((size_t)n, sizeof *jobs);
		for (int i = 0; jobs && i < n; i++)
			jobs[i] = (struct source_job){paths[i], -1, c, scan};
	}
	if (!jobs) {
		if (n >= 0)
			fputs("uffs: out of memory\n", stderr);
		return status ? status : UFFS_EXIT_ERROR;
	}
	if (n == 1 || window == 1) {
		for (int i = 0; i < n; i++) {
			jobs[i].l = malloc(sizeof *jobs[i].l);
			jobs[i].rc = jobs[i].l ? load_store(jobs[i].l, jobs[i].path,
							    c, scan, jobs[i].store)
					       : UFFS_EXIT_ERROR;
			int rc = finish_job(&jobs[i], i, use, ctx);
			if (rc)
				status = rc;
		}
	} else {
		int started = 0;
		for (; started < n && (unsigned)started < window; started++)
			start_job(&jobs[started]);
		for (int i = 0; i < n; i++) {
			int rc = finish_job(&jobs[i], i, use, ctx);
			if (rc)
				status = rc;
			if (started < n)
				start_job(&jobs[started++]);
		}
	}
	free(jobs);
	if (status == UFFS_EXIT_OK && c->warnings)
		status = UFFS_EXIT_WARNINGS;
	return status;
}

void cli_unload(struct loaded *l)
{
	free(l->upcase_owned);
	l->upcase = l->upcase_owned = NULL;
	if (l->saved) {
		cli_saved_unload(l);
		return;
	}
	if (l->scanned) {
		uffs_tree_free(&l->tree);
		uffs_index_free(&l->idx);
	}
	uffs_volume_close(&l->vol);
	uffs_source_close(&l->src);
}
