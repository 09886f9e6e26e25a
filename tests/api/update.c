/* update: the library's index update, for tests/e2e/test_api.py.
 *   update db INDEX [SOURCE]    uffs_db_open(INDEX), uffs_db_update
 *   update file INDEX SOURCE    uffs_db_update_file
 * Prints the note, then (db) how many entries the reopened db walks. */
#include <stdio.h>
#include <string.h>
#include <uffs.h>

static int update_db(const char *index, const char *source)
{
	uffs_db *db;
	char err[512], note[512];
	int rc = uffs_db_open(index, NULL, &db, err, sizeof err);
	if (rc != UFFS_OK) {
		fprintf(stderr, "open: status %d: %s\n", rc, err);
		return 1;
	}
	rc = uffs_db_update(&db, source, note, sizeof note, err, sizeof err);
	if (rc != UFFS_OK) {
		fprintf(stderr, "update: status %d: %s\n", rc, err);
		uffs_db_close(db);
		return 1;
	}
	printf("%s\n", note);
	unsigned long n = 0;
	uffs_iter *it = uffs_iter_new(db, UFFS_ITER_STREAMS | UFFS_ITER_DELETED);
	struct uffs_entry e;
	while (it && uffs_iter_next(it, &e) == 1)
		n++;
	uffs_iter_free(it);
	printf("entries %lu\n", n);
	uffs_db_close(db);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "db"))
		return update_db(argv[2], argc > 3 ? argv[3] : NULL);
	if (argc == 4 && !strcmp(argv[1], "file")) {
		char err[512], note[512];
		int rc = uffs_db_update_file(argv[2], argv[3], NULL, note,
					     sizeof note, err, sizeof err);
		if (rc != UFFS_OK) {
			fprintf(stderr, "update: status %d: %s\n", rc, err);
			return 1;
		}
		printf("%s\n", note);
		return 0;
	}
	fprintf(stderr, "usage: update db INDEX [SOURCE] | update file INDEX SOURCE\n");
	return 2;
}
