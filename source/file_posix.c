/* POSIX (Linux) file and block-device access, read-only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/fs.h>
#endif

#include "file.h"

static int device_size(int fd, uint64_t *size)
{
#ifdef BLKGETSIZE64
	return ioctl(fd, BLKGETSIZE64, size);
#else
	off_t end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return -1;
	*size = (uint64_t)end;
	return 0;
#endif
}

/* Linux says whether a disk spins in sysfs; a partition's answer is in its
 * parent disk's queue. Unknown counts as not rotational. */
static bool device_rotational(dev_t dev)
{
	static const char *const tail[] = {"/queue/rotational",
					   "/../queue/rotational"};
	for (size_t i = 0; i < sizeof tail / sizeof *tail; i++) {
		char path[96];
		snprintf(path, sizeof path, "/sys/dev/block/%u:%u%s", major(dev),
			 minor(dev), tail[i]);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		int c = fgetc(f);
		fclose(f);
		return c == '1';
	}
	return false;
}

int uffs_file_open(const char *path, struct uffs_file *f, int *os_error,
		   const char **what)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*os_error = errno;
		*what = "cannot open";
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		*os_error = errno;
		*what = "cannot stat";
		close(fd);
		return -1;
	}
	f->handle = fd;
	f->direct_handle = -1;
	f->volume_prefix[0] = '\0';
	f->is_device = S_ISBLK(st.st_mode);
	f->rotational = f->is_device && device_rotational(st.st_rdev);
	if (f->is_device) {
		if (device_size(fd, &f->size) != 0) {
			*os_error = errno;
			*what = "cannot get the size of block device";
			close(fd);
			return -1;
		}
	} else if (S_ISREG(st.st_mode)) {
		f->size = (uint64_t)st.st_size;
	} else {
		*os_error = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		*what = "not a regular file or block device";
		close(fd);
		return -1;
	}
	return 0;
}

int64_t uffs_file_pread(const struct uffs_file *f, void *buf, size_t len,
			uint64_t off, int *os_error)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread((int)f->handle, (char *)buf + done,
				  len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*os_error = errno;
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (int64_t)done;
}

int uffs_file_cached(const struct uffs_file *f, void *buf, size_t len,
		     uint64_t off)
{
#ifdef RWF_NOWAIT
	struct iovec iov = {buf, len};
	ssize_t n;
	do
		n = preadv2((int)f->handle, &iov, 1, (off_t)off, RWF_NOWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	/* A buffered read that stops short without reaching the end of the
	 * file met a page not in the cache. */
	return (size_t)n == len || off + (uint64_t)n >= f->size ? 1 : 0;
#else
	(void)f;
	(void)buf;
	(void)len;
	(void)off;
	return -1;
#endif
}

int uffs_file_open_direct(struct uffs_file *f, const char *path)
{
#ifdef O_DIRECT
	int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return -1;
	f->direct_handle = fd;
	/* 4096 covers the logical block size of every disk and file system
	 * we expect; a read that is not aligned so uses the buffered handle. */
	f->direct_align = 4096;
	return 0;
#else
	(void)f;
	(void)path;
	return -1;
#endif
}

uint64_t uffs_file_next_data(const struct uffs_file *f, uint64_t off)
{
	if (off >= f->size)
		return f->size;
	off_t at = lseek((int)f->handle, (off_t)off, SEEK_DATA);
	if (at >= 0)
		return (uint64_t)at;
	return errno == ENXIO ? f->size : off;
}

void uffs_file_close(struct uffs_file *f)
{
	if (f->direct_handle >= 0)
		close((int)f->direct_handle);
	f->direct_handle = -1;
	if (f->handle >= 0)
		close((int)f->handle);
	f->handle = -1;
}

int uffs_file_volume_facts(const struct uffs_file *f, uint8_t *vd,
			   size_t vd_len, uint8_t *rp, size_t rp_cap,
			   size_t *rp_len)
{
	(void)f;
	(void)vd;
	(void)vd_len;
	(void)rp;
	(void)rp_cap;
	*rp_len = 0;
	return -1; /* Linux volumes say nothing beyond the boot sector */
}

const char *uffs_file_strerror(int os_error)
{
	return strerror(os_error);
}

/* No live change journal here: images carry theirs in $Extend/$UsnJrnl. */
int uffs_file_journal_query(const struct uffs_file *f, uint8_t *q, size_t q_cap,
			    size_t *q_len)
{
	(void)f;
	(void)q;
	(void)q_cap;
	*q_len = 0;
	return -1;
}

int uffs_file_journal_read(const struct uffs_file *f, uint64_t id,
			   int64_t start, bool wait, uint32_t timeout_ms,
			   uint8_t *out, size_t cap, size_t *got)
{
	(void)f;
	(void)id;
	(void)start;
	(void)wait;
	(void)timeout_ms;
	(void)out;
	(void)cap;
	*got = 0;
	return -1;
}

/* No file system between us and an image: its records are what it holds. */
int uffs_file_ntfs_record(const struct uffs_file *f, uint64_t frs,
			  uint8_t *out, size_t cap, size_t *got)
{
	(void)f;
	(void)frs;
	(void)out;
	(void)cap;
	*got = 0;
	return -1;
}

bool uffs_file_error_unsupported(int os_error)
{
	return os_error == ENOTSUP || os_error == ENOTTY || os_error == EINVAL;
}
