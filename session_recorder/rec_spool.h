/*
 * Where a recording lives while it is written, and how it is handed over.
 *
 *   <spool>/active/.<session_id>.tgr.new  the header being written
 *   <spool>/active/<session_id>.tgr    being written; the recorder holds an
 *                                      exclusive flock on it for its lifetime
 *   <spool>/sessions/<session_id>.tgr  handed over to the uploader
 *
 * The recorder creates and locks the dot-file, writes and fdatasyncs the
 * header, and renames it to its name (rec_spool_publish) before the session
 * begins: a file named *.tgr in active/ always holds a whole header, and a
 * recorder killed before that leaves only a dot-file, which recovery removes.
 * At the end the recorder fsyncs the sealed file and renames it into
 * sessions/ (tg_spool_move: rename + fsync of both folders), so the uploader,
 * which takes only files directly in sessions/, never sees a half-written
 * one. A recorder that dies (kill -9, crash, power loss) leaves its file in
 * active/ with the lock gone; rec_spool_recover() (run by every recorder
 * start and by "tollgate-record --recover") moves each such file into
 * sessions/ as it is: unsealed, which the verifier reports, verified up to
 * its last checkpoint. See doc/recorder.md.
 */
#ifndef REC_SPOOL_H
#define REC_SPOOL_H

#include <limits.h>

#define REC_SPOOL_ACTIVE "active"
#define REC_SPOOL_SESSIONS "sessions"
#define REC_SPOOL_TMP_PREFIX "."
#define REC_SPOOL_TMP_SUFFIX ".new"
#define REC_SPOOL_STALE_TMP_SECONDS 60 /* an unlocked dot-file older than this is removed */

struct rec_spool {
	char active[PATH_MAX];
	char sessions[PATH_MAX];
	char name[80];
	int fd;        /* -1 when not open */
	int published; /* renamed from its dot-name to its name */
};
#define REC_SPOOL_VOID                                                                             \
	{                                                                                          \
		{0}, {0}, {0}, -1, 0                                                               \
	}

/* Create and lock active/.<sid_hex>.tgr.new (mode 0600); makes the folders (0700) if missing. */
int rec_spool_create(struct rec_spool *rs, const char *spool_dir, const char *sid_hex);
/* After rec_spool_create() failed: the first of spool_dir, its active/ and its sessions/ that
 * does not exist, or NULL when all three do. */
const char *rec_spool_missing(const struct rec_spool *rs, const char *spool_dir);
/* fdatasync the header, rename the file to active/<sid_hex>.tgr (never over another) and fsync
 * the folder: from here on a crash leaves a recording that recovery hands over. */
int rec_spool_publish(struct rec_spool *rs);
/* fsync the file after a checkpoint (durability of the verified prefix). */
int rec_spool_sync(const struct rec_spool *rs);
/* The file is still active/<name> (after rec_spool_publish): TG_OK, or TG_ERR_SYSTEM (errno
 * ENOENT when the name is gone or another file's) when it was removed, with its folder or alone,
 * or replaced: what is written to it then is lost at the end, when it cannot be moved. */
int rec_spool_check(const struct rec_spool *rs);
/* fsync, move into sessions/, close (which drops the lock). Only after rec_spool_publish. */
int rec_spool_finish(struct rec_spool *rs);
/* Remove the file (nothing usable was written) and close. */
void rec_spool_discard(struct rec_spool *rs);
/* Close without moving (the file stays in active/ for recovery). */
void rec_spool_close(struct rec_spool *rs);
/* Move every orphaned file from active/ to sessions/ (*moved counts them); remove stale
 * dot-files. */
int rec_spool_recover(const char *spool_dir, unsigned *moved);

#endif
