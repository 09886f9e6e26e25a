/* uffs_ioring_double.dll: a user-mode stand-in for Windows 11's I/O ring
 * (ioringapi.h), so that backends/ioring.c can run under Wine, which has no
 * IoRing. TEST-ONLY: built by the cross build's tests, loaded only by a
 * build configured with -Dioring_double=true when UFFS_IORING_DOUBLE_DLL
 * names it. docs/windows.md lists the semantics it implements and the
 * strict readings it takes where Microsoft's documentation is silent.
 *
 * Underneath: a small pool of worker threads per ring, each running one
 * overlapped ReadFile at a time and waiting on its own event (with the low
 * bit set, so no packet reaches a completion port the handle may be bound
 * to). Completions enter the completion queue as the reads finish, which is
 * not the order they were submitted in.
 *
 * Faults, from UFFS_IORING_DOUBLE_FAULTS when a ring is created (a comma
 * list; an unknown word makes CreateIoRing fail):
 *   short[:N]   every Nth read (default every read) returns the first half
 *               of what it asked for, whole 512-byte sectors where it can
 *   error[:N]   every Nth read fails with ERROR_CRC, reading nothing
 *   reorder     completions are held until no read is running, then enter
 *               the queue last-submitted first
 *   full:N      the submission queue holds N entries, whatever was asked
 *   noregister  IsIoRingOpSupported says no to registering files and buffers
 * All state lives in the ring: two rings in one process do not interact. */
#include <windows.h>
#include <ioringapi.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/ioring_hresult.h"

#define RING_MAGIC 0x52494e47u /* "RING" */
#define WORKERS_MAX 4u
#define SQ_SIZE_MAX 32768u
#define CQ_SIZE_MAX 65536u
#define FAULTS_ENV "UFFS_IORING_DOUBLE_FAULTS"

enum entry_kind { ENTRY_READ, ENTRY_REGISTER_FILES, ENTRY_REGISTER_BUFFERS };

/* One submission queue entry as built; registrations keep a copy of the
 * caller's array, since the caller may reuse it once Build returns. */
struct entry {
	enum entry_kind kind;
	UINT_PTR user_data;
	IORING_HANDLE_REF file;
	IORING_BUFFER_REF buffer;
	UINT32 length;
	UINT64 offset;
	UINT32 count;
	void *items;
};

/* A read handed to the workers, its references already resolved. */
struct job {
	HANDLE file;
	void *buffer;
	UINT32 length;
	UINT64 offset;
	UINT_PTR user_data;
	UINT64 seq;       /* submission order, for reorder */
	HRESULT injected; /* S_OK, or the error to complete with unread */
	bool cut_short;
};

struct held {
	UINT64 seq;
	IORING_CQE cqe;
};

struct faults {
	UINT32 short_every; /* 0: never */
	UINT32 error_every; /* 0: never */
	UINT32 queue_cap;   /* 0: as requested */
	bool reorder;
	bool no_register;
};

struct ring {
	UINT32 magic;
	CRITICAL_SECTION lock;
	CONDITION_VARIABLE work_queued; /* workers: a job, or closing */
	CONDITION_VARIABLE posted;      /* waiters: a completion entered the CQ */
	struct faults faults;
	UINT32 sq_size, cq_size;
	struct entry *sq; /* built, not yet submitted */
	UINT32 sq_count;
	UINT32 in_progress; /* submitted reads not yet in the CQ (held too) */
	struct job *jobs;   /* FIFO for the workers, sq_size long */
	UINT32 job_head, job_count;
	IORING_CQE *cq; /* FIFO, cq_size long */
	UINT32 cq_head, cq_count;
	UINT64 posted_total; /* completions that ever entered the CQ */
	struct held *held;   /* reorder: finished, not yet posted */
	UINT32 n_held;
	UINT64 reads_submitted;
	HANDLE *files;
	UINT32 n_files;
	IORING_BUFFER_INFO *buffers;
	UINT32 n_buffers;
	bool submitting, closing;
	struct worker {
		struct ring *ring;
		HANDLE thread;
		HANDLE event; /* made with the ring: no handle appears later */
	} workers[WORKERS_MAX];
	UINT32 n_workers;
};

