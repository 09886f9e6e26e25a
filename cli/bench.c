/* uffs bench: every scan mode timed on one source, each run in its own
 * process so that its peak memory is its own. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../source/proc.h"
#include "cli.h"

#define REPEAT_DEFAULT 3
#define FLOOR_MODE UFFS_MODE_COUNT /* the single-core parse floor */

struct result {
	bool ok;
	char why[200];
	char mode[32];
	char backend[16];
	unsigned threads, depth, depth_final;
	uint64_t records, bytes;
	double seconds, scan_seconds, io, parse, merge;
	uint64_t peak;
};

struct job {
	const char *path;
	struct cli_common common;
	int mode; /* enum uffs_mode, or FLOOR_MODE */
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define FLOOR_CHUNK_RECORDS 512u

/* The parse floor: fixup and the attribute walk of every record on one
 * core, no index, timed alone. Records are read a chunk at a time (as a
 * scan reads them, so they are in the core's cache when parsed) and only
 * the parsing is timed. */
static int run_floor(struct job *j, FILE *out)
{
	struct uffs_loaded *l = malloc(sizeof *l);
	if (!l || cli_load(l, j->path, &j->common, false))
		return 1;
	const struct uffs_volume *v = &l->vol;
	size_t chunk = (size_t)FLOOR_CHUNK_RECORDS * v->record_size;
	uint8_t *buf = malloc(chunk);
	struct mft_record_view *view = malloc(sizeof *view);
	struct mft_error err;
	if (!buf || !view)
		return 1;
	double parse = 0;
	for (uint64_t first = 0; first < v->n_records; first += FLOOR_CHUNK_RECORDS) {
		uint64_t n = v->n_records - first;
		if (n > FLOOR_CHUNK_RECORDS)
			n = FLOOR_CHUNK_RECORDS;
		if (uffs_volume_read_records(v, first, n, buf, &err))
			return 1;
		double t0 = now_seconds();
		for (uint64_t r = 0; r < n; r++)
			mft_record_parse(buf + r * v->record_size, v->record_size,
					 first + r, view, &err);
		parse += now_seconds() - t0;
	}
	fprintf(out, "floor direct 1 0 0 %" PRIu64 " %zu %.6f %.6f 0 %.6f 0 %" PRIu64 "\n",
		v->n_records, (size_t)v->n_records * v->record_size, parse, parse,
		parse, uffs_peak_rss_bytes());
	free(buf);
	free(view);
	return 0;
}

static int run_one(void *arg, FILE *out)
{
	struct job *j = arg;
	if (j->mode == FLOOR_MODE)
		return run_floor(j, out);
	j->common.scan.mode = (enum uffs_mode)j->mode;
	j->common.quiet = true;
	j->common.scan.timings = true;
	struct uffs_loaded *l = malloc(sizeof *l);
	double t0 = now_seconds();
	if (!l || cli_load(l, j->path, &j->common, true))
		return 1;
	double dt = now_seconds() - t0;
	const struct uffs_scan_stats *s = &l->stats;
	fprintf(out, "%s %s %u %u %u %" PRIu64 " %" PRIu64 " %.6f %.6f %.6f %.6f %.6f %" PRIu64 "\n",
		uffs_mode_name(s->mode), s->backend ? s->backend : "-",
		s->threads, s->depth, s->depth_final, s->records_read,
		s->bytes_read, dt, s->seconds, s->io_wait_seconds,
		s->parse_seconds, s->merge_seconds, uffs_peak_rss_bytes());
	if (s->why[0])
		fprintf(out, "why %s\n", s->why);
	return 0;
}

static bool parse_result(const char *line, struct result *r)
{
	return sscanf(line, "%31s %15s %u %u %u %" SCNu64 " %" SCNu64 " %lf %lf %lf %lf %lf %" SCNu64,
		      r->mode, r->backend, &r->threads, &r->depth,
		      &r->depth_final, &r->records, &r->bytes, &r->seconds,
		      &r->scan_seconds, &r->io, &r->parse, &r->merge,
		      &r->peak) == 13;
}

static struct result measure(struct job *j, unsigned repeat, bool cold,
			     const struct uffs_file *file)
{
	struct result best = {0};
	for (unsigned i = 0; i < repeat; i++) {
		if (cold && uffs_file_drop_cache(file) != 0)
			fputs("uffs: bench: could not drop the page cache\n", stderr);
		char buf[512];
		struct result r;
		if (uffs_run_isolated(run_one, j, buf, sizeof buf) != 0 ||
		    !parse_result(buf, &r))
			continue;
		r.ok = true;
		const char *why = strstr(buf, "\nwhy ");
		r.why[0] = '\0';
		if (why) {
			snprintf(r.why, sizeof r.why, "%s", why + 5);
			r.why[strcspn(r.why, "\n")] = '\0';
		}
		if (!best.ok || r.seconds < best.seconds)
			best = r;
	}
	return best;
}

static void print_notes(const struct result *rs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rs[i].ok && rs[i].why[0])
			printf("note: %s: %s\n", rs[i].mode, rs[i].why);
}

