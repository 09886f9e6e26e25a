/* The IoRing test double (uffs_ioring_double.dll), called directly: the
 * documented semantics it promises and the faults it injects; then the
 * ioring backend running on it through the uaio API. Windows only (the
 * cross build with -Dioring_double=true); the double is found next to this
 * program, and this program points the backend at it itself. */
#include <windows.h>
#include <ioringapi.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "../../aio/uaio.h"
#include "../../backends/ioring_hresult.h"

#define FILE_SIZE (256u * 1024u)
#define BLOCK 4096u
#define FAULTS "UFFS_IORING_DOUBLE_FAULTS"
/* A wait that must succeed: long, because a loaded machine running Wine
 * can stall for seconds, and a short one would make the test flaky. */
#define MUST_COMPLETE_MS 60000u

typedef HRESULT(WINAPI *query_caps_fn)(IORING_CAPABILITIES *);
typedef BOOL(WINAPI *op_supported_fn)(HIORING, IORING_OP_CODE);
typedef HRESULT(WINAPI *create_fn)(IORING_VERSION, IORING_CREATE_FLAGS, UINT32,
				   UINT32, HIORING *);
typedef HRESULT(WINAPI *info_fn)(HIORING, IORING_INFO *);
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

struct api {
	query_caps_fn query_caps;
	op_supported_fn op_supported;
	create_fn create;
	info_fn info;
	build_read_fn build_read;
	submit_fn submit;
	pop_fn pop;
	close_fn close;
	register_files_fn register_files;
	register_buffers_fn register_buffers;
};

struct fixture {
	struct api api;
	char path[MAX_PATH];
	HANDLE file; /* overlapped, as uffs opens sources */
};

static const IORING_CREATE_FLAGS no_flags = {
	IORING_CREATE_REQUIRED_FLAGS_NONE, IORING_CREATE_ADVISORY_FLAGS_NONE};

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 2654435761u >> 13);
}

static void *lookup(HMODULE m, const char *name)
{
	FARPROC p = GetProcAddress(m, name);
	void *v;
	memcpy(&v, &p, sizeof v);
	return v;
}

