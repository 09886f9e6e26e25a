/* uffs_journal_double.dll: a live volume's change journal served from a
 * captured $J file, so that the FSCTL path of source/file_win.c (query, read,
 * a follower's waiting reads) runs under Wine, whose DeviceIoControl has no
 * USN journal. TEST-ONLY: built by the cross build's tests, called only by a
 * build configured with -Djournal_double=true, and only when
 * UFFS_JOURNAL_DOUBLE_DLL names it. It answers the two control codes the way
 * DeviceIoControl does (a BOOL, the byte count, SetLastError):
 *
 *   FSCTL_QUERY_USN_JOURNAL  USN_JOURNAL_DATA_V1 (V0 if the buffer holds no
 *       more): the journal ID, FirstUsn (the first record), NextUsn (the end
 *       of the last record), LowestValidUsn = FirstUsn, MaxUsn, MaximumSize
 *       and AllocationDelta from UFFS_JOURNAL_DOUBLE_MAX (32 MiB, 8 MiB).
 *   FSCTL_READ_USN_JOURNAL  READ_USN_JOURNAL_DATA_V0 or V1: StartUsn 0 reads
 *       from FirstUsn; a nonzero StartUsn below FirstUsn fails with
 *       ERROR_JOURNAL_ENTRY_DELETED (as documented); another journal ID fails
 *       with ERROR_INVALID_PARAMETER (the double's choice: the documentation
 *       does not say). The answer is the next USN (8 bytes) then the whole
 *       records at or after StartUsn that fit, those with a reason in
 *       ReasonMask (and CLOSE, with ReturnOnlyOnClose). With BytesToWaitFor
 *       > 0 and nothing to give, it waits for records to be appended to the
 *       file, up to Timeout (read as file_win.c writes it: 100 ns units; 0:
 *       no limit), polling every 20 ms, then answers the 8 bytes alone.
 *       Records are given as they are in the file: the caller bounds them.
 *   FSCTL_GET_NTFS_FILE_RECORD  NTFS_FILE_RECORD_OUTPUT_BUFFER from the
 *       captured $MFT UFFS_JOURNAL_DOUBLE_MFT names (record size from record
 *       0's header): the record asked for when it is in use ("FILE", flag
 *       0x01), else the nearest lower one that is, as documented; as NTFS
 *       holds it in memory (each stride's tail restored from the update
 *       sequence array), so that a volume's lazily written copy and the
 *       file system's current one can differ in a test. Without the
 *       variable: ERROR_INVALID_FUNCTION, as Wine answers.
 *
 * Where the journal comes from, and what else it does, from the environment,
 * read at every call (so a test can append records while a follower waits):
 *   UFFS_JOURNAL_DOUBLE_J       the captured $J file (required)
 *   UFFS_JOURNAL_DOUBLE_ID      the journal ID, hex (default 1d9abcdef012345)
 *   UFFS_JOURNAL_DOUBLE_BATCH   at most this many records an answer
 *   UFFS_JOURNAL_DOUBLE_MFT     the captured $MFT records are served from
 *   UFFS_JOURNAL_DOUBLE_FAULTS  comma list of query:ERR, read:ERR or
 *       record:ERR, ERR one
 *       of notactive (ERROR_JOURNAL_NOT_ACTIVE), deleting
 *       (ERROR_JOURNAL_DELETE_IN_PROGRESS), deleted
 *       (ERROR_JOURNAL_ENTRY_DELETED), denied (ERROR_ACCESS_DENIED),
 *       unsupported (ERROR_INVALID_FUNCTION, what Wine answers); read:ERR@N
 *       fails reads from StartUsn N on (a journal deleted under a follower).
 * The file's byte 0 is the USN its first record names minus that record's
 * offset, as for a trimmed captured $J. The double keeps no state. */
#include <windows.h>
#include <winioctl.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096u
#define REC_MIN 8u
#define POLL_MS 20u
#define FILE_MAX ((uint64_t)1 << 34)
#define DEFAULT_ID 0x1d9abcdef012345ull

__declspec(dllexport) BOOL uffs_journal_double_ioctl(HANDLE h, DWORD code,
						     const void *in,
						     DWORD in_len, void *out,
						     DWORD out_len,
						     DWORD *got);

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool env(const char *name, char *buf, size_t cap)
{
	DWORD n = GetEnvironmentVariableA(name, buf, (DWORD)cap);
	return n > 0 && n < cap;
}

static BOOL fail(DWORD error)
{
	SetLastError(error);
	return FALSE;
}

