/* The uffs command: shared pieces of the sub-commands. */
#ifndef UFFS_CLI_H
#define UFFS_CLI_H

#include <pthread.h>
#include <stdbool.h>

#include "../mft/index.h"
#include "../mft/path.h"
#include "../scan/load.h"
#include "../scan/scan.h"
#include "../scan/volume.h"
#include "../source/source.h"

/* Exit statuses (documented in docs/uffs.1 and README.md). */
enum uffs_exit {
	UFFS_EXIT_OK = 0,
	UFFS_EXIT_ERROR = 1,    /* a source could not be read or is not NTFS */
	UFFS_EXIT_USAGE = 2,    /* bad command line */
	UFFS_EXIT_WARNINGS = 3, /* completed, but damaged records were skipped */
};

struct cli_common {
	pthread_mutex_t lock; /* warnings from volumes scanned at once */
	struct uffs_source_opts src;
	struct uffs_scan_opts scan;
	unsigned max_volumes;
	bool all; /* --all: every NTFS volume of this (Windows) machine */
	bool vss_all; /* --vss all: the volume, then each of its stores */
	bool quiet;
	bool verbose;
	bool want_upcase; /* read each volume's $UpCase (search) */
	bool progress_shown; /* a progress line is on stderr (under lock) */
	bool need_source; /* the command reads records: no saved index */
	/* Said after the reason when a source fails to load (what else the
	 * command would have taken it for), or NULL. */
	const char *failure_hint;
	unsigned long warnings;
};

#define CLI_COMMON_INIT                                                        \
	{.lock = PTHREAD_MUTEX_INITIALIZER, .src = UFFS_SOURCE_OPTS_DEFAULT}

/* With --vss all, the state a source's output comes from: "current:" or
 * "vssN:" (before its paths); "" otherwise. */
void cli_store_tag(const struct uffs_loaded *l, char *buf, size_t cap);

/* The separator of a source's paths: a backslash on a live Windows
 * volume, whose paths are Windows paths (C:\dir\file, after its
 * volume_prefix), else '/'. */
char cli_path_separator(const struct uffs_loaded *l);

/* Loads one source (scan/load.c) with the command's messages and progress
 * line. Returns 0, or prints a one-line error and returns an exit status. */
int cli_load(struct uffs_loaded *l, const char *path, struct cli_common *c,
	     bool scan);
void cli_unload(struct uffs_loaded *l);
/* l's index brought up to date (uffs_load_refresh): the records frs[0..n)
 * read again, warnings told as cli_load tells them. 0, or prints a one-line
 * error and returns an exit status. */
int cli_refresh(struct uffs_loaded *l, const char *path, struct cli_common *c,
		const uint64_t *frs, size_t n,
		struct uffs_update_counts *counts);

/* Loads each source in turn and hands it to `use`; a source that fails to
 * load is reported and skipped. Returns the exit status: the last failure's,
 * else UFFS_EXIT_WARNINGS when any warning was printed, else UFFS_EXIT_OK. */
int cli_for_each_source(char **paths, int n, struct cli_common *c, bool scan,
			void (*use)(const struct uffs_loaded *l, int nth, void *ctx),
			void *ctx);

/* Common option parsing: returns 1 if `opt` was one of ours, 0 if not, or
 * -1 after printing a usage error. */
int cli_common_option(struct cli_common *c, int opt, const char *arg);
/* The getopt_long entries for the common options, for merging. */
enum cli_long_option {
	OPT_DEPTH = 256,
	OPT_CHUNK,
	OPT_MAX_VOLUMES,
	OPT_FAULT_SEED,
	OPT_FAULT_SHORT,
	OPT_FAULT_ERROR,
	OPT_FAULT_DELAY,
	OPT_DIRECT,
	OPT_ALL,
	OPT_FAULT_SHRINK,
	OPT_FAULT_LATENCY,
	OPT_VSS,
};

#define CLI_COMMON_LONGOPTS                                                    \
	{"partition", required_argument, 0, 'p'},                              \
		{"offset", required_argument, 0, 'o'},                         \
		{"record-size", required_argument, 0, 'r'},                    \
		{"quiet", no_argument, 0, 'q'},                                \
		{"verbose", no_argument, 0, 'v'},                              \
		{"mode", required_argument, 0, 'm'},                           \
		{"backend", required_argument, 0, 'b'},                        \
		{"threads", required_argument, 0, 't'},                        \
		{"depth", required_argument, 0, OPT_DEPTH},                    \
		{"chunk", required_argument, 0, OPT_CHUNK},                    \
		{"max-volumes", required_argument, 0, OPT_MAX_VOLUMES},        \
		{"direct", no_argument, 0, OPT_DIRECT},                        \
		{"all", no_argument, 0, OPT_ALL},                              \
		{"vss", required_argument, 0, OPT_VSS},                        \
		{"fault-seed", required_argument, 0, OPT_FAULT_SEED},          \
		{"fault-short", required_argument, 0, OPT_FAULT_SHORT},        \
		{"fault-error", required_argument, 0, OPT_FAULT_ERROR},        \
		{"fault-delay", required_argument, 0, OPT_FAULT_DELAY},        \
		{"fault-shrink", required_argument, 0, OPT_FAULT_SHRINK},      \
		{"fault-latency", required_argument, 0, OPT_FAULT_LATENCY}
#define CLI_COMMON_SHORTOPTS "p:o:r:qvm:b:t:"
#define CLI_COMMON_HELP                                                        \
	"  -p, --partition N    use partition N of a disk image (1-based)\n"  \
	"  -o, --offset BYTES   the NTFS volume starts at this byte offset\n" \
	"  -r, --record-size N  record size of a captured $MFT (512..4096)\n" \
	"  -m, --mode MODE      scan mode: auto (default), streaming, prefetch,\n" \
	"                       pipelined, pipelined-parallel, parallel, async\n" \
	"                       (iocp-parallel): all build the same index\n"  \
	"  -b, --backend NAME   I/O backend: uring, threads, sync, fault\n"   \
	"                       (default: the best available)\n"             \
	"  -t, --threads N      parse threads (default: one per core)\n"      \
	"      --depth N|auto   reads in flight (default 8; auto adapts it)\n" \
	"      --chunk BYTES    bytes per read (default 512K, 4M on a spinning\n" \
	"                       disk; K and M suffixes)\n"                    \
	"      --max-volumes N  sources scanned at once (default 4)\n"       \
	"      --all            every NTFS volume of this machine (Windows)\n" \
	"      --vss N|all      read Volume Shadow Copy store N (1 = oldest,\n" \
	"                       see uffs info) instead of the volume; all: the\n" \
	"                       volume and then every store, rows tagged\n"   \
	"      --direct         read around the page cache (O_DIRECT) where\n" \
	"                       offsets are aligned: cold reads without a copy\n" \
	"  -q, --quiet          no warnings about damaged records, no progress\n" \
	"                       line (shown on a terminal during long scans)\n" \
	"  -v, --verbose        say what was detected, chosen and measured\n" \
	"  -h, --help           this help\n"

void cli_error(const char *source, const struct mft_error *e,
	       const struct uffs_volume *vol);

/* What `uffs info` says of a saved index (cli/saved.c). */
void cli_saved_info(const struct uffs_loaded *l);

int cmd_list(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_digest(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_du(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_usn(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_index(int argc, char **argv);

#endif
