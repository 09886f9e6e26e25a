/* Windows mapping and atomic replacement of saved index files. */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

static wchar_t *widen(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
	if (n <= 0)
		return NULL;
	wchar_t *w = malloc((size_t)n * sizeof *w);
	if (w && MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n) <= 0) {
		free(w);
		w = NULL;
	}
	return w;
}

static HANDLE open_existing(const char *path, DWORD access, DWORD share)
{
	wchar_t *w = widen(path);
	if (!w) {
		SetLastError(ERROR_INVALID_NAME);
		return INVALID_HANDLE_VALUE;
	}
	HANDLE h = CreateFileW(w, access, share, NULL, OPEN_EXISTING,
			       FILE_FLAG_BACKUP_SEMANTICS, NULL);
	free(w);
	return h;
}

int uffs_map_open(const char *path, struct uffs_map *m, int *os_error,
		  const char **what)
{
	*m = (struct uffs_map){NULL, 0, -1, 0};
	HANDLE h = open_existing(path, GENERIC_READ,
				 FILE_SHARE_READ | FILE_SHARE_DELETE);
	if (h == INVALID_HANDLE_VALUE) {
		*os_error = (int)GetLastError();
		*what = "cannot open";
		return -1;
	}
	BY_HANDLE_FILE_INFORMATION info;
	LARGE_INTEGER size;
	if (!GetFileInformationByHandle(h, &info) ||
	    (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
	    !GetFileSizeEx(h, &size)) {
		*os_error = (int)ERROR_DIRECTORY;
		*what = "not a regular file";
		CloseHandle(h);
		return -1;
	}
	m->len = (uint64_t)size.QuadPart;
	if (m->len) {
		HANDLE map = CreateFileMappingW(h, NULL, PAGE_READONLY, 0, 0, NULL);
		void *p = map ? MapViewOfFile(map, FILE_MAP_READ, 0, 0, 0) : NULL;
		if (!p) {
			*os_error = (int)GetLastError();
			*what = "cannot map";
			if (map)
				CloseHandle(map);
			CloseHandle(h);
			return -1;
		}
		/* The view keeps the mapping and the file alive. */
		CloseHandle(map);
		m->data = p;
	}
	CloseHandle(h);
	return 0;
}

void uffs_map_close(struct uffs_map *m)
{
	if (m->data)
		UnmapViewOfFile(m->data);
	*m = (struct uffs_map){NULL, 0, -1, 0};
}

int uffs_outfile_open(struct uffs_outfile *o, const char *final_path,
		      int *os_error)
{
	*o = (struct uffs_outfile){-1, NULL, NULL};
	size_t n = strlen(final_path);
	o->tmp_path = malloc(n + 32);
	o->final_path = _strdup(final_path);
	wchar_t *w = NULL;
	if (!o->tmp_path || !o->final_path) {
		*os_error = ERROR_NOT_ENOUGH_MEMORY;
		goto fail;
	}
	/* A name no other writer uses: process id and tick count. */
	snprintf(o->tmp_path, n + 32, "%s.tmp-%lu-%lu", final_path,
		 (unsigned long)GetCurrentProcessId(),
		 (unsigned long)GetTickCount());
	w = widen(o->tmp_path);
	HANDLE h = w ? CreateFileW(w, GENERIC_WRITE, 0, NULL, CREATE_NEW,
				   FILE_ATTRIBUTE_NORMAL, NULL)
		     : INVALID_HANDLE_VALUE;
	if (h == INVALID_HANDLE_VALUE) {
		*os_error = (int)GetLastError();
		goto fail;
	}
	free(w);
	o->handle = (intptr_t)h;
	return 0;
fail:
	free(w);
	free(o->tmp_path);
	free(o->final_path);
	*o = (struct uffs_outfile){-1, NULL, NULL};
	return -1;
}

int uffs_outfile_write(struct uffs_outfile *o, const void *p, size_t n,
		       int *os_error)
{
	const char *c = p;
	while (n) {
		DWORD part = n > (1u << 30) ? (1u << 30) : (DWORD)n, done = 0;
		if (!WriteFile((HANDLE)o->handle, c, part, &done, NULL) || !done) {
			*os_error = (int)GetLastError();
			return -1;
		}
		c += done;
		n -= done;
	}
	return 0;
}

static void release(struct uffs_outfile *o, bool remove_tmp)
{
	if (o->handle != -1)
		CloseHandle((HANDLE)o->handle);
	if (remove_tmp && o->tmp_path) {
		wchar_t *w = widen(o->tmp_path);
		if (w)
			DeleteFileW(w);
		free(w);
	}
	free(o->tmp_path);
	free(o->final_path);
	*o = (struct uffs_outfile){-1, NULL, NULL};
}

int uffs_outfile_commit(struct uffs_outfile *o, int *os_error)
{
	HANDLE h = (HANDLE)o->handle;
	o->handle = -1;
	BOOL ok = FlushFileBuffers(h);
	DWORD e = GetLastError();
	if (!CloseHandle(h) && ok)
		ok = FALSE, e = GetLastError();
	wchar_t *from = widen(o->tmp_path), *to = widen(o->final_path);
	if (ok && (!from || !to ||
		   !MoveFileExW(from, to, MOVEFILE_REPLACE_EXISTING |
						  MOVEFILE_WRITE_THROUGH)))
		ok = FALSE, e = GetLastError();
	free(from);
	free(to);
	if (!ok) {
		*os_error = (int)e;
		release(o, true);
		return -1;
	}
	release(o, false);
	return 0;
}

void uffs_outfile_abort(struct uffs_outfile *o)
{
	release(o, true);
}

bool uffs_same_file(const char *a, const char *b)
{
	BY_HANDLE_FILE_INFORMATION ia, ib;
	HANDLE ha = open_existing(a, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE);
	HANDLE hb = open_existing(b, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE);
	bool same = ha != INVALID_HANDLE_VALUE && hb != INVALID_HANDLE_VALUE &&
		    GetFileInformationByHandle(ha, &ia) &&
		    GetFileInformationByHandle(hb, &ib) &&
		    ia.dwVolumeSerialNumber == ib.dwVolumeSerialNumber &&
		    ia.nFileIndexHigh == ib.nFileIndexHigh &&
		    ia.nFileIndexLow == ib.nFileIndexLow;
	if (ha != INVALID_HANDLE_VALUE)
		CloseHandle(ha);
	if (hb != INVALID_HANDLE_VALUE)
		CloseHandle(hb);
	return same;
}

bool uffs_outfile_replaceable(const char *path)
{
	HANDLE h = open_existing(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE);
	if (h == INVALID_HANDLE_VALUE)
		return true; /* absent (or a directory: the rename says so) */
	BY_HANDLE_FILE_INFORMATION i;
	bool ok = GetFileType(h) == FILE_TYPE_DISK &&
		  GetFileInformationByHandle(h, &i) &&
		  !(i.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY);
	CloseHandle(h);
	return ok;
}
