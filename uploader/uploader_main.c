/*
 * tollgate-uploader: ship recordings and events from the spool to S3, and
 * announce events on Slack. One loop: watch (inotify + rescan), fan events
 * out, start upload jobs, work the Slack queue in order, raise alerts, wait.
 * See doc/uploader.md.
 */
#include "uploader.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "tg_aws_creds.h"
#include "tg_error.h"
#include "tg_event.h"
#include "tg_log.h"
#include "tg_s3.h"
#include "tg_spool.h"
#include "tg_utf8.h"

#define EXIT_LEFT 1  /* --once: something is still waiting */
#define EXIT_USAGE 2 /* bad options or configuration */

static volatile sig_atomic_t got_stop, got_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig != SIGCHLD)
		got_stop = 1;
}

/*
 * The signals are blocked but inside ppoll, and ppoll runs a handler only when it
 * returns EINTR: a loop that always finds a descriptor ready would never see
 * SIGTERM. Take what is pending from sigpending() as well.
 */
static void take_pending_signals(void)
{
	sigset_t p;

	if (sigpending(&p) != 0)
		return;
	if (sigismember(&p, SIGTERM) || sigismember(&p, SIGINT))
		got_stop = 1;
	if (sigismember(&p, SIGHUP))
		got_hup = 1;
}

/* A group that may read a secret file: root's, or the audit user's (doc/deploy.md installs
 * the files root:TG_AUDIT_USER 0640). Any other group's members would learn the secret. */
static int group_may_read(gid_t gid)
{
	const struct group *gr;

	if (gid == 0)
		return 1;
	gr = getgrnam(TG_AUDIT_USER);
	return gr != NULL && gr->gr_gid == gid;
}

/* Whether users other than the owner, root and the audit user can read a file of mode and
 * group st: every user, or the members of another group. */
static int others_may_read(const struct stat *st)
{
	return (st->st_mode & S_IROTH) != 0 ||
	       ((st->st_mode & S_IRGRP) != 0 && !group_may_read(st->st_gid));
}

/* A group's name, or its number when it has none. */
static const char *group_name(gid_t gid, char *buf, size_t len)
{
	const struct group *gr = getgrgid(gid);

	if (gr != NULL)
		snprintf(buf, len, "%s", gr->gr_name);
	else
		snprintf(buf, len, "%lu", (unsigned long)gid);
	return buf;
}

/*
 * A config that holds a secret (the webhook URL, static S3 keys) must be readable by root and
 * the audit user only: not by every user, the recorded ones included, nor by the members of
 * another group (0640, but group users). Said once at start, in the log and as an alert.
 */
static void check_config_secrets(struct up_ctx *c)
{
	struct stat st;
	char grp[64];

	if (stat(c->config_path, &st) != 0 || !others_may_read(&st))
		return;
	if (*tg_config_str(c->cfg, TG_CONF_SLACK_WEBHOOK_URL) == '\0' &&
	    *tg_config_str(c->cfg, TG_CONF_S3_SECRET_ACCESS_KEY) == '\0')
		return;
	if ((st.st_mode & S_IROTH) != 0) {
		up_alert(c, "config_readable", 1,
		         "%s holds secrets (the Slack webhook URL or S3 keys) and every user can "
		         "read it (mode %04o): chmod 0640 it, group %s",
		         c->config_path, (unsigned)(st.st_mode & 07777), TG_AUDIT_USER);
		return;
	}
	up_alert(c, "config_readable", 1,
	         "%s holds secrets (the Slack webhook URL or S3 keys) and the members of group %s "
	         "can read it (mode %04o): chgrp %s it, only root's group and %s may read it",
	         c->config_path, group_name(st.st_gid, grp, sizeof(grp)),
	         (unsigned)(st.st_mode & 07777), TG_AUDIT_USER, TG_AUDIT_USER);
}

/*
 * The shared AWS credentials file the upload workers read (when neither the [s3] keys nor the
 * environment come first) must not be readable by other users: its secret key would be
 * theirs, the recorded users' included. It is not refused: the uploads go on, and an alert
 * says it, once per daemon start. Checked at every periodic rescan, since each worker reads
 * the file afresh; alerted again only for another file, mode or group, or once it was fixed
 * (not for a file gone a while). A file the workers refuse anyway (a symlink, writable by
 * others) is theirs to report.
 */
