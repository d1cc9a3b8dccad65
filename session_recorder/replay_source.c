/* tollgate-replay: open a recording from a path or an s3:// URL. */
#include <dirent.h>
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
#include "tg_rec.h"
#include "tg_spool.h"
#include "tg_utf8.h"

/*
 * The recording replay_pin() holds open, a private copy: every later open of
 * that name reads these very bytes, not a second download nor whatever the
 * path holds by then (a FIFO, a file rewritten in place or an S3 object
 * overwritten between the verifying read and the showing one). One per run:
 * the program shows one recording at a time.
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

/* Copy all of from (a regular file, at its start) into to: in the kernel where it can. */
static int copy_file(int from, int to)
{
	unsigned char buf[65536];
	ssize_t n;

	while ((n = copy_file_range(from, NULL, to, NULL, 1 << 30, 0)) > 0)
		;
	if (n == 0)
		return TG_OK;
	if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return TG_ERR_SYSTEM;
	/* copy_file_range moved both offsets past what it copied: the rest by hand */
	while ((n = read(from, buf, sizeof(buf))) > 0)
		if (tg_write_all(to, buf, (size_t)n) != TG_OK)
			return TG_ERR_SYSTEM;
	return n == 0 ? TG_OK : TG_ERR_SYSTEM;
}

/* A copy of the S3 object name (one GET) into the private file fd. */
static int copy_s3(const struct replay_opts *o, const char *name, int fd)
{
	unsigned char buf[65536];
	struct replay_src s;
	ssize_t n;
	int r;

	if ((r = replay_src_open(&s, o, name)) != TG_OK)
		return r;
	while ((n = s.src.read(s.src.ctx, buf, sizeof(buf))) > 0)
		if ((r = tg_write_all(fd, buf, (size_t)n)) != TG_OK)
			break;
	if (r == TG_OK && n < 0)
		r = (int)n;
	if (r == TG_OK)
		r = replay_src_close(&s);
	else
		replay_src_close(&s);
	if (r != TG_OK)
		tg_error("%s: %s", name, tg_strerror(r));
	return r;
}