/* The double beside this program; the backend is pointed at it too. */
static HMODULE load_double(void)
{
	wchar_t path[MAX_PATH];
	DWORD n = GetModuleFileNameW(NULL, path, MAX_PATH);
	if (n == 0 || n >= MAX_PATH)
		return NULL;
	wchar_t *slash = wcsrchr(path, L'\\');
	if (!slash || (size_t)(slash - path) + 32 >= MAX_PATH)
		return NULL;
	wcscpy(slash + 1, L"uffs_ioring_double.dll");
	SetEnvironmentVariableW(L"UFFS_IORING_DOUBLE_DLL", path);
	return LoadLibraryW(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	HMODULE m = load_double();
	if (!f || !m) {
		fprintf(stderr, "uffs_ioring_double.dll did not load\n");
		return -1;
	}
	f->api = (struct api){
		(query_caps_fn)lookup(m, "QueryIoRingCapabilities"),
		(op_supported_fn)lookup(m, "IsIoRingOpSupported"),
		(create_fn)lookup(m, "CreateIoRing"),
		(info_fn)lookup(m, "GetIoRingInfo"),
		(build_read_fn)lookup(m, "BuildIoRingReadFile"),
		(submit_fn)lookup(m, "SubmitIoRing"),
		(pop_fn)lookup(m, "PopIoRingCompletion"),
		(close_fn)lookup(m, "CloseIoRing"),
		(register_files_fn)lookup(m, "BuildIoRingRegisterFileHandles"),
		(register_buffers_fn)lookup(m, "BuildIoRingRegisterBuffers"),
	};
	char dir[MAX_PATH];
	if (!GetTempPathA(sizeof dir, dir) ||
	    !GetTempFileNameA(dir, "urd", 0, f->path))
		return -1;
	FILE *out = fopen(f->path, "wb");
	if (!out)
		return -1;
	for (uint64_t i = 0; i < FILE_SIZE; i++)
		fputc(pattern(i), out);
	if (fclose(out))
		return -1;
	f->file = CreateFileA(f->path, GENERIC_READ, FILE_SHARE_READ, NULL,
			      OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
	if (f->file == INVALID_HANDLE_VALUE)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	CloseHandle(f->file);
	DeleteFileA(f->path);
	free(f);
	return 0;
}

/* Each test states its faults; none leak into the next. */
static int no_faults(void **state)
{
	(void)state;
	SetEnvironmentVariableA(FAULTS, NULL);
	return 0;
}

static HIORING make_ring(const struct fixture *f, UINT32 sq, UINT32 cq)
{
	HIORING ring = NULL;
	assert_int_equal(f->api.create(IORING_VERSION_1, no_flags, sq, cq, &ring),
			 S_OK);
	assert_non_null(ring);
	return ring;
}

static HRESULT build_read(const struct fixture *f, HIORING ring, HANDLE file,
			  void *buf, UINT32 len, UINT64 off, UINT_PTR user)
{
	IORING_HANDLE_REF fr = IoRingHandleRefFromHandle(file);
	IORING_BUFFER_REF br = IoRingBufferRefFromPointer(buf);
	return f->api.build_read(ring, fr, br, len, off, user, IOSQE_FLAGS_NONE);
}

/* Pops until n completions arrived, waiting through SubmitIoRing. */
static unsigned pop_n(const struct fixture *f, HIORING ring, IORING_CQE *out,
		      unsigned n)
{
	unsigned got = 0;
	for (int spins = 0; got < n && spins < 1000; spins++) {
		while (got < n && f->api.pop(ring, &out[got]) == S_OK)
			got++;
		if (got < n) {
			UINT32 sub;
			f->api.submit(ring, 1, 50, &sub);
		}
	}
	return got;
}

static void check_bytes(const uint8_t *buf, uint64_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != pattern(off + i))
			fail_msg("byte %zu of the read at %llu differs", i,
				 (unsigned long long)off);
}

/* ---- the documented semantics --------------------------------------------- */

static void test_capabilities_and_shape(void **state)
{
	struct fixture *f = *state;
	IORING_CAPABILITIES caps;
	assert_int_equal(f->api.query_caps(&caps), S_OK);
	assert_true(caps.MaxVersion >= IORING_VERSION_1);
	HIORING ring = make_ring(f, 5, 3);
	IORING_INFO info;
	assert_int_equal(f->api.info(ring, &info), S_OK);
	/* The queue holds what was asked; the completion queue is a power of
	 * two at least twice the submission queue. */
	assert_int_equal(info.SubmissionQueueSize, 5);
	assert_int_equal(info.CompletionQueueSize, 16);
	assert_true(f->api.op_supported(ring, IORING_OP_READ));
	assert_true(f->api.op_supported(ring, IORING_OP_REGISTER_FILES));
	assert_true(f->api.op_supported(ring, IORING_OP_REGISTER_BUFFERS));
	assert_false(f->api.op_supported(ring, IORING_OP_CANCEL));
	assert_int_equal(f->api.close(ring), S_OK);
	HIORING bad = NULL;
	assert_int_equal(f->api.create((IORING_VERSION)2, no_flags, 4, 8, &bad),
			 IORING_E_VERSION_NOT_SUPPORTED);
	assert_int_equal(f->api.create(IORING_VERSION_1, no_flags, 0, 8, &bad),
			 E_INVALIDARG);
	assert_null(bad);
}

static void test_completion_fields(void **state)
{
	struct fixture *f = *state;
	HIORING ring = make_ring(f, 8, 16);
	uint8_t *buf = calloc(4, BLOCK);
	HANDLE gone = CreateFileA(f->path, GENERIC_READ, FILE_SHARE_READ, NULL,
				  OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
	CloseHandle(gone);
	IORING_CQE cqe = {77, 77, 77};
	assert_int_equal(f->api.pop(ring, &cqe), S_FALSE);
	assert_int_equal(cqe.UserData, 77); /* untouched when empty */
	assert_int_equal(build_read(f, ring, f->file, buf, BLOCK, 3 * BLOCK, 1), S_OK);
	assert_int_equal(build_read(f, ring, f->file, buf + BLOCK, BLOCK,
				    FILE_SIZE - 100, 2), S_OK);
	assert_int_equal(build_read(f, ring, f->file, buf + 2 * BLOCK, BLOCK,
				    FILE_SIZE, 3), S_OK);
	assert_int_equal(build_read(f, ring, gone, buf + 3 * BLOCK, BLOCK, 0, 4),
			 S_OK);
	UINT32 sub = 0;
	assert_int_equal(f->api.submit(ring, 4, MUST_COMPLETE_MS, &sub), S_OK);
	assert_int_equal(sub, 4);
	IORING_CQE got[4];
	assert_int_equal(pop_n(f, ring, got, 4), 4);
	bool seen[5] = {0};
	for (int i = 0; i < 4; i++) {
		UINT_PTR k = got[i].UserData;
		assert_true(k >= 1 && k <= 4 && !seen[k]);
		seen[k] = true;
		if (k == 1) {
			assert_int_equal(got[i].ResultCode, S_OK);
			assert_int_equal(got[i].Information, BLOCK);
			check_bytes(buf, 3 * BLOCK, BLOCK);
		} else if (k == 2) {
			assert_int_equal(got[i].ResultCode, S_OK);
			assert_int_equal(got[i].Information, 100);
			check_bytes(buf + BLOCK, FILE_SIZE - 100, 100);
		} else if (k == 3) {
			assert_int_equal(got[i].ResultCode,
					 HRESULT_FROM_WIN32(ERROR_HANDLE_EOF));
			assert_int_equal(got[i].Information, 0);
		} else {
			assert_int_equal(got[i].ResultCode,
					 HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE));
		}
	}
	assert_int_equal(f->api.close(ring), S_OK);
	free(buf);
}

/* An entry holds its place from Build until its read completes. */
static void test_queue_full(void **state)
{
	struct fixture *f = *state;
	HIORING ring = make_ring(f, 4, 8);
	uint8_t *buf = malloc(5 * BLOCK);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(build_read(f, ring, f->file, buf + i * BLOCK,
					    BLOCK, i * BLOCK, i), S_OK);
	assert_int_equal(build_read(f, ring, f->file, buf + 4 * BLOCK, BLOCK, 0, 4),
			 IORING_E_SUBMISSION_QUEUE_FULL);
	UINT32 sub;
	assert_int_equal(f->api.submit(ring, IORING_SUBMIT_WAIT_ALL,
					 MUST_COMPLETE_MS, &sub),
			 S_OK);
	assert_int_equal(sub, 4);
	IORING_CQE got[4];
	assert_int_equal(pop_n(f, ring, got, 4), 4);
	assert_int_equal(build_read(f, ring, f->file, buf + 4 * BLOCK, BLOCK, 0, 4),
			 S_OK);
	assert_int_equal(f->api.submit(ring, 1, MUST_COMPLETE_MS, &sub), S_OK);
	assert_int_equal(pop_n(f, ring, got, 1), 1);
	assert_int_equal(f->api.close(ring), S_OK);
	free(buf);
}

/* Waiting for more than can complete is refused, and nothing is
 * submitted; a wait that runs out says so after submitting. */
static void test_wait_bounds_and_timeout(void **state)
{
	struct fixture *f = *state;
	HIORING ring = make_ring(f, 4, 8);
	uint8_t buf[16];
	assert_int_equal(build_read(f, ring, f->file, buf, 16, 0, 9), S_OK);
	UINT32 sub = 99;
	assert_int_equal(f->api.submit(ring, 2, 100, &sub), E_INVALIDARG);
	assert_int_equal(sub, 0);
	assert_int_equal(f->api.submit(ring, 1, MUST_COMPLETE_MS, &sub), S_OK);
	assert_int_equal(sub, 1);
	IORING_CQE cqe;
	assert_int_equal(f->api.pop(ring, &cqe), S_OK);
	assert_int_equal(cqe.UserData, 9);
	assert_int_equal(cqe.Information, 16);
	/* A read from an empty pipe runs until a byte arrives. */
	HANDLE rd, wr;
	assert_true(CreatePipe(&rd, &wr, NULL, 0));
	assert_int_equal(build_read(f, ring, rd, buf, 1, 0, 10), S_OK);
	assert_int_equal(f->api.submit(ring, 1, 200, &sub), IORING_E_WAIT_TIMEOUT);
	assert_int_equal(sub, 1);
	assert_int_equal(f->api.pop(ring, &cqe), S_FALSE);
	DWORD wrote;
	assert_true(WriteFile(wr, "x", 1, &wrote, NULL));
	/* The read may be over before a wait for it could start, and a wait
	 * for more than is running is refused: so its completion is polled. */
	assert_int_equal(pop_n(f, ring, &cqe, 1), 1);
	assert_int_equal(cqe.UserData, 10);
	assert_int_equal(cqe.Information, 1);
	assert_int_equal(buf[0], 'x');
	CloseHandle(rd);
	CloseHandle(wr);
	assert_int_equal(f->api.close(ring), S_OK);
}

/* Registered files and buffers are referenced by index; an index that
 * names nothing, or a read past a registered buffer, fails that entry. */
static void test_registered_references(void **state)
{
	struct fixture *f = *state;
	HIORING ring = make_ring(f, 8, 16);
	uint8_t *region = calloc(2, BLOCK);
	HANDLE files[2] = {INVALID_HANDLE_VALUE, f->file};
	IORING_BUFFER_INFO bufs[1] = {{region, 2 * BLOCK}};
	assert_int_equal(f->api.register_files(ring, 2, files, 500), S_OK);
	assert_int_equal(f->api.register_buffers(ring, 1, bufs, 501), S_OK);
	IORING_HANDLE_REF file1 = IoRingHandleRefFromIndex(1);
	IORING_HANDLE_REF file5 = IoRingHandleRefFromIndex(5);
	IORING_BUFFER_REF second = IoRingBufferRefFromIndexAndOffset(0, BLOCK);
	IORING_BUFFER_REF past = IoRingBufferRefFromIndexAndOffset(0, BLOCK + 1);
	IORING_BUFFER_REF buf1 = IoRingBufferRefFromIndexAndOffset(1, 0);
	assert_int_equal(f->api.build_read(ring, file1, second, BLOCK, 5 * BLOCK,
					   1, IOSQE_FLAGS_NONE), S_OK);
	assert_int_equal(f->api.build_read(ring, file5, second, BLOCK, 0, 2,
					   IOSQE_FLAGS_NONE), S_OK);
	assert_int_equal(f->api.build_read(ring, file1, past, BLOCK, 0, 3,
					   IOSQE_FLAGS_NONE), S_OK);
	assert_int_equal(f->api.build_read(ring, file1, buf1, BLOCK, 0, 4,
					   IOSQE_FLAGS_NONE), S_OK);
	UINT32 sub;
	assert_int_equal(f->api.submit(ring, IORING_SUBMIT_WAIT_ALL,
					 MUST_COMPLETE_MS, &sub),
			 S_OK);
	assert_int_equal(sub, 6);
	IORING_CQE got[6];
	assert_int_equal(pop_n(f, ring, got, 6), 6);
	unsigned bad = 0;
	for (int i = 0; i < 6; i++) {
		UINT_PTR k = got[i].UserData;
		if (k == 500 || k == 501) {
			assert_int_equal(got[i].ResultCode, S_OK);
		} else if (k == 1) {
			assert_int_equal(got[i].ResultCode, S_OK);
			assert_int_equal(got[i].Information, BLOCK);
			check_bytes(region + BLOCK, 5 * BLOCK, BLOCK);
		} else {
			assert_int_equal(got[i].ResultCode, E_INVALIDARG);
			bad++;
		}
	}
	assert_int_equal(bad, 3);
	for (unsigned i = 0; i < BLOCK; i++)
		assert_int_equal(region[i], 0); /* nothing read into slot 0 */
	assert_int_equal(f->api.close(ring), S_OK);
	free(region);
}

/* ---- the faults --------------------------------------------------------- */

static void submit_sequence(const struct fixture *f, HIORING ring,
			    uint8_t *buf, unsigned n, IORING_CQE *got)
{
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(build_read(f, ring, f->file, buf + i * BLOCK,
					    BLOCK, (uint64_t)i * BLOCK, i + 1),
				 S_OK);
	UINT32 sub;
	assert_int_equal(f->api.submit(ring, IORING_SUBMIT_WAIT_ALL,
					 MUST_COMPLETE_MS, &sub),
			 S_OK);
	assert_int_equal(pop_n(f, ring, got, n), n);
}

static void test_fault_reorder(void **state)
{
	struct fixture *f = *state;
	SetEnvironmentVariableA(FAULTS, "reorder");
	HIORING ring = make_ring(f, 8, 16);
	uint8_t *buf = malloc(8 * BLOCK);
	IORING_CQE got[8];
	submit_sequence(f, ring, buf, 8, got);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(got[i].UserData, 8 - i); /* last first */
		assert_int_equal(got[i].Information, BLOCK);
	}
	check_bytes(buf, 0, 8 * BLOCK);
	assert_int_equal(f->api.close(ring), S_OK);
	free(buf);
}

