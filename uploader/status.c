/*
 * What the uploader is doing, for people: the daemon writes
 * state/status.json (last error and last success per destination, the
 * backlog), and `tollgate-uploader status` reads it next to the spool's own
 * folders, so it answers even when the daemon is not running.
 */
#include "uploader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rec_spool.h"
#include "tg_error.h"
#include "tg_event.h"
#include "tg_log.h"
#include "tg_rec.h"
#include "tg_s3.h"
#include "tg_spool.h"
#include "tg_utf8.h"

static json_t *dest_json(const struct up_dest *d, uint64_t now)
{
	/* status.json has wall times; the pause is on up_now_us()'s clock */
	uint64_t paused = d->paused_until_us > now ? tg_now_us() + (d->paused_until_us - now) : 0;

	return json_pack("{s:o, s:I, s:I, s:I, s:I, s:I}", "last_error",
	                 up_json_string(d->last_error), "last_error_us",
	                 (json_int_t)d->last_error_us, "last_ok_us", (json_int_t)d->last_ok_us,
	                 "sent", (json_int_t)d->sent, "lost", (json_int_t)d->lost,
	                 "paused_until_us", (json_int_t)paused);
}

static void dest_load(struct up_dest *d, const json_t *j)
{
	const char *err = json_string_value(json_object_get(j, "last_error"));

	if (!json_is_object(j))
		return;
	snprintf(d->last_error, sizeof(d->last_error), "%s", err != NULL ? err : "");
	d->last_error_us = (uint64_t)json_integer_value(json_object_get(j, "last_error_us"));
	d->last_ok_us = (uint64_t)json_integer_value(json_object_get(j, "last_ok_us"));
	d->sent = (uint64_t)json_integer_value(json_object_get(j, "sent"));
	d->lost = (uint64_t)json_integer_value(json_object_get(j, "lost"));
}

/*
 * status.json as the daemon wrote it, or NULL: why is empty when there is
 * none (no daemon ran yet), else says why it cannot be read or parsed.
 */
