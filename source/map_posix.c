/* POSIX mapping and atomic replacement of saved index files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "map.h"

int uffs_map_open(const char *path, struct uffs_map *m, int *os_error,
		  const char **what)
{
	*m = (struct uffs_map){NULL, 0, -1, 0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*os_error = errno;
		*what = "cannot open";
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*os_error = S_ISDIR(st.st_mode) ? EISDIR : errno ? errno : EINVAL;
		*what = "not a regular file";
		close(fd);
		return -1;
	}
	m->len = (uint64_t)st.st_size;
	if (m->len) {
		void *p = mmap(NULL, (size_t)m->len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			*os_error = errno;
			*what = "cannot map";
			close(fd);
			return -1;
		}
		m->data = p;
	}
	/* The mapping stays valid once the descriptor is closed. */
	close(fd);
	return 0;
}

void uffs_map_close(struct uffs_map *m)
{
	if (m->data)
		munmap((void *)(uintptr_t)m->data, (size_t)m->len);
	*m = (struct uffs_map){NULL, 0, -1, 0};
}

int uffs_outfile_open(struct uffs_outfile *o, const char *final_path,
		      int *os_error)
{
	*o = (struct uffs_outfile){-1, NULL, NULL};
	size_t n = strlen(final_path);
	o->tmp_path = malloc(n + sizeof ".tmp-XXXXXX");
	o->final_path = strdup(final_path);
	if (!o->tmp_path || !o->final_path) {
		*os_error = ENOMEM;
		goto fail;
	}
	memcpy(o->tmp_path, final_path, n);
	memcpy(o->tmp_path + n, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
	int fd = mkstemp(o->tmp_path);
	if (fd < 0) {
		*os_error = errno;
		goto fail;
	}
	/* mkstemp gives 0600; an index is as readable as other files. */
	mode_t mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	o->handle = fd;
	return 0;
fail:
	free(o->tmp_path);
	free(o->final_path);
	*o = (struct uffs_outfile){-1, NULL, NULL};
	return -1;
}

int uffs_outfile_write(struct uffs_outfile *o, const void *p, size_t n,
		       int *os_error)
{
	const char *c = p;
	while (n) {
		ssize_t w = write((int)o->handle, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*os_error = w < 0 ? errno : EIO;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static void release(struct uffs_outfile *o, bool remove_tmp)
{
	if (o->handle >= 0)
		close((int)o->handle);
	if (remove_tmp && o->tmp_path)
		unlink(o->tmp_path);
	free(o->tmp_path);
	free(o->final_path);
	*o = (struct uffs_outfile){-1, NULL, NULL};
}

int uffs_outfile_commit(struct uffs_outfile *o, int *os_error)
{
	int fd = (int)o->handle;
	o->handle = -1;
	int rc = fsync(fd);
	int e = errno;
	if (close(fd) != 0 && rc == 0)
		rc = -1, e = errno;
	if (rc == 0 && rename(o->tmp_path, o->final_path) != 0)
		rc = -1, e = errno;
	if (rc) {
		*os_error = e;
		release(o, true);
		return -1;
	}
	release(o, false);
	return 0;
}

void uffs_outfile_abort(struct uffs_outfile *o)
{
	release(o, true);
}

bool uffs_same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

bool uffs_outfile_replaceable(const char *path)
{
	struct stat st;
	return stat(path, &st) != 0 || S_ISREG(st.st_mode);
}
