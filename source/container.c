/* Container detection by content, and the serialized read every format
 * goes through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"

#if UFFS_HAVE_LIBEWF
#define EWF_OPS &uffs_container_ewf
#else
#define EWF_OPS NULL
#endif
#if UFFS_HAVE_LIBVHDI
#define VHDI_OPS &uffs_container_vhdi
#else
#define VHDI_OPS NULL
#endif
#if UFFS_HAVE_LIBVMDK
#define VMDK_OPS &uffs_container_vmdk
#else
#define VMDK_OPS NULL
#endif
#if UFFS_HAVE_LIBQCOW
#define QCOW_OPS &uffs_container_qcow
#else
#define QCOW_OPS NULL
#endif

enum where { AT_HEAD, AT_TAIL };

struct signature {
	const char *format;
	const char *failure;
	enum where where;
	const char *magic;
	size_t len;
	const struct uffs_container_ops *ops;
	const char *library;
};

#define SIG(fmt, where, magic, ops, lib)                                       \
	{fmt, "cannot open the " fmt " container", where, magic,               \
	 sizeof magic - 1, ops, lib}

/* Formats by their signatures (each format's published specification):
 * EWF and EWF2 segment headers, the VHD footer (copied to the start of
 * dynamic and differencing images, only at the end of fixed ones), the
 * VHDX file identifier, VMDK sparse extents (KDMV, and ESX's COWD) and text
 * descriptors, and the qcow header. */
static const struct signature signatures[] = {
	SIG("EWF", AT_HEAD, "EVF\x09\x0d\x0a\xff\x00", EWF_OPS, "libewf"),
	SIG("EWF2", AT_HEAD, "EVF2\x0d\x0a\x81\x00", EWF_OPS, "libewf"),
	SIG("VHDX", AT_HEAD, "vhdxfile", VHDI_OPS, "libvhdi"),
	SIG("VHD", AT_HEAD, "conectix", VHDI_OPS, "libvhdi"),
	SIG("VHD", AT_TAIL, "conectix", VHDI_OPS, "libvhdi"),
	SIG("VMDK", AT_HEAD, "KDMV", VMDK_OPS, "libvmdk"),
	SIG("VMDK", AT_HEAD, "COWD", VMDK_OPS, "libvmdk"),
	SIG("VMDK", AT_HEAD, "# Disk DescriptorFile", VMDK_OPS, "libvmdk"),
	SIG("QCOW", AT_HEAD, "QFI\xfb", QCOW_OPS, "libqcow"),
};

#define N_SIGNATURES (sizeof signatures / sizeof *signatures)

static const struct signature *match(const uint8_t *head, size_t head_len,
				     const uint8_t *tail, size_t tail_len)
{
	for (size_t i = 0; i < N_SIGNATURES; i++) {
		const struct signature *s = &signatures[i];
		const uint8_t *at = s->where == AT_HEAD ? head : tail;
		size_t len = s->where == AT_HEAD ? head_len : tail_len;
		if (at && len >= s->len && memcmp(at, s->magic, s->len) == 0)
			return s;
	}
	return NULL;
}

const char *uffs_container_detect(const uint8_t *head, size_t head_len,
				  const uint8_t *tail, size_t tail_len)
{
	const struct signature *s = match(head, head_len, tail, tail_len);
	return s ? s->format : NULL;
}

const char *uffs_container_failure(const char *format)
{
	for (size_t i = 0; i < N_SIGNATURES; i++)
		if (!strcmp(signatures[i].format, format))
			return signatures[i].failure;
	return "cannot open the container";
}

void uffs_container_formats(char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < N_SIGNATURES; i++) {
		const struct signature *s = &signatures[i];
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen |= !strcmp(signatures[j].format, s->format);
		if (!s->ops || seen || used >= cap)
			continue;
		int n = snprintf(buf + used, cap - used, "%s%s", used ? " " : "",
				 s->format);
		if (n > 0)
			used += (size_t)n;
	}
}

static int init_lanes(struct uffs_container *c, void *first)
{
	if (pthread_mutex_init(&c->lock, NULL))
		return -1;
	for (unsigned i = 0; i < UFFS_CONTAINER_LANES; i++)
		if (pthread_mutex_init(&c->lane[i].busy, NULL)) {
			while (i--)
				pthread_mutex_destroy(&c->lane[i].busy);
			pthread_mutex_destroy(&c->lock);
			return -1;
		}
	c->lane[0].impl = first;
	c->n_lanes = 1;
	return 0;
}

