/* How the page cache holds a byte range of a file: how many of its pages
 * sit in large folios, and how many folios of each size. A warm listing
 * copies out of the page cache, and that copy is cheaper from large folios
 * than from single pages; which ones the cache holds depends on how the
 * file was read into it (docs/benchmarks.md, "Fewer instructions",
 * the folio table). Maps the range read-only, touches each page,
 * and reads the pages' frame numbers from /proc/self/pagemap and their
 * flags from /proc/kpageflags (both need root). Linux only; not installed.
 *
 * usage: uffs-bench-folios FILE OFFSET LENGTH   (OFFSET 4096-aligned) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u
#define KPF_COMPOUND_HEAD (1ull << 15)
#define KPF_COMPOUND_TAIL (1ull << 16)
#define PFN_PRESENT (1ull << 63)
#define PFN_MASK ((1ull << 55) - 1)
#define ORDERS 16

struct tally {
	size_t pages, in_large, single, absent;
	size_t run; /* pages of the folio being counted */
	size_t by_order[ORDERS];
};

static void end_folio(struct tally *t)
{
	if (!t->run)
		return;
	unsigned order = 0;
	while (order + 1 < ORDERS && ((size_t)1 << order) < t->run)
		order++;
	t->by_order[order]++;
	t->run = 0;
}

/* The kpageflags of the page mapped at addr, or 0 with *present false. */
static uint64_t page_flags(int pagemap, int kflags, uintptr_t addr,
			   int *present)
{
	uint64_t entry = 0, flags = 0;
	*present = 0;
	if (pread(pagemap, &entry, 8, (off_t)(addr / PAGE * 8)) != 8 ||
	    !(entry & PFN_PRESENT))
		return 0;
	if (pread(kflags, &flags, 8, (off_t)((entry & PFN_MASK) * 8)) != 8)
		return 0;
	*present = 1;
	return flags;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: uffs-bench-folios FILE OFFSET LENGTH\n");
		return 2;
	}
	off_t off = (off_t)strtoull(argv[2], NULL, 0);
	size_t len = (size_t)strtoull(argv[3], NULL, 0);
	int fd = open(argv[1], O_RDONLY);
	int pagemap = open("/proc/self/pagemap", O_RDONLY);
	int kflags = open("/proc/kpageflags", O_RDONLY);
	if (fd < 0 || pagemap < 0 || kflags < 0 || off % PAGE || !len) {
		perror("uffs-bench-folios (root is needed for /proc/kpageflags)");
		return 1;
	}
	const volatile uint8_t *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, off);
	if (m == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	struct tally t = {0};
	for (size_t i = 0; i < len / PAGE; i++, t.pages++) {
		(void)m[i * PAGE]; /* maps the cached page (reads it if absent) */
		int present;
		uint64_t f = page_flags(pagemap, kflags,
					(uintptr_t)m + i * PAGE, &present);
		if (!present) {
			t.absent++;
			continue;
		}
		if (f & KPF_COMPOUND_HEAD) {
			end_folio(&t);
			t.run = 1;
			t.in_large++;
		} else if (f & KPF_COMPOUND_TAIL) {
			t.run++;
			t.in_large++;
		} else {
			end_folio(&t);
			t.single++;
		}
	}
	end_folio(&t);
	printf("%zu pages: %zu in large folios (%.0f%%), %zu single, %zu not mapped\n",
	       t.pages, t.in_large, t.pages ? 100.0 * (double)t.in_large / (double)t.pages : 0.0,
	       t.single, t.absent);
	printf("folios by size:");
	for (unsigned o = 1; o < ORDERS; o++)
		if (t.by_order[o])
			printf(" %zu KiB x %zu", ((size_t)PAGE << o) / 1024, t.by_order[o]);
	printf("\n");
	return 0;
}