/* The error a fault word names, 0 if none. */
static DWORD fault_error(const char *w, size_t n)
{
	static const struct {
		const char *name;
		DWORD error;
	} table[] = {
		{"notactive", ERROR_JOURNAL_NOT_ACTIVE},
		{"deleting", ERROR_JOURNAL_DELETE_IN_PROGRESS},
		{"deleted", ERROR_JOURNAL_ENTRY_DELETED},
		{"denied", ERROR_ACCESS_DENIED},
		{"unsupported", ERROR_INVALID_FUNCTION},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strlen(table[i].name) == n && !memcmp(table[i].name, w, n))
			return table[i].error;
	return 0;
}

/* The fault for `what` ("query" or "read") at USN `at`, 0 if none. */
static DWORD fault_for(const char *what, int64_t at)
{
	char list[256];
	if (!env("UFFS_JOURNAL_DOUBLE_FAULTS", list, sizeof list))
		return 0;
	size_t wl = strlen(what);
	for (const char *s = list; *s;) {
		size_t n = strcspn(s, ",");
		if (n > wl && !memcmp(s, what, wl) && s[wl] == ':') {
			const char *e = s + wl + 1;
			size_t en = strcspn(e, ",@");
			int64_t from = 0;
			if (e[en] == '@')
				from = _strtoi64(e + en + 1, NULL, 10);
			DWORD err = fault_error(e, en);
			if (err && at >= from)
				return err;
		}
		s += n;
		if (*s)
			s++;
	}
	return 0;
}

/* The captured $J, read whole (test journals are small). */
struct jfile {
	uint8_t *data;
	uint64_t size;
	int64_t base;  /* the USN of byte 0 */
	int64_t first; /* the first record's USN; next: after the last */
	int64_t next;
};

/* The record at offset `at` of j: its length, or 0 when none starts there
 * (a zero length, or one that is short, unaligned or past its page). */
static uint32_t record_at(const struct jfile *j, uint64_t at)
{
	if (at + REC_MIN > j->size)
		return 0;
	uint32_t len = get32(j->data + at);
	if (len < REC_MIN || len % 8 || len > PAGE - at % PAGE ||
	    len > j->size - at)
		return 0;
	return len;
}

/* The offset of the first record at or after `at`: records run on in a page
 * until one is not there, then go on at the next page. j->size when none. */
static uint64_t record_next(const struct jfile *j, uint64_t at)
{
	while (at < j->size && !record_at(j, at))
		at = (at / PAGE + 1) * PAGE;
	return at < j->size ? at : j->size;
}

static DWORD jfile_load(struct jfile *j)
{
	char path[MAX_PATH];
	memset(j, 0, sizeof *j);
	if (!env("UFFS_JOURNAL_DOUBLE_J", path, sizeof path))
		return ERROR_JOURNAL_NOT_ACTIVE;
	HANDLE f = CreateFileA(path, GENERIC_READ,
			       FILE_SHARE_READ | FILE_SHARE_WRITE |
				       FILE_SHARE_DELETE,
			       NULL, OPEN_EXISTING, 0, NULL);
	if (f == INVALID_HANDLE_VALUE) {
		/* Said, because a test that meets this sees only "no journal". */
		fprintf(stderr, "uffs_journal_double: cannot open %s: error %lu\n",
			path, (unsigned long)GetLastError());
		return ERROR_JOURNAL_NOT_ACTIVE;
	}
	LARGE_INTEGER sz;
	DWORD error = 0;
	if (!GetFileSizeEx(f, &sz) || (uint64_t)sz.QuadPart > FILE_MAX) {
		fprintf(stderr, "uffs_journal_double: %s: no size, or too large\n",
			path);
		error = ERROR_JOURNAL_NOT_ACTIVE;
	} else if (!(j->data = malloc((size_t)sz.QuadPart + 1))) {
		error = ERROR_NOT_ENOUGH_MEMORY;
	} else {
		uint64_t have = 0;
		while (have < (uint64_t)sz.QuadPart) {
			DWORD chunk = (DWORD)min((uint64_t)sz.QuadPart - have,
						 (uint64_t)1 << 30), n = 0;
			if (!ReadFile(f, j->data + have, chunk, &n, NULL) || !n)
				break;
			have += n;
		}
		j->size = have;
	}
	CloseHandle(f);
	if (error)
		return error;
	/* Records start after a leading hole; the first one's USN places
	 * byte 0 (the file may be a trimmed copy of the stream). */
	uint64_t at = record_next(j, 0);
	if (at < j->size && record_at(j, at) >= 32)
		j->base = (int64_t)get64(j->data + at + 24) - (int64_t)at;
	j->first = j->base + (int64_t)at;
	uint64_t end = at;
	while (at < j->size) {
		uint32_t len = record_at(j, at);
		end = at + len;
		at = record_next(j, end);
	}
	j->next = j->base + (int64_t)end;
	return 0;
}

