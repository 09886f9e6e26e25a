/* HRESULTs of Windows' I/O ring API that mingw-w64's winerror.h lacks
 * (Microsoft's SDK defines them there). Shared by the ioring backend and
 * the test double in tests/windows, so both speak the same codes. */
#ifndef UFFS_BACKENDS_IORING_HRESULT_H
#define UFFS_BACKENDS_IORING_HRESULT_H

#include <windows.h>

#ifndef IORING_E_REQUIRED_FLAG_NOT_SUPPORTED
#define IORING_E_REQUIRED_FLAG_NOT_SUPPORTED ((HRESULT)0x80460001L)
#define IORING_E_SUBMISSION_QUEUE_FULL ((HRESULT)0x80460002L)
#define IORING_E_VERSION_NOT_SUPPORTED ((HRESULT)0x80460003L)
#define IORING_E_SUBMISSION_QUEUE_TOO_BIG ((HRESULT)0x80460004L)
#define IORING_E_COMPLETION_QUEUE_TOO_BIG ((HRESULT)0x80460005L)
#define IORING_E_SUBMIT_IN_PROGRESS ((HRESULT)0x80460006L)
#define IORING_E_CORRUPT ((HRESULT)0x80460007L)
#define IORING_E_COMPLETION_QUEUE_TOO_FULL ((HRESULT)0x80460008L)
#endif
/* SubmitIoRing's "submitted, then the wait timed out". Its value is not
 * in any header here; the double uses the Win32 wait code, and the
 * backend treats every failed wait alike, so nothing depends on it. */
#ifndef IORING_E_WAIT_TIMEOUT
#define IORING_E_WAIT_TIMEOUT HRESULT_FROM_WIN32(WAIT_TIMEOUT)
#endif

/* STATUS_END_OF_FILE as an HRESULT: a read at the end reported in the
 * kernel's own terms rather than as ERROR_HANDLE_EOF. */
#define UFFS_HRESULT_NT_END_OF_FILE ((HRESULT)(0xC0000011L | 0x10000000L))

#endif
