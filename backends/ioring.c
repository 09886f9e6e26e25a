/* ioring: Windows 11's I/O ring (CreateIoRing, BuildIoRingReadFile,
 * SubmitIoRing, PopIoRingCompletion), with the caller's buffer region and
 * the first file registered where the ring supports it. The functions are looked up in
 * KernelBase at run time, so the binary starts on Windows 10 and under Wine
 * (which has none of them); there the probe says why and selection falls
 * back to iocp. A test build (-Dioring_double=true) may take them from the
 * user-mode double in tests/windows instead; see ioring_module. */
#include <windows.h>
#include <ioringapi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "../aio/uaio.h"
#include "ioring_hresult.h"
#include "pread.h"

typedef HRESULT(WINAPI *query_caps_fn)(IORING_CAPABILITIES *);
typedef BOOL(WINAPI *op_supported_fn)(HIORING, IORING_OP_CODE);
typedef HRESULT(WINAPI *create_fn)(IORING_VERSION, IORING_CREATE_FLAGS, UINT32,
				   UINT32, HIORING *);
typedef HRESULT(WINAPI *build_read_fn)(HIORING, IORING_HANDLE_REF,
				       IORING_BUFFER_REF, UINT32, UINT64,
				       UINT_PTR, IORING_SQE_FLAGS);
typedef HRESULT(WINAPI *submit_fn)(HIORING, UINT32, UINT32, UINT32 *);
typedef HRESULT(WINAPI *pop_fn)(HIORING, IORING_CQE *);
typedef HRESULT(WINAPI *close_fn)(HIORING);
typedef HRESULT(WINAPI *register_files_fn)(HIORING, UINT32, HANDLE const[],
					   UINT_PTR);
typedef HRESULT(WINAPI *register_buffers_fn)(HIORING, UINT32,
					     IORING_BUFFER_INFO const[],
					     UINT_PTR);

/* User data of our own registration requests, never a caller's read
 * (the engine's user data holds a slot number and a piece index). */
#define REGISTRATION ((UINT_PTR)UINT64_MAX)

struct ioring_api {
	char from[80]; /* where the functions came from, for --verbose */
	query_caps_fn query_caps;
	op_supported_fn op_supported;
	create_fn create;
	build_read_fn build_read;
	submit_fn submit;
	pop_fn pop;
	close_fn close;
	register_files_fn register_files;     /* optional */
	register_buffers_fn register_buffers; /* optional */
};

struct ioring_impl {
	struct ioring_api api;
	HIORING ring;
	uint8_t *fixed; /* registered buffer region (index 0), or NULL */
	size_t fixed_len;
	HANDLE fixed_file; /* registered file (index 0), or NULL */
	bool file_tried;
};

/* GetProcAddress returns FARPROC; going through void * names the cast. */
static void *lookup(HMODULE m, const char *name)
{
	FARPROC p = GetProcAddress(m, name);
	void *v;
	memcpy(&v, &p, sizeof v);
	return v;
}

static HMODULE kernelbase(struct ioring_api *api, char *why, size_t why_len)
{
	HMODULE kb = GetModuleHandleW(L"kernelbase.dll");
	if (!kb)
		snprintf(why, why_len, "KernelBase not loaded");
	snprintf(api->from, sizeof api->from, "KernelBase");
	return kb;
}

#ifdef UFFS_IORING_DOUBLE
/* TEST BUILDS ONLY. meson compiles this in with -Dioring_double=true (off by
 * default, set by scripts/test for its Wine runs); a release build has no
 * path that loads anything but KernelBase. When UFFS_IORING_DOUBLE_DLL names
 * a DLL, the functions come from it and from nothing else: a double that
 * does not load makes the backend unavailable, it never quietly becomes
 * KernelBase. The module stays loaded, as KernelBase does. */
static HMODULE ioring_module(struct ioring_api *api, char *why, size_t why_len)
{
	wchar_t path[MAX_PATH];
	DWORD n = GetEnvironmentVariableW(L"UFFS_IORING_DOUBLE_DLL", path,
					  MAX_PATH);
	if (n == 0)
		return kernelbase(api, why, why_len);
	if (n >= MAX_PATH) {
		snprintf(why, why_len, "UFFS_IORING_DOUBLE_DLL is too long");
		return NULL;
	}
	const wchar_t *base = path;
	for (const wchar_t *p = path; *p; p++)
		if (*p == L'\\' || *p == L'/')
			base = p + 1;
	HMODULE m = LoadLibraryW(path);
	if (!m)
		snprintf(why, why_len, "IoRing test double %ls did not load (error %lu)",
			 base, GetLastError());
	snprintf(api->from, sizeof api->from, "the test double (%ls)", base);
	return m;
}
#else
static HMODULE ioring_module(struct ioring_api *api, char *why, size_t why_len)
{
	return kernelbase(api, why, why_len);
}
#endif

