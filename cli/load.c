/* The common options, and sources loaded (scan/load.c) with the command's
 * messages: warnings and errors on stderr, the progress line, --verbose
 * notes, and exit statuses. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mft/ntfs_format.h"
#include "../source/proc.h"
#include "../scan/load.h"
#include "../source/vss.h"
#include "cli.h"
#include "progress.h"

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

/* ---- loading ------------------------------------------------------------- */

/* What the loader tells of one source, told the command's way. */
struct teller {
	const char *source;
	struct cli_common *c;
	struct cli_progress progress;
};

static void tell_progress(void *ctx, const struct uffs_progress *p)
{
	struct teller *t = ctx;
	cli_progress_update(&t->progress, p);
}

static void tell_warning(void *ctx, const char *text)
{
	struct teller *t = ctx;
	struct cli_common *c = t->c;
	pthread_mutex_lock(&c->lock);
	c->warnings++;
	if (!c->quiet) {
		cli_progress_clear_locked(c);
		fprintf(stderr, "uffs: warning: %s: %s\n", t->source, text);
	}
	pthread_mutex_unlock(&c->lock);
}

static void tell_note(void *ctx, const char *text)
{
	struct teller *t = ctx;
	pthread_mutex_lock(&t->c->lock);
	cli_progress_clear_locked(t->c);
	fprintf(stderr, "uffs: %s: %s\n", t->source, text);
	pthread_mutex_unlock(&t->c->lock);
}

static struct uffs_load_opts load_opts(struct cli_common *c, bool scan)
{
	return (struct uffs_load_opts){
		.src = c->src,
		.scan = c->scan,
		.index = scan,
		.upcase = c->want_upcase,
		.refuse_saved = c->need_source,
		.warning = tell_warning,
		.note = c->verbose ? tell_note : NULL,
		.progress = tell_progress,
	};
}

static int exit_status(int rc)
{
	return rc == MFT_E_USAGE ? UFFS_EXIT_USAGE : UFFS_EXIT_ERROR;
}

static void print_failure(const char *source, const char *why)
{
	fprintf(stderr, "uffs: %s: %s\n", source, why);
}

/* One source on its own: the engine's progress shown as a line. */
static int load_one(struct uffs_loaded *l, const char *path,
		    struct cli_common *c, bool scan, int store)
{
	struct teller t = {path, c, {0}};
	struct uffs_load_opts o = load_opts(c, scan);
	o.ctx = &t;
	if (store >= 0)
		o.src.vss_store = store;
	cli_progress_start(&t.progress, c, path);
	char why[512];
	int rc = uffs_load(l, path, &o, why, sizeof why);
	cli_progress_end(&t.progress);
	l->tag_store = c->vss_all;
	if (rc && c->failure_hint) {
		size_t n = strlen(why);
		snprintf(why + n, sizeof why - n, "; %s", c->failure_hint);
	}
	if (rc)
		print_failure(path, why);
	return rc ? exit_status(rc) : 0;
}

int cli_load(struct uffs_loaded *l, const char *path, struct cli_common *c,
	     bool scan)
{
	return load_one(l, path, c, scan, -1);
}

int cli_refresh(struct uffs_loaded *l, const char *path, struct cli_common *c,
		const uint64_t *frs, size_t n,
		struct uffs_update_counts *counts)
{
	struct teller t = {path, c, {0}};
	struct uffs_load_opts o = load_opts(c, true);
	o.ctx = &t;
	char why[512];
	int rc = uffs_load_refresh(l, frs, n, &o, counts, why, sizeof why);
	if (rc)
		print_failure(path, why);
	return rc ? exit_status(rc) : 0;
}

void cli_unload(struct uffs_loaded *l)
{
	uffs_unload(l);
}

char cli_path_separator(const struct uffs_loaded *l)
{
	return l->src.file.volume_prefix[0] ? '\\' : '/';
}

void cli_store_tag(const struct uffs_loaded *l, char *buf, size_t cap)
{
	if (!l->tag_store)
		snprintf(buf, cap, "%s", "");
	else if (l->store > 0)
		snprintf(buf, cap, "vss%d:", l->store);
	else
		snprintf(buf, cap, "current:");
}

