/* Shadow-copy stores through libvshadow, which reads the volume through a
 * libbfio handle whose reads are the source's own: so stores are found in
 * raw images, partitions, containers and devices alike. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libbfio.h>
#include <libvshadow.h>

#include "source.h"
#include "vss.h"

/* The volume as libbfio sees it: a position over the source's reads. */
struct volume_io {
	const struct uffs_source *src;
	uint64_t pos, size;
};

struct vss_volume {
	struct volume_io io;
	libbfio_handle_t *bfio;
	libvshadow_volume_t *volume;
};

struct store_reader {
	struct vss_volume v;
	libvshadow_store_t *store;
	struct uffs_source *inner; /* what the store is read from */
};

static void yal_reason(char *out, size_t cap, const char *what,
		       libvshadow_error_t **e)
{
	char bt[1024] = "";
	if (*e) {
		libvshadow_error_backtrace_sprint(*e, bt, sizeof bt);
		libvshadow_error_free(e);
	}
	char why[UFFS_CONTAINER_WHY];
	uffs_container_reason(why, what, bt);
	snprintf(out, cap, "%s", why);
}

static ssize_t io_read(intptr_t *h, uint8_t *buf, size_t size,
		       libbfio_error_t **error)
{
	struct volume_io *io = (struct volume_io *)h;
	struct mft_error err;
	(void)error;
	if (io->pos >= io->size)
		return 0;
	if (size > io->size - io->pos)
		size = (size_t)(io->size - io->pos);
	if (uffs_source_read(io->src, buf, size, io->pos, &err))
		return -1;
	io->pos += size;
	return (ssize_t)size;
}

static off64_t io_seek(intptr_t *h, off64_t offset, int whence,
		       libbfio_error_t **error)
{
	struct volume_io *io = (struct volume_io *)h;
	(void)error;
	int64_t base = whence == SEEK_CUR ? (int64_t)io->pos
		       : whence == SEEK_END ? (int64_t)io->size
					    : 0;
	if (offset < -base)
		return -1;
	io->pos = (uint64_t)(base + offset);
	return (off64_t)io->pos;
}

static ssize_t io_write(intptr_t *h, const uint8_t *buf, size_t size,
			libbfio_error_t **error)
{
	(void)h, (void)buf, (void)size, (void)error;
	return -1; /* sources are read-only */
}

static int io_size(intptr_t *h, size64_t *size, libbfio_error_t **error)
{
	(void)error;
	*size = ((struct volume_io *)h)->size;
	return 1;
}

static int io_yes(intptr_t *h, libbfio_error_t **error)
{
	(void)h, (void)error;
	return 1;
}

static int io_open(intptr_t *h, int flags, libbfio_error_t **error)
{
	(void)h, (void)flags, (void)error;
	return 1;
}

static int io_close(intptr_t *h, libbfio_error_t **error)
{
	(void)h, (void)error;
	return 0;
}

static int io_free(intptr_t **h, libbfio_error_t **error)
{
	(void)h, (void)error;
	return 1; /* the handle lives in struct vss_volume */
}

static void volume_close(struct vss_volume *v)
{
	libvshadow_error_t *e = NULL;
	libbfio_error_t *be = NULL;
	if (v->volume) {
		libvshadow_volume_close(v->volume, &e);
		libvshadow_error_free(&e);
		libvshadow_volume_free(&v->volume, &e);
		libvshadow_error_free(&e);
	}
	if (v->bfio) {
		libbfio_handle_free(&v->bfio, &be);
		libbfio_error_free(&be);
	}
}

/* Opens the shadow-copy volume over src. Returns 1 when it has stores'
 * catalog, 0 when it has no VSS at all, -1 (why) on failure. */
