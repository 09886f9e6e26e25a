/* Windows process helpers. Without fork, isolated runs happen in this
 * process (their peak memory is then the process's so far). */
#include <windows.h>
#include <psapi.h>

#include <fcntl.h>
#include <io.h>

#include <stdlib.h>
#include <string.h>

#include "proc.h"

uint64_t uffs_peak_rss_bytes(void)
{
	PROCESS_MEMORY_COUNTERS pmc;
	if (!K32GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc))
		return 0;
	return pmc.PeakWorkingSetSize;
}

int uffs_run_isolated(int (*fn)(void *arg, FILE *out), void *arg, char *buf,
		      size_t cap)
{
	FILE *tmp = tmpfile();
	if (!tmp || cap == 0)
		return -1;
	int rc = fn(arg, tmp);
	rewind(tmp);
	size_t n = fread(buf, 1, cap - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return rc;
}

int uffs_file_drop_cache(const struct uffs_file *f)
{
	(void)f;
	return ERROR_NOT_SUPPORTED;
}

void *uffs_alloc_large(size_t size)
{
	return _aligned_malloc(size, 4096);
}

void uffs_free_large(void *p)
{
	_aligned_free(p);
}

void uffs_console_init(void)
{
	SetConsoleOutputCP(CP_UTF8);
	_setmode(_fileno(stdout), _O_BINARY);
}

unsigned uffs_cpu_count(void)
{
	SYSTEM_INFO si;
	GetSystemInfo(&si);
	return si.dwNumberOfProcessors ? si.dwNumberOfProcessors : 1;
}