/* ---- the fault specification --------------------------------------------- */

static bool parse_count(const char *s, size_t len, UINT32 *out)
{
	UINT32 v = 0;
	if (len == 0 || len > 6)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (UINT32)(s[i] - '0');
	}
	*out = v;
	return v > 0;
}

/* One word of the list: "name" or "name:N". */
static bool parse_fault(struct faults *f, const char *w, size_t len)
{
	const char *colon = memchr(w, ':', len);
	size_t name_len = colon ? (size_t)(colon - w) : len;
	const char *arg = colon ? colon + 1 : NULL;
	size_t arg_len = colon ? len - name_len - 1 : 0;
#define IS(name) (name_len == sizeof name - 1 && memcmp(w, name, name_len) == 0)
	if (IS("short"))
		return arg ? parse_count(arg, arg_len, &f->short_every)
			   : (f->short_every = 1, true);
	if (IS("error"))
		return arg ? parse_count(arg, arg_len, &f->error_every)
			   : (f->error_every = 1, true);
	if (IS("full"))
		return arg && parse_count(arg, arg_len, &f->queue_cap);
	if (IS("reorder") && !arg)
		return f->reorder = true;
	if (IS("noregister") && !arg)
		return f->no_register = true;
#undef IS
	return false;
}

static bool read_faults(struct faults *f)
{
	char spec[256];
	memset(f, 0, sizeof *f);
	DWORD n = GetEnvironmentVariableA(FAULTS_ENV, spec, sizeof spec);
	if (n == 0)
		return true;
	if (n >= sizeof spec) {
		fprintf(stderr, "uffs_ioring_double: %s is too long\n", FAULTS_ENV);
		return false;
	}
	for (const char *w = spec; *w;) {
		size_t len = strcspn(w, ",");
		if (len && !parse_fault(f, w, len)) {
			fprintf(stderr, "uffs_ioring_double: %s: unknown fault '%.*s'\n",
				FAULTS_ENV, (int)len, w);
			return false;
		}
		w += len + (w[len] == ',');
	}
	return true;
}

/* ---- the completion queue ------------------------------------------------ */

static struct ring *ring_from(HIORING h)
{
	struct ring *r = (struct ring *)h;
	return r && r->magic == RING_MAGIC ? r : NULL;
}

static void post(struct ring *r, IORING_CQE cqe)
{
	r->cq[(r->cq_head + r->cq_count) % r->cq_size] = cqe;
	r->cq_count++;
	r->posted_total++;
	WakeAllConditionVariable(&r->posted);
}

static int by_seq_descending(const void *a, const void *b)
{
	UINT64 x = ((const struct held *)a)->seq, y = ((const struct held *)b)->seq;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* A read is done: its completion enters the queue, unless reorder holds
 * it until no read is running and then lets all in, last-submitted first. */
static void finish_read(struct ring *r, UINT64 seq, IORING_CQE cqe)
{
	if (!r->faults.reorder) {
		r->in_progress--;
		post(r, cqe);
		return;
	}
	r->held[r->n_held++] = (struct held){seq, cqe};
	if (r->n_held < r->in_progress)
		return;
	qsort(r->held, r->n_held, sizeof *r->held, by_seq_descending);
	for (UINT32 i = 0; i < r->n_held; i++)
		post(r, r->held[i].cqe);
	r->in_progress -= r->n_held;
	r->n_held = 0;
}

/* ---- the workers ---------------------------------------------------------- */

/* A short read ends on a sector boundary where half the request allows. */
static UINT32 short_length(UINT32 len)
{
	UINT32 half = len / 2;
	if (half >= 512)
		half -= half % 512;
	return half ? half : len;
}

static IORING_CQE perform(const struct job *j, HANDLE event)
{
	IORING_CQE cqe = {j->user_data, S_OK, 0};
	if (FAILED(j->injected)) {
		cqe.ResultCode = j->injected;
		return cqe;
	}
	OVERLAPPED ov = {0};
	ov.Offset = (DWORD)j->offset;
	ov.OffsetHigh = (DWORD)(j->offset >> 32);
	ov.hEvent = (HANDLE)((UINT_PTR)event | 1);
	ResetEvent(event);
	DWORD len = j->cut_short ? short_length(j->length) : j->length;
	DWORD got = 0;
	BOOL ok = ReadFile(j->file, j->buffer, len, NULL, &ov);
	DWORD err = ok ? 0 : GetLastError();
	if (ok || err == ERROR_IO_PENDING) {
		ok = GetOverlappedResult(j->file, &ov, &got, TRUE);
		err = ok ? 0 : GetLastError();
	}
	cqe.Information = got;
	if (!ok)
		cqe.ResultCode = HRESULT_FROM_WIN32(err);
	return cqe;
}

static DWORD WINAPI worker_main(void *arg)
{
	struct worker *w = arg;
	struct ring *r = w->ring;
	EnterCriticalSection(&r->lock);
	for (;;) {
		while (!r->job_count && !r->closing)
			SleepConditionVariableCS(&r->work_queued, &r->lock, INFINITE);
		if (!r->job_count)
			break;
		struct job j = r->jobs[r->job_head];
		r->job_head = (r->job_head + 1) % r->sq_size;
		r->job_count--;
		/* Closing: reads not yet started are cancelled, not run. */
		if (r->closing)
			j.injected = HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED);
		LeaveCriticalSection(&r->lock);
		IORING_CQE cqe = perform(&j, w->event);
		EnterCriticalSection(&r->lock);
		finish_read(r, j.seq, cqe);
	}
	LeaveCriticalSection(&r->lock);
	return 0;
}

