/* VHD (fixed, dynamic, differencing) and VHDX, through libvhdi. A
 * differencing image's parents are opened in turn and chained. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvhdi.h>

#include "container.h"

#define NAME_MAX_BYTES 4096

struct vhdi {
	libvhdi_file_t *file[UFFS_CONTAINER_CHAIN_MAX];
	char *path[UFFS_CONTAINER_CHAIN_MAX];
	int n;
};

static void reason(char why[UFFS_CONTAINER_WHY], const char *what,
		   libvhdi_error_t **e)
{
	char bt[1024] = "";
	if (*e) {
		libvhdi_error_backtrace_sprint(*e, bt, sizeof bt);
		libvhdi_error_free(e);
	}
	uffs_container_reason(why, what, bt);
}

static void vhdi_close(void *impl)
{
	struct vhdi *x = impl;
	for (int i = 0; i < x->n; i++) {
		libvhdi_error_t *e = NULL;
		libvhdi_file_close(x->file[i], &e);
		libvhdi_error_free(&e);
		libvhdi_file_free(&x->file[i], &e);
		libvhdi_error_free(&e);
		free(x->path[i]);
	}
	free(x);
}

static int parent_name(libvhdi_file_t *f, char *name, size_t cap,
		       char why[UFFS_CONTAINER_WHY])
{
	libvhdi_error_t *e = NULL;
	size_t size = 0;
	if (libvhdi_file_get_utf8_parent_filename_size(f, &size, &e) != 1 ||
	    size == 0 || size > cap ||
	    libvhdi_file_get_utf8_parent_filename(f, (uint8_t *)name, size,
						  &e) != 1) {
		reason(why, "a differencing image whose parent name is unreadable",
		       &e);
		return -1;
	}
	name[size - 1] = '\0';
	return 0;
}

static int open_chain(struct vhdi *x, const char *path,
		      char why[UFFS_CONTAINER_WHY]);

/* Opens the parent that f names (if it names one) and chains it to f. */
static int open_parent(struct vhdi *x, libvhdi_file_t *f, const char *path,
		       char why[UFFS_CONTAINER_WHY])
{
	char *name = malloc(NAME_MAX_BYTES);
	char *parent = malloc(PATH_MAX);
	int parent_at = x->n;
	int rc = -1;
	libvhdi_error_t *e = NULL;
	if (!name || !parent)
		snprintf(why, UFFS_CONTAINER_WHY, "out of memory");
	else if (parent_name(f, name, NAME_MAX_BYTES, why))
		rc = -1;
	else if (!name[0])
		rc = 0;
	else if (!uffs_container_parent_path(path, name, parent, PATH_MAX,
					     why) &&
		 !open_chain(x, parent, why)) {
		if (libvhdi_file_set_parent_file(f, x->file[parent_at], &e) != 1)
			reason(why, "the parent image does not match its child", &e);
		else
			rc = 0;
	}
	free(name);
	free(parent);
	return rc;
}

/* Opens `path` as link x->n of the chain, then its parents. */
static int open_chain(struct vhdi *x, const char *path,
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
	libvhdi_error_t *e = NULL;
	libvhdi_file_t *f = NULL;
	if (libvhdi_file_initialize(&f, &e) != 1) {
		reason(why, "cannot set up libvhdi", &e);
		return -1;
	}
	x->file[x->n] = f;
	x->path[x->n] = strdup(path);
	x->n++;
	if (!x->path[x->n - 1]) {
		snprintf(why, UFFS_CONTAINER_WHY, "out of memory");
		return -1;
	}
	if (libvhdi_file_open(f, path, LIBVHDI_OPEN_READ, &e) != 1) {
		char what[UFFS_CONTAINER_WHY];
		snprintf(what, sizeof what, "'%.80s' is not a readable VHD or VHDX",
			 path);
		reason(why, what, &e);
		return -1;
	}
	uint32_t type = 0;
	if (libvhdi_file_get_disk_type(f, &type, &e) != 1) {
		reason(why, "VHD disk type unreadable", &e);
		return -1;
	}
	if (type != LIBVHDI_DISK_TYPE_DIFFERENTIAL)
		return 0;
	return open_parent(x, f, path, why);
}

static int vhdi_open(const char *path, void **impl, uint64_t *media_size,
		     char why[UFFS_CONTAINER_WHY])
{
	struct vhdi *x = calloc(1, sizeof *x);
	if (!x) {
		snprintf(why, UFFS_CONTAINER_WHY, "out of memory");
		return -1;
	}
	libvhdi_error_t *e = NULL;
	size64_t size = 0;
	if (open_chain(x, path, why)) {
		vhdi_close(x);
		return -1;
	}
	if (libvhdi_file_get_media_size(x->file[0], &size, &e) != 1) {
		reason(why, "VHD media size unreadable", &e);
		vhdi_close(x);
		return -1;
	}
	*impl = x;
	*media_size = size;
	return 0;
}

static int vhdi_read(void *impl, void *buf, size_t len, uint64_t off,
		     char why[UFFS_CONTAINER_WHY])
{
	struct vhdi *x = impl;
	uint8_t *p = buf;
	while (len) {
		libvhdi_error_t *e = NULL;
		ssize_t n = libvhdi_file_read_buffer_at_offset(
			x->file[0], p, len, (off64_t)off, &e);
		if (n <= 0) {
			reason(why, "VHD read failed (damaged block table?)", &e);
			return -1;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

const struct uffs_container_ops uffs_container_vhdi = {
	.name = "VHD",
	.open = vhdi_open,
	.read = vhdi_read,
	.close = vhdi_close,
};
