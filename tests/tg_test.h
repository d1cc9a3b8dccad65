/* Shared helpers for Tollgate's Check tests. */
#ifndef TG_TEST_H
#define TG_TEST_H

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
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

/*
 * Start the python3 test server tests/servers/NAME with PORTFILE as its first
 * argument, then a1..a3 (a NULL ends them), and wait up to 30 s (python on a
 * loaded machine) until it has written its port there (the servers rename it
 * into place). Returns the port with *pid set, or -1 when it did not start.
 */
static inline int tg_test_pyserver_start(const char *name, const char *portfile, pid_t *pid, const char *a1,
					 const char *a2, const char *a3)
{
	const char *top = getenv("TG_TOP_SRCDIR");
	const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
	char script[4096];
	int i, port;

	snprintf(script, sizeof(script), "%s/tests/servers/%s", top ? top : ".", name);
	if (access(script, R_OK) != 0)
		return -1;
	*pid = fork();
	ck_assert_int_ge(*pid, 0);
	if (*pid == 0) {
		execlp(py, py, script, portfile, a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 300; i++) {
		FILE *f = fopen(portfile, "r");

		if (f != NULL) {
			int ok = fscanf(f, "%d", &port) == 1 && port > 0;

			fclose(f);
			if (ok)
				return port;
		}
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = 0;
			return -1;
		}
		usleep(100000);
	}
	return -1;
}

/* End a server started by tg_test_pyserver_start(); safe when it is not running. */
static inline void tg_test_pyserver_stop(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

/*
 * Leave the process n more file descriptors (an open after them fails with EMFILE), the limit
 * it had kept in *old for tg_test_fds_restore(): a read that fails for a moment, not for what
 * the file is.
 */
static inline void tg_test_fds_left(unsigned n, struct rlimit *old)
{
	struct rlimit tight;
	int fd;

	ck_assert_int_ge(fd = open("/dev/null", O_RDONLY | O_CLOEXEC), 0);
	close(fd);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, old), 0);
	tight = *old;
	tight.rlim_cur = (rlim_t)fd + n;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &tight), 0);
}

static inline void tg_test_fds_restore(const struct rlimit *old)
{
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, old), 0);
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
