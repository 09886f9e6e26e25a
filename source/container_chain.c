/* Chains of differencing images (a VHD's parents, a qcow's backing
 * files): each link opened by its format, its parent found from the name
 * it stores, at most UFFS_CONTAINER_CHAIN_MAX deep, loops refused. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"

#define NAME_MAX_BYTES 4096

static bool exists(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f)
		fclose(f);
	return f != NULL;
}

/* Where a child's parent file is: the name as stored when that file
 * exists, else the stored name's last component (after '/' or '\\')
 * beside the child. */
static int parent_path(const char *child, const char *stored, char *out,
		       size_t cap, char why[UFFS_CONTAINER_WHY])
{
	if (strlen(stored) < cap && exists(stored)) {
		snprintf(out, cap, "%s", stored);
		return 0;
	}
	const char *base = stored;
	for (const char *q = stored; *q; q++)
		if (*q == '/' || *q == '\\')
			base = q + 1;
	const char *slash = strrchr(child, '/');
	size_t dir_len = slash ? (size_t)(slash - child + 1) : 0;
	if (base[0] && dir_len + strlen(base) < cap) {
		snprintf(out, cap, "%.*s%s", (int)dir_len, child, base);
		if (exists(out))
			return 0;
	}
	snprintf(why, UFFS_CONTAINER_WHY,
		 "its parent image '%.80s' is missing (looked for it as named and beside the child)",
		 stored);
	return -1;
}

static int open_link(struct uffs_chain *c, const char *path,
		     char why[UFFS_CONTAINER_WHY]);

/* The parent that link `at` names, if it names one: opened and chained. */
static int open_parent(struct uffs_chain *c, int at, const char *path,
		       char why[UFFS_CONTAINER_WHY])
{
	char *name = malloc(NAME_MAX_BYTES);
	char *parent = malloc(PATH_MAX);
	int rc = -1;
	if (!name || !parent)
		snprintf(why, UFFS_CONTAINER_WHY, "out of memory");
	else if (c->ops->parent_name(c->link[at], name, NAME_MAX_BYTES, why))
		rc = -1;
	else if (!name[0])
		rc = 0;
	else if (!parent_path(path, name, parent, PATH_MAX, why) &&
		 !open_link(c, parent, why))
		rc = c->ops->set_parent(c->link[at], c->link[at + 1], why);
	free(name);
	free(parent);
	return rc;
}

static int open_link(struct uffs_chain *c, const char *path,
		     char why[UFFS_CONTAINER_WHY])
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->path[i], path)) {
			snprintf(why, UFFS_CONTAINER_WHY,
				 "a loop between parent images (at '%.80s')", path);
			return -1;
		}
	if (c->n == UFFS_CONTAINER_CHAIN_MAX) {
		snprintf(why, UFFS_CONTAINER_WHY,
			 "more than %d images in the parent chain",
			 UFFS_CONTAINER_CHAIN_MAX);
		return -1;
	}
	int at = c->n;
	c->path[at] = strdup(path);
	if (!c->path[at]) {
		snprintf(why, UFFS_CONTAINER_WHY, "out of memory");
		return -1;
	}
	if (c->ops->open(path, &c->link[at], why)) {
		free(c->path[at]);
		return -1;
	}
	c->n++;
	return open_parent(c, at, path, why);
}

void uffs_chain_container_close(void *impl)
{
	struct uffs_chain *c = impl;
	for (int i = c->n - 1; i >= 0; i--) {
		c->ops->close(c->link[i]);
		free(c->path[i]);
	}
	free(c);
}

int uffs_chain_container_open(const struct uffs_chain_ops *ops,
			      const char *path, void **impl,
			      uint64_t *media_size,
			      char why[UFFS_CONTAINER_WHY])
{
	struct uffs_chain *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(why, UFFS_CONTAINER_WHY, "out of memory");
		return -1;
	}
	c->ops = ops;
	if (open_link(c, path, why) || ops->media_size(c->link[0], media_size,
						       why)) {
		uffs_chain_container_close(c);
		return -1;
	}
	*impl = c;
	return 0;
}

int uffs_chain_container_read(void *impl, void *buf, size_t len, uint64_t off,
			      char why[UFFS_CONTAINER_WHY])
{
	struct uffs_chain *c = impl;
	return uffs_container_read_all(c->ops->read_at, c->link[0], buf, len,
				       off, why);
}

int uffs_container_read_all(uffs_read_at_fn *read_at, void *handle,
			    void *buf, size_t len, uint64_t off,
			    char why[UFFS_CONTAINER_WHY])
{
	uint8_t *p = buf;
	while (len) {
		int64_t n = read_at(handle, p, len, off, why);
		if (n <= 0) {
			if (n == 0 || !why[0])
				snprintf(why, UFFS_CONTAINER_WHY,
					 "the container ends early, at disk byte %llu",
					 (unsigned long long)off);
			return -1;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}