static void test_fault_short_and_error(void **state)
{
	struct fixture *f = *state;
	SetEnvironmentVariableA(FAULTS, "short:2,error:3");
	HIORING ring = make_ring(f, 8, 16);
	uint8_t *buf = malloc(8 * BLOCK);
	IORING_CQE got[8];
	submit_sequence(f, ring, buf, 8, got);
	for (unsigned i = 0; i < 8; i++) {
		UINT_PTR k = got[i].UserData;
		if (k % 3 == 0) {
			assert_int_equal(got[i].ResultCode,
					 HRESULT_FROM_WIN32(ERROR_CRC));
			assert_int_equal(got[i].Information, 0);
		} else if (k % 2 == 0) {
			assert_int_equal(got[i].ResultCode, S_OK);
			assert_int_equal(got[i].Information, BLOCK / 2);
			check_bytes(buf + (k - 1) * BLOCK, (k - 1) * BLOCK, BLOCK / 2);
		} else {
			assert_int_equal(got[i].Information, BLOCK);
		}
	}
	assert_int_equal(f->api.close(ring), S_OK);
	free(buf);
}

static void test_fault_full_and_spec(void **state)
{
	struct fixture *f = *state;
	SetEnvironmentVariableA(FAULTS, "full:2");
	HIORING ring = make_ring(f, 8, 16);
	IORING_INFO info;
	assert_int_equal(f->api.info(ring, &info), S_OK);
	assert_int_equal(info.SubmissionQueueSize, 2);
	uint8_t buf[3 * 64];
	assert_int_equal(build_read(f, ring, f->file, buf, 64, 0, 1), S_OK);
	assert_int_equal(build_read(f, ring, f->file, buf + 64, 64, 0, 2), S_OK);
	assert_int_equal(build_read(f, ring, f->file, buf + 128, 64, 0, 3),
			 IORING_E_SUBMISSION_QUEUE_FULL);
	assert_int_equal(f->api.close(ring), S_OK);
	SetEnvironmentVariableA(FAULTS, "noregister");
	ring = make_ring(f, 2, 4);
	assert_true(f->api.op_supported(ring, IORING_OP_READ));
	assert_false(f->api.op_supported(ring, IORING_OP_REGISTER_FILES));
	assert_false(f->api.op_supported(ring, IORING_OP_REGISTER_BUFFERS));
	assert_int_equal(f->api.close(ring), S_OK);
	/* A word the double does not know: no ring, rather than a test that
	 * silently runs without the fault it asked for. */
	static const char *const bad[] = {"shrt", "full", "error:x", "short:0"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		SetEnvironmentVariableA(FAULTS, bad[i]);
		HIORING none = NULL;
		assert_int_equal(f->api.create(IORING_VERSION_1, no_flags, 2, 4, &none),
				 E_INVALIDARG);
	}
}

