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

static void tmp_name(char *dst, size_t len, const char *name)
{
	snprintf(dst, len, REC_SPOOL_TMP_PREFIX "%s" REC_SPOOL_TMP_SUFFIX, name);
}

int rec_spool_create(struct rec_spool *rs, const char *spool_dir, const char *sid_hex)
{
	char path[PATH_MAX + 200], tmp[128];
	int r;

	rs->fd = -1;
	rs->published = 0;
	if ((r = paths(rs, spool_dir)) != TG_OK)
		return r;
	if ((r = tg_mkdir_p(rs->active, 0700)) != TG_OK ||
	    (r = tg_mkdir_p(rs->sessions, 0700)) != TG_OK)
		return r;
	snprintf(rs->name, sizeof(rs->name), "%s" TG_REC_EXT, sid_hex);
	tmp_name(tmp, sizeof(tmp), rs->name);
	snprintf(path, sizeof(path), "%s/%s", rs->active, tmp);
	rs->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (rs->fd < 0)
		return TG_ERR_SYSTEM;
	/* locked before the first byte, and the lock goes with the inode through every rename.
	 * Waiting: the file is ours (O_EXCL), and a recovery pass that tried it holds it for
	 * microseconds. */
	if (flock(rs->fd, LOCK_EX) != 0) {
		r = TG_ERR_SYSTEM;
		close(rs->fd);
		rs->fd = -1;
		unlink(path);
		return r;
	}
	return TG_OK;
}

const char *rec_spool_missing(const struct rec_spool *rs, const char *spool_dir)
{
	struct stat st;

	if (lstat(spool_dir, &st) != 0 && errno == ENOENT)
		return spool_dir;
	if (rs->active[0] != '\0' && lstat(rs->active, &st) != 0 && errno == ENOENT)
		return rs->active;
	if (rs->sessions[0] != '\0' && lstat(rs->sessions, &st) != 0 && errno == ENOENT)
		return rs->sessions;
	return NULL;
}

int rec_spool_publish(struct rec_spool *rs)
{
	char tmp[128];
	int dfd, r = TG_ERR_SYSTEM;

	if (rs->fd < 0 || rs->published)
		return TG_ERR_INVALID;
	if (fdatasync(rs->fd) != 0)
		return TG_ERR_SYSTEM;
	if ((dfd = open(rs->active, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return TG_ERR_SYSTEM;
	tmp_name(tmp, sizeof(tmp), rs->name);
	/* never replaces a file of that name; a file system without RENAME_NOREPLACE gets rename */
	if (renameat2(dfd, tmp, dfd, rs->name, RENAME_NOREPLACE) == 0 ||
	    (errno == EINVAL && renameat(dfd, tmp, dfd, rs->name) == 0)) {
		rs->published = 1; /* the name is its own now, whatever the fsync says */
		if (fsync(dfd) == 0)
			r = TG_OK;
	}
	close(dfd);
	return r;
}

int rec_spool_sync(const struct rec_spool *rs)
{
	if (rs->fd < 0)
		return TG_ERR_INVALID;
	return fdatasync(rs->fd) == 0 ? TG_OK : TG_ERR_SYSTEM;
}

int rec_spool_check(const struct rec_spool *rs)
{
	char path[PATH_MAX + 200];
	struct stat ours, named;

	if (rs->fd < 0 || !rs->published)
		return TG_ERR_INVALID;
	snprintf(path, sizeof(path), "%s/%s", rs->active, rs->name);
	if (fstat(rs->fd, &ours) != 0 || lstat(path, &named) != 0)
		return TG_ERR_SYSTEM;
	if (ours.st_dev != named.st_dev || ours.st_ino != named.st_ino) {
		errno = ENOENT; /* another file has its name: ours is gone all the same */
		return TG_ERR_SYSTEM;
	}
	return TG_OK;
}

int rec_spool_finish(struct rec_spool *rs)
{
	int r;

	if (rs->fd < 0 || !rs->published)
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
	char path[PATH_MAX + 200], tmp[128];

	if (rs->fd < 0)
		return;
	tmp_name(tmp, sizeof(tmp), rs->name);
	snprintf(path, sizeof(path), "%s/%s", rs->active, rs->published ? rs->name : tmp);
	unlink(path);
	rec_spool_close(rs);
}

void rec_spool_close(struct rec_spool *rs)
{
	if (rs->fd >= 0)
		close(rs->fd);
	rs->fd = -1;
}

#define LEAVE_IT -2

/* Open and lock an entry of active/ that nobody holds: the fd, LEAVE_IT (locked, gone, not a
 * regular file) or TG_ERR_SYSTEM. */
static int take_unlocked(int dfd, const char *name, struct stat *st)
{
	struct stat st2;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? LEAVE_IT : TG_ERR_SYSTEM;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || flock(fd, LOCK_EX | LOCK_NB) != 0)
		goto no; /* a live recorder holds it */
	/* the name may have been renamed away (published, sealed) between open and lock */
	if (fstatat(dfd, name, &st2, AT_SYMLINK_NOFOLLOW) != 0 || st2.st_ino != st->st_ino ||
	    st2.st_dev != st->st_dev)
		goto no;
	return fd;
no:
	close(fd);
	return LEAVE_IT;
}

/* A recording of a recorder that died: move it to sessions/. 1 moved, 0 left, <0 error. */
static int recover_one(struct rec_spool *rs, int dfd, const char *name)
{
	struct stat st;
	int fd, r = 0;

	if ((fd = take_unlocked(dfd, name, &st)) < 0)
		return fd == LEAVE_IT ? 0 : fd;
	if ((r = tg_spool_move(rs->active, name, rs->sessions, name)) == TG_OK)
		r = 1;
	close(fd);
	return r;
}

/*
 * A file that was never published: its recorder died before the session began,
 * so it holds a header at most. Removed once it is old enough that no recorder
 * can be between creating it and locking it.
 */
static void remove_stale_tmp(int dfd, const char *name)
{
	struct stat st;
	int fd;

	/* a young one is left untouched: not even tried, since a recorder between creating and
	 * locking it would find it locked by us */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    time(NULL) - st.st_mtime <= REC_SPOOL_STALE_TMP_SECONDS)
		return;
	if ((fd = take_unlocked(dfd, name, &st)) < 0)
		return;
	if (time(NULL) - st.st_mtime > REC_SPOOL_STALE_TMP_SECONDS && unlinkat(dfd, name, 0) == 0)
		fsync(dfd);
	close(fd);
}

int rec_spool_recover(const char *spool_dir, unsigned *moved)
{
	struct rec_spool rs = REC_SPOOL_VOID;
	struct dirent *de;
	DIR *d;
	int r, one;

	*moved = 0;
	if ((r = paths(&rs, spool_dir)) != TG_OK)
		return r;
	if ((d = opendir(rs.active)) == NULL)
		return errno == ENOENT ? TG_OK : TG_ERR_SYSTEM;
	if ((r = tg_mkdir_p(rs.sessions, 0700)) != TG_OK)
		goto out;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, REC_SPOOL_TMP_PREFIX, strlen(REC_SPOOL_TMP_PREFIX)) == 0) {
			if (tg_spool_has_suffix(de->d_name, TG_REC_EXT REC_SPOOL_TMP_SUFFIX))
				remove_stale_tmp(dirfd(d), de->d_name);
			continue;
		}
		if (!tg_spool_has_suffix(de->d_name, TG_REC_EXT))
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
