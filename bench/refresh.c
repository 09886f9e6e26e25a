/* What keeping an index current costs (uffs watch, after each answer of
 * the journal that changes names): the volume is scanned once, then
 * brought up to date again and again (uffs_load_refresh: the named
 * records and the safety net read again, every other record copied, the
 * tree rebuilt), each round timed. Not installed; bench/bench-refresh
 * runs it.
 *
 * usage: uffs-bench-refresh SOURCE [ROUNDS [FRS...]] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../scan/load.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: uffs-bench-refresh SOURCE [ROUNDS [FRS...]]\n", stderr);
		return 2;
	}
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	if (rounds < 1 || rounds > 1000)
		rounds = 5;
	size_t n = argc > 3 ? (size_t)(argc - 3) : 0;
	uint64_t *frs = calloc(n + 3, sizeof *frs);
	if (!frs)
		return 1;
	for (size_t i = 0; i < n; i++)
		frs[i] = strtoull(argv[3 + i], NULL, 0);
	struct uffs_load_opts o = {.src = UFFS_SOURCE_OPTS_DEFAULT,
				   .index = true};
	struct uffs_loaded l;
	char why[512];
	double t0 = now();
	if (uffs_load(&l, argv[1], &o, why, sizeof why)) {
		fprintf(stderr, "uffs-bench-refresh: %s: %s\n", argv[1], why);
		return 1;
	}
	if (!n) { /* the root and two records from the middle */
		frs[n++] = 5;
		frs[n++] = l.idx.n_records / 2;
		frs[n++] = l.idx.n_records / 2 + 1;
	}
	printf("scan: %" PRIu64 " records in %.3f s\n", l.idx.n_records,
	       now() - t0);
	double *t = calloc((size_t)rounds, sizeof *t);
	struct uffs_update_counts c = {0};
	int rc = t ? 0 : 1;
	for (int i = 0; i < rounds && !rc; i++) {
		double s = now();
		rc = uffs_load_refresh(&l, frs, n, &o, &c, why, sizeof why);
		t[i] = now() - s;
	}
	if (rc) {
		fprintf(stderr, "uffs-bench-refresh: refresh: %s\n", why);
	} else {
		qsort(t, (size_t)rounds, sizeof *t, by_value);
		printf("refresh: %zu records named, %" PRIu64
		       " read again; median %.3f s, fastest %.3f s over %d rounds\n",
		       n, c.reread, t[rounds / 2], t[0], rounds);
	}
	free(t);
	free(frs);
	uffs_unload(&l);
	return rc ? 1 : 0;
}
