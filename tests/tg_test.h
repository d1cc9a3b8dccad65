/* Shared helpers for Tollgate's Check tests. */
#ifndef TG_TEST_H
#define TG_TEST_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh temporary folder under $TMPDIR (or /tmp); the caller removes it. */
static inline char *tg_test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (asprintf(&p, "%s/tg-test.XXXXXX", base) < 0)
		abort();
	if (mkdtemp(p) == NULL)
		abort();
	return p;
}

/* Remove a folder made by tg_test_tmpdir() and everything in it. */
static inline void tg_test_rmtree(const char *dir)
{
	char *cmd;

	if (dir == NULL || strncmp(dir, "/", 1) != 0 || strstr(dir, "tg-test.") == NULL)
		return;
	if (asprintf(&cmd, "rm -rf '%s'", dir) < 0)
		abort();
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(cmd);
}

/* Run one suite; exit status for the automake harness. */
static inline int tg_test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
