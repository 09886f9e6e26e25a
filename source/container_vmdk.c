/* VMware VMDK: monolithic and split, sparse, flat and stream-optimized
 * extents, through libvmdk; a delta disk's parents (parentFileNameHint)
 * are opened in turn and chained. Extent files are looked for beside
 * their descriptor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvmdk.h>

#include "container.h"

static void reason(char why[UFFS_CONTAINER_WHY], const char *what,
		   libvmdk_error_t **e)
{
	char bt[1024] = "";
	if (*e) {
		libvmdk_error_backtrace_sprint(*e, bt, sizeof bt);
		libvmdk_error_free(e);
	}
	uffs_container_reason(why, what, bt);
}

static void link_close(void *link)
{
	libvmdk_handle_t *h = link;
	libvmdk_error_t *e = NULL;
	libvmdk_handle_close(h, &e);
	libvmdk_error_free(&e);
	libvmdk_handle_free(&h, &e);
	libvmdk_error_free(&e);
}

static int open_extents(libvmdk_handle_t *h, const char *path,
			char why[UFFS_CONTAINER_WHY])
{
	libvmdk_error_t *e = NULL;
	const char *slash = strrchr(path, '/');
	size_t dir_len = slash ? (size_t)(slash - path) : 1;
	const char *dir = slash ? path : ".";
	if (dir_len == 0) /* a descriptor in "/" */
		dir_len = 1;
	if (libvmdk_handle_set_extent_data_files_path(h, dir, dir_len, &e) != 1) {
		reason(why, "VMDK extent directory unusable", &e);
		return -1;
	}
	if (libvmdk_handle_open_extent_data_files(h, &e) != 1) {
		reason(why, "VMDK extent files missing or unreadable", &e);
		return -1;
	}
	return 0;
}

static int link_open(const char *path, void **link,
		     char why[UFFS_CONTAINER_WHY])
{
	libvmdk_error_t *e = NULL;
	libvmdk_handle_t *h = NULL;
	if (libvmdk_handle_initialize(&h, &e) != 1) {
		reason(why, "cannot set up libvmdk", &e);
		return -1;
	}
	if (libvmdk_handle_open(h, path, LIBVMDK_OPEN_READ, &e) != 1) {
		char what[UFFS_CONTAINER_WHY];
		snprintf(what, sizeof what,
			 "'%.80s' is not a readable VMDK descriptor or extent", path);
		reason(why, what, &e);
		libvmdk_handle_free(&h, &e);
		libvmdk_error_free(&e);
		return -1;
	}
	if (open_extents(h, path, why)) {
		link_close(h);
		return -1;
	}
	*link = h;
	return 0;
}

static int link_parent_name(void *link, char *name, size_t cap,
			    char why[UFFS_CONTAINER_WHY])
{
	libvmdk_error_t *e = NULL;
	size_t size = 0;
	name[0] = '\0';
	int has = libvmdk_handle_get_utf8_parent_filename_size(link, &size, &e);
	if (has == 0 || (has == 1 && size <= 1)) {
		libvmdk_error_free(&e);
		return 0; /* not a delta disk */
	}
	if (has != 1 || size > cap ||
	    libvmdk_handle_get_utf8_parent_filename(link, (uint8_t *)name, size,
						    &e) != 1) {
		reason(why, "a delta disk whose parent name is unreadable", &e);
		return -1;
	}
	name[size - 1] = '\0';
	return 0;
}

static int link_set_parent(void *link, void *parent,
			   char why[UFFS_CONTAINER_WHY])
{
	libvmdk_error_t *e = NULL;
	if (libvmdk_handle_set_parent_handle(link, parent, &e) == 1)
		return 0;
	reason(why, "the parent disk does not match its delta", &e);
	return -1;
}

static int link_media_size(void *link, uint64_t *size,
			   char why[UFFS_CONTAINER_WHY])
{
	libvmdk_error_t *e = NULL;
	size64_t s = 0;
	if (libvmdk_handle_get_media_size(link, &s, &e) != 1) {
		reason(why, "VMDK media size unreadable", &e);
		return -1;
	}
	*size = s;
	return 0;
}

static int64_t read_at(void *handle, void *buf, size_t len, uint64_t off,
		       char why[UFFS_CONTAINER_WHY])
{
	libvmdk_error_t *e = NULL;
	ssize_t n = libvmdk_handle_read_buffer_at_offset(handle, buf, len,
							 (off64_t)off, &e);
	if (n < 0)
		reason(why, "VMDK read failed (damaged grain table or extent?)",
		       &e);
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

static int vmdk_open(const char *path, void **impl, uint64_t *media_size,
		     char why[UFFS_CONTAINER_WHY])
{
	return uffs_chain_container_open(&chain_ops, path, impl, media_size,
					 why);
}

const struct uffs_container_ops uffs_container_vmdk = {
	.name = "VMDK",
	.open = vmdk_open,
	.read = uffs_chain_container_read,
	.close = uffs_chain_container_close,
};