#define MAX_VOLUMES_DEFAULT 4

/* --vss all: each source, then each of its stores, oldest first. Returns
 * the number of jobs, or -1 after printing why a source has none to give. */
static int expand_stores(char **paths, int n, struct cli_common *c,
			 struct uffs_load_job **jobs)
{
	int total = 0;
	int *stores = calloc((size_t)n + 1, sizeof *stores);
	*jobs = NULL;
	if (!stores)
		return 0;
	for (int i = 0; i < n; i++) {
		char why[512];
		if (uffs_load_count_stores(paths[i], &c->src, &stores[i], why,
					   sizeof why)) {
			print_failure(paths[i], why);
			free(stores);
			return -1;
		}
		total += 1 + stores[i];
	}
	*jobs = calloc((size_t)total, sizeof **jobs);
	for (int i = 0, k = 0; *jobs && i < n; i++)
		for (int s = 0; s <= stores[i]; s++)
			(*jobs)[k++] = (struct uffs_load_job){paths[i], s, NULL};
	free(stores);
	return total;
}

/* Several sources at once: each one's messages and progress come from
 * its own thread, tagged with its name; results are used in order. */
struct many {
	struct cli_common *c;
	struct teller *tellers;
	void (*use)(const struct uffs_loaded *l, int nth, void *ctx);
	void *ctx;
	int status;
};

static void loaded_one(void *ctx, int nth, const char *path,
		       struct uffs_loaded *l, int rc, const char *why)
{
	struct many *m = ctx;
	cli_progress_end(&m->tellers[nth].progress);
	if (rc) {
		print_failure(path, why);
		m->status = exit_status(rc);
		return;
	}
	l->tag_store = m->c->vss_all;
	m->use(l, nth, m->ctx);
}

int cli_for_each_source(char **paths, int n, struct cli_common *c, bool scan,
			void (*use)(const struct uffs_loaded *l, int nth, void *ctx),
			void *ctx)
{
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
	struct uffs_load_job *jobs = NULL;
	if (c->vss_all) {
		n = expand_stores(paths, n, c, &jobs);
		if (n < 0)
			return UFFS_EXIT_ERROR;
	} else {
		jobs = calloc(n > 0 ? (size_t)n : 1, sizeof *jobs);
		for (int i = 0; jobs && i < n; i++)
			jobs[i] = (struct uffs_load_job){paths[i], -1, NULL};
	}
	if (!jobs) {
		fputs("uffs: out of memory\n", stderr);
		return UFFS_EXIT_ERROR;
	}
	struct many m = {c, NULL, use, ctx, UFFS_EXIT_OK};
	if (n == 1 || window == 1) {
		/* One at a time, on this thread, with a progress line. */
		for (int i = 0; i < n; i++) {
			struct uffs_loaded l;
			int rc = load_one(&l, jobs[i].path, c, scan, jobs[i].store);
			if (rc) {
				m.status = rc;
				continue;
			}
			use(&l, i, ctx);
			uffs_unload(&l);
		}
	} else {
		/* Each source's messages name it: a teller each. */
		struct teller *tellers = calloc((size_t)n, sizeof *tellers);
		m.tellers = tellers;
		struct uffs_load_opts o = load_opts(c, scan);
		for (int i = 0; tellers && i < n; i++) {
			tellers[i] = (struct teller){jobs[i].path, c, {0}};
			cli_progress_start(&tellers[i].progress, c, jobs[i].path);
			jobs[i].ctx = &tellers[i];
		}
		if (!tellers || uffs_load_many(jobs, n, window, &o, loaded_one, &m)) {
			fputs("uffs: out of memory\n", stderr);
			m.status = UFFS_EXIT_ERROR;
		}
		free(tellers);
	}
	free(jobs);
	if (m.status == UFFS_EXIT_OK && c->warnings)
		m.status = UFFS_EXIT_WARNINGS;
	return m.status;
}
