/*
 * Watching the spool: inotify says when something arrived, and a full
 * rescan every rescan_interval (and at start) catches whatever inotify could
 * not (a queue overflow, files that arrived while no uploader ran).
 */
#include "uploader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rec_spool.h"
#include "tg_error.h"
#include "tg_event.h"
#include "tg_log.h"
#include "tg_spool.h"

static const char *const queue_subdir[UP_Q_COUNT] = {
    [UP_Q_SESSIONS] = "sessions",
    [UP_Q_EVENTS] = TG_EVENT_SUBDIR,
    [UP_Q_S3] = "outbox/s3",
    [UP_Q_NOTIFY] = "outbox/notify",
};

/* The uploader's folders under state/: made at the start (live/ by up_live_adopt), cleaned of
 * temp files after a kill. */
static const char *const state_subdir[] = {"sessions",          UP_OPEN_DIR,   UP_LIVE_DIR,
                                           UP_MULTIPART_DIR,    UP_ALERTS_DIR, UP_ALERTED_DIR,
                                           UP_CRASHES_SESSIONS, UP_CRASHES_S3};

int up_spool_prepare(struct up_ctx *c)
{
	char path[PATH_MAX];
	int q, r;

	for (q = 0; q < UP_Q_COUNT; q++) {
		if ((size_t)snprintf(c->q[q].dir, sizeof(c->q[q].dir), "%s/%s", c->spool,
		                     queue_subdir[q]) >= sizeof(c->q[q].dir))
			return TG_ERR_LIMIT;
		/* sessions/ and events/ belong to the recorder and the PAM module: only the
		 * outboxes are ours */
		if (q == UP_Q_S3 || q == UP_Q_NOTIFY) {
			if ((r = tg_mkdir_p(c->q[q].dir, 0750)) != TG_OK)
				return r;
		}
	}
	if ((size_t)snprintf(c->state_dir, sizeof(c->state_dir), "%s/state", c->spool) >=
	    sizeof(c->state_dir))
		return TG_ERR_LIMIT;
	for (q = 0; q < (int)(sizeof(state_subdir) / sizeof(state_subdir[0])); q++) {
		/* missing, it is made from the join records, under the lock */
		if (strcmp(state_subdir[q], UP_LIVE_DIR) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->state_dir, state_subdir[q]);
		if ((r = tg_mkdir_p(path, 0750)) != TG_OK)
			return r;
	}
	return TG_OK;
}

/* Where live/ is made before it is renamed into place. */
#define LIVE_STAGE ".live.new"

/* When the session of the join record dirfd/name began, about (its first recording's start,
 * the record's own time at the latest); 0 when it cannot be told. */
static uint64_t join_record_since_us(int dirfd, const char *name)
{
	json_t *rec = NULL, *list = NULL;
	uint64_t at, first;
	struct stat st;
	FILE *f;
	int fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return 0;
	}
	at = (uint64_t)st.st_mtim.tv_sec * 1000000u + (uint64_t)st.st_mtim.tv_nsec / 1000u;
	rec = json_loadf(f, 0, NULL);
	fclose(f);
	/* sorted by start time */
	list = up_join_recordings(rec);
	first = (uint64_t)json_integer_value(json_object_get(json_array_get(list, 0), "start_us"));
	json_decref(list);
	json_decref(rec);
	return first > 0 && first < at ? first : at;
}

/* A marker in the folder stage for each join record (or login waiting for its check) in the
 * folder src, closed here, dated from its session's start; one that began UP_LIVE_KEEP_DAYS ago
 * or more gets none, nor one that has one already. How many were made, or -1 when one could
 * not be. */