static json_t *status_read(const char *path, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *st;
	FILE *f;

	why[0] = '\0';
	if ((f = fopen(path, "re")) == NULL) {
		if (errno != ENOENT)
			snprintf(why, whylen, "%s", strerror(errno));
		return NULL;
	}
	st = json_loadf(f, 0, &jerr);
	fclose(f);
	if (st == NULL) {
		snprintf(why, whylen, "%s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
	} else if (!json_is_object(st)) {
		snprintf(why, whylen, "not a JSON object");
		json_decref(st);
		st = NULL;
	}
	return st;
}

/* The last local read error of a spool file: {"last_error", "last_error_us"} as a
 * destination's, apart from S3's (the file failed, not S3). */
static json_t *read_error_json(const struct up_ctx *c)
{
	return json_pack("{s:o, s:I}", "last_error", up_json_string(c->read_error), "last_error_us",
	                 (json_int_t)c->read_error_us);
}

static void read_error_load(struct up_ctx *c, const json_t *j)
{
	const char *err = json_string_value(json_object_get(j, "last_error"));

	if (err == NULL)
		return;
	snprintf(c->read_error, sizeof(c->read_error), "%s", err);
	c->read_error_us = (uint64_t)json_integer_value(json_object_get(j, "last_error_us"));
}

void up_status_load(struct up_ctx *c)
{
	char path[PATH_MAX], why[256];
	json_t *st;

	snprintf(path, sizeof(path), "%s/status.json", c->state_dir);
	if ((st = status_read(path, why, sizeof(why))) == NULL) {
		/* none: a first start; else the counts a restart keeps are gone, say so */
		if (*why != '\0')
			tg_warn(
			    "%s cannot be read (%s): the sent and lost counts start again from 0",
			    path, why);
		return;
	}
	dest_load(&c->s3, json_object_get(st, "s3"));
	dest_load(&c->slack_dest, json_object_get(st, "slack"));
	read_error_load(c, json_object_get(st, "spool_read"));
	json_decref(st);
}

uint64_t up_backlog(const struct up_ctx *c)
{
	return c->q[UP_Q_SESSIONS].n + c->q[UP_Q_EVENTS].n + c->q[UP_Q_S3].n + c->q[UP_Q_NOTIFY].n;
}

void up_status_write(struct up_ctx *c, int force)
{
	uint64_t now = up_now_us(), backlog;
	json_t *st;
	char *text;

	backlog = up_backlog(c);
	/* the peak of the current backlog; it starts over once the spool is empty */
	if (backlog == 0)
		c->backlog_peak = 0;
	else if (backlog > c->backlog_peak)
		c->backlog_peak = backlog;
	if (!force && now < c->last_status_us + 1000000u)
		return;
	c->last_status_us = now;
	c->status_backlog = backlog;
	st = json_pack("{s:i, s:I, s:o, s:o, s:I, s:I, s:I}", "pid", (int)getpid(), "updated_us",
	               (json_int_t)tg_now_us(), "s3", dest_json(&c->s3, now), "slack",
	               dest_json(&c->slack_dest, now), "spool_bytes", (json_int_t)c->spool_bytes,
	               "backlog_peak", (json_int_t)c->backlog_peak, "backlog", (json_int_t)backlog);
	if (st == NULL)
		return;
	json_object_set_new(st, "slack_configured", json_boolean(c->slack != NULL));
	json_object_set_new(st, "spool_read", read_error_json(c));
	if ((text = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS)) != NULL) {
		/* not fsync'ed on purpose: it is a view, rewritten every second */
		char tmp[PATH_MAX], path[PATH_MAX];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s/.status.json.tmp", c->state_dir);
		snprintf(path, sizeof(path), "%s/status.json", c->state_dir);
		if ((f = fopen(tmp, "we")) != NULL) {
			int ok = fputs(text, f) >= 0;

			if (fclose(f) == 0 && ok)
				rename(tmp, path);
		}
		free(text);
	}
	json_decref(st);
}

static int bar_drawn;
static int term_8bit;

void up_status_set_8bit(int eight_bit)
{
	term_8bit = eight_bit;
}

/* whether text for f must be ASCII: an 8-bit terminal takes a character's UTF-8 bytes for
 * Latin-1 text and C1 controls (C3 9B: a CSI) */
static int ascii(FILE *f)
{
	return term_8bit && isatty(fileno(f));
}

