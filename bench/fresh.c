/* What fresh memory costs to touch the first time, in 4 KiB pages and in
 * 2 MiB (transparent huge) pages, the way an index's columns are touched:
 * a fresh anonymous mapping, 2 MiB aligned, one write per 4 KiB page.
 * Rounds alternate the two kinds, each after a pause (a host that takes
 * freed memory back, as free page reporting does, does so a few seconds
 * after it is freed). Linux only; not installed. Why uffs asks for no huge
 * pages: docs/architecture.md, "Memory".
 *
 * usage: uffs-bench-fresh [MIB [PAUSE_SECONDS [ROUNDS]]]
 *        (defaults 64, 3, 5) */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define HUGE (2u << 20)

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ms a MiB to fault in `mib` MiB of fresh memory; -1 if it cannot be
 * mapped or the advice is refused. */
static double touch_ms_per_mib(size_t mib, int advice)
{
	size_t len = mib << 20;
	uint8_t *raw = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return -1;
	volatile uint8_t *p = (uint8_t *)(((uintptr_t)raw + HUGE - 1) &
					  ~(uintptr_t)(HUGE - 1));
	double ms = -1;
	if (madvise((void *)p, len, advice) == 0) {
		double t0 = now();
		for (size_t i = 0; i < len; i += 4096)
			p[i] = 1;
		ms = (now() - t0) * 1e3 / (double)mib;
	}
	munmap(raw, len + HUGE);
	return ms;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	double pause = argc > 2 ? atof(argv[2]) : 3;
	int rounds = argc > 3 ? atoi(argv[3]) : 5;
	if (mib == 0 || rounds < 1 || rounds > 1000 || pause < 0) {
		fputs("usage: uffs-bench-fresh [MIB [PAUSE_SECONDS [ROUNDS]]]\n",
		      stderr);
		return 2;
	}
	double *small = calloc((size_t)rounds, sizeof *small);
	double *huge = calloc((size_t)rounds, sizeof *huge);
	if (!small || !huge)
		return 1;
	for (int r = 0; r < rounds; r++) {
		usleep((useconds_t)(pause * 1e6));
		small[r] = touch_ms_per_mib(mib, MADV_NOHUGEPAGE);
		usleep((useconds_t)(pause * 1e6));
		huge[r] = touch_ms_per_mib(mib, MADV_HUGEPAGE);
		printf("round %d: 4 KiB pages %.2f ms/MiB, 2 MiB pages %.2f ms/MiB\n",
		       r + 1, small[r], huge[r]);
	}
	qsort(small, (size_t)rounds, sizeof *small, by_value);
	qsort(huge, (size_t)rounds, sizeof *huge, by_value);
	printf("median of %d rounds, %zu MiB, %.1f s pauses: 4 KiB pages %.2f ms/MiB, 2 MiB pages %.2f ms/MiB\n",
	       rounds, mib, pause, small[rounds / 2], huge[rounds / 2]);
	free(small);
	free(huge);
	return 0;
}