/* The local recording name, opened: a regular file, else an error said. */
static int open_local(const char *name, int *fd_out)
{
	struct stat st;
	int fd;

	/* O_NONBLOCK: a FIFO without a writer must be refused, not waited on */
	if ((fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		tg_error("%s: %s", name, strerror(errno));
		return TG_ERR_SYSTEM;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		tg_error("%s: is a folder, not a recording (verify, search and list take "
		         "a folder)",
		         name);
		close(fd);
		return TG_ERR_INVALID;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		tg_error("%s: not a regular file: it could not be read again as it was "
		         "verified (copy it to a file first)",
		         name);
		close(fd);
		return TG_ERR_INVALID;
	}
	*fd_out = fd;
	return TG_OK;
}

int replay_pin(const struct replay_opts *o, const char *name)
{
	int fd, from = -1, r;

	if (pinned.name != NULL && strcmp(name, pinned.name) == 0)
		return TG_OK;
	if (!replay_is_s3(name) && (r = open_local(name, &from)) != TG_OK)
		return r;
	/* a copy of our own, local files too: a file is rewritten in place (dd conv=notrunc)
	 * under a descriptor as easily as under its name; one GET for an object, since S3 may
	 * serve another object to a second one */
	if ((fd = private_file()) < 0) {
		tg_error("%s: a private copy in %s: %s", name,
		         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", strerror(errno));
		if (from >= 0)
			close(from);
		return TG_ERR_SYSTEM;
	}
	if (from >= 0) {
		if ((r = copy_file(from, fd)) != TG_OK)
			tg_error("%s: a private copy in %s: %s", name,
			         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", strerror(errno));
		close(from);
	} else {
		r = copy_s3(o, name, fd);
	}
	if (r != TG_OK) {
		close(fd);
		return r;
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

struct where_ctx {
	int (*cb)(void *ctx, const char *name, uint64_t size, const char *bad);
	void *ctx;
};

static int where_filter(void *ctx, const char *name, uint64_t size)
{
	struct where_ctx *w = ctx;

	return tg_spool_has_suffix(name, TG_REC_EXT) ? w->cb(w->ctx, name, size, NULL) : 0;
}

/* What the entry at path is, when it is not a regular file (NULL when it is one). */
static const char *not_regular(const char *path, struct stat *st)
{
	if (stat(path, st) != 0) {
		if (errno == ENOENT && lstat(path, st) == 0 && S_ISLNK(st->st_mode))
			return "a broken symbolic link, not a recording";
		return strerror(errno);
	}
	if (S_ISREG(st->st_mode))
		return NULL;
	if (S_ISFIFO(st->st_mode))
		return "a FIFO, not a regular file: not opened";
	if (S_ISDIR(st->st_mode))
		return "a folder, not a recording";
	if (S_ISSOCK(st->st_mode))
		return "a socket, not a regular file";
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		return "a device, not a regular file: not opened";
	return "not a regular file";
}

int replay_list_where(const struct replay_opts *o, const char *where,
                      int (*cb)(void *ctx, const char *name, uint64_t size, const char *bad),
                      void *ctx)
{
	struct where_ctx w = {cb, ctx};
	char dir[4096], path[8192];
	const char *bad;
	struct dirent *e;
	struct stat st;
	DIR *d;
	int r = TG_OK;

	if (replay_is_s3(where))
		return replay_s3_list(o, where, where_filter, &w);
	/* a spool root holds its recordings in sessions/ */
	snprintf(dir, sizeof(dir), "%s/sessions", where);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		snprintf(dir, sizeof(dir), "%s", where);
	if ((d = opendir(dir)) == NULL) {
		tg_error("%s: %s", dir, strerror(errno));
		return TG_ERR_SYSTEM;
	}
	while ((e = readdir(d)) != NULL) {
		if (tg_spool_is_hidden(e->d_name) || !tg_spool_has_suffix(e->d_name, TG_REC_EXT))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		/* named as a recording, but not one: said, never skipped in silence */
		bad = not_regular(path, &st);
		if (cb(ctx, path, bad == NULL ? (uint64_t)st.st_size : 0, bad) != 0) {
			tg_error("out of memory");
			r = TG_ERR_NOMEM;
			break;
		}
	}
	closedir(d);
	return r;
}

static int names_add(void *ctx, const char *name, uint64_t size, const char *bad)
{
	struct replay_names *n = ctx;
	struct replay_name *v;

	(void)size;
	if (n->n == n->cap) {
		size_t k = n->cap ? n->cap * 2 : 16;
		struct replay_name *p = reallocarray(n->v, k, sizeof(*p));

		if (p == NULL)
			return -1;
		n->v = p;
		n->cap = k;
	}
	v = &n->v[n->n];
	v->name = strdup(name);
	v->bad = bad != NULL ? strdup(bad) : NULL;
	if (v->name == NULL || (bad != NULL && v->bad == NULL)) {
		free(v->name);
		free(v->bad);
		return -1;
	}
	n->n++;
	return 0;
}

static int by_name(const void *x, const void *y)
{
	return strcmp(((const struct replay_name *)x)->name, ((const struct replay_name *)y)->name);
}

/* A FILE argument that names many recordings: a folder, or an S3 prefix ending in '/'. */
static int is_collection(const char *arg)
{
	struct stat st;
	size_t len = strlen(arg);

	if (replay_is_s3(arg))
		return len > 0 && arg[len - 1] == '/';
	return stat(arg, &st) == 0 && S_ISDIR(st.st_mode);
}

int replay_names_expand(const struct replay_opts *o, int argc, char **argv,
                        struct replay_names *out)
{
	int i, r, err = TG_OK;

	for (i = 0; i < argc; i++) {
		size_t first = out->n;

		if (!is_collection(argv[i])) {
			if (names_add(out, argv[i], 0, NULL) != 0)
				goto nomem;
			continue;
		}
		/* a folder that cannot be listed, or holds nothing, is an error, as a missing file
		 * is: said, and the other arguments still expanded */
		if ((r = replay_list_where(o, argv[i], names_add, out)) == TG_ERR_NOMEM)
			return r;
		if (r != TG_OK) {
			err = err != TG_OK ? err : r;
			continue;
		}
		if (out->n == first) {
			char *safe = tg_text_safe(argv[i]);

			tg_error("%s: no recordings (*" TG_REC_EXT ") there", safe ? safe : "?");
			free(safe);
			err = err != TG_OK ? err : TG_ERR_NOT_FOUND;
			continue;
		}
		qsort(out->v + first, out->n - first, sizeof(*out->v), by_name);
	}
	return err;
nomem:
	tg_error("out of memory");
	return TG_ERR_NOMEM;
}

void replay_names_free(struct replay_names *n)
{
	size_t i;

	for (i = 0; i < n->n; i++) {
		free(n->v[i].name);
		free(n->v[i].bad);
	}
	free(n->v);
	n->v = NULL;
	n->n = n->cap = 0;
}
