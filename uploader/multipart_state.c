/*
 * The files a recording has under state/multipart/ while it goes up: its multipart upload's
 * resume state (<id>.json, written by tg_s3) and the note that S3 has it while its index line
 * failed (<id>.sent, session_ship.c). <id> is the SHA-256 of the recording's name in
 * sessions/, in hex: 64 bytes whatever the name, so that every name the spool takes (255
 * bytes at most) has its files; "<name>.json" passed NAME_MAX from a 251-byte name on, and
 * such a recording never went up.
 *
 * The uploader before this named them <name>.json and <name>.sent. Those of a recording still
 * in sessions/ are renamed to the new names at the first rescan (before any job starts), so an
 * upgrade resumes the uploads under way; those of recordings no longer there, in either
 * naming, are removed at each rescan, as they never will be otherwise.
 */
#include "uploader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_error.h"
#include "tg_log.h"
#include "tg_spool.h"

#define ID_LEN 64 /* hex digits of a SHA-256 */

static void multipart_id(const char *name, char out[ID_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)name, strlen(name));
	sodium_bin2hex(out, ID_LEN + 1, h, sizeof(h));
}

int up_multipart_file(const char *name, const char *suffix, char *out, size_t len)
{
	char id[ID_LEN + 1];

	multipart_id(name, id);
	return (size_t)snprintf(out, len, "%s%s", id, suffix) < len ? TG_OK : TG_ERR_LIMIT;
}

int up_multipart_path(const struct up_ctx *c, const char *name, const char *suffix, char *out,
                      size_t len)
{
	char file[ID_LEN + 16];
	int r;

	if ((r = up_multipart_file(name, suffix, file, sizeof(file))) != TG_OK)
		return r;
	return (size_t)snprintf(out, len, "%s/%s/%s", c->state_dir, UP_MULTIPART_DIR, file) < len
	           ? TG_OK
	           : TG_ERR_LIMIT;
}

/* The suffix a state file's name ends with (".json" or ".sent"), or NULL: not ours. */
static const char *state_suffix(const char *file)
{
	size_t n = strlen(file);

	if (n > 5 && (strcmp(file + n - 5, UP_MULTIPART_RESUME) == 0 ||
	              strcmp(file + n - 5, UP_MULTIPART_SENT) == 0))
		return file + n - 5;
	return NULL;
}

/* A name as this version makes them: 64 lower-case hex digits and a suffix. */
static int is_id_name(const char *file, const char *suffix)
{
	return (size_t)(suffix - file) == ID_LEN && strspn(file, "0123456789abcdef") == ID_LEN;
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, ID_LEN);
}

/* The ids of the names in sessions/ (d, from its start; sorted, ID_LEN bytes each) into *ids;
 * -1 when it cannot be listed to its end: then nothing is known to be gone. */
static int session_ids(DIR *d, char **ids, size_t *n)
{
	char *all = NULL, *t;
	size_t alloc = 0;
	struct dirent *de;

	*ids = NULL;
	*n = 0;
	for (;;) {
		char id[ID_LEN + 1];

		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (tg_spool_is_hidden(de->d_name))
			continue;
		if (*n == alloc) {
			alloc = alloc ? 2 * alloc : 256;
			if ((t = realloc(all, alloc * ID_LEN)) == NULL) {
				errno = ENOMEM;
				break;
			}
			all = t;
		}
		multipart_id(de->d_name, id);
		memcpy(all + *n * ID_LEN, id, ID_LEN);
		(*n)++;
	}
	if (errno != 0) {
		free(all);
		*n = 0;
		return -1;
	}
	if (*n > 0)
		qsort(all, *n, ID_LEN, id_cmp);
	*ids = all;
	return 0;
}

/* An old-style <name><suffix> of a recording still in sessions/: under its new name now. */
static void adopt(int dir_fd, const char *dir, const char *file, const char *name,
                  const char *suffix)
{
	char to[ID_LEN + 16];
	struct stat st;

	if (up_multipart_file(name, suffix, to, sizeof(to)) != TG_OK)
		return;
	if (fstatat(dir_fd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		/* written by this version since: the newer one */
		unlinkat(dir_fd, file, 0);
		return;
	}
	if (renameat(dir_fd, file, dir_fd, to) != 0 || fsync(dir_fd) != 0) {
		tg_warn("cannot rename %s/%s to %s (%s): its upload starts over", dir, file, to,
		        strerror(errno));
		return;
	}
	tg_info("%s/%s, written by an earlier uploader, is now %s", dir, file, to);
}

void up_multipart_prune(struct up_ctx *c)
{
	char dir[PATH_MAX], *ids = NULL;
	size_t nids = 0;
	int listed = 0;
	struct dirent *de;
	DIR *d, *sd = NULL;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", c->state_dir, UP_MULTIPART_DIR) >=
	        sizeof(dir) ||
	    (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		const char *suffix = state_suffix(de->d_name);
		char name[UP_NAME_MAX];
		struct stat st;
		size_t stem;

		/* temp files are up_spool_clean_tmp's; anything else is not ours */
		if (de->d_name[0] == '.' || suffix == NULL ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		/* sessions/ is listed once, and only when there is something to match */
		if (!listed) {
			listed = 1;
			if ((sd = opendir(c->q[UP_Q_SESSIONS].dir)) == NULL ||
			    session_ids(sd, &ids, &nids) != 0)
				break; /* nothing is known to be gone */
		}
		if (is_id_name(de->d_name, suffix)) {
			if (nids > 0 && bsearch(de->d_name, ids, nids, ID_LEN, id_cmp) != NULL)
				continue;
		} else {
			stem = (size_t)(suffix - de->d_name);
			if (stem < sizeof(name)) {
				memcpy(name, de->d_name, stem);
				name[stem] = '\0';
				if (fstatat(dirfd(sd), name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
					adopt(dirfd(d), dir, de->d_name, name, suffix);
					continue;
				}
			}
		}
		/* its recording left sessions/ (shipped by a daemon killed before it removed
		 * this, or removed by someone else) or never was there: nothing will read it */
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			tg_info(
			    "removed %s/%s: its recording is no longer in %s (an upload it names "
			    "is left to the bucket's lifecycle rule)",
			    dir, de->d_name, c->q[UP_Q_SESSIONS].dir);
	}
	closedir(d);
	if (sd != NULL)
		closedir(sd);
	free(ids);
}