int uffs_container_open(struct uffs_container *c, const char *format,
			const char *path, char why[UFFS_CONTAINER_WHY])
{
	const struct signature *s = NULL;
	for (size_t i = 0; i < N_SIGNATURES && !s; i++)
		if (!strcmp(signatures[i].format, format))
			s = &signatures[i];
	*c = (struct uffs_container){.format = format};
	if (!s) {
		snprintf(why, UFFS_CONTAINER_WHY, "unknown container format");
		return -1;
	}
	if (!s->ops) {
		snprintf(why, UFFS_CONTAINER_WHY,
			 "an %s container: this build of uffs was made without %s",
			 s->format, s->library);
		return -1;
	}
	why[0] = '\0';
	void *impl;
	if (s->ops->open(path, &impl, &c->size, why))
		return -1;
	c->path = strdup(path);
	if (!c->path || init_lanes(c, impl)) {
		s->ops->close(impl);
		free(c->path);
		snprintf(why, UFFS_CONTAINER_WHY, "out of resources");
		return -1;
	}
	c->ops = s->ops;
	return 0;
}

int uffs_container_wrap(struct uffs_container *c,
			const struct uffs_container_ops *ops,
			const char *format, void *impl, uint64_t size)
{
	*c = (struct uffs_container){.format = format, .size = size};
	if (init_lanes(c, impl))
		return -1;
	c->ops = ops;
	return 0;
}

void uffs_container_close(struct uffs_container *c)
{
	if (!c->ops)
		return;
	for (unsigned i = 0; i < UFFS_CONTAINER_LANES; i++) {
		if (i < c->n_lanes)
			c->ops->close(c->lane[i].impl);
		pthread_mutex_destroy(&c->lane[i].busy);
	}
	pthread_mutex_destroy(&c->lock);
	free(c->path);
	c->ops = NULL;
	c->path = NULL;
}

/* A lane for one read, held (busy locked) on return: an idle one, else a
 * new one while there is room, else the first, waited for. */
static struct uffs_container_lane *take_lane(struct uffs_container *c)
{
	pthread_mutex_lock(&c->lock);
	unsigned n = c->n_lanes;
	for (unsigned i = 0; i < n; i++)
		if (pthread_mutex_trylock(&c->lane[i].busy) == 0) {
			pthread_mutex_unlock(&c->lock);
			return &c->lane[i];
		}
	if (c->path && n < UFFS_CONTAINER_LANES) {
		char why[UFFS_CONTAINER_WHY] = "";
		uint64_t size = 0;
		void *impl;
		/* a lane that will not open is no error: the open ones do */
		if (c->ops->open(c->path, &impl, &size, why) == 0) {
			if (size == c->size) {
				struct uffs_container_lane *l = &c->lane[n];
				l->impl = impl;
				pthread_mutex_lock(&l->busy);
				c->n_lanes = n + 1;
				pthread_mutex_unlock(&c->lock);
				return l;
			}
			c->ops->close(impl);
		}
	}
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_lock(&c->lane[0].busy);
	return &c->lane[0];
}

int uffs_container_read(struct uffs_container *c, void *buf, size_t len,
			uint64_t off)
{
	if (off > c->size || len > c->size - off) {
		pthread_mutex_lock(&c->lock);
		snprintf(c->why, sizeof c->why, "read past the end of the %s disk",
			 c->format);
		pthread_mutex_unlock(&c->lock);
		return -1;
	}
	struct uffs_container_lane *l = take_lane(c);
	char why[UFFS_CONTAINER_WHY] = "";
	int rc = c->ops->read(l->impl, buf, len, off, why);
	pthread_mutex_unlock(&l->busy);
	if (rc) {
		pthread_mutex_lock(&c->lock);
		memcpy(c->why, why, sizeof why);
		pthread_mutex_unlock(&c->lock);
	}
	return rc;
}

void uffs_container_last_error(struct uffs_container *c,
			       char out[UFFS_CONTAINER_WHY])
{
	pthread_mutex_lock(&c->lock);
	memcpy(out, c->why, UFFS_CONTAINER_WHY);
	pthread_mutex_unlock(&c->lock);
}

void uffs_container_reason(char why[UFFS_CONTAINER_WHY], const char *what,
			   const char *backtrace)
{
	size_t n = strcspn(backtrace, "\n");
	const char *text = backtrace;
	const char *colon = memchr(text, ':', n);
	if (colon && colon[1] == ' ') {
		n -= (size_t)(colon + 2 - text);
		text = colon + 2;
	}
	while (n && (text[n - 1] == '.' || text[n - 1] == ' '))
		n--;
	if (n)
		snprintf(why, UFFS_CONTAINER_WHY, "%s: %.*s", what, (int)n, text);
	else
		snprintf(why, UFFS_CONTAINER_WHY, "%s", what);
}
