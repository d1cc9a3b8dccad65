/*
 * Replay driver: the same harness as `make fuzz` builds, linked without
 * libFuzzer, so that every corpus file and every crash found once is a
 * regression test of `make check`.
 *
 *   replay_NAME [FILE|DIR]...
 *
 * Without arguments: $TG_TOP_SRCDIR/tests/fuzz/corpus/NAME and
 * $TG_TOP_SRCDIR/tests/fuzz/crashes/NAME (set by the test harness; the
 * source folder as compiled in otherwise). A harness that finds a broken
 * invariant aborts, which fails the test and names the file on stderr.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error "build with -DFUZZ_NAME=\"name\""
#endif
#ifndef FUZZ_SRCDIR
#define FUZZ_SRCDIR "."
#endif

#define REPLAY_MAX_INPUT (8 * 1024 * 1024)

static unsigned long replayed;

static int run_file(const char *path)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "replay_%s: %s: %s\n", FUZZ_NAME, path, strerror(errno));
		return -1;
	}
	/* an exact-size copy, as libFuzzer gives: a read past the end is caught */
	if ((buf = malloc(REPLAY_MAX_INPUT)) == NULL)
		goto out;
	while (len < REPLAY_MAX_INPUT && (n = read(fd, buf + len, REPLAY_MAX_INPUT - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "replay_%s: %s: %s\n", FUZZ_NAME, path, strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	{
		unsigned char *exact = malloc(len > 0 ? len : 1);

		if (exact == NULL)
			goto out;
		memcpy(exact, buf, len);
		free(buf);
		buf = exact;
	}
	fprintf(stderr, "replay_%s: %s (%zu bytes)\n", FUZZ_NAME, path, len);
	LLVMFuzzerTestOneInput(buf, len);
	replayed++;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A folder's regular files in name order (so that a failure repeats the same way). */
static int run_dir(const char *dir)
{
	char **names = NULL, path[PATH_MAX];
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "replay_%s: %s: %s\n", FUZZ_NAME, dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **more = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));

			if (more == NULL)
				abort();
			names = more;
		}
		if ((names[n++] = strdup(de->d_name)) == NULL)
			abort();
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && run_file(path) != 0)
			r = -1;
		free(names[i]);
	}
	free(names);
	return r;
}

static int run_path(const char *path, int missing_ok)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT && missing_ok)
			return 0;
		fprintf(stderr, "replay_%s: %s: %s\n", FUZZ_NAME, path, strerror(errno));
		return -1;
	}
	return S_ISDIR(st.st_mode) ? run_dir(path) : run_file(path);
}

int main(int argc, char **argv)
{
	const char *top = getenv("TG_TOP_SRCDIR");
	char path[PATH_MAX];
	int i, r = 0;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (run_path(argv[i], 0) != 0)
				r = 1;
	} else {
		if (top == NULL || *top == '\0')
			top = FUZZ_SRCDIR;
		snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s", top, FUZZ_NAME);
		if (run_path(path, 0) != 0)
			r = 1;
		snprintf(path, sizeof(path), "%s/tests/fuzz/crashes/%s", top, FUZZ_NAME);
		if (run_path(path, 1) != 0)
			r = 1;
	}
	printf("replay_%s: %lu inputs replayed%s\n", FUZZ_NAME, replayed, r ? ", with errors" : "");
	return r;
}