static uint64_t journal_id(void)
{
	char v[32];
	return env("UFFS_JOURNAL_DOUBLE_ID", v, sizeof v)
		       ? _strtoui64(v, NULL, 16)
		       : DEFAULT_ID;
}

static BOOL query(void *out, DWORD out_len, DWORD *got)
{
	DWORD err = fault_for("query", 0);
	if (err)
		return fail(err);
	struct jfile j;
	if ((err = jfile_load(&j)))
		return fail(err);
	free(j.data);
	if (out_len < 56)
		return fail(ERROR_INSUFFICIENT_BUFFER);
	uint8_t q[64] = {0};
	put64(q, journal_id());
	put64(q + 8, (uint64_t)j.first);
	put64(q + 16, (uint64_t)j.next);
	put64(q + 24, (uint64_t)j.first);
	put64(q + 32, (uint64_t)INT64_MAX);
	put64(q + 40, 32u << 20);
	put64(q + 48, 8u << 20);
	q[56] = 2; /* MinSupportedMajorVersion, MaxSupportedMajorVersion */
	q[58] = 4;
	DWORD n = out_len >= 64 ? 64 : 56;
	memcpy(out, q, n);
	*got = n;
	return TRUE;
}

/* The reason of a record of version 2, 3 or 4 (0 for another). */
static uint32_t record_reason(const uint8_t *r, uint32_t len)
{
	uint16_t major = (uint16_t)(r[4] | r[5] << 8);
	size_t off = major == 2 ? 40 : major == 3 ? 56 : major == 4 ? 48 : 0;
	return off && off + 4 <= len ? get32(r + off) : 0;
}

/* The records from `start` into out (after its 8 bytes), *next after them. */
static DWORD fill(const struct jfile *j, int64_t start, uint32_t mask,
		  bool only_close, uint8_t *out, DWORD out_len,
		  int64_t *next, unsigned *given)
{
	char v[32];
	unsigned batch = env("UFFS_JOURNAL_DOUBLE_BATCH", v, sizeof v)
				 ? (unsigned)strtoul(v, NULL, 10)
				 : 0;
	DWORD n = 8;
	*given = 0;
	*next = start;
	if (start >= j->next)
		return n;
	uint64_t at = record_next(j, (uint64_t)(start - j->base));
	while (at < j->size && (!batch || *given < batch)) {
		uint32_t len = record_at(j, at);
		if (len > out_len - n)
			break;
		uint32_t reason = record_reason(j->data + at, len);
		if ((reason & mask) &&
		    (!only_close || (reason & 0x80000000u))) {
			memcpy(out + n, j->data + at, len);
			n += len;
			(*given)++;
		}
		*next = j->base + (int64_t)(at + len);
		at = record_next(j, at + len);
	}
	return n;
}

static BOOL read_journal(const void *in, DWORD in_len, void *out,
			 DWORD out_len, DWORD *got)
{
	if (!in || in_len < 40)
		return fail(ERROR_INVALID_PARAMETER);
	if (out_len < 8)
		return fail(ERROR_INSUFFICIENT_BUFFER);
	const uint8_t *p = in;
	int64_t start = (int64_t)get64(p);
	uint32_t mask = get32(p + 8);
	bool only_close = get32(p + 12) != 0;
	uint64_t timeout = get64(p + 16), wait_bytes = get64(p + 24);
	uint64_t id = get64(p + 32);
	DWORD err = fault_for("read", start);
	if (err)
		return fail(err);
	if (id != journal_id())
		return fail(ERROR_INVALID_PARAMETER);
	uint64_t waited_ms = 0;
	for (;;) {
		struct jfile j;
		if ((err = jfile_load(&j)))
			return fail(err);
		if (start == 0)
			start = j.first;
		if (start < j.first) {
			free(j.data);
			return fail(ERROR_JOURNAL_ENTRY_DELETED);
		}
		int64_t next;
		unsigned given;
		DWORD n = fill(&j, start, mask, only_close, out, out_len, &next,
			       &given);
		free(j.data);
		bool timed_out = timeout && waited_ms * 10000 >= timeout;
		if (given || !wait_bytes || timed_out) {
			put64(out, (uint64_t)next);
			*got = n;
			return TRUE;
		}
		Sleep(POLL_MS);
		waited_ms += POLL_MS;
	}
}