static long live_adopt_from(int src, int stage, uint64_t wall)
{
	static const char body[] = "{\"adopted\":true}\n";
	uint64_t keep = (uint64_t)UP_LIVE_KEEP_DAYS * 86400u * 1000000u;
	struct dirent *de;
	long n = 0;
	DIR *d;

	if ((d = fdopendir(src)) == NULL) {
		close(src);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct timespec t[2];
		uint64_t since;
		int fd, ok;

		if (de->d_name[0] == '.' || !tg_spool_has_suffix(de->d_name, ".json"))
			continue;
		if ((since = join_record_since_us(dirfd(d), de->d_name)) == 0 ||
		    since + keep <= wall)
			continue;
		if ((fd = openat(stage, de->d_name,
		                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640)) < 0) {
			if (errno == EEXIST)
				continue; /* made from its join record already */
			n = -1;
			break;
		}
		t[0].tv_sec = t[1].tv_sec = (time_t)(since / 1000000u);
		t[0].tv_nsec = t[1].tv_nsec = (long)(since % 1000000u) * 1000;
		ok = tg_write_all(fd, body, sizeof(body) - 1) == TG_OK && futimens(fd, t) == 0;
		if (close(fd) != 0 || !ok) {
			n = -1;
			break;
		}
		n++;
	}
	closedir(d);
	return n;
}

