/* POSIX process helpers: fork for isolated measurements, getrusage for
 * peak memory, posix_fadvise to drop cached pages. */
#define _GNU_SOURCE /* mremap */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

uint64_t uffs_peak_rss_bytes(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (uint64_t)ru.ru_maxrss * 1024; /* Linux reports KiB */
}

int uffs_run_isolated(int (*fn)(void *arg, FILE *out), void *arg, char *buf,
		      size_t cap)
{
	int fds[2];
	if (cap == 0 || pipe(fds) != 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		FILE *out = fdopen(fds[1], "w");
		int rc = out ? fn(arg, out) : 1;
		if (out)
			fclose(out);
		_exit(rc & 0x7F);
	}
	close(fds[1]);
	size_t n = 0;
	ssize_t got;
	while ((got = read(fds[0], buf + n, cap - 1 - n)) > 0 && n + 1 < cap)
		n += (size_t)got;
	buf[n] = '\0';
	close(fds[0]);
	int status;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Large buffers and index columns ask for no page size (no
 * MADV_HUGEPAGE): the OS's default applies. They stay 2 MiB aligned, so a
 * system that gives huge pages by default still can. Why no hint: on VMs
 * whose host takes freed memory back (free page reporting, in blocks of
 * 2 MiB and up), a huge page always comes from such a block and costs the
 * host's faults again (2.2 ms a MiB measured), while 4 KiB pages mostly
 * come from smaller free blocks the host kept (0.4 ms a MiB). A listing of
 * a million records ran 17% faster without the hint when it started a
 * second or more after the last one or after another command; only when
 * the same listing runs again at once are huge pages ahead, about 5%
 * (docs/benchmarks.md). A probe cannot choose per run: the first huge
 * page is the most recently freed one, cheap, and says nothing of the
 * next twenty. */
#define HUGE_PAGE (2u << 20)

void *uffs_alloc_large(size_t size)
{
	void *p = NULL;
	size_t align = size >= 2 * HUGE_PAGE ? HUGE_PAGE : 4096;
	if (posix_memalign(&p, align, size) != 0)
		return NULL;
	return p;
}

void uffs_free_large(void *p)
{
	free(p);
}

/* Every size is mapped, so that shrinking (which the index relies on not
 * to fail) is an mremap in place, and release is always munmap. */
static size_t page_round(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
}

/* An address range of len bytes, reserved without access; from 2 MiB up
 * it starts on a huge-page boundary, so a huge page can back it from its
 * first byte. */
static void *reserve(size_t len)
{
	size_t over = len >= HUGE_PAGE ? len + HUGE_PAGE : len;
	uint8_t *p = mmap(NULL, over, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (over == len)
		return p;
	uint8_t *at = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1) &
				  ~(uintptr_t)(HUGE_PAGE - 1));
	if (at > p)
		munmap(p, (size_t)(at - p));
	if (p + over > at + len)
		munmap(at + len, (size_t)(p + over - (at + len)));
	return at;
}

static void *map_zeroed(size_t bytes)
{
	size_t len = page_round(bytes ? bytes : 1);
	void *at = reserve(len);
	if (!at)
		return NULL;
	void *p = mmap(at, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED) {
		munmap(at, len);
		return NULL;
	}
	return p;
}

/* Resizes a mapping: in place when the addresses after it are free (always
 * when shrinking), else moved (page tables, not bytes) to a new range. */
static void *mem_large_resize(void *p, size_t old, size_t bytes)
{
	if (!p)
		return map_zeroed(bytes);
	size_t from = page_round(old ? old : 1), to = page_round(bytes ? bytes : 1);
	if (from == to)
		return p;
#ifdef MREMAP_MAYMOVE
	void *q = mremap(p, from, to, 0);
	if (q == MAP_FAILED) {
		void *at = reserve(to);
		if (!at)
			return NULL;
		q = mremap(p, from, to, MREMAP_MAYMOVE | MREMAP_FIXED, at);
		if (q == MAP_FAILED) {
			munmap(at, to);
			return NULL;
		}
	}
	return q;
#else
	if (to < from) {
		munmap((uint8_t *)p + to, from - to);
		return p;
	}
	void *q = map_zeroed(bytes);
	if (q) {
		memcpy(q, p, old);
		munmap(p, from);
	}
	return q;
#endif
}

static void mem_large_release(void *p, size_t bytes)
{
	if (p)
		munmap(p, page_round(bytes ? bytes : 1));
}

const struct mft_mem_ops uffs_mem_large = {mem_large_resize, mem_large_release};

void uffs_console_init(void)
{
}

void uffs_utf8_args(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
}

int uffs_ntfs_volumes(char (*out)[4], int max)
{
	(void)out;
	(void)max;
	return -1;
}

unsigned uffs_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

int uffs_file_drop_cache(const struct uffs_file *f)
{
	return posix_fadvise((int)f->handle, 0, 0, POSIX_FADV_DONTNEED);
}

bool uffs_stderr_is_terminal(void)
{
	return isatty(STDERR_FILENO) == 1;
}
