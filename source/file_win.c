/* Windows file, volume and disk access, read-only, through overlapped
 * handles (the IOCP backend needs them; plain reads wait on an event). */
#include <windows.h>
#include <winioctl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

/* UTF-8 (the command line, as main receives it here) to UTF-16. */
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

static bool is_device_path(const char *path)
{
	return path[0] == '\\' && path[1] == '\\' && path[2] == '.' &&
	       path[3] == '\\';
}

static bool is_letter(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* "C:", "C:\" and "\\.\C:" all name the volume C:. Writes the device
 * path to open into dev and the drive ("C:") into drive; false when the
 * path is not a drive. */
static bool drive_of(const char *path, char dev[8], char drive[4])
{
	const char *p = is_device_path(path) ? path + 4 : path;
	if (!is_letter(p[0]) || p[1] != ':' ||
	    !(p[2] == '\0' || ((p[2] == '\\' || p[2] == '/') && p[3] == '\0')))
		return false;
	char letter = (char)(p[0] & ~0x20);
	snprintf(dev, 8, "\\\\.\\%c:", letter);
	drive[0] = letter;
	drive[1] = ':';
	drive[2] = '\0';
	return true;
}

/* A volume's length: IOCTL_DISK_GET_LENGTH_INFO, else the file size (a
 * volume Wine maps to an image file), else unknown (UINT64_MAX: reads are
 * then bounded by the volume size in the boot sector). The overlapped
 * handle needs an OVERLAPPED with an event for the ioctl. */
static uint64_t device_size(HANDLE h)
{
	GET_LENGTH_INFORMATION len;
	DWORD got = 0;
	OVERLAPPED ov = {0};
	ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	BOOL ok = ov.hEvent &&
		  (DeviceIoControl(h, IOCTL_DISK_GET_LENGTH_INFO, NULL, 0, &len,
				   sizeof len, &got, &ov) ||
		   (GetLastError() == ERROR_IO_PENDING &&
		    GetOverlappedResult(h, &ov, &got, TRUE)));
	if (ov.hEvent)
		CloseHandle(ov.hEvent);
	if (ok)
		return (uint64_t)len.Length.QuadPart;
	LARGE_INTEGER size;
	if (GetFileSizeEx(h, &size) && size.QuadPart > 0)
		return (uint64_t)size.QuadPart;
	return UINT64_MAX;
}

/* Whether the disk under a volume seeks (a spinning disk): the storage
 * stack's seek-penalty answer; unknown counts as no. */
static bool has_seek_penalty(HANDLE h)
{
	STORAGE_PROPERTY_QUERY q = {StorageDeviceSeekPenaltyProperty,
				    PropertyStandardQuery, {0}};
	DEVICE_SEEK_PENALTY_DESCRIPTOR d = {0};
	DWORD got = 0;
	OVERLAPPED ov = {0};
	ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	BOOL ok = ov.hEvent &&
		  (DeviceIoControl(h, IOCTL_STORAGE_QUERY_PROPERTY, &q, sizeof q, &d,
				   sizeof d, &got, &ov) ||
		   (GetLastError() == ERROR_IO_PENDING &&
		    GetOverlappedResult(h, &ov, &got, TRUE)));
	if (ov.hEvent)
		CloseHandle(ov.hEvent);
	return ok && got >= sizeof d && d.IncursSeekPenalty;
}

int uffs_file_open(const char *path, struct uffs_file *f, int *os_error,
		   const char **what)
{
	char dev[8], drive[4] = "";
	bool is_drive = drive_of(path, dev, drive);
	wchar_t *w = widen(is_drive ? dev : path);
	if (!w) {
		*os_error = ERROR_INVALID_NAME;
		*what = "cannot convert the path";
		return -1;
	}
	HANDLE h = CreateFileW(w, GENERIC_READ,
			       FILE_SHARE_READ | FILE_SHARE_WRITE |
				       FILE_SHARE_DELETE,
			       NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		*os_error = (int)GetLastError();
		*what = "cannot open";
		return -1;
	}
	f->handle = (intptr_t)h;
	f->is_device = is_drive || is_device_path(path);
	memcpy(f->volume_prefix, drive, sizeof drive);
	f->rotational = false;
	f->direct_handle = -1;
	f->direct_align = 0;
	if (f->is_device) {
		f->size = device_size(h);
		f->rotational = has_seek_penalty(h);
	} else {
		LARGE_INTEGER size;
		if (!GetFileSizeEx(h, &size)) {
			*os_error = (int)GetLastError();
			*what = "cannot get the file size";
			CloseHandle(h);
			return -1;
		}
		f->size = (uint64_t)size.QuadPart;
	}
	return 0;
}

/* One positioned read on an overlapped handle: the event's low bit keeps
 * the completion away from any completion port the handle is bound to. */
static int64_t read_at(HANDLE h, void *buf, DWORD len, uint64_t off,
		       int *os_error)
{
	OVERLAPPED ov = {0};
	ov.Offset = (DWORD)off;
	ov.OffsetHigh = (DWORD)(off >> 32);
	HANDLE ev = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (!ev) {
		*os_error = (int)GetLastError();
		return -1;
	}
	ov.hEvent = (HANDLE)((uintptr_t)ev | 1);
	DWORD got = 0;
	BOOL ok = ReadFile(h, buf, len, NULL, &ov);
	DWORD err = ok ? 0 : GetLastError();
	if (ok || err == ERROR_IO_PENDING) {
		ok = GetOverlappedResult(h, &ov, &got, TRUE);
		err = ok ? 0 : GetLastError();
	}
	CloseHandle(ev);
	if (!ok && err == ERROR_HANDLE_EOF)
		return 0;
	if (!ok) {
		*os_error = (int)err;
		return -1;
	}
	return got;
}

uint64_t uffs_file_next_data(const struct uffs_file *f, uint64_t off)
{
	/* Holes are read as zeros here (FSCTL_QUERY_ALLOCATED_RANGES would
	 * find them; not needed yet). */
	return off < f->size ? off : f->size;
}

int uffs_file_cached(const struct uffs_file *f, void *buf, size_t len,
		     uint64_t off)
{
	/* Windows has no read that refuses to wait for the device. */
	(void)f;
	(void)buf;
	(void)len;
	(void)off;
	return -1;
}

int64_t uffs_file_pread(const struct uffs_file *f, void *buf, size_t len,
			uint64_t off, int *os_error)
{
	size_t done = 0;
	while (done < len) {
		size_t want = len - done;
		if (want > (1u << 30))
			want = 1u << 30;
		int64_t n = read_at((HANDLE)f->handle, (char *)buf + done,
				    (DWORD)want, off + done, os_error);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (int64_t)done;
}

int uffs_file_open_direct(struct uffs_file *f, const char *path)
{
	char dev[8], drive[4];
	wchar_t *w = widen(drive_of(path, dev, drive) ? dev : path);
	if (!w)
		return -1;
	HANDLE h = CreateFileW(w, GENERIC_READ,
			       FILE_SHARE_READ | FILE_SHARE_WRITE |
				       FILE_SHARE_DELETE,
			       NULL, OPEN_EXISTING,
			       FILE_FLAG_OVERLAPPED | FILE_FLAG_NO_BUFFERING, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE)
		return -1;
	f->direct_handle = (intptr_t)h;
	/* Sector-aligned offsets, lengths and buffers: 4096 covers 512e and
	 * 4Kn disks alike. */
	f->direct_align = 4096;
	return 0;
}

void uffs_file_close(struct uffs_file *f)
{
	if (f->direct_handle != -1 && f->direct_handle != 0)
		CloseHandle((HANDLE)f->direct_handle);
	f->direct_handle = -1;
	if (f->handle != -1 && f->handle != 0)
		CloseHandle((HANDLE)f->handle);
	f->handle = -1;
}

/* DeviceIoControl on an overlapped handle, waited for. */
static BOOL ioctl_wait(HANDLE h, DWORD code, void *in, DWORD in_len, void *out,
		       DWORD out_len, DWORD *got)
{
	OVERLAPPED ov = {0};
	ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (!ov.hEvent)
		return FALSE;
	ov.hEvent = (HANDLE)((uintptr_t)ov.hEvent | 1);
	BOOL ok = DeviceIoControl(h, code, in, in_len, out, out_len, got, &ov);
	if (!ok && (GetLastError() == ERROR_IO_PENDING))
		ok = GetOverlappedResult(h, &ov, got, TRUE);
	else if (!ok && GetLastError() == ERROR_MORE_DATA)
		ok = GetOverlappedResult(h, &ov, got, TRUE) ||
		     GetLastError() == ERROR_MORE_DATA;
	CloseHandle((HANDLE)((uintptr_t)ov.hEvent & ~(uintptr_t)1));
	return ok;
}

int uffs_file_volume_facts(const struct uffs_file *f, uint8_t *vd,
			   size_t vd_len, uint8_t *rp, size_t rp_cap,
			   size_t *rp_len)
{
	*rp_len = 0;
	if (!f->volume_prefix[0])
		return -1;
	DWORD got = 0;
	if (!ioctl_wait((HANDLE)f->handle, FSCTL_GET_NTFS_VOLUME_DATA, NULL, 0, vd,
			(DWORD)vd_len, &got) ||
	    got < 96)
		return -1;
	if (rp_cap == 0)
		return 0;
	/* $MFT's extents, through a handle on the file itself. */
	wchar_t name[16] = L"X:\\$MFT";
	name[0] = (wchar_t)f->volume_prefix[0];
	HANDLE mft = CreateFileW(name, FILE_READ_ATTRIBUTES,
				 FILE_SHARE_READ | FILE_SHARE_WRITE |
					 FILE_SHARE_DELETE,
				 NULL, OPEN_EXISTING,
				 FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OVERLAPPED,
				 NULL);
	if (mft != INVALID_HANDLE_VALUE) {
		STARTING_VCN_INPUT_BUFFER start = {{{0}}};
		if (ioctl_wait(mft, FSCTL_GET_RETRIEVAL_POINTERS, &start,
			       sizeof start, rp, (DWORD)rp_cap, &got) &&
		    GetLastError() != ERROR_MORE_DATA)
			*rp_len = got;
		CloseHandle(mft);
	}
	return 0;
}

/* A journal control code's answer: DeviceIoControl's BOOL, its byte count
 * and GetLastError. */
typedef BOOL (*journal_ioctl_fn)(HANDLE h, DWORD code, const void *in,
				 DWORD in_len, void *out, DWORD out_len,
				 DWORD *got);

#ifdef UFFS_JOURNAL_DOUBLE
/* TEST BUILDS ONLY. meson compiles this in with -Djournal_double=true (off
 * by default, set by scripts/test for its Wine runs, where DeviceIoControl
 * has no change journal); a release build has no path that answers the
 * journal's control codes (and FSCTL_GET_NTFS_FILE_RECORD, which `watch`
 * reads changed records with) from anything but the volume. When
 * UFFS_JOURNAL_DOUBLE_DLL names a DLL, the answers come from its
 * uffs_journal_double_ioctl and from nothing else: a double that does not
 * load is an error, never quietly the OS. The module stays loaded (its
 * handle is counted again at each call, which costs nothing). Returns
 * NULL without the variable; sets *error when it names no usable DLL. */
static journal_ioctl_fn journal_double(DWORD *error)
{
	wchar_t path[MAX_PATH];
	DWORD n = GetEnvironmentVariableW(L"UFFS_JOURNAL_DOUBLE_DLL", path,
					  MAX_PATH);
	*error = 0;
	if (n == 0)
		return NULL;
	HMODULE m = n < MAX_PATH ? LoadLibraryW(path) : NULL;
	FARPROC p = m ? GetProcAddress(m, "uffs_journal_double_ioctl") : NULL;
	if (!p)
		*error = n < MAX_PATH ? ERROR_MOD_NOT_FOUND : ERROR_FILENAME_EXCED_RANGE;
	journal_ioctl_fn fn;
	memcpy(&fn, &p, sizeof fn);
	return fn;
}
#else
static journal_ioctl_fn journal_double(DWORD *error)
{
	*error = 0;
	return NULL;
}
#endif

/* A journal or record control code on volume handle h; a read that waits is
 * cancelled after wait_ms more than it asked the system for, so that a
 * follower's loop comes back to its own checks (--count, --for) whatever
 * the system makes of READ_USN_JOURNAL_DATA's Timeout. 0 or an OS error. */
static int journal_ioctl(HANDLE h, DWORD code, void *in, DWORD in_len,
			 void *out, DWORD out_len, DWORD *got, DWORD wait_ms)
{
	DWORD error;
	journal_ioctl_fn dbl = journal_double(&error);
	if (error)
		return (int)error;
	if (dbl)
		return dbl(h, code, in, in_len, out, out_len, got)
			       ? 0
			       : (int)GetLastError();
	if (!wait_ms)
		return ioctl_wait(h, code, in, in_len, out, out_len, got)
			       ? 0
			       : (int)GetLastError();
	OVERLAPPED ov = {0};
	HANDLE ev = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (!ev)
		return (int)GetLastError();
	ov.hEvent = (HANDLE)((uintptr_t)ev | 1);
	int rc = 0;
	if (!DeviceIoControl(h, code, in, in_len, out, out_len, got, &ov)) {
		rc = (int)GetLastError();
		if (rc == ERROR_IO_PENDING) {
			rc = 0;
			if (WaitForSingleObject(ev, wait_ms + 1000) != WAIT_OBJECT_0)
				CancelIoEx(h, &ov);
			if (!GetOverlappedResult(h, &ov, got, TRUE)) {
				rc = (int)GetLastError();
				if (rc == ERROR_OPERATION_ABORTED) {
					/* Nothing came: the journal's end is
					 * where the read began. */
					memcpy(out, in, 8);
					*got = 8;
					rc = 0;
				}
			}
		}
	}
	CloseHandle(ev);
	return rc;
}

int uffs_file_journal_query(const struct uffs_file *f, uint8_t *q, size_t q_cap,
			    size_t *q_len)
{
	*q_len = 0;
	if (!f->volume_prefix[0])
		return -1;
	DWORD got = 0;
	int rc = journal_ioctl((HANDLE)f->handle, FSCTL_QUERY_USN_JOURNAL, NULL,
			       0, q, (DWORD)q_cap, &got, 0);
	if (rc)
		return rc;
	*q_len = got <= q_cap ? got : q_cap;
	return 0;
}

int uffs_file_journal_read(const struct uffs_file *f, uint64_t id,
			   int64_t start, bool wait, uint32_t timeout_ms,
			   uint8_t *out, size_t cap, size_t *got)
{
	*got = 0;
	if (!f->volume_prefix[0])
		return -1;
	/* READ_USN_JOURNAL_DATA_V1 as Microsoft documents it (mingw-w64's
	 * headers have only V0, which cannot ask for version 3 and 4). */
	struct {
		int64_t StartUsn;
		uint32_t ReasonMask, ReturnOnlyOnClose;
		uint64_t Timeout, BytesToWaitFor, UsnJournalID;
		uint16_t MinMajorVersion, MaxMajorVersion;
	} in = {0};
	in.StartUsn = start;
	in.ReasonMask = 0xFFFFFFFF;
	in.ReturnOnlyOnClose = FALSE;
	/* Timeout in 100 ns units, only while waiting; journal_ioctl also
	 * bounds the wait by its own clock. */
	in.Timeout = wait ? (DWORDLONG)timeout_ms * 10000 : 0;
	in.BytesToWaitFor = wait ? 1 : 0;
	in.UsnJournalID = id;
	in.MinMajorVersion = 2;
	in.MaxMajorVersion = 4;
	DWORD n = 0;
	int rc = journal_ioctl((HANDLE)f->handle, FSCTL_READ_USN_JOURNAL, &in,
			       sizeof in, out, (DWORD)cap, &n,
			       wait ? (timeout_ms ? timeout_ms : 1) : 0);
	if (rc)
		return rc;
	*got = n <= cap ? n : cap;
	return 0;
}

int uffs_file_ntfs_record(const struct uffs_file *f, uint64_t frs,
			  uint8_t *out, size_t cap, size_t *got)
{
	*got = 0;
	if (!f->volume_prefix[0])
		return -1;
	NTFS_FILE_RECORD_INPUT_BUFFER in;
	in.FileReferenceNumber.QuadPart = (LONGLONG)frs;
	DWORD n = 0;
	int rc = journal_ioctl((HANDLE)f->handle, FSCTL_GET_NTFS_FILE_RECORD,
			       &in, sizeof in, out, (DWORD)cap, &n, 0);
	if (rc)
		return rc;
	*got = n <= cap ? n : cap;
	return 0;
}

bool uffs_file_error_unsupported(int os_error)
{
	return os_error == ERROR_INVALID_FUNCTION ||
	       os_error == ERROR_NOT_SUPPORTED ||
	       os_error == ERROR_INVALID_PARAMETER ||
	       os_error == ERROR_CALL_NOT_IMPLEMENTED;
}

const char *uffs_file_strerror(int os_error)
{
	switch (os_error) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return "No such file or directory";
	case ERROR_ACCESS_DENIED:
		return "Access denied (a volume needs an elevated prompt: run as administrator)";
	case ERROR_SHARING_VIOLATION:
		return "The file is in use by another process";
	case ERROR_INVALID_NAME:
		return "Invalid file name";
	case ERROR_NOT_READY:
		return "The device is not ready";
	case ERROR_HANDLE_EOF:
		return "End of file";
	case ERROR_INVALID_FUNCTION:
	case ERROR_NOT_SUPPORTED:
		return "The device does not support reading it this way";
	case ERROR_LOCK_VIOLATION:
		return "The volume is locked";
	case ERROR_JOURNAL_NOT_ACTIVE:
		return "The volume has no active change journal";
	case ERROR_JOURNAL_DELETE_IN_PROGRESS:
		return "The change journal is being deleted";
	case ERROR_JOURNAL_ENTRY_DELETED:
		return "The journal no longer holds the records asked for";
	case ERROR_MOD_NOT_FOUND:
		return "The module that was to answer did not load";
	default:
		return "Windows error (see GetLastError)";
	}
}
