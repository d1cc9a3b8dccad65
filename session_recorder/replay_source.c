/* tollgate-replay: open a recording from a path or an s3:// URL. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay.h"
#include "tg_error.h"
#include "tg_log.h"
#include "tg_spool.h"

/*
 * The recording replay_pin() holds open: every later open of that name
 * reads these very bytes, not a second download nor whatever the path holds
 * by then (a FIFO, a file rewritten or an S3 object overwritten between the
 * verifying read and the showing one). One per run: the program shows one
 * recording at a time.
 */
static struct {
	const char *name;
	int fd;
} pinned = {NULL, -1};

int replay_s3_open(struct replay_src *s, const struct replay_opts *o, const char *url);
int replay_s3_close(struct replay_src *s);

int replay_is_s3(const char *name)
{
	return strncmp(name, "s3://", 5) == 0;
}

int replay_src_open(struct replay_src *s, const struct replay_opts *o, const char *name)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->name = name;
	if (pinned.name != NULL && strcmp(name, pinned.name) == 0) {
		char path[64];

		/* a description of its own: its own offset, from the start */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", pinned.fd);
		s->fd = open(path, O_RDONLY | O_CLOEXEC);
	} else if (replay_is_s3(name)) {
		return replay_s3_open(s, o, name);
	} else if (strcmp(name, "-") == 0) {
		s->fd = dup(STDIN_FILENO);
	} else {
		s->fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	}
	if (s->fd < 0) {
		tg_error("%s: %s", name, strerror(errno));
		return TG_ERR_SYSTEM;
	}
	if (fstat(s->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		tg_error("%s: is a folder", name);
		close(s->fd);
		s->fd = -1;
		return TG_ERR_INVALID;
	}
	posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	s->src.read = tg_rec_fd_read;
	s->src.ctx = &s->fd;
	return TG_OK;
}

/* An unlinked file of our own for an S3 object's copy. */
static int private_file(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600)) >= 0)
		return fd;
	snprintf(path, sizeof(path), "%s/tollgate-replay.XXXXXX", dir);
	if ((fd = mkostemp(path, O_CLOEXEC)) >= 0)
		unlink(path);
	return fd;
}

int replay_pin(const struct replay_opts *o, const char *name)
{
	unsigned char buf[65536];
	struct replay_src s;
	struct stat st;
	ssize_t n;
	int fd, r = TG_OK;

	if (pinned.name != NULL && strcmp(name, pinned.name) == 0)
		return TG_OK;
	if (!replay_is_s3(name)) {
		/* O_NONBLOCK: a FIFO without a writer must be refused, not waited on */
		if ((fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
			tg_error("%s: %s", name, strerror(errno));
			return TG_ERR_SYSTEM;
		}
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			tg_error("%s: not a regular file: it could not be read again as it was "
			         "verified (copy it to a file first)",
			         name);
			close(fd);
			return TG_ERR_INVALID;
		}
	} else {
		/* one GET, kept: S3 may serve another object to a second one */
		if ((fd = private_file()) < 0) {
			tg_error("%s: a private copy in %s: %s", name,
			         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", strerror(errno));
			return TG_ERR_SYSTEM;
		}
		if ((r = replay_src_open(&s, o, name)) != TG_OK) {
			close(fd);
			return r;
		}
		while ((n = s.src.read(s.src.ctx, buf, sizeof(buf))) > 0)
			if ((r = tg_write_all(fd, buf, (size_t)n)) != TG_OK)
				break;
		if (r == TG_OK && n < 0)
			r = (int)n;
		if (r == TG_OK)
			r = replay_src_close(&s);
		else
			replay_src_close(&s);
		if (r != TG_OK) {
			tg_error("%s: %s", name, tg_strerror(r));
			close(fd);
			return r;
		}
	}
	if (pinned.fd >= 0)
		close(pinned.fd);
	pinned.name = name;
	pinned.fd = fd;
	return TG_OK;
}

int replay_src_close(struct replay_src *s)
{
	int r = TG_OK;

	if (s->s3 != NULL)
		r = replay_s3_close(s);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	return r;
}

int replay_verify_name(const struct replay_opts *o, const char *name, struct tg_rec_verdict *v)
{
	struct replay_src s;
	int r, r2;

	if ((r = replay_src_open(&s, o, name)) != TG_OK)
		return r;
	r = tg_rec_verify(&s.src, o->have_pk ? o->host_pk : NULL, v);
	r2 = replay_src_close(&s);
	return r != TG_OK ? r : r2;
}
