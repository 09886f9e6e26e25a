/* The disk of a file, a block device or a live Windows volume: read through
 * the platform's file layer (file_posix.c, file_win.c), and by the aio
 * backends through the OS handle itself. */
#include "source.h"

static int file_read(const struct uffs_source *src, void *buf, size_t len,
		     uint64_t off, struct mft_error *err)
{
	int os_error = 0;
	int64_t n = uffs_file_pread(&src->file, buf, len, off, &os_error);
	uint64_t at = off - src->base; /* errors name the volume's offsets */
	if (n < 0)
		return mft_fail(err, MFT_E_IO, MFT_NO_FRS, at,
				uffs_file_strerror(os_error));
	if ((size_t)n != len)
		return mft_fail(err, MFT_E_TRUNCATED, MFT_NO_FRS, at + (uint64_t)n,
				"short read (truncated image?)");
	return MFT_OK;
}

static const struct uaio_reader *file_aio_reader(const struct uffs_source *src)
{
	(void)src;
	return NULL;
}

static void file_open_direct(struct uffs_source *src)
{
	uffs_file_open_direct(&src->file, src->path);
}

static void file_close(struct uffs_source *src)
{
	uffs_file_close(&src->file);
}

const struct uffs_disk_ops uffs_disk_file = {
	.kind = "file",
	.read = file_read,
	.aio_reader = file_aio_reader,
	.open_direct = file_open_direct,
	.close = file_close,
};