static int volume_open(struct vss_volume *v, const struct uffs_source *src,
		       char *why, size_t why_cap)
{
	libvshadow_error_t *e = NULL;
	libbfio_error_t *be = NULL;
	*v = (struct vss_volume){.io = {src, 0, src->size}};
	if (libbfio_handle_initialize(
		    &v->bfio, (intptr_t *)&v->io, io_free, NULL, io_open,
		    io_close, io_read, io_write, io_seek, io_yes, io_yes,
		    io_size,
		    LIBBFIO_FLAG_IO_HANDLE_NON_MANAGED |
			    LIBBFIO_FLAG_IO_HANDLE_CLONE_BY_REFERENCE,
		    &be) != 1) {
		libbfio_error_free(&be);
		snprintf(why, why_cap, "cannot set up libbfio");
		return -1;
	}
	int has = libvshadow_check_volume_signature_file_io_handle(v->bfio, &e);
	if (has != 1) {
		libvshadow_error_free(&e);
		return has == 0 ? 0 : -1;
	}
	if (libvshadow_volume_initialize(&v->volume, &e) != 1 ||
	    libvshadow_volume_open_file_io_handle(v->volume, v->bfio,
						  LIBVSHADOW_OPEN_READ,
						  &e) != 1) {
		yal_reason(why, why_cap, "unreadable shadow-copy catalog", &e);
		return -1;
	}
	return 1;
}

bool uffs_vss_available(void)
{
	return true;
}

static int fail(struct mft_error *err, int code, const char *what,
		const char *detail)
{
	mft_fail(err, code, MFT_NO_FRS, MFT_NO_OFFSET, what);
	snprintf(err->detail, sizeof err->detail, "%s", detail);
	return code;
}

static int store_facts(libvshadow_volume_t *volume, int index,
		       struct uffs_vss_store *out, char *why, size_t cap)
{
	libvshadow_error_t *e = NULL;
	libvshadow_store_t *store = NULL;
	size64_t size = 0;
	int rc = -1;
	*out = (struct uffs_vss_store){.number = index + 1};
	if (libvshadow_volume_get_store(volume, index, &store, &e) == 1 &&
	    libvshadow_store_get_identifier(store, out->id, 16, &e) == 1 &&
	    libvshadow_store_get_creation_time(store, &out->created, &e) == 1 &&
	    libvshadow_store_get_volume_size(store, &size, &e) == 1)
		rc = 0;
	else
		yal_reason(why, cap, "unreadable shadow-copy store", &e);
	out->volume_size = size;
	if (store) {
		libvshadow_store_free(&store, &e);
		libvshadow_error_free(&e);
	}
	return rc;
}

int uffs_vss_stores(const struct uffs_source *src, struct uffs_vss_store *out,
		    int cap, int *n, struct mft_error *err)
{
	struct vss_volume v;
	char why[UFFS_CONTAINER_WHY] = "";
	*n = 0;
	int has = volume_open(&v, src, why, sizeof why);
	int rc = MFT_OK;
	int count = 0;
	libvshadow_error_t *e = NULL;
	if (has < 0)
		rc = fail(err, MFT_E_CORRUPT, "cannot read the shadow copies", why);
	else if (has > 0 &&
		 libvshadow_volume_get_number_of_stores(v.volume, &count, &e) != 1) {
		yal_reason(why, sizeof why, "store count unreadable", &e);
		rc = fail(err, MFT_E_CORRUPT, "cannot read the shadow copies", why);
	}
	for (int i = 0; rc == MFT_OK && i < count && i < cap; i++) {
		if (store_facts(v.volume, i, &out[i], why, sizeof why))
			rc = fail(err, MFT_E_CORRUPT,
				  "cannot read the shadow copies", why);
		else
			*n = i + 1;
	}
	volume_close(&v);
	return rc;
}

static int64_t store_read_at(void *handle, void *buf, size_t len,
			     uint64_t off, char why[UFFS_CONTAINER_WHY])
{
	libvshadow_error_t *e = NULL;
	ssize_t n = libvshadow_store_read_buffer_at_offset(handle, buf, len,
							   (off64_t)off, &e);
	if (n < 0)
		yal_reason(why, UFFS_CONTAINER_WHY,
			   "shadow-copy store read failed (damaged store?)", &e);
	return n;
}