static void check_credentials_file(struct up_ctx *c)
{
	char path[PATH_MAX], seen[sizeof c->creds_alerted], grp[64], fix[128];
	struct stat st;

	if (tg_aws_creds_file_in_use(c->cfg, path, sizeof(path)) != TG_OK ||
	    lstat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return; /* not read, or refused by the workers, who say why */
	if (!others_may_read(&st)) {
		c->creds_alerted[0] = '\0'; /* fixed: readable again is news again */
		return;
	}
	snprintf(seen, sizeof(seen), "%04o %lu %s", (unsigned)(st.st_mode & 07777),
	         (unsigned long)st.st_gid, path);
	if (strcmp(seen, c->creds_alerted) == 0)
		return;
	snprintf(c->creds_alerted, sizeof(c->creds_alerted), "%s", seen);
	group_name(st.st_gid, grp, sizeof(grp));
	/* a file of root's that the uploader reads through its group stays group-readable */
	if (st.st_uid == geteuid())
		snprintf(fix, sizeof(fix), "chmod 0600 it");
	else
		snprintf(fix, sizeof(fix), "chmod 0640 it, group %s (or chown %s and chmod 0600)",
		         TG_AUDIT_USER, TG_AUDIT_USER);
	up_alert(c, "credentials_readable", 1,
	         "the AWS credentials file %s (mode %04o, group %s) can be read by %s: its secret "
	         "key is theirs too. It is still used (the uploads go on); fix: %s",
	         path, (unsigned)(st.st_mode & 07777), grp,
	         (st.st_mode & S_IROTH) != 0 ? "every user" : "the members of that group", fix);
}

/*
 * Run as root on the audit user's spool, the uploader would make outbox/ and state/ (the
 * lock, status.json, the join records) as root's, and the daemon, which runs as the audit
 * user, could then not even open its lock: it would stop at every start until someone gave
 * them back. So a root run on a spool that belongs to another user is refused before it
 * makes anything there; a spool of root's own (a test, a host that chose it) is served.
 */
static int refused_root_on_foreign_spool(const char *spool)
{
	struct stat st;
	const struct passwd *pw;

	if (geteuid() != 0 || stat(spool, &st) != 0 || st.st_uid == 0)
		return 0;
	if ((pw = getpwuid(st.st_uid)) != NULL)
		tg_error(
		    "running as root, but the spool %s belongs to %s: run tollgate-uploader as "
		    "%s, as the unit does (by hand: runuser -u %s -- tollgate-uploader --once); "
		    "files made there as root would keep the daemon out",
		    spool, pw->pw_name, pw->pw_name, pw->pw_name);
	else
		tg_error(
		    "running as root, but the spool %s belongs to uid %lu: run "
		    "tollgate-uploader as that user, as the unit does; files made there as root "
		    "would keep the daemon out",
		    spool, (unsigned long)st.st_uid);
	return 1;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: tollgate-uploader [-c FILE] [--once] [--foreground] [-v]\n"
	    "       tollgate-uploader [-c FILE] status\n"
	    "Ship recordings and events from the spool to S3 and announce events on Slack.\n"
	    "A file leaves the spool only after S3 (and, for events, Slack) confirmed it.\n\n"
	    "  -c, --config FILE  configuration (default " TG_CONFIG_DEFAULT_PATH ")\n"
	    "      --once         one pass over the spool, then exit: 0 when nothing is\n"
	    "                     left, 1 when something waits, 2 on a usage or config error\n"
	    "  -f, --foreground   stay in the foreground and log to stderr (to syslog under\n"
	    "                     systemd, where JOURNAL_STREAM is set; else: daemon, syslog)\n"
	    "  -v, --verbose      log debug messages too\n"
	    "  -h, --help         this text\n"
	    "  -V, --version      the version\n\n"
	    "status: queue lengths, the oldest waiting item, logins waiting for their recording "
	    "check, and the last error per destination (or why [s3] or [slack] is not usable: exit "
	    "2).\n"
	    "See tollgate-uploader(8) and doc/uploader.md.\n");
}

static unsigned backoff_max(const struct up_ctx *c)
{
	return (unsigned)tg_config_uint(c->cfg, TG_CONF_UPLOADER_BACKOFF_MAX);
}

static uint64_t done_count, done_total;

/* A job ended: account for it, and decide when to try again. */
static void job_done(struct up_ctx *c, enum up_queue q, const char *name,
                     const struct up_result *res)
{
	struct up_item *it = up_queue_find(&c->q[q], name);
	struct up_dest *d = &c->s3;
	uint64_t now = up_now_us(), wall = tg_now_us();

	if (it != NULL) {
		it->busy = 0;
		/* a job that found the file shows that an earlier worker which died had not
		 * removed it: only a death since then may explain the file going */
		if (!res->vanished && !res->not_started)
			it->worker_died = res->worker_died;
	}
	if (res->stopped)
		return; /* no error: the stop's rescan finds whether it removed the file */
	if (res->not_started) {
		/* batched after a file that killed its worker: not tried, so no attempt and no
		 * backoff (--once too takes it again) */
		if (it != NULL) {
			it->attempts -= it->attempts > 0;
			it->next_try_us = 0;
		}
		return;
	}
	/* counted on disk only now that its worker is seen dead: a worker the daemon's own kill -9
	 * took along is never counted, and a good file never set aside for it */
	if (res->crashed && it != NULL) {
		it->crashes = up_crashes_count(c, q, name, it->crashes);
	} else if (!res->crashed) {
		if (it != NULL)
			it->crashes = 0;
		up_crashes_clear(c, q, name);
	}
	if (res->vanished) {
		/* removed by someone else before the job read it: S3 never had it */
		up_queue_lost(c, q, name);
		up_queue_drop(&c->q[q], name);
		return;
	}
	if (res->rc == TG_OK) {
		/* with a progress bar the bar says it; the log keeps it at debug level */
		tg_log(c->progress ? LOG_DEBUG : LOG_INFO, "shipped %s (%llu bytes) to %s", name,
		       (unsigned long long)res->bytes, res->message);
		d->sent++;
		d->last_ok_us = wall;
		d->alerted[0] = '\0';
		up_queue_drop(&c->q[q], name);
		done_count++;
		if (c->progress)
			up_progress_draw(done_count, done_total, "uploaded");
		return;
	}
	if (res->local) {
		/* the spool's file failed us, not S3: status shows it as that */
		snprintf(c->read_error, sizeof(c->read_error), "%s", res->message);
		c->read_error_us = wall;
	} else {
		snprintf(d->last_error, sizeof(d->last_error), "%s", res->message);
		d->last_error_us = wall;
	}
	if (it == NULL)
		return;
	if (res->crashed && it->crashes >= UP_CRASHES_MAX) {
		/* each try kills its worker: set aside, so that it does not take the batches of
		 * the files behind it with it for ever; it stays in the spool */
		it->next_try_us = UINT64_MAX;
		up_alert(c, "upload_crashed", 1,
		         "the upload worker died %u times in a row while it shipped %s/%s: it is "
		         "set aside, kept in the spool and not tried again until the uploader "
		         "restarts; the other files go on",
		         it->crashes, c->q[q].dir, name);
		/* after the alert: a kill -9 in between raises it again, never loses it */
		up_crashes_clear(c, q, name);
		return;
	}
	if (res->retryable) {
		tg_warn("upload of %s failed, will retry: %s", name, res->message);
		it->next_try_us = now + up_backoff_us(it->attempts, backoff_max(c));
		return;
	}
	/* retrying cannot fix it (403, NoSuchBucket, bad config): keep the file, pause S3, alert
	 * once */
	d->paused_until_us = now + (uint64_t)backoff_max(c) * 1000000u;
	it->next_try_us = d->paused_until_us;
	{
		char cls[96];

		snprintf(cls, sizeof(cls), "%ld-%s-%d", res->http_status, res->code, res->rc);
		if (strcmp(cls, d->alerted) != 0) {
			snprintf(d->alerted, sizeof(d->alerted), "%s", cls);
			up_alert(c, "s3_error", 1,
			         "S3 refused %s: %s. Files stay in the spool; the uploader tries "
			         "again every %u s",
			         name, res->message, backoff_max(c));
		}
	}
}

