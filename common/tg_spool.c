#include "tg_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_error.h"

int tg_write_all(int fd, const void *p, size_t len)
{
	const unsigned char *c = p;
	ssize_t n;

	while (len > 0) {
		n = write(fd, c, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return TG_ERR_SYSTEM;
		}
		if (n == 0) {
			errno = EIO;
			return TG_ERR_IO;
		}
		c += n;
		len -= (size_t)n;
	}
	return TG_OK;
}

static int atomic_name_ok(const char *name)
{
	return name != NULL && *name != '\0' && strchr(name, '/') == NULL &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	       strlen(name) < sizeof(((struct tg_atomic *)0)->name);
}

int tg_atomic_open(struct tg_atomic *a, const char *dir, const char *name, mode_t mode)
{
	int dirfd;

	a->fd = a->dirfd = -1;
	a->tmp[0] = '\0';
	if (!atomic_name_ok(name)) {
		errno = EINVAL;
		return TG_ERR_INVALID;
	}
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return TG_ERR_SYSTEM;
	return tg_atomic_openat(a, dirfd, name, mode);
}

int tg_atomic_openat(struct tg_atomic *a, int dirfd, const char *name, mode_t mode)
{
	int r = TG_ERR_SYSTEM, i;

	a->fd = -1;
	a->dirfd = dirfd;
	a->tmp[0] = '\0';
	if (!atomic_name_ok(name)) {
		errno = EINVAL;
		r = TG_ERR_INVALID;
		goto out;
	}
	snprintf(a->name, sizeof(a->name), "%s", name);
	for (i = 0; i < 16; i++) {
		snprintf(a->tmp, sizeof(a->tmp), TG_SPOOL_TMP_PREFIX "%08x%08x", randombytes_random(),
			 randombytes_random());
		a->fd = openat(a->dirfd, a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (a->fd >= 0 || errno != EEXIST)
			break;
	}
	if (a->fd < 0) {
		a->tmp[0] = '\0'; /* not ours: nothing to remove */
		goto out;
	}
	/* the umask must not widen or narrow what the caller asked for */
	if (fchmod(a->fd, mode) != 0)
		goto out;
	r = TG_OK;
out:
	if (r != TG_OK)
		tg_atomic_abort(a);
	return r;
}

/* One folder level without following a symlink there: TG_ERR_PERM (errno ELOOP) when it is one. */
static int open_dir_nofollow(int at, const char *path, int *fd_out)
{
	struct stat st;
	int fd, err;

	if ((fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		*fd_out = fd;
		return TG_OK;
	}
	err = errno;
	/* O_DIRECTORY makes a symlink ENOTDIR: tell it from a plain file */
	if (err == ELOOP || (err == ENOTDIR && fstatat(at, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	                     S_ISLNK(st.st_mode))) {
		errno = ELOOP;
		return TG_ERR_PERM;
	}
	errno = err;
	return err == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_SYSTEM;
}

int tg_open_subdir_nofollow(const char *dir, const char *sub, int *fd_out)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);
	int dirfd = -1, r;

	*fd_out = -1;
	/* a trailing slash would make the kernel follow a symlink despite O_NOFOLLOW */
	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (len == 0)
		return TG_ERR_INVALID;
	if (len >= sizeof(path))
		return TG_ERR_LIMIT;
	memcpy(path, dir, len);
	path[len] = '\0';
	if ((r = open_dir_nofollow(AT_FDCWD, path, &dirfd)) != TG_OK)
		return r;
	r = open_dir_nofollow(dirfd, sub, fd_out);
	close(dirfd);
	return r;
}

int tg_atomic_write(struct tg_atomic *a, const void *p, size_t len)
{
	if (a->fd < 0)
		return TG_ERR_INVALID;
	return tg_write_all(a->fd, p, len);
}

int tg_atomic_commit(struct tg_atomic *a)
{
	int r = TG_ERR_SYSTEM;

	if (a->fd < 0 || a->dirfd < 0)
		return TG_ERR_INVALID;
	if (fsync(a->fd) != 0)
		goto out;
	if (close(a->fd) != 0) {
		a->fd = -1;
		goto out;
	}
	a->fd = -1;
	if (renameat(a->dirfd, a->tmp, a->dirfd, a->name) != 0)
		goto out;
	a->tmp[0] = '\0'; /* renamed: nothing left to remove */
	if (fsync(a->dirfd) != 0)
		goto out;
	r = TG_OK;
out:
	tg_atomic_abort(a);
	return r;
}

void tg_atomic_abort(struct tg_atomic *a)
{
	int saved = errno;

	if (a->fd >= 0)
		close(a->fd);
	if (a->dirfd >= 0 && a->tmp[0] != '\0')
		unlinkat(a->dirfd, a->tmp, 0);
	if (a->dirfd >= 0)
		close(a->dirfd);
	a->fd = a->dirfd = -1;
	a->tmp[0] = '\0';
	errno = saved;
}

int tg_spool_write(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	struct tg_atomic a = TG_ATOMIC_VOID;
	int r;

	if ((r = tg_atomic_open(&a, dir, name, mode)) != TG_OK)
		return r;
	if ((r = tg_atomic_write(&a, data, len)) != TG_OK) {
		tg_atomic_abort(&a);
		return r;
	}
	return tg_atomic_commit(&a);
}

int tg_fsync_dir(const char *dir)
{
	int fd, r = TG_OK;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return TG_ERR_SYSTEM;
	if (fsync(fd) != 0)
		r = TG_ERR_SYSTEM;
	close(fd);
	return r;
}

int tg_spool_move(const char *from_dir, const char *from, const char *to_dir, const char *to)
{
	char src[PATH_MAX], dst[PATH_MAX];
	int r;

	if ((size_t)snprintf(src, sizeof(src), "%s/%s", from_dir, from) >= sizeof(src) ||
	    (size_t)snprintf(dst, sizeof(dst), "%s/%s", to_dir, to) >= sizeof(dst))
		return TG_ERR_LIMIT;
	if (rename(src, dst) != 0)
		return TG_ERR_SYSTEM;
	/* the new name first: once it is durable the file cannot be lost */
	if ((r = tg_fsync_dir(to_dir)) != TG_OK)
		return r;
	if (strcmp(from_dir, to_dir) != 0)
		return tg_fsync_dir(from_dir);
	return TG_OK;
}

int tg_spool_remove(const char *dir, const char *name)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return TG_ERR_LIMIT;
	if (unlink(path) != 0 && errno != ENOENT)
		return TG_ERR_SYSTEM;
	return tg_fsync_dir(dir);
}

