/* Windows process helpers. Without fork, isolated runs happen in this
 * process (their peak memory is then the process's so far). */
#include <windows.h>
#include <psapi.h>
#include <shellapi.h>
#include <wchar.h>

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

/* The index's columns from the C library: Windows grants large pages only
 * to accounts holding SeLockMemoryPrivilege. */
static void *mem_large_resize(void *p, size_t old, size_t bytes)
{
	(void)old;
	return p ? realloc(p, bytes) : calloc(1, bytes);
}

static void mem_large_release(void *p, size_t bytes)
{
	(void)bytes;
	free(p);
}

const struct mft_mem_ops uffs_mem_large = {mem_large_resize, mem_large_release};

void uffs_console_init(void)
{
	SetConsoleOutputCP(CP_UTF8);
	_setmode(_fileno(stdout), _O_BINARY);
}

void uffs_utf8_args(int *argc, char ***argv)
{
	int n = 0;
	LPWSTR *w = CommandLineToArgvW(GetCommandLineW(), &n);
	if (!w)
		return;
	char **out = calloc((size_t)n + 1, sizeof *out);
	for (int i = 0; out && i < n; i++) {
		int len = WideCharToMultiByte(CP_UTF8, 0, w[i], -1, NULL, 0, NULL, NULL);
		out[i] = len > 0 ? malloc((size_t)len) : NULL;
		if (!out[i] || WideCharToMultiByte(CP_UTF8, 0, w[i], -1, out[i], len,
						   NULL, NULL) <= 0) {
			LocalFree(w);
			return; /* keep the ANSI arguments (the strings leak) */
		}
	}
	LocalFree(w);
	if (out) {
		*argc = n;
		*argv = out; /* lives as long as the process */
	}
}

int uffs_ntfs_volumes(char (*out)[4], int max)
{
	wchar_t drives[256];
	DWORD len = GetLogicalDriveStringsW(256, drives);
	if (len == 0 || len > 256)
		return 0;
	int n = 0;
	for (wchar_t *d = drives; *d && n < max; d += wcslen(d) + 1) {
		wchar_t fs[32];
		if (GetDriveTypeW(d) != DRIVE_FIXED && GetDriveTypeW(d) != DRIVE_REMOVABLE)
			continue;
		if (!GetVolumeInformationW(d, NULL, 0, NULL, NULL, NULL, fs, 32) ||
		    wcscmp(fs, L"NTFS") != 0)
			continue;
		out[n][0] = (char)d[0];
		out[n][1] = ':';
		out[n][2] = '\0';
		n++;
	}
	return n;
}

unsigned uffs_cpu_count(void)
{
	SYSTEM_INFO si;
	GetSystemInfo(&si);
	return si.dwNumberOfProcessors ? si.dwNumberOfProcessors : 1;
}

/* A console answers GetConsoleMode; a pipe or file does not. (_isatty
 * would also call the NUL device a terminal.) */
bool uffs_stderr_is_terminal(void)
{
	DWORD mode;
	return GetConsoleMode(GetStdHandle(STD_ERROR_HANDLE), &mode) != 0;
}
