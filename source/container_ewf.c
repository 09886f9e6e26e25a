/* EnCase images (E01, Ex01), split segment sets included, through libewf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libewf.h>

#include "container.h"

struct ewf {
	libewf_handle_t *handle;
	uint32_t checksum_errors; /* as many as were there after opening */
	char **names; /* the globbed segment files, or NULL */
	int n_names;
};

static void reason(char why[UFFS_CONTAINER_WHY], const char *what,
		   libewf_error_t **e)
{
	char bt[1024] = "";
	if (*e) {
		libewf_error_backtrace_sprint(*e, bt, sizeof bt);
		libewf_error_free(e);
	}
	uffs_container_reason(why, what, bt);
}

static void ewf_close(void *impl)
{
	struct ewf *x = impl;
	libewf_error_t *e = NULL;
	if (x->handle) {
		libewf_handle_close(x->handle, &e);
		libewf_error_free(&e);
		libewf_handle_free(&x->handle, &e);
		libewf_error_free(&e);
	}
	if (x->names) {
		libewf_glob_free(x->names, x->n_names, &e);
		libewf_error_free(&e);
	}
	free(x);
}

/* The segment set that `path` starts: E02, E03, ... found from its name.
 * A first segment under a name libewf cannot extend is read alone (and
 * says so if the set needed more). */
static int open_segments(struct ewf *x, const char *path,
			 char why[UFFS_CONTAINER_WHY])
{
	libewf_error_t *e = NULL;
	char *const alone[] = {(char *)path};
	if (libewf_glob(path, strlen(path), LIBEWF_FORMAT_UNKNOWN, &x->names,
			&x->n_names, &e) != 1 || x->n_names < 1) {
		libewf_error_free(&e);
		x->names = NULL;
		x->n_names = 0;
	}
	if (libewf_handle_initialize(&x->handle, &e) != 1) {
		reason(why, "cannot set up libewf", &e);
		return -1;
	}
	char *const *names = x->names ? x->names : alone;
	int n = x->names ? x->n_names : 1;
	if (libewf_handle_open(x->handle, names, n, LIBEWF_OPEN_READ, &e) != 1) {
		reason(why, "not a readable EWF segment set", &e);
		return -1;
	}
	/* A set cut short (a segment missing or truncated) opens, but has
	 * no end: refuse it rather than read zeros where data was. */
	int corrupted = libewf_handle_segment_files_corrupted(x->handle, &e);
	libewf_error_free(&e);
	if (corrupted != 0) {
		snprintf(why, UFFS_CONTAINER_WHY,
			 "the EWF segment set is incomplete or damaged (%d segment file%s found: one missing or truncated?)",
			 n, n == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

static int ewf_open(const char *path, void **impl, uint64_t *media_size,
		    char why[UFFS_CONTAINER_WHY])
{
	struct ewf *x = calloc(1, sizeof *x);
	if (!x) {
		uffs_container_reason(why, "out of memory", "");
		return -1;
	}
	libewf_error_t *e = NULL;
	size64_t size = 0;
	if (open_segments(x, path, why)) {
		ewf_close(x);
		return -1;
	}
	if (libewf_handle_get_media_size(x->handle, &size, &e) != 1) {
		reason(why, "EWF media size unreadable", &e);
		ewf_close(x);
		return -1;
	}
	if (libewf_handle_get_number_of_checksum_errors(x->handle,
							&x->checksum_errors,
							&e) != 1) {
		reason(why, "EWF checksum state unreadable", &e);
		ewf_close(x);
		return -1;
	}
	*impl = x;
	*media_size = size;
	return 0;
}

/* libewf hands back a chunk that fails its checksum (zeroed, or as it
 * was) and only counts the failure: a read that added to the count read
 * damaged evidence, and fails. */
static int check_chunks(struct ewf *x, uint64_t off, size_t len,
			char why[UFFS_CONTAINER_WHY])
{
	libewf_error_t *e = NULL;
	uint32_t n = 0;
	if (libewf_handle_get_number_of_checksum_errors(x->handle, &n, &e) != 1) {
		reason(why, "EWF checksum state unreadable", &e);
		return -1;
	}
	if (n == x->checksum_errors)
		return 0;
	x->checksum_errors = n;
	snprintf(why, UFFS_CONTAINER_WHY,
		 "EWF data at disk bytes %llu..%llu fails its checksum (a damaged chunk)",
		 (unsigned long long)off, (unsigned long long)(off + len));
	return -1;
}

static int64_t read_at(void *handle, void *buf, size_t len, uint64_t off,
		       char why[UFFS_CONTAINER_WHY])
{
	struct ewf *x = handle;
	libewf_error_t *e = NULL;
	ssize_t n = libewf_handle_read_random(x->handle, buf, len, (off64_t)off,
					      &e);
	if (n < 0) {
		reason(why, "EWF read failed (damaged or missing segment?)", &e);
		return -1;
	}
	return n > 0 && check_chunks(x, off, (size_t)n, why) ? -1 : n;
}

static int ewf_read(void *impl, void *buf, size_t len, uint64_t off,
		    char why[UFFS_CONTAINER_WHY])
{
	return uffs_container_read_all(read_at, impl, buf, len, off, why);
}

const struct uffs_container_ops uffs_container_ewf = {
	.name = "EWF",
	.open = ewf_open,
	.read = ewf_read,
	.close = ewf_close,
};