static int start_jobs(struct up_ctx *c, enum up_queue q, up_job_fn fn)
{
	struct up_queue_state *qs = &c->q[q];
	uint64_t now = up_now_us(),
	         big = tg_config_uint(c->cfg, TG_CONF_UPLOADER_MULTIPART_THRESHOLD);
	unsigned big_busy = 0, big_max = up_jobs_max(c->jobs) > 1 ? up_jobs_max(c->jobs) - 1 : 1;
	size_t i, due = 0, per_job;
	int started = 0;

	if (c->s3.paused_until_us > now)
		return 0;
	for (i = 0; i < qs->n; i++) {
		struct up_item *it = &qs->items[i];

		big_busy += it->busy && it->size >= big;
		due += !it->busy && it->next_try_us <= now && !(c->once && it->attempts > 0);
	}
	/* spread the due files over the free workers, at most UP_JOB_BATCH per job */
	{
		size_t free_slots = up_jobs_max(c->jobs) - up_jobs_running(c->jobs);

		if (free_slots == 0 || due == 0)
			return 0;
		per_job = (due + free_slots - 1) / free_slots;
		if (per_job > UP_JOB_BATCH)
			per_job = UP_JOB_BATCH;
	}
	for (i = 0; i < qs->n && up_jobs_running(c->jobs) < up_jobs_max(c->jobs);) {
		const char *names[UP_JOB_BATCH];
		size_t idx[UP_JOB_BATCH], n = 0, k;

		for (; i < qs->n && n < per_job; i++) {
			struct up_item *it = &qs->items[i];

			if (it->busy || it->next_try_us > now || (c->once && it->attempts > 0))
				continue;
			if (it->size >= big) {
				/* a large recording is a job of its own, and never takes every
				 * worker: small ones (and events) keep moving */
				if (big_busy >= big_max || n > 0)
					continue;
				big_busy++;
				names[n] = it->name;
				idx[n++] = i++;
				break;
			}
			names[n] = it->name;
			idx[n++] = i;
		}
		if (n == 0)
			break;
		if (up_jobs_start(c, q, names, n, fn) != TG_OK) {
			tg_error("cannot start an upload job: %s", strerror(errno));
			break;
		}
		/* a fork copies qs: mark busy only now, in the parent */
		for (k = 0; k < n; k++) {
			qs->items[idx[k]].busy = 1;
			qs->items[idx[k]].attempts++;
		}
		started++;
	}
	return started;
}

static uint64_t next_due(const struct up_ctx *c, enum up_queue q)
{
	const struct up_queue_state *qs = &c->q[q];
	uint64_t due = UINT64_MAX;
	size_t i;

	for (i = 0; i < qs->n; i++)
		if (!qs->items[i].busy && qs->items[i].next_try_us < due &&
		    !(c->once && qs->items[i].attempts > 0))
			due = qs->items[i].next_try_us;
	if (due != UINT64_MAX && c->s3.paused_until_us > due)
		due = c->s3.paused_until_us;
	return due;
}

/* An event of the outboxes that is one of the uploader's own alerts. Such an alert waits like
 * any event, but is no news: counted, it raised upload_stuck, whose own event was stuck in
 * turn, one more alert every stuck_after for each alert raised, for as long as S3 was down. */
static int own_alert(const struct up_queue_state *q, const char *name)
{
	char path[PATH_MAX];
	json_t *ev = NULL;
	int yes;

	snprintf(path, sizeof(path), "%s/%s", q->dir, name);
	if (tg_event_read(path, &ev) != TG_OK)
		return 0;
	yes = strcmp(json_string_value(json_object_get(ev, "type")) ?: "", "alert") == 0;
	json_decref(ev);
	return yes;
}

/* What last kept an upload back, for upload_stuck: S3's last error, or the last local read
 * error of a spool file when that came later (a disk failing is not S3 failing). */
static const char *upload_error(const struct up_ctx *c, char *buf, size_t len)
{
	if (c->read_error[0] != '\0' && c->read_error_us >= c->s3.last_error_us) {
		snprintf(buf, len, "%s (a local read error, not S3's)", c->read_error);
		return buf;
	}
	return c->s3.last_error[0] ? c->s3.last_error : "none";
}