/* ---- the ioring backend on the double ------------------------------------ */

struct run {
	unsigned completions, short_reads, errors, max_accepted;
	bool out_of_order;
};

/* Reads the whole file through the backend in BLOCK pieces, re-issuing
 * the rest of a short read as the scan engine does; every byte checked. */
static struct run read_file_through(const struct fixture *f, unsigned depth,
				    bool fail_ok)
{
	struct run run = {0};
	struct uaio_config cfg = {.depth = depth};
	struct uaio_ctx ctx;
	assert_int_equal(uaio_ctx_create(&ctx, &uaio_backend_ioring, &cfg), UAIO_OK);
	assert_non_null(strstr(ctx.detail,
			       "IoRing from the test double (uffs_ioring_double.dll)"));
	enum { N = FILE_SIZE / BLOCK };
	uint8_t *buf = malloc(FILE_SIZE);
	/* Registration works unless the fault says the ring cannot. */
	char spec[64] = "";
	GetEnvironmentVariableA(FAULTS, spec, sizeof spec);
	assert_int_equal(uaio_register_buffers(&ctx, buf, FILE_SIZE) == UAIO_OK,
			 strstr(spec, "noregister") == NULL);
	uint32_t done[N] = {0};
	unsigned todo[N], n_todo = N, finished = 0;
	for (unsigned i = 0; i < N; i++)
		todo[i] = N - 1 - i;
	uint64_t last = 0;
	while (finished < N) {
		struct uaio_op ops[N];
		unsigned n = 0;
		while (n < n_todo) {
			unsigned k = todo[n_todo - 1 - n];
			ops[n] = (struct uaio_op){(intptr_t)f->file,
						  buf + k * BLOCK + done[k],
						  BLOCK - done[k],
						  (uint64_t)k * BLOCK + done[k], k};
			n++;
		}
		int took = n ? uaio_submit(&ctx, ops, n) : 0;
		assert_true(took >= 0 || took == UAIO_E_BUSY);
		if (took > 0) {
			n_todo -= (unsigned)took;
			if ((unsigned)took > run.max_accepted)
				run.max_accepted = (unsigned)took;
		}
		struct uaio_cqe cqes[N];
		int got = uaio_wait(&ctx, cqes, N, 1, MUST_COMPLETE_MS);
		assert_true(got > 0);
		for (int i = 0; i < got; i++) {
			unsigned k = (unsigned)cqes[i].user_data;
			run.completions++;
			if (run.completions > 1 && k < last && done[k] == 0)
				run.out_of_order = true;
			last = k;
			if (cqes[i].res < 0) {
				assert_true(fail_ok);
				assert_int_equal(cqes[i].res, UAIO_E_IO);
				run.errors++;
				finished++;
				continue;
			}
			assert_true(cqes[i].res > 0);
			done[k] += (uint32_t)cqes[i].res;
			if (done[k] < BLOCK) {
				run.short_reads++;
				todo[n_todo++] = k;
			} else {
				check_bytes(buf + k * BLOCK, (uint64_t)k * BLOCK, BLOCK);
				finished++;
			}
		}
	}
	uaio_ctx_destroy(&ctx);
	free(buf);
	return run;
}