static int store_read(void *impl, void *buf, size_t len, uint64_t off,
		      char why[UFFS_CONTAINER_WHY])
{
	struct store_reader *r = impl;
	return uffs_container_read_all(store_read_at, r->store, buf, len, off,
				       why);
}

static void store_close(void *impl)
{
	struct store_reader *r = impl;
	libvshadow_error_t *e = NULL;
	if (r->store) {
		libvshadow_store_free(&r->store, &e);
		libvshadow_error_free(&e);
	}
	volume_close(&r->v);
	if (r->inner) {
		uffs_source_close(r->inner);
		free(r->inner);
	}
	free(r);
}

static const struct uffs_container_ops store_ops = {
	.name = "VSS",
	.read = store_read,
	.close = store_close,
};

/* Store `number`, opened over inner. */
static int open_store(struct store_reader *r, int number, struct mft_error *err)
{
	char why[UFFS_CONTAINER_WHY] = "";
	libvshadow_error_t *e = NULL;
	int count = 0;
	int has = volume_open(&r->v, r->inner, why, sizeof why);
	if (has < 0)
		return fail(err, MFT_E_CORRUPT, "cannot read the shadow copies", why);
	if (has == 0)
		return fail(err, MFT_E_USAGE, "the volume has no shadow copies",
			    "see 'uffs info'");
	if (libvshadow_volume_get_number_of_stores(r->v.volume, &count, &e) != 1) {
		yal_reason(why, sizeof why, "store count unreadable", &e);
		return fail(err, MFT_E_CORRUPT, "cannot read the shadow copies", why);
	}
	if (number < 1 || number > count) {
		snprintf(why, sizeof why, "the volume has %d store%s: 1 to %d",
			 count, count == 1 ? "" : "s", count);
		return fail(err, MFT_E_USAGE, "no such shadow-copy store", why);
	}
	if (libvshadow_volume_get_store(r->v.volume, number - 1, &r->store,
					&e) != 1) {
		yal_reason(why, sizeof why, "unreadable store", &e);
		return fail(err, MFT_E_CORRUPT, "cannot read the shadow copies", why);
	}
	return MFT_OK;
}

int uffs_source_use_store(struct uffs_source *src, int number,
			  struct mft_error *err)
{
	struct store_reader *r = calloc(1, sizeof *r);
	struct uffs_container *c = calloc(1, sizeof *c);
	struct uffs_source *inner = malloc(sizeof *inner);
	if (!r || !c || !inner) {
		free(r), free(c), free(inner);
		return mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, MFT_NO_OFFSET,
				"out of memory");
	}
	*inner = *src;
	if (src->container == src->described)
		inner->container = inner->described;
	r->inner = inner;
	libvshadow_error_t *e = NULL;
	size64_t size = 0;
	int rc = open_store(r, number, err);
	if (rc == MFT_OK &&
	    libvshadow_store_get_volume_size(r->store, &size, &e) != 1) {
		libvshadow_error_free(&e);
		rc = fail(err, MFT_E_CORRUPT, "cannot read the shadow copies",
			  "store size unreadable");
	}
	if (rc == MFT_OK && uffs_container_wrap(c, &store_ops, "VSS", r, size))
		rc = mft_fail(err, MFT_E_NOMEM, MFT_NO_FRS, MFT_NO_OFFSET,
			      "out of resources");
	if (rc != MFT_OK) {
		r->inner = NULL; /* src still owns what it had */
		store_close(r);
		free(c);
		free(inner);
		return rc;
	}
	*src = (struct uffs_source){.path = inner->path,
				    .kind = UFFS_SOURCE_VOLUME,
				    .size = size,
				    .partition = inner->partition};
	uffs_source_read_through(src, c);
	snprintf(src->described, sizeof src->described, "store %d of %s",
		 number, inner->container ? inner->container : "the volume");
	src->container = src->described;
	return MFT_OK;
}