/* ---- creating and closing ------------------------------------------------ */

static UINT32 power_of_two_at_least(UINT32 n)
{
	UINT32 p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

/* Workers finish the read they are running; queued ones are cancelled. */
static void stop_workers(struct ring *r)
{
	EnterCriticalSection(&r->lock);
	r->closing = true;
	WakeAllConditionVariable(&r->work_queued);
	LeaveCriticalSection(&r->lock);
	for (UINT32 i = 0; i < r->n_workers; i++)
		WaitForSingleObject(r->workers[i].thread, INFINITE);
}

static void ring_free(struct ring *r)
{
	for (UINT32 i = 0; i < r->n_workers; i++) {
		CloseHandle(r->workers[i].thread);
		CloseHandle(r->workers[i].event);
	}
	for (UINT32 i = 0; i < r->sq_count; i++)
		free(r->sq[i].items);
	DeleteCriticalSection(&r->lock);
	free(r->sq);
	free(r->jobs);
	free(r->cq);
	free(r->held);
	free(r->files);
	free(r->buffers);
	r->magic = 0;
	free(r);
}

HRESULT WINAPI QueryIoRingCapabilities(IORING_CAPABILITIES *caps)
{
	if (!caps)
		return E_POINTER;
	caps->MaxVersion = IORING_VERSION_1;
	caps->MaxSubmissionQueueSize = SQ_SIZE_MAX;
	caps->MaxCompletionQueueSize = CQ_SIZE_MAX;
	caps->FeatureFlags = IORING_FEATURE_UM_EMULATION;
	return S_OK;
}

HRESULT WINAPI CreateIoRing(IORING_VERSION version, IORING_CREATE_FLAGS flags,
			    UINT32 sq_size, UINT32 cq_size, HIORING *out)
{
	if (!out)
		return E_POINTER;
	*out = NULL;
	if (version == IORING_VERSION_INVALID || version > IORING_VERSION_1)
		return IORING_E_VERSION_NOT_SUPPORTED;
	if (flags.Required != IORING_CREATE_REQUIRED_FLAGS_NONE)
		return IORING_E_REQUIRED_FLAG_NOT_SUPPORTED;
	if (sq_size == 0)
		return E_INVALIDARG;
	if (sq_size > SQ_SIZE_MAX)
		return IORING_E_SUBMISSION_QUEUE_TOO_BIG;
	if (cq_size > CQ_SIZE_MAX)
		return IORING_E_COMPLETION_QUEUE_TOO_BIG;
	struct ring *r = calloc(1, sizeof *r);
	if (!r)
		return E_OUTOFMEMORY;
	if (!read_faults(&r->faults)) {
		free(r);
		return E_INVALIDARG;
	}
	/* Exactly the size asked for (Windows may round it up; a caller may
	 * not count on that), or less when a fault shrinks it. */
	r->sq_size = r->faults.queue_cap && r->faults.queue_cap < sq_size
			     ? r->faults.queue_cap : sq_size;
	r->cq_size = power_of_two_at_least(cq_size > 2 * sq_size ? cq_size
								  : 2 * sq_size);
	r->magic = RING_MAGIC;
	InitializeCriticalSection(&r->lock);
	InitializeConditionVariable(&r->work_queued);
	InitializeConditionVariable(&r->posted);
	r->sq = calloc(r->sq_size, sizeof *r->sq);
	r->jobs = calloc(r->sq_size, sizeof *r->jobs);
	r->held = calloc(r->sq_size, sizeof *r->held);
	r->cq = calloc(r->cq_size, sizeof *r->cq);
	if (!r->sq || !r->jobs || !r->held || !r->cq) {
		ring_free(r);
		return E_OUTOFMEMORY;
	}
	UINT32 want = r->sq_size < WORKERS_MAX ? r->sq_size : WORKERS_MAX;
	while (r->n_workers < want) {
		struct worker *w = &r->workers[r->n_workers];
		w->ring = r;
		w->event = CreateEventW(NULL, TRUE, FALSE, NULL);
		w->thread = w->event ? CreateThread(NULL, 0, worker_main, w, 0, NULL)
				     : NULL;
		if (!w->thread) {
			if (w->event)
				CloseHandle(w->event);
			break;
		}
		r->n_workers++;
	}
	if (r->n_workers < want) {
		stop_workers(r);
		ring_free(r);
		return E_OUTOFMEMORY;
	}
	*out = (HIORING)r;
	return S_OK;
}

/* Windows leaves open what closing a ring with reads in flight does to
 * them; the strict reading is that the caller must not do it (the reads
 * may still write into its buffers). The double cancels what has not
 * started, waits for the rest so that nothing is written after it returns,
 * and says on stderr that the caller broke the rule, which tests check. */
HRESULT WINAPI CloseIoRing(HIORING h)
{
	struct ring *r = ring_from(h);
	if (!r)
		return E_HANDLE;
	EnterCriticalSection(&r->lock);
	UINT32 unfinished = r->in_progress;
	LeaveCriticalSection(&r->lock);
	if (unfinished)
		fprintf(stderr,
			"uffs_ioring_double: CloseIoRing with %u reads in flight\n",
			(unsigned)unfinished);
	stop_workers(r);
	ring_free(r);
	return S_OK;
}

BOOL WINAPI IsIoRingOpSupported(HIORING h, IORING_OP_CODE op)
{
	struct ring *r = ring_from(h);
	if (!r)
		return FALSE;
	switch (op) {
	case IORING_OP_READ:
		return TRUE;
	case IORING_OP_REGISTER_FILES:
	case IORING_OP_REGISTER_BUFFERS:
		return !r->faults.no_register;
	default:
		return FALSE; /* NOP and CANCEL are not implemented */
	}
}

HRESULT WINAPI GetIoRingInfo(HIORING h, IORING_INFO *info)
{
	struct ring *r = ring_from(h);
	if (!r)
		return E_HANDLE;
	if (!info)
		return E_POINTER;
	info->IoRingVersion = IORING_VERSION_1;
	info->Flags = (IORING_CREATE_FLAGS){IORING_CREATE_REQUIRED_FLAGS_NONE,
					    IORING_CREATE_ADVISORY_FLAGS_NONE};
	info->SubmissionQueueSize = r->sq_size;
	info->CompletionQueueSize = r->cq_size;
	return S_OK;
}

/* ---- building entries ---------------------------------------------------- */

/* An entry occupies its place in the submission queue from Build until the
 * operation completes: "submit the existing entries and wait for some of
 * them to complete" is what frees room. */
static HRESULT build(struct ring *r, struct entry e)
{
	HRESULT hr = S_OK;
	EnterCriticalSection(&r->lock);
	if (r->sq_count + r->in_progress >= r->sq_size)
		hr = IORING_E_SUBMISSION_QUEUE_FULL;
	else
		r->sq[r->sq_count++] = e;
	LeaveCriticalSection(&r->lock);
	return hr;
}

HRESULT WINAPI BuildIoRingReadFile(HIORING h, IORING_HANDLE_REF file,
				   IORING_BUFFER_REF buffer, UINT32 length,
				   UINT64 offset, UINT_PTR user_data,
				   IORING_SQE_FLAGS sqe_flags)
{
	struct ring *r = ring_from(h);
	if (!r)
		return E_HANDLE;
	if (sqe_flags != IOSQE_FLAGS_NONE)
		return IORING_E_REQUIRED_FLAG_NOT_SUPPORTED;
	struct entry e = {ENTRY_READ, user_data, file, buffer, length, offset,
			  0, NULL};
	return build(r, e);
}

static HRESULT build_registration(HIORING h, enum entry_kind kind,
				  UINT32 count, const void *items,
				  size_t item_size, UINT_PTR user_data)
{
	struct ring *r = ring_from(h);
	if (!r)
		return E_HANDLE;
	if (count && !items)
		return E_POINTER;
	struct entry e = {kind, user_data, {0}, {0}, 0, 0, count, NULL};
	if (count) {
		e.items = malloc(count * item_size);
		if (!e.items)
			return E_OUTOFMEMORY;
		memcpy(e.items, items, count * item_size);
	}
	HRESULT hr = build(r, e);
	if (FAILED(hr))
		free(e.items);
	return hr;
}

HRESULT WINAPI BuildIoRingRegisterFileHandles(HIORING h, UINT32 count,
					      HANDLE const handles[],
					      UINT_PTR user_data)
{
	return build_registration(h, ENTRY_REGISTER_FILES, count, handles,
				  sizeof *handles, user_data);
}

HRESULT WINAPI BuildIoRingRegisterBuffers(HIORING h, UINT32 count,
					  IORING_BUFFER_INFO const buffers[],
					  UINT_PTR user_data)
{
	return build_registration(h, ENTRY_REGISTER_BUFFERS, count, buffers,
				  sizeof *buffers, user_data);
}

/* ---- submitting ----------------------------------------------------------- */

/* A registration replaces the ring's whole table of its kind; it runs at
 * submission, in queue order, so reads after it in the queue see it. */
static HRESULT apply_registration(struct ring *r, struct entry *e)
{
	if (e->kind == ENTRY_REGISTER_FILES) {
		free(r->files);
		r->files = e->items;
		r->n_files = e->count;
	} else {
		free(r->buffers);
		r->buffers = e->items;
		r->n_buffers = e->count;
	}
	e->items = NULL;
	return S_OK;
}

/* A registered reference must name a registered slot, and a registered
 * buffer must hold the whole read: anything else completes at once with
 * E_INVALIDARG, as the documentation says of any entry that cannot be
 * processed. */
static HRESULT resolve_read(const struct ring *r, const struct entry *e,
			    struct job *j)
{
	if (e->file.Kind == IORING_REF_REGISTERED) {
		if (e->file.Handle.Index >= r->n_files)
			return E_INVALIDARG;
		j->file = r->files[e->file.Handle.Index];
	} else {
		j->file = e->file.Handle.Handle;
	}
	if (e->buffer.Kind == IORING_REF_REGISTERED) {
		IORING_REGISTERED_BUFFER rb = e->buffer.Buffer.IndexAndOffset;
		if (rb.BufferIndex >= r->n_buffers)
			return E_INVALIDARG;
		const IORING_BUFFER_INFO *b = &r->buffers[rb.BufferIndex];
		if (rb.Offset > b->Length || e->length > b->Length - rb.Offset)
			return E_INVALIDARG;
		j->buffer = (uint8_t *)b->Address + rb.Offset;
	} else {
		j->buffer = e->buffer.Buffer.Address;
	}
	if (!j->buffer && e->length)
		return E_INVALIDARG;
	return S_OK;
}

static bool every(UINT32 n, UINT64 count)
{
	return n && count % n == 0;
}

static void start_read(struct ring *r, const struct entry *e)
{
	struct job j = {0};
	j.user_data = e->user_data;
	j.length = e->length;
	j.offset = e->offset;
	j.seq = ++r->reads_submitted;
	j.injected = resolve_read(r, e, &j);
	if (SUCCEEDED(j.injected) && every(r->faults.error_every, j.seq))
		j.injected = HRESULT_FROM_WIN32(ERROR_CRC);
	j.cut_short = every(r->faults.short_every, j.seq) && j.length > 1;
	r->in_progress++;
	if (FAILED(j.injected) && !r->faults.reorder) {
		/* Entries that cannot be processed complete synchronously. */
		finish_read(r, j.seq, (IORING_CQE){j.user_data, j.injected, 0});
		return;
	}
	r->jobs[(r->job_head + r->job_count) % r->sq_size] = j;
	r->job_count++;
	WakeConditionVariable(&r->work_queued);
}

/* Waits until `target` completions have ever been posted, or the time is
 * up; called with the lock held. */
static bool wait_posted(struct ring *r, UINT64 target, UINT32 ms)
{
	ULONGLONG deadline = GetTickCount64() + ms;
	while (r->posted_total < target) {
		DWORD left = INFINITE;
		if (ms != INFINITE) {
			ULONGLONG now = GetTickCount64();
			if (now >= deadline)
				return false;
			left = (DWORD)(deadline - now);
		}
		SleepConditionVariableCS(&r->posted, &r->lock, left);
	}
	return true;
}

/* waitOperations counts completions of the operations submitted now or
 * already running; asking for more than those can ever give is refused
 * before anything is submitted (Windows only says it "must be less"). */
HRESULT WINAPI SubmitIoRing(HIORING h, UINT32 wait_ops, UINT32 ms,
			    UINT32 *submitted)
{
	struct ring *r = ring_from(h);
	if (!r)
		return E_HANDLE;
	if (submitted)
		*submitted = 0;
	EnterCriticalSection(&r->lock);
	if (r->submitting) {
		LeaveCriticalSection(&r->lock);
		return IORING_E_SUBMIT_IN_PROGRESS;
	}
	UINT32 can_complete = r->sq_count + r->in_progress;
	if (wait_ops == IORING_SUBMIT_WAIT_ALL)
		wait_ops = can_complete;
	if (wait_ops > can_complete) {
		LeaveCriticalSection(&r->lock);
		return E_INVALIDARG;
	}
	/* Room for every completion this could produce, or nothing is
	 * submitted: the completion queue never overflows. */
	if (r->cq_count + r->in_progress + r->sq_count > r->cq_size) {
		LeaveCriticalSection(&r->lock);
		return IORING_E_COMPLETION_QUEUE_TOO_FULL;
	}
	r->submitting = true;
	UINT64 target = r->posted_total + wait_ops;
	UINT32 n = r->sq_count;
	for (UINT32 i = 0; i < n; i++) {
		struct entry *e = &r->sq[i];
		if (e->kind == ENTRY_READ) {
			start_read(r, e);
			continue;
		}
		r->in_progress++;
		HRESULT hr = apply_registration(r, e);
		r->in_progress--;
		post(r, (IORING_CQE){e->user_data, hr, 0});
	}
	r->sq_count = 0;
	if (submitted)
		*submitted = n;
	HRESULT hr = S_OK;
	if (wait_ops && !wait_posted(r, target, ms))
		hr = IORING_E_WAIT_TIMEOUT;
	r->submitting = false;
	LeaveCriticalSection(&r->lock);
	return hr;
}

HRESULT WINAPI PopIoRingCompletion(HIORING h, IORING_CQE *cqe)
{
	struct ring *r = ring_from(h);
	if (!r)
		return E_HANDLE;
	if (!cqe)
		return E_POINTER;
	HRESULT hr = S_FALSE;
	EnterCriticalSection(&r->lock);
	if (r->cq_count) {
		*cqe = r->cq[r->cq_head];
		r->cq_head = (r->cq_head + 1) % r->cq_size;
		r->cq_count--;
		hr = S_OK;
	}
	LeaveCriticalSection(&r->lock);
	return hr;
}
