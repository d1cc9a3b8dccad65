/*
 * How many workers died in a row on a file, kept per file in
 * state/crashes/<queue>/<name> (decimal, one line), so that a file that kills
 * its worker is set aside after UP_CRASHES_MAX deaths also under --once (a
 * pass per run) and across restarts (an OOM kill takes the daemon along).
 *
 * Only the daemon writes it, and only once it has reaped a worker that died
 * on that file: a count written before a worker starts would charge a death
 * to every upload a kill -9 of the daemon interrupts (its workers die with it),
 * and would set a good file aside. Each write is durable (temp file, fsync,
 * rename, fsync the folder): a kill -9 leaves the old count or the new one.
 * A count that cannot be read as one is warned about and taken for 0: it can
 * delay setting a file aside, never ship or hold back anything.
 */
#include "uploader.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tg_buf.h"
#include "tg_error.h"
#include "tg_log.h"
#include "tg_spool.h"

/* A count is a few digits and a newline: a bigger file is not one. */
#define CRASHES_FILE_MAX 32
/* A count above this was not written by us. */
#define CRASHES_VALUE_MAX 1000000u

/* The folder of queue q's counts, or -1 for a queue whose files no worker takes. */
static int crashes_dir(const struct up_ctx *c, enum up_queue q, char *out, size_t len)
{
	const char *sub = q == UP_Q_SESSIONS ? UP_CRASHES_SESSIONS
	                  : q == UP_Q_S3     ? UP_CRASHES_S3
	                                     : NULL;

	if (sub == NULL || (size_t)snprintf(out, len, "%s/%s", c->state_dir, sub) >= len)
		return -1;
	return 0;
}

/* A saved count: decimal digits (CRASHES_VALUE_MAX at most), one optional newline; -1 when it
 * is not that. */
static long crashes_parse(const struct tg_buf *b)
{
	size_t n = b->len, i;
	unsigned long v = 0;

	if (n > 0 && b->data[n - 1] == '\n')
		n--;
	if (n == 0 || n > 7)
		return -1;
	for (i = 0; i < n; i++) {
		if (b->data[i] < '0' || b->data[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(b->data[i] - '0');
	}
	return v <= CRASHES_VALUE_MAX ? (long)v : -1;
}

unsigned up_crashes_load(const struct up_ctx *c, enum up_queue q, const char *name)
{
	struct tg_buf text = TG_BUF_VOID;
	char dir[PATH_MAX], path[PATH_MAX + UP_NAME_MAX];
	long v = 0;
	int r;

	if (crashes_dir(c, q, dir, sizeof(dir)) != 0 ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return 0;
	tg_buf_init(&text, CRASHES_FILE_MAX);
	/* bounded, O_NOFOLLOW and O_NONBLOCK: a planted FIFO or a huge file blocks nothing */
	if ((r = tg_read_file(path, CRASHES_FILE_MAX, &text)) != TG_OK) {
		if (r == TG_ERR_LIMIT)
			tg_warn("the crash count %s is larger than a count (%d bytes at most): "
			        "taken for 0",
			        path, CRASHES_FILE_MAX);
		else if (r == TG_ERR_PERM)
			tg_warn("the crash count %s is not a regular file: taken for 0", path);
		else if (r != TG_ERR_NOT_FOUND)
			tg_warn("the crash count %s cannot be read (%s): taken for 0", path,
			        strerror(errno));
		goto out;
	}
	if ((v = crashes_parse(&text)) < 0) {
		tg_warn("the crash count %s does not hold a count: taken for 0", path);
		v = 0;
	}
out:
	tg_buf_free(&text);
	return (unsigned)v;
}

unsigned up_crashes_count(struct up_ctx *c, enum up_queue q, const char *name, unsigned known)
{
	unsigned saved = up_crashes_load(c, q, name), n;
	char dir[PATH_MAX], text[16];
	int len, r;

	n = (saved > known ? saved : known) + 1;
	if (crashes_dir(c, q, dir, sizeof(dir)) != 0)
		return n;
	len = snprintf(text, sizeof(text), "%u\n", n);
	/* not kept, it counts in memory still: only a restart starts it over */
	if ((r = tg_spool_write(dir, name, text, (size_t)len, 0640)) != TG_OK)
		tg_warn("cannot save the crash count of %s in %s (%s: %s): a restart counts its "
		        "worker's deaths from 0",
		        name, dir, tg_strerror(r), strerror(errno));
	return n;
}

void up_crashes_clear(struct up_ctx *c, enum up_queue q, const char *name)
{
	char dir[PATH_MAX];
	int fd;

	if (crashes_dir(c, q, dir, sizeof(dir)) != 0 ||
	    (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	/* none (the usual case): nothing to make durable */
	if (unlinkat(fd, name, 0) == 0) {
		if (fsync(fd) != 0)
			tg_warn("cannot sync %s after the crash count of %s went (%s): a crash may "
			        "bring it back",
			        dir, name, strerror(errno));
	} else if (errno != ENOENT) {
		tg_warn("cannot remove the crash count %s/%s (%s): the file may be set aside "
		        "sooner",
		        dir, name, strerror(errno));
	}
	close(fd);
}

void up_crashes_prune(struct up_ctx *c)
{
	static const enum up_queue qs[] = {UP_Q_SESSIONS, UP_Q_S3};
	char dir[PATH_MAX], path[PATH_MAX + UP_NAME_MAX];
	struct dirent *de;
	size_t k;
	DIR *d;

	for (k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		if (crashes_dir(c, qs[k], dir, sizeof(dir)) != 0 || (d = opendir(dir)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", c->q[qs[k]].dir, de->d_name);
			/* not made durable: one brought back is pruned again */
			if (access(path, F_OK) != 0 && errno == ENOENT)
				unlinkat(dirfd(d), de->d_name, 0);
		}
		closedir(d);
	}
}