static void print_table(const struct result *rs, size_t n, const char *path)
{
	printf("source: %s\n", path);
	printf("%-19s %9s %8s %11s %8s %8s %8s %8s %8s %-8s %3s %5s\n", "mode",
	       "records", "seconds", "records/s", "MB/s", "io-wait", "parse",
	       "merge", "peak-MiB", "backend", "thr", "depth");
	for (size_t i = 0; i < n; i++) {
		const struct result *r = &rs[i];
		if (!r->ok) {
			printf("%-19s failed\n", r->mode);
			continue;
		}
		double s = r->seconds > 0 ? r->seconds : 1e-9;
		printf("%-19s %9" PRIu64 " %8.3f %11.0f %8.0f %8.3f %8.3f %8.3f %8.1f %-8s %3u %5u\n",
		       r->mode, r->records, r->seconds, (double)r->records / s,
		       (double)r->bytes / 1e6 / s, r->io, r->parse, r->merge,
		       (double)r->peak / 1048576.0, r->backend, r->threads,
		       r->depth_final ? r->depth_final : r->depth);
	}
}

static void print_json(const struct result *rs, size_t n, const char *path)
{
	printf("{\"source\":\"");
	for (const char *p = path; *p; p++)
		printf(*p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
	printf("\",\"runs\":[");
	for (size_t i = 0; i < n; i++) {
		const struct result *r = &rs[i];
		double s = r->seconds > 0 ? r->seconds : 1e-9;
		printf("%s{\"mode\":\"%s\",\"ok\":%s", i ? "," : "", r->mode,
		       r->ok ? "true" : "false");
		if (r->ok)
			printf(",\"backend\":\"%s\",\"threads\":%u,\"depth\":%u,"
			       "\"records\":%" PRIu64 ",\"bytes\":%" PRIu64
			       ",\"seconds\":%.6f,\"records_per_second\":%.0f,"
			       "\"mb_per_second\":%.1f,\"io_wait_seconds\":%.6f,"
			       "\"parse_seconds\":%.6f,\"merge_seconds\":%.6f,"
			       "\"peak_rss_bytes\":%" PRIu64,
			       r->backend, r->threads,
			       r->depth_final ? r->depth_final : r->depth,
			       r->records, r->bytes, r->seconds,
			       (double)r->records / s, (double)r->bytes / 1e6 / s,
			       r->io, r->parse, r->merge, r->peak);
		printf("}");
	}
	printf("]}\n");
}

static const char bench_help[] =
	"usage: uffs bench [OPTIONS] SOURCE\n"
	"\n"
	"Time scan modes on SOURCE, each run in a fresh process: records,\n"
	"seconds, records/s, MB/s, time waiting on I/O, parsing (summed over\n"
	"threads) and merging, and peak memory. The best of --repeat runs is\n"
	"shown. Mode 'floor' is the single-core floor: fixup and attribute walk\n"
	"of every record already in memory, no index.\n"
	"\n"
	"  -m, --mode MODE      all (default), floor, or one scan mode\n"
	"      --cold           drop the source's cached pages before each run\n"
	"      --json           one JSON object instead of the table\n"
	"      --repeat N       runs per mode, best kept (default 3)\n"
	"  other options as for 'uffs list' (--threads, --depth, --backend, ...)\n"
	"\n" CLI_COMMON_HELP;

int cmd_bench(int argc, char **argv)
{
	enum { OPT_COLD = 300, OPT_JSON, OPT_REPEAT };
	static const struct option longopts[] = {
		{"cold", no_argument, 0, OPT_COLD},
		{"json", no_argument, 0, OPT_JSON},
		{"repeat", required_argument, 0, OPT_REPEAT},
		{"help", no_argument, 0, 'h'},
		CLI_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	struct job job = {.common = CLI_COMMON_INIT};
	bool cold = false, json = false, all = true;
	int only = -1;
	unsigned repeat = REPEAT_DEFAULT;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h" CLI_COMMON_SHORTOPTS, longopts,
				  NULL)) != -1) {
		if (opt == 'm') {
			all = !strcmp(optarg, "all");
			only = !strcmp(optarg, "floor") ? FLOOR_MODE
							 : uffs_mode_parse(optarg);
			if (!all && only < 0) {
				fprintf(stderr, "uffs: unknown mode '%s'\n", optarg);
				return UFFS_EXIT_USAGE;
			}
			continue;
		}
		int rc = cli_common_option(&job.common, opt, optarg);
		if (rc < 0)
			return UFFS_EXIT_USAGE;
		if (rc > 0)
			continue;
		switch (opt) {
		case OPT_COLD:
			cold = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_REPEAT:
			repeat = (unsigned)atoi(optarg);
			if (repeat < 1 || repeat > 100) {
				fputs("uffs: --repeat takes 1..100\n", stderr);
				return UFFS_EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(bench_help, stdout);
			return UFFS_EXIT_OK;
		default:
			fputs("try 'uffs bench --help'\n", stderr);
			return UFFS_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs("uffs bench: give exactly one SOURCE (try 'uffs bench --help')\n",
		      stderr);
		return UFFS_EXIT_USAGE;
	}
	job.path = argv[optind];
	job.common.need_source = true; /* it times scans */
	struct uffs_loaded probe;
	int rc = cli_load(&probe, job.path, &job.common, false);
	if (rc)
		return rc;
	static const int all_modes[] = {
		FLOOR_MODE, UFFS_MODE_STREAMING, UFFS_MODE_PREFETCH,
		UFFS_MODE_PIPELINED, UFFS_MODE_PIPELINED_PARALLEL,
		UFFS_MODE_PARALLEL, UFFS_MODE_ASYNC, UFFS_MODE_AUTO,
	};
	struct result rs[sizeof all_modes / sizeof *all_modes];
	size_t n = 0;
	for (size_t i = 0; i < sizeof all_modes / sizeof *all_modes; i++) {
		if (!all && all_modes[i] != only)
			continue;
		job.mode = all_modes[i];
		rs[n] = measure(&job, repeat, cold, &probe.src.file);
		if (!rs[n].ok)
			snprintf(rs[n].mode, sizeof rs[n].mode, "%s",
				 job.mode == FLOOR_MODE ? "floor"
							: uffs_mode_name(job.mode));
		else if (job.mode == UFFS_MODE_AUTO) {
			char chosen[20];
			snprintf(chosen, sizeof chosen, "%s", rs[n].mode);
			snprintf(rs[n].mode, sizeof rs[n].mode, "auto(%s)", chosen);
		}
		n++;
	}
	cli_unload(&probe);
	if (json)
		print_json(rs, n, job.path);
	else {
		print_table(rs, n, job.path);
		print_notes(rs, n);
	}
	for (size_t i = 0; i < n; i++)
		if (!rs[i].ok)
			return UFFS_EXIT_ERROR;
	return UFFS_EXIT_OK;
}