static bool resolve(struct ioring_api *api, char *why, size_t why_len)
{
	HMODULE kb = ioring_module(api, why, why_len);
	if (!kb)
		return false;
	api->query_caps = (query_caps_fn)lookup(kb, "QueryIoRingCapabilities");
	api->op_supported = (op_supported_fn)lookup(kb, "IsIoRingOpSupported");
	api->create = (create_fn)lookup(kb, "CreateIoRing");
	api->build_read = (build_read_fn)lookup(kb, "BuildIoRingReadFile");
	api->submit = (submit_fn)lookup(kb, "SubmitIoRing");
	api->pop = (pop_fn)lookup(kb, "PopIoRingCompletion");
	api->close = (close_fn)lookup(kb, "CloseIoRing");
	api->register_files =
		(register_files_fn)lookup(kb, "BuildIoRingRegisterFileHandles");
	api->register_buffers =
		(register_buffers_fn)lookup(kb, "BuildIoRingRegisterBuffers");
	if (!api->query_caps || !api->op_supported || !api->create ||
	    !api->build_read || !api->submit || !api->pop || !api->close) {
		snprintf(why, why_len,
			 "no IoRing API in %s (Windows 11 or later; Wine has none): falling back",
			 api->from);
		return false;
	}
	return true;
}

static int ioring_probe(char *why, size_t why_len)
{
	struct ioring_api api;
	if (!resolve(&api, why, why_len))
		return UAIO_E_UNAVAILABLE;
	IORING_CAPABILITIES caps;
	if (FAILED(api.query_caps(&caps)) || caps.MaxVersion < IORING_VERSION_1) {
		snprintf(why, why_len, "QueryIoRingCapabilities: no usable version");
		return UAIO_E_UNAVAILABLE;
	}
	HIORING ring;
	IORING_CREATE_FLAGS flags = {IORING_CREATE_REQUIRED_FLAGS_NONE,
				     IORING_CREATE_ADVISORY_FLAGS_NONE};
	if (FAILED(api.create(IORING_VERSION_1, flags, 2, 4, &ring))) {
		snprintf(why, why_len, "CreateIoRing failed");
		return UAIO_E_UNAVAILABLE;
	}
	BOOL reads = api.op_supported(ring, IORING_OP_READ);
	api.close(ring);
	if (!reads) {
		snprintf(why, why_len, "IoRing cannot read files here");
		return UAIO_E_UNAVAILABLE;
	}
	return UAIO_OK;
}

static int ioring_init(struct uaio_ctx *ctx)
{
	if (ctx->cfg.reader)
		return UAIO_E_UNAVAILABLE; /* the kernel reads file handles only */
	struct ioring_impl *r = calloc(1, sizeof *r);
	char why[128];
	if (!r)
		return UAIO_E_NOMEM;
	if (!resolve(&r->api, why, sizeof why)) {
		free(r);
		return UAIO_E_UNAVAILABLE;
	}
	IORING_CREATE_FLAGS flags = {IORING_CREATE_REQUIRED_FLAGS_NONE,
				     IORING_CREATE_ADVISORY_FLAGS_NONE};
	if (FAILED(r->api.create(IORING_VERSION_1, flags, ctx->cfg.depth,
				 2 * ctx->cfg.depth, &r->ring))) {
		free(r);
		return UAIO_E_UNAVAILABLE;
	}
	ctx->impl = r;
	snprintf(ctx->detail, sizeof ctx->detail, "IoRing from %s", r->api.from);
	return UAIO_OK;
}

/* Submits one registration request and waits for its completion; only
 * called with no reads in flight, so the one completion is ours. */
static bool registered(struct ioring_impl *r, HRESULT built)
{
	UINT32 submitted;
	IORING_CQE cqe;
	if (FAILED(built) || FAILED(r->api.submit(r->ring, 1, 5000, &submitted)))
		return false;
	while (r->api.pop(r->ring, &cqe) == S_OK)
		if (cqe.UserData == REGISTRATION)
			return SUCCEEDED(cqe.ResultCode);
	return false;
}

static void register_file(struct ioring_impl *r, HANDLE h)
{
	r->file_tried = true;
	if (r->api.register_files &&
	    r->api.op_supported(r->ring, IORING_OP_REGISTER_FILES) &&
	    registered(r, r->api.register_files(r->ring, 1, &h, REGISTRATION)))
		r->fixed_file = h;
}

static int ioring_register_buffers(struct uaio_ctx *ctx, void *mem, size_t len)
{
	struct ioring_impl *r = ctx->impl;
	if (!r->api.register_buffers || len > UINT32_MAX || ctx->inflight ||
	    !r->api.op_supported(r->ring, IORING_OP_REGISTER_BUFFERS))
		return UAIO_E_UNAVAILABLE;
	IORING_BUFFER_INFO info = {mem, (UINT32)len};
	if (!registered(r, r->api.register_buffers(r->ring, 1, &info,
						   REGISTRATION)))
		return UAIO_E_UNAVAILABLE;
	r->fixed = mem;
	r->fixed_len = len;
	return UAIO_OK;
}

