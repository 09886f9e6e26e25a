/* Positioned reads for the portable backends on Windows: overlapped
 * ReadFile waited on an event (the low bit keeps the completion off any
 * completion port the handle is bound to). */
#include <windows.h>

#include "pread.h"

unsigned uaio_cpu_count(void)
{
	SYSTEM_INFO si;
	GetSystemInfo(&si);
	return si.dwNumberOfProcessors ? si.dwNumberOfProcessors : 1;
}

int uaio_from_win32(unsigned long err)
{
	switch (err) {
	case ERROR_INVALID_HANDLE:
		return UAIO_E_BADF;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return UAIO_E_NOMEM;
	case ERROR_INVALID_PARAMETER:
		return UAIO_E_INVAL;
	case ERROR_OPERATION_ABORTED:
		return UAIO_E_CANCELED;
	case ERROR_NOT_SUPPORTED:
	case ERROR_CALL_NOT_IMPLEMENTED:
		return UAIO_E_UNAVAILABLE;
	default:
		return UAIO_E_IO;
	}
}

int64_t uaio_pread(const struct uaio_op *op)
{
	OVERLAPPED ov = {0};
	ov.Offset = (DWORD)op->offset;
	ov.OffsetHigh = (DWORD)(op->offset >> 32);
	HANDLE ev = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (!ev)
		return UAIO_E_NOMEM;
	ov.hEvent = (HANDLE)((uintptr_t)ev | 1);
	DWORD got = 0;
	HANDLE h = (HANDLE)op->handle;
	BOOL ok = ReadFile(h, op->buf, (DWORD)op->len, NULL, &ov);
	DWORD err = ok ? 0 : GetLastError();
	if (ok || err == ERROR_IO_PENDING) {
		ok = GetOverlappedResult(h, &ov, &got, TRUE);
		err = ok ? 0 : GetLastError();
	}
	CloseHandle(ev);
	if (!ok)
		return err == ERROR_HANDLE_EOF ? 0 : uaio_from_win32(err);
	return got;
}