static void check_stuck(struct up_ctx *c)
{
	uint64_t now = tg_now_us(), /* first_seen_us is a file's time */
	    limit = tg_config_uint(c->cfg, TG_CONF_UPLOADER_STUCK_AFTER) * 1000000u;
	static const enum up_queue qs[] = {UP_Q_SESSIONS, UP_Q_S3, UP_Q_NOTIFY};
	char upload_err[UP_ERR_MAX + 64];
	size_t k, i;

	for (k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		struct up_queue_state *q = &c->q[qs[k]];
		const char *oldest = NULL;
		uint64_t oldest_us = 0;
		unsigned fresh = 0;

		for (i = 0; i < q->n; i++) {
			struct up_item *it = &q->items[i];

			/* an mtime ahead of the clock (written before the wall clock was set back):
			 * the wait counts from now, not from when the clock catches up */
			if (it->first_seen_us > now)
				it->first_seen_us = now;
			if (it->stuck_alerted || now < it->first_seen_us + limit)
				continue;
			it->stuck_alerted = 1;
			if (qs[k] != UP_Q_SESSIONS && own_alert(q, it->name))
				continue;
			if (fresh++ == 0 || it->first_seen_us < oldest_us) {
				oldest = it->name;
				oldest_us = it->first_seen_us;
			}
		}
		if (fresh == 0)
			continue;
		/* one alert for a batch: a long outage must not become a thousand messages */
		up_alert(c, "upload_stuck", qs[k] != UP_Q_NOTIFY,
		         "%u item(s) in %s waiting longer than %llu s; oldest %s (%llu s); last "
		         "error: %s",
		         fresh, q->dir + strlen(c->spool) + 1,
		         tg_config_uint(c->cfg, TG_CONF_UPLOADER_STUCK_AFTER), oldest,
		         (unsigned long long)((now - oldest_us) / 1000000u),
		         qs[k] == UP_Q_NOTIFY
		             ? (c->slack_dest.last_error[0] ? c->slack_dest.last_error : "none")
		             : upload_error(c, upload_err, sizeof(upload_err)));
	}
}

static void check_spool_size(struct up_ctx *c)
{
	uint64_t max = tg_config_uint(c->cfg, TG_CONF_UPLOADER_SPOOL_MAX_BYTES);
	uint64_t pct = tg_config_uint(c->cfg, TG_CONF_UPLOADER_SPOOL_ALERT_PERCENT);
	uint64_t alert_at = max / 100 * pct, left_at;
	char where[PATH_MAX];
	int level;

	/* a part that cannot be read is counted as nothing (none of ours is there: recorders and
	 * this daemon write where they read), and said once while it lasts, unless a queue's
	 * folder that cannot be listed already said it (rescan) */
	if (up_spool_bytes(c, &c->spool_bytes, where, sizeof(where)) != TG_OK) {
		/* noted only once said: a folder said by the rescan, then made readable, may
		 * leave another that this alone says */
		if (!c->spool_unreadable && !c->scan_alerted) {
			up_alert(c, "spool_unreadable", 1,
			         "%s cannot be read (%s): the spool's size is measured against "
			         "spool_max_bytes without it",
			         where, strerror(errno));
			c->spool_unreadable = 1;
		}
	} else {
		c->spool_unreadable = 0;
	}
	level = c->spool_bytes >= max ? 2 : c->spool_bytes >= alert_at ? 1 : 0;
	/* a level is left only 10% below its threshold: a spool hovering at it, as files
	 * come and go, raises its alert once, not at every crossing */
	left_at = c->spool_alert_level == 2 ? max : alert_at;
	if (level < c->spool_alert_level && c->spool_bytes >= left_at - left_at / 10)
		level = c->spool_alert_level;
	if (level > c->spool_alert_level)
		up_alert(c, level == 2 ? "spool_full" : "spool_filling", 1,
		         "the spool holds %llu MiB, %llu%% of spool_max_bytes (%llu MiB)%s",
		         (unsigned long long)(c->spool_bytes >> 20),
		         (unsigned long long)(c->spool_bytes * 100 / (max ? max : 1)),
		         (unsigned long long)(max >> 20),
		         level == 2 ? ": new recordings may be refused" : "");
	c->spool_alert_level = level;
}

/* Drop the markers of logins with no logout UP_LIVE_KEEP_DAYS after them (their logout was
 * lost), and the notes of logouts fanned out before their login older than ended_limit (as
 * join records go: that login waits no more); returns the folder of those left, open (-1 when
 * it cannot be opened: every join record then goes by its age alone, as it would without the
 * markers). */
static int prune_live(struct up_ctx *c, time_t ended_limit)
{
	time_t limit = time(NULL) - UP_LIVE_KEEP_DAYS * 86400;
	char dir[PATH_MAX];
	struct dirent *de;
	int fd;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/" UP_LIVE_DIR, c->state_dir);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if ((d = opendir(dir)) == NULL)
		return fd; /* the markers are kept a while longer */
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (tg_spool_has_suffix(de->d_name, UP_LIVE_ENDED)) {
			if (S_ISREG(st.st_mode) && st.st_mtime < ended_limit)
				unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (S_ISREG(st.st_mode) && st.st_mtime < limit) {
			tg_warn("login %s has had no logout for %d days: taken for ended (its "
			        "logout lost), its join record kept no longer",
			        de->d_name, UP_LIVE_KEEP_DAYS);
			unlinkat(dirfd(d), de->d_name, 0);
		}
	}
	closedir(d);
	return fd;
}