int tg_read_fd(int fd, size_t max, struct tg_buf *out)
{
	struct stat st;
	unsigned char chunk[8192];
	ssize_t n;
	int r;

	if (fstat(fd, &st) != 0)
		return TG_ERR_SYSTEM;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return TG_ERR_PERM;
	}
	if ((unsigned long long)st.st_size > max)
		return TG_ERR_LIMIT;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = TG_ERR_SYSTEM;
			break;
		}
		if (n == 0) {
			r = TG_OK;
			break;
		}
		if (out->len > max || (size_t)n > max - out->len) {
			r = TG_ERR_LIMIT;
			break;
		}
		if ((r = tg_buf_append(out, chunk, (size_t)n)) != TG_OK)
			break;
	}
	sodium_memzero(chunk, sizeof(chunk));
	return r;
}

int tg_read_file(const char *path, size_t max, struct tg_buf *out)
{
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0)
		return errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_SYSTEM;
	r = tg_read_fd(fd, max, out);
	close(fd);
	return r;
}

/* mkdir, and when it made the folder, fsync its parent: files handed into the new folder
 * (each synced with the folder) must not vanish with a folder whose entry was never
 * written out. 0 or EEXIST: TG_OK. */
static int mkdir_synced(char *path, mode_t mode)
{
	char *slash;
	int r;

	if (mkdir(path, mode) != 0)
		return errno == EEXIST ? TG_OK : TG_ERR_SYSTEM;
	if ((slash = strrchr(path, '/')) == NULL)
		return tg_fsync_dir(".");
	if (slash == path)
		return tg_fsync_dir("/");
	*slash = '\0';
	r = tg_fsync_dir(path);
	*slash = '/';
	return r;
}

int tg_mkdir_p(const char *dir, mode_t mode)
{
	char tmp[PATH_MAX];
	char *p;
	size_t len = strlen(dir);
	int r;

	if (len == 0 || len >= sizeof(tmp))
		return TG_ERR_INVALID;
	memcpy(tmp, dir, len + 1);
	/* the usual case, every folder there already: one system call, not one per level
	 * (the PAM module calls this on each login) */
	if ((r = mkdir_synced(tmp, mode)) == TG_OK || errno != ENOENT)
		return r;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if ((r = mkdir_synced(tmp, 0755)) != TG_OK)
			return r;
		*p = '/';
	}
	return mkdir_synced(tmp, mode);
}

int tg_spool_is_hidden(const char *name)
{
	return name[0] == '.';
}

int tg_spool_has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	return n > m && strcmp(name + n - m, suffix) == 0;
}

/* What dir_bytes() counted, and the first place it could not */
struct spool_count {
	uint64_t total;
	int err;     /* the first failure's errno, 0: none */
	char *where; /* its path */
	size_t wherelen;
};

static void count_failed(struct spool_count *n, int err, const char *path)
{
	if (n->err != 0)
		return;
	n->err = err;
	if (n->wherelen > 0)
		snprintf(n->where, n->wherelen, "%s", path);
}

/* Adds to n->total what the regular files under dir take. A folder or file that is there but
 * cannot be read or looked at counts as nothing but is said (n->err), so that the spool's size
 * is not taken for whole when it is not. A name gone since it was listed (the uploader removed
 * it) is no failure. The spool's lost+found is skipped: a file system of its own, as deploy.md
 * advises, has one, root's only. */
static void dir_bytes(const char *dir, int depth, struct spool_count *n)
{
	struct dirent *de;
	DIR *d;

	if (depth > 3)
		return;
	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOENT)
			count_failed(n, errno, dir);
		return;
	}
	for (;;) {
		struct stat st;
		char path[PATH_MAX];

		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				count_failed(n, errno, dir);
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    (depth == 0 && strcmp(de->d_name, "lost+found") == 0))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    sizeof(path)) {
			count_failed(n, ENAMETOOLONG, dir);
			continue;
		}
		if (lstat(path, &st) != 0) {
			if (errno != ENOENT)
				count_failed(n, errno, path);
			continue;
		}
		if (S_ISDIR(st.st_mode))
			dir_bytes(path, depth + 1, n);
		else if (S_ISREG(st.st_mode))
			n->total += (uint64_t)st.st_blocks * 512u;
	}
	closedir(d);
}

int tg_spool_bytes(const char *dir, uint64_t *bytes, char *where, size_t wherelen)
{
	struct spool_count n = {0, 0, where, wherelen};

	if (wherelen > 0)
		where[0] = '\0';
	dir_bytes(dir, 0, &n);
	*bytes = n.total;
	if (n.err == 0)
		return TG_OK;
	errno = n.err;
	return TG_ERR_SYSTEM;
}