static int ioring_submit(struct uaio_ctx *ctx, const struct uaio_op *ops,
			 unsigned n)
{
	struct ioring_impl *r = ctx->impl;
	unsigned i;
	if (!r->file_tried && n && !ctx->inflight)
		register_file(r, (HANDLE)ops[0].handle);
	for (i = 0; i < n; i++) {
		HANDLE h = (HANDLE)ops[i].handle;
		uint8_t *b = ops[i].buf;
		IORING_HANDLE_REF raw_file = IoRingHandleRefFromHandle(h);
		IORING_HANDLE_REF reg_file = IoRingHandleRefFromIndex(0);
		IORING_HANDLE_REF file = h == r->fixed_file ? reg_file : raw_file;
		IORING_BUFFER_REF buf = IoRingBufferRefFromPointer(b);
		if (r->fixed && b >= r->fixed &&
		    ops[i].len <= r->fixed_len - (size_t)(b - r->fixed)) {
			IORING_BUFFER_REF reg =
				IoRingBufferRefFromIndexAndOffset(0, (UINT32)(b - r->fixed));
			buf = reg;
		}
		HRESULT built = r->api.build_read(r->ring, file, buf,
						  (UINT32)ops[i].len, ops[i].offset,
						  (UINT_PTR)ops[i].user_data,
						  IOSQE_FLAGS_NONE);
		if (built == IORING_E_SUBMISSION_QUEUE_FULL)
			break; /* the rest waits for completions */
		if (FAILED(built)) {
			if (i == 0)
				return UAIO_E_IO; /* refused outright: not room */
			break;
		}
	}
	UINT32 submitted = 0;
	if (i && FAILED(r->api.submit(r->ring, 0, 0, &submitted)))
		return UAIO_E_IO;
	return (int)i;
}

/* A completion's bytes, 0 at the end of the file (in Win32 or NT terms),
 * or a UAIO_E_* code; only Win32-facility codes carry a Win32 error. */
static int64_t cqe_result(const IORING_CQE *cqe)
{
	HRESULT hr = cqe->ResultCode;
	if (hr == HRESULT_FROM_WIN32(ERROR_HANDLE_EOF) ||
	    hr == UFFS_HRESULT_NT_END_OF_FILE)
		return 0;
	if (SUCCEEDED(hr))
		return (int64_t)cqe->Information;
	if (HRESULT_FACILITY(hr) == FACILITY_WIN32)
		return uaio_from_win32((unsigned long)HRESULT_CODE(hr));
	return hr == E_INVALIDARG ? UAIO_E_INVAL : UAIO_E_IO;
}

static unsigned pop_all(struct ioring_impl *r, struct uaio_cqe *out,
			unsigned max)
{
	unsigned n = 0;
	IORING_CQE cqe;
	while (n < max && r->api.pop(r->ring, &cqe) == S_OK) {
		if (cqe.UserData == REGISTRATION)
			continue;
		out[n++] = (struct uaio_cqe){cqe.UserData, cqe_result(&cqe)};
	}
	return n;
}

static int ioring_wait(struct uaio_ctx *ctx, struct uaio_cqe *cqes,
		       unsigned max, unsigned min, int timeout_ms)
{
	struct ioring_impl *r = ctx->impl;
	unsigned n = pop_all(r, cqes, max);
	if (n < min) {
		UINT32 submitted;
		UINT32 wait = timeout_ms < 0 ? INFINITE : (UINT32)timeout_ms;
		r->api.submit(r->ring, min - n, wait, &submitted);
		n += pop_all(r, cqes + n, max - n);
	}
	return (int)n;
}

static void ioring_destroy(struct uaio_ctx *ctx)
{
	struct ioring_impl *r = ctx->impl;
	/* Wait for reads still in flight: they write into caller buffers. */
	if (ctx->inflight) {
		UINT32 submitted;
		struct uaio_cqe sink[64];
		unsigned left = ctx->inflight;
		while (left) {
			r->api.submit(r->ring, 1, 5000, &submitted);
			unsigned got = pop_all(r, sink, 64);
			if (!got)
				break;
			left = got > left ? 0 : left - got;
		}
	}
	r->api.close(r->ring);
	free(r);
}

const struct uaio_backend_ops uaio_backend_ioring = {
	.name = "ioring",
	.probe = ioring_probe,
	.init = ioring_init,
	.destroy = ioring_destroy,
	.submit = ioring_submit,
	.wait = ioring_wait,
	.register_buffers = ioring_register_buffers,
};