void up_progress_draw(uint64_t done, uint64_t total, const char *what)
{
	char bar[41], cut[41], safe[4 * sizeof(cut)];
	unsigned fill, i;

	if (total == 0)
		return;
	if (done > total)
		done = total;
	fill = (unsigned)(done * 40 / total);
	for (i = 0; i < 40; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[40] = '\0';
	/* what may be a file name of the spool, anyone's choice: its escape sequences would set
	 * the terminal's title or clear its screen */
	snprintf(cut, sizeof(cut), "%s", what);
	tg_text_safe_to_mode(safe, cut, ascii(stderr));
	fprintf(stderr, "\r[%s] %3u%% %llu/%llu %s\033[K", bar, (unsigned)(done * 100 / total),
	        (unsigned long long)done, (unsigned long long)total, safe);
	fflush(stderr);
	bar_drawn = 1;
}

void up_progress_end(void)
{
	if (bar_drawn)
		fputc('\n', stderr);
	bar_drawn = 0;
}

struct qinfo {
	unsigned long count;
	uint64_t bytes;
	char oldest[UP_NAME_MAX];
	time_t oldest_mtime;
};

/*
 * Whether the file name in folder d counts (*st filled): a regular file not starting with '.';
 * with orphans, a recording in active/ whose recorder died (crash, kill -9, power loss: the lock
 * it holds for its lifetime is gone), which waits for the daemon to hand it over at its next
 * rescan, and without a daemon never leaves.
 */
static int counts(DIR *d, const char *name, int orphans, struct stat *st)
{
	int fd, dead;

	/* a dot-file is work in progress (a recording with no whole header yet) */
	if (name[0] == '.')
		return 0;
	if (!orphans)
		return fstatat(dirfd(d), name, st, AT_SYMLINK_NOFOLLOW) == 0 &&
		       S_ISREG(st->st_mode);
	if (!tg_spool_has_suffix(name, TG_REC_EXT) ||
	    (fd = openat(dirfd(d), name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return 0;
	/* shared and at once: a live recorder's exclusive lock refuses it */
	dead = fstat(fd, st) == 0 && S_ISREG(st->st_mode) && flock(fd, LOCK_SH | LOCK_NB) == 0;
	close(fd);
	return dead;
}

/* The files of dir that count (above): how many, their bytes, the oldest. 0, or -1 with errno
 * when the folder cannot be listed. */
static int scan_dir(const char *dir, int orphans, struct qinfo *qi)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	memset(qi, 0, sizeof(*qi));
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (!counts(d, de->d_name, orphans, &st))
			continue;
		qi->count++;
		qi->bytes += (uint64_t)st.st_size;
		if (qi->oldest[0] == '\0' || st.st_mtime < qi->oldest_mtime) {
			qi->oldest_mtime = st.st_mtime;
			snprintf(qi->oldest, sizeof(qi->oldest), "%s", de->d_name);
		}
	}
	closedir(d);
	return 0;
}

/* "(Ns<ago>)" for a time then_us before now_us; a later one (written before the wall clock was
 * set back, an NTP step) gets no negative or wrapped count of seconds. */
static void age_text(char *out, size_t len, int64_t then_us, int64_t now_us, const char *ago)
{
	if (then_us > now_us)
		snprintf(out, len, "(in %llus: later than this host's clock)",
		         (unsigned long long)((then_us - now_us) / 1000000));
	else
		snprintf(out, len, "(%llus%s)", (unsigned long long)((now_us - then_us) / 1000000),
		         ago);
}

static void print_when(const char *label, json_int_t us)
{
	char when[40], age[80];

	if (us <= 0) {
		printf("  %-14s never\n", label);
		return;
	}
	tg_time_format((uint64_t)us, when, sizeof(when));
	age_text(age, sizeof(age), us, (int64_t)tg_now_us(), " ago");
	printf("  %-14s %s %s\n", label, when, age);
}

/* running: a daemon holds the spool; a pause is its own, and ends with it */
/* unusable: why the daemon could not use the configured destination, or NULL */
/* unread: why status.json, read from path, could not be read ("": it could, or there is none) */
static void print_dest(const char *name, const json_t *d, int configured, const char *unusable,
                       int running, const char *path, const char *unread)
{
	const char *err = json_string_value(json_object_get(d, "last_error"));

	if (unusable != NULL)
		printf("%s: not usable: %s\n", name, unusable);
	else
		printf("%s: %s\n", name, configured ? "configured" : "not configured");
	if (configured && *unread != '\0') {
		/* jansson quotes the text it stopped at */
		char *safe = tg_text_safe_mode(unread, ascii(stdout));

		printf("  status unknown: cannot read %s: %s\n", path, safe != NULL ? safe : "?");
		free(safe);
	}
	if (configured && d == NULL && *unread == '\0')
		printf("  %-14s none yet (no uploader has written its status)\n", "sent");
	if (!configured || d == NULL)
		return;
	printf("  %-14s %lld\n", "sent", (long long)json_integer_value(json_object_get(d, "sent")));
	/* apart from sent: files someone else removed from the outbox before they went */
	printf("  %-14s %lld (removed by someone else before they were sent)\n", "lost",
	       (long long)json_integer_value(json_object_get(d, "lost")));
	print_when("last success", json_integer_value(json_object_get(d, "last_ok_us")));
	if (err != NULL && *err != '\0') {
		/* S3's or Slack's own words: their control characters must not reach the
		 * terminal as escape sequences */
		char *safe = tg_text_safe_mode(err, ascii(stdout));

		printf("  %-14s %s\n", "last error", safe != NULL ? safe : "?");
		free(safe);
		print_when("  at", json_integer_value(json_object_get(d, "last_error_us")));
	} else {
		printf("  %-14s none\n", "last error");
	}
	if (running &&
	    (uint64_t)json_integer_value(json_object_get(d, "paused_until_us")) > tg_now_us())
		printf("  %-14s paused for %llds after an error retrying cannot fix\n", "",
		       (long long)(((uint64_t)json_integer_value(
		                        json_object_get(d, "paused_until_us")) -
		                    tg_now_us()) /
		                   1000000u));
}

/* The last spool file that could not be read for its upload (an I/O error, a file that shrank),
 * from status.json's spool_read: the file's failure, shown apart from S3's last error. Nothing
 * when there was none. */
static void print_read_error(const json_t *r)
{
	const char *err = json_string_value(json_object_get(r, "last_error"));
	char *safe;

	if (err == NULL || *err == '\0')
		return;
	/* the message names the file: whatever its writer called it, no escape sequences */
	safe = tg_text_safe_mode(err, ascii(stdout));
	printf("Spool files: could not be read for upload (not an S3 error)\n");
	printf("  %-14s %s\n", "last error", safe != NULL ? safe : "?");
	free(safe);
	print_when("  at", json_integer_value(json_object_get(r, "last_error_us")));
}

/* Is a daemon holding the spool's lock? 1 yes, 0 no, -1 cannot tell (why in err). */
static int daemon_running(const char *state_dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd, running = 0;

	snprintf(path, sizeof(path), "%s/lock", state_dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		/* none: no daemon ever ran on this spool. Any other failure (a user who may not
		 * open it) says nothing about a daemon, which must not pass for "not running" */
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			running = 1;
		} else {
			snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
			running = -1;
		}
	}
	close(fd);
	return running;
}

int up_status_main(struct tg_config *cfg, int tty)
{
	/*
	 * sessions/ and events/ are made at install time, never by the uploader: one that
	 * cannot be listed (a spool_dir typo, a spool not mounted, a user who may not read
	 * it) must not pass for an empty queue. The outboxes appear at the daemon's first
	 * start.
	 */
	static const struct {
		const char *label, *sub;
		int must_exist;
		int orphans; /* only the recordings whose recorder died */
	} queues[] = {
	    {"recordings", "sessions", 1, 0},
	    {"left in active/", REC_SPOOL_ACTIVE, 0, 1},
	    {"new events", "events", 1, 0},
	    {"events for S3", "outbox/s3", 0, 0},
	    {"events for Slack", "outbox/notify", 0, 0},
	};
	const char *spool = tg_config_str(cfg, TG_CONF_GENERAL_SPOOL_DIR);
	char dir[PATH_MAX], state_dir[PATH_MAX], path[PATH_MAX];
	unsigned long total = 0;
	struct qinfo open_logins;
	const char *url = tg_config_str(cfg, TG_CONF_SLACK_WEBHOOK_URL);
	char s3_err[512] = "", slack_err[512] = "", unread[256], lock_err[PATH_MAX + 64];
	int unreadable = 0, s3_unusable = 0, slack_unusable = 0;
	json_t *st;
	size_t i;
	int running;

	snprintf(state_dir, sizeof(state_dir), "%s/state", spool);
	running = daemon_running(state_dir, lock_err, sizeof(lock_err));
	if (running < 0)
		printf("spool %s: daemon unknown: %s\n", spool, lock_err);
	else
		printf("spool %s: daemon %s\n", spool, running ? "running" : "not running");
	printf("%-18s %8s %12s  %s\n", "queue", "items", "bytes", "oldest waiting");
	for (i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
		struct qinfo qi;
		int r;

		snprintf(dir, sizeof(dir), "%s/%s", spool, queues[i].sub);
		r = scan_dir(dir, queues[i].orphans, &qi);
		if (r != 0 && (queues[i].must_exist || errno != ENOENT)) {
			printf("%-18s %8s %12s  cannot be listed: %s\n", queues[i].label, "?", "?",
			       strerror(errno));
			unreadable = 1;
			continue;
		}
		total += qi.count;
		if (qi.count > 0) {
			/* a name is whatever its writer chose: no escape sequences from it */
			char safe[4 * sizeof(qi.oldest)], age[80];

			tg_text_safe_to_mode(safe, qi.oldest, ascii(stdout));
			age_text(age, sizeof(age), (int64_t)qi.oldest_mtime * 1000000,
			         (int64_t)time(NULL) * 1000000, "");
			printf("%-18s %8lu %12llu  %s %s\n", queues[i].label, qi.count,
			       (unsigned long long)qi.bytes, safe, age);
		} else {
			printf("%-18s %8lu %12llu  -\n", queues[i].label, qi.count,
			       (unsigned long long)qi.bytes);
		}
	}
	/* not a backlog (nothing to ship): logins whose recording is not checked yet */
	snprintf(dir, sizeof(dir), "%s/" UP_OPEN_DIR, state_dir);
	if (scan_dir(dir, 0, &open_logins) != 0 && errno != ENOENT) /* missing: none yet */
		printf("%-18s %8s  cannot be listed: %s\n", "logins to check", "?",
		       strerror(errno));
	else
		printf("%-18s %8lu  (waiting for their recording check)\n", "logins to check",
		       open_logins.count);
	snprintf(path, sizeof(path), "%s/status.json", state_dir);
	st = status_read(path, unread, sizeof(unread));
	/* the daemon's own check at its start, made offline: a file that parses may
	 * still hold an [s3] section nothing can be uploaded with, or none (S3 is not
	 * optional: without a bucket every recording and event waits) */
	if (up_s3_check(cfg, s3_err, sizeof(s3_err)) != TG_OK)
		s3_unusable = 1;
	print_dest("S3", json_object_get(st, "s3"), *tg_config_str(cfg, TG_CONF_S3_BUCKET) != '\0',
	           s3_unusable ? s3_err : NULL, running > 0, path, unread);
	/* and the daemon's check of [slack] (the webhook URL is a secret: never printed) */
	if (*url != '\0' && slack_check(url, tg_config_str(cfg, TG_CONF_SLACK_CA_FILE), slack_err,
	                                sizeof(slack_err)) != TG_OK)
		slack_unusable = 1;
	print_dest("Slack", json_object_get(st, "slack"), *url != '\0',
	           slack_unusable ? slack_err : NULL, running > 0, path, unread);
	print_read_error(json_object_get(st, "spool_read"));
	{
		uint64_t peak = (uint64_t)json_integer_value(json_object_get(st, "backlog_peak"));

		/* a big backlog draining: show how far along it is */
		if (tty && peak >= 20 && total <= peak) {
			up_progress_draw(peak - total, peak, "of the backlog shipped");
			up_progress_end();
		}
	}
	json_decref(st);
	if (unreadable) {
		tg_error(
		    "cannot tell what waits in the spool %s: a queue's folder cannot be listed",
		    spool);
		return 2;
	}
	if (s3_unusable)
		tg_error("the [s3] configuration is not usable: %s", s3_err);
	if (slack_unusable)
		tg_error("the [slack] configuration is not usable: %s", slack_err);
	if (s3_unusable || slack_unusable)
		return 2;
	return total == 0 ? EXIT_SUCCESS : 1;
}
