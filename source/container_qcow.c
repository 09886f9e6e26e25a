/* qcow and qcow2 images, through libqcow. An image with a backing file has
 * it opened in turn and chained (backing files must be qcow too). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libqcow.h>

#include "container.h"
#include "qcow_check.h"

#define NAME_MAX_BYTES 4096

struct qcow {
	libqcow_file_t *file[UFFS_CONTAINER_CHAIN_MAX];
	char *path[UFFS_CONTAINER_CHAIN_MAX];
	int n;
};

static void reason(char why[UFFS_CONTAINER_WHY], const char *what,
		   libqcow_error_t **e)
{
	char bt[1024] = "";
	if (*e) {
		libqcow_error_backtrace_sprint(*e, bt, sizeof bt);
		libqcow_error_free(e);
	}
	uffs_container_reason(why, what, bt);
}

static void qcow_close(void *impl)
{
	struct qcow *x = impl;
	for (int i = 0; i < x->n; i++) {
		libqcow_error_t *e = NULL;
		libqcow_file_close(x->file[i], &e);
		libqcow_error_free(&e);
		libqcow_file_free(&x->file[i], &e);
		libqcow_error_free(&e);
		free(x->path[i]);
	}
	free(x);
}

static int parent_name(libqcow_file_t *f, char *name, size_t cap,
		       char why[UFFS_CONTAINER_WHY])
{
	libqcow_error_t *e = NULL;
	size_t size = 0;
	int has = libqcow_file_get_utf8_backing_filename_size(f, &size, &e);
	if (has == 0 || (has == 1 && size <= 1)) {
		name[0] = '\0'; /* no backing file */
		return 0;
	}
	if (has != 1 || size > cap ||
	    libqcow_file_get_utf8_backing_filename(f, (uint8_t *)name, size,
						  &e) != 1) {
		reason(why, "a backing file name that is unreadable",
		       &e);
		return -1;
	}
	name[size - 1] = '\0';
	return 0;
}

static int open_chain(struct qcow *x, const char *path,
		      char why[UFFS_CONTAINER_WHY]);

static int read_file(void *ctx, void *buf, size_t len, uint64_t off)
{
	FILE *f = ctx;
	if (fseeko(f, (off_t)off, SEEK_SET) || fread(buf, 1, len, f) != len)
		return -1;
	return 0;
}

/* Our own check of the cluster tables, before libqcow trusts them. */
static int check_tables(const char *path, char why[UFFS_CONTAINER_WHY])
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(why, UFFS_CONTAINER_WHY, "cannot open '%.80s'", path);
		return -1;
	}
	int rc = -1;
	if (fseeko(f, 0, SEEK_END) == 0) {
		off_t size = ftello(f);
		rc = size < 0 ? -1
			      : uffs_qcow_check(read_file, f, (uint64_t)size, why);
	}
	if (rc && !why[0])
		snprintf(why, UFFS_CONTAINER_WHY, "cannot read '%.80s'", path);
	fclose(f);
	return rc;
}

/* Opens the parent that f names (if it names one) and chains it to f. */
static int open_parent(struct qcow *x, libqcow_file_t *f, const char *path,
		       char why[UFFS_CONTAINER_WHY])
{
	char *name = malloc(NAME_MAX_BYTES);
	char *parent = malloc(PATH_MAX);
	int parent_at = x->n;
	int rc = -1;
	libqcow_error_t *e = NULL;
	if (!name || !parent)
		snprintf(why, UFFS_CONTAINER_WHY, "out of memory");
	else if (parent_name(f, name, NAME_MAX_BYTES, why))
		rc = -1;
	else if (!name[0])
		rc = 0;
	else if (!uffs_container_parent_path(path, name, parent, PATH_MAX,
					     why) &&
		 !open_chain(x, parent, why)) {
		if (libqcow_file_set_parent_file(f, x->file[parent_at], &e) != 1)
			reason(why, "the backing file does not match its image", &e);
		else
			rc = 0;
	}
	free(name);
	free(parent);
	return rc;
}

/* Opens `path` as link x->n of the chain, then its parents. */
static int open_chain(struct qcow *x, const char *path,
		      char why[UFFS_CONTAINER_WHY])
{
	for (int i = 0; i < x->n; i++)
		if (!strcmp(x->path[i], path)) {
			snprintf(why, UFFS_CONTAINER_WHY,
				 "a loop between parent images (at '%.80s')", path);
			return -1;
		}
	if (x->n == UFFS_CONTAINER_CHAIN_MAX) {
		snprintf(why, UFFS_CONTAINER_WHY,
			 "more than %d images in the parent chain",
			 UFFS_CONTAINER_CHAIN_MAX);
		return -1;
	}
	libqcow_error_t *e = NULL;
	libqcow_file_t *f = NULL;
	if (libqcow_file_initialize(&f, &e) != 1) {
		reason(why, "cannot set up libqcow", &e);
		return -1;
	}
	x->file[x->n] = f;
	x->path[x->n] = strdup(path);
	x->n++;
	if (!x->path[x->n - 1]) {
		snprintf(why, UFFS_CONTAINER_WHY, "out of memory");
		return -1;
	}
	if (check_tables(path, why))
		return -1;
	if (libqcow_file_open(f, path, LIBQCOW_OPEN_READ, &e) != 1) {
		char what[UFFS_CONTAINER_WHY];
		snprintf(what, sizeof what, "'%.80s' is not a readable qcow image (a backing file must be qcow too)",
			 path);
		reason(why, what, &e);
		return -1;
	}
	uint32_t method = 0;
	if (libqcow_file_get_encryption_method(f, &method, &e) == 1 &&
	    method != LIBQCOW_ENCRYPTION_METHOD_NONE) {
		snprintf(why, UFFS_CONTAINER_WHY,
			 "'%.80s' is an encrypted qcow image (not supported)",
			 path);
		return -1;
	}
	libqcow_error_free(&e);
	return open_parent(x, f, path, why);
}

static int qcow_open(const char *path, void **impl, uint64_t *media_size,
		     char why[UFFS_CONTAINER_WHY])
{
	struct qcow *x = calloc(1, sizeof *x);
	if (!x) {
		snprintf(why, UFFS_CONTAINER_WHY, "out of memory");
		return -1;
	}
	libqcow_error_t *e = NULL;
	size64_t size = 0;
	if (open_chain(x, path, why)) {
		qcow_close(x);
		return -1;
	}
	if (libqcow_file_get_media_size(x->file[0], &size, &e) != 1) {
		reason(why, "qcow media size unreadable", &e);
		qcow_close(x);
		return -1;
	}
	*impl = x;
	*media_size = size;
	return 0;
}

static int qcow_read(void *impl, void *buf, size_t len, uint64_t off,
		     char why[UFFS_CONTAINER_WHY])
{
	struct qcow *x = impl;
	uint8_t *p = buf;
	while (len) {
		libqcow_error_t *e = NULL;
		ssize_t n = libqcow_file_read_buffer_at_offset(
			x->file[0], p, len, (off64_t)off, &e);
		if (n <= 0) {
			reason(why, "qcow read failed (damaged cluster table?)", &e);
			return -1;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

const struct uffs_container_ops uffs_container_qcow = {
	.name = "QCOW",
	.open = qcow_open,
	.read = qcow_read,
	.close = qcow_close,
};
