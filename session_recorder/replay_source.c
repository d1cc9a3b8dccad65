/* tollgate-replay: open a recording from a path or an s3:// URL. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay.h"
#include "tg_error.h"
#include "tg_log.h"

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
	if (replay_is_s3(name))
		return replay_s3_open(s, o, name);
	if (strcmp(name, "-") == 0) {
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