static void test_backend_on_the_double(void **state)
{
	struct fixture *f = *state;
	char why[160] = "";
	assert_int_equal(uaio_backend_ioring.probe(why, sizeof why), UAIO_OK);
	struct run run = read_file_through(f, 8, false);
	assert_int_equal(run.completions, FILE_SIZE / BLOCK);
	assert_int_equal(run.short_reads, 0);
	/* Chosen by default too: the best backend, with nothing skipped. */
	struct uaio_ctx ctx;
	struct uaio_config cfg = {.depth = 4};
	assert_int_equal(uaio_ctx_create(&ctx, NULL, &cfg), UAIO_OK);
	assert_string_equal(ctx.ops->name, "ioring");
	assert_string_equal(ctx.why, "");
	uaio_ctx_destroy(&ctx);
}

static void test_backend_faults(void **state)
{
	struct fixture *f = *state;
	SetEnvironmentVariableA(FAULTS, "short");
	struct run run = read_file_through(f, 8, false);
	assert_true(run.short_reads >= FILE_SIZE / BLOCK);
	SetEnvironmentVariableA(FAULTS, "reorder");
	run = read_file_through(f, 8, false);
	assert_true(run.out_of_order);
	SetEnvironmentVariableA(FAULTS, "full:3");
	run = read_file_through(f, 8, false);
	assert_int_equal(run.max_accepted, 3);
	SetEnvironmentVariableA(FAULTS, "noregister");
	run = read_file_through(f, 8, false);
	assert_int_equal(run.completions, FILE_SIZE / BLOCK);
	SetEnvironmentVariableA(FAULTS, "error:4");
	run = read_file_through(f, 8, true);
	assert_int_equal(run.errors, FILE_SIZE / BLOCK / 4);
	SetEnvironmentVariableA(FAULTS, "short:3,reorder,full:5");
	run = read_file_through(f, 16, false);
	assert_true(run.short_reads > 0 && run.out_of_order);
	assert_true(run.max_accepted <= 5);
}