/* Drop join records of sessions long gone: older than UP_STATE_KEEP_DAYS (a logout refreshes
 * its session's), and older than the oldest event still waiting by a day (a logout kept
 * through a long Slack outage still finds its recording: its join record was written when the
 * recording was read, which is after the session ended). The join record of a login not
 * logged out yet is kept (state/live/), UP_LIVE_KEEP_DAYS at most. */
/* The notes of logouts alerted on whose message is gone (removed by a daemon killed before it
 * removed the note too); one held while webhook_url is unusable is not gone. */
static void prune_alerted(struct up_ctx *c)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/" UP_ALERTED_DIR, c->state_dir);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->q[UP_Q_NOTIFY].dir, de->d_name);
		if (access(path, F_OK) == 0 || errno != ENOENT)
			continue;
		snprintf(path, sizeof(path), "%s/" UP_SLACK_HELD "/%s", c->state_dir, de->d_name);
		if (access(path, F_OK) != 0 && errno == ENOENT)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

static void prune_state(struct up_ctx *c)
{
	static const int waiting[] = {UP_Q_EVENTS, UP_Q_NOTIFY};
	char dir[PATH_MAX];
	time_t limit = time(NULL) - UP_STATE_KEEP_DAYS * 86400;
	struct dirent *de;
	int live_fd;
	size_t i;
	DIR *d;

	for (i = 0; i < sizeof(waiting) / sizeof(waiting[0]); i++) {
		const struct up_queue_state *qs = &c->q[waiting[i]];
		uint64_t us;

		if (qs->n == 0) /* sorted by name, which starts with the event's time */
			continue;
		us = up_event_name_us(qs->items[0].name); /* 0 (keep all) for a stray name */
		if ((time_t)(us / 1000000) - 86400 < limit)
			limit = (time_t)(us / 1000000) - 86400;
	}

	prune_alerted(c);
	up_crashes_prune(c);
	up_multipart_prune(c);
	live_fd = prune_live(c, limit);
	snprintf(dir, sizeof(dir), "%s/sessions", c->state_dir);
	if ((d = opendir(dir)) == NULL)
		goto out;
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (!S_ISREG(st.st_mode) || st.st_mtime >= limit)
			continue;
		/* a login still open: an ssh ControlMaster connection lives for weeks */
		if (live_fd >= 0 && fstatat(live_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
out:
	if (live_fd >= 0)
		close(live_fd);
}

/* List every queue's folder. One that cannot be listed holds back only its own files: the
 * others go on, and it is alerted once (until a rescan lists every folder again). */
static int rescan(struct up_ctx *c)
{
	int q, r, err, failed = TG_OK;

	up_alerts_write_kept(c); /* events/ is scanned next */
	for (q = 0; q < UP_Q_COUNT; q++) {
		if ((r = up_queue_scan(c, q)) == TG_OK)
			continue;
		failed = r;
		err = errno;
		tg_error("scan %s: %s (%s)", c->q[q].dir, tg_strerror(r), strerror(err));
		if (!c->scan_alerted)
			up_alert(
			    c, "spool_unreadable", 1,
			    "%s cannot be listed (%s): its files stay in the spool until it can",
			    c->q[q].dir, strerror(err));
		c->scan_alerted = 1;
	}
	if (failed == TG_OK)
		c->scan_alerted = 0;
	return failed;
}

/* Events fan-out can still move (an unreadable one waits for a person, alerted). */
static size_t events_pending(const struct up_ctx *c)
{
	size_t i, n = 0;

	for (i = 0; i < c->q[UP_Q_EVENTS].n; i++)
		n += !c->q[UP_Q_EVENTS].items[i].stuck_alerted;
	return n;
}

/* Events the fan-out goes on with now (not one waiting for its retry after a failed copy). */
static int events_due(const struct up_ctx *c, uint64_t now)
{
	size_t i;

	for (i = 0; i < c->q[UP_Q_EVENTS].n; i++)
		if (!c->q[UP_Q_EVENTS].items[i].stuck_alerted &&
		    c->q[UP_Q_EVENTS].items[i].next_try_us <= now)
			return 1;
	return 0;
}

static int lock_spool(struct up_ctx *c)
{
	char path[PATH_MAX];
	/* a killed uploader's jobs die with it (PR_SET_PDEATHSIG): wait for them a little. The
	 * daemon longer (restarted at once after a kill -9, a worker may still be in a write);
	 * --once, run by a person or a timer, mostly finds the daemon at work, and says so */
	int fd, i, tries = c->once ? 20 : 300;

	snprintf(path, sizeof(path), "%s/lock", c->state_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640)) < 0) {
		tg_error("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < tries; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd; /* held until exit; jobs inherit it */
		if (errno != EWOULDBLOCK)
			break;
		usleep(100000);
	}
	tg_error("another tollgate-uploader works on %s (%s is locked)", c->spool, path);
	close(fd);
	return -1;
}

static int setup(struct up_ctx *c)
{
	const char *url = tg_config_str(c->cfg, TG_CONF_SLACK_WEBHOOK_URL);
	const char *hn = tg_config_str(c->cfg, TG_CONF_GENERAL_HOSTNAME);
	char err[256];
	int r;

	c->inotify_fd = -1;
	snprintf(c->spool, sizeof(c->spool), "%s",
	         tg_config_str(c->cfg, TG_CONF_GENERAL_SPOOL_DIR));
	snprintf(c->bucket, sizeof(c->bucket), "%s", tg_config_str(c->cfg, TG_CONF_S3_BUCKET));
	if (tg_config_hostname(hn, c->host, sizeof(c->host)) != TG_OK) {
		tg_warn("the host's name (gethostname) is empty, unreadable, or not UTF-8 text "
		        "without control characters: events say \"unknown\"");
		snprintf(c->host, sizeof(c->host), "unknown");
	}
	if (tg_key_load_public(tg_config_str(c->cfg, TG_CONF_RECORDER_PUBLIC_KEY), c->host_pk) ==
	    TG_OK)
		c->have_host_pk = 1;
	else
		tg_info("no host public key at %s: recordings are checked, but not against the "
		        "host key",
		        tg_config_str(c->cfg, TG_CONF_RECORDER_PUBLIC_KEY));
	if ((r = up_spool_prepare(c)) != TG_OK) {
		tg_error("cannot prepare the spool %s: %s (%s)", c->spool, tg_strerror(r),
		         strerror(errno));
		return r;
	}
	up_status_load(c);
	if (*url != '\0') {
		r = slack_new(&c->slack, url, tg_config_str(c->cfg, TG_CONF_SLACK_CA_FILE),
		              (unsigned)tg_config_uint(c->cfg, TG_CONF_SLACK_MIN_INTERVAL_MS));
		if (r == TG_ERR_NOMEM)
			return r;
		if (r != TG_OK) {
			/* the URL is a secret: say what is wrong without it. Keep running: exiting
			 * stopped the uploads too, and the unit restarted it every 5 s for ever */
			tg_error("[slack] webhook_url is not usable (%s): " SLACK_URL_RULE,
			         tg_strerror(r));
			c->slack_unusable = 1;
			up_alert(c, "slack_error", 0,
			         "[slack] webhook_url is not usable: " SLACK_URL_RULE
			         "; no message can be posted, they are kept until it is fixed and "
			         "the uploader restarted");
		}
	}
	if (c->slack != NULL) {
		slack_keep_state(c->slack, c->state_dir);
		/* keep running: S3 goes on, the messages wait; the alert reaches S3 and syslog */
		if (slack_check(url, tg_config_str(c->cfg, TG_CONF_SLACK_CA_FILE), err,
		                sizeof(err)) != TG_OK) {
			tg_error("the [slack] configuration is not usable: %s", err);
			up_alert(c, "slack_error", 0,
			         "the [slack] configuration is not usable: %s; no message can be "
			         "posted, they are kept",
			         err);
		}
	}
	if ((r = up_s3_check(c->cfg, err, sizeof(err))) != TG_OK) {
		/* keep running: files stay, the alert goes to Slack and syslog */
		tg_error("the [s3] configuration is not usable: %s", err);
		c->config_alerted = 1;
		up_alert(c, "s3_config", 1,
		         "the [s3] configuration is not usable: %s; nothing is uploaded", err);
	}
	return up_jobs_new(&c->jobs, (unsigned)tg_config_uint(c->cfg, TG_CONF_UPLOADER_WORKERS));
}

static int run(struct up_ctx *c)
{
	uint64_t rescan_every = tg_config_uint(c->cfg, TG_CONF_UPLOADER_RESCAN_INTERVAL) * 1000000u;
	uint64_t rescan_at = 0, size_at = 0, stop_at;
	sigset_t none;
	int dirty = 1, r = -1;

	sigemptyset(&none);
	if (up_watch_start(c) != TG_OK)
		tg_warn("inotify is not available (%s): rescanning every %llu s", strerror(errno),
		        tg_config_uint(c->cfg, TG_CONF_UPLOADER_RESCAN_INTERVAL));
	while (!got_stop) {
		uint64_t now = up_now_us(), wake = UINT64_MAX, due, fanout_wake = UINT64_MAX;
		struct pollfd pfd[2];
		struct timespec ts;
		int npfd = 0, steps;

		if (dirty || got_hup || now >= rescan_at) {
			got_hup = 0;
			if (now >= rescan_at) {
				check_credentials_file(c);
				up_spool_remake_state(c);
				up_recover_orphans(c);
			}
			/* the daemon goes on with the folders it can list; one pass says it, and
			 * ends as at a stop: the jobs' results read, the last status written */
			if (rescan(c) != TG_OK && c->once) {
				r = EXIT_USAGE;
				break;
			}
			if (now >= rescan_at) {
				prune_state(c);
				up_spool_clean_stale_tmp(c);
				rescan_at = now + rescan_every;
			}
			if (c->progress && done_total == 0)
				done_total =
				    c->q[UP_Q_SESSIONS].n + c->q[UP_Q_EVENTS].n + c->q[UP_Q_S3].n;
			dirty = 0;
		}
		/* every 5 s, not only at rescans: inotify makes those rare, and the alert must
		 * come well before the cap */
		if (now >= size_at) {
			check_spool_size(c);
			size_at = now + 5000000u;
		}
		/* the outbox files the fan-out wrote: inotify reports them, or else list them */
		if (c->q[UP_Q_EVENTS].n > 0 && up_events_fanout(c, &fanout_wake) > 0 &&
		    c->inotify_fd < 0) {
			up_queue_scan(c, UP_Q_S3);
			up_queue_scan(c, UP_Q_NOTIFY);
		}
		/* not between two slices of a fan-out: the logout, or the recorder's refusal, of a
		 * due login may be in the next one */
		if (now >= c->open_check_us && !events_due(c, now)) {
			uint64_t w = UINT64_MAX;

			up_open_logins_check(c, &w);
		}
		if (now >= c->burst_check_us) {
			uint64_t w = UINT64_MAX;

			if (up_alert_bursts_release(c, 0, &w) > 0 && c->inotify_fd < 0)
				up_queue_scan(c, UP_Q_EVENTS);
		}
		up_jobs_reap(c, job_done);
		/* a stop that came while the daemon worked (its signals wait for ppoll) starts
		 * nothing more: systemd's SIGTERM reaches the workers too, and a worker it ended
		 * is reaped above as not started, due again at once */
		take_pending_signals();
		if (got_stop)
			break;
		start_jobs(c, UP_Q_SESSIONS, up_session_ship);
		start_jobs(c, UP_Q_S3, up_event_ship);
		for (steps = 0; steps < 1000 && !got_stop; steps++) {
			uint64_t w = UINT64_MAX;

			/* --once posts without a wait between posts (min_interval_ms = 0): Ctrl-C
			 * is seen after the post under way, not after a thousand */
			if (up_notify_step(c, &w) > 0) {
				take_pending_signals();
				continue;
			}
			if (w != UINT64_MAX && c->once) {
				/* one pass still waits for the rate limit and for recordings being
				 * read, not for outages or grace periods */
				uint64_t t = up_now_us();

				if (!(w <= t + 2000000u && c->q[UP_Q_NOTIFY].n > 0 &&
				      c->q[UP_Q_NOTIFY].items[0].attempts == 0))
					w = UINT64_MAX;
			}
			if (w < wake)
				wake = w;
			break;
		}
		check_stuck(c);
		up_status_write(c, 0);
		if (c->once && up_jobs_running(c->jobs) == 0 && events_pending(c) == 0 &&
		    next_due(c, UP_Q_SESSIONS) > up_now_us() &&
		    next_due(c, UP_Q_S3) > up_now_us() && wake == UINT64_MAX) {
			/* the pass is over when nothing new can start; the jobs' own alerts still
			 * go out */
			uint64_t before = up_backlog(c), w = UINT64_MAX;

			/* the windows' counts go out now, not at the next run */
			if (up_alert_bursts_release(c, 1, &w) > 0) {
				up_queue_scan(c, UP_Q_EVENTS);
				continue;
			}
			if (rescan(c) != TG_OK) {
				r = EXIT_USAGE;
				break;
			}
			if (up_backlog(c) <= before && events_pending(c) == 0)
				break;
			continue;
		}
		/*
		 * A due item start_jobs() left waiting (every worker busy, or the large
		 * ones' share taken) waits for a job's end, which wakes us through its
		 * pipe: it must not make the wait zero.
		 */
		now = up_now_us();
		if ((due = next_due(c, UP_Q_SESSIONS)) <= now)
			due = now + 1000000u;
		if (due < wake)
			wake = due;
		if ((due = next_due(c, UP_Q_S3)) <= now)
			due = now + 1000000u;
		if (due < wake)
			wake = due;
		if (rescan_at < wake)
			wake = rescan_at;
		if (fanout_wake < wake)
			wake = fanout_wake; /* an event whose fan-out failed, tried again then */
		if (size_at < wake)
			wake = size_at;
		if (!c->once && c->open_check_us < wake)
			wake = c->open_check_us; /* a login due for its recording check */
		if (!c->once && c->burst_check_us < wake)
			wake = c->burst_check_us; /* an alert window's end */
		/* status.json is rewritten at most once a second: a change it missed is
		 * written then, not at the next rescan */
		if (up_backlog(c) != c->status_backlog && c->last_status_us + 1000000u < wake)
			wake = c->last_status_us + 1000000u;
		if (wake > now + 1000000u && up_jobs_running(c->jobs) > 0)
			wake = now + 1000000u; /* a job that died without a word is noticed within a
			                          second */
		wake = wake > now ? wake - now : 0;
		ts.tv_sec = (time_t)(wake / 1000000u);
		ts.tv_nsec = (long)(wake % 1000000u) * 1000;
		if (c->inotify_fd >= 0) {
			pfd[npfd].fd = c->inotify_fd;
			pfd[npfd++].events = POLLIN;
		}
		if (up_jobs_fd(c->jobs) >= 0) {
			pfd[npfd].fd = up_jobs_fd(c->jobs);
			pfd[npfd++].events = POLLIN;
		}
		if (ppoll(pfd, (nfds_t)npfd, &ts, &none) > 0) {
			take_pending_signals();
			if (up_watch_drain(c))
				dirty = 1;
		}
	}
	/* a Slack post under way is seen to its end, for a few seconds: stopped in the
	 * middle, its message could be posted again by the next uploader. A webhook that
	 * does not answer by then may never: the message stays queued, posted again at the
	 * next start (at least once, as after a kill -9). Well inside the unit's
	 * TimeoutStopSec (30 s, the post's own timeout), so that systemd never kills the
	 * daemon before it wrote its last status and took its jobs' results */
	stop_at = up_now_us() + SLACK_WAIT_MAX_US;
	while (c->slack != NULL && slack_post_busy(c->slack)) {
		uint64_t w = UINT64_MAX;

		if (up_now_us() >= stop_at) {
			tg_warn(
			    "stopping: Slack has not answered the post of %s in %u s: it is left "
			    "in the Slack queue and posted again at the next start (it may show "
			    "twice)",
			    c->notify_inflight, SLACK_WAIT_MAX_US / 1000000u);
			slack_post_cancel(c->slack);
			break;
		}
		if (up_notify_step(c, &w) == 0 && slack_post_busy(c->slack))
			slack_post_wait(c->slack, 50);
	}
	up_jobs_stop(c->jobs);
	/* what the jobs said before they were stopped */
	up_jobs_reap(c, job_done);
	/* before the last status: a file a stopped worker removed (S3 had it) counts as sent */
	rescan(c);
	up_status_write(c, 1);
	if (c->progress)
		up_progress_end();
	if (r >= 0)
		return r;
	return up_backlog(c) == 0 ? EXIT_SUCCESS : EXIT_LEFT;
}

static int daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(EXIT_SUCCESS);
	if (setsid() < 0)
		return -1;
	if (chdir("/") != 0)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"once", no_argument, NULL, 'o'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = TG_CONFIG_DEFAULT_PATH;
	struct up_ctx ctx;
	struct sigaction sa;
	sigset_t block;
	char err[512];
	int opt, foreground = 0, verbose = 0, r, lockfd, status = 0, eight_bit;

	memset(&ctx, 0, sizeof(ctx));
	while ((opt = getopt_long(argc, argv, "c:fvhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'o':
			ctx.once = 1;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("tollgate-uploader %s\n", PACKAGE_VERSION);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind], "status") != 0 || optind + 1 != argc) {
			usage(stderr);
			return EXIT_USAGE;
		}
		status = 1;
	}
	if (ctx.once || status)
		foreground = 1;
	/* under systemd (JOURNAL_STREAM) syslog keeps the priorities that plain stderr would lose
	 */
	tg_log_init("tollgate-uploader",
	            foreground && (status || ctx.once || getenv("JOURNAL_STREAM") == NULL)
	                ? TG_LOG_STDERR
	                : TG_LOG_SYSLOG,
	            LOG_DAEMON);
	if (verbose)
		tg_log_set_level(LOG_DEBUG);
	/* the terminal's charset is the locale's; the uploader itself keeps the C locale */
	eight_bit = tg_locale_8bit();
	up_status_set_8bit(eight_bit);
	tg_log_set_ascii(eight_bit && isatty(STDERR_FILENO));
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		tg_error("cannot initialise libsodium or libcurl");
		return EXIT_USAGE;
	}
	if ((r = tg_config_new(&ctx.cfg)) != TG_OK ||
	    (r = tg_config_load(ctx.cfg, config, TG_CONFIG_OWNER_SELF, err, sizeof(err))) !=
	        TG_OK) {
		tg_error("%s", r == TG_ERR_NOMEM ? tg_strerror(r) : err);
		tg_config_free(ctx.cfg);
		return EXIT_USAGE;
	}
	ctx.config_path = config;
	if (status) {
		r = up_status_main(ctx.cfg, isatty(STDOUT_FILENO));
		tg_config_free(ctx.cfg);
		return r;
	}
	if (refused_root_on_foreign_spool(tg_config_str(ctx.cfg, TG_CONF_GENERAL_SPOOL_DIR))) {
		tg_config_free(ctx.cfg);
		curl_global_cleanup();
		return EXIT_USAGE;
	}
	/* the start's alerts (an unusable [s3] or [slack] section) wait for the spool's lock: an
	 * uploader that finds another holding it (a timer's --once beside the daemon) must not
	 * add them again at every run */
	ctx.alerts_deferred = 1;
	if (setup(&ctx) != TG_OK) {
		r = EXIT_USAGE;
		goto out;
	}
	if ((lockfd = lock_spool(&ctx)) < 0) {
		r = EXIT_USAGE;
		goto out;
	}
	ctx.alerts_deferred = 0;
	up_alerts_write_kept(&ctx);
	if (ctx.slack != NULL)
		(void)up_slack_unhold(&ctx);
	up_spool_clean_tmp(&ctx);
	/* an upgrade from an uploader that kept no live/: made before a login is fanned out */
	up_live_adopt(&ctx);
	if (!foreground && daemonize() != 0) {
		tg_error("cannot become a daemon: %s", strerror(errno));
		r = EXIT_USAGE;
		goto out;
	}
	ctx.progress = ctx.once && isatty(STDERR_FILENO);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* signals arrive only inside ppoll(): no race between a check and the wait */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, NULL);
	if (geteuid() == 0)
		tg_notice(
		    "running as root: the spool and S3 need no root, run it as %s (the unit does)",
		    TG_AUDIT_USER);
	tg_info("started: spool %s, bucket %s, Slack %s, %u workers", ctx.spool, ctx.bucket,
	        ctx.slack ? "on" : "off", up_jobs_max(ctx.jobs));
	check_config_secrets(&ctx);
	r = run(&ctx);
	/* messages held for a fixed webhook_url wait too */
	if (r == EXIT_SUCCESS && ctx.slack_unusable && up_slack_held(&ctx))
		r = EXIT_LEFT;
	if (ctx.open_alerts_unwritten > 0 && r == EXIT_SUCCESS)
		r = EXIT_LEFT; /* a login's alert the spool would not take: its marker waits */
	/* still under the lock: what the spool would not take till now, once more */
	up_alerts_write_kept(&ctx);
	if (ctx.alerts_kept != NULL && json_array_size(ctx.alerts_kept) > 0) {
		tg_error("%zu alert%s the spool could not take: in this log only",
		         json_array_size(ctx.alerts_kept),
		         json_array_size(ctx.alerts_kept) == 1 ? "" : "s");
		if (r == EXIT_SUCCESS)
			r = EXIT_LEFT;
	}
	tg_info("stopped (%s)", r == EXIT_SUCCESS ? "nothing left" : "items wait in the spool");
	/* what waits is the next start's: a daemon's stop is a normal end, which systemd would
	 * otherwise count as the unit's failure; only --once says 1 */
	if (!ctx.once && r == EXIT_LEFT)
		r = EXIT_SUCCESS;
	close(lockfd);
out:
	json_decref(ctx.alerts_kept);
	up_jobs_free(ctx.jobs);
	slack_free(ctx.slack);
	up_queues_free(&ctx);
	if (ctx.inotify_fd > 0)
		close(ctx.inotify_fd);
	tg_config_free(ctx.cfg);
	curl_global_cleanup();
	return r;
}
