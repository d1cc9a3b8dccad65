#include "rec_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tg_error.h"
#include "tg_rec.h"
#include "tg_spool.h"

static int paths(struct rec_spool *rs, const char *spool_dir)
{
	if ((size_t)snprintf(rs->active, sizeof(rs->active), "%s/" REC_SPOOL_ACTIVE, spool_dir) >=
	        sizeof(rs->active) ||
	    (size_t)snprintf(rs->sessions, sizeof(rs->sessions), "%s/" REC_SPOOL_SESSIONS,
	                     spool_dir) >= sizeof(rs->sessions))
		return TG_ERR_LIMIT;
	return TG_OK;
}

int rec_spool_create(struct rec_spool *rs, const char *spool_dir, const char *sid_hex)
{
	char path[PATH_MAX + 100];
	int r;

	rs->fd = -1;
	if ((r = paths(rs, spool_dir)) != TG_OK)
		return r;
	if ((r = tg_mkdir_p(rs->active, 0700)) != TG_OK ||
	    (r = tg_mkdir_p(rs->sessions, 0700)) != TG_OK)
		return r;
	snprintf(rs->name, sizeof(rs->name), "%s" TG_REC_EXT, sid_hex);
	snprintf(path, sizeof(path), "%s/%s", rs->active, rs->name);
	rs->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (rs->fd < 0)
		return TG_ERR_SYSTEM;
	/* locked before the first byte: recovery never takes a file with content it may not own */
	if (flock(rs->fd, LOCK_EX | LOCK_NB) != 0) {
		r = TG_ERR_SYSTEM;
		close(rs->fd);
		rs->fd = -1;
		unlink(path);
		return r;
	}
	return tg_fsync_dir(rs->active);
}

int rec_spool_sync(const struct rec_spool *rs)
{
	if (rs->fd < 0)
		return TG_ERR_INVALID;
	return fdatasync(rs->fd) == 0 ? TG_OK : TG_ERR_SYSTEM;
}

int rec_spool_finish(struct rec_spool *rs)
{
	int r;

	if (rs->fd < 0)
		return TG_ERR_INVALID;
	if (fsync(rs->fd) != 0) {
		r = TG_ERR_SYSTEM;
		goto out;
	}
	/* moved while still locked: recovery cannot race the hand-over */
	r = tg_spool_move(rs->active, rs->name, rs->sessions, rs->name);
out:
	close(rs->fd);
	rs->fd = -1;
	return r;
}

void rec_spool_discard(struct rec_spool *rs)
{
	char path[PATH_MAX + 100];

	if (rs->fd < 0)
		return;
	snprintf(path, sizeof(path), "%s/%s", rs->active, rs->name);
	unlink(path);
	rec_spool_close(rs);
}

void rec_spool_close(struct rec_spool *rs)
{
	if (rs->fd >= 0)
		close(rs->fd);
	rs->fd = -1;
}

/* One entry of active/: move it if nobody holds its lock. 1 moved, 0 left, <0 error. */
static int recover_one(struct rec_spool *rs, int dfd, const char *name)
{
	struct stat st, st2;
	int fd, r = 0;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : TG_ERR_SYSTEM;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || flock(fd, LOCK_EX | LOCK_NB) != 0)
		goto out; /* a live recorder holds it */
	/* the name may have been moved away (sealed) between open and lock */
	if (fstatat(dfd, name, &st2, AT_SYMLINK_NOFOLLOW) != 0 || st2.st_ino != st.st_ino ||
	    st2.st_dev != st.st_dev)
		goto out;
	if (st.st_size == 0) {
		/* created, never written, owner gone */
		if (time(NULL) - st.st_mtime > REC_SPOOL_STALE_EMPTY_SECONDS &&
		    unlinkat(dfd, name, 0) == 0)
			fsync(dfd);
		goto out;
	}
	if ((r = tg_spool_move(rs->active, name, rs->sessions, name)) == TG_OK)
		r = 1;
out:
	close(fd);
	return r;
}

int rec_spool_recover(const char *spool_dir, unsigned *moved)
{
	struct rec_spool rs = REC_SPOOL_VOID;
	struct dirent *de;
	DIR *d;
	size_t n;
	int r, one;

	*moved = 0;
	if ((r = paths(&rs, spool_dir)) != TG_OK)
		return r;
	if ((d = opendir(rs.active)) == NULL)
		return errno == ENOENT ? TG_OK : TG_ERR_SYSTEM;
	if ((r = tg_mkdir_p(rs.sessions, 0700)) != TG_OK)
		goto out;
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (de->d_name[0] == '.' || n <= strlen(TG_REC_EXT) ||
		    strcmp(de->d_name + n - strlen(TG_REC_EXT), TG_REC_EXT) != 0)
			continue;
		one = recover_one(&rs, dirfd(d), de->d_name);
		if (one > 0)
			(*moved)++;
		else if (one < 0)
			r = one;
	}
out:
	closedir(d);
	return r;
}