int up_live_adopt(struct up_ctx *c)
{
	char live[PATH_MAX], stage[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *de;
	struct stat st;
	static const char *const from[] = {"sessions", UP_OPEN_DIR};
	int sfd = -1, src, r = TG_ERR_SYSTEM;
	long n = 0, k;
	size_t i;
	DIR *d;

	snprintf(live, sizeof(live), "%s/" UP_LIVE_DIR, c->state_dir);
	if (stat(live, &st) == 0 || errno != ENOENT)
		return TG_OK;
	/* what a start killed half-way made: made again, whole */
	snprintf(stage, sizeof(stage), "%s/" LIVE_STAGE, c->state_dir);
	if ((d = opendir(stage)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	if ((r = tg_mkdir_p(stage, 0750)) != TG_OK)
		return r;
	r = TG_ERR_SYSTEM;
	if ((sfd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return r;
	/* the join records, and the logins of the last recording_grace, whose join record
	 * may be written only after this */
	for (i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", c->state_dir, from[i]);
		if ((src = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 && errno != ENOENT)
			goto out;
		if (src >= 0 && (k = live_adopt_from(src, sfd, tg_now_us())) < 0)
			goto out;
		if (src >= 0)
			n += k;
	}
	/* one sync for them all: there may be thousands, and a crash before the rename makes
	 * them again */
	if (syncfs(sfd) != 0 || rename(stage, live) != 0)
		goto out;
	r = tg_fsync_dir(c->state_dir);
	if (n > 0)
		tg_notice(
		    "%s was missing (an upgrade from an uploader without it, or removed): "
		    "%ld sessions (join records, logins waiting for their check) taken for logins "
		    "still open, kept until their logout, %d days after their session at most",
		    live, n, UP_LIVE_KEEP_DAYS);
	else
		tg_info("%s made", live);
out:
	close(sfd);
	if (r != TG_OK)
		tg_error("cannot make %s from the join records: %s", live, strerror(errno));
	return r;
}

/* A folder of ours, made at the start, removed while we ran: made again, and said so. */
static void remake_dir(const char *path)
{
	int r;

	if ((r = tg_mkdir_p(path, 0750)) != TG_OK)
		tg_error_r(r, "cannot make %s again", path);
	else
		tg_warn("%s was removed while the uploader ran: made again", path);
}

void up_spool_remake_state(struct up_ctx *c)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(state_subdir) / sizeof(state_subdir[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", c->state_dir, state_subdir[i]);
		if (strcmp(state_subdir[i], UP_LIVE_DIR) == 0)
			up_live_adopt(c); /* its markers are lost: taken from the join records */
		else if (stat(path, &st) != 0 && errno == ENOENT)
			remake_dir(path);
	}
}

/*
 * Watch the folder at a queue's path, unless it is (still) missing. A folder
 * renamed away takes its watch along (`mv events events.old`, or its parent
 * outbox/ renamed: no event on the folder itself says so): the one at the path
 * now gets a watch of its own, and the old one is dropped.
 */
static void queue_watch(struct up_ctx *c, enum up_queue q)
{
	int wd, err;

	if (c->inotify_fd < 0)
		return;
	/* a recording or event is complete when it is renamed or closed into place; the
	 * same folder gives back the same watch */
	wd = inotify_add_watch(c->inotify_fd, c->q[q].dir,
	                       IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM |
	                           IN_MOVE_SELF);
	err = errno;
	if (c->q[q].wd >= 0 && c->q[q].wd != wd)
		inotify_rm_watch(c->inotify_fd, c->q[q].wd);
	c->q[q].wd = wd;
	if (wd < 0 && err != ENOENT)
		tg_warn("cannot watch %s: %s (the periodic rescan still finds its files)",
		        c->q[q].dir, strerror(err));
}

int up_watch_start(struct up_ctx *c)
{
	int q;

	for (q = 0; q < UP_Q_COUNT; q++)
		c->q[q].wd = -1;
	c->spool_wd = -1;
	if ((c->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		return TG_ERR_SYSTEM;
	/* a queue's folder removed and made again (or made after the start) is watched again:
	 * its making asks for a rescan, which adds the watch */
	c->spool_wd =
	    inotify_add_watch(c->inotify_fd, c->spool, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
	for (q = 0; q < UP_Q_COUNT; q++)
		queue_watch(c, q);
	return TG_OK;
}

/* The names a queue holds (in-progress recordings and temp files start with '.'). */
static int queue_name_ok(const char *name)
{
	return !tg_spool_is_hidden(name) && strlen(name) < UP_NAME_MAX;
}

/* A new item for a file seen in a queue's folder. */
static void item_init(struct up_item *it, const char *name, const struct stat *st)
{
	memset(it, 0, sizeof(*it));
	snprintf(it->name, UP_NAME_MAX, "%s", name);
	it->size = (uint64_t)st->st_size;
	it->first_seen_us =
	    (uint64_t)st->st_mtim.tv_sec * 1000000u + (uint64_t)st->st_mtim.tv_nsec / 1000u;
	it->present = 1;
}

/* Where name is, or would go, in the sorted queue: the first item not below it. */
static size_t queue_pos(const struct up_queue_state *qs, const char *name)
{
	size_t lo = 0, hi = qs->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(qs->items[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int queue_reserve(struct up_queue_state *qs, size_t more)
{
	struct up_item *p;
	size_t na;

	if (qs->n + more <= qs->alloc)
		return TG_OK;
	na = qs->n + more + 64;
	if ((p = realloc(qs->items, na * sizeof(*p))) == NULL)
		return TG_ERR_NOMEM;
	qs->items = p;
	qs->alloc = na;
	return TG_OK;
}

/* One file inotify named: added in name order, or its size refreshed. */
static int queue_note(struct up_queue_state *qs, const char *name)
{
	struct stat st;
	char path[PATH_MAX];
	size_t i;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", qs->dir, name) >= sizeof(path))
		return TG_ERR_LIMIT;
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		return TG_OK; /* gone again, or not ours: its delete event or a rescan */
	i = queue_pos(qs, name);
	if (i < qs->n && strcmp(qs->items[i].name, name) == 0) {
		qs->items[i].size = (uint64_t)st.st_size;
		return TG_OK;
	}
	if (queue_reserve(qs, 1) != TG_OK)
		return TG_ERR_NOMEM;
	memmove(&qs->items[i + 1], &qs->items[i], (qs->n - i) * sizeof(qs->items[0]));
	item_init(&qs->items[i], name, &st);
	qs->n++;
	return TG_OK;
}

/*
 * Apply what inotify reports, file by file: a spool of N files drained one by
 * one would otherwise cost N full listings of N files each. Only a lost event
 * (queue overflow, a watched folder gone) asks for a full rescan.
 */
int up_watch_drain(struct up_ctx *c)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	int rescan = 0;
	ssize_t n;

	if (c->inotify_fd < 0)
		return 0;
	while ((n = read(c->inotify_fd, buf, sizeof(buf))) > 0) {
		ssize_t off = 0;

		while (off + (ssize_t)sizeof(struct inotify_event) <= n) {
			const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
			struct up_queue_state *qs = NULL;
			int q;

			off += (ssize_t)sizeof(*ev) + (ssize_t)ev->len;
			if (off > n || (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_UNMOUNT |
			                            IN_MOVE_SELF)) != 0) {
				/* a folder gone: its watch is gone too; one renamed away: the
				 * rescan watches the folder at its path instead */
				for (q = 0; off <= n && (ev->mask & IN_IGNORED) && q < UP_Q_COUNT;
				     q++)
					if (c->q[q].wd == ev->wd)
						c->q[q].wd = -1;
				rescan = 1;
				continue;
			}
			if (c->spool_wd >= 0 && ev->wd == c->spool_wd) {
				/* a folder made in the spool: maybe a queue's */
				if (ev->mask & IN_ISDIR)
					rescan = 1;
				continue;
			}
			for (q = 0; q < UP_Q_COUNT; q++)
				if (c->q[q].wd >= 0 && c->q[q].wd == ev->wd)
					qs = &c->q[q];
			/* a name is NUL-padded in len; len 0: an event on the folder itself */
			if (qs == NULL || ev->len == 0 || memchr(ev->name, '\0', ev->len) == NULL ||
			    !queue_name_ok(ev->name))
				continue;
			if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
				struct up_item *it = up_queue_find(qs, ev->name);

				/* a busy item stays until its job reports; our own removals
				 * dropped theirs already: what is left went by another hand */
				if (it != NULL && !it->busy) {
					up_queue_lost(c, (enum up_queue)(qs - c->q), ev->name);
					up_queue_drop(qs, ev->name);
				}
			} else if (queue_note(qs, ev->name) != TG_OK) {
				rescan = 1;
			}
		}
	}
	return rescan;
}

struct up_item *up_queue_find(struct up_queue_state *qs, const char *name)
{
	size_t i = queue_pos(qs, name);

	return i < qs->n && strcmp(qs->items[i].name, name) == 0 ? &qs->items[i] : NULL;
}

void up_queue_lost(struct up_ctx *c, enum up_queue q, const char *name)
{
	struct up_item *it;
	struct up_dest *d = q == UP_Q_S3 || q == UP_Q_SESSIONS ? &c->s3
	                    : q == UP_Q_NOTIFY                 ? &c->slack_dest
	                                                       : NULL;

	if (d == NULL)
		return;
	it = up_queue_find(&c->q[q], name);
	/* its work was done and accounted for, and we removed it ourselves: only making that
	 * removal durable failed (the folder's fsync), and this is our own unlink reported */
	if (it != NULL && it->handed_on)
		return;
	if (it != NULL && it->worker_died) {
		/* The worker that had it said it removes it, S3 having confirmed it, and died
		 * before its report: S3 has it, whoever removed it. Sent, not lost; no alert. */
		tg_warn("%s/%s was gone after its upload worker died; that worker had said it "
		        "removes it, S3 having confirmed it: counted as sent",
		        c->q[q].dir, name);
		d->sent++;
		d->last_ok_us = tg_now_us();
		return;
	}
	if (q == UP_Q_SESSIONS) {
		/* a recording is named after its session: the name is all that is left */
		int stem = (int)strcspn(name, ".");

		d->lost++;
		/* evidence gone before it left the host (a cleanup script, or someone hiding a
		 * session): the host's own log may be the next thing to go. up_alert() logs it
		 * too: one line, not a warning beside it */
		up_alert(c, "recording_removed", 1,
		         "%s/%s (session %.*s) was removed by someone else before it was sent to "
		         "S3: not sent, counted as lost",
		         c->q[q].dir, name, stem, name);
		return;
	}
	/* the post under way decides for itself: Slack may have it */
	if (q == UP_Q_NOTIFY && c->slack != NULL && slack_post_busy(c->slack) &&
	    strcmp(name, c->notify_inflight) == 0)
		return;
	d->lost++;
	tg_warn("%s/%s was removed by someone else before it was sent to %s: not sent, counted "
	        "as lost",
	        c->q[q].dir, name, q == UP_Q_S3 ? "S3" : "Slack");
}

void up_queue_drop(struct up_queue_state *qs, const char *name)
{
	struct up_item *it = up_queue_find(qs, name);
	size_t i;

	if (it == NULL)
		return;
	i = (size_t)(it - qs->items);
	memmove(&qs->items[i], &qs->items[i + 1], (qs->n - i - 1) * sizeof(*it));
	qs->n--;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct up_item *)a)->name, ((const struct up_item *)b)->name);
}

static int stray_cmp(const void *a, const void *b)
{
	return strcmp(((const struct up_stray *)a)->name, ((const struct up_stray *)b)->name);
}

/* What an entry that is no regular file is, for a person. */
static const char *stray_type(mode_t mode)
{
	return S_ISLNK(mode)    ? "a symbolic link"
	       : S_ISFIFO(mode) ? "a FIFO"
	       : S_ISSOCK(mode) ? "a socket"
	       : S_ISCHR(mode)  ? "a character device"
	       : S_ISBLK(mode)  ? "a block device"
	       : S_ISDIR(mode)  ? "a folder"
	                        : "of an unknown type";
}

/*
 * An entry of sessions/ or events/ that is no regular file, seen by a scan: alerted on the first
 * time, so that a recording that went wrong, or something put there by hand, does not sit in
 * the spool unseen. Only its name and lstat() are used: a link is not followed, a FIFO not
 * opened (it would block).
 */
static void stray_seen(struct up_ctx *c, enum up_queue q, int dfd, const char *name,
                       const struct stat *st)
{
	struct up_queue_state *qs = &c->q[q];
	struct up_stray key, *known;
	char target[256] = "";

	/* a binary search of those known at the scan's start (a readdir lists a name once): a
	 * folder of 50,000 links took a linear search each, minutes of CPU at every rescan */
	snprintf(key.name, sizeof(key.name), "%s", name);
	if ((known = bsearch(&key, qs->strays, qs->nsorted, sizeof(key), stray_cmp)) != NULL) {
		known->present = 1;
		return;
	}
	if (qs->nstrays == qs->astrays) {
		size_t na = qs->astrays ? qs->astrays * 2 : 8;
		struct up_stray *p = realloc(qs->strays, na * sizeof(*p));

		/* no memory: alerted again at the next scan, never not at all */
		if (p != NULL) {
			qs->strays = p;
			qs->astrays = na;
		}
	}
	if (qs->nstrays < qs->astrays) {
		snprintf(qs->strays[qs->nstrays].name, UP_NAME_MAX, "%s", name);
		qs->strays[qs->nstrays++].present = 1;
	}
	/* each alert is an event written durably: past a few in one scan, one summary at its end
	 * (strays_say_unsaid) says how many more, as a burst would on Slack */
	if (qs->nsorted_alerts >= UP_STRAY_ALERTS_MAX) {
		qs->strays_unsaid++;
		return;
	}
	qs->nsorted_alerts++;
	if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);

		target[n > 0 ? n : 0] = '\0';
	}
	up_alert(c, "spool_not_regular", 1,
	         "%s/%s is %s%s%s%s, not a regular file: it is not %s, and is left where it is",
	         qs->dir, name, stray_type(st->st_mode), *target ? " (to " : "", target,
	         *target ? ")" : "",
	         q == UP_Q_SESSIONS ? "shipped as a recording" : "sent as an event");
}

/* The summary of the strays a scan found beyond the first UP_STRAY_ALERTS_MAX new ones. */
static void strays_say_unsaid(struct up_ctx *c, enum up_queue q)
{
	struct up_queue_state *qs = &c->q[q];

	if (qs->strays_unsaid > 0)
		up_alert(c, "spool_not_regular", 1,
		         "%zu more entries of %s are not regular files (links, FIFOs, folders...): "
		         "they are not %s, and are left where they are",
		         qs->strays_unsaid, qs->dir,
		         q == UP_Q_SESSIONS ? "shipped as recordings" : "sent as events");
	qs->strays_unsaid = 0;
	qs->nsorted_alerts = 0;
}

/* Forget the entries the latest scan did not see: one that comes back is alerted on again. */
static void strays_prune(struct up_queue_state *qs)
{
	size_t i;

	for (i = 0; i < qs->nstrays;) {
		if (qs->strays[i].present) {
			qs->strays[i++].present = 0;
			continue;
		}
		qs->strays[i] = qs->strays[--qs->nstrays];
	}
}

int up_queue_scan(struct up_ctx *c, enum up_queue q)
{
	struct up_queue_state *qs = &c->q[q];
	struct up_item *fresh = NULL;
	size_t nfresh = 0, afresh = 0, i;
	struct dirent *de;
	DIR *d;
	int dfd;

	queue_watch(c, q); /* before the listing: nothing arrives unseen in between */
	if ((d = opendir(qs->dir)) == NULL) {
		if (errno == ENOENT) {
			/* the folder went, and its files with it */
			for (i = 0; i < qs->n; i++)
				if (!qs->items[i].busy)
					up_queue_lost(c, q, qs->items[i].name);
			qs->n = 0;
			/* an outbox is ours, made at the start: without it every event would
			 * wait in events/ until a restart */
			if (q == UP_Q_S3 || q == UP_Q_NOTIFY) {
				remake_dir(qs->dir);
				queue_watch(c, q);
			}
			return TG_OK;
		}
		return TG_ERR_SYSTEM;
	}
	dfd = dirfd(d);
	for (i = 0; i < qs->n; i++)
		qs->items[i].present = 0;
	if (qs->nstrays > 1)
		qsort(qs->strays, qs->nstrays, sizeof(qs->strays[0]), stray_cmp);
	qs->nsorted = qs->nstrays;
	qs->strays_unsaid = qs->nsorted_alerts = 0;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		struct up_item *it;

		/* in-progress recordings and temp files start with '.' */
		if (!queue_name_ok(de->d_name))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (!S_ISREG(st.st_mode)) {
			/* the outboxes are ours alone */
			if (q == UP_Q_SESSIONS || q == UP_Q_EVENTS)
				stray_seen(c, q, dfd, de->d_name, &st);
			continue;
		}
		if ((it = up_queue_find(qs, de->d_name)) != NULL) {
			it->present = 1;
			it->size = (uint64_t)st.st_size;
			/* still here after its worker died (no job has it now): that worker did
			 * not remove it, so a removal from now on is someone else's */
			if (!it->busy)
				it->worker_died = 0;
			continue;
		}
		if (nfresh == afresh) {
			size_t na = afresh ? afresh * 2 : 64;
			struct up_item *p = realloc(fresh, na * sizeof(*p));

			if (p == NULL) {
				free(fresh);
				closedir(d);
				return TG_ERR_NOMEM;
			}
			fresh = p;
			afresh = na;
		}
		item_init(&fresh[nfresh++], de->d_name, &st);
	}
	closedir(d);
	strays_say_unsaid(c, q);
	strays_prune(qs);
	qs->nsorted = 0; /* the prune moved them */
	/* drop what left (a busy item stays until its job reports) */
	for (i = 0; i < qs->n;) {
		if (!qs->items[i].present && !qs->items[i].busy) {
			up_queue_lost(c, q, qs->items[i].name);
			memmove(&qs->items[i], &qs->items[i + 1],
			        (qs->n - i - 1) * sizeof(qs->items[0]));
			qs->n--;
		} else {
			i++;
		}
	}
	if (queue_reserve(qs, nfresh) != TG_OK) {
		free(fresh);
		return TG_ERR_NOMEM;
	}
	if (nfresh > 0)
		memcpy(&qs->items[qs->n], fresh, nfresh * sizeof(*fresh));
	qs->n += nfresh;
	free(fresh);
	if (qs->n > 1)
		qsort(qs->items, qs->n, sizeof(qs->items[0]), name_cmp);
	return TG_OK;
}

void up_spool_clean_tmp(struct up_ctx *c)
{
	enum { N_STATE = sizeof(state_subdir) / sizeof(state_subdir[0]) };
	const char *dirs[3 + N_STATE] = {c->q[UP_Q_S3].dir, c->q[UP_Q_NOTIFY].dir, c->state_dir};
	char sub[N_STATE][PATH_MAX];
	size_t k;

	for (k = 0; k < N_STATE; k++) {
		snprintf(sub[k], sizeof(sub[k]), "%s/%s", c->state_dir, state_subdir[k]);
		dirs[3 + k] = sub[k];
	}
	for (k = 0; k < sizeof(dirs) / sizeof(dirs[0]); k++) {
		struct dirent *de;
		DIR *d;

		if ((d = opendir(dirs[k])) == NULL)
			continue;
		while ((de = readdir(d)) != NULL)
			if (strncmp(de->d_name, TG_SPOOL_TMP_PREFIX, strlen(TG_SPOOL_TMP_PREFIX)) ==
			    0)
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
}

void up_spool_clean_stale_tmp(struct up_ctx *c)
{
	const char *dir = c->q[UP_Q_EVENTS].dir;
	time_t limit = time(NULL) - UP_STALE_TMP_S;
	struct dirent *de;
	struct stat st;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, TG_SPOOL_TMP_PREFIX, strlen(TG_SPOOL_TMP_PREFIX)) != 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || st.st_mtime > limit)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			tg_log(LOG_NOTICE,
			       "removed %s/%s: a temporary file untouched for over %d min, left by "
			       "a writer killed before it could rename it",
			       dir, de->d_name, UP_STALE_TMP_S / 60);
		else if (errno != ENOENT)
			tg_warn("cannot remove %s/%s, a temporary file left by a killed writer: %s",
			        dir, de->d_name, strerror(errno));
	}
	closedir(d);
}

void up_recover_orphans(struct up_ctx *c)
{
	unsigned moved = 0;
	int r = rec_spool_recover(c->spool, &moved);

	if (r != TG_OK)
		tg_error_r(r, "recovering recordings left in %s/" REC_SPOOL_ACTIVE, c->spool);
	if (moved > 0)
		tg_log(LOG_NOTICE,
		       "handed over %u recording(s) whose recorder ended without sealing them "
		       "(they ship unsealed, verified up to their last checkpoint)",
		       moved);
}

int up_spool_bytes(const struct up_ctx *c, uint64_t *bytes, char *where, size_t wherelen)
{
	return tg_spool_bytes(c->spool, bytes, where, wherelen);
}

void up_queues_free(struct up_ctx *c)
{
	int q;

	for (q = 0; q < UP_Q_COUNT; q++) {
		free(c->q[q].items);
		c->q[q].items = NULL;
		c->q[q].n = c->q[q].alloc = 0;
		free(c->q[q].strays);
		c->q[q].strays = NULL;
		c->q[q].nstrays = c->q[q].astrays = 0;
	}
}