/* ---- FSCTL_GET_NTFS_FILE_RECORD ------------------------------------------ */

#define REC_MAX 65536u

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Record frs of the captured $MFT f into rec (size bytes); false past its
 * end. */
static bool read_record(HANDLE f, uint64_t frs, uint8_t *rec, uint32_t size)
{
	LARGE_INTEGER at;
	at.QuadPart = (LONGLONG)(frs * size);
	DWORD n = 0;
	return SetFilePointerEx(f, at, NULL, FILE_BEGIN) &&
	       ReadFile(f, rec, size, &n, NULL) && n == size;
}

static bool in_use(const uint8_t *rec, uint32_t size)
{
	return size >= 0x30 && !memcmp(rec, "FILE", 4) && (rec[0x16] & 1);
}

/* Each stride's tail back from the update sequence array, as NTFS keeps a
 * record in memory after reading it (an array that does not fit: left). */
static void revert_fixup(uint8_t *rec, uint32_t size)
{
	uint32_t off = get16(rec + 4), count = get16(rec + 6);
	if (count != size / 512 + 1 || off < 8 || off + 2 * count > 510)
		return;
	for (uint32_t i = 1; i < count; i++)
		memcpy(rec + i * 512 - 2, rec + off + 2 * i, 2);
}

static BOOL file_record(const void *in, DWORD in_len, void *out,
			DWORD out_len, DWORD *got)
{
	char path[MAX_PATH];
	if (!env("UFFS_JOURNAL_DOUBLE_MFT", path, sizeof path))
		return fail(ERROR_INVALID_FUNCTION);
	if (!in || in_len < 8)
		return fail(ERROR_INVALID_PARAMETER);
	uint64_t want = get64(in) & 0xFFFFFFFFFFFFull;
	DWORD err = fault_for("record", (int64_t)want);
	if (err)
		return fail(err);
	HANDLE f = CreateFileA(path, GENERIC_READ,
			       FILE_SHARE_READ | FILE_SHARE_WRITE |
				       FILE_SHARE_DELETE,
			       NULL, OPEN_EXISTING, 0, NULL);
	if (f == INVALID_HANDLE_VALUE)
		return fail(ERROR_FILE_NOT_FOUND);
	uint8_t *rec = malloc(REC_MAX);
	uint32_t size = 0;
	if (rec && read_record(f, 0, rec, 1024))
		size = get32(rec + 0x1C);
	if (size < 512 || size > REC_MAX || (size & (size - 1)))
		size = 1024;
	LARGE_INTEGER fsize;
	uint64_t count = GetFileSizeEx(f, &fsize) ? (uint64_t)fsize.QuadPart / size : 0;
	uint64_t frs = want < count ? want : count ? count - 1 : 0;
	bool found = false;
	for (;;) {
		if (rec && read_record(f, frs, rec, size) && in_use(rec, size)) {
			found = true;
			break;
		}
		if (frs-- == 0)
			break;
	}
	CloseHandle(f);
	BOOL ok = FALSE;
	if (!found) {
		SetLastError(ERROR_FILE_NOT_FOUND);
	} else if (out_len < 12 + size) {
		SetLastError(ERROR_INSUFFICIENT_BUFFER);
	} else {
		revert_fixup(rec, size);
		uint8_t *o = out;
		put64(o, (uint64_t)get16(rec + 0x10) << 48 | frs);
		memcpy(o + 8, &size, 4);
		memcpy(o + 12, rec, size);
		*got = 12 + size;
		ok = TRUE;
	}
	free(rec);
	return ok;
}

BOOL uffs_journal_double_ioctl(HANDLE h, DWORD code, const void *in,
			       DWORD in_len, void *out, DWORD out_len,
			       DWORD *got)
{
	(void)h;
	*got = 0;
	if (code == FSCTL_QUERY_USN_JOURNAL)
		return query(out, out_len, got);
	if (code == FSCTL_READ_USN_JOURNAL)
		return read_journal(in, in_len, out, out_len, got);
	if (code == FSCTL_GET_NTFS_FILE_RECORD)
		return file_record(in, in_len, out, out_len, got);
	return fail(ERROR_INVALID_FUNCTION);
}
