/*
 * Durable file hand-over: write a temp file in the target folder, fsync it,
 * rename it into place, fsync the folder. A crash at any instant leaves
 * either the old state or the new one, never a half-written file.
 */
#ifndef TG_SPOOL_H
#define TG_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tg_buf.h"

/* Temp files start with this prefix; readers of a spool folder skip them. */
#define TG_SPOOL_TMP_PREFIX ".tmp."

struct tg_atomic {
	int fd;       /* write here; -1 when not open */
	int dirfd;    /* the target folder */
	char tmp[96]; /* temp name inside the folder */
	char name[256];
};
#define TG_ATOMIC_VOID {-1, -1, {0}, {0}}

/* Open a temp file in dir that tg_atomic_commit() will rename to name. */
int tg_atomic_open(struct tg_atomic *a, const char *dir, const char *name, mode_t mode);
/* The same in a folder already open: dirfd is taken over (closed by commit or abort, and on
 * failure). */
int tg_atomic_openat(struct tg_atomic *a, int dirfd, const char *name, mode_t mode);
/*
 * Open dir/sub, a folder, into *fd_out without following a symlink at dir or at
 * sub: TG_ERR_PERM (errno ELOOP) when either is one, TG_ERR_NOT_FOUND. For a
 * privileged writer into a folder another user owns (root's events in the
 * audit user's spool). Links above dir are followed: they are the admin's.
 */
int tg_open_subdir_nofollow(const char *dir, const char *sub, int *fd_out);
/* Write all of len bytes to the temp file (retrying short writes, EINTR). */
int tg_atomic_write(struct tg_atomic *a, const void *p, size_t len);
/* fsync the file, rename it to its name, fsync the folder; closes a. */
int tg_atomic_commit(struct tg_atomic *a);
/* Drop the temp file; safe on TG_ATOMIC_VOID and after commit. */
void tg_atomic_abort(struct tg_atomic *a);

/* Replace dir/name with data, durably and atomically. */
int tg_spool_write(const char *dir, const char *name, const void *data, size_t len, mode_t mode);
/* Move from_dir/from to to_dir/to with rename(2) and fsync both folders. */
int tg_spool_move(const char *from_dir, const char *from, const char *to_dir, const char *to);
/* Remove dir/name and fsync dir (the removal is durable when this returns). */
int tg_spool_remove(const char *dir, const char *name);
/* fsync a folder so that renames and creations in it survive a crash. */
int tg_fsync_dir(const char *dir);
/* Write all of len bytes to fd, retrying short writes and EINTR. */
int tg_write_all(int fd, const void *p, size_t len);
/* Disk space (blocks) the regular files under dir take, three folder levels deep, in *bytes
 * (not dir/lost+found's). TG_ERR_SYSTEM (errno set) when a folder or file in it cannot be read
 * or looked at: *bytes then holds what could be counted, and where (wherelen bytes; NULL and 0
 * for none) the path of the first that could not. A dir that does not exist is 0. */
int tg_spool_bytes(const char *dir, uint64_t *bytes, char *where, size_t wherelen);
/* Read a whole regular file (O_NOFOLLOW) of at most max bytes into out. */
int tg_read_file(const char *path, size_t max, struct tg_buf *out);
/* Same, from an already open descriptor (fstat-checked to be regular). */
int tg_read_fd(int fd, size_t max, struct tg_buf *out);
/* Create dir (and parents) with mode if missing, each new folder's entry synced in its parent;
 * an existing one is kept. */
int tg_mkdir_p(const char *dir, mode_t mode);
/* True when a folder entry name is a spool temp file or "." / "..". */
int tg_spool_is_hidden(const char *name);
/* True when name ends in suffix and has something before it. */
int tg_spool_has_suffix(const char *name, const char *suffix);

#endif
