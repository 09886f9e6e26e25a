/* qcow and qcow2 images, through libqcow. An image with a backing file has
 * it opened in turn and chained (backing files must be qcow too). Each
 * image's cluster tables are checked by our own code first. */
#include <stdio.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

#include <libqcow.h>

#include "container.h"
#include "qcow_check.h"

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

static void link_close(void *link)
{
	libqcow_file_t *f = link;
	libqcow_error_t *e = NULL;
	libqcow_file_close(f, &e);
	libqcow_error_free(&e);
	libqcow_file_free(&f, &e);
	libqcow_error_free(&e);
}

static int link_open(const char *path, void **link,
		     char why[UFFS_CONTAINER_WHY])
{
	libqcow_error_t *e = NULL;
	libqcow_file_t *f = NULL;
	uint32_t method = 0;
	if (check_tables(path, why))
		return -1;
	if (libqcow_file_initialize(&f, &e) != 1) {
		reason(why, "cannot set up libqcow", &e);
		return -1;
	}
	if (libqcow_file_open(f, path, LIBQCOW_OPEN_READ, &e) != 1) {
		char what[UFFS_CONTAINER_WHY];
		snprintf(what, sizeof what, "'%.80s' is not a readable qcow image (a backing file must be qcow too)",
			 path);
		reason(why, what, &e);
		libqcow_file_free(&f, &e);
		libqcow_error_free(&e);
		return -1;
	}
	if (libqcow_file_get_encryption_method(f, &method, &e) == 1 &&
	    method != LIBQCOW_ENCRYPTION_METHOD_NONE) {
		snprintf(why, UFFS_CONTAINER_WHY,
			 "'%.80s' is an encrypted qcow image (not supported)",
			 path);
		link_close(f);
		return -1;
	}
	libqcow_error_free(&e);
	*link = f;
	return 0;
}

static int link_parent_name(void *link, char *name, size_t cap,
			    char why[UFFS_CONTAINER_WHY])
{
	libqcow_error_t *e = NULL;
	size_t size = 0;
	name[0] = '\0';
	int has = libqcow_file_get_utf8_backing_filename_size(link, &size, &e);
	if (has == 0 || (has == 1 && size <= 1)) {
		libqcow_error_free(&e);
		return 0; /* no backing file */
	}
	if (has != 1 || size > cap ||
	    libqcow_file_get_utf8_backing_filename(link, (uint8_t *)name, size,
						  &e) != 1) {
		reason(why, "a backing file name that is unreadable", &e);
		return -1;
	}
	name[size - 1] = '\0';
	return 0;
}

static int link_set_parent(void *link, void *parent,
			   char why[UFFS_CONTAINER_WHY])
{
	libqcow_error_t *e = NULL;
	if (libqcow_file_set_parent_file(link, parent, &e) == 1)
		return 0;
	reason(why, "the backing file does not match its image", &e);
	return -1;
}

static int link_media_size(void *link, uint64_t *size,
			   char why[UFFS_CONTAINER_WHY])
{
	libqcow_error_t *e = NULL;
	size64_t s = 0;
	if (libqcow_file_get_media_size(link, &s, &e) != 1) {
		reason(why, "qcow media size unreadable", &e);
		return -1;
	}
	*size = s;
	return 0;
}

static int64_t read_at(void *handle, void *buf, size_t len, uint64_t off,
		       char why[UFFS_CONTAINER_WHY])
{
	libqcow_error_t *e = NULL;
	ssize_t n = libqcow_file_read_buffer_at_offset(handle, buf, len,
						       (off64_t)off, &e);
	if (n < 0)
		reason(why, "qcow read failed (damaged cluster table?)", &e);
	return n;
}

static const struct uffs_chain_ops chain_ops = {
	.open = link_open,
	.parent_name = link_parent_name,
	.set_parent = link_set_parent,
	.media_size = link_media_size,
	.read_at = read_at,
	.close = link_close,
};

static int qcow_open(const char *path, void **impl, uint64_t *media_size,
		     char why[UFFS_CONTAINER_WHY])
{
	return uffs_chain_container_open(&chain_ops, path, impl, media_size,
					 why);
}

const struct uffs_container_ops uffs_container_qcow = {
	.name = "QCOW",
	.open = qcow_open,
	.read = uffs_chain_container_read,
	.close = uffs_chain_container_close,
};
