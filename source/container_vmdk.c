/* VMware VMDK: monolithic and split, sparse and flat extents, through
 * libvmdk. Extent files are looked for beside the descriptor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvmdk.h>

#include "container.h"

struct vmdk {
	libvmdk_handle_t *handle;
	bool opened;
};

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

static void vmdk_close(void *impl)
{
	struct vmdk *x = impl;
	libvmdk_error_t *e = NULL;
	if (x->opened) {
		libvmdk_handle_close(x->handle, &e);
		libvmdk_error_free(&e);
	}
	if (x->handle) {
		libvmdk_handle_free(&x->handle, &e);
		libvmdk_error_free(&e);
	}
	free(x);
}

static int open_extents(struct vmdk *x, const char *path,
			char why[UFFS_CONTAINER_WHY])
{
	libvmdk_error_t *e = NULL;
	const char *slash = strrchr(path, '/');
	size_t dir_len = slash ? (size_t)(slash - path) : 1;
	const char *dir = slash ? path : ".";
	if (dir_len == 0) /* a descriptor in "/" */
		dir_len = 1;
	if (libvmdk_handle_set_extent_data_files_path(x->handle, dir, dir_len,
						      &e) != 1) {
		reason(why, "VMDK extent directory unusable", &e);
		return -1;
	}
	if (libvmdk_handle_open_extent_data_files(x->handle, &e) != 1) {
		reason(why, "VMDK extent files missing or unreadable", &e);
		return -1;
	}
	return 0;
}

static int vmdk_open(const char *path, void **impl, uint64_t *media_size,
		     char why[UFFS_CONTAINER_WHY])
{
	struct vmdk *x = calloc(1, sizeof *x);
	if (!x) {
		snprintf(why, UFFS_CONTAINER_WHY, "out of memory");
		return -1;
	}
	libvmdk_error_t *e = NULL;
	size64_t size = 0;
	if (libvmdk_handle_initialize(&x->handle, &e) != 1) {
		reason(why, "cannot set up libvmdk", &e);
		vmdk_close(x);
		return -1;
	}
	if (libvmdk_handle_open(x->handle, path, LIBVMDK_OPEN_READ, &e) != 1) {
		reason(why, "not a readable VMDK descriptor or extent", &e);
		vmdk_close(x);
		return -1;
	}
	x->opened = true;
	if (open_extents(x, path, why)) {
		vmdk_close(x);
		return -1;
	}
	if (libvmdk_handle_get_media_size(x->handle, &size, &e) != 1) {
		reason(why, "VMDK media size unreadable", &e);
		vmdk_close(x);
		return -1;
	}
	*impl = x;
	*media_size = size;
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

static int vmdk_read(void *impl, void *buf, size_t len, uint64_t off,
		     char why[UFFS_CONTAINER_WHY])
{
	struct vmdk *x = impl;
	return uffs_container_read_all(read_at, x->handle, buf, len, off, why);
}

const struct uffs_container_ops uffs_container_vmdk = {
	.name = "VMDK",
	.open = vmdk_open,
	.read = vmdk_read,
	.close = vmdk_close,
};
