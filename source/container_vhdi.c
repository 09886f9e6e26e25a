/* VHD (fixed, dynamic, differencing) and VHDX, through libvhdi. A
 * differencing image's parents are opened in turn and chained. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvhdi.h>

#include "container.h"

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

static void link_close(void *link)
{
	libvhdi_file_t *f = link;
	libvhdi_error_t *e = NULL;
	libvhdi_file_close(f, &e);
	libvhdi_error_free(&e);
	libvhdi_file_free(&f, &e);
	libvhdi_error_free(&e);
}

static int link_open(const char *path, void **link,
		     char why[UFFS_CONTAINER_WHY])
{
	libvhdi_error_t *e = NULL;
	libvhdi_file_t *f = NULL;
	if (libvhdi_file_initialize(&f, &e) != 1) {
		reason(why, "cannot set up libvhdi", &e);
		return -1;
	}
	if (libvhdi_file_open(f, path, LIBVHDI_OPEN_READ, &e) != 1) {
		char what[UFFS_CONTAINER_WHY];
		snprintf(what, sizeof what, "'%.80s' is not a readable VHD or VHDX",
			 path);
		reason(why, what, &e);
		libvhdi_file_free(&f, &e);
		libvhdi_error_free(&e);
		return -1;
	}
	*link = f;
	return 0;
}

static int link_parent_name(void *link, char *name, size_t cap,
			    char why[UFFS_CONTAINER_WHY])
{
	libvhdi_file_t *f = link;
	libvhdi_error_t *e = NULL;
	uint32_t type = 0;
	size_t size = 0;
	name[0] = '\0';
	if (libvhdi_file_get_disk_type(f, &type, &e) != 1) {
		reason(why, "VHD disk type unreadable", &e);
		return -1;
	}
	if (type != LIBVHDI_DISK_TYPE_DIFFERENTIAL)
		return 0;
	if (libvhdi_file_get_utf8_parent_filename_size(f, &size, &e) != 1 ||
	    size == 0 || size > cap ||
	    libvhdi_file_get_utf8_parent_filename(f, (uint8_t *)name, size,
						  &e) != 1) {
		reason(why, "a differencing image whose parent name is unreadable",
		       &e);
		return -1;
	}
	name[size - 1] = '\0';
	if (!name[0]) {
		snprintf(why, UFFS_CONTAINER_WHY,
			 "a differencing image that names no parent");
		return -1;
	}
	return 0;
}

static int link_set_parent(void *link, void *parent,
			   char why[UFFS_CONTAINER_WHY])
{
	libvhdi_error_t *e = NULL;
	if (libvhdi_file_set_parent_file(link, parent, &e) == 1)
		return 0;
	reason(why, "the parent image does not match its child", &e);
	return -1;
}

static int link_media_size(void *link, uint64_t *size,
			   char why[UFFS_CONTAINER_WHY])
{
	libvhdi_error_t *e = NULL;
	size64_t s = 0;
	if (libvhdi_file_get_media_size(link, &s, &e) != 1) {
		reason(why, "VHD media size unreadable", &e);
		return -1;
	}
	*size = s;
	return 0;
}

static int64_t read_at(void *handle, void *buf, size_t len, uint64_t off,
		       char why[UFFS_CONTAINER_WHY])
{
	libvhdi_error_t *e = NULL;
	ssize_t n = libvhdi_file_read_buffer_at_offset(handle, buf, len,
						       (off64_t)off, &e);
	if (n < 0)
		reason(why, "VHD read failed (damaged block table?)", &e);
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

static int vhdi_open(const char *path, void **impl, uint64_t *media_size,
		     char why[UFFS_CONTAINER_WHY])
{
	return uffs_chain_container_open(&chain_ops, path, impl, media_size,
					 why);
}

const struct uffs_container_ops uffs_container_vhdi = {
	.name = "VHD",
	.open = vhdi_open,
	.read = uffs_chain_container_read,
	.close = uffs_chain_container_close,
};
