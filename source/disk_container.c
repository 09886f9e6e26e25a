/* The disk a container holds (E01, VHD/VHDX, VMDK, qcow, a shadow-copy
 * store): read through struct uffs_container, and by the portable aio
 * backends through the same read function (the libraries have no handle
 * the OS could read). */
#include <stdio.h>
#include <stdlib.h>

#include "source.h"

/* The aio backends' read: what is there, short at the disk's end. */
static int64_t read_for_aio(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct uffs_container *c = ctx;
	if (off >= c->size)
		return 0;
	if (len > c->size - off)
		len = (size_t)(c->size - off);
	return uffs_container_read(c, buf, len, off) ? UAIO_E_IO
						      : (int64_t)len;
}

static int container_read(const struct uffs_source *src, void *buf,
			  size_t len, uint64_t off, struct mft_error *err)
{
	if (uffs_container_read(src->format, buf, len, off) == 0)
		return MFT_OK;
	char why[UFFS_CONTAINER_WHY];
	uffs_container_last_error(src->format, why);
	mft_fail(err, MFT_E_IO, MFT_NO_FRS, off - src->base,
		 "reading the container failed");
	snprintf(err->detail, sizeof err->detail, "%s", why);
	return MFT_E_IO;
}

static const struct uaio_reader *
container_aio_reader(const struct uffs_source *src)
{
	return &src->reader;
}

static void container_close(struct uffs_source *src)
{
	uffs_container_close(src->format);
	free(src->format);
	src->format = NULL;
}

const struct uffs_disk_ops uffs_disk_container = {
	.kind = "container",
	.read = container_read,
	.aio_reader = container_aio_reader,
	.open_direct = NULL, /* the libraries read through their own handles */
	.close = container_close,
};

void uffs_source_read_through(struct uffs_source *src,
			      struct uffs_container *c)
{
	src->file = (struct uffs_file){.handle = -1, .direct_handle = -1,
				       .size = c->size};
	src->disk = &uffs_disk_container;
	src->format = c;
	src->reader = (struct uaio_reader){read_for_aio, c};
}
