/* usn: the library's change journal reader, for tests/e2e/test_api.py.
 *   usn [--stream] [--since USN] SOURCE
 * One line a record: usn major.minor frs-seq parent_frs-parent_seq reason
 * source_info, then for versions 2 and 3 "time attributes security_id
 * name", for version 4 "extents offset+length ..."; warnings on stderr, then
 * "damaged N" and "records N". Exit 1 on an open or read failure. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uffs.h>

static void on_warning(void *ctx, const char *message)
{
	(void)ctx;
	fprintf(stderr, "warning: %s\n", message);
}

static void print_record(const struct uffs_usn_record *r)
{
	printf("%" PRId64 " %u.%u %" PRIu64 "-%u %" PRIu64 "-%u 0x%08" PRIx32
	       " %" PRIu32,
	       r->usn, r->major, r->minor, r->frs, r->seq, r->parent_frs,
	       r->parent_seq, r->reason, r->source_info);
	if (r->has_name)
		printf(" %" PRIu64 " 0x%" PRIx32 " %" PRIu32 " %.*s", r->time,
		       r->attributes, r->security_id, (int)r->name_len, r->name);
	else {
		printf(" extents");
		for (uint32_t k = 0; k < r->n_extents; k++)
			printf(" %" PRId64 "+%" PRId64, r->extents[2 * k],
			       r->extents[2 * k + 1]);
	}
	putchar('\n');
}

int main(int argc, char **argv)
{
	unsigned flags = 0;
	int64_t since = 0;
	int i = 1;
	for (; i < argc - 1; i++) {
		if (!strcmp(argv[i], "--stream"))
			flags |= UFFS_USN_STREAM;
		else if (!strcmp(argv[i], "--since") && i + 1 < argc - 1)
			since = strtoll(argv[++i], NULL, 10);
		else
			break;
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: usn [--stream] [--since USN] SOURCE\n");
		return 2;
	}
	struct uffs_db_options o;
	uffs_db_options_init(&o);
	o.warning = on_warning;
	uffs_usn *j;
	char err[512];
	int rc = uffs_usn_open(argv[i], &o, flags, since, &j, err, sizeof err);
	if (rc != UFFS_OK) {
		fprintf(stderr, "status %d: %s\n", rc, err);
		return 1;
	}
	struct uffs_usn_record r;
	unsigned long n = 0;
	while ((rc = uffs_usn_next(j, &r)) == 1) {
		print_record(&r);
		n++;
	}
	if (rc < 0)
		fprintf(stderr, "read: %s\n", uffs_usn_error(j));
	printf("damaged %" PRIu64 "\nrecords %lu\n", uffs_usn_damaged(j), n);
	uffs_usn_close(j);
	return rc < 0;
}