/* The double named but missing: the backend is unavailable and says why;
 * it does not quietly fall back to KernelBase. */
static void test_backend_double_missing(void **state)
{
	(void)state;
	wchar_t saved[MAX_PATH];
	assert_true(GetEnvironmentVariableW(L"UFFS_IORING_DOUBLE_DLL", saved,
					    MAX_PATH) > 0);
	SetEnvironmentVariableW(L"UFFS_IORING_DOUBLE_DLL",
				L"C:\\nowhere\\uffs_ioring_double.dll");
	char why[160] = "";
	assert_int_equal(uaio_backend_ioring.probe(why, sizeof why),
			 UAIO_E_UNAVAILABLE);
	assert_non_null(strstr(why, "did not load"));
	SetEnvironmentVariableW(L"UFFS_IORING_DOUBLE_DLL", saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_capabilities_and_shape, no_faults),
		cmocka_unit_test_setup(test_completion_fields, no_faults),
		cmocka_unit_test_setup(test_queue_full, no_faults),
		cmocka_unit_test_setup(test_wait_bounds_and_timeout, no_faults),
		cmocka_unit_test_setup(test_registered_references, no_faults),
		cmocka_unit_test_setup_teardown(test_fault_reorder, no_faults, no_faults),
		cmocka_unit_test_setup_teardown(test_fault_short_and_error, no_faults,
						no_faults),
		cmocka_unit_test_setup_teardown(test_fault_full_and_spec, no_faults,
						no_faults),
		cmocka_unit_test_setup(test_backend_on_the_double, no_faults),
		cmocka_unit_test_setup_teardown(test_backend_faults, no_faults,
						no_faults),
		cmocka_unit_test_setup(test_backend_double_missing, no_faults),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
